/*
 * agent/: health, latency and load probes of the backends.
 *
 * An agent probes a set of targets (endpoint address + monitor) on the
 * caller's libevent base: one timer and at most one non-blocking connection
 * per target, no thread per probe, so thousands of targets share the control
 * loop. Each target starts at a random phase within its interval and every
 * next probe is interval x (1 +- jitter), so probes never align.
 *
 * Probes: tcp (connect), http and https (GET path HTTP/1.1, Host; status in
 * the monitor's expect set, optional body substring; TLS with SNI and
 * optional certificate verification). With the monitor's keepalive (the
 * default) the probes of one target share one connection (HTTP/1.1
 * keep-alive, at most AGENT_KEEPALIVE_REQUESTS requests each); a kept
 * connection the server closed is retried once, fresh, within the probe, so
 * only a failure on a fresh connection counts. Without it every probe
 * connects and sends Connection: close. A response
 * over max_response bytes, a timeout, a refused or reset connection, a
 * malformed status line or a TLS failure is a failed probe with a last-error
 * text. Failures of this host (no file descriptors, no memory) are not held
 * against the backend: the probe is skipped and counted.
 *
 * Results: rise/fall thresholds (agent_hs_step) turn probe results into
 * UP/DOWN; an RTT EWMA (alpha AGENT_RTT_ALPHA) and the load the backend
 * reports (header, JSON field or Prometheus metric) are kept per target.
 * Every result is merged into the state (observer = opts.node, version =
 * state_next_version()); on_change is called when the status changes or the
 * utilization moves by more than util_threshold (or becomes known/unknown),
 * so the daemon can rebuild its policy snapshot, debounced.
 *
 * Threads: everything here runs on the thread of the event base given to
 * agent_new() (the control loop); none of it may be called from another.
 * Errors: 0 or a negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "common/stats.h"
#include "config/config.h"
#include "state/state.h"

struct event_base;

/* RTT EWMA weight of a new sample: rtt = 0.3 x sample + 0.7 x rtt (first sample taken as is). */
#define AGENT_RTT_ALPHA 0.3
/* Default response cap: a larger response fails the probe ("response too large"). */
#define AGENT_MAX_RESPONSE_DEFAULT (64u << 10)
/* Default utilization change that calls on_change. */
#define AGENT_UTIL_THRESHOLD_DEFAULT 0.05
/* Slow start begins at this fraction of the weight. */
#define AGENT_SLOW_START_FLOOR 0.05
/* Requests on one kept-alive probe connection before a fresh one is opened. */
#define AGENT_KEEPALIVE_REQUESTS 100
/*
 * Probe start times are rounded up to a multiple of this on the monotonic
 * clock, so that the probes due within one tick start in one loop wake-up
 * (1,000 endpoints/s: 100 wake-ups a second instead of 1,000).
 */
#define AGENT_TICK_MS 10
/* Longest monitor name kept in a view. */
#define AGENT_NAME_MAX 63

typedef struct agent agent_t;

/* One endpoint to probe with one monitor. */
typedef struct agent_target {
	char key[STATE_NAME_MAX + 1]; /* state_endpoint_key(): "ADDR:PORT/MONITOR" */
	struct sockaddr_storage ss;   /* address and the monitor's port */
	socklen_t sslen;
	char addr[48];                /* canonical address text, for Host and the view */
	const cfg_monitor_t *monitor; /* borrowed during agent_set_targets() only: copied */
} agent_target_t;

/*
 * Called after the state was updated: status changed, or utilization moved
 * beyond the threshold. key is borrowed for the call.
 */
typedef void (*agent_change_fn)(void *ctx, const char *key, state_status_t status,
                                double utilization);

typedef struct agent_opts {
	struct event_base *base;   /* required: the loop probes run on */
	state_t *state;            /* where observations go; NULL = nowhere (tests) */
	const char *node;          /* observer name, required when state is set */
	agent_change_fn on_change; /* may be NULL */
	void *ctx;
	double util_threshold; /* 0 = AGENT_UTIL_THRESHOLD_DEFAULT */
	size_t max_response;   /* 0 = AGENT_MAX_RESPONSE_DEFAULT */
	const char *ca_file;   /* PEM trust anchors for tls_verify; NULL = system default */
	uint64_t seed;         /* jitter RNG seed; 0 = random */
	/* Wall clock in unix ms (observation times); NULL = CLOCK_REALTIME. */
	uint64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
} agent_opts_t;

/* A new agent with no targets. opts is copied (strings too). */
int agent_new(const agent_opts_t *opts, agent_t **out) AYA_NONNULL(1, 2) AYA_WUR;
/* Cancel every probe, free everything. NULL is a no-op. */
void agent_free(agent_t *a);

/*
 * Replace the probed set. Targets whose key stays keep their state, counts
 * and schedule (a changed monitor setting is taken over; a probe in flight
 * under the old setting is abandoned uncounted); new ones start at a random
 * phase; dropped ones are cancelled. Duplicate keys are probed once. A new
 * target seeds its status from this node's observation in the state, so a
 * restart keeps the last known status. Returns 0, -EINVAL (a target without
 * monitor or with a bad address) or -ENOMEM (the old set is then kept).
 */
int agent_set_targets(agent_t *a, const agent_target_t *t, size_t n) AYA_NONNULL(1) AYA_WUR;

/*
 * Every monitored endpoint of cfg (a single node probes all), one target per
 * distinct key. The caller frees *out with free(). 0, or -ENOMEM, or
 * -EINVAL when a key cannot be built.
 */
int agent_targets_from_cfg(const cfg_t *cfg, agent_target_t **out, size_t *n)
        AYA_NONNULL(1, 2, 3) AYA_WUR;

typedef struct agent_stats {
	uint64_t probes_sent;   /* probes started */
	uint64_t probes_ok;     /* passed */
	uint64_t probes_failed; /* failed, timeouts included */
	uint64_t timeouts;      /* failed by timeout */
	uint64_t skipped;       /* not started: a local error (EMFILE, ENOMEM) */
	uint64_t transitions;   /* status changes */
	uint64_t connects;      /* connections opened (keep-alive: far fewer than probes) */
	uint64_t retries;       /* kept connections closed under a probe, retried on a fresh one */
	uint64_t targets;       /* gauge: targets probed */
	uint64_t in_flight;     /* gauge: probes started and not finished */
} agent_stats_t;

void agent_stats_get(const agent_t *a, agent_stats_t *out) AYA_NONNULL(1, 2);

/*
 * The registry rows of agent_stats_t (common/stats.h), in the order `ayactl
 * status` lists them (probe_targets ... health_transitions); in_flight is
 * /metrics only (AYA_STAT_NOLIST).
 */
extern const aya_stat_table_t agent_stats_table;

/* One target as this agent sees it (`ayactl backends`). */
typedef struct agent_backend {
	char key[STATE_NAME_MAX + 1];
	char addr[48];
	uint16_t port;
	char monitor[AGENT_NAME_MAX + 1];
	cfg_monitor_type_t type;
	state_status_t status;
	uint32_t rise, fall;             /* consecutive successes / failures */
	uint64_t since_ms;               /* unix ms of the last status change, 0 = none yet */
	uint64_t up_since_ms;            /* recovering from DOWN since (slow start), 0 = not */
	uint64_t last_probe_ms;          /* unix ms of the last result, 0 = none yet */
	uint32_t rtt_us;                 /* EWMA, 0 = none yet */
	double utilization;              /* 0..1, NAN = unknown */
	uint32_t capacity;               /* 0 = unknown */
	char error[STATE_ERROR_MAX + 1]; /* last failure, "" = none */
} agent_backend_t;

/* A copy of every target's view, sorted by key; the caller frees *out. */
int agent_backends(const agent_t *a, agent_backend_t **out, size_t *n) AYA_NONNULL(1, 2, 3) AYA_WUR;

/* ---- pure helpers (any thread) ---- */

/* Rise/fall state of one target. */
typedef struct agent_hs {
	state_status_t status; /* starts UNKNOWN */
	uint32_t rise, fall;   /* consecutive successes / failures, one of them 0 */
} agent_hs_t;

/*
 * Count one probe result: a success resets fall and counts rise, a failure
 * the reverse (counts saturate). The status becomes UP after `rise`
 * consecutive successes and DOWN after `fall` consecutive failures, from
 * any other status (UNKNOWN included). Returns true when the status changed.
 */
bool agent_hs_step(agent_hs_t *hs, bool ok, uint32_t rise, uint32_t fall) AYA_NONNULL(1);

/* Delay of the first probe: uniform in [0, interval_ms) from rnd. */
uint32_t agent_first_delay_ms(uint32_t interval_ms, uint64_t rnd);
/* Delay to the next probe: interval x (1 + jitter x u), u uniform in [-1, 1) from rnd. */
uint32_t agent_next_delay_ms(uint32_t interval_ms, double jitter, uint64_t rnd);

/* RTT EWMA update; old 0 = no sample yet. */
uint32_t agent_rtt_ewma(uint32_t old_us, uint32_t sample_us);

/*
 * Slow start weight factor of an endpoint that recovered at up_since_ms:
 * linear from AGENT_SLOW_START_FLOOR to 1 over slow_start_ms; 1 when
 * up_since_ms is 0 (not recovering) or slow start is off. The policy's
 * health rule (pol_health_eval) multiplies the endpoint's headroom by it.
 */
double agent_slow_start_factor(uint64_t up_since_ms, uint64_t now_ms, uint32_t slow_start_ms);
