/*
 * Logging: syslog levels, a stderr or syslog target, printf-checked macros.
 *
 * Every request-scoped line names its subject (request id, peer, B-TID
 * prefix) through the log_req_* macros.  Key material never reaches a log:
 * print key ids, lengths and algorithm names only.
 */
#ifndef KMS_COMMON_LOG_H
#define KMS_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

typedef enum {
	LOG_TARGET_STDERR = 0,
	LOG_TARGET_SYSLOG = 1,
} log_target_t;

/*
 * The line format (log.format): text, or JSON with one object a line:
 * {"ts":"<RFC 3339 UTC, ms>","level":..,"prog":..,"subject":..,"msg":..}
 * and, on request lines (log_http()), method, path, status, bytes, ms,
 * client, type and outcome.  Applies to both targets.
 */
typedef enum {
	LOG_FMT_TEXT = 0,
	LOG_FMT_JSON = 1,
} log_fmt_t;

void log_fmt_set(log_fmt_t fmt);
/* Parse "text" or "json"; -1 if unknown. */
int log_fmt_parse(const char *name);

/* Open the log: ident names the program; safe to call again to retarget. */
void log_open(const char *ident, log_target_t target);
void log_close(void);

/* Lines above level (LOG_ERR .. LOG_DEBUG) are dropped; thread safe. */
void log_level_set(int level);
int log_level_get(void);
/* Parse "err", "warning", "notice", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *name);

/* subject may be NULL (daemon-wide line). */
void log_msg(int level, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *subject, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#define log_req_error(subj, ...) log_msg(LOG_ERR, (subj), __VA_ARGS__)
#define log_req_warning(subj, ...) log_msg(LOG_WARNING, (subj), __VA_ARGS__)
#define log_req_notice(subj, ...) log_msg(LOG_NOTICE, (subj), __VA_ARGS__)
#define log_req_info(subj, ...) log_msg(LOG_INFO, (subj), __VA_ARGS__)
#define log_req_debug(subj, ...) log_msg(LOG_DEBUG, (subj), __VA_ARGS__)

/* One finished HTTP request (the access line); strings may be NULL. */
typedef struct {
	const char *method;
	const char *path; /* as received: escaped by the logger */
	unsigned status;
	size_t bytes;
	double ms;
	const char *client;  /* the client's address */
	const char *type;    /* ticketrequest, ticketresolve, or NULL */
	const char *outcome; /* KMS_EOK or the refusal's KMS_E<NAME> */
	const char *note;    /* " (timed out)" ..., or "" */
} log_http_t;

/* The access line of a request, formatted once, in the current format. */
void log_http(int level, const char *subject, const log_http_t *f);

/*
 * A JSON string's contents for in[0..n): quotes, backslash and control
 * characters escaped, valid UTF-8 kept, any byte of an invalid sequence
 * replaced by \ufffd.  out is always NUL-terminated (size > 0) and cut
 * only between whole escapes; returns the length written.
 */
size_t log_json_escape(char *out, size_t size, const void *in, size_t n);

/*
 * The whole line as the stderr target writes it (without the newline),
 * for time_ms (Unix ms), in fmt; msg is the formatted message, http NULL
 * except for access lines.  Returns the length (cut to size - 1).
 */
size_t log_render(char *buf, size_t size, log_fmt_t fmt, int64_t time_ms, int level,
		  const char *subject, const char *msg, const log_http_t *http);

/* Room for n bytes escaped by log_escape(), with the NUL. */
#define LOG_ESCAPED_SIZE(n) (4 * (n) + 1)

/*
 * Client bytes (identities, query values) for a log line: printable ASCII
 * is kept, any other byte and the backslash and quotes become \xNN.  out
 * is always NUL-terminated (when size > 0) and is cut only between whole
 * escapes; returns out.
 */
const char *log_escape(char *out, size_t size, const void *in, size_t n);

/* Format a log line into buf without emitting it (used by tests). */
int log_format(char *buf, size_t size, int level, const char *subject, const char *fmt,
	       ...) __attribute__((format(printf, 5, 6)));

#endif
