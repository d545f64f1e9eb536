/*
 * Online signing (dnssec.c), shared with the snapshot compiler (snap.c) and
 * the answer engine (answer.c). Internal to dnsd (tests may include it).
 *
 * A signed zone carries a dnsd_zsign_t: the private keys that sign (active
 * ZSK-role keys for every RRset, KSK-role keys that are active or retired for
 * the DNSKEY RRset), one validity window for the whole snapshot, and a cache
 * of the signatures of RRsets chosen per query (service answers, wildcard
 * expansions, denial records at a queried name). Static RRsets carry their
 * RRSIGs in the snapshot like any RRset (dnsd_rrset_t.sig).
 *
 * The cache is a fixed table of atomic pointers to immutable entries. A
 * reader loads a slot and compares the entry's key; a writer (a query that
 * missed, after signing) publishes with a compare-and-swap into an empty slot
 * of the key's probe window. Entries are never replaced or freed while the
 * snapshot lives: the snapshot frees them all (after its RCU grace period).
 * A full window means the signature is used for that answer only.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/dname.h"

#define DNSD_T_DS_ 43
#define DNSD_T_RRSIG 46
#define DNSD_T_NSEC 47
#define DNSD_T_DNSKEY 48
#define DNSD_T_NXNAME 128 /* draft-ietf-dnsop-compact-denial-of-existence */

#define DNSD_SIGN_KEYS_MAX 4      /* keys signing one RRset */
#define DNSD_SIG_LEN 64           /* ECDSA P-256 r||s and Ed25519 */
#define DNSD_RRSIG_FIXED 18       /* RRSIG RDATA before the signer name */
#define DNSD_SIGCACHE_SLOTS 65536 /* entries per signed zone and snapshot */
#define DNSD_SIGCACHE_PROBE 8
#define DNSD_NSEC_BITMAP_MAX (256 * 34)
#define DNSD_SIGKEY_MAX 2048 /* cache keys longer than this are not cached */

typedef struct dnsd_signkey {
	uint16_t tag;
	EVP_PKEY *pkey; /* a reference of the snapshot's own */
} dnsd_signkey_t;

/* One cached signature set: key bytes, then n RRSIG bodies (TYPE CLASS TTL RDLENGTH RDATA). */
typedef struct dnsd_sigent {
	uint64_t hash;
	uint16_t key_len;
	uint16_t sig_len;
	uint8_t n_sigs;
	uint8_t data[];
} dnsd_sigent_t;

typedef struct dnsd_sigcache {
	_Atomic(dnsd_sigent_t *) *slot;
	uint32_t mask;
	_Atomic uint32_t used;
} dnsd_sigcache_t;

typedef struct dnsd_zsign {
	uint8_t alg;
	const uint8_t *apex; /* signer name, lower-case wire */
	uint8_t apex_len;
	dnsd_signkey_t zsk[DNSD_SIGN_KEYS_MAX];
	uint8_t n_zsk;
	dnsd_signkey_t ksk[DNSD_SIGN_KEYS_MAX];
	uint8_t n_ksk;
	uint32_t inception, expiration;
	uint32_t dnskey_ttl;
	size_t signatures; /* made at build */
	/* Two caches, so that names made up by clients (random subdomains) never crowd out the
	 * service answers: `sets` holds the services' address RRsets (bounded by the config),
	 * `names` what is signed at a queried name (wildcard answers, compact-denial NSECs). */
	dnsd_sigcache_t sets;
	dnsd_sigcache_t names;
} dnsd_zsign_t;

/* An RRset to sign: owner lower-case wire, RDATAs in any order (sorted into canonical order). */
typedef struct dnsd_sigreq {
	const uint8_t *owner;
	uint8_t owner_len;
	uint8_t labels; /* the RRSIG Labels field (RFC 4034 3.1.3) */
	uint16_t type;
	uint32_t ttl; /* the original TTL */
	const uint8_t *const *rdata;
	const uint16_t *rdlen;
	size_t n;
} dnsd_sigreq_t;

/* Canonical order of two lower-case wire names (RFC 4034 6.1): <0, 0, >0. */
int dnsd_canon_cmp(const uint8_t *a, const uint8_t *b) AYA_NONNULL(1, 2);

/* Labels of a lower-case wire name for an RRSIG: the root and a leading "*" do not count. */
uint8_t dnsd_sig_labels(const uint8_t *owner) AYA_NONNULL(1);

/*
 * Sign rq with the zone's ZSK-role keys (the KSK-role keys when `dnskey`):
 * one RRSIG body (TYPE CLASS TTL RDLENGTH RDATA, TTL = rq->ttl) per key into
 * out. The canonical form (RFC 4034 6) is built in a buffer of its own.
 * Returns the bytes written, -ENOSPC, -ENOMEM or -EIO (signing failed).
 */
int dnsd_sign(const dnsd_zsign_t *zs, bool dnskey, const dnsd_sigreq_t *rq, uint8_t *out,
              size_t outmax) AYA_NONNULL(1, 3, 4);

/*
 * The cache key of rq into key: type, TTL, labels, owner, RDATAs in canonical
 * order. Returns its length, 0 if it does not fit in max.
 * *hash gets its hash.
 */
size_t dnsd_sig_key(const dnsd_sigreq_t *rq, uint8_t *key, size_t max, uint64_t *hash)
        AYA_NONNULL(1, 2, 4);

int dnsd_sigcache_init(dnsd_sigcache_t *c, uint32_t slots) AYA_NONNULL(1);
void dnsd_sigcache_fini(dnsd_sigcache_t *c);
const dnsd_sigent_t *dnsd_sigcache_find(const dnsd_sigcache_t *c, uint64_t hash, const uint8_t *key,
                                        size_t key_len) AYA_NONNULL(1, 3);
/*
 * A new entry of key and signature bodies, published into the cache. Returns
 * the entry in the cache (this one or an equal one put first by another
 * thread), or NULL when its probe window is full or memory is short.
 */
const dnsd_sigent_t *dnsd_sigcache_put(dnsd_sigcache_t *c, uint64_t hash, const uint8_t *key,
                                       size_t key_len, const uint8_t *sigs, size_t sig_len,
                                       unsigned n_sigs) AYA_NONNULL(1, 3, 5);

/*
 * NSEC RDATA for compact denial at owner: next name \000.owner, then the type
 * bitmap of types[0..n) (any order, duplicates allowed) plus RRSIG and NSEC.
 * Returns its length, or 0 when the next name would be too long.
 */
size_t dnsd_nsec_rdata(const uint8_t *owner, const uint16_t *types, size_t n, uint8_t *out,
                       size_t max) AYA_NONNULL(1, 4);

/* Set up zs from a keyset; drops the references with dnsd_zsign_fini. 0 or -EINVAL/-ENOMEM. */
struct dnsd_keyset;
int dnsd_zsign_init(dnsd_zsign_t *zs, const struct dnsd_keyset *ks, const uint8_t *apex,
                    uint8_t apex_len, uint64_t now_s, uint32_t lifetime_s, uint32_t dnskey_ttl,
                    char *err, size_t errlen) AYA_NONNULL(1, 2, 3);
void dnsd_zsign_fini(dnsd_zsign_t *zs);
