/* Shared by the TEE subcommands: the API and endpoint, salt, attestation and JSON output. */
#include "cli/tee_cli.h"
#include "cli/env_file.h"
#include "teeliza/common/encoding.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SALT_FILE_MAX 65536

static bool set(const char *v)
{
	return v != NULL && v[0] != 0;
}

/* --endpoint: the API is TEE_API's (unset: tappd, or dstack for a dstack-only command); TEE_MODE is not read. */
static int choose_given(tee_endpoint_choice *out, const char *cmd, const char *endpoint, enum tee_cli_want want,
                        const char *api_value)
{
	teeliza_err err = TEELIZA_OK;

	out->api = want == TEE_CLI_WANT_DSTACK ? TEE_API_DSTACK : TEE_API_TAPPD;
	if (want != TEE_CLI_WANT_DSTACK && set(api_value)) {
		err = tee_api_parse(&out->api, api_value);
		out->api_explicit = true;
	}
	if (want == TEE_CLI_WANT_TAPPD)
		out->api = TEE_API_TAPPD;
	if (!err)
		err = tee_endpoint_parse(&out->ep, endpoint, out->api);
	if (err)
		return cli_fail(cmd, err == TEELIZA_ERR_INVALID ? TEELIZA_ERR_CONFIG : err);
	return EXIT_OK;
}

int tee_cli_choose(tee_endpoint_choice *out, const char *cmd, const char *endpoint, enum tee_cli_want want,
                   bool quiet)
{
	tee_endpoint_env env;
	tee_api api;
	teeliza_err err;

	memset(out, 0, sizeof(*out));
	tee_endpoint_env_from_process(&env);
	if (endpoint != NULL)
		return choose_given(out, cmd, endpoint, want, env.tee_api);
	if (!set(env.tee_mode)) {
		/* Eliza's plugin refuses an unset TEE_MODE; a command line is friendlier: the local rules. */
		env.tee_mode = "LOCAL";
		if (!quiet)
			fprintf(stderr, "teeliza %s: TEE_MODE is not set; taken as LOCAL\n", cmd);
	}
	if (want == TEE_CLI_WANT_DSTACK && set(env.tee_api) && tee_api_parse(&api, env.tee_api) == TEELIZA_OK &&
	    api == TEE_API_TAPPD) {
		teeliza_set_error(TEELIZA_ERR_CONFIG,
		                  "%s is a method of the dstack API, but TEE_API=tappd chooses tappd (unset TEE_API, set "
		                  "TEE_API=dstack, or pass --endpoint)",
		                  cmd);
		return cli_fail(cmd, TEELIZA_ERR_CONFIG);
	}
	if (want == TEE_CLI_WANT_DSTACK && !set(env.tee_api)) {
		env.tee_api = "dstack"; /* the only API this command speaks: never a tappd endpoint */
		if (!quiet)
			fprintf(stderr, "teeliza %s: a dstack method, so the dstack API, as with TEE_API=dstack\n", cmd);
	}
	err = tee_endpoint_choose(out, &env);
	if (!err && want == TEE_CLI_WANT_TAPPD && out->api == TEE_API_DSTACK) {
		/* A dstack 0.5 CVM serves tappd too (on /var/run/dstack/tappd.sock): ask tappd's endpoint. */
		if (!quiet)
			fprintf(stderr, "teeliza %s: speaks the tappd API only; %s chose dstack, so tappd's endpoint is used\n",
			        cmd, out->api_explicit ? "TEE_API=dstack" : "TEE_MODE=PRODUCTION with a dstack socket");
		env.tee_api = "tappd";
		err = tee_endpoint_choose(out, &env);
	}
	if (err)
		return cli_fail(cmd, err == TEELIZA_ERR_INVALID ? TEELIZA_ERR_CONFIG : err);
	if (!quiet) {
		fprintf(stderr, "%s\n", out->log_line);
		if (out->sdk_line[0] != 0)
			fprintf(stderr, "%s\n", out->sdk_line);
	}
	return EXIT_OK;
}

int tee_cli_client(tappd_client *c, const char *cmd, const char *endpoint, uint64_t timeout_ms, bool quiet)
{
	tee_endpoint_choice ch;
	int rc;

	rc = tee_cli_choose(&ch, cmd, endpoint, TEE_CLI_WANT_TAPPD, quiet);
	if (rc)
		return rc;
	tappd_client_init(c, &ch.ep);
	if (timeout_ms > 0)
		c->timeout_ms = (long)timeout_ms; /* at most 3600000 (--timeout) */
	return EXIT_OK;
}

int tee_cli_dstack(dstack_client *c, const char *cmd, const char *endpoint, uint64_t timeout_ms, bool quiet)
{
	tee_endpoint_choice ch;
	int rc;

	rc = tee_cli_load_env(cmd, quiet);
	if (rc == EXIT_OK)
		rc = tee_cli_choose(&ch, cmd, endpoint, TEE_CLI_WANT_DSTACK, quiet);
	if (rc)
		return rc;
	dstack_client_init(c, &ch.ep);
	if (timeout_ms > 0)
		c->timeout_ms = (long)timeout_ms;
	return EXIT_OK;
}

int tee_cli_dstack_fail(const char *cmd, teeliza_err err)
{
	int rc = cli_fail(cmd, err);

	return err == TEELIZA_ERR_NOT_FOUND ? EXIT_UNAVAILABLE : rc;
}

int tee_cli_data(teeliza_buf *data, const char *cmd, const char *arg, bool hex, size_t max)
{
	teeliza_err err;

	teeliza_buf_init(data, max);
	if (hex)
		err = teeliza_hex_decode_buf(data, arg, strlen(arg), true);
	else
		err = teeliza_buf_append_str(data, arg);
	if (err) {
		teeliza_buf_free(data);
		teeliza_buf_init(data, max);
		return cli_fail(cmd, err == TEELIZA_ERR_PARSE ? TEELIZA_ERR_INVALID : err);
	}
	return EXIT_OK;
}

json_t *tee_cli_hex_json(const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 1);
	json_t *j;

	if (s == NULL)
		return NULL;
	teeliza_hex_encode(s, data, len);
	j = json_stringn(s, 2 * len);
	teeliza_wipe(s, 2 * len); /* it may be a key */
	free(s);
	return j;
}

void tee_cli_json_wipe(json_t *j, const char *name)
{
	json_t *s = json_object_get(j, name);

	if (json_is_string(s))
		teeliza_wipe((char *)json_string_value(s), json_string_length(s));
}

int tee_cli_print_json_as(json_t *j, bool indent)
{
	char *s;

	if (indent)
		return tee_cli_print_json(j);
	if (j == NULL) {
		fprintf(stderr, "teeliza: out of memory building JSON output\n");
		return EXIT_SOFTWARE;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s == NULL) {
		fprintf(stderr, "teeliza: cannot encode JSON output\n");
		return EXIT_SOFTWARE;
	}
	printf("%s\n", s);
	teeliza_wipe(s, strlen(s));
	free(s);
	return EXIT_OK;
}

static void drop_one_newline(teeliza_buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '\n')
		b->len--;
	if (b->len > 0 && b->data[b->len - 1] == '\r')
		b->len--;
	b->data[b->len] = 0;
}

/* Like teeliza_read_file, but no copy of the secret is left behind in freed or stack memory. */
static teeliza_err read_secret_file(teeliza_buf *out, const char *path)
{
	uint8_t chunk[4096];
	teeliza_err err = TEELIZA_OK;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return teeliza_set_error(errno == ENOENT ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_IO, "cannot open salt file %s: %s",
		                         path, strerror(errno));
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot read salt file %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		err = teeliza_buf_append(out, chunk, (size_t)n);
		if (err) {
			teeliza_set_error(err, "salt file %s is larger than %d bytes", path, SALT_FILE_MAX);
			break;
		}
	}
	TEELIZA_WIPE_BUFFER(chunk);
	close(fd);
	return err;
}

int tee_cli_salt(teeliza_buf *salt, const char *cmd, const char *salt_file)
{
	struct stat st;
	teeliza_err err;

	if (salt_file == NULL) {
		/* Out of the environment (and /proc/PID/environ) as it is read. */
		err = teeliza_env_take(salt, SALT_FILE_MAX, "WALLET_SECRET_SALT");
		if (err == TEELIZA_ERR_NOT_FOUND) {
			teeliza_set_error(TEELIZA_ERR_CONFIG, "Wallet secret salt is not configured: set WALLET_SECRET_SALT "
			                                      "(environment or .env) or pass --salt-file FILE");
			return cli_fail(cmd, TEELIZA_ERR_CONFIG);
		}
		if (err)
			return cli_fail(cmd, err == TEELIZA_ERR_TOO_LARGE ? TEELIZA_ERR_CONFIG : err);
		return EXIT_OK;
	}
	teeliza_buf_init(salt, SALT_FILE_MAX);
	salt->secret = true;
	err = read_secret_file(salt, salt_file);
	if (err)
		return cli_fail(cmd, err == TEELIZA_ERR_TOO_LARGE ? TEELIZA_ERR_CONFIG : err);
	if (stat(salt_file, &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr, "teeliza %s: warning: salt file %s is readable by others (mode %03o); chmod 600 it\n",
		        cmd, salt_file, (unsigned)(st.st_mode & 0777));
	if (salt->len > 0)
		drop_one_newline(salt);
	if (salt->len == 0) {
		teeliza_set_error(TEELIZA_ERR_CONFIG, "salt file %s is empty", salt_file);
		return cli_fail(cmd, TEELIZA_ERR_CONFIG);
	}
	if (memchr(salt->data, 0, salt->len) != NULL) {
		teeliza_set_error(TEELIZA_ERR_CONFIG, "salt file %s contains a NUL byte", salt_file);
		return cli_fail(cmd, TEELIZA_ERR_CONFIG);
	}
	return EXIT_OK;
}

int tee_cli_load_env(const char *cmd, bool quiet)
{
	teeliza_buf note;
	const char *p, *nl;
	size_t n;
	int rc;

	rc = cli_load_dotenv(&note, cmd);
	for (p = (const char *)note.data; rc == EXIT_OK && note.len > 0 && p != NULL && *p != 0;
	     p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (!quiet || strncmp(p, "warning:", 8) == 0)
			fprintf(stderr, "teeliza %s: %.*s\n", cmd, (int)n, p);
	}
	teeliza_buf_free(&note);
	return rc;
}

int tee_cli_agent_id(char id[AGENT_UUID_BUFSZ], const char *cmd, const char *text, bool quiet)
{
	if (agent_uuid_is_valid(text)) {
		memcpy(id, text, AGENT_UUID_BUFSZ);
		return EXIT_OK;
	}
	if (agent_uuid_from_string(id, text) != TEELIZA_OK)
		return cli_fail(cmd, TEELIZA_ERR_CRYPTO);
	if (!quiet)
		fprintf(stderr,
		        "teeliza %s: --agent-id \"%s\" is not a UUID, so it is taken as a character name: agent id %s =\n"
		        "  stringToUuid(\"%s\"), the id Eliza and `teeliza start` give a character of that name without an\n"
		        "  \"id\" (names are case-sensitive here; GET /agents shows an agent's id)\n",
		        cmd, text, id, text);
	return EXIT_OK;
}

static json_t *hex_string(const uint8_t *data, size_t len, bool prefix)
{
	char *s = malloc(2 * len + 3);
	json_t *j;

	if (s == NULL)
		return NULL;
	s[0] = '0';
	s[1] = 'x';
	teeliza_hex_encode(s + 2, data, len);
	j = json_string(prefix ? s : s + 2);
	free(s);
	return j;
}

json_t *tee_cli_attestation_json(const tee_attestation *a)
{
	json_t *o = json_object(), *rtmrs = json_array(), *log, *rd;
	int i;

	if (o == NULL || rtmrs == NULL)
		goto fail;
	/* Report data that is not UTF-8 (quote --hex) is shown as hex. */
	rd = json_stringn((const char *)a->report_data.data, a->report_data.len);
	if (rd == NULL)
		rd = hex_string(a->report_data.data, a->report_data.len, true);
	if (json_object_set_new(o, "reportData", rd) != 0)
		goto fail;
	if (a->hash_algorithm[0] && json_object_set_new(o, "hashAlgorithm", json_string(a->hash_algorithm)) != 0)
		goto fail;
	if (json_object_set_new(o, "quote", hex_string(a->quote.data, a->quote.len, true)) != 0)
		goto fail;
	log = json_loadb((const char *)a->event_log.data, a->event_log.len, 0, NULL);
	if (log == NULL)
		log = json_stringn((const char *)a->event_log.data, a->event_log.len);
	if (json_object_set_new(o, "eventLog", log) != 0)
		goto fail;
	for (i = 0; i < 4; i++)
		if (json_array_append_new(rtmrs, hex_string(a->rtmr[i], TEE_RTMR_LEN, false)) != 0)
			goto fail;
	if (json_object_set_new(o, "rtmrs", rtmrs) != 0) {
		rtmrs = NULL;
		goto fail;
	}
	if (json_object_set_new(o, "timestamp", json_integer(a->timestamp_ms)) != 0)
		goto fail;
	return o;
fail:
	json_decref(rtmrs);
	json_decref(o);
	return NULL;
}

int tee_cli_print_json(json_t *j)
{
	char *s;

	if (j == NULL) {
		fprintf(stderr, "teeliza: out of memory building JSON output\n");
		return EXIT_SOFTWARE;
	}
	s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s == NULL) {
		fprintf(stderr, "teeliza: cannot encode JSON output\n");
		return EXIT_SOFTWARE;
	}
	printf("%s\n", s);
	/* The output may hold a key shown on request: do not leave it in freed memory. */
	teeliza_wipe(s, strlen(s));
	free(s);
	return EXIT_OK;
}

void tee_cli_write(FILE *f, const teeliza_buf *b)
{
	if (b->len > 0)
		fwrite(b->data, 1, b->len, f);
}
