/*
 * Binary keys and values of the state store (layout in state.h). Encoders
 * take records already validated by the API; decoders take bytes from disk
 * (or later from peers) and check every length before reading it.
 */
#include "state/state_int.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		*p++ = (uint8_t)(v >> (8 * i));
	}
	return p;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		*p++ = (uint8_t)(v >> (8 * i));
	}
	return p;
}

static uint8_t *put_str8(uint8_t *p, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	*p++ = (uint8_t)n;
	if (n > 0) {
		memcpy(p, s, n);
	}
	return p + n;
}

/* A read cursor with a sticky error, checked once at the end. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool err;
};

static uint64_t get_uint(struct rd *r, size_t n)
{
	uint64_t v = 0;
	if (r->err || r->left < n) {
		r->err = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | r->p[i];
	}
	r->p += n;
	r->left -= n;
	return v;
}

/* A length-prefixed string into out (max bytes + NUL); empty allowed iff allow_empty. */
static void get_str8(struct rd *r, char *out, size_t max, bool allow_empty)
{
	size_t n = (size_t)get_uint(r, 1);
	/* An embedded NUL would name another record than the bytes do: junk. */
	if (r->err || n > max || n > r->left || (n == 0 && !allow_empty) ||
	    memchr(r->p, '\0', n) != NULL) {
		r->err = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
	r->left -= n;
	if (state_check_name(out, max) < 0 && n > 0) {
		r->err = true;
	}
}

size_t state_obs_key_encode(uint8_t *out, const char *observer, const char *endpoint)
{
	uint8_t *p = put_str8(out, observer);
	p = put_str8(p, endpoint);
	return (size_t)(p - out);
}

int state_obs_key_decode(const uint8_t *in, size_t len, char *observer, char *endpoint)
{
	struct rd r = {in, len, false};
	get_str8(&r, observer, STATE_NODE_MAX, false);
	get_str8(&r, endpoint, STATE_NAME_MAX, false);
	return r.err || r.left != 0 ? -EBADMSG : 0;
}

static uint64_t double_bits(double d)
{
	uint64_t u;
	if (isnan(d)) {
		return UINT64_C(0x7ff8000000000000); /* one NaN, so equal records encode equal */
	}
	memcpy(&u, &d, sizeof(u));
	return u;
}

size_t state_obs_value_encode(uint8_t *out, const state_obs_t *obs)
{
	uint8_t *p = out;
	*p++ = 1;
	*p++ = (uint8_t)obs->status;
	p = put_u16(p, 0);
	p = put_u32(p, obs->rise);
	p = put_u32(p, obs->fall);
	p = put_u32(p, obs->rtt_us);
	p = put_u32(p, obs->capacity);
	p = put_u64(p, double_bits(obs->utilization));
	p = put_u64(p, obs->observed_at_ms);
	p = put_u64(p, obs->version);
	AYA_BUG_ON(p != out + OBS_VALUE_LEN);
	/* Extension only when set, so older records keep their exact bytes. */
	size_t elen = obs->error != NULL ? strnlen(obs->error, STATE_ERROR_MAX) : 0;
	if (obs->since_ms == 0 && obs->up_since_ms == 0 && elen == 0) {
		return OBS_VALUE_LEN;
	}
	p = put_u64(p, obs->since_ms);
	p = put_u64(p, obs->up_since_ms);
	*p++ = (uint8_t)elen;
	memcpy(p, obs->error != NULL ? obs->error : "", elen);
	return (size_t)(p + elen - out);
}

int state_obs_value_decode(const uint8_t *in, size_t len, state_obs_t *obs)
{
	char error[STATE_ERROR_MAX + 1];
	int rc = state_obs_value_decode_ext(in, len, obs, error);
	obs->error = NULL;
	return rc;
}

/*
 * Extension fields: present when at least 17 bytes follow the base record;
 * fewer trailing bytes are fields of a later format we do not know, ignored.
 */
static void decode_ext(struct rd *r, state_obs_t *obs, char *error)
{
	obs->since_ms = 0;
	obs->up_since_ms = 0;
	obs->error = error;
	error[0] = '\0';
	if (r->left < 17) {
		return;
	}
	obs->since_ms = get_uint(r, 8);
	obs->up_since_ms = get_uint(r, 8);
	get_str8(r, error, STATE_ERROR_MAX, true);
}

int state_obs_value_decode_ext(const uint8_t *in, size_t len, state_obs_t *obs, char *error)
{
	struct rd r = {in, len, false};
	if (len < OBS_VALUE_LEN || get_uint(&r, 1) != 1) {
		return -EBADMSG;
	}
	uint64_t status = get_uint(&r, 1);
	(void)get_uint(&r, 2); /* reserved flags */
	obs->rise = (uint32_t)get_uint(&r, 4);
	obs->fall = (uint32_t)get_uint(&r, 4);
	obs->rtt_us = (uint32_t)get_uint(&r, 4);
	obs->capacity = (uint32_t)get_uint(&r, 4);
	uint64_t bits = get_uint(&r, 8);
	obs->observed_at_ms = get_uint(&r, 8);
	obs->version = get_uint(&r, 8);
	decode_ext(&r, obs, error);
	memcpy(&obs->utilization, &bits, sizeof(bits));
	if (r.err || status > STATE_ST_DOWN || obs->version == 0) {
		return -EBADMSG;
	}
	if (!isnan(obs->utilization) && !(obs->utilization >= 0.0 && obs->utilization <= 1.0)) {
		return -EBADMSG;
	}
	obs->status = (state_status_t)status;
	return 0;
}

size_t state_ovr_key_encode(uint8_t *out, uint8_t kind, const char *service,
                            state_target_kind_t tkind, const char *target)
{
	uint8_t *p = out;
	*p++ = kind;
	p = put_str8(p, service);
	*p++ = (uint8_t)tkind;
	p = put_str8(p, target);
	return (size_t)(p - out);
}

int state_ovr_key_decode(const uint8_t *in, size_t len, uint8_t *kind, char *service,
                         state_target_kind_t *tkind, char *target)
{
	struct rd r = {in, len, false};
	*kind = (uint8_t)get_uint(&r, 1);
	get_str8(&r, service, STATE_NAME_MAX, false);
	uint64_t tk = get_uint(&r, 1);
	get_str8(&r, target, STATE_NAME_MAX, true);
	if (r.err || r.left != 0 || tk > STATE_TARGET_ADDRESS) {
		return -EBADMSG;
	}
	/* The whole service has no target; a region or address has one. */
	if ((tk == STATE_TARGET_SERVICE) != (target[0] == '\0')) {
		return -EBADMSG;
	}
	*tkind = (state_target_kind_t)tk;
	return 0;
}

size_t state_ovr_value_encode(uint8_t *out, const state_drain_t *d)
{
	uint8_t *p = out;
	*p++ = 1;
	*p++ = d->drained ? 1 : 0;
	p = put_u16(p, 0);
	p = put_u64(p, d->version);
	p = put_u64(p, (uint64_t)d->since_s);
	p = put_str8(p, d->origin);
	p = put_str8(p, d->note);
	if (d->drained && d->until_s > 0) {
		p = put_u64(p, (uint64_t)d->until_s);
	}
	return (size_t)(p - out);
}

int state_ovr_value_decode(const uint8_t *in, size_t len, state_drain_t *d, char *origin,
                           char *note)
{
	struct rd r = {in, len, false};
	if (len < OVR_VALUE_MIN || get_uint(&r, 1) != 1) {
		return -EBADMSG;
	}
	uint64_t flags = get_uint(&r, 1);
	(void)get_uint(&r, 2);
	d->version = get_uint(&r, 8);
	d->since_s = (int64_t)get_uint(&r, 8);
	get_str8(&r, origin, STATE_NODE_MAX, true);
	/* Notes are free text, but still no control characters. */
	get_str8(&r, note, STATE_NOTE_MAX, true);
	/*
	 * A drain's expiry (state_drain_merge rejects a negative one); for a cost
	 * these 8 bytes are its value, which cost.c reads itself.
	 */
	d->until_s = r.left == 8 && !r.err ? (int64_t)get_uint(&r, 8) : 0;
	if (r.err || d->version == 0) {
		return -EBADMSG;
	}
	d->drained = (flags & 1) != 0;
	d->origin = origin;
	d->note = note;
	return 0;
}

int state_lww_cmp(uint64_t va, const uint8_t *a, size_t alen, uint64_t vb, const uint8_t *b,
                  size_t blen)
{
	if (va != vb) {
		return va > vb ? 1 : -1;
	}
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0) {
		return c > 0 ? 1 : -1;
	}
	return alen == blen ? 0 : (alen > blen ? 1 : -1);
}
