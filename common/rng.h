/*
 * xorshift64*: a fast, seedable generator for choices that need no secrecy
 * (weighted answers, probe jitter, gossip targets). One per thread or per
 * object: it has no lock. Never for keys, nonces or cookies (OpenSSL's).
 */
#pragma once

#include <stdint.h>

#include "common/hash.h"

typedef struct aya_rng {
	uint64_t s; /* never 0 */
} aya_rng_t;

/* Seed through splitmix64, so that small or similar seeds give unrelated, non-zero states. */
static inline void aya_rng_seed(aya_rng_t *r, uint64_t seed)
{
	uint64_t z = aya_mix64(seed + UINT64_C(0x9e3779b97f4a7c15));
	r->s = z != 0 ? z : UINT64_C(0x9e3779b97f4a7c15);
}

static inline uint64_t aya_rng_next(aya_rng_t *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* Uniform double in [0, 1). */
static inline double aya_rng_unit(aya_rng_t *r)
{
	return (double)(aya_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
