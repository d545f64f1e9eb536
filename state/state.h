/*
 * state/: the node's cluster state and its persistent store (LMDB).
 *
 * What it holds
 *   - observations: per (observer node, endpoint key) the last health result
 *     an agent reported (status, rise/fall counts, RTT EWMA, utilization,
 *     capacity, time, version). Merged last-writer-wins by version.
 *   - overrides: operator drains of a service, a service in one region or one
 *     endpoint address of a service; undrain leaves a tombstone so that a
 *     gossiped older "drain" cannot bring it back. Runtime region costs
 *     (`ayactl cost`) share the table under their own kind byte; a reset
 *     (back to the config's cost) is a tombstone the same way.
 *   - meta: the on-disk format number.
 *   - members (gossip): a "members" table, same key/value rules.
 *
 * Merge rule (every table): per key the record with the highest version wins.
 * On equal versions the record whose encoded value compares greater
 * (memcmp, then length) wins, so every node converges on the same record
 * whatever order it heard them in; an identical record is "no change".
 *
 * Opening checks the file before trusting it: LMDB follows page pointers
 * without bounds checks and can fault on a damaged file, so state_open()
 * forks a child that reads every reachable page; a child killed by a signal
 * or an LMDB "corrupt" error means -EBADMSG (see STATE_OPEN_RECOVER). Call
 * state_open() at start-up, before other threads exist.
 *
 * Files: <dir>/state.lmdb (one LMDB file, MDB_NOSUBDIR), LMDB's own
 * <dir>/state.lmdb-lock, and <dir>/state.lock, held with flock() so that two
 * daemons cannot share a state directory (-EBUSY, not logged); the holder
 * writes its pid in it. A reader opened with STATE_OPEN_READONLY does not
 * take it. <dir> is created 0750 with
 * its parents when missing; the data file is 0600.
 *
 * Writes and durability. Observations are merged into an in-memory hash table
 * (the hot map the snapshot compiler reads) and marked dirty; state_flush()
 * writes every dirty record in ONE write transaction, so thousands of probe
 * results per second cost one commit per flush interval. The environment is
 * opened with MDB_NOMETASYNC: a commit fdatasync()s the data pages but not the
 * meta page, which halves the syncs per flush and keeps the file consistent
 * after a crash (LMDB then falls back to the previous meta page, i.e. the
 * last flush may be lost: harmless, probes re-run and peers re-gossip).
 * MDB_NOSYNC was rejected: it can leave a corrupt file after a power loss on
 * file systems that reorder writes, and a corrupt file costs us the drains.
 * Operator actions (drains) are rare and must survive: they commit and then
 * mdb_env_sync(force) before returning.
 *
 * Encodings (all integers big-endian; keys sort by service/observer so a
 * prefix is a range). Names are bytes, compared exactly (callers pass
 * canonical text; state/ canonicalises address targets itself).
 *   overrides key:   u8 kind (1 = drain) | u8 len | service | u8 target kind
 *                    (0 service, 1 region, 2 address) | u8 len | target
 *                    or, for a cost: u8 kind (2 = cost) | u8 len | region
 *   overrides value: u8 format (1) | u8 flags (bit0 = drained, or for a cost
 *                    set: 0 = reset) | u16 0 | u64 version | i64 since_s |
 *                    u8 len | origin | u8 len | note (empty for a cost)
 *                    then, for a cost only: u64 cost (IEEE 754 bits);
 *                    for a drain with an expiry only: i64 until_s (an
 *                    extension: older readers ignore trailing bytes)
 *   observations key:   u8 len | observer | u8 len | endpoint key
 *   observations value: u8 format (1) | u8 status | u16 0 | u32 rise |
 *                    u32 fall | u32 rtt_us | u32 capacity |
 *                    u64 utilization (IEEE 754 bits, NaN = unknown) |
 *                    u64 observed_at_ms | u64 version       (44 bytes)
 *                    then, only when one of them is set (an extension):
 *                    u64 since_ms | u64 up_since_ms | u8 len | error
 *   meta "format":   u32 STATE_FORMAT
 * A decoder accepts longer values of the same format (fields appended later
 * are ignored by older code) and rejects shorter ones or unknown formats;
 * such records are counted (state_stats_t.bad_records) and skipped.
 * Hand-written fixed records rather than protobuf: keys must be sortable
 * bytes anyway, values are tiny and fixed, and gossip converts to its own
 * protobuf messages at its edge.
 *
 * Threads: a state_t belongs to the control-plane thread; no function here
 * may be called from two threads at once. Nothing here is on the query path:
 * the compiler copies what it needs into the snapshot.
 *
 * Errors: 0 or a negative errno. -EINVAL bad argument, -ENAMETOOLONG a name
 * over its limit, -EBADMSG a corrupt or unrecognised file, -EPROTONOSUPPORT a
 * file written by a newer format, -EBUSY directory in use by another process,
 * -ENOSPC the LMDB map is full (nothing written; dirty records stay dirty),
 * -EIO other LMDB failures, or the errno of a failed system call.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* On-disk format number stored in meta "format". */
#define STATE_FORMAT 1
/* Longest service, region, address target, endpoint key (bytes, no NUL). */
#define STATE_NAME_MAX 253
/* Longest node (observer, origin) name. */
#define STATE_NODE_MAX 64
/* Longest last-error text of an observation (longer ones are cut). */
#define STATE_ERROR_MAX 120
/* Longest drain note. */
#define STATE_NOTE_MAX 255
/* Default LMDB map size and flush interval. */
#define STATE_MAP_SIZE_DEFAULT (64u << 20)
#define STATE_FLUSH_INTERVAL_MS_DEFAULT 1000u

typedef struct state state_t;

/*
 * Create the state directory with its parents (mkdir -p; the directory
 * itself 0750 (its files are 0600; the group may reach the control socket), parents 0755 before
 * umask). 0, -ENOTDIR when a file is in the way, or another negative errno. state_open() does this
 * itself.
 */
int state_dir_create(const char *dir) AYA_NONNULL(1) AYA_WUR;
/*
 * The secret of len bytes (1..256) in <dir>/<name>: read when the file
 * exists, else len random bytes (getrandom) written to a new file (0600,
 * O_EXCL), *created set. 0, -EBADMSG for a file of another size, or a
 * negative errno. Control thread, at start-up and reload.
 */
int state_secret_load(const char *dir, const char *name, uint8_t *out, size_t len, bool *created)
        AYA_NONNULL(1, 2, 3, 5) AYA_WUR;

/* state_opts_t.flags */
enum {
	/*
	 * A corrupt or unreadable data file (-EBADMSG) is renamed to
	 * state.lmdb.corrupt-<unix time>[-N], logged, and the store starts empty.
	 * Without it state_open() fails with -EBADMSG and leaves the file alone.
	 */
	STATE_OPEN_RECOVER = 1u << 0,
	/*
	 * Read the store of another process that holds state.lock (an upgrade's
	 * new ayad waiting for the old one to stop): no lock taken, no table
	 * created, the file is never moved aside; every write fails (-EACCES).
	 * The observations are loaded as of the open; drains are read from the
	 * file by each view, so they follow the writer's commits.
	 */
	STATE_OPEN_READONLY = 1u << 1,
	/*
	 * Skip the forked check of the file: for a file this process has just
	 * opened read-only (checked then), when threads exist (a takeover).
	 */
	STATE_OPEN_NOCHECK = 1u << 2,
};

typedef struct state_opts {
	size_t map_size;            /* bytes; 0 = STATE_MAP_SIZE_DEFAULT */
	unsigned flush_interval_ms; /* for state_flush_due(); 0 = default */
	unsigned flags;             /* STATE_OPEN_* */
	const char *node;           /* this node's name: origin of local drains; may be NULL */
	/* Wall clock in unix ms; NULL = CLOCK_REALTIME. Injected by tests. */
	uint64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
} state_opts_t;

/*
 * Open (creating when missing) the store in dir and load every observation
 * into memory. opts may be NULL for defaults; it is copied (node too). On
 * error *out is NULL.
 */
int state_open(const char *dir, const state_opts_t *opts, state_t **out) AYA_NONNULL(1, 3) AYA_WUR;
/* Flush dirty observations (errors logged), close the file. NULL is a no-op. */
void state_close(state_t *st);
/*
 * The pid the holder of <dir>/state.lock wrote in it (state_open writes
 * its own): 0, -ENOENT (none written), -EBADMSG, or a negative errno. The
 * pid may be stale: check that it runs.
 */
int state_lock_pid(const char *dir, long *pid) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * True when no process holds <dir>/state.lock (a missing file is free):
 * the store can be opened for writing now, unless another process takes it
 * first (then state_open says -EBUSY).
 */
bool state_lock_free(const char *dir) AYA_NONNULL(1);

/* ---- drains (operator overrides) ---- */

typedef enum state_target_kind {
	STATE_TARGET_SERVICE = 0, /* the whole service; target is NULL */
	STATE_TARGET_REGION = 1,  /* the service's pool in one region */
	STATE_TARGET_ADDRESS = 2, /* one endpoint address of the service */
} state_target_kind_t;

typedef struct state_drain {
	const char *service;
	const char *target; /* NULL for the whole service; addresses in canonical text */
	state_target_kind_t kind;
	bool drained;       /* false: a tombstone (undrained); only seen by state_drain_merge */
	int64_t since_s;    /* unix time of the change */
	uint64_t version;   /* LWW version (unix ms of the change, bumped past the old one) */
	const char *origin; /* node that made the change, "" when unknown */
	const char *note;   /* operator's reason, "" when none */
	int64_t until_s;    /* unix time the drain ends by itself; 0 = never */
} state_drain_t;

/* True when d is a drain (not a tombstone) that has not expired at now_ms (unix ms). */
bool state_drain_active(const state_drain_t *d, uint64_t now_ms) AYA_NONNULL(1);

/*
 * Drain (drained = true) or undrain a service, a region of it (target that is
 * not an IP address) or an endpoint address (target that parses as IPv4/IPv6;
 * stored canonicalised, so "2001:DB8::0:1" and "2001:db8::1" are one key).
 * target NULL or "" = the whole service. note may be NULL. Durable when it
 * returns. Returns 1 when the state changed, 0 when it already was so (a
 * repeated drain with no note, or the same note, keeps its since_s and note),
 * or a negative errno.
 * An expired drain counts as undrained.
 */
int state_drain_set(state_t *st, const char *service, const char *target, bool drained,
                    const char *note) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * state_drain_set() with an expiry: a drain that ends by itself at until_s
 * (unix seconds; 0 = never). Draining again with another note or expiry
 * replaces the drain (a new since_s and origin); with neither it is no
 * change. Undrain ignores until_s.
 */
int state_drain_set_until(state_t *st, const char *service, const char *target, bool drained,
                          const char *note, int64_t until_s) AYA_NONNULL(1, 2) AYA_WUR;

/*
 * The active drains (expired ones left out, by the store's clock), sorted
 * by service then target kind then target. The
 * caller owns *out and frees it with state_drain_list_free(). *n may be 0
 * (then *out is NULL).
 */
int state_drain_list(const state_t *st, state_drain_t **out, size_t *n)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
void state_drain_list_free(state_drain_t *list, size_t n);

/*
 * Merge a drain record heard from a peer (gossip): stored when its version is
 * newer under the merge rule. kind must match target (NULL iff SERVICE).
 * Returns 1 when stored, 0 when ignored.
 */
int state_drain_merge(state_t *st, const state_drain_t *d) AYA_NONNULL(1, 2) AYA_WUR;

/* ---- region costs (operator overrides of regions[].cost) ---- */

/* Bounds of a cost, the config key's. */
#define STATE_COST_MIN 0.0
#define STATE_COST_MAX 1000000.0

typedef struct state_cost {
	const char *region; /* as configured (the caller resolves names) */
	double cost;        /* STATE_COST_MIN..MAX; 0 in a reset */
	bool set;           /* false: a tombstone (reset); only foreach and merge see it */
	int64_t since_s;    /* unix time of the change */
	uint64_t version;   /* LWW version, from the same counter as drains */
	const char *origin; /* node that made the change, "" when unknown */
} state_cost_t;

/* Is c a cost this store takes (finite, within the bounds)? */
bool state_cost_valid(double c);

/*
 * Set a region's cost at runtime; durable when it returns. Returns 1 when
 * the state changed, 0 when the region already had that cost set (its
 * since_s is kept), -ERANGE for a cost out of bounds (or not finite),
 * -EINVAL / -ENAMETOOLONG for a bad name, or another negative errno.
 * region is not checked against the config: the caller does that.
 */
int state_cost_set(state_t *st, const char *region, double cost) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * Back to the config's cost: a tombstone with a newer version, so that an
 * older value heard from a peer cannot return. 1 when a cost was set, 0 when
 * none was, or a negative errno.
 */
int state_cost_reset(state_t *st, const char *region) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * The active costs (no tombstones), sorted by region. The caller owns *out
 * and frees it with state_cost_list_free(); *n may be 0 (*out NULL).
 */
int state_cost_list(const state_t *st, state_cost_t **out, size_t *n) AYA_NONNULL(1, 2, 3) AYA_WUR;
void state_cost_list_free(state_cost_t *list, size_t n);
/*
 * Merge a cost record heard from a peer (gossip): stored when newer under
 * the merge rule. 1 stored, 0 ignored, -EINVAL / -ERANGE for a bad record.
 */
int state_cost_merge(state_t *st, const state_cost_t *c) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * Every stored cost record (active and tombstones) with its gossip record
 * (kind STATE_REC_OVR, the store's own key and value); c and rec are
 * borrowed for the call; a non-zero return stops the walk and is returned.
 */
typedef int (*state_cost_fn)(const state_cost_t *c, const uint8_t *rec, size_t len, void *ctx);
int state_cost_foreach(state_t *st, state_cost_fn fn, void *ctx) AYA_NONNULL(1, 2);

/* ---- observations ---- */

typedef enum state_status {
	STATE_ST_UNKNOWN = 0,
	STATE_ST_UP = 1,
	STATE_ST_DOWN = 2,
} state_status_t;

typedef struct state_obs {
	const char *observer; /* node name, 1..STATE_NODE_MAX bytes */
	const char *endpoint; /* endpoint key, see state_endpoint_key() */
	state_status_t status;
	uint32_t rise;           /* consecutive successes */
	uint32_t fall;           /* consecutive failures */
	uint32_t rtt_us;         /* RTT EWMA, 0 = none yet */
	uint32_t capacity;       /* 0 = unknown */
	double utilization;      /* 0..1, NAN = unknown */
	uint64_t observed_at_ms; /* unix ms */
	uint64_t version;        /* > 0, monotonic per observer */
	/* Extension fields (0 / NULL when unknown, as records without them decode): */
	uint64_t since_ms;    /* unix ms of the last status change */
	uint64_t up_since_ms; /* UP after DOWN: when it recovered (slow start); 0 = not ramping */
	const char *error;    /* last failed probe, "" or NULL = none; cut at STATE_ERROR_MAX */
} state_obs_t;

/*
 * Canonical endpoint key "ADDR:PORT/MONITOR" ("[v6]:PORT/MONITOR" for IPv6),
 * the address canonicalised, into out (at least STATE_NAME_MAX + 1 bytes).
 * Returns the length, -EINVAL for a bad address or empty monitor, or
 * -ENAMETOOLONG.
 */
int state_endpoint_key(char *out, size_t outlen, const char *addr, uint16_t port,
                       const char *monitor) AYA_NONNULL(1, 3, 5) AYA_WUR;

/*
 * Merge one observation (copied; the caller keeps its strings). Returns 1
 * when it changed the stored state (newer under the merge rule), 0 when
 * older or identical, -EINVAL / -ENAMETOOLONG for a bad record (version 0,
 * status out of range, utilization outside 0..1 and not NaN, empty names).
 * Memory only: the record is written at the next state_flush().
 */
int state_obs_merge(state_t *st, const state_obs_t *obs) AYA_NONNULL(1, 2) AYA_WUR;

/* Copy the stored record into *out (strings borrowed until the next change); -ENOENT when absent.
 */
int state_obs_find(const state_t *st, const char *observer, const char *endpoint, state_obs_t *out)
        AYA_NONNULL(1, 2, 3, 4) AYA_WUR;

/*
 * Call fn for every stored observation, in no particular order; a non-zero
 * return stops the walk and is returned. fn must not change the state; the
 * record's strings are borrowed for the call.
 */
typedef int (*state_obs_fn)(const state_obs_t *obs, void *ctx);
int state_obs_foreach(const state_t *st, state_obs_fn fn, void *ctx) AYA_NONNULL(1, 2);

/*
 * Freshness: how long an observation counts. A monitor probing every
 * interval_ms and failing after `fall` misses is late when nothing was heard
 * for 3 x interval x fall, and never sooner than STATE_OBS_STALE_MIN_MS (a
 * few missed gossip rounds must not flap health). Gossip refreshes our own
 * observations well inside this limit. Pure, any thread.
 */
#define STATE_OBS_STALE_MIN_MS 5000u
uint64_t state_obs_stale_ms(uint32_t interval_ms, uint32_t fall);
/* Does obs still count at now_ms? A clock ahead of ours is not stale: skew must not fail
 * endpoints. */
bool state_obs_fresh(const state_obs_t *obs, uint64_t now_ms, uint64_t stale_ms) AYA_NONNULL(1);

/* Number of observations in memory. */
size_t state_obs_count(const state_t *st) AYA_NONNULL(1);

/* ---- read view ----
 *
 * A copy of every observation, every active drain and every active cost
 * override taken in one walk (one moment of the state), for readers that
 * look up many endpoints: the policy compiler, the periodic health check,
 * `ayactl backends`. Observations are sorted by (endpoint key, observer);
 * drains are in state_drain_list() order, costs in state_cost_list()'s.
 * The view owns its strings and does not change when the store does. Free it
 * with state_view_free(); any thread may read a view, one at a time builds it
 * (from the state's thread).
 */
typedef struct state_view state_view_t;

/* From the store: 0, -ENOMEM or the errno of reading the drains. On error *out is NULL. */
int state_view_build(const state_t *st, state_view_t **out) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * From given records (copied; tests and tools that have no store). obs and
 * drains may be NULL when their count is 0. 0, -ENOMEM, or -EINVAL for a
 * record without names.
 */
int state_view_from(const state_obs_t *obs, size_t n_obs, const state_drain_t *drains,
                    size_t n_drains, state_view_t **out) AYA_NONNULL(5) AYA_WUR;
/* NULL is a no-op. */
void state_view_free(state_view_t *v);
/* The observations of one endpoint key, *n of them (borrowed from v); NULL when none. */
const state_obs_t *state_view_obs(const state_view_t *v, const char *endpoint, size_t *n)
        AYA_NONNULL(1, 2, 3);
size_t state_view_obs_count(const state_view_t *v) AYA_NONNULL(1);
/* The active drains, *n of them (borrowed from v); NULL when none. */
const state_drain_t *state_view_drains(const state_view_t *v, size_t *n) AYA_NONNULL(1, 2);
/* The active cost overrides, *n of them (borrowed from v); NULL when none. */
const state_cost_t *state_view_costs(const state_view_t *v, size_t *n) AYA_NONNULL(1, 2);
/*
 * Add cost overrides (copied) to a view from state_view_from() (tests, tools).
 * 0, -ENOMEM or -EINVAL (a record without a region, or added twice).
 */
int state_view_add_costs(state_view_t *v, const state_cost_t *costs, size_t n) AYA_NONNULL(1);

/*
 * Forget every observation of one observer (a node that left the cluster):
 * flushes pending writes, then deletes its records in one transaction.
 * Returns the number dropped or a negative errno.
 */
int state_obs_drop_observer(state_t *st, const char *observer) AYA_NONNULL(1, 2) AYA_WUR;

/*
 * A fresh version for a record this node originates: max(last + 1, clock_ms),
 * where last starts at the highest version found on disk, so versions keep
 * growing across restarts even when the clock steps back.
 */
uint64_t state_next_version(state_t *st) AYA_NONNULL(1);

/* ---- gossip records ----
 *
 * The unit gossip carries: one observation or one override (drain or cost,
 * or its tombstone) in the store's own key/value encodings (or a compact drain,
 * kind 0x10-0x1f, see state_drain_pack()):
 *   u8 kind (1 observation, 2 override) | u16 key length | key |
 *   u16 value length | value
 * A full-state blob for push/pull is u8 format (1) | u32 count | records.
 * Decoding validates every field; junk from a peer is -EBADMSG, never a
 * crash, and never changes the state.
 */

#define STATE_REC_MAX 1024 /* bytes; every record fits */

typedef enum state_rec_kind {
	STATE_REC_OBS = 1,
	STATE_REC_OVR = 2,
	STATE_REC_DRAIN = 0x10, /* 0x10-0x1f: compact drain for broadcasts, below */
} state_rec_kind_t;

/*
 * One drain or tombstone as a compact broadcast record (wire only, never on
 * disk; ~40 bytes where the store's framed override is ~60):
 *   u8 kind and flags: 0x10 | 1 drained | target kind << 1 | 8 has a note |
 *   str8 service | str8 target (only for a region or address) |
 *   varint version | varint zigzag(version / 1000 - since_s) | str8 origin |
 *   str8 note (only with flag 8)
 * (str8: u8 length, bytes; varint: LEB128). state_rec_merge() takes it.
 * Returns the length, or -EINVAL / -ENOSPC, or -ENOTSUP for a drain with an
 * expiry: the compact form has no room for it (older nodes reject trailing
 * bytes there), so such a drain goes as the store's record.
 */
int state_drain_pack(const state_drain_t *d, uint8_t *out, size_t cap) AYA_NONNULL(1, 2) AYA_WUR;

/* One observation as a record into out; the length, or -EINVAL / -ENOSPC. */
int state_obs_pack(const state_obs_t *obs, uint8_t *out, size_t cap) AYA_NONNULL(1, 2) AYA_WUR;

/*
 * Every stored drain (active and tombstones; costs: state_cost_foreach) with its record;
 * d and rec are borrowed for the call; a non-zero return stops the walk.
 */
typedef int (*state_ovr_fn)(const state_drain_t *d, const uint8_t *rec, size_t len, void *ctx);
int state_ovr_foreach(state_t *st, state_ovr_fn fn, void *ctx) AYA_NONNULL(1, 2);

/*
 * Merge one record heard from a peer by the merge rule: 1 when it changed
 * the state, 0 when old news, -EBADMSG for junk (or the merge's errno),
 * including an empty record (len 0; rec may then be NULL, as protobuf-c
 * leaves empty bytes). *kind (may be NULL) gets the record's kind.
 */
int state_rec_merge(state_t *st, const uint8_t *rec, size_t len, state_rec_kind_t *kind)
        AYA_NONNULL(1) AYA_WUR;

/* Every observation and override as one malloc'd blob (push/pull). */
int state_pack_all(state_t *st, uint8_t **out, size_t *len) AYA_NONNULL(1, 2, 3) AYA_WUR;
/*
 * Merge a blob from state_pack_all(): *changed (may be NULL) gets the number
 * of records that changed the state. Bad records are skipped and counted in
 * *bad (may be NULL); a bad header is -EBADMSG.
 */
int state_merge_all(state_t *st, const uint8_t *buf, size_t len, size_t *changed, size_t *bad)
        AYA_NONNULL(1) AYA_WUR;
/*
 * What a peer lacks, as a state_pack_all() blob: every record of ours that
 * is not in the peer's blob byte for byte (merging those would change
 * nothing there). peer == NULL or a blob that does not parse: every record.
 * The push/pull reply, so that a peer already in sync costs a 5-byte blob.
 */
int state_pack_delta(state_t *st, const uint8_t *peer, size_t peer_len, uint8_t **out, size_t *len)
        AYA_NONNULL(1, 4, 5) AYA_WUR;

/* ---- steering records: one pool's admit fraction, from its controller ----
 *
 * The load loop (policy/, pol_steer_t) of one (service, pool) runs on one
 * node, the pool's owner; its admit fraction and closed flag reach every
 * other node as these records, merged last-writer-wins by version (the
 * same rule as every table). They travel as override records of kind 3:
 *   key:   u8 3 | u8 len | service | u8 1 (region) | u8 len | region
 *   value: u8 format (1) | u8 flags (bit0 = closed) | u16 admit x 10^4 |
 *          u64 version | u64 at_ms (unix ms computed) | u8 len | origin
 * framed as STATE_REC_OVR (u8 2 | u16 klen | key | u16 vlen | value), in
 * broadcasts and in push/pull blobs. Memory only (not in LMDB): they change
 * every probe interval; a restarted node takes them back from its peers.
 * An older node counts them as bad records and drops them.
 */
#define STATE_STEER_ONE 10000u /* admit 1.0 on the wire */
#define STATE_STEER_MAX 4096u  /* records kept; more are dropped (one per pool) */

typedef struct state_steer {
	const char *service; /* full name, no trailing dot, lower-case */
	const char *region;
	double admit; /* 0..1, carried to 10^-4 */
	bool closed;
	const char *origin; /* the node that computed it */
	uint64_t version;   /* LWW */
	uint64_t at_ms;     /* unix ms it was computed */
} state_steer_t;

/* admit 0..1 as carried (x 10^4, rounded; NaN and below 0: 0, above 1: 1). */
uint16_t state_steer_quantize(double admit);
/*
 * This node's own fraction of (service, region): stored with a fresh
 * version past the stored one and origin = the node, unless the stored
 * record is already ours with the same quantized admit and closed. 1 when
 * stored, 0 when unchanged, -EINVAL, -ENOMEM. *out (may be NULL) gets the
 * stored record (strings borrowed until the next change).
 */
int state_steer_set(state_t *st, const char *service, const char *region, double admit, bool closed,
                    state_steer_t *out) AYA_NONNULL(1, 2, 3) AYA_WUR;
/*
 * A peer's record: 1 when it won the merge rule and was stored (the watch's
 * changed callback ran), 0 when old news or not accepted, -EINVAL.
 */
int state_steer_merge(state_t *st, const state_steer_t *s) AYA_NONNULL(1, 2) AYA_WUR;
/* The stored record (strings borrowed until the next change); -ENOENT. */
int state_steer_find(const state_t *st, const char *service, const char *region, state_steer_t *out)
        AYA_NONNULL(1, 2, 3, 4) AYA_WUR;
size_t state_steer_count(const state_t *st) AYA_NONNULL(1);
/* Every record (borrowed for the call); a non-zero return stops the walk. */
typedef int (*state_steer_fn)(const state_steer_t *s, void *ctx);
int state_steer_foreach(const state_t *st, state_steer_fn fn, void *ctx) AYA_NONNULL(1, 2);
/* One record framed for gossip; the length, or -EINVAL / -ENOSPC. */
int state_steer_pack(const state_steer_t *s, uint8_t *out, size_t cap) AYA_NONNULL(1, 2) AYA_WUR;
/*
 * Who reads peers' records: accept (may be NULL: all) says whether
 * (service, region) is a pool of this node's config (others are dropped,
 * not stored); changed (may be NULL) runs for every peer's record stored.
 */
typedef bool (*state_steer_accept_fn)(const char *service, const char *region, void *ctx);
typedef void (*state_steer_changed_fn)(const state_steer_t *s, void *ctx);
void state_steer_watch(state_t *st, state_steer_accept_fn accept, state_steer_changed_fn changed,
                       void *ctx) AYA_NONNULL(1);

/* ---- gossip members: the last known peers, to rejoin through ---- */

typedef struct state_member {
	const char *name;      /* 1..STATE_NODE_MAX bytes */
	const char *region;    /* 1..STATE_NODE_MAX bytes */
	const char *addr;      /* "1.2.3.4:7946" or "[::1]:7946" */
	uint64_t last_seen_ms; /* unix ms */
} state_member_t;

/* Store (replace) one member; durable at the next commit. 0 or -errno. */
int state_member_put(state_t *st, const state_member_t *m) AYA_NONNULL(1, 2) AYA_WUR;
/* Forget one; 0 also when absent. */
int state_member_del(state_t *st, const char *name) AYA_NONNULL(1, 2) AYA_WUR;
/* Every stored member, by name; strings borrowed for the call; non-zero stops. */
typedef int (*state_member_fn)(const state_member_t *m, void *ctx);
int state_member_foreach(state_t *st, state_member_fn fn, void *ctx) AYA_NONNULL(1, 2);

/* ---- flushing and status ---- */

/* Write every dirty observation in one transaction. 0 when nothing was dirty. */
int state_flush(state_t *st) AYA_NONNULL(1) AYA_WUR;
/* True when records are dirty and flush_interval_ms passed since the last flush. */
bool state_flush_due(const state_t *st, uint64_t now_ms) AYA_NONNULL(1);

typedef struct state_stats {
	size_t n_obs;          /* observations in memory */
	size_t n_dirty;        /* not yet flushed */
	uint64_t generation;   /* bumped by every change (merge, drain, drop) */
	uint64_t flushes;      /* successful flush transactions */
	uint64_t flush_errors; /* failed ones */
	uint64_t bad_records;  /* undecodable records skipped at load */
	uint64_t last_flush_ms;
	size_t map_size; /* bytes */
	size_t map_used; /* bytes in use in the file */
	bool recovered;  /* a corrupt file was moved aside at open */
} state_stats_t;

void state_stats_get(const state_t *st, state_stats_t *out) AYA_NONNULL(1, 2);
