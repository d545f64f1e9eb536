/*
 * The snapshot compiler's DNSSEC part (see snap.c for the rest): a zone
 * with dnssec: signed at build (RRSIGs precomputed in wire form beside the
 * RRsets, the DNSKEY RRset, each node's compact-denial NSEC, every address
 * set a service can answer with into the zone's signature cache), and a zone
 * file signed elsewhere attached as is (RRSIGs onto the RRsets they cover,
 * the NSEC chain in canonical order). Control thread; allocates freely.
 */
#include "dnsd/snap_build_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/dname.h"
#include "dnsd/dnssec_int.h"
#include "dnsd/keys_int.h"
#include "dnsd/wire_int.h"

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
		dnsd_build_fail(b->err, b->errlen, "zone %s: signing failed (%s)", b->cz->name,
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
		return dnsd_build_fail(b->err, b->errlen, "zone %s: signing failed", b->cz->name);
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
		             : dnsd_build_fail(b->err, b->errlen, "zone %s: no DNSSEC key",
		                               b->cz->name);
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
int dnsd_zone_sign(struct zbuild *b, const dnsd_keyset_t *ks, uint64_t now_s)
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
		return rc == -EINVAL
		               ? dnsd_build_fail(b->err, b->errlen, "zone %s: %s", b->cz->name, why)
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
		return dnsd_build_fail(b->err, b->errlen, "zone %s: the SOA has no RRSIG",
		                       b->cz->name);
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
bool dnsd_zone_has_dnssec(const struct zbuild *b)
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
int dnsd_zone_presigned(struct zbuild *b)
{
	size_t chain = 0;
	for (size_t i = 0; i < b->n_nodes; i++) {
		dnsd_node_t *node = &b->nodes[i];
		const dnsd_rrset_t *sigs = dnsd_node_rrset(node, DNSD_T_RRSIG);
		if (dnsd_node_rrset(node, 50) != NULL) {
			return dnsd_build_fail(
			        b->err, b->errlen,
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
		return dnsd_build_fail(
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
		return dnsd_build_fail(
		        b->err, b->errlen,
		        "zone %s: the zone file has RRSIGs but no NSEC at the apex: serve it "
		        "unsigned, sign it with NSEC, or use dnssec:",
		        b->cz->name);
	}
	b->z->nsec_chain = c;
	b->z->n_nsec_chain = k;
	return neg_soa_sign(b);
}
