/*
 * Inside sql/db.c and sql/db_pg.c: the connection and statement structs
 * and the PostgreSQL backend's entry points.  Not for other folders.
 */
#ifndef KMS_SQL_DB_INT_H
#define KMS_SQL_DB_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "sql/db.h"

#define SQLDB_PG_CACHE 128 /* statements kept prepared per connection */

typedef struct pg_conn pg_conn_t; /* sql/db_pg.c */

struct sqldb {
	sqldb_kind_t kind;
	sqlite3 *lite;
	pg_conn_t *pg;
	int64_t changes;    /* PostgreSQL: rows of the last write */
	int64_t writer_key; /* sqldb_serialize_writers, 0: none */
	bool in_tx;	    /* between sqldb_begin* and commit/rollback */
	bool quiet;	    /* sqldb_set_quiet */
	char err[256];	    /* the last failure, for sqldb_errmsg */
};

/* Record a failure of db (NULL: none yet) and log it unless db is quiet. */
void sqldb_report(sqldb_t *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef struct {
	char *val; /* NULL: SQL NULL */
	int len;
	int format;    /* 0 text, 1 binary */
	unsigned type; /* Oid: 0 (server infers), 20 int8, 17 bytea */
} pg_param_t;

typedef struct pg_stmt pg_stmt_t; /* sql/db_pg.c */

struct sqldb_stmt {
	sqldb_t *db;
	sqlite3_stmt *lite;
	pg_stmt_t *pg;
};

int pg_open(const char *conninfo, sqldb_t *db);
void pg_close(sqldb_t *db);
int pg_exec(sqldb_t *db, const char *sql);
int pg_commit(sqldb_t *db);
int pg_prepare(sqldb_t *db, const char *sql, sqldb_stmt_t *st);
int pg_bind(sqldb_stmt_t *st, int i, const pg_param_t *p);
void pg_clear_bindings(sqldb_stmt_t *st);
int pg_step(sqldb_stmt_t *st);
void pg_reset(sqldb_stmt_t *st);
void pg_finalize(sqldb_stmt_t *st);
const char *pg_value(sqldb_stmt_t *st, int c, int *len, bool *is_null);
const void *pg_blob(sqldb_stmt_t *st, int c, int *len);
bool pg_is_int(sqldb_stmt_t *st, int c);
int pg_ncols(sqldb_stmt_t *st);
int pg_listen(sqldb_t *db, const char *channel);
int pg_socket(sqldb_t *db);
int pg_notified(sqldb_t *db, unsigned *count);

#endif
