/*
 * Reply bodies of the gossip commands from a gsp_t: `members`, `keyring`
 * and the cluster part of `status`.
 *
 * Control thread, which also owns the gsp_t: member pointers stay valid
 * during a call, and strings are copied into the scratch arena anyway.
 * Keyring operations go to every live member (gossip/keyop.c) and are
 * answered later (ctl_defer): the reply names each member that failed or
 * did not answer. Each node saves its ring in its state directory.
 */
#include "control/control_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/config.h"
#include "gossip/gossip.h"

#define GOSSIP_OFF "gossip is off: this node has no gossip: section"

static const char *hash_hex(aya_arena_t *a, uint64_t h)
{
	char buf[17];
	snprintf(buf, sizeof(buf), "%016" PRIx64, h);
	return aya_arena_strdup(a, buf);
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const ctl_member_t *)x)->name, ((const ctl_member_t *)y)->name);
}

void ctl_gossip_status_fill(gsp_t *g, const cfg_t *cfg, uint64_t config_hash, aya_arena_t *a,
                            ctl_gossip_status_t *out)
{
	*out = (ctl_gossip_status_t){.enabled = g != NULL};
	if (g == NULL) {
		return;
	}
	for (size_t i = 0; i < gsp_member_count(g); i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		bool live = m->state == GSP_ST_ALIVE || m->state == GSP_ST_SUSPECT;
		out->members++;
		out->live += live;
		out->suspect += m->state == GSP_ST_SUSPECT;
		out->dead += !live;
		out->drift += live && m->config_hash != config_hash;
	}
	gsp_stats_t st = gsp_stats(g);
	/* The address in use: after a reload whose new bind failed, still the old one. */
	const gsp_member_t *me = gsp_member_find(g, cfg->node.name);
	char addr[80];
	out->bind = me != NULL ? aya_arena_strdup(a, gsp_addr_str(&me->addr, addr, sizeof(addr)))
	                       : cfg->gossip.bind.text;
	out->insecure = cfg->gossip.insecure;
	out->joined = gsp_joined(g);
	out->health_score = gsp_health_score(g);
	out->config_hash = hash_hex(a, config_hash);
	out->keys = out->insecure ? 0 : (uint32_t)gsp_keyring_count(gsp_keyring(g));
	out->tx_bytes = st.tx_bytes;
	out->rx_bytes = st.rx_bytes;
	out->rx_dropped = st.rx_bad_auth + st.rx_replay + st.rx_truncated + st.rx_oversize +
	                  st.rx_malformed + st.rx_plain_refused + st.rx_sealed_refused +
	                  st.rx_no_epoch + st.rx_stale_epoch;
	/* Drops by reason: the registry's rows of aya_gossip_rx_dropped_total, named by their
	 * label. */
	ctl_counter_t *d = aya_arena_alloc(a, (gsp_stats_table.n + 1) * sizeof(*d));
	for (size_t i = 0; d != NULL && i < gsp_stats_table.n; i++) {
		const aya_stat_t *r = &gsp_stats_table.row[i];
		const char *l = r->labels != NULL ? strstr(r->labels, "reason=\"") : NULL;
		if (r->family == NULL || strcmp(r->family, "aya_gossip_rx_dropped_total") != 0 ||
		    l == NULL) {
			continue;
		}
		l += strlen("reason=\"");
		char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(l, "\""), l);
		const char *nm = aya_arena_strdup(a, name);
		if (nm != NULL) {
			d[out->n_drops++] =
			        (ctl_counter_t){.name = nm, .value = aya_stat_value(r, &st)};
		}
	}
	out->drops = d;
	out->pushpull_ok = st.pushpull_ok;
	out->pushpull_fail = st.pushpull_fail;
	out->broadcasts_dropped = st.broadcasts_dropped;
	out->probes = st.probes;
	out->probe_failures = st.probe_failures;
}

/* Member i as a row; false when out of memory. now: the gossip clock's. */
static bool member_row(const gsp_member_t *m, const char *self, uint64_t config_hash, uint64_t now,
                       aya_arena_t *a, ctl_member_t *out)
{
	char addr[80];
	gsp_addr_str(&m->addr, addr, sizeof(addr));
	bool is_self = strcmp(m->name, self) == 0;
	*out = (ctl_member_t){
	        .name = aya_arena_strdup(a, m->name),
	        .region = aya_arena_strdup(a, m->region),
	        .address = aya_arena_strdup(a, addr),
	        .state = gsp_state_name(m->state),
	        .incarnation = m->incarnation,
	        .last_heard_ms = m->last_heard_ms == 0 ? -1 : (int64_t)(now - m->last_heard_ms),
	        .config_hash = hash_hex(a, m->config_hash),
	        .drift = !is_self && m->config_hash != config_hash,
	        .self = is_self,
	        .version = aya_arena_strdup(a, m->version),
	};
	return out->version != NULL && out->name != NULL && out->region != NULL &&
	       out->address != NULL && out->config_hash != NULL;
}

int ctl_members_fill(const gsp_t *g, const cfg_t *cfg, uint64_t config_hash, uint64_t now_ms,
                     aya_arena_t *a, ctl_members_t *out, const char **err)
{
	*err = "out of memory";
	if (g == NULL) {
		*err = GOSSIP_OFF;
		return -ENOENT;
	}
	size_t n = gsp_member_count(g);
	ctl_member_t *v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	if (v == NULL) {
		return -ENOMEM;
	}
	/* last_heard_ms is on the gossip clock (monotonic): ages are relative to its now. */
	uint64_t now = now_ms;
	for (size_t i = 0; i < n; i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		now = m->last_heard_ms > now ? m->last_heard_ms : now;
		now = m->state_change_ms > now ? m->state_change_ms : now;
	}
	for (size_t i = 0; i < n; i++) {
		if (!member_row(gsp_member_get(g, i), cfg->node.name, config_hash, now, a, &v[i])) {
			return -ENOMEM;
		}
	}
	qsort(v, n, sizeof(*v), by_name);
	*out = (ctl_members_t){
	        .members = v, .n_members = n, .config_hash = hash_hex(a, config_hash)};
	*err = NULL;
	return 0;
}

/* The aggregate row of key id in v[0..*n), added when new; NULL when v is full. */
static ctl_key_t *key_row(ctl_key_t *v, size_t *n, size_t cap, const char *id, aya_arena_t *a)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(v[i].id, id) == 0) {
			return &v[i];
		}
	}
	if (*n == cap || (v[*n].id = aya_arena_strdup(a, id)) == NULL) {
		return NULL;
	}
	return &v[(*n)++];
}

/* A finished op as the reply body; false when out of memory. */
static bool keyring_body(const gsp_keyop_result_t *res, aya_arena_t *a, ctl_keyring_t *out)
{
	size_t cap = 0;
	for (size_t i = 0; i < res->n_members; i++) {
		cap += res->members[i].answered ? res->members[i].n_keys : 0;
	}
	ctl_key_t *keys = aya_arena_alloc(a, (cap + 1) * sizeof(*keys));
	ctl_keyring_member_t *mv = aya_arena_alloc(a, (res->n_members + 1) * sizeof(*mv));
	if (keys == NULL || mv == NULL) {
		return false;
	}
	memset(keys, 0, (cap + 1) * sizeof(*keys));
	size_t n = 0;
	bool oom = false;
	for (size_t i = 0; i < res->n_members; i++) {
		const gsp_keyop_member_t *m = &res->members[i];
		mv[i] = (ctl_keyring_member_t){.name = aya_arena_strdup(a, m->name),
		                               .self = m->self,
		                               .answered = m->answered,
		                               .ok = m->answered && m->error == 0,
		                               .error = aya_arena_strdup(a, m->message)};
		oom |= mv[i].name == NULL || mv[i].error == NULL;
		for (size_t k = 0; m->answered && k < m->n_keys; k++) {
			ctl_key_t *row = key_row(keys, &n, cap, m->keys[k].id, a);
			if (row != NULL) {
				row->installed++;
				row->primaries += m->keys[k].primary;
				row->primary |= m->self && m->keys[k].primary;
			}
		}
	}
	*out = (ctl_keyring_t){.op = aya_arena_strdup(a, res->op),
	                       .keys = keys,
	                       .n_keys = n,
	                       .changed = aya_arena_strdup(a, res->id),
	                       .members = mv,
	                       .n_members = res->n_members,
	                       .members_ok = (uint32_t)res->n_ok,
	                       .complete = res->n_ok == res->n_members};
	return !oom && out->op != NULL && out->changed != NULL;
}

/* The op is over: answer the deferred `ayactl keyring`. */
static void keyring_done(void *ctx, const gsp_keyop_result_t *res)
{
	ctl_deferred_t *dfr = ctx;
	ctl_reply_t r = {.cmd = CTL_CMD_KEYRING, .ok = res->error == 0};
	aya_arena_t *a = aya_arena_new();
	if (res->error < 0) {
		r.error = res->message[0] != '\0' ? res->message : strerror(-res->error);
	} else if (a == NULL || !keyring_body(res, a, &r.keyring)) {
		r = (ctl_reply_t){.cmd = CTL_CMD_KEYRING, .ok = false, .error = "out of memory"};
	}
	ctl_deferred_reply(dfr, &r);
	aya_arena_free(a);
}

int ctl_keyring_start(gsp_t *g, const cfg_t *cfg, const ctl_request_t *req, ctl_reply_t *reply,
                      const char **err)
{
	if (g == NULL || cfg->gossip.insecure) {
		*err = g == NULL ? GOSSIP_OFF
		                 : "gossip runs insecure (plaintext): there is no keyring";
		return -ENOENT;
	}
	ctl_deferred_t *dfr = ctl_defer(reply);
	if (dfr == NULL) {
		*err = "out of memory";
		return -ENOMEM;
	}
	const char *op = req->keyring_op != NULL ? req->keyring_op : "list";
	int rc = gsp_keyop_start(g, op, req->key, req->force, keyring_done, dfr, err);
	if (rc < 0) {
		ctl_defer_cancel(dfr);
		return rc;
	}
	if (strcmp(op, "list") != 0) {
		log_info("control: keyring %s started on %zu live member(s)", op,
		         gsp_live_count(g));
	}
	*err = NULL;
	return 0;
}
