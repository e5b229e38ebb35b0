/*
 * secret.c - see secret.h.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

int secret_read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	ssize_t r;
	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	char extra;
	bool too_long = n == cap && read(fd, &extra, 1) == 1;
	close(fd);
	if (too_long) {
		memset(buf, 0, cap);
		return -E2BIG;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*len = n;
	return 0;
}
