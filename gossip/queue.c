/*
 * The broadcast queue: messages waiting to be piggybacked on outgoing
 * packets. Each is sent at most `limit` times, limit = mult *
 * ceil(log10(N + 1)) (SWIM section 4.1: with that many retransmissions an
 * epidemic reaches every member with high probability). Items live in
 * buckets by transmit count; a packet takes from the lowest bucket first,
 * newest first inside a bucket, so fresh news goes out before old news and a
 * busy queue stays fair. A new item with the key of a queued one (a newer
 * state of the same member or application key) replaces it. Overflow
 * (BQ_MAX_ITEMS) drops the most transmitted item.
 */
#include "gossip/gossip_int.h"
#include "common/hash.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int gsp_bq_init(bqueue_t *q)
{
	memset(q, 0, sizeof(*q));
	q->hcap = 1024;
	q->hash = calloc(q->hcap, sizeof(*q->hash));
	return q->hash != NULL ? 0 : -ENOMEM;
}

static void item_free(bcast_t *b)
{
	if (b != NULL) {
		free(b->key);
		free(b->data);
	}
	free(b);
}

void gsp_bq_release(bqueue_t *q)
{
	for (bcast_t *b = q->retired, *nx; b != NULL; b = nx) {
		nx = b->next;
		item_free(b);
	}
	q->retired = NULL;
}

void gsp_bq_fini(bqueue_t *q)
{
	for (size_t i = 0; i < BQ_BUCKETS; i++) {
		for (bcast_t *b = q->head[i], *nx; b != NULL; b = nx) {
			nx = b->next;
			item_free(b);
		}
		q->head[i] = q->tail[i] = NULL;
	}
	gsp_bq_release(q);
	free(q->hash);
	q->hash = NULL;
	q->n = 0;
}

static void unlink_bucket(bqueue_t *q, bcast_t *b)
{
	unsigned t = b->transmits;
	if (b->prev != NULL) {
		b->prev->next = b->next;
	} else {
		q->head[t] = b->next;
	}
	if (b->next != NULL) {
		b->next->prev = b->prev;
	} else {
		q->tail[t] = b->prev;
	}
	b->prev = b->next = NULL;
}

/* Newest first: push at the head of the bucket. */
static void link_head(bqueue_t *q, bcast_t *b)
{
	unsigned t = b->transmits;
	b->prev = NULL;
	b->next = q->head[t];
	if (q->head[t] != NULL) {
		q->head[t]->prev = b;
	} else {
		q->tail[t] = b;
	}
	q->head[t] = b;
}

static void unlink_hash(bqueue_t *q, bcast_t *b)
{
	bcast_t **pp = &q->hash[aya_fnv1a_str(AYA_FNV_OFFSET, b->key) & (q->hcap - 1)];
	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == b) {
			*pp = b->hnext;
			return;
		}
	}
}

/* Take b out of the queue for good; its bytes live until gsp_bq_release(). */
static void retire(bqueue_t *q, bcast_t *b)
{
	unlink_bucket(q, b);
	unlink_hash(q, b);
	b->retired = true;
	b->next = q->retired;
	q->retired = b;
	q->n--;
}

static void drop_oldest(bqueue_t *q)
{
	for (int t = BQ_BUCKETS - 1; t >= 0; t--) {
		if (q->tail[t] != NULL) {
			retire(q, q->tail[t]);
			q->dropped++;
			return;
		}
	}
}

int gsp_bq_push(bqueue_t *q, const char *key, const uint8_t *data, size_t len)
{
	size_t h = aya_fnv1a_str(AYA_FNV_OFFSET, key) & (q->hcap - 1);
	for (bcast_t *b = q->hash[h]; b != NULL; b = b->hnext) {
		if (strcmp(b->key, key) == 0) {
			retire(q, b);
			break;
		}
	}
	bcast_t *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		return -ENOMEM;
	}
	b->key = strdup(key);
	b->data = malloc(len > 0 ? len : 1);
	if (b->key == NULL || b->data == NULL) {
		item_free(b);
		return -ENOMEM;
	}
	memcpy(b->data, data, len);
	b->len = len;
	if (q->n >= BQ_MAX_ITEMS) {
		drop_oldest(q);
	}
	link_head(q, b);
	b->hnext = q->hash[h];
	q->hash[h] = b;
	q->n++;
	return 0;
}

size_t gsp_bq_part_cost(size_t len)
{
	size_t v = 1;
	for (size_t x = len; x >= 0x80; x >>= 7) {
		v++;
	}
	return 1 + v + len;
}

size_t gsp_bq_fill(bqueue_t *q, unsigned limit, size_t *budget, ProtobufCBinaryData *parts,
                   size_t max_parts)
{
	size_t n = 0;
	/* Items moved to the next bucket during this pass are not picked twice. */
	bcast_t *picked = NULL;
	size_t scanned = 0;
	for (unsigned t = 0; t < BQ_BUCKETS && n<max_parts && * budget> 2; t++) {
		for (bcast_t *b = q->head[t], *nx; b != NULL && n < max_parts; b = nx) {
			nx = b->next;
			/* Bound the search for something small enough to fit. */
			if (++scanned > 4 * max_parts + 64) {
				goto done;
			}
			size_t cost = gsp_bq_part_cost(b->len);
			if (cost > *budget) {
				continue;
			}
			*budget -= cost;
			parts[n].data = b->data;
			parts[n].len = b->len;
			n++;
			unlink_bucket(q, b);
			b->transmits++;
			if (b->transmits >= limit || b->transmits >= BQ_BUCKETS) {
				unlink_hash(q, b);
				b->retired = true;
				b->next = q->retired;
				q->retired = b;
				q->n--;
			} else {
				b->next = picked;
				picked = b;
			}
		}
	}
done:
	/* Re-link picked items at the head of their new buckets (they stay newest). */
	for (bcast_t *b = picked, *nx; b != NULL; b = nx) {
		nx = b->next;
		link_head(q, b);
	}
	return n;
}

unsigned gsp_bq_limit(unsigned mult, size_t n)
{
	unsigned scale = (unsigned)ceil(log10((double)n + 1.0));
	unsigned limit = mult * (scale > 0 ? scale : 1);
	if (limit < 1) {
		limit = 1;
	}
	return limit < BQ_BUCKETS - 1 ? limit : BQ_BUCKETS - 1;
}
