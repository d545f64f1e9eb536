/*
 * Per-thread answer context and per-query state, shared by answer.c,
 * edns.c and cookie.c. Internal to dnsd (tests may include it).
 *
 * The query state is one struct inside the context, reset at the start of
 * every dnsd_answer() call: nothing is allocated per query. The context
 * also holds the worker's policy RNG (aya_rng_t), seeded once at creation,
 * never per query.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "common/dname.h"
#include "common/rng.h"
#include "dnsd/dnsd.h"
#include "dnsd/rrl_int.h"
#include "dnsd/tsig_int.h"
#include "dnsd/wire_int.h"

#define DNSD_RCODE_NOERROR 0
#define DNSD_RCODE_FORMERR 1
#define DNSD_RCODE_SERVFAIL 2
#define DNSD_RCODE_NXDOMAIN 3
#define DNSD_RCODE_NOTIMP 4
#define DNSD_RCODE_REFUSED 5
#define DNSD_RCODE_BADVERS 16

#define DNSD_OPCODE_QUERY 0

#define DNSD_OPT_NSID 3
#define DNSD_OPT_ECS 8
#define DNSD_OPT_COOKIE 10

#define DNSD_COOKIE_CLIENT 8
#define DNSD_COOKIE_SERVER 16 /* RFC 9018 server cookie */
#define DNSD_COOKIE_MAX_AGE_S 3600
#define DNSD_COOKIE_MAX_SKEW_S 300
#define DNSD_COOKIE_REFRESH_S 1800

/*
 * ECS option of the query (RFC 7871 6), validated, and the SCOPE
 * PREFIX-LENGTH of our reply: 0 unless a service answer set it (the policy
 * result's scope, never above `source`).
 */
typedef struct dnsd_ecs {
	bool present;
	uint16_t family;  /* 1 = IPv4, 2 = IPv6 */
	uint8_t source;   /* SOURCE PREFIX-LENGTH */
	uint8_t scope;    /* SCOPE PREFIX-LENGTH to send back */
	uint8_t addr[16]; /* bits past `source` are zero (checked by the parser) */
} dnsd_ecs_t;

typedef struct dnsd_query {
	/* header */
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;
	/* question, when qdcount == 1 and it parsed */
	bool has_q;
	const uint8_t *qname; /* in the query, original case */
	size_t qname_len;
	uint16_t qtype, qclass;
	/* EDNS (RFC 6891) */
	bool edns;
	uint8_t version;
	bool do_bit;
	uint16_t payload;
	bool nsid;
	/* COOKIE (RFC 7873): the client's option and the server cookie we send */
	bool cookie;
	bool cookie_ok; /* its server cookie was valid (exempts the query from RRL) */
	dnsd_ecs_t ecs;
	/* TSIG RR (RFC 8945), the last record: its owner in the message, NULL when absent */
	const uint8_t *tsig;
	bool tsig_reply; /* a TSIG RR goes in the reply (dnsd_tsig_verify said so) */
	/*
	 * From here on, fields are only read when `cookie` is set, and written
	 * before: dnsd_answer() clears the query up to `cc` only.
	 */
	uint8_t cc[DNSD_COOKIE_CLIENT];
	uint8_t sc_len;
	uint8_t sc[32];
	uint8_t out_sc[DNSD_COOKIE_SERVER];
} dnsd_query_t;

/*
 * A zone transfer being written over several messages (answer.c): where the
 * next record is. zone NULL: none in progress. Points into the snapshot, so
 * only valid inside the RCU read section of the dnsd_answer() call that
 * started it (the TCP thread calls dnsd_answer_more() right after).
 */
typedef struct dnsd_xfr {
	const struct dnsd_zone *zone;
	size_t node;   /* index into zone->nodes */
	uint16_t set;  /* RRset of that node */
	uint16_t rec;  /* record of that RRset */
	uint8_t phase; /* 0: opening SOA, 1: nodes, 2: closing SOA, 3: done */
} dnsd_xfr_t;

struct dnsd_ctx {
	dnsd_counters_t counters;
	/* Address answers by (service, pool of the first address): see DNSD_POOL_SLOTS. */
	_Atomic uint64_t pool_answers[DNSD_POOL_SLOTS];
	EVP_MAC *mac;
	EVP_MAC_CTX *mac_ctx;
	EVP_MAC *hmac; /* TSIG (tsig.c): keyed per signed query */
	EVP_MAC_CTX *hmac_ctx;
	dnsd_tsig_state_t tsig; /* the signed query being answered; read only when q.tsig_reply */
	aya_rng_t rng;          /* weighted picks; seeded once by dnsd_ctx_new (getrandom) */
	dnsd_rrl_t *rrl;        /* the server's shared RRL table (UDP workers); NULL: never limit */
	/* Query durations, one query in DNSD_QDUR_SAMPLE timed (dnsd_answer). */
	uint64_t qdur_seq;
	_Atomic uint64_t qdur[DNSD_QDUR_BOUNDS + 1]; /* by dnsd_qdur_bounds; last: above */
	_Atomic uint64_t qdur_ns;                    /* sum of the timed ones */
	dnsd_query_t q;
	dnsd_xfr_t xfr;
};

/* Re-seed the context's RNG: reproducible service answers (tests, benchmarks). */
void dnsd_ctx_seed(dnsd_ctx_t *ctx, uint64_t seed) AYA_NONNULL(1);

/*
 * Parse an OPT record's TTL and RDATA (the caller has read owner, type, and
 * CLASS = payload). Returns 0, or -EBADMSG for a malformed option (FORMERR).
 */
int dnsd_edns_parse(dnsd_query_t *q, uint16_t payload, uint32_t ttl, const uint8_t *rdata,
                    uint16_t rdlen) AYA_NONNULL(1);
/* Bytes our OPT record will take in the response. */
size_t dnsd_edns_len(const dnsd_query_t *q, const dnsd_snap_t *snap, bool full) AYA_NONNULL(1, 2);
/*
 * Write our OPT record: payload = snap's max_udp_payload, extended RCODE
 * bits of rcode, DO copied; with NSID/COOKIE/ECS when `full`.
 */
void dnsd_edns_write(dnsd_wr_t *w, const dnsd_query_t *q, const dnsd_snap_t *snap, unsigned rcode,
                     bool full) AYA_NONNULL(1, 2, 3);

/* Create/free the SipHash context of a dnsd_ctx_t (start-up only). */
int dnsd_cookie_init(dnsd_ctx_t *ctx) AYA_NONNULL(1);
void dnsd_cookie_fini(dnsd_ctx_t *ctx) AYA_NONNULL(1);
/*
 * RFC 7873 5.2 / RFC 9018: check the client's server cookie and put the one
 * to send in q->out_sc (the client's own when valid and younger than 30
 * minutes, else a fresh one). Returns true when the client's was valid.
 */
bool dnsd_cookie_process(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const struct sockaddr *src,
                         uint32_t now) AYA_NONNULL(1, 2, 3);
/* The 8-byte SipHash-2-4 of an RFC 9018 server cookie (exposed for tests). */
int dnsd_cookie_hash(dnsd_ctx_t *ctx, const uint8_t key[16], const uint8_t cc[8],
                     const uint8_t head[8], const struct sockaddr *src, uint8_t out[8])
        AYA_NONNULL(1, 2, 3, 4, 5, 6);
