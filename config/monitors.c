/*
 * The monitors: schema (rows in schema.c) and the checks that span keys: a
 * port per type, timeout below interval, the load mapping with one source of
 * utilization and at most one of capacity. Pools name a monitor; the names
 * are collected with their location while the zones are read and resolved
 * to indexes into cfg_t.monitors once the whole document is parsed, so
 * monitors: may come before or after zones:.
 */
#include "config/config_int.h"

#include <stdlib.h>
#include <string.h>

CFG_FN(cfg_fn_monitors)
{
	(void)it;
	cfg_t *cfg = base;
	long n = 0;
	cfg_monitor_t *m = cfg_y_seq_alloc(ld, val, "monitors", sizeof(*m), &n);
	if (m == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		cfg_monitor_t *mon = &m[k];
		*mon = (cfg_monitor_t){0}; /* a skipped item may have left fields behind */
		unsigned errors = ld->d->errors;
		if (!cfg_parse_map(ld, item, &cfg_sec_monitor, mon) || mon->name == NULL) {
			continue;
		}
		mon->loc = cfg_y_loc(ld, item);
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++) {
			dup = strcmp(m[j].name, mon->name) == 0;
		}
		if (dup) {
			cfg_y_err(ld, item, "duplicate monitor '%s'", mon->name);
			continue;
		}
		if (mon->port == 0) {
			/* A bad type already reported leaves type 0 (tcp): no second error. */
			if (mon->type == CFG_MON_TCP && ld->d->errors == errors) {
				cfg_y_err(ld, item, "monitor '%s': type tcp needs a port",
				          mon->name);
			}
			mon->port = mon->type == CFG_MON_HTTPS ? 443 : 80;
		}
		if (ld->d->errors == errors && mon->timeout_ms >= mon->interval_ms) {
			yaml_node_t *t = cfg_y_map_get(ld, item, "timeout");
			cfg_y_err(ld, t != NULL ? t : item,
			          "monitor '%s': timeout (%ums) must be below interval (%ums)",
			          mon->name, mon->timeout_ms, mon->interval_ms);
		}
		k++;
	}
	cfg->monitors = m;
	cfg->n_monitors = k;
}

/* expect: [200, 204] or a single 200. */
CFG_FN(cfg_fn_monitor_expect)
{
	(void)it;
	cfg_monitor_t *mon = base;
	static const uint16_t dflt[] = {200};
	if (val == NULL) {
		mon->expect = dflt;
		mon->n_expect = 1;
		return;
	}
	long n = 1;
	if (val->type != YAML_SCALAR_NODE) {
		n = cfg_y_seq_len(ld, val, "monitor.expect");
		if (n < 0) {
			return;
		}
		if (n == 0) {
			cfg_y_err(ld, val, "monitor.expect: needs at least one status code");
			return;
		}
	}
	uint16_t *codes = cfg_alloc(ld, (size_t)n * sizeof(*codes));
	if (codes == NULL) {
		return;
	}
	for (long i = 0; i < n; i++) {
		const yaml_node_t *item =
		        val->type == YAML_SCALAR_NODE ? val : cfg_y_seq_item(ld, val, i);
		const char *s = item != NULL ? cfg_y_scalar(ld, item, "monitor.expect") : NULL;
		if (s == NULL) {
			return;
		}
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || *end != '\0' || v < 100 || v > 599) {
			cfg_y_err(ld, item, "monitor.expect: '%s' is not an HTTP status (100..599)",
			          s);
			return;
		}
		codes[i] = (uint16_t)v;
	}
	mon->expect = codes;
	mon->n_expect = (size_t)n;
}

/* Exactly one of three keys, or none; the error cites the mapping. */
static bool one_of(loader_t *ld, const yaml_node_t *n, const char *what, const char *h,
                   const char *j, const char *p, cfg_load_src_t *out)
{
	int count = (h != NULL) + (j != NULL) + (p != NULL);
	if (count > 1) {
		cfg_y_err(ld, n, "monitor.load: give one %s source, not %d", what, count);
		return false;
	}
	if (h != NULL) {
		*out = (cfg_load_src_t){CFG_LOAD_HEADER, h};
	} else if (j != NULL) {
		*out = (cfg_load_src_t){CFG_LOAD_JSON, j};
	} else if (p != NULL) {
		*out = (cfg_load_src_t){CFG_LOAD_PROMETHEUS, p};
	}
	return true;
}

CFG_FN(cfg_fn_monitor_load)
{
	(void)it;
	cfg_monitor_t *mon = base;
	cfg_load_keys_t k = {0};
	unsigned errors = ld->d->errors;
	if (!cfg_parse_map(ld, val, &cfg_sec_load, &k) || ld->d->errors != errors) {
		return;
	}
	if (one_of(ld, val, "utilization", k.header, k.json, k.prometheus, &mon->load) &&
	    one_of(ld, val, "capacity", k.cap_header, k.cap_json, k.cap_prometheus,
	           &mon->capacity) &&
	    mon->load.kind == CFG_LOAD_NONE && mon->capacity.kind == CFG_LOAD_NONE) {
		cfg_y_err(ld, val, "monitor.load: needs header, json or prometheus");
	}
}

CFG_FN(cfg_fn_pool_monitor)
{
	(void)it;
	cfg_pool_t *p = base;
	const char *s = cfg_y_scalar(ld, val, "pool.monitor");
	if (s == NULL) {
		return;
	}
	if (s[0] == '\0') {
		cfg_y_err(ld, val, "pool.monitor: must not be empty");
		return;
	}
	p->monitor = cfg_strdup(ld, s);
	if (p->monitor == NULL) {
		return;
	}
	if (ld->n_mon_refs == ld->cap_mon_refs) {
		/* Arena storage: the old array is left for cfg_free(); a few KiB at most. */
		size_t cap = ld->cap_mon_refs ? ld->cap_mon_refs * 2 : 16;
		region_ref_t *r = cfg_alloc(ld, cap * sizeof(*r));
		if (r == NULL) {
			return;
		}
		if (ld->n_mon_refs > 0) {
			memcpy(r, ld->mon_refs, ld->n_mon_refs * sizeof(*r));
		}
		ld->mon_refs = r;
		ld->cap_mon_refs = cap;
	}
	ld->mon_refs[ld->n_mon_refs++] = (region_ref_t){
	        .name = p->monitor, .loc = cfg_y_loc(ld, val), .dst = &p->monitor_idx};
}

void cfg_resolve_monitors(loader_t *ld)
{
	const cfg_t *cfg = ld->cfg;
	for (size_t i = 0; i < ld->n_mon_refs; i++) {
		const region_ref_t *ref = &ld->mon_refs[i];
		size_t m;
		for (m = 0; m < cfg->n_monitors && strcmp(cfg->monitors[m].name, ref->name) != 0;
		     m++) {
		}
		if (m == cfg->n_monitors) {
			cfg_y_err_at(ld, ref->loc, "unknown monitor '%s'", ref->name);
			continue;
		}
		*ref->dst = m;
	}
}
