/*
 * The keyring (with the `ayactl keyring` operations by key id and base64
 * key), the sealed envelope and the replay window.
 *
 * Envelope (every UDP datagram and every TCP frame):
 *   u8 version (1 = AES-256-GCM) | key id (4) | nonce (12) | ciphertext | tag (16)
 * The first 17 bytes are the GCM additional data, so a flipped version or key
 * id fails authentication like a flipped ciphertext byte. The key id is the
 * first 4 bytes of SHA-256(key): the receiver tries the installed keys with
 * that id (normally one), so rotation costs no trial decryption. Nonces are
 * 96 random bits per packet (RAND_bytes); at gossip rates (tens of packets per
 * second per node) the birthday bound of 2^48 packets per key is far away.
 * Without keys (insecure mode) the envelope is u8 0 | plaintext, and a node
 * refuses the other mode's packets.
 *
 * Replay protection: the sealed payload names its sender and carries the
 * sender's packet sequence (Packet.from, Packet.seq); each node keeps, per
 * sender, the highest sequence and a REPLAY_BITS-wide bitmap below it (the
 * IPsec anti-replay window, RFC 4303 section 3.4.3). A sender starts its
 * sequence at wall-clock microseconds << 12 (node.c), so a restarted node
 * continues above its old packets, while replays of any old packet fall
 * below the window. The table is bounded (max senders); a full table
 * refuses new senders rather than forgetting old ones, since forgetting
 * would re-open their replay window.
 *
 * The window lives as long as the receiver's run and covers the packets
 * meant for this receiver only: every Packet also names the receiver's epoch
 * (random per run, proto/gossip.proto), checked before the window
 * (gossip/recv.c). A packet captured on its way to another node, or to an
 * earlier run of this one, fails that check, so the window never has to
 * know about it (gossip/epoch.c).
 */
#include "gossip/gossip_int.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

struct gsp_keyring {
	uint8_t keys[GSP_MAX_KEYS][GSP_KEY_LEN];
	uint8_t ids[GSP_MAX_KEYS][GSP_KEYID_LEN];
	size_t n;
};

static void key_id(const uint8_t key[GSP_KEY_LEN], uint8_t id[GSP_KEYID_LEN])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(key, GSP_KEY_LEN, md, &mdlen, EVP_sha256(), NULL) != 1) {
		memset(md, 0, sizeof(md));
	}
	memcpy(id, md, GSP_KEYID_LEN);
}

void gsp_key_id_hex(const uint8_t key[GSP_KEY_LEN], char out[9])
{
	uint8_t id[GSP_KEYID_LEN];
	key_id(key, id);
	snprintf(out, 9, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
}

gsp_keyring_t *gsp_keyring_new(void)
{
	return calloc(1, sizeof(gsp_keyring_t));
}

void gsp_keyring_free(gsp_keyring_t *kr)
{
	if (kr != NULL) {
		OPENSSL_cleanse(kr, sizeof(*kr));
	}
	free(kr);
}

static long key_find(const gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN])
{
	for (size_t i = 0; i < kr->n; i++) {
		if (CRYPTO_memcmp(kr->keys[i], key, GSP_KEY_LEN) == 0) {
			return (long)i;
		}
	}
	return -1;
}

int gsp_keyring_install(gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN])
{
	if (key_find(kr, key) >= 0) {
		return 0;
	}
	if (kr->n == GSP_MAX_KEYS) {
		return -ENOSPC;
	}
	memcpy(kr->keys[kr->n], key, GSP_KEY_LEN);
	key_id(key, kr->ids[kr->n]);
	kr->n++;
	return 0;
}

static void key_swap(gsp_keyring_t *kr, size_t a, size_t b)
{
	uint8_t k[GSP_KEY_LEN], id[GSP_KEYID_LEN];
	memcpy(k, kr->keys[a], GSP_KEY_LEN);
	memcpy(id, kr->ids[a], GSP_KEYID_LEN);
	memcpy(kr->keys[a], kr->keys[b], GSP_KEY_LEN);
	memcpy(kr->ids[a], kr->ids[b], GSP_KEYID_LEN);
	memcpy(kr->keys[b], k, GSP_KEY_LEN);
	memcpy(kr->ids[b], id, GSP_KEYID_LEN);
	OPENSSL_cleanse(k, sizeof(k));
}

int gsp_keyring_use(gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN])
{
	long i = key_find(kr, key);
	if (i < 0) {
		return -ENOENT;
	}
	key_swap(kr, 0, (size_t)i);
	return 0;
}

int gsp_keyring_remove(gsp_keyring_t *kr, const uint8_t key[GSP_KEY_LEN])
{
	long i = key_find(kr, key);
	if (i < 0) {
		return -ENOENT;
	}
	if (i == 0) {
		return -EBUSY;
	}
	for (size_t j = (size_t)i; j + 1 < kr->n; j++) {
		key_swap(kr, j, j + 1);
	}
	kr->n--;
	OPENSSL_cleanse(kr->keys[kr->n], GSP_KEY_LEN);
	return 0;
}

size_t gsp_keyring_count(const gsp_keyring_t *kr)
{
	return kr->n;
}

int gsp_keyring_get(const gsp_keyring_t *kr, size_t i, uint8_t out[GSP_KEY_LEN])
{
	if (i >= kr->n) {
		return -ENOENT;
	}
	memcpy(out, kr->keys[i], GSP_KEY_LEN);
	return 0;
}

/* Key i of the keyring whose id is `id` (any case) into key; -1 when none. */
static long key_by_id(const gsp_keyring_t *kr, const char *id, uint8_t key[GSP_KEY_LEN])
{
	for (size_t i = 0; i < kr->n; i++) {
		char hex[9];
		gsp_key_id_hex(kr->keys[i], hex);
		if (strcasecmp(hex, id) == 0) {
			memcpy(key, kr->keys[i], GSP_KEY_LEN);
			return (long)i;
		}
	}
	return -1;
}

/* A base64 AES-256 key (44 characters with padding) into key; false when it is not one. */
static bool key_decode(const char *b64, uint8_t key[GSP_KEY_LEN])
{
	uint8_t buf[64];
	size_t len = strlen(b64);
	if (len != 44) {
		return false;
	}
	int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts the padding as zero bytes: 33 = 32 + one '='. */
	if (n != 33 || b64[43] != '=' || b64[42] == '=') {
		return false;
	}
	memcpy(key, buf, GSP_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return true;
}

int gsp_keyring_apply(gsp_keyring_t *kr, const char *op, const char *arg, char changed_id[9],
                      const char **err)
{
	uint8_t key[GSP_KEY_LEN];
	int rc;
	arg = arg != NULL ? arg : "";
	*err = NULL;
	if (strcmp(op, "install") == 0) {
		if (!key_decode(arg, key)) {
			*err = "install: not a base64 AES-256 key (32 bytes, 44 characters)";
			return -EINVAL;
		}
		gsp_key_id_hex(key, changed_id);
		rc = gsp_keyring_install(kr, key);
		*err = rc == 0 ? NULL : "install: the keyring is full";
		OPENSSL_cleanse(key, sizeof(key));
		return rc;
	}
	if (strcmp(op, "use") != 0 && strcmp(op, "remove") != 0) {
		*err = "keyring: expected list, install KEY, use KEY_ID or remove KEY_ID";
		return -EINVAL;
	}
	if (key_by_id(kr, arg, key) < 0) {
		*err = "no installed key has that id (see ayactl keyring list)";
		return -ENOENT;
	}
	gsp_key_id_hex(key, changed_id);
	if (strcmp(op, "use") == 0) {
		rc = gsp_keyring_use(kr, key);
		*err = rc == 0 ? NULL : "use: failed";
	} else {
		rc = gsp_keyring_remove(kr, key);
		*err = rc == 0        ? NULL
		       : rc == -EBUSY ? "remove: that is the primary key; use another first"
		                      : "remove: failed";
	}
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* One AES-256-GCM operation; enc selects the direction. tag is written or checked. */
static bool gcm(bool enc, const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
                size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;
	bool ok = c != NULL &&
	          EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc ? 1 : 0) == 1 &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GSP_NONCE_LEN, NULL) == 1 &&
	          EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc ? 1 : 0) == 1 &&
	          EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	          (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
	if (ok && !enc) {
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GSP_TAG_LEN, tag) == 1;
	}
	ok = ok && EVP_CipherFinal_ex(c, out + (len == 0 ? 0 : (size_t)n), &n) == 1;
	if (ok && enc) {
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GSP_TAG_LEN, tag) == 1;
	}
	EVP_CIPHER_CTX_free(c);
	return ok;
}

long gsp_seal(const gsp_keyring_t *kr, const uint8_t *plain, size_t plen, uint8_t *out, size_t cap)
{
	if (plen > GSP_MAX_FRAME) {
		return -EMSGSIZE;
	}
	if (kr == NULL || kr->n == 0) {
		if (cap < plen + 1) {
			return -ENOBUFS;
		}
		out[0] = GSP_ENV_PLAIN;
		memcpy(out + 1, plain, plen);
		return (long)plen + 1;
	}
	if (cap < plen + GSP_ENV_OVERHEAD) {
		return -ENOBUFS;
	}
	out[0] = GSP_ENV_GCM;
	memcpy(out + 1, kr->ids[0], GSP_KEYID_LEN);
	uint8_t *nonce = out + 1 + GSP_KEYID_LEN;
	if (RAND_bytes(nonce, GSP_NONCE_LEN) != 1) {
		return -EIO;
	}
	uint8_t *ct = out + GSP_ENV_HDR;
	if (!gcm(true, kr->keys[0], nonce, out, GSP_ENV_HDR, plain, plen, ct, ct + plen)) {
		return -EIO;
	}
	return (long)(plen + GSP_ENV_OVERHEAD);
}

long gsp_open(const gsp_keyring_t *kr, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	bool keyed = kr != NULL && kr->n > 0;
	if (len < 1) {
		return -EPROTO;
	}
	if (in[0] == GSP_ENV_PLAIN) {
		if (keyed) {
			return -EPERM;
		}
		if (cap < len - 1) {
			return -ENOBUFS;
		}
		memcpy(out, in + 1, len - 1);
		return (long)len - 1;
	}
	if (in[0] != GSP_ENV_GCM) {
		return -EBADMSG;
	}
	if (!keyed) {
		return -EACCES;
	}
	if (len < GSP_ENV_OVERHEAD) {
		return -EPROTO;
	}
	size_t clen = len - GSP_ENV_OVERHEAD;
	if (cap < clen) {
		return -ENOBUFS;
	}
	uint8_t tag[GSP_TAG_LEN];
	memcpy(tag, in + len - GSP_TAG_LEN, GSP_TAG_LEN);
	for (size_t i = 0; i < kr->n; i++) {
		if (memcmp(kr->ids[i], in + 1, GSP_KEYID_LEN) != 0) {
			continue;
		}
		if (gcm(false, kr->keys[i], in + 1 + GSP_KEYID_LEN, in, GSP_ENV_HDR,
		        in + GSP_ENV_HDR, clen, out, tag)) {
			return (long)clen;
		}
	}
	return -EBADMSG;
}

long gsp_open_precheck(const gsp_keyring_t *kr, const uint8_t *in, size_t len, size_t total)
{
	bool keyed = kr != NULL && kr->n > 0;
	if (len < 1 || total < 1) {
		return total < 1 ? -EPROTO : 0;
	}
	if (in[0] == GSP_ENV_PLAIN) {
		return keyed ? -EPERM : 0;
	}
	if (in[0] != GSP_ENV_GCM) {
		return -EBADMSG;
	}
	if (!keyed) {
		return -EACCES;
	}
	if (total < GSP_ENV_OVERHEAD) {
		return -EPROTO;
	}
	if (len < 1 + GSP_KEYID_LEN) {
		return 0;
	}
	for (size_t i = 0; i < kr->n; i++) {
		if (memcmp(kr->ids[i], in + 1, GSP_KEYID_LEN) == 0) {
			return 0;
		}
	}
	return -EBADMSG;
}

/* ---- replay window ---- */

int gsp_replay_init(replay_t *r, size_t max_senders)
{
	r->cap = 256;
	r->n = 0;
	r->max = max_senders;
	r->tab = calloc(r->cap, sizeof(*r->tab));
	return r->tab != NULL ? 0 : -ENOMEM;
}

void gsp_replay_fini(replay_t *r)
{
	for (size_t i = 0; r->tab != NULL && i < r->cap; i++) {
		for (replay_ent_t *e = r->tab[i], *nx; e != NULL; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(r->tab);
	r->tab = NULL;
}

static void replay_grow(replay_t *r)
{
	size_t cap = r->cap * 2;
	replay_ent_t **tab = calloc(cap, sizeof(*tab));
	if (tab == NULL) {
		return; /* keep chaining longer; still correct */
	}
	for (size_t i = 0; i < r->cap; i++) {
		for (replay_ent_t *e = r->tab[i], *nx; e != NULL; e = nx) {
			nx = e->next;
			size_t b = aya_fnv1a_str(AYA_FNV_OFFSET, e->name) & (cap - 1);
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(r->tab);
	r->tab = tab;
	r->cap = cap;
}

static bool window_take(replay_ent_t *e, uint64_t seq)
{
	if (seq > e->top) {
		uint64_t shift = seq - e->top;
		if (shift >= REPLAY_BITS) {
			memset(e->bits, 0, sizeof(e->bits));
		} else {
			/* bit i of the window = sequence top - i; shift left by `shift`. */
			for (size_t s = 0; s < shift; s++) {
				for (size_t w = REPLAY_BITS / 64 - 1; w > 0; w--) {
					e->bits[w] = e->bits[w] << 1 | e->bits[w - 1] >> 63;
				}
				e->bits[0] <<= 1;
			}
		}
		e->top = seq;
		e->bits[0] |= 1;
		return true;
	}
	uint64_t off = e->top - seq;
	if (off >= REPLAY_BITS) {
		return false;
	}
	uint64_t mask = 1ull << (off % 64);
	if (e->bits[off / 64] & mask) {
		return false;
	}
	e->bits[off / 64] |= mask;
	return true;
}

bool gsp_replay_check(replay_t *r, const char *sender, uint64_t seq)
{
	size_t b = aya_fnv1a_str(AYA_FNV_OFFSET, sender) & (r->cap - 1);
	for (replay_ent_t *e = r->tab[b]; e != NULL; e = e->next) {
		if (strcmp(e->name, sender) == 0) {
			return window_take(e, seq);
		}
	}
	if (r->n >= r->max) {
		return false;
	}
	size_t nl = strlen(sender) + 1;
	replay_ent_t *e = calloc(1, sizeof(*e) + nl);
	if (e == NULL) {
		return false;
	}
	memcpy(e->name, sender, nl);
	e->top = seq;
	e->bits[0] = 1;
	e->next = r->tab[b];
	r->tab[b] = e;
	if (++r->n > r->cap) {
		replay_grow(r);
	}
	return true;
}
