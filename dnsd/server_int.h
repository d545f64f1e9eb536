/*
 * dnsd/ server internals shared by server.c (life cycle, publish, stats),
 * udp.c (the recvmmsg/sendmmsg workers) and tcp.c (the RFC 7766 thread).
 *
 * Invariants: the current snapshots are reached only through srv->view with
 * rcu_dereference() by a registered, online reader; a reader never keeps it
 * across batches (UDP) or callbacks (TCP). Every worker owns its dnsd_ctx_t
 * and its io counters (one writer). Not for use outside dnsd/ and its tests.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "dnsd/dnsd.h"
#include "dnsd/rrl_int.h"

/* Datagrams per recvmmsg/sendmmsg batch. */
#define DNSD_UDP_BATCH 32
/* Response buffer per UDP datagram: answers larger than this get TC=1. */
#define DNSD_UDP_OUT_MAX 4096
/* Socket buffers we ask for (the kernel clamps to its maximum). */
#define DNSD_SOCK_BUF (4 * 1024 * 1024)

typedef struct dnsd_udp_worker {
	struct dnsd_server *srv;
	int fd;
	int family;
	bool pktinfo; /* wildcard address: reply from the address the query came to */
	bool started;
	pthread_t tid;
	dnsd_ctx_t *ctx;
	dnsd_counters_t io; /* socket-level counters (send_errors, dropped), worker writes */
	/* Liveness (dnsd_server_check): when the batch being answered arrived, 0 while
	 * waiting in recvmmsg (CLOCK_MONOTONIC_COARSE ms); set when the thread ends. */
	_Atomic uint64_t busy_since_ms;
	atomic_bool exited;
	uint64_t drained; /* datagrams answered while draining (handoff.c); read after join */
	char addr_text[64];
} dnsd_udp_worker_t;

typedef struct dnsd_tcp dnsd_tcp_t;

/* The pair of snapshots the workers answer from, swapped as one pointer. */
typedef struct dnsd_view {
	dnsd_snap_t *snap;
	pol_snap_t *pol; /* may be NULL: no services */
} dnsd_view_t;

struct dnsd_server {
	dnsd_view_t *view;    /* RCU-protected: rcu_dereference / rcu_xchg_pointer */
	dnsd_view_t views[2]; /* view points to one; publish fills the other */
	atomic_bool stop;
	dnsd_udp_worker_t *udp;
	size_t n_udp;
	dnsd_tcp_t *tcp; /* reads its settings from cfg at start */
	dnsd_rrl_t *rrl; /* response rate limiting, shared by the UDP workers (rrl.c) */
	size_t per_addr; /* UDP sockets per listen address: srv->udp[i * per_addr + j] */
	/*
	 * Set by dnsd_server_handoff() on the control thread before stop is
	 * stored (release), read by the workers after they load stop (acquire):
	 * they then drain their socket until drain_until_ms instead of leaving.
	 */
	bool handoff;
	uint64_t drain_until_ms; /* monotonic */
};

/* Handover (handoff.c): a queue quiet this long is drained; the whole drain is bounded. */
#define DNSD_DRAIN_UDP_QUIET_MS 50u
#define DNSD_DRAIN_TCP_QUIET_MS 100u
#define DNSD_DRAIN_MAX_MS 2000u

/*
 * Attach to fd's SO_REUSEPORT group (the program applies to the whole
 * group) a classic BPF program picking socket base + random % span; 0 or a
 * negative errno. span >= 1.
 */
int dnsd_reuseport_steer(int fd, unsigned base, unsigned span);
/* Drop the group's program, if any (a predecessor's, after a takeover). */
void dnsd_reuseport_unsteer(int fd);
/*
 * After dnsd_server_handoff(): stop the workers, which drain their queues,
 * close the UDP sockets in the order that keeps the steering exact, and
 * wait for the TCP thread's drain. dnsd_server_stop() calls it.
 */
void dnsd_server_drain(dnsd_server_t *srv);

/*
 * Open and bind a socket for `sa` (SOCK_DGRAM with SO_REUSEPORT, or
 * SOCK_STREAM with SO_REUSEADDR and SO_REUSEPORT), IPV6_V6ONLY for IPv6. Returns the fd or a
 * negative errno, logged with the address.
 */
int dnsd_sock_bind(const cfg_sockaddr_t *sa, int type);
/* True for 0.0.0.0 and ::. */
bool dnsd_sa_is_wildcard(const struct sockaddr_storage *ss);

/*
 * UDP: prepare worker w on an already bound fd; start its thread; wake it
 * (shutdown(SHUT_RD): queued datagrams stay readable, replies can still be
 * sent); wait for its thread; join (wait, then close the socket, free).
 */
int dnsd_udp_start(dnsd_udp_worker_t *w);
void dnsd_udp_wake(dnsd_udp_worker_t *w);
void dnsd_udp_wait(dnsd_udp_worker_t *w);
void dnsd_udp_join(dnsd_udp_worker_t *w);

/* TCP: bind every listen address and start the thread; stop and free. */
int dnsd_tcp_start(struct dnsd_server *srv, const cfg_t *cfg, dnsd_tcp_t **out);
void dnsd_tcp_stop(dnsd_tcp_t *t);
/* When the TCP thread's loop last ran its 500 ms heartbeat (monotonic ms). */
uint64_t dnsd_tcp_beat_ms(const dnsd_tcp_t *t) AYA_NONNULL(1);
/* CLOCK_MONOTONIC_COARSE in ms: a vDSO read, no syscall; inline for the UDP loop. */
static inline uint64_t dnsd_coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
/* Steer new connections to the successor's listeners (control thread). */
int dnsd_tcp_handoff(dnsd_tcp_t *t);
/*
 * Start the drain on the TCP thread: accept what is queued until no
 * connection came for DNSD_DRAIN_TCP_QUIET_MS, stop listening, close each
 * connection once idle; the thread leaves when none is left or at
 * until_ms. dnsd_tcp_stop() then waits for it.
 */
void dnsd_tcp_drain(dnsd_tcp_t *t, uint64_t until_ms);
/* Wait for the thread to leave (after dnsd_tcp_drain); dnsd_tcp_stop() frees. */
void dnsd_tcp_wait(dnsd_tcp_t *t);
/* Connections accepted after dnsd_tcp_handoff(); read after dnsd_tcp_wait(). */
uint64_t dnsd_tcp_drained(const dnsd_tcp_t *t);
/* Drop the listeners' groups' programs (after a takeover). */
void dnsd_tcp_unsteer(dnsd_tcp_t *t);
/* Sum of the TCP thread's counters into out. */
void dnsd_tcp_stats(const dnsd_tcp_t *t, dnsd_stats_t *out);
/* out[i] += the TCP thread's answers from pool slot i (dnsd_server_pool_answers). */
void dnsd_tcp_pool_answers(const dnsd_tcp_t *t, uint64_t *out, size_t n);
/* Add the TCP context's timed query durations to out. */
void dnsd_tcp_qdur(const dnsd_tcp_t *t, aya_hist_t *out);
