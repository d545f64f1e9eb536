/* policy/ internals: the snapshot body (tests may include this header). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "policy/policy.h"

struct pol_snap {
	aya_arena_t *arena; /* holds this struct and everything it points to */
	geo_tree_t *geo;    /* one reference, dropped by pol_snap_free(); may be NULL */
	pol_service_t *services;
	size_t n_services;
	uint32_t *slots; /* owner hash -> service index + 1, 0 = free */
	size_t n_slots;  /* power of two */
	size_t unmatched_drains;
};
