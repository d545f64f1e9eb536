/*
 * Response rate limiting (RRL) for UDP answers: the key of a response, the
 * shared table of token buckets and the verdict. Internal to dnsd (tests may
 * include it); the design and its limits are in dnsd/rrl.c.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "config/config.h"
#include "dnsd/dnsd.h"

/* What a response is; part of its key. */
typedef enum dnsd_rrl_kind {
	DNSD_RRL_ANSWER = 1,   /* NOERROR with answer records (or TC for size): keyed by qname */
	DNSD_RRL_NODATA = 2,   /* NOERROR, no answer: keyed by qname */
	DNSD_RRL_NXDOMAIN = 3, /* keyed by the zone apex: random names share one bucket */
	DNSD_RRL_REFERRAL = 4, /* keyed by the delegation (the cut's name) */
	DNSD_RRL_ERROR = 5,    /* REFUSED, FORMERR, SERVFAIL, NOTIMP, ...: no name */
} dnsd_rrl_kind_t;

typedef enum dnsd_rrl_verdict {
	DNSD_RRL_PASS = 0, /* send the response */
	DNSD_RRL_DROP = 1, /* send nothing */
	DNSD_RRL_SLIP = 2, /* send it truncated: TC=1, no records */
} dnsd_rrl_verdict_t;

/* The settings of dns.rrl, as the snapshot carries them (reload applies them). */
typedef struct dnsd_rrl_conf {
	bool on;
	uint32_t rate;   /* responses per second per key */
	uint32_t slip;   /* 0..10 */
	uint32_t window; /* seconds */
	uint8_t v4_prefix, v6_prefix;
	const cfg_prefix_t *exempt; /* in the snapshot's arena */
	size_t n_exempt;
} dnsd_rrl_conf_t;

/* Slots of the table (2^DNSD_RRL_SLOTS_LOG2 x 8 bytes): 1 MiB, shared by every worker. */
#define DNSD_RRL_SLOTS_LOG2 17
/* Slots a key may live in: one cache line. */
#define DNSD_RRL_WAYS 8
/* Largest debt of a key (24-bit balance in a slot). */
#define DNSD_RRL_DEBT_MAX ((1 << 23) - 1)

typedef struct dnsd_rrl {
	_Atomic uint64_t *slot; /* 64-byte aligned, groups of DNSD_RRL_WAYS */
	void *mem;              /* the allocation slot points into */
	uint32_t group_mask;
	uint64_t seed;           /* random: keys cannot be aimed at one slot */
	uint32_t (*clock)(void); /* seconds; NULL = CLOCK_MONOTONIC_COARSE (tests inject one) */
	_Atomic uint32_t window; /* of the current snapshot, for dnsd_rrl_keys(); 0 = off */
} dnsd_rrl_t;

/* A table of 2^slots_log2 slots (at least DNSD_RRL_WAYS), or NULL. Start-up only. */
dnsd_rrl_t *dnsd_rrl_new(unsigned slots_log2) AYA_WUR;
void dnsd_rrl_free(dnsd_rrl_t *t);
/* Record the window of the published snapshot's settings (for dnsd_rrl_keys). */
void dnsd_rrl_configure(dnsd_rrl_t *t, const dnsd_rrl_conf_t *c) AYA_NONNULL(1, 2);
/* The table's clock, in seconds. */
uint32_t dnsd_rrl_now(const dnsd_rrl_t *t) AYA_NONNULL(1);

/* Is the client in an exempt prefix? IPv4-mapped IPv6 counts as IPv4. */
bool dnsd_rrl_exempt(const dnsd_rrl_conf_t *c, const struct sockaddr *src) AYA_NONNULL(1, 2);
/*
 * The 64-bit key of a response: the client's prefix (c's lengths), the kind
 * and the name (wire, any case; NULL or length 0 for none), hashed with the
 * table's seed. ASCII case does not matter.
 */
uint64_t dnsd_rrl_key(const dnsd_rrl_t *t, const dnsd_rrl_conf_t *c, const struct sockaddr *src,
                      dnsd_rrl_kind_t kind, const uint8_t *name, size_t name_len)
        AYA_NONNULL(1, 2, 3);
/*
 * Count one response of `key` at `now` (seconds) and say what to do with it.
 * Lock-free: a compare-and-swap on one 8-byte slot; never allocates.
 */
dnsd_rrl_verdict_t dnsd_rrl_account(dnsd_rrl_t *t, const dnsd_rrl_conf_t *c, uint64_t key,
                                    uint32_t now) AYA_NONNULL(1, 2);
/* Keys seen in the last `window` seconds (a scan of the table; status only). */
uint64_t dnsd_rrl_keys(const dnsd_rrl_t *t) AYA_NONNULL(1);

/* Let ctx's UDP answers be limited with table t (NULL: never). The worker's thread, at start. */
void dnsd_ctx_set_rrl(dnsd_ctx_t *ctx, dnsd_rrl_t *t) AYA_NONNULL(1);
