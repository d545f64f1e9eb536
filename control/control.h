/*
 * control/: the ayad control socket and its ayactl client.
 *
 * Wire: a 4-byte big-endian length, then a protobuf-c message
 * (proto/ctl.proto), at most CTL_FRAME_MAX bytes. A client sends one Request
 * and reads one Reply. protobuf-c objects stay inside this module: callers see
 * ctl_cmd_t and ctl_reply_t.
 *
 * Adding a command: a message and a oneof member in ctl.proto, a CTL_CMD_
 * value, its body in ctl_reply_t, its (de)coding in codec.c and rendering in
 * render.c, a builder of the body from the daemon's objects (reply_*.c) and
 * a handler in the daemon's table that calls it.
 *
 * Threads: the server runs on the caller's libevent base (the control
 * thread); the codec and rendering functions are pure and thread-safe; the
 * reply builders run on the control thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/arena.h"
#include "common/compiler.h"

#define CTL_VERSION 1
#define CTL_FRAME_MAX (1024 * 1024)
#define CTL_FRAME_HDR 4
#define CTL_DEFAULT_SOCKET "/var/lib/aya/ayad.sock"
/* How long a peer may take to send or read a message. */
#define CTL_TIMEOUT_MS 10000

typedef enum ctl_cmd {
	CTL_CMD_STATUS = 0,
	CTL_CMD_RELOAD = 1,
	CTL_CMD_SERVICES = 2,
	CTL_CMD_DRAIN = 3,
	CTL_CMD_UNDRAIN = 4,
	CTL_CMD_EXPLAIN = 5,
	CTL_CMD_BACKENDS = 6,
	CTL_CMD_MEMBERS = 7,
	CTL_CMD_KEYRING = 8,
	CTL_CMD_COST = 9,
	CTL_CMD_LOG_LEVEL = 10,
	CTL_CMD_TOP = 11,
	CTL_CMD_DNSSEC = 12,
	CTL_CMD_COUNT
} ctl_cmd_t;

/*
 * One request and its arguments. Strings are borrowed (from the caller, or
 * from the arena given to ctl_request_decode()).
 */
typedef struct ctl_request {
	ctl_cmd_t cmd;
	const char *service; /* drain, undrain: service name; backends: filter, NULL/"" = all */
	const char *target;  /* drain, undrain: region or address; NULL or "" = whole service */
	const char *name;    /* explain: query name */
	const char *client;  /* explain: client address */
	bool has_subnet;     /* explain: client sent ECS with this source prefix */
	unsigned subnet;
	uint16_t qtype;         /* explain: 1 (A, also for 0) or 28 (AAAA) */
	const char *keyring_op; /* keyring: "list", "install", "use", "remove" */
	const char *key;        /* keyring: base64 key (install) or key id (use, remove) */
	bool force;             /* keyring remove: even if a member still sends with the key */
	const char *region;     /* cost: region name; NULL or "" = list */
	bool cost_reset;        /* cost: back to the config's cost */
	double cost;            /* cost: the new value, unless cost_reset */
	const char *level;      /* log-level: "debug", "info", "warning", "error"; NULL/"" = show */
	const char *reason;     /* drain: operator's reason; NULL or "" = none */
	uint64_t for_s;         /* drain: ends by itself after this many seconds; 0 = never */
	const char *dnssec_op;  /* dnssec: "status", "ds", "add", "activate", "remove" */
	const char *zone;       /* dnssec: zone name; NULL or "" = every signed zone (status) */
	uint32_t tag;           /* dnssec activate, remove: the key's tag */
	const char *role; /* dnssec add: "ksk", "zsk", "csk"; NULL or "" = the zone's layout */
} ctl_request_t;

/*
 * A drain's --for: "90" or "90s", "15m", "2h", "1d", or runs of them
 * ("1h30m"), into seconds (> 0). -EINVAL, or -ERANGE past ~136 years.
 */
int ctl_duration_parse(const char *s, uint64_t *out_s) AYA_NONNULL(1, 2) AYA_WUR;

/* "status" -> CTL_CMD_STATUS; -EINVAL for an unknown name. */
int ctl_cmd_parse(const char *name, ctl_cmd_t *out) AYA_NONNULL(1, 2) AYA_WUR;
const char *ctl_cmd_name(ctl_cmd_t cmd);

/* ------------------------------------------------------------------ values */

typedef struct ctl_zone {
	const char *name;
	uint32_t serial;
	uint64_t records;
} ctl_zone_t;

typedef struct ctl_counter {
	const char *name;
	uint64_t value;
} ctl_counter_t;

typedef struct ctl_status {
	const char *node;
	const char *region;
	const char *version;
	uint64_t uptime_s;
	const ctl_zone_t *zones;
	size_t n_zones;
	uint64_t queries;
	const ctl_counter_t *counters;
	size_t n_counters;
	unsigned workers;
	const char *const *listen;
	size_t n_listen;
	uint64_t last_reload_time; /* unix seconds, 0 = never */
	bool last_reload_ok;
	const char *last_reload_message;
	uint64_t snapshot_bytes;
	uint32_t services;
	uint32_t drains;
	const char *geo_database; /* "" = none */
	double geo_build_ms;
	uint64_t geo_nodes;
	uint64_t geo_mmdb_nodes;
	uint64_t policy_bytes;
	struct ctl_gossip_status {
		bool enabled; /* false: no gossip: section, the rest is zero */
		const char *bind;
		bool insecure, joined;
		uint32_t members, live, suspect, dead, health_score, drift, keys;
		const char *config_hash; /* 16 hex digits */
		uint64_t tx_bytes, rx_bytes, rx_dropped;
		uint64_t records_out, records_in, records_merged;
		uint64_t pushpull_ok, pushpull_fail, broadcasts_dropped, probes, probe_failures;
		const ctl_counter_t *drops; /* rx_dropped by reason, every reason */
		size_t n_drops;
	} gossip;
} ctl_status_t;

typedef struct ctl_gossip_status ctl_gossip_status_t;

typedef struct ctl_reload {
	const char *diagnostics; /* warnings, or every error of a rejected config */
	const ctl_zone_t *zones;
	size_t n_zones;
} ctl_reload_t;

typedef struct ctl_endpoint {
	const char *address;
	uint32_t weight;
	uint32_t capacity;
	bool healthy;
	bool drained;
} ctl_endpoint_t;

typedef struct ctl_pool {
	const char *region;
	double cost;        /* effective: the runtime override, else regions[].cost */
	double config_cost; /* regions[].cost */
	bool cost_overridden;
	bool burst;
	bool drained;
	const ctl_endpoint_t *endpoints;
	size_t n_endpoints;
	/* The load loop, from the snapshot (NAN = unknown): */
	double utilization, forecast, target, limit, admit;
	bool closed;
	/* From the daemon (ctl_services_pool_info): */
	const char *owner; /* node computing admit, "" = no loop */
	double share;      /* percent of the service's answers over the last seconds, NAN = none */
} ctl_pool_t;

typedef struct ctl_service {
	const char *name; /* full, no trailing dot */
	uint32_t ttl_s;
	const char *const *policy; /* "healthy", "first_n 1", ... */
	size_t n_policy;
	const ctl_pool_t *pools; /* config order */
	size_t n_pools;
	const char *when_all_down; /* "answer_all" or "empty" */
} ctl_service_t;

typedef struct ctl_drain_rec {
	const char *service;
	const char *kind;   /* "service", "region", "address" */
	const char *target; /* "" for the whole service */
	int64_t since_s;
	const char *origin; /* node that set it */
	const char *reason; /* "" = none */
	int64_t until_s;    /* ends by itself then (unix seconds); 0 = never */
} ctl_drain_rec_t;

typedef struct ctl_services {
	const ctl_service_t *services;
	size_t n_services;
	const ctl_drain_rec_t *drains;
	size_t n_drains;
	int64_t now_s; /* the node's clock, for the drains' ages; 0 = unknown */
} ctl_services_t;

/* drain / undrain */
typedef struct ctl_drain {
	const char *service;
	const char *target;  /* "" = the whole service */
	bool drained;        /* the new state */
	bool changed;        /* false: it already was so */
	uint32_t unmatched;  /* stored drains matching nothing */
	const char *reason;  /* drain: as stored, "" = none */
	int64_t until_s;     /* drain: ends by itself then (unix seconds); 0 = never */
	const char *warning; /* why the change moves no answer; NULL or "" = none */
} ctl_drain_t;

/* cost: one region's costs */
typedef struct ctl_region_cost {
	const char *region;
	double config_cost; /* regions[].cost */
	double cost;        /* effective */
	bool overridden;
	const char *origin; /* of the override, "" when none */
	int64_t since_s;    /* of the override, unix seconds; 0 when none */
} ctl_region_cost_t;

typedef struct ctl_cost {
	const ctl_region_cost_t *regions; /* config order */
	size_t n_regions;
	const char *region; /* acted on; "" for a list */
	bool reset;         /* the action was a reset */
	bool changed;       /* false: it already was so */
	int64_t now_s;      /* the node's clock, for ages */
} ctl_cost_t;

typedef struct ctl_explain_event {
	uint32_t step; /* 1-based, as the text numbers the steps ("step 3 geo:") */
	const char *filter;
	const char *endpoint; /* "" = the whole step */
	const char *region;
	const char *reason;
	uint32_t tier;
	bool kept;
} ctl_explain_event_t;

/* explain: one pool as the load filter saw it */
typedef struct ctl_explain_load {
	const char *region;
	double admit;
	bool closed;
	double utilization, forecast; /* NAN = unknown */
} ctl_explain_load_t;

typedef struct ctl_explain {
	const char *service;
	const char *qtype; /* "A", "AAAA" */
	const char *client;
	uint32_t source_prefix;
	bool ecs;
	bool found; /* the geo database knows the client */
	const char *country;
	const char *continent;
	bool has_location;
	double lat, lon;
	uint32_t db_prefix;
	const char *rule;
	bool geo_used;
	uint32_t geo_scope;
	const char *const *pool_order;
	size_t n_pool_order;
	const char *const *filters;
	size_t n_filters;
	const ctl_explain_event_t *events;
	size_t n_events;
	const char *result; /* "answer", "empty", "nodata" */
	const char *const *answer;
	size_t n_answer;
	uint32_t ttl_s;
	uint32_t scope;
	const char *text;        /* pol_trace_format's text */
	const char *attribution; /* "" unless the geo database decided */
	double load_draw;        /* the load filter's draw in [0, 1), NAN when it did not run */
	const ctl_explain_load_t *load; /* every pool, in pool_order */
	size_t n_load;
	/* What the name is; ctl_explain_any() and ctl_explain_name() set these. */
	const char *kind; /* "service", "static", "nxdomain", "nodata", "referral", "refused" */
	const char *name; /* the name asked, "" from an older ayad */
	const char *zone; /* the zone it is in, "" = none */
	const char *const *chain; /* CNAMEs followed: "a CNAME b" */
	size_t n_chain;
} ctl_explain_t;

/* backends: one node's observation of an endpoint */
typedef struct ctl_observer {
	const char *node;
	const char *state; /* "up", "down", "unknown" */
	uint64_t observed_at_ms;
	bool fresh;
	uint32_t rtt_us;
	const char *error;
} ctl_observer_t;

/* backends: one monitored endpoint of one service's pool */
typedef struct ctl_backend {
	const char *service;
	const char *region;
	const char *address;
	uint32_t port;
	const char *monitor;
	const char *key;
	const char *state; /* this node's observation, else the latest; "unknown" = none */
	const char
	        *local; /* this node's own probe ("up", "down", "unknown"); "" = not probed here */
	uint64_t since_ms; /* 0 = unknown */
	const char *error;
	uint32_t rtt_us;
	double utilization; /* negative = unknown */
	uint32_t capacity;
	uint64_t observed_at_ms;
	const ctl_observer_t *observers;
	size_t n_observers;
	bool healthy; /* the cluster's verdict (every fresh observer): what answers use */
	bool drained;
	double slow_start; /* 1 = full weight */
	double headroom;
} ctl_backend_t;

typedef struct ctl_backends {
	const ctl_backend_t *backends;
	size_t n_backends;
	uint64_t now_ms;
} ctl_backends_t;

/* members: one gossip member as this node sees it */
typedef struct ctl_member {
	const char *name;
	const char *region;
	const char *address;
	const char *state; /* "alive", "suspect", "dead", "left" */
	uint64_t incarnation;
	int64_t last_heard_ms; /* ms ago, -1 = never */
	const char *config_hash;
	bool drift; /* config hash differs from this node's */
	bool self;
	const char *version; /* its software version; "" = not known (an older node) */
} ctl_member_t;

typedef struct ctl_members {
	const ctl_member_t *members;
	size_t n_members;
	const char *config_hash; /* this node's */
} ctl_members_t;

typedef struct ctl_key {
	const char *id;                /* 8 hex digits */
	bool primary;                  /* this node's primary */
	uint32_t installed, primaries; /* members that have it, that send with it */
} ctl_key_t;

typedef struct ctl_keyring_member {
	const char *name;
	bool self, answered, ok;
	const char *error; /* when answered and not ok */
} ctl_keyring_member_t;

typedef struct ctl_keyring {
	const char *op;
	const ctl_key_t *keys; /* every member's keys: this node's first, primary first */
	size_t n_keys;
	const char *changed;                 /* id acted on, "" for list */
	const ctl_keyring_member_t *members; /* this node first */
	size_t n_members;
	uint32_t members_ok; /* answered without error */
	bool complete;       /* members_ok == n_members: else ayactl exits 1 */
} ctl_keyring_t;

/* log-level */
typedef struct ctl_log_level {
	const char *level;        /* in effect now: "debug", "info", "warning", "error" */
	const char *config_level; /* the config's log.level, applied again by a reload */
	bool changed;             /* false: a show, or it already was so */
} ctl_log_level_t;

/* top: cumulative counters; `ayactl top` turns two samples into rates. */
typedef struct ctl_top_pool {
	const char *region;
	uint64_t answers; /* address answers from this pool since start */
	double admit;     /* NAN = unknown */
	bool healthy;     /* some endpoint healthy and not drained */
} ctl_top_pool_t;

typedef struct ctl_top_service {
	const char *name;
	const ctl_top_pool_t *pools; /* config order */
	size_t n_pools;
} ctl_top_service_t;

typedef struct ctl_top_event {
	uint64_t ms; /* unix ms */
	const char *text;
} ctl_top_event_t;

typedef struct ctl_top {
	const char *node;
	uint64_t now_ms; /* the node's wall clock at the sample */
	uint64_t queries;
	const ctl_counter_t *counters; /* rcode counters */
	size_t n_counters;
	const ctl_top_service_t *services;
	size_t n_services;
	const ctl_top_event_t *events; /* newest first */
	size_t n_events;
} ctl_top_t;

/* dnssec: one key of a signed zone */
typedef struct ctl_dnssec_key {
	uint32_t tag;
	const char *role;  /* "csk", "ksk", "zsk" */
	const char *state; /* "published", "active", "retired" */
	const char *file;  /* its .private file */
	const char *ds;    /* its DS record (presentation); "" for a ZSK */
} ctl_dnssec_key_t;

typedef struct ctl_dnssec_zone {
	const char *name;
	uint32_t algorithm; /* 13 ECDSAP256SHA256, 15 ED25519 */
	bool split;         /* KSK and ZSK; false: CSK */
	const char *key_directory;
	uint32_t dnskey_ttl_s;
	uint32_t signature_lifetime_s;
	bool is_signed;      /* the served snapshot signs the zone */
	uint64_t sig_expiry; /* earliest static RRSIG expiration, unix seconds; 0 = none */
	uint64_t signatures; /* static RRSIGs in the snapshot */
	uint64_t signed_at;  /* when the served snapshot was signed, unix seconds; 0 = never */
	const ctl_dnssec_key_t *keys; /* by tag */
	size_t n_keys;
	const char *error; /* the keys could not be read; "" = none */
} ctl_dnssec_zone_t;

typedef struct ctl_dnssec {
	const char *op; /* as asked */
	const ctl_dnssec_zone_t *zones;
	size_t n_zones;
	const char *changed; /* add, activate, remove: what was done; "" otherwise */
	const char *hint;    /* the next step; "" = none */
	uint32_t tag;        /* the key acted on; 0 for status and ds */
	uint64_t answers, cache_hits, signs, sign_failures; /* dnsd's dnssec_* counters */
	int64_t now_s;
} ctl_dnssec_t;

/*
 * One reply. Strings and arrays are borrowed: from the handler's scratch
 * arena on the server, from `arena` after ctl_reply_decode().
 */
typedef struct ctl_reply {
	ctl_cmd_t cmd;
	uint32_t version;
	bool ok;
	const char *error; /* when !ok; may be multi-line */
	union {
		ctl_status_t status;
		ctl_reload_t reload;
		ctl_services_t services;
		ctl_drain_t drain; /* drain and undrain */
		ctl_explain_t explain;
		ctl_backends_t backends;
		ctl_members_t members;
		ctl_keyring_t keyring;
		ctl_cost_t cost;
		ctl_log_level_t log_level;
		ctl_top_t top;
		ctl_dnssec_t dnssec;
	};
	aya_arena_t *arena; /* owned when decoded; NULL otherwise */
	void *conn;         /* server: the connection a handler answers (ctl_defer) */
} ctl_reply_t;

/* ------------------------------------------------------------------ codec */

/*
 * Is a complete frame at the start of buf[0..len)? Returns 1 and sets
 * *body_len when buf holds CTL_FRAME_HDR + *body_len bytes or more, 0 when
 * more bytes are needed, -EMSGSIZE when the announced length exceeds max.
 */
int ctl_frame_check(const uint8_t *buf, size_t len, size_t max, size_t *body_len)
        AYA_NONNULL(1, 4) AYA_WUR;
/* Write the 4-byte header for a body of len bytes. */
void ctl_frame_header(uint8_t hdr[CTL_FRAME_HDR], size_t len) AYA_NONNULL(1);

/* Request: a malloc'd frame (header included) in *out; 0, -EINVAL (bad cmd) or -ENOMEM. */
int ctl_request_frame(const ctl_request_t *req, uint8_t **out, size_t *len)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
/*
 * Request body (no header) to *out, strings copied into `a`: -EBADMSG on
 * garbage, -ENOTSUP for an unknown command, -ENOMEM. Arguments are not
 * checked beyond their types: the handler validates them.
 */
int ctl_request_decode(const uint8_t *buf, size_t len, aya_arena_t *a, ctl_request_t *out)
        AYA_NONNULL(3, 4) AYA_WUR;
/* Reply: a malloc'd frame (header included) in *out; 0, -ENOMEM or -EMSGSIZE. */
int ctl_reply_frame(const ctl_reply_t *r, uint8_t **out, size_t *len) AYA_NONNULL(1, 2, 3) AYA_WUR;
/* Reply body to a new ctl_reply_t (caller frees with ctl_reply_free); -EBADMSG, -ENOMEM. */
int ctl_reply_decode(const uint8_t *buf, size_t len, ctl_reply_t **out) AYA_NONNULL(3) AYA_WUR;
/* NULL is a no-op. Only for replies from ctl_reply_decode(). */
void ctl_reply_free(ctl_reply_t *r);

/* ------------------------------------------------------------------ rendering */

/* Aligned human-readable text. */
void ctl_reply_write_text(FILE *f, const ctl_reply_t *r) AYA_NONNULL(1, 2);
/* JSON (jansson), malloc'd, NUL-terminated; NULL when out of memory. */
char *ctl_reply_to_json(const ctl_reply_t *r) AYA_NONNULL(1) AYA_WUR;

/*
 * What `ayactl --json` prints on stdout when it fails: {"ok": false,
 * "command": cmd (null when NULL), "error": error, "exit": exit_code}.
 * malloc'd; NULL when out of memory.
 */
char *ctl_error_json(const char *cmd, const char *error, int exit_code) AYA_WUR;

/*
 * `ayactl top`: the view between two samples of the same node, prev taken
 * interval before cur (rates over cur->now_ms - prev->now_ms; a pool or
 * counter missing from prev counts from zero). Text: a screen for people;
 * JSON: one object (malloc'd, one line; NULL when out of memory).
 */
void ctl_top_write_text(FILE *f, const ctl_top_t *prev, const ctl_top_t *cur) AYA_NONNULL(1, 2, 3);
char *ctl_top_to_json(const ctl_top_t *prev, const ctl_top_t *cur) AYA_NONNULL(1, 2) AYA_WUR;

/* "debug", "info", "warning" (or "warn"), "error" (or "err") to 0..3 (AYA_LOG_*); -EINVAL. */
int ctl_log_level_parse(const char *name, int *out) AYA_NONNULL(1, 2) AYA_WUR;
/* 0..3 to "error", "warning", "info", "debug"; "unknown" otherwise. */
const char *ctl_log_level_name(int level);

/* ------------------------------------------------------------------ client */

/* Connect to the unix socket at path: an fd, or a negative errno. */
int ctl_connect(const char *path) AYA_NONNULL(1) AYA_WUR;
/*
 * Send cmd on a connected fd and read the reply (bounded by timeout_ms per
 * step). 0 and *out, or -ETIMEDOUT, -ECONNRESET (peer closed), -EMSGSIZE,
 * -EBADMSG, -ENOMEM. Does not close fd.
 */
int ctl_call(int fd, const ctl_request_t *req, int timeout_ms, ctl_reply_t **out)
        AYA_NONNULL(2, 4) AYA_WUR;
/*
 * Read one frame's body from fd, tolerating partial reads: a malloc'd body in
 * *out. 0, -ECONNRESET (EOF), -ETIMEDOUT, -EMSGSIZE (> max), -ENOMEM.
 */
int ctl_frame_read(int fd, size_t max, int timeout_ms, uint8_t **out, size_t *len)
        AYA_NONNULL(4, 5) AYA_WUR;
/* Write all of buf; 0, -ETIMEDOUT or a negative errno. */
int ctl_write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms) AYA_NONNULL(2) AYA_WUR;

/* ------------------------------------------------------------------ reply builders */

/*
 * Reply bodies from the daemon's objects (reply_svc.c, reply_backends.c,
 * reply_gossip.c), so that ayad's handlers only gather them. Control thread
 * only: the snapshot, view and gsp_t must not change during a call. Strings
 * are copied into `a` or borrowed from the policy snapshot, which must live
 * until the reply is packed. Fallible builders return 0 or a negative errno
 * with *err the operator's message (static or in `a`; NULL = out of memory).
 */
struct cfg;
struct gsp;
struct pol_client;
struct pol_service;
struct pol_snap;
struct state_cost;
struct state_drain;
struct state_view;

/* Mark r failed with msg; NULL msg = "out of memory". */
void ctl_reply_error(ctl_reply_t *r, const char *msg) AYA_NONNULL(1);
/* The same with a printf message in a (at most 1 KiB). */
void ctl_reply_errorf(ctl_reply_t *r, aya_arena_t *a, const char *fmt, ...) AYA_PRINTF(3, 4)
        AYA_NONNULL(1, 2, 3);

/*
 * Per-pool figures only the daemon has, for pool `pool` of pol's service
 * `svc`: fn sets p->owner (a string in a, or a static one) and p->share, and
 * may refresh the load loop's figures from the live controller (those of
 * the snapshot are as of its build).
 */
typedef void (*ctl_pool_info_fn)(void *ctx, size_t svc, size_t pool, ctl_pool_t *p, aya_arena_t *a);
/* Call fn for every pool of s (from ctl_services_fill). */
void ctl_services_pool_info(ctl_services_t *s, aya_arena_t *a, ctl_pool_info_fn fn, void *ctx)
        AYA_NONNULL(1, 2, 3);
/* `services`: every service of pol, and the stored drains (copied). 0 or -ENOMEM. */
int ctl_services_fill(const struct pol_snap *pol, const struct state_drain *drains, size_t n_drains,
                      aya_arena_t *a, ctl_services_t *out) AYA_NONNULL(1, 4, 5) AYA_WUR;
/*
 * The service called `name`: its full name ("www.svc.example.com", any case,
 * trailing dot optional) or, when exactly one of cfg's zones has it, its
 * name relative to the zone ("www"). NULL with *err when unknown, ambiguous
 * or empty.
 */
const struct pol_service *ctl_service_resolve(const struct pol_snap *pol, const struct cfg *cfg,
                                              const char *name, aya_arena_t *a, const char **err)
        AYA_NONNULL(1, 2, 4, 5);
/*
 * A drain target of ps in canonical form: the region of one of its pools
 * (matched in any case, returned as configured), or the address as given
 * when it is one of its endpoints (IPv4 or IPv6). NULL with *err otherwise.
 */
const char *ctl_drain_target(const struct pol_service *ps, const char *target, aya_arena_t *a,
                             const char **err) AYA_NONNULL(1, 2, 3, 4);
/*
 * Both of the above for `drain`/`undrain`: the service's full name and the
 * target ("" = every pool) copied into a, so they outlive pol. 0, -ENOENT or
 * -ENOMEM with *err.
 */
int ctl_drain_resolve(const struct pol_snap *pol, const struct cfg *cfg, const char *service,
                      const char *target, aya_arena_t *a, const char **svc_out,
                      const char **target_out, const char **err)
        AYA_NONNULL(1, 2, 5, 6, 7, 8) AYA_WUR;
/*
 * Why draining or undraining ps changes none of its answers (its chain has
 * no `drain` step, or when_all_down: answer_all with every endpoint of a
 * family drained), as text in a; NULL when it may.
 */
const char *ctl_drain_warning(const struct pol_service *ps, aya_arena_t *a) AYA_NONNULL(1, 2);
struct dnsd_snap;
/*
 * `explain NAME CLIENT` for any name: a service (full or zone-relative name)
 * is ctl_explain_fill()'s; any other name is asked of dnsd_answer() on snap
 * and pol like a client's query (ctl_explain_name): static records, a CNAME
 * chain (into a service: then the service's explain), NXDOMAIN, NODATA, a
 * referral, or REFUSED outside every zone. A name in no zone as it stands
 * and without a trailing dot is tried in each zone and taken from the one
 * where it exists. 0, or -EINVAL/-ENOMEM with *err.
 * Control thread.
 */
int ctl_explain_any(const struct dnsd_snap *snap, const struct pol_snap *pol, const struct cfg *cfg,
                    const ctl_request_t *req, const char *geo_notice, aya_arena_t *a,
                    ctl_explain_t *out, const char **err) AYA_NONNULL(1, 3, 4, 5, 6, 7, 8) AYA_WUR;
int ctl_explain_name(const struct dnsd_snap *snap, const struct pol_snap *pol,
                     const struct cfg *cfg, const ctl_request_t *req, const char *geo_notice,
                     aya_arena_t *a, ctl_explain_t *out, const char **err)
        AYA_NONNULL(1, 3, 4, 5, 6, 7, 8) AYA_WUR;
/*
 * `cost REGION VALUE|reset`: the region as configured (req->region matched
 * in any case), after checking the value is a cost the store takes. 0, or
 * -ENOENT (unknown region: *err lists cfg's regions) / -ERANGE with *err.
 */
int ctl_cost_resolve(const struct cfg *cfg, const ctl_request_t *req, aya_arena_t *a,
                     const char **region, const char **err) AYA_NONNULL(1, 2, 3, 4, 5) AYA_WUR;
/*
 * `cost`: every region of cfg with its config cost and the active overrides
 * of costs[0..n) (copied); overrides of regions cfg does not have are left
 * out. now_s: the node's clock. 0 or -ENOMEM.
 */
int ctl_cost_fill(const struct cfg *cfg, const struct state_cost *costs, size_t n, int64_t now_s,
                  aya_arena_t *a, ctl_cost_t *out) AYA_NONNULL(1, 5, 6) AYA_WUR;
/*
 * Mark the pools of a `services` reply built by ctl_services_fill() in a:
 * their config cost (from cfg) and whether costs[0..n) overrides it (the
 * effective cost is the snapshot's).
 */
void ctl_services_mark_costs(ctl_services_t *s, const struct cfg *cfg,
                             const struct state_cost *costs, size_t n) AYA_NONNULL(1, 2);
/*
 * The explain client as the query path would see it: ip (IPv4, IPv6 or
 * IPv4-mapped IPv6, which becomes IPv4) with its full prefix, or with
 * has_subnet its first `subnet` bits as an ECS source prefix (1..32 or
 * 1..128). 0, or -EINVAL with *err.
 */
int ctl_explain_client(const char *ip, bool has_subnet, unsigned subnet, aya_arena_t *a,
                       struct pol_client *out, const char **err) AYA_NONNULL(4, 5, 6) AYA_WUR;
/*
 * `explain`: req's service, client and qtype through pol_answer() with a
 * trace. geo_notice is the attribution shown when cfg has a geo database
 * and it placed the client. 0, or a negative errno with *err.
 */
int ctl_explain_fill(const struct pol_snap *pol, const struct cfg *cfg, const ctl_request_t *req,
                     const char *geo_notice, aya_arena_t *a, ctl_explain_t *out, const char **err)
        AYA_NONNULL(1, 2, 3, 4, 5, 6, 7) AYA_WUR;
/*
 * `backends`: cfg's monitored endpoints whose service matches filter (full
 * or zone-relative name, any case; NULL or "" = all), observations from
 * view judged at now_ms (unix ms), cfg->node.name's own first. 0, -ENOENT
 * (filter matches no service) or -ENOMEM with *err; *out is set either way.
 */
int ctl_backends_fill(const struct cfg *cfg, const struct pol_snap *pol,
                      const struct state_view *view, const char *filter, uint64_t now_ms,
                      aya_arena_t *a, ctl_backends_t *out, const char **err)
        AYA_NONNULL(1, 2, 3, 6, 7, 8) AYA_WUR;
/*
 * The cluster part of `status` from g (NULL: gossip off, enabled false),
 * cfg's gossip settings and this node's config hash. The daemon adds its
 * record counters.
 */
void ctl_gossip_status_fill(struct gsp *g, const struct cfg *cfg, uint64_t config_hash,
                            aya_arena_t *a, ctl_gossip_status_t *out) AYA_NONNULL(2, 4, 5);
/*
 * `members`, sorted by name; ages relative to now_ms on the gossip clock (or
 * to the latest member time when that is later). -ENOENT without gossip (g
 * NULL), -ENOMEM, with *err.
 */
int ctl_members_fill(const struct gsp *g, const struct cfg *cfg, uint64_t config_hash,
                     uint64_t now_ms, aya_arena_t *a, ctl_members_t *out, const char **err)
        AYA_NONNULL(2, 5, 6, 7) AYA_WUR;
/*
 * `keyring`: start req's op on every live member (gsp_keyop_start) and
 * defer the reply (ctl_defer) until it is done: ok with the members'
 * results, or a refusal as the error. Answered now (-errno with *err)
 * without gossip (g NULL), in insecure mode, for a bad argument or while
 * another op runs. Control thread.
 */
int ctl_keyring_start(struct gsp *g, const struct cfg *cfg, const ctl_request_t *req,
                      ctl_reply_t *reply, const char **err) AYA_NONNULL(2, 3, 4, 5) AYA_WUR;

/* ------------------------------------------------------------------ server */

struct event_base;
typedef struct ctl_server ctl_server_t;

/*
 * Fill `reply` for one request (reply->cmd is set, reply->ok defaults to
 * true). `req` and its strings live in `scratch`; strings of the reply may be
 * allocated from it too, freed after the reply is sent. Runs on the server's
 * event base thread.
 */
typedef void (*ctl_handler_fn)(void *arg, const ctl_request_t *req, ctl_reply_t *reply,
                               aya_arena_t *scratch);

/*
 * Hand the socket to a group: mode 0660, owned by gid ((gid_t)-1: ayad's own
 * group), so that its members may run ayactl. Warns when a directory above
 * the socket does not let a named group through. 0 or a negative errno (logged).
 */
int ctl_server_set_group(ctl_server_t *srv, gid_t gid) AYA_NONNULL(1);
/*
 * Listen on the unix socket `path` (a stale file there is removed; mode
 * 0600) on `base`. handlers[cmd] may be NULL (the reply says "unsupported").
 * Returns 0 or a negative errno (logged).
 */
int ctl_server_new(struct event_base *base, const char *path,
                   const ctl_handler_fn handlers[CTL_CMD_COUNT], void *arg, ctl_server_t **out)
        AYA_NONNULL(1, 2, 3, 5) AYA_WUR;
/*
 * Close every connection and the socket, unlink its file when it is still
 * the one we bound (same device and inode; another server may have replaced
 * it). NULL is a no-op.
 */
void ctl_server_free(ctl_server_t *srv);

/*
 * Deferred replies, for a command that waits on the network (keyring): a
 * handler calls ctl_defer(reply) and returns; its reply and scratch are then
 * discarded and the connection stays open (the client's own timeout bounds
 * the wait) until ctl_deferred_reply(). NULL: no memory, answer now.
 * ctl_defer_cancel() undoes it within the same handler call (answer now
 * after all). ctl_deferred_reply() encodes reply (strings borrowed for the
 * call), sends it if the client is still there, and frees d: exactly once
 * per d, from the server's thread, also after ctl_server_free().
 */
typedef struct ctl_deferred ctl_deferred_t;
ctl_deferred_t *ctl_defer(ctl_reply_t *reply) AYA_NONNULL(1) AYA_WUR;
void ctl_defer_cancel(ctl_deferred_t *d) AYA_NONNULL(1);
void ctl_deferred_reply(ctl_deferred_t *d, const ctl_reply_t *reply) AYA_NONNULL(1, 2);

/* ------------------------------------------------------------------ http */

struct evbuffer;
struct cfg_sockaddr;
typedef struct ctl_http ctl_http_t;

/*
 * A page of the HTTP listener: fn appends the body to out and may set *type
 * (default text/plain); 0, or a negative errno for a 500.
 */
typedef struct ctl_http_page {
	const char *path; /* exact, e.g. "/metrics" */
	int (*fn)(void *arg, struct evbuffer *out, const char **type);
} ctl_http_page_t;

/*
 * Serve pages[0..n_pages) (borrowed, with arg) over HTTP on every address of
 * listen[0..n) on base (the control thread's). Returns 0, or a negative errno
 * with err set (nothing is left listening).
 */
int ctl_http_new(struct event_base *base, const struct cfg_sockaddr *listen, size_t n,
                 const ctl_http_page_t *pages, size_t n_pages, void *arg, ctl_http_t **out,
                 char *err, size_t errlen) AYA_NONNULL(1, 4, 7, 8) AYA_WUR;
/* h listens on exactly listen[0..n) (h NULL: on none). */
bool ctl_http_listens_on(const ctl_http_t *h, const struct cfg_sockaddr *listen, size_t n);
/* Close the listeners and connections. NULL is a no-op. */
void ctl_http_free(ctl_http_t *h);
