/*
 * A simulation of steering through DNS caches (DESIGN.md "Steering through
 * caches"): caching resolvers in front of the real policy compiler,
 * pol_answer() and the load loop (pol_steer_t), pools of given capacity,
 * backends whose utilization is the traffic the cached answers send them,
 * measured every probe interval and reported one interval late, as the
 * agent does. One or more nodes answer (resolvers are spread over them);
 * the first owns every pool's loop and the others adopt its fractions, as
 * gossip carries them. The clock is the simulation's: a run of minutes
 * takes milliseconds.
 *
 * Rules other than the real policy replace it for comparison. Results are
 * deterministic for a seed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "geo/geo.h"

#define SS_MAX_POOLS 4
#define SS_MAX_EVENTS 8
#define SS_MAX_NODES 3
/* Runs start with every client at its nearest pool: overshoot and burst count after this. */
#define SS_WARMUP_S 60.0

typedef enum ss_rule {
	SS_RULE_AYA = 0,      /* the policy snapshot, pol_answer() and the load loop */
	SS_RULE_AYA_NO_FC,    /* the same loop without its forecast */
	SS_RULE_LEAST_LOADED, /* every expired resolver takes the least utilized healthy pool */
	SS_RULE_STATIC,       /* weighted by capacity over the healthy pools, static */
	SS_RULE_COUNT,
} ss_rule_t;

/*
 * A change at a time. Demand of the resolvers homed on `pool` is multiplied
 * (over ramp_s, linearly; 0 = at once); the pool's capacity multiplied; its
 * cost set; its backend down or up; a node cut off from the others.
 */
typedef struct ss_event {
	double at_s;
	int pool;           /* index into the scenario's pools */
	double demand_mult; /* 0 = unchanged */
	double ramp_s;
	double cap_mult; /* 0 = unchanged */
	double cost;     /* > 0: the pool region's new cost (ayactl cost) */
	bool down, up;
	int partition; /* > 0: node `partition` loses gossip and the observations */
} ss_event_t;

typedef struct ss_scenario {
	const char *name;
	size_t n_pools;
	int region[SS_MAX_POOLS];         /* fx_regions index of each pool */
	const char *addr[SS_MAX_POOLS];   /* the pool's one endpoint */
	const char *client[SS_MAX_POOLS]; /* a /24 whose nearest pool this is, for its resolvers */
	double capacity[SS_MAX_POOLS];    /* q/s at utilization 1 */
	double demand[SS_MAX_POOLS];      /* q/s from the resolvers homed on each pool */
	double cost[SS_MAX_POOLS];        /* 0 = 1 */
	bool burst[SS_MAX_POOLS];
	double cost_tolerance_km; /* 0 = the default */
	unsigned resolvers_per_pool;
	unsigned nodes; /* 0 = 1 */
	unsigned ttl_s;
	double probe_s;       /* measurement window and report delay */
	double duration_s;    /* simulated */
	double target, limit; /* every pool's */
	ss_event_t events[SS_MAX_EVENTS];
	size_t n_events;
} ss_scenario_t;

typedef struct ss_result {
	double converge_ttl;  /* after the last event (its ramp's end), TTLs until every pool
	                       * stays within 10% of target or under it; < 0 = never */
	double overshoot;     /* peak utilization above limit, as a fraction of capacity, outside
	                       * the TTL after a step no loop can foresee (capacity lost, a pool
	                       * down): the cached answers keep their traffic that long */
	double overshoot_all; /* the same including those TTLs */
	double stddev;        /* of the most loaded pool's utilization over the last third */
	double peak[SS_MAX_POOLS];
	double mean_last[SS_MAX_POOLS]; /* mean utilization over the last third */
	double burst_served;            /* q x s sent to burst pools */
	double burst_least;     /* the least possible: demand above the non-burst pools' target */
	double away;            /* q x s served by a pool other than the client's nearest */
	uint64_t queries;       /* resolver queries to the policy */
	uint64_t unanswered;    /* of which got no address */
	double offered, served; /* client load, q x s: every query goes somewhere */
} ss_result_t;

/* Run one scenario under one rule, with geo (a tree over fx_regions) and a seed. 0 or -1. */
int ss_run(const ss_scenario_t *sc, ss_rule_t rule, geo_tree_t *geo, uint64_t seed,
           ss_result_t *out);
const char *ss_rule_name(ss_rule_t r);
/* Non-NULL: every window of the next runs is written there (t, then utilization and admit per
 * pool), for a developer's plots. */
extern FILE *ss_trace;
