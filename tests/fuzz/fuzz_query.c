/*
 * Fuzz target: one DNS query, answered over UDP and over TCP against a
 * fixture snapshot covering every answer path (CNAME, wildcard, referral,
 * AXFR, CHAOS, cookies, and service names answered by policy/ with geo on
 * the tests/geo fixture database, so ECS options reach geo_tree_lookup and
 * pol_answer). The zone is signed (a P-256 key made at start), so that
 * queries with DO reach the signer, its caches and compact denial. Checks the engine's own
 * guarantees: the response fits the buffer, is never produced for a response (QR=1), and carries
 * the query's ID. Without perl's MaxMind writer the service runs without a database.
 */
#include "tests/fuzz/fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/dname.h"
#include "dnsd/dnsd.h"
#include "dnsd/keys_int.h"
#include "dnsd/query_int.h"
#include "geo/geo.h"
#include "policy/policy.h"
#include "tests/dnsd/fixture.h"
#include "tests/geo/fixture.h"

static const char *const zone[] = {
        "example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300",
        "example.com. 3600 IN NS ns1.example.com.",
        "example.com. 3600 IN MX 10 mail.example.com.",
        "example.com. 3600 IN TXT \"v=spf1 -all\"",
        "ns1.example.com. 3600 IN A 192.0.2.1",
        "ns1.example.com. 3600 IN AAAA 2001:db8::1",
        "mail.example.com. 3600 IN A 192.0.2.2",
        "www.example.com. 300 IN A 192.0.2.10",
        "alias.example.com. 300 IN CNAME www.example.com.",
        "loop.example.com. 300 IN CNAME loop.example.com.",
        "ext.example.com. 300 IN CNAME www.example.net.",
        "*.wild.example.com. 300 IN TXT \"w\"",
        "*.cw.example.com. 300 IN CNAME alias.example.com.",
        "a.b.wild.example.com. 300 IN A 192.0.2.3",
        "_sip._tcp.example.com. 300 IN SRV 1 2 5060 www.example.com.",
        "sub.example.com. 3600 IN NS ns.sub.example.com.",
        "ns.sub.example.com. 3600 IN A 192.0.2.53",
        "galias.example.com. 300 IN CNAME geo.example.com.",
};

/* geo.example.com: three regions, IPv4 and IPv6; multi.example.com: first_n 3, weighted. */
static cfg_endpoint_t eu_eps[] = {
        {.family = AF_INET, .text = "10.0.1.1", .weight = 1},
        {.family = AF_INET, .text = "10.0.1.2", .weight = 3},
        {.family = AF_INET6, .text = "2001:db8:e::1", .weight = 1},
};
static cfg_endpoint_t us_eps[] = {
        {.family = AF_INET, .text = "10.0.2.1", .weight = 1},
        {.family = AF_INET6, .text = "2001:db8:a::1", .weight = 1},
};
static cfg_endpoint_t ap_eps[] = {
        {.family = AF_INET, .text = "10.0.3.1", .weight = 1},
};
static const cfg_pool_t pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = eu_eps, .n_endpoints = 3},
        {.region = "us-east", .region_idx = R_US_EAST, .endpoints = us_eps, .n_endpoints = 2},
        {.region = "ap-south", .region_idx = R_AP_SOUTH, .endpoints = ap_eps, .n_endpoints = 1},
};
static const cfg_filter_t chain_multi[] = {
        {.kind = CFG_FILTER_GEO}, {.kind = CFG_FILTER_HASH}, {.kind = CFG_FILTER_FIRST_N, .n = 3}};
static cfg_service_t services[] = {
        {.name = "geo", .ttl_s = 30, .pools = pools, .n_pools = 3},
        {.name = "multi",
         .ttl_s = 30,
         .pools = pools,
         .n_pools = 3,
         .policy = chain_multi,
         .n_policy = 3},
};

static dnsd_snap_t *snap;
static pol_snap_t *pol;
static dnsd_ctx_t *ctx;
static fx_t fx;

static int services_init(void)
{
	static const char *const owners[] = {"geo.example.com", "multi.example.com"};
	cfg_endpoint_t *eps[] = {eu_eps, us_eps, ap_eps};
	size_t n_eps[] = {3, 2, 1};
	for (size_t p = 0; p < 3; p++) {
		for (size_t i = 0; i < n_eps[p]; i++) {
			if (inet_pton(eps[p][i].family, eps[p][i].text, eps[p][i].addr) != 1) {
				return -1;
			}
		}
	}
	for (size_t i = 0; i < sizeof(services) / sizeof(*services); i++) {
		if (aya_dname_from_str(owners[i], services[i].owner) < 0) {
			return -1;
		}
	}
	fx.cfg.regions = fx_regions;
	fx.cfg.n_regions = R_COUNT;
	fx.zones[0].services = services;
	fx.zones[0].n_services = sizeof(services) / sizeof(*services);
	/* The query path reads only the tree (the mapping stays valid once unlinked). */
	char dir[64], path[128];
	bool db = fx_make(dir, sizeof(dir), path, sizeof(path)) == 0;
	geo_build_opts_t o = {
	        .database = db ? path : NULL, .regions = fx_regions, .n_regions = R_COUNT};
	geo_tree_t *geo = NULL;
	int rc = geo_tree_build(&o, &geo, NULL, 0);
	if (db) {
		fx_remove(dir, path);
	}
	if (rc != 0) {
		return -1;
	}
	rc = pol_snap_build(&fx.cfg, geo, NULL, &pol, NULL, 0);
	geo_tree_unref(geo);
	return rc;
}

/* A TSIG key (bytes 0..31) so signed seeds reach the MAC and signing code. */
static uint8_t key_secret[32];
static cfg_key_t keys[1];

static int keys_init(void)
{
	for (size_t i = 0; i < sizeof(key_secret); i++) {
		key_secret[i] = (uint8_t)i;
	}
	keys[0].name = "xfr-key.";
	keys[0].alg = CFG_TSIG_HMAC_SHA256;
	keys[0].secret = key_secret;
	keys[0].secret_len = sizeof(key_secret);
	fx.cfg.keys = keys;
	fx.cfg.n_keys = 1;
	return aya_dname_from_str("xfr-key.", keys[0].owner) > 0 ? 0 : -1;
}

/* The zone's signing key: a CSK made here. */
static dnsd_key_t zkey;
static dnsd_keyset_t zkeys = {.keys = &zkey, .n = 1, .algorithm = 13};

static int zkey_init(void)
{
	uint8_t pub[65];
	size_t len = 0;
	zkey.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (zkey.pkey == NULL ||
	    EVP_PKEY_get_octet_string_param(zkey.pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
	                                    &len) != 1 ||
	    len != sizeof(pub)) {
		return -1;
	}
	static const uint8_t head[4] = {1, 1, 3, 13};
	memcpy(zkey.rdata, head, 4);
	memcpy(zkey.rdata + 4, pub + 1, 64);
	zkey.rdlen = 68;
	zkey.info = (dnsd_key_info_t){.tag = 1,
	                              .algorithm = 13,
	                              .flags = 257,
	                              .ksk = true,
	                              .zsk = true,
	                              .state = DNSD_KEY_ACTIVE};
	fx.zones[0].dnssec =
	        (cfg_dnssec_t){.enabled = true, .algorithm = CFG_DNSSEC_ECDSAP256SHA256};
	return 0;
}

static void init(void)
{
	dnsd_keyset_t *ks[1] = {&zkeys};
	if (fx_init(&fx) != 0 || keys_init() != 0 ||
	    fx_add_zone(&fx, "example.com.", zone, sizeof(zone) / sizeof(*zone)) ||
	    fx_allow_xfr(&fx, 0, "127.0.0.0/8") != 0 || services_init() != 0 || zkey_init() != 0 ||
	    dnsd_snap_build_signed(&fx.cfg, NULL, ks, (uint64_t)time(NULL), &snap, NULL, 0) != 0 ||
	    (ctx = dnsd_ctx_new()) == NULL) {
		abort();
	}
	dnsd_ctx_seed(ctx, 1); /* reproducible crashes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNSD_MAX_MSG];
	if (ctx == NULL) {
		init();
	}
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001);
	/* Work on a copy so reads past `size` are caught by ASan. */
	uint8_t *q = malloc(size > 0 ? size : 1);
	if (q == NULL) {
		return 0;
	}
	memcpy(q, data, size);
	static const size_t outmax[] = {512, 1232, DNSD_MAX_MSG};
	for (int tr = DNSD_UDP; tr <= DNSD_TCP; tr++) {
		size_t max = outmax[(size + (size_t)tr) % 3];
		size_t n = dnsd_answer(ctx, snap, pol, q, size, out, max,
		                       (const struct sockaddr *)&src, (dnsd_transport_t)tr);
		if (n > max || (n > 0 && (size < 12 || (q[2] & 0x80) != 0)) ||
		    (n > 0 && (n < 12 || memcmp(out, q, 2) != 0 || (out[2] & 0x80) == 0))) {
			abort();
		}
	}
	free(q);
	return 0;
}
