/*
 * A simulation of steering through DNS caches (DESIGN.md "Steering through
 * caches"): caching resolvers in front of the real policy compiler and
 * pol_answer(), pools of given capacity, backends whose utilization is the
 * traffic the cached answers send them, measured every probe interval and
 * reported to the compiler one interval late, as the agent does. The clock
 * is the simulation's: a run of minutes takes milliseconds.
 *
 * The policy is the real one (whatever the chain and snapshot do); a rule
 * other than AYA replaces it for comparison. Results are deterministic for
 * a seed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"

#define SS_MAX_POOLS 4
#define SS_MAX_EVENTS 8

typedef enum ss_rule {
	SS_RULE_AYA = 0,      /* the policy snapshot and pol_answer() */
	SS_RULE_LEAST_LOADED, /* every expired resolver takes the least utilized pool */
	SS_RULE_COUNT,
} ss_rule_t;

/* A change at a time: demand of one home region, or capacity of one pool, multiplied. */
typedef struct ss_event {
	double at_s;
	int pool;           /* index into the scenario's pools */
	double demand_mult; /* of the resolvers whose home (nearest) pool this is; 0 = unchanged */
	double cap_mult;    /* of the pool's capacity; 0 = unchanged */
} ss_event_t;

typedef struct ss_scenario {
	const char *name;
	size_t n_pools;
	int region[SS_MAX_POOLS];         /* fx_regions index of each pool */
	const char *addr[SS_MAX_POOLS];   /* the pool's one endpoint */
	const char *client[SS_MAX_POOLS]; /* a /24 whose nearest pool this is, for its resolvers */
	double capacity[SS_MAX_POOLS];    /* q/s at utilization 1 */
	double demand[SS_MAX_POOLS];      /* q/s from the resolvers homed on each pool */
	unsigned resolvers_per_pool;
	unsigned ttl_s;
	double probe_s;       /* measurement window and report delay */
	double duration_s;    /* simulated */
	double target, limit; /* what the metrics measure against */
	ss_event_t events[SS_MAX_EVENTS];
	size_t n_events;
} ss_scenario_t;

typedef struct ss_result {
	double converge_ttl; /* after the last event, TTLs until every pool stays within 10% of
	                      * target or under it; < 0 = never */
	double overshoot; /* peak utilization above limit, as a fraction of capacity (0 = none) */
	double stddev;    /* of the most loaded pool's utilization over the last third */
	double peak[SS_MAX_POOLS];
	double mean_last[SS_MAX_POOLS]; /* mean utilization over the last third */
	uint64_t queries;               /* resolver queries to the policy */
	uint64_t unanswered;            /* of which got no address */
	double offered, served;         /* client load, q x s: every query goes somewhere */
} ss_result_t;

/* Run one scenario under one rule, with geo (a tree over fx_regions) and a seed. 0 or -1. */
int ss_run(const ss_scenario_t *sc, ss_rule_t rule, geo_tree_t *geo, uint64_t seed,
           ss_result_t *out);
const char *ss_rule_name(ss_rule_t r);
