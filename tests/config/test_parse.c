/* Unit tests for config/parse.c and config/countries.c: durations, socket
 * addresses, prefixes, the diagnostics format and the country table. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"

static void test_duration_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *text;
		int rc;
		uint64_t ms;
	} cases[] = {
	        {"milliseconds", "500ms", 0, 500},
	        {"seconds", "2s", 0, 2000},
	        {"minutes", "1m", 0, 60000},
	        {"hours", "2h", 0, 7200000},
	        {"bare seconds", "10", 0, 10000},
	        {"zero", "0", 0, 0},
	        {"empty", "", -EINVAL, 0},
	        {"unit only", "ms", -EINVAL, 0},
	        {"days", "14d", 0, 14 * 86400000ull},
	        {"unknown unit", "5w", -EINVAL, 0},
	        {"negative", "-1s", -EINVAL, 0},
	        {"space", "5 s", -EINVAL, 0},
	        {"fraction", "1.5s", -EINVAL, 0},
	        {"overflow", "99999999999999999999", -EINVAL, 0},
	        {"overflow after unit", "18446744073709552s", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int rc = cfg_parse_duration_ms(cases[i].text, &ms);
		if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms)) {
			fail_msg("case '%s': rc %d ms %llu", cases[i].name, rc,
			         (unsigned long long)ms);
		}
	}
}

static void test_sockaddr_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *text;
		int rc;
		int family;
		unsigned port;
		const char *norm;
	} cases[] = {
	        {"v4 with port", "127.0.0.1:5300", 0, AF_INET, 5300, "127.0.0.1:5300"},
	        {"v6 with port", "[::1]:5300", 0, AF_INET6, 5300, "[::1]:5300"},
	        {"v4 default port", "192.0.2.1", 0, AF_INET, 53, "192.0.2.1:53"},
	        {"v6 bare", "2001:db8::1", 0, AF_INET6, 53, "[2001:db8::1]:53"},
	        {"v6 brackets no port", "[::]", 0, AF_INET6, 53, "[::]:53"},
	        {"v6 normalized", "[2001:DB8:0::1]:53", 0, AF_INET6, 53, "[2001:db8::1]:53"},
	        {"port zero", "127.0.0.1:0", -EINVAL, 0, 0, NULL},
	        {"port too big", "127.0.0.1:65536", -EINVAL, 0, 0, NULL},
	        {"port junk", "127.0.0.1:53x", -EINVAL, 0, 0, NULL},
	        {"empty port", "127.0.0.1:", -EINVAL, 0, 0, NULL},
	        {"bad v4", "300.0.0.1:53", -EINVAL, 0, 0, NULL},
	        {"hostname", "localhost:53", -EINVAL, 0, 0, NULL},
	        {"v4 in brackets", "[127.0.0.1]:53", -EINVAL, 0, 0, NULL},
	        {"unclosed bracket", "[::1:53", -EINVAL, 0, 0, NULL},
	        {"junk after bracket", "[::1]x", -EINVAL, 0, 0, NULL},
	        {"empty", "", -EINVAL, 0, 0, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg_sockaddr_t sa;
		int rc = cfg_parse_sockaddr(cases[i].text, 53, &sa);
		if (rc != cases[i].rc) {
			fail_msg("case '%s': rc %d want %d", cases[i].name, rc, cases[i].rc);
		}
		if (rc != 0) {
			continue;
		}
		assert_int_equal(sa.ss.ss_family, cases[i].family);
		if (cases[i].family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&sa.ss;
			assert_int_equal(ntohs(sin->sin_port), cases[i].port);
			assert_int_equal(sa.len, sizeof(*sin));
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&sa.ss;
			assert_int_equal(ntohs(sin6->sin6_port), cases[i].port);
			assert_int_equal(sa.len, sizeof(*sin6));
		}
		if (strcmp(sa.text, cases[i].norm) != 0) {
			fail_msg("case '%s': text '%s' want '%s'", cases[i].name, sa.text,
			         cases[i].norm);
		}
	}
}

static void test_prefix_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *text;
		int rc;
		int family;
		unsigned len;
		uint8_t first, last; /* addr[0] and addr[len/8 - 1] */
	} cases[] = {
	        {"v4 /24", "192.0.2.0/24", 0, AF_INET, 24, 192, 2},
	        {"v4 host", "192.0.2.7", 0, AF_INET, 32, 192, 7},
	        {"v4 /0", "0.0.0.0/0", 0, AF_INET, 0, 0, 0},
	        {"v6 /32", "2001:db8::/32", 0, AF_INET6, 32, 0x20, 0xb8},
	        {"v6 host", "::1", 0, AF_INET6, 128, 0, 1},
	        {"host bits set", "192.0.2.1/24", -EINVAL, 0, 0, 0, 0},
	        {"v4 len too long", "192.0.2.0/33", -EINVAL, 0, 0, 0, 0},
	        {"v6 len too long", "::/129", -EINVAL, 0, 0, 0, 0},
	        {"empty len", "192.0.2.0/", -EINVAL, 0, 0, 0, 0},
	        {"junk len", "192.0.2.0/2x", -EINVAL, 0, 0, 0, 0},
	        {"no address", "/24", -EINVAL, 0, 0, 0, 0},
	        {"name", "example.com/24", -EINVAL, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfg_prefix_t p;
		int rc = cfg_parse_prefix(cases[i].text, &p);
		if (rc != cases[i].rc) {
			fail_msg("case '%s': rc %d want %d", cases[i].name, rc, cases[i].rc);
		}
		if (rc != 0) {
			continue;
		}
		assert_int_equal(p.family, cases[i].family);
		assert_int_equal(p.len, cases[i].len);
		assert_int_equal(p.addr[0], cases[i].first);
		if (cases[i].len >= 8) {
			assert_int_equal(p.addr[cases[i].len / 8 - 1], cases[i].last);
		}
	}
}

static void test_diag_format(void **state)
{
	(void)state;
	cfg_diag_t d = {0};
	cfg_diag_add(&d, "a.yaml", 3, 7, "error", "unknown key '%s' in dns", "x");
	cfg_diag_add(&d, "z.zone", 12, 0, "warning", "TTLs differ");
	cfg_diag_add(&d, "z.zone", 0, 0, "error", "no SOA");
	assert_string_equal(d.text, "a.yaml:3:7: error: unknown key 'x' in dns\n"
	                            "z.zone:12: warning: TTLs differ\n"
	                            "z.zone: error: no SOA\n");
	assert_int_equal(d.errors, 2);
	assert_int_equal(d.warnings, 1);
	cfg_diag_fini(&d);
	assert_null(d.text);
}

static void test_country_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *cc;
		bool known;
		const char *continent;
		double lat, lon; /* from countries.csv */
	} cases[] = {
	        {"germany", "DE", true, "EU", 50.31, 9.47},
	        {"united states", "US", true, "NA", 39.59, -89.72},
	        {"first row", "AD", true, "EU", 42.51, 1.54},
	        {"kosovo", "XK", true, "EU", 42.63, 21.06},
	        {"russia is EU", "RU", true, "EU", 57.25, 48.39},
	        {"lower case", "de", false, NULL, 0, 0},
	        {"unassigned", "ZZ", false, NULL, 0, 0},
	        {"three letters", "DEU", false, NULL, 0, 0},
	        {"empty", "", false, NULL, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cont[3] = "";
		double lat = 0, lon = 0;
		if (cfg_country_known(cases[i].cc) != cases[i].known) {
			fail_msg("case '%s': known mismatch", cases[i].name);
		}
		int rc = cfg_country_find(cases[i].cc, cont, &lat, &lon);
		assert_int_equal(rc, cases[i].known ? 0 : -ENOENT);
		if (rc == 0) {
			assert_string_equal(cont, cases[i].continent);
			if (cases[i].lat != 0) {
				assert_float_equal(lat, cases[i].lat, 0.001);
				assert_float_equal(lon, cases[i].lon, 0.001);
			}
		}
	}
	assert_true(cfg_continent_known("SA"));
	assert_true(cfg_continent_known("AN"));
	assert_false(cfg_continent_known("XX"));
	assert_false(cfg_continent_known("eu"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_duration_table), cmocka_unit_test(test_sockaddr_table),
	        cmocka_unit_test(test_prefix_table),   cmocka_unit_test(test_diag_format),
	        cmocka_unit_test(test_country_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
