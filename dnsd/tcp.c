/*
 * DNS over TCP (RFC 7766) on one thread with its own libevent base.
 *
 * Every message has a 2-byte length prefix (RFC 1035 4.2.2). A read answers
 * every complete message in the input, in order (pipelining, RFC 7766 6.2.1),
 * then waits for more. A connection is closed on a length below a DNS
 * header, on EOF once its replies are flushed, and by its deadlines (one
 * timer per connection, re-armed lazily: a deadline that moved later is
 * found when the timer fires):
 *  - idle (nothing arriving, nothing to send) for tcp_idle_timeout since its
 *    last message (RFC 7766 6.2.3); bytes of a message in progress do not
 *    extend it;
 *  - a query whose first byte arrived but not its last within
 *    tcp_message_timeout (per message, not per byte: a client trickling
 *    bytes cannot keep a slot);
 *  - a reply not taken by the client within tcp_message_timeout: the output
 *    queued at a check must be flushed by the next (the write deadline).
 * Admission (tcp_int.h): at most tcp_max_per_client connections per client
 * prefix (/24, /56); when the table (tcp_max_connections) is full a new
 * connection evicts the one idle the longest, or is refused when every
 * connection is busy. When a client does not read its replies the output
 * grows past OUT_HIGH_WATER: we stop reading it until the output drains
 * below OUT_LOW_WATER. When accept() fails (EMFILE: out of descriptors) the
 * listeners pause with a back-off (common/listen.h) instead of spinning on a
 * listen queue they cannot empty.
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
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/listen.h"
#include "common/log.h"
#include "common/time.h"
#include "dnsd/tcp_int.h"

#define DNS_HEADER_LEN 12
#define OUT_HIGH_WATER (256 * 1024)
#define OUT_LOW_WATER (64 * 1024)

typedef struct tcp_conn tcp_conn_t;
struct tcp_conn {
	dnsd_tcp_slot_t slot; /* first: the table's slot is its connection */
	dnsd_tcp_t *t;
	struct bufferevent *bev;
	struct event *timer; /* the nearest deadline */
	struct sockaddr_storage peer;
	bool closing; /* EOF seen: close once the output is flushed */
	bool in_msg;  /* part of a query has arrived, since msg_start_ms */
	bool writing; /* output pending, watched by the write deadline */
	bool armed;   /* timer pending, for armed_ms */
	uint64_t armed_ms;
	uint64_t msg_start_ms;
	uint64_t queued; /* bytes ever added to the output */
	uint64_t
	        w_mark; /* output up to this byte must be flushed by w_since_ms + message timeout */
	uint64_t w_since_ms;
};

struct dnsd_tcp {
	dnsd_server_t *srv;
	struct event_base *base;
	struct evconnlistener **listeners;
	size_t n_listeners;
	aya_listen_guard_t *guard; /* pauses the listeners after a failed accept */
	struct event *beat_ev;     /* every 500 ms: beat_ms, read by dnsd_server_check */
	_Atomic uint64_t beat_ms;
	pthread_t tid;
	bool started;
	dnsd_ctx_t *ctx;
	dnsd_counters_t io; /* connection-level counters (refused, evicted, timeouts) */
	dnsd_tcp_table_t table;
	/* Handover (dnsd/handoff.c): set by the control thread, counted here. */
	atomic_bool handoff;
	uint64_t drained;        /* connections accepted after the handoff */
	uint64_t drain_until_ms; /* written before the drain's event is added */
	struct event *drain_ev;  /* the drain's tick; NULL before dnsd_tcp_drain */
	bool draining;           /* this thread only, from here: */
	bool unlistened;         /* listeners shut: only the connections are left */
	uint64_t last_accept_ms;
	uint64_t idle_ms, msg_ms;  /* dns.tcp_idle_timeout, dns.tcp_message_timeout */
	unsigned v4_bits, v6_bits; /* dns.tcp_client_ipv4_prefix, dns.tcp_client_ipv6_prefix */
	uint8_t msg[DNSD_MAX_MSG];
	uint8_t out[2 + DNSD_MAX_MSG];
};

static void count(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static void conn_close(tcp_conn_t *c)
{
	dnsd_tcp_table_remove(&c->t->table, &c->slot);
	event_free(c->timer);
	bufferevent_free(c->bev);
	free(c);
}

/* Make the timer fire by `deadline` (it may fire earlier; never later). */
static void conn_arm(tcp_conn_t *c, uint64_t deadline, uint64_t now)
{
	if (c->armed && c->armed_ms <= deadline) {
		return;
	}
	/* +1: the clock is read in whole ms, so never wake just before it is due. */
	uint64_t d = (deadline > now ? deadline - now : 0) + 1;
	struct timeval tv = {.tv_sec = (time_t)(d / 1000),
	                     .tv_usec = (suseconds_t)(d % 1000) * 1000};
	evtimer_add(c->timer, &tv);
	c->armed = true;
	c->armed_ms = deadline;
}

/*
 * After a read or a write: start the write deadline when output appears,
 * and move the connection between the idle and busy lists.
 */
static void conn_update(tcp_conn_t *c, uint64_t now)
{
	dnsd_tcp_t *t = c->t;
	size_t ilen = evbuffer_get_length(bufferevent_get_input(c->bev));
	size_t olen = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (olen == 0) {
		c->writing = false;
	} else if (!c->writing) {
		c->writing = true;
		c->w_since_ms = now;
		c->w_mark = c->queued;
		conn_arm(c, now + t->msg_ms, now);
	}
	if (ilen == 0 && olen == 0 && !c->closing) {
		if (c->slot.busy) {
			dnsd_tcp_table_idle(&t->table, &c->slot, now);
		}
		conn_arm(c, c->slot.idle_since_ms + t->idle_ms, now);
	} else {
		dnsd_tcp_table_busy(&t->table, &c->slot);
	}
}

/* The nearest deadline is due (or moved): close the connection or re-arm. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tcp_conn_t *c = arg;
	dnsd_tcp_t *t = c->t;
	c->armed = false;
	uint64_t now = aya_mono_ms();
	uint64_t next = UINT64_MAX;
	size_t olen = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (olen == 0) {
		c->writing = false;
	}
	if (c->writing) {
		if (c->queued - olen >= c->w_mark) {
			/* What was pending at the last check has left: watch what is pending now.
			 */
			c->w_mark = c->queued;
			c->w_since_ms = now;
		} else if (now >= c->w_since_ms + t->msg_ms) {
			count(&t->io.tcp_timeouts);
			conn_close(c);
			return;
		}
		next = c->w_since_ms + t->msg_ms;
	}
	/* While reading is paused (client not reading) the write deadline rules. */
	if (c->in_msg && (bufferevent_get_enabled(c->bev) & EV_READ)) {
		if (now >= c->msg_start_ms + t->msg_ms) {
			count(&t->io.tcp_timeouts);
			conn_close(c);
			return;
		}
		if (c->msg_start_ms + t->msg_ms < next) {
			next = c->msg_start_ms + t->msg_ms;
		}
	}
	if (!c->slot.busy) {
		if (now >= c->slot.idle_since_ms + t->idle_ms) {
			conn_close(c); /* RFC 7766 idle timeout: normal, not counted */
			return;
		}
		if (c->slot.idle_since_ms + t->idle_ms < next) {
			next = c->slot.idle_since_ms + t->idle_ms;
		}
	}
	if (next != UINT64_MAX) {
		conn_arm(c, next, now);
	}
}

/*
 * Answer every complete message in the input. Returns false when the
 * connection must be closed (malformed length).
 */
static bool drain_input(tcp_conn_t *c, uint64_t now)
{
	dnsd_tcp_t *t = c->t;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool ok = true;
	bool online = false;
	bool consumed = false;
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
		consumed = true;
		if (!online) {
			rcu_thread_online();
			view = rcu_dereference(t->srv->view);
			online = true;
		}
		size_t rlen =
		        dnsd_answer(t->ctx, view->snap, view->pol, t->msg, len, t->out + 2,
		                    DNSD_MAX_MSG, (const struct sockaddr *)&c->peer, DNSD_TCP);
		/* A zone transfer may take more messages: all queued now, while online. */
		for (; rlen > 0 && ok; rlen = dnsd_answer_more(t->ctx, t->out + 2, DNSD_MAX_MSG)) {
			t->out[0] = (uint8_t)(rlen >> 8);
			t->out[1] = (uint8_t)rlen;
			if (evbuffer_add(out, t->out, rlen + 2) != 0) {
				count(&t->io.send_errors);
				ok = false;
			} else {
				c->queued += rlen + 2;
			}
		}
		if (!ok) {
			break;
		}
	}
	if (online) {
		rcu_thread_offline();
	}
	if (evbuffer_get_length(in) == 0) {
		c->in_msg = false;
	} else if (consumed || !c->in_msg) {
		/* The next message started in this read: its deadline runs from now. */
		c->in_msg = true;
		c->msg_start_ms = now;
		conn_arm(c, now + t->msg_ms, now);
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
	uint64_t now = aya_mono_ms();
	if (!drain_input(c, now)) {
		conn_close(c);
		return;
	}
	conn_update(c, now);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	tcp_conn_t *c = arg;
	struct evbuffer *out = bufferevent_get_output(bev);
	if (c->closing && evbuffer_get_length(out) == 0) {
		conn_close(c);
		return;
	}
	uint64_t now = aya_mono_ms();
	if (!(bufferevent_get_enabled(bev) & EV_READ) && !c->closing) {
		/* Drained below the low-water mark: answer what is queued, read again. */
		if (!drain_input(c, now)) {
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(out) < OUT_HIGH_WATER) {
			bufferevent_enable(bev, EV_READ);
		}
	}
	conn_update(c, now);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	tcp_conn_t *c = arg;
	if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))) {
		/* Half-close: answer what arrived, flush, then close (RFC 7766 6.2.4). */
		uint64_t now = aya_mono_ms();
		if (!drain_input(c, now) || evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			conn_close(c);
			return;
		}
		c->closing = true;
		c->in_msg = false; /* nothing more can arrive */
		bufferevent_disable(bev, EV_READ);
		conn_update(c, now);
		return;
	}
	conn_close(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
	(void)l;
	dnsd_tcp_t *t = arg;
	aya_listen_guard_ok(t->guard);
	if (atomic_load_explicit(&t->handoff, memory_order_relaxed)) {
		t->drained++;
		t->last_accept_ms = aya_mono_ms();
	}
	struct sockaddr_storage peer = {0};
	memcpy(&peer, sa, (size_t)salen < sizeof(peer) ? (size_t)salen : sizeof(peer));
	dnsd_tcp_key_t key;
	dnsd_tcp_key((const struct sockaddr *)&peer, t->v4_bits, t->v6_bits, &key);
	dnsd_tcp_slot_t *victim = NULL;
	switch (dnsd_tcp_table_admit(&t->table, &key, &victim)) {
	case DNSD_TCP_ADMIT:
		break;
	case DNSD_TCP_EVICT:
		count(&t->io.tcp_evicted);
		conn_close((tcp_conn_t *)victim);
		break;
	case DNSD_TCP_REFUSE_FULL:
		log_ratelimited(AYA_LOG_WARN,
		                "dnsd: tcp: %u connections, none idle: new connection refused",
		                t->table.n);
		/* fallthrough */
	case DNSD_TCP_REFUSE_CLIENT:
		count(&t->io.tcp_refused);
		evutil_closesocket(fd);
		return;
	}
	tcp_conn_t *c = calloc(1, sizeof(*c));
	struct bufferevent *bev =
	        c == NULL ? NULL : bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct event *timer = bev == NULL ? NULL : evtimer_new(t->base, on_timer, c);
	if (timer == NULL) {
		log_ratelimited(AYA_LOG_WARN, "dnsd: tcp: out of memory, connection closed");
		if (bev != NULL) {
			bufferevent_free(bev); /* closes fd */
		} else {
			evutil_closesocket(fd);
		}
		free(c);
		return;
	}
	uint64_t now = aya_mono_ms();
	c->t = t;
	c->bev = bev;
	c->timer = timer;
	c->peer = peer;
	c->slot.key = key;
	dnsd_tcp_table_add(&t->table, &c->slot, now);
	bufferevent_setwatermark(bev, EV_READ, 0, 2 + DNSD_MAX_MSG);
	bufferevent_setwatermark(bev, EV_WRITE, OUT_LOW_WATER, 0);
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	conn_arm(c, now + t->idle_ms, now);
}

/* EMFILE and friends: pause every listener of this thread (the limit is the process's). */
static void on_listen_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	dnsd_tcp_t *t = arg;
	aya_listen_guard_fail(t->guard);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dnsd_tcp_t *t = arg;
	atomic_store_explicit(&t->beat_ms, dnsd_coarse_ms(), memory_order_relaxed);
}

uint64_t dnsd_tcp_beat_ms(const dnsd_tcp_t *t)
{
	return atomic_load_explicit(&t->beat_ms, memory_order_relaxed);
}

/*
 * Stop listening. shutdown() takes a listener out of its reuseport group
 * (and resets what its accept queue still holds: nothing, after the quiet
 * period) while its descriptor stays valid for evconnlistener_free().
 */
static void unlisten(dnsd_tcp_t *t)
{
	for (size_t i = 0; i < t->n_listeners; i++) {
		evconnlistener_disable(t->listeners[i]);
		(void)shutdown(evconnlistener_get_fd(t->listeners[i]), SHUT_RDWR);
	}
	/* Nothing left for it to pause or resume. */
	aya_listen_guard_free(t->guard);
	t->guard = NULL;
	t->unlistened = true;
}

/*
 * The drain's tick: accept until no connection came for the quiet period,
 * stop listening, then close each connection idle for the quiet period
 * (its query answered and taken, or none sent since the accept); leave
 * when none is left, or at the bound.
 */
static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dnsd_tcp_t *t = arg;
	uint64_t now = aya_mono_ms();
	if (!t->draining) {
		t->draining = true;
		t->last_accept_ms = now;
	}
	if (now >= t->drain_until_ms) {
		event_base_loopbreak(t->base); /* tcp_main closes the rest */
		return;
	}
	if (!t->unlistened) {
		if (now < t->last_accept_ms + DNSD_DRAIN_TCP_QUIET_MS) {
			return;
		}
		unlisten(t);
	}
	while (t->table.idle_head != NULL &&
	       t->table.idle_head->idle_since_ms + DNSD_DRAIN_TCP_QUIET_MS <= now) {
		conn_close((tcp_conn_t *)t->table.idle_head);
	}
	if (t->table.idle_head == NULL && t->table.busy_head == NULL) {
		event_base_loopbreak(t->base);
	}
}

int dnsd_tcp_handoff(dnsd_tcp_t *t)
{
	int ret = 0;
	for (size_t i = 0; i < t->n_listeners; i++) {
		/* One listener per address per process: the successor's is slot 1. */
		int rc = dnsd_reuseport_steer(evconnlistener_get_fd(t->listeners[i]), 1, 1);
		if (rc < 0) {
			log_warn("dnsd: tcp: cannot steer connections to the successor: %s",
			         strerror(-rc));
			ret = rc;
		}
	}
	atomic_store_explicit(&t->handoff, true, memory_order_relaxed);
	return ret;
}

void dnsd_tcp_unsteer(dnsd_tcp_t *t)
{
	for (size_t i = 0; i < t->n_listeners; i++) {
		dnsd_reuseport_unsteer(evconnlistener_get_fd(t->listeners[i]));
	}
}

void dnsd_tcp_drain(dnsd_tcp_t *t, uint64_t until_ms)
{
	struct timeval tick = {.tv_sec = 0, .tv_usec = 10000};
	t->drain_until_ms = until_ms;
	/* The base is locking: adding from this thread wakes the TCP thread. */
	t->drain_ev = event_new(t->base, -1, EV_PERSIST, drain_tick, t);
	if (t->drain_ev == NULL || event_add(t->drain_ev, &tick) != 0) {
		event_base_loopbreak(t->base); /* no drain: stop now */
	}
}

void dnsd_tcp_wait(dnsd_tcp_t *t)
{
	if (t->started) {
		pthread_join(t->tid, NULL);
		t->started = false;
	}
}

uint64_t dnsd_tcp_drained(const dnsd_tcp_t *t)
{
	return t->drained;
}

static void *tcp_main(void *arg)
{
	dnsd_tcp_t *t = arg;
	rcu_register_thread();
	rcu_thread_offline();
	event_base_dispatch(t->base);
	while (t->table.idle_head != NULL || t->table.busy_head != NULL) {
		dnsd_tcp_slot_t *s =
		        t->table.idle_head != NULL ? t->table.idle_head : t->table.busy_head;
		conn_close((tcp_conn_t *)s);
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
	atomic_init(&t->handoff, false);
	t->srv = srv;
	t->idle_ms = cfg->dns.tcp_idle_timeout_ms;
	t->msg_ms = cfg->dns.tcp_message_timeout_ms;
	t->v4_bits = cfg->dns.tcp_client_ipv4_prefix;
	t->v6_bits = cfg->dns.tcp_client_ipv6_prefix;
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		seed = aya_mono_us() ^ (uint64_t)(uintptr_t)t;
	}
	if (dnsd_tcp_table_init(&t->table, cfg->dns.tcp_max_connections,
	                        cfg->dns.tcp_max_per_client, seed) < 0) {
		free(t);
		return -ENOMEM;
	}
	t->base = event_base_new();
	t->ctx = dnsd_ctx_new();
	t->listeners = calloc(cfg->dns.n_listen, sizeof(*t->listeners));
	if (t->base == NULL || t->ctx == NULL || t->listeners == NULL ||
	    (t->guard = aya_listen_guard_new(t->base, "dnsd: tcp")) == NULL ||
	    (t->beat_ev = event_new(t->base, -1, EV_PERSIST, on_beat, t)) == NULL ||
	    event_add(t->beat_ev, &(struct timeval){.tv_usec = 500000}) != 0) {
		goto fail;
	}
	on_beat(-1, 0, t);
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
		dnsd_tcp_wait(t);
	}
	if (t->drain_ev != NULL) {
		event_free(t->drain_ev);
	}
	for (size_t i = 0; i < t->n_listeners; i++) {
		evconnlistener_free(t->listeners[i]);
	}
	free(t->listeners);
	if (t->beat_ev != NULL) {
		event_free(t->beat_ev);
	}
	aya_listen_guard_free(t->guard);
	if (t->base != NULL) {
		event_base_free(t->base);
	}
	dnsd_ctx_free(t->ctx);
	dnsd_tcp_table_fini(&t->table);
	free(t);
}

void dnsd_tcp_pool_answers(const dnsd_tcp_t *t, uint64_t *out, size_t n)
{
	if (t->ctx != NULL) {
		dnsd_ctx_pool_answers_add(t->ctx, out, n);
	}
}

void dnsd_tcp_qdur(const dnsd_tcp_t *t, aya_hist_t *out)
{
	if (t->ctx != NULL) {
		dnsd_ctx_qdur_add(t->ctx, out);
	}
}

void dnsd_tcp_stats(const dnsd_tcp_t *t, dnsd_stats_t *out)
{
	dnsd_counters_add(out, dnsd_ctx_counters(t->ctx));
	dnsd_counters_add(out, &t->io);
}
