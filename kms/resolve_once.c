/*
 * The resolve-once record: a pool of store connections, each with its
 * statements prepared once, a row count (SQLite), an outage state and
 * counters.  See kms/resolve_once.h for what it promises.
 */
#include "kms/resolve_once.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "sql/db.h"
#include "sql/schema.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* The label keeps these digests apart from any other SHA-256 of a ticket. */
static const char key_label[] = "kmsd resolve-once v1";

static const char sql_insert[] = "INSERT INTO resolve_once (digest, expires) "
				 "VALUES (?1, ?2) ON CONFLICT (digest) DO NOTHING";
/* Full: is the key there (a reuse) or new (no room)? */
static const char sql_seen[] = "SELECT count(*) FROM resolve_once WHERE digest = ?1 "
			       "AND expires >= ?2";
/* A row of the key that expired but was not swept yet is no reuse. */
static const char sql_drop_one[] = "DELETE FROM resolve_once WHERE digest = ?1 "
				   "AND expires < ?2";
#define SWEEP_SELECT                                                                     \
	"DELETE FROM resolve_once WHERE digest IN (SELECT digest FROM resolve_once "     \
	"WHERE expires < ?1 ORDER BY expires LIMIT " STR(RESOLVE_ONCE_SWEEP_BATCH)
static const char sql_sweep_lite[] = SWEEP_SELECT ")";
/* Rows another node is deleting are skipped rather than waited for. */
static const char sql_sweep_pg[] = SWEEP_SELECT " FOR UPDATE SKIP LOCKED)";

typedef struct {
	sqldb_t *db;
	sqldb_stmt_t *ins, *drop, *sweep, *seen;
} conn_t;

struct resolve_once {
	resolve_once_opts_t o;
	char *loc;
	bool pg;
	pthread_mutex_t lock; /* the free list */
	pthread_cond_t freed;
	conn_t *conns;
	conn_t **free_list;
	size_t n, nfree;
	size_t rows; /* SQLite: changed only by the holder of its one conn */
	_Atomic int64_t next_sweep; /* Unix seconds; 0: at the first check */
	_Atomic int64_t retry_at;   /* monotonic ms; 0: up */
	atomic_bool down;	    /* logged as down */
	_Atomic uint64_t recorded, reused, full, failed, swept;
};

void resolve_once_opts_default(resolve_once_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->conns = 1;
	o->max_entries = 1048576;
	o->grace = 300;
	o->retry_ms = RESOLVE_ONCE_RETRY_MS;
}

int resolve_once_key(const uint8_t *ticket_data, size_t td_len, const char *id,
		     size_t id_len, uint8_t out[RESOLVE_ONCE_KEY_LEN])
{
	if (ticket_data == NULL || td_len == 0 || id == NULL || id_len == 0 ||
	    td_len > UINT32_MAX || id_len > UINT32_MAX) {
		return KMS_EINVAL;
	}
	/* Lengths first: no (ticket, identity) pair can be cut another way. */
	uint8_t lens[8] = { (uint8_t)(td_len >> 24), (uint8_t)(td_len >> 16),
			    (uint8_t)(td_len >> 8),  (uint8_t)td_len,
			    (uint8_t)(id_len >> 24), (uint8_t)(id_len >> 16),
			    (uint8_t)(id_len >> 8),  (uint8_t)id_len };
	crypto_iov_t iov[] = {
		{ (const uint8_t *)key_label, sizeof(key_label) }, /* with its NUL */
		{ lens, sizeof(lens) },
		{ ticket_data, td_len },
		{ (const uint8_t *)id, id_len },
	};
	return crypto_hash(CRYPTO_MD_SHA256, iov, sizeof(iov) / sizeof(iov[0]), out);
}

static int conn_open(const resolve_once_t *ro, conn_t *c)
{
	int ret = sqldb_open(ro->loc, !ro->pg, &c->db);
	if (ret == KMS_EOK) {
		sqldb_set_quiet(c->db, true); /* an outage is logged here, once */
		/* WAL without an fsync per row, as the replay journal: a killed
		 * kmsd loses nothing, a power cut may lose the last rows. */
		ret = ro->pg ? KMS_EOK : sqldb_exec(c->db, "PRAGMA synchronous=NORMAL");
	}
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(c->db, sql_insert, &c->ins);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(c->db, sql_drop_one, &c->drop);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(c->db, sql_seen, &c->seen);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(c->db, ro->pg ? sql_sweep_pg : sql_sweep_lite,
				    &c->sweep);
	}
	return ret;
}

static void conn_close(conn_t *c)
{
	sqldb_finalize(c->ins);
	sqldb_finalize(c->drop);
	sqldb_finalize(c->sweep);
	sqldb_finalize(c->seen);
	sqldb_close(c->db);
	memset(c, 0, sizeof(*c));
}

/* The schema on one connection (the SQLite file made here), the rows
 * SQLite holds, then the pool. */
static int open_pool(resolve_once_t *ro)
{
	sqldb_t *db = NULL;
	int ret =
	    schema_open(ro->loc, ro->pg ? SCHEMA_REPLAY : SCHEMA_ONCE, !ro->pg, &db);
	int64_t rows = 0;
	if (ret == KMS_EOK && !ro->pg) {
		ret = sqldb_query_int64(db, "SELECT count(*) FROM resolve_once", &rows);
		ro->rows = rows > 0 ? (size_t)rows : 0;
	}
	sqldb_close(db);
	for (size_t i = 0; ret == KMS_EOK && i < ro->n; i++) {
		ret = conn_open(ro, &ro->conns[i]);
		ro->free_list[ro->nfree++] = &ro->conns[i];
	}
	return ret;
}

int resolve_once_open(const resolve_once_opts_t *o, resolve_once_t **out)
{
	if (o == NULL || out == NULL || o->locator == NULL || o->conns == 0 ||
	    o->max_entries == 0) {
		return KMS_EINVAL;
	}
	resolve_once_t *ro = calloc(1, sizeof(*ro));
	if (ro == NULL) {
		return KMS_ENOMEM;
	}
	ro->o = *o;
	ro->pg = sqldb_locator_kind(o->locator) == SQLDB_PG;
	ro->n = ro->pg ? o->conns : 1; /* SQLite: one writer, an exact count */
	ro->loc = strdup(o->locator);
	ro->o.locator = ro->loc;
	ro->conns = calloc(ro->n, sizeof(*ro->conns));
	ro->free_list = calloc(ro->n, sizeof(*ro->free_list));
	pthread_mutex_init(&ro->lock, NULL);
	pthread_cond_init(&ro->freed, NULL);
	int ret = ro->loc != NULL && ro->conns != NULL && ro->free_list != NULL
		      ? open_pool(ro)
		      : KMS_ENOMEM;
	if (ret != KMS_EOK) {
		resolve_once_close(ro);
		return ret;
	}
	*out = ro;
	return KMS_EOK;
}

void resolve_once_close(resolve_once_t *ro)
{
	if (ro == NULL) {
		return;
	}
	for (size_t i = 0; ro->conns != NULL && i < ro->n; i++) {
		conn_close(&ro->conns[i]);
	}
	pthread_cond_destroy(&ro->freed);
	pthread_mutex_destroy(&ro->lock);
	free(ro->free_list);
	free(ro->conns);
	free(ro->loc);
	free(ro);
}

static conn_t *take(resolve_once_t *ro)
{
	pthread_mutex_lock(&ro->lock);
	while (ro->nfree == 0) {
		pthread_cond_wait(&ro->freed, &ro->lock); /* held for a few statements */
	}
	conn_t *c = ro->free_list[--ro->nfree];
	pthread_mutex_unlock(&ro->lock);
	return c;
}

static void give(resolve_once_t *ro, conn_t *c)
{
	pthread_mutex_lock(&ro->lock);
	ro->free_list[ro->nfree++] = c;
	pthread_cond_signal(&ro->freed);
	pthread_mutex_unlock(&ro->lock);
}

/* One statement with the key and/or a time bound: the rows it changed. */
static int run(sqldb_stmt_t *st, const uint8_t *key, int64_t t, int64_t *changed)
{
	int i = 1;
	int ret =
	    key != NULL ? sqldb_bind_blob(st, i++, key, RESOLVE_ONCE_KEY_LEN) : KMS_EOK;
	if (ret == KMS_EOK) {
		ret = sqldb_bind_int64(st, i, t);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(st);
	}
	*changed = ret == KMS_EOK ? sqldb_changes(sqldb_handle(st)) : 0;
	sqldb_reset(st);
	return ret;
}

/* Live rows of key on c (held), in *n. */
static int seen(conn_t *c, const uint8_t *key, int64_t now, int64_t *n)
{
	int ret = sqldb_bind_blob(c->seen, 1, key, RESOLVE_ONCE_KEY_LEN);
	if (ret == KMS_EOK) {
		ret = sqldb_bind_int64(c->seen, 2, now);
	}
	int step = ret == KMS_EOK ? sqldb_step(c->seen) : ret;
	ret = step == SQLDB_ROW ? KMS_EOK : step == SQLDB_DONE ? KMS_EIO : step;
	*n = ret == KMS_EOK ? sqldb_column_int64(c->seen, 0) : 0;
	sqldb_reset(c->seen);
	return ret;
}

/* Bounded batches of expired rows on c (held). */
static int sweep_on(resolve_once_t *ro, conn_t *c, int64_t now, uint64_t *deleted)
{
	uint64_t total = 0;
	int ret = KMS_EOK;
	for (unsigned i = 0; ret == KMS_EOK && i < RESOLVE_ONCE_SWEEP_BATCHES; i++) {
		int64_t n = 0;
		ret = run(c->sweep, NULL, now - (int64_t)ro->o.grace, &n);
		total += (uint64_t)n;
		if (n < RESOLVE_ONCE_SWEEP_BATCH) {
			break;
		}
	}
	if (!ro->pg) {
		ro->rows = total < ro->rows ? ro->rows - total : 0;
	}
	atomic_fetch_add_explicit(&ro->swept, total, memory_order_relaxed);
	*deleted = total;
	return ret;
}

int resolve_once_sweep(resolve_once_t *ro, int64_t now, uint64_t *deleted)
{
	uint64_t n = 0;
	conn_t *c = take(ro);
	int ret = sweep_on(ro, c, now, &n);
	give(ro, c);
	if (deleted != NULL) {
		*deleted = n;
	}
	return ret;
}

/* The insert, with an expired row of the key dropped first when there is
 * one: KMS_EOK (inserted), KMS_EREPLAY (a live row), KMS_ENOSPC or the
 * store's failure. */
static int insert(resolve_once_t *ro, conn_t *c, const uint8_t *key, int64_t expires,
		  int64_t now)
{
	uint64_t swept = 0;
	int64_t n = 0;
	int ret = KMS_EOK;
	if (!ro->pg && ro->rows >= ro->o.max_entries) {
		ret = sweep_on(ro, c, now, &swept);
		if (ret == KMS_EOK && ro->rows >= ro->o.max_entries) {
			ret = seen(c, key, now, &n);
			return ret != KMS_EOK ? ret : n > 0 ? KMS_EREPLAY : KMS_ENOSPC;
		}
	}
	if (ret == KMS_EOK) {
		ret = run(c->ins, key, expires, &n);
	}
	if (ret == KMS_EOK && n == 0) {
		ret = run(c->drop, key, now, &n);
		if (ret == KMS_EOK && n == 1 && !ro->pg && ro->rows > 0) {
			ro->rows--;
		}
		if (ret == KMS_EOK) {
			ret = n == 1 ? run(c->ins, key, expires, &n) : KMS_EREPLAY;
		}
		if (ret == KMS_EOK && n == 0) {
			ret = KMS_EREPLAY; /* another node's, between the two */
		}
	}
	if (ret == KMS_EOK && !ro->pg) {
		ro->rows++;
	}
	return ret;
}

/* A failed check.  why: the store failed it (else it failed fast): the
 * outage starts (logged once) or goes on, and the next retry_ms fail fast. */
static int failed(resolve_once_t *ro, const char *why)
{
	atomic_fetch_add_explicit(&ro->failed, 1, memory_order_relaxed);
	if (why != NULL) {
		int64_t at = kms_clock_now_ms() + (int64_t)ro->o.retry_ms;
		atomic_store(&ro->retry_at, at != 0 ? at : 1);
	}
	if (why != NULL && !atomic_exchange(&ro->down, true)) {
		log_warning("resolve-once record unreachable (%s): %s until it answers "
			    "(replay.on_store_failure)",
			    why,
			    ro->o.serve_on_failure
				? "resolving tickets with J = 0 unrecorded"
				: "refusing resolves of tickets with J = 0 (503)");
	}
	return ro->o.serve_on_failure ? KMS_EOK : KMS_EUNAVAIL;
}

/* During an outage only the check that moves retry_at on tries the store. */
static bool may_try(resolve_once_t *ro)
{
	int64_t at = atomic_load(&ro->retry_at);
	if (at == 0) {
		return true;
	}
	int64_t now = kms_clock_now_ms();
	return now >= at && atomic_compare_exchange_strong(&ro->retry_at, &at,
							   now + (int64_t)ro->o.retry_ms);
}

/* The check that moves next_sweep on sweeps. */
static bool sweep_due(resolve_once_t *ro, int64_t now)
{
	int64_t at = atomic_load(&ro->next_sweep);
	return now >= at && atomic_compare_exchange_strong(&ro->next_sweep, &at,
							   now + RESOLVE_ONCE_SWEEP_S);
}

int resolve_once_check(resolve_once_t *ro, const uint8_t key[RESOLVE_ONCE_KEY_LEN],
		       int64_t expires, int64_t now)
{
	if (!may_try(ro)) {
		return failed(ro, NULL);
	}
	conn_t *c = take(ro);
	uint64_t swept = 0;
	int ret = sweep_due(ro, now) ? sweep_on(ro, c, now, &swept) : KMS_EOK;
	if (ret == KMS_EOK) {
		ret = insert(ro, c, key, expires, now);
	}
	char why[256] = "";
	if (ret != KMS_EOK && ret != KMS_EREPLAY && ret != KMS_ENOSPC) {
		const char *m = sqldb_errmsg(c->db);
		snprintf(why, sizeof(why), "%s", m[0] != '\0' ? m : kms_strerror(ret));
	}
	give(ro, c);
	if (why[0] != '\0') {
		return failed(ro, why);
	}
	atomic_store(&ro->retry_at, 0);
	if (atomic_exchange(&ro->down, false)) {
		log_notice("resolve-once record answers again: checks resume");
	}
	_Atomic uint64_t *count = ret == KMS_EOK       ? &ro->recorded
				  : ret == KMS_EREPLAY ? &ro->reused
						       : &ro->full;
	atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
	return ret;
}

void resolve_once_stats(resolve_once_t *ro, resolve_once_stats_t *out)
{
	out->recorded = atomic_load(&ro->recorded);
	out->reused = atomic_load(&ro->reused);
	out->full = atomic_load(&ro->full);
	out->failed = atomic_load(&ro->failed);
	out->swept = atomic_load(&ro->swept);
	conn_t *c = take(ro); /* rows is the conn holder's */
	out->rows = ro->rows;
	give(ro, c);
	out->up = atomic_load(&ro->retry_at) == 0;
}
