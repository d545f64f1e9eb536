/*
 * Unit tests for the policy filter table (CFG_FILTERS, config/config.h):
 * the table is consistent, every filter's name loads back to its kind with
 * and without an argument, the errors list the names from the table, and
 * the default chain is the documented one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "tests/config/util.h"

#define HEAD                                                                                       \
	"node: { name: a, region: eu-west }\n"                                                     \
	"regions: [ { name: eu-west, location: [53.35, -6.26] } ]\n"                               \
	"zones:\n"                                                                                 \
	"  - name: svc.example.com\n"                                                              \
	"    file: z.zone\n"                                                                       \
	"    services:\n"                                                                          \
	"      - name: www\n"                                                                      \
	"        pools: [ { region: eu-west, endpoints: [ { address: 192.0.2.10 } ] } ]\n"

/* Load HEAD plus `policy` (a YAML line, or "" for none); the diagnostics in *d. */
static int load(const char *policy, cfg_t **cfg, cfg_diag_t *d)
{
	char yaml[2048];
	snprintf(yaml, sizeof(yaml), "%s%s%s%s", HEAD, *policy ? "        policy: " : "", policy,
	         *policy ? "\n" : "");
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", yaml);
	scratch_write(&s, "z.zone", GOOD_ZONE);
	*cfg = NULL;
	int rc = scratch_load(&s, "aya.yaml", cfg, d);
	scratch_fini(&s);
	return rc;
}

static const cfg_service_t *service(const cfg_t *cfg)
{
	assert_int_equal(cfg->n_zones, 1);
	assert_int_equal(cfg->zones[0].n_services, 1);
	return &cfg->zones[0].services[0];
}

/* Each row names its own kind, names are unique, and the flags agree with each other. */
static void test_table(void **state)
{
	(void)state;
	for (unsigned k = 0; k < CFG_FILTER_COUNT; k++) {
		const cfg_filter_info_t *fi = &cfg_filter_info[k];
		assert_int_equal(fi->kind, k);
		assert_non_null(fi->name);
		assert_string_equal(cfg_filter_name((cfg_filter_kind_t)k), fi->name);
		assert_ptr_equal(cfg_filter_find(fi->name), fi);
		/* A filter orders or drops; a static one neither draws nor cuts by position. */
		assert_true((fi->flags & (CFG_FILTER_F_ORDERS | CFG_FILTER_F_DROPS)) != 0);
		if (fi->flags & CFG_FILTER_F_STATIC) {
			assert_false(fi->flags & (CFG_FILTER_F_DRAWS | CFG_FILTER_F_FIRST_N));
		}
		if (fi->flags & CFG_FILTER_F_GEO_ORDER) {
			assert_true(fi->flags & CFG_FILTER_F_STATIC);
		}
		/* A first-N cut takes its N as a count with a default. */
		if (fi->flags & CFG_FILTER_F_FIRST_N) {
			assert_int_equal(fi->arg, CFG_FILTER_ARG_COUNT);
		}
		if (fi->arg == CFG_FILTER_ARG_COUNT) {
			assert_in_range(fi->arg_dflt, 1, CFG_FILTER_COUNT_MAX);
		}
		assert_int_equal(cfg_filter_has_arg((cfg_filter_kind_t)k),
		                 fi->arg != CFG_FILTER_ARG_NONE);
	}
	assert_null(cfg_filter_find("nearest"));
	assert_null(cfg_filter_find("Geo"));
	assert_string_equal(cfg_filter_name((cfg_filter_kind_t)CFG_FILTER_COUNT), "?");
	assert_false(cfg_filter_has((cfg_filter_kind_t)CFG_FILTER_COUNT, CFG_FILTER_F_STATIC));
}

/* Every name loads back to its kind: bare, and "{ name: 7 }" with or without an argument. */
static void test_parse_each(void **state)
{
	(void)state;
	for (unsigned k = 0; k < CFG_FILTER_COUNT; k++) {
		const cfg_filter_info_t *fi = &cfg_filter_info[k];
		char line[128];
		cfg_t *cfg;
		cfg_diag_t d = {0};
		snprintf(line, sizeof(line), "[%s]", fi->name);
		assert_int_equal(load(line, &cfg, &d), 0);
		const cfg_service_t *svc = service(cfg);
		assert_int_equal(svc->n_policy, 1);
		assert_int_equal(svc->policy[0].kind, k);
		assert_int_equal(cfg_filter_arg(&svc->policy[0]), fi->arg_dflt);
		cfg_free(cfg);
		cfg_diag_fini(&d);

		d = (cfg_diag_t){0};
		snprintf(line, sizeof(line), "[{ %s: 7 }]", fi->name);
		int rc = load(line, &cfg, &d);
		if (fi->arg == CFG_FILTER_ARG_NONE) {
			char want[128];
			snprintf(want, sizeof(want), "policy: filter '%s' takes no argument",
			         fi->name);
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(d.text, want));
		} else {
			assert_int_equal(rc, 0);
			svc = service(cfg);
			assert_int_equal(svc->policy[0].kind, k);
			assert_int_equal(svc->policy[0].n, 7);
			char text[64], want[64];
			snprintf(want, sizeof(want), "%s 7", fi->name);
			assert_int_equal(cfg_filter_text(&svc->policy[0], text, sizeof(text)),
			                 strlen(want));
			assert_string_equal(text, want);
			cfg_free(cfg);
		}
		cfg_diag_fini(&d);
	}
}

struct err_case {
	const char *name;
	const char *policy;
	const char *msg;
};

/* The lists in these messages come from the table; the text is the one operators know. */
static const struct err_case err_cases[] = {
        {"unknown filter", "[healthy, nearest]",
         "unknown filter 'nearest' (expected healthy, drain, geo, weighted, hash, first_n, load "
         "or latency)"},
        {"two keys", "[{ first_n: 1, geo: 2 }]",
         "policy: expected { first_n: N } or { latency: N }"},
        {"count zero", "[{ first_n: 0 }]", "policy: first_n must be 1..65535, got '0'"},
        {"count too big", "[{ first_n: 65536 }]", "policy: first_n must be 1..65535, got '65536'"},
        {"count not a number", "[{ first_n: two }]", "policy: first_n must be 1..65535, got 'two'"},
        {"latency zero", "[{ latency: 0 }]", "policy: latency must be 1..65535, got '0'"},
        {"latency too big", "[{ latency: 65536 }]",
         "policy: latency must be 1..65535, got '65536'"},
        {"latency in a unit", "[{ latency: 20ms }]",
         "policy: latency must be 1..65535, got '20ms'"},
        {"latency negative", "[{ latency: -5 }]", "policy: latency must be 1..65535, got '-5'"},
        {"duplicate", "[hash, first_n, hash]", "policy: filter 'hash' appears twice"},
        {"empty", "[]", "service.policy: empty filter chain"},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		cfg_t *cfg;
		cfg_diag_t d = {0};
		int rc = load(c->policy, &cfg, &d);
		if (rc != -EINVAL || d.errors != 1 || strstr(d.text, c->msg) == NULL) {
			fail_msg("%s: rc %d, want '%s', got\n%s", c->name, rc, c->msg,
			         d.text ? d.text : "(nothing)");
		}
		cfg_diag_fini(&d);
	}
	/* The unknown-filter error names every filter of the table. */
	cfg_t *cfg;
	cfg_diag_t d = {0};
	assert_int_equal(load("[nearest]", &cfg, &d), -EINVAL);
	for (unsigned k = 0; k < CFG_FILTER_COUNT; k++) {
		if (strstr(d.text, cfg_filter_info[k].name) == NULL) {
			fail_msg("'%s' missing from: %s", cfg_filter_info[k].name, d.text);
		}
	}
	cfg_diag_fini(&d);
}

/*
 * latency: a count in milliseconds (default CFG_LATENCY_TOLERANCE_MS), static
 * and ordering (it reads the snapshot's RTTs only), and it goes in a chain.
 */
static void test_latency(void **state)
{
	(void)state;
	const cfg_filter_info_t *fi = cfg_filter_find("latency");
	assert_non_null(fi);
	assert_int_equal(fi->kind, CFG_FILTER_LATENCY);
	assert_int_equal(fi->arg, CFG_FILTER_ARG_COUNT);
	assert_int_equal(fi->arg_dflt, 20);
	assert_int_equal(fi->flags, CFG_FILTER_F_STATIC | CFG_FILTER_F_ORDERS);
	static const struct {
		const char *policy;
		unsigned ms;
	} ok[] = {{"[latency]", 20},
	          {"[{ latency: 30 }]", 30},
	          {"[{ latency: 1 }]", 1},
	          {"[{ latency: 65535 }]", 65535},
	          {"[healthy, geo, weighted, { latency: 5 }, { first_n: 2 }]", 5}};
	for (size_t i = 0; i < AYA_ARRAY_LEN(ok); i++) {
		cfg_t *cfg;
		cfg_diag_t d = {0};
		assert_int_equal(load(ok[i].policy, &cfg, &d), 0);
		const cfg_service_t *svc = service(cfg);
		const cfg_filter_t *lat = NULL;
		for (size_t k = 0; k < svc->n_policy; k++) {
			lat = svc->policy[k].kind == CFG_FILTER_LATENCY ? &svc->policy[k] : lat;
		}
		assert_non_null(lat);
		assert_int_equal(cfg_filter_arg(lat), ok[i].ms);
		cfg_free(cfg);
		cfg_diag_fini(&d);
	}
}

/* No policy: the static default chain, which is what the documented default text loads to. */
static void test_default_chain(void **state)
{
	(void)state;
	cfg_t *cfg;
	cfg_diag_t d = {0};
	assert_int_equal(load("", &cfg, &d), 0);
	const cfg_service_t *svc = service(cfg);
	assert_ptr_equal(svc->policy, cfg_default_chain);
	assert_int_equal(svc->n_policy, cfg_default_chain_len);
	cfg_free(cfg);
	cfg_diag_fini(&d);

	d = (cfg_diag_t){0};
	assert_int_equal(load("[healthy, drain, geo, load, weighted, {first_n: 1}]", &cfg, &d), 0);
	svc = service(cfg);
	assert_int_equal(svc->n_policy, cfg_default_chain_len);
	for (size_t i = 0; i < cfg_default_chain_len; i++) {
		assert_int_equal(svc->policy[i].kind, cfg_default_chain[i].kind);
		assert_int_equal(cfg_filter_arg(&svc->policy[i]),
		                 cfg_filter_arg(&cfg_default_chain[i]));
	}
	cfg_free(cfg);
	cfg_diag_fini(&d);
}

struct text_case {
	cfg_filter_t f;
	const char *text;
};

static const struct text_case text_cases[] = {
        {{.kind = CFG_FILTER_GEO}, "geo"},
        {{.kind = CFG_FILTER_FIRST_N}, "first_n 1"},
        {{.kind = CFG_FILTER_FIRST_N, .n = 3}, "first_n 3"},
        {{.kind = CFG_FILTER_LATENCY}, "latency 20"},
        {{.kind = CFG_FILTER_LATENCY, .n = 30}, "latency 30"},
        {{.kind = (cfg_filter_kind_t)CFG_FILTER_COUNT}, "?"},
};

static void test_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(text_cases); i++) {
		char buf[64];
		size_t n = cfg_filter_text(&text_cases[i].f, buf, sizeof(buf));
		assert_string_equal(buf, text_cases[i].text);
		assert_int_equal(n, strlen(buf));
	}
	char small[4];
	assert_int_equal(cfg_filter_text(&text_cases[2].f, small, sizeof(small)), 9);
	assert_string_equal(small, "fir");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),  cmocka_unit_test(test_parse_each),
	        cmocka_unit_test(test_errors), cmocka_unit_test(test_default_chain),
	        cmocka_unit_test(test_text),   cmocka_unit_test(test_latency),
	};
	return cmocka_run_group_tests_name("config filters", tests, NULL, NULL);
}
