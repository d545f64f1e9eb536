/*
 * The `backends [SERVICE]` reply: every monitored endpoint of every service
 * pool (or of one service), with what the observers said and what the
 * published policy snapshot made of it.
 *
 * Control thread: the snapshot and the view cannot change during the call.
 * The observations come from a state view (so a restarted node shows what it
 * stored before its first probe completes), the health verdict from the same
 * rule as the compiler (pol_health_endpoint, policy/health.c), drained from
 * the snapshot. Strings from the view are copied into the arena (the caller
 * frees the view before the reply is packed).
 */
#include "control/control_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "policy/policy.h"
#include "state/state.h"

static const char *status_str(state_status_t s)
{
	return s == STATE_ST_UP ? "up" : s == STATE_ST_DOWN ? "down" : "unknown";
}

/* SERVICE matches the full name (any case, trailing dot optional) or the zone-relative one. */
static bool service_matches(const char *filter, const char *full, const char *rel)
{
	if (filter == NULL || filter[0] == '\0') {
		return true;
	}
	size_t n = strlen(filter);
	if (n > 1 && filter[n - 1] == '.') {
		n--;
	}
	return (strlen(full) == n && strncasecmp(filter, full, n) == 0) ||
	       (strlen(rel) == n && strncasecmp(filter, rel, n) == 0);
}

/* The snapshot's endpoint of (pool region, address), for its drained flag. */
static const pol_endpoint_t *pol_ep(const pol_service_t *ps, const char *region,
                                    const cfg_endpoint_t *ep)
{
	for (size_t i = 0; ps != NULL && i < ps->n_endpoints; i++) {
		const pol_endpoint_t *e = &ps->endpoints[i];
		size_t alen = e->family == AF_INET ? 4 : 16;
		if (e->family == ep->family && memcmp(e->addr, ep->addr, alen) == 0 &&
		    strcmp(ps->pools[e->pool].region, region) == 0) {
			return e;
		}
	}
	return NULL;
}

/* Observers of one endpoint into b, copied; the primary view is self's, else the latest. */
static int fill_observers(const char *self, aya_arena_t *a, const state_obs_t *obs, size_t n,
                          uint64_t now, uint64_t stale_ms, ctl_backend_t *b)
{
	ctl_observer_t *ov = aya_arena_alloc(a, (n + 1) * sizeof(*ov));
	if (ov == NULL) {
		return -1;
	}
	const state_obs_t *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const state_obs_t *o = &obs[i];
		ov[i] = (ctl_observer_t){
		        .node = aya_arena_strdup(a, o->observer),
		        .state = status_str(o->status),
		        .observed_at_ms = o->observed_at_ms,
		        .fresh = state_obs_fresh(o, now, stale_ms),
		        .rtt_us = o->rtt_us,
		        .error = aya_arena_strdup(a, o->error != NULL ? o->error : "")};
		if (ov[i].node == NULL || ov[i].error == NULL) {
			return -1;
		}
		bool mine = self != NULL && strcmp(o->observer, self) == 0;
		if (mine) {
			b->local = status_str(o->status);
		}
		if (best == NULL || mine ||
		    ((self == NULL || strcmp(best->observer, self) != 0) &&
		     o->observed_at_ms > best->observed_at_ms)) {
			best = o;
		}
	}
	b->observers = ov;
	b->n_observers = n;
	if (best != NULL) {
		b->state = status_str(best->status);
		b->since_ms = best->since_ms;
		b->error = aya_arena_strdup(a, best->error != NULL ? best->error : "");
		b->rtt_us = best->rtt_us;
		b->utilization = isnan(best->utilization) ? -1.0 : best->utilization;
		b->capacity = best->capacity;
		b->observed_at_ms = best->observed_at_ms;
	}
	return b->error != NULL ? 0 : -1;
}

/* One row: 0, 1 (not probeable: skipped like the agent skips it) or -1 (out of memory). */
static int backend_row(const cfg_t *cfg, aya_arena_t *a, const state_view_t *view,
                       const pol_service_t *ps, const char *svc_name, const cfg_pool_t *pool,
                       const cfg_endpoint_t *ep, uint64_t now, uint64_t started_ms,
                       ctl_backend_t *b)
{
	const cfg_monitor_t *m = &cfg->monitors[pool->monitor_idx];
	char key[STATE_NAME_MAX + 1];
	pol_ep_health_t h;
	if (!pol_health_endpoint(cfg, pool, ep, view, now, started_ms, key, &h)) {
		return 1;
	}
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(ep->family, ep->addr, addr, sizeof(addr));
	const pol_endpoint_t *pe = pol_ep(ps, pool->region, ep);
	*b = (ctl_backend_t){.service = svc_name,
	                     .region = pool->region,
	                     .address = aya_arena_strdup(a, addr),
	                     .port = m->port,
	                     .monitor = m->name,
	                     .key = aya_arena_strdup(a, key),
	                     .state = "unknown",
	                     .local = "",
	                     .error = "",
	                     .utilization = -1.0,
	                     .healthy = h.healthy,
	                     .drained = pe != NULL && pe->drained,
	                     .slow_start = h.slow_start,
	                     .headroom = h.headroom};
	size_t n = 0;
	const state_obs_t *obs = state_view_obs(view, key, &n);
	if (b->address == NULL || b->key == NULL) {
		return -1;
	}
	return fill_observers(cfg->node.name, a, obs, n, now,
	                      state_obs_stale_ms(m->interval_ms, m->fall), b);
}

/* The rows of one service into v[*k..]; false when out of memory. */
static bool service_rows(const cfg_t *cfg, const state_view_t *view, const pol_service_t *ps,
                         const cfg_service_t *svc, const char *full, uint64_t now,
                         uint64_t started_ms, aya_arena_t *a, ctl_backend_t *v, size_t *k)
{
	for (size_t p = 0; p < svc->n_pools; p++) {
		const cfg_pool_t *pool = &svc->pools[p];
		for (size_t e = 0; pool->monitor != NULL && e < pool->n_endpoints; e++) {
			int rc = backend_row(cfg, a, view, ps, full, pool, &pool->endpoints[e], now,
			                     started_ms, &v[*k]);
			if (rc < 0) {
				return false;
			}
			*k += rc == 0 ? 1 : 0;
		}
	}
	return true;
}

int ctl_backends_fill(const cfg_t *cfg, const pol_snap_t *pol, const state_view_t *view,
                      const char *filter, uint64_t now_ms, aya_arena_t *a, ctl_backends_t *out,
                      const char **err)
{
	size_t k = 0;
	ctl_backend_t *v = aya_arena_alloc(a, (cfg_monitored_endpoints(cfg) + 1) * sizeof(*v));
	*err = "out of memory";
	if (v == NULL) {
		return -ENOMEM;
	}
	bool matched = false, ok = true;
	for (size_t z = 0; ok && z < cfg->n_zones; z++) {
		for (size_t s = 0; ok && s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			const pol_service_t *ps = pol_service_find(pol, svc->owner);
			const char *full = ps != NULL ? ps->name : svc->name;
			if (service_matches(filter, full, svc->name)) {
				matched = true;
				ok = service_rows(cfg, view, ps, svc, full, now_ms,
				                  pol_snap_started_ms(pol), a, v, &k);
			}
		}
	}
	*out = (ctl_backends_t){.backends = v, .n_backends = k, .now_ms = now_ms};
	if (!ok) {
		return -ENOMEM;
	}
	if (!matched && filter != NULL && filter[0] != '\0') {
		*err = "unknown service (see ayactl services)";
		return -ENOENT;
	}
	*err = NULL;
	return 0;
}
