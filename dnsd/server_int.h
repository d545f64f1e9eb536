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
};

/*
 * Open and bind a socket for `sa` (SOCK_DGRAM with SO_REUSEPORT, or
 * SOCK_STREAM with SO_REUSEADDR), IPV6_V6ONLY for IPv6. Returns the fd or a
 * negative errno, logged with the address.
 */
int dnsd_sock_bind(const cfg_sockaddr_t *sa, int type);
/* True for 0.0.0.0 and ::. */
bool dnsd_sa_is_wildcard(const struct sockaddr_storage *ss);

/* UDP: prepare worker w on an already bound fd; start its thread; wake and join. */
int dnsd_udp_start(dnsd_udp_worker_t *w);
void dnsd_udp_wake(dnsd_udp_worker_t *w);
void dnsd_udp_join(dnsd_udp_worker_t *w);

/* TCP: bind every listen address and start the thread; stop and free. */
int dnsd_tcp_start(struct dnsd_server *srv, const cfg_t *cfg, dnsd_tcp_t **out);
void dnsd_tcp_stop(dnsd_tcp_t *t);
/* When the TCP thread's loop last ran its 500 ms heartbeat (monotonic ms). */
uint64_t dnsd_tcp_beat_ms(const dnsd_tcp_t *t) AYA_NONNULL(1);
/* CLOCK_MONOTONIC_COARSE in ms: a vDSO read, no syscall. */
uint64_t dnsd_coarse_ms(void);
/* Sum of the TCP thread's counters into out. */
void dnsd_tcp_stats(const dnsd_tcp_t *t, dnsd_stats_t *out);
/* out[i] += the TCP thread's answers from pool slot i (dnsd_server_pool_answers). */
void dnsd_tcp_pool_answers(const dnsd_tcp_t *t, uint64_t *out, size_t n);
/* Add the TCP context's timed query durations to out. */
void dnsd_tcp_qdur(const dnsd_tcp_t *t, aya_hist_t *out);
