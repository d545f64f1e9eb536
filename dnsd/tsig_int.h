/*
 * TSIG (RFC 8945): the TSIG RR on the wire, the MAC (OpenSSL EVP_MAC HMAC),
 * and the answer engine's slow path for signed queries. Internal to dnsd
 * (tests may include it).
 *
 * A query without a TSIG RR never comes here: the parser only notes where
 * a TSIG RR starts (it must be the last record, RFC 8945 5.1), and
 * dnsd_answer() calls dnsd_tsig_verify() only then. The MAC of a signed
 * query allocates inside OpenSSL (EVP_MAC_init fetches the digest): signed
 * queries are zone transfers and NOTIFYs, not the hot path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config/config.h"
#include "dnsd/dnsd.h"
#include "dnsd/wire_int.h"

#define DNSD_T_TSIG 250
#define DNSD_C_ANY 255
#define DNSD_RCODE_NOTAUTH 9
#define DNSD_OPCODE_NOTIFY 4

/* TSIG RR ERROR values (RFC 8945 3). */
#define DNSD_TSIG_BADSIG 16
#define DNSD_TSIG_BADKEY 17
#define DNSD_TSIG_BADTIME 18
#define DNSD_TSIG_BADTRUNC 22

#define DNSD_TSIG_MAC_MAX 64 /* SHA-512 */
#define DNSD_TSIG_FUDGE_S 300
#define DNSD_TSIG_ALG_MAX 26 /* hmac-md5.sig-alg.reg.int. */

/* A key of the snapshot (dns keys: of the config). */
typedef struct dnsd_tsig_key {
	const uint8_t *name; /* lower-case wire */
	uint8_t name_len;
	cfg_tsig_alg_t alg;
	const uint8_t *secret;
	size_t secret_len;
} dnsd_tsig_key_t;

/* The fields of a TSIG RR (RFC 8945 4.2); pointers into the message. */
typedef struct dnsd_tsig_rr {
	const uint8_t *name; /* key name, uncompressed wire */
	size_t name_len;
	const uint8_t *alg; /* algorithm name, uncompressed wire */
	size_t alg_len;
	uint64_t time_signed; /* 48 bits */
	uint16_t fudge;
	uint16_t mac_len;
	const uint8_t *mac;
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
} dnsd_tsig_rr_t;

/*
 * The slow path's state in the answer context: the query's TSIG, the key
 * that signed it, the reply's error. Written by dnsd_tsig_verify, read by
 * dnsd_tsig_sign for the same query.
 */
typedef struct dnsd_tsig_state {
	dnsd_tsig_rr_t rr;
	const dnsd_tsig_key_t *key; /* NULL: unknown key (BADKEY) */
	uint16_t error;             /* TSIG ERROR of the reply */
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	uint8_t other[6]; /* BADTIME: the server's time */
} dnsd_tsig_state_t;

/* Wire name of an algorithm (lower case) and its length; the HMAC output size. */
const uint8_t *dnsd_tsig_alg_wire(cfg_tsig_alg_t alg, size_t *len) AYA_NONNULL(2);
size_t dnsd_tsig_mac_size(cfg_tsig_alg_t alg);

/*
 * Parse the TSIG RR at rr (its owner name), which ends at end. Checks type,
 * class ANY, TTL 0 and that RDATA is exactly its fields. 0 or -EBADMSG.
 */
int dnsd_tsig_rr_parse(const uint8_t *rr, const uint8_t *end, dnsd_tsig_rr_t *out)
        AYA_NONNULL(1, 2, 3) AYA_WUR;

/*
 * The MAC of RFC 8945 4.3: [prior MAC size and MAC] (a request's for a
 * reply; the previous message's for the later messages of a transfer,
 * 4.3.1), the message msg[0..len) with its ID replaced by id and its
 * ARCOUNT by arcount (the TSIG RR itself is not in msg), then the TSIG
 * variables of v (names in canonical, lower-case form), or only its timers
 * when timers_only. out gets dnsd_tsig_mac_size(alg) bytes. 0 or -EIO.
 */
int dnsd_tsig_mac(EVP_MAC_CTX *mc, const dnsd_tsig_key_t *key, const uint8_t *prior,
                  size_t prior_len, const uint8_t *msg, size_t len, uint16_t id, uint16_t arcount,
                  const dnsd_tsig_rr_t *v, bool timers_only, uint8_t *out)
        AYA_NONNULL(1, 2, 5, 9, 11) AYA_WUR;

/* Bytes of a TSIG RR with these fields. */
size_t dnsd_tsig_rr_len(const dnsd_tsig_rr_t *v) AYA_NONNULL(1);
/* Append a TSIG RR (owner v->name) to w (sticky error when it does not fit). */
void dnsd_tsig_rr_write(dnsd_wr_t *w, const dnsd_tsig_rr_t *v) AYA_NONNULL(1, 2);

/* ---- the answer engine's slow path (answer.c) ---- */

struct dnsd_snap;
/*
 * Verify the query msg[0..len) whose TSIG RR starts at `tsig` (the last
 * record), at the wall-clock time now_s (RFC 8945 5.2: key, MAC, time).
 * Returns -1 when the query is valid (answer it, then sign), DNSD_RCODE_NOTAUTH
 * (BADKEY, BADSIG: reply unsigned; BADTIME: reply signed) or
 * DNSD_RCODE_FORMERR (a malformed TSIG RR, a MAC of a size RFC 8945 5.2.2.1
 * forbids: no TSIG in the reply). Counts tsig_* counters.
 */
int dnsd_tsig_verify(dnsd_ctx_t *ctx, const struct dnsd_snap *snap, const uint8_t *msg, size_t len,
                     const uint8_t *tsig, uint64_t now_s) AYA_NONNULL(1, 2, 3, 5);
/* The key of the query being answered when it verified, else NULL. */
const dnsd_tsig_key_t *dnsd_tsig_query_key(const dnsd_ctx_t *ctx) AYA_NONNULL(1);
/* Bytes the reply's TSIG RR will take (reserved before the answer is built). */
size_t dnsd_tsig_reply_len(const dnsd_ctx_t *ctx) AYA_NONNULL(1);
/*
 * Append the reply's TSIG RR to the finished reply in w (header written,
 * ARCOUNT without the TSIG RR) and count it in ARCOUNT: signed with the
 * request's MAC first (RFC 8945 4.3.1), or unsigned for BADKEY/BADSIG
 * (5.3.2).
 */
void dnsd_tsig_sign(dnsd_ctx_t *ctx, dnsd_wr_t *w, uint64_t now_s) AYA_NONNULL(1, 2);
/*
 * The same for a later message of a transfer (RFC 8945 5.3.1): the MAC
 * covers our previous message's MAC, this message and the timers only.
 * Signs nothing unless the query verified.
 */
void dnsd_tsig_sign_next(dnsd_ctx_t *ctx, dnsd_wr_t *w, uint64_t now_s) AYA_NONNULL(1, 2);
