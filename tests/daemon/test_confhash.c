/*
 * The gossiped config hash ignores what is each node's own (node, dns,
 * control, state_dir, log, gossip sections) and comments, and changes with
 * everything shared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/confhash.h"

static const char base[] = "node:\n  name: a\n  region: eu-west\n"
                           "dns:\n  listen: [\"127.0.0.1:53\"]\n"
                           "gossip:\n  bind: 127.0.0.1:7946\n  insecure: true\n"
                           "regions:\n  - { name: eu-west, location: [53.35, -6.26] }\n"
                           "zones:\n  - name: svc.example.com\n    file: z.zone\n";

static uint64_t hash(const char *s)
{
	return ayad_confhash_text(UINT64_C(0xcbf29ce484222325), s, strlen(s));
}

static void test_table(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *text;
		int same; /* 1: same hash as base, 0: different */
	} cases[] = {
	        {"other node name and bind",
	         "node:\n  name: b\n  region: us-east\n"
	         "dns:\n  listen: [\"127.0.0.2:53\"]\n"
	         "gossip:\n  bind: 127.0.0.2:7946\n  insecure: true\n"
	         "regions:\n  - { name: eu-west, location: [53.35, -6.26] }\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n",
	         1},
	        {"comments and blank lines",
	         "# per-node file\nnode:\n  name: a\n  region: eu-west\n\n"
	         "dns:\n  listen: [\"127.0.0.1:53\"]\n"
	         "gossip:\n  bind: 127.0.0.1:7946\n  insecure: true\n"
	         "regions:\n  # the only region\n  - { name: eu-west, location: [53.35, -6.26] }\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n",
	         1},
	        {"node section moved, no dns or gossip",
	         "regions:\n  - { name: eu-west, location: [53.35, -6.26] }\n"
	         "node:\n  name: a\n  region: eu-west\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n",
	         1},
	        {"shared sections swapped",
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n"
	         "regions:\n  - { name: eu-west, location: [53.35, -6.26] }\n",
	         0},
	        {"region moved",
	         "node:\n  name: a\n  region: eu-west\n"
	         "regions:\n  - { name: eu-west, location: [53.35, -6.27] }\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n",
	         0},
	        {"zone added",
	         "node:\n  name: a\n  region: eu-west\n"
	         "regions:\n  - { name: eu-west, location: [53.35, -6.26] }\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n"
	         "  - name: other.example.com\n    file: o.zone\n",
	         0},
	        {"a key named like a node key inside a shared section",
	         "regions:\n  - { name: eu-west, location: [53.35, -6.26] }\n"
	         "zones:\n  - name: svc.example.com\n    file: z.zone\n"
	         "    log: 1\n",
	         0},
	};
	uint64_t b = hash(base);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t h = hash(cases[i].text);
		if ((h == b) != (cases[i].same == 1)) {
			fail_msg("case '%s': hash %s base", cases[i].name,
			         h == b ? "equals" : "differs from");
		}
	}
}

static void test_node_sections_only(void **state)
{
	(void)state;
	/* A file of nothing but per-node sections hashes like an empty one. */
	const char *only = "node:\n  name: x\nlog:\n  level: debug\nstate_dir: /tmp/x\n";
	assert_true(hash(only) == hash(""));
	/* No trailing newline: the last line still counts. */
	assert_true(hash("regions: []") == hash("regions: []\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_node_sections_only),
	};
	return cmocka_run_group_tests_name("daemon/confhash", tests, NULL, NULL);
}
