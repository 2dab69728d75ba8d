/*
 * Numbers in query strings (?count=, ?after=, ?max=): strict decimal with a
 * range (teeliza_parse_u64), and a parameter that is present but unreadable
 * (too long, a NUL, bad percent-encoding) is an error, not "absent".
 */
#include "agent/api/api_request.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Does the query name this parameter (with or without a value)? */
static bool query_has(const char *query, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = query; p != NULL && *p != 0; p = strchr(p, '&') != NULL ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, name, nlen) == 0 && (p[nlen] == '=' || p[nlen] == '&' || p[nlen] == 0))
			return true;
	return false;
}

teeliza_err api_query_u64(uint64_t *out, bool *present, const char *query, const char *name, uint64_t min,
                          uint64_t max)
{
	char *text;
	teeliza_err err;

	assert(out != NULL && name != NULL);
	if (present != NULL)
		*present = query != NULL && query_has(query, name);
	if (query == NULL || !query_has(query, name))
		return TEELIZA_OK;
	/* A decoded value is never longer than the query it came from. */
	text = malloc(strlen(query) + 1);
	if (text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (api_query_param(text, strlen(query) + 1, query, name) == NULL)
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "%s is not readable", name);
	else
		err = teeliza_parse_u64(out, text, min, max);
	free(text);
	return err;
}
