/*
 * Cluster keyring operations (gossip/keyop.c) in the simulated network,
 * and the saved ring (gossip/keyfile.c). The rules under test: an op
 * reaches every live member and says who did not answer; `use` is refused
 * unless every member has the key; `remove` is refused for a key that is a
 * member's primary or that a member still sends with, unless forced; a
 * member never removes its own primary; insecure mode refuses ops; the
 * saved ring round-trips and applies at start only while the config's
 * keyring is unchanged.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "config/config.h"
#include "gossip/gossip_int.h"
#include "tests/gossip/sim.h"

#define SEC 1000u
#define N 4

/* Base64 of 32 bytes 0x11.. and 0x22..: the second and third keys. */
#define K2_B64 "ERERERERERERERERERERERERERERERERERERERERERE="
#define K3_B64 "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="

typedef struct done {
	bool called;
	int error;
	char message[512];
	size_t n_members, n_ok;
	gsp_keyop_member_t members[N];
} done_t;

static void on_done(void *ctx, const gsp_keyop_result_t *res)
{
	done_t *d = ctx;
	d->called = true;
	d->error = res->error;
	snprintf(d->message, sizeof(d->message), "%s", res->message);
	d->n_members = res->n_members;
	d->n_ok = res->n_ok;
	for (size_t i = 0; i < res->n_members && i < N; i++) {
		d->members[i] = res->members[i];
	}
}

static bool is_done(sim_t *s, void *arg)
{
	(void)s;
	return ((done_t *)arg)->called;
}

static sim_t *cluster(bool secure)
{
	sim_opts_t o;
	sim_opts_init(&o, N);
	o.seed = 7;
	o.secure = secure;
	sim_t *s = sim_new(&o);
	sim_start(s);
	assert_true(sim_run_until_pred(s, sim_converged, NULL, 50, sim_now(s) + 30 * SEC) != 0);
	return s;
}

/* Run op on node i to its end (bounded: two phases and a margin). */
static void run_op(sim_t *s, size_t i, const char *op, const char *arg, bool force, done_t *d)
{
	const char *err = NULL;
	memset(d, 0, sizeof(*d));
	assert_int_equal(gsp_keyop_start(sim_node(s, i)->g, op, arg, force, on_done, d, &err), 0);
	assert_false(d->called); /* never from inside the start */
	assert_true(sim_run_until_pred(s, is_done, d, 10, sim_now(s) + 12 * SEC) != 0);
}

static void primary_id(sim_t *s, size_t i, char id[9])
{
	uint8_t key[GSP_KEY_LEN];
	assert_int_equal(gsp_keyring_get(gsp_keyring(sim_node(s, i)->g), 0, key), 0);
	gsp_key_id_hex(key, id);
}

static void k2_id(char id[9])
{
	uint8_t key[GSP_KEY_LEN];
	memset(key, 0x11, sizeof(key));
	gsp_key_id_hex(key, id);
}

static size_t ring_size(sim_t *s, size_t i)
{
	return gsp_keyring_count(gsp_keyring(sim_node(s, i)->g));
}

static void test_rotation(void **state)
{
	(void)state;
	sim_t *s = cluster(true);
	done_t d;
	char k1[9], k2[9];
	primary_id(s, 0, k1);
	k2_id(k2);

	run_op(s, 1, "install", K2_B64, false, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_members, N);
	assert_int_equal(d.n_ok, N);
	assert_string_equal(d.members[0].name, "n1"); /* this node first */
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(ring_size(s, i), 2);
	}
	print_message("install: %zu/%zu members at %" PRIu64 " ms\n", d.n_ok, d.n_members,
	              sim_now(s));

	/* The primary is in use everywhere: refused, nothing removed. */
	run_op(s, 2, "remove", k1, false, &d);
	assert_int_equal(d.error, -EPERM);
	assert_non_null(strstr(d.message, "it is the primary key of n2, n"));
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(ring_size(s, i), 2);
	}

	run_op(s, 0, "use", k2, false, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_ok, N);
	for (size_t i = 0; i < N; i++) {
		char p[9];
		primary_id(s, i, p);
		assert_string_equal(p, k2);
	}
	/* Every member sends with k2 now: after a few probe rounds nobody's last packet is k1. */
	gsp_stats_t before = gsp_stats(sim_node(s, 3)->g);
	sim_run_until(s, sim_now(s) + 3 * SEC);
	assert_int_equal(gsp_stats(sim_node(s, 3)->g).rx_bad_auth, before.rx_bad_auth);
	run_op(s, 0, "remove", k1, false, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_ok, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(ring_size(s, i), 1);
	}
	/* Again: nobody has it, so nothing to do, said plainly. */
	run_op(s, 1, "remove", k1, false, &d);
	assert_int_equal(d.error, -EPERM);
	assert_non_null(strstr(d.message, "no member has that key"));
	/* Forced, a repeat is no error on a member that has it no longer. */
	run_op(s, 1, "remove", k1, true, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_ok, N);
	/* The last key (the primary): refused. */
	run_op(s, 3, "remove", k2, false, &d);
	assert_int_equal(d.error, -EPERM);
	/* Forced: every member still refuses to drop its own primary. */
	run_op(s, 3, "remove", k2, true, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_ok, 0);
	assert_string_equal(d.members[1].message,
	                    "remove: that is the primary key; use another first");
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(ring_size(s, i), 1);
	}
	/* The cluster still talks. */
	sim_run_until(s, sim_now(s) + 3 * SEC);
	assert_true(sim_converged(s, NULL));
	sim_free(s);
}

static void test_use_refused(void **state)
{
	(void)state;
	sim_t *s = cluster(true);
	done_t d;
	char k1[9], k2[9];
	primary_id(s, 0, k1);
	k2_id(k2);
	/* k2 only on nodes 0 and 1. */
	uint8_t key[GSP_KEY_LEN];
	memset(key, 0x11, sizeof(key));
	assert_int_equal(gsp_keyring_install(gsp_keyring(sim_node(s, 0)->g), key), 0);
	assert_int_equal(gsp_keyring_install(gsp_keyring(sim_node(s, 1)->g), key), 0);
	run_op(s, 0, "use", k2, false, &d);
	assert_int_equal(d.error, -EPERM);
	print_message("refusal: %s\n", d.message);
	assert_non_null(strstr(d.message, "not installed on n"));
	assert_non_null(strstr(d.message, "n2"));
	assert_non_null(strstr(d.message, "n3"));
	assert_null(strstr(d.message, "n1"));
	char p[9];
	primary_id(s, 0, p);
	assert_string_equal(p, k1); /* nothing changed */

	/* A member that does not answer (still live when the op starts): named. */
	sim_kill(s, 3);
	run_op(s, 0, "use", k2, false, &d);
	assert_int_equal(d.error, -EPERM);
	print_message("refusal: %s\n", d.message);
	assert_non_null(strstr(d.message, "not installed on n2; no answer from n3"));
	sim_restart(s, 3);
	assert_true(sim_run_until_pred(s, sim_converged, NULL, 50, sim_now(s) + 30 * SEC) != 0);
	sim_kill(s, 3);
	run_op(s, 0, "install", K2_B64, false, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_members, N);
	assert_int_equal(d.n_ok, N - 1);
	assert_false(d.members[N - 1].answered);
	assert_string_equal(d.members[N - 1].name, "n3");
	sim_free(s);
}

/* A member whose last packet was sealed with the key: remove refused, names it. */
static void test_remove_still_sending(void **state)
{
	(void)state;
	sim_t *s = cluster(true);
	done_t d;
	char k2[9];
	k2_id(k2);
	run_op(s, 0, "install", K2_B64, false, &d);
	assert_int_equal(d.n_ok, N);
	/* n1 saw n2's last packet sealed with k2 (as if n2 had switched and back). */
	member_t *m = gsp_mt_find(sim_node(s, 1)->g, "n2");
	assert_non_null(m);
	sscanf(k2, "%2hhx%2hhx%2hhx%2hhx", &m->rx_key[0], &m->rx_key[1], &m->rx_key[2],
	       &m->rx_key[3]);
	m->rx_key_ms = gsp_now(sim_node(s, 1)->g);
	run_op(s, 0, "remove", k2, false, &d);
	print_message("refusal: %s\n", d.message);
	assert_int_equal(d.error, -EPERM);
	assert_non_null(strstr(d.message, "still sending with it: n2;"));
	assert_non_null(strstr(d.message, "--force"));
	assert_int_equal(ring_size(s, 2), 2);
	run_op(s, 0, "remove", k2, true, &d);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.n_ok, N);
	assert_int_equal(ring_size(s, 2), 1);
	sim_free(s);
}

static void test_start_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name, *op, *arg;
		int want;
	} cases[] = {
	        {"unknown op", "rotate", NULL, -EINVAL},
	        {"install of a short key", "install", "AAAA", -EINVAL},
	        {"use of a non-hex id", "use", "zzzzzzzz", -EINVAL},
	        {"remove of a short id", "remove", "abc", -EINVAL},
	};
	sim_t *s = cluster(true);
	done_t d = {0};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		const char *err = NULL;
		assert_int_equal(gsp_keyop_start(sim_node(s, 0)->g, cases[i].op, cases[i].arg,
		                                 false, on_done, &d, &err),
		                 cases[i].want);
		assert_non_null(err);
	}
	const char *err = NULL;
	assert_int_equal(gsp_keyop_start(sim_node(s, 0)->g, "list", NULL, false, on_done, &d, &err),
	                 0);
	assert_int_equal(gsp_keyop_start(sim_node(s, 0)->g, "list", NULL, false, on_done, &d, &err),
	                 -EBUSY);
	assert_true(sim_run_until_pred(s, is_done, &d, 10, sim_now(s) + 12 * SEC) != 0);
	assert_int_equal(d.n_ok, N);
	assert_int_equal(d.members[2].n_keys, 1);
	assert_true(d.members[2].keys[0].primary);
	/* An op in flight when the node goes: done with -ECANCELED. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(gsp_keyop_start(sim_node(s, 0)->g, "list", NULL, false, on_done, &d, &err),
	                 0);
	sim_free(s);
	assert_true(d.called);
	assert_int_equal(d.error, -ECANCELED);

	/* Insecure: refused at the start, and a member ignores a plaintext op. */
	s = cluster(false);
	assert_int_equal(gsp_keyop_start(sim_node(s, 0)->g, "list", NULL, false, on_done, &d, &err),
	                 -EPERM);
	gsp_t *g = sim_node(s, 1)->g;
	Aya__Gossip__KeyOp op = AYA__GOSSIP__KEY_OP__INIT;
	op.id = 1;
	op.op = "install";
	uint8_t key[GSP_KEY_LEN] = {1};
	op.key.data = key;
	op.key.len = sizeof(key);
	gsp_keyop_handle(g, &sim_node(s, 0)->addr, "n0", &op);
	assert_int_equal(gsp_keyring_count(gsp_keyring(g)), 0);
	sim_free(s);
}

/* ---- the saved ring ---- */

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/aya-keyop.XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, GSP_KEYFILE);
	unlink(p);
	return rmdir(dir);
}

static void test_keyfile(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, GSP_KEYFILE);
	uint8_t keys[2][GSP_KEY_LEN];
	memset(keys[0], 0x11, GSP_KEY_LEN);
	memset(keys[1], 0x22, GSP_KEY_LEN);
	gsp_keyring_t *kr = gsp_keyring_new();
	assert_int_equal(gsp_keyring_install(kr, keys[0]), 0);
	assert_int_equal(gsp_keyring_install(kr, keys[1]), 0);
	assert_int_equal(gsp_keyring_use(kr, keys[1]), 0);
	uint64_t fp = gsp_keys_fingerprint((const uint8_t(*)[GSP_KEY_LEN])keys, 1);
	assert_int_equal(gsp_keyfile_save(path, kr, fp), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	gsp_keyring_t *back = NULL;
	uint64_t fp2 = 0;
	assert_int_equal(gsp_keyfile_load(path, &back, &fp2), 0);
	assert_true(fp2 == fp);
	assert_int_equal(gsp_keyring_count(back), 2);
	uint8_t k[GSP_KEY_LEN];
	assert_int_equal(gsp_keyring_get(back, 0, k), 0);
	assert_memory_equal(k, keys[1], GSP_KEY_LEN); /* the primary stays primary */
	gsp_keyring_free(back);

	/* At start: the saved ring while the config's keyring is what it was saved against. */
	cfg_t cfg = {.state_dir = dir};
	cfg.gossip.keyring = "keys.txt";
	cfg.gossip.keys = (const uint8_t(*)[32])keys;
	cfg.gossip.n_keys = 1;
	gsp_keyring_t *start = gsp_repl_keyring(&cfg);
	assert_non_null(start);
	assert_int_equal(gsp_keyring_count(start), 2);
	assert_int_equal(gsp_keyring_get(start, 0, k), 0);
	assert_memory_equal(k, keys[1], GSP_KEY_LEN);
	gsp_keyring_free(start);
	/* The config's keyring changed: its keys apply and the saved ring is gone. */
	cfg.gossip.keys = (const uint8_t(*)[32])keys[1];
	start = gsp_repl_keyring(&cfg);
	assert_int_equal(gsp_keyring_count(start), 1);
	assert_int_equal(gsp_keyring_get(start, 0, k), 0);
	assert_memory_equal(k, keys[1], GSP_KEY_LEN);
	assert_int_equal(access(path, F_OK), -1);
	gsp_keyring_free(start);
	/* Saved against the config, read back; a broken file falls back to the config. */
	gsp_repl_keyring_save(&cfg, kr);
	start = gsp_repl_keyring(&cfg);
	assert_int_equal(gsp_keyring_count(start), 2);
	gsp_keyring_free(start);
	FILE *f = fopen(path, "w");
	fputs("# config-keyring 00\nnot base64\n", f);
	fclose(f);
	assert_int_equal(gsp_keyfile_load(path, &back, &fp2), -EBADMSG);
	start = gsp_repl_keyring(&cfg);
	assert_int_equal(gsp_keyring_count(start), 1);
	gsp_keyring_free(start);
	gsp_keyring_free(kr);
}

int main(void)
{
	aya_log_set_level(AYA_LOG_ERR);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rotation),
	        cmocka_unit_test(test_use_refused),
	        cmocka_unit_test(test_remove_still_sending),
	        cmocka_unit_test(test_start_errors),
	        cmocka_unit_test_setup_teardown(test_keyfile, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
