/*
 * Control codec for the service commands: `services`, `drain`/`undrain`
 * and `explain` reply bodies, to and from protobuf-c messages. Encoders
 * allocate from a scratch arena freed after packing; decoders copy every
 * string into the reply's arena and trust nothing from the peer beyond the
 * protobuf types (counts come from the unpacked message itself).
 */
#include "control/control_int.h"

#include <errno.h>
#include <string.h>

char *ctl_pstr(const char *s)
{
	/* protobuf-c writes char *; proto3 skips empty strings. */
	return (char *)(s != NULL ? s : "");
}

const char *ctl_dup(aya_arena_t *a, const char *s, bool *oom)
{
	char *d = aya_arena_strdup(a, s != NULL ? s : "");
	if (d == NULL) {
		*oom = true;
	}
	return d;
}

/* n + 1 elements so that n = 0 still gives a valid pointer. */
static void *arr(aya_arena_t *a, size_t n, size_t size)
{
	return aya_arena_alloc(a, (n + 1) * size);
}

static char **strs_to_pb(aya_arena_t *a, const char *const *v, size_t n)
{
	char **out = arr(a, n, sizeof(*out));
	for (size_t i = 0; out != NULL && i < n; i++) {
		out[i] = ctl_pstr(v[i]);
	}
	return out;
}

static const char *const *strs_from_pb(aya_arena_t *a, char **v, size_t n, bool *oom)
{
	const char **out = arr(a, n, sizeof(*out));
	if (out == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = ctl_dup(a, v[i], oom);
	}
	return out;
}

/* ---- services ---- */

static Aya__Ctl__Pool *pool_to_pb(aya_arena_t *a, const ctl_pool_t *p)
{
	Aya__Ctl__Pool *m = aya_arena_alloc(a, sizeof(*m));
	Aya__Ctl__Endpoint *eps = arr(a, p->n_endpoints, sizeof(*eps));
	Aya__Ctl__Endpoint **epv = arr(a, p->n_endpoints, sizeof(*epv));
	if (m == NULL || eps == NULL || epv == NULL) {
		return NULL;
	}
	aya__ctl__pool__init(m);
	m->region = ctl_pstr(p->region);
	m->cost = p->cost;
	m->config_cost = p->config_cost;
	m->cost_overridden = p->cost_overridden;
	m->burst = p->burst;
	m->drained = p->drained;
	m->utilization = p->utilization;
	m->forecast = p->forecast;
	m->target = p->target;
	m->limit = p->limit;
	m->admit = p->admit;
	m->closed = p->closed;
	m->owner = ctl_pstr(p->owner);
	m->share = p->share;
	for (size_t i = 0; i < p->n_endpoints; i++) {
		const ctl_endpoint_t *e = &p->endpoints[i];
		aya__ctl__endpoint__init(&eps[i]);
		eps[i].address = ctl_pstr(e->address);
		eps[i].weight = e->weight;
		eps[i].capacity = e->capacity;
		eps[i].healthy = e->healthy;
		eps[i].drained = e->drained;
		epv[i] = &eps[i];
	}
	m->endpoints = epv;
	m->n_endpoints = p->n_endpoints;
	return m;
}

static Aya__Ctl__Service *service_to_pb(aya_arena_t *a, const ctl_service_t *s)
{
	Aya__Ctl__Service *m = aya_arena_alloc(a, sizeof(*m));
	Aya__Ctl__Pool **pools = arr(a, s->n_pools, sizeof(*pools));
	if (m == NULL || pools == NULL) {
		return NULL;
	}
	aya__ctl__service__init(m);
	m->name = ctl_pstr(s->name);
	m->ttl = s->ttl_s;
	m->when_all_down = ctl_pstr(s->when_all_down);
	m->policy = strs_to_pb(a, s->policy, s->n_policy);
	m->n_policy = s->n_policy;
	for (size_t i = 0; i < s->n_pools; i++) {
		pools[i] = pool_to_pb(a, &s->pools[i]);
		if (pools[i] == NULL) {
			return NULL;
		}
	}
	m->pools = pools;
	m->n_pools = s->n_pools;
	return m->policy != NULL ? m : NULL;
}

Aya__Ctl__ServicesReply *ctl_services_to_pb(aya_arena_t *a, const ctl_services_t *s)
{
	Aya__Ctl__ServicesReply *m = aya_arena_alloc(a, sizeof(*m));
	Aya__Ctl__Service **sv = arr(a, s->n_services, sizeof(*sv));
	Aya__Ctl__Drain *dr = arr(a, s->n_drains, sizeof(*dr));
	Aya__Ctl__Drain **drv = arr(a, s->n_drains, sizeof(*drv));
	if (m == NULL || sv == NULL || dr == NULL || drv == NULL) {
		return NULL;
	}
	aya__ctl__services_reply__init(m);
	for (size_t i = 0; i < s->n_services; i++) {
		sv[i] = service_to_pb(a, &s->services[i]);
		if (sv[i] == NULL) {
			return NULL;
		}
	}
	for (size_t i = 0; i < s->n_drains; i++) {
		const ctl_drain_rec_t *d = &s->drains[i];
		aya__ctl__drain__init(&dr[i]);
		dr[i].service = ctl_pstr(d->service);
		dr[i].kind = ctl_pstr(d->kind);
		dr[i].target = ctl_pstr(d->target);
		dr[i].since = d->since_s;
		dr[i].origin = ctl_pstr(d->origin);
		dr[i].reason = ctl_pstr(d->reason);
		dr[i].until = d->until_s;
		drv[i] = &dr[i];
	}
	m->services = sv;
	m->n_services = s->n_services;
	m->drains = drv;
	m->n_drains = s->n_drains;
	m->now = s->now_s;
	return m;
}

static void pool_from_pb(aya_arena_t *a, const Aya__Ctl__Pool *m, ctl_pool_t *p, bool *oom)
{
	p->region = ctl_dup(a, m->region, oom);
	p->cost = m->cost;
	p->config_cost = m->config_cost;
	p->cost_overridden = m->cost_overridden;
	p->burst = m->burst;
	p->drained = m->drained;
	p->utilization = m->utilization;
	p->forecast = m->forecast;
	p->target = m->target;
	p->limit = m->limit;
	p->admit = m->admit;
	p->closed = m->closed;
	p->owner = ctl_dup(a, m->owner, oom);
	p->share = m->share;
	ctl_endpoint_t *eps = arr(a, m->n_endpoints, sizeof(*eps));
	if (eps == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < m->n_endpoints; i++) {
		const Aya__Ctl__Endpoint *e = m->endpoints[i];
		eps[i] = (ctl_endpoint_t){.address = ctl_dup(a, e->address, oom),
		                          .weight = e->weight,
		                          .capacity = e->capacity,
		                          .healthy = e->healthy,
		                          .drained = e->drained};
	}
	p->endpoints = eps;
	p->n_endpoints = m->n_endpoints;
}

static void service_from_pb(aya_arena_t *a, const Aya__Ctl__Service *m, ctl_service_t *s, bool *oom)
{
	s->name = ctl_dup(a, m->name, oom);
	s->ttl_s = m->ttl;
	s->when_all_down = ctl_dup(a, m->when_all_down, oom);
	s->policy = strs_from_pb(a, m->policy, m->n_policy, oom);
	s->n_policy = m->n_policy;
	ctl_pool_t *pools = arr(a, m->n_pools, sizeof(*pools));
	if (pools == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < m->n_pools && !*oom; i++) {
		pool_from_pb(a, m->pools[i], &pools[i], oom);
	}
	s->pools = pools;
	s->n_pools = m->n_pools;
}

void ctl_services_from_pb(aya_arena_t *a, const Aya__Ctl__ServicesReply *p, ctl_services_t *s,
                          bool *oom)
{
	ctl_service_t *sv = arr(a, p->n_services, sizeof(*sv));
	ctl_drain_rec_t *dr = arr(a, p->n_drains, sizeof(*dr));
	if (sv == NULL || dr == NULL) {
		*oom = true;
		return;
	}
	memset(sv, 0, (p->n_services + 1) * sizeof(*sv));
	for (size_t i = 0; i < p->n_services && !*oom; i++) {
		service_from_pb(a, p->services[i], &sv[i], oom);
	}
	for (size_t i = 0; i < p->n_drains; i++) {
		const Aya__Ctl__Drain *d = p->drains[i];
		dr[i] = (ctl_drain_rec_t){.service = ctl_dup(a, d->service, oom),
		                          .kind = ctl_dup(a, d->kind, oom),
		                          .target = ctl_dup(a, d->target, oom),
		                          .since_s = d->since,
		                          .origin = ctl_dup(a, d->origin, oom),
		                          .reason = ctl_dup(a, d->reason, oom),
		                          .until_s = d->until};
	}
	s->services = sv;
	s->n_services = p->n_services;
	s->drains = dr;
	s->n_drains = p->n_drains;
	s->now_s = p->now;
}

/* ---- drain / undrain ---- */

int ctl_duration_parse(const char *s, uint64_t *out_s)
{
	static const struct {
		char unit;
		uint64_t s;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	uint64_t total = 0;
	const char *p = s;
	if (*p == '\0') {
		return -EINVAL;
	}
	/* "90", "90s", "2h", "1h30m": digits, each run with a unit but a bare last one. */
	while (*p != '\0') {
		if (*p < '0' || *p > '9') {
			return -EINVAL;
		}
		uint64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v > UINT32_MAX) {
				return -ERANGE;
			}
			v = v * 10 + (uint64_t)(*p++ - '0');
		}
		uint64_t mul = *p == '\0' ? 1 : 0;
		for (size_t i = 0; mul == 0 && i < sizeof(units) / sizeof(units[0]); i++) {
			mul = units[i].unit == *p ? units[i].s : 0;
		}
		if (mul == 0) {
			return -EINVAL;
		}
		p += *p != '\0';
		total += v * mul;
		if (total > UINT32_MAX) {
			return -ERANGE;
		}
	}
	if (total == 0) {
		return -EINVAL;
	}
	*out_s = total;
	return 0;
}

Aya__Ctl__DrainReply *ctl_drain_to_pb(aya_arena_t *a, const ctl_drain_t *d)
{
	Aya__Ctl__DrainReply *m = aya_arena_alloc(a, sizeof(*m));
	if (m == NULL) {
		return NULL;
	}
	aya__ctl__drain_reply__init(m);
	m->service = ctl_pstr(d->service);
	m->target = ctl_pstr(d->target);
	m->drained = d->drained;
	m->changed = d->changed;
	m->unmatched = d->unmatched;
	m->reason = ctl_pstr(d->reason);
	m->until = d->until_s;
	m->warning = ctl_pstr(d->warning);
	return m;
}

void ctl_drain_from_pb(aya_arena_t *a, const Aya__Ctl__DrainReply *p, ctl_drain_t *d, bool *oom)
{
	d->service = ctl_dup(a, p->service, oom);
	d->target = ctl_dup(a, p->target, oom);
	d->drained = p->drained;
	d->changed = p->changed;
	d->unmatched = p->unmatched;
	d->reason = ctl_dup(a, p->reason, oom);
	d->until_s = p->until;
	d->warning = ctl_dup(a, p->warning, oom);
}

/* ---- explain ---- */

static Aya__Ctl__ExplainEvent **events_to_pb(aya_arena_t *a, const ctl_explain_event_t *ev,
                                             size_t n)
{
	Aya__Ctl__ExplainEvent *m = arr(a, n, sizeof(*m));
	Aya__Ctl__ExplainEvent **v = arr(a, n, sizeof(*v));
	if (m == NULL || v == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		aya__ctl__explain_event__init(&m[i]);
		m[i].step = ev[i].step;
		m[i].filter = ctl_pstr(ev[i].filter);
		m[i].endpoint = ctl_pstr(ev[i].endpoint);
		m[i].region = ctl_pstr(ev[i].region);
		m[i].reason = ctl_pstr(ev[i].reason);
		m[i].tier = ev[i].tier;
		m[i].kept = ev[i].kept;
		v[i] = &m[i];
	}
	return v;
}

Aya__Ctl__ExplainReply *ctl_explain_to_pb(aya_arena_t *a, const ctl_explain_t *e)
{
	Aya__Ctl__ExplainReply *m = aya_arena_alloc(a, sizeof(*m));
	if (m == NULL) {
		return NULL;
	}
	aya__ctl__explain_reply__init(m);
	m->service = ctl_pstr(e->service);
	m->qtype = ctl_pstr(e->qtype);
	m->client = ctl_pstr(e->client);
	m->source_prefix = e->source_prefix;
	m->ecs = e->ecs;
	m->found = e->found;
	m->country = ctl_pstr(e->country);
	m->continent = ctl_pstr(e->continent);
	m->has_location = e->has_location;
	m->lat = e->lat;
	m->lon = e->lon;
	m->db_prefix = e->db_prefix;
	m->rule = ctl_pstr(e->rule);
	m->geo_used = e->geo_used;
	m->geo_scope = e->geo_scope;
	m->pool_order = strs_to_pb(a, e->pool_order, e->n_pool_order);
	m->n_pool_order = e->n_pool_order;
	m->filters = strs_to_pb(a, e->filters, e->n_filters);
	m->n_filters = e->n_filters;
	m->events = events_to_pb(a, e->events, e->n_events);
	m->n_events = e->n_events;
	m->result = ctl_pstr(e->result);
	m->answer = strs_to_pb(a, e->answer, e->n_answer);
	m->n_answer = e->n_answer;
	m->ttl = e->ttl_s;
	m->scope = e->scope;
	m->text = ctl_pstr(e->text);
	m->attribution = ctl_pstr(e->attribution);
	m->load_draw = e->load_draw;
	Aya__Ctl__ExplainLoad *lm = arr(a, e->n_load, sizeof(*lm));
	Aya__Ctl__ExplainLoad **lv = arr(a, e->n_load, sizeof(*lv));
	for (size_t i = 0; lm != NULL && lv != NULL && i < e->n_load; i++) {
		aya__ctl__explain_load__init(&lm[i]);
		lm[i].region = ctl_pstr(e->load[i].region);
		lm[i].admit = e->load[i].admit;
		lm[i].closed = e->load[i].closed;
		lm[i].utilization = e->load[i].utilization;
		lm[i].forecast = e->load[i].forecast;
		lv[i] = &lm[i];
	}
	m->load = lv;
	m->n_load = e->n_load;
	m->kind = ctl_pstr(e->kind);
	m->name = ctl_pstr(e->name);
	m->zone = ctl_pstr(e->zone);
	m->chain = strs_to_pb(a, e->chain, e->n_chain);
	m->n_chain = e->n_chain;
	bool ok = m->chain != NULL && m->pool_order != NULL && m->filters != NULL &&
	          m->events != NULL && m->answer != NULL && lm != NULL && lv != NULL;
	return ok ? m : NULL;
}

void ctl_explain_from_pb(aya_arena_t *a, const Aya__Ctl__ExplainReply *p, ctl_explain_t *e,
                         bool *oom)
{
	e->service = ctl_dup(a, p->service, oom);
	e->qtype = ctl_dup(a, p->qtype, oom);
	e->client = ctl_dup(a, p->client, oom);
	e->source_prefix = p->source_prefix;
	e->ecs = p->ecs;
	e->found = p->found;
	e->country = ctl_dup(a, p->country, oom);
	e->continent = ctl_dup(a, p->continent, oom);
	e->has_location = p->has_location;
	e->lat = p->lat;
	e->lon = p->lon;
	e->db_prefix = p->db_prefix;
	e->rule = ctl_dup(a, p->rule, oom);
	e->geo_used = p->geo_used;
	e->geo_scope = p->geo_scope;
	e->pool_order = strs_from_pb(a, p->pool_order, p->n_pool_order, oom);
	e->n_pool_order = p->n_pool_order;
	e->filters = strs_from_pb(a, p->filters, p->n_filters, oom);
	e->n_filters = p->n_filters;
	e->result = ctl_dup(a, p->result, oom);
	e->answer = strs_from_pb(a, p->answer, p->n_answer, oom);
	e->n_answer = p->n_answer;
	e->ttl_s = p->ttl;
	e->scope = p->scope;
	e->text = ctl_dup(a, p->text, oom);
	e->attribution = ctl_dup(a, p->attribution, oom);
	e->load_draw = p->load_draw;
	ctl_explain_load_t *load = arr(a, p->n_load, sizeof(*load));
	if (load == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_load; i++) {
		const Aya__Ctl__ExplainLoad *l = p->load[i];
		load[i] = (ctl_explain_load_t){.region = ctl_dup(a, l->region, oom),
		                               .admit = l->admit,
		                               .closed = l->closed,
		                               .utilization = l->utilization,
		                               .forecast = l->forecast};
	}
	e->load = load;
	e->n_load = p->n_load;
	e->kind = ctl_dup(a, p->kind, oom);
	e->name = ctl_dup(a, p->name, oom);
	e->zone = ctl_dup(a, p->zone, oom);
	e->chain = strs_from_pb(a, p->chain, p->n_chain, oom);
	e->n_chain = p->n_chain;
	ctl_explain_event_t *ev = arr(a, p->n_events, sizeof(*ev));
	if (ev == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_events; i++) {
		const Aya__Ctl__ExplainEvent *m = p->events[i];
		ev[i] = (ctl_explain_event_t){.step = m->step,
		                              .filter = ctl_dup(a, m->filter, oom),
		                              .endpoint = ctl_dup(a, m->endpoint, oom),
		                              .region = ctl_dup(a, m->region, oom),
		                              .reason = ctl_dup(a, m->reason, oom),
		                              .tier = m->tier,
		                              .kept = m->kept};
	}
	e->events = ev;
	e->n_events = p->n_events;
}
