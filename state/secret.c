/*
 * The state directory and the secrets kept in it: created on first use,
 * read as they are afterwards, so that every restart of a node (and every
 * node given the same file) uses the same secret. Used for the DNS cookie
 * secret (RFC 7873, RFC 9018) when the config sets none.
 */
#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int state_dir_create(const char *dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(buf)) {
		return n == 0 ? -EINVAL : -ENAMETOOLONG;
	}
	memcpy(buf, dir, n + 1);
	/* Parents as any directory (0755 before umask); the state directory itself 0750:
	 * its files are 0600, and the group may reach a control socket inside it. */
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0') {
			continue;
		}
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, saved == '\0' ? 0750 : 0755) != 0 && errno != EEXIST) {
			return -errno;
		}
		buf[i] = saved;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		return -errno;
	}
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

static int read_secret(const char *path, uint8_t *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	uint8_t extra;
	ssize_t n = read(fd, out, len);
	int err = errno;
	/* One byte more than asked means the file is not a secret of this size. */
	ssize_t more = n == (ssize_t)len ? read(fd, &extra, 1) : 0;
	close(fd);
	if (n < 0) {
		return -err;
	}
	return n == (ssize_t)len && more == 0 ? 0 : -EBADMSG;
}

static int create_secret(const char *path, uint8_t *out, size_t len)
{
	if (getrandom(out, len, 0) != (ssize_t)len) {
		return -EIO;
	}
	/* O_EXCL: two daemons racing on one directory never mix two secrets. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		return -errno;
	}
	ssize_t n = write(fd, out, len);
	int err = errno;
	if (close(fd) != 0 || n != (ssize_t)len) {
		unlink(path);
		return n < 0 ? -err : -EIO;
	}
	return 0;
}

int state_secret_load(const char *dir, const char *name, uint8_t *out, size_t len, bool *created)
{
	char path[PATH_MAX];
	*created = false;
	if (len == 0 || len > 256) {
		return -EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		return -ENAMETOOLONG;
	}
	int rc = read_secret(path, out, len);
	if (rc == -ENOENT) {
		rc = create_secret(path, out, len);
		*created = rc == 0;
	}
	return rc;
}
