/*
 * state/ internals shared by its .c files (and its tests): the state_t body,
 * the observation hot map, the binary codec and LMDB error mapping. The
 * on-disk layout is documented in state.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "state/state.h"

#define OVR_KIND_DRAIN 1
#define OVR_KIND_COST 2
#define OVR_KIND_STEER 3 /* load-steering records (steer.c): wire only, never on disk */
#define OBS_VALUE_LEN 44 /* the base record; extension fields follow */
#define OBS_VALUE_MAX (OBS_VALUE_LEN + 17 + STATE_ERROR_MAX)
#define OVR_VALUE_MIN 22                                                    /* both strings empty */
#define OVR_VALUE_MAX (OVR_VALUE_MIN + STATE_NODE_MAX + STATE_NOTE_MAX + 8) /* + until_s */
#define OBS_KEY_MAX (2 + STATE_NODE_MAX + STATE_NAME_MAX)
#define OVR_KEY_MAX (4 + 2 * STATE_NAME_MAX)

_Static_assert(OVR_KEY_MAX <= 511, "drain key exceeds LMDB's default max key size");
_Static_assert(OBS_KEY_MAX <= 511, "observation key exceeds LMDB's default max key size");

/* One observation in the hot map; observer and endpoint point into key[]. */
struct obs_entry {
	uint64_t hash;
	bool dirty;
	state_obs_t obs;
	char error[STATE_ERROR_MAX + 1]; /* obs.error points here */
	char key[];                      /* observer NUL endpoint NUL */
};

struct state {
	MDB_env *env;
	MDB_dbi dbi_meta, dbi_ovr, dbi_obs, dbi_members;
	int lock_fd;
	char *dir;
	char node[STATE_NODE_MAX + 1];
	state_opts_t opts;

	/* Hot map: open addressing, linear probing, power-of-two size, load <= 1/2. */
	struct obs_entry **slots;
	size_t n_slots, n_obs;
	/* Dirty entries (each once, entry->dirty set), written by state_flush(). */
	struct obs_entry **dirty;
	size_t n_dirty, cap_dirty;

	struct state_steer_tab *steer; /* load-steering records (steer.c), memory only */
	uint64_t last_version;         /* highest version issued or seen on disk */
	uint64_t generation;
	uint64_t flushes, flush_errors, bad_records, last_flush_ms;
	bool recovered;
};

/* LMDB (positive errno or MDB_*) to a negative errno. */
int state_mdb_err(int rc);
uint64_t state_now_ms(const state_t *st);

/*
 * Walk every record of one table in key order in a read-only transaction:
 * fn gets the key and value (borrowed for the call); a non-zero return stops
 * the walk and is returned. Otherwise 0, or a negative errno from LMDB.
 */
typedef int (*state_mdb_fn)(const MDB_val *k, const MDB_val *v, void *ctx);
int state_mdb_walk(const state_t *st, MDB_dbi dbi, state_mdb_fn fn, void *ctx);

/* Names: 1..max bytes, no control characters. */
int state_check_name(const char *s, size_t max);

/* ---- codec (codec.c): bounds-checked, never trusts its input ---- */

size_t state_obs_key_encode(uint8_t *out, const char *observer, const char *endpoint);
/* Decodes into observer[STATE_NODE_MAX+1], endpoint[STATE_NAME_MAX+1]; -EBADMSG. */
int state_obs_key_decode(const uint8_t *in, size_t len, char *observer, char *endpoint);
/* out holds OBS_VALUE_MAX bytes (OBS_VALUE_LEN without extension fields); returns the length. */
size_t state_obs_value_encode(uint8_t *out, const state_obs_t *obs);
/* Fills every field but observer and endpoint (error = NULL); -EBADMSG. */
int state_obs_value_decode(const uint8_t *in, size_t len, state_obs_t *obs);
/* The same with the error text into error[STATE_ERROR_MAX + 1] (obs->error points to it). */
int state_obs_value_decode_ext(const uint8_t *in, size_t len, state_obs_t *obs, char *error);

size_t state_ovr_key_encode(uint8_t *out, uint8_t kind, const char *service,
                            state_target_kind_t tkind, const char *target);
int state_ovr_key_decode(const uint8_t *in, size_t len, uint8_t *kind, char *service,
                         state_target_kind_t *tkind, char *target);
/* out must hold OVR_VALUE_MAX bytes. */
size_t state_ovr_value_encode(uint8_t *out, const state_drain_t *d);
/* origin[STATE_NODE_MAX+1], note[STATE_NOTE_MAX+1]; -EBADMSG. */
int state_ovr_value_decode(const uint8_t *in, size_t len, state_drain_t *d, char *origin,
                           char *note);

/* Merge rule: >0 when (va, a) beats (vb, b). */
int state_lww_cmp(uint64_t va, const uint8_t *a, size_t alen, uint64_t vb, const uint8_t *b,
                  size_t blen);

/* ---- gossip framing (wire.c) and cost records (cost.c) ---- */

/* kind | u16 klen | key | u16 vlen | value into out (5 + klen + vlen bytes); the length. */
size_t state_rec_frame(uint8_t *out, state_rec_kind_t kind, const uint8_t *k, size_t klen,
                       const uint8_t *v, size_t vlen);
/* A peer's cost record (key kind OVR_KIND_COST): 1 stored, 0 old news, -EBADMSG junk. */
int state_cost_merge_kv(state_t *st, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen);
/* ---- steering records (steer.c) ---- */
void state_steer_free(state_t *st);
/* A framed override record's key and value of kind OVR_KIND_STEER: as state_rec_merge. */
int state_steer_merge_kv(state_t *st, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen);

/* ---- hot map (obs.c) ---- */
void state_obs_map_free(state_t *st);
/* Insert a decoded record at load (not dirty). */
int state_obs_map_load(state_t *st, const state_obs_t *obs);
