/*
 * systemd integration through libsystemd's sd_notify (Type=notify): READY=1
 * once the DNS server answers, RELOADING=1 then READY=1 around a reload,
 * STOPPING=1 at shutdown, and the watchdog. Without NOTIFY_SOCKET every call
 * is a no-op, so ayad behaves the same outside systemd.
 *
 * The watchdog ping comes from the control thread's event loop at half of
 * WATCHDOG_USEC, and only while dnsd_server_check() finds every DNS thread
 * alive: a wedged control loop or a wedged DNS worker both stop the pings,
 * and systemd restarts the node (Restart=on-failure).
 */
#include "daemon/ayad.h"

#include <event2/event.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.h"

struct ayad_sd {
	struct event *ev;
	uint64_t usec;  /* WATCHDOG_USEC */
	bool wedged;    /* the last check failed (logged once per episode) */
	uint64_t pings; /* WATCHDOG=1 sent */
};

static uint64_t monotonic_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void ayad_sd_ready(const ayad_t *d)
{
	(void)sd_notifyf(0, "READY=1\nSTATUS=node %s (region %s): answering DNS", d->cfg->node.name,
	                 d->cfg->node.region);
}

void ayad_sd_reloading(void)
{
	/* MONOTONIC_USEC: systemd 253's Type=notify-reload wants it; older ones ignore it. */
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, monotonic_usec());
}

void ayad_sd_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	struct ayad_sd *sd = d->sd;
	char why[200] = "";
	/* A DNS thread stuck for longer than a ping period is wedged, not slow. */
	uint64_t max_ms = sd->usec / 2000;
	if (d->srv != NULL &&
	    dnsd_server_check(d->srv, max_ms < 1000 ? 1000 : max_ms, why, sizeof(why)) < 0) {
		if (!sd->wedged) {
			log_err("watchdog: %s; not pinging systemd, which will restart ayad", why);
		}
		sd->wedged = true;
		return;
	}
	if (sd->wedged) {
		log_warn("watchdog: the DNS threads are alive again; pinging systemd");
	}
	sd->wedged = false;
	(void)sd_notify(0, "WATCHDOG=1");
	sd->pings++;
}

int ayad_sd_watchdog_start(ayad_t *d)
{
	uint64_t usec = 0;
	/* > 0 only when WATCHDOG_USEC is set for this very process (WATCHDOG_PID). */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
		return 0;
	}
	struct ayad_sd *sd = calloc(1, sizeof(*sd));
	if (sd == NULL) {
		return -ENOMEM;
	}
	sd->usec = usec;
	uint64_t half = usec / 2;
	struct timeval tv = {.tv_sec = (time_t)(half / 1000000u),
	                     .tv_usec = (suseconds_t)(half % 1000000u)};
	sd->ev = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
	if (sd->ev == NULL || event_add(sd->ev, &tv) != 0) {
		if (sd->ev != NULL) {
			event_free(sd->ev);
		}
		free(sd);
		return -ENOMEM;
	}
	d->sd = sd;
	log_info("watchdog: pinging systemd every %" PRIu64 " ms while the DNS threads are alive",
	         half / 1000);
	on_watchdog(-1, 0, d);
	return 0;
}

void ayad_sd_watchdog_stop(ayad_t *d)
{
	if (d->sd == NULL) {
		return;
	}
	event_free(d->sd->ev);
	free(d->sd);
	d->sd = NULL;
}
