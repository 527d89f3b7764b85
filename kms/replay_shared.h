/*
 * Replay protection across kmsd nodes (replay.shared): the messages any
 * node accepted, in the table replay of the PostgreSQL store
 * (sql/pg_replay_001.sql), so that every other node refuses them too while
 * they are inside the clock-skew window.
 *
 * It sits behind the node-local cache (kms/replay.h), which stays the
 * fast first check: only a message that cache has just added is checked
 * here, with one INSERT ... ON CONFLICT DO NOTHING (no row inserted: some
 * node accepted it first).  The message is named as in the local cache,
 * by its verified MAC zero-padded to REPLAY_DIGEST_LEN bytes: not keyed
 * per process, so every node names it alike.
 *
 * Connections: a pool of as many as the threads that run checks (the Ua
 * and Zk workers), each opened on first use with its statement prepared
 * once; a thread takes one for a single statement.  A connection that
 * failed is closed and opened again by the next check that gets it.
 *
 * When the store cannot be reached (or the insert fails) the check fails
 * with KMS_EUNAVAIL, or, with serve_on_failure, passes on the local
 * cache's word alone; for retry_ms after a failure checks fail at once
 * without touching the database.  The log says it once per outage and once
 * when the store answers again.  Monotonic time is common/clock.h's, so
 * tests move it with the fake clock.
 *
 * Expired rows are deleted by a thread of each node every sweep_ms, in
 * bounded batches (SKIP LOCKED: nodes sweeping at once do not wait for
 * each other), one clock skew after they expired: a node whose clock is
 * behind by up to that much still finds them.
 */
#ifndef KMS_KMS_REPLAY_SHARED_H
#define KMS_KMS_REPLAY_SHARED_H

#include <stdbool.h>
#include <stdint.h>

#include "kms/replay.h"

#define REPLAY_SHARED_RETRY_MS 1000  /* fail fast this long after a failure */
#define REPLAY_SHARED_SWEEP_MS 10000 /* between two sweeps of a node */
#define REPLAY_SHARED_SWEEP_BATCH 5000
#define REPLAY_SHARED_SWEEP_BATCHES 200 /* at most per sweep: 1 M rows */

typedef struct replay_shared replay_shared_t;

typedef struct {
	const char *locator;   /* "postgresql:..." (sql/db.h) */
	unsigned conns;	       /* pool size: the threads that run checks, >= 1 */
	bool serve_on_failure; /* replay.on_store_failure = "local" */
	uint32_t skew;	       /* policy.clock_skew: the grace before deletion */
	uint32_t retry_ms;     /* REPLAY_SHARED_RETRY_MS */
	uint32_t sweep_ms;     /* REPLAY_SHARED_SWEEP_MS; 0: no sweeping thread */
} replay_shared_opts_t;

typedef struct {
	uint64_t checks;  /* messages checked (the local cache let them by) */
	uint64_t replays; /* refused: another node (or this one) had it */
	uint64_t refused; /* failed checks answered KMS_EUNAVAIL */
	uint64_t served;  /* failed checks served on the local cache alone */
	uint64_t swept;	  /* expired rows this node deleted */
	bool up;	  /* the last check reached the store */
} replay_shared_stats_t;

void replay_shared_opts_default(replay_shared_opts_t *o);

/*
 * Connect once and bring the replay store's schema up to date (KMS_EINVAL
 * for a locator that is not PostgreSQL; KMS_EUNAVAIL when the server
 * cannot be reached), then start the sweeping thread.
 */
int replay_shared_open(const replay_shared_opts_t *o, replay_shared_t **out);
/* Stop the sweeper, close every connection; NULL is a no-op.  No check may
 * be running. */
void replay_shared_close(replay_shared_t *rs);

/*
 * Record the message named digest, live until expires (Unix seconds).
 * KMS_EOK: recorded now (or the store failed and serve_on_failure);
 * KMS_EREPLAY: already recorded; KMS_EUNAVAIL: the store failed.  Thread
 * safe; waits for a pooled connection when all are busy.
 */
int replay_shared_check(replay_shared_t *rs, const uint8_t digest[REPLAY_DIGEST_LEN],
			int64_t expires);

/*
 * Delete rows that expired before now - skew, in bounded batches, on the
 * sweeper's connection; *deleted (may be NULL) gets how many.  The
 * sweeping thread calls it every sweep_ms with the wall clock.
 */
int replay_shared_sweep(replay_shared_t *rs, int64_t now, uint64_t *deleted);

void replay_shared_stats(replay_shared_t *rs, replay_shared_stats_t *out);

#endif
