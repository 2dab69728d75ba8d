/*
 * Build a harness's seed corpus from the shared vectors at test time, so no
 * vector is ever copied into the repository.
 * Usage: fuzz_make_corpus <vectors dir> <out dir> <spec>...
 * A spec is a vector file name (in a subfolder too: the seed is named by its
 * basename); ".hex" files are decoded to bytes;
 * "<quote>:pck_ext" writes the SGX extension value of that quote's PCK leaf,
 * "<quote>:pck_chain" that quote's PEM certificate chain, and
 * "<file>.json:<key>" the string value of key in that JSON object (e.g. a
 * collateral's tcb_info_issuer_chain).
 */
#include "teeliza/common/common.h"
#include "teeliza/dcap/pck.h"
#include "teeliza/dcap/quote.h"
#include "teeliza/common/encoding.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int die(const char *what, const char *spec)
{
	fprintf(stderr, "fuzz_make_corpus: %s: %s: %s\n", spec, what, teeliza_errmsg());
	return 1;
}

static int mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The extension value of the quote's PCK leaf, replacing b's content. */
static teeliza_err pck_ext_of(teeliza_buf *b)
{
	dcap_quote q;
	STACK_OF(X509) *chain;
	ASN1_OBJECT *oid;
	const ASN1_OCTET_STRING *v = NULL;
	teeliza_buf out;
	teeliza_err err;
	int idx;

	err = dcap_quote_parse(&q, b->data, b->len);
	if (err)
		return err;
	err = dcap_pem_chain_parse(&chain, q.cert_data, q.cert_data_len);
	if (err)
		return err;
	oid = OBJ_txt2obj(DCAP_SGX_EXT_OID, 1);
	idx = oid ? X509_get_ext_by_OBJ(sk_X509_value(chain, 0), oid, -1) : -1;
	if (idx >= 0)
		v = X509_EXTENSION_get_data(X509_get_ext(sk_X509_value(chain, 0), idx));
	teeliza_buf_init(&out, 1u << 20);
	err = v ? teeliza_buf_append(&out, ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v))
	        : teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no SGX extension in the PCK leaf");
	ASN1_OBJECT_free(oid);
	sk_X509_pop_free(chain, X509_free);
	if (err)
		return err;
	teeliza_buf_free(b);
	*b = out;
	return TEELIZA_OK;
}

/* The quote's certification data (its PEM chain), replacing b's content. */
static teeliza_err pck_chain_of(teeliza_buf *b)
{
	dcap_quote q;
	teeliza_buf out;
	teeliza_err err;

	err = dcap_quote_parse(&q, b->data, b->len);
	if (err)
		return err;
	teeliza_buf_init(&out, 1u << 20);
	err = teeliza_buf_append(&out, q.cert_data, q.cert_data_len);
	if (err) {
		teeliza_buf_free(&out);
		return err;
	}
	teeliza_buf_free(b);
	*b = out;
	return TEELIZA_OK;
}

/* The string value of key in the JSON object in b, replacing b's content. */
static teeliza_err json_field_of(teeliza_buf *b, const char *key)
{
	json_t *j = json_loadb((const char *)b->data, b->len, 0, NULL), *v = json_object_get(j, key);
	teeliza_buf out;
	teeliza_err err;

	if (!json_is_string(v)) {
		json_decref(j);
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "no string \"%s\" in the JSON object", key);
	}
	teeliza_buf_init(&out, 16u << 20);
	err = teeliza_buf_append(&out, json_string_value(v), json_string_length(v));
	json_decref(j);
	if (err) {
		teeliza_buf_free(&out);
		return err;
	}
	teeliza_buf_free(b);
	*b = out;
	return TEELIZA_OK;
}

static int make_seed(const char *vectors, const char *out_dir, const char *spec)
{
	char name[1024], path[4096];
	const char *colon = strchr(spec, ':');
	size_t name_len = colon ? (size_t)(colon - spec) : strlen(spec);
	teeliza_buf raw, b;
	int rc = 0;

	if (name_len >= sizeof(name))
		return die("name too long", spec);
	memcpy(name, spec, name_len);
	name[name_len] = '\0';
	snprintf(path, sizeof(path), "%s/%s", vectors, name);
	if (teeliza_read_file(&raw, path, 16u << 20) != TEELIZA_OK)
		return die("cannot read", spec);
	if (ends_with(name, ".hex")) {
		while (raw.len > 0 && strchr(" \t\r\n", raw.data[raw.len - 1]) != NULL)
			raw.len--;
		teeliza_buf_init(&b, 16u << 20);
		if (teeliza_hex_decode_buf(&b, (const char *)raw.data, raw.len, true) != TEELIZA_OK)
			rc = die("bad hex", spec);
		teeliza_buf_free(&raw);
	} else {
		b = raw;
	}
	if (rc == 0 && colon != NULL) {
		if (ends_with(name, ".json")) {
			if (json_field_of(&b, colon + 1) != TEELIZA_OK)
				rc = die("cannot extract the field", spec);
		} else if (strcmp(colon + 1, "pck_chain") == 0) {
			if (pck_chain_of(&b) != TEELIZA_OK)
				rc = die("cannot extract the PCK chain", spec);
		} else if (strcmp(colon + 1, "pck_ext") != 0) {
			teeliza_set_error(TEELIZA_ERR_INVALID, "unknown transform \"%s\"", colon + 1);
			rc = die("bad spec", spec);
		} else if (pck_ext_of(&b) != TEELIZA_OK) {
			rc = die("cannot extract the PCK extension", spec);
		}
	}
	if (rc == 0) {
		char suffix[128] = "";
		const char *base = strrchr(name, '/'); /* "characters/x.json" is written as x.json */

		if (colon != NULL)
			snprintf(suffix, sizeof(suffix), ".%s", colon + 1);
		if (ends_with(name, ".hex")) {
			name[name_len - 4] = '\0'; /* the seed holds the decoded bytes */
			if (colon == NULL)
				snprintf(suffix, sizeof(suffix), ".bin");
		}
		snprintf(path, sizeof(path), "%s/%s%s", out_dir, base != NULL ? base + 1 : name, suffix);
		if (teeliza_write_file(path, b.data, b.len, 0644) != TEELIZA_OK)
			rc = die("cannot write", spec);
	}
	teeliza_buf_free(&b);
	return rc;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: fuzz_make_corpus <vectors dir> <out dir> <spec>...\n");
		return 2;
	}
	if (mkdirs(argv[2]) != 0) {
		fprintf(stderr, "fuzz_make_corpus: cannot create %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (i = 3; i < argc; i++)
		rc |= make_seed(argv[1], argv[2], argv[i]);
	return rc;
}
