/*
 * gossip/ internals shared by its source files (tests may include this;
 * other modules must not). Layout:
 *   crypto.c    keyring, AES-256-GCM envelope, replay window
 *   queue.c     broadcast queue with retransmit limits and MTU packing
 *   member.c    member table and the SWIM state machine (alive/suspect/dead)
 *   node.c      probes, timers, gossip rounds, join, leave
 *   recv.c      packet decoding and dispatch, push/pull
 *   epoch.c     epochs: the receiver check, the peer table, epoch notices
 *   observers.c rendezvous choice of an endpoint's observers
 *   keyop.c     cluster keyring operations (ayactl keyring)
 *   addr.c      gsp_addr_t helpers
 *   transport_ev.c  libevent sockets and clock
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/gossip.h"
#include "proto/gossip.pb-c.h"
#include "common/rng.h"

/* ---- crypto.c ---- */

#define GSP_ENV_PLAIN 0x00
#define GSP_ENV_GCM 0x01
#define GSP_NONCE_LEN 12
#define GSP_TAG_LEN 16
#define GSP_KEYID_LEN 4
#define GSP_ENV_HDR (1 + GSP_KEYID_LEN + GSP_NONCE_LEN)
#define GSP_ENV_OVERHEAD (GSP_ENV_HDR + GSP_TAG_LEN)

/*
 * Seal plain into out (cap >= plen + GSP_ENV_OVERHEAD, or plen + 1 without
 * keys). kr == NULL or empty: plaintext envelope. Returns the sealed length
 * or a negative errno.
 */
long gsp_seal(const gsp_keyring_t *kr, const uint8_t *plain, size_t plen, uint8_t *out, size_t cap)
        AYA_NONNULL(2, 4);
/*
 * Open a sealed buffer into out (cap >= len). Returns the plaintext length,
 * or -EPROTO (truncated), -EBADMSG (no key or bad MAC), -EPERM (plaintext
 * while keys are installed), -EACCES (sealed while insecure).
 */
long gsp_open(const gsp_keyring_t *kr, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
        AYA_NONNULL(2, 4);

/*
 * What gsp_open() would say of a sealed buffer of `total` bytes from its
 * first len bytes (GSP_ENV_PRECHECK_LEN are enough for a verdict): 0 when it
 * may open, else gsp_open()'s error (an unknown key id is -EBADMSG). For
 * streams, so that a frame no key opens is refused before it is read.
 */
#define GSP_ENV_PRECHECK_LEN (1 + GSP_KEYID_LEN)
long gsp_open_precheck(const gsp_keyring_t *kr, const uint8_t *in, size_t len, size_t total)
        AYA_NONNULL(2);

/*
 * Replay window: per sender the highest sequence seen and a bitmap of the
 * REPLAY_BITS below it. A sequence above the window slides it; one inside is
 * accepted once; one below is refused.
 */
#define REPLAY_BITS 256
typedef struct replay_ent {
	struct replay_ent *next;
	uint64_t top;
	uint64_t bits[REPLAY_BITS / 64];
	char name[];
} replay_ent_t;

typedef struct replay {
	replay_ent_t **tab;
	size_t cap, n, max;
} replay_t;

int gsp_replay_init(replay_t *r, size_t max_senders) AYA_NONNULL(1);
void gsp_replay_fini(replay_t *r) AYA_NONNULL(1);
/* true: fresh (and now recorded); false: replay, too old, or table full. */
bool gsp_replay_check(replay_t *r, const char *sender, uint64_t seq) AYA_NONNULL(1, 2);

/*
 * Peer epochs (epoch.c): what this node knows of other nodes' epochs (proto/gossip.proto),
 * by address (sends go to addresses), and when it may send the next epoch
 * notice to that address. A lost or evicted entry costs one notice round
 * trip, never correctness; a full table is emptied and learned again.
 */
typedef struct peer_ent {
	struct peer_ent *next;
	gsp_addr_t addr;
	uint32_t epoch;          /* 0: unknown */
	uint64_t notice_next_ms; /* no notice to this address before */
} peer_ent_t;

typedef struct peers {
	peer_ent_t **tab;
	size_t cap, n, max;
} peers_t;

int gsp_peers_init(peers_t *t, size_t max) AYA_NONNULL(1);
void gsp_peers_fini(peers_t *t) AYA_NONNULL(1);
/* The entry of addr; create: add an empty one when absent (NULL only without memory). */
peer_ent_t *gsp_peer_get(peers_t *t, const gsp_addr_t *addr, bool create) AYA_NONNULL(1, 2);

/* ---- queue.c ---- */

#define BQ_BUCKETS 64 /* transmit counts 0..63; limits are capped below */
#define BQ_MAX_ITEMS 8192

typedef struct bcast {
	struct bcast *prev, *next; /* in bucket[transmits] */
	struct bcast *hnext;       /* key hash chain */
	char *key;
	uint8_t *data; /* an encoded Msg */
	size_t len;
	unsigned transmits;
	bool retired;
} bcast_t;

typedef struct bqueue {
	bcast_t *head[BQ_BUCKETS], *tail[BQ_BUCKETS];
	bcast_t **hash;
	size_t hcap, n;
	bcast_t *retired; /* sent for the last time; freed by gsp_bq_release() */
	uint64_t dropped;
} bqueue_t;

int gsp_bq_init(bqueue_t *q) AYA_NONNULL(1);
void gsp_bq_fini(bqueue_t *q) AYA_NONNULL(1);
/* Queue an encoded Msg (copied); an older item with the same key is dropped. */
int gsp_bq_push(bqueue_t *q, const char *key, const uint8_t *data, size_t len) AYA_NONNULL(1, 2, 3);
/* Bytes a part of len bytes costs inside a Packet (tag + length + data). */
size_t gsp_bq_part_cost(size_t len);
/*
 * Pick queued items, fewest transmissions first and newest first among
 * equals, whose part cost fits in *budget (decremented); at most max_parts.
 * Each picked item counts one transmission; one that reaches `limit` leaves
 * the queue but its bytes stay valid until gsp_bq_release(). Returns the count.
 */
size_t gsp_bq_fill(bqueue_t *q, unsigned limit, size_t *budget, ProtobufCBinaryData *parts,
                   size_t max_parts) AYA_NONNULL(1, 3, 4);
void gsp_bq_release(bqueue_t *q) AYA_NONNULL(1);
/* mult * ceil(log10(n + 1)), at least 1, at most BQ_BUCKETS - 1. */
unsigned gsp_bq_limit(unsigned mult, size_t n);

/* ---- member.c ---- */

typedef struct suspicion {
	uint64_t start_ms, deadline_ms;
	uint32_t min_ms, max_ms;
	unsigned k, n; /* confirmations expected and seen */
	char *first;   /* who suspected first: not a confirmation */
	char **from;   /* the k confirmers (independent sources) */
} suspicion_t;

typedef struct member {
	gsp_member_t pub; /* name and region are owned strings */
	suspicion_t *susp;
	uint32_t epoch; /* its run's (proto/gossip.proto), as far as we know; 0: unknown */
	bool self;
	uint8_t rx_key[GSP_KEYID_LEN]; /* key id of its last sealed datagram to us */
	uint64_t rx_key_ms;            /* when it came; 0 = none */
} member_t;

/* Lifeguard suspicion timeout for c confirmations of k expected. Pure. */
uint64_t gsp_suspicion_timeout(uint32_t min_ms, uint32_t max_ms, unsigned k, unsigned c);
/*
 * Every how many pushpull_interval ticks a node exchanges its state with a
 * live member, for n live members: 1 up to 32, then ceil(log2 n) - 4 (2 up
 * to 64, 3 up to 128, 6 at 1,000). A push/pull carries every member and
 * record, so its size grows with n; stretching the interval keeps the idle
 * cost per node from growing with it (memberlist scales the same way).
 * Broadcasts, not push/pull, carry the news; the reconnect try to a member
 * believed dead keeps the unscaled interval, so partitions heal as fast.
 */
unsigned gsp_pushpull_every(size_t n);

/* The messages of the state machine, decoded. */
typedef struct m_alive {
	const char *name, *region;
	gsp_addr_t addr;
	uint64_t incarnation;
	uint64_t config_hash;
	uint32_t epoch;      /* 0: not given */
	const char *version; /* "" when absent or not printable */
} m_alive_t;

typedef struct m_suspect {
	const char *name, *from;
	uint64_t incarnation;
	bool dead; /* a Dead message (LEFT when from == name) */
} m_suspect_t;

member_t *gsp_mt_find(const gsp_t *g, const char *name) AYA_NONNULL(1, 2);
/* bootstrap: alive came from push/pull, do not re-broadcast what is not news. */
void gsp_apply_alive(gsp_t *g, const m_alive_t *a, bool bootstrap) AYA_NONNULL(1, 2);
void gsp_apply_suspect(gsp_t *g, const m_suspect_t *s) AYA_NONNULL(1, 2);
void gsp_apply_dead(gsp_t *g, const m_suspect_t *d) AYA_NONNULL(1, 2);
/* Suspicion timers that expired become Dead; returns the next deadline (UINT64_MAX: none). */
uint64_t gsp_check_suspects(gsp_t *g, uint64_t now) AYA_NONNULL(1);
/* Forget members dead for longer than reap_ms. */
void gsp_reap(gsp_t *g, uint64_t now) AYA_NONNULL(1);
void gsp_member_free(member_t *m);
/* Lifeguard LHM: add delta, clamped to [0, awareness_max - 1]. */
void gsp_awareness(gsp_t *g, int delta) AYA_NONNULL(1);
void gsp_refute(gsp_t *g, uint64_t incarnation) AYA_NONNULL(1);

/* ---- node.c ---- */

#define PENDING_MAX 256

typedef enum pending_kind {
	PEND_NONE = 0,
	PEND_PROBE, /* our own probe of a member */
	PEND_RELAY, /* a ping-req we serve: relay the ack to `requester` */
} pending_kind_t;

typedef struct pending {
	pending_kind_t kind;
	uint32_t seq_no;
	uint64_t deadline_ms;
	gsp_addr_t requester; /* PEND_RELAY */
	uint32_t req_seq_no;  /* PEND_RELAY: the requester's seq_no */
	gsp_addr_t target;    /* PEND_RELAY: pinged again if it answers with an epoch notice */
	char target_name[GSP_NAME_MAX + 1];
	bool nack_sent;
} pending_t;

typedef struct pushpull_req {
	uint64_t id;
	bool join;
	bool used;
	bool retried; /* sent again after an epoch notice: a second notice fails it */
	gsp_addr_t to;
} pushpull_req_t;

struct gsp {
	gsp_config_t cfg;
	gsp_addr_t *seeds;
	gsp_keyring_t *kr;
	gsp_clock_t clock;
	gsp_transport_t tr;
	gsp_delegate_t dg;
	gsp_stats_t stats;
	aya_rng_t rng;

	member_t **members; /* probe order: shuffled when the round-robin wraps */
	size_t n_members, cap_members;
	member_t **htab; /* name -> member, open addressing */
	size_t hcap;
	member_t *me;
	size_t n_live;
	size_t probe_idx;

	bqueue_t q;
	replay_t replay;
	peers_t peers;
	uint32_t epoch;              /* this run's, random, never 0 (proto/gossip.proto) */
	uint64_t stranger_notice_ms; /* no epoch notice to a non-member before (epoch.c) */
	uint64_t tx_seq;
	uint32_t next_seq_no;
	unsigned awareness;

	/* The probe in flight. */
	bool probing;
	char probe_target[GSP_NAME_MAX + 1];
	uint32_t probe_seq_no;
	bool probe_acked, probe_indirect;
	unsigned probe_nacks, probe_expected_nacks;
	uint64_t probe_timeout_at, probe_end_at;

	pending_t pending[PENDING_MAX];

	uint64_t next_probe_ms, next_gossip_ms, next_pushpull_ms, next_suspect_ms, next_reap_ms;
	uint64_t next_join_ms;
	uint32_t join_backoff_ms;
	bool joined, joining, started, leaving;
	unsigned join_outstanding;
	uint64_t next_req_id;
	pushpull_req_t reqs[64];
	bool in_tick;
	uint64_t last_gossip_ms;  /* when the last gossip round ran */
	unsigned quick_rounds;    /* rounds left at gossip_interval / 10 (fresh news) */
	unsigned pushpull_rounds; /* pushpull_interval ticks since start */
	struct keyops *ko;        /* keyring operations (keyop.c); NULL until the first */
};

uint64_t gsp_now(const gsp_t *g) AYA_NONNULL(1);
/*
 * Probe sequence numbers (Ping, Ack, Nack, PingReq seq_no) only need to tell
 * the probes in flight apart: they start at a random value below 2^20 and wrap
 * at 2^21, so they stay 3-byte varints on the wire where a random 32-bit
 * number takes 5. Any uint32 from an older peer is echoed as it came.
 */
#define GSP_SEQ_NO_MASK 0x1fffffu
uint32_t gsp_next_seq_no(gsp_t *g) AYA_NONNULL(1);
uint64_t gsp_rand(gsp_t *g) AYA_NONNULL(1);
/* FNV-1a 32 of a gsp_broadcast() key: how the state is named on the wire and in the queue. */
uint32_t gsp_user_key_hash(const char *key) AYA_NONNULL(1);
/* Queue a Msg for piggybacking, keyed (member name or user key). */
void gsp_queue_msg(gsp_t *g, const char *key, const Aya__Gossip__Msg *m) AYA_NONNULL(1, 2, 3);
/* Send `primary` (may be NULL) plus piggybacked broadcasts to one address. */
void gsp_send_msgs(gsp_t *g, const gsp_addr_t *to, const Aya__Gossip__Msg *primary)
        AYA_NONNULL(1, 2);
/*
 * Fresh news is queued: move the next gossip round to now, but no closer than
 * gossip_interval / 10 to the previous one (a burst of changes shares rounds),
 * and run the rounds it takes to use up its retransmissions at that pace.
 */
void gsp_gossip_soon(gsp_t *g) AYA_NONNULL(1);
/* Notify the delegate about m. */
void gsp_notify(gsp_t *g, const member_t *m) AYA_NONNULL(1, 2);
/* Build the Member message of m into mm (pointers borrowed from m; ip into ipbuf). */
void gsp_member_msg(const member_t *m, Aya__Gossip__Member *mm, uint8_t ipbuf[16])
        AYA_NONNULL(1, 2, 3);
int gsp_addr_from_ip(const uint8_t *ip, size_t len, uint32_t port, gsp_addr_t *out) AYA_NONNULL(4);
/* Add a member to the table (takes ownership); -ENOMEM. */
int gsp_mt_add(gsp_t *g, member_t *m) AYA_NONNULL(1, 2);
void gsp_mt_rebuild(gsp_t *g) AYA_NONNULL(1);

/* A join push/pull finished (ok: a seed answered); schedules the retry. */
void gsp_join_result(gsp_t *g, bool ok) AYA_NONNULL(1);
/* Start a push/pull exchange with `to`; retried: the second try after an epoch notice. */
void gsp_pushpull_send(gsp_t *g, const gsp_addr_t *to, bool join, bool retried) AYA_NONNULL(1, 2);
/* Send an epoch notice to `to`: a Packet without parts, to_epoch = their_epoch. */
void gsp_send_notice(gsp_t *g, const gsp_addr_t *to, uint32_t their_epoch) AYA_NONNULL(1, 2);

/* ---- epoch.c ---- */
/* A new epoch for this run: random (from cfg.seed when seeded), never 0 (unknown), never old. */
uint32_t gsp_epoch_draw(gsp_t *g, uint32_t old) AYA_NONNULL(1);
/* The epoch of the node at addr as this node knows it; 0: unknown. */
uint32_t gsp_peer_epoch(gsp_t *g, const gsp_addr_t *addr) AYA_NONNULL(1, 2);
/* The node at addr runs with epoch (0: nothing learned). Ours: we draw a new one. */
void gsp_peer_learn(gsp_t *g, const gsp_addr_t *addr, uint32_t epoch) AYA_NONNULL(1, 2);
/*
 * p is not for this run of ours: count it by reason, log a stale one (rate-
 * limited), and set *notice_epoch (when not NULL) to the sender's epoch if
 * it deserves a notice (not a notice itself, a version 2 sender). false: p
 * names our epoch.
 */
bool gsp_epoch_wrong(gsp_t *g, const gsp_addr_t *from, const Aya__Gossip__Packet *p,
                     uint32_t *notice_epoch) AYA_NONNULL(1, 3);
/* p passed every check: its sender runs with p->from_epoch at src (if any) and its address. */
void gsp_epoch_learn(gsp_t *g, const gsp_addr_t *src, const Aya__Gossip__Packet *p)
        AYA_NONNULL(1, 3);
/* Answer a datagram of `name` (from src) dropped for its epoch with a notice, rate-limited. */
void gsp_epoch_answer(gsp_t *g, const gsp_addr_t *src, const char *name, uint32_t their_epoch)
        AYA_NONNULL(1, 2, 3);
/*
 * `sender` answered with an epoch notice: what we sent it was dropped, so
 * send again what a probe waits for (our ping or ping-req, a relayed ping)
 * and our pending broadcasts.
 */
void gsp_notice_heard(gsp_t *g, const char *sender) AYA_NONNULL(1, 2);

/* ---- keyop.c ---- */
/* A KeyOp from sender at from (authenticated by the caller): apply, answer. */
void gsp_keyop_handle(gsp_t *g, const gsp_addr_t *from, const char *sender,
                      const Aya__Gossip__KeyOp *op) AYA_NONNULL(1, 2, 3, 4);
/* A member's answer to our op. */
void gsp_keyop_answer(gsp_t *g, const char *sender, const Aya__Gossip__KeyOpResult *res)
        AYA_NONNULL(1, 2, 3);
/* Resends and phase deadlines due at now; returns the next deadline (UINT64_MAX: none). */
uint64_t gsp_keyop_tick(gsp_t *g, uint64_t now) AYA_NONNULL(1);
/* gsp_free: an op in flight ends with -ECANCELED. */
void gsp_keyop_fini(gsp_t *g) AYA_NONNULL(1);

/* ---- recv.c ---- */
void gsp_handle_ack(gsp_t *g, uint32_t seq_no, bool nack) AYA_NONNULL(1);
/*
 * Encode our push/pull state into a sealed frame. peer: the requester's
 * push/pull when this is the reply; the reply then leaves out the members the
 * peer sent exactly as we have them and asks the delegate for a state delta
 * (local_state_delta), so a peer in sync gets a nearly empty reply. NULL:
 * everything (a request). to_epoch: the receiver's epoch as we know it.
 */
int gsp_pushpull_frame(gsp_t *g, bool join, const Aya__Gossip__PushPull *peer, uint32_t to_epoch,
                       uint8_t **out, size_t *len) AYA_NONNULL(1, 5, 6);
/* Merge a push/pull message. */
void gsp_pushpull_merge(gsp_t *g, const Aya__Gossip__PushPull *pp) AYA_NONNULL(1, 2);
/*
 * Count (gsp_stats_t, by reason) and log (rate-limited) a packet or frame
 * from `from` (NULL: unknown) dropped with err: gsp_open()'s errors,
 * -EMSGSIZE for oversized.
 */
void gsp_count_drop(gsp_t *g, const gsp_addr_t *from, long err) AYA_NONNULL(1);
/*
 * Open and decode a sealed buffer into a Packet (caller frees); NULL: counted and dropped.
 * from: the sender for drop warnings, NULL when unknown (TCP replies). A Packet for
 * another epoch than ours is dropped; *notice_epoch (when not NULL) then gets the
 * sender's epoch if it deserves an epoch notice (else 0), and sender its name.
 */
Aya__Gossip__Packet *gsp_open_packet_ex(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf,
                                        size_t len, uint32_t *notice_epoch,
                                        char sender[GSP_NAME_MAX + 1]) AYA_NONNULL(1);
/* gsp_open_packet_ex() without the notice. */
Aya__Gossip__Packet *gsp_open_packet(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf,
                                     size_t len) AYA_NONNULL(1);
