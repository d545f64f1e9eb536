/*
 * Signed answers of dnsd_answer(): a zone signed with a key made here (ECDSA
 * P-256 and Ed25519), every RRSIG checked with ldns's verifier against the
 * zone's DNSKEY RRset as served: static RRsets (names in RDATA in upper case,
 * so the canonical form matters), DNSKEY, CNAME into a service, geo service
 * answers (presigned: cache hits, no signing on the query path), a first_n 2
 * combination (signed once, then cached), wildcard answers signed at the
 * qname, compact denial for NXDOMAIN (NOERROR + NSEC with NXNAME), NODATA at
 * a name, an empty non-terminal and a wildcard, referrals with DS and with
 * the NSEC that proves none, a DS query, a service with every endpoint down,
 * no DNSSEC records without DO, truncation, and the NSEC bitmap and helpers.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/dname.h"
#include "dnsd/dnsd.h"
#include "dnsd/dnssec_int.h"
#include "dnsd/keys_int.h"
#include "dnsd/query_int.h"
#include "geo/geo.h"
#include "policy/policy.h"
#include "tests/dnsd/fixture.h"
#include "tests/geo/fixture.h"

#define EP(a)                                                                                      \
	{                                                                                          \
		.family = strchr(a, ':') ? AF_INET6 : AF_INET, .text = a, .weight = 1              \
	}

static cfg_endpoint_t eu_eps[] = {EP("10.0.1.1"), EP("2001:db8:e::1")};
static cfg_endpoint_t us_eps[] = {EP("10.0.2.1"), EP("2001:db8:a::1")};
static cfg_endpoint_t multi_eps[] = {EP("10.0.8.1"), EP("10.0.8.2"), EP("10.0.8.3")};

static const cfg_pool_t geo_pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = eu_eps, .n_endpoints = 2},
        {.region = "us-east", .region_idx = R_US_EAST, .endpoints = us_eps, .n_endpoints = 2},
};
static const cfg_pool_t multi_pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = multi_eps, .n_endpoints = 3},
};
static const cfg_filter_t chain_first2[] = {{.kind = CFG_FILTER_HEALTHY},
                                            {.kind = CFG_FILTER_WEIGHTED},
                                            {.kind = CFG_FILTER_FIRST_N, .n = 2}};

enum { S_WWW, S_MULTI, S_DOWN, S_COUNT };
static cfg_service_t services[S_COUNT] = {
        [S_WWW] = {.name = "www", .ttl_s = 30, .pools = geo_pools, .n_pools = 2},
        [S_MULTI] = {.name = "multi",
                     .ttl_s = 30,
                     .pools = multi_pools,
                     .n_pools = 1,
                     .policy = chain_first2,
                     .n_policy = 3},
        [S_DOWN] = {.name = "down",
                    .ttl_s = 45,
                    .pools = geo_pools,
                    .n_pools = 2,
                    .all_down = CFG_ALL_DOWN_EMPTY},
};

static const char *const zone[] = {
        "svc.example. 3600 IN SOA NS1.svc.example. h.svc.example. 1 7200 3600 1209600 300",
        "svc.example. 3600 IN NS NS1.SVC.example.",
        "svc.example. 3600 IN MX 10 Mail.Svc.Example.",
        "ns1.svc.example. 3600 IN A 192.0.2.1",
        "mail.svc.example. 3600 IN A 192.0.2.25",
        "static.svc.example. 300 IN A 192.0.2.99",
        "static.svc.example. 300 IN A 192.0.2.98",
        "static.svc.example. 300 IN TXT \"hello\"",
        "alias.svc.example. 300 IN CNAME WWW.svc.example.",
        "a.b.c.svc.example. 300 IN A 192.0.2.7",
        "*.wild.svc.example. 300 IN A 192.0.2.77",
        "*.wild.svc.example. 300 IN TXT \"synthesized\"",
        "secure.svc.example. 3600 IN NS ns.secure.svc.example.",
        "ns.secure.svc.example. 3600 IN A 192.0.2.53",
        "secure.svc.example. 3600 IN DS 12345 13 2 "
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "insecure.svc.example. 3600 IN NS ns.elsewhere.example.",
        "big.svc.example. 300 IN TXT "
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
        " "
        "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        "bbb"
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        "\" "
        "\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
        "cc\"",
        "big.svc.example. 300 IN TXT "
        "\"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
        "\" "
        "\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
        "e"
        "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
        "\"",
};

static const state_drain_t drains[] = {{.service = "down.svc.example", .target = NULL}};

struct world {
	char dir[64], path[128];
	fx_t fx;
	geo_tree_t *geo;
	pol_snap_t *pol;
	dnsd_snap_t *snap;
	dnsd_ctx_t *ctx;
	dnsd_keyset_t ks;
	dnsd_key_t key;
	ldns_rr_list *dnskeys; /* as served */
};

/* RFC 4034 appendix B, written again here so that the test does not trust the code under test. */
static uint16_t tag_of(const uint8_t *rd, size_t len)
{
	uint32_t ac = 0;
	for (size_t i = 0; i < len; i++) {
		ac += (i & 1) ? rd[i] : (uint32_t)rd[i] << 8;
	}
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

static void make_key(dnsd_key_t *k, uint8_t alg)
{
	memset(k, 0, sizeof(*k));
	k->pkey = alg == 13 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
	                    : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(k->pkey);
	k->rdata[0] = 1;
	k->rdata[1] = 1; /* 257 */
	k->rdata[2] = 3;
	k->rdata[3] = alg;
	size_t len;
	if (alg == 13) {
		uint8_t pub[65];
		assert_int_equal(EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY,
		                                                 pub, sizeof(pub), &len),
		                 1);
		assert_int_equal(len, 65);
		memcpy(k->rdata + 4, pub + 1, 64);
		k->rdlen = 68;
	} else {
		len = 32;
		assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, k->rdata + 4, &len), 1);
		k->rdlen = 36;
	}
	k->info = (dnsd_key_info_t){.tag = tag_of(k->rdata, k->rdlen),
	                            .algorithm = alg,
	                            .flags = 257,
	                            .ksk = true,
	                            .zsk = true,
	                            .state = DNSD_KEY_ACTIVE};
}

static void fill_addrs(cfg_endpoint_t *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(inet_pton(e[i].family, e[i].text, e[i].addr), 1);
	}
}

typedef union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
} addr_t;

static addr_t src_of(const char *text)
{
	addr_t a;
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &a.in.sin_addr), 1);
	return a;
}

typedef struct reply {
	uint8_t wire[8192];
	size_t len;
	ldns_pkt *pkt;
} reply_t;

static void ask_full(struct world *w, const char *qname, uint16_t qtype, bool do_bit,
                     uint16_t payload, dnsd_transport_t tr, const char *src, reply_t *r)
{
	uint8_t q[512];
	fx_q_t fq = {.name = qname,
	             .type = qtype,
	             .id = 7,
	             .edns = true,
	             .do_bit = do_bit,
	             .payload = payload};
	size_t qlen = fx_query(&fq, q, sizeof(q));
	assert_true(qlen > 0);
	addr_t a = src_of(src);
	r->len = dnsd_answer(w->ctx, w->snap, w->pol, q, qlen, r->wire, sizeof(r->wire), &a.sa, tr);
	assert_true(r->len > 0);
	r->pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&r->pkt, r->wire, r->len), LDNS_STATUS_OK);
}

static void ask(struct world *w, const char *qname, uint16_t qtype, bool do_bit, reply_t *r)
{
	ask_full(w, qname, qtype, do_bit, 4096, DNSD_UDP, "192.0.2.200", r);
}

static void done(reply_t *r)
{
	ldns_pkt_free(r->pkt);
	r->pkt = NULL;
}

/*
 * Every RRset of the section but those listed in `unsigned_types` has an
 * RRSIG by owner and type, and every RRSIG verifies against the DNSKEYs.
 * Returns the number of RRsets verified.
 */
static size_t verify_section(const struct world *w, ldns_rr_list *sec, ldns_rr_type unsigned_type)
{
	size_t verified = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG || t == unsigned_type) {
			continue;
		}
		/* Once per RRset: skip when an earlier record has the same owner and type. */
		bool first = true;
		for (size_t j = 0; j < i && first; j++) {
			ldns_rr *o = ldns_rr_list_rr(sec, j);
			first = !(ldns_rr_get_type(o) == t &&
			          ldns_dname_compare(ldns_rr_owner(o), ldns_rr_owner(rr)) == 0);
		}
		if (!first) {
			continue;
		}
		ldns_rr_list *set = ldns_rr_list_new();
		ldns_rr_list *sigs = ldns_rr_list_new();
		for (size_t j = 0; j < ldns_rr_list_rr_count(sec); j++) {
			ldns_rr *o = ldns_rr_list_rr(sec, j);
			if (ldns_dname_compare(ldns_rr_owner(o), ldns_rr_owner(rr)) != 0) {
				continue;
			}
			if (ldns_rr_get_type(o) == t) {
				ldns_rr_list_push_rr(set, ldns_rr_clone(o));
			} else if (ldns_rr_get_type(o) == LDNS_RR_TYPE_RRSIG &&
			           ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(o)) == t) {
				ldns_rr_list_push_rr(sigs, ldns_rr_clone(o));
			}
		}
		assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
		ldns_rr_list *good = ldns_rr_list_new();
		ldns_status st =
		        ldns_verify_rrsig_keylist(set, ldns_rr_list_rr(sigs, 0), w->dnskeys, good);
		if (st != LDNS_STATUS_OK) {
			char *s = ldns_rr_list2str(set);
			fprintf(stderr, "verify failed (%s) for:\n%s", ldns_get_errorstr_by_id(st),
			        s);
			free(s);
			s = ldns_rr2str(ldns_rr_list_rr(sigs, 0));
			fprintf(stderr, "%s", s);
			free(s);
			s = ldns_rr_list2str(w->dnskeys);
			fprintf(stderr, "%s", s);
			free(s);
		}
		assert_int_equal(st, LDNS_STATUS_OK);
		ldns_rr_list_free(good); /* it holds the keys themselves */
		ldns_rr_list_deep_free(set);
		ldns_rr_list_deep_free(sigs);
		verified++;
	}
	return verified;
}

static size_t count_type(ldns_rr_list *sec, ldns_rr_type t)
{
	size_t n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		n += ldns_rr_get_type(ldns_rr_list_rr(sec, i)) == t;
	}
	return n;
}

static ldns_rr *first_of(ldns_rr_list *sec, ldns_rr_type t)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(sec, i)) == t) {
			return ldns_rr_list_rr(sec, i);
		}
	}
	return NULL;
}

static int world_up(void **state, uint8_t alg)
{
	struct world *w = calloc(1, sizeof(*w));
	char err[256];
	if (w == NULL || fx_make(w->dir, sizeof(w->dir), w->path, sizeof(w->path)) != 0 ||
	    fx_init(&w->fx) != 0 ||
	    fx_add_zone(&w->fx, "svc.example.", zone, AYA_ARRAY_LEN(zone))) {
		return -1;
	}
	fill_addrs(eu_eps, AYA_ARRAY_LEN(eu_eps));
	fill_addrs(us_eps, AYA_ARRAY_LEN(us_eps));
	fill_addrs(multi_eps, AYA_ARRAY_LEN(multi_eps));
	for (size_t i = 0; i < S_COUNT; i++) {
		char n[128];
		snprintf(n, sizeof(n), "%s.svc.example", services[i].name);
		if (aya_dname_from_str(n, services[i].owner) < 0) {
			return -1;
		}
	}
	w->fx.cfg.regions = fx_regions;
	w->fx.cfg.n_regions = R_COUNT;
	w->fx.zones[0].services = services;
	w->fx.zones[0].n_services = S_COUNT;
	w->fx.zones[0].dnssec = (cfg_dnssec_t){.enabled = true, .algorithm = alg};
	make_key(&w->key, alg);
	w->ks.keys = &w->key;
	w->ks.n = 1;
	w->ks.algorithm = alg;
	dnsd_keyset_t *keys[1] = {&w->ks};
	geo_build_opts_t o = {.database = w->path, .regions = fx_regions, .n_regions = R_COUNT};
	state_view_t *view = NULL;
	if (state_view_from(NULL, 0, drains, AYA_ARRAY_LEN(drains), &view) != 0) {
		return -1;
	}
	pol_inputs_t in = {.view = view, .now_ms = 0};
	if (geo_tree_build(&o, &w->geo, err, sizeof(err)) != 0 ||
	    pol_snap_build(&w->fx.cfg, w->geo, &in, &w->pol, err, sizeof(err)) != 0 ||
	    dnsd_snap_build_signed(&w->fx.cfg, NULL, keys, (uint64_t)time(NULL), &w->snap, err,
	                           sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		state_view_free(view);
		return -1;
	}
	state_view_free(view);
	w->ctx = dnsd_ctx_new();
	if (w->ctx == NULL) {
		return -1;
	}
	/* The DNSKEY RRset as served, the keys every other check verifies with. */
	reply_t r;
	ask(w, "svc.example", LDNS_RR_TYPE_DNSKEY, true, &r);
	w->dnskeys = ldns_rr_list_new();
	ldns_rr_list *an = ldns_pkt_answer(r.pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(an, i)) == LDNS_RR_TYPE_DNSKEY) {
			ldns_rr_list_push_rr(w->dnskeys, ldns_rr_clone(ldns_rr_list_rr(an, i)));
		}
	}
	done(&r);
	*state = w;
	return 0;
}

static int setup_ecdsa(void **state)
{
	return world_up(state, 13);
}

static int setup_ed25519(void **state)
{
	return world_up(state, 15);
}

static int teardown(void **state)
{
	struct world *w = *state;
	ldns_rr_list_deep_free(w->dnskeys);
	dnsd_ctx_free(w->ctx);
	dnsd_snap_free(w->snap);
	EVP_PKEY_free(w->key.pkey);
	pol_snap_free(w->pol);
	geo_tree_unref(w->geo);
	fx_fini(&w->fx);
	fx_remove(w->dir, w->path);
	free(w);
	return 0;
}

static uint64_t counter(const struct world *w, size_t off)
{
	return atomic_load((const _Atomic uint64_t *)((const char *)&w->ctx->counters + off));
}
#define COUNT(w, f) counter(w, offsetof(dnsd_counters_t, f))

/* ---------------------------------------------------------------- tests */

static void test_dnskey(void **state)
{
	struct world *w = *state;
	assert_int_equal(ldns_rr_list_rr_count(w->dnskeys), 1);
	assert_int_equal(ldns_calc_keytag(ldns_rr_list_rr(w->dnskeys, 0)), w->key.info.tag);
	reply_t r;
	ask(w, "svc.example", LDNS_RR_TYPE_DNSKEY, true, &r);
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(r.pkt));
	assert_false(ldns_pkt_ad(r.pkt)); /* an authoritative server does not claim AD */
	assert_true(ldns_pkt_edns_do(r.pkt));
	done(&r);
}

static void test_static(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *name;
		uint16_t type;
		size_t sets;
	} cases[] = {
	        {"static.svc.example", LDNS_RR_TYPE_A, 1},
	        {"STATIC.svc.example", LDNS_RR_TYPE_TXT, 1},
	        {"svc.example", LDNS_RR_TYPE_MX, 1},
	        {"svc.example", LDNS_RR_TYPE_SOA, 1},
	        {"svc.example", LDNS_RR_TYPE_NS, 1},
	        {"a.b.c.svc.example", LDNS_RR_TYPE_A, 1},
	        {"big.svc.example", LDNS_RR_TYPE_TXT, 1},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		reply_t r;
		ask(w, cases[i].name, cases[i].type, true, &r);
		assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
		assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), cases[i].sets);
		done(&r);
		/* Without DO: the same answer, no RRSIG. */
		ask(w, cases[i].name, cases[i].type, false, &r);
		assert_int_equal(count_type(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_RRSIG), 0);
		assert_true(ldns_pkt_ancount(r.pkt) > 0);
		done(&r);
	}
}

static void test_service_presigned(void **state)
{
	struct world *w = *state;
	uint64_t signs = COUNT(w, dnssec_signs), hits = COUNT(w, dnssec_cache_hits);
	static const char *const names[] = {"www.svc.example", "alias.svc.example"};
	for (size_t i = 0; i < AYA_ARRAY_LEN(names); i++) {
		for (int t = 0; t < 2; t++) {
			reply_t r;
			ask(w, names[i], t ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, true, &r);
			assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
			/* alias: the CNAME and the service's address, each signed */
			assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), i + 1);
			assert_int_equal(count_type(ldns_pkt_answer(r.pkt),
			                            t ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A),
			                 1);
			done(&r);
		}
	}
	assert_int_equal(COUNT(w, dnssec_signs), signs); /* every one was presigned */
	assert_int_equal(COUNT(w, dnssec_cache_hits), hits + 4);
	/* www from another region: another address, also presigned and valid. */
	reply_t r;
	ask_full(w, "www.svc.example", LDNS_RR_TYPE_A, true, 4096, DNSD_UDP, "10.0.0.1", &r);
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	done(&r);
	assert_int_equal(COUNT(w, dnssec_signs), signs);
}

static void test_service_combination(void **state)
{
	struct world *w = *state;
	/* first_n 2 of 3: every pair was signed at build, none on the query path. */
	uint64_t signs = COUNT(w, dnssec_signs);
	reply_t r;
	for (int i = 0; i < 30; i++) {
		ask(w, "multi.svc.example", LDNS_RR_TYPE_A, true, &r);
		assert_int_equal(count_type(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_A), 2);
		assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
		done(&r);
	}
	assert_int_equal(COUNT(w, dnssec_signs), signs);
	/* Static signatures, DNSKEY, NSECs and the address sets: what the build signed. */
	dnsd_zone_info_t info;
	dnsd_snap_zone_info(w->snap, 0, &info);
	assert_true(info.is_signed);
	assert_true(info.sig_expiry > (uint64_t)time(NULL) + 13 * 86400);
	assert_true(info.signatures > 20);
}

static void test_nxdomain(void **state)
{
	struct world *w = *state;
	reply_t r;
	ask(w, "nope.svc.example", LDNS_RR_TYPE_A, true, &r);
	/* Compact denial: NOERROR, the SOA and an NSEC at the name, both signed. */
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
	ldns_rr_list *ns = ldns_pkt_authority(r.pkt);
	assert_int_equal(verify_section(w, ns, 0), 2);
	ldns_rr *nsec = first_of(ns, LDNS_RR_TYPE_NSEC);
	assert_non_null(nsec);
	char *owner = ldns_rdf2str(ldns_rr_owner(nsec));
	char *next = ldns_rdf2str(ldns_rr_rdf(nsec, 0));
	assert_string_equal(owner, "nope.svc.example.");
	assert_string_equal(next, "\\000.nope.svc.example.");
	free(owner);
	free(next);
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_RRSIG));
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_NSEC));
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), 128));
	assert_false(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_A));
	done(&r);
	/* Without DO: a plain NXDOMAIN. */
	ask(w, "nope.svc.example", LDNS_RR_TYPE_A, false, &r);
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(count_type(ldns_pkt_authority(r.pkt), LDNS_RR_TYPE_NSEC), 0);
	done(&r);
	/* The same name again: its NSEC's signature comes from the cache. */
	uint64_t signs = COUNT(w, dnssec_signs);
	ask(w, "NOPE.svc.example", LDNS_RR_TYPE_AAAA, true, &r);
	assert_int_equal(verify_section(w, ldns_pkt_authority(r.pkt), 0), 2);
	done(&r);
	assert_int_equal(COUNT(w, dnssec_signs), signs);
}

static void test_nodata(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *name;
		uint16_t qtype;
		uint16_t present; /* a type the NSEC must list; 0: none but RRSIG/NSEC */
	} cases[] = {
	        {"static.svc.example", LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A},
	        {"b.c.svc.example", LDNS_RR_TYPE_A, 0},                    /* empty non-terminal */
	        {"www.svc.example", LDNS_RR_TYPE_MX, LDNS_RR_TYPE_A},      /* a service */
	        {"x.wild.svc.example", LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT}, /* a wildcard */
	        {"svc.example", LDNS_RR_TYPE_DS, LDNS_RR_TYPE_DNSKEY},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		reply_t r;
		ask(w, cases[i].name, cases[i].qtype, true, &r);
		assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
		assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
		ldns_rr_list *ns = ldns_pkt_authority(r.pkt);
		assert_int_equal(verify_section(w, ns, 0), 2);
		ldns_rr *nsec = first_of(ns, LDNS_RR_TYPE_NSEC);
		assert_non_null(nsec);
		ldns_rdf *bm = ldns_nsec_get_bitmap(nsec);
		assert_false(ldns_nsec_bitmap_covers_type(bm, cases[i].qtype));
		assert_false(ldns_nsec_bitmap_covers_type(bm, 128));
		if (cases[i].present != 0) {
			assert_true(ldns_nsec_bitmap_covers_type(bm, cases[i].present));
		}
		ldns_rdf *want = ldns_dname_new_frm_str(cases[i].name);
		assert_int_equal(ldns_dname_compare(ldns_rr_owner(nsec), want), 0);
		ldns_rdf_deep_free(want);
		done(&r);
	}
}

static void test_wildcard(void **state)
{
	struct world *w = *state;
	reply_t r;
	ask(w, "Some.Name.wild.svc.example", LDNS_RR_TYPE_A, true, &r);
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	ldns_rr *sig = first_of(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_RRSIG);
	/* Signed at the name asked for: Labels counts all of its labels. */
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)), 5);
	done(&r);
}

static void test_referral(void **state)
{
	struct world *w = *state;
	reply_t r;
	/* With a DS at the cut: NS (the child's, unsigned), DS and its RRSIG. */
	ask(w, "www.secure.svc.example", LDNS_RR_TYPE_A, true, &r);
	ldns_rr_list *ns = ldns_pkt_authority(r.pkt);
	assert_false(ldns_pkt_aa(r.pkt));
	assert_int_equal(count_type(ns, LDNS_RR_TYPE_NS), 1);
	assert_int_equal(count_type(ns, LDNS_RR_TYPE_DS), 1);
	assert_int_equal(verify_section(w, ns, LDNS_RR_TYPE_NS), 1);
	/* The glue is not signed. */
	assert_int_equal(count_type(ldns_pkt_additional(r.pkt), LDNS_RR_TYPE_RRSIG), 0);
	done(&r);
	/* Without: the NSEC of the cut, listing NS and not DS. */
	ask(w, "www.insecure.svc.example", LDNS_RR_TYPE_A, true, &r);
	ns = ldns_pkt_authority(r.pkt);
	assert_int_equal(verify_section(w, ns, LDNS_RR_TYPE_NS), 1);
	ldns_rr *nsec = first_of(ns, LDNS_RR_TYPE_NSEC);
	assert_non_null(nsec);
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_NS));
	assert_false(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_DS));
	done(&r);
	/* DS asked at the cut: answered by the parent, signed. */
	ask(w, "secure.svc.example", LDNS_RR_TYPE_DS, true, &r);
	assert_true(ldns_pkt_aa(r.pkt));
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	done(&r);
}

static void test_all_down(void **state)
{
	struct world *w = *state;
	reply_t r;
	ask(w, "down.svc.example", LDNS_RR_TYPE_A, true, &r);
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
	ldns_rr_list *ns = ldns_pkt_authority(r.pkt);
	assert_int_equal(verify_section(w, ns, 0), 2);
	ldns_rr *nsec = first_of(ns, LDNS_RR_TYPE_NSEC);
	assert_non_null(nsec);
	assert_false(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_A));
	/* The SOA's TTL is capped at the service's; its RRSIG still verifies (above). */
	assert_true(ldns_rr_ttl(first_of(ns, LDNS_RR_TYPE_SOA)) <= 45);
	done(&r);
}

static void test_truncation(void **state)
{
	struct world *w = *state;
	reply_t r;
	ask_full(w, "big.svc.example", LDNS_RR_TYPE_TXT, true, 512, DNSD_UDP, "192.0.2.200", &r);
	assert_true(ldns_pkt_tc(r.pkt));
	assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
	done(&r);
	ask_full(w, "big.svc.example", LDNS_RR_TYPE_TXT, true, 512, DNSD_TCP, "192.0.2.200", &r);
	assert_false(ldns_pkt_tc(r.pkt));
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	done(&r);
}

/* ---------------------------------------------------------------- pre-signed zones */

static const char *const plain[] = {
        "pre.example. 3600 IN SOA ns1.pre.example. h.pre.example. 1 7200 3600 1209600 300",
        "pre.example. 3600 IN NS ns1.pre.example.",
        "ns1.pre.example. 3600 IN A 192.0.2.1",
        "www.pre.example. 300 IN A 192.0.2.10",
        "alias.pre.example. 300 IN CNAME www.pre.example.",
        "a.b.c.pre.example. 300 IN A 192.0.2.7",
        "*.wild.pre.example. 300 IN TXT \"w\"",
        "*.cw.pre.example. 300 IN CNAME www.pre.example.",
        "sub.pre.example. 3600 IN NS ns.sub.pre.example.",
        "ns.sub.pre.example. 3600 IN A 192.0.2.53",
};

/* The zone signed by ldns (another signer), loaded as zone file records, no keys given. */
static int setup_presigned(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	if (w == NULL || fx_init(&w->fx) != 0) {
		return -1;
	}
	ldns_zone *z = ldns_zone_new();
	for (size_t i = 0; i < AYA_ARRAY_LEN(plain); i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, plain[i], 0, NULL, NULL) != LDNS_STATUS_OK) {
			return -1;
		}
		if (i == 0) {
			ldns_zone_set_soa(z, rr);
		} else {
			ldns_zone_push_rr(z, rr);
		}
	}
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str("pre.example."));
	ldns_key_set_flags(k, 257);
	ldns_key_set_inception(k, (uint32_t)time(NULL) - 3600);
	ldns_key_set_expiration(k, (uint32_t)time(NULL) + 86400);
	ldns_rr *dnskey = ldns_key2rr(k);
	ldns_key_set_keytag(k, ldns_calc_keytag(dnskey));
	ldns_zone_push_rr(z, ldns_rr_clone(dnskey));
	w->dnskeys = ldns_rr_list_new();
	ldns_rr_list_push_rr(w->dnskeys, dnskey);
	ldns_key_list *kl = ldns_key_list_new();
	ldns_key_list_push_key(kl, k);
	ldns_zone *signed_zone = ldns_zone_sign(z, kl);
	if (signed_zone == NULL) {
		return -1;
	}
	size_t n = ldns_rr_list_rr_count(ldns_zone_rrs(signed_zone));
	char **text = calloc(n + 1, sizeof(*text));
	text[0] = ldns_rr2str(ldns_zone_soa(signed_zone));
	for (size_t i = 0; i < n; i++) {
		text[i + 1] = ldns_rr2str(ldns_rr_list_rr(ldns_zone_rrs(signed_zone), i));
		text[i + 1][strcspn(text[i + 1], "\n")] = '\0';
	}
	text[0][strcspn(text[0], "\n")] = '\0';
	int rc = fx_add_zone(&w->fx, "pre.example.", (const char *const *)text, n + 1);
	for (size_t i = 0; i <= n; i++) {
		free(text[i]);
	}
	free(text);
	ldns_zone_deep_free(signed_zone);
	ldns_zone_deep_free(z);
	ldns_key_list_free(kl);
	/* the list owned the key */
	char err[256];
	if (rc != 0 || dnsd_snap_build(&w->fx.cfg, NULL, &w->snap, err, sizeof(err)) != 0 ||
	    (w->ctx = dnsd_ctx_new()) == NULL) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = w;
	return 0;
}

static int teardown_presigned(void **state)
{
	struct world *w = *state;
	ldns_rr_list_deep_free(w->dnskeys);
	dnsd_ctx_free(w->ctx);
	dnsd_snap_free(w->snap);
	fx_fini(&w->fx);
	free(w);
	return 0;
}

/* The denial of the question checked by ldns (RFC 4035 5.4) with the NSECs of the authority. */
static void verify_denial(reply_t *r, const char *qname, ldns_rr_type qtype)
{
	ldns_rr_list *ns = ldns_pkt_authority(r->pkt);
	ldns_rr_list *nsecs = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ns, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC) {
			ldns_rr_list_push_rr(nsecs, rr);
		} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) {
			ldns_rr_list_push_rr(sigs, rr);
		}
	}
	ldns_rr *q = ldns_rr_new();
	ldns_rr_set_owner(q, ldns_dname_new_frm_str(qname));
	ldns_rr_set_type(q, qtype);
	assert_true(ldns_rr_list_rr_count(nsecs) > 0);
	ldns_status st = ldns_dnssec_verify_denial(q, nsecs, sigs);
	if (st != LDNS_STATUS_OK) {
		char *t = ldns_rr_list2str(ns);
		fprintf(stderr, "%s %s:\n%s", qname, ldns_get_errorstr_by_id(st), t);
		free(t);
	}
	assert_int_equal(st, LDNS_STATUS_OK);
	ldns_rr_free(q);
	ldns_rr_list_free(nsecs);
	ldns_rr_list_free(sigs);
}

static void test_presigned(void **state)
{
	struct world *w = *state;
	dnsd_zone_info_t info;
	dnsd_snap_zone_info(w->snap, 0, &info);
	assert_true(info.is_signed);
	reply_t r;
	static const char *const names[] = {"www.pre.example", "alias.pre.example",
	                                    "a.b.c.pre.example"};
	for (size_t i = 0; i < AYA_ARRAY_LEN(names); i++) {
		ask(w, names[i], LDNS_RR_TYPE_A, true, &r);
		assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
		assert_true(verify_section(w, ldns_pkt_answer(r.pkt), 0) >= 1);
		done(&r);
	}
	ask(w, "pre.example", LDNS_RR_TYPE_DNSKEY, true, &r);
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	done(&r);
	ask(w, "www.pre.example", LDNS_RR_TYPE_A, false, &r);
	assert_int_equal(count_type(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_RRSIG), 0);
	done(&r);
	/* NXDOMAIN: the NSEC covering the name and the one denying the wildcard. */
	static const char *const nx[] = {"nope.pre.example", "zzz.pre.example", "x.b.c.pre.example",
	                                 "aaa.pre.example"};
	for (size_t i = 0; i < AYA_ARRAY_LEN(nx); i++) {
		ask(w, nx[i], LDNS_RR_TYPE_A, true, &r);
		assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
		verify_section(w, ldns_pkt_authority(r.pkt), 0);
		verify_denial(&r, nx[i], LDNS_RR_TYPE_A);
		done(&r);
	}
	/* NODATA at a name. */
	ask(w, "www.pre.example", LDNS_RR_TYPE_MX, true, &r);
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
	verify_section(w, ldns_pkt_authority(r.pkt), 0);
	verify_denial(&r, "www.pre.example", LDNS_RR_TYPE_MX);
	done(&r);
	/*
	 * NODATA at empty non-terminals: the NSEC covering the name, whose next name is below
	 * it (RFC 4035 3.1.3.1 as validators read it; ldns_dnssec_verify_denial also wants a
	 * wildcard proof here, so it is not used).
	 */
	static const char *const ent[] = {"b.c.pre.example", "c.pre.example"};
	for (size_t i = 0; i < AYA_ARRAY_LEN(ent); i++) {
		ask(w, ent[i], LDNS_RR_TYPE_MX, true, &r);
		assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
		assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
		verify_section(w, ldns_pkt_authority(r.pkt), 0);
		ldns_rr *cover = first_of(ldns_pkt_authority(r.pkt), LDNS_RR_TYPE_NSEC);
		assert_non_null(cover);
		ldns_rdf *q = ldns_dname_new_frm_str(ent[i]);
		assert_true(ldns_dname_compare(ldns_rr_owner(cover), q) < 0);
		assert_true(ldns_dname_is_subdomain(ldns_rr_rdf(cover, 0), q));
		ldns_rdf_deep_free(q);
		done(&r);
	}
	/* A wildcard answer: the wildcard's RRSIG (Labels 3) and the NSEC covering the name. */
	ask(w, "x.wild.pre.example", LDNS_RR_TYPE_TXT, true, &r);
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 1);
	ldns_rr *sig = first_of(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_RRSIG);
	assert_int_equal(ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)), 3);
	assert_int_equal(count_type(ldns_pkt_authority(r.pkt), LDNS_RR_TYPE_NSEC), 1);
	verify_section(w, ldns_pkt_authority(r.pkt), 0);
	done(&r);
	/* A wildcard CNAME, then its target: both signed, the covering NSEC in authority only. */
	ask(w, "q.cw.pre.example", LDNS_RR_TYPE_A, true, &r);
	assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	assert_int_equal(count_type(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_NSEC), 0);
	assert_int_equal(count_type(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_CNAME), 1);
	assert_int_equal(count_type(ldns_pkt_answer(r.pkt), LDNS_RR_TYPE_A), 1);
	assert_int_equal(verify_section(w, ldns_pkt_answer(r.pkt), 0), 2);
	assert_int_equal(count_type(ldns_pkt_authority(r.pkt), LDNS_RR_TYPE_NSEC), 1);
	verify_section(w, ldns_pkt_authority(r.pkt), 0);
	done(&r);
	/* A referral without DS: the NSEC of the cut. */
	ask(w, "www.sub.pre.example", LDNS_RR_TYPE_A, true, &r);
	ldns_rr *nsec = first_of(ldns_pkt_authority(r.pkt), LDNS_RR_TYPE_NSEC);
	assert_non_null(nsec);
	assert_true(ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(nsec), LDNS_RR_TYPE_NS));
	assert_int_equal(verify_section(w, ldns_pkt_authority(r.pkt), LDNS_RR_TYPE_NS), 1);
	done(&r);
}

static void test_nsec_rdata(void **state)
{
	(void)state;
	uint8_t owner[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("a.example", owner) > 0);
	uint16_t types[] = {DNSD_T_NXNAME, 1, 15, 1, 1234};
	uint8_t out[512];
	size_t len = dnsd_nsec_rdata(owner, types, AYA_ARRAY_LEN(types), out, sizeof(out));
	/* \000.a.example. then window 0: A(1) MX(15) RRSIG(46) NSEC(47) NXNAME(128), window 4: 1234
	 */
	static const uint8_t want[] = {
	        1, 0,    1, 'a', 7, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0,   0, 0x11, 0x40,
	        1, 0,    0, 0,   3, 0,    0,    0,    0,    0,    0,    0,    0,   0, 0,    0x80,
	        4, 0x1b, 0, 0,   0, 0,    0,    0,    0,    0,    0,    0,    0,   0, 0,    0,
	        0, 0,    0, 0,   0, 0,    0,    0,    0,    0,    0,    0,    0x20};
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* A name with no room for \000 before it: no NSEC. */
	uint8_t longname[AYA_DNAME_MAX] = {0};
	size_t off = 0;
	while (off + 64 < 254) {
		longname[off] = 63;
		memset(longname + off + 1, 'x', 63);
		off += 64;
	}
	longname[off] = (uint8_t)(253 - off - 1);
	memset(longname + off + 1, 'y', longname[off]);
	assert_int_equal(aya_dname_len(longname), 254);
	assert_int_equal(dnsd_nsec_rdata(longname, types, 1, out, sizeof(out)), 0);
	uint8_t wild[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("*.w.example", wild) > 0);
	assert_int_equal(dnsd_sig_labels(wild), 2);
	assert_int_equal(dnsd_sig_labels(owner), 2);
}

static void test_sigcache(void **state)
{
	(void)state;
	dnsd_sigcache_t c;
	assert_int_equal(dnsd_sigcache_init(&c, 16), 0);
	const uint8_t a1[4] = {10, 0, 0, 1}, a2[4] = {10, 0, 0, 2};
	const uint8_t *rd[2] = {a1, a2}, *rd_rev[2] = {a2, a1};
	uint16_t rdlen[2] = {4, 4};
	uint8_t owner[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("www.example", owner) > 0);
	dnsd_sigreq_t rq = {.owner = owner,
	                    .owner_len = 13,
	                    .labels = 2,
	                    .type = 1,
	                    .ttl = 30,
	                    .rdata = rd,
	                    .rdlen = rdlen,
	                    .n = 2};
	uint8_t k1[DNSD_SIGKEY_MAX], k2[DNSD_SIGKEY_MAX];
	uint64_t h1, h2;
	size_t l1 = dnsd_sig_key(&rq, k1, sizeof(k1), &h1);
	rq.rdata = rd_rev; /* another order, the same RRset */
	size_t l2 = dnsd_sig_key(&rq, k2, sizeof(k2), &h2);
	assert_true(l1 > 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(k1, k2, l1);
	assert_true(h1 == h2);
	assert_null(dnsd_sigcache_find(&c, h1, k1, l1));
	const uint8_t sig[12] = {0, 46, 0, 1};
	const dnsd_sigent_t *e = dnsd_sigcache_put(&c, h1, k1, l1, sig, sizeof(sig), 1);
	assert_non_null(e);
	assert_ptr_equal(dnsd_sigcache_find(&c, h1, k1, l1), e);
	assert_ptr_equal(dnsd_sigcache_put(&c, h1, k1, l1, sig, sizeof(sig), 1), e);
	/* A full probe window refuses new entries; nothing is evicted. */
	size_t put = 1;
	for (uint64_t h = 100; h < 100 + 64; h++) {
		uint8_t k[4] = {(uint8_t)h};
		put += dnsd_sigcache_put(&c, h * 16, k, sizeof(k), sig, sizeof(sig), 1) != NULL;
	}
	assert_true(put <= 16);
	assert_ptr_equal(dnsd_sigcache_find(&c, h1, k1, l1), e);
	dnsd_sigcache_fini(&c);
}

int main(void)
{
	const struct CMUnitTest ecdsa[] = {
	        cmocka_unit_test(test_dnskey),
	        cmocka_unit_test(test_static),
	        cmocka_unit_test(test_service_presigned),
	        cmocka_unit_test(test_service_combination),
	        cmocka_unit_test(test_nxdomain),
	        cmocka_unit_test(test_nodata),
	        cmocka_unit_test(test_wildcard),
	        cmocka_unit_test(test_referral),
	        cmocka_unit_test(test_all_down),
	        cmocka_unit_test(test_truncation),
	};
	const struct CMUnitTest ed25519[] = {
	        cmocka_unit_test(test_dnskey),   cmocka_unit_test(test_static),
	        cmocka_unit_test(test_nxdomain), cmocka_unit_test(test_nodata),
	        cmocka_unit_test(test_wildcard),
	};
	const struct CMUnitTest presigned[] = {
	        cmocka_unit_test(test_presigned),
	};
	const struct CMUnitTest pure[] = {
	        cmocka_unit_test(test_nsec_rdata),
	        cmocka_unit_test(test_sigcache),
	};
	int rc = cmocka_run_group_tests_name("ecdsap256sha256", ecdsa, setup_ecdsa, teardown);
	rc += cmocka_run_group_tests_name("ed25519", ed25519, setup_ed25519, teardown);
	rc += cmocka_run_group_tests_name("presigned", presigned, setup_presigned,
	                                  teardown_presigned);
	rc += cmocka_run_group_tests_name("helpers", pure, NULL, NULL);
	return rc;
}
