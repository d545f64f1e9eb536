/*
 * Load and capacity as the backend reports them in its probe response: a
 * JSON field (jansson) or a Prometheus text-format sample (header values are
 * read in http.c with the other header code). A value that is missing,
 * malformed, not finite or out of range leaves utilization unknown (NAN),
 * never 0: policies treat unknown differently from idle.
 */
#include "agent/agent_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A number from a JSON value: a number, or a string holding one. */
static int json_number(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		double d = strtod(s, &end);
		if (end != s && *end == '\0') {
			*out = d;
			return 0;
		}
	}
	return -EBADMSG;
}

int agent_load_json(const char *body, size_t len, const char *path, double *out)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		return -EBADMSG;
	}
	const json_t *v = root;
	int rc = 0;
	for (const char *seg = path; v != NULL && rc == 0;) {
		const char *dot = strchr(seg, '.');
		size_t n = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
		char key[128];
		if (n == 0 || n >= sizeof(key)) {
			rc = -ENOENT;
			break;
		}
		memcpy(key, seg, n);
		key[n] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, key);
		} else if (json_is_array(v) && isdigit((unsigned char)key[0])) {
			char *end;
			unsigned long i = strtoul(key, &end, 10);
			v = *end == '\0' ? json_array_get(v, i) : NULL;
		} else {
			v = NULL;
		}
		if (dot == NULL) {
			break;
		}
		seg = dot + 1;
	}
	if (rc == 0) {
		rc = v == NULL ? -ENOENT : json_number(v, out);
	}
	json_decref(root);
	return rc;
}

/* Skip a {label="value",...} set; returns the offset after '}', or 0 when malformed. */
static size_t skip_labels(const char *s, size_t len, size_t pos)
{
	bool quoted = false;
	for (pos++; pos < len && s[pos] != '\n'; pos++) {
		if (quoted && s[pos] == '\\') {
			pos++; /* an escaped character, e.g. \" */
		} else if (s[pos] == '"') {
			quoted = !quoted;
		} else if (!quoted && s[pos] == '}') {
			return pos + 1;
		}
	}
	return 0;
}

/* The sample value of one line that starts with the metric name; -EBADMSG when malformed. */
static int sample_value(const char *line, size_t ll, size_t pos, double *out)
{
	if (pos < ll && line[pos] == '{') {
		pos = skip_labels(line, ll, pos);
		if (pos == 0) {
			return -EBADMSG;
		}
	}
	if (pos >= ll || (line[pos] != ' ' && line[pos] != '\t')) {
		return -EBADMSG;
	}
	while (pos < ll && (line[pos] == ' ' || line[pos] == '\t')) {
		pos++;
	}
	char tmp[64];
	size_t n = 0;
	while (pos + n < ll && !isspace((unsigned char)line[pos + n]) && n < sizeof(tmp) - 1) {
		tmp[n] = line[pos + n];
		n++;
	}
	tmp[n] = '\0';
	char *end;
	double d = strtod(tmp, &end);
	if (n == 0 || end != tmp + n) {
		return -EBADMSG;
	}
	*out = d;
	return 0;
}

int agent_load_prometheus(const char *body, size_t len, const char *metric, double *out)
{
	size_t mlen = strlen(metric);
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - body) : len;
		const char *line = body + pos;
		size_t ll = end - pos;
		pos = end + 1;
		size_t i = 0;
		while (i < ll && (line[i] == ' ' || line[i] == '\t')) {
			i++;
		}
		if (i == ll || line[i] == '#' || ll - i <= mlen ||
		    memcmp(line + i, metric, mlen) != 0) {
			continue;
		}
		/* "metric_total" must not match "metric": the name ends at '{' or a blank. */
		char c = line[i + mlen];
		if (c != '{' && c != ' ' && c != '\t') {
			continue;
		}
		if (sample_value(line, ll, i + mlen, out) == 0) {
			return 0;
		}
	}
	return -ENOENT;
}

static int read_src(const cfg_load_src_t *src, const agent_http_resp_t *r, double *v)
{
	switch (src->kind) {
	case CFG_LOAD_HEADER:
		return r->headers != NULL
		               ? agent_load_header(r->headers, r->headers_len, src->key, v)
		               : -ENOENT;
	case CFG_LOAD_JSON:
		return r->body != NULL ? agent_load_json(r->body, r->body_len, src->key, v)
		                       : -ENOENT;
	case CFG_LOAD_PROMETHEUS:
		return r->body != NULL ? agent_load_prometheus(r->body, r->body_len, src->key, v)
		                       : -ENOENT;
	case CFG_LOAD_NONE:
		break;
	}
	return -ENOENT;
}

void agent_load_read(const cfg_load_src_t *load, const cfg_load_src_t *cap,
                     const agent_http_resp_t *r, double *util, uint32_t *capacity)
{
	double v;
	*util = NAN;
	*capacity = 0;
	if (read_src(load, r, &v) == 0 && isfinite(v) && v >= 0.0 && v <= 1.0) {
		*util = v;
	}
	if (read_src(cap, r, &v) == 0 && isfinite(v) && v >= 1.0) {
		*capacity = v >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)(v + 0.5);
	}
}
