/*
 * EDNS(0) (RFC 6891): the query's OPT record in, ours out.
 *
 * Options understood: NSID (RFC 5001), CLIENT-SUBNET (RFC 7871: validated;
 * echoed, family and address as received, only when the query had it, with
 * the SCOPE the answer engine set: the policy result's scope for a service
 * answer, 0 for everything else because static, negative and error answers
 * do not depend on the client), COOKIE (RFC 7873). Unknown options are ignored (RFC 6891 6.1.2);
 * of a repeated option the first one counts.
 */
#include "dnsd/query_int.h"

#include <errno.h>
#include <string.h>

#include "dnsd/snap_int.h"

/* RFC 7871 6 and 7.1.1: family, prefix lengths, address bytes, padding bits. */
static int ecs_parse(dnsd_ecs_t *e, const uint8_t *p, uint16_t len)
{
	if (len < 4) {
		return -EBADMSG;
	}
	uint16_t family = dnsd_get16(p);
	uint8_t source = p[2];
	uint8_t scope = p[3];
	unsigned maxbits = family == 1 ? 32 : family == 2 ? 128 : 0;
	if (maxbits == 0 || source > maxbits || scope != 0) {
		return -EBADMSG;
	}
	size_t nbytes = ((size_t)source + 7) / 8;
	if (len - 4u != nbytes) {
		return -EBADMSG;
	}
	if (source % 8 != 0 && (p[4 + nbytes - 1] & (0xff >> (source % 8))) != 0) {
		return -EBADMSG;
	}
	e->present = true;
	e->family = family;
	e->source = source;
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, p + 4, nbytes);
	return 0;
}

/* RFC 7873 4: client cookie 8 bytes, server cookie 8..32 bytes. */
static int cookie_parse(dnsd_query_t *q, const uint8_t *p, uint16_t len)
{
	if (len != DNSD_COOKIE_CLIENT && (len < 16 || len > 40)) {
		return -EBADMSG;
	}
	q->cookie = true;
	memcpy(q->cc, p, DNSD_COOKIE_CLIENT);
	q->sc_len = (uint8_t)(len - DNSD_COOKIE_CLIENT);
	memcpy(q->sc, p + DNSD_COOKIE_CLIENT, q->sc_len);
	return 0;
}

int dnsd_edns_parse(dnsd_query_t *q, uint16_t payload, uint32_t ttl, const uint8_t *rdata,
                    uint16_t rdlen)
{
	q->edns = true;
	q->payload = payload < 512 ? 512 : payload; /* RFC 6891 6.2.5 */
	q->version = (uint8_t)(ttl >> 16);
	q->do_bit = (ttl & 0x8000) != 0;
	dnsd_rd_t r;
	dnsd_rd_init(&r, rdata, rdlen);
	bool seen_ecs = false, seen_cookie = false;
	while (dnsd_rd_left(&r) > 0) {
		uint16_t code = dnsd_rd_u16(&r);
		uint16_t len = dnsd_rd_u16(&r);
		const uint8_t *p = dnsd_rd_take(&r, len);
		if (r.err) {
			return -EBADMSG;
		}
		int rc = 0;
		switch (code) {
		case DNSD_OPT_NSID:
			q->nsid = true;
			break;
		case DNSD_OPT_ECS:
			rc = seen_ecs ? 0 : ecs_parse(&q->ecs, p, len);
			seen_ecs = true;
			break;
		case DNSD_OPT_COOKIE:
			rc = seen_cookie ? 0 : cookie_parse(q, p, len);
			seen_cookie = true;
			break;
		default:
			break;
		}
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static bool send_nsid(const dnsd_query_t *q, const dnsd_snap_t *snap)
{
	return q->nsid && snap->nsid != NULL;
}

static bool send_cookie(const dnsd_query_t *q, const dnsd_snap_t *snap)
{
	return q->cookie && snap->cookies;
}

size_t dnsd_edns_len(const dnsd_query_t *q, const dnsd_snap_t *snap, bool full)
{
	size_t n = 11;
	if (!full) {
		return n;
	}
	if (send_nsid(q, snap)) {
		n += 4 + (size_t)snap->nsid_len;
	}
	if (send_cookie(q, snap)) {
		n += 4 + DNSD_COOKIE_CLIENT + DNSD_COOKIE_SERVER;
	}
	if (q->ecs.present) {
		n += 4 + 4 + ((size_t)q->ecs.source + 7) / 8;
	}
	return n;
}

void dnsd_edns_write(dnsd_wr_t *w, const dnsd_query_t *q, const dnsd_snap_t *snap, unsigned rcode,
                     bool full)
{
	/* The fixed part in one bounds check: root owner, TYPE, CLASS, TTL, RDLENGTH. */
	uint8_t *p = dnsd_wr_take(w, 11);
	if (p == NULL) {
		return;
	}
	p[0] = 0;
	dnsd_put16(p + 1, DNSD_T_OPT);
	dnsd_put16(p + 3, snap->max_udp);
	/* Extended RCODE (upper 8 bits), VERSION 0, DO copied (RFC 3225 3). */
	dnsd_put32(p + 5, (uint32_t)(rcode >> 4) << 24 | (q->do_bit ? 0x8000u : 0));
	dnsd_put16(p + 9, 0);
	size_t rdlen_off = dnsd_wr_off(w) - 2;
	if (!full) {
		return;
	}
	if (full && send_nsid(q, snap)) {
		dnsd_wr_u16(w, DNSD_OPT_NSID);
		dnsd_wr_u16(w, snap->nsid_len);
		dnsd_wr_bytes(w, snap->nsid, snap->nsid_len);
	}
	if (full && send_cookie(q, snap)) {
		dnsd_wr_u16(w, DNSD_OPT_COOKIE);
		dnsd_wr_u16(w, DNSD_COOKIE_CLIENT + DNSD_COOKIE_SERVER);
		dnsd_wr_bytes(w, q->cc, DNSD_COOKIE_CLIENT);
		dnsd_wr_bytes(w, q->out_sc, DNSD_COOKIE_SERVER);
	}
	if (full && q->ecs.present) {
		/* RFC 7871 7.2.1: the widest prefix the answer holds for (0: every client). */
		size_t nbytes = ((size_t)q->ecs.source + 7) / 8;
		dnsd_wr_u16(w, DNSD_OPT_ECS);
		dnsd_wr_u16(w, (uint16_t)(4 + nbytes));
		dnsd_wr_u16(w, q->ecs.family);
		dnsd_wr_u8(w, q->ecs.source);
		dnsd_wr_u8(w, q->ecs.scope);
		dnsd_wr_bytes(w, q->ecs.addr, nbytes);
	}
	if (!w->err && dnsd_wr_off(w) > rdlen_off + 2) {
		dnsd_wr_patch16(w, rdlen_off, (uint16_t)(dnsd_wr_off(w) - rdlen_off - 2));
	}
}
