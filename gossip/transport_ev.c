/*
 * The real transport: one UDP socket and one TCP listener on the gossip
 * address, a libevent timer for the clock, CLOCK_MONOTONIC milliseconds.
 *
 * TCP push/pull: a stream carries one request frame and one reply frame,
 * each a 4-byte big-endian length and a sealed envelope (at most
 * GSP_MAX_FRAME); then the server closes. Streams time out after
 * STREAM_TIMEOUT_S; at most MAX_STREAMS accepted streams are open at once
 * (more are closed at accept), so a flood cannot exhaust descriptors. When
 * accept() fails all the same (EMFILE: the process is out of them), the
 * listener pauses with a back-off (common/listen.h) instead of spinning.
 */
#include "gossip/gossip_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/listen.h"
#include "common/log.h"
#include "common/time.h"

#define STREAM_TIMEOUT_S 5
#define MAX_STREAMS 64

struct gsp_transport_ev {
	struct event_base *base;
	gsp_t *g;
	int udp_fd;
	struct event *udp_ev, *timer;
	struct evconnlistener *lst;
	aya_listen_guard_t *guard; /* pauses lst after a failed accept */
	unsigned n_streams;
};

typedef struct stream {
	gsp_transport_ev_t *t;
	struct bufferevent *bev;
	bool client;
	bool replied;
	uint64_t req_id;
	gsp_addr_t peer;
} stream_t;

static uint64_t ev_now_ms(void *ctx)
{
	(void)ctx;
	return aya_mono_ms();
}

static void ev_arm(void *ctx, uint64_t at_ms)
{
	gsp_transport_ev_t *t = ctx;
	uint64_t now = ev_now_ms(NULL);
	uint64_t d = at_ms > now ? at_ms - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(d / 1000),
	                     .tv_usec = (suseconds_t)(d % 1000) * 1000};
	evtimer_add(t->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gsp_transport_ev_t *t = arg;
	if (t->g != NULL) {
		gsp_tick(t->g);
	}
}

static int ev_send_udp(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len)
{
	gsp_transport_ev_t *t = ctx;
	ssize_t n = sendto(t->udp_fd, buf, len, 0, (const struct sockaddr *)&to->ss, to->len);
	if (n < 0) {
		log_ratelimited(AYA_LOG_WARN, "gossip: sendto: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	gsp_transport_ev_t *t = arg;
	static uint8_t buf[GSP_MAX_UDP + 1];
	/* Bounded: at most 64 datagrams per wakeup, then back to the loop. */
	for (int i = 0; i < 64; i++) {
		gsp_addr_t from = {.len = sizeof(from.ss)};
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from.ss,
		                     &from.len);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				log_ratelimited(AYA_LOG_WARN, "gossip: recvfrom: %s",
				                strerror(errno));
			}
			return;
		}
		if (t->g != NULL) {
			/* MSG_TRUNC: n is the real length, so oversized is seen as such. */
			gsp_recv_udp(t->g, &from, buf, (size_t)n);
		}
	}
}

static void stream_free(stream_t *s)
{
	if (s == NULL) {
		return;
	}
	if (!s->client) {
		s->t->n_streams--;
	}
	bufferevent_free(s->bev);
	free(s);
}

static void stream_fail(stream_t *s)
{
	if (s->client && !s->replied && s->t->g != NULL) {
		s->replied = true;
		gsp_tcp_response(s->t->g, s->req_id, NULL, 0);
	}
	stream_free(s);
}

/* A whole frame in the input buffer: its bytes (malloc'd) or NULL; *bad on a bad length. */
static uint8_t *take_frame(struct evbuffer *in, size_t *len, bool *bad)
{
	uint8_t hdr[4];
	*bad = false;
	if (evbuffer_copyout(in, hdr, 4) != 4) {
		return NULL;
	}
	uint32_t n =
	        (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > GSP_MAX_FRAME) {
		*bad = true;
		return NULL;
	}
	if (evbuffer_get_length(in) < 4 + (size_t)n) {
		return NULL;
	}
	uint8_t *buf = malloc(n);
	if (buf == NULL) {
		*bad = true;
		return NULL;
	}
	evbuffer_drain(in, 4);
	evbuffer_remove(in, buf, n);
	*len = n;
	return buf;
}

static int put_frame(struct bufferevent *bev, const uint8_t *buf, size_t len)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
	                  (uint8_t)len};
	if (bufferevent_write(bev, hdr, 4) != 0 || bufferevent_write(bev, buf, len) != 0) {
		return -ENOMEM;
	}
	return 0;
}

static void on_stream_write(struct bufferevent *bev, void *arg)
{
	stream_t *s = arg;
	/* Server: reply flushed, done. */
	if (!s->client && s->replied && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		stream_free(s);
	}
}

static void on_stream_read(struct bufferevent *bev, void *arg)
{
	stream_t *s = arg;
	size_t len = 0;
	bool bad;
	uint8_t *buf = take_frame(bufferevent_get_input(bev), &len, &bad);
	if (buf == NULL) {
		if (bad) {
			stream_fail(s);
		}
		return;
	}
	if (s->client) {
		s->replied = true;
		if (s->t->g != NULL) {
			gsp_tcp_response(s->t->g, s->req_id, buf, len);
		}
		free(buf);
		stream_free(s);
		return;
	}
	uint8_t *reply = NULL;
	size_t rlen = 0;
	int rc = s->t->g != NULL ? gsp_tcp_serve(s->t->g, &s->peer, buf, len, &reply, &rlen)
	                         : -EAGAIN;
	free(buf);
	if (rc != 0 || put_frame(bev, reply, rlen) != 0) {
		free(reply);
		stream_free(s);
		return;
	}
	free(reply);
	s->replied = true;
	bufferevent_disable(bev, EV_READ);
}

static void on_stream_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	stream_t *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		return;
	}
	stream_fail(s);
}

static void stream_setup(stream_t *s)
{
	struct timeval tv = {.tv_sec = STREAM_TIMEOUT_S};
	bufferevent_setcb(s->bev, on_stream_read, on_stream_write, on_stream_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static int ev_tcp_request(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len,
                          uint64_t req_id)
{
	gsp_transport_ev_t *t = ctx;
	stream_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	s->t = t;
	s->client = true;
	s->req_id = req_id;
	s->peer = *to;
	s->bev = bufferevent_socket_new(t->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		free(s);
		return -ENOMEM;
	}
	stream_setup(s);
	if (put_frame(s->bev, buf, len) != 0 ||
	    bufferevent_socket_connect(s->bev, (const struct sockaddr *)&to->ss, (int)to->len) !=
	            0) {
		s->replied = true; /* report failure by return code, not callback */
		stream_free(s);
		return -ECONNREFUSED;
	}
	return 0;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
	(void)l;
	gsp_transport_ev_t *t = arg;
	aya_listen_guard_ok(t->guard);
	if (t->n_streams >= MAX_STREAMS) {
		close(fd);
		return;
	}
	stream_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return;
	}
	s->t = t;
	size_t sl = (size_t)salen < sizeof(s->peer.ss) ? (size_t)salen : sizeof(s->peer.ss);
	memcpy(&s->peer.ss, sa, sl);
	s->peer.len = (socklen_t)sl;
	s->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		free(s);
		return;
	}
	t->n_streams++;
	stream_setup(s);
}

/* The queued connection stays queued: pause rather than be woken for it at once. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	gsp_transport_ev_t *t = arg;
	aya_listen_guard_fail(t->guard);
}

gsp_transport_ev_t *gsp_transport_ev_new(struct event_base *base, const gsp_addr_t *bind_addr,
                                         int *err)
{
	gsp_transport_ev_t *t = calloc(1, sizeof(*t));
	*err = -ENOMEM;
	if (t == NULL) {
		return NULL;
	}
	t->base = base;
	t->udp_fd = socket(bind_addr->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->udp_fd < 0 ||
	    bind(t->udp_fd, (const struct sockaddr *)&bind_addr->ss, bind_addr->len) != 0) {
		*err = -errno;
		goto fail;
	}
	t->udp_ev = event_new(base, t->udp_fd, EV_READ | EV_PERSIST, on_udp, t);
	t->timer = evtimer_new(base, on_timer, t);
	t->guard = aya_listen_guard_new(base, "gossip: tcp");
	if (t->udp_ev == NULL || t->timer == NULL || t->guard == NULL ||
	    event_add(t->udp_ev, NULL) != 0) {
		*err = -ENOMEM;
		goto fail;
	}
	t->lst = evconnlistener_new_bind(
	        base, on_accept, t,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
	        (const struct sockaddr *)&bind_addr->ss, (int)bind_addr->len);
	if (t->lst == NULL) {
		*err = errno ? -errno : -EADDRINUSE;
		goto fail;
	}
	evconnlistener_set_error_cb(t->lst, on_accept_error);
	if (aya_listen_guard_add(t->guard, t->lst) < 0) {
		*err = -ENOMEM;
		goto fail;
	}
	*err = 0;
	return t;
fail:
	gsp_transport_ev_free(t);
	return NULL;
}

void gsp_transport_ev_free(gsp_transport_ev_t *t)
{
	if (t == NULL) {
		return;
	}
	if (t->lst != NULL) {
		evconnlistener_free(t->lst);
	}
	if (t->udp_ev != NULL) {
		event_free(t->udp_ev);
	}
	if (t->timer != NULL) {
		event_free(t->timer);
	}
	aya_listen_guard_free(t->guard);
	if (t->udp_fd >= 0) {
		close(t->udp_fd);
	}
	free(t);
}

gsp_clock_t gsp_transport_ev_clock(gsp_transport_ev_t *t)
{
	return (gsp_clock_t){.ctx = t, .now_ms = ev_now_ms, .arm = ev_arm};
}

gsp_transport_t gsp_transport_ev_ops(gsp_transport_ev_t *t)
{
	return (gsp_transport_t){.ctx = t, .send_udp = ev_send_udp, .tcp_request = ev_tcp_request};
}

void gsp_transport_ev_attach(gsp_transport_ev_t *t, gsp_t *g)
{
	t->g = g;
}
