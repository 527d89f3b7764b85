/* Token-bucket rate limits (common/ratelimit.h), on the fake clock. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/ratelimit.h"
#include "tests/unit/unit.h"

#define T0 1000000 /* fake monotonic ms at the start of each test */

static int charge(ratelimit_t *rl, const char *key, int64_t *retry_ms)
{
	return ratelimit_charge(rl, key, strlen(key), retry_ms);
}

/* How many charges in a row key gets before the first refusal (<= max). */
static int allowed_in_a_row(ratelimit_t *rl, const char *key, int max)
{
	int n = 0;
	while (n < max && charge(rl, key, NULL) == KMS_EOK) {
		n++;
	}
	return n;
}

static void given_burst_when_spent_then_refused_with_wait_and_nothing_taken(void)
{
	kms_clock_fake_start(T0, 0);
	ratelimit_t *rl = ratelimit_new(64, 1, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "alice", 10), 3);
	int64_t wait = 0;
	CU_ASSERT_EQUAL(charge(rl, "alice", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 1000);
	/* Refusals take nothing: after the wait, exactly one token. */
	for (int i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(charge(rl, "alice", NULL), KMS_ERATE);
	}
	kms_clock_fake_advance(1000);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "alice", 10), 1);
	/* Another key has its own bucket. */
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "bob", 10), 3);
	ratelimit_free(rl);
	kms_clock_fake_stop();
}

static void given_drained_bucket_when_time_passes_then_refills_at_rate_up_to_burst(void)
{
	kms_clock_fake_start(T0, 0);
	ratelimit_t *rl = ratelimit_new(64, 10, 2); /* a token every 100 ms */
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "k", 10), 2);
	int64_t wait = 0;
	CU_ASSERT_EQUAL(charge(rl, "k", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 100);
	kms_clock_fake_advance(99);
	CU_ASSERT_EQUAL(charge(rl, "k", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 1);
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "k", 10), 1);
	/* Half a token, then the other half. */
	kms_clock_fake_advance(50);
	CU_ASSERT_EQUAL(charge(rl, "k", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 50);
	kms_clock_fake_advance(50);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "k", 10), 1);
	/* A day idle fills the bucket to burst, not beyond. */
	kms_clock_fake_advance(86400000);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "k", 10), 2);
	/* A rate that does not divide a second: 3/s, 334 ms (rounded up). */
	ratelimit_t *r3 = ratelimit_new(64, 3, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r3);
	CU_ASSERT_EQUAL(charge(r3, "k", NULL), KMS_EOK);
	CU_ASSERT_EQUAL(charge(r3, "k", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 334);
	kms_clock_fake_advance(333);
	CU_ASSERT_EQUAL(charge(r3, "k", NULL), KMS_ERATE);
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(charge(r3, "k", NULL), KMS_EOK);
	ratelimit_free(r3);
	ratelimit_free(rl);
	kms_clock_fake_stop();
}

static void given_waits_when_turned_into_retry_after_then_rounded_up_at_least_1(void)
{
	CU_ASSERT_EQUAL(ratelimit_retry_after_s(0), 1);
	CU_ASSERT_EQUAL(ratelimit_retry_after_s(1), 1);
	CU_ASSERT_EQUAL(ratelimit_retry_after_s(1000), 1);
	CU_ASSERT_EQUAL(ratelimit_retry_after_s(1001), 2);
	CU_ASSERT_EQUAL(ratelimit_retry_after_s(9500), 10);
}

/*
 * Four slots (one shard, every key may use all four): four keys with
 * drained buckets fill it.  A fifth key is refused (no bucket is reset),
 * with the wait until the first of them is full; once one is full, the new
 * key takes its slot, and the others keep their state.
 */
static void given_full_table_when_new_key_then_refused_until_a_bucket_is_full(void)
{
	kms_clock_fake_start(T0, 0);
	ratelimit_t *rl = ratelimit_new(4, 1, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "a", 10), 2); /* full again at +2 s */
	CU_ASSERT_EQUAL(charge(rl, "b", NULL), KMS_EOK);   /* full again at +1 s */
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "c", 10), 2);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "d", 10), 2);
	int64_t wait = 0;
	CU_ASSERT_EQUAL(charge(rl, "e", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 1000);
	ratelimit_stats_t st;
	ratelimit_stats(rl, &st);
	CU_ASSERT_EQUAL(st.entries, 4);
	CU_ASSERT_EQUAL(st.used, 4);
	CU_ASSERT_EQUAL(st.full, 1);
	/* "a" was not reset by the attempt. */
	CU_ASSERT_EQUAL(charge(rl, "a", NULL), KMS_ERATE);
	kms_clock_fake_advance(1000); /* "b" is full now: its slot is free */
	CU_ASSERT_EQUAL(charge(rl, "e", NULL), KMS_EOK);
	/* a, c, d: half a bucket each after 1 s, not a fresh one. */
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "a", 10), 1);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "c", 10), 1);
	CU_ASSERT_EQUAL(charge(rl, "f", &wait), KMS_ERATE);
	CU_ASSERT_EQUAL(wait, 1000); /* d and e are full again at +2 s */
	/* "b" comes back with a full bucket: forgetting it lost nothing. */
	kms_clock_fake_advance(1000);
	CU_ASSERT_EQUAL(allowed_in_a_row(rl, "b", 10), 2);
	ratelimit_stats(rl, &st);
	CU_ASSERT_EQUAL(st.used, 4);
	CU_ASSERT_EQUAL(st.full, 2);
	ratelimit_free(rl);
	kms_clock_fake_stop();
}

/* However many keys, never more live buckets than entries. */
static void given_many_keys_when_charged_then_bounded_by_entries(void)
{
	kms_clock_fake_start(T0, 0);
	ratelimit_t *rl = ratelimit_new(256, 1, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	CU_ASSERT_EQUAL(ratelimit_memory(rl), ratelimit_memory_for(256));
	CU_ASSERT(ratelimit_memory_for(256) <
		  256 * RATELIMIT_ENTRY_BYTES + 64 * RATELIMIT_SHARDS + 256);
	int ok = 0;
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		ok += charge(rl, key, NULL) == KMS_EOK;
	}
	ratelimit_stats_t st;
	ratelimit_stats(rl, &st);
	CU_ASSERT(ok <= 256);
	CU_ASSERT(ok >= 128); /* most slots are reachable */
	CU_ASSERT_EQUAL(st.used, (size_t)ok);
	CU_ASSERT_EQUAL(st.full, (uint64_t)(5000 - ok));
	/* A second later every bucket is full: all slots are free again. */
	kms_clock_fake_advance(1000);
	int again = 0;
	for (int i = 5000; i < 5256; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		again += charge(rl, key, NULL) == KMS_EOK;
	}
	CU_ASSERT(again >= 128);
	ratelimit_stats(rl, &st);
	CU_ASSERT(st.used <= 256);
	ratelimit_free(rl);
	kms_clock_fake_stop();
}

static void given_bad_settings_when_created_then_null_and_null_table_allows(void)
{
	CU_ASSERT_PTR_NULL(ratelimit_new(0, 1, 1));
	CU_ASSERT_PTR_NULL(ratelimit_new(16, 0, 1));
	CU_ASSERT_PTR_NULL(ratelimit_new(16, 1, 0));
	CU_ASSERT_PTR_NULL(ratelimit_new(16, RATELIMIT_RATE_MAX + 1, 1));
	CU_ASSERT_PTR_NULL(ratelimit_new(16, 1, RATELIMIT_BURST_MAX + 1));
	CU_ASSERT_EQUAL(ratelimit_charge(NULL, "x", 1, NULL), KMS_EOK);
	ratelimit_free(NULL);
	/* The largest settings: no overflow over a long idle time. */
	kms_clock_fake_start(T0, 0);
	ratelimit_t *rl = ratelimit_new(16, RATELIMIT_RATE_MAX, RATELIMIT_BURST_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	CU_ASSERT_EQUAL(charge(rl, "k", NULL), KMS_EOK);
	kms_clock_fake_advance(INT64_C(1) << 40);
	CU_ASSERT_EQUAL(charge(rl, "k", NULL), KMS_EOK);
	ratelimit_free(rl);
	kms_clock_fake_stop();
}

static size_t key6(const char *text, uint8_t key[RATELIMIT_ADDR_KEY_MAX])
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	CU_ASSERT_EQUAL(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
	return ratelimit_addr_key((const struct sockaddr *)&a, key);
}

static void given_addresses_when_keyed_then_v4_whole_and_v6_by_64(void)
{
	uint8_t k1[RATELIMIT_ADDR_KEY_MAX], k2[RATELIMIT_ADDR_KEY_MAX];
	struct sockaddr_in a4;
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons(1234);
	inet_pton(AF_INET, "192.0.2.7", &a4.sin_addr);
	CU_ASSERT_EQUAL(ratelimit_addr_key((const struct sockaddr *)&a4, k1), 5);
	/* IPv4-mapped: the same client. */
	CU_ASSERT_EQUAL(key6("::ffff:192.0.2.7", k2), 5);
	CU_ASSERT_EQUAL(memcmp(k1, k2, 5), 0);
	CU_ASSERT_EQUAL(key6("::ffff:192.0.2.8", k2), 5);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, 5), 0);
	/* One /64, two hosts: one key; the next /64: another. */
	CU_ASSERT_EQUAL(key6("2001:db8:1:2::1", k1), 9);
	CU_ASSERT_EQUAL(key6("2001:db8:1:2:ffff:1:2:3", k2), 9);
	CU_ASSERT_EQUAL(memcmp(k1, k2, 9), 0);
	CU_ASSERT_EQUAL(key6("2001:db8:1:3::1", k2), 9);
	CU_ASSERT_NOT_EQUAL(memcmp(k1, k2, 9), 0);
	/* An IPv6 key never equals an IPv4 one (family byte). */
	CU_ASSERT_EQUAL(key6("400:0:0:0::", k2), 9);
	CU_ASSERT_NOT_EQUAL(k1[0], 4);
	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	CU_ASSERT_EQUAL(ratelimit_addr_key((const struct sockaddr *)&un, k1), 0);
	CU_ASSERT_EQUAL(ratelimit_addr_key(NULL, k1), 0);
}

static void given_log_gate_when_passed_often_then_once_per_interval_with_count(void)
{
	kms_clock_fake_start(T0, 0);
	ratelimit_gate_t g;
	memset(&g, 0, sizeof(g));
	uint64_t skipped = 99;
	CU_ASSERT_TRUE(ratelimit_gate_pass(&g, 1000, &skipped));
	CU_ASSERT_EQUAL(skipped, 0);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_FALSE(ratelimit_gate_pass(&g, 1000, &skipped));
	}
	kms_clock_fake_advance(999);
	CU_ASSERT_FALSE(ratelimit_gate_pass(&g, 1000, &skipped));
	kms_clock_fake_advance(1);
	CU_ASSERT_TRUE(ratelimit_gate_pass(&g, 1000, &skipped));
	CU_ASSERT_EQUAL(skipped, 6);
	kms_clock_fake_stop();
}

#define THREADS 4
static void *hammer(void *arg)
{
	ratelimit_t *rl = arg;
	long ok = 0;
	for (int i = 0; i < 2000; i++) {
		ok += ratelimit_charge(rl, "shared", 6, NULL) == KMS_EOK;
	}
	return (void *)ok;
}

/* Clock standing still: THREADS * 2000 charges of one key, burst 1000. */
static void given_threads_when_charging_one_key_then_exactly_burst_allowed(void)
{
	kms_clock_fake_start(T0, 0);
	ratelimit_t *rl = ratelimit_new(1024, 1, 1000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	pthread_t t[THREADS];
	long total = 0;
	for (int i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, hammer, rl), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		void *ok = NULL;
		pthread_join(t[i], &ok);
		total += (long)ok;
	}
	CU_ASSERT_EQUAL(total, 1000);
	ratelimit_free(rl);
	kms_clock_fake_stop();
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_burst_when_spent_then_refused_with_wait_and_nothing_taken),
		UNIT_TEST(
		    given_drained_bucket_when_time_passes_then_refills_at_rate_up_to_burst),
		UNIT_TEST(
		    given_waits_when_turned_into_retry_after_then_rounded_up_at_least_1),
		UNIT_TEST(
		    given_full_table_when_new_key_then_refused_until_a_bucket_is_full),
		UNIT_TEST(given_many_keys_when_charged_then_bounded_by_entries),
		UNIT_TEST(
		    given_bad_settings_when_created_then_null_and_null_table_allows),
		UNIT_TEST(given_addresses_when_keyed_then_v4_whole_and_v6_by_64),
		UNIT_TEST(
		    given_log_gate_when_passed_often_then_once_per_interval_with_count),
		UNIT_TEST(given_threads_when_charging_one_key_then_exactly_burst_allowed),
		UNIT_END,
	};
	return unit_run("ratelimit", tests);
}
