/*
 * The agent's life cycle and its target set: agent_new/free, the merge of a
 * new target list into the running one (agent_set_targets), the targets of a
 * config, and the views (stats, backends). Targets are kept sorted by key.
 */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "agent/agent_int.h"
#include "common/log.h"
#include "common/time.h"

static void spec_fini(spec_t *s)
{
	free(s->name);
	free(s->path);
	free(s->host);
	free(s->body);
	free(s->sni);
	free(s->load_key);
	free(s->cap_key);
	*s = (spec_t){0};
}

static bool dup_str(char **dst, const char *src)
{
	*dst = NULL;
	return src == NULL || (*dst = strdup(src)) != NULL;
}

static int spec_init(spec_t *s, const cfg_monitor_t *m)
{
	*s = (spec_t){
	        .type = m->type,
	        .port = m->port,
	        .interval_ms = m->interval_ms,
	        .timeout_ms = m->timeout_ms,
	        .rise = m->rise ? m->rise : 1,
	        .fall = m->fall ? m->fall : 1,
	        .slow_start_ms = m->slow_start_ms,
	        .jitter = m->jitter,
	        .tls_verify = m->tls_verify,
	        .keepalive = m->keepalive && m->type != CFG_MON_TCP,
	        .load_kind = m->load.kind,
	        .cap_kind = m->capacity.kind,
	};
	if (s->interval_ms == 0 || s->timeout_ms == 0 || m->name == NULL) {
		return -EINVAL;
	}
	for (size_t i = 0; i < m->n_expect && i < AYA_ARRAY_LEN(s->expect); i++) {
		s->expect[s->n_expect++] = m->expect[i];
	}
	if (s->n_expect == 0) {
		s->expect[s->n_expect++] = 200;
	}
	if (!dup_str(&s->name, m->name) || !dup_str(&s->path, m->path ? m->path : "/") ||
	    !dup_str(&s->host, m->host) || !dup_str(&s->body, m->body) ||
	    !dup_str(&s->sni, m->sni) || !dup_str(&s->load_key, m->load.key) ||
	    !dup_str(&s->cap_key, m->capacity.key)) {
		spec_fini(s);
		return -ENOMEM;
	}
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool spec_equal(const spec_t *x, const spec_t *y)
{
	return x->type == y->type && x->port == y->port && x->interval_ms == y->interval_ms &&
	       x->timeout_ms == y->timeout_ms && x->rise == y->rise && x->fall == y->fall &&
	       x->slow_start_ms == y->slow_start_ms && x->jitter == y->jitter &&
	       x->tls_verify == y->tls_verify && x->keepalive == y->keepalive &&
	       x->load_kind == y->load_kind && x->cap_kind == y->cap_kind &&
	       x->n_expect == y->n_expect &&
	       memcmp(x->expect, y->expect, x->n_expect * sizeof(x->expect[0])) == 0 &&
	       str_eq(x->name, y->name) && str_eq(x->path, y->path) && str_eq(x->host, y->host) &&
	       str_eq(x->body, y->body) && str_eq(x->sni, y->sni) &&
	       str_eq(x->load_key, y->load_key) && str_eq(x->cap_key, y->cap_key);
}

static void target_free(struct target *t)
{
	if (t == NULL) {
		return;
	}
	agent_probe_reset(t);
	if (t->timer != NULL) {
		event_free(t->timer);
	}
	spec_fini(&t->spec);
	free(t);
}

int agent_new(const agent_opts_t *opts, agent_t **out)
{
	*out = NULL;
	if (opts->base == NULL || (opts->state != NULL && opts->node == NULL)) {
		return -EINVAL;
	}
	agent_t *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return -ENOMEM;
	}
	a->opts = *opts;
	if (a->opts.util_threshold <= 0.0) {
		a->opts.util_threshold = AGENT_UTIL_THRESHOLD_DEFAULT;
	}
	if (a->opts.max_response == 0) {
		a->opts.max_response = AGENT_MAX_RESPONSE_DEFAULT;
	}
	a->rng.s = opts->seed;
	if (a->rng.s == 0 && getrandom(&a->rng.s, sizeof(a->rng.s), 0) != sizeof(a->rng.s)) {
		a->rng.s = aya_mono_us();
	}
	a->rng.s |= 1; /* xorshift needs a non-zero state */
	if (!dup_str(&a->node, opts->node) || !dup_str(&a->ca_file, opts->ca_file)) {
		goto fail;
	}
	a->opts.node = a->node;
	a->opts.ca_file = a->ca_file;
	a->ssl = SSL_CTX_new(TLS_client_method());
	if (a->ssl == NULL) {
		goto fail;
	}
	SSL_CTX_set_min_proto_version(a->ssl, TLS1_2_VERSION);
	int ok = a->ca_file != NULL ? SSL_CTX_load_verify_locations(a->ssl, a->ca_file, NULL)
	                            : SSL_CTX_set_default_verify_paths(a->ssl);
	if (ok != 1) {
		log_warn("agent: cannot load TLS trust anchors%s%s", a->ca_file ? " from " : "",
		         a->ca_file ? a->ca_file : "");
	}
	*out = a;
	return 0;
fail:
	agent_free(a);
	return -ENOMEM;
}

void agent_free(agent_t *a)
{
	if (a == NULL) {
		return;
	}
	for (size_t i = 0; i < a->n; i++) {
		target_free(a->t[i]);
	}
	free(a->t);
	SSL_CTX_free(a->ssl);
	free(a->node);
	free(a->ca_file);
	free(a);
}

static int cmp_input(const void *x, const void *y)
{
	return strcmp((*(const agent_target_t *const *)x)->key,
	              (*(const agent_target_t *const *)y)->key);
}

static struct target *find(const agent_t *a, const char *key)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(a->t[mid]->key, key);
		if (c == 0) {
			return a->t[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

/* Seed a new target from this node's last observation, so a restart keeps its status. */
static void seed_from_state(agent_t *a, struct target *t)
{
	state_obs_t o;
	if (a->opts.state == NULL || state_obs_find(a->opts.state, a->node, t->key, &o) != 0) {
		return;
	}
	t->hs.status = o.status;
	t->since_ms = o.since_ms;
	t->rtt_us = o.rtt_us;
	if (o.error != NULL) {
		snprintf(t->error, sizeof(t->error), "%s", o.error);
	}
}

static struct target *target_new(agent_t *a, const agent_target_t *in)
{
	struct target *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return NULL;
	}
	t->a = a;
	memcpy(t->key, in->key, sizeof(t->key));
	t->key[sizeof(t->key) - 1] = '\0';
	memcpy(t->addr, in->addr, sizeof(t->addr));
	t->addr[sizeof(t->addr) - 1] = '\0';
	t->ss = in->ss;
	t->sslen = in->sslen;
	t->util = t->reported_util = NAN;
	t->timer = evtimer_new(a->opts.base, agent_timer_cb, t);
	if (t->timer == NULL || spec_init(&t->spec, in->monitor) < 0) {
		target_free(t);
		return NULL;
	}
	seed_from_state(a, t);
	return t;
}

/* Take over new settings; an in-flight probe under the old ones is dropped uncounted. */
static void target_respec(struct target *t, spec_t *s)
{
	bool resched = t->in_flight || s->interval_ms != t->spec.interval_ms;
	agent_probe_reset(t);
	spec_fini(&t->spec);
	t->spec = *s;
	*s = (spec_t){0};
	if (resched) {
		evtimer_del(t->timer);
	}
}

static void start(agent_t *a, struct target *t);

int agent_set_targets(agent_t *a, const agent_target_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i].monitor == NULL || in[i].key[0] == '\0' ||
		    (in[i].ss.ss_family != AF_INET && in[i].ss.ss_family != AF_INET6)) {
			return -EINVAL;
		}
	}
	const agent_target_t **sorted = calloc(n ? n : 1, sizeof(*sorted));
	struct target **nt = calloc(n ? n : 1, sizeof(*nt));
	bool *fresh = calloc(n ? n : 1, sizeof(*fresh));
	spec_t *specs = calloc(n ? n : 1, sizeof(*specs));
	size_t k = 0;
	int rc = -ENOMEM;
	if (sorted == NULL || nt == NULL || fresh == NULL || specs == NULL) {
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		sorted[i] = &in[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_input);
	/* Build everything first, so that a failure leaves the running set alone. */
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(sorted[i - 1]->key, sorted[i]->key) == 0) {
			continue; /* a duplicate key: probed once */
		}
		struct target *old = find(a, sorted[i]->key);
		if (old != NULL) {
			if ((rc = spec_init(&specs[k], sorted[i]->monitor)) < 0) {
				goto fail;
			}
			nt[k++] = old;
		} else {
			if ((nt[k] = target_new(a, sorted[i])) == NULL) {
				rc = -ENOMEM;
				goto fail;
			}
			fresh[k++] = true;
		}
	}
	/* Commit: drop targets that left, update those that stay, start new ones. */
	for (size_t j = 0; j < k; j++) {
		nt[j]->keep = true;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (!a->t[i]->keep) {
			target_free(a->t[i]);
		}
	}
	for (size_t j = 0; j < k; j++) {
		if (fresh[j]) {
			start(a, nt[j]);
		} else if (!spec_equal(&nt[j]->spec, &specs[j])) {
			target_respec(nt[j], &specs[j]);
			if (!evtimer_pending(nt[j]->timer, NULL)) {
				start(a, nt[j]);
			}
		}
		spec_fini(&specs[j]);
		nt[j]->keep = false;
	}
	free(a->t);
	a->t = nt; /* sorted: built from the sorted input */
	a->n = k;
	free(sorted);
	free(fresh);
	free(specs);
	return 0;
fail:
	for (size_t j = 0; nt != NULL && j < k; j++) {
		if (fresh != NULL && fresh[j]) {
			target_free(nt[j]);
		}
		if (specs != NULL) {
			spec_fini(&specs[j]);
		}
	}
	free(sorted);
	free(nt);
	free(fresh);
	free(specs);
	return rc;
}

/* First probe at a random phase within the interval, so targets spread out. */
static void start(agent_t *a, struct target *t)
{
	agent_arm_probe(t, agent_first_delay_ms(t->spec.interval_ms, agent_rand(a)));
}

int agent_targets_from_cfg(const cfg_t *cfg, agent_target_t **out, size_t *n)
{
	size_t cap = 0, k = 0;
	*out = NULL;
	*n = 0;
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t s = 0; s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			for (size_t p = 0; p < svc->n_pools; p++) {
				if (svc->pools[p].monitor != NULL) {
					cap += svc->pools[p].n_endpoints;
				}
			}
		}
	}
	agent_target_t *t = calloc(cap ? cap : 1, sizeof(*t));
	if (t == NULL) {
		return -ENOMEM;
	}
	for (size_t z = 0; z < cfg->n_zones; z++) {
		for (size_t s = 0; s < cfg->zones[z].n_services; s++) {
			const cfg_service_t *svc = &cfg->zones[z].services[s];
			for (size_t p = 0; p < svc->n_pools; p++) {
				const cfg_pool_t *pool = &svc->pools[p];
				if (pool->monitor == NULL || pool->monitor_idx >= cfg->n_monitors) {
					continue;
				}
				const cfg_monitor_t *m = &cfg->monitors[pool->monitor_idx];
				for (size_t e = 0; e < pool->n_endpoints; e++) {
					const cfg_endpoint_t *ep = &pool->endpoints[e];
					agent_target_t *x = &t[k];
					inet_ntop(ep->family, ep->addr, x->addr, sizeof(x->addr));
					if (state_endpoint_key(x->key, sizeof(x->key), x->addr,
					                       m->port, m->name) < 0) {
						free(t);
						return -EINVAL;
					}
					if (ep->family == AF_INET) {
						struct sockaddr_in *sin =
						        (struct sockaddr_in *)&x->ss;
						sin->sin_family = AF_INET;
						sin->sin_port = htons(m->port);
						memcpy(&sin->sin_addr, ep->addr, 4);
						x->sslen = sizeof(*sin);
					} else {
						struct sockaddr_in6 *sin6 =
						        (struct sockaddr_in6 *)&x->ss;
						sin6->sin6_family = AF_INET6;
						sin6->sin6_port = htons(m->port);
						memcpy(&sin6->sin6_addr, ep->addr, 16);
						x->sslen = sizeof(*sin6);
					}
					x->monitor = m;
					k++;
				}
			}
		}
	}
	*out = t;
	*n = k;
	return 0;
}

void agent_stats_get(const agent_t *a, agent_stats_t *out)
{
	*out = a->stats;
	out->targets = a->n;
	out->in_flight = 0;
	for (size_t i = 0; i < a->n; i++) {
		out->in_flight += a->t[i]->in_flight;
	}
}

#define ROW(f, name, help, family, labels, type, flags)                                            \
	AYA_STAT_ROW(agent_stats_t, f, name, help, family, labels, type, flags)
#define H_RESULT "Health probes finished, by result (timeouts count as failed)"

static const aya_stat_t stat_rows[] = {
        ROW(targets, "probe_targets", "Endpoints this node probes", "aya_agent_targets", NULL,
            AYA_STAT_GAUGE, 0),
        ROW(probes_sent, "probes_sent", "Health probes started", "aya_agent_probes_sent_total",
            NULL, AYA_STAT_COUNTER, 0),
        ROW(probes_ok, "probes_ok", H_RESULT, "aya_probes_total", "result=\"ok\"", AYA_STAT_COUNTER,
            0),
        ROW(probes_failed, "probes_failed", H_RESULT, "aya_probes_total", "result=\"failed\"",
            AYA_STAT_COUNTER, 0),
        ROW(timeouts, "probe_timeouts", "Health probes failed by timeout",
            "aya_agent_probe_timeouts_total", NULL, AYA_STAT_COUNTER, 0),
        ROW(skipped, "probes_skipped", "Health probes not started for a local error",
            "aya_agent_probes_skipped_total", NULL, AYA_STAT_COUNTER, 0),
        ROW(connects, "probe_connects", "Connections opened to backends by probes",
            "aya_agent_connects_total", NULL, AYA_STAT_COUNTER, 0),
        ROW(retries, "probe_retries",
            "Probes retried on a fresh connection after a kept one closed",
            "aya_agent_retries_total", NULL, AYA_STAT_COUNTER, 0),
        ROW(transitions, "health_transitions", "Endpoint health status changes seen by probes",
            "aya_agent_health_transitions_total", NULL, AYA_STAT_COUNTER, 0),
        ROW(in_flight, "probes_in_flight", "Health probes started and not finished",
            "aya_agent_probes_in_flight", NULL, AYA_STAT_GAUGE, AYA_STAT_NOLIST),
};

const aya_stat_table_t agent_stats_table = AYA_STAT_TABLE("agent", agent_stats_t, stat_rows);

int agent_backends(const agent_t *a, agent_backend_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	agent_backend_t *b = calloc(a->n ? a->n : 1, sizeof(*b));
	if (b == NULL) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct target *t = a->t[i];
		agent_backend_t *x = &b[i];
		memcpy(x->key, t->key, sizeof(x->key));
		memcpy(x->addr, t->addr, sizeof(x->addr));
		snprintf(x->monitor, sizeof(x->monitor), "%s", t->spec.name);
		x->port = t->spec.port;
		x->type = t->spec.type;
		x->status = t->hs.status;
		x->rise = t->hs.rise;
		x->fall = t->hs.fall;
		x->since_ms = t->since_ms;
		x->up_since_ms = t->up_since_ms;
		x->last_probe_ms = t->last_ms;
		x->rtt_us = t->rtt_us;
		x->utilization = t->util;
		x->capacity = t->capacity;
		memcpy(x->error, t->error, sizeof(x->error));
	}
	*out = b;
	*n = a->n;
	return 0;
}
