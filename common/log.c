#include "common/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_LINE_MAX 1024

static atomic_int log_threshold = LOG_INFO;
static atomic_int log_to = LOG_TARGET_STDERR;
static char log_ident[32] = "kms";

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",	  [LOG_CRIT] = "crit",
	[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void log_open(const char *ident, log_target_t target)
{
	if (ident != NULL) {
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	}
	if (target == LOG_TARGET_SYSLOG) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
	atomic_store(&log_to, target);
}

void log_close(void)
{
	if (atomic_load(&log_to) == LOG_TARGET_SYSLOG) {
		closelog();
	}
	atomic_store(&log_to, LOG_TARGET_STDERR);
}

void log_level_set(int level)
{
	if (level < LOG_EMERG) {
		level = LOG_EMERG;
	}
	if (level > LOG_DEBUG) {
		level = LOG_DEBUG;
	}
	atomic_store(&log_threshold, level);
}

int log_level_get(void)
{
	return atomic_load(&log_threshold);
}

int log_level_parse(const char *name)
{
	if (name == NULL) {
		return -1;
	}
	for (int i = LOG_EMERG; i <= LOG_DEBUG; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			return i;
		}
	}
	if (strcasecmp(name, "error") == 0) {
		return LOG_ERR;
	}
	if (strcasecmp(name, "warn") == 0) {
		return LOG_WARNING;
	}
	return -1;
}

/* Replace control characters so that a hostile subject cannot forge lines. */
static void sanitise(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			*s = '?';
		}
	}
}

__attribute__((format(printf, 5, 0))) static int vformat(char *buf, size_t size,
							 int level, const char *subject,
							 const char *fmt, va_list ap)
{
	int n = 0;
	if (level < LOG_EMERG || level > LOG_DEBUG) {
		level = LOG_ERR;
	}
	if (subject != NULL) {
		n = snprintf(buf, size, "%s: [%s] ", level_names[level], subject);
	} else {
		n = snprintf(buf, size, "%s: ", level_names[level]);
	}
	if (n < 0 || (size_t)n >= size) {
		sanitise(buf);
		return -1;
	}
	int m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	sanitise(buf);
	return m < 0 ? -1 : n + m;
}

int log_format(char *buf, size_t size, int level, const char *subject, const char *fmt,
	       ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vformat(buf, size, level, subject, fmt, ap);
	va_end(ap);
	return n;
}

void log_vmsg(int level, const char *subject, const char *fmt, va_list ap)
{
	if (level > atomic_load(&log_threshold)) {
		return;
	}
	char line[LOG_LINE_MAX];
	vformat(line, sizeof(line), level, subject, fmt, ap);

	if (atomic_load(&log_to) == LOG_TARGET_SYSLOG) {
		syslog(level, "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line: stdio locks the stream, so lines never mix. */
	fprintf(stderr, "%s.%03ldZ %s: %s\n", when, ts.tv_nsec / 1000000L, log_ident,
		line);
}

const char *log_escape(char *out, size_t size, const void *in, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t o = 0;
	if (size == 0) {
		return out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if (b >= 0x20 && b < 0x7f && b != '\\' && b != '\'' && b != '"') {
			if (o + 1 >= size) {
				break;
			}
			out[o++] = (char)b;
		} else {
			if (o + 4 >= size) {
				break;
			}
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[b >> 4];
			out[o++] = hex[b & 0xf];
		}
	}
	out[o] = '\0';
	return out;
}

void log_msg(int level, const char *subject, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, subject, fmt, ap);
	va_end(ap);
}
