/*
 * TSIG keys and the zone options that use them (RFC 8945):
 *   keys: [{name: xfr-key., algorithm: hmac-sha256, secret: <base64>}]
 *   zones[].allow_transfer items: "192.0.2.0/24" (address only, as before),
 *     {key: xfr-key.} (any address signing with the key),
 *     {prefix: 192.0.2.0/24, key: xfr-key.} (both), {prefix: ...} (address only);
 *   zones[].notify: ["192.0.2.1:53", ...], zones[].notify_key: xfr-key.
 * Key names may be used before the keys: section: references are resolved
 * once the whole document is read (cfg_resolve_keys). A key nobody uses is a
 * warning; an unknown one, a bad secret or algorithm, a duplicate name an
 * error at its line.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

const char *const cfg_tsig_alg_names[] = {
        "hmac-sha256", "hmac-sha1", "hmac-sha224", "hmac-sha384", "hmac-sha512", "hmac-md5", NULL,
};

#define SECRET_MAX 128

/* A key name wanted by an allow_transfer item or notify_key, resolved after parsing. */
typedef struct key_ref {
	const char *name;
	cfg_loc_t loc;
	size_t *dst;
} key_ref_t;

static void key_ref_add(loader_t *ld, const char *name, cfg_loc_t loc, size_t *dst)
{
	*dst = CFG_NO_KEY;
	if (ld->n_key_refs == ld->cap_key_refs) {
		/* Arena storage: the old array is left for cfg_free(); a few KiB at most. */
		size_t cap = ld->cap_key_refs ? ld->cap_key_refs * 2 : 8;
		key_ref_t *r = cfg_alloc(ld, cap * sizeof(*r));
		if (r == NULL) {
			return;
		}
		if (ld->n_key_refs > 0) {
			memcpy(r, ld->key_refs, ld->n_key_refs * sizeof(*r));
		}
		ld->key_refs = r;
		ld->cap_key_refs = cap;
	}
	ld->key_refs[ld->n_key_refs++] = (key_ref_t){.name = name, .loc = loc, .dst = dst};
}

/* Strict RFC 4648 base64 (padding required). Returns the length or -1. */
static long b64_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t len = strlen(s), pad = 0;
	if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=') {
			pad++;
		} else if (pad > 0 || !(isalnum(c) || c == '+' || c == '/')) {
			return -1;
		}
	}
	if (pad > 2) {
		return -1;
	}
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	return n < 0 ? -1 : n - (long)pad;
}

static void parse_key(loader_t *ld, yaml_node_t *item, cfg_key_t *k)
{
	k->loc = cfg_y_loc(ld, item);
	if (item->type != YAML_MAPPING_NODE) {
		cfg_y_err(ld, item, "keys: expected a mapping {name, algorithm, secret}");
		return;
	}
	static const char *const known[] = {"name", "algorithm", "secret"};
	for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = cfg_y_node(ld, p->key);
		const char *s = kn != NULL ? cfg_y_scalar(ld, kn, "keys") : NULL;
		size_t i;
		for (i = 0; s != NULL && i < AYA_ARRAY_LEN(known) && strcmp(s, known[i]) != 0;
		     i++) {
		}
		if (s != NULL && i == AYA_ARRAY_LEN(known)) {
			cfg_y_err(ld, kn, "unknown key '%s' in keys", s);
		}
	}
	yaml_node_t *n = cfg_y_map_get(ld, item, "name");
	const char *name = n != NULL ? cfg_y_scalar(ld, n, "keys.name") : NULL;
	if (n == NULL) {
		cfg_y_err(ld, item, "keys: missing 'name'");
	} else if (name != NULL) {
		if (aya_dname_from_str(name, k->owner) < 0 || strcmp(name, ".") == 0) {
			cfg_y_err(ld, n, "keys.name: bad domain name '%s'", name);
		} else {
			aya_dname_lower(k->owner);
			char text[AYA_DNAME_STR_MAX];
			aya_dname_to_str(k->owner, text, sizeof(text));
			k->name = cfg_strdup(ld, text);
		}
	}
	yaml_node_t *a = cfg_y_map_get(ld, item, "algorithm");
	const char *alg = a != NULL ? cfg_y_scalar(ld, a, "keys.algorithm") : "hmac-sha256";
	if (alg != NULL) {
		size_t i;
		for (i = 0; i < CFG_TSIG_N_ALGS && strcasecmp(alg, cfg_tsig_alg_names[i]) != 0;
		     i++) {
		}
		if (i == CFG_TSIG_N_ALGS) {
			cfg_y_err(ld, a,
			          "keys.algorithm: unknown algorithm '%s' (hmac-sha256, "
			          "hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512, hmac-md5)",
			          alg);
		}
		k->alg = (cfg_tsig_alg_t)i;
	}
	yaml_node_t *sn = cfg_y_map_get(ld, item, "secret");
	const char *sec = sn != NULL ? cfg_y_scalar(ld, sn, "keys.secret") : NULL;
	if (sn == NULL) {
		cfg_y_err(ld, item, "keys: missing 'secret'");
	} else if (sec != NULL) {
		uint8_t buf[SECRET_MAX];
		long len = b64_decode(sec, buf, sizeof(buf));
		uint8_t *copy = len > 0 ? cfg_alloc(ld, (size_t)len) : NULL;
		if (len <= 0) {
			cfg_y_err(ld, sn, "keys.secret: expected base64 of 1 to %d bytes",
			          SECRET_MAX);
		} else if (copy != NULL) {
			memcpy(copy, buf, (size_t)len);
			k->secret = copy;
			k->secret_len = (size_t)len;
		}
		OPENSSL_cleanse(buf, sizeof(buf));
	}
}

CFG_FN(cfg_fn_keys)
{
	(void)it;
	cfg_t *cfg = base;
	long n = 0;
	cfg_key_t *keys = cfg_y_seq_alloc(ld, val, "keys", sizeof(*keys), &n);
	if (keys == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		cfg_key_t *key = &keys[k];
		unsigned errors = ld->d->errors;
		parse_key(ld, item, key);
		if (ld->d->errors != errors || key->name == NULL) {
			continue;
		}
		for (size_t j = 0; j < k; j++) {
			if (aya_dname_equal(keys[j].owner, key->owner)) {
				cfg_y_err(ld, item, "duplicate key '%s' (first defined at line %u)",
				          key->name, keys[j].loc.line);
				errors = UINT32_MAX;
				break;
			}
		}
		if (errors != UINT32_MAX) {
			k++;
		}
	}
	cfg->keys = keys;
	cfg->n_keys = k;
}

/* One mapping item of allow_transfer: {key}, {prefix}, or both. */
static bool parse_acl(loader_t *ld, yaml_node_t *item, cfg_xfr_acl_t *acl)
{
	acl->loc = cfg_y_loc(ld, item);
	acl->key = CFG_NO_KEY;
	acl->any_addr = true;
	yaml_node_t *p = cfg_y_map_get(ld, item, "prefix");
	yaml_node_t *k = cfg_y_map_get(ld, item, "key");
	bool ok = true;
	for (yaml_node_pair_t *pr = item->data.mapping.pairs.start;
	     pr < item->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = cfg_y_node(ld, pr->key);
		const char *s = kn != NULL ? cfg_y_scalar(ld, kn, "zone.allow_transfer") : NULL;
		if (s != NULL && strcmp(s, "prefix") != 0 && strcmp(s, "key") != 0) {
			cfg_y_err(ld, kn, "unknown key '%s' in zone.allow_transfer", s);
			ok = false;
		}
	}
	if (p == NULL && k == NULL) {
		cfg_y_err(ld, item, "zone.allow_transfer: expected 'prefix', 'key' or both");
		return false;
	}
	if (p != NULL) {
		const char *s = cfg_y_scalar(ld, p, "zone.allow_transfer.prefix");
		if (s != NULL && cfg_parse_prefix(s, &acl->prefix) != 0) {
			cfg_y_err(ld, p, "zone.allow_transfer: bad prefix '%s'", s);
			ok = false;
		}
		acl->any_addr = false;
		ok = ok && s != NULL;
	}
	if (k != NULL) {
		const char *s = cfg_y_scalar(ld, k, "zone.allow_transfer.key");
		if (s == NULL) {
			return false;
		}
		key_ref_add(ld, s, cfg_y_loc(ld, k), &acl->key);
	}
	return ok;
}

CFG_FN(cfg_fn_allow_transfer)
{
	(void)it;
	cfg_zone_t *z = base;
	long n = 0;
	cfg_prefix_t *out = cfg_y_seq_alloc(ld, val, "zone.allow_transfer", sizeof(*out), &n);
	cfg_xfr_acl_t *acl = out != NULL ? cfg_alloc(ld, (size_t)n * sizeof(*acl)) : NULL;
	if (out == NULL || acl == NULL) {
		return;
	}
	size_t k = 0, m = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		if (item != NULL && item->type == YAML_MAPPING_NODE) {
			m += parse_acl(ld, item, &acl[m]) ? 1 : 0;
			continue;
		}
		const char *s = cfg_y_scalar(ld, item, "zone.allow_transfer");
		if (s != NULL && cfg_parse_prefix(s, &out[k]) != 0) {
			cfg_y_err(ld, item, "zone.allow_transfer: bad prefix '%s'", s);
		} else if (s != NULL) {
			k++;
		}
	}
	z->xfr_allow = out;
	z->n_xfr_allow = k;
	z->xfr_acl = acl;
	z->n_xfr_acl = m;
}

CFG_FN(cfg_fn_notify)
{
	(void)it;
	cfg_zone_t *z = base;
	long n = 0;
	cfg_sockaddr_t *out = cfg_y_seq_alloc(ld, val, "zone.notify", sizeof(*out), &n);
	if (out == NULL) {
		return;
	}
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		yaml_node_t *item = cfg_y_seq_item(ld, val, i);
		const char *s = cfg_y_scalar(ld, item, "zone.notify");
		if (s != NULL && cfg_parse_sockaddr(s, 53, &out[k]) != 0) {
			cfg_y_err(ld, item, "zone.notify: bad address '%s'", s);
		} else if (s != NULL) {
			k++;
		}
	}
	z->notify = out;
	z->n_notify = k;
}

CFG_FN(cfg_fn_notify_key)
{
	(void)it;
	cfg_zone_t *z = base;
	z->notify_key = CFG_NO_KEY;
	if (val == NULL) {
		return;
	}
	const char *s = cfg_y_scalar(ld, val, "zone.notify_key");
	if (s != NULL) {
		key_ref_add(ld, s, cfg_y_loc(ld, val), &z->notify_key);
	}
}

void cfg_resolve_keys(loader_t *ld)
{
	const cfg_t *cfg = ld->cfg;
	bool *used = cfg->n_keys > 0 ? cfg_alloc(ld, cfg->n_keys * sizeof(*used)) : NULL;
	for (size_t i = 0; i < ld->n_key_refs; i++) {
		const key_ref_t *ref = &ld->key_refs[i];
		uint8_t wire[AYA_DNAME_MAX];
		size_t k = cfg->n_keys;
		if (aya_dname_from_str(ref->name, wire) >= 0) {
			for (k = 0; k < cfg->n_keys && !aya_dname_equal(cfg->keys[k].owner, wire);
			     k++) {
			}
		}
		if (k == cfg->n_keys) {
			cfg_y_err_at(ld, ref->loc, "unknown key '%s'", ref->name);
			continue;
		}
		*ref->dst = k;
		if (used != NULL) {
			used[k] = true;
		}
	}
	/* A zone signed online goes out unsigned by AXFR: its secondaries would serve it so. */
	for (size_t i = 0; i < cfg->n_zones; i++) {
		const cfg_zone_t *z = &cfg->zones[i];
		if (z->dnssec.enabled && (z->n_xfr_allow > 0 || z->n_xfr_acl > 0)) {
			cfg_y_warn_at(
			        ld, z->dnssec.loc,
			        "zone %s is signed online, but AXFR sends its records unsigned: a "
			        "secondary must sign it with the same keys, or not answer the "
			        "public for it",
			        z->name);
		}
	}
	for (size_t k = 0; used != NULL && k < cfg->n_keys; k++) {
		if (!used[k]) {
			cfg_y_warn_at(
			        ld, cfg->keys[k].loc,
			        "key '%s' is defined but used by no allow_transfer or notify_key",
			        cfg->keys[k].name);
		}
	}
}
