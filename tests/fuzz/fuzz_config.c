/*
 * Fuzz target: the YAML config loader (config/). The input is written to
 * aya.yaml in a scratch directory that also holds a zone file (z.zone) and
 * a gossip keyring (keys.txt), and loaded with cfg_load(); a config that
 * loads is hashed (cfg_hash) and compared with itself (cfg_gossip_diff,
 * cfg_zones_unbumped): both must find no difference. No geo database is
 * read (config/ only records its path).
 */
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tests/fuzz/util.h"

#define ZONE                                                                                       \
	"$TTL 300\n"                                                                               \
	"@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n"                                            \
	"  IN NS ns1\n"                                                                            \
	"ns1 IN A 192.0.2.53\n"                                                                    \
	"api IN A 192.0.2.80\n"
#define KEYS "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		fuzz_scratch_write("z.zone", ZONE, strlen(ZONE));
		fuzz_scratch_write("keys.txt", KEYS, strlen(KEYS));
		ready = true;
	}
	const char *path = fuzz_scratch_write("aya.yaml", data, size);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = cfg_load(path, &cfg, &d);
	if (rc == 0) {
		const char *keys[4];
		const cfg_zone_t *z[4];
		if (cfg == NULL || cfg_hash(cfg) != cfg_hash(cfg) ||
		    cfg_gossip_diff(&cfg->gossip, &cfg->gossip, keys, 4) != 0 ||
		    cfg_zones_unbumped(cfg, cfg, z, 4) != 0) {
			abort();
		}
		(void)cfg_monitored_endpoints(cfg);
	} else if (cfg != NULL || (rc == -EINVAL && d.errors == 0)) {
		abort();
	}
	cfg_free(cfg);
	cfg_diag_fini(&d);
	return 0;
}

int fuzz_write_seeds(const char *dir)
{
	static const char *const seeds[][2] = {
	        {"minimal", "node: { name: a, region: r }\n"},
	        {"example",
	         "node:\n  name: ams-1\n  region: eu-west\n"
	         "dns:\n  listen: [\"127.0.0.1:5300\", \"[::1]:5300\"]\n  threads: 2\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n"
	         "control:\n  socket: /tmp/aya-ams-1/ayad.sock\nstate_dir: /tmp/aya-ams-1\n"},
	        {"services",
	         "node:\n  name: ams-1\n  region: eu-west\n"
	         "geo:\n"
	         "  maps:\n    - { country: DE, regions: [eu-west, us-east] }\n"
	         "    - { continent: SA, regions: [us-east] }\n  default: [us-east, eu-west]\n"
	         "regions:\n"
	         "  - { name: eu-west, location: [53.35, -6.26], cost: 1 }\n"
	         "  - { name: us-east, location: [39.04, -77.49], cost: 1 }\n"
	         "  - { name: cloud-burst, location: [45.60, -121.18], cost: 5, burst: true }\n"
	         "zones:\n"
	         "  - name: Svc.Example.COM.\n    file: z.zone\n"
	         "    allow_transfer: [192.0.2.0/24, \"2001:db8::1\"]\n"
	         "    services:\n"
	         "      - name: www\n        ttl: 30\n"
	         "        pools:\n"
	         "          - region: eu-west\n            monitor: web\n"
	         "            endpoints:\n"
	         "              - { address: 192.0.2.10, weight: 2 }\n"
	         "              - { address: \"2001:db8::10\", capacity: 500 }\n"
	         "          - region: us-east\n"
	         "            endpoints: [ { address: 198.51.100.10 } ]\n"
	         "        policy: [healthy, drain, geo, weighted, { first_n: 1 }]\n"
	         "      - name: \"@\"\n        when_all_down: empty\n"
	         "        policy: [hash, first_n]\n"
	         "        pools: [ { region: us-east, endpoints: [ { address: \"::2\" } ] } ]\n"
	         "monitors:\n"
	         "  - { name: tls, type: https, tls_verify: true, host: a.example,\n"
	         "      load: { json: stats.load, capacity_prometheus: cap } }\n"
	         "  - { name: web, type: http, port: 8080, path: /health, expect: [200], "
	         "interval: 500ms, timeout: 300ms,\n      rise: 2, fall: 2 }\n"},
	        {"gossip", "node: { name: a, region: r }\n"
	                   "gossip:\n  bind: 127.0.0.2:7946\n"
	                   "  seeds: [\"127.0.0.1:7946\", \"[::1]:7946\"]\n"
	                   "  keyring: keys.txt\n  probe_interval: 1s\n"},
	        {"gossip-insecure", "node: { name: a, region: r }\n"
	                            "gossip: { bind: 127.0.0.2, insecure: true }\n"},
	        {"anchors", "node: &n { name: a, region: r }\nx: *n\n"},
	        {"bad-indent", "node:\n name: a\n  region: r\n"},
	        {"tabs-and-junk", "node:\t{ name: a\n\x01\xff: [\n"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(*seeds); i++) {
		if (!fuzz_seed(dir, seeds[i][0], seeds[i][1], strlen(seeds[i][1]))) {
			return -1;
		}
	}
	return 0;
}
