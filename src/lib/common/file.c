/* Whole-file reads and atomic writes. */
#include "teeliza/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Everything fd has left, appended to out (whose max is the cap). The chunk on
 * the stack is wiped: the file may be a key.
 */
static teeliza_err read_all(teeliza_buf *out, int fd, const char *path)
{
	uint8_t chunk[16384];
	teeliza_err err = TEELIZA_OK;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		err = teeliza_buf_append(out, chunk, (size_t)n);
		if (err == TEELIZA_ERR_TOO_LARGE) {
			teeliza_set_error(err, "%s is larger than %zu bytes", path, out->max);
			break;
		}
		if (err) {
			teeliza_set_error(err, "out of memory reading %s", path);
			break;
		}
	}
	TEELIZA_WIPE_BUFFER(chunk);
	if (err == TEELIZA_OK)
		err = teeliza_buf_append(out, "", 0); /* NUL-terminated, and an empty file is still a valid string */
	return err;
}

teeliza_err teeliza_read_file(teeliza_buf *out, const char *path, size_t max)
{
	int fd;
	teeliza_err err;

	teeliza_buf_init(out, max);
	/* "-" is standard input: read fd 0 itself, since open("/dev/stdin") fails on sockets. */
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return teeliza_set_error(errno == ENOENT ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_IO,
		                         "cannot open %s: %s", path, strerror(errno));
	err = read_all(out, fd, path);
	if (fd != STDIN_FILENO)
		close(fd);
	if (err)
		teeliza_buf_free(out);
	return err;
}

/* A regular file of at most max bytes, or an error saying what it is instead. */
static teeliza_err check_regular(const struct stat *st, const char *path, size_t max)
{
	if (!S_ISREG(st->st_mode))
		return teeliza_set_error(TEELIZA_ERR_IO, "%s is not a regular file", path);
	if ((unsigned long long)st->st_size > (unsigned long long)max)
		return teeliza_set_error(TEELIZA_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
	return TEELIZA_OK;
}

static teeliza_err open_error(const char *path)
{
	return teeliza_set_error(errno == ENOENT || errno == ENOTDIR ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_IO,
	                         "cannot read %s: %s", path, strerror(errno));
}

/*
 * The type is checked with stat() before anything is opened (a device is never
 * opened), the open is O_NONBLOCK (a FIFO swapped in after the check cannot
 * block it) and O_NOCTTY (nor a terminal become ours), and the type and size
 * are checked again on the descriptor: what is read is what was checked.
 */
teeliza_err teeliza_read_regular_file(teeliza_buf *out, struct stat *st, const char *path, size_t max)
{
	struct stat mine;
	teeliza_err err;
	int fd;

	if (st == NULL)
		st = &mine;
	teeliza_buf_init(out, max);
	out->secret = true;
	if (stat(path, st) != 0)
		return open_error(path);
	err = check_regular(st, path, max);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return open_error(path);
	if (fstat(fd, st) != 0)
		err = teeliza_set_error(TEELIZA_ERR_IO, "cannot read %s: %s", path, strerror(errno));
	if (!err)
		err = check_regular(st, path, max);
	if (!err && teeliza_buf_reserve(out, (size_t)st->st_size) != TEELIZA_OK)
		err = teeliza_set_error(TEELIZA_ERR_NOMEM, "out of memory reading %s", path);
	if (!err)
		err = read_all(out, fd, path); /* the cap holds even if the file grew since fstat */
	close(fd);
	if (err)
		teeliza_buf_free(out);
	return err;
}

teeliza_err teeliza_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[4096];
	int fd, n;
	const uint8_t *p = data;
	size_t off = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return teeliza_set_error(TEELIZA_ERR_INVALID, "path too long: %s", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return TEELIZA_OK;
fail:
	{
		int e = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return teeliza_set_error(TEELIZA_ERR_IO, "cannot write %s: %s", path, strerror(e));
	}
}
