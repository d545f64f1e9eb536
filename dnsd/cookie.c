/*
 * DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 *
 *   server cookie = VERSION(1) = 1 | RESERVED(3) = 0 | TIMESTAMP(4) | HASH(8)
 *   HASH = SipHash-2-4(secret, client cookie | VERSION | RESERVED | TIMESTAMP
 *                               | client IP)
 *
 * Nodes behind one anycast address share the secret, so any of them accepts
 * a cookie another made. The MAC context is made once per dnsd_ctx_t and
 * re-keyed per query (EVP_MAC_init with a key does not allocate).
 *
 * Policy (RFC 7873 5.2.3): a missing, invalid or expired server cookie is
 * never answered with BADCOOKIE; the query is answered normally with a fresh
 * cookie, over UDP and TCP alike. Rate limiting cookieless UDP clients is
 * left to RRL.
 */
#include "dnsd/query_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "dnsd/snap_int.h"

int dnsd_cookie_init(dnsd_ctx_t *ctx)
{
	ctx->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	ctx->mac_ctx = ctx->mac != NULL ? EVP_MAC_CTX_new(ctx->mac) : NULL;
	return ctx->mac_ctx != NULL ? 0 : -ENOMEM;
}

void dnsd_cookie_fini(dnsd_ctx_t *ctx)
{
	EVP_MAC_CTX_free(ctx->mac_ctx);
	ctx->mac_ctx = NULL;
	EVP_MAC_free(ctx->mac);
	ctx->mac = NULL;
}

int dnsd_cookie_hash(dnsd_ctx_t *ctx, const uint8_t key[16], const uint8_t cc[8],
                     const uint8_t head[8], const struct sockaddr *src, uint8_t out[8])
{
	size_t size = 8, outl = 0;
	OSSL_PARAM params[] = {
	        OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
	        OSSL_PARAM_construct_end(),
	};
	uint8_t msg[8 + 8 + 16];
	size_t n = 16;
	memcpy(msg, cc, 8);
	memcpy(msg + 8, head, 8);
	if (src->sa_family == AF_INET) {
		memcpy(msg + n, &((const struct sockaddr_in *)(const void *)src)->sin_addr, 4);
		n += 4;
	} else if (src->sa_family == AF_INET6) {
		memcpy(msg + n, &((const struct sockaddr_in6 *)(const void *)src)->sin6_addr, 16);
		n += 16;
	}
	if (EVP_MAC_init(ctx->mac_ctx, key, 16, params) != 1 ||
	    EVP_MAC_update(ctx->mac_ctx, msg, n) != 1 ||
	    EVP_MAC_final(ctx->mac_ctx, out, &outl, 8) != 1 || outl != 8) {
		return -EINVAL;
	}
	return 0;
}

/* A fresh server cookie for this client at `now`. */
static void cookie_make(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const struct sockaddr *src,
                        uint32_t now)
{
	uint8_t *sc = ctx->q.out_sc;
	sc[0] = 1; /* VERSION */
	sc[1] = sc[2] = sc[3] = 0;
	dnsd_put32(sc + 4, now);
	if (dnsd_cookie_hash(ctx, snap->cookie_secret, ctx->q.cc, sc, src, sc + 8) != 0) {
		memset(sc + 8, 0, 8); /* the client will simply not validate it */
	}
}

bool dnsd_cookie_process(dnsd_ctx_t *ctx, const dnsd_snap_t *snap, const struct sockaddr *src,
                         uint32_t now)
{
	dnsd_query_t *q = &ctx->q;
	if (q->sc_len == DNSD_COOKIE_SERVER && q->sc[0] == 1 && q->sc[1] == 0 && q->sc[2] == 0 &&
	    q->sc[3] == 0) {
		uint32_t ts = dnsd_get32(q->sc + 4);
		/* Serial-number arithmetic (RFC 1982) so the 2106 wrap is harmless. */
		int32_t age = (int32_t)(now - ts);
		uint8_t mac[8];
		if (age <= DNSD_COOKIE_MAX_AGE_S && age >= -DNSD_COOKIE_MAX_SKEW_S &&
		    dnsd_cookie_hash(ctx, snap->cookie_secret, q->cc, q->sc, src, mac) == 0 &&
		    CRYPTO_memcmp(mac, q->sc + 8, 8) == 0) {
			if (age < DNSD_COOKIE_REFRESH_S) {
				memcpy(q->out_sc, q->sc, DNSD_COOKIE_SERVER);
			} else {
				cookie_make(ctx, snap, src, now);
			}
			return true;
		}
	}
	cookie_make(ctx, snap, src, now);
	return false;
}
