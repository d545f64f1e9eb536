/*
 * gsp_observers(): rendezvous choice of an endpoint's K observers. Checks
 * the region rule, determinism, that only live members are chosen, and that
 * a membership change moves few endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/gossip.h"

#define MAXM 64

static char names[MAXM][32];

/* n members; member i in region regions[i % n_regions]; dead[] marks DEAD ones. */
static void make(gsp_member_t *m, size_t n, const char *const *regions, size_t n_regions)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "node%zu", i);
		memset(&m[i], 0, sizeof(m[i]));
		m[i].name = names[i];
		m[i].region = regions[i % n_regions];
		m[i].state = GSP_ST_ALIVE;
	}
}

static size_t count_region(const gsp_member_t *m, const size_t *idx, size_t n, const char *r)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		c += strcmp(m[idx[i]].region, r) == 0;
	}
	return c;
}

static void test_region_rule(void **state)
{
	(void)state;
	static const char *const two[] = {"eu", "us"};
	static const char *const one[] = {"eu"};
	static const char *const three[] = {"eu", "us", "ap"};
	static const char *const lone_eu[] = {"eu", "us", "us", "us", "us", "us", "us"};
	static const struct {
		const char *name;
		size_t n;
		const char *const *regions;
		size_t n_regions;
		const char *ep_region;
		size_t k, want, want_same;
	} cases[] = {
	        {"two regions, k=3: 2 own + 1 other", 20, two, 2, "eu", 3, 3, 2},
	        {"one region: all own", 20, one, 1, "eu", 3, 3, 3},
	        {"endpoint in an unknown region: all others", 20, two, 2, "sa", 3, 3, 0},
	        {"k=1: the best own-region member", 20, two, 2, "eu", 1, 1, 1},
	        {"fewer members than k", 2, two, 2, "eu", 3, 2, 1},
	        {"three regions, k=5: 4 own + 1 other", 30, three, 3, "ap", 5, 5, 4},
	        {"own region too small: fill from others", 7, lone_eu, 7, "eu", 3, 3, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gsp_member_t m[MAXM];
		size_t out[MAXM];
		make(m, cases[i].n, cases[i].regions, cases[i].n_regions);
		size_t got = gsp_observers(m, cases[i].n, "www/192.0.2.1", cases[i].ep_region,
		                           cases[i].k, out);
		size_t same = count_region(m, out, got, cases[i].ep_region);
		if (got != cases[i].want || same != cases[i].want_same) {
			fail_msg("%s: %zu chosen, %zu own region", cases[i].name, got, same);
		}
		for (size_t a = 0; a < got; a++) {
			for (size_t b = a + 1; b < got; b++) {
				assert_true(out[a] != out[b]);
			}
		}
	}
}

static void test_only_live_and_deterministic(void **state)
{
	(void)state;
	static const char *const two[] = {"eu", "us"};
	gsp_member_t m[MAXM];
	size_t a[8], b[8];
	make(m, 20, two, 2);
	size_t n1 = gsp_observers(m, 20, "ep1", "eu", 3, a);
	/* Reordering the member array changes nothing but the indexes. */
	gsp_member_t rev[MAXM];
	for (size_t i = 0; i < 20; i++) {
		rev[i] = m[19 - i];
	}
	size_t n2 = gsp_observers(rev, 20, "ep1", "eu", 3, b);
	assert_int_equal(n1, n2);
	for (size_t i = 0; i < n1; i++) {
		assert_string_equal(m[a[i]].name, rev[b[i]].name);
	}
	/* Dead and left members are never chosen; suspects still are. */
	for (size_t i = 0; i < n1; i++) {
		m[a[i]].state = i == 0 ? GSP_ST_DEAD : GSP_ST_LEFT;
	}
	size_t n3 = gsp_observers(m, 20, "ep1", "eu", 3, b);
	assert_int_equal(n3, 3);
	for (size_t i = 0; i < n3; i++) {
		assert_true(m[b[i]].state <= GSP_ST_SUSPECT);
	}
	assert_int_equal(gsp_observers(m, 0, "ep1", "eu", 3, b), 0);
}

static void test_stability(void **state)
{
	(void)state;
	/* Removing one of 40 members moves only endpoints it observed. */
	static const char *const two[] = {"eu", "us"};
	gsp_member_t m[MAXM];
	make(m, 40, two, 2);
	size_t before[200][3], moved = 0, had_victim = 0;
	for (size_t e = 0; e < 200; e++) {
		char key[32];
		snprintf(key, sizeof(key), "ep%zu", e);
		assert_int_equal(gsp_observers(m, 40, key, e % 2 ? "eu" : "us", 3, before[e]), 3);
	}
	m[7].state = GSP_ST_DEAD;
	for (size_t e = 0; e < 200; e++) {
		char key[32];
		size_t after[3];
		snprintf(key, sizeof(key), "ep%zu", e);
		assert_int_equal(gsp_observers(m, 40, key, e % 2 ? "eu" : "us", 3, after), 3);
		bool victim = before[e][0] == 7 || before[e][1] == 7 || before[e][2] == 7;
		bool same = memcmp(before[e], after, sizeof(after)) == 0;
		had_victim += victim;
		moved += !same;
		assert_true(victim || same);
	}
	assert_true(had_victim > 0);
	assert_int_equal(moved, had_victim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_region_rule),
	        cmocka_unit_test(test_only_live_and_deterministic),
	        cmocka_unit_test(test_stability),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
