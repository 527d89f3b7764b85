/*
 * The store watch: with the PostgreSQL store, one thread that listens on
 * channel kms_change, which the triggers of sql/pg_kms_001.sql NOTIFY at
 * the commit of every change to what kmsd loads (master keys, PSK users,
 * policy rules, Zk peers).  It tells kmsd's main loop at once, so that a
 * change made through any node (kmsctl) is in force on every node within
 * moments instead of after policy.reload_interval, which stays as the
 * backstop.
 *
 * The thread owns a connection of its own, named "kmsd-watch NODE" in
 * pg_stat_activity.application_name.  It blocks in poll() on that
 * connection's socket and on a wake pipe that store_watch_stop() writes.
 * A lost connection is logged once and opened again after a backoff
 * (100 ms doubling to 5 s); notifications sent meanwhile are lost, so the
 * first one after a reconnection is STORE_WATCH_RESYNC: reload everything.
 *
 * The callback runs on the watch thread and must not block: kmsd's sets a
 * flag and wakes its main loop, which does the reload (and coalesces a
 * burst of calls into one).
 */
#ifndef KMS_KMS_STORE_WATCH_H
#define KMS_KMS_STORE_WATCH_H

#include "kms/metrics.h"

#define STORE_WATCH_CHANNEL "kms_change"
#define STORE_WATCH_BACKOFF_MIN_MS 100u
#define STORE_WATCH_BACKOFF_MAX_MS 5000u

typedef enum {
	STORE_WATCH_CHANGED = 0, /* notified (or first listening): compare versions */
	STORE_WATCH_RESYNC = 1,	 /* listening again after a loss: reload all */
} store_watch_event_t;

typedef void (*store_watch_fn)(void *ctx, store_watch_event_t ev);

typedef struct {
	const char *locator; /* "postgresql:..." (cfg->keys_loc); copied */
	const char *node;    /* names the session (cfg->node_name) */
	store_watch_fn fn;
	void *ctx;
	kms_metrics_t *metrics; /* notifications and connected, or NULL */
} store_watch_cfg_t;

typedef struct store_watch store_watch_t;

/*
 * Start the thread (it connects by itself, so an unreachable server is no
 * error here).  KMS_EINVAL for a locator that is not PostgreSQL.
 */
int store_watch_start(const store_watch_cfg_t *cfg, store_watch_t **out);

/* Wake the thread, wait for it to end, free everything; NULL is a no-op. */
void store_watch_stop(store_watch_t *w);

/* The wait after a failed attempt that waited prev_ms (0: the first). */
unsigned store_watch_backoff(unsigned prev_ms);

#endif
