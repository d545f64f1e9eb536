/*
 * Control codec for `backends`: ctl_backends_t to and from the
 * BackendsReply message. Encoders allocate from the scratch arena freed
 * after packing; decoders copy every string into the reply's arena and take
 * counts from the unpacked message only.
 */
#include "control/control_int.h"

/* n + 1 elements so that n = 0 still gives a valid pointer. */
static void *arr(aya_arena_t *a, size_t n, size_t size)
{
	return aya_arena_alloc(a, (n + 1) * size);
}

static Aya__Ctl__Backend *backend_to_pb(aya_arena_t *a, const ctl_backend_t *b)
{
	Aya__Ctl__Backend *m = aya_arena_alloc(a, sizeof(*m));
	Aya__Ctl__Observer *ob = arr(a, b->n_observers, sizeof(*ob));
	Aya__Ctl__Observer **obv = arr(a, b->n_observers, sizeof(*obv));
	if (m == NULL || ob == NULL || obv == NULL) {
		return NULL;
	}
	aya__ctl__backend__init(m);
	m->service = ctl_pstr(b->service);
	m->region = ctl_pstr(b->region);
	m->address = ctl_pstr(b->address);
	m->port = b->port;
	m->monitor = ctl_pstr(b->monitor);
	m->key = ctl_pstr(b->key);
	m->state = ctl_pstr(b->state);
	m->local = ctl_pstr(b->local);
	m->since_ms = b->since_ms;
	m->error = ctl_pstr(b->error);
	m->rtt_us = b->rtt_us;
	m->utilization = b->utilization;
	m->capacity = b->capacity;
	m->observed_at_ms = b->observed_at_ms;
	m->healthy = b->healthy;
	m->drained = b->drained;
	m->slow_start = b->slow_start;
	m->headroom = b->headroom;
	for (size_t i = 0; i < b->n_observers; i++) {
		const ctl_observer_t *o = &b->observers[i];
		aya__ctl__observer__init(&ob[i]);
		ob[i].node = ctl_pstr(o->node);
		ob[i].state = ctl_pstr(o->state);
		ob[i].observed_at_ms = o->observed_at_ms;
		ob[i].fresh = o->fresh;
		ob[i].rtt_us = o->rtt_us;
		ob[i].error = ctl_pstr(o->error);
		obv[i] = &ob[i];
	}
	m->observers = obv;
	m->n_observers = b->n_observers;
	return m;
}

Aya__Ctl__BackendsReply *ctl_backends_to_pb(aya_arena_t *a, const ctl_backends_t *b)
{
	Aya__Ctl__BackendsReply *m = aya_arena_alloc(a, sizeof(*m));
	Aya__Ctl__Backend **v = arr(a, b->n_backends, sizeof(*v));
	if (m == NULL || v == NULL) {
		return NULL;
	}
	aya__ctl__backends_reply__init(m);
	for (size_t i = 0; i < b->n_backends; i++) {
		v[i] = backend_to_pb(a, &b->backends[i]);
		if (v[i] == NULL) {
			return NULL;
		}
	}
	m->backends = v;
	m->n_backends = b->n_backends;
	m->now_ms = b->now_ms;
	return m;
}

static void backend_from_pb(aya_arena_t *a, const Aya__Ctl__Backend *m, ctl_backend_t *b, bool *oom)
{
	*b = (ctl_backend_t){
	        .service = ctl_dup(a, m->service, oom),
	        .region = ctl_dup(a, m->region, oom),
	        .address = ctl_dup(a, m->address, oom),
	        .port = m->port,
	        .monitor = ctl_dup(a, m->monitor, oom),
	        .key = ctl_dup(a, m->key, oom),
	        .state = ctl_dup(a, m->state, oom),
	        .local = ctl_dup(a, m->local, oom),
	        .since_ms = m->since_ms,
	        .error = ctl_dup(a, m->error, oom),
	        .rtt_us = m->rtt_us,
	        .utilization = m->utilization,
	        .capacity = m->capacity,
	        .observed_at_ms = m->observed_at_ms,
	        .healthy = m->healthy,
	        .drained = m->drained,
	        .slow_start = m->slow_start,
	        .headroom = m->headroom,
	};
	ctl_observer_t *ob = arr(a, m->n_observers, sizeof(*ob));
	if (ob == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < m->n_observers; i++) {
		const Aya__Ctl__Observer *o = m->observers[i];
		ob[i] = (ctl_observer_t){.node = ctl_dup(a, o->node, oom),
		                         .state = ctl_dup(a, o->state, oom),
		                         .observed_at_ms = o->observed_at_ms,
		                         .fresh = o->fresh,
		                         .rtt_us = o->rtt_us,
		                         .error = ctl_dup(a, o->error, oom)};
	}
	b->observers = ob;
	b->n_observers = m->n_observers;
}

void ctl_backends_from_pb(aya_arena_t *a, const Aya__Ctl__BackendsReply *p, ctl_backends_t *b,
                          bool *oom)
{
	ctl_backend_t *v = arr(a, p->n_backends, sizeof(*v));
	if (v == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_backends; i++) {
		backend_from_pb(a, p->backends[i], &v[i], oom);
	}
	b->backends = v;
	b->n_backends = p->n_backends;
	b->now_ms = p->now_ms;
}
