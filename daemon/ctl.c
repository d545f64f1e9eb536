/*
 * ayad's control handlers: turn daemon state into ctl_reply_t values. They
 * run on the control thread, the same thread that publishes snapshots, so
 * d->snap and d->pol cannot be freed under them. The service commands are
 * in ctl_svc.c.
 */
#include "daemon/ayad.h"

#include <stddef.h>

#include "common/log.h"

static ctl_zone_t *snap_zones(const dnsd_snap_t *snap, aya_arena_t *a, size_t *n)
{
	*n = dnsd_snap_zone_count(snap);
	ctl_zone_t *z = aya_arena_alloc(a, (*n + 1) * sizeof(*z));
	for (size_t i = 0; z != NULL && i < *n; i++) {
		dnsd_zone_info_t zi;
		dnsd_snap_zone_info(snap, i, &zi);
		z[i] = (ctl_zone_t){.name = zi.name, .serial = zi.serial, .records = zi.records};
	}
	return z;
}

/* Services, drains and geo figures of the status reply. */
static void status_policy(ayad_t *d, ctl_status_t *s)
{
	s->services = (uint32_t)pol_service_count(d->pol);
	s->policy_bytes = pol_snap_bytes(d->pol);
	state_drain_t *list = NULL;
	size_t n = 0;
	if (state_drain_list(d->state, &list, &n) == 0) {
		s->drains = (uint32_t)n;
		state_drain_list_free(list, n);
	}
	s->geo_database = d->cfg->geo.database != NULL ? d->cfg->geo.database : "";
	geo_tree_stats_t gs = {0};
	if (d->geo != NULL) {
		geo_tree_stats(d->geo, &gs);
	}
	s->geo_build_ms = gs.build_ms;
	s->geo_nodes = gs.nodes;
	s->geo_mmdb_nodes = gs.mmdb_nodes;
}

static void on_status(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	ctl_status_t *s = &r->status;
	dnsd_stats_t st;
	dnsd_server_stats(d->srv, &st);
	agent_stats_t ag;
	ayad_probes_stats(d, &ag);
	ayad_rebuild_stats_t rb;
	ayad_rebuild_stats(d, &rb);
	/* The registry's rows in this order: dnsd, the agent's probes, the policy rebuilds. */
	const aya_stat_source_t src[] = {{&dnsd_stats_table, &st},
	                                 {&agent_stats_table, &ag},
	                                 {&ayad_rebuild_stats_table, &rb}};
	size_t n = 0;
	for (size_t i = 0; i < AYA_ARRAY_LEN(src); i++) {
		n += aya_stats_count(src[i].table, AYA_STAT_NOLIST);
	}
	ctl_counter_t *ctr = aya_arena_alloc(a, (n + 1) * sizeof(*ctr));
	ctl_zone_t *zones = snap_zones(d->snap, a, &s->n_zones);
	if (ctr == NULL || zones == NULL) {
		r->ok = false;
		r->error = "out of memory";
		return;
	}
	n = 0;
	for (size_t i = 0; i < AYA_ARRAY_LEN(src); i++) {
		const aya_stat_table_t *t = src[i].table;
		for (size_t k = 0; k < t->n; k++) {
			if ((t->row[k].flags & AYA_STAT_NOLIST) == 0) {
				ctr[n++] = (ctl_counter_t){
				        .name = t->row[k].name,
				        .value = aya_stat_value(&t->row[k], src[i].base)};
			}
		}
	}
	s->counters = ctr;
	s->n_counters = n;
	s->node = d->cfg->node.name;
	s->region = d->cfg->node.region;
	s->version = AYA_VERSION;
	s->uptime_s = (uint64_t)(time(NULL) - d->started);
	s->zones = zones;
	s->queries = st.queries;
	s->workers = dnsd_server_workers(d->srv);
	s->listen = (const char *const *)d->listen;
	s->n_listen = d->n_listen;
	s->last_reload_time = (uint64_t)d->last_reload;
	s->last_reload_ok = d->last_reload_ok;
	s->last_reload_message = d->last_reload_msg;
	s->snapshot_bytes = dnsd_snap_bytes(d->snap);
	status_policy(d, s);
	ayad_ctl_gossip_status(d, &s->gossip, a);
}

static void on_reload(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	char *diag = NULL;
	log_info("reload: requested over the control socket");
	int rc = ayad_reload(d, &diag);
	const char *text = diag != NULL ? aya_arena_strdup(a, diag) : NULL;
	free(diag);
	if (rc < 0) {
		r->ok = false;
		r->error = text != NULL ? text : "reload failed (out of memory)";
		return;
	}
	r->reload.diagnostics = text;
	r->reload.zones = snap_zones(d->snap, a, &r->reload.n_zones);
	if (r->reload.zones == NULL) {
		r->ok = false;
		r->error = "reloaded, but out of memory for the reply";
	}
}

const ctl_handler_fn ayad_ctl_handlers[CTL_CMD_COUNT] = {
        [CTL_CMD_STATUS] = on_status,           [CTL_CMD_RELOAD] = on_reload,
        [CTL_CMD_SERVICES] = ayad_ctl_services, [CTL_CMD_DRAIN] = ayad_ctl_drain,
        [CTL_CMD_UNDRAIN] = ayad_ctl_drain,     [CTL_CMD_EXPLAIN] = ayad_ctl_explain,
        [CTL_CMD_BACKENDS] = ayad_ctl_backends, [CTL_CMD_MEMBERS] = ayad_ctl_members,
        [CTL_CMD_KEYRING] = ayad_ctl_keyring,
};
