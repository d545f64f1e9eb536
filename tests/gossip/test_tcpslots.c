/*
 * The push/pull stream table (gossip/tcpslots_int.h): which stream a
 * newcomer evicts, the slots kept for seeds and members, the per-source
 * limit and its keys; who counts as known; and the early envelope check
 * (gsp_open_precheck) that closes a keyless stream after a few bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>

#include "gossip/gossip_int.h"
#include "gossip/tcpslots_int.h"

#define N 8
#define RESERVED 2
#define PER_ADDR 3

/* A key for source number a (distinct per a). */
static void key_of(unsigned a, uint8_t key[GSP_SLOT_KEY_LEN])
{
	memset(key, 0, GSP_SLOT_KEY_LEN);
	key[10] = key[11] = 0xff;
	key[12] = 10;
	key[15] = (uint8_t)a;
}

/* Slot i used by source src, accepted as the seq-th, known/authed per flags. */
static void put(gsp_slot_t *v, size_t i, unsigned src, uint64_t seq, bool known, bool authed)
{
	v[i] = (gsp_slot_t){.seq = seq, .used = true, .known = known, .authed = authed};
	key_of(src, v[i].key);
}

static gsp_slot_verdict_t admit(const gsp_slot_t *v, unsigned src, bool known, size_t *idx)
{
	uint8_t key[GSP_SLOT_KEY_LEN];
	key_of(src, key);
	*idx = 999;
	return gsp_slot_admit(v, N, RESERVED, PER_ADDR, key, known, idx);
}

static void test_admit_table(void **state)
{
	(void)state;
	/*
	 * Each case: the table (per slot: source, seq, known, authed; source 0 =
	 * free), the newcomer, and the verdict with its slot.
	 */
	typedef struct {
		unsigned src;
		uint64_t seq;
		bool known, authed;
	} row_t;
	static const struct {
		const char *name;
		row_t t[N];
		unsigned src;
		bool known;
		gsp_slot_verdict_t want;
		size_t idx;
	} cases[] = {
	        {"empty: first free slot", {{0}}, 1, false, GSP_SLOT_TAKE, 0},
	        {"a free slot after used ones",
	         {{1, 1, false, false}, {2, 2, false, false}},
	         3,
	         false,
	         GSP_SLOT_TAKE,
	         2},
	        {"full of pending strangers: the oldest goes",
	         {{1, 5, false, false},
	          {2, 3, false, false},
	          {3, 7, false, false},
	          {4, 4, false, false},
	          {5, 8, false, false},
	          {6, 6, false, false},
	          {7, 9, false, false},
	          {8, 10, false, false}},
	         9,
	         false,
	         GSP_SLOT_EVICT,
	         1},
	        {"an authenticated stream is never evicted",
	         {{1, 5, false, false},
	          {2, 3, false, true},
	          {3, 7, false, false},
	          {4, 4, false, false},
	          {5, 8, false, false},
	          {6, 6, false, false},
	          {7, 9, false, false},
	          {8, 10, false, false}},
	         9,
	         false,
	         GSP_SLOT_EVICT,
	         3},
	        {"all authenticated: refused",
	         {{1, 1, false, true},
	          {2, 2, false, true},
	          {3, 3, false, true},
	          {4, 4, false, true},
	          {5, 5, true, true},
	          {6, 6, true, true},
	          {7, 7, true, true},
	          {8, 8, true, true}},
	         9,
	         true,
	         GSP_SLOT_REFUSE,
	         999},
	        {"strangers at their share (N - reserved): a stranger evicts one",
	         {{1, 4, false, false},
	          {2, 2, false, false},
	          {3, 3, false, false},
	          {4, 1, false, true},
	          {5, 5, false, false},
	          {6, 6, false, false}},
	         9,
	         false,
	         GSP_SLOT_EVICT,
	         1},
	        {"strangers at their share: a known peer takes a reserved slot",
	         {{1, 4, false, false},
	          {2, 2, false, false},
	          {3, 3, false, false},
	          {4, 1, false, false},
	          {5, 5, false, false},
	          {6, 6, false, false}},
	         9,
	         true,
	         GSP_SLOT_TAKE,
	         6},
	        {"strangers at their share, all authenticated: a stranger is refused",
	         {{1, 1, false, true},
	          {2, 2, false, true},
	          {3, 3, false, true},
	          {4, 4, false, true},
	          {5, 5, false, true},
	          {6, 6, false, true}},
	         9,
	         false,
	         GSP_SLOT_REFUSE,
	         999},
	        {"a stranger never evicts a known peer",
	         {{1, 1, true, false},
	          {2, 2, true, false},
	          {3, 3, true, false},
	          {4, 4, true, false},
	          {5, 5, true, false},
	          {6, 6, true, false},
	          {7, 7, true, false},
	          {8, 8, false, true}},
	         9,
	         false,
	         GSP_SLOT_REFUSE,
	         999},
	        {"a known peer evicts a stranger before an older known peer",
	         {{1, 1, true, false},
	          {2, 2, true, false},
	          {3, 3, false, false},
	          {4, 4, true, false},
	          {5, 5, false, false},
	          {6, 6, true, false},
	          {7, 7, true, false},
	          {8, 8, true, false}},
	         9,
	         true,
	         GSP_SLOT_EVICT,
	         2},
	        {"a known peer evicts the oldest pending known peer when no stranger is pending",
	         {{1, 3, true, false},
	          {2, 2, true, false},
	          {3, 1, false, true},
	          {4, 4, true, false},
	          {5, 5, false, true},
	          {6, 6, true, false},
	          {7, 7, true, false},
	          {8, 8, true, false}},
	         9,
	         true,
	         GSP_SLOT_EVICT,
	         1},
	        {"one source at its limit evicts its own oldest, not an older other",
	         {{1, 1, false, false},
	          {9, 4, false, false},
	          {9, 3, false, false},
	          {9, 5, false, false}},
	         9,
	         false,
	         GSP_SLOT_EVICT,
	         2},
	        {"one source at its limit, all authenticated: refused despite free slots",
	         {{1, 1, false, false},
	          {9, 4, false, true},
	          {9, 3, false, true},
	          {9, 5, false, true}},
	         9,
	         false,
	         GSP_SLOT_REFUSE,
	         999},
	        {"the limit counts one source only",
	         {{9, 1, false, false}, {9, 2, false, false}, {8, 3, false, false}},
	         9,
	         false,
	         GSP_SLOT_TAKE,
	         3},
	};
	for (size_t c = 0; c < AYA_ARRAY_LEN(cases); c++) {
		gsp_slot_t v[N] = {0};
		for (size_t i = 0; i < N; i++) {
			const row_t *r = &cases[c].t[i];
			if (r->src != 0) {
				put(v, i, r->src, r->seq, r->known, r->authed);
			}
		}
		size_t idx;
		gsp_slot_verdict_t got = admit(v, cases[c].src, cases[c].known, &idx);
		if (got != cases[c].want || idx != cases[c].idx) {
			fail_msg("%s: verdict %d slot %zu, want %d slot %zu", cases[c].name,
			         (int)got, idx, (int)cases[c].want, cases[c].idx);
		}
	}
}

/*
 * A flood against a table driven by the verdicts: 200 strangers from 40
 * sources that never authenticate, then one peer from a new source whose
 * frame arrives at once. The peer always gets in, strangers never hold more
 * than N - RESERVED slots nor more than PER_ADDR from one source.
 */
static void test_flood(void **state)
{
	(void)state;
	gsp_slot_t v[N] = {0};
	uint64_t seq = 0;
	for (unsigned i = 0; i < 200; i++) {
		size_t idx;
		unsigned src = 1 + i % 40;
		gsp_slot_verdict_t vd = admit(v, src, false, &idx);
		assert_true(vd != GSP_SLOT_REFUSE);
		put(v, idx, src, ++seq, false, false);
		size_t strangers = 0;
		for (size_t k = 0; k < N; k++) {
			strangers += v[k].used && !v[k].known;
		}
		assert_true(strangers <= N - RESERVED);
	}
	size_t idx;
	assert_int_not_equal(admit(v, 77, false, &idx), GSP_SLOT_REFUSE);
	put(v, idx, 77, ++seq, false, true); /* its frame opened */
	for (unsigned i = 0; i < 50; i++) {
		size_t j;
		assert_int_not_equal(admit(v, 1 + i % 40, false, &j), GSP_SLOT_REFUSE);
		assert_int_not_equal(j, idx);
		put(v, j, 1 + i % 40, ++seq, false, false);
	}
	/* Known peers still find room (the reserve) while strangers keep coming. */
	for (unsigned i = 0; i < RESERVED; i++) {
		size_t j;
		assert_int_equal(admit(v, 100 + i, true, &j), GSP_SLOT_TAKE);
		put(v, j, 100 + i, ++seq, true, false);
	}
	/* One source alone never holds more than PER_ADDR. */
	gsp_slot_t w[N] = {0};
	for (unsigned i = 0; i < 20; i++) {
		size_t j;
		assert_int_not_equal(admit(w, 5, false, &j), GSP_SLOT_REFUSE);
		put(w, j, 5, ++seq, false, false);
		size_t n = 0;
		for (size_t k = 0; k < N; k++) {
			n += w[k].used;
		}
		assert_true(n <= PER_ADDR);
	}
}

static void addr(const char *s, gsp_addr_t *a)
{
	assert_int_equal(gsp_addr_parse(s, a), 0);
}

static void test_keys(void **state)
{
	(void)state;
	gsp_addr_t a, b;
	uint8_t x[GSP_SLOT_KEY_LEN], y[GSP_SLOT_KEY_LEN];
	/* The port never counts. */
	addr("10.0.0.1:1000", &a);
	addr("10.0.0.1:2000", &b);
	gsp_slot_key(&a, false, x);
	gsp_slot_key(&b, false, y);
	assert_memory_equal(x, y, sizeof(x));
	assert_true(gsp_addr_same_host(&a, &b));
	/* IPv4 by its address, not its /24. */
	addr("10.0.0.2:1000", &b);
	gsp_slot_key(&b, false, y);
	assert_memory_not_equal(x, y, sizeof(x));
	assert_false(gsp_addr_same_host(&a, &b));
	/* IPv4-mapped IPv6 is the IPv4 address. */
	addr("[::ffff:10.0.0.1]:7946", &b);
	gsp_slot_key(&b, false, y);
	assert_memory_equal(x, y, sizeof(x));
	assert_true(gsp_addr_same_host(&a, &b));
	/* A stranger's IPv6 counts by its /64, a known peer's by its address. */
	addr("[2001:db8:1:2::1]:1", &a);
	addr("[2001:db8:1:2:ffff::9]:2", &b);
	gsp_slot_key(&a, false, x);
	gsp_slot_key(&b, false, y);
	assert_memory_equal(x, y, sizeof(x));
	gsp_slot_key(&a, true, x);
	gsp_slot_key(&b, true, y);
	assert_memory_not_equal(x, y, sizeof(x));
	assert_false(gsp_addr_same_host(&a, &b));
	addr("[2001:db8:1:3::1]:1", &b);
	gsp_slot_key(&a, false, x);
	gsp_slot_key(&b, false, y);
	assert_memory_not_equal(x, y, sizeof(x));
}

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return 1000;
}
static void arm(void *ctx, uint64_t at)
{
	(void)ctx;
	(void)at;
}
static int send_udp(void *ctx, const gsp_addr_t *to, const uint8_t *b, size_t l)
{
	(void)ctx;
	(void)to;
	(void)b;
	(void)l;
	return 0;
}
static int tcp_req(void *ctx, const gsp_addr_t *to, const uint8_t *b, size_t l, uint64_t id)
{
	(void)ctx;
	(void)to;
	(void)b;
	(void)l;
	(void)id;
	return -1;
}

static void test_known(void **state)
{
	(void)state;
	gsp_config_t c;
	gsp_config_init(&c);
	c.name = "me";
	c.region = "eu";
	c.seed = 3;
	gsp_addr_t seeds[1];
	addr("127.0.0.1:7946", &c.addr);
	addr("127.0.0.9:7946", &seeds[0]);
	c.seeds = seeds;
	c.n_seeds = 1;
	gsp_clock_t clk = {.now_ms = now_ms, .arm = arm};
	gsp_transport_t tr = {.send_udp = send_udp, .tcp_request = tcp_req};
	gsp_t *g = gsp_new(&c, NULL, &clk, &tr, NULL);
	assert_non_null(g);
	gsp_start(g);
	m_alive_t m = {.name = "peer", .region = "us", .incarnation = 1};
	addr("127.0.0.5:8000", &m.addr);
	gsp_apply_alive(g, &m, true);
	gsp_addr_t a;
	addr("127.0.0.9:40000", &a); /* the seed, from an ephemeral port */
	assert_true(gsp_peer_known(g, &a));
	addr("127.0.0.5:40001", &a); /* a member */
	assert_true(gsp_peer_known(g, &a));
	addr("127.0.0.1:40002", &a); /* our own address is no peer */
	assert_false(gsp_peer_known(g, &a));
	addr("127.0.0.77:40003", &a);
	assert_false(gsp_peer_known(g, &a));
	gsp_free(g);
}

static void test_precheck(void **state)
{
	(void)state;
	gsp_keyring_t *kr = gsp_keyring_new(), *other = gsp_keyring_new();
	assert_non_null(kr);
	assert_non_null(other);
	uint8_t k1[GSP_KEY_LEN], k2[GSP_KEY_LEN];
	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	assert_int_equal(gsp_keyring_install(kr, k1), 0);
	assert_int_equal(gsp_keyring_install(other, k2), 0);
	const uint8_t plain[] = "a push/pull frame";
	uint8_t sealed[sizeof(plain) + GSP_ENV_OVERHEAD], bad[sizeof(sealed)];
	long n = gsp_seal(kr, plain, sizeof(plain), sealed, sizeof(sealed));
	long m = gsp_seal(other, plain, sizeof(plain), bad, sizeof(bad));
	assert_true(n > 0 && m == n);
	size_t total = (size_t)n;
	/* Every prefix of a good frame may open; a foreign key's is refused once its id is in. */
	for (size_t len = 0; len <= GSP_ENV_PRECHECK_LEN; len++) {
		assert_int_equal(gsp_open_precheck(kr, sealed, len, total), 0);
		long want = len < GSP_ENV_PRECHECK_LEN ? 0 : -EBADMSG;
		assert_int_equal(gsp_open_precheck(kr, bad, len, total), want);
	}
	/* A second key installed: its frames pass. */
	assert_int_equal(gsp_keyring_install(kr, k2), 0);
	assert_int_equal(gsp_open_precheck(kr, bad, GSP_ENV_PRECHECK_LEN, total), 0);
	/* Modes, versions, lengths. */
	uint8_t pl[GSP_ENV_PRECHECK_LEN] = {GSP_ENV_PLAIN, 1, 2, 3, 4};
	uint8_t v9[GSP_ENV_PRECHECK_LEN] = {9, 0, 0, 0, 0};
	assert_int_equal(gsp_open_precheck(kr, pl, 1, 100), -EPERM);
	assert_int_equal(gsp_open_precheck(NULL, pl, 1, 100), 0);
	assert_int_equal(gsp_open_precheck(NULL, sealed, 1, total), -EACCES);
	assert_int_equal(gsp_open_precheck(kr, v9, 1, 100), -EBADMSG);
	assert_int_equal(gsp_open_precheck(kr, sealed, 1, GSP_ENV_OVERHEAD - 1), -EPROTO);
	assert_int_equal(gsp_open_precheck(kr, sealed, 0, 0), -EPROTO);
	gsp_keyring_free(kr);
	gsp_keyring_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_admit_table), cmocka_unit_test(test_flood),
	        cmocka_unit_test(test_keys),        cmocka_unit_test(test_known),
	        cmocka_unit_test(test_precheck),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
