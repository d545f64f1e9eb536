/*
 * Control protocol codec: frame boundaries, partial reads, oversized frames,
 * garbage, and the reply round trip through protobuf.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

static const struct frame_case {
	const char *name;
	uint8_t bytes[8];
	size_t len;
	size_t max;
	int rc;
	size_t body_len;
} frame_cases[] = {
        {"empty buffer", {0}, 0, 100, 0, 0},
        {"partial header", {0, 0, 0}, 3, 100, 0, 0},
        {"empty body", {0, 0, 0, 0}, 4, 100, 1, 0},
        {"body incomplete", {0, 0, 0, 3, 'a', 'b'}, 6, 100, 0, 3},
        {"body complete", {0, 0, 0, 3, 'a', 'b', 'c'}, 7, 100, 1, 3},
        {"trailing bytes", {0, 0, 0, 2, 'a', 'b', 'c', 'd'}, 8, 100, 1, 2},
        {"at the limit", {0, 0, 0, 100}, 4, 100, 0, 100},
        {"over the limit", {0, 0, 0, 101}, 4, 100, -EMSGSIZE, 0},
        {"huge length", {0xff, 0xff, 0xff, 0xff}, 4, CTL_FRAME_MAX, -EMSGSIZE, 0},
        {"big-endian order", {0, 1, 0, 0}, 4, CTL_FRAME_MAX, 0, 65536},
};

static void test_frame_check(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *c = &frame_cases[i];
		size_t body = 0;
		int rc = ctl_frame_check(c->bytes, c->len, c->max, &body);
		if (rc != c->rc || (rc >= 0 && c->len >= 4 && body != c->body_len)) {
			fail_msg("%s: rc %d body %zu, want rc %d body %zu", c->name, rc, body,
			         c->rc, c->body_len);
		}
	}
}

static void test_frame_header(void **state)
{
	(void)state;
	uint8_t hdr[4];
	ctl_frame_header(hdr, 0x01020304);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[1], 2);
	assert_int_equal(hdr[2], 3);
	assert_int_equal(hdr[3], 4);
}

/* ---- partial reads over a socketpair, with a writer thread ---- */

typedef struct writer {
	int fd;
	const uint8_t *buf;
	size_t len;
	size_t chunk;   /* bytes per write */
	bool close_end; /* shut down after writing */
} writer_t;

static void *write_chunks(void *arg)
{
	writer_t *w = arg;
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 2 * 1000 * 1000};
	for (size_t off = 0; off < w->len; off += w->chunk) {
		size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
		if (write(w->fd, w->buf + off, n) != (ssize_t)n) {
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (w->close_end) {
		shutdown(w->fd, SHUT_WR);
	}
	return NULL;
}

static const struct read_case {
	const char *name;
	const char *wire; /* frame bytes */
	size_t len;
	size_t chunk;
	bool close_end;
	int rc;
	const char *body;
} read_cases[] = {
        {"whole frame", "\0\0\0\5hello", 9, 9, false, 0, "hello"},
        {"one byte at a time", "\0\0\0\5hello", 9, 1, false, 0, "hello"},
        {"split header", "\0\0\0\5hello", 9, 3, false, 0, "hello"},
        {"empty body", "\0\0\0\0", 4, 2, false, 0, ""},
        {"eof in header", "\0\0", 2, 1, true, -ECONNRESET, NULL},
        {"eof in body", "\0\0\0\5hel", 7, 2, true, -ECONNRESET, NULL},
        {"oversized", "\0\x20\0\0xxxx", 8, 8, false, -EMSGSIZE, NULL},
        {"stalled peer", "\0\0\0\5he", 6, 6, false, -ETIMEDOUT, NULL},
};

static void test_frame_read(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]); i++) {
		const struct read_case *c = &read_cases[i];
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		writer_t w = {sv[1], (const uint8_t *)c->wire, c->len, c->chunk, c->close_end};
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, write_chunks, &w), 0);
		uint8_t *body = NULL;
		size_t len = 0;
		int rc = ctl_frame_read(sv[0], 1024 * 1024, 300, &body, &len);
		pthread_join(t, NULL);
		if (rc != c->rc) {
			fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
		}
		if (c->body != NULL &&
		    (len != strlen(c->body) || memcmp(body, c->body, len) != 0)) {
			fail_msg("%s: wrong body", c->name);
		}
		if (c->body == NULL && body != NULL) {
			fail_msg("%s: body returned on error", c->name);
		}
		free(body);
		close(sv[0]);
		close(sv[1]);
	}
}

/* ---- requests ---- */

static const struct req_case {
	const char *name;
	ctl_request_t req;
} req_cases[] = {
        {"status", {.cmd = CTL_CMD_STATUS}},
        {"reload", {.cmd = CTL_CMD_RELOAD}},
        {"services", {.cmd = CTL_CMD_SERVICES}},
        {"drain service", {.cmd = CTL_CMD_DRAIN, .service = "www.svc.example.com"}},
        {"drain region", {.cmd = CTL_CMD_DRAIN, .service = "www", .target = "eu-west"}},
        {"drain with reason and end",
         {.cmd = CTL_CMD_DRAIN, .service = "www", .reason = "kernel upgrade", .for_s = 7200}},
        {"undrain address",
         {.cmd = CTL_CMD_UNDRAIN, .service = "www.svc.example.com", .target = "2001:db8::10"}},
        {"explain plain", {.cmd = CTL_CMD_EXPLAIN, .name = "www.x", .client = "8.8.8.8"}},
        {"explain ecs aaaa",
         {.cmd = CTL_CMD_EXPLAIN,
          .name = "www.x",
          .client = "2a00:1450::1",
          .has_subnet = true,
          .subnet = 48,
          .qtype = 28}},
};

static void assert_str_or_empty(const char *name, const char *want, const char *got)
{
	if (strcmp(want != NULL ? want : "", got != NULL ? got : "") != 0) {
		fail_msg("%s: '%s', want '%s'", name, got, want);
	}
}

static void test_request_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(req_cases) / sizeof(req_cases[0]); i++) {
		const struct req_case *c = &req_cases[i];
		uint8_t *f = NULL;
		size_t len = 0;
		assert_int_equal(ctl_request_frame(&c->req, &f, &len), 0);
		size_t body = 0;
		assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
		assert_int_equal(body + CTL_FRAME_HDR, len);
		aya_arena_t *a = aya_arena_new();
		assert_non_null(a);
		ctl_request_t got;
		assert_int_equal(ctl_request_decode(f + CTL_FRAME_HDR, body, a, &got), 0);
		if (got.cmd != c->req.cmd) {
			fail_msg("%s: cmd %d, want %d", c->name, got.cmd, c->req.cmd);
		}
		if (c->req.cmd == CTL_CMD_DRAIN || c->req.cmd == CTL_CMD_UNDRAIN) {
			assert_str_or_empty(c->name, c->req.service, got.service);
			assert_str_or_empty(c->name, c->req.target, got.target);
			assert_str_or_empty(c->name, c->req.reason, got.reason);
			assert_true(got.for_s == c->req.for_s);
		}
		if (c->req.cmd == CTL_CMD_EXPLAIN) {
			assert_str_or_empty(c->name, c->req.name, got.name);
			assert_str_or_empty(c->name, c->req.client, got.client);
			assert_int_equal(got.has_subnet, c->req.has_subnet);
			assert_int_equal(got.subnet, c->req.subnet);
			assert_int_equal(got.qtype, c->req.qtype);
		}
		aya_arena_free(a);
		free(f);
	}
	for (int cmd = 0; cmd < CTL_CMD_COUNT; cmd++) {
		ctl_cmd_t parsed;
		assert_int_equal(ctl_cmd_parse(ctl_cmd_name((ctl_cmd_t)cmd), &parsed), 0);
		assert_int_equal(parsed, cmd);
	}
	ctl_request_t bad = {.cmd = CTL_CMD_COUNT};
	uint8_t *f = NULL;
	size_t len = 0;
	assert_int_equal(ctl_request_frame(&bad, &f, &len), -EINVAL);
}

/* drain --for: units, runs of them, and what is refused. */
static void test_duration_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rc;
		uint64_t s;
	} cases[] = {
	        {"90", 0, 90},       {"90s", 0, 90},
	        {"15m", 0, 900},     {"2h", 0, 7200},
	        {"1d", 0, 86400},    {"1h30m", 0, 5400},
	        {"", -EINVAL, 0},    {"0", -EINVAL, 0},
	        {"2x", -EINVAL, 0},  {"h", -EINVAL, 0},
	        {"-5m", -EINVAL, 0}, {"1.5h", -EINVAL, 0},
	        {"2h ", -EINVAL, 0}, {"99999999999d", -ERANGE, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t s = 0;
		int rc = ctl_duration_parse(cases[i].in, &s);
		if (rc != cases[i].rc || (rc == 0 && s != cases[i].s)) {
			fail_msg("'%s': rc %d s %llu, want %d %llu", cases[i].in, rc,
			         (unsigned long long)s, cases[i].rc,
			         (unsigned long long)cases[i].s);
		}
	}
}

static const struct bad_case {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	int rc;
} bad_requests[] = {
        {"no command", (const uint8_t *)"", 0, -ENOTSUP},
        {"version only", (const uint8_t *)"\x08\x01", 2, -ENOTSUP},
        {"unknown command field", (const uint8_t *)"\x08\x01\xba\x3e\x00", 5,
         -ENOTSUP}, /* field 999 */
        {"truncated varint", (const uint8_t *)"\x08\xff", 2, -EBADMSG},
        {"bad wire type", (const uint8_t *)"\x0f\x01", 2, -EBADMSG},
        {"length past end", (const uint8_t *)"\x52\x10\x00", 3, -EBADMSG},
        {"text garbage", (const uint8_t *)"GET / HTTP/1.0\r\n", 16, -EBADMSG},
};

static void test_request_garbage(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
		const struct bad_case *c = &bad_requests[i];
		aya_arena_t *a = aya_arena_new();
		assert_non_null(a);
		ctl_request_t req;
		int rc = ctl_request_decode(c->bytes, c->len, a, &req);
		aya_arena_free(a);
		if (rc != c->rc) {
			fail_msg("%s: rc %d, want %d", c->name, rc, c->rc);
		}
	}
	ctl_cmd_t cmd;
	assert_int_equal(ctl_cmd_parse("explode", &cmd), -EINVAL);
}

/* ---- replies ---- */

static const ctl_zone_t zones[] = {
        {"svc.example.com", 2024010101, 42},
        {"example.net", 7, 3},
};
static const ctl_counter_t counters[] = {{"noerror", 10}, {"nxdomain", 2}};
static const char *const listen_addrs[] = {"127.0.0.1:5300", "[::1]:5300"};

static ctl_reply_t status_reply(void)
{
	ctl_reply_t r = {.cmd = CTL_CMD_STATUS, .ok = true};
	r.status = (ctl_status_t){
	        .node = "fra-1",
	        .region = "eu-central",
	        .version = "0.1.0",
	        .uptime_s = 3723,
	        .zones = zones,
	        .n_zones = 2,
	        .queries = 12,
	        .counters = counters,
	        .n_counters = 2,
	        .workers = 4,
	        .listen = listen_addrs,
	        .n_listen = 2,
	        .last_reload_time = 1700000000,
	        .last_reload_ok = true,
	        .last_reload_message = "2 zone(s)",
	        .snapshot_bytes = 4096,
	        .services = 3,
	        .drains = 1,
	        .geo_database = "/geo/db.mmdb",
	        .geo_build_ms = 51.5,
	        .geo_nodes = 1000,
	        .geo_mmdb_nodes = 2000,
	        .policy_bytes = 1232,
	};
	return r;
}

static void test_status_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = status_reply();
	ctl_reply_t *r = roundtrip(&in);
	assert_int_equal(r->cmd, CTL_CMD_STATUS);
	assert_true(r->ok);
	assert_int_equal(r->version, CTL_VERSION);
	assert_string_equal(r->status.node, "fra-1");
	assert_string_equal(r->status.region, "eu-central");
	assert_int_equal(r->status.uptime_s, 3723);
	assert_int_equal(r->status.n_zones, 2);
	assert_string_equal(r->status.zones[1].name, "example.net");
	assert_int_equal(r->status.zones[0].serial, 2024010101);
	assert_int_equal(r->status.zones[0].records, 42);
	assert_int_equal(r->status.n_counters, 2);
	assert_string_equal(r->status.counters[1].name, "nxdomain");
	assert_int_equal(r->status.counters[1].value, 2);
	assert_int_equal(r->status.n_listen, 2);
	assert_string_equal(r->status.listen[1], "[::1]:5300");
	assert_int_equal(r->status.workers, 4);
	assert_true(r->status.last_reload_ok);
	assert_int_equal(r->status.snapshot_bytes, 4096);
	assert_int_equal(r->status.services, 3);
	assert_int_equal(r->status.drains, 1);
	assert_string_equal(r->status.geo_database, "/geo/db.mmdb");
	assert_true(r->status.geo_build_ms == 51.5);
	assert_int_equal(r->status.geo_nodes, 1000);
	assert_int_equal(r->status.geo_mmdb_nodes, 2000);
	assert_int_equal(r->status.policy_bytes, 1232);
	ctl_reply_free(r);
}

static void test_error_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = {.cmd = CTL_CMD_RELOAD,
	                  .ok = false,
	                  .error = "a.yaml:3:5: error: bad\nz.zone:9:1: error: worse\n"};
	ctl_reply_t *r = roundtrip(&in);
	assert_false(r->ok);
	assert_int_equal(r->cmd, CTL_CMD_RELOAD);
	assert_string_equal(r->error, in.error);
	ctl_reply_free(r);
	ctl_reply_t *bad = NULL;
	assert_int_equal(ctl_reply_decode((const uint8_t *)"\xff\xff", 2, &bad), -EBADMSG);
	assert_null(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_frame_check),      cmocka_unit_test(test_frame_header),
	        cmocka_unit_test(test_frame_read),       cmocka_unit_test(test_request_roundtrip),
	        cmocka_unit_test(test_duration_parse),   cmocka_unit_test(test_request_garbage),
	        cmocka_unit_test(test_status_roundtrip), cmocka_unit_test(test_error_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
