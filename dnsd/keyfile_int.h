/*
 * The key files of dnsd/keys.c (keyfile.c): reading and writing one zone's
 * BIND-format .key/.private files and Aya .state files in a key directory,
 * and making new keys. Internal to dnsd's key store; control thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "dnsd/keys_int.h"

#define DNSD_KF_STAMP_LEN 15 /* "YYYYMMDDHHMMSS" and its NUL */

/* The Aya .state file's times (YYYYMMDDHHMMSS, "" = not yet). */
typedef struct dnsd_kf_stamps {
	char created[DNSD_KF_STAMP_LEN], published[DNSD_KF_STAMP_LEN], activated[DNSD_KF_STAMP_LEN],
	        retired[DNSD_KF_STAMP_LEN];
} dnsd_kf_stamps_t;

/* A key as read, with what only the rollover steps need. */
typedef struct dnsd_kf_entry {
	dnsd_key_t key;
	dnsd_kf_stamps_t st;
} dnsd_kf_entry_t;

/* Every key of one zone and algorithm in a directory. */
typedef struct dnsd_kf_dir {
	dnsd_kf_entry_t *v;
	size_t n;
	unsigned other_alg; /* keys of the zone with another algorithm (skipped) */
} dnsd_kf_dir_t;

/* "ECDSAP256SHA256", "ED25519". */
const char *dnsd_kf_alg_name(uint8_t alg);
/* "csk", "ksk", "zsk". */
const char *dnsd_kf_role(const dnsd_key_info_t *i) AYA_NONNULL(1);
/* The UTC time now as YYYYMMDDHHMMSS. */
void dnsd_kf_stamp(char out[DNSD_KF_STAMP_LEN]) AYA_NONNULL(1);
/* path (a .private file) with its suffix replaced by ext. */
void dnsd_kf_sibling(const char *path, const char *ext, char *out, size_t len) AYA_NONNULL(1, 2, 3);
/*
 * Every key of z's algorithm in dir, sorted by tag (other algorithms only
 * counted). 0, -ENOENT (no directory) or -errno/-EINVAL with err naming the file.
 */
int dnsd_kf_dir_read(const cfg_zone_t *z, const char *dir, dnsd_kf_dir_t *kd, char *err,
                     size_t errlen) AYA_NONNULL(1, 2, 3, 4) AYA_WUR;
void dnsd_kf_dir_fini(dnsd_kf_dir_t *kd) AYA_NONNULL(1);
void dnsd_kf_entry_fini(dnsd_kf_entry_t *e) AYA_NONNULL(1);
dnsd_kf_entry_t *dnsd_kf_dir_find(dnsd_kf_dir_t *kd, uint16_t tag) AYA_NONNULL(1);
/* Rewrite e's .state file (its role, state and times). */
int dnsd_kf_write_state(const dnsd_kf_entry_t *e, char *err, size_t errlen)
        AYA_NONNULL(1, 2) AYA_WUR;
/*
 * Make a key of z's algorithm with these roles and state, whose tag no key
 * of kd has, and write its three files in dir. *tag gets its tag.
 */
int dnsd_kf_make(const cfg_zone_t *z, const char *dir, const dnsd_kf_dir_t *kd, bool ksk, bool zsk,
                 dnsd_key_state_t state, uint16_t *tag, char *err, size_t errlen)
        AYA_NONNULL(1, 2, 3, 7, 8) AYA_WUR;
/* mkdir dir 0700 unless it exists. */
int dnsd_kf_mkdir(const char *dir, char *err, size_t errlen) AYA_NONNULL(1, 2) AYA_WUR;
