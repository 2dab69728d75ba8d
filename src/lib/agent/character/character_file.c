/*
 * Reading one character file without trusting what the path names.
 *
 * Character files (and the parents their `extends` lists) are named by the
 * operator, but a path can still lead to a FIFO, a device or a huge file:
 * opening a FIFO for reading blocks until a writer comes, reading a device
 * may never end. So the type is checked with stat() before anything is
 * opened, the open itself is O_NONBLOCK (a FIFO swapped in after the check
 * cannot block it) and the type is checked again on the descriptor. Symlinks
 * are followed: an operator may keep characters behind links.
 */
#include "teeliza/agent/character.h"
#include "agent/character/character_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static teeliza_err not_found(const char *path)
{
	return teeliza_set_error(TEELIZA_ERR_NOT_FOUND, "Character file not found: %s", path);
}

static teeliza_err check_stat(const struct stat *st, const char *path, size_t max)
{
	if (!S_ISREG(st->st_mode))
		return teeliza_set_error(TEELIZA_ERR_IO, "%s is not a regular file", path);
	if ((unsigned long long)st->st_size > (unsigned long long)max)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
	return TEELIZA_OK;
}

teeliza_err agent_character_read_file(teeliza_buf *out, agent_file_id *id, const char *path, size_t max)
{
	struct stat st;
	char chunk[16384];
	int fd;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_init(out, max);
	out->secret = true; /* a character file may hold secrets */
	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_found(path);
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
	}
	err = check_stat(&st, path, max);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return not_found(path);
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		err = teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	err = check_stat(&st, path, max);
	if (err)
		goto done;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->known = true;
	err = teeliza_buf_reserve(out, (size_t)st.st_size);
	if (err) {
		teeliza_set_error(err, "out of memory reading %s", path);
		goto done;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		/* the file may have grown since fstat */
		if (teeliza_buf_append(out, chunk, (size_t)n) != TEELIZA_OK) {
			err = teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
			break;
		}
	}
	/* Eliza's `if (!content)`: an empty file is a missing one */
	if (err == TEELIZA_OK && out->len == 0)
		err = not_found(path);
done:
	close(fd);
	TEELIZA_WIPE_BUFFER(chunk);
	if (err)
		teeliza_buf_free(out);
	return err;
}
