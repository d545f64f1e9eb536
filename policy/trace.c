/*
 * Explain: pol_trace_t (filled by pol_answer) to text. The trace itself is
 * the structured form; the control code walks it to build JSON, with
 * pol_reason_str() and config's cfg_filter_name() for the names.
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

/* An endpoint's probe RTT at the latency step. */
static void put_rtt(struct out *o, uint32_t rtt_us)
{
	if (rtt_us == 0) {
		put(o, " rtt unknown");
	} else {
		put(o, " rtt %.1f ms", rtt_us / 1000.0);
	}
}

static bool kept_reason(unsigned r)
{
	return r == POL_R_KEPT || r == POL_R_ORDERED || r == POL_R_ADMITTED || r == POL_R_SPILLED;
}

static void put_steps(struct out *o, const pol_trace_t *t)
{
	const pol_service_t *svc = t->svc;
	unsigned e = 0;
	for (unsigned step = 0; step < svc->n_filters; step++) {
		const cfg_filter_t *f = &svc->filters[step];
		char text[64];
		cfg_filter_text(f, text, sizeof(text));
		put(o, "step %u %s:\n", step + 1, text);
		if (f->kind == CFG_FILTER_LOAD) {
			put_load(o, t);
		}
		if (f->kind == CFG_FILTER_LATENCY) {
			put(o,
			    "  probe RTTs less than %u ms above their tier's best count as equal, "
			    "unknown ones last\n",
			    cfg_filter_arg(f));
		}
		for (; e < t->n_ev && t->ev[e].step == step; e++) {
			const pol_trace_event_t *ev = &t->ev[e];
			if (ev->endpoint == UINT16_MAX) {
				put(o, "  %s\n", pol_reason_str(ev->reason));
				continue;
			}
			const pol_endpoint_t *ep = &svc->endpoints[ev->endpoint];
			put(o, "  %-8s %s (%s, tier %u)", kept_reason(ev->reason) ? "keep" : "drop",
			    ep->text, svc->pools[ep->pool].region, ev->tier);
			if (f->kind == CFG_FILTER_LATENCY) {
				put_rtt(o, ep->rtt_us);
			}
			if (f->kind == CFG_FILTER_WEIGHTED && ep->capacity > 0) {
				put(o, " capacity %u (share %.2f)", ep->capacity, ep->cap_share);
			}
			put(o, "\n");
			if (ev->reason != POL_R_KEPT && ev->reason != POL_R_ORDERED) {
				put(o, "           reason: %s\n", pol_reason_str(ev->reason));
			}
		}
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
	put(&o, "candidates: %u\n", t->n_candidates);
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
