/*
 * The response under construction and its record writers, shared by the
 * answer engine (answer.c) and zone transfers (xfr.c). Internal to dnsd
 * (tests may include it). Inline so that answer.c's hot path keeps them in
 * its own translation unit.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "common/dname.h"
#include "dnsd/query_int.h"
#include "dnsd/snap_int.h"
#include "dnsd/wire_int.h"

#define ADD_MAX 16
#define PTR_MAX 0x3fff

typedef struct resp {
	dnsd_wr_t w;
	size_t qend; /* end of the question */
	uint16_t an, ns, ar;
	bool aa, tc, glue;
	unsigned rcode;
	size_t apex_off; /* where the zone apex is written (inside the qname) */
	unsigned n_add;
	struct {
		const dnsd_node_t *node;
		uint16_t off;
	} add[ADD_MAX];
	const dnsd_zone_t *zone; /* the zone answering, for the RRL key of NXDOMAIN */
	const dnsd_node_t *cut;  /* the delegation of a referral, for its RRL key */
	bool dnssec;             /* a DO query to a signed zone: RRSIGs and NSECs go in */
	struct dnsd_zsign *sign; /* and the zone is signed online (NULL: pre-signed) */
	bool nxname;             /* compact denial of a name: NOERROR, but NXDOMAIN for RRL */
	bool sign_fail;          /* a signature could not be made: SERVFAIL */
	/* Pre-signed zone: the NSECs proving wildcard CNAMEs of the chain, written to the
	 * authority section once the answer section is complete. */
	const dnsd_node_t *cover[8];
	uint8_t n_cover;
} resp_t;

/*
 * Counters have one writer (the context's thread): a relaxed load and store,
 * not a locked read-modify-write, keeps readers untorn at the cost of a
 * plain add.
 */
#define INC(c, f)                                                                                  \
	atomic_store_explicit(&(c)->f, atomic_load_explicit(&(c)->f, memory_order_relaxed) + 1,    \
	                      memory_order_relaxed)

/* TYPE..RDATA of one record, compressing RDATA names against the apex. */
static inline void put_body(resp_t *r, const dnsd_rrset_t *set, const dnsd_rec_t *rec)
{
	const uint8_t *p = set->wire + rec->off;
	if (!set->compress || rec->name_off[0] == DNSD_NO_NAME) {
		dnsd_wr_bytes(&r->w, p, rec->len);
		return;
	}
	const uint8_t *rd = p + 10;
	size_t rdlen = rec->len - 10u, pos = 0;
	dnsd_wr_bytes(&r->w, p, 8);
	size_t len_off = dnsd_wr_off(&r->w);
	dnsd_wr_u16(&r->w, 0);
	for (int k = 0; k < 2 && rec->name_off[k] != DNSD_NO_NAME; k++) {
		size_t at = rec->name_off[k];
		dnsd_wr_bytes(&r->w, rd + pos, at - pos);
		size_t nl = aya_dname_len(rd + at);
		if (rec->name_sfx[k] != DNSD_NO_SFX) {
			dnsd_wr_bytes(&r->w, rd + at, rec->name_sfx[k]);
			dnsd_wr_ptr(&r->w, r->apex_off);
		} else {
			dnsd_wr_bytes(&r->w, rd + at, nl);
		}
		pos = at + nl;
	}
	dnsd_wr_bytes(&r->w, rd + pos, rdlen - pos);
	if (!r->w.err) {
		dnsd_wr_patch16(&r->w, len_off, (uint16_t)(dnsd_wr_off(&r->w) - len_off - 2));
	}
}

static inline void add_push(resp_t *r, const dnsd_node_t *node, size_t off)
{
	if (off > PTR_MAX || r->n_add == ADD_MAX) {
		return;
	}
	for (unsigned i = 0; i < r->n_add; i++) {
		if (r->add[i].node == node) {
			return;
		}
	}
	r->add[r->n_add].node = node;
	r->add[r->n_add].off = (uint16_t)off;
	r->n_add++;
}

/* An RRset whose owner is already in the packet at owner_off. */
static inline void put_rrset(resp_t *r, const dnsd_rrset_t *set, size_t owner_off, uint16_t *count)
{
	for (uint16_t i = 0; i < set->count; i++) {
		const dnsd_rec_t *rec = &set->rec[i];
		size_t rd_off = dnsd_wr_off(&r->w) + 12;
		dnsd_wr_ptr(&r->w, owner_off);
		put_body(r, set, rec);
		if (rec->add != NULL) {
			add_push(r, rec->add, rd_off + rec->add_off);
		}
		(*count)++;
	}
}

/* An RRset and, in a signed answer, its RRSIGs (same owner). */
static inline void put_set(resp_t *r, const dnsd_rrset_t *set, size_t owner_off, uint16_t *count)
{
	put_rrset(r, set, owner_off, count);
	if (r->dnssec && set->sig != NULL) {
		put_rrset(r, set->sig, owner_off, count);
	}
}

static inline uint32_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts); /* vDSO: no syscall */
	return (uint32_t)ts.tv_sec;
}

/*
 * ID and opcode copied (RFC 1035 4.1.1); RD and CD too, but only for QUERY:
 * they are QUERY's flags (RFC 1035 4.1.1, RFC 4035 3.2.2, RFC 6840 5.9), and
 * another opcode's NOTIMP copies nothing it does not define (RFC 6895 2.1;
 * NSD and Knot do the same). RA, AD, Z clear.
 */
static inline void put_header(resp_t *r, const dnsd_query_t *q, bool opt)
{
	uint8_t *h = r->w.base;
	bool query = q->opcode == DNSD_OPCODE_QUERY;
	dnsd_put16(h, q->id);
	h[2] = (uint8_t)(0x80 | q->opcode << 3 | (r->aa ? 0x04 : 0) | (r->tc ? 0x02 : 0) |
	                 (query && q->rd ? 0x01 : 0));
	h[3] = (uint8_t)((query && q->cd ? 0x10 : 0) | (r->rcode & 0x0f));
	dnsd_put16(h + 4, q->has_q ? 1 : 0);
	dnsd_put16(h + 6, r->an);
	dnsd_put16(h + 8, r->ns);
	dnsd_put16(h + 10, (uint16_t)(r->ar + (opt ? 1 : 0)));
}

/*
 * AXFR/IXFR (xfr.c): the zone's ACL (address prefixes, keys of a signed
 * query), then the transfer's first message into r over TCP, or the UDP
 * answers. The rest of a long transfer comes from dnsd_answer_more().
 */
void dnsd_xfr_answer(dnsd_ctx_t *ctx, resp_t *r, const dnsd_zone_t *z, bool at_apex,
                     const struct sockaddr *src, dnsd_transport_t transport)
        AYA_NONNULL(1, 2, 3, 5);
