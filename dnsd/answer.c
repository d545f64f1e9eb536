/*
 * The answer engine: one query in, one response out, on the caller's buffers
 * (model: gdnsd dnspacket.c). No allocation, lock, log or syscall: the
 * per-query state lives in the dnsd_ctx_t, the response is built with a
 * bounds-checked write cursor, the cookie clock is the vDSO coarse clock.
 * One exception: a DNSSEC signature missing from the zone's cache is made
 * on the spot (dnssec.c allocates for it), once per distinct RRset.
 *
 * Policy choices (see also cookie.c and edns.c):
 *  - Bytes after the records the header declares are ignored (robustness).
 *  - The question may not contain compression pointers (FORMERR); records in
 *    the answer and authority sections of a query are skipped.
 *  - Classes other than IN and CH are REFUSED; so are names outside every
 *    zone (never an open resolver) and CHAOS names other than id.server and
 *    hostname.bind.
 *  - ANY (RFC 8482 4.1): one RRset, the smallest of the node (precomputed);
 *    at a CNAME node, the CNAME (not followed).
 *  - CNAMEs are followed inside the zone of the query only, at most
 *    CNAME_MAX hops; a loop ends the chain.
 *  - AXFR/IXFR: REFUSED unless the qname is the apex and the client
 *    matches the zone's xfr_allow (an address prefix) or an xfr_acl entry
 *    (its key signed the query, see tsig.c, and its prefix, if any,
 *    matches). Over TCP: AXFR (and IXFR, answered as a full transfer, RFC
 *    1995 4) in as many messages as needed (dnsd_answer_more; each repeats
 *    the question and, for a signed query, is signed, RFC 8945 5.3.1).
 *    Over UDP: AXFR is FORMERR (RFC 5936 4.2 defines none), IXFR gets the
 *    SOA alone (RFC 1995 2: "the server's current version").
 *  - TSIG (tsig.c): a query whose last record is a TSIG RR takes the slow
 *    path: verified before anything else, its reply (whatever the rcode)
 *    signed or, for BADKEY/BADSIG, carrying an unsigned TSIG RR. Room for
 *    that RR is reserved like the OPT record's. Queries without TSIG pay
 *    one pointer test.
 *  - A UDP response that does not fit gets TC=1 with header, question and
 *    OPT only; over TCP, SERVFAIL. Additional A/AAAA for NS/MX/SRV targets
 *    are dropped when they do not fit, except referral glue (RFC 9471).
 *
 * DNSSEC (a DO query to a zone with dnssec:, or to a pre-signed zone file):
 *  - every RRset of the answer and authority sections gets its RRSIGs: the
 *    snapshot's for static RRsets, the zone's cache (dnssec_int.h) for those
 *    chosen per query: service addresses (signed as owned by the service's
 *    name), wildcard expansions (signed at the qname, Labels = its labels);
 *  - denial is compact (draft-ietf-dnsop-compact-denial-of-existence): a
 *    name that does not exist is NOERROR with an NSEC at the name (next
 *    \000.name, bitmap RRSIG NSEC NXNAME), counted as NXDOMAIN by RRL; NODATA
 *    carries the node's precomputed NSEC (a wildcard's: one at the qname);
 *    an all-down service's NSEC lists no A/AAAA;
 *  - a pre-signed zone instead gets the NSECs of its own chain: the one
 *    covering the name and the one covering the wildcard for NXDOMAIN, the
 *    covering one for an empty non-terminal or a wildcard answer;
 *  - referrals carry the DS RRset or the cut's NSEC; NS at a cut, glue and
 *    the additional section are not signed; AD is never set;
 *  - a signature that cannot be made: SERVFAIL, never an unsigned answer.
 *
 * Service names (nodes with DNSD_NODE_SERVICE, see snap.c):
 *  - A and AAAA ask policy/ (pol_service_at: the node's service index,
 *    checked against its name; then pol_answer) for the endpoints of the
 *    client: the ECS option's address and source prefix when present, else
 *    the transport source (IPv4-mapped IPv6 as IPv4); an ECS source prefix
 *    of 0 means the client does not want to be located, so the transport
 *    address is used and the scope is 0. The records are written owned by a pointer to the name as
 * asked (case kept), TTL = the service's, AA set. The RNG of weighted picks is the context's.
 *  - ANY gets the A set (the AAAA set when there is no IPv4 endpoint): RFC
 *    8482 4.1 allows any subset, and the addresses are what a client wants.
 *  - Other types (MX, TXT, ...), and A/AAAA when the service has no endpoint
 *    of that family: NODATA with the negative SOA. At an apex service, SOA
 *    and NS are the zone's static RRsets.
 *  - Every endpoint down with when_all_down: empty: NOERROR, no answer, the
 *    SOA with its TTL capped at the service TTL, so resolvers cache the
 *    outage no longer than they would have cached an answer.
 *  - No policy snapshot, or the service missing from it (a zone snapshot
 *    and a policy snapshot that disagree): SERVFAIL, counted as such.
 *  - ECS SCOPE in the reply: the policy result's scope (never above the
 *    source prefix) for an address answer; 0 for anything else (static,
 *    NODATA, empty, NXDOMAIN, referral, truncated, errors).
 *  - CNAME chains: a CNAME in the zone whose target is a service is followed
 *    into the service answer like any in-zone target (the service's records
 *    are owned by the target name); the service itself never is a CNAME.
 *  - Wildcards never synthesize service answers: a service is an existing
 *    node, so names under it that do not exist get NXDOMAIN (or a static
 *    wildcard's answer), and a service named "*.x" answers that literal name
 *    only, never as a source of synthesis (RFC 4592 does not apply to it).
 *    An existing service name, as any existing node, blocks a wildcard
 *    above it.
 */
#include "dnsd/dnsd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "common/dname.h"
#include "dnsd/answer_int.h"
#include "dnsd/dnssec_int.h"
#include "dnsd/query_int.h"
#include "dnsd/snap_int.h"
#include "dnsd/wire_int.h"
#include "common/addr.h"

#define CNAME_MAX 8

/*
 * A name being looked up: lower-case copy (padded for dnsd_hash_label), the
 * offset of each suffix and the hash of each suffix, all from one pass.
 */
typedef struct lname {
	uint8_t name[AYA_DNAME_MAX + DNSD_HASH_PAD];
	uint8_t len;
	uint8_t labels;
	uint8_t off[AYA_DNAME_MAX / 2 + 1];   /* off[i]: suffix without i labels */
	uint32_t hash[AYA_DNAME_MAX / 2 + 1]; /* hash[i]: dnsd_name_hash of that suffix */
} lname_t;

/* `wire` is a valid uncompressed name of `len` bytes (checked by the parser or the snapshot). */
static void lname_set(lname_t *n, const uint8_t *wire, size_t len)
{
	memcpy(n->name, wire, len);
	memset(n->name + len, 0, DNSD_HASH_PAD);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		memcpy(&w, n->name + i, sizeof(w));
		w = dnsd_lower8(w);
		memcpy(n->name + i, &w, sizeof(w));
	}
	n->len = (uint8_t)len;
	unsigned i = 0;
	size_t p = 0;
	while (n->name[p] != 0) {
		n->off[i++] = (uint8_t)p;
		p += n->name[p] + 1u;
	}
	n->off[i] = (uint8_t)p;
	n->labels = (uint8_t)i;
	uint64_t h = dnsd_hash_label(DNSD_HASH_SEED, n->name + p);
	n->hash[i] = (uint32_t)h;
	while (i > 0) {
		i--;
		h = dnsd_hash_label(h, n->name + n->off[i]);
		n->hash[i] = (uint32_t)h;
	}
}

/*
 * Longest zone apex that is a suffix of the name; *skip = labels above it.
 * Only suffixes with as many labels as some apex are probed.
 */
static const dnsd_zone_t *zone_find(const dnsd_snap_t *s, const lname_t *n, unsigned *skip)
{
	if (n->labels < s->apex_min_labels) {
		return NULL;
	}
	unsigned first = n->labels > s->apex_max_labels ? n->labels - s->apex_max_labels : 0;
	unsigned last = (unsigned)n->labels - s->apex_min_labels;
	for (unsigned i = first; i <= last; i++) {
		const uint8_t *sfx = n->name + n->off[i];
		long k = dnsd_htab_find(&s->apexes, sfx, n->len - n->off[i], n->hash[i]);
		if (k >= 0) {
			*skip = i;
			return s->zone_of[k];
		}
	}
	return NULL;
}

/* The node of the name, or its closest encloser (RFC 4592 3.3.1). */
static const dnsd_node_t *node_lookup(const dnsd_zone_t *z, const lname_t *n, bool *exact)
{
	for (unsigned i = 0; i + z->apex_labels < n->labels; i++) {
		const uint8_t *sfx = n->name + n->off[i];
		long k = dnsd_htab_find(&z->names, sfx, n->len - n->off[i], n->hash[i]);
		if (k >= 0) {
			*exact = i == 0;
			return z->names.slot[k];
		}
	}
	*exact = n->labels == z->apex_labels;
	return z->apex_node;
}

/* A/AAAA of collected targets; optional ones are dropped when they do not fit. */
static void put_additional(resp_t *r)
{
	static const uint16_t types[] = {DNSD_T_A, DNSD_T_AAAA};
	for (unsigned i = 0; i < r->n_add && !r->w.err; i++) {
		for (unsigned t = 0; t < AYA_ARRAY_LEN(types); t++) {
			const dnsd_rrset_t *set = dnsd_node_rrset(r->add[i].node, types[t]);
			if (set == NULL) {
				continue;
			}
			size_t mark = dnsd_wr_off(&r->w);
			uint16_t ar = r->ar;
			put_rrset(r, set, r->add[i].off, &r->ar);
			if (r->w.err && !r->glue) {
				dnsd_wr_rewind(&r->w, mark);
				r->ar = ar;
				return;
			}
		}
	}
}

/* ---------------------------------------------------------------- DNSSEC */

#define SIGS_MAX (DNSD_SIGN_KEYS_MAX * (10 + DNSD_RRSIG_FIXED + AYA_DNAME_MAX + DNSD_SIG_LEN))

/*
 * The RRSIGs of an RRset chosen per query (owner at owner_off, served with
 * TTL ttl), from the zone's cache, else signed now and cached. A signature
 * that cannot be made turns the reply into SERVFAIL: a DO query to a signed
 * zone never gets an unsigned answer.
 */
static __attribute__((noinline)) void put_dyn_sig(dnsd_ctx_t *ctx, resp_t *r,
                                                  dnsd_sigcache_t *cache, const dnsd_sigreq_t *rq,
                                                  size_t owner_off, uint32_t ttl, uint16_t *count)
{
	dnsd_zsign_t *zs = r->sign;
	uint8_t key[DNSD_SIGKEY_MAX];
	uint8_t buf[SIGS_MAX];
	uint64_t h = 0;
	size_t klen = dnsd_sig_key(rq, key, sizeof(key), &h);
	const dnsd_sigent_t *e = klen > 0 ? dnsd_sigcache_find(cache, h, key, klen) : NULL;
	const uint8_t *sigs;
	size_t sig_len;
	if (AYA_LIKELY(e != NULL)) {
		INC(&ctx->counters, dnssec_cache_hits);
		sigs = e->data + e->key_len;
		sig_len = e->sig_len;
	} else {
		int len = dnsd_sign(zs, false, rq, buf, sizeof(buf));
		INC(&ctx->counters, dnssec_signs);
		if (len < 0) {
			INC(&ctx->counters, dnssec_sign_fail);
			r->sign_fail = true;
			return;
		}
		if (klen > 0) {
			(void)dnsd_sigcache_put(cache, h, key, klen, buf, (size_t)len, zs->n_zsk);
		}
		sigs = buf;
		sig_len = (size_t)len;
	}
	for (size_t off = 0; off + 10 <= sig_len;) {
		size_t rdlen = dnsd_get16(sigs + off + 8);
		dnsd_wr_ptr(&r->w, owner_off);
		dnsd_wr_bytes(&r->w, sigs + off, 4); /* TYPE CLASS */
		dnsd_wr_u32(&r->w, ttl);
		dnsd_wr_bytes(&r->w, sigs + off + 8, 2 + rdlen);
		(*count)++;
		off += 10 + rdlen;
	}
}

/* The signatures of a static RRset served at another owner (a wildcard's, at the qname). */
static void put_wild_sig(dnsd_ctx_t *ctx, resp_t *r, const dnsd_rrset_t *set, const lname_t *n,
                         size_t owner_off, uint16_t *count)
{
	const uint8_t *rd[64];
	uint16_t rdlen[64];
	if (set->count > AYA_ARRAY_LEN(rd)) {
		r->sign_fail =
		        true; /* not expected of a wildcard: refuse rather than go unsigned */
		return;
	}
	for (uint16_t i = 0; i < set->count; i++) {
		rd[i] = set->wire + set->rec[i].off + 10;
		rdlen[i] = (uint16_t)(set->rec[i].len - 10u);
	}
	uint32_t ttl = dnsd_get32(set->wire + 4);
	dnsd_sigreq_t rq = {.owner = n->name,
	                    .owner_len = n->len,
	                    .labels = dnsd_sig_labels(n->name),
	                    .type = set->type,
	                    .ttl = ttl,
	                    .rdata = rd,
	                    .rdlen = rdlen,
	                    .n = set->count};
	put_dyn_sig(ctx, r, &r->sign->names, &rq, owner_off, ttl, count);
}

/* An RRset of a node, at the name asked for: a wildcard's answer is signed at the qname. */
static void put_answer(dnsd_ctx_t *ctx, resp_t *r, const dnsd_rrset_t *set, bool wild,
                       const lname_t *n, size_t owner_off)
{
	if (!wild || r->sign == NULL) {
		put_set(r, set, owner_off, &r->an); /* pre-signed: the wildcard's own RRSIG */
		return;
	}
	put_rrset(r, set, owner_off, &r->an);
	put_wild_sig(ctx, r, set, n, owner_off, &r->an);
}

/*
 * Compact denial (draft-ietf-dnsop-compact-denial-of-existence): an NSEC at
 * the name asked for, next name \000.name, listing types[0..nt) plus RRSIG
 * and NSEC; signed from the cache. For a name that does not exist, types is
 * NXNAME alone.
 */
static void put_nsec_at(dnsd_ctx_t *ctx, resp_t *r, const dnsd_zone_t *z, const lname_t *n,
                        size_t owner_off, const uint16_t *types, size_t nt)
{
	uint8_t rd[AYA_DNAME_MAX + DNSD_NSEC_BITMAP_MAX];
	size_t len = dnsd_nsec_rdata(n->name, types, nt, rd, sizeof(rd));
	if (len == 0) {
		return; /* a 254-byte name has no successor to name: the denial stays unproven */
	}
	uint32_t ttl = dnsd_get32(z->neg_soa->wire + 4);
	dnsd_wr_ptr(&r->w, owner_off);
	dnsd_wr_u16(&r->w, DNSD_T_NSEC);
	dnsd_wr_u16(&r->w, DNSD_C_IN);
	dnsd_wr_u32(&r->w, ttl);
	dnsd_wr_u16(&r->w, (uint16_t)len);
	dnsd_wr_bytes(&r->w, rd, len);
	r->ns++;
	const uint8_t *rdp[1] = {rd};
	uint16_t rdlen[1] = {(uint16_t)len};
	dnsd_sigreq_t rq = {.owner = n->name,
	                    .owner_len = n->len,
	                    .labels = dnsd_sig_labels(n->name),
	                    .type = DNSD_T_NSEC,
	                    .ttl = ttl,
	                    .rdata = rdp,
	                    .rdlen = rdlen,
	                    .n = 1};
	put_dyn_sig(ctx, r, &r->sign->names, &rq, owner_off, ttl, &r->ns);
}

/* NODATA's proof: the node's own NSEC, or for a wildcard's node one at the qname. */
static void put_nodata_nsec(dnsd_ctx_t *ctx, resp_t *r, const dnsd_zone_t *z,
                            const dnsd_node_t *node, bool wild, const lname_t *n, size_t owner_off)
{
	if (!wild) {
		if (node->nsec != NULL) {
			put_set(r, node->nsec, owner_off, &r->ns);
		}
		return;
	}
	uint16_t t[64];
	size_t k = 0;
	for (uint16_t i = 0; i < node->n_rrsets && k < AYA_ARRAY_LEN(t); i++) {
		t[k++] = node->rrsets[i].type;
	}
	put_nsec_at(ctx, r, z, n, owner_off, t, k);
}

/* ---------------------------------------------------------------- pre-signed zones */

/*
 * An RRset owned by a node of the zone, written with its own name (the
 * labels above the apex, then a pointer to the apex in the question), and its
 * RRSIGs. For the NSEC records of a pre-signed zone's proofs.
 */
static void put_set_owned(resp_t *r, const dnsd_zone_t *z, const dnsd_node_t *owner,
                          const dnsd_rrset_t *set, uint16_t *count)
{
	size_t pre = (size_t)owner->name_len - z->apex_len;
	if (pre == 0) {
		put_set(r, set, r->apex_off, count);
		return;
	}
	size_t at = dnsd_wr_off(&r->w);
	if (at > PTR_MAX) {
		r->w.err = true; /* not in the first 16 KiB: the answer is too big anyway */
		return;
	}
	dnsd_wr_bytes(&r->w, owner->name, pre);
	dnsd_wr_ptr(&r->w, r->apex_off);
	put_body(r, set, &set->rec[0]);
	(*count)++;
	for (uint16_t i = 1; i < set->count; i++) {
		dnsd_wr_ptr(&r->w, at);
		put_body(r, set, &set->rec[i]);
		(*count)++;
	}
	if (set->sig != NULL) {
		put_rrset(r, set->sig, at, count);
	}
}

/* The NSEC whose owner is the name, or the one before it in canonical order (it covers it). */
static const dnsd_node_t *nsec_cover(const dnsd_zone_t *z, const uint8_t *name)
{
	size_t lo = 0, hi = z->n_nsec_chain;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dnsd_canon_cmp(z->nsec_chain[mid]->name, name) <= 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return z->nsec_chain[lo > 0 ? lo - 1 : z->n_nsec_chain - 1];
}

static void put_cover(resp_t *r, const dnsd_zone_t *z, const uint8_t *name)
{
	const dnsd_node_t *c = nsec_cover(z, name);
	put_set_owned(r, z, c, c->nsec, &r->ns);
}

/*
 * NXDOMAIN of a pre-signed zone (RFC 4035 3.1.3.2): the NSEC covering the
 * name and the one covering the wildcard at its closest encloser, once when
 * they are the same.
 */
static void put_presigned_nx(resp_t *r, const dnsd_zone_t *z, const dnsd_node_t *encloser,
                             const lname_t *n)
{
	const dnsd_node_t *a = nsec_cover(z, n->name);
	put_set_owned(r, z, a, a->nsec, &r->ns);
	uint8_t wild[AYA_DNAME_MAX];
	if ((size_t)encloser->name_len + 2 > AYA_DNAME_MAX) {
		return;
	}
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, encloser->name, encloser->name_len);
	const dnsd_node_t *b = nsec_cover(z, wild);
	if (b != a) {
		put_set_owned(r, z, b, b->nsec, &r->ns);
	}
}

/*
 * NODATA of a pre-signed zone (RFC 4035 3.1.3.1, 3.1.3.4): the node's NSEC;
 * for an empty non-terminal the NSEC covering it; for a wildcard the NSEC
 * covering the name and the wildcard's own.
 */
static void put_presigned_nodata(resp_t *r, const dnsd_zone_t *z, const dnsd_node_t *node,
                                 bool wild, const lname_t *n, size_t owner_off)
{
	if (wild) {
		put_cover(r, z, n->name);
		if (node->nsec != NULL) {
			put_set_owned(r, z, node, node->nsec, &r->ns);
		}
	} else if (node->nsec != NULL) {
		put_set(r, node->nsec, owner_off, &r->ns);
	} else {
		put_cover(r, z, n->name);
	}
}

/* The client as policy/ sees it: ECS when given (RFC 7871 7.1.2: source 0 means "do not locate
 * me", so the transport address), else the source address. */
static int client_of(const dnsd_query_t *q, const struct sockaddr *src, pol_client_t *c)
{
	if (!q->ecs.present || q->ecs.source == 0) {
		return pol_client_from_sockaddr(src, c);
	}
	c->family = q->ecs.family == 1 ? AF_INET : AF_INET6;
	memcpy(c->addr, q->ecs.addr, sizeof(c->addr));
	c->source_prefix = q->ecs.source;
	c->ecs = true;
	return 0;
}

/* The endpoints as A/AAAA records owned by the name at owner_off. */
static void put_endpoints(resp_t *r, const pol_result_t *res, size_t owner_off)
{
	for (unsigned i = 0; i < res->count; i++) {
		const pol_endpoint_t *ep = res->ep[i];
		bool v4 = ep->family == AF_INET;
		dnsd_wr_ptr(&r->w, owner_off);
		dnsd_wr_u16(&r->w, v4 ? DNSD_T_A : DNSD_T_AAAA);
		dnsd_wr_u16(&r->w, DNSD_C_IN);
		dnsd_wr_u32(&r->w, res->ttl_s);
		dnsd_wr_u16(&r->w, v4 ? 4 : 16);
		dnsd_wr_bytes(&r->w, ep->addr, v4 ? 4 : 16);
		r->an++;
	}
}

/* The RRSIGs of a service's address answer: signed as owned by the service's name. */
static void put_endpoints_sig(dnsd_ctx_t *ctx, resp_t *r, const dnsd_node_t *node,
                              const pol_service_t *svc, const pol_result_t *res, size_t owner_off)
{
	const uint8_t *rd[POL_MAX_ANSWER];
	uint16_t rdlen[POL_MAX_ANSWER];
	unsigned n = res->count < POL_MAX_ANSWER ? res->count : POL_MAX_ANSWER;
	bool v4 = res->ep[0]->family == AF_INET;
	for (unsigned i = 0; i < n; i++) {
		rd[i] = res->ep[i]->addr;
		rdlen[i] = v4 ? 4 : 16;
	}
	/* The RRSIG Labels field of the node's name: its labels, less a leading "*". */
	uint8_t labels = (uint8_t)(node->labels - (node->name[0] == 1 && node->name[1] == '*'));
	dnsd_sigreq_t rq = {.owner = node->name,
	                    .owner_len = node->name_len,
	                    .labels = labels,
	                    .type = v4 ? DNSD_T_A : DNSD_T_AAAA,
	                    .ttl = svc->ttl_s, /* the original TTL; the one served may be lower */
	                    .rdata = rd,
	                    .rdlen = rdlen,
	                    .n = n};
	put_dyn_sig(ctx, r, &r->sign->sets, &rq, owner_off, res->ttl_s, &r->an);
}

/*
 * Negative answer of a service whose endpoints are all down (when_all_down:
 * empty): the SOA's TTL, which resolvers use as the negative-cache TTL
 * (RFC 2308 5), is capped at the service TTL so that the outage is not
 * cached longer than an answer would have been.
 */
static void put_outage_soa(resp_t *r, const dnsd_zone_t *z, uint32_t ttl_s)
{
	size_t mark = dnsd_wr_off(&r->w);
	put_set(r, z->neg_soa, r->apex_off, &r->ns);
	if (!r->w.err) {
		uint8_t *ttl = r->w.base + mark + 6; /* after the owner pointer, TYPE, CLASS */
		if (dnsd_get32(ttl) > ttl_s) {
			dnsd_put32(ttl, ttl_s);
		}
	}
}

/* Nothing answered for a broken service: SERVFAIL without records, not authoritative. */
static void service_fail(resp_t *r)
{
	dnsd_wr_rewind(&r->w, r->qend);
	r->an = r->ns = r->ar = 0;
	r->n_add = 0;
	r->aa = false;
	r->rcode = DNSD_RCODE_SERVFAIL;
}

/*
 * A, AAAA or ANY at a service node (owner already in the packet at
 * owner_off): policy/ picks the endpoints. ANY gets the A set, or the AAAA
 * set when the service has no IPv4 endpoint (RFC 8482 4.1 lets us answer a
 * subset). The ECS scope is the policy's for an address answer, else 0.
 */
static void answer_service(dnsd_ctx_t *ctx, const pol_snap_t *pol, resp_t *r, const dnsd_zone_t *z,
                           const dnsd_node_t *node, size_t owner_off, const struct sockaddr *src)
{
	dnsd_query_t *q = &ctx->q;
	const pol_service_t *svc =
	        pol != NULL ? pol_service_at(pol, node->svc_idx, node->name, node->name_len) : NULL;
	pol_client_t client;
	pol_result_t res;
	if (svc == NULL || client_of(q, src, &client) != 0) {
		service_fail(r);
		return;
	}
	int family = q->qtype == DNSD_T_AAAA ? AF_INET6 : AF_INET;
	int rc = pol_answer(pol, svc, family, &client, aya_rng_next(&ctx->rng), &res, NULL);
	if (rc == POL_NODATA && q->qtype == DNSD_T_ANY) {
		rc = pol_answer(pol, svc, AF_INET6, &client, aya_rng_next(&ctx->rng), &res, NULL);
	}
	if (rc < 0) {
		service_fail(r);
		return;
	}
	INC(&ctx->counters, services);
	if (rc == POL_OK) {
		uint32_t slot = node->pool_slot + res.ep[0]->pool;
		if (AYA_LIKELY(slot < DNSD_POOL_SLOTS)) {
			INC(ctx, pool_answers[slot]);
		}
		put_endpoints(r, &res, owner_off);
		if (r->sign != NULL) {
			put_endpoints_sig(ctx, r, node, svc, &res, owner_off);
		}
		/* pol caps the scope at the source prefix; source 0 must get 0 (RFC 7871 7.2.1). */
		q->ecs.scope = client.ecs ? res.scope : 0;
	} else if (rc == POL_EMPTY) {
		put_outage_soa(r, z, svc->ttl_s);
		if (r->dnssec && node->nsec_empty != NULL) {
			put_set(r, node->nsec_empty, owner_off, &r->ns);
		}
	} else {
		put_set(r, z->neg_soa, r->apex_off, &r->ns); /* NODATA */
		if (r->dnssec && node->nsec != NULL) {
			put_set(r, node->nsec, owner_off, &r->ns);
		}
	}
}

/* Does policy/ answer this query at this node? Static SOA/NS at an apex service stay static. */
static bool is_service_query(const dnsd_node_t *node, uint16_t qtype)
{
	if (!(node->flags & DNSD_NODE_SERVICE)) {
		return false;
	}
	return qtype == DNSD_T_A || qtype == DNSD_T_AAAA || qtype == DNSD_T_ANY;
}

/* Referral (RFC 1034 4.3.2 3b): the cut's NS in authority, glue required. */
static void put_referral(resp_t *r, const dnsd_node_t *cut, const lname_t *n, size_t cur_off)
{
	size_t owner_off = cur_off + n->off[n->labels - cut->labels];
	r->glue = true;
	r->cut = cut;
	put_rrset(r, dnsd_node_rrset(cut, DNSD_T_NS), owner_off, &r->ns);
	if (r->dnssec) {
		/* RFC 4035 3.1.4: the DS RRset, or the NSEC that proves there is none. */
		const dnsd_rrset_t *ds = dnsd_node_rrset(cut, DNSD_T_DS);
		const dnsd_rrset_t *proof = ds != NULL ? ds : cut->nsec;
		if (proof != NULL) {
			put_set(r, proof, owner_off, &r->ns);
		}
	}
}

/* The cut that makes the name a referral, or NULL when we are authoritative. */
static const dnsd_node_t *cut_of(const dnsd_node_t *node, bool exact, uint16_t qtype)
{
	if (node->cut != NULL) {
		return node->cut;
	}
	/* DS lives on the parent side of the cut (RFC 4035 3.1.4.1). */
	if ((node->flags & DNSD_NODE_DELEG) && !(exact && qtype == DNSD_T_DS)) {
		return node;
	}
	return NULL;
}

static void answer_in(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const pol_snap_t *pol, resp_t *r,
                      const struct sockaddr *src, dnsd_transport_t transport)
{
	const dnsd_query_t *q = &ctx->q;
	lname_t n;
	unsigned skip;
	lname_set(&n, q->qname, q->qname_len);
	const dnsd_zone_t *z = zone_find(snap, &n, &skip);
	if (z == NULL) {
		r->rcode = DNSD_RCODE_REFUSED;
		return;
	}
	r->apex_off = 12 + n.off[skip];
	r->zone = z;
	if (q->qtype == DNSD_T_AXFR || q->qtype == DNSD_T_IXFR) {
		dnsd_xfr_answer(ctx, r, z, skip == 0, src, transport);
		return;
	}
	const dnsd_node_t *seen[CNAME_MAX];
	size_t cur_off = 12;
	r->aa = true;
	if (q->do_bit && (z->sign != NULL || z->nsec_chain != NULL)) {
		r->dnssec = true;
		r->sign = z->sign;
	}
	for (unsigned hop = 0;; hop++) {
		bool exact;
		const dnsd_node_t *node = node_lookup(z, &n, &exact);
		const dnsd_node_t *cut = cut_of(node, exact, q->qtype);
		if (cut != NULL) {
			r->aa = hop > 0;
			put_referral(r, cut, &n, cur_off);
			return;
		}
		bool wild = false;
		if (!exact) {
			if (node->wild == NULL) {
				put_set(r, z->neg_soa, r->apex_off, &r->ns);
				if (r->sign == NULL) {
					r->rcode = DNSD_RCODE_NXDOMAIN;
					if (r->dnssec) {
						put_presigned_nx(r, z, node, &n);
					}
					return;
				}
				/* Compact denial: NOERROR and an NSEC at the name that lists
				 * NXNAME. */
				static const uint16_t nx[] = {DNSD_T_NXNAME};
				r->nxname = true;
				put_nsec_at(ctx, r, z, &n, cur_off, nx, AYA_ARRAY_LEN(nx));
				return;
			}
			node = node->wild; /* RFC 4592 3.3.1: owner stays the qname */
			wild = true;
		}
		if (is_service_query(node, q->qtype)) {
			answer_service(ctx, pol, r, z, node, cur_off, src);
			return;
		}
		if ((node->flags & DNSD_NODE_CNAME) && q->qtype != DNSD_T_CNAME &&
		    q->qtype != DNSD_T_ANY) {
			for (unsigned k = 0; k < hop; k++) {
				if (seen[k] == node) {
					return; /* loop: the chain so far is the answer */
				}
			}
			const dnsd_rrset_t *set = dnsd_node_rrset(node, DNSD_T_CNAME);
			size_t target_off = dnsd_wr_off(&r->w) + 12;
			put_answer(ctx, r, set, wild, &n, cur_off);
			if (wild && r->dnssec && r->sign == NULL &&
			    r->n_cover < AYA_ARRAY_LEN(r->cover)) {
				/* Not now: the chain's next answers must come before authority
				 * records. */
				r->cover[r->n_cover++] = nsec_cover(z, n.name);
			}
			const uint8_t *target = set->wire + set->rec[0].off + 10;
			if (r->w.err || hop + 1 == CNAME_MAX || target_off > PTR_MAX ||
			    !aya_dname_is_sub(target, z->apex)) {
				return;
			}
			seen[hop] = node;
			lname_set(&n, target, aya_dname_len(target));
			cur_off = target_off;
			continue;
		}
		const dnsd_rrset_t *set = q->qtype != DNSD_T_ANY ? dnsd_node_rrset(node, q->qtype)
		                          : node->n_rrsets > 0   ? &node->rrsets[node->any_idx]
		                                                 : NULL;
		if (set != NULL) {
			put_answer(ctx, r, set, wild, &n, cur_off);
			if (wild && r->dnssec && r->sign == NULL) {
				put_cover(r, z, n.name); /* RFC 4035 3.1.3.3: no closer match */
			}
		} else if (q->qtype == DNSD_T_NSEC && r->dnssec && !wild && node->nsec != NULL) {
			put_set(r, node->nsec, cur_off, &r->an); /* the NSEC asked for */
		} else {
			put_set(r, z->neg_soa, r->apex_off, &r->ns); /* NODATA (RFC 2308 2.2) */
			if (r->sign != NULL) {
				put_nodata_nsec(ctx, r, z, node, wild, &n, cur_off);
			} else if (r->dnssec) {
				put_presigned_nodata(r, z, node, wild, &n, cur_off);
			}
		}
		return;
	}
}

/* CHAOS TXT id.server (RFC 4892) and hostname.bind. */
static void answer_ch(const dnsd_query_t *q, const dnsd_snap_t *snap, resp_t *r)
{
	static const uint8_t id_server[] = {2, 'i', 'd', 6, 's', 'e', 'r', 'v', 'e', 'r', 0};
	static const uint8_t hostname_bind[] = {8,   'h', 'o', 's', 't', 'n', 'a', 'm',
	                                        'e', 4,   'b', 'i', 'n', 'd', 0};
	const uint8_t *txt;
	uint8_t len;
	if (aya_dname_equal(q->qname, id_server)) {
		txt = snap->ident;
		len = snap->ident_len;
	} else if (aya_dname_equal(q->qname, hostname_bind)) {
		txt = snap->host;
		len = snap->host_len;
	} else {
		r->rcode = DNSD_RCODE_REFUSED;
		return;
	}
	r->aa = true;
	if (q->qtype != DNSD_T_TXT && q->qtype != DNSD_T_ANY) {
		return; /* NODATA */
	}
	dnsd_wr_ptr(&r->w, 12);
	dnsd_wr_u16(&r->w, DNSD_T_TXT);
	dnsd_wr_u16(&r->w, DNSD_C_CH);
	dnsd_wr_u32(&r->w, 0);
	dnsd_wr_u16(&r->w, (uint16_t)(len + 1));
	dnsd_wr_u8(&r->w, len);
	dnsd_wr_bytes(&r->w, txt, len);
	r->an = 1;
}

/*
 * Header, question, and every record we skip; the OPT record is parsed.
 * Returns 0 or -EBADMSG (FORMERR). q->edns stays true only when the OPT
 * record itself was sound (then the FORMERR carries an OPT, RFC 6891 7).
 */
static int query_parse(dnsd_query_t *q, const uint8_t *msg, size_t len)
{
	/* The caller checked len >= 12: the header is read without the cursor. */
	q->id = dnsd_get16(msg);
	uint16_t flags = dnsd_get16(msg + 2);
	uint16_t qd = dnsd_get16(msg + 4);
	unsigned an_ns = dnsd_get16(msg + 6) + (unsigned)dnsd_get16(msg + 8);
	uint16_t ar = dnsd_get16(msg + 10);
	dnsd_rd_t rd;
	dnsd_rd_init(&rd, msg, len);
	dnsd_rd_skip(&rd, 12);
	q->opcode = (flags >> 11) & 0xf;
	q->rd = (flags & 0x0100) != 0;
	q->cd = (flags & 0x0010) != 0;
	if (qd > 1) {
		return -EBADMSG;
	}
	if (qd == 1) {
		q->qname = dnsd_rd_qname(&rd, &q->qname_len);
		const uint8_t *tc = dnsd_rd_take(&rd, 4);
		if (rd.err) {
			return -EBADMSG;
		}
		q->qtype = dnsd_get16(tc);
		q->qclass = dnsd_get16(tc + 2);
		q->has_q = true;
	}
	for (unsigned i = 0; i < an_ns && !rd.err; i++) {
		dnsd_rd_skip_name(&rd);
		dnsd_rd_skip(&rd, 8);
		dnsd_rd_skip(&rd, dnsd_rd_u16(&rd));
	}
	for (unsigned i = 0; i < ar && !rd.err; i++) {
		const uint8_t *owner = rd.p;
		dnsd_rd_skip_name(&rd);
		uint16_t type = dnsd_rd_u16(&rd);
		uint16_t rclass = dnsd_rd_u16(&rd);
		uint32_t ttl = dnsd_rd_u32(&rd);
		uint16_t rdlen = dnsd_rd_u16(&rd);
		const uint8_t *rdata = dnsd_rd_take(&rd, rdlen);
		if (rd.err || type != DNSD_T_OPT) {
			if (AYA_UNLIKELY(type == DNSD_T_TSIG) && !rd.err) {
				if (i + 1u != ar) {
					return -EBADMSG; /* RFC 8945 5.1: TSIG is the last record */
				}
				q->tsig = owner;
			}
			continue;
		}
		if (owner[0] != 0 || q->edns) { /* RFC 6891 6.1.1 */
			q->edns = false;
			return -EBADMSG;
		}
		int rc = dnsd_edns_parse(q, rclass, ttl, rdata, rdlen);
		if (rc != 0) {
			return rc;
		}
	}
	return rd.err ? -EBADMSG : 0;
}

static size_t udp_limit(const dnsd_query_t *q, const dnsd_snap_t *snap, size_t outmax)
{
	size_t lim = q->edns ? q->payload : 512;
	lim = lim > snap->max_udp ? snap->max_udp : lim;
	return lim > outmax ? outmax : lim;
}

/*
 * The slow path of a signed query (tsig.c): -1 to go on answering, or the
 * rcode of a TSIG error. Sets q->tsig_reply when the reply gets a TSIG RR.
 */
static AYA_COLD int tsig_early(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const uint8_t *msg,
                               size_t len)
{
	dnsd_query_t *q = &ctx->q;
	int rc = dnsd_tsig_verify(ctx, snap, msg, len, q->tsig, now_s());
	q->tsig_reply = rc != DNSD_RCODE_FORMERR;
	return rc;
}

static void count_rcode(dnsd_counters_t *c, const resp_t *r)
{
	switch (r->rcode) {
	case DNSD_RCODE_NOERROR:
		INC(c, noerror);
		break;
	case DNSD_RCODE_FORMERR:
		INC(c, formerr);
		break;
	case DNSD_RCODE_SERVFAIL:
		INC(c, servfail);
		break;
	case DNSD_RCODE_NXDOMAIN:
		INC(c, nxdomain);
		break;
	case DNSD_RCODE_NOTIMP:
		INC(c, notimp);
		break;
	case DNSD_RCODE_REFUSED:
		INC(c, refused);
		break;
	case DNSD_RCODE_BADVERS:
		INC(c, badvers);
		break;
	case DNSD_RCODE_NOTAUTH:
		INC(c, notauth);
		break;
	default:
		break;
	}
	if (r->tc) {
		INC(c, truncated);
	}
}

/* The rcode decided before any lookup, or -1 to go on and answer. */
static int early_rcode(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, int parsed,
                       const struct sockaddr *src)
{
	dnsd_query_t *q = &ctx->q;
	if (q->opcode != DNSD_OPCODE_QUERY) {
		return DNSD_RCODE_NOTIMP;
	}
	if (parsed != 0) {
		return DNSD_RCODE_FORMERR;
	}
	if (q->edns && q->version > 0) {
		return DNSD_RCODE_BADVERS; /* RFC 6891 6.1.3 */
	}
	if (q->cookie && snap->cookies) {
		q->cookie_ok = dnsd_cookie_process(ctx, snap, src, now_s());
	}
	if (!q->has_q) {
		/* RFC 7873 5.4: a question-less query just fetches a server cookie. */
		return q->cookie && snap->cookies ? DNSD_RCODE_NOERROR : DNSD_RCODE_FORMERR;
	}
	if (q->qclass != DNSD_C_IN && q->qclass != DNSD_C_CH) {
		return DNSD_RCODE_REFUSED;
	}
	return -1;
}

/*
 * Response rate limiting (rrl.c) of a finished UDP response: its kind and
 * name, then the shared bucket. Queries with a valid server cookie and
 * exempt clients are never limited.
 */
static dnsd_rrl_verdict_t rrl_verdict(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const resp_t *r,
                                      const struct sockaddr *src)
{
	const dnsd_query_t *q = &ctx->q;
	if (q->cookie_ok || (snap->rrl.n_exempt > 0 && dnsd_rrl_exempt(&snap->rrl, src))) {
		return DNSD_RRL_PASS;
	}
	dnsd_rrl_kind_t kind = DNSD_RRL_ERROR;
	const uint8_t *name = NULL;
	size_t len = 0;
	if (r->rcode == DNSD_RCODE_NXDOMAIN || r->nxname) {
		kind = DNSD_RRL_NXDOMAIN;
		if (r->zone != NULL) {
			name = r->zone->apex;
			len = r->zone->apex_len;
		}
	} else if (r->rcode == DNSD_RCODE_NOERROR) {
		kind = r->an > 0 || r->tc ? DNSD_RRL_ANSWER
		       : r->cut != NULL   ? DNSD_RRL_REFERRAL
		                          : DNSD_RRL_NODATA;
		if (kind == DNSD_RRL_REFERRAL) {
			name = r->cut->name;
			len = r->cut->name_len;
		} else if (q->has_q) {
			name = q->qname;
			len = q->qname_len;
		}
	}
	uint64_t key = dnsd_rrl_key(ctx->rrl, &snap->rrl, src, kind, name, len);
	return dnsd_rrl_account(ctx->rrl, &snap->rrl, key, dnsd_rrl_now(ctx->rrl));
}

static inline __attribute__((always_inline)) size_t answer(dnsd_ctx_t *ctx, const dnsd_snap_t *snap,
                                                           const pol_snap_t *pol, const uint8_t *q,
                                                           size_t qlen, uint8_t *out, size_t outmax,
                                                           const struct sockaddr *src,
                                                           dnsd_transport_t transport)
{
	dnsd_counters_t *c = &ctx->counters;
	dnsd_query_t *qs = &ctx->q;
	INC(c, queries);
	if (transport == DNSD_TCP) {
		INC(c, tcp);
	} else {
		INC(c, udp);
	}
	if (qlen < 12 || (q[2] & 0x80) != 0 || outmax < 512) {
		INC(c, dropped);
		return 0;
	}
	memset(qs, 0, offsetof(dnsd_query_t, cc)); /* the rest is written before it is read */
	ctx->xfr.zone = NULL;
	int parsed = query_parse(qs, q, qlen);
	if (qs->edns) {
		INC(c, edns);
	}
	if (qs->cookie) {
		INC(c, cookies);
	}
	if (qs->nsid) {
		INC(c, nsid);
	}
	if (qs->ecs.present) {
		INC(c, ecs);
	}
	resp_t r;
	r.an = r.ns = r.ar = 0;
	r.aa = r.tc = r.glue = false;
	r.n_add = 0;
	r.apex_off = 12;
	r.zone = NULL;
	r.cut = NULL;
	r.sign = NULL;
	r.dnssec = r.nxname = r.sign_fail = false;
	r.n_cover = 0;
	int early = -1;
	if (AYA_UNLIKELY(qs->tsig != NULL) && parsed == 0) {
		early = tsig_early(ctx, snap, q, qlen);
	}
	if (early < 0) {
		early = early_rcode(ctx, snap, parsed, src);
	}
	r.rcode = early >= 0 ? (unsigned)early : DNSD_RCODE_NOERROR;
	/* Error replies caused by the query itself carry a bare OPT. */
	bool full = early != DNSD_RCODE_NOTIMP && early != DNSD_RCODE_FORMERR &&
	            early != DNSD_RCODE_BADVERS && early != DNSD_RCODE_NOTAUTH;
	size_t lim = transport == DNSD_TCP ? (outmax < DNSD_MAX_MSG ? outmax : DNSD_MAX_MSG)
	                                   : udp_limit(qs, snap, outmax);
	size_t opt_len = qs->edns ? dnsd_edns_len(qs, snap, full) : 0;
	if (AYA_UNLIKELY(qs->tsig_reply)) {
		opt_len += dnsd_tsig_reply_len(ctx); /* RR after the OPT, reserved with it */
	}
	dnsd_wr_init(&r.w, out, lim > opt_len ? lim - opt_len : 0);
	(void)dnsd_wr_take(&r.w, 12);
	if (qs->has_q) {
		dnsd_wr_bytes(&r.w, qs->qname, qs->qname_len);
		dnsd_wr_u16(&r.w, qs->qtype);
		dnsd_wr_u16(&r.w, qs->qclass);
	}
	if (r.w.err) {
		INC(c, dropped);
		return 0;
	}
	r.qend = dnsd_wr_off(&r.w);
	if (early < 0) {
		if (qs->qclass == DNSD_C_CH) {
			answer_ch(qs, snap, &r);
		} else {
			answer_in(ctx, snap, pol, &r, src, transport);
		}
		for (unsigned i = 0; i < r.n_cover; i++) {
			put_set_owned(&r, r.zone, r.cover[i], r.cover[i]->nsec, &r.ns);
		}
		put_additional(&r);
	}
	if (AYA_UNLIKELY(r.sign_fail)) {
		dnsd_wr_rewind(&r.w, r.qend);
		r.an = r.ns = r.ar = 0;
		r.n_add = 0;
		r.aa = false;
		r.rcode = DNSD_RCODE_SERVFAIL;
		r.sign = NULL;
		r.dnssec = false;
		qs->ecs.scope = 0;
	}
	if (r.dnssec) {
		INC(c, dnssec_answers);
	}
	if (r.w.err) {
		dnsd_wr_rewind(&r.w, r.qend);
		r.an = r.ns = r.ar = 0;
		qs->ecs.scope = 0; /* no answer left to depend on the client */
		if (transport == DNSD_UDP) {
			r.tc = true;
		} else {
			r.aa = false;
			r.rcode = DNSD_RCODE_SERVFAIL;
		}
	}
	if (transport == DNSD_UDP && snap->rrl.on && ctx->rrl != NULL) {
		dnsd_rrl_verdict_t v = rrl_verdict(ctx, snap, &r, src);
		if (v == DNSD_RRL_DROP) {
			INC(c, rrl_dropped);
			return 0;
		}
		if (v ==
		    DNSD_RRL_SLIP) { /* as a reply too big for UDP: the client retries over TCP */
			INC(c, rrl_slipped);
			dnsd_wr_rewind(&r.w, r.qend);
			r.an = r.ns = r.ar = 0;
			qs->ecs.scope = 0;
			r.tc = true;
		}
	}
	dnsd_wr_limit(&r.w, lim);
	if (qs->edns) {
		dnsd_edns_write(&r.w, qs, snap, r.rcode, full);
	}
	put_header(&r, qs, qs->edns);
	if (AYA_UNLIKELY(qs->tsig_reply)) {
		dnsd_tsig_sign(ctx, &r.w, now_s());
	}
	count_rcode(c, &r);
	return dnsd_wr_off(&r.w);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const double dnsd_qdur_bounds[DNSD_QDUR_BOUNDS] = {1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5,
                                                   5e-5, 1e-4,   2.5e-4, 1e-3, 1e-2};

/*
 * One query in DNSD_QDUR_SAMPLE is timed (two vDSO clock reads) into the
 * context's histogram: the others pay an increment and a branch.
 */
size_t dnsd_answer(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const pol_snap_t *pol,
                   const uint8_t *q, size_t qlen, uint8_t *out, size_t outmax,
                   const struct sockaddr *src, dnsd_transport_t transport)
{
	/* One call site: answer() is inlined here. */
	bool timed = ++ctx->qdur_seq % DNSD_QDUR_SAMPLE == 0;
	uint64_t t0 = AYA_UNLIKELY(timed) ? mono_ns() : 0;
	size_t len = answer(ctx, snap, pol, q, qlen, out, outmax, src, transport);
	if (AYA_UNLIKELY(timed)) {
		uint64_t ns = mono_ns() - t0;
		unsigned i = 0;
		while (i < DNSD_QDUR_BOUNDS && (double)ns > dnsd_qdur_bounds[i] * 1e9) {
			i++;
		}
		INC(ctx, qdur[i]);
		atomic_store_explicit(&ctx->qdur_ns,
		                      atomic_load_explicit(&ctx->qdur_ns, memory_order_relaxed) +
		                              ns,
		                      memory_order_relaxed);
	}
	return len;
}
