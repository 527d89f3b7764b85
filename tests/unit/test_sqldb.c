/* SQLite helper: open settings, migrations by number, store identity. */
#include <string.h>
#include <sys/stat.h>

#include "common/errcode.h"
#include "sql/db.h"
#include "sql/schema.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];

static void setup(void)
{
	unit_tmpdir(dir);
	unit_path(db_path, dir, "test.db");
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

static void given_no_file_when_open_with_create_then_0600_wal_and_foreign_keys(void)
{
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
	CU_ASSERT_EQUAL(v, schema_latest(SCHEMA_KMS));
	CU_ASSERT(v >= 1);
	sqldb_close(db);
	db = NULL;
	CU_ASSERT_EQUAL_FATAL(schema_open(db_path, SCHEMA_KMS, 0, &db), KMS_EOK);
	CU_ASSERT_EQUAL(pragma_int(db, "SELECT count(*) FROM schema_version"), 1);
	CU_ASSERT_EQUAL(pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE "
				       "name IN ('master_keys', 'psk_users', "
				       "'psk_identities')"),
			3);
	sqldb_close(db);
	CU_ASSERT_STRING_EQUAL(schema_name(SCHEMA_AUDIT), "audit");
	CU_ASSERT_PTR_NULL(schema_name((schema_store_t)9));
	CU_ASSERT_EQUAL(schema_latest((schema_store_t)9), 0);
	unit_rmdir(dir);
}

static void given_audit_store_when_opened_as_kms_store_then_econfig(void)
{
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
	CU_ASSERT_EQUAL(
	    pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'a'"), 0);
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
	CU_ASSERT_EQUAL(sqldb_prepare(db, "SELECT 1; SELECT 2", &st), KMS_EINTERNAL);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_EQUAL(sqldb_prepare(db, "SELEKT 1", &st), KMS_EIO);
	CU_ASSERT_PTR_NULL(st);
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
	CU_ASSERT_EQUAL_FATAL(sqldb_exec(db, "CREATE TABLE t (x INTEGER);"
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
		UNIT_END,
	};
	return unit_run("sqldb", tests);
}
