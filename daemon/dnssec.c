/*
 * Online signing in the daemon: the keys of every signed zone are loaded
 * (and made on first start) before each build of the zone snapshot, the
 * snapshot is signed with them and the keysets freed (the snapshot keeps
 * what it needs). A timer re-signs: a new snapshot once a quarter of the
 * shortest signature lifetime has passed since the served one was signed,
 * so RRSIGs are refreshed long before they expire. And `ayactl dnssec`:
 * status and DS records read the key files; add, activate and remove change
 * them (dnsd/keys.c), then re-sign at once.
 *
 * Control thread only. Key files are read on each build, not kept: the
 * files are the truth, so a key directory copied in from another node (a
 * cluster shares its keys) is used by the next reload or re-sign.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/log.h"

/* How often the re-sign timer looks at the clock. */
#define RESIGN_TICK_S 30

struct ayad_dnssec {
	struct event *tick_ev;
	bool failing; /* the last re-sign failed (logged once until it works again) */
};

const char *ayad_dnssec_dir(const cfg_t *cfg, const cfg_zone_t *z, char *buf, size_t len)
{
	if (z->dnssec.key_directory != NULL) {
		return z->dnssec.key_directory;
	}
	snprintf(buf, len, "%s/dnssec", cfg->state_dir);
	return buf;
}

void ayad_dnssec_keys_free(dnsd_keyset_t **keys, size_t n)
{
	if (keys == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		dnsd_keyset_free(keys[i]);
	}
	free(keys);
}

int ayad_dnssec_keys(const cfg_t *cfg, bool create, dnsd_keyset_t ***out, char *err, size_t errlen)
{
	*out = NULL;
	dnsd_keyset_t **keys = calloc(cfg->n_zones + 1, sizeof(*keys));
	if (keys == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const cfg_zone_t *z = &cfg->zones[i];
		if (!z->dnssec.enabled) {
			continue;
		}
		char buf[4096], kerr[512] = "";
		const char *dir = ayad_dnssec_dir(cfg, z, buf, sizeof(buf));
		unsigned made = 0;
		int rc = dnsd_keyset_load(z, dir, create, &keys[i], &made, kerr, sizeof(kerr));
		if (rc < 0) {
			snprintf(err, errlen, "zone %s: dnssec keys: %s", z->name,
			         kerr[0] != '\0' ? kerr : strerror(-rc));
			ayad_dnssec_keys_free(keys, cfg->n_zones);
			return rc;
		}
		if (made > 0) {
			log_info("dnssec: zone %s: made %u new key(s) in %s (%s)", z->name, made,
			         dir,
			         z->dnssec.split ? "a KSK and a ZSK" : "a combined signing key");
			log_warn(
			        "dnssec: zone %s: in a cluster every node must sign with the same "
			        "keys: copy %s to the other nodes before the DS goes to the parent "
			        "(ayactl dnssec ds %s)",
			        z->name, dir, z->name);
		}
	}
	*out = keys;
	return 0;
}

/* The shortest signature lifetime of cfg's signed zones; 0 when none is signed. */
static uint32_t min_lifetime(const cfg_t *cfg)
{
	uint32_t m = 0;
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const cfg_dnssec_t *s = &cfg->zones[i].dnssec;
		if (s->enabled && (m == 0 || s->signature_lifetime_s < m)) {
			m = s->signature_lifetime_s;
		}
	}
	return m;
}

int ayad_snap_build(const cfg_t *cfg, const uint8_t *secret, dnsd_snap_t **out, uint64_t *signed_s,
                    char *err, size_t errlen)
{
	uint64_t now = (uint64_t)time(NULL);
	*out = NULL;
	*signed_s = 0;
	if (min_lifetime(cfg) == 0) {
		return dnsd_snap_build(cfg, secret, out, err, errlen);
	}
	dnsd_keyset_t **keys = NULL;
	int rc = ayad_dnssec_keys(cfg, true, &keys, err, errlen);
	if (rc < 0) {
		return rc;
	}
	rc = dnsd_snap_build_signed(cfg, secret, keys, now, out, err, errlen);
	ayad_dnssec_keys_free(keys, cfg->n_zones);
	if (rc == 0) {
		*signed_s = now;
	}
	return rc;
}

int ayad_dnssec_resign(ayad_t *d, char *err, size_t errlen)
{
	dnsd_snap_t *snap = NULL;
	uint64_t signed_s = 0;
	/* ayad_cookie_secret()'s choice, not a call: reload.c calls this file (no cycle). */
	const cfg_dns_t *dns = &d->cfg->dns;
	int rc = ayad_snap_build(d->cfg,
	                         dns->cookie_secret_set ? dns->cookie_secret : d->file_secret,
	                         &snap, &signed_s, err, errlen);
	if (rc < 0) {
		return rc;
	}
	dnsd_server_publish(d->srv, snap, NULL);
	d->snap = snap;
	d->snap_signed_s = signed_s;
	return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	uint32_t life = min_lifetime(d->cfg);
	uint64_t now = (uint64_t)time(NULL);
	if (life == 0 || d->srv == NULL || now < d->snap_signed_s + life / 4) {
		return;
	}
	char err[512] = "";
	int rc = ayad_dnssec_resign(d, err, sizeof(err));
	if (rc < 0 && !d->dnssec->failing) {
		log_err("dnssec: re-signing failed, the served signatures are from %llu s ago: %s",
		        (unsigned long long)(now - d->snap_signed_s),
		        err[0] != '\0' ? err : strerror(-rc));
	} else if (rc == 0 && d->dnssec->failing) {
		log_info("dnssec: re-signed again");
	} else if (rc == 0) {
		log_debug("dnssec: re-signed the signed zones");
	}
	d->dnssec->failing = rc < 0;
}

int ayad_dnssec_start(ayad_t *d)
{
	d->dnssec = calloc(1, sizeof(*d->dnssec));
	if (d->dnssec == NULL) {
		return -ENOMEM;
	}
	d->dnssec->tick_ev = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	struct timeval tv = {.tv_sec = RESIGN_TICK_S};
	if (d->dnssec->tick_ev == NULL || event_add(d->dnssec->tick_ev, &tv) != 0) {
		log_err("ayad: cannot arm the dnssec re-sign timer");
		ayad_dnssec_stop(d);
		return -ENOMEM;
	}
	return 0;
}

void ayad_dnssec_stop(ayad_t *d)
{
	if (d->dnssec == NULL) {
		return;
	}
	if (d->dnssec->tick_ev != NULL) {
		event_free(d->dnssec->tick_ev);
	}
	free(d->dnssec);
	d->dnssec = NULL;
}

/* ---- ayactl dnssec ---- */

/* printf into the reply's arena; NULL when out of memory. */
static const char *afmt(aya_arena_t *a, const char *fmt, ...) AYA_PRINTF(2, 3);
static const char *afmt(aya_arena_t *a, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return aya_arena_strdup(a, buf);
}

static const char *role_of(const dnsd_key_info_t *k)
{
	return k->ksk && k->zsk ? "csk" : k->ksk ? "ksk" : "zsk";
}

/*
 * One zone of the reply from its key files. For `ds` only the DS of the
 * KSK/CSK keys that are published or active; the error of unreadable keys
 * goes into the zone (status shows it) and is returned.
 */
static int zone_fill(ayad_t *d, const cfg_zone_t *z, bool ds_only, aya_arena_t *a,
                     ctl_dnssec_zone_t *out)
{
	char buf[4096], err[512] = "";
	const char *dir = ayad_dnssec_dir(d->cfg, z, buf, sizeof(buf));
	*out = (ctl_dnssec_zone_t){.name = z->name,
	                           .algorithm = (uint32_t)z->dnssec.algorithm,
	                           .split = z->dnssec.split,
	                           .key_directory = aya_arena_strdup(a, dir),
	                           .dnskey_ttl_s = z->dnssec.dnskey_ttl_s,
	                           .signature_lifetime_s = z->dnssec.signature_lifetime_s,
	                           .signed_at = d->snap_signed_s,
	                           .error = ""};
	for (size_t i = 0; d->snap != NULL && i < dnsd_snap_zone_count(d->snap); i++) {
		dnsd_zone_info_t zi = {0};
		dnsd_snap_zone_info(d->snap, i, &zi);
		if (strcmp(zi.name, z->name) == 0) {
			out->is_signed = zi.is_signed;
			out->sig_expiry = zi.sig_expiry;
			out->signatures = zi.signatures;
		}
	}
	dnsd_keyset_t *ks = NULL;
	int rc = dnsd_keyset_load(z, dir, false, &ks, NULL, err, sizeof(err));
	if (rc < 0) {
		out->error = aya_arena_strdup(a, err[0] != '\0' ? err : strerror(-rc));
		return rc;
	}
	size_t n = dnsd_keyset_count(ks), k = 0;
	ctl_dnssec_key_t *keys = aya_arena_alloc(a, (n + 1) * sizeof(*keys));
	for (size_t i = 0; keys != NULL && i < n; i++) {
		dnsd_key_info_t in;
		char ds[256] = "";
		dnsd_keyset_info(ks, i, &in);
		bool sep = in.ksk && in.state != DNSD_KEY_RETIRED;
		if (ds_only && !sep) {
			continue;
		}
		if (in.ksk && dnsd_keyset_ds(ks, i, ds, sizeof(ds)) < 0) {
			ds[0] = '\0';
		}
		keys[k++] = (ctl_dnssec_key_t){.tag = in.tag,
		                               .role = role_of(&in),
		                               .state = dnsd_key_state_name(in.state),
		                               .file = aya_arena_strdup(a, in.file),
		                               .ds = aya_arena_strdup(a, ds)};
	}
	out->keys = keys;
	out->n_keys = keys != NULL ? k : 0;
	dnsd_keyset_free(ks);
	return keys != NULL ? 0 : -ENOMEM;
}

static void counters(ayad_t *d, ctl_dnssec_t *out)
{
	dnsd_stats_t st = {0};
	if (d->srv != NULL) {
		dnsd_server_stats(d->srv, &st);
	}
	out->answers = st.dnssec_answers;
	out->cache_hits = st.dnssec_cache_hits;
	out->signs = st.dnssec_signs;
	out->sign_failures = st.dnssec_sign_fail;
	out->now_s = (int64_t)time(NULL);
}

/* The signed zone req names; NULL with the reply's error set. */
static const cfg_zone_t *signed_zone(ayad_t *d, const ctl_request_t *req, ctl_reply_t *r,
                                     aya_arena_t *a)
{
	const char *name = req->zone != NULL ? req->zone : "";
	const cfg_zone_t *z = name[0] != '\0' ? cfg_zone_find(d->cfg, name) : NULL;
	if (z == NULL) {
		ctl_reply_errorf(r, a, "unknown zone '%s'", name);
	} else if (!z->dnssec.enabled) {
		ctl_reply_errorf(r, a, "zone %s is not signed (add dnssec: to it in %s)", z->name,
		                 d->cfg->path);
		z = NULL;
	}
	return z;
}

static void status(ayad_t *d, const ctl_request_t *req, bool ds, ctl_reply_t *r, aya_arena_t *a)
{
	const cfg_zone_t *one = NULL;
	if (ds || (req->zone != NULL && req->zone[0] != '\0')) {
		if ((one = signed_zone(d, req, r, a)) == NULL) {
			return;
		}
	}
	ctl_dnssec_zone_t *zones = aya_arena_alloc(a, (d->cfg->n_zones + 1) * sizeof(*zones));
	if (zones == NULL) {
		ctl_reply_error(r, NULL);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < d->cfg->n_zones; i++) {
		const cfg_zone_t *z = &d->cfg->zones[i];
		if (!z->dnssec.enabled || (one != NULL && z != one)) {
			continue;
		}
		int rc = zone_fill(d, z, ds, a, &zones[n]);
		if (rc < 0 && ds) {
			ctl_reply_errorf(r, a, "zone %s: %s", z->name, zones[n].error);
			return;
		}
		n++;
	}
	if (ds && zones[0].n_keys == 0) {
		ctl_reply_errorf(r, a, "zone %s has no published or active KSK or CSK", one->name);
		return;
	}
	r->dnssec.zones = zones;
	r->dnssec.n_zones = n;
	counters(d, &r->dnssec);
}

/* The next step after a change, for the operator. */
static const char *hint(const char *op, const cfg_zone_t *z, const char *role, unsigned tag,
                        aya_arena_t *a)
{
	unsigned ttl = z->dnssec.dnskey_ttl_s;
	bool sep = strcmp(role, "zsk") != 0;
	if (strcmp(op, "add") == 0) {
		return afmt(a,
		            "wait at least the DNSKEY TTL (%us) plus the longest TTL in the zone "
		            "%s, then: ayactl dnssec activate %s %u",
		            ttl,
		            sep ? "and give the parent the new DS (ayactl dnssec ds) and wait "
		                  "its DS TTL"
		                : "(every node of a cluster needs the new key files first)",
		            z->name, tag);
	}
	if (strcmp(op, "activate") == 0) {
		return afmt(a,
		            "wait the longest TTL in the zone%s, then remove the retired key: "
		            "ayactl dnssec remove %s TAG",
		            sep ? " and remove the old DS at the parent (then wait its DS TTL)"
		                : "",
		            z->name);
	}
	return sep ? "make sure the parent no longer has this key's DS" : "";
}

/* add, activate, remove: change the files, re-sign, reply with the zone's keys. */
static void change(ayad_t *d, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	const cfg_zone_t *z = signed_zone(d, req, r, a);
	if (z == NULL) {
		return;
	}
	const char *op = req->dnssec_op;
	char buf[4096], err[512] = "";
	const char *dir = ayad_dnssec_dir(d->cfg, z, buf, sizeof(buf));
	const char *role = req->role != NULL && req->role[0] != '\0' ? req->role
	                   : z->dnssec.split                         ? ""
	                                                             : "csk";
	uint16_t tag = (uint16_t)req->tag;
	int rc;
	if (strcmp(op, "add") == 0) {
		if (role[0] == '\0') {
			ctl_reply_errorf(r, a,
			                 "zone %s has a KSK and a ZSK (dnssec.split): give --ksk "
			                 "or --zsk",
			                 z->name);
			return;
		}
		if (strcmp(role, "ksk") != 0 && strcmp(role, "zsk") != 0 &&
		    strcmp(role, "csk") != 0) {
			ctl_reply_errorf(r, a, "unknown key role '%s' (ksk, zsk or csk)", role);
			return;
		}
		rc = dnsd_keys_add(z, dir, strcmp(role, "zsk") != 0, strcmp(role, "ksk") != 0, &tag,
		                   err, sizeof(err));
	} else if (req->tag > UINT16_MAX) {
		ctl_reply_errorf(r, a, "%u is not a key tag", req->tag);
		return;
	} else {
		/* The key's role, for the hint: read before it may be removed. */
		ctl_dnssec_zone_t before;
		role = "csk";
		if (zone_fill(d, z, false, a, &before) == 0) {
			for (size_t i = 0; i < before.n_keys; i++) {
				role = before.keys[i].tag == tag ? before.keys[i].role : role;
			}
		}
		rc = strcmp(op, "activate") == 0 ? dnsd_keys_activate(z, dir, tag, err, sizeof(err))
		                                 : dnsd_keys_remove(z, dir, tag, err, sizeof(err));
	}
	if (rc < 0) {
		ctl_reply_errorf(r, a, "%s", err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	const char *done = strcmp(op, "add") == 0        ? "added"
	                   : strcmp(op, "activate") == 0 ? "activated"
	                                                 : "removed";
	log_info("dnssec: zone %s: %s %s %u (ayactl)", z->name, done, role, tag);
	ayad_event(d, "dnssec: zone %s: %s %s %u", z->name, done, role, tag);
	err[0] = '\0';
	if ((rc = ayad_dnssec_resign(d, err, sizeof(err))) < 0) {
		log_err("dnssec: zone %s: keys changed, but re-signing failed: %s", z->name, err);
		ctl_reply_errorf(r, a,
		                 "zone %s: %s %s %u, but re-signing failed (still serving the "
		                 "previous signatures): %s",
		                 z->name, done, role, tag, err[0] != '\0' ? err : strerror(-rc));
		return;
	}
	ctl_dnssec_zone_t *zone = aya_arena_alloc(a, sizeof(*zone));
	if (zone == NULL) {
		ctl_reply_error(r, NULL);
		return;
	}
	(void)zone_fill(d, z, false, a, zone);
	r->dnssec.zones = zone;
	r->dnssec.n_zones = 1;
	r->dnssec.tag = tag;
	r->dnssec.changed = afmt(a, "zone %s: %s %s %u%s; re-signed", z->name, done, role, tag,
	                         strcmp(op, "add") == 0 ? " (published, not signing yet)" : "");
	r->dnssec.hint = hint(op, z, role, tag, a);
	counters(d, &r->dnssec);
}

void ayad_on_dnssec(void *arg, const ctl_request_t *req, ctl_reply_t *r, aya_arena_t *a)
{
	ayad_t *d = arg;
	const char *op = req->dnssec_op != NULL ? req->dnssec_op : "";
	r->dnssec.op = op;
	if (strcmp(op, "status") == 0 || strcmp(op, "ds") == 0) {
		status(d, req, strcmp(op, "ds") == 0, r, a);
	} else if (strcmp(op, "add") == 0 || strcmp(op, "activate") == 0 ||
	           strcmp(op, "remove") == 0) {
		change(d, req, r, a);
	} else {
		ctl_reply_errorf(r, a,
		                 "unknown dnssec operation '%s' (status, ds, add, activate, "
		                 "remove)",
		                 op);
	}
}
