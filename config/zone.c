/*
 * Zone files (RFC 1035 section 5) read with ldns record by record, so that
 * each record keeps the line it starts on, and converted to cfg_rr_t in the
 * config's arena: owner lower-cased wire form, RDATA uncompressed wire form.
 * No ldns object outlives cfg_zone_load(). Then the zone-wide checks: one
 * SOA at the apex, CNAME exclusivity (RFC 1034 3.6.2, RFC 2181 10.1), one
 * TTL per RRset (RFC 2181 5.2), NS at the apex, data occluded by a
 * delegation.
 */
#include "config/config_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

/* Upper bound on records and directives in one file (a loop bound, not a policy). */
#define MAX_ENTRIES 10000000

typedef struct zload {
	loader_t *ld;
	cfg_zone_t *z;
	cfg_rr_t *rrs; /* malloc'd while reading, copied into the arena at the end */
	size_t n, cap;
} zload_t;

static void zerr(zload_t *zl, unsigned line, const char *sev, const char *fmt, ...)
        AYA_PRINTF(4, 5);
static void zerr(zload_t *zl, unsigned line, const char *sev, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_diag_add(zl->ld->d, zl->z->file, line, 0, sev, "%s", msg);
}

static void type_str(uint16_t type, char *buf, size_t len)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);
	snprintf(buf, len, "%s", s != NULL ? s : "?");
	free(s);
}

static void owner_str(const uint8_t *owner, char *buf, size_t len)
{
	aya_dname_to_str(owner, buf, len);
}

/*
 * Consume whole lines that are blank or only a comment, counting them, so
 * that *line is where the next entry starts. A line that holds anything else
 * is left unread (its leading blanks mean "same owner" to ldns).
 */
static void skip_blank_lines(FILE *fp, int *line)
{
	char *buf = NULL;
	size_t cap = 0;
	for (;;) {
		long pos = ftell(fp);
		ssize_t n = getline(&buf, &cap, fp);
		if (n < 0) {
			break;
		}
		size_t i = 0;
		while (i < (size_t)n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r')) {
			i++;
		}
		if (i < (size_t)n && buf[i] != '\n' && buf[i] != ';') {
			fseek(fp, pos, SEEK_SET);
			break;
		}
		(*line)++;
	}
	free(buf);
}

/* Convert one ldns record; false when it is dropped (error reported). */
static bool add_rr(zload_t *zl, const ldns_rr *rr, unsigned line)
{
	loader_t *ld = zl->ld;
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint8_t wire[AYA_DNAME_MAX];
	char name[AYA_DNAME_STR_MAX];

	if (ldns_rdf_size(owner) > AYA_DNAME_MAX) {
		zerr(zl, line, "error", "owner name too long");
		return false;
	}
	memcpy(wire, ldns_rdf_data(owner), ldns_rdf_size(owner));
	aya_dname_lower(wire);
	owner_str(wire, name, sizeof(name));
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		zerr(zl, line, "error", "record %s: class must be IN", name);
		return false;
	}
	if (!aya_dname_is_sub(wire, zl->z->apex)) {
		zerr(zl, line, "error", "record %s is outside the zone %s", name, zl->z->name);
		return false;
	}
	ldns_buffer *buf = ldns_buffer_new(512);
	if (buf == NULL) {
		ld->nomem = true;
		return false;
	}
	bool ok = false;
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		zerr(zl, line, "error", "record %s: cannot encode rdata", name);
	} else if (ldns_buffer_position(buf) > UINT16_MAX) {
		zerr(zl, line, "error", "record %s: rdata longer than 65535 bytes", name);
	} else if (zl->n == zl->cap && zl->cap >= MAX_ENTRIES) {
		zerr(zl, line, "error", "too many records");
	} else {
		ok = true;
	}
	if (ok && zl->n == zl->cap) {
		size_t cap = zl->cap ? zl->cap * 2 : 64;
		cfg_rr_t *r = realloc(zl->rrs, cap * sizeof(*r));
		ok = r != NULL;
		if (ok) {
			zl->rrs = r;
			zl->cap = cap;
		} else {
			ld->nomem = true;
		}
	}
	if (ok) {
		cfg_rr_t *r = &zl->rrs[zl->n];
		r->owner = aya_arena_memdup(ld->arena, wire, aya_dname_len(wire));
		r->rdlen = (uint16_t)ldns_buffer_position(buf);
		r->rdata = aya_arena_memdup(ld->arena, ldns_buffer_begin(buf), r->rdlen);
		r->type = (uint16_t)ldns_rr_get_type(rr);
		r->rclass = (uint16_t)ldns_rr_get_class(rr);
		r->ttl = ldns_rr_ttl(rr);
		r->line = line;
		if (r->owner == NULL || r->rdata == NULL) {
			ld->nomem = true;
			ok = false;
		} else {
			zl->n++;
		}
	}
	ldns_buffer_free(buf);
	return ok;
}

/* The text of the record that starts at offset `from` and ends before `to`, NUL-terminated. */
static void record_text(FILE *fp, long from, long to, char *buf, size_t len)
{
	buf[0] = '\0';
	if (from < 0 || to <= from || fseek(fp, from, SEEK_SET) != 0) {
		return;
	}
	size_t want = (size_t)(to - from) < len - 1 ? (size_t)(to - from) : len - 1;
	size_t got = fread(buf, 1, want, fp);
	buf[got] = '\0';
	(void)fseek(fp, to, SEEK_SET);
}

/* Is a quoted string left open (outside comments, escapes honoured)? */
static bool open_quote(const char *t)
{
	bool quoted = false;
	for (; *t != '\0'; t++) {
		if (*t == '\\' && t[1] != '\0') {
			t++;
		} else if (*t == '"') {
			quoted = !quoted;
		} else if (*t == ';' && !quoted) {
			while (*t != '\0' && *t != '\n') {
				t++;
			}
			if (*t == '\0') {
				break;
			}
		}
	}
	return quoted;
}

/*
 * The token ldns could not read, for the error message: the first rdata
 * field of a one-line record that does not parse as its type's field, or
 * the record's first line. Into buf.
 */
static void culprit(const char *text, char *buf, size_t len)
{
	char line[512], *save = NULL, *tok[64];
	size_t n = 0;
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(text, "\n;"), text);
	for (char *t = strtok_r(line, " \t\r", &save); t != NULL && n < AYA_ARRAY_LEN(tok);
	     t = strtok_r(NULL, " \t\r", &save)) {
		tok[n++] = t;
	}
	/* [owner] [ttl] [class] type rdata...; an owner is absent when the line starts blank. */
	size_t ti = text[0] == ' ' || text[0] == '\t' ? 0 : 1;
	while (ti < n && (strspn(tok[ti], "0123456789smhdwSMHDW") == strlen(tok[ti]) ||
	                  ldns_get_rr_class_by_name(tok[ti]) != 0)) {
		ti++;
	}
	if (ti < n && ldns_get_rr_type_by_name(tok[ti]) == 0) {
		ti = n; /* not a type: show the line */
	}
	if (ti < n && strchr(text, '(') == NULL && strchr(text, '"') == NULL) {
		const ldns_rr_descriptor *desc =
		        ldns_rr_descript(ldns_get_rr_type_by_name(tok[ti]));
		for (size_t i = ti + 1; desc != NULL && i < n; i++) {
			size_t field = i - ti - 1;
			if (field >= ldns_rr_descriptor_maximum(desc)) {
				break;
			}
			ldns_rdf_type ft = ldns_rr_descriptor_field_type(desc, field);
			ldns_rdf *rdf = ldns_rdf_new_frm_str(ft, tok[i]);
			if (rdf == NULL) {
				snprintf(buf, len, "'%s' is not a valid %s field", tok[i], tok[ti]);
				return;
			}
			ldns_rdf_deep_free(rdf);
		}
	}
	snprintf(buf, len, "in \"%.*s\"", (int)strcspn(text, "\n"), text);
}

static void read_records(zload_t *zl, FILE *fp)
{
	char origin_text[AYA_DNAME_STR_MAX + 2];
	snprintf(origin_text, sizeof(origin_text), "%s.", zl->z->name);
	ldns_rdf *origin = ldns_dname_new_frm_str(origin_text);
	ldns_rdf *prev = NULL;
	uint32_t ttl = 3600; /* no $TTL: RFC 1035 leaves it to us */
	int line = 1;

	if (origin == NULL) {
		zl->ld->nomem = true;
		return;
	}
	for (long i = 0; i < MAX_ENTRIES; i++) {
		skip_blank_lines(fp, &line);
		if (feof(fp) || ferror(fp)) {
			break;
		}
		unsigned start = (unsigned)line;
		ldns_rr *rr = NULL;
		long from = ftell(fp);
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		char text[1024], why[600];
		record_text(fp, from, ftell(fp), text, sizeof(text));
		switch (st) {
		case LDNS_STATUS_OK:
			if (open_quote(text)) {
				/* ldns takes the rest of the line: a typo would change the data. */
				zerr(zl, start, "error", "unterminated quoted string in \"%.*s\"",
				     (int)strcspn(text, "\n"), text);
				break;
			}
			add_rr(zl, rr, start);
			break;
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
		case LDNS_STATUS_SYNTAX_EMPTY:
			break;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			zerr(zl, start, "error", "$INCLUDE is not supported");
			break;
		default:
			culprit(text, why, sizeof(why));
			zerr(zl, start, "error", "syntax error: %s: %s",
			     ldns_get_errorstr_by_id(st), why);
			break;
		}
		ldns_rr_free(rr);
		if (line < (int)start) {
			break; /* a counter that went backwards: stop rather than loop */
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
}

/* Order for grouping: owner (wire bytes), then type, then file order. */
static int cmp_rr(const void *a, const void *b)
{
	const cfg_rr_t *x = *(const cfg_rr_t *const *)a;
	const cfg_rr_t *y = *(const cfg_rr_t *const *)b;
	size_t lx = aya_dname_len(x->owner), ly = aya_dname_len(y->owner);
	int c = memcmp(x->owner, y->owner, lx < ly ? lx : ly);
	if (c != 0 || lx != ly) {
		return c != 0 ? c : (lx < ly ? -1 : 1);
	}
	if (x->type != y->type) {
		return x->type < y->type ? -1 : 1;
	}
	return x->line < y->line ? -1 : (x->line > y->line);
}

static bool same_owner(const cfg_rr_t *a, const cfg_rr_t *b)
{
	return aya_dname_equal(a->owner, b->owner);
}

/* CNAME exclusivity and TTLs per RRset, over the records sorted by owner. */
static void check_groups(zload_t *zl, cfg_rr_t **s, size_t n)
{
	char name[AYA_DNAME_STR_MAX], type[32];
	for (size_t i = 0; i < n;) {
		size_t j = i;
		const cfg_rr_t *cname = NULL, *other = NULL;
		while (j < n && same_owner(s[i], s[j])) {
			if (s[j]->type == LDNS_RR_TYPE_CNAME) {
				if (cname != NULL) {
					owner_str(s[j]->owner, name, sizeof(name));
					zerr(zl, s[j]->line, "error", "more than one CNAME at %s",
					     name);
				}
				cname = cname ? cname : s[j];
			} else if (s[j]->type != LDNS_RR_TYPE_RRSIG &&
			           s[j]->type != LDNS_RR_TYPE_NSEC) {
				other = other ? other : s[j];
			}
			j++;
		}
		if (cname != NULL && other != NULL) {
			owner_str(cname->owner, name, sizeof(name));
			zerr(zl, cname->line, "error", "CNAME and other data at %s", name);
		}
		/* RRsets inside the owner group. */
		for (size_t a = i; a < j;) {
			size_t b = a;
			uint32_t min = s[a]->ttl;
			const cfg_rr_t *diff = NULL;
			while (b < j && s[b]->type == s[a]->type) {
				if (s[b]->ttl != s[a]->ttl && diff == NULL) {
					diff = s[b];
				}
				min = s[b]->ttl < min ? s[b]->ttl : min;
				b++;
			}
			if (diff != NULL) {
				owner_str(s[a]->owner, name, sizeof(name));
				type_str(s[a]->type, type, sizeof(type));
				zerr(zl, diff->line, "warning",
				     "TTLs differ in the RRset %s %s; using the smallest, %u", name,
				     type, min);
				for (size_t k = a; k < b; k++) {
					s[k]->ttl = min;
				}
			}
			a = b;
		}
		i = j;
	}
}

/*
 * Data at or below a zone cut other than NS/DS at the cut (and, in a
 * pre-signed zone, the cut's NSEC and the RRSIGs of its DS and NSEC) and
 * glue is occluded.
 */
static void check_delegations(zload_t *zl)
{
	const uint8_t *apex = zl->z->apex;
	char name[AYA_DNAME_STR_MAX], type[32], cut[AYA_DNAME_STR_MAX];
	for (size_t d = 0; d < zl->n; d++) {
		const cfg_rr_t *ns = &zl->rrs[d];
		if (ns->type != LDNS_RR_TYPE_NS || aya_dname_equal(ns->owner, apex)) {
			continue;
		}
		/* One pass per delegation point: skip NS records after the first. */
		bool first = true;
		for (size_t k = 0; k < d && first; k++) {
			first = !(zl->rrs[k].type == LDNS_RR_TYPE_NS &&
			          aya_dname_equal(zl->rrs[k].owner, ns->owner));
		}
		if (!first) {
			continue;
		}
		for (size_t i = 0; i < zl->n; i++) {
			const cfg_rr_t *r = &zl->rrs[i];
			if (!aya_dname_is_sub(r->owner, ns->owner)) {
				continue;
			}
			bool at_cut = aya_dname_equal(r->owner, ns->owner);
			bool glue = r->type == LDNS_RR_TYPE_A || r->type == LDNS_RR_TYPE_AAAA;
			bool ok = glue ||
			          (at_cut &&
			           (r->type == LDNS_RR_TYPE_NS || r->type == LDNS_RR_TYPE_DS ||
			            r->type == LDNS_RR_TYPE_NSEC || r->type == LDNS_RR_TYPE_RRSIG));
			if (!ok) {
				owner_str(r->owner, name, sizeof(name));
				owner_str(ns->owner, cut, sizeof(cut));
				type_str(r->type, type, sizeof(type));
				zerr(zl, r->line, "warning",
				     "record %s %s is occluded by the delegation at %s", name, type,
				     cut);
			}
		}
	}
}

/* SOA serial: after MNAME and RNAME (RFC 1035 3.3.13). */
static bool soa_serial(const cfg_rr_t *soa, uint32_t *serial)
{
	size_t p = 0;
	for (int names = 0; names < 2; names++) {
		while (p < soa->rdlen && soa->rdata[p] != 0) {
			p += soa->rdata[p] + 1u;
		}
		p++;
	}
	if (p + 4 > soa->rdlen) {
		return false;
	}
	const uint8_t *s = soa->rdata + p;
	*serial = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	return true;
}

/* Exactly one SOA, at the apex; NS at the apex. Returns the SOA index or n. */
static size_t check_apex(zload_t *zl)
{
	size_t soa = zl->n;
	bool ns = false;
	char name[AYA_DNAME_STR_MAX];
	for (size_t i = 0; i < zl->n; i++) {
		const cfg_rr_t *r = &zl->rrs[i];
		bool at_apex = aya_dname_equal(r->owner, zl->z->apex);
		ns = ns || (at_apex && r->type == LDNS_RR_TYPE_NS);
		if (r->type != LDNS_RR_TYPE_SOA) {
			continue;
		}
		if (!at_apex) {
			owner_str(r->owner, name, sizeof(name));
			zerr(zl, r->line, "error", "SOA record at %s, not at the zone apex", name);
		} else if (soa != zl->n) {
			zerr(zl, r->line, "error", "second SOA record (first at line %u)",
			     zl->rrs[soa].line);
		} else {
			soa = i;
		}
	}
	if (soa == zl->n) {
		zerr(zl, 0, "error", "no SOA record at the zone apex %s.", zl->z->name);
	} else if (!soa_serial(&zl->rrs[soa], &zl->z->serial)) {
		zerr(zl, zl->rrs[soa].line, "error", "malformed SOA record");
	}
	if (!ns) {
		zerr(zl, 0, "warning", "no NS records at the zone apex %s.", zl->z->name);
	}
	return soa;
}

void cfg_zone_load(loader_t *ld, cfg_zone_t *z, cfg_loc_t file_loc)
{
	zload_t zl = {.ld = ld, .z = z};
	FILE *fp = fopen(z->file, "r");
	if (fp == NULL) {
		cfg_y_err_at(ld, file_loc, "cannot read zone file '%s': %s", z->file,
		             strerror(errno));
		return;
	}
	/* A directory opens, then every read fails: ldns would be asked 10M times. */
	struct stat sb;
	if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		cfg_y_err_at(ld, file_loc, "zone file '%s' is not a regular file", z->file);
		fclose(fp);
		return;
	}
	read_records(&zl, fp);
	if (ferror(fp)) {
		cfg_y_err_at(ld, file_loc, "cannot read zone file '%s': read error", z->file);
	}
	fclose(fp);

	cfg_rr_t **sorted = malloc((zl.n ? zl.n : 1) * sizeof(*sorted));
	cfg_rr_t *out = aya_arena_alloc(ld->arena, (zl.n ? zl.n : 1) * sizeof(*out));
	if (sorted == NULL || out == NULL) {
		ld->nomem = true;
		goto done;
	}
	size_t soa = check_apex(&zl);
	for (size_t i = 0; i < zl.n; i++) {
		sorted[i] = &zl.rrs[i];
	}
	qsort(sorted, zl.n, sizeof(*sorted), cmp_rr);
	check_groups(&zl, sorted, zl.n);
	check_delegations(&zl);
	/* SOA first, then the file's order. */
	size_t k = 0;
	if (soa < zl.n) {
		out[k++] = zl.rrs[soa];
	}
	for (size_t i = 0; i < zl.n; i++) {
		if (i != soa) {
			out[k++] = zl.rrs[i];
		}
	}
	z->rrs = out;
	z->n_rrs = k;
done:
	free(sorted);
	free(zl.rrs);
}
