/*
 * policy/: the service snapshot, its compiler, and the answer chain.
 *
 * pol_snap_build() compiles every service of every zone of a config, the
 * per-endpoint health (a callback; the agent will feed it later) and the
 * operator drains into one immutable pol_snap_t living in one arena. It holds
 * a reference on the shared geo tree (geo/geo.h), dropped by pol_snap_free().
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
 *    replacement, weight = endpoint weight x headroom (rand from the caller).
 *  - hash orders each tier by rendezvous (HRW) hash of the client subnet
 *    (/24 IPv4, /56 IPv6, shortened to the source prefix) and the endpoint
 *    address: the same subnet keeps the same endpoint while it is up.
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
	uint32_t capacity;  /* 0 = unknown */
	bool healthy;       /* from the health input; default true */
	bool drained;       /* drained by address, or its pool is */
	double headroom;    /* 0..1 of capacity left; default 1.0 */
	double utilization; /* 0..1, negative = unknown (default) */
	uint16_t pool;      /* index into the service's pools */
} pol_endpoint_t;

typedef struct pol_pool {
	const char *region; /* name */
	uint8_t region_idx; /* index into cfg_t.regions */
	bool drained;
	double admit; /* fraction of traffic admitted, default 1.0 (spill-over, later) */
	double cost;  /* the region's */
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
} pol_service_t;

typedef struct pol_snap pol_snap_t;

/* Health input for one endpoint; fields preset to the defaults (healthy, 1.0, -1). */
typedef struct pol_ep_state {
	bool healthy;
	double headroom;
	double utilization;
} pol_ep_state_t;
typedef void (*pol_health_fn)(void *ctx, const cfg_service_t *svc, const cfg_pool_t *pool,
                              const cfg_endpoint_t *ep, pol_ep_state_t *st);

/*
 * An operator drain (`ayactl drain SERVICE [REGION|ADDRESS]`): service is a
 * full name ("www.example.com", trailing dot optional, any case); target is a
 * region name, an endpoint address, or NULL for every pool of the service.
 */
typedef struct pol_drain {
	const char *service;
	const char *target;
} pol_drain_t;

typedef struct pol_inputs {
	pol_health_fn health; /* NULL: every endpoint healthy */
	void *health_ctx;
	const pol_drain_t *drains;
	size_t n_drains;
} pol_inputs_t;

/*
 * Compile cfg's services. `geo` (from geo_tree_build_cfg(), with or without
 * a database) must have cfg's regions; NULL means no geo: the geo filter then
 * keeps config order with scope 0. The snapshot takes its own reference on
 * geo; the caller keeps its own. `in` may be NULL (all healthy, no drains).
 * Drains that match nothing are counted (pol_snap_unmatched_drains) and
 * logged, not errors. Returns 0, or -EINVAL (a service over the POL_MAX_*
 * limits, a region index out of range, a geo tree for other regions) or
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
