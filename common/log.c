/*
 * log.c - logging to stderr or syslog.
 *
 * The destination and level are process-wide by nature (syslog itself is):
 * log_init() sets them once at start, before any thread exists, and they
 * are only read afterwards. This is the one piece of mutable global state
 * outside daemon/, and it is write-once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static struct {
	const char *ident;
	bool use_syslog;
	enum log_level level;
} log_cfg = { "letterbox", false, LOG_LEVEL_INFO };

void
log_init(const char *ident, bool use_syslog, enum log_level level)
{
	log_cfg.ident = ident;
	log_cfg.use_syslog = use_syslog;
	log_cfg.level = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_level_parse(const char *name)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

static void __attribute__((format(printf, 2, 0)))
log_write(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	char line[2048];

	if (level > log_cfg.level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_cfg.use_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	/* One fprintf per line: stdio locks the stream, so lines from
	 * several threads do not interleave. */
	fprintf(stderr, "%s: %s: %s\n", log_cfg.ident, tag[level], line);
}

#define LOG_FN(name, level) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_write(level, fmt, ap); \
		va_end(ap); \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_safe(const char *s, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o + 4 >= size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	buf[o] = '\0';
	return buf;
}
