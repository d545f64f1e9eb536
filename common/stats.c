/*
 * Generic readers of the counter registry (common/stats.h): name/value lists
 * for `ayactl status`, Prometheus text for /metrics. Values are read with
 * memcpy at the row's offset, so a table never needs the struct's type.
 */
#include "common/stats.h"

#include <errno.h>
#include <inttypes.h>
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
			if (r->labels != NULL && r->labels[0] != '\0') {
				fprintf(f, "%s{%s} %" PRIu64 "\n", family, r->labels, v);
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
