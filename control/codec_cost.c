/*
 * Codec of `cost` between ctl_cost_t and proto/ctl.proto's CostReply.
 * Messages are built in the caller's arena; decoding copies every string
 * into the reply's arena and never trusts counts beyond what protobuf-c
 * unpacked.
 */
#include "control/control.h"

#include <string.h>

#include "control/control_int.h"

Aya__Ctl__CostReply *ctl_cost_to_pb(aya_arena_t *a, const ctl_cost_t *c)
{
	Aya__Ctl__CostReply *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__RegionCost *rv = aya_arena_alloc(a, (c->n_regions + 1) * sizeof(*rv));
	Aya__Ctl__RegionCost **rp = aya_arena_alloc(a, (c->n_regions + 1) * sizeof(*rp));
	if (p == NULL || rv == NULL || rp == NULL) {
		return NULL;
	}
	aya__ctl__cost_reply__init(p);
	for (size_t i = 0; i < c->n_regions; i++) {
		const ctl_region_cost_t *x = &c->regions[i];
		aya__ctl__region_cost__init(&rv[i]);
		rv[i].region = ctl_pstr(x->region);
		rv[i].config_cost = x->config_cost;
		rv[i].cost = x->cost;
		rv[i].overridden = x->overridden;
		rv[i].origin = ctl_pstr(x->origin);
		rv[i].since = x->since_s;
		rp[i] = &rv[i];
	}
	p->regions = rp;
	p->n_regions = c->n_regions;
	p->region = ctl_pstr(c->region);
	p->reset = c->reset;
	p->changed = c->changed;
	p->now = c->now_s;
	return p;
}

void ctl_cost_from_pb(aya_arena_t *a, const Aya__Ctl__CostReply *p, ctl_cost_t *c, bool *oom)
{
	ctl_region_cost_t *v = aya_arena_alloc(a, (p->n_regions + 1) * sizeof(*v));
	c->region = ctl_dup(a, p->region, oom);
	c->reset = p->reset;
	c->changed = p->changed;
	c->now_s = p->now;
	c->regions = v;
	c->n_regions = v != NULL ? p->n_regions : 0;
	if (v == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_regions; i++) {
		const Aya__Ctl__RegionCost *x = p->regions[i];
		v[i] = (ctl_region_cost_t){.region = ctl_dup(a, x->region, oom),
		                           .config_cost = x->config_cost,
		                           .cost = x->cost,
		                           .overridden = x->overridden,
		                           .origin = ctl_dup(a, x->origin, oom),
		                           .since_s = x->since};
	}
}
