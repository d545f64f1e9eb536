/*
 * Unit tests for state/cost.c: set, reset, list, bounds, persistence, the
 * merge rule and its tombstone, the gossip record and the read view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "state/state.h"
#include "tests/state/helpers.h"

struct fixture {
	char *dir;
	uint64_t now_ms;
	state_opts_t opts;
	state_t *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->dir = tmpdir_new();
	assert_non_null(f->dir);
	f->now_ms = UINT64_C(1700000000000);
	f->opts = (state_opts_t){.node = "n1", .clock_ms = fake_clock, .clock_ctx = &f->now_ms};
	assert_int_equal(state_open(f->dir, &f->opts, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	state_close(f->st);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(f->dir, &f->opts, &f->st), 0);
}

/* The active costs as "region=cost" joined by ','. */
static void expect_costs(const state_t *st, const char *want)
{
	char got[512] = "";
	state_cost_t *l;
	size_t n;
	assert_int_equal(state_cost_list(st, &l, &n), 0);
	for (size_t i = 0; i < n; i++) {
		assert_true(l[i].set);
		size_t len = strlen(got);
		snprintf(got + len, sizeof(got) - len, "%s%s=%g", i > 0 ? "," : "", l[i].region,
		         l[i].cost);
	}
	state_cost_list_free(l, n);
	assert_string_equal(got, want);
}

/* One stored record of region (tombstones too), through the gossip walk. */
struct find {
	const char *region;
	state_cost_t c;
	char origin[STATE_NODE_MAX + 1];
	uint8_t rec[STATE_REC_MAX];
	size_t len;
	bool found;
};

static int find_rec(const state_cost_t *c, const uint8_t *rec, size_t len, void *arg)
{
	struct find *fd = arg;
	if (strcmp(c->region, fd->region) == 0) {
		fd->c = *c;
		snprintf(fd->origin, sizeof(fd->origin), "%s", c->origin);
		fd->c.origin = fd->origin;
		fd->c.region = fd->region;
		memcpy(fd->rec, rec, len);
		fd->len = len;
		fd->found = true;
	}
	return 0;
}

static struct find find_cost(state_t *st, const char *region)
{
	struct find fd = {.region = region};
	assert_int_equal(state_cost_foreach(st, find_rec, &fd), 0);
	return fd;
}

static void test_set_reset_list(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *region;
		bool set;
		double cost;
		int rc;
		const char *list;
	} steps[] = {
	        {"set", "eu-west", true, 10, 1, "eu-west=10"},
	        {"same cost is no change", "eu-west", true, 10, 0, "eu-west=10"},
	        {"another region", "ap", true, 0, 1, "ap=0,eu-west=10"},
	        {"a new value", "eu-west", true, 2.5, 1, "ap=0,eu-west=2.5"},
	        {"the maximum", "us", true, 1000000, 1, "ap=0,eu-west=2.5,us=1e+06"},
	        {"reset", "eu-west", false, 0, 1, "ap=0,us=1e+06"},
	        {"reset again is no change", "eu-west", false, 0, 0, "ap=0,us=1e+06"},
	        {"reset never set", "mars", false, 0, 0, "ap=0,us=1e+06"},
	        {"set after reset", "eu-west", true, 7, 1, "ap=0,eu-west=7,us=1e+06"},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int rc = steps[i].set ? state_cost_set(f->st, steps[i].region, steps[i].cost)
		                      : state_cost_reset(f->st, steps[i].region);
		if (rc != steps[i].rc) {
			fail_msg("%s: rc %d, want %d", steps[i].name, rc, steps[i].rc);
		}
		expect_costs(f->st, steps[i].list);
	}
	/* Costs are not drains. */
	state_drain_t *dl;
	size_t dn;
	assert_int_equal(state_drain_list(f->st, &dl, &dn), 0);
	assert_int_equal(dn, 0);
	state_drain_list_free(dl, dn);
	/* Origin and time of the change. */
	struct find fd = find_cost(f->st, "eu-west");
	assert_true(fd.found);
	assert_string_equal(fd.c.origin, "n1");
	assert_int_equal(fd.c.since_s, 1700000000);
}

static void test_bounds(void **state)
{
	struct fixture *f = *state;
	static const double bad[] = {-1, -0.001, 1000000.5, 1e300};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(state_cost_set(f->st, "eu", bad[i]), -ERANGE);
	}
	assert_int_equal(state_cost_set(f->st, "eu", NAN), -ERANGE);
	assert_int_equal(state_cost_set(f->st, "eu", INFINITY), -ERANGE);
	assert_int_equal(state_cost_set(f->st, "", 1), -EINVAL);
	assert_int_equal(state_cost_set(f->st, "a\nb", 1), -EINVAL);
	char longname[STATE_NAME_MAX + 2];
	memset(longname, 'r', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(state_cost_set(f->st, longname, 1), -ENAMETOOLONG);
	longname[STATE_NAME_MAX] = '\0';
	assert_int_equal(state_cost_set(f->st, longname, 1), 1);
	assert_true(state_cost_valid(0));
	assert_true(state_cost_valid(STATE_COST_MAX));
	assert_false(state_cost_valid(-0.5));
}

/* Set and reset survive a restart, with their versions. */
static void test_persist(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(state_cost_set(f->st, "cheap", 10), 1);
	assert_int_equal(state_cost_set(f->st, "dear", 3), 1);
	f->now_ms += 1000;
	assert_int_equal(state_cost_reset(f->st, "dear"), 1);
	struct find before = find_cost(f->st, "dear");
	reopen(f);
	expect_costs(f->st, "cheap=10");
	struct find after = find_cost(f->st, "dear");
	assert_true(after.found);
	assert_false(after.c.set);
	assert_int_equal(after.c.version, before.c.version);
	/* Versions keep growing past the stored ones when the clock steps back. */
	f->now_ms -= 60000;
	assert_int_equal(state_cost_set(f->st, "dear", 4), 1);
	assert_true(find_cost(f->st, "dear").c.version > before.c.version);
	expect_costs(f->st, "cheap=10,dear=4");
}

static void test_merge(void **state)
{
	struct fixture *f = *state;
	state_cost_t c = {.region = "eu",
	                  .cost = 5,
	                  .set = true,
	                  .since_s = 1700000000,
	                  .version = 100,
	                  .origin = "n2"};
	assert_int_equal(state_cost_merge(f->st, &c), 1);
	assert_int_equal(state_cost_merge(f->st, &c), 0); /* identical */
	expect_costs(f->st, "eu=5");
	/* Older loses, newer wins. */
	c.version = 99;
	c.cost = 6;
	assert_int_equal(state_cost_merge(f->st, &c), 0);
	c.version = 101;
	assert_int_equal(state_cost_merge(f->st, &c), 1);
	expect_costs(f->st, "eu=6");
	/* A reset (tombstone) with a newer version wins, and an older set cannot revive it. */
	state_cost_t r = {.region = "eu",
	                  .set = false,
	                  .since_s = 1700000001,
	                  .version = 102,
	                  .origin = "n3"};
	assert_int_equal(state_cost_merge(f->st, &r), 1);
	expect_costs(f->st, "");
	c.version = 101;
	c.cost = 9;
	assert_int_equal(state_cost_merge(f->st, &c), 0);
	expect_costs(f->st, "");
	/* Equal versions: the greater encoded value wins, whatever the order. */
	c.version = 200;
	c.cost = 1;
	state_cost_t c2 = c;
	c2.cost = 2;
	assert_int_equal(state_cost_merge(f->st, &c), 1);
	int first = state_cost_merge(f->st, &c2);
	struct find a = find_cost(f->st, "eu");
	assert_int_equal(state_cost_merge(f->st, &c), 0); /* either way, no flip-flop */
	assert_true(first == 0 || first == 1);
	assert_int_equal(find_cost(f->st, "eu").c.version, a.c.version);
	assert_true(find_cost(f->st, "eu").c.cost == a.c.cost);
	/* Bad records. */
	state_cost_t bad = c;
	bad.version = 0;
	assert_int_equal(state_cost_merge(f->st, &bad), -EINVAL);
	bad = c;
	bad.cost = -1;
	assert_int_equal(state_cost_merge(f->st, &bad), -ERANGE);
	bad = c;
	bad.set = false; /* a tombstone carries no cost */
	assert_int_equal(state_cost_merge(f->st, &bad), -ERANGE);
	/* A local change after a peer's is versioned past it. */
	assert_int_equal(state_cost_set(f->st, "eu", 42), 1);
	assert_true(find_cost(f->st, "eu").c.version > 200);
}

/* The gossip record of one store merges into another; a later reset wins there too. */
static void test_records(void **state)
{
	struct fixture *f = *state;
	char *dir2 = tmpdir_new();
	state_t *st2 = NULL;
	state_opts_t o2 = f->opts;
	o2.node = "n2";
	assert_int_equal(state_open(dir2, &o2, &st2), 0);

	assert_int_equal(state_cost_set(f->st, "cheap", 10), 1);
	assert_int_equal(state_drain_set(f->st, "www", "cheap", true, NULL), 1);
	struct find fd = find_cost(f->st, "cheap");
	assert_true(fd.found);
	state_rec_kind_t kind;
	assert_int_equal(state_rec_merge(st2, fd.rec, fd.len, &kind), 1);
	assert_int_equal(kind, STATE_REC_OVR);
	assert_int_equal(state_rec_merge(st2, fd.rec, fd.len, NULL), 0);
	expect_costs(st2, "cheap=10");
	assert_string_equal(find_cost(st2, "cheap").c.origin, "n1");

	/* Reset on n1, full-state push/pull to n2: the tombstone wins. */
	f->now_ms += 1000;
	assert_int_equal(state_cost_reset(f->st, "cheap"), 1);
	uint8_t *blob;
	size_t len, changed, bad;
	assert_int_equal(state_pack_all(f->st, &blob, &len), 0);
	assert_int_equal(state_merge_all(st2, blob, len, &changed, &bad), 0);
	assert_int_equal(changed, 2); /* the drain and the reset */
	assert_int_equal(bad, 0);
	free(blob);
	expect_costs(st2, "");
	/* The old set, heard late, does not come back. */
	assert_int_equal(state_rec_merge(st2, fd.rec, fd.len, NULL), 0);
	expect_costs(st2, "");
	/* In sync: the delta carries nothing. */
	assert_int_equal(state_pack_all(st2, &blob, &len), 0);
	uint8_t *delta;
	size_t dlen;
	assert_int_equal(state_pack_delta(f->st, blob, len, &delta, &dlen), 0);
	assert_int_equal(dlen, 5);
	free(delta);
	free(blob);

	/* Junk: a cut record, a cost key with a drain's value, a bad cost. */
	assert_int_equal(state_rec_merge(st2, fd.rec, fd.len - 1, NULL), -EBADMSG);
	uint8_t junk[STATE_REC_MAX];
	memcpy(junk, fd.rec, fd.len);
	junk[fd.len - 8] = 0xff; /* the cost becomes negative */
	assert_int_equal(state_rec_merge(st2, junk, fd.len, NULL), -EBADMSG);
	state_close(st2);
	tmpdir_free(dir2);
}

/* A view carries the active costs; state_view_add_costs for tools. */
static void test_view(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(state_cost_set(f->st, "b", 2), 1);
	assert_int_equal(state_cost_set(f->st, "a", 1), 1);
	assert_int_equal(state_cost_set(f->st, "c", 3), 1);
	assert_int_equal(state_cost_reset(f->st, "c"), 1);
	state_view_t *v;
	assert_int_equal(state_view_build(f->st, &v), 0);
	/* The view does not change with the store. */
	assert_int_equal(state_cost_set(f->st, "d", 4), 1);
	size_t n;
	const state_cost_t *c = state_view_costs(v, &n);
	assert_int_equal(n, 2);
	assert_string_equal(c[0].region, "a");
	assert_true(c[0].cost == 1);
	assert_string_equal(c[1].region, "b");
	assert_string_equal(c[1].origin, "n1");
	state_view_free(v);

	assert_int_equal(state_view_from(NULL, 0, NULL, 0, &v), 0);
	assert_null(state_view_costs(v, &n));
	assert_int_equal(n, 0);
	state_cost_t add[] = {{.region = "x", .cost = 7, .set = true}};
	assert_int_equal(state_view_add_costs(v, add, 1), 0);
	assert_int_equal(state_view_add_costs(v, add, 1), -EINVAL); /* twice */
	c = state_view_costs(v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].origin, "");
	state_view_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_set_reset_list, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_view, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
