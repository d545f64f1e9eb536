/*
 * The broadcast queue: retransmit limits (mult * ceil(log10(N + 1))),
 * replacement by key, fewest-transmissions-first order and MTU packing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/gossip_int.h"

static void test_limit(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		unsigned mult;
		size_t n;
		unsigned want;
	} cases[] = {
	        {"1 node", 4, 1, 4},    {"9 nodes", 4, 9, 4},        {"10 nodes", 4, 10, 8},
	        {"99 nodes", 4, 99, 8}, {"100 nodes", 4, 100, 12},   {"1000 nodes", 4, 1000, 16},
	        {"mult 1", 1, 50, 2},   {"capped", 40, 1000000, 63},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		unsigned got = gsp_bq_limit(cases[i].mult, cases[i].n);
		if (got != cases[i].want) {
			fail_msg("%s: %u", cases[i].name, got);
		}
	}
}

static void test_retransmit_limit(void **state)
{
	(void)state;
	bqueue_t q;
	assert_int_equal(gsp_bq_init(&q), 0);
	uint8_t data[10] = {1, 2, 3};
	assert_int_equal(gsp_bq_push(&q, "a", data, sizeof(data)), 0);
	ProtobufCBinaryData parts[8];
	for (unsigned i = 0; i < 3; i++) {
		size_t budget = 1000;
		assert_int_equal(gsp_bq_fill(&q, 3, &budget, parts, 8), 1);
		assert_memory_equal(parts[0].data, data, sizeof(data));
		assert_int_equal(budget, 1000 - gsp_bq_part_cost(sizeof(data)));
		gsp_bq_release(&q);
	}
	size_t budget = 1000;
	assert_int_equal(gsp_bq_fill(&q, 3, &budget, parts, 8), 0);
	assert_int_equal(q.n, 0);
	gsp_bq_fini(&q);
}

static void test_replace_by_key(void **state)
{
	(void)state;
	bqueue_t q;
	assert_int_equal(gsp_bq_init(&q), 0);
	assert_int_equal(gsp_bq_push(&q, "m:x", (const uint8_t *)"old", 3), 0);
	assert_int_equal(gsp_bq_push(&q, "m:y", (const uint8_t *)"why", 3), 0);
	assert_int_equal(gsp_bq_push(&q, "m:x", (const uint8_t *)"new", 3), 0);
	assert_int_equal(q.n, 2);
	ProtobufCBinaryData parts[8];
	size_t budget = 1000;
	assert_int_equal(gsp_bq_fill(&q, 5, &budget, parts, 8), 2);
	/* Newest first. */
	assert_memory_equal(parts[0].data, "new", 3);
	assert_memory_equal(parts[1].data, "why", 3);
	gsp_bq_release(&q);
	gsp_bq_fini(&q);
}

static void test_fewest_transmits_first(void **state)
{
	(void)state;
	bqueue_t q;
	assert_int_equal(gsp_bq_init(&q), 0);
	uint8_t big[100];
	memset(big, 0xaa, sizeof(big));
	assert_int_equal(gsp_bq_push(&q, "old", big, sizeof(big)), 0);
	ProtobufCBinaryData parts[8];
	size_t budget = 1000;
	assert_int_equal(gsp_bq_fill(&q, 10, &budget, parts, 8), 1); /* "old" sent once */
	gsp_bq_release(&q);
	assert_int_equal(gsp_bq_push(&q, "fresh", (const uint8_t *)"f", 1), 0);
	budget = gsp_bq_part_cost(100); /* room for one item only */
	assert_int_equal(gsp_bq_fill(&q, 10, &budget, parts, 8), 1);
	assert_int_equal(parts[0].len, 1); /* the never-sent item goes first */
	gsp_bq_release(&q);
	gsp_bq_fini(&q);
}

static void test_mtu_packing(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t n_items, item_len, budget;
		size_t want_parts;
	} cases[] = {
	        {"all fit", 10, 50, 1400, 10},
	        {"packed under the budget", 100, 50, 1400, 1400 / 52},
	        {"nothing fits", 5, 2000, 1400, 0},
	        {"max parts", 300, 1, 100000, 256},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		bqueue_t q;
		assert_int_equal(gsp_bq_init(&q), 0);
		uint8_t *buf = calloc(1, cases[i].item_len);
		for (size_t j = 0; j < cases[i].n_items; j++) {
			char key[32];
			snprintf(key, sizeof(key), "k%zu", j);
			assert_int_equal(gsp_bq_push(&q, key, buf, cases[i].item_len), 0);
		}
		ProtobufCBinaryData parts[256];
		size_t budget = cases[i].budget;
		size_t n = gsp_bq_fill(&q, 4, &budget, parts, 256);
		size_t used = 0;
		for (size_t j = 0; j < n; j++) {
			used += gsp_bq_part_cost(parts[j].len);
		}
		if (n != cases[i].want_parts || used + budget != cases[i].budget ||
		    used > cases[i].budget) {
			fail_msg("%s: %zu parts, %zu bytes", cases[i].name, n, used);
		}
		gsp_bq_release(&q);
		gsp_bq_fini(&q);
		free(buf);
	}
}

static void test_overflow_drops_oldest(void **state)
{
	(void)state;
	bqueue_t q;
	assert_int_equal(gsp_bq_init(&q), 0);
	for (size_t j = 0; j < BQ_MAX_ITEMS + 10; j++) {
		char key[32];
		snprintf(key, sizeof(key), "k%zu", j);
		assert_int_equal(gsp_bq_push(&q, key, (const uint8_t *)key, strlen(key)), 0);
	}
	assert_int_equal(q.n, BQ_MAX_ITEMS);
	assert_int_equal(q.dropped, 10);
	gsp_bq_release(&q);
	gsp_bq_fini(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_limit),
	        cmocka_unit_test(test_retransmit_limit),
	        cmocka_unit_test(test_replace_by_key),
	        cmocka_unit_test(test_fewest_transmits_first),
	        cmocka_unit_test(test_mtu_packing),
	        cmocka_unit_test(test_overflow_drops_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
