/*
 * Snapshot compiler: cfg_t zones -> nodes with wire-form RRsets in one arena.
 *
 * Runs on the control thread; may allocate freely (temporary index arrays
 * with malloc, the result in the arena). Everything the query path would
 * otherwise compute is done here: node flags (zone cut, CNAME), the "*."
 * child of every node, the negative-answer SOA, the ANY answer, the in-zone
 * targets of NS/MX/SRV for the additional section, and the offsets of the
 * RDATA names the engine compresses.
 *
 * Services (cfg_zone_t.services) become nodes flagged DNSD_NODE_SERVICE,
 * with their empty non-terminals; they hold no RRsets (the apex SOA/NS
 * excepted) and are not part of AXFR: their A/AAAA are chosen per query by
 * policy/ on the policy snapshot, which is built and published separately.
 */
#include "dnsd/dnsd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/dname.h"
#include "dnsd/dnssec_int.h"
#include "dnsd/keys_int.h"
#include "dnsd/snap_int.h"
#include "dnsd/wire_int.h"

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

AYA_PRINTF(3, 4) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Length of a well-formed uncompressed name in buf[0..len), or 0. */
static size_t name_len_in(const uint8_t *buf, size_t len)
{
	size_t n = 0;
	while (n < len) {
		uint8_t l = buf[n];
		if (l > AYA_LABEL_MAX || n + 1 + l > AYA_DNAME_MAX) {
			return 0;
		}
		n += 1 + (size_t)l;
		if (l == 0) {
			return n;
		}
	}
	return 0;
}

static uint32_t table_size(size_t n)
{
	uint32_t size = 8;
	while (size < 2 * n) {
		size <<= 1;
	}
	return size;
}

/* Find or insert a node for `name` (already in the arena, lower-case). */
static dnsd_node_t *node_get(struct zbuild *b, const uint8_t *name)
{
	size_t len = aya_dname_len(name);
	uint32_t h = dnsd_name_hash(name, len);
	dnsd_htab_t t = {.slot = b->slot, .hash = b->hash, .mask = b->mask};
	long i = dnsd_htab_find(&t, name, len, h);
	if (i >= 0) {
		return (dnsd_node_t *)b->slot[i];
	}
	if (b->n_nodes == b->cap_nodes) {
		return NULL;
	}
	dnsd_node_t *n = &b->nodes[b->n_nodes++];
	n->name = name;
	n->name_len = (uint8_t)len;
	n->labels = (uint8_t)aya_dname_labels(name);
	uint32_t s = h & b->mask;
	while (b->slot[s] != NULL) {
		s = (s + 1) & b->mask;
	}
	b->slot[s] = n;
	b->hash[s] = h;
	return n;
}

static const dnsd_node_t *node_find(const struct zbuild *b, const uint8_t *name)
{
	size_t len = aya_dname_len(name);
	dnsd_htab_t t = {.slot = b->slot, .hash = b->hash, .mask = b->mask};
	long i = dnsd_htab_find(&t, name, len, dnsd_name_hash(name, len));
	return i >= 0 ? b->slot[i] : NULL;
}

/* Order records by owner, type, RDATA so that RRsets are runs. */
static int rr_cmp(const void *pa, const void *pb)
{
	const cfg_rr_t *a = *(const cfg_rr_t *const *)pa;
	const cfg_rr_t *b = *(const cfg_rr_t *const *)pb;
	size_t la = aya_dname_len(a->owner), lb = aya_dname_len(b->owner);
	if (la != lb) {
		return la < lb ? -1 : 1;
	}
	int c = memcmp(a->owner, b->owner, la);
	if (c != 0) {
		return c;
	}
	if (a->type != b->type) {
		return a->type < b->type ? -1 : 1;
	}
	if (a->rdlen != b->rdlen) {
		return a->rdlen < b->rdlen ? -1 : 1;
	}
	return memcmp(a->rdata, b->rdata, a->rdlen);
}

static bool same_rdata(const cfg_rr_t *a, const cfg_rr_t *b)
{
	return a->rdlen == b->rdlen && memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

/* Record the compressible names of one record (RFC 3597 4). */
static void rec_names(const struct zbuild *b, uint16_t type, const uint8_t *rd, uint16_t rdlen,
                      dnsd_rec_t *rec)
{
	size_t first;
	rec->name_off[0] = rec->name_off[1] = DNSD_NO_NAME;
	rec->name_sfx[0] = rec->name_sfx[1] = DNSD_NO_SFX;
	switch (type) {
	case DNSD_T_NS:
	case DNSD_T_CNAME:
	case DNSD_T_PTR:
	case DNSD_T_SOA:
		first = 0;
		break;
	case DNSD_T_MX:
		first = 2;
		break;
	default:
		return;
	}
	size_t off = first;
	for (int k = 0; k < (type == DNSD_T_SOA ? 2 : 1); k++) {
		if (off >= rdlen) {
			return;
		}
		size_t nl = name_len_in(rd + off, rdlen - off);
		if (nl == 0) {
			return;
		}
		rec->name_off[k] = (uint16_t)off;
		if (aya_dname_is_sub(rd + off, b->z->apex)) {
			rec->name_sfx[k] = (uint8_t)(nl - b->z->apex_len);
		}
		off += nl;
	}
}

/* One RRset from the run rrs[0..n) (same owner and type, duplicates removed). */
static int rrset_build(struct zbuild *b, const cfg_rr_t *const *rrs, size_t n, dnsd_rrset_t *set)
{
	uint32_t ttl = rrs[0]->ttl;
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		ttl = rrs[i]->ttl < ttl ? rrs[i]->ttl : ttl; /* RFC 2181 5.2 */
		len += 10 + (size_t)rrs[i]->rdlen;
	}
	if (len > 65535) {
		return fail(b->err, b->errlen, "zone %s: RRset of type %u too large", b->cz->name,
		            rrs[0]->type);
	}
	uint8_t *wire = aya_arena_alloc(b->a, len);
	dnsd_rec_t *rec = aya_arena_alloc(b->a, n * sizeof(*rec));
	if (wire == NULL || rec == NULL) {
		return -ENOMEM;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		const cfg_rr_t *rr = rrs[i];
		uint8_t *p = wire + off;
		dnsd_put16(p, rr->type);
		dnsd_put16(p + 2, rr->rclass);
		dnsd_put32(p + 4, ttl);
		dnsd_put16(p + 8, rr->rdlen);
		memcpy(p + 10, rr->rdata, rr->rdlen);
		rec[i].off = (uint16_t)off;
		rec[i].len = (uint16_t)(10 + rr->rdlen);
		rec_names(b, rr->type, rr->rdata, rr->rdlen, &rec[i]);
		set->compress |= rec[i].name_off[0] != DNSD_NO_NAME;
		off += rec[i].len;
	}
	set->type = rrs[0]->type;
	set->count = (uint16_t)n;
	set->wire_len = (uint32_t)len;
	set->wire = wire;
	set->rec = rec;
	return 0;
}

/* The RRsets of one owner: the run rrs[0..n) sorted by type. */
static int node_fill(struct zbuild *b, dnsd_node_t *node, const cfg_rr_t *const *rrs, size_t n)
{
	size_t types = 0;
	for (size_t i = 0; i < n; i++) {
		types += i == 0 || rrs[i]->type != rrs[i - 1]->type;
	}
	dnsd_rrset_t *sets = aya_arena_alloc(b->a, types * sizeof(*sets));
	const cfg_rr_t **run = malloc(n * sizeof(*run));
	if (sets == NULL || run == NULL) {
		free(run);
		return -ENOMEM;
	}
	size_t k = 0, i = 0;
	int rc = 0;
	while (i < n && rc == 0) {
		size_t m = 0;
		size_t j = i;
		for (; j < n && rrs[j]->type == rrs[i]->type; j++) {
			if (m == 0 || !same_rdata(run[m - 1], rrs[j])) {
				run[m++] = rrs[j];
			}
		}
		rc = rrset_build(b, run, m, &sets[k]);
		if (rc == 0 && sets[k].wire_len < sets[node->any_idx].wire_len) {
			node->any_idx = (uint8_t)(k < 256 ? k : node->any_idx);
		}
		if (sets[k].type == DNSD_T_CNAME) {
			node->flags |= DNSD_NODE_CNAME;
		}
		b->z->records += m;
		k++;
		i = j;
	}
	free(run);
	node->rrsets = sets;
	node->n_rrsets = (uint16_t)k;
	return rc;
}

/* The node of a name (copied into the arena, lower-cased) and its empty non-terminals. */
static dnsd_node_t *node_add(struct zbuild *b, const uint8_t *owner)
{
	uint8_t *name = aya_arena_memdup(b->a, owner, aya_dname_len(owner));
	if (name == NULL) {
		return NULL;
	}
	aya_dname_lower(name);
	dnsd_node_t *node = node_get(b, name);
	/* Empty non-terminals: every ancestor up to the apex is a node. */
	const uint8_t *anc = name;
	for (unsigned l = aya_dname_labels(name); l > b->z->apex_labels; l--) {
		anc += anc[0] + 1;
		(void)node_get(b, anc);
	}
	AYA_BUG_ON(node == NULL); /* cap counts every owner and ancestor */
	return node;
}

/*
 * Flag every service owner. The config loader already rejects static
 * records beside a service (but the apex SOA/NS); checked again here
 * because the snapshot's answers rely on it.
 */
static int services_add(struct zbuild *b)
{
	for (size_t i = 0; i < b->cz->n_services; i++) {
		const cfg_service_t *svc = &b->cz->services[i];
		dnsd_node_t *node = node_add(b, svc->owner);
		if (node == NULL) {
			return -ENOMEM;
		}
		for (uint16_t k = 0; k < node->n_rrsets; k++) {
			uint16_t t = node->rrsets[k].type;
			if (!(node->flags & DNSD_NODE_APEX) ||
			    (t != DNSD_T_SOA && t != DNSD_T_NS)) {
				return fail(b->err, b->errlen,
				            "zone %s: service %s clashes with static records",
				            b->cz->name, svc->name);
			}
		}
		node->flags |= DNSD_NODE_SERVICE;
		node->svc_idx = (uint32_t)(b->svc_base + i);
		node->pool_slot = (uint32_t)b->pool_base;
		b->pool_base += svc->n_pools;
	}
	return 0;
}

/* Check the records, then create a node per owner and per empty non-terminal. */
static int nodes_build(struct zbuild *b, const cfg_rr_t **sorted, size_t n)
{
	const uint8_t *apex = b->z->apex;
	size_t cap = 1;
	for (size_t i = 0; i < n; i++) {
		const cfg_rr_t *rr = sorted[i];
		if (!aya_dname_is_sub(rr->owner, apex)) {
			return fail(b->err, b->errlen, "zone %s: line %u: owner outside the zone",
			            b->cz->name, rr->line);
		}
		cap += aya_dname_labels(rr->owner) - b->z->apex_labels + 1;
	}
	for (size_t i = 0; i < b->cz->n_services; i++) {
		const uint8_t *owner = b->cz->services[i].owner;
		if (!aya_dname_is_sub(owner, apex)) {
			return fail(b->err, b->errlen, "zone %s: service %s outside the zone",
			            b->cz->name, b->cz->services[i].name);
		}
		cap += aya_dname_labels(owner) - b->z->apex_labels + 1;
	}
	b->cap_nodes = cap;
	b->mask = table_size(cap) - 1;
	b->nodes = aya_arena_alloc(b->a, cap * sizeof(*b->nodes));
	b->slot = aya_arena_alloc(b->a, (b->mask + 1) * sizeof(*b->slot));
	b->hash = aya_arena_alloc(b->a, (b->mask + 1) * sizeof(*b->hash));
	if (b->nodes == NULL || b->slot == NULL || b->hash == NULL) {
		return -ENOMEM;
	}
	dnsd_node_t *apex_node = node_get(b, apex);
	apex_node->flags |= DNSD_NODE_APEX;
	size_t i = 0;
	while (i < n) {
		size_t j = i + 1;
		while (j < n && aya_dname_equal(sorted[j]->owner, sorted[i]->owner)) {
			j++;
		}
		dnsd_node_t *node = node_add(b, sorted[i]->owner);
		if (node == NULL) {
			return -ENOMEM;
		}
		int rc = node_fill(b, node, sorted + i, j - i);
		if (rc != 0) {
			return rc;
		}
		i = j;
	}
	return services_add(b);
}

/* Zone cuts, wildcards and additional-section targets, once every node exists. */
static void nodes_link(struct zbuild *b)
{
	for (size_t i = 0; i < b->n_nodes; i++) {
		dnsd_node_t *n = &b->nodes[i];
		if (!(n->flags & DNSD_NODE_APEX) && dnsd_node_rrset(n, DNSD_T_NS) != NULL) {
			n->flags |= DNSD_NODE_DELEG;
		}
	}
	for (size_t i = 0; i < b->n_nodes; i++) {
		dnsd_node_t *n = &b->nodes[i];
		const uint8_t *anc = n->name;
		/* The topmost cut above n (RFC 1034 4.3.2 step 3b stops there). */
		for (unsigned l = n->labels; l > b->z->apex_labels; l--) {
			anc += anc[0] + 1;
			const dnsd_node_t *a = node_find(b, anc);
			if (a != NULL && (a->flags & DNSD_NODE_DELEG)) {
				n->cut = a;
			}
		}
		/* A service named "*.x" answers that literal name only: no synthesis. */
		if (n->name[0] == 1 && n->name[1] == '*' && n->labels > b->z->apex_labels &&
		    !(n->flags & DNSD_NODE_SERVICE)) {
			dnsd_node_t *parent = (dnsd_node_t *)node_find(b, n->name + 2);
			if (parent != NULL) {
				parent->wild = n;
			}
		}
	}
	for (size_t i = 0; i < b->n_nodes; i++) {
		for (uint16_t s = 0; s < b->nodes[i].n_rrsets; s++) {
			const dnsd_rrset_t *set = &b->nodes[i].rrsets[s];
			uint16_t at = set->type == DNSD_T_NS    ? 0
			              : set->type == DNSD_T_MX  ? 2
			              : set->type == DNSD_T_SRV ? 6
			                                        : DNSD_NO_NAME;
			for (uint16_t r = 0; at != DNSD_NO_NAME && r < set->count; r++) {
				dnsd_rec_t *rec = (dnsd_rec_t *)&set->rec[r];
				const uint8_t *rd = set->wire + rec->off + 10;
				size_t rdlen = rec->len - 10u;
				uint8_t target[AYA_DNAME_MAX];
				size_t tl = at < rdlen ? name_len_in(rd + at, rdlen - at) : 0;
				if (tl == 0) {
					continue;
				}
				memcpy(target, rd + at, tl);
				aya_dname_lower(target);
				const dnsd_node_t *t = node_find(b, target);
				if (t != NULL && (dnsd_node_rrset(t, DNSD_T_A) != NULL ||
				                  dnsd_node_rrset(t, DNSD_T_AAAA) != NULL)) {
					rec->add = t;
					rec->add_off = at;
				}
			}
		}
	}
}

/* The negative-answer SOA: TTL = min(SOA TTL, MINIMUM) (RFC 2308 3, 5). */
static int neg_soa_build(struct zbuild *b)
{
	const dnsd_rrset_t *soa = b->z->soa;
	dnsd_rrset_t *neg = aya_arena_memdup(b->a, soa, sizeof(*soa));
	uint8_t *wire = aya_arena_memdup(b->a, soa->wire, soa->wire_len);
	if (neg == NULL || wire == NULL) {
		return -ENOMEM;
	}
	uint16_t rdlen = dnsd_get16(wire + 8);
	if (rdlen < 20) {
		return fail(b->err, b->errlen, "zone %s: SOA RDATA too short", b->cz->name);
	}
	uint32_t minimum = dnsd_get32(wire + 10 + rdlen - 4);
	uint32_t ttl = dnsd_get32(wire + 4);
	dnsd_put32(wire + 4, minimum < ttl ? minimum : ttl);
	neg->wire = wire;
	b->z->neg_soa = neg;
	return 0;
}

/* ---------------------------------------------------------------- signing */

/* An RRset of n records of one type, TTL and owner from RDATAs, in the arena (no names). */
static dnsd_rrset_t *rrset_of(aya_arena_t *a, uint16_t type, uint32_t ttl, const uint8_t *const *rd,
                              const uint16_t *rdlen, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		len += 10 + (size_t)rdlen[i];
	}
	dnsd_rrset_t *set = aya_arena_alloc(a, sizeof(*set));
	uint8_t *wire = aya_arena_alloc(a, len);
	dnsd_rec_t *rec = aya_arena_alloc(a, n * sizeof(*rec));
	if (set == NULL || wire == NULL || rec == NULL || len > 65535) {
		return NULL;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		dnsd_put16(wire + off, type);
		dnsd_put16(wire + off + 2, DNSD_C_IN);
		dnsd_put32(wire + off + 4, ttl);
		dnsd_put16(wire + off + 8, rdlen[i]);
		memcpy(wire + off + 10, rd[i], rdlen[i]);
		rec[i] = (dnsd_rec_t){.off = (uint16_t)off, .len = (uint16_t)(10 + rdlen[i])};
		rec[i].name_off[0] = rec[i].name_off[1] = DNSD_NO_NAME;
		rec[i].name_sfx[0] = rec[i].name_sfx[1] = DNSD_NO_SFX;
		off += 10 + (size_t)rdlen[i];
	}
	set->type = type;
	set->count = (uint16_t)n;
	set->wire_len = (uint32_t)len;
	set->wire = wire;
	set->rec = rec;
	return set;
}

/* The RRSIG RRset of rq (one record per signing key). */
static const dnsd_rrset_t *sig_of(struct zbuild *b, const dnsd_zsign_t *zs, bool dnskey,
                                  const dnsd_sigreq_t *rq)
{
	uint8_t out[DNSD_SIGN_KEYS_MAX * (10 + DNSD_RRSIG_FIXED + AYA_DNAME_MAX + DNSD_SIG_LEN)];
	int len = dnsd_sign(zs, dnskey, rq, out, sizeof(out));
	if (len < 0) {
		fail(b->err, b->errlen, "zone %s: signing failed (%s)", b->cz->name,
		     len == -EIO ? "the crypto library refused" : "no memory");
		return NULL;
	}
	const uint8_t *rd[DNSD_SIGN_KEYS_MAX];
	uint16_t rdlen[DNSD_SIGN_KEYS_MAX];
	size_t n = 0;
	for (int off = 0; off < len; n++) {
		rdlen[n] = dnsd_get16(out + off + 8);
		rd[n] = out + off + 10;
		off += 10 + rdlen[n];
	}
	((dnsd_zsign_t *)zs)->signatures += n;
	return rrset_of(b->a, DNSD_T_RRSIG, rq->ttl, rd, rdlen, n);
}

/* Sign a static RRset owned by node. */
static int rrset_sign(struct zbuild *b, const dnsd_zsign_t *zs, const dnsd_node_t *node,
                      dnsd_rrset_t *set)
{
	const uint8_t **rd = malloc(set->count * sizeof(*rd));
	uint16_t *rdlen = malloc(set->count * sizeof(*rdlen));
	if (rd == NULL || rdlen == NULL) {
		free(rd);
		free(rdlen);
		return -ENOMEM;
	}
	for (uint16_t i = 0; i < set->count; i++) {
		rd[i] = set->wire + set->rec[i].off + 10;
		rdlen[i] = (uint16_t)(set->rec[i].len - 10u);
	}
	dnsd_sigreq_t rq = {.owner = node->name,
	                    .owner_len = node->name_len,
	                    .labels = dnsd_sig_labels(node->name),
	                    .type = set->type,
	                    .ttl = dnsd_get32(set->wire + 4),
	                    .rdata = rd,
	                    .rdlen = rdlen,
	                    .n = set->count};
	set->sig = sig_of(b, zs, set->type == DNSD_T_DNSKEY, &rq);
	free(rd);
	free(rdlen);
	return set->sig != NULL ? 0 : -EINVAL;
}

/* The node's NSEC (types[0..n) plus RRSIG NSEC) with its signature. */
static const dnsd_rrset_t *nsec_build(struct zbuild *b, const dnsd_zsign_t *zs,
                                      const dnsd_node_t *node, const uint16_t *types, size_t n)
{
	uint8_t rdata[AYA_DNAME_MAX + DNSD_NSEC_BITMAP_MAX];
	size_t len = dnsd_nsec_rdata(node->name, types, n, rdata, sizeof(rdata));
	if (len == 0) {
		return NULL; /* a name of 254-255 bytes has no \000 child: no NSEC, NODATA unproven
		              */
	}
	const uint8_t *rd[1] = {rdata};
	uint16_t rdlen[1] = {(uint16_t)len};
	uint32_t ttl = dnsd_get32(b->z->neg_soa->wire + 4); /* RFC 9077 */
	dnsd_rrset_t *set = rrset_of(b->a, DNSD_T_NSEC, ttl, rd, rdlen, 1);
	if (set == NULL) {
		return NULL;
	}
	dnsd_sigreq_t rq = {.owner = node->name,
	                    .owner_len = node->name_len,
	                    .labels = dnsd_sig_labels(node->name),
	                    .type = DNSD_T_NSEC,
	                    .ttl = ttl,
	                    .rdata = rd,
	                    .rdlen = rdlen,
	                    .n = 1};
	set->sig = sig_of(b, zs, false, &rq);
	return set->sig != NULL ? set : NULL;
}

/* The families of a service's endpoints. */
static void service_families(const cfg_service_t *svc, bool *v4, bool *v6)
{
	*v4 = *v6 = false;
	for (size_t p = 0; p < svc->n_pools; p++) {
		for (size_t e = 0; e < svc->pools[p].n_endpoints; e++) {
			*v4 |= svc->pools[p].endpoints[e].family == AF_INET;
			*v6 |= svc->pools[p].endpoints[e].family == AF_INET6;
		}
	}
}

/* Sign one set of a service's addresses into the zone's cache. */
static int svc_presign(struct zbuild *b, dnsd_zsign_t *zs, const dnsd_node_t *node, uint32_t ttl,
                       int family, const cfg_endpoint_t *const *eps, size_t n)
{
	const uint8_t *rd[POL_MAX_ANSWER];
	uint16_t rdlen[POL_MAX_ANSWER];
	if (n == 0 || n > POL_MAX_ANSWER) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		rd[i] = eps[i]->addr;
		rdlen[i] = family == AF_INET ? 4 : 16;
	}
	dnsd_sigreq_t rq = {.owner = node->name,
	                    .owner_len = node->name_len,
	                    .labels = dnsd_sig_labels(node->name),
	                    .type = family == AF_INET ? DNSD_T_A : DNSD_T_AAAA,
	                    .ttl = ttl,
	                    .rdata = rd,
	                    .rdlen = rdlen,
	                    .n = n};
	uint8_t key[DNSD_SIGKEY_MAX];
	uint64_t h;
	size_t klen = dnsd_sig_key(&rq, key, sizeof(key), &h);
	if (klen == 0 || dnsd_sigcache_find(&zs->sets, h, key, klen) != NULL) {
		return 0;
	}
	uint8_t out[DNSD_SIGN_KEYS_MAX * (10 + DNSD_RRSIG_FIXED + AYA_DNAME_MAX + DNSD_SIG_LEN)];
	int len = dnsd_sign(zs, false, &rq, out, sizeof(out));
	if (len < 0) {
		return fail(b->err, b->errlen, "zone %s: signing failed", b->cz->name);
	}
	(void)dnsd_sigcache_put(&zs->sets, h, key, klen, out, (size_t)len, zs->n_zsk);
	zs->signatures += zs->n_zsk;
	return 0;
}

/* The most addresses one answer of the service has: the smallest first_n of its chain. */
static size_t svc_answer_max(const cfg_service_t *svc)
{
	const cfg_filter_t *chain = svc->n_policy > 0 ? svc->policy : cfg_default_chain;
	size_t n = svc->n_policy > 0 ? svc->n_policy : cfg_default_chain_len;
	size_t k = POL_MAX_ANSWER;
	for (size_t i = 0; i < n; i++) {
		if (chain[i].kind == CFG_FILTER_FIRST_N) {
			size_t m = chain[i].n != 0 ? chain[i].n
			                           : cfg_filter_info[CFG_FILTER_FIRST_N].arg_dflt;
			k = m < k ? m : k;
		}
	}
	return k;
}

/* Subsets of 1..k of n items, or SIZE_MAX when above limit. */
static size_t subsets(size_t n, size_t k, size_t limit)
{
	size_t total = 0, c = 1;
	for (size_t j = 1; j <= k && j <= n; j++) {
		if (c > SIZE_MAX / n) {
			return SIZE_MAX;
		}
		c = c * (n - j + 1) / j; /* C(n, j), exact: C(n, j-1) * (n-j+1) is divisible by j */
		total += c;
		if (total > limit) {
			return SIZE_MAX;
		}
	}
	return total;
}

#define PRESIGN_MAX 4096 /* address RRsets signed ahead per service and family */

/*
 * Every address RRset the service can answer with is signed now, so that
 * steady-state answers hit the cache: all subsets of up to first_n of its
 * endpoints of each family when there are at most PRESIGN_MAX, else each
 * endpoint alone, each pool's set and the whole service's (fail open). Other
 * combinations are signed the first time they are asked for.
 */
static int svc_presign_all(struct zbuild *b, dnsd_zsign_t *zs, const cfg_service_t *svc,
                           const dnsd_node_t *node)
{
	static const int fams[] = {AF_INET, AF_INET6};
	const cfg_endpoint_t *all[POL_MAX_ENDPOINTS];
	const cfg_endpoint_t *eps[POL_MAX_ANSWER];
	size_t kmax = svc_answer_max(svc);
	int rc = 0;
	for (size_t f = 0; f < AYA_ARRAY_LEN(fams) && rc == 0; f++) {
		size_t n = 0;
		for (size_t p = 0; p < svc->n_pools; p++) {
			for (size_t e = 0; e < svc->pools[p].n_endpoints && n < POL_MAX_ENDPOINTS;
			     e++) {
				if (svc->pools[p].endpoints[e].family == fams[f]) {
					all[n++] = &svc->pools[p].endpoints[e];
				}
			}
		}
		size_t k = kmax < n ? kmax : n;
		if (n > 0 && subsets(n, k, PRESIGN_MAX) != SIZE_MAX) {
			/* Each combination of j of n, j = 1..k, in lexicographic order of indexes.
			 */
			for (size_t j = 1; j <= k && rc == 0; j++) {
				size_t idx[POL_MAX_ANSWER];
				for (size_t i = 0; i < j; i++) {
					idx[i] = i;
				}
				for (;;) {
					for (size_t i = 0; i < j; i++) {
						eps[i] = all[idx[i]];
					}
					rc = svc_presign(b, zs, node, svc->ttl_s, fams[f], eps, j);
					size_t i = j;
					while (i > 0 && idx[i - 1] == n - j + i - 1) {
						i--;
					}
					if (i == 0 || rc != 0) {
						break;
					}
					idx[i - 1]++;
					for (size_t m = i; m < j; m++) {
						idx[m] = idx[m - 1] + 1;
					}
				}
			}
			if (rc == 0 && n <= POL_MAX_ANSWER && n > k) {
				rc = svc_presign(b, zs, node, svc->ttl_s, fams[f], all,
				                 n); /* fail open */
			}
			continue;
		}
		for (size_t i = 0; i < n && rc == 0; i++) {
			rc = svc_presign(b, zs, node, svc->ttl_s, fams[f], &all[i], 1);
		}
		for (size_t p = 0; p < svc->n_pools && rc == 0; p++) {
			size_t m = 0;
			for (size_t e = 0; e < svc->pools[p].n_endpoints && m < POL_MAX_ANSWER;
			     e++) {
				if (svc->pools[p].endpoints[e].family == fams[f]) {
					eps[m++] = &svc->pools[p].endpoints[e];
				}
			}
			rc = m > 1 ? svc_presign(b, zs, node, svc->ttl_s, fams[f], eps, m) : 0;
		}
		if (rc == 0 && n > 1 && n <= POL_MAX_ANSWER) {
			rc = svc_presign(b, zs, node, svc->ttl_s, fams[f], all, n);
		}
	}
	return rc;
}

/* The DNSKEY RRset, appended to the apex node's RRsets. */
static int dnskey_add(struct zbuild *b, const dnsd_keyset_t *ks, uint32_t ttl)
{
	dnsd_node_t *apex = (dnsd_node_t *)b->z->apex_node;
	const uint8_t **rd = malloc((ks->n + 1) * sizeof(*rd));
	uint16_t *rdlen = malloc((ks->n + 1) * sizeof(*rdlen));
	dnsd_rrset_t *sets = aya_arena_alloc(b->a, ((size_t)apex->n_rrsets + 1) * sizeof(*sets));
	if (rd == NULL || rdlen == NULL || sets == NULL) {
		free(rd);
		free(rdlen);
		return -ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < ks->n; i++) {
		if (ks->keys[i].info.algorithm == ks->algorithm) {
			rd[n] = ks->keys[i].rdata;
			rdlen[n++] = ks->keys[i].rdlen;
		}
	}
	dnsd_rrset_t *set = n > 0 ? rrset_of(b->a, DNSD_T_DNSKEY, ttl, rd, rdlen, n) : NULL;
	free(rd);
	free(rdlen);
	if (set == NULL) {
		return n > 0 ? -ENOMEM
		             : fail(b->err, b->errlen, "zone %s: no DNSSEC key", b->cz->name);
	}
	memcpy(sets, apex->rrsets, apex->n_rrsets * sizeof(*sets));
	sets[apex->n_rrsets] = *set;
	apex->rrsets = sets;
	apex->n_rrsets++;
	b->z->records += n;
	return 0;
}

/* The types an NSEC of the node lists (without RRSIG and NSEC); services with_addr: A/AAAA. */
static size_t node_types(const struct zbuild *b, const dnsd_node_t *node, bool with_addr,
                         uint16_t *t, size_t max)
{
	size_t k = 0;
	for (uint16_t i = 0; i < node->n_rrsets && k < max; i++) {
		t[k++] = node->rrsets[i].type;
	}
	if ((node->flags & DNSD_NODE_SERVICE) && with_addr) {
		const cfg_service_t *svc = &b->cz->services[node->svc_idx - b->svc_base];
		bool v4, v6;
		service_families(svc, &v4, &v6);
		if (v4 && k < max) {
			t[k++] = DNSD_T_A;
		}
		if (v6 && k < max) {
			t[k++] = DNSD_T_AAAA;
		}
	}
	return k;
}

static int neg_soa_sign(struct zbuild *b);

/*
 * Sign the zone: the DNSKEY RRset (KSK-role keys), every authoritative RRset
 * (not NS at a cut nor anything below one), each node's NSEC, the negative
 * SOA, and the services' address sets into the cache.
 */
static int zone_sign(struct zbuild *b, const dnsd_keyset_t *ks, uint64_t now_s)
{
	const cfg_dnssec_t *d = &b->cz->dnssec;
	dnsd_zsign_t *zs = aya_arena_alloc(b->a, sizeof(*zs));
	if (zs == NULL) {
		return -ENOMEM;
	}
	char why[160];
	uint32_t lifetime = d->signature_lifetime_s != 0 ? d->signature_lifetime_s : 14 * 86400;
	uint32_t dnskey_ttl = d->dnskey_ttl_s != 0 ? d->dnskey_ttl_s : 3600;
	int rc = dnsd_zsign_init(zs, ks, b->z->apex, b->z->apex_len, now_s, lifetime, dnskey_ttl,
	                         why, sizeof(why));
	if (rc != 0) {
		return rc == -EINVAL ? fail(b->err, b->errlen, "zone %s: %s", b->cz->name, why)
		                     : rc;
	}
	b->z->sign = zs;
	rc = dnskey_add(b, ks, dnskey_ttl);
	for (size_t i = 0; i < b->n_nodes && rc == 0; i++) {
		dnsd_node_t *node = &b->nodes[i];
		if (node->cut != NULL) {
			continue; /* below a cut: glue or occluded, not ours to sign */
		}
		bool deleg = (node->flags & DNSD_NODE_DELEG) != 0;
		for (uint16_t k = 0; k < node->n_rrsets && rc == 0; k++) {
			dnsd_rrset_t *set = (dnsd_rrset_t *)&node->rrsets[k];
			if (deleg && set->type != DNSD_T_DS) {
				continue; /* the cut's NS belongs to the child (RFC 4035 2.2) */
			}
			rc = rrset_sign(b, zs, node, set);
		}
		uint16_t t[512];
		size_t n = node_types(b, node, true, t, AYA_ARRAY_LEN(t));
		if (rc == 0) {
			node->nsec = nsec_build(b, zs, node, t, n);
			rc = node->nsec != NULL || node->name_len + 2 > AYA_DNAME_MAX ? 0 : -ENOMEM;
		}
		if (rc == 0 && (node->flags & DNSD_NODE_SERVICE)) {
			n = node_types(b, node, false, t, AYA_ARRAY_LEN(t));
			node->nsec_empty = nsec_build(b, zs, node, t, n);
			rc = node->nsec_empty != NULL || node->name_len + 2 > AYA_DNAME_MAX
			             ? 0
			             : -ENOMEM;
			const cfg_service_t *svc = &b->cz->services[node->svc_idx - b->svc_base];
			if (rc == 0) {
				rc = svc_presign_all(b, zs, svc, node);
			}
		}
	}
	if (rc != 0) {
		return rc;
	}
	b->z->soa = dnsd_node_rrset(b->z->apex_node, DNSD_T_SOA);
	return neg_soa_sign(b);
}

/* The negative SOA gets the SOA's signature (its original TTL is the SOA's), at its own TTL. */
static int neg_soa_sign(struct zbuild *b)
{
	const dnsd_rrset_t *sig = b->z->soa->sig;
	dnsd_rrset_t *neg = (dnsd_rrset_t *)b->z->neg_soa;
	if (sig == NULL) {
		return fail(b->err, b->errlen, "zone %s: the SOA has no RRSIG", b->cz->name);
	}
	dnsd_rrset_t *nsig = aya_arena_memdup(b->a, sig, sizeof(*sig));
	uint8_t *wire = aya_arena_memdup(b->a, sig->wire, sig->wire_len);
	if (nsig == NULL || wire == NULL) {
		return -ENOMEM;
	}
	for (uint16_t i = 0; i < nsig->count; i++) {
		dnsd_put32(wire + nsig->rec[i].off + 4, dnsd_get32(neg->wire + 4));
	}
	nsig->wire = wire;
	neg->sig = nsig;
	return 0;
}

static bool is_dnssec_type(uint16_t t)
{
	return t == DNSD_T_RRSIG || t == DNSD_T_NSEC || t == DNSD_T_DNSKEY || t == 50 /* NSEC3 */ ||
	       t == 51 /* NSEC3PARAM */;
}

/* Does the zone file carry DNSSEC records (a zone signed elsewhere)? */
static bool zone_has_dnssec(const struct zbuild *b)
{
	for (size_t i = 0; i < b->n_nodes; i++) {
		for (uint16_t k = 0; k < b->nodes[i].n_rrsets; k++) {
			if (is_dnssec_type(b->nodes[i].rrsets[k].type)) {
				return true;
			}
		}
	}
	return false;
}

static int chain_cmp(const void *pa, const void *pb)
{
	const dnsd_node_t *a = *(const dnsd_node_t *const *)pa;
	const dnsd_node_t *b = *(const dnsd_node_t *const *)pb;
	return dnsd_canon_cmp(a->name, b->name);
}

/*
 * A pre-signed zone (RRSIGs in the zone file, signed by another tool): each
 * RRset gets the RRSIGs of its owner that cover its type, each node its NSEC,
 * and the NSEC chain is sorted for NXDOMAIN and wildcard proofs. Served as
 * is: re-signing before the signatures expire is the signer's job. NSEC3
 * zones and services (their answers cannot be signed here) are refused.
 */
static int zone_presigned(struct zbuild *b)
{
	size_t chain = 0;
	for (size_t i = 0; i < b->n_nodes; i++) {
		dnsd_node_t *node = &b->nodes[i];
		const dnsd_rrset_t *sigs = dnsd_node_rrset(node, DNSD_T_RRSIG);
		if (dnsd_node_rrset(node, 50) != NULL) {
			return fail(b->err, b->errlen,
			            "zone %s: NSEC3 zones cannot be served pre-signed; sign it "
			            "with NSEC, or use dnssec: to sign online",
			            b->cz->name);
		}
		for (uint16_t k = 0; k < node->n_rrsets && sigs != NULL; k++) {
			dnsd_rrset_t *set = (dnsd_rrset_t *)&node->rrsets[k];
			if (set->type == DNSD_T_RRSIG) {
				continue;
			}
			const uint8_t *rd[DNSD_SIGN_KEYS_MAX * 2];
			uint16_t rdlen[DNSD_SIGN_KEYS_MAX * 2];
			size_t n = 0;
			for (uint16_t r = 0; r < sigs->count && n < AYA_ARRAY_LEN(rd); r++) {
				const uint8_t *p = sigs->wire + sigs->rec[r].off + 10;
				uint16_t len = (uint16_t)(sigs->rec[r].len - 10u);
				if (len >= 2 && dnsd_get16(p) == set->type) {
					rd[n] = p;
					rdlen[n++] = len;
				}
			}
			if (n > 0) {
				set->sig = rrset_of(b->a, DNSD_T_RRSIG, dnsd_get32(set->wire + 4),
				                    rd, rdlen, n);
				if (set->sig == NULL) {
					return -ENOMEM;
				}
			}
		}
		node->nsec = dnsd_node_rrset(node, DNSD_T_NSEC);
		chain += node->nsec != NULL && node->cut == NULL;
	}
	if (b->cz->n_services > 0) {
		return fail(
		        b->err, b->errlen,
		        "zone %s: the zone file is signed (RRSIG records) but has services, whose "
		        "answers only ayad can sign: use dnssec: and an unsigned zone file",
		        b->cz->name);
	}
	const dnsd_node_t **c = aya_arena_alloc(b->a, (chain + 1) * sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	size_t k = 0;
	for (size_t i = 0; i < b->n_nodes; i++) {
		if (b->nodes[i].nsec != NULL && b->nodes[i].cut == NULL) {
			c[k++] = &b->nodes[i];
		}
	}
	qsort(c, k, sizeof(*c), chain_cmp);
	if (k == 0 || c[0] != b->z->apex_node) {
		return fail(b->err, b->errlen,
		            "zone %s: the zone file has RRSIGs but no NSEC at the apex: serve it "
		            "unsigned, sign it with NSEC, or use dnssec:",
		            b->cz->name);
	}
	b->z->nsec_chain = c;
	b->z->n_nsec_chain = k;
	return neg_soa_sign(b);
}

static int zone_build(aya_arena_t *a, const cfg_zone_t *cz, size_t svc_base, size_t pool_base,
                      bool signing, const dnsd_keyset_t *ks, uint64_t now_s, dnsd_zone_t *z,
                      char *err, size_t errlen)
{
	struct zbuild b = {.a = a,
	                   .cz = cz,
	                   .svc_base = svc_base,
	                   .pool_base = pool_base,
	                   .z = z,
	                   .err = err,
	                   .errlen = errlen};
	size_t apex_len = aya_dname_len(cz->apex);
	z->name = aya_arena_strdup(a, cz->name);
	uint8_t *apex = aya_arena_memdup(a, cz->apex, apex_len);
	if (z->name == NULL || apex == NULL) {
		return -ENOMEM;
	}
	aya_dname_lower(apex);
	z->apex = apex;
	z->apex_len = (uint8_t)apex_len;
	z->apex_labels = (uint8_t)aya_dname_labels(apex);
	z->serial = cz->serial;
	if (cz->n_rrs == 0 || cz->rrs[0].type != DNSD_T_SOA ||
	    !aya_dname_equal(cz->rrs[0].owner, apex)) {
		return fail(err, errlen, "zone %s: the first record must be the apex SOA",
		            cz->name);
	}
	const cfg_rr_t **sorted = malloc(cz->n_rrs * sizeof(*sorted));
	if (sorted == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < cz->n_rrs; i++) {
		sorted[i] = &cz->rrs[i];
	}
	qsort(sorted, cz->n_rrs, sizeof(*sorted), rr_cmp);
	int rc = nodes_build(&b, sorted, cz->n_rrs);
	free(sorted);
	if (rc != 0) {
		return rc;
	}
	nodes_link(&b);
	z->nodes = b.nodes;
	z->n_nodes = b.n_nodes;
	z->names = (dnsd_htab_t){.slot = b.slot, .hash = b.hash, .mask = b.mask};
	z->apex_node = node_find(&b, apex);
	z->soa = dnsd_node_rrset(z->apex_node, DNSD_T_SOA);
	if (z->soa == NULL || z->soa->count != 1) {
		return fail(err, errlen, "zone %s: exactly one SOA expected", cz->name);
	}
	if (cz->n_xfr_allow > 0) {
		z->xfr_allow = aya_arena_memdup(a, cz->xfr_allow,
		                                cz->n_xfr_allow * sizeof(*cz->xfr_allow));
		if (z->xfr_allow == NULL) {
			return -ENOMEM;
		}
		z->n_xfr_allow = cz->n_xfr_allow;
	}
	rc = neg_soa_build(&b);
	bool presigned = rc == 0 && zone_has_dnssec(&b);
	if (rc == 0 && presigned && cz->dnssec.enabled) {
		rc = fail(err, errlen,
		          "zone %s: dnssec: signs the zone online, but its file already has DNSSEC "
		          "records (RRSIG, NSEC, DNSKEY): remove them or remove dnssec:",
		          cz->name);
	} else if (rc == 0 && ks != NULL) {
		rc = zone_sign(&b, ks, now_s);
	} else if (rc == 0 && cz->dnssec.enabled && signing) {
		rc = fail(err, errlen, "zone %s: dnssec is on but no keys were loaded", cz->name);
	} else if (rc == 0 && presigned && dnsd_node_rrset(b.z->apex_node, DNSD_T_RRSIG) != NULL) {
		rc = zone_presigned(&b);
	}
	return rc;
}

/* Apex -> zone table; two zones with one apex are a configuration error. */
static int apexes_build(dnsd_snap_t *s, char *err, size_t errlen)
{
	uint32_t size = table_size(s->n_zones);
	s->apexes.mask = size - 1;
	s->apexes.slot = aya_arena_alloc(s->arena, size * sizeof(*s->apexes.slot));
	s->apexes.hash = aya_arena_alloc(s->arena, size * sizeof(*s->apexes.hash));
	s->zone_of = aya_arena_alloc(s->arena, size * sizeof(*s->zone_of));
	if (s->apexes.slot == NULL || s->apexes.hash == NULL || s->zone_of == NULL) {
		return -ENOMEM;
	}
	s->apex_min_labels = UINT8_MAX;
	s->apex_max_labels = 0;
	for (size_t i = 0; i < s->n_zones; i++) {
		const dnsd_zone_t *z = &s->zones[i];
		uint32_t h = dnsd_name_hash(z->apex, z->apex_len);
		if (z->apex_labels < s->apex_min_labels) {
			s->apex_min_labels = z->apex_labels;
		}
		if (z->apex_labels > s->apex_max_labels) {
			s->apex_max_labels = z->apex_labels;
		}
		if (dnsd_htab_find(&s->apexes, z->apex, z->apex_len, h) >= 0) {
			return fail(err, errlen, "zone %s: defined twice", z->name);
		}
		uint32_t k = h & s->apexes.mask;
		while (s->apexes.slot[k] != NULL) {
			k = (k + 1) & s->apexes.mask;
		}
		s->apexes.slot[k] = z->apex_node;
		s->apexes.hash[k] = h;
		s->zone_of[k] = z;
	}
	return 0;
}

/* A TXT RDATA string (<= 255 bytes) of s, in the arena. */
static const uint8_t *txt_dup(aya_arena_t *a, const char *s, uint8_t *len)
{
	size_t n = strlen(s);
	*len = (uint8_t)(n > 255 ? 255 : n);
	return aya_arena_memdup(a, s, n > 0 ? *len : 1);
}

/* dns.rrl into the snapshot; the exempt prefixes copied into its arena. */
static int rrl_build(dnsd_snap_t *s, const cfg_rrl_t *c)
{
	dnsd_rrl_conf_t *r = &s->rrl;
	r->on = c->enabled && c->responses_per_second > 0;
	r->rate = c->responses_per_second;
	r->slip = c->slip;
	r->window = c->window_s > 0 ? c->window_s : 15;
	r->v4_prefix = (uint8_t)(c->ipv4_prefix > 32 ? 32 : c->ipv4_prefix);
	r->v6_prefix = (uint8_t)(c->ipv6_prefix > 128 ? 128 : c->ipv6_prefix);
	if (c->n_exempt > 0) {
		r->exempt = aya_arena_memdup(s->arena, c->exempt, c->n_exempt * sizeof(*c->exempt));
		if (r->exempt == NULL) {
			return -ENOMEM;
		}
		r->n_exempt = c->n_exempt;
	}
	return 0;
}

static int settings_build(dnsd_snap_t *s, const cfg_t *cfg, const uint8_t *secret, char *err,
                          size_t errlen)
{
	uint16_t mu = cfg->dns.max_udp_payload != 0 ? cfg->dns.max_udp_payload : 1232;
	s->max_udp = mu < 512 ? 512 : mu;
	const char *node = cfg->node.name != NULL ? cfg->node.name : "";
	const char *nsid = cfg->dns.nsid != NULL ? cfg->dns.nsid : node;
	s->host = txt_dup(s->arena, node, &s->host_len);
	s->ident = txt_dup(s->arena, nsid[0] != '\0' ? nsid : node, &s->ident_len);
	if (s->host == NULL || s->ident == NULL) {
		return -ENOMEM;
	}
	if (nsid[0] != '\0') {
		size_t n = strlen(nsid);
		s->nsid_len = (uint16_t)(n > 512 ? 512 : n);
		s->nsid = aya_arena_memdup(s->arena, nsid, s->nsid_len);
		if (s->nsid == NULL) {
			return -ENOMEM;
		}
	}
	s->cookies = cfg->dns.cookies;
	if (cfg->dns.cookie_secret_set) {
		memcpy(s->cookie_secret, cfg->dns.cookie_secret, sizeof(s->cookie_secret));
	} else if (secret != NULL) {
		memcpy(s->cookie_secret, secret, sizeof(s->cookie_secret));
	} else if (s->cookies) {
		return fail(err, errlen, "dns: cookies enabled but no cookie secret");
	}
	return rrl_build(s, &cfg->dns.rrl);
}

/* TSIG keys, secrets copied into the snapshot's arena. */
static int keys_build(dnsd_snap_t *s, const cfg_t *cfg)
{
	if (cfg->n_keys == 0) {
		return 0;
	}
	dnsd_tsig_key_t *keys = aya_arena_alloc(s->arena, cfg->n_keys * sizeof(*keys));
	if (keys == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_keys; i++) {
		const cfg_key_t *ck = &cfg->keys[i];
		size_t len = aya_dname_len(ck->owner);
		keys[i].name = aya_arena_memdup(s->arena, ck->owner, len);
		keys[i].name_len = (uint8_t)len;
		keys[i].alg = ck->alg;
		keys[i].secret = aya_arena_memdup(s->arena, ck->secret, ck->secret_len);
		keys[i].secret_len = ck->secret_len;
		if (keys[i].name == NULL || keys[i].secret == NULL) {
			return -ENOMEM;
		}
	}
	s->keys = keys;
	s->n_keys = cfg->n_keys;
	return 0;
}

/* allow_transfer entries naming keys, pointing at the snapshot's copies of the keys. */
static int acl_build(dnsd_snap_t *s, const cfg_zone_t *cz, dnsd_zone_t *z)
{
	if (cz->n_xfr_acl == 0) {
		return 0;
	}
	dnsd_xfr_acl_t *acl = aya_arena_alloc(s->arena, cz->n_xfr_acl * sizeof(*acl));
	if (acl == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < cz->n_xfr_acl; i++) {
		const cfg_xfr_acl_t *c = &cz->xfr_acl[i];
		AYA_BUG_ON(c->key != CFG_NO_KEY && c->key >= s->n_keys);
		acl[i].key = c->key != CFG_NO_KEY ? &s->keys[c->key] : NULL;
		acl[i].any_addr = c->any_addr;
		acl[i].prefix = c->prefix;
	}
	z->xfr_acl = acl;
	z->n_xfr_acl = cz->n_xfr_acl;
	return 0;
}

static void zones_fini(dnsd_zone_t *zones, size_t n)
{
	for (size_t i = 0; zones != NULL && i < n; i++) {
		dnsd_zsign_fini(zones[i].sign);
	}
}

static int snap_build(const cfg_t *cfg, const uint8_t *cookie_secret, dnsd_keyset_t *const *keys,
                      uint64_t now_s, dnsd_snap_t **out, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	aya_arena_t *a = aya_arena_new();
	dnsd_snap_t *s = a != NULL ? aya_arena_alloc(a, sizeof(*s)) : NULL;
	dnsd_zone_t *zones = NULL;
	int rc = -ENOMEM;
	if (s == NULL) {
		goto fail;
	}
	s->arena = a;
	rc = settings_build(s, cfg, cookie_secret, err, errlen);
	if (rc != 0) {
		goto fail;
	}
	rc = keys_build(s, cfg);
	if (rc != 0) {
		goto fail;
	}
	rc = -ENOMEM;
	zones = aya_arena_alloc(a, (cfg->n_zones + 1) * sizeof(*zones));
	if (zones == NULL) {
		goto fail;
	}
	for (size_t i = 0, svc_base = 0, pool_base = 0; i < cfg->n_zones; i++) {
		rc = zone_build(a, &cfg->zones[i], svc_base, pool_base, keys != NULL,
		                keys != NULL ? keys[i] : NULL, now_s, &zones[i], err, errlen);
		if (rc == 0) {
			rc = acl_build(s, &cfg->zones[i], &zones[i]);
		}
		if (rc != 0) {
			goto fail;
		}
		svc_base += cfg->zones[i].n_services;
		for (size_t k = 0; k < cfg->zones[i].n_services; k++) {
			pool_base += cfg->zones[i].services[k].n_pools;
		}
	}
	s->zones = zones;
	s->n_zones = cfg->n_zones;
	rc = apexes_build(s, err, errlen);
	if (rc != 0) {
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (rc == -ENOMEM && err[0] == '\0') {
		snprintf(err, errlen, "dnsd: out of memory building the snapshot");
	}
	zones_fini(zones, cfg->n_zones);
	aya_arena_free(a);
	return rc;
}

int dnsd_snap_build(const cfg_t *cfg, const uint8_t *cookie_secret, dnsd_snap_t **out, char *err,
                    size_t errlen)
{
	return snap_build(cfg, cookie_secret, NULL, 0, out, err, errlen);
}

int dnsd_snap_build_signed(const cfg_t *cfg, const uint8_t *cookie_secret,
                           dnsd_keyset_t *const *keys, uint64_t now_s, dnsd_snap_t **out, char *err,
                           size_t errlen)
{
	return snap_build(cfg, cookie_secret, keys, now_s, out, err, errlen);
}

void dnsd_snap_free(dnsd_snap_t *snap)
{
	if (snap == NULL) {
		return;
	}
	zones_fini((dnsd_zone_t *)snap->zones, snap->n_zones);
	aya_arena_free(snap->arena);
}

uint64_t dnsd_snap_sig_expiry(const dnsd_snap_t *snap)
{
	uint64_t min = 0;
	for (size_t i = 0; i < snap->n_zones; i++) {
		const dnsd_zsign_t *zs = snap->zones[i].sign;
		if (zs != NULL && (min == 0 || zs->expiration < min)) {
			min = zs->expiration;
		}
	}
	return min;
}

size_t dnsd_snap_zone_count(const dnsd_snap_t *snap)
{
	return snap->n_zones;
}

void dnsd_snap_zone_info(const dnsd_snap_t *snap, size_t i, dnsd_zone_info_t *out)
{
	const dnsd_zone_t *z = &snap->zones[i];
	out->name = z->name;
	out->serial = z->serial;
	out->records = z->records;
	out->is_signed = z->sign != NULL || z->nsec_chain != NULL;
	out->sig_expiry = z->sign != NULL ? z->sign->expiration : 0;
	out->signatures = z->sign != NULL ? z->sign->signatures : 0;
}

size_t dnsd_snap_bytes(const dnsd_snap_t *snap)
{
	return aya_arena_used(snap->arena);
}
