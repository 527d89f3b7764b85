/*
 * The store database layer on either backend (tests/unit/store.h):
 * migrations by number, store identity, statements; SQLite's open
 * settings; PostgreSQL's parameter translation, bytea, reconnection,
 * writers' lock and visibility between connections.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/errcode.h"
#include "kms/keyring.h"
#include "sql/db.h"
#include "sql/schema.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];

static void setup(void)
{
	unit_tmpdir(dir);
	unit_store(db_path, sizeof(db_path), dir, "test.db");
}

static int pragma_int(sqldb_t *db, const char *sql)
{
	sqldb_stmt_t *st = NULL;
	int v = -1;
	if (sqldb_prepare(db, sql, &st) == KMS_EOK && sqldb_step(st) == SQLDB_ROW) {
		v = sqldb_column_int(st, 0);
	}
	sqldb_finalize(st);
	return v;
}

/* How many of the tables named in names (a constant list of quoted names)
 * the store holds, in either backend's catalog. */
static int tables(sqldb_t *db, const char *names)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 sqldb_kind(db) == SQLDB_PG
		     ? "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = "
		       "current_schema() AND tablename IN (%s)"
		     : "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
		       "name IN (%s)",
		 names);
	return pragma_int(db, sql);
}

static void given_no_file_when_open_with_create_then_0600_wal_and_foreign_keys(void)
{
	UNIT_SQLITE_ONLY("file mode, WAL and PRAGMAs");
	setup();
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	struct stat sb;
	CU_ASSERT_EQUAL(stat(db_path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	sqldb_stmt_t *st = NULL;
	CU_ASSERT_EQUAL(sqldb_prepare(db, "PRAGMA journal_mode", &st), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_step(st), SQLDB_ROW);
	CU_ASSERT_STRING_EQUAL((const char *)sqldb_column_text(st, 0), "wal");
	sqldb_finalize(st);
	CU_ASSERT_EQUAL(pragma_int(db, "PRAGMA foreign_keys"), 1);
	CU_ASSERT_EQUAL(pragma_int(db, "PRAGMA busy_timeout"), SQLDB_BUSY_MS);
	CU_ASSERT_EQUAL(pragma_int(db, "PRAGMA secure_delete"), 1);
	sqldb_close(db);
	unit_rmdir(dir);
}

static void given_no_file_when_open_without_create_then_enoent(void)
{
	UNIT_SQLITE_ONLY("a missing file");
	setup();
	sqldb_t *db = (sqldb_t *)0x1;
	CU_ASSERT_EQUAL(sqldb_open(db_path, 0, &db), KMS_ENOENT);
	CU_ASSERT_PTR_EQUAL(db, (sqldb_t *)0x1); /* untouched on failure */
	CU_ASSERT_EQUAL(sqldb_open(NULL, 1, &db), KMS_EINVAL);
	CU_ASSERT_EQUAL(sqldb_open("", 1, &db), KMS_EINVAL);
	unit_rmdir(dir);
}

static void given_new_store_when_schema_open_twice_then_latest_version_once(void)
{
	setup();
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_KMS, 1, &db), KMS_EOK);
	int v = -1;
	CU_ASSERT_EQUAL(sqldb_version(db, "kms", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, sqldb_kind(db) == SQLDB_PG ? schema_latest_pg(SCHEMA_KMS)
						      : schema_latest(SCHEMA_KMS));
	CU_ASSERT(v >= 1);
	sqldb_close(db);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_KMS, 0, &db), KMS_EOK);
	CU_ASSERT_EQUAL(pragma_int(db, "SELECT count(*) FROM schema_version"), 1);
	CU_ASSERT_EQUAL(tables(db, "'master_keys', 'psk_users', 'psk_identities'"), 3);
	sqldb_close(db);
	CU_ASSERT_STRING_EQUAL(schema_name(SCHEMA_AUDIT), "audit");
	CU_ASSERT_PTR_NULL(schema_name((schema_store_t)9));
	CU_ASSERT_EQUAL(schema_latest((schema_store_t)9), 0);
	unit_rmdir(dir);
}

static void given_audit_store_when_opened_as_kms_store_then_econfig(void)
{
	UNIT_SQLITE_ONLY("one store per file; PostgreSQL stores share a database");
	setup();
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_AUDIT, 1, &db), KMS_EOK);
	sqldb_close(db);
	db = NULL;
	CU_ASSERT_EQUAL(schema_open(db_path, SCHEMA_KMS, 0, &db), KMS_ECONFIG);
	CU_ASSERT_PTR_NULL(db);
	unit_rmdir(dir);
}

static void given_newer_store_version_when_opened_then_econfig(void)
{
	setup();
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_KMS, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(db, "UPDATE schema_version SET version = 99"),
			KMS_EOK);
	sqldb_close(db);
	db = NULL;
	CU_ASSERT_EQUAL(schema_open(db_path, SCHEMA_KMS, 0, &db), KMS_ECONFIG);
	unit_rmdir(dir);
}

static void given_failing_second_migration_when_migrate_then_all_rolled_back(void)
{
	setup();
	static const sqldb_migration_t m[] = {
		{ 1, "CREATE TABLE a (x INTEGER);" },
		{ 2, "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;" },
	};
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(sqldb_migrate(db, "t", m, 2), KMS_EOK);
	int v = -1;
	CU_ASSERT_EQUAL(sqldb_version(db, "t", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(tables(db, "'a'"), 0);
	/* The first migration alone applies; then the fixed second one. */
	CU_ASSERT_EQUAL(sqldb_migrate(db, "t", m, 1), KMS_EOK);
	static const sqldb_migration_t fixed[] = {
		{ 1, "CREATE TABLE a (x INTEGER);" },
		{ 2, "CREATE TABLE b (y INTEGER);" },
	};
	CU_ASSERT_EQUAL(sqldb_migrate(db, "t", fixed, 2), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_version(db, "t", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, 2);
	sqldb_close(db);
	unit_rmdir(dir);
}

static void given_bad_migration_list_when_migrate_then_einval(void)
{
	setup();
	static const sqldb_migration_t gap[] = {
		{ 1, "CREATE TABLE a (x INTEGER);" },
		{ 3, "CREATE TABLE b (y INTEGER);" },
	};
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_migrate(db, "t", gap, 2), KMS_EINVAL);
	CU_ASSERT_EQUAL(sqldb_migrate(db, "t", gap, 0), KMS_EINVAL);
	CU_ASSERT_EQUAL(sqldb_migrate(db, "", gap, 1), KMS_EINVAL);
	sqldb_close(db);
	unit_rmdir(dir);
}

static void given_two_statements_when_prepare_then_refused(void)
{
	setup();
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	if (sqldb_kind(db) == SQLDB_PG) {
		/* Statements reach the server at their first step. */
		CU_ASSERT_EQUAL_FATAL(sqldb_prepare(db, "SELECT 1; SELECT 2", &st),
				      KMS_EOK);
		CU_ASSERT_EQUAL(sqldb_step(st), KMS_EIO);
		sqldb_finalize(st);
		CU_ASSERT_EQUAL_FATAL(sqldb_prepare(db, "SELEKT 1", &st), KMS_EOK);
		CU_ASSERT_EQUAL(sqldb_step(st), KMS_EIO);
		sqldb_finalize(st);
	} else {
		CU_ASSERT_EQUAL(sqldb_prepare(db, "SELECT 1; SELECT 2", &st),
				KMS_EINTERNAL);
		CU_ASSERT_PTR_NULL(st);
		CU_ASSERT_EQUAL(sqldb_prepare(db, "SELEKT 1", &st), KMS_EIO);
		CU_ASSERT_PTR_NULL(st);
	}
	sqldb_close(db);
	sqldb_close(NULL);
	unit_rmdir(dir);
}

static void given_query_when_int64_read_then_value_or_clear_error(void)
{
	setup();
	sqldb_t *db = NULL;
	int64_t v = -1;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(db, "CREATE TABLE t (x BIGINT);"
					     "INSERT INTO t VALUES (5000000000), (7);"),
			      KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_query_int64(db, "SELECT count(*) FROM t", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(sqldb_query_int64(db, "SELECT max(x) FROM t", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, 5000000000LL);
	v = -1;
	CU_ASSERT_EQUAL(sqldb_query_int64(db, "SELECT x FROM t WHERE x = 3", &v),
			KMS_EIO);
	CU_ASSERT_EQUAL(v, -1); /* untouched without a row */
	CU_ASSERT_NOT_EQUAL(sqldb_query_int64(db, "SELECT y FROM t", &v), KMS_EOK);
	sqldb_close(db);
	unit_rmdir(dir);
}

static void given_step_results_when_mapped_then_kms_codes(void)
{
	CU_ASSERT_EQUAL(sqldb_rc(SQLDB_ROW), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_rc(SQLDB_DONE), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_rc(KMS_EEXIST), KMS_EEXIST);
	CU_ASSERT_EQUAL(sqldb_rc(KMS_EUNAVAIL), KMS_EUNAVAIL);
}

/* --- statements on either backend ------------------------------------------ */

/* The text of column 0 of the one row of sql with ?1 = a, ?2 = b (NULL:
 * leave unbound), into out ("" when no row). */
static int text_of(sqldb_t *db, const char *sql, const char *a, const char *b, char *out,
		   size_t cap)
{
	sqldb_stmt_t *st = NULL;
	out[0] = '\0';
	int ret = sqldb_prepare(db, sql, &st);
	if (ret == KMS_EOK && a != NULL) {
		ret = sqldb_bind_text(st, 1, a, -1);
	}
	if (ret == KMS_EOK && b != NULL) {
		ret = sqldb_bind_text(st, 2, b, -1);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step(st);
	}
	if (ret == SQLDB_ROW) {
		const char *t = sqldb_column_text(st, 0);
		snprintf(out, cap, "%s", t != NULL ? t : "(null)");
		ret = KMS_EOK;
	}
	sqldb_finalize(st);
	return ret;
}

/* PostgreSQL gets $N for ?N; a bare ? is one more than the largest number
 * so far (SQLite's rule); a ? inside a quoted literal or identifier is
 * text. */
static void given_numbered_and_bare_parameters_when_run_then_same_values(void)
{
	setup();
	sqldb_t *db = NULL;
	char out[64];
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL(text_of(db, "SELECT CAST(?1 AS TEXT) || '-' || CAST(?1 AS TEXT)",
				"ab", NULL, out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "ab-ab");
	CU_ASSERT_EQUAL(text_of(db, "SELECT CAST(? AS TEXT) || CAST(? AS TEXT)", "x", "y",
				out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "xy");
	CU_ASSERT_EQUAL(text_of(db, "SELECT 'it''s ?1 and ?' || CAST(?1 AS TEXT)", "!",
				NULL, out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "it's ?1 and ?!");
	CU_ASSERT_EQUAL(
	    text_of(db, "SELECT \"q?\" FROM (SELECT CAST(?1 AS TEXT) AS \"q?\") AS s",
		    NULL, NULL, out, sizeof(out)),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "(null)");
	/* ?2 then a bare ?: that one is ?3, as the second ?3 shows. */
	sqldb_stmt_t *st = NULL;
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(
		db,
		"SELECT CAST(?2 AS TEXT) || CAST(? AS TEXT) || CAST(?1 AS TEXT), "
		"CAST(?3 AS BIGINT), '?'",
		&st),
	    KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_text(st, 1, "a", -1), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_text(st, 2, "b", -1), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_int64(st, 3, -5000000000LL), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(sqldb_bind_int(st, 4, 1), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_step(st), SQLDB_ROW);
	CU_ASSERT_STRING_EQUAL(sqldb_column_text(st, 0), "b-5000000000a");
	CU_ASSERT_EQUAL(sqldb_column_int64(st, 1), -5000000000LL);
	CU_ASSERT_STRING_EQUAL(sqldb_column_text(st, 2), "?");
	sqldb_finalize(st);
	/* A literal ? is no parameter. */
	CU_ASSERT_EQUAL_FATAL(sqldb_prepare(db, "SELECT '?1'", &st), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(sqldb_bind_text(st, 1, "x", -1), KMS_EOK);
	sqldb_finalize(st);
	sqldb_close(db);
	unit_rmdir(dir);
}

static const char *blob_table(sqldb_t *db)
{
	return sqldb_kind(db) == SQLDB_PG ? "CREATE TABLE t (i BIGINT, s TEXT, b BYTEA)"
					  : "CREATE TABLE t (i BIGINT, s TEXT, b BLOB)";
}

static void given_all_256_byte_values_when_stored_then_read_back_same(void)
{
	setup();
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	unsigned char all[512];
	for (size_t i = 0; i < sizeof(all); i++) {
		all[i] = (unsigned char)(i < 256 ? i : 511 - i);
	}
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(db, blob_table(db)), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(db, "INSERT INTO t (i, b) VALUES (?1, ?2)", &st), KMS_EOK);
	const int lens[3] = { (int)sizeof(all), 1, 0 };
	for (int k = 0; k < 3; k++) {
		sqldb_reset(st);
		CU_ASSERT_EQUAL(sqldb_bind_int(st, 1, k), KMS_EOK);
		CU_ASSERT_EQUAL(sqldb_bind_blob(st, 2, all, lens[k]), KMS_EOK);
		CU_ASSERT_EQUAL(sqldb_step_done(st), KMS_EOK);
	}
	sqldb_finalize(st);
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(db, "SELECT b, i FROM t WHERE b = ?1 OR i > 0 ORDER BY i", &st),
	    KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_blob(st, 1, all, (int)sizeof(all)), KMS_EOK);
	for (int k = 0; k < 3; k++) {
		CU_ASSERT_EQUAL_FATAL(sqldb_step(st), SQLDB_ROW);
		CU_ASSERT_EQUAL(sqldb_column_int(st, 1), k);
		CU_ASSERT_EQUAL_FATAL(sqldb_column_bytes(st, 0), lens[k]);
		const void *b = sqldb_column_blob(st, 0);
		CU_ASSERT(lens[k] == 0 ||
			  (b != NULL && memcmp(b, all, (size_t)lens[k]) == 0));
		CU_ASSERT_FALSE(sqldb_column_is_int(st, 0));
	}
	CU_ASSERT_EQUAL(sqldb_step(st), SQLDB_DONE);
	sqldb_finalize(st);
	sqldb_close(db);
	unit_rmdir(dir);
}

static void given_null_int_and_text_when_read_then_typed_as_stored(void)
{
	setup();
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(db, blob_table(db)), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(db, "INSERT INTO t (i, s, b) VALUES (?1, ?2, ?3)", &st),
	    KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_int64(st, 1, INT64_MIN + 1), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_text(st, 2, "abcdef", 3), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_null(st, 3), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_step_done(st), KMS_EOK);
	sqldb_reset(st);
	sqldb_clear_bindings(st); /* all three NULL now */
	CU_ASSERT_EQUAL(sqldb_step_done(st), KMS_EOK);
	sqldb_finalize(st);
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(db, "SELECT i, s, b FROM t ORDER BY i IS NULL, i", &st),
	    KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_step(st), SQLDB_ROW);
	CU_ASSERT_EQUAL(sqldb_column_count(st), 3); /* PostgreSQL: known once run */
	CU_ASSERT_EQUAL(sqldb_column_int64(st, 0), INT64_MIN + 1);
	CU_ASSERT(sqldb_column_is_int(st, 0));
	CU_ASSERT_STRING_EQUAL(sqldb_column_text(st, 1), "abc");
	CU_ASSERT_FALSE(sqldb_column_is_int(st, 1));
	CU_ASSERT_FALSE(sqldb_column_is_null(st, 1));
	CU_ASSERT(sqldb_column_is_null(st, 2));
	CU_ASSERT_EQUAL(sqldb_column_bytes(st, 2), 0);
	CU_ASSERT_EQUAL_FATAL(sqldb_step(st), SQLDB_ROW); /* the NULL row last */
	for (int c = 0; c < 3; c++) {
		CU_ASSERT(sqldb_column_is_null(st, c));
		CU_ASSERT_FALSE(sqldb_column_is_int(st, c));
	}
	CU_ASSERT_EQUAL(sqldb_column_int64(st, 0), 0);
	CU_ASSERT_PTR_NULL(sqldb_column_text(st, 1));
	CU_ASSERT_EQUAL(sqldb_step(st), SQLDB_DONE);
	sqldb_finalize(st);
	sqldb_close(db);
	unit_rmdir(dir);
}

static void given_writes_when_changes_read_then_rows_of_last_write_only(void)
{
	setup();
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int64_t n = -1;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(db, blob_table(db)), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_prepare(db, "INSERT INTO t (i) VALUES (?1)", &st),
			      KMS_EOK);
	for (int i = 1; i <= 3; i++) {
		sqldb_reset(st);
		CU_ASSERT_EQUAL(sqldb_bind_int(st, 1, i), KMS_EOK);
		CU_ASSERT_EQUAL(sqldb_step_done(st), KMS_EOK);
		CU_ASSERT_EQUAL(sqldb_changes(db), 1);
	}
	sqldb_finalize(st);
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(db, "UPDATE t SET s = 'x' WHERE i >= ?1", &st), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_int(st, 1, 2), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_step_done(st), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_changes(db), 2);
	sqldb_finalize(st);
	/* A query is no write: the count stays the last write's. */
	CU_ASSERT_EQUAL(sqldb_query_int64(db, "SELECT count(*) FROM t", &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(sqldb_changes(db), 2);
	CU_ASSERT_EQUAL_FATAL(sqldb_prepare(db, "DELETE FROM t WHERE i > ?1", &st),
			      KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_int(st, 1, 99), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_step_done(st), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_changes(db), 0);
	sqldb_finalize(st);
	sqldb_close(db);
	unit_rmdir(dir);
}

/* --- PostgreSQL: several connections ----------------------------------------- */

static int64_t int_of(sqldb_t *db, const char *sql)
{
	int64_t v = -1;
	return sqldb_query_int64(db, sql, &v) == KMS_EOK ? v : -1;
}

/* kmsd on one node reloads what kmsctl on another committed. */
static void given_second_connection_when_key_rotated_then_sees_it_after_commit(void)
{
	UNIT_PG_ONLY();
	setup();
	uint8_t kek[KEYRING_KEK_LEN];
	memset(kek, 0x5a, sizeof(kek));
	sqldb_t *a = NULL, *b = NULL;
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_KMS, 1, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_KMS, 0, &b), KMS_EOK);
	CU_ASSERT_EQUAL(int_of(b, "SELECT count(*) FROM master_keys"), 0);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	const char *count = "SELECT count(*) FROM master_keys";
	CU_ASSERT_EQUAL(int_of(b, count), 1);
	/* A snapshot taken before the next rotation keeps its view. */
	CU_ASSERT_EQUAL_FATAL(sqldb_begin_read(b), KMS_EOK);
	CU_ASSERT_EQUAL(int_of(b, count), 1);
	CU_ASSERT_EQUAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	CU_ASSERT_EQUAL(int_of(b, count), 1);
	CU_ASSERT_EQUAL(sqldb_commit(b), KMS_EOK);
	CU_ASSERT_EQUAL(int_of(b, count), 2);
	keyring_t *kr = NULL;
	uint32_t id = 0;
	const uint8_t *key = NULL;
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_active(kr, &id, &key), KMS_EOK);
	CU_ASSERT_EQUAL(id, 2);
	keyring_free(kr);
	sqldb_close(a);
	sqldb_close(b);
	unit_rmdir(dir);
}

typedef struct {
	sqldb_t *db;
	atomic_int begun; /* sqldb_begin returned */
	int ret;
} writer_t;

static void *second_writer(void *arg)
{
	writer_t *w = arg;
	w->ret = sqldb_begin(w->db);
	atomic_store(&w->begun, 1);
	return NULL;
}

/* Wait (bounded) until n sessions wait for an advisory lock. */
static bool lock_waiters(sqldb_t *db, int64_t n)
{
	for (int i = 0; i < 1000; i++) {
		if (int_of(db, "SELECT count(*) FROM pg_catalog.pg_locks WHERE "
			       "locktype = 'advisory' AND NOT granted") == n) {
			return true;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Writers on several nodes run one after the other, as SQLite's BEGIN
 * IMMEDIATE makes them on one host. */
static void given_two_serialised_writers_when_both_begin_then_second_waits(void)
{
	UNIT_PG_ONLY();
	setup();
	sqldb_t *a = NULL, *b = NULL, *watch = NULL, *free_writer = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &a), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &b), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &watch), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &free_writer), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(a, "CREATE TABLE t (i BIGINT)"), KMS_EOK);
	sqldb_serialize_writers(a, 4242);
	sqldb_serialize_writers(b, 4242);
	CU_ASSERT_EQUAL_FATAL(sqldb_begin(a), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(a, "INSERT INTO t VALUES (1)"), KMS_EOK);
	/* A connection without the key is not held up. */
	CU_ASSERT_EQUAL(sqldb_begin(free_writer), KMS_EOK);
	CU_ASSERT_EQUAL(int_of(free_writer, "SELECT count(*) FROM t"), 0);
	CU_ASSERT_EQUAL(sqldb_commit(free_writer), KMS_EOK);
	writer_t w = { .db = b, .ret = -1 };
	atomic_init(&w.begun, 0);
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, second_writer, &w), 0);
	CU_ASSERT(lock_waiters(watch, 1));
	CU_ASSERT_EQUAL(atomic_load(&w.begun), 0);
	CU_ASSERT_EQUAL(sqldb_commit(a), KMS_EOK);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(w.ret, KMS_EOK);
	CU_ASSERT_EQUAL(int_of(b, "SELECT count(*) FROM t"), 1);
	CU_ASSERT_EQUAL(sqldb_commit(b), KMS_EOK);
	CU_ASSERT(lock_waiters(watch, 0));
	sqldb_close(a);
	sqldb_close(b);
	sqldb_close(watch);
	sqldb_close(free_writer);
	unit_rmdir(dir);
}

/* Terminate the server process of db from other (waiting until it is
 * gone); returns the pid it had. */
static int64_t kill_backend(sqldb_t *db, sqldb_t *other)
{
	int64_t pid = int_of(db, "SELECT pg_backend_pid()");
	sqldb_stmt_t *st = NULL;
	CU_ASSERT_EQUAL_FATAL(
	    sqldb_prepare(other, "SELECT pg_terminate_backend(CAST(?1 AS INT), 10000)",
			  &st),
	    KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_int64(st, 1, pid), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_step(st), SQLDB_ROW);
	CU_ASSERT_EQUAL(sqldb_column_int(st, 0), 1);
	sqldb_finalize(st);
	return pid;
}

static void given_killed_connection_when_next_statement_then_reconnected_once(void)
{
	UNIT_PG_ONLY();
	setup();
	sqldb_t *db = NULL, *other = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &db), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &other), KMS_EOK);
	sqldb_set_quiet(db, true);
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(db, "CREATE TABLE t (i BIGINT)"), KMS_EOK);
	/* Outside a transaction: the statement runs on a new connection (its
	 * cached prepared statement went with the old one). */
	int64_t pid = kill_backend(db, other);
	CU_ASSERT_EQUAL(int_of(db, "SELECT count(*) FROM t"), 0);
	int64_t pid2 = int_of(db, "SELECT pg_backend_pid()");
	CU_ASSERT(pid2 > 0 && pid2 != pid);
	CU_ASSERT_EQUAL(int_of(db, "SELECT count(*) FROM t"), 0);
	/* Also for the first statement of a transaction. */
	kill_backend(db, other);
	CU_ASSERT_EQUAL(sqldb_begin(db), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(db, "INSERT INTO t VALUES (1)"), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_commit(db), KMS_EOK);
	/* Inside one, what was done is lost: unavailable, no silent retry. */
	CU_ASSERT_EQUAL_FATAL(sqldb_begin(db), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(db, "INSERT INTO t VALUES (2)"), KMS_EOK);
	kill_backend(db, other);
	sqldb_stmt_t *st = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_prepare(db, "INSERT INTO t VALUES (?1)", &st),
			      KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_int(st, 1, 3), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_step(st), KMS_EUNAVAIL);
	sqldb_finalize(st);
	CU_ASSERT_EQUAL(sqldb_exec(db, "INSERT INTO t VALUES (4)"), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(sqldb_commit(db), KMS_EUNAVAIL);
	sqldb_rollback(db);
	CU_ASSERT_STRING_NOT_EQUAL(sqldb_errmsg(db), "");
	/* The next statement after the rollback is served again. */
	CU_ASSERT_EQUAL(int_of(db, "SELECT count(*) FROM t"), 1);
	CU_ASSERT_EQUAL(int_of(other, "SELECT count(*) FROM t"), 1);
	sqldb_close(db);
	sqldb_close(other);
	unit_rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_no_file_when_open_with_create_then_0600_wal_and_foreign_keys),
		UNIT_TEST(given_no_file_when_open_without_create_then_enoent),
		UNIT_TEST(
		    given_new_store_when_schema_open_twice_then_latest_version_once),
		UNIT_TEST(given_audit_store_when_opened_as_kms_store_then_econfig),
		UNIT_TEST(given_newer_store_version_when_opened_then_econfig),
		UNIT_TEST(
		    given_failing_second_migration_when_migrate_then_all_rolled_back),
		UNIT_TEST(given_bad_migration_list_when_migrate_then_einval),
		UNIT_TEST(given_two_statements_when_prepare_then_refused),
		UNIT_TEST(given_query_when_int64_read_then_value_or_clear_error),
		UNIT_TEST(given_step_results_when_mapped_then_kms_codes),
		UNIT_TEST(given_numbered_and_bare_parameters_when_run_then_same_values),
		UNIT_TEST(given_all_256_byte_values_when_stored_then_read_back_same),
		UNIT_TEST(given_null_int_and_text_when_read_then_typed_as_stored),
		UNIT_TEST(given_writes_when_changes_read_then_rows_of_last_write_only),
		UNIT_TEST(
		    given_second_connection_when_key_rotated_then_sees_it_after_commit),
		UNIT_TEST(given_two_serialised_writers_when_both_begin_then_second_waits),
		UNIT_TEST(
		    given_killed_connection_when_next_statement_then_reconnected_once),
		UNIT_END,
	};
	return unit_run("sqldb", tests);
}
