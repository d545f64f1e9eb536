/*
 * NOTIFY messages (RFC 1996) a primary sends to its secondaries, signed
 * with TSIG (RFC 8945) when the zone has a notify_key. Built here so the
 * daemon, which sends them, needs no DNS wire code of its own. Control
 * thread; allocates (the MAC context) per message.
 */
#include "dnsd/dnsd.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dnsd/snap_int.h"
#include "dnsd/tsig_int.h"
#include "dnsd/wire_int.h"

static dnsd_tsig_key_t key_of(const cfg_key_t *ck)
{
	return (dnsd_tsig_key_t){.name = ck->owner,
	                         .name_len = (uint8_t)aya_dname_len(ck->owner),
	                         .alg = ck->alg,
	                         .secret = ck->secret,
	                         .secret_len = ck->secret_len};
}

/* The MAC of msg[0..len) with the TSIG variables of v, on a fresh EVP_MAC context. */
static int mac_of(const dnsd_tsig_key_t *key, const uint8_t *prior, size_t prior_len,
                  const uint8_t *msg, size_t len, uint16_t arcount, const dnsd_tsig_rr_t *v,
                  uint8_t *mac)
{
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = m != NULL ? EVP_MAC_CTX_new(m) : NULL;
	int rc = mc != NULL ? dnsd_tsig_mac(mc, key, prior, prior_len, msg, len, v->orig_id,
	                                    arcount, v, false, mac)
	                    : -ENOMEM;
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
	return rc;
}

static int sign(const cfg_key_t *ck, dnsd_wr_t *w, uint16_t id, uint64_t now_s)
{
	dnsd_tsig_key_t key = key_of(ck);
	dnsd_tsig_rr_t v = {.name = key.name,
	                    .name_len = key.name_len,
	                    .time_signed = now_s,
	                    .fudge = DNSD_TSIG_FUDGE_S,
	                    .orig_id = id};
	v.alg = dnsd_tsig_alg_wire(key.alg, &v.alg_len);
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	int rc = mac_of(&key, NULL, 0, w->base, dnsd_wr_off(w), 0, &v, mac);
	if (rc != 0) {
		return rc;
	}
	v.mac = mac;
	v.mac_len = (uint16_t)dnsd_tsig_mac_size(key.alg);
	dnsd_tsig_rr_write(w, &v);
	dnsd_put16(w->base + 10, 1);
	return w->err ? -ENOSPC : 0;
}

size_t dnsd_notify_build(const uint8_t *apex, const cfg_key_t *key, uint16_t id, uint64_t now_s,
                         uint8_t *out, size_t outmax)
{
	dnsd_wr_t w;
	dnsd_wr_init(&w, out, outmax);
	dnsd_wr_u16(&w, id);
	dnsd_wr_u16(&w, DNSD_OPCODE_NOTIFY << 11 | 0x0400); /* AA (RFC 1996 3.7) */
	dnsd_wr_u16(&w, 1);
	dnsd_wr_u16(&w, 0);
	dnsd_wr_u16(&w, 0);
	dnsd_wr_u16(&w, 0);
	dnsd_wr_bytes(&w, apex, aya_dname_len(apex));
	dnsd_wr_u16(&w, DNSD_T_SOA);
	dnsd_wr_u16(&w, DNSD_C_IN);
	if (w.err || (key != NULL && sign(key, &w, id, now_s) != 0)) {
		return 0;
	}
	return dnsd_wr_off(&w);
}

/* The last record of msg, when it is a TSIG RR: 0 and *rr, *off (where it starts). */
static int last_tsig(const uint8_t *msg, size_t len, dnsd_tsig_rr_t *rr, size_t *off)
{
	dnsd_rd_t rd;
	dnsd_rd_init(&rd, msg, len);
	dnsd_rd_skip(&rd, 12);
	unsigned qd = dnsd_get16(msg + 4);
	unsigned rrs = (unsigned)dnsd_get16(msg + 6) + dnsd_get16(msg + 8) + dnsd_get16(msg + 10);
	for (unsigned i = 0; i < qd; i++) {
		dnsd_rd_skip_name(&rd);
		dnsd_rd_skip(&rd, 4);
	}
	for (unsigned i = 0; i + 1 < rrs && !rd.err; i++) {
		dnsd_rd_skip_name(&rd);
		dnsd_rd_skip(&rd, 8);
		dnsd_rd_skip(&rd, dnsd_rd_u16(&rd));
	}
	if (rd.err || rrs == 0 || dnsd_get16(msg + 10) == 0) {
		return -EBADMSG;
	}
	*off = dnsd_rd_off(&rd);
	return dnsd_tsig_rr_parse(rd.p, rd.end, rr);
}

int dnsd_notify_reply(const uint8_t *req, size_t req_len, const uint8_t *msg, size_t len,
                      const cfg_key_t *ck, uint64_t now_s)
{
	if (len < 12 || req_len < 12 || dnsd_get16(msg) != dnsd_get16(req) ||
	    (msg[2] & 0x80) == 0 || ((msg[2] >> 3) & 0xf) != DNSD_OPCODE_NOTIFY) {
		return -EBADMSG;
	}
	int rcode = msg[3] & 0x0f;
	if (ck == NULL) {
		return rcode;
	}
	dnsd_tsig_rr_t q, r;
	size_t q_off, r_off;
	if (last_tsig(req, req_len, &q, &q_off) != 0 || last_tsig(msg, len, &r, &r_off) != 0) {
		return -EACCES;
	}
	if (r.error != 0 && r.mac_len == 0) {
		return rcode != 0 ? rcode : -EACCES; /* BADKEY/BADSIG from the secondary */
	}
	dnsd_tsig_key_t key = key_of(ck);
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	uint64_t t = r.time_signed;
	if (!aya_dname_equal(r.name, key.name) || !aya_dname_equal(r.alg, q.alg) ||
	    r.mac_len != dnsd_tsig_mac_size(key.alg) ||
	    mac_of(&key, q.mac, q.mac_len, msg, r_off, (uint16_t)(dnsd_get16(msg + 10) - 1), &r,
	           mac) != 0 ||
	    CRYPTO_memcmp(mac, r.mac, r.mac_len) != 0 ||
	    (now_s > t ? now_s - t : t - now_s) > r.fudge) {
		return -EACCES;
	}
	return rcode;
}
