/* JSON log lines (log.format = json): escaping and whole lines, read back
 * with an independent JSON parser (jansson). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "tests/unit/unit.h"

/* The escaped string as a JSON document "..." parsed by jansson: its
 * decoded bytes in out (*len), or false when it does not parse. */
static bool parse_escaped(const char *esc, char *out, size_t cap, size_t *len)
{
	char doc[2048];
	snprintf(doc, sizeof(doc), "\"%s\"", esc);
	json_error_t err;
	json_t *j = json_loads(doc, JSON_DECODE_ANY, &err);
	if (j == NULL || !json_is_string(j) || json_string_length(j) >= cap) {
		json_decref(j);
		return false;
	}
	*len = json_string_length(j);
	memcpy(out, json_string_value(j), *len);
	json_decref(j);
	return true;
}

static void given_control_chars_and_quotes_when_escaped_then_json_round_trips(void)
{
	static const char in[] = "a\"b\\c\n\r\t\x01\x1f\x7f/z";
	char esc[256], back[256];
	size_t n = 0;
	log_json_escape(esc, sizeof(esc), in, sizeof(in) - 1);
	CU_ASSERT_PTR_NULL(strpbrk(esc, "\n\r\t\x01\x1f\x7f"));
	CU_ASSERT_FATAL(parse_escaped(esc, back, sizeof(back), &n));
	CU_ASSERT_EQUAL(n, sizeof(in) - 1);
	CU_ASSERT(memcmp(back, in, n) == 0);
}

static void given_utf8_and_invalid_bytes_when_escaped_then_valid_utf8(void)
{
	/* valid: e-acute, euro sign, U+1F600; invalid: a lone continuation
	 * byte, 0xff, an overlong '/', a surrogate, a truncated sequence. */
	static const char in[] =
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xff|\xc0\xaf|"
	    "\xed\xa0\x80|\xe2\x82";
	static const char want[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xef\xbf\xbd|"
				   "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd"
				   "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd";
	char esc[256], back[256];
	size_t n = 0;
	log_json_escape(esc, sizeof(esc), in, sizeof(in) - 1);
	CU_ASSERT_FATAL(parse_escaped(esc, back, sizeof(back), &n));
	CU_ASSERT_EQUAL(n, sizeof(want) - 1);
	CU_ASSERT(memcmp(back, want, n) == 0);
}

static void given_small_buffer_when_escaped_then_cut_between_escapes(void)
{
	char esc[8], back[32];
	size_t n = 0;
	/* "ab" fits, the 6-byte \u0001 does not: cut before it, terminated. */
	CU_ASSERT_EQUAL(log_json_escape(esc, sizeof(esc), "ab\x01", 3), 2);
	CU_ASSERT_STRING_EQUAL(esc, "ab");
	CU_ASSERT_EQUAL(log_json_escape(esc, 7, "\x01", 1), 6);
	CU_ASSERT_FATAL(parse_escaped(esc, back, sizeof(back), &n));
	CU_ASSERT_EQUAL(log_json_escape(esc, 0, "x", 1), 0);
}

/* A whole line: one object with every field, hostile bytes in subject,
 * message and path. */
static void given_access_line_when_rendered_as_json_then_one_object(void)
{
	char line[4096];
	const log_http_t f = { "POST",	    "/kms\"\n\xff",  403,	    57, 1.25,
			       "127.0.0.1", "ticketrequest", "KMS_EPOLICY", "" };
	log_render(line, sizeof(line), LOG_FMT_JSON, 1764700000123LL, LOG_INFO,
		   "r-ab\ncd-1", "msg \"q\" \x1b[31m", &f);
	CU_ASSERT_PTR_NULL(strchr(line, '\n'));
	json_error_t err;
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	CU_ASSERT_FATAL(json_is_object(j));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "ts")),
			       "2025-12-02T18:26:40.123Z");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "level")), "info");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "subject")),
			       "r-ab\ncd-1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "msg")),
			       "msg \"q\" \x1b[31m");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "path")),
			       "/kms\"\n\xef\xbf\xbd");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "status")), 403);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "bytes")), 57);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "client")),
			       "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "outcome")),
			       "KMS_EPOLICY");
	json_decref(j);
}

/* A message longer than the line: still one object, the message cut. */
static void given_huge_message_when_rendered_then_still_parses(void)
{
	char msg[1024], line[600];
	memset(msg, '\x01', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	log_render(line, sizeof(line), LOG_FMT_JSON, 0, LOG_ERR, NULL, msg, NULL);
	json_error_t err;
	json_t *j = json_loads(line, 0, &err);
	CU_ASSERT(json_is_object(j));
	CU_ASSERT_PTR_NULL(json_object_get(j, "subject"));
	json_decref(j);
}

static void given_text_format_when_rendered_then_time_prog_level_subject(void)
{
	char line[256];
	log_render(line, sizeof(line), LOG_FMT_TEXT, 1764700000123LL, LOG_NOTICE, "r-1",
		   "a\nb", NULL);
	CU_ASSERT_STRING_EQUAL(line, "2025-12-02T18:26:40.123Z kms: notice: [r-1] a?b");
	CU_ASSERT_EQUAL(log_fmt_parse("json"), LOG_FMT_JSON);
	CU_ASSERT_EQUAL(log_fmt_parse("text"), LOG_FMT_TEXT);
	CU_ASSERT_EQUAL(log_fmt_parse("xml"), -1);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_control_chars_and_quotes_when_escaped_then_json_round_trips),
		UNIT_TEST(given_utf8_and_invalid_bytes_when_escaped_then_valid_utf8),
		UNIT_TEST(given_small_buffer_when_escaped_then_cut_between_escapes),
		UNIT_TEST(given_access_line_when_rendered_as_json_then_one_object),
		UNIT_TEST(given_huge_message_when_rendered_then_still_parses),
		UNIT_TEST(given_text_format_when_rendered_then_time_prog_level_subject),
		UNIT_END,
	};
	return unit_run("log", tests);
}
