/*
 * Local wallet derivation, the plugin's hot path: PEM → DER → Solana
 * (SHA-256 seed, Ed25519, base58) and EVM (Keccak-256 key, secp256k1,
 * EIP-55), on the fixed PEM of plugin-tee.json. The first result of every
 * thread is checked against the vector, so a fast wrong answer cannot pass.
 */
#include "bench_util.h"

#include "teeliza/tee/derive.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_THREADS 2

enum which { DO_SOLANA = 1, DO_EVM = 2, DO_BOTH = 3 };

struct vector {
	char pem[1024];
	size_t pem_len;
	char solana[64];
	char evm[64];
};

struct state {
	const struct vector *v;
	enum which which;
	bool checked;
};

static bool load_vector(struct vector *v)
{
	teeliza_buf text;
	json_t *root, *fixed;
	json_error_t jerr;
	const char *pem = NULL, *sol = NULL, *evm = NULL;
	bool ok = false;

	memset(v, 0, sizeof(*v));
	if (!bench_read_vector(&text, "plugin-tee.json"))
		return false;
	root = json_loadb((const char *)text.data, text.len, 0, &jerr);
	teeliza_buf_free(&text);
	fixed = root ? json_object_get(root, "derive_fixed_openssl") : NULL;
	if (fixed && json_unpack(fixed, "{s:s, s:s, s:s}", "pem", &pem, "solana_pubkey_base58", &sol,
	                         "evm_address", &evm) == 0 &&
	    strlen(pem) < sizeof(v->pem) && strlen(sol) < sizeof(v->solana) && strlen(evm) < sizeof(v->evm)) {
		v->pem_len = strlen(pem);
		memcpy(v->pem, pem, v->pem_len + 1);
		memcpy(v->solana, sol, strlen(sol) + 1);
		memcpy(v->evm, evm, strlen(evm) + 1);
		ok = true;
	} else {
		fprintf(stderr, "bench: plugin-tee.json has no derive_fixed_openssl {pem, solana_pubkey_base58, evm_address}\n");
	}
	json_decref(root);
	return ok;
}

static bool derive_once(void *arg)
{
	struct state *s = arg;
	tee_solana_keypair sol;
	tee_evm_keypair evm;
	teeliza_buf der;
	bool ok = true;

	if (tee_pem_to_der(&der, s->v->pem, s->v->pem_len) != TEELIZA_OK) {
		teeliza_buf_free(&der);
		return bench_fail("tee_pem_to_der");
	}
	if (s->which & DO_SOLANA) {
		ok = tee_derive_solana(&sol, der.data, der.len) == TEELIZA_OK || bench_fail("tee_derive_solana");
		if (ok && !s->checked && strcmp(sol.address, s->v->solana) != 0) {
			fprintf(stderr, "bench: Solana address %s, vector says %s\n", sol.address, s->v->solana);
			ok = false;
		}
		teeliza_wipe(&sol, sizeof(sol));
	}
	if (ok && (s->which & DO_EVM)) {
		ok = tee_derive_evm(&evm, der.data, der.len) == TEELIZA_OK || bench_fail("tee_derive_evm");
		if (ok && !s->checked && strcmp(evm.address, s->v->evm) != 0) {
			fprintf(stderr, "bench: EVM address %s, vector says %s\n", evm.address, s->v->evm);
			ok = false;
		}
		teeliza_wipe(&evm, sizeof(evm));
	}
	teeliza_buf_free(&der);
	s->checked = ok;
	return ok;
}

static bool measure(const char *id, const struct vector *v, enum which which, unsigned threads, double seconds)
{
	struct state st[MAX_THREADS];
	void *states[MAX_THREADS];
	bench_result r;
	unsigned i;

	for (i = 0; i < threads; i++) {
		st[i].v = v;
		st[i].which = which;
		st[i].checked = false;
		states[i] = &st[i];
	}
	if (!bench_run(&r, threads, seconds, derive_once, states))
		return false;
	bench_report(id, &r, "");
	return true;
}

int main(void)
{
	struct vector v;
	double secs = bench_seconds();
	bool ok;

	if (!load_vector(&v))
		return 1;
	ok = measure("derive.solana", &v, DO_SOLANA, 1, secs) && measure("derive.solana", &v, DO_SOLANA, 2, secs) &&
	     measure("derive.evm", &v, DO_EVM, 1, secs) && measure("derive.evm", &v, DO_EVM, 2, secs) &&
	     measure("derive.both", &v, DO_BOTH, 1, secs) && measure("derive.both", &v, DO_BOTH, 2, secs);
	return ok ? 0 : 1;
}
