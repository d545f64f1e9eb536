/*
 * gossip: in the configuration: the issue's example as written, defaults and
 * tunables, and every error with its file:line:col (config or keyring file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/config/util.h"

#define NODE "node: { name: n1, region: eu }\n"
/* Two valid keys (32 bytes each) and their first bytes. */
#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="

static void test_issue_example(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "keys.txt", "# rotated 2024-05\n" KEY1 "\n\n" KEY2 "\n");
	scratch_write(&s, "aya.yaml",
	              NODE "gossip:\n"
	                   "  bind: 127.0.0.2:7946\n"
	                   "  seeds: [\"127.0.0.1:7946\", \"127.0.0.3:7946\"]\n"
	                   "  keyring: keys.txt      # base64 AES-256 keys\n");
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
	const cfg_gossip_t *g = &cfg->gossip;
	assert_true(g->enabled);
	assert_string_equal(g->bind.text, "127.0.0.2:7946");
	assert_int_equal(g->n_seeds, 2);
	assert_string_equal(g->seeds[1].text, "127.0.0.3:7946");
	assert_int_equal(g->n_keys, 2);
	assert_int_equal(g->keys[0][0], 0x00);
	assert_int_equal(g->keys[0][31], 0x1f);
	assert_int_equal(g->keys[1][0], 0xff);
	assert_false(g->insecure);
	/* Defaults. */
	assert_int_equal(g->probe_interval_ms, 500);
	assert_int_equal(g->probe_timeout_ms, 250);
	assert_int_equal(g->indirect_checks, 3);
	assert_int_equal(g->suspicion_mult, 3);
	assert_int_equal(g->suspicion_max_mult, 6);
	assert_int_equal(g->retransmit_mult, 4);
	assert_int_equal(g->gossip_interval_ms, 100);
	assert_int_equal(g->gossip_fanout, 3);
	assert_int_equal(g->pushpull_interval_ms, 30000);
	assert_int_equal(g->reap_ms, 3600000);
	assert_int_equal(g->mtu, 1400);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_absent_and_tunables(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", NODE);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
	assert_false(cfg->gossip.enabled);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_write(&s, "aya.yaml",
	              NODE "gossip:\n"
	                   "  bind: \"[::1]\"\n"
	                   "  insecure: true\n"
	                   "  probe_interval: 500ms\n  probe_timeout: 200ms\n"
	                   "  indirect_checks: 5\n  suspicion_mult: 3\n  suspicion_max_mult: 4\n"
	                   "  retransmit_mult: 2\n  gossip_interval: 100ms\n  gossip_fanout: 4\n"
	                   "  pushpull_interval: 0\n  reap: 10m\n  mtu: 9000\n");
	assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
	const cfg_gossip_t *g = &cfg->gossip;
	assert_true(g->insecure);
	assert_int_equal(g->n_keys, 0);
	assert_string_equal(g->bind.text, "[::1]:7946");
	assert_int_equal(g->probe_interval_ms, 500);
	assert_int_equal(g->probe_timeout_ms, 200);
	assert_int_equal(g->indirect_checks, 5);
	assert_int_equal(g->suspicion_mult, 3);
	assert_int_equal(g->suspicion_max_mult, 4);
	assert_int_equal(g->retransmit_mult, 2);
	assert_int_equal(g->gossip_interval_ms, 100);
	assert_int_equal(g->gossip_fanout, 4);
	assert_int_equal(g->pushpull_interval_ms, 0);
	assert_int_equal(g->reap_ms, 600000);
	assert_int_equal(g->mtu, 9000);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static const struct bad {
	const char *name;
	const char *yaml;
	const char *keys; /* keys.txt content, NULL = no file */
	const char *file; /* "aya.yaml" or "keys.txt" */
	const char *where;
	const char *msg;
} bad_cases[] = {
        {"no keyring, not insecure", NODE "gossip:\n  bind: 127.0.0.2\n", NULL, "aya.yaml", "3:3",
         "gossip: keyring is required"},
        {"missing keyring file", NODE "gossip:\n  bind: 127.0.0.2\n  keyring: nope.txt\n", NULL,
         "aya.yaml", "4:12", "gossip.keyring: cannot open"},
        {"bad base64", NODE "gossip:\n  bind: 127.0.0.2\n  keyring: keys.txt\n",
         KEY1 "\n" KEY2 "\nnot*base64\n", "keys.txt", "3:1", "bad base64 key"},
        {"wrong key length", NODE "gossip:\n  bind: 127.0.0.2\n  keyring: keys.txt\n",
         "\n\nAAECAwQFBgcICQoLDA0ODw==\n", "keys.txt", "3:1", "key is 16 bytes, AES-256 needs 32"},
        {"empty keyring", NODE "gossip:\n  bind: 127.0.0.2\n  keyring: keys.txt\n", "# none\n",
         "aya.yaml", "4:12", "gossip.keyring: '"},
        {"insecure off loopback", NODE "gossip:\n  bind: 192.0.2.1\n  insecure: true\n", NULL,
         "aya.yaml", "4:13",
         "gossip: insecure: true needs a loopback bind address, not 192.0.2.1:7946"},
        {"insecure and keyring",
         NODE "gossip:\n  bind: 127.0.0.2\n  keyring: keys.txt\n  insecure: true\n", KEY1 "\n",
         "aya.yaml", "5:13", "gossip: insecure: true and a keyring exclude each other"},
        {"bind missing", NODE "gossip:\n  insecure: true\n", NULL, "aya.yaml", "3:3",
         "missing required key 'bind' in gossip"},
        {"bad seed", NODE "gossip:\n  bind: 127.0.0.2\n  insecure: true\n  seeds: [\"1.2.3:x\"]\n",
         NULL, "aya.yaml", "5:11", "gossip.seeds: bad address or port '1.2.3:x'"},
        {"mtu too small", NODE "gossip:\n  bind: 127.0.0.2\n  insecure: true\n  mtu: 100\n", NULL,
         "aya.yaml", "5:8", "gossip.mtu: 100 is out of range 512..65507"},
        {"timeout above interval",
         NODE "gossip:\n  bind: 127.0.0.2\n  insecure: true\n  probe_interval: 1s\n"
              "  probe_timeout: 2s\n",
         NULL, "aya.yaml", "3:3", "gossip: probe_timeout (2000ms) exceeds probe_interval (1000ms)"},
        {"unknown key", NODE "gossip:\n  bind: 127.0.0.2\n  insecure: true\n  fanout: 3\n", NULL,
         "aya.yaml", "5:3", "unknown key 'fanout' in gossip"},
};

static void test_bad(void **state)
{
	(void)state;
	unsigned failed = 0;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *c = &bad_cases[i];
		scratch_t s;
		scratch_init(&s);
		scratch_write(&s, "aya.yaml", c->yaml);
		if (c->keys != NULL) {
			scratch_write(&s, "keys.txt", c->keys);
		}
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
		char want[PATH_MAX + 512];
		snprintf(want, sizeof(want), "%s/%s:%s: error: %s", s.dir, c->file, c->where,
		         c->msg);
		if (rc != -EINVAL || cfg != NULL || d.errors != 1 || d.text == NULL ||
		    strstr(d.text, want) == NULL) {
			print_error("case '%s': rc %d errors %u, want\n%s\ngot\n%s\n", c->name, rc,
			            d.errors, want, d.text ? d.text : "(nothing)");
			failed++;
		}
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_issue_example),
	        cmocka_unit_test(test_absent_and_tunables),
	        cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
