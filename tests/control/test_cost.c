/*
 * `cost`: the request and reply through the codec, the region and value
 * checks (unknown region listing the regions, out of range), the list from
 * the config and the stored overrides, the services marks, and the text and
 * JSON renderings.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "control/control.h"
#include "state/state.h"
#include "tests/control/util.h"

static cfg_region_t regions[] = {{.name = "dear", .cost = 5}, {.name = "cheap", .cost = 1}};
static cfg_t cfg = {.regions = regions, .n_regions = 2};

static const state_cost_t stored[] = {
        {.region = "cheap", .cost = 10, .set = true, .since_s = 1000, .origin = "node-1"},
        {.region = "gone", .cost = 3, .set = true, .since_s = 1000, .origin = "node-2"},
};

static void test_request_codec(void **state)
{
	(void)state;
	static const ctl_request_t cases[] = {
	        {.cmd = CTL_CMD_COST},
	        {.cmd = CTL_CMD_COST, .region = "cheap", .cost = 2.5},
	        {.cmd = CTL_CMD_COST, .region = "cheap", .cost_reset = true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *f = NULL;
		size_t len = 0, body = 0;
		assert_int_equal(ctl_request_frame(&cases[i], &f, &len), 0);
		assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
		aya_arena_t *a = aya_arena_new();
		ctl_request_t got;
		assert_int_equal(ctl_request_decode(f + CTL_FRAME_HDR, body, a, &got), 0);
		assert_int_equal(got.cmd, CTL_CMD_COST);
		assert_string_equal(got.region, cases[i].region != NULL ? cases[i].region : "");
		assert_int_equal(got.cost_reset, cases[i].cost_reset);
		assert_true(got.cost == cases[i].cost);
		aya_arena_free(a);
		free(f);
	}
	ctl_cmd_t cmd;
	assert_int_equal(ctl_cmd_parse("cost", &cmd), 0);
	assert_int_equal(cmd, CTL_CMD_COST);
}

static void test_resolve(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		ctl_request_t req;
		int rc;
		const char *region, *err;
	} cases[] = {
	        {"set", {.region = "cheap", .cost = 10}, 0, "cheap", NULL},
	        {"any case, as configured", {.region = "CHEAP", .cost = 0}, 0, "cheap", NULL},
	        {"the maximum", {.region = "dear", .cost = 1000000}, 0, "dear", NULL},
	        {"reset ignores the value",
	         {.region = "dear", .cost_reset = true, .cost = -1},
	         0,
	         "dear",
	         NULL},
	        {"unknown region",
	         {.region = "mars", .cost = 1},
	         -ENOENT,
	         NULL,
	         "unknown region 'mars' (regions: dear, cheap)"},
	        {"negative",
	         {.region = "cheap", .cost = -1},
	         -ERANGE,
	         NULL,
	         "cost -1 for region cheap is out of range 0..1000000"},
	        {"too high", {.region = "cheap", .cost = 1000000.5}, -ERANGE, NULL, "out of range"},
	        {"not a number", {.region = "cheap", .cost = NAN}, -ERANGE, NULL, "out of range"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		aya_arena_t *a = aya_arena_new();
		const char *region = NULL, *err = NULL;
		int rc = ctl_cost_resolve(&cfg, &cases[i].req, a, &region, &err);
		if (rc != cases[i].rc) {
			fail_msg("%s: rc %d, want %d", cases[i].name, rc, cases[i].rc);
		}
		if (cases[i].region != NULL) {
			assert_string_equal(region, cases[i].region);
		} else if (strstr(err, cases[i].err) == NULL) {
			fail_msg("%s: error '%s' lacks '%s'", cases[i].name, err, cases[i].err);
		}
		aya_arena_free(a);
	}
}

static void test_fill_render(void **state)
{
	(void)state;
	aya_arena_t *a = aya_arena_new();
	ctl_reply_t r = {.cmd = CTL_CMD_COST, .ok = true};
	assert_int_equal(ctl_cost_fill(&cfg, stored, 2, 1065, a, &r.cost), 0);
	/* Config order; an override of a region not configured is left out. */
	assert_int_equal(r.cost.n_regions, 2);
	ctl_reply_t *back = roundtrip(&r);
	assert_int_equal(back->cmd, CTL_CMD_COST);
	const ctl_region_cost_t *d = &back->cost.regions[0], *c = &back->cost.regions[1];
	assert_string_equal(d->region, "dear");
	assert_true(d->cost == 5 && d->config_cost == 5 && !d->overridden);
	assert_string_equal(c->region, "cheap");
	assert_true(c->cost == 10 && c->config_cost == 1 && c->overridden);
	assert_string_equal(c->origin, "node-1");
	assert_int_equal(c->since_s, 1000);

	char *text = text_of(back), line[256];
	assert_string_equal(line_with(text, "dear", line, sizeof(line)),
	                    "dear             5           5  -");
	assert_string_equal(line_with(text, "cheap", line, sizeof(line)),
	                    "cheap            1          10  set 1m05s ago by node-1");
	free(text);
	json_t *j = json_of(back);
	json_t *jc = json_array_get(json_object_get(j, "regions"), 1);
	assert_string_equal(json_string_value(json_object_get(jc, "region")), "cheap");
	assert_true(json_real_value(json_object_get(jc, "cost")) == 10);
	assert_true(json_real_value(json_object_get(jc, "config_cost")) == 1);
	assert_true(json_is_true(json_object_get(jc, "overridden")));
	assert_string_equal(json_string_value(json_object_get(jc, "origin")), "node-1");
	assert_int_equal(json_integer_value(json_object_get(jc, "age_s")), 65);
	assert_null(json_object_get(j, "region")); /* a list, no action */
	json_decref(j);
	ctl_reply_free(back);

	/* The action lines. */
	static const struct {
		bool reset, changed;
		const char *want;
	} acts[] = {
	        {false, true, "cost: region cheap set to 10 (config 1)\n"},
	        {false, false, "cost: region cheap already costs 10, nothing changed\n"},
	        {true, true, "cost: region cheap reset to the config's 1\n"},
	        {true, false, "cost: region cheap has no runtime cost, nothing changed\n"},
	};
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		r.cost.region = "cheap";
		r.cost.reset = acts[i].reset;
		r.cost.changed = acts[i].changed;
		back = roundtrip(&r);
		text = text_of(back);
		assert_string_equal(text, acts[i].want);
		free(text);
		j = json_of(back);
		assert_string_equal(json_string_value(json_object_get(j, "region")), "cheap");
		assert_int_equal(json_is_true(json_object_get(j, "changed")), acts[i].changed);
		json_decref(j);
		ctl_reply_free(back);
	}
	aya_arena_free(a);
}

static void test_services_marks(void **state)
{
	(void)state;
	ctl_pool_t pools[] = {{.region = "dear", .cost = 5, .config_cost = 5},
	                      {.region = "cheap", .cost = 10, .config_cost = 10}};
	ctl_service_t svc = {.name = "www.example.com",
	                     .when_all_down = "answer_all",
	                     .pools = pools,
	                     .n_pools = 2};
	ctl_reply_t r = {.cmd = CTL_CMD_SERVICES,
	                 .ok = true,
	                 .services = {.services = &svc, .n_services = 1}};
	ctl_services_mark_costs(&r.services, &cfg, stored, 2);
	assert_false(pools[0].cost_overridden);
	assert_true(pools[1].cost_overridden);
	assert_true(pools[1].config_cost == 1);
	ctl_reply_t *back = roundtrip(&r);
	char *text = text_of(back), line[256];
	assert_string_equal(line_with(text, "pool cheap", line, sizeof(line)),
	                    "  pool cheap  cost 10 (set, config 1)");
	assert_string_equal(line_with(text, "pool dear", line, sizeof(line)),
	                    "  pool dear  cost 5");
	free(text);
	json_t *j = json_of(back);
	json_t *p = json_array_get(
	        json_object_get(json_array_get(json_object_get(j, "services"), 0), "pools"), 1);
	assert_true(json_is_true(json_object_get(p, "cost_overridden")));
	assert_true(json_real_value(json_object_get(p, "config_cost")) == 1);
	json_decref(j);
	ctl_reply_free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request_codec),
	        cmocka_unit_test(test_resolve),
	        cmocka_unit_test(test_fill_render),
	        cmocka_unit_test(test_services_marks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
