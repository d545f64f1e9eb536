/*
 * gossip/replicate.c in the simulated network: every node runs the real
 * replicator over its own LMDB state store (a temp dir) and config, on the
 * simulation's clock, with scans every SCAN_MS as ayad runs them. What one
 * node writes into its store must reach the others' stores, at the right
 * time and once; a dead member's observations go after the grace; the
 * observer filter gives each endpoint its K observers; a reload's config
 * hash reaches every member.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "config/config.h"
#include "gossip/gossip.h"
#include "gossip/gossip_int.h" /* the node's epoch, for a hand-made packet */
#include "state/state.h"
#include "tests/config/util.h"
#include "tests/gossip/sim.h"
#include "tests/state/helpers.h"

#define SEC 1000u
#define SCAN_MS 25u
#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY2 "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA="
#define EP "192.0.2.1:8080/web"

typedef struct rnode {
	struct cluster *c;
	char *dir;
	state_t *st;
	cfg_t *cfg;
	gsp_repl_t *r;
	unsigned rebuilds, rebuilds_soon, member_calls, steer_heard;
} rnode_t;

typedef struct cluster {
	sim_t *s;
	scratch_t conf;
	rnode_t *n;
	size_t count;
} cluster_t;

/* Node i's config: name n<i>, region r<i % 2>; pools in r0 and r1; `extra` under gossip:. */
static void write_cfg(cluster_t *c, size_t i, const char *svc_addr, const char *gossip)
{
	char yaml[4096 + PATH_MAX], name[32];
	snprintf(
	        yaml, sizeof(yaml),
	        "node: { name: n%zu, region: r%zu }\n"
	        "regions: [ { name: r0, location: [53, -6] }, { name: r1, location: [39, -77] } ]\n"
	        "monitors: [ { name: web, type: http, port: 8080, interval: 500ms, fall: 2 } ]\n"
	        "zones:\n"
	        "  - name: svc.example.com\n"
	        "    file: z.zone\n"
	        "    services:\n"
	        "      - name: www\n"
	        "        pools:\n"
	        "          - region: r0\n"
	        "            monitor: web\n"
	        "            endpoints: [ { address: %s }, { address: 192.0.2.2 },\n"
	        "                         { address: 192.0.2.3 }, { address: 192.0.2.4 } ]\n"
	        "          - region: r1\n"
	        "            monitor: web\n"
	        "            endpoints: [ { address: 198.51.100.1 }, { address: 198.51.100.2 } ]\n"
	        "      - name: all\n"
	        "        pools:\n"
	        "          - region: r1\n"
	        "            monitor: web\n"
	        "            observers: all\n"
	        "            endpoints: [ { address: 203.0.113.1 } ]\n"
	        "state_dir: %s\n"
	        "%s%s\n",
	        i, i % 2, svc_addr, c->conf.dir, gossip != NULL ? "gossip: " : "",
	        gossip != NULL ? gossip : "");
	snprintf(name, sizeof(name), "n%zu.yaml", i);
	scratch_write(&c->conf, name, yaml);
}

static cfg_t *load_cfg(cluster_t *c, size_t i)
{
	char name[32];
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	snprintf(name, sizeof(name), "n%zu.yaml", i);
	if (scratch_load(&c->conf, name, &cfg, &d) != 0) {
		fail_msg("n%zu: %s", i, d.text);
	}
	cfg_diag_fini(&d);
	return cfg;
}

static uint64_t sim_wall(void *ctx)
{
	const cluster_t *c = ((rnode_t *)ctx)->c;
	return c->s != NULL ? sim_now(c->s) : 1000000; /* the simulation's start */
}

static void on_rebuild(void *ctx, unsigned within_ms)
{
	rnode_t *n = ctx;
	n->rebuilds++;
	n->rebuilds_soon += within_ms == GSP_REPL_REBUILD_MS;
}

static int on_members(void *ctx)
{
	((rnode_t *)ctx)->member_calls++;
	return 0;
}

static void on_steer(void *ctx, const struct state_steer *s)
{
	(void)s;
	((rnode_t *)ctx)->steer_heard++;
}

static void app_delegate(void *arg, sim_node_t *sn, gsp_delegate_t *dg)
{
	cluster_t *c = arg;
	*dg = gsp_repl_delegate(c->n[sn->id].r);
}

static void app_created(void *arg, sim_node_t *sn)
{
	cluster_t *c = arg;
	gsp_repl_attach(c->n[sn->id].r, sn->g);
}

/* Node i's config, store (a temp dir) and replicator; c->conf holds z.zone. */
static void rnode_init(cluster_t *c, size_t i, const char *gossip)
{
	rnode_t *r = &c->n[i];
	r->c = c;
	write_cfg(c, i, "192.0.2.1", gossip);
	r->cfg = load_cfg(c, i);
	r->dir = tmpdir_new();
	assert_non_null(r->dir);
	state_opts_t so = {.node = r->cfg->node.name, .clock_ms = sim_wall, .clock_ctx = r};
	assert_int_equal(state_open(r->dir, &so, &r->st), 0);
	gsp_repl_hooks_t h = {.ctx = r,
	                      .wall_ms = sim_wall,
	                      .rebuild = on_rebuild,
	                      .members_changed = on_members,
	                      .steer = on_steer};
	r->r = gsp_repl_new(r->cfg, r->st, &h);
	assert_non_null(r->r);
}

static void rnode_fini(rnode_t *r)
{
	gsp_repl_free(r->r);
	state_close(r->st);
	cfg_free(r->cfg);
	tmpdir_free(r->dir);
}

/* n nodes in 2 regions, each with a store and a replicator, converged. */
static cluster_t *cluster_new(size_t n, uint64_t seed, const char *gossip)
{
	cluster_t *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->count = n;
	c->n = calloc(n, sizeof(*c->n));
	assert_non_null(c->n);
	scratch_init(&c->conf);
	scratch_write(&c->conf, "z.zone", GOOD_ZONE);
	scratch_write(&c->conf, "keys2.txt", KEY2 "\n" KEY1 "\n");
	for (size_t i = 0; i < n; i++) {
		rnode_init(c, i, gossip);
	}
	sim_opts_t o;
	sim_opts_init(&o, n);
	o.seed = seed;
	o.n_seeds = 2;
	o.n_regions = 2;
	o.base.pushpull_interval_ms = 0; /* only broadcasts: the tests time them */
	o.delegate = app_delegate;
	o.created = app_created;
	o.app_arg = c;
	c->s = sim_new(&o);
	sim_start(c->s);
	assert_true(sim_run_until_pred(c->s, sim_converged, NULL, 50, sim_now(c->s) + 30 * SEC) !=
	            0);
	return c;
}

static void cluster_free(cluster_t *c)
{
	sim_free(c->s);
	c->s = NULL; /* the stores' clock (sim_wall) reads it until they close */
	for (size_t i = 0; i < c->count; i++) {
		rnode_fini(&c->n[i]);
	}
	scratch_fini(&c->conf);
	free(c->n);
	free(c);
}

/* Run the network for ms, scanning every up node every SCAN_MS as ayad does. */
static void run(cluster_t *c, uint64_t ms)
{
	uint64_t end = sim_now(c->s) + ms;
	while (sim_now(c->s) < end) {
		sim_run_until(c->s, sim_now(c->s) + SCAN_MS);
		for (size_t i = 0; i < c->count; i++) {
			if (sim_node(c->s, i)->up) {
				gsp_repl_scan(c->n[i].r);
			}
		}
	}
}

/* Node i observes EP with status and utilization (a new version, as the agent writes). */
static void observe(cluster_t *c, size_t i, state_status_t status, double util)
{
	rnode_t *r = &c->n[i];
	state_obs_t o = {.observer = r->cfg->node.name,
	                 .endpoint = EP,
	                 .status = status,
	                 .rise = 2,
	                 .utilization = util,
	                 .observed_at_ms = sim_now(c->s),
	                 .version = state_next_version(r->st)};
	assert_int_equal(state_obs_merge(r->st, &o), 1);
}

/* The version of n<from>'s observation of EP in node i's store; 0 = absent. */
static uint64_t seen_version(cluster_t *c, size_t i, size_t from, state_status_t *status)
{
	char name[16];
	state_obs_t o;
	snprintf(name, sizeof(name), "n%zu", from);
	if (state_obs_find(c->n[i].st, name, EP, &o) != 0) {
		return 0;
	}
	if (status != NULL) {
		*status = o.status;
	}
	return o.version;
}

static uint64_t version_of(cluster_t *c, size_t i)
{
	return seen_version(c, i, i, NULL);
}

static void test_observation_reaches_peers(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(4, 3, NULL);
	observe(c, 0, STATE_ST_UP, 0.2);
	uint64_t v = version_of(c, 0);
	uint64_t out0 = gsp_repl_stats(c->n[0].r).records_out;
	run(c, 300); /* a status change goes out with the next scan, at once */
	for (size_t i = 1; i < c->count; i++) {
		state_status_t st = STATE_ST_UNKNOWN;
		assert_int_equal(seen_version(c, i, 0, &st), v);
		assert_int_equal(st, STATE_ST_UP);
		assert_true(c->n[i].rebuilds_soon >= 1);
		assert_true(gsp_repl_stats(c->n[i].r).records_merged >= 1);
	}
	assert_int_equal(gsp_repl_stats(c->n[0].r).records_out, out0 + 1);
	cluster_free(c);
}

static void test_change_now_refresh_later(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(3, 5, NULL);
	uint64_t refresh = state_obs_stale_ms(500, 2) / 3; /* the monitor's stale limit / 3 */
	observe(c, 0, STATE_ST_UP, 0.2);
	run(c, 200);
	uint64_t v1 = version_of(c, 0);
	assert_int_equal(seen_version(c, 1, 0, NULL), v1);
	uint64_t sent_at = sim_now(c->s) - 200;
	uint64_t out = gsp_repl_stats(c->n[0].r).records_out;
	/* Same status, utilization within the step: held back until the refresh. */
	observe(c, 0, STATE_ST_UP, 0.22);
	uint64_t v2 = version_of(c, 0);
	run(c, refresh - 400);
	assert_int_equal(gsp_repl_stats(c->n[0].r).records_out, out);
	assert_int_equal(seen_version(c, 1, 0, NULL), v1);
	assert_int_equal(seen_version(c, 2, 0, NULL), v1);
	run(c, sent_at + refresh + 300 - sim_now(c->s));
	assert_int_equal(gsp_repl_stats(c->n[0].r).records_out, out + 1);
	assert_int_equal(seen_version(c, 1, 0, NULL), v2);
	assert_int_equal(seen_version(c, 2, 0, NULL), v2);
	/* A utilization move beyond 0.05 goes without waiting for the refresh. */
	observe(c, 0, STATE_ST_UP, 0.5);
	uint64_t v3 = version_of(c, 0);
	run(c, 400);
	assert_int_equal(seen_version(c, 1, 0, NULL), v3);
	/* A status change: out with the next scan, no later than a few hops. */
	observe(c, 0, STATE_ST_DOWN, 0.5);
	uint64_t v4 = version_of(c, 0);
	run(c, 100);
	state_status_t st = STATE_ST_UNKNOWN;
	assert_int_equal(seen_version(c, 1, 0, &st), v4);
	assert_int_equal(st, STATE_ST_DOWN);
	assert_int_equal(seen_version(c, 2, 0, NULL), v4);
	assert_int_equal(gsp_repl_stats(c->n[0].r).records_out, out + 3);
	cluster_free(c);
}

static size_t drains_of(cluster_t *c, size_t i, const char **origin_ok)
{
	state_drain_t *l = NULL;
	size_t n = 0;
	assert_int_equal(state_drain_list(c->n[i].st, &l, &n), 0);
	for (size_t k = 0; k < n; k++) {
		assert_string_equal(l[k].service, "www.svc.example.com");
		assert_string_equal(l[k].origin, "n1");
		*origin_ok = "n1";
	}
	state_drain_list_free(l, n);
	return n;
}

static void test_drain_once_everywhere(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(5, 7, NULL);
	uint64_t merged[5], out = gsp_repl_stats(c->n[1].r).records_out;
	for (size_t i = 0; i < 5; i++) {
		merged[i] = gsp_repl_stats(c->n[i].r).records_merged;
	}
	assert_int_equal(state_drain_set(c->n[1].st, "www.svc.example.com", NULL, true, "op"), 1);
	run(c, 3 * SEC);
	for (size_t i = 0; i < 5; i++) {
		const char *origin = NULL;
		assert_int_equal(drains_of(c, i, &origin), 1);
		if (i != 1) {
			/* Merged once: the relays that reach it again are old news. */
			assert_int_equal(gsp_repl_stats(c->n[i].r).records_merged, merged[i] + 1);
		}
	}
	assert_int_equal(gsp_repl_stats(c->n[1].r).records_out, out + 1);
	/* The undrain (a new version) goes out once too. */
	assert_int_equal(state_drain_set(c->n[1].st, "www.svc.example.com", NULL, false, NULL), 1);
	run(c, 3 * SEC);
	for (size_t i = 0; i < 5; i++) {
		const char *origin = NULL;
		assert_int_equal(drains_of(c, i, &origin), 0);
	}
	assert_int_equal(gsp_repl_stats(c->n[1].r).records_out, out + 2);
	cluster_free(c);
}

/* Node i's cost override of region r1 (set by node `from`): its value, or -1 when none. */
static double cost_of(cluster_t *c, size_t i, const char *from)
{
	state_cost_t *l = NULL;
	size_t n = 0;
	double v = -1;
	assert_int_equal(state_cost_list(c->n[i].st, &l, &n), 0);
	for (size_t k = 0; k < n; k++) {
		assert_string_equal(l[k].region, "r1");
		v = l[k].cost;
		assert_string_equal(l[k].origin, from);
	}
	state_cost_list_free(l, n);
	return v;
}

/* A cost set on one node reaches every other, once; a later reset wins everywhere. */
static void test_cost_once_everywhere(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(5, 11, NULL);
	uint64_t merged[5], out = gsp_repl_stats(c->n[0].r).records_out;
	for (size_t i = 0; i < 5; i++) {
		merged[i] = gsp_repl_stats(c->n[i].r).records_merged;
	}
	unsigned rebuilds = c->n[3].rebuilds_soon;
	assert_int_equal(state_cost_set(c->n[0].st, "r1", 10), 1);
	run(c, 3 * SEC);
	for (size_t i = 0; i < 5; i++) {
		assert_true(cost_of(c, i, "n0") == 10);
		if (i != 0) {
			assert_int_equal(gsp_repl_stats(c->n[i].r).records_merged, merged[i] + 1);
		}
	}
	/* A merged cost asks the node for a rebuild, as a drain does. */
	assert_true(c->n[3].rebuilds_soon > rebuilds);
	assert_int_equal(gsp_repl_stats(c->n[0].r).records_out, out + 1);
	/* Another node changes it, then the first resets it: the reset is the newest. */
	assert_int_equal(state_cost_set(c->n[2].st, "r1", 3), 1);
	run(c, 3 * SEC);
	for (size_t i = 0; i < 5; i++) {
		assert_true(cost_of(c, i, "n2") == 3);
	}
	assert_int_equal(state_cost_reset(c->n[0].st, "r1"), 1);
	run(c, 3 * SEC);
	for (size_t i = 0; i < 5; i++) {
		assert_true(cost_of(c, i, "n0") == -1);
	}
	assert_int_equal(gsp_repl_stats(c->n[0].r).records_out, out + 2);
	cluster_free(c);
}

static bool all_see_dead(sim_t *s, void *arg)
{
	return sim_all_see_dead(s, arg);
}

static void test_dead_member_dropped_after_grace(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(3, 9, NULL);
	observe(c, 2, STATE_ST_UP, 0.1);
	run(c, 300);
	assert_true(seen_version(c, 0, 2, NULL) > 0);
	assert_true(seen_version(c, 1, 2, NULL) > 0);
	size_t victim = 2;
	sim_kill(c->s, victim);
	uint64_t t = 0;
	while (t == 0) {
		run(c, 100);
		t = all_see_dead(c->s, &victim) ? sim_now(c->s) : 0;
		assert_true(sim_now(c->s) < 60 * SEC + 2000000);
	}
	unsigned rebuilds = c->n[0].rebuilds;
	run(c, GSP_REPL_DEAD_GRACE_MS - 2 * SEC); /* inside the grace: still there */
	assert_true(seen_version(c, 0, 2, NULL) > 0);
	assert_true(seen_version(c, 1, 2, NULL) > 0);
	run(c, 4 * SEC);
	assert_int_equal(seen_version(c, 0, 2, NULL), 0);
	assert_int_equal(seen_version(c, 1, 2, NULL), 0);
	assert_true(c->n[0].rebuilds > rebuilds);
	cluster_free(c);
}

static void test_observer_filter(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(6, 11, NULL);
	run(c, 100);
	agent_target_t *all = NULL;
	size_t n_all = 0;
	assert_int_equal(agent_targets_from_cfg(c->n[0].cfg, &all, &n_all), 0);
	assert_int_equal(n_all, 7);
	size_t count[16] = {0}, same_region[16] = {0};
	for (size_t i = 0; i < c->count; i++) {
		assert_true(c->n[i].member_calls >= 1); /* told when the members came */
		agent_target_t *t = malloc(n_all * sizeof(*t));
		assert_non_null(t);
		memcpy(t, all, n_all * sizeof(*t));
		size_t k = gsp_repl_filter_targets(c->n[i].r, t, n_all);
		for (size_t j = 0; j < k; j++) {
			for (size_t e = 0; e < n_all; e++) {
				if (strcmp(t[j].key, all[e].key) != 0) {
					continue;
				}
				count[e]++;
				/* 192.0.2.x are in r0 (even nodes), 198.51.100.x in r1. */
				bool r0 = strncmp(all[e].key, "192.0.2.", 8) == 0;
				same_region[e] += (i % 2 == 0) == r0;
			}
		}
		free(t);
	}
	for (size_t e = 0; e < n_all; e++) {
		if (strncmp(all[e].key, "203.0.113.1", 11) == 0) {
			assert_int_equal(count[e], 6); /* observers: all */
			continue;
		}
		if (count[e] != GSP_REPL_OBSERVERS_K ||
		    same_region[e] != GSP_REPL_OBSERVERS_K - 1) {
			fail_msg("%s: %zu observers, %zu of its region", all[e].key, count[e],
			         same_region[e]);
		}
	}
	free(all);
	cluster_free(c);
}

struct hash_want {
	const char *name;
	uint64_t hash;
};

static bool all_see_hash(sim_t *s, void *arg)
{
	const struct hash_want *w = arg;
	for (size_t i = 0; i < sim_size(s); i++) {
		const gsp_member_t *m = gsp_member_find(sim_node(s, i)->g, w->name);
		if (m == NULL || m->config_hash != w->hash) {
			return false;
		}
	}
	return true;
}

/* Every node knows every member's software version (gsp_config_t.version), for `members`. */
static bool all_see_version(sim_t *s, void *arg)
{
	for (size_t i = 0; i < sim_size(s); i++) {
		for (size_t k = 0; k < sim_size(s); k++) {
			const gsp_member_t *m =
			        gsp_member_find(sim_node(s, i)->g, sim_node(s, k)->name);
			if (m == NULL || strcmp(m->version, (const char *)arg) != 0) {
				return false;
			}
		}
	}
	return true;
}

static void test_version_spreads(void **state)
{
	(void)state;
	sim_opts_t o;
	sim_opts_init(&o, 5);
	o.seed = 17;
	o.base.version = "9.8.7-test";
	sim_t *s = sim_new(&o);
	sim_start(s);
	assert_true(sim_run_until_pred(s, all_see_version, (void *)"9.8.7-test", 50,
	                               sim_now(s) + 30 * SEC) != 0);
	sim_free(s);
}

/* gsp_set_config_hash() alone, in a larger cluster of plain sim nodes. */
static void test_config_hash_spreads(void **state)
{
	(void)state;
	sim_opts_t o;
	sim_opts_init(&o, 30);
	o.seed = 13;
	o.n_seeds = 2;
	sim_t *s = sim_new(&o);
	sim_start(s);
	assert_true(sim_run_until_pred(s, sim_converged, NULL, 50, sim_now(s) + 30 * SEC) != 0);
	sim_node_t *n = sim_node(s, 4);
	uint64_t inc = gsp_member_find(n->g, n->name)->incarnation;
	struct hash_want w = {.name = n->name, .hash = UINT64_C(0x1234567890abcdef)};
	uint64_t t0 = sim_now(s);
	gsp_set_config_hash(n->g, w.hash);
	assert_true(gsp_member_find(n->g, n->name)->incarnation == inc + 1);
	uint64_t t = sim_run_until_pred(s, all_see_hash, &w, 10, t0 + 10 * SEC);
	assert_true(t != 0);
	gsp_config_t c;
	gsp_config_init(&c);
	printf("config hash reached 30 nodes in %.2f s (%.1f gossip intervals)\n",
	       (double)(t - t0) / SEC, (double)(t - t0) / c.gossip_interval_ms);
	assert_true(t - t0 <= 10 * c.gossip_interval_ms);
	assert_true(sim_converged(s, NULL)); /* nobody suspected it meanwhile */
	sim_free(s);
}

/* A reload on node 0: its new hash reaches everyone; gossip changes are described. */
static void test_reload(void **state)
{
	(void)state;
	const char *g = "{ bind: 127.0.0.1, insecure: true }";
	cluster_t *c = cluster_new(4, 17, g);
	uint64_t old = gsp_repl_config_hash(c->n[0].r);
	assert_true(gsp_repl_config_hash(c->n[1].r) == old); /* per-node parts do not count */
	write_cfg(c, 0, "192.0.2.9", "{ bind: 127.0.0.1, insecure: true, mtu: 1200 }");
	cfg_t *cfg = load_cfg(c, 0);
	char *notes = NULL;
	assert_int_equal(gsp_repl_reload(c->n[0].r, cfg, &notes), 0);
	assert_string_equal(notes, "reload: gossip.mtu changed; restart ayad to apply it\n");
	free(notes);
	cfg_free(c->n[0].cfg);
	c->n[0].cfg = cfg;
	struct hash_want w = {.name = "n0", .hash = cfg_hash(cfg)};
	assert_true(w.hash != old);
	assert_true(gsp_repl_config_hash(c->n[0].r) == w.hash);
	uint64_t t0 = sim_now(c->s);
	assert_true(sim_run_until_pred(c->s, all_see_hash, &w, 10, t0 + 2 * SEC) != 0);
	/* Node 1 gets the same change: same hash as node 0 again (no drift). */
	write_cfg(c, 1, "192.0.2.9", g);
	cfg = load_cfg(c, 1);
	assert_int_equal(gsp_repl_reload(c->n[1].r, cfg, &notes), 0);
	assert_string_equal(notes, "");
	free(notes);
	cfg_free(c->n[1].cfg);
	c->n[1].cfg = cfg;
	assert_true(gsp_repl_config_hash(c->n[1].r) == w.hash);
	cluster_free(c);
}

/* A keyring change applies to the running ring: the file's keys, the first primary. */
static void test_reload_keyring(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(2, 19, "{ bind: 127.0.0.1, keyring: keys2.txt }");
	gsp_keyring_t *kr = gsp_keyring(sim_node(c->s, 0)->g);
	assert_int_equal(gsp_keyring_count(kr), 1); /* the simulation's own key */
	/* The running cfg named other keys than the ring holds: any change applies the file's. */
	scratch_write(&c->conf, "keys3.txt", KEY1 "\n");
	write_cfg(c, 0, "192.0.2.1", "{ bind: 127.0.0.1, keyring: keys3.txt }");
	cfg_t *cfg = load_cfg(c, 0);
	char *notes = NULL;
	assert_int_equal(gsp_repl_reload(c->n[0].r, cfg, &notes), 0);
	assert_non_null(strstr(notes, "reload: gossip.keyring applied"));
	assert_null(strstr(notes, "restart"));
	free(notes);
	/* The applied ring is saved: it is the config's, so a restart agrees with the file. */
	char saved[PATH_MAX + 32];
	scratch_path(&c->conf, GSP_KEYFILE, saved, sizeof(saved));
	assert_int_equal(access(saved, R_OK), 0);
	cfg_free(c->n[0].cfg);
	c->n[0].cfg = cfg;
	uint8_t k[GSP_KEY_LEN];
	assert_int_equal(gsp_keyring_count(kr), 1);
	assert_int_equal(gsp_keyring_get(kr, 0, k), 0);
	assert_int_equal(k[0], 0x00); /* KEY1 */
	assert_int_equal(k[31], 0x1f);
	cluster_free(c);
}

/* ---- bytes from the network ---- */

static uint64_t fixed_ms(void *ctx)
{
	(void)ctx;
	return 1000000;
}

static void no_arm(void *ctx, uint64_t at)
{
	(void)ctx;
	(void)at;
}

static int no_send(void *ctx, const gsp_addr_t *to, const uint8_t *b, size_t l)
{
	(void)ctx;
	(void)to;
	(void)b;
	(void)l;
	return 0;
}

/*
 * An insecure node with the real replicator over a real store receives a
 * plaintext datagram whose one part is a UserState with a key and no data:
 * an empty record. It is malformed: counted and dropped before it reaches
 * the store (whose state_rec_merge() takes no NULL record). The bytes are
 * the 15 of the report: envelope 00, Packet{version 1, from "x", seq 1,
 * parts [Msg{user: UserState{key "k"}}]}.
 */
static void test_empty_record_dropped(void **state)
{
	(void)state;
	/* Version 2, from "x", one empty UserState; from_epoch 9, to_epoch set below. */
	uint8_t pkt[] = {0x00, 0x08, 0x02, 0x12, 0x01, 0x78, 0x18, 0x01, 0x22,
	                 0x05, 0x42, 0x03, 0x0a, 0x01, 0x6b, 0x2d, 0x09, 0x00,
	                 0x00, 0x00, 0x35, 0,    0,    0,    0};
	cluster_t c = {.count = 1};
	c.n = calloc(1, sizeof(*c.n));
	assert_non_null(c.n);
	scratch_init(&c.conf);
	scratch_write(&c.conf, "z.zone", GOOD_ZONE);
	rnode_init(&c, 0, "{ bind: 127.0.0.1, insecure: true }");
	gsp_config_t gc;
	gsp_config_init(&gc);
	gc.name = "n0";
	gc.region = "r0";
	assert_int_equal(gsp_addr_parse("127.0.0.1:7946", &gc.addr), 0);
	gsp_clock_t clk = {.now_ms = fixed_ms, .arm = no_arm};
	gsp_transport_t tr = {.send_udp = no_send};
	gsp_delegate_t dg = gsp_repl_delegate(c.n[0].r);
	gsp_t *g = gsp_new(&gc, NULL, &clk, &tr, &dg);
	assert_non_null(g);
	gsp_start(g);
	for (size_t i = 0; i < 4; i++) {
		pkt[21 + i] = (uint8_t)(g->epoch >> (8 * i)); /* fixed32, little-endian */
	}
	gsp_addr_t from;
	assert_int_equal(gsp_addr_parse("127.0.0.2:7946", &from), 0);
	uint64_t malformed = gsp_stats(g).rx_malformed;
	gsp_recv_udp(g, &from, pkt, sizeof(pkt));
	assert_int_equal(gsp_stats(g).rx_packets, 1); /* the envelope and packet were fine */
	assert_int_equal(gsp_stats(g).rx_malformed, malformed + 1);
	assert_int_equal(gsp_repl_stats(c.n[0].r).records_in, 0);
	/* The delegate on its own (another transport): an empty record is bad, not merged. */
	assert_false(dg.on_state(dg.ctx, "k", NULL, 0));
	gsp_repl_stats_t rs = gsp_repl_stats(c.n[0].r);
	assert_int_equal(rs.records_bad, 1);
	assert_int_equal(rs.records_merged, 0);
	gsp_free(g);
	rnode_fini(&c.n[0]);
	scratch_fini(&c.conf);
	free(c.n);
}

#define SVC "www.svc.example.com"

/* Node i's record of SVC's pool in region, -ENOENT when none. */
static int steer_of(cluster_t *c, size_t i, const char *region, state_steer_t *out)
{
	return state_steer_find(c->n[i].st, SVC, region, out);
}

static void test_steer_one_writer(void **state)
{
	(void)state;
	cluster_t *c = cluster_new(4, 11, NULL);
	/* Every node names the same owner, one of the pool's region (r0: n0, n2). */
	char owner[GSP_NAME_MAX + 1] = "", name[GSP_NAME_MAX + 1];
	size_t owners = 0, own = 0;
	for (size_t i = 0; i < c->count; i++) {
		bool mine = gsp_repl_steer_owner(c->n[i].r, SVC, "r0", name, sizeof(name));
		if (i == 0) {
			memcpy(owner, name, sizeof(name));
		}
		assert_string_equal(name, owner);
		owners += mine;
		own = mine ? i : own;
	}
	assert_int_equal(owners, 1);
	assert_true(strcmp(owner, "n0") == 0 || strcmp(owner, "n2") == 0);
	/* A late joiner: n1 (region r1, not an owner) is down while the fractions change. */
	size_t late = 1;
	sim_kill(c->s, late);
	/* Admitting everything with no record yet: nothing to say. */
	assert_int_equal(gsp_repl_steer_publish(c->n[own].r, SVC, "r1", 1.0, false), 0);
	assert_int_equal(gsp_repl_steer_publish(c->n[own].r, SVC, "r0", 0.42, false), 1);
	assert_int_equal(gsp_repl_steer_publish(c->n[own].r, SVC, "r0", 0.42, false), 0);
	run(c, SEC);
	for (size_t i = 0; i < c->count; i++) {
		state_steer_t s;
		if (i == late) {
			assert_int_equal(steer_of(c, i, "r0", &s), -ENOENT);
			continue;
		}
		assert_int_equal(steer_of(c, i, "r0", &s), 0);
		assert_true(fabs(s.admit - 0.42) < 1e-9);
		assert_false(s.closed);
		assert_string_equal(s.origin, owner);
		if (i != own) {
			assert_int_equal(c->n[i].steer_heard, 1);
		}
	}
	/* A newer fraction wins everywhere; the older one heard again changes nothing. */
	state_steer_t old;
	assert_int_equal(steer_of(c, own, "r0", &old), 0);
	uint8_t rec[STATE_REC_MAX];
	int n = state_steer_pack(&old, rec, sizeof(rec));
	assert_true(n > 0);
	assert_int_equal(gsp_repl_steer_publish(c->n[own].r, SVC, "r0", 0.3, true), 1);
	run(c, SEC);
	for (size_t i = 0; i < c->count; i++) {
		state_steer_t s;
		if (i == late) {
			continue;
		}
		assert_int_equal(steer_of(c, i, "r0", &s), 0);
		assert_true(fabs(s.admit - 0.3) < 1e-9);
		assert_true(s.closed);
		assert_int_equal(state_rec_merge(c->n[i].st, rec, (size_t)n, NULL), 0);
	}
	/* A pool nobody serves is not stored by the peers. */
	assert_int_equal(
	        gsp_repl_steer_publish(c->n[own].r, "nope.svc.example.com", "r0", 0.5, false), 1);
	run(c, SEC);
	for (size_t i = 0; i < c->count; i++) {
		state_steer_t s;
		if (i != own) {
			assert_int_equal(
			        state_steer_find(c->n[i].st, "nope.svc.example.com", "r0", &s),
			        -ENOENT);
		}
	}
	/* The late joiner gets the current fraction by the join's push/pull. */
	sim_restart(c->s, late);
	assert_true(sim_run_until_pred(c->s, sim_converged, NULL, 50, sim_now(c->s) + 30 * SEC) !=
	            0);
	run(c, SEC);
	state_steer_t s;
	assert_int_equal(steer_of(c, late, "r0", &s), 0);
	assert_true(fabs(s.admit - 0.3) < 1e-9);
	assert_true(s.closed);
	assert_string_equal(s.origin, owner);
	assert_true(c->n[late].steer_heard >= 1);
	/* It agrees on the owner. */
	gsp_repl_steer_owner(c->n[late].r, SVC, "r0", name, sizeof(name));
	assert_string_equal(name, owner);
	cluster_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_observation_reaches_peers),
	        cmocka_unit_test(test_change_now_refresh_later),
	        cmocka_unit_test(test_drain_once_everywhere),
	        cmocka_unit_test(test_cost_once_everywhere),
	        cmocka_unit_test(test_dead_member_dropped_after_grace),
	        cmocka_unit_test(test_observer_filter),
	        cmocka_unit_test(test_config_hash_spreads),
	        cmocka_unit_test(test_version_spreads),
	        cmocka_unit_test(test_reload),
	        cmocka_unit_test(test_reload_keyring),
	        cmocka_unit_test(test_empty_record_dropped),
	        cmocka_unit_test(test_steer_one_writer),
	};
	return cmocka_run_group_tests_name("gossip/replicate", tests, NULL, NULL);
}
