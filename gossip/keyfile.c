/*
 * The saved keyring: what `ayactl keyring` made of the ring survives a
 * restart. One file in the state directory, mode 0600, replaced atomically
 * (a temporary file, fsync, rename), in the keyring file's own format so
 * that an operator can read it and copy it into the config:
 *
 *   # aya gossip keyring, saved by ayad after `ayactl keyring`
 *   # config-keyring 0123456789abcdef
 *   <base64 key, the primary>
 *   <base64 key>...
 *
 * The second line is the fingerprint (FNV-1a 64) of the config's keyring
 * when the file was saved: the rule of which ring applies at start
 * (gsp_repl_keyring) compares it with the config's keys now.
 */
#include "gossip/gossip_int.h"
#include "config/config.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define FP_TAG "# config-keyring "

uint64_t gsp_keys_fingerprint(const uint8_t (*keys)[GSP_KEY_LEN], size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < GSP_KEY_LEN; j++) {
			h = (h ^ keys[i][j]) * 0x100000001b3ull;
		}
	}
	return h;
}

/* The file's text into buf: 0 or -ENOSPC. */
static int render(const gsp_keyring_t *kr, uint64_t cfg_fp, char *buf, size_t len, size_t *out)
{
	int n = snprintf(buf, len,
	                 "# aya gossip keyring, saved by ayad after `ayactl keyring`\n" FP_TAG
	                 "%016" PRIx64 "\n",
	                 cfg_fp);
	size_t at = (size_t)n;
	for (size_t i = 0; i < gsp_keyring_count(kr); i++) {
		uint8_t key[GSP_KEY_LEN];
		if (at + 46 > len || gsp_keyring_get(kr, i, key) < 0) {
			return -ENOSPC;
		}
		at += (size_t)EVP_EncodeBlock((unsigned char *)buf + at, key, GSP_KEY_LEN);
		buf[at++] = '\n';
		OPENSSL_cleanse(key, sizeof(key));
	}
	*out = at;
	return 0;
}

int gsp_keyfile_save(const char *path, const gsp_keyring_t *kr, uint64_t cfg_fp)
{
	char text[128 + GSP_MAX_KEYS * 46], tmp[4096];
	size_t len = 0;
	int rc = render(kr, cfg_fp, text, sizeof(text), &len);
	if (rc < 0) {
		return rc;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		rc = errno != 0 ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
	}
out:
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

/* One line of the file into kr or *fp; 0 or -EBADMSG. */
static int take_line(char *line, gsp_keyring_t *kr, uint64_t *fp, bool *have_fp)
{
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, FP_TAG, strlen(FP_TAG)) == 0) {
		char *end = NULL;
		*fp = strtoull(line + strlen(FP_TAG), &end, 16);
		*have_fp = end != NULL && *end == '\0';
		return *have_fp ? 0 : -EBADMSG;
	}
	if (line[0] == '\0' || line[0] == '#') {
		return 0;
	}
	char id[9];
	const char *err = NULL;
	return gsp_keyring_apply(kr, "install", line, id, &err) == 0 ? 0 : -EBADMSG;
}

int gsp_keyfile_load(const char *path, gsp_keyring_t **out, uint64_t *cfg_fp)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return -errno;
	}
	gsp_keyring_t *kr = gsp_keyring_new();
	char line[256];
	bool have_fp = false;
	int rc = kr != NULL ? 0 : -ENOMEM;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		rc = take_line(line, kr, cfg_fp, &have_fp);
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (rc == 0 && (!have_fp || gsp_keyring_count(kr) == 0)) {
		rc = -EBADMSG;
	}
	if (rc < 0) {
		gsp_keyring_free(kr);
		return rc;
	}
	*out = kr;
	return 0;
}

/* <state_dir>/gossip.keyring into buf; false when the path is too long. */
static bool keyfile_path(const cfg_t *cfg, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s/%s", cfg->state_dir, GSP_KEYFILE) < len;
}

static uint64_t cfg_fp(const cfg_t *cfg)
{
	return gsp_keys_fingerprint(cfg->gossip.keys, cfg->gossip.n_keys);
}

static gsp_keyring_t *from_cfg(const cfg_t *cfg)
{
	const cfg_gossip_t *c = &cfg->gossip;
	gsp_keyring_t *kr = gsp_keyring_new();
	for (size_t i = 0; kr != NULL && i < c->n_keys; i++) {
		if (gsp_keyring_install(kr, c->keys[i]) < 0) {
			gsp_keyring_free(kr);
			return NULL;
		}
	}
	return kr;
}

static void primary_hex(const gsp_keyring_t *kr, char id[9])
{
	uint8_t key[GSP_KEY_LEN];
	id[0] = '\0';
	if (gsp_keyring_get(kr, 0, key) == 0) {
		gsp_key_id_hex(key, id);
	}
	OPENSSL_cleanse(key, sizeof(key));
}

gsp_keyring_t *gsp_repl_keyring(const cfg_t *cfg)
{
	char path[4096], id[9];
	uint64_t saved_fp = 0;
	gsp_keyring_t *kr = NULL;
	if (cfg->gossip.n_keys == 0) {
		return NULL;
	}
	int rc = keyfile_path(cfg, path, sizeof(path)) ? gsp_keyfile_load(path, &kr, &saved_fp)
	                                               : -ENAMETOOLONG;
	if (rc == 0 && saved_fp == cfg_fp(cfg)) {
		primary_hex(kr, id);
		log_info("gossip: keyring: %zu key(s) from %s (saved by ayactl keyring), primary "
		         "%s; "
		         "the config's keyring file %s has not changed since, so the saved ring "
		         "applies",
		         gsp_keyring_count(kr), path, id, cfg->gossip.keyring);
		return kr;
	}
	gsp_keyring_free(kr);
	if (rc == 0) {
		log_info(
		        "gossip: keyring: the config's keyring file %s changed since %s was saved: "
		        "its keys apply, the saved ring is removed",
		        cfg->gossip.keyring, path);
		unlink(path);
	} else if (rc != -ENOENT) {
		log_warn(
		        "gossip: keyring: cannot read %s: %s; the config's keyring file %s applies",
		        path, strerror(-rc), cfg->gossip.keyring);
	}
	return from_cfg(cfg);
}

void gsp_repl_keyring_save(const cfg_t *cfg, const gsp_keyring_t *kr)
{
	char path[4096];
	int rc = keyfile_path(cfg, path, sizeof(path)) ? gsp_keyfile_save(path, kr, cfg_fp(cfg))
	                                               : -ENAMETOOLONG;
	if (rc < 0) {
		log_err("gossip: keyring: cannot save the ring to %s/%s: %s; a restart goes back "
		        "to "
		        "the config's keyring file",
		        cfg->state_dir, GSP_KEYFILE, strerror(-rc));
	}
}
