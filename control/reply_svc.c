/*
 * Reply bodies of the service commands from the daemon's objects:
 * `services` (a policy snapshot and the stored drains), the service and
 * drain target named by `drain`/`undrain`, and `explain`.
 *
 * Control thread only: the snapshot cannot be freed during a call. Reply
 * strings borrow from the snapshot (names, endpoint texts) or are copied into
 * the scratch arena; the reply is packed before the snapshot can go.
 * `explain` calls pol_answer() with a trace: the same code as a query.
 */
#include "control/control_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/addr.h"
#include "common/dname.h"
#include "common/rng.h"
#include "config/config.h"
#include "policy/policy.h"
#include "state/state.h"

const char *ctl_afmt(aya_arena_t *a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return aya_arena_strdup(a, buf);
}

void ctl_reply_error(ctl_reply_t *r, const char *msg)
{
	r->ok = false;
	r->error = msg != NULL ? msg : "out of memory";
}

void ctl_reply_errorf(ctl_reply_t *r, aya_arena_t *a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctl_reply_error(r, aya_arena_strdup(a, buf));
}

/* "geo" (static), "first_n 3" (in the arena): config's text of the filter. */
static const char *filter_text(aya_arena_t *a, const cfg_filter_t *f)
{
	if (!cfg_filter_has_arg(f->kind)) {
		return cfg_filter_name(f->kind);
	}
	char text[64];
	cfg_filter_text(f, text, sizeof(text));
	return ctl_afmt(a, "%s", text);
}

/* ---- services ---- */

static int service_reply(aya_arena_t *a, const pol_service_t *ps, ctl_service_t *out)
{
	const char **policy = aya_arena_alloc(a, (ps->n_filters + 1u) * sizeof(*policy));
	ctl_pool_t *pools = aya_arena_alloc(a, (ps->n_pools + 1u) * sizeof(*pools));
	ctl_endpoint_t *eps = aya_arena_alloc(a, (ps->n_endpoints + 1u) * sizeof(*eps));
	if (policy == NULL || pools == NULL || eps == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < ps->n_filters; i++) {
		policy[i] = filter_text(a, &ps->filters[i]);
	}
	for (size_t k = 0; k < ps->n_endpoints; k++) {
		const pol_endpoint_t *e = &ps->endpoints[k];
		eps[k] = (ctl_endpoint_t){.address = e->text,
		                          .weight = e->weight,
		                          .capacity = e->capacity,
		                          .healthy = e->healthy,
		                          .drained = e->drained};
	}
	for (size_t p = 0; p < ps->n_pools; p++) {
		const pol_pool_t *pp = &ps->pools[p];
		pools[p] = (ctl_pool_t){.region = pp->region,
		                        .cost = pp->cost,
		                        .config_cost = pp->cost, /* ctl_services_mark_costs() */
		                        .burst = pp->burst,
		                        .drained = pp->drained,
		                        .endpoints = eps + pp->first,
		                        .n_endpoints = pp->count,
		                        .utilization = pp->utilization,
		                        .forecast = pp->forecast,
		                        .target = pp->target,
		                        .limit = pp->limit,
		                        .admit = pp->admit,
		                        .closed = pp->closed,
		                        .owner = "",
		                        .share = NAN};
	}
	*out = (ctl_service_t){.name = ps->name,
	                       .ttl_s = ps->ttl_s,
	                       .policy = policy,
	                       .n_policy = ps->n_filters,
	                       .pools = pools,
	                       .n_pools = ps->n_pools,
	                       .when_all_down =
	                               ps->all_down == CFG_ALL_DOWN_EMPTY ? "empty" : "answer_all"};
	return 0;
}

static const char *kind_str(state_target_kind_t k)
{
	return k == STATE_TARGET_REGION    ? "region"
	       : k == STATE_TARGET_ADDRESS ? "address"
	                                   : "service";
}

/* The stored drains, copied (the caller frees its list before the reply is packed). */
static int drains_reply(const state_drain_t *list, size_t n, aya_arena_t *a, ctl_services_t *s)
{
	ctl_drain_rec_t *dr = aya_arena_alloc(a, (n + 1) * sizeof(*dr));
	for (size_t i = 0; dr != NULL && i < n; i++) {
		const state_drain_t *x = &list[i];
		dr[i] = (ctl_drain_rec_t){
		        .service = aya_arena_strdup(a, x->service),
		        .kind = kind_str(x->kind),
		        .target = aya_arena_strdup(a, x->target != NULL ? x->target : ""),
		        .since_s = x->since_s,
		        .origin = aya_arena_strdup(a, x->origin != NULL ? x->origin : ""),
		        .reason = aya_arena_strdup(a, x->note != NULL ? x->note : ""),
		        .until_s = x->until_s};
		if (dr[i].service == NULL || dr[i].target == NULL || dr[i].origin == NULL ||
		    dr[i].reason == NULL) {
			dr = NULL;
		}
	}
	s->drains = dr;
	s->n_drains = n;
	return dr != NULL ? 0 : -ENOMEM;
}

int ctl_services_fill(const pol_snap_t *pol, const state_drain_t *drains, size_t n_drains,
                      aya_arena_t *a, ctl_services_t *out)
{
	size_t n = pol_service_count(pol);
	ctl_service_t *sv = aya_arena_alloc(a, (n + 1) * sizeof(*sv));
	if (sv == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (service_reply(a, pol_service_get(pol, i), &sv[i]) < 0) {
			return -ENOMEM;
		}
	}
	out->services = sv;
	out->n_services = n;
	return drains_reply(drains, n_drains, a, out);
}

void ctl_services_pool_info(ctl_services_t *s, aya_arena_t *a, ctl_pool_info_fn fn, void *ctx)
{
	for (size_t i = 0; i < s->n_services; i++) {
		/* Ours: allocated in the arena by ctl_services_fill. */
		ctl_pool_t *pools = (ctl_pool_t *)(uintptr_t)s->services[i].pools;
		for (size_t p = 0; p < s->services[i].n_pools; p++) {
			fn(ctx, i, p, &pools[p], a);
		}
	}
}

/* ---- finding a service by full or short name, and a drain target ---- */

const pol_service_t *ctl_service_resolve(const pol_snap_t *pol, const cfg_t *cfg, const char *name,
                                         aya_arena_t *a, const char **err)
{
	uint8_t owner[AYA_DNAME_MAX];
	if (name == NULL || name[0] == '\0') {
		*err = "no service given";
		return NULL;
	}
	const pol_service_t *ps = NULL;
	if (aya_dname_from_str(name, owner) >= 0 && (ps = pol_service_find(pol, owner))) {
		return ps;
	}
	/* A name relative to one of the zones. */
	size_t len = strlen(name);
	size_t hits = 0;
	for (size_t z = 0; len > 0 && name[len - 1] != '.' && z < cfg->n_zones; z++) {
		char full[AYA_DNAME_MAX * 4 + 2];
		snprintf(full, sizeof(full), "%s.%s", name, cfg->zones[z].name);
		const pol_service_t *p = NULL;
		if (aya_dname_from_str(full, owner) >= 0 &&
		    (p = pol_service_find(pol, owner)) != NULL) {
			hits++;
			ps = hits == 1 ? p : ps;
		}
	}
	if (hits == 1) {
		return ps;
	}
	*err = hits > 1 ? ctl_afmt(a, "service '%s' is in several zones: give its full name", name)
	                : ctl_afmt(a, "unknown service '%s' (see ayactl services)", name);
	return NULL;
}

const char *ctl_drain_target(const pol_service_t *ps, const char *target, aya_arena_t *a,
                             const char **err)
{
	uint8_t addr[16];
	int fam = inet_pton(AF_INET, target, addr) == 1    ? AF_INET
	          : inet_pton(AF_INET6, target, addr) == 1 ? AF_INET6
	                                                   : 0;
	for (size_t k = 0; fam != 0 && k < ps->n_endpoints; k++) {
		const pol_endpoint_t *e = &ps->endpoints[k];
		if (e->family == fam && memcmp(e->addr, addr, fam == AF_INET ? 4 : 16) == 0) {
			return target;
		}
	}
	for (size_t p = 0; fam == 0 && p < ps->n_pools; p++) {
		if (strcasecmp(ps->pools[p].region, target) == 0) {
			return ps->pools[p].region;
		}
	}
	*err = ctl_afmt(a, "service %s has no %s '%s'", ps->name, fam != 0 ? "endpoint" : "region",
	                target);
	return NULL;
}

int ctl_drain_resolve(const pol_snap_t *pol, const cfg_t *cfg, const char *service,
                      const char *target, aya_arena_t *a, const char **svc_out,
                      const char **target_out, const char **err)
{
	const pol_service_t *ps = ctl_service_resolve(pol, cfg, service, a, err);
	const char *t = NULL;
	if (ps != NULL && target != NULL && target[0] != '\0') {
		t = ctl_drain_target(ps, target, a, err);
		ps = t != NULL ? ps : NULL;
	}
	if (ps == NULL) {
		return -ENOENT;
	}
	/* Copied: the snapshot they live in may be replaced before the reply is packed. */
	*svc_out = aya_arena_strdup(a, ps->name);
	*target_out = aya_arena_strdup(a, t != NULL ? t : "");
	if (*svc_out == NULL || *target_out == NULL) {
		*err = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * Why a drain or undrain of ps moves no answer, or NULL: the chain has no
 * `drain` step, or (when_all_down: answer_all) every endpoint of a family
 * is drained, so the chain skips `drain` and answers them all anyway.
 */
const char *ctl_drain_warning(const pol_service_t *ps, aya_arena_t *a)
{
	bool has_drain = false;
	for (size_t i = 0; i < ps->n_filters; i++) {
		has_drain |= ps->filters[i].kind == CFG_FILTER_DRAIN;
	}
	if (!has_drain) {
		return ctl_afmt(a,
		                "the policy of %s has no drain step: drains change none of its "
		                "answers (add drain to its policy)",
		                ps->name);
	}
	if (ps->all_down != CFG_ALL_DOWN_ANSWER_ALL) {
		return NULL;
	}
	size_t n[2] = {0, 0}, drained[2] = {0, 0};
	for (size_t k = 0; k < ps->n_endpoints; k++) {
		int f = ps->endpoints[k].family == AF_INET6;
		n[f]++;
		drained[f] += ps->endpoints[k].drained;
	}
	bool all4 = n[0] > 0 && drained[0] == n[0], all6 = n[1] > 0 && drained[1] == n[1];
	if (!all4 && !all6) {
		return NULL;
	}
	/* A family without endpoints has no answers to change. */
	bool all = (all4 || n[0] == 0) && (all6 || n[1] == 0);
	return ctl_afmt(a,
	                "%s of %s is drained and its when_all_down is answer_all: %s answers "
	                "still list them all (when_all_down: empty answers none)",
	                all    ? "every endpoint"
	                : all4 ? "every IPv4 endpoint"
	                       : "every IPv6 endpoint",
	                ps->name,
	                all    ? "its"
	                : all4 ? "A"
	                       : "AAAA");
}

/* ---- explain ---- */

int ctl_explain_client(const char *ip, bool has_subnet, unsigned subnet, aya_arena_t *a,
                       pol_client_t *c, const char **err)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	ip = ip != NULL ? ip : "";
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
	} else {
		*err = ctl_afmt(a, "'%s' is not an IPv4 or IPv6 address", ip);
		return -EINVAL;
	}
	/* IPv4-mapped IPv6 becomes IPv4, full prefix, no ECS. */
	if (pol_client_from_sockaddr((struct sockaddr *)&ss, c) < 0) {
		*err = "bad client address";
		return -EINVAL;
	}
	if (!has_subnet) {
		return 0;
	}
	unsigned max = c->family == AF_INET ? 32 : 128;
	if (subnet == 0 || subnet > max) {
		*err = ctl_afmt(a, "--subnet %u: must be 1..%u for this address", subnet, max);
		return -EINVAL;
	}
	/* ECS carries only the first SOURCE PREFIX-LENGTH bits (RFC 7871 6). */
	aya_addr_mask(c->addr, max / 8, subnet);
	c->source_prefix = (uint8_t)subnet;
	c->ecs = true;
	return 0;
}

static const char *rc_str(int rc)
{
	return rc == POL_OK ? "answer" : rc == POL_EMPTY ? "empty" : "nodata";
}

static const char *const *pool_order_names(aya_arena_t *a, const pol_trace_t *t)
{
	const char **v = aya_arena_alloc(a, (t->n_pool_order + 1u) * sizeof(*v));
	for (size_t i = 0; v != NULL && i < t->n_pool_order; i++) {
		v[i] = t->svc->pools[t->pool_order[i]].region;
	}
	return v;
}

/* The trace's events, one per endpoint and step. */
static ctl_explain_event_t *trace_events(aya_arena_t *a, const pol_trace_t *t)
{
	const pol_service_t *svc = t->svc;
	ctl_explain_event_t *ev = aya_arena_alloc(a, (t->n_ev + 1u) * sizeof(*ev));
	for (unsigned i = 0; ev != NULL && i < t->n_ev; i++) {
		const pol_trace_event_t *x = &t->ev[i];
		const pol_endpoint_t *ep =
		        x->endpoint < svc->n_endpoints ? &svc->endpoints[x->endpoint] : NULL;
		ev[i] = (ctl_explain_event_t){
		        .step = x->step + 1u,
		        .filter = x->step < svc->n_filters
		                          ? cfg_filter_name(svc->filters[x->step].kind)
		                          : "?",
		        .endpoint = ep != NULL ? ep->text : "",
		        .region = ep != NULL ? svc->pools[ep->pool].region : "",
		        .reason = pol_reason_str((pol_reason_t)x->reason),
		        .tier = x->tier,
		        .kept = x->reason == POL_R_KEPT || x->reason == POL_R_ORDERED};
	}
	return ev;
}

static int trace_fill(aya_arena_t *a, const pol_trace_t *t, ctl_explain_t *e)
{
	const pol_service_t *svc = t->svc;
	const char **filters = aya_arena_alloc(a, (svc->n_filters + 1u) * sizeof(*filters));
	const char **answer = aya_arena_alloc(a, (t->result.count + 1u) * sizeof(*answer));
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(t->client.family, t->client.addr, ip, sizeof(ip));
	e->client = aya_arena_strdup(a, ip);
	e->pool_order = pool_order_names(a, t);
	e->events = trace_events(a, t);
	if (filters == NULL || answer == NULL || e->events == NULL || e->client == NULL ||
	    e->pool_order == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < svc->n_filters; i++) {
		filters[i] = filter_text(a, &svc->filters[i]);
	}
	for (unsigned i = 0; i < t->result.count; i++) {
		answer[i] = t->result.ep[i]->text;
	}
	const geo_loc_t *l = &t->loc;
	e->source_prefix = t->client.source_prefix;
	e->ecs = t->client.ecs;
	e->found = l->found;
	e->country = aya_arena_strdup(a, l->country);
	e->continent = aya_arena_strdup(a, l->continent);
	e->has_location = l->has_location;
	e->lat = l->lat;
	e->lon = l->lon;
	e->db_prefix = l->prefix;
	e->rule = l->rule != NULL ? l->rule : "";
	e->geo_used = t->geo_used;
	e->geo_scope = t->geo_scope;
	e->n_pool_order = t->n_pool_order;
	e->load_draw = t->load_draw;
	ctl_explain_load_t *load = aya_arena_alloc(a, (t->n_pool_order + 1u) * sizeof(*load));
	if (load == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n_pool_order; i++) {
		const pol_pool_t *pp = &svc->pools[t->pool_order[i]];
		load[i] = (ctl_explain_load_t){.region = pp->region,
		                               .admit = pp->admit,
		                               .closed = pp->closed,
		                               .utilization = pp->utilization,
		                               .forecast = pp->forecast};
	}
	e->load = load;
	e->n_load = t->n_pool_order;
	e->filters = filters;
	e->n_filters = svc->n_filters;
	e->n_events = t->n_ev;
	e->result = rc_str(t->rc);
	e->answer = answer;
	e->n_answer = t->result.count;
	e->ttl_s = t->result.ttl_s;
	e->scope = t->result.scope;
	return e->country != NULL && e->continent != NULL ? 0 : -ENOMEM;
}

/* The weighted filter's draw: any value will do, but not the same one each time. */
static uint64_t explain_rand(void)
{
	static aya_rng_t rng;
	static bool seeded;
	if (!seeded) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		aya_rng_seed(&rng, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
		seeded = true;
	}
	return aya_rng_next(&rng);
}

int ctl_explain_fill(const pol_snap_t *pol, const cfg_t *cfg, const ctl_request_t *req,
                     const char *geo_notice, aya_arena_t *a, ctl_explain_t *out, const char **err)
{
	pol_client_t client;
	const pol_service_t *svc = ctl_service_resolve(pol, cfg, req->name, a, err);
	if (svc == NULL ||
	    ctl_explain_client(req->client, req->has_subnet, req->subnet, a, &client, err) < 0) {
		return -EINVAL;
	}
	if (req->qtype != 0 && req->qtype != 1 && req->qtype != 28) {
		*err = "explain answers A or AAAA only";
		return -EINVAL;
	}
	int fam = req->qtype == 28 ? AF_INET6 : AF_INET;
	/* About 10 KiB: from the scratch arena, not the stack. */
	pol_trace_t *t = aya_arena_alloc(a, sizeof(*t));
	*err = NULL;
	if (t == NULL) {
		return -ENOMEM;
	}
	pol_result_t res;
	int rc = pol_answer(pol, svc, fam, &client, explain_rand(), &res, t);
	if (rc < 0) {
		*err = ctl_afmt(a, "explain: %s", strerror(-rc));
		return rc;
	}
	char probe[1];
	size_t need = pol_trace_format(t, probe, sizeof(probe));
	char *text = aya_arena_alloc(a, need + 1);
	if (text == NULL || trace_fill(a, t, out) < 0) {
		return -ENOMEM;
	}
	pol_trace_format(t, text, need + 1);
	out->service = svc->name;
	out->qtype = fam == AF_INET ? "A" : "AAAA";
	out->text = text;
	/* The DB-IP licence asks for the notice wherever its data shows. */
	out->attribution = cfg->geo.database != NULL && t->loc.found ? geo_notice : "";
	return 0;
}
