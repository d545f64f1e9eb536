/*
 * Response rate limiting (dns.rrl), after BIND's RRL (also Knot mod-rrl and
 * NSD): a spoofed-source flood gets a reflector's worth of answers at most,
 * so Aya is a poor amplifier and a poor weapon against the address it is
 * told to answer.
 *
 * Key. A UDP response is counted against (client prefix, kind, name):
 *  - the client's source address cut to ipv4_prefix / ipv6_prefix bits (24 /
 *    56; IPv4-mapped IPv6 as IPv4; never the ECS address, which the client
 *    claims);
 *  - the kind: answer, NODATA, NXDOMAIN, referral, error (dnsd_rrl_kind_t);
 *  - the name: the qname for answers and NODATA (ASCII case folded, so 0x20
 *    randomization does not make new keys; the qtype is not part of it, as
 *    in Knot), the zone apex for NXDOMAIN (random names under one zone share
 *    one bucket: the "random subdomain" flood), the delegation for referrals,
 *    none for errors (every REFUSED/FORMERR/... of a prefix shares one).
 * One rate, responses_per_second, applies to every kind.
 *
 * Bucket (BIND's accounting, whole seconds). A key has a balance of at most
 * N = responses_per_second; every second adds N back (up to N) and every
 * response takes one. A response is sent while the balance is >= 0 after
 * taking it; below, it is limited, and the debt grows to at most N x window
 * (capped at DNSD_RRL_DEBT_MAX). So a burst of N is answered at once, a
 * source under N per second is never limited, and one that floods stays
 * limited while its average over the window is at or above N: up to
 * `window` seconds after the flood stops. A limited response is dropped,
 * except every slip-th of that key, which is sent truncated (TC=1, no
 * records, the OPT kept with its cookie) so a real client behind a spoofed
 * address retries over TCP; slip 0 drops all, 1 truncates all.
 *
 * Not limited: TCP (the source is proven by the handshake), exempt prefixes,
 * and queries carrying a valid server cookie (RFC 7873 5.2.3 and 9018: the
 * cookie is a MAC over the client's address, which a spoofer cannot get).
 * A query dropped before an answer is built (QR=1, short) is not counted.
 *
 * Table. One fixed array of 2^17 8-byte slots (1 MiB, allocated at start,
 * untouched pages cost nothing while RRL is off), shared by every UDP
 * worker. A key lives in one of the 8 slots of its 64-byte group (low bits
 * of its hash); a slot is one word, updated with a compare-and-swap:
 *
 *   tag (20 bits, 0 = empty) | stamp (16, seconds mod 2^16) | slip count (4)
 *   | balance (24, biased)
 *
 * So the query path is lock-free and allocation-free, and the limit is per
 * key across every worker: a client whose queries the kernel spreads over
 * several SO_REUSEPORT sockets (different source ports) gets N in all, not
 * N per worker. The price is a shared cache line per key: a flood of one
 * key from every worker bounces that line between cores (about one cache
 * miss per response). A new key takes an empty slot of its group, or the
 * one whose key has the most credit (the least to remember: a key with debt
 * is kept over one that is full), so a flood of many keys cannot push a
 * limited key out while quieter ones are there. Two keys with the same
 * group and tag (1 in 2^20 per pair in a group) share a bucket. A CAS that
 * keeps failing (8 tries) lets the response through.
 *
 * The hash is keyed with a random seed per table, so sources cannot aim
 * their keys at one group.
 */
#include "dnsd/rrl_int.h"

#include <endian.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/addr.h"
#include "common/hash.h"
#include "dnsd/wire_int.h"

#define TAG_SHIFT 44
#define TAG_MASK 0xfffffu
#define STAMP_SHIFT 28
#define SLIP_SHIFT 24
#define BAL_BIAS (1 << 23)
#define BAL_MASK 0xffffffu
#define CAS_TRIES 8

static uint32_t slot_tag(uint64_t v)
{
	return (uint32_t)(v >> TAG_SHIFT) & TAG_MASK;
}

static uint16_t slot_stamp(uint64_t v)
{
	return (uint16_t)(v >> STAMP_SHIFT);
}

static unsigned slot_slip(uint64_t v)
{
	return (unsigned)(v >> SLIP_SHIFT) & 0xfu;
}

static int32_t slot_balance(uint64_t v)
{
	return (int32_t)(v & BAL_MASK) - BAL_BIAS;
}

static uint64_t slot_pack(uint32_t tag, uint16_t stamp, unsigned slip, int32_t balance)
{
	return (uint64_t)tag << TAG_SHIFT | (uint64_t)stamp << STAMP_SHIFT |
	       (uint64_t)(slip & 0xfu) << SLIP_SHIFT | ((uint32_t)(balance + BAL_BIAS) & BAL_MASK);
}

/* The balance after `age` seconds of credit at `rate` (never above rate). */
static int64_t refill(int32_t balance, uint16_t age, uint32_t rate)
{
	int64_t b = (int64_t)balance + (int64_t)rate * age;
	return b > (int64_t)rate ? (int64_t)rate : b;
}

static uint32_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts); /* vDSO: no syscall */
	return (uint32_t)ts.tv_sec;
}

dnsd_rrl_t *dnsd_rrl_new(unsigned slots_log2)
{
	if (slots_log2 < 3 || slots_log2 > 30) {
		return NULL;
	}
	dnsd_rrl_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return NULL;
	}
	size_t n = (size_t)1 << slots_log2;
	/* calloc, not aligned_alloc + memset: a large block is fresh zero pages, left untouched. */
	t->mem = calloc(n + DNSD_RRL_WAYS, sizeof(*t->slot));
	if (t->mem == NULL) {
		free(t);
		return NULL;
	}
	t->slot = (_Atomic uint64_t *)(((uintptr_t)t->mem + 63) & ~(uintptr_t)63);
	t->group_mask = (uint32_t)(n / DNSD_RRL_WAYS - 1);
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != (ssize_t)sizeof(t->seed)) {
		t->seed = aya_mix64((uint64_t)mono_s() ^ (uint64_t)(uintptr_t)t);
	}
	atomic_init(&t->window, 0);
	return t;
}

void dnsd_rrl_free(dnsd_rrl_t *t)
{
	if (t == NULL) {
		return;
	}
	free(t->mem);
	free(t);
}

void dnsd_rrl_configure(dnsd_rrl_t *t, const dnsd_rrl_conf_t *c)
{
	atomic_store_explicit(&t->window, c->on ? c->window : 0, memory_order_relaxed);
}

uint32_t dnsd_rrl_now(const dnsd_rrl_t *t)
{
	return t->clock != NULL ? t->clock() : mono_s();
}

/* The client address (4 or 16 bytes) and family; IPv4-mapped as IPv4. NULL: other family. */
static const uint8_t *client_addr(const struct sockaddr *src, int *family)
{
	if (src->sa_family == AF_INET) {
		*family = AF_INET;
		return (const uint8_t *)&((const struct sockaddr_in *)(const void *)src)->sin_addr;
	}
	if (src->sa_family == AF_INET6) {
		const uint8_t *a =
		        ((const struct sockaddr_in6 *)(const void *)src)->sin6_addr.s6_addr;
		if (aya_addr_is_v4mapped(a)) {
			*family = AF_INET;
			return a + 12;
		}
		*family = AF_INET6;
		return a;
	}
	return NULL;
}

static bool prefix_has(const cfg_prefix_t *p, int family, const uint8_t *addr)
{
	if (p->family != family || p->len > (family == AF_INET ? 32 : 128)) {
		return false;
	}
	unsigned bytes = p->len / 8u, bits = p->len % 8u;
	if (memcmp(addr, p->addr, bytes) != 0) {
		return false;
	}
	uint8_t mask = (uint8_t)(0xffu << (8 - bits));
	return bits == 0 || (addr[bytes] & mask) == (p->addr[bytes] & mask);
}

bool dnsd_rrl_exempt(const dnsd_rrl_conf_t *c, const struct sockaddr *src)
{
	int family;
	const uint8_t *addr = client_addr(src, &family);
	if (addr == NULL) {
		return false;
	}
	for (size_t i = 0; i < c->n_exempt; i++) {
		if (prefix_has(&c->exempt[i], family, addr)) {
			return true;
		}
	}
	return false;
}

static uint64_t mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

/* The first `bits` of a big-endian word kept: a mask in memory order. */
static uint64_t mask64(unsigned bits)
{
	uint64_t m = bits == 0 ? 0 : bits >= 64 ? ~0ull : ~0ull << (64 - bits);
	return htobe64(m);
}

uint64_t dnsd_rrl_key(const dnsd_rrl_t *t, const dnsd_rrl_conf_t *c, const struct sockaddr *src,
                      dnsd_rrl_kind_t kind, const uint8_t *name, size_t name_len)
{
	int family = 0;
	const uint8_t *addr = client_addr(src, &family);
	uint64_t hi = 0, lo = 0;
	unsigned bits = 0;
	if (family == AF_INET) {
		uint32_t a4;
		memcpy(&a4, addr, sizeof(a4));
		bits = c->v4_prefix > 32 ? 32 : c->v4_prefix;
		hi = a4 & htobe32(bits == 0 ? 0 : ~0u << (32 - bits));
	} else if (family == AF_INET6) {
		memcpy(&hi, addr, sizeof(hi));
		memcpy(&lo, addr + 8, sizeof(lo));
		bits = c->v6_prefix > 128 ? 128 : c->v6_prefix;
		hi &= mask64(bits);
		lo &= bits > 64 ? mask64(bits - 64) : 0;
	}
	uint64_t h = mix(t->seed,
	                 (uint64_t)kind | (uint64_t)(unsigned)family << 8 | (uint64_t)bits << 24);
	h = mix(h, hi);
	h = mix(h, lo);
	if (name != NULL && name_len > 0) {
		size_t i = 0;
		uint64_t x;
		for (; i + 8 <= name_len; i += 8) {
			memcpy(&x, name + i, sizeof(x));
			h = mix(h, dnsd_lower8(x));
		}
		if (i < name_len && name_len >= 8) {
			/* The last 8 bytes, overlapping the word before: no read past the name. */
			memcpy(&x, name + name_len - 8, sizeof(x));
			h = mix(h, dnsd_lower8(x));
		} else if (i < name_len) {
			x = 0;
			for (size_t k = 0; k < name_len; k++) {
				x |= (uint64_t)name[k] << (8 * k);
			}
			h = mix(h, dnsd_lower8(x));
		}
		h = mix(h, name_len);
	}
	return aya_mix64(h);
}

dnsd_rrl_verdict_t dnsd_rrl_account(dnsd_rrl_t *t, const dnsd_rrl_conf_t *c, uint64_t key,
                                    uint32_t now)
{
	_Atomic uint64_t *g = &t->slot[(size_t)(key & t->group_mask) * DNSD_RRL_WAYS];
	uint32_t tag = (uint32_t)(key >> TAG_SHIFT) & TAG_MASK;
	tag = tag != 0 ? tag : 1;
	uint16_t stamp = (uint16_t)now;
	uint32_t rate = c->rate;
	int64_t floor = (int64_t)rate * c->window;
	floor = -(floor > DNSD_RRL_DEBT_MAX ? DNSD_RRL_DEBT_MAX : floor);

	for (int attempt = 0; attempt < CAS_TRIES; attempt++) {
		uint64_t v[DNSD_RRL_WAYS];
		unsigned at = DNSD_RRL_WAYS;
		for (unsigned i = 0; i < DNSD_RRL_WAYS; i++) {
			v[i] = atomic_load_explicit(&g[i], memory_order_relaxed);
			if (slot_tag(v[i]) == tag) {
				at = i;
				break;
			}
		}
		int64_t bal;
		unsigned slip;
		if (at < DNSD_RRL_WAYS) {
			bal = refill(slot_balance(v[at]), (uint16_t)(stamp - slot_stamp(v[at])),
			             rate);
			slip = slot_slip(v[at]);
		} else {
			/* A new key: an empty slot, else the one whose key has the most credit. */
			int64_t best = INT64_MIN;
			for (unsigned i = 0; i < DNSD_RRL_WAYS && best != INT64_MAX; i++) {
				int64_t score =
				        slot_tag(v[i]) == 0
				                ? INT64_MAX
				                : refill(slot_balance(v[i]),
				                         (uint16_t)(stamp - slot_stamp(v[i])),
				                         rate);
				if (score > best) {
					best = score;
					at = i;
				}
			}
			bal = rate;
			slip = 0;
		}
		bal--;
		dnsd_rrl_verdict_t verdict = DNSD_RRL_PASS;
		if (bal < 0) {
			if (bal < floor) {
				bal = floor;
			}
			verdict = DNSD_RRL_DROP;
			if (c->slip > 0 && ++slip >= c->slip) {
				slip = 0;
				verdict = DNSD_RRL_SLIP;
			}
		}
		uint64_t nv = slot_pack(tag, stamp, slip, (int32_t)bal);
		if (atomic_compare_exchange_weak_explicit(&g[at], &v[at], nv, memory_order_relaxed,
		                                          memory_order_relaxed)) {
			return verdict;
		}
	}
	return DNSD_RRL_PASS;
}

uint64_t dnsd_rrl_keys(const dnsd_rrl_t *t)
{
	uint32_t window = atomic_load_explicit(&t->window, memory_order_relaxed);
	if (window == 0) {
		return 0;
	}
	uint16_t stamp = (uint16_t)dnsd_rrl_now(t);
	size_t n = ((size_t)t->group_mask + 1) * DNSD_RRL_WAYS;
	uint64_t keys = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
		if (slot_tag(v) != 0 && (uint16_t)(stamp - slot_stamp(v)) < window) {
			keys++;
		}
	}
	return keys;
}
