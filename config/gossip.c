/*
 * gossip:. The schema rows are in schema.c; here the custom items
 * (bind, seeds), the keyring file and the checks across keys:
 *   - a keyring is required unless insecure: true, and not both;
 *   - insecure: true only with a loopback bind address (a demo on one host);
 *   - probe_timeout <= probe_interval.
 * Keyring file: one base64 AES-256 key (32 bytes) a line, the first is the
 * primary; blank lines and lines starting with '#' are skipped. Errors cite
 * the keyring file's own line ("keys.txt:3:1: error: ...").
 */
#include "config/config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define GOSSIP_PORT 7946
#define KEY_LEN 32
#define MAX_KEYS 16

CFG_FN(cfg_fn_gossip_bind)
{
	(void)it;
	cfg_gossip_t *gs = base;
	const char *s = cfg_y_scalar(ld, val, "gossip.bind");
	if (s != NULL && cfg_parse_sockaddr(s, GOSSIP_PORT, &gs->bind) != 0) {
		cfg_y_err(ld, val, "gossip.bind: bad address or port '%s'", s);
	}
}

CFG_FN(cfg_fn_gossip_seeds)
{
	(void)it;
	cfg_gossip_t *gs = base;
	long n = 0;
	cfg_sockaddr_t *out = cfg_y_seq_alloc(ld, val, "gossip.seeds", sizeof(*out), &n);
	if (out == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		const char *s = item != NULL ? cfg_y_scalar(ld, item, "gossip.seeds") : NULL;
		if (s == NULL) {
			continue;
		}
		if (cfg_parse_sockaddr(s, GOSSIP_PORT, &out[k]) != 0) {
			cfg_y_err(ld, item, "gossip.seeds: bad address or port '%s'", s);
			continue;
		}
		k++;
	}
	gs->seeds = out;
	gs->n_seeds = k;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	return c == '+' ? 62 : (c == '/' ? 63 : -1);
}

/* Strict RFC 4648 base64 (padding required). Returns the length or -1. */
static long b64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	if (len == 0 || len % 4 != 0) {
		return -1;
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		size_t pad = 0;
		for (size_t j = 0; j < 4; j++) {
			char c = s[i + j];
			if (c == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[j] = b64val((unsigned char)c)) < 0) {
				return -1;
			}
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
		for (size_t j = 0; j < 3 - pad; j++) {
			if (n == cap) {
				return -1;
			}
			out[n++] = b[j];
		}
	}
	return (long)n;
}

/* Read the keyring file; errors cite its lines, or `at` when it cannot be read. */
static void load_keyring(loader_t *ld, cfg_gossip_t *gs, cfg_loc_t at)
{
	FILE *f = fopen(gs->keyring, "r");
	if (f == NULL) {
		cfg_y_err_at(ld, at, "gossip.keyring: cannot open '%s': %s", gs->keyring,
		             strerror(errno));
		return;
	}
	uint8_t(*keys)[KEY_LEN] = cfg_alloc(ld, MAX_KEYS * KEY_LEN);
	char line[512];
	unsigned lineno = 0;
	size_t n = 0;
	bool bad = false;
	while (keys != NULL && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		cfg_loc_t loc = {.file = gs->keyring, .line = lineno, .col = 1};
		size_t len = strcspn(line, "\r\n");
		line[len] = '\0';
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) {
			line[--len] = '\0';
		}
		if (len == 0 || line[0] == '#') {
			continue;
		}
		uint8_t buf[64];
		long k = b64_decode(line, len, buf, sizeof(buf));
		if (k < 0) {
			cfg_y_err_at(ld, loc, "bad base64 key");
			bad = true;
		} else if (k != KEY_LEN) {
			cfg_y_err_at(ld, loc, "key is %ld bytes, AES-256 needs %d", k, KEY_LEN);
			bad = true;
		} else if (n == MAX_KEYS) {
			cfg_y_err_at(ld, loc, "more than %d keys", MAX_KEYS);
			bad = true;
		} else {
			memcpy(keys[n++], buf, KEY_LEN);
		}
	}
	fclose(f);
	if (n == 0 && !bad) {
		cfg_y_err_at(ld, at, "gossip.keyring: '%s' holds no key", gs->keyring);
	}
	gs->keys = (const uint8_t(*)[KEY_LEN])keys;
	gs->n_keys = n;
}

static bool is_loopback(const cfg_sockaddr_t *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
	return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

CFG_FN(cfg_fn_gossip)
{
	(void)it;
	cfg_t *cfg = base;
	cfg_gossip_t *gs = &cfg->gossip;
	if (val == NULL || cfg_y_is_null(val)) {
		return; /* single node */
	}
	gs->loc = cfg_y_loc(ld, val);
	if (!cfg_parse_map(ld, val, &cfg_sec_gossip, gs)) {
		return;
	}
	gs->enabled = true;
	yaml_node_t *kn = cfg_y_map_get(ld, val, "keyring");
	yaml_node_t *in = cfg_y_map_get(ld, val, "insecure");
	if (gs->keyring != NULL && gs->insecure) {
		cfg_y_err(ld, in, "gossip: insecure: true and a keyring exclude each other");
	} else if (gs->keyring == NULL && !gs->insecure) {
		cfg_y_err_at(
		        ld, gs->loc,
		        "gossip: keyring is required (insecure: true only for loopback demos)");
	} else if (gs->keyring != NULL) {
		load_keyring(ld, gs, cfg_y_loc(ld, kn));
	} else if (gs->bind.len > 0 && !is_loopback(&gs->bind)) {
		cfg_y_err(ld, in, "gossip: insecure: true needs a loopback bind address, not %s",
		          gs->bind.text);
	}
	if (gs->probe_timeout_ms > gs->probe_interval_ms) {
		cfg_y_err_at(ld, gs->loc,
		             "gossip: probe_timeout (%ums) exceeds probe_interval (%ums)",
		             gs->probe_timeout_ms, gs->probe_interval_ms);
	}
}

static bool same_addr(const cfg_sockaddr_t *a, const cfg_sockaddr_t *b)
{
	return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

static bool same_seeds(const cfg_gossip_t *a, const cfg_gossip_t *b)
{
	if (a->n_seeds != b->n_seeds) {
		return false;
	}
	for (size_t i = 0; i < a->n_seeds; i++) {
		if (!same_addr(&a->seeds[i], &b->seeds[i])) {
			return false;
		}
	}
	return true;
}

static bool same_keys(const cfg_gossip_t *a, const cfg_gossip_t *b)
{
	return a->n_keys == b->n_keys &&
	       (a->n_keys == 0 || memcmp(a->keys, b->keys, a->n_keys * KEY_LEN) == 0);
}

size_t cfg_gossip_diff(const cfg_gossip_t *a, const cfg_gossip_t *b, const char **keys, size_t cap)
{
	const struct {
		const char *name;
		bool same;
	} rows[] = {
	        {"bind", same_addr(&a->bind, &b->bind)},
	        {"seeds", same_seeds(a, b)},
	        {"keyring", same_keys(a, b)},
	        {"insecure", a->insecure == b->insecure},
	        {"probe_interval", a->probe_interval_ms == b->probe_interval_ms},
	        {"probe_timeout", a->probe_timeout_ms == b->probe_timeout_ms},
	        {"indirect_checks", a->indirect_checks == b->indirect_checks},
	        {"suspicion_mult", a->suspicion_mult == b->suspicion_mult},
	        {"suspicion_max_mult", a->suspicion_max_mult == b->suspicion_max_mult},
	        {"retransmit_mult", a->retransmit_mult == b->retransmit_mult},
	        {"gossip_interval", a->gossip_interval_ms == b->gossip_interval_ms},
	        {"gossip_fanout", a->gossip_fanout == b->gossip_fanout},
	        {"pushpull_interval", a->pushpull_interval_ms == b->pushpull_interval_ms},
	        {"reap", a->reap_ms == b->reap_ms},
	        {"mtu", a->mtu == b->mtu},
	};
	size_t n = 0;
	if (a->enabled != b->enabled) {
		if (cap > 0) {
			keys[0] = "gossip";
		}
		return 1;
	}
	if (!a->enabled) {
		return 0;
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!rows[i].same) {
			if (n < cap) {
				keys[n] = rows[i].name;
			}
			n++;
		}
	}
	return n;
}
