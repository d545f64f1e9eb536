/*
 * The services schema: regions, geo maps (monitors are in monitors.c) and
 * zone services with their pools, endpoints and policy chain. Region names
 * are collected as references and resolved once the whole document is read,
 * so sections may come in any order; service owners are checked against
 * the zone's static data after its file is loaded.
 */
#include "config/config_int.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- regions ---- */

CFG_FN(cfg_fn_regions)
{
	(void)it;
	cfg_t *cfg = base;
	long n = 0;
	cfg_region_t *r = cfg_y_seq_alloc(ld, val, "regions", sizeof(*r), &n);
	if (r == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		if (!cfg_parse_map(ld, item, &cfg_sec_region, &r[k]) || r[k].name == NULL) {
			continue;
		}
		r[k].loc = cfg_y_loc(ld, item);
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++) {
			dup = strcmp(r[j].name, r[k].name) == 0;
		}
		if (dup) {
			cfg_y_err(ld, item, "duplicate region '%s'", r[k].name);
			continue;
		}
		k++;
	}
	cfg->regions = r;
	cfg->n_regions = k;
}

/* A YAML number to double; false after an error. */
static bool number(loader_t *ld, const yaml_node_t *n, const char *what, double min, double max,
                   double *out)
{
	const char *s = cfg_y_scalar(ld, n, what);
	if (s == NULL) {
		return false;
	}
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0') {
		cfg_y_err(ld, n, "%s: expected a number, got '%s'", what, s);
		return false;
	}
	if (!(v >= min && v <= max)) {
		cfg_y_err(ld, n, "%s: %s is out of range %g..%g", what, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

CFG_FN(cfg_fn_region_location)
{
	(void)it;
	cfg_region_t *r = base;
	long n = cfg_y_seq_len(ld, val, "region.location");
	if (n < 0) {
		return;
	}
	if (n != 2) {
		cfg_y_err(ld, val, "region.location: expected [latitude, longitude]");
		return;
	}
	number(ld, cfg_y_seq_item(ld, val, 0), "region.location latitude", -90, 90, &r->lat);
	number(ld, cfg_y_seq_item(ld, val, 1), "region.location longitude", -180, 180, &r->lon);
}

/* ---- geo ---- */

/* A list of region names into an index array, resolved later. */
static void region_list(loader_t *ld, const yaml_node_t *val, const char *what, const size_t **out,
                        size_t *n_out)
{
	long n = 0;
	size_t *idx = cfg_y_seq_alloc(ld, val, what, sizeof(*idx), &n);
	if (n == 0) {
		cfg_y_err(ld, val, "%s: needs at least one region", what);
	}
	if (idx == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		const char *s = cfg_y_scalar(ld, item, what);
		if (s != NULL) {
			cfg_region_ref(ld, cfg_strdup(ld, s), cfg_y_loc(ld, item), &idx[k++]);
		}
	}
	*out = idx;
	*n_out = k;
}

CFG_FN(cfg_fn_geo_default)
{
	(void)it;
	cfg_geo_t *g = base;
	region_list(ld, val, "geo.default", &g->default_order, &g->n_default_order);
}

CFG_FN(cfg_fn_map_regions)
{
	(void)it;
	cfg_geo_map_t *m = base;
	region_list(ld, val, "geo map regions", &m->regions, &m->n_regions);
}

static void map_code(loader_t *ld, const yaml_node_t *val, cfg_geo_map_t *m,
                     cfg_geo_map_kind_t kind)
{
	const char *what = kind == CFG_GEO_MAP_COUNTRY ? "geo map country" : "geo map continent";
	const char *s = cfg_y_scalar(ld, val, what);
	if (s == NULL) {
		return;
	}
	if (m->code[0] != '\0') {
		cfg_y_err(ld, val, "geo map: give either country or continent, not both");
		return;
	}
	bool ok = strlen(s) == 2 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]);
	if (ok) {
		ok = kind == CFG_GEO_MAP_COUNTRY ? cfg_country_known(s) : cfg_continent_known(s);
	}
	if (!ok) {
		cfg_y_err(ld, val,
		          kind == CFG_GEO_MAP_COUNTRY
		                  ? "%s: unknown country code '%s' (ISO 3166-1 alpha-2, upper case)"
		                  : "%s: unknown continent code '%s' (AF AN AS EU NA OC SA)",
		          what, s);
		return;
	}
	m->kind = kind;
	memcpy(m->code, s, 3);
}

CFG_FN(cfg_fn_map_country)
{
	(void)it;
	map_code(ld, val, base, CFG_GEO_MAP_COUNTRY);
}

CFG_FN(cfg_fn_map_continent)
{
	(void)it;
	map_code(ld, val, base, CFG_GEO_MAP_CONTINENT);
}

CFG_FN(cfg_fn_geo_maps)
{
	(void)it;
	cfg_geo_t *g = base;
	long n = 0;
	cfg_geo_map_t *maps = cfg_y_seq_alloc(ld, val, "geo.maps", sizeof(*maps), &n);
	if (maps == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		cfg_geo_map_t *m = &maps[k];
		if (!cfg_parse_map(ld, item, &cfg_sec_geo_map, m)) {
			continue;
		}
		m->loc = cfg_y_loc(ld, item);
		if (m->code[0] == '\0') {
			if (cfg_y_map_get(ld, item, "country") == NULL &&
			    cfg_y_map_get(ld, item, "continent") == NULL) {
				cfg_y_err(ld, item, "geo map: needs a country or a continent");
			}
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++) {
			dup = maps[j].kind == m->kind && strcmp(maps[j].code, m->code) == 0;
		}
		if (dup) {
			cfg_y_err(ld, item, "geo map: duplicate map for '%s'", m->code);
			continue;
		}
		k++;
	}
	g->maps = maps;
	g->n_maps = k;
}

/* ---- services, pools, endpoints ---- */

CFG_FN(cfg_fn_endpoint_address)
{
	(void)it;
	cfg_endpoint_t *e = base;
	const char *s = cfg_y_scalar(ld, val, "endpoint.address");
	if (s == NULL) {
		return;
	}
	if (strlen(s) < sizeof(e->text) && inet_pton(AF_INET, s, e->addr) == 1) {
		e->family = AF_INET;
	} else if (strlen(s) < sizeof(e->text) && inet_pton(AF_INET6, s, e->addr) == 1) {
		e->family = AF_INET6;
	} else {
		cfg_y_err(ld, val, "endpoint.address: '%s' is neither an IPv4 nor an IPv6 address",
		          s);
		return;
	}
	memcpy(e->text, s, strlen(s) + 1);
}

CFG_FN(cfg_fn_endpoints)
{
	(void)it;
	cfg_pool_t *p = base;
	long n = 0;
	cfg_endpoint_t *e = cfg_y_seq_alloc(ld, val, "pool.endpoints", sizeof(*e), &n);
	if (n == 0) {
		cfg_y_err(ld, val, "empty pool: a pool needs at least one endpoint");
	}
	if (e == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		if (cfg_parse_map(ld, item, &cfg_sec_endpoint, &e[k]) && e[k].family != 0) {
			e[k].loc = cfg_y_loc(ld, item);
			k++;
		}
	}
	p->endpoints = e;
	p->n_endpoints = k;
}

CFG_FN(cfg_fn_pool_region)
{
	(void)it;
	cfg_pool_t *p = base;
	const char *s = cfg_y_scalar(ld, val, "pool.region");
	if (s != NULL) {
		p->region = cfg_strdup(ld, s);
		if (p->region != NULL) {
			cfg_region_ref(ld, p->region, cfg_y_loc(ld, val), &p->region_idx);
		}
	}
}

CFG_FN(cfg_fn_pools)
{
	(void)it;
	cfg_service_t *svc = base;
	long n = 0;
	cfg_pool_t *pools = cfg_y_seq_alloc(ld, val, "service.pools", sizeof(*pools), &n);
	if (n == 0) {
		cfg_y_err(ld, val, "service.pools: a service needs at least one pool");
	}
	if (pools == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		if (cfg_parse_map(ld, item, &cfg_sec_pool, &pools[k])) {
			pools[k].loc = cfg_y_loc(ld, item);
			if (pools[k].target >= pools[k].limit) {
				cfg_y_err(ld, item,
				          "pool.target %g must be below pool.limit %g (the load "
				          "loop steers to target and stops answering at limit)",
				          pools[k].target, pools[k].limit);
			}
			k++;
		}
	}
	svc->pools = pools;
	svc->n_pools = k;
}

/* ---- policy filters (the table is CFG_FILTERS, config/config.h) ---- */

#define INFO(ID, nm, a, d, fl)                                                                     \
	[CFG_FILTER_##ID] = {                                                                      \
	        .kind = CFG_FILTER_##ID, .name = #nm, .arg = a, .arg_dflt = d, .flags = fl},
const cfg_filter_info_t cfg_filter_info[CFG_FILTER_COUNT] = {CFG_FILTERS(INFO)};
#undef INFO

const cfg_filter_t cfg_default_chain[] = {
        {.kind = CFG_FILTER_HEALTHY},  {.kind = CFG_FILTER_DRAIN},
        {.kind = CFG_FILTER_GEO},      {.kind = CFG_FILTER_LOAD},
        {.kind = CFG_FILTER_WEIGHTED}, {.kind = CFG_FILTER_FIRST_N, .n = 1},
};
const size_t cfg_default_chain_len = AYA_ARRAY_LEN(cfg_default_chain);

const cfg_filter_info_t *cfg_filter_find(const char *name)
{
	for (size_t i = 0; i < CFG_FILTER_COUNT; i++) {
		if (strcmp(cfg_filter_info[i].name, name) == 0) {
			return &cfg_filter_info[i];
		}
	}
	return NULL;
}

const char *cfg_filter_name(cfg_filter_kind_t k)
{
	return (unsigned)k < CFG_FILTER_COUNT ? cfg_filter_info[k].name : "?";
}

size_t cfg_filter_text(const cfg_filter_t *f, char *buf, size_t len)
{
	int n;
	if (cfg_filter_has_arg(f->kind)) {
		n = snprintf(buf, len, "%s %u", cfg_filter_name(f->kind), cfg_filter_arg(f));
	} else {
		n = snprintf(buf, len, "%s", cfg_filter_name(f->kind));
	}
	return n > 0 ? (size_t)n : 0;
}

/*
 * Every filter name ("healthy, drain, ... or first_n"), or with `forms` every
 * filter with an argument in its mapping form ("{ first_n: N }"), for errors.
 */
static const char *filter_list(bool forms, char *buf, size_t len)
{
	size_t n = 0, pos = 0, total = 0;
	for (size_t i = 0; i < CFG_FILTER_COUNT; i++) {
		total += !forms || cfg_filter_info[i].arg != CFG_FILTER_ARG_NONE;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < CFG_FILTER_COUNT && pos < len; i++) {
		const cfg_filter_info_t *fi = &cfg_filter_info[i];
		if (forms && fi->arg == CFG_FILTER_ARG_NONE) {
			continue;
		}
		const char *sep = n == 0 ? "" : (n + 1 == total ? " or " : ", ");
		int w = snprintf(buf + pos, len - pos, forms ? "%s{ %s: N }" : "%s%s", sep,
		                 fi->name);
		pos += w > 0 ? (size_t)w : 0;
		n++;
	}
	return buf;
}

/* The argument of `name` from a YAML node; false after an error. */
static bool filter_arg(loader_t *ld, const yaml_node_t *arg, const cfg_filter_info_t *fi,
                       unsigned *out)
{
	char what[64];
	snprintf(what, sizeof(what), "policy %s", fi->name);
	const char *s = cfg_y_scalar(ld, arg, what);
	if (s == NULL) {
		return false;
	}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || v < 1 || v > CFG_FILTER_COUNT_MAX) {
		cfg_y_err(ld, arg, "policy: %s must be 1..%u, got '%s'", fi->name,
		          CFG_FILTER_COUNT_MAX, s);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

/* One policy item: "geo", "first_n" or { first_n: N }. */
static bool policy_item(loader_t *ld, const yaml_node_t *item, cfg_filter_t *f)
{
	char list[256];
	const char *name;
	const yaml_node_t *arg = NULL;
	if (item->type == YAML_MAPPING_NODE) {
		if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
			cfg_y_err(ld, item, "policy: expected %s",
			          filter_list(true, list, sizeof(list)));
			return false;
		}
		yaml_node_pair_t *p = item->data.mapping.pairs.start;
		yaml_node_t *k = cfg_y_node(ld, p->key);
		arg = cfg_y_node(ld, p->value);
		name = k != NULL ? cfg_y_scalar(ld, k, "policy filter") : NULL;
	} else {
		name = cfg_y_scalar(ld, item, "policy filter");
	}
	if (name == NULL) {
		return false;
	}
	const cfg_filter_info_t *fi = cfg_filter_find(name);
	if (fi == NULL) {
		cfg_y_err(ld, item, "unknown filter '%s' (expected %s)", name,
		          filter_list(false, list, sizeof(list)));
		return false;
	}
	f->kind = fi->kind;
	f->n = fi->arg_dflt;
	f->loc = cfg_y_loc(ld, item);
	if (arg != NULL && fi->arg == CFG_FILTER_ARG_NONE) {
		cfg_y_err(ld, item, "policy: filter '%s' takes no argument", name);
		return false;
	}
	return arg == NULL || filter_arg(ld, arg, fi, &f->n);
}

CFG_FN(cfg_fn_policy)
{
	(void)it;
	cfg_service_t *svc = base;
	if (val == NULL) {
		svc->policy = cfg_default_chain; /* static storage outlives every cfg_t */
		svc->n_policy = cfg_default_chain_len;
		return;
	}
	long n = 0;
	cfg_filter_t *f = cfg_y_seq_alloc(ld, val, "service.policy", sizeof(*f), &n);
	if (n == 0) {
		cfg_y_err(ld, val, "service.policy: empty filter chain");
	}
	if (f == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		if (!policy_item(ld, item, &f[k])) {
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++) {
			dup = f[j].kind == f[k].kind;
		}
		if (dup) {
			cfg_y_err(ld, item, "policy: filter '%s' appears twice",
			          cfg_filter_name(f[k].kind));
			continue;
		}
		k++;
	}
	svc->policy = f;
	svc->n_policy = k;
}

CFG_FN(cfg_fn_services)
{
	(void)it;
	cfg_zone_t *z = base;
	long n = 0;
	cfg_service_t *s = cfg_y_seq_alloc(ld, val, "zone.services", sizeof(*s), &n);
	if (s == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		if (cfg_parse_map(ld, item, &cfg_sec_service, &s[k]) && s[k].name != NULL) {
			s[k].loc = cfg_y_loc(ld, item);
			k++;
		}
	}
	z->services = s;
	z->n_services = k;
}

/*
 * Owner of a service: "@" is the apex, "www" is relative to the zone,
 * "www.example.com." (trailing dot) is absolute and must lie in the zone.
 * Sets svc->owner and rewrites svc->name relative; false after an error.
 */
static bool service_owner(loader_t *ld, const cfg_zone_t *z, cfg_service_t *svc)
{
	const char *name = svc->name;
	size_t len = strlen(name);
	int rc;
	if (strcmp(name, "@") == 0) {
		memcpy(svc->owner, z->apex, aya_dname_len(z->apex));
		return true;
	}
	if (name[len - 1] == '.') {
		rc = aya_dname_from_str(name, svc->owner);
	} else {
		char full[AYA_DNAME_STR_MAX + 1];
		snprintf(full, sizeof(full), "%s.%s", name, z->name);
		rc = len < AYA_DNAME_STR_MAX ? aya_dname_from_str(full, svc->owner) : -1;
	}
	if (rc < 0) {
		cfg_y_err_at(ld, svc->loc, "service.name: bad domain name '%s'", name);
		return false;
	}
	aya_dname_lower(svc->owner);
	if (!aya_dname_is_sub(svc->owner, z->apex)) {
		cfg_y_err_at(ld, svc->loc, "service '%s' is outside zone '%s'", name, z->name);
		return false;
	}
	/* Keep the relative form: the leading labels above the apex. */
	unsigned skip = aya_dname_labels(svc->owner) - aya_dname_labels(z->apex);
	if (skip == 0) {
		svc->name = "@";
		return true;
	}
	uint8_t rel[AYA_DNAME_MAX];
	size_t rlen = (size_t)(aya_dname_skip(svc->owner, skip) - svc->owner);
	memcpy(rel, svc->owner, rlen);
	rel[rlen] = 0;
	char text[AYA_DNAME_STR_MAX];
	size_t tl = aya_dname_to_str(rel, text, sizeof(text));
	text[tl - 1] = '\0';
	svc->name = cfg_strdup(ld, text);
	return svc->name != NULL;
}

void cfg_check_services(loader_t *ld, cfg_zone_t *z)
{
	if (z->name == NULL) {
		return;
	}
	cfg_service_t *svcs = (cfg_service_t *)z->services;
	for (size_t i = 0; i < z->n_services; i++) {
		cfg_service_t *svc = &svcs[i];
		const char *written = svc->name;
		if (!service_owner(ld, z, svc)) {
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (aya_dname_equal(svcs[j].owner, svc->owner)) {
				cfg_y_err_at(ld, svc->loc,
				             "duplicate service '%s' (first defined at line %u)",
				             written, svcs[j].loc.line);
				break;
			}
		}
		for (size_t r = 0; r < z->n_rrs; r++) {
			/* At the apex, SOA and NS are the zone's own; anything else clashes. */
			uint16_t t = z->rrs[r].type;
			if (aya_dname_equal(svc->owner, z->apex) &&
			    (t == ns_t_soa || t == ns_t_ns)) {
				continue;
			}
			if (aya_dname_equal(z->rrs[r].owner, svc->owner)) {
				cfg_y_err_at(ld, svc->loc,
				             "service '%s' clashes with static records at the same "
				             "name in %s:%u",
				             written, z->file, z->rrs[r].line);
				break;
			}
		}
	}
}

static bool has_filter(const cfg_service_t *svc, cfg_filter_kind_t k)
{
	for (size_t i = 0; i < svc->n_policy; i++) {
		if (svc->policy[i].kind == k) {
			return true;
		}
	}
	return false;
}

/*
 * Settings of the load loop that would change nothing, said at the pool
 * (warnings: the config still loads): a target or limit other than the
 * defaults on a pool whose load nobody reports or whose chain has no
 * `load`, and a burst region in a service that orders by neither geo nor
 * load. After the monitors and regions are resolved, without errors.
 */
void cfg_check_steering(loader_t *ld)
{
	const cfg_t *cfg = ld->cfg;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t s = 0; s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			bool load = has_filter(svc, CFG_FILTER_LOAD);
			bool geo = has_filter(svc, CFG_FILTER_GEO);
			for (size_t p = 0; p < svc->n_pools; p++) {
				const cfg_pool_t *pool = &svc->pools[p];
				bool t = pool->target != CFG_POOL_TARGET_DEFAULT;
				bool l = pool->limit != CFG_POOL_LIMIT_DEFAULT;
				const char *what = t && l ? "target and limit have"
				                   : t    ? "target has"
				                          : "limit has";
				const cfg_monitor_t *m =
				        pool->monitor != NULL && pool->monitor_idx < cfg->n_monitors
				                ? &cfg->monitors[pool->monitor_idx]
				                : NULL;
				if (!t && !l) {
					/* nothing asked */
				} else if (!load) {
					cfg_y_warn_at(
					        ld, pool->loc,
					        "pool %s: %s no effect: the policy of service %s "
					        "has no load filter",
					        pool->region, what, svc->name);
				} else if (m == NULL) {
					cfg_y_warn_at(
					        ld, pool->loc,
					        "pool %s: %s no effect: the pool has no monitor "
					        "to report its load",
					        pool->region, what);
				} else if (m->load.kind == CFG_LOAD_NONE) {
					cfg_y_warn_at(
					        ld, pool->loc,
					        "pool %s: %s no effect: monitor %s reports no "
					        "load (it has no load: source)",
					        pool->region, what, m->name);
				}
				if (pool->region_idx < cfg->n_regions &&
				    cfg->regions[pool->region_idx].burst && !geo && !load) {
					cfg_y_warn_at(ld, pool->loc,
					              "pool %s: burst has no effect: the policy of "
					              "service %s has neither geo nor load",
					              pool->region, svc->name);
				}
			}
		}
	}
}

/*
 * Services where `ayactl drain` can change no answer (warnings): a policy
 * without `drain`. when_all_down: answer_all with every endpoint drained is
 * said by `ayactl drain` itself (ctl_drain_warning): only the store knows
 * what is drained, and warning here for every one-endpoint answer_all
 * service would warn for the smallest configs at every start.
 */
void cfg_check_drains(loader_t *ld)
{
	const cfg_t *cfg = ld->cfg;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t s = 0; s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			if (!has_filter(svc, CFG_FILTER_DRAIN)) {
				cfg_y_warn_at(ld, svc->loc,
				              "service %s: its policy has no drain filter: "
				              "ayactl drain changes none of its answers",
				              svc->name);
			}
		}
	}
}

void cfg_resolve_regions(loader_t *ld)
{
	cfg_t *cfg = ld->cfg;
	cfg_resolve_monitors(ld);
	for (size_t i = 0; i < ld->n_refs; i++) {
		region_ref_t *ref = &ld->refs[i];
		if (ref->name == NULL) {
			continue;
		}
		if (cfg->n_regions == 0) {
			cfg_y_err_at(ld, ref->loc,
			             "unknown region '%s': no regions: section is defined",
			             ref->name);
			continue;
		}
		size_t r;
		for (r = 0; r < cfg->n_regions && strcmp(cfg->regions[r].name, ref->name) != 0;
		     r++) {
		}
		if (r == cfg->n_regions) {
			cfg_y_err_at(ld, ref->loc, "unknown region '%s'", ref->name);
			continue;
		}
		*ref->dst = r;
	}
	if (cfg->n_regions > 0 && cfg->node.region != NULL) {
		size_t r;
		for (r = 0;
		     r < cfg->n_regions && strcmp(cfg->regions[r].name, cfg->node.region) != 0;
		     r++) {
		}
		if (r == cfg->n_regions) {
			cfg_y_err_at(ld, ld->node_region_loc, "node.region: unknown region '%s'",
			             cfg->node.region);
		}
	}
	if (cfg->geo.n_default_order == 0 && cfg->n_regions > 0) {
		size_t *order = cfg_alloc(ld, cfg->n_regions * sizeof(*order));
		if (order != NULL) {
			for (size_t r = 0; r < cfg->n_regions; r++) {
				order[r] = r;
			}
			cfg->geo.default_order = order;
			cfg->geo.n_default_order = cfg->n_regions;
		}
	}
}
