/*
 * The stores' database layer: one interface, two backends.
 *
 *   SQLite      a file (the embedded default): WAL mode, a 5 s busy
 *               timeout, foreign keys on; a file this module creates is
 *               mode 0600.
 *   PostgreSQL  through libpq, for several kmsd nodes sharing one store.
 *
 * Which one is chosen by the locator string given to sqldb_open(): a path
 * for SQLite, or "postgresql:" followed by a libpq connection string
 * ("host=db1 dbname=kms", "service=kms", a postgresql:// URI) for
 * PostgreSQL.  The config layer builds locators; nothing else parses them.
 *
 * Statements are written once, in the dialect both accept, with numbered
 * parameters ?1, ?2 ...; the PostgreSQL backend turns them into $1, $2 and
 * keeps each statement prepared on its connection (a cache keyed by text
 * and parameter types).  Values: integers (int64), text, blobs (bytea in
 * PostgreSQL) and NULL.  All SQL goes through prepared statements with
 * bound parameters; the only statement text ever compiled is constant
 * text from this tree.  Functions return KMS_EOK or a KMS_E* code; errors
 * are logged here (statement text and bound values never), except
 * constraint violations, which are expected outcomes (KMS_EEXIST).
 *
 * Schemas are numbered migrations applied in order inside one write
 * transaction and recorded in the table schema_version (one row per store
 * name).  In SQLite a file holds one store, and a file of another store is
 * refused; in PostgreSQL the stores share one database (their tables have
 * distinct names).
 *
 * A connection belongs to one thread at a time.  A PostgreSQL connection
 * that broke is re-established once, on the next statement outside a
 * transaction.
 */
#ifndef KMS_SQL_DB_H
#define KMS_SQL_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SQLDB_BUSY_MS 5000
#define SQLDB_PATH_MAX 4096
#define SQLDB_PG_PREFIX "postgresql:"
#define SQLDB_MAX_PARAMS 512

/* sqldb_step() results besides KMS_E* errors (which are negative). */
#define SQLDB_DONE 0
#define SQLDB_ROW 1

typedef enum {
	SQLDB_SQLITE = 0,
	SQLDB_PG = 1,
} sqldb_kind_t;

struct sqlite3;
typedef struct sqldb sqldb_t;
typedef struct sqldb_stmt sqldb_stmt_t;

typedef struct {
	int version;	 /* 1, 2, 3 ... in order, no gaps */
	const char *sql; /* constant statements, no parameters */
} sqldb_migration_t;

/* The backend a locator names (no I/O). */
sqldb_kind_t sqldb_locator_kind(const char *locator);

/*
 * Open locator.  SQLite: create != 0 creates the file (mode 0600) if
 * absent, else a missing file is KMS_ENOENT; symbolic links are not
 * followed.  PostgreSQL: create is ignored (the database must exist);
 * KMS_EUNAVAIL when the server cannot be reached.
 */
int sqldb_open(const char *locator, int create, sqldb_t **out);
/* Close a connection (all its statements must be finalized); NULL no-op. */
void sqldb_close(sqldb_t *db);
sqldb_kind_t sqldb_kind(const sqldb_t *db);

/*
 * Bring store (a short name such as "kms") up to the last of the n
 * migrations.  KMS_ECONFIG when the file belongs to another store or
 * carries a version newer than this program knows.
 */
int sqldb_migrate(sqldb_t *db, const char *store, const sqldb_migration_t *m, size_t n);
/* The applied version of store (0 when none). */
int sqldb_version(sqldb_t *db, const char *store, int *version);

/*
 * PostgreSQL: every write transaction (sqldb_begin) of this connection
 * first takes a lock shared by every connection that sets the same key,
 * so that writers on several nodes run one after the other as SQLite's
 * BEGIN IMMEDIATE makes them.  SQLite: no effect.
 */
void sqldb_serialize_writers(sqldb_t *db, int64_t key);

/* Prepare one constant statement; trailing text is an error. */
int sqldb_prepare(sqldb_t *db, const char *sql, sqldb_stmt_t **out);
/* Run constant text without parameters (one or more statements). */
int sqldb_exec(sqldb_t *db, const char *sql);

/* Parameters are numbered from 1.  Values are copied. */
int sqldb_bind_int64(sqldb_stmt_t *st, int i, int64_t v);
int sqldb_bind_int(sqldb_stmt_t *st, int i, int v);
/* len < 0: up to the terminating NUL. */
int sqldb_bind_text(sqldb_stmt_t *st, int i, const char *s, int len);
int sqldb_bind_blob(sqldb_stmt_t *st, int i, const void *p, int len);
int sqldb_bind_null(sqldb_stmt_t *st, int i);
void sqldb_clear_bindings(sqldb_stmt_t *st);

/* SQLDB_ROW, SQLDB_DONE, or a KMS_E* code. */
int sqldb_step(sqldb_stmt_t *st);
/* KMS_EOK for SQLDB_ROW and SQLDB_DONE, else the code itself. */
int sqldb_rc(int step_result);
/* Step a statement that returns no rows: KMS_EOK on SQLDB_DONE. */
int sqldb_step_done(sqldb_stmt_t *st);
/* Back to before the first step; the bindings stay. */
void sqldb_reset(sqldb_stmt_t *st);
/* NULL is a no-op. */
void sqldb_finalize(sqldb_stmt_t *st);
sqldb_t *sqldb_handle(sqldb_stmt_t *st);

/* Columns of the current row, numbered from 0.  NULL reads as 0, NULL
 * text, NULL blob of 0 bytes. */
int64_t sqldb_column_int64(sqldb_stmt_t *st, int c);
int sqldb_column_int(sqldb_stmt_t *st, int c);
const char *sqldb_column_text(sqldb_stmt_t *st, int c);
const void *sqldb_column_blob(sqldb_stmt_t *st, int c);
int sqldb_column_bytes(sqldb_stmt_t *st, int c);
bool sqldb_column_is_null(sqldb_stmt_t *st, int c);
/* The column's value is an integer (not text, blob or NULL). */
bool sqldb_column_is_int(sqldb_stmt_t *st, int c);
int sqldb_column_count(sqldb_stmt_t *st);

/* Rows changed by the last INSERT, UPDATE or DELETE of this connection. */
int64_t sqldb_changes(sqldb_t *db);

/* The first column of the first row of a constant query (count(*), a
 * version): KMS_EIO when there is no row. */
int sqldb_query_int64(sqldb_t *db, const char *sql, int64_t *v);

/* A write transaction (SQLite: BEGIN IMMEDIATE, PostgreSQL: BEGIN and
 * the writers' lock, see sqldb_serialize_writers), COMMIT, ROLLBACK. */
int sqldb_begin(sqldb_t *db);
/* A read transaction that sees one snapshot (SQLite: BEGIN; PostgreSQL:
 * REPEATABLE READ, READ ONLY). */
int sqldb_begin_read(sqldb_t *db);
int sqldb_commit(sqldb_t *db);
void sqldb_rollback(sqldb_t *db);

/*
 * quiet: failures of db are not logged (a caller that retries and logs
 * once, such as the audit writer); the text of the last one is always
 * kept for sqldb_errmsg() ("" when none).
 */
void sqldb_set_quiet(sqldb_t *db, bool quiet);
const char *sqldb_errmsg(const sqldb_t *db);

/* Wrap a SQLite connection opened elsewhere (a backup copy); db owns it
 * from now on, also on failure. */
int sqldb_adopt_sqlite(struct sqlite3 *raw, sqldb_t **out);

/* The SQLite connection under db (backup, PRAGMAs), NULL for PostgreSQL. */
struct sqlite3 *sqldb_sqlite(sqldb_t *db);

/*
 * PostgreSQL notifications.  sqldb_listen() runs LISTEN channel (an SQL
 * identifier from this tree).  sqldb_socket() is the connection's socket
 * to poll for input (-1 when broken).  sqldb_notified() reads what arrived
 * without blocking and counts the notifications into *count; KMS_EUNAVAIL
 * when the connection is lost (the caller reconnects with a new
 * sqldb_open and treats everything as changed).  KMS_EINVAL on SQLite.
 */
int sqldb_listen(sqldb_t *db, const char *channel);
int sqldb_socket(sqldb_t *db);
int sqldb_notified(sqldb_t *db, unsigned *count);

#endif
