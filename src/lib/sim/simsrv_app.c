/*
 * The simulated app: its app-compose.json, the compose hash dstack's OS
 * measures, its app id and instance id, and the values the OS reports with
 * them (OS image hash, VM config, key provider, storage filesystem).
 *
 * The compose hash is SHA-256 of the file's bytes exactly as given, which
 * is what dstack's OS extends into RTMR3 (dstack-util sha256_file of
 * app-compose.json). The SDK's getComposeHash() hashes its own canonical
 * serialisation (keys sorted, compact); the two agree when the file is in
 * that form, as the files deployment tools write are (docs/SIMULATED-QUOTES.md).
 */
#include "sim/simsrv.h"

#include "teeliza/common/encoding.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMPOSE_MAX ((size_t)1 << 20)

const uint8_t simsrv_dstack_sim_app_id[20] = {0x5b, 0xb4, 0xff, 0x9a, 0x38, 0x37, 0x35, 0x7f, 0x19, 0xdc,
                                              0x17, 0x64, 0x07, 0xa5, 0x70, 0x9c, 0x62, 0xeb, 0x6c, 0x56};

/* The built-in app: canonical (keys sorted, compact), so getComposeHash() gives the same hash. */
static const char default_compose[] =
	"{\"allowed_envs\":[],\"docker_compose_file\":\"services:\\n  app:\\n    image: teeliza/simulated-app\\n"
	"    volumes:\\n      - /var/run/dstack.sock:/var/run/dstack.sock\\n\",\"gateway_enabled\":false,"
	"\"key_provider\":\"kms\",\"key_provider_id\":\"\",\"kms_enabled\":true,\"manifest_version\":2,"
	"\"name\":\"" SIMSRV_APP_NAME "\",\"no_instance_id\":false,\"public_logs\":true,\"public_sysinfo\":true,"
	"\"public_tcbinfo\":true,\"runner\":\"docker-compose\",\"secure_time\":false}";

static const char os_image_label[] = "teeliza simulated dstack OS image - not a measurement";

static teeliza_err sha256(uint8_t out[32], const void *a, size_t a_len, const void *b, size_t b_len,
                          const void *c, size_t c_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, a, a_len) == 1 &&
	         (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len) == 1) &&
	         (c_len == 0 || EVP_DigestUpdate(ctx, c, c_len) == 1) && EVP_DigestFinal_ex(ctx, out, NULL) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_CRYPTO, "SHA-256 failed");
}

/* What dstack's AppCompose deserialisation would refuse, and the few fields the simulator uses. */
static teeliza_err read_fields(simsrv_app *app, const json_t *root, const char *where)
{
	const json_t *v;
	const char *fs = "zfs";

	v = json_object_get(root, "manifest_version");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)UINT32_MAX)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"manifest_version\" must be an unsigned 32-bit integer",
		                         where);
	v = json_object_get(root, "runner");
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"runner\" must be a string", where);
	v = json_object_get(root, "name");
	if (!json_is_string(v))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"name\" must be a string", where);
	app->name = strdup(json_string_value(v));
	if (app->name == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	if (strlen(app->name) != json_string_length(v))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"name\" holds a NUL character", where);
	app->public_tcbinfo = true; /* dstack's default */
	v = json_object_get(root, "public_tcbinfo");
	if (v != NULL && !json_is_boolean(v))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"public_tcbinfo\" must be true or false", where);
	if (v != NULL)
		app->public_tcbinfo = json_is_true(v);
	v = json_object_get(root, "no_instance_id");
	if (v != NULL && !json_is_boolean(v))
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"no_instance_id\" must be true or false", where);
	app->no_instance_id = json_is_true(v);
	v = json_object_get(root, "storage_fs");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) ||
		    (strcasecmp(json_string_value(v), "zfs") != 0 && strcasecmp(json_string_value(v), "ext4") != 0))
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: \"storage_fs\" must be \"zfs\" or \"ext4\"", where);
		fs = strcasecmp(json_string_value(v), "zfs") == 0 ? "zfs" : "ext4";
	}
	snprintf(app->storage_fs, sizeof(app->storage_fs), "%s", fs);
	return TEELIZA_OK;
}

static teeliza_err load_compose(simsrv_app *app, const char *compose_file)
{
	teeliza_buf text;
	char where[300];
	json_error_t je;
	json_t *root;
	teeliza_err err;

	if (compose_file == NULL) {
		app->compose = strdup(default_compose);
		app->compose_len = sizeof(default_compose) - 1;
		snprintf(where, sizeof(where), "the built-in app-compose.json");
	} else {
		snprintf(where, sizeof(where), "app compose file %.250s", compose_file);
		err = teeliza_read_file(&text, compose_file, COMPOSE_MAX);
		if (err == TEELIZA_ERR_NOT_FOUND)
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s does not exist", where);
		if (err == TEELIZA_ERR_TOO_LARGE)
			return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s is larger than %zu bytes", where, COMPOSE_MAX);
		if (err)
			return err;
		app->compose = (char *)text.data; /* NUL-terminated; ours now */
		app->compose_len = text.len;
	}
	if (app->compose == NULL)
		return teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory");
	root = json_loadb(app->compose, app->compose_len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "%s is not valid JSON (line %d column %d: %s)", where, je.line,
		                         je.column, je.text);
	err = json_is_object(root) ? read_fields(app, root, where)
	                           : teeliza_set_error(TEELIZA_ERR_CONFIG, "%s: expected a JSON object (an app-compose.json)",
	                                               where);
	json_decref(root);
	if (err)
		return err;
	return sha256(app->compose_hash, app->compose, app->compose_len, NULL, 0, NULL, 0);
}

static teeliza_err parse_app_id(uint8_t out[20], const char *hex)
{
	size_t len = 0;

	if (teeliza_hex_decode(out, 20, &len, hex, strlen(hex), true) != TEELIZA_OK || len != 20)
		return teeliza_set_error(TEELIZA_ERR_CONFIG, "app id \"%.60s\": expected 20 bytes as 40 hex digits", hex);
	return TEELIZA_OK;
}

static teeliza_err make_strings(simsrv_app *app, const simsrv_ca *ca)
{
	char os_hex[65];
	teeliza_buf b;
	teeliza_err err;

	teeliza_hex_encode(os_hex, app->os_image_hash, sizeof(app->os_image_hash));
	teeliza_buf_init(&b, 4096);
	err = teeliza_buf_printf(&b, "{\"os_image_hash\":\"%s\",\"cpu_count\":1,\"memory_size\":2147483648}", os_hex);
	if (err)
		return err;
	app->vm_config = (char *)b.data;
	/* dstack's KeyProviderInfo {name, id}, serde_json compact; the id is the provider's root CA key */
	teeliza_buf_init(&b, 4096);
	err = teeliza_buf_append_str(&b, "{\"name\":\"kms\",\"id\":\"");
	if (!err)
		err = teeliza_hex_append(&b, ca->spki_der, ca->spki_der_len);
	if (!err)
		err = teeliza_buf_append_str(&b, "\"}");
	if (err) {
		teeliza_buf_free(&b);
		return err;
	}
	app->key_provider = (char *)b.data;
	return TEELIZA_OK;
}

teeliza_err simsrv_app_load(simsrv_app *app, const char *compose_file, const char *app_id_hex, bool sim_app_id,
                            const simsrv_ca *ca)
{
	static const char instance_label[] = "teeliza simulator instance-id:";
	uint8_t d[32];
	teeliza_err err;

	memset(app, 0, sizeof(*app));
	err = load_compose(app, compose_file);
	if (err)
		return err;
	if (app_id_hex != NULL)
		err = parse_app_id(app->app_id, app_id_hex);
	else if (sim_app_id)
		memcpy(app->app_id, simsrv_dstack_sim_app_id, sizeof(app->app_id));
	else
		memcpy(app->app_id, app->compose_hash, sizeof(app->app_id)); /* dstack's default: the truncated hash */
	if (err)
		return err;
	/* dstack: SHA-256(random seed ‖ app id)[..20]; the seed here is the CA key's, so it is stable */
	err = sha256(d, instance_label, sizeof(instance_label) - 1, ca->spki_sha256, sizeof(ca->spki_sha256),
	             app->app_id, sizeof(app->app_id));
	if (err)
		return err;
	memcpy(app->instance_id, d, sizeof(app->instance_id));
	app->instance_id_len = app->no_instance_id ? 0 : sizeof(app->instance_id);
	err = sha256(app->os_image_hash, os_image_label, sizeof(os_image_label) - 1, NULL, 0, NULL, 0);
	if (err)
		return err;
	return make_strings(app, ca);
}

void simsrv_app_free(simsrv_app *app)
{
	if (app == NULL)
		return;
	free(app->compose);
	free(app->name);
	free(app->vm_config);
	free(app->key_provider);
	memset(app, 0, sizeof(*app));
}
