/*
 * Unit tests for geo/: the precomputed tree against a fixture database
 * written by tests/geo/mkfixture.pl (v4, v6, mapped and 6to4 clients,
 * unknown addresses, maps, the country fallback, ECS scopes), explain's
 * locate, reference counting, and stable facts of the real DB-IP database.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "geo/geo.h"
#include "tests/geo/fixture.h"

/* ../shared beside the checkout, as in CI; tests run from the source root. */
#define REAL_DB "../shared/geo/dbip-country-lite.mmdb"

enum tree_kind { T_PLAIN, T_MAPS, T_NOCB, T_COUNT };

struct fixture {
	char dir[64];
	char path[128];
	geo_tree_t *tree[T_COUNT];
	unsigned fallback_calls;
};

static const size_t map_ch[] = {R_US_EAST};
static const size_t map_eu[] = {R_AP_SOUTH, R_EU_WEST};
static const cfg_geo_map_t maps[] = {
        {.kind = CFG_GEO_MAP_CONTINENT, .code = "EU", .regions = map_eu, .n_regions = 2},
        {.kind = CFG_GEO_MAP_COUNTRY, .code = "ch", .regions = map_ch, .n_regions = 1},
};
static const size_t default_ap[] = {R_AP_SOUTHEAST};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || fx_make(f->dir, sizeof(f->dir), f->path, sizeof(f->path)) != 0) {
		free(f);
		return -1;
	}
	for (int k = 0; k < T_COUNT; k++) {
		geo_build_opts_t o = {
		        .database = f->path,
		        .regions = fx_regions,
		        .n_regions = R_COUNT,
		        .maps = k == T_MAPS ? maps : NULL,
		        .n_maps = k == T_MAPS ? AYA_ARRAY_LEN(maps) : 0,
		        .default_order = default_ap,
		        .n_default_order = 1,
		        .country_point = k == T_NOCB ? NULL : fx_country_point,
		        .country_ctx = k == T_PLAIN ? &f->fallback_calls : NULL,
		};
		char err[256];
		if (geo_tree_build(&o, &f->tree[k], err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return -1;
		}
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int k = 0; k < T_COUNT; k++) {
		geo_tree_unref(f->tree[k]);
	}
	fx_remove(f->dir, f->path);
	free(f);
	return 0;
}

static int parse_addr(const char *s, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		return AF_INET;
	}
	return inet_pton(AF_INET6, s, addr) == 1 ? AF_INET6 : 0;
}

struct lookup_case {
	const char *name;
	enum tree_kind tree;
	const char *addr;
	unsigned source_prefix;
	int first;      /* expected first region */
	unsigned scope; /* expected scope */
};

/* Default order everywhere: ap-southeast first (so it differs from US's distance order). */
static const struct lookup_case lookup_cases[] = {
        {"v4 DE nearest eu-west", T_PLAIN, "192.0.2.10", 32, R_EU_WEST, 24},
        {"v4 US nearest us-east", T_PLAIN, "198.51.100.7", 32, R_US_EAST, 24},
        {"v4 IN halves merged to /24", T_PLAIN, "203.0.113.200", 32, R_AP_SOUTH, 24},
        {"v6 JP nearest ap-south, widest prefix /33", T_PLAIN, "2001:db8:8000::1", 128, R_AP_SOUTH,
         33},
        {"v6 JP next to the AU /48 needs /47", T_PLAIN, "2001:db8:2::1", 128, R_AP_SOUTH, 47},
        {"v6 AU nearest ap-southeast", T_PLAIN, "2001:db8:1::5", 128, R_AP_SOUTHEAST, 48},
        {"v4-mapped v6 looks up v4", T_PLAIN, "::ffff:192.0.2.10", 128, R_EU_WEST, 120},
        {"6to4 alias reaches v4 data", T_PLAIN, "2002:c000:20a::1", 128, R_EU_WEST, 40},
        {"ecs /24 where /28 decides: scope 24, left-most", T_PLAIN, "100.64.0.0", 24, R_EU_WEST,
         24},
        {"ecs /28 right half", T_PLAIN, "100.64.0.16", 28, R_US_EAST, 28},
        {"ecs /16 around a /24: scope 16, left-most", T_PLAIN, "192.0.0.0", 16, R_AP_SOUTHEAST, 16},
        {"ecs /24 inside a /16 decision: scope 16", T_PLAIN, "10.1.5.0", 24, R_US_EAST, 16},
        {"ecs /0: scope 0", T_PLAIN, "0.0.0.0", 0, R_AP_SOUTHEAST, 0},
        {"unknown v4 gets default order", T_PLAIN, "192.168.1.1", 32, R_AP_SOUTHEAST, 9},
        {"unknown v6 gets default order", T_PLAIN, "2001:db9::1", 128, R_AP_SOUTHEAST, 32},
        {"country fallback point BR", T_PLAIN, "10.1.2.3", 32, R_US_EAST, 16},
        {"no fallback: BR is default, merged with unknown space", T_NOCB, "10.1.2.3", 32,
         R_AP_SOUTHEAST, 2},
        {"country map beats continent", T_MAPS, "172.16.1.1", 32, R_US_EAST, 16},
        {"continent map", T_MAPS, "172.17.1.1", 32, R_AP_SOUTH, 16},
        {"continent map for DE too", T_MAPS, "192.0.2.1", 32, R_AP_SOUTH, 24},
        {"no map for US: distance", T_MAPS, "198.51.100.1", 32, R_US_EAST, 24},
};

static void test_lookup(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(lookup_cases); i++) {
		const struct lookup_case *c = &lookup_cases[i];
		uint8_t addr[16];
		int fam = parse_addr(c->addr, addr);
		unsigned scope = 999;
		uint32_t idx =
		        geo_tree_lookup(f->tree[c->tree], fam, addr, c->source_prefix, &scope);
		const uint8_t *order = geo_tree_order(f->tree[c->tree], idx);
		if (order[0] != c->first || scope != c->scope) {
			fail_msg("%s: %s/%u: first %s scope %u, want %s scope %u", c->name, c->addr,
			         c->source_prefix, fx_regions[order[0]].name, scope,
			         fx_regions[c->first].name, c->scope);
		}
	}
	assert_true(f->fallback_calls >= 1);
}

/* A map lists some regions; the rest follow nearest-first: every order is complete. */
static void test_orders_complete(void **state)
{
	struct fixture *f = *state;
	for (int k = 0; k < T_COUNT; k++) {
		const geo_tree_t *t = f->tree[k];
		assert_int_equal(geo_tree_region_count(t), R_COUNT);
		for (uint32_t i = 0; i < geo_tree_order_count(t); i++) {
			const uint8_t *o = geo_tree_order(t, i), *rk = geo_tree_rank(t, i);
			unsigned seen = 0;
			for (unsigned r = 0; r < R_COUNT; r++) {
				seen |= 1u << o[r];
				assert_int_equal(rk[o[r]], r);
			}
			assert_int_equal(seen, (1u << R_COUNT) - 1);
		}
	}
	/* CH map: us-east, then the others by distance from Zurich. */
	uint8_t addr[16];
	unsigned scope;
	parse_addr("172.16.0.1", addr);
	const uint8_t *o = geo_tree_order(
	        f->tree[T_MAPS], geo_tree_lookup(f->tree[T_MAPS], AF_INET, addr, 32, &scope));
	assert_int_equal(o[0], R_US_EAST);
	assert_int_equal(o[1], R_EU_WEST);
	assert_int_equal(o[2], R_AP_SOUTH);
	assert_int_equal(o[3], R_AP_SOUTHEAST);
	/* Default order: the listed region, then config order. */
	o = geo_tree_order(f->tree[T_NOCB], GEO_ORDER_DEFAULT);
	assert_int_equal(o[0], R_AP_SOUTHEAST);
	assert_int_equal(o[1], R_EU_WEST);
	assert_int_equal(o[2], R_US_EAST);
}

struct locate_case {
	const char *name;
	enum tree_kind tree;
	const char *addr;
	bool found, has_location, fallback;
	const char *country, *continent, *rule;
	unsigned prefix;
};

static const struct locate_case locate_cases[] = {
        {"DE record", T_PLAIN, "192.0.2.10", true, true, false, "DE", "EU", "distance", 24},
        {"BR via fallback", T_PLAIN, "10.1.0.1", true, true, true, "BR", "SA", "distance", 16},
        {"BR without fallback", T_NOCB, "10.1.0.1", true, false, false, "BR", "SA", "default", 16},
        {"CH country map", T_MAPS, "172.16.0.1", true, true, false, "CH", "EU", "country map", 16},
        {"PT continent map", T_MAPS, "172.17.0.1", true, true, false, "PT", "EU", "continent map",
         16},
        {"AU v6", T_PLAIN, "2001:db8:1::1", true, true, false, "AU", "OC", "distance", 48},
        {"unknown", T_PLAIN, "192.168.0.1", false, false, false, "", "", "default", 9},
};

static void test_locate(void **state)
{
	struct fixture *f = *state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(locate_cases); i++) {
		const struct locate_case *c = &locate_cases[i];
		uint8_t addr[16];
		geo_loc_t l;
		int fam = parse_addr(c->addr, addr);
		assert_int_equal(geo_tree_locate(f->tree[c->tree], fam, addr, &l), 0);
		if (l.found != c->found || l.has_location != c->has_location ||
		    l.fallback != c->fallback || strcmp(l.country, c->country) != 0 ||
		    strcmp(l.continent, c->continent) != 0 || strcmp(l.rule, c->rule) != 0 ||
		    l.prefix != c->prefix) {
			fail_msg("%s: found %d loc %d fb %d %s %s rule %s /%u", c->name, l.found,
			         l.has_location, l.fallback, l.country, l.continent, l.rule,
			         l.prefix);
		}
	}
	uint8_t addr[16];
	geo_loc_t l;
	parse_addr("192.0.2.1", addr);
	assert_int_equal(geo_tree_locate(f->tree[T_PLAIN], AF_INET, addr, &l), 0);
	assert_float_equal(l.lat, 50.11, 1e-9);
	assert_float_equal(l.lon, 8.68, 1e-9);
	assert_int_equal(geo_tree_locate(f->tree[T_PLAIN], AF_UNIX, addr, &l), -EINVAL);
}

static void test_no_database(void **state)
{
	(void)state;
	geo_build_opts_t o = {.regions = fx_regions,
	                      .n_regions = R_COUNT,
	                      .default_order = default_ap,
	                      .n_default_order = 1};
	geo_tree_t *t = NULL;
	assert_int_equal(geo_tree_build(&o, &t, NULL, 0), 0);
	uint8_t addr[16];
	unsigned scope = 99;
	parse_addr("192.0.2.1", addr);
	assert_int_equal(geo_tree_lookup(t, AF_INET, addr, 32, &scope), GEO_ORDER_DEFAULT);
	assert_int_equal(scope, 0);
	parse_addr("2001:db8::1", addr);
	assert_int_equal(geo_tree_lookup(t, AF_INET6, addr, 128, &scope), GEO_ORDER_DEFAULT);
	assert_int_equal(scope, 0);
	assert_int_equal(geo_tree_order(t, GEO_ORDER_DEFAULT)[0], R_AP_SOUTHEAST);
	geo_loc_t l;
	assert_int_equal(geo_tree_locate(t, AF_INET6, addr, &l), 0);
	assert_false(l.found);
	/* Shared by two owners: the second unref frees. */
	assert_ptr_equal(geo_tree_ref(t), t);
	geo_tree_unref(t);
	geo_tree_unref(t);
	geo_tree_unref(NULL);
}

struct bad_case {
	const char *name;
	const char *db;
	size_t n_regions;
	const size_t *default_order;
};

static const size_t bad_default[] = {7};

static void test_bad_options(void **state)
{
	(void)state;
	const struct bad_case cases[] = {
	        {"missing database", "/nonexistent/x.mmdb", R_COUNT, NULL},
	        {"not a database", "/etc/hostname", R_COUNT, NULL},
	        {"no regions", NULL, 0, NULL},
	        {"too many regions", NULL, GEO_MAX_REGIONS + 1, NULL},
	        {"default order out of range", NULL, R_COUNT, bad_default},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		geo_build_opts_t o = {.database = cases[i].db,
		                      .regions = fx_regions,
		                      .n_regions = cases[i].n_regions,
		                      .default_order = cases[i].default_order,
		                      .n_default_order = cases[i].default_order ? 1 : 0};
		geo_tree_t *t = NULL;
		char err[256] = "";
		int rc = geo_tree_build(&o, &t, err, sizeof(err));
		if (rc != -EINVAL || t != NULL || strncmp(err, "geo: ", 5) != 0) {
			fail_msg("%s: rc %d err '%s'", cases[i].name, rc, err);
		}
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * IPv4 walks start from a table of their first 16 bits; the 6to4 alias
 * (2002:AABB:CCDD::/48) reaches the same IPv4 subtree bit by bit through the
 * IPv6 root. Both must agree for every source prefix, on the fixture and
 * (when present) the real database.
 */
static void check_v4_walks(const geo_tree_t *t, const char *what)
{
	static const uint8_t seeds[][4] = {{192, 0, 2, 10},  {198, 51, 100, 7}, {203, 0, 113, 200},
	                                   {100, 64, 0, 16}, {10, 1, 5, 0},     {172, 17, 1, 1},
	                                   {81, 2, 69, 160}, {8, 8, 8, 8},      {0, 0, 0, 0}};
	uint64_t x = 88172645463325252ull;
	for (unsigned i = 0; i < 20000; i++) {
		uint8_t a[4];
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i < AYA_ARRAY_LEN(seeds)) {
			memcpy(a, seeds[i], 4);
		} else {
			memcpy(a, &x, 4);
		}
		for (unsigned p = 0; p <= 32; p++) {
			uint8_t a6[16] = {0x20, 0x02, a[0], a[1], a[2], a[3]};
			unsigned s4 = 999, s6 = 999;
			uint32_t o4 = geo_tree_lookup(t, AF_INET, a, p, &s4);
			uint32_t o6 = geo_tree_lookup(t, AF_INET6, a6, 16 + p, &s6);
			if (o4 != o6 || s4 + 16 != s6) {
				fail_msg("%s: %u.%u.%u.%u/%u: order %u scope %u, 6to4 order %u "
				         "scope %u",
				         what, a[0], a[1], a[2], a[3], p, o4, s4, o6, s6);
			}
		}
	}
}

/*
 * geo_tree_build_cfg places a record without coordinates (BR in the
 * fixture) at its country's point from the built-in table, so it is ordered
 * by distance, not given the default order.
 */
static void test_cfg_country_point(void **state)
{
	struct fixture *f = *state;
	cfg_t cfg = {.regions = fx_regions, .n_regions = R_COUNT};
	cfg.geo.database = f->path;
	cfg.geo.default_order = default_ap;
	cfg.geo.n_default_order = 1;
	geo_tree_t *t = NULL;
	char err[256] = "";
	assert_int_equal(geo_tree_build_cfg(&cfg, &t, err, sizeof(err)), 0);
	uint8_t addr[16];
	int fam = parse_addr("10.1.2.3", addr);
	unsigned scope = 0;
	const uint8_t *order = geo_tree_order(t, geo_tree_lookup(t, fam, addr, 32, &scope));
	assert_int_equal(order[0], R_US_EAST); /* Brazil's point is nearer Virginia than Dublin */
	geo_loc_t l;
	assert_int_equal(geo_tree_locate(t, fam, addr, &l), 0);
	assert_true(l.has_location);
	assert_true(l.fallback);
	assert_string_equal(l.rule, "distance");
	/* A record with its own coordinates keeps them. */
	fam = parse_addr("192.0.2.1", addr);
	assert_int_equal(geo_tree_locate(t, fam, addr, &l), 0);
	assert_false(l.fallback);
	assert_float_equal(l.lat, 50.11, 1e-9);
	geo_tree_unref(t);
}

static void test_v4_walks(void **state)
{
	struct fixture *f = *state;
	check_v4_walks(f->tree[T_PLAIN], "fixture");
	check_v4_walks(f->tree[T_MAPS], "fixture with maps");
	if (access(REAL_DB, R_OK) != 0) {
		return;
	}
	static const cfg_region_t regions[] = {{.name = "eu-west", .lat = 53.35, .lon = -6.26},
	                                       {.name = "us-east", .lat = 38.9, .lon = -77.0},
	                                       {.name = "ap-south", .lat = 19.07, .lon = 72.88}};
	geo_build_opts_t o = {.database = REAL_DB, .regions = regions, .n_regions = 3};
	geo_tree_t *t = NULL;
	assert_int_equal(geo_tree_build(&o, &t, NULL, 0), 0);
	check_v4_walks(t, "real db");
	geo_tree_unref(t);
}

/* Stable facts only: the data changes with each refresh. Also measures. */
static void test_real_database(void **state)
{
	(void)state;
	if (access(REAL_DB, R_OK) != 0) {
		skip();
	}
	static const cfg_region_t regions[] = {
	        {.name = "eu-west", .lat = 53.35, .lon = -6.26},
	        {.name = "us-east", .lat = 38.9, .lon = -77.0},
	        {.name = "ap-south", .lat = 19.07, .lon = 72.88},
	        {.name = "sa-east", .lat = -23.55, .lon = -46.63},
	};
	static const size_t def[] = {1};
	geo_build_opts_t o = {.database = REAL_DB,
	                      .regions = regions,
	                      .n_regions = 4,
	                      .default_order = def,
	                      .n_default_order = 1};
	geo_tree_t *t = NULL;
	char err[256];
	assert_int_equal(geo_tree_build(&o, &t, err, sizeof(err)), 0);
	const struct {
		const char *addr;
		int first;
	} facts[] = {{"81.2.69.160", 0},
	             {"8.8.8.8", 1},
	             {"49.44.0.1", 2},
	             {"10.0.0.1", 1},
	             {"2a00:1450:4001::1", 0}};
	for (size_t i = 0; i < AYA_ARRAY_LEN(facts); i++) {
		uint8_t addr[16];
		unsigned scope;
		int fam = parse_addr(facts[i].addr, addr);
		uint32_t idx = geo_tree_lookup(t, fam, addr, fam == AF_INET ? 32 : 128, &scope);
		if (geo_tree_order(t, idx)[0] != facts[i].first) {
			fail_msg("%s: first region %s", facts[i].addr,
			         regions[geo_tree_order(t, idx)[0]].name);
		}
	}
	geo_tree_stats_t st;
	geo_tree_stats(t, &st);
	assert_true(st.nodes > 0 && st.nodes < st.mmdb_nodes);
	/* Lookups per second over pseudo-random IPv4 addresses. */
	uint64_t x = 88172645463325252ull, sum = 0;
	const unsigned n = 2000000;
	double t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint8_t a[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16),
		                (uint8_t)(x >> 24)};
		unsigned scope;
		sum += geo_tree_lookup(t, AF_INET, a, 32, &scope) + scope;
	}
	double dt = now_s() - t0;
	print_message("real db: build %.0f ms, %zu nodes (mmdb %zu), %zu records, %zu orders, "
	              "%zu KiB; %.1f M lookups/s (%.0f ns) [%llu]\n",
	              st.build_ms, st.nodes, st.mmdb_nodes, st.records, st.orders, st.bytes / 1024,
	              n / dt / 1e6, dt / n * 1e9, (unsigned long long)(sum & 1));
	geo_tree_unref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lookup),        cmocka_unit_test(test_orders_complete),
	        cmocka_unit_test(test_locate),        cmocka_unit_test(test_no_database),
	        cmocka_unit_test(test_bad_options),   cmocka_unit_test(test_v4_walks),
	        cmocka_unit_test(test_real_database), cmocka_unit_test(test_cfg_country_point),
	};
	return cmocka_run_group_tests_name("geo", tests, setup, teardown);
}
