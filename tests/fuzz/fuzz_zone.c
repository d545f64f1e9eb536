/*
 * Fuzz target: zone files (config/zone.c through ldns). The input is the
 * zone file of svc.example.com in a fixed config (with a service at www,
 * so the service checks run against the zone's records) loaded by
 * cfg_load(). A zone that loads has its SOA first; loading it twice gives
 * the same config hash.
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "tests/fuzz/util.h"

#define CONFIG                                                                                     \
	"node: { name: fz-0, region: eu-west }\n"                                                  \
	"regions: [ { name: eu-west, location: [53, -6] } ]\n"                                     \
	"zones:\n"                                                                                 \
	"  - name: svc.example.com\n"                                                              \
	"    file: z.zone\n"                                                                       \
	"    services:\n"                                                                          \
	"      - name: www\n"                                                                      \
	"        pools: [ { region: eu-west, endpoints: [ { address: 192.0.2.10 } ] } ]\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "%s",
		         fuzz_scratch_write("aya.yaml", CONFIG, strlen(CONFIG)));
	}
	fuzz_scratch_write("z.zone", data, size);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	if (cfg_load(path, &cfg, &d) == 0) {
		const cfg_zone_t *z = cfg_zone_find(cfg, "svc.example.com");
		if (z == NULL || z->n_rrs == 0 || z->rrs[0].type != 6 /* SOA */) {
			abort();
		}
		cfg_t *again = NULL;
		cfg_diag_t d2 = {0};
		if (cfg_load(path, &again, &d2) != 0 || cfg_hash(again) != cfg_hash(cfg)) {
			abort();
		}
		cfg_free(again);
		cfg_diag_fini(&d2);
	}
	cfg_free(cfg);
	cfg_diag_fini(&d);
	return 0;
}

int fuzz_write_seeds(const char *dir)
{
	static const char *const seeds[][2] = {
	        {"small", "$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n  IN NS ns1\n"
	                  "ns1 IN A 192.0.2.53\napi IN A 192.0.2.80\n"},
	        {"example",
	         "; svc.example.com\n$ORIGIN svc.example.com.\n$TTL 3600\n"
	         "@ IN SOA ns1.svc.example.com. hostmaster.svc.example.com. (\n"
	         "    2026112501 ; serial\n    7200 3600 1209600 300 )\n"
	         "  IN NS ns1\n  IN NS ns2\n  IN MX 10 mail\n  IN TXT \"v=spf1 mx -all\"\n"
	         "  IN CAA 0 issue \"letsencrypt.org\"\n"
	         "ns1 IN A 192.0.2.53\n    IN AAAA 2001:db8::53\nns2 IN A 198.51.100.53\n"
	         "mail IN A 192.0.2.25\ndocs IN CNAME api\napi IN A 192.0.2.80\n"
	         "cdn IN CNAME edge.cdn.example.net.\n_sip._udp IN SRV 10 60 5060 sip\n"
	         "sip IN A 192.0.2.60\n1.2 IN PTR api\n*.wild IN A 192.0.2.99\n"
	         "    IN TXT \"wildcard\"\na.b.c IN A 192.0.2.77\n"
	         "sub IN NS ns1.sub\n    IN NS ns2.sub\nns1.sub IN A 192.0.2.153\n"
	         "ns2.sub IN AAAA 2001:db8::153\nopaque IN TYPE65280 \\# 4 0a000001\n"},
	        {"cname-clash",
	         "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nx IN CNAME a\nx IN A 192.0.2.1\n"},
	        {"www-static", "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nwww IN A 192.0.2.1\n"},
	        {"bad-addr", "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nx IN A 192.0.2.300\n"},
	        {"open-quote", "@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nx IN TXT \"abc\n"},
	        {"include", "$INCLUDE other.zone\n@ IN SOA ns1 h 1 2 3 4 5\n"},
	        {"ttl-mix", "@ IN SOA ns1 h 1 2 3 4 5\n@ 10 IN NS ns1\n@ 20 IN NS ns2\n"
	                    "sub IN NS ns.sub\nsub IN MX 1 a\nx.sub IN TXT occluded\n"},
	        {"no-soa", "@ IN NS ns1\n"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(*seeds); i++) {
		if (!fuzz_seed(dir, seeds[i][0], seeds[i][1], strlen(seeds[i][1]))) {
			return -1;
		}
	}
	return 0;
}
