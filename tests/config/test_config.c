/*
 * Unit tests for cfg_load(): the two contract configs of the issues load as
 * written, every bad config is reported at the right file:line:col with the
 * right message, several errors come out of one run, defaults apply.
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

#include "common/log.h"
#include "config/config.h"
#include "tests/config/util.h"

/* The minimal config of the README, verbatim: a contract. */
static const char contract1[] =
        "node:\n"
        "  name: ams-1\n"
        "  region: eu-west\n"
        "dns:\n"
        "  listen: [\"127.0.0.1:5300\", \"[::1]:5300\"]\n"
        "  threads: 2\n"
        "zones:\n"
        "  - name: svc.example.com\n"
        "    file: zones/svc.example.com.zone     # relative paths are relative to the config "
        "file\n"
        "control:\n"
        "  socket: /tmp/aya-ams-1/ayad.sock\n"
        "state_dir: /tmp/aya-ams-1\n";

/* The services example merged with the minimal config, with its literal geo path: a contract. */
static const char contract2[] =
        "node:\n"
        "  name: ams-1\n"
        "  region: eu-west\n"
        "dns:\n"
        "  listen: [\"127.0.0.1:5300\", \"[::1]:5300\"]\n"
        "  threads: 2\n"
        "control:\n"
        "  socket: /tmp/aya-ams-1/ayad.sock\n"
        "state_dir: /tmp/aya-ams-1\n"
        "geo:\n"
        "  database: ../shared/geo/dbip-country-lite.mmdb   # relative to the config file\n"
        "regions:\n"
        "  - { name: eu-west, location: [53.35, -6.26], cost: 1 }\n"
        "  - { name: us-east, location: [39.04, -77.49], cost: 1 }\n"
        "  - { name: ap-south, location: [19.08, 72.88], cost: 1 }\n"
        "  - { name: cloud-burst, location: [45.60, -121.18], cost: 5, burst: true }\n"
        "zones:\n"
        "  - name: svc.example.com\n"
        "    file: zones/svc.example.com.zone\n"
        "    services:\n"
        "      - name: www                     # answers www.svc.example.com A and AAAA\n"
        "        ttl: 30\n"
        "        pools:\n"
        "          - region: eu-west\n"
        "            endpoints:\n"
        "              - { address: 192.0.2.10, weight: 2 }\n"
        "              - { address: 192.0.2.11 }\n"
        "              - { address: \"2001:db8::10\" }\n"
        "          - region: us-east\n"
        "            endpoints: [ { address: 198.51.100.10 }, { address: \"2001:db8:1::10\" } ]\n"
        "          - region: ap-south\n"
        "            endpoints: [ { address: 203.0.113.10 } ]\n"
        "        policy: [healthy, drain, geo, weighted, { first_n: 1 }]\n";

static void test_contract1(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", contract1);
	scratch_write(&s, "zones/svc.example.com.zone", GOOD_ZONE);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("load: %d\n%s", rc, d.text);
	}
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 0);
	assert_string_equal(cfg->node.name, "ams-1");
	assert_string_equal(cfg->node.region, "eu-west");
	assert_int_equal(cfg->dns.n_listen, 2);
	assert_string_equal(cfg->dns.listen[0].text, "127.0.0.1:5300");
	assert_int_equal(cfg->dns.listen[0].ss.ss_family, AF_INET);
	assert_string_equal(cfg->dns.listen[1].text, "[::1]:5300");
	assert_int_equal(cfg->dns.listen[1].ss.ss_family, AF_INET6);
	assert_int_equal(cfg->dns.threads, 2);
	assert_int_equal(cfg->n_zones, 1);
	const cfg_zone_t *z = cfg_zone_find(cfg, "SVC.example.com.");
	assert_non_null(z);
	assert_ptr_equal(z, cfg_zone_find(cfg, "svc.example.com"));
	assert_null(cfg_zone_find(cfg, "example.com"));
	assert_string_equal(z->name, "svc.example.com");
	char want[PATH_MAX + 64];
	scratch_path(&s, "zones/svc.example.com.zone", want, sizeof(want));
	assert_string_equal(z->file, want);
	assert_int_equal(z->serial, 7);
	assert_int_equal(z->n_rrs, 4);
	assert_int_equal(z->rrs[0].type, 6); /* SOA first */
	assert_int_equal(z->n_services, 0);
	assert_int_equal(z->n_xfr_allow, 0);
	assert_string_equal(cfg->control_socket, "/tmp/aya-ams-1/ayad.sock");
	assert_string_equal(cfg->state_dir, "/tmp/aya-ams-1");
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_contract2_project_layout(void **state)
{
	(void)state;
	/* The issue's config sits in the project root; ../shared/geo is beside it. */
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "proj/aya.yaml", contract2);
	scratch_write(&s, "proj/zones/svc.example.com.zone", GOOD_ZONE);
	scratch_write(&s, "shared/geo/dbip-country-lite.mmdb", "placeholder");
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(&s, "proj/aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("load: %d\n%s", rc, d.text);
	}
	char want[PATH_MAX + 64];
	scratch_path(&s, "proj/../shared/geo/dbip-country-lite.mmdb", want, sizeof(want));
	assert_string_equal(cfg->geo.database, want);
	assert_int_equal(cfg->n_regions, 4);
	static const struct {
		const char *name;
		double lat, lon, cost;
		bool burst;
	} regions[] = {
	        {"eu-west", 53.35, -6.26, 1, false},
	        {"us-east", 39.04, -77.49, 1, false},
	        {"ap-south", 19.08, 72.88, 1, false},
	        {"cloud-burst", 45.60, -121.18, 5, true},
	};
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(cfg->regions[i].name, regions[i].name);
		assert_float_equal(cfg->regions[i].lat, regions[i].lat, 1e-9);
		assert_float_equal(cfg->regions[i].lon, regions[i].lon, 1e-9);
		assert_float_equal(cfg->regions[i].cost, regions[i].cost, 1e-9);
		assert_int_equal(cfg->regions[i].burst, regions[i].burst);
		assert_int_equal(cfg->geo.default_order[i], i);
	}
	assert_int_equal(cfg->geo.n_default_order, 4);
	assert_int_equal(cfg->geo.n_maps, 0);

	const cfg_zone_t *z = cfg_zone_find(cfg, "svc.example.com");
	assert_non_null(z);
	assert_int_equal(z->n_services, 1);
	const cfg_service_t *svc = &z->services[0];
	assert_string_equal(svc->name, "www");
	uint8_t owner[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("www.svc.example.com", owner) > 0);
	assert_true(aya_dname_equal(svc->owner, owner));
	assert_int_equal(svc->ttl_s, 30);
	assert_int_equal(svc->all_down, CFG_ALL_DOWN_ANSWER_ALL);
	assert_int_equal(svc->loc.line, 21);
	assert_int_equal(svc->n_pools, 3);
	static const struct {
		size_t region_idx;
		size_t n;
		const char *first;
		int family;
		unsigned weight;
	} pools[] = {
	        {0, 3, "192.0.2.10", AF_INET, 2},
	        {1, 2, "198.51.100.10", AF_INET, 1},
	        {2, 1, "203.0.113.10", AF_INET, 1},
	};
	for (size_t i = 0; i < 3; i++) {
		const cfg_pool_t *p = &svc->pools[i];
		assert_int_equal(p->region_idx, pools[i].region_idx);
		assert_string_equal(p->region, regions[pools[i].region_idx].name);
		assert_int_equal(p->n_endpoints, pools[i].n);
		assert_string_equal(p->endpoints[0].text, pools[i].first);
		assert_int_equal(p->endpoints[0].family, pools[i].family);
		assert_int_equal(p->endpoints[0].weight, pools[i].weight);
		assert_int_equal(p->endpoints[0].capacity, 0);
		assert_null(p->monitor);
	}
	/* The mixed pool: v4, v4, v6. */
	const cfg_endpoint_t *e = &svc->pools[0].endpoints[2];
	assert_int_equal(e->family, AF_INET6);
	uint8_t v6[16];
	inet_pton(AF_INET6, "2001:db8::10", v6);
	assert_memory_equal(e->addr, v6, 16);
	assert_int_equal(svc->pools[0].endpoints[1].weight, 1);
	assert_int_equal(e->loc.line, 28);

	static const cfg_filter_kind_t chain[] = {CFG_FILTER_HEALTHY, CFG_FILTER_DRAIN,
	                                          CFG_FILTER_GEO, CFG_FILTER_WEIGHTED,
	                                          CFG_FILTER_FIRST_N};
	assert_int_equal(svc->n_policy, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(svc->policy[i].kind, chain[i]);
	}
	assert_int_equal(svc->policy[4].n, 1);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

/* The shipped examples load from the source tree (tests run from the root). */
static void test_examples(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *path;
		size_t services;
	} cases[] = {
	        {"single node", "examples/aya.yaml", 0},
	        {"services", "examples/services.yaml", 1},
	        {"transfers with TSIG", "examples/transfers.yaml", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		int rc = cfg_load(cases[i].path, &cfg, &d);
		if (rc != 0 || d.warnings != 0) {
			fail_msg("case '%s': rc %d\n%s", cases[i].name, rc, d.text);
		}
		assert_string_equal(cfg->dns.listen[0].text, "127.0.0.1:5300");
		assert_string_equal(cfg->dns.listen[1].text, "[::1]:5300");
		assert_int_equal(cfg->zones[0].n_services, cases[i].services);
		cfg_free(cfg);
		cfg_diag_fini(&d);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", "node: { name: n1, region: r1 }\n");
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("load: %d\n%s", rc, d.text);
	}
	assert_int_equal(cfg->dns.n_listen, 2);
	assert_string_equal(cfg->dns.listen[0].text, "0.0.0.0:53");
	assert_string_equal(cfg->dns.listen[1].text, "[::]:53");
	assert_int_equal(cfg->dns.threads, 0);
	assert_int_equal(cfg->dns.tcp_idle_timeout_ms, 10000);
	assert_int_equal(cfg->dns.tcp_max_connections, 1000);
	assert_int_equal(cfg->dns.tcp_max_per_client, 50);
	assert_int_equal(cfg->dns.tcp_message_timeout_ms, 2000);
	assert_int_equal(cfg->dns.tcp_client_ipv4_prefix, 24);
	assert_int_equal(cfg->dns.tcp_client_ipv6_prefix, 56);
	assert_int_equal(cfg->dns.max_udp_payload, 1232);
	assert_false(cfg->dns.rrl.enabled); /* no rrl: nothing limited */
	assert_string_equal(cfg->dns.nsid, "n1");
	assert_true(cfg->dns.cookies);
	assert_false(cfg->dns.cookie_secret_set);
	assert_string_equal(cfg->state_dir, "/var/lib/aya");
	assert_string_equal(cfg->control_socket, "/var/lib/aya/ayad.sock");
	assert_int_equal(cfg->log_level, AYA_LOG_INFO);
	assert_int_equal(cfg->n_zones, 0);
	assert_int_equal(cfg->n_regions, 0);
	assert_null(cfg->geo.database);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_explicit_values(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml",
	              "node: { name: n1, region: eu }\n"
	              "dns:\n"
	              "  listen: [\"::1\"]\n"
	              "  tcp_idle_timeout: 500ms\n"
	              "  tcp_message_timeout: 750ms\n"
	              "  tcp_client_ipv4_prefix: 32\n"
	              "  tcp_client_ipv6_prefix: 64\n"
	              "  max_udp_payload: 4096\n"
	              "  nsid: \"\"\n"
	              "  cookies: false\n"
	              "  cookie_secret: 000102030405060708090a0b0c0d0E0f\n"
	              "  rrl:\n"
	              "    responses_per_second: 20\n"
	              "    exempt: [192.0.2.0/24, \"2001:db8::/32\"]\n"
	              "log: { level: debug }\n"
	              "state_dir: state\n"
	              "monitors:\n"
	              "  - { name: http-ok, type: http, path: / }\n"
	              "regions:\n"
	              "  - { name: eu, location: [50, 8] }\n"
	              "  - { name: us, location: [40, -80] }\n"
	              "geo:\n"
	              "  maps:\n"
	              "    - { country: DE, regions: [eu, us] }\n"
	              "    - { continent: SA, regions: [us] }\n"
	              "  default: [us, eu]\n"
	              "zones:\n"
	              "  - name: Svc.Example.COM.\n"
	              "    file: z.zone\n"
	              "    allow_transfer: [192.0.2.0/24, \"2001:db8::1\"]\n"
	              "    services:\n"
	              "      - name: www.svc.example.com.\n"
	              "        when_all_down: empty\n"
	              "        policy: [hash, first_n]\n"
	              "        pools:\n"
	              "          - region: us\n"
	              "            monitor: http-ok\n"
	              "            endpoints: [ { address: 192.0.2.1, capacity: 500 } ]\n"
	              "      - name: \"@\"\n"
	              "        policy: [geo, { first_n: 3 }]\n"
	              "        pools: [ { region: eu, endpoints: [ { address: \"::2\" } ] } ]\n");
	scratch_write(&s, "z.zone", GOOD_ZONE);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("load: %d\n%s", rc, d.text);
	}
	assert_string_equal(cfg->dns.listen[0].text, "[::1]:53");
	assert_int_equal(cfg->dns.tcp_idle_timeout_ms, 500);
	assert_int_equal(cfg->dns.tcp_message_timeout_ms, 750);
	assert_int_equal(cfg->dns.tcp_client_ipv4_prefix, 32);
	assert_int_equal(cfg->dns.tcp_client_ipv6_prefix, 64);
	assert_int_equal(cfg->dns.max_udp_payload, 4096);
	assert_true(cfg->dns.rrl.enabled);
	assert_int_equal(cfg->dns.rrl.responses_per_second, 20);
	assert_int_equal(cfg->dns.rrl.slip, 2); /* defaults */
	assert_int_equal(cfg->dns.rrl.window_s, 15);
	assert_int_equal(cfg->dns.rrl.ipv4_prefix, 24);
	assert_int_equal(cfg->dns.rrl.ipv6_prefix, 56);
	assert_int_equal(cfg->dns.rrl.n_exempt, 2);
	assert_int_equal(cfg->dns.rrl.exempt[1].family, AF_INET6);
	assert_int_equal(cfg->dns.rrl.exempt[1].len, 32);
	assert_string_equal(cfg->dns.nsid, "");
	assert_false(cfg->dns.cookies);
	assert_true(cfg->dns.cookie_secret_set);
	assert_int_equal(cfg->dns.cookie_secret[0], 0);
	assert_int_equal(cfg->dns.cookie_secret[14], 0x0e);
	assert_int_equal(cfg->dns.cookie_secret[15], 0x0f);
	assert_int_equal(cfg->log_level, AYA_LOG_DEBUG);
	char want[PATH_MAX + 64];
	scratch_path(&s, "state", want, sizeof(want));
	assert_string_equal(cfg->state_dir, want);
	assert_int_equal(cfg->geo.n_maps, 2);
	assert_int_equal(cfg->geo.maps[0].kind, CFG_GEO_MAP_COUNTRY);
	assert_string_equal(cfg->geo.maps[0].code, "DE");
	assert_int_equal(cfg->geo.maps[0].n_regions, 2);
	assert_int_equal(cfg->geo.maps[0].regions[0], 0);
	assert_int_equal(cfg->geo.maps[0].regions[1], 1);
	assert_int_equal(cfg->geo.maps[1].kind, CFG_GEO_MAP_CONTINENT);
	assert_string_equal(cfg->geo.maps[1].code, "SA");
	assert_int_equal(cfg->geo.n_default_order, 2);
	assert_int_equal(cfg->geo.default_order[0], 1);
	const cfg_zone_t *z = cfg_zone_find(cfg, "svc.example.com");
	assert_non_null(z);
	assert_string_equal(z->name, "svc.example.com");
	assert_int_equal(z->n_xfr_allow, 2);
	assert_int_equal(z->xfr_allow[0].len, 24);
	assert_int_equal(z->xfr_allow[1].family, AF_INET6);
	assert_int_equal(z->xfr_allow[1].len, 128);
	assert_int_equal(z->n_services, 2);
	assert_string_equal(z->services[0].name, "www");
	assert_int_equal(z->services[0].all_down, CFG_ALL_DOWN_EMPTY);
	assert_int_equal(z->services[0].n_policy, 2);
	assert_int_equal(z->services[0].policy[0].kind, CFG_FILTER_HASH);
	assert_int_equal(z->services[0].policy[1].kind, CFG_FILTER_FIRST_N);
	assert_int_equal(z->services[0].policy[1].n, 1);
	assert_string_equal(z->services[0].pools[0].monitor, "http-ok");
	assert_int_equal(z->services[0].pools[0].region_idx, 1);
	assert_int_equal(z->services[0].pools[0].endpoints[0].capacity, 500);
	assert_string_equal(z->services[1].name, "@");
	assert_true(aya_dname_equal(z->services[1].owner, z->apex));
	assert_int_equal(z->services[1].policy[1].n, 3);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

/* Lines 1-10 of the services configs below; each case adds line 11 on. */
#define SVC_HEAD                                                                                   \
	"node:\n"                                                                                  \
	"  name: ams-1\n"                                                                          \
	"  region: eu-west\n"                                                                      \
	"regions:\n"                                                                               \
	"  - { name: eu-west, location: [53.35, -6.26] }\n"                                        \
	"  - { name: us-east, location: [39.04, -77.49] }\n"                                       \
	"zones:\n"                                                                                 \
	"  - name: svc.example.com\n"                                                              \
	"    file: z.zone\n"                                                                       \
	"    services:\n"
#define SVC_POOL                                                                                   \
	"        pools:\n"                                                                         \
	"          - region: eu-west\n"                                                            \
	"            endpoints: [ { address: 192.0.2.10 } ]\n"
#define NODE "node: { name: a, region: r }\n"

static const struct bad_case {
	const char *name;
	const char *yaml;
	const char *where; /* "line:col" in aya.yaml, or a full "file:line" suffix */
	const char *msg;
} bad_cases[] = {
        {"unknown key", NODE "dns:\n  bogus: 1\n", "3:3", "unknown key 'bogus' in dns"},
        {"unknown top-level key", NODE "zone: []\n", "2:1", "unknown key 'zone' at top level"},
        {"unknown key in zone", NODE "zones:\n  - { name: a.test, file: z.zone, ttl: 5 }\n", "3:35",
         "unknown key 'ttl' in zone"},
        {"wrong type list", NODE "dns:\n  threads: [1]\n", "3:12",
         "dns.threads: expected a scalar, got a list"},
        {"wrong type integer", NODE "dns:\n  threads: two\n", "3:12",
         "dns.threads: expected an integer, got 'two'"},
        {"wrong type mapping", NODE "dns: [1]\n", "2:6", "dns: expected a mapping"},
        {"wrong type bool", NODE "dns:\n  cookies: maybe\n", "3:12",
         "dns.cookies: expected true or false, got 'maybe'"},
        {"listen not a list", NODE "dns:\n  listen: 127.0.0.1\n", "3:11",
         "dns.listen: expected a list, got a scalar"},
        {"bad address", NODE "dns:\n  listen: [\"127.0.0.1:53\", \"256.1.1.1:53\"]\n", "3:28",
         "dns.listen: bad address or port '256.1.1.1:53'"},
        {"bad port", NODE "dns:\n  listen: [\"127.0.0.1:99999\"]\n", "3:12",
         "dns.listen: bad address or port '127.0.0.1:99999'"},
        {"duplicate listen", NODE "dns:\n  listen: [\"[::1]:53\", \"::1\"]\n", "3:24",
         "dns.listen: duplicate address '::1'"},
        {"bad http address", NODE "http:\n  listen: [\"127.0.0.1:80800\"]\n", "3:12",
         "http.listen: bad address or port '127.0.0.1:80800'"},
        {"duplicate http address", NODE "http:\n  listen: [\"127.0.0.1\", \"127.0.0.1:8053\"]\n",
         "3:25", "http.listen: duplicate address '127.0.0.1:8053'"},
        {"unknown key in http", NODE "http:\n  port: 8053\n", "3:3", "unknown key 'port' in http"},
        {"missing node.name", "node:\n  region: r\n", "2:3", "missing required key 'name' in node"},
        {"missing node", "dns: {}\n", "1:1", "missing required key 'node' in config"},
        {"empty node.name", "node: { name: \"\", region: r }\n", "1:15",
         "node.name: must not be empty"},
        {"bad duration", NODE "dns:\n  tcp_idle_timeout: 5x\n", "3:21",
         "dns.tcp_idle_timeout: bad duration '5x'"},
        {"duration out of range", NODE "dns:\n  tcp_idle_timeout: 2h\n", "3:21",
         "dns.tcp_idle_timeout: 2h is out of range 100ms..3600000ms"},
        {"message timeout out of range", NODE "dns:\n  tcp_message_timeout: 50ms\n", "3:24",
         "dns.tcp_message_timeout: 50ms is out of range 100ms..600000ms"},
        {"client prefix out of range", NODE "dns:\n  tcp_client_ipv4_prefix: 33\n", "3:27",
         "dns.tcp_client_ipv4_prefix"},
        {"threads out of range", NODE "dns:\n  threads: 5000\n", "3:12",
         "dns.threads: 5000 is out of range 0..1024"},
        {"negative threads", NODE "dns:\n  threads: -1\n", "3:12",
         "dns.threads: expected an integer, got '-1'"},
        {"udp payload too small", NODE "dns:\n  max_udp_payload: 511\n", "3:20",
         "dns.max_udp_payload: 511 is out of range 512..4096"},
        {"rrl: rate 0", NODE "dns:\n  rrl: { responses_per_second: 0 }\n", "3:32",
         "dns.rrl.responses_per_second: 0 is out of range 1..1000000"},
        {"rrl: rate missing", NODE "dns:\n  rrl: { slip: 1 }\n", "3:8",
         "missing required key 'responses_per_second' in dns.rrl"},
        {"rrl: slip over 10", NODE "dns:\n  rrl: { responses_per_second: 5, slip: 11 }\n", "3:41",
         "dns.rrl.slip: 11 is out of range 0..10"},
        {"rrl: window 0", NODE "dns:\n  rrl:\n    responses_per_second: 5\n    window: 0\n", "5:13",
         "dns.rrl.window: 0 is out of range 1..3600"},
        {"rrl: ipv6 prefix", NODE "dns:\n  rrl: { responses_per_second: 5, ipv6_prefix: 129 }\n",
         "3:48", "dns.rrl.ipv6_prefix: 129 is out of range 0..128"},
        {"rrl: bad exempt", NODE "dns:\n  rrl: { responses_per_second: 5, exempt: [10.0.0.1/8] }\n",
         "3:44", "dns.rrl.exempt: bad prefix '10.0.0.1/8'"},
        {"rrl: null", NODE "dns:\n  rrl:\n", "3:7", "dns.rrl: expected a mapping"},
        {"rrl: unknown key", NODE "dns:\n  rrl: { responses_per_second: 5, burst: 3 }\n", "3:35",
         "unknown key 'burst' in dns.rrl"},
        {"bad cookie secret", NODE "dns:\n  cookie_secret: abc\n", "3:18",
         "dns.cookie_secret: expected 32 hex digits"},
        {"bad log level", NODE "log:\n  level: loud\n", "3:10",
         "log.level: 'loud' is not one of error, warning, info, debug"},
        {"null value", NODE "state_dir:\n", "2:11", "config.state_dir: missing value"},
        {"duplicate key", NODE "dns:\n  threads: 1\n  threads: 2\n", "4:3",
         "duplicate key 'threads' in dns"},
        {"duplicate zone",
         NODE "zones:\n  - { name: svc.example.com, file: z.zone }\n"
              "  - { name: SVC.example.com., file: z.zone }\n",
         "4:5", "duplicate zone 'svc.example.com' (first defined at line 3)"},
        {"bad zone name", NODE "zones:\n  - { name: \"a..b\", file: z.zone }\n", "3:13",
         "zone.name: bad domain name 'a..b'"},
        {"missing zone file", NODE "zones:\n  - { name: a.test }\n", "3:5",
         "missing required key 'file' in zone"},
        {"unreadable zone file", NODE "zones:\n  - name: a.test\n    file: nope.zone\n", "4:11",
         "cannot read zone file"},
        {"bad transfer prefix",
         NODE "zones:\n  - { name: svc.example.com, file: z.zone, allow_transfer: [10.0.0.1/8] }\n",
         "3:61", "zone.allow_transfer: bad prefix '10.0.0.1/8'"},
        {"yaml syntax", NODE "dns: [1, 2\n", "3:1", "yaml: did not find expected ',' or ']'"},
        {"unknown region",
         SVC_HEAD "      - name: www\n"
                  "        pools:\n"
                  "          - region: mars\n"
                  "            endpoints: [ { address: 192.0.2.10 } ]\n",
         "13:21", "unknown region 'mars'"},
        {"regions missing",
         NODE
         "zones:\n  - name: svc.example.com\n    file: z.zone\n    services:\n"
         "      - { name: www, pools: [ { region: eu, endpoints: [ { address: \"::1\" } ] } ] }\n",
         "6:41", "unknown region 'eu': no regions: section is defined"},
        {"unknown node region",
         "node: { name: a, region: mars }\nregions: [ { name: eu, location: [1, 2] } ]\n", "1:26",
         "node.region: unknown region 'mars'"},
        {"empty pool",
         SVC_HEAD "      - name: www\n"
                  "        pools:\n"
                  "          - region: eu-west\n"
                  "            endpoints: []\n",
         "14:24", "empty pool: a pool needs at least one endpoint"},
        {"no pools", SVC_HEAD "      - { name: www, pools: [] }\n", "11:29",
         "service.pools: a service needs at least one pool"},
        {"unknown filter",
         SVC_HEAD "      - name: www\n" SVC_POOL "        policy: [healthy, nearest]\n", "15:27",
         "unknown filter 'nearest'"},
        {"filter argument",
         SVC_HEAD "      - name: www\n" SVC_POOL "        policy: [{ geo: 2 }]\n", "15:18",
         "policy: filter 'geo' takes no argument"},
        {"bad first_n",
         SVC_HEAD "      - name: www\n" SVC_POOL "        policy: [{ first_n: 0 }]\n", "15:29",
         "policy: first_n must be 1..65535, got '0'"},
        {"duplicate filter", SVC_HEAD "      - name: www\n" SVC_POOL "        policy: [geo, geo]\n",
         "15:23", "policy: filter 'geo' appears twice"},
        {"service outside zone", SVC_HEAD "      - name: www.other.org.\n" SVC_POOL, "11:9",
         "service 'www.other.org.' is outside zone 'svc.example.com'"},
        {"clash with static record", SVC_HEAD "      - name: api\n" SVC_POOL, "11:9",
         "service 'api' clashes with static records at the same name in"},
        {"clash absolute name", SVC_HEAD "      - name: API.svc.example.com.\n" SVC_POOL, "11:9",
         "service 'API.svc.example.com.' clashes with static records"},
        {"duplicate service",
         SVC_HEAD "      - name: www\n" SVC_POOL "      - name: www.svc.example.com.\n" SVC_POOL,
         "15:9", "duplicate service 'www.svc.example.com.' (first defined at line 11)"},
        {"weight zero",
         SVC_HEAD "      - name: www\n"
                  "        pools:\n"
                  "          - region: eu-west\n"
                  "            endpoints: [ { address: 192.0.2.10, weight: 0 } ]\n",
         "14:57", "endpoint.weight: 0 is out of range 1..65535"},
        {"weight too big",
         SVC_HEAD "      - name: www\n"
                  "        pools:\n"
                  "          - region: eu-west\n"
                  "            endpoints: [ { address: 192.0.2.10, weight: 65536 } ]\n",
         "14:57", "endpoint.weight: 65536 is out of range 1..65535"},
        {"bad endpoint address",
         SVC_HEAD "      - name: www\n"
                  "        pools:\n"
                  "          - region: eu-west\n"
                  "            endpoints: [ { address: www.example.com } ]\n",
         "14:37", "endpoint.address: 'www.example.com' is neither an IPv4 nor an IPv6 address"},
        {"bad when_all_down",
         SVC_HEAD "      - name: www\n" SVC_POOL "        when_all_down: panic\n", "15:24",
         "service.when_all_down: 'panic' is not one of answer_all, empty"},
        {"latitude out of range", NODE "regions:\n  - { name: r, location: [95, 10] }\n", "3:27",
         "region.location latitude: 95 is out of range -90..90"},
        {"location not a pair", NODE "regions:\n  - { name: r, location: [1] }\n", "3:26",
         "region.location: expected [latitude, longitude]"},
        {"duplicate region",
         NODE "regions:\n  - { name: r, location: [1, 2] }\n  - { name: r, location: [3, 4] }\n",
         "4:5", "duplicate region 'r'"},
        {"bad country",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  maps: [ { country: de, regions: [r] } ]\n",
         "4:22", "geo map country: unknown country code 'de'"},
        {"unknown country",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  maps: [ { country: ZZ, regions: [r] } ]\n",
         "4:22", "geo map country: unknown country code 'ZZ'"},
        {"bad continent",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  maps: [ { continent: EA, regions: [r] } ]\n",
         "4:24", "geo map continent: unknown continent code 'EA'"},
        {"country and continent",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  maps: [ { country: DE, continent: EU, regions: [r] } ]\n",
         "4:37", "geo map: give either country or continent, not both"},
        {"map without code",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  maps: [ { regions: [r] } ]\n",
         "4:11", "geo map: needs a country or a continent"},
        {"map unknown region",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  maps: [ { country: DE, regions: [r, x] } ]\n",
         "4:39", "unknown region 'x'"},
        {"geo default unknown region",
         NODE "regions: [ { name: r, location: [1, 2] } ]\n"
              "geo:\n  default: [q]\n",
         "4:13", "unknown region 'q'"},
        {"missing geo database", NODE "geo:\n  database: none.mmdb\n", "3:13",
         "geo.database: cannot read"},
        {"zone file is a directory", NODE "zones:\n  - name: example.com\n    file: .\n", "4:11",
         "zone file '"},
        {"unknown user", NODE "user: no-such-aya-user\n", "2:7",
         "user: no such user 'no-such-aya-user'"},
        {"unknown group", NODE "group: no-such-aya-group\n", "2:8",
         "group: no such group 'no-such-aya-group'"},
        {"unknown control group", NODE "control:\n  group: no-such-aya-group\n", "3:10",
         "control.group: no such group 'no-such-aya-group'"},
        {"monitor without name", NODE "monitors:\n  - { type: http }\n", "3:5",
         "missing required key 'name' in monitor"},
        {"duplicate monitor", NODE "monitors:\n  - { name: m }\n  - { name: m }\n", "4:5",
         "duplicate monitor 'm'"},
        {"monitor: unknown key", NODE "monitors:\n  - { name: m, colour: red }\n", "3:16",
         "unknown key 'colour' in monitor"},
        {"monitor: bad type", NODE "monitors:\n  - { name: m, type: icmp }\n", "3:22",
         "monitor.type: 'icmp' is not one of tcp, http, https"},
        {"monitor: tcp without port", NODE "monitors:\n  - { name: m, type: tcp }\n", "3:5",
         "monitor 'm': type tcp needs a port"},
        {"monitor: timeout not below interval",
         NODE "monitors:\n  - { name: m, interval: 500ms, timeout: 500ms }\n", "3:42",
         "monitor 'm': timeout (500ms) must be below interval (500ms)"},
        {"monitor: jitter out of range", NODE "monitors:\n  - { name: m, jitter: 0.6 }\n", "3:24",
         "monitor.jitter: 0.6 is out of range 0..0.5"},
        {"monitor: bad status", NODE "monitors:\n  - { name: m, expect: [200, 700] }\n", "3:30",
         "monitor.expect: '700' is not an HTTP status (100..599)"},
        {"monitor: two load sources",
         NODE "monitors:\n  - { name: m, load: { header: X-Load, json: a.b } }\n", "3:22",
         "monitor.load: give one utilization source, not 2"},
        {"monitor: unknown load key", NODE "monitors:\n  - { name: m, load: { xml: a } }\n", "3:24",
         "unknown key 'xml' in monitor.load"},
        {"pool: unknown monitor",
         SVC_HEAD "      - name: www\n"
                  "        pools:\n"
                  "          - region: eu-west\n"
                  "            monitor: nope\n"
                  "            endpoints: [ { address: 192.0.2.10 } ]\n",
         "14:22", "unknown monitor 'nope'"},
};

/* http.listen: none by default; port 8053 when omitted; a warning for a non-loopback address. */
static void test_http_listen(void **state)
{
	(void)state;
	static const char *const yaml[] = {
	        NODE,
	        NODE "http:\n  listen: [\"127.0.0.1\", \"[::1]:9000\"]\n",
	        NODE "http:\n  listen: [\"192.0.2.1\"]\n",
	};
	for (size_t i = 0; i < 3; i++) {
		scratch_t s;
		scratch_init(&s);
		scratch_write(&s, "aya.yaml", yaml[i]);
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
		if (i == 0) {
			assert_int_equal(cfg->http.n_listen, 0);
			assert_int_equal(d.warnings, 0);
		} else if (i == 1) {
			assert_int_equal(cfg->http.n_listen, 2);
			assert_string_equal(cfg->http.listen[0].text, "127.0.0.1:8053");
			assert_string_equal(cfg->http.listen[1].text, "[::1]:9000");
			assert_int_equal(d.warnings, 0);
		} else {
			assert_int_equal(d.warnings, 1);
			assert_non_null(strstr(
			        d.text, "3:11: warning: http.listen: 192.0.2.1:8053 is not a "
			                "loopback address"));
		}
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
}

/* user:, group:, control.group: accounts of this host; absent by default. */
static void test_accounts(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", NODE "user: root\ngroup: root\ncontrol:\n  group: root\n");
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
	assert_string_equal(cfg->user, "root");
	assert_string_equal(cfg->group, "root");
	assert_string_equal(cfg->control_group, "root");
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_write(&s, "aya.yaml", NODE);
	cfg = NULL;
	d = (cfg_diag_t){0};
	assert_int_equal(scratch_load(&s, "aya.yaml", &cfg, &d), 0);
	assert_null(cfg->user);
	assert_null(cfg->group);
	assert_null(cfg->control_group);
	cfg_free(cfg);
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_bad_configs(void **state)
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

/* One run reports every error, in document order, and loads nothing. */
static void test_multiple_errors(void **state)
{
	(void)state;
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml",
	              "node:\n"
	              "  region: r\n"
	              "dns:\n"
	              "  threads: 9999\n"
	              "  listen: [\"1.2.3:53\"]\n"
	              "  colour: blue\n"
	              "zones:\n"
	              "  - { name: a.test, file: missing.zone }\n");
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
	assert_int_equal(rc, -EINVAL);
	assert_null(cfg);
	assert_int_equal(d.errors, 5);
	static const char *const want[] = {
	        "aya.yaml:2:3: error: missing required key 'name' in node",
	        "aya.yaml:4:12: error: dns.threads: 9999 is out of range",
	        "aya.yaml:5:12: error: dns.listen: bad address or port '1.2.3:53'",
	        "aya.yaml:6:3: error: unknown key 'colour' in dns",
	        "aya.yaml:8:27: error: cannot read zone file",
	};
	const char *p = d.text;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *q = strstr(p, want[i]);
		if (q == NULL) {
			fail_msg("missing or out of order: %s\nin:\n%s", want[i], d.text);
		}
		p = q;
	}
	cfg_diag_fini(&d);
	scratch_fini(&s);
}

static void test_missing_config_file(void **state)
{
	(void)state;
	cfg_t *cfg = (cfg_t *)1;
	cfg_diag_t d = {0};
	int rc = cfg_load("/nonexistent/aya.yaml", &cfg, &d);
	assert_int_equal(rc, -ENOENT);
	assert_null(cfg);
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.text, "/nonexistent/aya.yaml: error: cannot open config"));
	cfg_diag_fini(&d);
	cfg_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_contract1),
	        cmocka_unit_test(test_contract2_project_layout),
	        cmocka_unit_test(test_examples),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_explicit_values),
	        cmocka_unit_test(test_bad_configs),
	        cmocka_unit_test(test_http_listen),
	        cmocka_unit_test(test_accounts),
	        cmocka_unit_test(test_multiple_errors),
	        cmocka_unit_test(test_missing_config_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
