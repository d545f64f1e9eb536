/*
 * Cluster keyring operations: `ayactl keyring install|use|remove|list` on
 * every live member (gossip.h has the rules). One op at a time per node.
 *
 * The node running the command is the coordinator. An op has one or two
 * phases, each with its own random id: a query (every member's ring, and
 * which members still send with which key), then, for install, use and
 * remove, the change. Every phase goes to the members that were live when
 * the op started (this node included, applied in place), by UDP in a
 * sealed packet, resent every GSP_KEYOP_RETRY_MS to the members that have
 * not answered, and ends when all answered or GSP_KEYOP_TIMEOUT_MS passed.
 * use and remove decide between the phases from the query's answers: a
 * refusal changes nothing anywhere.
 *
 * Members: an op is only taken from a sealed packet, i.e. from a holder of
 * a key of our ring; insecure mode refuses them. A resent change is not
 * applied twice: the answers to the last SEEN_MAX changes are kept by
 * (sender, id) and sent again.
 *
 * Invariants: no node removes its own primary key (so never its last), and
 * a `use` only goes out once every member has the key: whatever a member
 * sends, every member can open.
 */
#include "gossip/gossip_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/log.h"

#define SEEN_MAX 16

typedef enum ko_kind { KO_LIST, KO_INSTALL, KO_USE, KO_REMOVE } ko_kind_t;

static const char *const kind_names[] = {"list", "install", "use", "remove"};

typedef struct seen {
	char from[GSP_NAME_MAX + 1];
	uint64_t id;
	int error;
	char message[128];
} seen_t;

struct keyops {
	/* The op this node coordinates. */
	bool active, force, applying; /* applying: the change phase, else the query */
	ko_kind_t kind;
	uint64_t id; /* of the phase */
	uint64_t deadline_ms, next_send_ms;
	uint8_t key[GSP_KEY_LEN]; /* install */
	char key_id[9];
	gsp_keyop_member_t *m; /* [0] = this node */
	gsp_addr_t *addr;
	size_t n;
	gsp_keyop_done_fn done;
	void *ctx;
	/* As a member: answers to the last changes, for resent ones. */
	seen_t seen[SEEN_MAX];
	size_t seen_next;
};

static struct keyops *ko_get(gsp_t *g)
{
	if (g->ko == NULL) {
		g->ko = calloc(1, sizeof(*g->ko));
	}
	return g->ko;
}

static bool keyed(const gsp_t *g)
{
	return g->kr != NULL && gsp_keyring_count(g->kr) > 0;
}

/* Append name to a ", "-separated list in buf (cut when full). */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf), sep = n > 0 ? 2 : 0, add = strlen(name);
	if (n + sep + add + 1 > len) {
		return; /* full: the first ones are named */
	}
	memcpy(buf + n, ", ", sep);
	memcpy(buf + n + sep, name, add + 1);
}

/* list_add unless name is in the list already. */
static void list_add_once(char *buf, size_t len, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strstr(buf, name); p != NULL; p = strstr(p + 1, name)) {
		if ((p == buf || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0')) {
			return;
		}
	}
	list_add(buf, len, name);
}

/* Our ring, primary first, each key with the members still sending with it. */
static size_t ring_state(gsp_t *g, gsp_keyop_key_t *out)
{
	uint64_t now = gsp_now(g);
	size_t n = keyed(g) ? gsp_keyring_count(g->kr) : 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t key[GSP_KEY_LEN];
		out[i] = (gsp_keyop_key_t){.primary = i == 0};
		if (gsp_keyring_get(g->kr, i, key) == 0) {
			gsp_key_id_hex(key, out[i].id);
		}
		OPENSSL_cleanse(key, sizeof(key));
		for (size_t j = 0; j < g->n_members; j++) {
			const member_t *m = g->members[j];
			char hex[9];
			if (m->self || m->rx_key_ms == 0 ||
			    now - m->rx_key_ms > GSP_KEY_RECENT_MS) {
				continue;
			}
			snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", m->rx_key[0], m->rx_key[1],
			         m->rx_key[2], m->rx_key[3]);
			if (strcmp(hex, out[i].id) == 0) {
				list_add(out[i].senders, sizeof(out[i].senders), m->pub.name);
			}
		}
	}
	return n;
}

/* Apply a change to our ring; 0 or a negative errno with *msg. Tells the delegate. */
static int apply_local(gsp_t *g, ko_kind_t kind, const uint8_t *key, const char *key_id,
                       const char **msg)
{
	char changed[9];
	int rc;
	*msg = NULL;
	if (kind == KO_INSTALL) {
		rc = gsp_keyring_install(g->kr, key);
		*msg = rc == 0 ? NULL : "the keyring is full";
	} else {
		rc = gsp_keyring_apply(g->kr, kind_names[kind], key_id, changed, msg);
	}
	if (kind == KO_REMOVE && rc == -ENOENT) {
		*msg = NULL;
		return 0; /* gone already (a repeated op): what was asked for */
	}
	if (rc < 0) {
		return rc;
	}
	if (g->dg.on_keyring != NULL) {
		g->dg.on_keyring(g->dg.ctx, g->kr);
	}
	return 0;
}

/* ---- member side ---- */

static void answer(gsp_t *g, const gsp_addr_t *to, uint64_t id, int error, const char *message)
{
	gsp_keyop_key_t ks[GSP_MAX_KEYS];
	Aya__Gossip__KeyState st[GSP_MAX_KEYS], *stp[GSP_MAX_KEYS];
	char *names[GSP_MAX_KEYS][8];
	size_t n = ring_state(g, ks);
	/* The answer is one datagram part (gsp_send_msgs: at most 1 KiB): names within budget. */
	size_t budget = 480;
	for (size_t i = 0; i < n; i++) {
		aya__gossip__key_state__init(&st[i]);
		st[i].id = ks[i].id;
		st[i].primary = ks[i].primary;
		/* Split the senders list back into names (at most 8 a key on the wire). */
		char *save = NULL;
		for (char *t = strtok_r(ks[i].senders, ", ", &save);
		     t != NULL && st[i].n_senders < 8; t = strtok_r(NULL, ", ", &save)) {
			if (strlen(t) + 2 > budget) {
				break;
			}
			budget -= strlen(t) + 2;
			names[i][st[i].n_senders++] = t;
		}
		st[i].senders = names[i];
		stp[i] = &st[i];
	}
	Aya__Gossip__KeyOpResult r = AYA__GOSSIP__KEY_OP_RESULT__INIT;
	r.id = id;
	r.error = (uint32_t)(error < 0 ? -error : error);
	r.message = (char *)(message != NULL ? message : "");
	r.n_keys = n;
	r.keys = stp;
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = AYA__GOSSIP__MSG__KIND_KEY_OP_RESULT;
	m.key_op_result = &r;
	gsp_send_msgs(g, to, &m);
}

static int kind_parse(const char *op, ko_kind_t *out)
{
	for (size_t i = KO_INSTALL; i <= KO_REMOVE; i++) {
		if (strcmp(op, kind_names[i]) == 0) {
			*out = (ko_kind_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

void gsp_keyop_handle(gsp_t *g, const gsp_addr_t *from, const char *sender,
                      const Aya__Gossip__KeyOp *op)
{
	ko_kind_t kind;
	if (!keyed(g)) {
		/* Plaintext: anyone could have sent it. */
		log_ratelimited(AYA_LOG_WARN, "gossip: keyring op from %s refused: insecure mode",
		                sender);
		return;
	}
	struct keyops *ko = ko_get(g);
	if (ko == NULL) {
		return;
	}
	if (strcmp(op->op, "query") == 0) {
		answer(g, from, op->id, 0, NULL);
		return;
	}
	for (size_t i = 0; i < SEEN_MAX; i++) {
		const seen_t *s = &ko->seen[i];
		if (s->id == op->id && strcmp(s->from, sender) == 0) {
			answer(g, from, op->id, s->error, s->message);
			return;
		}
	}
	const char *msg = NULL;
	int rc = -EINVAL;
	if (kind_parse(op->op, &kind) < 0) {
		msg = "unknown keyring op (a newer node?)";
	} else if (kind == KO_INSTALL && op->key.len != GSP_KEY_LEN) {
		msg = "install: not a 32-byte key";
	} else if (kind != KO_INSTALL && (op->key_id == NULL || strlen(op->key_id) != 8)) {
		msg = "not a key id";
	} else {
		rc = apply_local(g, kind, op->key.data, op->key_id, &msg);
		if (rc == 0) {
			log_info("gossip: keyring %s %s by %s", op->op,
			         kind == KO_INSTALL ? "(a new key)" : op->key_id, sender);
		}
	}
	seen_t *s = &ko->seen[ko->seen_next++ % SEEN_MAX];
	*s = (seen_t){.id = op->id, .error = rc};
	snprintf(s->from, sizeof(s->from), "%s", sender);
	snprintf(s->message, sizeof(s->message), "%s", msg != NULL ? msg : "");
	answer(g, from, op->id, rc, s->message);
}

/* ---- coordinator ---- */

static bool all_answered(const struct keyops *ko)
{
	for (size_t i = 0; i < ko->n; i++) {
		if (!ko->m[i].answered) {
			return false;
		}
	}
	return true;
}

static void send_round(gsp_t *g, uint64_t now)
{
	struct keyops *ko = g->ko;
	Aya__Gossip__KeyOp op = AYA__GOSSIP__KEY_OP__INIT;
	op.id = ko->id;
	op.op = (char *)(ko->applying ? kind_names[ko->kind] : "query");
	if (ko->applying && ko->kind == KO_INSTALL) {
		op.key.data = ko->key;
		op.key.len = GSP_KEY_LEN;
	} else if (ko->kind != KO_LIST && ko->kind != KO_INSTALL) {
		op.key_id = ko->key_id;
	}
	Aya__Gossip__Msg m = AYA__GOSSIP__MSG__INIT;
	m.kind_case = AYA__GOSSIP__MSG__KIND_KEY_OP;
	m.key_op = &op;
	for (size_t i = 1; i < ko->n; i++) {
		if (!ko->m[i].answered) {
			gsp_send_msgs(g, &ko->addr[i], &m);
		}
	}
	ko->next_send_ms = now + GSP_KEYOP_RETRY_MS;
}

/* Begin a phase: a new id, this node answers at once, the others by the network. */
static void phase_start(gsp_t *g, bool applying, uint64_t now)
{
	struct keyops *ko = g->ko;
	ko->applying = applying;
	ko->id = gsp_rand(g) | 1;
	ko->deadline_ms = now + GSP_KEYOP_TIMEOUT_MS;
	for (size_t i = 0; i < ko->n; i++) {
		ko->m[i].answered = false;
		ko->m[i].error = 0;
		ko->m[i].message[0] = '\0';
	}
	gsp_keyop_member_t *me = &ko->m[0];
	if (applying) {
		const char *msg = NULL;
		me->error = apply_local(g, ko->kind, ko->key, ko->key_id, &msg);
		snprintf(me->message, sizeof(me->message), "%s", msg != NULL ? msg : "");
	}
	me->n_keys = ring_state(g, me->keys);
	me->answered = true;
	send_round(g, now);
	if (all_answered(ko)) {
		ko->next_send_ms = now; /* finish in the next tick, not inside the caller */
	}
}

static void finish(gsp_t *g, int error, const char *message)
{
	struct keyops *ko = g->ko;
	gsp_keyop_result_t res = {.error = error, .members = ko->m, .n_members = ko->n};
	snprintf(res.op, sizeof(res.op), "%s", kind_names[ko->kind]);
	snprintf(res.id, sizeof(res.id), "%s", ko->key_id);
	snprintf(res.message, sizeof(res.message), "%s", message != NULL ? message : "");
	for (size_t i = 0; i < ko->n; i++) {
		res.n_ok += ko->m[i].answered && ko->m[i].error == 0;
	}
	gsp_keyop_done_fn done = ko->done;
	void *ctx = ko->ctx;
	gsp_keyop_member_t *m = ko->m;
	free(ko->addr);
	ko->addr = NULL;
	ko->m = NULL;
	ko->n = 0;
	ko->active = false;
	OPENSSL_cleanse(ko->key, sizeof(ko->key));
	if (error < 0) {
		log_warn("gossip: keyring %s %s: %s", res.op, res.id, res.message);
	} else if (ko->kind != KO_LIST) {
		log_info("gossip: keyring %s %s: done on %zu/%zu member(s)", res.op, res.id,
		         res.n_ok, res.n_members);
	}
	done(ctx, &res);
	free(m);
}

static const gsp_keyop_key_t *key_of(const gsp_keyop_member_t *m, const char *id)
{
	for (size_t i = 0; i < m->n_keys; i++) {
		if (strcmp(m->keys[i].id, id) == 0) {
			return &m->keys[i];
		}
	}
	return NULL;
}

/* A message snprintf cut (wrote >= len): say so at its end. */
static void cut(char *buf, size_t len, int wrote)
{
	if (wrote >= (int)len && len > 4) {
		memcpy(buf + len - 4, "...", 4);
	}
}

/*
 * After the query: may the change go out? NULL when it may, else the
 * refusal into buf. use: every member answered and has the key. remove: no
 * member has it as primary or still sends with it, every member answered
 * (unless force).
 */
static const char *refusal(const struct keyops *ko, char *buf, size_t len)
{
	char missing[256] = "", silent[256] = "", primary[256] = "", senders[256] = "";
	size_t holders = 0;
	for (size_t i = 0; i < ko->n; i++) {
		const gsp_keyop_member_t *m = &ko->m[i];
		const gsp_keyop_key_t *k = m->answered ? key_of(m, ko->key_id) : NULL;
		holders += k != NULL;
		if (!m->answered) {
			list_add(silent, sizeof(silent), m->name);
		} else if (k == NULL) {
			list_add(missing, sizeof(missing), m->name);
		} else if (k->primary) {
			list_add(primary, sizeof(primary), m->name);
		}
		if (k != NULL && k->senders[0] != '\0') {
			/* The union over what every member saw: each sender once. */
			char copy[sizeof(k->senders)], *save = NULL;
			snprintf(copy, sizeof(copy), "%s", k->senders);
			for (char *t = strtok_r(copy, ", ", &save); t != NULL;
			     t = strtok_r(NULL, ", ", &save)) {
				list_add_once(senders, sizeof(senders), t);
			}
		}
	}
	if (ko->kind == KO_USE && (missing[0] != '\0' || silent[0] != '\0')) {
		cut(buf, len,
		    snprintf(buf, len,
		             "use %s refused: %s%s%s%s%s; install it on every member first",
		             ko->key_id, missing[0] ? "not installed on " : "", missing,
		             missing[0] && silent[0] ? "; " : "",
		             silent[0] ? "no answer from " : "", silent));
		return buf;
	}
	if (ko->kind == KO_REMOVE && holders == 0 && silent[0] == '\0') {
		snprintf(buf, len, "remove %s: no member has that key (see ayactl keyring list)",
		         ko->key_id);
		return buf;
	}
	if (ko->kind == KO_REMOVE && !ko->force &&
	    (primary[0] != '\0' || senders[0] != '\0' || silent[0] != '\0')) {
		cut(buf, len,
		    snprintf(buf, len,
		             "remove %s refused: %s%s%s%s%s%s%s%s; use another key first%s",
		             ko->key_id, primary[0] ? "it is the primary key of " : "", primary,
		             primary[0] && (senders[0] || silent[0]) ? "; " : "",
		             senders[0] ? "still sending with it: " : "", senders,
		             senders[0] && silent[0] ? "; " : "",
		             silent[0] ? "no answer from " : "", silent,
		             primary[0] ? "" : ", or --force"));
		return buf;
	}
	return NULL;
}

static void phase_end(gsp_t *g, uint64_t now)
{
	struct keyops *ko = g->ko;
	if (ko->applying || ko->kind == KO_LIST) {
		finish(g, 0, NULL);
		return;
	}
	char why[512];
	const char *r = refusal(ko, why, sizeof(why));
	if (r != NULL) {
		finish(g, -EPERM, r);
		return;
	}
	phase_start(g, true, now);
}

uint64_t gsp_keyop_tick(gsp_t *g, uint64_t now)
{
	struct keyops *ko = g->ko;
	if (ko == NULL || !ko->active) {
		return UINT64_MAX;
	}
	if (all_answered(ko) || now >= ko->deadline_ms) {
		phase_end(g, now);
		if (!g->ko->active) {
			return UINT64_MAX;
		}
	} else if (now >= ko->next_send_ms) {
		send_round(g, now);
	}
	return ko->next_send_ms < ko->deadline_ms ? ko->next_send_ms : ko->deadline_ms;
}

void gsp_keyop_answer(gsp_t *g, const char *sender, const Aya__Gossip__KeyOpResult *res)
{
	struct keyops *ko = g->ko;
	if (ko == NULL || !ko->active || res->id != ko->id) {
		return; /* late, or an answer to an op that is over */
	}
	for (size_t i = 1; i < ko->n; i++) {
		gsp_keyop_member_t *m = &ko->m[i];
		if (m->answered || strcmp(m->name, sender) != 0) {
			continue;
		}
		m->answered = true;
		m->error = res->error > 4095 ? -EPROTO : -(int)res->error;
		snprintf(m->message, sizeof(m->message), "%s",
		         res->message != NULL ? res->message : "");
		m->n_keys = 0;
		for (size_t k = 0; k < res->n_keys && m->n_keys < GSP_MAX_KEYS; k++) {
			const Aya__Gossip__KeyState *st = res->keys[k];
			if (st->id == NULL || strlen(st->id) != 8) {
				continue;
			}
			gsp_keyop_key_t *out = &m->keys[m->n_keys++];
			*out = (gsp_keyop_key_t){.primary = st->primary};
			snprintf(out->id, sizeof(out->id), "%s", st->id);
			for (size_t s = 0; s < st->n_senders && s < 8; s++) {
				if (st->senders[s] != NULL &&
				    strlen(st->senders[s]) <= GSP_NAME_MAX) {
					list_add(out->senders, sizeof(out->senders),
					         st->senders[s]);
				}
			}
		}
		/* Finish from gsp_tick (gsp_recv_udp ends with one). */
		ko->next_send_ms = all_answered(ko) ? gsp_now(g) : ko->next_send_ms;
		return;
	}
}

/* The argument of op into ko (key or lowercase id); 0 or -EINVAL with *err. */
static int take_arg(struct keyops *ko, const char *arg, const char **err)
{
	ko->key_id[0] = '\0';
	if (ko->kind == KO_LIST) {
		return 0;
	}
	if (ko->kind == KO_INSTALL) {
		/* Decoded the way `keyring install` always has: through a scratch ring. */
		gsp_keyring_t *tmp = gsp_keyring_new();
		int rc = tmp != NULL ? gsp_keyring_apply(tmp, "install", arg != NULL ? arg : "",
		                                         ko->key_id, err)
		                     : -ENOMEM;
		if (rc == 0) {
			rc = gsp_keyring_get(tmp, 0, ko->key);
		}
		gsp_keyring_free(tmp);
		*err = rc == -ENOMEM ? "out of memory" : *err;
		return rc;
	}
	size_t n = arg != NULL ? strlen(arg) : 0;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)arg[i])) {
			n = 0;
		}
	}
	if (n != 8) {
		*err = "not a key id: 8 hex digits (see ayactl keyring list)";
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		ko->key_id[i] = (char)tolower((unsigned char)arg[i]);
	}
	return 0;
}

/* This node and every live member, with their addresses; 0 or -ENOMEM. */
static int members_take(gsp_t *g, struct keyops *ko)
{
	ko->m = calloc(g->n_members + 1, sizeof(*ko->m));
	ko->addr = calloc(g->n_members + 1, sizeof(*ko->addr));
	if (ko->m == NULL || ko->addr == NULL) {
		free(ko->m);
		free(ko->addr);
		ko->m = NULL;
		ko->addr = NULL;
		return -ENOMEM;
	}
	snprintf(ko->m[0].name, sizeof(ko->m[0].name), "%s", g->me->pub.name);
	ko->m[0].self = true;
	ko->addr[0] = g->me->pub.addr;
	ko->n = 1;
	for (size_t i = 0; i < g->n_members; i++) {
		const member_t *m = g->members[i];
		if (m->self || m->pub.state > GSP_ST_SUSPECT) {
			continue;
		}
		/* By name after this node (insertion: the output is read by people). */
		size_t j = ko->n++;
		for (; j > 1 && strcmp(ko->m[j - 1].name, m->pub.name) > 0; j--) {
			ko->m[j] = ko->m[j - 1];
			ko->addr[j] = ko->addr[j - 1];
		}
		ko->m[j] = (gsp_keyop_member_t){0};
		snprintf(ko->m[j].name, sizeof(ko->m[j].name), "%s", m->pub.name);
		ko->addr[j] = m->pub.addr;
	}
	return 0;
}

int gsp_keyop_start(gsp_t *g, const char *op, const char *arg, bool force, gsp_keyop_done_fn done,
                    void *ctx, const char **err)
{
	struct keyops *ko = ko_get(g);
	ko_kind_t kind = KO_LIST;
	*err = NULL;
	if (ko == NULL) {
		*err = "out of memory";
		return -ENOMEM;
	}
	if (strcmp(op, "list") != 0 && kind_parse(op, &kind) < 0) {
		*err = "keyring: expected list, install KEY, use KEY_ID or remove KEY_ID";
		return -EINVAL;
	}
	if (!keyed(g)) {
		*err = "gossip runs insecure (plaintext): there is no keyring";
		return -EPERM;
	}
	if (ko->active) {
		*err = "another keyring operation is in progress; try again in a few seconds";
		return -EBUSY;
	}
	ko->kind = kind;
	ko->force = force;
	int rc = take_arg(ko, arg, err);
	if (rc == 0 && (rc = members_take(g, ko)) < 0) {
		*err = "out of memory";
	}
	if (rc < 0) {
		OPENSSL_cleanse(ko->key, sizeof(ko->key));
		return rc;
	}
	ko->active = true;
	ko->done = done;
	ko->ctx = ctx;
	uint64_t now = gsp_now(g);
	/* use and remove ask first; install changes at once; list only asks. */
	phase_start(g, kind == KO_INSTALL || (kind == KO_REMOVE && force), now);
	g->clock.arm(g->clock.ctx, now + 1);
	return 0;
}

void gsp_keyop_fini(gsp_t *g)
{
	struct keyops *ko = g->ko;
	if (ko == NULL) {
		return;
	}
	if (ko->active) {
		finish(g, -ECANCELED, "ayad is stopping");
	}
	OPENSSL_cleanse(ko, sizeof(*ko));
	free(ko);
	g->ko = NULL;
}
