#include "sql/db.h"

#include <stdlib.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"
#include "sql/db_int.h"

#define STORE_NAME_MAX 32

/* KMS_E* code for an SQLite result code (primary or extended). */
static int lite_rc(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return KMS_EOK;
	case SQLITE_NOMEM:
		return KMS_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return KMS_EUNAVAIL;
	case SQLITE_CONSTRAINT:
		return KMS_EEXIST;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return KMS_EACCES;
	case SQLITE_TOOBIG:
		return KMS_ELIMIT;
	case SQLITE_FULL:
		return KMS_ENOSPC;
	case SQLITE_MISUSE:
	case SQLITE_RANGE:
		return KMS_EINTERNAL;
	default:
		return KMS_EIO;
	}
}

int sqldb_rc(int step_result)
{
	return step_result == SQLDB_ROW || step_result == SQLDB_DONE ? KMS_EOK
								     : step_result;
}

void sqldb_report(sqldb_t *db, const char *fmt, ...)
{
	char buf[sizeof(db->err)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (db != NULL) {
		memcpy(db->err, buf, sizeof(buf));
	}
	if (db == NULL || !db->quiet) {
		log_error("%s", buf);
	}
}

void sqldb_set_quiet(sqldb_t *db, bool quiet)
{
	db->quiet = quiet;
}

const char *sqldb_errmsg(const sqldb_t *db)
{
	return db->err;
}

/* Report the SQLite connection's last error (statement text and bound
 * values never); owner is the sqldb_t of db when there is one. */
static int lite_fail(sqldb_t *owner, sqlite3 *db, int rc, const char *what)
{
	/* A full disk may also come as an I/O error (a WAL or -shm file that
	 * cannot grow): the same to the caller. */
	bool nospc = db != NULL && (rc & 0xff) == SQLITE_IOERR &&
		     sqlite3_system_errno(db) == ENOSPC;
	sqldb_report(owner, "sqlite: %s: %s%s", what,
		     db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
		     nospc ? " (no space left on device)" : "");
	return nospc ? KMS_ENOSPC : lite_rc(rc);
}

static int db_fail(sqlite3 *db, int rc, const char *what)
{
	return lite_fail(NULL, db, rc, what);
}

/* Create path as an empty 0600 file if it does not exist yet. */
static int create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		return errno == EEXIST ? KMS_EOK : -errno;
	}
	/* umask cannot widen 0600, but make the mode explicit anyway. */
	int ret = fchmod(fd, 0600) == 0 ? KMS_EOK : -errno;
	if (close(fd) != 0 && ret == KMS_EOK) {
		ret = -errno;
	}
	return ret;
}

/* PRAGMA journal_mode returns the resulting mode as a row. */
static int set_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return db_fail(db, rc, "journal_mode");
	}
	int ret = KMS_EOK;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = db_fail(db, rc, "journal_mode");
	} else {
		const unsigned char *mode = sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
			log_error("sqlite: cannot switch to WAL mode");
			ret = KMS_EIO;
		}
	}
	sqlite3_finalize(st);
	return ret;
}

/* The "postgresql:" locator's connection string, or NULL for a path. */
static const char *pg_conninfo(const char *locator)
{
	size_t n = sizeof(SQLDB_PG_PREFIX) - 1;
	return strncmp(locator, SQLDB_PG_PREFIX, n) == 0 ? locator + n : NULL;
}

sqldb_kind_t sqldb_locator_kind(const char *locator)
{
	return locator != NULL && pg_conninfo(locator) != NULL ? SQLDB_PG : SQLDB_SQLITE;
}

static int lite_exec(sqldb_t *owner, sqlite3 *db, const char *sql);

static int lite_open(const char *path, int create, sqlite3 **out)
{
	int ret;
	if (create) {
		ret = create_file(path);
		if (ret != KMS_EOK) {
			log_error("sqlite: cannot create %s: %s", path,
				  kms_strerror(ret));
			return ret;
		}
	} else {
		struct stat sb;
		if (lstat(path, &sb) != 0) {
			return errno == ENOENT ? KMS_ENOENT : -errno;
		}
	}
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_NOFOLLOW
	flags |= SQLITE_OPEN_NOFOLLOW;
#endif
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		ret = db_fail(db, rc, path);
		goto cleanup;
	}
	sqlite3_extended_result_codes(db, 1);
	rc = sqlite3_busy_timeout(db, SQLDB_BUSY_MS);
	if (rc != SQLITE_OK) {
		ret = db_fail(db, rc, "busy_timeout");
		goto cleanup;
	}
	ret = set_wal(db);
	if (ret == KMS_EOK) {
		/* secure_delete: freed pages (retired wrapped keys) are zeroed. */
		ret = lite_exec(NULL, db,
				"PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
	}
	if (ret == KMS_EOK) {
		*out = db;
		db = NULL;
	}
cleanup:
	sqlite3_close(db);
	return ret;
}

int sqldb_open(const char *locator, int create, sqldb_t **out)
{
	if (locator == NULL || out == NULL || locator[0] == '\0' ||
	    strnlen(locator, SQLDB_PATH_MAX) >= SQLDB_PATH_MAX) {
		return KMS_EINVAL;
	}
	sqldb_t *db = calloc(1, sizeof(*db));
	if (db == NULL) {
		return KMS_ENOMEM;
	}
	const char *conninfo = pg_conninfo(locator);
	int ret;
	if (conninfo != NULL) {
		db->kind = SQLDB_PG;
		ret = pg_open(conninfo, db);
	} else {
		db->kind = SQLDB_SQLITE;
		ret = lite_open(locator, create, &db->lite);
	}
	if (ret != KMS_EOK) {
		free(db);
		return ret;
	}
	*out = db;
	return KMS_EOK;
}

void sqldb_close(sqldb_t *db)
{
	if (db == NULL) {
		return;
	}
	if (db->kind == SQLDB_PG) {
		pg_close(db);
	} else if (db->lite != NULL && sqlite3_close(db->lite) != SQLITE_OK) {
		log_error("sqlite: close: %s", sqlite3_errmsg(db->lite));
	}
	free(db);
}

sqldb_kind_t sqldb_kind(const sqldb_t *db)
{
	return db->kind;
}

int sqldb_adopt_sqlite(struct sqlite3 *raw, sqldb_t **out)
{
	sqldb_t *db = calloc(1, sizeof(*db));
	if (db == NULL) {
		sqlite3_close(raw);
		return KMS_ENOMEM;
	}
	db->kind = SQLDB_SQLITE;
	db->lite = raw;
	*out = db;
	return KMS_EOK;
}

struct sqlite3 *sqldb_sqlite(sqldb_t *db)
{
	return db != NULL ? db->lite : NULL;
}

void sqldb_serialize_writers(sqldb_t *db, int64_t key)
{
	db->writer_key = key;
}

int sqldb_prepare(sqldb_t *db, const char *sql, sqldb_stmt_t **out)
{
	sqldb_stmt_t *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return KMS_ENOMEM;
	}
	st->db = db;
	int ret = KMS_EOK;
	if (db->kind == SQLDB_PG) {
		ret = pg_prepare(db, sql, st);
	} else {
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(db->lite, sql, -1, &st->lite, &tail);
		if (rc != SQLITE_OK) {
			ret = lite_fail(db, db->lite, rc, "prepare");
		} else if (st->lite == NULL || (tail != NULL && *tail != '\0')) {
			log_error("sqlite: prepare: not exactly one statement");
			ret = KMS_EINTERNAL;
		}
	}
	if (ret != KMS_EOK) {
		sqldb_finalize(st);
		return ret;
	}
	*out = st;
	return KMS_EOK;
}

static int lite_exec(sqldb_t *owner, sqlite3 *db, const char *sql)
{
	const char *p = sql;
	while (p != NULL && *p != '\0') {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(db, p, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			return lite_fail(owner, db, rc, "prepare");
		}
		if (st == NULL) { /* only whitespace or comments left */
			break;
		}
		do {
			rc = sqlite3_step(st);
		} while (rc == SQLITE_ROW);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			return lite_fail(owner, db, rc, "exec");
		}
		p = tail;
	}
	return KMS_EOK;
}

int sqldb_exec(sqldb_t *db, const char *sql)
{
	return db->kind == SQLDB_PG ? pg_exec(db, sql) : lite_exec(db, db->lite, sql);
}

static int lite_bind_rc(int rc)
{
	return rc == SQLITE_OK ? KMS_EOK : lite_rc(rc);
}

int sqldb_bind_int64(sqldb_stmt_t *st, int i, int64_t v)
{
	if (st->lite != NULL) {
		return lite_bind_rc(sqlite3_bind_int64(st->lite, i, v));
	}
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	pg_param_t p = { buf, n, 0, 20 };
	return pg_bind(st, i, &p);
}

int sqldb_bind_int(sqldb_stmt_t *st, int i, int v)
{
	return sqldb_bind_int64(st, i, v);
}

int sqldb_bind_text(sqldb_stmt_t *st, int i, const char *s, int len)
{
	if (s == NULL) {
		return sqldb_bind_null(st, i);
	}
	if (len < 0) {
		size_t n = strlen(s);
		if (n > INT32_MAX) {
			return KMS_ELIMIT;
		}
		len = (int)n;
	}
	if (st->lite != NULL) {
		return lite_bind_rc(
		    sqlite3_bind_text(st->lite, i, s, len, SQLITE_TRANSIENT));
	}
	pg_param_t p = { (char *)s, len, 0, 0 };
	return pg_bind(st, i, &p);
}

int sqldb_bind_blob(sqldb_stmt_t *st, int i, const void *v, int len)
{
	if (len < 0) {
		return KMS_EINVAL;
	}
	if (st->lite != NULL) {
		return lite_bind_rc(
		    sqlite3_bind_blob(st->lite, i, v, len, SQLITE_TRANSIENT));
	}
	static const char empty[1];
	pg_param_t p = { v != NULL ? (char *)v : (char *)empty, len, 1, 17 };
	return pg_bind(st, i, &p);
}

int sqldb_bind_null(sqldb_stmt_t *st, int i)
{
	if (st->lite != NULL) {
		return lite_bind_rc(sqlite3_bind_null(st->lite, i));
	}
	pg_param_t p = { NULL, 0, 0, 0 };
	return pg_bind(st, i, &p);
}

void sqldb_clear_bindings(sqldb_stmt_t *st)
{
	if (st->lite != NULL) {
		sqlite3_clear_bindings(st->lite);
	} else {
		pg_clear_bindings(st);
	}
}

int sqldb_step(sqldb_stmt_t *st)
{
	if (st->pg != NULL) {
		return pg_step(st);
	}
	int rc = sqlite3_step(st->lite);
	if (rc == SQLITE_ROW) {
		return SQLDB_ROW;
	}
	if (rc == SQLITE_DONE) {
		return SQLDB_DONE;
	}
	/* Constraint failures are expected outcomes for callers; no log. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		return KMS_EEXIST;
	}
	return lite_fail(st->db, st->db->lite, rc, "step");
}

int sqldb_step_done(sqldb_stmt_t *st)
{
	int rc = sqldb_step(st);
	if (rc == SQLDB_DONE) {
		return KMS_EOK;
	}
	return rc == SQLDB_ROW ? KMS_EINTERNAL : rc;
}

void sqldb_reset(sqldb_stmt_t *st)
{
	if (st->lite != NULL) {
		sqlite3_reset(st->lite);
	} else {
		pg_reset(st);
	}
}

void sqldb_finalize(sqldb_stmt_t *st)
{
	if (st == NULL) {
		return;
	}
	if (st->lite != NULL) {
		sqlite3_finalize(st->lite);
	}
	if (st->pg != NULL) {
		pg_finalize(st);
	}
	free(st);
}

sqldb_t *sqldb_handle(sqldb_stmt_t *st)
{
	return st->db;
}

int64_t sqldb_column_int64(sqldb_stmt_t *st, int c)
{
	if (st->lite != NULL) {
		return sqlite3_column_int64(st->lite, c);
	}
	bool null = true;
	const char *v = pg_value(st, c, NULL, &null);
	if (null) {
		return 0;
	}
	if (v[0] == 't' || v[0] == 'f') { /* boolean */
		return v[0] == 't';
	}
	return strtoll(v, NULL, 10);
}

int sqldb_column_int(sqldb_stmt_t *st, int c)
{
	return (int)sqldb_column_int64(st, c);
}

const char *sqldb_column_text(sqldb_stmt_t *st, int c)
{
	if (st->lite != NULL) {
		return (const char *)sqlite3_column_text(st->lite, c);
	}
	bool null = true;
	const char *v = pg_value(st, c, NULL, &null);
	return null ? NULL : v;
}

const void *sqldb_column_blob(sqldb_stmt_t *st, int c)
{
	if (st->lite != NULL) {
		return sqlite3_column_blob(st->lite, c);
	}
	return pg_blob(st, c, NULL);
}

int sqldb_column_bytes(sqldb_stmt_t *st, int c)
{
	if (st->lite != NULL) {
		return sqlite3_column_bytes(st->lite, c);
	}
	int len = 0;
	(void)pg_blob(st, c, &len);
	return len;
}

bool sqldb_column_is_null(sqldb_stmt_t *st, int c)
{
	if (st->lite != NULL) {
		return sqlite3_column_type(st->lite, c) == SQLITE_NULL;
	}
	bool null = true;
	(void)pg_value(st, c, NULL, &null);
	return null;
}

bool sqldb_column_is_int(sqldb_stmt_t *st, int c)
{
	if (st->lite != NULL) {
		return sqlite3_column_type(st->lite, c) == SQLITE_INTEGER;
	}
	return !sqldb_column_is_null(st, c) && pg_is_int(st, c);
}

int sqldb_column_count(sqldb_stmt_t *st)
{
	return st->lite != NULL ? sqlite3_column_count(st->lite) : pg_ncols(st);
}

int64_t sqldb_changes(sqldb_t *db)
{
	return db->kind == SQLDB_PG ? db->changes : (int64_t)sqlite3_changes64(db->lite);
}

int sqldb_query_int64(sqldb_t *db, const char *sql, int64_t *v)
{
	sqldb_stmt_t *st = NULL;
	int ret = sqldb_prepare(db, sql, &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqldb_step(st);
	if (rc == SQLDB_ROW) {
		*v = sqldb_column_int64(st, 0);
	} else {
		ret = rc == SQLDB_DONE ? KMS_EIO : rc;
	}
	sqldb_finalize(st);
	return ret;
}

static int pg_begin(sqldb_t *db, const char *how)
{
	int ret = pg_exec(db, how);
	if (ret != KMS_EOK || db->writer_key == 0) {
		return ret;
	}
	sqldb_stmt_t *st = NULL;
	ret = sqldb_prepare(db, "SELECT pg_advisory_xact_lock(?1)", &st);
	if (ret == KMS_EOK) {
		ret = sqldb_bind_int64(st, 1, db->writer_key);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_rc(sqldb_step(st));
	}
	sqldb_finalize(st);
	return ret;
}

int sqldb_begin(sqldb_t *db)
{
	int ret = db->kind == SQLDB_PG ? pg_begin(db, "BEGIN")
				       : lite_exec(db, db->lite, "BEGIN IMMEDIATE");
	db->in_tx = true;
	if (ret != KMS_EOK) {
		sqldb_rollback(db);
	}
	return ret;
}

int sqldb_begin_read(sqldb_t *db)
{
	int ret = db->kind == SQLDB_PG
		      ? pg_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
		      : lite_exec(db, db->lite, "BEGIN");
	db->in_tx = true;
	if (ret != KMS_EOK) {
		sqldb_rollback(db);
	}
	return ret;
}

int sqldb_commit(sqldb_t *db)
{
	int ret =
	    db->kind == SQLDB_PG ? pg_commit(db) : lite_exec(db, db->lite, "COMMIT");
	if (ret == KMS_EOK || db->kind == SQLDB_PG) {
		db->in_tx = false; /* PostgreSQL: COMMIT always ends it */
	}
	return ret;
}

void sqldb_rollback(sqldb_t *db)
{
	if (db == NULL) {
		return;
	}
	if (db->kind == SQLDB_PG) {
		if (db->in_tx) {
			(void)pg_exec(db, "ROLLBACK");
		}
	} else if (!sqlite3_get_autocommit(db->lite)) {
		(void)sqlite3_exec(db->lite, "ROLLBACK", NULL, NULL, NULL);
	}
	db->in_tx = false;
}

static int table_exists(sqldb_t *db, const char *name, int *exists)
{
	sqldb_stmt_t *st = NULL;
	int ret =
	    sqldb_prepare(db,
			  db->kind == SQLDB_PG
			      ? "SELECT count(*) FROM pg_catalog.pg_tables "
				"WHERE schemaname = current_schema() AND tablename = ?1"
			      : "SELECT count(*) FROM sqlite_master "
				"WHERE type = 'table' AND name = ?1",
			  &st);
	if (ret == KMS_EOK) {
		ret = sqldb_bind_text(st, 1, name, -1);
	}
	if (ret == KMS_EOK) {
		int rc = sqldb_step(st);
		if (rc == SQLDB_ROW) {
			*exists = sqldb_column_int(st, 0) > 0;
		} else {
			ret = rc == SQLDB_DONE ? KMS_EIO : rc;
		}
	}
	sqldb_finalize(st);
	return ret;
}

/* The version row of store: *version 0 and *other 0 when absent; *other 1
 * when a SQLite file carries another store's version row (PostgreSQL
 * stores share one database). */
static int read_version(sqldb_t *db, const char *store, int *version, int *other)
{
	int exists = 0;
	int ret = table_exists(db, "schema_version", &exists);
	if (ret != KMS_EOK || !exists) {
		if (ret == KMS_EOK) {
			*version = 0;
			*other = 0;
		}
		return ret;
	}
	sqldb_stmt_t *st = NULL;
	ret = sqldb_prepare(db,
			    "SELECT store, version FROM schema_version "
			    "ORDER BY store LIMIT 8",
			    &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int v = 0, o = 0, rc;
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		const char *name = sqldb_column_text(st, 0);
		if (name != NULL && strcmp(name, store) == 0) {
			v = sqldb_column_int(st, 1);
		} else {
			o = db->kind == SQLDB_SQLITE;
		}
	}
	ret = sqldb_rc(rc);
	sqldb_finalize(st);
	if (ret == KMS_EOK) {
		*version = v;
		*other = o;
	}
	return ret;
}

static int ensure_version_table(sqldb_t *db)
{
	return sqldb_exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
			      "store TEXT PRIMARY KEY, version INTEGER NOT NULL)");
}

int sqldb_version(sqldb_t *db, const char *store, int *version)
{
	if (db == NULL || store == NULL || version == NULL) {
		return KMS_EINVAL;
	}
	int other = 0;
	return read_version(db, store, version, &other);
}

static int write_version(sqldb_t *db, const char *store, int version)
{
	sqldb_stmt_t *st = NULL;
	int ret =
	    sqldb_prepare(db,
			  "INSERT INTO schema_version (store, version) VALUES (?1, ?2) "
			  "ON CONFLICT (store) DO UPDATE SET version = ?2",
			  &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (sqldb_bind_text(st, 1, store, -1) != KMS_EOK ||
	    sqldb_bind_int(st, 2, version) != KMS_EOK) {
		ret = KMS_EINTERNAL;
	} else {
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	return ret;
}

static const char *backend_name(const sqldb_t *db)
{
	return db->kind == SQLDB_PG ? "postgresql" : "sqlite";
}

/* Check versions inside the write transaction and apply what is missing. */
static int apply(sqldb_t *db, const char *store, const sqldb_migration_t *m, size_t n)
{
	int cur = 0, other = 0;
	int ret = ensure_version_table(db);
	if (ret == KMS_EOK) {
		ret = read_version(db, store, &cur, &other);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	int last = m[n - 1].version;
	if (other || cur < 0 || cur > last) {
		log_error("%s: the store is not a '%s' store of version <= %d",
			  backend_name(db), store, last);
		return KMS_ECONFIG;
	}
	for (size_t i = 0; i < n && ret == KMS_EOK; i++) {
		if (m[i].version <= cur) {
			continue;
		}
		ret = sqldb_exec(db, m[i].sql);
		if (ret == KMS_EOK) {
			ret = write_version(db, store, m[i].version);
		}
		if (ret == KMS_EOK) {
			log_info("%s: %s store migrated to version %d", backend_name(db),
				 store, m[i].version);
		}
	}
	return ret;
}

/* The migration lock of a PostgreSQL database: one key for every store, so
 * that nodes starting together apply the migrations once. */
#define SQLDB_MIGRATE_LOCK 0x6b6d735f6d6967LL

int sqldb_migrate(sqldb_t *db, const char *store, const sqldb_migration_t *m, size_t n)
{
	if (db == NULL || store == NULL || m == NULL || n == 0 || store[0] == '\0' ||
	    strnlen(store, STORE_NAME_MAX) >= STORE_NAME_MAX) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].version != (int)i + 1 || m[i].sql == NULL) {
			return KMS_EINVAL;
		}
	}
	/* Fast path without the write lock: already current. */
	int cur = 0, other = 0;
	if (read_version(db, store, &cur, &other) == KMS_EOK && !other &&
	    cur == m[n - 1].version) {
		return KMS_EOK;
	}
	int64_t key = db->writer_key;
	db->writer_key = SQLDB_MIGRATE_LOCK;
	int ret = sqldb_begin(db);
	db->writer_key = key;
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = apply(db, store, m, n);
	if (ret == KMS_EOK) {
		ret = sqldb_commit(db);
	}
	if (ret != KMS_EOK) {
		sqldb_rollback(db);
	}
	return ret;
}

int sqldb_listen(sqldb_t *db, const char *channel)
{
	return db->kind == SQLDB_PG ? pg_listen(db, channel) : KMS_EINVAL;
}

int sqldb_socket(sqldb_t *db)
{
	return db->kind == SQLDB_PG ? pg_socket(db) : -1;
}

int sqldb_notified(sqldb_t *db, unsigned *count)
{
	return db->kind == SQLDB_PG ? pg_notified(db, count) : KMS_EINVAL;
}
