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
 * US and IN (nearest to each). A flash crowd of 3x eu's capacity still fits
 * the three together at 0.72, under the 0.8 target.
 */
#define BASE                                                                                       \
	.n_pools = 3, .region = {R_EU_WEST, R_US_EAST, R_AP_SOUTH},                                \
	.addr = {"10.0.1.1", "10.0.2.1", "10.0.3.1"},                                              \
	.client = {"192.0.2.0", "198.51.100.0", "203.0.113.0"}, .capacity = {1000, 2000, 2000},    \
	.resolvers_per_pool = 200, .ttl_s = 30, .probe_s = 1, .duration_s = 600, .target = 0.8,    \
	.limit = 0.95

enum { SC_STEADY, SC_FLASH, SC_HALF, SC_COUNT };
static const ss_scenario_t scenarios[SC_COUNT] = {
        [SC_STEADY] = {.name = "steady 0.5", BASE, .demand = {500, 1000, 1000}},
        [SC_FLASH] = {.name = "flash crowd 3x eu",
                      BASE,
                      .demand = {500, 600, 600},
                      .events = {{.at_s = 60, .pool = 0, .demand_mult = 6}},
                      .n_events = 1},
        [SC_HALF] = {.name = "eu loses half",
                     BASE,
                     .demand = {700, 600, 600},
                     .events = {{.at_s = 60, .pool = 0, .cap_mult = 0.5}},
                     .n_events = 1},
};

static ss_result_t results[SC_COUNT][SS_RULE_COUNT];

static void run_all(void **state)
{
	struct fixture *f = *state;
	for (size_t s = 0; s < SC_COUNT; s++) {
		for (int rule = 0; rule < SS_RULE_COUNT; rule++) {
			assert_int_equal(ss_run(&scenarios[s], (ss_rule_t)rule, f->geo, 42,
			                        &results[s][rule]),
			                 0);
		}
	}
}

static void print_table(void)
{
	print_message("%-20s %-13s %9s %9s %7s %23s %9s\n", "scenario", "rule", "converge",
	              "overshoot", "stddev", "peak eu/us/ap", "queries");
	for (size_t s = 0; s < SC_COUNT; s++) {
		for (int rule = 0; rule < SS_RULE_COUNT; rule++) {
			const ss_result_t *r = &results[s][rule];
			char conv[16];
			if (r->converge_ttl < 0) {
				snprintf(conv, sizeof(conv), "never");
			} else {
				snprintf(conv, sizeof(conv), "%.1f TTL", r->converge_ttl);
			}
			print_message("%-20s %-13s %9s %9.2f %7.3f %7.2f/%7.2f/%7.2f %9llu\n",
			              scenarios[s].name, ss_rule_name((ss_rule_t)rule), conv,
			              r->overshoot, r->stddev, r->peak[0], r->peak[1], r->peak[2],
			              (unsigned long long)r->queries);
		}
	}
	print_message("goals: converge <= 3 TTL, overshoot < 0.05, stddev < 0.05 (with the "
	              "control loop)\n");
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

/* The same seed gives the same run; another seed only another sample. */
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
	(void)state;
	const ss_result_t *r = &results[SC_STEADY][SS_RULE_AYA];
	assert_true(r->converge_ttl == 0);
	assert_true(r->overshoot == 0);
	for (size_t p = 0; p < 3; p++) {
		assert_float_equal(r->mean_last[p], 0.5, 0.02);
	}
}

/*
 * The physics. With geo alone (today's default chain), every client stays
 * on its nearest pool: eu carries its whole 3x demand and never converges.
 * Least-loaded on one-interval-old reports herds: the pools it fills
 * alternate, so the hot pool's utilization swings.
 */
static void test_physics(void **state)
{
	(void)state;
	const ss_result_t *geo = &results[SC_FLASH][SS_RULE_AYA];
	assert_float_equal(geo->mean_last[0], 3.0, 0.05);
	assert_float_equal(geo->mean_last[1], 0.3, 0.02);
	assert_true(geo->converge_ttl < 0);
	const ss_result_t *half = &results[SC_HALF][SS_RULE_AYA];
	assert_float_equal(half->mean_last[0], 1.4, 0.05);
	const ss_result_t *ll = &results[SC_FLASH][SS_RULE_LEAST_LOADED];
	assert_true(ll->stddev > 0.1); /* herding: each TTL moves whole caches */
	assert_true(ll->peak[1] > 1.0 || ll->peak[2] > 1.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_conservation),
	        cmocka_unit_test(test_deterministic),
	        cmocka_unit_test(test_steady),
	        cmocka_unit_test(test_physics),
	};
	return cmocka_run_group_tests_name("steer", tests, setup, teardown);
}
