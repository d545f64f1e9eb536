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
 * changes them. The same tick republishes when a drain reached its expiry
 * (ayad_t.drain_until_s, from the last build).
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
	ayad_rebuild_stats_t st;
	uint64_t last_build_us;
	aya_hist_t build_hist; /* seconds per build (ayad_rebuild_bounds) */
	aya_hist_t delay_hist; /* seconds from a batch's first change to its publish */
};

const double ayad_rebuild_bounds[AYAD_REBUILD_BOUNDS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};

static void rebuild(ayad_t *d, const char *why)
{
	ayad_rebuild_t *r = d->rebuild;
	uint64_t t0 = aya_mono_us();
	pol_snap_t *pol = NULL;
	char err[512] = "";
	int rc = ayad_pol_build(d, d->cfg, d->geo, &pol, NULL, err, sizeof(err));
	if (rc < 0) {
		/* The old snapshot keeps serving; the next change or tick tries again. */
		r->st.rebuild_errors++;
		log_warn("health: policy rebuild (%s) failed: %s", why,
		         err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	ayad_events_diff(d, d->pol, pol);
	dnsd_server_publish(d->srv, NULL, pol);
	d->pol = pol;
	r->st.rebuilds++;
	r->last_build_us = aya_mono_us() - t0;
	aya_hist_observe(&r->build_hist, ayad_rebuild_bounds, AYAD_REBUILD_BOUNDS,
	                 (double)r->last_build_us / 1e6);
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
	r->st.last_delay_us = aya_mono_us() - r->first_change_us;
	aya_hist_observe(&r->delay_hist, ayad_rebuild_bounds, AYAD_REBUILD_BOUNDS,
	                 (double)r->st.last_delay_us / 1e6);
	if (r->st.last_delay_us > r->st.max_delay_us) {
		r->st.max_delay_us = r->st.last_delay_us;
	}
}

void ayad_schedule_rebuild(ayad_t *d)
{
	ayad_rebuild_t *r = d->rebuild;
	if (r == NULL || r->debounce_ev == NULL) {
		return;
	}
	r->st.changes++;
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
			r->st.changes++;
			return; /* already due sooner */
		}
	}
	r->st.changes++;
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
	if (r->pending || d->pol == NULL || d->state == NULL) {
		return;
	}
	/* A drain ends by itself: nothing but time changes it. */
	if (d->drain_until_s > 0 && aya_wall_ms() >= (uint64_t)d->drain_until_s * 1000u) {
		r->st.tick_rebuilds++;
		rebuild(d, "drain expiry");
		return;
	}
	if (pol_snap_monitored(d->pol) == 0) {
		return;
	}
	state_view_t *view = NULL;
	if (state_view_build(d->state, &view) < 0) {
		return;
	}
	bool current = pol_snap_current(d->pol, view, aya_wall_ms());
	state_view_free(view);
	if (!current) {
		r->st.tick_rebuilds++;
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

void ayad_rebuild_hists(const ayad_t *d, aya_hist_t *build, aya_hist_t *delay)
{
	const ayad_rebuild_t *r = d->rebuild;
	*build = r != NULL ? r->build_hist : (aya_hist_t){0};
	*delay = r != NULL ? r->delay_hist : (aya_hist_t){0};
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

#define ROW(f, name, help, family)                                                                 \
	AYA_STAT_ROW(ayad_rebuild_stats_t, f, name, help, family, NULL, AYA_STAT_COUNTER, 0)
static const aya_stat_t rebuild_rows[] = {
        ROW(changes, "health_changes", "Probe results and peers' records that asked for a rebuild.",
            "aya_policy_changes_total"),
        ROW(rebuilds, "health_rebuilds", "Policy snapshots rebuilt and published.",
            "aya_snapshot_rebuilds_total"),
        ROW(tick_rebuilds, "health_tick_rebuilds",
            "Policy rebuilds for a stale observation or a slow-start step.",
            "aya_snapshot_tick_rebuilds_total"),
        ROW(rebuild_errors, "health_rebuild_errors",
            "Policy rebuilds that failed; the previous snapshot kept serving.",
            "aya_snapshot_rebuild_errors_total"),
        AYA_STAT_ROW(ayad_rebuild_stats_t, last_delay_us, "health_last_delay_us",
                     "Microseconds from the first change of the last batch to its publish.", NULL,
                     NULL, AYA_STAT_GAUGE, 0),
        AYA_STAT_ROW(ayad_rebuild_stats_t, max_delay_us, "health_max_delay_us",
                     "Longest delay from a change to its publish, in microseconds.", NULL, NULL,
                     AYA_STAT_GAUGE, 0),
};
#undef ROW
const aya_stat_table_t ayad_rebuild_stats_table =
        AYA_STAT_TABLE("rebuild", ayad_rebuild_stats_t, rebuild_rows);

void ayad_rebuild_stats(const ayad_t *d, ayad_rebuild_stats_t *out)
{
	*out = d->rebuild != NULL ? d->rebuild->st : (ayad_rebuild_stats_t){0};
}
