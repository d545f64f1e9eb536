/*
 * pools[].observers: who probes a pool's endpoints. Absent means
 * the K gossip members picked per endpoint, `k` says so explicitly, `all`
 * makes every node probe; anything else is an error that cites file:line:col
 * and lists the accepted values. The same for pools[].quorum (majority, any,
 * all) and pools[].when_unobserved (up, down): how the observers' verdicts
 * combine, and what an endpoint that no fresh observer reports on is.
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

/* The test config with `line` in the first pool, loaded; any error fails the test. */
static cfg_t *load_with(scratch_t *s, cfg_diag_t *d, const char *name, const char *line)
{
	write_config(s, line);
	cfg_t *cfg = NULL;
	int rc = scratch_load(s, "aya.yaml", &cfg, d);
	if (rc != 0) {
		fail_msg("%s: load: %d\n%s", name, rc, d->text);
	}
	return cfg;
}

static void test_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const good_case_t *c = &good_cases[i];
		scratch_t s;
		cfg_diag_t d = {0};
		cfg_t *cfg = load_with(&s, &d, c->name, c->line);
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

typedef struct rule_case {
	const char *name;
	const char *line;
	int quorum, unobserved; /* of the first pool */
} rule_case_t;

static const rule_case_t rule_cases[] = {
        {"defaults", "# no rule keys", CFG_QUORUM_MAJORITY, CFG_UNOBSERVED_UP},
        {"majority", "quorum: majority", CFG_QUORUM_MAJORITY, CFG_UNOBSERVED_UP},
        {"any", "quorum: any", CFG_QUORUM_ANY, CFG_UNOBSERVED_UP},
        {"all", "quorum: all", CFG_QUORUM_ALL, CFG_UNOBSERVED_UP},
        {"fail open", "when_unobserved: up", CFG_QUORUM_MAJORITY, CFG_UNOBSERVED_UP},
        {"fail closed", "when_unobserved: down", CFG_QUORUM_MAJORITY, CFG_UNOBSERVED_DOWN},
};

static void test_rule_keys(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const rule_case_t *c = &rule_cases[i];
		scratch_t s;
		cfg_diag_t d = {0};
		cfg_t *cfg = load_with(&s, &d, c->name, c->line);
		const cfg_service_t *svc = &cfg->zones[0].services[0];
		if (svc->pools[0].quorum != c->quorum ||
		    svc->pools[0].unobserved != c->unobserved) {
			fail_msg("%s: quorum %d unobserved %d, want %d %d", c->name,
			         svc->pools[0].quorum, svc->pools[0].unobserved, c->quorum,
			         c->unobserved);
		}
		assert_int_equal(svc->pools[1].quorum, CFG_QUORUM_MAJORITY);
		assert_int_equal(svc->pools[1].unobserved, CFG_UNOBSERVED_UP);
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
        {"unknown quorum", "quorum: most", "aya.yaml:12:21: error: "},
        {"unknown quorum lists values", "quorum: most", "'most' is not one of majority, any, all"},
        {"unknown when_unobserved", "when_unobserved: open", "'open' is not one of up, down"},
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
	        cmocka_unit_test(test_rule_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
