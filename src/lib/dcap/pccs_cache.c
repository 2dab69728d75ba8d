/*
 * The on-disk collateral cache (teeliza/dcap/pccs.h): one JSON file per
 * (PCCS URL, TEE, FMSPC, PCK CA), named from those alone: the FMSPC is hex
 * the quote's certificate gave, the CA one of two words and the URL a hash,
 * so nothing a server says becomes part of a path. Files are 0600 and
 * written atomically (a temp file in the same directory, fsync, rename), so
 * concurrent writers (agent threads, several processes) leave one whole
 * file; the directory is 0700 and refused when others could write to it.
 * An entry read back is parsed in full: one that does not parse, or is for
 * another key, is treated as absent and never served.
 */
#include "dcap/pccs_internal.h"
#include "dcap/verify_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teeliza/common/encoding.h"

#define CACHE_FILE_MAX ((size_t)8 << 20)
#define CACHE_FORMAT 1

void pccs_cache_name(char out[64], const char *base, const dcap_collateral_key *key)
{
	uint8_t h[32];
	char hex[65];

	dcap_sha256_of(h, base, strlen(base));
	teeliza_hex_encode(hex, h, 32);
	snprintf(out, 64, "%s-%s-%s-%.16s.json", key->sgx ? "sgx" : "tdx", key->fmspc, key->ca, hex);
}

teeliza_err dcap_collateral_cache_default_dir(char *out, size_t out_len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	/* The XDG spec ignores a relative XDG_CACHE_HOME. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, out_len, "%s/teeliza/collateral", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, out_len, "%s/.cache/teeliza/collateral", home);
	else
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "no cache directory: neither XDG_CACHE_HOME nor HOME is an absolute path "
		                         "(give --collateral-cache DIR)");
	if (n < 0 || (size_t)n >= out_len)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "the cache directory's path is too long");
	return TEELIZA_OK;
}

/* dir must be ours and closed to others: a planted entry could pin old (still valid) collateral. */
static teeliza_err check_dir(const char *dir, bool *exists)
{
	struct stat st;

	*exists = false;
	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return TEELIZA_OK;
		return teeliza_set_error(TEELIZA_ERR_IO, "collateral cache %s: %s", dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "collateral cache %s is not a directory", dir);
	if (st.st_uid != geteuid())
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "collateral cache %s belongs to another user: refused", dir);
	if ((st.st_mode & 022) != 0)
		return teeliza_set_error(TEELIZA_ERR_CONFIG,
		                         "collateral cache %s is writable by others (mode %03o): refused; chmod 700 it", dir,
		                         (unsigned)(st.st_mode & 0777));
	*exists = true;
	return TEELIZA_OK;
}

/* mkdir -p, new directories 0700. */
static teeliza_err make_dir(const char *dir)
{
	char path[1024];
	size_t i, n = strlen(dir);
	bool exists;
	teeliza_err err;

	if (n == 0 || n >= sizeof(path))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "bad collateral cache directory '%s'", dir);
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return teeliza_set_error(TEELIZA_ERR_IO, "cannot create %s: %s", path, strerror(errno));
		path[i] = i < n ? '/' : '\0';
	}
	err = check_dir(dir, &exists);
	if (!err && !exists)
		err = teeliza_set_error(TEELIZA_ERR_IO, "cannot create %s", dir);
	return err;
}

typedef struct cache_file {
	char url[256];
	dcap_collateral_key key;
	int64_t fetched_at;
	dcap_collateral *coll;   /* parsed */
	char *json;              /* the collateral's dcap-qvl JSON (malloc) */
	int64_t not_after;
} cache_file;

static void cache_file_free(cache_file *cf)
{
	dcap_collateral_free(cf->coll);
	free(cf->json);
	memset(cf, 0, sizeof(*cf));
}

static teeliza_err json_int(int64_t *out, const json_t *doc, const char *key)
{
	const json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return teeliza_set_error(TEELIZA_ERR_PARSE, "\"%s\" is not a non-negative integer", key);
	*out = (int64_t)json_integer_value(v);
	return TEELIZA_OK;
}

/* Read and check one cache file: a regular file, strict JSON, the collateral parsed and for the key it names. */
static teeliza_err read_entry(cache_file *cf, const char *path)
{
	struct stat st;
	teeliza_buf raw;
	json_t *doc = NULL;
	const char *url, *tee, *fmspc, *ca;
	dcap_collateral_info info;
	char fm[13];
	size_t i;
	teeliza_err err;

	memset(cf, 0, sizeof(*cf));
	if (lstat(path, &st) != 0)
		return teeliza_set_error(errno == ENOENT ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_IO, "%s: %s", path,
		                         strerror(errno));
	if (!S_ISREG(st.st_mode))
		return teeliza_set_error(TEELIZA_ERR_PARSE, "not a regular file");
	err = teeliza_read_file(&raw, path, CACHE_FILE_MAX);
	if (err)
		return err;
	err = dcap_json_load(&doc, (const char *)raw.data, raw.len, "cache entry");
	teeliza_buf_free(&raw);
	if (err)
		return err;
	if (!json_is_integer(json_object_get(doc, "teelizaCollateralCache")) ||
	    json_integer_value(json_object_get(doc, "teelizaCollateralCache")) != CACHE_FORMAT)
		err = teeliza_set_error(TEELIZA_ERR_UNSUPPORTED, "not a cache entry of format %d", CACHE_FORMAT);
	if (!err)
		err = dcap_json_string(&url, doc, "url", "cache entry");
	if (!err)
		err = dcap_json_string(&tee, doc, "tee", "cache entry");
	if (!err)
		err = dcap_json_string(&fmspc, doc, "fmspc", "cache entry");
	if (!err)
		err = dcap_json_string(&ca, doc, "ca", "cache entry");
	if (!err)
		err = json_int(&cf->fetched_at, doc, "fetchedAt");
	if (!err && (strlen(url) >= sizeof(cf->url) || strlen(fmspc) != 12 ||
	             (strcmp(tee, "sgx") != 0 && strcmp(tee, "tdx") != 0) ||
	             (strcmp(ca, "platform") != 0 && strcmp(ca, "processor") != 0)))
		err = teeliza_set_error(TEELIZA_ERR_PARSE, "bad url, tee, fmspc or ca");
	if (!err) {
		snprintf(cf->url, sizeof(cf->url), "%s", url);
		cf->key.sgx = strcmp(tee, "sgx") == 0;
		snprintf(cf->key.fmspc, sizeof(cf->key.fmspc), "%s", fmspc);
		snprintf(cf->key.ca, sizeof(cf->key.ca), "%s", ca);
		cf->json = json_is_object(json_object_get(doc, "collateral"))
		                   ? json_dumps(json_object_get(doc, "collateral"), JSON_COMPACT | JSON_PRESERVE_ORDER)
		                   : NULL;
		if (cf->json == NULL)
			err = teeliza_set_error(TEELIZA_ERR_PARSE, "no \"collateral\" object");
	}
	json_decref(doc);
	if (!err)
		err = dcap_collateral_parse_json(&cf->coll, cf->json, strlen(cf->json));
	if (!err) {
		/* The collateral itself must be for the key the entry names. */
		dcap_collateral_get_info(&info, cf->coll);
		for (i = 0; i < 6; i++)
			snprintf(fm + 2 * i, 3, "%02X", info.fmspc[i]);
		if (strcmp(fm, cf->key.fmspc) != 0 || info.tdx == cf->key.sgx)
			err = teeliza_set_error(TEELIZA_ERR_PARSE, "the collateral is for another platform (%s)", fm);
		cf->not_after = info.not_after;
	}
	if (err)
		cache_file_free(cf);
	return err;
}

/* Write the entry for (base, key) atomically. */
static teeliza_err write_entry(const char *dir, const char *name, const char *base, const dcap_collateral_key *key,
                               int64_t fetched_at, const char *coll_json, size_t coll_len)
{
	char path[1200], tmp[1200];
	json_t *doc, *coll;
	char *text = NULL;
	size_t off = 0, len;
	int fd = -1;
	teeliza_err err;

	err = make_dir(dir);
	if (err)
		return err;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "the collateral cache path is too long");
	coll = json_loadb(coll_json, coll_len, 0, NULL);
	doc = coll == NULL ? NULL
	                   : json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:o}", "teelizaCollateralCache", CACHE_FORMAT,
	                               "url", base, "tee", key->sgx ? "sgx" : "tdx", "fmspc", key->fmspc, "ca", key->ca,
	                               "fetchedAt", (json_int_t)fetched_at, "collateral", coll);
	if (doc != NULL)
		text = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	len = strlen(text);
	fd = mkstemp(tmp); /* 0600 */
	if (fd < 0) {
		err = teeliza_set_error(TEELIZA_ERR_IO, "cannot create a file in %s: %s", dir, strerror(errno));
		free(text);
		return err;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(text);
	if (off < len || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
		err = teeliza_set_error(TEELIZA_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return err;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		err = teeliza_set_error(TEELIZA_ERR_IO, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return err;
	}
	return TEELIZA_OK;
}

static void copy_err(char *out, size_t cap)
{
	snprintf(out, cap, "%s", teeliza_errmsg());
}

teeliza_err dcap_collateral_obtain(dcap_collateral **coll, teeliza_buf *json_out, dcap_collateral_got *got,
                                   const dcap_pccs_config *cfg, const uint8_t *quote, size_t quote_len, int64_t now,
                                   bool force)
{
	char base[1024], name[64], path[1200], fetch_err[320] = "", date[24];
	int64_t refresh = cfg->refresh_s > 0 ? cfg->refresh_s : DCAP_PCCS_DEFAULT_REFRESH_S;
	cache_file cf;
	bool have = false, valid = false, exists = false;
	teeliza_buf fresh;
	dcap_collateral *parsed = NULL;
	teeliza_err err, ferr;

	if (coll != NULL)
		*coll = NULL;
	memset(got, 0, sizeof(*got));
	memset(&cf, 0, sizeof(cf));
	if (cfg->url == NULL)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "no PCCS configured (--pccs-url URL or PCCS_URL)");
	err = dcap_pccs_check_url(NULL, cfg->url, cfg->allow_http);
	if (!err)
		err = dcap_collateral_key_of(&got->key, quote, quote_len);
	if (err)
		return err;
	if (strlen(cfg->url) >= sizeof(base))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "the PCCS URL is too long");
	pccs_base_of(base, sizeof(base), cfg->url);
	if (cfg->cache_dir != NULL) {
		pccs_cache_name(name, base, &got->key);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", cfg->cache_dir, name) >= sizeof(path))
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "the collateral cache path is too long");
		if (strlen(path) >= sizeof(got->cache_path))
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "the collateral cache path is too long");
		memcpy(got->cache_path, path, strlen(path) + 1);
		err = check_dir(cfg->cache_dir, &exists);
		if (err)
			return err;
		have = exists && read_entry(&cf, path) == TEELIZA_OK;
		if (have && (strcmp(cf.url, base) != 0 || strcmp(cf.key.fmspc, got->key.fmspc) != 0 ||
		             strcmp(cf.key.ca, got->key.ca) != 0 || cf.key.sgx != got->key.sgx)) {
			cache_file_free(&cf);
			have = false;
		}
		valid = have && now <= cf.not_after;
		if (valid && !force && now >= cf.fetched_at && now - cf.fetched_at < refresh) {
			got->origin = DCAP_ORIGIN_CACHE;
			goto serve_cached;
		}
		if (valid && cfg->no_fetch) {
			got->origin = DCAP_ORIGIN_CACHE_OFFLINE;
			snprintf(got->fetch_error, sizeof(got->fetch_error), "the PCCS failed moments ago: not asked again yet");
			goto serve_cached;
		}
	}

	if (cfg->no_fetch) {
		if (have) {
			dcap_format_date(date, cf.not_after);
			cache_file_free(&cf);
			return teeliza_set_error(TEELIZA_ERR_CONNECT,
			                         "the PCCS failed moments ago and is not asked again yet; the cached collateral "
			                         "(%s) expired at %s and is not used",
			                         path, date);
		}
		return teeliza_set_error(TEELIZA_ERR_CONNECT,
		                         "the PCCS failed moments ago and is not asked again yet; nothing is cached for FMSPC %s",
		                         got->key.fmspc);
	}
	teeliza_buf_init(&fresh, DCAP_MAX_COLLATERAL_JSON);
	ferr = dcap_pccs_fetch_key(&fresh, cfg, &got->key);
	if (!ferr)
		ferr = dcap_collateral_parse_json(&parsed, (const char *)fresh.data, fresh.len);
	if (!ferr) {
		dcap_collateral_info info;

		dcap_collateral_get_info(&info, parsed);
		got->origin = DCAP_ORIGIN_PCCS;
		got->fetched_at = now;
		got->not_after = info.not_after;
		if (cfg->cache_dir != NULL &&
		    write_entry(cfg->cache_dir, name, base, &got->key, now, (const char *)fresh.data, fresh.len) != TEELIZA_OK) {
			got->cache_write_failed = true;
			copy_err(got->cache_error, sizeof(got->cache_error));
		}
		if (json_out != NULL)
			err = teeliza_buf_append(json_out, fresh.data, fresh.len);
		teeliza_buf_free(&fresh);
		cache_file_free(&cf);
		if (!err && coll != NULL)
			*coll = parsed;
		else
			dcap_collateral_free(parsed);
		return err;
	}
	copy_err(fetch_err, sizeof(fetch_err));
	teeliza_buf_free(&fresh);
	if (!valid) {
		if (have) {
			dcap_format_date(date, cf.not_after);
			cache_file_free(&cf);
			return teeliza_set_error(ferr, "%s; the cached collateral (%s) expired at %s and is not used", fetch_err,
			                         path, date);
		}
		return teeliza_set_error(ferr, "%s", fetch_err);
	}
	got->origin = DCAP_ORIGIN_CACHE_OFFLINE;
	snprintf(got->fetch_error, sizeof(got->fetch_error), "%s", fetch_err);

serve_cached:
	got->fetched_at = cf.fetched_at;
	got->not_after = cf.not_after;
	err = TEELIZA_OK;
	if (json_out != NULL)
		err = teeliza_buf_append_str(json_out, cf.json);
	if (!err && coll != NULL) {
		*coll = cf.coll;
		cf.coll = NULL;
	}
	cache_file_free(&cf);
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const dcap_cache_entry *)a)->file, ((const dcap_cache_entry *)b)->file);
}

/* "<tdx|sgx>-<12 uppercase hex>-<platform|processor>-<16 hex>.json": the names this cache writes. */
static bool is_entry_name(const char *n)
{
	size_t len = strlen(n), i, ca_len;
	const char *p;

	if (len < 47 || len > 48)
		return false;
	if (strncmp(n, "tdx-", 4) != 0 && strncmp(n, "sgx-", 4) != 0)
		return false;
	for (i = 4; i < 16; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'A' && n[i] <= 'F')))
			return false;
	if (n[16] != '-')
		return false;
	p = n + 17;
	ca_len = strncmp(p, "platform-", 9) == 0 ? 9 : strncmp(p, "processor-", 10) == 0 ? 10 : 0;
	if (ca_len == 0)
		return false;
	p += ca_len;
	for (i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return strcmp(p + 16, ".json") == 0;
}

teeliza_err dcap_collateral_cache_list(dcap_cache_entry **out, size_t *n, const char *dir, int64_t now)
{
	DIR *d;
	struct dirent *de;
	dcap_cache_entry *list = NULL, *grown;
	size_t count = 0, cap = 0;
	char path[1200];
	bool exists;
	cache_file cf;
	teeliza_err err;

	*out = NULL;
	*n = 0;
	err = check_dir(dir, &exists);
	if (err || !exists)
		return err;
	d = opendir(dir);
	if (d == NULL)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		dcap_cache_entry *e;

		if (!is_entry_name(de->d_name))
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 8;
			grown = cap > 4096 ? NULL : realloc(list, cap * sizeof(*list));
			if (grown == NULL) {
				closedir(d);
				free(list);
				return teeliza_set_error(TEELIZA_ERR_NOMEM, "too many cache entries in %s", dir);
			}
			list = grown;
		}
		e = &list[count++];
		memset(e, 0, sizeof(*e));
		snprintf(e->file, sizeof(e->file), "%s", de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_entry(&cf, path) != TEELIZA_OK) {
			snprintf(e->error, sizeof(e->error), "%s", teeliza_errmsg());
			continue;
		}
		snprintf(e->url, sizeof(e->url), "%s", cf.url);
		e->key = cf.key;
		e->fetched_at = cf.fetched_at;
		e->not_after = cf.not_after;
		e->fresh = now <= cf.not_after;
		cache_file_free(&cf);
	}
	closedir(d);
	if (count > 1)
		qsort(list, count, sizeof(*list), by_name);
	*out = list;
	*n = count;
	return TEELIZA_OK;
}
