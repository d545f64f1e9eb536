/*
 * Replication of the cluster state over gossip: the records this node
 * sends and when, what it merges, the members it keeps and forgets, and
 * which endpoints it observes. See gossip.h ("replication") for the
 * contract.
 *
 * Invariants
 *   - only this node's own records go out as broadcasts (observer or origin
 *     == node name); peers' records travel by relay (gossip/ re-gossips what
 *     changed a store) and by push/pull;
 *   - an own observation never goes unsent for longer than a third of its
 *     stale limit, so peers never see our fresh results go stale;
 *   - an own drain or cost version goes out once; versions up to
 *     ovr_version were sent (or stored before start: push/pull carries
 *     those). Both kinds draw versions from the store's one counter.
 * Records carry unix ms from the injected wall clock; gossip's own clock
 * (monotonic) is not used here.
 */
#include "gossip/gossip.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "common/dname.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/time.h"
#include "config/config.h"
#include "state/state.h"

#define UTIL_STEP 0.05
#define REFRESH_MIN_MS 1000u

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

struct gsp_repl {
	const cfg_t *cfg;
	state_t *st;
	gsp_t *g;
	gsp_repl_hooks_t h;
	uint64_t config_hash;
	uint64_t last_gen;
	uint64_t ovr_version; /* highest own override version sent */
	struct sent *sent;
	size_t n_sent, cap_sent;
	struct gone *gone;
	size_t n_gone, cap_gone;
	bool members_changed; /* check the live signature at the next scan */
	uint64_t live_sig;    /* of the live member names when targets were last set */
	gsp_repl_stats_t stats;
};

static uint64_t now_ms(const gsp_repl_t *r)
{
	return r->h.wall_ms != NULL ? r->h.wall_ms(r->h.ctx) : aya_wall_ms();
}

static void rebuild(gsp_repl_t *r, unsigned within_ms)
{
	if (r->h.rebuild != NULL) {
		r->h.rebuild(r->h.ctx, within_ms);
	}
}

static const char *self_name(const gsp_repl_t *r)
{
	return r->cfg->node.name;
}

static void send_rec(gsp_repl_t *r, const char *key, const uint8_t *rec, size_t len, bool now);

/* ---- incoming state ---- */

static bool on_state(void *ctx, const char *key, const uint8_t *data, size_t len)
{
	(void)key;
	gsp_repl_t *r = ctx;
	/* gsp_recv_udp() drops empty updates; this delegate may have other callers. */
	int rc = len > 0 && data != NULL ? state_rec_merge(r->st, data, len, NULL) : -EBADMSG;
	if (rc < 0) {
		r->stats.records_bad++;
		return false;
	}
	r->stats.records_in++;
	if (rc == 1) {
		r->stats.records_merged++;
		/* Shorter than the host's debounce: one record, already debounced at its origin. */
		rebuild(r, GSP_REPL_REBUILD_MS);
	}
	return rc == 1;
}

static int local_state(void *ctx, uint8_t **out, size_t *len)
{
	gsp_repl_t *r = ctx;
	return state_pack_all(r->st, out, len);
}

static int local_state_delta(void *ctx, const uint8_t *peer, size_t peer_len, uint8_t **out,
                             size_t *len)
{
	gsp_repl_t *r = ctx;
	return state_pack_delta(r->st, peer, peer_len, out, len);
}

static void merge_remote(void *ctx, const uint8_t *data, size_t len)
{
	gsp_repl_t *r = ctx;
	size_t changed = 0, bad = 0;
	if (state_merge_all(r->st, data, len, &changed, &bad) < 0) {
		r->stats.records_bad++;
		return;
	}
	r->stats.records_bad += bad;
	r->stats.records_merged += changed;
	if (changed > 0) {
		rebuild(r, 0);
	}
}

/* ---- steering records ---- */

/* Is (service, region) a pool of our config? Records of others are not stored. */
static bool steer_accept(const char *service, const char *region, void *ctx)
{
	const gsp_repl_t *r = ctx;
	uint8_t owner[AYA_DNAME_MAX];
	if (aya_dname_from_str(service, owner) < 0) {
		return false;
	}
	aya_dname_lower(owner);
	for (size_t z = 0; z < r->cfg->n_zones; z++) {
		const cfg_zone_t *zone = &r->cfg->zones[z];
		for (size_t i = 0; i < zone->n_services; i++) {
			const cfg_service_t *svc = &zone->services[i];
			if (!aya_dname_equal(svc->owner, owner)) {
				continue;
			}
			for (size_t p = 0; p < svc->n_pools; p++) {
				if (strcmp(svc->pools[p].region, region) == 0) {
					return true;
				}
			}
		}
	}
	return false;
}

static void steer_changed(const state_steer_t *s, void *ctx)
{
	gsp_repl_t *r = ctx;
	if (r->h.steer != NULL) {
		r->h.steer(r->h.ctx, s);
	}
}

bool gsp_repl_steer_owner(const gsp_repl_t *r, const char *service, const char *region, char *out,
                          size_t outlen)
{
	snprintf(out, outlen, "%s", self_name(r));
	if (r->g == NULL) {
		return true;
	}
	size_t nm = gsp_member_count(r->g), live = 0, idx[1];
	gsp_member_t mem[64], *m = nm <= 64 ? mem : calloc(nm, sizeof(*m));
	if (m == NULL) {
		return true; /* two writers for a while beats none */
	}
	for (size_t i = 0; i < nm; i++) {
		const gsp_member_t *x = gsp_member_get(r->g, i);
		if (x->state == GSP_ST_ALIVE || x->state == GSP_ST_SUSPECT) {
			m[live++] = *x;
		}
	}
	char key[2 * STATE_NAME_MAX + 16];
	snprintf(key, sizeof(key), "steer:%s/%s", service, region);
	if (live > 0 && gsp_observers(m, live, key, region, 1, idx) == 1) {
		snprintf(out, outlen, "%s", m[idx[0]].name);
	}
	if (m != mem) {
		free(m);
	}
	return strcmp(out, self_name(r)) == 0;
}

int gsp_repl_steer_publish(gsp_repl_t *r, const char *service, const char *region, double admit,
                           bool closed)
{
	state_steer_t old, now;
	bool had = state_steer_find(r->st, service, region, &old) == 0;
	bool was_closed = had && old.closed;
	if (!had && state_steer_quantize(admit) == STATE_STEER_ONE && !closed) {
		return 0; /* admitting everything, as every node does without news: nothing to say
		           */
	}
	int rc = state_steer_set(r->st, service, region, admit, closed, &now);
	if (rc <= 0 || r->g == NULL) {
		return rc;
	}
	uint8_t rec[STATE_REC_MAX];
	int n = state_steer_pack(&now, rec, sizeof(rec));
	if (n < 0) {
		return n;
	}
	char key[2 * STATE_NAME_MAX + 8];
	snprintf(key, sizeof(key), "s:%s/%s", service, region);
	send_rec(r, key, rec, (size_t)n, !had || was_closed != closed);
	return 1;
}

/* ---- members ---- */

static void gone_del(gsp_repl_t *r, const char *name)
{
	for (size_t i = 0; i < r->n_gone; i++) {
		if (strcmp(r->gone[i].name, name) == 0) {
			r->gone[i] = r->gone[--r->n_gone];
			return;
		}
	}
}

static void gone_add(gsp_repl_t *r, const char *name)
{
	gone_del(r, name);
	if (r->n_gone == r->cap_gone) {
		size_t cap = r->cap_gone > 0 ? r->cap_gone * 2 : 8;
		struct gone *g = realloc(r->gone, cap * sizeof(*g));
		if (g == NULL) {
			return; /* its observations just go stale */
		}
		r->gone = g;
		r->cap_gone = cap;
	}
	struct gone *o = &r->gone[r->n_gone++];
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->since_ms = now_ms(r);
}

static void on_member(void *ctx, const gsp_member_t *m)
{
	gsp_repl_t *r = ctx;
	char addr[80];
	gsp_addr_str(&m->addr, addr, sizeof(addr));
	/* Worse (suspect, dead) at warning; alive and a graceful leave at info. */
	aya_log(m->state == GSP_ST_SUSPECT || m->state == GSP_ST_DEAD ? AYA_LOG_WARN : AYA_LOG_INFO,
	        "gossip: member %s member=%s region=%s address=%s incarnation=%llu",
	        gsp_state_name(m->state), m->name, m->region, addr,
	        (unsigned long long)m->incarnation);
	r->members_changed = true;
	if (strcmp(m->name, self_name(r)) == 0) {
		return;
	}
	if (m->state == GSP_ST_ALIVE) {
		gone_del(r, m->name);
		state_member_t sm = {.name = m->name,
		                     .region = m->region,
		                     .addr = addr,
		                     .last_seen_ms = now_ms(r)};
		int rc = state_member_put(r->st, &sm);
		if (rc < 0) {
			log_warn("gossip: cannot store member %s: %s", m->name, strerror(-rc));
		}
	} else if (m->state == GSP_ST_DEAD || m->state == GSP_ST_LEFT) {
		gone_add(r, m->name);
	}
}

static void drop_gone(gsp_repl_t *r, uint64_t now)
{
	for (size_t i = 0; i < r->n_gone;) {
		if (now - r->gone[i].since_ms < GSP_REPL_DEAD_GRACE_MS) {
			i++;
			continue;
		}
		int rc = state_obs_drop_observer(r->st, r->gone[i].name);
		if (rc > 0) {
			log_info("gossip: dropped %d observation(s) of %s, gone for %us", rc,
			         r->gone[i].name, GSP_REPL_DEAD_GRACE_MS / 1000u);
			rebuild(r, 0);
		}
		r->gone[i] = r->gone[--r->n_gone];
	}
}

/* An order-free signature of the live member names: a sum of per-name hashes. */
static uint64_t live_signature(const gsp_t *g)
{
	uint64_t sig = 0;
	for (size_t i = 0; i < gsp_member_count(g); i++) {
		const gsp_member_t *m = gsp_member_get(g, i);
		if (m->state == GSP_ST_ALIVE || m->state == GSP_ST_SUSPECT) {
			sig += aya_fnv1a_str(AYA_FNV_OFFSET, m->name);
		}
	}
	return sig;
}

static void check_members(gsp_repl_t *r)
{
	if (!r->members_changed || r->g == NULL) {
		return;
	}
	r->members_changed = false;
	uint64_t sig = live_signature(r->g);
	if (sig == r->live_sig) {
		return;
	}
	if (r->h.members_changed != NULL && r->h.members_changed(r->h.ctx) < 0) {
		r->members_changed = true; /* retry at the next scan */
		return;
	}
	r->live_sig = sig;
}

/* ---- outgoing state ---- */

static struct sent *sent_find(gsp_repl_t *r, const char *key)
{
	for (size_t i = 0; i < r->n_sent; i++) {
		if (strcmp(r->sent[i].key, key) == 0) {
			return &r->sent[i];
		}
	}
	if (r->n_sent == r->cap_sent) {
		size_t cap = r->cap_sent > 0 ? r->cap_sent * 2 : 16;
		struct sent *s = realloc(r->sent, cap * sizeof(*s));
		if (s == NULL) {
			return NULL;
		}
		r->sent = s;
		r->cap_sent = cap;
	}
	struct sent *s = &r->sent[r->n_sent++];
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
	gsp_repl_t *r;
	uint64_t now;
	uint64_t top; /* highest own override version seen by this scan */
};

static void send_rec(gsp_repl_t *r, const char *key, const uint8_t *rec, size_t len, bool now)
{
	int rc = now ? gsp_broadcast_now(r->g, key, rec, len) : gsp_broadcast(r->g, key, rec, len);
	if (rc < 0) {
		log_warn("gossip: cannot broadcast %s: %s", key, strerror(-rc));
		return;
	}
	r->stats.records_out++;
}

static int scan_obs(const state_obs_t *obs, void *arg)
{
	struct scan_ctx *c = arg;
	gsp_repl_t *r = c->r;
	if (strcmp(obs->observer, self_name(r)) != 0) {
		return 0;
	}
	struct sent *s = sent_find(r, obs->endpoint);
	if (s == NULL) {
		return 0;
	}
	bool changed = s->at_ms == 0 || s->status != obs->status;
	bool due = changed || util_moved(s->util, obs->utilization) ||
	           c->now - s->at_ms >= refresh_ms(r->cfg, obs->endpoint);
	if (!due) {
		return 0;
	}
	uint8_t rec[STATE_REC_MAX];
	int n = state_obs_pack(obs, rec, sizeof(rec));
	if (n > 0) {
		char key[STATE_NAME_MAX + 8];
		snprintf(key, sizeof(key), "o:%s", obs->endpoint);
		send_rec(r, key, rec, (size_t)n, changed);
	}
	s->status = obs->status;
	s->util = obs->utilization;
	s->at_ms = c->now;
	return 0;
}

static int scan_ovr(const state_drain_t *dr, const uint8_t *rec, size_t len, void *arg)
{
	struct scan_ctx *c = arg;
	gsp_repl_t *r = c->r;
	if (dr->version <= r->ovr_version || strcmp(dr->origin, self_name(r)) != 0) {
		return 0;
	}
	c->top = dr->version > c->top ? dr->version : c->top;
	char key[2 * STATE_NAME_MAX + 8];
	snprintf(key, sizeof(key), "d:%s/%s", dr->service, dr->target != NULL ? dr->target : "");
	/* The compact form: about 20 bytes less than the store's record. */
	uint8_t compact[STATE_REC_MAX];
	int n = state_drain_pack(dr, compact, sizeof(compact));
	if (n > 0) {
		send_rec(r, key, compact, (size_t)n, true);
	} else {
		send_rec(r, key, rec, len, true);
	}
	return 0;
}

/* Our own cost records (set or reset), each version once, as the store's own record. */
static int scan_cost(const state_cost_t *cost, const uint8_t *rec, size_t len, void *arg)
{
	struct scan_ctx *c = arg;
	gsp_repl_t *r = c->r;
	if (cost->version <= r->ovr_version || strcmp(cost->origin, self_name(r)) != 0) {
		return 0;
	}
	c->top = cost->version > c->top ? cost->version : c->top;
	char key[STATE_NAME_MAX + 8];
	snprintf(key, sizeof(key), "c:%s", cost->region);
	send_rec(r, key, rec, len, true);
	return 0;
}

/* The highest cost version in the store (costs share the drains' version counter). */
static int max_cost(const state_cost_t *cost, const uint8_t *rec, size_t len, void *arg)
{
	(void)rec;
	(void)len;
	uint64_t *v = arg;
	*v = cost->version > *v ? cost->version : *v;
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

void gsp_repl_scan(gsp_repl_t *r)
{
	if (r->g == NULL) {
		return;
	}
	struct scan_ctx c = {.r = r, .now = now_ms(r)};
	state_stats_t st;
	state_stats_get(r->st, &st);
	/* Observations: also time-driven (refresh); overrides only on a change. */
	state_obs_foreach(r->st, scan_obs, &c);
	if (st.generation != r->last_gen) {
		state_ovr_foreach(r->st, scan_ovr, &c);
		state_cost_foreach(r->st, scan_cost, &c);
		r->ovr_version = c.top > r->ovr_version ? c.top : r->ovr_version;
		r->last_gen = st.generation;
	}
	drop_gone(r, c.now);
	check_members(r);
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

size_t gsp_repl_filter_targets(const gsp_repl_t *r, agent_target_t *t, size_t n)
{
	if (r->g == NULL || n == 0) {
		return n;
	}
	size_t nm = gsp_member_count(r->g);
	gsp_member_t *mem = calloc(nm + 1, sizeof(*mem));
	size_t idx[GSP_REPL_OBSERVERS_K];
	if (mem == NULL) {
		return n; /* probing too much is safe */
	}
	for (size_t i = 0; i < nm; i++) {
		mem[i] = *gsp_member_get(r->g, i);
	}
	size_t keep = 0;
	for (size_t i = 0; i < n; i++) {
		bool all = false;
		const char *region = key_region(r->cfg, t[i].key, &all);
		bool mine = all || region == NULL;
		if (!mine) {
			size_t k =
			        gsp_observers(mem, nm, t[i].key, region, GSP_REPL_OBSERVERS_K, idx);
			for (size_t j = 0; j < k && !mine; j++) {
				mine = strcmp(mem[idx[j]].name, self_name(r)) == 0;
			}
		}
		if (mine) {
			t[keep++] = t[i];
		}
	}
	free(mem);
	return keep;
}

/* ---- life cycle ---- */

gsp_repl_t *gsp_repl_new(const cfg_t *cfg, state_t *st, const gsp_repl_hooks_t *hooks)
{
	gsp_repl_t *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return NULL;
	}
	r->cfg = cfg;
	r->st = st;
	if (hooks != NULL) {
		r->h = *hooks;
	}
	r->config_hash = cfg_hash(cfg);
	/* Drains and costs already stored travel by push/pull, not as fresh broadcasts. */
	state_ovr_foreach(st, max_ovr, &r->ovr_version);
	state_cost_foreach(st, max_cost, &r->ovr_version);
	state_steer_watch(st, steer_accept, steer_changed, r);
	return r;
}

void gsp_repl_free(gsp_repl_t *r)
{
	if (r == NULL) {
		return;
	}
	state_steer_watch(r->st, NULL, NULL, NULL);
	free(r->sent);
	free(r->gone);
	free(r);
}

/* `ayactl keyring` changed our ring: saved, so that a restart keeps it. */
static void on_keyring(void *ctx, const gsp_keyring_t *kr)
{
	gsp_repl_t *r = ctx;
	gsp_repl_keyring_save(r->cfg, kr);
}

gsp_delegate_t gsp_repl_delegate(gsp_repl_t *r)
{
	return (gsp_delegate_t){.ctx = r,
	                        .on_state = on_state,
	                        .local_state = local_state,
	                        .local_state_delta = local_state_delta,
	                        .merge_remote_state = merge_remote,
	                        .on_member = on_member,
	                        .on_keyring = on_keyring};
}

void gsp_repl_attach(gsp_repl_t *r, gsp_t *g)
{
	r->g = g;
	r->live_sig = 0;
	r->members_changed = g != NULL;
}

uint64_t gsp_repl_config_hash(const gsp_repl_t *r)
{
	return r->config_hash;
}

#define ROW(f, name, help, labels)                                                                 \
	AYA_STAT_ROW(gsp_repl_stats_t, f, name, help, "aya_gossip_records_total", labels,          \
	             AYA_STAT_COUNTER, AYA_STAT_NOLIST)
static const aya_stat_t repl_rows[] = {
        ROW(records_out, "gossip_records_out", "State records gossiped, by what became of them",
            "event=\"sent\""),
        ROW(records_in, "gossip_records_in", "State records gossiped, by what became of them",
            "event=\"received\""),
        ROW(records_merged, "gossip_records_merged",
            "State records gossiped, by what became of them", "event=\"merged\""),
        ROW(records_bad, "gossip_records_bad", "State records gossiped, by what became of them",
            "event=\"bad\""),
};
#undef ROW
const aya_stat_table_t gsp_repl_stats_table =
        AYA_STAT_TABLE("gossip_records", gsp_repl_stats_t, repl_rows);

gsp_repl_stats_t gsp_repl_stats(const gsp_repl_t *r)
{
	return r->stats;
}

/* ---- the gossip config from the cfg ---- */

static gsp_addr_t from_cfg_addr(const cfg_sockaddr_t *a)
{
	gsp_addr_t g = {.len = a->len};
	memcpy(&g.ss, &a->ss, sizeof(g.ss));
	return g;
}

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

/* cfg's seeds, then the stored members, into a malloc'd s->v; 0 or -errno. */
static int seeds_build(const gsp_repl_t *r, const cfg_gossip_t *c, struct seeds *s)
{
	*s = (struct seeds){.self = self_name(r)};
	for (size_t i = 0; i < c->n_seeds; i++) {
		gsp_addr_t a = from_cfg_addr(&c->seeds[i]);
		if (add_seed(&s->v, &s->n, &a) < 0) {
			free(s->v);
			return -ENOMEM;
		}
	}
	size_t cfg_seeds = s->n;
	int rc = state_member_foreach(r->st, stored_seed, s);
	if (rc < 0) {
		free(s->v);
		return rc;
	}
	if (s->n > cfg_seeds) {
		log_info("gossip: %zu stored member(s) added to the seeds", s->n - cfg_seeds);
	}
	return 0;
}

int gsp_repl_config(gsp_repl_t *r, gsp_config_t *gc, gsp_addr_t **seeds)
{
	const cfg_t *cfg = r->cfg;
	const cfg_gossip_t *c = &cfg->gossip;
	struct seeds s;
	int rc = seeds_build(r, c, &s);
	if (rc < 0) {
		return rc;
	}
	gsp_config_init(gc);
	gc->name = cfg->node.name;
	gc->region = cfg->node.region;
	gc->addr = from_cfg_addr(&c->bind);
	gc->config_hash = r->config_hash;
	gc->incarnation = now_ms(r) / 1000u;
	gc->seeds = s.v;
	gc->n_seeds = s.n;
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
	*seeds = s.v;
	return 0;
}

/* ---- reload ---- */

static bool key_listed(const cfg_gossip_t *c, const uint8_t key[GSP_KEY_LEN])
{
	for (size_t i = 0; i < c->n_keys; i++) {
		if (memcmp(c->keys[i], key, GSP_KEY_LEN) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * The ring becomes the file's keys, the first primary: install the new
 * ones, switch the primary, then remove the rest (never the primary, so
 * the node can send throughout). A full ring is -ENOSPC: nothing removed
 * yet, so the old keys keep working.
 */
static int keyring_replace(gsp_keyring_t *kr, const cfg_gossip_t *c)
{
	int rc = 0;
	for (size_t i = 0; i < c->n_keys && rc == 0; i++) {
		rc = gsp_keyring_install(kr, c->keys[i]);
	}
	if (rc == 0) {
		rc = gsp_keyring_use(kr, c->keys[0]);
	}
	uint8_t k[GSP_KEY_LEN];
	for (size_t i = gsp_keyring_count(kr); rc == 0 && i-- > 0;) {
		if (gsp_keyring_get(kr, i, k) == 0 && !key_listed(c, k)) {
			rc = gsp_keyring_remove(kr, k);
		}
	}
	return rc;
}

/* Append one line to a malloc'd text; false on no memory. */
static bool note_add(char **text, size_t *len, const char *fmt, const char *arg)
{
	int n = snprintf(NULL, 0, fmt, arg);
	char *t = n >= 0 ? realloc(*text, *len + (size_t)n + 2) : NULL;
	if (t == NULL) {
		return false;
	}
	snprintf(t + *len, (size_t)n + 1, fmt, arg);
	*len += (size_t)n;
	t[(*len)++] = '\n';
	t[*len] = '\0';
	*text = t;
	return true;
}

static int apply_keyring(gsp_repl_t *r, const cfg_gossip_t *c, char **notes, size_t *len)
{
	gsp_keyring_t *kr = r->g != NULL ? gsp_keyring(r->g) : NULL;
	if (kr == NULL || c->n_keys == 0) {
		/* Insecure one side: a change of mode, which needs a restart (below). */
		return 0;
	}
	int rc = keyring_replace(kr, c);
	char id[9];
	gsp_key_id_hex(c->keys[0], id);
	if (rc < 0) {
		log_err("reload: gossip.keyring: cannot apply: %s; the running ring stays",
		        strerror(-rc));
		note_add(notes, len, "reload: gossip.keyring not applied: %s", strerror(-rc));
		return rc;
	}
	log_info("reload: gossip.keyring applied: %zu key(s), primary %s", gsp_keyring_count(kr),
	         id);
	/* The config's ring now, also after a restart (the saved one names this file's keys). */
	gsp_repl_keyring_save(r->cfg, kr);
	note_add(notes, len, "reload: gossip.keyring applied, primary key %s", id);
	return 0;
}

static int apply_seeds(gsp_repl_t *r, const cfg_gossip_t *c, char **notes, size_t *len)
{
	struct seeds s;
	int rc = r->g != NULL ? seeds_build(r, c, &s) : 0;
	if (r->g == NULL || rc < 0) {
		return rc;
	}
	rc = gsp_set_seeds(r->g, s.v, s.n);
	free(s.v);
	if (rc < 0) {
		log_err("reload: gossip.seeds: cannot apply: %s", strerror(-rc));
		note_add(notes, len, "reload: gossip.seeds not applied: %s", strerror(-rc));
		return rc;
	}
	char n[24];
	snprintf(n, sizeof(n), "%zu", c->n_seeds);
	log_info("reload: gossip.seeds applied: %s seed(s), new ones joined", n);
	note_add(notes, len, "reload: gossip.seeds applied: %s seed(s), new ones joined", n);
	return 0;
}

int gsp_repl_reload(gsp_repl_t *r, const cfg_t *cfg, char **notes)
{
	const char *keys[32];
	const cfg_t *old = r->cfg;
	size_t n = cfg_gossip_diff(&old->gossip, &cfg->gossip, keys, 32);
	size_t len = 0;
	int rc = 0, e = 0;
	*notes = calloc(1, 1);
	if (*notes == NULL) {
		return -ENOMEM;
	}
	r->cfg = cfg; /* what the keyring is saved against */
	for (size_t i = 0; i < n && i < 32; i++) {
		bool ok = true;
		if (strcmp(keys[i], "keyring") == 0 && old->gossip.n_keys > 0) {
			e = apply_keyring(r, &cfg->gossip, notes, &len);
		} else if (strcmp(keys[i], "seeds") == 0) {
			e = apply_seeds(r, &cfg->gossip, notes, &len);
		} else if (strcmp(keys[i], "bind") == 0) {
			continue; /* the host rebinds its transport (gsp_transport_ev_rebind) */
		} else if (strcmp(keys[i], "gossip") == 0) {
			log_warn("reload: gossip section %s; restart ayad to apply it",
			         cfg->gossip.enabled ? "added" : "removed");
			ok = note_add(notes, &len,
			              "reload: gossip section %s; restart ayad to apply it",
			              cfg->gossip.enabled ? "added" : "removed");
		} else {
			log_warn("reload: gossip.%s changed; restart ayad to apply it", keys[i]);
			ok = note_add(notes, &len,
			              "reload: gossip.%s changed; restart ayad to apply it",
			              keys[i]);
		}
		if (!ok || e < 0) {
			rc = ok ? e : -ENOMEM;
		}
	}
	uint64_t hash = cfg_hash(cfg);
	if (hash != r->config_hash) {
		log_info("reload: config hash %016llx, was %016llx", (unsigned long long)hash,
		         (unsigned long long)r->config_hash);
		r->config_hash = hash;
		if (r->g != NULL) {
			gsp_set_config_hash(r->g, hash);
		}
	}
	return rc;
}
