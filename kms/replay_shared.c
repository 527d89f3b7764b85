/*
 * The shared replay check: a pool of PostgreSQL connections, each with the
 * insert prepared on it, an outage state, counters and a sweeping thread.
 * Every connection is opened at start (a missing server fails the start,
 * as the kms store does) and kept: a connection the server dropped is
 * re-established by sql/db_pg.c on its next statement, quietly, so an
 * outage is logged here once and not by every thread that retries.
 */
#include "kms/replay_shared.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "sql/db.h"
#include "sql/schema.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const char sql_insert[] = "INSERT INTO replay (digest, expires) VALUES (?1, ?2) "
				 "ON CONFLICT (digest) DO NOTHING";
/* Oldest first through replay_expires; rows another node is deleting are
 * skipped rather than waited for. */
static const char sql_sweep[] = "DELETE FROM replay WHERE digest IN (SELECT digest FROM "
				"replay WHERE expires < ?1 ORDER BY expires LIMIT " STR(
				    REPLAY_SHARED_SWEEP_BATCH) " FOR UPDATE SKIP LOCKED)";

typedef struct {
	sqldb_t *db;
	sqldb_stmt_t *st;
} conn_t;

struct replay_shared {
	replay_shared_opts_t o;
	char *loc;
	pthread_mutex_t lock; /* the free list */
	pthread_cond_t freed;
	conn_t *conns;
	conn_t **free_list;
	size_t n, nfree;
	/* 0: up; else the store failed and checks fail at once until then
	 * (monotonic ms), when one check (the one that moves it) tries. */
	_Atomic int64_t retry_at;
	atomic_bool down; /* logged as down */
	_Atomic uint64_t checks, replays, refused, served, swept;
	/* The sweeper: its own connection, woken early only to stop. */
	pthread_mutex_t sweep_lock;
	pthread_cond_t wake;
	conn_t sweeper;
	pthread_t thread;
	bool running, stopping;
};

void replay_shared_opts_default(replay_shared_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = 1;
	o->skew = 300;
	o->retry_ms = REPLAY_SHARED_RETRY_MS;
	o->sweep_ms = REPLAY_SHARED_SWEEP_MS;
}

static int conn_open(const char *loc, const char *sql, conn_t *c)
{
	int ret = sqldb_open(loc, 0, &c->db);
	if (ret == KMS_EOK) {
		sqldb_set_quiet(c->db, true);
		ret = sqldb_prepare(c->db, sql, &c->st);
	}
	return ret;
}

static void conn_close(conn_t *c)
{
	sqldb_finalize(c->st);
	sqldb_close(c->db);
	c->st = NULL;
	c->db = NULL;
}

/* One connection: the schema, then the pool's n connections. */
static int open_pool(replay_shared_t *rs)
{
	sqldb_t *db = NULL;
	int ret = schema_open(rs->loc, SCHEMA_REPLAY, 0, &db);
	sqldb_close(db);
	for (size_t i = 0; ret == KMS_EOK && i < rs->n; i++) {
		ret = conn_open(rs->loc, sql_insert, &rs->conns[i]);
		rs->free_list[rs->nfree++] = &rs->conns[i];
	}
	if (ret == KMS_EOK) {
		ret = conn_open(rs->loc, sql_sweep, &rs->sweeper);
	}
	return ret;
}

static void *sweep_main(void *arg);

static int start_sweeper(replay_shared_t *rs)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rs->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (rs->o.sweep_ms == 0) {
		return KMS_EOK;
	}
	if (pthread_create(&rs->thread, NULL, sweep_main, rs) != 0) {
		return KMS_ENOMEM;
	}
	rs->running = true;
	return KMS_EOK;
}

int replay_shared_open(const replay_shared_opts_t *o, replay_shared_t **out)
{
	if (o == NULL || out == NULL || o->locator == NULL || o->conns == 0 ||
	    sqldb_locator_kind(o->locator) != SQLDB_PG) {
		return KMS_EINVAL;
	}
	replay_shared_t *rs = calloc(1, sizeof(*rs));
	if (rs == NULL) {
		return KMS_ENOMEM;
	}
	rs->o = *o;
	rs->n = o->conns;
	rs->loc = strdup(o->locator);
	rs->o.locator = rs->loc;
	rs->conns = calloc(rs->n, sizeof(*rs->conns));
	rs->free_list = calloc(rs->n, sizeof(*rs->free_list));
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->freed, NULL);
	pthread_mutex_init(&rs->sweep_lock, NULL);
	int ret = rs->loc != NULL && rs->conns != NULL && rs->free_list != NULL
		      ? open_pool(rs)
		      : KMS_ENOMEM;
	if (ret == KMS_EOK) {
		ret = start_sweeper(rs);
	} else {
		pthread_cond_init(&rs->wake, NULL); /* what close destroys */
	}
	if (ret != KMS_EOK) {
		replay_shared_close(rs);
		return ret;
	}
	*out = rs;
	return KMS_EOK;
}

void replay_shared_close(replay_shared_t *rs)
{
	if (rs == NULL) {
		return;
	}
	if (rs->running) {
		pthread_mutex_lock(&rs->sweep_lock);
		rs->stopping = true;
		pthread_cond_signal(&rs->wake);
		pthread_mutex_unlock(&rs->sweep_lock);
		pthread_join(rs->thread, NULL);
	}
	for (size_t i = 0; rs->conns != NULL && i < rs->n; i++) {
		conn_close(&rs->conns[i]);
	}
	conn_close(&rs->sweeper);
	pthread_cond_destroy(&rs->wake);
	pthread_mutex_destroy(&rs->sweep_lock);
	pthread_cond_destroy(&rs->freed);
	pthread_mutex_destroy(&rs->lock);
	free(rs->free_list);
	free(rs->conns);
	free(rs->loc);
	free(rs);
}

static conn_t *take(replay_shared_t *rs)
{
	pthread_mutex_lock(&rs->lock);
	while (rs->nfree == 0) {
		pthread_cond_wait(&rs->freed, &rs->lock); /* held for one statement */
	}
	conn_t *c = rs->free_list[--rs->nfree];
	pthread_mutex_unlock(&rs->lock);
	return c;
}

static void give(replay_shared_t *rs, conn_t *c)
{
	pthread_mutex_lock(&rs->lock);
	rs->free_list[rs->nfree++] = c;
	pthread_cond_signal(&rs->freed);
	pthread_mutex_unlock(&rs->lock);
}

/* The insert on one pooled connection: KMS_EOK (a row added),
 * KMS_EREPLAY (there was one) or the store's failure; *why gets its text. */
static int insert(replay_shared_t *rs, const uint8_t *digest, int64_t expires, char *why,
		  size_t why_len)
{
	conn_t *c = take(rs);
	int ret = sqldb_bind_blob(c->st, 1, digest, REPLAY_DIGEST_LEN);
	if (ret == KMS_EOK) {
		ret = sqldb_bind_int64(c->st, 2, expires);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(c->st);
	}
	if (ret == KMS_EOK && sqldb_changes(c->db) == 0) {
		ret = KMS_EREPLAY;
	}
	if (ret != KMS_EOK && ret != KMS_EREPLAY) {
		const char *m = sqldb_errmsg(c->db);
		snprintf(why, why_len, "%s", m[0] != '\0' ? m : kms_strerror(ret));
	}
	sqldb_reset(c->st);
	give(rs, c);
	return ret;
}

/* A failed check.  why: the store failed it (not NULL; else it failed
 * fast): the outage starts (logged once) or goes on, and the next retry_ms
 * fail fast. */
static int failed(replay_shared_t *rs, const char *why)
{
	if (why != NULL) {
		int64_t at = kms_clock_now_ms() + (int64_t)rs->o.retry_ms;
		atomic_store(&rs->retry_at, at != 0 ? at : 1);
	}
	if (why != NULL && !atomic_exchange(&rs->down, true)) {
		log_warning("shared replay store unreachable (%s): %s until it answers "
			    "(replay.on_store_failure)",
			    why,
			    rs->o.serve_on_failure
				? "serving with this node's replay cache only"
				: "refusing requests (503)");
	}
	if (rs->o.serve_on_failure) {
		atomic_fetch_add_explicit(&rs->served, 1, memory_order_relaxed);
		return KMS_EOK;
	}
	atomic_fetch_add_explicit(&rs->refused, 1, memory_order_relaxed);
	return KMS_EUNAVAIL;
}

/* During an outage only the check that moves retry_at on tries the store. */
static bool may_try(replay_shared_t *rs)
{
	int64_t at = atomic_load(&rs->retry_at);
	if (at == 0) {
		return true;
	}
	int64_t now = kms_clock_now_ms();
	return now >= at && atomic_compare_exchange_strong(&rs->retry_at, &at,
							   now + (int64_t)rs->o.retry_ms);
}

int replay_shared_check(replay_shared_t *rs, const uint8_t digest[REPLAY_DIGEST_LEN],
			int64_t expires)
{
	atomic_fetch_add_explicit(&rs->checks, 1, memory_order_relaxed);
	if (!may_try(rs)) {
		return failed(rs, NULL);
	}
	char why[256] = "";
	int ret = insert(rs, digest, expires, why, sizeof(why));
	if (ret != KMS_EOK && ret != KMS_EREPLAY) {
		return failed(rs, why);
	}
	atomic_store(&rs->retry_at, 0);
	if (atomic_exchange(&rs->down, false)) {
		log_notice("shared replay store answers again: checks resume");
	}
	if (ret == KMS_EREPLAY) {
		atomic_fetch_add_explicit(&rs->replays, 1, memory_order_relaxed);
	}
	return ret;
}

int replay_shared_sweep(replay_shared_t *rs, int64_t now, uint64_t *deleted)
{
	uint64_t total = 0;
	int ret = KMS_EOK;
	pthread_mutex_lock(&rs->sweep_lock);
	conn_t *c = &rs->sweeper;
	for (unsigned i = 0; ret == KMS_EOK && i < REPLAY_SHARED_SWEEP_BATCHES; i++) {
		ret = sqldb_bind_int64(c->st, 1, now - (int64_t)rs->o.skew);
		if (ret == KMS_EOK) {
			ret = sqldb_step_done(c->st);
		}
		sqldb_reset(c->st);
		int64_t n = ret == KMS_EOK ? sqldb_changes(c->db) : 0;
		total += (uint64_t)n;
		if (n < REPLAY_SHARED_SWEEP_BATCH) {
			break;
		}
	}
	pthread_mutex_unlock(&rs->sweep_lock);
	atomic_fetch_add_explicit(&rs->swept, total, memory_order_relaxed);
	if (deleted != NULL) {
		*deleted = total;
	}
	return ret;
}

static void *sweep_main(void *arg)
{
	replay_shared_t *rs = arg;
	pthread_mutex_lock(&rs->sweep_lock);
	while (!rs->stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += rs->o.sweep_ms / 1000;
		ts.tv_nsec += (long)(rs->o.sweep_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!rs->stopping &&
		       pthread_cond_timedwait(&rs->wake, &rs->sweep_lock, &ts) == 0) {
		}
		if (rs->stopping) {
			break;
		}
		pthread_mutex_unlock(&rs->sweep_lock);
		/* A failure is the checks' to report; the next sweep retries. */
		(void)replay_shared_sweep(rs, kms_clock_wall_s(), NULL);
		pthread_mutex_lock(&rs->sweep_lock);
	}
	pthread_mutex_unlock(&rs->sweep_lock);
	return NULL;
}

void replay_shared_stats(replay_shared_t *rs, replay_shared_stats_t *out)
{
	out->checks = atomic_load(&rs->checks);
	out->replays = atomic_load(&rs->replays);
	out->refused = atomic_load(&rs->refused);
	out->served = atomic_load(&rs->served);
	out->swept = atomic_load(&rs->swept);
	out->up = atomic_load(&rs->retry_at) == 0;
}
