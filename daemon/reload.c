/*
 * State directory, cookie secret and reload.
 *
 * A reload loads the config and every zone again, compiles a zone snapshot,
 * builds a new geo tree (the database file may have been replaced; about
 * 50 ms for the DB-IP country file, off the query path) and a policy
 * snapshot with the stored drains; only when all succeed are both snapshots
 * published, as one pair, and the new config kept.
 * Otherwise the node keeps serving what it served, and the errors go to the
 * log and to the ayactl client that asked (STYLE.md, "Errors").
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

int ayad_state_init(ayad_t *d, const cfg_t *cfg)
{
	int rc = state_dir_create(cfg->state_dir);
	if (rc < 0) {
		log_err("ayad: state_dir %s: %s", cfg->state_dir, strerror(-rc));
		return rc;
	}
	if (cfg->dns.cookie_secret_set) {
		return 0;
	}
	bool created = false;
	rc = state_secret_load(cfg->state_dir, "cookie.secret", d->file_secret,
	                       sizeof(d->file_secret), &created);
	if (rc < 0) {
		log_err("ayad: cookie secret %s/cookie.secret: %s", cfg->state_dir,
		        rc == -EBADMSG ? "not 16 bytes" : strerror(-rc));
		return rc;
	}
	if (created) {
		log_info("ayad: created cookie secret %s/cookie.secret", cfg->state_dir);
	}
	d->file_secret_loaded = true;
	return 0;
}

const uint8_t *ayad_cookie_secret(const ayad_t *d, const cfg_t *cfg)
{
	return cfg->dns.cookie_secret_set ? cfg->dns.cookie_secret : d->file_secret;
}

/* Listen addresses are bound once: changing them needs a restart. */
static void warn_listen_changes(const ayad_t *d, const cfg_t *cfg)
{
	bool same = cfg->dns.n_listen == d->n_listen;
	for (size_t i = 0; same && i < d->n_listen; i++) {
		same = strcmp(cfg->dns.listen[i].text, d->listen[i]) == 0;
	}
	if (!same) {
		log_warn("reload: %s: dns.listen changed; restart ayad to apply it", cfg->path);
	}
}

/* "2 zone(s), serials a.example 5, b.example 7; 1 service(s)" into buf. */
static void summarize(const dnsd_snap_t *snap, const pol_snap_t *pol, char *buf, size_t len)
{
	size_t n = dnsd_snap_zone_count(snap);
	int off = snprintf(buf, len, "%zu zone(s)%s", n, n > 0 ? ", serials" : "");
	for (size_t i = 0; i < n && off > 0 && (size_t)off < len; i++) {
		dnsd_zone_info_t zi;
		dnsd_snap_zone_info(snap, i, &zi);
		off += snprintf(buf + off, len - (size_t)off, "%s %s %u", i == 0 ? "" : ",",
		                zi.name, (unsigned)zi.serial);
	}
	if (off > 0 && (size_t)off < len) {
		snprintf(buf + off, len - (size_t)off, "; %zu service(s)", pol_service_count(pol));
	}
}

/* Log every line of a diagnostics text at the given level. */
static void log_lines(enum aya_log_level level, const char *text)
{
	while (text != NULL && *text != '\0') {
		const char *nl = strchr(text, '\n');
		int n = nl != NULL ? (int)(nl - text) : (int)strlen(text);
		aya_log(level, "reload: %.*s", n, text);
		text += n + (nl != NULL ? 1 : 0);
	}
}

static void record(ayad_t *d, bool ok, const char *msg)
{
	d->last_reload = time(NULL);
	d->last_reload_ok = ok;
	snprintf(d->last_reload_msg, sizeof(d->last_reload_msg), "%s", msg);
	char *nl = strchr(d->last_reload_msg, '\n');
	if (nl != NULL) {
		*nl = '\0';
	}
}

/* Geo tree and policy snapshot for a new config; 0 or negative errno with err. */
static int build_policy(ayad_t *d, const cfg_t *cfg, geo_tree_t **geo, pol_snap_t **pol,
                        size_t *unmatched, char *err, size_t errlen)
{
	int rc = ayad_geo_build(cfg, geo, err, errlen);
	if (rc < 0) {
		return rc;
	}
	rc = ayad_pol_build(d, cfg, *geo, pol, unmatched, err, errlen);
	if (rc < 0) {
		geo_tree_unref(*geo);
		*geo = NULL;
	}
	return rc;
}

static void warn_state_dir_change(const ayad_t *d, const cfg_t *cfg)
{
	if (strcmp(cfg->state_dir, d->cfg->state_dir) != 0) {
		log_warn("reload: %s: state_dir changed; restart ayad to apply it", cfg->path);
	}
}

/*
 * The new config hash goes out at once, the keyring applies; other gossip
 * changes need a restart: their lines join the diagnostics for ayactl.
 * Before the old cfg is freed (the gossip side compares against it).
 */
/* Append text to the reload's diagnostics (best effort: a message lost to OOM). */
static void diag_append(char **diag, const char *text)
{
	size_t a = *diag != NULL ? strlen(*diag) : 0, b = strlen(text);
	char *all = realloc(*diag, a + b + 1);
	if (all != NULL) {
		memcpy(all + a, text, b + 1);
		*diag = all;
	}
}

static void apply_gossip(ayad_t *d, const cfg_t *cfg, char **diag)
{
	char *notes = NULL;
	(void)ayad_gossip_reload(d, cfg, &notes); /* errors are logged and in notes */
	if (notes != NULL) {
		diag_append(diag, notes);
	}
	free(notes);
}

/* A listener that cannot move stays where it was; the reload itself goes on. */
static void apply_http(ayad_t *d, const cfg_t *cfg, char **diag)
{
	char err[256];
	if (ayad_http_apply(d, cfg, d->cfg, err, sizeof(err)) < 0) {
		char line[400];
		snprintf(line, sizeof(line), "%s: warning: http.listen not applied: %s\n",
		         cfg->path, err);
		diag_append(diag, line);
	}
}

/* Changed records under the same serial: loaded, but said loudly (secondaries miss it). */
static void warn_unbumped(const cfg_t *old, const cfg_t *cfg, char **diag)
{
	const cfg_zone_t *z[8];
	size_t n = cfg_zones_unbumped(old, cfg, z, AYA_ARRAY_LEN(z));
	for (size_t i = 0; i < n && i < AYA_ARRAY_LEN(z); i++) {
		char line[512];
		snprintf(line, sizeof(line),
		         "%s: warning: zone %s: records changed but the SOA serial is still %u; "
		         "secondaries will not transfer the change",
		         z[i]->file, z[i]->name, (unsigned)z[i]->serial);
		log_warn("reload: %s", line);
		diag_append(diag, line);
		diag_append(diag, "\n");
	}
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void restart_note(const cfg_t *cfg, const char *key, char **diag)
{
	char line[400];
	snprintf(line, sizeof(line), "%s: warning: %s changed; restart ayad to apply it", cfg->path,
	         key);
	log_warn("reload: %s", line);
	diag_append(diag, line);
	diag_append(diag, "\n");
}

/*
 * Settings read once at start: ayad switched user, bound its control socket
 * and sized its DNS threads and TCP table then. Say so when the new config
 * asks for others (a reload must not look as if it applied them).
 * control.group applies now.
 */
static void apply_start_only(ayad_t *d, const cfg_t *cfg, char **diag)
{
	static const char *const names[] = {"user", "group", "control.socket"};
	const char *was[] = {d->cfg->user, d->cfg->group, d->cfg->control_socket};
	const char *now[] = {cfg->user, cfg->group, cfg->control_socket};
	for (size_t i = 0; i < AYA_ARRAY_LEN(names); i++) {
		if (!same_str(was[i], now[i])) {
			restart_note(cfg, names[i], diag);
		}
	}
	const cfg_dns_t *a = &d->cfg->dns, *b = &cfg->dns;
	const struct {
		const char *key;
		unsigned was, now;
	} nums[] = {
	        {"dns.threads", a->threads, b->threads},
	        {"dns.tcp_idle_timeout", a->tcp_idle_timeout_ms, b->tcp_idle_timeout_ms},
	        {"dns.tcp_message_timeout", a->tcp_message_timeout_ms, b->tcp_message_timeout_ms},
	        {"dns.tcp_max_connections", a->tcp_max_connections, b->tcp_max_connections},
	        {"dns.tcp_max_per_client", a->tcp_max_per_client, b->tcp_max_per_client},
	        {"dns.tcp_client_ipv4_prefix", a->tcp_client_ipv4_prefix,
	         b->tcp_client_ipv4_prefix},
	        {"dns.tcp_client_ipv6_prefix", a->tcp_client_ipv6_prefix,
	         b->tcp_client_ipv6_prefix},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(nums); i++) {
		if (nums[i].was != nums[i].now) {
			restart_note(cfg, nums[i].key, diag);
		}
	}
	gid_t gid;
	if (d->ctl != NULL && !same_str(d->cfg->control_group, cfg->control_group) &&
	    ayad_control_gid(cfg, &gid) == 0 && ctl_server_set_group(d->ctl, gid) < 0) {
		char line[300];
		snprintf(line, sizeof(line),
		         "%s: warning: control.group not applied (see the log)\n", cfg->path);
		diag_append(diag, line);
	}
}

static int reload(ayad_t *d, char **diag);

/* systemd sees the reload begin and end (ExecReload, ayactl reload alike). */
int ayad_reload(ayad_t *d, char **diag)
{
	ayad_sd_reloading();
	int rc = reload(d, diag);
	ayad_sd_ready(d);
	return rc;
}

static int reload(ayad_t *d, char **diag)
{
	cfg_diag_t cd = {0};
	cfg_t *cfg = NULL;
	dnsd_snap_t *snap = NULL;
	geo_tree_t *geo = NULL;
	pol_snap_t *pol = NULL;
	size_t unmatched = 0;
	uint64_t signed_s = 0;
	char err[512] = "";
	if (ayad_takeover_waiting(d)) {
		/* Half started (no probes, gossip, http yet): nothing to apply a new config to. */
		log_warn("reload: ignored while waiting to take over; reload after the takeover");
		*diag = strdup("");
		return -EBUSY;
	}
	int rc = cfg_load(d->config_path, &cfg, &cd);
	if (rc == 0) {
		if (!cfg->dns.cookie_secret_set && !d->file_secret_loaded) {
			rc = ayad_state_init(d, cfg);
			if (rc < 0) {
				snprintf(err, sizeof(err), "cannot load the cookie secret: %s",
				         strerror(-rc));
			}
		}
		if (rc == 0) {
			rc = ayad_snap_build(cfg, ayad_cookie_secret(d, cfg), &snap, &signed_s, err,
			                     sizeof(err));
		}
		if (rc == 0) {
			rc = build_policy(d, cfg, &geo, &pol, &unmatched, err, sizeof(err));
			if (rc < 0) {
				dnsd_snap_free(snap);
				snap = NULL;
			}
		}
		if (rc < 0) {
			cfg_diag_add(&cd, cfg->path, 0, 0, "error", "%s",
			             err[0] != '\0' ? err : strerror(-rc));
		}
	} else if (cd.errors == 0) {
		cfg_diag_add(&cd, d->config_path, 0, 0, "error", "cannot load: %s", strerror(-rc));
	}
	*diag = strdup(cd.text != NULL ? cd.text : "");
	if (rc < 0) {
		log_err("reload: %s rejected, %u error(s); still serving the previous snapshot",
		        d->config_path, cd.errors);
		log_lines(AYA_LOG_ERR, cd.text);
		record(d, false, cd.text != NULL ? cd.text : "rejected");
		cfg_free(cfg);
		cfg_diag_fini(&cd);
		return rc;
	}
	log_lines(AYA_LOG_WARN, cd.text);
	cfg_diag_fini(&cd);
	warn_listen_changes(d, cfg);
	warn_unbumped(d->cfg, cfg, diag);
	warn_state_dir_change(d, cfg);
	if (unmatched > 0) {
		log_warn("reload: %zu stored drain(s) match no service of the new config "
		         "(see ayactl services); they stay stored and apply again if it returns",
		         unmatched);
	}
	apply_gossip(d, cfg, diag);
	apply_http(d, cfg, diag);
	apply_start_only(d, cfg, diag);
	/* Answers counted under the old pools' numbering are added to their names' totals. */
	ayad_metrics_fold(d);
	ayad_events_diff(d, d->pol, pol);
	/* The old policy snapshot still points into the old cfg: publish (which frees it
	 * after the grace period) before freeing that. */
	dnsd_server_publish(d->srv, snap, pol);
	ayad_notify_changed(d, d->cfg, cfg); /* once the new serials are served */
	d->snap = snap;
	d->snap_signed_s = signed_s;
	d->pol = pol;
	geo_tree_unref(d->geo);
	d->geo = geo;
	cfg_free(d->cfg);
	d->cfg = cfg;
	/* Probes that stay keep their state; the agent copied what it needs. */
	ayad_probes_set_targets(d, cfg);
	/* The load loop follows the new pools (a rebuild then applies their fractions). */
	(void)ayad_steer_reload(d, cfg);
	aya_log_set_level((enum aya_log_level)cfg->log_level);
	char sum[400];
	summarize(snap, pol, sum, sizeof(sum));
	log_info("reload: %s", sum);
	record(d, true, sum);
	return 0;
}
