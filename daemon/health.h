/*
 * ayad's health input to the policy (issue 4): the agent that probes the
 * backends, the aggregation of every observer's observation of an endpoint
 * into the policy's healthy/headroom, and the debounced rebuild of the
 * policy snapshot when a probe result changes something.
 *
 * Aggregation rule (ayad_health_eval, pure, unit-tested):
 *  - an observation older than the endpoint's stale limit
 *    (max(3 x interval x fall, AYAD_HEALTH_STALE_MIN_MS)) is ignored;
 *  - the pool's `quorum` combines the fresh observers: `majority` (default)
 *    is healthy when a strict majority do not say DOWN (UP or UNKNOWN), a
 *    tie is unhealthy; `any` when one of them does not say DOWN; `all` when
 *    none says DOWN;
 *  - nothing fresh known (every observer unreachable, as in a partition that
 *    cuts a node off from a region's observers, or nothing probed yet): the
 *    pool's `when_unobserved`, `up` by default (fail open: a node that knows
 *    nothing must not take a service down; `when_all_down` still applies)
 *    or `down` (fail closed);
 *  - utilization: the most recent fresh observation that knows it, else
 *    unknown (NAN; the policy gets -1, not 0);
 *  - headroom = (1 - utilization, or 1 when unknown) x slow-start factor,
 *    the factor ramping over the monitor's slow_start from the latest fresh
 *    up_since (agent_slow_start_factor).
 *  - endpoints of pools without a monitor are healthy, headroom 1.
 *
 * Threads: everything but ayad_health_eval belongs to the control thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/compiler.h"
#include "config/config.h"
#include "policy/policy.h"
#include "state/state.h"

/* Shortest stale limit: a few missed gossip rounds must not flap health. */
#define AYAD_HEALTH_STALE_MIN_MS 5000u
/* Delay of the policy rebuild after the first change of a batch. */
#define AYAD_HEALTH_DEBOUNCE_MS 50u
/* Period of the check for stale observations and slow-start steps. */
#define AYAD_HEALTH_TICK_MS 500u
/* A slow-start headroom step at least this large republishes. */
#define AYAD_HEALTH_HEADROOM_STEP 0.02

/* One endpoint's aggregated view. */
typedef struct ayad_ep_health {
	bool healthy;
	unsigned n_fresh;     /* observers counted */
	unsigned n_down;      /* of which say DOWN */
	unsigned n_stale;     /* ignored */
	uint64_t up_since_ms; /* slow start from (0 = not ramping) */
	double utilization;   /* 0..1, NAN = unknown */
	double slow_start;    /* weight factor, AGENT_SLOW_START_FLOOR..1 */
	double headroom;      /* 0..1 */
} ayad_ep_health_t;

/* How a pool combines its observers (config pools[].quorum, when_unobserved). */
typedef struct ayad_health_rule {
	int quorum;         /* cfg_quorum_t */
	bool unobserved_up; /* nothing fresh known: healthy (fail open) */
} ayad_health_rule_t;

/* The rule of a pool. */
ayad_health_rule_t ayad_health_rule_of(const cfg_pool_t *pool) AYA_NONNULL(1);

/* The stale limit of a monitor's observations, in ms. */
uint64_t ayad_health_stale_ms(uint32_t interval_ms, uint32_t fall);

/*
 * Aggregate n observations of one endpoint (any observers) at now_ms.
 * Pure: any thread.
 */
void ayad_health_eval(const state_obs_t *obs, size_t n, uint64_t now_ms, uint64_t stale_ms,
                      uint32_t slow_start_ms, ayad_health_rule_t rule, ayad_ep_health_t *out)
        AYA_NONNULL(7);

/* Every observation of the state, copied and sorted by endpoint key. */
typedef struct ayad_obs_index {
	state_obs_t *v;
	size_t n;
	aya_arena_t *arena; /* the strings */
} ayad_obs_index_t;

/* 0 or -ENOMEM. */
int ayad_obs_index_build(const state_t *st, ayad_obs_index_t *out) AYA_NONNULL(1, 2) AYA_WUR;
void ayad_obs_index_fini(ayad_obs_index_t *ix) AYA_NONNULL(1);
/* The observations of one endpoint key (borrowed from ix), *n of them; NULL when none. */
const state_obs_t *ayad_obs_index_find(const ayad_obs_index_t *ix, const char *key, size_t *n)
        AYA_NONNULL(1, 2, 3);

/*
 * The key and the aggregated view of one endpoint of a monitored pool at
 * now_ms; false when the pool has no monitor (then *h is "healthy, 1").
 */
bool ayad_health_endpoint(const cfg_t *cfg, const cfg_pool_t *pool, const cfg_endpoint_t *ep,
                          const ayad_obs_index_t *ix, uint64_t now_ms, char *key,
                          ayad_ep_health_t *h) AYA_NONNULL(1, 2, 3, 4, 6, 7);

/* ---- the daemon's part (control thread) ---- */

struct ayad;
typedef struct ayad_health ayad_health_t;
typedef struct ayad_hbuild ayad_hbuild_t;

/* Allocate d->health (no agent yet): before the first policy build. 0 or -ENOMEM. */
int ayad_health_init(struct ayad *d) AYA_NONNULL(1) AYA_WUR;
/* Create the agent on d->base with d->cfg's targets, arm the timers. 0 or a negative errno. */
int ayad_health_start(struct ayad *d) AYA_NONNULL(1) AYA_WUR;
/* Probe the monitored endpoints of cfg (after a reload was published). */
void ayad_health_set_targets(struct ayad *d, const cfg_t *cfg) AYA_NONNULL(1, 2);
/* Stop probing, free d->health. Before the state store closes. */
void ayad_health_stop(struct ayad *d) AYA_NONNULL(1);

/*
 * Around pol_snap_build(): begin snapshots the observations for cfg and
 * gives the callback and its context; end(ok) keeps what the snapshot was
 * built from (for the staleness check) and frees the rest. 0 or -ENOMEM.
 */
int ayad_health_begin(struct ayad *d, const cfg_t *cfg, ayad_hbuild_t **out)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
void ayad_health_cb(void *ctx, const cfg_service_t *svc, const cfg_pool_t *pool,
                    const cfg_endpoint_t *ep, pol_ep_state_t *st);
void ayad_health_end(struct ayad *d, ayad_hbuild_t *hb, bool ok) AYA_NONNULL(1);

/* The agent (NULL before start); borrowed. */
struct agent *ayad_health_agent(const struct ayad *d) AYA_NONNULL(1);

/* Counters for `ayactl status`: name/value pairs into out[0..max), returns how many. */
#define AYAD_HEALTH_COUNTERS 15
size_t ayad_health_counters(const struct ayad *d, const char **names, uint64_t *values, size_t max)
        AYA_NONNULL(1, 2, 3);
