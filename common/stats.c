/*
 * Generic readers of the counter registry (common/stats.h): name/value lists
 * for `ayactl status`, Prometheus text for /metrics. Values are read with
 * memcpy at the row's offset, so a table never needs the struct's type.
 */
#include "common/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

uint64_t aya_stat_value(const aya_stat_t *r, const void *base)
{
	uint64_t v;
	memcpy(&v, (const char *)base + r->off, sizeof(v));
	return v;
}

size_t aya_stats_read(const aya_stat_table_t *t, const void *base, unsigned skip_flags,
                      const char **names, uint64_t *values, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n && n < max; i++) {
		const aya_stat_t *r = &t->row[i];
		if ((r->flags & skip_flags) != 0) {
			continue;
		}
		names[n] = r->name;
		values[n] = aya_stat_value(r, base);
		n++;
	}
	return n;
}

size_t aya_stats_count(const aya_stat_table_t *t, unsigned skip_flags)
{
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		n += (t->row[i].flags & skip_flags) == 0;
	}
	return n;
}

/* HELP text with '\' and newline escaped (text format 0.0.4). */
static void write_help(FILE *f, const char *family, const char *help)
{
	fprintf(f, "# HELP %s ", family);
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\') {
			fputs("\\\\", f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else {
			fputc(*p, f);
		}
	}
	fputc('\n', f);
}

/* True when a row before (s, i) in the sources already has this family. */
static bool family_seen(const aya_stat_source_t *src, size_t s, size_t i, const char *family)
{
	for (size_t k = 0; k <= s; k++) {
		const aya_stat_table_t *t = src[k].table;
		size_t end = k == s ? i : t->n;
		for (size_t j = 0; j < end; j++) {
			if (t->row[j].family != NULL && strcmp(t->row[j].family, family) == 0) {
				return true;
			}
		}
	}
	return false;
}

/* Every sample of `family`, from row (s, i) on (earlier rows have another family). */
static void write_family(FILE *f, const aya_stat_source_t *src, size_t n, size_t s, size_t i,
                         const char *family)
{
	for (size_t k = s; k < n; k++) {
		const aya_stat_table_t *t = src[k].table;
		for (size_t j = k == s ? i : 0; j < t->n; j++) {
			const aya_stat_t *r = &t->row[j];
			if (r->family == NULL || strcmp(r->family, family) != 0) {
				continue;
			}
			uint64_t v = aya_stat_value(r, src[k].base);
			const char *a = r->labels != NULL ? r->labels : "";
			const char *b = src[k].labels != NULL ? src[k].labels : "";
			if (a[0] != '\0' || b[0] != '\0') {
				fprintf(f, "%s{%s%s%s} %" PRIu64 "\n", family, a,
				        a[0] != '\0' && b[0] != '\0' ? "," : "", b, v);
			} else {
				fprintf(f, "%s %" PRIu64 "\n", family, v);
			}
		}
	}
}

int aya_stats_write_prom(FILE *f, const aya_stat_source_t *src, size_t n)
{
	for (size_t s = 0; s < n; s++) {
		const aya_stat_table_t *t = src[s].table;
		for (size_t i = 0; i < t->n; i++) {
			const aya_stat_t *r = &t->row[i];
			if (r->family == NULL || family_seen(src, s, i, r->family)) {
				continue;
			}
			write_help(f, r->family, r->help);
			fprintf(f, "# TYPE %s %s\n", r->family,
			        r->type == AYA_STAT_GAUGE ? "gauge" : "counter");
			write_family(f, src, n, s, i, r->family);
		}
	}
	return ferror(f) ? -EIO : 0;
}

/* ------------------------------------------------------------------ ad-hoc families */

void aya_prom_head(FILE *f, const char *family, const char *help, const char *type)
{
	write_help(f, family, help);
	fprintf(f, "# TYPE %s %s\n", family, type);
}

static void write_label_value(FILE *f, const char *v)
{
	for (const char *p = v != NULL ? v : ""; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"') {
			fputc('\\', f);
			fputc(*p, f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else {
			fputc(*p, f);
		}
	}
}

static void write_value(FILE *f, double v)
{
	if (isnan(v)) {
		fputs("NaN", f);
	} else if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	} else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		fprintf(f, "%.0f", v);
	} else {
		fprintf(f, "%.17g", v);
	}
}

/* family{labels[,extra="x"]} for a sample; extra may be NULL. */
static void write_name(FILE *f, const char *family, const char *const *kv, size_t n_labels,
                       const char *extra_k, const char *extra_v)
{
	fputs(family, f);
	if (n_labels == 0 && extra_k == NULL) {
		return;
	}
	fputc('{', f);
	for (size_t i = 0; i < n_labels; i++) {
		fprintf(f, "%s%s=\"", i > 0 ? "," : "", kv[2 * i]);
		write_label_value(f, kv[2 * i + 1]);
		fputc('"', f);
	}
	if (extra_k != NULL) {
		fprintf(f, "%s%s=\"%s\"", n_labels > 0 ? "," : "", extra_k, extra_v);
	}
	fputc('}', f);
}

void aya_prom_sample(FILE *f, const char *family, const char *const *kv, size_t n_labels,
                     double value)
{
	write_name(f, family, kv, n_labels, NULL, NULL);
	fputc(' ', f);
	write_value(f, value);
	fputc('\n', f);
}

void aya_hist_observe(aya_hist_t *h, const double *bounds, size_t n_bounds, double v)
{
	size_t i = 0;
	while (i < n_bounds && i < AYA_HIST_MAX_BOUNDS && v > bounds[i]) {
		i++;
	}
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

void aya_prom_hist(FILE *f, const char *family, const char *const *kv, size_t n_labels,
                   const double *bounds, size_t n_bounds, const aya_hist_t *h)
{
	char name[160];
	snprintf(name, sizeof(name), "%s_bucket", family);
	uint64_t cum = 0;
	for (size_t i = 0; i < n_bounds && i < AYA_HIST_MAX_BOUNDS; i++) {
		char le[32];
		cum += h->bucket[i];
		snprintf(le, sizeof(le), "%g", bounds[i]);
		write_name(f, name, kv, n_labels, "le", le);
		fprintf(f, " %" PRIu64 "\n", cum);
	}
	write_name(f, name, kv, n_labels, "le", "+Inf");
	fprintf(f, " %" PRIu64 "\n", h->count);
	snprintf(name, sizeof(name), "%s_sum", family);
	aya_prom_sample(f, name, kv, n_labels, h->sum);
	snprintf(name, sizeof(name), "%s_count", family);
	aya_prom_sample(f, name, kv, n_labels, (double)h->count);
}
