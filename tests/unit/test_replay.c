/* Replay cache: time window, detection, fixed capacity, expiry, threads;
 * on the service's clock (kms_service_now on common/clock.h), faked. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "kms/replay.h"
#include "kms/service.h"
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
		UNIT_END,
	};
	return unit_run("replay", tests);
}
