/*
 * kms/http_frame.c: the Ua/Zk routing decision on lists of headers and
 * query arguments, one refusal of each kind, the order of the checks, and
 * the acceptances (kms_http_frame), plus the framing helpers of
 * net/frame.c.  The same decisions through a real listener are checked by
 * tests/system/kmsd_http.sh.
 */
#include <string.h>

#include "common/errcode.h"
#include "kms/http_frame.h"
#include "unit.h"

#define KV(k, v)                                                                         \
	{                                                                                \
		k, sizeof(k) - 1, v, sizeof(v) - 1                                       \
	}

static const net_kv_t ct = KV("Content-Type", "application/mikey");
static const net_kv_t rt_req = KV("requesttype", "ticketrequest");
static const net_kv_t rt_res = KV("requesttype", "ticketresolve");

static kms_frame_t decide(bool zk, const char *method, const char *path,
			  const net_kv_t *args, size_t nargs, const net_kv_t *hdr,
			  size_t nhdr)
{
	const kms_frame_cfg_t cfg = { "/kms", zk, 1000 };
	const kms_frame_req_t r = { method, path, args, nargs, hdr, nhdr };
	kms_frame_t d;
	memset(&d, 0x5a, sizeof(d));
	kms_http_frame(&cfg, &r, &d);
	return d;
}

static void given_a_valid_post_when_framed_then_body_with_its_type_and_cap(void)
{
	const net_kv_t h[2] = { ct, KV("content-length", "100") };
	kms_frame_t d = decide(false, "POST", "/kms", &rt_req, 1, h, 2);
	CU_ASSERT_EQUAL(d.action, KMS_FRAME_BODY);
	CU_ASSERT_EQUAL(d.type, KMS_REQ_TICKET);
	CU_ASSERT_EQUAL(d.body_cap, 100);
	CU_ASSERT_EQUAL(d.error, 0);
	/* Chunked (no length): the cap is max_body; the type may carry a charset. */
	const net_kv_t h2[1] = { KV("CONTENT-TYPE", " application/MIKEY; x=y") };
	d = decide(true, "POST", "/kms", &rt_res, 1, h2, 1);
	CU_ASSERT_EQUAL(d.action, KMS_FRAME_BODY);
	CU_ASSERT_EQUAL(d.type, KMS_REQ_RESOLVE);
	CU_ASSERT_EQUAL(d.body_cap, 1000);
}

static void check_refused(kms_frame_t d, int error, unsigned status, const char *text)
{
	CU_ASSERT_EQUAL(d.action, KMS_FRAME_REPLY);
	CU_ASSERT_EQUAL(d.error, error);
	CU_ASSERT_EQUAL(d.status, status);
	CU_ASSERT_STRING_EQUAL(d.text, text);
}

static void given_each_bad_request_when_framed_then_its_refusal(void)
{
	const net_kv_t dup[3] = { ct, KV("Content-Length", "1"),
				  KV("content-length", "1") };
	const net_kv_t te[3] = { ct, KV("Content-Length", "1"),
				 KV("Transfer-Encoding", "chunked") };
	const net_kv_t big[2] = { ct, KV("Content-Length", "1001") };
	const net_kv_t sign[2] = { ct, KV("Content-Length", "+1") };
	const net_kv_t wrong_ct = KV("Content-Type", "application/mikeys");
	const net_kv_t nul = { "requesttype", 11, "ticketrequest\0x", 15 };
	const net_kv_t bare = { "requesttype", 11, NULL, 0 };
	const net_kv_t odd = KV("requesttype", "ticketfoo");
	kms_frame_t d = decide(false, "POST", "/kms", &rt_req, 1, dup, 3);
	check_refused(d, KMS_EHTTP_FRAME, 400, "ambiguous message framing\n");
	CU_ASSERT_EQUAL(d.note, KMS_FRAME_NOTE_FRAMING);
	check_refused(decide(false, "POST", "/kms", &rt_req, 1, te, 3), KMS_EHTTP_FRAME,
		      400, "ambiguous message framing\n");
	check_refused(decide(false, "POST", "/kms", &rt_req, 1, big, 2), KMS_EHTTP_SIZE,
		      413, "body too large\n");
	check_refused(decide(false, "POST", "/kms", &rt_req, 1, sign, 2), KMS_EHTTP_FRAME,
		      400, "bad Content-Length\n");
	check_refused(decide(false, "POST", "/kms", &rt_req, 1, &wrong_ct, 1),
		      KMS_EHTTP_MEDIA, 415, "content type must be application/mikey\n");
	check_refused(decide(false, "POST", "/kms", &rt_req, 1, NULL, 0), KMS_EHTTP_MEDIA,
		      415, "content type must be application/mikey\n");
	d = decide(false, "POST", "/kms", &nul, 1, &ct, 1);
	check_refused(d, KMS_EHTTP_REQTYPE, 400, "bad requesttype\n");
	CU_ASSERT_EQUAL(d.note, KMS_FRAME_NOTE_RT_NUL);
	CU_ASSERT_EQUAL(d.rt_len, 15);
	check_refused(decide(false, "POST", "/kms", &bare, 1, &ct, 1), KMS_EHTTP_REQTYPE,
		      400, "missing requesttype\n");
	check_refused(decide(false, "POST", "/kms", NULL, 0, &ct, 1), KMS_EHTTP_REQTYPE,
		      400, "missing requesttype\n");
	check_refused(decide(false, "POST", "/kms", &odd, 1, &ct, 1), KMS_EHTTP_REQTYPE,
		      400, "unknown requesttype (ticketrequest or ticketresolve)\n");
	d = decide(true, "POST", "/kms", &rt_req, 1, &ct, 1);
	check_refused(d, KMS_EZK_REQTYPE, 403, "only ticketresolve is served on Zk\n");
	CU_ASSERT_EQUAL(d.note, KMS_FRAME_NOTE_ZK_RT);
	d = decide(false, "PUT", "/kms", &rt_req, 1, &ct, 1);
	check_refused(d, KMS_EHTTP_METHOD, 405, "method not allowed: use POST\n");
	CU_ASSERT_STRING_EQUAL(d.allow, "POST");
}

static void given_paths_when_framed_then_health_ready_or_not_found(void)
{
	kms_frame_t d = decide(false, "GET", "/healthz", NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(d.action, KMS_FRAME_REPLY);
	CU_ASSERT_EQUAL(d.status, 200);
	CU_ASSERT_EQUAL(decide(false, "HEAD", "/readyz", NULL, 0, NULL, 0).action,
			KMS_FRAME_READY);
	d = decide(false, "POST", "/readyz", NULL, 0, NULL, 0);
	CU_ASSERT_EQUAL(d.status, 405);
	CU_ASSERT_EQUAL(d.error, 0); /* not audited */
	CU_ASSERT_STRING_EQUAL(d.allow, "GET, HEAD");
	/* Zk serves no health paths; other paths are 404 on both. */
	CU_ASSERT_EQUAL(decide(true, "GET", "/healthz", NULL, 0, NULL, 0).status, 404);
	d = decide(false, "POST", "/kms/", &rt_req, 1, &ct, 1);
	CU_ASSERT_EQUAL(d.status, 404);
	CU_ASSERT_EQUAL(d.error, 0);
}

static void given_two_requesttypes_when_framed_then_the_first_counts_any_case(void)
{
	const net_kv_t args[2] = { KV("RequestType", "ticketresolve"), rt_req };
	kms_frame_t d = decide(false, "POST", "/kms", args, 2, &ct, 1);
	CU_ASSERT_EQUAL(d.action, KMS_FRAME_BODY);
	CU_ASSERT_EQUAL(d.type, KMS_REQ_RESOLVE);
	/* Framing comes first: ambiguous framing on a wrong path is still 400. */
	const net_kv_t dup[2] = { KV("Content-Length", "1"), KV("Content-Length", "1") };
	CU_ASSERT_EQUAL(decide(false, "GET", "/nope", NULL, 0, dup, 2).error,
			KMS_EHTTP_FRAME);
}

static void given_lengths_when_parsed_then_decimal_only(void)
{
	uint64_t n = 7;
	CU_ASSERT_EQUAL(net_length_parse("0", &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(net_length_parse("4611686018427387904", &n), KMS_EOK);
	n = 7;
	CU_ASSERT_EQUAL(net_length_parse("4611686018427387905", &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(net_length_parse("", &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(net_length_parse(" 1", &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(net_length_parse("1 ", &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(net_length_parse("-1", &n), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(n, 7); /* untouched on failure */
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_a_valid_post_when_framed_then_body_with_its_type_and_cap),
		UNIT_TEST(given_each_bad_request_when_framed_then_its_refusal),
		UNIT_TEST(given_paths_when_framed_then_health_ready_or_not_found),
		UNIT_TEST(
		    given_two_requesttypes_when_framed_then_the_first_counts_any_case),
		UNIT_TEST(given_lengths_when_parsed_then_decimal_only),
		UNIT_END,
	};
	return unit_run("http_frame", tests);
}
