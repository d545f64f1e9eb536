/*
 * Reply bodies of the gossip commands from a gsp_t: `members`, `keyring`
 * and the cluster part of `status`.
 *
 * Control thread, which also owns the gsp_t: member pointers stay valid
 * during a call, and strings are copied into the scratch arena anyway.
 * Keyring changes apply at once and are not written back to the keyring
 * file: the operator rotates the file too.
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
	out->bind = cfg->gossip.bind.text;
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
	};
	return out->name != NULL && out->region != NULL && out->address != NULL &&
	       out->config_hash != NULL;
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

int ctl_keyring_fill(gsp_t *g, const cfg_t *cfg, const char *op, const char *arg, aya_arena_t *a,
                     ctl_keyring_t *out, const char **err)
{
	char changed[9] = "";
	if (g == NULL || cfg->gossip.insecure) {
		*err = g == NULL ? GOSSIP_OFF
		                 : "gossip runs insecure (plaintext): there is no keyring";
		return -ENOENT;
	}
	gsp_keyring_t *kr = gsp_keyring(g);
	op = op != NULL ? op : "list";
	if (strcmp(op, "list") != 0) {
		int rc = gsp_keyring_apply(kr, op, arg, changed, err);
		if (rc < 0) {
			return rc;
		}
		log_info("gossip: keyring %s %s", op, changed);
	}
	size_t n = gsp_keyring_count(kr);
	ctl_key_t *v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	if (v == NULL) {
		*err = "out of memory";
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t key[GSP_KEY_LEN];
		char hex[9] = "";
		if (gsp_keyring_get(kr, i, key) == 0) {
			gsp_key_id_hex(key, hex);
		}
		v[i] = (ctl_key_t){.id = aya_arena_strdup(a, hex), .primary = i == 0};
	}
	*out = (ctl_keyring_t){
	        .op = aya_arena_strdup(a, op),
	        .keys = v,
	        .n_keys = n,
	        .changed = aya_arena_strdup(a, changed),
	};
	*err = NULL;
	return 0;
}
