/*
 * The status page (http.listen): "/" is one self-contained HTML page
 * (daemon/status.html, built into the binary; no external script, style,
 * font or tile) that draws a world map from the country table and refreshes
 * itself every 2 s from "/status.json": this node, each region with its
 * location, endpoint health and answer count, each service's pools, the
 * members, and the recent events (daemon/events.c). Built with jansson on
 * the control thread at request time.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "common/time.h"

extern const char ayad_status_html[]; /* $(B)/gen/status_html.c */

typedef struct region_sum {
	unsigned endpoints, healthy, drained;
} region_sum_t;

static json_t *num_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static json_t *regions_json(ayad_t *d)
{
	const cfg_t *cfg = d->cfg;
	region_sum_t *sum = calloc(cfg->n_regions + 1, sizeof(*sum));
	json_t *arr = json_array();
	if (sum == NULL || arr == NULL) {
		free(sum);
		json_decref(arr);
		return NULL;
	}
	for (size_t s = 0; d->pol != NULL && s < pol_service_count(d->pol); s++) {
		const pol_service_t *svc = pol_service_get(d->pol, s);
		for (size_t e = 0; e < svc->n_endpoints; e++) {
			const pol_endpoint_t *ep = &svc->endpoints[e];
			size_t r = svc->pools[ep->pool].region_idx;
			if (r < cfg->n_regions) {
				sum[r].endpoints++;
				sum[r].healthy += ep->healthy && !ep->drained;
				sum[r].drained += ep->drained;
			}
		}
	}
	for (size_t r = 0; r < cfg->n_regions; r++) {
		const cfg_region_t *cr = &cfg->regions[r];
		json_array_append_new(
		        arr,
		        json_pack("{s:s, s:f, s:f, s:f, s:b, s:I, s:I, s:I, s:I}", "name", cr->name,
		                  "lat", cr->lat, "lon", cr->lon, "cost", cr->cost, "burst",
		                  cr->burst, "endpoints", (json_int_t)sum[r].endpoints, "healthy",
		                  (json_int_t)sum[r].healthy, "drained", (json_int_t)sum[r].drained,
		                  "answers", (json_int_t)ayad_metrics_region_answers(d, cr->name)));
	}
	free(sum);
	return arr;
}

static json_t *services_json(const ayad_t *d)
{
	json_t *arr = json_array();
	for (size_t s = 0; arr != NULL && d->pol != NULL && s < pol_service_count(d->pol); s++) {
		const pol_service_t *svc = pol_service_get(d->pol, s);
		json_t *pools = json_array();
		for (size_t p = 0; pools != NULL && p < svc->n_pools; p++) {
			const pol_pool_t *pp = &svc->pools[p];
			unsigned healthy = 0;
			for (size_t e = pp->first; e < (size_t)pp->first + pp->count; e++) {
				healthy += svc->endpoints[e].healthy && !svc->endpoints[e].drained;
			}
			json_array_append_new(
			        pools,
			        json_pack("{s:s, s:I, s:I, s:f, s:b, s:o}", "region", pp->region,
			                  "endpoints", (json_int_t)pp->count, "healthy",
			                  (json_int_t)healthy, "admit", pp->admit, "closed",
			                  pp->closed, "utilization", num_or_null(pp->utilization)));
		}
		json_array_append_new(arr, json_pack("{s:s, s:o}", "name", svc->name, "pools",
		                                     pools != NULL ? pools : json_array()));
	}
	return arr;
}

static json_t *members_json(const ayad_t *d)
{
	json_t *arr = json_array();
	const gsp_t *g = ayad_gossip_node(d);
	if (arr == NULL) {
		return NULL;
	}
	if (g == NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:n, s:b}", "name",
		                                     d->cfg->node.name, "region",
		                                     d->cfg->node.region, "address", "", "state",
		                                     "alive", "since_s", "self", 1));
		return arr;
	}
	uint64_t now = ayad_gossip_now_ms(d);
	for (size_t i = 0; i < gsp_member_count(g); i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		char addr[80];
		gsp_addr_str(&m->addr, addr, sizeof(addr));
		json_t *since =
		        m->state_change_ms > 0 && now >= m->state_change_ms
		                ? json_integer((json_int_t)((now - m->state_change_ms) / 1000))
		                : json_null();
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "name", m->name,
		                                "region", m->region, "address", addr, "state",
		                                gsp_state_name(m->state), "since_s", since, "self",
		                                strcmp(m->name, d->cfg->node.name) == 0));
	}
	return arr;
}

static json_t *events_json(const ayad_t *d)
{
	const ayad_event_t *ev[AYAD_EVENTS];
	size_t n = ayad_events_get(d, ev, AYAD_EVENTS);
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_array_append_new(arr, json_pack("{s:I, s:s}", "time_ms", (json_int_t)ev[i]->ms,
		                                     "text", ev[i]->text));
	}
	return arr;
}

int ayad_page_status_json(void *arg, struct evbuffer *out, const char **type)
{
	ayad_t *d = arg;
	ayad_metrics_fold(d);
	json_t *regions = regions_json(d), *services = services_json(d), *members = members_json(d),
	       *events = events_json(d);
	if (regions == NULL || services == NULL || members == NULL || events == NULL) {
		json_decref(regions);
		json_decref(services);
		json_decref(members);
		json_decref(events);
		return -ENOMEM;
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "node",
	                      d->cfg->node.name, "region", d->cfg->node.region, "version",
	                      AYA_VERSION, "uptime_s", (json_int_t)(time(NULL) - d->started),
	                      "time_ms", (json_int_t)aya_wall_ms(), "regions", regions, "services",
	                      services, "members", members, "events", events);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		return -ENOMEM;
	}
	int rc = evbuffer_add(out, text, strlen(text)) == 0 ? 0 : -ENOMEM;
	free(text);
	*type = "application/json";
	return rc;
}

/* The page, with the country table in place of its COUNTRIES marker. */
int ayad_page_status_html(void *arg, struct evbuffer *out, const char **type)
{
	(void)arg;
	static const char marker[] = "/*COUNTRIES*/[]";
	const char *at = strstr(ayad_status_html, marker);
	if (at == NULL) {
		return -EINVAL;
	}
	int rc = evbuffer_add(out, ayad_status_html, (size_t)(at - ayad_status_html));
	rc |= evbuffer_add(out, "[", 1);
	for (size_t i = 0; i < cfg_country_count(); i++) {
		double lat, lon;
		if (cfg_country_at(i, &lat, &lon) != NULL) {
			rc |= evbuffer_add_printf(out, "%s[%.2f,%.2f]", i > 0 ? "," : "", lat,
			                          lon) < 0;
		}
	}
	rc |= evbuffer_add(out, "]", 1);
	const char *rest = at + sizeof(marker) - 1;
	rc |= evbuffer_add(out, rest, strlen(rest));
	*type = "text/html; charset=utf-8";
	return rc == 0 ? 0 : -ENOMEM;
}
