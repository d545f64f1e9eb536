/*
 * ayad's gossip control handlers: members, keyring and the cluster part of
 * status. They run on the control thread, which also owns the gsp_t, so
 * member pointers stay valid while a reply is built (strings are copied into
 * the scratch arena anyway). Keyring changes apply at once and are not
 * written back to the keyring file: the operator rotates the file too.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "gossip/gossip.h"

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

void ayad_ctl_gossip_status(ayad_t *d, ctl_gossip_status_t *out, aya_arena_t *a)
{
	gsp_t *g = ayad_gossip_node(d);
	*out = (ctl_gossip_status_t){.enabled = g != NULL};
	if (g == NULL) {
		return;
	}
	uint64_t mine = ayad_gossip_config_hash(d);
	for (size_t i = 0; i < gsp_member_count(g); i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		bool live = m->state == GSP_ST_ALIVE || m->state == GSP_ST_SUSPECT;
		out->members++;
		out->live += live;
		out->suspect += m->state == GSP_ST_SUSPECT;
		out->dead += !live;
		out->drift += live && m->config_hash != mine;
	}
	gsp_stats_t st = gsp_stats(g);
	ayad_gossip_stats_t gs;
	ayad_gossip_stats(d, &gs);
	out->bind = d->cfg->gossip.bind.text;
	out->insecure = d->cfg->gossip.insecure;
	out->joined = gsp_joined(g);
	out->health_score = gsp_health_score(g);
	out->config_hash = hash_hex(a, mine);
	out->keys = out->insecure ? 0 : (uint32_t)gsp_keyring_count(gsp_keyring(g));
	out->tx_bytes = st.tx_bytes;
	out->rx_bytes = st.rx_bytes;
	out->rx_dropped = st.rx_bad_auth + st.rx_replay + st.rx_truncated + st.rx_oversize +
	                  st.rx_malformed + st.rx_plain_refused + st.rx_sealed_refused;
	out->records_out = gs.records_out;
	out->records_in = gs.records_in;
	out->records_merged = gs.records_merged;
	out->pushpull_ok = st.pushpull_ok;
	out->pushpull_fail = st.pushpull_fail;
	out->broadcasts_dropped = st.broadcasts_dropped;
	out->probes = st.probes;
	out->probe_failures = st.probe_failures;
}

void ayad_ctl_members(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	gsp_t *g = ayad_gossip_node(d);
	if (g == NULL) {
		r->ok = false;
		r->error = "gossip is off: this node has no gossip: section";
		return;
	}
	size_t n = gsp_member_count(g);
	ctl_member_t *v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	if (v == NULL) {
		r->ok = false;
		r->error = "out of memory";
		return;
	}
	/* last_heard_ms is on the gossip clock (monotonic): ages are relative to its now. */
	uint64_t now = 0;
	uint64_t mine = ayad_gossip_config_hash(d);
	for (size_t i = 0; i < n; i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		now = m->last_heard_ms > now ? m->last_heard_ms : now;
		now = m->state_change_ms > now ? m->state_change_ms : now;
	}
	now = ayad_gossip_now_ms(d) > now ? ayad_gossip_now_ms(d) : now;
	for (size_t i = 0; i < n; i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		char addr[80];
		gsp_addr_str(&m->addr, addr, sizeof(addr));
		bool self = strcmp(m->name, d->cfg->node.name) == 0;
		v[i] = (ctl_member_t){
		        .name = aya_arena_strdup(a, m->name),
		        .region = aya_arena_strdup(a, m->region),
		        .address = aya_arena_strdup(a, addr),
		        .state = gsp_state_name(m->state),
		        .incarnation = m->incarnation,
		        .last_heard_ms =
		                m->last_heard_ms == 0 ? -1 : (int64_t)(now - m->last_heard_ms),
		        .config_hash = hash_hex(a, m->config_hash),
		        .drift = !self && m->config_hash != mine,
		        .self = self,
		};
		if (v[i].name == NULL || v[i].region == NULL || v[i].address == NULL ||
		    v[i].config_hash == NULL) {
			r->ok = false;
			r->error = "out of memory";
			return;
		}
	}
	qsort(v, n, sizeof(*v), by_name);
	r->members =
	        (ctl_members_t){.members = v, .n_members = n, .config_hash = hash_hex(a, mine)};
}

/* Key i of the keyring whose id is `id`; -1 when none. */
static int find_key(gsp_keyring_t *kr, const char *id, uint8_t key[GSP_KEY_LEN])
{
	for (size_t i = 0; i < gsp_keyring_count(kr); i++) {
		char hex[9];
		if (gsp_keyring_get(kr, i, key) == 0) {
			gsp_key_id_hex(key, hex);
			if (strcasecmp(hex, id) == 0) {
				return (int)i;
			}
		}
	}
	return -1;
}

/* A base64 AES-256 key (44 characters with padding) into key; false when it is not one. */
static bool decode_key(const char *b64, uint8_t key[GSP_KEY_LEN])
{
	uint8_t buf[64];
	size_t len = strlen(b64);
	if (len != 44) {
		return false;
	}
	int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts the padding as zero bytes: 33 = 32 + one '='. */
	if (n != 33 || b64[43] != '=' || b64[42] == '=') {
		return false;
	}
	memcpy(key, buf, GSP_KEY_LEN);
	return true;
}

static const char *keyring_apply(gsp_keyring_t *kr, const ctl_request_t *req, char *changed)
{
	uint8_t key[GSP_KEY_LEN];
	const char *op = req->keyring_op, *arg = req->key != NULL ? req->key : "";
	if (strcmp(op, "install") == 0) {
		if (!decode_key(arg, key)) {
			return "install: not a base64 AES-256 key (32 bytes, 44 characters)";
		}
		gsp_key_id_hex(key, changed);
		return gsp_keyring_install(kr, key) == 0 ? NULL : "install: the keyring is full";
	}
	if (strcmp(op, "use") != 0 && strcmp(op, "remove") != 0) {
		return "keyring: expected list, install KEY, use KEY_ID or remove KEY_ID";
	}
	if (find_key(kr, arg, key) < 0) {
		return "no installed key has that id (see ayactl keyring list)";
	}
	gsp_key_id_hex(key, changed);
	if (strcmp(op, "use") == 0) {
		return gsp_keyring_use(kr, key) == 0 ? NULL : "use: failed";
	}
	int rc = gsp_keyring_remove(kr, key);
	return rc == 0        ? NULL
	       : rc == -EBUSY ? "remove: that is the primary key; use another first"
	                      : "remove: failed";
}

void ayad_ctl_keyring(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	gsp_t *g = ayad_gossip_node(d);
	char changed[9] = "";
	if (g == NULL || d->cfg->gossip.insecure) {
		r->ok = false;
		r->error = g == NULL ? "gossip is off: this node has no gossip: section"
		                     : "gossip runs insecure (plaintext): there is no keyring";
		return;
	}
	gsp_keyring_t *kr = gsp_keyring(g);
	const char *op = req->keyring_op != NULL ? req->keyring_op : "list";
	if (strcmp(op, "list") != 0) {
		const char *err = keyring_apply(kr, req, changed);
		if (err != NULL) {
			r->ok = false;
			r->error = err;
			return;
		}
		log_info("gossip: keyring %s %s", op, changed);
	}
	size_t n = gsp_keyring_count(kr);
	ctl_key_t *v = aya_arena_alloc(a, (n + 1) * sizeof(*v));
	if (v == NULL) {
		r->ok = false;
		r->error = "out of memory";
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t key[GSP_KEY_LEN];
		char hex[9] = "";
		if (gsp_keyring_get(kr, i, key) == 0) {
			gsp_key_id_hex(key, hex);
		}
		v[i] = (ctl_key_t){.id = aya_arena_strdup(a, hex), .primary = i == 0};
	}
	r->keyring = (ctl_keyring_t){
	        .op = aya_arena_strdup(a, op),
	        .keys = v,
	        .n_keys = n,
	        .changed = aya_arena_strdup(a, changed),
	};
}
