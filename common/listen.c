/* Listeners that pause when accept() fails (common/listen.h). */
#include "common/listen.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/backoff.h"
#include "common/log.h"

struct aya_listen_guard {
	const char *what;
	struct event *retry;
	aya_backoff_t bo;
	struct evconnlistener **l;
	size_t n, cap;
	_Atomic int64_t log_last_s; /* one warning a second, per guard */
	_Atomic uint64_t log_dropped;
};

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	aya_listen_guard_t *g = arg;
	for (size_t i = 0; i < g->n; i++) {
		evconnlistener_enable(g->l[i]);
	}
}

aya_listen_guard_t *aya_listen_guard_new(struct event_base *base, const char *what)
{
	aya_listen_guard_t *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		return NULL;
	}
	g->what = what;
	aya_backoff_init(&g->bo, AYA_ACCEPT_BACKOFF_MIN_MS, AYA_ACCEPT_BACKOFF_MAX_MS);
	g->retry = evtimer_new(base, on_retry, g);
	if (g->retry == NULL) {
		free(g);
		return NULL;
	}
	return g;
}

void aya_listen_guard_free(aya_listen_guard_t *g)
{
	if (g == NULL) {
		return;
	}
	event_free(g->retry);
	free(g->l);
	free(g);
}

int aya_listen_guard_add(aya_listen_guard_t *g, struct evconnlistener *l)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 4;
		struct evconnlistener **v = realloc(g->l, cap * sizeof(*v));
		if (v == NULL) {
			return -ENOMEM;
		}
		g->l = v;
		g->cap = cap;
	}
	g->l[g->n++] = l;
	return 0;
}

void aya_listen_guard_fail(aya_listen_guard_t *g)
{
	int err = EVUTIL_SOCKET_ERROR();
	uint32_t ms = aya_backoff_fail(&g->bo);
	for (size_t i = 0; i < g->n; i++) {
		evconnlistener_disable(g->l[i]);
	}
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(g->retry, &tv);
	if (aya_log_ratelimit_pass(&g->log_last_s, &g->log_dropped)) {
		log_warn("%s: accept: %s (%llu in a row), paused for %u ms", g->what,
		         evutil_socket_error_to_string(err), (unsigned long long)g->bo.failures,
		         ms);
	}
}

void aya_listen_guard_ok(aya_listen_guard_t *g)
{
	aya_backoff_reset(&g->bo);
}
