/*
 * Fuzz how the REST API reads a request target: the path split into
 * segments (api_split_path) and query parameters (api_query_param, as the
 * memories, attestation and dashboard routes read count, format, after and
 * max). Input: a URL path, optionally '?' and a query string (as libmicrohttpd
 * hands them over: up to the first NUL). Checks: segments are the non-empty
 * '/'-separated pieces of the path, in order, at most 8, and the split fails
 * exactly when there are more; a parameter value fits its buffer, holds no
 * NUL, equals the one found with a bigger buffer, and is the value of the
 * first occurrence of the name; strings are exact-size heap copies (ASan).
 * And the route each method finds for the path in the API's route tables
 * (api_route_find): the first route, in the router's order, that a
 * reference matcher written here says matches (segment counts equal,
 * literals equal ignoring case, a dashboard file name exactly, ":name"
 * anything, handed over as that very segment); none for too-deep paths.
 */
#include "fuzz.h"

#include "agent/api/api_route.h"

#include <string.h>
#include <strings.h>

static char *copy_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void check_split(const char *path)
{
	api_request r;
	size_t pieces = 0, seg = 0, n;
	const char *p = path;
	bool ok;

	while (*p != 0) {
		while (*p == '/')
			p++;
		if (*p == 0)
			break;
		pieces++;
		p += strcspn(p, "/");
	}
	memset(&r, 0, sizeof(r));
	ok = api_split_path(&r, path);
	FUZZ_CHECK(ok == (pieces <= sizeof(r.seg) / sizeof(r.seg[0])));
	if (ok) {
		FUZZ_CHECK(r.n_seg == pieces);
		/* the segments, in order, are the path's pieces */
		for (p = path; seg < r.n_seg; seg++) {
			while (*p == '/')
				p++;
			n = strcspn(p, "/");
			FUZZ_CHECK(n > 0 && strlen(r.seg[seg]) == n && memcmp(r.seg[seg], p, n) == 0);
			FUZZ_CHECK(r.seg[seg] >= r.path_copy && r.seg[seg] < r.path_copy + strlen(path) + 1);
			p += n;
		}
	}
	free(r.path_copy);
}

/* Does route match the split request r (method m)? Written apart from api_router.c. */
static bool reference_match(const api_route *route, const api_request *r, const char *m)
{
	char pat[128], *save = NULL, *lit;
	const char *segs[API_MAX_SEGMENTS + 1];
	size_t n = 0, i;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;

	if (r->too_deep)
		return false;
	if (!((route->methods & API_GET) && get) && !((route->methods & API_POST) && strcmp(m, "POST") == 0) &&
	    !((route->methods & API_DELETE) && strcmp(m, "DELETE") == 0) &&
	    !((route->methods & API_PATCH) && strcmp(m, "PATCH") == 0))
		return false;
	FUZZ_CHECK(strlen(route->pattern) < sizeof(pat));
	strcpy(pat, route->pattern);
	for (lit = strtok_r(pat, "/", &save); lit != NULL; lit = strtok_r(NULL, "/", &save)) {
		if (n == API_MAX_SEGMENTS)
			return false;
		segs[n++] = lit;
	}
	if (n != r->n_seg)
		return false;
	for (i = 0; i < n; i++) {
		if (segs[i][0] == ':')
			continue;
		if ((route->flags & API_ROUTE_FILE) && i == n - 1 ? strcmp(segs[i], r->seg[i]) != 0
		                                                  : strcasecmp(segs[i], r->seg[i]) != 0)
			return false;
	}
	return true;
}

static void check_route(const char *path)
{
	static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH"};
	const api_route *found, *want, *const *t, *route;
	http_server_request h;
	api_request r;
	size_t m, i, k;

	for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		memset(&h, 0, sizeof(h));
		h.method = methods[m];
		h.path = path;
		memset(&r, 0, sizeof(r));
		r.http = &h;
		if (!api_split_path(&r, path)) {
			FUZZ_CHECK(r.path_copy != NULL);
			r.n_seg = 0;
			r.too_deep = true;
		}
		want = NULL;
		for (t = api_route_tables; want == NULL && *t != NULL; t++)
			for (route = *t; want == NULL && route->pattern != NULL; route++)
				if (reference_match(route, &r, methods[m]))
					want = route;
		found = api_route_find(&r, api_route_tables);
		FUZZ_CHECK(found == want);
		if (found != NULL) {
			/* each ":name" is handed over as the very segment it matched, in order */
			const char *p = found->pattern;

			for (i = 0, k = 0; i < r.n_seg; i++) {
				while (*p == '/')
					p++;
				if (*p == ':')
					FUZZ_CHECK(k < r.n_param && r.param[k++] == r.seg[i]);
				p += strcspn(p, "/");
			}
			FUZZ_CHECK(k == r.n_param);
		}
		free(r.path_copy);
	}
}

/* The raw value of the first name=... (or bare name) in the query, as a reference. */
static bool first_raw(const char *query, const char *name, const char **v, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = query, *amp;

	while (p != NULL && *p != 0) {
		amp = strchr(p, '&');
		if (strncmp(p, name, nlen) == 0 && (p[nlen] == '=' || p[nlen] == '&' || p[nlen] == 0)) {
			*v = p[nlen] == '=' ? p + nlen + 1 : p + nlen;
			*vlen = p[nlen] == '=' ? strcspn(*v, "&") : 0;
			return true;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return false;
}

static void check_param(const char *query, const char *name)
{
	char small[8], big[4096];
	const char *a, *b, *raw;
	size_t raw_len;
	bool present = first_raw(query, name, &raw, &raw_len);

	memset(small, 0x55, sizeof(small));
	a = api_query_param(small, sizeof(small), query, name);
	b = api_query_param(big, sizeof(big), query, name);
	if (!present) {
		FUZZ_CHECK(a == NULL && b == NULL);
		return;
	}
	if (b != NULL) {
		FUZZ_CHECK(b == big && strlen(big) < sizeof(big));
		/* decoding never makes a value longer */
		FUZZ_CHECK(strlen(big) <= raw_len);
		if (memchr(raw, '%', raw_len) == NULL) {
			size_t i;

			FUZZ_CHECK(strlen(big) == raw_len);
			for (i = 0; i < raw_len; i++)
				FUZZ_CHECK(big[i] == (raw[i] == '+' ? ' ' : raw[i]));
		}
	}
	if (a != NULL) {
		FUZZ_CHECK(a == small && strlen(small) < sizeof(small));
		FUZZ_CHECK(b != NULL && strcmp(small, big) == 0);
	} else if (b != NULL) {
		FUZZ_CHECK(strlen(big) >= sizeof(small) - 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "count", "format", "after", "max", "a", "" };
	const uint8_t *end = memchr(data, 0, size), *q;
	size_t n = end != NULL ? (size_t)(end - data) : size, i;
	char *path, *query;

	q = memchr(data, '?', n);
	path = copy_n(data, q != NULL ? (size_t)(q - data) : n);
	query = q != NULL ? copy_n(q + 1, n - (size_t)(q + 1 - data)) : copy_n((const uint8_t *)"", 0);
	check_split(path);
	check_route(path);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check_param(query, names[i]);
	/* the query as a path and the path as a query: both are arbitrary bytes */
	check_split(query);
	check_param(path, "count");
	free(path);
	free(query);
	return 0;
}
