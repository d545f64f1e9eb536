/*
 * The member table and the SWIM state machine (SWIM paper section 4.2,
 * Lifeguard paper section 3, the memberlist rules):
 *
 *   alive(inc)    unknown -> ALIVE. Known: accepted when inc > ours, or when
 *                 a DEAD/LEFT member comes back at the same inc from a new
 *                 address. About ourselves with inc >= ours: refute.
 *   suspect(inc)  ALIVE with inc >= ours -> SUSPECT, start the suspicion
 *                 timer; SUSPECT with the same inc: one more independent
 *                 confirmation, the timer shrinks. Lower inc, DEAD, LEFT:
 *                 ignored. About ourselves: refute (inc + 1, Alive).
 *   dead(inc)     ALIVE/SUSPECT with inc >= ours -> DEAD (LEFT when the
 *                 member announced it itself). About ourselves: refute,
 *                 unless we are leaving.
 *   timer         SUSPECT past its deadline -> DEAD.
 *   reap          DEAD/LEFT longer than reap_ms -> forgotten.
 *
 * Lifeguard suspicion: min = suspicion_mult * max(1, log10(N)) * interval,
 * max = suspicion_max_mult * min, k = suspicion_mult - 2 confirmations
 * expected (0 when there are too few members to confirm), timeout(C) =
 * max(min, max - (max - min) * log(C + 1) / log(k + 1)). A member suspected
 * by many independent probers is declared dead at `min`; a lone suspicion
 * (likely the suspecter's own trouble) waits for `max`.
 *
 * Every accepted change is re-broadcast (keyed by member name, so only the
 * newest news about a member stays queued) and reported to the delegate.
 */
#include "gossip/gossip_int.h"
#include "common/hash.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

member_t *gsp_mt_find(const gsp_t *g, const char *name)
{
	if (g->hcap == 0) {
		return NULL;
	}
	for (size_t i = aya_fnv1a_str(AYA_FNV_OFFSET, name) & (g->hcap - 1);;
	     i = (i + 1) & (g->hcap - 1)) {
		member_t *m = g->htab[i];
		if (m == NULL) {
			return NULL;
		}
		if (strcmp(m->pub.name, name) == 0) {
			return m;
		}
	}
}

static void h_insert(member_t **tab, size_t cap, member_t *m)
{
	size_t i = aya_fnv1a_str(AYA_FNV_OFFSET, m->pub.name) & (cap - 1);
	while (tab[i] != NULL) {
		i = (i + 1) & (cap - 1);
	}
	tab[i] = m;
}

void gsp_mt_rebuild(gsp_t *g)
{
	memset(g->htab, 0, g->hcap * sizeof(*g->htab));
	g->n_live = 0;
	for (size_t i = 0; i < g->n_members; i++) {
		h_insert(g->htab, g->hcap, g->members[i]);
		g->n_live += g->members[i]->pub.state <= GSP_ST_SUSPECT;
	}
}

int gsp_mt_add(gsp_t *g, member_t *m)
{
	if (g->n_members == g->cap_members) {
		size_t cap = g->cap_members ? g->cap_members * 2 : 16;
		member_t **a = realloc(g->members, cap * sizeof(*a));
		if (a == NULL) {
			return -ENOMEM;
		}
		g->members = a;
		g->cap_members = cap;
	}
	if ((g->n_members + 1) * 2 > g->hcap) {
		size_t cap = g->hcap ? g->hcap * 2 : 32;
		member_t **t = calloc(cap, sizeof(*t));
		if (t == NULL) {
			return -ENOMEM;
		}
		free(g->htab);
		g->htab = t;
		g->hcap = cap;
		gsp_mt_rebuild(g);
	}
	/* Insert at a random position so a new member is probed within one round (SWIM 4.3). */
	size_t pos = g->n_members > 0 ? gsp_rand(g) % (g->n_members + 1) : 0;
	g->members[g->n_members++] = g->members[pos];
	g->members[pos] = m;
	h_insert(g->htab, g->hcap, m);
	g->n_live += m->pub.state <= GSP_ST_SUSPECT;
	return 0;
}

static void susp_free(suspicion_t *s)
{
	if (s == NULL) {
		return;
	}
	for (unsigned i = 0; i < s->n && i < s->k; i++) {
		free(s->from[i]);
	}
	free(s->from);
	free(s->first);
	free(s);
}

void gsp_member_free(member_t *m)
{
	if (m == NULL) {
		return;
	}
	free((char *)m->pub.name);
	free((char *)m->pub.region);
	susp_free(m->susp);
	free(m);
}

uint64_t gsp_suspicion_timeout(uint32_t min_ms, uint32_t max_ms, unsigned k, unsigned c)
{
	if (k == 0 || max_ms <= min_ms) {
		return min_ms;
	}
	double frac = log((double)c + 1.0) / log((double)k + 1.0);
	double t = (double)max_ms - ((double)max_ms - (double)min_ms) * frac;
	if (t < (double)min_ms) {
		t = (double)min_ms;
	}
	return (uint64_t)floor(t);
}

/* Change a member's state, keeping the live count and timestamps right. */
static void set_state(gsp_t *g, member_t *m, gsp_state_t st, uint64_t now)
{
	bool was_live = m->pub.state <= GSP_ST_SUSPECT, live = st <= GSP_ST_SUSPECT;
	if (m->pub.state != st) {
		m->pub.state_change_ms = now;
	}
	m->pub.state = st;
	g->n_live = g->n_live - was_live + live;
	if (st != GSP_ST_SUSPECT) {
		susp_free(m->susp);
		m->susp = NULL;
	}
}

void gsp_awareness(gsp_t *g, int delta)
{
	int a = (int)g->awareness + delta;
	int max = (int)g->cfg.awareness_max - 1;
	g->awareness = (unsigned)(a < 0 ? 0 : (a > max ? max : a));
}

static void queue_alive(gsp_t *g, const member_t *m)
{
	uint8_t ip[16];
	Aya__Gossip__Member mm = AYA__GOSSIP__MEMBER__INIT;
	gsp_member_msg(m, &mm, ip);
	Aya__Gossip__Msg msg = AYA__GOSSIP__MSG__INIT;
	msg.kind_case = AYA__GOSSIP__MSG__KIND_ALIVE;
	msg.alive = &mm;
	gsp_queue_msg(g, m->pub.name, &msg);
}

static void queue_suspect(gsp_t *g, const char *name, uint64_t inc, const char *from, bool dead)
{
	Aya__Gossip__Msg msg = AYA__GOSSIP__MSG__INIT;
	Aya__Gossip__Suspect s = AYA__GOSSIP__SUSPECT__INIT;
	Aya__Gossip__Dead d = AYA__GOSSIP__DEAD__INIT;
	if (dead) {
		d.name = (char *)name;
		d.incarnation = inc;
		d.from = (char *)from;
		msg.kind_case = AYA__GOSSIP__MSG__KIND_DEAD;
		msg.dead = &d;
	} else {
		s.name = (char *)name;
		s.incarnation = inc;
		s.from = (char *)from;
		msg.kind_case = AYA__GOSSIP__MSG__KIND_SUSPECT;
		msg.suspect = &s;
	}
	gsp_queue_msg(g, name, &msg);
	/* The suspect hears it sooner (and refutes sooner); a death is known sooner. */
	gsp_gossip_soon(g);
}

void gsp_refute(gsp_t *g, uint64_t incarnation)
{
	member_t *me = g->me;
	me->pub.incarnation =
	        (incarnation >= me->pub.incarnation ? incarnation : me->pub.incarnation) + 1;
	g->stats.refutes++;
	/* Having to refute means others could not hear us in time (Lifeguard 3.1). */
	gsp_awareness(g, 1);
	queue_alive(g, me);
	gsp_gossip_soon(g); /* the refutation must beat the suspicion timeout */
}

void gsp_set_config_hash(gsp_t *g, uint64_t hash)
{
	member_t *me = g->me;
	g->cfg.config_hash = hash;
	if (me->pub.config_hash == hash) {
		return;
	}
	me->pub.config_hash = hash;
	if (g->leaving) {
		return;
	}
	/*
	 * Peers take a member's alive only at a higher incarnation (SWIM): bump
	 * ours, as a refutation does, and gossip it at once; push/pull carries
	 * it too, to any peer the broadcast misses.
	 */
	me->pub.incarnation++;
	queue_alive(g, me);
	if (g->started) {
		gsp_gossip_soon(g);
		gsp_tick(g);
	}
}

void gsp_set_addr(gsp_t *g, const gsp_addr_t *addr)
{
	member_t *me = g->me;
	g->cfg.addr = *addr;
	if (gsp_addr_equal(&me->pub.addr, addr)) {
		return;
	}
	me->pub.addr = *addr;
	if (g->leaving) {
		return;
	}
	/* Peers move a member to a new address only with a higher incarnation. */
	me->pub.incarnation++;
	queue_alive(g, me);
	if (g->started) {
		gsp_gossip_soon(g);
		gsp_tick(g);
	}
}

static member_t *member_new(const m_alive_t *a)
{
	member_t *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return NULL;
	}
	m->pub.name = strdup(a->name);
	m->pub.region = strdup(a->region);
	if (m->pub.name == NULL || m->pub.region == NULL) {
		gsp_member_free(m);
		return NULL;
	}
	return m;
}

static void update_region(member_t *m, const char *region)
{
	if (strcmp(m->pub.region, region) != 0) {
		char *r = strdup(region);
		if (r != NULL) {
			free((char *)m->pub.region);
			m->pub.region = r;
		}
	}
}

void gsp_apply_alive(gsp_t *g, const m_alive_t *a, bool bootstrap)
{
	uint64_t now = gsp_now(g);
	member_t *m = gsp_mt_find(g, a->name);
	if (m == NULL) {
		if (a->name[0] == '\0' || strlen(a->name) > GSP_NAME_MAX ||
		    strlen(a->region) > GSP_NAME_MAX) {
			return;
		}
		m = member_new(a);
		if (m == NULL || gsp_mt_add(g, m) != 0) {
			gsp_member_free(m);
			return;
		}
		m->pub.state = GSP_ST_DEAD; /* counted live by set_state below */
		g->n_live--;
	} else if (m->self) {
		/* An older instance of us, or a forged rumour: out-rank it. */
		if (a->incarnation >= m->pub.incarnation && !g->leaving &&
		    (a->incarnation > m->pub.incarnation ||
		     !gsp_addr_equal(&a->addr, &m->pub.addr))) {
			gsp_refute(g, a->incarnation);
		}
		return;
	} else {
		bool dead = m->pub.state >= GSP_ST_DEAD;
		bool moved = !gsp_addr_equal(&a->addr, &m->pub.addr);
		if (a->incarnation < m->pub.incarnation ||
		    (a->incarnation == m->pub.incarnation && !(dead && moved))) {
			if (a->incarnation == m->pub.incarnation && m->epoch == 0 &&
			    a->epoch != 0 && !moved) {
				/* Its epoch, from a member entry that did not carry it yet. */
				m->epoch = a->epoch;
				gsp_peer_learn(g, &m->pub.addr, a->epoch);
			}
			return;
		}
	}
	bool news = m->pub.state != GSP_ST_ALIVE || m->pub.incarnation != a->incarnation;
	m->pub.addr = a->addr;
	m->pub.incarnation = a->incarnation;
	m->pub.config_hash = a->config_hash;
	snprintf(m->pub.version, sizeof(m->pub.version), "%s",
	         a->version != NULL ? a->version : "");
	m->pub.last_heard_ms = now;
	/* A newer incarnation may be a new run: its epoch replaces what we knew. */
	m->epoch = a->epoch;
	gsp_peer_learn(g, &m->pub.addr, a->epoch);
	update_region(m, a->region);
	set_state(g, m, GSP_ST_ALIVE, now);
	if (news || !bootstrap) {
		queue_alive(g, m);
	}
	gsp_notify(g, m);
}

static suspicion_t *susp_new(gsp_t *g, const char *from, uint64_t now)
{
	suspicion_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return NULL;
	}
	size_t n = g->n_live;
	double scale = n > 1 ? log10((double)n) : 1.0;
	scale = scale < 1.0 ? 1.0 : scale;
	s->min_ms = (uint32_t)(g->cfg.suspicion_mult * scale * g->cfg.probe_interval_ms);
	s->max_ms = s->min_ms * g->cfg.suspicion_max_mult;
	s->k = g->cfg.suspicion_mult > 2 ? g->cfg.suspicion_mult - 2 : 0;
	/* Confirmations need k members besides the suspect and the first suspecter. */
	if (n < (size_t)s->k + 2) {
		s->k = 0;
	}
	s->from = calloc(s->k > 0 ? s->k : 1, sizeof(char *));
	if (s->from == NULL) {
		free(s);
		return NULL;
	}
	s->first = strdup(from);
	if (s->first == NULL) {
		free(s->from);
		free(s);
		return NULL;
	}
	s->start_ms = now;
	s->deadline_ms = now + gsp_suspicion_timeout(s->min_ms, s->max_ms, s->k, 0);
	return s;
}

/* A confirmation from `from`; true when it is new and independent. */
static bool susp_confirm(suspicion_t *s, const char *from)
{
	if (s->n >= s->k || strcmp(s->first, from) == 0) {
		return false;
	}
	for (unsigned i = 0; i < s->n; i++) {
		if (strcmp(s->from[i], from) == 0) {
			return false;
		}
	}
	s->from[s->n] = strdup(from);
	if (s->from[s->n] == NULL) {
		return false;
	}
	s->n++;
	s->deadline_ms = s->start_ms + gsp_suspicion_timeout(s->min_ms, s->max_ms, s->k, s->n);
	return true;
}

void gsp_apply_suspect(gsp_t *g, const m_suspect_t *s)
{
	uint64_t now = gsp_now(g);
	member_t *m = gsp_mt_find(g, s->name);
	if (m == NULL || s->incarnation < m->pub.incarnation || m->pub.state >= GSP_ST_DEAD) {
		return;
	}
	if (m->self) {
		if (!g->leaving) {
			gsp_refute(g, s->incarnation);
		}
		return;
	}
	if (m->pub.state == GSP_ST_SUSPECT && s->incarnation == m->pub.incarnation) {
		if (m->susp != NULL && susp_confirm(m->susp, s->from)) {
			queue_suspect(g, m->pub.name, m->pub.incarnation, s->from, false);
			if (m->susp->deadline_ms < g->next_suspect_ms) {
				g->next_suspect_ms = m->susp->deadline_ms;
			}
		}
		return;
	}
	suspicion_t *sp = susp_new(g, s->from, now);
	if (sp == NULL) {
		return;
	}
	m->pub.incarnation = s->incarnation;
	set_state(g, m, GSP_ST_SUSPECT, now);
	susp_free(m->susp);
	m->susp = sp;
	if (sp->deadline_ms < g->next_suspect_ms) {
		g->next_suspect_ms = sp->deadline_ms;
	}
	queue_suspect(g, m->pub.name, m->pub.incarnation, s->from, false);
	gsp_notify(g, m);
}

void gsp_apply_dead(gsp_t *g, const m_suspect_t *d)
{
	uint64_t now = gsp_now(g);
	member_t *m = gsp_mt_find(g, d->name);
	if (m == NULL || d->incarnation < m->pub.incarnation || m->pub.state >= GSP_ST_DEAD) {
		return;
	}
	bool left = strcmp(d->name, d->from) == 0;
	if (m->self) {
		if (!g->leaving) {
			gsp_refute(g, d->incarnation);
			return;
		}
		left = true;
	}
	m->pub.incarnation = d->incarnation;
	set_state(g, m, left ? GSP_ST_LEFT : GSP_ST_DEAD, now);
	queue_suspect(g, m->pub.name, m->pub.incarnation, d->from, true);
	gsp_notify(g, m);
}

uint64_t gsp_check_suspects(gsp_t *g, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < g->n_members; i++) {
		member_t *m = g->members[i];
		if (m->pub.state != GSP_ST_SUSPECT || m->susp == NULL) {
			continue;
		}
		if (m->susp->deadline_ms <= now) {
			m_suspect_t d = {.name = m->pub.name,
			                 .from = g->me->pub.name,
			                 .incarnation = m->pub.incarnation,
			                 .dead = true};
			gsp_apply_dead(g, &d);
		} else if (m->susp->deadline_ms < next) {
			next = m->susp->deadline_ms;
		}
	}
	return next;
}

void gsp_reap(gsp_t *g, uint64_t now)
{
	size_t j = 0;
	bool removed = false;
	for (size_t i = 0; i < g->n_members; i++) {
		member_t *m = g->members[i];
		/* state_change_ms may be after now: a tick's now is read once, and a member
		 * declared dead in the same tick (gsp_apply_dead reads the clock again) must
		 * not wrap the unsigned difference and be forgotten at once. */
		if (!m->self && m->pub.state >= GSP_ST_DEAD && now >= m->pub.state_change_ms &&
		    now - m->pub.state_change_ms >= g->cfg.reap_ms) {
			gsp_member_free(m);
			removed = true;
			continue;
		}
		g->members[j++] = m;
	}
	g->n_members = j;
	if (removed) {
		gsp_mt_rebuild(g);
		g->probe_idx = 0;
	}
}
