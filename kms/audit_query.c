/* kmsctl audit's reads and deletes of the audit log (kms/audit_query.h). */
#include "kms/audit_query.h"

#include "common/errcode.h"
#include "sql/db.h"
#include "sql/schema.h"

const char *const audit_query_cols[AUDIT_QUERY_COLS] = {
	"time",	   "rid",	 "client", "requester", "type",	      "decision",
	"outcome", "ticket_key", "count",  "peer_kms",	"responders", "reason",
};

/* The same query on both backends but for time: a generated column in
 * SQLite, computed here in PostgreSQL (sql/pg_audit_001.sql).  The casts
 * give PostgreSQL the type of a filter left NULL, which "?N IS NULL" alone
 * does not tell it. */
#define SELECT_FROM(time)                                                                \
	"SELECT " time ", rid, client, requester, msg_type_name, "                       \
	"CASE decision WHEN 1 THEN 'granted' ELSE 'refused' END, error, ticket_key_id, " \
	"count, peer_kms, responders, reason FROM audit "                                \
	"WHERE (CAST(?1 AS BIGINT) IS NULL OR time_ms >= ?1) "                           \
	"AND (CAST(?2 AS BIGINT) IS NULL OR time_ms < ?2) "                              \
	"AND (CAST(?3 AS TEXT) IS NULL OR requester = ?3 OR "                            \
	"length(replace(',' || responders || ',', ',' || ?3 || ',', '')) < "             \
	"length(',' || responders || ',')) "                                             \
	"AND (CAST(?4 AS BIGINT) IS NULL OR decision = ?4) "                             \
	"AND (CAST(?5 AS TEXT) IS NULL OR error = ?5) "                                  \
	"AND (CAST(?6 AS TEXT) IS NULL OR rid = ?6) ORDER BY time_ms, id LIMIT ?7"

static const char select_sql[] = SELECT_FROM("time");
static const char select_sql_pg[] =
    SELECT_FROM("to_char(to_timestamp(time_ms / 1000.0) AT TIME ZONE 'UTC', "
		"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");

static int bind_opt_text(sqldb_stmt_t *st, int i, const char *v)
{
	return v != NULL ? sqldb_bind_text(st, i, v, -1) : sqldb_bind_null(st, i);
}

static int bind_filter(sqldb_stmt_t *st, const audit_filter_t *f)
{
	int rc =
	    f->has_since ? sqldb_bind_int64(st, 1, f->since_ms) : sqldb_bind_null(st, 1);
	if (rc == KMS_EOK) {
		rc = f->has_until ? sqldb_bind_int64(st, 2, f->until_ms)
				  : sqldb_bind_null(st, 2);
	}
	if (rc == KMS_EOK) {
		rc = bind_opt_text(st, 3, f->identity);
	}
	if (rc == KMS_EOK) {
		rc = f->decision >= 0 ? sqldb_bind_int(st, 4, f->decision)
				      : sqldb_bind_null(st, 4);
	}
	if (rc == KMS_EOK) {
		rc = bind_opt_text(st, 5, f->code);
	}
	if (rc == KMS_EOK) {
		rc = bind_opt_text(st, 6, f->rid);
	}
	if (rc == KMS_EOK) {
		rc = sqldb_bind_int64(st, 7, f->limit);
	}
	return rc;
}

static void row_read(sqldb_stmt_t *st, audit_row_t *row)
{
	for (int i = 0; i < AUDIT_QUERY_COLS; i++) {
		row->num[i] = sqldb_column_is_int(st, i);
		row->val[i] = (const unsigned char *)sqldb_column_text(st, i);
		row->len[i] = (size_t)sqldb_column_bytes(st, i);
		if (row->val[i] == NULL) {
			row->val[i] = (const unsigned char *)"";
			row->len[i] = 0;
		}
	}
}

int audit_query(const char *path, const audit_filter_t *f,
		void (*fn)(const audit_row_t *row, void *ctx), void *ctx)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int ret = schema_open(path, SCHEMA_AUDIT, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(
		    db, sqldb_kind(db) == SQLDB_PG ? select_sql_pg : select_sql, &st);
	}
	if (ret == KMS_EOK && bind_filter(st, f) != KMS_EOK) {
		ret = KMS_EIO;
	}
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && (rc = sqldb_step(st)) == SQLDB_ROW) {
		audit_row_t row;
		row_read(st, &row);
		fn(&row, ctx);
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}

int audit_prune(const char *path, int64_t before_ms, int64_t *deleted)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int ret = schema_open(path, SCHEMA_AUDIT, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db, "DELETE FROM audit WHERE time_ms < ?1", &st);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_bind_int64(st, 1, before_ms) == KMS_EOK ? sqldb_step_done(st)
								    : KMS_EIO;
	}
	if (ret == KMS_EOK) {
		*deleted = (int64_t)sqldb_changes(db);
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}
