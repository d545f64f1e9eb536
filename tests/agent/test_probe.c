/*
 * Integration tests of agent probes: a libevent loop in this process probes
 * real backends on 127.0.0.x, served by a listener thread per backend made
 * here (modes: 200, 500, hang, slow, garbage, reset, huge body, TLS with a
 * self-signed certificate made with OpenSSL), plus a keep-alive backend that
 * serves many requests per connection and counts connections. Every wait is
 * bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "agent/agent.h"
#include "state/state.h"

enum mode { M_OK, M_500, M_HANG, M_SLOW, M_GARBAGE, M_RESET, M_HUGE, M_BODY_LOAD };

typedef struct backend {
	int fd;
	uint16_t port;
	_Atomic int mode;
	_Atomic bool stop;
	SSL_CTX *tls;
	pthread_t th;
	int held[64]; /* hung connections, closed at stop */
	int n_held;
} backend_t;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void respond(backend_t *b, int c)
{
	SSL *ssl = NULL;
	struct timeval tv = {0, 300000};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (b->tls != NULL) {
		ssl = SSL_new(b->tls);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) != 1) {
			SSL_free(ssl);
			close(c);
			return;
		}
	}
	char req[2048];
	int n = ssl ? SSL_read(ssl, req, sizeof(req)) : (int)recv(c, req, sizeof(req), 0);
	(void)n;
	int mode = atomic_load(&b->mode);
	static char huge[100000];
	const char *out = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Load: 0.4\r\n\r\nok";
	if (mode == M_500) {
		out = "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";
	} else if (mode == M_GARBAGE) {
		out = "SSH-2.0-OpenSSH_9.0\r\n";
	} else if (mode == M_BODY_LOAD) {
		out = "HTTP/1.1 200 OK\r\n\r\n# TYPE x gauge\nbackend_load{a=\"b\"} 0.8\n";
	} else if (mode == M_HUGE) {
		memset(huge, 'a', sizeof(huge));
		memcpy(huge, "HTTP/1.1 200 OK\r\n\r\n", 19);
		huge[sizeof(huge) - 1] = '\0';
		out = huge;
	} else if (mode == M_SLOW) {
		usleep(250000);
	} else if (mode == M_HANG && b->n_held < 64) {
		b->held[b->n_held++] = c;
		SSL_free(ssl);
		return;
	} else if (mode == M_RESET) {
		struct linger l = {1, 0};
		setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		SSL_free(ssl);
		close(c);
		return;
	}
	size_t len = strlen(out);
	if (ssl) {
		SSL_write(ssl, out, (int)len);
		SSL_shutdown(ssl);
		SSL_free(ssl);
	} else if (send(c, out, len, MSG_NOSIGNAL) < 0) {
		/* the prober may have given up already */
	}
	close(c);
}

static void *serve(void *arg)
{
	backend_t *b = arg;
	while (!atomic_load(&b->stop)) {
		struct pollfd p = {b->fd, POLLIN, 0};
		if (poll(&p, 1, 20) <= 0) {
			continue;
		}
		int c = accept(b->fd, NULL, NULL);
		if (c >= 0) {
			respond(b, c);
		}
	}
	for (int i = 0; i < b->n_held; i++) {
		close(b->held[i]);
	}
	return NULL;
}

static int listen_on(const char *ip, uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, ip, &sin.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4096), 0);
	socklen_t sl = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return fd;
}

static backend_t *backend_start(const char *ip, int mode, SSL_CTX *tls)
{
	backend_t *b = calloc(1, sizeof(*b));
	b->fd = listen_on(ip, &b->port);
	atomic_store(&b->mode, mode);
	b->tls = tls;
	assert_int_equal(pthread_create(&b->th, NULL, serve, b), 0);
	return b;
}

/* Stop and close the listener: later connects are refused. */
static void backend_stop(backend_t *b)
{
	atomic_store(&b->stop, true);
	pthread_join(b->th, NULL);
	close(b->fd);
	free(b);
}

/* A self-signed certificate for CN=backend.test. */
static SSL_CTX *tls_ctx(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"backend.test",
	                           -1, -1, 0);
	X509_set_issuer_name(x, nm);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	return ctx;
}

static cfg_monitor_t monitor(const char *name, cfg_monitor_type_t type, uint16_t port)
{
	static const uint16_t expect[] = {200};
	return (cfg_monitor_t){.name = name,
	                       .type = type,
	                       .port = port,
	                       .path = "/health",
	                       .expect = expect,
	                       .n_expect = 1,
	                       .interval_ms = 100,
	                       .timeout_ms = 80,
	                       .rise = 2,
	                       .fall = 2,
	                       .jitter = 0.1,
	                       .slow_start_ms = 1000,
	                       .keepalive = true};
}

static agent_target_t target(const char *ip, const cfg_monitor_t *m)
{
	agent_target_t t = {.monitor = m};
	struct sockaddr_in *sin = (struct sockaddr_in *)&t.ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(m->port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	t.sslen = sizeof(*sin);
	snprintf(t.addr, sizeof(t.addr), "%s", ip);
	assert_true(state_endpoint_key(t.key, sizeof(t.key), ip, m->port, m->name) > 0);
	return t;
}

struct changes {
	int n;
	state_status_t last;
};

static void on_change(void *ctx, const char *key, state_status_t st, double util)
{
	(void)key;
	(void)util;
	struct changes *c = ctx;
	c->n++;
	c->last = st;
}

/* Run the loop until backend 0 of the agent has `want` status or ms pass; the elapsed ms. */
static uint64_t run_until(struct event_base *base, agent_t *a, size_t idx, state_status_t want,
                          uint64_t ms, agent_backend_t *out)
{
	uint64_t t0 = now_ms();
	for (;;) {
		struct timeval tv = {0, 5000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		agent_backend_t *b;
		size_t n;
		assert_int_equal(agent_backends(a, &b, &n), 0);
		assert_true(idx < n);
		*out = b[idx];
		free(b);
		if (out->status == want || now_ms() - t0 > ms) {
			return now_ms() - t0;
		}
	}
}

static void test_modes(void **state)
{
	(void)state;
	SSL_CTX *tls = tls_ctx();
	static const struct {
		const char *name;
		int mode;
		cfg_monitor_type_t type;
		bool tls, verify;
		const char *body;
		state_status_t want;
		const char *error;
	} cases[] = {
	        {"http 200 up", M_OK, CFG_MON_HTTP, false, false, NULL, STATE_ST_UP, ""},
	        {"tcp up", M_HANG, CFG_MON_TCP, false, false, NULL, STATE_ST_UP, ""},
	        {"http 500 down", M_500, CFG_MON_HTTP, false, false, NULL, STATE_ST_DOWN,
	         "unexpected status 500"},
	        {"hang times out", M_HANG, CFG_MON_HTTP, false, false, NULL, STATE_ST_DOWN,
	         "timeout after 80ms"},
	        {"slow times out", M_SLOW, CFG_MON_HTTP, false, false, NULL, STATE_ST_DOWN,
	         "timeout after 80ms"},
	        {"garbage", M_GARBAGE, CFG_MON_HTTP, false, false, NULL, STATE_ST_DOWN,
	         "bad status line"},
	        {"reset", M_RESET, CFG_MON_HTTP, false, false, NULL, STATE_ST_DOWN,
	         "Connection reset by peer"},
	        {"huge body", M_HUGE, CFG_MON_HTTP, false, false, NULL, STATE_ST_DOWN,
	         "response too large (over 65536 bytes)"},
	        {"body substring missing", M_OK, CFG_MON_HTTP, false, false, "healthy",
	         STATE_ST_DOWN, "body does not contain the expected text"},
	        {"body substring found", M_OK, CFG_MON_HTTP, false, false, "ok", STATE_ST_UP, ""},
	        {"https self-signed, no verify", M_OK, CFG_MON_HTTPS, true, false, NULL,
	         STATE_ST_UP, ""},
	        {"https self-signed, verify", M_OK, CFG_MON_HTTPS, true, true, NULL, STATE_ST_DOWN,
	         "tls: certificate verify failed: self-signed certificate"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct event_base *base = event_base_new();
		backend_t *b =
		        backend_start("127.0.0.31", cases[i].mode, cases[i].tls ? tls : NULL);
		struct changes ch = {0};
		agent_opts_t o = {.base = base, .on_change = on_change, .ctx = &ch, .seed = 42};
		agent_t *a;
		assert_int_equal(agent_new(&o, &a), 0);
		cfg_monitor_t m = monitor("m", cases[i].type, b->port);
		m.body = cases[i].body;
		m.tls_verify = cases[i].verify;
		m.sni = cases[i].tls ? "backend.test" : NULL;
		m.load = (cfg_load_src_t){CFG_LOAD_HEADER, "X-Load"};
		agent_target_t t = target("127.0.0.31", &m);
		assert_int_equal(agent_set_targets(a, &t, 1), 0);
		agent_backend_t v;
		uint64_t ms = run_until(base, a, 0, cases[i].want, 3000, &v);
		if (v.status != cases[i].want || strstr(v.error, cases[i].error) == NULL) {
			fail_msg("%s: status %d error '%s' after %llums", cases[i].name, v.status,
			         v.error, (unsigned long long)ms);
		}
		if (cases[i].want == STATE_ST_UP && cases[i].type != CFG_MON_TCP) {
			assert_true(v.rtt_us > 0);
			assert_true(fabs(v.utilization - 0.4) < 1e-9); /* from X-Load */
		} else {
			assert_true(isnan(v.utilization)); /* unknown, never 0 */
		}
		agent_stats_t st;
		agent_stats_get(a, &st);
		/* One status change; a load becoming known also calls on_change. */
		if (st.transitions != 1 || ch.n < 1 || ch.last != cases[i].want) {
			fail_msg("%s: %llu transitions, %d changes", cases[i].name,
			         (unsigned long long)st.transitions, ch.n);
		}
		assert_true(st.probes_sent >= 2);
		agent_free(a);
		backend_stop(b);
		event_base_free(base);
	}
	SSL_CTX_free(tls);
}

/* A killed backend is down within interval x fall + timeout + jitter (+ loop slack). */
static void test_kill_detection(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	backend_t *b = backend_start("127.0.0.32", M_OK, NULL);
	char dir[] = "/tmp/aya-agent-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	state_t *st;
	assert_int_equal(state_open(dir, NULL, &st), 0);
	agent_opts_t o = {.base = base, .state = st, .node = "n1", .seed = 7};
	agent_t *a;
	assert_int_equal(agent_new(&o, &a), 0);
	cfg_monitor_t m = monitor("web", CFG_MON_HTTP, b->port);
	agent_target_t t = target("127.0.0.32", &m);
	assert_int_equal(agent_set_targets(a, &t, 1), 0);
	agent_backend_t v;
	run_until(base, a, 0, STATE_ST_UP, 3000, &v);
	assert_int_equal(v.status, STATE_ST_UP);
	state_obs_t obs;
	assert_int_equal(state_obs_find(st, "n1", t.key, &obs), 0);
	assert_int_equal(obs.status, STATE_ST_UP);
	assert_true(obs.since_ms > 0);

	backend_stop(b); /* connects are now refused */
	uint64_t ms = run_until(base, a, 0, STATE_ST_DOWN, 3000, &v);
	uint64_t bound = m.interval_ms * (1 + m.jitter) * m.fall + m.timeout_ms + 50;
	print_message("detection after kill: %llums (bound %llums)\n", (unsigned long long)ms,
	              (unsigned long long)bound);
	assert_int_equal(v.status, STATE_ST_DOWN);
	assert_true(ms <= bound);
	assert_non_null(strstr(v.error, "Connection refused"));
	assert_int_equal(state_obs_find(st, "n1", t.key, &obs), 0);
	assert_int_equal(obs.status, STATE_ST_DOWN);
	assert_non_null(strstr(obs.error, "connect: Connection refused"));
	assert_int_equal(obs.fall, 2);

	/* Back on the same port: up again after rise, with slow start. */
	backend_t *b2 = calloc(1, sizeof(*b2));
	b2->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(b2->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(m.port)};
	inet_pton(AF_INET, "127.0.0.32", &sin.sin_addr);
	assert_int_equal(bind(b2->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(b2->fd, 64), 0);
	assert_int_equal(pthread_create(&b2->th, NULL, serve, b2), 0);
	run_until(base, a, 0, STATE_ST_UP, 3000, &v);
	assert_int_equal(v.status, STATE_ST_UP);
	assert_true(v.up_since_ms > 0);
	assert_string_equal(v.error, "");
	assert_true(agent_slow_start_factor(v.up_since_ms, v.up_since_ms + 500, m.slow_start_ms) <
	            1.0);
	agent_free(a);
	backend_stop(b2);
	state_close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	event_base_free(base);
}

/* Replacing the set keeps the state of targets that stay; duplicates are probed once. */
static void test_set_targets(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	backend_t *b = backend_start("127.0.0.33", M_OK, NULL);
	agent_opts_t o = {.base = base, .seed = 9};
	agent_t *a;
	assert_int_equal(agent_new(&o, &a), 0);
	cfg_monitor_t m = monitor("m", CFG_MON_HTTP, b->port);
	agent_target_t t[3] = {target("127.0.0.33", &m), target("127.0.0.34", &m),
	                       target("127.0.0.33", &m)};
	assert_int_equal(agent_set_targets(a, t, 3), 0);
	agent_backend_t v;
	run_until(base, a, 0, STATE_ST_UP, 3000, &v); /* 127.0.0.33 sorts first */
	assert_string_equal(v.key, t[0].key);
	assert_int_equal(v.status, STATE_ST_UP);
	run_until(base, a, 1, STATE_ST_DOWN, 3000, &v);
	assert_int_equal(v.status, STATE_ST_DOWN); /* nothing listens on .34 */
	agent_stats_t st;
	agent_stats_get(a, &st);
	assert_int_equal(st.targets, 2);
	uint64_t sent = st.probes_sent;

	agent_target_t t2[2] = {target("127.0.0.33", &m), target("127.0.0.35", &m)};
	assert_int_equal(agent_set_targets(a, t2, 2), 0);
	agent_backend_t *list;
	size_t n;
	assert_int_equal(agent_backends(a, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].key, t2[0].key);
	assert_int_equal(list[0].status, STATE_ST_UP); /* kept, not restarted */
	assert_true(list[0].rise >= 2);
	assert_string_equal(list[1].key, t2[1].key);
	assert_int_equal(list[1].status, STATE_ST_UNKNOWN);
	free(list);
	/* A changed setting is taken over without losing the status. */
	cfg_monitor_t m2 = m;
	m2.interval_ms = 150;
	agent_target_t t3 = target("127.0.0.33", &m2);
	assert_int_equal(agent_set_targets(a, &t3, 1), 0);
	run_until(base, a, 0, STATE_ST_DOWN, 400, &v);
	assert_int_equal(v.status, STATE_ST_UP);
	agent_stats_get(a, &st);
	assert_int_equal(st.targets, 1);
	assert_true(st.probes_sent > sent);
	agent_free(a);
	backend_stop(b);
	event_base_free(base);
}

/* 1,000 TCP targets (250 addresses x 4 listeners) on one loop all come up. */
static void test_thousand_targets(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	backend_t *b[4];
	static const char *const ips[] = {"127.0.0.41", "127.0.0.42", "127.0.0.43", "127.0.0.44"};
	for (int i = 0; i < 4; i++) {
		b[i] = backend_start(ips[i], M_OK, NULL);
	}
	static cfg_monitor_t m[250];
	static char names[250][16];
	agent_target_t *t = calloc(1000, sizeof(*t));
	for (int i = 0; i < 250; i++) {
		snprintf(names[i], sizeof(names[i]), "m%d", i);
		for (int k = 0; k < 4; k++) {
			m[i] = monitor(names[i], CFG_MON_TCP, b[k]->port);
			m[i].interval_ms = 500;
			m[i].timeout_ms = 300;
			static cfg_monitor_t per[1000];
			per[i * 4 + k] = m[i];
			t[i * 4 + k] = target(ips[k], &per[i * 4 + k]);
		}
	}
	agent_opts_t o = {.base = base, .seed = 3};
	agent_t *a;
	assert_int_equal(agent_new(&o, &a), 0);
	assert_int_equal(agent_set_targets(a, t, 1000), 0);
	uint64_t t0 = now_ms();
	size_t up = 0;
	while (now_ms() - t0 < 5000 && up < 1000) {
		struct timeval tv = {0, 50000};
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		agent_backend_t *list;
		size_t n;
		assert_int_equal(agent_backends(a, &list, &n), 0);
		assert_int_equal(n, 1000);
		up = 0;
		for (size_t i = 0; i < n; i++) {
			up += list[i].status == STATE_ST_UP;
		}
		free(list);
	}
	agent_stats_t st;
	agent_stats_get(a, &st);
	print_message("1000 targets: %zu up after %llums, %llu probes, %llu failed\n", up,
	              (unsigned long long)(now_ms() - t0), (unsigned long long)st.probes_sent,
	              (unsigned long long)st.probes_failed);
	assert_int_equal(up, 1000);
	assert_int_equal(st.probes_failed, 0);
	agent_free(a);
	free(t);
	for (int i = 0; i < 4; i++) {
		backend_stop(b[i]);
	}
	event_base_free(base);
}

/* ---- keep-alive: a backend serving many requests per connection ---- */

enum ka_mode {
	KA_KEEP,    /* answer every request, keep the connection (close if the request says so) */
	KA_CHUNKED, /* the same, chunked bodies */
	KA_CLOSE,   /* answer with Connection: close and close */
	KA_DROP_2,  /* close without answering the 2nd request of each connection */
};

#define KA_CONNS 16

typedef struct ka_backend {
	int fd;
	uint16_t port;
	int mode;
	uint32_t idle_ms; /* close connections idle this long; 0 = never */
	_Atomic bool stop;
	_Atomic unsigned accepts, requests;
	pthread_t th;
} ka_backend_t;

/* One request on connection p (n: requests it carried before); false: close it. */
static bool ka_answer(ka_backend_t *b, int fd, unsigned n)
{
	char req[2048];
	ssize_t r = recv(fd, req, sizeof(req) - 1, 0);
	if (r <= 0) {
		return false;
	}
	req[r] = '\0';
	atomic_fetch_add(&b->requests, 1);
	if (b->mode == KA_DROP_2 && n == 1) {
		return false;
	}
	const char *out = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Load: 0.4\r\n\r\nok";
	if (b->mode == KA_CHUNKED) {
		out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Load: 0.4\r\n\r\n"
		      "1\r\no\r\n1\r\nk\r\n0\r\n\r\n";
	} else if (b->mode == KA_CLOSE) {
		out = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nX-Load: "
		      "0.4\r\n\r\nok";
	}
	if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0) {
		return false;
	}
	return b->mode != KA_CLOSE && strstr(req, "Connection: close") == NULL;
}

static void *serve_ka(void *arg)
{
	ka_backend_t *b = arg;
	struct pollfd p[KA_CONNS + 1] = {{b->fd, POLLIN, 0}};
	uint64_t last[KA_CONNS + 1];
	unsigned reqs[KA_CONNS + 1];
	int n = 1;
	while (!atomic_load(&b->stop)) {
		if (poll(p, (nfds_t)n, 10) < 0) {
			continue;
		}
		for (int i = n - 1; i >= 1; i--) {
			bool keep = true;
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				keep = ka_answer(b, p[i].fd, reqs[i]++);
				last[i] = now_ms();
			} else if (b->idle_ms != 0 && now_ms() - last[i] >= b->idle_ms) {
				keep = false;
			}
			if (!keep) {
				close(p[i].fd);
				p[i] = p[n - 1];
				last[i] = last[n - 1];
				reqs[i] = reqs[n - 1];
				n--;
			}
		}
		if ((p[0].revents & POLLIN) && n < KA_CONNS + 1) {
			int c = accept(b->fd, NULL, NULL);
			if (c >= 0) {
				atomic_fetch_add(&b->accepts, 1);
				p[n] = (struct pollfd){c, POLLIN, 0};
				last[n] = now_ms();
				reqs[n] = 0;
				n++;
			}
		}
	}
	for (int i = 1; i < n; i++) {
		close(p[i].fd);
	}
	return NULL;
}

static ka_backend_t *ka_start(const char *ip, int mode, uint32_t idle_ms)
{
	ka_backend_t *b = calloc(1, sizeof(*b));
	b->fd = listen_on(ip, &b->port);
	b->mode = mode;
	b->idle_ms = idle_ms;
	assert_int_equal(pthread_create(&b->th, NULL, serve_ka, b), 0);
	return b;
}

/* Stop: the listener and every connection close, as when the process dies. */
static void ka_stop(ka_backend_t *b)
{
	atomic_store(&b->stop, true);
	pthread_join(b->th, NULL);
	close(b->fd);
	free(b);
}

static void run_for(struct event_base *base, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Probes share one connection when the server allows it, and never flap when it does not. */
static void test_keepalive(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int mode;
		bool keepalive;
		uint32_t idle_ms;
		bool one_conn;     /* every probe on one connection */
		bool conn_per_req; /* a connection per request */
		bool retried;      /* kept connections were dropped under probes */
	} cases[] = {
	        {"reuse: one connection for every probe", KA_KEEP, true, 0, true, false, false},
	        {"reuse with chunked responses", KA_CHUNKED, true, 0, true, false, false},
	        {"server sends Connection: close", KA_CLOSE, true, 0, false, true, false},
	        {"keepalive off: Connection: close sent", KA_KEEP, false, 0, false, true, false},
	        {"server closes idle connections at the interval", KA_KEEP, true, 100, false, false,
	         false},
	        {"kept connection closed under a probe", KA_DROP_2, true, 0, false, false, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct event_base *base = event_base_new();
		ka_backend_t *b = ka_start("127.0.0.36", cases[i].mode, cases[i].idle_ms);
		agent_opts_t o = {.base = base, .seed = 11};
		agent_t *a;
		assert_int_equal(agent_new(&o, &a), 0);
		cfg_monitor_t m = monitor("m", CFG_MON_HTTP, b->port);
		m.keepalive = cases[i].keepalive;
		m.load = (cfg_load_src_t){CFG_LOAD_HEADER, "X-Load"};
		agent_target_t t = target("127.0.0.36", &m);
		assert_int_equal(agent_set_targets(a, &t, 1), 0);
		run_for(base, 1500);
		agent_stats_t st;
		agent_stats_get(a, &st);
		agent_backend_t *v;
		size_t n;
		assert_int_equal(agent_backends(a, &v, &n), 0);
		unsigned acc = atomic_load(&b->accepts), req = atomic_load(&b->requests);
		print_message("%s: %llu probes, %u connections, %u requests, %llu retries\n",
		              cases[i].name, (unsigned long long)st.probes_sent, acc, req,
		              (unsigned long long)st.retries);
		if (v[0].status != STATE_ST_UP || st.probes_failed != 0 || st.transitions != 1 ||
		    fabs(v[0].utilization - 0.4) > 1e-9) {
			fail_msg("%s: status %d, %llu failed, %llu transitions, error '%s'",
			         cases[i].name, v[0].status, (unsigned long long)st.probes_failed,
			         (unsigned long long)st.transitions, v[0].error);
		}
		assert_true(st.probes_sent >= 10);
		if (cases[i].one_conn && (acc != 1 || st.connects != 1 || req < 10)) {
			fail_msg("%s: %u connections for %u requests", cases[i].name, acc, req);
		}
		if (cases[i].conn_per_req && (acc != req || acc < 10)) {
			fail_msg("%s: %u connections for %u requests", cases[i].name, acc, req);
		}
		if (!cases[i].one_conn && !cases[i].conn_per_req && (acc < 2 || acc >= req)) {
			fail_msg("%s: %u connections for %u requests", cases[i].name, acc, req);
		}
		if (cases[i].retried ? st.retries < 3
		                     : (cases[i].idle_ms == 0 && st.retries != 0)) {
			fail_msg("%s: %llu retries", cases[i].name, (unsigned long long)st.retries);
		}
		free(v);
		agent_free(a);
		ka_stop(b);
		event_base_free(base);
	}
}

/* A killed keep-alive backend is down within interval x fall + timeout, like a closing one. */
static void test_keepalive_kill(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	ka_backend_t *b = ka_start("127.0.0.37", KA_KEEP, 0);
	agent_opts_t o = {.base = base, .seed = 5};
	agent_t *a;
	assert_int_equal(agent_new(&o, &a), 0);
	cfg_monitor_t m = monitor("web", CFG_MON_HTTP, b->port);
	agent_target_t t = target("127.0.0.37", &m);
	assert_int_equal(agent_set_targets(a, &t, 1), 0);
	agent_backend_t v;
	run_until(base, a, 0, STATE_ST_UP, 3000, &v);
	assert_int_equal(v.status, STATE_ST_UP);
	run_for(base, 300); /* a few probes on the kept connection */
	assert_int_equal(atomic_load(&b->accepts), 1);

	ka_stop(b);
	uint64_t ms = run_until(base, a, 0, STATE_ST_DOWN, 3000, &v);
	uint64_t bound = m.interval_ms * (1 + m.jitter) * m.fall + m.timeout_ms + 50;
	print_message("keep-alive detection after kill: %llums (bound %llums)\n",
	              (unsigned long long)ms, (unsigned long long)bound);
	assert_int_equal(v.status, STATE_ST_DOWN);
	assert_true(ms <= bound);
	assert_non_null(strstr(v.error, "Connection refused"));
	agent_free(a);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_modes),       cmocka_unit_test(test_kill_detection),
	        cmocka_unit_test(test_set_targets), cmocka_unit_test(test_thousand_targets),
	        cmocka_unit_test(test_keepalive),   cmocka_unit_test(test_keepalive_kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
