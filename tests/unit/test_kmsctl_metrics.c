/* kmsctl status's reader of kmsd's Prometheus exposition (tools/kmsctl_metrics.c). */
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "tests/unit/unit.h"
#include "tools/kmsctl_metrics.h"

static kmsctl_metrics_t m;

static int parse(const char *text)
{
	return kmsctl_metrics_parse(text, strlen(text), &m);
}

static void given_exposition_when_parse_then_the_reported_lines_are_read(void)
{
	CU_ASSERT_EQUAL(
	    parse("# HELP kms_build_info x\n"
		  "# TYPE kms_build_info gauge\n"
		  "kms_build_info{commit=\"abc\",version=\"1.2.3\"} 1\n"
		  "kms_zn_breaker_open 1\n"
		  "kms_zk_breaker_open{peer=\"kms2.example\"} 0\n"
		  "kms_zk_breaker_open{peer=\"a\\\"b\\\\c\"} 1\n"
		  "kms_requests_total{type=\"x\"} 7\n"
		  "kms_last_reload_timestamp_seconds 1.7672256e9 1767225600000\n"
		  "kms_last_reload_success 1"),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(m.version, "1.2.3");
	CU_ASSERT_EQUAL(m.zn_breaker_open, 1);
	CU_ASSERT_EQUAL_FATAL(m.npeers, 2);
	CU_ASSERT_STRING_EQUAL(m.zk[0].peer, "kms2.example");
	CU_ASSERT_EQUAL(m.zk[0].open, 0);
	CU_ASSERT_STRING_EQUAL(m.zk[1].peer, "a\"b\\c");
	CU_ASSERT_EQUAL(m.zk[1].open, 1);
	CU_ASSERT_EQUAL((long long)m.last_reload, 1767225600LL);
	CU_ASSERT_EQUAL(m.last_reload_success, 1);
}

static void given_empty_text_when_parse_then_everything_absent(void)
{
	CU_ASSERT_EQUAL(parse(""), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(m.version, "");
	CU_ASSERT_EQUAL(m.zn_breaker_open, -1);
	CU_ASSERT_EQUAL(m.npeers, 0);
	CU_ASSERT(m.last_reload < 0);
	CU_ASSERT_EQUAL(m.last_reload_success, -1);
}

static void given_malformed_lines_when_parse_then_they_are_skipped(void)
{
	CU_ASSERT_EQUAL(parse("kms_zn_breaker_open\n"		   /* no value */
			      "kms_zk_breaker_open{peer=\"x} 1\n"  /* open quote */
			      "kms_zk_breaker_open{peer=\"y\" 1\n" /* no brace */
			      "kms_zk_breaker_open{peer=y} 1\n"	   /* no quotes */
			      "kms_last_reload_success one\n"	   /* not a number */
			      "kms_last_reload_timestamp_seconds NaN\n"
			      "kms_build_info{version=\"\\"), /* cut in an escape */
			KMS_EOK);
	CU_ASSERT_EQUAL(m.zn_breaker_open, -1);
	CU_ASSERT_EQUAL(m.npeers, 0);
	CU_ASSERT_EQUAL(m.last_reload_success, -1);
	CU_ASSERT(m.last_reload < 0);
	CU_ASSERT_STRING_EQUAL(m.version, "");
}

static void given_long_label_or_many_peers_when_parse_then_capped(void)
{
	size_t cap = 64 * (KMSCTL_METRICS_PEERS_MAX + 10) + 1024;
	char *t = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	size_t n = (size_t)snprintf(t, cap, "kms_build_info{version=\"");
	memset(t + n, 'v', KMSCTL_METRICS_LABEL_MAX + 1); /* one byte too long */
	n += KMSCTL_METRICS_LABEL_MAX + 1;
	n += (size_t)snprintf(t + n, cap - n, "\"} 1\n");
	for (int i = 0; i < KMSCTL_METRICS_PEERS_MAX + 10; i++) {
		n += (size_t)snprintf(t + n, cap - n,
				      "kms_zk_breaker_open{peer=\"p%d\"} 1\n", i);
	}
	CU_ASSERT_EQUAL(kmsctl_metrics_parse(t, n, &m), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(m.version, "");
	CU_ASSERT_EQUAL(m.npeers, KMSCTL_METRICS_PEERS_MAX);
	CU_ASSERT_EQUAL(kmsctl_metrics_parse(t, KMSCTL_METRICS_BODY_MAX + 1, &m),
			KMS_ELIMIT);
	free(t);
}

static const unit_test_t tests[] = {
	UNIT_TEST(given_exposition_when_parse_then_the_reported_lines_are_read),
	UNIT_TEST(given_empty_text_when_parse_then_everything_absent),
	UNIT_TEST(given_malformed_lines_when_parse_then_they_are_skipped),
	UNIT_TEST(given_long_label_or_many_peers_when_parse_then_capped),
	UNIT_END,
};

int main(void)
{
	return unit_run("kmsctl_metrics", tests);
}
