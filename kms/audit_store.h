/*
 * The audit writer's store side (SQLite or PostgreSQL, sql/db.h) (kms/audit.c owns the queue): the store
 * connection, its two INSERT statements and one transaction of rows.  Quiet:
 * a failing write is reported to the caller (the writer logs once per
 * change of state), never logged here, since the writer retries it.
 * One thread (the writer) uses a store.
 */
#ifndef KMS_KMS_AUDIT_STORE_H
#define KMS_KMS_AUDIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/audit.h"

typedef struct audit_store audit_store_t;

/* Open path (creating it, schema brought up to date); durable: every
 * commit is synced (synchronous=FULL), else synchronous=NORMAL. */
int audit_store_open(const char *path, bool durable, audit_store_t **out);

/* Cap a SQLite store at bytes (PRAGMA max_page_count; 0: SQLite's own
 * maximum); PostgreSQL: a warning, no cap. */
int audit_store_max_size(audit_store_t *s, uint64_t bytes);

/* A write transaction (SQLite: waits for another writer up to the busy
 * timeout). */
int audit_store_begin(audit_store_t *s);
/* Insert n rows: recs[i] with count counts[i] (counts NULL: 1 each). */
int audit_store_insert(audit_store_t *s, const audit_rec_t *const *recs,
		       const uint64_t *counts, size_t n);
/* COMMIT; on failure the transaction is rolled back. */
int audit_store_commit(audit_store_t *s);
void audit_store_rollback(audit_store_t *s);

/* The text of the last failure ("sqlite: step: database or disk is full"). */
const char *audit_store_error(const audit_store_t *s);

/* The node column of the rows inserted from now on (kms.node; at most
 * AUDIT_NODE_MAX bytes are kept). */
#define AUDIT_NODE_MAX 63
void audit_store_set_node(audit_store_t *s, const char *node);

/* NULL is a no-op. */
void audit_store_close(audit_store_t *s);

#endif
