/*
 * `ayactl backends [SERVICE]`: every monitored endpoint of every service
 * pool (or of one service), with what the observers said and what the
 * published policy snapshot made of it.
 *
 * Runs on the control thread: the state and d->pol cannot change under it.
 * The observations come from the state (so a restarted node shows what it
 * stored before its first probe completes), the health verdict from the same
 * rule as the compiler (pol_health_endpoint, policy/health.c), drained from
 * the snapshot.
 */
#include "daemon/ayad.h"

#include <arpa/inet.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "common/time.h"

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

/* Observers of one endpoint into b; the primary view is ours, else the latest. */
static int fill_observers(const ayad_t *d, aya_arena_t *a, const state_obs_t *obs, size_t n,
                          uint64_t now, uint64_t stale_ms, ctl_backend_t *b)
{
	ctl_observer_t *ov = aya_arena_alloc(a, (n + 1) * sizeof(*ov));
	if (ov == NULL) {
		return -1;
	}
	const state_obs_t *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const state_obs_t *o = &obs[i];
		bool fresh = state_obs_fresh(o, now, stale_ms);
		ov[i] = (ctl_observer_t){.node = o->observer,
		                         .state = status_str(o->status),
		                         .observed_at_ms = o->observed_at_ms,
		                         .fresh = fresh,
		                         .rtt_us = o->rtt_us,
		                         .error = o->error != NULL ? o->error : ""};
		bool mine = strcmp(o->observer, d->cfg->node.name) == 0;
		if (best == NULL || mine ||
		    (strcmp(best->observer, d->cfg->node.name) != 0 &&
		     o->observed_at_ms > best->observed_at_ms)) {
			best = o;
		}
	}
	b->observers = ov;
	b->n_observers = n;
	if (best != NULL) {
		b->state = status_str(best->status);
		b->since_ms = best->since_ms;
		b->error = best->error != NULL ? best->error : "";
		b->rtt_us = best->rtt_us;
		b->utilization = isnan(best->utilization) ? -1.0 : best->utilization;
		b->capacity = best->capacity;
		b->observed_at_ms = best->observed_at_ms;
	}
	return 0;
}

/* One row; strings are copied into a (the view dies before the reply is packed). */
static int backend_row(const ayad_t *d, aya_arena_t *a, const state_view_t *view,
                       const pol_service_t *ps, const char *svc_name, const cfg_pool_t *pool,
                       const cfg_endpoint_t *ep, uint64_t now, ctl_backend_t *b)
{
	const cfg_monitor_t *m = &d->cfg->monitors[pool->monitor_idx];
	char key[STATE_NAME_MAX + 1];
	pol_ep_health_t h;
	if (!pol_health_endpoint(d->cfg, pool, ep, view, now, key, &h)) {
		return 1; /* not probeable: skipped like the agent skips it */
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
	                     .error = "",
	                     .utilization = -1.0,
	                     .healthy = h.healthy,
	                     .drained = pe != NULL && pe->drained,
	                     .slow_start = h.slow_start,
	                     .headroom = h.headroom};
	size_t n = 0;
	const state_obs_t *obs = state_view_obs(view, key, &n);
	if (b->address == NULL || b->key == NULL ||
	    fill_observers(d, a, obs, n, now, state_obs_stale_ms(m->interval_ms, m->fall), b) < 0) {
		return -1;
	}
	/* Observer strings live in the view: copy them. */
	ctl_observer_t *ov = (ctl_observer_t *)b->observers;
	for (size_t i = 0; i < n; i++) {
		ov[i].node = aya_arena_strdup(a, ov[i].node);
		ov[i].error = aya_arena_strdup(a, ov[i].error);
		if (ov[i].node == NULL || ov[i].error == NULL) {
			return -1;
		}
	}
	b->error = aya_arena_strdup(a, b->error);
	return b->error != NULL ? 0 : -1;
}

static size_t count_monitored(const cfg_t *cfg)
{
	size_t n = 0;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t s = 0; s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			for (size_t p = 0; p < svc->n_pools; p++) {
				n += svc->pools[p].monitor != NULL ? svc->pools[p].n_endpoints : 0;
			}
		}
	}
	return n;
}

void ayad_ctl_backends(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	const cfg_t *cfg = d->cfg;
	state_view_t *view = NULL;
	size_t cap = count_monitored(cfg), k = 0;
	ctl_backend_t *v = aya_arena_alloc(a, (cap + 1) * sizeof(*v));
	if (v == NULL || state_view_build(d->state, &view) < 0) {
		r->ok = false;
		r->error = "out of memory";
		return;
	}
	uint64_t now = aya_wall_ms();
	bool matched = false, oom = false;
	for (size_t z = 0; !oom && z < cfg->n_zones; z++) {
		for (size_t s = 0; !oom && s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			const pol_service_t *ps = pol_service_find(d->pol, svc->owner);
			const char *full = ps != NULL ? ps->name : svc->name;
			if (!service_matches(req->service, full, svc->name)) {
				continue;
			}
			matched = true;
			for (size_t p = 0; !oom && p < svc->n_pools; p++) {
				const cfg_pool_t *pool = &svc->pools[p];
				for (size_t e = 0; pool->monitor != NULL && e < pool->n_endpoints;
				     e++) {
					int rc = backend_row(d, a, view, ps, full, pool,
					                     &pool->endpoints[e], now, &v[k]);
					oom = rc < 0;
					k += rc == 0 ? 1 : 0;
				}
			}
		}
	}
	state_view_free(view);
	if (oom) {
		r->ok = false;
		r->error = "out of memory";
	} else if (!matched && req->service != NULL && req->service[0] != '\0') {
		r->ok = false;
		r->error = "unknown service (see ayactl services)";
	}
	r->backends = (ctl_backends_t){.backends = v, .n_backends = k, .now_ms = now};
}
