/*
 * A read view of the state: every observation, active drain and cost override,
 * copied in one walk into one arena, so that a reader (the policy compiler,
 * the periodic health check, `ayactl backends`) sees one consistent moment
 * and pays a binary search per endpoint instead of a walk of the store.
 *
 * Invariants: observations are sorted by (endpoint key, observer), so the
 * observations of one endpoint are one run; drains keep state_drain_list()'s
 * order. Nothing in a view points into the store: it outlives any change to
 * it and is freed whole.
 */
#include "state/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

struct state_view {
	aya_arena_t *arena; /* this struct, the arrays and every string */
	state_obs_t *obs;
	size_t n_obs, cap_obs;
	state_drain_t *drains;
	size_t n_drains;
	state_cost_t *costs;
	size_t n_costs;
};

static int view_new(size_t n_obs, size_t n_drains, state_view_t **out)
{
	*out = NULL;
	aya_arena_t *a = aya_arena_new();
	state_view_t *v = a != NULL ? aya_arena_alloc(a, sizeof(*v)) : NULL;
	if (v == NULL) {
		aya_arena_free(a);
		return -ENOMEM;
	}
	*v = (state_view_t){.arena = a, .cap_obs = n_obs};
	v->obs = aya_arena_alloc(a, (n_obs + 1) * sizeof(*v->obs));
	v->drains = aya_arena_alloc(a, (n_drains + 1) * sizeof(*v->drains));
	if (v->obs == NULL || v->drains == NULL) {
		aya_arena_free(a);
		return -ENOMEM;
	}
	*out = v;
	return 0;
}

static int add_obs(const state_obs_t *o, void *arg)
{
	state_view_t *v = arg;
	if (v->n_obs == v->cap_obs) {
		return -EOVERFLOW; /* the store changed under the walk: a bug */
	}
	state_obs_t *x = &v->obs[v->n_obs];
	*x = *o;
	x->observer = aya_arena_strdup(v->arena, o->observer);
	x->endpoint = aya_arena_strdup(v->arena, o->endpoint);
	x->error = aya_arena_strdup(v->arena, o->error != NULL ? o->error : "");
	if (x->observer == NULL || x->endpoint == NULL || x->error == NULL) {
		return -ENOMEM;
	}
	v->n_obs++;
	return 0;
}

static int add_drains(state_view_t *v, const state_drain_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		state_drain_t *x = &v->drains[v->n_drains];
		*x = d[i];
		x->service = aya_arena_strdup(v->arena, d[i].service);
		x->target = d[i].target != NULL ? aya_arena_strdup(v->arena, d[i].target) : NULL;
		x->origin = aya_arena_strdup(v->arena, d[i].origin != NULL ? d[i].origin : "");
		x->note = aya_arena_strdup(v->arena, d[i].note != NULL ? d[i].note : "");
		if (x->service == NULL || (d[i].target != NULL && x->target == NULL) ||
		    x->origin == NULL || x->note == NULL) {
			return -ENOMEM;
		}
		v->n_drains++;
	}
	return 0;
}

static int cmp_obs(const void *a, const void *b)
{
	const state_obs_t *x = a, *y = b;
	int c = strcmp(x->endpoint, y->endpoint);
	return c != 0 ? c : strcmp(x->observer, y->observer);
}

static void sort_obs(state_view_t *v)
{
	if (v->n_obs > 1) {
		qsort(v->obs, v->n_obs, sizeof(*v->obs), cmp_obs);
	}
}

int state_view_add_costs(state_view_t *v, const state_cost_t *c, size_t n)
{
	if (n == 0) {
		return 0;
	}
	state_cost_t *all = aya_arena_alloc(v->arena, (v->n_costs + n) * sizeof(*all));
	if (all == NULL) {
		return -ENOMEM;
	}
	if (v->n_costs > 0) {
		memcpy(all, v->costs, v->n_costs * sizeof(*all));
	}
	for (size_t i = 0; i < n; i++) {
		if (c[i].region == NULL) {
			return -EINVAL;
		}
		for (size_t j = 0; j < v->n_costs + i; j++) {
			if (strcmp(all[j].region, c[i].region) == 0) {
				return -EINVAL;
			}
		}
		state_cost_t *x = &all[v->n_costs + i];
		*x = c[i];
		x->region = aya_arena_strdup(v->arena, c[i].region);
		x->origin = aya_arena_strdup(v->arena, c[i].origin != NULL ? c[i].origin : "");
		if (x->region == NULL || x->origin == NULL) {
			return -ENOMEM;
		}
	}
	v->costs = all;
	v->n_costs += n;
	return 0;
}

/* The store's active costs into v. */
static int add_stored_costs(const state_t *st, state_view_t *v)
{
	state_cost_t *list = NULL;
	size_t n = 0;
	int rc = state_cost_list(st, &list, &n);
	if (rc == 0) {
		rc = state_view_add_costs(v, list, n);
	}
	state_cost_list_free(list, n);
	return rc;
}

int state_view_build(const state_t *st, state_view_t **out)
{
	state_drain_t *list = NULL;
	size_t n = 0;
	*out = NULL;
	int rc = state_drain_list(st, &list, &n);
	if (rc < 0) {
		return rc;
	}
	state_view_t *v = NULL;
	rc = view_new(state_obs_count(st), n, &v);
	if (rc == 0) {
		rc = state_obs_foreach(st, add_obs, v);
	}
	if (rc == 0) {
		rc = add_drains(v, list, n);
	}
	state_drain_list_free(list, n);
	if (rc == 0) {
		rc = add_stored_costs(st, v);
	}
	if (rc < 0) {
		state_view_free(v);
		return rc;
	}
	sort_obs(v);
	*out = v;
	return 0;
}

int state_view_from(const state_obs_t *obs, size_t n_obs, const state_drain_t *drains,
                    size_t n_drains, state_view_t **out)
{
	state_view_t *v = NULL;
	int rc = view_new(n_obs, n_drains, &v);
	for (size_t i = 0; rc == 0 && i < n_obs; i++) {
		rc = obs[i].observer != NULL && obs[i].endpoint != NULL ? add_obs(&obs[i], v)
		                                                        : -EINVAL;
	}
	for (size_t i = 0; rc == 0 && i < n_drains; i++) {
		if (drains[i].service == NULL) {
			rc = -EINVAL;
		}
	}
	if (rc == 0) {
		rc = add_drains(v, drains, n_drains);
	}
	if (rc < 0) {
		state_view_free(v);
		*out = NULL;
		return rc;
	}
	sort_obs(v);
	*out = v;
	return 0;
}

void state_view_free(state_view_t *v)
{
	if (v != NULL) {
		aya_arena_free(v->arena);
	}
}

const state_obs_t *state_view_obs(const state_view_t *v, const char *endpoint, size_t *n)
{
	/* Lower bound of the key, then the run of equal keys. */
	size_t lo = 0, hi = v->n_obs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(v->obs[mid].endpoint, endpoint) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	size_t end = lo;
	while (end < v->n_obs && strcmp(v->obs[end].endpoint, endpoint) == 0) {
		end++;
	}
	*n = end - lo;
	return *n > 0 ? &v->obs[lo] : NULL;
}

size_t state_view_obs_count(const state_view_t *v)
{
	return v->n_obs;
}

const state_drain_t *state_view_drains(const state_view_t *v, size_t *n)
{
	*n = v->n_drains;
	return v->n_drains > 0 ? v->drains : NULL;
}

const state_cost_t *state_view_costs(const state_view_t *v, size_t *n)
{
	*n = v->n_costs;
	return v->n_costs > 0 ? v->costs : NULL;
}
