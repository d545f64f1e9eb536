/*
 * Fuzz target: control frames, one body (after the 4-byte length) decoded
 * both ways: as a request (what ayad's control server reads from a client)
 * and as a reply (what ayactl reads from the daemon, then renders as text
 * and JSON). A decoded value is encoded again and must decode again to the
 * same command.
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "control/control.h"

static FILE *devnull;

static void request(const uint8_t *buf, size_t len)
{
	aya_arena_t *a = aya_arena_new(), *b = aya_arena_new();
	ctl_request_t req, again;
	uint8_t *frame = NULL;
	size_t flen = 0;
	if (a == NULL || b == NULL) {
		abort();
	}
	if (ctl_request_decode(buf, len, a, &req) == 0) {
		if (ctl_request_frame(&req, &frame, &flen) != 0 || flen < CTL_FRAME_HDR ||
		    ctl_request_decode(frame + CTL_FRAME_HDR, flen - CTL_FRAME_HDR, b, &again) !=
		            0 ||
		    again.cmd != req.cmd) {
			abort();
		}
		free(frame);
	}
	aya_arena_free(a);
	aya_arena_free(b);
}

static void reply(const uint8_t *buf, size_t len)
{
	ctl_reply_t *r = NULL, *again = NULL;
	if (ctl_reply_decode(buf, len, &r) != 0) {
		return;
	}
	ctl_reply_write_text(devnull, r);
	free(ctl_reply_to_json(r));
	uint8_t *frame = NULL;
	size_t flen = 0;
	if (ctl_reply_frame(r, &frame, &flen) == 0) {
		if (flen < CTL_FRAME_HDR ||
		    ctl_reply_decode(frame + CTL_FRAME_HDR, flen - CTL_FRAME_HDR, &again) != 0 ||
		    again->cmd != r->cmd || again->ok != r->ok) {
			abort();
		}
		ctl_reply_free(again);
		free(frame);
	}
	ctl_reply_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL) {
		abort();
	}
	uint8_t *buf = malloc(size > 0 ? size : 1);
	if (buf == NULL) {
		abort();
	}
	memcpy(buf, data, size);
	size_t body = 0;
	if (ctl_frame_check(buf, size, CTL_FRAME_MAX, &body) == 1 && body > size - CTL_FRAME_HDR) {
		abort();
	}
	request(buf, size);
	reply(buf, size);
	free(buf);
	return 0;
}

/* ---- seeds: every request, and a reply of every kind, as ayactl and ayad frame them ---- */

static bool seed_frame(const char *dir, const char *name, uint8_t *frame, size_t len, int rc)
{
	bool ok = rc == 0 && len >= CTL_FRAME_HDR &&
	          fuzz_seed(dir, name, frame + CTL_FRAME_HDR, len - CTL_FRAME_HDR);
	free(frame);
	return ok;
}

static bool seed_req(const char *dir, const char *name, const ctl_request_t *req)
{
	uint8_t *f = NULL;
	size_t n = 0;
	int rc = ctl_request_frame(req, &f, &n);
	return seed_frame(dir, name, f, n, rc);
}

static bool seed_reply(const char *dir, const char *name, const ctl_reply_t *r)
{
	uint8_t *f = NULL;
	size_t n = 0;
	int rc = ctl_reply_frame(r, &f, &n);
	return seed_frame(dir, name, f, n, rc);
}

static bool seeds_requests(const char *dir)
{
	static const ctl_request_t reqs[] = {
	        {.cmd = CTL_CMD_STATUS},
	        {.cmd = CTL_CMD_RELOAD},
	        {.cmd = CTL_CMD_SERVICES},
	        {.cmd = CTL_CMD_DRAIN, .service = "www", .target = "eu-west"},
	        {.cmd = CTL_CMD_UNDRAIN, .service = "www", .target = "192.0.2.10"},
	        {.cmd = CTL_CMD_EXPLAIN,
	         .name = "www.svc.example.com",
	         .client = "81.2.69.160",
	         .has_subnet = true,
	         .subnet = 24,
	         .qtype = 28},
	        {.cmd = CTL_CMD_BACKENDS, .service = "www"},
	        {.cmd = CTL_CMD_MEMBERS},
	        {.cmd = CTL_CMD_KEYRING,
	         .keyring_op = "install",
	         .key = "T9jJKYGbN3Hr2mU5Fh6t0o2y3nFfV2Y4mB1s5yC9aWQ="},
	        {.cmd = CTL_CMD_COST, .region = "eu-west", .cost = 2.5},
	        {.cmd = CTL_CMD_COST, .region = "eu-west", .cost_reset = true},
	};
	bool ok = true;
	for (size_t i = 0; i < sizeof(reqs) / sizeof(*reqs); i++) {
		char name[32];
		snprintf(name, sizeof(name), "req-%s-%zu", ctl_cmd_name(reqs[i].cmd), i);
		ok = ok && seed_req(dir, name, &reqs[i]);
	}
	return ok;
}

static bool seeds_replies(const char *dir)
{
	static const ctl_zone_t zones[] = {{"svc.example.com", 2026112501, 40}};
	static const ctl_counter_t counters[] = {{"noerror", 10}, {"nxdomain", 2}};
	static const char *const listen[] = {"127.0.0.1:5300", "[::1]:5300"};
	ctl_reply_t st = {.cmd = CTL_CMD_STATUS, .version = 1, .ok = true};
	st.status = (ctl_status_t){.node = "ams-1",
	                           .region = "eu-west",
	                           .version = "0.1",
	                           .uptime_s = 3600,
	                           .zones = zones,
	                           .n_zones = 1,
	                           .queries = 12,
	                           .counters = counters,
	                           .n_counters = 2,
	                           .workers = 2,
	                           .listen = listen,
	                           .n_listen = 2,
	                           .last_reload_time = 1700000000,
	                           .last_reload_ok = true,
	                           .last_reload_message = "ok",
	                           .services = 1,
	                           .geo_database = "",
	                           .gossip = {.enabled = true,
	                                      .bind = "127.0.0.1:7946",
	                                      .joined = true,
	                                      .members = 3,
	                                      .live = 3,
	                                      .keys = 1,
	                                      .config_hash = "0123456789abcdef"}};
	ctl_reply_t reload = {.cmd = CTL_CMD_RELOAD, .version = 1, .ok = true};
	reload.reload = (ctl_reload_t){
	        .diagnostics = "aya.yaml:3:1: warning: x", .zones = zones, .n_zones = 1};
	ctl_reply_t err = {.cmd = CTL_CMD_DRAIN, .version = 1, .error = "no service \"x\""};
	static const ctl_endpoint_t eps[] = {{"192.0.2.10", 2, 100, true, false},
	                                     {"2001:db8::10", 1, 0, false, true}};
	static const ctl_pool_t pools[] = {{.region = "eu-west",
	                                    .cost = 1,
	                                    .config_cost = 1,
	                                    .endpoints = eps,
	                                    .n_endpoints = 2}};
	static const char *const policy[] = {"healthy", "geo", "first_n 1"};
	static const ctl_service_t svcs[] = {{.name = "www.svc.example.com",
	                                      .ttl_s = 30,
	                                      .policy = policy,
	                                      .n_policy = 3,
	                                      .pools = pools,
	                                      .n_pools = 1,
	                                      .when_all_down = "answer_all"}};
	static const ctl_drain_rec_t drains[] = {
	        {"www", "region", "eu-west", 1700000000, "ams-1", "maintenance", 1700003600}};
	ctl_reply_t services = {.cmd = CTL_CMD_SERVICES, .version = 1, .ok = true};
	services.services = (ctl_services_t){svcs, 1, drains, 1, 1700000100};
	ctl_reply_t drain = {.cmd = CTL_CMD_DRAIN, .version = 1, .ok = true};
	drain.drain = (ctl_drain_t){"www", "eu-west", true, true, 0, "", 0, NULL};
	static const char *const order[] = {"eu-west", "us-east"}, *const answer[] = {"192.0.2.10"};
	static const ctl_explain_event_t events[] = {
	        {1, "healthy", "192.0.2.11", "eu-west", "down", 0, false}};
	ctl_reply_t explain = {.cmd = CTL_CMD_EXPLAIN, .version = 1, .ok = true};
	explain.explain = (ctl_explain_t){.service = "www.svc.example.com",
	                                  .qtype = "A",
	                                  .client = "81.2.69.160",
	                                  .source_prefix = 24,
	                                  .ecs = true,
	                                  .found = true,
	                                  .country = "GB",
	                                  .continent = "EU",
	                                  .has_location = true,
	                                  .lat = 51.5,
	                                  .lon = -0.1,
	                                  .db_prefix = 20,
	                                  .rule = "nearest",
	                                  .pool_order = order,
	                                  .n_pool_order = 2,
	                                  .filters = policy,
	                                  .n_filters = 3,
	                                  .events = events,
	                                  .n_events = 1,
	                                  .result = "answer",
	                                  .answer = answer,
	                                  .n_answer = 1,
	                                  .ttl_s = 30,
	                                  .scope = 20,
	                                  .text = "geo: GB",
	                                  .attribution = ""};
	static const ctl_observer_t obs[] = {{"ams-1", "up", 1700000000000, true, 900, ""}};
	static const ctl_backend_t backends[] = {{.service = "www",
	                                          .region = "eu-west",
	                                          .address = "192.0.2.10",
	                                          .port = 80,
	                                          .monitor = "http",
	                                          .key = "192.0.2.10:80/http",
	                                          .state = "up",
	                                          .error = "",
	                                          .utilization = 0.5,
	                                          .capacity = 100,
	                                          .observers = obs,
	                                          .n_observers = 1,
	                                          .healthy = true,
	                                          .slow_start = 1,
	                                          .headroom = 0.5}};
	ctl_reply_t be = {.cmd = CTL_CMD_BACKENDS, .version = 1, .ok = true};
	be.backends = (ctl_backends_t){backends, 1, 1700000001000};
	static const ctl_member_t members[] = {{"ams-1", "eu-west", "127.0.0.1:7946", "alive", 5,
	                                        -1, "0123456789abcdef", false, true, "0.1.0"},
	                                       {"nyc-1", "us-east", "[::1]:7946", "suspect", 7,
	                                        1200, "fedcba9876543210", true, false, ""}};
	ctl_reply_t mem = {.cmd = CTL_CMD_MEMBERS, .version = 1, .ok = true};
	mem.members = (ctl_members_t){members, 2, "0123456789abcdef"};
	static const ctl_key_t keys[] = {{"a1b2c3d4", true, 2, 2}, {"00ff00ff", false, 1, 0}};
	static const ctl_keyring_member_t kmem[] = {{"ams-1", true, true, true, ""},
	                                            {"nyc-1", false, false, false, ""}};
	ctl_reply_t kr = {.cmd = CTL_CMD_KEYRING, .version = 1, .ok = true};
	kr.keyring = (ctl_keyring_t){"list", keys, 2, "", kmem, 2, 1, false};
	static const ctl_region_cost_t costs[] = {{"eu-west", 1, 2.5, true, "ams-1", 1700000000},
	                                          {"us-east", 1, 1, false, "", 0}};
	ctl_reply_t cost = {.cmd = CTL_CMD_COST, .version = 1, .ok = true};
	cost.cost = (ctl_cost_t){costs, 2, "eu-west", false, true, 1700000100};
	return seed_reply(dir, "reply-status", &st) && seed_reply(dir, "reply-reload", &reload) &&
	       seed_reply(dir, "reply-error", &err) &&
	       seed_reply(dir, "reply-services", &services) &&
	       seed_reply(dir, "reply-drain", &drain) &&
	       seed_reply(dir, "reply-explain", &explain) &&
	       seed_reply(dir, "reply-backends", &be) && seed_reply(dir, "reply-members", &mem) &&
	       seed_reply(dir, "reply-keyring", &kr) && seed_reply(dir, "reply-cost", &cost);
}

int fuzz_write_seeds(const char *dir)
{
	return seeds_requests(dir) && seeds_replies(dir) && fuzz_seed(dir, "empty", "", 0) ? 0 : -1;
}
