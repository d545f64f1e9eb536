/*
 * Service answers of dnsd_answer(): a hand-built cfg_t with regions and a
 * zone with services, a geo tree over the fixture database of
 * tests/geo/mkfixture.pl, a policy snapshot and a dnsd snapshot, then
 * queries. Covers geo routing by ECS and by source address (IPv4, IPv6,
 * IPv4-mapped), ECS scope against geo_tree_lookup(), no ECS without ECS in
 * the query, AAAA, ANY, NODATA for other types, CNAME into a service,
 * wildcards, first_n, the weighted split, when_all_down empty, a missing
 * policy snapshot or service (SERVFAIL), qname case, and the counters.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <ldns/ldns.h>

#include "common/dname.h"
#include "dnsd/dnsd.h"
#include "dnsd/query_int.h"
#include "geo/geo.h"
#include "policy/policy.h"
#include "tests/dnsd/fixture.h"
#include "tests/geo/fixture.h"

#define EP(a, w)                                                                                   \
	{                                                                                          \
		.family = strchr(a, ':') ? AF_INET6 : AF_INET, .text = a, .weight = w              \
	}

static cfg_endpoint_t eu_eps[] = {EP("10.0.1.1", 1), EP("2001:db8:e::1", 1)};
static cfg_endpoint_t us_eps[] = {EP("10.0.2.1", 1), EP("2001:db8:a::1", 1)};
static cfg_endpoint_t ap_eps[] = {EP("10.0.3.1", 1), EP("2001:db8:f::1", 1)};
static cfg_endpoint_t wt_eps[] = {EP("10.0.9.1", 1), EP("10.0.9.2", 3)};
static cfg_endpoint_t multi_eps[] = {EP("10.0.8.1", 1), EP("10.0.8.2", 1), EP("10.0.8.3", 1)};
static cfg_endpoint_t v6_eps[] = {EP("2001:db8:6::1", 1)};
static cfg_endpoint_t star_eps[] = {EP("10.0.7.1", 1)};

static const cfg_pool_t geo_pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = eu_eps, .n_endpoints = 2},
        {.region = "us-east", .region_idx = R_US_EAST, .endpoints = us_eps, .n_endpoints = 2},
        {.region = "ap-south", .region_idx = R_AP_SOUTH, .endpoints = ap_eps, .n_endpoints = 2},
};
static const cfg_pool_t wt_pools[] = {
        {.region = "us-east", .region_idx = R_US_EAST, .endpoints = wt_eps, .n_endpoints = 2},
};
static const cfg_pool_t multi_pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = multi_eps, .n_endpoints = 3},
};
static const cfg_pool_t star_pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = star_eps, .n_endpoints = 1},
};
static const cfg_pool_t v6_pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = v6_eps, .n_endpoints = 1},
};

static const cfg_filter_t chain_weighted[] = {{.kind = CFG_FILTER_HEALTHY},
                                              {.kind = CFG_FILTER_WEIGHTED},
                                              {.kind = CFG_FILTER_FIRST_N, .n = 1}};
static const cfg_filter_t chain_first2[] = {{.kind = CFG_FILTER_HEALTHY},
                                            {.kind = CFG_FILTER_DRAIN},
                                            {.kind = CFG_FILTER_FIRST_N, .n = 2}};

/* The last one (S_GONE) is left out of the policy snapshot of "missing" tests. */
enum { S_WWW, S_APEX, S_WT, S_MULTI, S_DOWN, S_V6, S_STAR, S_GONE, S_COUNT };
static cfg_service_t services[S_COUNT] = {
        [S_WWW] = {.name = "www", .ttl_s = 30, .pools = geo_pools, .n_pools = 3},
        [S_APEX] = {.name = "@", .ttl_s = 20, .pools = geo_pools, .n_pools = 3},
        [S_WT] = {.name = "wt",
                  .ttl_s = 30,
                  .pools = wt_pools,
                  .n_pools = 1,
                  .policy = chain_weighted,
                  .n_policy = 3},
        [S_MULTI] = {.name = "multi",
                     .ttl_s = 30,
                     .pools = multi_pools,
                     .n_pools = 1,
                     .policy = chain_first2,
                     .n_policy = 3},
        [S_DOWN] = {.name = "down",
                    .ttl_s = 45,
                    .pools = geo_pools,
                    .n_pools = 3,
                    .all_down = CFG_ALL_DOWN_EMPTY},
        [S_V6] = {.name = "v6", .ttl_s = 30, .pools = v6_pools, .n_pools = 1},
        [S_STAR] = {.name = "*.star", .ttl_s = 30, .pools = star_pools, .n_pools = 1},
        [S_GONE] = {.name = "gone", .ttl_s = 30, .pools = geo_pools, .n_pools = 3},
};

static const char *const zone[] = {
        "svc.example. 3600 IN SOA ns1.svc.example. h.svc.example. 1 7200 3600 1209600 300",
        "svc.example. 3600 IN NS ns1.svc.example.",
        "ns1.svc.example. 3600 IN A 192.0.2.1",
        "alias.svc.example. 300 IN CNAME www.svc.example.",
        "alias2.svc.example. 300 IN CNAME alias.svc.example.",
        "galias.svc.example. 300 IN CNAME gone.svc.example.",
        "*.svc.example. 300 IN TXT \"wild\"",
        "static.svc.example. 300 IN A 192.0.2.99",
};

/* Every endpoint of "down" drained: when_all_down empty answers nothing. */
static const state_drain_t drains[] = {{.service = "down.svc.example", .target = NULL}};

struct world {
	char dir[64], path[128];
	fx_t fx;
	geo_tree_t *geo;
	pol_snap_t *pol;
	pol_snap_t *pol_partial; /* built without S_GONE */
	dnsd_snap_t *snap;
	dnsd_ctx_t *ctx;
};

static void fill_addrs(cfg_endpoint_t *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(inet_pton(e[i].family, e[i].text, e[i].addr), 1);
	}
}

static int setup(void **state)
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
	fill_addrs(ap_eps, AYA_ARRAY_LEN(ap_eps));
	fill_addrs(wt_eps, AYA_ARRAY_LEN(wt_eps));
	fill_addrs(multi_eps, AYA_ARRAY_LEN(multi_eps));
	fill_addrs(v6_eps, AYA_ARRAY_LEN(v6_eps));
	fill_addrs(star_eps, AYA_ARRAY_LEN(star_eps));
	for (size_t i = 0; i < S_COUNT; i++) {
		char n[128];
		if (strcmp(services[i].name, "@") == 0) {
			snprintf(n, sizeof(n), "svc.example");
		} else {
			snprintf(n, sizeof(n), "%s.svc.example", services[i].name);
		}
		if (aya_dname_from_str(n, services[i].owner) < 0) {
			return -1;
		}
	}
	w->fx.cfg.regions = fx_regions;
	w->fx.cfg.n_regions = R_COUNT;
	w->fx.zones[0].services = services;
	w->fx.zones[0].n_services = S_COUNT;
	geo_build_opts_t o = {.database = w->path, .regions = fx_regions, .n_regions = R_COUNT};
	state_view_t *view = NULL;
	if (state_view_from(NULL, 0, drains, AYA_ARRAY_LEN(drains), &view) != 0) {
		return -1;
	}
	pol_inputs_t in = {.view = view, .now_ms = 0};
	if (geo_tree_build(&o, &w->geo, err, sizeof(err)) != 0 ||
	    pol_snap_build(&w->fx.cfg, w->geo, &in, &w->pol, err, sizeof(err)) != 0 ||
	    dnsd_snap_build(&w->fx.cfg, NULL, &w->snap, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		state_view_free(view);
		return -1;
	}
	w->fx.zones[0].n_services = S_GONE;
	int rc = pol_snap_build(&w->fx.cfg, w->geo, &in, &w->pol_partial, err, sizeof(err));
	w->fx.zones[0].n_services = S_COUNT;
	state_view_free(view);
	w->ctx = dnsd_ctx_new();
	if (rc != 0 || w->ctx == NULL) {
		return -1;
	}
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	dnsd_ctx_free(w->ctx);
	dnsd_snap_free(w->snap);
	pol_snap_free(w->pol_partial);
	pol_snap_free(w->pol);
	geo_tree_unref(w->geo);
	fx_fini(&w->fx);
	fx_remove(w->dir, w->path);
	free(w);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

typedef union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} addr_t;

static addr_t sockaddr_of(const char *text)
{
	addr_t a;
	memset(&a, 0, sizeof(a));
	if (strchr(text, ':') != NULL) {
		a.in6.sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &a.in6.sin6_addr), 1);
	} else {
		a.in.sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &a.in.sin_addr), 1);
	}
	return a;
}

/* ECS option (RFC 7871 6) for addr/prefix; returns its length. */
static size_t ecs_opt(const char *addr, unsigned prefix, uint8_t *buf)
{
	uint8_t a[16] = {0};
	int v6 = strchr(addr, ':') != NULL;
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, addr, a), 1);
	size_t nbytes = (prefix + 7) / 8;
	if (prefix % 8 != 0) {
		a[nbytes - 1] &= (uint8_t)(0xff << (8 - prefix % 8));
	}
	buf[0] = 0;
	buf[1] = 8;
	buf[2] = 0;
	buf[3] = (uint8_t)(4 + nbytes);
	buf[4] = 0;
	buf[5] = v6 ? 2 : 1;
	buf[6] = (uint8_t)prefix;
	buf[7] = 0;
	memcpy(buf + 8, a, nbytes);
	return 8 + nbytes;
}

typedef struct reply {
	uint8_t wire[4096];
	size_t len;
	char answer[512];  /* "owner type rdata ttl" of every answer record, ';'-separated */
	char addrs[256];   /* the A/AAAA addresses only, space-separated */
	uint32_t addr_ttl; /* TTL of the A/AAAA records (all equal), 0 when none */
	uint32_t soa_ttl;  /* of the authority SOA, 0 when none */
	bool has_ecs;
	uint8_t ecs[20];
	size_t ecs_len;
} reply_t;

static void rdf_str(const ldns_rdf *rdf, char *buf, size_t len)
{
	char *s = ldns_rdf2str(rdf);
	snprintf(buf, len, "%s", s != NULL ? s : "?");
	LDNS_FREE(s);
}

/* Decode the sections we check with ldns (an independent parser). */
static void decode(reply_t *r)
{
	ldns_pkt *pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&pkt, r->wire, r->len), LDNS_STATUS_OK);
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t n = 0, m = 0;
	r->answer[0] = r->addrs[0] = '\0';
	r->addr_ttl = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char owner[256], rd[256];
		rdf_str(ldns_rr_owner(rr), owner, sizeof(owner));
		rdf_str(ldns_rr_rdf(rr, 0), rd, sizeof(rd));
		char *type = ldns_rr_type2str(ldns_rr_get_type(rr));
		n += (size_t)snprintf(r->answer + n, sizeof(r->answer) - n, "%s%s %s %s %u",
		                      i ? ";" : "", owner, type, rd, ldns_rr_ttl(rr));
		LDNS_FREE(type);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A ||
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA) {
			m += (size_t)snprintf(r->addrs + m, sizeof(r->addrs) - m, "%s%s",
			                      m ? " " : "", rd);
			assert_true(r->addr_ttl == 0 || r->addr_ttl == ldns_rr_ttl(rr));
			r->addr_ttl = ldns_rr_ttl(rr);
		}
	}
	ldns_rr_list *ns = ldns_pkt_authority(pkt);
	r->soa_ttl = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(ns, i)) == LDNS_RR_TYPE_SOA) {
			r->soa_ttl = ldns_rr_ttl(ldns_rr_list_rr(ns, i));
		}
	}
	ldns_pkt_free(pkt);
	bool has_opt;
	r->has_ecs = fx_opt(r->wire, r->len, 8, r->ecs, sizeof(r->ecs), &r->ecs_len, &has_opt);
}

/* One query: qname/qtype from `src`, with an ECS option when ecs != NULL. */
static void ask(struct world *w, const pol_snap_t *pol, const char *qname, uint16_t qtype,
                const char *src, const char *ecs, unsigned prefix, reply_t *r)
{
	uint8_t opts[32], q[512];
	fx_q_t fq = {.name = qname, .type = qtype, .id = 0x1234, .edns = true};
	if (ecs != NULL) {
		fq.opts = opts;
		fq.opts_len = ecs_opt(ecs, prefix, opts);
	}
	size_t qlen = fx_query(&fq, q, sizeof(q));
	assert_true(qlen > 0);
	addr_t a = sockaddr_of(src);
	r->len = dnsd_answer(w->ctx, w->snap, pol, q, qlen, r->wire, sizeof(r->wire), &a.sa,
	                     DNSD_UDP);
	assert_true(r->len >= 12);
	decode(r);
}

/* The scope geo itself gives for addr/prefix (the reference for ECS scopes). */
static unsigned geo_scope(const struct world *w, const char *addr, unsigned prefix)
{
	uint8_t a[16] = {0};
	int fam = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(fam, addr, a), 1);
	unsigned scope = 0;
	(void)geo_tree_lookup(w->geo, fam, a, prefix, &scope);
	return scope;
}

/* ---------------------------------------------------------------- routing */

#define GEO_SCOPE (-1) /* expect geo_tree_lookup's scope */
#define NO_ECS (-2)    /* expect no ECS option in the reply */

typedef struct route_case {
	const char *what;
	const char *qname;
	uint16_t qtype;
	const char *src;
	const char *ecs; /* NULL: no ECS option */
	unsigned prefix;
	const char *addrs; /* expected A/AAAA, space-separated */
	int scope;         /* expected ECS scope, GEO_SCOPE or NO_ECS */
	uint32_t ttl;
} route_case_t;

static const route_case_t routes[] = {
        {"ecs DE -> eu-west", "www.svc.example", 1, "127.0.0.1", "192.0.2.0", 24, "10.0.1.1",
         GEO_SCOPE, 30},
        {"ecs US -> us-east", "www.svc.example", 1, "127.0.0.1", "198.51.100.0", 24, "10.0.2.1",
         GEO_SCOPE, 30},
        {"ecs IN -> ap-south", "www.svc.example", 1, "127.0.0.1", "203.0.113.0", 24, "10.0.3.1",
         GEO_SCOPE, 30},
        {"ecs FR /28 scope 28", "www.svc.example", 1, "127.0.0.1", "100.64.0.0", 32, "10.0.1.1", 28,
         30},
        {"ecs US /28 scope 28", "www.svc.example", 1, "127.0.0.1", "100.64.0.16", 32, "10.0.2.1",
         28, 30},
        {"ecs scope capped by source", "www.svc.example", 1, "127.0.0.1", "100.64.0.0", 26,
         "10.0.1.1", 26, 30},
        {"ecs JP v6 -> ap-south", "www.svc.example", 1, "127.0.0.1", "2001:db8:2::", 48, "10.0.3.1",
         GEO_SCOPE, 30},
        {"ecs AAAA -> v6 endpoint", "www.svc.example", 28, "127.0.0.1", "198.51.100.0", 24,
         "2001:db8:a::1", GEO_SCOPE, 30},
        {"ecs source 0 uses transport", "www.svc.example", 1, "198.51.100.7", "0.0.0.0", 0,
         "10.0.2.1", 0, 30},
        {"source v4 US, no ecs", "www.svc.example", 1, "198.51.100.7", NULL, 0, "10.0.2.1", NO_ECS,
         30},
        {"source v4 DE, no ecs", "www.svc.example", 1, "192.0.2.77", NULL, 0, "10.0.1.1", NO_ECS,
         30},
        {"source v6 AU", "www.svc.example", 28, "2001:db8:1::5", NULL, 0, "2001:db8:f::1", NO_ECS,
         30},
        {"source v4-mapped IN", "www.svc.example", 1, "::ffff:203.0.113.9", NULL, 0, "10.0.3.1",
         NO_ECS, 30},
        {"unknown client: default order", "www.svc.example", 1, "8.8.8.8", NULL, 0, "10.0.1.1",
         NO_ECS, 30},
        {"apex service", "svc.example", 1, "198.51.100.7", NULL, 0, "10.0.2.1", NO_ECS, 20},
        {"ANY answers the A set", "www.svc.example", 255, "203.0.113.9", NULL, 0, "10.0.3.1",
         NO_ECS, 30},
        {"ANY v6-only answers AAAA", "v6.svc.example", 255, "203.0.113.9", NULL, 0, "2001:db8:6::1",
         NO_ECS, 30},
        {"CNAME followed into service", "alias.svc.example", 1, "127.0.0.1", "198.51.100.0", 24,
         "10.0.2.1", GEO_SCOPE, 30},
        {"CNAME chain into service", "alias2.svc.example", 28, "192.0.2.8", NULL, 0,
         "2001:db8:e::1", NO_ECS, 30},
        {"star service literal name", "*.star.svc.example", 1, "127.0.0.1", NULL, 0, "10.0.7.1",
         NO_ECS, 30},
};

static void test_routes(void **state)
{
	struct world *w = *state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(routes); i++) {
		const route_case_t *c = &routes[i];
		reply_t r;
		print_message("case: %s\n", c->what);
		ask(w, w->pol, c->qname, c->qtype, c->src, c->ecs, c->prefix, &r);
		assert_int_equal(FX_RCODE(r.wire), 0);
		assert_true(FX_AA(r.wire));
		assert_string_equal(r.addrs, c->addrs);
		/* Every address record carries the service TTL. */
		assert_int_equal(r.addr_ttl, c->ttl);
		if (c->scope == NO_ECS) {
			assert_false(r.has_ecs);
			continue;
		}
		assert_true(r.has_ecs);
		unsigned want = c->scope == GEO_SCOPE ? geo_scope(w, c->ecs, c->prefix)
		                                      : (unsigned)c->scope;
		/* Family, source prefix and address echoed as received. */
		uint8_t sent[32];
		size_t sl = ecs_opt(c->ecs, c->prefix, sent);
		assert_int_equal(r.ecs_len, sl - 4);
		assert_memory_equal(r.ecs, sent + 4, 3);
		assert_memory_equal(r.ecs + 4, sent + 8, sl - 8);
		assert_int_equal(r.ecs[3], want);
		assert_true(r.ecs[3] <= c->prefix);
	}
}

/* Scopes against the geo tree at a few prefixes, v4 and v6, and never above the source. */
static void test_scope_matches_geo(void **state)
{
	struct world *w = *state;
	static const struct {
		const char *addr;
		unsigned prefix;
	} cs[] = {{"192.0.2.0", 24},    {"198.51.100.128", 25}, {"203.0.113.128", 25},
	          {"100.64.0.16", 28},  {"172.16.0.0", 16},     {"172.17.0.0", 20},
	          {"2001:db8:1::", 48}, {"2001:db8::", 32},     {"2001:db8:1::", 56},
	          {"100.64.0.0", 24}};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cs); i++) {
		reply_t r;
		print_message("case: %s/%u\n", cs[i].addr, cs[i].prefix);
		ask(w, w->pol, "www.svc.example", 1, "127.0.0.1", cs[i].addr, cs[i].prefix, &r);
		assert_true(r.has_ecs);
		print_message("scope %u\n", r.ecs[3]);
		assert_int_equal(r.ecs[3], geo_scope(w, cs[i].addr, cs[i].prefix));
		assert_true(r.ecs[3] > 0); /* three pools: the answer depends on the client */
		assert_true(r.ecs[3] <= cs[i].prefix);
	}
}

/* ---------------------------------------------------------------- negative and errors */

typedef struct neg_case {
	const char *what;
	const char *qname;
	uint16_t qtype;
	bool with_ecs;
	unsigned rcode;
	bool aa;
	const char *answer; /* expected answer section ("" = none) */
	uint32_t soa_ttl;   /* expected authority SOA TTL, 0 = no SOA */
} neg_case_t;

static const neg_case_t negs[] = {
        {"MX at service: NODATA", "www.svc.example", 15, true, 0, true, "", 300},
        {"TXT at service: NODATA", "www.svc.example", 16, false, 0, true, "", 300},
        {"AAAA at v4-only service: NODATA", "multi.svc.example", 28, true, 0, true, "", 300},
        {"all down, empty: SOA TTL capped", "down.svc.example", 1, true, 0, true, "", 45},
        {"all down, empty: AAAA too", "down.svc.example", 28, false, 0, true, "", 45},
        {"apex service SOA is static", "svc.example", 6, true, 0, true,
         "svc.example. SOA ns1.svc.example. 3600", 0},
        {"below a service: NXDOMAIN, not the wildcard", "x.www.svc.example", 1, true, 3, true, "",
         300},
        {"star service does not synthesize", "x.star.svc.example", 1, false, 3, true, "", 300},
        {"wildcard still answers other names", "nope.svc.example", 16, true, 0, true,
         "nope.svc.example. TXT \"wild\" 300", 0},
        {"static A beside services", "static.svc.example", 1, true, 0, true,
         "static.svc.example. A 192.0.2.99 300", 0},
        {"service missing from pol: SERVFAIL", "gone.svc.example", 1, true, 2, false, "", 0},
        {"CNAME to missing service: SERVFAIL", "galias.svc.example", 1, false, 2, false, "", 0},
};

static void test_negative(void **state)
{
	struct world *w = *state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(negs); i++) {
		const neg_case_t *c = &negs[i];
		reply_t r;
		print_message("case: %s\n", c->what);
		/* The partial policy snapshot lacks "gone", as after a mismatched publish. */
		ask(w, w->pol_partial, c->qname, c->qtype, "198.51.100.7",
		    c->with_ecs ? "198.51.100.0" : NULL, 24, &r);
		assert_int_equal(FX_RCODE(r.wire), c->rcode);
		assert_int_equal(FX_AA(r.wire), c->aa);
		assert_string_equal(r.answer, c->answer);
		assert_int_equal(r.soa_ttl, c->soa_ttl);
		if (c->with_ecs) {
			assert_true(r.has_ecs);
			assert_int_equal(r.ecs[3], 0); /* scope 0: nothing location-dependent */
		} else {
			assert_false(r.has_ecs);
		}
	}
}

static void test_pol_null_servfail(void **state)
{
	struct world *w = *state;
	dnsd_stats_t before = {0}, after = {0};
	dnsd_counters_add(&before, dnsd_ctx_counters(w->ctx));
	reply_t r;
	ask(w, NULL, "www.svc.example", 1, "198.51.100.7", "198.51.100.0", 24, &r);
	assert_int_equal(FX_RCODE(r.wire), 2);
	assert_int_equal(FX_AN(r.wire), 0);
	assert_int_equal(FX_NS(r.wire), 0);
	assert_true(r.has_ecs);
	assert_int_equal(r.ecs[3], 0);
	/* Static names still answer without a policy snapshot. */
	ask(w, NULL, "static.svc.example", 1, "198.51.100.7", NULL, 0, &r);
	assert_int_equal(FX_RCODE(r.wire), 0);
	assert_string_equal(r.addrs, "192.0.2.99");
	dnsd_counters_add(&after, dnsd_ctx_counters(w->ctx));
	assert_int_equal(after.servfail - before.servfail, 1);
	assert_int_equal(after.services - before.services, 0);
	assert_int_equal(after.ecs - before.ecs, 1);
}

/* ---------------------------------------------------------------- multi-value, weights */

static void test_case_and_first_n(void **state)
{
	struct world *w = *state;
	reply_t r;
	ask(w, w->pol, "WwW.SvC.eXample", 1, "198.51.100.7", NULL, 0, &r);
	assert_string_equal(r.answer, "WwW.SvC.eXample. A 10.0.2.1 30");
	/* Through a CNAME the target keeps the case written in the zone. */
	ask(w, w->pol, "ALIAS.svc.example", 1, "198.51.100.7", NULL, 0, &r);
	assert_string_equal(r.answer, "ALIAS.svc.example. CNAME www.svc.example. 300;"
	                              "www.svc.example. A 10.0.2.1 30");
	/* first_n 2 of three equal endpoints, in config order (no ordering filter). */
	ask(w, w->pol, "Multi.svc.example", 1, "192.0.2.1", NULL, 0, &r);
	assert_int_equal(FX_AN(r.wire), 2);
	assert_string_equal(r.answer,
	                    "Multi.svc.example. A 10.0.8.1 30;Multi.svc.example. A 10.0.8.2 30");
}

static void test_weighted_split(void **state)
{
	struct world *w = *state;
	enum { N = 10000 };
	unsigned n1 = 0, n2 = 0;
	dnsd_ctx_seed(w->ctx, 42);
	dnsd_stats_t before = {0}, after = {0};
	dnsd_counters_add(&before, dnsd_ctx_counters(w->ctx));
	for (unsigned i = 0; i < N; i++) {
		reply_t r;
		ask(w, w->pol, "wt.svc.example", 1, "198.51.100.7", "198.51.100.0", 24, &r);
		n1 += strcmp(r.addrs, "10.0.9.1") == 0;
		n2 += strcmp(r.addrs, "10.0.9.2") == 0;
		/* One pool, no geo: the answer does not depend on the client. */
		assert_int_equal(r.ecs[3], 0);
	}
	dnsd_counters_add(&after, dnsd_ctx_counters(w->ctx));
	assert_int_equal(n1 + n2, N);
	/* Weights 1:3 -> 25% / 75%, within 3 points. */
	double share = (double)n2 / N;
	print_message("weighted: %u / %u (%.4f)\n", n1, n2, share);
	assert_true(share > 0.72 && share < 0.78);
	assert_int_equal(after.services - before.services, N);
	assert_int_equal(after.ecs - before.ecs, N);
	/* The same seed replays the same picks. */
	unsigned first[16], again[16];
	for (int pass = 0; pass < 2; pass++) {
		dnsd_ctx_seed(w->ctx, 7);
		for (unsigned i = 0; i < 16; i++) {
			reply_t r;
			ask(w, w->pol, "wt.svc.example", 1, "198.51.100.7", NULL, 0, &r);
			(pass ? again : first)[i] = strcmp(r.addrs, "10.0.9.1") == 0;
		}
	}
	assert_memory_equal(first, again, sizeof(first));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_routes),           cmocka_unit_test(test_scope_matches_geo),
	        cmocka_unit_test(test_negative),         cmocka_unit_test(test_pol_null_servfail),
	        cmocka_unit_test(test_case_and_first_n), cmocka_unit_test(test_weighted_split),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
