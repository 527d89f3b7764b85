/*
 * The "resolved once" record (resolve.once, docs/policy.md "Ticket reuse
 * (flag J)"): which KMS user identity resolved which ticket that may not
 * be reused (J = 0), so that the same identity's next resolve of it is
 * refused.  kmsd's tickets are stateless; without this record a second
 * resolve of a J = 0 ticket cannot be told from the first.
 *
 * A row is named by a key: SHA-256 of a domain label, the ticket's Ticket
 * Data and the matched identity, each with its length, so one ticket gives
 * each member of a group its own row and nothing readable is stored.  It
 * lives until expires (the ticket's end of validity, capped by the caller)
 * and is deleted one grace period (the clock skew) later.
 *
 * Two backends behind one interface (sql/db.h locators):
 *   SQLite      one node's record, state_dir/resolve_once.db (schema
 *               "once"), one connection; at most max_entries rows.  When
 *               full, expired rows are deleted first; if none is, the check
 *               fails with KMS_ENOSPC (kmsd answers 503): live rows are
 *               never evicted, an evicted row would let its ticket be
 *               resolved again.
 *   PostgreSQL  the record of every node sharing the replay store (table
 *               resolve_once, sql/pg_replay_002.sql), a pool of conns
 *               connections; no row bound here (rows expire; the database
 *               is sized for the J = 0 resolves of one ticket lifetime).
 * The check-and-insert is one INSERT ... ON CONFLICT DO NOTHING: of two
 * checks of one key at once (threads or nodes) exactly one inserts.
 *
 * Expired rows are deleted in bounded batches by the check that finds the
 * sweep due (every RESOLVE_ONCE_SWEEP_S of the caller's now) and by a full
 * SQLite record; no thread of its own.  When the store fails, the check
 * fails with KMS_EUNAVAIL or, with serve_on_failure, passes unrecorded;
 * for RESOLVE_ONCE_RETRY_MS after a failure checks fail at once.  The log
 * says it once per outage.  The caller passes every now (Unix seconds);
 * the fail-fast window uses common/clock.h's monotonic clock, so tests run
 * both on a fake clock.
 */
#ifndef KMS_KMS_RESOLVE_ONCE_H
#define KMS_KMS_RESOLVE_ONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESOLVE_ONCE_KEY_LEN 32
#define RESOLVE_ONCE_FILE "resolve_once.db"
#define RESOLVE_ONCE_SWEEP_S 10	      /* between two sweeps */
#define RESOLVE_ONCE_SWEEP_BATCH 5000 /* rows per DELETE */
#define RESOLVE_ONCE_SWEEP_BATCHES 20 /* at most per sweep: 100 000 rows */
#define RESOLVE_ONCE_RETRY_MS 1000    /* fail fast this long after a failure */

typedef struct resolve_once resolve_once_t;

typedef struct {
	const char *locator;   /* a SQLite file or "postgresql:..." (sql/db.h) */
	unsigned conns;	       /* PostgreSQL pool size, >= 1 (SQLite: 1) */
	size_t max_entries;    /* SQLite: the row bound, >= 1 */
	bool serve_on_failure; /* replay.on_store_failure = "local" */
	uint32_t grace;	       /* seconds a row outlives expires (clock skew) */
	uint32_t retry_ms;     /* RESOLVE_ONCE_RETRY_MS */
} resolve_once_opts_t;

typedef struct {
	uint64_t recorded; /* rows inserted */
	uint64_t reused;   /* checks refused: the key was there */
	uint64_t full;	   /* checks refused: the SQLite record was full */
	uint64_t failed;   /* checks the store failed (refused or served) */
	uint64_t swept;	   /* expired rows deleted */
	size_t rows;	   /* SQLite: rows held now; PostgreSQL: 0 */
	bool up;	   /* the last check reached the store */
} resolve_once_stats_t;

void resolve_once_opts_default(resolve_once_opts_t *o);

/* The row key of (ticket data, identity); KMS_EINVAL for empty input. */
int resolve_once_key(const uint8_t *ticket_data, size_t td_len, const char *id,
		     size_t id_len, uint8_t out[RESOLVE_ONCE_KEY_LEN]);

/*
 * Open the store (an SQLite file is created, mode 0600) and bring its
 * schema up to date; KMS_EUNAVAIL when a PostgreSQL server cannot be
 * reached.  The first check sweeps.
 */
int resolve_once_open(const resolve_once_opts_t *o, resolve_once_t **out);
/* Close every connection; NULL is a no-op.  No check may be running. */
void resolve_once_close(resolve_once_t *ro);

/*
 * Record key, live until expires (Unix seconds), at now.  KMS_EOK:
 * recorded now (or the store failed and serve_on_failure); KMS_EREPLAY:
 * a live row had it (resolved before); KMS_ENOSPC: the SQLite record is
 * full of live rows; KMS_EUNAVAIL: the store failed.  Thread safe.
 */
int resolve_once_check(resolve_once_t *ro, const uint8_t key[RESOLVE_ONCE_KEY_LEN],
		       int64_t expires, int64_t now);

/* Delete rows that expired before now - grace, in bounded batches;
 * *deleted (may be NULL) gets how many. */
int resolve_once_sweep(resolve_once_t *ro, int64_t now, uint64_t *deleted);

void resolve_once_stats(resolve_once_t *ro, resolve_once_stats_t *out);

#endif
