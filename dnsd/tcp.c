/*
 * DNS over TCP (RFC 7766) on one thread with its own libevent base.
 *
 * Every message has a 2-byte length prefix (RFC 1035 4.2.2). A read answers
 * every complete message in the input, in order (pipelining, RFC 7766 6.2.1),
 * then waits for more. A connection is closed after tcp_idle_timeout_ms
 * without traffic (RFC 7766 6.2.3), on a length below a DNS header, on EOF
 * once its replies are flushed, and refused beyond tcp_max_connections in
 * total or tcp_max_per_client from one address. When a client does not read
 * its replies the output grows past OUT_HIGH_WATER: we stop reading it until
 * the output drains below OUT_LOW_WATER. When accept() fails (EMFILE: out of
 * descriptors) the listeners pause with a back-off (common/listen.h)
 * instead of spinning on a listen queue they cannot empty.
 *
 * RCU: the thread is registered and stays offline except while it answers
 * the messages of one read callback.
 */
#define _LGPL_SOURCE
#include "dnsd/server_int.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/listen.h"
#include "common/log.h"

#define DNS_HEADER_LEN 12
#define OUT_HIGH_WATER (256 * 1024)
#define OUT_LOW_WATER (64 * 1024)

typedef struct tcp_conn tcp_conn_t;
struct tcp_conn {
	dnsd_tcp_t *t;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	bool closing; /* EOF seen: close once the output is flushed */
	tcp_conn_t *prev, *next;
};

struct dnsd_tcp {
	dnsd_server_t *srv;
	struct event_base *base;
	struct evconnlistener **listeners;
	size_t n_listeners;
	aya_listen_guard_t *guard; /* pauses the listeners after a failed accept */
	pthread_t tid;
	bool started;
	dnsd_ctx_t *ctx;
	dnsd_counters_t io; /* refused connections are counted as dropped */
	tcp_conn_t *conns;
	unsigned n_conns;
	uint8_t msg[DNSD_MAX_MSG];
	uint8_t out[2 + DNSD_MAX_MSG];
};

static void count(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family) {
		return false;
	}
	if (a->ss_family == AF_INET) {
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	}
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	              &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static void conn_close(tcp_conn_t *c)
{
	dnsd_tcp_t *t = c->t;
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		t->conns = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	t->n_conns--;
	bufferevent_free(c->bev);
	free(c);
}

/*
 * Answer every complete message in the input. Returns false when the
 * connection must be closed (malformed length).
 */
static bool drain_input(tcp_conn_t *c)
{
	dnsd_tcp_t *t = c->t;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool ok = true;
	bool online = false;
	const dnsd_view_t *view = NULL;
	while (evbuffer_get_length(out) < OUT_HIGH_WATER) {
		uint8_t pfx[2];
		if (evbuffer_copyout(in, pfx, 2) != 2) {
			break;
		}
		size_t len = (size_t)pfx[0] << 8 | pfx[1];
		if (len < DNS_HEADER_LEN) {
			ok = false;
			break;
		}
		if (evbuffer_get_length(in) < 2 + len) {
			break;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, t->msg, len);
		if (!online) {
			rcu_thread_online();
			view = rcu_dereference(t->srv->view);
			online = true;
		}
		size_t rlen =
		        dnsd_answer(t->ctx, view->snap, view->pol, t->msg, len, t->out + 2,
		                    DNSD_MAX_MSG, (const struct sockaddr *)&c->peer, DNSD_TCP);
		if (rlen == 0) {
			continue;
		}
		t->out[0] = (uint8_t)(rlen >> 8);
		t->out[1] = (uint8_t)rlen;
		if (evbuffer_add(out, t->out, rlen + 2) != 0) {
			count(&t->io.send_errors);
			ok = false;
			break;
		}
	}
	if (online) {
		rcu_thread_offline();
	}
	if (ok && evbuffer_get_length(out) >= OUT_HIGH_WATER) {
		/* The client is not reading: stop reading it until it does. */
		bufferevent_disable(c->bev, EV_READ);
	}
	return ok;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_conn_t *c = arg;
	if (!drain_input(c)) {
		conn_close(c);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	tcp_conn_t *c = arg;
	struct evbuffer *out = bufferevent_get_output(bev);
	if (c->closing && evbuffer_get_length(out) == 0) {
		conn_close(c);
		return;
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ) && !c->closing) {
		/* Drained below the low-water mark: answer what is queued, read again. */
		if (!drain_input(c)) {
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(out) < OUT_HIGH_WATER) {
			bufferevent_enable(bev, EV_READ);
		}
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	tcp_conn_t *c = arg;
	if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))) {
		/* Half-close: answer what arrived, flush, then close (RFC 7766 6.2.4). */
		if (!drain_input(c) || evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			conn_close(c);
			return;
		}
		c->closing = true;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	conn_close(c);
}

static bool admit(dnsd_tcp_t *t, const struct sockaddr_storage *peer)
{
	/* 0 means no limit. */
	unsigned max_total = t->srv->tcp_max_connections;
	unsigned max_client = t->srv->tcp_max_per_client;
	if (max_total > 0 && t->n_conns >= max_total) {
		return false;
	}
	if (max_client == 0) {
		return true;
	}
	unsigned same = 0;
	for (const tcp_conn_t *c = t->conns; c != NULL; c = c->next) {
		if (same_addr(&c->peer, peer) && ++same >= max_client) {
			return false;
		}
	}
	return true;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
	(void)l;
	dnsd_tcp_t *t = arg;
	aya_listen_guard_ok(t->guard);
	struct sockaddr_storage peer = {0};
	memcpy(&peer, sa, (size_t)salen < sizeof(peer) ? (size_t)salen : sizeof(peer));
	if (!admit(t, &peer)) {
		count(&t->io.dropped);
		evutil_closesocket(fd);
		return;
	}
	tcp_conn_t *c = calloc(1, sizeof(*c));
	struct bufferevent *bev =
	        c == NULL ? NULL : bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_ratelimited(AYA_LOG_WARN, "dnsd: tcp: out of memory, connection closed");
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->t = t;
	c->bev = bev;
	c->peer = peer;
	c->next = t->conns;
	if (t->conns != NULL) {
		t->conns->prev = c;
	}
	t->conns = c;
	t->n_conns++;
	struct timeval idle = {.tv_sec = t->srv->tcp_idle_timeout_ms / 1000,
	                       .tv_usec = (t->srv->tcp_idle_timeout_ms % 1000) * 1000};
	bufferevent_set_timeouts(bev, &idle, &idle);
	bufferevent_setwatermark(bev, EV_READ, 0, 2 + DNSD_MAX_MSG);
	bufferevent_setwatermark(bev, EV_WRITE, OUT_LOW_WATER, 0);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* EMFILE and friends: pause every listener of this thread (the limit is the process's). */
static void on_listen_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	dnsd_tcp_t *t = arg;
	aya_listen_guard_fail(t->guard);
}

static void *tcp_main(void *arg)
{
	dnsd_tcp_t *t = arg;
	rcu_register_thread();
	rcu_thread_offline();
	event_base_dispatch(t->base);
	while (t->conns != NULL) {
		conn_close(t->conns);
	}
	rcu_thread_online();
	rcu_unregister_thread();
	return NULL;
}

static void use_pthreads(void)
{
	/* event_base_loopbreak() from the control thread needs a locking base. */
	(void)evthread_use_pthreads();
}

int dnsd_tcp_start(dnsd_server_t *srv, const cfg_t *cfg, dnsd_tcp_t **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, use_pthreads);
	*out = NULL;
	dnsd_tcp_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	int rc = -ENOMEM;
	t->srv = srv;
	t->base = event_base_new();
	t->ctx = dnsd_ctx_new();
	t->listeners = calloc(cfg->dns.n_listen, sizeof(*t->listeners));
	if (t->base == NULL || t->ctx == NULL || t->listeners == NULL ||
	    (t->guard = aya_listen_guard_new(t->base, "dnsd: tcp")) == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < cfg->dns.n_listen; i++) {
		int fd = dnsd_sock_bind(&cfg->dns.listen[i], SOCK_STREAM);
		if (fd < 0) {
			rc = fd;
			goto fail;
		}
		evutil_make_socket_nonblocking(fd);
		struct evconnlistener *l =
		        evconnlistener_new(t->base, on_accept, t,
		                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 1024, fd);
		if (l == NULL) {
			log_err("dnsd: tcp %s: listen: %s", cfg->dns.listen[i].text,
			        strerror(errno));
			rc = errno ? -errno : -ENOMEM;
			close(fd);
			goto fail;
		}
		evconnlistener_set_error_cb(l, on_listen_error);
		t->listeners[t->n_listeners++] = l;
		if ((rc = aya_listen_guard_add(t->guard, l)) < 0) {
			goto fail;
		}
	}
	rc = pthread_create(&t->tid, NULL, tcp_main, t);
	if (rc != 0) {
		rc = -rc;
		goto fail;
	}
	t->started = true;
	*out = t;
	return 0;
fail:
	dnsd_tcp_stop(t);
	return rc;
}

void dnsd_tcp_stop(dnsd_tcp_t *t)
{
	if (t == NULL) {
		return;
	}
	if (t->started) {
		event_base_loopbreak(t->base);
		pthread_join(t->tid, NULL);
	}
	for (size_t i = 0; i < t->n_listeners; i++) {
		evconnlistener_free(t->listeners[i]);
	}
	free(t->listeners);
	aya_listen_guard_free(t->guard);
	if (t->base != NULL) {
		event_base_free(t->base);
	}
	dnsd_ctx_free(t->ctx);
	free(t);
}

void dnsd_tcp_pool_answers(const dnsd_tcp_t *t, uint64_t *out, size_t n)
{
	if (t->ctx != NULL) {
		dnsd_ctx_pool_answers_add(t->ctx, out, n);
	}
}

void dnsd_tcp_stats(const dnsd_tcp_t *t, dnsd_stats_t *out)
{
	dnsd_counters_add(out, dnsd_ctx_counters(t->ctx));
	dnsd_counters_add(out, &t->io);
}
