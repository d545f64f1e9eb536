/*
 * ayad's control handlers: each gathers the daemon's objects (d->pol,
 * d->cfg, d->state, the gsp_t) and calls control/'s builder of its reply
 * (control/reply_*.c). They run on the control thread, the same thread that
 * publishes snapshots and owns the gsp_t, so d->snap and d->pol cannot be
 * freed under them; reply strings may borrow from d->pol because the reply
 * is packed before the handler's caller returns to the event loop.
 *
 * A drain or cost change is persisted first (state_drain_set() and
 * state_cost_set() are durable when they return), then a new policy snapshot
 * is compiled with the current geo tree and published: a crash in between
 * loses nothing, the next start applies it.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/log.h"
#include "common/time.h"

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
	ayad_steer_stats_t sr;
	ayad_steer_stats(d, &sr);
	/* The registry's rows in this order: dnsd, the agent's probes, the policy rebuilds, the
	 * load loop. */
	const aya_stat_source_t src[] = {{&dnsd_stats_table, &st, NULL},
	                                 {&agent_stats_table, &ag, NULL},
	                                 {&ayad_rebuild_stats_table, &rb, NULL},
	                                 {&ayad_steer_stats_table, &sr, NULL}};
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
	ctl_gossip_status_fill(ayad_gossip_node(d), d->cfg, ayad_gossip_config_hash(d), a,
	                       &s->gossip);
	if (s->gossip.enabled) {
		gsp_repl_stats_t gs;
		ayad_gossip_stats(d, &gs);
		s->gossip.records_out = gs.records_out;
		s->gossip.records_in = gs.records_in;
		s->gossip.records_merged = gs.records_merged;
	}
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

/* Owner, share of answers and the live load loop of one pool (daemon/steer.c). */
static void pool_info(void *ctx, size_t svc, size_t pool, ctl_pool_t *p, aya_arena_t *a)
{
	char owner[GSP_NAME_MAX + 1];
	const pol_steer_pool_t *sp =
	        ayad_steer_pool_info(ctx, svc, pool, owner, sizeof(owner), &p->share);
	if (owner[0] != '\0') {
		const char *o = aya_arena_strdup(a, owner);
		p->owner = o != NULL ? o : "";
	}
	if (sp != NULL) {
		p->utilization = sp->utilization;
		p->forecast = sp->forecast;
		p->admit = sp->admit;
		p->closed = sp->closed;
	}
}

static void on_services(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	state_drain_t *list = NULL;
	size_t n = 0;
	int rc = state_drain_list(d->state, &list, &n);
	if (rc < 0) {
		ctl_reply_errorf(r, a, "cannot read drains: %s", strerror(-rc));
		return;
	}
	if (ctl_services_fill(d->pol, list, n, a, &r->services) < 0) {
		ctl_reply_error(r, NULL);
	} else {
		r->services.now_s = (int64_t)(aya_wall_ms() / 1000u);
		ctl_services_pool_info(&r->services, a, pool_info, d);
	}
	state_drain_list_free(list, n);
	state_cost_t *costs = NULL;
	size_t n_costs = 0;
	if (r->ok && state_cost_list(d->state, &costs, &n_costs) == 0) {
		ctl_services_mark_costs(&r->services, d->cfg, costs, n_costs);
		state_cost_list_free(costs, n_costs);
	}
}

/* Compile a policy snapshot with the stored drains and publish it. */
static int republish(ayad_t *d, char *err, size_t errlen)
{
	pol_snap_t *pol = NULL;
	int rc = ayad_pol_build(d, d->cfg, d->geo, &pol, NULL, err, errlen);
	if (rc < 0) {
		return rc;
	}
	ayad_events_diff(d, d->pol, pol);
	dnsd_server_publish(d->srv, NULL, pol);
	d->pol = pol;
	return 0;
}

/* The stored drain of service/target ("" = the service) into out's reason and until. */
static void drain_stored(ayad_t *d, const char *service, const char *target, aya_arena_t *a,
                         ctl_drain_t *out)
{
	state_drain_t *list = NULL;
	size_t n = 0;
	if (state_drain_list(d->state, &list, &n) < 0) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *t = list[i].target != NULL ? list[i].target : "";
		if (strcmp(list[i].service, service) == 0 && strcmp(t, target) == 0) {
			const char *reason = aya_arena_strdup(a, list[i].note);
			out->reason = reason != NULL ? reason : "";
			out->until_s = list[i].until_s;
		}
	}
	state_drain_list_free(list, n);
}

static void on_drain(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	bool drain = req->cmd == CTL_CMD_DRAIN;
	const char *err = NULL, *service = NULL, *target = NULL;
	if (ctl_drain_resolve(d->pol, d->cfg, req->service, req->target, a, &service, &target,
	                      &err) < 0) {
		ctl_reply_error(r, err);
		return;
	}
	/* Rounded up: a drain lasts at least what was asked. */
	int64_t until_s = 0;
	if (drain && req->for_s > 0) {
		if (req->for_s > AYAD_DRAIN_FOR_MAX_S) {
			ctl_reply_errorf(r, a, "--for: at most %d days",
			                 AYAD_DRAIN_FOR_MAX_S / 86400);
			return;
		}
		until_s = (int64_t)((aya_wall_ms() + 999u) / 1000u + req->for_s);
	}
	const char *reason = drain && req->reason != NULL ? req->reason : "";
	int rc = state_drain_set_until(d->state, service, target, drain, reason, until_s);
	if (rc == -EINVAL || rc == -ENAMETOOLONG) {
		ctl_reply_errorf(r, a, "--reason: at most %d bytes, no control characters",
		                 STATE_NOTE_MAX);
		return;
	}
	if (rc < 0) {
		ctl_reply_errorf(r, a, "cannot store the drain: %s", strerror(-rc));
		return;
	}
	char buf[512] = "";
	if (rc == 1) {
		log_info("%s: %s %s (ayactl)", drain ? "drain" : "undrain", service,
		         target[0] != '\0' ? target : "(every pool)");
		ayad_gossip_kick(d); /* to the peers now */
		if (republish(d, buf, sizeof(buf)) < 0) {
			log_err("%s: stored, but the policy snapshot failed: %s",
			        ctl_cmd_name(req->cmd), buf);
			ctl_reply_errorf(r, a, "stored, but not applied until the next reload: %s",
			                 buf);
			return;
		}
	}
	const char *err2 = NULL;
	const pol_service_t *ps = ctl_service_resolve(d->pol, d->cfg, service, a, &err2);
	r->drain = (ctl_drain_t){.service = service,
	                         .target = target,
	                         .drained = drain,
	                         .changed = rc == 1,
	                         .unmatched = (uint32_t)pol_snap_unmatched_drains(d->pol),
	                         .reason = reason,
	                         .until_s = until_s,
	                         .warning = ps != NULL ? ctl_drain_warning(ps, a) : NULL};
	if (drain && rc == 0) {
		/* No change: show what is stored. */
		drain_stored(d, service, target, a, &r->drain);
	}
}

/* The reply of `cost`: every region, from the stored overrides. */
static void cost_reply(ayad_t *d, ctl_reply_t *r, aya_arena_t *a)
{
	state_cost_t *list = NULL;
	size_t n = 0;
	int rc = state_cost_list(d->state, &list, &n);
	if (rc < 0) {
		ctl_reply_errorf(r, a, "cannot read the costs: %s", strerror(-rc));
		return;
	}
	if (ctl_cost_fill(d->cfg, list, n, (int64_t)(aya_wall_ms() / 1000u), a, &r->cost) < 0) {
		ctl_reply_error(r, NULL);
	}
	state_cost_list_free(list, n);
}

/*
 * cost [REGION VALUE|reset]: like a drain, stored durably first, then sent
 * to the peers and compiled into a new snapshot.
 */
static void on_cost(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	const char *region = NULL, *err = NULL;
	if (req->region == NULL || req->region[0] == '\0') {
		cost_reply(d, r, a);
		return;
	}
	if (ctl_cost_resolve(d->cfg, req, a, &region, &err) < 0) {
		ctl_reply_error(r, err);
		return;
	}
	int rc = req->cost_reset ? state_cost_reset(d->state, region)
	                         : state_cost_set(d->state, region, req->cost);
	if (rc < 0) {
		ctl_reply_errorf(r, a, "cannot store the cost: %s", strerror(-rc));
		return;
	}
	char buf[512] = "";
	if (rc == 1) {
		if (req->cost_reset) {
			log_info("cost: region %s reset to the config's (ayactl)", region);
		} else {
			log_info("cost: region %s set to %g (ayactl)", region, req->cost);
		}
		ayad_gossip_kick(d); /* to the peers now */
		if (republish(d, buf, sizeof(buf)) < 0) {
			log_err("cost: stored, but the policy snapshot failed: %s", buf);
			ctl_reply_errorf(r, a, "stored, but not applied until the next reload: %s",
			                 buf);
			return;
		}
	}
	r->cost.region = region;
	r->cost.reset = req->cost_reset;
	r->cost.changed = rc == 1;
	cost_reply(d, r, a);
}

static void on_explain(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	const char *err = NULL;
	if (ctl_explain_any(d->snap, d->pol, d->cfg, req, AYA_GEO_NOTICE, a, &r->explain, &err) <
	    0) {
		ctl_reply_error(r, err);
	}
}

static void on_backends(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	state_view_t *view = NULL;
	const char *err = NULL;
	if (state_view_build(d->state, &view) < 0) {
		ctl_reply_error(r, NULL);
		return;
	}
	if (ctl_backends_fill(d->cfg, d->pol, view, req->service, aya_wall_ms(), a, &r->backends,
	                      &err) < 0) {
		ctl_reply_error(r, err);
	}
	state_view_free(view);
}

static void on_members(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	const char *err = NULL;
	if (ctl_members_fill(ayad_gossip_node(d), d->cfg, ayad_gossip_config_hash(d),
	                     ayad_gossip_now_ms(d), a, &r->members, &err) < 0) {
		ctl_reply_error(r, err);
	}
}

static void on_keyring(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	const char *err = NULL;
	(void)a;
	/* Deferred: the reply comes when every member answered (or ~5 s a phase). */
	if (ctl_keyring_start(ayad_gossip_node(d), d->cfg, req, r, &err) < 0) {
		ctl_reply_error(r, err);
	}
}

/*
 * log-level [LEVEL]: the level holds until the next reload, which applies
 * the config's log.level again (a runtime change is for a debugging session,
 * not a setting). The change is logged while the more verbose of the two
 * levels is in effect, so that it shows either way.
 */
static void on_log_level(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	int old = (int)aya_log_get_level(), level = old;
	if (req->level != NULL && req->level[0] != '\0' &&
	    ctl_log_level_parse(req->level, &level) < 0) {
		ctl_reply_errorf(r, a, "unknown level '%s': debug, info, warning or error",
		                 req->level);
		return;
	}
	if (level > old) {
		aya_log_set_level((enum aya_log_level)level);
	}
	if (level != old) {
		log_info("log: level %s -> %s (ayactl), until the next reload",
		         ctl_log_level_name(old), ctl_log_level_name(level));
	}
	aya_log_set_level((enum aya_log_level)level);
	r->log_level = (ctl_log_level_t){.level = ctl_log_level_name(level),
	                                 .config_level = ctl_log_level_name(d->cfg->log_level),
	                                 .changed = level != old};
}

/* The dnsd counters of `top`: the responses by rcode. */
static ctl_counter_t *top_rcodes(const dnsd_stats_t *st, aya_arena_t *a, size_t *n)
{
	const aya_stat_table_t *t = &dnsd_stats_table;
	ctl_counter_t *c = aya_arena_alloc(a, (t->n + 1) * sizeof(*c));
	*n = 0;
	for (size_t k = 0; c != NULL && k < t->n; k++) {
		const aya_stat_t *row = &t->row[k];
		if (row->family != NULL && strcmp(row->family, "aya_dns_responses_total") == 0) {
			c[(*n)++] = (ctl_counter_t){.name = row->name,
			                            .value = aya_stat_value(row, st)};
		}
	}
	return c;
}

/* Service s of d->pol for `top`: its pools' answer totals (folded), admit and health. */
static int top_service(ayad_t *d, size_t s, aya_arena_t *a, ctl_top_service_t *out)
{
	const pol_service_t *svc = pol_service_get(d->pol, s);
	ctl_top_pool_t *v = aya_arena_alloc(a, (svc->n_pools + 1) * sizeof(*v));
	if (v == NULL) {
		return -ENOMEM;
	}
	for (size_t p = 0; p < svc->n_pools; p++) {
		const pol_pool_t *pp = &svc->pools[p];
		ctl_pool_t info = {.admit = pp->admit, .owner = ""};
		pool_info(d, s, p, &info, a);
		bool up = false;
		for (size_t e = pp->first; e < (size_t)pp->first + pp->count; e++) {
			up = up || (svc->endpoints[e].healthy && !svc->endpoints[e].drained);
		}
		v[p] = (ctl_top_pool_t){.region = pp->region,
		                        .answers = ayad_metrics_answers(d, svc->name, pp->region),
		                        .admit = info.admit,
		                        .healthy = up};
	}
	*out = (ctl_top_service_t){.name = svc->name, .pools = v, .n_pools = svc->n_pools};
	return 0;
}

/* top: cumulative counters for `ayactl top`, which computes the rates. */
static void on_top(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	ctl_top_t *t = &r->top;
	dnsd_stats_t st;
	dnsd_server_stats(d->srv, &st);
	ayad_metrics_fold(d);
	size_t n_svc = pol_service_count(d->pol);
	const ayad_event_t *ev[AYAD_EVENTS];
	size_t n_ev = ayad_events_get(d, ev, AYAD_EVENTS);
	ctl_top_service_t *sv = aya_arena_alloc(a, (n_svc + 1) * sizeof(*sv));
	ctl_top_event_t *te = aya_arena_alloc(a, (n_ev + 1) * sizeof(*te));
	t->counters = top_rcodes(&st, a, &t->n_counters);
	if (sv == NULL || te == NULL || t->counters == NULL) {
		ctl_reply_error(r, NULL);
		return;
	}
	for (size_t s = 0; s < n_svc; s++) {
		if (top_service(d, s, a, &sv[s]) < 0) {
			ctl_reply_error(r, NULL);
			return;
		}
	}
	for (size_t i = 0; i < n_ev; i++) {
		te[i] = (ctl_top_event_t){.ms = ev[i]->ms, .text = ev[i]->text};
	}
	t->node = d->cfg->node.name;
	t->now_ms = aya_wall_ms();
	t->queries = st.queries;
	t->services = sv;
	t->n_services = n_svc;
	t->events = te;
	t->n_events = n_ev;
}

const ctl_handler_fn ayad_ctl_handlers[CTL_CMD_COUNT] = {
        [CTL_CMD_STATUS] = on_status,
        [CTL_CMD_RELOAD] = on_reload,
        [CTL_CMD_SERVICES] = on_services,
        [CTL_CMD_DRAIN] = on_drain,
        [CTL_CMD_UNDRAIN] = on_drain,
        [CTL_CMD_EXPLAIN] = on_explain,
        [CTL_CMD_BACKENDS] = on_backends,
        [CTL_CMD_MEMBERS] = on_members,
        [CTL_CMD_KEYRING] = on_keyring,
        [CTL_CMD_COST] = on_cost,
        [CTL_CMD_TOP] = on_top,
        [CTL_CMD_LOG_LEVEL] = on_log_level,
        [CTL_CMD_DNSSEC] = ayad_on_dnssec,
};
