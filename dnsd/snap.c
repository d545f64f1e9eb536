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
#include "dnsd/snap_build_int.h"
#include "dnsd/snap_int.h"
#include "dnsd/wire_int.h"

int dnsd_build_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
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
		size_t nl = dnsd_name_len_in(rd + off, rdlen - off);
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
		return dnsd_build_fail(b->err, b->errlen, "zone %s: RRset of type %u too large",
		                       b->cz->name, rrs[0]->type);
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
				return dnsd_build_fail(
				        b->err, b->errlen,
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
			return dnsd_build_fail(b->err, b->errlen,
			                       "zone %s: line %u: owner outside the zone",
			                       b->cz->name, rr->line);
		}
		cap += aya_dname_labels(rr->owner) - b->z->apex_labels + 1;
	}
	for (size_t i = 0; i < b->cz->n_services; i++) {
		const uint8_t *owner = b->cz->services[i].owner;
		if (!aya_dname_is_sub(owner, apex)) {
			return dnsd_build_fail(b->err, b->errlen,
			                       "zone %s: service %s outside the zone", b->cz->name,
			                       b->cz->services[i].name);
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
				size_t tl = at < rdlen ? dnsd_name_len_in(rd + at, rdlen - at) : 0;
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
		return dnsd_build_fail(b->err, b->errlen, "zone %s: SOA RDATA too short",
		                       b->cz->name);
	}
	uint32_t minimum = dnsd_get32(wire + 10 + rdlen - 4);
	uint32_t ttl = dnsd_get32(wire + 4);
	dnsd_put32(wire + 4, minimum < ttl ? minimum : ttl);
	neg->wire = wire;
	b->z->neg_soa = neg;
	return 0;
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
		return dnsd_build_fail(err, errlen,
		                       "zone %s: the first record must be the apex SOA", cz->name);
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
		return dnsd_build_fail(err, errlen, "zone %s: exactly one SOA expected", cz->name);
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
	bool presigned = rc == 0 && dnsd_zone_has_dnssec(&b);
	if (rc == 0 && presigned && cz->dnssec.enabled) {
		rc = dnsd_build_fail(
		        err, errlen,
		        "zone %s: dnssec: signs the zone online, but its file already has DNSSEC "
		        "records (RRSIG, NSEC, DNSKEY): remove them or remove dnssec:",
		        cz->name);
	} else if (rc == 0 && ks != NULL) {
		rc = dnsd_zone_sign(&b, ks, now_s);
	} else if (rc == 0 && cz->dnssec.enabled && signing) {
		rc = dnsd_build_fail(err, errlen, "zone %s: dnssec is on but no keys were loaded",
		                     cz->name);
	} else if (rc == 0 && presigned && dnsd_node_rrset(b.z->apex_node, DNSD_T_RRSIG) != NULL) {
		rc = dnsd_zone_presigned(&b);
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
			return dnsd_build_fail(err, errlen, "zone %s: defined twice", z->name);
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
		return dnsd_build_fail(err, errlen, "dns: cookies enabled but no cookie secret");
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
