/*
 * Unit tests for state/store.c: files and failures. Corrupt, truncated and
 * future-format files, recovery by moving aside, undecodable records, the
 * directory lock, directory creation, and a full LMDB map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <lmdb.h>

#include "common/log.h"
#include "state/state.h"
#include "tests/state/helpers.h"

static uint64_t now_ms = UINT64_C(1700000000000);

static state_opts_t opts(unsigned flags, size_t map_size)
{
	return (state_opts_t){.node = "n1",
	                      .flags = flags,
	                      .map_size = map_size,
	                      .clock_ms = fake_clock,
	                      .clock_ctx = &now_ms};
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A store with one drain and one observation, closed. */
static void populate(const char *dir)
{
	state_opts_t o = opts(0, 0);
	state_t *st;
	assert_int_equal(state_open(dir, &o, &st), 0);
	assert_int_equal(state_drain_set(st, "www", "eu", true, "x"), 1);
	state_obs_t obs = {.observer = "n1",
	                   .endpoint = "192.0.2.1:80/http",
	                   .status = STATE_ST_UP,
	                   .utilization = NAN,
	                   .version = 5};
	assert_int_equal(state_obs_merge(st, &obs), 1);
	state_close(st);
}

static size_t count_drains(state_t *st)
{
	state_drain_t *l;
	size_t n;
	assert_int_equal(state_drain_list(st, &l, &n), 0);
	state_drain_list_free(l, n);
	return n;
}

/* Number of "state.lmdb.corrupt-*" files in dir. */
static int count_corrupt(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		n += strncmp(e->d_name, "state.lmdb.corrupt-", 19) == 0;
	}
	closedir(d);
	return n;
}

/* Ways to damage a populated data file. */
enum damage { GARBAGE_WHOLE, GARBAGE_META, GARBAGE_PAGES, TRUNCATED };

static void damage(const char *dir, enum damage how)
{
	const char *path = in_dir(dir, "state.lmdb");
	static char junk[16384];
	for (size_t i = 0; i < sizeof(junk); i++) {
		junk[i] = (char)(i * 131 + 7);
	}
	if (how == GARBAGE_WHOLE) {
		write_file(path, junk, sizeof(junk));
	} else if (how == GARBAGE_META || how == GARBAGE_PAGES) {
		/* Meta pages are pages 0 and 1; the B-tree pages follow. */
		int fd = open(path, O_WRONLY);
		off_t off = how == GARBAGE_META ? 0 : 8192;
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
		close(fd);
	} else {
		assert_int_equal(truncate(path, 4096 * 3), 0);
	}
}

static void test_corrupt(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		enum damage how;
	} cases[] = {
	        {"garbage file", GARBAGE_WHOLE},
	        {"garbage meta pages", GARBAGE_META},
	        {"garbage tree pages", GARBAGE_PAGES},
	        {"truncated file", TRUNCATED},
	};
	aya_log_set_level(AYA_LOG_ERR);
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case %s\n", cases[i].name);
		char *dir = tmpdir_new();
		assert_non_null(dir);
		populate(dir);
		damage(dir, cases[i].how);
		struct stat before, after;
		assert_int_equal(stat(in_dir(dir, "state.lmdb"), &before), 0);

		/* Without recovery: a clear error, the file left as it was. */
		state_opts_t o = opts(0, 0);
		state_t *st = (state_t *)&o; /* must be reset to NULL */
		assert_int_equal(state_open(dir, &o, &st), -EBADMSG);
		assert_null(st);
		assert_int_equal(stat(in_dir(dir, "state.lmdb"), &after), 0);
		assert_int_equal(after.st_size, before.st_size);
		assert_int_equal(count_corrupt(dir), 0);

		/* With recovery: moved aside, empty, usable, and says so. */
		o = opts(STATE_OPEN_RECOVER, 0);
		assert_int_equal(state_open(dir, &o, &st), 0);
		state_stats_t s;
		state_stats_get(st, &s);
		assert_true(s.recovered);
		assert_int_equal(state_obs_count(st), 0);
		assert_int_equal(count_drains(st), 0);
		assert_int_equal(count_corrupt(dir), 1);
		assert_int_equal(stat(in_dir(dir, "state.lmdb.corrupt-1700000000"), &after), 0);
		assert_int_equal(after.st_size, before.st_size);
		assert_int_equal(state_drain_set(st, "api", NULL, true, NULL), 1);
		state_close(st);

		/* The fresh file reopens normally, not recovered again. */
		assert_int_equal(state_open(dir, &o, &st), 0);
		state_stats_get(st, &s);
		assert_false(s.recovered);
		assert_int_equal(count_drains(st), 1);
		state_close(st);
		tmpdir_free(dir);
	}
	aya_log_set_level(AYA_LOG_INFO);
}

/* Second recovery in the same second gets its own name. */
static void test_recover_twice(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	state_opts_t o = opts(STATE_OPEN_RECOVER, 0);
	for (int i = 0; i < 2; i++) {
		static const char junk[8192] = "not an lmdb file";
		state_t *st;
		write_file(in_dir(dir, "state.lmdb"), junk, sizeof(junk));
		assert_int_equal(state_open(dir, &o, &st), 0);
		state_close(st);
	}
	assert_int_equal(count_corrupt(dir), 2);
	struct stat sb;
	assert_int_equal(stat(in_dir(dir, "state.lmdb.corrupt-1700000000-1"), &sb), 0);
	tmpdir_free(dir);
}

/* Raw LMDB access to plant records the API would never write. */
static void raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *val,
                    size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, in_dir(dir, "state.lmdb"), MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_future_format(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	populate(dir);
	static const uint8_t fmt2[4] = {0, 0, 0, 2};
	raw_put(dir, "meta", "format", 6, fmt2, sizeof(fmt2));
	/* A newer file is not ours to move aside, even when recovery is asked for. */
	state_opts_t o = opts(STATE_OPEN_RECOVER, 0);
	state_t *st;
	assert_int_equal(state_open(dir, &o, &st), -EPROTONOSUPPORT);
	assert_int_equal(count_corrupt(dir), 0);
	/* A format value of the wrong size is corruption. */
	static const uint8_t bad[2] = {0, 1};
	raw_put(dir, "meta", "format", 6, bad, sizeof(bad));
	o = opts(0, 0);
	assert_int_equal(state_open(dir, &o, &st), -EBADMSG);
	tmpdir_free(dir);
}

static void test_bad_records_skipped(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	populate(dir);
	static const struct {
		const char *name;
		const char *db;
		uint8_t key[8];
		size_t klen;
		uint8_t val[8];
		size_t vlen;
	} cases[] = {
	        {"observation with a short value", "observations", {1, 'x', 1, 'y'}, 4, {1}, 1},
	        {"observation with a bad key", "observations", {9, 'x'}, 2, {1}, 1},
	        {"override with a short value", "overrides", {1, 1, 'w', 0, 0}, 5, {1, 1}, 2},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		raw_put(dir, cases[i].db, cases[i].key, cases[i].klen, cases[i].val, cases[i].vlen);
	}
	state_opts_t o = opts(0, 0);
	state_t *st;
	assert_int_equal(state_open(dir, &o, &st), 0);
	state_stats_t s;
	state_stats_get(st, &s);
	assert_true(s.bad_records == AYA_ARRAY_LEN(cases));
	assert_false(s.recovered);
	/* The good records are all there. */
	assert_int_equal(state_obs_count(st), 1);
	assert_int_equal(count_drains(st), 1);
	/* A set over the undecodable drain record replaces it. */
	assert_int_equal(state_drain_set(st, "w", NULL, true, NULL), 1);
	assert_int_equal(count_drains(st), 2);
	state_close(st);
	tmpdir_free(dir);
}

static void test_lock_and_dirs(void **state)
{
	(void)state;
	char *base = tmpdir_new();
	assert_non_null(base);
	char dir[1024];
	snprintf(dir, sizeof(dir), "%s/a/b/state", base);
	state_opts_t o = opts(0, 0);
	state_t *st, *st2;
	assert_int_equal(state_open(dir, &o, &st), 0);
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(stat(in_dir(dir, "state.lmdb"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* A second opener of the same directory is refused. */
	assert_int_equal(state_open(dir, &o, &st2), -EBUSY);
	assert_null(st2);
	state_close(st);
	assert_int_equal(state_open(dir, &o, &st2), 0);
	state_close(st2);
	state_close(NULL);
	/* A file where the directory should be. */
	write_file(in_dir(base, "file"), "x", 1);
	char fdir[1024];
	snprintf(fdir, sizeof(fdir), "%s/file", base);
	assert_int_equal(state_open(fdir, &o, &st), -ENOTDIR);
	/* A node name over the limit. */
	char node[STATE_NODE_MAX + 2];
	memset(node, 'n', sizeof(node) - 1);
	node[sizeof(node) - 1] = '\0';
	o.node = node;
	assert_int_equal(state_open(dir, &o, &st), -ENAMETOOLONG);
	tmpdir_free(base);
}

/*
 * An upgrade's new ayad beside the running one: the holder's pid is in the
 * lock file, the lock is not free, and a read-only reader in another
 * process (a fork: LMDB forbids two environments of one file per process)
 * sees the holder's drains and cannot write.
 */
static void test_reader_beside_holder(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	state_opts_t o = opts(0, 0);
	state_t *st;
	long pid = 0;
	assert_int_equal(state_lock_pid(dir, &pid), -ENOENT); /* no directory yet */
	assert_true(state_lock_free(dir));
	assert_int_equal(state_open(dir, &o, &st), 0);
	assert_int_equal(state_drain_set(st, "www", NULL, true, "upgrade"), 1);
	assert_int_equal(state_lock_pid(dir, &pid), 0);
	assert_int_equal(pid, (long)getpid());
	assert_false(state_lock_free(dir));
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		state_opts_t ro = opts(0, 0);
		state_t *rd = NULL;
		state_drain_t *list = NULL;
		size_t n = 0;
		ro.flags = STATE_OPEN_READONLY;
		int code = state_open(dir, &ro, &rd) != 0                      ? 10
		           : state_drain_list(rd, &list, &n) != 0 || n != 1    ? 11
		           : strcmp(list[0].note, "upgrade") != 0              ? 12
		           : state_drain_set(rd, "api", NULL, true, NULL) >= 0 ? 13
		                                                               : 0;
		state_drain_list_free(list, n);
		state_close(rd);
		_exit(code);
	}
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	state_close(st);
	assert_true(state_lock_free(dir));
	tmpdir_free(dir);
}

static void test_map_full(void **state)
{
	(void)state;
	char *dir = tmpdir_new();
	assert_non_null(dir);
	aya_log_set_level(AYA_LOG_ERR);
	state_opts_t o = opts(0, 256 * 1024);
	state_t *st;
	assert_int_equal(state_open(dir, &o, &st), 0);
	/* Fill with flushed observations until the map is full. */
	char ep[64];
	int rc = 0;
	unsigned i, flushed = 0;
	for (i = 0; i < 100000 && rc == 0; i++) {
		snprintf(ep, sizeof(ep), "10.%u.%u.%u:443/https", i >> 16, (i >> 8) & 255, i & 255);
		state_obs_t obs = {.observer = "n1",
		                   .endpoint = ep,
		                   .status = STATE_ST_UP,
		                   .utilization = NAN,
		                   .version = 1};
		assert_int_equal(state_obs_merge(st, &obs), 1);
		if (i % 100 == 99) {
			rc = state_flush(st);
			if (rc == 0) {
				flushed = i + 1;
			}
		}
	}
	assert_int_equal(rc, -ENOSPC);
	state_stats_t s;
	state_stats_get(st, &s);
	assert_true(s.flush_errors == 1);
	assert_int_equal(s.n_dirty, i - flushed); /* kept for a later try */
	assert_int_equal(state_obs_count(st), i); /* memory still answers */
	/* Drains also fail cleanly, and reads go on. */
	char svc[64];
	int drc = 1;
	for (unsigned k = 0; k < 1000 && drc == 1; k++) {
		snprintf(svc, sizeof(svc), "svc%u", k);
		drc = state_drain_set(st, svc, NULL, true, NULL);
	}
	assert_int_equal(drc, -ENOSPC);
	assert_int_equal(state_drain_set(st, "one-more", NULL, true, NULL), -ENOSPC);
	state_close(st); /* its final flush fails too, and is logged */

	/* A bigger map later: the flushed records are intact. */
	o = opts(0, 0);
	assert_int_equal(state_open(dir, &o, &st), 0);
	assert_int_equal(state_obs_count(st), flushed);
	state_close(st);
	aya_log_set_level(AYA_LOG_INFO);
	tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_corrupt),       cmocka_unit_test(test_recover_twice),
	        cmocka_unit_test(test_future_format), cmocka_unit_test(test_bad_records_skipped),
	        cmocka_unit_test(test_lock_and_dirs), cmocka_unit_test(test_reader_beside_holder),
	        cmocka_unit_test(test_map_full),
	};
	return cmocka_run_group_tests_name("state/store", tests, NULL, NULL);
}
