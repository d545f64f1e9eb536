/* Unit tests for state/wire.c and state/members.c: gossip records, full-state blobs, members. */
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

static state_obs_t obs_of(const char *observer, const char *ep, state_status_t st, uint64_t ver)
{
	return (state_obs_t){.observer = observer,
	                     .endpoint = ep,
	                     .status = st,
	                     .rise = 2,
	                     .rtt_us = 1500,
	                     .utilization = NAN,
	                     .observed_at_ms = ver,
	                     .version = ver,
	                     .error = st == STATE_ST_DOWN ? "connection refused" : ""};
}

static void test_obs_record_roundtrip(void **state)
{
	struct fixture *f = *state;
	uint8_t rec[STATE_REC_MAX];
	state_obs_t o = obs_of("n1", "10.0.0.1:80/web", STATE_ST_DOWN, 100);
	int n = state_obs_pack(&o, rec, sizeof(rec));
	assert_true(n > 0);
	state_rec_kind_t kind = 0;
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, &kind), 1);
	assert_int_equal(kind, STATE_REC_OBS);
	/* The same record again is old news. */
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 0);
	state_obs_t got;
	assert_int_equal(state_obs_find(f->st[1], "n1", "10.0.0.1:80/web", &got), 0);
	assert_int_equal(got.status, STATE_ST_DOWN);
	assert_int_equal(got.version, 100);
	assert_string_equal(got.error, "connection refused");
	/* An older version loses, a newer one wins. */
	state_obs_t older = obs_of("n1", "10.0.0.1:80/web", STATE_ST_UP, 99);
	n = state_obs_pack(&older, rec, sizeof(rec));
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 0);
	state_obs_t newer = obs_of("n1", "10.0.0.1:80/web", STATE_ST_UP, 101);
	n = state_obs_pack(&newer, rec, sizeof(rec));
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 1);
	assert_int_equal(state_obs_find(f->st[1], "n1", "10.0.0.1:80/web", &got), 0);
	assert_int_equal(got.status, STATE_ST_UP);
}

static void test_obs_pack_refuses(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *observer;
		uint64_t version;
		size_t cap;
		int want;
	} cases[] = {
	        {"empty observer", "", 5, STATE_REC_MAX, -EINVAL},
	        {"version zero", "n1", 0, STATE_REC_MAX, -EINVAL},
	        {"buffer too small", "n1", 5, 20, -ENOSPC},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t rec[STATE_REC_MAX];
		state_obs_t o =
		        obs_of(cases[i].observer, "10.0.0.1:80/web", STATE_ST_UP, cases[i].version);
		int rc = state_obs_pack(&o, rec, cases[i].cap);
		if (rc != cases[i].want) {
			fail_msg("%s: got %d, want %d", cases[i].name, rc, cases[i].want);
		}
	}
}

/* Every truncation, and a set of corruptions, of a valid record is refused and changes nothing. */
static void test_bad_records_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t rec[STATE_REC_MAX], bad[STATE_REC_MAX];
	state_obs_t o = obs_of("n1", "10.0.0.1:80/web", STATE_ST_UP, 100);
	int n = state_obs_pack(&o, rec, sizeof(rec));
	assert_true(n > 0);
	for (int len = 0; len < n; len++) {
		assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)len, NULL), -EBADMSG);
	}
	/* Empty bytes from protobuf-c come as NULL, 0. */
	assert_int_equal(state_rec_merge(f->st[1], NULL, 0, NULL), -EBADMSG);
	static const struct {
		const char *name;
		size_t off;
		uint8_t val;
	} cases[] = {
	        {"key length past the end", 1, 0xff},    {"empty observer", 3, 0},
	        {"observer length too long", 3, 0xf0},   {"value format 9", 3 + 2 + 2 + 15 + 2, 9},
	        {"status 7", 3 + 2 + 2 + 15 + 2 + 1, 7},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, rec, (size_t)n);
		bad[cases[i].off] = cases[i].val;
		int rc = state_rec_merge(f->st[1], bad, (size_t)n, NULL);
		if (rc != -EBADMSG) {
			fail_msg("%s: got %d, want -EBADMSG", cases[i].name, rc);
		}
	}
	/* An unknown kind from a newer node is ignored, not an error. */
	memcpy(bad, rec, (size_t)n);
	bad[0] = 9;
	assert_int_equal(state_rec_merge(f->st[1], bad, (size_t)n, NULL), 0);
	assert_int_equal(state_obs_count(f->st[1]), 0);
}

static void test_pack_all_converges(void **state)
{
	struct fixture *f = *state;
	state_obs_t a = obs_of("n1", "10.0.0.1:80/web", STATE_ST_UP, 100);
	state_obs_t b = obs_of("n1", "10.0.0.2:80/web", STATE_ST_DOWN, 101);
	assert_int_equal(state_obs_merge(f->st[0], &a), 1);
	assert_int_equal(state_obs_merge(f->st[0], &b), 1);
	assert_int_equal(state_drain_set(f->st[0], "www", "eu", true, "ops"), 1);
	assert_int_equal(state_drain_set(f->st[0], "api", NULL, true, NULL), 1);
	assert_int_equal(state_drain_set(f->st[0], "api", NULL, false, NULL), 1);
	uint8_t *blob = NULL;
	size_t len = 0, changed = 0, bad = 0;
	assert_int_equal(state_pack_all(f->st[0], &blob, &len), 0);
	assert_int_equal(state_merge_all(f->st[1], blob, len, &changed, &bad), 0);
	/* Two observations, a drain and a tombstone. */
	assert_int_equal(changed, 4);
	assert_int_equal(bad, 0);
	assert_int_equal(state_merge_all(f->st[1], blob, len, &changed, &bad), 0);
	assert_int_equal(changed, 0);
	state_drain_t *l = NULL;
	size_t n = 0;
	assert_int_equal(state_drain_list(f->st[1], &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].service, "www");
	assert_string_equal(l[0].target, "eu");
	assert_string_equal(l[0].origin, "n1");
	state_drain_list_free(l, n);
	/* A truncated blob merges what is whole and counts the rest as bad. */
	assert_int_equal(state_merge_all(f->st[1], blob, len - 3, &changed, &bad), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(state_merge_all(f->st[1], blob, 3, &changed, &bad), -EBADMSG);
	free(blob);
}

/* Records in a blob (its count, after checking that the header parses). */
static uint32_t blob_records(const uint8_t *b, size_t len)
{
	assert_true(len >= 5);
	assert_int_equal(b[0], 1);
	return (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
}

/* The push/pull reply: only what the peer's blob lacks, and a merge of it converges. */
static void test_pack_delta(void **state)
{
	struct fixture *f = *state;
	state_obs_t a = obs_of("n1", "10.0.0.1:80/web", STATE_ST_UP, 100);
	state_obs_t b = obs_of("n1", "10.0.0.2:80/web", STATE_ST_DOWN, 101);
	state_obs_t c = obs_of("n3", "10.0.0.1:80/web", STATE_ST_UP, 102);
	assert_int_equal(state_obs_merge(f->st[0], &a), 1);
	assert_int_equal(state_obs_merge(f->st[0], &b), 1);
	assert_int_equal(state_drain_set(f->st[0], "www", "eu", true, "ops"), 1);
	/* The peer knows a, an older b, and c, which we do not know. */
	assert_int_equal(state_obs_merge(f->st[1], &a), 1);
	b.version = 50;
	assert_int_equal(state_obs_merge(f->st[1], &b), 1);
	assert_int_equal(state_obs_merge(f->st[1], &c), 1);
	uint8_t *peer = NULL, *delta = NULL, *full = NULL;
	size_t plen = 0, dlen = 0, flen = 0, changed = 0, bad = 0;
	assert_int_equal(state_pack_all(f->st[1], &peer, &plen), 0);
	assert_int_equal(state_pack_all(f->st[0], &full, &flen), 0);
	struct {
		const char *name;
		const uint8_t *peer;
		size_t len;
		uint32_t want;
	} cases[] = {
	        {"peer lacks the new b and the drain", peer, plen, 2},
	        {"no peer blob: everything", NULL, 0, 3},
	        {"unparsable peer blob: everything", (const uint8_t *)"junk", 4, 3},
	        {"peer already has all of it", full, flen, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		        state_pack_delta(f->st[0], cases[i].peer, cases[i].len, &delta, &dlen), 0);
		if (blob_records(delta, dlen) != cases[i].want) {
			fail_msg("%s: %u records, want %u", cases[i].name,
			         blob_records(delta, dlen), cases[i].want);
		}
		free(delta);
	}
	/* Merging the delta gives the peer every record of ours. */
	assert_int_equal(state_pack_delta(f->st[0], peer, plen, &delta, &dlen), 0);
	assert_true(dlen < flen);
	assert_int_equal(state_merge_all(f->st[1], delta, dlen, &changed, &bad), 0);
	assert_int_equal(changed, 2);
	assert_int_equal(bad, 0);
	free(delta);
	free(peer);
	assert_int_equal(state_pack_all(f->st[1], &peer, &plen), 0);
	assert_int_equal(state_pack_delta(f->st[0], peer, plen, &delta, &dlen), 0);
	assert_int_equal(blob_records(delta, dlen), 0);
	assert_int_equal(dlen, 5);
	free(delta);
	free(peer);
	free(full);
}

/* The store's framed override and the compact broadcast form of every stored override. */
struct ovr_pair {
	const char *service, *target; /* which override to pack */
	uint8_t framed[STATE_REC_MAX], compact[STATE_REC_MAX];
	size_t framed_len, compact_len;
};

static int pack_compact(const state_drain_t *d, const uint8_t *rec, size_t len, void *ctx)
{
	struct ovr_pair *p = ctx;
	if (strcmp(d->service, p->service) != 0 ||
	    strcmp(d->target != NULL ? d->target : "", p->target != NULL ? p->target : "") != 0) {
		return 0;
	}
	memcpy(p->framed, rec, len);
	p->framed_len = len;
	int n = state_drain_pack(d, p->compact, sizeof(p->compact));
	assert_true(n > 0);
	p->compact_len = (size_t)n;
	return 0;
}

/* A compact drain merges to the same record as the store's form, and is much smaller. */
static void test_drain_compact_roundtrip(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *service, *target;
		bool drained;
		const char *note;
		size_t max_len; /* upper bound on the compact record */
	} cases[] = {
	        {"region drain", "www.svc.example.com", "r0", true, NULL, 36},
	        {"service drain with a note", "api.example.com", NULL, true, "alice: deploy", 42},
	        {"address tombstone", "www.svc.example.com", "10.0.0.1", false, NULL, 42},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->now_ms += 1000;
		if (!cases[i].drained) {
			assert_int_equal(state_drain_set(f->st[0], cases[i].service,
			                                 cases[i].target, true, NULL),
			                 1);
			f->now_ms += 1000;
		}
		assert_int_equal(state_drain_set(f->st[0], cases[i].service, cases[i].target,
		                                 cases[i].drained, cases[i].note),
		                 1);
		struct ovr_pair p = {.service = cases[i].service, .target = cases[i].target};
		assert_int_equal(state_ovr_foreach(f->st[0], pack_compact, &p), 0);
		if (p.compact_len > cases[i].max_len || p.compact_len + 20 > p.framed_len) {
			fail_msg("%s: compact %zu bytes (max %zu), framed %zu", cases[i].name,
			         p.compact_len, cases[i].max_len, p.framed_len);
		}
		state_rec_kind_t kind = 0;
		assert_int_equal(state_rec_merge(f->st[1], p.compact, p.compact_len, &kind), 1);
		assert_int_equal(kind, STATE_REC_DRAIN);
		/* Old news in either form. */
		assert_int_equal(state_rec_merge(f->st[1], p.compact, p.compact_len, NULL), 0);
		assert_int_equal(state_rec_merge(f->st[1], p.framed, p.framed_len, NULL), 0);
		/* Both stores now hold the same bytes: pack_all blobs are equal. */
		uint8_t *b0 = NULL, *b1 = NULL;
		size_t l0 = 0, l1 = 0;
		assert_int_equal(state_pack_all(f->st[0], &b0, &l0), 0);
		assert_int_equal(state_pack_all(f->st[1], &b1, &l1), 0);
		assert_int_equal(l0, l1);
		if (memcmp(b0, b1, l0) != 0) {
			fail_msg("%s: stores differ after the merge", cases[i].name);
		}
		free(b0);
		free(b1);
		/* Undrain on both stores, so that the next case starts equal. */
		if (cases[i].drained) {
			f->now_ms += 1000;
			assert_int_equal(state_drain_set(f->st[0], cases[i].service,
			                                 cases[i].target, false, NULL),
			                 1);
			assert_int_equal(state_ovr_foreach(f->st[0], pack_compact, &p), 0);
			assert_int_equal(state_rec_merge(f->st[1], p.compact, p.compact_len, NULL),
			                 1);
		}
	}
}

static int take_framed(const state_drain_t *d, const uint8_t *rec, size_t len, void *ctx)
{
	struct ovr_pair *p = ctx;
	(void)d;
	memcpy(p->framed, rec, len);
	p->framed_len = len;
	return 0;
}

/* A drain with an expiry has no compact form: its store record carries the expiry to a peer. */
static void test_drain_until_replicates(void **state)
{
	struct fixture *f = *state;
	int64_t until = (int64_t)(f->now_ms / 1000) + 60;
	assert_int_equal(state_drain_set_until(f->st[0], "www", NULL, true, "deploy", until), 1);
	struct ovr_pair p = {0};
	assert_int_equal(state_ovr_foreach(f->st[0], take_framed, &p), 0);
	assert_true(p.framed_len > 0);
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(f->st[0], &l, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_drain_pack(&l[0], p.compact, sizeof(p.compact)), -ENOTSUP);
	state_drain_list_free(l, n);
	assert_int_equal(state_rec_merge(f->st[1], p.framed, p.framed_len, NULL), 1);
	assert_int_equal(state_drain_list(f->st[1], &l, &n), 0);
	assert_int_equal(n, 1);
	assert_true(l[0].until_s == until);
	assert_string_equal(l[0].origin, "n1");
	state_drain_list_free(l, n);
	/* Both nodes drop it at the expiry, with no message. */
	f->now_ms = (uint64_t)until * 1000;
	assert_int_equal(state_drain_list(f->st[1], &l, &n), 0);
	assert_int_equal(n, 0);
	state_drain_list_free(l, n);
}

static void test_drain_compact_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t rec[STATE_REC_MAX], bad[STATE_REC_MAX + 1];
	state_drain_t d = {.service = "www",
	                   .target = "eu",
	                   .kind = STATE_TARGET_REGION,
	                   .drained = true,
	                   .since_s = 1700000000,
	                   .version = UINT64_C(1700000000123),
	                   .origin = "n1",
	                   .note = "ops"};
	int n = state_drain_pack(&d, rec, sizeof(rec));
	assert_true(n > 0);
	for (int len = 1; len < n; len++) {
		if (state_rec_merge(f->st[1], rec, (size_t)len, NULL) != -EBADMSG) {
			fail_msg("cut at %d not refused", len);
		}
	}
	static const struct {
		const char *name;
		size_t off;
		uint8_t val;
	} cases[] = {
	        {"target kind 3", 0, STATE_REC_DRAIN | 3 << 1 | 1 | 8},
	        {"whole service followed by a target", 0, STATE_REC_DRAIN | 1 | 8},
	        {"note flag off, note still there", 0, STATE_REC_DRAIN | 2 << 1 | 1},
	        {"empty service", 1, 0},
	        {"service length past the end", 1, 0xf0},
	        {"control character in the service", 2, '\n'},
	        {"empty region", 5, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, rec, (size_t)n);
		bad[cases[i].off] = cases[i].val;
		int rc = state_rec_merge(f->st[1], bad, (size_t)n, NULL);
		if (rc != -EBADMSG) {
			fail_msg("%s: got %d, want -EBADMSG", cases[i].name, rc);
		}
	}
	memcpy(bad, rec, (size_t)n);
	bad[n] = 0;
	assert_int_equal(state_rec_merge(f->st[1], bad, (size_t)n + 1, NULL), -EBADMSG);
	/* Version zero: the version varint starts right after service and target. */
	uint8_t zero[] = {STATE_REC_DRAIN | 1 << 1 | 1, 1, 'w', 1, 'e', 0, 0, 1, 'n'};
	assert_int_equal(state_rec_merge(f->st[1], zero, sizeof(zero), NULL), -EBADMSG);
	state_drain_t *l = NULL;
	size_t cnt = 0;
	assert_int_equal(state_drain_list(f->st[1], &l, &cnt), 0);
	assert_int_equal(cnt, 0);
	/* The valid record still merges, with since_s intact. */
	assert_int_equal(state_rec_merge(f->st[1], rec, (size_t)n, NULL), 1);
	assert_int_equal(state_drain_list(f->st[1], &l, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(l[0].since_s, 1700000000);
	assert_int_equal(l[0].version, UINT64_C(1700000000123));
	assert_string_equal(l[0].note, "ops");
	state_drain_list_free(l, cnt);
	/* Bad input to the packer. */
	state_drain_t e = d;
	e.version = 0;
	assert_int_equal(state_drain_pack(&e, rec, sizeof(rec)), -EINVAL);
	e = d;
	e.target = NULL;
	assert_int_equal(state_drain_pack(&e, rec, sizeof(rec)), -EINVAL);
	assert_int_equal(state_drain_pack(&d, rec, 10), -ENOSPC);
}

static int count_member(const state_member_t *m, void *ctx)
{
	char *out = ctx;
	size_t off = strlen(out);
	snprintf(out + off, 256 - off, "%s%s@%s/%s", off > 0 ? "," : "", m->name, m->addr,
	         m->region);
	return 0;
}

static void test_members_persist(void **state)
{
	struct fixture *f = *state;
	state_member_t a = {
	        .name = "n2", .region = "eu", .addr = "127.0.0.2:7946", .last_seen_ms = 5};
	state_member_t b = {.name = "n3", .region = "us", .addr = "[::1]:7946", .last_seen_ms = 6};
	assert_int_equal(state_member_put(f->st[0], &a), 0);
	assert_int_equal(state_member_put(f->st[0], &b), 0);
	state_member_t bad = {.name = "", .region = "eu", .addr = "x"};
	assert_int_equal(state_member_put(f->st[0], &bad), -EINVAL);
	state_close(f->st[0]);
	assert_int_equal(state_open(f->dir[0], &f->opts[0], &f->st[0]), 0);
	char text[256] = "";
	assert_int_equal(state_member_foreach(f->st[0], count_member, text), 0);
	assert_string_equal(text, "n2@127.0.0.2:7946/eu,n3@[::1]:7946/us");
	assert_int_equal(state_member_del(f->st[0], "n2"), 0);
	assert_int_equal(state_member_del(f->st[0], "absent"), 0);
	text[0] = '\0';
	assert_int_equal(state_member_foreach(f->st[0], count_member, text), 0);
	assert_string_equal(text, "n3@[::1]:7946/us");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_obs_record_roundtrip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_obs_pack_refuses, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_bad_records_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pack_all_converges, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pack_delta, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drain_compact_roundtrip, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drain_compact_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drain_until_replicates, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_members_persist, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
