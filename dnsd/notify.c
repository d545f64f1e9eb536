/*
 * NOTIFY messages (RFC 1996) a primary sends to its secondaries, signed
 * with TSIG (RFC 8945) when the zone has a notify_key. Built here so the
 * daemon, which sends them, needs no DNS wire code of its own. Control
 * thread; allocates (the MAC context) per message.
 */
#include "dnsd/dnsd.h"

#include <errno.h>
#include <string.h>

#include "dnsd/snap_int.h"
#include "dnsd/tsig_int.h"
#include "dnsd/wire_int.h"

static int sign(const cfg_key_t *ck, dnsd_wr_t *w, uint16_t id, uint64_t now_s)
{
	dnsd_tsig_key_t key = {.name = ck->owner,
	                       .name_len = (uint8_t)aya_dname_len(ck->owner),
	                       .alg = ck->alg,
	                       .secret = ck->secret,
	                       .secret_len = ck->secret_len};
	dnsd_tsig_rr_t v = {.name = key.name,
	                    .name_len = key.name_len,
	                    .time_signed = now_s,
	                    .fudge = DNSD_TSIG_FUDGE_S,
	                    .orig_id = id};
	v.alg = dnsd_tsig_alg_wire(key.alg, &v.alg_len);
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mc = m != NULL ? EVP_MAC_CTX_new(m) : NULL;
	int rc = mc != NULL ? dnsd_tsig_mac(mc, &key, NULL, 0, w->base, dnsd_wr_off(w), id, 0, &v,
	                                    false, mac)
	                    : -ENOMEM;
	EVP_MAC_CTX_free(mc);
	EVP_MAC_free(m);
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

int dnsd_notify_reply(const uint8_t *msg, size_t len, uint16_t id)
{
	if (len < 12 || dnsd_get16(msg) != id || (msg[2] & 0x80) == 0 ||
	    ((msg[2] >> 3) & 0xf) != DNSD_OPCODE_NOTIFY) {
		return -EBADMSG;
	}
	return msg[3] & 0x0f;
}
