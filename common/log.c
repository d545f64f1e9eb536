/*
 * Logging to stderr. Each line is formatted into a stack buffer and written
 * with one write(2), so lines from several threads never interleave.
 *
 * Under systemd, when stderr is the journal's stream (JOURNAL_STREAM names
 * its device and inode, sd-daemon(3)), a line starts with the syslog
 * priority "<N>" that journald turns into the entry's PRIORITY, and has no
 * timestamp or ident of its own (journald records both); elsewhere a line
 * is "2026-12-06T09:00:00.123Z ayad[42]: warning: text".
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = AYA_LOG_INFO;
static const char *log_ident = "aya";

void aya_log_set_level(enum aya_log_level level)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum aya_log_level aya_log_get_level(void)
{
	return (enum aya_log_level)atomic_load_explicit(&log_level, memory_order_relaxed);
}

void aya_log_set_ident(const char *ident)
{
	log_ident = ident;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int level_priority[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

/* -1 unknown yet, 0 plain stderr, 1 the journal's stream. */
static _Atomic int journal = -1;

bool aya_log_journal(void)
{
	int j = atomic_load_explicit(&journal, memory_order_relaxed);
	if (j < 0) {
		const char *env = getenv("JOURNAL_STREAM");
		unsigned long long dev = 0, ino = 0;
		struct stat st;
		j = env != NULL && sscanf(env, "%llu:%llu", &dev, &ino) == 2 &&
		    fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
		    (unsigned long long)st.st_ino == ino;
		atomic_store_explicit(&journal, j, memory_order_relaxed);
	}
	return j == 1;
}

void aya_log(enum aya_log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed)) {
		return;
	}
	char line[1024];
	int n;
	if (aya_log_journal()) {
		n = snprintf(line, sizeof(line), "<%d>%s: ", level_priority[level],
		             level_names[level]);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
		             "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d]: %s: ", tm.tm_year + 1900,
		             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		             ts.tv_nsec / 1000000, log_ident, (int)getpid(), level_names[level]);
	}
	if (n < 0) {
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2) {
		len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

bool aya_log_ratelimit_pass(_Atomic int64_t *last_s, _Atomic uint64_t *dropped)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	int64_t prev = atomic_load_explicit(last_s, memory_order_relaxed);
	if (ts.tv_sec != prev &&
	    atomic_compare_exchange_strong_explicit(last_s, &prev, (int64_t)ts.tv_sec,
	                                            memory_order_relaxed, memory_order_relaxed)) {
		uint64_t n = atomic_exchange_explicit(dropped, 0, memory_order_relaxed);
		if (n > 0) {
			aya_log(AYA_LOG_WARN, "(%llu similar lines suppressed)",
			        (unsigned long long)n);
		}
		return true;
	}
	atomic_fetch_add_explicit(dropped, 1, memory_order_relaxed);
	return false;
}
