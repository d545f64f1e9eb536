/*
 * The steering simulation (steer_sim.h). Time advances in steps of DT_S.
 * Every resolver has a home pool (its clients' /24 is nearest to it), a
 * query rate and a cache entry: while the entry is fresh, all its clients'
 * traffic goes to the cached pool; when it expires the resolver asks the
 * rule again and caches the answer for the TTL. Resolvers start with their
 * home pool cached and expiries spread over one TTL, as a real population
 * is never synchronised.
 *
 * Each pool's backend reports utilization = traffic / capacity over a probe
 * window; the report reaches the compiler at the end of the next window
 * (the agent's probe plus gossip), as a fresh observation in a state view;
 * the snapshot is rebuilt at every report, as ayad's debounced rebuild does.
 * Utilization over 1 is reported as 1 (a backend cannot say more); the
 * metrics use the true value.
 */
#include "tests/policy/steer_sim.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "policy/policy.h"
#include "state/state.h"
#include "tests/geo/fixture.h"

#define DT_S 0.1
#define MAX_WINDOWS 8192
#define CLIENT_PREFIX 24

struct resolver {
	int home;
	double rate; /* q/s of its clients, before demand events */
	pol_client_t client;
	int cached; /* pool, -1 = nothing */
	double expires_s;
};

struct run {
	const ss_scenario_t *sc;
	ss_rule_t rule;
	geo_tree_t *geo;
	aya_rng_t rng;
	/* The config the compiler sees. */
	cfg_endpoint_t eps[SS_MAX_POOLS];
	cfg_pool_t pools[SS_MAX_POOLS];
	cfg_monitor_t mon;
	cfg_service_t svc;
	cfg_zone_t zone;
	cfg_t cfg;
	char keys[SS_MAX_POOLS][STATE_NAME_MAX + 1];
	pol_snap_t *snap;
	/* The world. */
	struct resolver *res;
	size_t n_res;
	double demand_mult[SS_MAX_POOLS];
	double capacity[SS_MAX_POOLS];
	double window[SS_MAX_POOLS];   /* traffic (queries) in the current probe window */
	double reported[SS_MAX_POOLS]; /* what the compiler was last told, 0..1 */
	double measured[SS_MAX_POOLS]; /* the last window, not yet reported */
	/* Utilization per window, for the metrics. */
	double (*util)[SS_MAX_POOLS];
	size_t n_windows;
};

const char *ss_rule_name(ss_rule_t r)
{
	return r == SS_RULE_AYA ? "aya" : r == SS_RULE_LEAST_LOADED ? "least-loaded" : "?";
}

static int config_init(struct run *r)
{
	const ss_scenario_t *sc = r->sc;
	r->mon = (cfg_monitor_t){
	        .name = "m", .port = 80, .interval_ms = (uint32_t)(sc->probe_s * 1000), .fall = 3};
	for (size_t p = 0; p < sc->n_pools; p++) {
		r->eps[p] = (cfg_endpoint_t){.family = AF_INET, .weight = 1};
		snprintf(r->eps[p].text, sizeof(r->eps[p].text), "%s", sc->addr[p]);
		if (inet_pton(AF_INET, sc->addr[p], r->eps[p].addr) != 1 ||
		    state_endpoint_key(r->keys[p], sizeof(r->keys[p]), sc->addr[p], 80, "m") < 0) {
			return -1;
		}
		r->pools[p] = (cfg_pool_t){.region = fx_regions[sc->region[p]].name,
		                           .region_idx = (size_t)sc->region[p],
		                           .endpoints = &r->eps[p],
		                           .n_endpoints = 1,
		                           .monitor = "m",
		                           .monitor_idx = 0};
	}
	r->svc = (cfg_service_t){
	        .name = "www", .ttl_s = sc->ttl_s, .pools = r->pools, .n_pools = sc->n_pools};
	if (aya_dname_from_str("www.example.com", r->svc.owner) < 0) {
		return -1;
	}
	r->zone = (cfg_zone_t){.name = "example.com", .services = &r->svc, .n_services = 1};
	r->cfg = (cfg_t){.zones = &r->zone,
	                 .n_zones = 1,
	                 .regions = fx_regions,
	                 .n_regions = R_COUNT,
	                 .monitors = &r->mon,
	                 .n_monitors = 1};
	return 0;
}

/* A snapshot from the last reports; the old one is freed (no reader is left in a simulation). */
static int rebuild(struct run *r, double now_s)
{
	state_obs_t obs[SS_MAX_POOLS];
	uint64_t now_ms = 1700000000000ull + (uint64_t)(now_s * 1000);
	for (size_t p = 0; p < r->sc->n_pools; p++) {
		obs[p] = (state_obs_t){.observer = "sim",
		                       .endpoint = r->keys[p],
		                       .status = STATE_ST_UP,
		                       .utilization = r->reported[p],
		                       .observed_at_ms = now_ms,
		                       .version = now_ms};
	}
	state_view_t *view = NULL;
	if (state_view_from(obs, r->sc->n_pools, NULL, 0, &view) < 0) {
		return -1;
	}
	pol_inputs_t in = {.view = view, .now_ms = now_ms};
	pol_snap_t *s = NULL;
	char err[256];
	int rc = pol_snap_build(&r->cfg, r->geo, &in, &s, err, sizeof(err));
	state_view_free(view);
	if (rc < 0) {
		fprintf(stderr, "steer_sim: %s\n", err);
		return -1;
	}
	pol_snap_free(r->snap);
	r->snap = s;
	return 0;
}

static int resolvers_init(struct run *r)
{
	const ss_scenario_t *sc = r->sc;
	r->n_res = sc->resolvers_per_pool * sc->n_pools;
	r->res = calloc(r->n_res, sizeof(*r->res));
	if (r->res == NULL) {
		return -1;
	}
	for (size_t i = 0; i < r->n_res; i++) {
		struct resolver *x = &r->res[i];
		x->home = (int)(i / sc->resolvers_per_pool);
		x->rate = sc->demand[x->home] / sc->resolvers_per_pool;
		x->client = (pol_client_t){
		        .family = AF_INET, .source_prefix = CLIENT_PREFIX, .ecs = true};
		if (inet_pton(AF_INET, sc->client[x->home], x->client.addr) != 1) {
			return -1;
		}
		x->client.addr[3] = 0;
		x->cached = x->home;
		x->expires_s = aya_rng_unit(&r->rng) * sc->ttl_s;
	}
	return 0;
}

/* The pool the rule answers this resolver with; -1 for no address. */
static int ask(struct run *r, const struct resolver *x)
{
	if (r->rule == SS_RULE_LEAST_LOADED) {
		int best = 0;
		for (size_t p = 1; p < r->sc->n_pools; p++) {
			best = r->reported[p] < r->reported[best] ? (int)p : best;
		}
		return best;
	}
	const pol_service_t *svc = pol_service_get(r->snap, 0);
	pol_result_t res;
	int rc = pol_answer(r->snap, svc, AF_INET, &x->client, aya_rng_next(&r->rng), &res, NULL);
	return rc == POL_OK && res.count > 0 ? res.ep[0]->pool : -1;
}

static void apply_events(struct run *r, double t, ss_result_t *out)
{
	(void)out;
	for (size_t e = 0; e < r->sc->n_events; e++) {
		const ss_event_t *ev = &r->sc->events[e];
		if (t < ev->at_s || t - DT_S >= ev->at_s) {
			continue; /* not in this step */
		}
		if (ev->demand_mult > 0) {
			r->demand_mult[ev->pool] *= ev->demand_mult;
		}
		if (ev->cap_mult > 0) {
			r->capacity[ev->pool] *= ev->cap_mult;
		}
	}
}

/* The end of a probe window: measure it, report the previous one, rebuild. */
static int window_end(struct run *r, double t)
{
	const ss_scenario_t *sc = r->sc;
	if (r->n_windows == MAX_WINDOWS) {
		return -1;
	}
	for (size_t p = 0; p < sc->n_pools; p++) {
		double u = r->window[p] / (r->capacity[p] * sc->probe_s);
		r->util[r->n_windows][p] = u;
		r->reported[p] = r->measured[p] > 1.0 ? 1.0 : r->measured[p];
		r->measured[p] = u;
		r->window[p] = 0;
	}
	r->n_windows++;
	return r->rule == SS_RULE_AYA ? rebuild(r, t) : 0;
}

static int simulate(struct run *r, ss_result_t *out)
{
	const ss_scenario_t *sc = r->sc;
	size_t steps = (size_t)(sc->duration_s / DT_S + 0.5);
	size_t per_window = (size_t)(sc->probe_s / DT_S + 0.5);
	for (size_t s = 0; s < steps; s++) {
		double t = (double)s * DT_S;
		apply_events(r, t, out);
		for (size_t i = 0; i < r->n_res; i++) {
			struct resolver *x = &r->res[i];
			if (t >= x->expires_s) {
				x->cached = ask(r, x);
				x->expires_s = t + sc->ttl_s;
				out->queries++;
				out->unanswered += x->cached < 0;
			}
			double q = x->rate * r->demand_mult[x->home] * DT_S;
			out->offered += q;
			if (x->cached >= 0) {
				r->window[x->cached] += q;
				out->served += q;
			}
		}
		if ((s + 1) % per_window == 0 && window_end(r, t + DT_S) < 0) {
			return -1;
		}
	}
	return 0;
}

static void metrics(const struct run *r, ss_result_t *out)
{
	const ss_scenario_t *sc = r->sc;
	double last_event = 0;
	for (size_t e = 0; e < sc->n_events; e++) {
		last_event = sc->events[e].at_s > last_event ? sc->events[e].at_s : last_event;
	}
	size_t from = (size_t)(last_event / sc->probe_s);
	/* The first window after the last event from which every later one is in bounds. */
	size_t ok_from = r->n_windows;
	for (size_t w = r->n_windows; w-- > from;) {
		bool ok = true;
		for (size_t p = 0; p < sc->n_pools && ok; p++) {
			ok = r->util[w][p] <= sc->target * 1.1;
		}
		if (!ok) {
			break;
		}
		ok_from = w;
	}
	out->converge_ttl =
	        ok_from < r->n_windows ? (double)(ok_from - from) * sc->probe_s / sc->ttl_s : -1;
	size_t third = r->n_windows - r->n_windows / 3;
	int hot = 0;
	for (size_t p = 0; p < sc->n_pools; p++) {
		double sum = 0;
		for (size_t w = 0; w < r->n_windows; w++) {
			double u = r->util[w][p];
			out->peak[p] = u > out->peak[p] ? u : out->peak[p];
			if (u - sc->limit > out->overshoot) {
				out->overshoot = u - sc->limit;
			}
			sum += w >= third ? u : 0;
		}
		out->mean_last[p] = sum / (double)(r->n_windows - third);
		hot = out->mean_last[p] > out->mean_last[hot] ? (int)p : hot;
	}
	double var = 0;
	for (size_t w = third; w < r->n_windows; w++) {
		double d = r->util[w][hot] - out->mean_last[hot];
		var += d * d;
	}
	out->stddev = sqrt(var / (double)(r->n_windows - third));
}

int ss_run(const ss_scenario_t *sc, ss_rule_t rule, geo_tree_t *geo, uint64_t seed,
           ss_result_t *out)
{
	*out = (ss_result_t){0};
	struct run *r = calloc(1, sizeof(*r));
	int rc = -1;
	if (r == NULL || sc->n_pools == 0 || sc->n_pools > SS_MAX_POOLS || sc->probe_s < DT_S) {
		goto done;
	}
	r->sc = sc;
	r->rule = rule;
	r->geo = geo;
	aya_rng_seed(&r->rng, seed);
	for (size_t p = 0; p < sc->n_pools; p++) {
		r->demand_mult[p] = 1.0;
		r->capacity[p] = sc->capacity[p];
		/* The steady state's load, so that the first snapshot is not all idle. */
		r->measured[p] = sc->demand[p] / sc->capacity[p];
		r->reported[p] = r->measured[p] > 1.0 ? 1.0 : r->measured[p];
	}
	r->util = calloc(MAX_WINDOWS, sizeof(*r->util));
	if (r->util == NULL || config_init(r) < 0 || resolvers_init(r) < 0 || rebuild(r, 0) < 0 ||
	    simulate(r, out) < 0) {
		goto done;
	}
	metrics(r, out);
	rc = 0;
done:
	if (r != NULL) {
		pol_snap_free(r->snap);
		free(r->util);
		free(r->res);
		free(r);
	}
	return rc;
}
