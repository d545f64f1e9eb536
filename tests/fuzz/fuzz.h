/*
 * What every fuzz target defines: the libFuzzer entry point and, optionally,
 * a writer of its seed corpus (prototypes for -Wmissing-prototypes).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Write the target's seed corpus into dir (real inputs made by the code
 * itself): `replay_<target> --write-seeds DIR`. 0 or -1. Targets without one
 * (query: tests/fuzz/gen_query_corpus.py) get replay.c's weak default.
 */
int fuzz_write_seeds(const char *dir);

/* One seed file dir/name; false when it cannot be written. */
static inline bool fuzz_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		return false;
	}
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}
