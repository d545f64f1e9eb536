/*
 * The snapshot compiler's per-zone build state, shared by snap.c (nodes,
 * RRsets, links) and snap_sign.c (signing at build, pre-signed zones).
 * Internal to dnsd.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/compiler.h"
#include "config/config.h"
#include "dnsd/dnsd.h"
#include "dnsd/snap_int.h"

/* Build state for one zone; nodes are mutable here, const once published. */
struct zbuild {
	aya_arena_t *a;
	const cfg_zone_t *cz;
	size_t svc_base;  /* config index of the zone's first service (zones before it, in order) */
	size_t pool_base; /* answer counter slot of its first service's first pool */
	dnsd_zone_t *z;
	dnsd_node_t *nodes;
	size_t n_nodes;
	size_t cap_nodes;
	const dnsd_node_t **slot;
	uint32_t *hash;
	uint32_t mask;
	char *err;
	size_t errlen;
};

/* A message into err; returns -EINVAL. */
int dnsd_build_fail(char *err, size_t errlen, const char *fmt, ...) AYA_PRINTF(3, 4);

/* Does the zone file carry DNSSEC records (RRSIG, NSEC, DNSKEY, NSEC3)? */
bool dnsd_zone_has_dnssec(const struct zbuild *b) AYA_NONNULL(1);
/*
 * Sign the zone with ks (snap_sign.c): DNSKEY, every authoritative RRset, the
 * nodes' NSECs, the negative SOA, the services' address sets into the cache.
 */
int dnsd_zone_sign(struct zbuild *b, const dnsd_keyset_t *ks, uint64_t now_s) AYA_NONNULL(1, 2);
/* A zone file signed elsewhere: RRSIGs onto their RRsets, the NSEC chain. */
int dnsd_zone_presigned(struct zbuild *b) AYA_NONNULL(1);
