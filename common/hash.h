/*
 * Non-cryptographic hashes: FNV-1a 64 for names and keys (stable across
 * nodes and versions: gossip compares them, so never change them), and the
 * splitmix64 finalizer to spread a 64-bit value. Keyed hashes that face
 * the network (DNS cookies, gossip MACs) are OpenSSL's, not these.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define AYA_FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define AYA_FNV_PRIME UINT64_C(0x100000001b3)

/* FNV-1a 64 of len bytes, continuing from h (AYA_FNV_OFFSET to start). */
static inline uint64_t aya_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * AYA_FNV_PRIME;
	}
	return h;
}

/* FNV-1a 64 of a NUL-terminated string, continuing from h. */
static inline uint64_t aya_fnv1a_str(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h = (h ^ (uint8_t)*s) * AYA_FNV_PRIME;
	}
	return h;
}

/* One byte into a running FNV-1a 64 (a separator between fields). */
static inline uint64_t aya_fnv1a_byte(uint64_t h, uint8_t b)
{
	return (h ^ b) * AYA_FNV_PRIME;
}

/* splitmix64's finalizer: a bijection that spreads every input bit. */
static inline uint64_t aya_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}
