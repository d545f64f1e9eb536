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
	ctx->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx->hmac_ctx = ctx->hmac != NULL ? EVP_MAC_CTX_new(ctx->hmac) : NULL;
	if (ctx->hmac_ctx == NULL || dnsd_cookie_init(ctx) != 0) {
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
	EVP_MAC_CTX_free(ctx->hmac_ctx);
	EVP_MAC_free(ctx->hmac);
	free(ctx);
}

void dnsd_ctx_seed(dnsd_ctx_t *ctx, uint64_t seed)
{
	aya_rng_seed(&ctx->rng, seed);
}

void dnsd_ctx_set_rrl(dnsd_ctx_t *ctx, dnsd_rrl_t *t)
{
	ctx->rrl = t;
}

const dnsd_counters_t *dnsd_ctx_counters(const dnsd_ctx_t *ctx)
{
	return &ctx->counters;
}

void dnsd_ctx_pool_answers_add(const dnsd_ctx_t *ctx, uint64_t *out, size_t n)
{
	for (size_t i = 0; i < n && i < DNSD_POOL_SLOTS; i++) {
		out[i] += atomic_load_explicit(&ctx->pool_answers[i], memory_order_relaxed);
	}
}

void dnsd_ctx_qdur_add(const dnsd_ctx_t *ctx, aya_hist_t *out)
{
	for (size_t i = 0; i <= DNSD_QDUR_BOUNDS; i++) {
		uint64_t n = atomic_load_explicit(&ctx->qdur[i], memory_order_relaxed);
		out->bucket[i] += n;
		out->count += n;
	}
	out->sum += (double)atomic_load_explicit(&ctx->qdur_ns, memory_order_relaxed) / 1e9;
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
	ADD(notauth);
	ADD(dropped);
	ADD(truncated);
	ADD(edns);
	ADD(cookies);
	ADD(nsid);
	ADD(axfr_refused);
	ADD(send_errors);
	ADD(tcp_refused);
	ADD(tcp_evicted);
	ADD(tcp_timeouts);
	ADD(services);
	ADD(ecs);
	ADD(rrl_dropped);
	ADD(rrl_slipped);
	ADD(tsig_ok);
	ADD(tsig_badkey);
	ADD(tsig_badsig);
	ADD(tsig_badtime);
	ADD(tsig_formerr);
	ADD(dnssec_answers);
	ADD(dnssec_cache_hits);
	ADD(dnssec_signs);
	ADD(dnssec_sign_fail);
}

/* ------------------------------------------------------------------ registry */

#define ROW(f, help, family, labels, flags)                                                        \
	AYA_STAT_ROW(dnsd_stats_t, f, #f, help, family, labels, AYA_STAT_COUNTER, flags)
#define H_QUERIES "DNS queries received, by transport"
#define H_RCODE "DNS responses sent, by rcode and transport"
#define H_TSIG "TSIG-signed DNS queries, by verification result (RFC 8945)"
#define H_SIGS "RRSIGs of per-query answers of signed zones, by where they came from"

static const aya_stat_t rows[] = {
        /*
         * status shows queries on its own line. /metrics exports the table once per
         * transport (labels transport="udp"/"tcp", dnsd_server_stats_by_transport), so
         * queries is aya_dns_queries_total{transport} there and the udp/tcp rows are
         * for status only.
         */
        ROW(queries, H_QUERIES, "aya_dns_queries_total", NULL, AYA_STAT_NOLIST),
        ROW(udp, H_QUERIES, NULL, NULL, 0),
        ROW(tcp, H_QUERIES, NULL, NULL, 0),
        ROW(noerror, H_RCODE, "aya_dns_responses_total", "rcode=\"noerror\"", 0),
        ROW(nxdomain, H_RCODE, "aya_dns_responses_total", "rcode=\"nxdomain\"", 0),
        ROW(refused, H_RCODE, "aya_dns_responses_total", "rcode=\"refused\"", 0),
        ROW(formerr, H_RCODE, "aya_dns_responses_total", "rcode=\"formerr\"", 0),
        ROW(servfail, H_RCODE, "aya_dns_responses_total", "rcode=\"servfail\"", 0),
        ROW(notimp, H_RCODE, "aya_dns_responses_total", "rcode=\"notimp\"", 0),
        ROW(badvers, H_RCODE, "aya_dns_responses_total", "rcode=\"badvers\"", 0),
        ROW(badcookie, H_RCODE, "aya_dns_responses_total", "rcode=\"badcookie\"", 0),
        ROW(notauth, H_RCODE, "aya_dns_responses_total", "rcode=\"notauth\"", 0),
        ROW(dropped, "DNS queries dropped without a response (QR=1, shorter than a header, ...)",
            "aya_dns_dropped_total", NULL, 0),
        ROW(truncated, "DNS responses sent with TC=1", "aya_dns_truncated_total", NULL, 0),
        ROW(edns, "DNS queries with an EDNS OPT record", "aya_dns_edns_queries_total", NULL, 0),
        ROW(cookies, "DNS queries with a COOKIE option", "aya_dns_cookie_queries_total", NULL, 0),
        ROW(nsid, "DNS queries asking for the NSID", "aya_dns_nsid_queries_total", NULL, 0),
        ROW(axfr_refused, "Zone transfer requests refused", "aya_dns_axfr_refused_total", NULL, 0),
        ROW(send_errors, "DNS responses not sent: sendmmsg or write failed",
            "aya_dns_send_errors_total", NULL, 0),
        ROW(tcp_refused, "DNS TCP connections refused: client prefix at its limit or table full",
            "aya_dns_tcp_refused_total", NULL, 0),
        ROW(tcp_evicted, "Idle DNS TCP connections closed to make room for a new one",
            "aya_dns_tcp_evicted_total", NULL, 0),
        ROW(tcp_timeouts, "DNS TCP connections closed: a query or reply not through in time",
            "aya_dns_tcp_timeouts_total", NULL, 0),
        ROW(rrl_dropped, "DNS responses not sent: over the response rate limit (dns.rrl)",
            "aya_dns_rrl_dropped_total", NULL, 0),
        ROW(rrl_slipped,
            "DNS responses over the rate limit sent truncated (TC=1) instead of dropped",
            "aya_dns_rrl_slipped_total", NULL, 0),
        AYA_STAT_ROW(dnsd_stats_t, rrl_keys, "rrl_keys",
                     "Response rate limiting keys seen within the window (dns.rrl)",
                     "aya_dns_rrl_keys", NULL, AYA_STAT_GAUGE, 0),
        ROW(tsig_ok, H_TSIG, "aya_dns_tsig_total", "result=\"ok\"", 0),
        ROW(tsig_badkey, H_TSIG, "aya_dns_tsig_total", "result=\"badkey\"", 0),
        ROW(tsig_badsig, H_TSIG, "aya_dns_tsig_total", "result=\"badsig\"", 0),
        ROW(tsig_badtime, H_TSIG, "aya_dns_tsig_total", "result=\"badtime\"", 0),
        ROW(tsig_formerr, H_TSIG, "aya_dns_tsig_total", "result=\"formerr\"", 0),
        ROW(dnssec_answers, "DNS responses with DNSSEC signatures (DO queries to signed zones)",
            "aya_dns_dnssec_answers_total", NULL, 0),
        ROW(dnssec_cache_hits, H_SIGS, "aya_dns_dnssec_signatures_total", "path=\"cache\"", 0),
        ROW(dnssec_signs, H_SIGS, "aya_dns_dnssec_signatures_total", "path=\"query\"", 0),
        ROW(dnssec_sign_fail, "DNS responses to DO queries that failed to sign (SERVFAIL)",
            "aya_dns_dnssec_sign_failures_total", NULL, 0),
        ROW(services, "DNS queries answered by the service policy", "aya_dns_service_queries_total",
            NULL, AYA_STAT_NOLIST),
        ROW(ecs, "DNS queries with a valid EDNS Client Subnet option", "aya_dns_ecs_queries_total",
            NULL, AYA_STAT_NOLIST),
};

const aya_stat_table_t dnsd_stats_table = AYA_STAT_TABLE("dnsd", dnsd_stats_t, rows);
