/*
 * The load loop (the rule is documented with its API in policy.h, the
 * derivation and the simulated figures in docs/dev/steering.md). A pol_steer_t
 * holds one controller per (service, pool), found by name through an
 * open-addressing table, so a reload keeps every surviving pool's history.
 */
#include "policy/policy.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/hash.h"

/* A step is due when this share of the interval has passed (timers are not exact). */
#define DUE_SHARE 0.75
/* Pressure is not estimated below this mean fraction (a pool closed for long). */
#define MIN_MEAN_ADMIT 0.02
/* Damped trend: smoothing of level and trend, and damping, per second. */
#define TREND_ALPHA 0.5
#define TREND_BETA 0.3
#define TREND_PHI 0.98
/*
 * Recovery speed: the fraction moves this many intervals/TTL of the gap to
 * a* per sample (a time constant of TTL/15: 2 s at a 30 s TTL). The
 * pressure is already corrected for the cached answers, so the loop may
 * move fast; 15 is where the simulated scenarios stop gaining
 * (docs/dev/steering.md).
 */
#define RECOVER 15.0
/* Another pool has room when its smoothed utilization is under this share of its target. */
#define ROOM_SHARE 0.95
/* admit changes smaller than this do not bump the version (nor ask for a rebuild). */
#define ADMIT_EPS 0.001

struct pol_steer {
	pol_steer_pool_t *pool;
	size_t n, cap;
	uint32_t *slot; /* index + 1, 0 = free */
	size_t n_slots; /* power of two, >= 2 n */
};

static uint64_t key_hash(const char *service, const char *region)
{
	uint64_t h = AYA_FNV_OFFSET;
	for (const char *c = service; *c != '\0'; c++) {
		char l = (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c;
		h = aya_fnv1a_byte(h, (uint8_t)l);
	}
	h = aya_fnv1a_byte(h, 0);
	for (const char *c = region; *c != '\0'; c++) {
		h = aya_fnv1a_byte(h, (uint8_t)*c);
	}
	return aya_mix64(h);
}

/* service without a trailing dot, compared in any case */
static bool name_eq(const char *stored, const char *service)
{
	size_t n = strlen(service);
	if (n > 1 && service[n - 1] == '.') {
		n--;
	}
	return strlen(stored) == n && strncasecmp(stored, service, n) == 0;
}

static long find_idx(const pol_steer_t *st, const char *service, const char *region)
{
	if (st->n_slots == 0) {
		return -1;
	}
	char svc[AYA_DNAME_STR_MAX];
	size_t n = strlen(service);
	if (n >= sizeof(svc)) {
		return -1;
	}
	memcpy(svc, service, n + 1);
	if (n > 1 && svc[n - 1] == '.') {
		svc[n - 1] = '\0';
	}
	uint64_t h = key_hash(svc, region);
	for (size_t i = h & (st->n_slots - 1);; i = (i + 1) & (st->n_slots - 1)) {
		uint32_t v = st->slot[i];
		if (v == 0) {
			return -1;
		}
		const pol_steer_pool_t *p = &st->pool[v - 1];
		if (name_eq(p->service, svc) && strcmp(p->region, region) == 0) {
			return (long)(v - 1);
		}
	}
}

static int reindex(pol_steer_t *st)
{
	size_t n_slots = 16;
	while (n_slots < 2 * st->n) {
		n_slots *= 2;
	}
	uint32_t *slot = calloc(n_slots, sizeof(*slot));
	if (slot == NULL) {
		return -ENOMEM;
	}
	for (size_t k = 0; k < st->n; k++) {
		uint64_t h = key_hash(st->pool[k].service, st->pool[k].region);
		size_t i = h & (n_slots - 1);
		while (slot[i] != 0) {
			i = (i + 1) & (n_slots - 1);
		}
		slot[i] = (uint32_t)(k + 1);
	}
	free(st->slot);
	st->slot = slot;
	st->n_slots = n_slots;
	return 0;
}

int pol_steer_new(pol_steer_t **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -ENOMEM;
}

static void pool_fini(pol_steer_pool_t *p)
{
	free((char *)p->service);
	free((char *)p->region);
}

void pol_steer_free(pol_steer_t *st)
{
	if (st == NULL) {
		return;
	}
	for (size_t i = 0; i < st->n; i++) {
		pool_fini(&st->pool[i]);
	}
	free(st->pool);
	free(st->slot);
	free(st);
}

static void hist_push(pol_steer_pool_t *p, uint64_t at_ms, double a)
{
	unsigned last = (p->hist_head + POL_STEER_HIST - 1) % POL_STEER_HIST;
	if (p->hist_n > 0 && p->hist_ms[last] >= at_ms) {
		p->hist_a[last] = (float)a; /* the same instant (or a clock step back): replace */
		return;
	}
	p->hist_ms[p->hist_head] = at_ms;
	p->hist_a[p->hist_head] = (float)a;
	p->hist_head = (p->hist_head + 1) % POL_STEER_HIST;
	if (p->hist_n < POL_STEER_HIST) {
		p->hist_n++;
	}
}

double pol_steer_mean(const pol_steer_pool_t *p, uint64_t from_ms, uint64_t to_ms)
{
	if (p->hist_n == 0) {
		return p->admit;
	}
	if (to_ms <= from_ms) {
		to_ms = from_ms + 1;
	}
	/* Walk the changes oldest first; value v holds from hist_ms[i] to the next one. */
	unsigned first = (p->hist_head + POL_STEER_HIST - p->hist_n) % POL_STEER_HIST;
	double sum = 0;
	double v = p->hist_a[first]; /* before the oldest change known: its value */
	uint64_t t = from_ms;
	for (unsigned k = 0; k < p->hist_n; k++) {
		unsigned i = (first + k) % POL_STEER_HIST;
		uint64_t at = p->hist_ms[i];
		if (at > t) {
			uint64_t end = at < to_ms ? at : to_ms;
			sum += v * (double)(end - t);
			t = end;
		}
		if (t >= to_ms) {
			break;
		}
		v = p->hist_a[i];
	}
	if (t < to_ms) {
		sum += v * (double)(to_ms - t);
	}
	return sum / (double)(to_ms - from_ms);
}

/*
 * Take the new fraction. The history records it when it moved or a 64th of
 * the TTL passed (so that it spans a TTL); the version (what is gossiped
 * and what asks for a rebuild) moves when it changed by ADMIT_EPS since the
 * last version, reached 1, or closed changed.
 */
static bool set_admit(pol_steer_pool_t *p, double a, bool closed, uint64_t now_ms)
{
	a = a < 0 ? 0 : a > 1 ? 1 : a;
	double h = closed ? 0.0 : a;
	unsigned last = (p->hist_head + POL_STEER_HIST - 1) % POL_STEER_HIST;
	if (p->hist_n == 0 || fabs(p->hist_a[last] - h) >= ADMIT_EPS ||
	    now_ms >= p->hist_ms[last] + p->p.ttl_ms / 64) {
		hist_push(p, now_ms, h);
	}
	bool changed = fabs(a - p->published) >= ADMIT_EPS || closed != p->closed ||
	               (a == 1.0 && p->published != 1.0);
	p->admit = a;
	p->closed = closed;
	if (!changed) {
		return false;
	}
	p->published = a;
	p->version++;
	return true;
}

/* The damped trend of the pressure, fed one sample dt seconds after the previous one. */
static void trend_feed(pol_steer_pool_t *p, double rho, double dt)
{
	if (isnan(p->level)) {
		p->level = rho;
		p->trend = 0;
		return;
	}
	/* The smoothing is per second, not per sample: fast probes must not turn one step of the
	 * pressure into a steep trend. */
	double damp = pow(TREND_PHI, dt);
	double alpha = 1 - pow(1 - TREND_ALPHA, dt);
	double beta = 1 - pow(1 - TREND_BETA, dt);
	double prev = p->level;
	p->level = alpha * rho + (1 - alpha) * (prev + p->trend * damp * dt);
	double slope = dt > 0 ? (p->level - prev) / dt : 0;
	p->trend = beta * slope + (1 - beta) * damp * p->trend;
}

/* The trend's forecast h seconds ahead: level + trend x (sum of the damping). */
static double trend_ahead(const pol_steer_pool_t *p, double h)
{
	/* Integral of phi^t from 0 to h: (phi^h - 1) / ln(phi). */
	double reach = (pow(TREND_PHI, h) - 1.0) / log(TREND_PHI);
	double f = p->level + p->trend * reach;
	return f > 0 ? f : 0;
}

/* One sample: the pressure and its trend; with apply, the fraction too. */
static bool loop_step(pol_steer_pool_t *p, double u, uint64_t now_ms, bool apply)
{
	const pol_steer_params_t *pa = &p->p;
	double ttl = (double)(pa->ttl_ms > pa->interval_ms ? pa->ttl_ms : pa->interval_ms);
	double dt_ms = p->sample_ms != 0 && now_ms > p->sample_ms ? (double)(now_ms - p->sample_ms)
	                                                          : (double)pa->interval_ms;
	if (dt_ms > 10.0 * pa->interval_ms) {
		dt_ms = 10.0 * pa->interval_ms; /* after a long gap: one big step, not a jump */
	}
	p->sample_ms = now_ms;
	p->utilization = u;
	double gain = dt_ms / ttl;
	if (isnan(u)) {
		/* Nothing known: hold a while (a partition, a missed report), then back toward
		 * admitting everything at the caches' pace. */
		p->pressure = p->forecast = p->level = p->u_smooth = NAN;
		p->trend = 0;
		if (p->known_ms != 0 &&
		    now_ms < p->known_ms + POL_STEER_HOLD_TTLS * (uint64_t)ttl) {
			return false;
		}
		double g = RECOVER * gain > 1 ? 1 : RECOVER * gain;
		double a = p->admit + (1.0 - p->admit) * g;
		return apply && set_admit(p, a > 1.0 - ADMIT_EPS ? 1.0 : a, false, now_ms);
	}
	p->known_ms = now_ms;
	double tau = ttl / 6 > 3.0 * pa->interval_ms ? ttl / 6 : 3.0 * pa->interval_ms;
	double k = 1 - exp(-dt_ms / tau);
	p->u_smooth = isnan(p->u_smooth) ? u : p->u_smooth + (u - p->u_smooth) * k;
	/* The traffic measured now was sent by answers handed out over the TTL before it. */
	uint64_t delay = pa->interval_ms;
	uint64_t to = now_ms > delay ? now_ms - delay : 0;
	uint64_t from = to > (uint64_t)ttl ? to - (uint64_t)ttl : 0;
	double mean = pol_steer_mean(p, from, to);
	if (mean < MIN_MEAN_ADMIT) {
		mean = MIN_MEAN_ADMIT;
	}
	double rho = u / mean;
	p->pressure = rho;
	trend_feed(p, rho, dt_ms / 1000.0);
	double use = rho;
	if (pa->forecast) {
		p->forecast = trend_ahead(p, (ttl / 2 + (double)pa->interval_ms) / 1000.0);
		use = p->forecast;
	} else {
		p->forecast = NAN;
	}
	double want = use > 0 ? pa->target / use : 1.0;
	want = want > 1 ? 1 : want;
	if (!apply) {
		return false;
	}
	if (u > pa->limit) {
		return set_admit(p, want < p->admit ? want : p->admit, true, now_ms);
	}
	if (want < p->admit && !p->room) {
		want = p->admit; /* nowhere to send the excess: hold (anti-windup) */
	}
	/* Shed at once, recover at RECOVER x interval/TTL of the gap per sample. */
	double g = want < p->admit ? 1.0 : RECOVER * gain;
	g = g > 1 ? 1 : g;
	double a = p->admit + (want - p->admit) * g;
	if (want >= 1.0 && a > 1.0 - ADMIT_EPS) {
		a = 1.0;
	}
	return set_admit(p, a, false, now_ms);
}

bool pol_steer_step(pol_steer_pool_t *p, double u, uint64_t now_ms)
{
	return loop_step(p, u, now_ms, true);
}

static void params_of(const cfg_t *cfg, const cfg_service_t *cs, const cfg_pool_t *cp,
                      bool forecast, pol_steer_params_t *out)
{
	uint32_t interval = 1000;
	if (cp->monitor != NULL && cp->monitor_idx < cfg->n_monitors) {
		interval = cfg->monitors[cp->monitor_idx].interval_ms;
	}
	uint64_t ttl = (uint64_t)cs->ttl_s * 1000;
	*out = (pol_steer_params_t){.target = cp->target > 0 ? cp->target : 0.8,
	                            .limit = cp->limit > 0 ? cp->limit : 0.95,
	                            .ttl_ms = (uint32_t)(ttl > UINT32_MAX ? UINT32_MAX : ttl),
	                            .interval_ms = interval > 0 ? interval : 1000,
	                            .forecast = forecast};
}

/* The service's full name, no trailing dot, lower-case. */
static void service_name(const cfg_service_t *cs, char *buf, size_t len)
{
	size_t n = aya_dname_to_str(cs->owner, buf, len);
	if (n > 1 && buf[n - 1] == '.') {
		buf[n - 1] = '\0';
	}
	for (char *c = buf; *c != '\0'; c++) {
		*c = (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c;
	}
}

static int pool_init(pol_steer_pool_t *p, const char *service, const char *region)
{
	memset(p, 0, sizeof(*p));
	p->service = strdup(service);
	p->region = strdup(region);
	if (p->service == NULL || p->region == NULL) {
		pool_fini(p);
		return -ENOMEM;
	}
	p->admit = p->published = 1.0;
	p->utilization = p->pressure = p->forecast = p->level = p->u_smooth = NAN;
	return 0;
}

int pol_steer_sync(pol_steer_t *st, const cfg_t *cfg, bool forecast)
{
	size_t want = 0;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t i = 0; i < cfg->zones[z].n_services; i++) {
			want += cfg->zones[z].services[i].n_pools;
		}
	}
	pol_steer_pool_t *next = calloc(want + 1, sizeof(*next));
	bool *kept = calloc(st->n + 1, sizeof(*kept));
	if (next == NULL || kept == NULL) {
		free(next);
		free(kept);
		return -ENOMEM;
	}
	size_t n = 0;
	int rc = 0;
	for (size_t z = 0; z < cfg->n_zones && rc == 0; z++) {
		for (size_t i = 0; i < cfg->zones[z].n_services && rc == 0; i++) {
			const cfg_service_t *cs = &cfg->zones[z].services[i];
			char name[AYA_DNAME_STR_MAX];
			service_name(cs, name, sizeof(name));
			for (size_t k = 0; k < cs->n_pools && rc == 0; k++) {
				const cfg_pool_t *cp = &cs->pools[k];
				const char *region = cfg->regions[cp->region_idx].name;
				long old = find_idx(st, name, region);
				bool dup = false;
				for (size_t j = 0; j < n && !dup; j++) {
					dup = strcmp(next[j].service, name) == 0 &&
					      strcmp(next[j].region, region) == 0;
				}
				if (dup) {
					continue; /* two pools of one region: one controller */
				}
				if (old >= 0 && !kept[old]) {
					next[n] = st->pool[old]; /* moves its strings */
					kept[old] = true;
				} else if ((rc = pool_init(&next[n], name, region)) != 0) {
					break;
				}
				params_of(cfg, cs, cp, forecast, &next[n].p);
				n++;
			}
		}
	}
	if (rc != 0) {
		for (size_t j = 0; j < n; j++) {
			bool moved = false;
			for (size_t o = 0; o < st->n && !moved; o++) {
				moved = kept[o] && st->pool[o].service == next[j].service;
			}
			if (!moved) {
				pool_fini(&next[j]);
			}
		}
		free(next);
		free(kept);
		return rc;
	}
	for (size_t o = 0; o < st->n; o++) {
		if (!kept[o]) {
			pool_fini(&st->pool[o]);
		}
	}
	free(kept);
	free(st->pool);
	st->pool = next;
	st->n = n;
	st->cap = want + 1;
	return reindex(st);
}

/* The pool's utilization from view: capacity-weighted over its healthy endpoints that know it. */
static double pool_utilization(const cfg_t *cfg, const cfg_pool_t *cp, const state_view_t *view,
                               uint64_t now_ms, double *capacity)
{
	double sum = 0, weight = 0, total = 0;
	for (size_t e = 0; e < cp->n_endpoints; e++) {
		const cfg_endpoint_t *ce = &cp->endpoints[e];
		pol_ep_health_t h;
		char key[STATE_NAME_MAX + 1];
		/* Without a monitor: healthy, load unknown. */
		bool watched = pol_health_endpoint(cfg, cp, ce, view, now_ms, 0, key, &h);
		if (watched && !h.healthy) {
			continue;
		}
		double cap = pol_endpoint_capacity(ce, &h); /* reported, else configured */
		cap = cap > 0 ? cap : 1.0;
		total += cap;
		if (watched && !isnan(h.utilization)) {
			sum += cap * h.utilization;
			weight += cap;
		}
	}
	*capacity = total;
	return weight > 0 ? sum / weight : NAN;
}

size_t pol_steer_update(pol_steer_t *st, const cfg_t *cfg, const state_view_t *view,
                        uint64_t now_ms, pol_steer_owns_fn owns, void *ctx)
{
	size_t changed = 0;
	long idx[POL_MAX_POOLS];
	double util[POL_MAX_POOLS];
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t i = 0; i < cfg->zones[z].n_services; i++) {
			const cfg_service_t *cs = &cfg->zones[z].services[i];
			char name[AYA_DNAME_STR_MAX];
			service_name(cs, name, sizeof(name));
			size_t n = cs->n_pools < POL_MAX_POOLS ? cs->n_pools : POL_MAX_POOLS;
			/* First every pool's utilization, for the room each one sees. */
			for (size_t k = 0; k < n; k++) {
				const cfg_pool_t *cp = &cs->pools[k];
				idx[k] = find_idx(st, name, cfg->regions[cp->region_idx].name);
				util[k] = NAN;
				if (idx[k] < 0) {
					continue;
				}
				double cap = 0;
				if (view != NULL) {
					util[k] = pool_utilization(cfg, cp, view, now_ms, &cap);
				}
				st->pool[idx[k]].capacity = cap;
			}
			for (size_t k = 0; k < n; k++) {
				if (idx[k] < 0) {
					continue;
				}
				pol_steer_pool_t *p = &st->pool[idx[k]];
				if (p->sample_ms != 0 &&
				    now_ms < p->sample_ms +
				                     (uint64_t)(DUE_SHARE * p->p.interval_ms)) {
					continue; /* stepped already this interval */
				}
				p->room = false;
				for (size_t o = 0; o < n && !p->room; o++) {
					const pol_steer_pool_t *q =
					        idx[o] >= 0 ? &st->pool[idx[o]] : NULL;
					p->room = o != k && q != NULL && q != p && !q->closed &&
					          (view == NULL || q->capacity > 0) &&
					          (isnan(util[o]) ||
					           q->u_smooth < ROOM_SHARE * q->p.target);
				}
				const char *region = cfg->regions[cs->pools[k].region_idx].name;
				bool mine = owns == NULL || owns(name, region, ctx);
				p->owned = mine;
				changed += loop_step(p, util[k], now_ms, mine);
			}
		}
	}
	return changed;
}

int pol_steer_adopt(pol_steer_t *st, const char *service, const char *region, double admit,
                    bool closed, uint64_t now_ms)
{
	long idx = find_idx(st, service, region);
	if (idx < 0) {
		return -ENOENT;
	}
	pol_steer_pool_t *p = &st->pool[idx];
	p->adopted_ms = now_ms;
	p->known_ms = now_ms; /* the owner knew: a new owner without data holds it a while */
	if (isnan(admit)) {
		return 0;
	}
	return set_admit(p, admit, closed, now_ms) ? 1 : 0;
}

size_t pol_steer_count(const pol_steer_t *st)
{
	return st->n;
}

const pol_steer_pool_t *pol_steer_get(const pol_steer_t *st, size_t i)
{
	return i < st->n ? &st->pool[i] : NULL;
}

const pol_steer_pool_t *pol_steer_find(const pol_steer_t *st, const char *service,
                                       const char *region)
{
	long idx = find_idx(st, service, region);
	return idx >= 0 ? &st->pool[idx] : NULL;
}
