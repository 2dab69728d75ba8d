/*
 * What only the v1 API keeps, in memory as elizaOS 1.x keeps its sessions
 * (lost on restart): agents created but not running (v1 creates agents
 * stopped; teeliza's registry holds running agents only), sessions with
 * their sliding expiry, and the agent each channel talks to (for an
 * agent's memories across its channels). Every table is bounded: the
 * network fills them.
 */
#include "agent/api/api_v1.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct v1_agent {
	char id[AGENT_UUID_BUFSZ];
	json_t *character;
	int64_t created_at, updated_at;
} v1_agent;

typedef struct v1_channel {
	char id[AGENT_UUID_BUFSZ];
	char agent_id[AGENT_UUID_BUFSZ];
} v1_channel;

struct api_v1 {
	pthread_mutex_t lock;
	int64_t started_at;
	v1_agent agents[API_V1_MAX_AGENTS];
	size_t n_agents;
	api_v1_session *sessions; /* API_V1_MAX_SESSIONS */
	size_t n_sessions;
	v1_channel *channels;     /* API_V1_MAX_CHANNELS, oldest first */
	size_t n_channels;
};

teeliza_err api_v1_new(api_v1 **out)
{
	api_v1 *v1 = calloc(1, sizeof(*v1));

	*out = NULL;
	if (v1 == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	v1->sessions = calloc(API_V1_MAX_SESSIONS, sizeof(v1->sessions[0]));
	v1->channels = calloc(API_V1_MAX_CHANNELS, sizeof(v1->channels[0]));
	if (v1->sessions == NULL || v1->channels == NULL || pthread_mutex_init(&v1->lock, NULL) != 0) {
		free(v1->sessions);
		free(v1->channels);
		free(v1);
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	}
	v1->started_at = agent_store_now_ms();
	*out = v1;
	return TEELIZA_OK;
}

void api_v1_free(api_v1 *v1)
{
	size_t i;

	if (v1 == NULL)
		return;
	for (i = 0; i < v1->n_agents; i++)
		json_decref(v1->agents[i].character);
	for (i = 0; i < v1->n_sessions; i++)
		json_decref(v1->sessions[i].metadata);
	pthread_mutex_destroy(&v1->lock);
	free(v1->sessions);
	free(v1->channels);
	free(v1);
}

int64_t api_v1_started_at(const api_v1 *v1)
{
	return v1->started_at;
}

static v1_agent *find_agent(api_v1 *v1, const char *id)
{
	for (size_t i = 0; i < v1->n_agents; i++)
		if (strcmp(v1->agents[i].id, id) == 0)
			return &v1->agents[i];
	return NULL;
}

teeliza_err api_v1_agent_put(api_v1 *v1, const char *id, const json_t *character, bool replace)
{
	json_t *copy = json_deep_copy(character);
	v1_agent *a;
	teeliza_err err = TEELIZA_OK;

	if (copy == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	pthread_mutex_lock(&v1->lock);
	a = find_agent(v1, id);
	if (a != NULL && !replace) {
		err = teeliza_set_error(TEELIZA_ERR_INVALID, "agent %s exists", id);
	} else if (a != NULL) {
		json_decref(a->character);
		a->character = copy;
		copy = NULL;
		a->updated_at = agent_store_now_ms();
	} else if (v1->n_agents == API_V1_MAX_AGENTS) {
		err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "at most %u agents can be created over the API",
		                        API_V1_MAX_AGENTS);
	} else {
		a = &v1->agents[v1->n_agents++];
		snprintf(a->id, sizeof(a->id), "%s", id);
		a->character = copy;
		copy = NULL;
		a->created_at = a->updated_at = agent_store_now_ms();
	}
	pthread_mutex_unlock(&v1->lock);
	json_decref(copy);
	return err;
}

teeliza_err api_v1_agent_get(json_t **character, int64_t *created_at, int64_t *updated_at, api_v1 *v1,
                             const char *id)
{
	v1_agent *a;
	teeliza_err err = TEELIZA_OK;

	if (character != NULL)
		*character = NULL;
	pthread_mutex_lock(&v1->lock);
	a = find_agent(v1, id);
	if (a == NULL) {
		err = TEELIZA_ERR_NOT_FOUND;
	} else {
		if (character != NULL && (*character = json_deep_copy(a->character)) == NULL)
			err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
		if (created_at != NULL)
			*created_at = a->created_at;
		if (updated_at != NULL)
			*updated_at = a->updated_at;
	}
	pthread_mutex_unlock(&v1->lock);
	return err;
}

bool api_v1_agent_remove(api_v1 *v1, const char *id)
{
	v1_agent *a;

	pthread_mutex_lock(&v1->lock);
	a = find_agent(v1, id);
	if (a != NULL) {
		json_decref(a->character);
		*a = v1->agents[--v1->n_agents];
	}
	pthread_mutex_unlock(&v1->lock);
	return a != NULL;
}

json_t *api_v1_agent_ids(api_v1 *v1)
{
	json_t *ids = json_array();

	pthread_mutex_lock(&v1->lock);
	for (size_t i = 0; ids != NULL && i < v1->n_agents; i++)
		if (json_array_append_new(ids, json_string(v1->agents[i].id)) != 0) {
			json_decref(ids);
			ids = NULL;
		}
	pthread_mutex_unlock(&v1->lock);
	return ids;
}

/* Drop expired sessions (locked). */
static void purge_expired(api_v1 *v1, int64_t now)
{
	size_t i = 0;

	while (i < v1->n_sessions) {
		if (v1->sessions[i].expires_at <= now) {
			json_decref(v1->sessions[i].metadata);
			v1->sessions[i] = v1->sessions[--v1->n_sessions];
		} else {
			i++;
		}
	}
}

teeliza_err api_v1_session_add(api_v1 *v1, const api_v1_session *s)
{
	teeliza_err err = TEELIZA_OK;

	pthread_mutex_lock(&v1->lock);
	if (v1->n_sessions == API_V1_MAX_SESSIONS)
		purge_expired(v1, agent_store_now_ms());
	if (v1->n_sessions == API_V1_MAX_SESSIONS) {
		err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "too many sessions (%u); delete some first",
		                        API_V1_MAX_SESSIONS);
	} else {
		v1->sessions[v1->n_sessions] = *s;
		json_incref(s->metadata);
		v1->n_sessions++;
	}
	pthread_mutex_unlock(&v1->lock);
	return err;
}

static api_v1_session *find_session(api_v1 *v1, const char *id)
{
	for (size_t i = 0; i < v1->n_sessions; i++)
		if (strcmp(v1->sessions[i].id, id) == 0)
			return &v1->sessions[i];
	return NULL;
}

teeliza_err api_v1_session_get(api_v1_session *out, bool *renewed, api_v1 *v1, const char *id, bool renew)
{
	int64_t now = agent_store_now_ms(), cap, want;
	api_v1_session *s;
	teeliza_err err = TEELIZA_OK;

	memset(out, 0, sizeof(*out));
	if (renewed != NULL)
		*renewed = false;
	pthread_mutex_lock(&v1->lock);
	s = find_session(v1, id);
	if (s == NULL) {
		err = TEELIZA_ERR_NOT_FOUND;
	} else if (s->expires_at <= now) {
		err = TEELIZA_ERR_EXPIRED;
	} else if (renew) {
		cap = s->created_at + (int64_t)API_V1_SESSION_MAX_DURATION_MIN * 60000;
		want = now + (int64_t)API_V1_SESSION_TIMEOUT_MIN * 60000;
		if (want > cap)
			want = cap;
		s->last_activity = now;
		if (want > s->expires_at) {
			s->expires_at = want;
			s->renewals++;
			if (renewed != NULL)
				*renewed = true;
		}
	}
	if (s != NULL) {
		*out = *s;
		json_incref(out->metadata);
	}
	pthread_mutex_unlock(&v1->lock);
	return err;
}

bool api_v1_session_remove(api_v1 *v1, const char *id)
{
	api_v1_session *s;

	pthread_mutex_lock(&v1->lock);
	s = find_session(v1, id);
	if (s != NULL) {
		json_decref(s->metadata);
		*s = v1->sessions[--v1->n_sessions];
	}
	pthread_mutex_unlock(&v1->lock);
	return s != NULL;
}

void api_v1_session_clear(api_v1_session *s)
{
	json_decref(s->metadata);
	memset(s, 0, sizeof(*s));
}

teeliza_err api_v1_channel_note(api_v1 *v1, const char *channel_id, const char *agent_id)
{
	size_t i;

	pthread_mutex_lock(&v1->lock);
	for (i = 0; i < v1->n_channels; i++)
		if (strcmp(v1->channels[i].id, channel_id) == 0)
			break;
	if (i < v1->n_channels) {
		snprintf(v1->channels[i].agent_id, sizeof(v1->channels[i].agent_id), "%s", agent_id);
	} else {
		if (v1->n_channels == API_V1_MAX_CHANNELS) {
			memmove(&v1->channels[0], &v1->channels[1], (API_V1_MAX_CHANNELS - 1) * sizeof(v1->channels[0]));
			v1->n_channels--;
		}
		snprintf(v1->channels[v1->n_channels].id, AGENT_UUID_BUFSZ, "%s", channel_id);
		snprintf(v1->channels[v1->n_channels].agent_id, AGENT_UUID_BUFSZ, "%s", agent_id);
		v1->n_channels++;
	}
	pthread_mutex_unlock(&v1->lock);
	return TEELIZA_OK;
}

bool api_v1_channel_agent(char agent_id[AGENT_UUID_BUFSZ], api_v1 *v1, const char *channel_id)
{
	bool found = false;

	pthread_mutex_lock(&v1->lock);
	for (size_t i = 0; i < v1->n_channels && !found; i++)
		if (strcmp(v1->channels[i].id, channel_id) == 0) {
			snprintf(agent_id, AGENT_UUID_BUFSZ, "%s", v1->channels[i].agent_id);
			found = true;
		}
	pthread_mutex_unlock(&v1->lock);
	return found;
}

json_t *api_v1_agent_channels(api_v1 *v1, const char *agent_id)
{
	json_t *list = json_array();

	pthread_mutex_lock(&v1->lock);
	for (size_t i = v1->n_channels; list != NULL && i-- > 0;)
		if (strcmp(v1->channels[i].agent_id, agent_id) == 0 &&
		    json_array_append_new(list, json_string(v1->channels[i].id)) != 0) {
			json_decref(list);
			list = NULL;
		}
	pthread_mutex_unlock(&v1->lock);
	return list;
}

/* A session as v1's getSession shows it. */
static json_t *session_info(const api_v1_session *s, int64_t now)
{
	char created[32], last[32], expires[32];
	int64_t left = s->expires_at > now ? s->expires_at - now : 0;

	api_v1_iso_time(created, s->created_at);
	api_v1_iso_time(last, s->last_activity);
	api_v1_iso_time(expires, s->expires_at);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:{s:i, s:b, s:i, s:i}, s:i, s:I, s:b}", "sessionId",
	                 s->id, "channelId", s->channel_id, "agentId", s->agent_id, "userId", s->user_id, "createdAt",
	                 created, "lastActivity", last, "metadata", s->metadata, "expiresAt", expires, "timeoutConfig",
	                 "timeoutMinutes", API_V1_SESSION_TIMEOUT_MIN, "autoRenew", 1, "maxDurationMinutes",
	                 API_V1_SESSION_MAX_DURATION_MIN, "warningThresholdMinutes", API_V1_SESSION_WARNING_MIN,
	                 "renewalCount", (int)s->renewals, "timeRemaining", (json_int_t)left, "isNearExpiration",
	                 left <= (int64_t)API_V1_SESSION_WARNING_MIN * 60000);
}

json_t *api_v1_session_info(const api_v1_session *s, int64_t now)
{
	return session_info(s, now);
}

json_t *api_v1_session_list(api_v1 *v1, int64_t now)
{
	json_t *list = json_array(), *one;
	size_t active = 0, expired = 0;

	pthread_mutex_lock(&v1->lock);
	for (size_t i = 0; list != NULL && i < v1->n_sessions; i++) {
		if (v1->sessions[i].expires_at <= now) {
			expired++;
			continue;
		}
		active++;
		one = session_info(&v1->sessions[i], now);
		if (one == NULL || json_array_append_new(list, one) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	pthread_mutex_unlock(&v1->lock);
	if (list == NULL)
		return NULL;
	return json_pack("{s:o, s:I, s:{s:I, s:I, s:I}}", "sessions", list, "total", (json_int_t)active, "stats",
	                 "totalSessions", (json_int_t)(active + expired), "activeSessions", (json_int_t)active,
	                 "expiredSessions", (json_int_t)expired);
}
