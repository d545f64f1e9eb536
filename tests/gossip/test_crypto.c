/*
 * The sealed envelope and its use by a node: round trip, wrong key, tampered
 * and truncated packets, replays, oversized datagrams, mode mismatches, and
 * key rotation between two nodes whose primaries differ. Bad packets must be
 * counted and must not change membership.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gossip/gossip_int.h"

static void key_fill(uint8_t k[GSP_KEY_LEN], uint8_t v)
{
	memset(k, v, GSP_KEY_LEN);
	k[0] ^= 0x5a;
}

static gsp_keyring_t *ring(const uint8_t *vals, size_t n)
{
	gsp_keyring_t *kr = gsp_keyring_new();
	assert_non_null(kr);
	for (size_t i = 0; i < n; i++) {
		uint8_t k[GSP_KEY_LEN];
		key_fill(k, vals[i]);
		assert_int_equal(gsp_keyring_install(kr, k), 0);
	}
	return kr;
}

static void test_envelope(void **state)
{
	(void)state;
	static const uint8_t a[] = {1}, b[] = {2}, ab[] = {2, 1};
	static const struct {
		const char *name;
		const uint8_t *send;
		size_t n_send;
		const uint8_t *recv;
		size_t n_recv;
		int flip;  /* byte to flip, -1 none */
		long cut;  /* bytes to cut from the end */
		long want; /* >= 0: plaintext length */
	} cases[] = {
	        {"round trip", a, 1, a, 1, -1, 0, 100},
	        {"wrong key", a, 1, b, 1, -1, 0, -EBADMSG},
	        {"receiver holds both keys", a, 1, ab, 2, -1, 0, 100},
	        {"flipped ciphertext", a, 1, a, 1, 40, 0, -EBADMSG},
	        {"flipped key id", a, 1, a, 1, 2, 0, -EBADMSG},
	        {"flipped nonce", a, 1, a, 1, 8, 0, -EBADMSG},
	        {"flipped tag", a, 1, a, 1, 100 + GSP_ENV_OVERHEAD - 1, 0, -EBADMSG},
	        {"cut tag", a, 1, a, 1, -1, 1, -EBADMSG},
	        {"truncated below the envelope", a, 1, a, 1, -1, 100 + 20, -EPROTO},
	        {"plaintext to a keyed node", NULL, 0, a, 1, -1, 0, -EPERM},
	        {"sealed to an insecure node", a, 1, NULL, 0, -1, 0, -EACCES},
	        {"insecure both sides", NULL, 0, NULL, 0, -1, 0, 100},
	};
	uint8_t plain[100];
	for (size_t i = 0; i < sizeof(plain); i++) {
		plain[i] = (uint8_t)i;
	}
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		gsp_keyring_t *s = cases[i].n_send ? ring(cases[i].send, cases[i].n_send) : NULL;
		gsp_keyring_t *r = cases[i].n_recv ? ring(cases[i].recv, cases[i].n_recv) : NULL;
		uint8_t sealed[256], out[256];
		long n = gsp_seal(s, plain, sizeof(plain), sealed, sizeof(sealed));
		assert_true(n > 0);
		if (cases[i].flip >= 0) {
			sealed[cases[i].flip] ^= 0x01;
		}
		n -= cases[i].cut;
		long got = gsp_open(r, sealed, (size_t)n, out, sizeof(out));
		if (got != cases[i].want) {
			fail_msg("%s: got %ld", cases[i].name, got);
		}
		if (got >= 0) {
			assert_memory_equal(out, plain, sizeof(plain));
		}
		gsp_keyring_free(s);
		gsp_keyring_free(r);
	}
}

static void test_nonces_differ(void **state)
{
	(void)state;
	static const uint8_t a[] = {1};
	gsp_keyring_t *kr = ring(a, 1);
	uint8_t x[64], y[64];
	assert_int_equal(gsp_seal(kr, (const uint8_t *)"same", 4, x, sizeof(x)),
	                 4 + GSP_ENV_OVERHEAD);
	assert_int_equal(gsp_seal(kr, (const uint8_t *)"same", 4, y, sizeof(y)),
	                 4 + GSP_ENV_OVERHEAD);
	assert_memory_not_equal(x + 5, y + 5, GSP_NONCE_LEN);
	gsp_keyring_free(kr);
}

static void test_keyring_ops(void **state)
{
	(void)state;
	static const uint8_t v[] = {1, 2, 3};
	gsp_keyring_t *kr = ring(v, 3);
	uint8_t k1[GSP_KEY_LEN], k2[GSP_KEY_LEN], k9[GSP_KEY_LEN], got[GSP_KEY_LEN];
	key_fill(k1, 1);
	key_fill(k2, 2);
	key_fill(k9, 9);
	assert_int_equal(gsp_keyring_count(kr), 3);
	assert_int_equal(gsp_keyring_install(kr, k1), 0); /* already there */
	assert_int_equal(gsp_keyring_count(kr), 3);
	assert_int_equal(gsp_keyring_get(kr, 0, got), 0);
	assert_memory_equal(got, k1, GSP_KEY_LEN);
	assert_int_equal(gsp_keyring_remove(kr, k1), -EBUSY); /* the primary */
	assert_int_equal(gsp_keyring_use(kr, k9), -ENOENT);
	assert_int_equal(gsp_keyring_use(kr, k2), 0);
	assert_int_equal(gsp_keyring_get(kr, 0, got), 0);
	assert_memory_equal(got, k2, GSP_KEY_LEN);
	assert_int_equal(gsp_keyring_remove(kr, k1), 0);
	assert_int_equal(gsp_keyring_remove(kr, k1), -ENOENT);
	assert_int_equal(gsp_keyring_count(kr), 2);
	assert_int_equal(gsp_keyring_get(kr, 2, got), -ENOENT);
	char hex[9];
	gsp_key_id_hex(k2, hex);
	assert_int_equal(strlen(hex), 8);
	for (uint8_t i = 0; i < GSP_MAX_KEYS; i++) {
		key_fill(k9, (uint8_t)(100 + i));
		int rc = gsp_keyring_install(kr, k9);
		assert_int_equal(rc, i < GSP_MAX_KEYS - 2 ? 0 : -ENOSPC);
	}
	gsp_keyring_free(kr);
}

/* `ayactl keyring` operations by base64 key and key id, on a ring {1, 2} (1 primary). */
static void test_keyring_apply(void **state)
{
	(void)state;
	static const struct {
		const char *name, *op;
		const char *arg; /* "#N": the id of key_fill(N); "#N!" the same upper case */
		int want;
		const char *err_has; /* substring of *err on failure */
		int changed;         /* key_fill value of changed_id; 0 = untouched */
		size_t count;        /* keys after */
		int primary;         /* key_fill value of key 0 after */
		int pre;             /* key_fill value installed third before the op; 0 = none */
	} cases[] = {
	        {"install a new key", "install", "WQMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=", 0,
	         NULL, 3, 3, 1, 0},
	        {"install an installed key: no-op", "install",
	         "WQMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=", 0, NULL, 3, 3, 1, 3},
	        {"install not base64", "install", "not a key", -EINVAL, "not a base64", 0, 2, 1, 0},
	        {"install 31 bytes (two pads)", "install",
	         "XQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==", -EINVAL, "not a base64", 0, 2, 1,
	         0},
	        {"install 43 characters", "install", "WQMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM",
	         -EINVAL, "not a base64", 0, 2, 1, 0},
	        {"install without a key", "install", NULL, -EINVAL, "not a base64", 0, 2, 1, 0},
	        {"use an unknown id", "use", "00000000", -ENOENT, "no installed key", 0, 2, 1, 0},
	        {"remove an unknown id", "remove", "zzzz", -ENOENT, "no installed key", 0, 2, 1, 0},
	        {"remove the primary is refused", "remove", "#1", -EBUSY, "primary", 1, 2, 1, 0},
	        {"remove the other key, id in upper case", "remove", "#2!", 0, NULL, 2, 1, 1, 0},
	        {"use the other key", "use", "#2", 0, NULL, 2, 2, 2, 0},
	        {"unknown op", "rotate", "#2", -EINVAL, "expected list", 0, 2, 1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		static const uint8_t v[] = {1, 2};
		gsp_keyring_t *kr = ring(v, 2);
		uint8_t k[GSP_KEY_LEN];
		char arg[16], changed[9] = "", want_id[9] = "";
		const char *a = cases[i].arg, *err = "unset";
		if (a != NULL && a[0] == '#') {
			key_fill(k, (uint8_t)(a[1] - '0'));
			gsp_key_id_hex(k, arg);
			for (char *c = arg; a[2] == '!' && *c != '\0'; c++) {
				*c = (char)(*c >= 'a' && *c <= 'f' ? *c - 'a' + 'A' : *c);
			}
			a = arg;
		}
		if (cases[i].pre != 0) {
			key_fill(k, (uint8_t)cases[i].pre);
			assert_int_equal(gsp_keyring_install(kr, k), 0);
		}
		int rc = gsp_keyring_apply(kr, cases[i].op, a, changed, &err);
		assert_int_equal(rc, cases[i].want);
		if (rc == 0) {
			assert_null(err);
		} else {
			assert_non_null(strstr(err, cases[i].err_has));
		}
		if (cases[i].changed != 0) {
			key_fill(k, (uint8_t)cases[i].changed);
			gsp_key_id_hex(k, want_id);
		}
		assert_string_equal(changed, want_id);
		assert_int_equal(gsp_keyring_count(kr), cases[i].count);
		uint8_t got[GSP_KEY_LEN];
		assert_int_equal(gsp_keyring_get(kr, 0, got), 0);
		key_fill(k, (uint8_t)cases[i].primary);
		assert_memory_equal(got, k, GSP_KEY_LEN);
		gsp_keyring_free(kr);
	}
}

static void test_replay_window(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint64_t seq;
		bool want;
	} steps[] = {
	        {"first", 1000, true},
	        {"replay", 1000, false},
	        {"newer", 1005, true},
	        {"late but fresh", 1003, true},
	        {"late replay", 1003, false},
	        {"jump", 1000 + REPLAY_BITS + 10, true},
	        {"below the window", 1005, false},
	        {"top of window again", 1000 + REPLAY_BITS + 10, false},
	        {"edge of window", 1000 + 11, true},
	};
	replay_t r;
	assert_int_equal(gsp_replay_init(&r, 2), 0);
	for (size_t i = 0; i < AYA_ARRAY_LEN(steps); i++) {
		if (gsp_replay_check(&r, "a", steps[i].seq) != steps[i].want) {
			fail_msg("step %s", steps[i].name);
		}
	}
	/* Another sender has its own window; the table is bounded. */
	assert_true(gsp_replay_check(&r, "b", 1000));
	assert_false(gsp_replay_check(&r, "c", 1));
	gsp_replay_fini(&r);
}

/* ---- two nodes wired back to back ---- */

typedef struct wire {
	uint8_t buf[16][2048];
	size_t len[16];
	size_t n;
} wire_t;

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return 1000000;
}
static void arm(void *ctx, uint64_t at)
{
	(void)ctx;
	(void)at;
}
static int capture(void *ctx, const gsp_addr_t *to, const uint8_t *b, size_t l)
{
	(void)to;
	wire_t *w = ctx;
	if (w->n < 16 && l <= sizeof(w->buf[0])) {
		memcpy(w->buf[w->n], b, l);
		w->len[w->n++] = l;
	}
	return 0;
}
static int no_tcp(void *ctx, const gsp_addr_t *to, const uint8_t *b, size_t l, uint64_t id)
{
	(void)ctx;
	(void)to;
	(void)b;
	(void)l;
	(void)id;
	return -1;
}

static gsp_t *mk(const char *name, const char *addr, gsp_keyring_t *kr, wire_t *w)
{
	gsp_config_t c;
	gsp_config_init(&c);
	c.name = name;
	c.region = "eu";
	c.seed = 3;
	assert_int_equal(gsp_addr_parse(addr, &c.addr), 0);
	gsp_clock_t clk = {.now_ms = now_ms, .arm = arm};
	gsp_transport_t tr = {.ctx = w, .send_udp = capture, .tcp_request = no_tcp};
	gsp_t *g = gsp_new(&c, kr, &clk, &tr, NULL);
	assert_non_null(g);
	gsp_start(g);
	return g;
}

/* A sends its queued alive announcement to B: returns B's member count after. */
static size_t a_to_b(gsp_t *a, gsp_t *b, wire_t *w, size_t *pkt)
{
	gsp_addr_t to, from;
	assert_int_equal(gsp_addr_parse("127.0.0.2:7946", &to), 0);
	assert_int_equal(gsp_addr_parse("127.0.0.1:7946", &from), 0);
	w->n = 0;
	gsp_send_msgs(a, &to, NULL);
	assert_int_equal(w->n, 1);
	*pkt = 0;
	gsp_recv_udp(b, &from, w->buf[0], w->len[0]);
	return gsp_member_count(b);
}

static void test_node_drops_bad_packets(void **state)
{
	(void)state;
	static const uint8_t k1[] = {1}, k2[] = {2};
	wire_t wa = {0}, wb = {0};
	gsp_t *a = mk("a", "127.0.0.1:7946", ring(k1, 1), &wa);
	gsp_t *b = mk("b", "127.0.0.2:7946", ring(k2, 1), &wb);
	gsp_addr_t to, from;
	assert_int_equal(gsp_addr_parse("127.0.0.2:7946", &to), 0);
	assert_int_equal(gsp_addr_parse("127.0.0.1:7946", &from), 0);
	gsp_send_msgs(a, &to, NULL);
	assert_int_equal(wa.n, 1);
	uint8_t pkt[2048];
	size_t len = wa.len[0];
	memcpy(pkt, wa.buf[0], len);

	/*
	 * Wrong key: dropped, counted, no new member, and said at warning level
	 * once (the same drop again within the second is not logged again).
	 */
	char logf[] = "/tmp/aya-gossip-log-XXXXXX";
	int lfd = mkstemp(logf);
	assert_true(lfd >= 0);
	int saved = dup(2);
	assert_int_equal(dup2(lfd, 2), 2);
	gsp_recv_udp(b, &from, pkt, len);
	gsp_recv_udp(b, &from, pkt, len);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	char logged[1024] = "";
	ssize_t got = pread(lfd, logged, sizeof(logged) - 1, 0);
	close(lfd);
	unlink(logf);
	assert_true(got > 0);
	logged[got] = '\0';
	assert_non_null(strstr(logged,
	                       "warning: gossip: dropped a packet from 127.0.0.1:7946: no key "
	                       "of this node's keyring opens it"));
	assert_null(strchr(strchr(logged, '\n') + 1, '\n')); /* one line: rate-limited */
	assert_int_equal(gsp_stats(b).rx_bad_auth, 2);
	assert_int_equal(gsp_member_count(b), 1);
	/* Truncated and oversized. */
	gsp_recv_udp(b, &from, pkt, 10);
	assert_int_equal(gsp_stats(b).rx_truncated, 1);
	static uint8_t huge[GSP_MAX_UDP + 1];
	gsp_recv_udp(b, &from, huge, sizeof(huge));
	assert_int_equal(gsp_stats(b).rx_oversize, 1);
	/* Garbage that is not an envelope at all. */
	gsp_recv_udp(b, &from, (const uint8_t *)"\x07garbage", 8);
	assert_int_equal(gsp_stats(b).rx_bad_auth, 3);

	/* Install A's key on B: now accepted; then the same packet again is a replay. */
	uint8_t key[GSP_KEY_LEN];
	key_fill(key, 1);
	assert_int_equal(gsp_keyring_install(gsp_keyring(b), key), 0);
	gsp_recv_udp(b, &from, pkt, len);
	assert_int_equal(gsp_member_count(b), 2);
	assert_int_equal(gsp_member_find(b, "a")->state, GSP_ST_ALIVE);
	gsp_recv_udp(b, &from, pkt, len);
	assert_int_equal(gsp_stats(b).rx_replay, 1);
	assert_int_equal(gsp_stats(b).rx_packets, 1);
	gsp_free(a);
	gsp_free(b);
}

static void test_key_rotation(void **state)
{
	(void)state;
	/* A has primary k2 (new), B still primary k1 (old); both hold both keys. */
	static const uint8_t a_keys[] = {2, 1}, b_keys[] = {1, 2};
	wire_t wa = {0}, wb = {0};
	gsp_t *a = mk("a", "127.0.0.1:7946", ring(a_keys, 2), &wa);
	gsp_t *b = mk("b", "127.0.0.2:7946", ring(b_keys, 2), &wb);
	size_t dummy;
	assert_int_equal(a_to_b(a, b, &wa, &dummy), 2);
	/* B answers with its old primary; A accepts it. */
	gsp_addr_t to, from;
	assert_int_equal(gsp_addr_parse("127.0.0.1:7946", &to), 0);
	assert_int_equal(gsp_addr_parse("127.0.0.2:7946", &from), 0);
	wb.n = 0;
	gsp_send_msgs(b, &to, NULL);
	assert_true(wb.n >= 1);
	gsp_recv_udp(a, &from, wb.buf[0], wb.len[0]);
	assert_non_null(gsp_member_find(a, "b"));
	assert_int_equal(gsp_stats(a).rx_bad_auth, 0);
	/* B switches to k2 and drops k1; A (k2 primary) still talks to it. */
	uint8_t k1[GSP_KEY_LEN], k2[GSP_KEY_LEN];
	key_fill(k1, 1);
	key_fill(k2, 2);
	assert_int_equal(gsp_keyring_use(gsp_keyring(b), k2), 0);
	assert_int_equal(gsp_keyring_remove(gsp_keyring(b), k1), 0);
	gsp_broadcast(a, "x", (const uint8_t *)"1", 1);
	assert_int_equal(a_to_b(a, b, &wa, &dummy), 2);
	assert_int_equal(gsp_stats(b).rx_bad_auth, 0);
	assert_int_equal(gsp_stats(b).rx_packets, 2);
	gsp_free(a);
	gsp_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_envelope),      cmocka_unit_test(test_nonces_differ),
	        cmocka_unit_test(test_keyring_ops),   cmocka_unit_test(test_keyring_apply),
	        cmocka_unit_test(test_replay_window), cmocka_unit_test(test_node_drops_bad_packets),
	        cmocka_unit_test(test_key_rotation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
