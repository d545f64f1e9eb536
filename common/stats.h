/*
 * The counter registry: one declarative table per module that owns counters,
 * next to its plain stats struct (dnsd_stats_t, agent_stats_t, gsp_stats_t).
 * A row says what a value is called in `ayactl status`, what it means, whether
 * it is a counter or a gauge, which Prometheus family and labels it is
 * exported as, and where it lives: the offset of a uint64_t in the struct.
 * Readers (status lists, /metrics) are generic over (table, struct pointer),
 * so adding a counter is one field and one row.
 *
 * Rules a table keeps (tests/common/test_stats.c checks them):
 *  - names are unique across every table, [a-z0-9_]+;
 *  - every row has help text; rows of one family share help and type;
 *  - family is a valid Prometheus metric name (counters end in _total) or
 *    NULL for a value not exported (e.g. a sum of other rows);
 *  - labels is NULL or `name="value"` pairs joined by ',', the value without
 *    '"', '\\' or newline; rows of one family differ in their labels.
 *
 * Tables are constant data; the functions here allocate nothing and may be
 * called from any thread on a struct the caller owns.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/compiler.h"

typedef enum aya_stat_type {
	AYA_STAT_COUNTER = 0, /* only goes up (until a restart) */
	AYA_STAT_GAUGE = 1,   /* a level: goes up and down */
} aya_stat_type_t;

/* Row flags. */
enum {
	/* Not in `ayactl status`'s counter list (shown elsewhere in status, or /metrics only). */
	AYA_STAT_NOLIST = 1u << 0,
};

typedef struct aya_stat {
	const char *name;   /* as `ayactl status` shows it; unique across tables */
	const char *help;   /* one line, no newline; Prometheus HELP of the family */
	const char *family; /* Prometheus metric name, e.g. "aya_dns_responses_total"; NULL: none */
	const char *labels; /* e.g. "rcode=\"nxdomain\""; NULL: none */
	size_t off;         /* offset of the uint64_t value in the module's stats struct */
	aya_stat_type_t type;
	unsigned flags; /* AYA_STAT_* */
} aya_stat_t;

typedef struct aya_stat_table {
	const char *module;    /* "dnsd", "agent", "gossip": for messages */
	const aya_stat_t *row; /* n rows, in the order status shows them */
	size_t n;
	size_t struct_size; /* sizeof the stats struct the offsets are into */
} aya_stat_table_t;

/*
 * offsetof(stype, field), refusing to compile unless the field is a uint64_t:
 * a row cannot point at a narrower field or at a _Atomic counter.
 */
#define AYA_STAT_OFF(stype, field)                                                                 \
	(offsetof(stype, field) + 0 * sizeof(_Generic(&((stype *)0)->field, uint64_t * : 1)))

/*
 * A row of a table over struct stype, e.g. AYA_STAT_ROW(dnsd_stats_t, nxdomain,
 * "nxdomain", "help", "aya_dns_responses_total", "rcode=\"nxdomain\"",
 * AYA_STAT_COUNTER, 0).
 */
#define AYA_STAT_ROW(stype, field, name_, help_, family_, labels_, type_, flags_)                  \
	{                                                                                          \
		.name = (name_), .help = (help_), .family = (family_), .labels = (labels_),        \
		.off = AYA_STAT_OFF(stype, field), .type = (type_), .flags = (flags_)              \
	}

/* A table over rows[] (an array, not a pointer) for struct `stype`. */
#define AYA_STAT_TABLE(module_, stype, rows)                                                       \
	{                                                                                          \
		.module = (module_), .row = (rows), .n = AYA_ARRAY_LEN(rows),                      \
		.struct_size = sizeof(stype)                                                       \
	}

/* The value of row r in the stats struct at base. */
uint64_t aya_stat_value(const aya_stat_t *r, const void *base) AYA_NONNULL(1, 2);

/*
 * Names and values of t's rows, in table order, skipping rows with any of
 * `skip_flags` (e.g. AYA_STAT_NOLIST for the status list), at most max of
 * them. Names are borrowed from the table (static). Returns how many were
 * written.
 */
size_t aya_stats_read(const aya_stat_table_t *t, const void *base, unsigned skip_flags,
                      const char **names, uint64_t *values, size_t max) AYA_NONNULL(1, 2);

/* How many rows of t have none of skip_flags. */
size_t aya_stats_count(const aya_stat_table_t *t, unsigned skip_flags) AYA_NONNULL(1);

/* One table and the struct its offsets are into, for aya_stats_write_prom. */
typedef struct aya_stat_source {
	const aya_stat_table_t *table;
	const void *base;
	/*
	 * Labels added to every sample of this source, e.g. "transport=\"udp\"":
	 * one table over several structs (dnsd's UDP and TCP counters). NULL: none.
	 */
	const char *labels;
} aya_stat_source_t;

/*
 * Prometheus text exposition (format 0.0.4) of every exported row of the
 * sources: per family one HELP and one TYPE line, then all its samples
 * (families may span rows and sources). Labels are written as the table has
 * them (the rules above keep them valid); HELP text is escaped. Returns 0, or
 * -EIO when writing to f fails.
 */
int aya_stats_write_prom(FILE *f, const aya_stat_source_t *src, size_t n) AYA_NONNULL(1);

/* ---- Prometheus families outside the tables (/metrics: per service, per endpoint, ...) ---- */

/* "# HELP" (escaped) and "# TYPE" lines; type is "counter", "gauge" or "histogram". */
void aya_prom_head(FILE *f, const char *family, const char *help, const char *type)
        AYA_NONNULL(1, 2, 3, 4);
/*
 * One sample: family{k0="v0",k1="v1",...} value, with n_labels (name, value)
 * pairs in kv[0..2*n_labels) (values escaped: backslash, quote, newline).
 * NaN and infinities are written as Prometheus spells them.
 */
void aya_prom_sample(FILE *f, const char *family, const char *const *kv, size_t n_labels,
                     double value) AYA_NONNULL(1, 2);

/*
 * A histogram with fixed upper bounds (seconds, ascending; +Inf implied):
 * bucket[i] counts observations <= bounds[i] and above bounds[i-1];
 * bucket[n_bounds] those above the last bound. One writer; sum in seconds.
 */
#define AYA_HIST_MAX_BOUNDS 16
typedef struct aya_hist {
	uint64_t bucket[AYA_HIST_MAX_BOUNDS + 1];
	uint64_t count;
	double sum;
} aya_hist_t;

void aya_hist_observe(aya_hist_t *h, const double *bounds, size_t n_bounds, double v)
        AYA_NONNULL(1, 2);
/*
 * The _bucket (cumulative, with le labels), _sum and _count samples of a
 * histogram (the head is the caller's), with extra labels kv like
 * aya_prom_sample.
 */
void aya_prom_hist(FILE *f, const char *family, const char *const *kv, size_t n_labels,
                   const double *bounds, size_t n_bounds, const aya_hist_t *h)
        AYA_NONNULL(1, 2, 5, 7);
