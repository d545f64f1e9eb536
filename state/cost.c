/*
 * Region costs: operator overrides of regions[].cost (`ayactl cost`), kept in
 * the "overrides" table next to drains under their own kind byte
 * (OVR_KIND_COST). The value is a drain's override value (flag bit0 = set,
 * empty note) followed by the cost's IEEE 754 bits, so the load-time scan
 * of the table (versions, bad records) reads both kinds alike.
 *
 * A reset is a tombstone with a newer version, like an undrain: a peer that
 * still has the older value loses the merge instead of bringing it back.
 * Every change is synced to disk before the call returns; the list is read
 * from disk (the records are few, read by the compiler on the control thread).
 */
#include "state/state.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "state/state_int.h"

#define COST_KEY_MAX (2 + STATE_NAME_MAX)
#define COST_VALUE_LEN(origin_len) (OVR_VALUE_MIN + (origin_len) + 8)
#define COST_VALUE_MAX COST_VALUE_LEN(STATE_NODE_MAX)

bool state_cost_valid(double c)
{
	return isfinite(c) && c >= STATE_COST_MIN && c <= STATE_COST_MAX;
}

/* ---- codec ---- */

static size_t key_encode(uint8_t *out, const char *region)
{
	size_t n = strlen(region);
	out[0] = OVR_KIND_COST;
	out[1] = (uint8_t)n;
	memcpy(out + 2, region, n);
	return 2 + n;
}

/* region[STATE_NAME_MAX + 1]; -EBADMSG for anything but a well-formed cost key. */
static int key_decode(const uint8_t *in, size_t len, char *region)
{
	if (len < 3 || in[0] != OVR_KIND_COST || (size_t)in[1] + 2 != len ||
	    in[1] > STATE_NAME_MAX) {
		return -EBADMSG;
	}
	memcpy(region, in + 2, in[1]);
	region[in[1]] = '\0';
	return state_check_name(region, STATE_NAME_MAX) < 0 ? -EBADMSG : 0;
}

static size_t value_encode(uint8_t *out, const state_cost_t *c)
{
	state_drain_t hdr = {.drained = c->set,
	                     .since_s = c->since_s,
	                     .version = c->version,
	                     .origin = c->origin,
	                     .note = ""};
	size_t n = state_ovr_value_encode(out, &hdr);
	double cost = c->set ? c->cost : 0.0;
	uint64_t bits;
	memcpy(&bits, &cost, sizeof(bits));
	for (int i = 7; i >= 0; i--) {
		out[n++] = (uint8_t)(bits >> (8 * i));
	}
	return n;
}

/* origin[STATE_NODE_MAX + 1]; -EBADMSG for a short value, a note or a bad cost. */
static int value_decode(const uint8_t *in, size_t len, state_cost_t *c, char *origin)
{
	char note[STATE_NOTE_MAX + 1];
	state_drain_t hdr;
	if (state_ovr_value_decode(in, len, &hdr, origin, note) < 0 || note[0] != '\0') {
		return -EBADMSG;
	}
	size_t off = COST_VALUE_LEN(strlen(origin)) - 8;
	if (len < off + 8) {
		return -EBADMSG;
	}
	uint64_t bits = 0;
	for (size_t i = 0; i < 8; i++) {
		bits = bits << 8 | in[off + i];
	}
	memcpy(&c->cost, &bits, sizeof(bits));
	c->set = hdr.drained;
	c->since_s = hdr.since_s;
	c->version = hdr.version;
	c->origin = origin;
	if (!state_cost_valid(c->cost) || (!c->set && c->cost != 0.0)) {
		return -EBADMSG;
	}
	return 0;
}

/* ---- writes ---- */

/* Would the local change c make no difference to the stored old? */
static bool local_noop(bool have, const state_cost_t *old, const state_cost_t *c)
{
	if (!have || !old->set) {
		return !c->set;
	}
	return c->set && memcmp(&old->cost, &c->cost, sizeof(c->cost)) == 0;
}

/*
 * Store c under key unless the stored record makes it moot. local: a change
 * made here (versioned past the stored one); else a peer's record, kept when
 * it wins the merge rule.
 */
static int write_cost(state_t *st, const uint8_t *key, size_t klen, state_cost_t *c, bool local)
{
	MDB_txn *txn = NULL;
	MDB_val k = {klen, (void *)key}, v;
	uint8_t vb[COST_VALUE_MAX];
	char origin[STATE_NODE_MAX + 1];
	state_cost_t old;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0) {
		return state_mdb_err(rc);
	}
	rc = mdb_get(txn, st->dbi_ovr, &k, &v);
	/* An undecodable stored record counts as absent: anything replaces it. */
	bool have = rc == 0 && value_decode(v.mv_data, v.mv_size, &old, origin) == 0;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		goto fail;
	}
	if (local) {
		if (local_noop(have, &old, c)) {
			mdb_txn_abort(txn);
			return 0;
		}
		c->version = state_next_version(st);
		if (have && c->version <= old.version) {
			c->version = old.version + 1;
			st->last_version = c->version;
		}
	}
	size_t vlen = value_encode(vb, c);
	if (!local && have &&
	    state_lww_cmp(c->version, vb, vlen, old.version, v.mv_data, v.mv_size) <= 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	v = (MDB_val){vlen, vb};
	if ((rc = mdb_put(txn, st->dbi_ovr, &k, &v, 0)) != 0) {
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	/* MDB_NOMETASYNC skipped the meta page: force it, operator actions must stick. */
	if (rc != 0 || (rc = mdb_env_sync(st->env, 1)) != 0) {
		goto fail;
	}
	st->generation++;
	return 1;
fail:
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	log_err("state: %s: cost of %s not stored: %s", st->dir, c->region, mdb_strerror(rc));
	return state_mdb_err(rc);
}

static int set_local(state_t *st, const char *region, bool set, double cost)
{
	uint8_t kb[COST_KEY_MAX];
	int rc = state_check_name(region, STATE_NAME_MAX);
	if (rc < 0) {
		return rc;
	}
	if (set && !state_cost_valid(cost)) {
		return -ERANGE;
	}
	state_cost_t c = {.region = region,
	                  .cost = set ? cost : 0.0,
	                  .set = set,
	                  .since_s = (int64_t)(state_now_ms(st) / 1000u),
	                  .origin = st->node};
	rc = write_cost(st, kb, key_encode(kb, region), &c, true);
	if (rc == 1) {
		if (set) {
			log_info("state: cost of region %s set to %g", region, cost);
		} else {
			log_info("state: cost of region %s reset to the config's", region);
		}
	}
	return rc;
}

int state_cost_set(state_t *st, const char *region, double cost)
{
	return set_local(st, region, true, cost);
}

int state_cost_reset(state_t *st, const char *region)
{
	return set_local(st, region, false, 0.0);
}

int state_cost_merge(state_t *st, const state_cost_t *in)
{
	uint8_t kb[COST_KEY_MAX];
	int rc = state_check_name(in->region, STATE_NAME_MAX);
	if (rc < 0) {
		return rc;
	}
	if (in->version == 0 || in->since_s < 0) {
		return -EINVAL;
	}
	if (!state_cost_valid(in->cost) || (!in->set && in->cost != 0.0)) {
		return -ERANGE;
	}
	if (in->origin != NULL && in->origin[0] != '\0' &&
	    (rc = state_check_name(in->origin, STATE_NODE_MAX)) < 0) {
		return rc;
	}
	state_cost_t c = *in;
	c.origin = in->origin != NULL ? in->origin : "";
	return write_cost(st, kb, key_encode(kb, in->region), &c, false);
}

int state_cost_merge_kv(state_t *st, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	char region[STATE_NAME_MAX + 1], origin[STATE_NODE_MAX + 1];
	state_cost_t c;
	if (key_decode(k, klen, region) < 0 || value_decode(v, vlen, &c, origin) < 0) {
		return -EBADMSG;
	}
	c.region = region;
	int rc = state_cost_merge(st, &c);
	return rc == -EINVAL || rc == -ERANGE || rc == -ENAMETOOLONG ? -EBADMSG : rc;
}

/* ---- reads ---- */

struct cost_walk {
	state_cost_fn fn;
	void *ctx;
	/* state_cost_list(): */
	state_cost_t *list;
	size_t n, cap;
};

static int walk_rec(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct cost_walk *w = arg;
	char region[STATE_NAME_MAX + 1], origin[STATE_NODE_MAX + 1];
	uint8_t rec[STATE_REC_MAX];
	state_cost_t c;
	if (k->mv_size == 0 || ((const uint8_t *)k->mv_data)[0] != OVR_KIND_COST) {
		return 0; /* a drain */
	}
	if (key_decode(k->mv_data, k->mv_size, region) < 0 ||
	    value_decode(v->mv_data, v->mv_size, &c, origin) < 0 ||
	    5 + k->mv_size + v->mv_size > sizeof(rec)) {
		return 0; /* counted at load; a later set overwrites it */
	}
	c.region = region;
	size_t len =
	        state_rec_frame(rec, STATE_REC_OVR, k->mv_data, k->mv_size, v->mv_data, v->mv_size);
	return w->fn(&c, rec, len, w->ctx);
}

int state_cost_foreach(state_t *st, state_cost_fn fn, void *ctx)
{
	struct cost_walk w = {.fn = fn, .ctx = ctx};
	return state_mdb_walk(st, st->dbi_ovr, walk_rec, &w);
}

static int list_add(const state_cost_t *c, const uint8_t *rec, size_t len, void *arg)
{
	(void)rec;
	(void)len;
	struct cost_walk *w = arg;
	if (!c->set) {
		return 0;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap > 0 ? w->cap * 2 : 8;
		state_cost_t *l = realloc(w->list, cap * sizeof(*l));
		if (l == NULL) {
			return -ENOMEM;
		}
		w->list = l;
		w->cap = cap;
	}
	state_cost_t *o = &w->list[w->n];
	*o = *c;
	o->region = strdup(c->region);
	o->origin = strdup(c->origin);
	w->n++;
	return o->region == NULL || o->origin == NULL ? -ENOMEM : 0;
}

int state_cost_list(const state_t *st, state_cost_t **out, size_t *n)
{
	struct cost_walk inner = {0};
	struct cost_walk w = {.fn = list_add, .ctx = &inner};
	*out = NULL;
	*n = 0;
	/* Keys are kind | len | region: LMDB's order is by length, then bytes. Sort by name. */
	int rc = state_mdb_walk(st, st->dbi_ovr, walk_rec, &w);
	if (rc < 0) {
		state_cost_list_free(inner.list, inner.n);
		return rc;
	}
	for (size_t i = 1; i < inner.n; i++) {
		state_cost_t x = inner.list[i];
		size_t j = i;
		for (; j > 0 && strcmp(inner.list[j - 1].region, x.region) > 0; j--) {
			inner.list[j] = inner.list[j - 1];
		}
		inner.list[j] = x;
	}
	*out = inner.list;
	*n = inner.n;
	return 0;
}

void state_cost_list_free(state_cost_t *list, size_t n)
{
	for (size_t i = 0; i < n && list != NULL; i++) {
		free((void *)list[i].region);
		free((void *)list[i].origin);
	}
	free(list);
}
