/*
 * dnsd server life cycle: bind every listen address, start the UDP workers
 * and the TCP thread, swap snapshots (liburcu QSBR), sum counters, stop.
 *
 * The control thread calls start/publish/stop; publish may run from a thread
 * that never registered with RCU: it reads no snapshot, and urcu-qsbr's
 * synchronize_rcu() does not need the caller to be registered.
 */
#define _LGPL_SOURCE
#include "dnsd/server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "common/log.h"
#include "dnsd/snap_int.h"

bool dnsd_sa_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		return in->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		return IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
	}
	return false;
}

/* Ask for big buffers: a burst must not overflow the queue of a busy worker. */
static void set_buffers(int fd)
{
	int size = DNSD_SOCK_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
}

int dnsd_sock_bind(const cfg_sockaddr_t *sa, int type)
{
	int family = sa->ss.ss_family;
	const char *proto = type == SOCK_DGRAM ? "udp" : "tcp";
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;
		log_err("dnsd: %s %s: socket: %s", proto, sa->text, strerror(err));
		return -err;
	}
	int one = 1;
	const char *what = NULL;
	if (type == SOCK_DGRAM) {
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
			what = "SO_REUSEPORT";
			goto fail;
		}
		set_buffers(fd);
	} else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
		what = "SO_REUSEADDR";
		goto fail;
	} else if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
		/* So that an upgrade's new ayad listens beside us (dnsd/handoff.c). */
		what = "SO_REUSEPORT";
		goto fail;
	}
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
		what = "IPV6_V6ONLY";
		goto fail;
	}
	if (type == SOCK_DGRAM && dnsd_sa_is_wildcard(&sa->ss)) {
		/* Learn each query's destination so the reply leaves from it. */
		int rc =
		        family == AF_INET
		                ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))
		                : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		if (rc != 0) {
			what = "pktinfo";
			goto fail;
		}
	}
	if (bind(fd, (const struct sockaddr *)&sa->ss, sa->len) != 0) {
		what = "bind";
		goto fail;
	}
	return fd;
fail:;
	int err = errno;
	/*
	 * The kernel lets a socket join a SO_REUSEPORT group only with the
	 * effective uid of the sockets already in it: an upgrade's new ayad must
	 * bind as the running one did.
	 */
	log_err("dnsd: %s %s: %s: %s%s", proto, sa->text, what, strerror(err),
	        err == EADDRINUSE ? " (held by another process; an ayad running as another user, "
	                            "or without SO_REUSEPORT, cannot share it)"
	                          : "");
	close(fd);
	return -err;
}

static unsigned worker_count(const cfg_t *cfg)
{
	if (cfg->dns.threads > 0) {
		return cfg->dns.threads;
	}
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int udp_open(dnsd_server_t *srv, const cfg_t *cfg)
{
	unsigned per_addr = worker_count(cfg);
	srv->per_addr = per_addr;
	srv->udp = calloc(cfg->dns.n_listen * per_addr, sizeof(*srv->udp));
	if (srv->udp == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->dns.n_listen; i++) {
		const cfg_sockaddr_t *sa = &cfg->dns.listen[i];
		for (unsigned j = 0; j < per_addr; j++) {
			int fd = dnsd_sock_bind(sa, SOCK_DGRAM);
			if (fd < 0) {
				return fd;
			}
			dnsd_udp_worker_t *w = &srv->udp[srv->n_udp++];
			w->srv = srv;
			w->fd = fd;
			w->family = sa->ss.ss_family;
			w->pktinfo = dnsd_sa_is_wildcard(&sa->ss);
			snprintf(w->addr_text, sizeof(w->addr_text), "%s", sa->text);
		}
	}
	return 0;
}

int dnsd_server_start(const cfg_t *cfg, dnsd_snap_t *snap, pol_snap_t *pol, dnsd_server_t **out)
{
	*out = NULL;
	dnsd_server_t *srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		dnsd_snap_free(snap);
		pol_snap_free(pol);
		return -ENOMEM;
	}
	srv->views[0].snap = snap;
	srv->views[0].pol = pol;
	srv->view = &srv->views[0];
	atomic_init(&srv->stop, false);
	/* Always there (its pages stay untouched while RRL is off), so a reload can turn it on. */
	srv->rrl = dnsd_rrl_new(DNSD_RRL_SLOTS_LOG2);
	if (srv->rrl == NULL) {
		dnsd_server_stop(srv);
		return -ENOMEM;
	}
	dnsd_rrl_configure(srv->rrl, &snap->rrl);

	int rc = udp_open(srv, cfg);
	if (rc < 0) {
		goto fail;
	}
	rc = dnsd_tcp_start(srv, cfg, &srv->tcp);
	if (rc < 0) {
		goto fail;
	}
	for (size_t i = 0; i < srv->n_udp; i++) {
		rc = dnsd_udp_start(&srv->udp[i]);
		if (rc < 0) {
			log_err("dnsd: udp %s: cannot start worker: %s", srv->udp[i].addr_text,
			        strerror(-rc));
			goto fail;
		}
	}
	log_info("dnsd: serving on %zu address(es), %zu udp worker(s), 1 tcp thread",
	         cfg->dns.n_listen, srv->n_udp);
	*out = srv;
	return 0;
fail:
	dnsd_server_stop(srv);
	return rc;
}

void dnsd_server_publish(dnsd_server_t *srv, dnsd_snap_t *snap, pol_snap_t *pol)
{
	/*
	 * Two views in the server, used in turn: the one not current is unseen by
	 * every reader since the previous publish's grace period, so publishing
	 * needs no allocation and cannot fail. Only the control thread publishes.
	 */
	dnsd_view_t *cur = srv->view;
	dnsd_view_t *next = cur == &srv->views[0] ? &srv->views[1] : &srv->views[0];
	next->snap = snap != NULL ? snap : cur->snap;
	next->pol = pol != NULL ? pol : cur->pol;
	if (snap != NULL) {
		dnsd_rrl_configure(srv->rrl, &snap->rrl);
	}
	dnsd_view_t *old = rcu_xchg_pointer(&srv->view, next);
	/* Every worker passes a quiescent state at least once per batch. */
	synchronize_rcu();
	if (snap != NULL) {
		dnsd_snap_free(old->snap);
	}
	if (pol != NULL) {
		pol_snap_free(old->pol);
	}
	old->snap = NULL;
	old->pol = NULL;
}

void dnsd_server_stats(const dnsd_server_t *srv, dnsd_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < srv->n_udp; i++) {
		const dnsd_udp_worker_t *w = &srv->udp[i];
		if (w->ctx != NULL) {
			dnsd_counters_add(out, dnsd_ctx_counters(w->ctx));
		}
		dnsd_counters_add(out, &w->io);
	}
	if (srv->tcp != NULL) {
		dnsd_tcp_stats(srv->tcp, out);
	}
	if (srv->rrl != NULL) {
		out->rrl_keys = dnsd_rrl_keys(srv->rrl);
	}
}

void dnsd_server_stats_by_transport(const dnsd_server_t *srv, dnsd_stats_t *udp, dnsd_stats_t *tcp)
{
	memset(udp, 0, sizeof(*udp));
	memset(tcp, 0, sizeof(*tcp));
	for (size_t i = 0; i < srv->n_udp; i++) {
		const dnsd_udp_worker_t *w = &srv->udp[i];
		if (w->ctx != NULL) {
			dnsd_counters_add(udp, dnsd_ctx_counters(w->ctx));
		}
		dnsd_counters_add(udp, &w->io);
	}
	if (srv->tcp != NULL) {
		dnsd_tcp_stats(srv->tcp, tcp);
	}
	if (srv->rrl != NULL) {
		udp->rrl_keys = dnsd_rrl_keys(srv->rrl);
	}
}

void dnsd_server_qdur(const dnsd_server_t *srv, aya_hist_t *udp, aya_hist_t *tcp)
{
	*udp = (aya_hist_t){0};
	*tcp = (aya_hist_t){0};
	for (size_t i = 0; i < srv->n_udp; i++) {
		if (srv->udp[i].ctx != NULL) {
			dnsd_ctx_qdur_add(srv->udp[i].ctx, udp);
		}
	}
	if (srv->tcp != NULL) {
		dnsd_tcp_qdur(srv->tcp, tcp);
	}
}

void dnsd_server_pool_answers(const dnsd_server_t *srv, uint64_t *out, size_t n)
{
	memset(out, 0, n * sizeof(*out));
	for (size_t i = 0; i < srv->n_udp; i++) {
		if (srv->udp[i].ctx != NULL) {
			dnsd_ctx_pool_answers_add(srv->udp[i].ctx, out, n);
		}
	}
	if (srv->tcp != NULL) {
		dnsd_tcp_pool_answers(srv->tcp, out, n);
	}
}

unsigned dnsd_server_workers(const dnsd_server_t *srv)
{
	return (unsigned)srv->n_udp;
}

int dnsd_server_check(const dnsd_server_t *srv, uint64_t max_ms, char *why, size_t n)
{
	uint64_t now = dnsd_coarse_ms();
	for (size_t i = 0; i < srv->n_udp; i++) {
		const dnsd_udp_worker_t *w = &srv->udp[i];
		uint64_t since = atomic_load_explicit(&w->busy_since_ms, memory_order_relaxed);
		if (atomic_load_explicit(&w->exited, memory_order_acquire)) {
			snprintf(why, n, "udp worker %zu (%s) has exited", i, w->addr_text);
			return -1;
		}
		if (since != 0 && now > since && now - since > max_ms) {
			snprintf(why, n,
			         "udp worker %zu (%s) has been answering one batch for %llu ms", i,
			         w->addr_text, (unsigned long long)(now - since));
			return -1;
		}
	}
	uint64_t beat = srv->tcp != NULL ? dnsd_tcp_beat_ms(srv->tcp) : now;
	if (now > beat && now - beat > max_ms) {
		snprintf(why, n, "the tcp thread's loop has not run for %llu ms",
		         (unsigned long long)(now - beat));
		return -1;
	}
	return 0;
}

void dnsd_server_stop(dnsd_server_t *srv)
{
	if (srv == NULL) {
		return;
	}
	if (srv->handoff) {
		dnsd_server_drain(srv);
	}
	atomic_store(&srv->stop, true);
	for (size_t i = 0; i < srv->n_udp; i++) {
		dnsd_udp_wake(&srv->udp[i]);
	}
	for (size_t i = 0; i < srv->n_udp; i++) {
		dnsd_udp_join(&srv->udp[i]);
	}
	dnsd_tcp_stop(srv->tcp);
	srv->tcp = NULL;
	free(srv->udp);
	srv->udp = NULL;
	dnsd_rrl_free(srv->rrl); /* after the workers: they hold it */
	srv->rrl = NULL;
	/* No reader is left: the threads are joined. */
	if (srv->view != NULL) {
		dnsd_snap_free(srv->view->snap);
		pol_snap_free(srv->view->pol);
	}
	free(srv);
}
