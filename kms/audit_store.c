/*
 * The audit store: rows go AUDIT_ROWS to a multi-row INSERT (measured:
 * 1.42 us of CPU a row one per statement in batches of 256, 0.85 us 32 per
 * statement in batches of 1024; the writer shares the CPUs with the request
 * threads), the rest one by one, all in one transaction per batch.
 */
#include "kms/audit_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "sql/db.h"
#include "sql/schema.h"

#define AUDIT_ROWS 32 /* rows per multi-row INSERT */
#define AUDIT_COLS 13

struct audit_store {
	sqldb_t *db;
	sqldb_stmt_t *ins;	       /* one row */
	sqldb_stmt_t *ins_many;	       /* AUDIT_ROWS rows */
	char node[AUDIT_NODE_MAX + 1]; /* the node column of every row */
};

/* A failure (a KMS_E* code: a full disk is KMS_ENOSPC); the connection is
 * quiet, so its text waits for audit_store_error(). */
static int failed(audit_store_t *s, int rc)
{
	(void)s;
	return rc < 0 ? rc : KMS_EIO;
}

/* The columns of schema version 4: names an operator reads. */
static int bind_names(sqldb_stmt_t *st, int base, const audit_rec_t *r)
{
	const char *t = r->msg_type_name != NULL ? r->msg_type_name : "";
	int rc = sqldb_bind_text(st, base + 11, t, -1);
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, base + 12, r->responders,
				     (int)strnlen(r->responders, AUDIT_RESP_MAX));
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, base + 13, r->peer_kms,
				     (int)strnlen(r->peer_kms, AUDIT_PEER_MAX));
	}
	return rc;
}

/* Bind r (count n) as the row whose first parameter is number base + 1. */
static int bind_rec(sqldb_stmt_t *st, int base, const audit_rec_t *r, uint64_t n)
{
	int rc = sqldb_bind_int64(st, base + 1, r->time_ms);
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, base + 2, r->rid,
				     (int)strnlen(r->rid, AUDIT_RID_MAX));
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, base + 3, r->requester,
				     (int)strnlen(r->requester, AUDIT_ID_MAX));
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_int(st, base + 4, r->msg_type);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_int(st, base + 5, r->decision ? 1 : 0);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, base + 6, kms_err_name(r->error), -1);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_int64(st, base + 7, r->ticket_key_id);
	}
	if (rc == KMS_EOK) {
		rc =
		    sqldb_bind_text(st, base + 8, r->reason != NULL ? r->reason : "", -1);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, base + 9, r->client,
				     (int)strnlen(r->client, AUDIT_ADDR_MAX));
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_int64(st, base + 10, (int64_t)n);
	}
	return rc == KMS_EOK ? bind_names(st, base, r) : rc;
}

/* Insert rows records from recs with st (a statement for that many). */
static int insert_rows(audit_store_t *s, sqldb_stmt_t *st, const audit_rec_t *const *recs,
		       const uint64_t *counts, size_t rows)
{
	sqldb_reset(st);
	int rc = KMS_EOK;
	for (size_t k = 0; k < rows && rc == KMS_EOK; k++) {
		rc = bind_rec(st, (int)(k * AUDIT_COLS), recs[k],
			      counts != NULL ? counts[k] : 1);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_text(st, (int)(rows * AUDIT_COLS) + 1, s->node, -1);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_step(st);
	}
	return rc == SQLDB_DONE ? KMS_EOK : failed(s, rc);
}

int audit_store_insert(audit_store_t *s, const audit_rec_t *const *recs,
		       const uint64_t *counts, size_t n)
{
	int ret = KMS_EOK;
	size_t i = 0;
	for (; i + AUDIT_ROWS <= n && ret == KMS_EOK; i += AUDIT_ROWS) {
		ret = insert_rows(s, s->ins_many, &recs[i],
				  counts != NULL ? &counts[i] : NULL, AUDIT_ROWS);
	}
	for (; i < n && ret == KMS_EOK; i++) {
		ret = insert_rows(s, s->ins, &recs[i], counts != NULL ? &counts[i] : NULL,
				  1);
	}
	/* Bindings point into the caller's records: drop them now. */
	sqldb_reset(s->ins);
	sqldb_clear_bindings(s->ins);
	sqldb_reset(s->ins_many);
	sqldb_clear_bindings(s->ins_many);
	return ret;
}

int audit_store_begin(audit_store_t *s)
{
	return sqldb_begin(s->db);
}

int audit_store_commit(audit_store_t *s)
{
	int ret = sqldb_commit(s->db);
	if (ret != KMS_EOK) {
		audit_store_rollback(s);
	}
	return ret;
}

void audit_store_rollback(audit_store_t *s)
{
	sqldb_rollback(s->db);
}

const char *audit_store_error(const audit_store_t *s)
{
	return sqldb_errmsg(s->db);
}

int audit_store_max_size(audit_store_t *s, uint64_t bytes)
{
	if (sqldb_kind(s->db) == SQLDB_PG) {
		/* The database's size is the PostgreSQL administrator's. */
		log_warning("audit: audit.max_size applies to a SQLite store only");
		return KMS_EOK;
	}
	int64_t page = 0;
	int ret = sqldb_query_int64(s->db, "PRAGMA page_size", &page);
	if (ret != KMS_EOK || page <= 0) {
		return ret != KMS_EOK ? ret : KMS_EIO;
	}
	/* PRAGMA takes no bound parameters; the text is a number we made.
	 * A cap below the current size leaves the store at its size. */
	uint64_t pages = bytes > 0 ? bytes / (uint64_t)page : 0xfffffffeu;
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRIu64,
		 pages > 0 ? pages : 1);
	return sqldb_exec(s->db, sql);
}

/* INSERT of rows rows: VALUES (?,?,...), ... (parameters in order). */
static int prepare_insert(sqldb_t *db, size_t rows, sqldb_stmt_t **st)
{
	static const char head[] =
	    "INSERT INTO audit (time_ms, rid, requester, msg_type, decision, error, "
	    "ticket_key_id, reason, client, count, msg_type_name, responders, "
	    "peer_kms, node) VALUES ";
	/* Numbered parameters, ?N (sql/db.h); node is one more, shared. */
	char sql[sizeof(head) + AUDIT_ROWS * AUDIT_COLS * 6 + 16];
	size_t len = strlen(head);
	memcpy(sql, head, len);
	int node = (int)(rows * AUDIT_COLS) + 1;
	for (size_t k = 0; k < rows && k < AUDIT_ROWS; k++) {
		for (int c = 1; c <= AUDIT_COLS; c++) {
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%d",
						c == 1 ? (k > 0 ? ",(" : "(") : ",",
						(int)k * AUDIT_COLS + c);
		}
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, ",?%d)", node);
	}
	return sqldb_prepare(db, sql, st);
}

int audit_store_open(const char *path, bool durable, audit_store_t **out)
{
	audit_store_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return KMS_ENOMEM;
	}
	int ret = schema_open(path, SCHEMA_AUDIT, 1, &s->db);
	/* SQLite: WAL with synchronous=NORMAL: a process crash loses no
	 * committed batch (only the queue in memory); a power loss can lose
	 * the last commits.  FULL (durable) syncs the WAL at every commit.
	 * PostgreSQL: synchronous_commit off is the same trade (a server
	 * crash can lose the last commits, never corrupt). */
	if (ret == KMS_EOK) {
		sqldb_set_quiet(s->db, true);
		bool pg = sqldb_kind(s->db) == SQLDB_PG;
		ret = sqldb_exec(s->db, pg ? (durable ? "SET synchronous_commit = on"
						      : "SET synchronous_commit = off")
					   : (durable ? "PRAGMA synchronous=FULL;"
						      : "PRAGMA synchronous=NORMAL;"));
	}
	if (ret == KMS_EOK) {
		ret = prepare_insert(s->db, 1, &s->ins);
	}
	if (ret == KMS_EOK) {
		ret = prepare_insert(s->db, AUDIT_ROWS, &s->ins_many);
	}
	if (ret != KMS_EOK) {
		audit_store_close(s);
		return ret;
	}
	*out = s;
	return KMS_EOK;
}

void audit_store_set_node(audit_store_t *s, const char *node)
{
	snprintf(s->node, sizeof(s->node), "%s", node != NULL ? node : "");
}

void audit_store_close(audit_store_t *s)
{
	if (s == NULL) {
		return;
	}
	sqldb_finalize(s->ins);
	sqldb_finalize(s->ins_many);
	sqldb_close(s->db);
	free(s);
}
