/*
 * The daemon's state store, geo tree and policy snapshot compilation.
 *
 * The store (state/) holds the operator drains and the observations; it is
 * opened once at start-up, before any thread exists, because state_open() forks a checker
 * that reads the whole file. A corrupt file is moved aside: a node that
 * lost its drains must still answer DNS, so recovery is loud, not fatal.
 *
 * Policy snapshots are compiled from (config, geo tree, a view of the state:
 * drains and observations). The geo tree is the expensive part (about 50 ms
 * for the country database), so a drain or health change reuses the current
 * tree and only a reload builds a new one.
 * Everything here runs on the control thread.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/time.h"

#define FLUSH_CHECK_MS 500

int ayad_store_open(ayad_t *d, const cfg_t *cfg)
{
	state_opts_t o = {.flags = STATE_OPEN_RECOVER, .node = cfg->node.name};
	int rc = state_open(cfg->state_dir, &o, &d->state);
	if (rc < 0) {
		/* -EBUSY: another process holds it, maybe an ayad to take over from (takeover.c).
		 */
		if (rc != -EBUSY) {
			log_err("ayad: state store in %s: %s", cfg->state_dir, strerror(-rc));
		}
		return rc;
	}
	state_stats_t st;
	state_stats_get(d->state, &st);
	if (st.recovered) {
		log_err("ayad: STATE STORE %s/state.lmdb WAS CORRUPT: moved aside, starting with "
		        "no drains and no observations; re-apply drains with ayactl drain",
		        cfg->state_dir);
	}
	size_t n = 0;
	state_drain_t *list = NULL;
	if (state_drain_list(d->state, &list, &n) == 0) {
		log_info("ayad: state store %s: %zu drain(s), %zu observation(s)", cfg->state_dir,
		         n, st.n_obs);
		state_drain_list_free(list, n);
	}
	return 0;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	if (d->state != NULL && state_flush_due(d->state, aya_wall_ms())) {
		int rc = state_flush(d->state);
		if (rc < 0) {
			log_warn("ayad: state flush: %s", strerror(-rc));
		}
	}
}

int ayad_store_timer(ayad_t *d)
{
	d->flush_ev = event_new(d->base, -1, EV_PERSIST, on_flush, d);
	struct timeval tv = {.tv_sec = 0, .tv_usec = FLUSH_CHECK_MS * 1000};
	if (d->flush_ev == NULL || event_add(d->flush_ev, &tv) != 0) {
		log_err("ayad: cannot arm the state flush timer");
		return -ENOMEM;
	}
	return 0;
}

void ayad_store_close(ayad_t *d)
{
	if (d->flush_ev != NULL) {
		event_free(d->flush_ev);
		d->flush_ev = NULL;
	}
	if (d->state != NULL) {
		int rc = state_flush(d->state);
		if (rc < 0) {
			log_warn("ayad: state flush at exit: %s", strerror(-rc));
		}
		state_close(d->state);
		d->state = NULL;
	}
}

int ayad_geo_build(const cfg_t *cfg, geo_tree_t **out, char *err, size_t errlen)
{
	*out = NULL;
	if (cfg->n_regions == 0) {
		/* No regions, no services to order: policy runs without geo. */
		return 0;
	}
	int rc = geo_tree_build_cfg(cfg, out, err, errlen);
	if (rc < 0) {
		return rc;
	}
	geo_tree_stats_t st;
	geo_tree_stats(*out, &st);
	if (cfg->geo.database != NULL) {
		log_info("geo: %s: %zu tree nodes, %zu region orders from %zu database nodes, "
		         "built in %.1f ms",
		         cfg->geo.database, st.nodes, st.orders, st.mmdb_nodes, st.build_ms);
	} else {
		log_info("geo: no database, every client gets the default region order");
	}
	return 0;
}

/* The view's cost overrides (ayactl cost) as the compiler's inputs; names borrowed from view. */
static int view_costs(const state_view_t *view, pol_cost_t **out, size_t *n)
{
	const state_cost_t *c = state_view_costs(view, n);
	*out = NULL;
	if (*n == 0) {
		return 0;
	}
	*out = calloc(*n, sizeof(**out));
	if (*out == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < *n; i++) {
		(*out)[i] = (pol_cost_t){.region = c[i].region, .cost = c[i].cost};
	}
	return 0;
}

/* The earliest expiry among the view's (active) drains; 0 = none expires. */
static int64_t next_expiry(const state_view_t *view)
{
	size_t n = 0;
	const state_drain_t *dr = view != NULL ? state_view_drains(view, &n) : NULL;
	int64_t next = 0;
	for (size_t i = 0; i < n; i++) {
		if (dr[i].until_s > 0 && (next == 0 || dr[i].until_s < next)) {
			next = dr[i].until_s;
		}
	}
	return next;
}

int ayad_pol_build(ayad_t *d, const cfg_t *cfg, geo_tree_t *geo, pol_snap_t **out,
                   size_t *unmatched, char *err, size_t errlen)
{
	/* Drains and every observer's observations, as of one moment. */
	uint64_t now_ms = aya_wall_ms();
	state_view_t *view = NULL;
	int rc = d->state != NULL ? state_view_build(d->state, &view) : 0;
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the state: %s", strerror(-rc));
		return rc;
	}
	pol_cost_t *costs = NULL;
	size_t n_costs = 0;
	if (view != NULL && (rc = view_costs(view, &costs, &n_costs)) < 0) {
		state_view_free(view);
		snprintf(err, errlen, "cannot read the cost overrides: %s", strerror(-rc));
		return rc;
	}
	/* d->started is second-precise: the grace may end up to a second early. */
	pol_inputs_t in = {.view = view,
	                   .now_ms = now_ms,
	                   .started_ms = (uint64_t)d->started * 1000u,
	                   .costs = costs,
	                   .n_costs = n_costs,
	                   .steer = d->pol_steer};
	rc = pol_snap_build(cfg, geo, &in, out, err, errlen);
	if (rc == 0) {
		d->drain_until_s = next_expiry(view);
	}
	if (rc == 0 && unmatched != NULL) {
		*unmatched = pol_snap_unmatched_drains(*out);
	}
	free(costs);
	state_view_free(view);
	return rc;
}
