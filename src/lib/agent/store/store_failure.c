/*
 * Which error the store itself last returned on this thread. A caller
 * above the runtime gets one error for a whole message, from the store or
 * from the model alike (both say TEELIZA_ERR_TIMEOUT or _CONNECT); this
 * record tells them apart, so that a busy or unreachable database is
 * answered 503 (retry) and a failed model 500, without asking the busy
 * database again.
 */
#include "agent/store/store_failure.h"
#include "teeliza/agent/store.h"

static _Thread_local teeliza_err last_failure;

teeliza_err agent_store_noted(teeliza_err err)
{
	if (err != TEELIZA_OK)
		last_failure = err;
	return err;
}

void agent_store_failure_reset(void)
{
	last_failure = TEELIZA_OK;
}

teeliza_err agent_store_failure(void)
{
	return last_failure;
}
