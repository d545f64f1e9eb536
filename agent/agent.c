/*
 * The agent object: its targets (sorted by key, so a new set is merged with
 * the old one in O(n log n) and probes that stay keep running), their
 * schedule, and what a finished probe changes: rise/fall, RTT, load, the
 * observation in the state and the on_change callback.
 *
 * Invariants: a target's timer is always pending except inside its own
 * callbacks; while a probe is in flight the timer holds its timeout,
 * otherwise the time of the next probe.
 */
#include "agent/agent.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "agent/agent_int.h"
#include "common/log.h"
#include "common/time.h"

static uint64_t wall_ms(const agent_t *a)
{
	if (a->opts.clock_ms != NULL) {
		return a->opts.clock_ms(a->opts.clock_ctx);
	}
	return aya_wall_ms();
}

/* Jitter only, not security. */
uint64_t agent_rand(agent_t *a)
{
	return aya_rng_next(&a->rng);
}

static void arm(struct target *t, uint32_t ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(t->timer, &tv);
}

void agent_arm_probe(struct target *t, uint32_t ms)
{
	/* Up to the next tick of the monotonic clock: the probes due in one tick share a wake-up.
	 */
	const uint64_t tick_us = AGENT_TICK_MS * 1000u;
	uint64_t now = aya_mono_us(), at = now + (uint64_t)ms * 1000u;
	at = (at + tick_us - 1) / tick_us * tick_us;
	uint64_t us = at - now;
	struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
	evtimer_add(t->timer, &tv);
}

void agent_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct target *t = arg;
	agent_t *a = t->a;
	if (t->in_flight) {
		agent_probe_timeout(t);
		return;
	}
	if (!agent_probe_start(t)) {
		agent_probe_skip(t);
		return;
	}
	a->stats.probes_sent++;
	if (t->in_flight) {
		arm(t, t->spec.timeout_ms);
	}
}

void agent_probe_skip(struct target *t)
{
	agent_t *a = t->a;
	a->stats.skipped++;
	log_ratelimited(AYA_LOG_WARN, "agent: %s: probe skipped: local error", t->key);
	agent_arm_probe(t, agent_next_delay_ms(t->spec.interval_ms, t->spec.jitter, agent_rand(a)));
}

/* ---- publishing a result ---- */

static void publish(struct target *t)
{
	agent_t *a = t->a;
	if (a->opts.state == NULL) {
		return;
	}
	state_obs_t o = {
	        .observer = a->node,
	        .endpoint = t->key,
	        .status = t->hs.status,
	        .rise = t->hs.rise,
	        .fall = t->hs.fall,
	        .rtt_us = t->rtt_us,
	        .capacity = t->capacity,
	        .utilization = t->util,
	        .observed_at_ms = t->last_ms,
	        .version = state_next_version(a->opts.state),
	        .since_ms = t->since_ms,
	        .up_since_ms = t->up_since_ms,
	        .error = t->error,
	};
	int rc = state_obs_merge(a->opts.state, &o);
	if (rc < 0) {
		log_ratelimited(AYA_LOG_WARN, "agent: %s: state merge failed: %s", t->key,
		                strerror(-rc));
	}
}

static bool util_moved(double before, double now, double threshold)
{
	if (isnan(before) || isnan(now)) {
		return isnan(before) != isnan(now);
	}
	return fabs(now - before) > threshold;
}

/* Printable, one line: control bytes from a peer's text become '?'. */
static void set_error(struct target *t, const char *err)
{
	size_t i = 0;
	for (; err[i] != '\0' && i < sizeof(t->error) - 1; i++) {
		unsigned char c = (unsigned char)err[i];
		t->error[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	t->error[i] = '\0';
}

void agent_probe_done(struct target *t, const char *err, double util, uint32_t capacity)
{
	agent_t *a = t->a;
	uint64_t now = wall_ms(a);
	state_status_t before = t->hs.status;
	bool ok = err == NULL;
	if (ok) {
		a->stats.probes_ok++;
		uint64_t rtt = aya_mono_us() - t->started_us;
		t->rtt_us =
		        agent_rtt_ewma(t->rtt_us, rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt);
		t->util = util;
		t->capacity = capacity;
	} else {
		a->stats.probes_failed++;
		set_error(t, err);
		t->util = NAN;
	}
	t->last_ms = now;
	bool changed = agent_hs_step(&t->hs, ok, t->spec.rise, t->spec.fall);
	if (changed) {
		a->stats.transitions++;
		t->since_ms = now;
		t->up_since_ms = t->hs.status == STATE_ST_UP && before == STATE_ST_DOWN ? now : 0;
		if (t->hs.status == STATE_ST_UP) {
			t->error[0] = '\0';
		}
		log_info("agent: %s is %s%s%s", t->key, t->hs.status == STATE_ST_UP ? "up" : "down",
		         t->hs.status == STATE_ST_DOWN ? ": " : "",
		         t->hs.status == STATE_ST_DOWN ? t->error : "");
	}
	if (t->up_since_ms != 0 && now >= t->up_since_ms + t->spec.slow_start_ms) {
		t->up_since_ms = 0; /* ramp finished */
	}
	publish(t);
	bool moved = util_moved(t->reported_util, t->util, a->opts.util_threshold);
	if (moved) {
		t->reported_util = t->util;
	}
	if ((changed || moved) && a->opts.on_change != NULL) {
		a->opts.on_change(a->opts.ctx, t->key, t->hs.status, t->util);
	}
	agent_arm_probe(t, agent_next_delay_ms(t->spec.interval_ms, t->spec.jitter, agent_rand(a)));
}
