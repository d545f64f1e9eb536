/*
 * Control client: blocking I/O on a unix socket, every step bounded by
 * poll() with a timeout. Used by ayactl and the tests.
 */
#include "control/control.h"
#include "common/time.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int64_t now_ms(void)
{
	return (int64_t)aya_mono_ms();
}

/* Wait for `events` on fd until the deadline; 0 or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			return -ETIMEDOUT;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)left);
		if (rc > 0) {
			return 0;
		}
		if (rc < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

int ctl_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t done = 0;
	while (done < len) {
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0) {
			return rc;
		}
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes; -ECONNRESET on EOF before that. */
static int read_full(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	while (done < len) {
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0) {
			return rc;
		}
		ssize_t n = recv(fd, buf + done, len - done, MSG_DONTWAIT);
		if (n == 0) {
			return -ECONNRESET;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int ctl_frame_read(int fd, size_t max, int timeout_ms, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int64_t deadline = now_ms() + timeout_ms;
	uint8_t hdr[CTL_FRAME_HDR];
	int rc = read_full(fd, hdr, sizeof(hdr), deadline);
	if (rc < 0) {
		return rc;
	}
	size_t n = 0;
	rc = ctl_frame_check(hdr, sizeof(hdr), max, &n);
	if (rc < 0) {
		return rc;
	}
	/* One spare byte so an empty body still gets a valid pointer. */
	uint8_t *body = malloc(n + 1);
	if (body == NULL) {
		return -ENOMEM;
	}
	rc = read_full(fd, body, n, deadline);
	if (rc < 0) {
		free(body);
		return rc;
	}
	*out = body;
	*len = n;
	return 0;
}

int ctl_call(int fd, const ctl_request_t *r, int timeout_ms, ctl_reply_t **out)
{
	*out = NULL;
	uint8_t *req = NULL;
	size_t req_len = 0;
	int rc = ctl_request_frame(r, &req, &req_len);
	if (rc < 0) {
		return rc;
	}
	rc = ctl_write_all(fd, req, req_len, timeout_ms);
	free(req);
	if (rc < 0) {
		return rc;
	}
	uint8_t *body = NULL;
	size_t len = 0;
	rc = ctl_frame_read(fd, CTL_FRAME_MAX, timeout_ms, &body, &len);
	if (rc < 0) {
		return rc;
	}
	rc = ctl_reply_decode(body, len, out);
	free(body);
	return rc;
}
