/* Tests of the monitors: schema: the documented shape, defaults, load sources, pool
 * references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "tests/config/util.h"

static cfg_t *load(scratch_t *s, const char *yaml)
{
	scratch_init(s);
	scratch_write(s, "aya.yaml", yaml);
	scratch_write(s, "z.zone", GOOD_ZONE);
	cfg_t *cfg = NULL;
	cfg_diag_t d = {0};
	int rc = scratch_load(s, "aya.yaml", &cfg, &d);
	if (rc != 0) {
		fail_msg("load: %d\n%s", rc, d.text);
	}
	assert_int_equal(d.warnings, 0);
	cfg_diag_fini(&d);
	return cfg;
}

/* The documented shape, as written, plus defaults and the pool's resolved index. */
static void test_issue_shape(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = load(
	        &s, "node: { name: n1, region: eu-west }\n"
	            "regions: [ { name: eu-west, location: [53, -6] } ]\n"
	            "zones:\n"
	            "  - name: svc.example.com\n"
	            "    file: z.zone\n"
	            "    services:\n"
	            "      - name: www\n"
	            "        pools:\n"
	            "          - region: eu-west\n"
	            "            monitor: web\n"
	            "            endpoints: [ { address: 127.0.0.21 }, { address: 127.0.0.22 } ]\n"
	            "monitors:\n"
	            "  - { name: tls, type: https, tls_verify: true, host: a.example,\n"
	            "      load: { json: stats.load, capacity_prometheus: cap } }\n"
	            "  - { name: web, type: http, port: 8080, path: /health, expect: [200], "
	            "interval: 500ms, timeout: 300ms,\n"
	            "      rise: 2, fall: 2 }\n");
	assert_int_equal(cfg->n_monitors, 2);
	const cfg_monitor_t *w = &cfg->monitors[1];
	assert_string_equal(w->name, "web");
	assert_int_equal(w->type, CFG_MON_HTTP);
	assert_int_equal(w->port, 8080);
	assert_string_equal(w->path, "/health");
	assert_int_equal(w->n_expect, 1);
	assert_int_equal(w->expect[0], 200);
	assert_int_equal(w->interval_ms, 500);
	assert_int_equal(w->timeout_ms, 300);
	assert_int_equal(w->rise, 2);
	assert_int_equal(w->fall, 2);
	assert_true(fabs(w->jitter - 0.1) < 1e-9);
	assert_int_equal(w->slow_start_ms, 10000);
	assert_false(w->tls_verify);
	assert_null(w->host);
	assert_null(w->body);
	assert_int_equal(w->load.kind, CFG_LOAD_NONE);
	assert_true(w->keepalive); /* http and https default to kept-alive connections */
	const cfg_monitor_t *t = &cfg->monitors[0];
	assert_int_equal(t->type, CFG_MON_HTTPS);
	assert_int_equal(t->port, 443);
	assert_true(t->tls_verify);
	assert_string_equal(t->host, "a.example");
	assert_int_equal(t->load.kind, CFG_LOAD_JSON);
	assert_string_equal(t->load.key, "stats.load");
	assert_int_equal(t->capacity.kind, CFG_LOAD_PROMETHEUS);
	assert_string_equal(t->capacity.key, "cap");
	const cfg_pool_t *p = &cfg->zones[0].services[0].pools[0];
	assert_string_equal(p->monitor, "web");
	assert_int_equal(p->monitor_idx, 1);
	cfg_free(cfg);
	scratch_fini(&s);
}

/* keepalive: true by default, false when asked. */
static void test_keepalive(void **state)
{
	(void)state;
	scratch_t s;
	cfg_t *cfg = load(&s, "node: { name: n1, region: r }\n"
	                      "monitors:\n"
	                      "  - { name: a, type: http }\n"
	                      "  - { name: b, type: http, keepalive: false }\n"
	                      "  - { name: c, type: https, keepalive: true }\n");
	assert_int_equal(cfg->n_monitors, 3);
	assert_true(cfg->monitors[0].keepalive);
	assert_false(cfg->monitors[1].keepalive);
	assert_true(cfg->monitors[2].keepalive);
	cfg_free(cfg);
	scratch_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_issue_shape),
	        cmocka_unit_test(test_keepalive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
