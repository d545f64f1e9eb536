/*
 * UDP workers: one thread per SO_REUSEPORT socket. Loop: a blocking
 * recvmmsg() (MSG_WAITFORONE, up to DNSD_UDP_BATCH datagrams), answer each
 * against the current snapshot, one sendmmsg() for all replies.
 *
 * RCU (QSBR): a worker is offline while blocked and online only while it
 * answers a batch; it reads srv->view once per batch and keeps no pointer
 * across batches, so a publisher waits at most one batch. Nothing here
 * allocates after start-up, logs per packet or takes a lock: errors are
 * counted, and socket errors logged rate-limited.
 *
 * Wildcard sockets (0.0.0.0, ::) receive IP_PKTINFO / IPV6_PKTINFO and send
 * it back so a reply leaves from the address its query was sent to.
 */
#define _LGPL_SOURCE
#include "dnsd/server_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/log.h"
#include "common/time.h"

/* Room for one in_pktinfo or in6_pktinfo control message. */
#define CMSG_ROOM CMSG_SPACE(sizeof(struct in6_pktinfo))

typedef struct udp_batch {
	struct mmsghdr in[DNSD_UDP_BATCH];
	struct mmsghdr out[DNSD_UDP_BATCH];
	struct iovec in_iov[DNSD_UDP_BATCH];
	struct iovec out_iov[DNSD_UDP_BATCH];
	struct sockaddr_storage src[DNSD_UDP_BATCH];
	union {
		char buf[CMSG_ROOM];
		struct cmsghdr align;
	} in_cmsg[DNSD_UDP_BATCH], out_cmsg[DNSD_UDP_BATCH];
	uint8_t qbuf[DNSD_UDP_BATCH][DNSD_MAX_UDP_QUERY];
	uint8_t rbuf[DNSD_UDP_BATCH][DNSD_UDP_OUT_MAX];
} udp_batch_t;

typedef struct udp_start {
	dnsd_udp_worker_t *w;
	sem_t ready;
	int rc;
} udp_start_t;

/* Point every header at its buffers, once per worker. */
static void batch_init(udp_batch_t *b, bool pktinfo)
{
	for (unsigned i = 0; i < DNSD_UDP_BATCH; i++) {
		struct msghdr *m = &b->in[i].msg_hdr;
		b->in_iov[i].iov_base = b->qbuf[i];
		b->in_iov[i].iov_len = sizeof(b->qbuf[i]);
		m->msg_name = &b->src[i];
		m->msg_namelen = sizeof(b->src[i]);
		m->msg_iov = &b->in_iov[i];
		m->msg_iovlen = 1;
		m->msg_control = pktinfo ? b->in_cmsg[i].buf : NULL;
		m->msg_controllen = pktinfo ? sizeof(b->in_cmsg[i].buf) : 0;
		m->msg_flags = 0;
		b->in[i].msg_len = 0;
		struct msghdr *o = &b->out[i].msg_hdr;
		b->out_iov[i].iov_base = b->rbuf[i];
		o->msg_iov = &b->out_iov[i];
		o->msg_iovlen = 1;
		o->msg_flags = 0;
	}
}

/*
 * Restore what recvmmsg() wrote into the first n headers (address and
 * control lengths, flags): the kernel leaves headers past the datagrams it
 * returned alone, so a batch of n costs n resets, not DNSD_UDP_BATCH.
 */
static void batch_rearm(udp_batch_t *b, unsigned n, bool pktinfo)
{
	for (unsigned i = 0; i < n; i++) {
		struct msghdr *m = &b->in[i].msg_hdr;
		m->msg_namelen = sizeof(b->src[i]);
		m->msg_controllen = pktinfo ? sizeof(b->in_cmsg[i].buf) : 0;
		m->msg_flags = 0;
	}
}

/*
 * Copy the received destination address into the reply's control data.
 * Returns the control length, 0 when the query carried none.
 */
static size_t reply_pktinfo(struct msghdr *in, void *out, size_t outlen)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		struct msghdr m = {.msg_control = out, .msg_controllen = outlen};
		struct cmsghdr *o = CMSG_FIRSTHDR(&m);
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			/* Keep the interface index: link-local destinations need it. */
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
			memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
			return CMSG_SPACE(sizeof(struct in6_pktinfo));
		}
	}
	return 0;
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

/* Answer n received datagrams; returns the number of replies prepared. */
static unsigned answer_batch(dnsd_udp_worker_t *w, udp_batch_t *b, unsigned n)
{
	unsigned nout = 0;
	rcu_thread_online();
	const dnsd_view_t *view = rcu_dereference(w->srv->view);
	for (unsigned i = 0; i < n; i++) {
		struct msghdr *m = &b->in[i].msg_hdr;
		if (m->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			count(&w->io.dropped, 1);
			continue;
		}
		size_t len = dnsd_answer(w->ctx, view->snap, view->pol, b->qbuf[i],
		                         b->in[i].msg_len, b->rbuf[nout], sizeof(b->rbuf[nout]),
		                         (const struct sockaddr *)&b->src[i], DNSD_UDP);
		if (len == 0) {
			continue;
		}
		struct msghdr *o = &b->out[nout].msg_hdr; /* iov fixed by batch_init */
		b->out_iov[nout].iov_len = len;
		o->msg_name = &b->src[i];
		o->msg_namelen = m->msg_namelen;
		o->msg_control = NULL;
		o->msg_controllen = 0;
		if (w->pktinfo) {
			size_t cl = reply_pktinfo(m, b->out_cmsg[nout].buf,
			                          sizeof(b->out_cmsg[nout].buf));
			if (cl > 0) {
				o->msg_control = b->out_cmsg[nout].buf;
				o->msg_controllen = cl;
			}
		}
		nout++;
	}
	/* Quiescent until the next batch: the snapshot pointer dies here. */
	rcu_thread_offline();
	return nout;
}

static void send_batch(dnsd_udp_worker_t *w, udp_batch_t *b, unsigned n)
{
	unsigned done = 0;
	while (done < n) {
		int rc = sendmmsg(w->fd, &b->out[done], n - done, 0);
		if (rc < 0) {
			if (errno == EINTR) {
				continue;
			}
			/* Skip the datagram the kernel refused, keep the rest. */
			count(&w->io.send_errors, 1);
			log_ratelimited(AYA_LOG_WARN, "dnsd: udp %s: sendmmsg: %s", w->addr_text,
			                strerror(errno));
			done++;
			continue;
		}
		done += (unsigned)rc;
	}
}

/*
 * After a handover (handoff.c steered new datagrams to the successor's
 * sockets): answer what is queued or still in flight to ours until the
 * queue stayed empty for DNSD_DRAIN_UDP_QUIET_MS, or the drain's bound.
 * The socket is shut down for reading, so a blocking read would return at
 * once: poll it every millisecond instead (at most 1 ms more per answer,
 * only here).
 */
static void drain(dnsd_udp_worker_t *w, udp_batch_t *b)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 1000000};
	uint64_t last = aya_mono_ms();
	for (;;) {
		int n = recvmmsg(w->fd, b->in, DNSD_UDP_BATCH, MSG_DONTWAIT, NULL);
		uint64_t now = aya_mono_ms();
		if (n > 0) {
			send_batch(w, b, answer_batch(w, b, (unsigned)n));
			batch_rearm(b, (unsigned)n, w->pktinfo);
			w->drained += (unsigned)n;
			last = now;
			continue;
		}
		if (now >= last + DNSD_DRAIN_UDP_QUIET_MS || now >= w->srv->drain_until_ms) {
			return;
		}
		nanosleep(&tick, NULL);
	}
}

static void serve(dnsd_udp_worker_t *w, udp_batch_t *b)
{
	batch_init(b, w->pktinfo);
	while (!atomic_load_explicit(&w->srv->stop, memory_order_acquire)) {
		int n = recvmmsg(w->fd, b->in, DNSD_UDP_BATCH, MSG_WAITFORONE, NULL);
		if (atomic_load_explicit(&w->srv->stop, memory_order_acquire)) {
			/*
			 * A handover answers what it read (not the empty read that
			 * the wake-up returns), then the rest of the queue.
			 */
			if (w->srv->handoff) {
				if (n > 1 || (n == 1 && b->in[0].msg_len > 0)) {
					send_batch(w, b, answer_batch(w, b, (unsigned)n));
					batch_rearm(b, (unsigned)n, w->pktinfo);
				}
				drain(w, b);
			}
			break;
		}
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN) {
				log_ratelimited(AYA_LOG_WARN, "dnsd: udp %s: recvmmsg: %s",
				                w->addr_text, strerror(errno));
			}
			continue;
		}
		atomic_store_explicit(&w->busy_since_ms, dnsd_coarse_ms(), memory_order_relaxed);
		unsigned nout = answer_batch(w, b, (unsigned)n);
		send_batch(w, b, nout);
		batch_rearm(b, (unsigned)n, w->pktinfo);
		atomic_store_explicit(&w->busy_since_ms, 0, memory_order_relaxed);
	}
}

static void *udp_main(void *arg)
{
	udp_start_t *st = arg;
	dnsd_udp_worker_t *w = st->w;
	udp_batch_t *b = calloc(1, sizeof(*b));
	w->ctx = dnsd_ctx_new();
	if (b == NULL || w->ctx == NULL) {
		st->rc = -ENOMEM;
		sem_post(&st->ready);
		free(b);
		return NULL;
	}
	dnsd_ctx_set_rrl(w->ctx, w->srv->rrl); /* limits follow the snapshot's dns.rrl */
	st->rc = 0;
	sem_post(&st->ready); /* st is gone after this */

	rcu_register_thread();
	rcu_thread_offline();
	serve(w, b);
	rcu_thread_online();
	rcu_unregister_thread();
	free(b);
	atomic_store_explicit(&w->exited, true, memory_order_release);
	return NULL;
}

int dnsd_udp_start(dnsd_udp_worker_t *w)
{
	udp_start_t st = {.w = w, .rc = 0};
	if (sem_init(&st.ready, 0, 0) != 0) {
		return -errno;
	}
	int rc = pthread_create(&w->tid, NULL, udp_main, &st);
	if (rc != 0) {
		sem_destroy(&st.ready);
		return -rc;
	}
	w->started = true;
	while (sem_wait(&st.ready) != 0 && errno == EINTR) {
	}
	sem_destroy(&st.ready);
	return st.rc;
}

void dnsd_udp_wake(dnsd_udp_worker_t *w)
{
	/*
	 * Linux wakes a reader blocked on an unconnected UDP socket (recv returns
	 * 0). SHUT_RD only: datagrams still queue and can be read without
	 * blocking, and replies can still be sent (SHUT_WR would fail them with
	 * EPIPE), which the drain after a handover needs.
	 */
	if (w->fd >= 0) {
		(void)shutdown(w->fd, SHUT_RD);
	}
}

void dnsd_udp_wait(dnsd_udp_worker_t *w)
{
	if (w->started) {
		pthread_join(w->tid, NULL);
		w->started = false;
	}
}

void dnsd_udp_join(dnsd_udp_worker_t *w)
{
	dnsd_udp_wait(w);
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	dnsd_ctx_free(w->ctx);
	w->ctx = NULL;
}
