/*
 * Zone transfers (RFC 5936 AXFR; IXFR answered with the full zone, RFC 1995
 * 4): who may transfer (the zone's address prefixes, or its keyed entries
 * for a query whose TSIG verified, tsig.c), and the transfer itself, in as
 * many messages as it needs. The cursor lives in the answer context
 * (dnsd_xfr_t); see answer.c for the policy summary.
 */
#include "dnsd/answer_int.h"

#include <netinet/in.h>
#include <string.h>

#include "common/addr.h"

static bool prefix_match(const uint8_t *addr, const cfg_prefix_t *p)
{
	unsigned bytes = p->len / 8, bits = p->len % 8;
	if (memcmp(addr, p->addr, bytes) != 0) {
		return false;
	}
	uint8_t mask = (uint8_t)(0xff << (8 - bits));
	return bits == 0 || (addr[bytes] & mask) == (p->addr[bytes] & mask);
}

/*
 * Is the client allowed to transfer the zone? IPv4-mapped IPv6 counts as
 * IPv4. `key`: the key that signed the query (verified), or NULL.
 */
static bool xfr_allowed(const dnsd_zone_t *z, const struct sockaddr *src,
                        const dnsd_tsig_key_t *key)
{
	const uint8_t *addr;
	int family = src->sa_family;
	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)src)->sin_addr;
	} else if (family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)src)->sin6_addr.s6_addr;
		if (aya_addr_is_v4mapped(addr)) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < z->n_xfr_allow; i++) {
		const cfg_prefix_t *p = &z->xfr_allow[i];
		if (p->family == family && p->len <= (family == AF_INET ? 32 : 128) &&
		    prefix_match(addr, p)) {
			return true;
		}
	}
	for (size_t i = 0; i < z->n_xfr_acl; i++) {
		const dnsd_xfr_acl_t *a = &z->xfr_acl[i];
		const cfg_prefix_t *p = &a->prefix;
		if (a->key != NULL && a->key != key) {
			continue;
		}
		if (a->any_addr ||
		    (p->family == family && p->len <= (family == AF_INET ? 32 : 128) &&
		     prefix_match(addr, p))) {
			return true;
		}
	}
	return false;
}

/*
 * The next record of a transfer (SOA, every other record, SOA: RFC 5936
 * 2.2), or false when it is done. Moves the cursor past it.
 */
static bool xfr_next(dnsd_xfr_t *x, const dnsd_node_t **node, const dnsd_rrset_t **set,
                     uint16_t *rec)
{
	const dnsd_zone_t *z = x->zone;
	for (;;) {
		if (x->phase == 0 || x->phase == 2) {
			*node = z->apex_node;
			*set = z->soa;
			*rec = 0;
			x->phase++;
			return true;
		}
		if (x->phase == 3) {
			return false;
		}
		if (x->node == z->n_nodes) {
			x->phase = 2;
			continue;
		}
		const dnsd_node_t *n = &z->nodes[x->node];
		if (x->set == n->n_rrsets) {
			x->node++;
			x->set = x->rec = 0;
			continue;
		}
		const dnsd_rrset_t *s = &n->rrsets[x->set];
		if (s == z->soa || x->rec == s->count) {
			x->set++;
			x->rec = 0;
			continue;
		}
		*node = n;
		*set = s;
		*rec = x->rec++;
		return true;
	}
}

/*
 * As many records of the transfer as fit in the message (owners compressed
 * against the apex, the qname at r->apex_off). Returns true when the
 * transfer is complete; the record that did not fit is written first in
 * the next message.
 */
static bool put_xfr(resp_t *r, dnsd_xfr_t *x)
{
	const dnsd_zone_t *z = x->zone;
	for (;;) {
		dnsd_xfr_t before = *x;
		const dnsd_node_t *n;
		const dnsd_rrset_t *set;
		uint16_t k;
		if (!xfr_next(x, &n, &set, &k)) {
			return true;
		}
		size_t mark = dnsd_wr_off(&r->w);
		dnsd_wr_bytes(&r->w, n->name, n->name_len - z->apex_len);
		dnsd_wr_ptr(&r->w, r->apex_off);
		put_body(r, set, &set->rec[k]);
		if (r->w.err) {
			dnsd_wr_rewind(&r->w, mark);
			*x = before;
			return false;
		}
		r->an++;
	}
}

void dnsd_xfr_answer(dnsd_ctx_t *ctx, resp_t *r, const dnsd_zone_t *z, bool at_apex,
                     const struct sockaddr *src, dnsd_transport_t transport)
{
	if (!at_apex || !xfr_allowed(z, src, ctx->q.tsig_reply ? dnsd_tsig_query_key(ctx) : NULL)) {
		r->rcode = DNSD_RCODE_REFUSED;
		INC(&ctx->counters, axfr_refused);
		return;
	}
	if (transport == DNSD_UDP) {
		if (ctx->q.qtype == DNSD_T_AXFR) {
			r->rcode = DNSD_RCODE_FORMERR;
			return;
		}
		r->aa = true;
		put_rrset(r, z->soa, r->apex_off, &r->an);
		return;
	}
	r->aa = true;
	r->n_add = 0;
	ctx->xfr = (dnsd_xfr_t){.zone = z};
	if (put_xfr(r, &ctx->xfr)) {
		ctx->xfr.zone = NULL; /* all in this message */
	} else if (r->an == 0) {
		ctx->xfr.zone = NULL; /* not even the SOA fits */
		r->aa = false;
		r->rcode = DNSD_RCODE_REFUSED;
		INC(&ctx->counters, axfr_refused);
	}
}

size_t dnsd_answer_more(dnsd_ctx_t *ctx, uint8_t *out, size_t outmax)
{
	dnsd_xfr_t *x = &ctx->xfr;
	const dnsd_query_t *q = &ctx->q;
	if (x->zone == NULL) {
		return 0;
	}
	resp_t r;
	r.an = r.ns = r.ar = 0;
	r.aa = true;
	r.tc = r.glue = false;
	r.rcode = DNSD_RCODE_NOERROR;
	r.n_add = 0;
	r.apex_off = 12; /* the question is the apex (dnsd_xfr_answer checked) */
	size_t lim = outmax < DNSD_MAX_MSG ? outmax : DNSD_MAX_MSG;
	size_t tsig_len = q->tsig_reply ? dnsd_tsig_reply_len(ctx) : 0;
	dnsd_wr_init(&r.w, out, lim > tsig_len ? lim - tsig_len : 0);
	(void)dnsd_wr_take(&r.w, 12);
	/* The question again: RFC 5936 2.2.1 allows it, and owners point into it. */
	dnsd_wr_bytes(&r.w, q->qname, q->qname_len);
	dnsd_wr_u16(&r.w, q->qtype);
	dnsd_wr_u16(&r.w, q->qclass);
	bool done = !r.w.err && put_xfr(&r, x);
	if (done || r.an == 0) {
		x->zone = NULL; /* complete, or a record that fits no message: stop */
	}
	if (r.an == 0) {
		return 0;
	}
	dnsd_wr_limit(&r.w, lim);
	put_header(&r, q, false);
	if (q->tsig_reply) {
		dnsd_tsig_sign_next(ctx, &r.w, now_s());
	}
	INC(&ctx->counters, noerror);
	return dnsd_wr_off(&r.w);
}
