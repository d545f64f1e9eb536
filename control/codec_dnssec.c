/*
 * Codec of `dnssec` between ctl_dnssec_t and proto/ctl.proto's
 * DnssecReply. Messages are built in the caller's arena; decoding copies
 * every string into the reply's arena and trusts no count beyond what
 * protobuf-c unpacked.
 */
#include "control/control.h"

#include "control/control_int.h"

static Aya__Ctl__DnssecZone *zone_to_pb(aya_arena_t *a, const ctl_dnssec_zone_t *z)
{
	Aya__Ctl__DnssecZone *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__DnssecKey *kv = aya_arena_alloc(a, (z->n_keys + 1) * sizeof(*kv));
	Aya__Ctl__DnssecKey **kp = aya_arena_alloc(a, (z->n_keys + 1) * sizeof(*kp));
	if (p == NULL || kv == NULL || kp == NULL) {
		return NULL;
	}
	aya__ctl__dnssec_zone__init(p);
	p->name = ctl_pstr(z->name);
	p->algorithm = z->algorithm;
	p->split = z->split;
	p->key_directory = ctl_pstr(z->key_directory);
	p->dnskey_ttl = z->dnskey_ttl_s;
	p->signature_lifetime = z->signature_lifetime_s;
	p->is_signed = z->is_signed;
	p->sig_expiry = z->sig_expiry;
	p->signatures = z->signatures;
	p->signed_at = z->signed_at;
	p->error = ctl_pstr(z->error);
	for (size_t i = 0; i < z->n_keys; i++) {
		const ctl_dnssec_key_t *k = &z->keys[i];
		aya__ctl__dnssec_key__init(&kv[i]);
		kv[i].tag = k->tag;
		kv[i].role = ctl_pstr(k->role);
		kv[i].state = ctl_pstr(k->state);
		kv[i].file = ctl_pstr(k->file);
		kv[i].ds = ctl_pstr(k->ds);
		kp[i] = &kv[i];
	}
	p->keys = kp;
	p->n_keys = z->n_keys;
	return p;
}

Aya__Ctl__DnssecReply *ctl_dnssec_to_pb(aya_arena_t *a, const ctl_dnssec_t *d)
{
	Aya__Ctl__DnssecReply *p = aya_arena_alloc(a, sizeof(*p));
	Aya__Ctl__DnssecZone **zp = aya_arena_alloc(a, (d->n_zones + 1) * sizeof(*zp));
	if (p == NULL || zp == NULL) {
		return NULL;
	}
	aya__ctl__dnssec_reply__init(p);
	for (size_t i = 0; i < d->n_zones; i++) {
		if ((zp[i] = zone_to_pb(a, &d->zones[i])) == NULL) {
			return NULL;
		}
	}
	p->op = ctl_pstr(d->op);
	p->zones = zp;
	p->n_zones = d->n_zones;
	p->changed = ctl_pstr(d->changed);
	p->hint = ctl_pstr(d->hint);
	p->tag = d->tag;
	p->answers = d->answers;
	p->cache_hits = d->cache_hits;
	p->signs = d->signs;
	p->sign_failures = d->sign_failures;
	p->now = d->now_s;
	return p;
}

static void zone_from_pb(aya_arena_t *a, const Aya__Ctl__DnssecZone *p, ctl_dnssec_zone_t *z,
                         bool *oom)
{
	ctl_dnssec_key_t *kv = aya_arena_alloc(a, (p->n_keys + 1) * sizeof(*kv));
	*z = (ctl_dnssec_zone_t){.name = ctl_dup(a, p->name, oom),
	                         .algorithm = p->algorithm,
	                         .split = p->split,
	                         .key_directory = ctl_dup(a, p->key_directory, oom),
	                         .dnskey_ttl_s = p->dnskey_ttl,
	                         .signature_lifetime_s = p->signature_lifetime,
	                         .is_signed = p->is_signed,
	                         .sig_expiry = p->sig_expiry,
	                         .signatures = p->signatures,
	                         .signed_at = p->signed_at,
	                         .keys = kv,
	                         .n_keys = kv != NULL ? p->n_keys : 0,
	                         .error = ctl_dup(a, p->error, oom)};
	if (kv == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_keys; i++) {
		const Aya__Ctl__DnssecKey *k = p->keys[i];
		kv[i] = (ctl_dnssec_key_t){.tag = k->tag,
		                           .role = ctl_dup(a, k->role, oom),
		                           .state = ctl_dup(a, k->state, oom),
		                           .file = ctl_dup(a, k->file, oom),
		                           .ds = ctl_dup(a, k->ds, oom)};
	}
}

void ctl_dnssec_from_pb(aya_arena_t *a, const Aya__Ctl__DnssecReply *p, ctl_dnssec_t *d, bool *oom)
{
	ctl_dnssec_zone_t *zv = aya_arena_alloc(a, (p->n_zones + 1) * sizeof(*zv));
	*d = (ctl_dnssec_t){.op = ctl_dup(a, p->op, oom),
	                    .zones = zv,
	                    .n_zones = zv != NULL ? p->n_zones : 0,
	                    .changed = ctl_dup(a, p->changed, oom),
	                    .hint = ctl_dup(a, p->hint, oom),
	                    .tag = p->tag,
	                    .answers = p->answers,
	                    .cache_hits = p->cache_hits,
	                    .signs = p->signs,
	                    .sign_failures = p->sign_failures,
	                    .now_s = p->now};
	if (zv == NULL) {
		*oom = true;
		return;
	}
	for (size_t i = 0; i < p->n_zones; i++) {
		zone_from_pb(a, p->zones[i], &zv[i], oom);
	}
}
