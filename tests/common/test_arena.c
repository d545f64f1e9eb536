/* Unit tests for common/arena.c: alignment, zeroing, large blocks, accounting. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"

static void test_small_and_large(void **state)
{
	(void)state;
	aya_arena_t *a = aya_arena_new();
	assert_non_null(a);
	unsigned char *prev = NULL;
	for (size_t i = 1; i < 5000; i += 7) {
		unsigned char *p = aya_arena_alloc(a, i);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
		for (size_t k = 0; k < i; k++) {
			assert_int_equal(p[k], 0);
		}
		memset(p, 0xa5, i);
		assert_ptr_not_equal(p, prev);
		prev = p;
	}
	/* Larger than a chunk. */
	unsigned char *big = aya_arena_alloc(a, 1 << 20);
	assert_non_null(big);
	big[(1 << 20) - 1] = 1;
	/* Small allocations continue to work after a large one. */
	char *s = aya_arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	assert_true(aya_arena_used(a) >= (1 << 20));
	aya_arena_free(a);
	aya_arena_free(NULL);
}

static void test_big_first(void **state)
{
	(void)state;
	aya_arena_t *a = aya_arena_new();
	assert_non_null(a);
	assert_non_null(aya_arena_alloc(a, 100000));
	int *x = aya_arena_memdup(a, &(int){42}, sizeof(int));
	assert_int_equal(*x, 42);
	aya_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_small_and_large),
	        cmocka_unit_test(test_big_first),
	};
	return cmocka_run_group_tests_name("common/arena", tests, NULL, NULL);
}
