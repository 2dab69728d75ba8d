/*
 * The operator's WALLET_SECRET_SALT, moved out of the process environment
 * at start-up (agent_take_env_salt) so that /proc/PID/environ, getenv and
 * child processes no longer have it, and kept here for every agent whose
 * character brings no salt of its own, including agents started later
 * through POST /agents/:id/set. It stays in this process's memory until
 * the process ends: the agents need it.
 */
#include "teeliza/agent/tee_plugin.h"
#include "agent/runtime/logring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* As agent_tee_start accepts. */
#define SALT_MAX 4096

static pthread_mutex_t salt_lock = PTHREAD_MUTEX_INITIALIZER;
/* Each salt taken stays allocated: a pointer handed out is never left dangling. */
static char *current;

teeliza_err agent_take_env_salt(void)
{
	teeliza_buf b;
	teeliza_err err;
	char *kept;

	err = teeliza_env_take(&b, SALT_MAX, "WALLET_SECRET_SALT");
	if (err == TEELIZA_ERR_NOT_FOUND) {
		teeliza_buf_free(&b);
		teeliza_clear_error();
		return TEELIZA_OK;
	}
	if (err == TEELIZA_ERR_TOO_LARGE) {
		teeliza_buf_free(&b);
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "WALLET_SECRET_SALT is longer than %d bytes", SALT_MAX);
	}
	if (err) {
		teeliza_buf_free(&b);
		return err;
	}
	/* Before any line is logged: the salt never appears in one. */
	agent_logring_add_secret((const char *)b.data);
	kept = malloc(b.len + 1);
	if (kept == NULL) {
		teeliza_buf_free(&b);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory keeping WALLET_SECRET_SALT");
	}
	memcpy(kept, b.data, b.len + 1);
	teeliza_buf_free(&b);
	pthread_mutex_lock(&salt_lock);
	current = kept;
	pthread_mutex_unlock(&salt_lock);
	return TEELIZA_OK;
}

const char *agent_env_salt(void)
{
	const char *s;

	pthread_mutex_lock(&salt_lock);
	s = current;
	pthread_mutex_unlock(&salt_lock);
	return s;
}
