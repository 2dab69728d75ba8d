/* The --expect-* app-identity options of verify and verify-reply (identity_opts.h). */
#include "cli/identity_opts.h"

#include "teeliza/common/encoding.h"

#include <string.h>

static int take_hex(const struct cli_command *cmd, uint8_t *out, size_t n, const char *text, const char *opt)
{
	size_t got = 0;

	if (teeliza_hex_decode(out, n, &got, text, strlen(text), true) != TEELIZA_OK || got != n)
		return cli_usage_message(cmd, "%s needs exactly %zu bytes of hex", opt, n);
	return EXIT_OK;
}

int identity_cli_compose_hash(const struct cli_command *cmd, void *field, const char *hex)
{
	struct identity_cli *c = field;

	c->policy.expect_compose_hash = c->compose_hash;
	return take_hex(cmd, c->compose_hash, sizeof(c->compose_hash), hex, "--expect-compose-hash");
}

int identity_cli_app_id(const struct cli_command *cmd, void *field, const char *hex)
{
	struct identity_cli *c = field;

	c->policy.expect_app_id = c->app_id;
	return take_hex(cmd, c->app_id, sizeof(c->app_id), hex, "--expect-app-id");
}

int identity_cli_os_image_hash(const struct cli_command *cmd, void *field, const char *hex)
{
	struct identity_cli *c = field;

	c->policy.expect_os_image_hash = c->os_image_hash;
	return take_hex(cmd, c->os_image_hash, sizeof(c->os_image_hash), hex, "--expect-os-image-hash");
}

/* Either the payload's JSON text (starts with '{') or the hex of its "id": any whole number of bytes. */
int identity_cli_key_provider(const struct cli_command *cmd, void *field, const char *arg)
{
	struct identity_cli *c = field;
	const char *hex = arg;
	size_t i;

	if (arg[0] != '{') {
		if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
			hex += 2;
		for (i = 0; hex[i] != '\0'; i++)
			if (teeliza_hex_nibble(hex[i]) < 0)
				break;
		if (i == 0 || hex[i] != '\0' || i % 2 != 0)
			return cli_usage_message(cmd, "--expect-key-provider needs the key provider's id as hex, or its whole "
			                              "payload as JSON text (starting with '{')");
	}
	c->policy.expect_key_provider = arg;
	return EXIT_OK;
}
