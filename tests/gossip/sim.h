/*
 * An in-process network for gossip nodes (model: Unbound
 * testcode/fake_event.c): a virtual clock, one event heap of datagrams, TCP
 * exchanges and node timers, with configurable loss, delay and partitions.
 * Every node runs the real gossip/ code through the injected clock and
 * transport; nothing sleeps and runs are deterministic for a seed.
 *
 * Node i listens on 127.0.0.1:(10000 + i) (addresses only: no sockets).
 * Each node keeps SIM_KEYS versioned values as its application state, so the
 * tests can watch a state update spread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/gossip.h"

#define SIM_KEYS 4
#define SIM_BASE_PORT 10000

typedef struct sim sim_t;
struct sim_node;

typedef struct sim_opts {
	size_t n;
	uint64_t seed;
	double loss;           /* per datagram, 0..1 */
	uint32_t delay_min_ms; /* one-way delay, uniform in [min, max] */
	uint32_t delay_max_ms;
	bool secure; /* AES-GCM with a shared key (default: true when zero-initialised? no: set it)
	              */
	size_t n_seeds;      /* nodes 0..n_seeds-1 are every node's seeds */
	uint32_t stagger_ms; /* node i starts at i * stagger_ms */
	gsp_config_t base;   /* tunables; name/region/addr/seeds are filled per node */
	unsigned n_regions;  /* node i is in region "r<i % n_regions>" */
	/*
	 * Optional: node i's application instead of the SIM_KEYS versions
	 * (tests/gossip/test_replicate.c runs gossip/replicate.c over real state
	 * stores): `delegate` fills the delegate before each gsp_new() (also at
	 * sim_restart), `created` sees the new gsp_t.
	 */
	void (*delegate)(void *arg, struct sim_node *n, gsp_delegate_t *dg);
	void (*created)(void *arg, struct sim_node *n);
	void *app_arg;
} sim_opts_t;

typedef struct sim_node {
	sim_t *sim;
	size_t id;
	gsp_t *g;
	bool up;
	int group; /* partition group; packets cross groups only when healed */
	uint64_t timer_gen, timer_at;
	bool timer_pending;
	uint64_t incarnation;
	char name[32], region[16];
	gsp_addr_t addr;
	uint64_t state_ver[SIM_KEYS];
	uint64_t state_at_ms[SIM_KEYS];
	uint64_t false_dead; /* up members this node marked dead while partitions are off */
} sim_node_t;

/* Default options: n nodes, seed 1, no loss, 1-10 ms delay, secure, 1 seed node, 1 region. */
void sim_opts_init(sim_opts_t *o, size_t n);
sim_t *sim_new(const sim_opts_t *o);
void sim_free(sim_t *s);

uint64_t sim_now(const sim_t *s);
sim_node_t *sim_node(sim_t *s, size_t i);
size_t sim_size(const sim_t *s);
/* Start every node (staggered). */
void sim_start(sim_t *s);
/* Run events up to virtual time t. */
void sim_run_until(sim_t *s, uint64_t t);
/* Run until pred(s, arg) holds (checked every step_ms) or t_max; returns the time or 0. */
uint64_t sim_run_until_pred(sim_t *s, bool (*pred)(sim_t *, void *), void *arg, uint64_t step_ms,
                            uint64_t t_max);

/* Stop a node: it neither sends nor receives (kill -9). */
void sim_kill(sim_t *s, size_t i);
/* Start a new process on a killed node's address (new gsp_t, higher incarnation). */
void sim_restart(sim_t *s, size_t i);
/* Groups: packets between different groups are dropped while partitioned. */
void sim_partition(sim_t *s, bool on);
void sim_set_loss(sim_t *s, double loss);

/* Node i publishes key k at version v (gsp_broadcast). */
void sim_publish(sim_t *s, size_t i, unsigned k, uint64_t v);
/* The same with gsp_broadcast_now(). */
void sim_publish_now(sim_t *s, size_t i, unsigned k, uint64_t v);

/* Every up node sees every up node ALIVE and no other member live. */
bool sim_converged(sim_t *s, void *arg);
/* Every up node other than `dead` sees `dead` DEAD (arg: size_t *). */
bool sim_all_see_dead(sim_t *s, void *arg);
uint64_t sim_packets(const sim_t *s);
uint64_t sim_bytes(const sim_t *s);
