/*
 * The reply builders (control/reply_svc.c, reply_backends.c,
 * reply_gossip.c) on a hand-built config and its policy snapshot: service
 * resolution by full or zone-relative name, drain targets, the explain
 * client with --subnet, the services, explain and backends bodies, and the
 * gossip builders without gossip. The keyring operations themselves are
 * tested with the keyring (tests/gossip/test_crypto.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/dname.h"
#include "config/config.h"
#include "control/control.h"
#include "policy/policy.h"
#include "state/state.h"

#define NOW UINT64_C(1700000000000)

#define EP(a)                                                                                      \
	{                                                                                          \
		.family = strchr(a, ':') ? AF_INET6 : AF_INET, .text = a, .weight = 1              \
	}

static cfg_endpoint_t eu_eps[] = {EP("192.0.2.1"), EP("2001:db8::1")};
static cfg_endpoint_t us_eps[] = {EP("198.51.100.1")};
static cfg_endpoint_t api_eps[] = {EP("192.0.2.2")};
static cfg_endpoint_t net_eps[] = {EP("198.51.100.2")};

static const cfg_region_t regions[] = {{.name = "eu-west", .cost = 1},
                                       {.name = "us-east", .cost = 1}};
static const cfg_monitor_t mon = {.name = "m", .port = 80, .interval_ms = 1000, .fall = 3};
#define MON .monitor = "m", .monitor_idx = 0

static const cfg_pool_t www_pools[] = {
        {.region = "eu-west", .region_idx = 0, .endpoints = eu_eps, .n_endpoints = 2, MON},
        {.region = "us-east", .region_idx = 1, .endpoints = us_eps, .n_endpoints = 1, MON},
};
static const cfg_pool_t api_pools[] = {
        {.region = "eu-west", .region_idx = 0, .endpoints = api_eps, .n_endpoints = 1},
};
static const cfg_pool_t net_pools[] = {
        {.region = "us-east", .region_idx = 1, .endpoints = net_eps, .n_endpoints = 1, MON},
};
static cfg_service_t com_svcs[] = {{.name = "www", .pools = www_pools, .n_pools = 2},
                                   {.name = "api", .pools = api_pools, .n_pools = 1}};
static cfg_service_t net_svcs[] = {{.name = "www", .pools = net_pools, .n_pools = 1}};
static cfg_zone_t zones[] = {{.name = "example.com", .services = com_svcs, .n_services = 2},
                             {.name = "example.net", .services = net_svcs, .n_services = 1}};
static cfg_t cfg = {.zones = zones,
                    .n_zones = 2,
                    .regions = regions,
                    .n_regions = 2,
                    .monitors = &mon,
                    .n_monitors = 1};

struct fixture {
	pol_snap_t *pol;
	aya_arena_t *a;
};

static void fill_addrs(cfg_endpoint_t *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(inet_pton(e[i].family, e[i].text, e[i].addr), 1);
	}
}

static void fill_owners(cfg_zone_t *z)
{
	for (size_t i = 0; i < z->n_services; i++) {
		cfg_service_t *s = (cfg_service_t *)&z->services[i];
		char n[128];
		snprintf(n, sizeof(n), "%s.%s", s->name, z->name);
		assert_true(aya_dname_from_str(n, s->owner) > 0);
		s->ttl_s = 30;
	}
}

static int setup(void **state)
{
	static struct fixture f;
	fill_addrs(eu_eps, 2);
	fill_addrs(us_eps, 1);
	fill_addrs(api_eps, 1);
	fill_addrs(net_eps, 1);
	fill_owners(&zones[0]);
	fill_owners(&zones[1]);
	cfg.node.name = "n1";
	char err[256] = "";
	if (pol_snap_build(&cfg, NULL, NULL, &f.pol, err, sizeof(err)) != 0) {
		print_message("pol_snap_build: %s\n", err);
		return -1;
	}
	f.a = aya_arena_new();
	*state = &f;
	return f.a != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pol_snap_free(f->pol);
	aya_arena_free(f->a);
	return 0;
}

static void test_service_resolve(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name, *in;
		const char *want; /* full name, or NULL */
		const char *err;  /* substring of the error when NULL */
	} cases[] = {
	        {"full name", "www.example.com", "www.example.com", NULL},
	        {"full name in the other zone", "www.example.net", "www.example.net", NULL},
	        {"trailing dot, any case", "WWW.Example.COM.", "www.example.com", NULL},
	        {"relative name in one zone", "api", "api.example.com", NULL},
	        {"relative name in any case", "API", "api.example.com", NULL},
	        {"relative name in two zones is ambiguous", "www", NULL,
	         "service 'www' is in several zones: give its full name"},
	        {"a trailing dot makes it absolute", "api.", NULL, "unknown service 'api.'"},
	        {"unknown", "nope", NULL, "unknown service 'nope' (see ayactl services)"},
	        {"unknown full name", "nope.example.com", NULL, "unknown service"},
	        {"empty", "", NULL, "no service given"},
	        {"none", NULL, NULL, "no service given"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		const char *err = NULL;
		const pol_service_t *ps =
		        ctl_service_resolve(f->pol, &cfg, cases[i].in, f->a, &err);
		if (cases[i].want != NULL) {
			assert_non_null(ps);
			assert_string_equal(ps->name, cases[i].want);
		} else {
			assert_null(ps);
			assert_non_null(err);
			assert_non_null(strstr(err, cases[i].err));
		}
	}
}

/* When a drain changes no answer: no drain step, or answer_all with a family all drained. */
static void test_drain_warning(void **state)
{
	struct fixture *f = *state;
	static const cfg_filter_t with[] = {{.kind = CFG_FILTER_HEALTHY},
	                                    {.kind = CFG_FILTER_DRAIN}};
	static const cfg_filter_t without[] = {{.kind = CFG_FILTER_HEALTHY},
	                                       {.kind = CFG_FILTER_WEIGHTED}};
	static const struct {
		const char *name;
		const cfg_filter_t *chain;
		cfg_all_down_t all_down;
		bool drained[3];  /* 192.0.2.1, 192.0.2.2, 2001:db8::1 */
		const char *want; /* a substring; NULL = no warning */
	} cases[] = {
	        {"some drained", with, CFG_ALL_DOWN_ANSWER_ALL, {true, false, false}, NULL},
	        {"none drained", with, CFG_ALL_DOWN_ANSWER_ALL, {false, false, false}, NULL},
	        {"no drain step",
	         without,
	         CFG_ALL_DOWN_ANSWER_ALL,
	         {true, false, false},
	         "has no drain step"},
	        {"all drained, answer_all",
	         with,
	         CFG_ALL_DOWN_ANSWER_ALL,
	         {true, true, true},
	         "every endpoint of www.example.com is drained and its when_all_down is "
	         "answer_all"},
	        {"all v6 drained",
	         with,
	         CFG_ALL_DOWN_ANSWER_ALL,
	         {false, false, true},
	         "every IPv6 endpoint of www.example.com is drained and its when_all_down is "
	         "answer_all: AAAA answers"},
	        {"all drained, empty", with, CFG_ALL_DOWN_EMPTY, {true, true, true}, NULL},
	        {"all v4 drained",
	         with,
	         CFG_ALL_DOWN_ANSWER_ALL,
	         {true, true, false},
	         "every IPv4 endpoint of www.example.com is drained and its when_all_down is "
	         "answer_all: A answers"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol_endpoint_t eps[3] = {
		        {.family = AF_INET}, {.family = AF_INET}, {.family = AF_INET6}};
		for (size_t k = 0; k < 3; k++) {
			eps[k].drained = cases[i].drained[k];
		}
		pol_service_t ps = {.name = "www.example.com",
		                    .all_down = cases[i].all_down,
		                    .filters = cases[i].chain,
		                    .n_filters = 2,
		                    .endpoints = eps,
		                    .n_endpoints = 3};
		const char *w = ctl_drain_warning(&ps, f->a);
		if ((w == NULL) != (cases[i].want == NULL) ||
		    (w != NULL && strstr(w, cases[i].want) == NULL)) {
			fail_msg("%s: warning '%s', want '%s'", cases[i].name, w != NULL ? w : "",
			         cases[i].want != NULL ? cases[i].want : "");
		}
	}
}

static void test_drain_target(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	const pol_service_t *www = ctl_service_resolve(f->pol, &cfg, "www.example.com", f->a, &err);
	assert_non_null(www);
	static const struct {
		const char *name, *in;
		const char *want; /* canonical target, or NULL */
		const char *err;
	} cases[] = {
	        {"region", "eu-west", "eu-west", NULL},
	        {"region in any case: the configured name", "US-East", "us-east", NULL},
	        {"IPv4 endpoint", "192.0.2.1", "192.0.2.1", NULL},
	        {"IPv6 endpoint", "2001:db8::1", "2001:db8::1", NULL},
	        {"IPv6 endpoint written longer: as given", "2001:DB8:0::1", "2001:DB8:0::1", NULL},
	        {"another service's endpoint", "192.0.2.2", NULL,
	         "service www.example.com has no endpoint '192.0.2.2'"},
	        {"unknown region", "ap-south", NULL,
	         "service www.example.com has no region 'ap-south'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		err = NULL;
		const char *t = ctl_drain_target(www, cases[i].in, f->a, &err);
		if (cases[i].want != NULL) {
			assert_non_null(t);
			assert_string_equal(t, cases[i].want);
		} else {
			assert_null(t);
			assert_non_null(err);
			assert_string_equal(err, cases[i].err);
		}
	}
	/* Both at once, copied. */
	const char *svc = NULL, *target = NULL;
	assert_int_equal(
	        ctl_drain_resolve(f->pol, &cfg, "api", "EU-WEST", f->a, &svc, &target, &err), 0);
	assert_string_equal(svc, "api.example.com");
	assert_string_equal(target, "eu-west");
	assert_int_equal(
	        ctl_drain_resolve(f->pol, &cfg, "www.example.net", NULL, f->a, &svc, &target, &err),
	        0);
	assert_string_equal(svc, "www.example.net");
	assert_string_equal(target, "");
	assert_int_equal(
	        ctl_drain_resolve(f->pol, &cfg, "www", "eu-west", f->a, &svc, &target, &err),
	        -ENOENT);
	assert_non_null(strstr(err, "several zones"));
	assert_int_equal(
	        ctl_drain_resolve(f->pol, &cfg, "api", "us-east", f->a, &svc, &target, &err),
	        -ENOENT);
	assert_string_equal(err, "service api.example.com has no region 'us-east'");
}

static void test_explain_client(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name, *ip;
		bool has_subnet;
		unsigned subnet;
		int rc;
		int family;
		const char *addr; /* after masking */
		unsigned prefix;
		bool ecs;
		const char *err;
	} cases[] = {
	        {"IPv4", "192.0.2.55", false, 0, 0, AF_INET, "192.0.2.55", 32, false, NULL},
	        {"IPv6", "2001:db8::5", false, 0, 0, AF_INET6, "2001:db8::5", 128, false, NULL},
	        {"IPv4-mapped becomes IPv4", "::ffff:192.0.2.7", false, 0, 0, AF_INET, "192.0.2.7",
	         32, false, NULL},
	        {"IPv4 /24", "192.0.2.255", true, 24, 0, AF_INET, "192.0.2.0", 24, true, NULL},
	        {"IPv4 /12: inside a byte", "192.31.2.1", true, 12, 0, AF_INET, "192.16.0.0", 12,
	         true, NULL},
	        {"IPv4 /32 keeps all", "192.0.2.1", true, 32, 0, AF_INET, "192.0.2.1", 32, true,
	         NULL},
	        {"IPv6 /48", "2001:db8:1:2:3::9", true, 48, 0, AF_INET6, "2001:db8:1::", 48, true,
	         NULL},
	        {"mapped /24 is IPv4's", "::ffff:10.1.2.3", true, 24, 0, AF_INET, "10.1.2.0", 24,
	         true, NULL},
	        {"IPv4 /33", "192.0.2.1", true, 33, -EINVAL, 0, NULL, 0, false,
	         "--subnet 33: must be 1..32 for this address"},
	        {"IPv4 /0", "192.0.2.1", true, 0, -EINVAL, 0, NULL, 0, false,
	         "--subnet 0: must be 1..32 for this address"},
	        {"IPv6 /129", "2001:db8::1", true, 129, -EINVAL, 0, NULL, 0, false,
	         "--subnet 129: must be 1..128 for this address"},
	        {"mapped /64 is too long for IPv4", "::ffff:10.0.0.1", true, 64, -EINVAL, 0, NULL,
	         0, false, "--subnet 64: must be 1..32 for this address"},
	        {"not an address", "www.example.com", false, 0, -EINVAL, 0, NULL, 0, false,
	         "'www.example.com' is not an IPv4 or IPv6 address"},
	        {"none", NULL, false, 0, -EINVAL, 0, NULL, 0, false,
	         "'' is not an IPv4 or IPv6 address"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		pol_client_t c;
		const char *err = NULL;
		int rc = ctl_explain_client(cases[i].ip, cases[i].has_subnet, cases[i].subnet, f->a,
		                            &c, &err);
		assert_int_equal(rc, cases[i].rc);
		if (rc < 0) {
			assert_string_equal(err, cases[i].err);
			continue;
		}
		uint8_t want[16] = {0};
		assert_int_equal(inet_pton(cases[i].family, cases[i].addr, want), 1);
		assert_int_equal(c.family, cases[i].family);
		assert_memory_equal(c.addr, want, cases[i].family == AF_INET ? 4 : 16);
		assert_int_equal(c.source_prefix, cases[i].prefix);
		assert_int_equal(c.ecs, cases[i].ecs);
	}
}

static void test_services_fill(void **state)
{
	struct fixture *f = *state;
	const state_drain_t drains[] = {
	        {.service = "www.example.com",
	         .kind = STATE_TARGET_REGION,
	         .target = "us-east",
	         .since_s = 1700000000,
	         .origin = "n2"},
	        {.service = "gone.example.com", .kind = STATE_TARGET_SERVICE},
	};
	ctl_services_t s = {0};
	assert_int_equal(ctl_services_fill(f->pol, drains, 2, f->a, &s), 0);
	assert_int_equal(s.n_services, 3);
	const ctl_service_t *www = NULL;
	for (size_t i = 0; i < s.n_services; i++) {
		www = strcmp(s.services[i].name, "www.example.com") == 0 ? &s.services[i] : www;
	}
	assert_non_null(www);
	assert_int_equal(www->ttl_s, 30);
	assert_string_equal(www->when_all_down, "answer_all");
	assert_int_equal(www->n_policy, cfg_default_chain_len);
	assert_string_equal(www->policy[0], "healthy");
	assert_string_equal(www->policy[www->n_policy - 1], "first_n 1");
	assert_int_equal(www->n_pools, 2);
	assert_string_equal(www->pools[0].region, "eu-west");
	assert_int_equal(www->pools[0].n_endpoints, 2);
	assert_string_equal(www->pools[0].endpoints[1].address, "2001:db8::1");
	assert_string_equal(www->pools[1].endpoints[0].address, "198.51.100.1");
	assert_int_equal(s.n_drains, 2);
	assert_string_equal(s.drains[0].kind, "region");
	assert_string_equal(s.drains[0].target, "us-east");
	assert_string_equal(s.drains[0].origin, "n2");
	assert_int_equal(s.drains[0].since_s, 1700000000);
	assert_string_equal(s.drains[1].kind, "service");
	assert_string_equal(s.drains[1].target, "");
	assert_string_equal(s.drains[1].origin, "");
}

static void test_explain_fill(void **state)
{
	struct fixture *f = *state;
	ctl_request_t req = {.cmd = CTL_CMD_EXPLAIN,
	                     .name = "WWW.example.com.",
	                     .client = "192.0.2.9",
	                     .has_subnet = true,
	                     .subnet = 24};
	ctl_explain_t e = {0};
	const char *err = NULL;
	assert_int_equal(ctl_explain_fill(f->pol, &cfg, &req, "notice", f->a, &e, &err), 0);
	assert_string_equal(e.service, "www.example.com");
	assert_string_equal(e.qtype, "A");
	assert_string_equal(e.client, "192.0.2.0");
	assert_int_equal(e.source_prefix, 24);
	assert_true(e.ecs);
	assert_string_equal(e.result, "answer");
	assert_int_equal(e.n_answer, 1);
	assert_int_equal(e.n_filters, cfg_default_chain_len);
	assert_int_equal(e.n_pool_order, 2);
	assert_true(e.n_events > 0);
	assert_non_null(e.text);
	assert_string_equal(e.attribution, ""); /* no geo database */
	req.qtype = 28;
	assert_int_equal(ctl_explain_fill(f->pol, &cfg, &req, "notice", f->a, &e, &err), 0);
	assert_string_equal(e.qtype, "AAAA");
	assert_string_equal(e.answer[0], "2001:db8::1");
	req.qtype = 15;
	assert_int_equal(ctl_explain_fill(f->pol, &cfg, &req, "notice", f->a, &e, &err), -EINVAL);
	assert_string_equal(err, "explain answers A or AAAA only");
	req.qtype = 1;
	req.name = "www";
	assert_int_equal(ctl_explain_fill(f->pol, &cfg, &req, "notice", f->a, &e, &err), -EINVAL);
	assert_non_null(strstr(err, "several zones"));
	req.name = "api";
	req.subnet = 40;
	assert_int_equal(ctl_explain_fill(f->pol, &cfg, &req, "notice", f->a, &e, &err), -EINVAL);
	assert_string_equal(err, "--subnet 40: must be 1..32 for this address");
}

static void test_backends_fill(void **state)
{
	struct fixture *f = *state;
	char key[STATE_NAME_MAX + 1];
	assert_true(state_endpoint_key(key, sizeof(key), "192.0.2.1", 80, "m") > 0);
	/* n2's is later, but this node's own observation is the one shown. */
	const state_obs_t obs[] = {
	        {.observer = "n2",
	         .endpoint = key,
	         .status = STATE_ST_UP,
	         .utilization = NAN,
	         .observed_at_ms = NOW - 10,
	         .version = 1},
	        {.observer = "n1",
	         .endpoint = key,
	         .status = STATE_ST_DOWN,
	         .error = "connect: refused",
	         .rtt_us = 7,
	         .utilization = 0.25,
	         .observed_at_ms = NOW - 100,
	         .version = 2},
	};
	state_view_t *view = NULL;
	assert_int_equal(state_view_from(obs, 2, NULL, 0, &view), 0);
	static const struct {
		const char *name, *filter;
		int rc;
		size_t n;
	} cases[] = {
	        {"all", NULL, 0, 4},
	        {"empty filter: all", "", 0, 4},
	        {"full name, any case, trailing dot", "WWW.example.com.", 0, 3},
	        {"relative name matches in both zones", "www", 0, 4},
	        {"a service without monitor has no rows", "api.example.com", 0, 0},
	        {"unknown", "nope", -ENOENT, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		ctl_backends_t b = {0};
		const char *err = NULL;
		int rc =
		        ctl_backends_fill(&cfg, f->pol, view, cases[i].filter, NOW, f->a, &b, &err);
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(b.n_backends, cases[i].n);
		assert_int_equal(b.now_ms, NOW);
		if (rc < 0) {
			assert_string_equal(err, "unknown service (see ayactl services)");
		}
	}
	ctl_backends_t b = {0};
	const char *err = NULL;
	assert_int_equal(
	        ctl_backends_fill(&cfg, f->pol, view, "www.example.com", NOW, f->a, &b, &err), 0);
	state_view_free(view);
	const ctl_backend_t *r = &b.backends[0];
	assert_string_equal(r->service, "www.example.com");
	assert_string_equal(r->region, "eu-west");
	assert_string_equal(r->address, "192.0.2.1");
	assert_string_equal(r->key, key);
	assert_int_equal(r->port, 80);
	assert_string_equal(r->monitor, "m");
	assert_string_equal(r->state, "down");
	assert_string_equal(r->error, "connect: refused");
	assert_int_equal(r->rtt_us, 7);
	assert_float_equal(r->utilization, 0.25, 1e-9);
	assert_int_equal(r->n_observers, 2);
	/* In the view's order (by observer). */
	assert_string_equal(r->observers[0].node, "n1");
	assert_string_equal(r->observers[1].node, "n2");
	assert_string_equal(r->observers[1].state, "up");
	assert_string_equal(r->observers[1].error, "");
	assert_true(r->observers[1].fresh);
	assert_string_equal(b.backends[1].state, "unknown");
	assert_float_equal(b.backends[1].utilization, -1.0, 1e-9);
	assert_int_equal(b.backends[1].n_observers, 0);
}

static void test_gossip_off(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	ctl_members_t m = {0};
	assert_int_equal(ctl_members_fill(NULL, &cfg, 1, NOW, f->a, &m, &err), -ENOENT);
	assert_string_equal(err, "gossip is off: this node has no gossip: section");
	ctl_request_t kreq = {.cmd = CTL_CMD_KEYRING, .keyring_op = "list"};
	ctl_reply_t kr = {.cmd = CTL_CMD_KEYRING, .ok = true};
	err = NULL;
	assert_int_equal(ctl_keyring_start(NULL, &cfg, &kreq, &kr, &err), -ENOENT);
	assert_string_equal(err, "gossip is off: this node has no gossip: section");
	ctl_gossip_status_t g = {.enabled = true, .members = 3};
	ctl_gossip_status_fill(NULL, &cfg, 1, f->a, &g);
	assert_false(g.enabled);
	assert_int_equal(g.members, 0);
	ctl_reply_t r = {.ok = true};
	ctl_reply_errorf(&r, f->a, "cannot read drains: %s", "x");
	assert_false(r.ok);
	assert_string_equal(r.error, "cannot read drains: x");
	ctl_reply_error(&r, NULL);
	assert_string_equal(r.error, "out of memory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_service_resolve), cmocka_unit_test(test_drain_target),
	        cmocka_unit_test(test_drain_warning),   cmocka_unit_test(test_explain_client),
	        cmocka_unit_test(test_services_fill),   cmocka_unit_test(test_explain_fill),
	        cmocka_unit_test(test_backends_fill),   cmocka_unit_test(test_gossip_off),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
