/* Unit tests for state/drain.c: set, undrain, list, persistence, merge rule, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
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

/* The active drains as "service|target" lines joined by ',' (target "-" for none). */
static void list_text(state_t *st, char *out, size_t outlen)
{
	state_drain_t *l;
	size_t n, off = 0;
	assert_int_equal(state_drain_list(st, &l, &n), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		assert_true(l[i].drained);
		off += (size_t)snprintf(out + off, outlen - off, "%s%s|%s", i > 0 ? "," : "",
		                        l[i].service, l[i].target != NULL ? l[i].target : "-");
		assert_true(off < outlen);
	}
	state_drain_list_free(l, n);
}

static void test_set_unset_list(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *service, *target;
		bool drained;
		int rc;
		const char *list; /* active drains afterwards */
	} steps[] = {
	        {"empty at start", "www", "x", false, 0, ""},
	        {"drain service", "www", NULL, true, 1, "www|-"},
	        {"drain again is no change", "www", "", true, 0, "www|-"},
	        {"drain region", "www", "eu-west", true, 1, "www|-,www|eu-west"},
	        {"drain v4 address", "api", "192.0.2.7", true, 1,
	         "api|192.0.2.7,www|-,www|eu-west"},
	        {"drain v6 address canonicalised", "api", "2001:DB8:0::1", true, 1,
	         "api|192.0.2.7,api|2001:db8::1,www|-,www|eu-west"},
	        {"same v6 address other spelling", "api", "2001:db8::0:1", true, 0,
	         "api|192.0.2.7,api|2001:db8::1,www|-,www|eu-west"},
	        {"undrain service", "www", NULL, false, 1,
	         "api|192.0.2.7,api|2001:db8::1,www|eu-west"},
	        {"undrain again is no change", "www", NULL, false, 0,
	         "api|192.0.2.7,api|2001:db8::1,www|eu-west"},
	        {"undrain never drained", "mail", "us", false, 0,
	         "api|192.0.2.7,api|2001:db8::1,www|eu-west"},
	        {"undrain v6 by other spelling", "api", "2001:db8:0:0:0:0:0:1", false, 1,
	         "api|192.0.2.7,www|eu-west"},
	        {"re-drain after undrain", "www", NULL, true, 1, "api|192.0.2.7,www|-,www|eu-west"},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(steps); i++) {
		char got[512];
		print_message("step %s\n", steps[i].name);
		f->now_ms += 1000;
		assert_int_equal(state_drain_set(f->st, steps[i].service, steps[i].target,
		                                 steps[i].drained, "op"),
		                 steps[i].rc);
		list_text(f->st, got, sizeof(got));
		assert_string_equal(got, steps[i].list);
	}
	/* Kinds follow the target's form. */
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(f->st, &l, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(l[0].kind, STATE_TARGET_ADDRESS);
	assert_int_equal(l[1].kind, STATE_TARGET_SERVICE);
	assert_int_equal(l[2].kind, STATE_TARGET_REGION);
	state_drain_list_free(l, n);
}

static void test_persist(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(state_drain_set(f->st, "www", "eu-west", true, "alice: kernel upgrade"),
	                 1);
	f->now_ms += 5000;
	/* A repeated drain with no note or the same one keeps the first since and note. */
	assert_int_equal(state_drain_set(f->st, "www", "eu-west", true, NULL), 0);
	assert_int_equal(state_drain_set(f->st, "www", "eu-west", true, "alice: kernel upgrade"),
	                 0);
	assert_int_equal(state_drain_set(f->st, "api", NULL, true, NULL), 1);
	assert_int_equal(state_drain_set(f->st, "api", NULL, false, NULL), 1);
	reopen(f);
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(f->st, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].service, "www");
	assert_string_equal(l[0].target, "eu-west");
	assert_int_equal(l[0].kind, STATE_TARGET_REGION);
	assert_true(l[0].since_s == 1700000000);
	assert_string_equal(l[0].note, "alice: kernel upgrade");
	assert_string_equal(l[0].origin, "n1");
	assert_true(l[0].version >= UINT64_C(1700000000000));
	state_drain_list_free(l, n);
	/* Nothing drained: an empty list is NULL, 0. */
	assert_int_equal(state_drain_set(f->st, "www", "eu-west", false, NULL), 1);
	assert_int_equal(state_drain_list(f->st, &l, &n), 0);
	assert_int_equal(n, 0);
	assert_null(l);
	state_drain_list_free(NULL, 0);
}

/* Versions grow even when the clock steps back, also across a restart. */
static void test_version_monotonic(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(state_drain_set(f->st, "www", NULL, true, NULL), 1);
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(f->st, &l, &n), 0);
	uint64_t v1 = l[0].version;
	state_drain_list_free(l, n);
	f->now_ms -= 3600 * 1000;
	reopen(f);
	uint64_t v2 = state_next_version(f->st);
	assert_true(v2 > v1);
	assert_true(state_next_version(f->st) > v2);
}

static void test_merge(void **state)
{
	struct fixture *f = *state;
	state_drain_t *l;
	size_t n;
	/* Local undrain at version V leaves a tombstone. */
	assert_int_equal(state_drain_set(f->st, "www", "eu", true, NULL), 1);
	assert_int_equal(state_drain_set(f->st, "www", "eu", false, NULL), 1);
	uint64_t v = state_next_version(f->st);
	static const struct {
		const char *name;
		int64_t dv; /* version relative to v */
		bool drained;
		const char *origin;
		int rc;
		bool listed;        /* drained afterwards */
		const char *stored; /* origin of the active drain */
	} steps[] = {
	        {"older drain loses to the tombstone", -10, true, "n2", 0, false, NULL},
	        {"newer drain wins", 10, true, "n2", 1, true, "n2"},
	        {"same record again is no change", 10, true, "n2", 0, true, "n2"},
	        {"equal version, smaller encoding loses", 10, false, "n3", 0, true, "n2"},
	        {"equal version, greater encoding wins", 10, true, "n3", 1, true, "n3"},
	        {"newer undrain wins", 20, false, "n2", 1, false, NULL},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(steps); i++) {
		print_message("step %s\n", steps[i].name);
		state_drain_t d = {.service = "www",
		                   .target = "eu",
		                   .kind = STATE_TARGET_REGION,
		                   .drained = steps[i].drained,
		                   .since_s = 1,
		                   .version = v + (uint64_t)steps[i].dv,
		                   .origin = steps[i].origin,
		                   .note = ""};
		assert_int_equal(state_drain_merge(f->st, &d), steps[i].rc);
		assert_int_equal(state_drain_list(f->st, &l, &n), 0);
		assert_int_equal(n, steps[i].listed ? 1 : 0);
		if (n == 1) {
			assert_string_equal(l[0].origin, steps[i].stored);
		}
		state_drain_list_free(l, n);
	}
	/* A local change after a peer's newer record still wins (version bumped past it). */
	state_drain_t far = {.service = "api",
	                     .target = NULL,
	                     .kind = STATE_TARGET_SERVICE,
	                     .drained = true,
	                     .version = v + 1000000,
	                     .origin = "n9",
	                     .note = ""};
	assert_int_equal(state_drain_merge(f->st, &far), 1);
	assert_int_equal(state_drain_set(f->st, "api", NULL, false, NULL), 1);
	far.version = v + 1000000;
	assert_int_equal(state_drain_merge(f->st, &far), 0);
	/* Malformed peer records. */
	state_drain_t bad = far;
	bad.kind = STATE_TARGET_REGION; /* no target */
	assert_int_equal(state_drain_merge(f->st, &bad), -EINVAL);
	bad = far;
	bad.version = 0;
	assert_int_equal(state_drain_merge(f->st, &bad), -EINVAL);
}

/* A drain with an expiry lists until then, survives a restart, and counts as undrained after. */
static void test_expiry(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	int64_t until = (int64_t)(f->now_ms / 1000) + 2;
	assert_int_equal(state_drain_set_until(f->st, "www", "eu", true, "deploy", until), 1);
	assert_int_equal(state_drain_set_until(f->st, "www", "eu", true, "deploy", until), 0);
	assert_int_equal(state_drain_set_until(f->st, "api", NULL, true, NULL, -1), -EINVAL);
	reopen(f);
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(f->st, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_true(l[0].until_s == until);
	assert_string_equal(l[0].note, "deploy");
	assert_string_equal(l[0].origin, "n1");
	assert_true(state_drain_active(&l[0], (uint64_t)until * 1000 - 1));
	assert_false(state_drain_active(&l[0], (uint64_t)until * 1000));
	state_drain_list_free(l, n);
	/* Another reason or expiry replaces the drain. */
	f->now_ms += 500;
	assert_int_equal(state_drain_set_until(f->st, "www", "eu", true, "rollout", until), 1);
	f->now_ms = (uint64_t)until * 1000 - 1;
	list_text(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "www|eu");
	f->now_ms++;
	list_text(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* Expired: undrain changes nothing, a new drain is a change. */
	assert_int_equal(state_drain_set(f->st, "www", "eu", false, NULL), 0);
	assert_int_equal(state_drain_set(f->st, "www", "eu", true, NULL), 1);
	list_text(f->st, buf, sizeof(buf));
	assert_string_equal(buf, "www|eu");
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	char name253[254], name254[255], note255[256], note256[257];
	memset(name253, 'a', 253);
	name253[253] = '\0';
	memset(name254, 'a', 254);
	name254[254] = '\0';
	memset(note255, 'n', 255);
	note255[255] = '\0';
	memset(note256, 'n', 256);
	note256[256] = '\0';
	static const struct {
		const char *name;
		int svc, tgt, note; /* 0 short, 1 longest allowed, 2 one over, 3 empty/bad */
		int rc;
	} cases[] = {
	        {"longest names", 1, 1, 1, 1},
	        {"service too long", 2, 0, 0, -ENAMETOOLONG},
	        {"target too long", 0, 2, 0, -ENAMETOOLONG},
	        {"note too long", 0, 0, 2, -ENAMETOOLONG},
	        {"empty service", 3, 0, 0, -EINVAL},
	        {"control char in target", 0, 3, 0, -EINVAL},
	        {"control char in note", 0, 0, 3, -EINVAL},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		const char *svc[] = {"www", name253, name254, ""};
		const char *tgt[] = {"eu", name253, name254, "e\tu"};
		const char *note[] = {"x", note255, note256, "a\nb"};
		print_message("case %s\n", cases[i].name);
		assert_int_equal(state_drain_set(f->st, svc[cases[i].svc], tgt[cases[i].tgt], true,
		                                 note[cases[i].note]),
		                 cases[i].rc);
	}
	/* The longest record survives a reopen intact. */
	reopen(f);
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(f->st, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].service, name253);
	assert_string_equal(l[0].target, name253);
	assert_string_equal(l[0].note, note255);
	state_drain_list_free(l, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_set_unset_list, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_version_monotonic, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	};
	return cmocka_run_group_tests_name("state/drain", tests, NULL, NULL);
}
