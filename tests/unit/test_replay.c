/* Replay cache: time window, detection, fixed capacity, expiry, threads;
 * on the service's clock (kms_service_now on common/clock.h), faked.  Then
 * the cache across restarts (kms/replay_store.h): clean stop, journal after
 * a kill, the guard when neither can be trusted, damaged files, compaction. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "kms/replay.h"
#include "kms/replay_store.h"
#include "kms/service.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

#define T0 1700000000 /* a fixed "now" */
#define SKEW 300

/* A distinct, well-spread digest for each i (tag bytes and slot bytes). */
static void digest_of(uint64_t i, uint8_t d[REPLAY_DIGEST_LEN])
{
	uint64_t x = i * 0x9e3779b97f4a7c15ULL + 1;
	for (size_t k = 0; k < REPLAY_DIGEST_LEN; k += 8) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ULL;
		x ^= x >> 32;
		memcpy(d + k, &x, 8);
	}
	memcpy(d, &i, sizeof(i)); /* never two equal tags */
}

static void given_seen_message_when_added_again_then_replay(void)
{
	replay_t *r = replay_new(4096, SKEW, T0 - 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	uint8_t d[REPLAY_DIGEST_LEN];
	digest_of(1, d);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, T0), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, T0), KMS_EREPLAY);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, T0 + SKEW), KMS_EREPLAY);
	/* Another digest that differs in one bit of the tag is new. */
	d[3] ^= 0x10;
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, T0), KMS_EOK);
	CU_ASSERT_EQUAL(replay_count(r), 2);
	replay_free(r);
	replay_free(NULL);
}

static void given_skew_window_when_checking_time_then_both_edges_inclusive(void)
{
	replay_t *r = replay_new(1024, SKEW, T0 - 3600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(replay_check_time(r, T0, T0), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - SKEW, T0), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 + SKEW, T0), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - SKEW - 1, T0), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 + SKEW + 1, T0), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, 0, T0), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, INT64_MAX / 2, T0), KMS_ETS);
	replay_free(r);
}

static void given_restart_when_message_predates_start_minus_skew_then_ets(void)
{
	/* Started at T0; the clock then steps back by 200 s. */
	replay_t *r = replay_new(1024, SKEW, T0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	int64_t now = T0 - 200;
	/* Inside [now - skew, now + skew] but before start - skew. */
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - SKEW - 1, now), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - SKEW, now), KMS_EOK);
	replay_free(r);
}

static void given_full_cache_of_live_entries_when_adding_then_eunavail(void)
{
	const size_t max = 4096; /* 64 shards x 64 slots: whole shard probed */
	replay_t *r = replay_new(max, SKEW, T0 - 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	size_t mem = replay_memory(r);
	size_t ok = 0, full = 0;
	uint8_t d[REPLAY_DIGEST_LEN];
	for (uint64_t i = 0; i < 3 * max; i++) {
		digest_of(i, d);
		int ret = replay_check_and_add(r, d, T0, T0);
		if (ret == KMS_EOK) {
			ok++;
		} else if (ret == KMS_EUNAVAIL) {
			full++;
		} else {
			CU_FAIL("unexpected result");
		}
	}
	/* Exactly full, never more, and the rest refused (fail closed). */
	CU_ASSERT_EQUAL(ok, max);
	CU_ASSERT_EQUAL(full, 2 * max);
	CU_ASSERT_EQUAL(replay_count(r), max);
	CU_ASSERT_EQUAL(replay_memory(r), mem);
	/* Live entries were not evicted: every accepted one is still a replay. */
	size_t replays = 0;
	for (uint64_t i = 0; i < 3 * max; i++) {
		digest_of(i, d);
		replays += replay_check_and_add(r, d, T0, T0) == KMS_EREPLAY;
	}
	CU_ASSERT_EQUAL(replays, max);
	replay_free(r);
}

/* Add digests first..first+n-1 at time t; the number accepted. */
static size_t add_range(replay_t *r, uint64_t first, uint64_t n, int64_t t)
{
	uint8_t d[REPLAY_DIGEST_LEN];
	size_t ok = 0;
	for (uint64_t i = first; i < first + n; i++) {
		digest_of(i, d);
		ok += replay_check_and_add(r, d, t, t) == KMS_EOK;
	}
	return ok;
}

static void given_expired_entries_when_time_passes_then_slots_reused(void)
{
	const size_t max = 4096;
	replay_t *r = replay_new(max, SKEW, T0 - 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	uint8_t d[REPLAY_DIGEST_LEN];
	CU_ASSERT_EQUAL(add_range(r, 0, 3 * max, T0), max);
	/* Still live at T0 + SKEW (inclusive): nothing more fits. */
	CU_ASSERT_EQUAL(add_range(r, 3 * max, max, T0 + SKEW), 0);
	/* One second later all have expired: a new generation fills it again. */
	int64_t later = T0 + SKEW + 1;
	CU_ASSERT_EQUAL(add_range(r, 10 * max, 3 * max, later), max);
	CU_ASSERT_EQUAL(replay_count(r), max);
	CU_ASSERT_EQUAL(replay_memory(r), replay_memory_for(max));
	/* The new generation is protected. */
	size_t replays = 0;
	for (uint64_t i = 10 * max; i < 13 * max; i++) {
		digest_of(i, d);
		replays += replay_check_and_add(r, d, later, later) == KMS_EREPLAY;
	}
	CU_ASSERT_EQUAL(replays, max);
	replay_free(r);
}

static void given_sizes_when_created_then_memory_equals_the_bound(void)
{
	const size_t sizes[] = { 64, 100, 4096, 1000003, 1048576 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		replay_t *r = replay_new(n, SKEW, T0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL(replay_memory(r), replay_memory_for(n));
		/* Entries take REPLAY_ENTRY_BYTES each; headers are small and fixed. */
		CU_ASSERT(replay_memory(r) <=
			  n * REPLAY_ENTRY_BYTES + REPLAY_SHARDS * 128 + 256);
		CU_ASSERT(replay_memory(r) >= (n - REPLAY_SHARDS) * REPLAY_ENTRY_BYTES);
		replay_free(r);
	}
	CU_ASSERT_PTR_NULL(replay_new(0, SKEW, T0));
	CU_ASSERT_EQUAL(replay_memory_for(0), 0);
}

static void given_tiny_cache_when_filled_then_bounded(void)
{
	replay_t *r = replay_new(1, SKEW, T0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	uint8_t d[REPLAY_DIGEST_LEN];
	digest_of(7, d);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, T0), KMS_EOK);
	digest_of(8, d);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, T0), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(replay_count(r), 1);
	replay_free(r);
}

/*
 * Against a model: random messages from a pool of 200 with random
 * timestamps anywhere in the skew window (20 s here, future ones too),
 * while the clock advances a second every two messages, into a cache of
 * 512 slots: slots fill, expire and are reused, so live, recently expired
 * and long-expired entries interleave in every probe window.  A message is
 * a replay exactly when it was accepted before and has not expired;
 * anything else is accepted, or refused as EUNAVAIL when its window is
 * full of live entries.  A search that stopped at any expired slot, or at
 * one expired less than 2 * skew ago, misses replays here.
 */
static void given_random_traffic_when_checked_then_matches_model(void)
{
	enum { POOL = 200, OPS = 40000, W = 20 };
	int64_t until[POOL] = { 0 }; /* expiry of the accepted copy; 0 = none */
	replay_t *r = replay_new(512, W, T0 - W);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	uint64_t x = 0x2545f4914f6cdd1dULL;
	int64_t now = T0;
	size_t wrong = 0, replays = 0, accepted = 0, full = 0;
	uint8_t d[REPLAY_DIGEST_LEN];
	for (int op = 0; op < OPS; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		now += op % 2;
		uint64_t id = (x >> 8) % POOL;
		int64_t t = now - W + (int64_t)((x >> 32) % (2 * W + 1));
		digest_of(id, d);
		int ret = replay_check_and_add(r, d, t, now);
		bool live = until[id] != 0 && until[id] >= now;
		if (live) {
			wrong += ret != KMS_EREPLAY;
			replays += ret == KMS_EREPLAY;
		} else if (ret == KMS_EOK) {
			until[id] = t + W;
			accepted++;
		} else {
			wrong += ret != KMS_EUNAVAIL;
			full += ret == KMS_EUNAVAIL;
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(replays > 1000 && accepted > 1000);
	printf("\n  %d messages: %zu accepted, %zu replays, %zu refused (window full)\n",
	       OPS, accepted, replays, full);
	replay_free(r);
}

/*
 * The cache reads time as kmsd gives it: the start time and every "now"
 * from kms_service_now(), which reads the injectable clock.  With the fake
 * clock at T0 (years before the real time), a real clock anywhere on that
 * path would refuse these messages as stale or keep them forever.
 */
static void given_fake_clock_when_message_301s_old_then_ets_and_299s_accepted(void)
{
	kms_clock_fake_start(0, T0);
	replay_t *r = replay_new(1024, SKEW, kms_service_now());
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	int64_t now = kms_service_now();
	CU_ASSERT_EQUAL(now, T0);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - 301, now), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - 299, now), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 + 299, now), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 + 301, now), KMS_ETS);
	/* Two seconds on, the 299 s old message is 301 s old. */
	kms_clock_fake_advance(2000);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - 299, kms_service_now()), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - 298, kms_service_now()), KMS_EOK);
	replay_free(r);
	kms_clock_fake_stop();
}

static void given_fake_clock_when_window_passes_then_entry_expires_exactly(void)
{
	kms_clock_fake_start(0, T0);
	replay_t *r = replay_new(1024, SKEW, kms_service_now());
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	uint8_t d[REPLAY_DIGEST_LEN];
	digest_of(42, d);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, kms_service_now()), KMS_EOK);
	/* Live to the last millisecond of its window (msg time + skew)... */
	kms_clock_fake_advance(SKEW * 1000 + 999);
	CU_ASSERT_EQUAL(kms_service_now(), T0 + SKEW);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, kms_service_now()), KMS_EREPLAY);
	CU_ASSERT_EQUAL(replay_check_time(r, T0, kms_service_now()), KMS_EOK);
	/* ...and gone the second after: the message is now refused by the
	 * window instead, and its slot is free for reuse. */
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(replay_check_time(r, T0, kms_service_now()), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_and_add(r, d, T0, kms_service_now()), KMS_EOK);
	CU_ASSERT_EQUAL(replay_count(r), 1);
	replay_free(r);
	kms_clock_fake_stop();
}

static void given_fake_clock_stepped_back_after_start_then_older_messages_ets(void)
{
	/* kmsd started at T0 (its start time from the clock)... */
	kms_clock_fake_start(0, T0);
	replay_t *r = replay_new(1024, SKEW, kms_service_now());
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* ...then the wall clock is set back 200 s. */
	kms_clock_fake_start(0, T0 - 200);
	int64_t now = kms_service_now();
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - SKEW - 1, now), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(r, T0 - SKEW, now), KMS_EOK);
	replay_free(r);
	kms_clock_fake_stop();
}

#define THREADS 4
#define PER_THREAD 3000

typedef struct {
	replay_t *r;
	uint64_t base;
	size_t ok, replay;
} worker_t;

static void *worker(void *arg)
{
	worker_t *w = arg;
	uint8_t d[REPLAY_DIGEST_LEN];
	for (uint64_t i = 0; i < PER_THREAD; i++) {
		/* Half of each thread's digests are shared with the next thread. */
		uint64_t id = i % 2 == 0 ? w->base + i : 1000000 + i;
		digest_of(id, d);
		int ret = replay_check_and_add(w->r, d, T0, T0);
		w->ok += ret == KMS_EOK;
		w->replay += ret == KMS_EREPLAY;
	}
	return NULL;
}

static void given_threads_when_adding_concurrently_then_each_digest_once(void)
{
	replay_t *r = replay_new(1u << 16, SKEW, T0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	pthread_t t[THREADS];
	worker_t w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker_t){ r, (uint64_t)i * 100000, 0, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	size_t ok = 0, rep = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
		rep += w[i].replay;
	}
	/* Own digests: THREADS * PER_THREAD / 2; shared ones: PER_THREAD / 2. */
	CU_ASSERT_EQUAL(ok, THREADS * PER_THREAD / 2 + PER_THREAD / 2);
	CU_ASSERT_EQUAL(rep, (THREADS - 1) * (PER_THREAD / 2));
	CU_ASSERT_EQUAL(replay_count(r), ok);
	replay_free(r);
}

/* --- across restarts (kms/replay_store.h) ---------------------------------------- */

#define BOOT_A 0xa1
#define BOOT_B 0xb2

typedef struct {
	char dir[UNIT_PATH_MAX];
	size_t compact_every; /* 0: the default */
	replay_t *r;
	replay_store_t *st;
	replay_start_info_t info;
} run_t;

/* Start a "kmsd run" on dir at now: a cache of max entries (skew s) and
 * its store, booted as boot (a byte repeated). */
static void run_start(run_t *k, size_t max, uint32_t s, bool journal, uint8_t boot,
		      int64_t now)
{
	replay_store_cfg_t cfg = { .dir = k->dir, .journal = journal };
	cfg.compact_every = k->compact_every;
	memset(cfg.boot_id, boot, sizeof(cfg.boot_id));
	k->r = replay_new(max, s, now);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k->r);
	k->st = NULL;
	CU_ASSERT_EQUAL_FATAL(replay_store_open(k->r, &cfg, now, &k->st, &k->info),
			      KMS_EOK);
}

/* A clean stop at now. */
static void run_stop(run_t *k, int64_t now)
{
	CU_ASSERT_EQUAL(replay_store_close(k->st, now), KMS_EOK);
	replay_free(k->r);
}

/* kill -9: nothing saved, open files dropped. */
static void run_kill(run_t *k)
{
	replay_store_free(k->st);
	replay_free(k->r);
}

/* How many of digests first..first+n-1 are replays at now. */
static size_t replays_of(replay_t *r, uint64_t first, uint64_t n, int64_t t, int64_t now)
{
	uint8_t d[REPLAY_DIGEST_LEN];
	size_t rep = 0;
	for (uint64_t i = first; i < first + n; i++) {
		digest_of(i, d);
		rep += replay_check_and_add(r, d, t, now) == KMS_EREPLAY;
	}
	return rep;
}

static bool file_exists(const char *dir, const char *name)
{
	char p[UNIT_PATH_MAX];
	struct stat sb;
	unit_path(p, dir, name);
	return lstat(p, &sb) == 0;
}

static off_t file_size(const char *dir, const char *name)
{
	char p[UNIT_PATH_MAX];
	struct stat sb;
	unit_path(p, dir, name);
	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

static void given_clean_stop_when_restarted_then_accepted_messages_are_replays(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED); /* nothing there yet */
	CU_ASSERT_EQUAL(add_range(k.r, 0, 100, T0), 100);
	run_stop(&k, T0 + 1);
	CU_ASSERT(file_exists(k.dir, REPLAY_SNAP_FILE));
	CU_ASSERT(!file_exists(k.dir, REPLAY_JOURNAL_FILE));
	CU_ASSERT_EQUAL(file_size(k.dir, REPLAY_SNAP_FILE),
			REPLAY_FILE_HEADER + 100 * REPLAY_ENTRY_BYTES);

	/* Restarted on another boot: a clean snapshot is trusted anyway. */
	run_start(&k, 4096, SKEW, true, BOOT_B, T0 + 10);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_CLEAN);
	CU_ASSERT_EQUAL(k.info.restored, 100);
	CU_ASSERT_EQUAL(replays_of(k.r, 0, 100, T0, T0 + 10), 100);
	CU_ASSERT_EQUAL(add_range(k.r, 100, 1, T0 + 10), 1);
	run_kill(&k);
	/* The clean flag was consumed at that start: this kill is unclean,
	 * and the journal of this boot brings back all 101. */
	run_start(&k, 4096, SKEW, true, BOOT_B, T0 + 20);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_JOURNAL);
	CU_ASSERT_EQUAL(k.info.restored, 101);
	CU_ASSERT_EQUAL(replays_of(k.r, 0, 101, T0, T0 + 20), 101);
	run_stop(&k, T0 + 20);
	unit_rmdir(k.dir);
}

static void given_entries_of_different_ages_when_restarted_then_expired_dropped(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(add_range(k.r, 0, 10, T0 - 290), 10); /* live to T0 + 10 */
	CU_ASSERT_EQUAL(add_range(k.r, 10, 20, T0), 20);      /* to T0 + 300 */
	run_stop(&k, T0);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 200);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_CLEAN);
	CU_ASSERT_EQUAL(k.info.restored, 20);
	CU_ASSERT_EQUAL(k.info.expired, 10);
	CU_ASSERT_EQUAL(replay_count(k.r), 20);
	CU_ASSERT_EQUAL(replays_of(k.r, 10, 20, T0, T0 + 200), 20);
	/* The next snapshot holds only what is live. */
	run_stop(&k, T0 + 200);
	CU_ASSERT_EQUAL(file_size(k.dir, REPLAY_SNAP_FILE),
			REPLAY_FILE_HEADER + 20 * REPLAY_ENTRY_BYTES);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 301);
	CU_ASSERT_EQUAL(k.info.restored, 0);
	CU_ASSERT_EQUAL(k.info.guard, 0); /* the first start's guard is over */
	run_stop(&k, T0 + 301);
	unit_rmdir(k.dir);
}

static void given_kill_when_restarted_on_same_boot_then_journal_restores_all(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0);
	/* The journal has its full size from the start (mapped, pre-sized). */
	const size_t slots = replay_store_slots(k.st);
	CU_ASSERT(slots >= 4096);
	CU_ASSERT_EQUAL(file_size(k.dir, REPLAY_JOURNAL_FILE),
			REPLAY_FILE_HEADER + (off_t)slots * REPLAY_ENTRY_BYTES);
	CU_ASSERT_EQUAL(add_range(k.r, 0, 500, T0), 500);
	CU_ASSERT_EQUAL(replay_store_appends(k.st), 500);
	CU_ASSERT_EQUAL(file_size(k.dir, REPLAY_JOURNAL_FILE),
			REPLAY_FILE_HEADER + (off_t)slots * REPLAY_ENTRY_BYTES);
	run_kill(&k);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 1);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_JOURNAL);
	CU_ASSERT_EQUAL(k.info.restored, 500);
	CU_ASSERT_EQUAL(k.info.expired, 0);
	CU_ASSERT_EQUAL(replays_of(k.r, 0, 500, T0, T0 + 1), 500);
	/* A journal one byte longer than its slots is damaged, not read. */
	run_kill(&k);
	char p[UNIT_PATH_MAX];
	unit_path(p, k.dir, REPLAY_JOURNAL_FILE);
	FILE *f = fopen(p, "ab");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fwrite("0", 1, 1, f);
	fclose(f);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 2);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT(file_exists(k.dir, REPLAY_JOURNAL_FILE ".bad"));
	run_stop(&k, T0 + 2);
	unit_rmdir(k.dir);
}

/*
 * The guard, on the fake clock: kmsd accepted a message stamped T0 and was
 * killed; the machine restarted (another boot id), so the journal's last
 * writes may be lost.  Messages stamped before the restart are refused
 * until they are out of the window; later ones are served.
 */
static void given_unclean_stop_and_new_boot_when_restarted_then_guarded(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	kms_clock_fake_start(0, T0);
	run_start(&k, 4096, SKEW, true, BOOT_A, kms_service_now());
	CU_ASSERT_EQUAL(add_range(k.r, 0, 5, kms_service_now()), 5);
	run_kill(&k);
	kms_clock_fake_advance(30000);
	const int64_t s = kms_service_now(); /* T0 + 30 */
	run_start(&k, 4096, SKEW, true, BOOT_B, s);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT_PTR_NOT_NULL(strstr(k.info.why, "machine has restarted"));
	CU_ASSERT_EQUAL(k.info.guard, s);
	CU_ASSERT_EQUAL(replay_guard(k.r), s);
	/* Never seen, stamped before the restart: refused; at it: served. */
	CU_ASSERT_EQUAL(replay_check_time(k.r, T0 + 29, kms_service_now()), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(k.r, T0 - 200, kms_service_now()), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(k.r, s, kms_service_now()), KMS_EOK);
	CU_ASSERT_EQUAL(replay_check_time(k.r, s + 100, kms_service_now()), KMS_EOK);
	/* What the journal still had is restored too. */
	CU_ASSERT_EQUAL(replays_of(k.r, 0, 5, T0, kms_service_now()), 5);

	/* A quick clean restart keeps the guard (it is in the snapshot). */
	kms_clock_fake_advance(10000);
	run_stop(&k, kms_service_now());
	kms_clock_fake_advance(10000);
	run_start(&k, 4096, SKEW, true, BOOT_B, kms_service_now());
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_CLEAN);
	CU_ASSERT_EQUAL(k.info.guard, s);
	CU_ASSERT_EQUAL(replay_check_time(k.r, T0 + 29, kms_service_now()), KMS_ETS);
	run_stop(&k, kms_service_now());

	/* Once out of the window the guard is no longer carried. */
	kms_clock_fake_advance(SKEW * 1000);
	run_start(&k, 4096, SKEW, true, BOOT_B, kms_service_now());
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_CLEAN);
	CU_ASSERT_EQUAL(k.info.guard, 0);
	CU_ASSERT_EQUAL(replay_guard(k.r), 0);
	run_stop(&k, kms_service_now());
	kms_clock_fake_stop();
	unit_rmdir(k.dir);
}

static void given_journal_off_when_killed_then_guarded(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	kms_clock_fake_start(0, T0);
	run_start(&k, 4096, SKEW, false, BOOT_A, T0);
	CU_ASSERT_EQUAL(add_range(k.r, 0, 5, T0), 5);
	CU_ASSERT(!file_exists(k.dir, REPLAY_JOURNAL_FILE));
	run_kill(&k);
	kms_clock_fake_advance(2000);
	run_start(&k, 4096, SKEW, false, BOOT_A, kms_service_now());
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT_PTR_NOT_NULL(strstr(k.info.why, "no journal"));
	/* The 5 messages (stamped T0) are refused by the guard. */
	CU_ASSERT_EQUAL(replay_check_time(k.r, T0, kms_service_now()), KMS_ETS);
	CU_ASSERT_EQUAL(replay_check_time(k.r, T0 + 2, kms_service_now()), KMS_EOK);
	/* A clean stop is enough without the journal. */
	CU_ASSERT_EQUAL(add_range(k.r, 10, 5, T0 + 2), 5);
	run_stop(&k, kms_service_now());
	run_start(&k, 4096, SKEW, false, BOOT_B, kms_service_now());
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_CLEAN);
	CU_ASSERT_EQUAL(replays_of(k.r, 10, 5, T0 + 2, kms_service_now()), 5);
	run_stop(&k, kms_service_now());
	kms_clock_fake_stop();
	unit_rmdir(k.dir);
}

/* Write len bytes of content to dir/name (truncating). */
static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[UNIT_PATH_MAX];
	unit_path(path, dir, name);
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void given_garbage_snapshot_when_started_then_set_aside_and_guarded(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	write_file(k.dir, REPLAY_SNAP_FILE, "this is not a snapshot, just text......",
		   40);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT_PTR_NOT_NULL(strstr(k.info.why, "damaged"));
	CU_ASSERT_EQUAL(k.info.restored, 0);
	CU_ASSERT(file_exists(k.dir, REPLAY_SNAP_FILE ".bad"));
	/* A new start snapshot replaced it. */
	CU_ASSERT_EQUAL(file_size(k.dir, REPLAY_SNAP_FILE), REPLAY_FILE_HEADER);
	run_stop(&k, T0);
	unit_rmdir(k.dir);
}

static void given_truncated_snapshot_when_started_then_set_aside_and_guarded(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(add_range(k.r, 0, 50, T0), 50);
	run_stop(&k, T0);
	char p[UNIT_PATH_MAX];
	unit_path(p, k.dir, REPLAY_SNAP_FILE);
	/* Cut in the middle of a record, then at a record boundary. */
	CU_ASSERT_EQUAL_FATAL(truncate(p, REPLAY_FILE_HEADER + 10 * 24 + 5), 0);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 1);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT(file_exists(k.dir, REPLAY_SNAP_FILE ".bad"));
	run_stop(&k, T0 + 1);
	CU_ASSERT_EQUAL_FATAL(truncate(p, REPLAY_FILE_HEADER - 1), 0);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 2);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	run_stop(&k, T0 + 2);
	unit_rmdir(k.dir);
}

/* A journal header (from a real run) followed by records. */
static size_t journal_header(const char *dir, uint8_t hdr[REPLAY_FILE_HEADER])
{
	char p[UNIT_PATH_MAX];
	unit_path(p, dir, REPLAY_JOURNAL_FILE);
	FILE *f = fopen(p, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	size_t n = fread(hdr, 1, REPLAY_FILE_HEADER, f);
	fclose(f);
	return n;
}

static void given_oversized_journal_when_started_then_not_read_and_guarded(void)
{
	run_t k = { 0 };
	uint8_t hdr[REPLAY_FILE_HEADER];
	unit_tmpdir(k.dir);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(journal_header(k.dir, hdr), sizeof(hdr));
	run_kill(&k);
	/* A valid header, then (sparse) room for far more records than
	 * 4 x 1024 + slack: refused from its size, nothing allocated. */
	char p[UNIT_PATH_MAX];
	unit_path(p, k.dir, REPLAY_JOURNAL_FILE);
	CU_ASSERT_EQUAL_FATAL(truncate(p, REPLAY_FILE_HEADER + 24 * 100000), 0);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0 + 1);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT_EQUAL(k.info.restored, 0);
	CU_ASSERT_EQUAL(replay_memory(k.r), replay_memory_for(1024));
	CU_ASSERT(file_exists(k.dir, REPLAY_JOURNAL_FILE ".bad"));
	run_stop(&k, T0 + 1);
	unit_rmdir(k.dir);
}

/* The journal file of a run, read whole (slots records after the header);
 * free() it. */
static uint8_t *journal_image(const char *dir, size_t slots)
{
	const size_t len = REPLAY_FILE_HEADER + slots * REPLAY_ENTRY_BYTES;
	uint8_t *buf = calloc(1, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	char p[UNIT_PATH_MAX];
	unit_path(p, dir, REPLAY_JOURNAL_FILE);
	FILE *f = fopen(p, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fread(buf, 1, len, f), len);
	CU_ASSERT_EQUAL(fgetc(f), EOF);
	fclose(f);
	return buf;
}

/* Slot i of a journal image: digest id's tag, then expiry (little-endian). */
static uint8_t *slot_of(uint8_t *img, size_t i)
{
	return img + REPLAY_FILE_HEADER + i * REPLAY_ENTRY_BYTES;
}

static void slot_put(uint8_t *img, size_t i, uint64_t id, int64_t expires)
{
	uint8_t d[REPLAY_DIGEST_LEN];
	digest_of(id, d);
	memcpy(slot_of(img, i), d, REPLAY_TAG_LEN); /* the digest prefix */
	for (int b = 0; b < 8; b++) {
		slot_of(img, i)[16 + b] = (uint8_t)((uint64_t)expires >> (8 * b));
	}
}

static void given_journal_with_implausible_entries_when_started_then_guarded(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0);
	const size_t slots = replay_store_slots(k.st);
	run_kill(&k);
	uint8_t *img = journal_image(k.dir, slots);
	/* Live, expired, and one that would live forever (a damaged or
	 * hostile file must not pin a slot for good). */
	const int64_t exp[3] = { T0 + 100, T0 - 100, INT64_MAX };
	for (int i = 0; i < 3; i++) {
		slot_put(img, (size_t)i, (uint64_t)i, exp[i]);
	}
	write_file(k.dir, REPLAY_JOURNAL_FILE, img,
		   REPLAY_FILE_HEADER + slots * REPLAY_ENTRY_BYTES);
	free(img);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT_EQUAL(k.info.restored, 1);
	CU_ASSERT_EQUAL(k.info.expired, 1);
	CU_ASSERT_EQUAL(k.info.lost, 1);
	CU_ASSERT_EQUAL(replay_count(k.r), 1);
	CU_ASSERT_EQUAL(replays_of(k.r, 0, 1, T0, T0), 1);
	run_stop(&k, T0);
	unit_rmdir(k.dir);
}

/*
 * What a kill leaves in the mapped journal: slots are taken in order but
 * may be finished out of order, and an append cut short has its tag but
 * not its expiry (stored last; its message was not answered).  Such a
 * slot is skipped, never read as an entry; the slots after it are read.
 */
static void given_journal_with_torn_slot_when_started_then_skipped_rest_read(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0);
	const size_t slots = replay_store_slots(k.st);
	CU_ASSERT_EQUAL(add_range(k.r, 0, 3, T0), 3);
	run_kill(&k);
	uint8_t *img = journal_image(k.dir, slots);
	/* The format: slot i holds the tag, then the expiry, little-endian. */
	uint8_t want[REPLAY_ENTRY_BYTES], zero[REPLAY_ENTRY_BYTES] = { 0 };
	memcpy(want, slot_of(img, 1), sizeof(want));
	slot_put(img, 1, 1, T0 + SKEW);
	CU_ASSERT_EQUAL(memcmp(want, slot_of(img, 1), sizeof(want)), 0);
	CU_ASSERT_EQUAL(memcmp(zero, slot_of(img, 3), sizeof(zero)), 0);
	/* Slot 1 torn; slot 5 finished while 3 and 4 were still empty. */
	memset(slot_of(img, 1) + REPLAY_TAG_LEN, 0, 8);
	slot_put(img, 5, 5, T0 + SKEW);
	write_file(k.dir, REPLAY_JOURNAL_FILE, img,
		   REPLAY_FILE_HEADER + slots * REPLAY_ENTRY_BYTES);
	free(img);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0 + 1);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_JOURNAL);
	CU_ASSERT_EQUAL(k.info.restored, 3);
	CU_ASSERT_EQUAL(k.info.torn, 1);
	CU_ASSERT_EQUAL(k.info.expired, 0);
	CU_ASSERT_EQUAL(k.info.lost, 0);
	CU_ASSERT_EQUAL(replays_of(k.r, 0, 1, T0, T0 + 1), 1);
	CU_ASSERT_EQUAL(replays_of(k.r, 2, 1, T0, T0 + 1), 1);
	CU_ASSERT_EQUAL(replays_of(k.r, 5, 1, T0, T0 + 1), 1);
	/* The torn one was never answered: it is served now. */
	CU_ASSERT_EQUAL(add_range(k.r, 1, 1, T0 + 1), 1);
	run_stop(&k, T0 + 1);
	unit_rmdir(k.dir);
}

static void given_journal_symlink_when_started_then_not_followed(void)
{
	run_t k = { 0 };
	unit_tmpdir(k.dir);
	char p[UNIT_PATH_MAX];
	unit_path(p, k.dir, REPLAY_JOURNAL_FILE);
	CU_ASSERT_EQUAL_FATAL(symlink("/dev/zero", p), 0);
	run_start(&k, 1024, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_GUARDED);
	CU_ASSERT(file_exists(k.dir, REPLAY_JOURNAL_FILE ".bad"));
	/* The new journal is a regular file of its own. */
	struct stat sb;
	CU_ASSERT_EQUAL(lstat(p, &sb), 0);
	CU_ASSERT(S_ISREG(sb.st_mode));
	run_stop(&k, T0);
	unit_rmdir(k.dir);
}

/*
 * Compaction: with 1024 entries the journal is compacted every 1024
 * records.  3000 messages, a few live at a time; killed at the end, every
 * live one comes back, and the files stay bounded.
 */
static void given_long_run_when_journal_compacted_then_kill_loses_nothing(void)
{
	run_t k = { 0 };
	const uint32_t w = 10;
	unit_tmpdir(k.dir);
	run_start(&k, 1024, w, true, BOOT_A, T0);
	int64_t now = T0;
	for (uint64_t i = 0; i < 3000; i++) {
		now = T0 + (int64_t)i / 4;
		CU_ASSERT_EQUAL(add_range(k.r, i, 1, now), 1);
	}
	CU_ASSERT(replay_store_compactions(k.st) >= 2);
	CU_ASSERT_EQUAL(replay_store_slots(k.st), 1024 + 256);
	CU_ASSERT_EQUAL(file_size(k.dir, REPLAY_JOURNAL_FILE),
			REPLAY_FILE_HEADER + (1024 + 256) * REPLAY_ENTRY_BYTES);
	CU_ASSERT(file_size(k.dir, REPLAY_SNAP_FILE) <=
		  REPLAY_FILE_HEADER + 1024 * REPLAY_ENTRY_BYTES);
	CU_ASSERT(!file_exists(k.dir, REPLAY_JOURNAL_OLD_FILE));
	run_kill(&k);
	run_start(&k, 1024, w, true, BOOT_A, now);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_JOURNAL);
	/* Live at now: stamped now - w .. now, 4 a second. */
	CU_ASSERT_EQUAL(k.info.restored, 4 * (w + 1));
	CU_ASSERT_EQUAL(replays_of(k.r, 3000 - 4 * (w + 1), 4 * (w + 1), now, now),
			4 * (w + 1));
	run_stop(&k, now);
	unit_rmdir(k.dir);
}

/* Threads accept messages while the journal is compacted under them; a
 * kill then loses none of them (rotation before the scan). */
static void given_threads_and_compactions_when_killed_then_every_accepted_restored(void)
{
	/* One compaction, about halfway; a large table, so that its scan
	 * takes long enough for the other threads to add to shards already
	 * scanned, and no later compaction to cover for a wrong order. */
	run_t k = { .compact_every = 4000 };
	unit_tmpdir(k.dir);
	run_start(&k, 1u << 20, SKEW, true, BOOT_A, T0);
	pthread_t t[THREADS];
	worker_t w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker_t){ k.r, (uint64_t)i * 100000, 0, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	size_t ok = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
	}
	CU_ASSERT_EQUAL(ok, THREADS * PER_THREAD / 2 + PER_THREAD / 2);
	CU_ASSERT_EQUAL(replay_store_compactions(k.st), 1);
	run_kill(&k);
	run_start(&k, 1u << 20, SKEW, true, BOOT_A, T0);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_JOURNAL);
	CU_ASSERT_EQUAL(k.info.restored, ok);
	CU_ASSERT_EQUAL(replay_count(k.r), ok);
	run_stop(&k, T0);
	unit_rmdir(k.dir);
}

/*
 * A journal that cannot be created (here: the file size limit; a full disk
 * fails posix_fallocate the same way) makes each compaction fail; the
 * current journal takes appends until its slots run out, then messages are
 * refused (fail closed: a kill would lose them); a second later a
 * compaction starts a fresh journal and messages are served again.
 */
static void given_journal_cannot_be_created_when_slots_run_out_then_refused(void)
{
	run_t k = { .compact_every = 64 };
	struct rlimit old, lim;
	unit_tmpdir(k.dir);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0);
	const size_t slots = replay_store_slots(k.st);
	CU_ASSERT_EQUAL_FATAL(slots, 64 + 256);
	CU_ASSERT_EQUAL(add_range(k.r, 0, 10, T0), 10);
	CU_ASSERT_EQUAL_FATAL(getrlimit(RLIMIT_FSIZE, &old), 0);
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)(REPLAY_FILE_HEADER + 64 * REPLAY_ENTRY_BYTES);
	CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
	CU_ASSERT_EQUAL(add_range(k.r, 10, slots - 10, T0), slots - 10);
	CU_ASSERT_EQUAL(replay_store_compactions(k.st), 0);
	uint8_t d[REPLAY_DIGEST_LEN];
	digest_of(slots, d);
	CU_ASSERT_EQUAL(replay_check_and_add(k.r, d, T0, T0), KMS_EUNAVAIL);
	/* The recovery (a compaction) fails too while the limit holds. */
	digest_of(slots + 1, d);
	CU_ASSERT_EQUAL(replay_check_and_add(k.r, d, T0, T0), KMS_EUNAVAIL);
	CU_ASSERT_EQUAL(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);
	/* Within the same second: not retried yet. */
	digest_of(slots + 2, d);
	CU_ASSERT_EQUAL(replay_check_and_add(k.r, d, T0, T0), KMS_EUNAVAIL);
	/* A second later the journal is started afresh. */
	digest_of(slots + 3, d);
	CU_ASSERT_EQUAL(replay_check_and_add(k.r, d, T0, T0 + 1), KMS_EOK);
	CU_ASSERT_EQUAL(replay_store_compactions(k.st), 1);
	CU_ASSERT(!file_exists(k.dir, REPLAY_JOURNAL_OLD_FILE));
	run_kill(&k);
	run_start(&k, 4096, SKEW, true, BOOT_A, T0 + 2);
	CU_ASSERT_EQUAL(k.info.how, REPLAY_START_JOURNAL);
	/* All journaled but the 3 refused, which were kept anyway: the cache
	 * had them, and so did the snapshot of the recovery. */
	CU_ASSERT_EQUAL(k.info.restored, slots + 4);
	CU_ASSERT_EQUAL(replays_of(k.r, 0, slots + 4, T0, T0 + 2), slots + 4);
	run_stop(&k, T0 + 2);
	unit_rmdir(k.dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_seen_message_when_added_again_then_replay),
		UNIT_TEST(given_skew_window_when_checking_time_then_both_edges_inclusive),
		UNIT_TEST(given_restart_when_message_predates_start_minus_skew_then_ets),
		UNIT_TEST(given_full_cache_of_live_entries_when_adding_then_eunavail),
		UNIT_TEST(given_expired_entries_when_time_passes_then_slots_reused),
		UNIT_TEST(given_sizes_when_created_then_memory_equals_the_bound),
		UNIT_TEST(given_tiny_cache_when_filled_then_bounded),
		UNIT_TEST(given_random_traffic_when_checked_then_matches_model),
		UNIT_TEST(given_threads_when_adding_concurrently_then_each_digest_once),
		UNIT_TEST(
		    given_fake_clock_when_message_301s_old_then_ets_and_299s_accepted),
		UNIT_TEST(given_fake_clock_when_window_passes_then_entry_expires_exactly),
		UNIT_TEST(
		    given_fake_clock_stepped_back_after_start_then_older_messages_ets),
		UNIT_TEST(
		    given_clean_stop_when_restarted_then_accepted_messages_are_replays),
		UNIT_TEST(
		    given_entries_of_different_ages_when_restarted_then_expired_dropped),
		UNIT_TEST(
		    given_kill_when_restarted_on_same_boot_then_journal_restores_all),
		UNIT_TEST(given_unclean_stop_and_new_boot_when_restarted_then_guarded),
		UNIT_TEST(given_journal_off_when_killed_then_guarded),
		UNIT_TEST(given_garbage_snapshot_when_started_then_set_aside_and_guarded),
		UNIT_TEST(
		    given_truncated_snapshot_when_started_then_set_aside_and_guarded),
		UNIT_TEST(given_oversized_journal_when_started_then_not_read_and_guarded),
		UNIT_TEST(
		    given_journal_with_implausible_entries_when_started_then_guarded),
		UNIT_TEST(given_journal_symlink_when_started_then_not_followed),
		UNIT_TEST(given_long_run_when_journal_compacted_then_kill_loses_nothing),
		UNIT_TEST(
		    given_threads_and_compactions_when_killed_then_every_accepted_restored),
		UNIT_TEST(
		    given_journal_with_torn_slot_when_started_then_skipped_rest_read),
		UNIT_TEST(
		    given_journal_cannot_be_created_when_slots_run_out_then_refused),
		UNIT_END,
	};
	return unit_run("replay", tests);
}
