/*
 * ayad's load loop: the glue between the controllers (policy/steer.c, one
 * per (service, pool)), the cluster (gossip/replicate.c: who owns a pool,
 * sending its fraction) and the policy rebuild. The decisions are made in
 * those modules; this file runs the timers.
 *
 *   - every AYAD_STEER_TICK_MS: pol_steer_update() over a state view, with
 *     "owns" = this node is the pool's owner (gsp_repl_steer_owner; alone,
 *     every pool); each owned pool's fraction is handed to the replicator,
 *     which stores and gossips it when it changed; a changed fraction asks
 *     for the usual debounced rebuild, whose build passes d->pol_steer;
 *   - a peer's record (d->steer_heard, set by main.c, called by
 *     daemon/gossip.c) is adopted with pol_steer_adopt();
 *   - every second: the answers per pool (dnsd's per-worker counters) are
 *     sampled, so `ayactl services` can show each pool's share of the last
 *     AYAD_SHARE_WINDOW_S seconds.
 * Control thread only.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/time.h"

#define SAMPLES (AYAD_SHARE_WINDOW_S + 1u)

struct ayad_steer {
	struct event *tick_ev, *sample_ev;
	ayad_steer_stats_t st;
	/* Answers per pool slot, one row per second; head is the next row written. */
	uint64_t *ring; /* SAMPLES x DNSD_POOL_SLOTS */
	unsigned head, n;
};

static bool owns(const char *service, const char *region, void *ctx)
{
	char owner[GSP_NAME_MAX + 1];
	return ayad_gossip_steer_owner(ctx, service, region, owner, sizeof(owner));
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_steer_t *s = d->steer;
	state_view_t *view = NULL;
	if (d->pol_steer == NULL || (d->state != NULL && state_view_build(d->state, &view) < 0)) {
		return;
	}
	size_t changed = pol_steer_update(d->pol_steer, d->cfg, view, aya_wall_ms(), owns, d);
	state_view_free(view);
	s->st.updates++;
	s->st.changes += changed;
	uint64_t closed = 0;
	for (size_t i = 0; i < pol_steer_count(d->pol_steer); i++) {
		const pol_steer_pool_t *pp = pol_steer_get(d->pol_steer, i);
		closed += pp->closed;
		if (pp->owned && ayad_gossip_steer_publish(d, pp->service, pp->region, pp->admit,
		                                           pp->closed) == 1) {
			s->st.sent++;
		}
	}
	s->st.pools_closed = closed;
	if (changed > 0) {
		ayad_schedule_rebuild(d);
	}
}

static void on_sample(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_steer_t *s = d->steer;
	if (d->srv == NULL) {
		return;
	}
	dnsd_server_pool_answers(d->srv, s->ring + (size_t)s->head * DNSD_POOL_SLOTS,
	                         DNSD_POOL_SLOTS);
	s->head = (s->head + 1) % SAMPLES;
	s->n += s->n < SAMPLES;
}

void ayad_steer_heard(ayad_t *d, const state_steer_t *rec)
{
	ayad_steer_t *s = d->steer;
	if (s == NULL || d->pol_steer == NULL) {
		return;
	}
	s->st.heard++;
	int rc = pol_steer_adopt(d->pol_steer, rec->service, rec->region, rec->admit, rec->closed,
	                         aya_wall_ms());
	if (rc == 1) {
		s->st.adopted++;
		ayad_schedule_rebuild(d);
	}
}

int ayad_steer_start(ayad_t *d)
{
	ayad_steer_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	d->steer = s;
	s->ring = calloc((size_t)SAMPLES * DNSD_POOL_SLOTS, sizeof(*s->ring));
	int rc = s->ring == NULL ? -ENOMEM : pol_steer_new(&d->pol_steer);
	if (rc == 0) {
		rc = pol_steer_sync(d->pol_steer, d->cfg, true);
	}
	s->tick_ev = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	s->sample_ev = event_new(d->base, -1, EV_PERSIST, on_sample, d);
	struct timeval tick = {.tv_sec = 0, .tv_usec = AYAD_STEER_TICK_MS * 1000};
	struct timeval sec = {.tv_sec = 1, .tv_usec = 0};
	if (rc == 0 && (s->tick_ev == NULL || s->sample_ev == NULL ||
	                event_add(s->tick_ev, &tick) != 0 || event_add(s->sample_ev, &sec) != 0)) {
		rc = -ENOMEM;
	}
	if (rc < 0) {
		log_err("steer: cannot start the load loop: %s", strerror(-rc));
		return rc;
	}
	log_info("steer: %zu pool(s) under the load loop", pol_steer_count(d->pol_steer));
	return 0;
}

int ayad_steer_reload(ayad_t *d, const cfg_t *cfg)
{
	ayad_steer_t *s = d->steer;
	if (s == NULL || d->pol_steer == NULL) {
		return 0;
	}
	int rc = pol_steer_sync(d->pol_steer, cfg, true);
	if (rc < 0) {
		log_err("steer: reload: %s; the load loop keeps the previous pools", strerror(-rc));
		return rc;
	}
	/* Pool slots follow the config: the answer window starts again. */
	s->n = 0;
	ayad_schedule_rebuild(d);
	return 0;
}

void ayad_steer_stop(ayad_t *d)
{
	ayad_steer_t *s = d->steer;
	if (s != NULL) {
		if (s->tick_ev != NULL) {
			event_free(s->tick_ev);
		}
		if (s->sample_ev != NULL) {
			event_free(s->sample_ev);
		}
		free(s->ring);
		free(s);
		d->steer = NULL;
	}
	pol_steer_free(d->pol_steer);
	d->pol_steer = NULL;
}

/* The window's answers of one slot: newest row minus oldest. */
static uint64_t window(const ayad_steer_t *s, size_t slot)
{
	unsigned newest = (s->head + SAMPLES - 1) % SAMPLES;
	unsigned oldest = (s->head + SAMPLES - s->n) % SAMPLES;
	uint64_t a = s->ring[(size_t)newest * DNSD_POOL_SLOTS + slot];
	uint64_t b = s->ring[(size_t)oldest * DNSD_POOL_SLOTS + slot];
	return a >= b ? a - b : 0;
}

const pol_steer_pool_t *ayad_steer_pool_info(ayad_t *d, size_t svc, size_t pool, char *owner,
                                             size_t len, double *share)
{
	const ayad_steer_t *s = d->steer;
	*share = NAN;
	owner[0] = '\0';
	const pol_service_t *ps = d->pol != NULL ? pol_service_get(d->pol, svc) : NULL;
	if (ps == NULL || pool >= ps->n_pools) {
		return NULL;
	}
	const pol_steer_pool_t *sp = d->pol_steer != NULL ? pol_steer_find(d->pol_steer, ps->name,
	                                                                   ps->pools[pool].region)
	                                                  : NULL;
	if (sp != NULL) {
		ayad_gossip_steer_owner(d, ps->name, ps->pools[pool].region, owner, len);
	}
	if (s == NULL || s->n < 2) {
		return sp;
	}
	size_t base = 0;
	for (size_t i = 0; i < svc; i++) {
		base += pol_service_get(d->pol, i)->n_pools;
	}
	uint64_t total = 0;
	for (size_t p = 0; p < ps->n_pools && base + p < DNSD_POOL_SLOTS; p++) {
		total += window(s, base + p);
	}
	if (total > 0 && base + pool < DNSD_POOL_SLOTS) {
		*share = 100.0 * (double)window(s, base + pool) / (double)total;
	}
	return sp;
}

#define ROW(f, name, help, family)                                                                 \
	AYA_STAT_ROW(ayad_steer_stats_t, f, name, help, family, NULL, AYA_STAT_COUNTER, 0)
static const aya_stat_t steer_rows[] = {
        ROW(updates, "steer_updates", "Runs of the load loop (every pool whose interval passed).",
            "aya_steer_updates_total"),
        ROW(changes, "steer_changes", "Admit fractions or closed flags changed by this node.",
            "aya_steer_changes_total"),
        ROW(sent, "steer_sent", "Fractions of pools this node owns stored and gossiped.",
            "aya_steer_sent_total"),
        ROW(heard, "steer_heard", "Peers' fraction records stored.", "aya_steer_heard_total"),
        ROW(adopted, "steer_adopted", "Peers' fractions that changed this node's answers.",
            "aya_steer_adopted_total"),
        AYA_STAT_ROW(ayad_steer_stats_t, pools_closed, "steer_pools_closed",
                     "Pools over their utilization limit, taking no new answers.",
                     "aya_steer_pools_closed", NULL, AYA_STAT_GAUGE, 0),
};
#undef ROW
const aya_stat_table_t ayad_steer_stats_table =
        AYA_STAT_TABLE("steer", ayad_steer_stats_t, steer_rows);

void ayad_steer_stats(const ayad_t *d, ayad_steer_stats_t *out)
{
	*out = d->steer != NULL ? d->steer->st : (ayad_steer_stats_t){0};
}
