/*
 * Region allocator: many small allocations freed together. A snapshot lives
 * in one arena and is freed whole after its RCU grace period (model: NSD
 * region-allocator.h). Not thread-safe: one builder thread at a time; once
 * built, the contents are read-only and may be shared.
 */
#pragma once

#include <stddef.h>

#include "common/compiler.h"

typedef struct aya_arena aya_arena_t;

/* New empty arena, or NULL when out of memory. */
aya_arena_t *aya_arena_new(void) AYA_WUR;
/* Free the arena and everything allocated from it. NULL is a no-op. */
void aya_arena_free(aya_arena_t *a);

/* Zeroed memory aligned for any type; NULL when out of memory. */
void *aya_arena_alloc(aya_arena_t *a, size_t size) AYA_NONNULL(1) AYA_WUR;
void *aya_arena_memdup(aya_arena_t *a, const void *p, size_t size) AYA_NONNULL(1) AYA_WUR;
char *aya_arena_strdup(aya_arena_t *a, const char *s) AYA_NONNULL(1, 2) AYA_WUR;
/* Bytes handed out so far (for status and tests). */
size_t aya_arena_used(const aya_arena_t *a) AYA_NONNULL(1);
