/*
 * The sealed envelope and its use by a node: round trip, wrong key, tampered
 * and truncated packets, replays, oversized datagrams, mode mismatches, and
 * key rotation between two nodes whose primaries differ. Bad packets must be
 * counted and must not change membership. Epochs: a packet is accepted only
 * by the run of the node it was sent to (replays to another node or to a
 * restarted one are dropped), the epoch notice and what it triggers.
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
	gsp_addr_t to[16];
	size_t n;
} wire_t;

static uint64_t clock_ms = 1000000;

static uint64_t now_ms(void *ctx)
{
	(void)ctx;
	return clock_ms;
}
static void arm(void *ctx, uint64_t at)
{
	(void)ctx;
	(void)at;
}
static int capture(void *ctx, const gsp_addr_t *to, const uint8_t *b, size_t l)
{
	wire_t *w = ctx;
	if (w->n < 16 && l <= sizeof(w->buf[0])) {
		memcpy(w->buf[w->n], b, l);
		w->to[w->n] = *to;
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
	c.seed = 3 + (uint64_t)name[0]; /* distinct epochs */
	assert_int_equal(gsp_addr_parse(addr, &c.addr), 0);
	gsp_clock_t clk = {.now_ms = now_ms, .arm = arm};
	gsp_transport_t tr = {.ctx = w, .send_udp = capture, .tcp_request = no_tcp};
	gsp_t *g = gsp_new(&c, kr, &clk, &tr, NULL);
	assert_non_null(g);
	gsp_start(g);
	return g;
}

/* Teach g the epoch of the node `peer` at addr, as an epoch notice would. */
static void know(gsp_t *g, const char *addr, const gsp_t *peer)
{
	gsp_addr_t a;
	assert_int_equal(gsp_addr_parse(addr, &a), 0);
	gsp_peer_learn(g, &a, peer->epoch);
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
	know(a, "127.0.0.2:7946", b);
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
	know(a, "127.0.0.2:7946", b);
	know(b, "127.0.0.1:7946", a);
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

/* ---- epochs: replays bound to the receiver's run ---- */

static gsp_addr_t addr(const char *text)
{
	gsp_addr_t a;
	assert_int_equal(gsp_addr_parse(text, &a), 0);
	return a;
}

/* Datagram i of w (sent by the node at from_addr) into g. */
static void deliver(gsp_t *g, const char *from_addr, const wire_t *w, size_t i)
{
	gsp_addr_t from = addr(from_addr);
	assert_true(i < w->n);
	gsp_recv_udp(g, &from, w->buf[i], w->len[i]);
}

/* The Packet of datagram i of w (keyring k1 on both sides), decoded as it was sent. */
static Aya__Gossip__Packet *peek(const gsp_keyring_t *kr, const wire_t *w, size_t i)
{
	uint8_t plain[2048];
	long n = gsp_open(kr, w->buf[i], w->len[i], plain, sizeof(plain));
	assert_true(n >= 0);
	Aya__Gossip__Packet *p = aya__gossip__packet__unpack(NULL, (size_t)n, plain);
	assert_non_null(p);
	return p;
}

static void test_epochs(void **state)
{
	(void)state;
	static const uint8_t k1[] = {1};
	const char *A = "127.0.0.1:7946", *B = "127.0.0.2:7946", *C = "127.0.0.3:7946";
	wire_t wa = {0}, wb = {0}, wc = {0};
	gsp_keyring_t *peek_kr = ring(k1, 1);
	gsp_t *a = mk("a", A, ring(k1, 1), &wa);
	gsp_t *b = mk("b", B, ring(k1, 1), &wb);
	gsp_t *c = mk("c", C, ring(k1, 1), &wc);
	gsp_addr_t to_b = addr(B), to_c = addr(C);
	assert_true(a->epoch != 0 && a->epoch != b->epoch && b->epoch != c->epoch);

	/* First contact: a does not know b's epoch, so its alive stays queued and a hello goes. */
	gsp_send_msgs(a, &to_b, NULL);
	assert_int_equal(wa.n, 1);
	Aya__Gossip__Packet *p = peek(peek_kr, &wa, 0);
	assert_int_equal(p->n_parts, 0);
	assert_int_equal(p->to_epoch, 0);
	assert_int_equal(p->from_epoch, a->epoch);
	aya__gossip__packet__free_unpacked(p, NULL);
	/* b drops it (no epoch, not a warning) and answers with a notice echoing a's epoch. */
	deliver(b, A, &wa, 0);
	assert_int_equal(gsp_stats(b).rx_no_epoch, 1);
	assert_int_equal(gsp_stats(b).rx_packets, 0);
	assert_int_equal(wb.n, 1);
	p = peek(peek_kr, &wb, 0);
	assert_int_equal(p->n_parts, 0);
	assert_int_equal(p->to_epoch, a->epoch);
	assert_int_equal(p->from_epoch, b->epoch);
	aya__gossip__packet__free_unpacked(p, NULL);
	/* a learns b's epoch from it; a second hello within the second gets no notice. */
	deliver(a, B, &wb, 0);
	assert_int_equal(gsp_peer_epoch(a, &to_b), b->epoch);
	deliver(b, A, &wa, 0);
	assert_int_equal(wb.n, 1);

	/* Now a's alive reaches b, and b learns a's epoch from it. */
	wa.n = 0;
	gsp_send_msgs(a, &to_b, NULL);
	assert_int_equal(wa.n, 1);
	deliver(b, A, &wa, 0);
	assert_int_equal(gsp_member_count(b), 2);
	gsp_addr_t to_a = addr(A);
	assert_int_equal(gsp_peer_epoch(b, &to_a), a->epoch);
	/* The same datagram again: a replay. */
	deliver(b, A, &wa, 0);
	assert_int_equal(gsp_stats(b).rx_replay, 1);

	/*
	 * Replayed to c from a forged source: not for c's run. Dropped; a is no
	 * member of c, so the notice goes to the source, ten a second at most.
	 */
	deliver(c, "127.0.0.9:4000", &wa, 0);
	deliver(c, "127.0.0.9:4000", &wa, 0);
	assert_int_equal(gsp_stats(c).rx_stale_epoch, 2);
	assert_int_equal(gsp_stats(c).rx_packets, 0);
	assert_int_equal(gsp_member_count(c), 1);
	assert_int_equal(wc.n, 1); /* rate-limited */
	assert_int_equal(gsp_stats(c).tx_notices, 1);
	gsp_addr_t forged = addr("127.0.0.9:4000");
	assert_true(gsp_addr_equal(&wc.to[0], &forged));
	/* Once a is a member of c, the notice goes to a's address, whatever the source. */
	m_alive_t alive_a = {.name = "a", .region = "eu", .addr = addr(A), .incarnation = 1};
	gsp_apply_alive(c, &alive_a, true);
	clock_ms += 1000;
	deliver(c, "127.0.0.9:4000", &wa, 0);
	assert_int_equal(wc.n, 2);
	assert_true(gsp_addr_equal(&wc.to[1], &to_a));
	deliver(c, "127.0.0.9:4000", &wa, 0);
	assert_int_equal(wc.n, 2); /* one a second per address */
	/* c's notice only teaches a c's true epoch (it echoes a's). */
	deliver(a, C, &wc, 0);
	assert_int_equal(gsp_peer_epoch(a, &to_c), c->epoch);
	assert_int_equal(gsp_stats(a).rx_stale_epoch, 0);
	/* And a replayed notice is a replay. */
	deliver(a, C, &wc, 0);
	assert_int_equal(gsp_stats(a).rx_replay, 1);
	/* A notice is never answered: a's notice from b, sent to c, is dropped silently. */
	size_t sent = wc.n;
	deliver(c, B, &wb, 0);
	assert_int_equal(gsp_stats(c).rx_stale_epoch, 5);
	assert_int_equal(wc.n, sent);

	/* b restarts: a new run, a new epoch; the datagram a sent the old run is refused. */
	uint32_t old_epoch = b->epoch;
	gsp_free(b);
	wb.n = 0;
	b = mk("b", B, ring(k1, 1), &wb);
	b->epoch = old_epoch + 1; /* the seeded test RNG would draw the same one again */
	b->me->epoch = b->epoch;
	deliver(b, A, &wa, 0);
	assert_int_equal(gsp_stats(b).rx_stale_epoch, 1);
	assert_int_equal(gsp_member_count(b), 1);
	assert_int_equal(wb.n, 1); /* the notice, so that a sends again */
	deliver(a, B, &wb, 0);
	assert_int_equal(gsp_peer_epoch(a, &to_b), b->epoch);
	wa.n = 0;
	gsp_broadcast(a, "k", (const uint8_t *)"1", 1);
	gsp_send_msgs(a, &to_b, NULL);
	deliver(b, A, &wa, 0);
	assert_int_equal(gsp_member_count(b), 2);

	gsp_free(a);
	gsp_free(b);
	gsp_free(c);
	gsp_keyring_free(peek_kr);
}

/* A version 1 node sends no epochs: dropped, never answered. */
static void test_epoch_old_version(void **state)
{
	(void)state;
	static const uint8_t k1[] = {1};
	wire_t wb = {0};
	gsp_keyring_t *kr = ring(k1, 1);
	gsp_t *b = mk("b", "127.0.0.2:7946", ring(k1, 1), &wb);
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.version = 1;
	p.from = "old";
	p.seq = 77;
	uint8_t part[] = {0x2a, 0x00}, plain[64], sealed[128];
	ProtobufCBinaryData parts[] = {{.len = sizeof(part), .data = part}};
	p.n_parts = 1;
	p.parts = parts;
	size_t n = protobuf_c_message_pack(&p.base, plain);
	long len = gsp_seal(kr, plain, n, sealed, sizeof(sealed));
	assert_true(len > 0);
	gsp_addr_t from = addr("127.0.0.1:7946");
	gsp_recv_udp(b, &from, sealed, (size_t)len);
	assert_int_equal(gsp_stats(b).rx_no_epoch, 1);
	assert_int_equal(gsp_stats(b).rx_packets, 0);
	assert_int_equal(wb.n, 0);
	gsp_free(b);
	gsp_keyring_free(kr);
}

/* A probe whose ping is dropped for its epoch is sent again on the notice, and acked. */
static void test_probe_survives_notice(void **state)
{
	(void)state;
	static const uint8_t k1[] = {1};
	const char *A = "127.0.0.1:7946", *B = "127.0.0.2:7946";
	wire_t wa = {0}, wb = {0};
	gsp_t *a = mk("a", A, ring(k1, 1), &wa);
	gsp_t *b = mk("b", B, ring(k1, 1), &wb);
	m_alive_t alive = {.name = "b", .region = "eu", .addr = addr(B), .incarnation = 1};
	gsp_apply_alive(a, &alive, true); /* known from a seed's list, epoch unknown */
	wa.n = 0;
	clock_ms += 10000;
	gsp_tick(a);
	assert_true(a->probing);
	assert_true(wa.n >= 1); /* the ping first, then maybe a gossip round's hello */
	deliver(b, A, &wa, 0);  /* the ping: dropped, notice */
	assert_int_equal(gsp_stats(b).rx_no_epoch, 1);
	assert_int_equal(wb.n, 1);
	wa.n = 0;
	deliver(a, B, &wb, 0); /* the notice: a pings again */
	assert_true(wa.n >= 1);
	wb.n = 0;
	deliver(b, A, &wa, 0); /* accepted: b acks, naming a's epoch */
	assert_int_equal(gsp_stats(b).rx_packets, 1);
	assert_true(wb.n >= 1);
	assert_false(a->probe_acked);
	deliver(a, B, &wb, 0);
	assert_true(a->probe_acked);
	assert_int_equal(gsp_stats(a).rx_stale_epoch + gsp_stats(a).rx_no_epoch, 0);
	gsp_free(a);
	gsp_free(b);
}

/* The first part of datagram i of w, decoded (caller frees). */
static Aya__Gossip__Msg *first_part(const gsp_keyring_t *kr, const wire_t *w, size_t i)
{
	Aya__Gossip__Packet *p = peek(kr, w, i);
	assert_true(p->n_parts >= 1);
	Aya__Gossip__Msg *m = aya__gossip__msg__unpack(NULL, p->parts[0].len, p->parts[0].data);
	assert_non_null(m);
	aya__gossip__packet__free_unpacked(p, NULL);
	return m;
}

/* An indirect probe: the relay's ping, dropped for its epoch, goes again on the notice. */
static void test_relay_survives_notice(void **state)
{
	(void)state;
	static const uint8_t k1[] = {1};
	const char *A = "127.0.0.1:7946", *B = "127.0.0.2:7946", *C = "127.0.0.3:7946";
	wire_t wa = {0}, wb = {0}, wc = {0};
	gsp_keyring_t *kr = ring(k1, 1);
	gsp_t *a = mk("a", A, ring(k1, 1), &wa);
	gsp_t *b = mk("b", B, ring(k1, 1), &wb);
	gsp_t *c = mk("c", C, ring(k1, 1), &wc);
	know(a, B, b);
	know(b, A, a);
	/* a asks b to ping c; b has never talked to c. */
	gsp_addr_t to_b = addr(B), to_a = addr(A);
	uint8_t c_ip[4] = {127, 0, 0, 3};
	Aya__Gossip__PingReq pr = AYA__GOSSIP__PING_REQ__INIT;
	pr.seq_no = 4242;
	pr.target = "c";
	pr.ip.data = c_ip;
	pr.ip.len = sizeof(c_ip);
	pr.port = 7946;
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = AYA__GOSSIP__MSG__KIND_PING_REQ;
	m.ping_req = &pr;
	wa.n = 0;
	gsp_send_msgs(a, &to_b, &m);
	wb.n = 0;
	deliver(b, A, &wa, 0);
	assert_int_equal(wb.n, 1); /* b's ping to c, without c's epoch */
	deliver(c, B, &wb, 0);
	assert_int_equal(gsp_stats(c).rx_no_epoch, 1);
	assert_int_equal(wc.n, 1); /* the notice */
	wb.n = 0;
	deliver(b, C, &wc, 0);
	assert_true(wb.n >= 1); /* the ping again, naming c's epoch */
	Aya__Gossip__Msg *got = first_part(kr, &wb, 0);
	assert_int_equal(got->kind_case, AYA__GOSSIP__MSG__KIND_PING);
	aya__gossip__msg__free_unpacked(got, NULL);
	wc.n = 0;
	deliver(c, B, &wb, 0);
	assert_int_equal(gsp_stats(c).rx_packets, 1);
	assert_int_equal(wc.n, 1); /* c acks b */
	wb.n = 0;
	deliver(b, C, &wc, 0);
	assert_int_equal(wb.n, 1); /* b acks a, with a's seq_no */
	assert_true(gsp_addr_equal(&wb.to[0], &to_a));
	got = first_part(kr, &wb, 0);
	assert_int_equal(got->kind_case, AYA__GOSSIP__MSG__KIND_ACK);
	assert_int_equal(got->ack->seq_no, 4242);
	aya__gossip__msg__free_unpacked(got, NULL);
	gsp_free(a);
	gsp_free(b);
	gsp_free(c);
	gsp_keyring_free(kr);
}

/* Push/pull: a request for an unknown epoch is answered on the stream with a notice. */
static void test_pushpull_notice(void **state)
{
	(void)state;
	static const uint8_t k1[] = {1};
	wire_t wa = {0}, wb = {0};
	gsp_t *a = mk("a", "127.0.0.1:7946", ring(k1, 1), &wa);
	gsp_t *b = mk("b", "127.0.0.2:7946", ring(k1, 1), &wb);
	gsp_addr_t from = addr("127.0.0.1:7946"), to_b = addr("127.0.0.2:7946");
	for (int round = 0; round < 2; round++) {
		uint8_t *req = NULL, *reply = NULL;
		size_t req_len = 0, reply_len = 0;
		assert_int_equal(
		        gsp_pushpull_frame(a, true, NULL, gsp_peer_epoch(a, &to_b), &req, &req_len),
		        0);
		assert_int_equal(gsp_tcp_serve(b, &from, req, req_len, &reply, &reply_len), 0);
		Aya__Gossip__Packet *p = gsp_open_packet(a, NULL, reply, reply_len);
		assert_non_null(p);
		/* First a notice (nothing merged), then the reply proper. */
		assert_int_equal(p->n_parts, round == 0 ? 0 : 1);
		assert_int_equal(gsp_member_count(b), round == 0 ? 1 : 2);
		gsp_peer_learn(a, &to_b, p->from_epoch);
		aya__gossip__packet__free_unpacked(p, NULL);
		free(req);
		free(reply);
	}
	gsp_free(a);
	gsp_free(b);
}

/* The peer table: found by address, and emptied (not refused) when full. */
static void test_peer_table(void **state)
{
	(void)state;
	peers_t t;
	assert_int_equal(gsp_peers_init(&t, 100), 0);
	gsp_addr_t x = addr("127.0.0.1:1"), y = addr("[::1]:1"), z = addr("127.0.0.1:2");
	assert_null(gsp_peer_get(&t, &x, false));
	gsp_peer_get(&t, &x, true)->epoch = 5;
	gsp_peer_get(&t, &y, true)->epoch = 6;
	assert_int_equal(gsp_peer_get(&t, &x, false)->epoch, 5);
	assert_int_equal(gsp_peer_get(&t, &y, false)->epoch, 6);
	assert_null(gsp_peer_get(&t, &z, false));
	for (unsigned i = 0; i < 150; i++) { /* grows past its 64 buckets, then fills */
		char text[32];
		snprintf(text, sizeof(text), "10.0.%u.%u:7946", i / 256, i % 256);
		gsp_addr_t a = addr(text);
		assert_non_null(gsp_peer_get(&t, &a, true));
	}
	assert_true(t.n <= 100);
	assert_null(gsp_peer_get(&t, &x, false)); /* forgotten: a notice teaches it again */
	gsp_peers_fini(&t);
}

/* A peer that runs with our epoch makes us draw another one. */
static void test_epoch_collision(void **state)
{
	(void)state;
	wire_t w = {0};
	gsp_t *a = mk("a", "127.0.0.1:7946", NULL, &w);
	uint32_t old = a->epoch;
	gsp_addr_t x = addr("127.0.0.5:7946");
	gsp_peer_learn(a, &x, old);
	assert_true(a->epoch != old && a->epoch != 0);
	assert_int_equal(a->me->epoch, a->epoch);
	assert_int_equal(gsp_peer_epoch(a, &x), old);
	gsp_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_envelope),
	        cmocka_unit_test(test_nonces_differ),
	        cmocka_unit_test(test_keyring_ops),
	        cmocka_unit_test(test_keyring_apply),
	        cmocka_unit_test(test_replay_window),
	        cmocka_unit_test(test_node_drops_bad_packets),
	        cmocka_unit_test(test_key_rotation),
	        cmocka_unit_test(test_epochs),
	        cmocka_unit_test(test_epoch_old_version),
	        cmocka_unit_test(test_probe_survives_notice),
	        cmocka_unit_test(test_pushpull_notice),
	        cmocka_unit_test(test_peer_table),
	        cmocka_unit_test(test_relay_survives_notice),
	        cmocka_unit_test(test_epoch_collision),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
