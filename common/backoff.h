/*
 * Retry back-off: a delay that doubles from min_ms up to max_ms while an
 * operation keeps failing and starts over at min_ms after a success. Only
 * the arithmetic: the caller owns the timer (common/listen.c, which pauses
 * listeners whose accept() fails, e.g. EMFILE, instead of spinning on
 * them). One owner thread per value.
 */
#pragma once

#include <stdint.h>

/* A listener whose accept() fails pauses this long, then twice that, ... */
#define AYA_ACCEPT_BACKOFF_MIN_MS 100u
#define AYA_ACCEPT_BACKOFF_MAX_MS 1000u

typedef struct aya_backoff {
	uint32_t min_ms, max_ms;
	uint32_t next_ms;  /* what the next failure waits */
	uint64_t failures; /* in a row, since the last success */
} aya_backoff_t;

/* min_ms > 0, max_ms >= min_ms. */
static inline void aya_backoff_init(aya_backoff_t *b, uint32_t min_ms, uint32_t max_ms)
{
	b->min_ms = min_ms;
	b->max_ms = max_ms;
	b->next_ms = min_ms;
	b->failures = 0;
}

/* One more failure: the delay to wait before retrying. */
static inline uint32_t aya_backoff_fail(aya_backoff_t *b)
{
	uint32_t d = b->next_ms;
	b->next_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
	b->failures++;
	return d;
}

/* A success: the next failure waits min_ms again. */
static inline void aya_backoff_reset(aya_backoff_t *b)
{
	b->next_ms = b->min_ms;
	b->failures = 0;
}
