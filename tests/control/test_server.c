/*
 * Control server on a libevent base, driven by a client thread: a normal
 * call, an undecodable request, an unsupported command, an oversized frame,
 * a frame sent one byte at a time, the socket file's mode and removal.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/control.h"

static const ctl_zone_t zone = {"example.com", 5, 9};

static void on_status(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *scratch)
{
	assert_int_equal(req->cmd, CTL_CMD_STATUS);
	atomic_int *calls = arg;
	atomic_fetch_add(calls, 1);
	r->status.node = aya_arena_strdup(scratch, "node-a");
	r->status.region = "r1";
	r->status.version = "t";
	r->status.zones = &zone;
	r->status.n_zones = 1;
	r->status.last_reload_message = "";
}

typedef struct client_result {
	char sock[128];
	atomic_bool done;
	int status_rc;
	char node[32];
	size_t n_zones;
	int garbage_rc;
	bool garbage_ok;
	char garbage_err[64];
	int unsupported_rc;
	char unsupported_err[64];
	int oversized_rc;
	int slow_rc;
} client_result_t;

/* Send raw bytes, read one reply frame. */
static int raw_call(const char *sock, const uint8_t *buf, size_t len, size_t chunk,
                    ctl_reply_t **out)
{
	*out = NULL;
	int fd = ctl_connect(sock);
	if (fd < 0) {
		return fd;
	}
	int rc = 0;
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000 * 1000};
	for (size_t off = 0; rc == 0 && off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		rc = ctl_write_all(fd, buf + off, n, 1000);
		nanosleep(&pause, NULL);
	}
	uint8_t *body = NULL;
	size_t blen = 0;
	if (rc == 0) {
		rc = ctl_frame_read(fd, CTL_FRAME_MAX, 2000, &body, &blen);
	}
	if (rc == 0) {
		rc = ctl_reply_decode(body, blen, out);
	}
	free(body);
	close(fd);
	return rc;
}

static const ctl_request_t status_req = {.cmd = CTL_CMD_STATUS};
static const ctl_request_t reload_req = {.cmd = CTL_CMD_RELOAD};

static void *client(void *arg)
{
	client_result_t *res = arg;
	ctl_reply_t *r = NULL;

	int fd = ctl_connect(res->sock);
	res->status_rc = fd < 0 ? fd : ctl_call(fd, &status_req, 2000, &r);
	if (r != NULL) {
		snprintf(res->node, sizeof(res->node), "%s", r->status.node);
		res->n_zones = r->status.n_zones;
		ctl_reply_free(r);
	}
	if (fd >= 0) {
		close(fd);
	}

	/* A frame whose body is not a Request. */
	res->garbage_rc = raw_call(res->sock, (const uint8_t *)"\0\0\0\2\x0f\x01", 6, 6, &r);
	if (r != NULL) {
		res->garbage_ok = r->ok;
		snprintf(res->garbage_err, sizeof(res->garbage_err), "%s", r->error);
		ctl_reply_free(r);
	}

	/* reload has no handler in this test. */
	uint8_t *f = NULL;
	size_t flen = 0;
	if (ctl_request_frame(&reload_req, &f, &flen) == 0) {
		res->unsupported_rc = raw_call(res->sock, f, flen, flen, &r);
		if (r != NULL) {
			snprintf(res->unsupported_err, sizeof(res->unsupported_err), "%s",
			         r->error);
			ctl_reply_free(r);
		}
		free(f);
	}

	/* Announcing 16 MiB: the server hangs up without a reply. */
	res->oversized_rc = raw_call(res->sock, (const uint8_t *)"\x01\0\0\0abcd", 8, 8, &r);
	ctl_reply_free(r);

	/* A valid status request trickling in one byte at a time. */
	if (ctl_request_frame(&status_req, &f, &flen) == 0) {
		res->slow_rc = raw_call(res->sock, f, flen, 1, &r);
		ctl_reply_free(r);
		free(f);
	}
	atomic_store(&res->done, true);
	return NULL;
}

typedef struct tick {
	struct event_base *base;
	client_result_t *res;
	int left; /* bound: ticks before giving up */
} tick_t;

static void on_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tick_t *t = arg;
	if (atomic_load(&t->res->done) || --t->left <= 0) {
		event_base_loopbreak(t->base);
	}
}

static void test_server(void **state)
{
	(void)state;
	char dir[] = "/tmp/aya-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	client_result_t res = {0};
	snprintf(res.sock, sizeof(res.sock), "%s/ctl.sock", dir);
	/* A stale socket file from a dead server must be replaced. */
	{
		char cmd[256];
		snprintf(cmd, sizeof(cmd),
		         "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); "
		         "s.bind(\"%s\")'",
		         res.sock);
		assert_int_equal(system(cmd), 0);
	}
	struct event_base *base = event_base_new();
	atomic_int calls = 0;
	const ctl_handler_fn handlers[CTL_CMD_COUNT] = {[CTL_CMD_STATUS] = on_status};
	ctl_server_t *srv = NULL;
	assert_int_equal(ctl_server_new(base, res.sock, handlers, &calls, &srv), 0);
	struct stat st;
	assert_int_equal(stat(res.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second server on the same path must refuse: one is alive. */
	ctl_server_t *dup = NULL;
	assert_int_equal(ctl_server_new(base, res.sock, handlers, &calls, &dup), -EADDRINUSE);

	tick_t t = {base, &res, 1000};
	struct event *ev = event_new(base, -1, EV_PERSIST, on_check, &t);
	struct timeval ten_ms = {0, 10000};
	event_add(ev, &ten_ms);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, client, &res), 0);
	event_base_dispatch(base);
	pthread_join(th, NULL);

	assert_true(atomic_load(&res.done));
	assert_int_equal(res.status_rc, 0);
	assert_string_equal(res.node, "node-a");
	assert_int_equal(res.n_zones, 1);
	assert_int_equal(res.garbage_rc, 0);
	assert_false(res.garbage_ok);
	assert_string_equal(res.garbage_err, "malformed request");
	assert_int_equal(res.unsupported_rc, 0);
	assert_string_equal(res.unsupported_err, "unsupported command");
	assert_int_equal(res.oversized_rc, -ECONNRESET);
	assert_int_equal(res.slow_rc, 0);
	assert_int_equal(atomic_load(&calls), 2);

	event_free(ev);
	ctl_server_free(srv);
	assert_int_equal(access(res.sock, F_OK), -1);
	event_base_free(base);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
