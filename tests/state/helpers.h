/*
 * Helpers shared by the state/ tests: a scratch directory under /tmp made
 * with mkdtemp() and removed with everything in it, and an injected clock.
 */
#pragma once

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *tmpdir_new(void)
{
	char tmpl[] = "/tmp/aya-state-XXXXXX";
	char *d = mkdtemp(tmpl);
	return d != NULL ? strdup(d) : NULL;
}

static inline int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void tmpdir_free(char *dir)
{
	if (dir != NULL) {
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(dir);
	}
}

/* Test clock: unix ms in *(uint64_t *)ctx. */
static inline uint64_t fake_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

/* "<dir>/<name>" in a static buffer (one at a time). */
static inline const char *in_dir(const char *dir, const char *name)
{
	static char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		abort();
	}
	return buf;
}
