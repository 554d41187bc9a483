/*
 * log.h - logging to stderr or syslog.
 *
 * Callers never pass a password or any secret: log lines may reach other
 * users' eyes. Client-supplied text goes through log_safe() first so that a
 * control character cannot forge a log line.
 */
#ifndef LETTERBOX_LOG_H
#define LETTERBOX_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* log_init: where lines go (syslog when use_syslog, else stderr) and the
 * least important level written. Call once at start, before any thread. */
void log_init(const char *ident, bool use_syslog, enum log_level level);
/* log_level_parse: "error", "warn", "info", "debug" -> level; -1 if none. */
int log_level_parse(const char *name);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal: log at error level and exit(1). For broken invariants and
 * allocation failure only. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* log_safe: copies s into buf (size bytes, size > 4) replacing control
 * characters and non-ASCII octets by '?', truncating with "..." when long.
 * Returns buf. */
const char *log_safe(const char *s, char *buf, size_t size);

#endif
