/*
 * The PostgreSQL backend of sql/db.h, over libpq.
 *
 * Statements keep the ?N parameters of the shared dialect until prepare,
 * which turns them into $N.  The first step of a statement prepares it on
 * the connection under a name kept in a per-connection cache (keyed by
 * text and parameter types), so a statement run again, as the audit writer
 * and the replay check do per request, is parsed once per connection.
 * Results come in text format: integers are parsed, bytea columns are
 * decoded from their hex form when read as blobs.  Parameters go as text,
 * except blobs (binary bytea) and integers, which are typed int8 so that
 * the server never has to guess.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/errcode.h"
#include "common/log.h"
#include "sql/db_int.h"

#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_OID 26

typedef struct {
	char *key; /* parameter types, '\n', statement text */
	char name[16];
} pg_cached_t;

struct pg_conn {
	PGconn *conn;
	pg_cached_t cache[SQLDB_PG_CACHE];
	size_t n_cache;
	unsigned next_name;
};

typedef struct {
	unsigned char *p;
	size_t len;
	bool done;
} pg_blob_t;

struct pg_stmt {
	char *sql; /* with $N parameters */
	int nparams;
	pg_param_t *params; /* nparams */
	PGresult *res;
	int row; /* current row; -1 before the first */
	int nrows;
	int ncols;
	pg_blob_t *blobs; /* ncols decoded bytea values of the current row */
};

/* libpq's notices (CREATE ... IF NOT EXISTS that exists) go to the log at
 * debug level instead of stderr. */
static void notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

static void log_conn_error(sqldb_t *db, PGconn *conn, const char *what)
{
	const char *m = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	sqldb_report(db, "postgresql: %s: %.*s", what, (int)strcspn(m, "\n"), m);
}

int pg_open(const char *conninfo, sqldb_t *db)
{
	pg_conn_t *pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		return KMS_ENOMEM;
	}
	/* Defaults first: what the connection string sets overrides them. */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { "5", "kmsd", conninfo, NULL };
	pc->conn = PQconnectdbParams(keys, vals, 1);
	if (pc->conn == NULL || PQstatus(pc->conn) != CONNECTION_OK) {
		log_conn_error(db, pc->conn, "connect");
		PQfinish(pc->conn);
		free(pc);
		return KMS_EUNAVAIL;
	}
	PQsetNoticeProcessor(pc->conn, notice, NULL);
	db->pg = pc;
	return KMS_EOK;
}

static void cache_clear(pg_conn_t *pc)
{
	for (size_t i = 0; i < pc->n_cache; i++) {
		free(pc->cache[i].key);
	}
	pc->n_cache = 0;
}

void pg_close(sqldb_t *db)
{
	if (db->pg != NULL) {
		cache_clear(db->pg);
		PQfinish(db->pg->conn);
		free(db->pg);
		db->pg = NULL;
	}
}

/* KMS_E* code of a failed result, logged unless it is an expected outcome
 * (a constraint).  The statement and its values are never logged. */
static int result_error(sqldb_t *db, const PGresult *res, const char *what)
{
	const char *state =
	    res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int ret;
	if (state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strcmp(state, "53300") == 0 ||
	    strncmp(state, "40", 2) == 0) {
		ret = KMS_EUNAVAIL;
	} else if (strncmp(state, "23", 2) == 0) {
		return KMS_EEXIST;
	} else if (strcmp(state, "53100") == 0) {
		ret = KMS_ENOSPC;
	} else if (strcmp(state, "53200") == 0) {
		ret = KMS_ENOMEM;
	} else if (strcmp(state, "42501") == 0) {
		ret = KMS_EACCES;
	} else {
		ret = KMS_EIO;
	}
	const char *m =
	    res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (m == NULL) {
		m = PQerrorMessage(db->pg->conn);
	}
	sqldb_report(db, "postgresql: %s: %.*s%s%s", what, (int)strcspn(m, "\n"), m,
		     state != NULL ? " SQLSTATE " : "", state != NULL ? state : "");
	return ret;
}

/* Outside a transaction, a broken connection is re-established once; the
 * prepared statements went with it. */
static bool reconnect(sqldb_t *db)
{
	pg_conn_t *pc = db->pg;
	if (db->in_tx || PQstatus(pc->conn) == CONNECTION_OK) {
		return false;
	}
	cache_clear(pc);
	PQreset(pc->conn);
	if (PQstatus(pc->conn) != CONNECTION_OK) {
		log_conn_error(db, pc->conn, "reconnect");
		return false;
	}
	log_notice("postgresql: reconnected");
	return true;
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType s = PQresultStatus(res);
	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* sqldb_changes() counts the rows of the last INSERT, UPDATE or DELETE, as
 * sqlite3_changes() does: PQcmdTuples() also counts the rows a SELECT
 * returned, which must not replace it. */
static void note_changes(sqldb_t *db, PGresult *res)
{
	static const char *const writes[] = { "INSERT ", "UPDATE ", "DELETE " };
	const char *cs = PQcmdStatus(res);
	for (size_t i = 0; cs != NULL && i < sizeof(writes) / sizeof(writes[0]); i++) {
		if (strncmp(cs, writes[i], strlen(writes[i])) == 0) {
			db->changes = strtoll(PQcmdTuples(res), NULL, 10);
			return;
		}
	}
}

int pg_exec(sqldb_t *db, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		PGresult *res = PQexec(db->pg->conn, sql);
		if (result_ok(res)) {
			note_changes(db, res);
			PQclear(res);
			return KMS_EOK;
		}
		if (attempt == 0 && PQstatus(db->pg->conn) != CONNECTION_OK &&
		    reconnect(db)) {
			PQclear(res);
			continue;
		}
		int ret = result_error(db, res, "exec");
		PQclear(res);
		return ret;
	}
}

int pg_commit(sqldb_t *db)
{
	/* COMMIT of a transaction a failed statement aborted succeeds in the
	 * protocol with the tag ROLLBACK: report it as the failure it is. */
	PGresult *res = PQexec(db->pg->conn, "COMMIT");
	int ret = KMS_EOK;
	if (!result_ok(res)) {
		ret = result_error(db, res, "commit");
	} else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		sqldb_report(db, "postgresql: commit: the transaction was rolled back");
		ret = KMS_EIO;
	}
	PQclear(res);
	return ret;
}

/* ?N -> $N (and ? -> $N, N numbered as SQLite does) outside quotes and
 * identifiers; the highest N is the count. */
static int translate(const char *sql, char **out, int *nparams)
{
	size_t n = strlen(sql);
	size_t cap = n * 4 + 1; /* "?" -> "$512" at most */
	char *t = malloc(cap);
	if (t == NULL) {
		return KMS_ENOMEM;
	}
	size_t len = 0;
	char quote = 0;
	int max = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = sql[i];
		if (quote != 0) {
			quote = c == quote ? 0 : quote;
		} else if (c == '\'' || c == '"') {
			quote = c;
		} else if (c == '?') {
			/* SQLite's rule: a bare ? is one more than the
			 * largest number so far. */
			int v = isdigit((unsigned char)sql[i + 1]) ? atoi(sql + i + 1)
								   : max + 1;
			max = v > max ? v : max;
			if (!isdigit((unsigned char)sql[i + 1])) {
				len += (size_t)snprintf(t + len, cap - len, "$%d", v);
				continue;
			}
			c = '$';
		}
		t[len++] = c;
	}
	if (max > SQLDB_MAX_PARAMS) {
		free(t);
		return KMS_EINTERNAL;
	}
	*out = t;
	*nparams = max;
	return KMS_EOK;
}

int pg_prepare(sqldb_t *db, const char *sql, sqldb_stmt_t *st)
{
	(void)db;
	pg_stmt_t *ps = calloc(1, sizeof(*ps));
	if (ps == NULL) {
		return KMS_ENOMEM;
	}
	st->pg = ps;
	ps->row = -1;
	int ret = translate(sql, &ps->sql, &ps->nparams);
	if (ret != KMS_EOK) {
		log_error("postgresql: prepare: parameters must be ?1..?%d",
			  SQLDB_MAX_PARAMS);
		return ret;
	}
	ps->params =
	    calloc(ps->nparams > 0 ? (size_t)ps->nparams : 1, sizeof(ps->params[0]));
	return ps->params != NULL ? KMS_EOK : KMS_ENOMEM;
}

static void drop_result(pg_stmt_t *ps)
{
	if (ps->blobs != NULL) {
		for (int c = 0; c < ps->ncols; c++) {
			PQfreemem(ps->blobs[c].p);
		}
		free(ps->blobs);
		ps->blobs = NULL;
	}
	PQclear(ps->res);
	ps->res = NULL;
	ps->row = -1;
	ps->nrows = 0;
	ps->ncols = 0;
}

int pg_bind(sqldb_stmt_t *st, int i, const pg_param_t *p)
{
	pg_stmt_t *ps = st->pg;
	if (i < 1 || i > ps->nparams) {
		return KMS_EINTERNAL;
	}
	pg_param_t *d = &ps->params[i - 1];
	char *v = NULL;
	if (p->val != NULL) {
		v = malloc((size_t)p->len + 1);
		if (v == NULL) {
			return KMS_ENOMEM;
		}
		memcpy(v, p->val, (size_t)p->len);
		v[p->len] = '\0';
	}
	free(d->val);
	*d = *p;
	d->val = v;
	return KMS_EOK;
}

void pg_clear_bindings(sqldb_stmt_t *st)
{
	if (st->pg->params == NULL) {
		return;
	}
	for (int i = 0; i < st->pg->nparams; i++) {
		free(st->pg->params[i].val);
		memset(&st->pg->params[i], 0, sizeof(st->pg->params[i]));
	}
}

/* The cached statement name for ps as bound now, preparing it on the
 * connection the first time. */
static int statement_name(sqldb_t *db, pg_stmt_t *ps, const char **name)
{
	pg_conn_t *pc = db->pg;
	char types[SQLDB_MAX_PARAMS + 1];
	Oid oids[SQLDB_MAX_PARAMS];
	for (int i = 0; i < ps->nparams; i++) {
		oids[i] = ps->params[i].val != NULL ? ps->params[i].type : 0;
		types[i] = oids[i] == OID_INT8 ? 'i' : oids[i] == OID_BYTEA ? 'b' : 'u';
	}
	types[ps->nparams] = '\0';
	size_t tl = (size_t)ps->nparams;
	for (size_t k = 0; k < pc->n_cache; k++) {
		const char *key = pc->cache[k].key;
		if (strncmp(key, types, tl) == 0 && key[tl] == '\n' &&
		    strcmp(key + tl + 1, ps->sql) == 0) {
			*name = pc->cache[k].name;
			return KMS_EOK;
		}
	}
	pg_cached_t *e = pc->n_cache < SQLDB_PG_CACHE ? &pc->cache[pc->n_cache] : NULL;
	static const char unnamed[] = "";
	const char *nm = unnamed;
	if (e != NULL) {
		snprintf(e->name, sizeof(e->name), "k%u", pc->next_name++);
		nm = e->name;
	}
	PGresult *res = PQprepare(pc->conn, nm, ps->sql, ps->nparams, oids);
	int ret = result_ok(res) ? KMS_EOK : result_error(db, res, "prepare");
	PQclear(res);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (e != NULL) {
		size_t sl = strlen(ps->sql);
		e->key = malloc(tl + 1 + sl + 1);
		if (e->key == NULL) {
			return KMS_ENOMEM; /* prepared but not kept: harmless */
		}
		memcpy(e->key, types, tl);
		e->key[tl] = '\n';
		memcpy(e->key + tl + 1, ps->sql, sl + 1);
		pc->n_cache++;
	}
	*name = nm;
	return KMS_EOK;
}

static int execute(sqldb_stmt_t *st)
{
	sqldb_t *db = st->db;
	pg_stmt_t *ps = st->pg;
	const char *vals[SQLDB_MAX_PARAMS];
	int lens[SQLDB_MAX_PARAMS], fmts[SQLDB_MAX_PARAMS];
	for (int i = 0; i < ps->nparams; i++) {
		vals[i] = ps->params[i].val;
		lens[i] = ps->params[i].len;
		fmts[i] = ps->params[i].format;
	}
	for (int attempt = 0;; attempt++) {
		if (attempt == 0 && PQstatus(db->pg->conn) != CONNECTION_OK) {
			(void)reconnect(db);
		}
		const char *name = NULL;
		int ret = statement_name(db, ps, &name);
		PGresult *res = NULL;
		if (ret == KMS_EOK) {
			res = PQexecPrepared(db->pg->conn, name, ps->nparams, vals, lens,
					     fmts, 0);
			ret = result_ok(res) ? KMS_EOK : KMS_EIO;
		}
		if (ret != KMS_EOK && attempt == 0 &&
		    PQstatus(db->pg->conn) != CONNECTION_OK && reconnect(db)) {
			PQclear(res);
			continue;
		}
		if (ret != KMS_EOK) {
			if (res != NULL) {
				ret = result_error(db, res, "step");
			}
			PQclear(res);
			return ret;
		}
		ps->res = res;
		ps->nrows = PQntuples(res);
		ps->ncols = PQnfields(res);
		note_changes(db, res);
		return KMS_EOK;
	}
}

int pg_step(sqldb_stmt_t *st)
{
	pg_stmt_t *ps = st->pg;
	if (ps->res == NULL) {
		int ret = execute(st);
		if (ret != KMS_EOK) {
			return ret;
		}
	}
	if (ps->blobs != NULL) {
		for (int c = 0; c < ps->ncols; c++) {
			PQfreemem(ps->blobs[c].p);
		}
		memset(ps->blobs, 0, (size_t)ps->ncols * sizeof(ps->blobs[0]));
	}
	if (ps->row + 1 >= ps->nrows) {
		ps->row = ps->nrows;
		return SQLDB_DONE;
	}
	ps->row++;
	return SQLDB_ROW;
}

void pg_reset(sqldb_stmt_t *st)
{
	drop_result(st->pg);
}

void pg_finalize(sqldb_stmt_t *st)
{
	drop_result(st->pg);
	pg_clear_bindings(st);
	free(st->pg->params);
	free(st->pg->sql);
	free(st->pg);
	st->pg = NULL;
}

static bool has_value(const pg_stmt_t *ps, int c)
{
	return ps->res != NULL && ps->row >= 0 && ps->row < ps->nrows && c >= 0 &&
	       c < ps->ncols && !PQgetisnull(ps->res, ps->row, c);
}

const char *pg_value(sqldb_stmt_t *st, int c, int *len, bool *is_null)
{
	pg_stmt_t *ps = st->pg;
	*is_null = !has_value(ps, c);
	if (*is_null) {
		return NULL;
	}
	if (len != NULL) {
		*len = PQgetlength(ps->res, ps->row, c);
	}
	return PQgetvalue(ps->res, ps->row, c);
}

const void *pg_blob(sqldb_stmt_t *st, int c, int *len)
{
	pg_stmt_t *ps = st->pg;
	int l = 0;
	bool null = true;
	const char *v = pg_value(st, c, &l, &null);
	if (null || PQftype(ps->res, c) != OID_BYTEA) {
		if (len != NULL) {
			*len = null ? 0 : l;
		}
		return v;
	}
	if (ps->blobs == NULL) {
		ps->blobs = calloc((size_t)ps->ncols, sizeof(ps->blobs[0]));
		if (ps->blobs == NULL) {
			return NULL;
		}
	}
	pg_blob_t *b = &ps->blobs[c];
	if (!b->done) {
		b->p = PQunescapeBytea((const unsigned char *)v, &b->len);
		b->done = true;
	}
	if (len != NULL) {
		*len = b->p != NULL && b->len <= INT32_MAX ? (int)b->len : 0;
	}
	return b->p;
}

bool pg_is_int(sqldb_stmt_t *st, int c)
{
	pg_stmt_t *ps = st->pg;
	if (ps->res == NULL || c < 0 || c >= ps->ncols) {
		return false;
	}
	Oid t = PQftype(ps->res, c);
	return t == OID_INT8 || t == OID_INT4 || t == OID_INT2 || t == OID_OID ||
	       t == OID_BOOL;
}

int pg_ncols(sqldb_stmt_t *st)
{
	return st->pg->res != NULL ? st->pg->ncols : 0;
}

int pg_listen(sqldb_t *db, const char *channel)
{
	char sql[80];
	size_t n = strlen(channel);
	if (n == 0 || n > 63 || strspn(channel, "abcdefghijklmnopqrstuvwxyz_") != n) {
		return KMS_EINVAL;
	}
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	return pg_exec(db, sql);
}

int pg_socket(sqldb_t *db)
{
	return PQsocket(db->pg->conn);
}

int pg_notified(sqldb_t *db, unsigned *count)
{
	PGconn *conn = db->pg->conn;
	*count = 0;
	if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
		log_conn_error(db, conn, "notifications");
		return KMS_EUNAVAIL;
	}
	PGnotify *n;
	while ((n = PQnotifies(conn)) != NULL) {
		(*count)++;
		PQfreemem(n);
	}
	return KMS_EOK;
}
