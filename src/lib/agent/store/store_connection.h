/*
 * Eliza's ensureConnection as the store's dispatch makes it (store.c): the
 * two accounts from the caller's names, then the back-end's
 * ensure_connection, or with recall its ensure_connection_recall (which
 * must then be set). Used by store.c's wrappers and by store_recall.c,
 * which falls back to a separate read when the back-end has no
 * ensure_connection_recall. Not public.
 */
#ifndef TEELIZA_AGENT_STORE_CONNECTION_H
#define TEELIZA_AGENT_STORE_CONNECTION_H

#include "teeliza/agent/store.h"

/* recall NULL: the connection (and m) only; else the read q after it, into *recall. */
teeliza_err agent_store_connection(agent_store *s, const char *agent_id, const char *agent_name, const char *user_id,
                                  const char *room_id, const char *user_name, const char *user_screen_name,
                                  const char *source, const agent_memory *m, agent_recall *recall,
                                  const agent_memory_query *q);

#endif
