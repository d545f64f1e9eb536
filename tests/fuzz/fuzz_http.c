/*
 * Fuzz target: an HTTP probe response (agent/http.c) as the agent sees it:
 * the whole input, with and without the peer's close, and its first half
 * (the parser runs again as bytes arrive). A complete response is then read
 * for load and capacity by each kind of source (header, JSON path,
 * Prometheus metric: agent/load.c). Checks the parser's promises: a
 * complete response lies within the bytes given, its body is
 * NUL-terminated, and a response complete in a prefix is the same response
 * once more bytes arrive.
 */
#include "tests/fuzz/fuzz.h"

#include <math.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_int.h"

static const cfg_load_src_t srcs[][2] = {
        {{CFG_LOAD_HEADER, "X-Load"}, {CFG_LOAD_HEADER, "X-Capacity"}},
        {{CFG_LOAD_JSON, "load"}, {CFG_LOAD_JSON, "stats.capacity"}},
        {{CFG_LOAD_PROMETHEUS, "app_load"}, {CFG_LOAD_PROMETHEUS, "app_capacity"}},
};

static int parse(const char *buf, size_t len, bool eof, agent_http_resp_t *r)
{
	const char *why = NULL;
	memset(r, 0, sizeof(*r));
	int rc = agent_http_parse(buf, len, eof, r, &why);
	if (rc < 0 && rc != -ENOMEM && why == NULL) {
		abort();
	}
	if (rc >= AGENT_HTTP_STATUS &&
	    (r->status < 100 || r->status > 599 || r->header_len > len)) {
		abort();
	}
	if (rc == AGENT_HTTP_COMPLETE && (r->body == NULL || r->body[r->body_len] != '\0' ||
	                                  r->msg_len > len || r->header_len > r->msg_len)) {
		abort();
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size > 0 ? size : 1);
	if (buf == NULL) {
		abort();
	}
	memcpy(buf, data, size);
	agent_http_resp_t half, r;
	int rc_half = parse(buf, size / 2, false, &half);
	for (int eof = 0; eof <= 1; eof++) {
		int rc = parse(buf, size, eof != 0, &r);
		if (rc_half == AGENT_HTTP_COMPLETE &&
		    (rc != AGENT_HTTP_COMPLETE || r.msg_len != half.msg_len ||
		     r.body_len != half.body_len || memcmp(r.body, half.body, r.body_len) != 0)) {
			abort();
		}
		if (rc == AGENT_HTTP_COMPLETE) {
			for (size_t i = 0; i < sizeof(srcs) / sizeof(*srcs); i++) {
				double util;
				uint32_t cap;
				agent_load_read(&srcs[i][0], &srcs[i][1], &r, &util, &cap);
				if (!isnan(util) && !(util >= 0.0 && util <= 1.0)) {
					abort();
				}
			}
		}
		free(r.body);
	}
	free(half.body);
	free(buf);
	return 0;
}

int fuzz_write_seeds(const char *dir)
{
	static const char *const seeds[][2] = {
	        {"ok-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Load: 0.42\r\n"
	                      "X-Capacity: 150\r\n\r\nok"},
	        {"ok-close", "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhealthy\n"},
	        {"chunked-json", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	                         "Content-Type: application/json\r\n\r\n"
	                         "10\r\n{\"load\": 0.25, \"\r\n"
	                         "19\r\nstats\": {\"capacity\": 80}}\r\n0\r\n\r\n"},
	        {"prometheus", "HTTP/1.1 200 OK\r\nContent-Length: 96\r\nConnection: close\r\n\r\n"
	                       "# HELP app_load Load.\n# TYPE app_load gauge\n"
	                       "app_load{pool=\"a\"} 0.7\napp_capacity 120\n"},
	        {"percent", "HTTP/1.1 503 Service Unavailable\r\nX-Load: 73%\r\n"
	                    "Content-Length: 0\r\n\r\n"},
	        {"keepalive-two", "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n"
	                          "Content-Length: 1\r\n\r\nx"},
	        {"head-only", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc"},
	        {"bad-status", "HTTP/1.1 20 OK\r\n\r\n"},
	        {"lf-only", "HTTP/1.1 200 OK\nContent-Length: 3\n\nyes"},
	        {"chunk-ext", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                      "3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n"},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(*seeds); i++) {
		if (!fuzz_seed(dir, seeds[i][0], seeds[i][1], strlen(seeds[i][1]))) {
			return -1;
		}
	}
	return 0;
}
