/*
 * pol_answer(): one service's filter chain for one query (semantics in
 * policy.h). The working set is a fixed array of candidate endpoint indexes
 * on the stack, each with a tier (its pool's rank in the geo order, 0
 * without geo), always kept sorted by tier. Filters drop candidates or
 * reorder them inside their tier; the answer is the head of the array.
 * Nothing allocates, locks or logs; the trace, when given, is written on the
 * side and costs nothing when NULL.
 *
 * Each filter of config's table (CFG_FILTERS, config/config.h) is one
 * step_<name>() here; run_step() is the switch generated from the table, so
 * a filter without a step does not compile, and the fast path's prefix and
 * limits come from the table's flags.
 */
#include "policy/policy.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "common/hash.h"
#include "common/rng.h"
#include "policy/policy_int.h"

struct work {
	unsigned n;
	uint16_t ep[POL_MAX_ENDPOINTS];
	uint8_t tier[POL_MAX_ENDPOINTS];
};

/* One run of the chain: what the steps read and write besides the candidates. */
struct chain {
	const pol_snap_t *s;
	const pol_service_t *svc;
	const pol_client_t *c; /* NULL while pol_fast_build runs the static steps */
	const uint8_t *rank;   /* with `fixed`: the geo order (NULL: config order) */
	bool fixed;            /* geo takes `rank` instead of looking the client up */
	uint16_t pools;        /* pools with endpoints of the asked family */
	unsigned scope;        /* ECS scope so far */
	aya_rng_t rng;
	uint64_t rand; /* the query's random value, for draws outside rng's stream */
	pol_trace_t *t;
};

/*
 * The step of filter `name`, one per CFG_FILTERS entry. It works on w at
 * chain position `step`, records its decisions in q->t when set, and
 * returns POL_OK, or POL_EMPTY to end the chain with an empty answer. Only
 * positions below `lim` can reach the answer: ordering may stop there.
 */
#define STEP_FN(name)                                                                              \
	static int step_##name(struct chain *q, const cfg_filter_t *f, unsigned step,              \
	                       unsigned lim, struct work *w)

static void trace_ev(pol_trace_t *t, unsigned step, pol_reason_t r, unsigned ep, unsigned tier)
{
	if (t->n_ev == POL_TRACE_MAX_EVENTS) {
		t->truncated = true;
		return;
	}
	t->ev[t->n_ev++] = (pol_trace_event_t){.step = (uint8_t)step,
	                                       .reason = (uint8_t)r,
	                                       .endpoint = (uint16_t)ep,
	                                       .tier = (uint16_t)tier};
}

static void trace_order(pol_trace_t *t, unsigned step, const struct work *w)
{
	for (unsigned i = 0; t != NULL && i < w->n; i++) {
		trace_ev(t, step, POL_R_ORDERED, w->ep[i], w->tier[i]);
	}
}

/* Why endpoint i is dropped, or POL_R_KEPT. */
typedef pol_reason_t (*drop_fn)(const pol_service_t *svc, unsigned i);

static pol_reason_t healthy_reason(const pol_service_t *svc, unsigned i)
{
	return svc->endpoints[i].healthy ? POL_R_KEPT : POL_R_UNHEALTHY;
}

static pol_reason_t drain_reason(const pol_service_t *svc, unsigned i)
{
	const pol_endpoint_t *e = &svc->endpoints[i];
	if (svc->pools[e->pool].drained) {
		return POL_R_DRAINED_POOL;
	}
	return e->drained ? POL_R_DRAINED_ENDPOINT : POL_R_KEPT;
}

/*
 * Drop what `why` drops. Returns POL_EMPTY when everything would go and
 * the service answers empty; fail-open leaves the set untouched.
 */
static inline int filter_drop(const struct chain *q, drop_fn why, unsigned step, struct work *w)
{
	const pol_service_t *svc = q->svc;
	pol_trace_t *t = q->t;
	unsigned keep = 0;
	for (unsigned i = 0; i < w->n; i++) {
		keep += why(svc, w->ep[i]) == POL_R_KEPT;
	}
	if (keep == 0) {
		bool open = svc->all_down == CFG_ALL_DOWN_ANSWER_ALL;
		if (t != NULL) {
			trace_ev(t, step, open ? POL_R_ALL_DOWN_OPEN : POL_R_ALL_DOWN_EMPTY,
			         UINT16_MAX, 0);
		}
		return open ? POL_OK : POL_EMPTY;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < w->n; i++) {
		pol_reason_t r = why(svc, w->ep[i]);
		if (t != NULL) {
			trace_ev(t, step, r, w->ep[i], w->tier[i]);
		}
		if (r == POL_R_KEPT) {
			w->ep[n] = w->ep[i];
			w->tier[n] = w->tier[i];
			n++;
		}
	}
	w->n = n;
	return POL_OK;
}

STEP_FN(healthy)
{
	(void)f;
	(void)lim;
	return filter_drop(q, healthy_reason, step, w);
}

STEP_FN(drain)
{
	(void)f;
	(void)lim;
	return filter_drop(q, drain_reason, step, w);
}

/* Stable counting sort of the candidates by tier. */
static void sort_by_tier(struct work *w)
{
	unsigned start[GEO_MAX_REGIONS + 1] = {0};
	uint16_t ep[POL_MAX_ENDPOINTS];
	uint8_t tier[POL_MAX_ENDPOINTS];
	for (unsigned i = 0; i < w->n; i++) {
		start[w->tier[i] + 1]++;
	}
	for (unsigned k = 1; k <= GEO_MAX_REGIONS; k++) {
		start[k] += start[k - 1];
	}
	for (unsigned i = 0; i < w->n; i++) {
		unsigned pos = start[w->tier[i]]++;
		ep[pos] = w->ep[i];
		tier[pos] = w->tier[i];
	}
	memcpy(w->ep, ep, w->n * sizeof(ep[0]));
	memcpy(w->tier, tier, w->n);
}

static unsigned base_rank(const uint8_t *rank, const pol_pool_t *p)
{
	return rank != NULL ? rank[p->region_idx] : p->region_idx;
}

/*
 * The pools' ranks when the service reshapes geo's order (svc->reorder):
 * non-burst pools before burst ones; within each, starting from the nearest
 * pool left, the pools near it (svc->near) are taken cheapest first (ties in
 * geo order), then the next nearest left, and so on. Pools of one region
 * share a rank.
 */
static void pool_ranks(const pol_service_t *svc, const uint8_t *rank, uint8_t *prank)
{
	unsigned n = svc->n_pools;
	uint8_t ord[POL_MAX_POOLS];
	for (unsigned i = 0; i < n; i++) {
		unsigned k = i;
		unsigned r = base_rank(rank, &svc->pools[i]);
		while (k > 0 && base_rank(rank, &svc->pools[ord[k - 1]]) > r) {
			ord[k] = ord[k - 1];
			k--;
		}
		ord[k] = (uint8_t)i;
	}
	uint64_t left = n == 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
	unsigned next = 0;
	int last_region = -1;
	for (int burst = 0; burst < 2; burst++) {
		for (unsigned h = 0; h < n; h++) {
			unsigned head = ord[h];
			if (!(left >> head & 1) || svc->pools[head].burst != burst) {
				continue;
			}
			uint64_t group = left & svc->near[head];
			for (;;) {
				int pick = -1;
				for (unsigned k = 0; k < n; k++) {
					unsigned p = ord[k];
					if (!(group >> p & 1) || svc->pools[p].burst != burst) {
						continue;
					}
					if (pick < 0 ||
					    svc->pools[p].cost < svc->pools[pick].cost) {
						pick = (int)p;
					}
				}
				if (pick < 0) {
					break;
				}
				group &= ~(UINT64_C(1) << pick);
				left &= ~(UINT64_C(1) << pick);
				if (svc->pools[pick].region_idx != last_region || next == 0) {
					next++;
				}
				last_region = svc->pools[pick].region_idx;
				prank[pick] = (uint8_t)(next - 1);
			}
		}
	}
}

/* Tiers from a region rank (NULL: config order of the pools' regions), then sorted. */
static void geo_tiers(const pol_service_t *svc, const uint8_t *rank, struct work *w)
{
	uint8_t prank[POL_MAX_POOLS];
	if (svc->reorder) {
		pool_ranks(svc, rank, prank);
	}
	for (unsigned i = 0; i < w->n; i++) {
		unsigned pi = svc->endpoints[w->ep[i]].pool;
		w->tier[i] = svc->reorder ? prank[pi] : (uint8_t)base_rank(rank, &svc->pools[pi]);
	}
	sort_by_tier(w);
}

STEP_FN(geo)
{
	(void)f;
	(void)lim;
	const uint8_t *rank = q->rank;
	if (!q->fixed && q->s->geo != NULL) {
		const pol_client_t *c = q->c;
		unsigned bits = 0;
		uint32_t idx =
		        geo_tree_lookup(q->s->geo, c->family, c->addr, c->source_prefix, &bits);
		rank = geo_tree_rank(q->s->geo, idx);
		if (q->t != NULL) {
			q->t->geo_used = true;
			q->t->order_idx = idx;
			q->t->geo_scope = bits;
		}
		if (q->pools > 1 && bits > q->scope) {
			q->scope = bits;
		}
	}
	geo_tiers(q->svc, rank, w);
	trace_order(q->t, step, w);
	return POL_OK;
}

/*
 * mode 0: weight x capacity share x headroom; 1: weight x capacity share;
 * 2: uniform. A pool without capacities has shares of exactly 1, so its
 * products are bit for bit today's weight x headroom.
 */
static double eff_weight(const pol_endpoint_t *e, int mode)
{
	if (mode == 0) {
		return (double)e->weight * e->cap_share * e->headroom;
	}
	return mode == 1 ? (double)e->weight * e->cap_share : 1.0;
}

/*
 * Weighted random order of w->ep[a..b): sampling without replacement.
 * Positions from `limit` on are left as they are (nobody reads them, and
 * no later filter draws from r).
 */
static void weighted_run(const pol_service_t *svc, struct work *w, unsigned a, unsigned b,
                         unsigned limit, aya_rng_t *r)
{
	if (b - a < 2) {
		return; /* one candidate: no draw, nothing to order */
	}
	/* mode 0: weight x share x headroom; if that is all zero, weight x share; then uniform. */
	int mode = 0;
	double total = 0.0;
	for (; mode < 3; mode++) {
		total = 0.0;
		for (unsigned i = a; i < b; i++) {
			total += eff_weight(&svc->endpoints[w->ep[i]], mode);
		}
		if (total > 0.0) {
			break;
		}
	}
	for (unsigned k = a; k + 1 < b && k < limit; k++) {
		double x = aya_rng_unit(r) * total;
		unsigned pick = b - 1;
		for (unsigned i = k; i < b; i++) {
			double wi = eff_weight(&svc->endpoints[w->ep[i]], mode);
			if (x < wi) {
				pick = i;
				break;
			}
			x -= wi;
		}
		total -= eff_weight(&svc->endpoints[w->ep[pick]], mode);
		uint16_t tmp = w->ep[k];
		w->ep[k] = w->ep[pick];
		w->ep[pick] = tmp;
		if (total <= 0.0) {
			break; /* the rest weigh nothing: keep their order */
		}
	}
}

static uint64_t hash_addr(const uint8_t *a, unsigned len, uint64_t seed)
{
	uint64_t h = seed;
	for (unsigned i = 0; i < len; i += 8) {
		uint64_t v = 0;
		for (unsigned k = 0; k < 8 && i + k < len; k++) {
			v = (v << 8) | a[i + k];
		}
		h = aya_mix64(h ^ v);
	}
	return h;
}

/* Client subnet key for `hash`, and its prefix length. */
static uint64_t client_key(const pol_client_t *c, unsigned *bits)
{
	unsigned len = c->family == AF_INET ? 4 : 16;
	unsigned b = c->family == AF_INET ? POL_HASH_V4_BITS : POL_HASH_V6_BITS;
	if (c->source_prefix < b) {
		b = c->source_prefix;
	}
	uint8_t m[16] = {0};
	for (unsigned i = 0; i < len && i * 8 < b; i++) {
		unsigned keep = b - i * 8 >= 8 ? 8 : b - i * 8;
		m[i] = (uint8_t)(c->addr[i] & (0xff00u >> keep));
	}
	*bits = b;
	return hash_addr(m, len, aya_mix64((uint64_t)c->family << 8 | b));
}

/* Rendezvous order of w->ep[a..b): highest score first, ties by index. */
static void hash_run(const pol_service_t *svc, struct work *w, unsigned a, unsigned b, uint64_t key)
{
	uint64_t score[POL_MAX_ENDPOINTS];
	for (unsigned i = a; i < b; i++) {
		const pol_endpoint_t *e = &svc->endpoints[w->ep[i]];
		score[i] = hash_addr(e->addr, e->family == AF_INET ? 4 : 16, key);
	}
	for (unsigned i = a + 1; i < b; i++) {
		uint64_t sc = score[i];
		uint16_t ep = w->ep[i];
		unsigned k = i;
		while (k > a && (score[k - 1] < sc || (score[k - 1] == sc && w->ep[k - 1] > ep))) {
			score[k] = score[k - 1];
			w->ep[k] = w->ep[k - 1];
			k--;
		}
		score[k] = sc;
		w->ep[k] = ep;
	}
}

/* The end of the tier that starts at position a. */
static unsigned tier_end(const struct work *w, unsigned a)
{
	unsigned b = a + 1;
	while (b < w->n && w->tier[b] == w->tier[a]) {
		b++;
	}
	return b;
}

/* Tiers that start at `lim` or later are not read and stay as they are. */
STEP_FN(weighted)
{
	(void)f;
	for (unsigned a = 0, b; a < w->n && a < lim; a = b) {
		b = tier_end(w, a);
		weighted_run(q->svc, w, a, b, lim, &q->rng);
	}
	trace_order(q->t, step, w);
	return POL_OK;
}

STEP_FN(hash)
{
	(void)f;
	unsigned bits = 0;
	uint64_t key = client_key(q->c, &bits);
	if (bits > q->scope) {
		q->scope = bits;
	}
	for (unsigned a = 0, b; a < w->n && a < lim; a = b) {
		b = tier_end(w, a);
		hash_run(q->svc, w, a, b, key);
	}
	trace_order(q->t, step, w);
	return POL_OK;
}

/*
 * latency's step of an endpoint: 0 for RTTs less than tol_us above the
 * tier's best, 1 for the next tol_us, ...; unknown RTTs after every known one.
 */
static uint32_t rtt_step(uint32_t rtt_us, uint32_t best_us, uint32_t tol_us)
{
	if (rtt_us == 0) {
		return UINT32_MAX;
	}
	return (rtt_us - best_us) / tol_us;
}

/* Stable insertion sort of w->ep[a..b) by RTT step from the tier's best. */
static void latency_run(const pol_service_t *svc, struct work *w, unsigned a, unsigned b,
                        uint32_t tol_us)
{
	uint32_t best = 0;
	for (unsigned i = a; i < b; i++) {
		uint32_t r = svc->endpoints[w->ep[i]].rtt_us;
		if (r != 0 && (best == 0 || r < best)) {
			best = r;
		}
	}
	if (best == 0) {
		return; /* nothing known: the order stays */
	}
	uint32_t key[POL_MAX_ENDPOINTS];
	for (unsigned i = a; i < b; i++) {
		key[i] = rtt_step(svc->endpoints[w->ep[i]].rtt_us, best, tol_us);
	}
	for (unsigned i = a + 1; i < b; i++) {
		uint32_t k = key[i];
		uint16_t ep = w->ep[i];
		unsigned j = i;
		while (j > a && key[j - 1] > k) {
			key[j] = key[j - 1];
			w->ep[j] = w->ep[j - 1];
			j--;
		}
		key[j] = k;
		w->ep[j] = ep;
	}
}

/*
 * Probe RTT order inside each tier, in steps of the tolerance (policy.h).
 * It reads the snapshot only (STATIC), so it may sit in the fast path's
 * prefix. Tiers that start at `lim` or later are not read and stay as they are.
 */
STEP_FN(latency)
{
	uint32_t tol_us = cfg_filter_arg(f) * 1000u;
	for (unsigned a = 0, b; a < w->n && a < lim; a = b) {
		b = tier_end(w, a);
		latency_run(q->svc, w, a, b, tol_us);
	}
	trace_order(q->t, step, w);
	return POL_OK;
}

/* The draw of `load` in [0, 1): the client subnet's under `hash`, else the query's. */
static double load_draw(struct chain *q)
{
	uint64_t x;
	if (q->svc->load_hash) {
		unsigned bits = 0;
		x = aya_mix64(client_key(q->c, &bits) ^ 0x6c6f6164ull);
		if (bits > q->scope) {
			q->scope = bits;
		}
	} else {
		x = aya_mix64(q->rand ^ 0x6c6f6164ull);
	}
	return (double)(x >> 11) * 0x1.0p-53;
}

static const pol_pool_t *tier_pool(const pol_service_t *svc, const struct work *w, unsigned i)
{
	return &svc->pools[svc->endpoints[w->ep[i]].pool];
}

/*
 * Admit fractions (pol_steer_t): pools over their limit are dropped (all
 * of them: when_all_down); one draw walks the others in order, each keeping
 * it with its admit fraction and passing the rest on (the draw rescaled), so
 * one number decides the whole order. The pool that keeps it moves first,
 * the ones that passed behind it; a draw every pool passes stays with the
 * first. Tiers are renumbered in the new order.
 */
STEP_FN(load)
{
	(void)f;
	(void)lim;
	const pol_service_t *svc = q->svc;
	pol_trace_t *t = q->t;
	if (t != NULL) {
		t->load_draw = NAN;
	}
	if (!svc->steered) {
		trace_order(t, step, w); /* every pool admits everything: no draw, no change */
		return POL_OK;
	}
	unsigned open = 0;
	bool partial = false;
	for (unsigned i = 0; i < w->n; i++) {
		const pol_pool_t *p = tier_pool(svc, w, i);
		open += !p->closed;
		partial |= p->admit < 1.0;
	}
	if (open == 0) {
		bool fail_open = svc->all_down == CFG_ALL_DOWN_ANSWER_ALL;
		if (t != NULL && w->n > 0) {
			trace_ev(t, step, fail_open ? POL_R_ALL_DOWN_OPEN : POL_R_ALL_DOWN_EMPTY,
			         UINT16_MAX, 0);
		}
		return fail_open || w->n == 0 ? POL_OK : POL_EMPTY;
	}
	if (open == w->n && !partial) {
		trace_order(t, step, w); /* everything admitted: no draw, no change */
		return POL_OK;
	}
	double x = load_draw(q);
	if (t != NULL) {
		t->load_draw = x;
	}
	/* The tier (its first position) that keeps the draw. */
	unsigned chosen = UINT_MAX, first_open = UINT_MAX;
	for (unsigned a = 0, b; a < w->n; a = b) {
		b = tier_end(w, a);
		const pol_pool_t *p = tier_pool(svc, w, a);
		if (p->closed) {
			continue;
		}
		first_open = first_open == UINT_MAX ? a : first_open;
		if (chosen == UINT_MAX) {
			if (x < p->admit) {
				chosen = a;
			} else {
				x = p->admit < 1.0 ? (x - p->admit) / (1.0 - p->admit) : 0.0;
			}
		}
	}
	if (chosen == UINT_MAX) {
		chosen = first_open;
	}
	uint16_t ep[POL_MAX_ENDPOINTS];
	uint8_t tier[POL_MAX_ENDPOINTS];
	unsigned n = 0;
	uint8_t next = 0;
	unsigned cb = tier_end(w, chosen);
	for (unsigned i = chosen; i < cb; i++) {
		ep[n] = w->ep[i];
		tier[n++] = 0;
		if (t != NULL) {
			trace_ev(t, step, POL_R_ADMITTED, w->ep[i], 0);
		}
	}
	for (unsigned a = 0, b; a < w->n; a = b) {
		b = tier_end(w, a);
		if (a == chosen) {
			continue;
		}
		bool closed = tier_pool(svc, w, a)->closed;
		next += !closed;
		for (unsigned i = a; i < b; i++) {
			if (t != NULL) {
				trace_ev(t, step,
				         closed       ? POL_R_OVER_LIMIT
				         : a < chosen ? POL_R_SPILLED
				                      : POL_R_ORDERED,
				         w->ep[i], closed ? w->tier[i] : next);
			}
			if (!closed) {
				ep[n] = w->ep[i];
				tier[n++] = next;
			}
		}
	}
	memcpy(w->ep, ep, n * sizeof(ep[0]));
	memcpy(w->tier, tier, n);
	w->n = n;
	return POL_OK;
}

STEP_FN(first_n)
{
	(void)lim;
	unsigned n = cfg_filter_arg(f);
	for (unsigned i = n; q->t != NULL && i < w->n; i++) {
		trace_ev(q->t, step, POL_R_NOT_FIRST_N, w->ep[i], w->tier[i]);
	}
	for (unsigned i = 0; q->t != NULL && i < w->n && i < n; i++) {
		trace_ev(q->t, step, POL_R_KEPT, w->ep[i], w->tier[i]);
	}
	w->n = w->n < n ? w->n : n;
	return POL_OK;
}

/* One filter: a switch generated from the table, so that every step inlines. */
static inline int run_step(struct chain *q, const cfg_filter_t *f, unsigned step, unsigned lim,
                           struct work *w)
{
#define CASE(ID, name, arg, dflt, flags)                                                           \
	case CFG_FILTER_##ID:                                                                      \
		return step_##name(q, f, step, lim, w);
	switch (f->kind) {
		CFG_FILTERS(CASE)
	}
#undef CASE
	return POL_OK; /* not a filter of the table: no step */
}

static void trace_start(pol_trace_t *t, const pol_snap_t *s, const pol_service_t *svc,
                        const pol_client_t *c)
{
	memset(t, 0, offsetof(pol_trace_t, ev));
	t->n_ev = 0;
	t->truncated = false;
	t->svc = svc;
	t->client = *c;
	if (s->geo != NULL) {
		(void)geo_tree_locate(s->geo, c->family, c->addr, &t->loc);
	}
}

/* Pools in the order the geo filter saw them (config order without geo). */
static void trace_pools(pol_trace_t *t, const pol_snap_t *s, const pol_service_t *svc)
{
	const uint8_t *rank = t->geo_used ? geo_tree_rank(s->geo, t->order_idx) : NULL;
	uint8_t prank[POL_MAX_POOLS];
	if (svc->reorder) {
		pool_ranks(svc, rank, prank);
	}
	t->n_pool_order = 0;
	for (unsigned r = 0; r < GEO_MAX_REGIONS; r++) {
		for (unsigned p = 0; p < svc->n_pools; p++) {
			unsigned pr = svc->reorder ? prank[p] : base_rank(rank, &svc->pools[p]);
			if (pr == r) {
				t->pool_order[t->n_pool_order++] = (uint8_t)p;
			}
		}
	}
}

static void chain_init(struct chain *q, const pol_snap_t *s, const pol_service_t *svc, int qfamily,
                       const pol_client_t *c, uint64_t rand, pol_trace_t *t)
{
	/* With one pool of the family, pool order cannot change the answer. */
	*q = (struct chain){.s = s,
	                    .svc = svc,
	                    .c = c,
	                    .pools = qfamily == AF_INET ? svc->pools_v4 : svc->pools_v6,
	                    .rng = {.s = rand ^ 0x9e3779b97f4a7c15ull},
	                    .rand = rand,
	                    .t = t};
	if (q->rng.s == 0) {
		q->rng.s = 1;
	}
}

/*
 * The chain from step `first` on. `limit` (NULL with a trace, which shows
 * every position) caps the ordering steps, see struct pol_fast.
 */
static int run_chain(struct chain *q, struct work *w, unsigned first, const uint16_t *limit)
{
	for (unsigned step = first; step < q->svc->n_filters; step++) {
		unsigned lim = limit != NULL ? limit[step] : POL_MAX_ENDPOINTS;
		if (run_step(q, &q->svc->filters[step], step, lim, w) == POL_EMPTY) {
			return POL_EMPTY;
		}
	}
	return POL_OK;
}

/* The candidates: every endpoint of the family, tier 0, config order. */
static void candidates(const pol_service_t *svc, int qfamily, struct work *w)
{
	w->n = 0;
	for (unsigned i = 0; i < svc->n_endpoints; i++) {
		if (svc->endpoints[i].family == qfamily) {
			w->ep[w->n] = (uint16_t)i;
			w->tier[w->n] = 0;
			w->n++;
		}
	}
}

static void result_fill(const pol_service_t *svc, const struct work *w, unsigned scope,
                        const pol_client_t *c, pol_result_t *out)
{
	for (unsigned i = 0; i < w->n && i < POL_MAX_ANSWER; i++) {
		out->ep[out->count++] = &svc->endpoints[w->ep[i]];
	}
	out->scope = (uint8_t)(scope < c->source_prefix ? scope : c->source_prefix);
}

/* The prefix for one family and one order (rank NULL: no tree), by the steps run_chain runs. */
static void fast_set(const pol_snap_t *s, const pol_service_t *svc, const struct pol_fast *f,
                     int qfamily, const uint8_t *rank, struct work *w, pol_fast_set_t *set)
{
	struct chain q;
	chain_init(&q, s, svc, qfamily, NULL, 0, NULL);
	q.rank = rank;
	q.fixed = true;
	candidates(svc, qfamily, w);
	set->rc = w->n > 0 ? POL_OK : POL_NODATA;
	for (unsigned step = 0; step < f->steps && set->rc == POL_OK; step++) {
		set->rc = run_step(&q, &svc->filters[step], step, POL_MAX_ENDPOINTS, w);
	}
	set->n = set->rc == POL_OK ? (uint16_t)w->n : 0;
}

/*
 * After an ordering step i, only the first N positions matter when a
 * first-N filter follows it and no later filter draws (fewer draws would
 * shift what they get).
 */
static void fast_limits(const pol_service_t *svc, struct pol_fast *f)
{
	const cfg_filter_t *fl = svc->filters;
	for (unsigned i = 0; i < svc->n_filters; i++) {
		f->limit[i] = POL_MAX_ENDPOINTS;
		if (i + 1 == svc->n_filters || !cfg_filter_has(fl[i].kind, CFG_FILTER_F_ORDERS) ||
		    !cfg_filter_has(fl[i + 1].kind, CFG_FILTER_F_FIRST_N)) {
			continue;
		}
		bool draws = false;
		for (unsigned k = i + 2; k < svc->n_filters; k++) {
			draws |= cfg_filter_has(fl[k].kind, CFG_FILTER_F_DRAWS);
		}
		if (!draws) {
			f->limit[i] = (uint16_t)cfg_filter_arg(&fl[i + 1]);
		}
	}
}

int pol_fast_build(pol_snap_t *s, pol_service_t *ps)
{
	size_t n_orders = s->geo != NULL ? geo_tree_order_count(s->geo) : 1;
	if (n_orders * (ps->n_endpoints + 1u) > (1u << 16)) {
		return 0; /* too many orders x endpoints to keep: the whole chain per query */
	}
	struct pol_fast *f = aya_arena_alloc(s->arena, sizeof(*f));
	if (f == NULL) {
		return -ENOMEM;
	}
	memset(f, 0, sizeof(*f));
	while (f->steps < ps->n_filters &&
	       cfg_filter_has(ps->filters[f->steps].kind, CFG_FILTER_F_STATIC)) {
		f->geo |= cfg_filter_has(ps->filters[f->steps].kind, CFG_FILTER_F_GEO_ORDER);
		f->steps++;
	}
	if (!f->geo) {
		n_orders = 1; /* the prefix does not depend on the client */
	}
	f->n_orders = (uint32_t)n_orders;
	fast_limits(ps, f);
	struct work w;
	for (unsigned fam = 0; fam < 2; fam++) {
		pol_fast_set_t *sets = aya_arena_alloc(s->arena, n_orders * sizeof(*sets));
		if (sets == NULL) {
			return -ENOMEM;
		}
		for (size_t o = 0; o < n_orders; o++) {
			const uint8_t *rank = f->geo && s->geo != NULL
			                              ? geo_tree_rank(s->geo, (uint32_t)o)
			                              : NULL;
			fast_set(s, ps, f, fam ? AF_INET6 : AF_INET, rank, &w, &sets[o]);
			uint16_t *ep =
			        aya_arena_memdup(s->arena, w.ep, (w.n + 1u) * sizeof(w.ep[0]));
			uint8_t *tier = aya_arena_memdup(s->arena, w.tier, w.n + 1u);
			if (ep == NULL || tier == NULL) {
				return -ENOMEM;
			}
			sets[o].ep = ep;
			sets[o].tier = tier;
		}
		f->set[fam] = sets;
	}
	ps->fast = f;
	return 0;
}

/* pol_answer without a trace: the precomputed prefix, then the rest of the chain. */
static int answer_fast(const pol_snap_t *s, const pol_service_t *svc, int qfamily,
                       const pol_client_t *c, uint64_t rand, pol_result_t *out)
{
	const struct pol_fast *f = svc->fast;
	uint32_t idx = 0;
	unsigned scope = 0;
	if (f->geo && s->geo != NULL) {
		unsigned bits;
		idx = geo_tree_lookup(s->geo, c->family, c->addr, c->source_prefix, &bits);
		uint16_t pools = qfamily == AF_INET ? svc->pools_v4 : svc->pools_v6;
		if (pools > 1) {
			scope = bits;
		}
	}
	const pol_fast_set_t *set = &f->set[qfamily == AF_INET6][idx];
	if (set->rc != POL_OK) {
		return set->rc;
	}
	struct work w;
	w.n = set->n;
	memcpy(w.ep, set->ep, w.n * sizeof(w.ep[0]));
	memcpy(w.tier, set->tier, w.n);
	int rc = POL_OK;
	struct chain q;
	chain_init(&q, s, svc, qfamily, c, rand, NULL);
	q.scope = scope;
	if (f->steps < svc->n_filters) {
		rc = run_chain(&q, &w, f->steps, f->limit);
	}
	if (rc == POL_OK) {
		result_fill(svc, &w, q.scope, c, out);
	}
	return rc;
}

int pol_answer(const pol_snap_t *s, const pol_service_t *svc, int qfamily, const pol_client_t *c,
               uint64_t rand, pol_result_t *out, pol_trace_t *t)
{
	out->count = 0;
	out->ttl_s = svc->ttl_s;
	out->scope = 0;
	if (qfamily != AF_INET && qfamily != AF_INET6) {
		return -EINVAL;
	}
	if (t == NULL && svc->fast != NULL) {
		return answer_fast(s, svc, qfamily, c, rand, out);
	}
	if (t != NULL) {
		trace_start(t, s, svc, c);
	}
	struct work w;
	candidates(svc, qfamily, &w);
	struct chain q;
	chain_init(&q, s, svc, qfamily, c, rand, t);
	int rc = POL_NODATA;
	if (w.n > 0) {
		if (t != NULL) {
			t->n_candidates = w.n;
		}
		rc = run_chain(&q, &w, 0, NULL);
	}
	if (rc == POL_OK) {
		result_fill(svc, &w, q.scope, c, out);
	}
	if (t != NULL) {
		trace_pools(t, s, svc);
		t->rc = rc;
		t->result = *out;
	}
	return rc;
}

int pol_client_from_sockaddr(const struct sockaddr *sa, pol_client_t *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
		out->family = AF_INET;
		memcpy(out->addr, &sin->sin_addr, 4);
		out->source_prefix = 32;
		return 0;
	}
	if (sa->sa_family != AF_INET6) {
		return -EINVAL;
	}
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a = sin6->sin6_addr.s6_addr;
	if (aya_addr_is_v4mapped(a)) {
		out->family = AF_INET;
		memcpy(out->addr, a + 12, 4);
		out->source_prefix = 32;
		return 0;
	}
	out->family = AF_INET6;
	memcpy(out->addr, a, 16);
	out->source_prefix = 128;
	return 0;
}
