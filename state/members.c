/*
 * Gossip members: the peers this node last knew, in the "members" table, so
 * that a restarted node can rejoin through them when its seeds are down.
 *   key:   the member name (bytes)
 *   value: u8 format (1) | u8 0 | u16 0 | u64 last_seen_ms | u8 len | region |
 *          u8 len | address text
 * A record that does not decode is skipped by the walk (the next put
 * replaces it). Membership changes are rare: one commit per change.
 */
#include "state/state.h"

#include <errno.h>
#include <string.h>

#include "state/state_int.h"

#define MEMBER_FORMAT 1
#define ADDR_MAX 64 /* "[v6 address]:port" */
#define MEMBER_VALUE_MAX (12 + 1 + STATE_NODE_MAX + 1 + ADDR_MAX)

static size_t encode(uint8_t *out, const state_member_t *m)
{
	uint8_t *p = out;
	*p++ = MEMBER_FORMAT;
	*p++ = 0;
	*p++ = 0;
	*p++ = 0;
	for (int i = 7; i >= 0; i--) {
		*p++ = (uint8_t)(m->last_seen_ms >> (8 * i));
	}
	size_t n = strlen(m->region);
	*p++ = (uint8_t)n;
	memcpy(p, m->region, n);
	p += n;
	n = strlen(m->addr);
	*p++ = (uint8_t)n;
	memcpy(p, m->addr, n);
	return (size_t)(p - out) + n;
}

/* One length-prefixed string into out[max + 1]; false when it does not fit. */
static bool get_str(const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
	if (*p >= end) {
		return false;
	}
	size_t n = **p;
	if (n == 0 || n > max || (size_t)(end - *p - 1) < n) {
		return false;
	}
	memcpy(out, *p + 1, n);
	out[n] = '\0';
	*p += 1 + n;
	return state_check_name(out, max) == 0;
}

static int decode(const uint8_t *in, size_t len, state_member_t *m, char *region, char *addr)
{
	const uint8_t *p = in + 12, *end = in + len;
	if (len < 12 || in[0] != MEMBER_FORMAT) {
		return -EBADMSG;
	}
	m->last_seen_ms = 0;
	for (int i = 4; i < 12; i++) {
		m->last_seen_ms = m->last_seen_ms << 8 | in[i];
	}
	if (!get_str(&p, end, region, STATE_NODE_MAX) || !get_str(&p, end, addr, ADDR_MAX)) {
		return -EBADMSG;
	}
	m->region = region;
	m->addr = addr;
	return 0;
}

int state_member_put(state_t *st, const state_member_t *m)
{
	uint8_t vb[MEMBER_VALUE_MAX];
	if (state_check_name(m->name, STATE_NODE_MAX) < 0 ||
	    state_check_name(m->region, STATE_NODE_MAX) < 0 ||
	    state_check_name(m->addr, ADDR_MAX) < 0) {
		return -EINVAL;
	}
	MDB_val k = {strlen(m->name), (void *)m->name}, v = {encode(vb, m), vb};
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0) {
		return state_mdb_err(rc);
	}
	if ((rc = mdb_put(txn, st->dbi_members, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return state_mdb_err(rc);
	}
	return state_mdb_err(mdb_txn_commit(txn));
}

int state_member_del(state_t *st, const char *name)
{
	if (state_check_name(name, STATE_NODE_MAX) < 0) {
		return -EINVAL;
	}
	MDB_val k = {strlen(name), (void *)name};
	MDB_txn *txn;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
	if (rc != 0) {
		return state_mdb_err(rc);
	}
	rc = mdb_del(txn, st->dbi_members, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return state_mdb_err(rc);
	}
	return state_mdb_err(mdb_txn_commit(txn));
}

struct member_walk {
	state_member_fn fn;
	void *ctx;
};

static int member_rec(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct member_walk *w = arg;
	char name[STATE_NODE_MAX + 1], region[STATE_NODE_MAX + 1], addr[ADDR_MAX + 1];
	state_member_t m;
	if (k->mv_size == 0 || k->mv_size > STATE_NODE_MAX ||
	    decode(v->mv_data, v->mv_size, &m, region, addr) < 0) {
		return 0;
	}
	memcpy(name, k->mv_data, k->mv_size);
	name[k->mv_size] = '\0';
	if (state_check_name(name, STATE_NODE_MAX) < 0) {
		return 0;
	}
	m.name = name;
	return w->fn(&m, w->ctx);
}

int state_member_foreach(state_t *st, state_member_fn fn, void *ctx)
{
	struct member_walk w = {.fn = fn, .ctx = ctx};
	return state_mdb_walk(st, st->dbi_members, member_rec, &w);
}
