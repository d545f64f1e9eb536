/*
 * One probe of one target on the agent's event base: a non-blocking
 * connect through a bufferevent (plain, or OpenSSL for https), an HTTP
 * request, and the response read up to the agent's cap. The target's one
 * timer is armed with the probe timeout while the probe is in flight.
 * Whatever happens the probe ends in agent_probe_done() (or, for a local
 * error, agent_probe_skip()) exactly once.
 *
 * Keep-alive (http/https, the monitor's `keepalive`): after a good response
 * that ends exactly at the end of what was read (HTTP/1.1, Content-Length or
 * chunked, no "Connection: close"), the bufferevent stays open, idle, with
 * reading on so that a close by the server frees it at once; the next probe
 * sends its request on it. Every failure, a close-delimited body or
 * AGENT_KEEPALIVE_REQUESTS requests close it. A kept connection that fails
 * before the first byte of the answer (EOF, reset) is retried once on a
 * fresh one within the same probe, so a server closing idle connections is
 * not held against the backend, while a dead one still fails the retry.
 */
#include "agent/agent_int.h"
#include "common/time.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static void close_bev(struct target *t)
{
	if (t->bev != NULL) {
		bufferevent_free(t->bev); /* BEV_OPT_CLOSE_ON_FREE: the socket and SSL too */
		t->bev = NULL;
	}
	t->in_flight = false;
	t->connected = false;
	t->n_requests = 0;
}

/* The probe ended; keep: the connection stays open, idle, for the next one. */
static void finish_keep(struct target *t, const char *err, double util, uint32_t capacity,
                        bool keep)
{
	if (keep) {
		t->in_flight = false;
	} else {
		close_bev(t);
	}
	agent_probe_done(t, err, util, capacity);
}

static void finish(struct target *t, const char *err, double util, uint32_t capacity)
{
	finish_keep(t, err, util, capacity, false);
}

void agent_probe_reset(struct target *t)
{
	close_bev(t);
	free(t->req);
	t->req = NULL;
	t->req_len = 0;
}

void agent_probe_timeout(struct target *t)
{
	char err[64];
	snprintf(err, sizeof(err), "timeout after %ums", t->spec.timeout_ms);
	t->a->stats.timeouts++;
	finish(t, err, NAN, 0);
}

static bool local_error(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

static int connect_fresh(struct target *t);

/*
 * A kept connection failed before the first byte of the answer: the server
 * closed it while idle, or is gone. That alone is not the backend's fault:
 * once per probe, the request goes again on a fresh connection, under the
 * same timeout. true: retried (or the probe ended); false: not a retry case.
 */
static bool retry(struct target *t)
{
	if (!t->reused || t->retried || evbuffer_get_length(bufferevent_get_input(t->bev)) > 0) {
		return false;
	}
	t->retried = true;
	t->a->stats.retries++;
	close_bev(t);
	int rc = connect_fresh(t);
	if (rc == 0) {
		return true;
	}
	if (local_error(-rc)) {
		agent_probe_skip(t);
		return true;
	}
	char err[96];
	snprintf(err, sizeof(err), "connect: %s", strerror(-rc));
	agent_probe_done(t, err, NAN, 0);
	return true;
}

static bool expected(const spec_t *s, int status)
{
	for (size_t i = 0; i < s->n_expect; i++) {
		if (s->expect[i] == status) {
			return true;
		}
	}
	return false;
}

/* Check what arrived; eof: the peer closed. Ends the probe unless more is needed. */
static void check_response(struct target *t, bool eof)
{
	struct evbuffer *in = bufferevent_get_input(t->bev);
	size_t len = evbuffer_get_length(in);
	size_t cap = t->a->opts.max_response;
	if (len > cap) {
		char err[64];
		snprintf(err, sizeof(err), "response too large (over %zu bytes)", cap);
		finish(t, err, NAN, 0);
		return;
	}
	const char *buf = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	agent_http_resp_t r;
	const char *why;
	int rc = agent_http_parse(buf, len, eof, &r, &why);
	if (rc == -ENOMEM) {
		finish(t, "out of memory reading the response", NAN, 0);
		return;
	}
	if (rc < 0) {
		finish(t, len == 0 ? "connection closed without a response" : why, NAN, 0);
		return;
	}
	if (rc == AGENT_HTTP_MORE) {
		return;
	}
	if (!expected(&t->spec, r.status)) {
		char err[64];
		snprintf(err, sizeof(err), "unexpected status %d", r.status);
		free(r.body);
		finish(t, err, NAN, 0);
		return;
	}
	if (rc == AGENT_HTTP_STATUS) {
		return;
	}
	double util;
	uint32_t capacity;
	cfg_load_src_t load = {t->spec.load_kind, t->spec.load_key};
	cfg_load_src_t capsrc = {t->spec.cap_kind, t->spec.cap_key};
	agent_load_read(&load, &capsrc, &r, &util, &capacity);
	const char *err = NULL;
	if (t->spec.body != NULL && strstr(r.body, t->spec.body) == NULL) {
		err = "body does not contain the expected text";
	}
	free(r.body);
	/* Keep the connection only when this response ends exactly where the buffer does. */
	bool keep = err == NULL && !eof && t->spec.keepalive && r.keep_alive && r.msg_len == len &&
	            t->n_requests < AGENT_KEEPALIVE_REQUESTS;
	if (keep) {
		evbuffer_drain(in, len);
	}
	finish_keep(t, err, util, capacity, keep);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct target *t = arg;
	if (!t->in_flight) {
		close_bev(t); /* bytes on an idle kept connection: nobody asked, drop it */
		return;
	}
	check_response(t, false);
}

/* The request, built once per target and settings. */
static bool build_request(struct target *t)
{
	const spec_t *s = &t->spec;
	const char *host = s->host != NULL ? s->host : t->addr;
	bool v6 = s->host == NULL && t->ss.ss_family == AF_INET6;
	bool dflt_port = (s->type == CFG_MON_HTTP && s->port == 80) ||
	                 (s->type == CFG_MON_HTTPS && s->port == 443);
	char hostport[300];
	if (dflt_port) {
		snprintf(hostport, sizeof(hostport), v6 ? "[%s]" : "%s", host);
	} else {
		snprintf(hostport, sizeof(hostport), v6 ? "[%s]:%u" : "%s:%u", host, s->port);
	}
	static const char fmt[] = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: aya-agent\r\n"
	                          "Accept: */*\r\n%s\r\n";
	const char *conn = s->keepalive ? "" : "Connection: close\r\n";
	int n = snprintf(NULL, 0, fmt, s->path, hostport, conn);
	if (n < 0 || (t->req = malloc((size_t)n + 1)) == NULL) {
		return false;
	}
	snprintf(t->req, (size_t)n + 1, fmt, s->path, hostport, conn);
	t->req_len = (size_t)n;
	return true;
}

static bool send_request(struct target *t)
{
	if (t->req == NULL && !build_request(t)) {
		return false;
	}
	t->n_requests++;
	struct evbuffer *out = bufferevent_get_output(t->bev);
	size_t off = 0;
	if (t->spec.type != CFG_MON_HTTPS && evbuffer_get_length(out) == 0) {
		/*
		 * Straight to the socket: through the bufferevent a write costs
		 * two epoll_ctl() calls and a loop turn. Whatever is left (or an
		 * error, which the bufferevent then reports) goes the usual way.
		 */
		ssize_t n = send(bufferevent_getfd(t->bev), t->req, t->req_len,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)t->req_len) {
			return true;
		}
		off = n > 0 ? (size_t)n : 0;
	}
	return evbuffer_add(out, t->req + off, t->req_len - off) == 0;
}

/* The text of a TLS failure: the verification result when that failed, else the library's. */
static void tls_error(struct target *t, char *err, size_t len)
{
	SSL *ssl = bufferevent_openssl_get_ssl(t->bev);
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = bufferevent_get_openssl_error(t->bev);
	if (t->spec.tls_verify && vr != X509_V_OK) {
		snprintf(err, len, "tls: certificate verify failed: %s",
		         X509_verify_cert_error_string(vr));
	} else if (e != 0) {
		char buf[160];
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, len, "tls: %s", buf);
	} else {
		err[0] = '\0';
	}
	ERR_clear_error();
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct target *t = arg;
	if (!t->in_flight) {
		close_bev(t); /* the server closed an idle kept connection: fine, next probe
		                 connects */
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		t->connected = true;
		if (t->spec.type == CFG_MON_TCP) {
			finish(t, NULL, NAN, 0);
			return;
		}
		if (!send_request(t)) {
			close_bev(t);
			agent_probe_skip(t);
			return;
		}
		bufferevent_enable(t->bev, EV_READ);
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && retry(t)) {
		return;
	}
	if (what & BEV_EVENT_EOF) {
		check_response(t, true);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();
		char err[256] = "";
		if (t->spec.type == CFG_MON_HTTPS) {
			tls_error(t, err, sizeof(err));
		}
		if (err[0] == '\0') {
			snprintf(err, sizeof(err), "%s: %s", t->connected ? "read" : "connect",
			         e != 0 ? strerror(e) : "connection failed");
		}
		finish(t, err, NAN, 0);
	}
}

static SSL *new_ssl(struct target *t)
{
	SSL *ssl = SSL_new(t->a->ssl);
	if (ssl == NULL) {
		return NULL;
	}
	const spec_t *s = &t->spec;
	const char *name = s->sni != NULL ? s->sni : s->host;
	unsigned char bin[16];
	bool is_ip = name != NULL &&
	             (inet_pton(AF_INET, name, bin) == 1 || inet_pton(AF_INET6, name, bin) == 1);
	/* RFC 6066 section 3: no SNI for a literal address. */
	if (name != NULL && !is_ip) {
		SSL_set_tlsext_host_name(ssl, name);
	}
	if (s->tls_verify) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
		if (name != NULL && !is_ip) {
			SSL_set1_host(ssl, name);
		} else {
			X509_VERIFY_PARAM_set1_ip_asc(p, name != NULL ? name : t->addr);
		}
	} else {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	}
	return ssl;
}

/* Open a new connection for the probe in flight. 0 or -errno (socket() failed). */
static int connect_fresh(struct target *t)
{
	struct event_base *base = t->a->opts.base;
	int opts = BEV_OPT_CLOSE_ON_FREE;
	if (t->spec.type == CFG_MON_HTTPS) {
		SSL *ssl = new_ssl(t);
		if (ssl != NULL) {
			t->bev = bufferevent_openssl_socket_new(base, -1, ssl,
			                                        BUFFEREVENT_SSL_CONNECTING, opts);
			if (t->bev == NULL) {
				SSL_free(ssl);
			} else {
				bufferevent_openssl_set_allow_dirty_shutdown(t->bev, 1);
			}
		}
	} else {
		t->bev = bufferevent_socket_new(base, -1, opts);
	}
	if (t->bev == NULL) {
		return -ENOMEM;
	}
	bufferevent_setcb(t->bev, on_read, NULL, on_event, t);
	/* Read no more than one byte past the cap: enough to know it was exceeded. */
	bufferevent_setwatermark(t->bev, EV_READ, 0, t->a->opts.max_response + 1);
	t->in_flight = true;
	t->connected = false;
	t->reused = false;
	t->started_us = aya_mono_us();
	if (bufferevent_socket_connect(t->bev, (struct sockaddr *)&t->ss, (int)t->sslen) < 0) {
		int e = errno;
		close_bev(t);
		return -(e != 0 ? e : ECONNREFUSED);
	}
	t->a->stats.connects++;
	return 0;
}

bool agent_probe_start(struct target *t)
{
	t->retried = false;
	if (t->bev != NULL) {
		/* The kept connection, idle since the last probe: send on it. */
		t->in_flight = true;
		t->reused = true;
		t->started_us = aya_mono_us();
		if (!send_request(t)) {
			close_bev(t);
			return false;
		}
		return true;
	}
	int rc = connect_fresh(t);
	if (rc == 0) {
		return true;
	}
	if (local_error(-rc)) {
		return false; /* socket() failed: ours, not the backend's */
	}
	char err[96];
	snprintf(err, sizeof(err), "connect: %s", strerror(-rc));
	agent_probe_done(t, err, NAN, 0);
	return true;
}
