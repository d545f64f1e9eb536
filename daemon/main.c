/*
 * ayad: one Aya node. Runs in the foreground and logs to stderr.
 *
 *   ayad [-c FILE]          serve (default /etc/aya/aya.yaml)
 *   ayad --check [-c FILE]  validate the config and zones, print every diagnostic
 *   ayad --version | -h
 *
 * The main thread is the control thread: it loads the config, starts the DNS
 * server, then runs a libevent loop for signals (SIGHUP reload, SIGTERM and
 * SIGINT clean shutdown) and the control socket. Only start-up may exit.
 * It is the wiring: a changed probe result (daemon/probes.c) goes to gossip
 * (daemon/gossip.c) and to the policy rebuild (daemon/rebuild.c) from here,
 * so that neither of those calls the other.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define AYAD_DEFAULT_CONFIG "/etc/aya/aya.yaml"

static void usage(FILE *f)
{
	fprintf(f, "usage: ayad [-c FILE]          run a node in the foreground\n"
	           "       ayad --check [-c FILE]  validate the config and its zones\n"
	           "       ayad --version\n"
	           "\n"
	           "  -c, --config FILE  configuration (YAML), default " AYAD_DEFAULT_CONFIG "\n"
	           "  -n, --check        check and exit: 0 valid, 1 errors\n"
	           "  -V, --version      version and data attributions\n"
	           "  -h, --help         this text\n");
}

static void print_version(void)
{
	printf("ayad %s\n\n%s\n", AYA_VERSION, AYA_GEO_ATTRIBUTION);
}

/* Load the config, printing every diagnostic; NULL on errors. */
static cfg_t *load(const char *path)
{
	cfg_diag_t d = {0};
	cfg_t *cfg = NULL;
	int rc = cfg_load(path, &cfg, &d);
	if (d.text != NULL) {
		fputs(d.text, stderr);
	}
	if (rc < 0 && d.errors == 0) {
		fprintf(stderr, "%s: error: %s\n", path, strerror(-rc));
	}
	cfg_diag_fini(&d);
	return rc == 0 ? cfg : NULL;
}

/*
 * --check's snapshot: signed with the zones' keys as they are, read without
 * making any file. A signed zone without keys yet is said so (ayad makes
 * them at start) and the snapshot is then built unsigned.
 */
static int check_snap(const cfg_t *cfg, const uint8_t *secret, dnsd_snap_t **snap, char *err,
                      size_t errlen)
{
	dnsd_keyset_t **keys = calloc(cfg->n_zones + 1, sizeof(*keys));
	bool missing = false, any = false;
	int rc = keys == NULL ? -ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < cfg->n_zones; i++) {
		const cfg_zone_t *z = &cfg->zones[i];
		char buf[4096];
		if (!z->dnssec.enabled) {
			continue;
		}
		const char *dir = ayad_dnssec_dir(cfg, z, buf, sizeof(buf));
		any = true;
		char kerr[400] = "";
		rc = dnsd_keyset_load(z, dir, false, &keys[i], NULL, kerr, sizeof(kerr));
		if (rc == -ENOENT) {
			printf("%s: zone %s: no DNSSEC key in %s: ayad would make a new key (%s)\n",
			       cfg->path, z->name, dir,
			       z->dnssec.split ? "a KSK and a ZSK" : "a CSK");
			missing = true;
			rc = 0;
		} else if (rc < 0) {
			snprintf(err, errlen, "zone %s: dnssec keys: %.400s", z->name, kerr);
		}
	}
	if (rc == 0) {
		rc = any && !missing
		             ? dnsd_snap_build_signed(cfg, secret, keys, (uint64_t)time(NULL), snap,
		                                      err, errlen)
		             : dnsd_snap_build(cfg, secret, snap, err, errlen);
	}
	ayad_dnssec_keys_free(keys, cfg->n_zones);
	return rc;
}

static int check(const char *path)
{
	cfg_t *cfg = load(path);
	if (cfg == NULL) {
		return 1;
	}
	/* Compile it too: a config that loads but does not build would fail a reload. */
	static const uint8_t probe_secret[16];
	dnsd_snap_t *snap = NULL;
	char err[512] = "";
	int rc = check_snap(cfg, cfg->dns.cookie_secret_set ? NULL : probe_secret, &snap, err,
	                    sizeof(err));
	/* And the geo tree and services: a bad database path fails here, not at start. */
	geo_tree_t *geo = NULL;
	pol_snap_t *pol = NULL;
	if (rc == 0 && cfg->n_regions > 0) {
		rc = geo_tree_build_cfg(cfg, &geo, err, sizeof(err));
	}
	if (rc == 0) {
		rc = pol_snap_build(cfg, geo, NULL, &pol, err, sizeof(err));
	}
	if (rc < 0) {
		fprintf(stderr, "%s: error: %s\n", path, err[0] != '\0' ? err : strerror(-rc));
	} else {
		printf("%s: ok, %zu zone(s), %zu service(s)\n", path, dnsd_snap_zone_count(snap),
		       pol_service_count(pol));
	}
	pol_snap_free(pol);
	geo_tree_unref(geo);
	dnsd_snap_free(snap);
	cfg_free(cfg);
	return rc < 0 ? 1 : 0;
}

/* SIGTERM, SIGINT, and the end of a binary upgrade: leave, drain, exit 0. */
static void shut_down(ayad_t *d)
{
	ayad_sd_stopping();
	/* An upgrade: new queries go to the new ayad from now on, ours drain at stop(). */
	ayad_takeover_handoff(d);
	/* A cluster member says goodbye first; the loop then ends by itself. */
	if (!ayad_gossip_leave(d)) {
		event_base_loopbreak(d->base);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	ayad_t *d = arg;
	if (sig == SIGUSR2) {
		ayad_upgrade_start(d);
		return;
	}
	if (sig == SIGHUP) {
		log_info("reload: SIGHUP");
		char *diag = NULL;
		/* Logged by ayad_reload; there is no client to tell. */
		if (ayad_reload(d, &diag) < 0) {
			log_warn("reload: SIGHUP reload failed, see above");
		}
		free(diag);
		return;
	}
	log_info("ayad: %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	shut_down(d);
}

static int copy_listen(ayad_t *d, const cfg_t *cfg)
{
	d->listen = calloc(cfg->dns.n_listen + 1, sizeof(*d->listen));
	if (d->listen == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->dns.n_listen; i++) {
		d->listen[i] = strdup(cfg->dns.listen[i].text);
		if (d->listen[i] == NULL) {
			return -ENOMEM;
		}
		d->n_listen++;
	}
	return 0;
}

/* Geo tree, then a policy snapshot with the stored drains; logged on failure. */
static int build_policy(ayad_t *d, const cfg_t *cfg, pol_snap_t **pol)
{
	char err[512] = "";
	int rc = ayad_geo_build(cfg, &d->geo, err, sizeof(err));
	if (rc == 0) {
		size_t unmatched = 0;
		rc = ayad_pol_build(d, cfg, d->geo, pol, &unmatched, err, sizeof(err));
		if (rc == 0) {
			log_info("policy: %zu service(s), %zu bytes%s", pol_service_count(*pol),
			         pol_snap_bytes(*pol),
			         unmatched > 0 ? ", some stored drains match nothing" : "");
		}
	}
	if (rc < 0) {
		log_err("ayad: %s: %s", cfg->path, err[0] != '\0' ? err : strerror(-rc));
	}
	return rc;
}

/*
 * A probe result changed an endpoint's status or utilization: our own
 * observation goes to the peers now, and the policy is rebuilt (debounced
 * with every other change) so that answers follow.
 */
static void on_probe_change(void *ctx, const char *key, state_status_t status, double utilization)
{
	(void)status;
	(void)utilization;
	ayad_t *d = ctx;
	if (key[0] != '\0') {
		ayad_gossip_kick(d);
	}
	ayad_schedule_rebuild(d);
}

/* What follows the DNS server; after a takeover (daemon/takeover.c) it runs then. */
static int start_rest(ayad_t *d)
{
	const cfg_t *cfg = d->cfg;
	char err[512] = "";
	int rc = ayad_store_timer(d);
	if (rc < 0 || (rc = ayad_rebuild_start(d)) < 0 || (rc = ayad_steer_start(d)) < 0 ||
	    (rc = ayad_probes_start(d, on_probe_change)) < 0 || (rc = ayad_gossip_start(d)) < 0 ||
	    (rc = ayad_metrics_start(d)) < 0 || (rc = ayad_dnssec_start(d)) < 0) {
		return rc;
	}
	if ((rc = ayad_http_apply(d, cfg, NULL, err, sizeof(err))) < 0) {
		return rc;
	}
	gid_t gid;
	if ((rc = ayad_control_gid(cfg, &gid)) < 0 ||
	    (rc = ctl_server_new(d->base, cfg->control_socket, ayad_ctl_handlers, d, &d->ctl)) <
	            0) {
		return rc;
	}
	return ctl_server_set_group(d->ctl, gid);
}

static int start(ayad_t *d)
{
	const cfg_t *cfg = d->cfg;
	if (ayad_state_init(d, cfg) < 0 || copy_listen(d, cfg) < 0) {
		return -1;
	}
	/* state_open() forks a checker: before the DNS threads exist. */
	int rc = ayad_store_open(d, cfg);
	if (rc == -EBUSY) {
		/* Another ayad runs on this state_dir: an upgrade, take over from it. */
		rc = ayad_takeover_open(d, cfg);
	}
	/* The first snapshot already uses the stored observations (restart). */
	pol_snap_t *pol = NULL;
	if (rc < 0 || (rc = build_policy(d, cfg, &pol)) < 0) {
		return rc;
	}
	dnsd_snap_t *snap = NULL;
	char err[512] = "";
	rc = ayad_snap_build(cfg, ayad_cookie_secret(d, cfg), &snap, &d->snap_signed_s, err,
	                     sizeof(err));
	if (rc < 0) {
		log_err("ayad: %s: %s", cfg->path, err[0] != '\0' ? err : strerror(-rc));
		pol_snap_free(pol);
		return rc;
	}
	d->snap = snap;
	d->pol = pol;
	/* Takes both snapshots, also on failure. */
	rc = dnsd_server_start(cfg, snap, pol, &d->srv);
	if (rc < 0) {
		d->snap = NULL;
		d->pol = NULL;
		return rc;
	}
	/*
	 * The DNS server answers: a process started by SIGUSR2 tells its parent,
	 * once takeover.lock says a successor waits (so the parent hands over).
	 */
	if (ayad_takeover_waiting(d)) {
		rc = ayad_takeover_wait(d, start_rest);
		if (rc == 0) {
			ayad_upgrade_answering(d);
		}
		return rc;
	}
	ayad_upgrade_answering(d);
	return start_rest(d);
}

static void stop(ayad_t *d, struct event **sigs, size_t n_sigs)
{
	ayad_upgrade_free(d);
	ayad_sd_watchdog_stop(d);
	ayad_takeover_stop(d);
	ctl_server_free(d->ctl);
	ayad_notify_stop(d);
	ayad_http_stop(d);
	ayad_gossip_stop(d);
	/* The agent writes to the state store: stop it first. */
	ayad_probes_stop(d);
	ayad_steer_stop(d);
	ayad_rebuild_stop(d);
	ayad_dnssec_stop(d);
	ayad_metrics_stop(d);
	dnsd_server_stop(d->srv);
	d->snap = NULL;
	d->pol = NULL;
	ayad_store_close(d);
	geo_tree_unref(d->geo);
	d->geo = NULL;
	for (size_t i = 0; i < n_sigs; i++) {
		if (sigs[i] != NULL) {
			int sig = event_get_signal(sigs[i]);
			event_free(sigs[i]);
			/* A second SIGTERM during a slow exit must not turn exit 0 into a kill. */
			(void)signal(sig, SIG_IGN);
		}
	}
	for (size_t i = 0; i < d->n_listen; i++) {
		free(d->listen[i]);
	}
	free(d->listen);
	cfg_free(d->cfg);
	if (d->base != NULL) {
		event_base_free(d->base);
	}
	libevent_global_shutdown();
}

static int run(const char *path, char **argv)
{
	static const int signals[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR2};
	struct event *sigs[AYA_ARRAY_LEN(signals)] = {0};
	ayad_t d = {.config_path = path,
	            .started = time(NULL),
	            .probe_filter = ayad_gossip_filter_targets,
	            .steer_heard = ayad_steer_heard};
	int ret = 1;
	signal(SIGPIPE, SIG_IGN);
	/* The DNS TCP thread's base is woken from this thread. */
	evthread_use_pthreads();
	d.cfg = load(path);
	if (d.cfg == NULL || ayad_upgrade_init(&d, argv, shut_down) < 0) {
		goto out;
	}
	aya_log_set_level((enum aya_log_level)d.cfg->log_level);
	d.base = event_base_new();
	if (d.base == NULL) {
		log_err("ayad: cannot create the event loop");
		goto out;
	}
	for (size_t i = 0; i < AYA_ARRAY_LEN(signals); i++) {
		sigs[i] = evsignal_new(d.base, signals[i], on_signal, &d);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) != 0) {
			log_err("ayad: cannot install signal handlers");
			goto out;
		}
	}
	if (ayad_privs_drop(d.cfg) < 0 || start(&d) < 0 || ayad_sd_watchdog_start(&d) < 0) {
		goto out;
	}
	/* Answering DNS (also while waiting to take over from another ayad). */
	ayad_sd_ready(&d);
	if (!ayad_takeover_waiting(&d)) {
		log_info("ayad %s: node %s (region %s) up, control socket %s", AYA_VERSION,
		         d.cfg->node.name, d.cfg->node.region, d.cfg->control_socket);
	}
	event_base_dispatch(d.base);
	ret = d.start_failed ? 1 : 0;
out:
	stop(&d, sigs, AYA_ARRAY_LEN(sigs));
	if (ret == 0) {
		log_info("ayad: stopped");
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check", no_argument, NULL, 'n'},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *path = AYAD_DEFAULT_CONFIG;
	bool check_only = false;
	int c;
	aya_log_set_ident("ayad");
	while ((c = getopt_long(argc, argv, "c:nVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'V':
			print_version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return check_only ? check(path) : run(path, argv);
}
