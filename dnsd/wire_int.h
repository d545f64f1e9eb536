/*
 * Bounds-checked cursors over DNS messages (model: Knot contrib/wire_ctx.h).
 *
 * Read cursor: every read checks the remaining length; on a short read the
 * cursor sets a sticky error, returns zero and stops moving, so a parser reads
 * a whole structure and tests `err` once. Write cursor: the same for output,
 * with a movable limit so a caller can reserve room (the OPT record) and
 * roll back to a mark when a record does not fit.
 *
 * Internal to dnsd (tests may use it). Pure, no allocation, any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/dname.h"

/*
 * ASCII lower case of 8 bytes at once: a byte gets 0x20 when it is in
 * 'A'..'Z' (label length bytes are <= 63, never letters; bytes >= 0x80 are
 * left alone like aya_dname_lower does).
 */
static inline uint64_t dnsd_lower8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = w & ~high;
	uint64_t ge_a = low7 + (0x80 - 'A') * ones; /* high bit: byte >= 'A' */
	uint64_t gt_z = low7 + (0x7f - 'Z') * ones; /* high bit: byte > 'Z' */
	uint64_t upper = (ge_a ^ gt_z) & ~w & high;
	return w | upper >> 2;
}

/* ------------------------------------------------------------------ read */

typedef struct dnsd_rd {
	const uint8_t *base; /* start of the message (for offsets) */
	const uint8_t *p;
	const uint8_t *end;
	bool err;
} dnsd_rd_t;

static inline void dnsd_rd_init(dnsd_rd_t *r, const uint8_t *buf, size_t len)
{
	r->base = buf;
	r->p = buf;
	r->end = buf + len;
	r->err = false;
}

static inline size_t dnsd_rd_left(const dnsd_rd_t *r)
{
	return (size_t)(r->end - r->p);
}

static inline size_t dnsd_rd_off(const dnsd_rd_t *r)
{
	return (size_t)(r->p - r->base);
}

/* Pointer to the next n bytes and advance, or NULL (sticky error). */
static inline const uint8_t *dnsd_rd_take(dnsd_rd_t *r, size_t n)
{
	if (r->err || dnsd_rd_left(r) < n) {
		r->err = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

static inline void dnsd_rd_skip(dnsd_rd_t *r, size_t n)
{
	(void)dnsd_rd_take(r, n);
}

static inline uint8_t dnsd_rd_u8(dnsd_rd_t *r)
{
	const uint8_t *p = dnsd_rd_take(r, 1);
	return p != NULL ? p[0] : 0;
}

static inline uint16_t dnsd_rd_u16(dnsd_rd_t *r)
{
	const uint8_t *p = dnsd_rd_take(r, 2);
	return p != NULL ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint32_t dnsd_rd_u32(dnsd_rd_t *r)
{
	const uint8_t *p = dnsd_rd_take(r, 4);
	return p != NULL ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
	                 : 0;
}

/*
 * An uncompressed name (the question, RFC 1035 4.1.2: we refuse pointers
 * there). Returns its start and sets *len to its wire length; on a pointer,
 * an extended label type, a name over 255 bytes or a short read the sticky
 * error is set and NULL returned.
 */
static inline const uint8_t *dnsd_rd_qname(dnsd_rd_t *r, size_t *len)
{
	const uint8_t *start = r->p, *p = r->p;
	if (r->err) {
		return NULL;
	}
	for (;;) {
		/* Label length byte and text must be in the message, 255 bytes in all. */
		if (p == r->end || p[0] > AYA_LABEL_MAX || (size_t)(r->end - p) <= p[0] ||
		    (size_t)(p - start) + 1u + p[0] > AYA_DNAME_MAX) {
			r->err = true;
			return NULL;
		}
		uint8_t l = p[0];
		p += 1u + l;
		if (l == 0) {
			break;
		}
	}
	r->p = p;
	*len = (size_t)(p - start);
	return start;
}

/* Skip a name that may end in a compression pointer (records we ignore). */
static inline void dnsd_rd_skip_name(dnsd_rd_t *r)
{
	size_t n = 0;
	for (;;) {
		uint8_t l = dnsd_rd_u8(r);
		if (r->err) {
			return;
		}
		if ((l & 0xc0) == 0xc0) {
			dnsd_rd_skip(r, 1);
			return;
		}
		if (l > AYA_LABEL_MAX || n + 1 + l > AYA_DNAME_MAX) {
			r->err = true;
			return;
		}
		n += 1 + (size_t)l;
		if (l == 0) {
			return;
		}
		dnsd_rd_skip(r, l);
	}
}

/* ------------------------------------------------------------------ write */

typedef struct dnsd_wr {
	uint8_t *base;
	uint8_t *p;
	uint8_t *end; /* current limit, <= the buffer's end */
	bool err;
} dnsd_wr_t;

static inline void dnsd_wr_init(dnsd_wr_t *w, uint8_t *buf, size_t len)
{
	w->base = buf;
	w->p = buf;
	w->end = buf + len;
	w->err = false;
}

static inline size_t dnsd_wr_off(const dnsd_wr_t *w)
{
	return (size_t)(w->p - w->base);
}

static inline size_t dnsd_wr_left(const dnsd_wr_t *w)
{
	return (size_t)(w->end - w->p);
}

/* Move the limit to base + len (callers only shrink it, or restore it). */
static inline void dnsd_wr_limit(dnsd_wr_t *w, size_t len)
{
	w->end = w->base + len;
}

/* Back to an earlier offset and clear the error (drop a record that did not fit). */
static inline void dnsd_wr_rewind(dnsd_wr_t *w, size_t off)
{
	w->p = w->base + off;
	w->err = false;
}

/* Room for n bytes, advanced past; NULL (sticky error) when they do not fit. */
static inline uint8_t *dnsd_wr_take(dnsd_wr_t *w, size_t n)
{
	if (w->err || dnsd_wr_left(w) < n) {
		w->err = true;
		return NULL;
	}
	uint8_t *p = w->p;
	w->p += n;
	return p;
}

static inline void dnsd_wr_bytes(dnsd_wr_t *w, const void *src, size_t n)
{
	uint8_t *p = dnsd_wr_take(w, n);
	if (p != NULL) {
		memcpy(p, src, n);
	}
}

static inline void dnsd_wr_u8(dnsd_wr_t *w, uint8_t v)
{
	uint8_t *p = dnsd_wr_take(w, 1);
	if (p != NULL) {
		p[0] = v;
	}
}

/* Length of a well-formed uncompressed name in buf[0..len), or 0. */
static inline size_t dnsd_name_len_in(const uint8_t *buf, size_t len)
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

static inline void dnsd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void dnsd_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t dnsd_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t dnsd_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void dnsd_wr_u16(dnsd_wr_t *w, uint16_t v)
{
	uint8_t *p = dnsd_wr_take(w, 2);
	if (p != NULL) {
		dnsd_put16(p, v);
	}
}

static inline void dnsd_wr_u32(dnsd_wr_t *w, uint32_t v)
{
	uint8_t *p = dnsd_wr_take(w, 4);
	if (p != NULL) {
		dnsd_put32(p, v);
	}
}

/* A compression pointer to offset off (< 0x4000, RFC 1035 4.1.4). */
static inline void dnsd_wr_ptr(dnsd_wr_t *w, size_t off)
{
	dnsd_wr_u16(w, (uint16_t)(0xc000 | off));
}

/* Overwrite 16 bits at an offset already written (RDLENGTH, counts). */
static inline void dnsd_wr_patch16(dnsd_wr_t *w, size_t off, uint16_t v)
{
	dnsd_put16(w->base + off, v);
}
