/*
 * TSIG (RFC 8945) for the answer engine: the TSIG RR, its MAC, and the
 * verify/sign slow path of a signed query. See tsig_int.h.
 *
 * Policy:
 *  - Key and algorithm must both match a configured key, else BADKEY (5.2.1):
 *    NOTAUTH, and a TSIG RR with no MAC (5.3.2).
 *  - One key is built in, the DNS well-known key (ISC genreport's `dnswkk`;
 *    draft-andrews-dnsop-well-known-key): name ".", hmac-sha256, 32 zero
 *    bytes. Everybody knows it, so it authenticates nobody: it only lets a
 *    client get a signed reply tied to its query's MAC (its answer cannot be
 *    spoofed by someone who did not see the query). It matches no
 *    allow_transfer entry (those name configured keys), and a configured
 *    key cannot be named "." (config/tsig.c).
 *  - A MAC longer than the hash, or shorter than max(10, hash/2) bytes, is
 *    FORMERR without TSIG (5.2.2.1); a truncated MAC inside those bounds is
 *    accepted (no local policy asks for more, so BADTRUNC is never sent).
 *  - A wrong MAC is BADSIG: NOTAUTH, unsigned.
 *  - The time is checked after the MAC (5.2.3): outside Time Signed +-
 *    Fudge is BADTIME, NOTAUTH, signed, with the request's Time Signed and
 *    our time in Other Data. No replay cache (the SHOULD of 5.2.3).
 *  - A valid request gets a signed reply, whatever its rcode: our time,
 *    fudge 300 s, the full MAC, the request's Original ID.
 */
#include "dnsd/tsig_int.h"

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "dnsd/query_int.h"
#include "dnsd/snap_int.h"

/* Wire names, lower case (RFC 8945 6): the C string's NUL is the root label. */
static const struct {
	const char *wire;
	size_t len;
	const char *digest;
	size_t mac_size;
} algs[CFG_TSIG_N_ALGS] = {
        [CFG_TSIG_HMAC_SHA256] = {"\x0bhmac-sha256", 13, "SHA256", 32},
        [CFG_TSIG_HMAC_SHA1] = {"\x09hmac-sha1", 11, "SHA1", 20},
        [CFG_TSIG_HMAC_SHA224] = {"\x0bhmac-sha224", 13, "SHA224", 28},
        [CFG_TSIG_HMAC_SHA384] = {"\x0bhmac-sha384", 13, "SHA384", 48},
        [CFG_TSIG_HMAC_SHA512] = {"\x0bhmac-sha512", 13, "SHA512", 64},
        [CFG_TSIG_HMAC_MD5] = {"\x08hmac-md5\x07sig-alg\x03reg\x03int", 26, "MD5", 16},
};

#define INC(c, f)                                                                                  \
	atomic_store_explicit(&(c)->f, atomic_load_explicit(&(c)->f, memory_order_relaxed) + 1,    \
	                      memory_order_relaxed)

const uint8_t *dnsd_tsig_alg_wire(cfg_tsig_alg_t alg, size_t *len)
{
	*len = algs[alg].len;
	return (const uint8_t *)algs[alg].wire;
}

size_t dnsd_tsig_mac_size(cfg_tsig_alg_t alg)
{
	return algs[alg].mac_size;
}

int dnsd_tsig_rr_parse(const uint8_t *rr, const uint8_t *end, dnsd_tsig_rr_t *out)
{
	dnsd_rd_t rd;
	dnsd_rd_init(&rd, rr, (size_t)(end - rr));
	out->name = dnsd_rd_qname(&rd, &out->name_len); /* no compression (RFC 8945 4.2) */
	uint16_t type = dnsd_rd_u16(&rd);
	uint16_t rclass = dnsd_rd_u16(&rd);
	uint32_t ttl = dnsd_rd_u32(&rd);
	uint16_t rdlen = dnsd_rd_u16(&rd);
	const uint8_t *rdata = dnsd_rd_take(&rd, rdlen);
	if (rd.err || type != DNSD_T_TSIG || rclass != DNSD_C_ANY || ttl != 0) {
		return -EBADMSG;
	}
	dnsd_rd_init(&rd, rdata, rdlen);
	out->alg = dnsd_rd_qname(&rd, &out->alg_len);
	uint64_t hi = dnsd_rd_u16(&rd);
	out->time_signed = hi << 32 | dnsd_rd_u32(&rd);
	out->fudge = dnsd_rd_u16(&rd);
	out->mac_len = dnsd_rd_u16(&rd);
	out->mac = dnsd_rd_take(&rd, out->mac_len);
	out->orig_id = dnsd_rd_u16(&rd);
	out->error = dnsd_rd_u16(&rd);
	out->other_len = dnsd_rd_u16(&rd);
	out->other = dnsd_rd_take(&rd, out->other_len);
	return rd.err || dnsd_rd_left(&rd) != 0 ? -EBADMSG : 0;
}

static void put48(uint8_t *p, uint64_t v)
{
	dnsd_put16(p, (uint16_t)(v >> 32));
	dnsd_put32(p + 2, (uint32_t)v);
}

int dnsd_tsig_mac(EVP_MAC_CTX *mc, const dnsd_tsig_key_t *key, const uint8_t *prior,
                  size_t prior_len, const uint8_t *msg, size_t len, uint16_t id, uint16_t arcount,
                  const dnsd_tsig_rr_t *v, bool timers_only, uint8_t *out)
{
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                         (char *)algs[key->alg].digest, 0),
	        OSSL_PARAM_construct_end(),
	};
	uint8_t head[12], pl[2], name[AYA_DNAME_MAX], alg[AYA_DNAME_MAX], vars[16];
	if (len < 12 || v->name_len > sizeof(name) || v->alg_len > sizeof(alg)) {
		return -EIO;
	}
	int ok = EVP_MAC_init(mc, key->secret, key->secret_len, params);
	if (ok && prior != NULL) {
		dnsd_put16(pl, (uint16_t)prior_len);
		ok = EVP_MAC_update(mc, pl, 2) && EVP_MAC_update(mc, prior, prior_len);
	}
	memcpy(head, msg, 12);
	dnsd_put16(head, id);
	dnsd_put16(head + 10, arcount);
	ok = ok && EVP_MAC_update(mc, head, 12) && EVP_MAC_update(mc, msg + 12, len - 12);
	if (!timers_only) {
		/* Canonical names (RFC 8945 4.3.3): lower case, uncompressed. */
		memcpy(name, v->name, v->name_len);
		memcpy(alg, v->alg, v->alg_len);
		aya_dname_lower(name);
		aya_dname_lower(alg);
		dnsd_put16(vars, DNSD_C_ANY);
		dnsd_put32(vars + 2, 0);
		ok = ok && EVP_MAC_update(mc, name, v->name_len) && EVP_MAC_update(mc, vars, 6) &&
		     EVP_MAC_update(mc, alg, v->alg_len);
	}
	put48(vars, v->time_signed);
	dnsd_put16(vars + 6, v->fudge);
	ok = ok && EVP_MAC_update(mc, vars, 8);
	if (!timers_only) {
		dnsd_put16(vars, v->error);
		dnsd_put16(vars + 2, v->other_len);
		ok = ok && EVP_MAC_update(mc, vars, 4) &&
		     (v->other_len == 0 || EVP_MAC_update(mc, v->other, v->other_len));
	}
	size_t n = 0;
	ok = ok && EVP_MAC_final(mc, out, &n, DNSD_TSIG_MAC_MAX);
	return ok && n == algs[key->alg].mac_size ? 0 : -EIO;
}

size_t dnsd_tsig_rr_len(const dnsd_tsig_rr_t *v)
{
	return v->name_len + 10u + v->alg_len + 16u + v->mac_len + v->other_len;
}

void dnsd_tsig_rr_write(dnsd_wr_t *w, const dnsd_tsig_rr_t *v)
{
	dnsd_wr_bytes(w, v->name, v->name_len);
	dnsd_wr_u16(w, DNSD_T_TSIG);
	dnsd_wr_u16(w, DNSD_C_ANY);
	dnsd_wr_u32(w, 0);
	dnsd_wr_u16(w, (uint16_t)(v->alg_len + 16u + v->mac_len + v->other_len));
	dnsd_wr_bytes(w, v->alg, v->alg_len);
	uint8_t *t = dnsd_wr_take(w, 6);
	if (t != NULL) {
		put48(t, v->time_signed);
	}
	dnsd_wr_u16(w, v->fudge);
	dnsd_wr_u16(w, v->mac_len);
	if (v->mac_len > 0) { /* no MAC (BADKEY, BADSIG): v->mac may be NULL */
		dnsd_wr_bytes(w, v->mac, v->mac_len);
	}
	dnsd_wr_u16(w, v->orig_id);
	dnsd_wr_u16(w, v->error);
	dnsd_wr_u16(w, v->other_len);
	if (v->other_len > 0) {
		dnsd_wr_bytes(w, v->other, v->other_len);
	}
}

/* ------------------------------------------------------------------ slow path */

static const uint8_t wkk_secret[32];
static const dnsd_tsig_key_t wkk = {.name = (const uint8_t *)"",
                                    .name_len = 1,
                                    .alg = CFG_TSIG_HMAC_SHA256,
                                    .secret = wkk_secret,
                                    .secret_len = sizeof(wkk_secret)};

static const dnsd_tsig_key_t *key_find(const dnsd_snap_t *snap, const dnsd_tsig_rr_t *rr)
{
	for (size_t i = 0; i < snap->n_keys; i++) {
		const dnsd_tsig_key_t *k = &snap->keys[i];
		size_t alg_len;
		const uint8_t *alg = dnsd_tsig_alg_wire(k->alg, &alg_len);
		if (aya_dname_equal(k->name, rr->name) && aya_dname_equal(alg, rr->alg)) {
			return k;
		}
	}
	size_t alg_len;
	if (rr->name[0] == 0 && aya_dname_equal(dnsd_tsig_alg_wire(wkk.alg, &alg_len), rr->alg)) {
		return &wkk;
	}
	return NULL;
}

int dnsd_tsig_verify(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const uint8_t *msg, size_t len,
                     const uint8_t *tsig, uint64_t now_s)
{
	dnsd_tsig_state_t *ts = &ctx->tsig;
	dnsd_counters_t *c = &ctx->counters;
	ts->key = NULL;
	ts->error = 0;
	if (dnsd_tsig_rr_parse(tsig, msg + len, &ts->rr) != 0) {
		INC(c, tsig_formerr);
		return DNSD_RCODE_FORMERR;
	}
	const dnsd_tsig_key_t *key = key_find(snap, &ts->rr);
	if (key == NULL) {
		INC(c, tsig_badkey);
		ts->error = DNSD_TSIG_BADKEY;
		return DNSD_RCODE_NOTAUTH;
	}
	size_t hlen = algs[key->alg].mac_size, min = hlen / 2 > 10 ? hlen / 2 : 10;
	if (ts->rr.mac_len > hlen || ts->rr.mac_len < min) {
		INC(c, tsig_formerr);
		return DNSD_RCODE_FORMERR;
	}
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	size_t off = (size_t)(tsig - msg);
	if (dnsd_tsig_mac(ctx->hmac_ctx, key, NULL, 0, msg, off, ts->rr.orig_id,
	                  (uint16_t)(dnsd_get16(msg + 10) - 1), &ts->rr, false, mac) != 0 ||
	    CRYPTO_memcmp(mac, ts->rr.mac, ts->rr.mac_len) != 0) {
		INC(c, tsig_badsig);
		ts->error = DNSD_TSIG_BADSIG;
		return DNSD_RCODE_NOTAUTH;
	}
	ts->key = key;
	uint64_t t = ts->rr.time_signed;
	if ((now_s > t ? now_s - t : t - now_s) > ts->rr.fudge) {
		INC(c, tsig_badtime);
		ts->error = DNSD_TSIG_BADTIME;
		return DNSD_RCODE_NOTAUTH;
	}
	INC(c, tsig_ok);
	return -1;
}

const dnsd_tsig_key_t *dnsd_tsig_query_key(const dnsd_ctx_t *ctx)
{
	return ctx->tsig.error == 0 ? ctx->tsig.key : NULL;
}

size_t dnsd_tsig_reply_len(const dnsd_ctx_t *ctx)
{
	const dnsd_tsig_state_t *ts = &ctx->tsig;
	if (ts->key == NULL || ts->error == DNSD_TSIG_BADSIG) {
		return ts->rr.name_len + 10u + ts->rr.alg_len + 16u;
	}
	return ts->key->name_len + 10u + algs[ts->key->alg].len + 16u +
	       algs[ts->key->alg].mac_size + (ts->error == DNSD_TSIG_BADTIME ? 6u : 0u);
}

/* Append v and count it in ARCOUNT. */
static void put_rr(dnsd_wr_t *w, const dnsd_tsig_rr_t *v)
{
	dnsd_tsig_rr_write(w, v);
	if (!w->err) {
		dnsd_put16(w->base + 10, (uint16_t)(dnsd_get16(w->base + 10) + 1));
	}
}

void dnsd_tsig_sign_next(dnsd_ctx_t *ctx, dnsd_wr_t *w, uint64_t now_s)
{
	dnsd_tsig_state_t *ts = &ctx->tsig;
	const dnsd_tsig_key_t *key = ts->key;
	if (key == NULL || ts->error != 0) {
		return;
	}
	size_t mac_len = algs[key->alg].mac_size;
	dnsd_tsig_rr_t v = {.name = key->name,
	                    .name_len = key->name_len,
	                    .time_signed = now_s,
	                    .fudge = DNSD_TSIG_FUDGE_S,
	                    .orig_id = ts->rr.orig_id};
	v.alg = dnsd_tsig_alg_wire(key->alg, &v.alg_len);
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	if (dnsd_tsig_mac(ctx->hmac_ctx, key, ts->mac, mac_len, w->base, dnsd_wr_off(w), v.orig_id,
	                  dnsd_get16(w->base + 10), &v, true, mac) != 0) {
		return;
	}
	memcpy(ts->mac, mac, mac_len); /* the next message chains on this one */
	v.mac = ts->mac;
	v.mac_len = (uint16_t)mac_len;
	put_rr(w, &v);
}

void dnsd_tsig_sign(dnsd_ctx_t *ctx, dnsd_wr_t *w, uint64_t now_s)
{
	dnsd_tsig_state_t *ts = &ctx->tsig;
	const dnsd_tsig_key_t *key = ts->key;
	dnsd_tsig_rr_t v = ts->rr;
	v.error = ts->error;
	v.other_len = 0;
	v.mac_len = 0;
	if (key != NULL && ts->error != DNSD_TSIG_BADSIG) {
		v.name = key->name;
		v.name_len = key->name_len;
		v.alg = dnsd_tsig_alg_wire(key->alg, &v.alg_len);
		if (ts->error == DNSD_TSIG_BADTIME) {
			put48(ts->other, now_s); /* the request's Time Signed stays (5.2.3) */
			v.other = ts->other;
			v.other_len = 6;
		} else {
			v.time_signed = now_s;
			v.fudge = DNSD_TSIG_FUDGE_S;
		}
		uint8_t *b = w->base;
		if (dnsd_tsig_mac(ctx->hmac_ctx, key, ts->rr.mac, ts->rr.mac_len, b, dnsd_wr_off(w),
		                  v.orig_id, dnsd_get16(b + 10), &v, false, ts->mac) != 0) {
			return; /* OpenSSL failed: the reply goes unsigned, the client rejects it */
		}
		v.mac = ts->mac;
		v.mac_len = (uint16_t)algs[key->alg].mac_size;
	}
	put_rr(w, &v);
}
