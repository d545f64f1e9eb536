/*
 * The `load` filter and the geo order's cost and burst rules (policy/answer.c):
 * shares of answers under admit fractions, pools over their limit, the
 * all-over-limit fallbacks, burst pools last, cheaper pools first within the
 * cost tolerance, the client-subnet draw under `hash`, and explain. The
 * fractions come from a pol_steer_t through pol_steer_adopt(), as in ayad
 * on a node that does not own the pools.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/dname.h"
#include "common/rng.h"
#include "policy/policy.h"
#include "tests/geo/fixture.h"

#define T0 1700000000000ull

static cfg_endpoint_t eps[3];
static const char *const addrs[3] = {"10.0.1.1", "10.0.2.1", "10.0.3.1"};
static cfg_pool_t pools[3] = {
        {.region_idx = R_EU_WEST, .endpoints = &eps[0], .n_endpoints = 1},
        {.region_idx = R_US_EAST, .endpoints = &eps[1], .n_endpoints = 1},
        {.region_idx = R_AP_SOUTH, .endpoints = &eps[2], .n_endpoints = 1},
};
static const cfg_filter_t chain_hash[] = {{.kind = CFG_FILTER_HEALTHY},
                                          {.kind = CFG_FILTER_GEO},
                                          {.kind = CFG_FILTER_LOAD},
                                          {.kind = CFG_FILTER_HASH},
                                          {.kind = CFG_FILTER_FIRST_N, .n = 1}};
enum { S_WWW, S_HASH, S_EMPTY, S_COUNT };
static cfg_service_t services[S_COUNT] = {
        [S_WWW] = {.name = "www", .pools = pools, .n_pools = 3, .cost_tolerance_km = 1000},
        [S_HASH] = {.name = "hash",
                    .pools = pools,
                    .n_pools = 3,
                    .policy = chain_hash,
                    .n_policy = 5,
                    .cost_tolerance_km = 1000},
        [S_EMPTY] = {.name = "empty",
                     .pools = pools,
                     .n_pools = 3,
                     .all_down = CFG_ALL_DOWN_EMPTY,
                     .cost_tolerance_km = 1000},
};
static cfg_region_t regions[R_COUNT];
static cfg_zone_t zone = {.name = "example.com", .services = services, .n_services = S_COUNT};
static cfg_t cfg = {.zones = &zone, .n_zones = 1, .regions = regions, .n_regions = R_COUNT};

struct fixture {
	char dir[64], path[128];
	geo_tree_t *geo;
	pol_steer_t *steer;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || fx_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path)) != 0) {
		free(f);
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		eps[i] = (cfg_endpoint_t){.family = AF_INET, .weight = 1};
		snprintf(eps[i].text, sizeof(eps[i].text), "%s", addrs[i]);
		if (inet_pton(AF_INET, addrs[i], eps[i].addr) != 1) {
			return -1;
		}
	}
	for (size_t i = 0; i < S_COUNT; i++) {
		char n[128];
		snprintf(n, sizeof(n), "%s.example.com", services[i].name);
		if (aya_dname_from_str(n, services[i].owner) < 0) {
			return -1;
		}
		services[i].ttl_s = 30;
	}
	geo_build_opts_t o = {.database = f->path, .regions = fx_regions, .n_regions = R_COUNT};
	if (geo_tree_build(&o, &f->geo, NULL, 0) != 0 || pol_steer_new(&f->steer) != 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pol_steer_free(f->steer);
	geo_tree_unref(f->geo);
	fx_remove(f->dir, f->path);
	free(f);
	return 0;
}

/* Before each test: the fixture's regions, every fraction 1. */
static int reset(void **state)
{
	struct fixture *f = *state;
	memcpy(regions, fx_regions, sizeof(regions));
	for (size_t i = 0; i < R_COUNT; i++) {
		regions[i].cost = 1;
		regions[i].burst = false;
	}
	for (size_t i = 0; i < S_COUNT; i++) {
		services[i].cost_tolerance_km = 1000;
	}
	pol_steer_free(f->steer);
	return pol_steer_new(&f->steer) == 0 && pol_steer_sync(f->steer, &cfg, true) == 0 ? 0 : -1;
}

static void set(struct fixture *f, const char *svc, const char *region, double admit, bool closed)
{
	char name[64];
	snprintf(name, sizeof(name), "%s.example.com", svc);
	assert_true(pol_steer_adopt(f->steer, name, region, admit, closed, T0) >= 0);
}

static pol_snap_t *snap(struct fixture *f, const state_obs_t *obs, size_t n)
{
	state_view_t *view = NULL;
	assert_int_equal(state_view_from(obs, n, NULL, 0, &view), 0);
	pol_inputs_t in = {.view = view, .now_ms = T0, .steer = f->steer};
	pol_snap_t *s = NULL;
	char err[256];
	int rc = pol_snap_build(&cfg, f->geo, &in, &s, err, sizeof(err));
	state_view_free(view);
	if (rc != 0) {
		fail_msg("build: %s", err);
	}
	return s;
}

static pol_client_t client(const char *a)
{
	pol_client_t c = {.family = AF_INET, .source_prefix = 24, .ecs = true};
	assert_int_equal(inet_pton(AF_INET, a, c.addr), 1);
	return c;
}

/* Which pool answers, over n draws: counts per pool, and how many were empty. */
static void shares(const pol_snap_t *s, size_t svc, const char *cl, unsigned n, unsigned *count,
                   unsigned *empty)
{
	pol_client_t c = client(cl);
	aya_rng_t rng;
	aya_rng_seed(&rng, 9);
	memset(count, 0, 3 * sizeof(*count));
	*empty = 0;
	for (unsigned i = 0; i < n; i++) {
		pol_result_t r;
		int rc = pol_answer(s, pol_service_get(s, svc), AF_INET, &c, aya_rng_next(&rng), &r,
		                    NULL);
		if (rc == POL_OK) {
			count[r.ep[0]->pool]++;
		} else {
			(*empty)++;
		}
	}
}

/* The draw walks the client's order: eu keeps 0.25, us half of the rest, ap the remainder. */
static void test_fractions(void **state)
{
	struct fixture *f = *state;
	set(f, "www", "eu-west", 0.25, false);
	set(f, "www", "us-east", 0.5, false);
	pol_snap_t *s = snap(f, NULL, 0);
	unsigned c[3], e;
	shares(s, S_WWW, "192.0.2.0", 20000, c, &e); /* DE: eu, us, ap */
	assert_int_equal(e, 0);
	assert_float_equal(c[0] / 20000.0, 0.25, 0.015);
	assert_float_equal(c[1] / 20000.0, 0.375, 0.015);
	assert_float_equal(c[2] / 20000.0, 0.375, 0.015);
	/* A US client meets us first: half stay, the rest go to eu (0.25) or on to ap. */
	shares(s, S_WWW, "198.51.100.0", 20000, c, &e);
	assert_float_equal(c[1] / 20000.0, 0.5, 0.015);
	pol_snap_free(s);
}

/* Over the limit: skipped; all of them: when_all_down. */
static void test_closed(void **state)
{
	struct fixture *f = *state;
	set(f, "www", "eu-west", 0.5, true);
	set(f, "empty", "eu-west", 0.5, true);
	pol_snap_t *s = snap(f, NULL, 0);
	unsigned c[3], e;
	shares(s, S_WWW, "192.0.2.0", 2000, c, &e);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 2000); /* us admits everything */
	pol_snap_free(s);
	for (size_t p = 0; p < 3; p++) {
		set(f, "www", regions[pools[p].region_idx].name, 0.5, true);
		set(f, "empty", regions[pools[p].region_idx].name, 0.5, true);
	}
	s = snap(f, NULL, 0);
	shares(s, S_WWW, "192.0.2.0", 2000, c, &e);
	assert_int_equal(c[0], 2000); /* answer_all: the chain as if all were open */
	shares(s, S_EMPTY, "192.0.2.0", 2000, c, &e);
	assert_int_equal(e, 2000);
	pol_snap_free(s);
}

/* A burst region comes after the others, even for the clients nearest to it. */
static void test_burst_last(void **state)
{
	struct fixture *f = *state;
	regions[R_AP_SOUTH].burst = true;
	pol_snap_t *s = snap(f, NULL, 0);
	unsigned c[3], e;
	shares(s, S_WWW, "203.0.113.0", 1000, c, &e); /* IN: nearest is ap-south */
	assert_int_equal(c[2], 0);
	pol_snap_free(s);
	/* Its turn comes when those before it pass their queries on. */
	set(f, "www", "eu-west", 0.0, false);
	set(f, "www", "us-east", 0.5, false);
	s = snap(f, NULL, 0);
	shares(s, S_WWW, "203.0.113.0", 20000, c, &e);
	assert_float_equal(c[2] / 20000.0, 0.5, 0.015);
	pol_snap_free(s);
	/* And when they are down. */
	state_obs_t obs[2];
	char keys[2][STATE_NAME_MAX + 1];
	pools[0].monitor = pools[1].monitor = "m";
	cfg_monitor_t mon = {.name = "m", .port = 80, .interval_ms = 1000, .fall = 3};
	cfg.monitors = &mon;
	cfg.n_monitors = 1;
	for (size_t p = 0; p < 2; p++) {
		assert_true(state_endpoint_key(keys[p], sizeof(keys[p]), addrs[p], 80, "m") > 0);
		obs[p] = (state_obs_t){.observer = "n",
		                       .endpoint = keys[p],
		                       .status = STATE_ST_DOWN,
		                       .utilization = NAN,
		                       .observed_at_ms = T0,
		                       .version = 1};
	}
	s = snap(f, obs, 2);
	shares(s, S_WWW, "192.0.2.0", 100, c, &e);
	assert_int_equal(c[2], 100);
	pol_snap_free(s);
	pools[0].monitor = pools[1].monitor = NULL;
	cfg.monitors = NULL;
	cfg.n_monitors = 0;
}

/* Within the tolerance, cheaper first; beyond it, distance first. */
static void test_cost_order(void **state)
{
	struct fixture *f = *state;
	regions[R_EU_WEST].cost = 3;
	regions[R_US_EAST].cost = 1;
	regions[R_AP_SOUTH].cost = 2;
	pol_snap_t *s = snap(f, NULL, 0);
	unsigned c[3], e;
	shares(s, S_WWW, "192.0.2.0", 100, c, &e); /* 1000 km: nothing near eu-west */
	assert_int_equal(c[0], 100);
	pol_snap_free(s);
	services[S_WWW].cost_tolerance_km = 20000;
	s = snap(f, NULL, 0);
	shares(s, S_WWW, "192.0.2.0", 100, c, &e);
	assert_int_equal(c[1], 100);
	pol_snap_free(s);
	/* A runtime override (ayactl cost) beats the config. */
	pol_cost_t over = {.region = "us-east", .cost = 9};
	pol_inputs_t in = {.now_ms = T0, .steer = f->steer, .costs = &over, .n_costs = 1};
	char err[128];
	assert_int_equal(pol_snap_build(&cfg, f->geo, &in, &s, err, sizeof(err)), 0);
	shares(s, S_WWW, "192.0.2.0", 100, c, &e);
	assert_int_equal(c[2], 100); /* ap (2) is now the cheapest */
	pol_snap_free(s);
}

/* Under `hash` the draw is the client subnet's: a subnet keeps its pool. */
static void test_hash_draw(void **state)
{
	struct fixture *f = *state;
	set(f, "hash", "eu-west", 0.5, false);
	pol_snap_t *s = snap(f, NULL, 0);
	unsigned kept = 0;
	for (unsigned net = 0; net < 64; net++) {
		char a[32];
		snprintf(a, sizeof(a), "192.0.2.%u", net * 4);
		pol_client_t c = client(a);
		c.addr[3] = 0;
		c.addr[2] = (uint8_t)net; /* 192.0.N.0/24: other subnets, still DE */
		pol_result_t r0, r;
		assert_int_equal(
		        pol_answer(s, pol_service_get(s, S_HASH), AF_INET, &c, 1, &r0, NULL),
		        POL_OK);
		for (uint64_t rnd = 2; rnd < 20; rnd++) {
			assert_int_equal(pol_answer(s, pol_service_get(s, S_HASH), AF_INET, &c, rnd,
			                            &r, NULL),
			                 POL_OK);
			assert_ptr_equal(r.ep[0], r0.ep[0]);
		}
		assert_true(r0.scope >= 24);
		kept += r0.ep[0]->pool == 0;
	}
	assert_true(kept > 16 && kept < 48); /* about half the subnets stay on eu */
	pol_snap_free(s);
}

static void test_explain(void **state)
{
	struct fixture *f = *state;
	set(f, "www", "eu-west", 0.25, false);
	set(f, "www", "us-east", 0.5, true);
	pol_snap_t *s = snap(f, NULL, 0);
	pol_trace_t *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	pol_client_t c = client("192.0.2.0");
	pol_result_t r;
	assert_int_equal(pol_answer(s, pol_service_get(s, S_WWW), AF_INET, &c, 12345, &r, t),
	                 POL_OK);
	char text[8192];
	pol_trace_format(t, text, sizeof(text));
	assert_non_null(strstr(text, "step 4 load:"));
	assert_non_null(strstr(text, "pool eu-west: utilization - forecast - target 0.80 limit "
	                             "0.95 admit 0.25"));
	assert_non_null(strstr(text, "(closed: over limit)"));
	assert_non_null(strstr(text, "draw: 0."));
	assert_non_null(strstr(text, "pool over its utilization limit"));
	assert_true(strstr(text, "admitted") != NULL || strstr(text, "declined") != NULL);
	free(t);
	pol_snap_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_fractions, reset),
	        cmocka_unit_test_setup(test_closed, reset),
	        cmocka_unit_test_setup(test_burst_last, reset),
	        cmocka_unit_test_setup(test_cost_order, reset),
	        cmocka_unit_test_setup(test_hash_draw, reset),
	        cmocka_unit_test_setup(test_explain, reset),
	};
	return cmocka_run_group_tests_name("load", tests, setup, teardown);
}
