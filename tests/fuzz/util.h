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
 * The store of <scratch>/state, made with one observation of node fz-1, a
 * drain of www in eu-west and a cost of eu-west. Reopening it from scratch
 * costs ~20 ms (LMDB, synced writes), so fuzz_store_reset_if_changed() does
 * it only every FUZZ_STORE_RESET_EVERY inputs that changed it: an input may
 * meet records of earlier ones (a crash found so is replayed alone against
 * the fresh store; the checks of the targets hold whatever the store holds).
 * fuzz_store_reset(): from scratch now.
 */
#define FUZZ_STORE_RESET_EVERY 256
state_t *fuzz_store(void);
void fuzz_store_reset(void);
void fuzz_store_reset_if_changed(void);
