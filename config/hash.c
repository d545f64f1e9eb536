/*
 * The config hash each node gossips, so that drift between nodes
 * shows in `ayactl members`. It is computed from the parsed cfg_t, not from
 * the file's text: comments, whitespace, quoting and key order never count,
 * defaults written out or left implicit hash alike, and zone files count by
 * their parsed records (a comment or a reordered record set in a zone file
 * is no drift either).
 *
 * Covered: regions, geo maps and default order, monitors, zones (name, every
 * record, transfer ACL, signing settings but the key directory) with their
 * services, pools, endpoints and policy.
 * Left out, because every node's file necessarily differs there: node,
 * dns, control, state_dir, log and gossip; and the path of the geo database
 * (nodes may keep it in different places; its content is not read here).
 *
 * Every variable-length field is hashed with its length (or a terminator),
 * so moving bytes between neighbouring fields changes the hash. The value
 * is compared between nodes of possibly different builds: change the
 * encoding only together with a note in docs/dev/gossip.md.
 */
#include "config/config.h"

#include <string.h>

#include "common/hash.h"

static uint64_t h_u64(uint64_t h, uint64_t v)
{
	uint8_t b[8];
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
	return aya_fnv1a(h, b, sizeof(b));
}

/* A string with its terminator; NULL differs from "". */
static uint64_t h_str(uint64_t h, const char *s)
{
	if (s == NULL) {
		return aya_fnv1a_byte(h, 0xff);
	}
	return aya_fnv1a_byte(aya_fnv1a_str(h, s), 0);
}

static uint64_t h_dbl(uint64_t h, double v)
{
	uint64_t bits;
	v = v == 0.0 ? 0.0 : v; /* -0 and 0 */
	memcpy(&bits, &v, sizeof(bits));
	return h_u64(h, bits);
}

static uint64_t h_region(uint64_t h, const cfg_region_t *r)
{
	h = h_str(h, r->name);
	h = h_dbl(h, r->lat);
	h = h_dbl(h, r->lon);
	h = h_dbl(h, r->cost);
	return h_u64(h, r->burst);
}

static uint64_t h_load_src(uint64_t h, const cfg_load_src_t *l)
{
	h = h_u64(h, (uint64_t)l->kind);
	return h_str(h, l->key);
}

static uint64_t h_monitor(uint64_t h, const cfg_monitor_t *m)
{
	h = h_str(h, m->name);
	h = h_u64(h, (uint64_t)m->type);
	h = h_u64(h, m->port);
	h = h_str(h, m->path);
	h = h_str(h, m->host);
	h = h_u64(h, m->n_expect);
	for (size_t i = 0; i < m->n_expect; i++) {
		h = h_u64(h, m->expect[i]);
	}
	h = h_str(h, m->body);
	h = h_u64(h, m->interval_ms);
	h = h_u64(h, m->timeout_ms);
	h = h_u64(h, m->rise);
	h = h_u64(h, m->fall);
	h = h_dbl(h, m->jitter);
	h = h_u64(h, m->tls_verify);
	h = h_str(h, m->sni);
	h = h_load_src(h, &m->load);
	h = h_load_src(h, &m->capacity);
	h = h_u64(h, m->slow_start_ms);
	return h_u64(h, m->keepalive);
}

static uint64_t h_geo(uint64_t h, const cfg_geo_t *g)
{
	h = h_u64(h, g->database != NULL); /* geo on or off, not where the file is */
	h = h_u64(h, g->n_maps);
	for (size_t i = 0; i < g->n_maps; i++) {
		const cfg_geo_map_t *m = &g->maps[i];
		h = h_u64(h, (uint64_t)m->kind);
		h = h_str(h, m->code);
		h = h_u64(h, m->n_regions);
		for (size_t j = 0; j < m->n_regions; j++) {
			h = h_u64(h, m->regions[j]);
		}
	}
	h = h_u64(h, g->n_default_order);
	for (size_t i = 0; i < g->n_default_order; i++) {
		h = h_u64(h, g->default_order[i]);
	}
	return h;
}

static uint64_t h_pool(uint64_t h, const cfg_pool_t *p)
{
	h = h_str(h, p->region);
	h = h_str(h, p->monitor);
	h = h_u64(h, (uint64_t)p->observers);
	h = h_u64(h, (uint64_t)p->quorum);
	h = h_u64(h, (uint64_t)p->unobserved);
	h = h_dbl(h, p->target);
	h = h_dbl(h, p->limit);
	h = h_u64(h, p->n_endpoints);
	for (size_t i = 0; i < p->n_endpoints; i++) {
		const cfg_endpoint_t *e = &p->endpoints[i];
		h = h_u64(h, (uint64_t)e->family);
		h = aya_fnv1a(h, e->addr, e->family == AF_INET6 ? 16 : 4);
		h = h_u64(h, e->weight);
		h = h_u64(h, e->capacity);
	}
	return h;
}

static uint64_t h_service(uint64_t h, const cfg_service_t *s)
{
	h = h_str(h, s->name);
	h = h_u64(h, s->ttl_s);
	h = h_u64(h, (uint64_t)s->all_down);
	h = h_dbl(h, s->cost_tolerance_km);
	h = h_u64(h, s->n_policy);
	for (size_t i = 0; i < s->n_policy; i++) {
		h = h_u64(h, (uint64_t)s->policy[i].kind);
		h = h_u64(h, s->policy[i].n);
	}
	h = h_u64(h, s->n_pools);
	for (size_t i = 0; i < s->n_pools; i++) {
		h = h_pool(h, &s->pools[i]);
	}
	return h;
}

static uint64_t h_records(uint64_t h, const cfg_zone_t *z)
{
	h = h_u64(h, z->n_rrs);
	for (size_t i = 0; i < z->n_rrs; i++) {
		const cfg_rr_t *rr = &z->rrs[i];
		h = aya_fnv1a(h, rr->owner, aya_dname_len(rr->owner));
		h = h_u64(h, rr->type);
		h = h_u64(h, rr->rclass);
		h = h_u64(h, rr->ttl);
		h = h_u64(h, rr->rdlen);
		h = aya_fnv1a(h, rr->rdata, rr->rdlen);
	}
	return h;
}

static uint64_t h_zone(uint64_t h, const cfg_zone_t *z)
{
	h = h_str(h, z->name);
	h = h_records(h, z);
	h = h_u64(h, z->n_xfr_allow);
	for (size_t i = 0; i < z->n_xfr_allow; i++) {
		const cfg_prefix_t *p = &z->xfr_allow[i];
		h = h_u64(h, (uint64_t)p->family);
		h = aya_fnv1a(h, p->addr, sizeof(p->addr));
		h = h_u64(h, p->len);
	}
	/* Only when used: configs without TSIG or NOTIFY keep their hash. */
	if (z->n_xfr_acl > 0 || z->n_notify > 0) {
		h = h_u64(h, z->n_xfr_acl);
		for (size_t i = 0; i < z->n_xfr_acl; i++) {
			const cfg_xfr_acl_t *a = &z->xfr_acl[i];
			h = h_u64(h, a->key);
			h = h_u64(h, a->any_addr);
			h = h_u64(h, (uint64_t)a->prefix.family);
			h = aya_fnv1a(h, a->prefix.addr, sizeof(a->prefix.addr));
			h = h_u64(h, a->prefix.len);
		}
		h = h_u64(h, z->n_notify);
		for (size_t i = 0; i < z->n_notify; i++) {
			h = h_str(h, z->notify[i].text);
		}
		h = h_u64(h, z->notify_key);
	}
	h = h_u64(h, z->n_services);
	for (size_t i = 0; i < z->n_services; i++) {
		h = h_service(h, &z->services[i]);
	}
	/*
	 * Only when signed: unsigned zones keep their hash. Nodes signing with
	 * another algorithm or layout serve DNSKEY RRsets that disagree. The key
	 * directory is a path (it may differ between nodes): left out.
	 */
	if (z->dnssec.enabled) {
		h = aya_fnv1a_str(h, "dnssec");
		h = h_u64(h, (uint64_t)z->dnssec.algorithm);
		h = h_u64(h, z->dnssec.split);
		h = h_u64(h, z->dnssec.signature_lifetime_s);
		h = h_u64(h, z->dnssec.dnskey_ttl_s);
	}
	return h;
}

uint64_t cfg_hash(const cfg_t *cfg)
{
	uint64_t h = AYA_FNV_OFFSET;
	h = aya_fnv1a_str(h, "aya-config-1");
	h = h_u64(h, cfg->n_regions);
	for (size_t i = 0; i < cfg->n_regions; i++) {
		h = h_region(h, &cfg->regions[i]);
	}
	h = h_geo(h, &cfg->geo);
	h = h_u64(h, cfg->n_monitors);
	for (size_t i = 0; i < cfg->n_monitors; i++) {
		h = h_monitor(h, &cfg->monitors[i]);
	}
	h = h_u64(h, cfg->n_zones);
	for (size_t i = 0; i < cfg->n_zones; i++) {
		h = h_zone(h, &cfg->zones[i]);
	}
	/* Key names and algorithms, never the secrets (the hash is gossiped). */
	for (size_t i = 0; i < cfg->n_keys; i++) {
		h = h_str(h, cfg->keys[i].name);
		h = h_u64(h, cfg->keys[i].alg);
	}
	return h;
}

size_t cfg_zones_unbumped(const cfg_t *old, const cfg_t *cfg, const cfg_zone_t **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const cfg_zone_t *z = &cfg->zones[i];
		const cfg_zone_t *was = cfg_zone_find(old, z->name);
		if (was != NULL && was->serial == z->serial &&
		    h_records(AYA_FNV_OFFSET, was) != h_records(AYA_FNV_OFFSET, z)) {
			if (n < max) {
				out[n] = z;
			}
			n++;
		}
	}
	return n;
}
