/*
 * Unit tests for the no-effect warnings (cfg_check_steering and
 * cfg_check_drains, config/services.c): a target or limit that nothing can
 * act on, and a burst region no filter of the chain reads, are warnings at
 * the pool's line; a policy without drain at the service's; the config
 * still loads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "tests/config/util.h"

/* Load a config whose only pool is `pool` (a flow mapping) and whose policy is `policy`. */
static cfg_t *load(const char *pool, const char *policy, cfg_diag_t *d)
{
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
	         "node: { name: a, region: eu }\n"
	         "regions: [ { name: eu, location: [53, -6] },\n"
	         "           { name: cloud, location: [45, -121], cost: 5, burst: true } ]\n"
	         "monitors:\n"
	         "  - { name: plain, type: http, port: 80 }\n"
	         "  - { name: loaded, type: http, port: 80, load: { header: X-Load } }\n"
	         "zones:\n"
	         "  - name: svc.example.com\n"
	         "    file: z.zone\n"
	         "    services:\n"
	         "      - name: www\n"
	         "        pools:\n"
	         "          - %s\n"
	         "%s%s%s",
	         pool, *policy ? "        policy: " : "", policy, *policy ? "\n" : "");
	scratch_t s;
	scratch_init(&s);
	scratch_write(&s, "aya.yaml", yaml);
	scratch_write(&s, "z.zone", GOOD_ZONE);
	cfg_t *cfg = NULL;
	int rc = scratch_load(&s, "aya.yaml", &cfg, d);
	scratch_fini(&s);
	assert_int_equal(rc, 0);
	return cfg;
}

/* One warning whose text contains want, at the pool's line (13). */
static void expect_warning(const char *pool, const char *policy, const char *want)
{
	cfg_diag_t d = {0};
	cfg_t *cfg = load(pool, policy, &d);
	if (want == NULL) {
		if (d.warnings != 0) {
			fail_msg("unexpected: %s", d.text);
		}
	} else {
		if (d.warnings != 1 || strstr(d.text, want) == NULL ||
		    strstr(d.text, "aya.yaml:13:") == NULL ||
		    strstr(d.text, ": warning: ") == NULL) {
			fail_msg("want one warning '%s' at line 13, got: %s", want,
			         d.text != NULL ? d.text : "(none)");
		}
	}
	cfg_free(cfg);
	cfg_diag_fini(&d);
}

static void test_target_without_load(void **state)
{
	(void)state;
	expect_warning("{ region: eu, monitor: plain, target: 0.7, endpoints: [ { address: "
	               "192.0.2.1 } ] }",
	               "", "pool eu: target has no effect: monitor plain reports no load");
	expect_warning("{ region: eu, limit: 0.9, endpoints: [ { address: 192.0.2.1 } ] }", "",
	               "pool eu: limit has no effect: the pool has no monitor");
	expect_warning("{ region: eu, monitor: loaded, target: 0.6, limit: 0.9, endpoints: [ { "
	               "address: 192.0.2.1 } ] }",
	               "[healthy, drain, geo, weighted]",
	               "pool eu: target and limit have no effect: the policy of service www has "
	               "no load filter");
	/* Acted on: no warning; the defaults ask for nothing. */
	expect_warning("{ region: eu, monitor: loaded, target: 0.6, endpoints: [ { address: "
	               "192.0.2.1 } ] }",
	               "", NULL);
	expect_warning("{ region: eu, endpoints: [ { address: 192.0.2.1 } ] }", "", NULL);
}

static void test_burst_without_order(void **state)
{
	(void)state;
	expect_warning("{ region: cloud, endpoints: [ { address: 192.0.2.1 } ] }",
	               "[healthy, drain, weighted]",
	               "pool cloud: burst has no effect: the policy of service www has neither "
	               "geo nor load");
	expect_warning("{ region: cloud, endpoints: [ { address: 192.0.2.1 } ] }",
	               "[healthy, drain, geo, weighted]", NULL);
	expect_warning("{ region: cloud, endpoints: [ { address: 192.0.2.1 } ] }", "", NULL);
}

/* A policy without drain: ayactl drain can change none of the service's answers. */
static void test_policy_without_drain(void **state)
{
	(void)state;
	cfg_diag_t d = {0};
	cfg_t *cfg = load("{ region: eu, endpoints: [ { address: 192.0.2.1 } ] }",
	                  "[healthy, geo, weighted]", &d);
	if (d.warnings != 1 || d.text == NULL ||
	    strstr(d.text, "aya.yaml:11:9: warning: service www: its policy has no drain filter: "
	                   "ayactl drain changes none of its answers") == NULL) {
		fail_msg("got: %s", d.text != NULL ? d.text : "(none)");
	}
	cfg_free(cfg);
	cfg_diag_fini(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_target_without_load),
	        cmocka_unit_test(test_burst_without_order),
	        cmocka_unit_test(test_policy_without_drain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
