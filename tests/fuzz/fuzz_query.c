/*
 * Fuzz target: one DNS query, answered over UDP and over TCP against a
 * fixture snapshot covering every answer path (CNAME, wildcard, referral,
 * AXFR, CHAOS, cookies). Checks the engine's own guarantees: the response
 * fits the buffer, is never produced for a response (QR=1), and carries the
 * query's ID.
 */
#include "tests/fuzz/fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/dnsd.h"
#include "tests/dnsd/fixture.h"

static const char *const zone[] = {
        "example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300",
        "example.com. 3600 IN NS ns1.example.com.",
        "example.com. 3600 IN MX 10 mail.example.com.",
        "example.com. 3600 IN TXT \"v=spf1 -all\"",
        "ns1.example.com. 3600 IN A 192.0.2.1",
        "ns1.example.com. 3600 IN AAAA 2001:db8::1",
        "mail.example.com. 3600 IN A 192.0.2.2",
        "www.example.com. 300 IN A 192.0.2.10",
        "alias.example.com. 300 IN CNAME www.example.com.",
        "loop.example.com. 300 IN CNAME loop.example.com.",
        "ext.example.com. 300 IN CNAME www.example.net.",
        "*.wild.example.com. 300 IN TXT \"w\"",
        "*.cw.example.com. 300 IN CNAME alias.example.com.",
        "a.b.wild.example.com. 300 IN A 192.0.2.3",
        "_sip._tcp.example.com. 300 IN SRV 1 2 5060 www.example.com.",
        "sub.example.com. 3600 IN NS ns.sub.example.com.",
        "ns.sub.example.com. 3600 IN A 192.0.2.53",
};

static dnsd_snap_t *snap;
static dnsd_ctx_t *ctx;
static fx_t fx;

static void init(void)
{
	if (fx_init(&fx) != 0 ||
	    fx_add_zone(&fx, "example.com.", zone, sizeof(zone) / sizeof(*zone)) ||
	    fx_allow_xfr(&fx, 0, "127.0.0.0/8") != 0 ||
	    dnsd_snap_build(&fx.cfg, NULL, &snap, NULL, 0) != 0 || (ctx = dnsd_ctx_new()) == NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DNSD_MAX_MSG];
	if (ctx == NULL) {
		init();
	}
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(0x7f000001);
	/* Work on a copy so reads past `size` are caught by ASan. */
	uint8_t *q = malloc(size > 0 ? size : 1);
	if (q == NULL) {
		return 0;
	}
	memcpy(q, data, size);
	static const size_t outmax[] = {512, 1232, DNSD_MAX_MSG};
	for (int tr = DNSD_UDP; tr <= DNSD_TCP; tr++) {
		size_t max = outmax[(size + (size_t)tr) % 3];
		size_t n = dnsd_answer(ctx, snap, NULL, q, size, out, max,
		                       (const struct sockaddr *)&src, (dnsd_transport_t)tr);
		if (n > max || (n > 0 && (size < 12 || (q[2] & 0x80) != 0)) ||
		    (n > 0 && (n < 12 || memcmp(out, q, 2) != 0 || (out[2] & 0x80) == 0))) {
			abort();
		}
	}
	free(q);
	return 0;
}
