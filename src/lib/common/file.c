/* Whole-file reads and atomic writes. */
#include "teeliza/common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

teeliza_err teeliza_read_file(teeliza_buf *out, const char *path, size_t max)
{
	int fd;
	uint8_t chunk[16384];
	ssize_t n;
	teeliza_err err = TEELIZA_OK;

	teeliza_buf_init(out, max);
	/* "-" is standard input: read fd 0 itself, since open("/dev/stdin") fails on sockets. */
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return teeliza_set_error(errno == ENOENT ? TEELIZA_ERR_NOT_FOUND : TEELIZA_ERR_IO,
		                         "cannot open %s: %s", path, strerror(errno));
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
		if (err) {
			teeliza_set_error(err, "%s is larger than %zu bytes", path, max);
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	/* The file may be a key: leave no copy of it on the stack. */
	TEELIZA_WIPE_BUFFER(chunk);
	if (err == TEELIZA_OK && out->data == NULL)
		err = teeliza_buf_append(out, "", 0); /* an empty file is still a valid string */
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
