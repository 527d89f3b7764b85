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
#include "sql/db.h"
#include "sql/schema.h"

#define AUDIT_ROWS 32 /* rows per multi-row INSERT */
#define AUDIT_COLS 13

struct audit_store {
	sqlite3 *db;
	sqlite3_stmt *ins;	/* one row */
	sqlite3_stmt *ins_many; /* AUDIT_ROWS rows */
	int last_rc;		/* SQLite result of the last failure */
};

/* A failure: remembered for audit_store_error(), mapped to a KMS_E* code
 * (disk full, as SQLITE_FULL or as an I/O error with ENOSPC: KMS_ENOSPC). */
static int failed(audit_store_t *s, int rc)
{
	s->last_rc = rc;
	if ((rc & 0xff) == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC) {
		return KMS_ENOSPC;
	}
	return sqldb_rc(rc);
}

/* Run constant text without logging (the writer retries and logs once). */
static int exec_quiet(audit_store_t *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? KMS_EOK : failed(s, rc);
}

/* The columns of schema version 4: names an operator reads. */
static int bind_names(sqlite3_stmt *st, int base, const audit_rec_t *r)
{
	const char *t = r->msg_type_name != NULL ? r->msg_type_name : "";
	int rc = sqlite3_bind_text(st, base + 11, t, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(st, base + 12, r->responders,
				       (int)strnlen(r->responders, AUDIT_RESP_MAX),
				       SQLITE_STATIC);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(st, base + 13, r->peer_kms,
				       (int)strnlen(r->peer_kms, AUDIT_PEER_MAX),
				       SQLITE_STATIC);
	}
	return rc;
}

/* Bind r (count n) as the row whose first parameter is number base + 1. */
static int bind_rec(sqlite3_stmt *st, int base, const audit_rec_t *r, uint64_t n)
{
	int rc = sqlite3_bind_int64(st, base + 1, r->time_ms);
	if (rc == SQLITE_OK) {
		rc =
		    sqlite3_bind_text(st, base + 2, r->rid,
				      (int)strnlen(r->rid, AUDIT_RID_MAX), SQLITE_STATIC);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(st, base + 3, r->requester,
				       (int)strnlen(r->requester, AUDIT_ID_MAX),
				       SQLITE_STATIC);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_int(st, base + 4, r->msg_type);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_int(st, base + 5, r->decision ? 1 : 0);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(st, base + 6, kms_err_name(r->error), -1,
				       SQLITE_STATIC);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_int64(st, base + 7, r->ticket_key_id);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(st, base + 8, r->reason != NULL ? r->reason : "",
				       -1, SQLITE_STATIC);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_text(st, base + 9, r->client,
				       (int)strnlen(r->client, AUDIT_ADDR_MAX),
				       SQLITE_STATIC);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_int64(st, base + 10, (sqlite3_int64)n);
	}
	return rc == SQLITE_OK ? bind_names(st, base, r) : rc;
}

/* Insert rows records from recs with st (a statement for that many). */
static int insert_rows(audit_store_t *s, sqlite3_stmt *st, const audit_rec_t *const *recs,
		       const uint64_t *counts, size_t rows)
{
	sqlite3_reset(st);
	int rc = SQLITE_OK;
	for (size_t k = 0; k < rows && rc == SQLITE_OK; k++) {
		rc = bind_rec(st, (int)(k * AUDIT_COLS), recs[k],
			      counts != NULL ? counts[k] : 1);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
	}
	return rc == SQLITE_DONE ? KMS_EOK : failed(s, rc);
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
	sqlite3_reset(s->ins);
	sqlite3_clear_bindings(s->ins);
	sqlite3_reset(s->ins_many);
	sqlite3_clear_bindings(s->ins_many);
	return ret;
}

int audit_store_begin(audit_store_t *s)
{
	return exec_quiet(s, "BEGIN IMMEDIATE");
}

int audit_store_commit(audit_store_t *s)
{
	int ret = exec_quiet(s, "COMMIT");
	if (ret != KMS_EOK) {
		audit_store_rollback(s);
	}
	return ret;
}

void audit_store_rollback(audit_store_t *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
}

const char *audit_store_error(const audit_store_t *s)
{
	return sqlite3_errstr(s->last_rc);
}

int audit_store_max_size(audit_store_t *s, uint64_t bytes)
{
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
	return exec_quiet(s, sql);
}

/* INSERT of rows rows: VALUES (?,?,...), ... (parameters in order). */
static int prepare_insert(sqlite3 *db, size_t rows, sqlite3_stmt **st)
{
	static const char head[] =
	    "INSERT INTO audit (time_ms, rid, requester, msg_type, decision, error, "
	    "ticket_key_id, reason, client, count, msg_type_name, responders, "
	    "peer_kms) VALUES ";
	static const char row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?)";
	char sql[sizeof(head) + AUDIT_ROWS * sizeof(row)];
	size_t len = strlen(head);
	memcpy(sql, head, len);
	for (size_t k = 0; k < rows && k < AUDIT_ROWS; k++) {
		if (k > 0) {
			sql[len++] = ',';
		}
		memcpy(sql + len, row, sizeof(row) - 1);
		len += sizeof(row) - 1;
	}
	sql[len] = '\0';
	return sqldb_prepare(db, sql, st);
}

int audit_store_open(const char *path, bool durable, audit_store_t **out)
{
	audit_store_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return KMS_ENOMEM;
	}
	int ret = schema_open(path, SCHEMA_AUDIT, 1, &s->db);
	/* WAL with synchronous=NORMAL: a process crash loses no committed
	 * batch (only the queue in memory); a power loss can lose the last
	 * commits.  FULL (durable) syncs the WAL at every commit. */
	if (ret == KMS_EOK) {
		ret = sqldb_exec(s->db, durable ? "PRAGMA synchronous=FULL;"
						: "PRAGMA synchronous=NORMAL;");
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

void audit_store_close(audit_store_t *s)
{
	if (s == NULL) {
		return;
	}
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->ins_many);
	sqldb_close(s->db);
	free(s);
}
