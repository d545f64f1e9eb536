/*
 * A gossip node: lifecycle, the timer wheel of one node, SWIM probes
 * (direct ping, then ping-req through k others, SWIM section 4), Lifeguard
 * local health (LHM: the probe interval and timeout are multiplied by
 * awareness + 1 while this node misses acks or has to refute), gossip rounds
 * to `fanout` random members, push/pull anti-entropy and the seed join.
 *
 * Timers: every deadline lives in the gsp_t; gsp_tick() runs the due ones
 * and arms the host clock for the earliest remaining one. Nothing blocks and
 * nothing sleeps, so the same code runs on libevent and in the simulator.
 *
 * Probe round-robin: members[] is the probe order. New members are inserted
 * at a random position (member.c); when the index wraps, the array is
 * shuffled, so every member is probed once per round in random order (SWIM
 * section 4.3: bounded detection time).
 */
#include "gossip/gossip_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/log.h"

void gsp_config_init(gsp_config_t *c)
{
	memset(c, 0, sizeof(*c));
	c->probe_interval_ms = 500;
	c->probe_timeout_ms = 250;
	c->indirect_checks = 3;
	c->suspicion_mult = 3;
	c->suspicion_max_mult = 6;
	c->retransmit_mult = 4;
	c->gossip_interval_ms = 100;
	c->gossip_fanout = 3;
	c->pushpull_interval_ms = 30000;
	c->gossip_to_dead_ms = 30000;
	c->reap_ms = 3600000;
	c->mtu = 1400;
	c->awareness_max = 8;
	c->join_retry_max_ms = 30000;
}

uint64_t gsp_now(const gsp_t *g)
{
	return g->clock.now_ms(g->clock.ctx);
}

uint32_t gsp_next_seq_no(gsp_t *g)
{
	uint32_t n = g->next_seq_no;
	g->next_seq_no = (n + 1) & GSP_SEQ_NO_MASK;
	return n;
}

/* Fast, seedable, good enough to pick members. */
uint64_t gsp_rand(gsp_t *g)
{
	return aya_rng_next(&g->rng);
}

static bool config_ok(const gsp_config_t *c)
{
	return c->name != NULL && c->name[0] != '\0' && strlen(c->name) <= GSP_NAME_MAX &&
	       c->region != NULL && strlen(c->region) <= GSP_NAME_MAX && c->addr.len > 0 &&
	       c->probe_interval_ms > 0 && c->probe_timeout_ms > 0 &&
	       c->probe_timeout_ms <= c->probe_interval_ms && c->gossip_interval_ms > 0 &&
	       c->mtu >= 256 && c->mtu <= GSP_MAX_UDP && c->awareness_max >= 1 &&
	       c->suspicion_max_mult >= 1 && c->retransmit_mult >= 1;
}

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int self_init(gsp_t *g)
{
	member_t *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return -ENOMEM;
	}
	m->self = true;
	m->pub.name = strdup(g->cfg.name);
	m->pub.region = strdup(g->cfg.region);
	if (m->pub.name == NULL || m->pub.region == NULL || gsp_mt_add(g, m) != 0) {
		gsp_member_free(m);
		return -ENOMEM;
	}
	m->pub.addr = g->cfg.addr;
	m->pub.incarnation = g->cfg.incarnation;
	m->pub.config_hash = g->cfg.config_hash;
	snprintf(m->pub.version, sizeof(m->pub.version), "%s",
	         g->cfg.version != NULL ? g->cfg.version : "");
	m->pub.state = GSP_ST_ALIVE;
	g->me = m;
	/* Point the config at our own copies: the caller's strings are borrowed. */
	g->cfg.name = m->pub.name;
	g->cfg.region = m->pub.region;
	return 0;
}

gsp_t *gsp_new(const gsp_config_t *c, gsp_keyring_t *keyring_take, const gsp_clock_t *clock,
               const gsp_transport_t *tr, const gsp_delegate_t *dg)
{
	gsp_t *g = NULL;
	if (!config_ok(c)) {
		goto fail;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		goto fail;
	}
	g->cfg = *c;
	g->kr = keyring_take;
	keyring_take = NULL;
	g->clock = *clock;
	g->tr = *tr;
	if (dg != NULL) {
		g->dg = *dg;
	}
	g->rng.s = c->seed;
	while (g->rng.s == 0 && RAND_bytes((unsigned char *)&g->rng.s, sizeof(g->rng.s)) == 1) {
	}
	g->rng.s |= g->rng.s == 0;
	if (c->n_seeds > 0) {
		g->seeds = calloc(c->n_seeds, sizeof(*g->seeds));
		if (g->seeds == NULL) {
			goto fail;
		}
		memcpy(g->seeds, c->seeds, c->n_seeds * sizeof(*g->seeds));
	}
	g->cfg.seeds = g->seeds;
	if (gsp_bq_init(&g->q) != 0 || gsp_replay_init(&g->replay, 65536) != 0 ||
	    gsp_peers_init(&g->peers, 65536) != 0 || self_init(g) != 0) {
		goto fail;
	}
	/* Above every sequence an earlier run of this node can have used (crypto.c). */
	g->tx_seq = wall_us() << 12;
	g->epoch = gsp_epoch_draw(g, 0);
	g->me->epoch = g->epoch;
	g->next_seq_no = (uint32_t)gsp_rand(g) & (GSP_SEQ_NO_MASK >> 1);
	g->join_backoff_ms = 1000;
	return g;
fail:
	gsp_keyring_free(keyring_take);
	gsp_free(g);
	return NULL;
}

void gsp_free(gsp_t *g)
{
	if (g == NULL) {
		return;
	}
	for (size_t i = 0; i < g->n_members; i++) {
		gsp_member_free(g->members[i]);
	}
	free(g->members);
	free(g->htab);
	gsp_keyop_fini(g);
	free(g->seeds);
	if (g->q.hash != NULL) {
		gsp_bq_fini(&g->q);
	}
	if (g->replay.tab != NULL) {
		gsp_replay_fini(&g->replay);
	}
	if (g->peers.tab != NULL) {
		gsp_peers_fini(&g->peers);
	}
	gsp_keyring_free(g->kr);
	free(g);
}

gsp_keyring_t *gsp_keyring(gsp_t *g)
{
	if (g->kr == NULL) {
		g->kr = gsp_keyring_new();
	}
	return g->kr;
}

void gsp_notify(gsp_t *g, const member_t *m)
{
	if (g->dg.on_member != NULL) {
		g->dg.on_member(g->dg.ctx, &m->pub);
	}
}

/* ---- sending ---- */

void gsp_queue_msg(gsp_t *g, const char *key, const Aya__Gossip__Msg *m)
{
	char qkey[GSP_NAME_MAX + 260];
	snprintf(qkey, sizeof(qkey), "%c:%s",
	         m->kind_case == AYA__GOSSIP__MSG__KIND_USER ? 'u' : 'm', key);
	size_t len = protobuf_c_message_get_packed_size(&m->base);
	uint8_t stackbuf[2048];
	uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	if (buf == NULL) {
		g->stats.broadcasts_dropped++;
		return;
	}
	protobuf_c_message_pack(&m->base, buf);
	if (gsp_bq_push(&g->q, qkey, buf, len) != 0) {
		g->stats.broadcasts_dropped++;
	}
	if (buf != stackbuf) {
		free(buf);
	}
}

static void send_packet(gsp_t *g, const gsp_addr_t *to, Aya__Gossip__Packet *p)
{
	uint8_t plain[GSP_MAX_UDP], sealed[GSP_MAX_UDP];
	size_t len = protobuf_c_message_get_packed_size(&p->base);
	if (len + GSP_ENV_OVERHEAD > sizeof(sealed)) {
		g->stats.tx_errors++;
		return;
	}
	protobuf_c_message_pack(&p->base, plain);
	long n = gsp_seal(g->kr, plain, len, sealed, sizeof(sealed));
	if (n < 0 || g->tr.send_udp(g->tr.ctx, to, sealed, (size_t)n) != 0) {
		g->stats.tx_errors++;
		return;
	}
	g->stats.tx_packets++;
	g->stats.tx_bytes += (uint64_t)n;
}

void gsp_send_msgs(gsp_t *g, const gsp_addr_t *to, const Aya__Gossip__Msg *primary)
{
	enum { MAX_PARTS = 256 };
	ProtobufCBinaryData parts[MAX_PARTS];
	uint8_t first[1024];
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.version = GSP_PROTO_VERSION;
	p.from = (char *)g->me->pub.name;
	p.seq = ++g->tx_seq;
	p.from_epoch = g->epoch;
	p.to_epoch = gsp_peer_epoch(g, to);
	p.parts = parts;
	size_t overhead = g->kr != NULL && gsp_keyring_count(g->kr) > 0 ? GSP_ENV_OVERHEAD : 1;
	size_t budget = g->cfg.mtu - overhead - protobuf_c_message_get_packed_size(&p.base);
	if (primary != NULL) {
		size_t len = protobuf_c_message_get_packed_size(&primary->base);
		if (len > sizeof(first) || gsp_bq_part_cost(len) > budget) {
			g->stats.tx_errors++;
			return;
		}
		protobuf_c_message_pack(&primary->base, first);
		parts[0].data = first;
		parts[0].len = len;
		p.n_parts = 1;
		budget -= gsp_bq_part_cost(len);
	}
	/*
	 * A receiver whose epoch we do not know drops the packet (and answers
	 * with a notice): piggybacked broadcasts would spend a transmission for
	 * nothing. Send the primary alone, or a hello (no parts) that asks for
	 * the notice; gsp_notice_heard() then sends the broadcasts.
	 */
	if (p.to_epoch != 0) {
		unsigned limit = gsp_bq_limit(g->cfg.retransmit_mult, g->n_live);
		p.n_parts += gsp_bq_fill(&g->q, limit, &budget, parts + p.n_parts,
		                         MAX_PARTS - p.n_parts);
	}
	if (p.n_parts > 0 || p.to_epoch == 0) {
		send_packet(g, to, &p);
	}
	gsp_bq_release(&g->q);
}

/* ---- epoch notices (gossip/epoch.c) ---- */

void gsp_send_notice(gsp_t *g, const gsp_addr_t *to, uint32_t their_epoch)
{
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.version = GSP_PROTO_VERSION;
	p.from = (char *)g->me->pub.name;
	p.seq = ++g->tx_seq;
	p.from_epoch = g->epoch;
	p.to_epoch = their_epoch;
	g->stats.tx_notices++;
	send_packet(g, to, &p);
}

static void send_one(gsp_t *g, const gsp_addr_t *to, Aya__Gossip__Msg__KindCase kind, void *body)
{
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = kind;
	m.ping = body; /* union: every member is a message pointer */
	gsp_send_msgs(g, to, &m);
}

/* ---- member selection ---- */

static bool gossipable(const gsp_t *g, const member_t *m, uint64_t now)
{
	if (m->self) {
		return false;
	}
	if (m->pub.state <= GSP_ST_SUSPECT) {
		return true;
	}
	/* A member declared dead recently hears it, so it can refute (memberlist). */
	return m->pub.state == GSP_ST_DEAD &&
	       now - m->pub.state_change_ms < g->cfg.gossip_to_dead_ms;
}

static bool live_other(const member_t *m)
{
	return !m->self && m->pub.state <= GSP_ST_SUSPECT;
}

/* Up to k distinct random members for which ok() holds, skipping `skip`. */
static size_t pick_random(gsp_t *g, size_t k, member_t **out, const char *skip, uint64_t now,
                          bool dead_ok)
{
	size_t n = 0;
	if (g->n_members == 0) {
		return 0;
	}
	for (size_t tries = 0; tries < 8 * k + 8 && n < k; tries++) {
		member_t *m = g->members[gsp_rand(g) % g->n_members];
		bool ok = dead_ok ? gossipable(g, m, now) : live_other(m);
		if (!ok || (skip != NULL && strcmp(m->pub.name, skip) == 0)) {
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++) {
			dup = out[j] == m;
		}
		if (!dup) {
			out[n++] = m;
		}
	}
	/* Few eligible members among many: finish with a scan from a random start. */
	size_t start = gsp_rand(g) % g->n_members;
	for (size_t i = 0; i < g->n_members && n < k; i++) {
		member_t *m = g->members[(start + i) % g->n_members];
		bool ok = dead_ok ? gossipable(g, m, now) : live_other(m);
		bool dup = !ok || (skip != NULL && strcmp(m->pub.name, skip) == 0);
		for (size_t j = 0; j < n && !dup; j++) {
			dup = out[j] == m;
		}
		if (!dup) {
			out[n++] = m;
		}
	}
	return n;
}

static void shuffle(gsp_t *g)
{
	for (size_t i = g->n_members; i > 1; i--) {
		size_t j = gsp_rand(g) % i;
		member_t *t = g->members[i - 1];
		g->members[i - 1] = g->members[j];
		g->members[j] = t;
	}
}

/* ---- probes ---- */

static uint64_t scaled(const gsp_t *g, uint32_t ms)
{
	return (uint64_t)ms * (g->awareness + 1);
}

static void probe_finish(gsp_t *g)
{
	g->probing = false;
	member_t *m = gsp_mt_find(g, g->probe_target);
	if (g->probe_acked) {
		gsp_awareness(g, -1);
		return;
	}
	g->stats.probe_failures++;
	/* Lifeguard: missing nacks from the helpers point at us, not at the target. */
	if (g->probe_expected_nacks > 0) {
		if (g->probe_nacks < g->probe_expected_nacks) {
			gsp_awareness(g, (int)(g->probe_expected_nacks - g->probe_nacks));
		}
	} else {
		gsp_awareness(g, 1);
	}
	if (m == NULL || m->pub.state > GSP_ST_SUSPECT) {
		return;
	}
	/* Already suspect: our failed probe is an independent confirmation (Lifeguard). */
	m_suspect_t s = {
	        .name = m->pub.name, .from = g->me->pub.name, .incarnation = m->pub.incarnation};
	gsp_apply_suspect(g, &s);
}

static void probe_start(gsp_t *g, uint64_t now)
{
	member_t *target = NULL;
	for (size_t tries = 0; tries <= g->n_members && target == NULL; tries++) {
		if (g->probe_idx >= g->n_members) {
			shuffle(g);
			g->probe_idx = 0;
		}
		member_t *m = g->members[g->probe_idx++];
		if (live_other(m)) {
			target = m;
		}
	}
	g->next_probe_ms = now + scaled(g, g->cfg.probe_interval_ms);
	if (target == NULL) {
		return;
	}
	g->probing = true;
	g->probe_acked = g->probe_indirect = false;
	g->probe_nacks = g->probe_expected_nacks = 0;
	snprintf(g->probe_target, sizeof(g->probe_target), "%s", target->pub.name);
	g->probe_seq_no = gsp_next_seq_no(g);
	g->probe_timeout_at = now + scaled(g, g->cfg.probe_timeout_ms);
	g->stats.probes++;
	Aya__Gossip__Ping ping = AYA__GOSSIP__PING__INIT;
	ping.seq_no = g->probe_seq_no;
	ping.target = (char *)target->pub.name;
	send_one(g, &target->pub.addr, AYA__GOSSIP__MSG__KIND_PING, &ping);
}

static void probe_indirect(gsp_t *g, uint64_t now)
{
	(void)now;
	g->probe_indirect = true;
	member_t *target = gsp_mt_find(g, g->probe_target);
	if (target == NULL) {
		return;
	}
	member_t *helpers[16];
	size_t k = g->cfg.indirect_checks < 16 ? g->cfg.indirect_checks : 16;
	size_t n = pick_random(g, k, helpers, target->pub.name, now, false);
	uint8_t ip[16];
	Aya__Gossip__Member tm = AYA__GOSSIP__MEMBER__INIT;
	gsp_member_msg(target, &tm, ip);
	Aya__Gossip__PingReq pr = AYA__GOSSIP__PING_REQ__INIT;
	pr.seq_no = g->probe_seq_no;
	pr.target = (char *)target->pub.name;
	pr.ip = tm.ip;
	pr.port = tm.port;
	for (size_t i = 0; i < n; i++) {
		send_one(g, &helpers[i]->pub.addr, AYA__GOSSIP__MSG__KIND_PING_REQ, &pr);
		g->stats.indirect_probes++;
	}
	g->probe_expected_nacks = (unsigned)n;
}

/* ---- gossip, push/pull, join ---- */

static void gossip_round(gsp_t *g, uint64_t now, size_t fanout)
{
	if (g->q.n == 0) {
		return;
	}
	member_t *to[32];
	size_t n = pick_random(g, fanout < 32 ? fanout : 32, to, NULL, now, true);
	for (size_t i = 0; i < n && g->q.n > 0; i++) {
		gsp_send_msgs(g, &to[i]->pub.addr, NULL);
	}
}

void gsp_pushpull_send(gsp_t *g, const gsp_addr_t *to, bool join, bool retried)
{
	pushpull_req_t *slot = NULL;
	for (size_t i = 0; i < AYA_ARRAY_LEN(g->reqs) && slot == NULL; i++) {
		slot = g->reqs[i].used ? NULL : &g->reqs[i];
	}
	uint8_t *frame;
	size_t len;
	if (slot == NULL ||
	    gsp_pushpull_frame(g, join, NULL, gsp_peer_epoch(g, to), &frame, &len) != 0) {
		g->stats.pushpull_fail++;
		return;
	}
	slot->used = true;
	slot->join = join;
	slot->retried = retried;
	slot->to = *to;
	slot->id = ++g->next_req_id;
	if (join) {
		g->join_outstanding++;
	}
	if (g->tr.tcp_request(g->tr.ctx, to, frame, len, slot->id) != 0) {
		slot->used = false;
		g->join_outstanding -= join;
		g->stats.pushpull_fail++;
	}
	free(frame);
}

unsigned gsp_pushpull_every(size_t n)
{
	unsigned bits = 0;
	while (bits < 64 && ((size_t)1 << bits) < n) {
		bits++; /* ceil(log2 n) */
	}
	return bits <= 5 ? 1 : bits - 4;
}

static void pushpull_round(gsp_t *g, uint64_t now)
{
	member_t *m[1];
	if (++g->pushpull_rounds % gsp_pushpull_every(g->n_live) == 0 &&
	    pick_random(g, 1, m, NULL, now, false) == 1) {
		gsp_pushpull_send(g, &m[0]->pub.addr, false, false);
	}
	/* Reconnect: try one member we believe dead, to heal partitions (serf's reconnect). */
	size_t start = g->n_members ? gsp_rand(g) % g->n_members : 0;
	for (size_t i = 0; i < g->n_members; i++) {
		member_t *d = g->members[(start + i) % g->n_members];
		if (d->pub.state == GSP_ST_DEAD) {
			gsp_pushpull_send(g, &d->pub.addr, false, false);
			break;
		}
	}
}

static void join_round(gsp_t *g, uint64_t now)
{
	g->next_join_ms = UINT64_MAX;
	for (size_t i = 0; i < g->cfg.n_seeds; i++) {
		if (!gsp_addr_equal(&g->seeds[i], &g->me->pub.addr)) {
			gsp_pushpull_send(g, &g->seeds[i], true, false);
		}
	}
	if (g->join_outstanding == 0) {
		if (g->cfg.n_seeds > 0 && !g->joined) {
			/* Every seed is us, or none could be tried: we are the first node. */
			g->joined = true;
		}
		return;
	}
	(void)now;
}

void gsp_start(gsp_t *g)
{
	uint64_t now = gsp_now(g);
	g->started = true;
	g->joined = g->cfg.n_seeds == 0;
	g->me->pub.state_change_ms = now;
	g->me->pub.last_heard_ms = now;
	uint8_t ip[16];
	Aya__Gossip__Member mm = AYA__GOSSIP__MEMBER__INIT;
	gsp_member_msg(g->me, &mm, ip);
	Aya__Gossip__Msg msg = AYA__GOSSIP__MSG__INIT;
	msg.kind_case = AYA__GOSSIP__MSG__KIND_ALIVE;
	msg.alive = &mm;
	gsp_queue_msg(g, g->me->pub.name, &msg);
	/* Spread the first probe over one interval so nodes started together do not sync up. */
	g->next_probe_ms = now + gsp_rand(g) % g->cfg.probe_interval_ms;
	g->next_gossip_ms = now + g->cfg.gossip_interval_ms;
	g->next_pushpull_ms = g->cfg.pushpull_interval_ms
	                              ? now + g->cfg.pushpull_interval_ms / 2 +
	                                        gsp_rand(g) % g->cfg.pushpull_interval_ms
	                              : UINT64_MAX;
	g->next_suspect_ms = UINT64_MAX;
	g->next_reap_ms = now + g->cfg.probe_interval_ms;
	g->next_join_ms = UINT64_MAX;
	join_round(g, now);
	gsp_tick(g);
}

static bool seed_listed(const gsp_addr_t *v, size_t n, const gsp_addr_t *a)
{
	for (size_t i = 0; i < n; i++) {
		if (gsp_addr_equal(&v[i], a)) {
			return true;
		}
	}
	return false;
}

int gsp_set_seeds(gsp_t *g, const gsp_addr_t *seeds, size_t n)
{
	gsp_addr_t *v = n > 0 ? calloc(n, sizeof(*v)) : NULL;
	if (n > 0 && v == NULL) {
		return -ENOMEM;
	}
	if (n > 0) {
		memcpy(v, seeds, n * sizeof(*v));
	}
	gsp_addr_t *old = g->seeds;
	size_t n_old = g->cfg.n_seeds;
	g->seeds = v;
	g->cfg.seeds = v;
	g->cfg.n_seeds = n;
	/* A new seed is joined now, whether or not this node has joined: a reload that
	 * adds a seed is how an operator connects two clusters. */
	for (size_t i = 0; g->started && !g->leaving && i < n; i++) {
		if (!seed_listed(old, n_old, &v[i]) && !gsp_addr_equal(&v[i], &g->me->pub.addr)) {
			gsp_pushpull_send(g, &v[i], true, false);
		}
	}
	free(old);
	g->join_backoff_ms = 1000;
	return 0;
}

void gsp_join_result(gsp_t *g, bool ok)
{
	if (ok) {
		if (!g->joined) {
			log_info("gossip: %s joined the cluster", g->me->pub.name);
		}
		g->joined = true;
	}
	if (g->join_outstanding > 0 || g->joined) {
		return;
	}
	uint64_t now = gsp_now(g);
	g->next_join_ms = now + g->join_backoff_ms;
	g->join_backoff_ms = g->join_backoff_ms * 2 < g->cfg.join_retry_max_ms
	                             ? g->join_backoff_ms * 2
	                             : g->cfg.join_retry_max_ms;
	gsp_tick(g);
}

void gsp_leave(gsp_t *g)
{
	g->leaving = true;
	m_suspect_t d = {.name = g->me->pub.name,
	                 .from = g->me->pub.name,
	                 .incarnation = g->me->pub.incarnation + 1,
	                 .dead = true};
	gsp_apply_dead(g, &d);
	gossip_round(g, gsp_now(g), 2 * (size_t)g->cfg.gossip_fanout);
}

/* ---- timers ---- */

static void relay_timeouts(gsp_t *g, uint64_t now, uint64_t *next)
{
	for (size_t i = 0; i < PENDING_MAX; i++) {
		pending_t *p = &g->pending[i];
		if (p->kind != PEND_RELAY) {
			continue;
		}
		if (p->deadline_ms <= now) {
			Aya__Gossip__Nack nack = AYA__GOSSIP__NACK__INIT;
			nack.seq_no = p->req_seq_no;
			gsp_addr_t to = p->requester;
			p->kind = PEND_NONE;
			send_one(g, &to, AYA__GOSSIP__MSG__KIND_NACK, &nack);
		} else if (p->deadline_ms < *next) {
			*next = p->deadline_ms;
		}
	}
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t quick_gap(const gsp_t *g)
{
	return g->cfg.gossip_interval_ms / 10;
}

void gsp_gossip_soon(gsp_t *g)
{
	uint64_t now = gsp_now(g);
	uint64_t gap = quick_gap(g);
	/* The rounds a fresh item needs to reach its retransmit limit. */
	unsigned fan = g->cfg.gossip_fanout > 0 ? g->cfg.gossip_fanout : 1;
	g->quick_rounds = (gsp_bq_limit(g->cfg.retransmit_mult, g->n_live) + fan - 1) / fan;
	uint64_t at = g->last_gossip_ms + gap > now ? g->last_gossip_ms + gap : now;
	g->next_gossip_ms = min64(g->next_gossip_ms, at);
}

void gsp_tick(gsp_t *g)
{
	if (!g->started || g->in_tick) {
		return;
	}
	g->in_tick = true;
	uint64_t now = gsp_now(g);
	uint64_t next = UINT64_MAX;
	if (g->probing && !g->probe_acked && !g->probe_indirect && now >= g->probe_timeout_at) {
		probe_indirect(g, now);
	}
	if (now >= g->next_probe_ms && !g->leaving) {
		if (g->probing) {
			probe_finish(g);
		}
		probe_start(g, now);
	}
	relay_timeouts(g, now, &next);
	if (now >= g->next_gossip_ms) {
		gossip_round(g, now, g->cfg.gossip_fanout);
		g->last_gossip_ms = now;
		g->next_gossip_ms = now + g->cfg.gossip_interval_ms;
		if (g->quick_rounds > 0 && g->q.n > 0) {
			g->quick_rounds--;
			g->next_gossip_ms = now + quick_gap(g);
		}
	}
	if (now >= g->next_pushpull_ms && !g->leaving) {
		pushpull_round(g, now);
		g->next_pushpull_ms = now + g->cfg.pushpull_interval_ms;
	}
	if (now >= g->next_suspect_ms) {
		g->next_suspect_ms = gsp_check_suspects(g, now);
	}
	if (now >= g->next_reap_ms) {
		gsp_reap(g, now);
		g->next_reap_ms = now + g->cfg.probe_interval_ms;
	}
	if (now >= g->next_join_ms) {
		join_round(g, now);
	}
	if (g->probing && !g->probe_acked && !g->probe_indirect) {
		next = min64(next, g->probe_timeout_at);
	}
	next = min64(next, g->leaving ? UINT64_MAX : g->next_probe_ms);
	next = min64(next, g->next_gossip_ms);
	next = min64(next, g->next_pushpull_ms);
	next = min64(next, g->next_suspect_ms);
	next = min64(next, g->next_reap_ms);
	next = min64(next, g->next_join_ms);
	next = min64(next, gsp_keyop_tick(g, now));
	g->in_tick = false;
	if (next != UINT64_MAX) {
		g->clock.arm(g->clock.ctx, next > now ? next : now + 1);
	}
}

/* ---- accessors ---- */

size_t gsp_member_count(const gsp_t *g)
{
	return g->n_members;
}

const gsp_member_t *gsp_member_get(const gsp_t *g, size_t i)
{
	return i < g->n_members ? &g->members[i]->pub : NULL;
}

const gsp_member_t *gsp_member_find(const gsp_t *g, const char *name)
{
	const member_t *m = gsp_mt_find(g, name);
	return m != NULL ? &m->pub : NULL;
}

size_t gsp_live_count(const gsp_t *g)
{
	return g->n_live;
}

unsigned gsp_health_score(const gsp_t *g)
{
	return g->awareness;
}

bool gsp_joined(const gsp_t *g)
{
	return g->joined;
}

gsp_stats_t gsp_stats(const gsp_t *g)
{
	gsp_stats_t s = g->stats;
	s.broadcasts_dropped += g->q.dropped;
	return s;
}

int gsp_broadcast(gsp_t *g, const char *key, const uint8_t *data, size_t len)
{
	if (key[0] == '\0' || strlen(key) > 255 || len == 0 || data == NULL) {
		return -EINVAL;
	}
	Aya__Gossip__UserState u = AYA__GOSSIP__USER_STATE__INIT;
	/* Only the key's hash travels (see proto/gossip.proto). */
	u.key_hash = gsp_user_key_hash(key);
	u.data.data = (uint8_t *)data;
	u.data.len = len;
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = AYA__GOSSIP__MSG__KIND_USER;
	m.user = &u;
	/* Room for the envelope and the Packet header (version, name, sequence, 2 epochs). */
	size_t room = g->cfg.mtu - GSP_ENV_OVERHEAD - (2 + 2 + GSP_NAME_MAX + 11 + 10);
	if (gsp_bq_part_cost(protobuf_c_message_get_packed_size(&m.base)) > room) {
		return -EMSGSIZE;
	}
	char hkey[12];
	snprintf(hkey, sizeof(hkey), "#%08" PRIx32, u.key_hash);
	gsp_queue_msg(g, hkey, &m);
	return 0;
}

uint32_t gsp_user_key_hash(const char *key)
{
	uint32_t h = UINT32_C(2166136261);
	for (const char *p = key; *p != '\0'; p++) {
		h = (h ^ (uint8_t)*p) * UINT32_C(16777619);
	}
	return h;
}

int gsp_broadcast_now(gsp_t *g, const char *key, const uint8_t *data, size_t len)
{
	int rc = gsp_broadcast(g, key, data, len);
	if (rc == 0 && g->started) {
		gsp_gossip_soon(g);
		gsp_tick(g);
	}
	return rc;
}
