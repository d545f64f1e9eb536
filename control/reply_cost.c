/*
 * Reply bodies of `cost` from the daemon's objects: the region an operator
 * names (checked against the config, with its value against the store's
 * bounds), the list of every region with its config and effective cost,
 * and the marks of overridden costs in `services`.
 *
 * Control thread only. Strings are copied into the scratch arena or
 * borrowed from the config, which lives until the reply is packed.
 */
#include "control/control_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "state/state.h"

/* "a, b, c": cfg's region names, for an error message. */
static const char *region_names(const cfg_t *cfg, aya_arena_t *a)
{
	char buf[768];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < cfg->n_regions && len < sizeof(buf); i++) {
		int n = snprintf(buf + len, sizeof(buf) - len, "%s%s", i > 0 ? ", " : "",
		                 cfg->regions[i].name);
		len += n > 0 ? (size_t)n : 0;
	}
	return ctl_afmt(a, "%s", cfg->n_regions > 0 ? buf : "none");
}

static const cfg_region_t *region_find(const cfg_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_regions; i++) {
		if (strcasecmp(cfg->regions[i].name, name) == 0) {
			return &cfg->regions[i];
		}
	}
	return NULL;
}

int ctl_cost_resolve(const cfg_t *cfg, const ctl_request_t *req, aya_arena_t *a,
                     const char **region, const char **err)
{
	const char *name = req->region != NULL ? req->region : "";
	const cfg_region_t *r = region_find(cfg, name);
	*region = NULL;
	if (r == NULL) {
		*err = ctl_afmt(a, "unknown region '%s' (regions: %s)", name, region_names(cfg, a));
		return -ENOENT;
	}
	if (!req->cost_reset && !state_cost_valid(req->cost)) {
		*err = ctl_afmt(a, "cost %g for region %s is out of range %.0f..%.0f", req->cost,
		                r->name, STATE_COST_MIN, STATE_COST_MAX);
		return -ERANGE;
	}
	*region = r->name;
	return 0;
}

static const struct state_cost *cost_find(const state_cost_t *costs, size_t n, const char *region)
{
	for (size_t i = 0; i < n; i++) {
		if (costs[i].set && strcmp(costs[i].region, region) == 0) {
			return &costs[i];
		}
	}
	return NULL;
}

int ctl_cost_fill(const cfg_t *cfg, const state_cost_t *costs, size_t n, int64_t now_s,
                  aya_arena_t *a, ctl_cost_t *out)
{
	ctl_region_cost_t *v = aya_arena_alloc(a, (cfg->n_regions + 1) * sizeof(*v));
	if (v == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_regions; i++) {
		const cfg_region_t *r = &cfg->regions[i];
		const state_cost_t *c = cost_find(costs, n, r->name);
		v[i] = (ctl_region_cost_t){.region = r->name,
		                           .config_cost = r->cost,
		                           .cost = c != NULL ? c->cost : r->cost,
		                           .overridden = c != NULL,
		                           .origin = "",
		                           .since_s = c != NULL ? c->since_s : 0};
		if (c != NULL && (v[i].origin = aya_arena_strdup(a, c->origin)) == NULL) {
			return -ENOMEM;
		}
	}
	out->regions = v;
	out->n_regions = cfg->n_regions;
	out->now_s = now_s;
	if (out->region == NULL) {
		out->region = "";
	}
	return 0;
}

void ctl_services_mark_costs(ctl_services_t *s, const cfg_t *cfg, const state_cost_t *costs,
                             size_t n)
{
	for (size_t i = 0; i < s->n_services; i++) {
		/* ctl_services_fill() built these pools in the scratch arena: ours to amend. */
		ctl_pool_t *pools = (ctl_pool_t *)s->services[i].pools;
		for (size_t p = 0; p < s->services[i].n_pools; p++) {
			const cfg_region_t *r = region_find(cfg, pools[p].region);
			pools[p].config_cost = r != NULL ? r->cost : pools[p].cost;
			pools[p].cost_overridden = cost_find(costs, n, pools[p].region) != NULL;
		}
	}
}
