/* kmsctl audit's reads and deletes of the audit log (kms/audit_query.h). */
#include "kms/audit_query.h"

#include <sqlite3.h>

#include "common/errcode.h"
#include "sql/db.h"
#include "sql/schema.h"

const char *const audit_query_cols[AUDIT_QUERY_COLS] = {
	"time",	   "rid",	 "client", "requester", "type",	      "decision",
	"outcome", "ticket_key", "count",  "peer_kms",	"responders", "reason",
};

static const char select_sql[] =
    "SELECT time, rid, client, requester, msg_type_name, "
    "CASE decision WHEN 1 THEN 'granted' ELSE 'refused' END, error, ticket_key_id, "
    "count, peer_kms, responders, reason FROM audit "
    "WHERE (?1 IS NULL OR time_ms >= ?1) AND (?2 IS NULL OR time_ms < ?2) "
    "AND (?3 IS NULL OR requester = ?3 OR "
    "instr(',' || responders || ',', ',' || ?3 || ',') > 0) "
    "AND (?4 IS NULL OR decision = ?4) AND (?5 IS NULL OR error = ?5) "
    "AND (?6 IS NULL OR rid = ?6) ORDER BY time_ms, id LIMIT ?7";

static int bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	return v != NULL ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC)
			 : sqlite3_bind_null(st, i);
}

static int bind_filter(sqlite3_stmt *st, const audit_filter_t *f)
{
	int rc = f->has_since ? sqlite3_bind_int64(st, 1, f->since_ms)
			      : sqlite3_bind_null(st, 1);
	if (rc == SQLITE_OK) {
		rc = f->has_until ? sqlite3_bind_int64(st, 2, f->until_ms)
				  : sqlite3_bind_null(st, 2);
	}
	if (rc == SQLITE_OK) {
		rc = bind_opt_text(st, 3, f->identity);
	}
	if (rc == SQLITE_OK) {
		rc = f->decision >= 0 ? sqlite3_bind_int(st, 4, f->decision)
				      : sqlite3_bind_null(st, 4);
	}
	if (rc == SQLITE_OK) {
		rc = bind_opt_text(st, 5, f->code);
	}
	if (rc == SQLITE_OK) {
		rc = bind_opt_text(st, 6, f->rid);
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_bind_int64(st, 7, f->limit);
	}
	return rc;
}

static void row_read(sqlite3_stmt *st, audit_row_t *row)
{
	for (int i = 0; i < AUDIT_QUERY_COLS; i++) {
		row->num[i] = sqlite3_column_type(st, i) == SQLITE_INTEGER;
		row->val[i] = sqlite3_column_text(st, i);
		row->len[i] = (size_t)sqlite3_column_bytes(st, i);
		if (row->val[i] == NULL) {
			row->val[i] = (const unsigned char *)"";
			row->len[i] = 0;
		}
	}
}

int audit_query(const char *path, const audit_filter_t *f,
		void (*fn)(const audit_row_t *row, void *ctx), void *ctx)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = schema_open(path, SCHEMA_AUDIT, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db, select_sql, &st);
	}
	if (ret == KMS_EOK && bind_filter(st, f) != SQLITE_OK) {
		ret = KMS_EIO;
	}
	int rc = SQLITE_DONE;
	while (ret == KMS_EOK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_row_t row;
		row_read(st, &row);
		fn(&row, ctx);
	}
	if (ret == KMS_EOK && rc != SQLITE_DONE) {
		ret = sqldb_rc(rc);
	}
	sqlite3_finalize(st);
	sqldb_close(db);
	return ret;
}

int audit_prune(const char *path, int64_t before_ms, int64_t *deleted)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ret = schema_open(path, SCHEMA_AUDIT, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db, "DELETE FROM audit WHERE time_ms < ?1", &st);
	}
	if (ret == KMS_EOK) {
		ret = sqlite3_bind_int64(st, 1, before_ms) == SQLITE_OK
			  ? sqldb_step_done(st)
			  : KMS_EIO;
	}
	if (ret == KMS_EOK) {
		*deleted = (int64_t)sqlite3_changes64(db);
	}
	sqlite3_finalize(st);
	sqldb_close(db);
	return ret;
}
