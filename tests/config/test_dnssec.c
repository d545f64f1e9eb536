/*
 * Unit tests for zones[].dnssec (config/dnssec.c and its schema rows):
 * absent is unsigned, an empty mapping signs with the defaults, explicit
 * values, paths relative to the config file, the config hash, and every
 * error with its file:line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/config/util.h"

#define HEAD                                                                                       \
	"node: { name: n1, region: r1 }\n"                                                         \
	"zones:\n"                                                                                 \
	"  - name: svc.example.com\n"                                                              \
	"    file: z.zone\n"

static cfg_t *load_ok(scratch_t *s, const char *yaml)
{
	scratch_init(s);
	scratch_write(s, "aya.yaml", yaml);
	scratch_write(s, "z.zone", GOOD_ZONE);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(s, "aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("load: %d\n%s", rc, d.text);
	}
	assert_int_equal(d.warnings, 0);
	cfg_diag_fini(&d);
	return cfg;
}

static void test_absent_is_unsigned(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = load_ok(&s, HEAD);
	assert_int_equal(cfg->n_zones, 1);
	assert_false(cfg->zones[0].dnssec.enabled);
	cfg_free(cfg);
	scratch_fini(&s);
}

static void test_defaults(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = load_ok(&s, HEAD "    dnssec: {}\n");
	const cfg_dnssec_t *k = &cfg->zones[0].dnssec;
	assert_true(k->enabled);
	assert_int_equal(k->algorithm, CFG_DNSSEC_ECDSAP256SHA256);
	assert_false(k->split);
	assert_null(k->key_directory);
	assert_int_equal(k->signature_lifetime_s, 14 * 86400);
	assert_int_equal(k->dnskey_ttl_s, 3600);
	assert_int_equal(k->loc.line, 5);
	cfg_free(cfg);
	scratch_fini(&s);
}

static void test_explicit(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = load_ok(&s, HEAD "    dnssec:\n"
	                              "      algorithm: ed25519\n"
	                              "      split: true\n"
	                              "      key_directory: keys\n"
	                              "      signature_lifetime: 10m\n"
	                              "      dnskey_ttl: 300\n");
	const cfg_dnssec_t *k = &cfg->zones[0].dnssec;
	char want[PATH_MAX + 16];
	scratch_path(&s, "keys", want, sizeof(want));
	assert_true(k->enabled);
	assert_int_equal(k->algorithm, CFG_DNSSEC_ED25519);
	assert_true(k->split);
	assert_string_equal(k->key_directory, want);
	assert_int_equal(k->signature_lifetime_s, 600);
	assert_int_equal(k->dnskey_ttl_s, 300);
	cfg_free(cfg);
	scratch_fini(&s);

	cfg = load_ok(&s, HEAD "    dnssec:\n"
	                       "      algorithm: ecdsap256sha256\n"
	                       "      key_directory: /var/lib/aya/other\n"
	                       "      signature_lifetime: 30d\n"
	                       "      dnskey_ttl: 2h\n");
	k = &cfg->zones[0].dnssec;
	assert_int_equal(k->algorithm, CFG_DNSSEC_ECDSAP256SHA256);
	assert_string_equal(k->key_directory, "/var/lib/aya/other");
	assert_int_equal(k->signature_lifetime_s, 30 * 86400);
	assert_int_equal(k->dnskey_ttl_s, 7200);
	cfg_free(cfg);
	scratch_fini(&s);
}

/* Signing settings are shared by the nodes: they count in the config hash, the directory not. */
static void test_hash(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *plain = load_ok(&s, HEAD);
	uint64_t h_plain = cfg_hash(plain);
	cfg_free(plain);
	scratch_fini(&s);
	cfg_t *a = load_ok(&s, HEAD "    dnssec: { key_directory: a }\n");
	uint64_t h_a = cfg_hash(a);
	cfg_free(a);
	scratch_fini(&s);
	cfg_t *b = load_ok(&s, HEAD "    dnssec: { key_directory: b }\n");
	uint64_t h_b = cfg_hash(b);
	cfg_free(b);
	scratch_fini(&s);
	cfg_t *c = load_ok(&s, HEAD "    dnssec: { algorithm: ed25519 }\n");
	uint64_t h_c = cfg_hash(c);
	cfg_free(c);
	scratch_fini(&s);
	assert_true(h_plain != h_a);
	assert_true(h_a == h_b);
	assert_true(h_a != h_c);
}

static const struct bad_case {
	const char *name;
	const char *yaml;
	const char *where; /* line:col in aya.yaml */
	const char *msg;
} bad_cases[] = {
        {"null section", HEAD "    dnssec:\n", "5:12", "zone.dnssec: expected a mapping"},
        {"not a mapping", HEAD "    dnssec: [1]\n", "5:13", "zone.dnssec: expected a mapping"},
        {"unknown key", HEAD "    dnssec: { nsec3: true }\n", "5:15",
         "unknown key 'nsec3' in zone.dnssec"},
        {"bad algorithm", HEAD "    dnssec: { algorithm: rsasha256 }\n", "5:26",
         "zone.dnssec.algorithm: 'rsasha256' is not one of ecdsap256sha256, ed25519"},
        {"bad split", HEAD "    dnssec: { split: 2 }\n", "5:22",
         "zone.dnssec.split: expected true or false, got '2'"},
        {"empty directory", HEAD "    dnssec: { key_directory: \"\" }\n", "5:30",
         "zone.dnssec.key_directory: empty path"},
        {"bad lifetime", HEAD "    dnssec: { signature_lifetime: 2weeks }\n", "5:35",
         "zone.dnssec.signature_lifetime: bad duration '2weeks'"},
        {"lifetime too short", HEAD "    dnssec: { signature_lifetime: 5m }\n", "5:35",
         "zone.dnssec.signature_lifetime: 5m is out of range 600s..31622400s"},
        {"lifetime too long", HEAD "    dnssec: { signature_lifetime: 400d }\n", "5:35",
         "zone.dnssec.signature_lifetime: 400d is out of range"},
        {"lifetime fraction", HEAD "    dnssec: { signature_lifetime: 900500ms }\n", "5:35",
         "zone.dnssec.signature_lifetime: 900500ms is not a whole number of seconds"},
        {"ttl too long", HEAD "    dnssec: { dnskey_ttl: 8d }\n", "5:27",
         "zone.dnssec.dnskey_ttl: 8d is out of range 0s..604800s"},
        {"duplicate key", HEAD "    dnssec: { split: true, split: false }\n", "5:28",
         "duplicate key 'split' in zone.dnssec"},
};

/* dnssec with allow_transfer: a warning naming the zone, at the dnssec: line. */
static void test_axfr_warns(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml",
	              HEAD "    allow_transfer: [127.0.0.0/8]\n"
	                   "    dnssec: {}\n");
	scratch_write(&s, "z.zone", GOOD_ZONE);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
	assert_int_equal(d.warnings, 1);
	assert_non_null(strstr(d.text, "aya.yaml:6:"));
	assert_non_null(strstr(d.text, "svc.example.com is signed online, but AXFR sends"));
	cfg_diag_fini(&d);
	cfg_free(cfg);
	scratch_fini(&s);
}

static void test_bad(void **state)
{
	(void)state;
	unsigned failed = 0;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		scratch_t s;
		scratch_init(&s);
		scratch_write(&s, "aya.yaml", c->yaml);
		scratch_write(&s, "z.zone", GOOD_ZONE);
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
		char want[PATH_MAX + 512];
		snprintf(want, sizeof(want), "%s/aya.yaml:%s: error: %s", s.dir, c->where, c->msg);
		if (rc != -EINVAL || cfg != NULL || d.errors != 1 || d.text == NULL ||
		    strstr(d.text, want) == NULL) {
			print_error("case '%s': rc %d errors %u, want\n%s\ngot\n%s", c->name, rc,
			            d.errors, want, d.text ? d.text : "(nothing)");
			failed++;
		}
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_absent_is_unsigned), cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_explicit),           cmocka_unit_test(test_hash),
	        cmocka_unit_test(test_axfr_warns),         cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
