/*
 * Upgrading a node without losing a query: the new ayad starts beside the
 * running one with the same config, then the old one is stopped (SIGTERM).
 *
 * New process ("takeover"). state_open() says -EBUSY: another process holds
 * <state_dir>/state.lock. When that process is an ayad (the pid it wrote in
 * the lock file runs, under a name starting with "ayad"), we do not fail:
 * we open the store read-only (an LMDB reader beside its writer) to build
 * the first snapshot from the stored drains and observations, start the DNS
 * server (every DNS socket has SO_REUSEPORT, so ours join the old process's
 * groups and share the queries), hold a shared lock on
 * <state_dir>/takeover.lock that tells the old process a successor is
 * there, and poll the state lock every POLL_MS from a libevent timer. Once
 * it is free (the old ayad has drained and closed everything), we reopen
 * the store read-write, rebuild the policy snapshot and start the rest
 * (probes, gossip, http, control socket) as a normal start does.
 *
 * The wait has no bound: an operator started the new process on purpose and
 * the old one may be stopped whenever the operator is ready. It is visible:
 * one line when it starts, one every WAIT_LOG_MS, one when it took over.
 * While waiting the new process answers from the state as of its start (a
 * drain set on the old one in between applies when it takes over). A
 * holder that is not an ayad, or an older ayad that writes no pid, is
 * refused at start as before (exit 1).
 *
 * Old process ("handoff"). On SIGTERM or SIGINT, when a successor holds
 * takeover.lock, dnsd steers new queries and connections to the
 * successor's sockets and drains its own before closing them
 * (dnsd/handoff.c); without one it stops at once, as before.
 *
 * Everything here runs on the control thread.
 */
#include "daemon/ayad.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"

#define POLL_MS 150u
#define WAIT_LOG_MS 30000u
#define NEXT_FILE "takeover.lock"

struct ayad_takeover {
	struct event *timer;
	int (*finish)(ayad_t *d);
	int next_fd; /* NEXT_FILE, locked shared while we wait */
	long pid;    /* the holder of the state lock */
	uint64_t since_ms, logged_ms;
};

static int open_next(const cfg_t *cfg)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, NEXT_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

/* The holder's program name into name (empty when unknown); false when pid does not run. */
static bool holder_name(long pid, char *name, size_t len)
{
	char path[64];
	name[0] = '\0';
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM) {
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "re");
	if (f != NULL) {
		if (fgets(name, (int)len, f) == NULL) {
			name[0] = '\0';
		}
		name[strcspn(name, "\n")] = '\0';
		fclose(f);
	}
	return true;
}

/* Open cfg's store for reading as d->state, the state lock's holder's pid in *pid. */
static int open_reader(ayad_t *d, const cfg_t *cfg, unsigned flags, long *pid)
{
	char name[32];
	int rc = state_lock_pid(cfg->state_dir, pid);
	if (rc < 0 || !holder_name(*pid, name, sizeof(name))) {
		log_err("ayad: state store in %s: held by another process (its state.lock names "
		        "no running pid: an ayad older than takeover support?); stop it first",
		        cfg->state_dir);
		return -EBUSY;
	}
	if (strncmp(name, "ayad", 4) != 0) {
		log_err("ayad: state store in %s: held by pid %ld (%s), not an ayad; refusing",
		        cfg->state_dir, *pid, name[0] != '\0' ? name : "unknown");
		return -EBUSY;
	}
	state_opts_t o = {.flags = STATE_OPEN_READONLY | flags, .node = cfg->node.name};
	rc = state_open(cfg->state_dir, &o, &d->state);
	if (rc < 0) {
		log_err("ayad: state store in %s: cannot read it beside pid %ld: %s",
		        cfg->state_dir, *pid, strerror(-rc));
	}
	return rc;
}

int ayad_takeover_open(ayad_t *d, const cfg_t *cfg)
{
	d->takeover = calloc(1, sizeof(*d->takeover));
	if (d->takeover == NULL) {
		return -ENOMEM;
	}
	d->takeover->next_fd = -1;
	/* Before any thread exists: the reader's open checks the file (a fork). */
	return open_reader(d, cfg, 0, &d->takeover->pid);
}

bool ayad_takeover_waiting(const ayad_t *d)
{
	return d->takeover != NULL;
}

static void fail(ayad_t *d)
{
	d->start_failed = true;
	event_base_loopbreak(d->base);
}

/* The lock is free: become the node. false when another process took it first. */
static bool take_over(ayad_t *d)
{
	ayad_takeover_t *t = d->takeover;
	const cfg_t *cfg = d->cfg;
	state_close(d->state);
	d->state = NULL;
	/* Threads exist now: no forked check (the reader's open checked the file). */
	state_opts_t o = {.flags = STATE_OPEN_RECOVER | STATE_OPEN_NOCHECK, .node = cfg->node.name};
	int rc = state_open(cfg->state_dir, &o, &d->state);
	if (rc == -EBUSY) {
		log_info("ayad: another process took %s/state.lock first; waiting again",
		         cfg->state_dir);
		if (open_reader(d, cfg, STATE_OPEN_NOCHECK, &t->pid) < 0) {
			fail(d);
		}
		return false;
	}
	char err[512] = "";
	pol_snap_t *pol = NULL;
	if (rc < 0) {
		log_err("ayad: state store in %s: %s", cfg->state_dir, strerror(-rc));
		fail(d);
		return false;
	}
	/* The old node's last drains and observations, as a restart would read them. */
	rc = ayad_pol_build(d, cfg, d->geo, &pol, NULL, err, sizeof(err));
	if (rc < 0) {
		log_warn("ayad: policy after the takeover: %s; the old snapshot serves until the "
		         "next rebuild",
		         err[0] != '\0' ? err : strerror(-rc));
	} else {
		dnsd_server_publish(d->srv, NULL, pol);
		d->pol = pol;
	}
	dnsd_server_took_over(d->srv);
	return true;
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ayad_t *d = arg;
	ayad_takeover_t *t = d->takeover;
	uint64_t now = aya_mono_ms();
	if (!state_lock_free(d->cfg->state_dir)) {
		if (now >= t->logged_ms + WAIT_LOG_MS) {
			t->logged_ms = now;
			log_info("ayad: still answering DNS beside pid %ld, waiting %llu s for it "
			         "to "
			         "stop",
			         t->pid, (unsigned long long)((now - t->since_ms) / 1000u));
		}
		return;
	}
	if (!take_over(d)) {
		return;
	}
	long pid = t->pid;
	uint64_t waited = now - t->since_ms;
	int (*finish)(ayad_t *) = t->finish;
	/* From here d is a node started normally. */
	ayad_takeover_stop(d);
	if (finish(d) < 0) {
		log_err("ayad: cannot start after the takeover, see above; exiting");
		fail(d);
		return;
	}
	ayad_event(d, "took over from pid %ld", pid);
	log_info("ayad %s: took over from pid %ld after %llu ms: node %s (region %s) up, control "
	         "socket %s",
	         AYA_VERSION, pid, (unsigned long long)waited, d->cfg->node.name,
	         d->cfg->node.region, d->cfg->control_socket);
}

int ayad_takeover_wait(ayad_t *d, int (*finish)(ayad_t *d))
{
	ayad_takeover_t *t = d->takeover;
	t->finish = finish;
	t->since_ms = t->logged_ms = aya_mono_ms();
	/* Tell the old process a successor listens beside it (ayad_takeover_handoff). */
	t->next_fd = open_next(d->cfg);
	if (t->next_fd < 0 || flock(t->next_fd, LOCK_SH) != 0) {
		log_err("ayad: %s/%s: %s", d->cfg->state_dir, NEXT_FILE, strerror(errno));
		return -errno;
	}
	t->timer = event_new(d->base, -1, EV_PERSIST, on_poll, d);
	struct timeval tv = {.tv_sec = 0, .tv_usec = POLL_MS * 1000};
	if (t->timer == NULL || event_add(t->timer, &tv) != 0) {
		log_err("ayad: cannot arm the takeover timer");
		return -ENOMEM;
	}
	log_info("ayad: another ayad holds %s/state.lock (pid %ld); answering DNS beside it, "
	         "taking over when it stops",
	         d->cfg->state_dir, t->pid);
	return 0;
}

void ayad_takeover_handoff(ayad_t *d)
{
	if (d->srv == NULL || d->takeover != NULL) {
		return; /* nothing served yet, or we are the successor still waiting */
	}
	int fd = open_next(d->cfg);
	if (fd < 0) {
		return;
	}
	/* A successor holds it shared: our exclusive try fails. */
	bool successor = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	if (successor) {
		log_info("ayad: a new ayad waits to take over: handing the DNS sockets over");
		(void)dnsd_server_handoff(d->srv);
	}
}

void ayad_takeover_stop(ayad_t *d)
{
	ayad_takeover_t *t = d->takeover;
	if (t == NULL) {
		return;
	}
	if (t->timer != NULL) {
		event_free(t->timer);
	}
	if (t->next_fd >= 0) {
		close(t->next_fd);
	}
	free(t);
	d->takeover = NULL;
}
