/*
 * Per-thread record of the store's own failures (agent_store_failure in
 * teeliza/agent/store.h). The dispatch to the back-end (store.c,
 * store_replicas.c) passes every back-end result through agent_store_noted.
 * Not public.
 */
#ifndef TEELIZA_AGENT_STORE_FAILURE_H
#define TEELIZA_AGENT_STORE_FAILURE_H

#include "teeliza/common/common.h"

/* Remember err on this thread when it is a failure; returns err unchanged. */
teeliza_err agent_store_noted(teeliza_err err);

#endif
