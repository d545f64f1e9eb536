/*
 * Gossip records: observations and overrides in the store's own key/value
 * encodings, framed for the wire (format in state.h). Everything decoded here
 * came from a peer: lengths are checked before every read, fields are
 * validated by the same decoders that read the disk, and a bad record is
 * refused before it reaches the merge.
 */
#include "state/state.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state/state_int.h"
#include "common/hash.h"

#define BLOB_FORMAT 1
#define BLOB_HDR 5

size_t state_rec_frame(uint8_t *out, state_rec_kind_t kind, const uint8_t *k, size_t klen,
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
	return (int)state_rec_frame(out, STATE_REC_OBS, kb, klen, vb, vlen);
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

static uint8_t *put_str(uint8_t *p, const char *s, size_t n)
{
	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

int state_drain_pack(const state_drain_t *d, uint8_t *out, size_t cap)
{
	const char *target = d->target != NULL ? d->target : "";
	const char *origin = d->origin != NULL ? d->origin : "";
	const char *note = d->note != NULL ? d->note : "";
	size_t ns = d->service != NULL ? strlen(d->service) : 0, nt = strlen(target);
	size_t no = strlen(origin), nn = strlen(note);
	if (ns == 0 || ns > STATE_NAME_MAX || nt > STATE_NAME_MAX || no > STATE_NODE_MAX ||
	    nn > STATE_NOTE_MAX || d->version == 0 || (unsigned)d->kind > STATE_TARGET_ADDRESS ||
	    (d->kind == STATE_TARGET_SERVICE) != (nt == 0) || d->since_s < 0 ||
	    d->version > INT64_MAX) {
		return -EINVAL;
	}
	if (d->drained && d->until_s > 0) {
		return -ENOTSUP;
	}
	if (2 + 4 + ns + nt + no + nn + 20 > cap) {
		return -ENOSPC;
	}
	uint8_t *p = out;
	*p++ = (uint8_t)(STATE_REC_DRAIN | (d->drained ? 1 : 0) | (unsigned)d->kind << 1 |
	                 (nn > 0 ? 8 : 0));
	p = put_str(p, d->service, ns);
	if (nt > 0) {
		p = put_str(p, target, nt);
	}
	p = put_varint(p, d->version);
	/* since_s is nearly always the version's second: a one-byte delta. */
	int64_t delta = (int64_t)(d->version / 1000) - d->since_s;
	p = put_varint(p, ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63));
	p = put_str(p, origin, no);
	if (nn > 0) {
		p = put_str(p, note, nn);
	}
	return (int)(p - out);
}

/* A read cursor over a peer's bytes with a sticky error. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool err;
};

static uint64_t get_varint(struct cur *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (c->err || c->left == 0) {
			break;
		}
		uint8_t b = *c->p++;
		c->left--;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			return v;
		}
	}
	c->err = true;
	return 0;
}

/* u8 length and bytes into out[max + 1]; names are checked like the store's. */
static void get_str(struct cur *c, char *out, size_t max, bool allow_empty, bool check)
{
	size_t n = c->left > 0 && !c->err ? c->p[0] : 0;
	if (c->err || c->left == 0 || n > max || n + 1 > c->left || (n == 0 && !allow_empty) ||
	    memchr(c->p + 1, '\0', n) != NULL) {
		c->err = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, c->p + 1, n);
	out[n] = '\0';
	c->p += n + 1;
	c->left -= n + 1;
	if (check && n > 0 && state_check_name(out, max) < 0) {
		c->err = true;
	}
}

static int merge_drain(state_t *st, const uint8_t *rec, size_t len)
{
	char service[STATE_NAME_MAX + 1], target[STATE_NAME_MAX + 1];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	struct cur c = {rec + 1, len - 1, false};
	unsigned flags = rec[0] & 0x0f, tkind = flags >> 1 & 3;
	get_str(&c, service, STATE_NAME_MAX, false, true);
	target[0] = '\0';
	if (tkind != STATE_TARGET_SERVICE) {
		get_str(&c, target, STATE_NAME_MAX, false, true);
	}
	uint64_t version = get_varint(&c);
	uint64_t zz = get_varint(&c);
	get_str(&c, origin, STATE_NODE_MAX, true, true);
	note[0] = '\0';
	if (flags & 8) {
		get_str(&c, note, STATE_NOTE_MAX, false, true);
	}
	if (c.err || c.left != 0 || version == 0 || version > INT64_MAX ||
	    tkind > STATE_TARGET_ADDRESS) {
		return -EBADMSG;
	}
	int64_t delta = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1), since_s;
	if (__builtin_sub_overflow((int64_t)(version / 1000), delta, &since_s) || since_s < 0) {
		return -EBADMSG;
	}
	state_drain_t d = {.service = service,
	                   .target = target[0] != '\0' ? target : NULL,
	                   .kind = (state_target_kind_t)tkind,
	                   .drained = (flags & 1) != 0,
	                   .since_s = since_s,
	                   .version = version,
	                   .origin = origin,
	                   .note = note};
	int rc = state_drain_merge(st, &d);
	return rc == -EINVAL || rc == -ENAMETOOLONG ? -EBADMSG : rc;
}

int state_rec_merge(state_t *st, const uint8_t *rec, size_t len, state_rec_kind_t *kind)
{
	const uint8_t *k, *v;
	size_t klen, vlen;
	uint8_t rk;
	if (rec == NULL || len == 0) {
		return -EBADMSG;
	}
	if ((rec[0] & 0xf0) == STATE_REC_DRAIN) {
		if (kind != NULL) {
			*kind = STATE_REC_DRAIN;
		}
		return merge_drain(st, rec, len);
	}
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
		if (klen > 0 && k[0] == OVR_KIND_COST) {
			return state_cost_merge_kv(st, k, klen, v, vlen);
		}
		if (klen > 0 && k[0] == OVR_KIND_STEER) {
			return state_steer_merge_kv(st, k, klen, v, vlen);
		}
		return merge_ovr(st, k, klen, v, vlen);
	default:
		/* A kind from a newer node: not ours to judge, and not an error. */
		return 0;
	}
}

struct ovr_walk {
	state_ovr_fn fn;
	void *ctx;
};

static int ovr_rec(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct ovr_walk *w = arg;
	char service[STATE_NAME_MAX + 1], target[STATE_NAME_MAX + 1];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	uint8_t okind, rec[STATE_REC_MAX];
	state_drain_t d;
	if (state_ovr_key_decode(k->mv_data, k->mv_size, &okind, service, &d.kind, target) < 0 ||
	    state_ovr_value_decode(v->mv_data, v->mv_size, &d, origin, note) < 0 ||
	    okind != OVR_KIND_DRAIN || 5 + k->mv_size + v->mv_size > sizeof(rec)) {
		return 0; /* counted at load, or a cost (state_cost_foreach) */
	}
	d.service = service;
	d.target = target[0] != '\0' ? target : NULL;
	size_t len =
	        state_rec_frame(rec, STATE_REC_OVR, k->mv_data, k->mv_size, v->mv_data, v->mv_size);
	return w->fn(&d, rec, len, w->ctx);
}

int state_ovr_foreach(state_t *st, state_ovr_fn fn, void *ctx)
{
	struct ovr_walk w = {.fn = fn, .ctx = ctx};
	return state_mdb_walk(st, st->dbi_ovr, ovr_rec, &w);
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

static int add_cost(const state_cost_t *c, const uint8_t *rec, size_t len, void *ctx)
{
	(void)c;
	return blob_add(ctx, rec, len);
}

static int add_steer(const state_steer_t *s, void *ctx)
{
	uint8_t rec[STATE_REC_MAX];
	int n = state_steer_pack(s, rec, sizeof(rec));
	return n < 0 ? 0 : blob_add(ctx, rec, (size_t)n);
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
	if (rc == 0) {
		rc = state_cost_foreach(st, add_cost, &b);
	}
	if (rc == 0) {
		rc = state_steer_foreach(st, add_steer, &b);
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

/* The next whole record of a blob at *off (advanced), or 0 when none is whole. */
static size_t blob_next(const uint8_t *buf, size_t len, size_t *off)
{
	if (len - *off < 5) {
		return 0;
	}
	const uint8_t *p = buf + *off;
	size_t klen = (size_t)p[1] << 8 | p[2];
	if (3 + klen + 2 > len - *off) {
		return 0;
	}
	size_t vlen = (size_t)p[3 + klen] << 8 | p[3 + klen + 1];
	size_t rlen = 3 + klen + 2 + vlen;
	if (rlen > len - *off) {
		return 0;
	}
	*off += rlen;
	return rlen;
}

static uint32_t blob_count(const uint8_t *buf)
{
	return (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
}

int state_merge_all(state_t *st, const uint8_t *buf, size_t len, size_t *changed, size_t *bad)
{
	size_t nchanged = 0, nbad = 0;
	if (buf == NULL || len < BLOB_HDR || buf[0] != BLOB_FORMAT) {
		return -EBADMSG;
	}
	uint32_t count = blob_count(buf);
	size_t off = BLOB_HDR, rlen;
	/* Bounded by the count and by the bytes: each record is at least 5 bytes. */
	for (uint32_t i = 0; i < count && (rlen = blob_next(buf, len, &off)) > 0; i++) {
		int rc = state_rec_merge(st, buf + off - rlen, rlen, NULL);
		if (rc == -ENOMEM || rc == -ENOSPC || rc == -EIO) {
			return rc;
		}
		nchanged += rc == 1;
		nbad += rc < 0;
	}
	if (changed != NULL) {
		*changed = nchanged;
	}
	if (bad != NULL) {
		*bad = nbad + (off != len); /* a cut or trailing record */
	}
	return 0;
}

/*
 * The peer's records as a set of byte strings: open addressing on FNV-1a of
 * the whole record. A record of ours that is in the set, byte for byte,
 * would change nothing there, so the delta leaves it out.
 */
struct recset {
	const uint8_t **rec;
	size_t *len;
	size_t mask;
};

static int recset_build(struct recset *s, const uint8_t *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	if (buf == NULL || len < BLOB_HDR || buf[0] != BLOB_FORMAT) {
		return 0; /* nothing known of the peer: it gets everything */
	}
	/* Each record is at least 5 bytes: the count cannot be larger than that allows. */
	size_t count = blob_count(buf), most = (len - BLOB_HDR) / 5;
	count = count < most ? count : most;
	size_t cap = 16;
	while (cap < 2 * count) {
		cap *= 2;
	}
	s->rec = calloc(cap, sizeof(*s->rec));
	s->len = calloc(cap, sizeof(*s->len));
	if (s->rec == NULL || s->len == NULL) {
		free(s->rec);
		free(s->len);
		return -ENOMEM;
	}
	s->mask = cap - 1;
	size_t off = BLOB_HDR, rlen;
	for (size_t i = 0; i < count && (rlen = blob_next(buf, len, &off)) > 0; i++) {
		const uint8_t *r = buf + off - rlen;
		size_t j = aya_fnv1a(AYA_FNV_OFFSET, r, rlen) & s->mask;
		while (s->rec[j] != NULL) {
			j = (j + 1) & s->mask;
		}
		s->rec[j] = r;
		s->len[j] = rlen;
	}
	return 0;
}

static bool recset_has(const struct recset *s, const uint8_t *r, size_t n)
{
	if (s->rec == NULL) {
		return false;
	}
	for (size_t j = aya_fnv1a(AYA_FNV_OFFSET, r, n) & s->mask; s->rec[j] != NULL;
	     j = (j + 1) & s->mask) {
		if (s->len[j] == n && memcmp(s->rec[j], r, n) == 0) {
			return true;
		}
	}
	return false;
}

int state_pack_delta(state_t *st, const uint8_t *peer, size_t peer_len, uint8_t **out, size_t *len)
{
	uint8_t *all = NULL;
	size_t alen = 0;
	struct recset set;
	*out = NULL;
	*len = 0;
	int rc = state_pack_all(st, &all, &alen);
	if (rc != 0) {
		return rc;
	}
	if ((rc = recset_build(&set, peer, peer_len)) != 0) {
		free(all);
		return rc;
	}
	/* Filter in place: kept records only move towards the front. */
	uint32_t count = blob_count(all), kept = 0;
	size_t off = BLOB_HDR, w = BLOB_HDR, rlen;
	for (uint32_t i = 0; i < count && (rlen = blob_next(all, alen, &off)) > 0; i++) {
		const uint8_t *r = all + off - rlen;
		if (!recset_has(&set, r, rlen)) {
			memmove(all + w, r, rlen);
			w += rlen;
			kept++;
		}
	}
	free(set.rec);
	free(set.len);
	all[1] = (uint8_t)(kept >> 24);
	all[2] = (uint8_t)(kept >> 16);
	all[3] = (uint8_t)(kept >> 8);
	all[4] = (uint8_t)kept;
	*out = all;
	*len = w;
	return 0;
}
