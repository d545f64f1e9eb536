/*
 * Unit tests for the counter registry (common/stats.c) and the tables the
 * modules declare with it (dnsd, agent, gossip): every field of a stats struct
 * has exactly one row, values are read at the right offsets, names are unique
 * across tables, help, Prometheus names and labels are well formed, the
 * status order is the one `ayactl status` has always printed, and the
 * Prometheus text is valid exposition format.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/agent.h"
#include "common/stats.h"
#include "dnsd/dnsd.h"
#include "gossip/gossip.h"

static const aya_stat_table_t *const tables[] = {&dnsd_stats_table, &agent_stats_table,
                                                 &gsp_stats_table, &gsp_repl_stats_table};

/* Value of slot k (the k-th uint64_t) in a filled struct: distinct per table and slot. */
static uint64_t slot_value(size_t t, size_t k)
{
	return 1000000 * (t + 1) + 1000 + k;
}

/* A struct of t's size whose every uint64_t slot holds slot_value(). Caller frees. */
static void *filled(const aya_stat_table_t *t, size_t ti)
{
	assert_int_equal(t->struct_size % sizeof(uint64_t), 0);
	uint64_t *p = calloc(t->struct_size / sizeof(uint64_t), sizeof(uint64_t));
	assert_non_null(p);
	for (size_t k = 0; k < t->struct_size / sizeof(uint64_t); k++) {
		p[k] = slot_value(ti, k);
	}
	return p;
}

static const aya_stat_t *row_find(const aya_stat_table_t *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->row[i].name, name) == 0) {
			return &t->row[i];
		}
	}
	return NULL;
}

/* Every field (all are uint64_t) has exactly one row, aligned and inside the struct. */
static void test_rows_cover_struct(void **state)
{
	(void)state;
	for (size_t ti = 0; ti < AYA_ARRAY_LEN(tables); ti++) {
		const aya_stat_table_t *t = tables[ti];
		size_t slots = t->struct_size / sizeof(uint64_t);
		unsigned *seen = calloc(slots, sizeof(*seen));
		assert_non_null(seen);
		assert_int_equal(t->n, slots);
		for (size_t i = 0; i < t->n; i++) {
			assert_int_equal(t->row[i].off % sizeof(uint64_t), 0);
			assert_true(t->row[i].off + sizeof(uint64_t) <= t->struct_size);
			seen[t->row[i].off / sizeof(uint64_t)]++;
		}
		for (size_t k = 0; k < slots; k++) {
			if (seen[k] != 1) {
				fail_msg("%s: slot %zu has %u rows", t->module, k, seen[k]);
			}
		}
		free(seen);
	}
}

/* Named rows read the named field of the real struct. */
static void test_values_at_offsets(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		const aya_stat_table_t *t;
		const char *name;
		size_t off;
	} cases[] = {
	        {"dnsd first", &dnsd_stats_table, "queries", offsetof(dnsd_stats_t, queries)},
	        {"dnsd rcode", &dnsd_stats_table, "nxdomain", offsetof(dnsd_stats_t, nxdomain)},
	        {"dnsd last", &dnsd_stats_table, "ecs", offsetof(dnsd_stats_t, ecs)},
	        {"agent renamed", &agent_stats_table, "probe_timeouts",
	         offsetof(agent_stats_t, timeouts)},
	        {"agent gauge", &agent_stats_table, "probe_targets",
	         offsetof(agent_stats_t, targets)},
	        {"agent last", &agent_stats_table, "probes_in_flight",
	         offsetof(agent_stats_t, in_flight)},
	        {"gossip first", &gsp_stats_table, "gossip_tx_packets",
	         offsetof(gsp_stats_t, tx_packets)},
	        {"gossip drop", &gsp_stats_table, "gossip_rx_replay",
	         offsetof(gsp_stats_t, rx_replay)},
	        {"gossip last", &gsp_stats_table, "gossip_broadcasts_dropped",
	         offsetof(gsp_stats_t, broadcasts_dropped)},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		unsigned char buf[512] = {0};
		assert_true(cases[i].t->struct_size <= sizeof(buf));
		uint64_t v = 0x0102030405060708u + i;
		memcpy(buf + cases[i].off, &v, sizeof(v));
		const aya_stat_t *r = row_find(cases[i].t, cases[i].name);
		if (r == NULL) {
			fail_msg("%s: no row %s", cases[i].what, cases[i].name);
		}
		assert_int_equal(r->off, cases[i].off);
		assert_int_equal(aya_stat_value(r, buf), v);
	}
	/* Through the real type too. */
	dnsd_stats_t st = {0};
	st.send_errors = 42;
	assert_int_equal(aya_stat_value(row_find(&dnsd_stats_table, "send_errors"), &st), 42);
}

/* The status list: these names in this order (tests/integration/test_ctl.sh reads them). */
static void test_status_order(void **state)
{
	(void)state;
	static const char *const dnsd_names[] = {
	        "udp",
	        "tcp",
	        "noerror",
	        "nxdomain",
	        "refused",
	        "formerr",
	        "servfail",
	        "notimp",
	        "badvers",
	        "badcookie",
	        "notauth",
	        "dropped",
	        "truncated",
	        "edns",
	        "cookies",
	        "nsid",
	        "axfr_refused",
	        "send_errors",
	        "tcp_refused",
	        "tcp_evicted",
	        "tcp_timeouts",
	        "rrl_dropped",
	        "rrl_slipped",
	        "rrl_keys",
	        "tsig_ok",
	        "tsig_badkey",
	        "tsig_badsig",
	        "tsig_badtime",
	        "tsig_formerr",
	        "dnssec_answers",
	        "dnssec_cache_hits",
	        "dnssec_signs",
	        "dnssec_sign_fail",
	};
	static const char *const agent_names[] = {
	        "probe_targets",  "probes_sent",    "probes_ok",
	        "probes_failed",  "probe_timeouts", "probes_skipped",
	        "probe_connects", "probe_retries",  "health_transitions",
	};
	static const struct {
		const aya_stat_table_t *t;
		const char *const *names;
		size_t n;
	} cases[] = {
	        {&dnsd_stats_table, dnsd_names, AYA_ARRAY_LEN(dnsd_names)},
	        {&agent_stats_table, agent_names, AYA_ARRAY_LEN(agent_names)},
	};
	for (size_t c = 0; c < AYA_ARRAY_LEN(cases); c++) {
		const aya_stat_table_t *t = cases[c].t;
		void *base = filled(t, c);
		const char *names[64];
		uint64_t values[64];
		size_t n = aya_stats_read(t, base, AYA_STAT_NOLIST, names, values, 64);
		assert_int_equal(n, cases[c].n);
		assert_int_equal(aya_stats_count(t, AYA_STAT_NOLIST), n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(names[i], cases[c].names[i]);
			assert_int_equal(values[i], aya_stat_value(row_find(t, names[i]), base));
		}
		/* max truncates; no flags to skip lists every row. */
		assert_int_equal(aya_stats_read(t, base, AYA_STAT_NOLIST, names, values, 3), 3);
		assert_string_equal(names[2], cases[c].names[2]);
		assert_int_equal(aya_stats_read(t, base, 0, names, values, 64), t->n);
		assert_int_equal(aya_stats_count(t, 0), t->n);
		free(base);
	}
}

static bool prom_name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strchr("0123456789", s[0]) != NULL) {
		return false;
	}
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") ==
	       strlen(s);
}

/* `name="value"` pairs joined by ','; label names [a-zA-Z_][a-zA-Z0-9_]*, not __*. */
static bool labels_ok(const char *s)
{
	if (s == NULL) {
		return true;
	}
	for (;;) {
		size_t n = strspn(
		        s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (n == 0 || strchr("0123456789", s[0]) != NULL || strncmp(s, "__", 2) == 0 ||
		    s[n] != '=' || s[n + 1] != '"') {
			return false;
		}
		s += n + 2;
		size_t v = strcspn(s, "\"\\\n");
		if (s[v] != '"') {
			return false;
		}
		s += v + 1;
		if (*s == '\0') {
			return true;
		}
		if (*s++ != ',') {
			return false;
		}
	}
}

static void test_label_syntax(void **state)
{
	(void)state;
	static const struct {
		const char *labels;
		bool ok;
	} cases[] = {
	        {NULL, true},
	        {"rcode=\"nxdomain\"", true},
	        {"a=\"x\",b_2=\"\"", true},
	        {"", false},
	        {"rcode=nxdomain", false},
	        {"rcode=\"nx", false},
	        {"rcode=\"n\\\"x\"", false},
	        {"1a=\"x\"", false},
	        {"__name__=\"x\"", false},
	        {"a=\"x\",", false},
	        {"a=\"x\" ,b=\"y\"", false},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		if (labels_ok(cases[i].labels) != cases[i].ok) {
			fail_msg("labels %s: want %d", cases[i].labels, cases[i].ok);
		}
	}
	assert_true(prom_name_ok("aya_dns:x_total"));
	assert_false(prom_name_ok("9x"));
	assert_false(prom_name_ok("aya-dns"));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Rows against the rules of common/stats.h, across every table. */
static void test_rows_well_formed(void **state)
{
	(void)state;
	for (size_t ti = 0; ti < AYA_ARRAY_LEN(tables); ti++) {
		const aya_stat_table_t *t = tables[ti];
		for (size_t i = 0; i < t->n; i++) {
			const aya_stat_t *r = &t->row[i];
			assert_non_null(r->name);
			if (r->name[0] == '\0' ||
			    strspn(r->name, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
			            strlen(r->name)) {
				fail_msg("%s: bad name '%s'", t->module, r->name);
			}
			if (r->help == NULL || r->help[0] == '\0' ||
			    strchr(r->help, '\n') != NULL) {
				fail_msg("%s: %s: no or bad help", t->module, r->name);
			}
			assert_true(r->type == AYA_STAT_COUNTER || r->type == AYA_STAT_GAUGE);
			if (r->family == NULL) {
				assert_null(r->labels);
				continue;
			}
			if (!prom_name_ok(r->family) ||
			    ends_with(r->family, "_total") != (r->type == AYA_STAT_COUNTER)) {
				fail_msg("%s: %s: bad family '%s'", t->module, r->name, r->family);
			}
			if (!labels_ok(r->labels)) {
				fail_msg("%s: %s: bad labels '%s'", t->module, r->name, r->labels);
			}
		}
	}
}

/* Names unique across tables; one family: same help and type, distinct labels. */
static void test_unique_across_tables(void **state)
{
	(void)state;
	for (size_t ta = 0; ta < AYA_ARRAY_LEN(tables); ta++) {
		for (size_t i = 0; i < tables[ta]->n; i++) {
			const aya_stat_t *a = &tables[ta]->row[i];
			for (size_t tb = ta; tb < AYA_ARRAY_LEN(tables); tb++) {
				for (size_t j = tb == ta ? i + 1 : 0; j < tables[tb]->n; j++) {
					const aya_stat_t *b = &tables[tb]->row[j];
					if (strcmp(a->name, b->name) == 0) {
						fail_msg("name %s twice", a->name);
					}
					if (a->family == NULL || b->family == NULL ||
					    strcmp(a->family, b->family) != 0) {
						continue;
					}
					assert_string_equal(a->help, b->help);
					assert_int_equal(a->type, b->type);
					const char *la = a->labels ? a->labels : "";
					const char *lb = b->labels ? b->labels : "";
					if (strcmp(la, lb) == 0) {
						fail_msg("%s{%s} twice", a->family, la);
					}
					/* A family is all labelled or all plain. */
					assert_true((la[0] == '\0') == (lb[0] == '\0'));
				}
			}
		}
	}
}

/* Families seen while checking one exposition. */
typedef struct prom_check {
	char fam[128][96];
	size_t n_fam;
	size_t samples;
	char cur[96]; /* family of the last TYPE line */
	bool help_pending;
} prom_check_t;

static bool fam_known(const prom_check_t *c, const char *f)
{
	for (size_t i = 0; i < c->n_fam; i++) {
		if (strcmp(c->fam[i], f) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * One line of text format 0.0.4 as aya_stats_write_prom writes it: HELP then
 * TYPE once per family, then only that family's samples.
 */
static void prom_line(prom_check_t *c, char *line)
{
	char name[96], rest[256];
	if (strncmp(line, "# HELP ", 7) == 0) {
		assert_int_equal(sscanf(line + 7, "%95s %255[^\n]", name, rest), 2);
		assert_true(prom_name_ok(name));
		assert_false(fam_known(c, name));
		assert_true(c->n_fam < AYA_ARRAY_LEN(c->fam));
		strcpy(c->fam[c->n_fam++], name);
		strcpy(c->cur, name);
		c->help_pending = true;
		return;
	}
	if (strncmp(line, "# TYPE ", 7) == 0) {
		assert_int_equal(sscanf(line + 7, "%95s %255s", name, rest), 2);
		assert_true(c->help_pending);
		assert_string_equal(name, c->cur);
		assert_true(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0);
		c->help_pending = false;
		return;
	}
	assert_false(c->help_pending);
	char *sp = strrchr(line, ' ');
	assert_non_null(sp);
	*sp = '\0';
	char *end = NULL;
	strtoull(sp + 1, &end, 10);
	assert_true(end != sp + 1 && *end == '\0');
	char *brace = strchr(line, '{');
	if (brace != NULL) {
		size_t len = strlen(brace);
		assert_true(len >= 2 && brace[len - 1] == '}');
		brace[len - 1] = '\0';
		*brace = '\0';
		assert_true(labels_ok(brace + 1));
	}
	assert_string_equal(line, c->cur);
	c->samples++;
}

static void prom_check(const char *text, prom_check_t *c)
{
	memset(c, 0, sizeof(*c));
	char *copy = strdup(text);
	assert_non_null(copy);
	assert_true(text[0] == '\0' || text[strlen(text) - 1] == '\n');
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		prom_line(c, l);
	}
	assert_false(c->help_pending);
	free(copy);
}

static char *write_prom(const aya_stat_source_t *src, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(aya_stats_write_prom(f, src, n), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The three module tables together: valid, one sample per exported row, right values. */
static void test_prom_modules(void **state)
{
	(void)state;
	aya_stat_source_t src[AYA_ARRAY_LEN(tables)];
	void *base[AYA_ARRAY_LEN(tables)];
	size_t exported = 0;
	for (size_t ti = 0; ti < AYA_ARRAY_LEN(tables); ti++) {
		base[ti] = filled(tables[ti], ti);
		src[ti] = (aya_stat_source_t){.table = tables[ti], .base = base[ti]};
		for (size_t i = 0; i < tables[ti]->n; i++) {
			exported += tables[ti]->row[i].family != NULL;
		}
	}
	char *text = write_prom(src, AYA_ARRAY_LEN(src));
	prom_check_t *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	prom_check(text, c);
	assert_int_equal(c->samples, exported);
	/* Spot checks: a labelled sample and a gauge, with their slot values. */
	char want[160];
	snprintf(want, sizeof(want), "aya_dns_responses_total{rcode=\"nxdomain\"} %llu\n",
	         (unsigned long long)slot_value(0, offsetof(dnsd_stats_t, nxdomain) / 8));
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "# TYPE aya_agent_targets gauge\naya_agent_targets %llu\n",
	         (unsigned long long)slot_value(1, offsetof(agent_stats_t, targets) / 8));
	assert_non_null(strstr(text, want));
	free(c);
	free(text);
	for (size_t ti = 0; ti < AYA_ARRAY_LEN(tables); ti++) {
		free(base[ti]);
	}
}

/* A small pair of tables, exact output: a family across tables, HELP escaping, a hidden row. */
typedef struct demo_stats {
	uint64_t a, b, c;
} demo_stats_t;

static const aya_stat_t demo_rows1[] = {
        AYA_STAT_ROW(demo_stats_t, a, "demo_a", "Things, by kind", "demo_things_total",
                     "kind=\"a\"", AYA_STAT_COUNTER, 0),
        AYA_STAT_ROW(demo_stats_t, b, "demo_b", "Level with a \\ backslash", "demo_level", NULL,
                     AYA_STAT_GAUGE, AYA_STAT_NOLIST),
        AYA_STAT_ROW(demo_stats_t, c, "demo_c", "Sum of the rest", NULL, NULL, AYA_STAT_COUNTER, 0),
};
static const aya_stat_t demo_rows2[] = {
        AYA_STAT_ROW(demo_stats_t, c, "demo2_c", "Things, by kind", "demo_things_total",
                     "kind=\"c\"", AYA_STAT_COUNTER, 0),
};

static void test_prom_exact(void **state)
{
	(void)state;
	const aya_stat_table_t t1 = AYA_STAT_TABLE("demo", demo_stats_t, demo_rows1);
	const aya_stat_table_t t2 = AYA_STAT_TABLE("demo2", demo_stats_t, demo_rows2);
	demo_stats_t s1 = {.a = 1, .b = 2, .c = 3}, s2 = {.a = 10, .b = 20, .c = 30};
	const aya_stat_source_t src[] = {{&t1, &s1, NULL}, {&t2, &s2, NULL}};
	char *text = write_prom(src, AYA_ARRAY_LEN(src));
	assert_string_equal(text, "# HELP demo_things_total Things, by kind\n"
	                          "# TYPE demo_things_total counter\n"
	                          "demo_things_total{kind=\"a\"} 1\n"
	                          "demo_things_total{kind=\"c\"} 30\n"
	                          "# HELP demo_level Level with a \\\\ backslash\n"
	                          "# TYPE demo_level gauge\n"
	                          "demo_level 2\n");
	free(text);
	text = write_prom(src, 0);
	assert_string_equal(text, "");
	free(text);
}

/* Ad-hoc families: label values escaped, numbers as Prometheus spells them, histograms cumulative.
 */
static void test_prom_adhoc(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	aya_prom_head(f, "x_level", "A level", "gauge");
	const char *kv[] = {"svc", "a\"b\\c\nd", "region", "r1"};
	aya_prom_sample(f, "x_level", kv, 2, 0.25);
	aya_prom_sample(f, "x_level", NULL, 0, 3);
	aya_prom_sample(f, "x_level", kv + 2, 1, NAN);
	aya_prom_sample(f, "x_level", kv + 2, 1, INFINITY);
	static const double bounds[] = {0.01, 0.1};
	aya_hist_t h = {0};
	aya_hist_observe(&h, bounds, 2, 0.005);
	aya_hist_observe(&h, bounds, 2, 0.05);
	aya_hist_observe(&h, bounds, 2, 0.1);
	aya_hist_observe(&h, bounds, 2, 7);
	aya_prom_hist(f, "x_seconds", kv + 2, 1, bounds, 2, &h);
	fclose(f);
	assert_string_equal(text, "# HELP x_level A level\n"
	                          "# TYPE x_level gauge\n"
	                          "x_level{svc=\"a\\\"b\\\\c\\nd\",region=\"r1\"} 0.25\n"
	                          "x_level 3\n"
	                          "x_level{region=\"r1\"} NaN\n"
	                          "x_level{region=\"r1\"} +Inf\n"
	                          "x_seconds_bucket{region=\"r1\",le=\"0.01\"} 1\n"
	                          "x_seconds_bucket{region=\"r1\",le=\"0.1\"} 3\n"
	                          "x_seconds_bucket{region=\"r1\",le=\"+Inf\"} 4\n"
	                          "x_seconds_sum{region=\"r1\"} 7.1550000000000002\n"
	                          "x_seconds_count{region=\"r1\"} 4\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rows_cover_struct),
	        cmocka_unit_test(test_values_at_offsets),
	        cmocka_unit_test(test_status_order),

	        cmocka_unit_test(test_label_syntax),
	        cmocka_unit_test(test_rows_well_formed),
	        cmocka_unit_test(test_unique_across_tables),
	        cmocka_unit_test(test_prom_modules),
	        cmocka_unit_test(test_prom_exact),
	        cmocka_unit_test(test_prom_adhoc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
