/*
 * The debounced rebuild-and-publish of the policy snapshot, on the control
 * loop: a changed probe result (the agent's on_change, wired in main.c) or
 * a changed record heard from a peer (daemon/gossip.c) asks for a new
 * snapshot; this file decides when it is built and publishes it.
 *
 * The first change of a batch arms a one-shot timer of
 * AYAD_REBUILD_DEBOUNCE_MS; further changes before it fires join the same
 * rebuild, so a backend host failing with 100 endpoints costs one compile
 * and one publish, not 100. The delay from the first change to the publish
 * is measured (status counters).
 *
 * A tick (AYAD_REBUILD_TICK_MS) asks the published snapshot whether it still
 * says what the observations say (pol_snap_current): an observation that
 * went stale, or a slow-start ramp that moved by POL_HEADROOM_STEP,
 * republishes too. Nothing calls on_change for those, since time alone
 * changes them.
 *
 * A build is a state view (state_view_build) and pol_snap_build
 * (ayad_pol_build, daemon/store.c): the health rule is policy's. This file
 * calls nothing in daemon/gossip.c or daemon/probes.c.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/time.h"

struct ayad_rebuild {
	struct event *debounce_ev;
	struct event *tick_ev;
	bool pending;
	uint64_t first_change_us; /* monotonic, of the pending batch */
	uint64_t changes, rebuilds, rebuild_errors, tick_rebuilds;
	uint64_t last_delay_us, max_delay_us, last_build_us;
};

static void rebuild(ayad_t *d, const char *why)
{
	ayad_rebuild_t *r = d->rebuild;
	uint64_t t0 = aya_mono_us();
	pol_snap_t *pol = NULL;
	char err[512] = "";
	int rc = ayad_pol_build(d, d->cfg, d->geo, &pol, NULL, err, sizeof(err));
	if (rc < 0) {
		/* The old snapshot keeps serving; the next change or tick tries again. */
		r->rebuild_errors++;
		log_warn("health: policy rebuild (%s) failed: %s", why,
		         err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	dnsd_server_publish(d->srv, NULL, pol);
	d->pol = pol;
	r->rebuilds++;
	r->last_build_us = aya_mono_us() - t0;
	log_debug("health: policy rebuilt (%s) in %.1f ms", why, (double)r->last_build_us / 1e3);
}

static void on_debounce(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_rebuild_t *r = d->rebuild;
	r->pending = false;
	rebuild(d, "probe results");
	r->last_delay_us = aya_mono_us() - r->first_change_us;
	if (r->last_delay_us > r->max_delay_us) {
		r->max_delay_us = r->last_delay_us;
	}
}

void ayad_schedule_rebuild(ayad_t *d)
{
	ayad_rebuild_t *r = d->rebuild;
	if (r == NULL || r->debounce_ev == NULL) {
		return;
	}
	r->changes++;
	if (r->pending) {
		return; /* joins the batch */
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = AYAD_REBUILD_DEBOUNCE_MS * 1000};
	if (evtimer_add(r->debounce_ev, &tv) != 0) {
		/* Cannot wait: publish now rather than late. */
		r->first_change_us = aya_mono_us();
		on_debounce(-1, 0, d);
		return;
	}
	r->pending = true;
	r->first_change_us = aya_mono_us();
}

void ayad_schedule_rebuild_within(ayad_t *d, unsigned ms)
{
	ayad_rebuild_t *r = d->rebuild;
	if (r == NULL || r->debounce_ev == NULL) {
		return;
	}
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000}, due, now, want;
	if (r->pending && evtimer_pending(r->debounce_ev, &due)) {
		evutil_gettimeofday(&now, NULL);
		evutil_timeradd(&now, &tv, &want);
		if (!evutil_timercmp(&want, &due, <)) {
			r->changes++;
			return; /* already due sooner */
		}
	}
	r->changes++;
	if (evtimer_add(r->debounce_ev, &tv) != 0) {
		r->first_change_us = r->pending ? r->first_change_us : aya_mono_us();
		on_debounce(-1, 0, d);
		return;
	}
	if (!r->pending) {
		r->first_change_us = aya_mono_us();
	}
	r->pending = true;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_rebuild_t *r = d->rebuild;
	if (r->pending || d->pol == NULL || pol_snap_monitored(d->pol) == 0 || d->state == NULL) {
		return;
	}
	state_view_t *view = NULL;
	if (state_view_build(d->state, &view) < 0) {
		return;
	}
	bool current = pol_snap_current(d->pol, view, aya_wall_ms());
	state_view_free(view);
	if (!current) {
		r->tick_rebuilds++;
		rebuild(d, "staleness or slow start");
	}
}

int ayad_rebuild_start(ayad_t *d)
{
	ayad_rebuild_t *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return -ENOMEM;
	}
	d->rebuild = r;
	r->debounce_ev = evtimer_new(d->base, on_debounce, d);
	r->tick_ev = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	struct timeval tv = {.tv_sec = 0, .tv_usec = AYAD_REBUILD_TICK_MS * 1000};
	if (r->debounce_ev == NULL || r->tick_ev == NULL || event_add(r->tick_ev, &tv) != 0) {
		log_err("health: cannot arm the health timers");
		return -ENOMEM;
	}
	return 0;
}

void ayad_rebuild_stop(ayad_t *d)
{
	ayad_rebuild_t *r = d->rebuild;
	if (r == NULL) {
		return;
	}
	if (r->debounce_ev != NULL) {
		event_free(r->debounce_ev);
	}
	if (r->tick_ev != NULL) {
		event_free(r->tick_ev);
	}
	free(r);
	d->rebuild = NULL;
}

size_t ayad_rebuild_counters(const ayad_t *d, const char **names, uint64_t *values, size_t max)
{
	const ayad_rebuild_t zero = {0};
	const ayad_rebuild_t *r = d->rebuild != NULL ? d->rebuild : &zero;
	const struct {
		const char *name;
		uint64_t v;
	} c[AYAD_REBUILD_COUNTERS] = {
	        {"health_changes", r->changes},
	        {"health_rebuilds", r->rebuilds},
	        {"health_tick_rebuilds", r->tick_rebuilds},
	        {"health_rebuild_errors", r->rebuild_errors},
	        {"health_last_delay_us", r->last_delay_us},
	        {"health_max_delay_us", r->max_delay_us},
	};
	size_t n = 0;
	for (; n < AYA_ARRAY_LEN(c) && n < max; n++) {
		names[n] = c[n].name;
		values[n] = c[n].v;
	}
	return n;
}
