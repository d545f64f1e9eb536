/*
 * DNSSEC key files (model: BIND's dnssec-keygen output, which ldns-keygen
 * also writes), for the key store of keys.c:
 *
 *   K<zone>.+<alg>+<tag>.key      "; comments" then "zone. ttl IN DNSKEY flags 3 alg base64"
 *   K<zone>.+<alg>+<tag>.private  "Private-key-format: v1.x", "Algorithm: 13 (...)",
 *                                 "PrivateKey: base64" (unknown lines ignored), mode 0600
 *   K<zone>.+<alg>+<tag>.state    Aya's: "Role: csk|ksk|zsk", "State: published|active|
 *                                 retired", and the times of the steps
 *
 * A key is its .private file: the public key is derived from it, and the
 * .key file, when present, must hold the same public key (its flags then say
 * SEP or not). A .private file without a .state file (imported from BIND or
 * ldns) is active; its role comes from the flags: 256 a ZSK, 257 (or no .key
 * file) a CSK, or a KSK in a zone with dnssec.split.
 *
 * Crypto is OpenSSL 3's: EVP key generation, P-256 private keys read
 * through their RFC 5915 DER form (OpenSSL derives the public point).
 * Files are written to a temporary name and renamed. Control thread only.
 */
#include "dnsd/keyfile_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/compiler.h"

#define PRIV_LEN 32 /* P-256 scalar, Ed25519 seed */
#define MAX_KEYS 64 /* of one zone and algorithm: a loop bound, far above any rollover */

/* "published", "active", "retired": dnsd_key_state_t's names (keys.c). */
static const char *const state_names[] = {"published", "active", "retired"};

const char *dnsd_kf_alg_name(uint8_t alg)
{
	return alg == CFG_DNSSEC_ED25519 ? "ED25519" : "ECDSAP256SHA256";
}

void dnsd_kf_stamp(char out[DNSD_KF_STAMP_LEN])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, DNSD_KF_STAMP_LEN, "%Y%m%d%H%M%S", &tm);
}

/* ---- base64 (OpenSSL's block coder; whitespace removed first) ---- */

static int b64_decode(const char *in, uint8_t *out, size_t max)
{
	char clean[512];
	size_t n = 0, pad = 0;
	for (const char *p = in; *p != '\0'; p++) {
		if (isspace((unsigned char)*p)) {
			continue;
		}
		if (n + 1 >= sizeof(clean)) {
			return -EINVAL;
		}
		pad = *p == '=' ? pad + 1 : 0;
		clean[n++] = *p;
	}
	if (n == 0 || n % 4 != 0 || pad > 2 || (n / 4) * 3 - pad > max) {
		return -EINVAL;
	}
	uint8_t buf[sizeof(clean)];
	int len = EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)n);
	if (len < 0 || (size_t)len < pad) {
		return -EINVAL;
	}
	len -= (int)pad;
	memcpy(out, buf, (size_t)len);
	return len;
}

static void b64_encode(const uint8_t *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* ---- keys from private bytes, and back ---- */

/* P-256: the RFC 5915 ECPrivateKey without its public key; OpenSSL derives the point. */
static EVP_PKEY *p256_from_priv(const uint8_t priv[PRIV_LEN])
{
	static const uint8_t head[] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
	static const uint8_t tail[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86,
	                               0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	uint8_t der[sizeof(head) + PRIV_LEN + sizeof(tail)];
	memcpy(der, head, sizeof(head));
	memcpy(der + sizeof(head), priv, PRIV_LEN);
	memcpy(der + sizeof(head) + PRIV_LEN, tail, sizeof(tail));
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)sizeof(der));
	OPENSSL_cleanse(der, sizeof(der));
	return k;
}

static EVP_PKEY *pkey_from_priv(uint8_t alg, const uint8_t priv[PRIV_LEN])
{
	if (alg == CFG_DNSSEC_ED25519) {
		return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, PRIV_LEN);
	}
	return p256_from_priv(priv);
}

static int priv_from_pkey(uint8_t alg, EVP_PKEY *k, uint8_t priv[PRIV_LEN])
{
	if (alg == CFG_DNSSEC_ED25519) {
		size_t len = PRIV_LEN;
		return EVP_PKEY_get_raw_private_key(k, priv, &len) == 1 && len == PRIV_LEN
		               ? 0
		               : -EINVAL;
	}
	BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1) {
		return -EINVAL;
	}
	int rc = BN_bn2binpad(bn, priv, PRIV_LEN) == PRIV_LEN ? 0 : -EINVAL;
	BN_clear_free(bn);
	return rc;
}

/* DNSKEY RDATA (RFC 4034 2.1; RFC 6605 4, RFC 8080 3) of k into key->rdata. */
static int make_rdata(dnsd_key_t *key, uint16_t flags, uint8_t alg)
{
	uint8_t *r = key->rdata;
	size_t len = 0;
	r[0] = (uint8_t)(flags >> 8);
	r[1] = (uint8_t)flags;
	r[2] = 3;
	r[3] = alg;
	if (alg == CFG_DNSSEC_ED25519) {
		len = 32;
		if (EVP_PKEY_get_raw_public_key(key->pkey, r + 4, &len) != 1 || len != 32) {
			return -EINVAL;
		}
	} else {
		uint8_t pt[65];
		if (EVP_PKEY_get_octet_string_param(key->pkey, OSSL_PKEY_PARAM_PUB_KEY, pt,
		                                    sizeof(pt), &len) != 1 ||
		    len != 65 || pt[0] != 0x04) {
			return -EINVAL;
		}
		memcpy(r + 4, pt + 1, 64); /* X || Y, no uncompressed-point prefix */
		len = 64;
	}
	key->rdlen = (uint16_t)(4 + len);
	key->info.tag = dnsd_key_tag(r, key->rdlen);
	key->info.algorithm = alg;
	key->info.flags = flags;
	return 0;
}

/* ---- file names ---- */

/* dir/K<zone>.+<alg>+<tag><ext> */
static int key_path(char *buf, size_t len, const char *dir, const cfg_zone_t *z, uint8_t alg,
                    uint16_t tag, const char *ext)
{
	int n = snprintf(buf, len, "%s/K%s.+%03u+%05u%s", dir, z->name, alg, tag, ext);
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* Replace the .private suffix of path with ext. */
void dnsd_kf_sibling(const char *path, const char *ext, char *out, size_t len)
{
	size_t base = strlen(path) - strlen(".private");
	snprintf(out, len, "%.*s%s", (int)base, path, ext);
}

/* "K<zone>.+AAA+TTTTT.private" of zone z: its algorithm and tag. */
static bool parse_name(const char *name, const cfg_zone_t *z, unsigned *alg, unsigned *tag)
{
	size_t zl = strlen(z->name);
	if (name[0] != 'K' || strncasecmp(name + 1, z->name, zl) != 0) {
		return false;
	}
	const char *p = name + 1 + zl;
	char ext[16];
	int used = 0;
	if (sscanf(p, ".+%3u+%5u%15s%n", alg, tag, ext, &used) != 3 || p[used] != '\0') {
		return false;
	}
	return strcmp(ext, ".private") == 0 && strlen(p) == strlen(".+000+00000.private");
}

/* ---- reading ---- */

/* "Key: value" of a line into *k and *v (trimmed, in place); false when not such a line. */
static bool split_line(char *line, char **k, char **v)
{
	char *c = strchr(line, ':');
	if (c == NULL || line[0] == ';' || line[0] == '#') {
		return false;
	}
	*c = '\0';
	*k = line;
	char *val = c + 1;
	while (isspace((unsigned char)*val)) {
		val++;
	}
	size_t n = strlen(val);
	while (n > 0 && isspace((unsigned char)val[n - 1])) {
		val[--n] = '\0';
	}
	*v = val;
	return true;
}

static int read_private(const char *path, uint8_t alg, uint8_t priv[PRIV_LEN], char *err,
                        size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	char line[1024];
	bool fmt = false, have = false;
	int got_alg = -1, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *k, *v;
		if (!split_line(line, &k, &v)) {
			continue;
		}
		if (strcmp(k, "Private-key-format") == 0) {
			fmt = strncmp(v, "v1.", 3) == 0;
		} else if (strcmp(k, "Algorithm") == 0) {
			got_alg = atoi(v);
		} else if (strcmp(k, "PrivateKey") == 0) {
			uint8_t b[PRIV_LEN];
			int n = b64_decode(v, b, sizeof(b));
			if (n <= 0) {
				snprintf(err, errlen, "%s: PrivateKey: bad base64 or length", path);
				rc = -EINVAL;
				break;
			}
			/* ldns writes a P-256 scalar without its leading zero bytes. */
			memset(priv, 0, PRIV_LEN);
			memcpy(priv + PRIV_LEN - (size_t)n, b, (size_t)n);
			OPENSSL_cleanse(b, sizeof(b));
			have = true;
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	if (rc == 0 && !fmt) {
		snprintf(err, errlen, "%s: not a key file (no Private-key-format: v1.x)", path);
		rc = -EINVAL;
	} else if (rc == 0 && got_alg != alg) {
		snprintf(err, errlen, "%s: Algorithm %d, expected %u (%s)", path, got_alg, alg,
		         dnsd_kf_alg_name(alg));
		rc = -EINVAL;
	} else if (rc == 0 && !have) {
		snprintf(err, errlen, "%s: no PrivateKey line", path);
		rc = -EINVAL;
	}
	return rc;
}

/*
 * The .key file beside a .private: its flags, after checking it holds the
 * same public key. -ENOENT when there is none.
 */
static int read_dnskey(const char *path, const dnsd_key_t *k, uint16_t *flags, char *err,
                       size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		if (e != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		}
		return -e;
	}
	char line[1024];
	int rc = -EINVAL;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *semi = strchr(line, ';');
		if (semi != NULL) {
			*semi = '\0';
		}
		char *tok[16], *save = NULL;
		size_t n = 0;
		for (char *t = strtok_r(line, " \t\r\n()", &save); t != NULL && n < 16;
		     t = strtok_r(NULL, " \t\r\n()", &save)) {
			tok[n++] = t;
		}
		size_t i = 0;
		while (i < n && strcasecmp(tok[i], "DNSKEY") != 0) {
			i++;
		}
		if (i == n) {
			continue;
		}
		found = true;
		char b64[512] = "";
		for (size_t j = i + 4; j < n; j++) {
			strncat(b64, tok[j], sizeof(b64) - strlen(b64) - 1);
		}
		uint8_t pub[64];
		int len = i + 4 <= n ? b64_decode(b64, pub, sizeof(pub)) : -EINVAL;
		unsigned fl = i + 3 < n ? (unsigned)atoi(tok[i + 1]) : 0;
		if (len != (int)k->rdlen - 4 || memcmp(pub, k->rdata + 4, (size_t)len) != 0 ||
		    atoi(tok[i + 3]) != k->rdata[3]) {
			snprintf(err, errlen, "%s: its public key is not the .private file's",
			         path);
		} else if (fl != 256 && fl != 257) {
			snprintf(err, errlen, "%s: flags %u (expected 256 or 257)", path, fl);
		} else {
			*flags = (uint16_t)fl;
			rc = 0;
		}
	}
	fclose(f);
	if (!found) {
		snprintf(err, errlen, "%s: no DNSKEY record", path);
	}
	return rc;
}

/* The .state file; -ENOENT when there is none. */
static int read_state(const char *path, dnsd_kf_entry_t *e, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		int er = errno;
		if (er != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(er));
		}
		return -er;
	}
	char line[256];
	bool role = false, state = false;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *k, *v;
		if (!split_line(line, &k, &v)) {
			continue;
		}
		if (strcmp(k, "Role") == 0) {
			role = true;
			e->key.info.ksk = strcmp(v, "csk") == 0 || strcmp(v, "ksk") == 0;
			e->key.info.zsk = strcmp(v, "csk") == 0 || strcmp(v, "zsk") == 0;
			if (!e->key.info.ksk && !e->key.info.zsk) {
				snprintf(err, errlen, "%s: Role '%s' (expected csk, ksk or zsk)",
				         path, v);
				rc = -EINVAL;
			}
		} else if (strcmp(k, "State") == 0) {
			size_t i = 0;
			while (i < AYA_ARRAY_LEN(state_names) && strcmp(v, state_names[i]) != 0) {
				i++;
			}
			if (i == AYA_ARRAY_LEN(state_names)) {
				snprintf(err, errlen,
				         "%s: State '%s' (expected published, active or retired)",
				         path, v);
				rc = -EINVAL;
			}
			e->key.info.state = (dnsd_key_state_t)i;
			state = true;
		} else {
			char *dst = strcmp(k, "Created") == 0     ? e->st.created
			            : strcmp(k, "Published") == 0 ? e->st.published
			            : strcmp(k, "Activated") == 0 ? e->st.activated
			            : strcmp(k, "Retired") == 0   ? e->st.retired
			                                          : NULL;
			if (dst != NULL) {
				snprintf(dst, DNSD_KF_STAMP_LEN, "%s", v);
			}
		}
	}
	fclose(f);
	if (rc == 0 && (!role || !state)) {
		snprintf(err, errlen, "%s: needs Role: and State: lines", path);
		rc = -EINVAL;
	}
	return rc;
}

void dnsd_kf_entry_fini(dnsd_kf_entry_t *e)
{
	EVP_PKEY_free(e->key.pkey);
	e->key.pkey = NULL;
	free(e->key.file);
	e->key.file = NULL;
}

/* One key from its .private file path. */
static int load_one(const cfg_zone_t *z, const char *path, unsigned name_tag, dnsd_kf_entry_t *e,
                    char *err, size_t errlen)
{
	uint8_t alg = (uint8_t)z->dnssec.algorithm, priv[PRIV_LEN];
	char side[PATH_MAX];
	memset(e, 0, sizeof(*e));
	int rc = read_private(path, alg, priv, err, errlen);
	if (rc < 0) {
		return rc;
	}
	e->key.pkey = pkey_from_priv(alg, priv);
	OPENSSL_cleanse(priv, sizeof(priv));
	e->key.file = strdup(path);
	if (e->key.file == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (e->key.pkey == NULL || make_rdata(&e->key, 257, alg) < 0) {
		snprintf(err, errlen, "%s: not a valid %s private key", path,
		         dnsd_kf_alg_name(alg));
		rc = -EINVAL;
		goto fail;
	}
	uint16_t flags = 257;
	dnsd_kf_sibling(path, ".key", side, sizeof(side));
	rc = read_dnskey(side, &e->key, &flags, err, errlen);
	if (rc < 0 && rc != -ENOENT) {
		goto fail;
	}
	if (flags != 257 && (rc = make_rdata(&e->key, flags, alg)) < 0) {
		goto fail;
	}
	if (e->key.info.tag != name_tag) {
		snprintf(err, errlen, "%s: the key's tag is %u, not the name's %u", path,
		         e->key.info.tag, name_tag);
		rc = -EINVAL;
		goto fail;
	}
	dnsd_kf_sibling(path, ".state", side, sizeof(side));
	rc = read_state(side, e, err, errlen);
	if (rc == -ENOENT) {
		/* Imported: active, with the role its flags and the zone's layout say. */
		e->key.info.state = DNSD_KEY_ACTIVE;
		e->key.info.ksk = flags == 257;
		e->key.info.zsk = flags == 256 || !z->dnssec.split;
		rc = 0;
	} else if (rc == 0 && e->key.info.ksk != (flags == 257)) {
		snprintf(err, errlen, "%s: role %s does not match the DNSKEY flags %u", side,
		         e->key.info.zsk ? "csk" : "ksk", flags);
		rc = -EINVAL;
	} else if (rc == 0 && !e->key.info.ksk && flags == 257) {
		snprintf(err, errlen, "%s: a zsk with the SEP flag (257)", side);
		rc = -EINVAL;
	}
	if (rc < 0) {
		goto fail;
	}
	e->key.info.file = e->key.file;
	return 0;
fail:
	dnsd_kf_entry_fini(e);
	return rc;
}

void dnsd_kf_dir_fini(dnsd_kf_dir_t *kd)
{
	for (size_t i = 0; i < kd->n; i++) {
		dnsd_kf_entry_fini(&kd->v[i]);
	}
	free(kd->v);
	*kd = (dnsd_kf_dir_t){0};
}

static int cmp_tag(const void *a, const void *b)
{
	const dnsd_kf_entry_t *x = a, *y = b;
	return (int)x->key.info.tag - (int)y->key.info.tag;
}

/* Every key of z's algorithm in dir, by tag. A missing dir: -ENOENT. */
int dnsd_kf_dir_read(const cfg_zone_t *z, const char *dir, dnsd_kf_dir_t *kd, char *err,
                     size_t errlen)
{
	*kd = (dnsd_kf_dir_t){0};
	DIR *d = opendir(dir);
	if (d == NULL) {
		int e = errno;
		snprintf(err, errlen, "key directory %s: %s", dir, strerror(e));
		return -e;
	}
	kd->v = calloc(MAX_KEYS, sizeof(*kd->v));
	int rc = kd->v == NULL ? -ENOMEM : 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		unsigned alg, tag;
		if (!parse_name(de->d_name, z, &alg, &tag)) {
			continue;
		}
		if (alg != (unsigned)z->dnssec.algorithm) {
			kd->other_alg++;
			continue;
		}
		if (kd->n == MAX_KEYS) {
			snprintf(err, errlen, "key directory %s: more than %d keys for %s", dir,
			         MAX_KEYS, z->name);
			rc = -E2BIG;
			break;
		}
		char path[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path)) {
			rc = -ENAMETOOLONG;
			snprintf(err, errlen, "%s/%s: name too long", dir, de->d_name);
			break;
		}
		rc = load_one(z, path, tag, &kd->v[kd->n], err, errlen);
		if (rc == 0) {
			kd->n++;
		}
	}
	closedir(d);
	if (rc < 0) {
		dnsd_kf_dir_fini(kd);
		return rc;
	}
	qsort(kd->v, kd->n, sizeof(*kd->v), cmp_tag);
	return 0;
}

dnsd_kf_entry_t *dnsd_kf_dir_find(dnsd_kf_dir_t *kd, uint16_t tag)
{
	for (size_t i = 0; i < kd->n; i++) {
		if (kd->v[i].key.info.tag == tag) {
			return &kd->v[i];
		}
	}
	return NULL;
}

/* ---- writing ---- */

/* Write text to path through path.tmp (mode) and a rename. */
static int write_file(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int rc = 0;
	if (fd < 0) {
		rc = -errno;
	} else {
		size_t len = strlen(text), off = 0;
		while (off < len) {
			ssize_t n = write(fd, text + off, len - off);
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
			off += (size_t)n;
		}
		if (rc == 0 && fsync(fd) < 0) {
			rc = -errno;
		}
		if (close(fd) < 0 && rc == 0) {
			rc = -errno;
		}
		if (rc == 0 && rename(tmp, path) < 0) {
			rc = -errno;
		}
		if (rc < 0) {
			(void)unlink(tmp);
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	}
	return rc;
}

const char *dnsd_kf_role(const dnsd_key_info_t *i)
{
	return i->ksk && i->zsk ? "csk" : i->ksk ? "ksk" : "zsk";
}

int dnsd_kf_write_state(const dnsd_kf_entry_t *e, char *err, size_t errlen)
{
	char path[PATH_MAX], text[512];
	dnsd_kf_sibling(e->key.file, ".state", path, sizeof(path));
	int n = snprintf(text, sizeof(text),
	                 "; Aya DNSSEC key state (ayactl dnssec add/activate/remove change it)\n"
	                 "Role: %s\nState: %s\nCreated: %s\n",
	                 dnsd_kf_role(&e->key.info), dnsd_key_state_name(e->key.info.state),
	                 e->st.created);
	const char *const names[] = {"Published", "Activated", "Retired"};
	const char *const vals[] = {e->st.published, e->st.activated, e->st.retired};
	for (size_t i = 0; i < AYA_ARRAY_LEN(names); i++) {
		if (vals[i][0] != '\0' && n > 0 && (size_t)n < sizeof(text)) {
			n += snprintf(text + n, sizeof(text) - (size_t)n, "%s: %s\n", names[i],
			              vals[i]);
		}
	}
	return write_file(path, text, 0644, err, errlen);
}

/* The .key, .private and .state files of a new key e (e->key.file set). */
static int write_new(const cfg_zone_t *z, const dnsd_kf_entry_t *e, char *err, size_t errlen)
{
	const dnsd_key_info_t *in = &e->key.info;
	uint8_t priv[PRIV_LEN];
	char b64[128], path[PATH_MAX], text[1024];
	int rc = priv_from_pkey(in->algorithm, e->key.pkey, priv);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot export the new key", e->key.file);
		return rc;
	}
	b64_encode(priv, PRIV_LEN, b64);
	OPENSSL_cleanse(priv, sizeof(priv));
	snprintf(text, sizeof(text),
	         "Private-key-format: v1.3\nAlgorithm: %u (%s)\nPrivateKey: %s\nCreated: %s\n"
	         "Publish: %s\n%s%s%s",
	         in->algorithm, dnsd_kf_alg_name(in->algorithm), b64, e->st.created,
	         e->st.published, e->st.activated[0] != '\0' ? "Activate: " : "", e->st.activated,
	         e->st.activated[0] != '\0' ? "\n" : "");
	OPENSSL_cleanse(b64, sizeof(b64));
	rc = write_file(e->key.file, text, 0600, err, errlen);
	OPENSSL_cleanse(text, sizeof(text));
	if (rc < 0) {
		return rc;
	}
	b64_encode(e->key.rdata + 4, (size_t)e->key.rdlen - 4, b64);
	snprintf(text, sizeof(text),
	         "; This is a %s, keyid %u, for %s. (made by Aya)\n"
	         "; Created: %s\n"
	         "%s. %u IN DNSKEY %u 3 %u %s\n",
	         in->ksk && in->zsk ? "combined signing key"
	         : in->ksk          ? "key-signing key"
	                            : "zone-signing key",
	         in->tag, z->name, e->st.created, z->name, z->dnssec.dnskey_ttl_s, in->flags,
	         in->algorithm, b64);
	dnsd_kf_sibling(e->key.file, ".key", path, sizeof(path));
	if ((rc = write_file(path, text, 0644, err, errlen)) < 0 ||
	    (rc = dnsd_kf_write_state(e, err, errlen)) < 0) {
		return rc;
	}
	return 0;
}

/* Make a key of z's algorithm whose tag no key in kd has, and write its files. */
int dnsd_kf_make(const cfg_zone_t *z, const char *dir, const dnsd_kf_dir_t *kd, bool ksk, bool zsk,
                 dnsd_key_state_t state, uint16_t *tag, char *err, size_t errlen)
{
	uint8_t alg = (uint8_t)z->dnssec.algorithm;
	dnsd_kf_entry_t e;
	for (int tries = 0;; tries++) {
		memset(&e, 0, sizeof(e));
		e.key.pkey = alg == CFG_DNSSEC_ED25519
		                     ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
		                     : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (e.key.pkey == NULL || make_rdata(&e.key, ksk ? 257 : 256, alg) < 0) {
			EVP_PKEY_free(e.key.pkey);
			snprintf(err, errlen, "%s: cannot make a %s key", z->name,
			         dnsd_kf_alg_name(alg));
			return -EIO;
		}
		bool clash = false;
		for (size_t i = 0; i < kd->n && !clash; i++) {
			clash = kd->v[i].key.info.tag == e.key.info.tag;
		}
		if (!clash || tries == 16) {
			break;
		}
		EVP_PKEY_free(e.key.pkey); /* RFC 4034 B: tags collide; make another */
	}
	e.key.info.ksk = ksk;
	e.key.info.zsk = zsk;
	e.key.info.state = state;
	dnsd_kf_stamp(e.st.created);
	memcpy(e.st.published, e.st.created, DNSD_KF_STAMP_LEN);
	if (state == DNSD_KEY_ACTIVE) {
		memcpy(e.st.activated, e.st.created, DNSD_KF_STAMP_LEN);
	}
	char path[PATH_MAX];
	int rc = key_path(path, sizeof(path), dir, z, alg, e.key.info.tag, ".private");
	if (rc == 0 && (e.key.file = strdup(path)) == NULL) {
		rc = -ENOMEM;
	}
	if (rc == 0) {
		rc = write_new(z, &e, err, errlen);
	} else {
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
	}
	*tag = e.key.info.tag;
	dnsd_kf_entry_fini(&e);
	return rc;
}

int dnsd_kf_mkdir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "key directory %s: %s", dir, strerror(e));
		return -e;
	}
	return 0;
}
