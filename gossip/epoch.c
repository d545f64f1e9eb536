/*
 * Epochs (proto/gossip.proto, docs/dev/gossip.md "Replay protection and
 * epochs"): every run of a node draws a random 32-bit epoch; every packet
 * names the receiver's epoch as the sender knows it, and a receiver drops a
 * packet for another epoch before its replay window (recv.c). So a packet
 * is accepted only by the run of the node it was sent to: not by another
 * node, not after the receiver restarted. The replay window (crypto.c) only
 * has to cover one run of one receiver.
 *
 * Here: drawing the epoch, the table of other nodes' epochs by address
 * (what sends name), learning them from packets that passed every check,
 * and the epoch notice: the answer to a packet dropped for its epoch, over
 * UDP at most once a second per address and sent to the sender's member
 * address when it is a member (a replay with a forged source cannot aim
 * it), else to the source but at most ten a second in all; over TCP it is
 * the reply on the same stream
 * (recv.c). A notice echoes the dropped packet's from_epoch, so it only
 * opens on the run of the sender that sent it: one captured for an earlier
 * run is dropped there and never answered (no notice loops). The sender
 * learns our epoch from it and sends again (gsp_notice_heard(), the
 * push/pull retry).
 *
 * The peer table: a lost or evicted entry costs one notice round trip,
 * never correctness; a full table is emptied and learned again.
 */
#include "gossip/gossip_int.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

uint32_t gsp_epoch_draw(gsp_t *g, uint32_t old)
{
	uint32_t e = 0;
	uint64_t h = aya_fnv1a(AYA_FNV_OFFSET, &g->cfg.seed, sizeof(g->cfg.seed));
	while (e == 0 || e == old) {
		/*
		 * Seeded nodes (simulations, fuzzing) stay deterministic, from a hash
		 * of the seed: drawing from the PRNG would shift every later choice.
		 */
		h = aya_fnv1a(h, &old, sizeof(old));
		if (g->cfg.seed != 0 || RAND_bytes((unsigned char *)&e, sizeof(e)) != 1) {
			e = (uint32_t)(h >> 32);
		}
	}
	return e;
}

uint32_t gsp_peer_epoch(gsp_t *g, const gsp_addr_t *addr)
{
	const peer_ent_t *e = gsp_peer_get(&g->peers, addr, false);
	return e != NULL ? e->epoch : 0;
}

void gsp_peer_learn(gsp_t *g, const gsp_addr_t *addr, uint32_t epoch)
{
	if (epoch == 0) {
		return;
	}
	if (epoch == g->epoch) {
		/*
		 * Another node drew our epoch (1 in 2^32 per pair): packets meant
		 * for it would pass our check. Draw again; peers learn the new one
		 * from their next notice.
		 */
		g->epoch = gsp_epoch_draw(g, g->epoch);
		g->me->epoch = g->epoch;
		log_info("gossip: a peer runs with this node's epoch; new epoch %08" PRIx32,
		         g->epoch);
	}
	peer_ent_t *e = gsp_peer_get(&g->peers, addr, true);
	if (e != NULL) {
		e->epoch = epoch;
	}
}

/* The sender for a drop warning: "ADDR" or "a peer" (TCP replies have none). */
static const char *from_str(const gsp_addr_t *from, char *buf, size_t len)
{
	if (from == NULL) {
		return "a peer";
	}
	gsp_addr_str(from, buf, len);
	return buf;
}

static void send_one(gsp_t *g, const gsp_addr_t *to, Aya__Gossip__Msg__KindCase kind, void *body)
{
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = kind;
	m.ping = body; /* union: every member is a message pointer */
	gsp_send_msgs(g, to, &m);
}

bool gsp_epoch_wrong(gsp_t *g, const gsp_addr_t *from, const Aya__Gossip__Packet *p,
                     uint32_t *notice_epoch)
{
	char who[80];
	if (p->to_epoch == g->epoch) {
		return false;
	}
	/*
	 * A notice (no parts, to_epoch set) is never answered by a notice; a hello
	 * (no parts, to_epoch 0) asks for one. Nor is a node that knows no epochs.
	 */
	bool answer = (p->n_parts > 0 || p->to_epoch == 0) && p->from_epoch != 0 &&
	              p->version >= GSP_PROTO_VERSION;
	if (notice_epoch != NULL && answer) {
		*notice_epoch = p->from_epoch;
	}
	if (p->to_epoch != 0) {
		g->stats.rx_stale_epoch++;
		log_ratelimited(
		        AYA_LOG_WARN,
		        "gossip: dropped a packet of %s from %s: addressed to another node or "
		        "to an earlier run of this one (epoch %08" PRIx32 ", ours %08" PRIx32
		        ") (%" PRIu64 " so far)",
		        p->from, from_str(from, who, sizeof(who)), p->to_epoch, g->epoch,
		        g->stats.rx_stale_epoch);
		return true;
	}
	/* The sender's first packet to this run of ours: normal, the notice answers it. */
	g->stats.rx_no_epoch++;
	if (p->version < GSP_PROTO_VERSION) {
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped a packet of %s from %s: it speaks gossip protocol "
		                "version %" PRIu32 ", this node %d, and they do not interoperate; "
		                "upgrade it (%" PRIu64 " so far)",
		                p->from, from_str(from, who, sizeof(who)), p->version,
		                GSP_PROTO_VERSION, g->stats.rx_no_epoch);
	}
	return true;
}

void gsp_epoch_learn(gsp_t *g, const gsp_addr_t *src, const Aya__Gossip__Packet *p)
{
	if (src != NULL) {
		gsp_peer_learn(g, src, p->from_epoch);
	}
	member_t *m = gsp_mt_find(g, p->from);
	if (m != NULL && !m->self && p->from_epoch != 0) {
		m->epoch = p->from_epoch; /* first hand: what it tells others of it */
		if (src == NULL || !gsp_addr_equal(src, &m->pub.addr)) {
			gsp_peer_learn(g, &m->pub.addr, p->from_epoch);
		}
	}
}

void gsp_epoch_answer(gsp_t *g, const gsp_addr_t *src, const char *name, uint32_t their_epoch)
{
	const member_t *m = gsp_mt_find(g, name);
	uint64_t now = gsp_now(g);
	if (m == NULL || m->self) {
		/*
		 * Not a member (yet): the source is all we have, and a replay can
		 * forge it. Ten notices a second in all, and no table entry per
		 * source, so a flood of forged sources neither aims more at third
		 * parties nor evicts the epochs we know.
		 */
		if (now >= g->stranger_notice_ms) {
			g->stranger_notice_ms = now + 100;
			gsp_send_notice(g, src, their_epoch);
		}
		return;
	}
	peer_ent_t *e = gsp_peer_get(&g->peers, &m->pub.addr, true);
	if (e == NULL || now < e->notice_next_ms) {
		return;
	}
	e->notice_next_ms = now + 1000;
	gsp_send_notice(g, &m->pub.addr, their_epoch);
}

void gsp_notice_heard(gsp_t *g, const char *sender)
{
	member_t *m = gsp_mt_find(g, sender);
	Aya__Gossip__Ping ping = AYA__GOSSIP__PING__INIT;
	if (g->probing && !g->probe_acked && m != NULL && !m->self) {
		if (strcmp(g->probe_target, sender) == 0) {
			/* Our ping was dropped for its epoch: the probe still has its time. */
			ping.seq_no = g->probe_seq_no;
			ping.target = (char *)m->pub.name;
			send_one(g, &m->pub.addr, AYA__GOSSIP__MSG__KIND_PING, &ping);
		} else if (g->probe_indirect) {
			/* Most likely a helper that dropped our ping-req. */
			member_t *target = gsp_mt_find(g, g->probe_target);
			if (target != NULL) {
				uint8_t ip[16];
				Aya__Gossip__Member tm = AYA__GOSSIP__MEMBER__INIT;
				gsp_member_msg(target, &tm, ip);
				Aya__Gossip__PingReq pr = AYA__GOSSIP__PING_REQ__INIT;
				pr.seq_no = g->probe_seq_no;
				pr.target = (char *)target->pub.name;
				pr.ip = tm.ip;
				pr.port = tm.port;
				send_one(g, &m->pub.addr, AYA__GOSSIP__MSG__KIND_PING_REQ, &pr);
			}
		}
	}
	/* What we would have piggybacked on the dropped packet. */
	if (m != NULL && !m->self && g->q.n > 0) {
		gsp_send_msgs(g, &m->pub.addr, NULL);
	}
	/* Pings we relay for a ping-req to this sender. */
	for (size_t i = 0; i < PENDING_MAX; i++) {
		pending_t *p = &g->pending[i];
		if (p->kind == PEND_RELAY && strcmp(p->target_name, sender) == 0) {
			ping.seq_no = p->seq_no;
			ping.target = p->target_name;
			send_one(g, &p->target, AYA__GOSSIP__MSG__KIND_PING, &ping);
		}
	}
}

/* ---- the peer table ---- */

int gsp_peers_init(peers_t *t, size_t max)
{
	t->cap = 64;
	t->n = 0;
	t->max = max;
	t->tab = calloc(t->cap, sizeof(*t->tab));
	return t->tab != NULL ? 0 : -ENOMEM;
}

void gsp_peers_fini(peers_t *t)
{
	for (size_t i = 0; t->tab != NULL && i < t->cap; i++) {
		for (peer_ent_t *e = t->tab[i], *nx; e != NULL; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(t->tab);
	t->tab = NULL;
}

static uint64_t addr_hash(const gsp_addr_t *a)
{
	uint64_t h = aya_fnv1a_byte(AYA_FNV_OFFSET, (uint8_t)a->ss.ss_family);
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
		h = aya_fnv1a(h, &s6->sin6_port, sizeof(s6->sin6_port));
		return aya_fnv1a(h, &s6->sin6_addr, sizeof(s6->sin6_addr));
	}
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
	h = aya_fnv1a(h, &s4->sin_port, sizeof(s4->sin_port));
	return aya_fnv1a(h, &s4->sin_addr, sizeof(s4->sin_addr));
}

static void peers_grow(peers_t *t)
{
	size_t cap = t->cap * 2;
	peer_ent_t **tab = calloc(cap, sizeof(*tab));
	if (tab == NULL) {
		return; /* longer chains; still correct */
	}
	for (size_t i = 0; i < t->cap; i++) {
		for (peer_ent_t *e = t->tab[i], *nx; e != NULL; e = nx) {
			nx = e->next;
			size_t b = addr_hash(&e->addr) & (cap - 1);
			e->next = tab[b];
			tab[b] = e;
		}
	}
	free(t->tab);
	t->tab = tab;
	t->cap = cap;
}

peer_ent_t *gsp_peer_get(peers_t *t, const gsp_addr_t *addr, bool create)
{
	size_t b = addr_hash(addr) & (t->cap - 1);
	for (peer_ent_t *e = t->tab[b]; e != NULL; e = e->next) {
		if (gsp_addr_equal(&e->addr, addr)) {
			return e;
		}
	}
	if (!create) {
		return NULL;
	}
	if (t->n >= t->max) {
		/* Forgetting epochs is safe (a notice teaches them again); start over. */
		for (size_t i = 0; i < t->cap; i++) {
			for (peer_ent_t *e = t->tab[i], *nx; e != NULL; e = nx) {
				nx = e->next;
				free(e);
			}
			t->tab[i] = NULL;
		}
		t->n = 0;
	}
	peer_ent_t *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		return NULL;
	}
	e->addr = *addr;
	e->next = t->tab[b];
	t->tab[b] = e;
	if (++t->n > t->cap) {
		peers_grow(t);
	}
	return e;
}
