/*
 * Unit tests for dnsd_answer(): a table of queries against a fixture zone,
 * responses parsed with ldns. Flows that need two queries (cookie round
 * trip) and counters have their own tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ldns/ldns.h>

#include "dnsd/dnsd.h"
#include "dnsd/query_int.h"
#include "dnsd/wire_int.h"
#include "tests/dnsd/fixture.h"

static const char *const zone_com[] = {
        ("example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 "
         "1209600 300"),
        "example.com. 3600 IN NS ns1.example.com.",
        "example.com. 3600 IN NS ns2.example.com.",
        "example.com. 3600 IN MX 10 mail.example.com.",
        "example.com. 3600 IN TXT \"v=spf1 -all\"",
        "example.com. 3600 IN CAA 0 issue \"letsencrypt.org\"",
        "ns1 300 IN A 192.0.2.1",
        "ns2 300 IN A 192.0.2.2",
        "ns2 300 IN AAAA 2001:db8::2",
        "www 300 IN A 192.0.2.10",
        "www 300 IN AAAA 2001:db8::10",
        "mail 300 IN A 192.0.2.25",
        "_sip._tcp 300 IN SRV 10 5 5060 sip.example.com.",
        "sip 300 IN A 192.0.2.50",
        "ptr 300 IN PTR www.example.com.",
        "unk 300 IN TYPE65400 \\# 3 010203",
        "alias 300 IN CNAME www",
        "chain1 300 IN CNAME chain2",
        "chain2 300 IN CNAME www",
        "ext 300 IN CNAME www.example.net.",
        "loop1 300 IN CNAME loop2",
        "loop2 300 IN CNAME loop1",
        "dangling 300 IN CNAME nothere",
        "sub 3600 IN NS ns.sub",
        "ns.sub 3600 IN A 192.0.2.53",
        "*.wild 300 IN TXT \"wildcard\"",
        "exists.wild 300 IN A 192.0.2.77",
        "a.b.wild 300 IN A 192.0.2.78",
        "*.cw 300 IN CNAME www",
        ("big 300 IN TXT \"" /* 20 x ~200 bytes: over 1232, under 64k */
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "\" \"01\""),
        ("big 300 IN TXT \"02\" "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        ("big 300 IN TXT \"03\" "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        ("big 300 IN TXT \"04\" "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        ("big 300 IN TXT \"05\" "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        ("big 300 IN TXT \"06\" "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        ("big 300 IN TXT \"07\" "
         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
};

static const char *const zone_child[] = {
        ("child.example.com. 600 IN SOA ns1.example.com. hostmaster.example.com. 7 7200 3600 "
         "1209600 60"),
        "child.example.com. 600 IN NS ns1.example.com.",
        "www.child.example.com. 600 IN A 198.51.100.1",
};

static fx_t fx;
static dnsd_snap_t *snap;
static dnsd_ctx_t *ctx;
static struct sockaddr_in client4;

static int setup(void **state)
{
	(void)state;
	if (fx_init(&fx) != 0 ||
	    fx_add_zone(&fx, "example.com.", zone_com, AYA_ARRAY_LEN(zone_com)) ||
	    fx_add_zone(&fx, "child.example.com.", zone_child, AYA_ARRAY_LEN(zone_child)) ||
	    fx_allow_xfr(&fx, 0, "127.0.0.0/8") != 0) {
		return -1;
	}
	char err[256];
	if (dnsd_snap_build(&fx.cfg, NULL, &snap, err, sizeof(err)) != 0) {
		fprintf(stderr, "snap: %s\n", err);
		return -1;
	}
	ctx = dnsd_ctx_new();
	client4.sin_family = AF_INET;
	client4.sin_port = htons(5353);
	inet_pton(AF_INET, "127.0.0.1", &client4.sin_addr);
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

/* The text of a section, "" when empty; caller frees. */
static char *section_str(const ldns_rr_list *l)
{
	char *s = l != NULL && ldns_rr_list_rr_count(l) > 0 ? ldns_rr_list2str(l) : NULL;
	return s != NULL ? s : strdup("");
}

#define DROP 0xfffe

struct acase {
	const char *name;
	fx_q_t q;
	dnsd_transport_t tr;
	const struct sockaddr *src; /* NULL = 127.0.0.1 */
	unsigned rcode;             /* extended (BADVERS = 16), DROP = no response */
	bool aa, tc;
	uint16_t an, ns, ar; /* ar counts the OPT record */
	const char *an_has, *ns_has, *ar_has;
	uint16_t opt_code; /* an EDNS option the response must carry (0 = none) */
	const char *opt_val;
	size_t opt_len;
};

static const uint8_t nsid_opt[] = {0, 3, 0, 0};
static const uint8_t ecs_ok[] = {0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2};
static const uint8_t ecs_v6[] = {0, 8, 0, 6, 0, 2, 16, 0, 0x20, 0x01};
static const uint8_t ecs_bad_family[] = {0, 8, 0, 7, 0, 3, 24, 0, 192, 0, 2};
static const uint8_t ecs_bad_source[] = {0, 8, 0, 8, 0, 1, 33, 0, 192, 0, 2, 1, 1};
static const uint8_t ecs_bad_len[] = {0, 8, 0, 6, 0, 1, 24, 0, 192, 0};
static const uint8_t ecs_bad_bits[] = {0, 8, 0, 7, 0, 1, 23, 0, 192, 0, 3};
static const uint8_t ecs_bad_scope[] = {0, 8, 0, 7, 0, 1, 24, 8, 192, 0, 2};
static const uint8_t cookie_bad_len[] = {0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t cookie_too_long[] = {0, 10, 0, 41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1,
                                          1, 1,  1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                          1, 1,  1, 1,  1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t unknown_opt[] = {0xfd, 0xe9, 0, 2, 0xab, 0xcd};

#define Q(n, t) .name = n, .type = t, .id = 0x1234, .rd = true
#define EDNS .edns = true
#define OPTS(a) .opts = a, .opts_len = sizeof(a)

/* clang-format off */
static const struct acase cases[] = {
	{"A", {Q("www.example.com", 1)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "\tA\t192.0.2.10", NULL, NULL, 0, NULL, 0},
	{"AAAA", {Q("www.example.com", 28)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "2001:db8::10", NULL, NULL, 0, NULL, 0},
	{"SOA", {Q("example.com", 6)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300", NULL, NULL,
	 0, NULL, 0},
	{"NS with additional", {Q("example.com", 2)}, DNSD_UDP, NULL, 0, true, false, 2, 0, 3,
	 "\tNS\tns2.example.com.", NULL, "2001:db8::2", 0, NULL, 0},
	{"MX with additional", {Q("example.com", 15)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 1,
	 "MX\t10 mail.example.com.", NULL, "192.0.2.25", 0, NULL, 0},
	{"TXT", {Q("example.com", 16)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0, "\"v=spf1 -all\"",
	 NULL, NULL, 0, NULL, 0},
	{"SRV uncompressed target", {Q("_sip._tcp.example.com", 33)}, DNSD_UDP, NULL, 0, true,
	 false, 1, 0, 1, "10 5 5060 sip.example.com.", NULL, "192.0.2.50", 0, NULL, 0},
	{"CAA", {Q("example.com", 257)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "letsencrypt.org", NULL, NULL, 0, NULL, 0},
	{"PTR", {Q("ptr.example.com", 12)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "PTR\twww.example.com.", NULL, NULL, 0, NULL, 0},
	{"unknown type", {Q("unk.example.com", 65400)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "\\# 3 010203", NULL, NULL, 0, NULL, 0},
	{"NXDOMAIN with negative TTL", {Q("nope.example.com", 1)}, DNSD_UDP, NULL, 3, true, false,
	 0, 1, 0, NULL, "example.com.\t300\tIN\tSOA", NULL, 0, NULL, 0},
	{"NODATA", {Q("www.example.com", 15)}, DNSD_UDP, NULL, 0, true, false, 0, 1, 0, NULL,
	 "\t300\tIN\tSOA", NULL, 0, NULL, 0},
	{"NODATA at empty non-terminal", {Q("_tcp.example.com", 1)}, DNSD_UDP, NULL, 0, true,
	 false, 0, 1, 0, NULL, "SOA", NULL, 0, NULL, 0},
	{"CNAME in zone", {Q("alias.example.com", 1)}, DNSD_UDP, NULL, 0, true, false, 2, 0, 0,
	 "192.0.2.10", NULL, NULL, 0, NULL, 0},
	{"CNAME query answers the CNAME", {Q("alias.example.com", 5)}, DNSD_UDP, NULL, 0, true,
	 false, 1, 0, 0, "CNAME\twww.example.com.", NULL, NULL, 0, NULL, 0},
	{"CNAME chain", {Q("chain1.example.com", 28)}, DNSD_UDP, NULL, 0, true, false, 3, 0, 0,
	 "chain2.example.com.\t300\tIN\tCNAME\twww.example.com.", NULL, NULL, 0, NULL, 0},
	{"CNAME out of zone", {Q("ext.example.com", 1)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "www.example.net.", NULL, NULL, 0, NULL, 0},
	{"CNAME loop", {Q("loop1.example.com", 1)}, DNSD_UDP, NULL, 0, true, false, 2, 0, 0,
	 "loop2.example.com.\t300\tIN\tCNAME\tloop1.example.com.", NULL, NULL, 0, NULL, 0},
	{"CNAME to NXDOMAIN", {Q("dangling.example.com", 1)}, DNSD_UDP, NULL, 3, true, false, 1, 1,
	 0, "CNAME", "SOA", NULL, 0, NULL, 0},
	{"referral with glue", {Q("sub.example.com", 1)}, DNSD_UDP, NULL, 0, false, false, 0, 1, 1,
	 NULL, "sub.example.com.\t3600\tIN\tNS\tns.sub.example.com.", "192.0.2.53", 0, NULL, 0},
	{"referral below the cut", {Q("deep.host.sub.example.com", 1)}, DNSD_UDP, NULL, 0, false,
	 false, 0, 1, 1, NULL, "sub.example.com.", "ns.sub.example.com.", 0, NULL, 0},
	{"referral for glue name", {Q("ns.sub.example.com", 1)}, DNSD_UDP, NULL, 0, false, false,
	 0, 1, 1, NULL, "NS", NULL, 0, NULL, 0},
	{"DS at cut from parent", {Q("sub.example.com", 43)}, DNSD_UDP, NULL, 0, true, false, 0, 1,
	 0, NULL, "SOA", NULL, 0, NULL, 0},
	{"wildcard match", {Q("foo.wild.example.com", 16)}, DNSD_UDP, NULL, 0, true, false, 1, 0,
	 0, "foo.wild.example.com.\t300\tIN\tTXT\t\"wildcard\"", NULL, NULL, 0, NULL, 0},
	{"wildcard deep match", {Q("a.b.c.wild.example.com", 16)}, DNSD_UDP, NULL, 0, true, false,
	 1, 0, 0, "a.b.c.wild.example.com.", NULL, NULL, 0, NULL, 0},
	{"wildcard NODATA for type", {Q("foo.wild.example.com", 1)}, DNSD_UDP, NULL, 0, true,
	 false, 0, 1, 0, NULL, "SOA", NULL, 0, NULL, 0},
	{"wildcard blocked by existing name", {Q("exists.wild.example.com", 16)}, DNSD_UDP, NULL,
	 0, true, false, 0, 1, 0, NULL, "SOA", NULL, 0, NULL, 0},
	{"wildcard blocked by empty non-terminal", {Q("x.b.wild.example.com", 16)}, DNSD_UDP, NULL,
	 3, true, false, 0, 1, 0, NULL, "SOA", NULL, 0, NULL, 0},
	{"wildcard CNAME", {Q("any.cw.example.com", 1)}, DNSD_UDP, NULL, 0, true, false, 2, 0, 0,
	 "any.cw.example.com.\t300\tIN\tCNAME\twww.example.com.", NULL, NULL, 0, NULL, 0},
	{"longest zone match", {Q("www.child.example.com", 1)}, DNSD_UDP, NULL, 0, true, false, 1,
	 0, 0, "198.51.100.1", NULL, NULL, 0, NULL, 0},
	{"child zone NXDOMAIN SOA", {Q("x.child.example.com", 1)}, DNSD_UDP, NULL, 3, true, false,
	 0, 1, 0, NULL, "child.example.com.\t60\tIN\tSOA", NULL, 0, NULL, 0},
	{"REFUSED out of zone", {Q("www.example.org", 1)}, DNSD_UDP, NULL, 5, false, false, 0, 0,
	 0, NULL, NULL, NULL, 0, NULL, 0},
	{"REFUSED root", {Q(".", 2)}, DNSD_UDP, NULL, 5, false, false, 0, 0, 0, NULL, NULL, NULL,
	 0, NULL, 0},
	{"REFUSED class HS", {Q("www.example.com", 1), .rclass = 4}, DNSD_UDP, NULL, 5, false,
	 false, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	{"qname case preserved", {Q("WwW.ExAmPlE.cOm", 1)}, DNSD_UDP, NULL, 0, true, false, 1, 0,
	 0, "WwW.ExAmPlE.cOm.\t300\tIN\tA", NULL, NULL, 0, NULL, 0},
	{"ANY gives one RRset", {Q("www.example.com", 255)}, DNSD_UDP, NULL, 0, true, false, 1, 0,
	 0, "\tA\t192.0.2.10", NULL, NULL, 0, NULL, 0},
	{"ANY at CNAME", {Q("alias.example.com", 255)}, DNSD_UDP, NULL, 0, true, false, 1, 0, 0,
	 "CNAME", NULL, NULL, 0, NULL, 0},
	{"no EDNS: 512 bytes, TC", {Q("big.example.com", 16)}, DNSD_UDP, NULL, 0, true, true, 0, 0,
	 0, NULL, NULL, NULL, 0, NULL, 0},
	{"EDNS payload honoured: still TC", {Q("big.example.com", 16), EDNS, .payload = 4096},
	 DNSD_UDP, NULL, 0, true, true, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"TCP fits", {Q("big.example.com", 16)}, DNSD_TCP, NULL, 0, true, false, 7, 0, 0, "\"07\"",
	 NULL, NULL, 0, NULL, 0},
	{"EDNS payload below 512 treated as 512", {Q("example.com", 2), EDNS, .payload = 100},
	 DNSD_UDP, NULL, 0, true, false, 2, 0, 4, NULL, NULL, NULL, 0, NULL, 0},
	{"BADVERS", {Q("www.example.com", 1), EDNS, .version = 1}, DNSD_UDP, NULL, 16, false,
	 false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"NSID", {Q("www.example.com", 1), EDNS, OPTS(nsid_opt)}, DNSD_UDP, NULL, 0, true, false,
	 1, 0, 1, NULL, NULL, NULL, 3, "node1", 5},
	{"unknown option ignored", {Q("www.example.com", 1), EDNS, OPTS(unknown_opt)}, DNSD_UDP,
	 NULL, 0, true, false, 1, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"CHAOS id.server", {Q("id.server", 16), .rclass = 3}, DNSD_UDP, NULL, 0, true, false, 1,
	 0, 0, "\"node1\"", NULL, NULL, 0, NULL, 0},
	{"CHAOS hostname.bind", {Q("HOSTNAME.bind", 16), .rclass = 3}, DNSD_UDP, NULL, 0, true,
	 false, 1, 0, 0, "HOSTNAME.bind.\t0\tCH\tTXT\t\"node1\"", NULL, NULL, 0, NULL, 0},
	{"CHAOS version.bind refused", {Q("version.bind", 16), .rclass = 3}, DNSD_UDP, NULL, 5,
	 false, false, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	{"NOTIMP opcode 2", {Q("www.example.com", 1), .opcode = 2}, DNSD_UDP, NULL, 4, false,
	 false, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	/* RD and CD are QUERY's flags: not echoed for other opcodes (genreport opcodeflg). */
	{"NOTIMP opcode 15 with RD and CD", {Q("www.example.com", 1), .opcode = 15, .cd = true},
	 DNSD_UDP, NULL, 4, false, false, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	{"NOTIMP NOTIFY with RD and CD", {Q("example.com", 6), .opcode = 4, .cd = true}, DNSD_TCP,
	 NULL, 4, false, false, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	{"NOTIMP UPDATE with EDNS, RD, CD", {Q("example.com", 6), EDNS, .opcode = 5, .cd = true},
	 DNSD_UDP, NULL, 4, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"CD echoed for QUERY", {Q("www.example.com", 1), .cd = true}, DNSD_UDP, NULL, 0, true,
	 false, 1, 0, 0, "\tA\t192.0.2.10", NULL, NULL, 0, NULL, 0},
	{"QR=1 dropped", {Q("www.example.com", 1), .qr = true}, DNSD_UDP, NULL, DROP, false, false,
	 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	{"cookie bad length", {Q("www.example.com", 1), EDNS, OPTS(cookie_bad_len)}, DNSD_UDP,
	 NULL, 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"cookie too long", {Q("www.example.com", 1), EDNS, OPTS(cookie_too_long)}, DNSD_UDP, NULL,
	 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"ECS echoed with scope 0", {Q("www.example.com", 1), EDNS, OPTS(ecs_ok)}, DNSD_UDP, NULL,
	 0, true, false, 1, 0, 1, NULL, NULL, NULL, 8, "\x00\x01\x18\x00\xc0\x00\x02", 7},
	{"ECS v6 echoed", {Q("www.example.com", 1), EDNS, OPTS(ecs_v6)}, DNSD_UDP, NULL, 0, true,
	 false, 1, 0, 1, NULL, NULL, NULL, 8, "\x00\x02\x10\x00\x20\x01", 6},
	{"ECS bad family", {Q("www.example.com", 1), EDNS, OPTS(ecs_bad_family)}, DNSD_UDP, NULL,
	 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"ECS source too long", {Q("www.example.com", 1), EDNS, OPTS(ecs_bad_source)}, DNSD_UDP,
	 NULL, 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"ECS address length", {Q("www.example.com", 1), EDNS, OPTS(ecs_bad_len)}, DNSD_UDP, NULL,
	 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"ECS bits beyond prefix", {Q("www.example.com", 1), EDNS, OPTS(ecs_bad_bits)}, DNSD_UDP,
	 NULL, 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"ECS scope in query", {Q("www.example.com", 1), EDNS, OPTS(ecs_bad_scope)}, DNSD_UDP,
	 NULL, 1, false, false, 0, 0, 1, NULL, NULL, NULL, 0, NULL, 0},
	{"AXFR over TCP allowed", {Q("example.com", 252)}, DNSD_TCP, NULL, 0, true, false, 37, 0,
	 0, "a.b.wild.example.com.", NULL, NULL, 0, NULL, 0},
	{"AXFR not at apex refused", {Q("www.example.com", 252)}, DNSD_TCP, NULL, 5, false, false,
	 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
	{"AXFR over UDP", {Q("example.com", 252)}, DNSD_UDP, NULL, 1, false, false, 0, 0, 0, NULL,
	 NULL, NULL, 0, NULL, 0},
	{"IXFR over UDP gets SOA", {Q("example.com", 251)}, DNSD_UDP, NULL, 0, true, false, 1, 0,
	 0, "SOA", NULL, NULL, 0, NULL, 0},
	{"AXFR child zone refused (no ACL)", {Q("child.example.com", 252)}, DNSD_TCP, NULL, 5,
	 false, false, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0},
};
/* clang-format on */

static void check_has(const char *what, const char *text, const char *want)
{
	if (want != NULL && strstr(text, want) == NULL) {
		fail_msg("%s: want \"%s\" in:\n%s", what, want, text);
	}
}

static void run_case(const struct acase *c)
{
	uint8_t qbuf[512], out[65535];
	size_t qlen = fx_query(&c->q, qbuf, sizeof(qbuf));
	assert_true(qlen > 0);
	const struct sockaddr *src = c->src != NULL ? c->src : (const struct sockaddr *)&client4;
	size_t n = dnsd_answer(ctx, snap, NULL, qbuf, qlen, out, sizeof(out), src, c->tr);
	if (c->rcode == DROP) {
		assert_int_equal(n, 0);
		return;
	}
	assert_true(n >= 12);
	if (c->tr == DNSD_UDP) {
		assert_true(n <= (c->q.edns ? 1232 : 512));
	}
	ldns_pkt *pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&pkt, out, n), LDNS_STATUS_OK);
	unsigned rcode = FX_RCODE(out) | (unsigned)ldns_pkt_edns_extended_rcode(pkt) << 4;
	assert_int_equal(rcode, c->rcode);
	assert_int_equal(fx_u16(out), 0x1234);
	assert_true(FX_QR(out));
	assert_int_equal(FX_OPCODE(out), c->q.opcode);
	/* RD and CD are defined for QUERY only (RFC 1035 4.1.1, RFC 6895 2.1, RFC 4035 3.2). */
	assert_int_equal(FX_RD(out), c->q.rd && c->q.opcode == 0);
	assert_int_equal(FX_CD(out), c->q.cd && c->q.opcode == 0);
	assert_false(FX_RA(out));
	assert_false(FX_AD(out));
	assert_int_equal(FX_AA(out), c->aa);
	assert_int_equal(FX_TC(out), c->tc);
	assert_int_equal(FX_AN(out), c->an);
	assert_int_equal(FX_NS(out), c->ns);
	assert_int_equal(FX_AR(out), c->ar);
	char *an = section_str(ldns_pkt_answer(pkt));
	char *ns = section_str(ldns_pkt_authority(pkt));
	char *ar = section_str(ldns_pkt_additional(pkt));
	check_has("answer", an, c->an_has);
	check_has("authority", ns, c->ns_has);
	check_has("additional", ar, c->ar_has);
	free(an);
	free(ns);
	free(ar);
	ldns_pkt_free(pkt);
	bool has_opt;
	uint8_t val[64];
	size_t vlen = 0;
	if (c->opt_code != 0) {
		assert_true(fx_opt(out, n, c->opt_code, val, sizeof(val), &vlen, &has_opt));
		assert_int_equal(vlen, c->opt_len);
		assert_memory_equal(val, c->opt_val, vlen);
	}
	bool ecs = fx_opt(out, n, 8, val, sizeof(val), &vlen, &has_opt);
	assert_int_equal(has_opt, c->q.edns);
	/* ECS never appears unless asked for (RFC 7871 7.2.1). */
	assert_false(ecs && c->opt_code != 8);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < AYA_ARRAY_LEN(cases); i++) {
		print_message("case: %s\n", cases[i].name);
		run_case(&cases[i]);
	}
}

/* One query with a COOKIE option; returns the length of the server cookie sent back. */
static size_t cookie_query(const uint8_t *opt, size_t optlen, const struct sockaddr *src,
                           dnsd_transport_t tr, uint8_t sc[40], unsigned *rcode)
{
	fx_q_t q = {Q("www.example.com", 1), EDNS, .opts = opt, .opts_len = optlen};
	uint8_t qbuf[512], out[4096], val[64];
	size_t qlen = fx_query(&q, qbuf, sizeof(qbuf));
	size_t n = dnsd_answer(ctx, snap, NULL, qbuf, qlen, out, sizeof(out), src, tr);
	assert_true(n > 12);
	*rcode = FX_RCODE(out);
	size_t vlen = 0;
	bool has_opt;
	if (!fx_opt(out, n, 10, val, sizeof(val), &vlen, &has_opt)) {
		return 0;
	}
	assert_true(vlen >= 8);
	assert_memory_equal(val, opt + 4, 8); /* client cookie echoed */
	memcpy(sc, val + 8, vlen - 8);
	return vlen - 8;
}

/* A correctly hashed server cookie with a chosen timestamp, into opt[12..28). */
static void cookie_forge(uint8_t *opt, uint32_t ts, const struct sockaddr *src)
{
	uint8_t head[8] = {1, 0, 0, 0};
	dnsd_put32(head + 4, ts);
	memcpy(opt + 12, head, 8);
	assert_int_equal(
	        dnsd_cookie_hash(ctx, fx.cfg.dns.cookie_secret, opt + 4, head, src, opt + 20), 0);
}

static void test_cookies(void **state)
{
	(void)state;
	const struct sockaddr *src = (const struct sockaddr *)&client4;
	uint8_t opt[4 + 40] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t sc[40], sc2[40];
	unsigned rcode;
	/* Client cookie only: a fresh RFC 9018 server cookie. */
	assert_int_equal(cookie_query(opt, 12, src, DNSD_UDP, sc, &rcode), 16);
	assert_int_equal(rcode, 0);
	assert_int_equal(sc[0], 1);
	assert_int_equal(sc[1] | sc[2] | sc[3], 0);
	/* Round trip: a valid young cookie is echoed unchanged, UDP and TCP. */
	opt[3] = 24;
	memcpy(opt + 12, sc, 16);
	assert_int_equal(cookie_query(opt, 28, src, DNSD_UDP, sc2, &rcode), 16);
	assert_int_equal(rcode, 0);
	assert_memory_equal(sc2, sc, 16);
	assert_int_equal(cookie_query(opt, 28, src, DNSD_TCP, sc2, &rcode), 16);
	assert_memory_equal(sc2, sc, 16);
	/* Another client address: the hash does not match, a new cookie. */
	struct sockaddr_in other = client4;
	other.sin_addr.s_addr = htonl(0x7f000002);
	assert_int_equal(
	        cookie_query(opt, 28, (const struct sockaddr *)&other, DNSD_UDP, sc2, &rcode), 16);
	assert_int_equal(rcode, 0);
	assert_memory_not_equal(sc2 + 8, sc + 8, 8);
	/* Wrong secret (a MAC we did not make): answered normally, replaced. */
	opt[27] ^= 1;
	assert_int_equal(cookie_query(opt, 28, src, DNSD_UDP, sc2, &rcode), 16);
	assert_int_equal(rcode, 0);
	assert_memory_not_equal(sc2, opt + 12, 16);
	/* Expired (2 hours old, correctly hashed): refreshed. */
	uint32_t now = dnsd_get32(sc + 4);
	cookie_forge(opt, now - 7200, src);
	assert_int_equal(cookie_query(opt, 28, src, DNSD_UDP, sc2, &rcode), 16);
	assert_int_equal(rcode, 0);
	assert_true(dnsd_get32(sc2 + 4) >= now);
	/* 40 minutes old: valid but refreshed (RFC 9018 4.3). */
	cookie_forge(opt, now - 2400, src);
	assert_int_equal(cookie_query(opt, 28, src, DNSD_UDP, sc2, &rcode), 16);
	assert_true(dnsd_get32(sc2 + 4) >= now);
	/* 10 minutes old: echoed as is. */
	cookie_forge(opt, now - 600, src);
	assert_int_equal(cookie_query(opt, 28, src, DNSD_UDP, sc2, &rcode), 16);
	assert_memory_equal(sc2, opt + 12, 16);
	/* Question-less query with a cookie (RFC 7873 5.4): NOERROR and a cookie. */
	/* Header with ARCOUNT 1, then OPT: root, type 41, payload 1232, TTL 0, RDLEN 12. */
	uint8_t qbuf[64] = {0x12, 0x34, 0, 0, 0,  0, 0,  0, 0, 0, 0, 1, 0, 0, 41, 4, 0xd0, 0,
	                    0,    0,    0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6,  7, 8};
	uint8_t out[512], val[64];
	size_t len = dnsd_answer(ctx, snap, NULL, qbuf, 35, out, sizeof(out), src, DNSD_UDP);
	assert_true(len > 12);
	assert_int_equal(FX_RCODE(out), 0);
	assert_int_equal(FX_QD(out), 0);
	size_t vlen;
	bool has_opt;
	assert_true(fx_opt(out, len, 10, val, sizeof(val), &vlen, &has_opt));
	assert_int_equal(vlen, 24);
}

static void test_counters(void **state)
{
	(void)state;
	dnsd_ctx_t *c = dnsd_ctx_new();
	assert_non_null(c);
	static const struct {
		fx_q_t q;
		dnsd_transport_t tr;
	} qs[] = {
	        {{Q("www.example.com", 1)}, DNSD_UDP},
	        {{Q("nope.example.com", 1), EDNS}, DNSD_UDP},
	        {{Q("www.example.org", 1)}, DNSD_TCP},
	        {{Q("big.example.com", 16)}, DNSD_UDP},
	        {{Q("www.example.com", 1), EDNS, OPTS(nsid_opt)}, DNSD_UDP},
	        {{Q("child.example.com", 252)}, DNSD_TCP},
	        {{Q("www.example.com", 1), EDNS, .version = 2}, DNSD_UDP},
	};
	uint8_t qbuf[512], out[4096];
	for (size_t i = 0; i < AYA_ARRAY_LEN(qs); i++) {
		size_t qlen = fx_query(&qs[i].q, qbuf, sizeof(qbuf));
		assert_true(dnsd_answer(c, snap, NULL, qbuf, qlen, out, sizeof(out),
		                        (const struct sockaddr *)&client4, qs[i].tr) > 0);
	}
	dnsd_stats_t st = {.queries = 100};
	dnsd_counters_add(&st, dnsd_ctx_counters(c));
	assert_int_equal(st.queries, 107);
	assert_int_equal(st.udp, 5);
	assert_int_equal(st.tcp, 2);
	assert_int_equal(st.noerror, 3);
	assert_int_equal(st.nxdomain, 1);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.badvers, 1);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.edns, 3);
	assert_int_equal(st.nsid, 1);
	assert_int_equal(st.axfr_refused, 1);
	dnsd_ctx_free(c);
	dnsd_ctx_free(NULL);
}

static void test_zone_info(void **state)
{
	(void)state;
	assert_int_equal(dnsd_snap_zone_count(snap), 2);
	dnsd_zone_info_t zi;
	dnsd_snap_zone_info(snap, 0, &zi);
	assert_string_equal(zi.name, "example.com");
	assert_int_equal(zi.serial, 2024010101);
	assert_int_equal(zi.records, AYA_ARRAY_LEN(zone_com));
	dnsd_snap_zone_info(snap, 1, &zi);
	assert_string_equal(zi.name, "child.example.com");
	assert_int_equal(zi.serial, 7);
	assert_true(dnsd_snap_bytes(snap) > 0);
	dnsd_snap_free(NULL);
}

static const char *const no_soa[] = {"example.net. 60 IN A 192.0.2.1"};
static const char *const outside[] = {
        "example.net. 60 IN SOA ns. h. 1 2 3 4 5",
        "www.example.org. 60 IN A 192.0.2.1",
};
static const char *const two_soa[] = {
        "example.net. 60 IN SOA ns. h. 1 2 3 4 5",
        "example.net. 60 IN SOA ns. h. 2 2 3 4 5",
};

static void test_build_errors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *const *rrs;
		size_t n, n_zones;
		bool secret;
		const char *err;
	} bad[] = {
	        {"no SOA first", no_soa, 1, 1, true, "first record"},
	        {"owner outside zone", outside, 2, 1, true, "outside"},
	        {"two SOA", two_soa, 2, 1, true, "one SOA"},
	        {"cookies without a secret", outside, 1, 1, false, "secret"},
	        {"zone twice", outside, 1, 2, true, "twice"},
	};
	for (size_t i = 0; i < AYA_ARRAY_LEN(bad); i++) {
		print_message("case: %s\n", bad[i].name);
		fx_t f;
		assert_int_equal(fx_init(&f), 0);
		f.cfg.dns.cookie_secret_set = bad[i].secret;
		for (size_t z = 0; z < bad[i].n_zones; z++) {
			assert_int_equal(fx_add_zone(&f, "example.net.", bad[i].rrs, bad[i].n), 0);
		}
		dnsd_snap_t *s = NULL;
		char err[128];
		assert_int_equal(dnsd_snap_build(&f.cfg, NULL, &s, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].err));
		assert_null(s);
		fx_fini(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),        cmocka_unit_test(test_cookies),
	        cmocka_unit_test(test_counters),     cmocka_unit_test(test_zone_info),
	        cmocka_unit_test(test_build_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
