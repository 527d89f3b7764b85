/* Error table, logging and encoders. */
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "tests/unit/unit.h"

static void given_every_code_when_mapped_then_named_and_distinct(void)
{
	int seen = 0;
	for (int c = KMS_EDOMAIN_BASE; c < KMS_ELAST_; c++) {
		CU_ASSERT_STRING_NOT_EQUAL(kms_err_name(c), "KMS_EUNKNOWN");
		CU_ASSERT_STRING_NOT_EQUAL(kms_strerror(c), "unknown error");
		CU_ASSERT(kms_err_http(c) >= 400 && kms_err_http(c) <= 599);
		int m = kms_err_mikey(c);
		CU_ASSERT(m >= 0 && m <= 15 && m != 13);
		for (int d = KMS_EDOMAIN_BASE; d < c; d++) {
			CU_ASSERT_STRING_NOT_EQUAL(kms_err_name(c), kms_err_name(d));
		}
		seen++;
	}
	CU_ASSERT(seen >= 25);
	CU_ASSERT_EQUAL(kms_err_http(KMS_EOK), 200);
	CU_ASSERT_STRING_EQUAL(kms_err_name(12345), "KMS_EUNKNOWN");
	CU_ASSERT_EQUAL(kms_err_http(12345), 500);
}

static void given_protocol_codes_when_mapped_then_rfc_numbers_and_statuses(void)
{
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EAUTH), MIKEY_ERR_AUTH);
	CU_ASSERT_EQUAL(kms_err_http(KMS_EAUTH), 401);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EMAC), 3);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_ETS), 1);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EPRF), 2);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EEA), 4);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EHA), 5);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EID), 7);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_EDT), 11);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_ETICKET), 14);
	CU_ASSERT_EQUAL(kms_err_mikey(KMS_ETPPAR), 15);
	CU_ASSERT_EQUAL(kms_err_http(KMS_EPOLICY), 403);
	CU_ASSERT_EQUAL(kms_err_http(KMS_EUNAVAIL), 503);
	CU_ASSERT_EQUAL(kms_err_http(KMS_EMALFORMED), 400);
	CU_ASSERT_EQUAL(kms_err_http(KMS_ENOTSUP), 501);
	CU_ASSERT_EQUAL(kms_err_http(KMS_ENOMEM), 500);
}

static void given_subject_when_formatting_then_named_and_sanitised(void)
{
	char buf[128];
	log_format(buf, sizeof(buf), LOG_WARNING, "req-7", "bad %s", "MAC");
	CU_ASSERT_STRING_EQUAL(buf, "warning: [req-7] bad MAC");
	log_format(buf, sizeof(buf), LOG_INFO, NULL, "started");
	CU_ASSERT_STRING_EQUAL(buf, "info: started");
	/* A hostile identity cannot inject a second log line. */
	log_format(buf, sizeof(buf), LOG_ERR, "a\nb", "id=%s", "x\r\ny");
	CU_ASSERT_STRING_EQUAL(buf, "err: [a?b] id=x??y");
	/* Truncation is safe. */
	char small[8];
	log_format(small, sizeof(small), LOG_ERR, NULL, "0123456789");
	CU_ASSERT_EQUAL(strlen(small), 7);
}

static void given_client_bytes_when_escaped_then_only_printable_ascii(void)
{
	char buf[LOG_ESCAPED_SIZE(8)];
	CU_ASSERT_STRING_EQUAL(log_escape(buf, sizeof(buf), "a\xe9\\'\"\0z", 7),
			       "a\\xe9\\x5c\\x27\\x22\\x00z");
	CU_ASSERT_STRING_EQUAL(log_escape(buf, sizeof(buf), "alice@x", 7), "alice@x");
	/* Cut between whole escapes only. */
	char small[6];
	CU_ASSERT_STRING_EQUAL(log_escape(small, sizeof(small), "a\xff\xff", 3),
			       "a\\xff");
	CU_ASSERT_STRING_EQUAL(log_escape(small, 1, "abc", 3), "");
}

static void given_level_names_when_parsing_then_levels(void)
{
	CU_ASSERT_EQUAL(log_level_parse("debug"), LOG_DEBUG);
	CU_ASSERT_EQUAL(log_level_parse("WARNING"), LOG_WARNING);
	CU_ASSERT_EQUAL(log_level_parse("error"), LOG_ERR);
	CU_ASSERT_EQUAL(log_level_parse("loud"), -1);
	CU_ASSERT_EQUAL(log_level_parse(NULL), -1);
	log_level_set(LOG_DEBUG);
	CU_ASSERT_EQUAL(log_level_get(), LOG_DEBUG);
	log_level_set(99);
	CU_ASSERT_EQUAL(log_level_get(), LOG_DEBUG);
	log_level_set(LOG_WARNING);
	CU_ASSERT_EQUAL(log_level_get(), LOG_WARNING);
}

static void given_bytes_when_hex_round_trip_then_identical(void)
{
	const uint8_t in[] = { 0x00, 0xab, 0xff, 0x10 };
	char hex[9];
	uint8_t out[4];
	size_t n = 0;
	CU_ASSERT_EQUAL(hex_encode(in, 4, hex, sizeof(hex)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(hex, "00abff10");
	CU_ASSERT_EQUAL(hex_decode("00ABff10", 8, out, 4, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(memcmp(in, out, 4), 0);
	CU_ASSERT_EQUAL(hex_encode(in, 4, hex, 8), KMS_ESPACE);
	CU_ASSERT_EQUAL(hex_decode("abc", 3, out, 4, &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(hex_decode("zz", 2, out, 4, &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(hex_decode("0011223344", 10, out, 4, &n), KMS_ESPACE);
}

/* str_copy: whole, cut at cap - 1, empty and NULL sources, nothing past cap. */
static void given_strings_when_str_copy_then_bounded_and_terminated(void)
{
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), "abc"), 3);
	CU_ASSERT_STRING_EQUAL(buf, "abc");
	CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), "abcdefghij"), 7);
	CU_ASSERT_STRING_EQUAL(buf, "abcdefg");
	CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), "abcdefg"), 7); /* exactly fits */
	CU_ASSERT_STRING_EQUAL(buf, "abcdefg");
	char small[4] = { 'q', 'q', 'q', 'q' };
	CU_ASSERT_EQUAL(str_copy(small, 1, "abc"), 0);
	CU_ASSERT_EQUAL(small[0], '\0');
	CU_ASSERT_EQUAL(small[1], 'q'); /* nothing written past cap */
	CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), ""), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(str_copy(buf, sizeof(buf), NULL), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(str_copy(NULL, 4, "abc"), 0);
	CU_ASSERT_EQUAL(str_copy(buf, 0, "abc"), 0);
}

/* RFC 4648 section 10 vectors, both ways. */
static void given_rfc4648_vectors_when_base64_then_match(void)
{
	static const char *const plain[] = { "",     "f",     "fo",    "foo",
					     "foob", "fooba", "foobar" };
	static const char *const enc[] = { "",	       "Zg==",	   "Zm8=",    "Zm9v",
					   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char out[16];
		uint8_t back[8];
		size_t n = 99;
		CU_ASSERT_EQUAL(base64_encode((const uint8_t *)plain[i], strlen(plain[i]),
					      out, sizeof(out)),
				KMS_EOK);
		CU_ASSERT_STRING_EQUAL(out, enc[i]);
		CU_ASSERT_EQUAL(
		    base64_decode(enc[i], strlen(enc[i]), back, sizeof(back), &n),
		    KMS_EOK);
		CU_ASSERT_EQUAL(n, strlen(plain[i]));
		CU_ASSERT_EQUAL(memcmp(back, plain[i], n), 0);
	}
}

static void given_bad_base64_when_decoding_then_refused(void)
{
	uint8_t out[16];
	size_t n;
	CU_ASSERT_EQUAL(base64_decode("Zm9", 3, out, 16, &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(base64_decode("Zm9*", 4, out, 16, &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(base64_decode("Z===", 4, out, 16, &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(base64_decode("Zm=v", 4, out, 16, &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(base64_decode("Zh==", 4, out, 16, &n),
			KMS_EMALFORMED); /* non-canonical */
	CU_ASSERT_EQUAL(base64_decode("Zm9vYmFy", 8, out, 5, &n), KMS_ESPACE);
	char small[4];
	CU_ASSERT_EQUAL(base64_encode((const uint8_t *)"foo", 3, small, 4), KMS_ESPACE);
}

static void given_decimal_text_when_dec_parse_u32_then_whole_digits_only(void)
{
	uint32_t v = 7;
	CU_ASSERT_EQUAL(dec_parse_u32("0", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(dec_parse_u32("4294967295", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, UINT32_MAX);
	CU_ASSERT_EQUAL(dec_parse_u32("007", &v), KMS_EOK);
	CU_ASSERT_EQUAL(v, 7);
	static const char *const bad[] = { "",	  "4294967296", "99999999999999999999",
					   "-1",  "+1",		" 1",
					   "1 ",  "0x10",	"1e3",
					   "12a", "\xd9\xa1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		CU_ASSERT_EQUAL(dec_parse_u32(bad[i], &v), KMS_EINVAL);
		CU_ASSERT_EQUAL(v, 7); /* untouched */
	}
	CU_ASSERT_EQUAL(dec_parse_u32(NULL, &v), KMS_EINVAL);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_every_code_when_mapped_then_named_and_distinct),
		UNIT_TEST(given_protocol_codes_when_mapped_then_rfc_numbers_and_statuses),
		UNIT_TEST(given_subject_when_formatting_then_named_and_sanitised),
		UNIT_TEST(given_client_bytes_when_escaped_then_only_printable_ascii),
		UNIT_TEST(given_level_names_when_parsing_then_levels),
		UNIT_TEST(given_bytes_when_hex_round_trip_then_identical),
		UNIT_TEST(given_rfc4648_vectors_when_base64_then_match),
		UNIT_TEST(given_strings_when_str_copy_then_bounded_and_terminated),
		UNIT_TEST(given_bad_base64_when_decoding_then_refused),
		UNIT_TEST(given_decimal_text_when_dec_parse_u32_then_whole_digits_only),
		UNIT_END,
	};
	return unit_run("common", tests);
}
