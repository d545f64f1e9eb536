/*
 * ayad's cluster membership and state dissemination (issue 5): gossip/ on
 * the control loop, with state/ records as the payload.
 *
 * What goes out
 *   - this node's observations (observer == node name), as one record each,
 *     when the status changes, the utilization moves by more than
 *     UTIL_STEP, or the last send is older than a third of the endpoint's
 *     stale limit (so peers never see our fresh results go stale);
 *   - this node's drains and undrains (origin == node name), once per new
 *     version;
 *   - on push/pull, every observation and override (state_pack_all).
 * A scan finds them by state generation and versions. It runs every SCAN_MS
 * and at once when ayad_gossip_kick() says that a local observation or drain
 * changed; status changes and drains then go out with gsp_broadcast_now()
 * (a gossip round right away), refreshes with the next regular round.
 *
 * What comes in: records merged by the state's LWW rule; a change schedules
 * the policy rebuild within GOSSIP_REBUILD_MS (shorter than the agent's
 * debounce: a peer's record is one change, already debounced at its origin). A member declared dead
 * or gone loses its observations after DEAD_GRACE_MS (until then they go stale on their own).
 *
 * Observers: each monitored endpoint is probed by the K members that
 * gsp_observers() picks (rendezvous hash, own region first, one other
 * region), recomputed when the live member set changes; `observers: all` on
 * a pool keeps every node probing it. Members are persisted in the state
 * store and used as extra seeds at the next start.
 *
 * Everything here runs on the control thread.
 */
#include "daemon/ayad.h"
#include "daemon/confhash.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "agent/agent.h"
#include "common/log.h"
#include "gossip/gossip.h"

#define SCAN_MS 25
#define UTIL_STEP 0.05
#define DEAD_GRACE_MS 60000u
#define REFRESH_MIN_MS 1000u
#define LEAVE_LINGER_MS 200
#define OBSERVERS_K 3
#define GOSSIP_REBUILD_MS 10u

/* What we last sent of one of our observations. */
struct sent {
	char key[STATE_NAME_MAX + 1];
	state_status_t status;
	double util;
	uint64_t at_ms;
};

/* A member seen dead or gone: its observations are dropped after the grace. */
struct gone {
	char name[GSP_NAME_MAX + 1];
	uint64_t since_ms;
};

struct ayad_gossip {
	gsp_t *g;
	gsp_transport_ev_t *tr;
	struct event *scan_ev, *leave_ev, *kick_ev;
	uint64_t config_hash;
	uint64_t last_gen;
	uint64_t ovr_version; /* highest own override version sent */
	struct sent *sent;
	size_t n_sent, cap_sent;
	struct gone *gone;
	size_t n_gone, cap_gone;
	bool members_changed; /* recompute the observer targets */
	uint64_t live_sig;    /* hash of the live member names */
	ayad_gossip_stats_t st;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t fnv(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	}
	return h;
}

/* ---- incoming state ---- */

static bool on_state(void *ctx, const char *key, const uint8_t *data, size_t len)
{
	(void)key;
	ayad_t *d = ctx;
	ayad_gossip_t *gs = d->gossip;
	int rc = state_rec_merge(d->state, data, len, NULL);
	if (rc < 0) {
		gs->st.records_bad++;
		return false;
	}
	gs->st.records_in++;
	if (rc == 1) {
		gs->st.records_merged++;
		ayad_schedule_rebuild_within(d, GOSSIP_REBUILD_MS);
	}
	return rc == 1;
}

static int local_state(void *ctx, uint8_t **out, size_t *len)
{
	ayad_t *d = ctx;
	return state_pack_all(d->state, out, len);
}

static int local_state_delta(void *ctx, const uint8_t *peer, size_t peer_len, uint8_t **out,
                             size_t *len)
{
	ayad_t *d = ctx;
	return state_pack_delta(d->state, peer, peer_len, out, len);
}

static void merge_remote(void *ctx, const uint8_t *data, size_t len)
{
	ayad_t *d = ctx;
	ayad_gossip_t *gs = d->gossip;
	size_t changed = 0, bad = 0;
	if (state_merge_all(d->state, data, len, &changed, &bad) < 0) {
		gs->st.records_bad++;
		return;
	}
	gs->st.records_bad += bad;
	gs->st.records_merged += changed;
	if (changed > 0) {
		ayad_schedule_rebuild(d);
	}
}

static void gone_del(ayad_gossip_t *gs, const char *name)
{
	for (size_t i = 0; i < gs->n_gone; i++) {
		if (strcmp(gs->gone[i].name, name) == 0) {
			gs->gone[i] = gs->gone[--gs->n_gone];
			return;
		}
	}
}

static void gone_add(ayad_gossip_t *gs, const char *name)
{
	gone_del(gs, name);
	if (gs->n_gone == gs->cap_gone) {
		size_t cap = gs->cap_gone > 0 ? gs->cap_gone * 2 : 8;
		struct gone *g = realloc(gs->gone, cap * sizeof(*g));
		if (g == NULL) {
			return; /* its observations just go stale */
		}
		gs->gone = g;
		gs->cap_gone = cap;
	}
	struct gone *o = &gs->gone[gs->n_gone++];
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->since_ms = wall_ms();
}

static void on_member(void *ctx, const gsp_member_t *m)
{
	ayad_t *d = ctx;
	ayad_gossip_t *gs = d->gossip;
	char addr[80];
	gsp_addr_str(&m->addr, addr, sizeof(addr));
	log_info("gossip: member %s (%s) at %s is %s, incarnation %llu", m->name, m->region, addr,
	         gsp_state_name(m->state), (unsigned long long)m->incarnation);
	gs->members_changed = true;
	if (strcmp(m->name, d->cfg->node.name) == 0) {
		return;
	}
	if (m->state == GSP_ST_ALIVE) {
		gone_del(gs, m->name);
		state_member_t sm = {.name = m->name,
		                     .region = m->region,
		                     .addr = addr,
		                     .last_seen_ms = wall_ms()};
		int rc = state_member_put(d->state, &sm);
		if (rc < 0) {
			log_warn("gossip: cannot store member %s: %s", m->name, strerror(-rc));
		}
	} else if (m->state == GSP_ST_DEAD || m->state == GSP_ST_LEFT) {
		gone_add(gs, m->name);
	}
}

/* ---- outgoing state ---- */

static struct sent *sent_find(ayad_gossip_t *gs, const char *key)
{
	for (size_t i = 0; i < gs->n_sent; i++) {
		if (strcmp(gs->sent[i].key, key) == 0) {
			return &gs->sent[i];
		}
	}
	if (gs->n_sent == gs->cap_sent) {
		size_t cap = gs->cap_sent > 0 ? gs->cap_sent * 2 : 16;
		struct sent *s = realloc(gs->sent, cap * sizeof(*s));
		if (s == NULL) {
			return NULL;
		}
		gs->sent = s;
		gs->cap_sent = cap;
	}
	struct sent *s = &gs->sent[gs->n_sent++];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", key);
	return s;
}

/* A third of the stale limit of the endpoint's monitor (the key ends in "/MONITOR"). */
static uint64_t refresh_ms(const cfg_t *cfg, const char *key)
{
	const char *slash = strrchr(key, '/');
	uint64_t stale = STATE_OBS_STALE_MIN_MS;
	for (size_t i = 0; slash != NULL && i < cfg->n_monitors; i++) {
		if (strcmp(cfg->monitors[i].name, slash + 1) == 0) {
			stale = state_obs_stale_ms(cfg->monitors[i].interval_ms,
			                           cfg->monitors[i].fall);
			break;
		}
	}
	return stale / 3 > REFRESH_MIN_MS ? stale / 3 : REFRESH_MIN_MS;
}

static bool util_moved(double a, double b)
{
	if (isnan(a) || isnan(b)) {
		return isnan(a) != isnan(b);
	}
	return fabs(a - b) > UTIL_STEP;
}

struct scan_ctx {
	ayad_t *d;
	uint64_t now;
	uint64_t top; /* highest own override version seen by this scan */
};

static void send_rec(ayad_gossip_t *gs, const char *key, const uint8_t *rec, size_t len, bool now)
{
	int rc =
	        now ? gsp_broadcast_now(gs->g, key, rec, len) : gsp_broadcast(gs->g, key, rec, len);
	if (rc < 0) {
		log_warn("gossip: cannot broadcast %s: %s", key, strerror(-rc));
		return;
	}
	gs->st.records_out++;
}

static int scan_obs(const state_obs_t *obs, void *arg)
{
	struct scan_ctx *c = arg;
	ayad_gossip_t *gs = c->d->gossip;
	if (strcmp(obs->observer, c->d->cfg->node.name) != 0) {
		return 0;
	}
	struct sent *s = sent_find(gs, obs->endpoint);
	if (s == NULL) {
		return 0;
	}
	bool changed = s->at_ms == 0 || s->status != obs->status;
	bool due = changed || util_moved(s->util, obs->utilization) ||
	           c->now - s->at_ms >= refresh_ms(c->d->cfg, obs->endpoint);
	if (!due) {
		return 0;
	}
	uint8_t rec[STATE_REC_MAX];
	int n = state_obs_pack(obs, rec, sizeof(rec));
	if (n > 0) {
		char key[STATE_NAME_MAX + 8];
		snprintf(key, sizeof(key), "o:%s", obs->endpoint);
		send_rec(gs, key, rec, (size_t)n, changed);
	}
	s->status = obs->status;
	s->util = obs->utilization;
	s->at_ms = c->now;
	return 0;
}

static int scan_ovr(const state_drain_t *dr, const uint8_t *rec, size_t len, void *arg)
{
	struct scan_ctx *c = arg;
	ayad_gossip_t *gs = c->d->gossip;
	if (dr->version <= gs->ovr_version || strcmp(dr->origin, c->d->cfg->node.name) != 0) {
		return 0;
	}
	c->top = dr->version > c->top ? dr->version : c->top;
	char key[2 * STATE_NAME_MAX + 8];
	snprintf(key, sizeof(key), "d:%s/%s", dr->service, dr->target != NULL ? dr->target : "");
	/* The compact form: about 20 bytes less than the store's record. */
	uint8_t compact[STATE_REC_MAX];
	int n = state_drain_pack(dr, compact, sizeof(compact));
	if (n > 0) {
		send_rec(gs, key, compact, (size_t)n, true);
	} else {
		send_rec(gs, key, rec, len, true);
	}
	return 0;
}

/* The highest override version in the store: what we need not send again. */
static int max_ovr(const state_drain_t *dr, const uint8_t *rec, size_t len, void *arg)
{
	(void)rec;
	(void)len;
	uint64_t *v = arg;
	*v = dr->version > *v ? dr->version : *v;
	return 0;
}

static void drop_gone(ayad_t *d, uint64_t now)
{
	ayad_gossip_t *gs = d->gossip;
	for (size_t i = 0; i < gs->n_gone;) {
		if (now - gs->gone[i].since_ms < DEAD_GRACE_MS) {
			i++;
			continue;
		}
		int rc = state_obs_drop_observer(d->state, gs->gone[i].name);
		if (rc > 0) {
			log_info("gossip: dropped %d observation(s) of %s, gone for %us", rc,
			         gs->gone[i].name, DEAD_GRACE_MS / 1000u);
			ayad_schedule_rebuild(d);
		}
		gs->gone[i] = gs->gone[--gs->n_gone];
	}
}

static void on_scan(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_gossip_t *gs = d->gossip;
	struct scan_ctx c = {.d = d, .now = wall_ms()};
	state_stats_t st;
	state_stats_get(d->state, &st);
	/* Observations: also time-driven (refresh); overrides only on a change. */
	state_obs_foreach(d->state, scan_obs, &c);
	if (st.generation != gs->last_gen) {
		state_ovr_foreach(d->state, scan_ovr, &c);
		gs->ovr_version = c.top > gs->ovr_version ? c.top : gs->ovr_version;
		gs->last_gen = st.generation;
	}
	drop_gone(d, c.now);
	if (gs->members_changed) {
		gs->members_changed = false;
		ayad_gossip_update_targets(d);
	}
}

void ayad_gossip_kick(ayad_t *d)
{
	/* Next loop iteration, not here: the caller may be mid-update of the store. */
	if (d->gossip != NULL && d->gossip->kick_ev != NULL) {
		event_active(d->gossip->kick_ev, EV_TIMEOUT, 1);
	}
}

/* ---- observers ---- */

/* The region of the pool that monitors `key`, NULL when none; *all for observers: all. */
static const char *key_region(const cfg_t *cfg, const char *key, bool *all)
{
	char k[STATE_NAME_MAX + 1];
	for (size_t z = 0; z < cfg->n_zones; z++) {
		const cfg_zone_t *zone = &cfg->zones[z];
		for (size_t s = 0; s < zone->n_services; s++) {
			const cfg_service_t *svc = &zone->services[s];
			for (size_t p = 0; p < svc->n_pools; p++) {
				const cfg_pool_t *pool = &svc->pools[p];
				if (pool->monitor == NULL) {
					continue;
				}
				const cfg_monitor_t *m = &cfg->monitors[pool->monitor_idx];
				for (size_t e = 0; e < pool->n_endpoints; e++) {
					if (state_endpoint_key(k, sizeof(k),
					                       pool->endpoints[e].text, m->port,
					                       m->name) > 0 &&
					    strcmp(k, key) == 0) {
						*all = pool->observers == CFG_OBSERVERS_ALL;
						return pool->region;
					}
				}
			}
		}
	}
	return NULL;
}

size_t ayad_gossip_filter_targets(ayad_t *d, agent_target_t *t, size_t n)
{
	ayad_gossip_t *gs = d->gossip;
	if (gs == NULL || n == 0) {
		return n;
	}
	size_t nm = gsp_member_count(gs->g);
	gsp_member_t *mem = calloc(nm + 1, sizeof(*mem));
	size_t *idx = calloc(OBSERVERS_K, sizeof(*idx));
	if (mem == NULL || idx == NULL) {
		free(mem);
		free(idx);
		return n; /* probing too much is safe */
	}
	for (size_t i = 0; i < nm; i++) {
		mem[i] = *gsp_member_get(gs->g, i);
	}
	size_t keep = 0;
	for (size_t i = 0; i < n; i++) {
		bool all = false;
		const char *region = key_region(d->cfg, t[i].key, &all);
		bool mine = all || region == NULL;
		if (!mine) {
			size_t k = gsp_observers(mem, nm, t[i].key, region, OBSERVERS_K, idx);
			for (size_t j = 0; j < k && !mine; j++) {
				mine = strcmp(mem[idx[j]].name, d->cfg->node.name) == 0;
			}
		}
		if (mine) {
			t[keep++] = t[i];
		}
	}
	free(mem);
	free(idx);
	return keep;
}

/* A signature of the live member names: recompute targets only when it moves. */
static uint64_t live_signature(const gsp_t *g)
{
	uint64_t sig = 0;
	for (size_t i = 0; i < gsp_member_count(g); i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		if (m->state == GSP_ST_ALIVE || m->state == GSP_ST_SUSPECT) {
			/* Order-free: a sum of per-name hashes. */
			sig += fnv(UINT64_C(0xcbf29ce484222325), m->name, strlen(m->name));
		}
	}
	return sig;
}

void ayad_gossip_update_targets(ayad_t *d)
{
	ayad_gossip_t *gs = d->gossip;
	agent_t *agent = d->agent;
	if (gs == NULL || agent == NULL) {
		return;
	}
	uint64_t sig = live_signature(gs->g);
	if (sig == gs->live_sig) {
		return;
	}
	agent_target_t *t = NULL;
	size_t n = 0;
	if (agent_targets_from_cfg(d->cfg, &t, &n) < 0) {
		return;
	}
	size_t all = n;
	n = ayad_gossip_filter_targets(d, t, n);
	int rc = agent_set_targets(agent, t, n);
	free(t);
	if (rc < 0) {
		log_warn("gossip: cannot set the probed endpoints: %s", strerror(-rc));
		return;
	}
	gs->live_sig = sig;
	log_info("gossip: observing %zu of %zu monitored endpoint(s), %zu live member(s)", n, all,
	         gsp_live_count(gs->g));
}

/* ---- start and stop ---- */

static int add_seed(gsp_addr_t **v, size_t *n, const gsp_addr_t *a)
{
	for (size_t i = 0; i < *n; i++) {
		if (gsp_addr_equal(&(*v)[i], a)) {
			return 0;
		}
	}
	gsp_addr_t *nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL) {
		return -ENOMEM;
	}
	nv[(*n)++] = *a;
	*v = nv;
	return 0;
}

struct seeds {
	gsp_addr_t *v;
	size_t n;
	const char *self;
};

/* Members we knew last time join the seed list: a rejoin works while the seeds are down. */
static int stored_seed(const state_member_t *m, void *arg)
{
	struct seeds *s = arg;
	gsp_addr_t a;
	if (strcmp(m->name, s->self) == 0 || gsp_addr_parse(m->addr, &a) < 0) {
		return 0;
	}
	return add_seed(&s->v, &s->n, &a);
}

static gsp_keyring_t *keyring_from_cfg(const cfg_gossip_t *c)
{
	gsp_keyring_t *kr = gsp_keyring_new();
	for (size_t i = 0; kr != NULL && i < c->n_keys; i++) {
		if (gsp_keyring_install(kr, c->keys[i]) < 0) {
			gsp_keyring_free(kr);
			return NULL;
		}
	}
	return kr;
}

static void fill_config(gsp_config_t *gc, const cfg_t *cfg, uint64_t hash)
{
	const cfg_gossip_t *c = &cfg->gossip;
	gsp_config_init(gc);
	gc->name = cfg->node.name;
	gc->region = cfg->node.region;
	memcpy(&gc->addr.ss, &c->bind.ss, sizeof(gc->addr.ss));
	gc->addr.len = c->bind.len;
	gc->config_hash = hash;
	gc->incarnation = (uint64_t)time(NULL);
	gc->probe_interval_ms = c->probe_interval_ms;
	gc->probe_timeout_ms = c->probe_timeout_ms;
	gc->indirect_checks = c->indirect_checks;
	gc->suspicion_mult = c->suspicion_mult;
	gc->suspicion_max_mult = c->suspicion_max_mult;
	gc->retransmit_mult = c->retransmit_mult;
	gc->gossip_interval_ms = c->gossip_interval_ms;
	gc->gossip_fanout = c->gossip_fanout;
	gc->pushpull_interval_ms = c->pushpull_interval_ms;
	gc->reap_ms = c->reap_ms;
	gc->mtu = c->mtu;
}

static int seeds_build(ayad_t *d, struct seeds *s)
{
	const cfg_gossip_t *c = &d->cfg->gossip;
	s->self = d->cfg->node.name;
	for (size_t i = 0; i < c->n_seeds; i++) {
		gsp_addr_t a = {.len = c->seeds[i].len};
		memcpy(&a.ss, &c->seeds[i].ss, sizeof(a.ss));
		if (add_seed(&s->v, &s->n, &a) < 0) {
			return -ENOMEM;
		}
	}
	size_t cfg_seeds = s->n;
	int rc = state_member_foreach(d->state, stored_seed, s);
	if (rc == 0 && s->n > cfg_seeds) {
		log_info("gossip: %zu stored member(s) added to the seeds", s->n - cfg_seeds);
	}
	return rc;
}

int ayad_gossip_start(ayad_t *d)
{
	const cfg_t *cfg = d->cfg;
	if (!cfg->gossip.enabled) {
		return 0;
	}
	ayad_gossip_t *gs = calloc(1, sizeof(*gs));
	struct seeds seeds = {0};
	gsp_config_t gc;
	int err = -ENOMEM;
	if (gs == NULL) {
		goto fail;
	}
	d->gossip = gs;
	gs->config_hash = ayad_config_hash(cfg);
	/* Drains already stored travel by push/pull, not as fresh broadcasts. */
	state_ovr_foreach(d->state, max_ovr, &gs->ovr_version);
	gsp_addr_t bind = {.len = cfg->gossip.bind.len};
	memcpy(&bind.ss, &cfg->gossip.bind.ss, sizeof(bind.ss));
	gs->tr = gsp_transport_ev_new(d->base, &bind, &err);
	if (gs->tr == NULL) {
		log_err("gossip: cannot bind %s: %s", cfg->gossip.bind.text, strerror(-err));
		goto fail;
	}
	if ((err = seeds_build(d, &seeds)) < 0) {
		goto fail;
	}
	fill_config(&gc, cfg, gs->config_hash);
	gc.seeds = seeds.v;
	gc.n_seeds = seeds.n;
	gsp_keyring_t *kr = NULL;
	if (!cfg->gossip.insecure && (kr = keyring_from_cfg(&cfg->gossip)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	gsp_clock_t clk = gsp_transport_ev_clock(gs->tr);
	gsp_transport_t tops = gsp_transport_ev_ops(gs->tr);
	gsp_delegate_t dg = {.ctx = d,
	                     .on_state = on_state,
	                     .local_state = local_state,
	                     .local_state_delta = local_state_delta,
	                     .merge_remote_state = merge_remote,
	                     .on_member = on_member};
	gs->g = gsp_new(&gc, kr, &clk, &tops, &dg);
	if (gs->g == NULL) {
		log_err("gossip: cannot create the node (bad gossip settings?)");
		err = -EINVAL;
		goto fail;
	}
	gsp_transport_ev_attach(gs->tr, gs->g);
	gs->scan_ev = event_new(d->base, -1, EV_PERSIST, on_scan, d);
	struct timeval tv = {.tv_sec = 0, .tv_usec = SCAN_MS * 1000};
	gs->kick_ev = evtimer_new(d->base, on_scan, d);
	if (gs->scan_ev == NULL || gs->kick_ev == NULL || event_add(gs->scan_ev, &tv) != 0) {
		err = -ENOMEM;
		goto fail;
	}
	gsp_start(gs->g);
	free(seeds.v);
	log_info("gossip: %s on %s, %zu seed(s), %s, config hash %016llx", cfg->node.name,
	         cfg->gossip.bind.text, gc.n_seeds,
	         cfg->gossip.insecure ? "INSECURE (plaintext)" : "AES-256-GCM",
	         (unsigned long long)gs->config_hash);
	return 0;
fail:
	free(seeds.v);
	ayad_gossip_stop(d);
	return err;
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
	free(gs->sent);
	free(gs->gone);
	free(gs);
	d->gossip = NULL;
}

gsp_t *ayad_gossip_node(const ayad_t *d)
{
	return d->gossip != NULL ? d->gossip->g : NULL;
}

uint64_t ayad_gossip_config_hash(const ayad_t *d)
{
	return d->gossip != NULL ? d->gossip->config_hash : 0;
}

void ayad_gossip_stats(const ayad_t *d, ayad_gossip_stats_t *out)
{
	*out = d->gossip != NULL ? d->gossip->st : (ayad_gossip_stats_t){0};
}

uint64_t ayad_gossip_now_ms(const ayad_t *d)
{
	if (d->gossip == NULL) {
		return 0;
	}
	gsp_clock_t c = gsp_transport_ev_clock(d->gossip->tr);
	return c.now_ms(c.ctx);
}
