/*
 * The service commands' replies (control/codec_svc.c, control/render_svc.c):
 * services, drain/undrain and explain survive a protobuf round trip field
 * for field, and render to the JSON keys and text lines scripts and people
 * rely on.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

/* ---- fixtures ---- */

static const ctl_endpoint_t eu_eps[] = {
        {.address = "192.0.2.10", .weight = 2, .healthy = true},
        {.address = "2001:db8::10", .weight = 1, .capacity = 500, .healthy = false},
};
static const ctl_endpoint_t us_eps[] = {
        {.address = "198.51.100.10", .weight = 1, .healthy = true, .drained = true},
};
static const ctl_pool_t pools[] = {
        {.region = "eu-west",
         .cost = 1,
         .endpoints = eu_eps,
         .n_endpoints = 2,
         .utilization = 0.72,
         .forecast = 0.9,
         .target = 0.8,
         .limit = 0.95,
         .admit = 0.613,
         .owner = "ams-1",
         .share = 61.25},
        {.region = "us-east",
         .cost = 2.5,
         .burst = true,
         .drained = true,
         .endpoints = us_eps,
         .n_endpoints = 1,
         .utilization = NAN,
         .forecast = NAN,
         .target = 0.8,
         .limit = 0.95,
         .admit = 0,
         .closed = true,
         .owner = "",
         .share = NAN},
};
static const char *const policy[] = {"healthy", "drain", "geo", "weighted", "first_n 1"};
static const ctl_service_t services[] = {
        {.name = "www.svc.example.com",
         .ttl_s = 30,
         .policy = policy,
         .n_policy = 5,
         .pools = pools,
         .n_pools = 2,
         .when_all_down = "answer_all"},
        {.name = "api.svc.example.com",
         .ttl_s = 5,
         .policy = policy,
         .n_policy = 1,
         .pools = pools,
         .n_pools = 1,
         .when_all_down = "empty"},
};
static const ctl_drain_rec_t drains[] = {
        {.service = "www.svc.example.com",
         .kind = "region",
         .target = "us-east",
         .since_s = 1700000000,
         .origin = "ams-1",
         .reason = "kernel upgrade",
         .until_s = 1700007500},
        {.service = "old.example.com", .kind = "service", .target = "", .origin = ""},
};

static ctl_reply_t services_reply(void)
{
	ctl_reply_t r = {.cmd = CTL_CMD_SERVICES, .ok = true};
	r.services = (ctl_services_t){.services = services,
	                              .n_services = 2,
	                              .drains = drains,
	                              .n_drains = 2,
	                              .now_s = 1700000300};
	return r;
}

static const char *const pool_order[] = {"eu-west", "us-east"};
static const char *const answer[] = {"192.0.2.10"};
static const ctl_explain_event_t events[] = {
        {.step = 1,
         .filter = "drain",
         .endpoint = "198.51.100.10",
         .region = "us-east",
         .reason = "pool drained",
         .tier = 0},
        {.step = 4,
         .filter = "first_n",
         .endpoint = "192.0.2.10",
         .region = "eu-west",
         .reason = "kept",
         .kept = true},
};

static const ctl_explain_load_t explain_load[] = {
        {.region = "eu-west", .admit = 0.5, .closed = false, .utilization = 0.9, .forecast = 1.1},
        {.region = "us-east", .admit = 1, .closed = true, .utilization = NAN, .forecast = NAN},
};

static ctl_reply_t explain_reply(const char *attribution)
{
	ctl_reply_t r = {.cmd = CTL_CMD_EXPLAIN, .ok = true};
	r.explain = (ctl_explain_t){
	        .service = "www.svc.example.com",
	        .qtype = "A",
	        .client = "81.2.69.0",
	        .source_prefix = 24,
	        .ecs = true,
	        .found = true,
	        .country = "GB",
	        .continent = "EU",
	        .has_location = true,
	        .lat = 51.5,
	        .lon = -0.25,
	        .db_prefix = 18,
	        .rule = "distance",
	        .geo_used = true,
	        .geo_scope = 18,
	        .pool_order = pool_order,
	        .n_pool_order = 2,
	        .load_draw = 0.25,
	        .load = explain_load,
	        .n_load = 2,
	        .filters = policy,
	        .n_filters = 5,
	        .events = events,
	        .n_events = 2,
	        .result = "answer",
	        .answer = answer,
	        .n_answer = 1,
	        .ttl_s = 30,
	        .scope = 18,
	        .text = "service www.svc.example.com\nanswer: 192.0.2.10 ttl 30 scope /18",
	        .attribution = attribution,
	};
	return r;
}

/* Walk "a/0/b" through objects and arrays. */
static json_t *walk(json_t *j, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	char *save = NULL;
	for (char *tok = strtok_r(buf, "/", &save); j != NULL && tok != NULL;
	     tok = strtok_r(NULL, "/", &save)) {
		j = json_is_array(j) ? json_array_get(j, strtoul(tok, NULL, 10))
		                     : json_object_get(j, tok);
	}
	return j;
}

/* One expected JSON value: a string, an integer, a boolean or a real. */
typedef struct jcase {
	const char *path;
	char type; /* 's', 'i', 'b', 'r' */
	const char *s;
	double n;
} jcase_t;

static void check_json(json_t *j, const jcase_t *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const jcase_t *c = &cases[i];
		json_t *v = walk(j, c->path);
		bool good = false;
		switch (c->type) {
		case 's':
			good = json_is_string(v) && strcmp(json_string_value(v), c->s) == 0;
			break;
		case 'i':
			good = json_is_integer(v) && json_integer_value(v) == (json_int_t)c->n;
			break;
		case 'b':
			good = json_is_boolean(v) && json_is_true(v) == (c->n != 0);
			break;
		case 'r':
			good = json_is_number(v) && json_number_value(v) == c->n;
			break;
		}
		if (!good) {
			char *s = json_dumps(j, JSON_INDENT(1));
			fail_msg("%s: wrong or missing value in:\n%s", c->path, s);
		}
	}
}

static void check_lines(const char *text, const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strstr(text, lines[i]) == NULL) {
			fail_msg("missing line %zu '%s' in:\n%s", i, lines[i], text);
		}
	}
}

/* ---- services ---- */

static void test_services_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = services_reply();
	ctl_reply_t *r = roundtrip(&in);
	assert_int_equal(r->cmd, CTL_CMD_SERVICES);
	const ctl_services_t *s = &r->services;
	assert_int_equal(s->n_services, 2);
	assert_string_equal(s->services[0].name, "www.svc.example.com");
	assert_int_equal(s->services[0].ttl_s, 30);
	assert_int_equal(s->services[0].n_policy, 5);
	assert_string_equal(s->services[0].policy[4], "first_n 1");
	assert_string_equal(s->services[1].when_all_down, "empty");
	assert_int_equal(s->services[1].n_pools, 1);
	const ctl_pool_t *us = &s->services[0].pools[1];
	assert_string_equal(us->region, "us-east");
	assert_true(us->burst && us->drained);
	assert_true(us->cost == 2.5);
	assert_int_equal(s->services[0].pools[0].n_endpoints, 2);
	const ctl_endpoint_t *e = &s->services[0].pools[0].endpoints[1];
	assert_string_equal(e->address, "2001:db8::10");
	assert_int_equal(e->capacity, 500);
	assert_false(e->healthy);
	assert_true(us->endpoints[0].drained);
	const ctl_pool_t *eu = &s->services[0].pools[0];
	assert_true(eu->utilization == 0.72 && eu->forecast == 0.9 && eu->admit == 0.613);
	assert_true(eu->target == 0.8 && eu->limit == 0.95 && eu->share == 61.25);
	assert_false(eu->closed);
	assert_string_equal(eu->owner, "ams-1");
	assert_true(us->closed && isnan(us->utilization) && isnan(us->share));
	assert_string_equal(us->owner, "");
	assert_int_equal(s->n_drains, 2);
	assert_string_equal(s->drains[0].target, "us-east");
	assert_int_equal(s->drains[0].since_s, 1700000000);
	assert_string_equal(s->drains[0].origin, "ams-1");
	assert_string_equal(s->drains[0].reason, "kernel upgrade");
	assert_true(s->drains[0].until_s == 1700007500 && s->now_s == 1700000300);
	assert_string_equal(s->drains[1].target, "");
	assert_string_equal(s->drains[1].reason, "");
	ctl_reply_free(r);
}

static const jcase_t services_json[] = {
        {"ok", 'b', NULL, 1},
        {"services/0/name", 's', "www.svc.example.com", 0},
        {"services/0/ttl", 'i', NULL, 30},
        {"services/0/policy/2", 's', "geo", 0},
        {"services/0/when_all_down", 's', "answer_all", 0},
        {"services/0/pools/0/region", 's', "eu-west", 0},
        {"services/0/pools/0/drained", 'b', NULL, 0},
        {"services/0/pools/0/endpoints/0/address", 's', "192.0.2.10", 0},
        {"services/0/pools/0/endpoints/0/weight", 'i', NULL, 2},
        {"services/0/pools/0/endpoints/1/healthy", 'b', NULL, 0},
        {"services/0/pools/0/endpoints/1/capacity", 'i', NULL, 500},
        {"services/0/pools/1/cost", 'r', NULL, 2.5},
        {"services/0/pools/1/burst", 'b', NULL, 1},
        {"services/0/pools/1/drained", 'b', NULL, 1},
        {"services/0/pools/1/endpoints/0/drained", 'b', NULL, 1},
        {"services/0/pools/0/utilization", 'r', NULL, 0.72},
        {"services/0/pools/0/forecast", 'r', NULL, 0.9},
        {"services/0/pools/0/target", 'r', NULL, 0.8},
        {"services/0/pools/0/limit", 'r', NULL, 0.95},
        {"services/0/pools/0/admit", 'r', NULL, 0.613},
        {"services/0/pools/0/closed", 'b', NULL, 0},
        {"services/0/pools/0/owner", 's', "ams-1", 0},
        {"services/0/pools/0/share", 'r', NULL, 61.25},
        {"services/0/pools/1/closed", 'b', NULL, 1},
        {"services/0/pools/1/admit", 'r', NULL, 0},
        {"services/1/name", 's', "api.svc.example.com", 0},
        {"drains/0/kind", 's', "region", 0},
        {"drains/0/target", 's', "us-east", 0},
        {"drains/0/since", 'i', NULL, 1700000000},
        {"drains/0/origin", 's', "ams-1", 0},
        {"drains/0/reason", 's', "kernel upgrade", 0},
        {"drains/0/until", 'i', NULL, 1700007500},
        {"drains/0/age", 'i', NULL, 300},
        {"drains/1/until", 'i', NULL, 0},
        {"now", 'i', NULL, 1700000300},
        {"drains/1/kind", 's', "service", 0},
};

static void test_services_render(void **state)
{
	(void)state;
	ctl_reply_t r = services_reply();
	json_t *j = json_of(&r);
	check_json(j, services_json, sizeof(services_json) / sizeof(services_json[0]));
	assert_int_equal(json_array_size(walk(j, "services/1/pools")), 1);
	/* Unknown figures are null, not NaN (which JSON does not have). */
	assert_true(json_is_null(walk(j, "services/0/pools/1/utilization")));
	assert_true(json_is_null(walk(j, "services/0/pools/1/share")));
	json_decref(j);
	static const char *const lines[] = {
	        "www.svc.example.com  ttl 30s  when all down: answer_all\n",
	        "  policy healthy, drain, geo, weighted, first_n 1\n",
	        "  pool eu-west  cost 1\n",
	        "    load  utilization 0.72  forecast 0.90  target 0.80  limit 0.95  admit 0.613  "
	        "open  owner ams-1  share 61.2%\n",
	        "    192.0.2.10     weight 2     healthy    active\n",
	        "    2001:db8::10   weight 1     UNHEALTHY  active\n",
	        "  pool us-east  cost 2.5  burst  DRAINED\n",
	        "    load  utilization -  forecast -  target 0.80  limit 0.95  admit 0.000  CLOSED "
	        " "
	        "owner -  share -\n",
	        "    198.51.100.10  weight 1     healthy    drained\n",
	        "\ndrains\n",
	        "  www.svc.example.com  region us-east  set 2023-11-14T22:13:20Z (5m ago) by "
	        "ams-1, "
	        "until 2023-11-15T00:18:20Z (in 2h00m): kernel upgrade\n",
	        "  old.example.com  service  set",
	};
	char *text = text_of(&r);
	check_lines(text, lines, sizeof(lines) / sizeof(lines[0]));
	free(text);
}

/* ---- drain ---- */

static const struct drain_case {
	const char *name;
	ctl_cmd_t cmd;
	ctl_drain_t d;
	const char *text;
} drain_cases[] = {
        {"drain region",
         CTL_CMD_DRAIN,
         {"www.svc.example.com", "eu-west", true, true, 0, NULL, 0, NULL},
         "drained: www.svc.example.com eu-west\n"},
        {"undrain whole service",
         CTL_CMD_UNDRAIN,
         {"www.svc.example.com", "", false, true, 0, NULL, 0, NULL},
         "undrained: www.svc.example.com (every pool)\n"},
        {"repeated drain",
         CTL_CMD_DRAIN,
         {"www.svc.example.com", "192.0.2.10", true, false, 2, NULL, 0, NULL},
         "drain: www.svc.example.com 192.0.2.10 was already drained, nothing changed\n"
         "warning: 2 stored drain(s) match no service\n"},
        {"drain with reason and end",
         CTL_CMD_DRAIN,
         {"www.svc.example.com", "", true, true, 0, "deploy", 1700007200, NULL},
         "drained: www.svc.example.com (every pool) until 2023-11-15T00:13:20Z: deploy\n"},
        {"drain that changes no answer",
         CTL_CMD_DRAIN,
         {"www.svc.example.com", "eu-west", true, true, 0, "", 0, "no drain step"},
         "drained: www.svc.example.com eu-west\nwarning: no drain step\n"},
};

static void test_drain(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(drain_cases) / sizeof(drain_cases[0]); i++) {
		const struct drain_case *c = &drain_cases[i];
		ctl_reply_t in = {.cmd = c->cmd, .ok = true, .drain = c->d};
		ctl_reply_t *r = roundtrip(&in);
		if (r->cmd != c->cmd || strcmp(r->drain.service, c->d.service) != 0 ||
		    strcmp(r->drain.target, c->d.target) != 0 || r->drain.drained != c->d.drained ||
		    r->drain.changed != c->d.changed || r->drain.unmatched != c->d.unmatched ||
		    r->drain.until_s != c->d.until_s ||
		    strcmp(r->drain.reason, c->d.reason != NULL ? c->d.reason : "") != 0 ||
		    strcmp(r->drain.warning, c->d.warning != NULL ? c->d.warning : "") != 0) {
			fail_msg("%s: round trip changed the reply", c->name);
		}
		char *text = text_of(r);
		if (strcmp(text, c->text) != 0) {
			fail_msg("%s: text '%s', want '%s'", c->name, text, c->text);
		}
		free(text);
		json_t *j = json_of(r);
		const jcase_t jc[] = {
		        {"service", 's', c->d.service, 0},
		        {"target", 's', c->d.target, 0},
		        {"drained", 'b', NULL, c->d.drained},
		        {"changed", 'b', NULL, c->d.changed},
		        {"unmatched_drains", 'i', NULL, c->d.unmatched},
		        {"until", 'i', NULL, c->d.until_s},
		};
		check_json(j, jc, sizeof(jc) / sizeof(jc[0]));
		/* "warning" only when there is one. */
		json_t *w = json_object_get(j, "warning");
		if ((c->d.warning != NULL) != (w != NULL) ||
		    (w != NULL && strcmp(json_string_value(w), c->d.warning) != 0)) {
			fail_msg("%s: warning in JSON", c->name);
		}
		json_decref(j);
		ctl_reply_free(r);
	}
}

/* ---- explain ---- */

static void test_explain_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = explain_reply("IP geolocation by DB-IP");
	ctl_reply_t *r = roundtrip(&in);
	const ctl_explain_t *e = &r->explain;
	assert_int_equal(r->cmd, CTL_CMD_EXPLAIN);
	assert_string_equal(e->service, "www.svc.example.com");
	assert_string_equal(e->client, "81.2.69.0");
	assert_int_equal(e->source_prefix, 24);
	assert_true(e->ecs && e->found && e->has_location && e->geo_used);
	assert_string_equal(e->country, "GB");
	assert_true(e->lat == 51.5 && e->lon == -0.25);
	assert_int_equal(e->db_prefix, 18);
	assert_int_equal(e->n_pool_order, 2);
	assert_string_equal(e->pool_order[1], "us-east");
	assert_int_equal(e->n_filters, 5);
	assert_int_equal(e->n_events, 2);
	assert_string_equal(e->events[0].reason, "pool drained");
	assert_false(e->events[0].kept);
	assert_int_equal(e->events[1].step, 4);
	assert_true(e->events[1].kept);
	assert_int_equal(e->n_answer, 1);
	assert_string_equal(e->answer[0], "192.0.2.10");
	assert_int_equal(e->scope, 18);
	assert_string_equal(e->text, in.explain.text);
	assert_string_equal(e->attribution, "IP geolocation by DB-IP");
	assert_true(e->load_draw == 0.25);
	assert_int_equal(e->n_load, 2);
	assert_string_equal(e->load[0].region, "eu-west");
	assert_true(e->load[0].admit == 0.5 && e->load[0].utilization == 0.9);
	assert_true(e->load[0].forecast == 1.1 && !e->load[0].closed);
	assert_true(e->load[1].closed && isnan(e->load[1].utilization));
	ctl_reply_free(r);
}

static const jcase_t explain_json[] = {
        {"service", 's', "www.svc.example.com", 0},
        {"qtype", 's', "A", 0},
        {"client/address", 's', "81.2.69.0", 0},
        {"client/source_prefix", 'i', NULL, 24},
        {"client/ecs", 'b', NULL, 1},
        {"location/found", 'b', NULL, 1},
        {"location/country", 's', "GB", 0},
        {"location/continent", 's', "EU", 0},
        {"location/lat", 'r', NULL, 51.5},
        {"location/lon", 'r', NULL, -0.25},
        {"location/db_prefix", 'i', NULL, 18},
        {"location/rule", 's', "distance", 0},
        {"geo/used", 'b', NULL, 1},
        {"geo/scope", 'i', NULL, 18},
        {"pool_order/0", 's', "eu-west", 0},
        {"filters/4", 's', "first_n 1", 0},
        {"events/0/endpoint", 's', "198.51.100.10", 0},
        {"events/0/reason", 's', "pool drained", 0},
        {"events/0/kept", 'b', NULL, 0},
        {"events/1/filter", 's', "first_n", 0},
        {"answer/result", 's', "answer", 0},
        {"answer/addresses/0", 's', "192.0.2.10", 0},
        {"answer/ttl", 'i', NULL, 30},
        {"answer/scope", 'i', NULL, 18},
        {"attribution", 's', "DB-IP notice", 0},
        {"load/draw", 'r', NULL, 0.25},
        {"load/pools/0/region", 's', "eu-west", 0},
        {"load/pools/0/admit", 'r', NULL, 0.5},
        {"load/pools/0/utilization", 'r', NULL, 0.9},
        {"load/pools/0/forecast", 'r', NULL, 1.1},
        {"load/pools/1/closed", 'b', NULL, 1},
};

static void test_explain_render(void **state)
{
	(void)state;
	ctl_reply_t r = explain_reply("DB-IP notice");
	json_t *j = json_of(&r);
	check_json(j, explain_json, sizeof(explain_json) / sizeof(explain_json[0]));
	json_decref(j);
	char *text = text_of(&r);
	assert_string_equal(text, "query www.svc.example.com A\n"
	                          "service www.svc.example.com\n"
	                          "answer: 192.0.2.10 ttl 30 scope /18\n"
	                          "\nDB-IP notice\n");
	free(text);

	/* No geo data shown: no attribution, no location coordinates. */
	r = explain_reply("");
	r.explain.has_location = false;
	j = json_of(&r);
	assert_null(json_object_get(j, "attribution"));
	assert_null(walk(j, "location/lat"));
	json_decref(j);
	text = text_of(&r);
	assert_null(strstr(text, "DB-IP"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_services_roundtrip),
	        cmocka_unit_test(test_services_render),
	        cmocka_unit_test(test_drain),
	        cmocka_unit_test(test_explain_roundtrip),
	        cmocka_unit_test(test_explain_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
