/*
 * Unit tests for the two probe results that steer answers besides health:
 * the endpoint capacity (reported by the backend, else configured) that
 * divides a pool's share in `weighted` and sizes the load loop's pools, and
 * the probe RTT that `latency` orders by (steps of its tolerance from each
 * tier's best, unknown last, stable). Also their aggregation across
 * observers (pol_health_eval), the explain text, and pol_snap_current
 * noticing a capacity or RTT change worth a rebuild.
 */
#include <arpa/inet.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/dname.h"
#include "common/log.h"
#include "common/rng.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#define NOW UINT64_C(1700000000000)

#define EP(a, c)                                                                                   \
	{                                                                                          \
		.family = AF_INET, .text = a, .weight = 1, .capacity = c                           \
	}

enum { R_EU, R_US, R_N };
static const cfg_region_t regions[R_N] = {
        {.name = "eu", .lat = 53.35, .lon = -6.26, .cost = 1},
        {.name = "us", .lat = 38.90, .lon = -77.00, .cost = 1},
};
static const cfg_monitor_t mon = {.name = "m", .port = 80, .interval_ms = 1000, .fall = 3};

/* eu: A 100, B 300, C unknown; us: D, E unknown. */
static cfg_endpoint_t eu_eps[] = {EP("192.0.2.1", 100), EP("192.0.2.2", 300), EP("192.0.2.3", 0),
                                  EP("192.0.2.4", 0)};
static cfg_endpoint_t us_eps[] = {EP("198.51.100.1", 0), EP("198.51.100.2", 0)};

#define MON .monitor = "m", .monitor_idx = 0
/* The first three eu endpoints (A, B, C); all four; us; both pools. */
static const cfg_pool_t abc_pool[] = {
        {.region_idx = R_EU, .endpoints = eu_eps, .n_endpoints = 3, MON}};
static const cfg_pool_t abcd_pool[] = {
        {.region_idx = R_EU, .endpoints = eu_eps, .n_endpoints = 4, MON}};
static const cfg_pool_t two_pools[] = {
        {.region_idx = R_EU, .endpoints = eu_eps, .n_endpoints = 2, MON},
        {.region_idx = R_US, .endpoints = us_eps, .n_endpoints = 2, MON}};

#define F(k)                                                                                       \
	{                                                                                          \
		.kind = CFG_FILTER_##k                                                             \
	}
static const cfg_filter_t ch_weighted[] = {F(HEALTHY), F(WEIGHTED), {.kind = CFG_FILTER_FIRST_N}};
static const cfg_filter_t ch_latency10[] = {F(HEALTHY), {.kind = CFG_FILTER_LATENCY, .n = 10}};
static const cfg_filter_t ch_latency[] = {F(LATENCY), {.kind = CFG_FILTER_FIRST_N}};
static const cfg_filter_t ch_geo_latency[] = {F(GEO), F(LATENCY), {.kind = CFG_FILTER_FIRST_N}};
static const cfg_filter_t ch_weighted_latency[] = {
        F(HEALTHY), F(WEIGHTED), F(LATENCY), {.kind = CFG_FILTER_FIRST_N}};

enum { S_CAP, S_MIX, S_LAT10, S_LAT, S_GEOLAT, S_WLAT, S_COUNT };
static cfg_service_t services[S_COUNT] = {
        [S_CAP] = {.name = "cap",
                   .pools = abc_pool,
                   .n_pools = 1,
                   .policy = ch_weighted,
                   .n_policy = 3},
        [S_MIX] = {.name = "mix",
                   .pools = two_pools,
                   .n_pools = 2,
                   .policy = ch_weighted,
                   .n_policy = 3},
        [S_LAT10] = {.name = "lat10",
                     .pools = abcd_pool,
                     .n_pools = 1,
                     .policy = ch_latency10,
                     .n_policy = 2},
        [S_LAT] = {.name = "lat",
                   .pools = two_pools,
                   .n_pools = 2,
                   .policy = ch_latency,
                   .n_policy = 2},
        [S_GEOLAT] = {.name = "geolat",
                      .pools = two_pools,
                      .n_pools = 2,
                      .policy = ch_geo_latency,
                      .n_policy = 3},
        [S_WLAT] = {.name = "wlat",
                    .pools = abcd_pool,
                    .n_pools = 1,
                    .policy = ch_weighted_latency,
                    .n_policy = 4},
};
static cfg_zone_t zone = {.name = "example.com", .services = services, .n_services = S_COUNT};
static cfg_t cfg = {.zones = &zone,
                    .n_zones = 1,
                    .regions = regions,
                    .n_regions = R_N,
                    .monitors = &mon,
                    .n_monitors = 1};

static int setup(void **state)
{
	(void)state;
	aya_log_set_level(AYA_LOG_WARN);
	for (size_t i = 0; i < AYA_ARRAY_LEN(eu_eps); i++) {
		assert_int_equal(inet_pton(AF_INET, eu_eps[i].text, eu_eps[i].addr), 1);
	}
	for (size_t i = 0; i < AYA_ARRAY_LEN(us_eps); i++) {
		assert_int_equal(inet_pton(AF_INET, us_eps[i].text, us_eps[i].addr), 1);
	}
	for (size_t i = 0; i < S_COUNT; i++) {
		char n[128];
		snprintf(n, sizeof(n), "%s.example.com", services[i].name);
		if (aya_dname_from_str(n, services[i].owner) < 0) {
			return -1;
		}
		services[i].ttl_s = 30;
	}
	return 0;
}

/* One observation of an endpoint: who, status, RTT EWMA, reported capacity, age. */
struct ob {
	const char *addr;
	const char *observer;
	state_status_t st;
	uint32_t rtt_us;
	uint32_t capacity;
	uint64_t age_ms;
};

#define OB_MAX 16

/* A view holding obs (n of them, addresses keyed for monitor m). */
static state_view_t *view_of(const struct ob *obs, size_t n)
{
	state_obs_t o[OB_MAX];
	static char keys[OB_MAX][STATE_NAME_MAX + 1];
	assert_true(n <= OB_MAX);
	for (size_t i = 0; i < n; i++) {
		assert_true(state_endpoint_key(keys[i], sizeof(keys[i]), obs[i].addr, mon.port,
		                               mon.name) > 0);
		o[i] = (state_obs_t){.observer = obs[i].observer ? obs[i].observer : "n1",
		                     .endpoint = keys[i],
		                     .status = obs[i].st,
		                     .rtt_us = obs[i].rtt_us,
		                     .capacity = obs[i].capacity,
		                     .utilization = NAN,
		                     .observed_at_ms = NOW - obs[i].age_ms,
		                     .version = 1 + i};
	}
	state_view_t *view = NULL;
	assert_int_equal(state_view_from(o, n, NULL, 0, &view), 0);
	return view;
}

static pol_snap_t *snap_of(const cfg_t *c, const struct ob *obs, size_t n)
{
	state_view_t *view = view_of(obs, n);
	pol_inputs_t in = {.view = view, .now_ms = NOW};
	pol_snap_t *s = NULL;
	char err[256];
	assert_int_equal(pol_snap_build(c, NULL, &in, &s, err, sizeof(err)), 0);
	state_view_free(view);
	return s;
}

static const pol_service_t *svc_of(const pol_snap_t *s, int i)
{
	const pol_service_t *ps = pol_service_get(s, (size_t)i);
	assert_non_null(ps);
	return ps;
}

static const pol_client_t cl = {.family = AF_INET, .addr = {192, 0, 2, 99}, .source_prefix = 32};

/* Share of first answers per endpoint (indexes into svc->endpoints) over n draws. */
static void shares(const pol_snap_t *s, const pol_service_t *svc, unsigned n, double *out)
{
	aya_rng_t rng;
	aya_rng_seed(&rng, 7);
	for (unsigned i = 0; i < svc->n_endpoints; i++) {
		out[i] = 0;
	}
	for (unsigned i = 0; i < n; i++) {
		pol_result_t r;
		assert_int_equal(pol_answer(s, svc, AF_INET, &cl, aya_rng_next(&rng), &r, NULL),
		                 POL_OK);
		out[r.ep[0] - svc->endpoints] += 1.0 / n;
	}
}

static void expect_shares(const char *name, const double *got, const double *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fabs(got[i] - want[i]) > 0.015) {
			fail_msg("%s: endpoint %zu got %.3f, want %.3f", name, i, got[i], want[i]);
		}
	}
}

/* The effective capacity: reported beats configured; 0 when neither knows. */
static void test_endpoint_capacity(void **state)
{
	(void)state;
	cfg_endpoint_t e = {.capacity = 5};
	pol_ep_health_t h = {.capacity = 0};
	assert_float_equal(pol_endpoint_capacity(&e, NULL), 5, 0);
	assert_float_equal(pol_endpoint_capacity(&e, &h), 5, 0);
	h.capacity = 7;
	assert_float_equal(pol_endpoint_capacity(&e, &h), 7, 0);
	e.capacity = 0;
	assert_float_equal(pol_endpoint_capacity(&e, &h), 7, 0);
	h.capacity = 0;
	assert_float_equal(pol_endpoint_capacity(&e, &h), 0, 0);
}

/*
 * Across observers: the capacity of the latest fresh observation that knows
 * one, the lowest fresh RTT; DOWN and stale observations count for neither.
 */
static void test_eval_aggregate(void **state)
{
	(void)state;
	const uint64_t stale = 5000;
	state_obs_t o[] = {
	        {.status = STATE_ST_UP,
	         .rtt_us = 30000,
	         .capacity = 100,
	         .observed_at_ms = NOW - 500},
	        {.status = STATE_ST_UP,
	         .rtt_us = 12000,
	         .capacity = 200,
	         .observed_at_ms = NOW - 100},
	        {.status = STATE_ST_UP, .rtt_us = 0, .capacity = 0, .observed_at_ms = NOW - 10},
	        {.status = STATE_ST_DOWN,
	         .rtt_us = 1000,
	         .capacity = 999,
	         .observed_at_ms = NOW - 5},
	        {.status = STATE_ST_UP, .rtt_us = 500, .capacity = 5, .observed_at_ms = NOW - 9000},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(o); i++) {
		o[i].utilization = NAN;
	}
	pol_health_rule_t rule = {.quorum = CFG_QUORUM_MAJORITY, .unobserved_up = true};
	pol_ep_health_t h;
	pol_health_eval(o, AYA_ARRAY_LEN(o), NOW, stale, 0, rule, &h);
	assert_true(h.healthy);
	assert_int_equal(h.n_fresh, 4);
	assert_int_equal(h.capacity, 200);
	assert_int_equal(h.rtt_us, 12000);
	/* Nothing fresh knows either: both unknown. */
	pol_health_eval(o + 2, 3, NOW, stale, 0, rule, &h);
	assert_int_equal(h.capacity, 0);
	assert_int_equal(h.rtt_us, 0);
}

/* weighted: a pool's answers split by capacity, unknown = the pool's mean known capacity. */
static void test_capacity_shares(void **state)
{
	(void)state;
	const unsigned n = 40000;
	double got[8];
	/* Configured only: A 100, B 300, C unknown = 200 -> 1/6, 1/2, 1/3. */
	pol_snap_t *s = snap_of(&cfg, NULL, 0);
	const pol_service_t *svc = svc_of(s, S_CAP);
	assert_float_equal(svc->endpoints[0].cap_share, 0.5, 1e-12);
	assert_float_equal(svc->endpoints[1].cap_share, 1.5, 1e-12);
	assert_float_equal(svc->endpoints[2].cap_share, 1.0, 0);
	shares(s, svc, n, got);
	expect_shares("configured, mixed", got, (const double[]){1.0 / 6, 0.5, 1.0 / 3}, 3);
	/* A pool where none is known keeps weight x headroom: shares of exactly 1. */
	const pol_service_t *mix = svc_of(s, S_MIX);
	for (unsigned i = 2; i < 4; i++) {
		assert_true(mix->endpoints[i].cap_share == 1.0);
		assert_int_equal(mix->endpoints[i].capacity, 0);
	}
	/* One tier of two pools: eu keeps its half (by weight), its capacity splits it 1:3. */
	shares(s, mix, n, got);
	expect_shares("two pools", got, (const double[]){0.125, 0.375, 0.25, 0.25}, 4);
	/* Explain shows the capacities behind weighted's draw. */
	static pol_trace_t t;
	pol_result_t r;
	assert_int_equal(pol_answer(s, svc_of(s, S_CAP), AF_INET, &cl, 1, &r, &t), POL_OK);
	char text[4096];
	pol_trace_format(&t, text, sizeof(text));
	assert_non_null(strstr(text, "  192.0.2.2 (eu) weight 1 capacity 300 (share 1.50)\n"));
	assert_non_null(strstr(text, "  192.0.2.3 (eu) weight 1\n"));
	pol_snap_free(s);

	/* Reported beats configured: A reports 700 -> known 700, 300, mean 500: 1.4, 0.6, 1. */
	const struct ob rep[] = {{"192.0.2.1", "n1", STATE_ST_UP, 1000, 700, 10},
	                         {"192.0.2.2", "n1", STATE_ST_UP, 1000, 0, 10}};
	s = snap_of(&cfg, rep, AYA_ARRAY_LEN(rep));
	svc = svc_of(s, S_CAP);
	assert_int_equal(svc->endpoints[0].capacity, 700);
	assert_int_equal(svc->endpoints[1].capacity, 300); /* reports none: the configured one */
	assert_int_equal(svc->endpoints[2].capacity, 0);
	shares(s, svc, n, got);
	expect_shares("reported", got, (const double[]){1.4 / 3, 0.6 / 3, 1.0 / 3}, 3);
	pol_snap_free(s);

	/* Headroom still multiplies: B at 0.5 utilization halves its capacity share. */
	state_obs_t half = {.observer = "n1",
	                    .status = STATE_ST_UP,
	                    .utilization = 0.5,
	                    .observed_at_ms = NOW - 10,
	                    .version = 1};
	char key[STATE_NAME_MAX + 1];
	assert_true(state_endpoint_key(key, sizeof(key), "192.0.2.2", mon.port, mon.name) > 0);
	half.endpoint = key;
	state_view_t *view = NULL;
	assert_int_equal(state_view_from(&half, 1, NULL, 0, &view), 0);
	pol_inputs_t in = {.view = view, .now_ms = NOW};
	char err[256];
	assert_int_equal(pol_snap_build(&cfg, NULL, &in, &s, err, sizeof(err)), 0);
	shares(s, svc_of(s, S_CAP), n, got);
	/* 0.5 x 1, 1.5 x 0.5, 1 x 1 of 2.25. */
	expect_shares("headroom", got, (const double[]){0.5 / 2.25, 0.75 / 2.25, 1.0 / 2.25}, 3);
	pol_snap_free(s);
	state_view_free(view);
}

/* The load loop sizes a pool by the same capacities: reported, else configured, else 1. */
static void test_steer_capacity(void **state)
{
	(void)state;
	pol_steer_t *st = NULL;
	assert_int_equal(pol_steer_new(&st), 0);
	assert_int_equal(pol_steer_sync(st, &cfg, true), 0);
	const struct ob rep[] = {{"192.0.2.1", "n1", STATE_ST_UP, 1000, 700, 10},
	                         {"192.0.2.2", "n1", STATE_ST_UP, 1000, 0, 10},
	                         {"192.0.2.3", "n1", STATE_ST_UP, 1000, 0, 10}};
	state_view_t *view = view_of(rep, AYA_ARRAY_LEN(rep));
	(void)pol_steer_update(st, &cfg, view, NOW, NULL, NULL);
	const pol_steer_pool_t *p = pol_steer_find(st, "cap.example.com", "eu");
	assert_non_null(p);
	assert_float_equal(p->capacity, 700 + 300 + 1, 1e-9);
	state_view_free(view);
	pol_steer_free(st);
}

/* The order of svc's answer (every candidate) as text. */
static const char *order_of(const pol_snap_t *s, int si, uint64_t rnd, char *buf, size_t len)
{
	const pol_service_t *svc = svc_of(s, si);
	pol_result_t r;
	assert_int_equal(pol_answer(s, svc, AF_INET, &cl, rnd, &r, NULL), POL_OK);
	/* The traced whole chain answers the same. */
	static pol_trace_t t;
	pol_result_t r2;
	assert_int_equal(pol_answer(s, svc, AF_INET, &cl, rnd, &r2, &t), POL_OK);
	assert_int_equal(r.count, r2.count);
	assert_memory_equal(r.ep, r2.ep, r.count * sizeof(r.ep[0]));
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < r.count && n < len; i++) {
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", r.ep[i]->text);
	}
	return buf;
}

struct lat_case {
	const char *name;
	uint32_t rtt_ms10[4]; /* A B C D, tenths of a ms; 0 = unknown */
	const char *order;    /* lat10: tolerance 10 ms */
};

static const struct lat_case lat_cases[] = {
        {"nothing known: config order", {0, 0, 0, 0}, "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4"},
        {"steps of 10 ms from the best, unknown last",
         {500, 120, 0, 250},
         "192.0.2.2 192.0.2.4 192.0.2.1 192.0.2.3"},
        {"within the tolerance of the best: config order kept",
         {120, 110, 199, 140},
         "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4"},
        {"just at the tolerance: next step",
         {120, 110, 210, 140},
         "192.0.2.1 192.0.2.2 192.0.2.4 192.0.2.3"},
        {"one unknown among known ones goes last",
         {0, 110, 115, 500},
         "192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.1"},
};

/* Observations giving A..D (of lat10) the RTTs of a case. */
static size_t lat_obs(const uint32_t *rtt_ms10, struct ob *out)
{
	size_t n = 0;
	for (size_t i = 0; i < 4; i++) {
		if (rtt_ms10[i] != 0) {
			out[n++] = (struct ob){eu_eps[i].text,    "n1", STATE_ST_UP,
			                       rtt_ms10[i] * 100, 0,    10};
		}
	}
	return n;
}

static void test_latency_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(lat_cases); i++) {
		const struct lat_case *c = &lat_cases[i];
		struct ob obs[4];
		pol_snap_t *s = snap_of(&cfg, obs, lat_obs(c->rtt_ms10, obs));
		char buf[256];
		if (strcmp(order_of(s, S_LAT10, 1, buf, sizeof(buf)), c->order) != 0) {
			fail_msg("%s: got '%s', want '%s'", c->name, buf, c->order);
		}
		/* Static: the fast path's prefix holds it. */
		assert_int_equal(svc_of(s, S_LAT10)->fast->steps, 2);
		pol_snap_free(s);
	}
}

/* Noise below the tolerance never changes the order. */
static void test_latency_noise(void **state)
{
	(void)state;
	aya_rng_t rng;
	aya_rng_seed(&rng, 3);
	for (unsigned k = 0; k < 200; k++) {
		uint32_t r[4];
		for (size_t i = 0; i < 4; i++) {
			/* 12 ms +- 4.5 ms: at most 9 ms apart, under the 10 ms tolerance. */
			r[i] = 75 + (uint32_t)(aya_rng_unit(&rng) * 90);
		}
		struct ob obs[4];
		pol_snap_t *s = snap_of(&cfg, obs, lat_obs(r, obs));
		char buf[256];
		assert_string_equal(order_of(s, S_LAT10, k, buf, sizeof(buf)),
		                    "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4");
		pol_snap_free(s);
	}
}

/*
 * Pools: without geo every pool is one tier, so the faster pool answers;
 * with geo the pools keep geo's order and latency orders inside each.
 */
static void test_latency_tiers(void **state)
{
	(void)state;
	const struct ob obs[] = {{"192.0.2.1", "n1", STATE_ST_UP, 80000, 0, 10},
	                         {"192.0.2.2", "n1", STATE_ST_UP, 40000, 0, 10},
	                         {"198.51.100.1", "n1", STATE_ST_UP, 5000, 0, 10}};
	pol_snap_t *s = snap_of(&cfg, obs, AYA_ARRAY_LEN(obs));
	char buf[256];
	assert_string_equal(order_of(s, S_LAT, 1, buf, sizeof(buf)), "198.51.100.1");
	assert_string_equal(order_of(s, S_GEOLAT, 1, buf, sizeof(buf)), "192.0.2.2");
	pol_snap_free(s);
}

/* After weighted: a random pick among the fastest step only. */
static void test_latency_after_weighted(void **state)
{
	(void)state;
	const struct ob obs[] = {{"192.0.2.1", "n1", STATE_ST_UP, 10000, 0, 10},
	                         {"192.0.2.2", "n1", STATE_ST_UP, 25000, 0, 10},
	                         {"192.0.2.3", "n1", STATE_ST_UP, 45000, 0, 10}};
	pol_snap_t *s = snap_of(&cfg, obs, AYA_ARRAY_LEN(obs));
	double got[8];
	shares(s, svc_of(s, S_WLAT), 20000, got);
	/*
	 * 10 and 25 ms are one step (20 ms), 45 ms the next, 192.0.2.4 unknown
	 * last: the first of A and B in weighted's order answers, A before B with
	 * odds 0.5 : 1.5 (their capacity shares).
	 */
	expect_shares("weighted then latency", got, (const double[]){0.25, 0.75, 0, 0}, 4);
	pol_snap_free(s);
}

/* Explain shows the tolerance and every endpoint's RTT at the latency step. */
static void test_latency_explain(void **state)
{
	(void)state;
	struct ob obs[4];
	pol_snap_t *s = snap_of(&cfg, obs, lat_obs((const uint32_t[]){500, 123, 0, 250}, obs));
	pol_trace_t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	pol_result_t r;
	assert_int_equal(pol_answer(s, svc_of(s, S_LAT10), AF_INET, &cl, 1, &r, t), POL_OK);
	char buf[4096];
	pol_trace_format(t, buf, sizeof(buf));
	const char *want[] = {
	        "step 2 latency 10:",
	        "probe RTTs less than 10 ms above their tier's best count as equal",
	        "  order: 192.0.2.2 (rtt 12.3 ms) 192.0.2.4 (rtt 25.0 ms) 192.0.2.1 (rtt 50.0 ms) "
	        "192.0.2.3 (rtt unknown)\n",
	        "answer: 192.0.2.2 192.0.2.4 192.0.2.1 192.0.2.3 ttl 30",
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(want); i++) {
		if (strstr(buf, want[i]) == NULL) {
			fail_msg("missing '%s' in:\n%s", want[i], buf);
		}
	}
	/* Other steps do not show RTTs. */
	const char *healthy = strstr(buf, "step 1 healthy:");
	const char *latency = strstr(buf, "step 2 latency");
	assert_non_null(healthy);
	assert_non_null(latency);
	for (const char *p = healthy; p < latency; p++) {
		assert_false(strncmp(p, " rtt ", 5) == 0);
	}
	free(t);
	pol_snap_free(s);
}

/*
 * pol_snap_current: a reported capacity moving by POL_CAPACITY_STEP or
 * more, and, in a service with latency, an RTT moving by half the tolerance
 * or more (or becoming known or unknown), call for a rebuild.
 */
static void test_snap_current(void **state)
{
	(void)state;
	/* cap (no latency) and lat10 (10 ms) share A. */
	cfg_service_t two[] = {services[S_CAP], services[S_LAT10]};
	cfg_zone_t z = {.name = "example.com", .services = two, .n_services = 2};
	cfg_t c = cfg;
	c.zones = &z;
	struct ob obs[] = {{"192.0.2.1", "n1", STATE_ST_UP, 12000, 700, 10}};
	pol_snap_t *s = snap_of(&c, obs, 1);
	static const struct {
		const char *name;
		uint32_t rtt_us, capacity;
		bool current;
	} cases[] = {
	        {"same", 12000, 700, true},
	        {"rtt moved 4.9 ms of 10", 16900, 700, true},
	        {"rtt moved 5 ms: rebuild", 17000, 700, false},
	        {"rtt moved down 5 ms: rebuild", 7000, 700, false},
	        {"rtt unknown: rebuild", 0, 700, false},
	        {"capacity moved under 5%", 12000, 730, true},
	        {"capacity moved over 5%: rebuild", 12000, 740, false},
	        {"capacity unknown: rebuild", 12000, 0, false},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		obs[0].rtt_us = cases[i].rtt_us;
		obs[0].capacity = cases[i].capacity;
		state_view_t *v = view_of(obs, 1);
		assert_int_equal(pol_snap_current(s, v, NOW), cases[i].current);
		state_view_free(v);
	}
	pol_snap_free(s);
	/* Without a latency filter RTTs do not matter. */
	z.n_services = 1;
	obs[0].rtt_us = 12000;
	obs[0].capacity = 700;
	s = snap_of(&c, obs, 1);
	obs[0].rtt_us = 90000;
	state_view_t *v = view_of(obs, 1);
	assert_true(pol_snap_current(s, v, NOW));
	state_view_free(v);
	pol_snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_endpoint_capacity),
	        cmocka_unit_test(test_eval_aggregate),
	        cmocka_unit_test(test_capacity_shares),
	        cmocka_unit_test(test_steer_capacity),
	        cmocka_unit_test(test_latency_order),
	        cmocka_unit_test(test_latency_noise),
	        cmocka_unit_test(test_latency_tiers),
	        cmocka_unit_test(test_latency_after_weighted),
	        cmocka_unit_test(test_latency_explain),
	        cmocka_unit_test(test_snap_current),
	};
	return cmocka_run_group_tests_name("policy capacity and rtt", tests, setup, NULL);
}
