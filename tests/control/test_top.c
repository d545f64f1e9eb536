/*
 * `log-level` and `top`: their requests and replies through the wire and
 * back, the level names, the rates and shares `ayactl top` derives from two
 * samples, and the JSON error object of ayactl --json.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

static void test_request_roundtrip(void **state)
{
	(void)state;
	static const ctl_request_t cases[] = {
	        {.cmd = CTL_CMD_LOG_LEVEL, .level = "debug"},
	        {.cmd = CTL_CMD_LOG_LEVEL, .level = NULL},
	        {.cmd = CTL_CMD_TOP},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		uint8_t *f = NULL;
		size_t len = 0, body = 0;
		assert_int_equal(ctl_request_frame(&cases[i], &f, &len), 0);
		assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
		aya_arena_t *a = aya_arena_new();
		assert_non_null(a);
		ctl_request_t got;
		assert_int_equal(ctl_request_decode(f + CTL_FRAME_HDR, body, a, &got), 0);
		assert_int_equal(got.cmd, cases[i].cmd);
		if (cases[i].cmd == CTL_CMD_LOG_LEVEL) {
			assert_string_equal(got.level,
			                    cases[i].level != NULL ? cases[i].level : "");
		}
		aya_arena_free(a);
		free(f);
	}
	ctl_cmd_t cmd;
	assert_int_equal(ctl_cmd_parse("log-level", &cmd), 0);
	assert_int_equal(cmd, CTL_CMD_LOG_LEVEL);
	assert_int_equal(ctl_cmd_parse("top", &cmd), 0);
	assert_int_equal(cmd, CTL_CMD_TOP);
}

static const struct level_case {
	const char *name;
	int rc, level;
} level_cases[] = {
        {"error", 0, 0},      {"warning", 0, 1},      {"info", 0, 2},    {"debug", 0, 3},
        {"DEBUG", 0, 3},      {"warn", 0, 1},         {"err", 0, 0},     {"", -EINVAL, 0},
        {"loud", -EINVAL, 0}, {"debug ", -EINVAL, 0}, {"4", -EINVAL, 0},
};

static void test_log_level_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(level_cases); i++) {
		const struct level_case *c = &level_cases[i];
		int level = -1;
		int rc = ctl_log_level_parse(c->name, &level);
		if (rc != c->rc || (rc == 0 && level != c->level)) {
			fail_msg("'%s': rc %d level %d, want %d %d", c->name, rc, level, c->rc,
			         c->level);
		}
		if (rc == 0 && strcmp(c->name, ctl_log_level_name(level)) != 0) {
			/* The short and upper-case forms name the canonical one. */
			int again = -1;
			assert_int_equal(ctl_log_level_parse(ctl_log_level_name(level), &again), 0);
			assert_int_equal(again, level);
		}
	}
	assert_string_equal(ctl_log_level_name(-1), "unknown");
	assert_string_equal(ctl_log_level_name(4), "unknown");
}

static void test_log_level_reply(void **state)
{
	(void)state;
	ctl_reply_t in = {.cmd = CTL_CMD_LOG_LEVEL, .ok = true};
	in.log_level = (ctl_log_level_t){.level = "debug", .config_level = "info", .changed = true};
	ctl_reply_t *r = roundtrip(&in);
	assert_int_equal(r->cmd, CTL_CMD_LOG_LEVEL);
	assert_string_equal(r->log_level.level, "debug");
	assert_string_equal(r->log_level.config_level, "info");
	assert_true(r->log_level.changed);
	char *text = text_of(r);
	assert_non_null(strstr(text, "log level: debug (set)\n"));
	assert_non_null(
	        strstr(text, "the next reload, which applies the config's log.level: info"));
	free(text);
	json_t *j = json_of(r);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "debug");
	assert_true(json_is_true(json_object_get(j, "changed")));
	json_decref(j);
	ctl_reply_free(r);
}

/* Two samples one second (and a bit) apart. */
static const ctl_counter_t c0[] = {{"noerror", 1000}, {"nxdomain", 50}};
static const ctl_counter_t c1[] = {{"noerror", 1400}, {"nxdomain", 40}, {"refused", 10}};
static const ctl_top_pool_t p0[] = {{"eu", 700, 1.0, true}, {"us", 300, NAN, true}};
static const ctl_top_pool_t p1[] = {
        {"eu", 1000, 1.0, true}, {"us", 400, NAN, false}, {"ap", 100, 0.5, true}};
static const ctl_top_pool_t q1[] = {{"eu", 5, 1.0, true}};
static const ctl_top_service_t s0[] = {{"www.example.com", p0, 2}, {"idle.example.com", q1, 1}};
static const ctl_top_service_t s1[] = {{"www.example.com", p1, 3}, {"idle.example.com", q1, 1}};
static const ctl_top_event_t ev[] = {{1700000000500, "www.example.com us 192.0.2.1 down"}};

static const ctl_top_t prev = {.node = "n1",
                               .now_ms = 1700000000000,
                               .queries = 2000,
                               .counters = c0,
                               .n_counters = 2,
                               .services = s0,
                               .n_services = 2};
static const ctl_top_t cur = {.node = "n1",
                              .now_ms = 1700000002000,
                              .queries = 2900,
                              .counters = c1,
                              .n_counters = 3,
                              .services = s1,
                              .n_services = 2,
                              .events = ev,
                              .n_events = 1};

static void test_top_reply(void **state)
{
	(void)state;
	ctl_reply_t in = {.cmd = CTL_CMD_TOP, .ok = true, .top = cur};
	ctl_reply_t *r = roundtrip(&in);
	assert_int_equal(r->cmd, CTL_CMD_TOP);
	const ctl_top_t *t = &r->top;
	assert_string_equal(t->node, "n1");
	assert_int_equal(t->now_ms, cur.now_ms);
	assert_int_equal(t->queries, 2900);
	assert_int_equal(t->n_counters, 3);
	assert_string_equal(t->counters[2].name, "refused");
	assert_int_equal(t->n_services, 2);
	assert_int_equal(t->services[0].n_pools, 3);
	assert_string_equal(t->services[0].pools[2].region, "ap");
	assert_int_equal(t->services[0].pools[0].answers, 1000);
	assert_true(isnan(t->services[0].pools[1].admit));
	assert_false(t->services[0].pools[1].healthy);
	assert_int_equal(t->n_events, 1);
	assert_int_equal(t->events[0].ms, 1700000000500);
	json_t *j = json_of(r);
	json_t *pool = json_array_get(
	        json_object_get(json_array_get(json_object_get(j, "services"), 0), "pools"), 1);
	assert_true(json_is_null(json_object_get(pool, "admit")));
	assert_int_equal(json_integer_value(json_object_get(pool, "answers")), 400);
	json_decref(j);
	ctl_reply_free(r);
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v)) {
		fail_msg("%s: not a number", key);
	}
	return json_number_value(v);
}

static void test_top_rates(void **state)
{
	(void)state;
	char *s = ctl_top_to_json(&prev, &cur);
	assert_non_null(s);
	assert_null(strchr(s, '\n')); /* one JSON line per refresh */
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	free(s);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_true(num(j, "interval_s") == 2.0);
	assert_true(num(j, "queries_per_s") == 450.0);
	json_t *rc = json_object_get(j, "rcodes_per_s");
	assert_true(num(rc, "noerror") == 200.0);
	assert_true(num(rc, "nxdomain") == 0.0); /* went down (a restart): zero, not negative */
	assert_true(num(rc, "refused") == 5.0);  /* absent before: from zero */
	json_t *www = json_array_get(json_object_get(j, "services"), 0);
	assert_true(num(www, "answers_per_s") == 250.0); /* 300 + 100 + 100 over 2 s */
	json_t *pools = json_object_get(www, "pools");
	static const double share[] = {60.0, 20.0, 20.0};
	double sum = 0.0;
	for (size_t i = 0; i < 3; i++) {
		json_t *p = json_array_get(pools, i);
		assert_true(fabs(num(p, "share") - share[i]) < 1e-9);
		sum += num(p, "share");
	}
	assert_true(fabs(sum - 100.0) < 1e-9);
	assert_true(json_is_null(json_object_get(json_array_get(pools, 1), "admit")));
	assert_true(json_is_false(json_object_get(json_array_get(pools, 1), "healthy")));
	/* No answers over the interval: the share is unknown, not 0 or NaN. */
	json_t *idle = json_array_get(json_object_get(j, "services"), 1);
	assert_true(num(idle, "answers_per_s") == 0.0);
	json_t *ip = json_array_get(json_object_get(idle, "pools"), 0);
	assert_true(json_is_null(json_object_get(ip, "share")));
	json_t *e = json_array_get(json_object_get(j, "events"), 0);
	assert_true(json_is_integer(json_object_get(e, "time_ms")));
	json_decref(j);
	/* The same sample twice: no time passed, rates 0 rather than a division by zero. */
	s = ctl_top_to_json(&cur, &cur);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"queries_per_s\": 0.0"));
	free(s);
}

static void test_top_text(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	ctl_top_write_text(f, &prev, &cur);
	fclose(f);
	char *text = strdup(buf);
	free(buf);
	assert_non_null(text);
	char line[256];
	assert_non_null(strstr(line_with(text, "queries/s", line, sizeof(line)), "450.0"));
	assert_non_null(strstr(line, "refused 5.0"));
	assert_null(strstr(line, "nxdomain")); /* no rate: left out */
	assert_non_null(strstr(line_with(text, " eu ", line, sizeof(line)), "60.0%"));
	assert_non_null(strstr(line_with(text, " us ", line, sizeof(line)), "down"));
	assert_non_null(strstr(text, "192.0.2.1 down"));
	assert_null(strchr(text, '\033')); /* ayactl clears the screen, not the renderer */
	free(text);
}

static void test_error_json(void **state)
{
	(void)state;
	char *s = ctl_error_json("status", "cannot connect", 3);
	assert_non_null(s);
	json_t *j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "command")), "status");
	assert_string_equal(json_string_value(json_object_get(j, "error")), "cannot connect");
	assert_int_equal(json_integer_value(json_object_get(j, "exit")), 3);
	json_decref(j);
	s = ctl_error_json(NULL, NULL, 2);
	j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "command")));
	assert_string_equal(json_string_value(json_object_get(j, "error")), "");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request_roundtrip), cmocka_unit_test(test_log_level_names),
	        cmocka_unit_test(test_log_level_reply),   cmocka_unit_test(test_top_reply),
	        cmocka_unit_test(test_top_rates),         cmocka_unit_test(test_top_text),
	        cmocka_unit_test(test_error_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
