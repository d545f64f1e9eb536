/*
 * Unit tests for state/view.c: a view built from a store holds every
 * observation sorted by (endpoint key, observer) and the active drains, the
 * lookup returns one endpoint's run, the view does not follow later changes
 * of the store, and a view from given records checks its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "state/state.h"
#include "tests/state/helpers.h"

#define NOW UINT64_C(1700000000000)

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
	f->dir = tmpdir_new();
	assert_non_null(f->dir);
	f->now_ms = NOW;
	f->opts = (state_opts_t){.node = "n1", .clock_ms = fake_clock, .clock_ctx = &f->now_ms};
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

static void merge(state_t *st, const char *observer, const char *endpoint, state_status_t status,
                  uint64_t version)
{
	state_obs_t o = {.observer = observer,
	                 .endpoint = endpoint,
	                 .status = status,
	                 .utilization = NAN,
	                 .observed_at_ms = NOW - 100,
	                 .version = version};
	assert_int_equal(state_obs_merge(st, &o), 1);
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	state_view_t *v = NULL;
	assert_int_equal(state_view_build(f->st, &v), 0);
	assert_non_null(v);
	assert_int_equal(state_view_obs_count(v), 0);
	size_t n = 1;
	assert_null(state_view_obs(v, "192.0.2.1:80/web", &n));
	assert_int_equal(n, 0);
	n = 1;
	assert_null(state_view_drains(v, &n));
	assert_int_equal(n, 0);
	state_view_free(v);
	state_view_free(NULL);
}

static void test_lookup(void **state)
{
	struct fixture *f = *state;
	/* Inserted out of order; "192.0.2.10" sorts between "192.0.2.1:" and "192.0.2.2". */
	static const struct {
		const char *observer, *endpoint;
	} rows[] = {
	        {"n3", "192.0.2.1:8080/web"},   {"n1", "192.0.2.2:8080/web"},
	        {"n1", "192.0.2.1:8080/web"},   {"n1", "192.0.2.10:8080/web"},
	        {"n2", "192.0.2.1:8080/web"},   {"n2", "[2001:db8::1]:8080/web"},
	        {"n1", "192.0.2.1:8080/other"},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(rows); i++) {
		merge(f->st, rows[i].observer, rows[i].endpoint, STATE_ST_UP, 10 + i);
	}
	state_view_t *v = NULL;
	assert_int_equal(state_view_build(f->st, &v), 0);
	assert_int_equal(state_view_obs_count(v), AYA_ARRAY_LEN(rows));
	static const struct {
		const char *name, *key;
		const char *observers; /* in order, one letter per node number */
	} cases[] = {
	        {"three observers, sorted by observer", "192.0.2.1:8080/web", "123"},
	        {"a longer address is another key", "192.0.2.10:8080/web", "1"},
	        {"another monitor is another key", "192.0.2.1:8080/other", "1"},
	        {"IPv6 key", "[2001:db8::1]:8080/web", "2"},
	        {"a key prefix is no match", "192.0.2.1:8080/we", ""},
	        {"absent", "192.0.2.3:8080/web", ""},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		size_t n = 0;
		const state_obs_t *o = state_view_obs(v, cases[i].key, &n);
		assert_int_equal(n, strlen(cases[i].observers));
		assert_true((o == NULL) == (n == 0));
		for (size_t k = 0; k < n; k++) {
			char want[3] = {'n', cases[i].observers[k], '\0'};
			assert_string_equal(o[k].observer, want);
			assert_string_equal(o[k].endpoint, cases[i].key);
			assert_string_equal(o[k].error, "");
		}
	}
	state_view_free(v);
}

/* Drains as state_drain_list gives them; the view keeps its moment. */
static void test_drains_and_moment(void **state)
{
	struct fixture *f = *state;
	merge(f->st, "n1", "192.0.2.1:8080/web", STATE_ST_DOWN, 10);
	assert_int_equal(state_drain_set(f->st, "www.example.com", "eu-west", true, "ops"), 1);
	assert_int_equal(state_drain_set(f->st, "api.example.com", NULL, true, NULL), 1);
	assert_int_equal(state_drain_set(f->st, "old.example.com", NULL, true, NULL), 1);
	assert_int_equal(state_drain_set(f->st, "old.example.com", NULL, false, NULL), 1);
	state_view_t *v = NULL;
	assert_int_equal(state_view_build(f->st, &v), 0);
	state_drain_t *list = NULL;
	size_t nl = 0;
	assert_int_equal(state_drain_list(f->st, &list, &nl), 0);
	size_t n = 0;
	const state_drain_t *d = state_view_drains(v, &n);
	assert_int_equal(n, 2); /* the undrained one is a tombstone, not listed */
	assert_int_equal(n, nl);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(d[i].service, list[i].service);
		assert_true((d[i].target == NULL) == (list[i].target == NULL));
		if (d[i].target != NULL) {
			assert_string_equal(d[i].target, list[i].target);
		}
		assert_int_equal(d[i].kind, list[i].kind);
		assert_string_equal(d[i].note, list[i].note);
	}
	state_drain_list_free(list, nl);

	/* Later changes of the store do not reach the view. */
	f->now_ms += 1000;
	merge(f->st, "n1", "192.0.2.1:8080/web", STATE_ST_UP, 20);
	merge(f->st, "n2", "192.0.2.1:8080/web", STATE_ST_UP, 21);
	assert_int_equal(state_drain_set(f->st, "www.example.com", "eu-west", false, NULL), 1);
	const state_obs_t *o = state_view_obs(v, "192.0.2.1:8080/web", &n);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].status, STATE_ST_DOWN);
	assert_int_equal(o[0].version, 10);
	assert_non_null(state_view_drains(v, &n));
	assert_int_equal(n, 2);
	state_view_free(v);
}

static void test_from_records(void **state)
{
	(void)state;
	state_obs_t obs[] = {
	        {.observer = "n2", .endpoint = "b", .status = STATE_ST_UP, .version = 1},
	        {.observer = "n1", .endpoint = "b", .status = STATE_ST_DOWN, .version = 1},
	        {.observer = "n1", .endpoint = "a", .error = "refused", .version = 1},
	};
	state_drain_t drains[] = {{.service = "www.example.com", .target = "192.0.2.1"}};
	state_view_t *v = NULL;
	assert_int_equal(state_view_from(obs, 3, drains, 1, &v), 0);
	size_t n = 0;
	const state_obs_t *o = state_view_obs(v, "b", &n);
	assert_int_equal(n, 2);
	assert_string_equal(o[0].observer, "n1");
	o = state_view_obs(v, "a", &n);
	assert_int_equal(n, 1);
	assert_string_equal(o[0].error, "refused");
	const state_drain_t *d = state_view_drains(v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].target, "192.0.2.1");
	assert_ptr_not_equal(d[0].service, drains[0].service); /* copied */
	assert_string_equal(d[0].origin, "");
	state_view_free(v);

	/* Nothing at all; records without names are refused. */
	assert_int_equal(state_view_from(NULL, 0, NULL, 0, &v), 0);
	assert_int_equal(state_view_obs_count(v), 0);
	state_view_free(v);
	obs[1].endpoint = NULL;
	assert_int_equal(state_view_from(obs, 3, NULL, 0, &v), -EINVAL);
	assert_null(v);
	drains[0].service = NULL;
	assert_int_equal(state_view_from(NULL, 0, drains, 1, &v), -EINVAL);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_drains_and_moment, setup, teardown),
	        cmocka_unit_test(test_from_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
