/*
 * The small SQLite helper every store uses.
 *
 * Connections are opened in WAL mode with a 5 s busy timeout and foreign
 * keys on; a database file this module creates is mode 0600.  Schemas are
 * numbered migrations applied in order inside one write transaction and
 * recorded in the table schema_version (one row per store name, so a file
 * of one store is never mistaken for another).
 *
 * All SQL goes through prepared statements with bound parameters; the only
 * statement text ever compiled is constant text from this tree.  Functions
 * return KMS_EOK or a KMS_E* code (sqldb_rc() maps SQLite result codes).
 * A connection belongs to one thread at a time.
 */
#ifndef KMS_SQL_DB_H
#define KMS_SQL_DB_H

#include <stddef.h>

#include <stdint.h>

#include <sqlite3.h>

#define SQLDB_BUSY_MS 5000
#define SQLDB_PATH_MAX 4096

typedef struct {
	int version;	 /* 1, 2, 3 ... in order, no gaps */
	const char *sql; /* constant statements, no parameters */
} sqldb_migration_t;

/*
 * Open path.  create != 0: create the file (mode 0600) if absent; else a
 * missing file is KMS_ENOENT.  Symbolic links are not followed.
 */
int sqldb_open(const char *path, int create, sqlite3 **out);
/* Close a connection (all its statements must be finalized); NULL no-op. */
void sqldb_close(sqlite3 *db);

/*
 * Bring store (a short name such as "kms") up to the last of the n
 * migrations.  KMS_ECONFIG when the file belongs to another store or
 * carries a version newer than this program knows.
 */
int sqldb_migrate(sqlite3 *db, const char *store, const sqldb_migration_t *m, size_t n);
/* The applied version of store (0 when none). */
int sqldb_version(sqlite3 *db, const char *store, int *version);

/* Prepare one constant statement; trailing text is an error. */
int sqldb_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
/* Run constant text without parameters (one or more statements). */
int sqldb_exec(sqlite3 *db, const char *sql);
/* Step a statement that returns no rows: KMS_EOK on SQLITE_DONE. */
int sqldb_step_done(sqlite3_stmt *st);
/* The first column of the first row of a constant query (count(*), a
 * version): KMS_EIO when there is no row. */
int sqldb_query_int64(sqlite3 *db, const char *sql, int64_t *v);

/* BEGIN IMMEDIATE (take the write lock now), COMMIT, ROLLBACK. */
int sqldb_begin(sqlite3 *db);
int sqldb_commit(sqlite3 *db);
void sqldb_rollback(sqlite3 *db);

/* KMS_E* code for an SQLite result code (primary or extended). */
int sqldb_rc(int sqlite_rc);

#endif
