/*
 * Fuzz target: state records, the units gossip broadcasts and LMDB stores
 * (state/codec.c, state/wire.c, state/cost.c). Every input goes through
 *   - the store's key and value decoders (what state_open() and the lists
 *     read back from the file), each decoded value re-encoded and decoded
 *     again: the second decode must succeed and give the same bytes;
 *   - state_rec_merge(), as a record heard from a peer (observation,
 *     override, cost, compact drain), against the same small store every
 *     time (tests/fuzz/util.c); merging it twice must not change the store
 *     the second time.
 */
#include "tests/fuzz/fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "state/state_int.h"
#include "tests/fuzz/util.h"

static void check_obs(const uint8_t *in, size_t len)
{
	char observer[STATE_NODE_MAX + 1], endpoint[STATE_NAME_MAX + 1];
	char error[STATE_ERROR_MAX + 1], error2[STATE_ERROR_MAX + 1];
	uint8_t a[OBS_VALUE_MAX], b[OBS_VALUE_MAX], k[OBS_KEY_MAX];
	state_obs_t o, o2;
	if (state_obs_key_decode(in, len, observer, endpoint) == 0) {
		/* Keys are exact: the encoding of what was decoded is the input. */
		size_t n = state_obs_key_encode(k, observer, endpoint);
		if (n != len || memcmp(k, in, len) != 0) {
			abort();
		}
	}
	if (state_obs_value_decode(in, len, &o) == 0 && o.error != NULL) {
		abort();
	}
	if (state_obs_value_decode_ext(in, len, &o, error) != 0) {
		return;
	}
	size_t n = state_obs_value_encode(a, &o);
	if (n > sizeof(a) || state_obs_value_decode_ext(a, n, &o2, error2) != 0 ||
	    state_obs_value_encode(b, &o2) != n || memcmp(a, b, n) != 0 ||
	    strcmp(o.error, o2.error) != 0) {
		abort();
	}
}

static void check_ovr(const uint8_t *in, size_t len)
{
	char service[STATE_NAME_MAX + 1], target[STATE_NAME_MAX + 1];
	char origin[STATE_NODE_MAX + 1], note[STATE_NOTE_MAX + 1];
	char origin2[STATE_NODE_MAX + 1], note2[STATE_NOTE_MAX + 1];
	uint8_t a[OVR_KEY_MAX + OVR_VALUE_MIN + STATE_NODE_MAX + STATE_NOTE_MAX];
	uint8_t kind;
	state_target_kind_t tk;
	state_drain_t d, d2;
	if (state_ovr_key_decode(in, len, &kind, service, &tk, target) == 0) {
		size_t n = state_ovr_key_encode(a, kind, service, tk, target);
		if (n != len || memcmp(a, in, len) != 0) {
			abort();
		}
	}
	if (state_ovr_value_decode(in, len, &d, origin, note) != 0) {
		return;
	}
	size_t n = state_ovr_value_encode(a, &d);
	if (n > sizeof(a) || state_ovr_value_decode(a, n, &d2, origin2, note2) != 0 ||
	    d2.version != d.version || d2.since_s != d.since_s || d2.drained != d.drained ||
	    strcmp(origin, origin2) != 0 || strcmp(note, note2) != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	state_t *st = fuzz_store();
	uint8_t *buf = malloc(size > 0 ? size : 1);
	if (buf == NULL) {
		abort();
	}
	memcpy(buf, data, size);
	check_obs(buf, size);
	check_ovr(buf, size);
	state_rec_kind_t kind;
	int rc = state_rec_merge(st, buf, size, &kind);
	if (rc == 1 && state_rec_merge(st, buf, size, NULL) != 0) {
		abort(); /* the same record again is old news */
	}
	free(buf);
	fuzz_store_reset_if_changed();
	return 0;
}

static bool seed_obs(const char *dir, const char *name, const state_obs_t *o)
{
	uint8_t rec[STATE_REC_MAX];
	int n = state_obs_pack(o, rec, sizeof(rec));
	return n > 0 && fuzz_seed(dir, name, rec, (size_t)n);
}

static bool seed_drain(const char *dir, const char *name, const state_drain_t *d)
{
	uint8_t rec[STATE_REC_MAX];
	int n = state_drain_pack(d, rec, sizeof(rec));
	return n > 0 && fuzz_seed(dir, name, rec, (size_t)n);
}

struct seed_walk {
	const char *dir;
	unsigned n;
};

static int seed_ovr(const state_drain_t *d, const uint8_t *rec, size_t len, void *ctx)
{
	(void)d;
	struct seed_walk *w = ctx;
	char name[32];
	snprintf(name, sizeof(name), "ovr-%u", w->n++);
	return fuzz_seed(w->dir, name, rec, len) ? 0 : -1;
}

static int seed_cost(const state_cost_t *c, const uint8_t *rec, size_t len, void *ctx)
{
	(void)c;
	struct seed_walk *w = ctx;
	char name[32];
	snprintf(name, sizeof(name), "cost-%u", w->n++);
	return fuzz_seed(w->dir, name, rec, len) ? 0 : -1;
}

/* Seeds: records as the store and gossip make them, and the store's raw keys and values. */
int fuzz_write_seeds(const char *dir)
{
	state_obs_t up = {.observer = "fz-1",
	                  .endpoint = "192.0.2.10:80/http",
	                  .status = STATE_ST_UP,
	                  .rise = 4,
	                  .rtt_us = 900,
	                  .capacity = 100,
	                  .utilization = 0.5,
	                  .observed_at_ms = FUZZ_NOW_MS + 1000,
	                  .version = FUZZ_NOW_MS + 1000};
	state_obs_t down = {.observer = "fz-2",
	                    .endpoint = "[2001:db8::10]:443/https",
	                    .status = STATE_ST_DOWN,
	                    .fall = 3,
	                    .utilization = NAN,
	                    .observed_at_ms = FUZZ_NOW_MS,
	                    .version = FUZZ_NOW_MS,
	                    .since_ms = FUZZ_NOW_MS - 3000,
	                    .up_since_ms = 0,
	                    .error = "HTTP 503"};
	state_drain_t svc = {.service = "www",
	                     .kind = STATE_TARGET_SERVICE,
	                     .drained = true,
	                     .since_s = (int64_t)(FUZZ_NOW_MS / 1000),
	                     .version = FUZZ_NOW_MS + 5,
	                     .origin = "fz-1",
	                     .note = "maintenance"};
	state_drain_t addr = {.service = "www",
	                      .target = "192.0.2.11",
	                      .kind = STATE_TARGET_ADDRESS,
	                      .drained = false,
	                      .since_s = (int64_t)(FUZZ_NOW_MS / 1000) - 2,
	                      .version = FUZZ_NOW_MS + 6,
	                      .origin = "fz-2"};
	bool ok = seed_obs(dir, "obs-up", &up) && seed_obs(dir, "obs-down-error", &down) &&
	          seed_drain(dir, "drain-compact-service", &svc) &&
	          seed_drain(dir, "undrain-compact-address", &addr);
	/* The store's own override records (framed drains and costs). */
	state_t *st = fuzz_store();
	struct seed_walk w = {.dir = dir};
	ok = ok && state_drain_set(st, "api", "us-east", true, "seed") == 1 &&
	     state_cost_set(st, "us-east", 7.5) == 1 && state_cost_reset(st, "eu-west") == 1 &&
	     state_ovr_foreach(st, seed_ovr, &w) == 0 && state_cost_foreach(st, seed_cost, &w) == 0;
	fuzz_store_reset();
	/* Raw store values (what LMDB holds): an observation value and an override key. */
	uint8_t v[OBS_VALUE_MAX], k[OVR_KEY_MAX];
	size_t n = state_obs_value_encode(v, &down);
	ok = ok && fuzz_seed(dir, "value-obs", v, n);
	n = state_ovr_key_encode(k, OVR_KIND_DRAIN, "www", STATE_TARGET_REGION, "eu-west");
	ok = ok && fuzz_seed(dir, "key-ovr", k, n);
	n = state_obs_key_encode(k, "fz-1", "192.0.2.10:80/http");
	ok = ok && fuzz_seed(dir, "key-obs", k, n);
	/* Edge cases: unknown kind (a newer node), a bare compact drain byte, an empty frame. */
	static const uint8_t newer[] = {9, 0, 1, 'k', 0, 1, 'v'}, bare[] = {0x11},
	                     frame0[] = {1, 0, 0, 0, 0};
	ok = ok && fuzz_seed(dir, "kind-newer", newer, sizeof(newer)) &&
	     fuzz_seed(dir, "drain-bare", bare, sizeof(bare)) &&
	     fuzz_seed(dir, "frame-empty", frame0, sizeof(frame0));
	return ok ? 0 : -1;
}
