/*
 * Steering through DNS caches, in simulation (tests/policy/steer_sim.h):
 * scenarios of the load-aware steering work, run under the real policy and
 * under a least-loaded rule for comparison, with a printed table of the
 * metrics (convergence in TTLs, overshoot above the limit, oscillation).
 *
 * What is asserted holds for any rule: every client query lands somewhere
 * (no unanswered query, offered load = served load), runs are
 * deterministic for a seed, a population below capacity stays put, and the
 * simulation's physics (a pool that nobody steers away from carries all of
 * its home demand; least-loaded herds whole populations between pools).
 * The steering goals (within 10% of target in 3 TTLs, overshoot under 5%,
 * stddev under 0.05) are printed next to the figures; they become
 * assertions with the control loop.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>

#include "policy/policy.h"
#include "tests/geo/fixture.h"
#include "tests/policy/steer_sim.h"

struct fixture {
	char dir[64], path[128];
	geo_tree_t *geo;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || fx_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path)) != 0) {
		free(f);
		return -1;
	}
	geo_build_opts_t o = {.database = f->path, .regions = fx_regions, .n_regions = R_COUNT};
	if (geo_tree_build(&o, &f->geo, NULL, 0) != 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	geo_tree_unref(f->geo);
	fx_remove(f->dir, f->path);
	free(f);
	return 0;
}

/*
 * eu-west of 1,000 q/s, us-east and ap-south of 2,000 each; resolvers in DE,
 * US and IN (nearest to each); TTL 30 s, probe interval 1 s.
 */
#define BASE                                                                                       \
	.n_pools = 3, .region = {R_EU_WEST, R_US_EAST, R_AP_SOUTH},                                \
	.addr = {"10.0.1.1", "10.0.2.1", "10.0.3.1"},                                              \
	.client = {"192.0.2.0", "198.51.100.0", "203.0.113.0"}, .capacity = {1000, 2000, 2000},    \
	.resolvers_per_pool = 1000, .ttl_s = 30, .probe_s = 1, .duration_s = 600, .target = 0.8,   \
	.limit = 0.95

/* A cheap eu-west and us-east of 1,000 q/s each, a costly burst pool of 2,000 far away. */
#define BURST                                                                                      \
	.n_pools = 3, .region = {R_EU_WEST, R_US_EAST, R_AP_SOUTHEAST},                            \
	.addr = {"10.0.1.1", "10.0.2.1", "10.0.4.1"},                                              \
	.client = {"192.0.2.0", "198.51.100.0", "203.0.113.0"}, .capacity = {1000, 1000, 2000},    \
	.cost = {1, 1, 5}, .burst = {false, false, true}, .resolvers_per_pool = 1000, .ttl_s = 30, \
	.probe_s = 1, .duration_s = 600, .target = 0.8, .limit = 0.95

enum {
	SC_STEADY,
	SC_FLASH,
	SC_HALF,
	SC_COST,
	SC_BURST,
	SC_BURST_STEP,
	SC_BURST_DOWN,
	SC_PARTITION,
	SC_COUNT
};
static const ss_scenario_t scenarios[SC_COUNT] = {
        [SC_STEADY] = {.name = "steady 0.5", BASE, .demand = {500, 1000, 1000}},
        /* eu's demand grows from 0.5 to 3x its capacity over a minute; the three together
         * still fit at 0.76. */
        [SC_FLASH] = {.name = "flash crowd 3x eu",
                      BASE,
                      .demand = {500, 400, 400},
                      .events = {{.at_s = 60, .pool = 0, .demand_mult = 6, .ramp_s = 60}},
                      .n_events = 1},
        [SC_HALF] = {.name = "eu loses half",
                     BASE,
                     .demand = {700, 600, 600},
                     .events = {{.at_s = 60, .pool = 0, .cap_mult = 0.5}},
                     .n_events = 1},
        /* Every region near (tolerance 20,000 km): cost alone orders. eu is cheaper and
         * full at target, us takes the rest; then eu costs more than us. */
        [SC_COST] = {.name = "cost change",
                     .n_pools = 2,
                     .region = {R_EU_WEST, R_US_EAST},
                     .addr = {"10.0.1.1", "10.0.2.1"},
                     .client = {"192.0.2.0", "198.51.100.0"},
                     .capacity = {1000, 2000},
                     .demand = {600, 400},
                     .cost = {1, 2},
                     .cost_tolerance_km = 20000,
                     .resolvers_per_pool = 1000,
                     .ttl_s = 30,
                     .probe_s = 1,
                     .duration_s = 600,
                     .target = 0.8,
                     .limit = 0.95,
                     .events = {{.at_s = 200, .pool = 0, .cost = 3}},
                     .n_events = 1},
        /* eu's demand doubles over 30 s: the cheap pools fill to target, the rest bursts. */
        [SC_BURST] = {.name = "burst",
                      BURST,
                      .demand = {600, 600, 0},
                      .events = {{.at_s = 60, .pool = 0, .demand_mult = 2, .ramp_s = 30},
                                 {.at_s = 300, .pool = 0, .demand_mult = 0.5, .ramp_s = 30}},
                      .n_events = 2},
        /* The end-to-end test's shape: one cheap pool of 400 q/s and a burst pool; the demand
         * steps at once from half to twice the cheap pool's capacity. */
        [SC_BURST_STEP] = {.name = "burst, 4x step",
                           .n_pools = 2,
                           .region = {R_EU_WEST, R_AP_SOUTHEAST},
                           .addr = {"10.0.1.1", "10.0.4.1"},
                           .client = {"192.0.2.0", "203.0.113.0"},
                           .capacity = {400, 2000},
                           .demand = {200, 0},
                           .cost = {1, 5},
                           .burst = {false, true},
                           .resolvers_per_pool = 1000,
                           .ttl_s = 30,
                           .probe_s = 1,
                           .duration_s = 600,
                           .target = 0.8,
                           .limit = 0.95,
                           .events = {{.at_s = 60, .pool = 0, .demand_mult = 4}},
                           .n_events = 1},
        /* Overflow into the burst pool, which then fails: the cheap pools take it back, up to
         * 0.825, under their limit. */
        [SC_BURST_DOWN] = {.name = "burst pool fails",
                           BURST,
                           .demand = {1020, 630, 0},
                           .events = {{.at_s = 300, .pool = 2, .down = true}},
                           .n_events = 1},
        /* Three nodes; the third is cut off just before eu's demand doubles. */
        [SC_PARTITION] = {.name = "1 of 3 nodes cut",
                          BASE,
                          .nodes = 3,
                          .demand = {700, 600, 600},
                          .events = {{.at_s = 60, .partition = 2},
                                     {.at_s = 70, .pool = 0, .demand_mult = 2, .ramp_s = 60}},
                          .n_events = 2},
};

#define T0 1700000000000ull
static ss_result_t results[SC_COUNT][SS_RULE_COUNT];
#ifndef SEED
#define SEED (getenv("SEED") ? strtoull(getenv("SEED"), NULL, 0) : 42)
#endif
static bool ran;

static void run_all(void **state)
{
	struct fixture *f = *state;
	if (ran) {
		return;
	}
	for (size_t s = 0; s < SC_COUNT; s++) {
		for (int rule = 0; rule < SS_RULE_COUNT; rule++) {
			assert_int_equal(ss_run(&scenarios[s], (ss_rule_t)rule, f->geo, SEED,
			                        &results[s][rule]),
			                 0);
		}
	}
	ran = true;
}

static void burst_text(const ss_result_t *r, char *buf, size_t len)
{
	if (r->burst_least <= 0) {
		snprintf(buf, len, "%.1f%%",
		         r->offered > 0 ? 100 * r->burst_served / r->offered : 0);
	} else {
		snprintf(buf, len, "%.2fx", r->burst_served / r->burst_least);
	}
}

static void print_table(void)
{
	print_message("| scenario | rule | converge | overshoot | (incl. steps) | stddev | burst | "
	              "away | peak utilization |\n|---|---|---|---|---|---|---|---|---|\n");
	for (size_t s = 0; s < SC_COUNT; s++) {
		for (int rule = 0; rule < SS_RULE_COUNT; rule++) {
			const ss_result_t *r = &results[s][rule];
			char conv[16], burst[16], peak[48];
			if (r->converge_ttl < 0) {
				snprintf(conv, sizeof(conv), "never");
			} else {
				snprintf(conv, sizeof(conv), "%.1f TTL", r->converge_ttl);
			}
			burst_text(r, burst, sizeof(burst));
			size_t n = 0;
			for (size_t p = 0; p < scenarios[s].n_pools; p++) {
				n += (size_t)snprintf(peak + n, sizeof(peak) - n, "%s%.2f",
				                      p ? " / " : "", r->peak[p]);
			}
			print_message("| %s | %s | %s | %.3f | %.3f | %.3f | %s | %.0f%% | %s |\n",
			              scenarios[s].name, ss_rule_name((ss_rule_t)rule), conv,
			              r->overshoot, r->overshoot_all, r->stddev, burst,
			              100 * r->away / r->offered, peak);
		}
	}
	print_message("goals (aya): converge <= 3 TTL, overshoot < 0.05, stddev < 0.05, burst "
	              "within 10%% of the least possible, no unanswered query\n");
}

/* Every client's load lands on a pool; nothing is left unanswered. */
static void test_conservation(void **state)
{
	run_all(state);
	print_table();
	for (size_t s = 0; s < SC_COUNT; s++) {
		for (int rule = 0; rule < SS_RULE_COUNT; rule++) {
			const ss_result_t *r = &results[s][rule];
			assert_int_equal(r->unanswered, 0);
			assert_true(r->queries > 0);
			assert_float_equal(r->served, r->offered, 1e-6 * r->offered);
		}
	}
}

/* The same seed gives the same run. */
static void test_deterministic(void **state)
{
	struct fixture *f = *state;
	ss_result_t a, b;
	assert_int_equal(ss_run(&scenarios[SC_FLASH], SS_RULE_AYA, f->geo, 7, &a), 0);
	assert_int_equal(ss_run(&scenarios[SC_FLASH], SS_RULE_AYA, f->geo, 7, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

/* Below capacity nothing moves: every pool carries its own demand, no overshoot. */
static void test_steady(void **state)
{
	run_all(state);
	const ss_result_t *r = &results[SC_STEADY][SS_RULE_AYA];
	assert_true(r->converge_ttl == 0);
	assert_true(r->overshoot_all == 0);
	for (size_t p = 0; p < 3; p++) {
		assert_float_equal(r->mean_last[p], 0.5, 0.02);
	}
}

/* The goals, for Aya's loop in every scenario. */
static void test_goals(void **state)
{
	run_all(state);
	for (size_t s = 0; s < SC_COUNT; s++) {
		const ss_result_t *r = &results[s][SS_RULE_AYA];
		if (r->converge_ttl < 0 || r->converge_ttl > 3 || r->overshoot >= 0.05 ||
		    r->stddev >= 0.05) {
			fail_msg("%s: converge %.1f TTL, overshoot %.3f, stddev %.3f",
			         scenarios[s].name, r->converge_ttl, r->overshoot, r->stddev);
		}
		/* Where the overflow is at least 5% of the traffic: under that, the noise of the
		 * pools around their target weighs more than the overflow itself. */
		if (r->burst_least > 0.05 * r->offered && r->burst_served > 1.1 * r->burst_least) {
			fail_msg("%s: burst %.0f, least possible %.0f", scenarios[s].name,
			         r->burst_served, r->burst_least);
		}
		if (r->burst_least == 0 && r->burst_served > 0.01 * r->offered) {
			fail_msg("%s: burst %.0f with no overflow", scenarios[s].name,
			         r->burst_served);
		}
	}
}

/*
 * The physics of the comparison rules: least-loaded on one-interval-old
 * reports herds (whole caches move each TTL, the hot pool swings); static
 * weights ignore the load, so a flash crowd overloads nobody but sends
 * traffic everywhere, including burst pools with no overflow.
 */
static void test_physics(void **state)
{
	run_all(state);
	const ss_result_t *ll = &results[SC_FLASH][SS_RULE_LEAST_LOADED];
	assert_true(ll->stddev > 0.1);
	const ss_result_t *st = &results[SC_BURST][SS_RULE_STATIC];
	assert_true(st->burst_served > 2 * st->burst_least);
}

/* A cost change moves the traffic to the now cheaper pool, within its target. */
static void test_cost(void **state)
{
	run_all(state);
	const ss_result_t *r = &results[SC_COST][SS_RULE_AYA];
	assert_true(r->mean_last[0] < 0.02);
	assert_float_equal(r->mean_last[1], 0.5, 0.03);
}

/* The loop of one pool, step by step (pol_steer_step, pol_steer_mean). */
static void test_loop(void **state)
{
	(void)state;
	pol_steer_pool_t p = {0};
	p.p = (pol_steer_params_t){.target = 0.8,
	                           .limit = 0.95,
	                           .ttl_ms = 30000,
	                           .interval_ms = 1000,
	                           .forecast = true};
	p.admit = p.published = 1.0;
	p.utilization = p.pressure = p.forecast = p.level = p.u_smooth = NAN;
	p.room = true;
	uint64_t t = T0;
	/* Under target: nothing moves, no version. */
	for (int i = 0; i < 60; i++) {
		assert_false(pol_steer_step(&p, 0.5, t += 1000));
	}
	assert_true(p.admit == 1.0 && p.version == 0);
	assert_float_equal(p.pressure, 0.5, 1e-9);
	/* Pressure 1.6 in steady state: the fraction goes to target / pressure = 0.5. */
	for (int i = 0; i < 120; i++) {
		double mean = pol_steer_mean(&p, t - 1000 - 30000, t - 1000);
		(void)pol_steer_step(&p, 1.6 * mean, t += 1000);
	}
	assert_float_equal(p.admit, 0.5, 0.02);
	assert_false(p.closed);
	assert_true(p.version > 0);
	/* Over the limit: closed at once; the mean counts it as 0. */
	(void)pol_steer_step(&p, 0.99, t += 1000);
	assert_true(p.closed);
	assert_float_equal(pol_steer_mean(&p, t, t + 1000), 0.0, 1e-9);
	(void)pol_steer_step(&p, 0.7, t += 1000);
	assert_false(p.closed);
	/* Unknown: hold for POL_STEER_HOLD_TTLS TTLs, then back to 1. */
	double held = p.admit;
	for (int i = 0; i < POL_STEER_HOLD_TTLS * 30 - 2; i++) {
		(void)pol_steer_step(&p, NAN, t += 1000);
	}
	assert_true(p.admit == held);
	for (int i = 0; i < 120; i++) {
		(void)pol_steer_step(&p, NAN, t += 1000);
	}
	assert_true(p.admit == 1.0);
	/* No room elsewhere: rising pressure does not wind the fraction down. */
	p.room = false;
	(void)pol_steer_step(&p, 0.6, t += 1000);
	double before = p.admit;
	for (int i = 0; i < 10; i++) {
		(void)pol_steer_step(&p, 0.9, t += 1000);
	}
	assert_true(p.admit == before);
}

/* The set: sync keeps a surviving pool's state, adopt takes another owner's fraction. */
static void test_set(void **state)
{
	(void)state;
	cfg_endpoint_t ep = {
	        .family = AF_INET, .weight = 1, .text = "10.0.0.1", .addr = {10, 0, 0, 1}};
	cfg_pool_t pools[2] = {
	        {.region = "eu-west",
	         .region_idx = R_EU_WEST,
	         .endpoints = &ep,
	         .n_endpoints = 1,
	         .target = 0.8,
	         .limit = 0.95},
	        {.region = "us-east",
	         .region_idx = R_US_EAST,
	         .endpoints = &ep,
	         .n_endpoints = 1,
	         .target = 0.7,
	         .limit = 0.9},
	};
	cfg_service_t svc = {.name = "www", .ttl_s = 30, .pools = pools, .n_pools = 2};
	assert_true(aya_dname_from_str("www.example.com", svc.owner) > 0);
	cfg_zone_t zone = {.name = "example.com", .services = &svc, .n_services = 1};
	cfg_t cfg = {.zones = &zone, .n_zones = 1, .regions = fx_regions, .n_regions = R_COUNT};
	pol_steer_t *st;
	assert_int_equal(pol_steer_new(&st), 0);
	assert_int_equal(pol_steer_sync(st, &cfg, true), 0);
	assert_int_equal(pol_steer_count(st), 2);
	assert_int_equal(pol_steer_adopt(st, "WWW.example.com.", "us-east", 0.4, false, T0), 1);
	assert_int_equal(pol_steer_adopt(st, "www.example.com", "nowhere", 0.4, false, T0),
	                 -ENOENT);
	const pol_steer_pool_t *p = pol_steer_find(st, "www.example.com", "us-east");
	assert_non_null(p);
	assert_float_equal(p->admit, 0.4, 1e-9);
	assert_float_equal(p->p.target, 0.7, 1e-9);
	/* A reload that drops eu-west keeps us-east's fraction. */
	svc.pools = &pools[1];
	svc.n_pools = 1;
	assert_int_equal(pol_steer_sync(st, &cfg, true), 0);
	assert_int_equal(pol_steer_count(st), 1);
	p = pol_steer_find(st, "www.example.com", "us-east");
	assert_non_null(p);
	assert_float_equal(p->admit, 0.4, 1e-9);
	assert_null(pol_steer_find(st, "www.example.com", "eu-west"));
	/* Without a view (no load known) an owner's update holds, then nothing changes. */
	assert_int_equal(pol_steer_update(st, &cfg, NULL, T0 + 1000, NULL, NULL), 0);
	pol_steer_free(st);
}

/* What the forecast buys: less overshoot on the flash crowd than the same loop without it. */
static void test_forecast(void **state)
{
	run_all(state);
	const ss_result_t *fc = &results[SC_FLASH][SS_RULE_AYA];
	const ss_result_t *no = &results[SC_FLASH][SS_RULE_AYA_NO_FC];
	assert_true(fc->overshoot_all <= no->overshoot_all);
}

int main(int argc, char **argv)
{
	/* test_steer SCENARIO RULE: the run's windows on stdout, for plots. */
	if (argc == 3) {
		struct fixture *f = NULL;
		if (setup((void **)&f) != 0) {
			return 1;
		}
		ss_trace = stdout;
		ss_result_t r;
		int rc =
		        ss_run(&scenarios[atoi(argv[1])], (ss_rule_t)atoi(argv[2]), f->geo, 42, &r);
		void *st = f;
		teardown(&st);
		return rc == 0 ? 0 : 1;
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_conservation), cmocka_unit_test(test_deterministic),
	        cmocka_unit_test(test_steady),       cmocka_unit_test(test_goals),
	        cmocka_unit_test(test_physics),      cmocka_unit_test(test_forecast),
	        cmocka_unit_test(test_cost),         cmocka_unit_test(test_loop),
	        cmocka_unit_test(test_set),
	};
	return cmocka_run_group_tests_name("steer", tests, setup, teardown);
}
