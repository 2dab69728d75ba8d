/*
 * Secrets in the environment (teeliza_env_take): unsetenv alone only drops
 * the pointer from environ; the string itself stays where the kernel put
 * it, and /proc/PID/environ keeps showing it to the process's owner (and
 * to root) for as long as the process runs. So the bytes are overwritten
 * too.
 */
#include "teeliza/common/common.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

teeliza_err teeliza_env_take(teeliza_buf *out, size_t max, const char *name)
{
	size_t nlen;
	const char *value;
	teeliza_err err = TEELIZA_OK;

	assert(out != NULL && name != NULL && name[0] != 0 && strchr(name, '=') == NULL);
	teeliza_buf_init(out, max);
	out->secret = true;
	value = getenv(name);
	if (value != NULL && value[0] != 0) {
		err = teeliza_buf_append_str(out, value);
		if (err)
			return err;
	}
	/*
	 * Overwrite the value of every entry of that name (an environment may
	 * hold a name twice), then drop them: "NAME=" stays intact for unsetenv.
	 */
	nlen = strlen(name);
	for (char **e = environ; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, nlen) == 0 && (*e)[nlen] == '=')
			teeliza_wipe(*e + nlen + 1, strlen(*e + nlen + 1));
	if (unsetenv(name) != 0) {
		teeliza_buf_free(out);
		return teeliza_set_error(TEELIZA_ERR_INTERNAL, "cannot remove %s from the environment", name);
	}
	if (out->len == 0)
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "%s is not set", name);
	return TEELIZA_OK;
}
