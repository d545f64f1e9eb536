/*
 * dnsd_answer() must not allocate (STYLE.md "Hot path"): malloc and friends
 * are wrapped here, forwarding to glibc's __libc_* entry points, and counted
 * while a mix of queries (positive, negative, referral, cookies, NSID, ECS,
 * TC, AXFR, errors, and service answers through policy/ with and without
 * ECS, IPv4 and IPv6, geo and weighted) is answered, then again with
 * response rate limiting dropping and slipping. Skipped under ASan,
 * which owns malloc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/dname.h"
#include "dnsd/dnsd.h"
#include "dnsd/rrl_int.h"
#include "geo/geo.h"
#include "policy/policy.h"
#include "tests/dnsd/fixture.h"
#include "tests/geo/fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

#ifndef ASAN
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);

static unsigned long allocs;

void *malloc(size_t size)
{
	allocs++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	allocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	allocs++;
	return __libc_realloc(p, size);
}

void free(void *p)
{
	if (p != NULL) {
		allocs++;
	}
	__libc_free(p);
}
#endif

AYA_UNUSED static const char *const zone[] = {
        "example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300",
        "example.com. 3600 IN NS ns1.example.com.",
        "example.com. 3600 IN MX 10 mail.example.com.",
        "ns1.example.com. 3600 IN A 192.0.2.1",
        "mail.example.com. 3600 IN A 192.0.2.2",
        "www.example.com. 300 IN A 192.0.2.10",
        "alias.example.com. 300 IN CNAME www.example.com.",
        "*.wild.example.com. 300 IN TXT \"w\"",
        "sub.example.com. 3600 IN NS ns.sub.example.com.",
        "ns.sub.example.com. 3600 IN A 192.0.2.53",
        "galias.example.com. 300 IN CNAME geo.example.com.",
};

/* A geo service in three regions, IPv4 and IPv6, weighted inside each pool. */
AYA_UNUSED static cfg_endpoint_t eu_eps[] = {
        {.family = AF_INET, .text = "10.0.1.1", .weight = 1},
        {.family = AF_INET, .text = "10.0.1.2", .weight = 3},
        {.family = AF_INET6, .text = "2001:db8:e::1", .weight = 1},
};
AYA_UNUSED static cfg_endpoint_t us_eps[] = {
        {.family = AF_INET, .text = "10.0.2.1", .weight = 1},
        {.family = AF_INET6, .text = "2001:db8:a::1", .weight = 1},
};
AYA_UNUSED static cfg_endpoint_t ap_eps[] = {
        {.family = AF_INET, .text = "10.0.3.1", .weight = 1},
};
AYA_UNUSED static const cfg_pool_t pools[] = {
        {.region = "eu-west", .region_idx = R_EU_WEST, .endpoints = eu_eps, .n_endpoints = 3},
        {.region = "us-east", .region_idx = R_US_EAST, .endpoints = us_eps, .n_endpoints = 2},
        {.region = "ap-south", .region_idx = R_AP_SOUTH, .endpoints = ap_eps, .n_endpoints = 1},
};
AYA_UNUSED static cfg_service_t service = {
        .name = "geo", .ttl_s = 30, .pools = pools, .n_pools = 3};

AYA_UNUSED static const uint8_t ecs_v4[] = {0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100};
AYA_UNUSED static const uint8_t ecs_v6[] = {0, 8, 0, 10, 0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1};
AYA_UNUSED static const uint8_t ecs_zero[] = {0, 8, 0, 4, 0, 1, 0, 0};

AYA_UNUSED static const uint8_t opts[] = {0,    3,    0, 0,                            /* NSID */
                                          0,    8,    0, 7, 0, 1, 24, 0, 192, 0, 2,    /* ECS */
                                          0,    10,   0, 8, 1, 2, 3,  4, 5,   6, 7, 8, /* COOKIE */
                                          0xfd, 0xe9, 0, 0};

static void test_no_allocation(void **state)
{
	(void)state;
#ifdef ASAN
	skip();
#else
	fx_t fx;
	dnsd_snap_t *snap = NULL;
	pol_snap_t *pol = NULL;
	geo_tree_t *geo = NULL;
	char dir[64], path[128];
	assert_int_equal(fx_make(dir, sizeof(dir), path, sizeof(path)), 0);
	assert_int_equal(fx_init(&fx), 0);
	assert_int_equal(fx_add_zone(&fx, "example.com.", zone, AYA_ARRAY_LEN(zone)), 0);
	assert_int_equal(fx_allow_xfr(&fx, 0, "127.0.0.0/8"), 0);
	for (size_t i = 0; i < AYA_ARRAY_LEN(eu_eps); i++) {
		assert_int_equal(inet_pton(eu_eps[i].family, eu_eps[i].text, eu_eps[i].addr), 1);
	}
	for (size_t i = 0; i < AYA_ARRAY_LEN(us_eps); i++) {
		assert_int_equal(inet_pton(us_eps[i].family, us_eps[i].text, us_eps[i].addr), 1);
	}
	assert_int_equal(inet_pton(AF_INET, ap_eps[0].text, ap_eps[0].addr), 1);
	assert_true(aya_dname_from_str("geo.example.com", service.owner) > 0);
	fx.cfg.regions = fx_regions;
	fx.cfg.n_regions = R_COUNT;
	fx.zones[0].services = &service;
	fx.zones[0].n_services = 1;
	geo_build_opts_t o = {.database = path, .regions = fx_regions, .n_regions = R_COUNT};
	assert_int_equal(geo_tree_build(&o, &geo, NULL, 0), 0);
	assert_int_equal(pol_snap_build(&fx.cfg, geo, NULL, &pol, NULL, 0), 0);
	assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &snap, NULL, 0), 0);
	dnsd_ctx_t *ctx = dnsd_ctx_new();
	assert_non_null(ctx);
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001);
	struct sockaddr_in6 src6 = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::5", &src6.sin6_addr), 1);
	static const fx_q_t qs[] = {
	        {.name = "www.example.com", .type = 1},
	        {.name = "WWW.example.com",
	         .type = 1,
	         .edns = true,
	         .opts = opts,
	         .opts_len = sizeof(opts)},
	        {.name = "nope.example.com", .type = 1, .edns = true},
	        {.name = "alias.example.com", .type = 1},
	        {.name = "x.wild.example.com", .type = 16},
	        {.name = "a.sub.example.com", .type = 1},
	        {.name = "example.com", .type = 15},
	        {.name = "example.com", .type = 255},
	        {.name = "example.com", .type = 252},
	        {.name = "example.org", .type = 1},
	        {.name = "id.server", .type = 16, .rclass = 3},
	        {.name = "www.example.com", .type = 1, .edns = true, .version = 1},
	        {.name = "www.example.com", .type = 1, .opcode = 4},
	        {.name = "geo.example.com", .type = 1},
	        {.name = "GEO.example.com", .type = 28, .edns = true},
	        {.name = "geo.example.com",
	         .type = 1,
	         .edns = true,
	         .opts = ecs_v4,
	         .opts_len = sizeof(ecs_v4)},
	        {.name = "geo.example.com",
	         .type = 28,
	         .edns = true,
	         .opts = ecs_v6,
	         .opts_len = sizeof(ecs_v6)},
	        {.name = "geo.example.com",
	         .type = 1,
	         .edns = true,
	         .opts = ecs_zero,
	         .opts_len = sizeof(ecs_zero)},
	        {.name = "geo.example.com",
	         .type = 255,
	         .edns = true,
	         .opts = ecs_v6,
	         .opts_len = sizeof(ecs_v6)},
	        {.name = "geo.example.com",
	         .type = 15,
	         .edns = true,
	         .opts = ecs_v4,
	         .opts_len = sizeof(ecs_v4)},
	        {.name = "galias.example.com",
	         .type = 1,
	         .edns = true,
	         .opts = ecs_v4,
	         .opts_len = sizeof(ecs_v4)},
	};
	uint8_t qbuf[512], out[65535];
	for (size_t i = 0; i < AYA_ARRAY_LEN(qs); i++) {
		size_t qlen = fx_query(&qs[i], qbuf, sizeof(qbuf));
		assert_true(qlen > 0);
		/* UDP and TCP from an IPv4 source, UDP from an IPv6 one. */
		for (int k = 0; k < 3; k++) {
			const struct sockaddr *sa = k < 2 ? (const struct sockaddr *)&src
			                                  : (const struct sockaddr *)&src6;
			unsigned long before = allocs;
			size_t n = dnsd_answer(ctx, snap, pol, qbuf, qlen, out, sizeof(out), sa,
			                       k == 1 ? DNSD_TCP : DNSD_UDP);
			unsigned long after = allocs;
			assert_true(n > 12);
			assert_int_equal(after - before, 0);
		}
	}
	/* Seven queries reach policy/ (every geo one but MX, and galias), three times each. */
	dnsd_stats_t st = {0};
	dnsd_counters_add(&st, dnsd_ctx_counters(ctx));
	assert_int_equal(st.services, 3 * 7);

	/* The same with response rate limiting on, 2/s: answers, drops and slips, all without
	 * allocating (the table is made beforehand, as the server does at start). */
	cfg_prefix_t ex;
	assert_int_equal(cfg_parse_prefix("192.0.2.0/24", &ex), 0);
	fx.cfg.dns.rrl = (cfg_rrl_t){.enabled = true,
	                             .responses_per_second = 2,
	                             .slip = 2,
	                             .window_s = 15,
	                             .ipv4_prefix = 24,
	                             .ipv6_prefix = 56,
	                             .exempt = &ex,
	                             .n_exempt = 1};
	dnsd_snap_t *limited = NULL;
	assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &limited, NULL, 0), 0);
	dnsd_rrl_t *rrl = dnsd_rrl_new(DNSD_RRL_SLOTS_LOG2);
	assert_non_null(rrl);
	dnsd_ctx_set_rrl(ctx, rrl);
	for (size_t i = 0; i < AYA_ARRAY_LEN(qs); i++) {
		size_t qlen = fx_query(&qs[i], qbuf, sizeof(qbuf));
		for (int k = 0; k < 8; k++) {
			const struct sockaddr *sa = k % 2 == 0 ? (const struct sockaddr *)&src
			                                       : (const struct sockaddr *)&src6;
			unsigned long before = allocs;
			(void)dnsd_answer(ctx, limited, pol, qbuf, qlen, out, sizeof(out), sa,
			                  DNSD_UDP);
			assert_int_equal(allocs - before, 0);
		}
	}
	memset(&st, 0, sizeof(st));
	dnsd_counters_add(&st, dnsd_ctx_counters(ctx));
	assert_true(st.rrl_dropped > 0);
	assert_true(st.rrl_slipped > 0);
	dnsd_rrl_free(rrl);
	dnsd_snap_free(limited);
	dnsd_ctx_free(ctx);
	dnsd_snap_free(snap);
	pol_snap_free(pol);
	geo_tree_unref(geo);
	fx_fini(&fx);
	fx_remove(dir, path);
	/* The wrappers do count (so the zeros above mean something). */
	unsigned long before = allocs;
	/* Through volatile pointers: clang may elide a plain malloc/free pair. */
	void *(*volatile do_malloc)(size_t) = malloc;
	void (*volatile do_free)(void *) = free;
	do_free(do_malloc(16));
	assert_int_equal(allocs - before, 2);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_no_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
