/*
 * The policy filters, declared once. Part of config/config.h, which includes
 * it and builds the enum and the table from it; other modules include
 * config/config.h only.
 *
 * CFG_FILTERS(X) calls X(ID, name, ARG, DFLT, FLAGS) for every filter, in
 * the order of cfg_filter_kind_t:
 *  - ID: the enum value CFG_FILTER_<ID>;
 *  - name: the bare word in the YAML policy list and in every text
 *    (explain, ayactl); policy/answer.c binds it to its step function
 *    step_<name>(), so a filter without one does not compile;
 *  - ARG: CFG_FILTER_ARG_NONE, or CFG_FILTER_ARG_COUNT (written
 *    "{ name: N }", N = 1..65535, or bare "name" for DFLT);
 *  - FLAGS: CFG_FILTER_F_* below. They are promises the fast path relies
 *    on: a STATIC filter must not read the client (other than its geo order
 *    with GEO_ORDER) nor draw; a filter that draws must say DRAWS.
 *    tests/policy checks the fast path against the whole chain for every
 *    combination of filters, so a filter wrongly flagged STATIC fails there.
 *
 * Adding a filter: one X() line here, one STEP_FN(name) in policy/answer.c,
 * its drop reasons in policy/trace.c if it drops, and the docs (README.md
 * "Services", docs/config.md); tests/config and tests/policy walk the table.
 */
#pragma once

/* A filter's argument. */
typedef enum cfg_filter_arg {
	CFG_FILTER_ARG_NONE = 0,  /* "name" only; "{ name: x }" is an error */
	CFG_FILTER_ARG_COUNT = 1, /* "{ name: N }", N = 1..65535, or "name" for the default */
} cfg_filter_arg_t;

#define CFG_FILTER_COUNT_MAX 65535u

/* What a filter does and what its result depends on. */
enum cfg_filter_flag {
	/* Depends on the snapshot only (health, drains, weights), or with GEO_ORDER also on
	 * the client's geo order: a leading run of these is precomputed per order. */
	CFG_FILTER_F_STATIC = 1u << 0,
	/* Reads the client's geo order (the fast path keeps one prefix per order). */
	CFG_FILTER_F_GEO_ORDER = 1u << 1,
	/* Draws from the query's random numbers: ordering before a first-N cut may stop
	 * at N only when no later filter draws. */
	CFG_FILTER_F_DRAWS = 1u << 2,
	/* Reorders the candidates (inside their tiers, or into tiers). */
	CFG_FILTER_F_ORDERS = 1u << 3,
	/* Drops candidates. */
	CFG_FILTER_F_DROPS = 1u << 4,
	/* Keeps the first N candidates, N its argument: an ordering filter just before it
	 * only needs to order the first N. */
	CFG_FILTER_F_FIRST_N = 1u << 5,
};

/* clang-format off */
#define CFG_FILTERS(X)                                                                            \
	X(HEALTHY,  healthy,  CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_STATIC | CFG_FILTER_F_DROPS)  \
	X(DRAIN,    drain,    CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_STATIC | CFG_FILTER_F_DROPS)  \
	X(GEO,      geo,      CFG_FILTER_ARG_NONE,  0,                                            \
	  CFG_FILTER_F_STATIC | CFG_FILTER_F_GEO_ORDER | CFG_FILTER_F_ORDERS)                     \
	X(WEIGHTED, weighted, CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_DRAWS | CFG_FILTER_F_ORDERS)  \
	X(HASH,     hash,     CFG_FILTER_ARG_NONE,  0, CFG_FILTER_F_ORDERS)                       \
	X(FIRST_N,  first_n,  CFG_FILTER_ARG_COUNT, 1, CFG_FILTER_F_DROPS | CFG_FILTER_F_FIRST_N)
/* clang-format on */
