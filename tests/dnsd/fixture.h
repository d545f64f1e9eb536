/*
 * Test fixture for dnsd: hand-built cfg_t values (the config loader is not
 * needed), zones from RR text via ldns, raw query building and response
 * inspection. Test code only; everything lives in the fixture's arena and is
 * freed by fx_fini().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "config/config.h"

#define FX_MAX_ZONES 8

typedef struct fx {
	aya_arena_t *arena;
	cfg_t cfg;
	cfg_zone_t zones[FX_MAX_ZONES];
} fx_t;

/* Defaults: node "node1", nsid unset, payload 1232, cookies on with a fixed secret. */
int fx_init(fx_t *fx);
void fx_fini(fx_t *fx);
/*
 * Add a zone from RR strings in presentation form ("www 300 IN A 192.0.2.1",
 * relative names completed with origin); the SOA must come first. Owners are
 * lower-cased. Returns 0 or -EINVAL (the bad line is printed to stderr).
 */
int fx_add_zone(fx_t *fx, const char *origin, const char *const *rrs, size_t n);
/* Allow AXFR of zone i from a prefix ("127.0.0.0/8"). */
int fx_allow_xfr(fx_t *fx, size_t i, const char *prefix);

/* A query to build. */
typedef struct fx_q {
	const char *name;
	uint16_t type;
	uint16_t rclass; /* 0 = IN */
	uint8_t opcode;
	bool rd, cd, qr;
	uint16_t id;
	bool edns;
	uint16_t payload; /* 0 = 1232 */
	uint8_t version;
	bool do_bit;
	const uint8_t *opts; /* raw EDNS options */
	size_t opts_len;
} fx_q_t;

/* Wire query into buf; returns its length (0 when it does not fit). */
size_t fx_query(const fx_q_t *q, uint8_t *buf, size_t cap);

/* Header fields of a raw response. */
static inline uint16_t fx_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
#define FX_AA(r) (((r)[2] & 0x04) != 0)
#define FX_TC(r) (((r)[2] & 0x02) != 0)
#define FX_RD(r) (((r)[2] & 0x01) != 0)
#define FX_QR(r) (((r)[2] & 0x80) != 0)
#define FX_RA(r) (((r)[3] & 0x80) != 0)
#define FX_AD(r) (((r)[3] & 0x20) != 0)
#define FX_CD(r) (((r)[3] & 0x10) != 0)
#define FX_RCODE(r) ((r)[3] & 0x0f)
#define FX_OPCODE(r) (((r)[2] >> 3) & 0x0f)
#define FX_QD(r) fx_u16((r) + 4)
#define FX_AN(r) fx_u16((r) + 6)
#define FX_NS(r) fx_u16((r) + 8)
#define FX_AR(r) fx_u16((r) + 10)

/*
 * Find EDNS option `code` in the response's OPT record (parsed with ldns).
 * Returns true and copies at most cap bytes to val (*len = full length).
 * *has_opt tells whether the response had an OPT at all.
 */
bool fx_opt(const uint8_t *resp, size_t len, uint16_t code, uint8_t *val, size_t cap, size_t *vlen,
            bool *has_opt);
