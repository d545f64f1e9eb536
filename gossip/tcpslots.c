/* The accepted push/pull streams' table, as pure logic (gossip/tcpslots_int.h). */
#include "gossip/tcpslots_int.h"
#include "gossip/gossip_int.h"

#include <netinet/in.h>
#include <string.h>

/* The oldest unauthenticated stream, of `key` (NULL: any) and of strangers only; n: none. */
static size_t oldest_unauthed(const gsp_slot_t *v, size_t n, const uint8_t *key, bool strangers)
{
	size_t best = n;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].used || v[i].authed) {
			continue;
		}
		if (key != NULL && memcmp(v[i].key, key, GSP_SLOT_KEY_LEN) != 0) {
			continue;
		}
		if (strangers && v[i].known) {
			continue;
		}
		if (best == n || v[i].seq < v[best].seq) {
			best = i;
		}
	}
	return best;
}

static gsp_slot_verdict_t evict_or_refuse(size_t victim, size_t n, size_t *idx)
{
	if (victim == n) {
		return GSP_SLOT_REFUSE;
	}
	*idx = victim;
	return GSP_SLOT_EVICT;
}

gsp_slot_verdict_t gsp_slot_admit(const gsp_slot_t *v, size_t n, size_t reserved, size_t per_addr,
                                  const uint8_t key[GSP_SLOT_KEY_LEN], bool known, size_t *idx)
{
	size_t strangers = 0, same = 0, free_ix = n;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].used) {
			free_ix = free_ix == n ? i : free_ix;
			continue;
		}
		strangers += !v[i].known;
		same += memcmp(v[i].key, key, GSP_SLOT_KEY_LEN) == 0;
	}
	if (n == 0) {
		return GSP_SLOT_REFUSE;
	}
	/* One source over its share: it gives up its own oldest pending stream. */
	if (per_addr > 0 && same >= per_addr) {
		return evict_or_refuse(oldest_unauthed(v, n, key, false), n, idx);
	}
	size_t stranger_cap = reserved < n ? n - reserved : 0;
	if (free_ix < n && (known || strangers < stranger_cap)) {
		*idx = free_ix;
		return GSP_SLOT_TAKE;
	}
	/* Full (for this newcomer): strangers make room first. */
	size_t victim = oldest_unauthed(v, n, NULL, true);
	if (victim == n && known) {
		victim = oldest_unauthed(v, n, NULL, false);
	}
	return evict_or_refuse(victim, n, idx);
}

void gsp_slot_key(const gsp_addr_t *a, bool known, uint8_t key[GSP_SLOT_KEY_LEN])
{
	memset(key, 0, GSP_SLOT_KEY_LEN);
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
		key[10] = 0xff;
		key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		return;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
		memcpy(key, &s6->sin6_addr, 16);
		if (!known && !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memset(key + 8, 0, 8); /* a stranger counts by its /64 */
		}
		return;
	}
	key[0] = 0xff; /* no address: one shared key */
}

bool gsp_addr_same_host(const gsp_addr_t *a, const gsp_addr_t *b)
{
	if ((a->ss.ss_family != AF_INET && a->ss.ss_family != AF_INET6) ||
	    (b->ss.ss_family != AF_INET && b->ss.ss_family != AF_INET6)) {
		return false;
	}
	uint8_t x[GSP_SLOT_KEY_LEN], y[GSP_SLOT_KEY_LEN];
	gsp_slot_key(a, true, x);
	gsp_slot_key(b, true, y);
	return memcmp(x, y, sizeof(x)) == 0;
}

bool gsp_peer_known(const gsp_t *g, const gsp_addr_t *a)
{
	for (size_t i = 0; i < g->cfg.n_seeds; i++) {
		if (gsp_addr_same_host(&g->seeds[i], a)) {
			return true;
		}
	}
	for (size_t i = 0; i < g->n_members; i++) {
		const member_t *m = g->members[i];
		if (m != g->me && gsp_addr_same_host(&m->pub.addr, a)) {
			return true;
		}
	}
	return false;
}
