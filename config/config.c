/*
 * cfg_load(): read the YAML document, walk it against the schema tables of
 * schema.c, load the zone files, then run the checks that need the whole
 * config (region references, services against static data, defaults that
 * depend on other keys). Every error is reported and loading goes on, so
 * one run lists them all. Everything a cfg_t points to lives in one arena.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_int.h"

void *cfg_alloc(loader_t *ld, size_t size)
{
	void *p = aya_arena_alloc(ld->arena, size);
	if (p == NULL) {
		ld->nomem = true;
	}
	return p;
}

char *cfg_strdup(loader_t *ld, const char *s)
{
	char *p = aya_arena_strdup(ld->arena, s);
	if (p == NULL) {
		ld->nomem = true;
	}
	return p;
}

char *cfg_path(loader_t *ld, const char *p)
{
	if (p[0] == '/' || strcmp(ld->cfg->dir, ".") == 0) {
		return cfg_strdup(ld, p);
	}
	size_t n = strlen(ld->cfg->dir) + strlen(p) + 2;
	char *out = cfg_alloc(ld, n);
	if (out != NULL) {
		snprintf(out, n, "%s/%s", ld->cfg->dir, p);
	}
	return out;
}

void cfg_region_ref(loader_t *ld, const char *name, cfg_loc_t loc, size_t *dst)
{
	if (ld->n_refs == ld->cap_refs) {
		size_t cap = ld->cap_refs ? ld->cap_refs * 2 : 16;
		region_ref_t *r = realloc(ld->refs, cap * sizeof(*r));
		if (r == NULL) {
			ld->nomem = true;
			return;
		}
		ld->refs = r;
		ld->cap_refs = cap;
	}
	ld->refs[ld->n_refs++] = (region_ref_t){.name = name, .loc = loc, .dst = dst};
}

/* ---- scalars ---- */

static void store_uint(void *dst, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)dst = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)dst = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)dst = (uint32_t)v;
		break;
	default:
		AYA_BUG_ON(size != 8);
		*(uint64_t *)dst = v;
		break;
	}
}

static bool parse_uint_text(const char *s, uint64_t *v)
{
	if (!isdigit((unsigned char)s[0]) || strlen(s) > 19) {
		return false;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		return false;
	}
	*v = x;
	return true;
}

static int enum_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], s) == 0) {
			return i;
		}
	}
	return -1;
}

/*
 * Store the scalar `s` (from the document, or a default) into the field of
 * `it` in `base`. Errors cite `loc`; `sec` names the section in messages.
 */
static void store_scalar(loader_t *ld, const section_t *sec, const item_t *it, const char *s,
                         cfg_loc_t loc, void *base)
{
	char *dst = (char *)base + it->offset;
	uint64_t u;
	switch (it->type) {
	case IT_NAME:
		if (s[0] == '\0') {
			cfg_y_err_at(ld, loc, "%s.%s: must not be empty", sec->name, it->name);
			return;
		}
		/* fall through */
	case IT_STR:
		*(const char **)dst = cfg_strdup(ld, s);
		return;
	case IT_PATH:
		if (s[0] == '\0') {
			cfg_y_err_at(ld, loc, "%s.%s: empty path", sec->name, it->name);
			return;
		}
		*(const char **)dst = cfg_path(ld, s);
		return;
	case IT_UINT:
		if (!parse_uint_text(s, &u)) {
			cfg_y_err_at(ld, loc, "%s.%s: expected an integer, got '%s'", sec->name,
			             it->name, s);
		} else if ((double)u < it->min || (double)u > it->max) {
			cfg_y_err_at(ld, loc, "%s.%s: %s is out of range %.0f..%.0f", sec->name,
			             it->name, s, it->min, it->max);
		} else {
			store_uint(dst, it->size, u);
		}
		return;
	case IT_DURATION:
		if (cfg_parse_duration_ms(s, &u) != 0) {
			cfg_y_err_at(
			        ld, loc,
			        "%s.%s: bad duration '%s' (expected e.g. 500ms, 2s, 1m or seconds)",
			        sec->name, it->name, s);
		} else if ((double)u < it->min || (double)u > it->max) {
			cfg_y_err_at(ld, loc, "%s.%s: %s is out of range %.0fms..%.0fms", sec->name,
			             it->name, s, it->min, it->max);
		} else {
			store_uint(dst, it->size, u);
		}
		return;
	case IT_DURATION_S:
		if (cfg_parse_duration_ms(s, &u) != 0) {
			cfg_y_err_at(ld, loc,
			             "%s.%s: bad duration '%s' (expected e.g. 90s, 15m, 2h, 14d or "
			             "seconds)",
			             sec->name, it->name, s);
		} else if (u % 1000 != 0) {
			cfg_y_err_at(ld, loc, "%s.%s: %s is not a whole number of seconds",
			             sec->name, it->name, s);
		} else if ((double)(u / 1000) < it->min || (double)(u / 1000) > it->max) {
			cfg_y_err_at(ld, loc, "%s.%s: %s is out of range %.0fs..%.0fs", sec->name,
			             it->name, s, it->min, it->max);
		} else {
			store_uint(dst, it->size, u / 1000);
		}
		return;
	case IT_DOUBLE: {
		char *end;
		double v = strtod(s, &end);
		if (end == s || *end != '\0') {
			cfg_y_err_at(ld, loc, "%s.%s: expected a number, got '%s'", sec->name,
			             it->name, s);
		} else if (!(v >= it->min && v <= it->max)) {
			cfg_y_err_at(ld, loc, "%s.%s: %s is out of range %g..%g", sec->name,
			             it->name, s, it->min, it->max);
		} else {
			*(double *)dst = v;
		}
		return;
	}
	case IT_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
			*(bool *)dst = true;
		} else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
			*(bool *)dst = false;
		} else {
			cfg_y_err_at(ld, loc, "%s.%s: expected true or false, got '%s'", sec->name,
			             it->name, s);
		}
		return;
	case IT_ENUM: {
		int i = enum_index(it->names, s);
		if (i < 0) {
			char list[256] = "";
			for (int k = 0; it->names[k] != NULL; k++) {
				strncat(list, k ? ", " : "", sizeof(list) - strlen(list) - 1);
				strncat(list, it->names[k], sizeof(list) - strlen(list) - 1);
			}
			cfg_y_err_at(ld, loc, "%s.%s: '%s' is not one of %s", sec->name, it->name,
			             s, list);
		} else {
			*(int *)dst = i;
		}
		return;
	}
	case IT_FUNC:
	case IT_SECTION:
		break;
	}
	AYA_BUG_ON(true);
}

static void apply_defaults(loader_t *ld, const section_t *sec, void *base, const bool *seen,
                           cfg_loc_t loc);

static void parse_value(loader_t *ld, const section_t *sec, const item_t *it,
                        const yaml_node_t *val, void *base)
{
	if (it->type == IT_FUNC) {
		it->fn(ld, val, base, it);
	} else if (it->type == IT_SECTION) {
		cfg_parse_map(ld, val, it->sub, (char *)base + it->offset);
	} else {
		char what[128];
		snprintf(what, sizeof(what), "%s.%s", sec->name, it->name);
		const char *s = cfg_y_scalar(ld, val, what);
		if (s != NULL) {
			store_scalar(ld, sec, it, s, cfg_y_loc(ld, val), base);
		}
	}
}

bool cfg_parse_map(loader_t *ld, const yaml_node_t *n, const section_t *sec, void *base)
{
	bool seen[32] = {false};
	AYA_BUG_ON(sec->n_items > AYA_ARRAY_LEN(seen));

	if (n->type != YAML_MAPPING_NODE) {
		cfg_y_err(ld, n, "%s: expected a mapping", sec->name);
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = cfg_y_node(ld, p->key);
		yaml_node_t *v = cfg_y_node(ld, p->value);
		if (k == NULL || v == NULL) {
			continue;
		}
		if (k->type != YAML_SCALAR_NODE) {
			cfg_y_err(ld, k, "%s: keys must be scalars", sec->name);
			continue;
		}
		const char *key = (const char *)k->data.scalar.value;
		/* libyaml keeps duplicate keys: compare with the ones before. */
		bool dup = false;
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p && !dup; q++) {
			yaml_node_t *qk = cfg_y_node(ld, q->key);
			dup = qk != NULL && qk->type == YAML_SCALAR_NODE &&
			      strcmp((const char *)qk->data.scalar.value, key) == 0;
		}
		if (dup) {
			cfg_y_err(ld, k, "duplicate key '%s' in %s", key, sec->name);
			continue;
		}
		size_t i;
		for (i = 0; i < sec->n_items && strcmp(sec->items[i].name, key) != 0; i++) {
		}
		if (i == sec->n_items) {
			if (!sec->open) {
				if (sec == &cfg_sec_top) {
					cfg_y_err(ld, k, "unknown key '%s' at top level", key);
				} else {
					cfg_y_err(ld, k, "unknown key '%s' in %s", key, sec->name);
				}
			}
			continue;
		}
		seen[i] = true;
		parse_value(ld, sec, &sec->items[i], v, base);
	}
	apply_defaults(ld, sec, base, seen, cfg_y_loc(ld, n));
	return true;
}

static void apply_defaults(loader_t *ld, const section_t *sec, void *base, const bool *seen,
                           cfg_loc_t loc)
{
	static const bool none[32];
	if (seen == NULL) {
		seen = none;
	}
	for (size_t i = 0; i < sec->n_items; i++) {
		const item_t *it = &sec->items[i];
		if (seen[i]) {
			continue;
		}
		if (it->required) {
			cfg_y_err_at(ld, loc, "missing required key '%s' in %s", it->name,
			             sec->name);
		} else if (it->type == IT_SECTION) {
			apply_defaults(ld, it->sub, (char *)base + it->offset, NULL, loc);
		} else if (it->type == IT_FUNC) {
			if (it->dflt != NULL) {
				it->fn(ld, NULL, base, it);
			}
		} else if (it->dflt != NULL) {
			store_scalar(ld, sec, it, it->dflt, loc, base);
		}
	}
}

/* ---- custom items of node, dns, zones ---- */

CFG_FN(cfg_fn_node_region)
{
	(void)it;
	const char *s = cfg_y_scalar(ld, val, "node.region");
	if (s != NULL && s[0] != '\0') {
		((cfg_node_t *)base)->region = cfg_strdup(ld, s);
		ld->node_region_loc = cfg_y_loc(ld, val);
	} else if (s != NULL) {
		cfg_y_err(ld, val, "node.region: must not be empty");
	}
}

/*
 * A list of listen addresses under `key` (e.g. "dns.listen"): parsed with
 * `port` when a string has none, duplicates refused. n_dflt strings in dflt
 * when the key is absent; an empty list is an error when `need`.
 */
static void parse_listen(loader_t *ld, const yaml_node_t *val, const char *key, uint16_t port,
                         const char *const *dflt, size_t n_dflt, bool need,
                         const cfg_sockaddr_t **listen, size_t *n_listen)
{
	long n = val != NULL ? cfg_y_seq_len(ld, val, key) : (long)n_dflt;
	if (n < 0) {
		return;
	}
	if (n == 0) {
		if (need) {
			cfg_y_err(ld, val, "%s: needs at least one address", key);
		}
		*listen = NULL;
		*n_listen = 0;
		return;
	}
	cfg_sockaddr_t *out = cfg_alloc(ld, (size_t)n * sizeof(*out));
	if (out == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		if (val == NULL) {
			int rc = cfg_parse_sockaddr(dflt[i], port, &out[k++]);
			AYA_BUG_ON(rc != 0);
			continue;
		}
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		const char *s = cfg_y_scalar(ld, item, key);
		if (s == NULL) {
			continue;
		}
		if (cfg_parse_sockaddr(s, port, &out[k]) != 0) {
			cfg_y_err(ld, item, "%s: bad address or port '%s'", key, s);
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			if (strcmp(out[j].text, out[k].text) == 0) {
				cfg_y_err(ld, item, "%s: duplicate address '%s'", key, s);
				k--;
				break;
			}
		}
		k++;
	}
	*listen = out;
	*n_listen = k;
}

CFG_FN(cfg_fn_listen)
{
	(void)it;
	cfg_dns_t *dns = base;
	static const char *const dflt[] = {"0.0.0.0:53", "[::]:53"};
	parse_listen(ld, val, "dns.listen", 53, dflt, AYA_ARRAY_LEN(dflt), true, &dns->listen,
	             &dns->n_listen);
}

CFG_FN(cfg_fn_http_listen)
{
	(void)it;
	cfg_http_t *http = base;
	parse_listen(ld, val, "http.listen", 8053, NULL, 0, false, &http->listen, &http->n_listen);
	for (size_t i = 0; i < http->n_listen; i++) {
		const struct sockaddr_storage *ss = &http->listen[i].ss;
		bool loop = ss->ss_family == AF_INET
		                    ? (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >>
		                       24) == 127
		                    : IN6_IS_ADDR_LOOPBACK(
		                              &((const struct sockaddr_in6 *)ss)->sin6_addr);
		if (!loop) {
			cfg_y_warn_at(
			        ld, cfg_y_loc(ld, val),
			        "http.listen: %s is not a loopback address; the pages have no "
			        "authentication: expose them only to your monitoring network "
			        "(docs/config.md#http)",
			        http->listen[i].text);
		}
	}
}

CFG_FN(cfg_fn_nsid)
{
	(void)it;
	const char *s = cfg_y_scalar(ld, val, "dns.nsid");
	if (s == NULL) {
		return;
	}
	if (strlen(s) > 128) {
		cfg_y_err(ld, val, "dns.nsid: longer than 128 bytes");
		return;
	}
	((cfg_dns_t *)base)->nsid = cfg_strdup(ld, s);
	ld->nsid_set = true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = (char)tolower((unsigned char)c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

CFG_FN(cfg_fn_cookie_secret)
{
	(void)it;
	cfg_dns_t *dns = base;
	const char *s = cfg_y_scalar(ld, val, "dns.cookie_secret");
	if (s == NULL) {
		return;
	}
	if (strlen(s) != 2 * sizeof(dns->cookie_secret)) {
		cfg_y_err(ld, val, "dns.cookie_secret: expected 32 hex digits");
		return;
	}
	for (size_t i = 0; i < sizeof(dns->cookie_secret); i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			cfg_y_err(ld, val, "dns.cookie_secret: expected 32 hex digits");
			return;
		}
		dns->cookie_secret[i] = (uint8_t)(hi << 4 | lo);
	}
	dns->cookie_secret_set = true;
}

CFG_FN(cfg_fn_zone_name)
{
	(void)it;
	cfg_zone_t *z = base;
	const char *s = cfg_y_scalar(ld, val, "zone.name");
	if (s == NULL) {
		return;
	}
	int n = aya_dname_from_str(s, z->apex);
	if (n < 0 || strcmp(s, ".") == 0) {
		cfg_y_err(ld, val, "zone.name: bad domain name '%s'", s);
		return;
	}
	aya_dname_lower(z->apex);
	/* Presentation form: lower-case, no trailing dot. */
	char text[AYA_DNAME_STR_MAX];
	size_t len = aya_dname_to_str(z->apex, text, sizeof(text));
	text[len - 1] = '\0';
	z->name = cfg_strdup(ld, text);
}

CFG_FN(cfg_fn_zones)
{
	(void)it;
	cfg_t *cfg = base;
	long n = 0;
	cfg_zone_t *zones = cfg_y_seq_alloc(ld, val, "zones", sizeof(*zones), &n);
	if (zones == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		cfg_zone_t *z = &zones[k];
		if (!cfg_parse_map(ld, item, &cfg_sec_zone, z)) {
			continue;
		}
		z->loc = cfg_y_loc(ld, item);
		if (z->name == NULL) {
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++) {
			dup = aya_dname_equal(zones[j].apex, z->apex);
			if (dup) {
				cfg_y_err(ld, item,
				          "duplicate zone '%s' (first defined at line %u)", z->name,
				          zones[j].loc.line);
			}
		}
		if (dup) {
			continue;
		}
		if (z->file != NULL) {
			yaml_node_t *f = cfg_y_map_get(ld, item, "file");
			cfg_zone_load(ld, z, f != NULL ? cfg_y_loc(ld, f) : z->loc);
		}
		cfg_check_services(ld, z);
		k++;
	}
	cfg->zones = zones;
	cfg->n_zones = k;
}

/* ---- load ---- */

static int read_document(loader_t *ld, FILE *fp)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &ld->doc)) {
		cfg_diag_add(ld->d, ld->file, (unsigned)parser.problem_mark.line + 1,
		             (unsigned)parser.problem_mark.column + 1, "error", "yaml: %s%s%s",
		             parser.problem ? parser.problem : "syntax error",
		             parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	yaml_parser_delete(&parser);
	return 0;
}

/*
 * user:, group: and control.group must name accounts of this host: a typo
 * would otherwise surface only when a packaged node starts.
 */
static void check_account(loader_t *ld, const char *section, const char *key, const char *name,
                          bool is_user)
{
	if (name == NULL) {
		return;
	}
	errno = 0;
	bool found = is_user ? getpwnam(name) != NULL : getgrnam(name) != NULL;
	if (found) {
		return;
	}
	yaml_node_t *n = yaml_document_get_root_node(&ld->doc);
	if (n != NULL && section != NULL) {
		n = cfg_y_map_get(ld, n, section);
	}
	n = n != NULL ? cfg_y_map_get(ld, n, key) : NULL;
	cfg_y_err_at(ld, n != NULL ? cfg_y_loc(ld, n) : (cfg_loc_t){0}, "%s%s%s: no such %s '%s'",
	             section != NULL ? section : "", section != NULL ? "." : "", key,
	             is_user ? "user" : "group", name);
}

/* Checks and defaults that need the whole document. */
static void finish(loader_t *ld)
{
	cfg_t *cfg = ld->cfg;
	cfg_resolve_regions(ld);
	cfg_resolve_keys(ld);
	if (ld->d->errors == 0) {
		cfg_check_steering(ld);
		cfg_check_drains(ld);
	}
	if (!ld->nsid_set && cfg->node.name != NULL) {
		cfg->dns.nsid = cfg->node.name;
	}
	if (cfg->control_socket == NULL && cfg->state_dir != NULL) {
		size_t n = strlen(cfg->state_dir) + sizeof("/ayad.sock");
		char *p = cfg_alloc(ld, n);
		if (p != NULL) {
			snprintf(p, n, "%s/ayad.sock", cfg->state_dir);
		}
		cfg->control_socket = p;
	}
	check_account(ld, NULL, "user", cfg->user, true);
	check_account(ld, NULL, "group", cfg->group, false);
	if (cfg->group != NULL && cfg->user == NULL) {
		yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
		yaml_node_t *g = root != NULL ? cfg_y_map_get(ld, root, "group") : NULL;
		cfg_y_warn_at(ld, g != NULL ? cfg_y_loc(ld, g) : (cfg_loc_t){0},
		              "group: has no effect without user");
	}
	check_account(ld, "control", "group", cfg->control_group, false);
	if (cfg->geo.database != NULL && access(cfg->geo.database, R_OK) != 0) {
		int err = errno;
		yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
		yaml_node_t *g = cfg_y_map_get(ld, root, "geo");
		yaml_node_t *db = g != NULL ? cfg_y_map_get(ld, g, "database") : NULL;
		cfg_y_err_at(ld, db != NULL ? cfg_y_loc(ld, db) : cfg->geo.loc,
		             "geo.database: cannot read '%s': %s", cfg->geo.database,
		             strerror(err));
	}
}

static char *dir_of(loader_t *ld, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		return cfg_strdup(ld, ".");
	}
	if (slash == path) {
		return cfg_strdup(ld, "/");
	}
	char *d = cfg_alloc(ld, (size_t)(slash - path) + 1);
	if (d != NULL) {
		memcpy(d, path, (size_t)(slash - path));
	}
	return d;
}

int cfg_load(const char *path, cfg_t **out, cfg_diag_t *d)
{
	loader_t ld = {.d = d};
	int rc = -ENOMEM;
	*out = NULL;

	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		rc = -errno;
		cfg_diag_add(d, path, 0, 0, "error", "cannot open config: %s", strerror(errno));
		return rc;
	}
	ld.arena = aya_arena_new();
	if (ld.arena == NULL) {
		goto fail_file;
	}
	ld.cfg = cfg_alloc(&ld, sizeof(cfg_t));
	struct cfg_priv *priv = cfg_alloc(&ld, sizeof(*priv));
	if (ld.cfg == NULL || priv == NULL) {
		goto fail_arena;
	}
	priv->arena = ld.arena;
	ld.cfg->priv = priv;
	ld.cfg->path = ld.file = cfg_strdup(&ld, path);
	ld.cfg->dir = dir_of(&ld, path);
	if (ld.nomem) {
		goto fail_arena;
	}
	rc = read_document(&ld, fp);
	if (rc != 0) {
		goto fail_arena;
	}
	yaml_node_t *root = yaml_document_get_root_node(&ld.doc);
	if (root == NULL) {
		cfg_diag_add(d, ld.file, 0, 0, "error", "empty config");
	} else {
		ld.cfg->geo.loc = cfg_y_loc(&ld, root);
		yaml_node_t *g = cfg_y_map_get(&ld, root, "geo");
		if (g != NULL) {
			ld.cfg->geo.loc = cfg_y_loc(&ld, g);
		}
		if (cfg_parse_map(&ld, root, &cfg_sec_top, ld.cfg)) {
			finish(&ld);
		}
	}
	yaml_document_delete(&ld.doc);
	rc = ld.nomem ? -ENOMEM : (ld.d->errors > 0 ? -EINVAL : 0);
	if (rc != 0) {
		goto fail_arena;
	}
	free(ld.refs);
	fclose(fp);
	*out = ld.cfg;
	return 0;

fail_arena:
	free(ld.refs);
	aya_arena_free(ld.arena);
fail_file:
	fclose(fp);
	return rc;
}

void cfg_free(cfg_t *cfg)
{
	if (cfg == NULL) {
		return;
	}
	aya_arena_free(cfg->priv->arena);
}

size_t cfg_monitored_endpoints(const cfg_t *cfg)
{
	size_t n = 0;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t s = 0; s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			for (size_t p = 0; p < svc->n_pools; p++) {
				n += svc->pools[p].monitor != NULL ? svc->pools[p].n_endpoints : 0;
			}
		}
	}
	return n;
}

const cfg_zone_t *cfg_zone_find(const cfg_t *cfg, const char *name)
{
	uint8_t wire[AYA_DNAME_MAX];
	if (aya_dname_from_str(name, wire) < 0) {
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_zones; i++) {
		if (aya_dname_equal(cfg->zones[i].apex, wire)) {
			return &cfg->zones[i];
		}
	}
	return NULL;
}
