/*
 * Replay corpora through a fuzz target without libFuzzer (model: Knot
 * tests-fuzz/main.c): every regular file in the directories (or files)
 * given is passed to LLVMFuzzerTestOneInput once. `make test` runs it with
 * the regular compiler, so crashes found by scripts/fuzz.sh stay fixed.
 * `--write-seeds DIR` writes the target's seed corpus instead
 * (fuzz_write_seeds()).
 */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX (1 << 20)

static int run_file(const char *path, uint8_t *buf)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: cannot open\n", path);
		return -1;
	}
	size_t n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int run_path(const char *path, uint8_t *buf, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path, buf);
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char full[4096];
		if (e->d_name[0] == '.') {
			continue;
		}
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			rc |= run_file(full, buf);
		}
	}
	closedir(d);
	return rc;
}

/* Targets without a seed writer: their corpus is made otherwise. */
__attribute__((weak)) int fuzz_write_seeds(const char *dir)
{
	fprintf(stderr, "replay: no seed writer for this target (%s)\n", dir);
	return -1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
		return fuzz_write_seeds(argv[2]) == 0 ? 0 : 1;
	}
	uint8_t *buf = malloc(REPLAY_MAX);
	unsigned count = 0;
	int rc = 0;
	if (buf == NULL || argc < 2) {
		fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
		free(buf);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		rc |= run_path(argv[i], buf, &count);
	}
	free(buf);
	printf("replay: %u inputs, %s\n", count, rc == 0 ? "ok" : "errors");
	return rc == 0 ? 0 : 1;
}
