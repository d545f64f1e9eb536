/*
 * geo/ internals shared by tree.c and order.c (tests may include it).
 * A region order is an array of n_regions uint8_t region indexes, a
 * permutation of 0..n_regions-1; the order table keeps each distinct one once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"

/* What the build needs from one database record. */
typedef struct geo_rec {
	bool found;
	bool has_loc;
	bool fallback;
	char cc[3];
	char cont[3];
	double lat, lon;
} geo_rec_t;

/* A country or continent map, copied out of the config. */
typedef struct geo_map {
	cfg_geo_map_kind_t kind;
	char code[3]; /* upper case */
	uint8_t n;
	uint8_t regions[GEO_MAX_REGIONS];
} geo_map_t;

/* Everything that decides an order: the tree keeps it for geo_tree_locate(). */
typedef struct geo_rules {
	size_t n_regions;
	double vec[GEO_MAX_REGIONS][3];
	uint8_t default_order[GEO_MAX_REGIONS];
	geo_map_t *maps;
	size_t n_maps;
} geo_rules_t;

/* Distinct orders, deduplicated with an open-addressing hash. */
typedef struct geo_order_tab {
	size_t n_regions;
	uint8_t *orders; /* n * n_regions */
	uint8_t *ranks;  /* n * n_regions, inverse permutations */
	size_t n, cap;
	uint32_t *slots; /* index + 1, 0 = free */
	size_t n_slots;  /* power of two */
} geo_order_tab_t;

int geo_rules_init(geo_rules_t *r, const geo_build_opts_t *o, char *err, size_t errlen);
void geo_rules_fini(geo_rules_t *r);
/* Fill order[] for a record; returns the rule name (static string). */
const char *geo_rules_order(const geo_rules_t *r, const geo_rec_t *rec, uint8_t *order);

int geo_order_tab_init(geo_order_tab_t *t, size_t n_regions);
void geo_order_tab_fini(geo_order_tab_t *t);
/* Index of `order` in the table, added when new. 0 or -ENOMEM. */
int geo_order_tab_add(geo_order_tab_t *t, const uint8_t *order, uint32_t *idx);
