/*
 * dnsd/: the authoritative DNS server.
 *
 * Three parts, one header:
 *  - the snapshot (dnsd_snap_t): every served zone precompiled into wire-form
 *    RRsets in one arena, plus the per-node answer settings (NSID, identity,
 *    UDP payload limit, cookie secret). Immutable once built; published to the
 *    workers by pointer swap (liburcu QSBR) and freed after a grace period.
 *  - the answer engine (dnsd_answer): one query in, one response out, on the
 *    caller's buffers. No allocation, lock, log or syscall.
 *  - the server (dnsd_server_t): UDP workers (one SO_REUSEPORT socket per
 *    worker per listen address, recvmmsg/sendmmsg) and a TCP thread (libevent,
 *    RFC 7766), all reading the current snapshot; the UDP workers share one
 *    lock-free response rate limiting table (rrl.c, dns.rrl).
 *
 * dnsd knows nothing of health or regions: a service name (a node compiled
 * from cfg_service_t) is answered by asking policy/ (pol_answer) for the
 * endpoints, on the policy snapshot published beside the zone snapshot. The
 * two are published separately because health changes rebuild only the
 * policy snapshot.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "common/stats.h"
#include "config/config.h"
#include "policy/policy.h"

/* Largest DNS message we ever build (TCP). */
#define DNSD_MAX_MSG 65535
/* Largest UDP datagram we read; bigger ones are truncated by the kernel and dropped. */
#define DNSD_MAX_UDP_QUERY 4096

/* ------------------------------------------------------------------ snapshot */

typedef struct dnsd_snap dnsd_snap_t;

/*
 * Compile cfg's zones and answer settings into a new snapshot. The cookie
 * secret comes from cfg (dns.cookie_secret) or from `cookie_secret` (16 bytes,
 * may be NULL only when cfg sets one or cookies are off). Zones with
 * dnssec: are built unsigned (dnsd_snap_build_signed signs). Returns 0 or
 * -ENOMEM/-EINVAL with a message in err. Control thread.
 */
int dnsd_snap_build(const cfg_t *cfg, const uint8_t *cookie_secret, dnsd_snap_t **out, char *err,
                    size_t errlen) AYA_NONNULL(1, 3) AYA_WUR;
/* NULL is a no-op. Only once no reader can see it (after an RCU grace period). */
void dnsd_snap_free(dnsd_snap_t *snap);

/* ------------------------------------------------------------------ DNSSEC keys (keys.c) */

/*
 * A signed zone's keys: BIND-format K<zone>.+<alg>+<tag>.key and .private
 * files in a key directory, each with an Aya K<zone>.+<alg>+<tag>.state file
 * that holds its role and state. A .private file without a .state file (one
 * imported from BIND) is active, and a KSK/CSK or ZSK by the flags of its
 * .key file (257 or 256; no .key file: a CSK).
 */
typedef enum dnsd_key_state {
	DNSD_KEY_PUBLISHED = 0, /* in the DNSKEY RRset, signs nothing yet (pre-publish) */
	DNSD_KEY_ACTIVE = 1,    /* published and signing */
	DNSD_KEY_RETIRED = 2,   /* published, signs nothing any more (until removed) */
} dnsd_key_state_t;

/* "published", "active", "retired". */
const char *dnsd_key_state_name(dnsd_key_state_t s);

typedef struct dnsd_key_info {
	uint16_t tag;      /* RFC 4034 appendix B */
	uint8_t algorithm; /* 13 ECDSAP256SHA256, 15 ED25519 */
	uint16_t flags;    /* 257 (SEP: KSK or CSK) or 256 (ZSK) */
	bool ksk;          /* signs the DNSKEY RRset */
	bool zsk;          /* signs every other RRset; ksk && zsk: a combined key (CSK) */
	dnsd_key_state_t state;
	const char *file; /* its .private file; borrowed from the keyset */
} dnsd_key_info_t;

typedef struct dnsd_keyset dnsd_keyset_t;

/*
 * Load zone z's keys (those of z's apex and of z->dnssec.algorithm) from dir,
 * which is created 0700 when missing. With `create` and no key there: make
 * one active CSK, or an active KSK and ZSK when z->dnssec.split, and count
 * them in *made (may be NULL). Errors (unreadable or malformed file, a key of
 * another algorithm only, no active key for a role) are -errno/-EINVAL with
 * a message naming the file. Control thread.
 */
int dnsd_keyset_load(const cfg_zone_t *z, const char *dir, bool create, dnsd_keyset_t **out,
                     unsigned *made, char *err, size_t errlen) AYA_NONNULL(1, 2, 4) AYA_WUR;
/* NULL is a no-op. A snapshot built with the keyset does not need it any more. */
void dnsd_keyset_free(dnsd_keyset_t *ks);
size_t dnsd_keyset_count(const dnsd_keyset_t *ks) AYA_NONNULL(1);
/* Key i (< count), in the order of their tags. */
void dnsd_keyset_info(const dnsd_keyset_t *ks, size_t i, dnsd_key_info_t *out) AYA_NONNULL(1, 3);
/*
 * The DS record of key i for the parent zone, in presentation form
 * ("svc.example.com. IN DS 12345 13 2 <hex>", digest type 2, SHA-256).
 * Returns the length written (< len) or -ENOSPC.
 */
int dnsd_keyset_ds(const dnsd_keyset_t *ks, size_t i, char *buf, size_t len) AYA_NONNULL(1, 3);

/*
 * Rollover steps, on the files in dir (the caller then reloads the keyset and
 * rebuilds the snapshot). Each returns 0 or -errno with a message in err.
 *  - add: a new key of z's algorithm, published (pre-publication); ksk/zsk
 *    its roles (both: a CSK). *tag gets its tag.
 *  - activate: key `tag` becomes active; every other active key that shares
 *    one of its roles becomes retired (still published).
 *  - remove: a key that is not active is deleted (its three files).
 */
int dnsd_keys_add(const cfg_zone_t *z, const char *dir, bool ksk, bool zsk, uint16_t *tag,
                  char *err, size_t errlen) AYA_NONNULL(1, 2, 5) AYA_WUR;
int dnsd_keys_activate(const cfg_zone_t *z, const char *dir, uint16_t tag, char *err, size_t errlen)
        AYA_NONNULL(1, 2) AYA_WUR;
int dnsd_keys_remove(const cfg_zone_t *z, const char *dir, uint16_t tag, char *err, size_t errlen)
        AYA_NONNULL(1, 2) AYA_WUR;

/*
 * dnsd_snap_build with signing: keys has cfg->n_zones entries, the keyset of
 * each zone with dnssec.enabled (NULL for the others). Static RRsets, the
 * DNSKEY RRset and the denial records of each node are signed now (RRSIG
 * inception now_s - 1 h, expiration now_s + signature_lifetime); answers
 * chosen per query are signed from a cache in the snapshot. The snapshot
 * keeps its own references to the keys. A signed zone without keys: -EINVAL.
 */
int dnsd_snap_build_signed(const cfg_t *cfg, const uint8_t *cookie_secret,
                           dnsd_keyset_t *const *keys, uint64_t now_s, dnsd_snap_t **out, char *err,
                           size_t errlen) AYA_NONNULL(1, 5) AYA_WUR;
/* The earliest RRSIG expiration the snapshot's static signatures have; 0 when nothing is signed. */
uint64_t dnsd_snap_sig_expiry(const dnsd_snap_t *snap) AYA_NONNULL(1);

/* Zone summary for `ayactl status`. Index < dnsd_snap_zone_count(). */
typedef struct dnsd_zone_info {
	const char *name; /* presentation, no trailing dot; borrowed from the snapshot */
	uint32_t serial;
	size_t records;
	bool is_signed;      /* dnssec: served with signatures to DO queries */
	uint64_t sig_expiry; /* earliest static RRSIG expiration (unix seconds); 0 unsigned */
	size_t signatures;   /* static RRSIGs made at build */
} dnsd_zone_info_t;
size_t dnsd_snap_zone_count(const dnsd_snap_t *snap) AYA_NONNULL(1);
void dnsd_snap_zone_info(const dnsd_snap_t *snap, size_t i, dnsd_zone_info_t *out)
        AYA_NONNULL(1, 3);
/* Bytes of the snapshot's arena. */
size_t dnsd_snap_bytes(const dnsd_snap_t *snap) AYA_NONNULL(1);

/* ------------------------------------------------------------------ counters */

/*
 * Per-worker counters: one writer (the worker), relaxed atomics, summed by
 * readers (model: gdnsd stats.h). A new counter is a field here, in
 * dnsd_stats_t and in dnsd_counters_add, and a row in dnsd_stats_table.
 */
typedef struct dnsd_counters {
	_Atomic uint64_t queries; /* every packet handed to dnsd_answer */
	_Atomic uint64_t udp;     /* queries received over UDP */
	_Atomic uint64_t tcp;     /* queries received over TCP */
	_Atomic uint64_t noerror; /* responses by rcode */
	_Atomic uint64_t nxdomain;
	_Atomic uint64_t refused;
	_Atomic uint64_t formerr;
	_Atomic uint64_t servfail;
	_Atomic uint64_t notimp;
	_Atomic uint64_t badvers;
	_Atomic uint64_t badcookie;
	_Atomic uint64_t notauth;   /* TSIG errors: BADKEY, BADSIG, BADTIME */
	_Atomic uint64_t dropped;   /* no response sent: QR=1, too short, ... */
	_Atomic uint64_t truncated; /* TC=1 responses */
	_Atomic uint64_t edns;      /* queries with an OPT record */
	_Atomic uint64_t cookies;   /* queries with a COOKIE option */
	_Atomic uint64_t nsid;      /* NSID requested */
	_Atomic uint64_t axfr_refused;
	_Atomic uint64_t send_errors; /* sendmmsg/write failures */
	_Atomic uint64_t services;    /* queries answered by policy/ (pol_answer called) */
	_Atomic uint64_t ecs;         /* queries with a valid EDNS Client Subnet option */

	/* The TCP connection table (tcp.c). */
	_Atomic uint64_t tcp_refused;  /* refused: client prefix at its limit, or table full */
	_Atomic uint64_t tcp_evicted;  /* idle connections closed to admit a new one */
	_Atomic uint64_t tcp_timeouts; /* closed: a query or a reply not through in time */

	/* Response rate limiting (rrl.c), UDP only. */
	_Atomic uint64_t rrl_dropped; /* over the limit, not sent */
	_Atomic uint64_t rrl_slipped; /* over the limit, sent with TC=1 (also in truncated) */

	/* TSIG (tsig.c): signed queries by verification result. */
	_Atomic uint64_t tsig_ok;
	_Atomic uint64_t tsig_badkey;  /* unknown key name or algorithm */
	_Atomic uint64_t tsig_badsig;  /* wrong MAC */
	_Atomic uint64_t tsig_badtime; /* outside Time Signed +- Fudge */
	_Atomic uint64_t tsig_formerr; /* malformed TSIG RR or forbidden MAC size */

	/* DNSSEC (dnssec.c): DO queries to signed zones. */
	_Atomic uint64_t dnssec_answers;    /* responses with signatures */
	_Atomic uint64_t dnssec_cache_hits; /* per-query RRsets whose signature was cached */
	_Atomic uint64_t dnssec_signs;      /* signatures made on the query path (cache misses) */
	_Atomic uint64_t dnssec_sign_fail;  /* a signature could not be made: SERVFAIL */
} dnsd_counters_t;

/* Plain copy of counters, for reporting. */
typedef struct dnsd_stats {
	uint64_t queries, udp, tcp, noerror, nxdomain, refused, formerr, servfail, notimp, badvers,
	        badcookie, notauth, dropped, truncated, edns, cookies, nsid, axfr_refused,
	        send_errors, services, ecs;
	uint64_t tcp_refused, tcp_evicted, tcp_timeouts;
	uint64_t rrl_dropped, rrl_slipped;
	uint64_t tsig_ok, tsig_badkey, tsig_badsig, tsig_badtime, tsig_formerr;
	uint64_t dnssec_answers, dnssec_cache_hits, dnssec_signs, dnssec_sign_fail;
	uint64_t rrl_keys; /* gauge: RRL table entries used within the window */
} dnsd_stats_t;

/*
 * The registry rows of dnsd_stats_t (common/stats.h), in the order `ayactl
 * status` lists them; queries, services and ecs are not in that list.
 */
extern const aya_stat_table_t dnsd_stats_table;

/* out += c (relaxed loads). */
void dnsd_counters_add(dnsd_stats_t *out, const dnsd_counters_t *c) AYA_NONNULL(1, 2);

/*
 * Address answers per pool, for the share of answers each pool gets: each
 * worker counts the answers whose first address is in a pool, by slot =
 * the pools of the services before it (policy snapshot order, which is
 * config order) + the pool's index in its service. One writer per counter
 * (the worker), relaxed atomics, no lock; pools past the last slot are
 * not counted. dnsd_server_pool_answers() sums them.
 */
#define DNSD_POOL_SLOTS 2048u

/* ------------------------------------------------------------------ answers */

typedef enum dnsd_transport {
	DNSD_UDP = 0,
	DNSD_TCP = 1,
} dnsd_transport_t;

/*
 * Per-thread answer state: counters, the cookie MAC context, scratch space.
 * Created on the thread that uses it; never shared.
 */
typedef struct dnsd_ctx dnsd_ctx_t;
dnsd_ctx_t *dnsd_ctx_new(void) AYA_WUR;
void dnsd_ctx_free(dnsd_ctx_t *ctx);
/* The context's counters (borrowed; readable from any thread). */
const dnsd_counters_t *dnsd_ctx_counters(const dnsd_ctx_t *ctx) AYA_NONNULL(1);
/* out[i] += the context's answers from pool slot i, for i < n (relaxed loads; any thread). */
void dnsd_ctx_pool_answers_add(const dnsd_ctx_t *ctx, uint64_t *out, size_t n) AYA_NONNULL(1, 2);

/*
 * Query durations (dnsd_answer, from the query in to the response written):
 * one query in DNSD_QDUR_SAMPLE is timed, into buckets with these upper
 * bounds (seconds) and one above the last.
 */
#define DNSD_QDUR_BOUNDS 10
#define DNSD_QDUR_SAMPLE 64
extern const double dnsd_qdur_bounds[DNSD_QDUR_BOUNDS];
/* Add the context's timed queries to out (bucket[i], count, sum in seconds). Any thread. */
void dnsd_ctx_qdur_add(const dnsd_ctx_t *ctx, aya_hist_t *out) AYA_NONNULL(1, 2);

/*
 * Answer one query. `q`/`qlen` is the message (for TCP without the length
 * prefix); the response is written to out[0..outmax) and its length returned,
 * or 0 when nothing must be sent (QR=1, shorter than a header, ...). For UDP
 * outmax must be >= 512 and the response is sized by the client's EDNS
 * payload (capped by the snapshot's max_udp_payload), with TC=1 when the
 * answer does not fit; for TCP the limit is outmax. `src` is the client's
 * address (cookies, AXFR ACLs, geo when the query has no ECS option). `pol`
 * answers service names; NULL (no services) makes them SERVFAIL. Over UDP,
 * when the snapshot has dns.rrl on and the context a rate-limiting table
 * (the UDP workers' contexts have the server's), a response over its limit
 * is dropped (0) or sent truncated (rrl.c). No allocation, lock or syscall.
 */
size_t dnsd_answer(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const pol_snap_t *pol,
                   const uint8_t *q, size_t qlen, uint8_t *out, size_t outmax,
                   const struct sockaddr *src, dnsd_transport_t transport)
        AYA_NONNULL(1, 2, 4, 6, 8) AYA_HOT;

/* ------------------------------------------------------------------ NOTIFY */

/*
 * A NOTIFY (RFC 1996: opcode 4, AA, the SOA question of the zone `apex`,
 * lower-case wire) with message ID id into out[0..outmax), signed with key
 * (RFC 8945, time now_s) when not NULL. Returns its length, 0 when it does
 * not fit or the MAC failed. Any thread (allocates).
 */
size_t dnsd_notify_build(const uint8_t *apex, const cfg_key_t *key, uint16_t id, uint64_t now_s,
                         uint8_t *out, size_t outmax) AYA_NONNULL(1, 5);
/*
 * Is msg the answer to our NOTIFY req[0..req_len) (built by
 * dnsd_notify_build)? Its rcode (0 = the secondary took it), -EBADMSG when
 * it is not a NOTIFY response with that ID, -EACCES when req was signed
 * with key and the answer is not signed with it over req's MAC (RFC 8945
 * 5.3; a TSIG error answer, unsigned, gives its rcode). now_s: the time
 * check. Any thread (allocates when key is not NULL).
 */
int dnsd_notify_reply(const uint8_t *req, size_t req_len, const uint8_t *msg, size_t len,
                      const cfg_key_t *key, uint64_t now_s) AYA_NONNULL(1, 3);

/*
 * The next message of a zone transfer the last dnsd_answer() on this
 * context started over TCP (RFC 5936 2.2: AXFR, and IXFR answered in full,
 * go in as many messages as the zone needs), into out[0..outmax); each is
 * TSIG-signed when the query was (RFC 8945 5.3.1). Returns its length, 0
 * when the transfer is complete (or there is none). Call it until it
 * returns 0 right after dnsd_answer(), on the same thread, with the query
 * buffer and the snapshot still valid. No allocation, lock or syscall.
 */
size_t dnsd_answer_more(dnsd_ctx_t *ctx, uint8_t *out, size_t outmax) AYA_NONNULL(1, 2);

/* ------------------------------------------------------------------ server */

typedef struct dnsd_server dnsd_server_t;

/*
 * Bind every listen address of cfg (UDP with SO_REUSEPORT, one socket per
 * worker; TCP) and create the worker threads, serving `snap` and `pol`
 * (ownership of both taken, even on failure; pol may be NULL).
 * Returns 0 or a negative errno, with a log line naming the address.
 * The publishing thread need not be an RCU reader (it never reads snapshots).
 */
int dnsd_server_start(const cfg_t *cfg, dnsd_snap_t *snap, pol_snap_t *pol, dnsd_server_t **out)
        AYA_NONNULL(1, 2, 4) AYA_WUR;
/*
 * Swap in a new zone snapshot and/or a new policy snapshot (ownership taken;
 * NULL keeps the current one), atomically as one pair, wait for a grace
 * period, free what was replaced. Blocks until no worker can see the old
 * pair (at most one batch). Allocates nothing and cannot fail. Control thread.
 */
void dnsd_server_publish(dnsd_server_t *srv, dnsd_snap_t *snap, pol_snap_t *pol) AYA_NONNULL(1);
/* Sum of all workers' counters. Any thread. */
void dnsd_server_stats(const dnsd_server_t *srv, dnsd_stats_t *out) AYA_NONNULL(1, 2);
/* The same, UDP workers and TCP apart (rrl_keys in udp only). Any thread. */
void dnsd_server_stats_by_transport(const dnsd_server_t *srv, dnsd_stats_t *udp, dnsd_stats_t *tcp)
        AYA_NONNULL(1, 2, 3);
/* The timed query durations (dnsd_ctx_qdur_add), UDP workers and TCP apart. Any thread. */
void dnsd_server_qdur(const dnsd_server_t *srv, aya_hist_t *udp, aya_hist_t *tcp)
        AYA_NONNULL(1, 2, 3);
/* out[i] = every worker's answers from pool slot i, for i < n (<= DNSD_POOL_SLOTS). Any thread. */
void dnsd_server_pool_answers(const dnsd_server_t *srv, uint64_t *out, size_t n) AYA_NONNULL(1, 2);
/* Listen addresses and worker count, for status. */
unsigned dnsd_server_workers(const dnsd_server_t *srv) AYA_NONNULL(1);
/*
 * Liveness, for the systemd watchdog: -1 with a reason in why when a UDP
 * worker has exited or spent more than max_ms on one batch, or the TCP
 * thread's loop has not run for max_ms. A worker waiting for queries is
 * alive. Any thread; reads atomics only.
 */
int dnsd_server_check(const dnsd_server_t *srv, uint64_t max_ms, char *why, size_t n)
        AYA_NONNULL(1, 3);
/*
 * Stop the threads, close the sockets, free the current snapshot. NULL is a
 * no-op. After dnsd_server_handoff() it first drains: every worker answers
 * what is queued on its socket until the queue stayed empty briefly, TCP
 * accepts what is queued and lets its connections finish their queries
 * (all bounded by DNSD_DRAIN_MAX_MS, 2 s); else it stops at once.
 */
void dnsd_server_stop(dnsd_server_t *srv);
/*
 * An upgrade: another process (the successor ayad) has bound the same
 * addresses (SO_REUSEPORT, same effective uid). Steer every new datagram and
 * connection to its sockets (a BPF program on each reuseport group,
 * dnsd/handoff.c) so that ours only drain; the drain itself is done by
 * dnsd_server_stop(). Without a successor the program's indices fall back to
 * the kernel's hash, which is harmless. 0, or a negative errno when a group
 * could not be steered (logged; the drain still runs). Control thread.
 */
int dnsd_server_handoff(dnsd_server_t *srv) AYA_NONNULL(1);
/*
 * The successor's side, once the predecessor has exited: drop the steering
 * program it left on the groups (its indices now fall back to the hash,
 * which works, but costs a BPF run per datagram). Control thread.
 */
void dnsd_server_took_over(dnsd_server_t *srv) AYA_NONNULL(1);
