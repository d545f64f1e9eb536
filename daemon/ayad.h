/*
 * ayad internals: the daemon's state, owned by the control thread (the main
 * thread running the libevent loop). Nothing here is touched by the DNS
 * workers: they only see the snapshots published through dnsd.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/agent.h"
#include "config/config.h"
#include "control/control.h"
#include "dnsd/dnsd.h"
#include "geo/geo.h"
#include "gossip/gossip.h"
#include "policy/policy.h"
#include "state/state.h"

#define AYA_VERSION "0.1.0"
/* The short notice the DB-IP licence asks for wherever geo results are shown. */
#define AYA_GEO_NOTICE "IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0"
#define AYA_GEO_ATTRIBUTION                                                                        \
	"IP geolocation by DB-IP (https://db-ip.com), IP to Country Lite and IP to City Lite "     \
	"databases, licensed\nunder CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). "    \
	"Country data from GeoNames\n(https://www.geonames.org), CC BY 4.0."

/* One recent event of the node (daemon/events.c). */
#define AYAD_EVENTS 64
typedef struct ayad_event {
	uint64_t ms; /* wall clock, unix ms */
	char text[200];
} ayad_event_t;

typedef struct ayad {
	const char *config_path;
	cfg_t *cfg; /* the config being served */
	dnsd_server_t *srv;
	const dnsd_snap_t *snap; /* borrowed: the last snapshot we published (we are the writer) */
	const pol_snap_t *pol;   /* borrowed: the last policy snapshot we published */
	geo_tree_t *geo;         /* our reference on the shared geo tree; NULL without regions */
	state_t *state;          /* cluster state store in state_dir (drains) */
	struct event *flush_ev;  /* periodic state_flush_due() check */
	struct ayad_rebuild *rebuild; /* debounced policy rebuild (daemon/rebuild.c) */
	struct agent *agent;          /* the probes (daemon/probes.c); NULL before start */
	/* Keeps in t[0..n) the endpoints this node probes (main.c: the gossip observers'). */
	size_t (*probe_filter)(struct ayad *d, struct agent_target *t, size_t n);
	struct ayad_gossip *gossip; /* cluster membership (daemon/gossip.c); NULL without gossip */
	struct ayad_steer *steer;   /* the load loop's timers (daemon/steer.c) */
	pol_steer_t *pol_steer;     /* its controllers; every policy build reads them */
	/* A peer's steering record was stored (main.c: ayad_steer_heard; called by gossip.c). */
	void (*steer_heard)(struct ayad *d, const state_steer_t *s);
	ctl_server_t *ctl;
	struct ayad_upgrade *upgrade; /* SIGUSR2 binary upgrade (daemon/upgrade.c) */
	struct ayad_sd *sd;           /* the systemd watchdog (daemon/systemd.c); NULL: off */
	struct ayad_notify *notify;   /* pending NOTIFYs (daemon/notify.c) */
	ctl_http_t *http;             /* http.listen (daemon/metrics.c); NULL: none */
	struct ayad_metrics *metrics; /* /metrics' answer totals by name */
	struct event_base *base;
	uint8_t file_secret[16]; /* <state_dir>/cookie.secret, used when cfg sets none */
	bool file_secret_loaded;
	char **listen; /* listen addresses the server was started with */
	size_t n_listen;
	time_t started;
	ayad_event_t events[AYAD_EVENTS]; /* a ring: the newest before events_head */
	size_t events_head, n_events;
	time_t last_reload; /* 0 = never */
	bool last_reload_ok;
	char last_reload_msg[512];      /* summary line, or the first error */
	int64_t drain_until_s;          /* earliest expiry of the last build's drains; 0 = none */
	struct ayad_takeover *takeover; /* waiting for another ayad to stop (takeover.c) */
	bool start_failed;          /* start-up failed after the loop began (a takeover): exit 1 */
	uint64_t snap_signed_s;     /* when d->snap was signed (unix seconds); 0: nothing signed */
	struct ayad_dnssec *dnssec; /* the re-sign timer (daemon/dnssec.c) */
} ayad_t;

/*
 * config user:/group: (daemon/privs.c). Started as root: state_dir becomes
 * the user's, then ayad runs as that user with CAP_NET_BIND_SERVICE only.
 * Before any thread or file of the store exists. 0 or a negative errno (logged).
 */
int ayad_privs_drop(const cfg_t *cfg) AYA_NONNULL(1) AYA_WUR;
/* control.group's gid, (gid_t)-1 when absent. 0 or a negative errno (logged). */
int ayad_control_gid(const cfg_t *cfg, gid_t *out) AYA_NONNULL(1, 2) AYA_WUR;

/*
 * sd_notify (daemon/systemd.c); no-ops outside systemd. READY=1 once DNS is
 * answered, RELOADING=1 before a reload (READY=1 after it), STOPPING=1. The
 * watchdog pings at half WATCHDOG_USEC while every DNS thread is alive.
 */
void ayad_sd_ready(const ayad_t *d) AYA_NONNULL(1);
void ayad_sd_reloading(void);
void ayad_sd_stopping(void);
int ayad_sd_watchdog_start(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
void ayad_sd_watchdog_stop(ayad_t *d) AYA_NONNULL(1);

/*
 * Binary upgrade in place (daemon/upgrade.c). init: at start, with main()'s
 * argv; handover is how this process stops once the new one answers (the
 * SIGTERM path). start: on SIGUSR2. answering: the DNS server answers; a
 * process started by an upgrade tells its parent. free: at exit.
 */
int ayad_upgrade_init(ayad_t *d, char **argv, void (*handover)(ayad_t *d)) AYA_NONNULL(1, 2, 3);
void ayad_upgrade_start(ayad_t *d) AYA_NONNULL(1);
void ayad_upgrade_answering(ayad_t *d) AYA_NONNULL(1);
void ayad_upgrade_free(ayad_t *d) AYA_NONNULL(1);

/* Longest `ayactl drain --for`: a year. */
#define AYAD_DRAIN_FOR_MAX_S (366 * 86400)

/*
 * Create state_dir (0750) and load the cookie secret file, creating it with
 * 16 random bytes (0600) when absent. Returns 0 or a negative errno (logged).
 */
int ayad_state_init(ayad_t *d, const cfg_t *cfg) AYA_NONNULL(1, 2) AYA_WUR;
/* The secret for cfg: its own, or the file's. */
const uint8_t *ayad_cookie_secret(const ayad_t *d, const cfg_t *cfg) AYA_NONNULL(1, 2);

/*
 * Reload the config and zones and publish a new snapshot. On failure the
 * old snapshot keeps serving. Returns 0 or -EINVAL/-ENOMEM; *diag gets the
 * diagnostics text (malloc'd, possibly empty; caller frees).
 */
int ayad_reload(ayad_t *d, char **diag) AYA_NONNULL(1, 2) AYA_WUR;

/*
 * Open the state store in cfg->state_dir (a corrupt file is moved aside and
 * the node starts empty: DNS must come up). Forks a checker: call before
 * any thread exists. Returns 0 or a negative errno (logged).
 */
int ayad_store_open(ayad_t *d, const cfg_t *cfg) AYA_NONNULL(1, 2) AYA_WUR;
/* Arm the state flush timer on d->base; 0 or -ENOMEM. */
int ayad_store_timer(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
/* Stop the timer, flush and close the store. */
void ayad_store_close(ayad_t *d) AYA_NONNULL(1);

/*
 * Build the geo tree for cfg, logging its size and build time; *out NULL
 * when cfg has no regions. 0 or a negative errno with err set.
 */
int ayad_geo_build(const cfg_t *cfg, geo_tree_t **out, char *err, size_t errlen)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
/*
 * Compile a policy snapshot from cfg, geo and a view of d->state (drains,
 * cost overrides and observations, judged at the wall clock now): a state view and
 * pol_snap_build. *unmatched gets the number of drains that match no service
 * (may be NULL). 0 or a negative errno with err set.
 */
int ayad_pol_build(ayad_t *d, const cfg_t *cfg, geo_tree_t *geo, pol_snap_t **out,
                   size_t *unmatched, char *err, size_t errlen) AYA_NONNULL(1, 2, 4, 6) AYA_WUR;

/* ---- policy rebuild (daemon/rebuild.c) ---- */

typedef struct ayad_rebuild ayad_rebuild_t;

/* Delay of the policy rebuild after the first change of a batch. */
#define AYAD_REBUILD_DEBOUNCE_MS 50u
/*
 * Period of the check for stale observations and slow-start steps
 * (pol_snap_current), and for drains that reached their expiry.
 */
#define AYAD_REBUILD_TICK_MS 500u

/* Allocate d->rebuild and arm its timers on d->base. 0 or -ENOMEM (logged). */
int ayad_rebuild_start(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
/* Disarm and free d->rebuild; NULL is a no-op. */
void ayad_rebuild_stop(ayad_t *d) AYA_NONNULL(1);
/*
 * Rebuild and publish the policy snapshot soon (debounced, one rebuild per
 * batch of changes): for a changed probe result or a state change heard from
 * peers. A no-op before ayad_rebuild_start().
 */
void ayad_schedule_rebuild(ayad_t *d) AYA_NONNULL(1);
/* The same, but within ms: sooner than the debounce (a pending rebuild due later moves up). */
void ayad_schedule_rebuild_within(ayad_t *d, unsigned ms) AYA_NONNULL(1);
/* The rebuilds' counters (registry rows in ayad_rebuild_stats_table, rebuild.c). */
typedef struct ayad_rebuild_stats {
	uint64_t changes;        /* probe results and peers' records that asked for a rebuild */
	uint64_t rebuilds;       /* snapshots built and published */
	uint64_t tick_rebuilds;  /* of which for staleness or slow start */
	uint64_t rebuild_errors; /* builds that failed (the old snapshot kept serving) */
	uint64_t last_delay_us;  /* first change of a batch to its publish */
	uint64_t max_delay_us;
} ayad_rebuild_stats_t;
extern const aya_stat_table_t ayad_rebuild_stats_table;
/* A copy of the counters; zeros before ayad_rebuild_start(). */
void ayad_rebuild_stats(const ayad_t *d, ayad_rebuild_stats_t *out) AYA_NONNULL(1, 2);

/* Histograms of the rebuilds (seconds; upper bounds ayad_rebuild_bounds): build time, delay. */
#define AYAD_REBUILD_BOUNDS 12
extern const double ayad_rebuild_bounds[AYAD_REBUILD_BOUNDS];
void ayad_rebuild_hists(const ayad_t *d, aya_hist_t *build, aya_hist_t *delay) AYA_NONNULL(1, 2, 3);

/* ---- DNSSEC (daemon/dnssec.c) ---- */

/* z's key directory: dnssec.key_directory, else <state_dir>/dnssec (in buf). */
const char *ayad_dnssec_dir(const cfg_t *cfg, const cfg_zone_t *z, char *buf, size_t len)
        AYA_NONNULL(1, 2, 3);
/*
 * The keysets of cfg's zones (cfg->n_zones entries, NULL for unsigned
 * zones), made with `create` when a key directory has none (logged, with the
 * cluster warning). 0 or a negative errno with err naming the zone and file
 * (-ENOENT without create: no key yet).
 */
int ayad_dnssec_keys(const cfg_t *cfg, bool create, dnsd_keyset_t ***out, char *err, size_t errlen)
        AYA_NONNULL(1, 3, 4) AYA_WUR;
void ayad_dnssec_keys_free(dnsd_keyset_t **keys, size_t n);
/*
 * The serving zone snapshot of cfg: dnsd_snap_build, or with signed zones
 * their keys (made when missing) and dnsd_snap_build_signed. *signed_s gets
 * the signing time (0: nothing signed). 0 or a negative errno with err.
 */
int ayad_snap_build(const cfg_t *cfg, const uint8_t *secret, dnsd_snap_t **out, uint64_t *signed_s,
                    char *err, size_t errlen) AYA_NONNULL(1, 3, 4, 5) AYA_WUR;
/* Build a new snapshot of d->cfg with fresh signatures and publish it. 0 or -errno with err. */
int ayad_dnssec_resign(ayad_t *d, char *err, size_t errlen) AYA_NONNULL(1, 2) AYA_WUR;
/* Arm the re-sign timer on d->base (a quarter of the signature lifetime); 0 or -ENOMEM. */
int ayad_dnssec_start(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
void ayad_dnssec_stop(ayad_t *d) AYA_NONNULL(1);
/* The `dnssec` control command (ctl_handler_fn). */
void ayad_on_dnssec(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a);

/* ---- NOTIFY (daemon/notify.c) ---- */

typedef struct ayad_notify ayad_notify_t;
/*
 * After a reload: NOTIFY the secondaries of every zone of cfg whose SOA
 * serial differs from old's (zones new in cfg are not notified). Retries
 * run on d->base; failures are logged.
 */
void ayad_notify_changed(ayad_t *d, const cfg_t *old, const cfg_t *cfg) AYA_NONNULL(1, 2, 3);
/* Drop every pending NOTIFY (shutdown). */
void ayad_notify_stop(ayad_t *d) AYA_NONNULL(1);

/* ---- HTTP pages (daemon/metrics.c) ---- */

typedef struct ayad_metrics ayad_metrics_t;
/* Allocate d->metrics; 0 or -ENOMEM. */
int ayad_metrics_start(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
void ayad_metrics_stop(ayad_t *d) AYA_NONNULL(1);
/*
 * Add dnsd's pool answer counters since the last fold to the totals by
 * (service, region) of d->pol: at each scrape, and before a reload publishes
 * a policy whose pools may be numbered differently.
 */
void ayad_metrics_fold(ayad_t *d) AYA_NONNULL(1);
/* Answers of every service whose first address was in region's pool, as of the last fold. */
uint64_t ayad_metrics_region_answers(const ayad_t *d, const char *region) AYA_NONNULL(1, 2);
/* Answers of service's pool in region, as of the last fold (0: none yet). */
uint64_t ayad_metrics_answers(const ayad_t *d, const char *service, const char *region)
        AYA_NONNULL(1, 2, 3);
/* The pages (ctl_http_page_t functions): /metrics (metrics.c), / and /status.json (status.c). */
struct evbuffer;
int ayad_page_metrics(void *arg, struct evbuffer *out, const char **type);
int ayad_page_status_html(void *arg, struct evbuffer *out, const char **type);
int ayad_page_status_json(void *arg, struct evbuffer *out, const char **type);
/*
 * Listen on cfg's http.listen (none: close the listener). At start old is
 * NULL; on reload, when the new addresses cannot be bound the old ones
 * (old's) are bound again and a negative errno returned with err set.
 */
int ayad_http_apply(ayad_t *d, const cfg_t *cfg, const cfg_t *old, char *err, size_t errlen)
        AYA_NONNULL(1, 2, 4) AYA_WUR;
void ayad_http_stop(ayad_t *d) AYA_NONNULL(1);

/* ---- recent events (daemon/events.c) ---- */

/* Add an event to the ring (not logged: the caller logs). */
void ayad_event(ayad_t *d, const char *fmt, ...) AYA_NONNULL(1, 2) AYA_PRINTF(2, 3);
/* The newest events first, at most max; pointers into d. */
size_t ayad_events_get(const ayad_t *d, const ayad_event_t **out, size_t max) AYA_NONNULL(1, 2);
/*
 * Before cur replaces old: log and record each endpoint whose cluster verdict
 * or drain changed (services by name, endpoints by address).
 */
void ayad_events_diff(ayad_t *d, const pol_snap_t *old, const pol_snap_t *cur) AYA_NONNULL(1);

/* ---- probes (daemon/probes.c) ---- */

/*
 * Create d->agent on d->base with d->state, calling on_change (ctx d) for a
 * changed result, and probe d->cfg's targets. 0 or a negative errno (logged).
 */
int ayad_probes_start(ayad_t *d, agent_change_fn on_change) AYA_NONNULL(1) AYA_WUR;
/*
 * Probe the monitored endpoints of cfg that d->probe_filter keeps (all
 * without one): after a reload was published, or when the live members
 * changed. No-op without agent.
 */
void ayad_probes_set_targets(ayad_t *d, const cfg_t *cfg) AYA_NONNULL(1, 2);
/* Stop probing, free d->agent. Before the state store closes. */
void ayad_probes_stop(ayad_t *d) AYA_NONNULL(1);
/* The agent's counters (agent_stats_table's struct); zeros without an agent. */
void ayad_probes_stats(const ayad_t *d, agent_stats_t *out) AYA_NONNULL(1, 2);

/* ---- gossip (daemon/gossip.c) ---- */

typedef struct ayad_gossip ayad_gossip_t;
struct gsp;
struct agent_target;

/* Join the cluster when d->cfg has gossip: (no-op otherwise). 0 or a negative errno (logged). */
int ayad_gossip_start(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
/*
 * Graceful leave: tell peers, then break the loop after a short linger.
 * False when there is no cluster to leave (break the loop yourself).
 */
bool ayad_gossip_leave(ayad_t *d) AYA_NONNULL(1);
/* Free everything; NULL d->gossip is a no-op. Before the state store closes. */
void ayad_gossip_stop(ayad_t *d) AYA_NONNULL(1);
/*
 * Keep in t[0..n) only the endpoints this node observes (compacted in
 * place); returns how many. Without gossip every endpoint is kept.
 */
size_t ayad_gossip_filter_targets(ayad_t *d, struct agent_target *t, size_t n) AYA_NONNULL(1);
/* A local observation or drain changed: gossip it now (on the next loop iteration). */
void ayad_gossip_kick(ayad_t *d) AYA_NONNULL(1);
/* Recompute the probed set (the replicator does so when the live members changed). */
void ayad_gossip_update_targets(ayad_t *d) AYA_NONNULL(1);
/*
 * After a successful reload, before the old config is freed: advertise
 * cfg's config hash, apply the gossip settings a running node can (the
 * keyring) and describe the others, which need a restart, in *notes (one
 * line each, malloc'd or NULL; already logged). 0 or a negative errno.
 */
int ayad_gossip_reload(ayad_t *d, const cfg_t *cfg, char **notes) AYA_NONNULL(1, 2, 3);
/* The node (NULL without gossip), our config hash, counters. */
struct gsp *ayad_gossip_node(const ayad_t *d) AYA_NONNULL(1);
uint64_t ayad_gossip_config_hash(const ayad_t *d) AYA_NONNULL(1);
void ayad_gossip_stats(const ayad_t *d, gsp_repl_stats_t *out) AYA_NONNULL(1, 2);
/* The gossip clock (monotonic ms, the clock of gsp_member_t times); 0 without gossip. */
uint64_t ayad_gossip_now_ms(const ayad_t *d) AYA_NONNULL(1);

/*
 * Load steering, one writer per pool: the owner of (service, region) into
 * owner (GSP_NAME_MAX + 1 bytes); true when it is this node (always without
 * gossip).
 */
bool ayad_gossip_steer_owner(ayad_t *d, const char *service, const char *region, char *owner,
                             size_t len) AYA_NONNULL(1, 2, 3, 4);
/* An owned pool's fraction: stored and gossiped when changed (1), 0 unchanged or no gossip. */
int ayad_gossip_steer_publish(ayad_t *d, const char *service, const char *region, double admit,
                              bool closed) AYA_NONNULL(1, 2, 3);

/* ---- load steering (daemon/steer.c) ---- */

typedef struct ayad_steer ayad_steer_t;

/* Period of the load loop's check (each pool steps at its monitor's interval). */
#define AYAD_STEER_TICK_MS 250u
/* The share of answers per pool is over this many seconds, sampled every second. */
#define AYAD_SHARE_WINDOW_S 10u

/* d->pol_steer for d->cfg (forecast on), and the timers. 0 or a negative errno (logged). */
int ayad_steer_start(ayad_t *d) AYA_NONNULL(1) AYA_WUR;
/* After a reload was published: follow cfg's pools (history kept), rebuild soon. */
int ayad_steer_reload(ayad_t *d, const cfg_t *cfg) AYA_NONNULL(1, 2);
void ayad_steer_stop(ayad_t *d) AYA_NONNULL(1);
/* A peer's record of a pool (d->steer_heard): its fraction is adopted, a rebuild follows. */
void ayad_steer_heard(ayad_t *d, const state_steer_t *s) AYA_NONNULL(1, 2);
/*
 * For `ayactl services`, pool `pool` of d->pol's service `svc`: the node that
 * computes its fraction ("" when it has no controller) and its share of the
 * service's address answers over the last AYAD_SHARE_WINDOW_S seconds, in
 * percent (NAN: no answers yet). Returns its controller (NULL: none).
 */
const pol_steer_pool_t *ayad_steer_pool_info(ayad_t *d, size_t svc, size_t pool, char *owner,
                                             size_t len, double *share) AYA_NONNULL(1, 4, 6);
typedef struct ayad_steer_stats {
	uint64_t updates, changes, sent, heard, adopted;
	uint64_t pools_closed; /* gauge */
} ayad_steer_stats_t;
extern const aya_stat_table_t ayad_steer_stats_table;
void ayad_steer_stats(const ayad_t *d, ayad_steer_stats_t *out) AYA_NONNULL(1, 2);

/* ---- upgrades: takeover and handoff (daemon/takeover.c) ---- */

typedef struct ayad_takeover ayad_takeover_t;
/*
 * ayad_store_open() said -EBUSY. When the holder of the state lock is a
 * running ayad, open the store read-only as d->state (before any thread:
 * the open checks the file in a fork) and enter the takeover: 0. Else a
 * negative errno, logged (the start fails as before).
 */
int ayad_takeover_open(ayad_t *d, const cfg_t *cfg) AYA_NONNULL(1, 2) AYA_WUR;
/* True between ayad_takeover_open() and the takeover. */
bool ayad_takeover_waiting(const ayad_t *d) AYA_NONNULL(1);
/*
 * After the DNS server started: tell the old ayad we are here, log, and
 * poll the state lock; when it is free, reopen the store read-write,
 * rebuild the policy and call finish(d), the rest of a normal start (a
 * failure ends the loop with d->start_failed). 0 or a negative errno.
 */
int ayad_takeover_wait(ayad_t *d, int (*finish)(ayad_t *d)) AYA_NONNULL(1, 2) AYA_WUR;
/* SIGTERM/SIGINT: when a new ayad waits beside us, hand dnsd's sockets over to it. */
void ayad_takeover_handoff(ayad_t *d) AYA_NONNULL(1);
/* Stop waiting, free; no-op when not waiting. */
void ayad_takeover_stop(ayad_t *d) AYA_NONNULL(1);

/* The control handlers (daemon/ctl.c), indexed by ctl_cmd_t; arg is the ayad_t. */
extern const ctl_handler_fn ayad_ctl_handlers[CTL_CMD_COUNT];
