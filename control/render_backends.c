/*
 * Rendering of `backends`: one aligned line per monitored endpoint of a
 * service's pool, or JSON with the same fields (stable keys: add, never
 * rename). Ages are shown relative to the node's clock (now_ms of the reply),
 * so a client with a skewed clock still sees the right ages.
 *
 * Two views of an endpoint that people mix up are kept apart: LOCAL is this
 * node's own probe (it may not probe the endpoint at all: "-"), VERDICT the
 * cluster's, from every fresh observer by the health rule, which is what the
 * answers use. SINCE, RTT, LOAD and LAST ERROR are from this node's probe,
 * else from the latest observer's.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

/* "850ms", "12s", "3m05s", "2h01m" ago; "-" when unknown. */
static void fmt_age(char *buf, size_t len, uint64_t now_ms, uint64_t at_ms)
{
	if (at_ms == 0) {
		snprintf(buf, len, "-");
		return;
	}
	uint64_t ms = now_ms > at_ms ? now_ms - at_ms : 0;
	uint64_t s = ms / 1000;
	if (ms < 1000) {
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	} else if (s < 60) {
		snprintf(buf, len, "%" PRIu64 "s", s);
	} else if (s < 3600) {
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	} else {
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	}
}

static void fmt_rtt(char *buf, size_t len, uint32_t us)
{
	if (us == 0) {
		snprintf(buf, len, "-");
	} else if (us < 10000) {
		snprintf(buf, len, "%.2fms", us / 1e3);
	} else {
		snprintf(buf, len, "%.0fms", us / 1e3);
	}
}

static void fmt_policy(char *buf, size_t len, const ctl_backend_t *b)
{
	if (b->drained) {
		snprintf(buf, len, "drained");
	} else if (!b->healthy) {
		snprintf(buf, len, "excluded");
	} else if (b->slow_start < 1.0) {
		snprintf(buf, len, "slow-start %.0f%%", b->slow_start * 100.0);
	} else {
		snprintf(buf, len, "in");
	}
}

static void fmt_observers(char *buf, size_t len, const ctl_backend_t *b)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < b->n_observers && off < len; i++) {
		const ctl_observer_t *o = &b->observers[i];
		int n = snprintf(buf + off, len - off, "%s%s:%s%s", i == 0 ? "" : ",", o->node,
		                 o->state, o->fresh ? "" : "(stale)");
		off += n > 0 ? (size_t)n : 0;
	}
	if (b->n_observers == 0) {
		snprintf(buf, len, "-");
	}
}

/* The cells of one row. */
struct row {
	char endpoint[300], since[24], rtt[24], load[24], policy[32], observers[256];
	const char *local, *verdict;
};

static void make_row(const ctl_backends_t *bs, const ctl_backend_t *b, struct row *r)
{
	if (b->key[0] != '\0') {
		/* ADDR:PORT/MONITOR, IPv6 in brackets */
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", b->key);
	} else {
		snprintf(r->endpoint, sizeof(r->endpoint), "%s:%" PRIu32 "/%s", b->address, b->port,
		         b->monitor);
	}
	fmt_age(r->since, sizeof(r->since), bs->now_ms, b->since_ms);
	fmt_rtt(r->rtt, sizeof(r->rtt), b->rtt_us);
	if (b->utilization < 0.0) {
		snprintf(r->load, sizeof(r->load), "-");
	} else {
		snprintf(r->load, sizeof(r->load), "%.0f%%", b->utilization * 100.0);
	}
	fmt_policy(r->policy, sizeof(r->policy), b);
	fmt_observers(r->observers, sizeof(r->observers), b);
	r->local = b->local != NULL && b->local[0] != '\0' ? b->local : "-";
	r->verdict = b->healthy ? "up" : "down";
}

static int max_i(int a, int b)
{
	return a > b ? a : b;
}

void ctl_backends_write_text(FILE *f, const ctl_backends_t *bs)
{
	if (bs->n_backends == 0) {
		fprintf(f, "no monitored endpoints\n");
		return;
	}
	int w_svc = 7, w_reg = 6, w_ep = 8, w_pol = 6, w_obs = 9;
	for (size_t i = 0; i < bs->n_backends; i++) {
		const ctl_backend_t *b = &bs->backends[i];
		struct row r;
		make_row(bs, b, &r);
		w_svc = max_i(w_svc, (int)strlen(b->service));
		w_reg = max_i(w_reg, (int)strlen(b->region));
		w_ep = max_i(w_ep, (int)strlen(r.endpoint));
		w_pol = max_i(w_pol, (int)strlen(r.policy));
		w_obs = max_i(w_obs, (int)strlen(r.observers));
	}
	fprintf(f, "%-*s  %-*s  %-*s  %-7s  %6s  %8s  %4s  %-7s  %-*s  %-*s  %s\n", w_svc,
	        "SERVICE", w_reg, "REGION", w_ep, "ENDPOINT", "LOCAL", "SINCE", "RTT", "LOAD",
	        "VERDICT", w_pol, "POLICY", w_obs, "OBSERVERS", "LAST ERROR");
	for (size_t i = 0; i < bs->n_backends; i++) {
		const ctl_backend_t *b = &bs->backends[i];
		struct row r;
		make_row(bs, b, &r);
		fprintf(f, "%-*s  %-*s  %-*s  %-7s  %6s  %8s  %4s  %-7s  %-*s  %-*s  %s\n", w_svc,
		        b->service, w_reg, b->region, w_ep, r.endpoint, r.local, r.since, r.rtt,
		        r.load, r.verdict, w_pol, r.policy, w_obs, r.observers,
		        b->error[0] != '\0' ? b->error : "-");
	}
	fprintf(f, "\nLOCAL: this node's own probe (\"-\": none from this node; another member "
	           "probes it)\n"
	           "VERDICT: the cluster's, from every fresh observer; the answers use it\n");
}

/* JSON conventions: a figure that is not known (0 here) or an empty text is null. */
static json_t *num_or_null(uint64_t v)
{
	return v != 0 ? json_integer((json_int_t)v) : json_null();
}

static json_t *text_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* json_*_set_new and json_array_append_new take the reference even on failure. */
static json_t *observers_json(const ctl_backend_t *b)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < b->n_observers; i++) {
		const ctl_observer_t *o = &b->observers[i];
		json_t *x = json_pack("{s:s, s:s, s:o, s:b, s:o, s:o}", "node", o->node, "state",
		                      o->state, "observed_at_ms",
		                      num_or_null((uint64_t)o->observed_at_ms), "fresh", o->fresh,
		                      "rtt_us", num_or_null((uint64_t)o->rtt_us), "error",
		                      text_or_null(o->error));
		if (x == NULL || json_array_append_new(arr, x) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *backend_json(const ctl_backend_t *b)
{
	json_t *o = json_pack(
	        "{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "service",
	        b->service, "region", b->region, "address", b->address, "port", (json_int_t)b->port,
	        "monitor", b->monitor, "key", b->key, "state", b->state, "since_ms",
	        num_or_null((uint64_t)b->since_ms), "error", text_or_null(b->error), "rtt_us",
	        num_or_null((uint64_t)b->rtt_us), "capacity", num_or_null((uint64_t)b->capacity),
	        "observed_at_ms", num_or_null((uint64_t)b->observed_at_ms));
	if (o == NULL) {
		return NULL;
	}
	int rc = json_object_set_new(
	        o, "utilization", b->utilization < 0.0 ? json_null() : json_real(b->utilization));
	rc |= json_object_set_new(o, "observers", observers_json(b));
	json_t *pol = json_pack("{s:b, s:b, s:f, s:f}", "healthy", b->healthy, "drained",
	                        b->drained, "slow_start", b->slow_start, "headroom", b->headroom);
	rc |= json_object_set_new(o, "policy", pol);
	/* local: this node's own probe, null when it has none; verdict: the cluster's. */
	rc |= json_object_set_new(o, "local",
	                          b->local != NULL && b->local[0] != '\0' ? json_string(b->local)
	                                                                  : json_null());
	rc |= json_object_set_new(o, "verdict", json_string(b->healthy ? "up" : "down"));
	if (rc != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int ctl_backends_json(json_t *o, const ctl_backends_t *bs)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < bs->n_backends; i++) {
		json_t *x = backend_json(&bs->backends[i]);
		if (x == NULL || json_array_append_new(arr, x) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	int rc = json_object_set_new(o, "backends", arr);
	rc |= json_object_set_new(o, "now_ms", json_integer((json_int_t)bs->now_ms));
	return rc != 0 ? -1 : 0;
}
