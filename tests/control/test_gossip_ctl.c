/*
 * The gossip commands (control/codec_gossip.c, control/render_gossip.c):
 * `members`, `keyring` and the cluster block of `status`. Requests keep
 * their operands, replies survive a protobuf round trip field for field,
 * and render to the text and JSON operators and scripts rely on
 * (tests/integration/test_cluster.sh reads the JSON keys).
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/control.h"
#include "tests/control/util.h"

static const ctl_member_t members[] = {
        {.name = "node-1",
         .region = "eu-west",
         .address = "127.0.0.1:7946",
         .state = "alive",
         .incarnation = 3,
         .last_heard_ms = -1,
         .config_hash = "00112233aabbccdd",
         .self = true,
         .version = "0.2.0"},
        {.name = "node-2",
         .region = "us-east",
         .address = "127.0.0.2:7946",
         .state = "suspect",
         .incarnation = 4294967301ull, /* > 32 bits */
         .last_heard_ms = 1250,
         .config_hash = "ffeeddcc00112233",
         .drift = true,
         .version = "0.1.0"},
        {.name = "node-3",
         .region = "ap-south",
         .address = "[::1]:7947",
         .state = "dead",
         .incarnation = 0,
         .last_heard_ms = 75000,
         .config_hash = "00112233aabbccdd",
         .version = ""},
};

static const ctl_key_t keys[] = {
        {.id = "0a1b2c3d", .primary = true, .installed = 3, .primaries = 3},
        {.id = "deadbeef", .primary = false, .installed = 2, .primaries = 0},
};

static const ctl_keyring_member_t kmembers[] = {
        {.name = "node-1", .self = true, .answered = true, .ok = true, .error = ""},
        {.name = "node-2", .answered = true, .ok = false, .error = "the keyring is full"},
        {.name = "node-3", .answered = false, .ok = false, .error = ""},
};

static const ctl_gossip_status_t gossip_on = {
        .enabled = true,
        .bind = "127.0.0.1:7946",
        .joined = true,
        .members = 3,
        .live = 2,
        .suspect = 1,
        .dead = 0,
        .health_score = 2,
        .config_hash = "00112233aabbccdd",
        .drift = 1,
        .keys = 2,
        .tx_bytes = 5000000000ull,
        .rx_bytes = 123456,
        .rx_dropped = 7,
        .records_out = 11,
        .records_in = 22,
        .records_merged = 20,
        .pushpull_ok = 5,
        .pushpull_fail = 1,
        .broadcasts_dropped = 9,
        .probes = 400,
        .probe_failures = 3,
};

/* ---------------------------------------------------------------- requests */

static void test_request(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		ctl_cmd_t cmd;
		const char *word;
		const char *op, *key;
		const char *want_op, *want_key;
		bool force;
	} cases[] = {
	        {"members", CTL_CMD_MEMBERS, "members", NULL, NULL, "", "", false},
	        {"keyring list", CTL_CMD_KEYRING, "keyring", "list", NULL, "list", "", false},
	        {"keyring install keeps the key", CTL_CMD_KEYRING, "keyring", "install",
	         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "install",
	         "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", false},
	        {"keyring use", CTL_CMD_KEYRING, "keyring", "use", "0a1b2c3d", "use", "0a1b2c3d",
	         false},
	        {"keyring remove", CTL_CMD_KEYRING, "keyring", "remove", "deadbeef", "remove",
	         "deadbeef", false},
	        {"keyring remove --force keeps the flag", CTL_CMD_KEYRING, "keyring", "remove",
	         "deadbeef", "remove", "deadbeef", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		ctl_request_t req = {.cmd = cases[i].cmd,
		                     .keyring_op = cases[i].op,
		                     .key = cases[i].key,
		                     .force = cases[i].force};
		uint8_t *f = NULL;
		size_t len = 0, body = 0;
		assert_int_equal(ctl_request_frame(&req, &f, &len), 0);
		assert_int_equal(ctl_frame_check(f, len, CTL_FRAME_MAX, &body), 1);
		aya_arena_t *a = aya_arena_new();
		assert_non_null(a);
		ctl_request_t out;
		assert_int_equal(ctl_request_decode(f + CTL_FRAME_HDR, body, a, &out), 0);
		assert_int_equal(out.cmd, cases[i].cmd);
		if (cases[i].cmd == CTL_CMD_KEYRING) {
			assert_string_equal(out.keyring_op, cases[i].want_op);
			assert_string_equal(out.key != NULL ? out.key : "", cases[i].want_key);
			assert_int_equal(out.force, cases[i].force);
		}
		aya_arena_free(a);
		free(f);
		ctl_cmd_t c;
		assert_int_equal(ctl_cmd_parse(cases[i].word, &c), 0);
		assert_int_equal(c, cases[i].cmd);
		assert_string_equal(ctl_cmd_name(cases[i].cmd), cases[i].word);
	}
}

/* ----------------------------------------------------------------- members */

static ctl_reply_t members_reply(void)
{
	ctl_reply_t r = {.cmd = CTL_CMD_MEMBERS, .ok = true};
	r.members = (ctl_members_t){
	        .members = members, .n_members = 3, .config_hash = "00112233aabbccdd"};
	return r;
}

static void test_members_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = members_reply();
	ctl_reply_t *r = roundtrip(&in);
	assert_int_equal(r->cmd, CTL_CMD_MEMBERS);
	assert_true(r->ok);
	assert_string_equal(r->members.config_hash, "00112233aabbccdd");
	assert_int_equal(r->members.n_members, 3);
	for (size_t i = 0; i < 3; i++) {
		const ctl_member_t *x = &r->members.members[i], *w = &members[i];
		print_message("member %zu\n", i);
		assert_string_equal(x->name, w->name);
		assert_string_equal(x->region, w->region);
		assert_string_equal(x->address, w->address);
		assert_string_equal(x->state, w->state);
		assert_true(x->incarnation == w->incarnation);
		assert_true(x->last_heard_ms == w->last_heard_ms);
		assert_string_equal(x->config_hash, w->config_hash);
		assert_int_equal(x->drift, w->drift);
		assert_int_equal(x->self, w->self);
		assert_string_equal(x->version, w->version);
	}
	ctl_reply_free(r);
}

static void test_members_text(void **state)
{
	(void)state;
	ctl_reply_t in = members_reply();
	char *t = text_of(&in);
	static const struct {
		const char *name;
		const char *row;
		const char *cells[5];
	} cases[] = {
	        {"header", "NAME", {"REGION", "ADDRESS", "STATE", "LAST HEARD    VERSION  CONFIG"}},
	        {"self is starred, never heard, no drift",
	         "node-1*",
	         {"eu-west", "127.0.0.1:7946", "alive", " 3 ", " -             0.2.0    0011"}},
	        {"suspect with drift and a 64-bit incarnation",
	         "node-2 ",
	         {"suspect", "4294967301", "1.2s ago", "0.1.0    ffeeddcc00112233  DRIFT", NULL}},
	        {"dead, heard long ago, IPv6 address, version unknown",
	         "node-3 ",
	         {"dead", "[::1]:7947", "75s ago", "  -        00112233aabbccdd", NULL}},
	        {"footer names this node's hash",
	         "(* this node",
	         {"config 00112233aabbccdd", NULL}},
	};
	char line[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		line_with(t, cases[i].row, line, sizeof(line));
		for (size_t k = 0; k < 5 && cases[i].cells[k] != NULL; k++) {
			if (strstr(line, cases[i].cells[k]) == NULL) {
				fail_msg("'%s' not in line '%s'", cases[i].cells[k], line);
			}
		}
	}
	/* Only node-2 drifts. */
	static const char *const no_drift[] = {"node-1*", "node-3 "};
	for (size_t i = 0; i < 2; i++) {
		line_with(t, no_drift[i], line, sizeof(line));
		assert_null(strstr(line, "DRIFT"));
	}
	free(t);
}

static void test_members_json(void **state)
{
	(void)state;
	ctl_reply_t in = members_reply();
	json_t *o = json_of(&in);
	assert_string_equal(json_string_value(json_object_get(o, "config_hash")),
	                    "00112233aabbccdd");
	json_t *arr = json_object_get(o, "members");
	assert_int_equal(json_array_size(arr), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *m = json_array_get(arr, i);
		const ctl_member_t *w = &members[i];
		print_message("member %zu\n", i);
		assert_string_equal(json_string_value(json_object_get(m, "name")), w->name);
		assert_string_equal(json_string_value(json_object_get(m, "region")), w->region);
		assert_string_equal(json_string_value(json_object_get(m, "address")), w->address);
		assert_string_equal(json_string_value(json_object_get(m, "state")), w->state);
		assert_true(json_integer_value(json_object_get(m, "incarnation")) ==
		            (json_int_t)w->incarnation);
		if (w->last_heard_ms < 0) {
			assert_true(json_is_null(json_object_get(m, "last_heard_ms")));
		} else {
			assert_true(json_integer_value(json_object_get(m, "last_heard_ms")) ==
			            (json_int_t)w->last_heard_ms);
		}
		assert_string_equal(json_string_value(json_object_get(m, "config_hash")),
		                    w->config_hash);
		assert_int_equal(json_is_true(json_object_get(m, "drift")), w->drift);
		assert_int_equal(json_is_true(json_object_get(m, "self")), w->self);
		assert_string_equal(json_string_value(json_object_get(m, "version")), w->version);
	}
	json_decref(o);
}

/* ----------------------------------------------------------------- keyring */

static void test_keyring(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *op;
		size_t n_keys, n_members;
		uint32_t ok;
		const char *changed;
		const char *want_text;
	} cases[] = {
	        {"list counts over the members", "list", 2, 1, 1, "",
	         "KEY        INSTALLED  PRIMARY\n0a1b2c3d*  3/1        3/1\ndeadbeef   2/1        "
	         "0/1\n"
	         "(* this node's primary; counts over 1 live member(s), this node included)\n"},
	        {"install names who failed and who did not answer", "install", 1, 3, 1, "0a1b2c3d",
	         "keyring install 0a1b2c3d: installed on 1/3 members\n"
	         "  node-2: the keyring is full\n  node-3: no answer\nKEY        INSTALLED  "
	         "PRIMARY\n"
	         "0a1b2c3d*  3/3        3/3\n"
	         "(* this node's primary; counts over 3 live member(s), this node included)\n"},
	        {"use on the one member", "use", 1, 1, 1, "0a1b2c3d",
	         "keyring use 0a1b2c3d: the primary key on 1/1 members\nKEY        INSTALLED  "
	         "PRIMARY\n0a1b2c3d*  3/1        3/1\n"
	         "(* this node's primary; counts over 1 live member(s), this node included)\n"},
	        {"no keys is insecure mode", "list", 0, 0, 0, "", "no keys (insecure mode)\n"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		ctl_reply_t in = {.cmd = CTL_CMD_KEYRING, .ok = true};
		in.keyring = (ctl_keyring_t){.op = cases[i].op,
		                             .keys = keys,
		                             .n_keys = cases[i].n_keys,
		                             .changed = cases[i].changed,
		                             .members = kmembers,
		                             .n_members = cases[i].n_members,
		                             .members_ok = cases[i].ok,
		                             .complete = cases[i].ok == cases[i].n_members};
		ctl_reply_t *r = roundtrip(&in);
		assert_int_equal(r->cmd, CTL_CMD_KEYRING);
		assert_string_equal(r->keyring.op, cases[i].op);
		assert_string_equal(r->keyring.changed, cases[i].changed);
		assert_int_equal(r->keyring.n_keys, cases[i].n_keys);
		assert_int_equal(r->keyring.n_members, cases[i].n_members);
		assert_int_equal(r->keyring.members_ok, cases[i].ok);
		assert_int_equal(r->keyring.complete, cases[i].ok == cases[i].n_members);
		for (size_t k = 0; k < cases[i].n_keys; k++) {
			assert_string_equal(r->keyring.keys[k].id, keys[k].id);
			assert_int_equal(r->keyring.keys[k].primary, keys[k].primary);
			assert_int_equal(r->keyring.keys[k].installed, keys[k].installed);
			assert_int_equal(r->keyring.keys[k].primaries, keys[k].primaries);
		}
		for (size_t k = 0; k < cases[i].n_members; k++) {
			assert_string_equal(r->keyring.members[k].name, kmembers[k].name);
			assert_int_equal(r->keyring.members[k].answered, kmembers[k].answered);
			assert_int_equal(r->keyring.members[k].ok, kmembers[k].ok);
			assert_string_equal(r->keyring.members[k].error, kmembers[k].error);
		}
		/* Render what was decoded: what ayactl prints. */
		char *t = text_of(r);
		assert_string_equal(t, cases[i].want_text);
		free(t);
		json_t *o = json_of(r);
		assert_string_equal(json_string_value(json_object_get(o, "op")), cases[i].op);
		/* No key changed (list): null, as every unknown or absent value. */
		if (cases[i].changed[0] == '\0') {
			assert_true(json_is_null(json_object_get(o, "changed")));
		} else {
			assert_string_equal(json_string_value(json_object_get(o, "changed")),
			                    cases[i].changed);
		}
		assert_int_equal(json_integer_value(json_object_get(o, "members_total")),
		                 cases[i].n_members);
		assert_int_equal(json_is_true(json_object_get(o, "complete")),
		                 cases[i].ok == cases[i].n_members);
		json_t *arr = json_object_get(o, "keys");
		assert_int_equal(json_array_size(arr), cases[i].n_keys);
		for (size_t k = 0; k < cases[i].n_keys; k++) {
			json_t *j = json_array_get(arr, k);
			assert_string_equal(json_string_value(json_object_get(j, "id")),
			                    keys[k].id);
			assert_int_equal(json_is_true(json_object_get(j, "primary")),
			                 keys[k].primary);
			assert_int_equal(json_integer_value(json_object_get(j, "installed")),
			                 keys[k].installed);
		}
		arr = json_object_get(o, "members");
		assert_int_equal(json_array_size(arr), cases[i].n_members);
		json_decref(o);
		ctl_reply_free(r);
	}
}

/* ------------------------------------------------------ status: cluster block */

static const ctl_zone_t zones[] = {{.name = "svc.example.com", .serial = 7, .records = 4}};
static const char *const listen_addrs[] = {"127.0.0.1:5300"};

static ctl_reply_t status_reply(const ctl_gossip_status_t *g)
{
	ctl_reply_t r = {.cmd = CTL_CMD_STATUS, .ok = true};
	r.status = (ctl_status_t){.node = "node-1",
	                          .region = "eu-west",
	                          .version = "test",
	                          .uptime_s = 61,
	                          .zones = zones,
	                          .n_zones = 1,
	                          .workers = 1,
	                          .listen = listen_addrs,
	                          .n_listen = 1,
	                          .last_reload_message = "",
	                          .geo_database = "",
	                          .gossip = *g};
	return r;
}

static void test_status_roundtrip(void **state)
{
	(void)state;
	ctl_reply_t in = status_reply(&gossip_on);
	ctl_reply_t *r = roundtrip(&in);
	const ctl_gossip_status_t *g = &r->status.gossip, *w = &gossip_on;
	assert_true(g->enabled);
	assert_string_equal(g->bind, w->bind);
	assert_int_equal(g->insecure, w->insecure);
	assert_int_equal(g->joined, w->joined);
	assert_int_equal(g->members, w->members);
	assert_int_equal(g->live, w->live);
	assert_int_equal(g->suspect, w->suspect);
	assert_int_equal(g->dead, w->dead);
	assert_int_equal(g->health_score, w->health_score);
	assert_string_equal(g->config_hash, w->config_hash);
	assert_int_equal(g->drift, w->drift);
	assert_int_equal(g->keys, w->keys);
	assert_true(g->tx_bytes == w->tx_bytes);
	assert_true(g->rx_bytes == w->rx_bytes);
	assert_true(g->rx_dropped == w->rx_dropped);
	assert_true(g->records_out == w->records_out);
	assert_true(g->records_in == w->records_in);
	assert_true(g->records_merged == w->records_merged);
	assert_true(g->pushpull_ok == w->pushpull_ok);
	assert_true(g->pushpull_fail == w->pushpull_fail);
	assert_true(g->broadcasts_dropped == w->broadcasts_dropped);
	assert_true(g->probes == w->probes);
	assert_true(g->probe_failures == w->probe_failures);
	ctl_reply_free(r);
}

static void test_status_text(void **state)
{
	(void)state;
	ctl_gossip_status_t insecure = gossip_on;
	insecure.insecure = true;
	insecure.joined = false;
	insecure.keys = 0;
	static const ctl_gossip_status_t off = {.enabled = false};
	const struct {
		const char *name;
		const ctl_gossip_status_t *g;
		const char *want[4];
		const char *not_want;
	} cases[] = {
	        {"joined, sealed",
	         &gossip_on,
	         {"cluster      joined on 127.0.0.1:7946, AES-256-GCM, 2 key(s)\n",
	          "3 member(s), 2 live, 1 suspect, 0 dead or left\n",
	          "health score 2, config 00112233aabbccdd, 1 drifting\n",
	          "records out 11, in 22, merged 20; push/pull 5 ok 1 failed\n"},
	         "INSECURE"},
	        {"bytes and drops",
	         &gossip_on,
	         {"tx 5000000000 B, rx 123456 B, dropped 7 packets, 9 broadcasts lost to "
	          "overflow\n",
	          NULL},
	         "off (single node)"},
	        {"joining, plaintext",
	         &insecure,
	         {"cluster      joining on 127.0.0.1:7946, INSECURE (plaintext), 0 key(s)\n", NULL},
	         "AES-256-GCM"},
	        {"no gossip section",
	         &off,
	         {"cluster      off (single node)\n", NULL},
	         "member(s)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].name);
		ctl_reply_t in = status_reply(cases[i].g);
		char *t = text_of(&in);
		for (size_t k = 0; k < 4 && cases[i].want[k] != NULL; k++) {
			if (strstr(t, cases[i].want[k]) == NULL) {
				fail_msg("'%s' not in:\n%s", cases[i].want[k], t);
			}
		}
		assert_null(strstr(t, cases[i].not_want));
		/* The block sits between the reload line and the query count. */
		const char *c = strstr(t, "\ncluster "), *q = strstr(t, "\nqueries ");
		assert_non_null(c);
		assert_non_null(q);
		assert_true(c < q);
		free(t);
	}
}

static void test_status_json(void **state)
{
	(void)state;
	ctl_reply_t in = status_reply(&gossip_on);
	json_t *o = json_of(&in);
	json_t *c = json_object_get(o, "cluster");
	assert_non_null(c);
	static const struct {
		const char *key;
		json_int_t want;
	} ints[] = {
	        {"members", 3},
	        {"live", 2},
	        {"suspect", 1},
	        {"dead", 0},
	        {"health_score", 2},
	        {"drift", 1},
	        {"keys", 2},
	        {"tx_bytes", 5000000000ll},
	        {"rx_bytes", 123456},
	        {"rx_dropped", 7},
	        {"records_out", 11},
	        {"records_in", 22},
	        {"records_merged", 20},
	        {"pushpull_ok", 5},
	        {"pushpull_fail", 1},
	        {"broadcasts_dropped", 9},
	        {"probes", 400},
	        {"probe_failures", 3},
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *v = json_object_get(c, ints[i].key);
		if (!json_is_integer(v) || json_integer_value(v) != ints[i].want) {
			fail_msg("cluster.%s: want %lld", ints[i].key, (long long)ints[i].want);
		}
	}
	assert_true(json_is_true(json_object_get(c, "enabled")));
	assert_true(json_is_true(json_object_get(c, "joined")));
	assert_true(json_is_false(json_object_get(c, "insecure")));
	assert_string_equal(json_string_value(json_object_get(c, "bind")), "127.0.0.1:7946");
	assert_string_equal(json_string_value(json_object_get(c, "config_hash")),
	                    "00112233aabbccdd");
	json_decref(o);

	/* Gossip off: the block is there, says so, and has no bind. */
	static const ctl_gossip_status_t off = {.enabled = false};
	in = status_reply(&off);
	ctl_reply_t *r = roundtrip(&in);
	assert_false(r->status.gossip.enabled);
	o = json_of(r);
	c = json_object_get(o, "cluster");
	assert_true(json_is_false(json_object_get(c, "enabled")));
	assert_int_equal(json_integer_value(json_object_get(c, "members")), 0);
	json_decref(o);
	ctl_reply_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request),      cmocka_unit_test(test_members_roundtrip),
	        cmocka_unit_test(test_members_text), cmocka_unit_test(test_members_json),
	        cmocka_unit_test(test_keyring),      cmocka_unit_test(test_status_roundtrip),
	        cmocka_unit_test(test_status_text),  cmocka_unit_test(test_status_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
