/*
 * Fuzz target: the state blob of a push/pull exchange (u8 format | u32
 * count | records, state/wire.c) as gossip/replicate.c hands it to the
 * store: state_merge_all() of the peer's blob, and state_pack_delta() of
 * our reply against it. Every input starts from the same small store
 * (tests/fuzz/util.c). Checks: merging is idempotent (a second merge of the
 * same blob changes nothing: otherwise two nodes would never agree), and the
 * reply is a well-formed blob whose count matches its records.
 */
#include "tests/fuzz/fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "state/state_int.h"
#include "tests/fuzz/util.h"

/* Walk a blob like the decoder does: false unless count records fill it exactly. */
static bool blob_ok(const uint8_t *b, size_t len)
{
	if (len < 5 || b[0] != 1) {
		return false;
	}
	uint32_t count = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
	size_t off = 5;
	for (uint32_t i = 0; i < count; i++) {
		if (len - off < 5) {
			return false;
		}
		size_t klen = (size_t)b[off + 1] << 8 | b[off + 2];
		if (len - off < 5 + klen) {
			return false;
		}
		size_t vlen = (size_t)b[off + 3 + klen] << 8 | b[off + 4 + klen];
		if (len - off < 5 + klen + vlen) {
			return false;
		}
		off += 5 + klen + vlen;
	}
	return off == len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	state_t *st = fuzz_store();
	uint8_t *buf = malloc(size > 0 ? size : 1);
	if (buf == NULL) {
		abort();
	}
	memcpy(buf, data, size);
	size_t changed = 0, bad = 0, again = 0;
	int rc = state_merge_all(st, buf, size, &changed, &bad);
	if (rc == 0 && (state_merge_all(st, buf, size, &again, NULL) != 0 || again != 0)) {
		abort();
	}
	uint8_t *out = NULL;
	size_t len = 0;
	if (state_pack_delta(st, buf, size, &out, &len) != 0 || !blob_ok(out, len)) {
		abort();
	}
	free(out);
	free(buf);
	fuzz_store_reset_if_changed();
	return 0;
}

/* Seeds: the store's own blobs (full, and with records of a second node), and edge cases. */
int fuzz_write_seeds(const char *dir)
{
	state_t *st = fuzz_store();
	uint8_t *all = NULL;
	size_t len = 0;
	bool ok = state_pack_all(st, &all, &len) == 0 && fuzz_seed(dir, "store", all, len);
	free(all);
	state_obs_t obs = {.observer = "fz-2",
	                   .endpoint = "[2001:db8::10]:443/https",
	                   .status = STATE_ST_DOWN,
	                   .fall = 2,
	                   .utilization = NAN,
	                   .observed_at_ms = FUZZ_NOW_MS,
	                   .version = FUZZ_NOW_MS,
	                   .since_ms = FUZZ_NOW_MS - 5000,
	                   .error = "connect: connection refused"};
	ok = ok && state_obs_merge(st, &obs) == 1 &&
	     state_drain_set(st, "api", NULL, true, NULL) == 1 &&
	     state_drain_set(st, "www", "192.0.2.11", true, "maintenance") == 1 &&
	     state_drain_set(st, "www", "eu-west", false, NULL) == 1 &&
	     state_cost_reset(st, "eu-west") == 1 && state_cost_set(st, "us-east", 10) == 1;
	ok = ok && state_pack_all(st, &all, &len) == 0 && fuzz_seed(dir, "store-more", all, len);
	/* The same, cut inside its last record, and with a count larger than its records. */
	ok = ok && fuzz_seed(dir, "cut", all, len - 3);
	if (ok) {
		all[4]++;
		ok = fuzz_seed(dir, "count-over", all, len);
	}
	free(all);
	static const uint8_t empty[] = {1, 0, 0, 0, 0}, bad_format[] = {2, 0, 0, 0, 0};
	ok = ok && fuzz_seed(dir, "empty", empty, sizeof(empty)) &&
	     fuzz_seed(dir, "bad-format", bad_format, sizeof(bad_format));
	fuzz_store_reset();
	return ok ? 0 : -1;
}
