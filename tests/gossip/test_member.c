/*
 * The SWIM state machine, one table row per transition: a member in a given
 * state and incarnation receives alive/suspect/dead at some incarnation, and
 * must end in the expected state and incarnation. Plus refutation about
 * ourselves, the Lifeguard timeout formula and suspicion confirmations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/gossip_int.h"

static uint64_t clock_ms = 5000;
static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return clock_ms;
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

static gsp_t *node(size_t n_peers)
{
	gsp_config_t c;
	gsp_config_init(&c);
	c.name = "me";
	c.region = "eu";
	c.seed = 7;
	assert_int_equal(gsp_addr_parse("127.0.0.1:7946", &c.addr), 0);
	gsp_clock_t clk = {.now_ms = now_ms, .arm = arm};
	gsp_transport_t tr = {.send_udp = send_udp, .tcp_request = tcp_req};
	gsp_t *g = gsp_new(&c, NULL, &clk, &tr, NULL);
	assert_non_null(g);
	gsp_start(g);
	for (size_t i = 0; i < n_peers; i++) {
		char name[32], addr[48];
		snprintf(name, sizeof(name), "p%zu", i);
		snprintf(addr, sizeof(addr), "127.0.0.2:%zu", 8000 + i);
		m_alive_t a = {.name = name, .region = "us", .incarnation = 1};
		assert_int_equal(gsp_addr_parse(addr, &a.addr), 0);
		gsp_apply_alive(g, &a, false);
	}
	return g;
}

typedef enum { MSG_ALIVE, MSG_SUSPECT, MSG_DEAD, MSG_LEAVE } kind_t;

static void deliver(gsp_t *g, const char *name, kind_t k, uint64_t inc, const char *from)
{
	if (k == MSG_ALIVE) {
		m_alive_t a = {.name = name, .region = "us", .incarnation = inc};
		assert_int_equal(gsp_addr_parse("127.0.0.2:8000", &a.addr), 0);
		gsp_apply_alive(g, &a, false);
		return;
	}
	m_suspect_t s = {.name = name, .from = k == MSG_LEAVE ? name : from, .incarnation = inc};
	if (k == MSG_SUSPECT) {
		gsp_apply_suspect(g, &s);
	} else {
		s.dead = true;
		gsp_apply_dead(g, &s);
	}
}

/* Bring p0 to (state, inc). */
static void setup_state(gsp_t *g, gsp_state_t st, uint64_t inc)
{
	deliver(g, "p0", MSG_ALIVE, inc, NULL);
	if (st == GSP_ST_SUSPECT) {
		deliver(g, "p0", MSG_SUSPECT, inc, "p1");
	} else if (st == GSP_ST_DEAD) {
		deliver(g, "p0", MSG_DEAD, inc, "p1");
	} else if (st == GSP_ST_LEFT) {
		deliver(g, "p0", MSG_LEAVE, inc, NULL);
	}
	assert_int_equal(gsp_member_find(g, "p0")->state, st);
}

static void test_transitions(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		gsp_state_t st;
		uint64_t inc;
		kind_t msg;
		uint64_t msg_inc;
		gsp_state_t want;
		uint64_t want_inc;
	} cases[] = {
	        {"alive, newer alive: inc moves", GSP_ST_ALIVE, 5, MSG_ALIVE, 6, GSP_ST_ALIVE, 6},
	        {"alive, older alive: ignored", GSP_ST_ALIVE, 5, MSG_ALIVE, 4, GSP_ST_ALIVE, 5},
	        {"alive, suspect same inc", GSP_ST_ALIVE, 5, MSG_SUSPECT, 5, GSP_ST_SUSPECT, 5},
	        {"alive, suspect newer inc", GSP_ST_ALIVE, 5, MSG_SUSPECT, 7, GSP_ST_SUSPECT, 7},
	        {"alive, suspect older inc: ignored", GSP_ST_ALIVE, 5, MSG_SUSPECT, 4, GSP_ST_ALIVE,
	         5},
	        {"alive, dead same inc", GSP_ST_ALIVE, 5, MSG_DEAD, 5, GSP_ST_DEAD, 5},
	        {"alive, dead older inc: ignored", GSP_ST_ALIVE, 5, MSG_DEAD, 4, GSP_ST_ALIVE, 5},
	        {"alive, leave", GSP_ST_ALIVE, 5, MSG_LEAVE, 6, GSP_ST_LEFT, 6},
	        {"suspect, refuted by newer alive", GSP_ST_SUSPECT, 5, MSG_ALIVE, 6, GSP_ST_ALIVE,
	         6},
	        {"suspect, same-inc alive: no refute", GSP_ST_SUSPECT, 5, MSG_ALIVE, 5,
	         GSP_ST_SUSPECT, 5},
	        {"suspect, dead", GSP_ST_SUSPECT, 5, MSG_DEAD, 5, GSP_ST_DEAD, 5},
	        {"dead, suspect: ignored", GSP_ST_DEAD, 5, MSG_SUSPECT, 6, GSP_ST_DEAD, 5},
	        {"dead, same-inc alive same addr: ignored", GSP_ST_DEAD, 5, MSG_ALIVE, 5,
	         GSP_ST_DEAD, 5},
	        {"dead, rejoin with newer inc", GSP_ST_DEAD, 5, MSG_ALIVE, 6, GSP_ST_ALIVE, 6},
	        {"left, rejoin with newer inc", GSP_ST_LEFT, 5, MSG_ALIVE, 7, GSP_ST_ALIVE, 7},
	        {"left, dead: stays left", GSP_ST_LEFT, 5, MSG_DEAD, 9, GSP_ST_LEFT, 5},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		gsp_t *g = node(3);
		setup_state(g, cases[i].st, cases[i].inc);
		deliver(g, "p0", cases[i].msg, cases[i].msg_inc, "p2");
		const gsp_member_t *m = gsp_member_find(g, "p0");
		if (m->state != cases[i].want || m->incarnation != cases[i].want_inc) {
			fail_msg("%s: got %s/%llu", cases[i].name, gsp_state_name(m->state),
			         (unsigned long long)m->incarnation);
		}
		gsp_free(g);
	}
}

static void test_unknown_members(void **state)
{
	(void)state;
	gsp_t *g = node(0);
	deliver(g, "ghost", MSG_SUSPECT, 3, "x");
	deliver(g, "ghost", MSG_DEAD, 3, "x");
	assert_null(gsp_member_find(g, "ghost"));
	deliver(g, "new", MSG_ALIVE, 0, NULL);
	assert_int_equal(gsp_member_find(g, "new")->state, GSP_ST_ALIVE);
	assert_int_equal(gsp_live_count(g), 2);
	/* Names over the limit are refused. */
	char longname[GSP_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	deliver(g, longname, MSG_ALIVE, 1, NULL);
	assert_null(gsp_member_find(g, longname));
	gsp_free(g);
}

static void test_refute(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		kind_t msg;
		uint64_t msg_inc;
		uint64_t want_inc;
	} cases[] = {
	        {"suspected at our inc", MSG_SUSPECT, 0, 1},
	        {"suspected at a higher inc", MSG_SUSPECT, 9, 10},
	        {"declared dead", MSG_DEAD, 4, 5},
	        {"alive from an older instance with a higher inc", MSG_ALIVE, 3, 4},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		gsp_t *g = node(2);
		deliver(g, "me", cases[i].msg, cases[i].msg_inc, "p1");
		const gsp_member_t *me = gsp_member_find(g, "me");
		if (me->state != GSP_ST_ALIVE || me->incarnation != cases[i].want_inc) {
			fail_msg("%s: got %s/%llu", cases[i].name, gsp_state_name(me->state),
			         (unsigned long long)me->incarnation);
		}
		assert_int_equal(gsp_stats(g).refutes, 1);
		/* Refuting raises the local health multiplier (Lifeguard). */
		assert_int_equal(gsp_health_score(g), 1);
		gsp_free(g);
	}
}

static void test_suspicion_timeout_formula(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t min, max;
		unsigned k, c;
		uint64_t want;
	} cases[] = {
	        {"no confirmation: max", 4000, 24000, 2, 0, 24000},
	        {"one of two: log(2)/log(3)", 4000, 24000, 2, 1, 11381},
	        {"all confirmations: min", 4000, 24000, 2, 2, 4000},
	        {"more than expected: min", 4000, 24000, 2, 5, 4000},
	        {"k = 0: min", 4000, 24000, 0, 0, 4000},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		uint64_t t =
		        gsp_suspicion_timeout(cases[i].min, cases[i].max, cases[i].k, cases[i].c);
		if (t != cases[i].want) {
			fail_msg("%s: %llu", cases[i].name, (unsigned long long)t);
		}
	}
}

static void test_confirmations_shrink_timeout(void **state)
{
	(void)state;
	gsp_t *g = node(9); /* 10 members: min = 3 * log10(10) * 0.5 s = 1.5 s, max 9 s, k = 2 */
	clock_ms = 100000;
	deliver(g, "p0", MSG_SUSPECT, 1, "p1");
	member_t *m = gsp_mt_find(g, "p0");
	assert_non_null(m->susp);
	assert_int_equal(m->susp->deadline_ms - m->susp->start_ms, 9000);
	deliver(g, "p0", MSG_SUSPECT, 1, "p1"); /* the same suspecter again: not independent */
	assert_int_equal(m->susp->n, 0);
	deliver(g, "p0", MSG_SUSPECT, 1, "p2");
	assert_int_equal(m->susp->n, 1);
	deliver(g, "p0", MSG_SUSPECT, 1, "p3");
	assert_int_equal(m->susp->deadline_ms - m->susp->start_ms, 1500);
	/* Not yet: still suspect one ms before the deadline, dead at it. */
	gsp_check_suspects(g, m->susp->deadline_ms - 1);
	assert_int_equal(gsp_member_find(g, "p0")->state, GSP_ST_SUSPECT);
	clock_ms = m->susp->deadline_ms;
	gsp_check_suspects(g, clock_ms);
	assert_int_equal(gsp_member_find(g, "p0")->state, GSP_ST_DEAD);
	assert_int_equal(gsp_live_count(g), 9);
	gsp_free(g);
	clock_ms = 5000;
}

static void test_reap(void **state)
{
	(void)state;
	gsp_t *g = node(3);
	deliver(g, "p0", MSG_DEAD, 1, "p1");
	/* A reap whose now is older than the death (read earlier in the same tick) keeps it. */
	gsp_reap(g, clock_ms - 1);
	assert_non_null(gsp_member_find(g, "p0"));
	gsp_reap(g, clock_ms + 3599999);
	assert_non_null(gsp_member_find(g, "p0"));
	gsp_reap(g, clock_ms + 3600000);
	assert_null(gsp_member_find(g, "p0"));
	assert_non_null(gsp_member_find(g, "p1"));
	assert_non_null(gsp_member_find(g, "me"));
	assert_int_equal(gsp_member_count(g), 3);
	/* Forgotten members may come back at any incarnation. */
	deliver(g, "p0", MSG_ALIVE, 0, NULL);
	assert_int_equal(gsp_member_find(g, "p0")->state, GSP_ST_ALIVE);
	gsp_free(g);
}

/* Push/pull stretches above 32 live members (gsp_pushpull_every). */
static void test_pushpull_every(void **state)
{
	(void)state;
	static const struct {
		size_t n;
		unsigned want;
	} cases[] = {{0, 1},  {1, 1},  {2, 1},   {32, 1},  {33, 2},   {60, 2},
	             {64, 2}, {65, 3}, {128, 3}, {129, 4}, {1000, 6}, {1024, 6}};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		unsigned got = gsp_pushpull_every(cases[i].n);
		if (got != cases[i].want) {
			fail_msg("n = %zu: every %u ticks, want %u", cases[i].n, got,
			         cases[i].want);
		}
	}
}

/* Probe sequence numbers start below 2^20 and wrap at 2^21: 3 varint bytes on the wire. */
static void test_seq_no_wraps(void **state)
{
	(void)state;
	gsp_t *g = node(0);
	uint32_t first = gsp_next_seq_no(g);
	assert_true(first < (GSP_SEQ_NO_MASK >> 1) + 1);
	uint32_t prev = first;
	bool wrapped = false;
	for (uint32_t i = 0; i <= GSP_SEQ_NO_MASK; i++) {
		uint32_t n = gsp_next_seq_no(g);
		assert_true(n <= GSP_SEQ_NO_MASK);
		if (n != prev + 1) {
			assert_int_equal(prev, GSP_SEQ_NO_MASK);
			assert_int_equal(n, 0);
			wrapped = true;
		}
		prev = n;
	}
	assert_true(wrapped);
	/* 2^21 numbers later it is back where it started: in-flight probes never collide. */
	assert_int_equal(prev, first);
	gsp_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_transitions),
	        cmocka_unit_test(test_unknown_members),
	        cmocka_unit_test(test_refute),
	        cmocka_unit_test(test_suspicion_timeout_formula),
	        cmocka_unit_test(test_confirmations_shrink_timeout),
	        cmocka_unit_test(test_reap),
	        cmocka_unit_test(test_seq_no_wraps),
	        cmocka_unit_test(test_pushpull_every),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
