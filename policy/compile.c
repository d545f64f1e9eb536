/*
 * The policy snapshot compiler: cfg services + a state view (health from
 * observations, policy/health.c; drains) -> one arena.
 * Services are found by owner name through an open-addressing hash built
 * here (case-insensitive, so the query name need not be lowered first).
 * Everything in the snapshot is read-only once pol_snap_build() returns.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/log.h"
#include "policy/policy_int.h"
#include "common/hash.h"

/* Hash a wire name label by label, so that only the name's own bytes count. */
static uint64_t owner_hash(const uint8_t *d)
{
	uint64_t h = AYA_FNV_OFFSET;
	size_t pos = 0;
	while (pos < AYA_DNAME_MAX && d[pos] != 0) {
		size_t len = d[pos];
		for (size_t i = pos; i <= pos + len && i < AYA_DNAME_MAX; i++) {
			uint8_t c = d[i];
			if (i > pos && c >= 'A' && c <= 'Z') {
				c = (uint8_t)(c + 32);
			}
			h = aya_fnv1a_byte(h, c);
		}
		pos += len + 1;
	}
	return h ^ (h >> 31);
}

/* The tolerance of the service's latency filter in microseconds; 0 without one. */
static uint32_t latency_tolerance_us(const pol_service_t *ps)
{
	for (size_t i = 0; i < ps->n_filters; i++) {
		if (ps->filters[i].kind == CFG_FILTER_LATENCY) {
			return cfg_filter_arg(&ps->filters[i]) * 1000u;
		}
	}
	return 0;
}

/*
 * weighted's capacity shares of one pool's endpoints: capacity over the
 * mean of the pool's known capacities, an unknown one counting as the mean
 * (share 1); every share 1 when none is known, so such a pool draws by
 * weight x headroom exactly as before capacities counted.
 */
static void capacity_shares(pol_endpoint_t *e, size_t n)
{
	double sum = 0;
	size_t known = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].capacity > 0) {
			sum += (double)e[i].capacity;
			known++;
		}
	}
	double mean = known > 0 ? sum / (double)known : 0;
	for (size_t i = 0; i < n; i++) {
		e[i].cap_share =
		        known > 0 && e[i].capacity > 0 ? (double)e[i].capacity / mean : 1.0;
	}
}

static int fill_pool(pol_snap_t *s, const cfg_t *cfg, const cfg_service_t *cs, size_t pi,
                     pol_service_t *ps, pol_endpoint_t *eps, uint16_t *next, const pol_inputs_t *in,
                     char *err, size_t errlen)
{
	const cfg_pool_t *cp = &cs->pools[pi];
	pol_pool_t *pp = (pol_pool_t *)&ps->pools[pi];
	if (cp->region_idx >= cfg->n_regions ||
	    (s->geo != NULL && cp->region_idx >= geo_tree_region_count(s->geo))) {
		snprintf(err, errlen, "policy: service %s: pool %zu: region index %zu out of range",
		         ps->name, pi, cp->region_idx);
		return -EINVAL;
	}
	const cfg_region_t *r = &cfg->regions[cp->region_idx];
	pp->region = r->name;
	pp->region_idx = (uint8_t)cp->region_idx;
	pp->admit = 1.0;
	pp->closed = false;
	pp->utilization = pp->forecast = NAN;
	pp->target = cp->target > 0 ? cp->target : 0.8; /* a cfg_t built by hand: the defaults */
	pp->limit = cp->limit > 0 ? cp->limit : 0.95;
	pp->cost = r->cost;
	for (size_t c = 0; in != NULL && c < in->n_costs; c++) {
		if (in->costs[c].region != NULL && strcmp(in->costs[c].region, r->name) == 0) {
			pp->cost = in->costs[c].cost;
		}
	}
	pp->burst = r->burst;
	const pol_steer_pool_t *sp = in != NULL && in->steer != NULL
	                                     ? pol_steer_find(in->steer, ps->name, r->name)
	                                     : NULL;
	if (sp != NULL) {
		pp->admit = sp->admit;
		pp->closed = sp->closed;
		pp->utilization = sp->utilization;
		pp->forecast = sp->forecast;
	}
	pp->first = *next;
	bool v4 = false, v6 = false;
	for (size_t k = 0; k < cp->n_endpoints; k++) {
		const cfg_endpoint_t *ce = &cp->endpoints[k];
		pol_endpoint_t *e = &eps[(*next)++];
		e->family = ce->family;
		memcpy(e->addr, ce->addr, sizeof(e->addr));
		e->text = aya_arena_strdup(s->arena, ce->text);
		if (e->text == NULL) {
			return -ENOMEM;
		}
		e->weight = ce->weight;
		e->pool = (uint16_t)pi;
		int rc = pol_health_fill(s, cfg, cp, ce, in, latency_tolerance_us(ps), e);
		if (rc != 0) {
			return rc;
		}
		v4 |= ce->family == AF_INET;
		v6 |= ce->family == AF_INET6;
	}
	pp->count = (uint16_t)cp->n_endpoints;
	capacity_shares(eps + pp->first, pp->count);
	ps->pools_v4 = (uint16_t)(ps->pools_v4 + v4);
	ps->pools_v6 = (uint16_t)(ps->pools_v6 + v6);
	return 0;
}

/* Great-circle distance in km between two regions. */
static double region_km(const cfg_region_t *a, const cfg_region_t *b)
{
	const double rad = M_PI / 180.0;
	double dlat = (b->lat - a->lat) * rad, dlon = (b->lon - a->lon) * rad;
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(a->lat * rad) * cos(b->lat * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * 6371.0 * asin(sqrt(h > 1 ? 1 : h));
}

/*
 * Does geo's order need reshaping (a burst pool, or two costs that differ)?
 * Then near[p] is the set of pools within cost_tolerance_km of pool p.
 */
static int pool_nearness(pol_snap_t *s, const cfg_t *cfg, const cfg_service_t *cs,
                         pol_service_t *ps)
{
	bool reorder = false;
	for (size_t p = 0; p < ps->n_pools; p++) {
		reorder |= ps->pools[p].burst || ps->pools[p].cost != ps->pools[0].cost;
	}
	if (!reorder) {
		return 0;
	}
	uint64_t *near = aya_arena_alloc(s->arena, ps->n_pools * sizeof(*near));
	if (near == NULL) {
		return -ENOMEM;
	}
	for (size_t p = 0; p < ps->n_pools; p++) {
		near[p] = 0;
		const cfg_region_t *a = &cfg->regions[ps->pools[p].region_idx];
		for (size_t q = 0; q < ps->n_pools; q++) {
			const cfg_region_t *b = &cfg->regions[ps->pools[q].region_idx];
			if (region_km(a, b) <= cs->cost_tolerance_km) {
				near[p] |= UINT64_C(1) << q;
			}
		}
	}
	ps->near = near;
	ps->reorder = true;
	return 0;
}

static int build_service(pol_snap_t *s, const cfg_t *cfg, const cfg_zone_t *z,
                         const cfg_service_t *cs, const pol_inputs_t *in, pol_service_t *ps,
                         char *err, size_t errlen)
{
	char name[AYA_DNAME_STR_MAX];
	size_t n = aya_dname_to_str(cs->owner, name, sizeof(name));
	if (n > 1 && name[n - 1] == '.') {
		name[n - 1] = '\0';
	}
	size_t owner_len = aya_dname_len(cs->owner);
	uint8_t *owner = aya_arena_memdup(s->arena, cs->owner, owner_len);
	ps->name = aya_arena_strdup(s->arena, name);
	if (ps->name == NULL || owner == NULL) {
		return -ENOMEM;
	}
	aya_dname_lower(owner);
	ps->owner = owner;
	ps->owner_len = (uint8_t)owner_len;
	size_t n_eps = 0;
	for (size_t i = 0; i < cs->n_pools; i++) {
		n_eps += cs->pools[i].n_endpoints;
	}
	size_t n_filters = cs->n_policy ? cs->n_policy : cfg_default_chain_len;
	if (cs->n_pools > POL_MAX_POOLS || n_eps > POL_MAX_ENDPOINTS ||
	    n_filters > POL_MAX_FILTERS) {
		snprintf(err, errlen,
		         "policy: zone %s: service %s: over the limits (%d pools, %d endpoints, "
		         "%d filters)",
		         z->name, ps->name, POL_MAX_POOLS, POL_MAX_ENDPOINTS, POL_MAX_FILTERS);
		return -EINVAL;
	}
	ps->ttl_s = cs->ttl_s;
	ps->all_down = cs->all_down;
	ps->filters = aya_arena_memdup(s->arena, cs->n_policy ? cs->policy : cfg_default_chain,
	                               n_filters * sizeof(cfg_filter_t));
	ps->n_filters = (uint8_t)n_filters;
	ps->n_pools = (uint16_t)cs->n_pools;
	ps->n_endpoints = (uint16_t)n_eps;
	ps->pools = aya_arena_alloc(s->arena, (cs->n_pools + 1) * sizeof(pol_pool_t));
	pol_endpoint_t *eps = aya_arena_alloc(s->arena, (n_eps + 1) * sizeof(pol_endpoint_t));
	if (ps->filters == NULL || ps->pools == NULL || eps == NULL) {
		return -ENOMEM;
	}
	ps->endpoints = eps;
	uint16_t next = 0;
	for (size_t i = 0; i < cs->n_pools; i++) {
		int rc = fill_pool(s, cfg, cs, i, ps, eps, &next, in, err, errlen);
		if (rc != 0) {
			return rc;
		}
	}
	for (size_t i = 0; i < n_filters; i++) {
		ps->load_hash |= ps->filters[i].kind == CFG_FILTER_HASH;
	}
	for (size_t i = 0; i < ps->n_pools; i++) {
		ps->steered |= ps->pools[i].admit < 1.0 || ps->pools[i].closed;
	}
	return pool_nearness(s, cfg, cs, ps);
}

/* Apply one drain; returns whether it matched anything. */
static bool apply_drain(pol_snap_t *s, const state_drain_t *d)
{
	uint8_t owner[AYA_DNAME_MAX];
	if (d->service == NULL || aya_dname_from_str(d->service, owner) < 0) {
		return false;
	}
	pol_service_t *ps = (pol_service_t *)pol_service_find(s, owner);
	if (ps == NULL) {
		return false;
	}
	pol_pool_t *pools = (pol_pool_t *)ps->pools;
	pol_endpoint_t *eps = (pol_endpoint_t *)ps->endpoints;
	uint8_t addr[16] = {0};
	int fam = 0;
	if (d->target != NULL) {
		if (inet_pton(AF_INET, d->target, addr) == 1) {
			fam = AF_INET;
		} else if (inet_pton(AF_INET6, d->target, addr) == 1) {
			fam = AF_INET6;
		}
	}
	bool hit = false;
	for (size_t p = 0; p < ps->n_pools; p++) {
		bool whole = d->target == NULL || strcasecmp(d->target, pools[p].region) == 0;
		for (size_t k = pools[p].first; k < pools[p].first + pools[p].count; k++) {
			bool by_addr = fam != 0 && eps[k].family == fam &&
			               memcmp(eps[k].addr, addr, fam == AF_INET ? 4 : 16) == 0;
			if (whole || by_addr) {
				eps[k].drained = true;
				hit = true;
			}
		}
		if (whole) {
			pools[p].drained = true;
			hit = true;
		}
	}
	return hit;
}

static int index_services(pol_snap_t *s)
{
	s->n_slots = 16;
	while (s->n_slots < s->n_services * 2) {
		s->n_slots *= 2;
	}
	s->slots = aya_arena_alloc(s->arena, s->n_slots * sizeof(*s->slots));
	s->canon = aya_arena_alloc(s->arena, (s->n_services + 1) * sizeof(*s->canon));
	if (s->slots == NULL || s->canon == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_services; i++) {
		const pol_service_t *ps = &s->services[i];
		const pol_service_t *first = pol_service_find(s, ps->owner);
		s->canon[i] = first != NULL ? first : ps;
		if (first != NULL) {
			log_warn("policy: service %s defined twice, the first one is used",
			         ps->name);
			continue;
		}
		size_t h = owner_hash(ps->owner) & (s->n_slots - 1);
		while (s->slots[h] != 0) {
			h = (h + 1) & (s->n_slots - 1);
		}
		s->slots[h] = (uint32_t)i + 1;
	}
	return 0;
}

static int build_all(pol_snap_t *s, const cfg_t *cfg, const pol_inputs_t *in, char *err,
                     size_t errlen)
{
	size_t n = 0;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		n += cfg->zones[z].n_services;
	}
	s->services = aya_arena_alloc(s->arena, (n + 1) * sizeof(pol_service_t));
	s->cap_verdicts = in != NULL && in->view != NULL ? cfg_monitored_endpoints(cfg) : 0;
	s->started_ms = in != NULL ? in->started_ms : 0;
	s->verdicts = aya_arena_alloc(s->arena, (s->cap_verdicts + 1) * sizeof(pol_verdict_t));
	if (s->services == NULL || s->verdicts == NULL) {
		return -ENOMEM;
	}
	for (size_t z = 0; z < cfg->n_zones; z++) {
		const cfg_zone_t *zone = &cfg->zones[z];
		for (size_t i = 0; i < zone->n_services; i++) {
			pol_service_t *ps = &s->services[s->n_services];
			int rc = build_service(s, cfg, zone, &zone->services[i], in, ps, err,
			                       errlen);
			if (rc != 0) {
				return rc;
			}
			s->n_services++;
		}
	}
	int rc = index_services(s);
	if (rc != 0) {
		return rc;
	}
	size_t n_drains = 0;
	const state_drain_t *drains =
	        in != NULL && in->view != NULL ? state_view_drains(in->view, &n_drains) : NULL;
	for (size_t i = 0; i < n_drains; i++) {
		if (!apply_drain(s, &drains[i])) {
			s->unmatched_drains++;
			log_warn("policy: drain %s %s matches nothing, ignored",
			         drains[i].service ? drains[i].service : "(null)",
			         drains[i].target ? drains[i].target : "");
		}
	}
	for (size_t i = 0; i < s->n_services; i++) {
		rc = pol_fast_build(s, &s->services[i]);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int pol_snap_build(const cfg_t *cfg, geo_tree_t *geo, const pol_inputs_t *in, pol_snap_t **out,
                   char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (cfg->n_regions > GEO_MAX_REGIONS) {
		snprintf(err, errlen, "policy: at most %d regions", GEO_MAX_REGIONS);
		return -EINVAL;
	}
	if (geo != NULL && geo_tree_region_count(geo) != cfg->n_regions) {
		snprintf(err, errlen, "policy: geo tree built for %zu regions, config has %zu",
		         geo_tree_region_count(geo), cfg->n_regions);
		return -EINVAL;
	}
	aya_arena_t *a = aya_arena_new();
	pol_snap_t *s = a != NULL ? aya_arena_alloc(a, sizeof(*s)) : NULL;
	if (s == NULL) {
		aya_arena_free(a);
		snprintf(err, errlen, "policy: out of memory");
		return -ENOMEM;
	}
	s->arena = a;
	s->geo = geo != NULL ? geo_tree_ref(geo) : NULL;
	int rc = build_all(s, cfg, in, err, errlen);
	if (rc != 0) {
		if (rc == -ENOMEM) {
			snprintf(err, errlen, "policy: out of memory");
		}
		pol_snap_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void pol_snap_free(pol_snap_t *s)
{
	if (s == NULL) {
		return;
	}
	geo_tree_unref(s->geo);
	aya_arena_free(s->arena);
}

const pol_service_t *pol_service_find(const pol_snap_t *s, const uint8_t *owner)
{
	if (s->n_slots == 0) {
		return NULL;
	}
	size_t h = owner_hash(owner) & (s->n_slots - 1);
	while (s->slots[h] != 0) {
		const pol_service_t *ps = &s->services[s->slots[h] - 1];
		if (aya_dname_equal(ps->owner, owner)) {
			return ps;
		}
		h = (h + 1) & (s->n_slots - 1);
	}
	return NULL;
}

const pol_service_t *pol_service_at(const pol_snap_t *s, uint32_t idx, const uint8_t *owner,
                                    size_t len)
{
	if (AYA_LIKELY(idx < s->n_services)) {
		const pol_service_t *ps = &s->services[idx];
		if (ps->owner_len == len && memcmp(ps->owner, owner, len) == 0) {
			return s->canon[idx];
		}
	}
	return pol_service_find(s, owner);
}

size_t pol_service_count(const pol_snap_t *s)
{
	return s->n_services;
}

const pol_service_t *pol_service_get(const pol_snap_t *s, size_t i)
{
	return i < s->n_services ? &s->services[i] : NULL;
}

size_t pol_snap_bytes(const pol_snap_t *s)
{
	return aya_arena_used(s->arena);
}

size_t pol_snap_unmatched_drains(const pol_snap_t *s)
{
	return s->unmatched_drains;
}

const geo_tree_t *pol_snap_geo(const pol_snap_t *s)
{
	return s->geo;
}
