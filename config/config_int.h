/*
 * config/ internals shared by its source files (tests may include it; other
 * modules must not). A loader carries the state of one cfg_load() call: the
 * libyaml document, the arena of the cfg_t being built, the diagnostics and
 * the region references that are resolved once every section is read.
 */
#pragma once

#include <stdarg.h>
#include <yaml.h>

#include "common/arena.h"
#include "config/config.h"

struct cfg_priv {
	aya_arena_t *arena; /* every byte of the cfg_t, freed whole by cfg_free() */
};

/* A region named somewhere (pool, geo map, geo default), resolved after parsing. */
typedef struct region_ref {
	const char *name;
	cfg_loc_t loc;
	size_t *dst; /* where the index goes */
} region_ref_t;

typedef struct loader {
	cfg_t *cfg;
	aya_arena_t *arena;
	cfg_diag_t *d;
	const char *file; /* the config path, in the arena */
	yaml_document_t doc;
	region_ref_t *refs; /* malloc'd, freed at the end of cfg_load() */
	size_t n_refs, cap_refs;
	bool nomem;
	/* Key locations kept for checks that run after parsing. */
	cfg_loc_t node_region_loc;
	bool nsid_set, socket_set;
	/* Pools' monitor names, resolved after parsing (arena storage). */
	region_ref_t *mon_refs;
	size_t n_mon_refs, cap_mon_refs;
	/* TSIG key names used by zones (tsig.c), resolved after parsing (arena storage). */
	struct key_ref *key_refs;
	size_t n_key_refs, cap_key_refs;
} loader_t;

/* ---- yaml.c: document walk helpers ---- */

/* Location of a node ("file:line:col"). */
cfg_loc_t cfg_y_loc(const loader_t *ld, const yaml_node_t *n) AYA_NONNULL(1, 2);
void cfg_y_err(loader_t *ld, const yaml_node_t *n, const char *fmt, ...) AYA_NONNULL(1, 2, 3)
        AYA_PRINTF(3, 4);
void cfg_y_err_at(loader_t *ld, cfg_loc_t loc, const char *fmt, ...) AYA_NONNULL(1, 3)
        AYA_PRINTF(3, 4);
void cfg_y_warn_at(loader_t *ld, cfg_loc_t loc, const char *fmt, ...) AYA_NONNULL(1, 3)
        AYA_PRINTF(3, 4);
yaml_node_t *cfg_y_node(loader_t *ld, int id) AYA_NONNULL(1);
/* A scalar's text (NUL-terminated by libyaml), or NULL after an error naming `what`. */
const char *cfg_y_scalar(loader_t *ld, const yaml_node_t *n, const char *what) AYA_NONNULL(1, 2, 3);
/* A plain scalar "", "~" or "null". */
bool cfg_y_is_null(const yaml_node_t *n) AYA_NONNULL(1);
/* Number of items of a sequence, or -1 after an error naming `what`. */
long cfg_y_seq_len(loader_t *ld, const yaml_node_t *n, const char *what) AYA_NONNULL(1, 2, 3);
yaml_node_t *cfg_y_seq_item(loader_t *ld, const yaml_node_t *n, long i) AYA_NONNULL(1, 2);
/*
 * The start of every list parser: n's length into *len, and an array of
 * that many zeroed elements of `size` bytes from the config arena. NULL when
 * the list is empty, not a list (reported as "WHAT: expected a list") or
 * out of memory (reported).
 */
void *cfg_y_seq_alloc(loader_t *ld, const yaml_node_t *n, const char *what, size_t size, long *len)
        AYA_NONNULL(1, 2, 3, 5);

/* ---- config.c: the schema-driven mapping parser ---- */

typedef enum item_type {
	IT_STR,        /* any string, stored as const char * */
	IT_NAME,       /* non-empty string */
	IT_PATH,       /* string, made relative to the config file's directory */
	IT_UINT,       /* unsigned integer in [min, max]; stored in `size` bytes */
	IT_DOUBLE,     /* number in [min, max] */
	IT_BOOL,       /* true/false */
	IT_DURATION,   /* "500ms", "2s", "1m", bare seconds; ms in [min, max], unsigned */
	IT_DURATION_S, /* a duration in whole seconds; seconds in [min, max], unsigned */
	IT_ENUM,       /* one of `names`, stored as int index */
	IT_FUNC,       /* custom parser; called with val == NULL to apply a default */
	IT_SECTION,    /* a mapping parsed with `sub`, base + offset */
} item_type_t;

struct item;
typedef void (*item_fn)(loader_t *ld, const yaml_node_t *val, void *base, const struct item *it);

typedef struct item {
	const char *name;
	item_type_t type;
	size_t offset; /* into the base struct */
	size_t size;   /* IT_UINT: 1, 2, 4 or 8 */
	double min, max;
	const char *dflt; /* default as YAML text; NULL = none */
	bool required;
	const char *const *names;  /* IT_ENUM */
	item_fn fn;                /* IT_FUNC */
	const struct section *sub; /* IT_SECTION */
} item_t;

/* A schema table with the name used in "unknown key 'x' in <section>". */
typedef struct section {
	const char *name;
	const item_t *items;
	size_t n_items;
	bool open; /* unknown keys allowed */
} section_t;

/*
 * Parse mapping `n` against `sec`, storing into `base`; apply defaults and
 * report missing required keys at the mapping. Returns false when `n` is not a
 * mapping (error already reported).
 */
bool cfg_parse_map(loader_t *ld, const yaml_node_t *n, const section_t *sec, void *base)
        AYA_NONNULL(1, 2, 3, 4);
/* Allocate from the loader's arena; sets ld->nomem on failure. */
void *cfg_alloc(loader_t *ld, size_t size) AYA_NONNULL(1);
char *cfg_strdup(loader_t *ld, const char *s) AYA_NONNULL(1, 2);
char *cfg_path(loader_t *ld, const char *p) AYA_NONNULL(1, 2);
void cfg_region_ref(loader_t *ld, const char *name, cfg_loc_t loc, size_t *dst)
        AYA_NONNULL(1, 2, 4);

/* Value node of `key` in mapping n, or NULL. */
yaml_node_t *cfg_y_map_get(loader_t *ld, const yaml_node_t *n, const char *key)
        AYA_NONNULL(1, 2, 3);

/*
 * Custom item parsers referenced by the schema (schema.c). Each takes the
 * value node (NULL: the key is absent, apply the default), the base struct of
 * its section and its schema row.
 */
#define CFG_FN(name) void name(loader_t *ld, const yaml_node_t *val, void *base, const item_t *it)
/* config.c */
CFG_FN(cfg_fn_node_region);
CFG_FN(cfg_fn_listen);
CFG_FN(cfg_fn_http_listen);
CFG_FN(cfg_fn_nsid);
CFG_FN(cfg_fn_cookie_secret);
CFG_FN(cfg_fn_zones);
CFG_FN(cfg_fn_zone_name);
/* tsig.c */
CFG_FN(cfg_fn_keys);
CFG_FN(cfg_fn_allow_transfer);
CFG_FN(cfg_fn_notify);
CFG_FN(cfg_fn_notify_key);
/* services.c */
CFG_FN(cfg_fn_regions);
CFG_FN(cfg_fn_region_location);
CFG_FN(cfg_fn_monitors);
CFG_FN(cfg_fn_geo_maps);
CFG_FN(cfg_fn_geo_default);
CFG_FN(cfg_fn_map_country);
CFG_FN(cfg_fn_map_continent);
CFG_FN(cfg_fn_map_regions);
CFG_FN(cfg_fn_services);
CFG_FN(cfg_fn_pools);
CFG_FN(cfg_fn_pool_region);
CFG_FN(cfg_fn_endpoints);
CFG_FN(cfg_fn_endpoint_address);
CFG_FN(cfg_fn_policy);

/* rrl.c */
CFG_FN(cfg_fn_rrl);
CFG_FN(cfg_fn_rrl_exempt);

/* dnssec.c */
CFG_FN(cfg_fn_dnssec);

/* gossip.c */
CFG_FN(cfg_fn_gossip);
CFG_FN(cfg_fn_gossip_bind);
CFG_FN(cfg_fn_gossip_seeds);

/* monitors.c */
CFG_FN(cfg_fn_monitor_expect);
CFG_FN(cfg_fn_monitor_load);
CFG_FN(cfg_fn_pool_monitor);

/* A monitor: { ... } mapping before it becomes the two cfg_load_src_t of a monitor. */
typedef struct cfg_load_keys {
	const char *header, *json, *prometheus;
	const char *cap_header, *cap_json, *cap_prometheus;
} cfg_load_keys_t;

/* Resolve every pool's monitor name to cfg_t.monitors (monitors.c; after parsing). */
void cfg_resolve_monitors(loader_t *ld) AYA_NONNULL(1);

/* ---- services.c: checks after parsing ---- */
/* After zone files are loaded: owners of services, clashes with static data. */
void cfg_check_services(loader_t *ld, cfg_zone_t *z) AYA_NONNULL(1, 2);
/* Resolve every region reference; check node.region. */
void cfg_resolve_regions(loader_t *ld) AYA_NONNULL(1);
/* tsig.c: key names of allow_transfer and notify_key to indexes; warn on unused keys. */
void cfg_resolve_keys(loader_t *ld) AYA_NONNULL(1);
/* Warnings for load-loop settings that change nothing (services.c); after the resolves. */
void cfg_check_steering(loader_t *ld) AYA_NONNULL(1);
/* Warnings for services where ayactl drain changes no answer (services.c); after the resolves. */
void cfg_check_drains(loader_t *ld) AYA_NONNULL(1);

/* schema.c: every table of the configuration schema. */
extern const section_t cfg_sec_top, cfg_sec_node, cfg_sec_dns, cfg_sec_zone, cfg_sec_control,
        cfg_sec_log, cfg_sec_geo, cfg_sec_geo_map, cfg_sec_region, cfg_sec_service, cfg_sec_pool,
        cfg_sec_endpoint, cfg_sec_monitor, cfg_sec_load, cfg_sec_gossip, cfg_sec_rrl,
        cfg_sec_dnssec;

/* ---- zone.c ---- */

/*
 * Read z->file into z->rrs (SOA first) and z->serial; report problems as
 * "zonefile:line: error: ...". `file_loc` is the config's `file:` key, cited
 * when the file cannot be opened.
 */
void cfg_zone_load(loader_t *ld, cfg_zone_t *z, cfg_loc_t file_loc) AYA_NONNULL(1, 2);
