/*
 * Unit tests for response rate limiting (dnsd/rrl.c): the bucket with an
 * injected clock (burst, refill, debt capped by the window, slip 0/1/2), the
 * key (prefix lengths, IPv4-mapped, kind, name case), exempt prefixes, a
 * full group keeping its limited key, the keys gauge, then the hook in
 * dnsd_answer(): drops, TC=1 slips with the OPT kept, TCP and valid server
 * cookies never limited, counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dnsd/dnsd.h"
#include "dnsd/query_int.h"
#include "dnsd/rrl_int.h"
#include "dnsd/snap_int.h"
#include "tests/dnsd/fixture.h"

static uint32_t fake_now;
static uint32_t fake_clock(void)
{
	return fake_now;
}

static struct sockaddr_storage sa(const char *addr)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(5353);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(5353);
	}
	return ss;
}

#define SA(s) ((const struct sockaddr *)&(s))

static dnsd_rrl_conf_t conf(uint32_t rate, uint32_t slip, uint32_t window)
{
	dnsd_rrl_conf_t c = {.on = true,
	                     .rate = rate,
	                     .slip = slip,
	                     .window = window,
	                     .v4_prefix = 24,
	                     .v6_prefix = 56};
	return c;
}

/* n responses of key at `now`: counts of each verdict. */
static void run(dnsd_rrl_t *t, const dnsd_rrl_conf_t *c, uint64_t key, uint32_t now, unsigned n,
                unsigned *pass, unsigned *drop, unsigned *slip)
{
	*pass = *drop = *slip = 0;
	for (unsigned i = 0; i < n; i++) {
		switch (dnsd_rrl_account(t, c, key, now)) {
		case DNSD_RRL_PASS:
			(*pass)++;
			break;
		case DNSD_RRL_DROP:
			(*drop)++;
			break;
		case DNSD_RRL_SLIP:
			(*slip)++;
			break;
		}
	}
}

static void test_bucket(void **state)
{
	(void)state;
	dnsd_rrl_t *t = dnsd_rrl_new(10);
	assert_non_null(t);
	dnsd_rrl_conf_t c = conf(10, 2, 3);
	unsigned p, d, s;

	/* A burst of 200: the first 10 pass; of the 190 limited, every 2nd slips. */
	run(t, &c, 1, 100, 200, &p, &d, &s);
	assert_int_equal(p, 10);
	assert_int_equal(s, 95);
	assert_int_equal(d, 95);
	/* The order: drop, slip, drop, slip ... */
	assert_int_equal(dnsd_rrl_account(t, &c, 1, 100), DNSD_RRL_DROP);
	assert_int_equal(dnsd_rrl_account(t, &c, 1, 100), DNSD_RRL_SLIP);

	/* Debt is capped at rate x window = 30: after `window` quiet seconds the balance is
	 * back at 0 (the next response is still limited); one second more and it passes. */
	run(t, &c, 1, 103, 1, &p, &d, &s);
	assert_int_equal(p, 0);
	run(t, &c, 2, 100, 500, &p, &d, &s); /* another key, as deep in debt */
	run(t, &c, 2, 104, 10, &p, &d, &s);
	assert_int_equal(p, 10);
	run(t, &c, 2, 104, 1, &p, &d, &s);
	assert_int_equal(p, 0);

	/* Refill: 5 over the limit at t, then 5 pass at t + 1 (10 credit - 5 debt). */
	run(t, &c, 3, 200, 15, &p, &d, &s);
	assert_int_equal(p, 10);
	run(t, &c, 3, 201, 10, &p, &d, &s);
	assert_int_equal(p, 5);
	/* Under the rate, never limited. */
	for (uint32_t sec = 300; sec < 330; sec++) {
		run(t, &c, 4, sec, 10, &p, &d, &s);
		assert_int_equal(p, 10);
	}
	/* A key at the rate after a flood stays limited (BIND's average over the window). */
	run(t, &c, 5, 400, 100, &p, &d, &s);
	for (uint32_t sec = 401; sec < 410; sec++) {
		run(t, &c, 5, sec, 10, &p, &d, &s);
		assert_int_equal(p, 0);
	}

	/* slip 0: all limited responses dropped; slip 1: all truncated. */
	dnsd_rrl_conf_t c0 = conf(10, 0, 15), c1 = conf(10, 1, 15);
	run(t, &c0, 6, 500, 50, &p, &d, &s);
	assert_int_equal(p, 10);
	assert_int_equal(d, 40);
	assert_int_equal(s, 0);
	run(t, &c1, 7, 500, 50, &p, &d, &s);
	assert_int_equal(p, 10);
	assert_int_equal(d, 0);
	assert_int_equal(s, 40);
	/* slip 3: every third. */
	dnsd_rrl_conf_t c3 = conf(10, 3, 15);
	run(t, &c3, 8, 500, 40, &p, &d, &s);
	assert_int_equal(s, 10);
	assert_int_equal(d, 20);

	/* A large rate and window: the debt is capped in 24 bits, no overflow. */
	dnsd_rrl_conf_t big = conf(1000000, 2, 3600);
	run(t, &big, 9, 600, 1000001, &p, &d, &s);
	assert_int_equal(p, 1000000);
	run(t, &big, 9, 601, 1, &p, &d, &s);
	assert_int_equal(p, 1);

	/* The clock wraps past 2^16 seconds: ages are taken mod 2^16. */
	run(t, &c, 10, 65535, 11, &p, &d, &s);
	assert_int_equal(p, 10);
	run(t, &c, 10, 65536 + 5, 10, &p, &d, &s);
	assert_int_equal(p, 10);
	dnsd_rrl_free(t);
}

static void test_key(void **state)
{
	(void)state;
	dnsd_rrl_t *t = dnsd_rrl_new(10);
	assert_non_null(t);
	dnsd_rrl_conf_t c = conf(10, 2, 15);
	const uint8_t www[] = "\3www\7example\3com";
	const uint8_t WWW[] = "\3WwW\7ExAmPle\3COM";
	const uint8_t mail[] = "\4mail\7example\3com";
	struct sockaddr_storage a = sa("192.0.2.1"), b = sa("192.0.2.200"), o = sa("192.0.3.1"),
	                        m = sa("::ffff:192.0.2.7"), v6a = sa("2001:db8:0:1::1"),
	                        v6b = sa("2001:db8:0:ff::2"), v6o = sa("2001:db8:0:100::1");
#define K(src, kind, n) dnsd_rrl_key(t, &c, SA(src), kind, n, n != NULL ? sizeof(n) : 0)
	uint64_t k = K(a, DNSD_RRL_ANSWER, www);
	assert_true(k == K(b, DNSD_RRL_ANSWER, www));  /* same /24 */
	assert_true(k == K(m, DNSD_RRL_ANSWER, www));  /* IPv4-mapped: the same /24 */
	assert_true(k == K(a, DNSD_RRL_ANSWER, WWW));  /* case folded */
	assert_true(k != K(o, DNSD_RRL_ANSWER, www));  /* another /24 */
	assert_true(k != K(a, DNSD_RRL_NODATA, www));  /* another kind */
	assert_true(k != K(a, DNSD_RRL_ANSWER, mail)); /* another name */
	assert_true(k != K(a, DNSD_RRL_ANSWER, NULL)); /* no name */
	assert_true(K(v6a, DNSD_RRL_ERROR, NULL) == K(v6b, DNSD_RRL_ERROR, NULL)); /* same /56 */
	assert_true(K(v6a, DNSD_RRL_ERROR, NULL) != K(v6o, DNSD_RRL_ERROR, NULL));
	/* /32 and /128: per address. */
	c.v4_prefix = 32;
	c.v6_prefix = 128;
	assert_true(K(a, DNSD_RRL_ANSWER, www) != K(b, DNSD_RRL_ANSWER, www));
	assert_true(K(v6a, DNSD_RRL_ERROR, NULL) != K(v6b, DNSD_RRL_ERROR, NULL));
	/* A partial byte: /23 joins 192.0.2.x and 192.0.3.x. */
	c.v4_prefix = 23;
	assert_true(K(a, DNSD_RRL_ANSWER, www) == K(o, DNSD_RRL_ANSWER, www));
#undef K
	/* Another table, another seed: keys differ (cannot be aimed). */
	dnsd_rrl_t *t2 = dnsd_rrl_new(10);
	assert_non_null(t2);
	assert_true(dnsd_rrl_key(t, &c, SA(a), DNSD_RRL_ANSWER, www, sizeof(www)) !=
	            dnsd_rrl_key(t2, &c, SA(a), DNSD_RRL_ANSWER, www, sizeof(www)));
	dnsd_rrl_free(t2);
	dnsd_rrl_free(t);
}

static void test_exempt(void **state)
{
	(void)state;
	cfg_prefix_t ex[2];
	assert_int_equal(cfg_parse_prefix("198.51.100.0/22", &ex[0]), 0);
	assert_int_equal(cfg_parse_prefix("2001:db8:5::/48", &ex[1]), 0);
	dnsd_rrl_conf_t c = conf(10, 2, 15);
	c.exempt = ex;
	c.n_exempt = 2;
	struct sockaddr_storage in1 = sa("198.51.103.9"), in2 = sa("::ffff:198.51.100.1"),
	                        in3 = sa("2001:db8:5:ffff::1"), out1 = sa("198.51.104.1"),
	                        out2 = sa("2001:db8:6::1");
	assert_true(dnsd_rrl_exempt(&c, SA(in1)));
	assert_true(dnsd_rrl_exempt(&c, SA(in2)));
	assert_true(dnsd_rrl_exempt(&c, SA(in3)));
	assert_false(dnsd_rrl_exempt(&c, SA(out1)));
	assert_false(dnsd_rrl_exempt(&c, SA(out2)));
	c.n_exempt = 0;
	assert_false(dnsd_rrl_exempt(&c, SA(in1)));
}

/* One group of 8 slots: a flood of new keys takes the slots with credit, not the debtor's. */
static void test_pressure(void **state)
{
	(void)state;
	dnsd_rrl_t *t = dnsd_rrl_new(3);
	assert_non_null(t);
	dnsd_rrl_conf_t c = conf(10, 0, 15);
	unsigned p, d, s;
	run(t, &c, 0xabc00000000000ull, 10, 100, &p, &d, &s);
	assert_int_equal(p, 10);
	for (uint64_t k = 1; k <= 1000; k++) {
		run(t, &c, k << 44, 10, 1, &p, &d, &s);
		assert_int_equal(p, 1);
	}
	run(t, &c, 0xabc00000000000ull, 11, 1, &p, &d, &s);
	assert_int_equal(p, 0); /* still remembered, still in debt */

	/* Keys gauge: 8 slots used, all touched within the window; none when off. */
	t->clock = fake_clock;
	fake_now = 11;
	assert_int_equal(dnsd_rrl_keys(t), 0);
	dnsd_rrl_configure(t, &c);
	assert_int_equal(dnsd_rrl_keys(t), 8);
	fake_now = 11 + 15;
	assert_int_equal(dnsd_rrl_keys(t), 0);
	dnsd_rrl_free(t);
}

/* ---- the hook in dnsd_answer ---- */

static const char *const zone[] = {
        "example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300",
        "example.com. 3600 IN NS ns1.example.com.",
        "ns1 300 IN A 192.0.2.1",
        "www 300 IN A 192.0.2.10",
        "sub 3600 IN NS ns.sub",
        "ns.sub 3600 IN A 192.0.2.53",
};

typedef struct answered {
	unsigned full, tc, none;
} answered_t;

static answered_t ask(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const char *name, unsigned n,
                      const struct sockaddr *src, dnsd_transport_t tr, const uint8_t *opts,
                      size_t opts_len)
{
	answered_t a = {0, 0, 0};
	fx_q_t q = {.name = name, .type = 1, .edns = true, .opts = opts, .opts_len = opts_len};
	uint8_t qbuf[512], out[4096];
	size_t qlen = fx_query(&q, qbuf, sizeof(qbuf));
	for (unsigned i = 0; i < n; i++) {
		size_t len = dnsd_answer(ctx, snap, NULL, qbuf, qlen, out, sizeof(out), src, tr);
		if (len == 0) {
			a.none++;
		} else if (FX_TC(out)) {
			a.tc++;
			assert_int_equal(FX_AN(out), 0);
			assert_int_equal(FX_NS(out), 0);
			assert_int_equal(FX_AR(out), 1); /* the OPT */
			assert_int_equal(FX_QD(out), 1);
		} else {
			a.full++;
		}
	}
	return a;
}

static void test_answer_hook(void **state)
{
	(void)state;
	fx_t fx;
	assert_int_equal(fx_init(&fx), 0);
	assert_int_equal(fx_add_zone(&fx, "example.com.", zone, AYA_ARRAY_LEN(zone)), 0);
	cfg_prefix_t ex;
	assert_int_equal(cfg_parse_prefix("203.0.113.0/24", &ex), 0);
	fx.cfg.dns.rrl = (cfg_rrl_t){.enabled = true,
	                             .responses_per_second = 5,
	                             .slip = 2,
	                             .window_s = 15,
	                             .ipv4_prefix = 24,
	                             .ipv6_prefix = 56,
	                             .exempt = &ex,
	                             .n_exempt = 1};
	dnsd_snap_t *snap;
	char err[256];
	assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &snap, err, sizeof(err)), 0);
	dnsd_ctx_t *ctx = dnsd_ctx_new();
	dnsd_rrl_t *t = dnsd_rrl_new(10);
	assert_non_null(ctx);
	assert_non_null(t);
	t->clock = fake_clock;
	fake_now = 1000;
	struct sockaddr_storage c1 = sa("192.0.2.99"), c2 = sa("198.51.100.1"),
	                        c3 = sa("203.0.113.5"), c4 = sa("2001:db8::1");

	/* No table (TCP thread, tests): nothing limited. */
	answered_t a = ask(ctx, snap, "www.example.com", 20, SA(c1), DNSD_UDP, NULL, 0);
	assert_int_equal(a.full, 20);
	dnsd_ctx_set_rrl(ctx, t);

	a = ask(ctx, snap, "www.example.com", 25, SA(c1), DNSD_UDP, NULL, 0);
	assert_int_equal(a.full, 5);
	assert_int_equal(a.tc, 10);
	assert_int_equal(a.none, 10);
	const dnsd_counters_t *k = dnsd_ctx_counters(ctx);
	assert_int_equal(atomic_load(&k->rrl_dropped), 10);
	assert_int_equal(atomic_load(&k->rrl_slipped), 10);
	assert_int_equal(atomic_load(&k->truncated), 10);
	/* TCP: never. */
	a = ask(ctx, snap, "www.example.com", 20, SA(c1), DNSD_TCP, NULL, 0);
	assert_int_equal(a.full, 20);
	/* The same client, other kinds and names have their own buckets. */
	a = ask(ctx, snap, "ns1.example.com", 5, SA(c1), DNSD_UDP, NULL, 0);
	assert_int_equal(a.full, 5);
	/* NXDOMAIN: every name of the zone shares one bucket. */
	const char *nx[] = {"a.example.com", "b.example.com", "c.example.com",
	                    "d.example.com", "e.example.com", "f.example.com"};
	unsigned full = 0;
	for (size_t i = 0; i < AYA_ARRAY_LEN(nx); i++) {
		full += ask(ctx, snap, nx[i], 1, SA(c1), DNSD_UDP, NULL, 0).full;
	}
	assert_int_equal(full, 5);
	/* Referrals: keyed by the delegation, every name below it shares. */
	full = ask(ctx, snap, "x.sub.example.com", 3, SA(c1), DNSD_UDP, NULL, 0).full;
	full += ask(ctx, snap, "y.sub.example.com", 3, SA(c1), DNSD_UDP, NULL, 0).full;
	assert_int_equal(full, 5);
	/* Errors (REFUSED outside our zones): one bucket for the client. */
	full = ask(ctx, snap, "example.net", 3, SA(c1), DNSD_UDP, NULL, 0).full;
	full += ask(ctx, snap, "example.org", 3, SA(c1), DNSD_UDP, NULL, 0).full;
	assert_int_equal(full, 5);
	/* Another prefix, IPv6: its own. Exempt: never. */
	assert_int_equal(ask(ctx, snap, "www.example.com", 8, SA(c2), DNSD_UDP, NULL, 0).full, 5);
	assert_int_equal(ask(ctx, snap, "www.example.com", 8, SA(c4), DNSD_UDP, NULL, 0).full, 5);
	assert_int_equal(ask(ctx, snap, "www.example.com", 50, SA(c3), DNSD_UDP, NULL, 0).full, 50);

	/* A valid server cookie exempts; a client cookie alone or a forged one does not. */
	uint8_t opt[4 + 24] = {0, 10, 0, 24, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t head[8] = {1, 0, 0, 0};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	dnsd_put32(head + 4, (uint32_t)ts.tv_sec);
	memcpy(opt + 12, head, 8);
	assert_int_equal(
	        dnsd_cookie_hash(ctx, fx.cfg.dns.cookie_secret, opt + 4, head, SA(c1), opt + 20),
	        0);
	a = ask(ctx, snap, "www.example.com", 30, SA(c1), DNSD_UDP, opt, sizeof(opt));
	assert_int_equal(a.full, 30);
	opt[27] ^= 1;
	a = ask(ctx, snap, "www.example.com", 30, SA(c1), DNSD_UDP, opt, sizeof(opt));
	assert_int_equal(a.full, 0);
	opt[3] = 8;
	a = ask(ctx, snap, "www.example.com", 30, SA(c1), DNSD_UDP, opt, 12);
	assert_int_equal(a.full, 0);

	/* A new second: c2 was 3 in debt, so 5 - 3 = 2 more pass. */
	fake_now++;
	assert_int_equal(ask(ctx, snap, "www.example.com", 5, SA(c2), DNSD_UDP, NULL, 0).full, 2);

	/* RRL off in the snapshot: the table is not consulted. */
	dnsd_snap_t *off;
	fx.cfg.dns.rrl.enabled = false;
	assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &off, err, sizeof(err)), 0);
	assert_int_equal(ask(ctx, off, "www.example.com", 50, SA(c1), DNSD_UDP, NULL, 0).full, 50);

	dnsd_snap_free(off);
	dnsd_snap_free(snap);
	dnsd_ctx_free(ctx);
	dnsd_rrl_free(t);
	fx_fini(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_bucket),      cmocka_unit_test(test_key),
	        cmocka_unit_test(test_exempt),      cmocka_unit_test(test_pressure),
	        cmocka_unit_test(test_answer_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
