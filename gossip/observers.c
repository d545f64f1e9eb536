/*
 * Observers of an endpoint: which K members probe it.
 * Rendezvous (highest random weight) hashing: each live member scores
 * hash(member name, endpoint key) and the highest scores win, so every node
 * with the same member list computes the same set, and a membership change
 * moves only the endpoints whose set contained the member that changed.
 * The set takes the best of the endpoint's own region (short RTT, the view
 * that matters for its clients) but keeps at least one seat for another
 * region, so that no single region's network decides alone.
 */
#include "gossip/gossip_int.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over name, a separator and key, then a 64-bit finalizer (splitmix64). */
static uint64_t score(const char *name, const char *key)
{
	uint64_t h = aya_fnv1a_str(AYA_FNV_OFFSET, name);
	return aya_mix64(aya_fnv1a_str(aya_fnv1a_byte(h, 0xff), key));
}

typedef struct cand {
	uint64_t score;
	size_t idx;
	bool same;
} cand_t;

static int by_score(const void *a, const void *b)
{
	const cand_t *x = a, *y = b;
	if (x->score != y->score) {
		return x->score < y->score ? 1 : -1;
	}
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

size_t gsp_observers(const gsp_member_t *members, size_t n, const char *endpoint_key,
                     const char *endpoint_region, size_t k, size_t *out)
{
	if (members == NULL || n == 0 || k == 0 || out == NULL) {
		return 0;
	}
	cand_t *c = calloc(n, sizeof(*c));
	if (c == NULL) {
		return 0;
	}
	size_t nc = 0, n_same = 0;
	for (size_t i = 0; i < n; i++) {
		if (members[i].state > GSP_ST_SUSPECT || members[i].name == NULL) {
			continue;
		}
		bool same = members[i].region != NULL &&
		            strcmp(members[i].region, endpoint_region) == 0;
		c[nc++] = (cand_t){
		        .score = score(members[i].name, endpoint_key), .idx = i, .same = same};
		n_same += same;
	}
	qsort(c, nc, sizeof(*c), by_score);
	size_t n_other = nc - n_same;
	/* Seats for the own region: all but one when another region exists. */
	size_t want_same = n_other > 0 && k > 1 ? k - 1 : k;
	if (want_same > n_same) {
		want_same = n_same;
	}
	size_t want_other = k - want_same < n_other ? k - want_same : n_other;
	size_t got = 0;
	for (size_t i = 0; i < nc && got < want_same; i++) {
		if (c[i].same) {
			out[got++] = c[i].idx;
		}
	}
	for (size_t i = 0, o = 0; i < nc && o < want_other; i++) {
		if (!c[i].same) {
			out[got++] = c[i].idx;
			o++;
		}
	}
	free(c);
	return got;
}
