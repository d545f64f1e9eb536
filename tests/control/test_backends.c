/*
 * `backends` (control/codec_backends.c, control/render_backends.c): the
 * request keeps its SERVICE filter, the reply survives a protobuf round
 * trip field for field, and renders to the text cells and JSON keys
 * operators and scripts rely on (unknown utilization is null, not 0).
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

#define NOW 1700000100000ull

static const ctl_observer_t obs_a[] = {
        {.node = "ams-1",
         .state = "down",
         .observed_at_ms = NOW - 200,
         .fresh = true,
         .error = "timeout after 300ms"},
        {.node = "fra-1",
         .state = "up",
         .observed_at_ms = NOW - 60000,
         .fresh = false,
         .rtt_us = 900,
         .error = ""},
};
static const ctl_observer_t obs_b[] = {
        {.node = "ams-1",
         .state = "up",
         .observed_at_ms = NOW - 100,
         .fresh = true,
         .rtt_us = 420,
         .error = ""},
};
static const ctl_backend_t backends[] = {
        {.service = "www.svc.example.com",
         .region = "eu-west",
         .address = "127.0.0.21",
         .port = 8080,
         .monitor = "web",
         .key = "127.0.0.21:8080/web",
         .state = "down",
         .local = "down",
         .since_ms = NOW - 12000,
         .error = "timeout after 300ms",
         .utilization = -1.0,
         .observed_at_ms = NOW - 200,
         .observers = obs_a,
         .n_observers = 2,
         .healthy = false,
         .slow_start = 1.0,
         .headroom = 0.0},
        {.service = "www.svc.example.com",
         .region = "eu-west",
         .address = "127.0.0.22",
         .port = 8080,
         .monitor = "web",
         .key = "127.0.0.22:8080/web",
         .state = "up",
         .local = "",
         .since_ms = NOW - 3000,
         .error = "",
         .rtt_us = 420,
         .utilization = 0.73,
         .capacity = 900,
         .observed_at_ms = NOW - 100,
         .observers = obs_b,
         .n_observers = 1,
         .healthy = true,
         .slow_start = 0.3,
         .headroom = 0.081},
        {.service = "api.svc.example.com",
         .region = "us-east",
         .address = "2001:db8::5",
         .port = 443,
         .monitor = "tls",
         .key = "[2001:db8::5]:443/tls",
         .state = "unknown",
         .local = "unknown",
         .error = "",
         .utilization = -1.0,
         .healthy = true,
         .drained = true,
         .slow_start = 1.0,
         .headroom = 1.0},
};

static ctl_reply_t reply(void)
{
	ctl_reply_t r = {.cmd = CTL_CMD_BACKENDS, .ok = true};
	r.backends = (ctl_backends_t){.backends = backends, .n_backends = 3, .now_ms = NOW};
	return r;
}

static void test_request(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *service;
		const char *want;
	} cases[] = {
	        {"with a service filter", "www", "www"},
	        {"without a filter", NULL, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		ctl_request_t req = {.cmd = CTL_CMD_BACKENDS, .service = cases[i].service};
		uint8_t *f = NULL;
		size_t len = 0, body = 0;
		assert_int_equal(ctl_request_frame(&req, &f, &len), 0);
		assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
		aya_arena_t *a = aya_arena_new();
		assert_non_null(a);
		ctl_request_t out;
		assert_int_equal(ctl_request_decode(f + CTL_FRAME_HDR, body, a, &out), 0);
		assert_int_equal(out.cmd, CTL_CMD_BACKENDS);
		assert_string_equal(out.service, cases[i].want);
		aya_arena_free(a);
		free(f);
	}
	ctl_cmd_t c;
	assert_int_equal(ctl_cmd_parse("backends", &c), 0);
	assert_int_equal(c, CTL_CMD_BACKENDS);
	assert_string_equal(ctl_cmd_name(CTL_CMD_BACKENDS), "backends");
}

static void test_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = reply();
	ctl_reply_t *r = roundtrip(&in);
	assert_int_equal(r->cmd, CTL_CMD_BACKENDS);
	assert_true(r->ok);
	const ctl_backends_t *b = &r->backends;
	assert_int_equal(b->n_backends, 3);
	assert_true(b->now_ms == NOW);
	for (size_t i = 0; i < 3; i++) {
		const ctl_backend_t *x = &b->backends[i], *w = &backends[i];
		print_message("backend %zu\n", i);
		assert_string_equal(x->service, w->service);
		assert_string_equal(x->region, w->region);
		assert_string_equal(x->address, w->address);
		assert_int_equal(x->port, w->port);
		assert_string_equal(x->monitor, w->monitor);
		assert_string_equal(x->key, w->key);
		assert_string_equal(x->state, w->state);
		assert_string_equal(x->local, w->local);
		assert_true(x->since_ms == w->since_ms);
		assert_string_equal(x->error, w->error);
		assert_int_equal(x->rtt_us, w->rtt_us);
		assert_float_equal(x->utilization, w->utilization, 1e-12);
		assert_int_equal(x->capacity, w->capacity);
		assert_true(x->observed_at_ms == w->observed_at_ms);
		assert_int_equal(x->healthy, w->healthy);
		assert_int_equal(x->drained, w->drained);
		assert_float_equal(x->slow_start, w->slow_start, 1e-12);
		assert_float_equal(x->headroom, w->headroom, 1e-12);
		assert_int_equal(x->n_observers, w->n_observers);
		for (size_t k = 0; k < w->n_observers; k++) {
			assert_string_equal(x->observers[k].node, w->observers[k].node);
			assert_string_equal(x->observers[k].state, w->observers[k].state);
			assert_int_equal(x->observers[k].fresh, w->observers[k].fresh);
			assert_int_equal(x->observers[k].rtt_us, w->observers[k].rtt_us);
			assert_string_equal(x->observers[k].error, w->observers[k].error);
			assert_true(x->observers[k].observed_at_ms ==
			            w->observers[k].observed_at_ms);
		}
	}
	ctl_reply_free(r);
}

static void test_text(void **state)
{
	(void)state;
	ctl_reply_t in = reply();
	char *t = text_of(&in);
	static const struct {
		const char *name;
		const char *row; /* identifies the line */
		const char *cells[4];
	} cases[] = {
	        {"header", "SERVICE", {"LOCAL", "VERDICT", "POLICY", "LAST ERROR"}},
	        {"down endpoint: excluded with its error and both observers",
	         "127.0.0.21:8080/web",
	         {"/web    down        12s", "  down     excluded", "ams-1:down,fra-1:up(stale)"}},
	        {"error cell", "127.0.0.21:8080/web", {"timeout after 300ms", NULL}},
	        {"up endpoint in slow start with load and RTT",
	         "127.0.0.22:8080/web",
	         {"slow-start 30%", "73%", "0.42ms", "3s"}},
	        {"not probed here: local -, verdict up",
	         "127.0.0.22:8080/web",
	         {"/web    -            3s", "  up       slow-start", NULL}},
	        {"never observed and drained", "[2001:db8::5]", {"unknown", "drained", NULL}},
	        {"legend", "LOCAL:", {"this node's own probe", NULL}},
	        {"legend", "VERDICT:", {"the cluster's", "the answers use it", NULL}},
	};
	char line[1024];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		line_with(t, cases[i].row, line, sizeof(line));
		for (size_t k = 0; k < 4 && cases[i].cells[k] != NULL; k++) {
			if (strstr(line, cases[i].cells[k]) == NULL) {
				fail_msg("'%s' not in line '%s'", cases[i].cells[k], line);
			}
		}
	}
	free(t);
	ctl_reply_t empty = {.cmd = CTL_CMD_BACKENDS, .ok = true};
	t = text_of(&empty);
	assert_string_equal(t, "no monitored endpoints\n");
	free(t);
}

static void test_json(void **state)
{
	(void)state;
	ctl_reply_t in = reply();
	char *s = ctl_reply_to_json(&in);
	assert_non_null(s);
	json_error_t err;
	json_t *o = json_loads(s, 0, &err);
	assert_non_null(o);
	json_t *arr = json_object_get(o, "backends");
	assert_int_equal(json_array_size(arr), 3);
	json_t *b0 = json_array_get(arr, 0), *b1 = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(b0, "state")), "down");
	assert_string_equal(json_string_value(json_object_get(b0, "local")), "down");
	assert_string_equal(json_string_value(json_object_get(b0, "verdict")), "down");
	assert_true(json_is_null(json_object_get(b1, "local")));
	assert_string_equal(json_string_value(json_object_get(b1, "verdict")), "up");
	assert_true(json_is_null(json_object_get(b0, "utilization")));
	assert_float_equal(json_real_value(json_object_get(b1, "utilization")), 0.73, 1e-9);
	assert_int_equal(json_integer_value(json_object_get(b1, "rtt_us")), 420);
	json_t *pol = json_object_get(b1, "policy");
	assert_true(json_is_true(json_object_get(pol, "healthy")));
	assert_float_equal(json_real_value(json_object_get(pol, "slow_start")), 0.3, 1e-9);
	json_t *obs = json_object_get(b0, "observers");
	assert_int_equal(json_array_size(obs), 2);
	assert_true(json_is_false(json_object_get(json_array_get(obs, 1), "fresh")));
	assert_true(json_integer_value(json_object_get(o, "now_ms")) == (json_int_t)NOW);
	json_decref(o);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request),
	        cmocka_unit_test(test_roundtrip),
	        cmocka_unit_test(test_text),
	        cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
