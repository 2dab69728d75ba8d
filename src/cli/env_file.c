/*
 * Eliza's .env for the commands that run or stand in for the agent (start,
 * derive, quote, info): the nearest .env from the working directory up to /,
 * as @elizaos/core 0.1.x's findNearestEnvFile finds it, loaded the way
 * dotenv.config() loads it (a variable already in the environment keeps its
 * value). The file holds secrets (WALLET_SECRET_SALT, API keys), so it is
 * read only when it is ours, every copy of its text is wiped, and only names
 * are ever printed.
 */
#include "cli/env_file.h"
#include "teeliza/common/dotenv.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names listed in the "Loaded .env" line; the rest are counted. */
#define NAMES_SHOWN 24

/* The same words the log redaction treats as secrets. */
static bool secret_name(const char *name)
{
	static const char *const words[] = {"SALT", "KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"};
	char up[128];
	size_t i, n = strlen(name);

	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (i = 0; i < n; i++)
		up[i] = name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 'a' + 'A') : name[i];
	up[n] = 0;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]) != NULL)
			return true;
	return false;
}

/*
 * The nearest .env: 0 and its stat when there is one, else -1 (errno ENOENT
 * when there is none; another errno is the caller's to report). Out: path.
 * Only looked at here (stat follows symlinks, as open does): a FIFO named
 * .env is never opened, and teeliza_read_regular_file reads the file.
 */
static int find_nearest(char *path, size_t path_len, struct stat *st)
{
	char dir[PATH_MAX], *slash;
	int n;

	path[0] = 0;
	errno = ENOENT;
	if (getcwd(dir, sizeof(dir)) == NULL || dir[0] != '/') {
		errno = ENOENT; /* no working directory (deleted, unreachable): no .env */
		return -1;
	}
	for (;;) {
		n = snprintf(path, path_len, "%s/.env", strcmp(dir, "/") == 0 ? "" : dir);
		if (n < 0 || (size_t)n >= path_len) {
			errno = ENOENT;
			return -1;
		}
		if (stat(path, st) == 0)
			return 0;
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		if (strcmp(dir, "/") == 0)
			break;
		slash = strrchr(dir, '/');
		if (slash == NULL)
			break;
		if (slash == dir)
			slash[1] = 0;
		else
			*slash = 0;
	}
	errno = ENOENT;
	return -1;
}

/* Is this file safe to take settings from? (An error says why not.) */
static teeliza_err check_file(const struct stat *st, const char *path)
{
	uid_t me = geteuid();

	if (st->st_uid != me && st->st_uid != 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "%s belongs to uid %u, not to you (uid %u) or root: not taking settings from it "
		                         "(chown or remove it)",
		                         path, (unsigned)st->st_uid, (unsigned)me);
	if (st->st_mode & S_IWOTH)
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "%s is writable by every user (mode %04o): not taking settings from it "
		                         "(chmod o-w it)",
		                         path, (unsigned)(st->st_mode & 07777));
	return TEELIZA_OK;
}

/* ", "-separated names of the entries whose from_file flag is want, at most NAMES_SHOWN, then a count. */
static teeliza_err list_names(teeliza_buf *note, const teeliza_dotenv *env, const bool *from_file, bool want)
{
	size_t i, shown = 0, more = 0;
	teeliza_err err = TEELIZA_OK;

	for (i = 0; i < env->count && !err; i++) {
		if (from_file[i] != want)
			continue;
		if (shown == NAMES_SHOWN) {
			more++;
			continue;
		}
		err = teeliza_buf_printf(note, "%s%s", shown++ > 0 ? ", " : "", env->entries[i].name);
	}
	if (!err && more > 0)
		err = teeliza_buf_printf(note, " and %zu more", more);
	return err;
}

int cli_load_dotenv(teeliza_buf *note, const char *cmd)
{
	char raw_path[PATH_MAX + 8], path[PATH_MAX + 8];
	struct stat st;
	teeliza_buf text = {0};
	teeliza_dotenv env;
	bool *from_file = NULL, any_secret = false;
	size_t i, n_set = 0, n_kept = 0;
	teeliza_err err;
	char msg[512];
	int found;

	teeliza_buf_init(note, 64 << 10);
	found = find_nearest(raw_path, sizeof(raw_path), &st);
	/* the path goes into log lines: its control characters (a directory name can hold any) as '?' */
	for (i = 0; raw_path[i] != 0 && i + 1 < sizeof(path); i++)
		path[i] = (unsigned char)raw_path[i] < 0x20 || raw_path[i] == 0x7f ? '?' : raw_path[i];
	path[i] = 0;
	if (found != 0) {
		if (errno == ENOENT)
			return EXIT_OK; /* no .env anywhere up to /: nothing to say, as Eliza */
		teeliza_set_error(TEELIZA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
		return cli_fail(cmd, TEELIZA_ERR_IO);
	}
	if (!S_ISREG(st.st_mode)) {
		/* Eliza stops at the nearest .env too (and then loads nothing); a directory is often a virtualenv */
		if (teeliza_buf_printf(note, "%s is not a regular file: no .env loaded", path) != TEELIZA_OK)
			return cli_fail(cmd, TEELIZA_ERR_NOMEM);
		return EXIT_OK;
	}
	/* checked before reading, and again on the file read (it may have been swapped since) */
	err = check_file(&st, path);
	if (!err)
		err = teeliza_read_regular_file(&text, &st, raw_path, TEELIZA_DOTENV_MAX);
	if (err == TEELIZA_ERR_TOO_LARGE)
		err = teeliza_set_error(TEELIZA_ERR_CONFIG, "%s is larger than %zu bytes: not a .env file", path,
		                        TEELIZA_DOTENV_MAX);
	else if (!err)
		err = check_file(&st, path);
	if (err) {
		teeliza_buf_free(&text);
		return cli_fail(cmd, err);
	}
	err = teeliza_dotenv_parse(&env, (const char *)text.data, text.len);
	teeliza_buf_free(&text);
	if (err) {
		/* the parser's ".env line N: ..." becomes "<path> line N: ..." (copied: it lives in the error buffer) */
		snprintf(msg, sizeof(msg), "%s", teeliza_errmsg());
		teeliza_set_error(TEELIZA_ERR_CONFIG, "%s%s%s", path, strncmp(msg, ".env ", 5) == 0 ? "" : ": ",
		                  strncmp(msg, ".env ", 5) == 0 ? msg + 4 : msg);
		return cli_fail(cmd, TEELIZA_ERR_CONFIG);
	}
	/* The process environment wins: only names it does not have are set. */
	from_file = calloc(env.count + 1, sizeof(*from_file));
	if (from_file == NULL) {
		teeliza_dotenv_free(&env);
		return cli_fail(cmd, teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory"));
	}
	for (i = 0; i < env.count; i++) {
		if (getenv(env.entries[i].name) != NULL) {
			n_kept++;
			continue;
		}
		if (setenv(env.entries[i].name, env.entries[i].value, 0) != 0) {
			teeliza_set_error(TEELIZA_ERR_CONFIG, "%s line %u: cannot set %s: %s", path, env.entries[i].line,
			                  env.entries[i].name, strerror(errno));
			free(from_file);
			teeliza_dotenv_free(&env);
			return cli_fail(cmd, TEELIZA_ERR_CONFIG);
		}
		from_file[i] = true;
		n_set++;
		any_secret = any_secret || (secret_name(env.entries[i].name) && env.entries[i].value_len > 0);
	}
	err = teeliza_buf_printf(note, "Loaded .env from %s: ", path);
	if (!err)
		err = n_set > 0 ? list_names(note, &env, from_file, true) : teeliza_buf_append_str(note, "nothing new");
	if (!err && n_kept > 0)
		err = teeliza_buf_append_str(note, " (already in the environment, kept: ");
	if (!err && n_kept > 0)
		err = list_names(note, &env, from_file, false);
	if (!err && n_kept > 0)
		err = teeliza_buf_append_str(note, ")");
	if (!err && any_secret && (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
		err = teeliza_buf_printf(note, "\nwarning: %s holds secrets and is readable by others (mode %04o); chmod 600 it",
		                         path, (unsigned)(st.st_mode & 07777));
	free(from_file);
	teeliza_dotenv_free(&env);
	if (err)
		return cli_fail(cmd, teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory"));
	return EXIT_OK;
}
