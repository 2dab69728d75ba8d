/* What the model's own files share (src/lib/agent/model); not public. */
#ifndef TEELIZA_AGENT_MODEL_INTERNAL_H
#define TEELIZA_AGENT_MODEL_INTERNAL_H

#include "teeliza/agent/model.h"

/* Remember that the operator sends key to base_url (a character loaded from disk, the environment). */
void agent_llm_bind_operator_key(const char *key, const char *base_url);

/* True when the operator paired this very key with base_url (agent_llm_bind_operator_key). */
bool agent_llm_operator_bound(const char *key, const char *base_url);

#endif
