/*
 * Address helpers shared by the query path (dnsd, policy, geo): IPv4-mapped
 * IPv6 (RFC 4291 2.5.5.2) and prefix masks on network-order bytes. Pure,
 * any thread, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The first 12 bytes of an IPv4-mapped IPv6 address (::ffff:0:0/96). */
extern const uint8_t aya_v4mapped_prefix[12];

/* Is the 16-byte address a6 IPv4-mapped? Its IPv4 address is then a6 + 12. */
static inline bool aya_addr_is_v4mapped(const uint8_t *a6)
{
	return memcmp(a6, aya_v4mapped_prefix, sizeof(aya_v4mapped_prefix)) == 0;
}

/* Zero every bit of addr (len bytes) from bit `bits` on. */
static inline void aya_addr_mask(uint8_t *addr, unsigned len, unsigned bits)
{
	for (unsigned bit = bits; bit < len * 8u; bit++) {
		addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	}
}
