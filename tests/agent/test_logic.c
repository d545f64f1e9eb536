/*
 * Unit tests of the agent's pure parts: the rise/fall state machine, the
 * scheduler's jitter bounds, the RTT EWMA, slow start, the HTTP response
 * parser and the load parsers (header, JSON, Prometheus). Tables, a name
 * per case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/agent_int.h"

static void test_hs_step(void **state)
{
	(void)state;
	/* results: '+' success, '-' failure; want: status letter after each (U, D, ?). */
	static const struct {
		const char *name;
		uint32_t rise, fall;
		const char *results;
		const char *want;
	} cases[] = {
	        {"rise 2 from unknown", 2, 2, "++", "?U"},
	        {"fall 2 from unknown", 2, 2, "--", "?D"},
	        {"one failure keeps up", 2, 2, "++-+", "?UUU"},
	        {"two failures mark down", 2, 2, "++--", "?UUD"},
	        {"flapping never rises", 2, 2, "+-+-+-", "??????"},
	        {"recover needs rise", 3, 1, "-++++", "DDDUU"},
	        {"rise 1 fall 1", 1, 1, "+-+-", "UDUD"},
	        {"failure resets rise", 3, 3, "++-++", "?????"},
	        {"fall 3 counts", 2, 3, "++---", "?UUUD"},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		agent_hs_t hs = {.status = STATE_ST_UNKNOWN};
		state_status_t prev = hs.status;
		for (size_t k = 0; cases[i].results[k] != '\0'; k++) {
			bool ok = cases[i].results[k] == '+';
			bool changed = agent_hs_step(&hs, ok, cases[i].rise, cases[i].fall);
			char got = hs.status == STATE_ST_UP
			                   ? 'U'
			                   : (hs.status == STATE_ST_DOWN ? 'D' : '?');
			if (got != cases[i].want[k] || changed != (hs.status != prev)) {
				fail_msg("%s: step %zu: got %c (changed %d), want %c",
				         cases[i].name, k, got, changed, cases[i].want[k]);
			}
			if ((ok && (hs.fall != 0 || hs.rise == 0)) ||
			    (!ok && (hs.rise != 0 || hs.fall == 0))) {
				fail_msg("%s: step %zu: counts rise %u fall %u", cases[i].name, k,
				         hs.rise, hs.fall);
			}
			prev = hs.status;
		}
	}
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_jitter_bounds(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t interval;
		double jitter;
	} cases[] = {
	        {"default 500ms 0.1", 500, 0.1},
	        {"1s 0.5", 1000, 0.5},
	        {"no jitter", 500, 0.0},
	        {"short 50ms 0.2", 50, 0.2},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		uint64_t s = 88172645463325252ull + i;
		uint32_t lo = UINT32_MAX, hi = 0, flo = UINT32_MAX, fhi = 0;
		double min = cases[i].interval * (1.0 - cases[i].jitter);
		double max = cases[i].interval * (1.0 + cases[i].jitter);
		for (int k = 0; k < 20000; k++) {
			uint32_t d =
			        agent_next_delay_ms(cases[i].interval, cases[i].jitter, xs(&s));
			uint32_t f = agent_first_delay_ms(cases[i].interval, xs(&s));
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			flo = f < flo ? f : flo;
			fhi = f > fhi ? f : fhi;
			if (d + 1 < min || d > max || f >= cases[i].interval) {
				fail_msg("%s: delay %u / first %u out of bounds", cases[i].name, d,
				         f);
			}
		}
		/* Spread: the range is used, not one value (probes do not align). */
		if (cases[i].jitter > 0 && (double)(hi - lo) < 0.9 * (max - min) - 1) {
			fail_msg("%s: spread %u..%u too narrow", cases[i].name, lo, hi);
		}
		if (cases[i].jitter == 0 && (lo != cases[i].interval || hi != cases[i].interval)) {
			fail_msg("%s: %u..%u without jitter", cases[i].name, lo, hi);
		}
		if ((double)(fhi - flo) < 0.9 * cases[i].interval - 1) {
			fail_msg("%s: first phase %u..%u too narrow", cases[i].name, flo, fhi);
		}
	}
	/* Extremes of the random input stay in bounds. */
	assert_int_equal(agent_next_delay_ms(500, 0.1, 0), 450);
	assert_true(agent_next_delay_ms(500, 0.1, UINT64_MAX) <= 550);
	assert_true(agent_first_delay_ms(500, UINT64_MAX) < 500);
}

static void test_rtt_and_slow_start(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t old, sample, want;
	} rtt[] = {
	        {"first sample taken", 0, 1000, 1000},
	        {"alpha 0.3", 1000, 2000, 1300},
	        {"down weighted", 1000, 0, 700},
	        {"zero first sample is 1", 0, 0, 1},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(rtt); i++) {
		uint32_t got = agent_rtt_ewma(rtt[i].old, rtt[i].sample);
		if (got != rtt[i].want) {
			fail_msg("%s: got %u want %u", rtt[i].name, got, rtt[i].want);
		}
	}
	static const struct {
		const char *name;
		uint64_t up_since, now;
		uint32_t slow;
		double want;
	} ss[] = {
	        {"not recovering", 0, 5000, 10000, 1.0},
	        {"slow start off", 1000, 1000, 0, 1.0},
	        {"just recovered: floor", 1000, 1000, 10000, AGENT_SLOW_START_FLOOR},
	        {"half way", 1000, 6000, 10000, 0.5},
	        {"done", 1000, 11000, 10000, 1.0},
	        {"clock behind: floor", 5000, 1000, 10000, AGENT_SLOW_START_FLOOR},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(ss); i++) {
		double got = agent_slow_start_factor(ss[i].up_since, ss[i].now, ss[i].slow);
		if (fabs(got - ss[i].want) > 1e-9) {
			fail_msg("%s: got %g want %g", ss[i].name, got, ss[i].want);
		}
	}
}

static void test_http_parse(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *in;
		bool eof;
		int want_rc, status;
		const char *body, *why;
	} cases[] = {
	        {"complete with length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
	         AGENT_HTTP_COMPLETE, 200, "ok", NULL},
	        {"body until eof", "HTTP/1.0 200 OK\r\n\r\nhello", true, AGENT_HTTP_COMPLETE, 200,
	         "hello", NULL},
	        {"body not yet ended", "HTTP/1.0 200 OK\r\n\r\nhel", false, AGENT_HTTP_STATUS, 200,
	         NULL, NULL},
	        {"partial status line", "HTTP/1.", false, AGENT_HTTP_MORE, 0, NULL, NULL},
	        {"partial headers", "HTTP/1.1 503 x\r\nX-A: b\r\n", false, AGENT_HTTP_MORE, 0, NULL,
	         NULL},
	        {"status without reason", "HTTP/1.1 204\r\n\r\n", false, AGENT_HTTP_COMPLETE, 204,
	         "", NULL},
	        {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", false, AGENT_HTTP_COMPLETE,
	         200, "x", NULL},
	        {"chunked",
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	         "chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
	         false, AGENT_HTTP_COMPLETE, 200, "abcde", NULL},
	        {"chunked incomplete",
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", false,
	         AGENT_HTTP_STATUS, 200, NULL, NULL},
	        {"garbage", "SSH-2.0-OpenSSH_9.0\r\n", false, -EBADMSG, 0, NULL, "bad status line"},
	        {"garbage short", "xyz", false, -EBADMSG, 0, NULL, "bad status line"},
	        {"bad code", "HTTP/1.1 2x0 OK\r\n\r\n", false, -EBADMSG, 0, NULL,
	         "bad status line"},
	        {"code out of range", "HTTP/1.1 999 OK\r\n\r\n", false, -EBADMSG, 0, NULL,
	         "bad status line"},
	        {"closed in headers", "HTTP/1.1 200 OK\r\nA: b", true, -EBADMSG, 0, NULL,
	         "truncated headers"},
	        {"closed in body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true,
	         -EBADMSG, 0, NULL, "truncated body"},
	        {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, -EBADMSG, 0,
	         NULL, "bad content-length"},
	        {"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
	         -EBADMSG, 0, NULL, "bad chunked body"},
	        {"empty at eof", "", true, -EBADMSG, 0, NULL, "bad status line"},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		agent_http_resp_t r;
		const char *why = NULL;
		int rc = agent_http_parse(cases[i].in, strlen(cases[i].in), cases[i].eof, &r, &why);
		if (rc != cases[i].want_rc) {
			fail_msg("%s: rc %d want %d (%s)", cases[i].name, rc, cases[i].want_rc,
			         why);
		}
		if (cases[i].status != 0 && r.status != cases[i].status) {
			fail_msg("%s: status %d", cases[i].name, r.status);
		}
		if (cases[i].body != NULL &&
		    (r.body == NULL || strcmp(r.body, cases[i].body) != 0)) {
			fail_msg("%s: body '%s'", cases[i].name, r.body ? r.body : "(null)");
		}
		if (cases[i].why != NULL && strcmp(why, cases[i].why) != 0) {
			fail_msg("%s: why '%s'", cases[i].name, why);
		}
		free(r.body);
	}
}

/* Where a response ends and whether its connection may carry the next probe. */
static void test_http_framing(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *in;
		bool eof;
		int want_rc;
		size_t msg_len; /* COMPLETE only */
		bool keep_alive;
	} cases[] = {
	        {"length, 1.1: reusable", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false,
	         AGENT_HTTP_COMPLETE, 40, true},
	        {"length, next response behind it",
	         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP", false, AGENT_HTTP_COMPLETE,
	         40, true},
	        {"connection close",
	         "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n", false,
	         AGENT_HTTP_COMPLETE, 57, false},
	        {"connection keep-alive, close listed",
	         "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n",
	         false, AGENT_HTTP_COMPLETE, 69, false},
	        {"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false,
	         AGENT_HTTP_COMPLETE, 38, false},
	        {"body until eof: not reusable", "HTTP/1.1 200 OK\r\n\r\nab", true,
	         AGENT_HTTP_COMPLETE, 21, false},
	        {"no-body status", "HTTP/1.1 204 No Content\r\n\r\n", false, AGENT_HTTP_COMPLETE,
	         27, true},
	        {"chunked with trailer",
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: "
	         "1\r\n\r\n",
	         false, AGENT_HTTP_COMPLETE, 67, true},
	        {"chunked, trailers not ended",
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n", false,
	         AGENT_HTTP_STATUS, 0, false},
	        {"chunked, closed after last chunk",
	         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n", true,
	         AGENT_HTTP_COMPLETE, 57, false},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		agent_http_resp_t r;
		const char *why = NULL;
		int rc = agent_http_parse(cases[i].in, strlen(cases[i].in), cases[i].eof, &r, &why);
		if (rc != cases[i].want_rc) {
			fail_msg("%s: rc %d want %d (%s)", cases[i].name, rc, cases[i].want_rc,
			         why);
		}
		if (rc == AGENT_HTTP_COMPLETE &&
		    (r.msg_len != cases[i].msg_len || r.keep_alive != cases[i].keep_alive)) {
			fail_msg("%s: msg_len %zu keep_alive %d", cases[i].name, r.msg_len,
			         r.keep_alive);
		}
		free(r.body);
	}
}

static void test_load_header(void **state)
{
	(void)state;
	static const char hdr[] = "Server: x\r\nX-Load: 0.73\r\nx-pct:  42% \r\nX-Bad: abc\r\n"
	                          "X-Empty:\r\nX-Cap: 1500\r\n";
	static const struct {
		const char *name, *header;
		int rc;
		double want;
	} cases[] = {
	        {"fraction", "X-Load", 0, 0.73},
	        {"case-insensitive name", "x-load", 0, 0.73},
	        {"percent, padded", "X-Pct", 0, 0.42},
	        {"integer", "X-Cap", 0, 1500},
	        {"garbage", "X-Bad", -EBADMSG, 0},
	        {"empty", "X-Empty", -EBADMSG, 0},
	        {"absent", "X-None", -ENOENT, 0},
	        {"prefix is not the header", "X-Loa", -ENOENT, 0},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		double v = -1;
		int rc = agent_load_header(hdr, sizeof(hdr) - 1, cases[i].header, &v);
		if (rc != cases[i].rc || (rc == 0 && fabs(v - cases[i].want) > 1e-9)) {
			fail_msg("%s: rc %d v %g", cases[i].name, rc, v);
		}
	}
}

static void test_load_json(void **state)
{
	(void)state;
	static const char body[] = "{\"load\": 0.5, \"stats\": {\"util\": 0.25, \"cap\": \"800\","
	                           " \"name\": \"x\"}, \"list\": [ {\"u\": 0.9} ], \"n\": null}";
	static const struct {
		const char *name, *path;
		int rc;
		double want;
	} cases[] = {
	        {"top level", "load", 0, 0.5},
	        {"nested", "stats.util", 0, 0.25},
	        {"numeric string", "stats.cap", 0, 800},
	        {"array index", "list.0.u", 0, 0.9},
	        {"string not a number", "stats.name", -EBADMSG, 0},
	        {"null", "n", -EBADMSG, 0},
	        {"missing", "stats.nope", -ENOENT, 0},
	        {"index out of range", "list.5.u", -ENOENT, 0},
	        {"through a number", "load.x", -ENOENT, 0},
	        {"empty segment", "stats..util", -ENOENT, 0},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		double v = -1;
		int rc = agent_load_json(body, sizeof(body) - 1, cases[i].path, &v);
		if (rc != cases[i].rc || (rc == 0 && fabs(v - cases[i].want) > 1e-9)) {
			fail_msg("%s: rc %d v %g", cases[i].name, rc, v);
		}
	}
	double v;
	assert_int_equal(agent_load_json("{not json", 9, "a", &v), -EBADMSG);
}

static void test_load_prometheus(void **state)
{
	(void)state;
	static const char body[] = "# HELP backend_load load\n"
	                           "# TYPE backend_load gauge\n"
	                           "backend_load_total 99\n"
	                           "backend_load{pool=\"a}b\",x=\"q\\\"}\"} 0.61 1700000000000\n"
	                           "backend_capacity 1200\n"
	                           "  indented_metric 0.3\n"
	                           "bad_metric{x=\"unterminated 0.1\n"
	                           "bad_value abc\n"
	                           "nan_metric NaN\n"
	                           "last_line_metric 0.7";
	static const struct {
		const char *name, *metric;
		int rc;
		double want;
	} cases[] = {
	        {"labels with braces and escapes, timestamp", "backend_load", 0, 0.61},
	        {"no labels", "backend_capacity", 0, 1200},
	        {"longer name first", "backend_load_total", 0, 99},
	        {"indented", "indented_metric", 0, 0.3},
	        {"unterminated labels", "bad_metric", -ENOENT, 0},
	        {"garbage value", "bad_value", -ENOENT, 0},
	        {"absent", "nothing", -ENOENT, 0},
	        {"comment is not a sample", "HELP", -ENOENT, 0},
	        {"no trailing newline", "last_line_metric", 0, 0.7},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		double v = -1;
		int rc = agent_load_prometheus(body, sizeof(body) - 1, cases[i].metric, &v);
		if (rc != cases[i].rc || (rc == 0 && fabs(v - cases[i].want) > 1e-9)) {
			fail_msg("%s: rc %d v %g", cases[i].name, rc, v);
		}
	}
	double v;
	assert_int_equal(agent_load_prometheus(body, sizeof(body) - 1, "nan_metric", &v), 0);
	assert_true(isnan(v));
}

/* agent_load_read: unknown stays unknown (NAN), never 0. */
static void test_load_read(void **state)
{
	(void)state;
	char hdr[] = "X-Load: 0.4\r\nX-Over: 1.5\r\nX-Cap: 250\r\nX-Neg: -3\r\n";
	char body[] = "{\"u\": 0.2}";
	agent_http_resp_t r = {.status = 200,
	                       .headers = hdr,
	                       .headers_len = strlen(hdr),
	                       .body = body,
	                       .body_len = strlen(body)};
	static const struct {
		const char *name;
		cfg_load_src_t load, cap;
		double util;
		uint32_t capacity;
	} cases[] = {
	        {"header and capacity",
	         {CFG_LOAD_HEADER, "X-Load"},
	         {CFG_LOAD_HEADER, "X-Cap"},
	         0.4,
	         250},
	        {"json", {CFG_LOAD_JSON, "u"}, {CFG_LOAD_NONE, NULL}, 0.2, 0},
	        {"over 1 is unknown", {CFG_LOAD_HEADER, "X-Over"}, {CFG_LOAD_NONE, NULL}, NAN, 0},
	        {"absent is unknown", {CFG_LOAD_HEADER, "X-None"}, {CFG_LOAD_NONE, NULL}, NAN, 0},
	        {"negative capacity unknown",
	         {CFG_LOAD_NONE, NULL},
	         {CFG_LOAD_HEADER, "X-Neg"},
	         NAN,
	         0},
	        {"none configured", {CFG_LOAD_NONE, NULL}, {CFG_LOAD_NONE, NULL}, NAN, 0},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		double u;
		uint32_t c;
		agent_load_read(&cases[i].load, &cases[i].cap, &r, &u, &c);
		bool ok = isnan(cases[i].util) ? isnan(u) : fabs(u - cases[i].util) < 1e-9;
		if (!ok || c != cases[i].capacity) {
			fail_msg("%s: util %g cap %u", cases[i].name, u, c);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_hs_step),
	        cmocka_unit_test(test_jitter_bounds),
	        cmocka_unit_test(test_rtt_and_slow_start),
	        cmocka_unit_test(test_http_parse),
	        cmocka_unit_test(test_http_framing),
	        cmocka_unit_test(test_load_header),
	        cmocka_unit_test(test_load_json),
	        cmocka_unit_test(test_load_prometheus),
	        cmocka_unit_test(test_load_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
