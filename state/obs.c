/*
 * Observations: the in-memory hot map and the merge rule. The map is an open
 * addressing hash table (linear probing, power-of-two size, load <= 1/2) of
 * pointers to entries that never move, so the dirty list can hold pointers
 * until state_flush() clears it. Entries leave the map only through
 * state_obs_drop_observer(), which flushes first so no dirty pointer dangles.
 */
#include "state/state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "state/state_int.h"
#include "common/hash.h"

#define MIN_SLOTS 64

/* FNV-1a over "observer NUL endpoint". */
static uint64_t key_hash(const char *observer, const char *endpoint)
{
	uint64_t h = aya_fnv1a_str(AYA_FNV_OFFSET, observer);
	return aya_fnv1a_str(aya_fnv1a_byte(h, 0xff), endpoint);
}

/* Slot holding the key, or the empty slot where it would go. */
static size_t find_slot(const state_t *st, uint64_t h, const char *observer, const char *endpoint)
{
	size_t mask = st->n_slots - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		const struct obs_entry *e = st->slots[i];
		if (e == NULL || (e->hash == h && strcmp(e->obs.observer, observer) == 0 &&
		                  strcmp(e->obs.endpoint, endpoint) == 0)) {
			return i;
		}
	}
}

static void place(struct obs_entry **slots, size_t n_slots, struct obs_entry *e)
{
	size_t mask = n_slots - 1, i = (size_t)e->hash & mask;
	while (slots[i] != NULL) {
		i = (i + 1) & mask;
	}
	slots[i] = e;
}

/* Rehash into n_slots, keeping the entries keep() accepts and freeing the rest. */
static int rehash(state_t *st, size_t n_slots, const char *drop_observer)
{
	struct obs_entry **slots = calloc(n_slots, sizeof(*slots));
	if (slots == NULL) {
		return -ENOMEM;
	}
	size_t kept = 0;
	for (size_t i = 0; i < st->n_slots; i++) {
		struct obs_entry *e = st->slots[i];
		if (e == NULL) {
			continue;
		}
		if (drop_observer != NULL && strcmp(e->obs.observer, drop_observer) == 0) {
			AYA_BUG_ON(e->dirty);
			free(e);
			continue;
		}
		place(slots, n_slots, e);
		kept++;
	}
	free(st->slots);
	st->slots = slots;
	st->n_slots = n_slots;
	st->n_obs = kept;
	return 0;
}

/* Room for one more dirty pointer, so that marking cannot fail later. */
static int reserve_dirty(state_t *st)
{
	if (st->n_dirty < st->cap_dirty) {
		return 0;
	}
	size_t cap = st->cap_dirty > 0 ? st->cap_dirty * 2 : 256;
	struct obs_entry **d = realloc(st->dirty, cap * sizeof(*d));
	if (d == NULL) {
		return -ENOMEM;
	}
	st->dirty = d;
	st->cap_dirty = cap;
	return 0;
}

static void mark_dirty(state_t *st, struct obs_entry *e)
{
	if (!e->dirty) {
		AYA_BUG_ON(st->n_dirty >= st->cap_dirty);
		st->dirty[st->n_dirty++] = e;
		e->dirty = true;
	}
}

/* Copy every field but the key strings; the error text into the entry's buffer. */
static void copy_fields(struct obs_entry *e, const state_obs_t *src)
{
	state_obs_t *dst = &e->obs;
	const char *observer = dst->observer, *endpoint = dst->endpoint;
	size_t elen = src->error != NULL ? strnlen(src->error, STATE_ERROR_MAX) : 0;
	if (src->error != e->error) {
		memmove(e->error, src->error != NULL ? src->error : "", elen);
		e->error[elen] = '\0';
	}
	*dst = *src;
	dst->observer = observer;
	dst->endpoint = endpoint;
	dst->error = e->error;
}

/* Insert a key known to be absent (slot from find_slot()); NULL on ENOMEM. */
static struct obs_entry *insert(state_t *st, uint64_t h, const state_obs_t *obs)
{
	if ((st->n_obs + 1) * 2 > st->n_slots) {
		size_t n = st->n_slots > 0 ? st->n_slots * 2 : MIN_SLOTS;
		if (rehash(st, n, NULL) < 0) {
			return NULL;
		}
	}
	size_t olen = strlen(obs->observer), elen = strlen(obs->endpoint);
	struct obs_entry *e = malloc(sizeof(*e) + olen + elen + 2);
	if (e == NULL) {
		return NULL;
	}
	memcpy(e->key, obs->observer, olen + 1);
	memcpy(e->key + olen + 1, obs->endpoint, elen + 1);
	e->hash = h;
	e->dirty = false;
	e->obs.observer = e->key;
	e->obs.endpoint = e->key + olen + 1;
	copy_fields(e, obs);
	st->slots[find_slot(st, h, obs->observer, obs->endpoint)] = e;
	st->n_obs++;
	return e;
}

int state_obs_map_load(state_t *st, const state_obs_t *obs)
{
	uint64_t h = key_hash(obs->observer, obs->endpoint);
	if (st->n_slots > 0) {
		struct obs_entry *e = st->slots[find_slot(st, h, obs->observer, obs->endpoint)];
		if (e != NULL) {
			copy_fields(e, obs);
			return 0;
		}
	}
	return insert(st, h, obs) != NULL ? 0 : -ENOMEM;
}

void state_obs_map_free(state_t *st)
{
	for (size_t i = 0; i < st->n_slots; i++) {
		free(st->slots[i]);
	}
	free(st->slots);
	st->slots = NULL;
	st->n_slots = 0;
	st->n_obs = 0;
	st->n_dirty = 0;
}

static int check_obs(const state_obs_t *obs)
{
	int rc = state_check_name(obs->observer, STATE_NODE_MAX);
	if (rc == 0) {
		rc = state_check_name(obs->endpoint, STATE_NAME_MAX);
	}
	if (rc < 0) {
		return rc;
	}
	if (obs->version == 0 || (unsigned)obs->status > STATE_ST_DOWN) {
		return -EINVAL;
	}
	if (!isnan(obs->utilization) && !(obs->utilization >= 0.0 && obs->utilization <= 1.0)) {
		return -EINVAL;
	}
	/* The error text is cut at STATE_ERROR_MAX; what is kept must be printable. */
	for (size_t i = 0; obs->error != NULL && i < STATE_ERROR_MAX && obs->error[i]; i++) {
		unsigned char c = (unsigned char)obs->error[i];
		if (c < 0x20 || c == 0x7f) {
			return -EINVAL;
		}
	}
	return 0;
}

int state_obs_merge(state_t *st, const state_obs_t *obs)
{
	int rc = check_obs(obs);
	if (rc < 0) {
		return rc;
	}
	uint64_t h = key_hash(obs->observer, obs->endpoint);
	struct obs_entry *e = NULL;
	if (st->n_slots > 0) {
		e = st->slots[find_slot(st, h, obs->observer, obs->endpoint)];
	}
	/* Reserved before any change, so that ENOMEM leaves the state as it was. */
	if ((rc = reserve_dirty(st)) < 0) {
		return rc;
	}
	if (e != NULL) {
		/* Equal versions: the greater encoding wins, as on every other node. */
		uint8_t nb[OBS_VALUE_MAX], ob[OBS_VALUE_MAX];
		size_t nlen = state_obs_value_encode(nb, obs);
		size_t olen = state_obs_value_encode(ob, &e->obs);
		if (state_lww_cmp(obs->version, nb, nlen, e->obs.version, ob, olen) <= 0) {
			return 0;
		}
		copy_fields(e, obs);
	} else if ((e = insert(st, h, obs)) == NULL) {
		return -ENOMEM;
	}
	mark_dirty(st, e);
	st->generation++;
	return 1;
}

int state_obs_find(const state_t *st, const char *observer, const char *endpoint, state_obs_t *out)
{
	if (st->n_slots == 0) {
		return -ENOENT;
	}
	const struct obs_entry *e =
	        st->slots[find_slot(st, key_hash(observer, endpoint), observer, endpoint)];
	if (e == NULL) {
		return -ENOENT;
	}
	*out = e->obs;
	return 0;
}

int state_obs_foreach(const state_t *st, state_obs_fn fn, void *ctx)
{
	for (size_t i = 0; i < st->n_slots; i++) {
		if (st->slots[i] != NULL) {
			int rc = fn(&st->slots[i]->obs, ctx);
			if (rc != 0) {
				return rc;
			}
		}
	}
	return 0;
}

size_t state_obs_count(const state_t *st)
{
	return st->n_obs;
}

/* Delete every key starting with prefix; returns the count or a negative errno. */
static int delete_prefix(state_t *st, const uint8_t *prefix, size_t plen)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k = {plen, (void *)prefix}, v;
	int n = 0;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc == 0) {
		rc = mdb_cursor_open(txn, st->dbi_obs, &cur);
	}
	for (int op = MDB_SET_RANGE; rc == 0; op = MDB_NEXT) {
		if (op == MDB_SET_RANGE) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		} else {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		if (rc != 0 || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) {
			break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) == 0) {
			n++;
		}
	}
	if (rc == MDB_NOTFOUND) {
		rc = 0;
	}
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
	} else if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	return rc != 0 ? state_mdb_err(rc) : n;
}

int state_obs_drop_observer(state_t *st, const char *observer)
{
	int rc = state_check_name(observer, STATE_NODE_MAX);
	if (rc < 0 || (rc = state_flush(st)) < 0) {
		return rc;
	}
	uint8_t prefix[1 + STATE_NODE_MAX];
	size_t plen = strlen(observer);
	prefix[0] = (uint8_t)plen;
	memcpy(prefix + 1, observer, plen);
	if ((rc = delete_prefix(st, prefix, plen + 1)) < 0) {
		log_err("state: %s: drop observer %s failed: %s", st->dir, observer, strerror(-rc));
		return rc;
	}
	size_t before = st->n_obs;
	if (st->n_slots > 0 && (rc = rehash(st, st->n_slots, observer)) < 0) {
		return rc;
	}
	size_t dropped = before - st->n_obs;
	if (dropped > 0) {
		st->generation++;
		log_info("state: dropped %zu observations of %s", dropped, observer);
	}
	return (int)dropped;
}

int state_endpoint_key(char *out, size_t outlen, const char *addr, uint16_t port,
                       const char *monitor)
{
	unsigned char bin[16];
	char text[INET6_ADDRSTRLEN];
	int rc = state_check_name(monitor, STATE_NAME_MAX);
	if (rc < 0) {
		return rc;
	}
	bool v6 = false;
	if (inet_pton(AF_INET, addr, bin) != 1) {
		if (inet_pton(AF_INET6, addr, bin) != 1) {
			return -EINVAL;
		}
		v6 = true;
	}
	if (port == 0 || inet_ntop(v6 ? AF_INET6 : AF_INET, bin, text, sizeof(text)) == NULL) {
		return -EINVAL;
	}
	int n = snprintf(out, outlen, v6 ? "[%s]:%u/%s" : "%s:%u/%s", text, port, monitor);
	if (n < 0 || n > STATE_NAME_MAX) {
		return -ENAMETOOLONG;
	}
	return (size_t)n < outlen ? n : -ENOBUFS;
}

uint64_t state_obs_stale_ms(uint32_t interval_ms, uint32_t fall)
{
	uint64_t ms = 3u * (uint64_t)interval_ms * (fall > 0 ? fall : 1u);
	return ms > STATE_OBS_STALE_MIN_MS ? ms : STATE_OBS_STALE_MIN_MS;
}

bool state_obs_fresh(const state_obs_t *obs, uint64_t now_ms, uint64_t stale_ms)
{
	return obs->observed_at_ms >= now_ms || now_ms - obs->observed_at_ms <= stale_ms;
}
