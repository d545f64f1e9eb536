/*
 * Gossip records: observations and overrides in the store's own key/value
 * encodings, framed for the wire (format in state.h). Everything decoded here
 * came from a peer: lengths are checked before every read, fields are
 * validated by the same decoders that read the disk, and a bad record is
 * refused before it reaches the merge.
 */
#include "state/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/state_int.h"

#define OVR_VALUE_MAX (OVR_VALUE_MIN + STATE_NODE_MAX + STATE_NOTE_MAX)
#define BLOB_FORMAT 1
#define BLOB_HDR 5

static size_t frame(uint8_t *out, state_rec_kind_t kind, const uint8_t *k, size_t klen,
                    const uint8_t *v, size_t vlen)
{
	uint8_t *p = out;
	*p++ = (uint8_t)kind;
	*p++ = (uint8_t)(klen >> 8);
	*p++ = (uint8_t)klen;
	memcpy(p, k, klen);
	p += klen;
	*p++ = (uint8_t)(vlen >> 8);
	*p++ = (uint8_t)vlen;
	memcpy(p, v, vlen);
	return (size_t)(p - out) + vlen;
}

int state_obs_pack(const state_obs_t *obs, uint8_t *out, size_t cap)
{
	uint8_t kb[OBS_KEY_MAX], vb[OBS_VALUE_MAX];
	if (obs->observer == NULL || obs->endpoint == NULL ||
	    state_check_name(obs->observer, STATE_NODE_MAX) < 0 ||
	    state_check_name(obs->endpoint, STATE_NAME_MAX) < 0 || obs->version == 0) {
		return -EINVAL;
	}
	size_t klen = state_obs_key_encode(kb, obs->observer, obs->endpoint);
	size_t vlen = state_obs_value_encode(vb, obs);
	if (5 + klen + vlen > cap) {
		return -ENOSPC;
	}
	return (int)frame(out, STATE_REC_OBS, kb, klen, vb, vlen);
}

/* Split a record into kind, key and value; -EBADMSG unless exactly len bytes. */
static int split(const uint8_t *rec, size_t len, uint8_t *kind, const uint8_t **k, size_t *klen,
                 const uint8_t **v, size_t *vlen)
{
	if (len < 5) {
		return -EBADMSG;
	}
	*kind = rec[0];
	*klen = (size_t)rec[1] << 8 | rec[2];
	if (3 + *klen + 2 > len) {
		return -EBADMSG;
	}
	*k = rec + 3;
	const uint8_t *p = rec + 3 + *klen;
	*vlen = (size_t)p[0] << 8 | p[1];
	if (3 + *klen + 2 + *vlen != len) {
		return -EBADMSG;
	}
	*v = p + 2;
	return 0;
}

static int merge_obs(state_t *st, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	char observer[STATE_NODE_MAX + 1], endpoint[STATE_NAME_MAX + 1];
	char error[STATE_ERROR_MAX + 1];
	state_obs_t obs;
	if (state_obs_key_decode(k, klen, observer, endpoint) < 0 ||
	    state_obs_value_decode_ext(v, vlen, &obs, error) < 0) {
		return -EBADMSG;
	}
	obs.observer = observer;
	obs.endpoint = endpoint;
	int rc = state_obs_merge(st, &obs);
	return rc == -EINVAL || rc == -ENAMETOOLONG ? -EBADMSG : rc;
}

static int merge_ovr(state_t *st, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	char service[STATE_NAME_MAX + 1], target[STATE_NAME_MAX + 1];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	uint8_t okind;
	state_drain_t d;
	if (state_ovr_key_decode(k, klen, &okind, service, &d.kind, target) < 0 ||
	    state_ovr_value_decode(v, vlen, &d, origin, note) < 0 || okind != OVR_KIND_DRAIN) {
		return -EBADMSG;
	}
	d.service = service;
	d.target = target[0] != '\0' ? target : NULL;
	int rc = state_drain_merge(st, &d);
	return rc == -EINVAL || rc == -ENAMETOOLONG ? -EBADMSG : rc;
}

int state_rec_merge(state_t *st, const uint8_t *rec, size_t len, state_rec_kind_t *kind)
{
	const uint8_t *k, *v;
	size_t klen, vlen;
	uint8_t rk;
	int rc = split(rec, len, &rk, &k, &klen, &v, &vlen);
	if (rc < 0) {
		return rc;
	}
	if (kind != NULL) {
		*kind = (state_rec_kind_t)rk;
	}
	switch (rk) {
	case STATE_REC_OBS:
		return merge_obs(st, k, klen, v, vlen);
	case STATE_REC_OVR:
		return merge_ovr(st, k, klen, v, vlen);
	default:
		/* A kind from a newer node: not ours to judge, and not an error. */
		return 0;
	}
}

int state_ovr_foreach(state_t *st, state_ovr_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int ret = 0;
	int rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc == 0) {
		rc = mdb_cursor_open(txn, st->dbi_ovr, &cur);
	}
	for (int op = MDB_FIRST; rc == 0 && ret == 0; op = MDB_NEXT) {
		char service[STATE_NAME_MAX + 1], target[STATE_NAME_MAX + 1];
		char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
		uint8_t okind, rec[STATE_REC_MAX];
		state_drain_t d;
		if ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) != 0) {
			break;
		}
		if (state_ovr_key_decode(k.mv_data, k.mv_size, &okind, service, &d.kind, target) <
		            0 ||
		    state_ovr_value_decode(v.mv_data, v.mv_size, &d, origin, note) < 0 ||
		    5 + k.mv_size + v.mv_size > sizeof(rec)) {
			continue; /* counted at load */
		}
		d.service = service;
		d.target = target[0] != '\0' ? target : NULL;
		size_t len = frame(rec, STATE_REC_OVR, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		ret = fn(&d, rec, len, ctx);
	}
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	if (ret != 0) {
		return ret;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : state_mdb_err(rc);
}

/* A growing buffer for the full-state blob. */
struct blob {
	uint8_t *buf;
	size_t len, cap;
	uint32_t count;
};

static int blob_add(struct blob *b, const uint8_t *rec, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap * 2 > b->len + len ? b->cap * 2 : b->len + len + 4096;
		uint8_t *nb = realloc(b->buf, cap);
		if (nb == NULL) {
			return -ENOMEM;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, rec, len);
	b->len += len;
	b->count++;
	return 0;
}

static int add_obs(const state_obs_t *obs, void *ctx)
{
	uint8_t rec[STATE_REC_MAX];
	int n = state_obs_pack(obs, rec, sizeof(rec));
	return n < 0 ? 0 : blob_add(ctx, rec, (size_t)n);
}

static int add_ovr(const state_drain_t *d, const uint8_t *rec, size_t len, void *ctx)
{
	(void)d;
	return blob_add(ctx, rec, len);
}

int state_pack_all(state_t *st, uint8_t **out, size_t *len)
{
	struct blob b = {0};
	uint8_t hdr[BLOB_HDR] = {BLOB_FORMAT};
	int rc = blob_add(&b, hdr, sizeof(hdr));
	if (rc == 0) {
		rc = state_obs_foreach(st, add_obs, &b);
	}
	if (rc == 0) {
		rc = state_ovr_foreach(st, add_ovr, &b);
	}
	if (rc != 0) {
		free(b.buf);
		*out = NULL;
		*len = 0;
		return rc < 0 ? rc : -ENOMEM;
	}
	uint32_t n = b.count - 1;
	b.buf[1] = (uint8_t)(n >> 24);
	b.buf[2] = (uint8_t)(n >> 16);
	b.buf[3] = (uint8_t)(n >> 8);
	b.buf[4] = (uint8_t)n;
	*out = b.buf;
	*len = b.len;
	return 0;
}

int state_merge_all(state_t *st, const uint8_t *buf, size_t len, size_t *changed, size_t *bad)
{
	size_t nchanged = 0, nbad = 0;
	if (buf == NULL || len < BLOB_HDR || buf[0] != BLOB_FORMAT) {
		return -EBADMSG;
	}
	uint32_t count =
	        (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
	size_t off = BLOB_HDR;
	/* Bounded by the count and by the bytes: each record is at least 5 bytes. */
	for (uint32_t i = 0; i < count && len - off >= 5; i++) {
		const uint8_t *p = buf + off;
		size_t klen = (size_t)p[1] << 8 | p[2];
		if (3 + klen + 2 > len - off) {
			break;
		}
		size_t vlen = (size_t)p[3 + klen] << 8 | p[3 + klen + 1];
		size_t rlen = 3 + klen + 2 + vlen;
		if (rlen > len - off) {
			break;
		}
		int rc = state_rec_merge(st, p, rlen, NULL);
		if (rc == -ENOMEM || rc == -ENOSPC || rc == -EIO) {
			return rc;
		}
		nchanged += rc == 1;
		nbad += rc < 0;
		off += rlen;
	}
	if (changed != NULL) {
		*changed = nchanged;
	}
	if (bad != NULL) {
		*bad = nbad + (off != len); /* a cut or trailing record */
	}
	return 0;
}
