/* Unit tests for state/steer.c: steering records (one pool's admit fraction) and their merge. */
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
	char *dir[2];
	uint64_t now_ms;
	state_opts_t opts[2];
	state_t *st[2];
	int changed;
	state_steer_t last;
	char last_service[STATE_NAME_MAX + 1];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->now_ms = UINT64_C(1700000000000);
	static const char *const names[2] = {"n1", "n2"};
	for (int i = 0; i < 2; i++) {
		f->dir[i] = tmpdir_new();
		assert_non_null(f->dir[i]);
		f->opts[i] = (state_opts_t){
		        .node = names[i], .clock_ms = fake_clock, .clock_ctx = &f->now_ms};
		assert_int_equal(state_open(f->dir[i], &f->opts[i], &f->st[i]), 0);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 2; i++) {
		state_close(f->st[i]);
		tmpdir_free(f->dir[i]);
	}
	free(f);
	return 0;
}

static void test_quantize(void **state)
{
	(void)state;
	assert_int_equal(state_steer_quantize(1.0), STATE_STEER_ONE);
	assert_int_equal(state_steer_quantize(1.5), STATE_STEER_ONE);
	assert_int_equal(state_steer_quantize(-1), 0);
	assert_int_equal(state_steer_quantize(NAN), 0);
	assert_int_equal(state_steer_quantize(0.12345), 1235);
}

static void test_set_is_lww_and_idempotent(void **state)
{
	struct fixture *f = *state;
	state_steer_t s;
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.5, false, &s), 1);
	uint64_t v1 = s.version;
	assert_string_equal(s.origin, "n1");
	assert_true(fabs(s.admit - 0.5) < 1e-9);
	/* The same quantized value: no new version. */
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.50001, false, &s), 0);
	assert_int_equal(s.version, v1);
	/* The clock does not move: the version still grows. */
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.4, true, &s), 1);
	assert_true(s.version > v1);
	assert_true(s.closed);
	assert_int_equal(state_steer_count(f->st[0]), 1);
	assert_int_equal(state_steer_set(f->st[0], "", "eu", 0.4, true, NULL), -EINVAL);
	assert_int_equal(state_steer_set(f->st[0], "a.example", "eu", NAN, true, NULL), -EINVAL);
}

static void on_changed(const state_steer_t *s, void *ctx)
{
	struct fixture *f = ctx;
	f->changed++;
	f->last = *s;
	snprintf(f->last_service, sizeof(f->last_service), "%s", s->service);
	f->last.service = f->last_service;
}

static bool only_www(const char *service, const char *region, void *ctx)
{
	(void)ctx;
	(void)region;
	return strcmp(service, "www.example.com") == 0;
}

static void test_roundtrip_and_merge(void **state)
{
	struct fixture *f = *state;
	state_steer_t s;
	uint8_t rec[STATE_REC_MAX];
	state_steer_watch(f->st[1], only_www, on_changed, f);
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.3127, true, &s), 1);
	int n = state_steer_pack(&s, rec, sizeof(rec));
	assert_true(n > 0);
	state_rec_kind_t kind;
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, &kind), 1);
	assert_int_equal(kind, STATE_REC_OVR);
	assert_int_equal(f->changed, 1);
	assert_string_equal(f->last.service, "www.example.com");
	state_steer_t got;
	assert_int_equal(state_steer_find(f->st[1], "www.example.com", "eu", &got), 0);
	assert_true(fabs(got.admit - 0.3127) < 1e-9);
	assert_true(got.closed);
	assert_string_equal(got.origin, "n1");
	assert_int_equal(got.version, s.version);
	/* Old news: no change, no callback. */
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 0);
	assert_int_equal(f->changed, 1);
	/* A newer one wins; the older one heard afterwards does not come back. */
	f->now_ms += 1000;
	state_steer_t s2;
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.9, false, &s2), 1);
	uint8_t rec2[STATE_REC_MAX];
	int n2 = state_steer_pack(&s2, rec2, sizeof(rec2));
	assert_int_equal(state_rec_merge(f->st[1], rec2, (size_t)n2, NULL), 1);
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 0);
	assert_int_equal(state_steer_find(f->st[1], "www.example.com", "eu", &got), 0);
	assert_true(fabs(got.admit - 0.9) < 1e-9);
	assert_false(got.closed);
	/* A pool this node does not serve is not stored. */
	state_steer_t other;
	assert_int_equal(state_steer_set(f->st[0], "api.example.com", "eu", 0.2, false, &other), 1);
	n = state_steer_pack(&other, rec, sizeof(rec));
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 0);
	assert_int_equal(state_steer_find(f->st[1], "api.example.com", "eu", &got), -ENOENT);
	/* Our own next record outranks what we heard. */
	assert_int_equal(state_steer_set(f->st[1], "www.example.com", "eu", 0.8, false, &s), 1);
	assert_true(s.version > s2.version);
	state_steer_watch(f->st[1], NULL, NULL, NULL);
}

static void test_junk_refused(void **state)
{
	struct fixture *f = *state;
	state_steer_t s;
	uint8_t rec[STATE_REC_MAX];
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.5, false, &s), 1);
	int n = state_steer_pack(&s, rec, sizeof(rec));
	assert_true(n > 0);
	/* Every cut is refused, never stored. */
	for (int cut = 0; cut < n; cut++) {
		assert_true(state_rec_merge(f->st[1], rec, (size_t)cut, NULL) < 0);
	}
	/* admit over 1.0 */
	uint8_t bad[STATE_REC_MAX];
	memcpy(bad, rec, (size_t)n);
	size_t klen = (size_t)bad[1] << 8 | bad[2];
	uint8_t *v = bad + 3 + klen + 2;
	v[2] = 0xff;
	v[3] = 0xff;
	assert_int_equal(state_rec_merge(f->st[1], bad, (size_t)n, NULL), -EBADMSG);
	/* version 0 */
	memcpy(bad, rec, (size_t)n);
	memset(v + 4, 0, 8);
	assert_int_equal(state_rec_merge(f->st[1], bad, (size_t)n, NULL), -EBADMSG);
	assert_int_equal(state_steer_count(f->st[1]), 0);
	s.admit = 2;
	assert_int_equal(state_steer_pack(&s, rec, sizeof(rec)), -EINVAL);
}

static void test_push_pull_carries_them(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "eu", 0.25, true, NULL), 1);
	assert_int_equal(state_steer_set(f->st[0], "www.example.com", "us", 1.0, false, NULL), 1);
	uint8_t *blob = NULL;
	size_t len = 0, changed = 0, bad = 0;
	assert_int_equal(state_pack_all(f->st[0], &blob, &len), 0);
	assert_int_equal(state_merge_all(f->st[1], blob, len, &changed, &bad), 0);
	free(blob);
	assert_int_equal(changed, 2);
	assert_int_equal(bad, 0);
	state_steer_t got;
	assert_int_equal(state_steer_find(f->st[1], "www.example.com", "eu", &got), 0);
	assert_true(got.closed);
	assert_true(fabs(got.admit - 0.25) < 1e-9);
	/* In sync: the delta carries nothing. */
	uint8_t *peer = NULL, *delta = NULL;
	size_t plen = 0, dlen = 0;
	assert_int_equal(state_pack_all(f->st[1], &peer, &plen), 0);
	assert_int_equal(state_pack_delta(f->st[0], peer, plen, &delta, &dlen), 0);
	assert_int_equal(dlen, 5);
	free(peer);
	free(delta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_quantize),
	        cmocka_unit_test_setup_teardown(test_set_is_lww_and_idempotent, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_roundtrip_and_merge, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_junk_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_push_pull_carries_them, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
