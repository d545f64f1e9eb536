/*
 * The snapshot's layout, shared by the compiler (snap.c) and the answer
 * engine (answer.c). Everything lives in one arena and is read-only once
 * dnsd_snap_build() returns.
 *
 * Invariants:
 *  - every owner in a zone and every empty non-terminal between an owner and
 *    the apex is a node; node names are lower-case wire names under the apex;
 *  - an RRset's records are stored ready to copy: TYPE CLASS TTL RDLENGTH
 *    RDATA (the owner is written by the engine, as a compression pointer);
 *  - a node below a delegation point has `cut` set to that point; the point
 *    itself has DNSD_NODE_DELEG;
 *  - a service owner (cfg_service_t) is a node with DNSD_NODE_SERVICE and no
 *    RRsets, except the apex SOA/NS when the service is at the apex; its
 *    A/AAAA come from policy/ per query. A service is never a wildcard's
 *    source of synthesis (`wild` never points to a service node).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "common/dname.h"
#include "config/config.h"
#include "dnsd/dnsd.h"
#include "dnsd/rrl_int.h"
#include "dnsd/tsig_int.h"

#define DNSD_T_A 1
#define DNSD_T_NS 2
#define DNSD_T_CNAME 5
#define DNSD_T_SOA 6
#define DNSD_T_PTR 12
#define DNSD_T_HINFO 13
#define DNSD_T_MX 15
#define DNSD_T_TXT 16
#define DNSD_T_AAAA 28
#define DNSD_T_SRV 33
#define DNSD_T_OPT 41
#define DNSD_T_DS 43
#define DNSD_T_IXFR 251
#define DNSD_T_AXFR 252
#define DNSD_T_ANY 255
#define DNSD_C_IN 1
#define DNSD_C_CH 3

#define DNSD_NO_NAME 0xffff /* no name in this slot */
#define DNSD_NO_SFX 0xff    /* the name is not below the zone apex */

typedef struct dnsd_node dnsd_node_t;

/* One record inside an RRset's wire block. */
typedef struct dnsd_rec {
	uint16_t off; /* of TYPE in dnsd_rrset_t.wire */
	uint16_t len; /* 10 + RDLENGTH */
	/*
	 * Up to two names in the RDATA we may compress (RFC 3597 4: only NS,
	 * CNAME, PTR, MX, SOA): offset in RDATA, and offset inside the name where
	 * the zone apex starts (DNSD_NO_SFX when the name is outside the zone).
	 */
	uint16_t name_off[2];
	uint8_t name_sfx[2];
	/* In-zone target of NS/MX/SRV whose A/AAAA go to the additional section. */
	const dnsd_node_t *add;
	uint16_t add_off; /* RDATA offset of that target name */
} dnsd_rec_t;

typedef struct dnsd_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t wire_len; /* sum of rec[i].len */
	const uint8_t *wire;
	const dnsd_rec_t *rec;
	bool compress; /* some record has a name to compress */
	/* Signed zone: its RRSIGs (an RRset of type RRSIG, one record per signing key), or NULL
	 * when the RRset is not authoritative (NS at a cut, glue). */
	const struct dnsd_rrset *sig;
} dnsd_rrset_t;

enum {
	DNSD_NODE_APEX = 1 << 0,
	DNSD_NODE_DELEG = 1 << 1, /* NS below the apex: a zone cut */
	DNSD_NODE_CNAME = 1 << 2,
	DNSD_NODE_SERVICE = 1 << 3, /* A/AAAA answered by policy/ (pol_answer) */
};

struct dnsd_node {
	const uint8_t *name; /* lower-case wire */
	uint8_t name_len;
	uint8_t labels;
	uint8_t flags;
	uint8_t any_idx; /* RRset answered to qtype ANY (RFC 8482): the smallest */
	uint16_t n_rrsets;
	uint32_t svc_idx; /* DNSD_NODE_SERVICE: the service's config index (pol_service_at) */
	/* DNSD_NODE_SERVICE: its first pool's slot in the per-pool answer counters (the pools of
	 * the services before it, in config order) */
	uint32_t pool_slot;
	const dnsd_rrset_t *rrsets;
	const dnsd_node_t *cut;  /* delegation point above, or NULL */
	const dnsd_node_t *wild; /* "*." child, or NULL (RFC 4592 source of synthesis) */
	/* Signed zone: the compact-denial NSEC of the node (its types; .sig signed), for NODATA;
	 * a service's also without A and AAAA (nsec_empty) for when_all_down: empty. */
	const dnsd_rrset_t *nsec;
	const dnsd_rrset_t *nsec_empty;
};

/* Open-addressing hash table of names (linear probing, power-of-two size). */
typedef struct dnsd_htab {
	const dnsd_node_t **slot;
	uint32_t *hash;
	uint32_t mask;
} dnsd_htab_t;

/* An allow_transfer mapping entry: the key it requires (NULL: none) and/or a prefix. */
typedef struct dnsd_xfr_acl {
	const dnsd_tsig_key_t *key;
	bool any_addr;
	cfg_prefix_t prefix;
} dnsd_xfr_acl_t;

typedef struct dnsd_zone {
	const char *name;
	const uint8_t *apex; /* lower-case wire */
	uint8_t apex_len;
	uint8_t apex_labels;
	uint32_t serial;
	size_t records;
	const dnsd_node_t *apex_node;
	const dnsd_rrset_t *soa;     /* the SOA RRset (answers, AXFR) */
	const dnsd_rrset_t *neg_soa; /* SOA with TTL = min(TTL, MINIMUM) (RFC 2308 3) */
	const dnsd_node_t *nodes;    /* every node, apex first (AXFR order) */
	size_t n_nodes;
	dnsd_htab_t names;
	const cfg_prefix_t *xfr_allow; /* address-only entries */
	size_t n_xfr_allow;
	const dnsd_xfr_acl_t *xfr_acl; /* entries that name a key (or a prefix alone) */
	size_t n_xfr_acl;
	struct dnsd_zsign *sign; /* signed zone (dnssec_int.h); NULL: unsigned. Its cache is
	                            the one part of the snapshot written after the build */
	/* A pre-signed zone (RRSIGs in its file, no dnssec:): the nodes that have an NSEC, in
	 * canonical order (RFC 4034 6.1), for the NSEC covering a name that does not exist. */
	const dnsd_node_t *const *nsec_chain;
	size_t n_nsec_chain;
} dnsd_zone_t;

struct dnsd_snap {
	aya_arena_t *arena;
	const dnsd_zone_t *zones;
	size_t n_zones;
	dnsd_htab_t apexes;          /* apex name -> zone's apex node; zone found via zone_of */
	uint8_t apex_min_labels;     /* fewest and most labels of any apex: */
	uint8_t apex_max_labels;     /* the only suffixes zone lookup probes */
	const dnsd_zone_t **zone_of; /* parallel to apexes.slot */
	uint16_t max_udp;
	const uint8_t *nsid; /* NSID option payload, NULL when disabled */
	uint16_t nsid_len;
	const uint8_t *ident; /* id.server TXT: nsid or the node name */
	uint8_t ident_len;
	const uint8_t *host; /* hostname.bind TXT: the node name */
	uint8_t host_len;
	bool cookies;
	uint8_t cookie_secret[16];
	dnsd_rrl_conf_t rrl;         /* dns.rrl; rrl.on false: nothing limited */
	const dnsd_tsig_key_t *keys; /* TSIG keys (keys:), config order */
	size_t n_keys;
};

/*
 * Name hashing. A name is hashed label by label from the root up, so the
 * hash of every suffix is an intermediate value: the answer engine hashes a
 * qname once and has the hash of each of its suffixes (zone apex, closest
 * encloser) for free. A label (its length byte and text) is mixed in 8-byte
 * words; dnsd_hash_label() reads 8 bytes from each word's start, so the
 * buffer must have DNSD_HASH_PAD readable bytes past the name (the bytes
 * past the label are masked off, their value does not matter).
 */
#define DNSD_HASH_PAD 8
#define DNSD_HASH_SEED 0x243f6a8885a308d3ull

static inline uint64_t dnsd_hash_label(uint64_t h, const uint8_t *label)
{
	size_t n = (size_t)label[0] + 1u;
	for (;;) {
		uint64_t w;
		memcpy(&w, label, sizeof(w));
		if (n < 8) {
			w &= (1ull << (8 * n)) - 1u;
		}
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
		if (n <= 8) {
			return h;
		}
		label += 8;
		n -= 8;
	}
}

/* Hash of a lower-case wire name (build time: copies it to a padded buffer). */
static inline uint32_t dnsd_name_hash(const uint8_t *name, size_t len)
{
	uint8_t buf[AYA_DNAME_MAX + DNSD_HASH_PAD] = {0};
	uint8_t off[AYA_DNAME_MAX / 2 + 1];
	unsigned labels = 0;
	memcpy(buf, name, len);
	for (size_t p = 0; buf[p] != 0; p += buf[p] + 1u) {
		off[labels++] = (uint8_t)p;
	}
	uint64_t h = dnsd_hash_label(DNSD_HASH_SEED, buf + len - 1);
	while (labels > 0) {
		h = dnsd_hash_label(h, buf + off[--labels]);
	}
	return (uint32_t)h;
}

/* Lookup by lower-case wire name; returns the slot index or -1. */
static inline long dnsd_htab_find(const dnsd_htab_t *t, const uint8_t *name, size_t len, uint32_t h)
{
	if (t->slot == NULL) {
		return -1;
	}
	for (uint32_t i = h & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
		const dnsd_node_t *node = t->slot[i];
		if (node == NULL) {
			return -1;
		}
		if (t->hash[i] == h && node->name_len == len &&
		    memcmp(node->name, name, len) == 0) {
			return (long)i;
		}
	}
	return -1;
}

/* The RRset of a type at a node, or NULL. */
static inline const dnsd_rrset_t *dnsd_node_rrset(const dnsd_node_t *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->n_rrsets; i++) {
		if (n->rrsets[i].type == type) {
			return &n->rrsets[i];
		}
	}
	return NULL;
}
