/*
 * Unit tests for aya-loadgen (tests/bench/loadgen.c, included here with its
 * main() renamed, since a program has no library to link against): the
 * latency histogram, the query wire form with EDNS and Client Subnet, option
 * parsing, and whole runs against an in-process UDP responder on 127.0.0.1
 * that answers, answers with another rcode, or drops queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>

int loadgen_main(int argc, char **argv);
#define main loadgen_main
#include "tests/bench/loadgen.c"
#undef main

/* ---- histogram ---- */

static void test_hist_accuracy(void **state)
{
	(void)state;
	static const uint64_t values[] = {
	        0,    1,    31,    63,    64,      65,        127,           128,
	        1000, 4097, 25000, 99999, 1000000, 123456789, 5000000000ull,
	};
	unsigned prev = 0;

	for (size_t i = 0; i < AYA_ARRAY_LEN(values); i++) {
		unsigned idx = hist_index(values[i]);
		double v = hist_value(idx), err = v - (double)values[i];

		assert_true(idx < HIST_BUCKETS);
		assert_true(idx >= prev); /* monotonic in the value */
		prev = idx;
		/* Within half a bucket: exact below 64, then 1/64 relative width. */
		assert_true(err >= -0.5 - (double)values[i] / 64 &&
		            err <= (double)values[i] / 64 + 0.5);
	}
}

static void test_hist_percentiles(void **state)
{
	(void)state;
	stats_t *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	/* 98 answers at 10 us, 2 at 5 ms: p50 is 10 us, p99 is 5 ms. */
	for (int i = 0; i < 100; i++) {
		uint64_t lat = i < 98 ? 10000 : 5000000;

		st->hist[hist_index(lat)]++;
		st->received++;
		st->lat_max_ns = lat > st->lat_max_ns ? lat : st->lat_max_ns;
	}
	assert_true(hist_percentile(st, 50) > 9900 && hist_percentile(st, 50) < 10100);
	assert_true(hist_percentile(st, 99) > 4950000 && hist_percentile(st, 99) <= 5000000);
	/* Never above the largest sample. */
	assert_true(hist_percentile(st, 100) <= 5000000);
	free(st);
}

/* ---- query wire form ---- */

typedef struct wire_case {
	const char *label;
	const char *name, *type, *ecs;
	unsigned edns;
	int rc;
	size_t len;
	uint8_t wire[80];
} wire_case_t;

#define HDR(ar) 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, ar
#define QAB 1, 'a', 1, 'b', 0
static const wire_case_t wire_cases[] = {
        {"a-no-edns", "a.b", "A", NULL, 0, 0, 21, {HDR(0), QAB, 0, 1, 0, 1}},
        {"aaaa-edns", "A.b.", "aaaa", NULL, 1232, 0, 32, {HDR(1), 1, 'A', 1, 'b', 0,  0,
                                                          28,     0, 1,   0, 0,   41, 0x04,
                                                          0xd0,   0, 0,   0, 0,   0,  0}},
        {"ecs-v4-24", "a.b", "A", "81.2.69.0/24", 1232, 0, 43, {HDR(1), QAB,  0,    1, 0, 1, 0, 0,
                                                                41,     0x04, 0xd0, 0, 0, 0, 0, 0,
                                                                11,     0,    8,    0, 7, 0, 1, 24,
                                                                0,      81,   2,    69}},
        /* Bits past the prefix are cleared (RFC 7871 section 6). */
        {"ecs-v4-9-masked", "a.b", "TYPE65280", "10.255.1.1/9", 0, 0, 42, {HDR(1), QAB,  0xff, 0,
                                                                           0,      1,    0,    0,
                                                                           41,     0x04, 0xd0, 0,
                                                                           0,      0,    0,    0,
                                                                           10,     0,    8,    0,
                                                                           6,      0,    1,    9,
                                                                           0,      10,   0x80}},
        {"ecs-v6-47",
         "a.b",
         "MX",
         "2001:db8:ffff::/47",
         4096,
         0,
         46,
         {HDR(1), QAB, 0, 15, 0,  1, 0, 0,  41, 0x10, 0,    0,    0,    0,    0,   0,
          14,     0,   8, 0,  10, 0, 2, 47, 0,  0x20, 0x01, 0x0d, 0xb8, 0xff, 0xfe}},
        {"ecs-v4-0", "a.b", "A", "0.0.0.0/0", 1232, 0, 40, {HDR(1), QAB,  0, 1, 0, 1, 0, 0, 41,
                                                            0x04,   0xd0, 0, 0, 0, 0, 0, 8, 0,
                                                            8,      0,    4, 0, 1, 0, 0}},
        {"bad-type", "a.b", "NOPE", NULL, 0, -EINVAL, 0, {0}},
        {"bad-name", "a..b", "A", NULL, 0, -EINVAL, 0, {0}},
        {"bad-prefix-len", "a.b", "A", "1.2.3.4/33", 0, -EINVAL, 0, {0}},
        {"bad-address", "a.b", "A", "1.2.3/8", 0, -EINVAL, 0, {0}},
};

static void test_build_query(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(wire_cases); i++) {
		const wire_case_t *c = &wire_cases[i];
		query_t q;
		int rc = build_query(&q, c->name, c->type, c->ecs, c->edns);

		print_message("case %s\n", c->label);
		assert_int_equal(rc, c->rc);
		if (rc == 0) {
			assert_int_equal(q.len, c->len);
			assert_memory_equal(q.wire, c->wire, c->len);
			assert_int_equal(q.qlen, 9); /* "a.b": 5 name bytes, type, class */
		}
	}
}

static void test_question_equal(void **state)
{
	(void)state;
	static const uint8_t a[] = {3, 'W', 'w', 'W', 0, 0, 1, 0, 1};
	static const uint8_t b[] = {3, 'w', 'W', 'w', 0, 0, 1, 0, 1};
	static const uint8_t c[] = {3, 'w', 'W', 'x', 0, 0, 1, 0, 1};
	/* '@' and '`' differ only in bit 0x20 but are not letters. */
	static const uint8_t d[] = {1, '@', 0, 0, 1, 0, 1};
	static const uint8_t e[] = {1, '`', 0, 0, 1, 0, 1};

	assert_true(question_equal(a, b, sizeof(a)));
	assert_false(question_equal(a, c, sizeof(a)));
	assert_false(question_equal(d, e, sizeof(d)));
}

/* ---- options ---- */

typedef struct args_case {
	const char *label;
	const char *argv[8];
	int rc;
	int expect_rcode;
	double rate;
} args_case_t;

static const args_case_t args_cases[] = {
        {"name", {"lg", "-n", "a.b"}, 0, -1, 0},
        {"rcode-by-name",
         {"lg", "-n", "a.b", "--expect-rcode", "nxdomain", "-r", "1000"},
         0,
         3,
         1000},
        {"rcode-by-number", {"lg", "-q", "f", "--expect-rcode", "5"}, 0, 5, 0},
        {"both-sources", {"lg", "-n", "a.b", "-q", "f"}, -EINVAL, -1, 0},
        {"no-source", {"lg", "-r", "10"}, -EINVAL, -1, 0},
        {"bad-rcode", {"lg", "-n", "a.b", "--expect-rcode", "BOGUS"}, -EINVAL, -1, 0},
        {"window-zero", {"lg", "-n", "a.b", "-c", "0"}, -EINVAL, -1, 0},
        {"sockets-over-max", {"lg", "-n", "a.b", "-S", "17"}, -EINVAL, -1, 0},
        {"do-bit", {"lg", "-n", "a.b", "-D"}, 0, -1, 0},
        {"do-bit-without-edns", {"lg", "-n", "a.b", "-D", "-e", "0"}, -EINVAL, -1, 0},
        {"stray-argument", {"lg", "-n", "a.b", "extra"}, -EINVAL, -1, 0},
};

static void test_parse_args(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(args_cases); i++) {
		const args_case_t *c = &args_cases[i];
		char *argv[8] = {0};
		int argc = 0;
		opts_t o;

		print_message("case %s\n", c->label);
		while (c->argv[argc] != NULL) {
			argv[argc] = (char *)c->argv[argc];
			argc++;
		}
		optind = 0; /* glibc: full getopt reset */
		opterr = 0;
		assert_int_equal(parse_args(&o, argc, argv), c->rc);
		if (c->rc == 0) {
			assert_int_equal(o.expect_rcode, c->expect_rcode);
			assert_true(o.rate == c->rate);
			assert_int_equal(o.window, 500);
		}
	}
}

/* -D sets only the DO bit: the OPT's flags are 0x8000, the rest as without it. */
static void test_do_bit(void **state)
{
	lg_t *lg = calloc(1, sizeof(*lg));
	size_t cap = 0;
	query_t plain;

	(void)state;
	assert_non_null(lg);
	lg->o = (opts_t){.edns = 1232, .dnssec_ok = true};
	assert_int_equal(add_query(lg, &cap, "www.example.com", "A", "192.0.2.0/24"), 0);
	assert_int_equal(build_query(&plain, "www.example.com", "A", "192.0.2.0/24", 1232), 0);
	const query_t *q = &lg->q[0];
	const uint8_t *opt = q->wire + 12 + q->qlen;
	assert_int_equal(q->len, plain.len);
	assert_int_equal(opt[0], 0);                      /* root owner */
	assert_int_equal((opt[1] << 8) | opt[2], 41);     /* OPT */
	assert_int_equal((opt[7] << 8) | opt[8], 0x8000); /* flags: DO only */
	plain.wire[12 + plain.qlen + 7] |= 0x80;
	assert_memory_equal(q->wire, plain.wire, q->len);
	lg->o.edns = 0;
	lg->o.dnssec_ok = true;
	assert_int_equal(add_query(lg, &cap, "www.example.com", "A", NULL), -EINVAL);
	lg_free(lg);
}

/* ---- whole runs against an in-process responder ---- */

typedef struct responder {
	int fd;
	unsigned rcode;
	unsigned drop_every;     /* 0 = answer all; n = drop every n-th query */
	unsigned wrong_id_every; /* answer every n-th with another ID */
	_Atomic bool stop;
	unsigned seen;
} responder_t;

static void *responder_main(void *arg)
{
	responder_t *r = arg;
	uint8_t buf[1500];
	/* Bounded: stops on the flag or after 200k packets. */
	for (unsigned n = 0; !r->stop && n < 200000; n++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t len =
		        recvfrom(r->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);

		if (len < 12) {
			continue; /* timeout (SO_RCVTIMEO) or runt */
		}
		r->seen++;
		if (r->drop_every && r->seen % r->drop_every == 0) {
			continue;
		}
		if (r->wrong_id_every && r->seen % r->wrong_id_every == 0) {
			buf[0] ^= 0x80; /* an ID not in flight, or another query's */
		}
		buf[2] |= 0x80;
		buf[3] = (uint8_t)((buf[3] & 0xf0) | r->rcode);
		buf[7] = 1; /* ANCOUNT, no records: the client reads only the header */
		(void)sendto(r->fd, buf, (size_t)len, 0, (struct sockaddr *)&from, fromlen);
	}
	return NULL;
}

static unsigned responder_open(responder_t *r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};

	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return ntohs(sin.sin_port);
}

typedef struct run_case {
	const char *label;
	unsigned rcode, drop_every, wrong_id_every;
	double rate;
	int expect_rcode;
	uint64_t sent, lost_min, lost_max, wrong;
	bool all_answered;
} run_case_t;

static const run_case_t run_cases[] = {
        /* 0.3 s at 1000 q/s: 300 queries; a 1 s timeout keeps a busy host from losing any. */
        {"paced-clean", 0, 0, 0, 1000, 0, 300, 0, 0, 0, true},
        {"paced-wrong-rcode", 3, 0, 0, 1000, 0, 300, 0, 0, 300, true},
        {"paced-drop-every-10th", 0, 10, 0, 1000, -1, 300, 30, 30, 0, false},
        /* Wrong IDs are not matched: those queries are lost, never counted twice. */
        {"paced-wrong-id-every-5th", 0, 0, 5, 1000, 0, 300, 60, 60, 0, false},
        {"saturation", 0, 0, 0, 0, 0, 0, 0, 0, 0, true},
};

static void test_runs(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(run_cases); i++) {
		const run_case_t *c = &run_cases[i];
		responder_t r = {.rcode = c->rcode,
		                 .drop_every = c->drop_every,
		                 .wrong_id_every = c->wrong_id_every};
		unsigned port = responder_open(&r);
		lg_t *lg = calloc(1, sizeof(*lg));
		size_t cap = 0;
		pthread_t th;

		print_message("case %s\n", c->label);
		assert_non_null(lg);
		lg->o = (opts_t){.server = "127.0.0.1",
		                 .port = port,
		                 .edns = 1232,
		                 .window = 100,
		                 .rate = c->rate,
		                 .duration_s = 0.3,
		                 .timeout_ms = 1000,
		                 .nsocks = 2,
		                 .batch = 16,
		                 .expect_rcode = c->expect_rcode,
		                 .expect_answers = 1};
		assert_int_equal(add_query(lg, &cap, "www.example.com", "A", NULL), 0);
		assert_int_equal(pthread_create(&th, NULL, responder_main, &r), 0);
		assert_int_equal(lg_start(lg), 0);
		run(lg);
		r.stop = true;
		pthread_join(th, NULL);
		close(r.fd);

		const stats_t *st = &lg->st;
		/*
		 * Paced runs send rate x duration; a busy host may end the run a
		 * query or two short, so the counts that follow from it are
		 * checked against what was actually sent.
		 */
		if (c->sent) {
			assert_true(st->sent <= c->sent && st->sent + 3 >= c->sent);
		} else {
			assert_true(st->sent > 1000);
		}
		assert_int_equal(st->send_errors, 0);
		unsigned every = c->drop_every ? c->drop_every : c->wrong_id_every;
		uint64_t lost = every ? st->sent / every : 0;
		assert_true(st->lost + 1 >= lost && st->lost <= lost + 1);
		assert_true(st->lost >= c->lost_min - (c->lost_min > 0 ? 1 : 0) &&
		            st->lost <= c->lost_max);
		assert_int_equal(st->received + st->lost, st->sent);
		assert_int_equal(st->wrong, c->wrong ? st->received : 0);
		assert_int_equal(st->rcode[c->rcode], st->received);
		if (c->all_answered) {
			assert_int_equal(st->received, st->sent);
		}
		lg_free(lg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hist_accuracy), cmocka_unit_test(test_hist_percentiles),
	        cmocka_unit_test(test_build_query),   cmocka_unit_test(test_question_equal),
	        cmocka_unit_test(test_parse_args),    cmocka_unit_test(test_do_bit),
	        cmocka_unit_test(test_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
