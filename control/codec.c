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

#include "control/control_int.h"

static const char *const cmd_names[CTL_CMD_COUNT] = {
        [CTL_CMD_STATUS] = "status",     [CTL_CMD_RELOAD] = "reload",
        [CTL_CMD_SERVICES] = "services", [CTL_CMD_DRAIN] = "drain",
        [CTL_CMD_UNDRAIN] = "undrain",   [CTL_CMD_EXPLAIN] = "explain",
        [CTL_CMD_BACKENDS] = "backends", [CTL_CMD_MEMBERS] = "members",
        [CTL_CMD_KEYRING] = "keyring",   [CTL_CMD_COST] = "cost",
        [CTL_CMD_TOP] = "top",           [CTL_CMD_LOG_LEVEL] = "log-level",
        [CTL_CMD_DNSSEC] = "dnssec",
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

int ctl_request_frame(const ctl_request_t *r, uint8_t **out, size_t *len)
{
	Aya__Ctl__Request req = AYA__CTL__REQUEST__INIT;
	Aya__Ctl__StatusRequest status = AYA__CTL__STATUS_REQUEST__INIT;
	Aya__Ctl__ReloadRequest reload = AYA__CTL__RELOAD_REQUEST__INIT;
	Aya__Ctl__ServicesRequest services = AYA__CTL__SERVICES_REQUEST__INIT;
	Aya__Ctl__DrainRequest drain = AYA__CTL__DRAIN_REQUEST__INIT;
	Aya__Ctl__ExplainRequest explain = AYA__CTL__EXPLAIN_REQUEST__INIT;
	Aya__Ctl__BackendsRequest backends = AYA__CTL__BACKENDS_REQUEST__INIT;
	Aya__Ctl__MembersRequest members = AYA__CTL__MEMBERS_REQUEST__INIT;
	Aya__Ctl__KeyringRequest keyring = AYA__CTL__KEYRING_REQUEST__INIT;
	Aya__Ctl__CostRequest cost = AYA__CTL__COST_REQUEST__INIT;
	Aya__Ctl__LogLevelRequest log_level = AYA__CTL__LOG_LEVEL_REQUEST__INIT;
	Aya__Ctl__TopRequest top = AYA__CTL__TOP_REQUEST__INIT;
	Aya__Ctl__DnssecRequest dnssec = AYA__CTL__DNSSEC_REQUEST__INIT;
	req.version = CTL_VERSION;
	drain.service = ctl_pstr(r->service);
	drain.target = ctl_pstr(r->target);
	drain.reason = ctl_pstr(r->reason);
	drain.for_s = r->for_s;
	switch (r->cmd) {
	case CTL_CMD_STATUS:
		req.cmd_case = AYA__CTL__REQUEST__CMD_STATUS;
		req.status = &status;
		break;
	case CTL_CMD_RELOAD:
		req.cmd_case = AYA__CTL__REQUEST__CMD_RELOAD;
		req.reload = &reload;
		break;
	case CTL_CMD_SERVICES:
		req.cmd_case = AYA__CTL__REQUEST__CMD_SERVICES;
		req.services = &services;
		break;
	case CTL_CMD_DRAIN:
		req.cmd_case = AYA__CTL__REQUEST__CMD_DRAIN;
		req.drain = &drain;
		break;
	case CTL_CMD_UNDRAIN:
		req.cmd_case = AYA__CTL__REQUEST__CMD_UNDRAIN;
		req.undrain = &drain;
		break;
	case CTL_CMD_EXPLAIN:
		req.cmd_case = AYA__CTL__REQUEST__CMD_EXPLAIN;
		explain.name = ctl_pstr(r->name);
		explain.client = ctl_pstr(r->client);
		explain.has_subnet = r->has_subnet;
		explain.subnet = r->subnet;
		explain.qtype = r->qtype;
		req.explain = &explain;
		break;
	case CTL_CMD_BACKENDS:
		req.cmd_case = AYA__CTL__REQUEST__CMD_BACKENDS;
		backends.service = ctl_pstr(r->service);
		req.backends = &backends;
		break;
	case CTL_CMD_MEMBERS:
		req.cmd_case = AYA__CTL__REQUEST__CMD_MEMBERS;
		req.members = &members;
		break;
	case CTL_CMD_KEYRING:
		req.cmd_case = AYA__CTL__REQUEST__CMD_KEYRING;
		keyring.op = ctl_pstr(r->keyring_op);
		keyring.key = ctl_pstr(r->key);
		keyring.force = r->force;
		req.keyring = &keyring;
		break;
	case CTL_CMD_COST:
		req.cmd_case = AYA__CTL__REQUEST__CMD_COST;
		cost.region = ctl_pstr(r->region);
		cost.reset = r->cost_reset;
		cost.value = r->cost;
		req.cost = &cost;
		break;
	case CTL_CMD_LOG_LEVEL:
		req.cmd_case = AYA__CTL__REQUEST__CMD_LOG_LEVEL;
		log_level.level = ctl_pstr(r->level);
		req.log_level = &log_level;
		break;
	case CTL_CMD_TOP:
		req.cmd_case = AYA__CTL__REQUEST__CMD_TOP;
		req.top = &top;
		break;
	case CTL_CMD_DNSSEC:
		req.cmd_case = AYA__CTL__REQUEST__CMD_DNSSEC;
		dnssec.op = ctl_pstr(r->dnssec_op);
		dnssec.zone = ctl_pstr(r->zone);
		dnssec.tag = r->tag;
		dnssec.role = ctl_pstr(r->role);
		req.dnssec = &dnssec;
		break;
	default:
		return -EINVAL;
	}
	return frame_pack(&req.base, out, len);
}

static void drain_req_from_pb(aya_arena_t *a, const Aya__Ctl__DrainRequest *p, ctl_request_t *r,
                              bool *oom)
{
	r->service = ctl_dup(a, p->service, oom);
	r->target = ctl_dup(a, p->target, oom);
	r->reason = ctl_dup(a, p->reason, oom);
	r->for_s = p->for_s;
}

int ctl_request_decode(const uint8_t *buf, size_t len, aya_arena_t *a, ctl_request_t *out)
{
	*out = (ctl_request_t){.cmd = CTL_CMD_COUNT};
	Aya__Ctl__Request *req = aya__ctl__request__unpack(NULL, len, buf);
	if (req == NULL) {
		return -EBADMSG;
	}
	int rc = 0;
	bool oom = false;
	switch (req->cmd_case) {
	case AYA__CTL__REQUEST__CMD_STATUS:
		out->cmd = CTL_CMD_STATUS;
		break;
	case AYA__CTL__REQUEST__CMD_RELOAD:
		out->cmd = CTL_CMD_RELOAD;
		break;
	case AYA__CTL__REQUEST__CMD_SERVICES:
		out->cmd = CTL_CMD_SERVICES;
		break;
	case AYA__CTL__REQUEST__CMD_DRAIN:
		out->cmd = CTL_CMD_DRAIN;
		drain_req_from_pb(a, req->drain, out, &oom);
		break;
	case AYA__CTL__REQUEST__CMD_UNDRAIN:
		out->cmd = CTL_CMD_UNDRAIN;
		drain_req_from_pb(a, req->undrain, out, &oom);
		break;
	case AYA__CTL__REQUEST__CMD_EXPLAIN:
		out->cmd = CTL_CMD_EXPLAIN;
		out->name = ctl_dup(a, req->explain->name, &oom);
		out->client = ctl_dup(a, req->explain->client, &oom);
		out->has_subnet = req->explain->has_subnet;
		out->subnet = req->explain->subnet;
		/* A qtype that does not fit is left for the handler to reject. */
		out->qtype = req->explain->qtype > UINT16_MAX ? UINT16_MAX
		                                              : (uint16_t)req->explain->qtype;
		break;
	case AYA__CTL__REQUEST__CMD_BACKENDS:
		out->cmd = CTL_CMD_BACKENDS;
		out->service = ctl_dup(a, req->backends->service, &oom);
		break;
	case AYA__CTL__REQUEST__CMD_MEMBERS:
		out->cmd = CTL_CMD_MEMBERS;
		break;
	case AYA__CTL__REQUEST__CMD_KEYRING:
		out->cmd = CTL_CMD_KEYRING;
		out->keyring_op = ctl_dup(a, req->keyring->op, &oom);
		out->key = ctl_dup(a, req->keyring->key, &oom);
		out->force = req->keyring->force;
		break;
	case AYA__CTL__REQUEST__CMD_COST:
		out->cmd = CTL_CMD_COST;
		out->region = ctl_dup(a, req->cost->region, &oom);
		out->cost_reset = req->cost->reset;
		out->cost = req->cost->value;
		break;
	case AYA__CTL__REQUEST__CMD_LOG_LEVEL:
		out->cmd = CTL_CMD_LOG_LEVEL;
		out->level = ctl_dup(a, req->log_level->level, &oom);
		break;
	case AYA__CTL__REQUEST__CMD_TOP:
		out->cmd = CTL_CMD_TOP;
		break;
	case AYA__CTL__REQUEST__CMD_DNSSEC:
		out->cmd = CTL_CMD_DNSSEC;
		out->dnssec_op = ctl_dup(a, req->dnssec->op, &oom);
		out->zone = ctl_dup(a, req->dnssec->zone, &oom);
		out->tag = req->dnssec->tag;
		out->role = ctl_dup(a, req->dnssec->role, &oom);
		break;
	default:
		/* Newer client, or none given. */
		rc = -ENOTSUP;
		break;
	}
	aya__ctl__request__free_unpacked(req, NULL);
	return oom ? -ENOMEM : rc;
}

/* ---- reply encoding: Aya values to protobuf-c messages in a scratch arena ---- */

static Aya__Ctl__Zone **zones_to_pb(aya_arena_t *a, const ctl_zone_t *z, size_t n)
{
	Aya__Ctl__Zone **v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	Aya__Ctl__Zone *items = aya_arena_alloc(a, (n + 1) * sizeof(*items));
	if (v == NULL || items == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		aya__ctl__zone__init(&items[i]);
		items[i].name = ctl_pstr(z[i].name);
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
	p->node = ctl_pstr(s->node);
	p->region = ctl_pstr(s->region);
	p->version = ctl_pstr(s->version);
	p->uptime_s = s->uptime_s;
	p->zones = zones_to_pb(a, s->zones, s->n_zones);
	if (p->zones == NULL) {
		return NULL;
	}
	p->n_zones = s->n_zones;
	p->queries = s->queries;
	for (size_t i = 0; i < s->n_counters; i++) {
		aya__ctl__counter__init(&ctr[i]);
		ctr[i].name = ctl_pstr(s->counters[i].name);
		ctr[i].value = s->counters[i].value;
		ctrv[i] = &ctr[i];
	}
	p->counters = ctrv;
	p->n_counters = s->n_counters;
	p->workers = s->workers;
	for (size_t i = 0; i < s->n_listen; i++) {
		listen[i] = ctl_pstr(s->listen[i]);
	}
	p->listen = listen;
	p->n_listen = s->n_listen;
	p->last_reload_time = s->last_reload_time;
	p->last_reload_ok = s->last_reload_ok;
	p->last_reload_message = ctl_pstr(s->last_reload_message);
	p->snapshot_bytes = s->snapshot_bytes;
	p->services = s->services;
	p->drains = s->drains;
	p->geo_database = ctl_pstr(s->geo_database);
	p->geo_build_ms = s->geo_build_ms;
	p->geo_nodes = s->geo_nodes;
	p->geo_mmdb_nodes = s->geo_mmdb_nodes;
	p->policy_bytes = s->policy_bytes;
	p->gossip = ctl_gossip_status_to_pb(a, &s->gossip);
	return p->gossip != NULL ? p : NULL;
}

static Aya__Ctl__ReloadReply *reload_to_pb(aya_arena_t *a, const ctl_reload_t *r)
{
	Aya__Ctl__ReloadReply *p = aya_arena_alloc(a, sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	aya__ctl__reload_reply__init(p);
	p->diagnostics = ctl_pstr(r->diagnostics);
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
	rep.error = ctl_pstr(r->error);
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
	case CTL_CMD_SERVICES:
		rep.body_case = AYA__CTL__REPLY__BODY_SERVICES;
		rep.services = ctl_services_to_pb(a, &r->services);
		if (rep.services == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_DRAIN:
	case CTL_CMD_UNDRAIN:
		rep.body_case = r->cmd == CTL_CMD_DRAIN ? AYA__CTL__REPLY__BODY_DRAIN
		                                        : AYA__CTL__REPLY__BODY_UNDRAIN;
		rep.drain = ctl_drain_to_pb(a, &r->drain);
		if (rep.drain == NULL) {
			goto out;
		}
		if (r->cmd == CTL_CMD_UNDRAIN) {
			/* One oneof: the member pointers share storage, set the right one. */
			rep.undrain = rep.drain;
		}
		break;
	case CTL_CMD_EXPLAIN:
		rep.body_case = AYA__CTL__REPLY__BODY_EXPLAIN;
		rep.explain = ctl_explain_to_pb(a, &r->explain);
		if (rep.explain == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_BACKENDS:
		rep.body_case = AYA__CTL__REPLY__BODY_BACKENDS;
		rep.backends = ctl_backends_to_pb(a, &r->backends);
		if (rep.backends == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_MEMBERS:
		rep.body_case = AYA__CTL__REPLY__BODY_MEMBERS;
		rep.members = ctl_members_to_pb(a, &r->members);
		if (rep.members == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_KEYRING:
		rep.body_case = AYA__CTL__REPLY__BODY_KEYRING;
		rep.keyring = ctl_keyring_to_pb(a, &r->keyring);
		if (rep.keyring == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_COST:
		rep.body_case = AYA__CTL__REPLY__BODY_COST;
		rep.cost = ctl_cost_to_pb(a, &r->cost);
		if (rep.cost == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_DNSSEC:
		rep.body_case = AYA__CTL__REPLY__BODY_DNSSEC;
		rep.dnssec = ctl_dnssec_to_pb(a, &r->dnssec);
		if (rep.dnssec == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_LOG_LEVEL:
		rep.body_case = AYA__CTL__REPLY__BODY_LOG_LEVEL;
		rep.log_level = ctl_log_level_to_pb(a, &r->log_level);
		if (rep.log_level == NULL) {
			goto out;
		}
		break;
	case CTL_CMD_TOP:
		rep.body_case = AYA__CTL__REPLY__BODY_TOP;
		rep.top = ctl_top_to_pb(a, &r->top);
		if (rep.top == NULL) {
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

static const ctl_zone_t *zones_from_pb(aya_arena_t *a, Aya__Ctl__Zone **z, size_t n, bool *oom)
{
	ctl_zone_t *v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	if (v == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].name = ctl_dup(a, z[i]->name, oom);
		v[i].serial = z[i]->serial;
		v[i].records = z[i]->records;
	}
	return v;
}

static void status_from_pb(aya_arena_t *a, const Aya__Ctl__StatusReply *p, ctl_status_t *s,
                           bool *oom)
{
	s->node = ctl_dup(a, p->node, oom);
	s->region = ctl_dup(a, p->region, oom);
	s->version = ctl_dup(a, p->version, oom);
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
		ctr[i].name = ctl_dup(a, p->counters[i]->name, oom);
		ctr[i].value = p->counters[i]->value;
	}
	s->counters = ctr;
	s->n_counters = p->n_counters;
	for (size_t i = 0; i < p->n_listen; i++) {
		listen[i] = ctl_dup(a, p->listen[i], oom);
	}
	s->listen = listen;
	s->n_listen = p->n_listen;
	s->workers = p->workers;
	s->last_reload_time = p->last_reload_time;
	s->last_reload_ok = p->last_reload_ok;
	s->last_reload_message = ctl_dup(a, p->last_reload_message, oom);
	s->snapshot_bytes = p->snapshot_bytes;
	s->services = p->services;
	s->drains = p->drains;
	s->geo_database = ctl_dup(a, p->geo_database, oom);
	s->geo_build_ms = p->geo_build_ms;
	s->geo_nodes = p->geo_nodes;
	s->geo_mmdb_nodes = p->geo_mmdb_nodes;
	s->policy_bytes = p->policy_bytes;
	if (p->gossip != NULL) {
		ctl_gossip_status_from_pb(a, p->gossip, &s->gossip, oom);
	}
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
	r->error = ctl_dup(a, p->error, &oom);
	switch (p->body_case) {
	case AYA__CTL__REPLY__BODY_STATUS:
		r->cmd = CTL_CMD_STATUS;
		status_from_pb(a, p->status, &r->status, &oom);
		break;
	case AYA__CTL__REPLY__BODY_RELOAD:
		r->cmd = CTL_CMD_RELOAD;
		r->reload.diagnostics = ctl_dup(a, p->reload->diagnostics, &oom);
		r->reload.zones = zones_from_pb(a, p->reload->zones, p->reload->n_zones, &oom);
		r->reload.n_zones = p->reload->n_zones;
		break;
	case AYA__CTL__REPLY__BODY_SERVICES:
		r->cmd = CTL_CMD_SERVICES;
		ctl_services_from_pb(a, p->services, &r->services, &oom);
		break;
	case AYA__CTL__REPLY__BODY_DRAIN:
		r->cmd = CTL_CMD_DRAIN;
		ctl_drain_from_pb(a, p->drain, &r->drain, &oom);
		break;
	case AYA__CTL__REPLY__BODY_UNDRAIN:
		r->cmd = CTL_CMD_UNDRAIN;
		ctl_drain_from_pb(a, p->undrain, &r->drain, &oom);
		break;
	case AYA__CTL__REPLY__BODY_EXPLAIN:
		r->cmd = CTL_CMD_EXPLAIN;
		ctl_explain_from_pb(a, p->explain, &r->explain, &oom);
		break;
	case AYA__CTL__REPLY__BODY_BACKENDS:
		r->cmd = CTL_CMD_BACKENDS;
		ctl_backends_from_pb(a, p->backends, &r->backends, &oom);
		break;
	case AYA__CTL__REPLY__BODY_MEMBERS:
		r->cmd = CTL_CMD_MEMBERS;
		ctl_members_from_pb(a, p->members, &r->members, &oom);
		break;
	case AYA__CTL__REPLY__BODY_KEYRING:
		r->cmd = CTL_CMD_KEYRING;
		ctl_keyring_from_pb(a, p->keyring, &r->keyring, &oom);
		break;
	case AYA__CTL__REPLY__BODY_COST:
		r->cmd = CTL_CMD_COST;
		ctl_cost_from_pb(a, p->cost, &r->cost, &oom);
		break;
	case AYA__CTL__REPLY__BODY_LOG_LEVEL:
		r->cmd = CTL_CMD_LOG_LEVEL;
		ctl_log_level_from_pb(a, p->log_level, &r->log_level, &oom);
		break;
	case AYA__CTL__REPLY__BODY_TOP:
		r->cmd = CTL_CMD_TOP;
		ctl_top_from_pb(a, p->top, &r->top, &oom);
		break;
	case AYA__CTL__REPLY__BODY_DNSSEC:
		r->cmd = CTL_CMD_DNSSEC;
		ctl_dnssec_from_pb(a, p->dnssec, &r->dnssec, &oom);
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
