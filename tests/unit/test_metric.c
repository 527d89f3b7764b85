/* Metrics primitives (common/metric.h): counters, histogram buckets and the
 * text exposition. */
#include <pthread.h>
#include <string.h>

#include "common/errcode.h"
#include "common/metric.h"
#include "tests/unit/unit.h"

static const double bounds[] = { 0.001, 0.01, 0.1 };

static void given_counter_when_added_then_sum(void)
{
	metric_counter_t c = { 0 };
	metric_counter_add(&c, 1);
	metric_counter_add(&c, 41);
	CU_ASSERT_EQUAL(metric_counter_get(&c), 42);
}

#define THREADS 4
#define ADDS 100000

static void *adder(void *arg)
{
	metric_hist_t *h = arg;
	for (int i = 0; i < ADDS; i++) {
		metric_hist_observe_ns(h, 2000000); /* 2 ms */
	}
	return NULL;
}

static void given_threads_when_observing_then_nothing_lost(void)
{
	metric_hist_t h;
	pthread_t t[THREADS];
	CU_ASSERT_EQUAL(metric_hist_init(&h, bounds, 3), KMS_EOK);
	for (int i = 0; i < THREADS; i++) {
		pthread_create(&t[i], NULL, adder, &h);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
	}
	metric_hist_snap_t s;
	metric_hist_snapshot(&h, &s);
	CU_ASSERT_EQUAL(s.cum[0], 0);
	CU_ASSERT_EQUAL(s.cum[1], (uint64_t)THREADS * ADDS);
	CU_ASSERT_EQUAL(s.cum[3], (uint64_t)THREADS * ADDS);
	CU_ASSERT_DOUBLE_EQUAL(s.sum, THREADS * ADDS * 0.002, 1e-6);
}

static void given_bounds_when_observing_edges_then_le_is_inclusive(void)
{
	metric_hist_t h;
	metric_hist_snap_t s;
	CU_ASSERT_EQUAL(metric_hist_init(&h, bounds, 3), KMS_EOK);
	metric_hist_observe_ns(&h, 0);		/* first bucket */
	metric_hist_observe_ns(&h, 1000000);	/* = 1 ms: still le 0.001 */
	metric_hist_observe_ns(&h, 1000001);	/* just over: le 0.01 */
	metric_hist_observe_ns(&h, 100000000);	/* = 0.1 s: le 0.1 */
	metric_hist_observe_ns(&h, 100000001);	/* over the last: +Inf only */
	metric_hist_observe_ns(&h, UINT32_MAX); /* 4.3 s: +Inf only */
	metric_hist_snapshot(&h, &s);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.cum[0], 2);
	CU_ASSERT_EQUAL(s.cum[1], 3);
	CU_ASSERT_EQUAL(s.cum[2], 4);
	CU_ASSERT_EQUAL(s.cum[3], 6); /* +Inf = count */
	CU_ASSERT_DOUBLE_EQUAL(s.le[0], 0.001, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(
	    s.sum, (0 + 1000000 + 1000001 + 100000000 + 100000001.0 + UINT32_MAX) / 1e9,
	    1e-9);
}

static void given_bad_bounds_when_init_then_einval(void)
{
	metric_hist_t h;
	const double down[] = { 0.1, 0.01 };
	const double zero[] = { 0, 1 };
	double many[METRIC_BUCKETS_MAX + 1];
	for (size_t i = 0; i < METRIC_BUCKETS_MAX + 1; i++) {
		many[i] = (double)(i + 1);
	}
	CU_ASSERT_EQUAL(metric_hist_init(&h, down, 2), KMS_EINVAL);
	CU_ASSERT_EQUAL(metric_hist_init(&h, zero, 2), KMS_EINVAL);
	CU_ASSERT_EQUAL(metric_hist_init(&h, bounds, 0), KMS_EINVAL);
	CU_ASSERT_EQUAL(metric_hist_init(&h, many, METRIC_BUCKETS_MAX + 1), KMS_EINVAL);
	CU_ASSERT_EQUAL(metric_hist_init(&h, many, METRIC_BUCKETS_MAX), KMS_EOK);
	CU_ASSERT_EQUAL(
	    metric_hist_init(&h, metric_latency_bounds, metric_latency_nbounds), KMS_EOK);
}

static void given_histogram_when_written_then_buckets_sum_count(void)
{
	metric_hist_t h;
	metric_hist_snap_t s;
	metric_text_t t;
	metric_hist_init(&h, bounds, 3);
	metric_hist_observe_ns(&h, 500000);    /* 0.5 ms */
	metric_hist_observe_ns(&h, 200000000); /* 0.2 s */
	metric_hist_snapshot(&h, &s);
	metric_text_init(&t);
	const metric_label_t l = { "type", "ticketrequest" };
	metric_text_family(&t, "d_seconds", "histogram", "Durations.");
	metric_text_hist(&t, "d_seconds", &l, 1, &s);
	CU_ASSERT_EQUAL(t.err, KMS_EOK);
	CU_ASSERT_STRING_EQUAL(
	    t.buf, "# HELP d_seconds Durations.\n"
		   "# TYPE d_seconds histogram\n"
		   "d_seconds_bucket{type=\"ticketrequest\",le=\"0.001\"} 1\n"
		   "d_seconds_bucket{type=\"ticketrequest\",le=\"0.01\"} 1\n"
		   "d_seconds_bucket{type=\"ticketrequest\",le=\"0.1\"} 1\n"
		   "d_seconds_bucket{type=\"ticketrequest\",le=\"+Inf\"} 2\n"
		   "d_seconds_sum{type=\"ticketrequest\"} 0.20050000000000001\n"
		   "d_seconds_count{type=\"ticketrequest\"} 2\n");
	metric_text_free(&t);
	/* Without labels (NULL, 0), as the Zn histogram is written. */
	metric_text_init(&t);
	metric_text_hist(&t, "z_seconds", NULL, 0, &s);
	CU_ASSERT_EQUAL(t.err, KMS_EOK);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "z_seconds_bucket{le=\"+Inf\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "z_seconds_count 2\n"));
	metric_text_free(&t);
}

static void given_label_value_when_written_then_escaped(void)
{
	metric_text_t t;
	metric_text_init(&t);
	const metric_label_t l[] = { { "peer", "a\"b\\c\nd" }, { "x", "" } };
	metric_text_u64(&t, "m_total", l, 2, 7);
	metric_text_u64(&t, "plain", NULL, 0, 18446744073709551615ull);
	metric_text_double(&t, "g", NULL, 0, 0.5);
	CU_ASSERT_EQUAL(t.err, KMS_EOK);
	CU_ASSERT_STRING_EQUAL(t.buf, "m_total{peer=\"a\\\"b\\\\c\\nd\",x=\"\"} 7\n"
				      "plain 18446744073709551615\n"
				      "g 0.5\n");
	metric_text_free(&t);
}

static void given_huge_output_when_written_then_elimit_sticks(void)
{
	metric_text_t t;
	char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	metric_text_init(&t);
	const metric_label_t l = { "v", big };
	for (int i = 0; i < 2000 && t.err == 0; i++) {
		metric_text_u64(&t, "m", &l, 1, 1);
	}
	CU_ASSERT_EQUAL(t.err, KMS_ELIMIT);
	CU_ASSERT(t.len <= METRIC_TEXT_MAX);
	size_t len = t.len;
	metric_text_u64(&t, "m", NULL, 0, 1); /* sticks: nothing more */
	CU_ASSERT_EQUAL(t.len, len);
	metric_text_free(&t);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_counter_when_added_then_sum),
		UNIT_TEST(given_threads_when_observing_then_nothing_lost),
		UNIT_TEST(given_bounds_when_observing_edges_then_le_is_inclusive),
		UNIT_TEST(given_bad_bounds_when_init_then_einval),
		UNIT_TEST(given_histogram_when_written_then_buckets_sum_count),
		UNIT_TEST(given_label_value_when_written_then_escaped),
		UNIT_TEST(given_huge_output_when_written_then_elimit_sticks),
		UNIT_END,
	};
	return unit_run("metric", tests);
}
