/*
 * Online signing: RRSIGs (RFC 4034 3, 6) over canonical RRsets with OpenSSL
 * EVP (ECDSA P-256 with SHA-256, RFC 6605; Ed25519, RFC 8080), compact
 * denial NSEC records (draft-ietf-dnsop-compact-denial-of-existence), and
 * the cache of signatures of RRsets chosen per query (see dnssec_int.h).
 *
 * Runs on the control thread at snapshot build and, for a cache miss, on the
 * query path: dnsd_sign allocates its canonical-form buffer and an EVP
 * context then, which the steady state (every answer's signature cached)
 * never does.
 */
#include "dnsd/dnssec_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "dnsd/keys_int.h"
#include "dnsd/wire_int.h"

uint8_t dnsd_sig_labels(const uint8_t *owner)
{
	unsigned n = aya_dname_labels(owner);
	if (owner[0] == 1 && owner[1] == '*' && n > 0) {
		n--;
	}
	return (uint8_t)n;
}

int dnsd_canon_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[AYA_DNAME_MAX / 2 + 1], *lb[AYA_DNAME_MAX / 2 + 1];
	size_t na = 0, nb = 0;
	for (const uint8_t *p = a; *p != 0; p += *p + 1) {
		la[na++] = p;
	}
	for (const uint8_t *p = b; *p != 0; p += *p + 1) {
		lb[nb++] = p;
	}
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		int c = memcmp(x + 1, y + 1, x[0] < y[0] ? x[0] : y[0]);
		if (c != 0) {
			return c;
		}
		if (x[0] != y[0]) {
			return x[0] < y[0] ? -1 : 1;
		}
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

static void lower_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z') {
			p[i] = (uint8_t)(p[i] + 32);
		}
	}
}

/* Lower-case the names of rd in place (RFC 4034 6.2 item 3, RFC 6840 5.1: not NSEC's). */
static void canon_names(uint16_t type, uint8_t *rd, size_t len)
{
	size_t off = 0;
	int names = 1;
	switch (type) {
	case 2:  /* NS */
	case 3:  /* MD */
	case 4:  /* MF */
	case 5:  /* CNAME */
	case 7:  /* MB */
	case 8:  /* MG */
	case 9:  /* MR */
	case 12: /* PTR */
	case 39: /* DNAME */
		break;
	case 6:  /* SOA */
	case 14: /* MINFO */
	case 17: /* RP */
		names = 2;
		break;
	case 15: /* MX */
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */
		off = 2;
		break;
	case 26: /* PX */
		off = 2;
		names = 2;
		break;
	case 33: /* SRV */
		off = 6;
		break;
	case 35: /* NAPTR: order, preference, flags, services, regexp, replacement */
		off = 4;
		for (int k = 0; k < 3; k++) {
			if (off >= len) {
				return;
			}
			off += 1 + (size_t)rd[off];
		}
		break;
	default:
		return;
	}
	for (int k = 0; k < names && off < len; k++) {
		size_t nl = dnsd_name_len_in(rd + off, len - off);
		if (nl == 0) {
			return;
		}
		lower_bytes(rd + off, nl);
		off += nl;
	}
}

/* One RDATA in canonical form, somewhere in a buffer. */
typedef struct crd {
	const uint8_t *p;
	uint16_t len;
} crd_t;

static int crd_cmp(const void *pa, const void *pb)
{
	const crd_t *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);
	if (c != 0) {
		return c;
	}
	return a->len < b->len ? -1 : a->len > b->len;
}

/*
 * The RDATAs of rq in canonical form and order, duplicates removed, copied
 * into buf (malloc'd by the caller, at least the sum of rdlen). Returns the
 * count kept.
 */
static size_t canon_set(const dnsd_sigreq_t *rq, uint8_t *buf, crd_t *out)
{
	size_t off = 0;
	for (size_t i = 0; i < rq->n; i++) {
		memcpy(buf + off, rq->rdata[i], rq->rdlen[i]);
		canon_names(rq->type, buf + off, rq->rdlen[i]);
		out[i].p = buf + off;
		out[i].len = rq->rdlen[i];
		off += rq->rdlen[i];
	}
	if (rq->n > 1) {
		qsort(out, rq->n, sizeof(*out), crd_cmp);
	}
	size_t k = 0;
	for (size_t i = 0; i < rq->n; i++) {
		if (k == 0 || crd_cmp(&out[k - 1], &out[i]) != 0) {
			out[k++] = out[i];
		}
	}
	return k;
}

static size_t rdata_sum(const dnsd_sigreq_t *rq)
{
	size_t sum = 0;
	for (size_t i = 0; i < rq->n; i++) {
		sum += rq->rdlen[i];
	}
	return sum;
}

/* r||s of a DER ECDSA signature, 32 bytes each. */
static int ecdsa_raw(const uint8_t *der, size_t der_len, uint8_t out[DNSD_SIG_LEN])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (sig == NULL) {
		return -EIO;
	}
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(sig, &r, &s);
	int ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -EIO;
}

static int sign_one(uint8_t alg, EVP_PKEY *pkey, const uint8_t *data, size_t len,
                    uint8_t out[DNSD_SIG_LEN])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	if (m == NULL) {
		return -ENOMEM;
	}
	int rc = -EIO;
	if (alg == 13) {
		uint8_t der[80];
		size_t der_len = sizeof(der);
		if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		    EVP_DigestSign(m, der, &der_len, data, len) == 1) {
			rc = ecdsa_raw(der, der_len, out);
		}
	} else {
		size_t sig_len = DNSD_SIG_LEN;
		if (EVP_DigestSignInit(m, NULL, NULL, NULL, pkey) == 1 &&
		    EVP_DigestSign(m, out, &sig_len, data, len) == 1 && sig_len == DNSD_SIG_LEN) {
			rc = 0;
		}
	}
	EVP_MD_CTX_free(m);
	return rc;
}

int dnsd_sign(const dnsd_zsign_t *zs, bool dnskey, const dnsd_sigreq_t *rq, uint8_t *out,
              size_t outmax)
{
	const dnsd_signkey_t *keys = dnskey ? zs->ksk : zs->zsk;
	unsigned nk = dnskey ? zs->n_ksk : zs->n_zsk;
	size_t hdr = DNSD_RRSIG_FIXED + zs->apex_len;
	size_t body = 10 + hdr + DNSD_SIG_LEN;
	if (nk == 0 || (size_t)nk * body > outmax || rq->n == 0) {
		return nk == 0 || rq->n == 0 ? -EINVAL : -ENOSPC;
	}
	size_t sum = rdata_sum(rq);
	/* The signed data: RRSIG RDATA without its signature, then every RR (RFC 4034 3.1.8.1). */
	size_t data_max = hdr + sum + rq->n * ((size_t)rq->owner_len + 10);
	uint8_t *canon = malloc(sum + 1);
	crd_t *set = malloc(rq->n * sizeof(*set));
	uint8_t *data = malloc(data_max);
	int rc = -ENOMEM;
	if (canon == NULL || set == NULL || data == NULL) {
		goto out;
	}
	size_t n = canon_set(rq, canon, set);
	size_t off = hdr;
	for (size_t i = 0; i < n; i++) {
		memcpy(data + off, rq->owner, rq->owner_len);
		lower_bytes(data + off, rq->owner_len);
		off += rq->owner_len;
		dnsd_put16(data + off, rq->type);
		dnsd_put16(data + off + 2, 1); /* IN */
		dnsd_put32(data + off + 4, rq->ttl);
		dnsd_put16(data + off + 8, set[i].len);
		memcpy(data + off + 10, set[i].p, set[i].len);
		off += 10 + (size_t)set[i].len;
	}
	uint8_t *o = out;
	for (unsigned k = 0; k < nk; k++) {
		uint8_t *h = data;
		dnsd_put16(h, rq->type);
		h[2] = zs->alg;
		h[3] = rq->labels;
		dnsd_put32(h + 4, rq->ttl);
		dnsd_put32(h + 8, zs->expiration);
		dnsd_put32(h + 12, zs->inception);
		dnsd_put16(h + 16, keys[k].tag);
		memcpy(h + DNSD_RRSIG_FIXED, zs->apex, zs->apex_len);
		dnsd_put16(o, DNSD_T_RRSIG);
		dnsd_put16(o + 2, 1);
		dnsd_put32(o + 4, rq->ttl);
		dnsd_put16(o + 8, (uint16_t)(hdr + DNSD_SIG_LEN));
		memcpy(o + 10, data, hdr);
		rc = sign_one(zs->alg, keys[k].pkey, data, off, o + 10 + hdr);
		if (rc != 0) {
			goto out;
		}
		o += body;
	}
	rc = (int)(o - out);
out:
	free(canon);
	free(set);
	free(data);
	return rc;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0x243f6a8885a308d3ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	return h;
}

/* Types whose RDATA has names to lower-case (canon_names); the others are compared as is. */
static bool has_names(uint16_t type)
{
	switch (type) {
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
	case 7:
	case 8:
	case 9:
	case 12:
	case 14:
	case 15:
	case 17:
	case 18:
	case 21:
	case 26:
	case 33:
	case 35:
	case 36:
	case 39:
		return true;
	default:
		return false;
	}
}

size_t dnsd_sig_key(const dnsd_sigreq_t *rq, uint8_t *key, size_t max, uint64_t *hash)
{
	size_t sum = rdata_sum(rq);
	size_t need = 8 + (size_t)rq->owner_len + 2 * rq->n + sum;
	uint8_t canon[DNSD_SIGKEY_MAX];
	crd_t set[64];
	if (need > max || sum > sizeof(canon) || rq->n == 0 || rq->n > AYA_ARRAY_LEN(set)) {
		return 0;
	}
	size_t n = rq->n;
	if (has_names(rq->type)) {
		n = canon_set(rq, canon, set);
	} else {
		/* The query path's case (addresses): sort pointers, no copy. */
		for (size_t i = 0; i < n; i++) {
			crd_t c = {rq->rdata[i], rq->rdlen[i]};
			size_t j = i;
			for (; j > 0 && crd_cmp(&set[j - 1], &c) > 0; j--) {
				set[j] = set[j - 1];
			}
			set[j] = c;
		}
	}
	dnsd_put16(key, rq->type);
	dnsd_put32(key + 2, rq->ttl);
	key[6] = rq->labels;
	key[7] = rq->owner_len;
	memcpy(key + 8, rq->owner, rq->owner_len);
	lower_bytes(key + 8, rq->owner_len);
	size_t off = 8 + (size_t)rq->owner_len;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && crd_cmp(&set[i - 1], &set[i]) == 0) {
			continue; /* a duplicate: RRsets are sets */
		}
		dnsd_put16(key + off, set[i].len);
		memcpy(key + off + 2, set[i].p, set[i].len);
		off += 2 + (size_t)set[i].len;
	}
	*hash = hash_bytes(key, off);
	return off;
}

int dnsd_sigcache_init(dnsd_sigcache_t *c, uint32_t slots)
{
	uint32_t size = 16;
	while (size < slots) {
		size <<= 1;
	}
	c->slot = calloc(size, sizeof(*c->slot));
	if (c->slot == NULL) {
		return -ENOMEM;
	}
	c->mask = size - 1;
	atomic_init(&c->used, 0);
	return 0;
}

void dnsd_sigcache_fini(dnsd_sigcache_t *c)
{
	if (c == NULL || c->slot == NULL) {
		return;
	}
	for (uint32_t i = 0; i <= c->mask; i++) {
		free(atomic_load_explicit(&c->slot[i], memory_order_relaxed));
	}
	free(c->slot);
	c->slot = NULL;
}

static bool ent_is(const dnsd_sigent_t *e, uint64_t hash, const uint8_t *key, size_t key_len)
{
	return e->hash == hash && e->key_len == key_len && memcmp(e->data, key, key_len) == 0;
}

const dnsd_sigent_t *dnsd_sigcache_find(const dnsd_sigcache_t *c, uint64_t hash, const uint8_t *key,
                                        size_t key_len)
{
	if (c->slot == NULL) {
		return NULL;
	}
	for (uint32_t i = 0; i < DNSD_SIGCACHE_PROBE; i++) {
		const dnsd_sigent_t *e =
		        atomic_load_explicit(&c->slot[(hash + i) & c->mask], memory_order_acquire);
		if (e == NULL) {
			return NULL;
		}
		if (ent_is(e, hash, key, key_len)) {
			return e;
		}
	}
	return NULL;
}

const dnsd_sigent_t *dnsd_sigcache_put(dnsd_sigcache_t *c, uint64_t hash, const uint8_t *key,
                                       size_t key_len, const uint8_t *sigs, size_t sig_len,
                                       unsigned n_sigs)
{
	if (c->slot == NULL || key_len > UINT16_MAX || sig_len > UINT16_MAX) {
		return NULL;
	}
	dnsd_sigent_t *e = malloc(sizeof(*e) + key_len + sig_len);
	if (e == NULL) {
		return NULL;
	}
	e->hash = hash;
	e->key_len = (uint16_t)key_len;
	e->sig_len = (uint16_t)sig_len;
	e->n_sigs = (uint8_t)n_sigs;
	memcpy(e->data, key, key_len);
	memcpy(e->data + key_len, sigs, sig_len);
	for (uint32_t i = 0; i < DNSD_SIGCACHE_PROBE; i++) {
		_Atomic(dnsd_sigent_t *) *slot = &c->slot[(hash + i) & c->mask];
		dnsd_sigent_t *cur = atomic_load_explicit(slot, memory_order_acquire);
		if (cur == NULL &&
		    atomic_compare_exchange_strong_explicit(slot, &cur, e, memory_order_acq_rel,
		                                            memory_order_acquire)) {
			atomic_fetch_add_explicit(&c->used, 1, memory_order_relaxed);
			return e;
		}
		if (cur != NULL && ent_is(cur, hash, key, key_len)) {
			free(e);
			return cur;
		}
	}
	free(e);
	return NULL;
}

static int type_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return x < y ? -1 : x > y;
}

size_t dnsd_nsec_rdata(const uint8_t *owner, const uint16_t *types, size_t n, uint8_t *out,
                       size_t max)
{
	size_t ol = aya_dname_len(owner);
	if (ol + 2 > AYA_DNAME_MAX || max < ol + 2) {
		return 0;
	}
	/* Next name: \000.owner, the owner's immediate successor in canonical order. */
	out[0] = 1;
	out[1] = 0;
	memcpy(out + 2, owner, ol);
	lower_bytes(out + 2, ol);
	size_t off = ol + 2;
	uint16_t t[300];
	size_t k = 0;
	for (size_t i = 0; i < n && k < AYA_ARRAY_LEN(t) - 2; i++) {
		t[k++] = types[i];
	}
	t[k++] = DNSD_T_RRSIG;
	t[k++] = DNSD_T_NSEC;
	qsort(t, k, sizeof(t[0]), type_cmp);
	/* RFC 4034 4.1.2: window blocks of the present types. */
	size_t i = 0;
	while (i < k) {
		unsigned win = t[i] >> 8;
		uint8_t bits[32] = {0};
		unsigned len = 0;
		for (; i < k && (t[i] >> 8) == win; i++) {
			unsigned lo = t[i] & 0xff;
			bits[lo / 8] |= (uint8_t)(0x80 >> (lo % 8));
			len = lo / 8 + 1 > len ? lo / 8 + 1 : len;
		}
		if (off + 2 + len > max) {
			return 0;
		}
		out[off] = (uint8_t)win;
		out[off + 1] = (uint8_t)len;
		memcpy(out + off + 2, bits, len);
		off += 2 + len;
	}
	return off;
}

int dnsd_zsign_init(dnsd_zsign_t *zs, const struct dnsd_keyset *ks, const uint8_t *apex,
                    uint8_t apex_len, uint64_t now_s, uint32_t lifetime_s, uint32_t dnskey_ttl,
                    char *err, size_t errlen)
{
	memset(zs, 0, sizeof(*zs));
	zs->alg = ks->algorithm;
	zs->apex = apex;
	zs->apex_len = apex_len;
	zs->dnskey_ttl = dnskey_ttl;
	zs->inception = (uint32_t)(now_s - 3600); /* clocks behind ours still accept it */
	zs->expiration = (uint32_t)(now_s + lifetime_s);
	for (size_t i = 0; i < ks->n; i++) {
		const dnsd_key_t *k = &ks->keys[i];
		if (k->info.algorithm != zs->alg) {
			continue;
		}
		if (k->info.zsk && k->info.state == DNSD_KEY_ACTIVE &&
		    zs->n_zsk < DNSD_SIGN_KEYS_MAX && EVP_PKEY_up_ref(k->pkey) == 1) {
			zs->zsk[zs->n_zsk++] = (dnsd_signkey_t){k->info.tag, k->pkey};
		}
		/* A retired KSK keeps signing the DNSKEY RRset until it is removed, so that a DS
		 * still naming it at the parent validates during the rollover. */
		if (k->info.ksk && k->info.state != DNSD_KEY_PUBLISHED &&
		    zs->n_ksk < DNSD_SIGN_KEYS_MAX && EVP_PKEY_up_ref(k->pkey) == 1) {
			zs->ksk[zs->n_ksk++] = (dnsd_signkey_t){k->info.tag, k->pkey};
		}
	}
	if (zs->n_zsk == 0 || zs->n_ksk == 0) {
		snprintf(err != NULL ? err : (char[1]){0}, err != NULL ? errlen : 1,
		         "no active key %s",
		         zs->n_zsk == 0 ? "signs the zone's records" : "signs the DNSKEY RRset");
		dnsd_zsign_fini(zs);
		return -EINVAL;
	}
	int rc = dnsd_sigcache_init(&zs->sets, DNSD_SIGCACHE_SLOTS);
	if (rc == 0) {
		rc = dnsd_sigcache_init(&zs->names, DNSD_SIGCACHE_SLOTS);
	}
	if (rc != 0) {
		dnsd_zsign_fini(zs);
	}
	return rc;
}

void dnsd_zsign_fini(dnsd_zsign_t *zs)
{
	if (zs == NULL) {
		return;
	}
	for (unsigned i = 0; i < zs->n_zsk; i++) {
		EVP_PKEY_free(zs->zsk[i].pkey);
	}
	for (unsigned i = 0; i < zs->n_ksk; i++) {
		EVP_PKEY_free(zs->ksk[i].pkey);
	}
	zs->n_zsk = zs->n_ksk = 0;
	dnsd_sigcache_fini(&zs->sets);
	dnsd_sigcache_fini(&zs->names);
}
