/*
 * Region orders: which region comes first for a located client. Regions are
 * unit vectors on the sphere; the nearest region by great-circle distance is
 * the one with the largest dot product, so no trigonometry runs per record
 * beyond the client's own vector. Maps (country before continent) put their
 * regions first; the rest follow nearest-first (or in default order when the
 * client has no location), so every order is a full permutation.
 */
#include "geo/geo_int.h"
#include "common/hash.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void geo_unit_vector(double lat, double lon, double v[3])
{
	const double rad = M_PI / 180.0;
	double phi = lat * rad;
	double lam = lon * rad;
	v[0] = cos(phi) * cos(lam);
	v[1] = cos(phi) * sin(lam);
	v[2] = sin(phi);
}

static void upper2(char out[3], const char *in)
{
	out[0] = (char)toupper((unsigned char)in[0]);
	out[1] = in[0] != '\0' ? (char)toupper((unsigned char)in[1]) : '\0';
	out[2] = '\0';
}

static int copy_maps(geo_rules_t *r, const geo_build_opts_t *o, char *err, size_t errlen)
{
	if (o->n_maps == 0) {
		return 0;
	}
	r->maps = calloc(o->n_maps, sizeof(*r->maps));
	if (r->maps == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->n_maps; i++) {
		const cfg_geo_map_t *m = &o->maps[i];
		geo_map_t *g = &r->maps[i];
		bool seen[GEO_MAX_REGIONS] = {false};
		g->kind = m->kind;
		upper2(g->code, m->code);
		for (size_t k = 0; k < m->n_regions; k++) {
			size_t ri = m->regions[k];
			if (ri >= r->n_regions) {
				snprintf(err, errlen, "geo: map %s: region index %zu out of range",
				         g->code, ri);
				return -EINVAL;
			}
			if (!seen[ri]) {
				seen[ri] = true;
				g->regions[g->n++] = (uint8_t)ri;
			}
		}
	}
	r->n_maps = o->n_maps;
	return 0;
}

int geo_rules_init(geo_rules_t *r, const geo_build_opts_t *o, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (o->n_regions == 0 || o->n_regions > GEO_MAX_REGIONS || o->regions == NULL) {
		snprintf(err, errlen, "geo: need 1..%d regions, got %zu", GEO_MAX_REGIONS,
		         o->n_regions);
		return -EINVAL;
	}
	r->n_regions = o->n_regions;
	for (size_t i = 0; i < o->n_regions; i++) {
		geo_unit_vector(o->regions[i].lat, o->regions[i].lon, r->vec[i]);
	}
	/* Default order: the listed regions, then the rest in config order. */
	bool used[GEO_MAX_REGIONS] = {false};
	size_t n = 0;
	for (size_t i = 0; i < o->n_default_order && o->default_order != NULL; i++) {
		size_t ri = o->default_order[i];
		if (ri >= r->n_regions) {
			snprintf(err, errlen, "geo: default order: region index %zu out of range",
			         ri);
			return -EINVAL;
		}
		if (!used[ri]) {
			used[ri] = true;
			r->default_order[n++] = (uint8_t)ri;
		}
	}
	for (size_t i = 0; i < r->n_regions; i++) {
		if (!used[i]) {
			r->default_order[n++] = (uint8_t)i;
		}
	}
	int rc = copy_maps(r, o, err, errlen);
	if (rc != 0) {
		geo_rules_fini(r);
	}
	return rc;
}

void geo_rules_fini(geo_rules_t *r)
{
	free(r->maps);
	r->maps = NULL;
	r->n_maps = 0;
}

static const geo_map_t *find_map(const geo_rules_t *r, cfg_geo_map_kind_t kind, const char *code)
{
	if (code[0] == '\0') {
		return NULL;
	}
	for (size_t i = 0; i < r->n_maps; i++) {
		const geo_map_t *m = &r->maps[i];
		if (m->kind == kind && m->code[0] == code[0] && m->code[1] == code[1]) {
			return m;
		}
	}
	return NULL;
}

/* Append the regions not yet used: nearest-first when v != NULL, else default order. */
static void append_rest(const geo_rules_t *r, const double *v, bool *used, uint8_t *order, size_t n)
{
	if (v == NULL) {
		for (size_t i = 0; i < r->n_regions; i++) {
			uint8_t ri = r->default_order[i];
			if (!used[ri]) {
				used[ri] = true;
				order[n++] = ri;
			}
		}
		return;
	}
	double dot[GEO_MAX_REGIONS];
	size_t start = n;
	for (size_t i = 0; i < r->n_regions; i++) {
		if (used[i]) {
			continue;
		}
		dot[i] = r->vec[i][0] * v[0] + r->vec[i][1] * v[1] + r->vec[i][2] * v[2];
		/* Insertion by descending dot product; ties keep config order. */
		size_t k = n;
		while (k > start && dot[order[k - 1]] < dot[i]) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = (uint8_t)i;
		used[i] = true;
		n++;
	}
}

const char *geo_rules_order(const geo_rules_t *r, const geo_rec_t *rec, uint8_t *order)
{
	bool used[GEO_MAX_REGIONS] = {false};
	double v[3];
	const double *vp = NULL;
	if (!rec->found) {
		memcpy(order, r->default_order, r->n_regions);
		return "default";
	}
	if (rec->has_loc) {
		geo_unit_vector(rec->lat, rec->lon, v);
		vp = v;
	}
	const char *rule = "country map";
	const geo_map_t *m = find_map(r, CFG_GEO_MAP_COUNTRY, rec->cc);
	if (m == NULL) {
		rule = "continent map";
		m = find_map(r, CFG_GEO_MAP_CONTINENT, rec->cont);
	}
	size_t n = 0;
	if (m != NULL) {
		for (size_t i = 0; i < m->n; i++) {
			used[m->regions[i]] = true;
			order[n++] = m->regions[i];
		}
	} else {
		rule = vp != NULL ? "distance" : "default";
	}
	append_rest(r, vp, used, order, n);
	return rule;
}

int geo_order_tab_init(geo_order_tab_t *t, size_t n_regions)
{
	memset(t, 0, sizeof(*t));
	t->n_regions = n_regions;
	t->cap = 16;
	t->n_slots = 64;
	t->orders = malloc(t->cap * n_regions);
	t->ranks = malloc(t->cap * n_regions);
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	if (t->orders == NULL || t->ranks == NULL || t->slots == NULL) {
		geo_order_tab_fini(t);
		return -ENOMEM;
	}
	return 0;
}

void geo_order_tab_fini(geo_order_tab_t *t)
{
	free(t->orders);
	free(t->ranks);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = aya_fnv1a(AYA_FNV_OFFSET, p, n);
	return h ^ (h >> 29);
}

static int grow_slots(geo_order_tab_t *t)
{
	size_t ns = t->n_slots * 2;
	uint32_t *s = calloc(ns, sizeof(*s));
	if (s == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		size_t h = hash_bytes(t->orders + i * t->n_regions, t->n_regions) & (ns - 1);
		while (s[h] != 0) {
			h = (h + 1) & (ns - 1);
		}
		s[h] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = s;
	t->n_slots = ns;
	return 0;
}

int geo_order_tab_add(geo_order_tab_t *t, const uint8_t *order, uint32_t *idx)
{
	size_t nr = t->n_regions;
	size_t h = hash_bytes(order, nr) & (t->n_slots - 1);
	while (t->slots[h] != 0) {
		uint32_t i = t->slots[h] - 1;
		if (memcmp(t->orders + (size_t)i * nr, order, nr) == 0) {
			*idx = i;
			return 0;
		}
		h = (h + 1) & (t->n_slots - 1);
	}
	if (t->n == t->cap) {
		size_t nc = t->cap * 2;
		uint8_t *o = realloc(t->orders, nc * nr);
		if (o == NULL) {
			return -ENOMEM;
		}
		t->orders = o;
		uint8_t *rk = realloc(t->ranks, nc * nr);
		if (rk == NULL) {
			return -ENOMEM;
		}
		t->ranks = rk;
		t->cap = nc;
	}
	size_t i = t->n++;
	memcpy(t->orders + i * nr, order, nr);
	for (size_t k = 0; k < nr; k++) {
		t->ranks[i * nr + order[k]] = (uint8_t)k;
	}
	t->slots[h] = (uint32_t)i + 1;
	*idx = (uint32_t)i;
	if (t->n * 2 > t->n_slots) {
		return grow_slots(t);
	}
	return 0;
}
