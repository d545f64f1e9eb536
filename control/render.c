/*
 * Rendering of control replies: aligned text for people, JSON (jansson) for
 * scripts. Both show the same fields; JSON keys are stable (scripts depend
 * on them): add keys, never rename.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

/* ---- text ---- */

static void fmt_duration(char *buf, size_t len, uint64_t s)
{
	if (s >= 86400) {
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s",
		         s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
	} else if (s >= 3600) {
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600,
		         s / 60 % 60, s % 60);
	} else if (s >= 60) {
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	} else {
		snprintf(buf, len, "%" PRIu64 "s", s);
	}
}

static void fmt_time(char *buf, size_t len, uint64_t unix_s)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, len, "%" PRIu64, unix_s);
	}
}

static void write_zones(FILE *f, const ctl_zone_t *z, size_t n)
{
	int w = 4;
	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(z[i].name);
		w = l > w ? l : w;
	}
	fprintf(f, "  %-*s  %10s  %8s\n", w, "ZONE", "SERIAL", "RECORDS");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  %-*s  %10" PRIu32 "  %8" PRIu64 "\n", w, z[i].name, z[i].serial,
		        z[i].records);
	}
}

static void write_status(FILE *f, const ctl_status_t *s)
{
	char up[64], when[64];
	fmt_duration(up, sizeof(up), s->uptime_s);
	fprintf(f, "%-12s %s\n", "node", s->node);
	fprintf(f, "%-12s %s\n", "region", s->region);
	fprintf(f, "%-12s %s\n", "version", s->version);
	fprintf(f, "%-12s %s\n", "uptime", up);
	fprintf(f, "%-12s %u\n", "workers", s->workers);
	fprintf(f, "%-12s", "listen");
	for (size_t i = 0; i < s->n_listen; i++) {
		fprintf(f, "%s%s", i == 0 ? " " : ", ", s->listen[i]);
	}
	fprintf(f, "\n%-12s %" PRIu64 " bytes\n", "snapshot", s->snapshot_bytes);
	fprintf(f, "%-12s %" PRIu32 " (%" PRIu64 " bytes), %" PRIu32 " drain(s)\n", "services",
	        s->services, s->policy_bytes, s->drains);
	if (s->geo_database == NULL || s->geo_database[0] == '\0') {
		fprintf(f, "%-12s none (default region order)\n", "geo");
	} else {
		fprintf(f,
		        "%-12s %s\n%-12s tree %" PRIu64 " nodes from %" PRIu64
		        " database nodes, built in %.1f ms\n",
		        "geo", s->geo_database, "", s->geo_nodes, s->geo_mmdb_nodes,
		        s->geo_build_ms);
	}
	if (s->last_reload_time == 0) {
		fprintf(f, "%-12s never\n", "last reload");
	} else {
		fmt_time(when, sizeof(when), s->last_reload_time);
		fprintf(f, "%-12s %s %s%s%s\n", "last reload", when,
		        s->last_reload_ok ? "ok" : "failed",
		        s->last_reload_message[0] != '\0' ? ": " : "", s->last_reload_message);
	}
	ctl_gossip_status_write_text(f, &s->gossip);
	fprintf(f, "%-12s %" PRIu64 "\n\nzones\n", "queries", s->queries);
	write_zones(f, s->zones, s->n_zones);
	fprintf(f, "\ncounters\n");
	int w = 0;
	for (size_t i = 0; i < s->n_counters; i++) {
		int l = (int)strlen(s->counters[i].name);
		w = l > w ? l : w;
	}
	for (size_t i = 0; i < s->n_counters; i++) {
		fprintf(f, "  %-*s  %12" PRIu64 "\n", w, s->counters[i].name, s->counters[i].value);
	}
}

void ctl_reply_write_text(FILE *f, const ctl_reply_t *r)
{
	if (!r->ok) {
		const char *e = r->error != NULL && r->error[0] != '\0' ? r->error : "failed";
		fprintf(f, "%s: %s%s", ctl_cmd_name(r->cmd), e,
		        e[strlen(e) - 1] == '\n' ? "" : "\n");
		return;
	}
	switch (r->cmd) {
	case CTL_CMD_STATUS:
		write_status(f, &r->status);
		break;
	case CTL_CMD_RELOAD:
		fprintf(f, "reload: ok, %zu zone(s)\n", r->reload.n_zones);
		write_zones(f, r->reload.zones, r->reload.n_zones);
		if (r->reload.diagnostics != NULL && r->reload.diagnostics[0] != '\0') {
			fputs(r->reload.diagnostics, f);
		}
		break;
	case CTL_CMD_SERVICES:
		ctl_services_write_text(f, &r->services);
		break;
	case CTL_CMD_DRAIN:
	case CTL_CMD_UNDRAIN:
		ctl_drain_write_text(f, r->cmd, &r->drain);
		break;
	case CTL_CMD_EXPLAIN:
		ctl_explain_write_text(f, &r->explain);
		break;
	case CTL_CMD_BACKENDS:
		ctl_backends_write_text(f, &r->backends);
		break;
	case CTL_CMD_MEMBERS:
		ctl_members_write_text(f, &r->members);
		break;
	case CTL_CMD_KEYRING:
		ctl_keyring_write_text(f, &r->keyring);
		break;
	case CTL_CMD_DNSSEC:
		ctl_dnssec_write_text(f, &r->dnssec);
		break;
	case CTL_CMD_COST:
		ctl_cost_write_text(f, &r->cost);
		break;
	case CTL_CMD_LOG_LEVEL:
		ctl_log_level_write_text(f, &r->log_level);
		break;
	case CTL_CMD_TOP:
		ctl_top_sample_write_text(f, &r->top);
		break;
	default:
		fprintf(f, "ok\n");
		break;
	}
}

/* ---- JSON ---- */

/* json_*_set_new and json_array_append_new take the reference even on failure. */
static json_t *zones_json(const ctl_zone_t *z, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++) {
		json_t *o = json_pack("{s:s, s:I, s:I}", "name", z[i].name, "serial",
		                      (json_int_t)z[i].serial, "records", (json_int_t)z[i].records);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int status_json(json_t *o, const ctl_status_t *s)
{
	json_t *counters = json_object();
	json_t *listen = json_array();
	int rc = counters == NULL || listen == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < s->n_counters; i++) {
		rc = json_object_set_new(counters, s->counters[i].name,
		                         json_integer((json_int_t)s->counters[i].value));
	}
	for (size_t i = 0; rc == 0 && i < s->n_listen; i++) {
		rc = json_array_append_new(listen, json_string(s->listen[i]));
	}
	if (rc != 0) {
		json_decref(counters);
		json_decref(listen);
		return -1;
	}
	/* Never reloaded: the time is unknown (null), not the epoch. */
	json_t *reload =
	        json_pack("{s:o, s:b, s:s}", "time",
	                  s->last_reload_time != 0 ? json_integer((json_int_t)s->last_reload_time)
	                                           : json_null(),
	                  "ok", s->last_reload_ok, "message", s->last_reload_message);
	rc |= json_object_set_new(o, "node", json_string(s->node));
	rc |= json_object_set_new(o, "region", json_string(s->region));
	rc |= json_object_set_new(o, "version", json_string(s->version));
	rc |= json_object_set_new(o, "uptime_s", json_integer((json_int_t)s->uptime_s));
	rc |= json_object_set_new(o, "workers", json_integer(s->workers));
	rc |= json_object_set_new(o, "listen", listen);
	rc |= json_object_set_new(o, "snapshot_bytes", json_integer((json_int_t)s->snapshot_bytes));
	rc |= json_object_set_new(o, "last_reload", reload);
	rc |= json_object_set_new(o, "queries", json_integer((json_int_t)s->queries));
	rc |= json_object_set_new(o, "zones", zones_json(s->zones, s->n_zones));
	rc |= json_object_set_new(o, "counters", counters);
	rc |= json_object_set_new(o, "services", json_integer(s->services));
	rc |= json_object_set_new(o, "drains", json_integer(s->drains));
	rc |= json_object_set_new(o, "policy_bytes", json_integer((json_int_t)s->policy_bytes));
	json_t *geo = json_pack(
	        "{s:s?, s:f, s:I, s:I}", "database",
	        s->geo_database != NULL && s->geo_database[0] != '\0' ? s->geo_database : NULL,
	        "build_ms", s->geo_build_ms, "nodes", (json_int_t)s->geo_nodes, "mmdb_nodes",
	        (json_int_t)s->geo_mmdb_nodes);
	rc |= json_object_set_new(o, "geo", geo);
	rc |= ctl_gossip_status_json(o, &s->gossip);
	return rc;
}

char *ctl_reply_to_json(const ctl_reply_t *r)
{
	json_t *o = json_object();
	if (o == NULL) {
		return NULL;
	}
	int rc = json_object_set_new(o, "ok", json_boolean(r->ok));
	if (!r->ok) {
		rc |= json_object_set_new(o, "error",
		                          json_string(r->error != NULL ? r->error : ""));
	} else if (r->cmd == CTL_CMD_STATUS) {
		rc |= status_json(o, &r->status);
	} else if (r->cmd == CTL_CMD_RELOAD) {
		rc |= json_object_set_new(o, "zones",
		                          zones_json(r->reload.zones, r->reload.n_zones));
		rc |= json_object_set_new(o, "diagnostics", json_string(r->reload.diagnostics));
	} else if (r->cmd == CTL_CMD_SERVICES) {
		rc |= ctl_services_json(o, &r->services);
	} else if (r->cmd == CTL_CMD_DRAIN || r->cmd == CTL_CMD_UNDRAIN) {
		rc |= ctl_drain_json(o, &r->drain);
	} else if (r->cmd == CTL_CMD_EXPLAIN) {
		rc |= ctl_explain_json(o, &r->explain);
	} else if (r->cmd == CTL_CMD_BACKENDS) {
		rc |= ctl_backends_json(o, &r->backends);
	} else if (r->cmd == CTL_CMD_MEMBERS) {
		rc |= ctl_members_json(o, &r->members);
	} else if (r->cmd == CTL_CMD_KEYRING) {
		rc |= ctl_keyring_json(o, &r->keyring);
	} else if (r->cmd == CTL_CMD_COST) {
		rc |= ctl_cost_json(o, &r->cost);
	} else if (r->cmd == CTL_CMD_LOG_LEVEL) {
		rc |= ctl_log_level_json(o, &r->log_level);
	} else if (r->cmd == CTL_CMD_TOP) {
		rc |= ctl_top_json(o, &r->top);
	} else if (r->cmd == CTL_CMD_DNSSEC) {
		rc |= ctl_dnssec_json(o, &r->dnssec);
	}
	char *s = rc == 0 ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}

char *ctl_error_json(const char *cmd, const char *error, int exit_code)
{
	json_t *o = json_pack("{s:b, s:s?, s:s, s:i}", "ok", 0, "command", cmd, "error",
	                      error != NULL ? error : "", "exit", exit_code);
	char *s = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}
