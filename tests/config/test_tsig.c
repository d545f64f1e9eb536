/*
 * Unit tests for keys:, the allow_transfer forms, notify and notify_key
 * (config/tsig.c): a config using every form loads as written; each bad
 * one is reported at its file:line:col; an unused key is a warning.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "tests/config/util.h"

#define NODE "node: { name: a, region: r }\n"
#define SECRET "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static int load(const char *yaml, cfg_t **cfg, cfg_diag_t *d, scratch_t *s)
{
	scratch_init(s);
	scratch_write(s, "aya.yaml", yaml);
	scratch_write(s, "z.zone", GOOD_ZONE);
	return scratch_load(s, "aya.yaml", cfg, d);
}

static void test_good(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = load(NODE "zones:\n"
	                   "  - name: svc.example.com\n"
	                   "    file: z.zone\n"
	                   "    allow_transfer:\n"
	                   "      - 192.0.2.0/24\n"
	                   "      - { key: XFR-Key }\n"
	                   "      - { prefix: \"2001:db8::/32\", key: sha1.example. }\n"
	                   "      - { prefix: 198.51.100.0/24 }\n"
	                   "    notify: [\"127.0.0.1:5300\", \"::1\"]\n"
	                   "    notify_key: xfr-key.\n"
	                   "keys:\n"
	                   "  - { name: xfr-key., secret: \"" SECRET "\" }\n"
	                   "  - { name: sha1.example, algorithm: HMAC-SHA1, secret: \"AQ==\" }\n",
	              &cfg, &d, &s);
	if (rc != 0 || d.warnings != 0) {
		fail_msg("load: %d\n%s", rc, d.text ? d.text : "");
	}
	assert_int_equal(cfg->n_keys, 2);
	assert_string_equal(cfg->keys[0].name, "xfr-key.");
	assert_int_equal(cfg->keys[0].alg, CFG_TSIG_HMAC_SHA256);
	assert_int_equal(cfg->keys[0].secret_len, 32);
	assert_int_equal(cfg->keys[0].secret[31], 0x1f);
	assert_string_equal(cfg->keys[1].name, "sha1.example.");
	assert_int_equal(cfg->keys[1].alg, CFG_TSIG_HMAC_SHA1);
	assert_int_equal(cfg->keys[1].secret_len, 1);
	const cfg_zone_t *z = &cfg->zones[0];
	assert_int_equal(z->n_xfr_allow, 1);
	assert_int_equal(z->n_xfr_acl, 3);
	assert_int_equal(z->xfr_acl[0].key, 0);
	assert_true(z->xfr_acl[0].any_addr);
	assert_int_equal(z->xfr_acl[1].key, 1);
	assert_false(z->xfr_acl[1].any_addr);
	assert_int_equal(z->xfr_acl[1].prefix.family, AF_INET6);
	assert_int_equal(z->xfr_acl[1].prefix.len, 32);
	assert_int_equal(z->xfr_acl[2].key, CFG_NO_KEY);
	assert_int_equal(z->xfr_acl[2].prefix.len, 24);
	assert_int_equal(z->n_notify, 2);
	assert_string_equal(z->notify[0].text, "127.0.0.1:5300");
	assert_string_equal(z->notify[1].text, "[::1]:53");
	assert_int_equal(z->notify_key, 0);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

/* No keys, no notify: no key, and notify_key defaults to none. */
static void test_defaults(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	assert_int_equal(
	        load(NODE "zones:\n  - { name: svc.example.com, file: z.zone }\n", &cfg, &d, &s),
	        0);
	assert_int_equal(cfg->n_keys, 0);
	assert_int_equal(cfg->zones[0].n_notify, 0);
	assert_int_equal(cfg->zones[0].notify_key, CFG_NO_KEY);
	assert_int_equal(cfg->zones[0].n_xfr_acl, 0);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_unused_key_warns(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	assert_int_equal(load(NODE "keys:\n  - { name: spare., secret: \"AQ==\" }\n", &cfg, &d, &s),
	                 0);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof(want),
	         "%s/aya.yaml:3:5: warning: key 'spare.' is defined but used by no "
	         "allow_transfer or notify_key",
	         s.dir);
	assert_int_equal(d.warnings, 1);
	assert_non_null(strstr(d.text, want));
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

#define ZONE_WITH(x) NODE "zones:\n  - name: svc.example.com\n    file: z.zone\n" x
#define KEY "keys:\n  - { name: k., secret: \"AQ==\" }\n"
#define KEY_ZONE_WITH(x) NODE KEY "zones:\n  - name: svc.example.com\n    file: z.zone\n" x

static const struct bad_case {
	const char *name;
	const char *yaml;
	const char *where;
	const char *msg;
} bad_cases[] = {
        {"bad base64", NODE "keys:\n  - { name: k., secret: \"AQ=\" }\n", "3:25",
         "keys.secret: expected base64 of 1 to 128 bytes"},
        {"base64 junk", NODE "keys:\n  - { name: k., secret: \"A*==\" }\n", "3:25",
         "keys.secret: expected base64 of 1 to 128 bytes"},
        {"unknown algorithm", NODE "keys:\n  - { name: k., algorithm: hmac-sha3, secret: AQ== }\n",
         "3:28", "keys.algorithm: unknown algorithm 'hmac-sha3'"},
        {"duplicate key",
         NODE "keys:\n  - { name: k., secret: AQ== }\n  - { name: K, secret: AQ== }\n", "4:5",
         "duplicate key 'k.' (first defined at line 3)"},
        {"missing secret", NODE "keys:\n  - { name: k. }\n", "3:5", "keys: missing 'secret'"},
        {"missing name", NODE "keys:\n  - { secret: AQ== }\n", "3:5", "keys: missing 'name'"},
        {"bad key name", NODE "keys:\n  - { name: \"a..b\", secret: AQ== }\n", "3:13",
         "keys.name: bad domain name 'a..b'"},
        {"unknown field", NODE "keys:\n  - { name: k., secret: AQ==, id: 3 }\n", "3:31",
         "unknown key 'id' in keys"},
        {"keys not a list", NODE "keys: k\n", "2:7", "keys: expected a list"},
        {"unknown transfer key", ZONE_WITH("    allow_transfer: [{ key: nope. }]\n"), "5:29",
         "unknown key 'nope.'"},
        {"transfer entry without prefix or key", ZONE_WITH("    allow_transfer: [{ }]\n"), "5:22",
         "zone.allow_transfer: expected 'prefix', 'key' or both"},
        {"bad transfer entry prefix", ZONE_WITH("    allow_transfer: [{ prefix: 10.0.0.1/8 }]\n"),
         "5:32", "zone.allow_transfer: bad prefix '10.0.0.1/8'"},
        {"unknown transfer entry field",
         KEY_ZONE_WITH("    allow_transfer: [{ key: k., tsig: x }]\n"), "7:33",
         "unknown key 'tsig' in zone.allow_transfer"},
        {"bad notify address", ZONE_WITH("    notify: [\"1.2.3:53\"]\n"), "5:14",
         "zone.notify: bad address '1.2.3:53'"},
        {"unknown notify key", ZONE_WITH("    notify_key: nope.\n"), "5:17", "unknown key 'nope.'"},
};

static void test_bad_configs(void **state)
{
	(void)state;
	unsigned failed = 0;
	for (size_t i = 0; i < AYA_ARRAY_LEN(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		scratch_t s;
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		int rc = load(c->yaml, &cfg, &d, &s);
		char want[PATH_MAX + 512];
		snprintf(want, sizeof(want), "%s/aya.yaml:%s: error: %s", s.dir, c->where, c->msg);
		if (rc != -EINVAL || cfg != NULL || d.errors != 1 || d.text == NULL ||
		    strstr(d.text, want) == NULL) {
			print_error("case '%s': rc %d errors %u, want\n%s\ngot\n%s", c->name, rc,
			            d.errors, want, d.text ? d.text : "(nothing)");
			failed++;
		}
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
	assert_int_equal(failed, 0);
}

/* The config hash: unchanged without keys; keys and acls change it, secrets do not. */
static void test_hash(void **state)
{
	(void)state;
	static const char *const yaml[] = {
	        ZONE_WITH("    allow_transfer: [192.0.2.0/24]\n"),
	        KEY_ZONE_WITH("    allow_transfer: [192.0.2.0/24, { key: k. }]\n"),
	        NODE "keys:\n  - { name: k., secret: \"Ag==\" }\n"
	             "zones:\n  - name: svc.example.com\n    file: z.zone\n"
	             "    allow_transfer: [192.0.2.0/24, { key: k. }]\n",
	};
	uint64_t h[3];
	for (size_t i = 0; i < 3; i++) {
		scratch_t s;
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		if (load(yaml[i], &cfg, &d, &s) != 0) {
			fail_msg("case %zu:\n%s", i, d.text ? d.text : "");
		}
		h[i] = cfg_hash(cfg);
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
	assert_true(h[0] != h[1]);
	assert_true(h[1] == h[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_unused_key_warns),
	        cmocka_unit_test(test_bad_configs),
	        cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
