/*
 * Unit tests for policy/health.c: the aggregation of observations into the
 * policy's healthy/headroom (majority of fresh observers, staleness, fail
 * open, utilization, slow start), the endpoint key lookup through a state
 * view of a real store, the compiler reading drains and observations from
 * such a view, and pol_snap_current (the periodic "would a rebuild change
 * anything" check).
 */
#include <arpa/inet.h>
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
#include "common/dname.h"
#include "common/log.h"
#include "policy/policy.h"
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
		pol_ep_health_t h;
		pol_health_eval(obs, c->n, NOW, STALE, SLOW,
		                (pol_health_rule_t){.unobserved_up = true}, &h);
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
		pol_ep_health_t h;
		pol_health_rule_t rule = {.quorum = c->quorum, .unobserved_up = c->unobserved_up};
		pol_health_eval(obs, n, NOW, STALE, SLOW, rule, &h);
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
	        {"defaults hit the floor", 500, 2, STATE_OBS_STALE_MIN_MS},
	        {"slow monitor: 3 x interval x fall", 10000, 3, 90000},
	        {"fall 0 counts as 1", 4000, 0, 12000},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		assert_int_equal(state_obs_stale_ms(cases[i].interval_ms, cases[i].fall),
		                 cases[i].want);
	}
}

/* The view over a real store: per-key runs, other keys not mixed in. */
static void test_view_and_endpoint(void **state)
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
	state_view_t *view = NULL;
	assert_int_equal(state_view_build(st, &view), 0);
	assert_int_equal(state_view_obs_count(view), AYA_ARRAY_LEN(rows));
	size_t n = 0;
	const state_obs_t *r = state_view_obs(view, "192.0.2.1:8080/web", &n);
	assert_non_null(r);
	assert_int_equal(n, 3);
	assert_null(state_view_obs(view, "192.0.2.3:8080/web", &n));
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
		pol_ep_health_t h;
		print_message("case: %s\n", cases[i].name);
		assert_int_equal(
		        pol_health_endpoint(&cfg, &pool, &eps[cases[i].ep], view, NOW, 0, key, &h),
		        cases[i].monitored);
		assert_int_equal(h.healthy, cases[i].healthy);
		assert_int_equal(h.n_fresh, cases[i].fresh);
	}
	pol_ep_health_t h;
	/* The pool's rule reaches the evaluation: fail closed, and any one observer up. */
	cfg_pool_t closed = pool;
	closed.unobserved = CFG_UNOBSERVED_DOWN;
	closed.quorum = CFG_QUORUM_ANY;
	assert_true(pol_health_endpoint(&cfg, &closed, &eps[2], view, NOW, 0, key, &h));
	assert_false(h.healthy);
	assert_true(pol_health_endpoint(&cfg, &closed, &eps[0], view, NOW, 0, key, &h));
	assert_true(h.healthy);
	assert_false(pol_health_endpoint(&cfg, &plain, &eps[0], view, NOW, 0, key, &h));
	assert_true(h.healthy);
	assert_float_equal(h.headroom, 1.0, 1e-9);
	state_view_free(view);
	state_close(st);
	tmpdir_free(dir);
}

/* One service "www.example.com": a monitored pool of three and a plain pool of one. */
struct world {
	uint16_t expect[1];
	cfg_monitor_t mon;
	cfg_endpoint_t eps[3], plain_ep[1];
	cfg_pool_t pools[2];
	cfg_service_t svc;
	cfg_zone_t zone;
	cfg_region_t region;
	cfg_t cfg;
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->expect[0] = 200;
	w->mon = (cfg_monitor_t){.name = "web",
	                         .port = 8080,
	                         .expect = w->expect,
	                         .n_expect = 1,
	                         .interval_ms = 500,
	                         .timeout_ms = 300,
	                         .rise = 2,
	                         .fall = 2,
	                         .slow_start_ms = SLOW};
	static const char *const addrs[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
	for (size_t i = 0; i < 3; i++) {
		w->eps[i] = (cfg_endpoint_t){.family = AF_INET, .weight = 1};
		snprintf(w->eps[i].text, sizeof(w->eps[i].text), "%s", addrs[i]);
		assert_int_equal(inet_pton(AF_INET, addrs[i], w->eps[i].addr), 1);
	}
	w->plain_ep[0] = w->eps[0];
	w->pools[0] = (cfg_pool_t){.endpoints = w->eps, .n_endpoints = 3, .monitor = "web"};
	w->pools[1] = (cfg_pool_t){.endpoints = w->plain_ep, .n_endpoints = 1};
	w->svc = (cfg_service_t){.name = "www", .ttl_s = 30, .pools = w->pools, .n_pools = 2};
	assert_true(aya_dname_from_str("www.example.com", w->svc.owner) > 0);
	w->zone = (cfg_zone_t){.name = "example.com", .services = &w->svc, .n_services = 1};
	w->region = (cfg_region_t){.name = "eu-west", .cost = 1.0};
	w->cfg = (cfg_t){.zones = &w->zone,
	                 .n_zones = 1,
	                 .regions = &w->region,
	                 .n_regions = 1,
	                 .monitors = &w->mon,
	                 .n_monitors = 1};
}

static const pol_service_t *www(const pol_snap_t *s)
{
	uint8_t owner[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("www.example.com", owner) > 0);
	const pol_service_t *ps = pol_service_find(s, owner);
	assert_non_null(ps);
	assert_int_equal(ps->n_endpoints, 4);
	return ps;
}

/* The compiler reads drains and observations from a view of a real store. */
static void test_compile_from_view(void **state)
{
	(void)state;
	struct world w;
	world_init(&w);
	char *dir = tmpdir_new();
	assert_non_null(dir);
	uint64_t now = NOW;
	state_opts_t so = {.node = "n1", .clock_ms = fake_clock, .clock_ctx = &now};
	state_t *st = NULL;
	assert_int_equal(state_open(dir, &so, &st), 0);
	static const struct {
		const char *observer, *endpoint;
		state_status_t status;
		double util;
	} rows[] = {
	        {"n1", "192.0.2.1:8080/web", STATE_ST_DOWN, NAN},
	        {"n2", "192.0.2.1:8080/web", STATE_ST_DOWN, NAN},
	        {"n1", "192.0.2.2:8080/web", STATE_ST_UP, 0.5},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(rows); i++) {
		state_obs_t o = {.observer = rows[i].observer,
		                 .endpoint = rows[i].endpoint,
		                 .status = rows[i].status,
		                 .utilization = rows[i].util,
		                 .observed_at_ms = NOW - 100,
		                 .version = 10 + i};
		assert_int_equal(state_obs_merge(st, &o), 1);
	}
	assert_int_equal(state_drain_set(st, "www.example.com", "192.0.2.2", true, NULL), 1);
	assert_int_equal(state_drain_set(st, "gone.example.com", NULL, true, NULL), 1);
	state_view_t *view = NULL;
	assert_int_equal(state_view_build(st, &view), 0);
	size_t nd = 0;
	assert_non_null(state_view_drains(view, &nd));
	assert_int_equal(nd, 2);

	pol_inputs_t in = {.view = view, .now_ms = NOW};
	pol_snap_t *s = NULL;
	char err[256] = "";
	assert_int_equal(pol_snap_build(&w.cfg, NULL, &in, &s, err, sizeof(err)), 0);
	const pol_service_t *ps = www(s);
	static const struct {
		const char *name;
		bool healthy, drained;
		double headroom, util;
	} want[] = {
	        {"two observers say down", false, false, 0.0, -1.0},
	        {"up at half load, drained by address", true, true, 0.5, 0.5},
	        {"never observed: fail open", true, false, 1.0, -1.0},
	        {"no monitor: healthy whatever was observed", true, false, 1.0, -1.0},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(want); i++) {
		const pol_endpoint_t *e = &ps->endpoints[i];
		print_message("case: %s\n", want[i].name);
		assert_int_equal(e->healthy, want[i].healthy);
		assert_int_equal(e->drained, want[i].drained);
		assert_float_equal(e->headroom, want[i].headroom, 1e-9);
		assert_float_equal(e->utilization, want[i].util, 1e-9);
	}
	assert_int_equal(pol_snap_unmatched_drains(s), 1);
	assert_int_equal(pol_snap_monitored(s), 3);
	/* The same view at the same time: nothing to republish. */
	assert_true(pol_snap_current(s, view, NOW));
	/* A minute later every observation is stale: the down endpoint fails open. */
	assert_false(pol_snap_current(s, view, NOW + 60000));
	pol_snap_free(s);

	/* Without a view: everything healthy, no drains, nothing kept. */
	assert_int_equal(pol_snap_build(&w.cfg, NULL, NULL, &s, err, sizeof(err)), 0);
	ps = www(s);
	for (size_t i = 0; i < ps->n_endpoints; i++) {
		assert_true(ps->endpoints[i].healthy);
		assert_false(ps->endpoints[i].drained);
		assert_float_equal(ps->endpoints[i].headroom, 1.0, 1e-9);
	}
	assert_int_equal(pol_snap_unmatched_drains(s), 0);
	assert_int_equal(pol_snap_monitored(s), 0);
	assert_true(pol_snap_current(s, view, NOW + 60000));
	pol_snap_free(s);
	state_view_free(view);
	state_close(st);
	tmpdir_free(dir);
}

/* pol_snap_current: health flips and headroom steps of POL_HEADROOM_STEP or more. */
static void test_snap_current(void **state)
{
	(void)state;
	struct world w;
	world_init(&w);
	/* 192.0.2.1 ramping half way through slow start, 192.0.2.2 down. */
	state_obs_t obs[] = {
	        {.observer = "n1",
	         .endpoint = "192.0.2.1:8080/web",
	         .status = STATE_ST_UP,
	         .utilization = NAN,
	         .observed_at_ms = NOW - 10,
	         .version = 1,
	         .up_since_ms = NOW - SLOW / 2},
	        {.observer = "n1",
	         .endpoint = "192.0.2.2:8080/web",
	         .status = STATE_ST_DOWN,
	         .utilization = NAN,
	         .observed_at_ms = NOW - 10,
	         .version = 1},
	};
	state_view_t *view = NULL;
	assert_int_equal(state_view_from(obs, AYA_ARRAY_LEN(obs), NULL, 0, &view), 0);
	pol_inputs_t in = {.view = view, .now_ms = NOW};
	pol_snap_t *s = NULL;
	char err[256] = "";
	assert_int_equal(pol_snap_build(&w.cfg, NULL, &in, &s, err, sizeof(err)), 0);
	const pol_service_t *ps = www(s);
	assert_float_equal(ps->endpoints[0].headroom, 0.5, 1e-6);
	assert_false(ps->endpoints[1].healthy);
	static const struct {
		const char *name;
		uint64_t later_ms;
		bool current;
	} cases[] = {
	        {"same moment", 0, true},
	        {"slow start moved 0.01: below the step", SLOW / 100, true},
	        {"slow start moved 0.03: republish", 3 * SLOW / 100, false},
	        {"down observation went stale: fails open", STATE_OBS_STALE_MIN_MS + 1, false},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		assert_int_equal(pol_snap_current(s, view, NOW + cases[i].later_ms),
		                 cases[i].current);
	}
	/* A new observation that flips an endpoint is noticed too. */
	obs[1].status = STATE_ST_UP;
	state_view_t *v2 = NULL;
	assert_int_equal(state_view_from(obs, AYA_ARRAY_LEN(obs), NULL, 0, &v2), 0);
	assert_false(pol_snap_current(s, v2, NOW));
	state_view_free(v2);
	pol_snap_free(s);
	state_view_free(view);
}

/*
 * The restart grace: a node that was down for longer than the stale limit
 * judges an endpoint by its stored observations until its own probes have
 * had one stale limit (5 s here) to run; after that, or as soon as a fresh
 * observation exists, the normal rule applies.
 */
static void test_restart_grace(void **state)
{
	(void)state;
	struct world w;
	world_init(&w);
	/* Stored a minute ago: ep 0 down, ep 1 up. */
	state_obs_t obs[] = {
	        {.observer = "n1",
	         .endpoint = "192.0.2.1:8080/web",
	         .status = STATE_ST_DOWN,
	         .utilization = NAN,
	         .observed_at_ms = NOW - 60000,
	         .version = 1},
	        {.observer = "n1",
	         .endpoint = "192.0.2.2:8080/web",
	         .status = STATE_ST_UP,
	         .utilization = NAN,
	         .observed_at_ms = NOW - 60000,
	         .version = 2},
	};
	state_view_t *view = NULL;
	assert_int_equal(state_view_from(obs, AYA_ARRAY_LEN(obs), NULL, 0, &view), 0);
	static const struct {
		const char *name;
		uint64_t started_ms;
		bool healthy, stored;
	} cases[] = {
	        {"no grace: stale, fail open", 0, true, false},
	        {"started 1 s ago: the stored down counts", NOW - 1000, false, true},
	        {"started 6 s ago: grace over, fail open", NOW - 6000, true, false},
	};
	char key[STATE_NAME_MAX + 1];
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		pol_ep_health_t h;
		print_message("case: %s\n", cases[i].name);
		assert_true(pol_health_endpoint(&w.cfg, &w.pools[0], &w.eps[0], view, NOW,
		                                cases[i].started_ms, key, &h));
		assert_int_equal(h.healthy, cases[i].healthy);
		assert_int_equal(h.stored, cases[i].stored);
	}
	/* The snapshot keeps the grace: when it ends, the tick sees a change. */
	pol_inputs_t in = {.view = view, .now_ms = NOW, .started_ms = NOW - 1000};
	pol_snap_t *s = NULL;
	char err[256] = "";
	assert_int_equal(pol_snap_build(&w.cfg, NULL, &in, &s, err, sizeof(err)), 0);
	assert_false(www(s)->endpoints[0].healthy);
	assert_true(www(s)->endpoints[1].healthy);
	assert_int_equal(pol_snap_started_ms(s), NOW - 1000);
	assert_true(pol_snap_current(s, view, NOW + 2000));
	assert_false(pol_snap_current(s, view, NOW + 4500));
	pol_snap_free(s);
	/* A fresh observation ends the grace for its endpoint at once. */
	obs[0].status = STATE_ST_UP;
	obs[0].observed_at_ms = NOW;
	state_view_free(view);
	assert_int_equal(state_view_from(obs, AYA_ARRAY_LEN(obs), NULL, 0, &view), 0);
	pol_ep_health_t h;
	assert_true(pol_health_endpoint(&w.cfg, &w.pools[0], &w.eps[0], view, NOW, NOW - 1000, key,
	                                &h));
	assert_true(h.healthy);
	assert_false(h.stored);
	state_view_free(view);
}

int main(void)
{
	aya_log_set_level(AYA_LOG_WARN);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_eval),
	        cmocka_unit_test(test_quorum),
	        cmocka_unit_test(test_stale_limit),
	        cmocka_unit_test(test_view_and_endpoint),
	        cmocka_unit_test(test_compile_from_view),
	        cmocka_unit_test(test_restart_grace),
	        cmocka_unit_test(test_snap_current),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
