/*
 * cfg_hash(): the config hash gossiped for drift detection is a function of
 * the parsed shared config. Formatting, comments, key order, the per-node
 * sections and zone-file comments leave it alone; a change of a service,
 * an endpoint, a region, a monitor or a zone record moves it. Also
 * cfg_gossip_diff(), the gossip: keys a reload compares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/config/util.h"

#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="

/* The reference: node n1, two regions, a monitor, one zone with one service. */
static const char base_yaml[] =
        "node: { name: n1, region: eu-west }\n"
        "regions:\n"
        "  - { name: eu-west, location: [53, -6] }\n"
        "  - { name: us-east, location: [39, -77], cost: 2 }\n"
        "monitors: [ { name: web, type: http, port: 8080, interval: 1s } ]\n"
        "zones:\n"
        "  - name: svc.example.com\n"
        "    file: z.zone\n"
        "    services:\n"
        "      - name: www\n"
        "        ttl: 30\n"
        "        pools:\n"
        "          - region: eu-west\n"
        "            monitor: web\n"
        "            endpoints: [ { address: 192.0.2.1 }, { address: 192.0.2.2, weight: 2 } ]\n"
        "          - region: us-east\n"
        "            endpoints: [ { address: 198.51.100.1 } ]\n";

/* The same config as another node writes it. */
static const char same_yaml[] = "# node b of the cluster\n"
                                "zones:\n"
                                "- file: \"z.zone\"   # the zone file\n"
                                "  name: svc.example.com\n"
                                "  services:\n"
                                "  - pools:\n"
                                "    - endpoints:\n"
                                "      - address: 192.0.2.1\n"
                                "      - {weight: 2, address: 192.0.2.2}\n"
                                "      monitor: web\n"
                                "      region: eu-west\n"
                                "    - region: us-east\n"
                                "      endpoints: [ { address: 198.51.100.1, weight: 1 } ]\n"
                                "    ttl: 30\n"
                                "    name: www\n"
                                "monitors:\n"
                                "  - name: web\n"
                                "    port: 8080\n"
                                "    type: http\n"
                                "    interval: 1000ms\n"
                                "regions:\n"
                                "  - name: eu-west\n"
                                "    location: [53, -6]\n"
                                "  - { name: us-east, cost: 2, location: [39, -77] }\n"
                                "node:\n"
                                "  name: n2\n"
                                "  region: us-east\n"
                                "dns: { listen: [\"127.0.0.9:5300\"], threads: 1 }\n"
                                "state_dir: /tmp/elsewhere\n"
                                "control: { socket: /tmp/elsewhere/ayad.sock }\n"
                                "log: { level: debug }\n"
                                "gossip: { bind: 127.0.0.9:7946, insecure: true }\n";

static const char zone[] = GOOD_ZONE;
static const char zone_reformatted[] = "; the same records, other layout\n"
                                       "$TTL 300\n"
                                       "@   IN  SOA ns1 hostmaster ( 7 3600 600 86400 60 )\n"
                                       "@   IN  NS  ns1\n"
                                       "ns1 300 IN A 192.0.2.53 ; the server\n"
                                       "api IN  A   192.0.2.80\n";

/* Load yaml + zone text in a fresh scratch dir; return the hash. */
static uint64_t hash_of(const char *name, const char *yaml, const char *zone_text)
{
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", yaml);
	scratch_write(&s, "z.zone", zone_text);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("%s: load: %d\n%s", name, rc, d.text);
	}
	uint64_t h = cfg_hash(cfg);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
	return h;
}

/* base_yaml with the first occurrence of `from` replaced by `to`. */
static char *edit(const char *from, const char *to)
{
	const char *at = strstr(base_yaml, from);
	if (at == NULL) {
		fail_msg("edit: '%s' not in the base config", from);
	}
	size_t pre = (size_t)(at - base_yaml);
	size_t len = strlen(base_yaml) - strlen(from) + strlen(to) + 1;
	char *out = malloc(len);
	assert_non_null(out);
	snprintf(out, len, "%.*s%s%s", (int)pre, base_yaml, to, at + strlen(from));
	return out;
}

static void test_same_config_same_hash(void **state)
{
	(void)state;
	uint64_t ref = hash_of("base", base_yaml, zone);
	assert_int_not_equal(ref, 0);
	assert_true(hash_of("base again", base_yaml, zone) == ref);
	assert_true(hash_of("reformatted, per-node sections", same_yaml, zone) == ref);
	assert_true(hash_of("zone file reformatted", base_yaml, zone_reformatted) == ref);
}

static void test_changes_move_hash(void **state)
{
	(void)state;
	static const struct {
		const char *name, *from, *to;
	} cases[] = {
	        {"endpoint address", "192.0.2.1 }", "192.0.2.3 }"},
	        {"endpoint weight", "weight: 2", "weight: 3"},
	        {"endpoint added", "{ address: 198.51.100.1 }",
	         "{ address: 198.51.100.1 }, { address: 198.51.100.2 }"},
	        {"service ttl", "ttl: 30", "ttl: 60"},
	        {"service name", "name: www", "name: api2"},
	        {"region location", "[53, -6]", "[52, -6]"},
	        {"region cost", "cost: 2", "cost: 3"},
	        {"monitor port", "port: 8080", "port: 8081"},
	        {"monitor interval", "interval: 1s", "interval: 2s"},
	        {"pool monitor dropped", "            monitor: web\n", ""},
	};
	uint64_t ref = hash_of("base", base_yaml, zone);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *y = edit(cases[i].from, cases[i].to);
		uint64_t h = hash_of(cases[i].name, y, zone);
		if (h == ref) {
			fail_msg("%s: hash unchanged", cases[i].name);
		}
		free(y);
	}
	/* A zone record: one address, then one TTL. */
	char z[512];
	snprintf(z, sizeof(z), "%s", zone);
	char *p = strstr(z, "192.0.2.80");
	assert_non_null(p);
	p[9] = '1';
	assert_true(hash_of("zone record rdata", base_yaml, z) != ref);
	assert_true(hash_of("zone record added", base_yaml, GOOD_ZONE "web IN A 192.0.2.81\n") !=
	            ref);
}

static const cfg_t *load_keep(scratch_t *s, const char *yaml)
{
	scratch_init(s);
	scratch_write(s, "keys1.txt", KEY1 "\n" KEY2 "\n");
	scratch_write(s, "keys2.txt", KEY2 "\n" KEY1 "\n");
	scratch_write(s, "z.zone", zone);
	scratch_write(s, "aya.yaml", yaml);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	if (scratch_load(s, "aya.yaml", &cfg, &d) != 0) {
		fail_msg("load: %s", d.text);
	}
	cfg_diag_fini(&d);
	return cfg;
}

static void test_gossip_diff(void **state)
{
	(void)state;
	static const struct {
		const char *name, *a, *b;
		const char *want; /* changed keys, space-separated */
	} cases[] = {
	        {"same", "{ bind: 127.0.0.1, keyring: keys1.txt }",
	         "{ keyring: keys1.txt, bind: \"127.0.0.1:7946\" }", ""},
	        {"bind and seeds", "{ bind: 127.0.0.1, keyring: keys1.txt }",
	         "{ bind: 127.0.0.2, seeds: [127.0.0.1], keyring: keys1.txt }", "bind seeds"},
	        {"keys reordered", "{ bind: 127.0.0.1, keyring: keys1.txt }",
	         "{ bind: 127.0.0.1, keyring: keys2.txt }", "keyring"},
	        {"tunables", "{ bind: 127.0.0.1, keyring: keys1.txt }",
	         "{ bind: 127.0.0.1, keyring: keys1.txt, probe_interval: 1s, mtu: 1200 }",
	         "probe_interval mtu"},
	        {"mode", "{ bind: 127.0.0.1, keyring: keys1.txt }",
	         "{ bind: 127.0.0.1, insecure: true }", "keyring insecure"},
	        {"section added", "", "{ bind: 127.0.0.1, insecure: true }", "gossip"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char ya[512], yb[512];
		snprintf(ya, sizeof(ya), "node: { name: n1, region: eu }\n%s%s\n",
		         cases[i].a[0] != '\0' ? "gossip: " : "", cases[i].a);
		snprintf(yb, sizeof(yb), "node: { name: n1, region: eu }\n%s%s\n",
		         cases[i].b[0] != '\0' ? "gossip: " : "", cases[i].b);
		scratch_t sa, sb;
		const cfg_t *a = load_keep(&sa, ya), *b = load_keep(&sb, yb);
		const char *keys[8];
		size_t n = cfg_gossip_diff(&a->gossip, &b->gossip, keys, 8);
		char got[256] = "";
		for (size_t k = 0; k < n && k < 8; k++) {
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
			         k > 0 ? " " : "", keys[k]);
		}
		if (strcmp(got, cases[i].want) != 0) {
			fail_msg("%s: changed '%s', want '%s'", cases[i].name, got, cases[i].want);
		}
		cfg_free((cfg_t *)a);
		cfg_free((cfg_t *)b);
		scratch_fini(&sa);
		scratch_fini(&sb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_same_config_same_hash),
	        cmocka_unit_test(test_changes_move_hash),
	        cmocka_unit_test(test_gossip_diff),
	};
	return cmocka_run_group_tests_name("config/hash", tests, NULL, NULL);
}
