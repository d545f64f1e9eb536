/*
 * Handing the DNS sockets over to a successor process (an upgrade: the new
 * ayad binds the same addresses beside us, then we are stopped).
 *
 * Every DNS socket has SO_REUSEPORT, so the successor's sockets join the
 * kernel's reuseport group of each address (same effective uid required).
 * The kernel picks a socket per datagram or SYN; when our sockets close,
 * what was queued on them is dropped (UDP) or reset (TCP accept queue). So
 * before closing we attach to each group a classic BPF program
 * (SO_ATTACH_REUSEPORT_CBPF, man 7 socket; it applies to the whole group)
 * that returns the index of a successor's socket, answer what is already
 * queued on ours until it stays empty, and only then close.
 *
 * Indices: a group lists its sockets in the order they joined, and a closed
 * socket's slot takes the last socket. Our n sockets of an address are 0..n-1
 * (the previous generation has exited, see below), the successor's n..2n-1;
 * the program returns n + random % n. An index past the end makes the
 * kernel fall back to its hash over every socket, ours included: harmless
 * once ours are closed, a possible loss while any is open. Closing socket
 * k-1 of our k remaining moves the group's last socket into slot k-1, so
 * before each close the program is set to k + random % (m - 1) (m = n, the
 * successor's count, same config): an index that is a successor's socket
 * both before and after that close; the last one (k = 1) uses 1 + random %
 * m. Closing from the highest slot down also leaves the successor's sockets
 * in slots 0..n-1 in their own order (the moved ones rotate back), so its
 * own handover works the same way. A successor with fewer sockets (another
 * dns.threads) gets some datagrams through the hash fallback during the
 * closes: the only case where one can be lost.
 *
 * Control thread only.
 */
#define _LGPL_SOURCE
#include "dnsd/server_int.h"

#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

int dnsd_reuseport_steer(int fd, unsigned base, unsigned span)
{
	/* A = random (skb-independent: DNS over UDP is stateless, a SYN picks once). */
	struct sock_filter code[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)),
	        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, span),
	        BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, base),
	        BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = {.len = AYA_ARRAY_LEN(code), .filter = code};
	if (span == 0) {
		return -EINVAL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) != 0) {
		return -errno;
	}
	return 0;
}

void dnsd_reuseport_unsteer(int fd)
{
	int zero = 0;
	/* ENOENT: no program. Other errors only leave a harmless fallback in place. */
	(void)setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &zero, sizeof(zero));
}

int dnsd_server_handoff(dnsd_server_t *srv)
{
	int ret = 0;
	if (srv->handoff) {
		return 0; /* a second SIGTERM */
	}
	for (size_t i = 0; srv->per_addr > 0 && i < srv->n_udp; i += srv->per_addr) {
		unsigned n = (unsigned)srv->per_addr;
		int rc = dnsd_reuseport_steer(srv->udp[i].fd, n, n);
		if (rc < 0) {
			log_warn("dnsd: udp %s: cannot steer queries to the successor: %s",
			         srv->udp[i].addr_text, strerror(-rc));
			ret = rc;
		}
	}
	if (srv->tcp != NULL) {
		int rc = dnsd_tcp_handoff(srv->tcp);
		ret = rc < 0 ? rc : ret;
	}
	/* Even when steering failed: draining what is queued still saves queries. */
	srv->handoff = true;
	log_info("dnsd: handing over: new queries and connections go to the successor's sockets");
	return ret;
}

void dnsd_server_took_over(dnsd_server_t *srv)
{
	/* The predecessor's program returns indices past our sockets: drop its cost. */
	for (size_t i = 0; srv->per_addr > 0 && i < srv->n_udp; i += srv->per_addr) {
		dnsd_reuseport_unsteer(srv->udp[i].fd);
	}
	if (srv->tcp != NULL) {
		dnsd_tcp_unsteer(srv->tcp);
	}
}

/* Close one address's sockets, highest slot first (see the top of the file). */
static void close_group(dnsd_udp_worker_t *w, unsigned n)
{
	for (unsigned k = n; k >= 1; k--) {
		dnsd_udp_worker_t *last = &w[k - 1];
		unsigned span = k == 1 || n == 1 ? n : n - 1;
		(void)dnsd_reuseport_steer(last->fd, k, span);
		close(last->fd);
		last->fd = -1;
	}
}

void dnsd_server_drain(dnsd_server_t *srv)
{
	uint64_t t0 = aya_mono_ms();
	srv->drain_until_ms = t0 + DNSD_DRAIN_MAX_MS;
	atomic_store(&srv->stop, true);
	for (size_t i = 0; i < srv->n_udp; i++) {
		dnsd_udp_wake(&srv->udp[i]);
	}
	if (srv->tcp != NULL) {
		dnsd_tcp_drain(srv->tcp, srv->drain_until_ms);
	}
	uint64_t udp = 0;
	for (size_t i = 0; i < srv->n_udp; i++) {
		dnsd_udp_wait(&srv->udp[i]);
		udp += srv->udp[i].drained;
	}
	uint64_t t_udp = aya_mono_ms();
	for (size_t i = 0; srv->per_addr > 0 && i < srv->n_udp; i += srv->per_addr) {
		close_group(&srv->udp[i], (unsigned)srv->per_addr);
	}
	uint64_t tcp = 0;
	if (srv->tcp != NULL) {
		dnsd_tcp_wait(srv->tcp); /* the thread leaves when drained */
		tcp = dnsd_tcp_drained(srv->tcp);
	}
	log_info("dnsd: drained in %llu ms: %llu udp queries answered after the handover (%llu "
	         "ms), %llu tcp connections accepted",
	         (unsigned long long)(aya_mono_ms() - t0), (unsigned long long)udp,
	         (unsigned long long)(t_udp - t0), (unsigned long long)tcp);
}
