/*
 * ayad's agent: probes the monitored endpoints on the control loop and
 * turns a changed result into a new policy snapshot.
 *
 * A probe result that changes an endpoint's status (or its utilization by
 * more than the agent's threshold) calls on_change. The first change arms a
 * one-shot timer of AYAD_HEALTH_DEBOUNCE_MS; further changes before it fires
 * join the same rebuild, so a backend host failing with 100 endpoints
 * costs one compile and one publish, not 100. The delay from the first
 * change to the publish is measured (status counters).
 *
 * A tick (AYAD_HEALTH_TICK_MS) re-evaluates what the published snapshot was
 * built from: an observation that went stale, or a slow-start ramp that
 * moved by AYAD_HEALTH_HEADROOM_STEP, republishes too. Nothing calls
 * on_change for those, since time alone changes them.
 *
 * The verdicts of a build are kept by ayad_health_end(ok): every successful
 * build is published by its caller right away (start, reload, drain, here).
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "agent/agent.h"
#include "common/log.h"
#include "daemon/health.h"

/* What one endpoint of a build was given, re-checked by the tick. */
struct verdict {
	char key[STATE_NAME_MAX + 1];
	uint64_t stale_ms;
	uint32_t slow_start_ms;
	ayad_health_rule_t rule;
	bool healthy;
	double headroom;
};

struct ayad_hbuild {
	const cfg_t *cfg;
	ayad_obs_index_t ix;
	uint64_t now_ms;
	struct verdict *v;
	size_t n, cap;
	bool oom;
};

struct ayad_health {
	agent_t *agent;
	struct event *debounce_ev;
	struct event *tick_ev;
	bool pending;
	uint64_t first_change_us; /* monotonic, of the pending batch */
	struct verdict *v;        /* of the published snapshot */
	size_t n;
	uint64_t changes, rebuilds, rebuild_errors, tick_rebuilds;
	uint64_t last_delay_us, max_delay_us, last_build_us;
};

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- building ---- */

int ayad_health_begin(ayad_t *d, const cfg_t *cfg, ayad_hbuild_t **out)
{
	*out = NULL;
	ayad_hbuild_t *hb = calloc(1, sizeof(*hb));
	if (hb == NULL) {
		return -ENOMEM;
	}
	hb->cfg = cfg;
	hb->now_ms = wall_ms();
	int rc = d->state != NULL ? ayad_obs_index_build(d->state, &hb->ix) : 0;
	if (rc < 0) {
		free(hb);
		return rc;
	}
	*out = hb;
	return 0;
}

static void keep_verdict(ayad_hbuild_t *hb, const char *key, const cfg_monitor_t *m,
                         const cfg_pool_t *pool, const ayad_ep_health_t *h)
{
	if (hb->n == hb->cap) {
		size_t cap = hb->cap ? 2 * hb->cap : 16;
		struct verdict *v = realloc(hb->v, cap * sizeof(*v));
		if (v == NULL) {
			/* Only the staleness re-check loses this endpoint. */
			hb->oom = true;
			return;
		}
		hb->v = v;
		hb->cap = cap;
	}
	struct verdict *x = &hb->v[hb->n++];
	snprintf(x->key, sizeof(x->key), "%s", key);
	x->stale_ms = ayad_health_stale_ms(m->interval_ms, m->fall);
	x->slow_start_ms = m->slow_start_ms;
	x->rule = ayad_health_rule_of(pool);
	x->healthy = h->healthy;
	x->headroom = h->headroom;
}

void ayad_health_cb(void *ctx, const cfg_service_t *svc, const cfg_pool_t *pool,
                    const cfg_endpoint_t *ep, pol_ep_state_t *st)
{
	(void)svc;
	ayad_hbuild_t *hb = ctx;
	char key[STATE_NAME_MAX + 1];
	ayad_ep_health_t h;
	if (!ayad_health_endpoint(hb->cfg, pool, ep, &hb->ix, hb->now_ms, key, &h)) {
		return;
	}
	st->healthy = h.healthy;
	st->headroom = h.headroom;
	st->utilization = isnan(h.utilization) ? -1.0 : h.utilization;
	keep_verdict(hb, key, &hb->cfg->monitors[pool->monitor_idx], pool, &h);
}

void ayad_health_end(ayad_t *d, ayad_hbuild_t *hb, bool ok)
{
	if (hb == NULL) {
		return;
	}
	ayad_health_t *h = d->health;
	if (ok && h != NULL) {
		if (hb->oom) {
			log_warn("health: out of memory, stale observations may be noticed late");
		}
		free(h->v);
		h->v = hb->v;
		h->n = hb->n;
		hb->v = NULL;
	}
	free(hb->v);
	ayad_obs_index_fini(&hb->ix);
	free(hb);
}

/* ---- rebuilding ---- */

static void rebuild(ayad_t *d, const char *why)
{
	ayad_health_t *h = d->health;
	uint64_t t0 = mono_us();
	pol_snap_t *pol = NULL;
	char err[512] = "";
	int rc = ayad_pol_build(d, d->cfg, d->geo, &pol, NULL, err, sizeof(err));
	if (rc < 0) {
		/* The old snapshot keeps serving; the next change or tick tries again. */
		h->rebuild_errors++;
		log_warn("health: policy rebuild (%s) failed: %s", why,
		         err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	dnsd_server_publish(d->srv, NULL, pol);
	d->pol = pol;
	h->rebuilds++;
	h->last_build_us = mono_us() - t0;
	log_debug("health: policy rebuilt (%s) in %.1f ms", why, (double)h->last_build_us / 1e3);
}

static void on_debounce(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_health_t *h = d->health;
	h->pending = false;
	rebuild(d, "probe results");
	h->last_delay_us = mono_us() - h->first_change_us;
	if (h->last_delay_us > h->max_delay_us) {
		h->max_delay_us = h->last_delay_us;
	}
}

static void on_change(void *ctx, const char *key, state_status_t status, double utilization)
{
	(void)key;
	(void)status;
	(void)utilization;
	ayad_t *d = ctx;
	ayad_health_t *h = d->health;
	if (key[0] != '\0') {
		ayad_gossip_kick(d); /* our own observation: to the peers now */
	}
	h->changes++;
	if (h->pending) {
		return;
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = AYAD_HEALTH_DEBOUNCE_MS * 1000};
	if (evtimer_add(h->debounce_ev, &tv) != 0) {
		/* Cannot wait: publish now rather than late. */
		h->first_change_us = mono_us();
		on_debounce(-1, 0, d);
		return;
	}
	h->pending = true;
	h->first_change_us = mono_us();
}

void ayad_schedule_rebuild(ayad_t *d)
{
	/* Peers' records join the agent's debounced batch. */
	if (d->health != NULL && d->health->debounce_ev != NULL) {
		on_change(d, "", STATE_ST_UNKNOWN, NAN);
	}
}

void ayad_schedule_rebuild_within(ayad_t *d, unsigned ms)
{
	ayad_health_t *h = d->health;
	if (h == NULL || h->debounce_ev == NULL) {
		return;
	}
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}, due, now, want;
	if (h->pending && evtimer_pending(h->debounce_ev, &due)) {
		evutil_gettimeofday(&now, NULL);
		evutil_timeradd(&now, &tv, &want);
		if (!evutil_timercmp(&want, &due, <)) {
			h->changes++;
			return; /* already due sooner */
		}
	}
	h->changes++;
	if (evtimer_add(h->debounce_ev, &tv) != 0) {
		h->first_change_us = h->pending ? h->first_change_us : mono_us();
		on_debounce(-1, 0, d);
		return;
	}
	if (!h->pending) {
		h->first_change_us = mono_us();
	}
	h->pending = true;
}

/* Does the published snapshot still say what the observations say now? */
static bool verdicts_current(const ayad_health_t *h, const ayad_obs_index_t *ix, uint64_t now)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct verdict *v = &h->v[i];
		size_t n = 0;
		const state_obs_t *obs = ayad_obs_index_find(ix, v->key, &n);
		ayad_ep_health_t e;
		ayad_health_eval(obs, n, now, v->stale_ms, v->slow_start_ms, v->rule, &e);
		if (e.healthy != v->healthy ||
		    fabs(e.headroom - v->headroom) >= AYAD_HEALTH_HEADROOM_STEP) {
			return false;
		}
	}
	return true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_health_t *h = d->health;
	if (h->pending || h->n == 0 || d->state == NULL) {
		return;
	}
	ayad_obs_index_t ix;
	if (ayad_obs_index_build(d->state, &ix) < 0) {
		return;
	}
	bool current = verdicts_current(h, &ix, wall_ms());
	ayad_obs_index_fini(&ix);
	if (!current) {
		h->tick_rebuilds++;
		rebuild(d, "staleness or slow start");
	}
}

/* ---- life cycle ---- */

int ayad_health_init(ayad_t *d)
{
	d->health = calloc(1, sizeof(*d->health));
	return d->health != NULL ? 0 : -ENOMEM;
}

void ayad_health_set_targets(ayad_t *d, const cfg_t *cfg)
{
	ayad_health_t *h = d->health;
	if (h == NULL || h->agent == NULL) {
		return;
	}
	agent_target_t *t = NULL;
	size_t n = 0;
	int rc = agent_targets_from_cfg(cfg, &t, &n);
	if (rc == 0) {
		/* With gossip, only the endpoints this node is an observer of. */
		n = ayad_gossip_filter_targets(d, t, n);
		rc = agent_set_targets(h->agent, t, n);
	}
	free(t);
	if (rc < 0) {
		log_err("health: cannot set the probe targets: %s; probing the previous set",
		        strerror(-rc));
		return;
	}
	log_info("health: probing %zu endpoint(s)", n);
}

int ayad_health_start(ayad_t *d)
{
	ayad_health_t *h = d->health;
	agent_opts_t o = {.base = d->base,
	                  .state = d->state,
	                  .node = d->cfg->node.name,
	                  .on_change = on_change,
	                  .ctx = d};
	int rc = agent_new(&o, &h->agent);
	if (rc < 0) {
		log_err("health: cannot start the agent: %s", strerror(-rc));
		return rc;
	}
	h->debounce_ev = evtimer_new(d->base, on_debounce, d);
	h->tick_ev = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	struct timeval tv = {.tv_sec = 0, .tv_usec = AYAD_HEALTH_TICK_MS * 1000};
	if (h->debounce_ev == NULL || h->tick_ev == NULL || event_add(h->tick_ev, &tv) != 0) {
		log_err("health: cannot arm the health timers");
		return -ENOMEM;
	}
	ayad_health_set_targets(d, d->cfg);
	return 0;
}

void ayad_health_stop(ayad_t *d)
{
	ayad_health_t *h = d->health;
	if (h == NULL) {
		return;
	}
	agent_free(h->agent);
	if (h->debounce_ev != NULL) {
		event_free(h->debounce_ev);
	}
	if (h->tick_ev != NULL) {
		event_free(h->tick_ev);
	}
	free(h->v);
	free(h);
	d->health = NULL;
}

struct agent *ayad_health_agent(const ayad_t *d)
{
	return d->health != NULL ? d->health->agent : NULL;
}

size_t ayad_health_counters(const ayad_t *d, const char **names, uint64_t *values, size_t max)
{
	const ayad_health_t *h = d->health;
	agent_stats_t st = {0};
	if (h != NULL && h->agent != NULL) {
		agent_stats_get(h->agent, &st);
	}
	const ayad_health_t zero = {0};
	if (h == NULL) {
		h = &zero;
	}
	const struct {
		const char *name;
		uint64_t v;
	} c[AYAD_HEALTH_COUNTERS] = {
	        {"probe_targets", st.targets},
	        {"probes_sent", st.probes_sent},
	        {"probes_ok", st.probes_ok},
	        {"probes_failed", st.probes_failed},
	        {"probe_timeouts", st.timeouts},
	        {"probes_skipped", st.skipped},
	        {"probe_connects", st.connects},
	        {"probe_retries", st.retries},
	        {"health_transitions", st.transitions},
	        {"health_changes", h->changes},
	        {"health_rebuilds", h->rebuilds},
	        {"health_tick_rebuilds", h->tick_rebuilds},
	        {"health_rebuild_errors", h->rebuild_errors},
	        {"health_last_delay_us", h->last_delay_us},
	        {"health_max_delay_us", h->max_delay_us},
	};
	size_t n = 0;
	for (; n < AYA_ARRAY_LEN(c) && n < max; n++) {
		names[n] = c[n].name;
		values[n] = c[n].v;
	}
	return n;
}
