/*
 * The real transport: one UDP socket and one TCP listener on the gossip
 * address, a libevent timer for the clock, CLOCK_MONOTONIC milliseconds.
 *
 * TCP push/pull: a stream carries one request frame and one reply frame,
 * each a 4-byte big-endian length and a sealed envelope (at most
 * GSP_MAX_FRAME); then the server closes. Nothing on a stream waits without
 * a deadline, and no deadline restarts on a byte (a trickle of one byte
 * every few seconds must not hold a slot):
 *   - an accepted stream must deliver its whole request frame within
 *     FRAME_DEADLINE_MS of the accept, then get its reply written within
 *     FRAME_DEADLINE_MS more;
 *   - a request (connect, request, reply) must be done within
 *     REQUEST_DEADLINE_MS.
 * With a keyring, a request frame whose envelope names no installed key
 * (or the wrong mode) is refused once its first bytes are in, and counted
 * as a drop by reason (gsp_count_drop). At most MAX_STREAMS accepted streams
 * are open at once (so a flood cannot exhaust descriptors), shared as
 * gossip/tcpslots_int.h says: a full table evicts its oldest stream that has
 * not delivered an authenticated frame, RESERVED_STREAMS slots are kept for
 * seeds and members, and one source holds at most STREAMS_PER_ADDR. When
 * accept() fails all the same (EMFILE: the process is out of them), the
 * listener pauses with a back-off (common/listen.h) instead of spinning.
 */
#include "gossip/gossip_int.h"
#include "gossip/tcpslots_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#define FRAME_DEADLINE_MS 5000u /* a whole request frame in, then the reply out */
#define REQUEST_DEADLINE_MS (2 * FRAME_DEADLINE_MS)
#define MAX_STREAMS 64
#define RESERVED_STREAMS (MAX_STREAMS / 4) /* for seeds and members */
#define STREAMS_PER_ADDR 4
/*
 * Bytes that accepted streams not yet authenticated may claim with their
 * frame lengths, all together: a stream that claims more than is left is
 * closed once its length is in (a key id is not a secret, so a stranger
 * with a valid one could otherwise make 64 streams claim 16 MiB each). A
 * stream reads no further than its claimed frame.
 */
#define PREAUTH_BUDGET (32u << 20)

typedef struct stream stream_t;

struct gsp_transport_ev {
	struct event_base *base;
	gsp_t *g;
	int udp_fd;
	struct event *udp_ev, *timer;
	struct evconnlistener *lst;
	aya_listen_guard_t *guard; /* pauses lst after a failed accept */
	stream_t *all;             /* every stream, accepted or ours */
	stream_t *accepted[MAX_STREAMS];
	gsp_slot_t slots[MAX_STREAMS]; /* accepted[i]'s place in the table */
	uint64_t accept_seq;
	size_t preauth; /* bytes claimed by unauthenticated streams (PREAUTH_BUDGET) */
};

struct stream {
	gsp_transport_ev_t *t;
	stream_t *prev, *next; /* in t->all */
	struct bufferevent *bev;
	struct event *deadline;
	uint64_t opened_ms;
	bool client;
	bool replied;
	bool checked; /* accepted: the request's envelope passed gsp_open_precheck */
	size_t claim; /* accepted, unauthenticated: its frame's share of t->preauth */
	int slot;     /* accepted: index in t->slots; -1 for ours */
	uint64_t req_id;
	gsp_addr_t peer;
};

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
	gsp_transport_ev_t *t = s->t;
	t->preauth -= s->claim;
	if (s->slot >= 0) {
		t->slots[s->slot].used = false;
		t->accepted[s->slot] = NULL;
	}
	if (s->prev != NULL) {
		s->prev->next = s->next;
	} else {
		t->all = s->next;
	}
	if (s->next != NULL) {
		s->next->prev = s->prev;
	}
	if (s->deadline != NULL) {
		event_free(s->deadline);
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

static void arm_deadline(stream_t *s, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
	evtimer_add(s->deadline, &tv);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stream_t *s = arg;
	gsp_transport_ev_t *t = s->t;
	if (!s->client && t->g != NULL) {
		char who[80];
		t->g->stats.tcp_deadline++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: closed a push/pull stream from %s: %s not done within "
		                "%u ms (%" PRIu64 " so far)",
		                gsp_addr_str(&s->peer, who, sizeof(who)),
		                s->replied ? "the reply was" : "the request frame was",
		                FRAME_DEADLINE_MS, t->g->stats.tcp_deadline);
	}
	stream_fail(s);
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

/*
 * Accepted streams: judge the request by its first bytes (length, envelope
 * mode, key id). false: the stream was closed (and the drop counted).
 */
static bool precheck(stream_t *s, struct evbuffer *in)
{
	uint8_t hdr[4 + GSP_ENV_PRECHECK_LEN];
	size_t have = evbuffer_get_length(in);
	if (have < 4) {
		return true;
	}
	evbuffer_copyout(in, hdr, have < sizeof(hdr) ? have : sizeof(hdr));
	uint32_t n =
	        (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	size_t want = n < GSP_ENV_PRECHECK_LEN ? n : GSP_ENV_PRECHECK_LEN;
	long rc = 0;
	if (n > GSP_MAX_FRAME) {
		rc = -EMSGSIZE;
	} else if (have - 4 < want) {
		return true;
	} else {
		rc = gsp_open_precheck(s->t->g != NULL ? s->t->g->kr : NULL, hdr + 4, want, n);
	}
	if (rc < 0 || s->t->g == NULL) {
		if (s->t->g != NULL) {
			gsp_count_drop(s->t->g, &s->peer, rc);
		}
		stream_free(s);
		return false;
	}
	gsp_transport_ev_t *t = s->t;
	if (t->preauth + 4 + n > PREAUTH_BUDGET) {
		char who[80];
		t->g->stats.tcp_refused++;
		log_ratelimited(
		        AYA_LOG_WARN,
		        "gossip: tcp: closed a stream from %s claiming a %u-byte frame: "
		        "%zu bytes already claimed by streams not yet authenticated (%" PRIu64
		        " refused)",
		        gsp_addr_str(&s->peer, who, sizeof(who)), n, t->preauth,
		        t->g->stats.tcp_refused);
		stream_free(s);
		return false;
	}
	s->claim = 4 + (size_t)n;
	t->preauth += s->claim;
	/* Read no further than the frame: the buffer holds at most what was claimed. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, s->claim);
	s->checked = true;
	return true;
}

static void on_stream_read(struct bufferevent *bev, void *arg)
{
	stream_t *s = arg;
	size_t len = 0;
	bool bad;
	if (!s->client && !s->checked && !precheck(s, bufferevent_get_input(bev))) {
		return;
	}
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
	/* Authenticated: no longer evictable nor counted against the budget; the reply gets its
	 * own deadline. */
	s->t->slots[s->slot].authed = true;
	s->t->preauth -= s->claim;
	s->claim = 0;
	s->replied = true;
	arm_deadline(s, FRAME_DEADLINE_MS);
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

/* A stream on fd (-1: ours, to connect), linked in t->all; NULL when out of memory. */
static stream_t *stream_new(gsp_transport_ev_t *t, evutil_socket_t fd, const gsp_addr_t *peer)
{
	stream_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return NULL;
	}
	s->t = t;
	s->slot = -1;
	s->peer = *peer;
	s->opened_ms = aya_mono_ms();
	s->bev = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->deadline = s->bev != NULL ? evtimer_new(t->base, on_deadline, s) : NULL;
	if (s->deadline == NULL) {
		if (s->bev != NULL) {
			bufferevent_free(s->bev); /* closes fd */
		} else if (fd >= 0) {
			close(fd);
		}
		free(s);
		return NULL;
	}
	s->next = t->all;
	if (t->all != NULL) {
		t->all->prev = s;
	}
	t->all = s;
	/* No bufferevent timeouts: they restart on every byte. The deadline does not. */
	bufferevent_setcb(s->bev, on_stream_read, on_stream_write, on_stream_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	return s;
}

static int ev_tcp_request(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len,
                          uint64_t req_id)
{
	gsp_transport_ev_t *t = ctx;
	stream_t *s = stream_new(t, -1, to);
	if (s == NULL) {
		return -ENOMEM;
	}
	s->client = true;
	s->req_id = req_id;
	arm_deadline(s, REQUEST_DEADLINE_MS);
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
	gsp_addr_t peer = {0};
	size_t sl = (size_t)salen < sizeof(peer.ss) ? (size_t)salen : sizeof(peer.ss);
	memcpy(&peer.ss, sa, sl);
	peer.len = (socklen_t)sl;
	bool known = t->g != NULL && gsp_peer_known(t->g, &peer);
	uint8_t key[GSP_SLOT_KEY_LEN];
	gsp_slot_key(&peer, known, key);
	size_t ix = 0;
	char who[80];
	switch (gsp_slot_admit(t->slots, MAX_STREAMS, RESERVED_STREAMS, STREAMS_PER_ADDR, key,
	                       known, &ix)) {
	case GSP_SLOT_REFUSE:
		if (t->g != NULL) {
			t->g->stats.tcp_refused++;
			log_ratelimited(
			        AYA_LOG_WARN,
			        "gossip: refused a push/pull stream from %s: its share of the "
			        "stream table is busy with authenticated streams (%" PRIu64
			        " so far)",
			        gsp_addr_str(&peer, who, sizeof(who)), t->g->stats.tcp_refused);
		}
		close(fd);
		return;
	case GSP_SLOT_EVICT: {
		stream_t *old = t->accepted[ix];
		if (t->g != NULL) {
			char whom[80];
			t->g->stats.tcp_evicted++;
			log_ratelimited(AYA_LOG_WARN,
			                "gossip: closed the push/pull stream of %s (no frame after "
			                "%" PRIu64 " ms) to make room for %s (%" PRIu64 " so far)",
			                gsp_addr_str(&old->peer, whom, sizeof(whom)),
			                aya_mono_ms() - old->opened_ms,
			                gsp_addr_str(&peer, who, sizeof(who)),
			                t->g->stats.tcp_evicted);
		}
		stream_free(old);
		break;
	}
	case GSP_SLOT_TAKE:
		break;
	}
	stream_t *s = stream_new(t, fd, &peer);
	if (s == NULL) {
		return; /* out of memory; stream_new closed fd */
	}
	s->slot = (int)ix;
	t->accepted[ix] = s;
	t->slots[ix] = (gsp_slot_t){.seq = ++t->accept_seq, .used = true, .known = known};
	memcpy(t->slots[ix].key, key, sizeof(key));
	arm_deadline(s, FRAME_DEADLINE_MS);
}

/* The queued connection stays queued: pause rather than be woken for it at once. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	gsp_transport_ev_t *t = arg;
	aya_listen_guard_fail(t->guard);
}

/* The bound sockets: the UDP socket with its event, the TCP listener with its guard. */
typedef struct socks {
	int udp_fd;
	struct event *udp_ev;
	struct evconnlistener *lst;
	aya_listen_guard_t *guard;
} socks_t;

static void socks_close(socks_t *k)
{
	if (k->lst != NULL) {
		evconnlistener_free(k->lst);
	}
	if (k->udp_ev != NULL) {
		event_free(k->udp_ev);
	}
	aya_listen_guard_free(k->guard);
	if (k->udp_fd >= 0) {
		close(k->udp_fd);
	}
	*k = (socks_t){.udp_fd = -1};
}

/* Bind UDP and TCP on addr into k (for t); 0 or a negative errno, k closed. */
static int socks_open(gsp_transport_ev_t *t, const gsp_addr_t *addr, socks_t *k)
{
	int err = -ENOMEM;
	*k = (socks_t){
	        .udp_fd = socket(addr->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
	if (k->udp_fd < 0 || bind(k->udp_fd, (const struct sockaddr *)&addr->ss, addr->len) != 0) {
		err = -errno;
		goto fail;
	}
	k->udp_ev = event_new(t->base, k->udp_fd, EV_READ | EV_PERSIST, on_udp, t);
	k->guard = aya_listen_guard_new(t->base, "gossip: tcp");
	if (k->udp_ev == NULL || k->guard == NULL || event_add(k->udp_ev, NULL) != 0) {
		err = -ENOMEM;
		goto fail;
	}
	errno = 0;
	k->lst = evconnlistener_new_bind(t->base, on_accept, t,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                         LEV_OPT_CLOSE_ON_EXEC,
	                                 64, (const struct sockaddr *)&addr->ss, (int)addr->len);
	if (k->lst == NULL) {
		err = errno ? -errno : -EADDRINUSE;
		goto fail;
	}
	evconnlistener_set_error_cb(k->lst, on_accept_error);
	if (aya_listen_guard_add(k->guard, k->lst) < 0) {
		err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	socks_close(k);
	return err;
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
	t->udp_fd = -1;
	t->timer = evtimer_new(base, on_timer, t);
	if (t->timer == NULL) {
		goto fail;
	}
	socks_t k;
	if ((*err = socks_open(t, bind_addr, &k)) < 0) {
		goto fail;
	}
	t->udp_fd = k.udp_fd;
	t->udp_ev = k.udp_ev;
	t->lst = k.lst;
	t->guard = k.guard;
	return t;
fail:
	gsp_transport_ev_free(t);
	return NULL;
}

int gsp_transport_ev_rebind(gsp_transport_ev_t *t, const gsp_addr_t *bind_addr)
{
	socks_t k,
	        old = {.udp_fd = t->udp_fd, .udp_ev = t->udp_ev, .lst = t->lst, .guard = t->guard};
	int rc = socks_open(t, bind_addr, &k);
	if (rc < 0) {
		return rc; /* the old sockets stay */
	}
	/* Streams in flight keep their own sockets; only the listening ones change. */
	t->udp_fd = k.udp_fd;
	t->udp_ev = k.udp_ev;
	t->lst = k.lst;
	t->guard = k.guard;
	socks_close(&old);
	return 0;
}

void gsp_transport_ev_free(gsp_transport_ev_t *t)
{
	if (t == NULL) {
		return;
	}
	/* Pending streams end without a word: the gsp_t may be gone already. */
	t->g = NULL;
	for (int i = 0; i < 1 << 16 && t->all != NULL; i++) {
		stream_free(t->all);
	}
	socks_t k = {.udp_fd = t->udp_fd, .udp_ev = t->udp_ev, .lst = t->lst, .guard = t->guard};
	socks_close(&k);
	if (t->timer != NULL) {
		event_free(t->timer);
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
