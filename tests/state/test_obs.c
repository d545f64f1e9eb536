/*
 * Unit tests for state/obs.c: the merge rule, the hot map, flushing and
 * persistence, dropping an observer, and a measurement of merge and flush
 * speed (printed, not asserted: sanitizer builds are slower).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/log.h"
#include "state/state.h"
#include "tests/state/helpers.h"

struct fixture {
	char *dir;
	uint64_t now_ms;
	state_opts_t opts;
	state_t *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	aya_log_set_level(AYA_LOG_WARN);
	f->dir = tmpdir_new();
	assert_non_null(f->dir);
	f->now_ms = UINT64_C(1700000000000);
	f->opts = (state_opts_t){.node = "n1",
	                         .flush_interval_ms = 500,
	                         .clock_ms = fake_clock,
	                         .clock_ctx = &f->now_ms};
	assert_int_equal(state_open(f->dir, &f->opts, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	state_close(f->st);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(f->dir, &f->opts, &f->st), 0);
}

static state_obs_t mk(const char *observer, const char *endpoint, uint64_t version,
                      state_status_t status, uint32_t rtt_us)
{
	return (state_obs_t){.observer = observer,
	                     .endpoint = endpoint,
	                     .status = status,
	                     .rise = status == STATE_ST_UP ? 2 : 0,
	                     .fall = status == STATE_ST_DOWN ? 3 : 0,
	                     .rtt_us = rtt_us,
	                     .capacity = 100,
	                     .utilization = NAN,
	                     .observed_at_ms = version * 10,
	                     .version = version};
}

static void test_merge_rule(void **state)
{
	struct fixture *f = *state;
	static const char *EP1 = "192.0.2.1:80/http", *EP2 = "192.0.2.2:80/http";
	static const struct {
		const char *name;
		const char *observer, *endpoint;
		uint64_t version;
		state_status_t status;
		uint32_t rtt_us;
		int rc;
		/* stored afterwards under (observer, endpoint) */
		uint64_t want_version;
		uint32_t want_rtt;
	} steps[] = {
	        {"first record stored", "n1", "ep1", 10, STATE_ST_UP, 500, 1, 10, 500},
	        {"newer wins", "n1", "ep1", 11, STATE_ST_DOWN, 900, 1, 11, 900},
	        {"older ignored", "n1", "ep1", 5, STATE_ST_UP, 100, 0, 11, 900},
	        {"identical ignored", "n1", "ep1", 11, STATE_ST_DOWN, 900, 0, 11, 900},
	        {"equal version, smaller encoding loses", "n1", "ep1", 11, STATE_ST_UP, 900, 0, 11,
	         900},
	        {"equal version, greater encoding wins", "n1", "ep1", 11, STATE_ST_DOWN, 901, 1, 11,
	         901},
	        {"other observer independent (older version)", "n2", "ep1", 3, STATE_ST_UP, 50, 1,
	         3, 50},
	        {"first observer untouched", "n1", "ep1", 1, STATE_ST_UP, 1, 0, 11, 901},
	        {"other endpoint independent", "n1", "ep2", 2, STATE_ST_UP, 70, 1, 2, 70},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(steps); i++) {
		const char *ep = strcmp(steps[i].endpoint, "ep1") == 0 ? EP1 : EP2;
		print_message("step %s\n", steps[i].name);
		state_obs_t o = mk(steps[i].observer, ep, steps[i].version, steps[i].status,
		                   steps[i].rtt_us);
		assert_int_equal(state_obs_merge(f->st, &o), steps[i].rc);
		state_obs_t got;
		assert_int_equal(state_obs_find(f->st, steps[i].observer, ep, &got), 0);
		assert_true(got.version == steps[i].want_version);
		assert_int_equal(got.rtt_us, steps[i].want_rtt);
		assert_string_equal(got.observer, steps[i].observer);
		assert_string_equal(got.endpoint, ep);
	}
	assert_int_equal(state_obs_count(f->st), 3);
	state_obs_t got;
	assert_int_equal(state_obs_find(f->st, "n3", EP1, &got), -ENOENT);
	state_stats_t s;
	state_stats_get(f->st, &s);
	assert_true(s.generation == 5);
	assert_int_equal(s.n_dirty, 3);
}

static void test_merge_rejects(void **state)
{
	struct fixture *f = *state;
	char long_node[STATE_NODE_MAX + 2], long_ep[STATE_NAME_MAX + 2];
	memset(long_node, 'n', sizeof(long_node) - 1);
	long_node[sizeof(long_node) - 1] = '\0';
	memset(long_ep, 'e', sizeof(long_ep) - 1);
	long_ep[sizeof(long_ep) - 1] = '\0';
	static const struct {
		const char *name;
		int field; /* what to break */
		int rc;
	} cases[] = {
	        {"version 0", 0, -EINVAL},
	        {"status 3", 1, -EINVAL},
	        {"utilization 1.5", 2, -EINVAL},
	        {"utilization -0.1", 3, -EINVAL},
	        {"empty observer", 4, -EINVAL},
	        {"observer too long", 5, -ENAMETOOLONG},
	        {"endpoint too long", 6, -ENAMETOOLONG},
	        {"utilization inf", 7, -EINVAL},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		state_obs_t o = mk("n1", "192.0.2.1:80/http", 1, STATE_ST_UP, 1);
		print_message("case %s\n", cases[i].name);
		switch (cases[i].field) {
		case 0:
			o.version = 0;
			break;
		case 1:
			o.status = (state_status_t)3;
			break;
		case 2:
			o.utilization = 1.5;
			break;
		case 3:
			o.utilization = -0.1;
			break;
		case 4:
			o.observer = "";
			break;
		case 5:
			o.observer = long_node;
			break;
		case 6:
			o.endpoint = long_ep;
			break;
		default:
			o.utilization = INFINITY;
			break;
		}
		assert_int_equal(state_obs_merge(f->st, &o), cases[i].rc);
	}
	assert_int_equal(state_obs_count(f->st), 0);
}

static void test_flush_and_reopen(void **state)
{
	struct fixture *f = *state;
	char ep[64];
	for (unsigned i = 0; i < 300; i++) {
		snprintf(ep, sizeof(ep), "10.0.%u.%u:443/https", i / 250, i % 250);
		state_obs_t o = mk(i % 2 ? "n1" : "n2", ep, 100 + i, STATE_ST_UP, i);
		o.utilization = (double)i / 300.0;
		assert_int_equal(state_obs_merge(f->st, &o), 1);
	}
	assert_false(state_flush_due(f->st, f->now_ms + 499));
	assert_true(state_flush_due(f->st, f->now_ms + 500));
	assert_int_equal(state_flush(f->st), 0);
	assert_false(state_flush_due(f->st, f->now_ms + 10000));
	state_stats_t s;
	state_stats_get(f->st, &s);
	assert_int_equal(s.n_dirty, 0);
	assert_true(s.flushes == 1);
	/* Nothing dirty: a flush is a no-op, not a transaction. */
	assert_int_equal(state_flush(f->st), 0);
	state_stats_get(f->st, &s);
	assert_true(s.flushes == 1);

	reopen(f);
	assert_int_equal(state_obs_count(f->st), 300);
	for (unsigned i = 0; i < 300; i++) {
		state_obs_t got;
		snprintf(ep, sizeof(ep), "10.0.%u.%u:443/https", i / 250, i % 250);
		assert_int_equal(state_obs_find(f->st, i % 2 ? "n1" : "n2", ep, &got), 0);
		assert_true(got.version == 100 + i);
		assert_int_equal(got.rtt_us, i);
		assert_true(got.utilization == (double)i / 300.0);
		assert_int_equal(got.status, STATE_ST_UP);
		assert_int_equal(got.capacity, 100);
	}
	/* Loaded records are clean, and an older merge still loses after the restart. */
	state_stats_get(f->st, &s);
	assert_int_equal(s.n_dirty, 0);
	state_obs_t old = mk("n2", "10.0.0.0:443/https", 99, STATE_ST_DOWN, 1);
	assert_int_equal(state_obs_merge(f->st, &old), 0);
	assert_true(state_next_version(f->st) > 399);
}

/*
 * What is durable is what was flushed: a child merges, flushes some and
 * dies without closing; the parent finds exactly the flushed records.
 */
static void test_unflushed_lost_on_crash(void **state)
{
	struct fixture *f = *state;
	state_close(f->st);
	f->st = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		state_t *st;
		if (state_open(f->dir, &f->opts, &st) != 0) {
			_exit(2);
		}
		state_obs_t a = mk("n1", "192.0.2.1:80/http", 1, STATE_ST_UP, 1);
		state_obs_t b = mk("n1", "192.0.2.2:80/http", 1, STATE_ST_UP, 1);
		if (state_obs_merge(st, &a) != 1 || state_flush(st) != 0 ||
		    state_obs_merge(st, &b) != 1) {
			_exit(3);
		}
		_exit(0); /* no close, no flush of b */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(state_open(f->dir, &f->opts, &f->st), 0);
	state_obs_t got;
	assert_int_equal(state_obs_find(f->st, "n1", "192.0.2.1:80/http", &got), 0);
	assert_int_equal(state_obs_find(f->st, "n1", "192.0.2.2:80/http", &got), -ENOENT);
}

static int count_n1(const state_obs_t *obs, void *ctx)
{
	if (strcmp(obs->observer, "n1") == 0) {
		(*(int *)ctx)++;
	}
	return 0;
}

static int stop_at_first(const state_obs_t *obs, void *ctx)
{
	(void)obs;
	(*(int *)ctx)++;
	return 7;
}

static void test_drop_observer(void **state)
{
	struct fixture *f = *state;
	static const char *observers[] = {"n1", "n10", "n2", "n"};
	char ep[64];
	for (size_t k = 0; k < AYA_ARRAY_LEN(observers); k++) {
		for (unsigned i = 0; i < 50; i++) {
			snprintf(ep, sizeof(ep), "192.0.2.%u:80/http", i);
			state_obs_t o = mk(observers[k], ep, 1 + i, STATE_ST_UP, i);
			assert_int_equal(state_obs_merge(f->st, &o), 1);
		}
		/* Half flushed, half still dirty when the drop comes. */
		if (k == 1) {
			assert_int_equal(state_flush(f->st), 0);
		}
	}
	int n = 0;
	assert_int_equal(state_obs_foreach(f->st, count_n1, &n), 0);
	assert_int_equal(n, 50);
	n = 0;
	assert_int_equal(state_obs_foreach(f->st, stop_at_first, &n), 7);
	assert_int_equal(n, 1);

	/* "n1" is a prefix of "n10" as text, not as a key: n10 stays. */
	assert_int_equal(state_obs_drop_observer(f->st, "n1"), 50);
	assert_int_equal(state_obs_drop_observer(f->st, "n1"), 0);
	assert_int_equal(state_obs_drop_observer(f->st, "nobody"), 0);
	assert_int_equal(state_obs_count(f->st), 150);
	n = 0;
	assert_int_equal(state_obs_foreach(f->st, count_n1, &n), 0);
	assert_int_equal(n, 0);
	reopen(f);
	assert_int_equal(state_obs_count(f->st), 150);
	state_obs_t got;
	assert_int_equal(state_obs_find(f->st, "n1", "192.0.2.7:80/http", &got), -ENOENT);
	for (size_t k = 1; k < AYA_ARRAY_LEN(observers); k++) {
		assert_int_equal(state_obs_find(f->st, observers[k], "192.0.2.7:80/http", &got), 0);
		assert_true(got.version == 8);
	}
	/* A dropped observer's records may come back later. */
	state_obs_t o = mk("n1", "192.0.2.7:80/http", 1, STATE_ST_UP, 1);
	assert_int_equal(state_obs_merge(f->st, &o), 1);
	assert_int_equal(state_obs_drop_observer(f->st, ""), -EINVAL);
}

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* 10k endpoints x 3 observers; measured, and every record checked afterwards. */
static void test_measure(void **state)
{
	struct fixture *f = *state;
	enum { N_EP = 10000, ROUNDS = 10 };
	static const char *observers[] = {"n1", "n2", "n3"};
	char ep[64];
	struct timespec t0, t1, t2, t3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned merged = 0;
	for (unsigned r = 1; r <= ROUNDS; r++) {
		for (unsigned i = 0; i < N_EP; i++) {
			snprintf(ep, sizeof(ep), "10.%u.%u.%u:443/https", i >> 16, (i >> 8) & 255,
			         i & 255);
			for (size_t k = 0; k < AYA_ARRAY_LEN(observers); k++) {
				state_obs_t o = mk(observers[k], ep, r, STATE_ST_UP, r * 10);
				assert_int_equal(state_obs_merge(f->st, &o), 1);
				merged++;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(state_obs_count(f->st), N_EP * 3);
	assert_int_equal(state_flush(f->st), 0); /* first flush: 30k inserts */
	clock_gettime(CLOCK_MONOTONIC, &t2);
	/* A steady-state flush: 10k updated records. */
	for (unsigned i = 0; i < N_EP; i++) {
		snprintf(ep, sizeof(ep), "10.%u.%u.%u:443/https", i >> 16, (i >> 8) & 255, i & 255);
		state_obs_t o = mk("n1", ep, ROUNDS + 1, STATE_ST_DOWN, 1);
		assert_int_equal(state_obs_merge(f->st, &o), 1);
	}
	struct timespec t4;
	clock_gettime(CLOCK_MONOTONIC, &t4);
	assert_int_equal(state_flush(f->st), 0);
	clock_gettime(CLOCK_MONOTONIC, &t3);
	state_stats_t s;
	state_stats_get(f->st, &s);
	print_message("measure: %u merges in %.3f s = %.0f merges/s; flush of 30k new %.1f ms, "
	              "of 10k updated %.1f ms; file %zu KiB\n",
	              merged, elapsed_s(&t0, &t1), merged / elapsed_s(&t0, &t1),
	              elapsed_s(&t1, &t2) * 1e3, elapsed_s(&t4, &t3) * 1e3, s.map_used / 1024);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	reopen(f); /* close, verify in a child, open, load 30k records */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("measure: reopen with 30k observations %.1f ms\n", elapsed_s(&t0, &t1) * 1e3);
	assert_int_equal(state_obs_count(f->st), N_EP * 3);
	state_obs_t got;
	assert_int_equal(state_obs_find(f->st, "n1", "10.0.39.15:443/https", &got), 0);
	assert_true(got.version == ROUNDS + 1);
	assert_int_equal(state_obs_find(f->st, "n3", "10.0.39.15:443/https", &got), 0);
	assert_true(got.version == ROUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_merge_rule, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_merge_rejects, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_flush_and_reopen, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unflushed_lost_on_crash, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drop_observer, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_measure, setup, teardown),
	};
	return cmocka_run_group_tests_name("state/obs", tests, NULL, NULL);
}
