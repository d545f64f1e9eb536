/*
 * Helpers of the fuzz targets (tests/fuzz/util.c): a scratch directory on
 * tmpfs when there is one (removed at exit), and a small state store that
 * every input starts from.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "state/state.h"

/* The process's scratch directory (made on first use, removed at exit); aborts on failure. */
const char *fuzz_scratch(void);
/* Write len bytes to <scratch>/name; returns the path (a static buffer, one at a time). */
const char *fuzz_scratch_write(const char *name, const void *data, size_t len);

/* The unix ms every store record and clock of the targets uses. */
#define FUZZ_NOW_MS 1700000000000ull

/*
 * The store of <scratch>/state, as every input must find it: one
 * observation of node fz-1, a drain of www in eu-west and a cost of
 * eu-west. fuzz_store_reset() after an input that changed it (generation
 * moved) reopens it from scratch, so inputs replay the same.
 */
state_t *fuzz_store(void);
void fuzz_store_reset_if_changed(void);
