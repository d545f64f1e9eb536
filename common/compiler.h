/*
 * Compiler-checked contracts and small helpers shared by every module.
 * Nothing here allocates or has state.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define AYA_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define AYA_WUR __attribute__((warn_unused_result))
#define AYA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define AYA_HOT __attribute__((hot))
#define AYA_COLD __attribute__((cold))
#define AYA_UNUSED __attribute__((unused))
#define AYA_LIKELY(x) __builtin_expect(!!(x), 1)
#define AYA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define AYA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A broken invariant that would make the node serve wrong answers: kept in
 * release builds, never used on the per-query path.
 */
#define AYA_BUG_ON(cond)                                                                           \
	do {                                                                                       \
		if (AYA_UNLIKELY(cond)) {                                                          \
			fprintf(stderr, "BUG: %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
