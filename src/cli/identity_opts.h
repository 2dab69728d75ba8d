/*
 * The dstack app-identity options that `verify` and `verify-reply` share:
 * --expect-compose-hash, --expect-app-id, --expect-os-image-hash and
 * --expect-key-provider, read into a tee_identity_policy.
 */
#ifndef TEELIZA_CLI_IDENTITY_OPTS_H
#define TEELIZA_CLI_IDENTITY_OPTS_H

#include "cli/cli_opts.h"
#include "teeliza/tee/app_identity.h"

struct identity_cli {
	tee_identity_policy policy; /* points into the buffers below */
	uint8_t app_id[20], compose_hash[32], os_image_hash[32];
};

int identity_cli_compose_hash(const struct cli_command *cmd, void *field, const char *hex);
int identity_cli_app_id(const struct cli_command *cmd, void *field, const char *hex);
int identity_cli_os_image_hash(const struct cli_command *cmd, void *field, const char *hex);
int identity_cli_key_provider(const struct cli_command *cmd, void *field, const char *arg);

/* The rows, for a command's option table (T has a struct identity_cli field f). */
#define IDENTITY_CLI_ROWS(T, f)                                                                               \
	{.name = "expect-compose-hash", .kind = CLI_CALL, .offset = CLI_FIELD(T, f, struct identity_cli),         \
	 .meta = "HEX", .call = identity_cli_compose_hash, .label = "--expect-compose-hash HEX  ",                 \
	 .help = "SHA-256 of app-compose.json (`teeliza compose-hash`)"},                                       \
	{.name = "expect-app-id", .kind = CLI_CALL, .offset = CLI_FIELD(T, f, struct identity_cli),               \
	 .meta = "HEX", .call = identity_cli_app_id, .help = "the app id (20 bytes)"},                           \
	{.name = "expect-os-image-hash", .kind = CLI_CALL, .offset = CLI_FIELD(T, f, struct identity_cli),        \
	 .meta = "HEX", .call = identity_cli_os_image_hash, .label = "--expect-os-image-hash HEX ",                \
	 .help = "the OS image hash (32 bytes)"},                                                               \
	{.name = "expect-key-provider", .kind = CLI_CALL, .offset = CLI_FIELD(T, f, struct identity_cli),        \
	 .meta = "ID", .call = identity_cli_key_provider, .label = "--expect-key-provider ID   ",                 \
	 .help = "the key provider's id (hex; a KMS's root public key),\n"                                      \
	         "or its whole payload, JSON text starting with '{'"}

#endif
