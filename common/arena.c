/*
 * Arena: a list of chunks, bump allocation inside the newest one. Requests
 * larger than a quarter chunk get a chunk of their own so that the tail of
 * the current chunk is not wasted.
 */
#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE (64 * 1024)
#define ALIGN (alignof(max_align_t))

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct aya_arena {
	struct chunk *head;
	size_t used;
};

aya_arena_t *aya_arena_new(void)
{
	return calloc(1, sizeof(aya_arena_t));
}

void aya_arena_free(aya_arena_t *a)
{
	if (a == NULL) {
		return;
	}
	struct chunk *c = a->head;
	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = malloc(sizeof(*c) + size);
	if (c == NULL) {
		return NULL;
	}
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void *aya_arena_alloc(aya_arena_t *a, size_t size)
{
	if (size == 0) {
		size = 1;
	}
	if (size > SIZE_MAX - ALIGN) {
		return NULL;
	}
	size_t rounded = (size + ALIGN - 1) & ~(ALIGN - 1);
	struct chunk *c = a->head;
	if (c == NULL || c->size - c->used < rounded) {
		if (rounded > CHUNK_SIZE / 4) {
			/* Own chunk, linked behind the current one. */
			struct chunk *big = chunk_new(rounded);
			if (big == NULL) {
				return NULL;
			}
			big->used = rounded;
			if (c != NULL) {
				big->next = c->next;
				c->next = big;
			} else {
				a->head = big;
			}
			a->used += rounded;
			memset(big->data, 0, rounded);
			return big->data;
		}
		c = chunk_new(CHUNK_SIZE);
		if (c == NULL) {
			return NULL;
		}
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += rounded;
	a->used += rounded;
	memset(p, 0, rounded);
	return p;
}

void *aya_arena_memdup(aya_arena_t *a, const void *p, size_t size)
{
	void *q = aya_arena_alloc(a, size);
	if (q != NULL && size > 0) {
		memcpy(q, p, size);
	}
	return q;
}

char *aya_arena_strdup(aya_arena_t *a, const char *s)
{
	return aya_arena_memdup(a, s, strlen(s) + 1);
}

size_t aya_arena_used(const aya_arena_t *a)
{
	return a->used;
}
