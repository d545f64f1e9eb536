/*
 * Rendering of `dnssec`: text for people, the DS lines alone for `ds` (so
 * that `ayactl dnssec ds ZONE > ds.txt` is the file a registrar takes), and
 * JSON whose keys are stable (scripts depend on them): add keys, never
 * rename.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

static const char *alg_name(uint32_t alg)
{
	return alg == 13 ? "ECDSAP256SHA256" : alg == 15 ? "ED25519" : "unknown";
}

/* "2026-12-20 15:30:00 UTC" */
static void fmt_time(char *buf, size_t len, uint64_t s)
{
	time_t t = (time_t)s;
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		snprintf(buf, len, "%" PRIu64, s);
	}
}

/* "13d23h", "5h02m", "4m10s", "-": a span in seconds (negative: already past). */
static void fmt_span(char *buf, size_t len, int64_t s)
{
	const char *sign = s < 0 ? "-" : "";
	s = s < 0 ? -s : s;
	if (s >= 86400) {
		snprintf(buf, len, "%s%" PRId64 "d%02" PRId64 "h", sign, s / 86400, s / 3600 % 24);
	} else if (s >= 3600) {
		snprintf(buf, len, "%s%" PRId64 "h%02" PRId64 "m", sign, s / 3600, s / 60 % 60);
	} else if (s >= 60) {
		snprintf(buf, len, "%s%" PRId64 "m%02" PRId64 "s", sign, s / 60, s % 60);
	} else {
		snprintf(buf, len, "%s%" PRId64 "s", sign, s);
	}
}

static void write_keys(FILE *f, const ctl_dnssec_zone_t *z)
{
	fprintf(f, "  %-5s  %-4s  %-9s  %s\n", "TAG", "ROLE", "STATE", "FILE");
	for (size_t i = 0; i < z->n_keys; i++) {
		const ctl_dnssec_key_t *k = &z->keys[i];
		fprintf(f, "  %-5u  %-4s  %-9s  %s\n", k->tag, k->role, k->state, k->file);
	}
}

static void write_zone(FILE *f, const ctl_dnssec_zone_t *z, int64_t now)
{
	char life[32], ttl[32];
	fmt_span(life, sizeof(life), z->signature_lifetime_s);
	fmt_span(ttl, sizeof(ttl), z->dnskey_ttl_s);
	fprintf(f, "zone %s: %s (%u), %s, keys in %s\n", z->name, alg_name(z->algorithm),
	        z->algorithm, z->split ? "KSK and ZSK" : "combined key (CSK)", z->key_directory);
	fprintf(f, "  DNSKEY TTL %s, signature lifetime %s\n", ttl, life);
	if (z->is_signed && z->signed_at > 0) {
		char at[40], exp[40], left[32];
		fmt_time(at, sizeof(at), z->signed_at);
		fmt_time(exp, sizeof(exp), z->sig_expiry);
		fmt_span(left, sizeof(left), (int64_t)z->sig_expiry - now);
		fprintf(f, "  signed %s: %" PRIu64 " signature(s), earliest expiry %s (in %s)\n",
		        at, z->signatures, z->sig_expiry > 0 ? exp : "-",
		        z->sig_expiry > 0 ? left : "-");
	} else {
		fprintf(f, "  not signed by the served snapshot\n");
	}
	if (z->error != NULL && z->error[0] != '\0') {
		fprintf(f, "  keys: %s\n", z->error);
		return;
	}
	write_keys(f, z);
}

void ctl_dnssec_write_text(FILE *f, const ctl_dnssec_t *d)
{
	const char *op = d->op != NULL ? d->op : "";
	if (strcmp(op, "ds") == 0) {
		for (size_t i = 0; i < d->n_zones; i++) {
			for (size_t k = 0; k < d->zones[i].n_keys; k++) {
				const char *ds = d->zones[i].keys[k].ds;
				if (ds != NULL && ds[0] != '\0') {
					fprintf(f, "%s\n", ds);
				}
			}
		}
		return;
	}
	if (d->changed != NULL && d->changed[0] != '\0') {
		fprintf(f, "%s\n", d->changed);
		for (size_t i = 0; i < d->n_zones; i++) {
			write_keys(f, &d->zones[i]);
		}
		if (d->hint != NULL && d->hint[0] != '\0') {
			fprintf(f, "next: %s\n", d->hint);
		}
		return;
	}
	if (d->n_zones == 0) {
		fprintf(f, "no signed zones\n");
	}
	for (size_t i = 0; i < d->n_zones; i++) {
		write_zone(f, &d->zones[i], d->now_s);
	}
	fprintf(f,
	        "counters: %" PRIu64 " signed answer(s), %" PRIu64 " signature(s) from the cache, "
	        "%" PRIu64 " made per query, %" PRIu64 " failure(s)\n",
	        d->answers, d->cache_hits, d->signs, d->sign_failures);
}

static json_t *zone_json(const ctl_dnssec_zone_t *z)
{
	json_t *keys = json_array();
	for (size_t i = 0; keys != NULL && i < z->n_keys; i++) {
		const ctl_dnssec_key_t *k = &z->keys[i];
		if (json_array_append_new(keys,
		                          json_pack("{s:i, s:s, s:s, s:s, s:s}", "tag", (int)k->tag,
		                                    "role", k->role, "state", k->state, "file",
		                                    k->file, "ds", k->ds)) != 0) {
			json_decref(keys);
			return NULL;
		}
	}
	return json_pack("{s:s, s:i, s:s, s:b, s:s, s:I, s:I, s:b, s:I, s:I, s:I, s:o, s:s}",
	                 "name", z->name, "algorithm", (int)z->algorithm, "algorithm_name",
	                 alg_name(z->algorithm), "split", z->split, "key_directory",
	                 z->key_directory, "dnskey_ttl", (json_int_t)z->dnskey_ttl_s,
	                 "signature_lifetime", (json_int_t)z->signature_lifetime_s, "signed",
	                 z->is_signed, "signed_at", (json_int_t)z->signed_at, "sig_expiry",
	                 (json_int_t)z->sig_expiry, "signatures", (json_int_t)z->signatures, "keys",
	                 keys, "error", z->error != NULL ? z->error : "");
}

int ctl_dnssec_json(json_t *o, const ctl_dnssec_t *d)
{
	json_t *zones = json_array();
	int rc = zones == NULL ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < d->n_zones; i++) {
		rc = json_array_append_new(zones, zone_json(&d->zones[i]));
	}
	rc |= json_object_set_new(o, "op", json_string(d->op != NULL ? d->op : ""));
	rc |= json_object_set_new(o, "zones", zones);
	rc |= json_object_set_new(o, "changed", json_string(d->changed != NULL ? d->changed : ""));
	rc |= json_object_set_new(o, "hint", json_string(d->hint != NULL ? d->hint : ""));
	rc |= json_object_set_new(o, "tag", json_integer(d->tag));
	rc |= json_object_set_new(
	        o, "counters",
	        json_pack("{s:I, s:I, s:I, s:I}", "answers", (json_int_t)d->answers, "cache_hits",
	                  (json_int_t)d->cache_hits, "signs", (json_int_t)d->signs, "sign_failures",
	                  (json_int_t)d->sign_failures));
	rc |= json_object_set_new(o, "now", json_integer(d->now_s));
	return rc != 0 ? -1 : 0;
}
