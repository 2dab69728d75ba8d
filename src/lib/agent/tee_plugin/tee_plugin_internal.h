/* Internals of the TEE plugin that the REST API's dashboard and simulator routes use (src/lib/agent/api). */
#ifndef TEELIZA_AGENT_TEE_PLUGIN_INTERNAL_H
#define TEELIZA_AGENT_TEE_PLUGIN_INTERNAL_H

#include "teeliza/agent/tee_plugin.h"

/* True when the plugin talks to a simulator (TEE_MODE LOCAL/DOCKER or DSTACK_SIMULATOR_ENDPOINT). */
bool agent_tee_simulated(const agent_tee *t);

/* "tappd" or "dstack": the API the plugin talks to. */
const char *agent_tee_api(const agent_tee *t);

/* The pinned dstack KMS root (TEE_KMS_ROOT, hex as configured), or NULL when none is pinned. */
const char *agent_tee_kms_root(const agent_tee *t);

/*
 * tappd's (or dstack's) Info answer (app id, instance id, compose hash, …) for the
 * plugin's endpoint, with its own timeout (0: the plugin's). Appends the
 * JSON text to json_out.
 */
teeliza_err agent_tee_tappd_info(teeliza_buf *json_out, agent_tee *t, long timeout_ms) TEELIZA_WARN_UNUSED;

/*
 * A teeliza simulator's root and collateral (Tappd.SimRoot) from the
 * plugin's endpoint, at most max bytes, with its own timeout (0: the
 * plugin's). Real tappd has no such method (TEELIZA_ERR_REMOTE).
 */
teeliza_err agent_tee_sim_root(teeliza_buf *json_out, agent_tee *t, long timeout_ms, size_t max) TEELIZA_WARN_UNUSED;

/* The plugin's endpoint for messages and as a key ("http://…" or "unix:…"). Returns out. */
const char *agent_tee_endpoint(char *out, size_t out_len, const agent_tee *t);

#endif
