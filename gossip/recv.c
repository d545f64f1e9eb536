/*
 * Incoming packets and push/pull. Order of checks on a datagram: size
 * (oversized/truncated), envelope and MAC (crypto.c), protobuf decoding,
 * sender name, receiver epoch, replay window; only then does any part touch
 * state or get an answer. Each part is decoded on its own: one that does not
 * decode is counted and skipped, an unknown kind (a newer node's message) is
 * ignored.
 *
 * The receiver epoch check, learning epochs and the epoch notice are in
 * gossip/epoch.c; over TCP the notice is the reply frame (notice_frame()), and
 * a requester that gets one asks again at once (gsp_tcp_response()).
 */
#include "gossip/gossip_int.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void gsp_member_msg(const member_t *m, Aya__Gossip__Member *mm, uint8_t ipbuf[16])
{
	mm->name = (char *)m->pub.name;
	mm->region = (char *)m->pub.region;
	const struct sockaddr_storage *ss = &m->pub.addr.ss;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		memcpy(ipbuf, &s6->sin6_addr, 16);
		mm->ip.len = 16;
		mm->port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		memcpy(ipbuf, &s4->sin_addr, 4);
		mm->ip.len = 4;
		mm->port = ntohs(s4->sin_port);
	}
	mm->ip.data = ipbuf;
	mm->incarnation = m->pub.incarnation;
	mm->state = (Aya__Gossip__MemberState)m->pub.state;
	mm->config_hash = m->pub.config_hash;
	mm->epoch = m->epoch;
	mm->version = (char *)m->pub.version;
}

int gsp_addr_from_ip(const uint8_t *ip, size_t len, uint32_t port, gsp_addr_t *out)
{
	memset(out, 0, sizeof(*out));
	if (port == 0 || port > 65535 || ip == NULL) {
		return -EINVAL;
	}
	if (len == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, ip, 4);
		out->len = sizeof(*s4);
		return 0;
	}
	if (len == 16) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, ip, 16);
		out->len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

static bool name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= GSP_NAME_MAX;
}

static bool version_ok(const char *s)
{
	if (s == NULL || strlen(s) > GSP_VERSION_MAX) {
		return false;
	}
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
			return false;
		}
	}
	return true;
}

/* Validate a Member message into an m_alive_t (borrowing its strings). */
static bool member_decode(const Aya__Gossip__Member *mm, m_alive_t *a)
{
	if (mm == NULL || !name_ok(mm->name) || mm->region == NULL ||
	    strlen(mm->region) > GSP_NAME_MAX ||
	    gsp_addr_from_ip(mm->ip.data, mm->ip.len, mm->port, &a->addr) != 0) {
		return false;
	}
	a->name = mm->name;
	a->region = mm->region;
	a->incarnation = mm->incarnation;
	a->config_hash = mm->config_hash;
	a->epoch = mm->epoch;
	/* Shown to operators only: one that is too long or not printable is dropped, not fatal. */
	a->version = version_ok(mm->version) ? mm->version : "";
	return true;
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

/*
 * Every drop is counted by reason (gsp_stats_t) and, at most once a second
 * per reason, logged at warning: a node with the wrong key must not fail
 * silently.
 */
void gsp_count_drop(gsp_t *g, const gsp_addr_t *from, long err)
{
	char who[80];
	switch (err) {
	case -EPROTO:
		g->stats.rx_truncated++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped a truncated packet from %s (%" PRIu64 " so far)",
		                from_str(from, who, sizeof(who)), g->stats.rx_truncated);
		break;
	case -EMSGSIZE:
		g->stats.rx_oversize++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped an oversized packet from %s (%" PRIu64 " so far)",
		                from_str(from, who, sizeof(who)), g->stats.rx_oversize);
		break;
	case -EPERM:
		g->stats.rx_plain_refused++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped a plaintext packet from %s: this node "
		                "requires encryption (%" PRIu64 " so far)",
		                from_str(from, who, sizeof(who)), g->stats.rx_plain_refused);
		break;
	case -EACCES:
		g->stats.rx_sealed_refused++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped an encrypted packet from %s: this node "
		                "runs insecure (plaintext) gossip (%" PRIu64 " so far)",
		                from_str(from, who, sizeof(who)), g->stats.rx_sealed_refused);
		break;
	default:
		g->stats.rx_bad_auth++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped a packet from %s: no key of "
		                "this node's keyring opens it (another cluster key?) (%" PRIu64
		                " so far)",
		                from_str(from, who, sizeof(who)), g->stats.rx_bad_auth);
		break;
	}
}

Aya__Gossip__Packet *gsp_open_packet(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf,
                                     size_t len)
{
	return gsp_open_packet_ex(g, from, buf, len, NULL, NULL);
}

Aya__Gossip__Packet *gsp_open_packet_ex(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf,
                                        size_t len, uint32_t *notice_epoch,
                                        char sender[GSP_NAME_MAX + 1])
{
	if (notice_epoch != NULL) {
		*notice_epoch = 0;
	}
	uint8_t stackbuf[GSP_MAX_UDP];
	uint8_t *plain = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	char who[80];
	if (plain == NULL) {
		return NULL;
	}
	Aya__Gossip__Packet *p = NULL;
	long n = gsp_open(g->kr, buf, len, plain, len);
	if (n < 0) {
		gsp_count_drop(g, from, n);
		goto out;
	}
	p = aya__gossip__packet__unpack(NULL, (size_t)n, plain);
	if (p == NULL || !name_ok(p->from)) {
		g->stats.rx_malformed++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped a malformed packet from %s (%" PRIu64 " so far)",
		                from_str(from, who, sizeof(who)), g->stats.rx_malformed);
		goto fail;
	}
	if (gsp_epoch_wrong(g, from, p, notice_epoch)) {
		if (sender != NULL) {
			snprintf(sender, GSP_NAME_MAX + 1, "%s", p->from);
		}
		goto fail;
	}
	if (!gsp_replay_check(&g->replay, p->from, p->seq)) {
		g->stats.rx_replay++;
		log_ratelimited(AYA_LOG_WARN,
		                "gossip: dropped a replayed packet of %s from %s (%" PRIu64
		                " so far)",
		                p->from, from_str(from, who, sizeof(who)), g->stats.rx_replay);
		goto fail;
	}
	goto out;
fail:
	if (p != NULL) {
		aya__gossip__packet__free_unpacked(p, NULL);
	}
	p = NULL;
out:
	if (plain != stackbuf) {
		free(plain);
	}
	return p;
}

void gsp_handle_ack(gsp_t *g, uint32_t seq_no, bool nack)
{
	if (g->probing && seq_no == g->probe_seq_no) {
		if (nack) {
			g->probe_nacks++;
		} else if (!g->probe_acked) {
			g->probe_acked = true;
			member_t *m = gsp_mt_find(g, g->probe_target);
			if (m != NULL) {
				m->pub.last_heard_ms = gsp_now(g);
			}
		}
		return;
	}
	for (size_t i = 0; i < PENDING_MAX; i++) {
		pending_t *p = &g->pending[i];
		if (p->kind == PEND_RELAY && p->seq_no == seq_no && !nack) {
			Aya__Gossip__Ack ack = AYA__GOSSIP__ACK__INIT;
			ack.seq_no = p->req_seq_no;
			Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
			m.kind_case = AYA__GOSSIP__MSG__KIND_ACK;
			m.ack = &ack;
			p->kind = PEND_NONE;
			gsp_send_msgs(g, &p->requester, &m);
			return;
		}
	}
}

static void handle_ping_req(gsp_t *g, const gsp_addr_t *from, const Aya__Gossip__PingReq *pr)
{
	gsp_addr_t target;
	if (!name_ok(pr->target) || gsp_addr_from_ip(pr->ip.data, pr->ip.len, pr->port, &target)) {
		g->stats.rx_malformed++;
		return;
	}
	pending_t *slot = NULL;
	for (size_t i = 0; i < PENDING_MAX && slot == NULL; i++) {
		slot = g->pending[i].kind == PEND_NONE ? &g->pending[i] : NULL;
	}
	if (slot == NULL) {
		return; /* too many in flight: the requester will see neither ack nor nack */
	}
	*slot = (pending_t){.kind = PEND_RELAY,
	                    .seq_no = gsp_next_seq_no(g),
	                    .deadline_ms = gsp_now(g) + g->cfg.probe_timeout_ms,
	                    .requester = *from,
	                    .req_seq_no = pr->seq_no,
	                    .target = target};
	snprintf(slot->target_name, sizeof(slot->target_name), "%s", pr->target);
	Aya__Gossip__Ping ping = AYA__GOSSIP__PING__INIT;
	ping.seq_no = slot->seq_no;
	ping.target = pr->target;
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = AYA__GOSSIP__MSG__KIND_PING;
	m.ping = &ping;
	gsp_send_msgs(g, &target, &m);
}

static void handle_user(gsp_t *g, const Aya__Gossip__UserState *u, const uint8_t *raw,
                        size_t rawlen)
{
	/* A state update without data updates nothing: no sender makes one (gsp_broadcast()). */
	if (u->key == NULL || strlen(u->key) > 255 || u->data.len == 0 || u->data.data == NULL) {
		g->stats.rx_malformed++;
		return;
	}
	/* Older senders name the state by its key, newer ones by the key's hash. */
	uint32_t h = u->key[0] != '\0' ? gsp_user_key_hash(u->key) : u->key_hash;
	char hkey[12];
	snprintf(hkey, sizeof(hkey), "#%08" PRIx32, h);
	if (g->dg.on_state != NULL && g->dg.on_state(g->dg.ctx, u->key[0] != '\0' ? u->key : hkey,
	                                             u->data.data, u->data.len)) {
		/* New to us: pass it on (an epidemic, SWIM section 4.1), under the
		 * same queue key its origin used. */
		char qkey[16];
		snprintf(qkey, sizeof(qkey), "u:%s", hkey);
		if (gsp_bq_push(&g->q, qkey, raw, rawlen) != 0) {
			g->stats.broadcasts_dropped++;
		} else {
			/* At once (gsp_recv_udp() ends with a tick): every hop costs a
			 * network delay instead of up to a gossip interval. */
			gsp_gossip_soon(g);
		}
	}
}

static void handle_part(gsp_t *g, const gsp_addr_t *from, const char *sender,
                        const ProtobufCBinaryData *part)
{
	Aya__Gossip__Msg *m = aya__gossip__msg__unpack(NULL, part->len, part->data);
	if (m == NULL) {
		g->stats.rx_malformed++;
		return;
	}
	m_alive_t a;
	m_suspect_t s;
	switch (m->kind_case) {
	case AYA__GOSSIP__MSG__KIND_PING:
		if (m->ping->target[0] == '\0' || strcmp(m->ping->target, g->me->pub.name) == 0) {
			Aya__Gossip__Ack ack = AYA__GOSSIP__ACK__INIT;
			ack.seq_no = m->ping->seq_no;
			Aya__Gossip__Msg r = AYA__GOSSIP__MSG__INIT;
			r.kind_case = AYA__GOSSIP__MSG__KIND_ACK;
			r.ack = &ack;
			gsp_send_msgs(g, from, &r);
		}
		break;
	case AYA__GOSSIP__MSG__KIND_ACK:
		gsp_handle_ack(g, m->ack->seq_no, false);
		break;
	case AYA__GOSSIP__MSG__KIND_NACK:
		gsp_handle_ack(g, m->nack->seq_no, true);
		break;
	case AYA__GOSSIP__MSG__KIND_PING_REQ:
		handle_ping_req(g, from, m->ping_req);
		break;
	case AYA__GOSSIP__MSG__KIND_ALIVE:
		if (member_decode(m->alive, &a)) {
			gsp_apply_alive(g, &a, false);
		} else {
			g->stats.rx_malformed++;
		}
		break;
	case AYA__GOSSIP__MSG__KIND_SUSPECT:
	case AYA__GOSSIP__MSG__KIND_DEAD: {
		bool dead = m->kind_case == AYA__GOSSIP__MSG__KIND_DEAD;
		s.name = dead ? m->dead->name : m->suspect->name;
		s.from = dead ? m->dead->from : m->suspect->from;
		s.incarnation = dead ? m->dead->incarnation : m->suspect->incarnation;
		s.dead = dead;
		if (!name_ok(s.name) || !name_ok(s.from)) {
			g->stats.rx_malformed++;
		} else if (dead) {
			gsp_apply_dead(g, &s);
		} else {
			gsp_apply_suspect(g, &s);
		}
		break;
	}
	case AYA__GOSSIP__MSG__KIND_USER:
		handle_user(g, m->user, part->data, part->len);
		break;
	case AYA__GOSSIP__MSG__KIND_KEY_OP:
		/* Authenticated: the packet opened with a key of our ring (or we are insecure,
		 * which keyop.c refuses). */
		gsp_keyop_handle(g, from, sender, m->key_op);
		break;
	case AYA__GOSSIP__MSG__KIND_KEY_OP_RESULT:
		gsp_keyop_answer(g, sender, m->key_op_result);
		break;
	default:
		break; /* push/pull over UDP, or a kind newer than us */
	}
	aya__gossip__msg__free_unpacked(m, NULL);
}

void gsp_recv_udp(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf, size_t len)
{
	if (len > GSP_MAX_UDP) {
		g->stats.rx_oversize++;
		return;
	}
	if (!g->started) {
		return;
	}
	uint32_t notice_epoch = 0;
	char name[GSP_NAME_MAX + 1];
	Aya__Gossip__Packet *p = gsp_open_packet_ex(g, from, buf, len, &notice_epoch, name);
	if (p == NULL) {
		if (notice_epoch != 0) {
			gsp_epoch_answer(g, from, name, notice_epoch);
		}
		return;
	}
	g->stats.rx_packets++;
	g->stats.rx_bytes += len;
	/* Before the parts: the answers they get (acks) must name the sender's epoch. */
	gsp_epoch_learn(g, from, p);
	member_t *sender = gsp_mt_find(g, p->from);
	if (sender != NULL) {
		sender->pub.last_heard_ms = gsp_now(g);
		/* Which key it sends with, for `keyring remove` (keyop.c). */
		if (buf[0] == GSP_ENV_GCM && len >= GSP_ENV_OVERHEAD) {
			memcpy(sender->rx_key, buf + 1, GSP_KEYID_LEN);
			sender->rx_key_ms = gsp_now(g);
		}
	}
	for (size_t i = 0; i < p->n_parts && i < 256; i++) {
		handle_part(g, from, p->from, &p->parts[i]);
	}
	if (sender == NULL) {
		gsp_epoch_learn(g, NULL, p); /* its alive may have come in this packet */
	}
	if (p->n_parts == 0) {
		gsp_notice_heard(g, p->from);
	}
	aya__gossip__packet__free_unpacked(p, NULL);
	gsp_tick(g);
}

/* ---- push/pull ---- */

static int by_name(const void *a, const void *b)
{
	const Aya__Gossip__Member *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* The peer sent exactly this entry: merging ours would change nothing there. */
static bool member_same(const Aya__Gossip__Member *a, const Aya__Gossip__Member *b)
{
	return a->region != NULL && strcmp(a->region, b->region) == 0 && a->ip.len == b->ip.len &&
	       memcmp(a->ip.data, b->ip.data, a->ip.len) == 0 && a->port == b->port &&
	       a->incarnation == b->incarnation && a->state == b->state &&
	       a->config_hash == b->config_hash &&
	       strcmp(a->version != NULL ? a->version : "", b->version != NULL ? b->version : "") ==
	               0;
}

/*
 * The peer's member entries sorted by name (NULL when it sent none), for the
 * reply's delta. Entries with a bad name are left out: they match nothing.
 */
static Aya__Gossip__Member **peer_index(const Aya__Gossip__PushPull *peer, size_t *n)
{
	*n = 0;
	if (peer == NULL || peer->n_members == 0) {
		return NULL;
	}
	Aya__Gossip__Member **ix = calloc(peer->n_members, sizeof(*ix));
	if (ix == NULL) {
		return NULL; /* the reply is then whole: correct, only larger */
	}
	for (size_t i = 0; i < peer->n_members; i++) {
		if (peer->members[i] != NULL && name_ok(peer->members[i]->name)) {
			ix[(*n)++] = peer->members[i];
		}
	}
	qsort(ix, *n, sizeof(*ix), by_name);
	return ix;
}

/* Pack and seal p into a malloc'd frame (*out); 0 or a negative errno. */
static int seal_frame(gsp_t *g, const Aya__Gossip__Packet *p, uint8_t **out, size_t *len)
{
	size_t plen = protobuf_c_message_get_packed_size(&p->base);
	uint8_t *packed = malloc(plen + 1);
	uint8_t *sealed = malloc(plen + GSP_ENV_OVERHEAD);
	int rc = -ENOMEM;
	if (packed != NULL && sealed != NULL) {
		protobuf_c_message_pack(&p->base, packed);
		long n = gsp_seal(g->kr, packed, plen, sealed, plen + GSP_ENV_OVERHEAD);
		if (n >= 0) {
			*out = sealed;
			*len = (size_t)n;
			sealed = NULL;
			rc = 0;
		} else {
			rc = (int)n;
		}
	}
	free(packed);
	free(sealed);
	return rc;
}

/* An epoch notice as a push/pull reply frame: the sender learns our epoch and asks again. */
static int notice_frame(gsp_t *g, uint32_t their_epoch, uint8_t **out, size_t *len)
{
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.version = GSP_PROTO_VERSION;
	p.from = (char *)g->me->pub.name;
	p.seq = ++g->tx_seq;
	p.from_epoch = g->epoch;
	p.to_epoch = their_epoch;
	g->stats.tx_notices++;
	return seal_frame(g, &p, out, len);
}

int gsp_pushpull_frame(gsp_t *g, bool join, const Aya__Gossip__PushPull *peer, uint32_t to_epoch,
                       uint8_t **out, size_t *len)
{
	int rc = -ENOMEM;
	Aya__Gossip__Member *mm = calloc(g->n_members, sizeof(*mm));
	Aya__Gossip__Member **mp = calloc(g->n_members, sizeof(*mp));
	uint8_t(*ips)[16] = calloc(g->n_members, 16);
	uint8_t *user = NULL, *plain = NULL;
	size_t ulen = 0, n_peer = 0, n_sent = 0;
	Aya__Gossip__Member **ix = peer_index(peer, &n_peer);
	if (mm == NULL || mp == NULL || ips == NULL) {
		goto out;
	}
	for (size_t i = 0; i < g->n_members; i++) {
		aya__gossip__member__init(&mm[i]);
		gsp_member_msg(g->members[i], &mm[i], ips[i]);
		const Aya__Gossip__Member *key = &mm[i], *const *hit = NULL;
		if (ix != NULL) {
			hit = bsearch(&key, ix, n_peer, sizeof(*ix), by_name);
		}
		if (hit == NULL || !member_same(*hit, &mm[i])) {
			mp[n_sent++] = &mm[i];
		}
	}
	int urc = -ENOSYS;
	if (peer != NULL && g->dg.local_state_delta != NULL) {
		urc = g->dg.local_state_delta(g->dg.ctx, peer->user_state.data,
		                              peer->user_state.len, &user, &ulen);
	} else if (g->dg.local_state != NULL) {
		urc = g->dg.local_state(g->dg.ctx, &user, &ulen);
	}
	if (urc != 0) {
		user = NULL;
		ulen = 0;
	}
	Aya__Gossip__PushPull pp = AYA__GOSSIP__PUSH_PULL__INIT;
	pp.join = join;
	pp.n_members = n_sent;
	pp.members = mp;
	pp.user_state.data = user;
	pp.user_state.len = ulen;
	Aya__Gossip__Msg msg = AYA__GOSSIP__MSG__INIT;
	msg.kind_case = AYA__GOSSIP__MSG__KIND_PUSH_PULL;
	msg.push_pull = &pp;
	size_t mlen = protobuf_c_message_get_packed_size(&msg.base);
	plain = malloc(mlen + 1);
	if (plain == NULL) {
		goto out;
	}
	protobuf_c_message_pack(&msg.base, plain);
	ProtobufCBinaryData part = {.len = mlen, .data = plain};
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.version = GSP_PROTO_VERSION;
	p.from = (char *)g->me->pub.name;
	p.seq = ++g->tx_seq;
	p.from_epoch = g->epoch;
	p.to_epoch = to_epoch;
	p.n_parts = 1;
	p.parts = &part;
	rc = seal_frame(g, &p, out, len);
out:
	free(ix);
	free(plain);
	free(user);
	free(ips);
	free(mp);
	free(mm);
	return rc;
}

void gsp_pushpull_merge(gsp_t *g, const Aya__Gossip__PushPull *pp)
{
	for (size_t i = 0; i < pp->n_members; i++) {
		const Aya__Gossip__Member *mm = pp->members[i];
		m_alive_t a;
		if (!member_decode(mm, &a)) {
			g->stats.rx_malformed++;
			continue;
		}
		m_suspect_t s = {
		        .name = a.name, .from = g->me->pub.name, .incarnation = a.incarnation};
		switch (mm->state) {
		case AYA__GOSSIP__MEMBER_STATE__ALIVE:
			gsp_apply_alive(g, &a, true);
			break;
		case AYA__GOSSIP__MEMBER_STATE__LEFT:
			s.from = a.name;
			s.dead = true;
			gsp_apply_dead(g, &s);
			break;
		case AYA__GOSSIP__MEMBER_STATE__SUSPECT:
			if (gsp_mt_find(g, a.name) == NULL) {
				gsp_apply_alive(g, &a, true);
			}
			/* fall through */
		case AYA__GOSSIP__MEMBER_STATE__DEAD:
		default:
			/*
			 * A remote "dead" is only a suspicion here (memberlist): the
			 * member gets the suspicion timeout to refute, and if it is
			 * us, we refute at once.
			 */
			gsp_apply_suspect(g, &s);
			break;
		}
	}
	if (g->dg.merge_remote_state != NULL && pp->user_state.len > 0) {
		g->dg.merge_remote_state(g->dg.ctx, pp->user_state.data, pp->user_state.len);
	}
}

/* A push/pull frame, opened (open_pushpull()). */
typedef struct pp_frame {
	Aya__Gossip__Msg *m; /* NULL for an epoch notice */
	char from[GSP_NAME_MAX + 1];
	uint32_t from_epoch;
	uint32_t notice_epoch; /* dropped for its epoch: answer it with this */
} pp_frame_t;

/*
 * Open a push/pull frame into f; false: counted and dropped. An epoch notice
 * (a Packet without parts) opens with f->m NULL; the caller frees f->m.
 */
static bool open_pushpull(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf, size_t len,
                          pp_frame_t *f)
{
	memset(f, 0, sizeof(*f));
	if (len > GSP_MAX_FRAME) {
		g->stats.rx_oversize++;
		return false;
	}
	Aya__Gossip__Packet *p = gsp_open_packet_ex(g, from, buf, len, &f->notice_epoch, f->from);
	if (p == NULL) {
		return false;
	}
	snprintf(f->from, sizeof(f->from), "%s", p->from);
	f->from_epoch = p->from_epoch;
	bool notice = p->n_parts == 0;
	if (!notice) {
		f->m = aya__gossip__msg__unpack(NULL, p->parts[0].len, p->parts[0].data);
	}
	aya__gossip__packet__free_unpacked(p, NULL);
	if (!notice && (f->m == NULL || f->m->kind_case != AYA__GOSSIP__MSG__KIND_PUSH_PULL)) {
		g->stats.rx_malformed++;
		if (f->m != NULL) {
			aya__gossip__msg__free_unpacked(f->m, NULL);
		}
		f->m = NULL;
		return false;
	}
	g->stats.rx_packets++;
	g->stats.rx_bytes += len;
	return true;
}

/* The frame passed every check: its sender runs with from_epoch (at addr, if any). */
static void learn_frame(gsp_t *g, const gsp_addr_t *addr, const pp_frame_t *f)
{
	Aya__Gossip__Packet p = AYA__GOSSIP__PACKET__INIT;
	p.from = (char *)f->from;
	p.from_epoch = f->from_epoch;
	gsp_epoch_learn(g, addr, &p);
}

int gsp_tcp_serve(gsp_t *g, const gsp_addr_t *from, const uint8_t *buf, size_t len, uint8_t **reply,
                  size_t *reply_len)
{
	if (!g->started) {
		return -EAGAIN;
	}
	pp_frame_t f;
	if (!open_pushpull(g, from, buf, len, &f)) {
		/* Sent before its sender knew our epoch: tell it, on the same stream. */
		return f.notice_epoch != 0 ? notice_frame(g, f.notice_epoch, reply, reply_len)
		                           : -EBADMSG;
	}
	if (f.m == NULL) {
		return -EBADMSG; /* a notice is no request */
	}
	gsp_pushpull_merge(g, f.m->push_pull);
	/* After the merge: the requester is a member now, learn its address's epoch. */
	learn_frame(g, NULL, &f);
	/* Someone reached us: we are part of a cluster even if our seeds are not up yet. */
	g->joined = true;
	/* The reply is what the requester lacks after what it just told us. */
	int rc = gsp_pushpull_frame(g, false, f.m->push_pull, f.from_epoch, reply, reply_len);
	aya__gossip__msg__free_unpacked(f.m, NULL);
	gsp_tick(g);
	return rc;
}

void gsp_tcp_response(gsp_t *g, uint64_t req_id, const uint8_t *buf, size_t len)
{
	pushpull_req_t *r = NULL;
	for (size_t i = 0; i < AYA_ARRAY_LEN(g->reqs) && r == NULL; i++) {
		r = g->reqs[i].used && g->reqs[i].id == req_id ? &g->reqs[i] : NULL;
	}
	if (r == NULL) {
		return;
	}
	r->used = false;
	bool join = r->join, ok = false;
	if (join && g->join_outstanding > 0) {
		g->join_outstanding--;
	}
	pp_frame_t f;
	if (buf != NULL && open_pushpull(g, NULL, buf, len, &f)) {
		learn_frame(g, &r->to, &f);
		if (f.m == NULL && !r->retried) {
			/* An epoch notice: the server did not know us yet; ask again at once. */
			gsp_pushpull_send(g, &r->to, join, true);
			return;
		}
		if (f.m != NULL) {
			gsp_pushpull_merge(g, f.m->push_pull);
			aya__gossip__msg__free_unpacked(f.m, NULL);
			ok = true;
		}
	}
	if (ok) {
		g->stats.pushpull_ok++;
	} else {
		g->stats.pushpull_fail++;
	}
	if (join) {
		gsp_join_result(g, ok);
	} else {
		gsp_tick(g);
	}
}

/* ------------------------------------------------------------------ registry */

#define ROW(f, help, family, labels)                                                               \
	AYA_STAT_ROW(gsp_stats_t, f, "gossip_" #f, help, family, labels, AYA_STAT_COUNTER, 0)
/* tx counts UDP datagrams sent; rx the datagrams and push/pull frames that opened. */
#define H_PACKETS "Gossip packets sent (UDP) and accepted (UDP, push/pull), by direction"
#define H_BYTES "Bytes of the gossip packets sent and accepted, by direction"
#define H_DROP "Gossip packets received and dropped, by reason"
#define F_DROP "aya_gossip_rx_dropped_total"
#define H_PUSHPULL "TCP push/pull anti-entropy exchanges, by result"
#define H_TCP "Accepted gossip TCP streams closed before their reply, by reason"
#define F_TCP "aya_gossip_tcp_closed_total"

static const aya_stat_t stat_rows[] = {
        ROW(tx_packets, H_PACKETS, "aya_gossip_packets_total", "direction=\"tx\""),
        ROW(tx_bytes, H_BYTES, "aya_gossip_bytes_total", "direction=\"tx\""),
        ROW(rx_packets, H_PACKETS, "aya_gossip_packets_total", "direction=\"rx\""),
        ROW(rx_bytes, H_BYTES, "aya_gossip_bytes_total", "direction=\"rx\""),
        ROW(rx_bad_auth, H_DROP, F_DROP, "reason=\"bad_auth\""),
        ROW(rx_replay, H_DROP, F_DROP, "reason=\"replay\""),
        ROW(rx_truncated, H_DROP, F_DROP, "reason=\"truncated\""),
        ROW(rx_oversize, H_DROP, F_DROP, "reason=\"oversize\""),
        ROW(rx_malformed, H_DROP, F_DROP, "reason=\"malformed\""),
        ROW(rx_plain_refused, H_DROP, F_DROP, "reason=\"plain_refused\""),
        ROW(rx_sealed_refused, H_DROP, F_DROP, "reason=\"sealed_refused\""),
        ROW(rx_no_epoch, H_DROP, F_DROP, "reason=\"no_epoch\""),
        ROW(rx_stale_epoch, H_DROP, F_DROP, "reason=\"stale_epoch\""),
        ROW(tx_notices, "Epoch notices sent (answers to packets for another epoch)",
            "aya_gossip_epoch_notices_total", NULL),
        ROW(tx_errors, "Gossip packets the transport failed to send", "aya_gossip_tx_errors_total",
            NULL),
        ROW(probes, "SWIM probes of a member started", "aya_gossip_probes_total", NULL),
        ROW(probe_failures, "SWIM probes that got no ack in time",
            "aya_gossip_probe_failures_total", NULL),
        ROW(indirect_probes, "SWIM indirect probe requests (ping-req) sent",
            "aya_gossip_indirect_probes_total", NULL),
        ROW(refutes, "Suspicions of this node refuted with a higher incarnation",
            "aya_gossip_refutes_total", NULL),
        ROW(pushpull_ok, H_PUSHPULL, "aya_gossip_pushpull_total", "result=\"ok\""),
        ROW(pushpull_fail, H_PUSHPULL, "aya_gossip_pushpull_total", "result=\"failed\""),
        ROW(tcp_deadline, H_TCP, F_TCP, "reason=\"deadline\""),
        ROW(tcp_evicted, H_TCP, F_TCP, "reason=\"evicted\""),
        ROW(tcp_refused, H_TCP, F_TCP, "reason=\"refused\""),
        ROW(broadcasts_dropped, "Broadcasts dropped from the full queue before being sent",
            "aya_gossip_broadcasts_dropped_total", NULL),
};

const aya_stat_table_t gsp_stats_table = AYA_STAT_TABLE("gossip", gsp_stats_t, stat_rows);
