/*
 * Fuzz the PEM chains the verifier reads (the quote's PCK chain and the
 * collateral's issuer chains) and the chain builder behind them.
 *
 * 1. The whole input as PEM text, through both splitters: dcap_pem_chain
 *    (collateral chains, x509_decode.c) and dcap_pem_chain_parse (the quote's
 *    chain for printing and fetching, pem_chain.c). Whatever either accepts
 *    must write back to PEM and read back to the same certificates; when both
 *    accept, they must agree. Then the chain is verified against a small PKI
 *    made at start-up: it may only verify if every certificate in it is one
 *    of that PKI's genuine ones (the fuzzer cannot sign).
 * 2. The first bytes as a recipe: up to 8 certificates picked from a palette
 *    (a root, its CA, leaf and signer, a re-keyed CA, and forgeries: roots
 *    with the root's name with and without its key id, a CA and a leaf under
 *    them, a root named like Intel's), written as PEM with separators and
 *    line lengths the input picks. The splitter must read them back, and
 *    dcap_chain_verify must accept exactly when an independent rule says so:
 *    chain[0] descends from the trusted root, every certificate given is on
 *    that path, and every one on it but the root is given. A second recipe
 *    chain that dcap_chain_on_path finds on the first one's verified path
 *    must verify fully, with the same root and window.
 */
#include "fuzz.h"

#include "teeliza/dcap/pck.h"
#include "teeliza/dcap/verify.h"
#include "../../src/lib/dcap/verify_internal.h"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#define NOW 1760000000
#define DAY 86400

enum { P_ROOT, P_CA, P_LEAF, P_SIGNER, P_CA2, P_FROOT, P_FROOT_KID, P_FCA, P_FLEAF, P_FINTEL, P__COUNT };

static struct {
	X509 *cert[P__COUNT];
	int parent[P__COUNT];           /* issuer in the palette (itself for self-signed) */
	uint8_t *der[P__COUNT];
	int der_len[P__COUNT];
	STACK_OF(X509) *pool;           /* what a collateral's other chains offer: the root */
	X509_CRL *crl_root, *crl_ca;
	dcap_crl_ref crls[2];
	dcap_trust *trust;              /* Intel and the palette's root */
} P;

static EVP_PKEY *keys[P__COUNT];

static void ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	FUZZ_CHECK(e != NULL && X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
}

static X509_NAME *name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	FUZZ_CHECK(n != NULL);
	FUZZ_CHECK(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1);
	return n;
}

/* Certificate i: subject cn (or like's subject), issued by palette entry parent; kid_of: copy that one's key id. */
static void make(int i, const char *cn, int like, int parent, int kid_of, bool ca, int days_left)
{
	X509 *x = X509_new();
	X509_NAME *n = like >= 0 ? X509_NAME_dup(X509_get_subject_name(P.cert[like])) : name(cn);
	X509 *issuer = parent == i ? x : P.cert[parent];

	keys[i] = EVP_EC_gen("P-256");
	FUZZ_CHECK(x != NULL && n != NULL && keys[i] != NULL);
	FUZZ_CHECK(X509_set_version(x, 2) == 1);
	FUZZ_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), 100 + i) == 1);
	FUZZ_CHECK(X509_set_subject_name(x, n) == 1);
	FUZZ_CHECK(X509_set_issuer_name(x, parent == i ? n : X509_get_subject_name(issuer)) == 1);
	FUZZ_CHECK(X509_time_adj_ex(X509_getm_notBefore(x), 0, -(long)(DAY * (10 + i)), &(time_t){NOW}) != NULL);
	FUZZ_CHECK(X509_time_adj_ex(X509_getm_notAfter(x), days_left, 0, &(time_t){NOW}) != NULL);
	FUZZ_CHECK(X509_set_pubkey(x, keys[i]) == 1);
	if (kid_of >= 0)
		FUZZ_CHECK(X509_add1_ext_i2d(x, NID_subject_key_identifier,
		                             (void *)X509_get0_subject_key_id(P.cert[kid_of]), 0, 0) == 1);
	else
		ext(x, x, NID_subject_key_identifier, "hash");
	if (parent != i)
		ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	ext(x, x, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	ext(x, x, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	FUZZ_CHECK(X509_sign(x, keys[parent], EVP_sha256()) > 0);
	X509_NAME_free(n);
	P.cert[i] = x;
	P.parent[i] = parent;
	P.der_len[i] = i2d_X509(x, &P.der[i]);
	FUZZ_CHECK(P.der_len[i] > 0);
}

static X509_CRL *crl_by(int issuer)
{
	X509_CRL *crl = X509_CRL_new();
	time_t now = NOW;
	ASN1_TIME *t1 = ASN1_TIME_adj(NULL, now, -1, 0), *t2 = ASN1_TIME_adj(NULL, now, 30, 0);

	FUZZ_CHECK(crl != NULL && t1 != NULL && t2 != NULL);
	FUZZ_CHECK(X509_CRL_set_version(crl, 1) == 1);
	FUZZ_CHECK(X509_CRL_set_issuer_name(crl, X509_get_subject_name(P.cert[issuer])) == 1);
	FUZZ_CHECK(X509_CRL_set1_lastUpdate(crl, t1) == 1 && X509_CRL_set1_nextUpdate(crl, t2) == 1);
	FUZZ_CHECK(X509_CRL_sign(crl, keys[issuer], EVP_sha256()) > 0);
	ASN1_TIME_free(t1);
	ASN1_TIME_free(t2);
	return crl;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIO *bio;
	char *pem;
	long n;

	(void)argc;
	(void)argv;
	make(P_ROOT, "fuzz Root CA", -1, P_ROOT, -1, true, 3000);
	make(P_CA, "fuzz Platform CA", -1, P_ROOT, -1, true, 2000);
	make(P_LEAF, "fuzz PCK Certificate", -1, P_CA, -1, false, 900);
	make(P_SIGNER, "fuzz TCB Signing", -1, P_ROOT, -1, false, 1200);
	make(P_CA2, NULL, P_CA, P_ROOT, -1, true, 1500);               /* the CA re-keyed: genuine, not the leaf's issuer */
	make(P_FROOT, NULL, P_ROOT, P_FROOT, -1, true, 3000);          /* the root's name, its own key id */
	make(P_FROOT_KID, NULL, P_ROOT, P_FROOT_KID, P_ROOT, true, 3000); /* the root's name and key id */
	make(P_FCA, NULL, P_CA, P_FROOT_KID, P_CA, true, 2000);        /* the CA's name and key id under a forged root */
	make(P_FLEAF, NULL, P_LEAF, P_FCA, -1, false, 900);
	make(P_FINTEL, "Intel SGX Root CA", -1, P_FINTEL, -1, true, 3000);
	P.pool = sk_X509_new_null();
	FUZZ_CHECK(P.pool != NULL && sk_X509_push(P.pool, P.cert[P_ROOT]) > 0);
	X509_up_ref(P.cert[P_ROOT]);
	P.crl_root = crl_by(P_ROOT);
	P.crl_ca = crl_by(P_CA);
	FUZZ_CHECK(dcap_crl_accept(&P.crls[0], P.crl_root, P.cert[P_ROOT], "root CRL", "root") == TEELIZA_OK);
	FUZZ_CHECK(dcap_crl_accept(&P.crls[1], P.crl_ca, P.cert[P_CA], "CA CRL", "CA") == TEELIZA_OK);
	bio = BIO_new(BIO_s_mem());
	FUZZ_CHECK(bio != NULL && PEM_write_bio_X509(bio, P.cert[P_ROOT]) == 1);
	n = BIO_get_mem_data(bio, &pem);
	FUZZ_CHECK(dcap_trust_new(&P.trust, true) == TEELIZA_OK);
	FUZZ_CHECK(dcap_trust_add_pem(P.trust, pem, (size_t)n) == TEELIZA_OK);
	BIO_free(bio);
	return 0;
}

/* ---- helpers ---- */

static int palette_index(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der), i, found = -1;

	FUZZ_CHECK(len > 0);
	for (i = 0; i < P__COUNT && found < 0; i++)
		if (P.der_len[i] == len && memcmp(P.der[i], der, (size_t)len) == 0)
			found = i;
	OPENSSL_free(der);
	return found;
}

static bool genuine(int i)
{
	int depth;

	for (depth = 0; depth < P__COUNT; depth++) {
		if (i == P_ROOT)
			return true;
		if (P.parent[i] == i)
			return false;
		i = P.parent[i];
	}
	return false;
}

/* The independent rule: chain[0] genuine, and the chain's certificates are exactly its path (root optional). */
static bool should_verify(const int *idx, int n)
{
	bool on_path[P__COUNT] = {false}, given[P__COUNT] = {false};
	int i, c;

	if (!genuine(idx[0]))
		return false;
	for (c = idx[0];; c = P.parent[c]) {
		on_path[c] = true;
		if (c == P_ROOT)
			break;
	}
	for (i = 0; i < n; i++) {
		if (!on_path[idx[i]])
			return false;
		given[idx[i]] = true;
	}
	for (c = 0; c < P__COUNT; c++)
		if (on_path[c] && c != P_ROOT && !given[c])
			return false;
	return true;
}

static teeliza_err verify(dcap_chain_check *k, STACK_OF(X509) *chain, dcap_verified_paths *seen)
{
	return dcap_chain_verify(k, chain, P.pool, P.crls, 2, P.trust, NOW, seen, "fuzz chain");
}

/* Both splitters' certificates, as DER, must be the same list. */
static bool same_certs(STACK_OF(X509) *a, STACK_OF(X509) *b)
{
	int i;

	if (sk_X509_num(a) != sk_X509_num(b))
		return false;
	for (i = 0; i < sk_X509_num(a); i++)
		if (X509_cmp(sk_X509_value(a, i), sk_X509_value(b, i)) != 0)
			return false;
	return true;
}

/* Write certs as PEM: between blocks sep (sep_len bytes), base64 lines of width (0: one line). Out: malloc'd text, *len. */
static char *write_pem(size_t *len, STACK_OF(X509) *certs, const char *sep, size_t sep_len, int width)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t cap = 64, used = 0, k;
	char *out = malloc(cap);
	int i;

	FUZZ_CHECK(out != NULL);
	for (i = 0; i < sk_X509_num(certs); i++) {
		unsigned char *der = NULL;
		int n = i2d_X509(sk_X509_value(certs, i), &der), j, col = 0;
		size_t need = (size_t)n * 2 + 128 + sep_len;

		FUZZ_CHECK(n > 0);
		if (used + need > cap) {
			cap = (used + need) * 2;
			out = realloc(out, cap);
			FUZZ_CHECK(out != NULL);
		}
		if (i > 0) {
			memcpy(out + used, sep, sep_len);
			used += sep_len;
		}
		used += (size_t)sprintf(out + used, "-----BEGIN CERTIFICATE-----\n");
		for (j = 0; j < n; j += 3) {
			uint32_t v = (uint32_t)der[j] << 16 | (j + 1 < n ? (uint32_t)der[j + 1] << 8 : 0) |
			             (j + 2 < n ? der[j + 2] : 0);
			char quad[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], j + 1 < n ? b64[v >> 6 & 63] : '=',
			                j + 2 < n ? b64[v & 63] : '='};

			for (k = 0; k < 4; k++) {
				out[used++] = quad[k];
				if (width > 0 && ++col == width) {
					out[used++] = '\n';
					col = 0;
				}
			}
		}
		used += (size_t)sprintf(out + used, "%s-----END CERTIFICATE-----\n", col > 0 || width == 0 ? "\n" : "");
		OPENSSL_free(der);
	}
	*len = used;
	return out;
}

/* ---- 1. the input as PEM text ---- */

static void raw(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *a = NULL, *b = NULL, *again = NULL;
	dcap_chain_check k;
	char *pem;
	size_t len;
	int i;

	if (dcap_pem_chain(&a, (const char *)data, size, "fuzz") != TEELIZA_OK)
		FUZZ_CHECK(a == NULL);
	if (dcap_pem_chain_parse(&b, data, size) != TEELIZA_OK)
		FUZZ_CHECK(b == NULL);
	if (a != NULL && b != NULL)
		FUZZ_CHECK(same_certs(a, b));
	if (b != NULL) {
		FUZZ_CHECK(sk_X509_num(b) >= 1 && sk_X509_num(b) <= DCAP_PEM_CHAIN_MAX_CERTS);
		pem = write_pem(&len, b, "", 0, 64);
		FUZZ_CHECK(dcap_pem_chain_parse(&again, (const uint8_t *)pem, len) == TEELIZA_OK);
		FUZZ_CHECK(same_certs(b, again));
		sk_X509_pop_free(again, X509_free);
		free(pem);
	}
	if (a != NULL) {
		FUZZ_CHECK(sk_X509_num(a) >= 1 && sk_X509_num(a) <= DCAP_MAX_CHAIN_CERTS);
		pem = write_pem(&len, a, "\n", 1, 64);
		again = NULL;
		FUZZ_CHECK(dcap_pem_chain(&again, pem, len, "fuzz") == TEELIZA_OK);
		FUZZ_CHECK(same_certs(a, again));
		sk_X509_pop_free(again, X509_free);
		free(pem);
		/* The fuzzer cannot sign: a chain of its own verifies only if it is made of the palette's genuine certificates. */
		if (verify(&k, a, NULL) == TEELIZA_OK) {
			FUZZ_CHECK(k.failure == DCAP_FAIL_NONE);
			for (i = 0; i < sk_X509_num(a); i++) {
				int p = palette_index(sk_X509_value(a, i));

				FUZZ_CHECK(p >= 0 && genuine(p));
			}
		} else {
			FUZZ_CHECK(k.failure != DCAP_FAIL_NONE);
		}
	}
	sk_X509_pop_free(a, X509_free);
	sk_X509_pop_free(b, X509_free);
}

/* ---- 2. recipes ---- */

static size_t pick(int *idx, const uint8_t *data, size_t size, size_t at)
{
	size_t n = 1 + (at < size ? data[at] % DCAP_MAX_CHAIN_CERTS : 0), i;

	for (i = 0; i < n; i++)
		idx[i] = at + 1 + i < size ? data[at + 1 + i] % P__COUNT : (int)i % P__COUNT;
	return n;
}

static STACK_OF(X509) *stack_of(const int *idx, size_t n)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	size_t i;

	FUZZ_CHECK(sk != NULL);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(sk_X509_push(sk, P.cert[idx[i]]) > 0);
		X509_up_ref(P.cert[idx[i]]);
	}
	return sk;
}

static void recipe(const uint8_t *data, size_t size)
{
	static const struct {
		const char *s;
		size_t n;
	} seps[] = {{"", 0}, {"\n", 1}, {"\r\n", 2}, {"\n\n", 2}, {" \t", 2}, {"\0\n", 2}};
	static const int widths[] = {64, 76, 0, 4, 65};
	int idx[DCAP_MAX_CHAIN_CERTS], idx2[DCAP_MAX_CHAIN_CERTS];
	size_t n = pick(idx, data, size, 0), at = 1 + n, n2, len;
	uint8_t fmt = at < size ? data[at] : 0;
	STACK_OF(X509) *given, *read = NULL, *second;
	dcap_verified_paths seen = {0};
	dcap_chain_check k, k2, k3;
	teeliza_err err;
	char *pem;

	n2 = pick(idx2, data, size, at + 1);
	given = stack_of(idx, n);
	pem = write_pem(&len, given, seps[fmt % 6].s, seps[fmt % 6].n, widths[(fmt / 6) % 5]);
	/* Whatever the separators and line lengths, the splitter reads back what was written. */
	FUZZ_CHECK(dcap_pem_chain(&read, pem, len, "fuzz") == TEELIZA_OK);
	FUZZ_CHECK(same_certs(given, read));
	err = verify(&k, read, &seen);
	FUZZ_CHECK((err == TEELIZA_OK) == should_verify(idx, (int)n));
	FUZZ_CHECK(err == TEELIZA_OK ? k.failure == DCAP_FAIL_NONE && seen.n == 1 : k.failure != DCAP_FAIL_NONE);
	if (err == TEELIZA_OK) {
		FUZZ_CHECK(memcmp(k.root_sha256, P.trust->fingerprints[0], 32) == 0);
		FUZZ_CHECK(k.valid_from <= NOW && NOW <= k.valid_until);
	}
	/* A piece of a verified path: what the full check would say, root and window included. */
	second = stack_of(idx2, n2);
	if (dcap_chain_on_path(&k2, &seen, second)) {
		FUZZ_CHECK(should_verify(idx2, (int)n2));
		FUZZ_CHECK(verify(&k3, second, NULL) == TEELIZA_OK);
		FUZZ_CHECK(memcmp(k2.root_sha256, k3.root_sha256, 32) == 0 && k2.intel_root == k3.intel_root);
		FUZZ_CHECK(k2.valid_from == k3.valid_from && k2.valid_until == k3.valid_until);
	}
	dcap_verified_paths_free(&seen);
	sk_X509_pop_free(second, X509_free);
	sk_X509_pop_free(read, X509_free);
	sk_X509_pop_free(given, X509_free);
	free(pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	raw(data, size);
	recipe(data, size);
	return 0;
}
