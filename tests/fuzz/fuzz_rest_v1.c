/*
 * Fuzz the v1 API's handlers (src/lib/agent/api/api_v1_*.c) with whole
 * requests, through the router as the server calls it: one registry with a
 * running agent (a fake model, an in-memory store), one session, and the
 * v1 state, kept across inputs so that creates, starts, PATCHes, stops,
 * deletes, sessions and messages meet each other's leftovers.
 * Input: a method letter (G, P, A = PATCH, D), the path with its query
 * (the words AID, SID and CID stand for the agent's, the session's and its
 * channel's ids), '\n', a JSON body. Checks: every answer to an /api path
 * has a known status; but for 204 its body is a JSON object; an error is
 * v1's envelope ({success:false, error:{message, code}}) or the sessions'
 * form ({error:{code, message, timestamp}}, no stack); a success with
 * "success" says true; no answer ever holds the agent's secret (inputs
 * holding it are skipped).
 */
#include "fuzz.h"

#include "agent/api/api_v1.h"

#include <stdio.h>
#include <string.h>

#define SECRET "sk-fuzz-secret-value"

static agent_store *store;
static agent_registry *reg;
static agent_api api;
static char agent_id[AGENT_UUID_BUFSZ];
static api_v1_session session;

static teeliza_err fake_generate(json_t **content, void *ctx, const agent_generate_request *req)
{
	(void)ctx;
	*content = json_pack("{s:s, s:s, s:s}", "user", "Fuzz Bot", "text", req->user_text, "action", "NONE");
	return *content != NULL ? TEELIZA_OK : TEELIZA_ERR_NOMEM;
}

static const char character[] =
	"{\"name\":\"Fuzz Bot\",\"modelProvider\":\"openai\",\"bio\":\"b\",\"lore\":[],\"messageExamples\":[],"
	"\"postExamples\":[],\"topics\":[],\"adjectives\":[],\"clients\":[],\"plugins\":[],"
	"\"settings\":{\"secrets\":{\"OPENAI_API_KEY\":\"" SECRET "\"}},"
	"\"style\":{\"all\":[],\"chat\":[],\"post\":[]}}";

/* (Re)start the agent, so that an input that deleted it does not leave the next ones without one. */
static void start_agent(void)
{
	agent_character *c = NULL;
	agent_runtime *rt = NULL;

	FUZZ_CHECK(agent_character_from_text(&c, NULL, character, strlen(character), NULL) == TEELIZA_OK);
	FUZZ_CHECK(agent_registry_start(&rt, reg, c) == TEELIZA_OK);
	snprintf(agent_id, sizeof(agent_id), "%s", agent_runtime_id(rt));
	agent_runtime_release(rt);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	agent_registry_config rc;

	(void)argc;
	(void)argv;
	FUZZ_CHECK(agent_store_sqlite_open(&store, ":memory:") == TEELIZA_OK);
	memset(&rc, 0, sizeof(rc));
	rc.store = store;
	rc.log = fopen("/dev/null", "w");
	rc.generate = fake_generate;
	rc.seed = 1;
	FUZZ_CHECK(agent_registry_new(&reg, &rc) == TEELIZA_OK);
	start_agent();
	api.registry = reg;
	api.log = rc.log;
	FUZZ_CHECK(api_v1_new(&api.v1) == TEELIZA_OK);
	snprintf(session.id, sizeof(session.id), "5e551000-0000-4000-8000-000000000001");
	snprintf(session.channel_id, sizeof(session.channel_id), "c4a77e10-0000-4000-8000-000000000001");
	snprintf(session.agent_id, sizeof(session.agent_id), "%s", agent_id);
	snprintf(session.user_id, sizeof(session.user_id), "05e70000-0000-4000-8000-000000000001");
	session.metadata = json_object();
	session.created_at = session.last_activity = agent_store_now_ms();
	session.expires_at = INT64_MAX / 2;
	FUZZ_CHECK(api_v1_session_add(api.v1, &session) == TEELIZA_OK);
	FUZZ_CHECK(api_v1_channel_note(api.v1, session.channel_id, agent_id) == TEELIZA_OK);
	return 0;
}

/* path with AID, SID and CID replaced (into out, cut to out_len). */
static void expand(char *out, size_t out_len, const char *path)
{
	size_t n = 0;

	while (*path != 0 && n + 1 < out_len) {
		const char *with = strncmp(path, "AID", 3) == 0   ? agent_id
		                   : strncmp(path, "SID", 3) == 0 ? session.id
		                   : strncmp(path, "CID", 3) == 0 ? session.channel_id
		                                                  : NULL;
		if (with != NULL) {
			n += (size_t)snprintf(out + n, out_len - n, "%s", with);
			if (n >= out_len)
				n = out_len - 1;
			path += 3;
		} else {
			out[n++] = *path++;
		}
	}
	out[n] = 0;
}

static void check_reply(const http_server_reply *reply, bool v1_path)
{
	static const unsigned known[] = {200, 201, 204, 400, 401, 403, 404, 410, 413, 500, 503};
	json_t *j, *err;
	bool ok = false;
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok = ok || reply->status == known[i];
	if (!ok)
		fprintf(stderr, "unexpected status %u: %.*s\n", reply->status, (int)(reply->body.len > 300 ? 300 : reply->body.len),
		        (const char *)reply->body.data);
	FUZZ_CHECK(ok);
	if (reply->body.len > 0 && memmem(reply->body.data, reply->body.len, SECRET, strlen(SECRET)) != NULL) {
		fprintf(stderr, "the secret in a reply: %.*s\n", (int)reply->body.len, (const char *)reply->body.data);
		abort();
	}
	if (!v1_path || reply->status == 204)
		return;
	j = json_loadb((const char *)reply->body.data, reply->body.len, 0, NULL);
	FUZZ_CHECK(json_is_object(j));
	err = json_object_get(j, "error");
	if (reply->status >= 400) {
		FUZZ_CHECK(json_is_object(err) && json_is_string(json_object_get(err, "message")));
		FUZZ_CHECK(json_object_get(err, "stack") == NULL);
		if (json_object_get(j, "success") != NULL)
			FUZZ_CHECK(json_is_false(json_object_get(j, "success")));
		else
			FUZZ_CHECK(json_is_string(json_object_get(err, "code")) &&
			           json_is_string(json_object_get(err, "timestamp")));
	} else if (json_object_get(j, "success") != NULL) {
		FUZZ_CHECK(json_is_true(json_object_get(j, "success")));
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE"};
	const uint8_t *nl;
	char raw[512], target[1024], *q, *body;
	http_server_request h;
	http_server_reply reply;
	api_request r;
	size_t n, blen;

	/*
	 * An input that holds the secret could plant it where later answers show
	 * it (a name, a bio): such inputs are not run, so that any secret in an
	 * answer is a leak.
	 */
	if (size < 2 || memmem(data, size, SECRET, strlen(SECRET)) != NULL)
		return 0;
	{
		agent_runtime *rt = agent_registry_find(reg, agent_id, false);

		api_v1_session copy;
		teeliza_err e;

		if (rt == NULL && api_v1_agent_get(NULL, NULL, NULL, api.v1, agent_id) != TEELIZA_OK)
			start_agent();
		agent_runtime_release(rt);
		/* the same for the session */
		e = api_v1_session_get(&copy, NULL, api.v1, session.id, false);

		api_v1_session_clear(&copy);
		if (e == TEELIZA_ERR_NOT_FOUND) {
			e = api_v1_session_add(api.v1, &session);
			FUZZ_CHECK(e == TEELIZA_OK || e == TEELIZA_ERR_TOO_LARGE);
		}
	}
	nl = memchr(data + 1, '\n', size - 1);
	n = nl != NULL ? (size_t)(nl - data - 1) : size - 1;
	if (n >= sizeof(raw) || memchr(data + 1, 0, n) != NULL)
		return 0;
	memcpy(raw, data + 1, n);
	raw[n] = 0;
	expand(target, sizeof(target), raw);
	blen = nl != NULL ? size - n - 2 : 0;
	body = malloc(blen + 1);
	FUZZ_CHECK(body != NULL);
	if (blen > 0)
		memcpy(body, nl + 1, blen);
	body[blen] = 0;
	memset(&h, 0, sizeof(h));
	h.method = methods[data[0] % 4];
	q = strchr(target, '?');
	h.query = "";
	if (q != NULL) {
		*q = 0;
		h.query = q + 1;
	}
	h.path = target;
	h.content_type = blen > 0 ? "application/json" : "";
	h.authorization = "";
	h.api_key = "";
	h.body = (const uint8_t *)body;
	h.body_len = blen;
	h.remote = "127.0.0.1";
	h.remote_local = true;
	memset(&r, 0, sizeof(r));
	r.http = &h;
	if (!api_split_path(&r, target)) {
		FUZZ_CHECK(r.path_copy != NULL);
		r.n_seg = 0;
		r.too_deep = true;
	}
	api_parse_body(&r);
	memset(&reply, 0, sizeof(reply));
	reply.status = 200;
	teeliza_buf_init(&reply.body, 16u << 20);
	/* only the v1 API (an agent named "api" keeps its 0.1.x POST /api/message, checked elsewhere) */
	if (api_v1_path(&r)) {
		const api_route *route = api_route_find(&r, api_route_tables);

		if (route == NULL || strncmp(route->pattern, "/api/", 5) == 0) {
			api_dispatch(&reply, &api, &r, api_route_tables);
			check_reply(&reply, true);
		}
	}
	teeliza_buf_free(&reply.body);
	json_decref(r.body);
	json_decref(r.files);
	free(r.path_copy);
	free(body);
	return 0;
}
