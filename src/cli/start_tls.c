/* `teeliza start --tls`: the RA-TLS key and certificate (start_tls.h). */
#include "cli/start_tls.h"
#include "cli/tee_cli.h"
#include "teeliza/common/log.h"
#include "teeliza/tee/ratls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START_TLS_CMD "start"

int start_tls_check_api(void)
{
	const char *api = getenv("TEE_API");

	if (api != NULL && strcmp(api, "tappd") == 0) {
		fprintf(stderr, "teeliza start: --tls takes its RA-TLS certificate from the dstack API's GetTlsKey, "
		                "which tappd does not have, and TEE_API=tappd chooses tappd; unset TEE_API or set "
		                "TEE_API=dstack (teeliza's simulator and dstack CVMs serve both APIs)\n");
		return EXIT_CONFIG;
	}
	return EXIT_OK;
}

void start_tls_free(struct start_tls *t)
{
	if (t == NULL)
		return;
	dstack_tls_key_free(&t->key);
	teeliza_buf_free(&t->chain_pem);
	memset(t, 0, sizeof(*t));
}

/* The leaf must carry a quote over its own key, or HTTPS would promise what it does not hold. */
static int check_leaf(struct start_tls *t)
{
	tee_ratls_cert c;
	uint8_t expected[64];
	teeliza_err err;

	err = tee_ratls_cert_parse(&c, t->key.certificate_chain[0].data, t->key.certificate_chain[0].len);
	if (!err)
		err = tee_ratls_check_binding(expected, &c);
	if (!err)
		tee_ratls_spki_sha256_hex(t->spki_sha256, c.spki.data, c.spki.len);
	tee_ratls_cert_free(&c);
	if (err) {
		fprintf(stderr, "teeliza start: --tls: GetTlsKey's certificate is not an RA-TLS certificate for its key: %s\n",
		        teeliza_errmsg());
		return EXIT_UNAVAILABLE;
	}
	return EXIT_OK;
}

int start_tls_get(struct start_tls *t)
{
	static const char *const alt[] = {"localhost"};
	dstack_tls_key_options opts;
	dstack_client c;
	teeliza_err err = TEELIZA_OK;
	size_t i;
	int rc;

	memset(t, 0, sizeof(*t));
	teeliza_buf_init(&t->chain_pem, (size_t)DSTACK_CHAIN_MAX * DSTACK_TLS_REPLY_MAX);
	rc = tee_cli_dstack(&c, START_TLS_CMD, NULL, 0, false);
	if (rc)
		return rc;
	dstack_tls_key_options_init(&opts);
	opts.subject = "teeliza";
	opts.alt_names = alt;
	opts.n_alt = 1;
	opts.usage_ra_tls = true;
	opts.usage_server_auth = true;
	err = dstack_get_tls_key(&t->key, &c, &opts);
	if (err) {
		fprintf(stderr, "teeliza start: --tls: no RA-TLS certificate: %s\n",
		        teeliza_errmsg()[0] ? teeliza_errmsg() : teeliza_strerror(err));
		return tee_cli_dstack_fail(START_TLS_CMD, err) == EXIT_CONFIG ? EXIT_CONFIG : EXIT_UNAVAILABLE;
	}
	for (i = 0; !err && i < t->key.chain_len; i++) {
		err = teeliza_buf_append(&t->chain_pem, t->key.certificate_chain[i].data, t->key.certificate_chain[i].len);
		if (!err && t->chain_pem.len > 0 && t->chain_pem.data[t->chain_pem.len - 1] != '\n')
			err = teeliza_buf_append(&t->chain_pem, "\n", 1);
	}
	if (err)
		return cli_fail(START_TLS_CMD, err);
	return check_leaf(t);
}
