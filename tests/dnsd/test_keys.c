/*
 * Unit tests for dnsd/keys.c, the DNSSEC key store: keys made on first
 * load (CSK, or KSK and ZSK), the same files loaded again, keys made by
 * ldns-keygen (tests/dnsd/keys/, their DS from `ldns-key2ds -n -2`), the
 * rollover steps (add, activate, remove) and the errors, each naming its
 * file. Each test works in its own scratch directory.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dnsd/dnsd.h"
#include "dnsd/keys_int.h"

/* Fixtures made once with ldns-keygen (ldnsutils 1.8.3). */
#define FIXTURES "tests/dnsd/keys"
#define FIX_P256 "Ksvc.example.com.+013+31252" /* -a ECDSAP256SHA256 -k */
#define FIX_ED "Ksvc.example.com.+015+11623"   /* -a ED25519 (a ZSK) */
/* `ldns-key2ds -n -2` of the .key files (-f for the ZSK). */
#define DS_P256                                                                                    \
	"svc.example.com. IN DS 31252 13 2 "                                                       \
	"6d8cef4b7ae232e217e4d303148a490d758d91b1d872511e065363914c684f38"
#define DS_ED                                                                                      \
	"svc.example.com. IN DS 11623 15 2 "                                                       \
	"1be99dfa076bc73f93d768a02529d78605a9afcbee9c37c4751d7abea6bc01bb"

typedef struct fx {
	char dir[PATH_MAX];
	char keys[PATH_MAX + 8]; /* dir/keys: not made yet */
	cfg_zone_t z;
	char err[512];
} fx_t;

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/aya-keys-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->keys, sizeof(f->keys), "%s/keys", f->dir);
	f->z.name = "svc.example.com";
	assert_true(aya_dname_from_str("svc.example.com", f->z.apex) > 0);
	f->z.dnssec = (cfg_dnssec_t){.enabled = true,
	                             .algorithm = CFG_DNSSEC_ECDSAP256SHA256,
	                             .signature_lifetime_s = 14 * 86400,
	                             .dnskey_ttl_s = 3600};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_t *f = *state;
	char cmd[PATH_MAX + 16];
	if (strncmp(f->dir, "/tmp/aya-keys-test.", 19) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
		assert_int_equal(system(cmd), 0);
	}
	free(f);
	return 0;
}

static void copy_fixture(const fx_t *f, const char *base, const char *ext)
{
	char src[PATH_MAX], dst[PATH_MAX + 64], cmd[3 * PATH_MAX];
	snprintf(src, sizeof(src), "%s/%s%s", FIXTURES, base, ext);
	snprintf(dst, sizeof(dst), "%s/%s%s", f->keys, base, ext);
	mkdir(f->keys, 0700);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
}

static void write_text(const fx_t *f, const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", f->keys, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static bool exists(const fx_t *f, const char *base, uint16_t tag, const char *ext)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s.+%03u+%05u%s", f->keys, base, 13, tag, ext);
	return access(path, F_OK) == 0;
}

static dnsd_keyset_t *load(fx_t *f, bool create, unsigned *made)
{
	dnsd_keyset_t *ks = NULL;
	int rc = dnsd_keyset_load(&f->z, f->keys, create, &ks, made, f->err, sizeof(f->err));
	if (rc != 0) {
		fail_msg("load: %d %s", rc, f->err);
	}
	return ks;
}

static dnsd_key_info_t info(const dnsd_keyset_t *ks, size_t i)
{
	dnsd_key_info_t in;
	dnsd_keyset_info(ks, i, &in);
	return in;
}

static void test_key_tag(void **state)
{
	(void)state;
	/* The fixture's DNSKEY RDATA: its tag is the one ldns-keygen put in the name. */
	static const uint8_t rdata[] = {
	        0x01, 0x01, 0x03, 0x0d, 0x45, 0xee, 0x82, 0xe5, 0x9d, 0x33, 0x40, 0xda, 0x68, 0x65,
	        0xa9, 0x65, 0x39, 0x87, 0x45, 0x97, 0x05, 0xb7, 0x6f, 0xdb, 0xba, 0xa4, 0x37, 0x2e,
	        0x8f, 0x40, 0xf7, 0x80, 0x55, 0x9c, 0x1e, 0x80, 0x8e, 0x37, 0x12, 0xda, 0x98, 0x6b,
	        0xad, 0xec, 0xdd, 0x03, 0x9c, 0x03, 0x78, 0xbd, 0x15, 0x3a, 0x27, 0x70, 0x8d, 0x22,
	        0x01, 0x46, 0x69, 0x64, 0xf3, 0x01, 0xda, 0x41, 0x99, 0x23, 0x67, 0xea};
	assert_int_equal(dnsd_key_tag(rdata, sizeof(rdata)), 31252);
	/* Odd length: the last byte is a high byte. */
	static const uint8_t odd[] = {0x01, 0x02, 0x03};
	assert_int_equal(dnsd_key_tag(odd, sizeof(odd)), 0x0102 + 0x0300);
	assert_string_equal(dnsd_key_state_name(DNSD_KEY_PUBLISHED), "published");
	assert_string_equal(dnsd_key_state_name(DNSD_KEY_ACTIVE), "active");
	assert_string_equal(dnsd_key_state_name(DNSD_KEY_RETIRED), "retired");
}

/* First load makes an active CSK; the next loads read the same key. */
static void test_create_csk(void **state)
{
	fx_t *f = *state;
	unsigned made = 9;
	dnsd_keyset_t *ks = load(f, true, &made);
	assert_int_equal(made, 1);
	assert_int_equal(dnsd_keyset_count(ks), 1);
	dnsd_key_info_t a = info(ks, 0);
	assert_true(a.ksk && a.zsk);
	assert_int_equal(a.flags, 257);
	assert_int_equal(a.algorithm, 13);
	assert_int_equal(a.state, DNSD_KEY_ACTIVE);
	assert_int_equal(ks->keys[0].rdlen, 4 + 64);
	assert_int_equal(dnsd_key_tag(ks->keys[0].rdata, ks->keys[0].rdlen), a.tag);
	uint8_t rdata[DNSD_DNSKEY_RDATA_MAX];
	memcpy(rdata, ks->keys[0].rdata, sizeof(rdata));

	struct stat st;
	assert_int_equal(stat(f->keys, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(a.file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(exists(f, "Ksvc.example.com", a.tag, ".key"));
	assert_true(exists(f, "Ksvc.example.com", a.tag, ".state"));
	dnsd_keyset_free(ks);

	ks = load(f, false, &made);
	assert_int_equal(made, 0);
	assert_int_equal(dnsd_keyset_count(ks), 1);
	dnsd_key_info_t b = info(ks, 0);
	assert_int_equal(b.tag, a.tag);
	assert_true(b.ksk && b.zsk);
	assert_int_equal(b.state, DNSD_KEY_ACTIVE);
	assert_memory_equal(ks->keys[0].rdata, rdata, 4 + 64);
	char ds[256];
	assert_true(dnsd_keyset_ds(ks, 0, ds, sizeof(ds)) > 0);
	char want[64];
	snprintf(want, sizeof(want), "svc.example.com. IN DS %u 13 2 ", a.tag);
	assert_int_equal(strncmp(ds, want, strlen(want)), 0);
	assert_int_equal(strlen(ds), strlen(want) + 64);
	assert_int_equal(dnsd_keyset_ds(ks, 0, ds, 40), -ENOSPC);
	dnsd_keyset_free(ks);
	dnsd_keyset_free(NULL);
}

/* Our files are what the DNS tools read: ldns-key2ds agrees with our DS. */
static void test_ldns_reads_ours(void **state)
{
	fx_t *f = *state;
	if (access("/usr/bin/ldns-key2ds", X_OK) != 0) {
		skip();
	}
	dnsd_keyset_t *ks = load(f, true, NULL);
	dnsd_key_info_t a = info(ks, 0);
	char ds[256], cmd[PATH_MAX + 64], line[512] = "";
	assert_true(dnsd_keyset_ds(ks, 0, ds, sizeof(ds)) > 0);
	snprintf(cmd, sizeof(cmd), "ldns-key2ds -n -2 %.*s.key", (int)(strlen(a.file) - 8), a.file);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	/* "owner.\tTTL\tIN\tDS\ttag 13 2 hex": compare the digest. */
	const char *hex = strrchr(line, ' ');
	assert_non_null(hex);
	assert_int_equal(strncasecmp(hex + 1, strrchr(ds, ' ') + 1, 64), 0);
	dnsd_keyset_free(ks);
}

static void test_create_split_and_ed25519(void **state)
{
	fx_t *f = *state;
	f->z.dnssec.split = true;
	f->z.dnssec.algorithm = CFG_DNSSEC_ED25519;
	unsigned made = 0;
	dnsd_keyset_t *ks = load(f, true, &made);
	assert_int_equal(made, 2);
	assert_int_equal(dnsd_keyset_count(ks), 2);
	unsigned ksk = 0, zsk = 0;
	for (size_t i = 0; i < 2; i++) {
		dnsd_key_info_t in = info(ks, i);
		assert_int_equal(in.algorithm, 15);
		assert_int_equal(in.state, DNSD_KEY_ACTIVE);
		assert_true(in.ksk != in.zsk);
		assert_int_equal(in.flags, in.ksk ? 257 : 256);
		assert_int_equal(ks->keys[i].rdlen, 4 + 32);
		ksk += in.ksk;
		zsk += in.zsk;
	}
	assert_int_equal(ksk, 1);
	assert_int_equal(zsk, 1);
	assert_true(info(ks, 0).tag < info(ks, 1).tag);
	dnsd_keyset_free(ks);
	ks = load(f, true, &made);
	assert_int_equal(made, 0);
	assert_int_equal(dnsd_keyset_count(ks), 2);
	dnsd_keyset_free(ks);
}

/* An ldns-keygen key without a .state file: active, a CSK by its SEP flag. */
static void test_import_ldns(void **state)
{
	fx_t *f = *state;
	copy_fixture(f, FIX_P256, ".key");
	copy_fixture(f, FIX_P256, ".private");
	unsigned made = 9;
	dnsd_keyset_t *ks = load(f, true, &made);
	assert_int_equal(made, 0);
	assert_int_equal(dnsd_keyset_count(ks), 1);
	dnsd_key_info_t in = info(ks, 0);
	assert_int_equal(in.tag, 31252);
	assert_int_equal(in.flags, 257);
	assert_true(in.ksk && in.zsk);
	assert_int_equal(in.state, DNSD_KEY_ACTIVE);
	char ds[256];
	assert_int_equal(dnsd_keyset_ds(ks, 0, ds, sizeof(ds)), (int)strlen(DS_P256));
	assert_int_equal(strcasecmp(ds, DS_P256), 0);
	dnsd_keyset_free(ks);

	/* The same .private alone: still the CSK (no .key: SEP). */
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s.key", f->keys, FIX_P256);
	assert_int_equal(unlink(path), 0);
	ks = load(f, false, NULL);
	assert_int_equal(info(ks, 0).tag, 31252);
	dnsd_keyset_free(ks);
}

/* The Ed25519 ZSK from ldns-keygen needs a KSK; add and activate one. */
static void test_import_ed25519_zsk(void **state)
{
	fx_t *f = *state;
	f->z.dnssec.algorithm = CFG_DNSSEC_ED25519;
	f->z.dnssec.split = true;
	copy_fixture(f, FIX_ED, ".key");
	copy_fixture(f, FIX_ED, ".private");
	dnsd_keyset_t *ks = NULL;
	int rc = dnsd_keyset_load(&f->z, f->keys, false, &ks, NULL, f->err, sizeof(f->err));
	assert_int_equal(rc, -EINVAL);
	assert_null(ks);
	assert_non_null(strstr(f->err, "no active ksk"));

	uint16_t tag = 0;
	assert_int_equal(dnsd_keys_add(&f->z, f->keys, true, false, &tag, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, tag, f->err, sizeof(f->err)), 0);
	ks = load(f, false, NULL);
	assert_int_equal(dnsd_keyset_count(ks), 2);
	for (size_t i = 0; i < 2; i++) {
		dnsd_key_info_t in = info(ks, i);
		assert_int_equal(in.state, DNSD_KEY_ACTIVE);
		if (in.tag == 11623) {
			assert_true(in.zsk && !in.ksk);
			assert_int_equal(in.flags, 256);
			char ds[256];
			assert_true(dnsd_keyset_ds(ks, i, ds, sizeof(ds)) > 0);
			assert_int_equal(strcasecmp(ds, DS_ED), 0);
		} else {
			assert_int_equal(in.tag, tag);
			assert_true(in.ksk && !in.zsk);
		}
	}
	dnsd_keyset_free(ks);
}

static size_t find(const dnsd_keyset_t *ks, uint16_t tag)
{
	for (size_t i = 0; i < dnsd_keyset_count(ks); i++) {
		if (info(ks, i).tag == tag) {
			return i;
		}
	}
	fail_msg("no key %u", tag);
	return 0;
}

/* A CSK rollover: add (published), activate (the old one retires), remove the old one. */
static void test_rollover(void **state)
{
	fx_t *f = *state;
	dnsd_keyset_t *ks = load(f, true, NULL);
	uint16_t old = info(ks, 0).tag;
	dnsd_keyset_free(ks);

	uint16_t tag = 0;
	assert_int_equal(dnsd_keys_add(&f->z, f->keys, true, true, &tag, f->err, sizeof(f->err)),
	                 0);
	assert_int_not_equal(tag, old);
	ks = load(f, false, NULL);
	assert_int_equal(dnsd_keyset_count(ks), 2);
	assert_int_equal(info(ks, find(ks, tag)).state, DNSD_KEY_PUBLISHED);
	assert_true(info(ks, find(ks, tag)).ksk && info(ks, find(ks, tag)).zsk);
	assert_int_equal(info(ks, find(ks, old)).state, DNSD_KEY_ACTIVE);
	dnsd_keyset_free(ks);

	/* Removing a key that signs, or activating one twice, is refused. */
	assert_int_equal(dnsd_keys_remove(&f->z, f->keys, old, f->err, sizeof(f->err)), -EBUSY);
	assert_non_null(strstr(f->err, "is active"));
	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, old, f->err, sizeof(f->err)),
	                 -EALREADY);
	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, 1, f->err, sizeof(f->err)), -ENOENT);
	assert_non_null(strstr(f->err, "no key 1"));
	assert_int_equal(dnsd_keys_remove(&f->z, f->keys, 1, f->err, sizeof(f->err)), -ENOENT);

	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, tag, f->err, sizeof(f->err)), 0);
	ks = load(f, false, NULL);
	assert_int_equal(info(ks, find(ks, tag)).state, DNSD_KEY_ACTIVE);
	assert_int_equal(info(ks, find(ks, old)).state, DNSD_KEY_RETIRED);
	dnsd_keyset_free(ks);

	assert_true(exists(f, "Ksvc.example.com", old, ".state"));
	assert_int_equal(dnsd_keys_remove(&f->z, f->keys, old, f->err, sizeof(f->err)), 0);
	assert_false(exists(f, "Ksvc.example.com", old, ".key"));
	assert_false(exists(f, "Ksvc.example.com", old, ".private"));
	assert_false(exists(f, "Ksvc.example.com", old, ".state"));
	ks = load(f, false, NULL);
	assert_int_equal(dnsd_keyset_count(ks), 1);
	assert_int_equal(info(ks, 0).tag, tag);
	dnsd_keyset_free(ks);

	/* A published key that never signed may go at once. */
	assert_int_equal(dnsd_keys_add(&f->z, f->keys, true, true, &tag, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(dnsd_keys_remove(&f->z, f->keys, tag, f->err, sizeof(f->err)), 0);
	assert_int_equal(dnsd_keys_add(&f->z, f->keys, false, false, &tag, f->err, sizeof(f->err)),
	                 -EINVAL);
}

/* Split roles: a ZSK replaces the ZSK only; a ZSK cannot retire a CSK (no KSK would be left). */
static void test_roles(void **state)
{
	fx_t *f = *state;
	f->z.dnssec.split = true;
	dnsd_keyset_t *ks = load(f, true, NULL);
	uint16_t ksk = 0, zsk = 0;
	for (size_t i = 0; i < 2; i++) {
		*(info(ks, i).ksk ? &ksk : &zsk) = info(ks, i).tag;
	}
	dnsd_keyset_free(ks);
	uint16_t nz = 0;
	assert_int_equal(dnsd_keys_add(&f->z, f->keys, false, true, &nz, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, nz, f->err, sizeof(f->err)), 0);
	ks = load(f, false, NULL);
	assert_int_equal(info(ks, find(ks, ksk)).state, DNSD_KEY_ACTIVE);
	assert_int_equal(info(ks, find(ks, zsk)).state, DNSD_KEY_RETIRED);
	assert_int_equal(info(ks, find(ks, nz)).state, DNSD_KEY_ACTIVE);
	assert_int_equal(info(ks, find(ks, nz)).flags, 256);
	dnsd_keyset_free(ks);

	/* A CSK retires both; then a ZSK alone would leave no active KSK. */
	uint16_t csk = 0;
	assert_int_equal(dnsd_keys_add(&f->z, f->keys, true, true, &csk, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, csk, f->err, sizeof(f->err)), 0);
	ks = load(f, false, NULL);
	assert_int_equal(info(ks, find(ks, ksk)).state, DNSD_KEY_RETIRED);
	assert_int_equal(info(ks, find(ks, nz)).state, DNSD_KEY_RETIRED);
	dnsd_keyset_free(ks);
	assert_int_equal(dnsd_keys_activate(&f->z, f->keys, zsk, f->err, sizeof(f->err)), -EBUSY);
	assert_non_null(strstr(f->err, "only active ksk"));
	/* Nothing was written: the CSK still signs alone. */
	ks = load(f, false, NULL);
	assert_int_equal(info(ks, find(ks, csk)).state, DNSD_KEY_ACTIVE);
	assert_int_equal(info(ks, find(ks, zsk)).state, DNSD_KEY_RETIRED);
	dnsd_keyset_free(ks);
}

static void expect_load_error(fx_t *f, int rc_want, const char *text)
{
	dnsd_keyset_t *ks = (dnsd_keyset_t *)1;
	int rc = dnsd_keyset_load(&f->z, f->keys, false, &ks, NULL, f->err, sizeof(f->err));
	if (rc != rc_want || ks != NULL || strstr(f->err, text) == NULL) {
		fail_msg("rc %d (want %d), err '%s' (want '%s')", rc, rc_want, f->err, text);
	}
}

static void test_errors(void **state)
{
	fx_t *f = *state;
	/* No directory, then an empty one, without create: nothing made. */
	expect_load_error(f, -ENOENT, "no key in");
	mkdir(f->keys, 0700);
	expect_load_error(f, -ENOENT, "no key in");
	struct stat st;
	assert_int_equal(stat(f->keys, &st), 0);

	/* Keys of another algorithm only. */
	copy_fixture(f, FIX_ED, ".private");
	expect_load_error(f, -EINVAL, "not of algorithm 13");

	/* A broken .private names its file. */
	const char *bad = "Ksvc.example.com.+013+31252.private";
	write_text(f, bad,
	           "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
	           "PrivateKey: !!!notbase64\n");
	expect_load_error(f, -EINVAL, "+013+31252.private: PrivateKey: bad base64");
	write_text(f, bad, "Algorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n");
	expect_load_error(f, -EINVAL, "31252.private: not a key file");
	write_text(f, bad,
	           "Private-key-format: v1.2\nAlgorithm: 8 (RSASHA256)\nPrivateKey: AAAA\n");
	expect_load_error(f, -EINVAL, "31252.private: Algorithm 8, expected 13");
	write_text(f, bad, "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n");
	expect_load_error(f, -EINVAL, "31252.private: no PrivateKey line");

	/* The fixture under another tag's name. */
	copy_fixture(f, FIX_P256, ".private");
	char from[PATH_MAX + 64], to[PATH_MAX + 64];
	snprintf(from, sizeof(from), "%s/%s.private", f->keys, FIX_P256);
	snprintf(to, sizeof(to), "%s/Ksvc.example.com.+013+00001.private", f->keys);
	assert_int_equal(rename(from, to), 0);
	expect_load_error(f, -EINVAL, "the key's tag is 31252, not the name's 1");
	assert_int_equal(unlink(to), 0);

	/* A .key that is another key's, and a .state that makes no sense. */
	copy_fixture(f, FIX_P256, ".private");
	write_text(f, FIX_P256 ".key",
	           "svc.example.com. IN DNSKEY 257 3 13 "
	           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	           "AAAAAAAAAAAAAAAAAAAAAA==\n");
	expect_load_error(f, -EINVAL, "31252.key: its public key is not the .private file's");
	copy_fixture(f, FIX_P256, ".key");
	write_text(f, FIX_P256 ".state", "Role: boss\nState: active\n");
	expect_load_error(f, -EINVAL, "31252.state: Role 'boss'");
	write_text(f, FIX_P256 ".state", "Role: csk\nState: sleeping\n");
	expect_load_error(f, -EINVAL, "31252.state: State 'sleeping'");
	write_text(f, FIX_P256 ".state", "Role: zsk\nState: active\n");
	expect_load_error(f, -EINVAL, "does not match the DNSKEY flags 257");
	write_text(f, FIX_P256 ".state", "Role: csk\nState: retired\n");
	expect_load_error(f, -EINVAL, "no active ksk among the 1 key(s)");
	write_text(f, FIX_P256 ".state", "; comment\nRole: csk\nState: active\nUnknown: x\n");
	dnsd_keyset_t *ks = load(f, false, NULL);
	assert_int_equal(info(ks, 0).tag, 31252);
	dnsd_keyset_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_key_tag),
	        cmocka_unit_test_setup_teardown(test_create_csk, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ldns_reads_ours, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_create_split_and_ed25519, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_import_ldns, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_import_ed25519_zsk, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rollover, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
