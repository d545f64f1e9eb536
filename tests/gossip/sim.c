/*
 * The gossip simulator (see sim.h). One binary heap of events ordered by
 * (time, insertion number), so a run is a pure function of the seed. A
 * node's timer is one event; re-arming bumps a generation and the stale
 * event is skipped when it surfaces. TCP push/pull is two events: the
 * request reaching the server (which answers at once through
 * gsp_tcp_serve()) and the reply reaching the client; an unreachable server
 * costs the client a connect timeout.
 */
#include "tests/gossip/sim.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 1000

typedef enum ev_kind { EV_TIMER, EV_UDP, EV_TCP_REQ, EV_TCP_RESP } ev_kind_t;

typedef struct ev {
	uint64_t at, order;
	ev_kind_t kind;
	size_t node, src;
	uint64_t gen; /* EV_TIMER: the arm generation; EV_TCP_*: request id */
	uint8_t *data;
	size_t len;
	bool fail;
} ev_t;

struct sim {
	sim_opts_t o;
	uint64_t now, order, rng;
	ev_t *heap;
	size_t n_ev, cap_ev;
	sim_node_t *nodes;
	bool partitioned;
	uint64_t packets, bytes;
	uint8_t key[GSP_KEY_LEN];
	gsp_addr_t *seeds;
};

static uint64_t rnd(sim_t *s)
{
	uint64_t x = s->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 2685821657736338717ull;
}

static double rnd01(sim_t *s)
{
	return (double)(rnd(s) >> 11) / (double)(1ull << 53);
}

/* ---- the heap ---- */

static bool ev_before(const ev_t *a, const ev_t *b)
{
	return a->at != b->at ? a->at < b->at : a->order < b->order;
}

static void push(sim_t *s, ev_t e)
{
	if (s->n_ev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? s->cap_ev * 2 : 1024;
		s->heap = realloc(s->heap, s->cap_ev * sizeof(ev_t));
		if (s->heap == NULL) {
			abort();
		}
	}
	e.order = s->order++;
	size_t i = s->n_ev++;
	while (i > 0 && ev_before(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static ev_t pop(sim_t *s)
{
	ev_t top = s->heap[0];
	ev_t last = s->heap[--s->n_ev];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->n_ev) {
			break;
		}
		if (c + 1 < s->n_ev && ev_before(&s->heap[c + 1], &s->heap[c])) {
			c++;
		}
		if (!ev_before(&s->heap[c], &last)) {
			break;
		}
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_ev > 0) {
		s->heap[i] = last;
	}
	return top;
}

/* ---- network ---- */

static uint64_t delay(sim_t *s)
{
	uint32_t span = s->o.delay_max_ms - s->o.delay_min_ms;
	return s->o.delay_min_ms + (span ? rnd(s) % (span + 1) : 0);
}

static bool addr_node(const sim_t *s, const gsp_addr_t *a, size_t *out)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
	if (a->ss.ss_family != AF_INET) {
		return false;
	}
	unsigned port = ntohs(s4->sin_port);
	if (port < SIM_BASE_PORT || port - SIM_BASE_PORT >= s->o.n) {
		return false;
	}
	*out = port - SIM_BASE_PORT;
	return true;
}

static bool reachable(const sim_t *s, size_t a, size_t b)
{
	return !s->partitioned || s->nodes[a].group == s->nodes[b].group;
}

static int send_udp(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len)
{
	sim_node_t *n = ctx;
	sim_t *s = n->sim;
	size_t dst;
	s->packets++;
	s->bytes += len;
	if (!addr_node(s, to, &dst) || rnd01(s) < s->o.loss || !reachable(s, n->id, dst)) {
		return 0; /* lost on the way: the sender cannot tell */
	}
	uint8_t *copy = malloc(len);
	if (copy == NULL) {
		abort();
	}
	memcpy(copy, buf, len);
	push(s, (ev_t){.at = s->now + delay(s),
	               .kind = EV_UDP,
	               .node = dst,
	               .src = n->id,
	               .data = copy,
	               .len = len});
	return 0;
}

static int tcp_request(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len,
                       uint64_t req_id)
{
	sim_node_t *n = ctx;
	sim_t *s = n->sim;
	size_t dst;
	s->bytes += len;
	if (!addr_node(s, to, &dst)) {
		return -1;
	}
	uint8_t *copy = malloc(len);
	if (copy == NULL) {
		abort();
	}
	memcpy(copy, buf, len);
	push(s, (ev_t){.at = s->now + delay(s),
	               .kind = EV_TCP_REQ,
	               .node = dst,
	               .src = n->id,
	               .gen = req_id,
	               .data = copy,
	               .len = len});
	return 0;
}

static uint64_t now_ms(void *ctx)
{
	return ((sim_node_t *)ctx)->sim->now;
}

static void arm(void *ctx, uint64_t at)
{
	sim_node_t *n = ctx;
	if (n->timer_pending && n->timer_at == at) {
		return;
	}
	n->timer_gen++;
	n->timer_at = at;
	n->timer_pending = true;
	push(n->sim, (ev_t){.at = at, .kind = EV_TIMER, .node = n->id, .gen = n->timer_gen});
}

/* ---- application state: SIM_KEYS versions, 8 bytes each, big-endian ---- */

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static bool take_version(sim_node_t *n, unsigned k, uint64_t v)
{
	if (k >= SIM_KEYS || v <= n->state_ver[k]) {
		return false;
	}
	n->state_ver[k] = v;
	n->state_at_ms[k] = n->sim->now;
	return true;
}

static bool on_state(void *ctx, const char *key, const uint8_t *data, size_t len)
{
	/* Only the key's hash travels: the record names its key itself. */
	if (len != 9) {
		return false;
	}
	unsigned k = data[0];
	char name[16], want[12];
	snprintf(name, sizeof(name), "k%u", k);
	uint32_t h = UINT32_C(2166136261); /* FNV-1a 32 */
	for (const char *p = name; *p != '\0'; p++) {
		h = (h ^ (uint8_t)*p) * UINT32_C(16777619);
	}
	snprintf(want, sizeof(want), "#%08" PRIx32, h);
	if (strcmp(key, want) != 0) {
		return false;
	}
	return take_version(ctx, k, get_be64(data + 1));
}

static int local_state(void *ctx, uint8_t **out, size_t *len)
{
	sim_node_t *n = ctx;
	*out = malloc(8 * SIM_KEYS);
	if (*out == NULL) {
		return -1;
	}
	for (unsigned k = 0; k < SIM_KEYS; k++) {
		put_be64(*out + 8 * k, n->state_ver[k]);
	}
	*len = 8 * SIM_KEYS;
	return 0;
}

static void merge_remote(void *ctx, const uint8_t *data, size_t len)
{
	for (unsigned k = 0; k < SIM_KEYS && 8 * (k + 1) <= len; k++) {
		take_version(ctx, k, get_be64(data + 8 * k));
	}
}

static void on_member(void *ctx, const gsp_member_t *m)
{
	sim_node_t *n = ctx;
	unsigned id;
	if (m->state == GSP_ST_DEAD && !n->sim->partitioned && sscanf(m->name, "n%u", &id) == 1 &&
	    id < n->sim->o.n && n->sim->nodes[id].up) {
		n->false_dead++;
	}
}

/* ---- nodes ---- */

static void node_create(sim_t *s, size_t i)
{
	sim_node_t *n = &s->nodes[i];
	gsp_config_t c = s->o.base;
	c.name = n->name;
	c.region = n->region;
	c.addr = n->addr;
	c.seeds = s->seeds;
	c.n_seeds = s->o.n_seeds;
	c.seed = s->o.seed * 1000003u + i * 7919u + n->incarnation + 1;
	c.incarnation = n->incarnation;
	gsp_keyring_t *kr = NULL;
	if (s->o.secure) {
		kr = gsp_keyring_new();
		if (kr == NULL || gsp_keyring_install(kr, s->key) != 0) {
			abort();
		}
	}
	gsp_clock_t clk = {.ctx = n, .now_ms = now_ms, .arm = arm};
	gsp_transport_t tr = {.ctx = n, .send_udp = send_udp, .tcp_request = tcp_request};
	gsp_delegate_t dg = {.ctx = n,
	                     .on_state = on_state,
	                     .local_state = local_state,
	                     .merge_remote_state = merge_remote,
	                     .on_member = on_member};
	if (s->o.delegate != NULL) {
		s->o.delegate(s->o.app_arg, n, &dg);
	}
	n->g = gsp_new(&c, kr, &clk, &tr, &dg);
	if (n->g == NULL) {
		abort();
	}
	if (s->o.created != NULL) {
		s->o.created(s->o.app_arg, n);
	}
}

void sim_opts_init(sim_opts_t *o, size_t n)
{
	memset(o, 0, sizeof(*o));
	o->n = n;
	o->seed = 1;
	o->delay_min_ms = 1;
	o->delay_max_ms = 10;
	o->secure = true;
	o->n_seeds = 1;
	o->n_regions = 1;
	gsp_config_init(&o->base);
}

sim_t *sim_new(const sim_opts_t *o)
{
	sim_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		abort();
	}
	s->o = *o;
	s->rng = o->seed ? o->seed : 1;
	s->now = 1000000; /* not 0: "0 = never" in a few places */
	for (size_t i = 0; i < GSP_KEY_LEN; i++) {
		s->key[i] = (uint8_t)(rnd(s) >> 32);
	}
	s->nodes = calloc(o->n, sizeof(*s->nodes));
	s->seeds = calloc(o->n_seeds ? o->n_seeds : 1, sizeof(*s->seeds));
	if (s->nodes == NULL || s->seeds == NULL) {
		abort();
	}
	for (size_t i = 0; i < o->n; i++) {
		sim_node_t *n = &s->nodes[i];
		n->sim = s;
		n->id = i;
		snprintf(n->name, sizeof(n->name), "n%zu", i);
		snprintf(n->region, sizeof(n->region), "r%zu",
		         i % (o->n_regions ? o->n_regions : 1));
		char a[32];
		snprintf(a, sizeof(a), "127.0.0.1:%zu", SIM_BASE_PORT + i);
		if (gsp_addr_parse(a, &n->addr) != 0) {
			abort();
		}
		if (i < o->n_seeds) {
			s->seeds[i] = n->addr;
		}
		node_create(s, i);
	}
	return s;
}

void sim_free(sim_t *s)
{
	if (s == NULL) {
		return;
	}
	for (size_t i = 0; i < s->n_ev; i++) {
		free(s->heap[i].data);
	}
	free(s->heap);
	for (size_t i = 0; i < s->o.n; i++) {
		gsp_free(s->nodes[i].g);
	}
	free(s->nodes);
	free(s->seeds);
	free(s);
}

uint64_t sim_now(const sim_t *s)
{
	return s->now;
}

sim_node_t *sim_node(sim_t *s, size_t i)
{
	return &s->nodes[i];
}

size_t sim_size(const sim_t *s)
{
	return s->o.n;
}

uint64_t sim_packets(const sim_t *s)
{
	return s->packets;
}

uint64_t sim_bytes(const sim_t *s)
{
	return s->bytes;
}

void sim_start(sim_t *s)
{
	for (size_t i = 0; i < s->o.n; i++) {
		/* A start is a timer event with generation 0: handled in dispatch. */
		push(s, (ev_t){.at = s->now + i * s->o.stagger_ms, .kind = EV_TIMER, .node = i});
	}
}

static void dispatch(sim_t *s, ev_t *e)
{
	sim_node_t *n = &s->nodes[e->node];
	uint8_t *reply = NULL;
	size_t rlen = 0;
	switch (e->kind) {
	case EV_TIMER:
		if (e->gen == 0) {
			n->up = true;
			gsp_start(n->g);
		} else if (n->up && e->gen == n->timer_gen) {
			n->timer_pending = false;
			gsp_tick(n->g);
		}
		break;
	case EV_UDP:
		if (n->up && reachable(s, e->src, e->node)) {
			gsp_recv_udp(n->g, &s->nodes[e->src].addr, e->data, e->len);
		}
		break;
	case EV_TCP_REQ:
		if (!n->up || !reachable(s, e->src, e->node) ||
		    gsp_tcp_serve(n->g, &s->nodes[e->src].addr, e->data, e->len, &reply, &rlen) !=
		            0) {
			push(s, (ev_t){.at = s->now + CONNECT_TIMEOUT_MS,
			               .kind = EV_TCP_RESP,
			               .node = e->src,
			               .src = e->node,
			               .gen = e->gen,
			               .fail = true});
			break;
		}
		s->bytes += rlen;
		push(s, (ev_t){.at = s->now + delay(s),
		               .kind = EV_TCP_RESP,
		               .node = e->src,
		               .src = e->node,
		               .gen = e->gen,
		               .data = reply,
		               .len = rlen});
		break;
	case EV_TCP_RESP:
		if (n->up) {
			gsp_tcp_response(n->g, e->gen, e->fail ? NULL : e->data, e->len);
		}
		break;
	}
}

void sim_run_until(sim_t *s, uint64_t t)
{
	while (s->n_ev > 0 && s->heap[0].at <= t) {
		ev_t e = pop(s);
		s->now = e.at;
		dispatch(s, &e);
		free(e.data);
	}
	s->now = t;
}

uint64_t sim_run_until_pred(sim_t *s, bool (*pred)(sim_t *, void *), void *arg, uint64_t step_ms,
                            uint64_t t_max)
{
	while (s->now < t_max) {
		if (pred(s, arg)) {
			return s->now;
		}
		sim_run_until(s, s->now + step_ms);
	}
	return pred(s, arg) ? s->now : 0;
}

void sim_kill(sim_t *s, size_t i)
{
	s->nodes[i].up = false;
	s->nodes[i].timer_pending = false;
}

void sim_restart(sim_t *s, size_t i)
{
	sim_node_t *n = &s->nodes[i];
	gsp_free(n->g);
	n->incarnation = 0; /* a fresh process: it must refute its own death to rejoin */
	memset(n->state_ver, 0, sizeof(n->state_ver));
	node_create(s, i);
	n->timer_gen++;
	n->timer_pending = false;
	n->up = true;
	gsp_start(n->g);
}

void sim_partition(sim_t *s, bool on)
{
	s->partitioned = on;
}

void sim_set_loss(sim_t *s, double loss)
{
	s->o.loss = loss;
}

static void publish(sim_t *s, size_t i, unsigned k, uint64_t v, bool now)
{
	sim_node_t *n = &s->nodes[i];
	uint8_t buf[9];
	char key[16];
	take_version(n, k, v);
	buf[0] = (uint8_t)k;
	put_be64(buf + 1, v);
	snprintf(key, sizeof(key), "k%u", k);
	int rc = now ? gsp_broadcast_now(n->g, key, buf, sizeof(buf))
	             : gsp_broadcast(n->g, key, buf, sizeof(buf));
	if (rc != 0) {
		abort();
	}
}

void sim_publish(sim_t *s, size_t i, unsigned k, uint64_t v)
{
	publish(s, i, k, v, false);
}

void sim_publish_now(sim_t *s, size_t i, unsigned k, uint64_t v)
{
	publish(s, i, k, v, true);
}

bool sim_converged(sim_t *s, void *arg)
{
	(void)arg;
	size_t up = 0;
	for (size_t i = 0; i < s->o.n; i++) {
		up += s->nodes[i].up;
	}
	if (up == 0) {
		return false; /* nothing started yet */
	}
	for (size_t i = 0; i < s->o.n; i++) {
		sim_node_t *n = &s->nodes[i];
		if (!n->up) {
			continue;
		}
		if (gsp_live_count(n->g) != up) {
			return false;
		}
		for (size_t j = 0; j < s->o.n; j++) {
			const gsp_member_t *m =
			        s->nodes[j].up ? gsp_member_find(n->g, s->nodes[j].name) : NULL;
			if (s->nodes[j].up && (m == NULL || m->state != GSP_ST_ALIVE)) {
				return false;
			}
		}
	}
	return true;
}

bool sim_all_see_dead(sim_t *s, void *arg)
{
	size_t dead = *(size_t *)arg;
	for (size_t i = 0; i < s->o.n; i++) {
		if (i == dead || !s->nodes[i].up) {
			continue;
		}
		const gsp_member_t *m = gsp_member_find(s->nodes[i].g, s->nodes[dead].name);
		if (m != NULL && m->state < GSP_ST_DEAD) {
			return false;
		}
	}
	return true;
}
