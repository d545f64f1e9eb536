/*
 * Binary upgrade in place, on SIGUSR2 (what the Debian package's postinst
 * sends instead of a restart): ayad starts the binary now installed at its
 * own path, with its own arguments, beside itself. The new process binds
 * the same DNS sockets (SO_REUSEPORT) and, once it answers, says so on a
 * pipe (AYA_UPGRADE_FD) and, under systemd, becomes the main PID
 * (MAINPID=, the unit has NotifyAccess=all). The old process then shuts
 * down as on SIGTERM: it leaves the cluster, drains its DNS sockets and
 * releases the state store, which the new one takes over (daemon/takeover.c).
 *
 * If the new binary exits before it answers (a config it rejects, a missing
 * library), the old one logs why and goes on serving; an upgrade that hangs
 * is given up after AYAD_UPGRADE_WAIT_S and its process stopped.
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
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/log.h"

#define AYAD_UPGRADE_WAIT_S 60
#define UPGRADE_ENV "AYA_UPGRADE_FD"

extern char **environ;

struct ayad_upgrade {
	char exe[PATH_MAX]; /* the binary's path at start: the file an upgrade replaces */
	char **argv;        /* main()'s */
	int ready_fd;       /* the new process: tell the old one here, -1 when done/none */
	pid_t child;        /* the old process: the new one, 0 when none */
	int pipe_rd;
	struct event *ev;
	void (*handover)(ayad_t *d);
};

int ayad_upgrade_init(ayad_t *d, char **argv, void (*handover)(ayad_t *d))
{
	struct ayad_upgrade *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		return -ENOMEM;
	}
	u->argv = argv;
	u->ready_fd = -1;
	u->pipe_rd = -1;
	u->handover = handover;
	ssize_t n = readlink("/proc/self/exe", u->exe, sizeof(u->exe) - 1);
	if (n <= 0) {
		u->exe[0] = '\0';
	} else {
		u->exe[n] = '\0';
	}
	const char *fd = getenv(UPGRADE_ENV);
	if (fd != NULL) {
		char *end;
		long v = strtol(fd, &end, 10);
		if (*end == '\0' && v > 2 && v < INT_MAX && fcntl((int)v, F_GETFD) >= 0) {
			u->ready_fd = (int)v;
			(void)fcntl(u->ready_fd, F_SETFD, FD_CLOEXEC);
		}
		unsetenv(UPGRADE_ENV);
	}
	d->upgrade = u;
	return 0;
}

void ayad_upgrade_answering(ayad_t *d)
{
	struct ayad_upgrade *u = d->upgrade;
	if (u == NULL || u->ready_fd < 0) {
		return;
	}
	/* Main PID first: the old process exits right after reading the byte. */
	(void)sd_notifyf(0, "MAINPID=%ld", (long)getpid());
	ssize_t w;
	do {
		w = write(u->ready_fd, "1", 1);
	} while (w < 0 && errno == EINTR);
	close(u->ready_fd);
	u->ready_fd = -1;
	log_info("upgrade: answering DNS; the previous ayad hands over");
}

static void end_wait(struct ayad_upgrade *u)
{
	if (u->ev != NULL) {
		event_free(u->ev);
		u->ev = NULL;
	}
	if (u->pipe_rd >= 0) {
		close(u->pipe_rd);
		u->pipe_rd = -1;
	}
}

/* Reap the new process that gave up; its exit status for the log. */
static void reap(struct ayad_upgrade *u, char *buf, size_t n)
{
	int status = 0;
	pid_t r;
	do {
		r = waitpid(u->child, &status, 0);
	} while (r < 0 && errno == EINTR);
	if (r != u->child) {
		snprintf(buf, n, "unknown status");
	} else if (WIFEXITED(status)) {
		snprintf(buf, n, "exit %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, n, "signal %d", WTERMSIG(status));
	} else {
		snprintf(buf, n, "status %d", status);
	}
	u->child = 0;
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
	ayad_t *d = arg;
	struct ayad_upgrade *u = d->upgrade;
	char c = 0;
	ssize_t r = (what & EV_READ) != 0 ? read(fd, &c, 1) : 0;
	if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
		return;
	}
	end_wait(u);
	if (r == 1) {
		log_info("upgrade: the new ayad (pid %ld) answers DNS; handing over to it",
		         (long)u->child);
		u->child = 0; /* it outlives us: not ours to reap or stop */
		u->handover(d);
		return;
	}
	char why[64];
	if ((what & EV_TIMEOUT) != 0) {
		log_err("upgrade: the new ayad (pid %ld) did not answer within %d s; stopping it, "
		        "still serving",
		        (long)u->child, AYAD_UPGRADE_WAIT_S);
		(void)kill(u->child, SIGTERM);
	}
	reap(u, why, sizeof(why));
	log_err("upgrade: the new ayad ended before it answered DNS (%s; its log lines are "
	        "above); still serving with this binary",
	        why);
}

/* The environment for the new process: ours plus AYA_UPGRADE_FD. */
static char **child_env(int fd, char *fd_var, size_t fd_var_len)
{
	size_t n = 0;
	while (environ[n] != NULL) {
		n++;
	}
	char **env = calloc(n + 2, sizeof(*env));
	if (env == NULL) {
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		/* systemd's watchdog follows MAINPID: WATCHDOG_PID would name the old process. */
		if (strncmp(environ[i], UPGRADE_ENV "=", sizeof(UPGRADE_ENV)) != 0 &&
		    strncmp(environ[i], "WATCHDOG_PID=", 13) != 0) {
			env[k++] = environ[i];
		}
	}
	snprintf(fd_var, fd_var_len, UPGRADE_ENV "=%d", fd);
	env[k++] = fd_var;
	env[k] = NULL;
	return env;
}

void ayad_upgrade_start(ayad_t *d)
{
	struct ayad_upgrade *u = d->upgrade;
	if (u == NULL) {
		return;
	}
	if (u->child != 0) {
		log_warn("upgrade: SIGUSR2 ignored, an upgrade to pid %ld is under way",
		         (long)u->child);
		return;
	}
	if (u->ready_fd >= 0 || ayad_takeover_waiting(d)) {
		log_warn("upgrade: SIGUSR2 ignored, this ayad is still taking over from another");
		return;
	}
	/* A replaced binary's old inode reads "/path (deleted)": the path is what counts. */
	char exe[PATH_MAX];
	snprintf(exe, sizeof(exe), "%s", u->exe);
	char *del = strstr(exe, " (deleted)");
	if (del != NULL && del[sizeof(" (deleted)") - 1] == '\0') {
		*del = '\0';
	}
	if (exe[0] == '\0' || access(exe, X_OK) != 0) {
		log_err("upgrade: cannot run %s: %s", exe[0] != '\0' ? exe : "the binary",
		        strerror(errno));
		return;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		log_err("upgrade: pipe: %s", strerror(errno));
		return;
	}
	char fd_var[32];
	char **env = child_env(p[1], fd_var, sizeof(fd_var));
	if (env == NULL) {
		close(p[0]);
		close(p[1]);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Only async-signal-safe calls until execve. The child keeps p[1] across it. */
		if (fcntl(p[1], F_SETFD, 0) < 0) {
			_exit(127);
		}
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execve(exe, u->argv, env);
		_exit(127);
	}
	free(env);
	close(p[1]);
	if (pid < 0) {
		log_err("upgrade: fork: %s", strerror(errno));
		close(p[0]);
		return;
	}
	u->child = pid;
	u->pipe_rd = p[0];
	u->ev = event_new(d->base, p[0], EV_READ, on_pipe, d);
	struct timeval tv = {.tv_sec = AYAD_UPGRADE_WAIT_S};
	if (u->ev == NULL || event_add(u->ev, &tv) != 0) {
		log_err("upgrade: cannot watch the new process; stopping it");
		(void)kill(pid, SIGTERM);
		end_wait(u);
		char why[64];
		reap(u, why, sizeof(why));
		return;
	}
	log_info("upgrade: SIGUSR2, started %s (pid %ld) beside this ayad (pid %ld)", exe,
	         (long)pid, (long)getpid());
}

void ayad_upgrade_free(ayad_t *d)
{
	struct ayad_upgrade *u = d->upgrade;
	if (u == NULL) {
		return;
	}
	end_wait(u);
	if (u->child != 0) {
		/* We stop before the new one answered: it must not linger half started. */
		(void)kill(u->child, SIGTERM);
		char why[64];
		reap(u, why, sizeof(why));
	}
	if (u->ready_fd >= 0) {
		close(u->ready_fd);
	}
	free(u);
	d->upgrade = NULL;
}
