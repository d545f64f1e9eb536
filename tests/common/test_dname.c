/* Unit tests for common/dname.c: text <-> wire, comparisons, label walks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/dname.h"

static void test_from_str_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *text;
		int len;          /* expected wire length, or negative errno */
		const char *back; /* expected text form */
	} cases[] = {
	        {"root", ".", 1, "."},
	        {"plain", "www.example.com", 17, "www.example.com."},
	        {"trailing dot", "www.example.com.", 17, "www.example.com."},
	        {"escaped dot", "a\\.b.c", 7, "a\\.b.c."},
	        {"decimal escape", "a\\065.b", 6, "aA.b."},
	        {"empty label", "a..b", -EINVAL, NULL},
	        {"leading dot", ".a", -EINVAL, NULL},
	        {"empty", "", -EINVAL, NULL},
	        {"label 64", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b",
	         -EINVAL, NULL},
	        {"escape past end", "a\\", -EINVAL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t wire[AYA_DNAME_MAX];
		int n = aya_dname_from_str(cases[i].text, wire);
		if (n != cases[i].len) {
			fail_msg("case '%s': got %d want %d", cases[i].name, n, cases[i].len);
		}
		if (n > 0) {
			char buf[AYA_DNAME_STR_MAX];
			aya_dname_to_str(wire, buf, sizeof(buf));
			assert_string_equal(buf, cases[i].back);
			assert_int_equal(aya_dname_len(wire), (size_t)n);
		}
	}
}

static void test_name_too_long(void **state)
{
	(void)state;
	char text[400];
	/* 85 labels of 3 bytes = 255 wire bytes + root: too long. */
	size_t p = 0;
	for (int i = 0; i < 85; i++) {
		memcpy(text + p, "ab.", 3);
		p += 3;
	}
	text[p] = '\0';
	uint8_t wire[AYA_DNAME_MAX];
	assert_int_equal(aya_dname_from_str(text, wire), -EINVAL);
	/* 84 labels: 84*3+1 = 253 bytes: fine. */
	text[84 * 3] = '\0';
	assert_int_equal(aya_dname_from_str(text, wire), 253);
}

static void test_compare(void **state)
{
	(void)state;
	uint8_t a[AYA_DNAME_MAX], b[AYA_DNAME_MAX], z[AYA_DNAME_MAX], r[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("WwW.Example.COM", a) > 0);
	assert_true(aya_dname_from_str("www.example.com", b) > 0);
	assert_true(aya_dname_from_str("example.com", z) > 0);
	assert_true(aya_dname_from_str(".", r) > 0);
	assert_true(aya_dname_equal(a, b));
	assert_false(aya_dname_equal(a, z));
	assert_true(aya_dname_is_sub(a, z));
	assert_true(aya_dname_is_sub(z, z));
	assert_false(aya_dname_is_sub(z, a));
	assert_true(aya_dname_is_sub(a, r));
	assert_int_equal(aya_dname_labels(a), 3);
	assert_int_equal(aya_dname_labels(r), 0);
	assert_true(aya_dname_equal(aya_dname_skip(a, 1), z));
	aya_dname_lower(a);
	assert_memory_equal(a, b, aya_dname_len(b));
	/* "xexample.com" must not count as below "example.com". */
	uint8_t x[AYA_DNAME_MAX];
	assert_true(aya_dname_from_str("xexample.com", x) > 0);
	assert_false(aya_dname_is_sub(x, z));
}

static void test_to_str_escapes(void **state)
{
	(void)state;
	const uint8_t wire[] = {3, 'a', 0x00, ' ', 1, '@', 0};
	char buf[64];
	aya_dname_to_str(wire, buf, sizeof(buf));
	assert_string_equal(buf, "a\\000\\032.\\@.");
	/* Truncation is safe and terminated. */
	char small[4];
	aya_dname_to_str(wire, small, sizeof(small));
	assert_int_equal(strlen(small), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_from_str_table),
	        cmocka_unit_test(test_name_too_long),
	        cmocka_unit_test(test_compare),
	        cmocka_unit_test(test_to_str_escapes),
	};
	return cmocka_run_group_tests_name("common/dname", tests, NULL, NULL);
}
