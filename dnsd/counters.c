/*
 * Per-worker answer contexts and their counters. Each counter has one
 * writer (the worker owning the context) and is read with relaxed loads by
 * anyone summing them (model: gdnsd stats.h): totals may be a few queries
 * stale, never torn.
 */
#include "dnsd/dnsd.h"

#include <stdlib.h>

#include "dnsd/query.h"

dnsd_ctx_t *dnsd_ctx_new(void)
{
	dnsd_ctx_t *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		return NULL;
	}
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
}
