/*
 * gossip/: cluster membership (SWIM with the Lifeguard extensions) and
 * dissemination of opaque application state between ayad nodes.
 *
 * The protocol code is "sans-IO": a gsp_t never opens a socket or reads a
 * clock itself. The host injects
 *   - a clock (gsp_clock_t): now_ms() and arm(at_ms), a one-shot request to
 *     call gsp_tick() at or after at_ms (re-arming replaces the request);
 *   - a transport (gsp_transport_t): send_udp() for datagrams and
 *     tcp_request() for one push/pull exchange (request frame out, one reply
 *     frame back through gsp_tcp_response());
 * and feeds what arrives through gsp_recv_udp() and gsp_tcp_serve(). ayad
 * uses gsp_transport_ev_new() (libevent sockets, wall clock); the tests run
 * hundreds of nodes in one process over a simulated network and a virtual
 * clock (tests/gossip/sim.c) with exactly the same protocol code.
 *
 * Application state stays opaque here (state/ owns the encoding): the caller
 * gossips bytes with gsp_broadcast() and receives them through
 * gsp_delegate_t.on_state(); push/pull anti-entropy exchanges
 * local_state()/merge_remote_state() blobs.
 *
 * Security: every datagram and TCP frame is sealed with AES-256-GCM under the
 * keyring's primary key; every installed key is accepted on receive (the
 * envelope names the key by a 4-byte id). Replays are rejected per sender by
 * a sequence window, and every packet names its receiver's epoch (random per
 * run), so a packet is accepted only by the run of the node it was sent to.
 * See gossip/crypto.c and proto/gossip.proto. A node without keys (insecure
 * mode) sends and accepts only plaintext: for loopback demos.
 *
 * Threads: a gsp_t and its transport belong to the control-plane thread;
 * nothing here may be called from two threads at once. Errors: 0 or a
 * negative errno; bytes from the network are validated, counted and dropped,
 * never asserted on.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/compiler.h"
#include "common/stats.h"

#define GSP_PROTO_VERSION 2       /* 2: epochs; does not talk to 1 (proto/gossip.proto) */
#define GSP_KEY_LEN 32            /* AES-256 */
#define GSP_MAX_KEYS 16           /* installed at once */
#define GSP_NAME_MAX 63           /* node and region names, bytes */
#define GSP_VERSION_MAX 31        /* a member's software version, bytes */
#define GSP_MAX_UDP 65507         /* larger datagrams are "oversized" */
#define GSP_MAX_FRAME (16u << 20) /* larger TCP frames are "oversized" */

typedef struct gsp gsp_t;
typedef struct gsp_keyring gsp_keyring_t;

/* An IPv4 or IPv6 address and port: a value. */
typedef struct gsp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
} gsp_addr_t;

/* "1.2.3.4:7946" or "[::1]:7946" into out; -EINVAL on junk. */
int gsp_addr_parse(const char *s, gsp_addr_t *out) AYA_NONNULL(1, 2) AYA_WUR;
/* Same text form; returns buf. */
const char *gsp_addr_str(const gsp_addr_t *a, char *buf, size_t len) AYA_NONNULL(1, 2);
bool gsp_addr_equal(const gsp_addr_t *a, const gsp_addr_t *b) AYA_NONNULL(1, 2);

typedef enum gsp_state {
	GSP_ST_ALIVE = 0,
	GSP_ST_SUSPECT = 1,
	GSP_ST_DEAD = 2,
	GSP_ST_LEFT = 3, /* left gracefully */
} gsp_state_t;

const char *gsp_state_name(gsp_state_t st);

/* One member as this node sees it. Borrowed from the gsp_t (see gsp_member_get). */
typedef struct gsp_member {
	const char *name;
	const char *region;
	gsp_addr_t addr;
	uint64_t incarnation;
	gsp_state_t state;
	uint64_t config_hash;              /* the member's config hash, for drift checks */
	char version[GSP_VERSION_MAX + 1]; /* its software version; "" = an older node */
	uint64_t state_change_ms;          /* when this node saw the state change */
	uint64_t last_heard_ms;            /* last packet or news about it; 0 = never */
} gsp_member_t;

typedef struct gsp_clock {
	void *ctx;
	uint64_t (*now_ms)(void *ctx);
	/* Call gsp_tick() at or after at_ms; replaces the previous request. */
	void (*arm)(void *ctx, uint64_t at_ms);
} gsp_clock_t;

typedef struct gsp_transport {
	void *ctx;
	/* Send one datagram; errors are counted by the caller (best effort). */
	int (*send_udp)(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len);
	/*
	 * Open a stream to `to`, send `buf` as one frame, read one reply frame
	 * and hand it to gsp_tcp_response(g, req_id, ...) (or report failure
	 * with NULL/0). Must not call back into the gsp_t before returning.
	 */
	int (*tcp_request)(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len,
	                   uint64_t req_id);
} gsp_transport_t;

/*
 * Application callbacks (all optional). Called from inside gsp_* calls on
 * the control thread; they must not call gsp_free().
 */
typedef struct gsp_delegate {
	void *ctx;
	/*
	 * A state update gossiped by gsp_broadcast() somewhere. key is the
	 * broadcast's key from an older sender, else "#" and the 8 hex digits of
	 * its FNV-1a 32 hash (only the hash travels). Return true if it
	 * changed local state (it is then re-gossiped by this node), false if it
	 * was old news or invalid.
	 */
	bool (*on_state)(void *ctx, const char *key, const uint8_t *data, size_t len);
	/* Full local state for push/pull: a malloc'd blob into *out (0 or -errno). */
	int (*local_state)(void *ctx, uint8_t **out, size_t *len);
	/*
	 * Optional: the part of our state that a peer's push/pull blob (peer,
	 * may be NULL) lacks, for the reply; without it the reply carries
	 * local_state(). Merging the delta must change the peer exactly as
	 * merging our full state would.
	 */
	int (*local_state_delta)(void *ctx, const uint8_t *peer, size_t peer_len, uint8_t **out,
	                         size_t *len);
	/* A peer's full state from push/pull. */
	void (*merge_remote_state)(void *ctx, const uint8_t *data, size_t len);
	/* A member appeared or changed state (m is borrowed for the call). */
	void (*on_member)(void *ctx, const gsp_member_t *m);
	/* A keyring operation changed our ring (gsp_keyop_*): persist it (kr borrowed). */
	void (*on_keyring)(void *ctx, const gsp_keyring_t *kr);
} gsp_delegate_t;

/* Tunables; gsp_config_init() fills the defaults documented in docs/config.md. */
typedef struct gsp_config {
	const char *name;   /* this node, required, <= GSP_NAME_MAX bytes */
	const char *region; /* required */
	gsp_addr_t addr;    /* advertised address (the UDP and TCP port) */
	uint64_t config_hash;
	const char *version;  /* this node's software version, advertised; NULL = "" */
	uint64_t incarnation; /* starting incarnation (ayad: wall-clock seconds) */
	uint64_t seed;        /* PRNG seed; 0 = from the OS */
	const gsp_addr_t *seeds;
	size_t n_seeds;
	uint32_t probe_interval_ms;    /* 500 */
	uint32_t probe_timeout_ms;     /* 250 */
	uint32_t indirect_checks;      /* k = 3 */
	uint32_t suspicion_mult;       /* 3: min timeout = mult * log10(N) * interval */
	uint32_t suspicion_max_mult;   /* 6: max timeout = this * min timeout */
	uint32_t retransmit_mult;      /* 4: limit = mult * ceil(log10(N + 1)) */
	uint32_t gossip_interval_ms;   /* 100 */
	uint32_t gossip_fanout;        /* 3 */
	uint32_t pushpull_interval_ms; /* 30000; 0 = off */
	uint32_t gossip_to_dead_ms;    /* 30000: keep gossiping to the newly dead */
	uint32_t reap_ms;              /* 3600000: dead members are forgotten after */
	uint32_t mtu;                  /* 1400: largest datagram sent */
	uint32_t awareness_max;        /* 8: Lifeguard LHM saturation */
	uint32_t join_retry_max_ms;    /* 30000: backoff ceiling for the seed join */
} gsp_config_t;

void gsp_config_init(gsp_config_t *c) AYA_NONNULL(1);

/* Counters; a value copy from gsp_stats(). */
typedef struct gsp_stats {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t rx_bad_auth;  /* no key fits, or the MAC does not verify */
	uint64_t rx_replay;    /* sequence already seen or too old */
	uint64_t rx_truncated; /* shorter than the envelope */
	uint64_t rx_oversize;
	uint64_t rx_malformed;                        /* authenticated but does not decode */
	uint64_t rx_plain_refused, rx_sealed_refused; /* mode mismatch */
	/* Not for this run of this node: the sender did not know our epoch yet (the
	 * first packet to us, answered with a notice), or it named another epoch
	 * (another node's, an earlier run's: a replay or a misdirected packet). */
	uint64_t rx_no_epoch, rx_stale_epoch;
	uint64_t tx_notices; /* epoch notices sent */
	uint64_t tx_errors;
	uint64_t probes, probe_failures, indirect_probes, refutes;
	uint64_t pushpull_ok, pushpull_fail;
	/* Accepted push/pull streams closed before their reply: no whole frame by the
	 * deadline, evicted for a newcomer from a full table, or refused at accept. */
	uint64_t tcp_deadline, tcp_evicted, tcp_refused;
	uint64_t broadcasts_dropped; /* queue overflow */
} gsp_stats_t;

/*
 * The registry rows of gsp_stats_t (common/stats.h), in field order, named
 * gossip_<field> (`ayactl status` shows gossip figures in its own section).
 */
extern const aya_stat_table_t gsp_stats_table;

/* ---- keyring: for ayactl keyring list|install|use|remove ---- */

gsp_keyring_t *gsp_keyring_new(void) AYA_WUR;
void gsp_keyring_free(gsp_keyring_t *kr);
/* Add a key (no-op if present); the first key installed becomes primary. -ENOSPC when full. */
int gsp_keyring_install(gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN]) AYA_NONNULL(1, 2);
/* Make an installed key the primary (send) key; -ENOENT if absent. */
int gsp_keyring_use(gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN]) AYA_NONNULL(1, 2);
/* Remove a key; -EBUSY for the primary, -ENOENT if absent. */
int gsp_keyring_remove(gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN]) AYA_NONNULL(1, 2);
size_t gsp_keyring_count(const gsp_keyring_t *kr) AYA_NONNULL(1);
/* Key i (0 = primary) into out; -ENOENT past the end. */
int gsp_keyring_get(const gsp_keyring_t *kr, size_t i, uint8_t out[GSP_KEY_LEN]) AYA_NONNULL(1, 3);
/* The 4-byte id written in the envelope for key i, as 8 hex digits. */
void gsp_key_id_hex(const uint8_t key[GSP_KEY_LEN], char out[9]) AYA_NONNULL(1, 2);
/*
 * One `ayactl keyring` change, applied at once: op "install" with arg a
 * base64 AES-256 key (44 characters), "use" or "remove" with arg a key id
 * (8 hex digits, any case). changed_id gets the id acted on (install: also
 * when the ring is full). 0, or a negative errno with *err a one-line reason:
 * -EINVAL (bad key, unknown op), -ENOENT (no key has that id), -ENOSPC
 * (full), -EBUSY (remove the primary).
 */
int gsp_keyring_apply(gsp_keyring_t *kr, const char *op, const char *arg, char changed_id[9],
                      const char **err) AYA_NONNULL(1, 2, 4, 5) AYA_WUR;

/* ---- cluster keyring operations (gossip/keyop.c) ----
 *
 * `ayactl keyring` acts on every live member: this node sends the op to
 * each member (ALIVE or SUSPECT when it starts) directly, sealed, resending
 * every GSP_KEYOP_RETRY_MS until the member answers, for at most
 * GSP_KEYOP_TIMEOUT_MS a phase. Ops, and the rules that keep a rotation
 * from splitting the cluster:
 *   list            query every member's ring;
 *   install KEY     base64 AES-256 key; applied everywhere;
 *   use KEY_ID      a query first: refused (nothing changed) unless every
 *                   member answered and has the key, else a member would
 *                   send with a key others cannot open;
 *   remove KEY_ID   a query first: refused if the key is any member's
 *                   primary, if a member's last packet within
 *                   GSP_KEY_RECENT_MS was sealed with it (it still sends
 *                   with it), or a member did not answer, unless force;
 *                   a member never removes its own primary (so never its
 *                   last key), force or not.
 * Members apply an op only from a sealed packet (insecure mode refuses
 * them all) and tell the delegate (on_keyring) when their ring changed.
 */
#define GSP_KEYOP_TIMEOUT_MS 5000u
#define GSP_KEYOP_RETRY_MS 500u
#define GSP_KEY_RECENT_MS 60000u

typedef struct gsp_keyop_key {
	char id[9];
	bool primary;
	char senders[160]; /* members still sending with it, ", "-separated; may be cut */
} gsp_keyop_key_t;

typedef struct gsp_keyop_member {
	char name[GSP_NAME_MAX + 1];
	bool self;
	bool answered; /* to the last phase sent */
	int error;     /* answered: 0 or a negative errno */
	char message[128];
	size_t n_keys;
	gsp_keyop_key_t keys[GSP_MAX_KEYS]; /* its ring as it answered, primary first */
} gsp_keyop_member_t;

typedef struct gsp_keyop_result {
	char op[8];        /* "list", "install", "use", "remove" */
	char id[9];        /* the key acted on; "" for list */
	int error;         /* 0: see members; -EPERM: refused, nothing changed; -ECANCELED */
	char message[512]; /* the refusal, naming the members */
	const gsp_keyop_member_t *members; /* this node first */
	size_t n_members;
	size_t n_ok; /* answered without error */
} gsp_keyop_result_t;

/* The result, borrowed for the call; the op is over (another may start from here). */
typedef void (*gsp_keyop_done_fn)(void *ctx, const gsp_keyop_result_t *res);

/*
 * Start one op (arg: the key for install, the id for use and remove, NULL
 * for list); done(ctx, result) is called later from gsp_tick or a receive,
 * never before this returns, and exactly once (gsp_free: -ECANCELED).
 * 0, or -EINVAL (bad op or argument), -EPERM (insecure mode), -EBUSY (an
 * op in flight) with *err a one-line reason; done is then not called.
 */
int gsp_keyop_start(gsp_t *g, const char *op, const char *arg, bool force, gsp_keyop_done_fn done,
                    void *ctx, const char **err) AYA_NONNULL(1, 2, 5, 7) AYA_WUR;

/* ---- the node ---- */

/*
 * A new member named c->name. keyring == NULL: insecure (plaintext) mode.
 * The keyring is owned by the gsp_t from then on (also on failure). c is
 * copied (seeds too). Returns NULL on a bad config or out of memory.
 */
gsp_t *gsp_new(const gsp_config_t *c, gsp_keyring_t *keyring_take, const gsp_clock_t *clock,
               const gsp_transport_t *tr, const gsp_delegate_t *dg) AYA_NONNULL(1, 3, 4) AYA_WUR;
/* NULL is a no-op. Does not say goodbye: call gsp_leave() first. */
void gsp_free(gsp_t *g);
/* Begin: announce ourselves, join through the seeds (retrying with backoff), arm timers. */
void gsp_start(gsp_t *g) AYA_NONNULL(1);
/* Run the timers that are due, then arm the next one. */
void gsp_tick(gsp_t *g) AYA_NONNULL(1);
/*
 * Graceful leave: mark ourselves LEFT and push that to up to 2 x fanout
 * members now; the host should keep the loop running ~one gossip interval.
 */
void gsp_leave(gsp_t *g) AYA_NONNULL(1);
/*
 * Advertise a new config hash (after a reload): our member record gets it
 * with the next incarnation, and the alive goes out in the next gossip
 * round (right away), so peers see it within a few rounds. Same hash: no-op.
 */
void gsp_set_config_hash(gsp_t *g, uint64_t hash) AYA_NONNULL(1);
/*
 * This node's address changed (its transport was rebound): our member
 * record gets it with the next incarnation, gossiped at once, as
 * gsp_set_config_hash does. Same address: no-op.
 */
void gsp_set_addr(gsp_t *g, const gsp_addr_t *addr) AYA_NONNULL(1, 2);
/*
 * Replace the seeds (copied): the seeds not in the old list are joined at
 * once (a push/pull each); removed ones are no longer tried (members stay
 * members). 0 or -ENOMEM (the old seeds stay).
 */
int gsp_set_seeds(gsp_t *g, const gsp_addr_t *seeds, size_t n) AYA_NONNULL(1);
/* Borrowed keyring: install/use/remove apply at once. */
gsp_keyring_t *gsp_keyring(gsp_t *g) AYA_NONNULL(1);

/* Input from the transport. buf is borrowed for the call. */
void gsp_recv_udp(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf, size_t len)
        AYA_NONNULL(1, 2);
/*
 * A push/pull request frame arrived on an accepted stream: returns 0 and a
 * malloc'd reply frame in *reply, or a negative errno (close the stream).
 */
int gsp_tcp_serve(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf, size_t len, uint8_t **reply,
                  size_t *reply_len) AYA_NONNULL(1, 2, 5, 6);
/* The reply to tcp_request(req_id); buf == NULL: connection failed. */
void gsp_tcp_response(gsp_t *g, uint64_t req_id, const uint8_t *buf, size_t len) AYA_NONNULL(1);

/*
 * Gossip application state: `key` names what it updates (a newer broadcast
 * with the same key replaces a queued older one), data (not empty: receivers
 * drop an empty update as malformed) is copied. -EINVAL for an empty key or
 * data, -EMSGSIZE when it cannot fit one datagram.
 */
int gsp_broadcast(gsp_t *g, const char *key, const uint8_t *data, size_t len) AYA_NONNULL(1, 2);
/*
 * gsp_broadcast() for news that should not wait: the next gossip round runs
 * now (before returning, unless called from inside a gsp_* callback, then
 * right after it), but no closer than gossip_interval / 10 to the previous
 * round. Still bounded by the retransmit limit and the MTU. Nodes that learn
 * a new state relay it the same way, so it spreads at network speed.
 */
int gsp_broadcast_now(gsp_t *g, const char *key, const uint8_t *data, size_t len) AYA_NONNULL(1, 2);

/* Members, this node included; index order is unspecified and changes. */
size_t gsp_member_count(const gsp_t *g) AYA_NONNULL(1);
/* Borrowed until the next call into g that may change membership. */
const gsp_member_t *gsp_member_get(const gsp_t *g, size_t i) AYA_NONNULL(1);
const gsp_member_t *gsp_member_find(const gsp_t *g, const char *name) AYA_NONNULL(1, 2);
/* Members ALIVE or SUSPECT, this node included. */
size_t gsp_live_count(const gsp_t *g) AYA_NONNULL(1);
/* Lifeguard local health multiplier (0 = healthy). */
unsigned gsp_health_score(const gsp_t *g) AYA_NONNULL(1);
bool gsp_joined(const gsp_t *g) AYA_NONNULL(1);
gsp_stats_t gsp_stats(const gsp_t *g) AYA_NONNULL(1);

/*
 * Observers of an endpoint: up to k members chosen by
 * rendezvous hash of (member name, endpoint key) over the ALIVE and SUSPECT
 * members; members of the endpoint's region first, and at least one of
 * another region when one exists (unless k == 1). Writes indexes into
 * `members` to out[] (highest preference first) and returns how many. Pure:
 * every node with the same member list picks the same set.
 */
size_t gsp_observers(const gsp_member_t *members, size_t n, const char *endpoint_key,
                     const char *endpoint_region, size_t k, size_t *out) AYA_NONNULL(3, 4);

/* ---- replication of the cluster state (gossip/replicate.c) ----
 *
 * What a node gossips of its state/ store, and what it does with what it
 * hears; the host (ayad, or the simulation in the tests) only runs timers
 * and wires the callbacks. Over one gsp_t, one state_t and one cfg_t:
 *   - out: this node's observations (observer == node name) when the status
 *     changes (at once, gsp_broadcast_now), the utilization moves by more
 *     than 0.05, or the last send is older than a third of the endpoint's
 *     stale limit (next regular round); this node's drains and undrains once
 *     per version, in the compact form (at once). gsp_repl_scan() finds them.
 *   - in: records merged by the store's LWW rule; push/pull exchanges
 *     state_pack_all/state_pack_delta blobs. A change asks the host to
 *     rebuild (hooks.rebuild).
 *   - members: ALIVE peers are stored (seeds at the next start); a member
 *     DEAD or LEFT loses its observations after GSP_REPL_DEAD_GRACE_MS; a
 *     change of the live member set asks the host to recompute its probe
 *     targets (hooks.members_changed), which it filters with
 *     gsp_repl_filter_targets().
 * The config is borrowed until gsp_repl_reload() swaps it or
 * gsp_repl_free(); the store for the replicator's life. Control thread only.
 */

struct cfg;
struct state;
struct state_steer;
struct agent_target;

#define GSP_REPL_DEAD_GRACE_MS 60000u /* a gone member's observations are dropped after */
#define GSP_REPL_REBUILD_MS 10u       /* rebuild deadline for one record heard from a peer */
#define GSP_REPL_OBSERVERS_K 3        /* observers per monitored endpoint */

typedef struct gsp_repl gsp_repl_t;

typedef struct gsp_repl_hooks {
	void *ctx;
	/* Wall clock in unix ms (what records carry); NULL = CLOCK_REALTIME. */
	uint64_t (*wall_ms)(void *ctx);
	/* The state changed: rebuild from it within ms; 0 = the host's usual debounce. */
	void (*rebuild)(void *ctx, unsigned within_ms);
	/* The live member set changed: recompute the probed endpoints; < 0 = retry next scan. */
	int (*members_changed)(void *ctx);
	/* A peer's steering record was stored (a pool of our config): adopt its fraction. */
	void (*steer)(void *ctx, const struct state_steer *s);
} gsp_repl_hooks_t;

typedef struct gsp_repl_stats {
	uint64_t records_out;    /* observations and drains broadcast by us */
	uint64_t records_in;     /* valid records heard */
	uint64_t records_merged; /* of which changed our state (push/pull included) */
	uint64_t records_bad;    /* undecodable or invalid, dropped */
} gsp_repl_stats_t;
/* Registry rows of gsp_repl_stats_t (common/stats.h), named gossip_records_<field>. */
extern const aya_stat_table_t gsp_repl_stats_table;

/*
 * A replicator for cfg->node.name over st; hooks copied (all optional).
 * Stored drains count as sent (push/pull carries them). NULL: no memory.
 */
gsp_repl_t *gsp_repl_new(const struct cfg *cfg, struct state *st, const gsp_repl_hooks_t *hooks)
        AYA_NONNULL(1, 2) AYA_WUR;
/* NULL is a no-op. Free the gsp_t first (it holds the delegate). */
void gsp_repl_free(gsp_repl_t *r);
/* The delegate for gsp_new() (ctx = r). */
gsp_delegate_t gsp_repl_delegate(gsp_repl_t *r) AYA_NONNULL(1);
/* The node made with that delegate; NULL detaches. */
void gsp_repl_attach(gsp_repl_t *r, gsp_t *g) AYA_NONNULL(1);
/*
 * gsp_new()'s config from the cfg: name, region, bind address, tunables,
 * the config hash, incarnation = wall-clock seconds; seeds are the cfg's
 * plus the stored members (a rejoin works while the seeds are down), into
 * a malloc'd *seeds that gc points to (the caller frees it after gsp_new).
 * 0 or -ENOMEM.
 */
int gsp_repl_config(gsp_repl_t *r, gsp_config_t *gc, gsp_addr_t **seeds)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
/*
 * The ring to start with (gossip/keyfile.c), NULL without keys (insecure)
 * or memory. The rule, logged: the ring saved in <state_dir>/gossip.keyring
 * after the last `ayactl keyring` change applies while the config's keyring
 * file holds the keys it held when that ring was saved; once the file's
 * keys differ (the operator edited it), the file's keys apply (first key
 * primary) and the saved ring is removed. No saved ring: the file's keys.
 */
gsp_keyring_t *gsp_repl_keyring(const struct cfg *cfg) AYA_NONNULL(1) AYA_WUR;
/* Save kr as <state_dir>/gossip.keyring, against cfg's keyring file (errors logged). */
void gsp_repl_keyring_save(const struct cfg *cfg, const gsp_keyring_t *kr) AYA_NONNULL(1, 2);

/* ---- the saved ring's file (gossip/keyfile.c) ---- */
#define GSP_KEYFILE "gossip.keyring"
/* FNV-1a 64 over n keys in order: which config keyring a saved ring goes with. */
uint64_t gsp_keys_fingerprint(const uint8_t (*keys)[GSP_KEY_LEN], size_t n);
/* Write kr and cfg_fp to path: mode 0600, atomically (temporary file, fsync, rename). 0 or -errno.
 */
int gsp_keyfile_save(const char *path, const gsp_keyring_t *kr, uint64_t cfg_fp)
        AYA_NONNULL(1, 2) AYA_WUR;
/* Read it: a new ring (first key primary) into *out; -ENOENT, -EBADMSG (malformed, no keys). */
int gsp_keyfile_load(const char *path, gsp_keyring_t **out, uint64_t *cfg_fp)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
/*
 * Send what is due (see above), drop gone members' observations after the
 * grace, call members_changed when the live set moved. The host calls it
 * periodically and soon after a local observation or drain changed (not
 * from inside a store update).
 */
void gsp_repl_scan(gsp_repl_t *r) AYA_NONNULL(1);
/*
 * Keep in t[0..n) only the endpoints this node observes: the
 * GSP_REPL_OBSERVERS_K members gsp_observers() picks (own region first),
 * every node for `observers: all` and for endpoints of no pool. Compacted
 * in place; returns how many. Not attached: every endpoint.
 */
size_t gsp_repl_filter_targets(const gsp_repl_t *r, struct agent_target *t, size_t n)
        AYA_NONNULL(1);
/*
 * After a reload: take cfg (borrowed from now on; the old one may be freed
 * on return), advertise its config hash (gsp_set_config_hash), apply the
 * gossip settings a running node can (keyring: the file's keys replace the
 * ring, the first primary; seeds: gsp_set_seeds with the stored members,
 * new seeds joined at once; bind: left to the host, which rebinds its
 * transport and calls gsp_set_addr) and describe every other changed
 * gossip: key in *notes, one line each "reload: gossip.KEY changed; restart
 * ayad to apply it" (malloc'd, "" when nothing changed; NULL on no memory).
 * Applied settings get a line too. 0 or -errno (a keyring or seeds that
 * could not be applied; the old ones stay).
 */
int gsp_repl_reload(gsp_repl_t *r, const struct cfg *cfg, char **notes) AYA_NONNULL(1, 2, 3);
/* The hash we advertise (cfg_hash() of the current cfg). */
uint64_t gsp_repl_config_hash(const gsp_repl_t *r) AYA_NONNULL(1);
gsp_repl_stats_t gsp_repl_stats(const gsp_repl_t *r) AYA_NONNULL(1);

/*
 * Load steering, one writer per pool: the controller of (service, region)
 * is the first of gsp_observers(live members, "steer:<service>/<region>",
 * region, k = 1): a member of the pool's region when one is live, else
 * the rendezvous winner of the others; every node with the same members
 * picks the same one. Not attached (no gossip): this node. Its name into
 * out (GSP_NAME_MAX + 1 bytes); true when it is this node.
 */
bool gsp_repl_steer_owner(const gsp_repl_t *r, const char *service, const char *region, char *out,
                          size_t outlen) AYA_NONNULL(1, 2, 3, 4);
/*
 * This node computed the fraction of a pool it owns: stored as a steering
 * record (state_steer_set) and, when it changed, gossiped: at once when
 * `closed` flipped, else with the next round (a newer one replaces a
 * queued older one). Peers' records arrive through hooks.steer and by
 * push/pull; records of pools not in the config are not stored. A pool
 * that admits everything and never had a record gets none (no traffic for
 * pools without load). 1 when sent (or stored, not attached), 0 unchanged,
 * or a negative errno.
 */
int gsp_repl_steer_publish(gsp_repl_t *r, const char *service, const char *region, double admit,
                           bool closed) AYA_NONNULL(1, 2, 3);

/* ---- the libevent transport and clock used by ayad ---- */

struct event_base;
typedef struct gsp_transport_ev gsp_transport_ev_t;

/*
 * Bind UDP and TCP on `bind` (same port). Returns NULL and sets *err
 * (negative errno) on failure. Call gsp_transport_ev_attach() once the
 * gsp_t exists, with the clock/transport from gsp_transport_ev_clock/ops.
 */
gsp_transport_ev_t *gsp_transport_ev_new(struct event_base *base, const gsp_addr_t *bind, int *err)
        AYA_NONNULL(1, 2, 3) AYA_WUR;
void gsp_transport_ev_free(gsp_transport_ev_t *t);
/*
 * Move to a new address (a reload changed gossip.bind): bind the new UDP
 * socket and TCP listener first and swap them in only when both work, then
 * close the old ones; streams in flight finish on their own sockets. 0, or
 * a negative errno with the old sockets still in use.
 */
int gsp_transport_ev_rebind(gsp_transport_ev_t *t, const gsp_addr_t *bind)
        AYA_NONNULL(1, 2) AYA_WUR;
gsp_clock_t gsp_transport_ev_clock(gsp_transport_ev_t *t) AYA_NONNULL(1);
gsp_transport_t gsp_transport_ev_ops(gsp_transport_ev_t *t) AYA_NONNULL(1);
/* Start delivering packets and timer ticks to g. */
void gsp_transport_ev_attach(gsp_transport_ev_t *t, gsp_t *g) AYA_NONNULL(1, 2);
