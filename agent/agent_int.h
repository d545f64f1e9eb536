/*
 * agent/ internals shared by its .c files and its tests: the HTTP response
 * parser and the load parsers (pure functions on bytes from the network:
 * bounds-checked, never trusting their input), and the target and agent
 * bodies shared by agent.c (set, schedule, publish) and probe.c (I/O).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>
#include <openssl/ssl.h>

#include "agent/agent.h"
#include "common/rng.h"

/* ---- http.c: one HTTP/1.x response ---- */

typedef struct agent_http_resp {
	int status;          /* 100..599 */
	size_t header_len;   /* bytes of status line + headers, blank line included */
	const char *headers; /* the header lines (after the status line), borrowed */
	size_t headers_len;
	char *body; /* malloc'd, de-chunked, NUL-terminated; free() it */
	size_t body_len;
	size_t msg_len;  /* COMPLETE: bytes of this response, framing included */
	bool keep_alive; /* COMPLETE: the connection may carry the next request (HTTP/1.1,
	                    framed by length or chunks, no "Connection: close") */
} agent_http_resp_t;

/* agent_http_parse() results (negative: a malformed response). */
enum {
	AGENT_HTTP_MORE = 0,     /* need more bytes */
	AGENT_HTTP_STATUS = 1,   /* status line and headers complete, body not yet */
	AGENT_HTTP_COMPLETE = 2, /* whole response: r->body is set */
};

/*
 * Parse the bytes received so far (eof: the peer closed). Returns
 * AGENT_HTTP_MORE, _STATUS, _COMPLETE, or -EBADMSG with *why set to a static
 * reason ("bad status line", "bad headers", "bad chunked body", "truncated
 * body"), or -ENOMEM.
 */
int agent_http_parse(const char *buf, size_t len, bool eof, agent_http_resp_t *r, const char **why)
        AYA_NONNULL(1, 4, 5);

/* ---- load.c: load and capacity from a response ---- */

/* Value of header `name` (case-insensitive) as a number; "73%" gives 0.73. 0 or -ENOENT/-EBADMSG.
 */
int agent_load_header(const char *headers, size_t len, const char *name, double *out)
        AYA_NONNULL(1, 3, 4);
/* Number at a dotted path ("a.b", "list.0.x") in a JSON body. 0 or -ENOENT/-EBADMSG. */
int agent_load_json(const char *body, size_t len, const char *path, double *out)
        AYA_NONNULL(1, 3, 4);
/* Value of the first sample of `metric` (any labels) in Prometheus text. 0 or -ENOENT. */
int agent_load_prometheus(const char *body, size_t len, const char *metric, double *out)
        AYA_NONNULL(1, 3, 4);
/*
 * Utilization (0..1) and capacity from a response per the monitor's sources:
 * *util is NAN unless a finite value in 0..1 was read; *capacity 0 unless a
 * finite value >= 1 was read (rounded, capped at UINT32_MAX).
 */
void agent_load_read(const cfg_load_src_t *load, const cfg_load_src_t *cap,
                     const agent_http_resp_t *r, double *util, uint32_t *capacity)
        AYA_NONNULL(1, 2, 3, 4, 5);

/* ---- agent.c / probe.c ---- */

/* A monitor's settings, owned by a target. */
typedef struct spec {
	char *name, *path, *host, *body, *sni, *load_key, *cap_key;
	cfg_monitor_type_t type;
	uint16_t port;
	uint16_t expect[16];
	size_t n_expect;
	uint32_t interval_ms, timeout_ms, rise, fall, slow_start_ms;
	double jitter;
	bool tls_verify;
	bool keepalive; /* http/https only */
	cfg_load_kind_t load_kind, cap_kind;
} spec_t;

struct target {
	agent_t *a;
	char key[STATE_NAME_MAX + 1];
	char addr[48];
	struct sockaddr_storage ss;
	socklen_t sslen;
	spec_t spec;
	struct event *timer; /* next probe, or the timeout of the one in flight */

	/*
	 * The probe in flight, and with keep-alive the connection kept between
	 * probes (bev set, in_flight false: idle, read enabled to see a close).
	 */
	struct bufferevent *bev;
	bool in_flight, connected;
	bool reused;         /* this probe runs on a kept connection */
	bool retried;        /* ... which failed once: now on a fresh one */
	uint32_t n_requests; /* requests sent on the current connection */
	char *req;           /* the request, built at the first probe */
	size_t req_len;
	bool keep;           /* agent_set_targets(): in the new set */
	uint64_t started_us; /* monotonic */

	/* Results. */
	agent_hs_t hs;
	uint32_t rtt_us, capacity;
	double util, reported_util;
	uint64_t since_ms, up_since_ms, last_ms;
	char error[STATE_ERROR_MAX + 1];
};

struct agent {
	agent_opts_t opts;
	char *node, *ca_file;
	SSL_CTX *ssl;
	struct target **t; /* sorted by key */
	size_t n;
	aya_rng_t rng; /* jitter */
	agent_stats_t stats;
};

uint64_t agent_rand(agent_t *a) AYA_NONNULL(1);

/* agent.c: schedule the next probe in ms, rounded up to a tick (AGENT_TICK_MS). */
void agent_arm_probe(struct target *t, uint32_t ms) AYA_NONNULL(1);
/* agent.c: a target's timer callback (next probe, or the timeout of the one in flight). */
void agent_timer_cb(evutil_socket_t fd, short what, void *arg);

/* probe.c: start one probe (timer set to the timeout); false: a local error, skipped. */
bool agent_probe_start(struct target *t) AYA_NONNULL(1);
/* Timer fired while in flight. */
void agent_probe_timeout(struct target *t) AYA_NONNULL(1);
/* Abandon the probe in flight uncounted, close a kept connection, forget the request. */
void agent_probe_reset(struct target *t) AYA_NONNULL(1);

/* agent.c: a probe could not run for a local reason (EMFILE...): counted, next one scheduled. */
void agent_probe_skip(struct target *t) AYA_NONNULL(1);

/* agent.c: a probe finished; err NULL = success (util/capacity from the response). */
void agent_probe_done(struct target *t, const char *err, double util, uint32_t capacity)
        AYA_NONNULL(1);
