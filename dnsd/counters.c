/*
 * Per-worker answer contexts and their counters. Each counter has one
 * writer (the worker owning the context) and is read with relaxed loads by
 * anyone summing them (model: gdnsd stats.h): totals may be a few queries
 * stale, never torn. A context also carries the worker's policy RNG,
 * seeded here once (getrandom), so weighted picks differ between workers
 * and restarts without a syscall per query.
 */
#include "dnsd/dnsd.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "dnsd/query_int.h"

/* Seed for a new context: getrandom, else the clock and the context's address. */
static uint64_t fresh_seed(const dnsd_ctx_t *ctx)
{
	uint64_t seed;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
		return seed;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return t ^ (uint64_t)(uintptr_t)ctx;
}

dnsd_ctx_t *dnsd_ctx_new(void)
{
	dnsd_ctx_t *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return NULL;
	}
	aya_rng_seed(&ctx->rng, fresh_seed(ctx));
	if (dnsd_cookie_init(ctx) != 0) {
		dnsd_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void dnsd_ctx_free(dnsd_ctx_t *ctx)
{
	if (ctx == NULL) {
		return;
	}
	dnsd_cookie_fini(ctx);
	free(ctx);
}

void dnsd_ctx_seed(dnsd_ctx_t *ctx, uint64_t seed)
{
	aya_rng_seed(&ctx->rng, seed);
}

const dnsd_counters_t *dnsd_ctx_counters(const dnsd_ctx_t *ctx)
{
	return &ctx->counters;
}

#define ADD(f) out->f += atomic_load_explicit(&c->f, memory_order_relaxed)

void dnsd_counters_add(dnsd_stats_t *out, const dnsd_counters_t *c)
{
	ADD(queries);
	ADD(udp);
	ADD(tcp);
	ADD(noerror);
	ADD(nxdomain);
	ADD(refused);
	ADD(formerr);
	ADD(servfail);
	ADD(notimp);
	ADD(badvers);
	ADD(badcookie);
	ADD(dropped);
	ADD(truncated);
	ADD(edns);
	ADD(cookies);
	ADD(nsid);
	ADD(axfr_refused);
	ADD(send_errors);
	ADD(services);
	ADD(ecs);
}
