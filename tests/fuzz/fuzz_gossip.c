/*
 * Fuzz target: gossip packets as they arrive, after the envelope (insecure
 * mode: no keyring, so a datagram is one 0x00 byte and a plaintext Packet
 * and every input reaches the protobuf decoding and the message handlers).
 * The first byte picks the path:
 *   0 (and anything not below)  a UDP datagram, gsp_recv_udp();
 *   1                           a push/pull request on an accepted stream, gsp_tcp_serve();
 *   2                           the reply to our own join push/pull, gsp_tcp_response().
 * The rest is the datagram or frame. Every input gets a fresh node "fz-0"
 * that knows two members (fz-1 at 127.0.0.2, fz-2 at 127.0.0.3) and joins
 * through fz-1, so replay windows and member tables start the same. Every
 * fz-N runs with epoch FZ_EPOCH + N and knows the others', so the seeds
 * (what fz-1 sends fz-0) pass the epoch check and reach the handlers; after
 * the input the virtual clock runs 15 s of timers (suspicions, probes,
 * gossip rounds) over what it changed.
 */
#include "tests/fuzz/fuzz.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gossip/gossip.h"
#include "gossip/gossip_int.h"

typedef struct net {
	uint64_t now;
	uint64_t last_req;
	/* Seed capture (fuzz_write_seeds): what a node sent. */
	const char *dir;
	unsigned n_udp, n_tcp;
} net_t;

static net_t net;

#define FZ_EPOCH 0x0f0f0000u

static uint64_t clk_now(void *ctx)
{
	return ((net_t *)ctx)->now;
}

static void clk_arm(void *ctx, uint64_t at)
{
	(void)ctx;
	(void)at;
}

static void seed_out(net_t *n, uint8_t mode, const uint8_t *buf, size_t len, unsigned *count)
{
	if (n->dir == NULL || *count >= 12) {
		return;
	}
	uint8_t *b = malloc(len + 1);
	if (b == NULL) {
		return;
	}
	b[0] = mode;
	memcpy(b + 1, buf, len);
	char name[32];
	snprintf(name, sizeof(name), "%s-%u", mode == 0 ? "udp" : "pushpull", (*count)++);
	fuzz_seed(n->dir, name, b, len + 1);
	free(b);
}

static int tr_udp(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len)
{
	net_t *n = ctx;
	(void)to;
	seed_out(n, 0, buf, len, &n->n_udp);
	return 0;
}

static int tr_tcp(void *ctx, const gsp_addr_t *to, const uint8_t *buf, size_t len, uint64_t id)
{
	net_t *n = ctx;
	(void)to;
	n->last_req = id;
	seed_out(n, 1, buf, len, &n->n_tcp);
	return 0;
}

static bool dg_state(void *ctx, const char *key, const uint8_t *data, size_t len)
{
	(void)ctx;
	/* Touch every byte (ASan); odd first bytes are "news" and get relayed. */
	unsigned sum = 0;
	for (size_t i = 0; i < len; i++) {
		sum += data[i];
	}
	return key[0] != '\0' && (data[0] & 1) != 0 && sum != 0;
}

static int dg_local(void *ctx, uint8_t **out, size_t *len)
{
	(void)ctx;
	static const uint8_t blob[] = {1, 0, 0, 0, 0};
	*out = malloc(sizeof(blob));
	if (*out == NULL) {
		return -1;
	}
	memcpy(*out, blob, sizeof(blob));
	*len = sizeof(blob);
	return 0;
}

static void dg_merge(void *ctx, const uint8_t *data, size_t len)
{
	unsigned *sum = ctx;
	for (size_t i = 0; i < len; i++) {
		*sum += data[i];
	}
}

static gsp_addr_t addr_of(const char *text)
{
	gsp_addr_t a;
	if (gsp_addr_parse(text, &a) != 0) {
		abort();
	}
	return a;
}

/* A node named name at addr, started, knowing the other two members. */
static gsp_t *node_new(const char *name, const char *addr, const char *seed, unsigned *sum)
{
	static const char *const names[] = {"fz-0", "fz-1", "fz-2"};
	static const char *const addrs[] = {"127.0.0.1:7946", "127.0.0.2:7946", "127.0.0.3:7946"};
	gsp_config_t c;
	gsp_config_init(&c);
	gsp_addr_t seed_addr = addr_of(seed);
	c.name = name;
	c.region = "r0";
	c.addr = addr_of(addr);
	c.seed = 42;
	c.incarnation = 1000;
	c.seeds = &seed_addr;
	c.n_seeds = 1;
	gsp_clock_t clk = {.ctx = &net, .now_ms = clk_now, .arm = clk_arm};
	gsp_transport_t tr = {.ctx = &net, .send_udp = tr_udp, .tcp_request = tr_tcp};
	gsp_delegate_t dg = {.ctx = sum,
	                     .on_state = dg_state,
	                     .local_state = dg_local,
	                     .merge_remote_state = dg_merge};
	gsp_t *g = gsp_new(&c, NULL, &clk, &tr, &dg);
	if (g == NULL) {
		abort();
	}
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(names[i], name) == 0) {
			g->epoch = FZ_EPOCH + (uint32_t)i;
			g->me->epoch = g->epoch;
		}
	}
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(names[i], name) == 0) {
			continue;
		}
		m_alive_t a = {.name = names[i],
		               .region = i == 2 ? "r1" : "r0",
		               .addr = addr_of(addrs[i]),
		               .incarnation = 1000,
		               .config_hash = 7,
		               .epoch = FZ_EPOCH + (uint32_t)i};
		gsp_apply_alive(g, &a, true);
	}
	gsp_start(g);
	return g;
}

/* ms of virtual time in steps of step ms (a tick runs every timer that is due). */
static void run(gsp_t *g, uint64_t ms, uint64_t step)
{
	for (uint64_t end = net.now + ms; net.now < end; net.now += step) {
		gsp_tick(g);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		aya_log_set_level(AYA_LOG_ERR); /* drops are logged at warning */
		quiet = true;
	}
	if (size == 0) {
		return 0;
	}
	net = (net_t){.now = 1000000};
	unsigned sum = 0;
	gsp_t *g = node_new("fz-0", "127.0.0.1:7946", "127.0.0.2:7946", &sum);
	gsp_addr_t from = addr_of("127.0.0.2:7946");
	/* A copy, so that reads past the end are caught by ASan. */
	size_t len = size - 1;
	uint8_t *buf = malloc(len > 0 ? len : 1);
	if (buf == NULL) {
		abort();
	}
	memcpy(buf, data + 1, len);
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	switch (data[0]) {
	case 1:
		if (gsp_tcp_serve(g, &from, buf, len, &reply, &reply_len) == 0 && reply == NULL) {
			abort(); /* 0 promises a reply frame */
		}
		free(reply);
		break;
	case 2:
		gsp_tcp_response(g, net.last_req, buf, len);
		break;
	default:
		gsp_recv_udp(g, &from, buf, len);
		break;
	}
	free(buf);
	run(g, 15000, 500);
	gsp_free(g);
	return 0;
}

/*
 * Seeds: what a real node sends. fz-1 joins through fz-0 (its push/pull
 * request: mode 1), fz-0's reply to it (mode 2), then fz-1's datagrams over
 * a few seconds of protocol (alive, ping, user state, suspect...: mode 0).
 */
/* A plaintext datagram of one Msg into the seed `name`. */
static bool msg_seed(const char *dir, const char *name, const Aya__Gossip__Msg *m)
{
	uint8_t part[1024], buf[2048];
	size_t plen = protobuf_c_message_pack(&m->base, part);
	ProtobufCBinaryData parts = {.len = plen, .data = part};
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.version = GSP_PROTO_VERSION;
	p.from = "fz-9";
	p.seq = 1;
	p.n_parts = 1;
	p.parts = &parts;
	buf[0] = 0; /* mode: UDP */
	buf[1] = GSP_ENV_PLAIN;
	size_t len = protobuf_c_message_pack(&p.base, buf + 2);
	return fuzz_seed(dir, name, buf, len + 2);
}

static bool keyop_seeds(const char *dir)
{
	static uint8_t key[GSP_KEY_LEN] = {7};
	Aya__Gossip__KeyOp op = AYA__GOSSIP__KEY_OP__INIT;
	op.id = 42;
	op.op = "install";
	op.key.data = key;
	op.key.len = sizeof(key);
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = AYA__GOSSIP__MSG__KIND_KEY_OP;
	m.key_op = &op;
	char *senders[] = {"fz-1", "fz-2"};
	Aya__Gossip__KeyState st = AYA__GOSSIP__KEY_STATE__INIT, *stp = &st;
	st.id = "0a1b2c3d";
	st.primary = true;
	st.n_senders = 2;
	st.senders = senders;
	Aya__Gossip__KeyOpResult r = AYA__GOSSIP__KEY_OP_RESULT__INIT;
	r.id = 42;
	r.error = 16;
	r.message = "busy";
	r.n_keys = 1;
	r.keys = &stp;
	Aya__Gossip__Msg mr = AYA__GOSSIP__MSG__INIT;
	mr.kind_case = AYA__GOSSIP__MSG__KIND_KEY_OP_RESULT;
	mr.key_op_result = &r;
	return msg_seed(dir, "keyop-install", &m) && msg_seed(dir, "keyop-result", &mr);
}

int fuzz_write_seeds(const char *dir)
{
	unsigned sum = 0;
	net = (net_t){.now = 1000000, .dir = dir};
	gsp_t *peer = node_new("fz-1", "127.0.0.2:7946", "127.0.0.1:7946", &sum);
	static const uint8_t rec[] = {1, 0, 2, 'o', 'k', 0, 1, 'v'};
	if (gsp_broadcast(peer, "obs:x", rec, sizeof(rec)) != 0) {
		gsp_free(peer);
		return -1;
	}
	m_suspect_t s = {.name = "fz-2", .from = "fz-1", .incarnation = 1000};
	gsp_apply_suspect(peer, &s);
	run(peer, 3000, 100);
	gsp_leave(peer);
	run(peer, 500, 100);
	gsp_free(peer);
	/* The reply to fz-0's join: fz-1 serves fz-0's request (both fresh). */
	net.dir = NULL;
	gsp_t *g = node_new("fz-0", "127.0.0.1:7946", "127.0.0.2:7946", &sum);
	gsp_t *p = node_new("fz-1", "127.0.0.2:7946", "127.0.0.1:7946", &sum);
	uint8_t *req = NULL, *reply = NULL;
	size_t req_len = 0, reply_len = 0;
	gsp_addr_t from = addr_of("127.0.0.1:7946");
	int rc = gsp_pushpull_frame(g, true, NULL, FZ_EPOCH + 1, &req, &req_len);
	if (rc == 0) {
		rc = gsp_tcp_serve(p, &from, req, req_len, &reply, &reply_len);
	}
	free(req);
	gsp_free(p);
	gsp_free(g);
	if (rc != 0) {
		return -1;
	}
	uint8_t *b = malloc(reply_len + 1);
	bool ok = b != NULL;
	if (ok) {
		b[0] = 2;
		memcpy(b + 1, reply, reply_len);
		ok = fuzz_seed(dir, "reply-0", b, reply_len + 1);
	}
	free(b);
	free(reply);
	/* Keyring ops (a member refuses them in insecure mode) and an answer to none. */
	ok = ok && keyop_seeds(dir);
	/* Issue 12 finding 6: an empty state record (insecure mode) reached the store. */
	static const uint8_t empty_user[] = {0, 0, 0x08, 0x02, 0x12, 0x01, 0x78, 0x18, 0x01, 0x22,
	                                     0x05, 0x42, 0x03, 0x0a, 0x01, 0x6b,
	                                     /* from_epoch, to_epoch FZ_EPOCH (fz-0's) */
	                                     0x2d, 0x09, 0x00, 0x0f, 0x0f, 0x35, 0x00, 0x00, 0x0f,
	                                     0x0f};
	return ok && fuzz_seed(dir, "empty-user-state", empty_user, sizeof(empty_user)) ? 0 : -1;
}
