/*
 * DNSSEC key store: a zone's keys as BIND-format files in a key directory
 * (model: BIND's dnssec-keygen output, which ldns-keygen also writes):
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
 * through their RFC 5915 DER form (OpenSSL derives the public point), the
 * DS digest with EVP_Digest. Files are written to a temporary name and
 * renamed. Control thread only; nothing here is on the query path.
 */
#include "dnsd/keys_int.h"

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
#define STAMP_LEN 15
#define MAX_KEYS 64 /* of one zone and algorithm: a loop bound, far above any rollover */

/* The Aya .state file's times (YYYYMMDDHHMMSS, "" = not yet). */
typedef struct stamps {
	char created[STAMP_LEN], published[STAMP_LEN], activated[STAMP_LEN], retired[STAMP_LEN];
} stamps_t;

/* A key as read, with what only the rollover steps need. */
typedef struct kent {
	dnsd_key_t key;
	stamps_t st;
} kent_t;

/* Every key of one zone and algorithm in a directory. */
typedef struct kdir {
	kent_t *v;
	size_t n;
	unsigned other_alg; /* keys of the zone with another algorithm (skipped) */
} kdir_t;

static const char *const state_names[] = {"published", "active", "retired"};

const char *dnsd_key_state_name(dnsd_key_state_t s)
{
	return (unsigned)s < AYA_ARRAY_LEN(state_names) ? state_names[s] : "unknown";
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

static const char *alg_mnemonic(uint8_t alg)
{
	return alg == CFG_DNSSEC_ED25519 ? "ED25519" : "ECDSAP256SHA256";
}

static void stamp_now(char out[STAMP_LEN])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, STAMP_LEN, "%Y%m%d%H%M%S", &tm);
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
static void sibling(const char *path, const char *ext, char *out, size_t len)
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
		         alg_mnemonic(alg));
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
static int read_state(const char *path, kent_t *e, char *err, size_t errlen)
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
				snprintf(dst, STAMP_LEN, "%s", v);
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

static void kent_fini(kent_t *e)
{
	EVP_PKEY_free(e->key.pkey);
	e->key.pkey = NULL;
	free(e->key.file);
	e->key.file = NULL;
}

/* One key from its .private file path. */
static int load_one(const cfg_zone_t *z, const char *path, unsigned name_tag, kent_t *e, char *err,
                    size_t errlen)
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
		snprintf(err, errlen, "%s: not a valid %s private key", path, alg_mnemonic(alg));
		rc = -EINVAL;
		goto fail;
	}
	uint16_t flags = 257;
	sibling(path, ".key", side, sizeof(side));
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
	sibling(path, ".state", side, sizeof(side));
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
	kent_fini(e);
	return rc;
}

static void kdir_fini(kdir_t *kd)
{
	for (size_t i = 0; i < kd->n; i++) {
		kent_fini(&kd->v[i]);
	}
	free(kd->v);
	*kd = (kdir_t){0};
}

static int cmp_tag(const void *a, const void *b)
{
	const kent_t *x = a, *y = b;
	return (int)x->key.info.tag - (int)y->key.info.tag;
}

/* Every key of z's algorithm in dir, by tag. A missing dir: -ENOENT. */
static int kdir_read(const cfg_zone_t *z, const char *dir, kdir_t *kd, char *err, size_t errlen)
{
	*kd = (kdir_t){0};
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
		kdir_fini(kd);
		return rc;
	}
	qsort(kd->v, kd->n, sizeof(*kd->v), cmp_tag);
	return 0;
}

static kent_t *kdir_find(kdir_t *kd, uint16_t tag)
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

static const char *role_name(const dnsd_key_info_t *i)
{
	return i->ksk && i->zsk ? "csk" : i->ksk ? "ksk" : "zsk";
}

static int write_state(const kent_t *e, char *err, size_t errlen)
{
	char path[PATH_MAX], text[512];
	sibling(e->key.file, ".state", path, sizeof(path));
	int n = snprintf(text, sizeof(text),
	                 "; Aya DNSSEC key state (ayactl dnssec add/activate/remove change it)\n"
	                 "Role: %s\nState: %s\nCreated: %s\n",
	                 role_name(&e->key.info), dnsd_key_state_name(e->key.info.state),
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
static int write_new(const cfg_zone_t *z, const kent_t *e, char *err, size_t errlen)
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
	         in->algorithm, alg_mnemonic(in->algorithm), b64, e->st.created, e->st.published,
	         e->st.activated[0] != '\0' ? "Activate: " : "", e->st.activated,
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
	sibling(e->key.file, ".key", path, sizeof(path));
	if ((rc = write_file(path, text, 0644, err, errlen)) < 0 ||
	    (rc = write_state(e, err, errlen)) < 0) {
		return rc;
	}
	return 0;
}

/* Make a key of z's algorithm whose tag no key in kd has, and write its files. */
static int make_key(const cfg_zone_t *z, const char *dir, const kdir_t *kd, bool ksk, bool zsk,
                    dnsd_key_state_t state, uint16_t *tag, char *err, size_t errlen)
{
	uint8_t alg = (uint8_t)z->dnssec.algorithm;
	kent_t e;
	for (int tries = 0;; tries++) {
		memset(&e, 0, sizeof(e));
		e.key.pkey = alg == CFG_DNSSEC_ED25519
		                     ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
		                     : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (e.key.pkey == NULL || make_rdata(&e.key, ksk ? 257 : 256, alg) < 0) {
			EVP_PKEY_free(e.key.pkey);
			snprintf(err, errlen, "%s: cannot make a %s key", z->name,
			         alg_mnemonic(alg));
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
	stamp_now(e.st.created);
	memcpy(e.st.published, e.st.created, STAMP_LEN);
	if (state == DNSD_KEY_ACTIVE) {
		memcpy(e.st.activated, e.st.created, STAMP_LEN);
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
	kent_fini(&e);
	return rc;
}

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "key directory %s: %s", dir, strerror(e));
		return -e;
	}
	return 0;
}

/* ---- the keyset ---- */

/* A role no active key has: "ksk", "zsk", or NULL when both are covered. */
static const char *uncovered(const kent_t *v, size_t n)
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
	kdir_t kd;
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
	if (create && (rc = ensure_dir(dir, err, errlen)) < 0) {
		return rc;
	}
	rc = kdir_read(z, dir, &kd, err, errlen);
	if (rc == -ENOENT || (rc == 0 && kd.n == 0 && kd.other_alg == 0 && !create)) {
		kdir_fini(&kd);
		snprintf(err, errlen, "zone %s: no key in %s", z->name, dir);
		return -ENOENT;
	}
	if (rc < 0) {
		return rc;
	}
	if (kd.n == 0 && kd.other_alg > 0) {
		snprintf(err, errlen, "zone %s: the keys in %s are not of algorithm %u (%s)",
		         z->name, dir, (unsigned)z->dnssec.algorithm,
		         alg_mnemonic((uint8_t)z->dnssec.algorithm));
		kdir_fini(&kd);
		return -EINVAL;
	}
	if (kd.n == 0) {
		/* None yet: make them, each new key's tag unlike the ones before. */
		uint16_t tag;
		bool split = z->dnssec.split;
		rc = make_key(z, dir, &kd, true, !split, DNSD_KEY_ACTIVE, &tag, err, errlen);
		kdir_fini(&kd);
		if (rc == 0 && split && (rc = kdir_read(z, dir, &kd, err, errlen)) == 0) {
			rc = make_key(z, dir, &kd, false, true, DNSD_KEY_ACTIVE, &tag, err, errlen);
			kdir_fini(&kd);
		}
		if (rc < 0 || (rc = kdir_read(z, dir, &kd, err, errlen)) < 0) {
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
		kdir_fini(&kd);
		return -EINVAL;
	}
	dnsd_keyset_t *ks = calloc(1, sizeof(*ks));
	dnsd_key_t *keys = calloc(kd.n, sizeof(*keys));
	if (ks == NULL || keys == NULL) {
		free(ks);
		free(keys);
		kdir_fini(&kd);
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
	kdir_fini(&kd);
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
	kdir_t kd;
	int rc = ensure_dir(dir, err, errlen);
	if (rc == 0) {
		rc = kdir_read(z, dir, &kd, err, errlen);
	}
	if (rc < 0) {
		return rc;
	}
	rc = make_key(z, dir, &kd, ksk, zsk, DNSD_KEY_PUBLISHED, tag, err, errlen);
	kdir_fini(&kd);
	return rc;
}

int dnsd_keys_activate(const cfg_zone_t *z, const char *dir, uint16_t tag, char *err, size_t errlen)
{
	kdir_t kd;
	int rc = kdir_read(z, dir, &kd, err, errlen);
	if (rc < 0) {
		return rc;
	}
	kent_t *e = kdir_find(&kd, tag);
	if (e == NULL) {
		snprintf(err, errlen, "zone %s has no key %u in %s", z->name, tag, dir);
		rc = -ENOENT;
		goto out;
	}
	if (e->key.info.state == DNSD_KEY_ACTIVE) {
		snprintf(err, errlen, "key %u of %s is already active", tag, z->name);
		rc = -EALREADY;
		goto out;
	}
	/* Every other active key sharing a role retires; none may be left without its other role.
	 */
	char stamp[STAMP_LEN];
	stamp_now(stamp);
	e->key.info.state = DNSD_KEY_ACTIVE;
	memcpy(e->st.activated, stamp, STAMP_LEN);
	e->st.retired[0] = '\0';
	for (size_t i = 0; i < kd.n; i++) {
		kent_t *o = &kd.v[i];
		if (o != e && o->key.info.state == DNSD_KEY_ACTIVE &&
		    ((o->key.info.ksk && e->key.info.ksk) ||
		     (o->key.info.zsk && e->key.info.zsk))) {
			o->key.info.state = DNSD_KEY_RETIRED;
			memcpy(o->st.retired, stamp, STAMP_LEN);
		}
	}
	const char *role = uncovered(kd.v, kd.n);
	if (role != NULL) {
		snprintf(err, errlen,
		         "activating %s %u of %s would retire the only active %s; add and activate "
		         "a key with that role first",
		         role_name(&e->key.info), tag, z->name, role);
		rc = -EBUSY;
		goto out;
	}
	/* The new key's file first: a crash in between leaves two active keys, never none. */
	rc = write_state(e, err, errlen);
	for (size_t i = 0; rc == 0 && i < kd.n; i++) {
		if (kd.v[i].key.info.state == DNSD_KEY_RETIRED && kd.v[i].st.retired[0] != '\0' &&
		    strcmp(kd.v[i].st.retired, stamp) == 0) {
			if (kd.v[i].st.created[0] == '\0') {
				memcpy(kd.v[i].st.created, stamp, STAMP_LEN); /* imported */
			}
			rc = write_state(&kd.v[i], err, errlen);
		}
	}
out:
	kdir_fini(&kd);
	return rc;
}

int dnsd_keys_remove(const cfg_zone_t *z, const char *dir, uint16_t tag, char *err, size_t errlen)
{
	kdir_t kd;
	int rc = kdir_read(z, dir, &kd, err, errlen);
	if (rc < 0) {
		return rc;
	}
	kent_t *e = kdir_find(&kd, tag);
	if (e == NULL) {
		snprintf(err, errlen, "zone %s has no key %u in %s", z->name, tag, dir);
		rc = -ENOENT;
	} else if (e->key.info.state == DNSD_KEY_ACTIVE) {
		snprintf(err, errlen,
		         "key %u of %s is active: activate another %s first, then wait before "
		         "removing it",
		         tag, z->name, role_name(&e->key.info));
		rc = -EBUSY;
	} else {
		static const char *const exts[] = {".state", ".key", ".private"};
		char path[PATH_MAX];
		for (size_t i = 0; rc == 0 && i < AYA_ARRAY_LEN(exts); i++) {
			sibling(e->key.file, exts[i], path, sizeof(path));
			if (unlink(path) < 0 && errno != ENOENT) {
				rc = -errno;
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
			}
		}
	}
	kdir_fini(&kd);
	return rc;
}
