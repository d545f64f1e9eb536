/*
 * pools[].observers (issue 5): who probes a pool's endpoints. Absent means
 * the K gossip members picked per endpoint, `k` says so explicitly, `all`
 * makes every node probe; anything else is an error that cites file:line:col
 * and lists the accepted values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/config/util.h"

/* A config whose second pool carries `line` (e.g. "observers: all") on line 12. */
static void write_config(scratch_t *s, const char *line)
{
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
	         "node: { name: n1, region: eu-west }\n"                 /* 1 */
	         "regions: [ { name: eu-west, location: [53, -6] },\n"   /* 2 */
	         "           { name: us-east, location: [39, -77] } ]\n" /* 3 */
	         "monitors: [ { name: web, type: http, port: 8080 } ]\n" /* 4 */
	         "zones:\n"                                              /* 5 */
	         "  - name: svc.example.com\n"                           /* 6 */
	         "    file: z.zone\n"                                    /* 7 */
	         "    services:\n"                                       /* 8 */
	         "      - name: www\n"                                   /* 9 */
	         "        pools:\n"                                      /* 10 */
	         "          - region: eu-west\n"                         /* 11 */
	         "            %s\n"                                      /* 12 */
	         "            monitor: web\n"                            /* 13 */
	         "            endpoints: [ { address: 127.0.0.21 } ]\n"  /* 14 */
	         "          - region: us-east\n"                         /* 15 */
	         "            monitor: web\n"                            /* 16 */
	         "            endpoints: [ { address: 127.0.0.22 } ]\n", /* 17 */
	         line);
	scratch_init(s);
	scratch_write(s, "aya.yaml", yaml);
	scratch_write(s, "z.zone", GOOD_ZONE);
}

typedef struct good_case {
	const char *name;
	const char *line;
	int want; /* cfg_observers_t of the first pool */
} good_case_t;

static const good_case_t good_cases[] = {
        {"absent means k", "# no observers key", CFG_OBSERVERS_K},
        {"explicit k", "observers: k", CFG_OBSERVERS_K},
        {"all", "observers: all", CFG_OBSERVERS_ALL},
        {"quoted all", "observers: \"all\"", CFG_OBSERVERS_ALL},
};

static void test_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const good_case_t *c = &good_cases[i];
		scratch_t s;
		write_config(&s, c->line);
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
		if (rc != 0) {
			fail_msg("%s: load: %d\n%s", c->name, rc, d.text);
		}
		assert_int_equal(d.warnings, 0);
		const cfg_service_t *svc = &cfg->zones[0].services[0];
		assert_int_equal(svc->n_pools, 2);
		if (svc->pools[0].observers != c->want) {
			fail_msg("%s: observers %d, want %d", c->name, svc->pools[0].observers,
			         c->want);
		}
		/* The other pool keeps the default whatever the first one says. */
		assert_int_equal(svc->pools[1].observers, CFG_OBSERVERS_K);
		cfg_free(cfg);
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
}

typedef struct bad_case {
	const char *name;
	const char *line;
	const char *want; /* substring of the diagnostics */
} bad_case_t;

static const bad_case_t bad_cases[] = {
        {"unknown word", "observers: some", "aya.yaml:12:24: error: "},
        {"unknown word lists values", "observers: some", "'some' is not one of k, all"},
        {"case matters", "observers: ALL", "'ALL' is not one of k, all"},
        {"a number", "observers: 3", "aya.yaml:12:24: error: "},
        {"a list", "observers: [all]", "aya.yaml:12:"},
};

static void test_rejected(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const bad_case_t *c = &bad_cases[i];
		scratch_t s;
		write_config(&s, c->line);
		cfg_t *cfg = NULL;
		cfg_diag_t d = {0};
		int rc = scratch_load(&s, "aya.yaml", &cfg, &d);
		if (rc != -EINVAL || cfg != NULL || d.errors == 0) {
			fail_msg("%s: rc %d errors %u, want -EINVAL", c->name, rc, d.errors);
		}
		if (d.text == NULL || strstr(d.text, c->want) == NULL) {
			fail_msg("%s: want '%s' in:\n%s", c->name, c->want, d.text ? d.text : "");
		}
		cfg_diag_fini(&d);
		scratch_fini(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_accepted),
	        cmocka_unit_test(test_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
