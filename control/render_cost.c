/*
 * Rendering of `cost`: aligned text and JSON. The JSON keys are stable
 * (scripts depend on them): add keys, never rename.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

static const ctl_region_cost_t *find(const ctl_cost_t *c, const char *region)
{
	for (size_t i = 0; i < c->n_regions; i++) {
		if (strcmp(c->regions[i].region, region) == 0) {
			return &c->regions[i];
		}
	}
	return NULL;
}

/* "42s", "3m05s", "2h03m", "4d02h": an override's age. */
static void fmt_age(char *buf, size_t len, int64_t s)
{
	s = s > 0 ? s : 0;
	if (s >= 86400) {
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
	} else if (s >= 3600) {
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
	} else if (s >= 60) {
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	} else {
		snprintf(buf, len, "%" PRId64 "s", s);
	}
}

static void write_action(FILE *f, const ctl_cost_t *c)
{
	const ctl_region_cost_t *r = find(c, c->region);
	double config = r != NULL ? r->config_cost : 0;
	if (c->reset) {
		if (c->changed) {
			fprintf(f, "cost: region %s reset to the config's %g\n", c->region, config);
		} else {
			fprintf(f, "cost: region %s has no runtime cost, nothing changed\n",
			        c->region);
		}
		return;
	}
	double cost = r != NULL ? r->cost : 0;
	if (c->changed) {
		fprintf(f, "cost: region %s set to %g (config %g)\n", c->region, cost, config);
	} else {
		fprintf(f, "cost: region %s already costs %g, nothing changed\n", c->region, cost);
	}
}

void ctl_cost_write_text(FILE *f, const ctl_cost_t *c)
{
	if (c->region != NULL && c->region[0] != '\0') {
		write_action(f, c);
		return;
	}
	if (c->n_regions == 0) {
		fprintf(f, "no regions\n");
		return;
	}
	int w = 6;
	for (size_t i = 0; i < c->n_regions; i++) {
		int l = (int)strlen(c->regions[i].region);
		w = l > w ? l : w;
	}
	fprintf(f, "%-*s  %10s  %10s  %s\n", w, "REGION", "CONFIG", "COST", "OVERRIDE");
	for (size_t i = 0; i < c->n_regions; i++) {
		const ctl_region_cost_t *r = &c->regions[i];
		char age[32] = "-";
		if (r->overridden) {
			fmt_age(age, sizeof(age), c->now_s - r->since_s);
		}
		fprintf(f, "%-*s  %10g  %10g  ", w, r->region, r->config_cost, r->cost);
		if (!r->overridden) {
			fprintf(f, "-\n");
		} else {
			fprintf(f, "set %s ago%s%s\n", age, r->origin[0] != '\0' ? " by " : "",
			        r->origin);
		}
	}
}

int ctl_cost_json(json_t *o, const ctl_cost_t *c)
{
	json_t *regions = json_array();
	for (size_t i = 0; regions != NULL && i < c->n_regions; i++) {
		const ctl_region_cost_t *r = &c->regions[i];
		json_t *x = json_pack("{s:s, s:f, s:f, s:b}", "region", r->region, "config_cost",
		                      r->config_cost, "cost", r->cost, "overridden", r->overridden);
		if (x != NULL && r->overridden &&
		    (json_object_set_new(x, "origin", json_string(r->origin)) != 0 ||
		     json_object_set_new(x, "since", json_integer((json_int_t)r->since_s)) != 0 ||
		     json_object_set_new(x, "age_s",
		                         json_integer((json_int_t)(c->now_s - r->since_s))) != 0)) {
			json_decref(x);
			x = NULL;
		}
		if (x == NULL || json_array_append_new(regions, x) != 0) {
			json_decref(regions);
			return -1;
		}
	}
	if (regions == NULL) {
		return -1;
	}
	int rc = 0;
	if (c->region != NULL && c->region[0] != '\0') {
		rc |= json_object_set_new(o, "region", json_string(c->region));
		rc |= json_object_set_new(o, "reset", json_boolean(c->reset));
		rc |= json_object_set_new(o, "changed", json_boolean(c->changed));
	}
	rc |= json_object_set_new(o, "now", json_integer((json_int_t)c->now_s));
	rc |= json_object_set_new(o, "regions", regions);
	return rc;
}
