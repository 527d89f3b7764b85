/*
 * Copies of the SQLite stores (kms.db, audit.db) for kmsctl backup and
 * restore, with SQLite's online backup API: a copy is consistent although
 * kmsd keeps writing (it reads one snapshot), and a restore replaces the
 * whole content of a store in one write transaction, so a reader sees the
 * old store or the new one, never a mix.
 *
 * A copy is one self-contained file in rollback-journal mode (no -wal or
 * -shm beside it), so it can be read with the file opened read-only and
 * moved or hashed as it is.
 */
#ifndef KMS_KMS_STORE_BACKUP_H
#define KMS_KMS_STORE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "kms/keyring.h"
#include "sql/schema.h"

/* Whether the store at locator can be copied here: false for a PostgreSQL
 * store, which is backed up with pg_dump and restored with pg_restore. */
bool store_backup_supported(const char *locator);

/*
 * Copy the store at src (schema store; it must exist: KMS_ENOENT) into the
 * new file dst (created 0600; KMS_EEXIST if it exists).  *version gets the
 * copy's schema version.  On failure dst is removed.
 */
int store_backup_copy(const char *src, schema_store_t store, const char *dst,
		      int *version);

/* The schema version of store in the copy at path (opened read-only);
 * KMS_ECONFIG when the file holds another store or none. */
int store_backup_version(const char *path, schema_store_t store, int *version);

/* The master keys of the kms.db copy at path (read-only), at most max,
 * in id order; *n gets the count.  Never any key bytes. */
int store_backup_keys(const char *path, keyring_info_t *out, size_t max, size_t *n);

/*
 * Replace the content of the store at dst (created 0600 when absent) with
 * the copy at src, which is opened read-only and left as it is.  The
 * schema is the copy's: the next open brings it up to date.
 */
int store_backup_restore(const char *src, const char *dst);

/*
 * Whether another process has the SQLite store at path open (a kmsd that
 * serves it): SQLite's connections in WAL mode each hold a read lock on
 * the dead-man-switch byte of path-shm.  False when there is no -shm file.
 * *pid gets the holder's process id when known (else 0).
 */
bool store_backup_in_use(const char *path, long *pid);

#endif
