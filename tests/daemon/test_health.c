/*
 * Unit tests for daemon/health.c: the aggregation of observations into the
 * policy's healthy/headroom (majority of fresh observers, staleness, fail
 * open, utilization, slow start), the observation index and the endpoint
 * key lookup against a real state store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/agent.h"
#include "common/log.h"
#include "daemon/health.h"
#include "tests/state/helpers.h"

#define NOW UINT64_C(1700000000000)
#define STALE 5000u
#define SLOW 10000u

/* One observation in a table row: status, age in ms, utilization (NAN unknown), up_since age. */
struct o {
	state_status_t st;
	uint64_t age_ms;
	double util;
	int64_t up_since_age_ms; /* -1 = not ramping */
};

struct eval_case {
	const char *name;
	struct o obs[5];
	size_t n;
	bool healthy;
	unsigned fresh, down, stale;
	double util; /* NAN = unknown */
	double headroom;
};

static const struct eval_case eval_cases[] = {
        {"nothing known: fail open", {{0}}, 0, true, 0, 0, 0, NAN, 1.0},
        {"one observer up", {{STATE_ST_UP, 100, NAN, -1}}, 1, true, 1, 0, 0, NAN, 1.0},
        {"one observer down", {{STATE_ST_DOWN, 100, NAN, -1}}, 1, false, 1, 1, 0, NAN, 0.0},
        {"one observer unknown counts as not down",
         {{STATE_ST_UNKNOWN, 100, NAN, -1}},
         1,
         true,
         1,
         0,
         0,
         NAN,
         1.0},
        {"stale down is ignored: fail open",
         {{STATE_ST_DOWN, STALE + 1, NAN, -1}},
         1,
         true,
         0,
         0,
         1,
         NAN,
         1.0},
        {"exactly at the stale limit is fresh",
         {{STATE_ST_DOWN, STALE, NAN, -1}},
         1,
         false,
         1,
         1,
         0,
         NAN,
         0.0},
        {"two of three up: healthy",
         {{STATE_ST_UP, 10, NAN, -1}, {STATE_ST_UP, 10, NAN, -1}, {STATE_ST_DOWN, 10, NAN, -1}},
         3,
         true,
         3,
         1,
         0,
         NAN,
         1.0},
        {"two of three down: unhealthy",
         {{STATE_ST_UP, 10, NAN, -1}, {STATE_ST_DOWN, 10, NAN, -1}, {STATE_ST_DOWN, 10, NAN, -1}},
         3,
         false,
         3,
         2,
         0,
         NAN,
         0.0},
        {"a tie is unhealthy",
         {{STATE_ST_UP, 10, NAN, -1}, {STATE_ST_DOWN, 10, NAN, -1}},
         2,
         false,
         2,
         1,
         0,
         NAN,
         0.0},
        {"stale down voters do not outvote a fresh up",
         {{STATE_ST_UP, 10, NAN, -1},
          {STATE_ST_DOWN, 60000, NAN, -1},
          {STATE_ST_DOWN, 60000, NAN, -1}},
         3,
         true,
         1,
         0,
         2,
         NAN,
         1.0},
        {"observation from the future is fresh",
         {{STATE_ST_DOWN, 0, NAN, -1}},
         1,
         false,
         1,
         1,
         0,
         NAN,
         0.0},
        {"utilization lowers headroom",
         {{STATE_ST_UP, 10, 0.75, -1}},
         1,
         true,
         1,
         0,
         0,
         0.75,
         0.25},
        {"latest utilization wins",
         {{STATE_ST_UP, 900, 0.2, -1}, {STATE_ST_UP, 100, 0.6, -1}, {STATE_ST_UP, 500, NAN, -1}},
         3,
         true,
         3,
         0,
         0,
         0.6,
         0.4},
        {"stale utilization is not used",
         {{STATE_ST_UP, 10, NAN, -1}, {STATE_ST_UP, 9000, 0.9, -1}},
         2,
         true,
         1,
         0,
         1,
         NAN,
         1.0},
        {"slow start half way",
         {{STATE_ST_UP, 10, NAN, SLOW / 2}},
         1,
         true,
         1,
         0,
         0,
         NAN,
         0.5 /* linear, above the floor */},
        {"slow start over", {{STATE_ST_UP, 10, NAN, SLOW + 1}}, 1, true, 1, 0, 0, NAN, 1.0},
        {"slow start times utilization",
         {{STATE_ST_UP, 10, 0.5, SLOW / 2}},
         1,
         true,
         1,
         0,
         0,
         0.5,
         0.25},
        {"latest recovery of the observers ramps",
         {{STATE_ST_UP, 10, NAN, SLOW + 5000}, {STATE_ST_UP, 10, NAN, 0}},
         2,
         true,
         2,
         0,
         0,
         NAN,
         AGENT_SLOW_START_FLOOR},
};

static void test_eval(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(eval_cases); i++) {
		const struct eval_case *c = &eval_cases[i];
		state_obs_t obs[5];
		for (size_t k = 0; k < c->n; k++) {
			const struct o *x = &c->obs[k];
			/* "from the future" rows use age 0 and a timestamp past now. */
			uint64_t at =
			        strstr(c->name, "future") != NULL ? NOW + 3000 : NOW - x->age_ms;
			obs[k] = (state_obs_t){
			        .observer = "n",
			        .endpoint = "192.0.2.1:80/web",
			        .status = x->st,
			        .utilization = x->util,
			        .observed_at_ms = at,
			        .version = 1,
			        .up_since_ms = x->up_since_age_ms < 0
			                               ? 0
			                               : NOW - (uint64_t)x->up_since_age_ms,
			};
		}
		ayad_ep_health_t h;
		ayad_health_eval(obs, c->n, NOW, STALE, SLOW,
		                 (ayad_health_rule_t){.unobserved_up = true}, &h);
		print_message("case: %s\n", c->name);
		assert_int_equal(h.healthy, c->healthy);
		assert_int_equal(h.n_fresh, c->fresh);
		assert_int_equal(h.n_down, c->down);
		assert_int_equal(h.n_stale, c->stale);
		if (isnan(c->util)) {
			assert_true(isnan(h.utilization));
		} else {
			assert_float_equal(h.utilization, c->util, 1e-9);
		}
		assert_float_equal(h.headroom, c->headroom, 1e-6);
	}
}

/*
 * pools[].quorum and when_unobserved: each row is a set of observers (U up,
 * D down, ? unknown, lower case stale) under one rule. "" and all-stale rows
 * are the partition case: no observer of the endpoint is reachable.
 */
struct quorum_case {
	const char *name;
	int quorum;
	bool unobserved_up;
	const char *obs;
	bool healthy;
};

static const struct quorum_case quorum_cases[] = {
        {"majority: 2 of 3 up", CFG_QUORUM_MAJORITY, true, "UUD", true},
        {"majority: 1 of 3 up", CFG_QUORUM_MAJORITY, true, "UDD", false},
        {"majority: a tie is down", CFG_QUORUM_MAJORITY, true, "UD", false},
        {"majority: unknown counts as not down", CFG_QUORUM_MAJORITY, true, "?UD", true},
        {"majority: stale ones are not counted", CFG_QUORUM_MAJORITY, true, "Udd", true},
        {"any: one of 3 up", CFG_QUORUM_ANY, true, "UDD", true},
        {"any: all down", CFG_QUORUM_ANY, true, "DDD", false},
        {"all: one down is down", CFG_QUORUM_ALL, true, "UUD", false},
        {"all: every one up", CFG_QUORUM_ALL, true, "UUU", true},
        {"all: a stale down is ignored", CFG_QUORUM_ALL, true, "UUd", true},
        {"fail open: nothing known", CFG_QUORUM_MAJORITY, true, "", true},
        {"fail open: every observer stale", CFG_QUORUM_MAJORITY, true, "dd", true},
        {"fail closed: nothing known", CFG_QUORUM_MAJORITY, false, "", false},
        {"fail closed: every observer stale", CFG_QUORUM_ALL, false, "uu", false},
        {"fail closed: one fresh up decides", CFG_QUORUM_MAJORITY, false, "Uu", true},
};

static void test_quorum(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(quorum_cases); i++) {
		const struct quorum_case *c = &quorum_cases[i];
		state_obs_t obs[8];
		size_t n = strlen(c->obs);
		assert_true(n <= AYA_ARRAY_LEN(obs));
		for (size_t k = 0; k < n; k++) {
			char ch = c->obs[k];
			bool stale = ch >= 'a' && ch <= 'z';
			state_status_t st = ch == 'U' || ch == 'u'   ? STATE_ST_UP
			                    : ch == 'D' || ch == 'd' ? STATE_ST_DOWN
			                                             : STATE_ST_UNKNOWN;
			obs[k] = (state_obs_t){.observer = "n",
			                       .endpoint = "192.0.2.1:80/web",
			                       .status = st,
			                       .utilization = NAN,
			                       .observed_at_ms = stale ? NOW - 2 * STALE : NOW - 10,
			                       .version = 1};
		}
		ayad_ep_health_t h;
		ayad_health_rule_t rule = {.quorum = c->quorum, .unobserved_up = c->unobserved_up};
		ayad_health_eval(obs, n, NOW, STALE, SLOW, rule, &h);
		if (h.healthy != c->healthy) {
			fail_msg("%s: healthy %d, want %d", c->name, h.healthy, c->healthy);
		}
		assert_true(h.healthy || h.headroom == 0.0);
	}
}

static void test_stale_limit(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t interval_ms, fall;
		uint64_t want;
	} cases[] = {
	        {"defaults hit the floor", 500, 2, AYAD_HEALTH_STALE_MIN_MS},
	        {"slow monitor: 3 x interval x fall", 10000, 3, 90000},
	        {"fall 0 counts as 1", 4000, 0, 12000},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		assert_int_equal(ayad_health_stale_ms(cases[i].interval_ms, cases[i].fall),
		                 cases[i].want);
	}
}

/* The index over a real store: per-key runs, other keys not mixed in. */
static void test_index_and_endpoint(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	uint64_t now = NOW;
	state_opts_t so = {.node = "n1", .clock_ms = fake_clock, .clock_ctx = &now};
	state_t *st = NULL;
	assert_int_equal(state_open(dir, &so, &st), 0);
	static const struct {
		const char *observer, *endpoint;
		state_status_t status;
	} rows[] = {
	        {"n1", "192.0.2.1:8080/web", STATE_ST_DOWN},
	        {"n2", "192.0.2.1:8080/web", STATE_ST_DOWN},
	        {"n3", "192.0.2.1:8080/web", STATE_ST_UP},
	        {"n1", "192.0.2.2:8080/web", STATE_ST_UP},
	        {"n1", "192.0.2.10:8080/web", STATE_ST_DOWN},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(rows); i++) {
		state_obs_t o = {.observer = rows[i].observer,
		                 .endpoint = rows[i].endpoint,
		                 .status = rows[i].status,
		                 .utilization = NAN,
		                 .observed_at_ms = NOW - 100,
		                 .version = 10 + i};
		assert_int_equal(state_obs_merge(st, &o), 1);
	}
	ayad_obs_index_t ix;
	assert_int_equal(ayad_obs_index_build(st, &ix), 0);
	assert_int_equal(ix.n, AYA_ARRAY_LEN(rows));
	size_t n = 0;
	const state_obs_t *r = ayad_obs_index_find(&ix, "192.0.2.1:8080/web", &n);
	assert_non_null(r);
	assert_int_equal(n, 3);
	assert_null(ayad_obs_index_find(&ix, "192.0.2.3:8080/web", &n));
	assert_int_equal(n, 0);

	/* A config-shaped pool with the monitor: the key is built like the agent's. */
	uint16_t expect[] = {200};
	cfg_monitor_t mon = {.name = "web",
	                     .port = 8080,
	                     .expect = expect,
	                     .n_expect = 1,
	                     .interval_ms = 500,
	                     .timeout_ms = 300,
	                     .rise = 2,
	                     .fall = 2};
	cfg_endpoint_t eps[3] = {{.family = AF_INET, .addr = {192, 0, 2, 1}, .text = "192.0.2.1"},
	                         {.family = AF_INET, .addr = {192, 0, 2, 2}, .text = "192.0.2.2"},
	                         {.family = AF_INET, .addr = {192, 0, 2, 3}, .text = "192.0.2.3"}};
	cfg_pool_t pool = {.endpoints = eps, .n_endpoints = 3, .monitor = "web", .monitor_idx = 0};
	cfg_pool_t plain = {.endpoints = eps, .n_endpoints = 3};
	cfg_t cfg = {.monitors = &mon, .n_monitors = 1};
	static const struct {
		const char *name;
		size_t ep;
		bool monitored, healthy;
		unsigned fresh;
	} cases[] = {
	        {"two of three observers say down", 0, true, false, 3},
	        {"one observer says up", 1, true, true, 1},
	        {"never observed: fail open", 2, true, true, 0},
	};
	char key[STATE_NAME_MAX + 1];
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		ayad_ep_health_t h;
		print_message("case: %s\n", cases[i].name);
		assert_int_equal(
		        ayad_health_endpoint(&cfg, &pool, &eps[cases[i].ep], &ix, NOW, key, &h),
		        cases[i].monitored);
		assert_int_equal(h.healthy, cases[i].healthy);
		assert_int_equal(h.n_fresh, cases[i].fresh);
	}
	ayad_ep_health_t h;
	/* The pool's rule reaches the evaluation: fail closed, and any one observer up. */
	cfg_pool_t closed = pool;
	closed.unobserved = CFG_UNOBSERVED_DOWN;
	closed.quorum = CFG_QUORUM_ANY;
	assert_true(ayad_health_endpoint(&cfg, &closed, &eps[2], &ix, NOW, key, &h));
	assert_false(h.healthy);
	assert_true(ayad_health_endpoint(&cfg, &closed, &eps[0], &ix, NOW, key, &h));
	assert_true(h.healthy);
	assert_false(ayad_health_endpoint(&cfg, &plain, &eps[0], &ix, NOW, key, &h));
	assert_true(h.healthy);
	assert_float_equal(h.headroom, 1.0, 1e-9);
	ayad_obs_index_fini(&ix);
	state_close(st);
	tmpdir_free(dir);
}

int main(void)
{
	aya_log_set_level(AYA_LOG_WARN);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_eval),
	        cmocka_unit_test(test_quorum),
	        cmocka_unit_test(test_stale_limit),
	        cmocka_unit_test(test_index_and_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
