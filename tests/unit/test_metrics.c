/* kmsd's metrics registry and scrape (kms/metrics.h), without a daemon. */
#include <string.h>

#include "common/errcode.h"
#include "kms/metrics.h"
#include "tests/unit/unit.h"

static char *render(kms_metrics_t *m, metric_text_t *t)
{
	metric_text_init(t);
	CU_ASSERT_EQUAL(kms_metrics_render(m, 2000, t), KMS_EOK);
	return t->buf != NULL ? t->buf : "";
}

static void given_codes_when_named_then_from_the_error_table(void)
{
	kms_metrics_t *m = NULL;
	CU_ASSERT_EQUAL(kms_metrics_new(1000, &m), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, KMS_EOK), "ok");
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, KMS_EMAC), "mac");
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, KMS_EREPLAY), "replay");
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, KMS_EHTTP_SIZE), "http_size");
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, KMS_ENOMEM), "nomem");
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, -1), "unknown"); /* EPERM */
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, 12345), "unknown");
	CU_ASSERT_STRING_EQUAL(kms_metrics_outcome(m, KMS_ELAST_), "unknown");
	kms_metrics_free(m);
}

static void given_requests_when_scraped_then_counted_by_type_and_outcome(void)
{
	kms_metrics_t *m = NULL;
	metric_text_t t;
	kms_metrics_new(1000, &m);
	kms_metrics_request(m, KMS_MT_TICKET, KMS_EOK, 200, 300000); /* 0.3 ms */
	kms_metrics_request(m, KMS_MT_TICKET, KMS_EOK, 200, 7000000);
	kms_metrics_request(m, KMS_MT_TICKET, KMS_EMAC, 401, 1000000);
	kms_metrics_request(m, KMS_MT_RESOLVE, KMS_EREPLAY, 401, 1000000);
	kms_metrics_request(m, KMS_MT_ZK_RESOLVE, KMS_EREPLAY, 401, 1000000);
	kms_metrics_request(m, (kms_mtype_t)99, 424242, 999, 1); /* clamped */
	const char *s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_requests_total{type=\"ticketrequest\",outcome=\"ok\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_requests_total{type=\"ticketrequest\",outcome=\"mac\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_requests_total{type=\"zk_resolve\",outcome=\"replay\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_requests_total{type=\"other\",outcome=\"unknown\"} 1\n"));
	/* ok is always there; other outcomes only once seen. */
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_requests_total{type=\"ticketresolve\",outcome=\"ok\"} 0\n"));
	CU_ASSERT_PTR_NULL(strstr(s, "outcome=\"policy\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_replay_refusals_total 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_http_responses_total{code=\"401\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_http_responses_total{code=\"200\"} 2\n"));
	CU_ASSERT_PTR_NULL(strstr(s, "code=\"999\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_request_duration_seconds_bucket{type="
					 "\"ticketrequest\",le=\"0.0005\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_request_duration_seconds_bucket{type="
					 "\"ticketrequest\",le=\"0.01\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_request_duration_seconds_count{type=\"ticketrequest\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_start_time_seconds 1000\n"));
	metric_text_free(&t);
	kms_metrics_free(m);
}

static void given_rate_refusals_when_scraped_then_scope_by_type(void)
{
	kms_metrics_t *m = NULL;
	metric_text_t t;
	kms_metrics_new(1000, &m);
	/* Refused by address before the request was read: type unknown. */
	kms_metrics_request(m, KMS_MT_OTHER, KMS_ERATE, 429, 1000);
	kms_metrics_request(m, KMS_MT_OTHER, KMS_ERATE, 429, 1000);
	kms_metrics_request(m, KMS_MT_TICKET, KMS_ERATE, 429, 1000);
	const char *s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_ratelimit_refusals_total{scope=\"address\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(s, "kms_ratelimit_refusals_total{scope=\"identity\"} 1\n"));
	metric_text_free(&t);
	kms_metrics_free(m);
}

static void given_reloads_when_scraped_then_last_one_shown(void)
{
	kms_metrics_t *m = NULL;
	metric_text_t t;
	kms_metrics_new(1000, &m);
	const char *s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_last_reload_success 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_last_reload_timestamp_seconds 1000\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_reloads_total 0\n"));
	/* Without a NAF: the Zn breaker is still there (kmsctl status). */
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_zn_breaker_open 0\n"));
	metric_text_free(&t);
	kms_metrics_reload(m, true, 1500);
	kms_metrics_reload(m, false, 1600);
	s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_last_reload_success 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_last_reload_timestamp_seconds 1600\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_reloads_total 2\n"));
	metric_text_free(&t);
	kms_metrics_free(m);
}

static void given_replay_cache_when_scraped_then_fill_and_capacity(void)
{
	kms_metrics_t *m = NULL;
	metric_text_t t;
	replay_t *rp = replay_new(64, 300, 1000);
	uint8_t d[REPLAY_DIGEST_LEN] = { 1 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(rp);
	CU_ASSERT_EQUAL(replay_check_and_add(rp, d, 1000, 1000), KMS_EOK);
	kms_metrics_new(1000, &m);
	const kms_metrics_src_t src = { NULL, NULL, rp, NULL, NULL, NULL, NULL };
	kms_metrics_set_source(m, &src);
	const char *s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_replay_cache_entries 1\n"));
	char cap[64];
	snprintf(cap, sizeof(cap), "kms_replay_cache_capacity %zu\n",
		 replay_capacity(rp));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, cap));
	metric_text_free(&t);
	kms_metrics_free(m);
	replay_free(rp);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_codes_when_named_then_from_the_error_table),
		UNIT_TEST(given_requests_when_scraped_then_counted_by_type_and_outcome),
		UNIT_TEST(given_rate_refusals_when_scraped_then_scope_by_type),
		UNIT_TEST(given_reloads_when_scraped_then_last_one_shown),
		UNIT_TEST(given_replay_cache_when_scraped_then_fill_and_capacity),
		UNIT_END,
	};
	return unit_run("metrics", tests);
}
