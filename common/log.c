#include "common/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_LINE_MAX 1024   /* the message (text: the line after time and prog) */
#define LOG_OUT_MAX 4096    /* the line written: JSON escapes take room */
#define LOG_SUBJECT_MAX 128 /* bytes of a subject shown in JSON */

static atomic_int log_threshold = LOG_INFO;
static atomic_int log_to = LOG_TARGET_STDERR;
static atomic_int log_fmt = LOG_FMT_TEXT;
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

/* A line being written: appends stop at the capacity (NUL kept). */
typedef struct {
	char *p;
	size_t cap; /* > 0 */
	size_t n;
} sbuf_t;

static void sb_raw(sbuf_t *b, const char *s, size_t n)
{
	if (n > b->cap - 1 - b->n) {
		n = b->cap - 1 - b->n;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_str(sbuf_t *b, const char *s)
{
	sb_raw(b, s, strlen(s));
}

/* ,"key":"value" with value escaped; reserve bytes are left for the end. */
static void sb_json(sbuf_t *b, const char *key, const char *val, size_t max,
		    size_t reserve)
{
	if (val == NULL) {
		return;
	}
	sb_str(b, b->n > 1 ? ",\"" : "\"");
	sb_str(b, key);
	sb_str(b, "\":\"");
	size_t room = b->cap - b->n;
	room = room > reserve + 1 ? room - reserve : 1;
	b->n += log_json_escape(b->p + b->n, room, val, strnlen(val, max));
	sb_str(b, "\"");
}

static void sb_num(sbuf_t *b, const char *key, unsigned long long v)
{
	char num[48];
	snprintf(num, sizeof(num), ",\"%s\":%llu", key, v);
	sb_str(b, num);
}

/* 2026-01-02T03:04:05.678Z */
static void format_ts(char *when, size_t size, int64_t time_ms)
{
	struct tm tm;
	time_t sec = (time_t)(time_ms / 1000);
	gmtime_r(&sec, &tm);
	size_t n = strftime(when, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, size - n, ".%03dZ", (int)(time_ms % 1000));
}

/* The text of an access line: "POST /kms 200 57 bytes 1.2 ms client ..." */
static void http_text(char *buf, size_t size, const log_http_t *f)
{
	snprintf(buf, size, "%s %s %u %zu bytes %.1f ms client %s%s%s%s%s%s",
		 f->method != NULL ? f->method : "-", f->path != NULL ? f->path : "-",
		 f->status, f->bytes, f->ms,
		 f->client != NULL && f->client[0] != '\0' ? f->client : "?",
		 f->type != NULL ? " " : "", f->type != NULL ? f->type : "",
		 f->outcome != NULL ? " " : "", f->outcome != NULL ? f->outcome : "",
		 f->note != NULL ? f->note : "");
}

static void render_json(sbuf_t *b, const char *when, int level, const char *subject,
			const char *msg, const log_http_t *f)
{
	sb_str(b, "{");
	sb_json(b, "ts", when, 32, 0);
	sb_json(b, "level", level_names[level], 16, 0);
	sb_json(b, "prog", log_ident, sizeof(log_ident), 0);
	sb_json(b, "subject", subject, LOG_SUBJECT_MAX, 0);
	if (f != NULL) {
		char ms[48];
		sb_json(b, "method", f->method, 16, 0);
		sb_json(b, "path", f->path, 128, 0);
		sb_num(b, "status", f->status);
		sb_num(b, "bytes", f->bytes);
		snprintf(ms, sizeof(ms), ",\"ms\":%.1f", f->ms >= 0 ? f->ms : 0.0);
		sb_str(b, ms);
		sb_json(b, "client", f->client != NULL ? f->client : "", 64, 0);
		sb_json(b, "type", f->type, 32, 0);
		sb_json(b, "outcome", f->outcome, 32, 0);
	}
	sb_json(b, "msg", msg, LOG_LINE_MAX, 2); /* "} always fits */
	sb_str(b, "}");
}

size_t log_render(char *buf, size_t size, log_fmt_t fmt, int64_t time_ms, int level,
		  const char *subject, const char *msg, const log_http_t *http)
{
	char when[40], text[LOG_LINE_MAX];
	sbuf_t b = { buf, size, 0 };
	if (size == 0) {
		return 0;
	}
	buf[0] = '\0';
	if (level < LOG_EMERG || level > LOG_DEBUG) {
		level = LOG_ERR;
	}
	format_ts(when, sizeof(when), time_ms);
	if (fmt == LOG_FMT_JSON) {
		render_json(&b, when, level, subject, msg, http);
		return b.n;
	}
	log_format(text, sizeof(text), level, subject, "%s", msg);
	snprintf(buf, size, "%s %s: %s", when, log_ident, text);
	return strlen(buf);
}

/* Emit one finished line: formatted once, one write (stdio locks the
 * stream, so lines never mix). */
static void emit(int level, const char *subject, const char *msg, const log_http_t *f)
{
	char line[LOG_OUT_MAX];
	log_fmt_t fmt = (log_fmt_t)atomic_load(&log_fmt);
	bool sys = atomic_load(&log_to) == LOG_TARGET_SYSLOG;
	if (sys && fmt == LOG_FMT_TEXT) {
		log_format(line, sizeof(line), level, subject, "%s", msg);
		syslog(level, "%s", line);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	log_render(line, sizeof(line), fmt, ms, level, subject, msg, f);
	if (sys) {
		syslog(level, "%s", line);
	} else {
		fprintf(stderr, "%s\n", line);
	}
}

void log_vmsg(int level, const char *subject, const char *fmt, va_list ap)
{
	if (level > atomic_load(&log_threshold)) {
		return;
	}
	char msg[LOG_LINE_MAX];
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	emit(level, subject, msg, NULL);
}

void log_http(int level, const char *subject, const log_http_t *f)
{
	if (level > atomic_load(&log_threshold)) {
		return;
	}
	char msg[LOG_LINE_MAX];
	http_text(msg, sizeof(msg), f);
	emit(level, subject, msg, f);
}

void log_fmt_set(log_fmt_t fmt)
{
	atomic_store(&log_fmt, fmt == LOG_FMT_JSON ? LOG_FMT_JSON : LOG_FMT_TEXT);
}

int log_fmt_parse(const char *name)
{
	if (name != NULL && strcmp(name, "text") == 0) {
		return LOG_FMT_TEXT;
	}
	return name != NULL && strcmp(name, "json") == 0 ? LOG_FMT_JSON : -1;
}

/* The length of the valid UTF-8 sequence at p[0..n), or 0 (RFC 3629:
 * no overlongs, no surrogates, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (len > n || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < len; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf) {
			return 0;
		}
	}
	return len;
}

/* The JSON form of the character at p (*used: its bytes) into esc. */
static size_t json_char(const unsigned char *p, size_t n, char esc[8], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = p[0];
	*used = 1;
	if (c == '"' || c == '\\') {
		esc[0] = '\\';
		esc[1] = (char)c;
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 0xf];
		return 6;
	}
	if (c < 0x80) {
		esc[0] = (char)c;
		return 1;
	}
	size_t len = utf8_len(p, n);
	if (len == 0) {
		memcpy(esc, "\\ufffd", 6);
		return 6;
	}
	memcpy(esc, p, len);
	*used = len;
	return len;
}

size_t log_json_escape(char *out, size_t size, const void *in, size_t n)
{
	const unsigned char *p = in;
	size_t o = 0;
	if (size == 0) {
		return 0;
	}
	for (size_t i = 0; i < n;) {
		char esc[8];
		size_t used = 0;
		size_t len = json_char(p + i, n - i, esc, &used);
		if (o + len >= size) {
			break;
		}
		memcpy(out + o, esc, len);
		o += len;
		i += used;
	}
	out[o] = '\0';
	return o;
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
