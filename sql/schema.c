#include "sql/schema.h"

#include <stddef.h>

#include "common/errcode.h"
#include "sql/db.h"
/* Generated from the .sql files listed in sql/Makefile.inc. */
#include "sql/schema_sql.h"

static const sqldb_migration_t kms_migrations[] = {
	{ 1, sql_kms_001 }, { 2, sql_kms_002 }, { 3, sql_kms_003 }, { 4, sql_kms_004 },
	{ 5, sql_kms_005 }, { 6, sql_kms_006 }, { 7, sql_kms_007 },
};

static const sqldb_migration_t audit_migrations[] = {
	{ 1, sql_audit_001 }, { 2, sql_audit_002 }, { 3, sql_audit_003 },
	{ 4, sql_audit_004 }, { 5, sql_audit_005 },
};

/* PostgreSQL has its own numbering: its first version is the SQLite
 * store's latest (sql/pg_*.sql). */
static const sqldb_migration_t pg_kms_migrations[] = {
	{ 1, sql_pg_kms_001 },
	{ 2, sql_pg_kms_002 },
	{ 3, sql_pg_kms_003 },
};

static const sqldb_migration_t pg_audit_migrations[] = {
	{ 1, sql_pg_audit_001 },
};

/* PostgreSQL only: the replay store shared by several nodes. */
static const sqldb_migration_t pg_replay_migrations[] = {
	{ 1, sql_pg_replay_001 },
	{ 2, sql_pg_replay_002 },
};

static const sqldb_migration_t bsf_migrations[] = {
	{ 1, sql_bsf_001 },
};

/* SQLite only: the node-local resolve-once record (resolve.once). */
static const sqldb_migration_t once_migrations[] = {
	{ 1, sql_once_001 },
};

typedef struct {
	const char *name;
	const sqldb_migration_t *m;
	size_t n;
} store_def_t;

#define DEF(name, list)                                                                  \
	{                                                                                \
		name, list, sizeof(list) / sizeof(list[0])                               \
	}

static const store_def_t pg_stores[] = {
	[SCHEMA_KMS] = DEF("kms", pg_kms_migrations),
	[SCHEMA_AUDIT] = DEF("audit", pg_audit_migrations),
	[SCHEMA_BSF] = { "bsf", NULL, 0 },
	[SCHEMA_REPLAY] = DEF("replay", pg_replay_migrations),
	[SCHEMA_ONCE] = { "once", NULL, 0 },
};

static const store_def_t stores[] = {
	[SCHEMA_KMS] = { "kms", kms_migrations,
			 sizeof(kms_migrations) / sizeof(kms_migrations[0]) },
	[SCHEMA_AUDIT] = { "audit", audit_migrations,
			   sizeof(audit_migrations) / sizeof(audit_migrations[0]) },
	[SCHEMA_BSF] = { "bsf", bsf_migrations,
			 sizeof(bsf_migrations) / sizeof(bsf_migrations[0]) },
	[SCHEMA_REPLAY] = { "replay", NULL, 0 },
	[SCHEMA_ONCE] = DEF("once", once_migrations),
};

static const store_def_t *store_def(schema_store_t store)
{
	if ((size_t)store >= sizeof(stores) / sizeof(stores[0])) {
		return NULL;
	}
	return &stores[store];
}

const char *schema_name(schema_store_t store)
{
	const store_def_t *d = store_def(store);
	return d != NULL ? d->name : NULL;
}

int schema_latest(schema_store_t store)
{
	const store_def_t *d = store_def(store);
	return d != NULL && d->n > 0 ? d->m[d->n - 1].version : 0;
}

int schema_latest_pg(schema_store_t store)
{
	if (store_def(store) == NULL || pg_stores[store].n == 0) {
		return 0;
	}
	return pg_stores[store].m[pg_stores[store].n - 1].version;
}

/* Every write transaction on the kms store takes this lock in PostgreSQL
 * (kmsctl on several nodes at once: one at a time, as in SQLite). */
#define SCHEMA_KMS_WRITERS 0x6b6d735f6b6d73LL

int schema_apply(sqldb_t *db, schema_store_t store)
{
	const store_def_t *d = store_def(store);
	if (d == NULL) {
		return KMS_EINVAL;
	}
	if (sqldb_kind(db) == SQLDB_PG) {
		d = &pg_stores[store];
		if (d->n == 0) {
			return KMS_EINVAL; /* the BSF and once stores are SQLite only */
		}
		if (store == SCHEMA_KMS) {
			sqldb_serialize_writers(db, SCHEMA_KMS_WRITERS);
		}
	}
	if (d->n == 0) {
		return KMS_EINVAL; /* the replay store is PostgreSQL only */
	}
	return sqldb_migrate(db, d->name, d->m, d->n);
}

int schema_open(const char *path, schema_store_t store, int create, sqldb_t **out)
{
	if (store_def(store) == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	int ret = sqldb_open(path, create, &db);
	if (ret == KMS_EOK) {
		ret = schema_apply(db, store);
	}
	if (ret == KMS_EOK) {
		*out = db;
		db = NULL;
	}
	sqldb_close(db);
	return ret;
}

int schema_delete(const char *path, schema_store_t store, const char *sql,
		  const char *text, int64_t num)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int ret = schema_open(path, store, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db, sql, &st);
	}
	if (ret == KMS_EOK) {
		ret = text != NULL ? sqldb_bind_text(st, 1, text, -1)
				   : sqldb_bind_int64(st, 1, num);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(st);
	}
	if (ret == KMS_EOK && sqldb_changes(db) == 0) {
		ret = KMS_ENOENT;
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}

int schema_transact(const char *path, schema_store_t store, int create,
		    int (*fn)(sqldb_t *db, void *ctx), void *ctx)
{
	sqldb_t *db = NULL;
	int ret = schema_open(path, store, create, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_begin(db);
		if (ret == KMS_EOK) {
			ret = fn(db, ctx);
		}
		if (ret == KMS_EOK) {
			ret = sqldb_commit(db);
		}
		if (ret != KMS_EOK) {
			sqldb_rollback(db);
		}
	}
	sqldb_close(db);
	return ret;
}
