/*
 * Listeners that pause when accept() fails. After EMFILE, ENFILE or
 * ENOBUFS the connection stays queued, so a listener is ready again at
 * once and its loop would spin; a guard disables every listener it watches,
 * re-enables them after a back-off (common/backoff.h: 100 ms doubling to
 * 1 s, reset by a successful accept) and logs one warning a second at most.
 * Shared by the DNS TCP, gossip TCP and control listeners. A guard belongs
 * to the thread of its event base.
 */
#pragma once

#include <stddef.h>

#include "common/compiler.h"

struct event_base;
struct evconnlistener;
typedef struct aya_listen_guard aya_listen_guard_t;

/* `what` names the listeners in the log ("dnsd: tcp"); borrowed. NULL when out of memory. */
aya_listen_guard_t *aya_listen_guard_new(struct event_base *base, const char *what)
        AYA_NONNULL(1, 2) AYA_WUR;
/* NULL is a no-op. Before the listeners are freed. */
void aya_listen_guard_free(aya_listen_guard_t *g);
/* Watch l: 0 or -ENOMEM. */
int aya_listen_guard_add(aya_listen_guard_t *g, struct evconnlistener *l) AYA_NONNULL(1, 2);
/*
 * From a listener's error callback (its ctx is the module's, so the module
 * forwards): pause every watched listener, log, arm the retry.
 */
void aya_listen_guard_fail(aya_listen_guard_t *g) AYA_NONNULL(1);
/* From the accept callback: the next failure waits the shortest back-off again. */
void aya_listen_guard_ok(aya_listen_guard_t *g) AYA_NONNULL(1);
