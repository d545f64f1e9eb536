/*
 * Unit tests for TSIG (dnsd/tsig.c, RFC 8945) and NOTIFY building
 * (dnsd/notify.c). Independent references: MACs computed with Python's
 * hmac module (the fixed vectors), and ldns's TSIG code, which signs the
 * queries and verifies the replies of the round trips. The error cases
 * (BADKEY, BADSIG, BADTIME, MAC sizes, TSIG not last) are one table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ldns/ldns.h>

#include "dnsd/dnsd.h"
#include "dnsd/query_int.h"
#include "dnsd/snap_int.h"
#include "dnsd/tsig_int.h"
#include "tests/dnsd/fixture.h"

static const char *const zone_com[] = {
        ("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 "
         "1209600 300"),
        "example.com. 3600 IN NS ns1.example.com.",
        "ns1 300 IN A 192.0.2.1",
        "www 300 IN A 192.0.2.10",
};

/* Key bytes 0x00..0x1f. */
#define SECRET_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
static uint8_t secret[32];

#define BIG_N 3000 /* TXT records of big.test: about 190 KB, three messages */
static char big_text[BIG_N + 1][96];
static const char *big_rrs[BIG_N + 1];

static fx_t fx;
static dnsd_snap_t *snap;
static dnsd_ctx_t *ctx;
static struct sockaddr_in client4;
static cfg_key_t keys[2];
static cfg_xfr_acl_t acl;

static void key_set(cfg_key_t *k, const char *name, cfg_tsig_alg_t alg)
{
	assert_true(aya_dname_from_str(name, k->owner) > 0);
	k->name = name;
	k->alg = alg;
	k->secret = secret;
	k->secret_len = sizeof(secret);
}

static int setup(void **state)
{
	(void)state;
	char err[256];
	for (size_t i = 0; i < sizeof(secret); i++) {
		secret[i] = (uint8_t)i;
	}
	snprintf(big_text[0], sizeof(big_text[0]),
	         "big.test. 3600 IN SOA ns.big.test. h.big.test. 7 3600 600 86400 60");
	for (size_t i = 1; i <= BIG_N; i++) {
		snprintf(big_text[i], sizeof(big_text[i]),
		         "r%zu 300 IN TXT \"record %zu, padded to make the zone big\"", i, i);
	}
	for (size_t i = 0; i <= BIG_N; i++) {
		big_rrs[i] = big_text[i];
	}
	if (fx_init(&fx) != 0 || fx_add_zone(&fx, "example.com.", zone_com, 4) != 0 ||
	    fx_add_zone(&fx, "big.test.", big_rrs, BIG_N + 1) != 0) {
		return -1;
	}
	key_set(&keys[0], "xfr-key.", CFG_TSIG_HMAC_SHA256);
	key_set(&keys[1], "sha1-key.", CFG_TSIG_HMAC_SHA1);
	fx.cfg.keys = keys;
	fx.cfg.n_keys = 2;
	acl = (cfg_xfr_acl_t){.key = 0, .any_addr = true};
	fx.zones[0].xfr_acl = &acl;
	fx.zones[0].n_xfr_acl = 1;
	fx.zones[1].xfr_acl = &acl;
	fx.zones[1].n_xfr_acl = 1;
	if (dnsd_snap_build(&fx.cfg, NULL, &snap, err, sizeof(err)) != 0) {
		fprintf(stderr, "snap: %s\n", err);
		return -1;
	}
	ctx = dnsd_ctx_new();
	client4.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7", &client4.sin_addr); /* in no prefix */
	return ctx != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dnsd_ctx_free(ctx);
	dnsd_snap_free(snap);
	fx_fini(&fx);
	return 0;
}

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* dnsd_tsig_mac against MACs computed with Python's hmac over the same bytes. */
static void test_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t key;
		const char *mac;
	} cases[] = {
	        {"hmac-sha256", 0,
	         "a30bebe3aec336fbad534796a64605d3b820d0f50cb49d49f036dc832db3a9f0"},
	        {"hmac-sha1", 1, "a30a41cb29da3a31bd27f3d2936db3396566c613"},
	};
	uint8_t q[512];
	size_t qlen =
	        fx_query(&(fx_q_t){.name = "example.com.", .type = 6, .id = 0x1234}, q, sizeof(q));
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		const dnsd_tsig_key_t *k = &snap->keys[cases[i].key];
		dnsd_tsig_rr_t v = {.name = (const uint8_t *)"\x07xfr-key",
		                    .name_len = 9,
		                    .time_signed = 1700000000,
		                    .fudge = 300};
		v.alg = dnsd_tsig_alg_wire(k->alg, &v.alg_len);
		uint8_t mac[DNSD_TSIG_MAC_MAX], want[DNSD_TSIG_MAC_MAX];
		size_t n = strlen(cases[i].mac) / 2;
		hex(cases[i].mac, want, n);
		assert_int_equal(dnsd_tsig_mac(ctx->hmac_ctx, k, NULL, 0, q, qlen, 0x1234, 0, &v,
		                               false, mac),
		                 0);
		assert_int_equal(n, dnsd_tsig_mac_size(k->alg));
		if (memcmp(mac, want, n) != 0) {
			fail_msg("%s: MAC differs from the reference", cases[i].name);
		}
	}
}

/* A query signed by ldns (time now), as wire. */
static size_t ldns_signed(const char *qname, ldns_rr_type type, uint16_t id, const char *key,
                          const char *alg, const char *secret_b64, uint8_t *out, size_t cap,
                          ldns_rdf **mac)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, qname, type, LDNS_RR_CLASS_IN, 0),
	                 LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	assert_int_equal(ldns_pkt_tsig_sign(p, key, secret_b64, 300, alg, NULL), LDNS_STATUS_OK);
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	if (mac != NULL) {
		*mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
	}
	ldns_pkt_free(p);
	return len;
}

/* Our own signer, for what ldns cannot make: a chosen time, a truncated MAC. */
static size_t self_signed(const char *qname, uint16_t type, uint64_t when, size_t mac_len,
                          bool opt_after, uint8_t *out, size_t cap)
{
	size_t n = fx_query(&(fx_q_t){.name = qname, .type = type, .id = 77}, out, cap);
	const dnsd_tsig_key_t *k = &snap->keys[0];
	dnsd_tsig_rr_t v = {.name = k->name,
	                    .name_len = k->name_len,
	                    .time_signed = when,
	                    .fudge = 300,
	                    .orig_id = 77};
	v.alg = dnsd_tsig_alg_wire(k->alg, &v.alg_len);
	uint8_t mac[DNSD_TSIG_MAC_MAX];
	assert_int_equal(dnsd_tsig_mac(ctx->hmac_ctx, k, NULL, 0, out, n, 77, 0, &v, false, mac),
	                 0);
	v.mac = mac;
	v.mac_len = (uint16_t)mac_len;
	dnsd_wr_t w;
	dnsd_wr_init(&w, out, cap);
	(void)dnsd_wr_take(&w, n);
	dnsd_tsig_rr_write(&w, &v);
	if (opt_after) {
		static const uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
		dnsd_wr_bytes(&w, opt, sizeof(opt));
	}
	assert_false(w.err);
	dnsd_put16(out + 10, opt_after ? 2 : 1);
	return dnsd_wr_off(&w);
}

/* The reply's TSIG RR (the last record), parsed with ldns; NULL when absent. */
static ldns_pkt *reply(const uint8_t *r, size_t len)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, r, len), LDNS_STATUS_OK);
	return p;
}

static uint16_t tsig_error(const ldns_pkt *p)
{
	ldns_rr *t = ldns_pkt_tsig(p);
	return t != NULL ? ldns_rdf2native_int16(ldns_rr_rdf(t, 5)) : 0xffff;
}

static uint16_t tsig_mac_len(const ldns_pkt *p)
{
	return (uint16_t)ldns_rdf_size(ldns_rr_rdf(ldns_pkt_tsig(p), 3)) - 2;
}

/* Signed queries from ldns: replies signed and verified by ldns; transfers allowed by key. */
static void test_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *qname;
		ldns_rr_type type;
		const char *key, *alg;
		dnsd_transport_t tr;
		unsigned rcode;
		bool answers;
	} cases[] = {
	        {"SOA, sha256, udp", "example.com.", LDNS_RR_TYPE_SOA, "xfr-key.", "hmac-sha256.",
	         DNSD_UDP, 0, true},
	        {"A, sha1, key name in upper case", "www.example.com.", LDNS_RR_TYPE_A, "SHA1-Key.",
	         "hmac-sha1.", DNSD_UDP, 0, true},
	        {"AXFR allowed by the key", "example.com.", LDNS_RR_TYPE_AXFR, "xfr-key.",
	         "hmac-sha256.", DNSD_TCP, 0, true},
	        {"AXFR, other key: refused, signed", "example.com.", LDNS_RR_TYPE_AXFR, "sha1-key.",
	         "hmac-sha1.", DNSD_TCP, DNSD_RCODE_REFUSED, false},
	        {"NXDOMAIN signed", "nope.example.com.", LDNS_RR_TYPE_A, "xfr-key.", "hmac-sha256.",
	         DNSD_UDP, DNSD_RCODE_NXDOMAIN, false},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		uint8_t q[1024], r[65535];
		ldns_rdf *qmac = NULL;
		size_t qlen =
		        ldns_signed(cases[i].qname, cases[i].type, (uint16_t)(100 + i),
		                    cases[i].key, cases[i].alg, SECRET_B64, q, sizeof(q), &qmac);
		size_t rlen = dnsd_answer(ctx, snap, NULL, q, qlen, r, sizeof(r),
		                          (const struct sockaddr *)&client4, cases[i].tr);
		assert_true(rlen > 12);
		ldns_pkt *p = reply(r, rlen);
		if (FX_RCODE(r) != cases[i].rcode || (FX_AN(r) > 0) != cases[i].answers) {
			fail_msg("%s: rcode %d, %u answers", cases[i].name, FX_RCODE(r), FX_AN(r));
		}
		if (!ldns_pkt_tsig_verify(p, r, rlen, cases[i].key, SECRET_B64, qmac)) {
			fail_msg("%s: ldns does not verify the reply's TSIG", cases[i].name);
		}
		ldns_pkt_free(p);
		ldns_rdf_deep_free(qmac);
	}
}

/*
 * A zone over 64 KB goes in several messages (RFC 5936 2.2): SOA first and
 * last, every record once; signed, each later message verifies with ldns
 * as the next of a chain (RFC 8945 5.3.1: previous MAC, timers only).
 */
static void test_multi_message_axfr(void **state)
{
	(void)state;
	for (int sign = 0; sign < 2; sign++) {
		static uint8_t r[65535];
		uint8_t q[1024];
		ldns_rdf *mac = NULL;
		size_t qlen = ldns_signed("big.test.", LDNS_RR_TYPE_AXFR, 321, "xfr-key.",
		                          "hmac-sha256.", SECRET_B64, q, sizeof(q), &mac);
		if (!sign) {
			qlen = fx_query(&(fx_q_t){.name = "big.test.", .type = 252, .id = 321}, q,
			                sizeof(q));
			acl.any_addr = false; /* the key's entry does not match: use an address */
			fx_allow_xfr(&fx, 1, "198.51.100.0/24");
		}
		dnsd_snap_t *s = snap;
		char err[128];
		if (!sign) {
			assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &s, err, sizeof(err)), 0);
		}
		size_t rlen = dnsd_answer(ctx, s, NULL, q, qlen, r, sizeof(r),
		                          (const struct sockaddr *)&client4, DNSD_TCP);
		unsigned msgs = 0, records = 0, soas = 0;
		for (; rlen > 0; rlen = dnsd_answer_more(ctx, r, sizeof(r))) {
			ldns_pkt *p = reply(r, rlen);
			assert_int_equal(FX_RCODE(r), 0);
			assert_int_equal(fx_u16(r), 321);
			bool ok = !sign ||
			          (msgs == 0 ? ldns_pkt_tsig_verify(p, r, rlen, "xfr-key.",
			                                            SECRET_B64, mac)
			                     : ldns_pkt_tsig_verify_next(p, r, rlen, "xfr-key.",
			                                                 SECRET_B64, mac, 1));
			if (!ok) {
				fail_msg("message %u: TSIG does not verify", msgs);
			}
			if (sign) {
				ldns_rdf_deep_free(mac);
				mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
			} else {
				assert_null(ldns_pkt_tsig(p));
			}
			ldns_rr_list *an = ldns_pkt_answer(p);
			for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
				ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(an, i));
				soas += t == LDNS_RR_TYPE_SOA;
				if (t == LDNS_RR_TYPE_SOA) {
					/* first record of all, or last */
					assert_true(records == 0 || records == BIG_N + 1);
				}
				records++;
			}
			ldns_pkt_free(p);
			msgs++;
		}
		ldns_rdf_deep_free(mac);
		assert_int_equal(records, BIG_N + 2);
		assert_int_equal(soas, 2);
		assert_int_equal(msgs, 3);
		if (!sign) {
			dnsd_snap_free(s);
		}
	}
	acl.any_addr = true;
}

static void test_unsigned_axfr_refused(void **state)
{
	(void)state;
	uint8_t q[512], r[4096];
	size_t qlen =
	        fx_query(&(fx_q_t){.name = "example.com.", .type = 252, .id = 5}, q, sizeof(q));
	size_t rlen = dnsd_answer(ctx, snap, NULL, q, qlen, r, sizeof(r),
	                          (const struct sockaddr *)&client4, DNSD_TCP);
	assert_int_equal(FX_RCODE(r), DNSD_RCODE_REFUSED);
	assert_int_equal(FX_AR(r), 0);
	assert_true(rlen > 12);
}

/* Errors: rcode, TSIG ERROR, MAC length in the reply (-1: no TSIG RR). */
static void test_errors(void **state)
{
	(void)state;
	uint64_t now = (uint64_t)time(NULL);
	enum { LDNS_UNKNOWN_KEY, LDNS_WRONG_SECRET, LDNS_WRONG_ALG, SELF };
	static const struct {
		const char *name;
		int kind;
		int64_t skew;
		size_t mac_len;
		bool opt_after;
		unsigned rcode;
		uint16_t error;
		int reply_mac;
	} cases[] = {
	        {"unknown key: BADKEY, no MAC", LDNS_UNKNOWN_KEY, 0, 0, false, DNSD_RCODE_NOTAUTH,
	         DNSD_TSIG_BADKEY, 0},
	        {"wrong secret: BADSIG, no MAC", LDNS_WRONG_SECRET, 0, 0, false, DNSD_RCODE_NOTAUTH,
	         DNSD_TSIG_BADSIG, 0},
	        {"key with another algorithm: BADKEY", LDNS_WRONG_ALG, 0, 0, false,
	         DNSD_RCODE_NOTAUTH, DNSD_TSIG_BADKEY, 0},
	        {"time 301 s behind: BADTIME, signed", SELF, -301, 32, false, DNSD_RCODE_NOTAUTH,
	         DNSD_TSIG_BADTIME, 32},
	        {"time 301 s ahead: BADTIME", SELF, 301, 32, false, DNSD_RCODE_NOTAUTH,
	         DNSD_TSIG_BADTIME, 32},
	        {"time 299 s behind: ok", SELF, -299, 32, false, 0, 0, 32},
	        {"MAC truncated to 16 (half of 32): ok", SELF, 0, 16, false, 0, 0, 32},
	        {"MAC truncated to 15: FORMERR", SELF, 0, 15, false, DNSD_RCODE_FORMERR, 0, -1},
	        {"MAC of 9 bytes: FORMERR", SELF, 0, 9, false, DNSD_RCODE_FORMERR, 0, -1},
	        {"TSIG not the last record: FORMERR", SELF, 0, 32, true, DNSD_RCODE_FORMERR, 0, -1},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		uint8_t q[1024], r[4096];
		size_t qlen;
		switch (cases[i].kind) {
		case LDNS_UNKNOWN_KEY:
			qlen = ldns_signed("example.com.", LDNS_RR_TYPE_SOA, 9, "nokey.",
			                   "hmac-sha256.", SECRET_B64, q, sizeof(q), NULL);
			break;
		case LDNS_WRONG_SECRET:
			qlen = ldns_signed("example.com.", LDNS_RR_TYPE_SOA, 9, "xfr-key.",
			                   "hmac-sha256.", "AAAA" SECRET_B64, q, sizeof(q), NULL);
			break;
		case LDNS_WRONG_ALG:
			qlen = ldns_signed("example.com.", LDNS_RR_TYPE_SOA, 9, "xfr-key.",
			                   "hmac-sha512.", SECRET_B64, q, sizeof(q), NULL);
			break;
		default:
			qlen = self_signed("example.com.", 6, now + (uint64_t)cases[i].skew,
			                   cases[i].mac_len, cases[i].opt_after, q, sizeof(q));
			break;
		}
		size_t rlen = dnsd_answer(ctx, snap, NULL, q, qlen, r, sizeof(r),
		                          (const struct sockaddr *)&client4, DNSD_UDP);
		assert_true(rlen > 12);
		ldns_pkt *p = reply(r, rlen);
		bool has = ldns_pkt_tsig(p) != NULL;
		if (FX_RCODE(r) != cases[i].rcode || has != (cases[i].reply_mac >= 0) ||
		    (has && (tsig_error(p) != cases[i].error ||
		             tsig_mac_len(p) != (uint16_t)cases[i].reply_mac))) {
			fail_msg("%s: rcode %d, tsig %d, error %u, mac %d", cases[i].name,
			         FX_RCODE(r), has, has ? tsig_error(p) : 0,
			         has ? tsig_mac_len(p) : -1);
		}
		if (cases[i].error == DNSD_TSIG_BADTIME) {
			/* Signed (RFC 8945 5.2.3), our time in Other Data, request's Time Signed.
			 */
			ldns_rr *t = ldns_pkt_tsig(p);
			assert_int_equal(ldns_rdf_size(ldns_rr_rdf(t, 6)), 2 + 6);
			const uint8_t *ts = ldns_rdf_data(ldns_rr_rdf(t, 1));
			uint64_t signed_at = (uint64_t)fx_u16(ts) << 32 |
			                     (uint64_t)fx_u16(ts + 2) << 16 | fx_u16(ts + 4);
			assert_int_equal(signed_at, now + (uint64_t)cases[i].skew);
		}
		ldns_pkt_free(p);
	}
}

static void test_counters(void **state)
{
	(void)state;
	dnsd_stats_t s = {0};
	dnsd_counters_add(&s, dnsd_ctx_counters(ctx));
	/* After the tables above: every result was seen at least once. */
	assert_true(s.tsig_ok >= 7);
	assert_true(s.tsig_badkey >= 2);
	assert_true(s.tsig_badsig >= 1);
	assert_true(s.tsig_badtime >= 2);
	assert_true(s.tsig_formerr >= 2); /* TSIG not last is the parser's FORMERR */
}

/* NOTIFY: opcode 4, AA, SOA question; signed with the key, verified by ldns. */
/* A NOTIFY answer made by ldns: QR, the request's ID, signed over req_mac when key is set. */
static size_t notify_answer(uint16_t id, const char *key, const ldns_rdf *req_mac, uint8_t *out,
                            size_t cap)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_pkt_query_new_frm_str(&p, "example.com.", LDNS_RR_TYPE_SOA,
	                                            LDNS_RR_CLASS_IN, LDNS_AA),
	                 LDNS_STATUS_OK);
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_opcode(p, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_qr(p, true);
	if (key != NULL) {
		assert_int_equal(
		        ldns_pkt_tsig_sign(p, key, SECRET_B64, 300, "hmac-sha256.", req_mac),
		        LDNS_STATUS_OK);
	}
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

/*
 * NOTIFY: opcode 4, AA, SOA question; signed with the key and verified by
 * ldns; the answer must match the ID and, for a signed NOTIFY, be signed
 * over its MAC.
 */
static void test_notify(void **state)
{
	(void)state;
	uint8_t m[512], a[512];
	uint64_t now = (uint64_t)time(NULL);
	size_t n = dnsd_notify_build(snap->zones[0].apex, &keys[0], 4242, now, m, sizeof(m));
	assert_true(n > 12);
	assert_int_equal(FX_OPCODE(m), 4);
	assert_true(FX_AA(m));
	assert_false(FX_QR(m));
	assert_int_equal(FX_QD(m), 1);
	assert_int_equal(FX_AR(m), 1);
	ldns_pkt *p = reply(m, n);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)),
	                 LDNS_RR_TYPE_SOA);
	assert_true(ldns_pkt_tsig_verify(p, m, n, "xfr-key.", SECRET_B64, NULL));
	ldns_rdf *req_mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
	ldns_pkt_free(p);

	size_t al = notify_answer(4242, "xfr-key.", req_mac, a, sizeof(a));
	assert_int_equal(dnsd_notify_reply(m, n, a, al, &keys[0], now), 0);
	assert_int_equal(dnsd_notify_reply(m, n, a, al, &keys[0], now + 301), -EACCES);
	a[al - 20] ^= 1; /* inside the MAC */
	assert_int_equal(dnsd_notify_reply(m, n, a, al, &keys[0], now), -EACCES);
	al = notify_answer(4242, "sha1-key.", req_mac, a, sizeof(a));
	assert_int_equal(dnsd_notify_reply(m, n, a, al, &keys[0], now), -EACCES);
	al = notify_answer(4242, NULL, NULL, a, sizeof(a));
	assert_int_equal(dnsd_notify_reply(m, n, a, al, &keys[0], now), -EACCES);
	ldns_rdf_deep_free(req_mac);

	/* Unsigned: ours when ID, QR and opcode match; the rcode is passed on. */
	n = dnsd_notify_build(snap->zones[0].apex, NULL, 4243, 0, m, sizeof(m));
	assert_int_equal(FX_AR(m), 0);
	al = notify_answer(4243, NULL, NULL, a, sizeof(a));
	assert_int_equal(dnsd_notify_reply(m, n, a, al, NULL, now), 0);
	a[1] ^= 1;
	assert_int_equal(dnsd_notify_reply(m, n, a, al, NULL, now), -EBADMSG);
	a[1] ^= 1;
	a[3] = DNSD_RCODE_NOTAUTH;
	assert_int_equal(dnsd_notify_reply(m, n, a, al, NULL, now), DNSD_RCODE_NOTAUTH);
	a[2] &= (uint8_t)~0x80;
	assert_int_equal(dnsd_notify_reply(m, n, a, al, NULL, now), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vectors),
	        cmocka_unit_test(test_round_trip),
	        cmocka_unit_test(test_multi_message_axfr),
	        cmocka_unit_test(test_unsigned_axfr_refused),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_counters),
	        cmocka_unit_test(test_notify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
