/*
 * The steering simulation (steer_sim.h). Time advances in steps of DT_S.
 * Every resolver has a home pool (its clients' /24 is nearest to it), a
 * query rate, a node it asks, and a cache entry: while the entry is fresh,
 * all its clients' traffic goes to the cached pool; when it expires the
 * resolver asks its node again and caches the answer for the TTL.
 * Resolvers start with their home pool cached and expiries spread over one
 * TTL, as a real population is never synchronised.
 *
 * Each pool's backend reports utilization = traffic / capacity over a probe
 * window; the report reaches the nodes at the end of the next window (the
 * agent's probe plus gossip), as a fresh observation in a state view. At
 * every report each node steps its load loop (pol_steer_update) and
 * rebuilds its snapshot, as ayad's timer and debounced rebuild do. Node 0
 * owns every pool's loop; the others adopt its fractions (gossip), unless
 * cut off: a cut node sees no fresh observation and no fraction, and runs
 * on what it last knew. Utilization over 1 is reported as 1 (a backend
 * cannot say more); the metrics use the true value.
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
#define T0_MS 1700000000000ull

struct resolver {
	int home;
	unsigned node;
	double rate; /* q/s of its clients, before demand events */
	pol_client_t client;
	int cached; /* pool, -1 = nothing */
	double expires_s;
};

struct node {
	pol_steer_t *steer;
	pol_snap_t *snap;
	bool cut;
};

struct run {
	const ss_scenario_t *sc;
	ss_rule_t rule;
	geo_tree_t *geo;
	aya_rng_t rng;
	/* The config the compiler sees. */
	cfg_region_t regions[R_COUNT];
	cfg_endpoint_t eps[SS_MAX_POOLS];
	cfg_pool_t pools[SS_MAX_POOLS];
	cfg_monitor_t mon;
	cfg_service_t svc;
	cfg_zone_t zone;
	cfg_t cfg;
	char keys[SS_MAX_POOLS][STATE_NAME_MAX + 1];
	struct node node[SS_MAX_NODES];
	unsigned n_nodes;
	/* The world. */
	struct resolver *res;
	size_t n_res;
	double mult_from[SS_MAX_POOLS], mult_to[SS_MAX_POOLS]; /* demand ramp */
	double ramp_at[SS_MAX_POOLS], ramp_end[SS_MAX_POOLS];
	double capacity[SS_MAX_POOLS];
	double cost[SS_MAX_POOLS];
	bool down[SS_MAX_POOLS];
	double window[SS_MAX_POOLS];   /* traffic (queries) in the current probe window */
	double reported[SS_MAX_POOLS]; /* what the nodes were last told, 0..1 */
	double measured[SS_MAX_POOLS]; /* the last window, not yet reported */
	/* Utilization per window, for the metrics. */
	double (*util)[SS_MAX_POOLS];
	size_t n_windows;
};

FILE *ss_trace;

const char *ss_rule_name(ss_rule_t r)
{
	switch (r) {
	case SS_RULE_AYA:
		return "aya";
	case SS_RULE_AYA_NO_FC:
		return "aya, no forecast";
	case SS_RULE_LEAST_LOADED:
		return "least-loaded";
	case SS_RULE_STATIC:
		return "static weighted";
	case SS_RULE_COUNT:
		break;
	}
	return "?";
}

static int config_init(struct run *r)
{
	const ss_scenario_t *sc = r->sc;
	memcpy(r->regions, fx_regions, sizeof(r->regions));
	for (size_t i = 0; i < R_COUNT; i++) {
		r->regions[i].cost = 1;
		r->regions[i].burst = false;
	}
	r->mon = (cfg_monitor_t){
	        .name = "m", .port = 80, .interval_ms = (uint32_t)(sc->probe_s * 1000), .fall = 3};
	for (size_t p = 0; p < sc->n_pools; p++) {
		cfg_region_t *rg = &r->regions[sc->region[p]];
		rg->cost = sc->cost[p] > 0 ? sc->cost[p] : 1;
		rg->burst = sc->burst[p];
		r->cost[p] = rg->cost;
		r->eps[p] = (cfg_endpoint_t){.family = AF_INET, .weight = 1};
		snprintf(r->eps[p].text, sizeof(r->eps[p].text), "%s", sc->addr[p]);
		if (inet_pton(AF_INET, sc->addr[p], r->eps[p].addr) != 1 ||
		    state_endpoint_key(r->keys[p], sizeof(r->keys[p]), sc->addr[p], 80, "m") < 0) {
			return -1;
		}
		r->pools[p] = (cfg_pool_t){.region = rg->name,
		                           .region_idx = (size_t)sc->region[p],
		                           .endpoints = &r->eps[p],
		                           .n_endpoints = 1,
		                           .monitor = "m",
		                           .monitor_idx = 0,
		                           .target = sc->target,
		                           .limit = sc->limit};
	}
	r->svc = (cfg_service_t){.name = "www",
	                         .ttl_s = sc->ttl_s,
	                         .pools = r->pools,
	                         .n_pools = sc->n_pools,
	                         .cost_tolerance_km =
	                                 sc->cost_tolerance_km > 0 ? sc->cost_tolerance_km : 1000};
	if (aya_dname_from_str("www.example.com", r->svc.owner) < 0) {
		return -1;
	}
	r->zone = (cfg_zone_t){.name = "example.com", .services = &r->svc, .n_services = 1};
	r->cfg = (cfg_t){.zones = &r->zone,
	                 .n_zones = 1,
	                 .regions = r->regions,
	                 .n_regions = R_COUNT,
	                 .monitors = &r->mon,
	                 .n_monitors = 1};
	r->n_nodes = sc->nodes > 0 ? sc->nodes : 1;
	for (unsigned n = 0; n < r->n_nodes; n++) {
		if (pol_steer_new(&r->node[n].steer) < 0 ||
		    pol_steer_sync(r->node[n].steer, &r->cfg, r->rule != SS_RULE_AYA_NO_FC) < 0) {
			return -1;
		}
	}
	return 0;
}

static bool owns_none(const char *service, const char *region, void *ctx)
{
	(void)service;
	(void)region;
	(void)ctx;
	return false;
}

/* One node's report: step its loop, take the owner's fractions, rebuild its snapshot. */
static int node_report(struct run *r, unsigned n, uint64_t now_ms)
{
	struct node *nd = &r->node[n];
	const ss_scenario_t *sc = r->sc;
	state_obs_t obs[SS_MAX_POOLS];
	pol_cost_t costs[SS_MAX_POOLS];
	for (size_t p = 0; p < sc->n_pools; p++) {
		obs[p] = (state_obs_t){.observer = "sim",
		                       .endpoint = r->keys[p],
		                       .status = r->down[p] ? STATE_ST_DOWN : STATE_ST_UP,
		                       .utilization = r->reported[p],
		                       .observed_at_ms = now_ms,
		                       .version = now_ms};
		costs[p] = (pol_cost_t){.region = r->pools[p].region, .cost = r->cost[p]};
	}
	state_view_t *view = NULL;
	if (state_view_from(obs, nd->cut ? 0 : sc->n_pools, NULL, 0, &view) < 0) {
		return -1;
	}
	bool owner = n == 0 || nd->cut;
	(void)pol_steer_update(nd->steer, &r->cfg, view, now_ms, owner ? NULL : owns_none, NULL);
	for (size_t i = 0; !owner && i < pol_steer_count(nd->steer); i++) {
		const pol_steer_pool_t *o = pol_steer_get(r->node[0].steer, i);
		if (pol_steer_adopt(nd->steer, o->service, o->region, o->admit, o->closed, now_ms) <
		    0) {
			state_view_free(view);
			return -1;
		}
	}
	pol_inputs_t in = {.view = view,
	                   .now_ms = now_ms,
	                   .steer = nd->steer,
	                   .costs = costs,
	                   .n_costs = sc->n_pools};
	pol_snap_t *s = NULL;
	char err[256];
	int rc = pol_snap_build(&r->cfg, r->geo, &in, &s, err, sizeof(err));
	state_view_free(view);
	if (rc < 0) {
		fprintf(stderr, "steer_sim: %s\n", err);
		return -1;
	}
	pol_snap_free(nd->snap);
	nd->snap = s;
	return 0;
}

static int rebuild(struct run *r, double now_s)
{
	uint64_t now_ms = T0_MS + (uint64_t)(now_s * 1000);
	for (unsigned n = 0; n < r->n_nodes; n++) {
		if (node_report(r, n, now_ms) < 0) {
			return -1;
		}
	}
	return 0;
}

static int resolvers_init(struct run *r)
{
	const ss_scenario_t *sc = r->sc;
	size_t homes = 0;
	for (size_t p = 0; p < sc->n_pools; p++) {
		homes += sc->demand[p] > 0;
	}
	r->n_res = sc->resolvers_per_pool * homes;
	r->res = calloc(r->n_res + 1, sizeof(*r->res));
	if (r->res == NULL) {
		return -1;
	}
	size_t i = 0;
	for (size_t p = 0; p < sc->n_pools; p++) {
		for (unsigned k = 0; sc->demand[p] > 0 && k < sc->resolvers_per_pool; k++, i++) {
			struct resolver *x = &r->res[i];
			x->home = (int)p;
			x->node = k % r->n_nodes;
			x->rate = sc->demand[p] / sc->resolvers_per_pool;
			x->client = (pol_client_t){
			        .family = AF_INET, .source_prefix = CLIENT_PREFIX, .ecs = true};
			if (inet_pton(AF_INET, sc->client[p], x->client.addr) != 1) {
				return -1;
			}
			x->client.addr[3] = 0;
			x->cached = x->home;
			x->expires_s = aya_rng_unit(&r->rng) * sc->ttl_s;
		}
	}
	return 0;
}

/* The pool the rule answers this resolver with; -1 for no address. */
static int ask(struct run *r, const struct resolver *x)
{
	const ss_scenario_t *sc = r->sc;
	if (r->rule == SS_RULE_LEAST_LOADED) {
		int best = -1;
		for (size_t p = 0; p < sc->n_pools; p++) {
			if (!r->down[p] && (best < 0 || r->reported[p] < r->reported[best])) {
				best = (int)p;
			}
		}
		return best;
	}
	if (r->rule == SS_RULE_STATIC) {
		double total = 0;
		for (size_t p = 0; p < sc->n_pools; p++) {
			total += r->down[p] ? 0 : sc->capacity[p];
		}
		double v = aya_rng_unit(&r->rng) * total;
		for (size_t p = 0; p < sc->n_pools; p++) {
			double w = r->down[p] ? 0 : sc->capacity[p];
			if (v < w) {
				return (int)p;
			}
			v -= w;
		}
		return -1;
	}
	const pol_snap_t *snap = r->node[x->node].snap;
	const pol_service_t *svc = pol_service_get(snap, 0);
	pol_result_t res;
	int rc = pol_answer(snap, svc, AF_INET, &x->client, aya_rng_next(&r->rng), &res, NULL);
	return rc == POL_OK && res.count > 0 ? res.ep[0]->pool : -1;
}

static double demand_mult(const struct run *r, size_t p, double t)
{
	if (t >= r->ramp_end[p]) {
		return r->mult_to[p];
	}
	if (t <= r->ramp_at[p]) {
		return r->mult_from[p];
	}
	double k = (t - r->ramp_at[p]) / (r->ramp_end[p] - r->ramp_at[p]);
	return r->mult_from[p] + (r->mult_to[p] - r->mult_from[p]) * k;
}

static void apply_events(struct run *r, double t)
{
	for (size_t e = 0; e < r->sc->n_events; e++) {
		const ss_event_t *ev = &r->sc->events[e];
		if (t < ev->at_s || t - DT_S >= ev->at_s) {
			continue; /* not in this step */
		}
		size_t p = (size_t)ev->pool;
		if (ev->demand_mult > 0) {
			r->mult_from[p] = demand_mult(r, p, t);
			r->mult_to[p] = r->mult_from[p] * ev->demand_mult;
			r->ramp_at[p] = t;
			r->ramp_end[p] = t + ev->ramp_s;
		}
		if (ev->cap_mult > 0) {
			r->capacity[p] *= ev->cap_mult;
		}
		if (ev->cost > 0) {
			r->cost[p] = ev->cost;
		}
		r->down[p] = ev->down ? true : ev->up ? false : r->down[p];
		if (ev->partition > 0 && (unsigned)ev->partition < r->n_nodes) {
			r->node[ev->partition].cut = true;
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
	int rc = r->rule <= SS_RULE_AYA_NO_FC ? rebuild(r, t) : 0;
	if (ss_trace != NULL) {
		fprintf(ss_trace, "%.0f", t);
		for (size_t p = 0; p < sc->n_pools; p++) {
			const pol_steer_pool_t *sp = r->rule <= SS_RULE_AYA_NO_FC
			                                     ? pol_steer_get(r->node[0].steer, p)
			                                     : NULL;
			fprintf(ss_trace, " %.3f %.3f%s", r->util[r->n_windows - 1][p],
			        sp != NULL ? sp->admit : 1.0, sp != NULL && sp->closed ? "c" : "");
		}
		fprintf(ss_trace, "\n");
	}
	return rc;
}

/* Demand above what the healthy non-burst pools carry at target: the least burst traffic. */
static double burst_least(const struct run *r, double t)
{
	const ss_scenario_t *sc = r->sc;
	double demand = 0, room = 0;
	bool burst_up = false;
	for (size_t p = 0; p < sc->n_pools; p++) {
		demand += sc->demand[p] * demand_mult(r, p, t);
		room += !sc->burst[p] && !r->down[p] ? sc->target * r->capacity[p] : 0;
		burst_up |= sc->burst[p] && !r->down[p];
	}
	return burst_up && demand > room ? demand - room : 0;
}

static int simulate(struct run *r, ss_result_t *out)
{
	const ss_scenario_t *sc = r->sc;
	size_t steps = (size_t)(sc->duration_s / DT_S + 0.5);
	size_t per_window = (size_t)(sc->probe_s / DT_S + 0.5);
	for (size_t s = 0; s < steps; s++) {
		double t = (double)s * DT_S;
		apply_events(r, t);
		for (size_t i = 0; i < r->n_res; i++) {
			struct resolver *x = &r->res[i];
			if (t >= x->expires_s) {
				x->cached = ask(r, x);
				x->expires_s = t + sc->ttl_s;
				out->queries++;
				out->unanswered += x->cached < 0;
			}
			double q = x->rate * demand_mult(r, (size_t)x->home, t) * DT_S;
			out->offered += q;
			if (x->cached >= 0) {
				r->window[x->cached] += q;
				out->served += q;
				out->burst_served +=
				        sc->burst[x->cached] && t >= SS_WARMUP_S ? q : 0;
				out->away += x->cached != x->home ? q : 0;
			}
		}
		if (t >= SS_WARMUP_S) {
			out->burst_least += burst_least(r, t) * DT_S;
		}
		if ((s + 1) % per_window == 0 && window_end(r, t + DT_S) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Is window w in the TTL after a step no loop can see coming? */
static bool unforeseeable(const ss_scenario_t *sc, double w_s)
{
	for (size_t e = 0; e < sc->n_events; e++) {
		const ss_event_t *ev = &sc->events[e];
		bool step = (ev->cap_mult > 0 && ev->cap_mult < 1) || ev->down ||
		            (ev->demand_mult > 1 && ev->ramp_s == 0);
		if (step && w_s >= ev->at_s && w_s < ev->at_s + sc->ttl_s + 2 * sc->probe_s) {
			return true;
		}
	}
	return false;
}

/* Utilization of pool p averaged over the SMOOTH_S up to window w (what convergence reads). */
#define SMOOTH_S 5.0
static double smoothed(const struct run *r, size_t w, size_t p)
{
	size_t k = (size_t)(SMOOTH_S / r->sc->probe_s + 0.5);
	k = k < 1 ? 1 : k;
	size_t from = w + 1 >= k ? w + 1 - k : 0;
	double sum = 0;
	for (size_t i = from; i <= w; i++) {
		sum += r->util[i][p];
	}
	return sum / (double)(w + 1 - from);
}

static void metrics(const struct run *r, ss_result_t *out)
{
	const ss_scenario_t *sc = r->sc;
	double last_event = 0;
	for (size_t e = 0; e < sc->n_events; e++) {
		double end = sc->events[e].at_s + sc->events[e].ramp_s;
		last_event = end > last_event ? end : last_event;
	}
	size_t from = (size_t)(last_event / sc->probe_s);
	/* Overshoot after the warm-up: runs start with every client at its nearest pool. */
	size_t over_from = (size_t)(SS_WARMUP_S / sc->probe_s);
	/* The first window after the last event from which every later one is in bounds. */
	size_t ok_from = r->n_windows;
	for (size_t w = r->n_windows; w-- > from;) {
		bool ok = true;
		for (size_t p = 0; p < sc->n_pools && ok; p++) {
			ok = smoothed(r, w, p) <= sc->target * 1.1;
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
			double over = w >= over_from ? u - sc->limit : 0;
			out->overshoot_all = over > out->overshoot_all ? over : out->overshoot_all;
			if (over > out->overshoot && !unforeseeable(sc, (double)w * sc->probe_s)) {
				out->overshoot = over;
			}
			sum += w >= third ? u : 0;
		}
		out->mean_last[p] = sum / (double)(r->n_windows - third);
		hot = out->mean_last[p] > out->mean_last[hot] ? (int)p : hot;
	}
	double var = 0;
	for (size_t w = third; w < r->n_windows; w++) {
		double d = smoothed(r, w, (size_t)hot) - out->mean_last[hot];
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
	if (r == NULL || sc->n_pools == 0 || sc->n_pools > SS_MAX_POOLS || sc->probe_s < DT_S ||
	    sc->nodes > SS_MAX_NODES) {
		goto done;
	}
	r->sc = sc;
	r->rule = rule;
	r->geo = geo;
	aya_rng_seed(&r->rng, seed);
	for (size_t p = 0; p < sc->n_pools; p++) {
		r->mult_from[p] = r->mult_to[p] = 1.0;
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
		for (unsigned n = 0; n < SS_MAX_NODES; n++) {
			pol_snap_free(r->node[n].snap);
			pol_steer_free(r->node[n].steer);
		}
		free(r->util);
		free(r->res);
		free(r);
	}
	return rc;
}
