/*
 * Copies of the stores with SQLite's online backup API (kms/store_backup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/errcode.h"
#include "kms/store_backup.h"
#include "sql/db.h"
#include "sql/schema.h"

/* SQLite's unix VFS: the first lock byte of a -shm file is 120, after 8
 * lock slots comes the dead-man switch every open connection read-locks. */
#define SHM_DMS_BYTE 128

/* A copy: read-only, never through a symbolic link. */
static int open_copy(const char *path, int flags, sqldb_t **out)
{
	struct stat sb;
	if (lstat(path, &sb) != 0) {
		return errno == ENOENT ? KMS_ENOENT : -errno;
	}
	if (!S_ISREG(sb.st_mode)) {
		return KMS_EACCES;
	}
	flags |= SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_NOFOLLOW
	flags |= SQLITE_OPEN_NOFOLLOW;
#endif
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return rc == SQLITE_CANTOPEN ? KMS_EACCES : KMS_EIO;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SQLDB_BUSY_MS);
	return sqldb_adopt_sqlite(db, out);
}

bool store_backup_supported(const char *locator)
{
	return sqldb_locator_kind(locator) == SQLDB_SQLITE;
}

/* All of from into to in one step (one read snapshot, one write). */
static int backup_all(sqldb_t *to_db, sqldb_t *from_db)
{
	sqlite3 *to = sqldb_sqlite(to_db), *from = sqldb_sqlite(from_db);
	if (to == NULL || from == NULL) {
		return KMS_ENOTSUP; /* PostgreSQL: pg_dump (docs/operations.md) */
	}
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	if (b == NULL) {
		return sqlite3_errcode(to) == SQLITE_NOMEM ? KMS_ENOMEM : KMS_EIO;
	}
	int rc = sqlite3_backup_step(b, -1);
	int fin = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
			   ? KMS_EUNAVAIL
		       : (rc & 0xff) == SQLITE_FULL ? KMS_ENOSPC
						    : KMS_EIO;
	}
	return fin == SQLITE_OK ? KMS_EOK : KMS_EIO;
}

static int copy_into(sqldb_t *src, schema_store_t store, const char *dst, int *version)
{
	sqldb_t *to = NULL;
	int ret = open_copy(dst, SQLITE_OPEN_READWRITE, &to);
	if (ret == KMS_EOK) {
		ret = backup_all(to, src);
	}
	if (ret == KMS_EOK) {
		/* One self-contained file: no -wal beside the copy.  The
		 * header came from a WAL store and says WAL; switching in and
		 * out rewrites it. */
		ret = sqldb_exec(to,
				 "PRAGMA journal_mode=WAL; PRAGMA journal_mode=DELETE;");
	}
	if (ret == KMS_EOK) {
		ret = sqldb_version(to, schema_name(store), version);
	}
	sqldb_close(to);
	return ret;
}

int store_backup_copy(const char *src, schema_store_t store, const char *dst,
		      int *version)
{
	sqldb_t *from = NULL;
	int v = 0;
	if (sqldb_locator_kind(src) == SQLDB_PG) {
		return KMS_ENOTSUP; /* pg_dump (docs/operations.md) */
	}
	int ret = schema_open(src, store, 0, &from);
	if (ret != KMS_EOK) {
		return ret;
	}
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = errno == EEXIST ? KMS_EEXIST : -errno;
		sqldb_close(from);
		return ret;
	}
	close(fd);
	ret = copy_into(from, store, dst, &v);
	sqldb_close(from);
	if (ret != KMS_EOK) {
		(void)unlink(dst);
		return ret;
	}
	*version = v;
	return KMS_EOK;
}

int store_backup_version(const char *path, schema_store_t store, int *version)
{
	sqldb_t *db = NULL;
	int v = 0;
	int ret = open_copy(path, SQLITE_OPEN_READONLY, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_version(db, schema_name(store), &v);
	}
	sqldb_close(db);
	if (ret == KMS_EOK && v <= 0) {
		ret = KMS_ECONFIG;
	}
	if (ret == KMS_EOK) {
		*version = v;
	}
	return ret;
}

int store_backup_keys(const char *path, keyring_info_t *out, size_t max, size_t *n)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	size_t count = 0;
	int ret = open_copy(path, SQLITE_OPEN_READONLY, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db,
				    "SELECT id, state, created, rotated, retired "
				    "FROM master_keys ORDER BY id",
				    &st);
	}
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && (rc = sqldb_step(st)) == SQLDB_ROW) {
		if (count == max) {
			ret = KMS_ELIMIT;
			break;
		}
		keyring_info_t *k = &out[count++];
		k->id = (uint32_t)sqldb_column_int64(st, 0);
		k->state = (keyring_state_t)sqldb_column_int(st, 1);
		k->created = sqldb_column_int64(st, 2);
		k->rotated = sqldb_column_int64(st, 3);
		k->retired = sqldb_column_int64(st, 4);
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	sqldb_close(db);
	if (ret == KMS_EOK) {
		*n = count;
	}
	return ret;
}

int store_backup_restore(const char *src, const char *dst)
{
	sqldb_t *from = NULL, *to = NULL;
	if (sqldb_locator_kind(dst) == SQLDB_PG) {
		return KMS_ENOTSUP; /* pg_restore (docs/operations.md) */
	}
	int ret = open_copy(src, SQLITE_OPEN_READONLY, &from);
	if (ret == KMS_EOK) {
		/* As kmsd opens it: WAL, 0600 when created here. */
		ret = sqldb_open(dst, 1, &to);
	}
	if (ret == KMS_EOK) {
		ret = backup_all(to, from);
	}
	if (ret == KMS_EOK) {
		/* The copy was in rollback mode; the store stays in WAL. */
		ret = sqldb_exec(to, "PRAGMA journal_mode=WAL;");
	}
	sqldb_close(to);
	sqldb_close(from);
	return ret;
}

bool store_backup_in_use(const char *path, long *pid)
{
	char shm[SQLDB_PATH_MAX + 8];
	*pid = 0;
	int n = snprintf(shm, sizeof(shm), "%s-shm", path);
	if (n < 0 || (size_t)n >= sizeof(shm)) {
		return false;
	}
	int fd = open(shm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	struct flock fl = { .l_type = F_WRLCK,
			    .l_whence = SEEK_SET,
			    .l_start = SHM_DMS_BYTE,
			    .l_len = 1 };
	bool used = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	if (used) {
		*pid = (long)fl.l_pid;
	}
	close(fd);
	return used;
}
