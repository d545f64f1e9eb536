/* Helpers of the fuzz targets: see util.h. */
#include "tests/fuzz/util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static char scratch[256];
static state_t *store;
static uint64_t store_gen;
static unsigned store_changes;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void scratch_rm(void)
{
	state_close(store);
	store = NULL;
	if (scratch[0] != '\0') {
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
}

const char *fuzz_scratch(void)
{
	if (scratch[0] == '\0') {
		struct stat sb;
		const char *base =
		        stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
		snprintf(scratch, sizeof(scratch), "%s/aya-fuzz-XXXXXX", base);
		if (mkdtemp(scratch) == NULL) {
			abort();
		}
		atexit(scratch_rm);
		/* Loaders and stores report a bad input at warning: not news here. */
		aya_log_set_level(AYA_LOG_ERR);
	}
	return scratch;
}

const char *fuzz_scratch_write(const char *name, const void *data, size_t len)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", fuzz_scratch(), name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len) {
		abort();
	}
	fclose(f);
	return path;
}

static uint64_t fixed_clock(void *ctx)
{
	(void)ctx;
	return FUZZ_NOW_MS;
}

static void store_open(void)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/state", fuzz_scratch());
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	state_opts_t o = {.map_size = 4u << 20, .node = "fz-0", .clock_ms = fixed_clock};
	state_obs_t obs = {.observer = "fz-1",
	                   .endpoint = "192.0.2.10:80/http",
	                   .status = STATE_ST_UP,
	                   .rise = 3,
	                   .rtt_us = 1500,
	                   .capacity = 100,
	                   .utilization = 0.25,
	                   .observed_at_ms = FUZZ_NOW_MS - 1000,
	                   .version = FUZZ_NOW_MS - 1000,
	                   .since_ms = FUZZ_NOW_MS - 60000,
	                   .error = ""};
	if (state_open(dir, &o, &store) != 0 || state_obs_merge(store, &obs) != 1 ||
	    state_drain_set(store, "www", "eu-west", true, "fuzz") != 1 ||
	    state_cost_set(store, "eu-west", 2.5) != 1) {
		abort();
	}
	state_stats_t s;
	state_stats_get(store, &s);
	store_gen = s.generation;
}

void fuzz_store_reset(void)
{
	if (store != NULL) {
		state_close(store);
		store = NULL;
	}
	store_changes = 0;
	store_open();
}

state_t *fuzz_store(void)
{
	if (store == NULL) {
		store_open();
	}
	return store;
}

void fuzz_store_reset_if_changed(void)
{
	state_stats_t s;
	state_stats_get(fuzz_store(), &s);
	if (s.generation != store_gen && ++store_changes >= FUZZ_STORE_RESET_EVERY) {
		fuzz_store_reset();
	}
}
