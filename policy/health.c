/*
 * Endpoint health from observations: the rule documented in policy.h
 * (pol_health_eval), its application to each endpoint of a build through
 * the state view (pol_health_fill), and the check that a published snapshot
 * still says what the observations say (pol_snap_current).
 *
 * One rule for every reader: the compiler, the daemon's periodic check and
 * `ayactl backends` all call pol_health_endpoint/pol_health_eval, so what
 * the operator is shown is what the answers use.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "agent/agent.h"
#include "common/arena.h"
#include "policy/policy_int.h"

pol_health_rule_t pol_health_rule_of(const cfg_pool_t *pool)
{
	return (pol_health_rule_t){.quorum = pool->quorum,
	                           .unobserved_up = pool->unobserved != CFG_UNOBSERVED_DOWN};
}

double pol_endpoint_capacity(const cfg_endpoint_t *ep, const pol_ep_health_t *h)
{
	if (h != NULL && h->capacity > 0) {
		return (double)h->capacity;
	}
	return (double)ep->capacity;
}

static bool quorum_healthy(pol_health_rule_t rule, unsigned fresh, unsigned down)
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

void pol_health_eval(const state_obs_t *obs, size_t n, uint64_t now_ms, uint64_t stale_ms,
                     uint32_t slow_start_ms, pol_health_rule_t rule, pol_ep_health_t *out)
{
	*out = (pol_ep_health_t){.utilization = NAN};
	uint64_t util_at = 0, cap_at = 0;
	bool util_known = false;
	for (size_t i = 0; i < n; i++) {
		const state_obs_t *o = &obs[i];
		if (!state_obs_fresh(o, now_ms, stale_ms)) {
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
		if (o->capacity > 0 && (out->capacity == 0 || o->observed_at_ms > cap_at)) {
			out->capacity = o->capacity;
			cap_at = o->observed_at_ms;
		}
		/* The nearest observer's: the backend's own time plus the least network. */
		if (o->rtt_us > 0 && (out->rtt_us == 0 || o->rtt_us < out->rtt_us)) {
			out->rtt_us = o->rtt_us;
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

/*
 * pol_health_eval with the restart grace: nothing fresh, something stored,
 * and less than one stale limit since the start: the stored observations
 * count as if fresh.
 */
static void eval_grace(const state_obs_t *obs, size_t n, uint64_t now_ms, uint64_t started_ms,
                       uint64_t stale_ms, uint32_t slow_start_ms, pol_health_rule_t rule,
                       pol_ep_health_t *out)
{
	pol_health_eval(obs, n, now_ms, stale_ms, slow_start_ms, rule, out);
	if (out->n_fresh == 0 && out->n_stale > 0 && started_ms != 0 &&
	    now_ms < started_ms + stale_ms) {
		pol_health_eval(obs, n, now_ms, UINT64_MAX, slow_start_ms, rule, out);
		out->stored = true;
	}
}

bool pol_health_endpoint(const cfg_t *cfg, const cfg_pool_t *pool, const cfg_endpoint_t *ep,
                         const state_view_t *view, uint64_t now_ms, uint64_t started_ms, char *key,
                         pol_ep_health_t *h)
{
	*h = (pol_ep_health_t){
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
	const state_obs_t *obs = state_view_obs(view, key, &n);
	eval_grace(obs, n, now_ms, started_ms, state_obs_stale_ms(m->interval_ms, m->fall),
	           m->slow_start_ms, pol_health_rule_of(pool), h);
	return true;
}

int pol_health_fill(pol_snap_t *s, const cfg_t *cfg, const cfg_pool_t *cp, const cfg_endpoint_t *ce,
                    const pol_inputs_t *in, uint32_t rtt_tol_us, pol_endpoint_t *e)
{
	e->healthy = true;
	e->headroom = 1.0;
	e->utilization = -1.0;
	e->capacity = ce->capacity;
	e->rtt_us = 0;
	if (in == NULL || in->view == NULL) {
		return 0;
	}
	char key[STATE_NAME_MAX + 1];
	pol_ep_health_t h;
	if (!pol_health_endpoint(cfg, cp, ce, in->view, in->now_ms, in->started_ms, key, &h)) {
		return 0;
	}
	e->healthy = h.healthy;
	e->headroom = h.headroom < 0.0 ? 0.0 : (h.headroom > 1.0 ? 1.0 : h.headroom);
	e->utilization = isnan(h.utilization) ? -1.0 : h.utilization;
	e->capacity = (uint32_t)pol_endpoint_capacity(ce, &h);
	e->rtt_us = h.rtt_us;
	/* Room was reserved for every endpoint of a monitored pool. */
	AYA_BUG_ON(s->n_verdicts >= s->cap_verdicts);
	const cfg_monitor_t *m = &cfg->monitors[cp->monitor_idx];
	pol_verdict_t *v = &s->verdicts[s->n_verdicts];
	*v = (pol_verdict_t){.key = aya_arena_strdup(s->arena, key),
	                     .stale_ms = state_obs_stale_ms(m->interval_ms, m->fall),
	                     .slow_start_ms = m->slow_start_ms,
	                     .rule = pol_health_rule_of(cp),
	                     .healthy = h.healthy,
	                     .headroom = h.headroom,
	                     .capacity = h.capacity,
	                     .rtt_us = h.rtt_us,
	                     .rtt_tol_us = rtt_tol_us};
	if (v->key == NULL) {
		return -ENOMEM;
	}
	s->n_verdicts++;
	return 0;
}

uint64_t pol_snap_started_ms(const pol_snap_t *s)
{
	return s->started_ms;
}

size_t pol_snap_monitored(const pol_snap_t *s)
{
	return s->n_verdicts;
}

/* A reported capacity that changes weighted's shares enough to rebuild for. */
static bool capacity_moved(uint32_t was, uint32_t now)
{
	if (was == 0 || now == 0) {
		return was != now; /* became known or unknown */
	}
	return fabs((double)now - (double)was) >= POL_CAPACITY_STEP * (double)was;
}

/* An RTT that may have moved across a step of `latency` (tol_us 0: no latency filter). */
static bool rtt_moved(uint32_t was, uint32_t now, uint32_t tol_us)
{
	if (tol_us == 0) {
		return false;
	}
	if (was == 0 || now == 0) {
		return was != now;
	}
	uint32_t d = now > was ? now - was : was - now;
	return 2ull * d >= tol_us;
}

bool pol_snap_current(const pol_snap_t *s, const state_view_t *view, uint64_t now_ms)
{
	for (size_t i = 0; i < s->n_verdicts; i++) {
		const pol_verdict_t *v = &s->verdicts[i];
		size_t n = 0;
		const state_obs_t *obs = state_view_obs(view, v->key, &n);
		pol_ep_health_t e;
		eval_grace(obs, n, now_ms, s->started_ms, v->stale_ms, v->slow_start_ms, v->rule,
		           &e);
		if (e.healthy != v->healthy ||
		    fabs(e.headroom - v->headroom) >= POL_HEADROOM_STEP ||
		    capacity_moved(v->capacity, e.capacity) ||
		    rtt_moved(v->rtt_us, e.rtt_us, v->rtt_tol_us)) {
			return false;
		}
	}
	return true;
}
