/*
 * geo/: client address -> ordered list of regions, precomputed.
 *
 * geo_tree_build() walks the whole search tree of a MaxMind DB (GeoIP2-City
 * record layout: continent/code, country/iso_code, location/latitude and
 * longitude) once, turns every distinct data record into a region order
 * (country map, else continent map, else nearest-first by great-circle
 * distance, else the default order) and stores the result as a compact binary
 * prefix tree whose leaves are indexes into a table of distinct orders.
 * Sibling subtrees with the same result are merged, so a leaf's depth is the
 * widest prefix the answer is valid for: the ECS scope (RFC 7871 7.2.1).
 * A query is one walk of at most 128 bits; it never calls libmaxminddb
 * (model: gdnsd libgdmaps, rewritten).
 *
 * The tree depends only on the database, the regions, the maps and the
 * default order, not on health: it is built once per config/database load
 * and shared read-only by every policy snapshot built from it.
 *
 * Ownership: geo_tree_build() returns a tree holding one reference.
 * geo_tree_ref() adds one (atomic), geo_tree_unref() drops one and frees the
 * tree with the last. A policy snapshot takes its own reference and drops it
 * in pol_snap_free(), after the RCU grace period.
 *
 * Threads: build on the control thread; lookups from any thread, lock-free.
 * geo_tree_locate() (for `ayactl explain`) calls libmaxminddb, which is
 * thread-safe for reads, but is not meant for the query path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "config/config.h"

/* Most regions an order may hold (orders are stored as uint8_t indexes). */
#define GEO_MAX_REGIONS 64
/* Index of the default order (clients the database does not know). */
#define GEO_ORDER_DEFAULT 0u

typedef struct geo_tree geo_tree_t;

/*
 * Fallback point of a country for records without a location: return true
 * and set *lat, *lon (degrees) when known. `continent` may be "" when the
 * record lacks it. Called while building and by geo_tree_locate(): ctx must
 * stay valid for the tree's lifetime.
 */
typedef bool (*geo_country_fn)(void *ctx, const char *cc, const char *continent, double *lat,
                               double *lon);

typedef struct geo_build_opts {
	const char *database; /* .mmdb path; NULL: no database, every client gets the default */
	const cfg_region_t *regions;
	size_t n_regions; /* 1..GEO_MAX_REGIONS */
	const cfg_geo_map_t *maps;
	size_t n_maps;
	const size_t *default_order; /* may be NULL: config order */
	size_t n_default_order;
	geo_country_fn country_point; /* may be NULL */
	void *country_ctx;
} geo_build_opts_t;

/* Build figures, for logs, `ayactl status` and benchmarks. */
typedef struct geo_tree_stats {
	size_t nodes;      /* inner nodes of our tree */
	size_t orders;     /* distinct region orders, the default included */
	size_t records;    /* distinct MMDB data records seen */
	size_t mmdb_nodes; /* MMDB search tree nodes */
	size_t bytes;      /* memory held by the tree (libmaxminddb's mapping excluded) */
	double build_ms;   /* wall time of geo_tree_build() */
} geo_tree_stats_t;

/*
 * Build a tree. A map lists regions first in its order; the regions it does
 * not name follow nearest-first, so a mapped client still has somewhere to
 * fail over to. A country map beats a continent map. Default order: the
 * listed regions, then the others in config order.
 * Returns 0, or -EINVAL (bad options, unreadable database) / -ENOMEM, with a
 * message in err. Control thread.
 */
int geo_tree_build(const geo_build_opts_t *opts, geo_tree_t **out, char *err, size_t errlen)
        AYA_NONNULL(1, 2) AYA_WUR;
/*
 * geo_tree_build() with the regions, maps and database of a loaded config;
 * records without coordinates get their country's point from the built-in
 * country table (cfg_country_find).
 */
int geo_tree_build_cfg(const cfg_t *cfg, geo_tree_t **out, char *err, size_t errlen)
        AYA_NONNULL(1, 2) AYA_WUR;

/* Add a reference; returns t. */
geo_tree_t *geo_tree_ref(geo_tree_t *t) AYA_NONNULL(1);
/* Drop a reference, free with the last. NULL is a no-op. */
void geo_tree_unref(geo_tree_t *t);

/*
 * Look up `addr` (4 bytes for AF_INET, 16 for AF_INET6, network order) of
 * which the first `source_prefix` bits are known (32/128 for a transport
 * address, the ECS SOURCE PREFIX-LENGTH otherwise). Returns the order index
 * and sets *scope to the widest prefix (in the family's bits) for which the
 * answer holds, never more than source_prefix. When the tree would need
 * more bits than the client gave, the result is the left-most one below
 * (deterministic) and *scope = source_prefix. An IPv6 address in
 * ::ffff:0:0/96 is looked up as IPv4 (scope in IPv6 bits). Lock- and
 * allocation-free.
 */
uint32_t geo_tree_lookup(const geo_tree_t *t, int family, const uint8_t *addr,
                         unsigned source_prefix, unsigned *scope) AYA_NONNULL(1, 3, 5) AYA_HOT;

size_t geo_tree_order_count(const geo_tree_t *t) AYA_NONNULL(1);
size_t geo_tree_region_count(const geo_tree_t *t) AYA_NONNULL(1);
/* Order `idx` (< order_count): region_count region indexes, nearest first. */
const uint8_t *geo_tree_order(const geo_tree_t *t, uint32_t idx) AYA_NONNULL(1);
/* rank[r] = position of region r in order `idx` (inverse permutation). */
const uint8_t *geo_tree_rank(const geo_tree_t *t, uint32_t idx) AYA_NONNULL(1);

void geo_tree_stats(const geo_tree_t *t, geo_tree_stats_t *out) AYA_NONNULL(1, 2);

/* Where the database places an address (explain only). */
typedef struct geo_loc {
	bool found;        /* the database has a record */
	bool has_location; /* lat/lon present (from the record or the country fallback) */
	bool fallback;     /* lat/lon came from the country fallback */
	char country[3];   /* "" when absent */
	char continent[3];
	double lat, lon;
	unsigned prefix;  /* the database network's prefix length, in the family's bits */
	const char *rule; /* how the order was chosen: "country map", "continent map", "distance",
	                     "default" (static string) */
} geo_loc_t;

/*
 * Locate `addr` with libmaxminddb (not the query path). Returns 0 (out->found
 * false when the database does not know it or there is no database) or
 * -EINVAL.
 */
int geo_tree_locate(const geo_tree_t *t, int family, const uint8_t *addr, geo_loc_t *out)
        AYA_NONNULL(1, 3, 4);

/* Region r as a unit vector (x, y, z) from latitude/longitude in degrees. */
void geo_unit_vector(double lat, double lon, double v[3]) AYA_NONNULL(3);
