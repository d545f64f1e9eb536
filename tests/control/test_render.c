/*
 * Rendering of control replies: JSON keys and values (parsed back with
 * jansson) and the aligned text layout.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

static const ctl_zone_t zones[] = {
        {"svc.example.com", 2024010101, 42},
        {"a.example", 7, 3},
};
static const ctl_counter_t counters[] = {{"noerror", 10}, {"send_errors", 0}};
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
	        .last_reload_time = 0,
	        .last_reload_ok = false,
	        .last_reload_message = "",
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

static const struct json_int_case {
	const char *path; /* "key" or "key/index/key" */
	json_int_t want;
} status_ints[] = {
        {"uptime_s", 3723},
        {"workers", 4},
        {"queries", 12},
        {"snapshot_bytes", 4096},
        {"zones/0/serial", 2024010101},
        {"zones/0/records", 42},
        {"zones/1/serial", 7},
        {"counters/noerror", 10},
        {"counters/send_errors", 0},
        {"services", 3},
        {"drains", 1},
        {"policy_bytes", 1232},
        {"geo/nodes", 1000},
        {"geo/mmdb_nodes", 2000},
};

/* Walk "a/0/b" through objects and arrays. */
static json_t *walk(json_t *j, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *tok = strtok_r(buf, "/", &save); j != NULL && tok != NULL;
	     tok = strtok_r(NULL, "/", &save)) {
		j = json_is_array(j) ? json_array_get(j, strtoul(tok, NULL, 10))
		                     : json_object_get(j, tok);
	}
	return j;
}

static void test_status_json(void **state)
{
	(void)state;
	ctl_reply_t r = status_reply();
	json_t *j = json_of(&r);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "node")), "fra-1");
	assert_string_equal(json_string_value(json_object_get(j, "region")), "eu-central");
	assert_string_equal(json_string_value(walk(j, "zones/0/name")), "svc.example.com");
	assert_string_equal(json_string_value(walk(j, "listen/1")), "[::1]:5300");
	assert_true(json_is_false(walk(j, "last_reload/ok")));
	assert_true(json_is_null(walk(j, "last_reload/time"))); /* never: unknown, not 0 */
	for (size_t i = 0; i < sizeof(status_ints) / sizeof(status_ints[0]); i++) {
		json_t *v = walk(j, status_ints[i].path);
		if (!json_is_integer(v) || json_integer_value(v) != status_ints[i].want) {
			fail_msg("%s: want %lld", status_ints[i].path,
			         (long long)status_ints[i].want);
		}
	}
	assert_null(json_object_get(j, "error"));
	assert_string_equal(json_string_value(walk(j, "geo/database")), "/geo/db.mmdb");
	json_decref(j);
}

static void test_error_json(void **state)
{
	(void)state;
	ctl_reply_t r = {.cmd = CTL_CMD_RELOAD, .ok = false, .error = "z.zone:3:1: error: \"x\"\n"};
	json_t *j = json_of(&r);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "error")), r.error);
	assert_null(json_object_get(j, "zones"));
	json_decref(j);

	ctl_reply_t ok = {.cmd = CTL_CMD_RELOAD, .ok = true};
	ok.reload = (ctl_reload_t){.diagnostics = "", .zones = zones, .n_zones = 1};
	j = json_of(&ok);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_array_size(json_object_get(j, "zones")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "diagnostics")), "");
	json_decref(j);
}

static const char *const status_lines[] = {
        "node         fra-1\n",
        "region       eu-central\n",
        "uptime       1h02m03s\n",
        "workers      4\n",
        "listen       127.0.0.1:5300, [::1]:5300\n",
        "last reload  never\n",
        "queries      12\n",
        "  ZONE                 SERIAL   RECORDS\n",
        "  svc.example.com  2024010101        42\n",
        "  a.example                 7         3\n",
        "  noerror                10\n",
        "  send_errors             0\n",
        "services     3 (1232 bytes), 1 drain(s)\n",
        "geo          /geo/db.mmdb\n",
        "             tree 1000 nodes from 2000 database nodes, built in 51.5 ms\n",
};

static void test_status_text(void **state)
{
	(void)state;
	ctl_reply_t r = status_reply();
	char *text = text_of(&r);
	for (size_t i = 0; i < sizeof(status_lines) / sizeof(status_lines[0]); i++) {
		if (strstr(text, status_lines[i]) == NULL) {
			fail_msg("missing line %zu '%s' in:\n%s", i, status_lines[i], text);
		}
	}
	free(text);
}

static void test_error_text(void **state)
{
	(void)state;
	ctl_reply_t r = {.cmd = CTL_CMD_RELOAD, .ok = false, .error = "a.yaml:1:2: error: x"};
	char *text = text_of(&r);
	assert_string_equal(text, "reload: a.yaml:1:2: error: x\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_status_json),
	        cmocka_unit_test(test_error_json),
	        cmocka_unit_test(test_status_text),
	        cmocka_unit_test(test_error_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
