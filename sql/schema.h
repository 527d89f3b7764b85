/*
 * The stores' schemas: numbered migrations compiled in from sql/NAME_NNN.sql
 * (the source of truth; sql/Makefile.inc turns them into sql/schema_sql.h).
 *
 *   kms    kms.db: master_keys, psk_users, psk_identities, policy_rules,
 *          policy_version, zk_peers, store_version, ticket_keys
 *   audit  audit.db: audit
 *   bsf    bsf.db (bsf-stubd): subscribers, impus, nafs, sessions
 *   replay PostgreSQL only (replay.shared): replay, the messages any kmsd
 *          node accepted (kms/replay_shared.h); resolve_once, the
 *          resolve-once record of several nodes (kms/resolve_once.h)
 *   once   SQLite only: resolve_once.db, one node's resolve-once record
 */
#ifndef KMS_SQL_SCHEMA_H
#define KMS_SQL_SCHEMA_H

#include <stdint.h>

#include "sql/db.h"

typedef enum {
	SCHEMA_KMS = 0,
	SCHEMA_AUDIT = 1,
	SCHEMA_BSF = 2,
	SCHEMA_REPLAY = 3, /* PostgreSQL only */
	SCHEMA_ONCE = 4,   /* SQLite only */
} schema_store_t;

/* Open a store (sqldb_open: path is a locator, a file or "postgresql:...")
 * and bring its schema up to date. */
int schema_open(const char *path, schema_store_t store, int create, sqldb_t **out);

/* Apply the missing migrations of store to an open connection. */
int schema_apply(sqldb_t *db, schema_store_t store);

/* The latest version this program knows for store (0: unknown store), in
 * SQLite (0: PostgreSQL only) and in PostgreSQL (0: SQLite only). */
int schema_latest(schema_store_t store);
int schema_latest_pg(schema_store_t store);

/* The store's name in schema_version ("kms", "audit"); NULL if unknown. */
const char *schema_name(schema_store_t store);

/*
 * Run one DELETE statement on an existing store (schema brought up to
 * date): ?1 is bound to text, or to num when text is NULL.  KMS_ENOENT
 * when no row was deleted (the remove commands of the stores).
 */
int schema_delete(const char *path, schema_store_t store, const char *sql,
		  const char *text, int64_t num);

/*
 * Open the store (creating it when create), run fn(db, ctx) in one
 * transaction, commit when it returns KMS_EOK and roll back otherwise,
 * close.  Returns fn's result, or the open/commit failure.
 */
int schema_transact(const char *path, schema_store_t store, int create,
		    int (*fn)(sqldb_t *db, void *ctx), void *ctx);

#endif
