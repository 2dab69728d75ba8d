/*
 * Splitting a quote's PEM certificate chain into X509 objects. Each block is
 * read with the generic PEM reader so its label, headers and DER length can be
 * checked here rather than trusted: PEM_read_bio_X509 would silently skip
 * blocks with other labels and ignore bytes after the DER. PEM_read_bio itself
 * skips any text before a line that starts a block, so only whitespace and
 * NULs are allowed there, checked here: otherwise a block behind a stray byte
 * on its BEGIN line would be skipped, and this reader would see another leaf
 * than the verifier's (x509_decode.c), which reads every block.
 */
#include "teeliza/dcap/pck.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

static bool blank(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* True when the unread rest of the memory BIO is only whitespace and NULs. */
static bool rest_is_blank(BIO *bio)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	long i;

	for (i = 0; i < n; i++)
		if (!blank(p[i]))
			return false;
	return true;
}

/* Consume whitespace and NULs; true when a BEGIN line follows. */
static bool at_begin_line(BIO *bio)
{
	static const char begin[] = "-----BEGIN ";
	char *p = NULL, skip[256];
	long n = BIO_get_mem_data(bio, &p), i = 0;

	while (i < n && blank(p[i]))
		i++;
	n -= i;
	while (i > 0) {
		int chunk = i > (long)sizeof(skip) ? (int)sizeof(skip) : (int)i;

		if (BIO_read(bio, skip, chunk) != chunk)
			return false;
		i -= chunk;
	}
	n = BIO_get_mem_data(bio, &p);
	return n >= (long)sizeof(begin) - 1 && memcmp(p, begin, sizeof(begin) - 1) == 0;
}

static teeliza_err read_one(X509 **out, BIO *bio, int index)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *p;
	long len = 0;
	teeliza_err err = TEELIZA_OK;

	*out = NULL;
	if (!at_begin_line(bio))
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "PCK chain: certificate %d is not valid PEM (text before its BEGIN line)", index);
	if (!PEM_read_bio(bio, &name, &header, &data, &len))
		return teeliza_set_error(TEELIZA_ERR_PARSE,
		                         "PCK chain: certificate %d is not valid PEM (missing BEGIN/END line or bad base64)",
		                         index);
	p = data;
	if (strcmp(name, "CERTIFICATE") != 0)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "PCK chain: block %d is labelled \"%.40s\", not CERTIFICATE",
		                        index, name);
	else if (header[0] != '\0')
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "PCK chain: certificate %d has PEM headers", index);
	else if ((*out = d2i_X509(NULL, &p, len)) == NULL)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "PCK chain: certificate %d is not a valid DER certificate",
		                        index);
	else if (p != data + len)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "PCK chain: certificate %d has %ld bytes after its DER",
		                        index, (long)(data + len - p));
	if (err) {
		X509_free(*out);
		*out = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	return err;
}

teeliza_err dcap_pem_chain_parse(STACK_OF(X509) **out, const uint8_t *pem, size_t len)
{
	STACK_OF(X509) *chain;
	BIO *bio;
	X509 *cert;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && (pem != NULL || len == 0));
	*out = NULL;
	if (len > INT_MAX)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCK chain of %zu bytes is too large", len);
	chain = sk_X509_new_null();
	bio = BIO_new_mem_buf(len > 0 ? pem : (const uint8_t *)"", (int)len);
	if (chain == NULL || bio == NULL) {
		sk_X509_free(chain);
		BIO_free(bio);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading the PCK chain");
	}
	while (!rest_is_blank(bio)) {
		if (sk_X509_num(chain) == DCAP_PEM_CHAIN_MAX_CERTS) {
			err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "PCK chain has more than %d certificates",
			                        DCAP_PEM_CHAIN_MAX_CERTS);
			break;
		}
		err = read_one(&cert, bio, sk_X509_num(chain) + 1);
		if (err)
			break;
		if (!sk_X509_push(chain, cert)) {
			X509_free(cert);
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading the PCK chain");
			break;
		}
	}
	if (!err && sk_X509_num(chain) == 0)
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "PCK chain holds no certificate");
	BIO_free(bio);
	ERR_clear_error();
	if (err) {
		sk_X509_pop_free(chain, X509_free);
		return err;
	}
	*out = chain;
	return TEELIZA_OK;
}
