/*
 * Audit writer: a bounded ring of records under one mutex, drained by one
 * thread that owns the store (kms/audit_store.h).  audit_log() copies a
 * record into the ring and wakes the writer when a batch is ready (durable:
 * at once, and waits for the commit); the writer otherwise flushes every
 * AUDIT_FLUSH_MS by kms_clock_now_ms() (common/clock.h: a test on the fake
 * clock says when the interval has passed; the timed wait between the
 * threads is only how the writer gets to look, on the real clock).  Each
 * batch of up to AUDIT_BATCH records, with the sampled rows that are due,
 * is one transaction.  The mutex is never held across disk I/O.
 *
 * A failed write keeps its batch: the writer retries it every
 * AUDIT_RETRY_MS until it commits (or, at close, gives up once and counts
 * the rows as lost).  Meanwhile the ring fills no further in refuse mode
 * (requests are refused and counted in sampled rows), and up to its bound
 * in serve mode (then dropped and counted).  Every record carries a
 * sequence number; a durable request waits on its own waiter_t, which the
 * writer completes when the batch holding its row commits (or refuses when
 * the write fails).  A waiter that times out marks its slot abandoned: the
 * row is then written as refused (KMS_EAUDIT), as the client saw it.
 */
#include "kms/audit.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "kms/audit_sample.h"
#include "kms/audit_store.h"

#define AUDIT_BATCH 1024
#define AUDIT_FLUSH_MS 200
#define AUDIT_RETRY_MS 200
#define WHY_MAX 160

enum { ST_OK = 0, ST_FULL = 1, ST_FAILING = 2 };

/* What the writer has to log once it has let go of the lock. */
enum { NOTE_NONE = 0, NOTE_FAILING, NOTE_RECOVERED, NOTE_ROOM, NOTE_GAVE_UP };

typedef struct {
	int result; /* KMS_EOK or KMS_EAUDIT, once done */
	bool done;
} waiter_t;

typedef struct {
	audit_rec_t rec;
	uint64_t seq;
	waiter_t *waiter; /* durable: the request waiting for this row */
	bool abandoned;	  /* answered 503: write the row as refused */
} slot_t;

struct audit {
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* the writer waits for work on it */
	pthread_cond_t looked;	/* the writer finished a look (audit_tick) */
	pthread_cond_t written; /* a write attempt ended (durable waiters) */
	audit_opts_t o;
	slot_t *ring; /* cap slots; count used from head */
	size_t cap;
	size_t head;
	size_t count;
	size_t signal_at; /* wake the writer when count reaches this */
	uint64_t next_seq;
	int stop;
	uint64_t ticks_asked; /* audit_tick() calls */
	uint64_t ticks_done;  /* of those, answered by a finished look */
	atomic_int state;     /* ST_*: what audit_refusing() reads */
	bool failing;	      /* the last write failed */
	bool full;	      /* the queue filled; cleared at half */
	int64_t fail_since;
	char why[WHY_MAX]; /* the last write failure */
	uint64_t max_size;
	bool max_size_new;
	audit_samples_t *samples;
	audit_stats_t st; /* dropped is the atomic below */
	atomic_uint_least64_t dropped;
	/* Writer thread only (batch slots' waiter fields: under the lock). */
	int64_t flush_at, retry_at, sample_at;
	audit_store_t *store;
	size_t batch_n, samp_n;
	slot_t batch[AUDIT_BATCH];
	audit_sample_row_t samp[AUDIT_SAMPLE_ROWS];
	const audit_rec_t *recs[AUDIT_BATCH + AUDIT_SAMPLE_ROWS];
	uint64_t counts[AUDIT_BATCH + AUDIT_SAMPLE_ROWS];
	pthread_t thread;
};

void audit_opts_default(audit_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->queue_max = 65536;
	o->refuse = true;
	o->durable_timeout_ms = 2000;
	o->sample_ms = 10000;
}

/* Under the lock: the state audit_refusing() reads. */
static void state_update(audit_t *a)
{
	atomic_store(&a->state, a->failing ? ST_FAILING : a->full ? ST_FULL : ST_OK);
}

/* A request answered 503 because of the audit log, as its row says it. */
static void mark_refused(audit_rec_t *r)
{
	r->decision = 0;
	r->error = KMS_EAUDIT;
	r->reason = "answered 503: the audit row could not be written in time";
}

/* Under the lock: a refused request, counted in the sampled rows. */
static void refuse_locked(audit_t *a, const audit_rec_t *rec)
{
	audit_rec_t r = *rec;
	mark_refused(&r);
	r.reason = "answered 503: the audit log was failing";
	a->st.refused++;
	audit_samples_add(a->samples, &r);
}

/* --- the writer ----------------------------------------------------------------- */

/* The real-clock deadline of a wait of ms milliseconds (CLOCK_MONOTONIC,
 * the clock of the condition variables). */
static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Under the lock: move up to AUDIT_BATCH queued records into the batch. */
static int take_batch(audit_t *a)
{
	size_t n = a->count < AUDIT_BATCH ? a->count : AUDIT_BATCH;
	for (size_t i = 0; i < n; i++) {
		a->batch[i] = a->ring[(a->head + i) % a->cap];
	}
	a->head = (a->head + n) % a->cap;
	a->count -= n;
	a->batch_n = n;
	if (a->full && a->count <= a->cap / 2) {
		a->full = false; /* at half, so that a busy queue does not flap */
		state_update(a);
		return NOTE_ROOM;
	}
	return NOTE_NONE;
}

/* Under the lock: whether to write now (the batch, the sampled rows, or a
 * retry of what failed).  The flush interval restarts whenever reached. */
static bool take_due(audit_t *a, int *note)
{
	int64_t now = kms_clock_now_ms();
	bool timer = now >= a->flush_at;
	if (timer) {
		a->flush_at = now + AUDIT_FLUSH_MS;
	}
	if (a->failing) {
		return a->stop || now >= a->retry_at;
	}
	bool due = false;
	if (a->count > 0 && (timer || a->stop || a->count >= a->signal_at)) {
		*note = take_batch(a);
		due = true;
	}
	if (a->stop || now >= a->sample_at) {
		a->sample_at = now + a->o.sample_ms;
		if (audit_samples_rows(a->samples) > 0) {
			a->samp_n = audit_samples_take(a->samples, a->samp);
			due = true;
		}
	}
	return due;
}

/* Under the lock, before a write: rows whose waiter gave up say so; the
 * rows to insert, in queue order, then the sampled rows. */
static size_t prepare_rows(audit_t *a)
{
	size_t n = 0;
	for (size_t i = 0; i < a->batch_n; i++, n++) {
		slot_t *s = &a->batch[i];
		if (s->abandoned) {
			mark_refused(&s->rec);
			s->abandoned = false;
		}
		a->recs[n] = &s->rec;
		a->counts[n] = 1;
	}
	for (size_t i = 0; i < a->samp_n; i++, n++) {
		a->recs[n] = &a->samp[i].rec;
		a->counts[n] = a->samp[i].count;
	}
	return n;
}

/* Under the lock: every waiter of the batch and the ring is told (refuse:
 * 503, its row rewritten as refused; serve: answer). */
static void release_waiters(audit_t *a, int result)
{
	for (size_t i = 0; i < a->batch_n + a->count; i++) {
		slot_t *s = i < a->batch_n
				? &a->batch[i]
				: &a->ring[(a->head + i - a->batch_n) % a->cap];
		if (s->waiter == NULL) {
			continue;
		}
		s->waiter->result = result;
		s->waiter->done = true;
		s->waiter = NULL;
		if (result != KMS_EOK) {
			s->abandoned = true;
			a->st.refused++;
		}
	}
}

/* Under the lock: the batch committed. */
static int write_ok(audit_t *a, size_t rows)
{
	for (size_t i = 0; i < a->batch_n; i++) {
		slot_t *s = &a->batch[i];
		if (s->waiter != NULL) {
			s->waiter->result = KMS_EOK;
			s->waiter->done = true;
		} else if (s->abandoned) {
			a->st.late++; /* gave up while this very commit ran */
		}
	}
	a->st.written += rows;
	a->batch_n = 0;
	a->samp_n = 0;
	if (!a->failing) {
		return NOTE_NONE;
	}
	a->failing = false;
	state_update(a);
	return NOTE_RECOVERED;
}

/* Under the lock: the write failed; the batch is kept for a retry. */
static int write_failed(audit_t *a, int ret)
{
	int note = NOTE_NONE;
	int64_t now = kms_clock_now_ms();
	a->st.failures++;
	a->retry_at = now + AUDIT_RETRY_MS;
	if (!a->failing) {
		a->failing = true;
		a->fail_since = now;
		snprintf(a->why, sizeof(a->why), "%s (%s)", audit_store_error(a->store),
			 kms_err_name(ret));
		state_update(a);
		note = NOTE_FAILING;
	}
	release_waiters(a, a->o.refuse ? KMS_EAUDIT : KMS_EOK);
	if (a->stop) {
		/* Closing: one last attempt failed; nothing will retry. */
		a->st.lost += a->batch_n + a->samp_n + a->count +
			      audit_samples_take(a->samples, a->samp);
		a->batch_n = 0;
		a->samp_n = 0;
		a->head = (a->head + a->count) % a->cap;
		a->count = 0;
		note = NOTE_GAVE_UP;
	}
	return note;
}

static void log_note(audit_t *a, int note)
{
	switch (note) {
	case NOTE_FAILING:
		log_error("audit: cannot write to the audit log: %s; %s", a->why,
			  a->o.refuse ? "requests are refused with 503 until a write "
					"succeeds (audit.on_failure = refuse)"
				      : "requests are still answered (audit.on_failure "
					"= serve)");
		break;
	case NOTE_RECOVERED:
		log_notice("audit: the audit log takes writes again after %lld ms "
			   "(%llu failed attempts, %llu requests refused so far)",
			   (long long)(kms_clock_now_ms() - a->fail_since),
			   (unsigned long long)a->st.failures,
			   (unsigned long long)a->st.refused);
		break;
	case NOTE_ROOM:
		log_notice("audit: the queue has room again (%llu records dropped so "
			   "far)",
			   (unsigned long long)atomic_load(&a->dropped));
		break;
	case NOTE_GAVE_UP:
		log_error("audit: closing with the audit log still failing: %llu "
			  "records lost",
			  (unsigned long long)a->st.lost);
		break;
	default:
		break;
	}
}

/* Called and returns with the lock held; the disk I/O runs without it. */
static void write_attempt(audit_t *a)
{
	bool resize = a->max_size_new;
	uint64_t max_size = a->max_size;
	a->max_size_new = false;
	pthread_mutex_unlock(&a->lock);
	int ret = resize ? audit_store_max_size(a->store, max_size) : KMS_EOK;
	if (ret == KMS_EOK) {
		ret = audit_store_begin(a->store);
	}
	pthread_mutex_lock(&a->lock);
	size_t n = ret == KMS_EOK ? prepare_rows(a) : 0;
	pthread_mutex_unlock(&a->lock);
	if (ret == KMS_EOK) {
		ret = audit_store_insert(a->store, a->recs, a->counts, n);
	}
	if (ret == KMS_EOK) {
		ret = audit_store_commit(a->store);
	} else {
		audit_store_rollback(a->store);
	}
	pthread_mutex_lock(&a->lock);
	if (resize && ret != KMS_EOK) {
		a->max_size_new = true; /* apply it again with the retry */
	}
	int note = ret == KMS_EOK ? write_ok(a, n) : write_failed(a, ret);
	pthread_cond_broadcast(&a->written);
	if (note != NOTE_NONE) {
		pthread_mutex_unlock(&a->lock);
		log_note(a, note);
		pthread_mutex_lock(&a->lock);
	}
}

/* Under the lock: wait until woken or something is due (at most
 * AUDIT_FLUSH_MS on the real clock; take_due() decides on waking). */
static void wait_for_work(audit_t *a)
{
	if (a->ticks_asked != a->ticks_done || a->stop ||
	    (!a->failing && a->count >= a->signal_at)) {
		return;
	}
	int64_t now = kms_clock_now_ms();
	int64_t left = (a->failing ? a->retry_at : a->flush_at) - now;
	if (a->sample_at - now < left) {
		left = a->sample_at - now;
	}
	if (left < 1 || left > AUDIT_FLUSH_MS) {
		left = left < 1 ? 1 : AUDIT_FLUSH_MS;
	}
	struct timespec ts;
	deadline_in(&ts, left);
	/* A timeout or a spurious wake-up both just look again. */
	(void)pthread_cond_timedwait(&a->wake, &a->lock, &ts);
}

static bool all_done(audit_t *a)
{
	return a->stop && a->count == 0 && a->batch_n == 0 && a->samp_n == 0 &&
	       audit_samples_rows(a->samples) == 0;
}

static void *writer_main(void *arg)
{
	audit_t *a = arg;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		uint64_t asked = a->ticks_asked;
		int note = NOTE_NONE;
		bool due = take_due(a, &note);
		if (note != NOTE_NONE) {
			pthread_mutex_unlock(&a->lock);
			log_note(a, note);
			pthread_mutex_lock(&a->lock);
		}
		if (due) {
			write_attempt(a);
			continue;
		}
		/* Nothing (more) to write now: every tick asked before this look
		 * has its answer. */
		a->ticks_done = asked;
		pthread_cond_broadcast(&a->looked);
		if (all_done(a)) {
			break;
		}
		wait_for_work(a);
	}
	a->ticks_done = a->ticks_asked;
	pthread_cond_broadcast(&a->looked);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* --- set-up -------------------------------------------------------------------- */

/* Start the writer with every signal blocked (signals belong to main). */
static int start_writer(audit_t *a)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&a->thread, NULL, writer_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? KMS_EOK : -rc;
}

/* The lock and three conditions; the timed waits are on CLOCK_MONOTONIC. */
static int init_sync(audit_t *a)
{
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0) {
		return KMS_ENOMEM;
	}
	int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int made = 0;
	if (rc == 0 && (rc = pthread_cond_init(&a->wake, &ca)) == 0) {
		made = 1;
		rc = pthread_cond_init(&a->written, &ca);
	}
	if (rc == 0 && (made = 2, rc = pthread_cond_init(&a->looked, NULL)) == 0) {
		made = 3;
		rc = pthread_mutex_init(&a->lock, NULL);
	}
	pthread_condattr_destroy(&ca);
	if (rc != 0) {
		if (made >= 3) {
			pthread_cond_destroy(&a->looked);
		}
		if (made >= 2) {
			pthread_cond_destroy(&a->written);
		}
		if (made >= 1) {
			pthread_cond_destroy(&a->wake);
		}
		return -rc;
	}
	return KMS_EOK;
}

static void destroy_sync(audit_t *a)
{
	pthread_cond_destroy(&a->looked);
	pthread_cond_destroy(&a->written);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
}

static void audit_free(audit_t *a, bool sync_ok)
{
	audit_store_close(a->store);
	if (sync_ok) {
		destroy_sync(a);
	}
	audit_samples_free(a->samples);
	free(a->ring);
	free(a);
}

int audit_open(const char *db_path, const audit_opts_t *o, audit_t **out)
{
	if (db_path == NULL || o == NULL || out == NULL || o->queue_max == 0 ||
	    o->queue_max > AUDIT_QUEUE_MAX || o->sample_ms == 0 ||
	    (o->durable && o->durable_timeout_ms == 0)) {
		return KMS_EINVAL;
	}
	audit_t *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return KMS_ENOMEM;
	}
	a->o = *o;
	a->cap = o->queue_max;
	a->signal_at = o->durable		    ? 1
		       : o->queue_max < AUDIT_BATCH ? o->queue_max
						    : AUDIT_BATCH;
	atomic_init(&a->dropped, 0);
	atomic_init(&a->state, ST_OK);
	a->ring = calloc(o->queue_max, sizeof(slot_t));
	a->samples = audit_samples_new();
	int ret = a->ring != NULL && a->samples != NULL ? init_sync(a) : KMS_ENOMEM;
	if (ret != KMS_EOK) {
		audit_free(a, false);
		return ret;
	}
	ret = audit_store_open(db_path, o->durable, &a->store);
	if (ret == KMS_EOK) {
		audit_store_set_node(a->store, o->node);
	}
	if (ret == KMS_EOK && o->max_size > 0) {
		ret = audit_store_max_size(a->store, o->max_size);
	}
	if (ret == KMS_EOK) {
		a->max_size = o->max_size;
		a->flush_at = kms_clock_now_ms() + AUDIT_FLUSH_MS;
		a->sample_at = kms_clock_now_ms() + o->sample_ms;
		ret = start_writer(a);
	}
	if (ret != KMS_EOK) {
		audit_free(a, true);
		return ret;
	}
	*out = a;
	return KMS_EOK;
}

/* --- the callers' side ----------------------------------------------------------- */

/* Under the lock: the waiter gave up; its row will say 503 (refuse). */
static void give_up(audit_t *a, waiter_t *w, uint64_t seq)
{
	uint64_t first = a->next_seq - a->count + 1; /* the ring's oldest */
	slot_t *s = NULL;
	if (a->count > 0 && seq >= first) {
		s = &a->ring[(a->head + (seq - first)) % a->cap];
	} else if (a->batch_n > 0 && seq >= a->batch[0].seq &&
		   seq - a->batch[0].seq < a->batch_n) {
		s = &a->batch[seq - a->batch[0].seq];
	}
	if (s != NULL && s->waiter == w) {
		s->waiter = NULL;
		s->abandoned = a->o.refuse;
	}
	w->done = true;
	w->result = a->o.refuse ? KMS_EAUDIT : KMS_EOK;
	if (a->o.refuse) {
		a->st.refused++;
	}
}

/* Under the lock: the durable wait for the commit of seq's batch. */
static int wait_commit(audit_t *a, waiter_t *w, uint64_t seq)
{
	struct timespec dl;
	deadline_in(&dl, a->o.durable_timeout_ms);
	while (!w->done) {
		if (pthread_cond_timedwait(&a->written, &a->lock, &dl) == ETIMEDOUT &&
		    !w->done) {
			give_up(a, w, seq);
		}
	}
	return w->result;
}

/* Under the lock: the queue is full (or was, and has not drained to half). */
static int queue_full(audit_t *a, const audit_rec_t *rec, bool *note)
{
	atomic_fetch_add(&a->dropped, 1);
	if (!a->full) {
		a->full = true;
		state_update(a);
		*note = true;
	}
	if (!a->o.refuse) {
		return KMS_EOK;
	}
	refuse_locked(a, rec);
	return KMS_EAUDIT;
}

int audit_log(audit_t *a, const audit_rec_t *rec)
{
	if (a == NULL || rec == NULL) {
		return KMS_EOK;
	}
	waiter_t w = { KMS_EOK, false };
	bool note = false;
	int ret = KMS_EOK;
	pthread_mutex_lock(&a->lock);
	if (a->o.refuse && a->failing) {
		refuse_locked(a, rec);
		ret = KMS_EAUDIT;
	} else if (a->stop) {
		atomic_fetch_add(&a->dropped, 1); /* closing: too late */
	} else if (a->count >= a->cap || (a->o.refuse && a->full)) {
		ret = queue_full(a, rec, &note);
	} else {
		slot_t *s = &a->ring[(a->head + a->count) % a->cap];
		s->rec = *rec;
		s->rec.rid[AUDIT_RID_MAX] = '\0';
		s->rec.requester[AUDIT_ID_MAX] = '\0';
		s->rec.client[AUDIT_ADDR_MAX] = '\0';
		s->rec.responders[AUDIT_RESP_MAX] = '\0';
		s->rec.peer_kms[AUDIT_PEER_MAX] = '\0';
		s->seq = ++a->next_seq;
		/* Serve mode while failing: nothing to wait for. */
		s->waiter = a->o.durable && !a->failing ? &w : NULL;
		s->abandoned = false;
		a->count++;
		if (a->count == a->signal_at) {
			pthread_cond_signal(&a->wake);
		}
		if (s->waiter != NULL) {
			ret = wait_commit(a, &w, s->seq);
		}
	}
	pthread_mutex_unlock(&a->lock);
	if (note) {
		log_error("audit: queue full (%zu records): %s", a->cap,
			  a->o.refuse ? "requests are refused with 503 until it drains"
				      : "records are dropped (audit.on_failure = serve)");
	}
	return ret;
}

void audit_sample(audit_t *a, const audit_rec_t *rec)
{
	if (a == NULL || rec == NULL) {
		return;
	}
	pthread_mutex_lock(&a->lock);
	a->st.sampled++;
	if (rec->error == KMS_EAUDIT) {
		a->st.refused++; /* refused before any work (audit_refusing) */
	}
	audit_samples_add(a->samples, rec);
	pthread_mutex_unlock(&a->lock);
}

bool audit_refusing(const audit_t *a)
{
	/* Reading an atomic does not modify the logger. */
	return a != NULL && a->o.refuse && atomic_load((atomic_int *)&a->state) != ST_OK;
}

bool audit_ready(audit_t *a, char *why, size_t cap)
{
	if (a == NULL || !a->o.refuse) {
		return true;
	}
	pthread_mutex_lock(&a->lock);
	bool ok = !a->failing && !a->full;
	if (a->failing && why != NULL) {
		snprintf(why, cap,
			 "audit log cannot be written: %s, for %lld s; %zu rows held",
			 a->why, (long long)(kms_clock_now_ms() - a->fail_since) / 1000,
			 a->batch_n + a->count);
	} else if (a->full && why != NULL) {
		snprintf(why, cap, "audit queue full (%zu records)", a->cap);
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

size_t audit_queued(audit_t *a)
{
	if (a == NULL) {
		return 0;
	}
	pthread_mutex_lock(&a->lock);
	size_t n = a->count;
	pthread_mutex_unlock(&a->lock);
	return n;
}

void audit_tick(audit_t *a)
{
	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->lock);
	uint64_t mine = ++a->ticks_asked;
	pthread_cond_signal(&a->wake);
	while (a->ticks_done < mine) {
		pthread_cond_wait(&a->looked, &a->lock);
	}
	pthread_mutex_unlock(&a->lock);
}

void audit_stats(audit_t *a, audit_stats_t *s)
{
	memset(s, 0, sizeof(*s));
	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->lock);
	*s = a->st;
	pthread_mutex_unlock(&a->lock);
	s->dropped = atomic_load(&a->dropped);
}

uint64_t audit_dropped(const audit_t *a)
{
	return a != NULL ? atomic_load((atomic_uint_least64_t *)&a->dropped) : 0;
}

void audit_max_size_set(audit_t *a, uint64_t bytes)
{
	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->lock);
	a->max_size = bytes;
	a->max_size_new = true;
	pthread_mutex_unlock(&a->lock);
}

void audit_close(audit_t *a)
{
	if (a == NULL) {
		return;
	}
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	audit_stats_t s;
	audit_stats(a, &s);
	if (s.dropped > 0 || s.lost > 0 || s.refused > 0 || s.failures > 0) {
		log_warning("audit: %llu records dropped (queue full), %llu lost "
			    "(write errors at close), %llu requests refused, %llu "
			    "failed writes",
			    (unsigned long long)s.dropped, (unsigned long long)s.lost,
			    (unsigned long long)s.refused,
			    (unsigned long long)s.failures);
	}
	audit_free(a, true);
}
