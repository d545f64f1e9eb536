/*
 * Config hash for drift detection (see confhash.h). The YAML is filtered by
 * lines: a top-level key (a line starting in column 1 with "key:") opens a
 * section; sections named in node_keys are skipped up to the next top-level
 * key. Comments and blank lines never count, so reformatting comments does
 * not show as drift.
 */
#include "daemon/confhash.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define MAX_CONFIG (4u << 20)

static const char *const node_keys[] = {"node", "dns", "control", "state_dir", "log", "gossip"};

static uint64_t fnv(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	}
	return h;
}

/* For a line starting in column 1: is it "KEY:" with KEY one of node_keys? */
static bool is_node_section(const char *line, size_t len)
{
	for (size_t i = 0; i < sizeof(node_keys) / sizeof(node_keys[0]); i++) {
		size_t k = strlen(node_keys[i]);
		if (len > k && memcmp(line, node_keys[i], k) == 0 && line[k] == ':') {
			return true;
		}
	}
	return false;
}

uint64_t ayad_confhash_text(uint64_t h, const char *text, size_t len)
{
	bool skip = false;
	size_t pos = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		size_t ws = 0;
		while (ws < n && (line[ws] == ' ' || line[ws] == '\t' || line[ws] == '\r')) {
			ws++;
		}
		if (ws == n || line[ws] == '#') {
			continue; /* blank or comment */
		}
		if (ws == 0 && line[0] != '-') {
			skip = is_node_section(line, n);
		}
		if (!skip) {
			h = fnv(h, line, n);
			h = fnv(h, "\n", 1);
		}
	}
	return h;
}

static uint64_t hash_file(uint64_t h, const char *path, bool yaml)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return fnv(h, path, strlen(path));
	}
	char *buf = malloc(MAX_CONFIG);
	if (buf == NULL) {
		close(fd);
		return fnv(h, path, strlen(path));
	}
	size_t len = 0;
	ssize_t r;
	while (len < MAX_CONFIG && (r = read(fd, buf + len, MAX_CONFIG - len)) > 0) {
		len += (size_t)r;
	}
	close(fd);
	h = yaml ? ayad_confhash_text(h, buf, len) : fnv(h, buf, len);
	free(buf);
	return h;
}

uint64_t ayad_config_hash(const cfg_t *cfg)
{
	uint64_t h = hash_file(FNV_OFFSET, cfg->path, true);
	for (size_t i = 0; i < cfg->n_zones; i++) {
		h = hash_file(h, cfg->zones[i].file, false);
	}
	return h;
}
