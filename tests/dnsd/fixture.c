/*
 * dnsd test fixture: cfg_t from RR text with ldns, queries by hand.
 */
#include "tests/dnsd/fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "common/dname.h"

static const uint8_t fx_secret[16] = {0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08,
                                      0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00};

int fx_init(fx_t *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->arena = aya_arena_new();
	if (fx->arena == NULL) {
		return -ENOMEM;
	}
	fx->cfg.node.name = "node1";
	fx->cfg.node.region = "test";
	fx->cfg.dns.max_udp_payload = 1232;
	fx->cfg.dns.cookies = true;
	fx->cfg.dns.cookie_secret_set = true;
	memcpy(fx->cfg.dns.cookie_secret, fx_secret, sizeof(fx_secret));
	fx->cfg.zones = fx->zones;
	return 0;
}

void fx_fini(fx_t *fx)
{
	aya_arena_free(fx->arena);
	fx->arena = NULL;
}

/* One RR string to a cfg_rr_t in the arena. */
static int rr_convert(fx_t *fx, const char *text, ldns_rdf *origin, cfg_rr_t *out)
{
	ldns_rr *rr = NULL;
	ldns_buffer *buf = ldns_buffer_new(512);
	int rc = -EINVAL;
	if (buf == NULL || ldns_rr_new_frm_str(&rr, text, 3600, origin, NULL) != LDNS_STATUS_OK ||
	    ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		fprintf(stderr, "fixture: bad RR: %s\n", text);
		goto out;
	}
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint8_t *o = aya_arena_memdup(fx->arena, ldns_rdf_data(owner), ldns_rdf_size(owner));
	uint8_t *rd =
	        aya_arena_memdup(fx->arena, ldns_buffer_begin(buf), ldns_buffer_position(buf));
	if (o == NULL || rd == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	aya_dname_lower(o);
	out->owner = o;
	out->type = (uint16_t)ldns_rr_get_type(rr);
	out->rclass = (uint16_t)ldns_rr_get_class(rr);
	out->ttl = ldns_rr_ttl(rr);
	out->rdlen = (uint16_t)ldns_buffer_position(buf);
	out->rdata = rd;
	rc = 0;
out:
	ldns_rr_free(rr);
	ldns_buffer_free(buf);
	return rc;
}

int fx_add_zone(fx_t *fx, const char *origin, const char *const *rrs, size_t n)
{
	if (fx->cfg.n_zones == FX_MAX_ZONES) {
		return -ENOSPC;
	}
	cfg_zone_t *z = &fx->zones[fx->cfg.n_zones];
	memset(z, 0, sizeof(*z));
	if (aya_dname_from_str(origin, z->apex) < 0) {
		return -EINVAL;
	}
	aya_dname_lower(z->apex);
	ldns_rdf *o = ldns_dname_new_frm_str(origin);
	cfg_rr_t *out = aya_arena_alloc(fx->arena, (n > 0 ? n : 1) * sizeof(*out));
	int rc = o != NULL && out != NULL ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = rr_convert(fx, rrs[i], o, &out[i]);
		out[i].line = (unsigned)i + 1;
	}
	ldns_rdf_deep_free(o);
	if (rc != 0) {
		return rc;
	}
	char *name = aya_arena_strdup(fx->arena, origin);
	if (name == NULL) {
		return -ENOMEM;
	}
	size_t nl = strlen(name);
	if (nl > 1 && name[nl - 1] == '.') {
		name[nl - 1] = '\0';
	}
	z->name = name;
	z->rrs = out;
	z->n_rrs = n;
	if (n > 0 && out[0].type == LDNS_RR_TYPE_SOA && out[0].rdlen >= 20) {
		const uint8_t *s = out[0].rdata + out[0].rdlen - 20;
		z->serial =
		        (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	}
	fx->cfg.n_zones++;
	return 0;
}

int fx_allow_xfr(fx_t *fx, size_t i, const char *prefix)
{
	char addr[64];
	const char *slash = strchr(prefix, '/');
	if (slash == NULL || (size_t)(slash - prefix) >= sizeof(addr)) {
		return -EINVAL;
	}
	memcpy(addr, prefix, (size_t)(slash - prefix));
	addr[slash - prefix] = '\0';
	cfg_prefix_t *p = aya_arena_alloc(fx->arena, sizeof(*p));
	if (p == NULL) {
		return -ENOMEM;
	}
	p->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(p->family, addr, p->addr) != 1) {
		return -EINVAL;
	}
	p->len = (uint8_t)atoi(slash + 1);
	fx->zones[i].xfr_allow = p;
	fx->zones[i].n_xfr_allow = 1;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t fx_query(const fx_q_t *q, uint8_t *buf, size_t cap)
{
	uint8_t name[AYA_DNAME_MAX];
	int nl = aya_dname_from_str(q->name, name);
	/* aya_dname_from_str lower-cases nothing, so the 0x20 case survives. */
	size_t need = 12 + (size_t)(nl > 0 ? nl : 0) + 4 + (q->edns ? 11 + q->opts_len : 0);
	if (nl < 0 || need > cap) {
		return 0;
	}
	memset(buf, 0, 12);
	put16(buf, q->id);
	buf[2] = (uint8_t)((q->qr ? 0x80 : 0) | (q->opcode & 0xf) << 3 | (q->rd ? 1 : 0));
	buf[3] = (uint8_t)(q->cd ? 0x10 : 0);
	put16(buf + 4, 1);
	put16(buf + 10, q->edns ? 1 : 0);
	size_t n = 12;
	memcpy(buf + n, name, (size_t)nl);
	n += (size_t)nl;
	put16(buf + n, q->type);
	put16(buf + n + 2, q->rclass != 0 ? q->rclass : 1);
	n += 4;
	if (q->edns) {
		buf[n] = 0;
		put16(buf + n + 1, 41);
		put16(buf + n + 3, q->payload != 0 ? q->payload : 1232);
		buf[n + 5] = 0;
		buf[n + 6] = q->version;
		buf[n + 7] = q->do_bit ? 0x80 : 0;
		buf[n + 8] = 0;
		put16(buf + n + 9, (uint16_t)q->opts_len);
		n += 11;
		if (q->opts_len > 0) {
			memcpy(buf + n, q->opts, q->opts_len);
		}
		n += q->opts_len;
	}
	return n;
}

bool fx_opt(const uint8_t *resp, size_t len, uint16_t code, uint8_t *val, size_t cap, size_t *vlen,
            bool *has_opt)
{
	ldns_pkt *pkt = NULL;
	bool found = false;
	*has_opt = false;
	if (ldns_wire2pkt(&pkt, resp, len) != LDNS_STATUS_OK) {
		return false;
	}
	*has_opt = ldns_pkt_edns(pkt);
	ldns_rdf *d = ldns_pkt_edns_data(pkt);
	if (d != NULL) {
		const uint8_t *p = ldns_rdf_data(d);
		size_t n = ldns_rdf_size(d), i = 0;
		while (i + 4 <= n) {
			uint16_t c = fx_u16(p + i), l = fx_u16(p + i + 2);
			if (i + 4 + l > n) {
				break;
			}
			if (c == code) {
				*vlen = l;
				memcpy(val, p + i + 4, l < cap ? l : cap);
				found = true;
				break;
			}
			i += 4 + (size_t)l;
		}
	}
	ldns_pkt_free(pkt);
	return found;
}
