/*
 * The node's recent events, for the status page and the logs: what changed
 * in the answers, as the published snapshots say. Before a new policy
 * snapshot replaces the current one (a rebuild or a reload), the two are
 * compared endpoint by endpoint (services matched by name, endpoints by
 * address): a cluster verdict that went down is logged at warning, one that
 * came back and drains at info, and each goes into a ring of the last
 * AYAD_EVENTS events. Control thread only.
 */
#include "daemon/ayad.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/time.h"

void ayad_event(ayad_t *d, const char *fmt, ...)
{
	ayad_event_t *e = &d->events[d->events_head];
	d->events_head = (d->events_head + 1) % AYAD_EVENTS;
	if (d->n_events < AYAD_EVENTS) {
		d->n_events++;
	}
	e->ms = aya_wall_ms();
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

size_t ayad_events_get(const ayad_t *d, const ayad_event_t **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_events && n < max; i++) {
		out[n++] = &d->events[(d->events_head + AYAD_EVENTS - 1 - i) % AYAD_EVENTS];
	}
	return n;
}

/* The endpoint of old's service matching ep's address, at index i when it is there. */
static const pol_endpoint_t *old_endpoint(const pol_service_t *os, size_t i,
                                          const pol_endpoint_t *ep)
{
	if (i < os->n_endpoints && strcmp(os->endpoints[i].text, ep->text) == 0) {
		return &os->endpoints[i];
	}
	for (size_t k = 0; k < os->n_endpoints; k++) {
		if (strcmp(os->endpoints[k].text, ep->text) == 0) {
			return &os->endpoints[k];
		}
	}
	return NULL;
}

void ayad_events_diff(ayad_t *d, const pol_snap_t *old, const pol_snap_t *cur)
{
	if (old == NULL || cur == NULL) {
		return;
	}
	for (size_t s = 0; s < pol_service_count(cur); s++) {
		const pol_service_t *svc = pol_service_get(cur, s);
		const pol_service_t *os = pol_service_find(old, svc->owner);
		if (os == NULL) {
			continue;
		}
		for (size_t i = 0; i < svc->n_endpoints; i++) {
			const pol_endpoint_t *ep = &svc->endpoints[i];
			const pol_endpoint_t *oe = old_endpoint(os, i, ep);
			const char *region = svc->pools[ep->pool].region;
			if (oe == NULL) {
				continue;
			}
			if (oe->healthy && !ep->healthy) {
				log_warn("health: endpoint down (cluster verdict) service=%s "
				         "region=%s endpoint=%s",
				         svc->name, region, ep->text);
				ayad_event(d, "%s %s %s down", svc->name, region, ep->text);
			} else if (!oe->healthy && ep->healthy) {
				log_info("health: endpoint up (cluster verdict) service=%s "
				         "region=%s endpoint=%s",
				         svc->name, region, ep->text);
				ayad_event(d, "%s %s %s up", svc->name, region, ep->text);
			}
			if (oe->drained != ep->drained) {
				log_info("drain: endpoint %s service=%s region=%s endpoint=%s",
				         ep->drained ? "drained" : "undrained", svc->name, region,
				         ep->text);
				ayad_event(d, "%s %s %s %s", svc->name, region, ep->text,
				           ep->drained ? "drained" : "undrained");
			}
		}
	}
}
