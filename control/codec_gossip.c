/*
 * Codec of the gossip commands (members, keyring) and of the cluster part of
 * status, between ctl_* values and proto/ctl.proto messages. Messages are
 * built in the caller's arena; decoding copies every string into the reply's
 * arena and never trusts counts beyond what protobuf-c unpacked.
 */
#include "control/control.h"

#include <stdint.h>
#include <string.h>

#include "control/control_int.h"

Aya__Ctl__GossipStatus *ctl_gossip_status_to_pb(aya_arena_t *a, const ctl_gossip_status_t *g)
{
	Aya__Ctl__GossipStatus *p = aya_arena_alloc(a, sizeof(*p));
	if (p == NULL) {
		return NULL;
	}
	aya__ctl__gossip_status__init(p);
	p->enabled = g->enabled;
	p->bind = ctl_pstr(g->bind);
	p->insecure = g->insecure;
	p->joined = g->joined;
	p->members = g->members;
	p->live = g->live;
	p->suspect = g->suspect;
	p->dead = g->dead;
	p->health_score = g->health_score;
	p->config_hash = ctl_pstr(g->config_hash);
	p->drift = g->drift;
	p->keys = g->keys;
	p->tx_bytes = g->tx_bytes;
	p->rx_bytes = g->rx_bytes;
	p->rx_dropped = g->rx_dropped;
	p->records_out = g->records_out;
	p->records_in = g->records_in;
	p->records_merged = g->records_merged;
	p->pushpull_ok = g->pushpull_ok;
	p->pushpull_fail = g->pushpull_fail;
	p->broadcasts_dropped = g->broadcasts_dropped;
	p->probes = g->probes;
	p->probe_failures = g->probe_failures;
	Aya__Ctl__Counter *d = aya_arena_alloc(a, (g->n_drops + 1) * sizeof(*d));
	Aya__Ctl__Counter **dv = aya_arena_alloc(a, (g->n_drops + 1) * sizeof(*dv));
	if (d == NULL || dv == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < g->n_drops; i++) {
		aya__ctl__counter__init(&d[i]);
		d[i].name = ctl_pstr(g->drops[i].name);
		d[i].value = g->drops[i].value;
		dv[i] = &d[i];
	}
	p->drops = dv;
	p->n_drops = g->n_drops;
	return p;
}

void ctl_gossip_status_from_pb(aya_arena_t *a, const Aya__Ctl__GossipStatus *p,
                               ctl_gossip_status_t *g, bool *oom)
{
	*g = (ctl_gossip_status_t){
	        .enabled = p->enabled,
	        .bind = ctl_dup(a, p->bind, oom),
	        .insecure = p->insecure,
	        .joined = p->joined,
	        .members = p->members,
	        .live = p->live,
	        .suspect = p->suspect,
	        .dead = p->dead,
	        .health_score = p->health_score,
	        .config_hash = ctl_dup(a, p->config_hash, oom),
	        .drift = p->drift,
	        .keys = p->keys,
	        .tx_bytes = p->tx_bytes,
	        .rx_bytes = p->rx_bytes,
	        .rx_dropped = p->rx_dropped,
	        .records_out = p->records_out,
	        .records_in = p->records_in,
	        .records_merged = p->records_merged,
	        .pushpull_ok = p->pushpull_ok,
	        .pushpull_fail = p->pushpull_fail,
	        .broadcasts_dropped = p->broadcasts_dropped,
	        .probes = p->probes,
	        .probe_failures = p->probe_failures,
	};
	ctl_counter_t *d = aya_arena_alloc(a, (p->n_drops + 1) * sizeof(*d));
	if (d == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_drops; i++) {
		d[i] = (ctl_counter_t){.name = ctl_dup(a, p->drops[i]->name, oom),
		                       .value = p->drops[i]->value};
	}
	g->drops = d;
	g->n_drops = p->n_drops;
}

Aya__Ctl__MembersReply *ctl_members_to_pb(aya_arena_t *a, const ctl_members_t *m)
{
	Aya__Ctl__MembersReply *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__Member *mv = aya_arena_alloc(a, (m->n_members + 1) * sizeof(*mv));
	Aya__Ctl__Member **mp = aya_arena_alloc(a, (m->n_members + 1) * sizeof(*mp));
	if (p == NULL || mv == NULL || mp == NULL) {
		return NULL;
	}
	aya__ctl__members_reply__init(p);
	for (size_t i = 0; i < m->n_members; i++) {
		const ctl_member_t *x = &m->members[i];
		aya__ctl__member__init(&mv[i]);
		mv[i].name = ctl_pstr(x->name);
		mv[i].region = ctl_pstr(x->region);
		mv[i].address = ctl_pstr(x->address);
		mv[i].state = ctl_pstr(x->state);
		mv[i].incarnation = x->incarnation;
		mv[i].last_heard_ms = x->last_heard_ms;
		mv[i].config_hash = ctl_pstr(x->config_hash);
		mv[i].version = ctl_pstr(x->version);
		mv[i].drift = x->drift;
		mv[i].self = x->self;
		mp[i] = &mv[i];
	}
	p->members = mp;
	p->n_members = m->n_members;
	p->config_hash = ctl_pstr(m->config_hash);
	return p;
}

void ctl_members_from_pb(aya_arena_t *a, const Aya__Ctl__MembersReply *p, ctl_members_t *m,
                         bool *oom)
{
	ctl_member_t *v = aya_arena_alloc(a, (p->n_members + 1) * sizeof(*v));
	m->config_hash = ctl_dup(a, p->config_hash, oom);
	m->members = v;
	m->n_members = v != NULL ? p->n_members : 0;
	if (v == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_members; i++) {
		const Aya__Ctl__Member *x = p->members[i];
		v[i] = (ctl_member_t){
		        .name = ctl_dup(a, x->name, oom),
		        .region = ctl_dup(a, x->region, oom),
		        .address = ctl_dup(a, x->address, oom),
		        .state = ctl_dup(a, x->state, oom),
		        .incarnation = x->incarnation,
		        .last_heard_ms = x->last_heard_ms,
		        .config_hash = ctl_dup(a, x->config_hash, oom),
		        .version = ctl_dup(a, x->version, oom),
		        .drift = x->drift,
		        .self = x->self,
		};
	}
}

Aya__Ctl__KeyringReply *ctl_keyring_to_pb(aya_arena_t *a, const ctl_keyring_t *k)
{
	Aya__Ctl__KeyringReply *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__Key *kv = aya_arena_alloc(a, (k->n_keys + 1) * sizeof(*kv));
	Aya__Ctl__Key **kp = aya_arena_alloc(a, (k->n_keys + 1) * sizeof(*kp));
	Aya__Ctl__KeyringMember *mv = aya_arena_alloc(a, (k->n_members + 1) * sizeof(*mv));
	Aya__Ctl__KeyringMember **mp = aya_arena_alloc(a, (k->n_members + 1) * sizeof(*mp));
	if (p == NULL || kv == NULL || kp == NULL || mv == NULL || mp == NULL) {
		return NULL;
	}
	aya__ctl__keyring_reply__init(p);
	for (size_t i = 0; i < k->n_keys; i++) {
		aya__ctl__key__init(&kv[i]);
		kv[i].id = ctl_pstr(k->keys[i].id);
		kv[i].primary = k->keys[i].primary;
		kv[i].installed = k->keys[i].installed;
		kv[i].primaries = k->keys[i].primaries;
		kp[i] = &kv[i];
	}
	for (size_t i = 0; i < k->n_members; i++) {
		const ctl_keyring_member_t *x = &k->members[i];
		aya__ctl__keyring_member__init(&mv[i]);
		mv[i].name = ctl_pstr(x->name);
		mv[i].self = x->self;
		mv[i].answered = x->answered;
		mv[i].ok = x->ok;
		mv[i].error = ctl_pstr(x->error);
		mp[i] = &mv[i];
	}
	p->op = ctl_pstr(k->op);
	p->keys = kp;
	p->n_keys = k->n_keys;
	p->changed = ctl_pstr(k->changed);
	p->members = mp;
	p->n_members = k->n_members;
	p->members_ok = k->members_ok;
	p->complete = k->complete;
	return p;
}

void ctl_keyring_from_pb(aya_arena_t *a, const Aya__Ctl__KeyringReply *p, ctl_keyring_t *k,
                         bool *oom)
{
	ctl_key_t *v = aya_arena_alloc(a, (p->n_keys + 1) * sizeof(*v));
	ctl_keyring_member_t *mv = aya_arena_alloc(a, (p->n_members + 1) * sizeof(*mv));
	k->op = ctl_dup(a, p->op, oom);
	k->changed = ctl_dup(a, p->changed, oom);
	k->keys = v;
	k->n_keys = v != NULL ? p->n_keys : 0;
	k->members = mv;
	k->n_members = mv != NULL ? p->n_members : 0;
	k->members_ok = p->members_ok;
	k->complete = p->complete;
	if (v == NULL || mv == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_keys; i++) {
		v[i] = (ctl_key_t){.id = ctl_dup(a, p->keys[i]->id, oom),
		                   .primary = p->keys[i]->primary,
		                   .installed = p->keys[i]->installed,
		                   .primaries = p->keys[i]->primaries};
	}
	for (size_t i = 0; i < p->n_members; i++) {
		const Aya__Ctl__KeyringMember *x = p->members[i];
		mv[i] = (ctl_keyring_member_t){.name = ctl_dup(a, x->name, oom),
		                               .self = x->self,
		                               .answered = x->answered,
		                               .ok = x->ok,
		                               .error = ctl_dup(a, x->error, oom)};
	}
}
