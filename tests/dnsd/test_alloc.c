/*
 * dnsd_answer() must not allocate (STYLE.md "Hot path"): malloc and friends
 * are wrapped here, forwarding to glibc's __libc_* entry points, and counted
 * while a mix of queries (positive, negative, referral, cookies, NSID, ECS,
 * TC, AXFR, errors) is answered. Skipped under ASan, which owns malloc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dnsd/dnsd.h"
#include "tests/dnsd/fixture.h"

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
};

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
	assert_int_equal(fx_init(&fx), 0);
	assert_int_equal(fx_add_zone(&fx, "example.com.", zone, AYA_ARRAY_LEN(zone)), 0);
	assert_int_equal(fx_allow_xfr(&fx, 0, "127.0.0.0/8"), 0);
	assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &snap, NULL, 0), 0);
	dnsd_ctx_t *ctx = dnsd_ctx_new();
	assert_non_null(ctx);
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001);
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
	};
	uint8_t qbuf[512], out[65535];
	for (size_t i = 0; i < AYA_ARRAY_LEN(qs); i++) {
		size_t qlen = fx_query(&qs[i], qbuf, sizeof(qbuf));
		assert_true(qlen > 0);
		for (int tr = DNSD_UDP; tr <= DNSD_TCP; tr++) {
			unsigned long before = allocs;
			size_t n = dnsd_answer(ctx, snap, NULL, qbuf, qlen, out, sizeof(out),
			                       (const struct sockaddr *)&src, (dnsd_transport_t)tr);
			unsigned long after = allocs;
			assert_true(n > 12);
			assert_int_equal(after - before, 0);
		}
	}
	dnsd_ctx_free(ctx);
	dnsd_snap_free(snap);
	fx_fini(&fx);
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
