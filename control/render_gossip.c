/*
 * Rendering of the gossip commands (members, keyring) and of the cluster
 * lines of status: aligned text for people, JSON for scripts. Pure.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

void ctl_gossip_status_write_text(FILE *f, const ctl_gossip_status_t *g)
{
	if (!g->enabled) {
		fprintf(f, "%-12s off (single node)\n", "cluster");
		return;
	}
	fprintf(f, "%-12s %s on %s, %s, %" PRIu32 " key(s)\n", "cluster",
	        g->joined ? "joined" : "joining", g->bind != NULL ? g->bind : "",
	        g->insecure ? "INSECURE (plaintext)" : "AES-256-GCM", g->keys);
	fprintf(f,
	        "%-12s %" PRIu32 " member(s), %" PRIu32 " live, %" PRIu32 " suspect, %" PRIu32
	        " dead or left\n",
	        "", g->members, g->live, g->suspect, g->dead);
	fprintf(f, "%-12s health score %" PRIu32 ", config %s, %" PRIu32 " drifting\n", "",
	        g->health_score, g->config_hash != NULL ? g->config_hash : "", g->drift);
	fprintf(f,
	        "%-12s records out %" PRIu64 ", in %" PRIu64 ", merged %" PRIu64
	        "; push/pull %" PRIu64 " ok %" PRIu64 " failed\n",
	        "", g->records_out, g->records_in, g->records_merged, g->pushpull_ok,
	        g->pushpull_fail);
	fprintf(f,
	        "%-12s tx %" PRIu64 " B, rx %" PRIu64 " B, dropped %" PRIu64 " packets, %" PRIu64
	        " broadcasts lost to overflow\n",
	        "", g->tx_bytes, g->rx_bytes, g->rx_dropped, g->broadcasts_dropped);
	if (g->rx_dropped > 0) {
		fprintf(f, "%-12s dropped by reason:", "");
		for (size_t i = 0; i < g->n_drops; i++) {
			if (g->drops[i].value > 0) {
				fprintf(f, " %s %" PRIu64, g->drops[i].name, g->drops[i].value);
			}
		}
		fputc('\n', f);
	}
}

/* "1.2s ago", "never". */
static void fmt_ago(char *buf, size_t len, int64_t ms)
{
	if (ms < 0) {
		snprintf(buf, len, "never");
	} else if (ms < 10000) {
		snprintf(buf, len, "%.1fs ago", (double)ms / 1000.0);
	} else {
		snprintf(buf, len, "%" PRId64 "s ago", ms / 1000);
	}
}

void ctl_members_write_text(FILE *f, const ctl_members_t *m)
{
	int wn = 4, wr = 6, wa = 7, wv = 7;
	for (size_t i = 0; i < m->n_members; i++) {
		const char *v = m->members[i].version;
		int lv = v != NULL && v[0] != '\0' ? (int)strlen(v) : 1;
		wv = lv > wv ? lv : wv;
		int l = (int)strlen(m->members[i].name) + (m->members[i].self ? 1 : 0);
		wn = l > wn ? l : wn;
		l = (int)strlen(m->members[i].region);
		wr = l > wr ? l : wr;
		l = (int)strlen(m->members[i].address);
		wa = l > wa ? l : wa;
	}
	fprintf(f, "%-*s  %-*s  %-*s  %-7s  %12s  %-12s  %-*s  %s\n", wn, "NAME", wr, "REGION", wa,
	        "ADDRESS", "STATE", "INCARNATION", "LAST HEARD", wv, "VERSION", "CONFIG");
	for (size_t i = 0; i < m->n_members; i++) {
		const ctl_member_t *x = &m->members[i];
		char name[128], ago[32];
		snprintf(name, sizeof(name), "%s%s", x->name, x->self ? "*" : "");
		fmt_ago(ago, sizeof(ago), x->last_heard_ms);
		const char *ver = x->version != NULL && x->version[0] != '\0' ? x->version : "-";
		fprintf(f, "%-*s  %-*s  %-*s  %-7s  %12" PRIu64 "  %-12s  %-*s  %s%s\n", wn, name,
		        wr, x->region, wa, x->address, x->state, x->incarnation,
		        x->self ? "-" : ago, wv, ver, x->config_hash, x->drift ? "  DRIFT" : "");
	}
	fprintf(f, "(* this node, config %s; DRIFT: another config or zone file)\n",
	        m->config_hash != NULL ? m->config_hash : "");
}

static const char *done_verb(const char *op)
{
	return strcmp(op, "install") == 0  ? "installed on"
	       : strcmp(op, "use") == 0    ? "the primary key on"
	       : strcmp(op, "remove") == 0 ? "removed on"
	                                   : "answered by";
}

void ctl_keyring_write_text(FILE *f, const ctl_keyring_t *k)
{
	const char *op = k->op != NULL ? k->op : "list";
	if (strcmp(op, "list") != 0) {
		fprintf(f, "keyring %s %s: %s %" PRIu32 "/%zu members\n", op,
		        k->changed != NULL ? k->changed : "", done_verb(op), k->members_ok,
		        k->n_members);
	}
	for (size_t i = 0; i < k->n_members; i++) {
		const ctl_keyring_member_t *m = &k->members[i];
		if (!m->answered) {
			fprintf(f, "  %s: no answer\n", m->name);
		} else if (!m->ok) {
			fprintf(f, "  %s: %s\n", m->name, m->error != NULL ? m->error : "failed");
		}
	}
	if (k->n_keys == 0) {
		fprintf(f, "no keys (insecure mode)\n");
		return;
	}
	fprintf(f, "%-9s  %-9s  %s\n", "KEY", "INSTALLED", "PRIMARY");
	for (size_t i = 0; i < k->n_keys; i++) {
		const ctl_key_t *x = &k->keys[i];
		char id[16], inst[32], prim[32];
		snprintf(id, sizeof(id), "%s%s", x->id, x->primary ? "*" : "");
		snprintf(inst, sizeof(inst), "%" PRIu32 "/%zu", x->installed, k->n_members);
		snprintf(prim, sizeof(prim), "%" PRIu32 "/%zu", x->primaries, k->n_members);
		fprintf(f, "%-9s  %-9s  %s\n", id, inst, prim);
	}
	fprintf(f, "(* this node's primary; counts over %zu live member(s), this node included)\n",
	        k->n_members);
}

int ctl_gossip_status_json(json_t *o, const ctl_gossip_status_t *g)
{
	json_t *c = json_pack(
	        "{s:b, s:s?, s:b, s:b, s:i, s:i, s:i, s:i, s:i, s:s?, s:i, s:i, s:I, s:I, s:I, "
	        "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	        "enabled", g->enabled, "bind", g->bind, "insecure", g->insecure, "joined",
	        g->joined, "members", (int)g->members, "live", (int)g->live, "suspect",
	        (int)g->suspect, "dead", (int)g->dead, "health_score", (int)g->health_score,
	        "config_hash", g->config_hash, "drift", (int)g->drift, "keys", (int)g->keys,
	        "tx_bytes", (json_int_t)g->tx_bytes, "rx_bytes", (json_int_t)g->rx_bytes,
	        "rx_dropped", (json_int_t)g->rx_dropped, "records_out", (json_int_t)g->records_out,
	        "records_in", (json_int_t)g->records_in, "records_merged",
	        (json_int_t)g->records_merged, "pushpull_ok", (json_int_t)g->pushpull_ok,
	        "pushpull_fail", (json_int_t)g->pushpull_fail, "broadcasts_dropped",
	        (json_int_t)g->broadcasts_dropped, "probes", (json_int_t)g->probes,
	        "probe_failures", (json_int_t)g->probe_failures);
	json_t *drops = json_object();
	for (size_t i = 0; drops != NULL && i < g->n_drops; i++) {
		json_object_set_new(drops, g->drops[i].name,
		                    json_integer((json_int_t)g->drops[i].value));
	}
	if (c != NULL && drops != NULL) {
		json_object_set_new(c, "dropped_by_reason", drops);
	} else {
		json_decref(drops);
	}
	return json_object_set_new(o, "cluster", c);
}

int ctl_members_json(json_t *o, const ctl_members_t *m)
{
	json_t *arr = json_array();
	int rc = 0;
	for (size_t i = 0; arr != NULL && i < m->n_members; i++) {
		const ctl_member_t *x = &m->members[i];
		/* Never heard (-1): null, as every unknown figure. */
		json_t *heard = x->last_heard_ms >= 0 ? json_integer((json_int_t)x->last_heard_ms)
		                                      : json_null();
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:s, s:b, s:b}", "name",
		                      x->name, "region", x->region, "address", x->address, "state",
		                      x->state, "incarnation", (json_int_t)x->incarnation,
		                      "last_heard_ms", heard, "config_hash", x->config_hash,
		                      "drift", x->drift, "self", x->self);
		if (j != NULL) {
			rc |= json_object_set_new(
			        j, "version", json_string(x->version != NULL ? x->version : ""));
		}
		rc |= json_array_append_new(arr, j);
	}
	rc |= json_object_set_new(o, "members", arr);
	rc |= json_object_set_new(o, "config_hash",
	                          json_string(m->config_hash != NULL ? m->config_hash : ""));
	return rc;
}

int ctl_keyring_json(json_t *o, const ctl_keyring_t *k)
{
	json_t *arr = json_array(), *mem = json_array();
	int rc = 0;
	for (size_t i = 0; arr != NULL && i < k->n_keys; i++) {
		const ctl_key_t *x = &k->keys[i];
		rc |= json_array_append_new(arr, json_pack("{s:s, s:b, s:i, s:i}", "id", x->id,
		                                           "primary", x->primary, "installed",
		                                           (int)x->installed, "primaries",
		                                           (int)x->primaries));
	}
	for (size_t i = 0; mem != NULL && i < k->n_members; i++) {
		const ctl_keyring_member_t *m = &k->members[i];
		json_t *err = m->error != NULL && m->error[0] != '\0' ? json_string(m->error)
		                                                      : json_null();
		rc |= json_array_append_new(mem, json_pack("{s:s, s:b, s:b, s:b, s:o}", "name",
		                                           m->name, "self", m->self, "answered",
		                                           m->answered, "ok", m->ok, "error", err));
	}
	rc |= json_object_set_new(o, "keys", arr);
	rc |= json_object_set_new(o, "op", json_string(k->op != NULL ? k->op : "list"));
	rc |= json_object_set_new(o, "changed",
	                          k->changed != NULL && k->changed[0] != '\0'
	                                  ? json_string(k->changed)
	                                  : json_null());
	rc |= json_object_set_new(o, "members", mem);
	rc |= json_object_set_new(o, "members_ok", json_integer(k->members_ok));
	rc |= json_object_set_new(o, "members_total", json_integer((json_int_t)k->n_members));
	rc |= json_object_set_new(o, "complete", json_boolean(k->complete));
	return rc;
}
