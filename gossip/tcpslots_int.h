/*
 * The table of accepted push/pull streams (transport_ev.c), as pure logic so
 * that it can be tested without sockets (tests/gossip/test_tcpslots.c).
 *
 * A stream that has not delivered an authenticated frame yet costs an
 * attacker nothing but a TCP connection, so the table must not be holdable
 * without a key:
 *   - a full table evicts its oldest unauthenticated stream for a newcomer
 *     (a peer's frame arrives in milliseconds; a stream that has lasted
 *     longest without one is the likeliest to be holding a slot);
 *   - `reserved` slots are kept for known peers (a configured seed's or a
 *     member's address): strangers hold at most n - reserved, and a stranger
 *     evicts only strangers;
 *   - at most `per_addr` streams per source (IPv4 address, IPv6 /64 for a
 *     stranger, exact address for a known peer): one more evicts that
 *     source's oldest unauthenticated stream.
 * Authenticated streams (writing their reply) are never evicted; their own
 * deadline bounds them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/gossip.h"

#define GSP_SLOT_KEY_LEN 16

typedef struct gsp_slot {
	uint8_t key[GSP_SLOT_KEY_LEN]; /* the source, from gsp_slot_key() */
	uint64_t seq;                  /* accept order: lower is older */
	bool used;
	bool known;  /* from a seed's or a member's address */
	bool authed; /* delivered an authenticated frame */
} gsp_slot_t;

typedef enum gsp_slot_verdict {
	GSP_SLOT_TAKE,   /* *idx is a free slot */
	GSP_SLOT_EVICT,  /* close the stream of slot *idx, then take it */
	GSP_SLOT_REFUSE, /* close the newcomer */
} gsp_slot_verdict_t;

/*
 * Where a newcomer from `key` (known or not) goes in v[0..n). Pure: the
 * caller applies the verdict. Slots that are not `used` are free.
 */
gsp_slot_verdict_t gsp_slot_admit(const gsp_slot_t *v, size_t n, size_t reserved, size_t per_addr,
                                  const uint8_t key[GSP_SLOT_KEY_LEN], bool known, size_t *idx)
        AYA_NONNULL(1, 5, 7);

/*
 * The per-source key of a: IPv4 (also IPv4-mapped IPv6) as ::ffff:a.b.c.d,
 * IPv6 whole when known, else its /64. The port never counts.
 */
void gsp_slot_key(const gsp_addr_t *a, bool known, uint8_t key[GSP_SLOT_KEY_LEN]) AYA_NONNULL(1, 3);

/* a and b are the same host: equal IP (IPv4-mapped IPv6 as IPv4), any port. */
bool gsp_addr_same_host(const gsp_addr_t *a, const gsp_addr_t *b) AYA_NONNULL(1, 2);

/* a is the host of a configured seed or of another member of g (any state). */
bool gsp_peer_known(const gsp_t *g, const gsp_addr_t *a) AYA_NONNULL(1, 2);
