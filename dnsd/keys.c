/*
 * DNSSEC key store: a zone's keys as BIND-format files in a key directory
 * (their formats are keyfile.c's). Loading checks that every role (KSK,
 * ZSK) has an active key and makes the first keys; the rollover steps
 * change the files (the caller reloads and re-signs). DS records are
 * SHA-256 digests (RFC 4509) with EVP_Digest. Control thread only;
 * nothing here is on the query path.
 */
#include "dnsd/keys_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/compiler.h"
#include "dnsd/keyfile_int.h"

const char *dnsd_key_state_name(dnsd_key_state_t s)
{
	static const char *const names[] = {"published", "active", "retired"};
	return (unsigned)s < AYA_ARRAY_LEN(names) ? names[s] : "unknown";
}

uint16_t dnsd_key_tag(const uint8_t *rdata, size_t len)
{
	/* RFC 4034 appendix B (not algorithm 1). */
	uint32_t ac = 0;
	for (size_t i = 0; i < len; i++) {
		ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
	}
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

/* ---- the keyset ---- */

/* A role no active key has: "ksk", "zsk", or NULL when both are covered. */
static const char *uncovered(const dnsd_kf_entry_t *v, size_t n)
{
	bool k = false, s = false;
	for (size_t i = 0; i < n; i++) {
		if (v[i].key.info.state == DNSD_KEY_ACTIVE) {
			k = k || v[i].key.info.ksk;
			s = s || v[i].key.info.zsk;
		}
	}
	return !k ? "ksk" : !s ? "zsk" : NULL;
}

int dnsd_keyset_load(const cfg_zone_t *z, const char *dir, bool create, dnsd_keyset_t **out,
                     unsigned *made, char *err, size_t errlen)
{
	dnsd_kf_dir_t kd;
	char tmp[8];
	int rc;
	*out = NULL;
	if (made != NULL) {
		*made = 0;
	}
	if (err == NULL || errlen == 0) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	err[0] = '\0';
	if (create && (rc = dnsd_kf_mkdir(dir, err, errlen)) < 0) {
		return rc;
	}
	rc = dnsd_kf_dir_read(z, dir, &kd, err, errlen);
	if (rc == -ENOENT || (rc == 0 && kd.n == 0 && kd.other_alg == 0 && !create)) {
		dnsd_kf_dir_fini(&kd);
		snprintf(err, errlen, "zone %s: no key in %s", z->name, dir);
		return -ENOENT;
	}
	if (rc < 0) {
		return rc;
	}
	if (kd.n == 0 && kd.other_alg > 0) {
		snprintf(err, errlen, "zone %s: the keys in %s are not of algorithm %u (%s)",
		         z->name, dir, (unsigned)z->dnssec.algorithm,
		         dnsd_kf_alg_name((uint8_t)z->dnssec.algorithm));
		dnsd_kf_dir_fini(&kd);
		return -EINVAL;
	}
	if (kd.n == 0) {
		/* None yet: make them, each new key's tag unlike the ones before. */
		uint16_t tag;
		bool split = z->dnssec.split;
		rc = dnsd_kf_make(z, dir, &kd, true, !split, DNSD_KEY_ACTIVE, &tag, err, errlen);
		dnsd_kf_dir_fini(&kd);
		if (rc == 0 && split && (rc = dnsd_kf_dir_read(z, dir, &kd, err, errlen)) == 0) {
			rc = dnsd_kf_make(z, dir, &kd, false, true, DNSD_KEY_ACTIVE, &tag, err,
			                  errlen);
			dnsd_kf_dir_fini(&kd);
		}
		if (rc < 0 || (rc = dnsd_kf_dir_read(z, dir, &kd, err, errlen)) < 0) {
			return rc;
		}
		if (made != NULL) {
			*made = split ? 2 : 1;
		}
	}
	const char *role = uncovered(kd.v, kd.n);
	if (role != NULL) {
		snprintf(err, errlen, "zone %s: no active %s among the %zu key(s) in %s", z->name,
		         role, kd.n, dir);
		dnsd_kf_dir_fini(&kd);
		return -EINVAL;
	}
	dnsd_keyset_t *ks = calloc(1, sizeof(*ks));
	dnsd_key_t *keys = calloc(kd.n, sizeof(*keys));
	if (ks == NULL || keys == NULL) {
		free(ks);
		free(keys);
		dnsd_kf_dir_fini(&kd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < kd.n; i++) {
		keys[i] = kd.v[i].key; /* the keyset takes pkey and file */
		kd.v[i].key.pkey = NULL;
		kd.v[i].key.file = NULL;
	}
	memcpy(ks->apex, z->apex, aya_dname_len(z->apex));
	ks->algorithm = (uint8_t)z->dnssec.algorithm;
	ks->keys = keys;
	ks->n = kd.n;
	dnsd_kf_dir_fini(&kd);
	*out = ks;
	return 0;
}

void dnsd_keyset_free(dnsd_keyset_t *ks)
{
	if (ks == NULL) {
		return;
	}
	for (size_t i = 0; i < ks->n; i++) {
		EVP_PKEY_free(ks->keys[i].pkey);
		free(ks->keys[i].file);
	}
	free(ks->keys);
	free(ks);
}

size_t dnsd_keyset_count(const dnsd_keyset_t *ks)
{
	return ks->n;
}

void dnsd_keyset_info(const dnsd_keyset_t *ks, size_t i, dnsd_key_info_t *out)
{
	AYA_BUG_ON(i >= ks->n);
	*out = ks->keys[i].info;
}

int dnsd_keyset_ds(const dnsd_keyset_t *ks, size_t i, char *buf, size_t len)
{
	AYA_BUG_ON(i >= ks->n);
	const dnsd_key_t *k = &ks->keys[i];
	/* RFC 4509 2.1: SHA-256 over the owner's canonical wire form || DNSKEY RDATA. */
	uint8_t in[AYA_DNAME_MAX + DNSD_DNSKEY_RDATA_MAX], md[32];
	size_t ol = aya_dname_len(ks->apex);
	unsigned mdlen = 0;
	memcpy(in, ks->apex, ol);
	memcpy(in + ol, k->rdata, k->rdlen);
	if (EVP_Digest(in, ol + k->rdlen, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		return -EIO;
	}
	char owner[AYA_DNAME_STR_MAX];
	aya_dname_to_str(ks->apex, owner, sizeof(owner));
	int n = snprintf(buf, len, "%s IN DS %u %u 2 ", owner, k->info.tag, k->info.algorithm);
	for (unsigned j = 0; n >= 0 && j < mdlen; j++) {
		n += snprintf(buf + ((size_t)n < len ? (size_t)n : len - 1),
		              (size_t)n < len ? len - (size_t)n : 1, "%02X", md[j]);
	}
	return n >= 0 && (size_t)n < len ? n : -ENOSPC;
}

/* ---- rollover steps ---- */

int dnsd_keys_add(const cfg_zone_t *z, const char *dir, bool ksk, bool zsk, uint16_t *tag,
                  char *err, size_t errlen)
{
	if (!ksk && !zsk) {
		snprintf(err, errlen, "a key needs a role (ksk, zsk or both)");
		return -EINVAL;
	}
	dnsd_kf_dir_t kd;
	int rc = dnsd_kf_mkdir(dir, err, errlen);
	if (rc == 0) {
		rc = dnsd_kf_dir_read(z, dir, &kd, err, errlen);
	}
	if (rc < 0) {
		return rc;
	}
	rc = dnsd_kf_make(z, dir, &kd, ksk, zsk, DNSD_KEY_PUBLISHED, tag, err, errlen);
	dnsd_kf_dir_fini(&kd);
	return rc;
}

/* The zone's key directory read into kd, and key `tag` in it; kd is freed on error. */
static int key_open(const cfg_zone_t *z, const char *dir, uint16_t tag, dnsd_kf_dir_t *kd,
                    dnsd_kf_entry_t **e, char *err, size_t errlen)
{
	int rc = dnsd_kf_dir_read(z, dir, kd, err, errlen);
	if (rc < 0) {
		return rc;
	}
	*e = dnsd_kf_dir_find(kd, tag);
	if (*e == NULL) {
		snprintf(err, errlen, "zone %s has no key %u in %s", z->name, tag, dir);
		dnsd_kf_dir_fini(kd);
		return -ENOENT;
	}
	return 0;
}

int dnsd_keys_activate(const cfg_zone_t *z, const char *dir, uint16_t tag, char *err, size_t errlen)
{
	dnsd_kf_dir_t kd;
	dnsd_kf_entry_t *e;
	int rc = key_open(z, dir, tag, &kd, &e, err, errlen);
	if (rc < 0) {
		return rc;
	}
	if (e->key.info.state == DNSD_KEY_ACTIVE) {
		snprintf(err, errlen, "key %u of %s is already active", tag, z->name);
		rc = -EALREADY;
		goto out;
	}
	/* Every other active key sharing a role retires; none may be left without its other role.
	 */
	char stamp[DNSD_KF_STAMP_LEN];
	dnsd_kf_stamp(stamp);
	e->key.info.state = DNSD_KEY_ACTIVE;
	memcpy(e->st.activated, stamp, DNSD_KF_STAMP_LEN);
	e->st.retired[0] = '\0';
	for (size_t i = 0; i < kd.n; i++) {
		dnsd_kf_entry_t *o = &kd.v[i];
		if (o != e && o->key.info.state == DNSD_KEY_ACTIVE &&
		    ((o->key.info.ksk && e->key.info.ksk) ||
		     (o->key.info.zsk && e->key.info.zsk))) {
			o->key.info.state = DNSD_KEY_RETIRED;
			memcpy(o->st.retired, stamp, DNSD_KF_STAMP_LEN);
		}
	}
	const char *role = uncovered(kd.v, kd.n);
	if (role != NULL) {
		snprintf(err, errlen,
		         "activating %s %u of %s would retire the only active %s; add and activate "
		         "a key with that role first",
		         dnsd_kf_role(&e->key.info), tag, z->name, role);
		rc = -EBUSY;
		goto out;
	}
	/* The new key's file first: a crash in between leaves two active keys, never none. */
	rc = dnsd_kf_write_state(e, err, errlen);
	for (size_t i = 0; rc == 0 && i < kd.n; i++) {
		if (kd.v[i].key.info.state == DNSD_KEY_RETIRED && kd.v[i].st.retired[0] != '\0' &&
		    strcmp(kd.v[i].st.retired, stamp) == 0) {
			if (kd.v[i].st.created[0] == '\0') {
				memcpy(kd.v[i].st.created, stamp, DNSD_KF_STAMP_LEN); /* imported */
			}
			rc = dnsd_kf_write_state(&kd.v[i], err, errlen);
		}
	}
out:
	dnsd_kf_dir_fini(&kd);
	return rc;
}

int dnsd_keys_remove(const cfg_zone_t *z, const char *dir, uint16_t tag, char *err, size_t errlen)
{
	dnsd_kf_dir_t kd;
	dnsd_kf_entry_t *e;
	int rc = key_open(z, dir, tag, &kd, &e, err, errlen);
	if (rc < 0) {
		return rc;
	}
	if (e->key.info.state == DNSD_KEY_ACTIVE) {
		snprintf(err, errlen,
		         "key %u of %s is active: activate another %s first, then wait before "
		         "removing it",
		         tag, z->name, dnsd_kf_role(&e->key.info));
		rc = -EBUSY;
	} else {
		static const char *const exts[] = {".state", ".key", ".private"};
		char path[PATH_MAX];
		for (size_t i = 0; rc == 0 && i < AYA_ARRAY_LEN(exts); i++) {
			dnsd_kf_sibling(e->key.file, exts[i], path, sizeof(path));
			if (unlink(path) < 0 && errno != ENOENT) {
				rc = -errno;
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
			}
		}
	}
	dnsd_kf_dir_fini(&kd);
	return rc;
}
