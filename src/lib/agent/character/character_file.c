/*
 * Reading one character file without trusting what the path names.
 *
 * Character files (and the parents their `extends` lists) are named by the
 * operator, but a path can still lead to a FIFO, a device or a huge file:
 * teeliza_read_regular_file (common/file.c) refuses those without blocking.
 * Symlinks are followed: an operator may keep characters behind links. What
 * is Eliza's here: the "not found" words, and an empty file counts as none.
 */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"

#include <string.h>
#include <sys/stat.h>

teeliza_err agent_character_read_file(teeliza_buf *out, agent_file_id *id, const char *path, size_t max)
{
	struct stat st;
	teeliza_err err;

	memset(id, 0, sizeof(*id));
	err = teeliza_read_regular_file(out, &st, path, max);
	/* Eliza's `if (!content)`: an empty file is a missing one */
	if (err == TEELIZA_OK && out->len == 0) {
		teeliza_buf_free(out);
		err = TEELIZA_ERR_NOT_FOUND;
	}
	if (err == TEELIZA_ERR_NOT_FOUND)
		return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "Character file not found: %s", path);
	if (err)
		return err;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->known = true;
	return TEELIZA_OK;
}
