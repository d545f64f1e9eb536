/*
 * `dnssec`: the request (op, zone, tag, role) and the reply through the
 * codec, and the renderings: the status text (zone, signing, key table,
 * counters), `ds` as bare DS lines, a change with its next step, and JSON.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

#define DS1                                                                                        \
	"svc.example.com. IN DS 31252 13 2 "                                                       \
	"6D8CEF4B7AE232E217E4D303148A490D758D91B1D872511E065363914C684F38"

static const ctl_dnssec_key_t keys[] = {
        {.tag = 11623,
         .role = "zsk",
         .state = "active",
         .file = "/k/K+013+11623.private",
         .ds = ""},
        {.tag = 31252,
         .role = "ksk",
         .state = "active",
         .file = "/k/K+013+31252.private",
         .ds = DS1},
        {.tag = 40000,
         .role = "ksk",
         .state = "published",
         .file = "/k/K+013+40000.private",
         .ds = "svc.example.com. IN DS 40000 13 2 AB"},
};

static const ctl_dnssec_zone_t zone = {.name = "svc.example.com",
                                       .algorithm = 13,
                                       .split = true,
                                       .key_directory = "/k",
                                       .dnskey_ttl_s = 3600,
                                       .signature_lifetime_s = 14 * 86400,
                                       .is_signed = true,
                                       .sig_expiry = 1000 + 14 * 86400,
                                       .signatures = 12,
                                       .signed_at = 1000,
                                       .keys = keys,
                                       .n_keys = 3,
                                       .error = ""};

static void test_request_codec(void **state)
{
	(void)state;
	static const ctl_request_t cases[] = {
	        {.cmd = CTL_CMD_DNSSEC, .dnssec_op = "status"},
	        {.cmd = CTL_CMD_DNSSEC, .dnssec_op = "ds", .zone = "svc.example.com"},
	        {.cmd = CTL_CMD_DNSSEC, .dnssec_op = "add", .zone = "z", .role = "zsk"},
	        {.cmd = CTL_CMD_DNSSEC, .dnssec_op = "activate", .zone = "z", .tag = 65535},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *f = NULL;
		size_t len = 0, body = 0;
		assert_int_equal(ctl_request_frame(&cases[i], &f, &len), 0);
		assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
		aya_arena_t *a = aya_arena_new();
		ctl_request_t got;
		assert_int_equal(ctl_request_decode(f + CTL_FRAME_HDR, body, a, &got), 0);
		assert_int_equal(got.cmd, CTL_CMD_DNSSEC);
		assert_string_equal(got.dnssec_op, cases[i].dnssec_op);
		assert_string_equal(got.zone, cases[i].zone != NULL ? cases[i].zone : "");
		assert_string_equal(got.role, cases[i].role != NULL ? cases[i].role : "");
		assert_int_equal(got.tag, cases[i].tag);
		aya_arena_free(a);
		free(f);
	}
	ctl_cmd_t cmd;
	assert_int_equal(ctl_cmd_parse("dnssec", &cmd), 0);
	assert_int_equal(cmd, CTL_CMD_DNSSEC);
	assert_string_equal(ctl_cmd_name(CTL_CMD_DNSSEC), "dnssec");
}

static ctl_reply_t *reply(const char *op, const char *changed, const char *hint)
{
	ctl_reply_t in = {.cmd = CTL_CMD_DNSSEC, .ok = true};
	in.dnssec = (ctl_dnssec_t){.op = op,
	                           .zones = &zone,
	                           .n_zones = 1,
	                           .changed = changed,
	                           .hint = hint,
	                           .tag = changed != NULL ? 40000 : 0,
	                           .answers = 7,
	                           .cache_hits = 5,
	                           .signs = 2,
	                           .sign_failures = 1,
	                           .now_s = 1000 + 86400};
	return roundtrip(&in);
}

static void test_status(void **state)
{
	(void)state;
	ctl_reply_t *r = reply("status", NULL, NULL);
	assert_int_equal(r->cmd, CTL_CMD_DNSSEC);
	assert_int_equal(r->dnssec.n_zones, 1);
	const ctl_dnssec_zone_t *z = &r->dnssec.zones[0];
	assert_string_equal(z->name, "svc.example.com");
	assert_true(z->split && z->is_signed);
	assert_int_equal(z->n_keys, 3);
	assert_string_equal(z->keys[1].ds, DS1);
	assert_int_equal(r->dnssec.sign_failures, 1);
	char *t = text_of(r);
	char line[256];
	assert_string_equal(line_with(t, "zone ", line, sizeof(line)),
	                    "zone svc.example.com: ECDSAP256SHA256 (13), KSK and ZSK, keys in /k");
	assert_string_equal(line_with(t, "DNSKEY TTL", line, sizeof(line)),
	                    "  DNSKEY TTL 1h00m, signature lifetime 14d00h");
	assert_string_equal(line_with(t, "signed ", line, sizeof(line)),
	                    "  signed 1970-01-01 00:16:40 UTC: 12 signature(s), earliest expiry "
	                    "1970-01-15 00:16:40 UTC (in 13d00h)");
	assert_string_equal(line_with(t, "TAG", line, sizeof(line)),
	                    "  TAG    ROLE  STATE      FILE");
	assert_string_equal(line_with(t, "40000", line, sizeof(line)),
	                    "  40000  ksk   published  /k/K+013+40000.private");
	assert_string_equal(line_with(t, "counters", line, sizeof(line)),
	                    "counters: 7 signed answer(s), 5 signature(s) from the cache, 2 made "
	                    "per query, 1 failure(s)");
	free(t);
	json_t *o = json_of(r);
	json_t *jz = json_array_get(json_object_get(o, "zones"), 0);
	assert_string_equal(json_string_value(json_object_get(jz, "algorithm_name")),
	                    "ECDSAP256SHA256");
	assert_int_equal(json_integer_value(json_object_get(jz, "sig_expiry")), 1000 + 14 * 86400);
	json_t *k = json_array_get(json_object_get(jz, "keys"), 2);
	assert_string_equal(json_string_value(json_object_get(k, "state")), "published");
	assert_int_equal(
	        json_integer_value(json_object_get(json_object_get(o, "counters"), "cache_hits")),
	        5);
	json_decref(o);
	ctl_reply_free(r);
}

static void test_ds_and_change(void **state)
{
	(void)state;
	ctl_reply_t *r = reply("ds", NULL, NULL);
	char *t = text_of(r);
	assert_string_equal(t, DS1 "\nsvc.example.com. IN DS 40000 13 2 AB\n");
	free(t);
	ctl_reply_free(r);

	r = reply("add", "zone svc.example.com: added ksk 40000 (published, not signing yet)",
	          "wait, then: ayactl dnssec activate svc.example.com 40000");
	assert_int_equal(r->dnssec.tag, 40000);
	t = text_of(r);
	char line[256];
	assert_string_equal(line_with(t, "added", line, sizeof(line)),
	                    "zone svc.example.com: added ksk 40000 (published, not signing yet)");
	assert_string_equal(line_with(t, "next:", line, sizeof(line)),
	                    "next: wait, then: ayactl dnssec activate svc.example.com 40000");
	assert_non_null(strstr(t, "  31252  ksk   active     /k/K+013+31252.private\n"));
	free(t);
	ctl_reply_free(r);

	/* A failure carries its message; the empty body still encodes. */
	ctl_reply_t in = {.cmd = CTL_CMD_DNSSEC, .ok = false, .error = "unknown zone 'x'"};
	r = roundtrip(&in);
	assert_false(r->ok);
	t = text_of(r);
	assert_string_equal(t, "dnssec: unknown zone 'x'\n");
	free(t);
	ctl_reply_free(r);

	/* No signed zone. */
	ctl_reply_t none = {.cmd = CTL_CMD_DNSSEC, .ok = true, .dnssec = {.op = "status"}};
	r = roundtrip(&none);
	t = text_of(r);
	assert_non_null(strstr(t, "no signed zones\n"));
	free(t);
	ctl_reply_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request_codec),
	        cmocka_unit_test(test_status),
	        cmocka_unit_test(test_ds_and_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
