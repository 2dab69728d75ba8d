/*
 * The simulator's app identity and event log. Real tappd returns the CVM's
 * event log: firmware/boot events measured into RTMR0-2, then the runtime
 * events dstack extends into RTMR3 at boot (app id, compose hash, instance
 * id, ...). We return the same shape so that every client replay works; the
 * boot events are fixed (one simulated "image"), the runtime ids are derived
 * from the CA key so one simulator keeps one identity across restarts.
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

static const char app_compose[] =
	"{\"manifest_version\":1,\"name\":\"" SIMSRV_APP_NAME "\",\"runner\":\"docker-compose\","
	"\"docker_compose_file\":\"\",\"kms_enabled\":false,\"public_logs\":true,\"public_sysinfo\":true,"
	"\"simulated\":true}";

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

static teeliza_err seeded_id(uint8_t *out, size_t out_len, const char *label, const uint8_t seed[32])
{
	uint8_t d[32];
	teeliza_err err = digest(d, "SHA256", label, strlen(label), seed, 32);

	if (err == TEELIZA_OK)
		memcpy(out, d, out_len);
	return err;
}

teeliza_err simsrv_identity_build(simsrv_identity *id, const uint8_t seed[32])
{
	static const char rootfs_label[] = "teeliza simulated rootfs";
	teeliza_err err;

	memset(id, 0, sizeof(*id));
	tee_event_log_init(&id->log);
	teeliza_buf_init(&id->log_json, (size_t)1 << 20);
	id->app_compose = app_compose;
	err = seeded_id(id->app_id, sizeof(id->app_id), "teeliza simulator app-id:", seed);
	if (err == TEELIZA_OK)
		err = seeded_id(id->instance_id, sizeof(id->instance_id), "teeliza simulator instance-id:", seed);
	if (err == TEELIZA_OK)
		err = digest(id->compose_hash, "SHA256", app_compose, strlen(app_compose), NULL, 0);
	if (err == TEELIZA_OK)
		err = digest(id->rootfs_hash, "SHA256", rootfs_label, strlen(rootfs_label), NULL, 0);
	if (err == TEELIZA_OK)
		err = add_boot_events(&id->log);
	/* the order dstack's boot process extends them into RTMR3 */
	if (err == TEELIZA_OK)
		err = tee_event_log_add_runtime(&id->log, 3, SIMSRV_EVENT_TYPE_RUNTIME, "rootfs-hash", id->rootfs_hash,
		                                sizeof(id->rootfs_hash));
	if (err == TEELIZA_OK)
		err = tee_event_log_add_runtime(&id->log, 3, SIMSRV_EVENT_TYPE_RUNTIME, "app-id", id->app_id,
		                                sizeof(id->app_id));
	if (err == TEELIZA_OK)
		err = tee_event_log_add_runtime(&id->log, 3, SIMSRV_EVENT_TYPE_RUNTIME, "compose-hash", id->compose_hash,
		                                sizeof(id->compose_hash));
	if (err == TEELIZA_OK)
		err = tee_event_log_add_runtime(&id->log, 3, SIMSRV_EVENT_TYPE_RUNTIME, "instance-id", id->instance_id,
		                                sizeof(id->instance_id));
	if (err == TEELIZA_OK)
		err = tee_event_log_add_runtime(&id->log, 3, SIMSRV_EVENT_TYPE_RUNTIME, "boot-mr-done", NULL, 0);
	if (err == TEELIZA_OK)
		err = tee_event_log_to_json(&id->log_json, &id->log);
	if (err == TEELIZA_OK)
		tee_rtmr_replay(id->rtmr, &id->log);
	return err;
}

void simsrv_identity_free(simsrv_identity *id)
{
	if (id == NULL)
		return;
	tee_event_log_free(&id->log);
	teeliza_buf_free(&id->log_json);
}
