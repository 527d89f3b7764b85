/*
 * kmsctl audit: read and prune kmsd's audit log (kms/audit.h, table audit
 * of audit.db; columns in sql/audit_*.sql).  Filters by time (RFC 3339 or
 * Unix seconds), identity (the requester, or one of the responders),
 * outcome (granted, refused or a KMS_E<NAME> code) and request id; prints a
 * table, CSV (RFC 4180) or JSON lines, times as RFC 3339 UTC.  --prune-before
 * deletes the rows older than a time and says how many.  Prepared
 * statements only; every value from the store is escaped on output.
 */
#define _GNU_SOURCE /* timegm */
#include <getopt.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errcode.h"
#include "common/log.h"
#include "sql/db.h"
#include "sql/schema.h"
#include "tools/kmsctl.h"

#define LIMIT_DEFAULT 1000
#define FIELD_MAX 300 /* bytes of a value shown (responders: 255) */

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSONL } out_fmt_t;

typedef struct {
	const char *since, *until, *identity, *outcome, *rid, *prune;
	uint32_t limit;
	out_fmt_t fmt;
} audit_args_t;

/* The order of the SELECT below; the last ones are free text. */
static const char *const cols[] = { "time",  "rid",	 "client",     "requester",
				    "type",  "decision", "outcome",    "ticket_key",
				    "count", "peer_kms", "responders", "reason" };
static const int widths[] = { 24, 18, 15, 24, 16, 8, 16, 10, 5, 16, 0, 0 };
static const char select_sql[] =
    "SELECT time, rid, client, requester, msg_type_name, "
    "CASE decision WHEN 1 THEN 'granted' ELSE 'refused' END, error, ticket_key_id, "
    "count, peer_kms, responders, reason FROM audit "
    "WHERE (?1 IS NULL OR time_ms >= ?1) AND (?2 IS NULL OR time_ms < ?2) "
    "AND (?3 IS NULL OR requester = ?3 OR "
    "instr(',' || responders || ',', ',' || ?3 || ',') > 0) "
    "AND (?4 IS NULL OR decision = ?4) AND (?5 IS NULL OR error = ?5) "
    "AND (?6 IS NULL OR rid = ?6) ORDER BY time_ms, id LIMIT ?7";
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void usage_audit(FILE *f)
{
	fprintf(
	    f,
	    "usage: kmsctl [-d STATE_DIR | -c KMSD_CONF] audit [--since TIME]\n"
	    "              [--until TIME] [--identity ID] [--outcome OUTCOME]\n"
	    "              [--request-id RID] [--limit N] [--format table|csv|jsonl]\n"
	    "       kmsctl [-d STATE_DIR | -c KMSD_CONF] audit --prune-before TIME\n"
	    "\n"
	    "Rows of kmsd's audit log (audit.db), oldest first.\n"
	    "  --since, --until TIME   RFC 3339 (2026-01-02T03:04:05Z, offsets and\n"
	    "                          fractions allowed) or Unix seconds; until is\n"
	    "                          exclusive\n"
	    "  --identity ID           the requester, or one of the responders\n"
	    "  --outcome OUTCOME       granted, refused, or a code (KMS_EPOLICY)\n"
	    "  --request-id RID        one request (X-Request-Id)\n"
	    "  --limit N               at most N rows (default %d; 0: all)\n"
	    "  --format FMT            table (default), csv or jsonl\n"
	    "  --prune-before TIME     delete the rows older than TIME; prints the "
	    "count\n",
	    LIMIT_DEFAULT);
}

/* RFC 3339 (seconds, optional fraction, Z or +-hh:mm) or Unix seconds, as
 * Unix milliseconds. */
static int parse_time(const char *s, int64_t *ms)
{
	int64_t v = 0;
	if (kmsctl_parse_i64(s, &v) == KMS_EOK) {
		if (v > INT64_MAX / 1000) {
			return KMS_ERANGE;
		}
		*ms = v * 1000;
		return KMS_EOK;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL) {
		return KMS_EINVAL;
	}
	int64_t frac = 0, scale = 1000;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		}
	}
	int64_t off = 0;
	unsigned hh = 0, mm = 0;
	int used = 0;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') &&
		   sscanf(p + 1, "%2u:%2u%n", &hh, &mm, &used) == 2 &&
		   p[1 + used] == '\0' && hh < 24 && mm < 60) {
		off = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
	} else {
		return KMS_EINVAL;
	}
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return KMS_EOK;
}

static int parse_args(int argc, char **argv, audit_args_t *a)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "identity", required_argument, NULL, 'i' },
		{ "outcome", required_argument, NULL, 'o' },
		{ "request-id", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "prune-before", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	memset(a, 0, sizeof(*a));
	a->limit = LIMIT_DEFAULT;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "s:u:i:o:r:n:f:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->since = optarg;
			break;
		case 'u':
			a->until = optarg;
			break;
		case 'i':
			a->identity = optarg;
			break;
		case 'o':
			a->outcome = optarg;
			break;
		case 'r':
			a->rid = optarg;
			break;
		case 'p':
			a->prune = optarg;
			break;
		case 'n':
			if (kmsctl_parse_u32(optarg, &a->limit) != KMS_EOK) {
				return kmsctl_usage_error("--limit: not a number: %s",
							  optarg);
			}
			break;
		case 'f':
			if (strcmp(optarg, "table") == 0) {
				a->fmt = FMT_TABLE;
			} else if (strcmp(optarg, "csv") == 0) {
				a->fmt = FMT_CSV;
			} else if (strcmp(optarg, "jsonl") == 0) {
				a->fmt = FMT_JSONL;
			} else {
				return kmsctl_usage_error(
				    "--format: table, csv or jsonl");
			}
			break;
		case 'h':
			usage_audit(stdout);
			return -1;
		default:
			usage_audit(stderr);
			return KMSCTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		return kmsctl_usage_error("audit: unexpected argument '%s'",
					  argv[optind]);
	}
	if (a->prune != NULL &&
	    (a->since || a->until || a->identity || a->outcome || a->rid)) {
		return kmsctl_usage_error("--prune-before takes no filters");
	}
	return EXIT_SUCCESS;
}

/* Bind a time filter (NULL when absent). */
static int bind_time(sqlite3_stmt *st, int i, const char *opt, const char *name)
{
	int64_t ms = 0;
	if (opt == NULL) {
		return sqlite3_bind_null(st, i) == SQLITE_OK
			   ? EXIT_SUCCESS
			   : kmsctl_fail(KMS_EIO, "bind");
	}
	if (parse_time(opt, &ms) != KMS_EOK) {
		return kmsctl_usage_error("%s: not RFC 3339 or Unix seconds: %s", name,
					  opt);
	}
	return sqlite3_bind_int64(st, i, ms) == SQLITE_OK ? EXIT_SUCCESS
							  : kmsctl_fail(KMS_EIO, "bind");
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	int rc = v != NULL ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
			   : sqlite3_bind_null(st, i);
	return rc == SQLITE_OK ? EXIT_SUCCESS : kmsctl_fail(KMS_EIO, "bind");
}

/* --outcome: granted / refused (decision) or a code (error). */
static int bind_outcome(sqlite3_stmt *st, const char *o)
{
	const char *code = NULL;
	int rc = SQLITE_OK;
	if (o != NULL && strcmp(o, "granted") == 0) {
		rc = sqlite3_bind_int(st, 4, 1);
	} else if (o != NULL && strcmp(o, "refused") == 0) {
		rc = sqlite3_bind_int(st, 4, 0);
	} else if (o != NULL && strncmp(o, "KMS_E", 5) == 0) {
		code = o;
	} else if (o != NULL) {
		return kmsctl_usage_error("--outcome: granted, refused or KMS_E<NAME>");
	}
	if (rc != SQLITE_OK) {
		return kmsctl_fail(KMS_EIO, "bind");
	}
	return bind_text(st, 5, code);
}

static int bind_filters(sqlite3_stmt *st, const audit_args_t *a)
{
	int rc = bind_time(st, 1, a->since, "--since");
	if (rc == EXIT_SUCCESS) {
		rc = bind_time(st, 2, a->until, "--until");
	}
	if (rc == EXIT_SUCCESS) {
		rc = bind_text(st, 3, a->identity);
	}
	if (rc == EXIT_SUCCESS && a->outcome == NULL) {
		rc = sqlite3_bind_null(st, 4) == SQLITE_OK ? bind_text(st, 5, NULL)
							   : KMSCTL_EXIT_FAIL;
	} else if (rc == EXIT_SUCCESS) {
		rc = bind_outcome(st, a->outcome);
	}
	if (rc == EXIT_SUCCESS) {
		rc = bind_text(st, 6, a->rid);
	}
	if (rc == EXIT_SUCCESS &&
	    sqlite3_bind_int64(st, 7, a->limit == 0 ? -1 : (int64_t)a->limit) !=
		SQLITE_OK) {
		rc = kmsctl_fail(KMS_EIO, "bind");
	}
	return rc;
}

static void print_header(out_fmt_t fmt)
{
	for (size_t i = 0; i < NCOLS && fmt != FMT_JSONL; i++) {
		if (fmt == FMT_CSV) {
			printf("%s%s", i > 0 ? "," : "", cols[i]);
		} else {
			printf("%s%-*s", i > 0 ? " " : "", widths[i], cols[i]);
		}
	}
	if (fmt != FMT_JSONL) {
		putchar('\n');
	}
}

/* One row: every value escaped (the store holds what clients sent). */
static void print_row(sqlite3_stmt *st, out_fmt_t fmt)
{
	char esc[LOG_ESCAPED_SIZE(FIELD_MAX)];
	if (fmt == FMT_JSONL) {
		putchar('{');
	}
	for (int i = 0; i < (int)NCOLS; i++) {
		const unsigned char *v = sqlite3_column_text(st, i);
		size_t n = (size_t)sqlite3_column_bytes(st, i);
		n = n < FIELD_MAX ? n : FIELD_MAX;
		if (fmt == FMT_JSONL) {
			bool num = sqlite3_column_type(st, i) == SQLITE_INTEGER;
			log_json_escape(esc, sizeof(esc),
					v != NULL ? v : (const void *)"", n);
			printf(num ? "%s\"%s\":%s" : "%s\"%s\":\"%s\"", i > 0 ? "," : "",
			       cols[i], esc);
			continue;
		}
		log_escape(esc, sizeof(esc), v != NULL ? v : (const void *)"", n);
		if (fmt == FMT_CSV) {
			printf("%s\"%s\"", i > 0 ? "," : "", esc); /* no '"' in esc */
		} else {
			printf("%s%-*s", i > 0 ? " " : "", widths[i],
			       esc[0] != '\0' ? esc : "-");
		}
	}
	puts(fmt == FMT_JSONL ? "}" : "");
}

static int query(sqlite3 *db, const audit_args_t *a)
{
	sqlite3_stmt *st = NULL;
	int rc = sqldb_prepare(db, select_sql, &st) == KMS_EOK
		     ? bind_filters(st, a)
		     : kmsctl_fail(KMS_EIO, "audit query: %s", sqlite3_errmsg(db));
	if (rc == EXIT_SUCCESS) {
		print_header(a->fmt);
	}
	int step = SQLITE_DONE;
	while (rc == EXIT_SUCCESS && (step = sqlite3_step(st)) == SQLITE_ROW) {
		print_row(st, a->fmt);
	}
	if (rc == EXIT_SUCCESS && step != SQLITE_DONE) {
		rc = kmsctl_fail(sqldb_rc(step), "reading the audit log");
	}
	sqlite3_finalize(st);
	return rc;
}

static int prune(sqlite3 *db, const char *before)
{
	int64_t ms = 0;
	sqlite3_stmt *st = NULL;
	if (parse_time(before, &ms) != KMS_EOK) {
		return kmsctl_usage_error(
		    "--prune-before: not RFC 3339 or Unix seconds: %s", before);
	}
	int ret = sqldb_prepare(db, "DELETE FROM audit WHERE time_ms < ?1", &st);
	if (ret == KMS_EOK) {
		ret = sqlite3_bind_int64(st, 1, ms) == SQLITE_OK ? sqldb_step_done(st)
								 : KMS_EIO;
	}
	sqlite3_finalize(st);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "pruning the audit log");
	}
	char when[40];
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("pruned %lld row(s) before %s\n", (long long)sqlite3_changes64(db), when);
	return EXIT_SUCCESS;
}

int kmsctl_audit_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	audit_args_t a;
	int rc = parse_args(argc, argv, &a);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	sqlite3 *db = NULL;
	/* Brought to the current schema, as kmsd would on its next start. */
	int ret = schema_open(p->audit, SCHEMA_AUDIT, 0, &db);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "%s: cannot open the audit log", p->audit);
	}
	rc = a.prune != NULL ? prune(db, a.prune) : query(db, &a);
	sqldb_close(db);
	return rc;
}
