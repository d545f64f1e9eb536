/* policy/ internals: the snapshot body (tests may include this header). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "policy/policy.h"

/*
 * What one monitored endpoint's verdict was built from, re-evaluated by
 * pol_snap_current(). One per (service, pool, endpoint): the same key may
 * repeat.
 */
typedef struct pol_verdict {
	const char *key; /* endpoint key, in the snapshot's arena */
	uint64_t stale_ms;
	uint32_t slow_start_ms;
	pol_health_rule_t rule;
	bool healthy;
	double headroom;
	uint32_t capacity;   /* reported, 0 = unknown */
	uint32_t rtt_us;     /* 0 = unknown */
	uint32_t rtt_tol_us; /* the service's latency tolerance; 0 = no latency filter */
} pol_verdict_t;

struct pol_snap {
	aya_arena_t *arena; /* holds this struct and everything it points to */
	geo_tree_t *geo;    /* one reference, dropped by pol_snap_free(); may be NULL */
	pol_service_t *services;
	size_t n_services;
	const pol_service_t **canon; /* [i]: the first service with services[i]'s owner */
	uint32_t *slots;             /* owner hash -> service index + 1, 0 = free */
	size_t n_slots;              /* power of two */
	size_t unmatched_drains;
	pol_verdict_t *verdicts; /* the monitored endpoints, built with a view */
	size_t n_verdicts, cap_verdicts;
	uint64_t started_ms; /* restart grace of the verdicts (pol_inputs_t) */
};

/*
 * The chain's static prefix: its leading filters flagged CFG_FILTER_F_STATIC
 * (healthy, drain, geo) depend on the snapshot and the client's geo order
 * only, so pol_snap_build runs them once per (family, order) and
 * pol_answer starts from their result (same steps, same answers). The trace
 * path always runs the whole chain.
 */
typedef struct pol_fast_set {
	int rc;              /* POL_OK, POL_EMPTY or POL_NODATA after the prefix */
	uint16_t n;          /* candidates left */
	const uint16_t *ep;  /* n endpoint indexes, sorted by tier */
	const uint8_t *tier; /* n tiers */
} pol_fast_set_t;

struct pol_fast {
	uint8_t steps;     /* filters in the prefix */
	bool geo;          /* the prefix has geo: the query looks up its order and scope */
	uint32_t n_orders; /* orders of the geo tree, 1 without one */
	const pol_fast_set_t *set[2]; /* [AF_INET6?][order] */
	/*
	 * limit[i] for an ordering step (weighted, hash): only the first
	 * limit[i] positions can reach the answer (first_n follows, no later
	 * filter draws), so ordering stops there.
	 */
	uint16_t limit[POL_MAX_FILTERS];
};

/*
 * Health of one compiled endpoint e (of config pool cp) from in's view, its
 * verdict kept in s (room for it reserved in cap_verdicts): healthy,
 * headroom, utilization, capacity (pol_endpoint_capacity) and rtt_us.
 * Without a view or a monitor e keeps the defaults (capacity the
 * configured one). rtt_tol_us: the service's latency tolerance (0 = no
 * latency filter), for pol_snap_current. 0 or -ENOMEM.
 */
int pol_health_fill(pol_snap_t *s, const cfg_t *cfg, const cfg_pool_t *cp, const cfg_endpoint_t *ce,
                    const pol_inputs_t *in, uint32_t rtt_tol_us, pol_endpoint_t *e);

/* Precompute svc->fast once health and drains are in (skipped when too large). */
int pol_fast_build(pol_snap_t *s, pol_service_t *ps);
