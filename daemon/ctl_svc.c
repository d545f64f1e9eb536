/*
 * ayad's service commands: `services`, `drain`/`undrain` and `explain`.
 *
 * They run on the control thread, the only publisher of snapshots, so they
 * read d->pol without RCU; reply strings may borrow from it because the reply
 * is packed before the handler's caller returns to the event loop. A drain
 * change is persisted first (state_drain_set() is durable when it returns),
 * then a new policy snapshot is compiled with the current geo tree and
 * published: a crash in between loses nothing, the next start applies it.
 * `explain` calls pol_answer() with a trace: the same code as a query.
 */
#include "daemon/ayad.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/rng.h"

/* printf into the scratch arena; NULL when out of memory. */
AYA_PRINTF(2, 3) static const char *afmt(aya_arena_t *a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return aya_arena_strdup(a, buf);
}

static void fail(ctl_reply_t *r, const char *msg)
{
	r->ok = false;
	r->error = msg != NULL ? msg : "out of memory";
}

/* "geo" (static), "first_n 3" (in the arena): config's text of the filter. */
static const char *filter_text(aya_arena_t *a, const cfg_filter_t *f)
{
	if (!cfg_filter_has_arg(f->kind)) {
		return cfg_filter_name(f->kind);
	}
	char text[64];
	cfg_filter_text(f, text, sizeof(text));
	return afmt(a, "%s", text);
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
		                        .burst = pp->burst,
		                        .drained = pp->drained,
		                        .endpoints = eps + pp->first,
		                        .n_endpoints = pp->count};
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

static int drains_reply(ayad_t *d, aya_arena_t *a, ctl_services_t *s)
{
	state_drain_t *list = NULL;
	size_t n = 0;
	int rc = state_drain_list(d->state, &list, &n);
	if (rc < 0) {
		return rc;
	}
	ctl_drain_rec_t *dr = aya_arena_alloc(a, (n + 1) * sizeof(*dr));
	for (size_t i = 0; dr != NULL && i < n; i++) {
		const state_drain_t *x = &list[i];
		dr[i] = (ctl_drain_rec_t){
		        .service = aya_arena_strdup(a, x->service),
		        .kind = kind_str(x->kind),
		        .target = aya_arena_strdup(a, x->target != NULL ? x->target : ""),
		        .since_s = x->since_s,
		        .origin = aya_arena_strdup(a, x->origin != NULL ? x->origin : "")};
		if (dr[i].service == NULL || dr[i].target == NULL || dr[i].origin == NULL) {
			dr = NULL;
		}
	}
	state_drain_list_free(list, n);
	s->drains = dr;
	s->n_drains = n;
	return dr != NULL ? 0 : -ENOMEM;
}

void ayad_ctl_services(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	(void)req;
	ayad_t *d = arg;
	size_t n = pol_service_count(d->pol);
	ctl_service_t *sv = aya_arena_alloc(a, (n + 1) * sizeof(*sv));
	if (sv == NULL) {
		fail(r, NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (service_reply(a, pol_service_get(d->pol, i), &sv[i]) < 0) {
			fail(r, NULL);
			return;
		}
	}
	r->services.services = sv;
	r->services.n_services = n;
	int rc = drains_reply(d, a, &r->services);
	if (rc < 0) {
		fail(r, afmt(a, "cannot read drains: %s", strerror(-rc)));
	}
}

/* ---- finding a service by full or short name ---- */

/*
 * "www.svc.example.com", "WWW.svc.example.com." or, when only one zone has
 * it, "www". NULL with *err set otherwise.
 */
static const pol_service_t *resolve_service(const ayad_t *d, aya_arena_t *a, const char *name,
                                            const char **err)
{
	uint8_t owner[AYA_DNAME_MAX];
	if (name == NULL || name[0] == '\0') {
		*err = "no service given";
		return NULL;
	}
	const pol_service_t *ps = NULL;
	if (aya_dname_from_str(name, owner) >= 0 && (ps = pol_service_find(d->pol, owner))) {
		return ps;
	}
	/* A name relative to one of the zones. */
	size_t len = strlen(name);
	size_t hits = 0;
	for (size_t z = 0; len > 0 && name[len - 1] != '.' && z < d->cfg->n_zones; z++) {
		char full[AYA_DNAME_MAX * 4 + 2];
		snprintf(full, sizeof(full), "%s.%s", name, d->cfg->zones[z].name);
		const pol_service_t *p = NULL;
		if (aya_dname_from_str(full, owner) >= 0 &&
		    (p = pol_service_find(d->pol, owner)) != NULL) {
			hits++;
			ps = hits == 1 ? p : ps;
		}
	}
	if (hits == 1) {
		return ps;
	}
	*err = hits > 1 ? afmt(a, "service '%s' is in several zones: give its full name", name)
	                : afmt(a, "unknown service '%s' (see ayactl services)", name);
	return NULL;
}

/*
 * The canonical target for ps: the pool's region name, or the address as
 * given when it is one of the service's endpoints; NULL with *err when it is
 * neither.
 */
static const char *resolve_target(const pol_service_t *ps, aya_arena_t *a, const char *target,
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
	*err = afmt(a, "service %s has no %s '%s'", ps->name, fam != 0 ? "endpoint" : "region",
	            target);
	return NULL;
}

/* Compile a policy snapshot with the stored drains and publish it. */
static int republish(ayad_t *d, char *err, size_t errlen)
{
	pol_snap_t *pol = NULL;
	size_t unmatched = 0;
	int rc = ayad_pol_build(d, d->cfg, d->geo, &pol, &unmatched, err, errlen);
	if (rc < 0) {
		return rc;
	}
	dnsd_server_publish(d->srv, NULL, pol);
	d->pol = pol;
	return 0;
}

void ayad_ctl_drain(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	bool drain = req->cmd == CTL_CMD_DRAIN;
	const char *err = NULL;
	const pol_service_t *ps = resolve_service(d, a, req->service, &err);
	const char *target = NULL;
	if (ps != NULL && req->target != NULL && req->target[0] != '\0') {
		target = resolve_target(ps, a, req->target, &err);
		ps = target != NULL ? ps : NULL;
	}
	if (ps == NULL) {
		fail(r, err);
		return;
	}
	/* Copied: the snapshot they live in is freed by the publish below. */
	const char *service = aya_arena_strdup(a, ps->name);
	target = aya_arena_strdup(a, target != NULL ? target : "");
	if (service == NULL || target == NULL) {
		fail(r, NULL);
		return;
	}
	int rc = state_drain_set(d->state, service, target, drain, NULL);
	if (rc < 0) {
		fail(r, afmt(a, "cannot store the drain: %s", strerror(-rc)));
		return;
	}
	char buf[512] = "";
	if (rc == 1) {
		log_info("%s: %s %s (ayactl)", drain ? "drain" : "undrain", service,
		         target[0] != '\0' ? target : "(every pool)");
		ayad_gossip_kick(d); /* to the peers now */
		int prc = republish(d, buf, sizeof(buf));
		if (prc < 0) {
			log_err("%s: stored, but the policy snapshot failed: %s",
			        ctl_cmd_name(req->cmd), buf);
			fail(r, afmt(a, "stored, but not applied until the next reload: %s", buf));
			return;
		}
	}
	r->drain = (ctl_drain_t){.service = service,
	                         .target = target,
	                         .drained = drain,
	                         .changed = rc == 1,
	                         .unmatched = (uint32_t)pol_snap_unmatched_drains(d->pol)};
}

/* ---- explain ---- */

/* The client as the query path would see it. 0, or -EINVAL with *err. */
static int explain_client(const ctl_request_t *req, aya_arena_t *a, pol_client_t *c,
                          const char **err)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const char *ip = req->client != NULL ? req->client : "";
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
	} else {
		*err = afmt(a, "'%s' is not an IPv4 or IPv6 address", ip);
		return -EINVAL;
	}
	/* IPv4-mapped IPv6 becomes IPv4, full prefix, no ECS. */
	if (pol_client_from_sockaddr((struct sockaddr *)&ss, c) < 0) {
		*err = "bad client address";
		return -EINVAL;
	}
	if (!req->has_subnet) {
		return 0;
	}
	unsigned max = c->family == AF_INET ? 32 : 128;
	if (req->subnet == 0 || req->subnet > max) {
		*err = afmt(a, "--subnet %u: must be 1..%u for this address", req->subnet, max);
		return -EINVAL;
	}
	/* ECS carries only the first SOURCE PREFIX-LENGTH bits (RFC 7871 6). */
	for (unsigned bit = req->subnet; bit < max; bit++) {
		c->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	}
	c->source_prefix = (uint8_t)req->subnet;
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

static int explain_fill(aya_arena_t *a, const pol_trace_t *t, ctl_explain_t *e)
{
	const pol_service_t *svc = t->svc;
	const char **filters = aya_arena_alloc(a, (svc->n_filters + 1u) * sizeof(*filters));
	const char **answer = aya_arena_alloc(a, (t->result.count + 1u) * sizeof(*answer));
	ctl_explain_event_t *ev = aya_arena_alloc(a, (t->n_ev + 1u) * sizeof(*ev));
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(t->client.family, t->client.addr, ip, sizeof(ip));
	e->client = aya_arena_strdup(a, ip);
	e->pool_order = pool_order_names(a, t);
	if (filters == NULL || answer == NULL || ev == NULL || e->client == NULL ||
	    e->pool_order == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < svc->n_filters; i++) {
		filters[i] = filter_text(a, &svc->filters[i]);
	}
	for (unsigned i = 0; i < t->result.count; i++) {
		answer[i] = t->result.ep[i]->text;
	}
	for (unsigned i = 0; i < t->n_ev; i++) {
		const pol_trace_event_t *x = &t->ev[i];
		const pol_endpoint_t *ep =
		        x->endpoint < svc->n_endpoints ? &svc->endpoints[x->endpoint] : NULL;
		ev[i] = (ctl_explain_event_t){
		        .step = x->step,
		        .filter = x->step < svc->n_filters
		                          ? cfg_filter_name(svc->filters[x->step].kind)
		                          : "?",
		        .endpoint = ep != NULL ? ep->text : "",
		        .region = ep != NULL ? svc->pools[ep->pool].region : "",
		        .reason = pol_reason_str((pol_reason_t)x->reason),
		        .tier = x->tier,
		        .kept = x->reason == POL_R_KEPT || x->reason == POL_R_ORDERED};
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
	e->filters = filters;
	e->n_filters = svc->n_filters;
	e->events = ev;
	e->n_events = t->n_ev;
	e->result = rc_str(t->rc);
	e->answer = answer;
	e->n_answer = t->result.count;
	e->ttl_s = t->result.ttl_s;
	e->scope = t->result.scope;
	return e->country != NULL && e->continent != NULL ? 0 : -ENOMEM;
}

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

void ayad_ctl_explain(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	const char *err = NULL;
	pol_client_t client;
	const pol_service_t *svc = resolve_service(d, a, req->name, &err);
	if (svc == NULL || explain_client(req, a, &client, &err) < 0) {
		fail(r, err);
		return;
	}
	if (req->qtype != 0 && req->qtype != 1 && req->qtype != 28) {
		fail(r, "explain answers A or AAAA only");
		return;
	}
	int fam = req->qtype == 28 ? AF_INET6 : AF_INET;
	/* About 10 KiB: from the scratch arena, not the stack. */
	pol_trace_t *t = aya_arena_alloc(a, sizeof(*t));
	if (t == NULL) {
		fail(r, NULL);
		return;
	}
	pol_result_t res;
	int rc = pol_answer(d->pol, svc, fam, &client, explain_rand(), &res, t);
	if (rc < 0) {
		fail(r, afmt(a, "explain: %s", strerror(-rc)));
		return;
	}
	char probe[1];
	size_t need = pol_trace_format(t, probe, sizeof(probe));
	char *text = aya_arena_alloc(a, need + 1);
	if (text == NULL || explain_fill(a, t, &r->explain) < 0) {
		fail(r, NULL);
		return;
	}
	pol_trace_format(t, text, need + 1);
	ctl_explain_t *e = &r->explain;
	e->service = svc->name;
	e->qtype = fam == AF_INET ? "A" : "AAAA";
	e->text = text;
	/* The DB-IP licence asks for the notice wherever its data shows. */
	e->attribution = d->cfg->geo.database != NULL && t->loc.found ? AYA_GEO_NOTICE : "";
}
