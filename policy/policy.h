/*
 * policy/: the service snapshot, its compiler, and the answer chain.
 *
 * pol_snap_build() compiles every service of every zone of a config, the
 * per-endpoint health and the operator drains, both read from a state view
 * (state/state.h), into one immutable pol_snap_t living in one arena. It
 * holds a reference on the shared geo tree (geo/geo.h), dropped by
 * pol_snap_free(). The health rule (policy/health.c, pol_health_eval) is
 * documented below with its API; the snapshot keeps what each monitored
 * endpoint's verdict was built from, so pol_snap_current() can tell when
 * time alone (staleness, slow start) would change it.
 *
 * pol_answer() runs a service's filter chain for one query. It allocates
 * nothing, locks nothing, logs nothing; with a non-NULL trace the same code
 * records every decision for `ayactl explain` (and may then call
 * libmaxminddb to show where the client is).
 *
 * Chain semantics (documented contract, tested in tests/policy/):
 *  - Candidates are the endpoints of the asked family (A: AF_INET, AAAA:
 *    AF_INET6); pools with none are skipped. No candidate at all: POL_NODATA.
 *  - healthy drops unhealthy endpoints, drain drops drained pools and
 *    endpoints. When one of them would drop every candidate, when_all_down
 *    decides: ANSWER_ALL (fail open) skips that filter, i.e. the chain goes
 *    on as if every endpoint were up/undrained; EMPTY returns POL_EMPTY.
 *  - geo sorts pools by the client's region order (geo_tree_lookup). Pools
 *    become tiers: later filters work within a tier. Without geo, all pools
 *    form one tier (config order).
 *  - weighted orders each tier by weighted random sampling without
 *    replacement, weight = endpoint weight x capacity share x headroom (rand
 *    from the caller). The capacity share (pol_endpoint_t.cap_share) divides
 *    a pool's part among its endpoints by capacity: an endpoint's effective
 *    capacity (pol_endpoint_capacity) over the mean of its pool's known
 *    ones, an unknown one counting as that mean; 1 for every endpoint of a
 *    pool where none is known (weight x headroom, as before capacities).
 *  - hash orders each tier by rendezvous (HRW) hash of the client subnet
 *    (/24 IPv4, /56 IPv6, shortened to the source prefix) and the endpoint
 *    address: the same subnet keeps the same endpoint while it is up.
 *  - latency T orders each tier by probe RTT (pol_endpoint_t.rtt_us, the
 *    lowest of the fresh observers' EWMAs) in steps of T ms from the tier's
 *    best: RTTs less than T ms above the best are equal, the next T ms the
 *    next step, and so on; unknown RTTs come after every known one. The sort
 *    is stable, so endpoints of one step keep the order they came in (put it
 *    after weighted or hash to pick among the fastest at random or by
 *    client). Tiers (pools, in geo's or load's order) are not reordered:
 *    the RTT is measured from the observers, not from the client. Without
 *    geo every pool is in one tier, so pools are compared too.
 *  - first_n N keeps the first N candidates in tier order: it takes from
 *    the first tier and spills into the next ones when a tier has fewer than
 *    N. Without first_n every remaining candidate is answered (up to
 *    POL_MAX_ANSWER).
 *  - ECS scope: the widest prefix the answer depends on. geo with more than
 *    one pool of the family contributes the geo tree's scope, hash the hash
 *    subnet length; the scope is the larger of those (0 when neither), never
 *    more than the client's source prefix.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "config/config.h"
#include "geo/geo.h"
#include "state/state.h"

#define POL_MAX_ANSWER 16     /* addresses in one answer */
#define POL_MAX_POOLS 64      /* pools per service */
#define POL_MAX_ENDPOINTS 256 /* endpoints per service */
#define POL_MAX_FILTERS 16    /* filters per chain */
#define POL_HASH_V4_BITS 24   /* client subnet hashed by `hash` */
#define POL_HASH_V6_BITS 56

/* pol_answer() results (>= 0); errors are negative errno. */
enum pol_rc {
	POL_OK = 0,     /* out->count >= 1 addresses */
	POL_EMPTY = 1,  /* when_all_down: empty: NOERROR without records */
	POL_NODATA = 2, /* the service has no endpoint of that family: NODATA */
};

/* One endpoint as compiled: a value in the snapshot, read-only. */
typedef struct pol_endpoint {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order, 4 or 16 bytes used */
	const char *text; /* as written in the config */
	uint32_t weight;
	uint32_t capacity; /* pol_endpoint_capacity(): reported, else configured; 0 = unknown */
	uint32_t rtt_us;   /* probe RTT, lowest fresh observer's EWMA (pol_ep_health_t); 0 = none */
	double cap_share;  /* capacity / its pool's mean known capacity; 1 when none is known */
	bool healthy;      /* from the health input; default true */
	bool drained;      /* drained by address, or its pool is */
	double headroom;   /* 0..1 of capacity left; default 1.0 */
	double utilization; /* 0..1, negative = unknown (default) */
	uint16_t pool;      /* index into the service's pools */
} pol_endpoint_t;

typedef struct pol_pool {
	const char *region; /* name */
	uint8_t region_idx; /* index into cfg_t.regions */
	bool drained;
	/* From the load loop (pol_steer_t; 1, false and NAN without one): */
	double admit;       /* share of the queries reaching this pool that it keeps */
	bool closed;        /* over its limit: skipped by `load` */
	double utilization; /* the pool's, capacity-weighted; NAN = unknown */
	double forecast;    /* its pressure (utilization at admit 1) at the horizon; NAN = none */
	double target, limit;
	double cost; /* the region's (or its runtime override) */
	bool burst;
	uint16_t first, count; /* its endpoints: service->endpoints[first .. first+count) */
} pol_pool_t;

struct pol_fast; /* internal: the chain's query-independent prefix, precomputed */

typedef struct pol_service {
	const uint8_t *owner; /* wire, lower-case */
	uint8_t owner_len;
	const char *name; /* presentation, no trailing dot */
	uint32_t ttl_s;
	cfg_all_down_t all_down;
	const cfg_filter_t *filters; /* the chain, in order */
	uint8_t n_filters;
	const pol_pool_t *pools;
	uint16_t n_pools;
	const pol_endpoint_t *endpoints; /* grouped by pool */
	uint16_t n_endpoints;
	uint16_t pools_v4, pools_v6; /* pools with at least one endpoint of the family */
	const struct pol_fast *fast; /* NULL: pol_answer runs the whole chain */
	/*
	 * geo's order of the pools is reshaped (burst pools last, cheaper ones
	 * first among those near the nearest): near[p] is the bit set of pools
	 * whose regions are within cost_tolerance_km of pool p's. False: geo's
	 * order as is (equal costs, no burst pool).
	 */
	bool reorder;
	const uint64_t *near;
	bool load_hash; /* the chain has `hash`: load draws from the client subnet */
	bool steered;   /* a pool admits less than everything or is closed: `load` has work */
} pol_service_t;

typedef struct pol_snap pol_snap_t;

/*
 * What a build reads besides the config and the geo tree. view NULL: every
 * endpoint healthy (headroom 1, utilization unknown), no drains (`ayad
 * --check`, tests). now_ms: the wall clock (unix ms) freshness and slow start
 * are judged at.
 */
typedef struct pol_inputs {
	const state_view_t *view; /* observations and drains; borrowed for the build */
	uint64_t now_ms;
	/*
	 * When this node started (unix ms; 0 = no restart grace). For one stale
	 * limit after it, an endpoint with no fresh observation but stored
	 * (stale) ones is judged by those, not by when_unobserved: a node that
	 * was down for a while keeps a dead backend out until its own probes
	 * have run, instead of answering it.
	 */
	uint64_t started_ms;
	/* The load loop's admit fractions (policy/steer.c); NULL = admit everything. */
	const struct pol_steer *steer;
	/* Runtime cost overrides by region name; NULL/0 = the config's. */
	const struct pol_cost *costs;
	size_t n_costs;
} pol_inputs_t;

/* A region's cost set at runtime (ayactl cost), overriding regions[].cost. */
typedef struct pol_cost {
	const char *region;
	double cost;
} pol_cost_t;

/*
 * Compile cfg's services. `geo` (from geo_tree_build_cfg(), with or without
 * a database) must have cfg's regions; NULL means no geo: the geo filter then
 * keeps config order with scope 0. The snapshot takes its own reference on
 * geo; the caller keeps its own. `in` may be NULL (all healthy, no drains).
 * Drains (a full service name, any case, trailing dot optional; a target that
 * is a region name, an endpoint address, or NULL for every pool) that match
 * nothing are counted (pol_snap_unmatched_drains) and logged, not errors. Returns 0, or -EINVAL (a
 * service over the POL_MAX_* limits, a region index out of range, a geo tree for other regions) or
 * -ENOMEM, with a message in err. Control thread.
 */
int pol_snap_build(const cfg_t *cfg, geo_tree_t *geo, const pol_inputs_t *in, pol_snap_t **out,
                   char *err, size_t errlen) AYA_NONNULL(1, 4) AYA_WUR;
/* NULL is a no-op. Only after the RCU grace period. Drops the geo reference. */
void pol_snap_free(pol_snap_t *s);

/* Service by wire owner name (any case); NULL = not a service. Any thread, no allocation. */
const pol_service_t *pol_service_find(const pol_snap_t *s, const uint8_t *owner)
        AYA_NONNULL(1, 2) AYA_HOT;
/*
 * The service pol_service_find() would return for `owner` (lower-case wire of
 * `len` bytes), located through its config index: services are numbered in
 * config order, zone by zone, which is how dnsd's zone snapshot records them
 * per node. The owner at that index is compared byte for byte, so a snapshot
 * built from another config is still answered right (through
 * pol_service_find). Any thread, no allocation.
 */
const pol_service_t *pol_service_at(const pol_snap_t *s, uint32_t idx, const uint8_t *owner,
                                    size_t len) AYA_NONNULL(1, 3) AYA_HOT;
size_t pol_service_count(const pol_snap_t *s) AYA_NONNULL(1);
const pol_service_t *pol_service_get(const pol_snap_t *s, size_t i) AYA_NONNULL(1);
size_t pol_snap_bytes(const pol_snap_t *s) AYA_NONNULL(1);
size_t pol_snap_unmatched_drains(const pol_snap_t *s) AYA_NONNULL(1);
const geo_tree_t *pol_snap_geo(const pol_snap_t *s) AYA_NONNULL(1);

/* ---- health: observations to an endpoint's healthy/headroom (policy/health.c) ----
 *
 * The rule (pol_health_eval, pure):
 *  - an observation older than the endpoint's stale limit
 *    (state_obs_stale_ms() of its monitor) is ignored;
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
 *    unknown (NAN; the snapshot gets -1, not 0); capacity the same (0 =
 *    unknown); both from observations that do not say DOWN;
 *  - rtt_us: the lowest RTT EWMA of the fresh observations that do not say
 *    DOWN (0 = none known). The lowest, not the median: observers sit in
 *    different regions (`observers: k` picks one elsewhere), and the
 *    nearest one's RTT is the backend's own response time plus the least
 *    network; a slow backend is slow for every observer, the nearest too;
 *  - headroom = (1 - utilization, or 1 when unknown) x slow-start factor,
 *    the factor ramping over the monitor's slow_start from the latest fresh
 *    up_since (agent_slow_start_factor); 0 when unhealthy;
 *  - endpoints of pools without a monitor are healthy, headroom 1.
 */

/* A rebuild is due when time moved an endpoint's headroom by at least this much. */
#define POL_HEADROOM_STEP 0.02
/* ... or its reported capacity by this share of the one built with. */
#define POL_CAPACITY_STEP 0.05

/* One endpoint's aggregated view. */
typedef struct pol_ep_health {
	bool healthy;
	unsigned n_fresh;     /* observers counted */
	unsigned n_down;      /* of which say DOWN */
	unsigned n_stale;     /* ignored */
	uint64_t up_since_ms; /* slow start from (0 = not ramping) */
	double utilization;   /* 0..1, NAN = unknown */
	uint32_t capacity;    /* reported by the backend, 0 = unknown */
	uint32_t rtt_us;      /* lowest fresh RTT EWMA, 0 = unknown */
	double slow_start;    /* weight factor, AGENT_SLOW_START_FLOOR..1 */
	double headroom;      /* 0..1 */
	bool stored;          /* judged by stored observations (restart grace, pol_inputs_t) */
} pol_ep_health_t;

/* How a pool combines its observers (config pools[].quorum, when_unobserved). */
typedef struct pol_health_rule {
	int quorum;         /* cfg_quorum_t */
	bool unobserved_up; /* nothing fresh known: healthy (fail open) */
} pol_health_rule_t;

/* The rule of a pool. */
pol_health_rule_t pol_health_rule_of(const cfg_pool_t *pool) AYA_NONNULL(1);

/*
 * The capacity an endpoint is sized by (weighted's shares, the load loop's
 * pool utilization): what the backend reports (h->capacity, h NULL = no
 * observation), else the configured endpoints[].capacity; 0 = unknown. Pure.
 */
double pol_endpoint_capacity(const cfg_endpoint_t *ep, const pol_ep_health_t *h) AYA_NONNULL(1);

/* Aggregate n observations of one endpoint (any observers) at now_ms. Pure: any thread. */
void pol_health_eval(const state_obs_t *obs, size_t n, uint64_t now_ms, uint64_t stale_ms,
                     uint32_t slow_start_ms, pol_health_rule_t rule, pol_ep_health_t *out)
        AYA_NONNULL(7);

/*
 * The key (state_endpoint_key() with the pool monitor's port and name, into
 * key[STATE_NAME_MAX + 1]) and the aggregated view of one endpoint of a
 * monitored pool at now_ms, with the restart grace from started_ms (see
 * pol_inputs_t; 0 = none); false when the pool has no monitor or the
 * endpoint has no key (then *h is "healthy, 1" and key is ""). Any thread
 * that may read the view.
 */
bool pol_health_endpoint(const cfg_t *cfg, const cfg_pool_t *pool, const cfg_endpoint_t *ep,
                         const state_view_t *view, uint64_t now_ms, uint64_t started_ms, char *key,
                         pol_ep_health_t *h) AYA_NONNULL(1, 2, 3, 4, 7, 8);
/* The restart grace the snapshot was built with (pol_inputs_t.started_ms). */
uint64_t pol_snap_started_ms(const pol_snap_t *s) AYA_NONNULL(1);

/* Monitored endpoints whose verdict the snapshot keeps (0 when built without a view). */
size_t pol_snap_monitored(const pol_snap_t *s) AYA_NONNULL(1);
/*
 * Would a build from view at now_ms give the same health verdicts? False
 * when an endpoint's healthy flag would change, or its headroom would move
 * by POL_HEADROOM_STEP or more (an observation went stale, a slow start
 * ramped), or its reported capacity changed by POL_CAPACITY_STEP or more
 * (or became known or unknown), or, in a service with `latency`, its RTT
 * moved by half the filter's tolerance or more (or became known or
 * unknown). Control thread.
 */
bool pol_snap_current(const pol_snap_t *s, const state_view_t *view, uint64_t now_ms)
        AYA_NONNULL(1, 2);

/*
 * The querying client. For a query with ECS (RFC 7871) pass the option's
 * address and SOURCE PREFIX-LENGTH with ecs = true; without ECS the
 * transport source address with its full length (an IPv4-mapped IPv6 source
 * turned into IPv4 first: pol_client_from_sockaddr). For an ECS option with
 * SOURCE PREFIX-LENGTH 0, pass the transport address and reply with scope 0
 * (RFC 7871 7.1.2).
 */
typedef struct pol_client {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order; bits past source_prefix are zero or ignored */
	uint8_t source_prefix;
	bool ecs;
} pol_client_t;

/* From a transport address: IPv4-mapped IPv6 becomes IPv4, full prefix, ecs false. 0 or -EINVAL. */
int pol_client_from_sockaddr(const struct sockaddr *sa, pol_client_t *out) AYA_NONNULL(1, 2);

typedef struct pol_result {
	const pol_endpoint_t *ep[POL_MAX_ANSWER]; /* borrowed from the snapshot */
	unsigned count;
	uint32_t ttl_s;
	uint8_t scope; /* ECS SCOPE PREFIX-LENGTH to send back */
} pol_result_t;

/* ---- explain ---- */

typedef enum pol_reason {
	POL_R_KEPT = 0,
	POL_R_UNHEALTHY,
	POL_R_DRAINED_POOL,
	POL_R_DRAINED_ENDPOINT,
	POL_R_NOT_FIRST_N,
	POL_R_ORDERED,        /* ordering filters: the endpoint's new position */
	POL_R_ALL_DOWN_OPEN,  /* the filter would drop everything: skipped (fail open) */
	POL_R_ALL_DOWN_EMPTY, /* ... answered empty */
	POL_R_OVER_LIMIT,     /* load: the pool is over its utilization limit */
	POL_R_ADMITTED,       /* load: the pool that takes the query (moved first) */
	POL_R_SPILLED,        /* load: the pool declined the draw (moved behind) */
} pol_reason_t;

/* One endpoint's fate at one step. */
typedef struct pol_trace_event {
	uint8_t step;      /* index in the service's filter chain */
	uint8_t reason;    /* pol_reason_t */
	uint16_t endpoint; /* index into service->endpoints (UINT16_MAX: the whole step) */
	uint16_t tier;     /* tier (geo rank) after the step */
} pol_trace_event_t;

#define POL_TRACE_MAX_EVENTS 1024

typedef struct pol_trace {
	const pol_service_t *svc;
	pol_client_t client;
	geo_loc_t loc; /* where the database places the client */
	bool geo_used;
	uint32_t order_idx; /* geo order chosen */
	unsigned geo_scope;
	uint8_t pool_order[POL_MAX_POOLS]; /* service pools in geo order (or config order) */
	double load_draw;                  /* load: the draw in [0, 1), NAN when it did not run */
	uint16_t n_pool_order;
	unsigned n_candidates; /* endpoints of the asked family */
	pol_trace_event_t ev[POL_TRACE_MAX_EVENTS];
	unsigned n_ev;
	bool truncated; /* events past the array were lost */
	int rc;         /* pol_answer's return */
	pol_result_t result;
} pol_trace_t;

/*
 * Answer one query for `svc` (from pol_service_find on the same snapshot).
 * qfamily: AF_INET for A, AF_INET6 for AAAA. rand: a fresh 64-bit value
 * from the worker's aya_rng (common/rng.h). trace: NULL on the query path.
 * Returns POL_OK, POL_EMPTY or POL_NODATA, with out filled (count 0 unless
 * POL_OK), or -EINVAL for a bad family. Any thread; no allocation.
 */
int pol_answer(const pol_snap_t *s, const pol_service_t *svc, int qfamily,
               const pol_client_t *client, uint64_t rand, pol_result_t *out, pol_trace_t *trace)
        AYA_NONNULL(1, 2, 4, 6) AYA_HOT;

/* Human-readable explain text; returns the length it needed (snprintf style). */
size_t pol_trace_format(const pol_trace_t *t, char *buf, size_t len) AYA_NONNULL(1, 2);
const char *pol_reason_str(pol_reason_t r);

/* ---- load steering: the control loop behind `load` (policy/steer.c) ----
 *
 * One controller per (service, pool) turns the pool's measured utilization
 * into its admit fraction, the share of the queries reaching the pool (in
 * the client's order) that it takes; the rest go on to the next pool. The
 * rule (docs/dev/steering.md has its derivation and figures):
 *
 *  - u: the pool's utilization, the capacity-weighted mean of its healthy
 *    endpoints' (from the monitors, as pol_health_endpoint reads them);
 *  - ā: the fraction in effect in the caches when u was measured, the mean
 *    of the fraction over the TTL before the measurement (answers stay
 *    cached for a TTL);
 *  - pressure ρ = u / ā: what the pool would carry admitting everything;
 *    its damped linear trend gives the forecast ρ̂ half a TTL plus one
 *    probe interval ahead (the mean age of the answers being handed out);
 *  - wanted a* = min(1, target / ρ̂) (target / ρ with the forecast off);
 *  - below the fraction, the fraction drops to a* at once (ρ already
 *    accounts for what the caches hold, so this does not over-shed); above,
 *    it moves 15 x interval / TTL of the gap per sample;
 *  - it sheds only while another open pool of the service is under 95% of its
 *    target or of unknown load (room): when every pool is over target there
 *    is nowhere to send the excess, and cutting further would only wind the
 *    fractions down (anti-windup);
 *  - u over limit: the pool is closed (no new answers) until it is back
 *    under, and reopens at a*;
 *  - u unknown (no load source, or stale as in a partition): the fraction
 *    holds for POL_STEER_HOLD_TTLS TTLs, then goes back toward 1 at the
 *    same pace.
 *
 * A controller runs where its pool is owned (the owns callback: in ayad,
 * one gossip member per pool); elsewhere it tracks u and takes the owner's
 * fraction through pol_steer_adopt(), so every node answers alike and
 * another can take over with the history. Control thread only.
 */
typedef struct pol_steer pol_steer_t;

/* Parameters of one pool's loop (from its pool, service and monitor). */
typedef struct pol_steer_params {
	double target, limit;
	uint32_t ttl_ms;      /* the service's TTL (at least one interval) */
	uint32_t interval_ms; /* the monitor's probe interval: sample spacing and delay */
	bool forecast;        /* use the trend (off only to measure what it gains) */
} pol_steer_params_t;

#define POL_STEER_HIST 128    /* fraction history kept per pool */
#define POL_STEER_HOLD_TTLS 4 /* TTLs a fraction holds without a utilization */

/* One controller, readable for explain and status. */
typedef struct pol_steer_pool {
	const char *service; /* full name, no trailing dot, lower-case */
	const char *region;
	pol_steer_params_t p;
	double admit;        /* 0..1 */
	double published;    /* admit at the last version */
	bool closed;         /* utilization above limit */
	bool owned;          /* computed here at the last update, else adopted */
	double utilization;  /* last sample, NAN = unknown */
	double capacity;     /* sum of pol_endpoint_capacity() (1 for an unknown one) */
	double pressure;     /* u / ā, NAN = unknown */
	double forecast;     /* ρ̂, NAN = unknown */
	double level, trend; /* damped trend of the pressure (per second) */
	uint64_t sample_ms;  /* last step */
	uint64_t known_ms;   /* last step with a utilization */
	double u_smooth;     /* utilization smoothed over a sixth of the TTL, NAN = unknown */
	bool room;           /* another open pool of the service is under its target */
	uint64_t adopted_ms; /* last pol_steer_adopt() */
	uint64_t version;    /* bumped when admit or closed change */
	/* The fraction's history: value from hist_ms[i] on. */
	uint64_t hist_ms[POL_STEER_HIST];
	float hist_a[POL_STEER_HIST];
	unsigned hist_head, hist_n;
} pol_steer_pool_t;

/* Does this node compute the fraction of (service, region)? NULL callback: yes for every pool. */
typedef bool (*pol_steer_owns_fn)(const char *service, const char *region, void *ctx);

int pol_steer_new(pol_steer_t **out) AYA_NONNULL(1) AYA_WUR;
void pol_steer_free(pol_steer_t *st);
/*
 * Follow cfg (start-up, reload): a controller per (service, pool); existing
 * ones keep their state (parameters refreshed), new ones start at 1, those
 * no longer configured go. `forecast` false turns the trend off everywhere.
 * 0 or -ENOMEM.
 */
int pol_steer_sync(pol_steer_t *st, const cfg_t *cfg, bool forecast) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * One step of every controller whose probe interval has passed since its
 * last one, with the utilizations in view (NULL: unknown) at now_ms.
 * Returns how many pools' admit or closed changed (a rebuild is due).
 */
size_t pol_steer_update(pol_steer_t *st, const cfg_t *cfg, const state_view_t *view,
                        uint64_t now_ms, pol_steer_owns_fn owns, void *ctx) AYA_NONNULL(1, 2);
/* Take the owner's fraction of (service, region): -ENOENT when not configured, else 1 when it
 * changed, 0 when not. */
int pol_steer_adopt(pol_steer_t *st, const char *service, const char *region, double admit,
                    bool closed, uint64_t now_ms) AYA_NONNULL(1, 2, 3);
size_t pol_steer_count(const pol_steer_t *st) AYA_NONNULL(1);
const pol_steer_pool_t *pol_steer_get(const pol_steer_t *st, size_t i) AYA_NONNULL(1);
/* NULL when (service, region) has no controller. Service any case, trailing dot optional. */
const pol_steer_pool_t *pol_steer_find(const pol_steer_t *st, const char *service,
                                       const char *region) AYA_NONNULL(1, 2, 3);
/* The loop for one pool, pure (tests, simulation): a step at now_ms with utilization u (NAN
 * unknown). Returns whether admit or closed changed. */
bool pol_steer_step(pol_steer_pool_t *pp, double u, uint64_t now_ms) AYA_NONNULL(1);
/* The mean fraction over [from_ms, to_ms) from pp's history (the last value before from_ms
 * counts for the time before the first change seen). */
double pol_steer_mean(const pol_steer_pool_t *pp, uint64_t from_ms, uint64_t to_ms) AYA_NONNULL(1);
