/*
 * The geo prefix tree: built once from the MaxMind DB search tree, then read
 * lock-free by every worker.
 *
 * Layout: nodes[i] = {left, right}; a reference with LEAF set is a leaf whose
 * low bits are an order index, otherwise it is a node index. The build walks
 * the MMDB tree depth-first (left first) and emits children before parents;
 * two sibling leaves with the same order collapse into one leaf, so a leaf's
 * depth is the widest prefix with one answer. Each MMDB data record is
 * resolved to an order once (memoized by data-section offset: thousands of
 * networks share a country record). The IPv4 subtree (::/96) is reached
 * again through the ::ffff:0:0/96, 2001::/32 and 2002::/16 aliases; its
 * result is memoized by MMDB node number, so our tree shares it (a DAG) and
 * IPv4 clients start their walk at its root directly.
 *
 * Invariants: every node index < n_nodes, every leaf value < orders.n.
 */
#include "geo/geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "geo/geo_int.h"
#include "common/addr.h"

#define LEAF 0x80000000u
#define JUMP_BITS 16
#define IS_LEAF(r) (((r)&LEAF) != 0)

struct geo_tree {
	_Atomic unsigned refs;
	uint32_t (*nodes)[2];
	size_t n_nodes;
	uint32_t root6, root4; /* refs */
	/*
	 * jump4[i]: where the walk from root4 is after the first JUMP_BITS bits
	 * of an IPv4 address i..., or the leaf met before; jump4_depth[i] the
	 * bits walked. NULL without a database.
	 */
	uint32_t *jump4;
	uint8_t *jump4_depth;
	geo_order_tab_t orders;
	geo_rules_t rules;
	MMDB_s mmdb;
	bool have_db;
	geo_country_fn country_point; /* kept for geo_tree_locate() */
	void *country_ctx;
	geo_tree_stats_t stats;
};

/* Build state: offset memo and the growing node array. */
struct builder {
	geo_tree_t *t;
	size_t cap;
	uint32_t *memo_key; /* data-section offsets, UINT32_MAX = free */
	uint32_t *memo_val;
	size_t memo_slots, memo_n;
	uint32_t v4_node; /* MMDB node of ::/96, UINT32_MAX when none */
	uint32_t v4_ref;  /* our ref for it once built, UINT32_MAX before */
	unsigned max_depth;
};

static void get_str(MMDB_entry_s *e, char out[3], const char *a, const char *b)
{
	MMDB_entry_data_s d;
	out[0] = '\0';
	if (MMDB_get_value(e, &d, a, b, NULL) == MMDB_SUCCESS && d.has_data &&
	    d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
		out[0] = (char)(d.utf8_string[0] & 0xdf);
		out[1] = (char)(d.utf8_string[1] & 0xdf);
		out[2] = '\0';
	}
}

static bool get_double(MMDB_entry_s *e, const char *key, double *out)
{
	MMDB_entry_data_s d;
	if (MMDB_get_value(e, &d, "location", key, NULL) != MMDB_SUCCESS || !d.has_data) {
		return false;
	}
	if (d.type == MMDB_DATA_TYPE_DOUBLE) {
		*out = d.double_value;
		return true;
	}
	if (d.type == MMDB_DATA_TYPE_FLOAT) {
		*out = d.float_value;
		return true;
	}
	return false;
}

/* Read what an order needs from one record; absent paths are just absent. */
static void read_rec(const geo_tree_t *t, MMDB_entry_s *e, geo_rec_t *r)
{
	memset(r, 0, sizeof(*r));
	r->found = true;
	get_str(e, r->cc, "country", "iso_code");
	get_str(e, r->cont, "continent", "code");
	double lat, lon;
	if (get_double(e, "latitude", &lat) && get_double(e, "longitude", &lon) && lat >= -90.0 &&
	    lat <= 90.0 && lon >= -180.0 && lon <= 180.0) {
		r->has_loc = true;
		r->lat = lat;
		r->lon = lon;
	} else if (t->country_point != NULL && r->cc[0] != '\0' &&
	           t->country_point(t->country_ctx, r->cc, r->cont, &lat, &lon)) {
		r->has_loc = true;
		r->fallback = true;
		r->lat = lat;
		r->lon = lon;
	}
}

static int memo_grow(struct builder *b)
{
	size_t ns = b->memo_slots ? b->memo_slots * 2 : 1024;
	uint32_t *k = malloc(ns * sizeof(*k));
	uint32_t *v = malloc(ns * sizeof(*v));
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	memset(k, 0xff, ns * sizeof(*k));
	for (size_t i = 0; i < b->memo_slots; i++) {
		if (b->memo_key[i] == UINT32_MAX) {
			continue;
		}
		size_t h = (b->memo_key[i] * 2654435761u) & (ns - 1);
		while (k[h] != UINT32_MAX) {
			h = (h + 1) & (ns - 1);
		}
		k[h] = b->memo_key[i];
		v[h] = b->memo_val[i];
	}
	free(b->memo_key);
	free(b->memo_val);
	b->memo_key = k;
	b->memo_val = v;
	b->memo_slots = ns;
	return 0;
}

/* Order index of the data record at `offset`, computed once per record. */
static int leaf_for_data(struct builder *b, MMDB_entry_s *e, uint32_t *ref)
{
	if (b->memo_n * 2 >= b->memo_slots && memo_grow(b) != 0) {
		return -ENOMEM;
	}
	size_t h = (e->offset * 2654435761u) & (b->memo_slots - 1);
	while (b->memo_key[h] != UINT32_MAX) {
		if (b->memo_key[h] == e->offset) {
			*ref = LEAF | b->memo_val[h];
			return 0;
		}
		h = (h + 1) & (b->memo_slots - 1);
	}
	geo_rec_t rec;
	uint8_t order[GEO_MAX_REGIONS];
	uint32_t idx;
	read_rec(b->t, e, &rec);
	geo_rules_order(&b->t->rules, &rec, order);
	int rc = geo_order_tab_add(&b->t->orders, order, &idx);
	if (rc != 0) {
		return rc;
	}
	b->memo_key[h] = e->offset;
	b->memo_val[h] = idx;
	b->memo_n++;
	*ref = LEAF | idx;
	return 0;
}

static int new_node(struct builder *b, uint32_t l, uint32_t r, uint32_t *ref)
{
	geo_tree_t *t = b->t;
	if (t->n_nodes == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 4096;
		void *p = realloc(t->nodes, nc * sizeof(*t->nodes));
		if (p == NULL) {
			return -ENOMEM;
		}
		t->nodes = p;
		b->cap = nc;
	}
	if (t->n_nodes >= LEAF) {
		return -ENOMEM;
	}
	t->nodes[t->n_nodes][0] = l;
	t->nodes[t->n_nodes][1] = r;
	*ref = (uint32_t)t->n_nodes++;
	return 0;
}

static int walk(struct builder *b, uint32_t node, unsigned depth, uint32_t *ref);

static int child(struct builder *b, uint8_t type, uint64_t rec, MMDB_entry_s *e, unsigned depth,
                 uint32_t *ref)
{
	switch (type) {
	case MMDB_RECORD_TYPE_SEARCH_NODE:
		if (depth >= b->max_depth) {
			return -EINVAL; /* deeper than the address: corrupt database */
		}
		return walk(b, (uint32_t)rec, depth + 1, ref);
	case MMDB_RECORD_TYPE_EMPTY:
		*ref = LEAF | GEO_ORDER_DEFAULT;
		return 0;
	case MMDB_RECORD_TYPE_DATA:
		return leaf_for_data(b, e, ref);
	default:
		return -EINVAL;
	}
}

static int walk(struct builder *b, uint32_t node, unsigned depth, uint32_t *ref)
{
	if (node == b->v4_node && b->v4_ref != UINT32_MAX) {
		*ref = b->v4_ref; /* an alias of the IPv4 subtree: share it */
		return 0;
	}
	MMDB_search_node_s sn;
	if (MMDB_read_node(&b->t->mmdb, node, &sn) != MMDB_SUCCESS) {
		return -EINVAL;
	}
	uint32_t l, r;
	int rc = child(b, sn.left_record_type, sn.left_record, &sn.left_record_entry, depth, &l);
	if (rc == 0) {
		rc = child(b, sn.right_record_type, sn.right_record, &sn.right_record_entry, depth,
		           &r);
	}
	if (rc != 0) {
		return rc;
	}
	if (l == r && IS_LEAF(l)) {
		*ref = l; /* same answer on both sides: the parent prefix is enough */
	} else if ((rc = new_node(b, l, r, ref)) != 0) {
		return rc;
	}
	if (node == b->v4_node) {
		b->v4_ref = *ref;
	}
	return 0;
}

/* MMDB node number at ::/96 (the IPv4 data), or UINT32_MAX. */
static uint32_t find_v4_node(const MMDB_s *db)
{
	if (db->metadata.ip_version != 6) {
		return 0;
	}
	uint32_t node = 0;
	for (int i = 0; i < 96; i++) {
		MMDB_search_node_s sn;
		if (MMDB_read_node(db, node, &sn) != MMDB_SUCCESS ||
		    sn.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) {
			return UINT32_MAX;
		}
		node = (uint32_t)sn.left_record;
	}
	return node;
}

/* Walk `bits` zero bits from ref: the IPv4 root in a v6 tree. */
static uint32_t descend_zeros(const geo_tree_t *t, uint32_t ref, unsigned bits)
{
	for (unsigned i = 0; i < bits && !IS_LEAF(ref); i++) {
		ref = t->nodes[ref][0];
	}
	return ref;
}

/* The first JUMP_BITS steps of every IPv4 walk, done once (see struct geo_tree). */
static int build_jump4(geo_tree_t *t)
{
	t->jump4 = malloc(sizeof(*t->jump4) << JUMP_BITS);
	t->jump4_depth = malloc((size_t)1 << JUMP_BITS);
	if (t->jump4 == NULL || t->jump4_depth == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < 1u << JUMP_BITS; i++) {
		uint32_t ref = t->root4;
		unsigned depth = 0;
		while (!IS_LEAF(ref) && depth < JUMP_BITS) {
			ref = t->nodes[ref][(i >> (JUMP_BITS - 1 - depth)) & 1];
			depth++;
		}
		t->jump4[i] = ref;
		t->jump4_depth[i] = (uint8_t)depth;
	}
	return 0;
}

static int build_from_db(geo_tree_t *t, const geo_build_opts_t *o, char *err, size_t errlen)
{
	int rc = MMDB_open(o->database, MMDB_MODE_MMAP, &t->mmdb);
	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "geo: %s: %s", o->database, MMDB_strerror(rc));
		return -EINVAL;
	}
	t->have_db = true;
	struct builder b = {.t = t, .v4_ref = UINT32_MAX};
	b.max_depth = t->mmdb.metadata.ip_version == 6 ? 128 : 32;
	b.v4_node = find_v4_node(&t->mmdb);
	uint32_t root;
	rc = walk(&b, 0, 0, &root);
	t->stats.records = b.memo_n;
	free(b.memo_key);
	free(b.memo_val);
	if (rc != 0) {
		snprintf(err, errlen, "geo: %s: %s", o->database,
		         rc == -ENOMEM ? "out of memory" : "corrupt search tree");
		return rc;
	}
	if (t->n_nodes > 0 && t->n_nodes < b.cap) {
		void *p = realloc(t->nodes, t->n_nodes * sizeof(*t->nodes));
		if (p != NULL) {
			t->nodes = p;
		}
	}
	t->stats.mmdb_nodes = t->mmdb.metadata.node_count;
	if (t->mmdb.metadata.ip_version == 6) {
		t->root6 = root;
		t->root4 = descend_zeros(t, root, 96);
	} else {
		t->root4 = root;
		t->root6 = LEAF | GEO_ORDER_DEFAULT;
	}
	return build_jump4(t);
}

int geo_tree_build(const geo_build_opts_t *o, geo_tree_t **out, char *err, size_t errlen)
{
	char dummy[1];
	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	geo_tree_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	atomic_init(&t->refs, 1);
	t->country_point = o->country_point;
	t->country_ctx = o->country_ctx;
	int rc = geo_rules_init(&t->rules, o, err, errlen);
	if (rc != 0) {
		free(t);
		return rc;
	}
	uint32_t idx;
	rc = geo_order_tab_init(&t->orders, o->n_regions);
	if (rc == 0) {
		/* Index 0 is the default order (GEO_ORDER_DEFAULT). */
		rc = geo_order_tab_add(&t->orders, t->rules.default_order, &idx);
	}
	if (rc == 0) {
		t->root4 = t->root6 = LEAF | GEO_ORDER_DEFAULT;
		if (o->database != NULL) {
			rc = build_from_db(t, o, err, errlen);
		}
	}
	if (rc != 0) {
		if (rc == -ENOMEM && err[0] == '\0') {
			snprintf(err, errlen, "geo: out of memory");
		}
		geo_tree_unref(t);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t->stats.nodes = t->n_nodes;
	t->stats.orders = t->orders.n;
	t->stats.bytes = sizeof(*t) + t->n_nodes * sizeof(*t->nodes) +
	                 (t->jump4 != NULL ? (sizeof(*t->jump4) + 1) << JUMP_BITS : 0) +
	                 2 * t->orders.cap * t->orders.n_regions +
	                 t->orders.n_slots * sizeof(uint32_t) + t->rules.n_maps * sizeof(geo_map_t);
	t->stats.build_ms =
	        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	*out = t;
	return 0;
}

/* The built-in country table's point (config/countries.c), for records without coordinates. */
static bool country_table_point(void *ctx, const char *cc, const char *continent, double *lat,
                                double *lon)
{
	(void)ctx;
	(void)continent;
	char cont[3];
	return cfg_country_find(cc, cont, lat, lon) == 0;
}

int geo_tree_build_cfg(const cfg_t *cfg, geo_tree_t **out, char *err, size_t errlen)
{
	/*
	 * A country-level database (DB-IP country lite) has no coordinates: its
	 * clients are placed at their country's point, so `geo` still orders
	 * nearest-first instead of falling back to geo.default.
	 */
	geo_build_opts_t o = {
	        .country_point = country_table_point,
	        .database = cfg->geo.database,
	        .regions = cfg->regions,
	        .n_regions = cfg->n_regions,
	        .maps = cfg->geo.maps,
	        .n_maps = cfg->geo.n_maps,
	        .default_order = cfg->geo.default_order,
	        .n_default_order = cfg->geo.n_default_order,
	};
	return geo_tree_build(&o, out, err, errlen);
}

geo_tree_t *geo_tree_ref(geo_tree_t *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void geo_tree_unref(geo_tree_t *t)
{
	if (t == NULL) {
		return;
	}
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) {
		return;
	}
	if (t->have_db) {
		MMDB_close(&t->mmdb);
	}
	geo_rules_fini(&t->rules);
	geo_order_tab_fini(&t->orders);
	free(t->jump4);
	free(t->jump4_depth);
	free(t->nodes);
	free(t);
}

/* An IPv4 walk: the jump table for the first JUMP_BITS bits, then bit by bit. */
static uint32_t lookup4(const geo_tree_t *t, const uint8_t *addr, unsigned limit,
                        unsigned *depth_out)
{
	uint32_t a = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 |
	             addr[3];
	uint32_t ref = t->root4;
	unsigned depth = 0;
	if (t->jump4 != NULL && limit >= JUMP_BITS) {
		ref = t->jump4[a >> (32 - JUMP_BITS)];
		depth = t->jump4_depth[a >> (32 - JUMP_BITS)];
	}
	while (!IS_LEAF(ref) && depth < limit) {
		ref = t->nodes[ref][(a >> (31 - depth)) & 1];
		depth++;
	}
	*depth_out = depth;
	return ref;
}

uint32_t geo_tree_lookup(const geo_tree_t *t, int family, const uint8_t *addr,
                         unsigned source_prefix, unsigned *scope)
{
	uint32_t ref;
	unsigned off = 0, depth = 0;
	if (family == AF_INET6 && source_prefix >= 96 && aya_addr_is_v4mapped(addr)) {
		family = AF_INET;
		addr += 12;
		off = 96;
		source_prefix -= 96;
	}
	if (family == AF_INET) {
		ref = lookup4(t, addr, source_prefix < 32 ? source_prefix : 32, &depth);
	} else if (family == AF_INET6) {
		unsigned limit = source_prefix < 128 ? source_prefix : 128;
		ref = t->root6;
		while (!IS_LEAF(ref) && depth < limit) {
			unsigned bit = (addr[depth >> 3] >> (7 - (depth & 7))) & 1;
			ref = t->nodes[ref][bit];
			depth++;
		}
	} else {
		*scope = 0;
		return GEO_ORDER_DEFAULT;
	}
	/* The client gave too few bits: take the left-most answer below. */
	while (!IS_LEAF(ref)) {
		ref = t->nodes[ref][0];
	}
	*scope = off + depth;
	return ref & ~LEAF;
}

size_t geo_tree_order_count(const geo_tree_t *t)
{
	return t->orders.n;
}

size_t geo_tree_region_count(const geo_tree_t *t)
{
	return t->orders.n_regions;
}

const uint8_t *geo_tree_order(const geo_tree_t *t, uint32_t idx)
{
	AYA_BUG_ON(idx >= t->orders.n);
	return t->orders.orders + (size_t)idx * t->orders.n_regions;
}

const uint8_t *geo_tree_rank(const geo_tree_t *t, uint32_t idx)
{
	AYA_BUG_ON(idx >= t->orders.n);
	return t->orders.ranks + (size_t)idx * t->orders.n_regions;
}

void geo_tree_stats(const geo_tree_t *t, geo_tree_stats_t *out)
{
	*out = t->stats;
}

int geo_tree_locate(const geo_tree_t *t, int family, const uint8_t *addr, geo_loc_t *out)
{
	memset(out, 0, sizeof(*out));
	out->rule = "default";
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
	} else {
		return -EINVAL;
	}
	if (!t->have_db) {
		return 0;
	}
	int mmerr = 0;
	MMDB_lookup_result_s res =
	        MMDB_lookup_sockaddr(&t->mmdb, (const struct sockaddr *)&ss, &mmerr);
	if (mmerr != MMDB_SUCCESS) {
		return mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ? 0 : -EINVAL;
	}
	out->prefix = res.netmask;
	if (family == AF_INET && t->mmdb.metadata.ip_version == 6 && out->prefix >= 96) {
		out->prefix -= 96;
	}
	if (!res.found_entry) {
		return 0;
	}
	geo_rec_t rec;
	read_rec(t, &res.entry, &rec);
	out->found = true;
	out->has_location = rec.has_loc;
	out->fallback = rec.fallback;
	memcpy(out->country, rec.cc, 3);
	memcpy(out->continent, rec.cont, 3);
	out->lat = rec.lat;
	out->lon = rec.lon;
	uint8_t order[GEO_MAX_REGIONS];
	out->rule = geo_rules_order(&t->rules, &rec, order);
	return 0;
}
