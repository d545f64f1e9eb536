/* Unit tests for state/codec.c: the on-disk layout, round trips, and rejection of bad bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "state/state_int.h"

static void test_obs_value_layout(void **state)
{
	(void)state;
	/* The documented layout, byte for byte: a change here is a format change. */
	static const uint8_t want[OBS_VALUE_LEN] = {
	        0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x05, 0xdc, 0x00, 0x00, 0x00, 0x64, 0x3f, 0xe0,
	        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	        0x06, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
	};
	state_obs_t o = {.status = STATE_ST_UP,
	                 .rise = 3,
	                 .rtt_us = 1500,
	                 .capacity = 100,
	                 .utilization = 0.5,
	                 .observed_at_ms = UINT64_C(0x0102030405060708),
	                 .version = 42};
	uint8_t got[OBS_VALUE_LEN];
	state_obs_value_encode(got, &o);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_obs_value_roundtrip(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		state_obs_t obs;
	} cases[] = {
	        {"up", {.status = STATE_ST_UP, .rise = 1, .utilization = 0.25, .version = 1}},
	        {"down unknown util",
	         {.status = STATE_ST_DOWN, .fall = 7, .utilization = NAN, .version = 9}},
	        {"unknown max fields",
	         {.status = STATE_ST_UNKNOWN,
	          .rise = UINT32_MAX,
	          .fall = UINT32_MAX,
	          .rtt_us = UINT32_MAX,
	          .capacity = UINT32_MAX,
	          .utilization = 1.0,
	          .observed_at_ms = UINT64_MAX,
	          .version = UINT64_MAX}},
	        {"zero util", {.status = STATE_ST_UP, .utilization = 0.0, .version = 2}},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		const state_obs_t *in = &cases[i].obs;
		uint8_t buf[OBS_VALUE_LEN + 4];
		state_obs_t out;
		print_message("case %s\n", cases[i].name);
		state_obs_value_encode(buf, in);
		assert_int_equal(state_obs_value_decode(buf, OBS_VALUE_LEN, &out), 0);
		assert_int_equal(out.status, in->status);
		assert_int_equal(out.rise, in->rise);
		assert_int_equal(out.fall, in->fall);
		assert_int_equal(out.rtt_us, in->rtt_us);
		assert_int_equal(out.capacity, in->capacity);
		assert_true(out.observed_at_ms == in->observed_at_ms);
		assert_true(out.version == in->version);
		if (isnan(in->utilization)) {
			assert_true(isnan(out.utilization));
		} else {
			assert_true(out.utilization == in->utilization);
		}
		/* A longer value of the same format (fields appended later) still decodes. */
		memset(buf + OBS_VALUE_LEN, 0xee, 4);
		assert_int_equal(state_obs_value_decode(buf, sizeof(buf), &out), 0);
	}
}

/* Issue 4 extension: since, up_since and the last error after the 44-byte base. */
static void test_obs_value_extension(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint64_t since, up_since;
		const char *error;
		size_t want_len;
	} cases[] = {
	        {"none set: base record only", 0, 0, NULL, OBS_VALUE_LEN},
	        {"empty error: base record only", 0, 0, "", OBS_VALUE_LEN},
	        {"since only", 1700000000000, 0, NULL, OBS_VALUE_LEN + 17},
	        {"all set", 1700000000000, 1700000000500, "timeout after 300ms",
	         OBS_VALUE_LEN + 17 + 19},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		state_obs_t in = {.status = STATE_ST_UP,
		                  .utilization = NAN,
		                  .version = 7,
		                  .since_ms = cases[i].since,
		                  .up_since_ms = cases[i].up_since,
		                  .error = cases[i].error};
		uint8_t buf[OBS_VALUE_MAX];
		size_t len = state_obs_value_encode(buf, &in);
		if (len != cases[i].want_len) {
			fail_msg("%s: length %zu, want %zu", cases[i].name, len, cases[i].want_len);
		}
		state_obs_t out;
		char err[STATE_ERROR_MAX + 1];
		assert_int_equal(state_obs_value_decode_ext(buf, len, &out, err), 0);
		assert_int_equal(out.since_ms, cases[i].since);
		assert_int_equal(out.up_since_ms, cases[i].up_since);
		assert_string_equal(out.error, cases[i].error != NULL ? cases[i].error : "");
		/* A truncated extension (a later format's shorter field) is ignored. */
		assert_int_equal(state_obs_value_decode_ext(buf, OBS_VALUE_LEN + 5, &out, err), 0);
		assert_int_equal(out.since_ms, 0);
	}
	/* An error longer than STATE_ERROR_MAX is cut, never overflows. */
	char longerr[STATE_ERROR_MAX + 50];
	memset(longerr, 'x', sizeof(longerr) - 1);
	longerr[sizeof(longerr) - 1] = '\0';
	state_obs_t in = {
	        .status = STATE_ST_DOWN, .utilization = NAN, .version = 1, .error = longerr};
	uint8_t buf[OBS_VALUE_MAX];
	assert_int_equal(state_obs_value_encode(buf, &in), OBS_VALUE_MAX);
}

static void test_obs_value_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t off; /* byte to overwrite, or SIZE_MAX for a truncation */
		uint8_t val;
		size_t len;
	} cases[] = {
	        {"empty", SIZE_MAX, 0, 0},
	        {"one short", SIZE_MAX, 0, OBS_VALUE_LEN - 1},
	        {"format 0", 0, 0, OBS_VALUE_LEN},
	        {"format 2", 0, 2, OBS_VALUE_LEN},
	        {"status 3", 1, 3, OBS_VALUE_LEN},
	        {"util above 1", 20, 0x40, OBS_VALUE_LEN},  /* 0x40e0... = 1024 */
	        {"util negative", 20, 0xbf, OBS_VALUE_LEN}, /* -0.5 */
	};
	state_obs_t o = {.status = STATE_ST_UP, .utilization = 0.5, .version = 5};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		uint8_t buf[OBS_VALUE_LEN];
		state_obs_t out;
		print_message("case %s\n", cases[i].name);
		state_obs_value_encode(buf, &o);
		if (cases[i].off != SIZE_MAX) {
			buf[cases[i].off] = cases[i].val;
		}
		assert_int_equal(state_obs_value_decode(buf, cases[i].len, &out), -EBADMSG);
	}
	/* Version 0 is reserved for "none". */
	uint8_t buf[OBS_VALUE_LEN];
	state_obs_t out;
	o.version = 0;
	state_obs_value_encode(buf, &o);
	assert_int_equal(state_obs_value_decode(buf, sizeof(buf), &out), -EBADMSG);
}

static void test_obs_key(void **state)
{
	(void)state;
	uint8_t buf[OBS_KEY_MAX];
	char obs[STATE_NODE_MAX + 1], ep[STATE_NAME_MAX + 1];
	size_t n = state_obs_key_encode(buf, "n1", "192.0.2.1:80/http");
	static const uint8_t want[] = {2,   'n', '1', 17,  '1', '9', '2', '.', '0', '.', '2',
	                               '.', '1', ':', '8', '0', '/', 'h', 't', 't', 'p'};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(state_obs_key_decode(buf, n, obs, ep), 0);
	assert_string_equal(obs, "n1");
	assert_string_equal(ep, "192.0.2.1:80/http");

	static const struct {
		const char *name;
		const uint8_t bytes[8];
		size_t len;
	} bad[] = {
	        {"empty", {0}, 0},
	        {"observer overruns", {5, 'a', 'b'}, 3},
	        {"empty observer", {0, 1, 'x'}, 3},
	        {"empty endpoint", {1, 'a', 0}, 3},
	        {"trailing byte", {1, 'a', 1, 'b', 'c'}, 5},
	        {"control char", {1, '\n', 1, 'b'}, 4},
	        {"observer too long", {65, 'a'}, 2},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(bad); i++) {
		print_message("case %s\n", bad[i].name);
		assert_int_equal(state_obs_key_decode(bad[i].bytes, bad[i].len, obs, ep), -EBADMSG);
	}
}

static void test_ovr_key(void **state)
{
	(void)state;
	uint8_t buf[OVR_KEY_MAX], kind;
	char svc[STATE_NAME_MAX + 1], tgt[STATE_NAME_MAX + 1];
	state_target_kind_t tk;
	size_t n = state_ovr_key_encode(buf, OVR_KIND_DRAIN, "www", STATE_TARGET_REGION, "eu");
	static const uint8_t want[] = {1, 3, 'w', 'w', 'w', 1, 2, 'e', 'u'};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(state_ovr_key_decode(buf, n, &kind, svc, &tk, tgt), 0);
	assert_int_equal(kind, OVR_KIND_DRAIN);
	assert_string_equal(svc, "www");
	assert_int_equal(tk, STATE_TARGET_REGION);
	assert_string_equal(tgt, "eu");

	static const struct {
		const char *name;
		const uint8_t bytes[8];
		size_t len;
	} bad[] = {
	        {"service with target", {1, 1, 'w', 0, 1, 'x'}, 6},
	        {"region without target", {1, 1, 'w', 1, 0}, 5},
	        {"unknown target kind", {1, 1, 'w', 3, 1, 'x'}, 6},
	        {"empty service", {1, 0, 0, 0}, 4},
	        {"truncated", {1, 1, 'w'}, 3},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(bad); i++) {
		print_message("case %s\n", bad[i].name);
		assert_int_equal(
		        state_ovr_key_decode(bad[i].bytes, bad[i].len, &kind, svc, &tk, tgt),
		        -EBADMSG);
	}
}

static void test_ovr_value(void **state)
{
	(void)state;
	uint8_t buf[OVR_VALUE_MIN + STATE_NODE_MAX + STATE_NOTE_MAX];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	state_drain_t in = {.drained = true,
	                    .version = 77,
	                    .since_s = 1700000000,
	                    .origin = "n1",
	                    .note = "alice: maintenance"};
	state_drain_t out;
	size_t n = state_ovr_value_encode(buf, &in);
	assert_int_equal(n, OVR_VALUE_MIN + 2 + 18);
	assert_int_equal(state_ovr_value_decode(buf, n, &out, origin, note), 0);
	assert_true(out.drained);
	assert_true(out.version == 77);
	assert_true(out.since_s == 1700000000);
	assert_string_equal(out.origin, "n1");
	assert_string_equal(out.note, "alice: maintenance");
	/* Every truncation is rejected. */
	for (size_t len = 0; len < n; len++) {
		assert_int_equal(state_ovr_value_decode(buf, len, &out, origin, note), -EBADMSG);
	}
	buf[0] = 9;
	assert_int_equal(state_ovr_value_decode(buf, n, &out, origin, note), -EBADMSG);
}

/* A drain's expiry is an extension after the note: absent when 0, read back when set. */
static void test_ovr_value_until(void **state)
{
	(void)state;
	uint8_t buf[OVR_VALUE_MAX];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	static const struct {
		const char *name;
		bool drained;
		int64_t until_s;
		size_t extra; /* bytes past the note */
		int64_t want;
	} cases[] = {
	        {"no expiry", true, 0, 0, 0},
	        {"expiry", true, 1700007200, 8, 1700007200},
	        {"tombstone carries none", false, 1700007200, 0, 0},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case %s\n", cases[i].name);
		state_drain_t in = {.drained = cases[i].drained,
		                    .version = 5,
		                    .since_s = 1700000000,
		                    .origin = "n1",
		                    .note = "deploy",
		                    .until_s = cases[i].until_s};
		state_drain_t out;
		size_t n = state_ovr_value_encode(buf, &in);
		assert_int_equal(n, OVR_VALUE_MIN + 2 + 6 + cases[i].extra);
		assert_int_equal(state_ovr_value_decode(buf, n, &out, origin, note), 0);
		assert_true(out.until_s == cases[i].want);
		assert_string_equal(out.note, "deploy");
		/* A reader that stops at the note (an older node) sees the same drain. */
		assert_int_equal(
		        state_ovr_value_decode(buf, n - cases[i].extra, &out, origin, note), 0);
		assert_true(out.until_s == 0 && out.drained == cases[i].drained);
	}
}

static void test_lww_cmp(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint64_t va;
		const char *a;
		uint64_t vb;
		const char *b;
		int want;
	} cases[] = {
	        {"newer wins", 2, "a", 1, "z", 1},
	        {"older loses", 1, "z", 2, "a", -1},
	        {"equal version, greater bytes win", 5, "b", 5, "a", 1},
	        {"equal version, smaller bytes lose", 5, "a", 5, "b", -1},
	        {"identical", 5, "ab", 5, "ab", 0},
	        {"equal prefix, longer wins", 5, "ab", 5, "a", 1},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case %s\n", cases[i].name);
		assert_int_equal(state_lww_cmp(cases[i].va, (const uint8_t *)cases[i].a,
		                               strlen(cases[i].a), cases[i].vb,
		                               (const uint8_t *)cases[i].b, strlen(cases[i].b)),
		                 cases[i].want);
	}
}

static void test_endpoint_key(void **state)
{
	(void)state;
	char longmon[STATE_NAME_MAX + 2];
	memset(longmon, 'm', sizeof(longmon) - 1);
	longmon[sizeof(longmon) - 1] = '\0';
	static const struct {
		const char *name;
		const char *addr;
		uint16_t port;
		const char *monitor;
		int rc;
		const char *want;
	} cases[] = {
	        {"ipv4", "192.0.2.1", 443, "https", 19, "192.0.2.1:443/https"},
	        {"ipv6 canonical", "2001:DB8:0:0::1", 80, "http", 21, "[2001:db8::1]:80/http"},
	        {"not an address", "www.example.com", 80, "http", -EINVAL, NULL},
	        {"port 0", "192.0.2.1", 0, "http", -EINVAL, NULL},
	        {"empty monitor", "192.0.2.1", 80, "", -EINVAL, NULL},
	        {"monitor too long", "192.0.2.1", 80, NULL, -ENAMETOOLONG, NULL},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		char out[STATE_NAME_MAX + 1];
		print_message("case %s\n", cases[i].name);
		const char *mon = cases[i].monitor != NULL ? cases[i].monitor : longmon;
		int rc = state_endpoint_key(out, sizeof(out), cases[i].addr, cases[i].port, mon);
		assert_int_equal(rc, cases[i].rc);
		if (cases[i].want != NULL) {
			assert_string_equal(out, cases[i].want);
		}
	}
	char small[8];
	assert_int_equal(state_endpoint_key(small, sizeof(small), "192.0.2.1", 80, "http"),
	                 -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_obs_value_layout),
	        cmocka_unit_test(test_obs_value_roundtrip),
	        cmocka_unit_test(test_obs_value_extension),
	        cmocka_unit_test(test_obs_value_rejects),
	        cmocka_unit_test(test_obs_key),
	        cmocka_unit_test(test_ovr_key),
	        cmocka_unit_test(test_ovr_value),
	        cmocka_unit_test(test_ovr_value_until),
	        cmocka_unit_test(test_lww_cmp),
	        cmocka_unit_test(test_endpoint_key),
	};
	return cmocka_run_group_tests_name("state/codec", tests, NULL, NULL);
}
