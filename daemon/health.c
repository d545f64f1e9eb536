/*
 * Endpoint health from observations: the aggregation rule documented in
 * daemon/health.h, and the per-build index of the state's observations
 * (one walk of the state, sorted by endpoint key, so that the policy
 * compiler's callback costs a binary search per endpoint instead of a walk
 * of every observation).
 *
 * Nothing here touches the daemon's state: the tests drive it with plain
 * observation arrays.
 */
#include "daemon/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

uint64_t ayad_health_stale_ms(uint32_t interval_ms, uint32_t fall)
{
	uint64_t ms = 3u * (uint64_t)interval_ms * (fall > 0 ? fall : 1u);
	return ms > AYAD_HEALTH_STALE_MIN_MS ? ms : AYAD_HEALTH_STALE_MIN_MS;
}

static bool is_fresh(const state_obs_t *o, uint64_t now_ms, uint64_t stale_ms)
{
	/* A clock ahead of ours is not stale: skew must not fail endpoints. */
	return o->observed_at_ms >= now_ms || now_ms - o->observed_at_ms <= stale_ms;
}

ayad_health_rule_t ayad_health_rule_of(const cfg_pool_t *pool)
{
	return (ayad_health_rule_t){.quorum = pool->quorum,
	                            .unobserved_up = pool->unobserved != CFG_UNOBSERVED_DOWN};
}

static bool quorum_healthy(ayad_health_rule_t rule, unsigned fresh, unsigned down)
{
	unsigned up = fresh - down;
	if (fresh == 0) {
		return rule.unobserved_up;
	}
	switch (rule.quorum) {
	case CFG_QUORUM_ANY:
		return up > 0;
	case CFG_QUORUM_ALL:
		return down == 0;
	default:
		return 2u * up > fresh;
	}
}

void ayad_health_eval(const state_obs_t *obs, size_t n, uint64_t now_ms, uint64_t stale_ms,
                      uint32_t slow_start_ms, ayad_health_rule_t rule, ayad_ep_health_t *out)
{
	*out = (ayad_ep_health_t){.utilization = NAN};
	uint64_t util_at = 0;
	bool util_known = false;
	for (size_t i = 0; i < n; i++) {
		const state_obs_t *o = &obs[i];
		if (!is_fresh(o, now_ms, stale_ms)) {
			out->n_stale++;
			continue;
		}
		out->n_fresh++;
		if (o->status == STATE_ST_DOWN) {
			out->n_down++;
			continue;
		}
		if (o->status == STATE_ST_UP && o->up_since_ms > out->up_since_ms) {
			out->up_since_ms = o->up_since_ms;
		}
		/* The backend's own report: the latest reading wins, whoever took it. */
		if (!isnan(o->utilization) && (!util_known || o->observed_at_ms > util_at)) {
			out->utilization = o->utilization;
			util_at = o->observed_at_ms;
			util_known = true;
		}
	}
	out->healthy = quorum_healthy(rule, out->n_fresh, out->n_down);
	out->slow_start = agent_slow_start_factor(out->up_since_ms, now_ms, slow_start_ms);
	double free_share = util_known ? 1.0 - out->utilization : 1.0;
	if (free_share < 0.0) {
		free_share = 0.0;
	}
	out->headroom = out->healthy ? free_share * out->slow_start : 0.0;
}

/* ---- observation index ---- */

struct collect {
	ayad_obs_index_t *ix;
	size_t cap;
	bool oom;
};

static int collect_one(const state_obs_t *o, void *arg)
{
	struct collect *c = arg;
	ayad_obs_index_t *ix = c->ix;
	if (ix->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		state_obs_t *v = realloc(ix->v, cap * sizeof(*v));
		if (v == NULL) {
			c->oom = true;
			return -ENOMEM;
		}
		ix->v = v;
		c->cap = cap;
	}
	state_obs_t *x = &ix->v[ix->n];
	*x = *o;
	x->observer = aya_arena_strdup(ix->arena, o->observer);
	x->endpoint = aya_arena_strdup(ix->arena, o->endpoint);
	x->error = aya_arena_strdup(ix->arena, o->error != NULL ? o->error : "");
	if (x->observer == NULL || x->endpoint == NULL || x->error == NULL) {
		c->oom = true;
		return -ENOMEM;
	}
	ix->n++;
	return 0;
}

static int cmp_obs(const void *a, const void *b)
{
	const state_obs_t *x = a, *y = b;
	int c = strcmp(x->endpoint, y->endpoint);
	return c != 0 ? c : strcmp(x->observer, y->observer);
}

int ayad_obs_index_build(const state_t *st, ayad_obs_index_t *out)
{
	*out = (ayad_obs_index_t){.arena = aya_arena_new()};
	if (out->arena == NULL) {
		return -ENOMEM;
	}
	struct collect c = {.ix = out};
	(void)state_obs_foreach(st, collect_one, &c);
	if (c.oom) {
		ayad_obs_index_fini(out);
		return -ENOMEM;
	}
	if (out->n > 1) {
		qsort(out->v, out->n, sizeof(*out->v), cmp_obs);
	}
	return 0;
}

void ayad_obs_index_fini(ayad_obs_index_t *ix)
{
	free(ix->v);
	aya_arena_free(ix->arena);
	*ix = (ayad_obs_index_t){0};
}

const state_obs_t *ayad_obs_index_find(const ayad_obs_index_t *ix, const char *key, size_t *n)
{
	/* Lower bound of key, then the run of equal keys. */
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ix->v[mid].endpoint, key) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	size_t end = lo;
	while (end < ix->n && strcmp(ix->v[end].endpoint, key) == 0) {
		end++;
	}
	*n = end - lo;
	return *n > 0 ? &ix->v[lo] : NULL;
}

bool ayad_health_endpoint(const cfg_t *cfg, const cfg_pool_t *pool, const cfg_endpoint_t *ep,
                          const ayad_obs_index_t *ix, uint64_t now_ms, char *key,
                          ayad_ep_health_t *h)
{
	*h = (ayad_ep_health_t){
	        .healthy = true, .utilization = NAN, .slow_start = 1.0, .headroom = 1.0};
	key[0] = '\0';
	if (pool->monitor == NULL || pool->monitor_idx >= cfg->n_monitors) {
		return false;
	}
	const cfg_monitor_t *m = &cfg->monitors[pool->monitor_idx];
	char addr[INET6_ADDRSTRLEN];
	if (inet_ntop(ep->family, ep->addr, addr, sizeof(addr)) == NULL ||
	    state_endpoint_key(key, STATE_NAME_MAX + 1, addr, m->port, m->name) < 0) {
		/* The agent cannot probe it either (agent_targets_from_cfg fails). */
		key[0] = '\0';
		return false;
	}
	size_t n = 0;
	const state_obs_t *obs = ayad_obs_index_find(ix, key, &n);
	ayad_health_eval(obs, n, now_ms, ayad_health_stale_ms(m->interval_ms, m->fall),
	                 m->slow_start_ms, ayad_health_rule_of(pool), h);
	return true;
}
