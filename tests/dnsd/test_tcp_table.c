/*
 * Unit tests for the DNS TCP connection table (dnsd/tcp_int.h): client keys
 * by prefix, per-client limits, the idle order and the eviction choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/compiler.h"
#include "dnsd/tcp_int.h"

static struct sockaddr_storage sa_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	}
	return ss;
}

static dnsd_tcp_key_t key_of(const char *text, unsigned v4, unsigned v6)
{
	struct sockaddr_storage ss = sa_of(text);
	dnsd_tcp_key_t k;
	dnsd_tcp_key((const struct sockaddr *)&ss, v4, v6, &k);
	return k;
}

static bool same_client(const char *a, const char *b, unsigned v4, unsigned v6)
{
	dnsd_tcp_key_t ka = key_of(a, v4, v6), kb = key_of(b, v4, v6);
	return dnsd_tcp_key_equal(&ka, &kb);
}

static void test_key(void **state)
{
	(void)state;
	/* The defaults: /24 and /56. */
	assert_true(same_client("127.0.0.1", "127.0.0.2", 24, 56));
	assert_true(same_client("192.0.2.0", "192.0.2.255", 24, 56));
	assert_false(same_client("192.0.2.1", "192.0.3.1", 24, 56));
	assert_true(same_client("2001:db8:0:ff::1", "2001:db8:0:12:abcd::9", 24, 56));
	assert_false(same_client("2001:db8:0:100::1", "2001:db8:0:200::1", 24, 56));
	assert_false(same_client("2001:db8::1", "2001:db9::1", 24, 56));
	/* IPv4-mapped IPv6 is the IPv4 client. */
	assert_true(same_client("::ffff:192.0.2.7", "192.0.2.99", 24, 56));
	/* A family never matches the other, even masked to nothing. */
	assert_false(same_client("0.0.0.0", "::", 0, 0));
	assert_true(same_client("10.1.2.3", "192.0.2.1", 0, 56));
	/* Full lengths: the exact address. */
	assert_false(same_client("127.0.0.1", "127.0.0.2", 32, 128));
	assert_true(same_client("127.0.0.1", "127.0.0.1", 32, 128));
	assert_false(same_client("::1", "::2", 24, 128));
	/* Out-of-range lengths are clamped. */
	assert_false(same_client("127.0.0.1", "127.0.0.2", 99, 999));
	/* Odd lengths mask inside a byte. */
	assert_true(same_client("192.0.2.1", "192.0.3.1", 23, 56));
	assert_false(same_client("192.0.2.1", "192.0.4.1", 23, 56));
	dnsd_tcp_key_t k = key_of("2001:db8:1234:5678::1", 24, 60);
	assert_int_equal(k.family, AF_INET6);
	assert_int_equal(k.addr[7], 0x70);
	assert_int_equal(k.addr[8], 0);
}

#define N_SLOTS 8

static void test_per_client(void **state)
{
	(void)state;
	dnsd_tcp_table_t t;
	assert_int_equal(dnsd_tcp_table_init(&t, 100, 3, 42), 0);
	dnsd_tcp_slot_t s[N_SLOTS];
	memset(s, 0, sizeof(s));
	const char *addrs[] = {"127.0.0.1", "127.0.0.2", "127.0.0.200"};
	dnsd_tcp_slot_t *victim = (dnsd_tcp_slot_t *)1;
	for (size_t i = 0; i < 3; i++) {
		s[i].key = key_of(addrs[i], 24, 56);
		assert_int_equal(dnsd_tcp_table_admit(&t, &s[i].key, &victim), DNSD_TCP_ADMIT);
		assert_null(victim);
		dnsd_tcp_table_add(&t, &s[i], 100 + i);
	}
	/* A 4th address of the same /24 is over the limit; another /24 is not. */
	dnsd_tcp_key_t k = key_of("127.0.0.77", 24, 56);
	assert_int_equal(dnsd_tcp_table_count(&t, &k), 3);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_REFUSE_CLIENT);
	k = key_of("127.0.1.1", 24, 56);
	assert_int_equal(dnsd_tcp_table_count(&t, &k), 0);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_ADMIT);
	/* IPv6: one /56. */
	for (size_t i = 3; i < 6; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8:0:%zx::1", i);
		s[i].key = key_of(a, 24, 56);
		assert_int_equal(dnsd_tcp_table_admit(&t, &s[i].key, &victim), DNSD_TCP_ADMIT);
		dnsd_tcp_table_add(&t, &s[i], 200);
	}
	k = key_of("2001:db8:0:ff::99", 24, 56);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_REFUSE_CLIENT);
	/* A closed connection makes room. */
	dnsd_tcp_table_remove(&t, &s[4]);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_ADMIT);
	assert_int_equal(t.n, 5);
	dnsd_tcp_table_fini(&t);
}

static void test_evict(void **state)
{
	(void)state;
	dnsd_tcp_table_t t;
	/* 4 connections in all, no per-client limit. */
	assert_int_equal(dnsd_tcp_table_init(&t, 4, 0, 7), 0);
	dnsd_tcp_slot_t s[N_SLOTS];
	memset(s, 0, sizeof(s));
	dnsd_tcp_slot_t *victim = NULL;
	for (size_t i = 0; i < 4; i++) {
		s[i].key = key_of("198.51.100.1", 24, 56);
		assert_int_equal(dnsd_tcp_table_admit(&t, &s[i].key, &victim), DNSD_TCP_ADMIT);
		dnsd_tcp_table_add(&t, &s[i], 1000 + i);
	}
	dnsd_tcp_key_t k = key_of("203.0.113.9", 24, 56);
	/* Full, all idle: the one idle the longest goes (s[0], accepted first). */
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_EVICT);
	assert_ptr_equal(victim, &s[0]);
	/* s[0] gets a query in progress: s[1] is now the idlest. */
	dnsd_tcp_table_busy(&t, &s[0]);
	assert_true(s[0].busy);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_EVICT);
	assert_ptr_equal(victim, &s[1]);
	/* s[1] answers a query and is idle again, the newest idle: s[2] goes first. */
	dnsd_tcp_table_busy(&t, &s[1]);
	dnsd_tcp_table_idle(&t, &s[1], 2000);
	assert_int_equal(s[1].idle_since_ms, 2000);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_EVICT);
	assert_ptr_equal(victim, &s[2]);
	/* Idle twice is a no-op (keeps its place and time). */
	dnsd_tcp_table_idle(&t, &s[2], 3000);
	assert_int_equal(s[2].idle_since_ms, 1002);
	/* Every connection busy: refused. */
	for (size_t i = 0; i < 4; i++) {
		dnsd_tcp_table_busy(&t, &s[i]);
		dnsd_tcp_table_busy(&t, &s[i]); /* twice: no-op */
	}
	assert_null(t.idle_head);
	assert_null(t.idle_tail);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_REFUSE_FULL);
	assert_null(victim);
	/* Evict for real: remove the victim and add the newcomer. */
	dnsd_tcp_table_idle(&t, &s[3], 4000);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_EVICT);
	assert_ptr_equal(victim, &s[3]);
	dnsd_tcp_table_remove(&t, victim);
	s[4].key = k;
	dnsd_tcp_table_add(&t, &s[4], 4001);
	assert_int_equal(t.n, 4);
	assert_ptr_equal(t.idle_head, &s[4]);
	assert_ptr_equal(t.idle_tail, &s[4]);
	/* Busy ones removed from the middle of the busy list. */
	dnsd_tcp_table_remove(&t, &s[1]);
	dnsd_tcp_table_remove(&t, &s[0]);
	dnsd_tcp_table_remove(&t, &s[2]);
	assert_null(t.busy_head);
	dnsd_tcp_table_remove(&t, &s[4]);
	assert_null(t.idle_head);
	assert_int_equal(t.n, 0);
	assert_int_equal(dnsd_tcp_table_admit(&t, &k, &victim), DNSD_TCP_ADMIT);
	dnsd_tcp_table_fini(&t);
}

/* Many clients and removals in random order: counts stay exact. */
static void test_churn(void **state)
{
	(void)state;
	enum { N = 600 };
	static dnsd_tcp_slot_t s[N];
	memset(s, 0, sizeof(s));
	dnsd_tcp_table_t t;
	assert_int_equal(dnsd_tcp_table_init(&t, 0, 0, 99), 0);
	unsigned per[N / 10] = {0};
	for (unsigned i = 0; i < N; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%u.%u.%u", (i % 60) / 256, (i % 60) % 256, i % 7);
		s[i].key = key_of(a, 24, 56);
		dnsd_tcp_table_add(&t, &s[i], i);
		per[i % 60]++;
		if (i % 3 == 0) {
			dnsd_tcp_table_busy(&t, &s[i]);
		}
	}
	uint64_t x = 88172645463325252u;
	for (unsigned round = 0; round < N / 2; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned i = (unsigned)(x % N);
		if (s[i].key.family == 0) {
			continue;
		}
		dnsd_tcp_table_remove(&t, &s[i]);
		per[i % 60]--;
		s[i].key.family = 0;
	}
	unsigned total = 0;
	for (unsigned c = 0; c < 60; c++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%u.%u.0", c / 256, c % 256);
		dnsd_tcp_key_t k = key_of(a, 24, 56);
		assert_int_equal(dnsd_tcp_table_count(&t, &k), per[c]);
		total += per[c];
	}
	assert_int_equal(t.n, total);
	/* The idle list is in idle order. */
	uint64_t last = 0;
	for (const dnsd_tcp_slot_t *p = t.idle_head; p != NULL; p = p->next) {
		assert_false(p->busy);
		assert_true(p->idle_since_ms >= last);
		last = p->idle_since_ms;
	}
	dnsd_tcp_table_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key),
	        cmocka_unit_test(test_per_client),
	        cmocka_unit_test(test_evict),
	        cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
