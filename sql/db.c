#include "sql/db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"

#define STORE_NAME_MAX 32

int sqldb_rc(int sqlite_rc)
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

/* Log the connection's last error (statement text and bound values never). */
static int db_fail(sqlite3 *db, int rc, const char *what)
{
	/* A full disk may also come as an I/O error (a WAL or -shm file that
	 * cannot grow): the same to the caller. */
	bool nospc = db != NULL && (rc & 0xff) == SQLITE_IOERR &&
		     sqlite3_system_errno(db) == ENOSPC;
	log_error("sqlite: %s: %s%s", what,
		  db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
		  nospc ? " (no space left on device)" : "");
	return nospc ? KMS_ENOSPC : sqldb_rc(rc);
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
	int ret = sqldb_prepare(db, "PRAGMA journal_mode=WAL", &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqlite3_step(st);
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

int sqldb_open(const char *path, int create, sqlite3 **out)
{
	if (path == NULL || out == NULL || path[0] == '\0' ||
	    strnlen(path, SQLDB_PATH_MAX) >= SQLDB_PATH_MAX) {
		return KMS_EINVAL;
	}
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
		ret = sqldb_exec(db, "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;");
	}
	if (ret == KMS_EOK) {
		*out = db;
		db = NULL;
	}
cleanup:
	sqlite3_close(db);
	return ret;
}

void sqldb_close(sqlite3 *db)
{
	if (db != NULL && sqlite3_close(db) != SQLITE_OK) {
		log_error("sqlite: close: %s", sqlite3_errmsg(db));
	}
}

int sqldb_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		return db_fail(db, rc, "prepare");
	}
	if (st == NULL || (tail != NULL && *tail != '\0')) {
		sqlite3_finalize(st);
		log_error("sqlite: prepare: not exactly one statement");
		return KMS_EINTERNAL;
	}
	*out = st;
	return KMS_EOK;
}

int sqldb_exec(sqlite3 *db, const char *sql)
{
	const char *p = sql;
	while (p != NULL && *p != '\0') {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(db, p, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			return db_fail(db, rc, "prepare");
		}
		if (st == NULL) { /* only whitespace or comments left */
			break;
		}
		do {
			rc = sqlite3_step(st);
		} while (rc == SQLITE_ROW);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			return db_fail(db, rc, "exec");
		}
		p = tail;
	}
	return KMS_EOK;
}

int sqldb_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		return KMS_EOK;
	}
	if (rc == SQLITE_ROW) {
		return KMS_EINTERNAL;
	}
	/* Constraint failures are expected outcomes for callers; no log. */
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		return KMS_EEXIST;
	}
	return db_fail(sqlite3_db_handle(st), rc, "step");
}

int sqldb_query_int64(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int ret = sqldb_prepare(db, sql, &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
	} else {
		ret = rc == SQLITE_DONE ? KMS_EIO : sqldb_rc(rc);
	}
	sqlite3_finalize(st);
	return ret;
}

int sqldb_begin(sqlite3 *db)
{
	return sqldb_exec(db, "BEGIN IMMEDIATE");
}

int sqldb_commit(sqlite3 *db)
{
	return sqldb_exec(db, "COMMIT");
}

void sqldb_rollback(sqlite3 *db)
{
	if (db != NULL && !sqlite3_get_autocommit(db)) {
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
}

static int table_exists(sqlite3 *db, const char *name, int *exists)
{
	sqlite3_stmt *st = NULL;
	int ret = sqldb_prepare(db,
				"SELECT count(*) FROM sqlite_master "
				"WHERE type = 'table' AND name = ?1",
				&st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		*exists = sqlite3_column_int(st, 0) > 0;
	} else {
		ret = db_fail(db, rc, "sqlite_master");
	}
	sqlite3_finalize(st);
	return ret;
}

/* The version row of store: *version 0 and *other 0 when absent; *other 1
 * when the file carries another store's version row. */
static int read_version(sqlite3 *db, const char *store, int *version, int *other)
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
	sqlite3_stmt *st = NULL;
	ret = sqldb_prepare(db,
			    "SELECT store, version FROM schema_version "
			    "ORDER BY store LIMIT 8",
			    &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int v = 0, o = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(st, 0);
		if (name != NULL && strcmp((const char *)name, store) == 0) {
			v = sqlite3_column_int(st, 1);
		} else {
			o = 1;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = db_fail(db, rc, "schema_version");
	}
	sqlite3_finalize(st);
	if (ret == KMS_EOK) {
		*version = v;
		*other = o;
	}
	return ret;
}

static int ensure_version_table(sqlite3 *db)
{
	return sqldb_exec(db, "CREATE TABLE IF NOT EXISTS schema_version ("
			      "store TEXT PRIMARY KEY, version INTEGER NOT NULL)");
}

int sqldb_version(sqlite3 *db, const char *store, int *version)
{
	if (db == NULL || store == NULL || version == NULL) {
		return KMS_EINVAL;
	}
	int other = 0;
	return read_version(db, store, version, &other);
}

static int write_version(sqlite3 *db, const char *store, int version)
{
	sqlite3_stmt *st = NULL;
	int ret =
	    sqldb_prepare(db,
			  "INSERT INTO schema_version (store, version) VALUES (?1, ?2) "
			  "ON CONFLICT (store) DO UPDATE SET version = ?2",
			  &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, version) != SQLITE_OK) {
		ret = KMS_EINTERNAL;
	} else {
		ret = sqldb_step_done(st);
	}
	sqlite3_finalize(st);
	return ret;
}

/* Check versions inside the write transaction and apply what is missing. */
static int apply(sqlite3 *db, const char *store, const sqldb_migration_t *m, size_t n)
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
		log_error("sqlite: the store is not a '%s' store of version <= %d", store,
			  last);
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
			log_info("sqlite: %s store migrated to version %d", store,
				 m[i].version);
		}
	}
	return ret;
}

int sqldb_migrate(sqlite3 *db, const char *store, const sqldb_migration_t *m, size_t n)
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
	int ret = sqldb_begin(db);
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
