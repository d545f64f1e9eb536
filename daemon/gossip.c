/*
 * ayad's gossip wiring (the domain logic is gossip/replicate.c): the
 * libevent transport and clock, the timers that drive the replicator,
 * start, leave and stop, and the two callbacks out of it:
 *   - "state changed": the policy rebuild (ayad_schedule_rebuild*; the only
 *     place in this file that asks for one);
 *   - "live members changed": the probed endpoints are recomputed with the
 *     replicator's observer filter.
 * Timers: a scan every SCAN_MS (refreshes, the dead-member grace) and one
 * on the next loop iteration after ayad_gossip_kick() (a local observation
 * or drain changed); a graceful leave lingers LEAVE_LINGER_MS so that the
 * goodbyes go out.
 *
 * Everything here runs on the control thread.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "gossip/gossip.h"

#define SCAN_MS 25
#define LEAVE_LINGER_MS 200

struct ayad_gossip {
	gsp_t *g;
	gsp_repl_t *repl;
	gsp_transport_ev_t *tr;
	struct event *scan_ev, *leave_ev, *kick_ev;
};

/* ---- callbacks out of the replicator ---- */

static void on_rebuild(void *ctx, unsigned within_ms)
{
	ayad_t *d = ctx;
	if (within_ms > 0) {
		ayad_schedule_rebuild_within(d, within_ms);
	} else {
		ayad_schedule_rebuild(d);
	}
}

static void on_steer(void *ctx, const state_steer_t *s)
{
	ayad_t *d = ctx;
	if (d->steer_heard != NULL) {
		d->steer_heard(d, s);
	}
}

static int on_members_changed(void *ctx)
{
	ayad_t *d = ctx;
	/* Filters through ayad_gossip_filter_targets(), logs what it probes. */
	ayad_probes_set_targets(d, d->cfg);
	log_info("gossip: %zu live member(s)", gsp_live_count(d->gossip->g));
	return 0;
}

/* ---- timers ---- */

static void on_scan(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	gsp_repl_scan(d->gossip->repl);
}

void ayad_gossip_kick(ayad_t *d)
{
	/* Next loop iteration, not here: the caller may be mid-update of the store. */
	if (d->gossip != NULL && d->gossip->kick_ev != NULL) {
		event_active(d->gossip->kick_ev, EV_TIMEOUT, 1);
	}
}

size_t ayad_gossip_filter_targets(ayad_t *d, struct agent_target *t, size_t n)
{
	return d->gossip != NULL ? gsp_repl_filter_targets(d->gossip->repl, t, n) : n;
}

void ayad_gossip_update_targets(ayad_t *d)
{
	if (d->gossip != NULL) {
		on_members_changed(d);
	}
}

/* ---- start and stop ---- */

static int timers_start(ayad_t *d)
{
	ayad_gossip_t *gs = d->gossip;
	struct timeval tv = {.tv_sec = 0, .tv_usec = SCAN_MS * 1000};
	gs->scan_ev = event_new(d->base, -1, EV_PERSIST, on_scan, d);
	gs->kick_ev = evtimer_new(d->base, on_scan, d);
	if (gs->scan_ev == NULL || gs->kick_ev == NULL || event_add(gs->scan_ev, &tv) != 0) {
		return -ENOMEM;
	}
	return 0;
}

int ayad_gossip_start(ayad_t *d)
{
	const cfg_t *cfg = d->cfg;
	if (!cfg->gossip.enabled) {
		return 0;
	}
	ayad_gossip_t *gs = calloc(1, sizeof(*gs));
	gsp_addr_t *seeds = NULL;
	gsp_config_t gc;
	int err = -ENOMEM;
	if (gs == NULL) {
		goto fail;
	}
	d->gossip = gs;
	gsp_repl_hooks_t hooks = {.ctx = d,
	                          .rebuild = on_rebuild,
	                          .members_changed = on_members_changed,
	                          .steer = on_steer};
	if ((gs->repl = gsp_repl_new(cfg, d->state, &hooks)) == NULL) {
		goto fail;
	}
	gsp_addr_t bind = {.len = cfg->gossip.bind.len};
	memcpy(&bind.ss, &cfg->gossip.bind.ss, sizeof(bind.ss));
	gs->tr = gsp_transport_ev_new(d->base, &bind, &err);
	if (gs->tr == NULL) {
		log_err("gossip: cannot bind %s: %s", cfg->gossip.bind.text, strerror(-err));
		goto fail;
	}
	if ((err = gsp_repl_config(gs->repl, &gc, &seeds)) < 0) {
		goto fail;
	}
	gc.version = AYA_VERSION;
	gsp_keyring_t *kr = NULL;
	if (!cfg->gossip.insecure && (kr = gsp_repl_keyring(cfg)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	gsp_clock_t clk = gsp_transport_ev_clock(gs->tr);
	gsp_transport_t tops = gsp_transport_ev_ops(gs->tr);
	gsp_delegate_t dg = gsp_repl_delegate(gs->repl);
	gs->g = gsp_new(&gc, kr, &clk, &tops, &dg);
	if (gs->g == NULL) {
		log_err("gossip: cannot create the node (bad gossip settings?)");
		err = -EINVAL;
		goto fail;
	}
	gsp_repl_attach(gs->repl, gs->g);
	gsp_transport_ev_attach(gs->tr, gs->g);
	if ((err = timers_start(d)) < 0) {
		goto fail;
	}
	gsp_start(gs->g);
	free(seeds);
	log_info("gossip: %s on %s, %zu seed(s), %s, config hash %016llx", cfg->node.name,
	         cfg->gossip.bind.text, gc.n_seeds,
	         cfg->gossip.insecure ? "INSECURE (plaintext)" : "AES-256-GCM",
	         (unsigned long long)gsp_repl_config_hash(gs->repl));
	return 0;
fail:
	free(seeds);
	ayad_gossip_stop(d);
	return err;
}

static bool same_bind(const cfg_sockaddr_t *a, const cfg_sockaddr_t *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/*
 * gossip.bind changed: new sockets first; only when they bind does the node
 * move (and advertise the address with a new incarnation). A line for the
 * reload's diagnostics into note.
 */
static void rebind(ayad_t *d, const cfg_t *cfg, char *note, size_t len)
{
	const char *was = d->cfg->gossip.bind.text, *now = cfg->gossip.bind.text;
	gsp_addr_t bind = {.len = cfg->gossip.bind.len};
	memcpy(&bind.ss, &cfg->gossip.bind.ss, sizeof(bind.ss));
	int rc = gsp_transport_ev_rebind(d->gossip->tr, &bind);
	if (rc < 0) {
		log_err("reload: gossip.bind: cannot bind %s: %s; still on %s", now, strerror(-rc),
		        was);
		snprintf(note, len,
		         "reload: gossip.bind not applied: cannot bind %s: %s; still on %s\n", now,
		         strerror(-rc), was);
		return;
	}
	gsp_set_addr(d->gossip->g, &bind);
	log_info("reload: gossip.bind applied: now on %s (was %s)", now, was);
	snprintf(note, len, "reload: gossip.bind applied: now on %s (was %s)\n", now, was);
}

int ayad_gossip_reload(ayad_t *d, const cfg_t *cfg, char **notes)
{
	*notes = NULL;
	if (d->gossip == NULL) {
		if (cfg->gossip.enabled) {
			log_warn("reload: gossip section added; restart ayad to apply it");
			*notes = strdup("reload: gossip section added; restart ayad to apply it\n");
		}
		return 0;
	}
	char bnote[256] = "";
	if (cfg->gossip.enabled && !same_bind(&d->cfg->gossip.bind, &cfg->gossip.bind)) {
		rebind(d, cfg, bnote, sizeof(bnote));
	}
	int rc = gsp_repl_reload(d->gossip->repl, cfg, notes);
	if (*notes != NULL && bnote[0] != '\0') {
		size_t a = strlen(*notes), b = strlen(bnote);
		char *all = realloc(*notes, a + b + 1);
		if (all != NULL) {
			memcpy(all + a, bnote, b + 1);
			*notes = all;
		}
	}
	return rc;
}

static void on_leave_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	event_base_loopbreak(d->base);
}

bool ayad_gossip_leave(ayad_t *d)
{
	ayad_gossip_t *gs = d->gossip;
	if (gs == NULL || gs->g == NULL || gs->leave_ev != NULL) {
		return false;
	}
	gsp_leave(gs->g);
	/* Keep the loop running briefly so the goodbyes (and their retransmits) go out. */
	gs->leave_ev = evtimer_new(d->base, on_leave_done, d);
	struct timeval tv = {.tv_sec = 0, .tv_usec = LEAVE_LINGER_MS * 1000};
	if (gs->leave_ev == NULL || evtimer_add(gs->leave_ev, &tv) != 0) {
		return false;
	}
	log_info("gossip: leaving the cluster");
	return true;
}

void ayad_gossip_stop(ayad_t *d)
{
	ayad_gossip_t *gs = d->gossip;
	if (gs == NULL) {
		return;
	}
	if (gs->scan_ev != NULL) {
		event_free(gs->scan_ev);
	}
	if (gs->leave_ev != NULL) {
		event_free(gs->leave_ev);
	}
	if (gs->kick_ev != NULL) {
		event_free(gs->kick_ev);
	}
	/* The transport first: no packet or timer may reach a freed node. */
	gsp_transport_ev_free(gs->tr);
	gsp_free(gs->g);
	gsp_repl_free(gs->repl);
	free(gs);
	d->gossip = NULL;
}

bool ayad_gossip_steer_owner(ayad_t *d, const char *service, const char *region, char *owner,
                             size_t len)
{
	if (d->gossip == NULL || d->gossip->repl == NULL) {
		snprintf(owner, len, "%s", d->cfg->node.name);
		return true;
	}
	return gsp_repl_steer_owner(d->gossip->repl, service, region, owner, len);
}

int ayad_gossip_steer_publish(ayad_t *d, const char *service, const char *region, double admit,
                              bool closed)
{
	if (d->gossip == NULL || d->gossip->repl == NULL) {
		return 0;
	}
	return gsp_repl_steer_publish(d->gossip->repl, service, region, admit, closed);
}

gsp_t *ayad_gossip_node(const ayad_t *d)
{
	return d->gossip != NULL ? d->gossip->g : NULL;
}

uint64_t ayad_gossip_config_hash(const ayad_t *d)
{
	return d->gossip != NULL && d->gossip->repl != NULL ? gsp_repl_config_hash(d->gossip->repl)
	                                                    : 0;
}

void ayad_gossip_stats(const ayad_t *d, gsp_repl_stats_t *out)
{
	*out = d->gossip != NULL && d->gossip->repl != NULL ? gsp_repl_stats(d->gossip->repl)
	                                                    : (gsp_repl_stats_t){0};
}

uint64_t ayad_gossip_now_ms(const ayad_t *d)
{
	if (d->gossip == NULL) {
		return 0;
	}
	gsp_clock_t c = gsp_transport_ev_clock(d->gossip->tr);
	return c.now_ms(c.ctx);
}
