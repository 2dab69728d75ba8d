/*
 * The simulator's boot event log. A dstack CVM's log holds the
 * firmware/boot events measured into RTMR0-2, then the runtime events the OS
 * extends into RTMR3 while it sets the app up (app id, compose hash,
 * instance id, ...). We return the same shape so that every client replay
 * works; the boot events are fixed (one simulated "image"), the runtime
 * events carry the simulated app's values (simsrv_app.c).
 */
#include "sim/simsrv.h"

#include <openssl/evp.h>
#include <string.h>

/* TCG PC Client event types used by TDVF and the Linux boot path. */
#define EV_SEPARATOR 0x00000004u
#define EV_EVENT_TAG 0x00000006u
#define EV_EFI_VARIABLE_DRIVER_CONFIG 0x80000001u
#define EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003u
#define EV_EFI_ACTION 0x80000007u
#define EV_EFI_PLATFORM_FIRMWARE_BLOB2 0x8000000au
#define EV_EFI_HANDOFF_TABLES2 0x8000000bu

struct boot_event {
	uint32_t imr;
	uint32_t type;
	const char *payload; /* measured text; NULL = the 4-byte zero separator */
};

/* Each digest is SHA-384 of the payload, as a measurement of that payload. */
static const struct boot_event boot_events[] = {
	{0, EV_EFI_PLATFORM_FIRMWARE_BLOB2, "teeliza simulated TDVF firmware volume"},
	{0, EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot=0 (simulated)"},
	{0, EV_EFI_VARIABLE_DRIVER_CONFIG, "PK (simulated, empty)"},
	{0, EV_EFI_VARIABLE_DRIVER_CONFIG, "KEK (simulated, empty)"},
	{0, EV_EFI_VARIABLE_DRIVER_CONFIG, "db (simulated, empty)"},
	{0, EV_EFI_VARIABLE_DRIVER_CONFIG, "dbx (simulated, empty)"},
	{0, EV_SEPARATOR, NULL},
	{0, EV_EFI_HANDOFF_TABLES2, "ACPI tables (simulated)"},
	{1, EV_EFI_ACTION, "Calling EFI Application from Boot Option"},
	{1, EV_SEPARATOR, NULL},
	{1, EV_EFI_BOOT_SERVICES_APPLICATION, "teeliza simulated Linux kernel"},
	{1, EV_EFI_ACTION, "Exit Boot Services Invocation"},
	{1, EV_EFI_ACTION, "Exit Boot Services Returned with Success"},
	{2, EV_EVENT_TAG, "teeliza simulated kernel command line: console=ttyS0 dstack.simulated=1"},
	{2, EV_EVENT_TAG, "teeliza simulated initrd"},
};

static teeliza_err digest(uint8_t *out, const char *md, const void *a, size_t a_len, const void *b, size_t b_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_get_digestbyname(md), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, a_len) == 1 && (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len) == 1) &&
	     EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? TEELIZA_OK : teeliza_set_error(TEELIZA_ERR_CRYPTO, "%s failed", md);
}

static teeliza_err add_boot_events(tee_event_log *log)
{
	static const uint8_t separator[4] = {0, 0, 0, 0};
	uint8_t d[48];
	size_t i;
	teeliza_err err;

	for (i = 0; i < sizeof(boot_events) / sizeof(boot_events[0]); i++) {
		const struct boot_event *e = &boot_events[i];
		const uint8_t *payload = e->payload != NULL ? (const uint8_t *)e->payload : separator;
		size_t len = e->payload != NULL ? strlen(e->payload) : sizeof(separator);

		err = digest(d, "SHA384", payload, len, NULL, 0);
		if (err == TEELIZA_OK)
			err = tee_event_log_add(log, e->imr, e->type, d, sizeof(d), "", payload, len);
		if (err)
			return err;
	}
	return TEELIZA_OK;
}

teeliza_err simsrv_boot_log(tee_event_log *log, const simsrv_app *app)
{
	/* dstack-util's system setup emits these, in this order, before the app starts */
	const struct {
		const char *name;
		const void *payload;
		size_t len;
	} runtime[] = {
		{"system-preparing", NULL, 0},
		{"app-id", app->app_id, sizeof(app->app_id)},
		{"compose-hash", app->compose_hash, sizeof(app->compose_hash)},
		{"instance-id", app->instance_id, app->instance_id_len},
		{"boot-mr-done", NULL, 0},
		{"os-image-hash", app->os_image_hash, sizeof(app->os_image_hash)},
		{"key-provider", app->key_provider, strlen(app->key_provider)},
		{"storage-fs", app->storage_fs, strlen(app->storage_fs)},
		{"system-ready", NULL, 0},
	};
	size_t i;
	teeliza_err err;

	err = add_boot_events(log);
	for (i = 0; err == TEELIZA_OK && i < sizeof(runtime) / sizeof(runtime[0]); i++)
		err = tee_event_log_add_runtime(log, 3, SIMSRV_EVENT_TYPE_RUNTIME, runtime[i].name, runtime[i].payload,
		                                runtime[i].len);
	return err;
}
