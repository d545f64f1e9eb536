/*
 * Load-steering records: the admit fraction and closed flag of one
 * (service, pool), computed by the pool's one controller (its owner) and
 * gossiped to every node (state.h, "steering records"). Kept in memory
 * only: they change every probe interval, a restarted node takes them
 * back from its peers by push/pull, and a single node recomputes them
 * within a TTL. A small array, searched linearly: one entry per pool.
 */
#include "state/state.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "state/state_int.h"

#define STEER_FORMAT 1
#define STEER_VALUE_MIN 21 /* empty origin */
#define STEER_VALUE_MAX (STEER_VALUE_MIN + STATE_NODE_MAX)

struct steer_entry {
	char service[STATE_NAME_MAX + 1];
	char region[STATE_NAME_MAX + 1];
	char origin[STATE_NODE_MAX + 1];
	uint16_t admit_q; /* admit x 10^4 */
	bool closed;
	uint64_t version, at_ms;
};

struct state_steer_tab {
	struct steer_entry *e;
	size_t n, cap;
	state_steer_accept_fn accept;
	state_steer_changed_fn changed;
	void *ctx;
};

uint16_t state_steer_quantize(double admit)
{
	if (isnan(admit) || admit <= 0) {
		return 0;
	}
	if (admit >= 1) {
		return STATE_STEER_ONE;
	}
	return (uint16_t)lround(admit * STATE_STEER_ONE);
}

static struct state_steer_tab *tab(state_t *st)
{
	if (st->steer == NULL) {
		st->steer = calloc(1, sizeof(*st->steer));
	}
	return st->steer;
}

void state_steer_free(state_t *st)
{
	if (st->steer != NULL) {
		free(st->steer->e);
		free(st->steer);
		st->steer = NULL;
	}
}

void state_steer_watch(state_t *st, state_steer_accept_fn accept, state_steer_changed_fn changed,
                       void *ctx)
{
	struct state_steer_tab *t = tab(st);
	if (t != NULL) {
		t->accept = accept;
		t->changed = changed;
		t->ctx = ctx;
	}
}

static struct steer_entry *find(const struct state_steer_tab *t, const char *service,
                                const char *region)
{
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		if (strcmp(t->e[i].service, service) == 0 && strcmp(t->e[i].region, region) == 0) {
			return &t->e[i];
		}
	}
	return NULL;
}

static struct steer_entry *add(struct state_steer_tab *t, const char *service, const char *region)
{
	if (t->n == t->cap) {
		if (t->cap >= STATE_STEER_MAX) {
			return NULL;
		}
		size_t cap = t->cap > 0 ? t->cap * 2 : 16;
		struct steer_entry *e = realloc(t->e, cap * sizeof(*e));
		if (e == NULL) {
			return NULL;
		}
		t->e = e;
		t->cap = cap;
	}
	struct steer_entry *e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->service, service, strlen(service) + 1);
	memcpy(e->region, region, strlen(region) + 1);
	return e;
}

static void to_rec(const struct steer_entry *e, state_steer_t *out)
{
	*out = (state_steer_t){.service = e->service,
	                       .region = e->region,
	                       .admit = (double)e->admit_q / STATE_STEER_ONE,
	                       .closed = e->closed,
	                       .origin = e->origin,
	                       .version = e->version,
	                       .at_ms = e->at_ms};
}

static uint8_t *put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	}
	return p + n;
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

/* The value: u8 format | u8 flags (bit0 closed) | u16 admit x 10^4 | u64 version | u64 at_ms |
 * u8 len | origin. */
static size_t value_encode(uint8_t *out, uint16_t admit_q, bool closed, uint64_t version,
                           uint64_t at_ms, const char *origin)
{
	size_t no = strlen(origin);
	uint8_t *p = out;
	*p++ = STEER_FORMAT;
	*p++ = closed ? 1 : 0;
	p = put_be(p, admit_q, 2);
	p = put_be(p, version, 8);
	p = put_be(p, at_ms, 8);
	*p++ = (uint8_t)no;
	memcpy(p, origin, no);
	return (size_t)(p - out) + no;
}

static size_t entry_value(const struct steer_entry *e, uint8_t *out)
{
	return value_encode(out, e->admit_q, e->closed, e->version, e->at_ms, e->origin);
}

static int check(const state_steer_t *s)
{
	if (s->service == NULL || s->region == NULL ||
	    state_check_name(s->service, STATE_NAME_MAX) < 0 ||
	    state_check_name(s->region, STATE_NAME_MAX) < 0 || s->version == 0 || isnan(s->admit) ||
	    s->admit < 0 || s->admit > 1) {
		return -EINVAL;
	}
	if (s->origin != NULL && s->origin[0] != '\0' &&
	    state_check_name(s->origin, STATE_NODE_MAX) < 0) {
		return -EINVAL;
	}
	return 0;
}

int state_steer_set(state_t *st, const char *service, const char *region, double admit, bool closed,
                    state_steer_t *out)
{
	struct state_steer_tab *t = tab(st);
	if (state_check_name(service, STATE_NAME_MAX) < 0 ||
	    state_check_name(region, STATE_NAME_MAX) < 0 || isnan(admit)) {
		return -EINVAL;
	}
	if (t == NULL) {
		return -ENOMEM;
	}
	uint16_t q = state_steer_quantize(admit);
	struct steer_entry *e = find(t, service, region);
	if (e != NULL && e->admit_q == q && e->closed == closed &&
	    strcmp(e->origin, st->node) == 0) {
		if (out != NULL) {
			to_rec(e, out);
		}
		return 0;
	}
	uint64_t old = e != NULL ? e->version : 0;
	if (e == NULL && (e = add(t, service, region)) == NULL) {
		return -ENOMEM;
	}
	uint64_t v = state_next_version(st);
	if (v <= old) {
		v = old + 1;
		st->last_version = v;
	}
	e->admit_q = q;
	e->closed = closed;
	e->version = v;
	e->at_ms = state_now_ms(st);
	memcpy(e->origin, st->node, strlen(st->node) + 1);
	/* Not st->generation: that tells the replicator to walk the drains, and these go on their
	 * own (gsp_repl_steer_publish). */
	if (out != NULL) {
		to_rec(e, out);
	}
	return 1;
}

int state_steer_merge(state_t *st, const state_steer_t *s)
{
	int rc = check(s);
	if (rc < 0) {
		return rc;
	}
	struct state_steer_tab *t = tab(st);
	if (t == NULL) {
		return -ENOMEM;
	}
	if (t->accept != NULL && !t->accept(s->service, s->region, t->ctx)) {
		return 0; /* not a pool of this node's config */
	}
	const char *origin = s->origin != NULL ? s->origin : "";
	uint16_t q = state_steer_quantize(s->admit);
	struct steer_entry *e = find(t, s->service, s->region);
	if (e != NULL) {
		uint8_t a[STEER_VALUE_MAX], b[STEER_VALUE_MAX];
		size_t na = value_encode(a, q, s->closed, s->version, s->at_ms, origin);
		size_t nb = entry_value(e, b);
		if (state_lww_cmp(s->version, a, na, e->version, b, nb) <= 0) {
			return 0;
		}
	} else if ((e = add(t, s->service, s->region)) == NULL) {
		return 0; /* full: one pool's record waits for the next push/pull */
	}
	e->admit_q = q;
	e->closed = s->closed;
	e->version = s->version;
	e->at_ms = s->at_ms;
	memcpy(e->origin, origin, strlen(origin) + 1);
	if (s->version > st->last_version) {
		st->last_version = s->version; /* our next own record wins over it */
	}
	if (t->changed != NULL) {
		state_steer_t rec;
		to_rec(e, &rec);
		t->changed(&rec, t->ctx);
	}
	return 1;
}

int state_steer_find(const state_t *st, const char *service, const char *region, state_steer_t *out)
{
	const struct steer_entry *e = find(st->steer, service, region);
	if (e == NULL) {
		return -ENOENT;
	}
	to_rec(e, out);
	return 0;
}

size_t state_steer_count(const state_t *st)
{
	return st->steer != NULL ? st->steer->n : 0;
}

int state_steer_foreach(const state_t *st, state_steer_fn fn, void *ctx)
{
	for (size_t i = 0; st->steer != NULL && i < st->steer->n; i++) {
		state_steer_t rec;
		to_rec(&st->steer->e[i], &rec);
		int rc = fn(&rec, ctx);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int state_steer_pack(const state_steer_t *s, uint8_t *out, size_t cap)
{
	if (check(s) < 0) {
		return -EINVAL;
	}
	const char *origin = s->origin != NULL ? s->origin : "";
	uint8_t kb[OVR_KEY_MAX], vb[STEER_VALUE_MAX];
	size_t klen = state_ovr_key_encode(kb, OVR_KIND_STEER, s->service, STATE_TARGET_REGION,
	                                   s->region);
	size_t vlen = value_encode(vb, state_steer_quantize(s->admit), s->closed, s->version,
	                           s->at_ms, origin);
	if (5 + klen + vlen > cap) {
		return -ENOSPC;
	}
	uint8_t *p = out;
	*p++ = STATE_REC_OVR;
	p = put_be(p, klen, 2);
	memcpy(p, kb, klen);
	p += klen;
	p = put_be(p, vlen, 2);
	memcpy(p, vb, vlen);
	return (int)(5 + klen + vlen);
}

int state_steer_merge_kv(state_t *st, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	char service[STATE_NAME_MAX + 1], region[STATE_NAME_MAX + 1], origin[STATE_NODE_MAX + 1];
	uint8_t kind;
	state_target_kind_t tkind;
	if (state_ovr_key_decode(k, klen, &kind, service, &tkind, region) < 0 ||
	    kind != OVR_KIND_STEER || tkind != STATE_TARGET_REGION || vlen < STEER_VALUE_MIN ||
	    v[0] != STEER_FORMAT) {
		return -EBADMSG;
	}
	size_t no = v[20];
	/* Longer values of the same format carry fields of a newer node: ignored. */
	if (no > STATE_NODE_MAX || 21 + no > vlen) {
		return -EBADMSG;
	}
	memcpy(origin, v + 21, no);
	origin[no] = '\0';
	uint64_t q = get_be(v + 2, 2);
	state_steer_t s = {.service = service,
	                   .region = region,
	                   .admit = (double)(q > STATE_STEER_ONE ? STATE_STEER_ONE : q) /
	                            STATE_STEER_ONE,
	                   .closed = (v[1] & 1) != 0,
	                   .origin = origin,
	                   .version = get_be(v + 4, 8),
	                   .at_ms = get_be(v + 12, 8)};
	if (q > STATE_STEER_ONE) {
		return -EBADMSG;
	}
	int rc = state_steer_merge(st, &s);
	return rc == -EINVAL ? -EBADMSG : rc;
}
