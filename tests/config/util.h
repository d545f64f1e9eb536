/*
 * Helpers for the config tests: a scratch directory per test with files
 * written into it, and a loader wrapper that keeps the diagnostics.
 */
#pragma once

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

typedef struct scratch {
	char dir[PATH_MAX];
} scratch_t;

static inline void scratch_init(scratch_t *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/aya-cfg-test.XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		fail_msg("mkdtemp: %s", strerror(errno));
	}
}

/* Write `text` to dir/rel, creating one level of parent directories. */
static inline void scratch_write(const scratch_t *s, const char *rel, const char *text)
{
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
	for (char *p = path + strlen(s->dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fail_msg("fopen %s: %s", path, strerror(errno));
	}
	fputs(text, f);
	fclose(f);
}

static inline void scratch_path(const scratch_t *s, const char *rel, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", s->dir, rel);
}

/* rm -r of the scratch directory, bounded to the tree we made. */
static inline void scratch_fini(scratch_t *s)
{
	char cmd[PATH_MAX + 16];
	if (strncmp(s->dir, "/tmp/aya-cfg-test.", 18) != 0) {
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", s->dir);
	}
}

/* Load dir/rel; returns cfg_load()'s code, *cfg and the diagnostics. */
static inline int scratch_load(const scratch_t *s, const char *rel, cfg_t **cfg, cfg_diag_t *d)
{
	char path[PATH_MAX + 256];
	scratch_path(s, rel, path, sizeof(path));
	return cfg_load(path, cfg, d);
}

/* A minimal valid zone for svc.example.com. */
#define GOOD_ZONE                                                                                  \
	"$TTL 300\n"                                                                               \
	"@ IN SOA ns1 hostmaster 7 3600 600 86400 60\n"                                            \
	"  IN NS ns1\n"                                                                            \
	"ns1 IN A 192.0.2.53\n"                                                                    \
	"api IN A 192.0.2.80\n"
