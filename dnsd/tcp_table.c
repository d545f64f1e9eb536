/*
 * The DNS TCP connection table: clients by prefix, idle and busy lists,
 * eviction of the connection idle the longest (see tcp_int.h).
 *
 * Counting a client's connections walks one hash chain, which holds that
 * client's connections (at most max_client) and whatever else shares the
 * bucket: the bucket count is the power of two at or above max_total
 * (capped), so on average one other. Eviction is the head of the idle
 * list: O(1).
 */
#include "dnsd/tcp_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/hash.h"

#define MIN_BUCKETS 64
#define MAX_BUCKETS (1u << 16)

void dnsd_tcp_key(const struct sockaddr *sa, unsigned v4_bits, unsigned v6_bits,
                  dnsd_tcp_key_t *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = AF_INET;
		memcpy(out->addr, &in->sin_addr, 4);
		aya_addr_mask(out->addr, 4, v4_bits < 32 ? v4_bits : 32);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *a6 = in6->sin6_addr.s6_addr;
		if (aya_addr_is_v4mapped(a6)) {
			/* The same client as over IPv4. */
			out->family = AF_INET;
			memcpy(out->addr, a6 + 12, 4);
			aya_addr_mask(out->addr, 4, v4_bits < 32 ? v4_bits : 32);
		} else {
			out->family = AF_INET6;
			memcpy(out->addr, a6, 16);
			aya_addr_mask(out->addr, 16, v6_bits < 128 ? v6_bits : 128);
		}
	}
}

bool dnsd_tcp_key_equal(const dnsd_tcp_key_t *a, const dnsd_tcp_key_t *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static size_t bucket_of(const dnsd_tcp_table_t *t, const dnsd_tcp_key_t *key)
{
	uint64_t h = aya_fnv1a(AYA_FNV_OFFSET ^ t->seed, key, sizeof(*key));
	return (size_t)(aya_mix64(h ^ t->seed) & (t->n_buckets - 1));
}

int dnsd_tcp_table_init(dnsd_tcp_table_t *t, unsigned max_total, unsigned max_client, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->max_total = max_total;
	t->max_client = max_client;
	t->seed = seed;
	size_t n = MIN_BUCKETS;
	while (n < max_total && n < MAX_BUCKETS) {
		n *= 2;
	}
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		return -ENOMEM;
	}
	t->n_buckets = n;
	return 0;
}

void dnsd_tcp_table_fini(dnsd_tcp_table_t *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = 0;
}

unsigned dnsd_tcp_table_count(const dnsd_tcp_table_t *t, const dnsd_tcp_key_t *key)
{
	unsigned n = 0;
	for (const dnsd_tcp_slot_t *s = t->buckets[bucket_of(t, key)]; s != NULL; s = s->hnext) {
		n += dnsd_tcp_key_equal(&s->key, key);
	}
	return n;
}

dnsd_tcp_verdict_t dnsd_tcp_table_admit(const dnsd_tcp_table_t *t, const dnsd_tcp_key_t *key,
                                        dnsd_tcp_slot_t **victim)
{
	*victim = NULL;
	if (t->max_client > 0 && dnsd_tcp_table_count(t, key) >= t->max_client) {
		return DNSD_TCP_REFUSE_CLIENT;
	}
	if (t->max_total == 0 || t->n < t->max_total) {
		return DNSD_TCP_ADMIT;
	}
	if (t->idle_head == NULL) {
		return DNSD_TCP_REFUSE_FULL;
	}
	*victim = t->idle_head;
	return DNSD_TCP_EVICT;
}

static void list_unlink(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s)
{
	dnsd_tcp_slot_t **head = s->busy ? &t->busy_head : &t->idle_head;
	if (s->prev != NULL) {
		s->prev->next = s->next;
	} else {
		*head = s->next;
	}
	if (s->next != NULL) {
		s->next->prev = s->prev;
	} else if (!s->busy) {
		t->idle_tail = s->prev;
	}
	s->prev = s->next = NULL;
}

static void idle_append(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s, uint64_t now_ms)
{
	s->busy = false;
	s->idle_since_ms = now_ms;
	s->next = NULL;
	s->prev = t->idle_tail;
	if (t->idle_tail != NULL) {
		t->idle_tail->next = s;
	} else {
		t->idle_head = s;
	}
	t->idle_tail = s;
}

void dnsd_tcp_table_add(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s, uint64_t now_ms)
{
	size_t b = bucket_of(t, &s->key);
	s->hnext = t->buckets[b];
	t->buckets[b] = s;
	idle_append(t, s, now_ms);
	t->n++;
}

void dnsd_tcp_table_remove(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s)
{
	list_unlink(t, s);
	for (dnsd_tcp_slot_t **p = &t->buckets[bucket_of(t, &s->key)]; *p != NULL;
	     p = &(*p)->hnext) {
		if (*p == s) {
			*p = s->hnext;
			break;
		}
	}
	s->hnext = NULL;
	t->n--;
}

void dnsd_tcp_table_busy(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s)
{
	if (s->busy) {
		return;
	}
	list_unlink(t, s);
	s->busy = true;
	s->prev = NULL;
	s->next = t->busy_head;
	if (t->busy_head != NULL) {
		t->busy_head->prev = s;
	}
	t->busy_head = s;
}

void dnsd_tcp_table_idle(dnsd_tcp_table_t *t, dnsd_tcp_slot_t *s, uint64_t now_ms)
{
	if (!s->busy) {
		return;
	}
	list_unlink(t, s);
	idle_append(t, s, now_ms);
}
