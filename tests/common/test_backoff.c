/*
 * Unit tests for the retry back-off (common/backoff.h): each sequence of
 * failures (F) and successes (S) gives the delays expected, doubling from
 * the minimum, capped at the maximum, back to the minimum after a success.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/backoff.h"

static void test_sequences(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t min_ms, max_ms;
		const char *events;  /* F: a failure, S: a success */
		uint32_t delays[12]; /* of each F, in order */
		uint64_t failures;   /* in a row at the end */
	} cases[] = {
	        {"accept: 100 ms doubling to 1 s",
	         AYA_ACCEPT_BACKOFF_MIN_MS,
	         AYA_ACCEPT_BACKOFF_MAX_MS,
	         "FFFFFFF",
	         {100, 200, 400, 800, 1000, 1000, 1000},
	         7},
	        {"a success starts over", 100, 1000, "FFFSFF", {100, 200, 400, 100, 200}, 2},
	        {"success first is harmless", 100, 1000, "SSF", {100}, 1},
	        {"min equals max", 250, 250, "FFF", {250, 250, 250}, 3},
	        {"cap not a power of two of min", 3, 10, "FFFF", {3, 6, 10, 10}, 4},
	        {"no overflow near UINT32_MAX",
	         1u << 30,
	         UINT32_MAX,
	         "FFFF",
	         {1u << 30, 1u << 31, UINT32_MAX, UINT32_MAX},
	         4},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		aya_backoff_t b;
		aya_backoff_init(&b, cases[i].min_ms, cases[i].max_ms);
		size_t k = 0;
		for (const char *e = cases[i].events; *e != '\0'; e++) {
			if (*e == 'S') {
				aya_backoff_reset(&b);
				continue;
			}
			uint32_t d = aya_backoff_fail(&b);
			if (d != cases[i].delays[k]) {
				fail_msg("%s: failure %zu waits %u ms, want %u", cases[i].name,
				         k + 1, d, cases[i].delays[k]);
			}
			k++;
		}
		if (b.failures != cases[i].failures) {
			fail_msg("%s: %llu failures in a row, want %llu", cases[i].name,
			         (unsigned long long)b.failures,
			         (unsigned long long)cases[i].failures);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sequences),
	};
	return cmocka_run_group_tests_name("common/backoff", tests, NULL, NULL);
}
