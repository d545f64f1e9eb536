/*
 * Explain: pol_trace_t (filled by pol_answer) to text. The trace itself is
 * the structured form; the control code walks it to build JSON, with
 * pol_reason_str() and config's cfg_filter_name() for the names.
 *
 * The text is short on purpose: the candidates once (address, region,
 * weight), then per step only what it removes and why, or the order it
 * leaves; a step that changes nothing is one line.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *pol_reason_str(pol_reason_t r)
{
	switch (r) {
	case POL_R_KEPT:
		return "kept";
	case POL_R_UNHEALTHY:
		return "unhealthy";
	case POL_R_DRAINED_POOL:
		return "pool drained";
	case POL_R_DRAINED_ENDPOINT:
		return "endpoint drained";
	case POL_R_NOT_FIRST_N:
		return "beyond first_n";
	case POL_R_ORDERED:
		return "ordered";
	case POL_R_ALL_DOWN_OPEN:
		return "would drop every endpoint: skipped (when_all_down: answer all)";
	case POL_R_ALL_DOWN_EMPTY:
		return "would drop every endpoint: empty answer (when_all_down: empty)";
	case POL_R_OVER_LIMIT:
		return "pool over its utilization limit";
	case POL_R_ADMITTED:
		return "admitted";
	case POL_R_SPILLED:
		return "declined the draw (spilled to the next pool)";
	}
	return "?";
}

/* Bounded appender: counts what it would have written, like snprintf. */
struct out {
	char *buf;
	size_t len, pos;
};

AYA_PRINTF(2, 3) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->pos < o->len ? o->len - o->pos : 0;
	int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0) {
		o->pos += (size_t)n;
	}
}

static void put_client(struct out *o, const pol_client_t *c)
{
	char a[INET6_ADDRSTRLEN];
	if (inet_ntop(c->family, c->addr, a, sizeof(a)) == NULL) {
		snprintf(a, sizeof(a), "?");
	}
	put(o, "client %s/%u%s\n", a, c->source_prefix, c->ecs ? " (ecs)" : "");
}

static void put_geo(struct out *o, const pol_trace_t *t)
{
	const geo_loc_t *l = &t->loc;
	if (!l->found) {
		put(o, "location: unknown to the database (prefix /%u), default order\n",
		    l->prefix);
	} else {
		put(o, "location: country %s continent %s", l->country[0] ? l->country : "-",
		    l->continent[0] ? l->continent : "-");
		if (l->has_location) {
			put(o, " at %.2f,%.2f%s", l->lat, l->lon,
			    l->fallback ? " (country point)" : "");
		}
		put(o, " (database prefix /%u), order by %s\n", l->prefix, l->rule);
	}
	if (t->geo_used) {
		put(o, "geo: order #%u, decision valid for /%u\n", t->order_idx, t->geo_scope);
	}
	put(o, "pool order:");
	for (unsigned i = 0; i < t->n_pool_order; i++) {
		put(o, " %s", t->svc->pools[t->pool_order[i]].region);
	}
	put(o, "\n");
}

static void put_frac(struct out *o, const char *name, double v)
{
	if (isnan(v)) {
		put(o, " %s -", name);
	} else {
		put(o, " %s %.2f", name, v);
	}
}

/* What `load` decided from: every pool's loop state, then the draw. */
static void put_load(struct out *o, const pol_trace_t *t)
{
	const pol_service_t *svc = t->svc;
	for (unsigned i = 0; i < t->n_pool_order; i++) {
		const pol_pool_t *p = &svc->pools[t->pool_order[i]];
		put(o, "  pool %s:", p->region);
		put_frac(o, "utilization", p->utilization);
		put_frac(o, "forecast", p->forecast);
		put(o, " target %.2f limit %.2f admit %.2f%s%s cost %g\n", p->target, p->limit,
		    p->admit, p->closed ? " (closed: over limit)" : "", p->burst ? " burst" : "",
		    p->cost);
	}
	if (isnan(t->load_draw)) {
		put(o, "  draw: none (every pool admits everything)\n");
	} else {
		put(o, "  draw: %.3f%s\n", t->load_draw,
		    svc->load_hash ? " (from the client subnet)" : "");
	}
}

static bool kept_reason(unsigned r)
{
	return r == POL_R_KEPT || r == POL_R_ORDERED || r == POL_R_ADMITTED || r == POL_R_SPILLED;
}

/* The candidates, once, in config order: every endpoint some event names. */
static void put_endpoints(struct out *o, const pol_trace_t *t)
{
	const pol_service_t *svc = t->svc;
	bool seen[POL_MAX_ENDPOINTS] = {false};
	for (unsigned i = 0; i < t->n_ev; i++) {
		if (t->ev[i].endpoint < svc->n_endpoints && t->ev[i].endpoint < POL_MAX_ENDPOINTS) {
			seen[t->ev[i].endpoint] = true;
		}
	}
	put(o, "endpoints (%u candidates):\n", t->n_candidates);
	for (unsigned k = 0; k < svc->n_endpoints && k < POL_MAX_ENDPOINTS; k++) {
		const pol_endpoint_t *ep = &svc->endpoints[k];
		if (!seen[k]) {
			continue;
		}
		put(o, "  %s (%s) weight %u", ep->text, svc->pools[ep->pool].region, ep->weight);
		if (ep->capacity > 0) {
			put(o, " capacity %u (share %.2f)", ep->capacity, ep->cap_share);
		}
		put(o, "%s\n", ep->drained ? " drained" : ep->healthy ? "" : " unhealthy");
	}
}

/*
 * One step, short: what it removes (one line each, with the reason), the
 * order it leaves when it orders, or that it changed nothing.
 */
static unsigned put_step(struct out *o, const pol_trace_t *t, unsigned step, unsigned e)
{
	const pol_service_t *svc = t->svc;
	const cfg_filter_t *f = &svc->filters[step];
	char text[64];
	cfg_filter_text(f, text, sizeof(text));
	put(o, "step %u %s:", step + 1, text);
	unsigned end = e, removed = 0, ordered = 0, notes = 0;
	for (; end < t->n_ev && t->ev[end].step == step; end++) {
		const pol_trace_event_t *ev = &t->ev[end];
		notes += ev->endpoint == UINT16_MAX;
		removed += ev->endpoint != UINT16_MAX && !kept_reason(ev->reason);
		ordered += ev->endpoint != UINT16_MAX && ev->reason != POL_R_KEPT &&
		           kept_reason(ev->reason);
	}
	put(o, "%s\n", removed + ordered + notes == 0 ? " removes nothing" : "");
	if (f->kind == CFG_FILTER_LOAD) {
		put_load(o, t);
	}
	if (f->kind == CFG_FILTER_LATENCY) {
		put(o,
		    "  probe RTTs less than %u ms above their tier's best count as equal, "
		    "unknown ones last\n",
		    cfg_filter_arg(f));
	}
	if (ordered > 0) {
		put(o, "  order:");
	}
	for (unsigned i = e; ordered > 0 && i < end; i++) {
		const pol_trace_event_t *ev = &t->ev[i];
		if (ev->endpoint == UINT16_MAX || !kept_reason(ev->reason)) {
			continue;
		}
		const pol_endpoint_t *ep = &svc->endpoints[ev->endpoint];
		put(o, " %s", ep->text);
		if (f->kind == CFG_FILTER_LATENCY) {
			put(o, ep->rtt_us == 0 ? " (rtt unknown)" : " (rtt %.1f ms)",
			    ep->rtt_us / 1000.0);
		}
		if (ev->reason == POL_R_ADMITTED || ev->reason == POL_R_SPILLED) {
			put(o, " (%s)", pol_reason_str(ev->reason));
		}
	}
	put(o, "%s", ordered > 0 ? "\n" : "");
	for (unsigned i = e; i < end; i++) {
		const pol_trace_event_t *ev = &t->ev[i];
		if (ev->endpoint == UINT16_MAX) {
			put(o, "  %s\n", pol_reason_str(ev->reason));
		} else if (!kept_reason(ev->reason)) {
			const pol_endpoint_t *ep = &svc->endpoints[ev->endpoint];
			put(o, "  removes %s (%s): %s\n", ep->text, svc->pools[ep->pool].region,
			    pol_reason_str(ev->reason));
		}
	}
	return end;
}

static void put_steps(struct out *o, const pol_trace_t *t)
{
	unsigned e = 0;
	put_endpoints(o, t);
	for (unsigned step = 0; step < t->svc->n_filters; step++) {
		e = put_step(o, t, step, e);
	}
	if (t->truncated) {
		put(o, "(trace truncated)\n");
	}
}

size_t pol_trace_format(const pol_trace_t *t, char *buf, size_t len)
{
	struct out o = {.buf = buf, .len = len};
	if (len > 0) {
		buf[0] = '\0';
	}
	if (t->svc == NULL) {
		put(&o, "no trace\n");
		return o.pos;
	}
	put(&o, "service %s\n", t->svc->name);
	put_client(&o, &t->client);
	put_geo(&o, t);
	put_steps(&o, t);
	if (t->rc == POL_NODATA) {
		put(&o, "answer: NODATA (no endpoint of this family)\n");
	} else if (t->rc == POL_EMPTY) {
		put(&o, "answer: empty (all down)\n");
	} else {
		put(&o, "answer:");
		for (unsigned i = 0; i < t->result.count; i++) {
			put(&o, " %s", t->result.ep[i]->text);
		}
		put(&o, " ttl %u scope /%u\n", t->result.ttl_s, t->result.scope);
	}
	return o.pos;
}
