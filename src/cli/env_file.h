/* Eliza's .env file, for the subcommands that read it (start, derive, quote, info). */
#ifndef TEELIZA_CLI_ENV_FILE_H
#define TEELIZA_CLI_ENV_FILE_H

#include "cli/cli.h"

/*
 * Find the nearest .env from the working directory up to / (Eliza 0.1.x's
 * findNearestEnvFile) and set each setting it holds that the environment
 * does not have yet (dotenv.config(): the process environment wins).
 * Nothing found: nothing happens, nothing is said. Out: note (initialised
 * here; free it) gets "Loaded .env from <path>: NAME, ... (already in the
 * environment, kept: NAME, ...)" - names, never values - plus a warning
 * line when the file holds secrets and others can read it, or a line saying
 * a non-regular .env (a directory, a FIFO) was not read; the caller prints
 * it. Refused, with nothing set (printed as "teeliza <cmd>: ..."): a .env
 * owned by another user than us or root, or writable by every user
 * (EXIT_CONFIG); one larger than TEELIZA_DOTENV_MAX or with a line dotenv
 * would not read as NAME=VALUE (EXIT_CONFIG); one that cannot be read
 * (EXIT_IO). Returns an exit code.
 */
int cli_load_dotenv(teeliza_buf *note, const char *cmd);

#endif
