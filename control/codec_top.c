/*
 * Codec of `log-level` and `top` between ctl_log_level_t / ctl_top_t and
 * proto/ctl.proto's LogLevelReply and TopReply. Messages are built in the
 * caller's arena; decoding copies every string into the reply's arena and
 * never trusts counts beyond what protobuf-c unpacked.
 */
#include "control/control.h"

#include <errno.h>
#include <strings.h>

#include "control/control_int.h"

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int ctl_log_level_parse(const char *name, int *out)
{
	for (int i = 0; i < (int)AYA_ARRAY_LEN(level_names); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	/* The short forms of the log macros (log_err, log_warn). */
	if (strcasecmp(name, "err") == 0) {
		*out = 0;
		return 0;
	}
	if (strcasecmp(name, "warn") == 0) {
		*out = 1;
		return 0;
	}
	return -EINVAL;
}

const char *ctl_log_level_name(int level)
{
	return level >= 0 && level < (int)AYA_ARRAY_LEN(level_names) ? level_names[level]
	                                                             : "unknown";
}

Aya__Ctl__LogLevelReply *ctl_log_level_to_pb(aya_arena_t *a, const ctl_log_level_t *l)
{
	Aya__Ctl__LogLevelReply *p = aya_arena_alloc(a, sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	aya__ctl__log_level_reply__init(p);
	p->level = ctl_pstr(l->level);
	p->config_level = ctl_pstr(l->config_level);
	p->changed = l->changed;
	return p;
}

void ctl_log_level_from_pb(aya_arena_t *a, const Aya__Ctl__LogLevelReply *p, ctl_log_level_t *l,
                           bool *oom)
{
	l->level = ctl_dup(a, p->level, oom);
	l->config_level = ctl_dup(a, p->config_level, oom);
	l->changed = p->changed;
}

static Aya__Ctl__TopService *top_service_to_pb(aya_arena_t *a, const ctl_top_service_t *s)
{
	Aya__Ctl__TopService *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__TopPool *pv = aya_arena_alloc(a, (s->n_pools + 1) * sizeof(*pv));
	Aya__Ctl__TopPool **pp = aya_arena_alloc(a, (s->n_pools + 1) * sizeof(*pp));
	if (p == NULL || pv == NULL || pp == NULL) {
		return NULL;
	}
	aya__ctl__top_service__init(p);
	p->name = ctl_pstr(s->name);
	for (size_t i = 0; i < s->n_pools; i++) {
		aya__ctl__top_pool__init(&pv[i]);
		pv[i].region = ctl_pstr(s->pools[i].region);
		pv[i].answers = s->pools[i].answers;
		pv[i].admit = s->pools[i].admit;
		pv[i].healthy = s->pools[i].healthy;
		pp[i] = &pv[i];
	}
	p->pools = pp;
	p->n_pools = s->n_pools;
	return p;
}

Aya__Ctl__TopReply *ctl_top_to_pb(aya_arena_t *a, const ctl_top_t *t)
{
	Aya__Ctl__TopReply *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__Counter *cv = aya_arena_alloc(a, (t->n_counters + 1) * sizeof(*cv));
	Aya__Ctl__Counter **cp = aya_arena_alloc(a, (t->n_counters + 1) * sizeof(*cp));
	Aya__Ctl__TopService **sp = aya_arena_alloc(a, (t->n_services + 1) * sizeof(*sp));
	Aya__Ctl__TopEvent *ev = aya_arena_alloc(a, (t->n_events + 1) * sizeof(*ev));
	Aya__Ctl__TopEvent **ep = aya_arena_alloc(a, (t->n_events + 1) * sizeof(*ep));
	if (p == NULL || cv == NULL || cp == NULL || sp == NULL || ev == NULL || ep == NULL) {
		return NULL;
	}
	aya__ctl__top_reply__init(p);
	p->node = ctl_pstr(t->node);
	p->now_ms = t->now_ms;
	p->queries = t->queries;
	for (size_t i = 0; i < t->n_counters; i++) {
		aya__ctl__counter__init(&cv[i]);
		cv[i].name = ctl_pstr(t->counters[i].name);
		cv[i].value = t->counters[i].value;
		cp[i] = &cv[i];
	}
	p->counters = cp;
	p->n_counters = t->n_counters;
	for (size_t i = 0; i < t->n_services; i++) {
		sp[i] = top_service_to_pb(a, &t->services[i]);
		if (sp[i] == NULL) {
			return NULL;
		}
	}
	p->services = sp;
	p->n_services = t->n_services;
	for (size_t i = 0; i < t->n_events; i++) {
		aya__ctl__top_event__init(&ev[i]);
		ev[i].ms = t->events[i].ms;
		ev[i].text = ctl_pstr(t->events[i].text);
		ep[i] = &ev[i];
	}
	p->events = ep;
	p->n_events = t->n_events;
	return p;
}

static void top_service_from_pb(aya_arena_t *a, const Aya__Ctl__TopService *p, ctl_top_service_t *s,
                                bool *oom)
{
	ctl_top_pool_t *v = aya_arena_alloc(a, (p->n_pools + 1) * sizeof(*v));
	s->name = ctl_dup(a, p->name, oom);
	s->pools = v;
	s->n_pools = v != NULL ? p->n_pools : 0;
	if (v == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_pools; i++) {
		const Aya__Ctl__TopPool *x = p->pools[i];
		v[i] = (ctl_top_pool_t){.region = ctl_dup(a, x->region, oom),
		                        .answers = x->answers,
		                        .admit = x->admit,
		                        .healthy = x->healthy};
	}
}

void ctl_top_from_pb(aya_arena_t *a, const Aya__Ctl__TopReply *p, ctl_top_t *t, bool *oom)
{
	ctl_counter_t *cv = aya_arena_alloc(a, (p->n_counters + 1) * sizeof(*cv));
	ctl_top_service_t *sv = aya_arena_alloc(a, (p->n_services + 1) * sizeof(*sv));
	ctl_top_event_t *ev = aya_arena_alloc(a, (p->n_events + 1) * sizeof(*ev));
	t->node = ctl_dup(a, p->node, oom);
	t->now_ms = p->now_ms;
	t->queries = p->queries;
	if (cv == NULL || sv == NULL || ev == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_counters; i++) {
		cv[i] = (ctl_counter_t){.name = ctl_dup(a, p->counters[i]->name, oom),
		                        .value = p->counters[i]->value};
	}
	t->counters = cv;
	t->n_counters = p->n_counters;
	for (size_t i = 0; i < p->n_services; i++) {
		top_service_from_pb(a, p->services[i], &sv[i], oom);
	}
	t->services = sv;
	t->n_services = p->n_services;
	for (size_t i = 0; i < p->n_events; i++) {
		ev[i] = (ctl_top_event_t){.ms = p->events[i]->ms,
		                          .text = ctl_dup(a, p->events[i]->text, oom)};
	}
	t->events = ev;
	t->n_events = p->n_events;
}
