/*
 * Unit tests for config/zone.c: every common record type to its wire RDATA,
 * RFC 3597 unknown types, each zone error and warning at the right line, the
 * smallest TTL of an RRset, SOA first, the serial, and the example zone.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "tests/config/util.h"

#define T_A 1
#define T_NS 2
#define T_CNAME 5
#define T_SOA 6
#define T_PTR 12
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28
#define T_SRV 33
#define T_CAA 257

static const char config[] = "node: { name: n, region: r }\n"
                             "zones:\n"
                             "  - name: svc.example.com\n"
                             "    file: z.zone\n";

/* Lines 1-4 of every zone below. */
#define HEAD                                                                                       \
	"$TTL 300\n"                                                                               \
	"@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n"                                            \
	"  IN NS ns1\n"                                                                            \
	"ns1 IN A 192.0.2.53\n"

/* Load `zone` as svc.example.com; returns cfg (NULL on errors) and d. */
static cfg_t *load_zone(scratch_t *s, const char *zone, cfg_diag_t *d)
{
	cfg_t *cfg = NULL;
	scratch_init(s);
	scratch_write(s, "aya.yaml", config);
	scratch_write(s, "z.zone", zone);
	int rc = scratch_load(s, "aya.yaml", &cfg, d);
	assert_true(rc == 0 || rc == -EINVAL);
	return cfg;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; hex[0] != '\0' && hex[1] != '\0' && n < cap; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static const cfg_rr_t *find_rr(const cfg_zone_t *z, const char *owner, uint16_t type)
{
	uint8_t wire[AYA_DNAME_MAX];
	if (aya_dname_from_str(owner, wire) < 0) {
		return NULL;
	}
	for (size_t i = 0; i < z->n_rrs; i++) {
		if (z->rrs[i].type == type && aya_dname_equal(z->rrs[i].owner, wire)) {
			return &z->rrs[i];
		}
	}
	return NULL;
}

static void test_rdata_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *record; /* owner "rec" */
		uint16_t type;
		const char *hex;
	} cases[] = {
	        {"A", "rec IN A 192.0.2.1", T_A, "c0000201"},
	        {"AAAA", "rec IN AAAA 2001:db8::1", T_AAAA, "20010db8000000000000000000000001"},
	        {"NS", "rec IN NS ns.example.net.", T_NS, "026e73076578616d706c65036e657400"},
	        {"CNAME keeps case", "rec IN CNAME Target.example.net.", T_CNAME,
	         "06546172676574076578616d706c65036e657400"},
	        {"CNAME relative", "rec IN CNAME api", T_CNAME,
	         "0361706903737663076578616d706c6503636f6d00"},
	        {"MX", "rec IN MX 10 mail.example.net.", T_MX,
	         "000a046d61696c076578616d706c65036e657400"},
	        {"TXT two strings", "rec IN TXT \"hello\" \"w\"", T_TXT, "0568656c6c6f0177"},
	        {"TXT empty", "rec IN TXT \"\"", T_TXT, "00"},
	        {"TXT with ; and an escaped quote inside", "rec IN TXT \"a;b\" \"c\\\"d\" ; note",
	         T_TXT, "03613b6203632264"},
	        {"SRV", "rec IN SRV 10 60 5060 sip.example.net.", T_SRV,
	         "000a003c13c4037369 70076578616d706c65036e657400"},
	        {"CAA", "rec IN CAA 0 issue \"ca.test\"", T_CAA,
	         "00056973737565"
	         "63612e74657374"},
	        {"PTR", "rec IN PTR host.example.net.", T_PTR,
	         "04686f7374076578616d706c65036e657400"},
	        {"RFC 3597 unknown type", "rec IN TYPE65280 \\# 4 0a000001", 65280, "0a000001"},
	        {"RFC 3597 empty", "rec IN TYPE65281 \\# 0", 65281, ""},
	        {"owner lower-cased", "REC IN A 192.0.2.2", T_A, "c0000202"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char zone[1024];
		snprintf(zone, sizeof(zone), HEAD "%s\n", cases[i].record);
		scratch_t s;
		cfg_diag_t d = {0};
		cfg_t *cfg = load_zone(&s, zone, &d);
		if (cfg == NULL || d.warnings != 0) {
			fail_msg("case '%s': did not load cleanly:\n%s", cases[i].name, d.text);
		}
		const cfg_rr_t *rr = find_rr(&cfg->zones[0], "rec.svc.example.com", cases[i].type);
		if (rr == NULL) {
			fail_msg("case '%s': record not found", cases[i].name);
		}
		/* The SRV literal has a space to keep the columns readable. */
		char hex[256];
		size_t k = 0;
		for (const char *p = cases[i].hex; *p != '\0' && k + 1 < sizeof(hex); p++) {
			if (*p != ' ') {
				hex[k++] = *p;
			}
		}
		hex[k] = '\0';
		uint8_t want[128];
		size_t n = unhex(hex, want, sizeof(want));
		if (rr->rdlen != n || memcmp(rr->rdata, want, n) != 0) {
			fail_msg("case '%s': rdata length %u want %zu", cases[i].name, rr->rdlen,
			         n);
		}
		assert_int_equal(rr->rclass, 1);
		assert_int_equal(rr->ttl, 300);
		assert_int_equal(rr->line, 5);
		assert_int_equal(rr->owner[0], 3);
		assert_memory_equal(rr->owner + 1, "rec", 3);
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
}

static const struct zone_case {
	const char *name;
	const char *zone;
	const char *where; /* ":LINE: error" after "z.zone", or ": error" for the whole file */
	const char *msg;
	bool loads; /* only warnings */
} zone_cases[] = {
        {"syntax error", HEAD "ok IN A 192.0.2.1\nbad IN A 300.1.1.1\n", ":6: error",
         "syntax error:", false},
        {"bad type", HEAD "\nbad IN NOPE 1\n", ":6: error", "syntax error:", false},
        {"bad address names the token", HEAD "bad IN A 192.0.2.300\n", ":5: error",
         "syntax error: Syntax error, could not parse the RR's rdata: '192.0.2.300' is not a "
         "valid A field",
         false},
        {"bad MX preference names the token", HEAD "mx IN MX ten mail\n", ":5: error",
         "syntax error: Syntax error, could not parse the RR's rdata: 'ten' is not a valid MX "
         "field",
         false},
        {"unterminated quote", HEAD "t IN TXT \"hello\n", ":5: error",
         "unterminated quoted string in \"t IN TXT \"hello\"", false},
        {"no SOA", "$TTL 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n", ": error",
         "no SOA record at the zone apex svc.example.com.", false},
        {"SOA not at apex", HEAD "sub IN SOA ns1 hm 1 2 3 4 5\n", ":5: error",
         "SOA record at sub.svc.example.com., not at the zone apex", false},
        {"second SOA", HEAD "@ IN SOA ns1 hm 8 2 3 4 5\n", ":5: error",
         "second SOA record (first at line 2)", false},
        {"outside zone", HEAD "www.other.org. IN A 192.0.2.1\n", ":5: error",
         "record www.other.org. is outside the zone svc.example.com", false},
        {"class CH", HEAD "c CH TXT \"x\"\n", ":5: error",
         "record c.svc.example.com.: class must be IN", false},
        {"include refused", HEAD "$INCLUDE other.zone\n", ":5: error", "$INCLUDE is not supported",
         false},
        {"CNAME and other data", HEAD "c IN A 192.0.2.1\nc IN CNAME api\n", ":6: error",
         "CNAME and other data at c.svc.example.com.", false},
        {"two CNAMEs", HEAD "c IN CNAME a\nc IN CNAME b\n", ":6: error",
         "more than one CNAME at c.svc.example.com.", false},
        {"TTL differs", HEAD "t 100 IN A 192.0.2.1\nt 200 IN A 192.0.2.2\n", ":6: warning",
         "TTLs differ in the RRset t.svc.example.com. A; using the smallest, 100", true},
        {"apex without NS", "@ IN SOA ns1 hm 1 2 3 4 5\nns1 IN A 192.0.2.1\n", ": warning",
         "no NS records at the zone apex svc.example.com.", true},
        {"occluded", HEAD "sub IN NS ns.sub\nns.sub IN A 192.0.2.9\nx.sub IN TXT \"hidden\"\n",
         ":7: warning",
         "record x.sub.svc.example.com. TXT is occluded by the delegation at "
         "sub.svc.example.com.",
         true},
        {"occluded at the cut", HEAD "sub IN NS ns.other.\nsub IN MX 10 mail\n", ":6: warning",
         "record sub.svc.example.com. MX is occluded", true},
        {"multi-line SOA keeps lines",
         "$TTL 60\n; comment\n\n@ IN SOA ns1 hm (\n  1 ; serial\n  2 3 4 5 )\n\n  IN NS ns1\n"
         "ns1 IN A 192.0.2.1\n   ; indented comment\n\nbad IN AAAA 1.2.3.4\n",
         ":12: error", "syntax error:", false},
};

static void test_zone_errors(void **state)
{
	(void)state;
	unsigned failed = 0;
	for (size_t i = 0; i < sizeof(zone_cases) / sizeof(zone_cases[0]); i++) {
		const struct zone_case *c = &zone_cases[i];
		scratch_t s;
		cfg_diag_t d = {0};
		cfg_t *cfg = load_zone(&s, c->zone, &d);
		char want[PATH_MAX + 512];
		snprintf(want, sizeof(want), "%s/z.zone%s: %s", s.dir, c->where, c->msg);
		bool ok = d.text != NULL && strstr(d.text, want) != NULL &&
		          (c->loads ? (cfg != NULL && d.warnings == 1 && d.errors == 0)
		                    : (cfg == NULL && d.errors == 1));
		if (!ok) {
			print_error("case '%s': want\n%s\ngot (errors %u warnings %u)\n%s", c->name,
			            want, d.errors, d.warnings, d.text ? d.text : "(nothing)\n");
			failed++;
		}
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
	assert_int_equal(failed, 0);
}

static void test_ttl_smallest_and_soa_first(void **state)
{
	(void)state;
	scratch_t s;
	cfg_diag_t d = {0};
	cfg_t *cfg = load_zone(&s,
	                       "$TTL 300\n"
	                       "ns1 IN A 192.0.2.53\n"
	                       "t 200 IN A 192.0.2.1\n"
	                       "t 100 IN A 192.0.2.2\n"
	                       "t 300 IN A 192.0.2.3\n"
	                       "@ 60 IN SOA ns1 hostmaster 2026112599 3600 600 86400 60\n"
	                       "@ IN NS ns1\n",
	                       &d);
	if (cfg == NULL) {
		fail_msg("load:\n%s", d.text);
	}
	assert_int_equal(d.warnings, 1);
	const cfg_zone_t *z = &cfg->zones[0];
	assert_int_equal(z->n_rrs, 6);
	assert_int_equal(z->rrs[0].type, T_SOA);
	assert_int_equal(z->rrs[0].line, 6);
	assert_int_equal(z->rrs[0].ttl, 60);
	assert_int_equal(z->serial, 2026112599u);
	/* The rest keep the file's order, with the RRset's smallest TTL. */
	static const unsigned lines[] = {2, 3, 4, 5, 7};
	for (size_t i = 1; i < z->n_rrs; i++) {
		assert_int_equal(z->rrs[i].line, lines[i - 1]);
		if (z->rrs[i].type == T_A && z->rrs[i].owner[1] == 't') {
			assert_int_equal(z->rrs[i].ttl, 100);
		}
	}
	assert_int_equal(find_rr(z, "ns1.svc.example.com", T_A)->ttl, 300);
	assert_int_equal(find_rr(z, "svc.example.com", T_NS)->ttl, 300);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_default_ttl_and_origin(void **state)
{
	(void)state;
	scratch_t s;
	cfg_diag_t d = {0};
	cfg_t *cfg = load_zone(&s,
	                       "@ IN SOA ns1 hm 1 2 3 4 5\n"
	                       "@ IN NS ns1\n"
	                       "ns1 IN A 192.0.2.53\n"
	                       "$ORIGIN deep.svc.example.com.\n"
	                       "x IN A 192.0.2.7\n",
	                       &d);
	if (cfg == NULL) {
		fail_msg("load:\n%s", d.text);
	}
	const cfg_zone_t *z = &cfg->zones[0];
	const cfg_rr_t *rr = find_rr(z, "x.deep.svc.example.com", T_A);
	assert_non_null(rr);
	assert_int_equal(rr->ttl, 3600); /* no $TTL */
	assert_int_equal(rr->line, 5);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_example_zone(void **state)
{
	(void)state;
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = cfg_load("examples/aya.yaml", &cfg, &d);
	if (rc != 0 || d.warnings != 0) {
		fail_msg("rc %d:\n%s", rc, d.text);
	}
	const cfg_zone_t *z = cfg_zone_find(cfg, "svc.example.com");
	assert_non_null(z);
	assert_int_equal(z->rrs[0].type, T_SOA);
	assert_int_equal(z->serial, 2026112501u);
	size_t big = 0, big_bytes = 0;
	uint8_t big_owner[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("big.svc.example.com", big_owner) > 0);
	for (size_t i = 0; i < z->n_rrs; i++) {
		if (z->rrs[i].type == T_TXT && aya_dname_equal(z->rrs[i].owner, big_owner)) {
			big++;
			big_bytes += z->rrs[i].rdlen;
		}
	}
	assert_int_equal(big, 20);
	assert_true(big_bytes > 1232); /* cannot fit one default EDNS UDP answer */
	assert_non_null(find_rr(z, "opaque.svc.example.com", 65280));
	assert_non_null(find_rr(z, "*.wild.svc.example.com", T_A));
	assert_non_null(find_rr(z, "a.b.c.svc.example.com", T_A));
	assert_null(find_rr(z, "b.c.svc.example.com", T_A));
	assert_non_null(find_rr(z, "sub.svc.example.com", T_NS));
	assert_non_null(find_rr(z, "_sip._udp.svc.example.com", T_SRV));
	assert_null(find_rr(z, "www.svc.example.com", T_A));
	cfg_free(cfg);
	cfg_diag_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rdata_table),
	        cmocka_unit_test(test_zone_errors),
	        cmocka_unit_test(test_ttl_smallest_and_soa_first),
	        cmocka_unit_test(test_default_ttl_and_origin),
	        cmocka_unit_test(test_example_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
