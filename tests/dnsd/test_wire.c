/*
 * Unit tests for dnsd/wire_int.h (the cursors) and for malformed, truncated and
 * oversized messages handed to dnsd_answer(): a table of byte strings with
 * the expected rcode or a drop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dnsd/dnsd.h"
#include "dnsd/wire_int.h"
#include "tests/dnsd/fixture.h"

static void test_read_cursor(void **state)
{
	(void)state;
	static const uint8_t buf[] = {0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 3, 'w', 'w', 'w', 0};
	dnsd_rd_t r;
	dnsd_rd_init(&r, buf, sizeof(buf));
	assert_int_equal(dnsd_rd_u16(&r), 0x1234);
	assert_int_equal(dnsd_rd_u32(&r), 0xdeadbeef);
	size_t len = 0;
	const uint8_t *name = dnsd_rd_qname(&r, &len);
	assert_ptr_equal(name, buf + 6);
	assert_int_equal(len, 5);
	assert_false(r.err);
	assert_int_equal(dnsd_rd_left(&r), 0);
	/* Past the end: zero, sticky error, no movement. */
	assert_int_equal(dnsd_rd_u8(&r), 0);
	assert_true(r.err);
	dnsd_rd_init(&r, buf, 3);
	assert_int_equal(dnsd_rd_u32(&r), 0);
	assert_true(r.err);
	assert_int_equal(dnsd_rd_off(&r), 0);
	assert_int_equal(dnsd_rd_u8(&r), 0); /* stays failed even though a byte is left */
}

static void test_read_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint8_t bytes[8];
		size_t len;
		bool qname_ok, skip_ok;
	} cases[] = {
	        {"root", {0}, 1, true, true},
	        {"pointer", {0xc0, 0x0c}, 2, false, true},
	        {"label then pointer", {1, 'a', 0xc0, 0x0c}, 4, false, true},
	        {"extended label type", {0x41, 'a', 0}, 3, false, false},
	        {"truncated label", {5, 'a', 'b'}, 3, false, false},
	        {"no root label", {1, 'a'}, 2, false, false},
	        {"truncated pointer", {0xc0}, 1, false, false},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		dnsd_rd_t r;
		size_t len;
		dnsd_rd_init(&r, cases[i].bytes, cases[i].len);
		(void)dnsd_rd_qname(&r, &len);
		assert_int_equal(!r.err, cases[i].qname_ok);
		dnsd_rd_init(&r, cases[i].bytes, cases[i].len);
		dnsd_rd_skip_name(&r);
		assert_int_equal(!r.err, cases[i].skip_ok);
	}
	/* A name over 255 bytes: 5 labels of 63. */
	uint8_t longname[5 * 64 + 1];
	for (size_t i = 0; i < 5; i++) {
		longname[i * 64] = 63;
		memset(longname + i * 64 + 1, 'x', 63);
	}
	longname[5 * 64] = 0;
	dnsd_rd_t r;
	size_t len;
	dnsd_rd_init(&r, longname, sizeof(longname));
	assert_null(dnsd_rd_qname(&r, &len));
	assert_true(r.err);
}

static void test_write_cursor(void **state)
{
	(void)state;
	uint8_t buf[8];
	dnsd_wr_t w;
	dnsd_wr_init(&w, buf, sizeof(buf));
	dnsd_wr_u16(&w, 0xabcd);
	dnsd_wr_u32(&w, 0x01020304);
	assert_false(w.err);
	size_t mark = dnsd_wr_off(&w);
	dnsd_wr_u32(&w, 0xffffffff); /* 2 bytes left: fails, nothing written */
	assert_true(w.err);
	assert_int_equal(dnsd_wr_off(&w), 6);
	dnsd_wr_rewind(&w, mark);
	assert_false(w.err);
	dnsd_wr_ptr(&w, 12);
	assert_int_equal(buf[6], 0xc0);
	assert_int_equal(buf[7], 12);
	dnsd_wr_patch16(&w, 0, 0x1111);
	assert_int_equal(buf[0], 0x11);
	dnsd_wr_init(&w, buf, sizeof(buf));
	dnsd_wr_limit(&w, 2);
	dnsd_wr_bytes(&w, "abc", 3);
	assert_true(w.err);
	assert_int_equal(dnsd_wr_off(&w), 0);
}

static const char *const zone[] = {
        "example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300",
        "example.com. 3600 IN NS ns1.example.com.",
        "ns1.example.com. 3600 IN A 192.0.2.1",
};

#define DROP -1
#define HDR(flags, qd, an, ns, ar) 0xab, 0xcd, flags, 0, 0, qd, 0, an, 0, ns, 0, ar
#define QEX 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0
#define OPT_HDR 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0

static const struct {
	const char *name;
	uint8_t msg[64];
	size_t len;
	int rcode; /* DROP: no response */
	int qd;    /* question echoed */
} msgs[] = {
        {"empty", {0}, 0, DROP, 0},
        {"11 bytes", {HDR(0, 1, 0, 0, 0)}, 11, DROP, 0},
        {"QR set", {HDR(0x80, 1, 0, 0, 0), QEX, 0, 1, 0, 1}, 29, DROP, 0},
        {"good query", {HDR(0, 1, 0, 0, 0), QEX, 0, 6, 0, 1}, 29, 0, 1},
        {"trailing garbage ignored", {HDR(0, 1, 0, 0, 0), QEX, 0, 6, 0, 1, 0xff, 0xff}, 31, 0, 1},
        {"qdcount 0", {HDR(0, 0, 0, 0, 0)}, 12, 1, 0},
        {"qdcount 2", {HDR(0, 2, 0, 0, 0), QEX, 0, 6, 0, 1, QEX, 0, 6, 0, 1}, 46, 1, 0},
        {"truncated question", {HDR(0, 1, 0, 0, 0), QEX, 0, 6, 0}, 28, 1, 0},
        {"truncated qname", {HDR(0, 1, 0, 0, 0), 7, 'e', 'x'}, 15, 1, 0},
        {"pointer in question", {HDR(0, 1, 0, 0, 0), 0xc0, 12, 0, 6, 0, 1}, 18, 1, 0},
        {"header only, counts lie", {HDR(0, 1, 0, 0, 3)}, 12, 1, 0},
        {"answer count beyond data", {HDR(0, 1, 1, 0, 0), QEX, 0, 6, 0, 1}, 29, 1, 1},
        {"answer record skipped",
         {HDR(0, 1, 1, 0, 0), QEX, 0, 6, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0},
         41,
         0,
         1},
        {"OPT not at root",
         {HDR(0, 1, 0, 0, 1), QEX, 0, 6, 0, 1, 1, 'a', 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0},
         42,
         1,
         1},
        {"two OPT records",
         {HDR(0, 1, 0, 0, 2), QEX, 0, 6, 0, 1, OPT_HDR, 0, 0, OPT_HDR, 0, 0},
         51,
         1,
         1},
        {"OPT rdata truncated",
         {HDR(0, 1, 0, 0, 1), QEX, 0, 6, 0, 1, OPT_HDR, 0, 4, 0, 3},
         42,
         1,
         1},
        {"option longer than rdata",
         {HDR(0, 1, 0, 0, 1), QEX, 0, 6, 0, 1, OPT_HDR, 0, 4, 0, 3, 0, 9},
         44,
         1,
         1},
        {"NOTIMP with broken question", {HDR(0x28, 1, 0, 0, 0), 7, 'e'}, 14, 4, 0},
        {"NOTIMP echoes question", {HDR(0x20, 1, 0, 0, 0), QEX, 0, 6, 0, 1}, 29, 4, 1},
};

static void test_malformed(void **state)
{
	(void)state;
	fx_t fx;
	dnsd_snap_t *snap = NULL;
	assert_int_equal(fx_init(&fx), 0);
	assert_int_equal(fx_add_zone(&fx, "example.com.", zone, AYA_ARRAY_LEN(zone)), 0);
	assert_int_equal(dnsd_snap_build(&fx.cfg, NULL, &snap, NULL, 0), 0);
	dnsd_ctx_t *ctx = dnsd_ctx_new();
	assert_non_null(ctx);
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001);
	uint8_t out[4096];
	for (size_t i = 0; i < AYA_ARRAY_LEN(msgs); i++) {
		print_message("case: %s\n", msgs[i].name);
		for (int tr = DNSD_UDP; tr <= DNSD_TCP; tr++) {
			size_t n = dnsd_answer(ctx, snap, NULL, msgs[i].msg, msgs[i].len, out,
			                       sizeof(out), (const struct sockaddr *)&src,
			                       (dnsd_transport_t)tr);
			if (msgs[i].rcode == DROP) {
				assert_int_equal(n, 0);
				continue;
			}
			assert_true(n >= 12);
			assert_int_equal(FX_RCODE(out), msgs[i].rcode);
			assert_int_equal(FX_QD(out), msgs[i].qd);
			assert_int_equal(fx_u16(out), 0xabcd);
			assert_true(FX_QR(out));
		}
	}
	/* Counters: every message counted, drops by cause. */
	dnsd_stats_t st = {0};
	dnsd_counters_add(&st, dnsd_ctx_counters(ctx));
	assert_int_equal(st.queries, 2 * AYA_ARRAY_LEN(msgs));
	assert_int_equal(st.udp, AYA_ARRAY_LEN(msgs));
	assert_int_equal(st.tcp, AYA_ARRAY_LEN(msgs));
	assert_int_equal(st.dropped, 2 * 3);
	assert_int_equal(st.notimp, 2 * 2);
	assert_int_equal(st.noerror, 2 * 3);
	assert_int_equal(st.formerr, 2 * (AYA_ARRAY_LEN(msgs) - 8));
	/* Too small an output buffer is a drop, not an overflow. */
	assert_int_equal(dnsd_answer(ctx, snap, NULL, msgs[3].msg, msgs[3].len, out, 100,
	                             (const struct sockaddr *)&src, DNSD_UDP),
	                 0);
	dnsd_ctx_free(ctx);
	dnsd_snap_free(snap);
	fx_fini(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_read_cursor),
	        cmocka_unit_test(test_read_names),
	        cmocka_unit_test(test_write_cursor),
	        cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
