/*
 * `explain` of any name (control/reply_name.c) on a real config, zone and
 * snapshots: a service by full or relative name, static records, a CNAME to
 * static records and into a service, NXDOMAIN, NODATA, a referral, REFUSED
 * outside the zones and for a CNAME leaving them, and malformed names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/arena.h"
#include "control/control.h"
#include "dnsd/dnsd.h"
#include "geo/geo.h"
#include "policy/policy.h"
#include "tests/config/util.h"

static const char yaml[] = "node: { name: n1, region: eu }\n"
                           "regions: [ { name: eu, location: [53, -6] } ]\n"
                           "zones:\n"
                           "  - name: svc.example.com\n"
                           "    file: z.zone\n"
                           "    services:\n"
                           "      - name: www\n"
                           "        pools:\n"
                           "          - region: eu\n"
                           "            endpoints: [ { address: 192.0.2.10 } ]\n";

static const char zone[] = "$TTL 300\n"
                           "@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n"
                           "  IN NS ns1\n"
                           "ns1 IN A 192.0.2.53\n"
                           "api IN A 192.0.2.80\n"
                           "    IN AAAA 2001:db8::80\n"
                           "api IN TXT \"hello world\"\n"
                           "docs IN CNAME api\n"
                           "alias IN CNAME www\n"
                           "out IN CNAME edge.example.net.\n"
                           "a.b IN A 192.0.2.77\n"
                           "sub IN NS ns.sub\n"
                           "ns.sub IN A 192.0.2.153\n";

struct fixture {
	scratch_t s;
	cfg_t *cfg;
	dnsd_snap_t *snap;
	pol_snap_t *pol;
	geo_tree_t *geo;
	aya_arena_t *a;
};

static int setup(void **state)
{
	static struct fixture f;
	scratch_init(&f.s);
	scratch_write(&f.s, "aya.yaml", yaml);
	scratch_write(&f.s, "z.zone", zone);
	cfg_diag_t d = {0};
	if (scratch_load(&f.s, "aya.yaml", &f.cfg, &d) != 0) {
		fail_msg("config: %s", d.text != NULL ? d.text : "?");
	}
	cfg_diag_fini(&d);
	static const uint8_t secret[16];
	char err[256] = "";
	assert_int_equal(dnsd_snap_build(f.cfg, secret, &f.snap, err, sizeof(err)), 0);
	assert_int_equal(geo_tree_build_cfg(f.cfg, &f.geo, err, sizeof(err)), 0);
	assert_int_equal(pol_snap_build(f.cfg, f.geo, NULL, &f.pol, err, sizeof(err)), 0);
	f.a = aya_arena_new();
	assert_non_null(f.a);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	aya_arena_free(f->a);
	pol_snap_free(f->pol);
	geo_tree_unref(f->geo);
	dnsd_snap_free(f->snap);
	cfg_free(f->cfg);
	scratch_fini(&f->s);
	return 0;
}

static void test_kinds(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		const char *qname;
		uint16_t qtype;
		const char *kind;
		const char *text; /* a substring of the text */
		size_t n_chain;
	} cases[] = {
	        {"service by relative name", "www", 1, "service", "service www.svc.example.com\n",
	         0},
	        {"static A", "api.svc.example.com", 1, "static",
	         "static: api.svc.example.com A answered from zone svc.example.com:\n"
	         "  api.svc.example.com 300 IN A 192.0.2.80\n",
	         0},
	        {"static AAAA, any case", "API.svc.example.com.", 28, "static",
	         "  api.svc.example.com 300 IN AAAA 2001:db8::80\n", 0},
	        {"CNAME to static", "docs.svc.example.com", 1, "static",
	         "cname: docs.svc.example.com CNAME api.svc.example.com\n"
	         "static: api.svc.example.com A",
	         1},
	        {"CNAME into a service", "alias.svc.example.com", 1, "service",
	         "cname: alias.svc.example.com CNAME www.svc.example.com\n"
	         "service www.svc.example.com\n",
	         1},
	        {"NXDOMAIN", "nosuch.svc.example.com", 1, "nxdomain",
	         "nxdomain: nosuch.svc.example.com does not exist in zone svc.example.com\n", 0},
	        {"empty non-terminal", "b.svc.example.com", 1, "nodata",
	         "nodata: b.svc.example.com has no A record in zone svc.example.com\n", 0},
	        {"no AAAA", "ns1.svc.example.com", 28, "nodata", "has no AAAA record", 0},
	        {"referral", "x.sub.svc.example.com", 1, "referral",
	         "referral: x.sub.svc.example.com is below the zone cut sub.svc.example.com", 0},
	        {"in no zone", "www.example.org", 1, "refused",
	         "refused: www.example.org is in no zone of this node\n", 0},
	        {"CNAME out of the zones", "out.svc.example.com", 1, "refused",
	         "refused: edge.example.net is in no zone of this node (the resolver", 1},
	        {"relative static name", "docs", 1, "static",
	         "cname: docs.svc.example.com CNAME api.svc.example.com\n", 1},
	        {"relative name that does not exist", "nosuch", 1, "refused",
	         "refused: nosuch is in no zone of this node\n", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %s\n", cases[i].name);
		ctl_request_t req = {.cmd = CTL_CMD_EXPLAIN,
		                     .name = cases[i].qname,
		                     .client = "198.51.100.7",
		                     .qtype = cases[i].qtype};
		ctl_explain_t e = {0};
		const char *err = NULL;
		int rc = ctl_explain_any(f->snap, f->pol, f->cfg, &req, "", f->a, &e, &err);
		if (rc != 0) {
			fail_msg("%s: rc %d: %s", cases[i].name, rc, err != NULL ? err : "");
		}
		assert_string_equal(e.kind, cases[i].kind);
		if (strstr(e.text, cases[i].text) == NULL) {
			fail_msg("%s: '%s' not in:\n%s", cases[i].name, cases[i].text, e.text);
		}
		assert_int_equal(e.n_chain, cases[i].n_chain);
	}
}

static void test_static_txt_and_errors(void **state)
{
	struct fixture *f = *state;
	ctl_request_t req = {.cmd = CTL_CMD_EXPLAIN, .name = "api.svc.example.com", .client = "x"};
	ctl_explain_t e = {0};
	const char *err = NULL;
	assert_int_equal(ctl_explain_any(f->snap, f->pol, f->cfg, &req, "", f->a, &e, &err),
	                 -EINVAL);
	assert_non_null(strstr(err, "not an IPv4 or IPv6 address"));
	req.client = "192.0.2.1";
	req.name = "bad..name";
	assert_int_equal(ctl_explain_any(f->snap, f->pol, f->cfg, &req, "", f->a, &e, &err),
	                 -EINVAL);
	assert_non_null(strstr(err, "not a domain name"));
	/* The JSON-facing fields of a static answer. */
	req.name = "api.svc.example.com";
	req.has_subnet = true;
	req.subnet = 24;
	assert_int_equal(ctl_explain_any(f->snap, f->pol, f->cfg, &req, "", f->a, &e, &err), 0);
	assert_string_equal(e.zone, "svc.example.com");
	assert_string_equal(e.name, "api.svc.example.com");
	assert_int_equal(e.n_answer, 1);
	assert_string_equal(e.answer[0], "192.0.2.80");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kinds),
	        cmocka_unit_test(test_static_txt_and_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
