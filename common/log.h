/*
 * Logging: one line per event to stderr (systemd captures it), printf-checked.
 * Thread-safe (one write(2) per line). Workers must not log per packet: use
 * counters, or log_ratelimited() for socket errors.
 *
 * Levels mean: error = something the operator asked for failed or the node
 * is degraded (a rejected reload); warning = the cluster or a backend is
 * worse than before (an endpoint down, a member suspect or dead, a peer's
 * packet that does not decrypt); info = state changes back to good and
 * normal operations; debug = detail. Events that scripts look for end in
 * key=value fields (e.g. "health: endpoint down service=... region=...").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"

enum aya_log_level {
	AYA_LOG_ERR = 0,
	AYA_LOG_WARN = 1,
	AYA_LOG_INFO = 2,
	AYA_LOG_DEBUG = 3,
};

/* Lines above this level are discarded; default AYA_LOG_INFO. */
void aya_log_set_level(enum aya_log_level level);
enum aya_log_level aya_log_get_level(void);
/* Prefix every line with the program name, e.g. "ayad". Borrowed, must outlive logging. */
void aya_log_set_ident(const char *ident);

/* stderr is systemd's journal stream (JOURNAL_STREAM): lines get a <N> priority, no timestamp. */
bool aya_log_journal(void);

void aya_log(enum aya_log_level level, const char *fmt, ...) AYA_PRINTF(2, 3);

#define log_err(...) aya_log(AYA_LOG_ERR, __VA_ARGS__)
#define log_warn(...) aya_log(AYA_LOG_WARN, __VA_ARGS__)
#define log_info(...) aya_log(AYA_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (aya_log_get_level() >= AYA_LOG_DEBUG) {                                        \
			aya_log(AYA_LOG_DEBUG, __VA_ARGS__);                                       \
		}                                                                                  \
	} while (0)

/*
 * At most one line per second from one call site, with the count of the lines
 * suppressed since. For errors that a flood could repeat (socket errors).
 */
#define log_ratelimited(level, ...)                                                                \
	do {                                                                                       \
		static _Atomic int64_t aya_rl_last_s_;                                             \
		static _Atomic uint64_t aya_rl_dropped_;                                           \
		if (aya_log_ratelimit_pass(&aya_rl_last_s_, &aya_rl_dropped_)) {                   \
			aya_log(level, __VA_ARGS__);                                               \
		}                                                                                  \
	} while (0)

bool aya_log_ratelimit_pass(_Atomic int64_t *last_s, _Atomic uint64_t *dropped);
