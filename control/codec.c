/*
 * Control protocol codec: frames (4-byte big-endian length) and the
 * conversion between protobuf-c messages (proto/ctl.proto) and ctl_reply_t.
 * protobuf-c objects live only inside these functions. Decoders take bytes
 * from a peer: they validate and never assert.
 */
#include "control/control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ctl.pb-c.h"

static const char *const cmd_names[CTL_CMD_COUNT] = {
        [CTL_CMD_STATUS] = "status",
        [CTL_CMD_RELOAD] = "reload",
};

int ctl_cmd_parse(const char *name, ctl_cmd_t *out)
{
	for (int i = 0; i < CTL_CMD_COUNT; i++) {
		if (strcmp(name, cmd_names[i]) == 0) {
			*out = (ctl_cmd_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *ctl_cmd_name(ctl_cmd_t cmd)
{
	return (unsigned)cmd < CTL_CMD_COUNT ? cmd_names[cmd] : "unknown";
}

int ctl_frame_check(const uint8_t *buf, size_t len, size_t max, size_t *body_len)
{
	if (len < CTL_FRAME_HDR) {
		return 0;
	}
	size_t n = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
	*body_len = n;
	if (n > max) {
		return -EMSGSIZE;
	}
	return len - CTL_FRAME_HDR >= n ? 1 : 0;
}

void ctl_frame_header(uint8_t hdr[CTL_FRAME_HDR], size_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

/* Pack msg behind a frame header into a new buffer. */
static int frame_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > CTL_FRAME_MAX) {
		return -EMSGSIZE;
	}
	uint8_t *buf = malloc(CTL_FRAME_HDR + n);
	if (buf == NULL) {
		return -ENOMEM;
	}
	ctl_frame_header(buf, n);
	protobuf_c_message_pack(msg, buf + CTL_FRAME_HDR);
	*out = buf;
	*len = CTL_FRAME_HDR + n;
	return 0;
}

int ctl_request_frame(ctl_cmd_t cmd, uint8_t **out, size_t *len)
{
	Aya__Ctl__Request req = AYA__CTL__REQUEST__INIT;
	Aya__Ctl__StatusRequest status = AYA__CTL__STATUS_REQUEST__INIT;
	Aya__Ctl__ReloadRequest reload = AYA__CTL__RELOAD_REQUEST__INIT;
	req.version = CTL_VERSION;
	switch (cmd) {
	case CTL_CMD_STATUS:
		req.cmd_case = AYA__CTL__REQUEST__CMD_STATUS;
		req.status = &status;
		break;
	case CTL_CMD_RELOAD:
		req.cmd_case = AYA__CTL__REQUEST__CMD_RELOAD;
		req.reload = &reload;
		break;
	default:
		return -EINVAL;
	}
	return frame_pack(&req.base, out, len);
}

int ctl_request_decode(const uint8_t *buf, size_t len, ctl_cmd_t *cmd)
{
	Aya__Ctl__Request *req = aya__ctl__request__unpack(NULL, len, buf);
	if (req == NULL) {
		return -EBADMSG;
	}
	int rc = 0;
	switch (req->cmd_case) {
	case AYA__CTL__REQUEST__CMD_STATUS:
		*cmd = CTL_CMD_STATUS;
		break;
	case AYA__CTL__REQUEST__CMD_RELOAD:
		*cmd = CTL_CMD_RELOAD;
		break;
	default:
		/* Newer client, or none given. */
		rc = -ENOTSUP;
		break;
	}
	aya__ctl__request__free_unpacked(req, NULL);
	return rc;
}

/* ---- reply encoding: Aya values to protobuf-c messages in a scratch arena ---- */

static char *pstr(const char *s)
{
	/* protobuf-c writes char *; proto3 skips empty strings. */
	return (char *)(s != NULL ? s : "");
}

static Aya__Ctl__Zone **zones_to_pb(aya_arena_t *a, const ctl_zone_t *z, size_t n)
{
	Aya__Ctl__Zone **v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	Aya__Ctl__Zone *items = aya_arena_alloc(a, (n + 1) * sizeof(*items));
	if (v == NULL || items == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		aya__ctl__zone__init(&items[i]);
		items[i].name = pstr(z[i].name);
		items[i].serial = z[i].serial;
		items[i].records = z[i].records;
		v[i] = &items[i];
	}
	return v;
}

static Aya__Ctl__StatusReply *status_to_pb(aya_arena_t *a, const ctl_status_t *s)
{
	Aya__Ctl__StatusReply *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__Counter *ctr = aya_arena_alloc(a, (s->n_counters + 1) * sizeof(*ctr));
	Aya__Ctl__Counter **ctrv = aya_arena_alloc(a, (s->n_counters + 1) * sizeof(*ctrv));
	char **listen = aya_arena_alloc(a, (s->n_listen + 1) * sizeof(*listen));
	if (p == NULL || ctr == NULL || ctrv == NULL || listen == NULL) {
		return NULL;
	}
	aya__ctl__status_reply__init(p);
	p->node = pstr(s->node);
	p->region = pstr(s->region);
	p->version = pstr(s->version);
	p->uptime_s = s->uptime_s;
	p->zones = zones_to_pb(a, s->zones, s->n_zones);
	if (p->zones == NULL) {
		return NULL;
	}
	p->n_zones = s->n_zones;
	p->queries = s->queries;
	for (size_t i = 0; i < s->n_counters; i++) {
		aya__ctl__counter__init(&ctr[i]);
		ctr[i].name = pstr(s->counters[i].name);
		ctr[i].value = s->counters[i].value;
		ctrv[i] = &ctr[i];
	}
	p->counters = ctrv;
	p->n_counters = s->n_counters;
	p->workers = s->workers;
	for (size_t i = 0; i < s->n_listen; i++) {
		listen[i] = pstr(s->listen[i]);
	}
	p->listen = listen;
	p->n_listen = s->n_listen;
	p->last_reload_time = s->last_reload_time;
	p->last_reload_ok = s->last_reload_ok;
	p->last_reload_message = pstr(s->last_reload_message);
	p->snapshot_bytes = s->snapshot_bytes;
	return p;
}

static Aya__Ctl__ReloadReply *reload_to_pb(aya_arena_t *a, const ctl_reload_t *r)
{
	Aya__Ctl__ReloadReply *p = aya_arena_alloc(a, sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	aya__ctl__reload_reply__init(p);
	p->diagnostics = pstr(r->diagnostics);
	p->zones = zones_to_pb(a, r->zones, r->n_zones);
	p->n_zones = r->n_zones;
	return p->zones != NULL ? p : NULL;
}

int ctl_reply_frame(const ctl_reply_t *r, uint8_t **out, size_t *len)
{
	aya_arena_t *a = aya_arena_new();
	if (a == NULL) {
		return -ENOMEM;
	}
	Aya__Ctl__Reply rep = AYA__CTL__REPLY__INIT;
	rep.version = CTL_VERSION;
	rep.ok = r->ok;
	rep.error = pstr(r->error);
	int rc = -ENOMEM;
	switch (r->cmd) {
	case CTL_CMD_STATUS:
		rep.body_case = AYA__CTL__REPLY__BODY_STATUS;
		rep.status = status_to_pb(a, &r->status);
		if (rep.status == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_RELOAD:
		rep.body_case = AYA__CTL__REPLY__BODY_RELOAD;
		rep.reload = reload_to_pb(a, &r->reload);
		if (rep.reload == NULL) {
			goto out;
		}
		break;
	default:
		/* No body: an error reply to an unknown command. */
		break;
	}
	rc = frame_pack(&rep.base, out, len);
out:
	aya_arena_free(a);
	return rc;
}

/* ---- reply decoding: protobuf-c messages to Aya values in the reply's arena ---- */

static const char *dup(aya_arena_t *a, const char *s, bool *oom)
{
	char *d = aya_arena_strdup(a, s != NULL ? s : "");
	if (d == NULL) {
		*oom = true;
	}
	return d;
}

static const ctl_zone_t *zones_from_pb(aya_arena_t *a, Aya__Ctl__Zone **z, size_t n, bool *oom)
{
	ctl_zone_t *v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	if (v == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].name = dup(a, z[i]->name, oom);
		v[i].serial = z[i]->serial;
		v[i].records = z[i]->records;
	}
	return v;
}

static void status_from_pb(aya_arena_t *a, const Aya__Ctl__StatusReply *p, ctl_status_t *s,
                           bool *oom)
{
	s->node = dup(a, p->node, oom);
	s->region = dup(a, p->region, oom);
	s->version = dup(a, p->version, oom);
	s->uptime_s = p->uptime_s;
	s->zones = zones_from_pb(a, p->zones, p->n_zones, oom);
	s->n_zones = p->n_zones;
	s->queries = p->queries;
	ctl_counter_t *ctr = aya_arena_alloc(a, (p->n_counters + 1) * sizeof(*ctr));
	const char **listen = aya_arena_alloc(a, (p->n_listen + 1) * sizeof(*listen));
	if (ctr == NULL || listen == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_counters; i++) {
		ctr[i].name = dup(a, p->counters[i]->name, oom);
		ctr[i].value = p->counters[i]->value;
	}
	s->counters = ctr;
	s->n_counters = p->n_counters;
	for (size_t i = 0; i < p->n_listen; i++) {
		listen[i] = dup(a, p->listen[i], oom);
	}
	s->listen = listen;
	s->n_listen = p->n_listen;
	s->workers = p->workers;
	s->last_reload_time = p->last_reload_time;
	s->last_reload_ok = p->last_reload_ok;
	s->last_reload_message = dup(a, p->last_reload_message, oom);
	s->snapshot_bytes = p->snapshot_bytes;
}

int ctl_reply_decode(const uint8_t *buf, size_t len, ctl_reply_t **out)
{
	*out = NULL;
	Aya__Ctl__Reply *p = aya__ctl__reply__unpack(NULL, len, buf);
	if (p == NULL) {
		return -EBADMSG;
	}
	aya_arena_t *a = aya_arena_new();
	ctl_reply_t *r = a != NULL ? aya_arena_alloc(a, sizeof(*r)) : NULL;
	if (r == NULL) {
		aya_arena_free(a);
		aya__ctl__reply__free_unpacked(p, NULL);
		return -ENOMEM;
	}
	bool oom = false;
	r->arena = a;
	r->version = p->version;
	r->ok = p->ok;
	r->error = dup(a, p->error, &oom);
	switch (p->body_case) {
	case AYA__CTL__REPLY__BODY_STATUS:
		r->cmd = CTL_CMD_STATUS;
		status_from_pb(a, p->status, &r->status, &oom);
		break;
	case AYA__CTL__REPLY__BODY_RELOAD:
		r->cmd = CTL_CMD_RELOAD;
		r->reload.diagnostics = dup(a, p->reload->diagnostics, &oom);
		r->reload.zones = zones_from_pb(a, p->reload->zones, p->reload->n_zones, &oom);
		r->reload.n_zones = p->reload->n_zones;
		break;
	default:
		/* A body we do not know (newer server) or none: only ok/error count. */
		r->cmd = CTL_CMD_COUNT;
		break;
	}
	aya__ctl__reply__free_unpacked(p, NULL);
	if (oom) {
		aya_arena_free(a);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void ctl_reply_free(ctl_reply_t *r)
{
	if (r != NULL) {
		aya_arena_free(r->arena);
	}
}
