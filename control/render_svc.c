/*
 * Rendering of the service commands (`services`, `drain`/`undrain`,
 * `explain`): aligned text and JSON. The JSON keys are stable (scripts
 * depend on them): add keys, never rename.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ---- text ---- */

static int max_address_width(const ctl_service_t *s)
{
	int w = 7;
	for (size_t p = 0; p < s->n_pools; p++) {
		for (size_t i = 0; i < s->pools[p].n_endpoints; i++) {
			int l = (int)strlen(s->pools[p].endpoints[i].address);
			w = l > w ? l : w;
		}
	}
	return w;
}

/* "0.72", or "-" when unknown. */
static const char *num(char *buf, size_t len, double v, int prec)
{
	if (isnan(v)) {
		return "-";
	}
	snprintf(buf, len, "%.*f", prec, v);
	return buf;
}

/* The load loop of a pool: one line under its header. */
static void write_load(FILE *f, const ctl_pool_t *p)
{
	char u[32], fc[32], t[32], l[32], a[32], sh[32];
	fprintf(f,
	        "    load  utilization %s  forecast %s  target %s  limit %s  admit %s  %s  "
	        "owner %s  share %s%s\n",
	        num(u, sizeof(u), p->utilization, 2), num(fc, sizeof(fc), p->forecast, 2),
	        num(t, sizeof(t), p->target, 2), num(l, sizeof(l), p->limit, 2),
	        num(a, sizeof(a), p->admit, 3), p->closed ? "CLOSED" : "open",
	        p->owner != NULL && p->owner[0] != '\0' ? p->owner : "-",
	        num(sh, sizeof(sh), p->share, 1), isnan(p->share) ? "" : "%");
}

static void write_service(FILE *f, const ctl_service_t *s)
{
	fprintf(f, "%s  ttl %" PRIu32 "s  when all down: %s\n  policy ", s->name, s->ttl_s,
	        s->when_all_down);
	for (size_t i = 0; i < s->n_policy; i++) {
		fprintf(f, "%s%s", i == 0 ? "" : ", ", s->policy[i]);
	}
	fputc('\n', f);
	int w = max_address_width(s);
	for (size_t p = 0; p < s->n_pools; p++) {
		const ctl_pool_t *pool = &s->pools[p];
		char set[64] = "";
		if (pool->cost_overridden) {
			snprintf(set, sizeof(set), " (set, config %g)", pool->config_cost);
		}
		fprintf(f, "  pool %s  cost %g%s%s%s\n", pool->region, pool->cost, set,
		        pool->burst ? "  burst" : "", pool->drained ? "  DRAINED" : "");
		write_load(f, pool);
		for (size_t i = 0; i < pool->n_endpoints; i++) {
			const ctl_endpoint_t *e = &pool->endpoints[i];
			fprintf(f, "    %-*s  weight %-4" PRIu32 "  %-9s  %s\n", w, e->address,
			        e->weight, e->healthy ? "healthy" : "UNHEALTHY",
			        e->drained ? "drained" : "active");
		}
	}
}

static void fmt_time(char *buf, size_t len, int64_t unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, len, "%" PRId64, unix_s);
	}
}

/* "45s", "12m", "2h05m", "3d04h": a whole-second span, rounded down. */
static void fmt_span(char *buf, size_t len, int64_t s)
{
	s = s > 0 ? s : 0;
	if (s < 60) {
		snprintf(buf, len, "%" PRId64 "s", s);
	} else if (s < 3600) {
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	} else if (s < 86400) {
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	} else {
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
	}
}

/*
 * One drain: what, who set it and when, until when, why:
 *   www.example.com  region eu  set 2026-...Z (5m ago) by n1, until ...Z (in 1h55m): deploy
 * Without the node's clock (an older ayad) no ages.
 */
static void write_drain_rec(FILE *f, const ctl_drain_rec_t *d, int64_t now_s)
{
	char when[64], age[32];
	fmt_time(when, sizeof(when), d->since_s);
	fprintf(f, "  %s  %s%s%s  set %s", d->service, d->kind, d->target[0] != '\0' ? " " : "",
	        d->target, when);
	if (now_s > 0) {
		fmt_span(age, sizeof(age), now_s - d->since_s);
		fprintf(f, " (%s ago)", age);
	}
	fprintf(f, "%s%s", d->origin[0] != '\0' ? " by " : "", d->origin);
	if (d->until_s > 0) {
		fmt_time(when, sizeof(when), d->until_s);
		fprintf(f, ", until %s", when);
		if (now_s > 0) {
			fmt_span(age, sizeof(age), d->until_s - now_s);
			fprintf(f, " (in %s)", age);
		}
	}
	const char *reason = d->reason != NULL ? d->reason : "";
	fprintf(f, "%s%s\n", reason[0] != '\0' ? ": " : "", reason);
}

void ctl_services_write_text(FILE *f, const ctl_services_t *s)
{
	if (s->n_services == 0) {
		fprintf(f, "no services\n");
	}
	for (size_t i = 0; i < s->n_services; i++) {
		fprintf(f, "%s", i == 0 ? "" : "\n");
		write_service(f, &s->services[i]);
	}
	if (s->n_drains == 0) {
		return;
	}
	fprintf(f, "\ndrains\n");
	for (size_t i = 0; i < s->n_drains; i++) {
		write_drain_rec(f, &s->drains[i], s->now_s);
	}
}

void ctl_drain_write_text(FILE *f, ctl_cmd_t cmd, const ctl_drain_t *d)
{
	const char *what = d->drained ? "drained" : "undrained";
	const char *t = d->target[0] != '\0' ? d->target : "(every pool)";
	if (d->changed) {
		fprintf(f, "%s: %s %s", what, d->service, t);
		if (d->drained && d->until_s > 0) {
			char until[64];
			fmt_time(until, sizeof(until), d->until_s);
			fprintf(f, " until %s", until);
		}
		const char *reason = d->reason != NULL ? d->reason : "";
		fprintf(f, "%s%s\n", reason[0] != '\0' ? ": " : "", reason);
	} else {
		fprintf(f, "%s: %s %s was already %s, nothing changed\n", ctl_cmd_name(cmd),
		        d->service, t, what);
	}
	if (d->unmatched > 0) {
		fprintf(f, "warning: %" PRIu32 " stored drain(s) match no service\n", d->unmatched);
	}
	if (d->warning != NULL && d->warning[0] != '\0') {
		fprintf(f, "warning: %s\n", d->warning);
	}
}

void ctl_explain_write_text(FILE *f, const ctl_explain_t *e)
{
	const char *name = e->name != NULL && e->name[0] != '\0' ? e->name : e->service;
	fprintf(f, "query %s %s\n", name, e->qtype);
	fputs(e->text, f);
	size_t n = strlen(e->text);
	if (n > 0 && e->text[n - 1] != '\n') {
		fputc('\n', f);
	}
	if (e->attribution[0] != '\0') {
		fprintf(f, "\n%s\n", e->attribution);
	}
}

/* ---- JSON ---- */

static json_t *strs_json(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* A number, or null when unknown (JSON has no NaN). */
static json_t *jnum(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static json_t *pool_json(const ctl_pool_t *p)
{
	json_t *eps = json_array();
	for (size_t i = 0; eps != NULL && i < p->n_endpoints; i++) {
		const ctl_endpoint_t *e = &p->endpoints[i];
		/* capacity 0: not known (none configured or reported): null, as every unknown. */
		json_t *cap = e->capacity > 0 ? json_integer((json_int_t)e->capacity) : json_null();
		json_t *o = json_pack("{s:s, s:I, s:o, s:b, s:b}", "address", e->address, "weight",
		                      (json_int_t)e->weight, "capacity", cap, "healthy", e->healthy,
		                      "drained", e->drained);
		if (o == NULL || json_array_append_new(eps, o) != 0) {
			json_decref(eps);
			return NULL;
		}
	}
	if (eps == NULL) {
		return NULL;
	}
	/* "o" steals eps (and the numbers), also when the pack fails; NAN is null. */
	return json_pack("{s:s, s:f, s:f, s:b, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:s, "
	                 "s:o}",
	                 "region", p->region, "cost", p->cost, "config_cost", p->config_cost,
	                 "cost_overridden", p->cost_overridden, "burst", p->burst, "drained",
	                 p->drained, "endpoints", eps, "utilization", jnum(p->utilization),
	                 "forecast", jnum(p->forecast), "target", jnum(p->target), "limit",
	                 jnum(p->limit), "admit", jnum(p->admit), "closed", p->closed, "owner",
	                 p->owner != NULL ? p->owner : "", "share", jnum(p->share));
}

static json_t *service_json(const ctl_service_t *s)
{
	json_t *pools = json_array();
	for (size_t i = 0; pools != NULL && i < s->n_pools; i++) {
		json_t *p = pool_json(&s->pools[i]);
		if (p == NULL || json_array_append_new(pools, p) != 0) {
			json_decref(pools);
			return NULL;
		}
	}
	json_t *policy = strs_json(s->policy, s->n_policy);
	if (pools == NULL || policy == NULL) {
		json_decref(pools);
		json_decref(policy);
		return NULL;
	}
	return json_pack("{s:s, s:I, s:o, s:s, s:o}", "name", s->name, "ttl", (json_int_t)s->ttl_s,
	                 "policy", policy, "when_all_down", s->when_all_down, "pools", pools);
}

int ctl_services_json(json_t *o, const ctl_services_t *s)
{
	json_t *sv = json_array();
	json_t *dr = json_array();
	int rc = sv == NULL || dr == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < s->n_services; i++) {
		json_t *j = service_json(&s->services[i]);
		rc = j == NULL ? -1 : json_array_append_new(sv, j);
	}
	for (size_t i = 0; rc == 0 && i < s->n_drains; i++) {
		const ctl_drain_rec_t *d = &s->drains[i];
		json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "service",
		                      d->service, "kind", d->kind, "target", d->target, "since",
		                      (json_int_t)d->since_s, "origin", d->origin, "reason",
		                      d->reason != NULL ? d->reason : "", "until",
		                      (json_int_t)d->until_s, "age",
		                      (json_int_t)(s->now_s > 0 ? s->now_s - d->since_s : 0));
		rc = j == NULL ? -1 : json_array_append_new(dr, j);
	}
	if (rc != 0) {
		json_decref(sv);
		json_decref(dr);
		return -1;
	}
	rc |= json_object_set_new(o, "services", sv);
	rc |= json_object_set_new(o, "drains", dr);
	rc |= json_object_set_new(o, "now", json_integer((json_int_t)s->now_s));
	return rc;
}

int ctl_drain_json(json_t *o, const ctl_drain_t *d)
{
	int rc = json_object_set_new(o, "service", json_string(d->service));
	rc |= json_object_set_new(o, "target", json_string(d->target));
	rc |= json_object_set_new(o, "drained", json_boolean(d->drained));
	rc |= json_object_set_new(o, "changed", json_boolean(d->changed));
	rc |= json_object_set_new(o, "unmatched_drains", json_integer(d->unmatched));
	rc |= json_object_set_new(o, "reason", json_string(d->reason != NULL ? d->reason : ""));
	rc |= json_object_set_new(o, "until", json_integer((json_int_t)d->until_s));
	if (d->warning != NULL && d->warning[0] != '\0') {
		rc |= json_object_set_new(o, "warning", json_string(d->warning));
	}
	return rc;
}

static json_t *events_json(const ctl_explain_t *e)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < e->n_events; i++) {
		const ctl_explain_event_t *v = &e->events[i];
		json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:b}", "step",
		                      (json_int_t)v->step, "filter", v->filter, "endpoint",
		                      v->endpoint, "region", v->region, "reason", v->reason, "tier",
		                      (json_int_t)v->tier, "kept", v->kept);
		if (j == NULL || json_array_append_new(a, j) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* The load filter: its draw and every pool's admit, closed, utilization and forecast. */
static json_t *load_json(const ctl_explain_t *e)
{
	json_t *pools = json_array();
	for (size_t i = 0; pools != NULL && i < e->n_load; i++) {
		const ctl_explain_load_t *l = &e->load[i];
		json_t *j = json_pack("{s:s, s:o, s:b, s:o, s:o}", "region", l->region, "admit",
		                      jnum(l->admit), "closed", l->closed, "utilization",
		                      jnum(l->utilization), "forecast", jnum(l->forecast));
		if (j == NULL || json_array_append_new(pools, j) != 0) {
			json_decref(pools);
			return NULL;
		}
	}
	return pools != NULL ? json_pack("{s:o, s:o}", "draw", jnum(e->load_draw), "pools", pools)
	                     : NULL;
}

int ctl_explain_json(json_t *o, const ctl_explain_t *e)
{
	json_t *client = json_pack("{s:s, s:I, s:b}", "address", e->client, "source_prefix",
	                           (json_int_t)e->source_prefix, "ecs", e->ecs);
	json_t *loc = json_pack("{s:b, s:s, s:s, s:I, s:s}", "found", e->found, "country",
	                        e->country, "continent", e->continent, "db_prefix",
	                        (json_int_t)e->db_prefix, "rule", e->rule);
	if (loc != NULL && e->has_location) {
		json_object_set_new(loc, "lat", json_real(e->lat));
		json_object_set_new(loc, "lon", json_real(e->lon));
	}
	json_t *geo =
	        json_pack("{s:b, s:I}", "used", e->geo_used, "scope", (json_int_t)e->geo_scope);
	json_t *answer = json_pack("{s:s, s:o, s:I, s:I}", "result", e->result, "addresses",
	                           strs_json(e->answer, e->n_answer), "ttl", (json_int_t)e->ttl_s,
	                           "scope", (json_int_t)e->scope);
	int rc = json_object_set_new(o, "service", json_string(e->service));
	rc |= json_object_set_new(o, "qtype", json_string(e->qtype));
	rc |= json_object_set_new(o, "client", client);
	rc |= json_object_set_new(o, "location", loc);
	rc |= json_object_set_new(o, "geo", geo);
	rc |= json_object_set_new(o, "pool_order", strs_json(e->pool_order, e->n_pool_order));
	rc |= json_object_set_new(o, "filters", strs_json(e->filters, e->n_filters));
	rc |= json_object_set_new(o, "events", events_json(e));
	rc |= json_object_set_new(o, "load", load_json(e));
	rc |= json_object_set_new(o, "answer", answer);
	rc |= json_object_set_new(o, "text", json_string(e->text));
	rc |= json_object_set_new(o, "kind", json_string(e->kind != NULL ? e->kind : "service"));
	rc |= json_object_set_new(o, "name", json_string(e->name != NULL ? e->name : ""));
	rc |= json_object_set_new(o, "zone", json_string(e->zone != NULL ? e->zone : ""));
	rc |= json_object_set_new(o, "chain", strs_json(e->chain, e->n_chain));
	if (e->attribution[0] != '\0') {
		rc |= json_object_set_new(o, "attribution", json_string(e->attribution));
	}
	return rc;
}
