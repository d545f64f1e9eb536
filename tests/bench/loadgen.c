/*
 * aya-loadgen: a single-threaded UDP DNS load generator for loopback
 * benchmarks. dnsperf tops out near 100k q/s on this class of machine, below
 * what NSD, Knot, gdnsd and ayad serve, so this tool keeps the client cheap:
 * queries are built once at start, sent with sendmmsg() through a few
 * connected sockets and read back with recvmmsg(); nothing is allocated per
 * query.
 *
 * Invariants:
 *  - A query in flight owns a 16-bit ID; the slot table is indexed by ID.
 *    Free IDs are kept in a FIFO, so an ID is reused as late as possible and
 *    a late reply to a timed-out query is seen as "late", not as a match.
 *  - A reply matches only when its ID is in flight, it arrived on the
 *    socket the query left from, and its question equals the query's.
 *  - Every loop is bounded by the run's deadline: sending stops at -d, the
 *    drain stops one timeout later, whatever is still in flight is lost.
 *  - Latency percentiles come from a fixed log-linear histogram (1/64
 *    relative bucket width), avg and max from exact sums.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/compiler.h"
#include "common/dname.h"

#define MAX_SOCKS 16
#define MAX_BATCH 256
#define MAX_QUERIES (1u << 20)
#define MAX_QUERY_LEN 320
#define RECV_BUF 4096
#define N_IDS 65536u
#define SCAN_NS 20000000ull /* timeout scan period: 20 ms */
#define SPIN_NS 50000ull    /* shorter waits spin instead of sleeping */
#define HIST_SUB_BITS 7     /* 64 sub-buckets per power of two */
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS (64u * HIST_HALF)

/* One pre-built query: header (ID patched at send), question, optional OPT. */
typedef struct query {
	uint8_t wire[MAX_QUERY_LEN];
	uint16_t len;
	uint16_t qlen; /* question section length, starting at offset 12 */
} query_t;

typedef struct slot {
	uint64_t sent_ns;
	uint32_t qidx;
	uint8_t sock;
	bool busy;
} slot_t;

typedef struct opts {
	const char *server;
	unsigned port;
	const char *qfile;
	const char *qname;
	const char *qtype;
	unsigned edns;   /* UDP payload size, 0 = no EDNS */
	bool dnssec_ok;  /* set the DO bit in the OPT record (RFC 3225) */
	unsigned window; /* queries in flight */
	double rate;     /* q/s, 0 = saturation */
	double duration_s;
	unsigned timeout_ms;
	unsigned nsocks;
	unsigned batch;
	int expect_rcode;   /* -1 = any */
	int expect_answers; /* -1 = any */
	bool json;
} opts_t;

typedef struct stats {
	uint64_t sent, received, lost, wrong, late, unmatched, truncated, send_errors;
	uint64_t rcode[16];
	uint64_t lat_sum_ns, lat_max_ns;
	uint64_t hist[HIST_BUCKETS];
} stats_t;

typedef struct lg {
	opts_t o;
	int fds[MAX_SOCKS];
	query_t *q;
	size_t nq, qnext;
	slot_t slots[N_IDS];
	uint16_t free_ids[N_IDS]; /* FIFO ring */
	unsigned free_head, free_count;
	unsigned outstanding, next_sock;
	uint64_t start_ns, last_rx_ns;
	stats_t st;
	struct mmsghdr smsg[MAX_BATCH];
	struct iovec siov[MAX_BATCH][2];
	uint8_t sid[MAX_BATCH][2];
	struct mmsghdr rmsg[MAX_BATCH];
	struct iovec riov[MAX_BATCH];
	uint8_t rbuf[MAX_BATCH][RECV_BUF];
} lg_t;

static const struct {
	const char *name;
	uint16_t code;
} rr_types[] = {
        {"A", 1},      {"NS", 2},     {"CNAME", 5}, {"SOA", 6},    {"PTR", 12}, {"MX", 15},
        {"TXT", 16},   {"AAAA", 28},  {"SRV", 33},  {"NAPTR", 35}, {"DS", 43},  {"DNSKEY", 48},
        {"HTTPS", 65}, {"AXFR", 252}, {"ANY", 255}, {"CAA", 257},
};

static const char *const rcode_names[16] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- histogram: exact below 64 ns, then 64 buckets per power of two ---- */

static unsigned hist_index(uint64_t v)
{
	if (v < 2 * HIST_HALF) {
		return (unsigned)v;
	}
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - (HIST_SUB_BITS - 1);
	unsigned idx = shift * HIST_HALF + (unsigned)(v >> shift);

	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* Midpoint of a bucket, in ns. */
static double hist_value(unsigned idx)
{
	if (idx < 2 * HIST_HALF) {
		return idx;
	}
	unsigned shift = idx / HIST_HALF - 1;
	uint64_t low = (uint64_t)(idx % HIST_HALF + HIST_HALF) << shift;

	return (double)low + (double)(1ull << shift) / 2.0;
}

static double hist_percentile(const stats_t *st, double p)
{
	if (st->received == 0) {
		return 0;
	}
	uint64_t rank = (uint64_t)(p / 100.0 * (double)st->received);
	uint64_t seen = 0;

	if (rank >= st->received) {
		rank = st->received - 1;
	}
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += st->hist[i];
		if (seen > rank) {
			/* A bucket's midpoint may lie above the largest sample. */
			double v = hist_value(i);

			return v < (double)st->lat_max_ns ? v : (double)st->lat_max_ns;
		}
	}
	return (double)st->lat_max_ns;
}

/* ---- query building ---- */

static int parse_type(const char *s)
{
	for (size_t i = 0; i < AYA_ARRAY_LEN(rr_types); i++) {
		if (strcasecmp(s, rr_types[i].name) == 0) {
			return rr_types[i].code;
		}
	}
	if (strncasecmp(s, "TYPE", 4) == 0) {
		char *end;
		unsigned long v = strtoul(s + 4, &end, 10);

		if (*end == '\0' && end != s + 4 && v <= 65535) {
			return (int)v;
		}
	}
	return -EINVAL;
}

static int parse_rcode(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end == '\0' && end != s && v < 16) {
		return (int)v;
	}
	for (int i = 0; i < 16; i++) {
		if (strcasecmp(s, rcode_names[i]) == 0) {
			return i;
		}
	}
	return -EINVAL;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * EDNS Client Subnet option (RFC 7871 section 6) from "addr/len": family,
 * source prefix length, scope 0, then only the bytes the prefix covers, with
 * the bits past the prefix cleared. Returns the option length or -EINVAL.
 */
static int build_ecs(const char *text, uint8_t *out)
{
	char buf[64];
	uint8_t addr[16];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	int family = strchr(text, ':') ? AF_INET6 : AF_INET;
	unsigned maxlen = family == AF_INET ? 32 : 128;
	unsigned plen = maxlen;

	if (alen >= sizeof(buf)) {
		return -EINVAL;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(family, buf, addr) != 1) {
		return -EINVAL;
	}
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);

		if (*end != '\0' || end == slash + 1 || v > maxlen) {
			return -EINVAL;
		}
		plen = (unsigned)v;
	}
	unsigned nbytes = (plen + 7) / 8;

	if (plen % 8) {
		addr[nbytes - 1] &= (uint8_t)(0xff << (8 - plen % 8));
	}
	put16(out, 8); /* OPTION-CODE: edns-client-subnet */
	put16(out + 2, 4 + nbytes);
	put16(out + 4, family == AF_INET ? 1 : 2);
	out[6] = (uint8_t)plen;
	out[7] = 0;
	memcpy(out + 8, addr, nbytes);
	return (int)(8 + nbytes);
}

/* Header, question, and an OPT record when EDNS is on (RFC 6891 6.1.2). */
static int build_query(query_t *q, const char *name, const char *type, const char *ecs,
                       unsigned edns)
{
	int code = parse_type(type);
	int nlen = aya_dname_from_str(name, q->wire + 12);
	uint8_t *p;

	if (code < 0 || nlen < 0) {
		return -EINVAL;
	}
	memset(q->wire, 0, 12);
	put16(q->wire + 4, 1); /* QDCOUNT */
	p = q->wire + 12 + nlen;
	put16(p, (unsigned)code);
	put16(p + 2, 1); /* IN */
	p += 4;
	q->qlen = (uint16_t)(nlen + 4);
	if (edns > 0 || ecs != NULL) {
		uint8_t opt[40];
		int olen = 0;

		if (ecs != NULL && (olen = build_ecs(ecs, opt)) < 0) {
			return -EINVAL;
		}
		put16(q->wire + 10, 1); /* ARCOUNT */
		p[0] = 0;               /* root owner */
		put16(p + 1, 41);
		put16(p + 3, edns > 0 ? edns : 1232);
		memset(p + 5, 0, 4); /* extended rcode, version 0, no DO */
		put16(p + 9, (unsigned)olen);
		memcpy(p + 11, opt, (size_t)olen);
		p += 11 + olen;
	}
	q->len = (uint16_t)(p - q->wire);
	return 0;
}

static int add_query(lg_t *lg, size_t *cap, const char *name, const char *type, const char *ecs)
{
	if (lg->nq == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		query_t *nq;

		if (ncap > MAX_QUERIES) {
			return -E2BIG;
		}
		nq = realloc(lg->q, ncap * sizeof(*nq));
		if (nq == NULL) {
			return -ENOMEM;
		}
		lg->q = nq;
		*cap = ncap;
	}
	if (build_query(&lg->q[lg->nq], name, type, ecs, lg->o.edns) < 0) {
		return -EINVAL;
	}
	if (lg->o.dnssec_ok) {
		query_t *q = &lg->q[lg->nq];
		uint8_t *opt = q->wire + 12 + q->qlen; /* the OPT record follows the question */

		if (q->len < 12 + q->qlen + 11) {
			return -EINVAL; /* no OPT: -D needs EDNS */
		}
		opt[7] |= 0x80; /* DO: the top bit of the OPT TTL's flags */
	}
	lg->nq++;
	return 0;
}

/* Query file: "name type [ecs-subnet]" per line; '#' starts a comment. */
static int load_queries(lg_t *lg, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned lineno = 0;
	size_t cap = 0;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "aya-loadgen: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *name, *type, *ecs;

		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		name = strtok_r(line, " \t", &save);
		if (name == NULL) {
			continue;
		}
		type = strtok_r(NULL, " \t", &save);
		ecs = strtok_r(NULL, " \t", &save);
		if (type == NULL || strtok_r(NULL, " \t", &save) != NULL ||
		    (rc = add_query(lg, &cap, name, type, ecs)) < 0) {
			fprintf(stderr, "aya-loadgen: %s:%u: bad query line\n", path, lineno);
			rc = rc < 0 ? rc : -EINVAL;
			break;
		}
	}
	fclose(f);
	if (rc == 0 && lg->nq == 0) {
		fprintf(stderr, "aya-loadgen: %s: no queries\n", path);
		rc = -EINVAL;
	}
	return rc;
}

/* ---- sockets ---- */

static int open_sockets(lg_t *lg)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, lg->o.server, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)lg->o.port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, lg->o.server, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)lg->o.port);
		sslen = sizeof(*sin6);
	} else {
		fprintf(stderr, "aya-loadgen: bad server address '%s'\n", lg->o.server);
		return -EINVAL;
	}
	for (unsigned i = 0; i < lg->o.nsocks; i++) {
		int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int sz = 4 << 20;

		if (fd < 0) {
			return -errno;
		}
		lg->fds[i] = fd;
		/* Best effort: the kernel caps these at rmem_max/wmem_max. */
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
			fprintf(stderr, "aya-loadgen: connect: %s\n", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* ---- the I/O loop ---- */

static void id_push(lg_t *lg, uint16_t id)
{
	lg->free_ids[(lg->free_head + lg->free_count) % N_IDS] = id;
	lg->free_count++;
}

static uint16_t id_pop(lg_t *lg)
{
	uint16_t id = lg->free_ids[lg->free_head];

	lg->free_head = (lg->free_head + 1) % N_IDS;
	lg->free_count--;
	return id;
}

static void slot_release(lg_t *lg, uint16_t id)
{
	lg->slots[id].busy = false;
	lg->outstanding--;
	id_push(lg, id);
}

/* Send up to n queries on the next socket; returns how many left. */
static unsigned send_batch(lg_t *lg, unsigned n, uint64_t now)
{
	unsigned sock = lg->next_sock;
	int sent;

	lg->next_sock = (lg->next_sock + 1) % lg->o.nsocks;
	for (unsigned i = 0; i < n; i++) {
		uint16_t id = id_pop(lg);
		const query_t *q = &lg->q[lg->qnext];

		lg->slots[id] = (slot_t){.sent_ns = now,
		                         .qidx = (uint32_t)lg->qnext,
		                         .sock = (uint8_t)sock,
		                         .busy = true};
		lg->qnext = (lg->qnext + 1) % lg->nq;
		put16(lg->sid[i], id);
		lg->siov[i][0] = (struct iovec){.iov_base = lg->sid[i], .iov_len = 2};
		lg->siov[i][1] =
		        (struct iovec){.iov_base = (void *)(q->wire + 2), .iov_len = q->len - 2u};
		lg->smsg[i].msg_hdr = (struct msghdr){.msg_iov = lg->siov[i], .msg_iovlen = 2};
		lg->outstanding++;
	}
	sent = sendmmsg(lg->fds[sock], lg->smsg, n, 0);
	if (sent < 0) {
		lg->st.send_errors++;
		sent = 0;
	}
	/* Unsent queries give their IDs back (after the sent ones, FIFO order). */
	for (unsigned i = (unsigned)sent; i < n; i++) {
		uint16_t id = (uint16_t)(lg->sid[i][0] << 8 | lg->sid[i][1]);

		lg->qnext = (lg->qnext + lg->nq - 1) % lg->nq;
		slot_release(lg, id);
	}
	lg->st.sent += (unsigned)sent;
	return (unsigned)sent;
}

static unsigned do_send(lg_t *lg, uint64_t now)
{
	unsigned n = lg->o.window > lg->outstanding ? lg->o.window - lg->outstanding : 0;

	if (lg->o.rate > 0) {
		/* The k-th query (from 0) is due at start + k / rate. */
		double due =
		        (double)(now - lg->start_ns) * lg->o.rate / 1e9 + 1 - (double)lg->st.sent;

		if (due < 1) {
			return 0;
		}
		if (due < n) {
			n = (unsigned)due;
		}
	}
	if (n > lg->o.batch) {
		n = lg->o.batch;
	}
	return n ? send_batch(lg, n, now) : 0;
}

/* Case-insensitive: label length bytes are below 64 and unaffected. */
static bool question_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t x = a[i], y = b[i];

		if (x != y &&
		    !((x | 0x20) == (y | 0x20) && (x | 0x20) >= 'a' && (x | 0x20) <= 'z')) {
			return false;
		}
	}
	return true;
}

static void handle_reply(lg_t *lg, unsigned sock, const uint8_t *p, size_t len, uint64_t now)
{
	stats_t *st = &lg->st;

	if (len < 12 || !(p[2] & 0x80)) {
		st->unmatched++;
		return;
	}
	uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
	slot_t *s = &lg->slots[id];

	if (!s->busy) {
		st->late++;
		return;
	}
	const query_t *q = &lg->q[s->qidx];

	if (s->sock != sock || len < 12u + q->qlen || p[5] != 1 ||
	    !question_equal(p + 12, q->wire + 12, q->qlen)) {
		st->unmatched++;
		return;
	}
	uint64_t lat = now > s->sent_ns ? now - s->sent_ns : 0;
	unsigned rcode = p[3] & 0x0f;
	unsigned ancount = (unsigned)(p[6] << 8 | p[7]);

	st->received++;
	st->rcode[rcode]++;
	st->truncated += (p[2] & 0x02) != 0;
	if ((lg->o.expect_rcode >= 0 && (int)rcode != lg->o.expect_rcode) ||
	    (lg->o.expect_answers >= 0 && (int)ancount < lg->o.expect_answers)) {
		st->wrong++;
	}
	st->lat_sum_ns += lat;
	if (lat > st->lat_max_ns) {
		st->lat_max_ns = lat;
	}
	st->hist[hist_index(lat)]++;
	lg->last_rx_ns = now;
	slot_release(lg, id);
}

static unsigned do_recv(lg_t *lg)
{
	unsigned total = 0;

	for (unsigned s = 0; s < lg->o.nsocks; s++) {
		int n = recvmmsg(lg->fds[s], lg->rmsg, lg->o.batch, MSG_DONTWAIT, NULL);
		uint64_t now;

		if (n <= 0) {
			continue; /* EAGAIN, or ECONNREFUSED from an ICMP: the server is down */
		}
		now = now_ns();
		for (int i = 0; i < n; i++) {
			handle_reply(lg, s, lg->rbuf[i], lg->rmsg[i].msg_len, now);
		}
		total += (unsigned)n;
	}
	return total;
}

/* Queries in flight longer than the timeout are lost; their IDs are freed. */
static void expire(lg_t *lg, uint64_t now)
{
	uint64_t timeout_ns = (uint64_t)lg->o.timeout_ms * 1000000ull;

	if (lg->outstanding == 0) {
		return;
	}
	for (unsigned id = 0; id < N_IDS; id++) {
		if (lg->slots[id].busy && now - lg->slots[id].sent_ns >= timeout_ns) {
			lg->st.lost++;
			slot_release(lg, (uint16_t)id);
		}
	}
}

/* Nothing happened: sleep until a reply, the next paced send or a deadline. */
static void idle_wait(lg_t *lg, uint64_t now, uint64_t deadline, bool sending)
{
	struct pollfd pfd[MAX_SOCKS];
	struct timespec ts;

	if (sending && lg->o.rate > 0 && lg->outstanding < lg->o.window) {
		uint64_t next = lg->start_ns + (uint64_t)((double)lg->st.sent * 1e9 / lg->o.rate);

		if (next < deadline) {
			deadline = next;
		}
	}
	if (deadline <= now + SPIN_NS) {
		return;
	}
	for (unsigned i = 0; i < lg->o.nsocks; i++) {
		pfd[i] = (struct pollfd){.fd = lg->fds[i], .events = POLLIN};
	}
	ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
	ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
	(void)ppoll(pfd, lg->o.nsocks, &ts, NULL);
}

static void run(lg_t *lg)
{
	uint64_t end_send = lg->start_ns + (uint64_t)(lg->o.duration_s * 1e9);
	uint64_t end_drain = end_send + (uint64_t)lg->o.timeout_ms * 1000000ull;
	uint64_t next_scan = lg->start_ns + SCAN_NS;

	for (;;) {
		uint64_t now = now_ns();
		bool sending = now < end_send;
		unsigned progress = 0;

		if ((!sending && lg->outstanding == 0) || now >= end_drain) {
			break;
		}
		if (sending) {
			progress += do_send(lg, now);
		}
		progress += do_recv(lg);
		if (now >= next_scan) {
			expire(lg, now);
			next_scan = now + SCAN_NS;
		}
		if (progress == 0) {
			uint64_t deadline = sending ? end_send : end_drain;

			idle_wait(lg, now, next_scan < deadline ? next_scan : deadline, sending);
		}
	}
	/* Still in flight after the drain: lost. */
	lg->st.lost += lg->outstanding;
}

/* ---- output ---- */

static void report(const lg_t *lg)
{
	const stats_t *st = &lg->st;
	double elapsed_s = (double)(lg->last_rx_ns - lg->start_ns) / 1e9;
	double qps = st->received && elapsed_s > 0 ? (double)st->received / elapsed_s : 0;
	double avg = st->received ? (double)st->lat_sum_ns / (double)st->received / 1e3 : 0;
	double p50 = hist_percentile(st, 50) / 1e3, p99 = hist_percentile(st, 99) / 1e3;
	double max = (double)st->lat_max_ns / 1e3;
	const char *fmt = lg->o.json ? "{\"sent\":%" PRIu64 ",\"received\":%" PRIu64
	                               ",\"lost\":%" PRIu64 ",\"wrong\":%" PRIu64
	                               ",\"qps\":%.0f,\"avg_us\":%.1f,\"p50_us\":%.1f"
	                               ",\"p99_us\":%.1f,\"max_us\":%.1f"
	                             : "sent=%" PRIu64 " received=%" PRIu64 " lost=%" PRIu64
	                               " wrong=%" PRIu64 " qps=%.0f avg_us=%.1f p50_us=%.1f"
	                               " p99_us=%.1f max_us=%.1f";

	printf(fmt, st->sent, st->received, st->lost, st->wrong, qps, avg, p50, p99, max);
	printf(lg->o.json ? ",\"late\":%" PRIu64 ",\"unmatched\":%" PRIu64 ",\"truncated\":%" PRIu64
	                    ",\"send_errors\":%" PRIu64
	                  : " late=%" PRIu64 " unmatched=%" PRIu64 " truncated=%" PRIu64
	                    " send_errors=%" PRIu64,
	       st->late, st->unmatched, st->truncated, st->send_errors);
	for (int i = 0; i < 16; i++) {
		if (st->rcode[i] || i == 0 || i == 3) {
			printf(lg->o.json ? ",\"%s\":%" PRIu64 : " %s=%" PRIu64, rcode_names[i],
			       st->rcode[i]);
		}
	}
	/* Our own CPU time, so the bench can tell what else ran on the machine. */
	struct rusage ru;
	double cpu_ms = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	}
	printf(lg->o.json ? ",\"cpu_ms\":%.0f}\n" : " cpu_ms=%.0f\n", cpu_ms);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: aya-loadgen [-s ADDR] [-p PORT] (-q FILE | -n NAME [-t TYPE]) [options]\n"
	        "  -s ADDR    server address (default 127.0.0.1)\n"
	        "  -p PORT    server port (default 53)\n"
	        "  -q FILE    queries, 'name type [ecs-subnet]' per line\n"
	        "  -n NAME    a single query name; -t TYPE its type (default A)\n"
	        "  -e SIZE    EDNS UDP payload size, 0 = no EDNS (default 1232)\n"
	        "  -D         set the DO bit (DNSSEC OK) in the OPT record; needs EDNS\n"
	        "  -c N       queries in flight (default 500, max 60000)\n"
	        "  -r RATE    queries per second, 0 = saturation (default 0)\n"
	        "  -d SECS    sending time (default 5)\n"
	        "  -T MS      per-query timeout, then counted lost (default 1000)\n"
	        "  -S N       UDP sockets (source ports) (default 4, max %d)\n"
	        "  -b N       sendmmsg/recvmmsg batch (default 32, max %d)\n"
	        "  --expect-rcode RCODE   count other rcodes as wrong\n"
	        "  --expect-answers N     count replies with fewer answers as wrong\n"
	        "  --json     one JSON object instead of key=value\n",
	        MAX_SOCKS, MAX_BATCH);
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= min && v <= max)) {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum { OPT_EXPECT_RCODE = 256, OPT_EXPECT_ANSWERS, OPT_JSON, OPT_HELP };

static int parse_opt(opts_t *o, int c, const char *arg)
{
	unsigned u = 0;
	int rc = 0;

	switch (c) {
	case 's':
		o->server = arg;
		break;
	case 'p':
		rc = parse_uint(arg, 1, 65535, &o->port);
		break;
	case 'q':
		o->qfile = arg;
		break;
	case 'n':
		o->qname = arg;
		break;
	case 't':
		o->qtype = arg;
		break;
	case 'e':
		rc = parse_uint(arg, 0, 65535, &o->edns);
		break;
	case 'D':
		o->dnssec_ok = true;
		break;
	case 'c':
		rc = parse_uint(arg, 1, 60000, &o->window);
		break;
	case 'r':
		rc = parse_double(arg, 0, 1e8, &o->rate);
		break;
	case 'd':
		rc = parse_double(arg, 0.001, 3600, &o->duration_s);
		break;
	case 'T':
		rc = parse_uint(arg, 1, 60000, &o->timeout_ms);
		break;
	case 'S':
		rc = parse_uint(arg, 1, MAX_SOCKS, &o->nsocks);
		break;
	case 'b':
		rc = parse_uint(arg, 1, MAX_BATCH, &o->batch);
		break;
	case OPT_EXPECT_RCODE:
		rc = o->expect_rcode = parse_rcode(arg);
		break;
	case OPT_EXPECT_ANSWERS:
		rc = parse_uint(arg, 0, 65535, &u);
		o->expect_answers = (int)u;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	default:
		return -EINVAL;
	}
	return rc < 0 ? rc : 0;
}

static int parse_args(opts_t *o, int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"expect-rcode", required_argument, NULL, OPT_EXPECT_RCODE},
	        {"expect-answers", required_argument, NULL, OPT_EXPECT_ANSWERS},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"help", no_argument, NULL, OPT_HELP},
	        {NULL, 0, NULL, 0},
	};
	int c;

	*o = (opts_t){.server = "127.0.0.1",
	              .port = 53,
	              .qtype = "A",
	              .edns = 1232,
	              .window = 500,
	              .duration_s = 5,
	              .timeout_ms = 1000,
	              .nsocks = 4,
	              .batch = 32,
	              .expect_rcode = -1,
	              .expect_answers = -1};
	while ((c = getopt_long(argc, argv, "s:p:q:n:t:e:Dc:r:d:T:S:b:", longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		if (parse_opt(o, c, optarg) < 0) {
			if (c != '?') {
				fprintf(stderr, "aya-loadgen: bad value '%s'\n", optarg);
			}
			return -EINVAL;
		}
	}
	if (optind != argc || (o->qfile == NULL) == (o->qname == NULL)) {
		fprintf(stderr, "aya-loadgen: give exactly one of -q FILE or -n NAME\n");
		return -EINVAL;
	}
	if (o->dnssec_ok && o->edns == 0) {
		fprintf(stderr, "aya-loadgen: -D needs EDNS (-e SIZE > 0)\n");
		return -EINVAL;
	}
	return 0;
}

/* Sockets, the free ID ring and the receive vectors; then the clock starts. */
static int lg_start(lg_t *lg)
{
	int rc = open_sockets(lg);

	if (rc < 0) {
		return rc;
	}
	for (unsigned i = 0; i < N_IDS; i++) {
		id_push(lg, (uint16_t)i);
	}
	for (unsigned i = 0; i < lg->o.batch; i++) {
		lg->riov[i] = (struct iovec){.iov_base = lg->rbuf[i], .iov_len = RECV_BUF};
		lg->rmsg[i].msg_hdr = (struct msghdr){.msg_iov = &lg->riov[i], .msg_iovlen = 1};
	}
	(void)prctl(PR_SET_TIMERSLACK, 1UL); /* paced sends need fine sleeps */
	lg->start_ns = lg->last_rx_ns = now_ns();
	return 0;
}

static void lg_free(lg_t *lg)
{
	for (unsigned i = 0; i < lg->o.nsocks && i < MAX_SOCKS; i++) {
		if (lg->fds[i] > 0) {
			close(lg->fds[i]);
		}
	}
	free(lg->q);
	free(lg);
}

int main(int argc, char **argv)
{
	lg_t *lg = calloc(1, sizeof(*lg));
	size_t cap = 0;
	int rc = 2;

	if (lg == NULL) {
		return 1;
	}
	if (parse_args(&lg->o, argc, argv) < 0) {
		usage(stderr);
		goto out;
	}
	if (lg->o.qfile != NULL ? load_queries(lg, lg->o.qfile) < 0
	                        : add_query(lg, &cap, lg->o.qname, lg->o.qtype, NULL) < 0) {
		if (lg->o.qname != NULL) {
			fprintf(stderr, "aya-loadgen: bad query '%s %s'\n", lg->o.qname,
			        lg->o.qtype);
		}
		goto out;
	}
	rc = 1;
	if (lg_start(lg) < 0) {
		goto out;
	}
	run(lg);
	report(lg);
	rc = 0;
out:
	lg_free(lg);
	return rc;
}
