/*
 * Helpers over a libyaml document (yaml_parser_load): node lookup by id,
 * typed access with an error at the node's mark on mismatch, and the
 * diagnostics that cite "file:line:col". Marks are 0-based in libyaml and
 * 1-based in messages.
 */
#include "config/config_int.h"

#include <stdio.h>
#include <string.h>

cfg_loc_t cfg_y_loc(const loader_t *ld, const yaml_node_t *n)
{
	cfg_loc_t loc = {
	        .file = ld->file,
	        .line = (unsigned)n->start_mark.line + 1,
	        .col = (unsigned)n->start_mark.column + 1,
	};
	return loc;
}

static void vdiag(loader_t *ld, cfg_loc_t loc, const char *sev, const char *fmt, va_list ap)
{
	char msg[768];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	cfg_diag_add(ld->d, loc.file ? loc.file : ld->file, loc.line, loc.col, sev, "%s", msg);
}

void cfg_y_err(loader_t *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(ld, cfg_y_loc(ld, n), "error", fmt, ap);
	va_end(ap);
}

void cfg_y_err_at(loader_t *ld, cfg_loc_t loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(ld, loc, "error", fmt, ap);
	va_end(ap);
}

void cfg_y_warn_at(loader_t *ld, cfg_loc_t loc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(ld, loc, "warning", fmt, ap);
	va_end(ap);
}

yaml_node_t *cfg_y_node(loader_t *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

bool cfg_y_is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		return false;
	}
	const char *s = (const char *)n->data.scalar.value;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *cfg_y_scalar(loader_t *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		cfg_y_err(ld, n, "%s: expected a scalar, got %s", what, kind_name(n));
		return NULL;
	}
	if (cfg_y_is_null(n)) {
		cfg_y_err(ld, n, "%s: missing value", what);
		return NULL;
	}
	/* libyaml NUL-terminates; an embedded NUL would silently truncate. */
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		cfg_y_err(ld, n, "%s: value contains a NUL byte", what);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

long cfg_y_seq_len(loader_t *ld, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_y_err(ld, n, "%s: expected a list, got %s", what, kind_name(n));
		return -1;
	}
	return (long)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *cfg_y_seq_item(loader_t *ld, const yaml_node_t *n, long i)
{
	return cfg_y_node(ld, n->data.sequence.items.start[i]);
}

void *cfg_y_seq_alloc(loader_t *ld, const yaml_node_t *n, const char *what, size_t size, long *len)
{
	*len = cfg_y_seq_len(ld, n, what);
	if (*len <= 0) {
		return NULL;
	}
	return cfg_alloc(ld, (size_t)*len * size);
}

yaml_node_t *cfg_y_map_get(loader_t *ld, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_MAPPING_NODE) {
		return NULL;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = cfg_y_node(ld, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0) {
			return cfg_y_node(ld, p->value);
		}
	}
	return NULL;
}
