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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errcode.h"
#include "common/log.h"
#include "kms/audit_query.h"
#include "tools/kmsctl.h"

#define LIMIT_DEFAULT 1000
#define FIELD_MAX 300 /* bytes of a value shown (responders: 255) */

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSONL } out_fmt_t;

typedef struct {
	const char *since, *until, *identity, *outcome, *rid, *prune;
	uint32_t limit;
	out_fmt_t fmt;
} audit_args_t;

/* Table widths of the columns (kms/audit_query.h); the last are free text. */
static const int widths[AUDIT_QUERY_COLS] = {
	24, 18, 15, 24, 16, 8, 16, 10, 5, 16, 0, 0
};
#define NCOLS AUDIT_QUERY_COLS

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

/* A time option into *ms (*has: given); EXIT_SUCCESS or a usage error. */
static int opt_time(const char *opt, const char *name, bool *has, int64_t *ms)
{
	*has = opt != NULL;
	if (opt != NULL && parse_time(opt, ms) != KMS_EOK) {
		return kmsctl_usage_error("%s: not RFC 3339 or Unix seconds: %s", name,
					  opt);
	}
	return EXIT_SUCCESS;
}

static int make_filter(const audit_args_t *a, audit_filter_t *f)
{
	memset(f, 0, sizeof(*f));
	f->decision = -1;
	f->identity = a->identity;
	f->rid = a->rid;
	f->limit = a->limit == 0 ? -1 : (int64_t)a->limit;
	const char *o = a->outcome;
	if (o != NULL && strcmp(o, "granted") == 0) {
		f->decision = 1;
	} else if (o != NULL && strcmp(o, "refused") == 0) {
		f->decision = 0;
	} else if (o != NULL && strncmp(o, "KMS_E", 5) == 0) {
		f->code = o;
	} else if (o != NULL) {
		return kmsctl_usage_error("--outcome: granted, refused or KMS_E<NAME>");
	}
	int rc = opt_time(a->since, "--since", &f->has_since, &f->since_ms);
	return rc == EXIT_SUCCESS
		   ? opt_time(a->until, "--until", &f->has_until, &f->until_ms)
		   : rc;
}

static void print_header(out_fmt_t fmt)
{
	for (size_t i = 0; i < NCOLS && fmt != FMT_JSONL; i++) {
		if (fmt == FMT_CSV) {
			printf("%s%s", i > 0 ? "," : "", audit_query_cols[i]);
		} else {
			printf("%s%-*s", i > 0 ? " " : "", widths[i],
			       audit_query_cols[i]);
		}
	}
	if (fmt != FMT_JSONL) {
		putchar('\n');
	}
}

/* One row: every value escaped (the store holds what clients sent). */
static void print_row(const audit_row_t *row, void *ctx)
{
	out_fmt_t fmt = *(const out_fmt_t *)ctx;
	char esc[LOG_ESCAPED_SIZE(FIELD_MAX)];
	for (size_t i = 0; i < NCOLS; i++) {
		size_t n = row->len[i] < FIELD_MAX ? row->len[i] : FIELD_MAX;
		const char *sep = i > 0 ? "," : fmt == FMT_JSONL ? "{" : "";
		if (fmt == FMT_JSONL) {
			log_json_escape(esc, sizeof(esc), row->val[i], n);
			printf(row->num[i] ? "%s\"%s\":%s" : "%s\"%s\":\"%s\"", sep,
			       audit_query_cols[i], esc);
			continue;
		}
		log_escape(esc, sizeof(esc), row->val[i], n);
		if (fmt == FMT_CSV) {
			printf("%s\"%s\"", sep, esc); /* log_escape leaves no '"' */
		} else {
			printf("%s%-*s", i > 0 ? " " : "", widths[i],
			       esc[0] != '\0' ? esc : "-");
		}
	}
	puts(fmt == FMT_JSONL ? "}" : "");
}

static int prune(const kmsctl_paths_t *p, const char *before)
{
	int64_t ms = 0, n = 0;
	if (parse_time(before, &ms) != KMS_EOK) {
		return kmsctl_usage_error(
		    "--prune-before: not RFC 3339 or Unix seconds: %s", before);
	}
	int ret = audit_prune(p->audit, ms, &n);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "%s: pruning the audit log", p->audit_label);
	}
	char when[40];
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("pruned %lld row(s) before %s\n", (long long)n, when);
	return EXIT_SUCCESS;
}

int kmsctl_audit_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	audit_args_t a;
	audit_filter_t f;
	int rc = parse_args(argc, argv, &a);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	if (a.prune != NULL) {
		return prune(p, a.prune);
	}
	rc = make_filter(&a, &f);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	print_header(a.fmt);
	int ret = audit_query(p->audit, &f, print_row, &a.fmt);
	return ret == KMS_EOK
		   ? EXIT_SUCCESS
		   : kmsctl_fail(ret, "%s: reading the audit log", p->audit_label);
}
