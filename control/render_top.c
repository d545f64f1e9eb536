/*
 * Rendering of `log-level` and `top`. A `top` reply carries cumulative
 * counters only; the rates of `ayactl top` come from two samples of the
 * same node: (cur - prev) / (cur.now_ms - prev.now_ms). A counter that went
 * down (the node restarted between samples) counts as zero, a pool missing
 * from prev (a reload added it) from zero. JSON: numbers are numbers, an
 * unknown figure (a share without answers, an admit without a load loop)
 * is null.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>

/* ---- log-level ---- */

void ctl_log_level_write_text(FILE *f, const ctl_log_level_t *l)
{
	fprintf(f, "log level: %s%s\n", l->level, l->changed ? " (set)" : "");
	if (strcmp(l->level, l->config_level) != 0) {
		fprintf(f, "until the next reload, which applies the config's log.level: %s\n",
		        l->config_level);
	}
}

int ctl_log_level_json(json_t *o, const ctl_log_level_t *l)
{
	int rc = json_object_set_new(o, "level", json_string(l->level));
	rc |= json_object_set_new(o, "config_level", json_string(l->config_level));
	rc |= json_object_set_new(o, "changed", json_boolean(l->changed));
	return rc;
}

/* ---- top: one sample ---- */

static json_t *num_or_null(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

void ctl_top_sample_write_text(FILE *f, const ctl_top_t *t)
{
	fprintf(f, "node %s, %" PRIu64 " queries\n", t->node, t->queries);
	for (size_t s = 0; s < t->n_services; s++) {
		const ctl_top_service_t *sv = &t->services[s];
		fprintf(f, "%s\n", sv->name);
		for (size_t p = 0; p < sv->n_pools; p++) {
			fprintf(f, "  %-16s %12" PRIu64 " answers\n", sv->pools[p].region,
			        sv->pools[p].answers);
		}
	}
}

int ctl_top_json(json_t *o, const ctl_top_t *t)
{
	json_t *services = json_array();
	int rc = services == NULL ? -1 : 0;
	for (size_t s = 0; rc == 0 && s < t->n_services; s++) {
		const ctl_top_service_t *sv = &t->services[s];
		json_t *pools = json_array();
		rc = pools == NULL ? -1 : 0;
		for (size_t p = 0; rc == 0 && p < sv->n_pools; p++) {
			const ctl_top_pool_t *x = &sv->pools[p];
			rc = json_array_append_new(
			        pools, json_pack("{s:s, s:I, s:o, s:b}", "region", x->region,
			                         "answers", (json_int_t)x->answers, "admit",
			                         num_or_null(x->admit), "healthy", x->healthy));
		}
		rc |= json_array_append_new(
		        services, json_pack("{s:s, s:o}", "name", sv->name, "pools", pools));
	}
	json_t *counters = json_object();
	rc |= counters == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < t->n_counters; i++) {
		rc = json_object_set_new(counters, t->counters[i].name,
		                         json_integer((json_int_t)t->counters[i].value));
	}
	json_t *events = json_array();
	rc |= events == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < t->n_events; i++) {
		rc = json_array_append_new(events, json_pack("{s:I, s:s}", "time_ms",
		                                             (json_int_t)t->events[i].ms, "text",
		                                             t->events[i].text));
	}
	rc |= json_object_set_new(o, "node", json_string(t->node));
	rc |= json_object_set_new(o, "time_ms", json_integer((json_int_t)t->now_ms));
	rc |= json_object_set_new(o, "queries", json_integer((json_int_t)t->queries));
	rc |= json_object_set_new(o, "counters", counters);
	rc |= json_object_set_new(o, "services", services);
	rc |= json_object_set_new(o, "events", events);
	return rc;
}

/* ---- top: the rates between two samples ---- */

static uint64_t delta(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : 0;
}

static double interval_s(const ctl_top_t *prev, const ctl_top_t *cur)
{
	uint64_t ms = delta(prev->now_ms, cur->now_ms);
	return ms > 0 ? (double)ms / 1000.0 : 0.0;
}

static double rate(uint64_t n, double secs)
{
	return secs > 0.0 ? (double)n / secs : 0.0;
}

static uint64_t counter_prev(const ctl_top_t *prev, const char *name)
{
	for (size_t i = 0; i < prev->n_counters; i++) {
		if (strcmp(prev->counters[i].name, name) == 0) {
			return prev->counters[i].value;
		}
	}
	return 0;
}

/* The answers of pool `region` of service `name` in prev; 0 when absent. */
static uint64_t answers_prev(const ctl_top_t *prev, const char *name, const char *region)
{
	for (size_t s = 0; s < prev->n_services; s++) {
		const ctl_top_service_t *sv = &prev->services[s];
		if (strcmp(sv->name, name) != 0) {
			continue;
		}
		for (size_t p = 0; p < sv->n_pools; p++) {
			if (strcmp(sv->pools[p].region, region) == 0) {
				return sv->pools[p].answers;
			}
		}
	}
	return 0;
}

/* Pool p's answers over the interval. */
static uint64_t pool_delta(const ctl_top_t *prev, const ctl_top_service_t *sv, size_t p)
{
	return delta(answers_prev(prev, sv->name, sv->pools[p].region), sv->pools[p].answers);
}

/* A service's answers over the interval. */
static uint64_t service_delta(const ctl_top_t *prev, const ctl_top_service_t *sv)
{
	uint64_t sum = 0;
	for (size_t p = 0; p < sv->n_pools; p++) {
		sum += pool_delta(prev, sv, p);
	}
	return sum;
}

static void fmt_clock(char *buf, size_t len, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000u);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, len, "%" PRIu64, ms);
	}
}

/* Most events shown on the screen. */
#define TOP_TEXT_EVENTS 5

void ctl_top_write_text(FILE *f, const ctl_top_t *prev, const ctl_top_t *cur)
{
	double secs = interval_s(prev, cur);
	char when[32];
	fmt_clock(when, sizeof(when), cur->now_ms);
	fprintf(f, "node %s  %s  over %.1f s\n\n", cur->node, when, secs);
	fprintf(f, "queries/s %10.1f ", rate(delta(prev->queries, cur->queries), secs));
	for (size_t i = 0; i < cur->n_counters; i++) {
		uint64_t n =
		        delta(counter_prev(prev, cur->counters[i].name), cur->counters[i].value);
		if (n > 0) {
			fprintf(f, "  %s %.1f", cur->counters[i].name, rate(n, secs));
		}
	}
	fprintf(f, "\n\n%-32s %10s  %-16s %6s %6s  %s\n", "SERVICE", "ANSWERS/S", "POOL", "SHARE",
	        "ADMIT", "HEALTH");
	for (size_t s = 0; s < cur->n_services; s++) {
		const ctl_top_service_t *sv = &cur->services[s];
		uint64_t sum = service_delta(prev, sv);
		fprintf(f, "%-32s %10.1f\n", sv->name, rate(sum, secs));
		for (size_t p = 0; p < sv->n_pools; p++) {
			const ctl_top_pool_t *x = &sv->pools[p];
			char share[16] = "-", admit[16] = "-";
			if (sum > 0) {
				snprintf(share, sizeof(share), "%.1f%%",
				         100.0 * (double)pool_delta(prev, sv, p) / (double)sum);
			}
			if (!isnan(x->admit)) {
				snprintf(admit, sizeof(admit), "%.2f", x->admit);
			}
			fprintf(f, "%-32s %10s  %-16s %6s %6s  %s\n", "", "", x->region, share,
			        admit, x->healthy ? "up" : "down");
		}
	}
	fprintf(f, "\nrecent events\n");
	if (cur->n_events == 0) {
		fprintf(f, "  none\n");
	}
	for (size_t i = 0; i < cur->n_events && i < TOP_TEXT_EVENTS; i++) {
		fmt_clock(when, sizeof(when), cur->events[i].ms);
		fprintf(f, "  %s  %s\n", when, cur->events[i].text);
	}
}

static json_t *top_service_rates(const ctl_top_t *prev, const ctl_top_service_t *sv, double secs)
{
	uint64_t sum = service_delta(prev, sv);
	json_t *pools = json_array();
	int rc = pools == NULL ? -1 : 0;
	for (size_t p = 0; rc == 0 && p < sv->n_pools; p++) {
		const ctl_top_pool_t *x = &sv->pools[p];
		uint64_t n = pool_delta(prev, sv, p);
		double share = sum > 0 ? 100.0 * (double)n / (double)sum : NAN;
		rc = json_array_append_new(
		        pools, json_pack("{s:s, s:I, s:f, s:o, s:o, s:b}", "region", x->region,
		                         "answers", (json_int_t)n, "answers_per_s", rate(n, secs),
		                         "share", num_or_null(share), "admit",
		                         num_or_null(x->admit), "healthy", x->healthy));
	}
	if (rc != 0) {
		json_decref(pools);
		return NULL;
	}
	return json_pack("{s:s, s:I, s:f, s:o}", "name", sv->name, "answers", (json_int_t)sum,
	                 "answers_per_s", rate(sum, secs), "pools", pools);
}

char *ctl_top_to_json(const ctl_top_t *prev, const ctl_top_t *cur)
{
	double secs = interval_s(prev, cur);
	json_t *o = json_object();
	json_t *rcodes = json_object();
	json_t *services = json_array();
	json_t *events = json_array();
	int rc = o == NULL || rcodes == NULL || services == NULL || events == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < cur->n_counters; i++) {
		uint64_t n =
		        delta(counter_prev(prev, cur->counters[i].name), cur->counters[i].value);
		rc = json_object_set_new(rcodes, cur->counters[i].name, json_real(rate(n, secs)));
	}
	for (size_t s = 0; rc == 0 && s < cur->n_services; s++) {
		rc = json_array_append_new(services,
		                           top_service_rates(prev, &cur->services[s], secs));
	}
	for (size_t i = 0; rc == 0 && i < cur->n_events; i++) {
		rc = json_array_append_new(events, json_pack("{s:I, s:s}", "time_ms",
		                                             (json_int_t)cur->events[i].ms, "text",
		                                             cur->events[i].text));
	}
	uint64_t q = delta(prev->queries, cur->queries);
	if (o != NULL) {
		rc |= json_object_set_new(o, "ok", json_true());
		rc |= json_object_set_new(o, "node", json_string(cur->node));
		rc |= json_object_set_new(o, "time_ms", json_integer((json_int_t)cur->now_ms));
		rc |= json_object_set_new(o, "interval_s", json_real(secs));
		rc |= json_object_set_new(o, "queries", json_integer((json_int_t)q));
		rc |= json_object_set_new(o, "queries_per_s", json_real(rate(q, secs)));
		rc |= json_object_set_new(o, "rcodes_per_s", rcodes);
		rc |= json_object_set_new(o, "services", services);
		rc |= json_object_set_new(o, "events", events);
	} else {
		json_decref(rcodes);
		json_decref(services);
		json_decref(events);
	}
	char *s = rc == 0 ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}
