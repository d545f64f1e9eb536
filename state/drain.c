/*
 * Drains: operator overrides kept in the "overrides" table only (they are
 * few, and read by the compiler on the control thread). An undrain leaves a
 * tombstone (drained = false) with a newer version, so that an older drain
 * heard later from a peer loses under the merge rule instead of reviving.
 * Every change is synced to disk before the call returns.
 */
#include "state/state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "state/state_int.h"

static int check_note(const char *note)
{
	if (note == NULL || note[0] == '\0') {
		return 0;
	}
	return state_check_name(note, STATE_NOTE_MAX);
}

/*
 * Classify and canonicalise a target into out[STATE_NAME_MAX + 1]: empty =
 * the whole service, an IP address = ADDRESS (inet_ntop form), else REGION.
 */
static int classify(const char *target, char *out, state_target_kind_t *kind)
{
	unsigned char bin[16];
	out[0] = '\0';
	if (target == NULL || target[0] == '\0') {
		*kind = STATE_TARGET_SERVICE;
		return 0;
	}
	int rc = state_check_name(target, STATE_NAME_MAX);
	if (rc < 0) {
		return rc;
	}
	if (inet_pton(AF_INET, target, bin) == 1) {
		*kind = STATE_TARGET_ADDRESS;
		return inet_ntop(AF_INET, bin, out, STATE_NAME_MAX + 1) != NULL ? 0 : -EINVAL;
	}
	if (inet_pton(AF_INET6, target, bin) == 1) {
		*kind = STATE_TARGET_ADDRESS;
		return inet_ntop(AF_INET6, bin, out, STATE_NAME_MAX + 1) != NULL ? 0 : -EINVAL;
	}
	*kind = STATE_TARGET_REGION;
	memcpy(out, target, strlen(target) + 1);
	return 0;
}

bool state_drain_active(const state_drain_t *d, uint64_t now_ms)
{
	return d->drained && (d->until_s <= 0 || (uint64_t)d->until_s * 1000u > now_ms);
}

/*
 * A local change that changes nothing: an undrain of what is not drained
 * (or expired); a drain of what is drained, given the same note and expiry
 * or neither (a bare repeat keeps the first drain's since, note and expiry).
 */
static bool moot(const state_drain_t *old, bool have, const state_drain_t *d, uint64_t now_ms)
{
	bool active = have && state_drain_active(old, now_ms);
	if (!d->drained || !active) {
		return active == d->drained;
	}
	bool bare = d->note[0] == '\0' && d->until_s == 0;
	return bare || (old->until_s == d->until_s && strcmp(old->note, d->note) == 0);
}

/*
 * Store d under key unless the stored record makes it moot. local: a change
 * made here (see moot(); the version is chosen past the stored one).
 * Otherwise a peer's record, kept when it wins the merge rule.
 */
static int write_drain(state_t *st, const uint8_t *key, size_t klen, state_drain_t *d, bool local)
{
	MDB_txn *txn = NULL;
	MDB_val k = {klen, (void *)key}, v;
	uint8_t vb[OVR_VALUE_MAX];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	state_drain_t old;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0) {
		return state_mdb_err(rc);
	}
	rc = mdb_get(txn, st->dbi_ovr, &k, &v);
	/* An undecodable stored record counts as absent: anything replaces it. */
	bool have =
	        rc == 0 && state_ovr_value_decode(v.mv_data, v.mv_size, &old, origin, note) == 0;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		goto fail;
	}
	if (local) {
		if (moot(&old, have, d, state_now_ms(st))) {
			mdb_txn_abort(txn);
			return 0;
		}
		d->version = state_next_version(st);
		if (have && d->version <= old.version) {
			d->version = old.version + 1;
			st->last_version = d->version;
		}
	}
	size_t vlen = state_ovr_value_encode(vb, d);
	if (!local && have &&
	    state_lww_cmp(d->version, vb, vlen, old.version, v.mv_data, v.mv_size) <= 0) {
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
	log_err("state: %s: drain of %s not stored: %s", st->dir, d->service, mdb_strerror(rc));
	return state_mdb_err(rc);
}

int state_drain_set(state_t *st, const char *service, const char *target, bool drained,
                    const char *note)
{
	return state_drain_set_until(st, service, target, drained, note, 0);
}

int state_drain_set_until(state_t *st, const char *service, const char *target, bool drained,
                          const char *note, int64_t until_s)
{
	char canon[STATE_NAME_MAX + 1];
	state_target_kind_t kind;
	uint8_t kb[OVR_KEY_MAX];
	int rc = state_check_name(service, STATE_NAME_MAX);
	if (rc < 0 || (rc = classify(target, canon, &kind)) < 0 || (rc = check_note(note)) < 0) {
		return rc;
	}
	if (until_s < 0) {
		return -EINVAL;
	}
	size_t klen = state_ovr_key_encode(kb, OVR_KIND_DRAIN, service, kind, canon);
	state_drain_t d = {
	        .service = service,
	        .target = kind == STATE_TARGET_SERVICE ? NULL : canon,
	        .kind = kind,
	        .drained = drained,
	        .since_s = (int64_t)(state_now_ms(st) / 1000u),
	        .origin = st->node,
	        .note = note != NULL ? note : "",
	        .until_s = drained ? until_s : 0,
	};
	rc = write_drain(st, kb, klen, &d, true);
	if (rc == 1) {
		log_info("state: %s %s%s%s%s%s", drained ? "drained" : "undrained", service,
		         canon[0] != '\0' ? " " : "", canon, d.note[0] != '\0' ? ": " : "", d.note);
	}
	return rc;
}

int state_drain_merge(state_t *st, const state_drain_t *in)
{
	char canon[STATE_NAME_MAX + 1];
	state_target_kind_t kind;
	uint8_t kb[OVR_KEY_MAX];
	int rc = state_check_name(in->service, STATE_NAME_MAX);
	if (rc < 0 || (rc = classify(in->target, canon, &kind)) < 0 ||
	    (rc = check_note(in->note)) < 0) {
		return rc;
	}
	if (kind != in->kind || in->version == 0 || in->until_s < 0) {
		return -EINVAL;
	}
	if (in->origin != NULL && in->origin[0] != '\0' &&
	    (rc = state_check_name(in->origin, STATE_NODE_MAX)) < 0) {
		return rc;
	}
	state_drain_t d = *in;
	size_t klen = state_ovr_key_encode(kb, OVR_KIND_DRAIN, in->service, kind, canon);
	return write_drain(st, kb, klen, &d, false);
}

static int append(state_drain_t **list, size_t *n, size_t *cap, const state_drain_t *d)
{
	if (*n == *cap) {
		size_t c = *cap > 0 ? *cap * 2 : 16;
		state_drain_t *l = realloc(*list, c * sizeof(*l));
		if (l == NULL) {
			return -ENOMEM;
		}
		*list = l;
		*cap = c;
	}
	state_drain_t *o = &(*list)[*n];
	*o = *d;
	o->service = strdup(d->service);
	o->target = d->target != NULL ? strdup(d->target) : NULL;
	o->origin = strdup(d->origin);
	o->note = strdup(d->note);
	(*n)++;
	bool oom = o->service == NULL || (d->target != NULL && o->target == NULL) ||
	           o->origin == NULL || o->note == NULL;
	return oom ? -ENOMEM : 0;
}

struct drain_walk {
	state_drain_t *list;
	size_t n, cap;
	uint64_t now_ms;
};

static int drain_rec(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct drain_walk *w = arg;
	char service[STATE_NAME_MAX + 1], target[STATE_NAME_MAX + 1];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	uint8_t kind;
	state_drain_t d;
	if (state_ovr_key_decode(k->mv_data, k->mv_size, &kind, service, &d.kind, target) < 0 ||
	    state_ovr_value_decode(v->mv_data, v->mv_size, &d, origin, note) < 0) {
		return 0; /* counted at load; a later set overwrites it */
	}
	if (kind != OVR_KIND_DRAIN || !state_drain_active(&d, w->now_ms)) {
		return 0;
	}
	d.service = service;
	d.target = target[0] != '\0' ? target : NULL;
	return append(&w->list, &w->n, &w->cap, &d);
}

int state_drain_list(const state_t *st, state_drain_t **out, size_t *n)
{
	struct drain_walk w = {.now_ms = state_now_ms(st)};
	*out = NULL;
	*n = 0;
	int rc = state_mdb_walk(st, st->dbi_ovr, drain_rec, &w);
	if (rc < 0) {
		state_drain_list_free(w.list, w.n);
		return rc;
	}
	*out = w.list;
	*n = w.n;
	return 0;
}

void state_drain_list_free(state_drain_t *list, size_t n)
{
	for (size_t i = 0; i < n && list != NULL; i++) {
		free((void *)list[i].service);
		free((void *)list[i].target);
		free((void *)list[i].origin);
		free((void *)list[i].note);
	}
	free(list);
}
