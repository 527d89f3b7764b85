/*
 * Reading and pruning the audit log (table audit of audit.db, kms/audit.h)
 * for an operator (kmsctl audit): rows by time, identity, outcome and
 * request id, oldest first; prepared statements with bound parameters only.
 * Opening the log brings its schema up to date, as kmsd would.
 */
#ifndef KMS_KMS_AUDIT_QUERY_H
#define KMS_KMS_AUDIT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_QUERY_COLS 12

/* The column names of a row, in order: time (RFC 3339 UTC, ms), rid,
 * client, requester, type, decision (granted/refused), outcome, ticket_key,
 * count, peer_kms, responders, reason. */
extern const char *const audit_query_cols[AUDIT_QUERY_COLS];

typedef struct {
	bool has_since, has_until;
	int64_t since_ms, until_ms; /* Unix ms; until is exclusive */
	const char *identity;	    /* requester, or one of the responders */
	int decision;		    /* 1 granted, 0 refused, -1 either */
	const char *code;	    /* "KMS_EPOLICY", or NULL */
	const char *rid;	    /* one request id, or NULL */
	int64_t limit;		    /* rows at most; -1 all */
} audit_filter_t;

typedef struct {
	const unsigned char *val[AUDIT_QUERY_COLS]; /* as stored (any bytes) */
	size_t len[AUDIT_QUERY_COLS];
	bool num[AUDIT_QUERY_COLS]; /* an integer column */
} audit_row_t;

/* Call fn for each matching row; KMS_EOK, or the store's failure. */
int audit_query(const char *path, const audit_filter_t *f,
		void (*fn)(const audit_row_t *row, void *ctx), void *ctx);

/* Delete the rows older than before_ms; *deleted gets how many. */
int audit_prune(const char *path, int64_t before_ms, int64_t *deleted);

#endif
