/* kms-ue call's network parsers and builders: SDP (tools/ue_sdp.h), SIP
 * (tools/ue_sip.h) and the SRTP policy payload (tools/ue_srtp_sp.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "tests/unit/unit.h"
#include "tools/ue_sdp.h"
#include "tools/ue_sip.h"
#include "tools/ue_srtp_sp.h"

static const uint8_t MIKEY[] = { 0x01, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e };

static char buf[UE_SIP_MAX + 4096];

static void test_given_offer_when_built_then_parses_back(void)
{
	char sdp[UE_SDP_MAX];
	size_t len = 0, mlen = 0;
	uint8_t m[64];
	ue_sdp_t s;
	const char *why = NULL;
	ue_sdp_desc_t d = { "127.0.0.1", 40000, 0xdeadbeef, 7, MIKEY, sizeof(MIKEY) };
	CU_ASSERT_EQUAL_FATAL(ue_sdp_build(&d, sdp, sizeof(sdp), &len), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(sdp, len, &s, &why), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(s.addr, "127.0.0.1");
	CU_ASSERT_EQUAL(s.port, 40000);
	CU_ASSERT_STRING_EQUAL(s.proto, "RTP/SAVP");
	CU_ASSERT(s.has_ssrc);
	CU_ASSERT_EQUAL(s.ssrc, 0xdeadbeef);
	CU_ASSERT_FALSE(s.mikey_session);
	CU_ASSERT_EQUAL_FATAL(ue_sdp_mikey(&s, m, sizeof(m), &mlen), KMS_EOK);
	CU_ASSERT_EQUAL(mlen, sizeof(MIKEY));
	CU_ASSERT_EQUAL(memcmp(m, MIKEY, mlen), 0);
}

static void test_given_session_level_keymgmt_and_lf_when_parsed_then_found(void)
{
	static const char sdp[] =
	    "v=0\nc=IN IP4 10.0.0.1\na=key-mgmt:mikey AQA=\n"
	    "m=video 5 RTP/AVP 96\nm=audio 7000 RTP/SAVP 0\n"
	    "c=IN IP4 127.0.0.2\nm=audio 9 RTP/SAVP 0\nc=IN IP4 1.1.1.1\n";
	ue_sdp_t s;
	const char *why = NULL;
	CU_ASSERT_EQUAL_FATAL(ue_sdp_parse(sdp, sizeof(sdp) - 1, &s, &why), KMS_EOK);
	CU_ASSERT(s.mikey_session);
	CU_ASSERT_EQUAL(s.mikey_len, 4);
	/* m=video is skipped... the first m= line counts: it is video. */
	CU_ASSERT_FALSE(s.has_media);
	CU_ASSERT_STRING_EQUAL(s.addr, "10.0.0.1");
}

/* Each of these must be refused, none may crash or read out of bounds. */
static void test_given_malformed_sdp_when_parsed_then_refused(void)
{
	static const char *const bad[] = {
		"",
		"v=1\r\n",
		"x\r\nv=0\r\n",
		"v=0\r\nm=audio 70000 RTP/SAVP 0\r\n",
		"v=0\r\nm=audio  RTP/SAVP 0\r\n",
		"v=0\r\nm=audio 5\r\n",
		"v=0\r\nc=IN IP6 ::1\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4.5.6.7.8.9.10\r\n",
		"v=0\r\na=key-mgmt:mikey AQA=\r\na=key-mgmt:mikey AQA=\r\n",
		"v=0\r\na=key-mgmt:mikey \r\n",
		"v=0\r\nm=audio 5 RTP/SAVP 0\r\na=ssrc:x\r\n",
		"v=0\r\nm=audio 5 RTP/SAVP 0\r\na=ssrc:99999999999\r\n",
		"v=0\r\ns=a\x01b\r\n",
		"V=0\r\n",
	};
	ue_sdp_t s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		int rc = ue_sdp_parse(bad[i], strlen(bad[i]), &s, &why);
		CU_ASSERT_NOT_EQUAL(rc, KMS_EOK);
		CU_ASSERT_PTR_NOT_NULL(why);
		if (rc == KMS_EOK) {
			printf("accepted bad SDP %zu\n", i);
		}
	}
}

static void test_given_oversized_sdp_when_parsed_then_limit(void)
{
	ue_sdp_t s;
	const char *why = NULL;
	size_t n = UE_SDP_LINE_MAX + 40;
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, "v=0\r\na=key-mgmt:mikey ", 22);
	CU_ASSERT_EQUAL(ue_sdp_parse(buf, n, &s, &why), KMS_ELIMIT);
	CU_ASSERT_EQUAL(ue_sdp_parse(buf, UE_SDP_MAX + 1, &s, &why), KMS_ELIMIT);
	/* The longest base64 that fits passes the size checks. */
	memcpy(buf, "v=0\r\na=key-mgmt:mikey ", 22);
	n = 22 + UE_SDP_B64_MAX;
	CU_ASSERT_EQUAL(ue_sdp_parse(buf, n, &s, &why), KMS_EOK);
	CU_ASSERT_EQUAL(ue_sdp_parse(buf, n + 1, &s, &why), KMS_ELIMIT);
	uint8_t m[8];
	size_t ml = 0;
	s.mikey = "!!!!";
	s.mikey_len = 4;
	CU_ASSERT_NOT_EQUAL(ue_sdp_mikey(&s, m, sizeof(m), &ml), KMS_EOK);
}

static void test_given_keymgmt_line_when_built_then_rfc4567_form(void)
{
	char line[64];
	CU_ASSERT_EQUAL_FATAL(
	    ue_sdp_keymgmt_line(MIKEY, sizeof(MIKEY), line, sizeof(line)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(line, "a=key-mgmt:mikey AQAaKzxNXg==");
	CU_ASSERT_NOT_EQUAL(ue_sdp_keymgmt_line(MIKEY, sizeof(MIKEY), line, 20), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(ue_sdp_keymgmt_line(MIKEY, 0, line, sizeof(line)), KMS_EOK);
}

static size_t make_invite(const char *body)
{
	size_t len = 0;
	ue_sip_invite_t in = { "alice@example.org",
			       "bob@example.org",
			       "127.0.0.1",
			       5060,
			       "abc123",
			       "z9hG4bK0011",
			       body,
			       strlen(body) };
	CU_ASSERT_EQUAL_FATAL(ue_sip_invite(&in, buf, sizeof(buf), &len), KMS_EOK);
	return len;
}

static void test_given_invite_when_parsed_then_fields_and_answer(void)
{
	ue_sip_msg_t m, r, a;
	const char *why = NULL;
	static char out[4096], ack[4096];
	size_t len = make_invite("v=0\r\n"), olen = 0, alen = 0;
	CU_ASSERT_EQUAL_FATAL(ue_sip_parse(buf, len, &m, &why), KMS_EOK);
	CU_ASSERT(m.request);
	CU_ASSERT_STRING_EQUAL(m.method, "INVITE");
	CU_ASSERT_STRING_EQUAL(m.uri, "sip:bob@example.org");
	CU_ASSERT_STRING_EQUAL(m.call_id, "abc123");
	CU_ASSERT_STRING_EQUAL(m.cseq, "1 INVITE");
	CU_ASSERT_EQUAL(m.body_len, 5);
	CU_ASSERT_EQUAL_FATAL(
	    ue_sip_response(&m, 200, "OK", "t1", "v=0\r\n", 5, out, sizeof(out), &olen),
	    KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_sip_parse(out, olen, &r, &why), KMS_EOK);
	CU_ASSERT_FALSE(r.request);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.to, "<sip:bob@example.org>;tag=t1");
	CU_ASSERT_STRING_EQUAL(r.via, m.via);
	CU_ASSERT_EQUAL(r.body_len, 5);
	CU_ASSERT_EQUAL_FATAL(ue_sip_ack(&r, "sip:bob@example.org", "127.0.0.1", 5060,
					 "z9hG4bK22", ack, sizeof(ack), &alen),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_sip_parse(ack, alen, &a, &why), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(a.method, "ACK");
	CU_ASSERT_STRING_EQUAL(a.cseq, "1 ACK");
	CU_ASSERT_PTR_NULL(a.body);
	/* 488 without a body. */
	CU_ASSERT_EQUAL_FATAL(ue_sip_response(&m, 488, "Not Acceptable Here", "t", NULL,
					      0, out, sizeof(out), &olen),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_sip_parse(out, olen, &r, &why), KMS_EOK);
	CU_ASSERT_EQUAL(r.status, 488);
	CU_ASSERT_PTR_NULL(r.body);
}

static void test_given_malformed_sip_when_parsed_then_refused(void)
{
	static const char *const bad[] = {
		"",
		"\r\n\r\n",
		"INVITE sip:b SIP/2.0\r\nCall-ID: x\r\n",
		"INVITE sip:b SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 5\r\n\r\nabc",
		"INVITE sip:b SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 1\r\n\r\nabc",
		"INVITE sip:b SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n",
		"INVITE sip:b SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\n\r\n",
		"INVITE sip:b SIP/2.0\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"invite sip:b SIP/2.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:b SIP/3.0\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 2x0 OK\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: v\r\nFrom: f\x01\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: v\r\nFrom: f\r\nTo: t\r\nCall-ID: x\r\n"
		"CSeq: 1 INVITE\r\nContent-Length: 0\r\n",
	};
	ue_sip_msg_t m;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		int rc = ue_sip_parse(bad[i], strlen(bad[i]), &m, &why);
		CU_ASSERT_NOT_EQUAL(rc, KMS_EOK);
		if (rc == KMS_EOK) {
			printf("accepted bad SIP %zu\n", i);
		}
	}
}

static void test_given_oversized_sip_when_parsed_then_limit(void)
{
	ue_sip_msg_t m;
	const char *why = NULL;
	size_t off = (size_t)snprintf(buf, sizeof(buf), "INVITE sip:b SIP/2.0\r\n");
	for (int i = 0; i < UE_SIP_HEADERS_MAX + 2; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "X-H: %d\r\n", i);
	}
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\r\n");
	CU_ASSERT_EQUAL(ue_sip_parse(buf, off, &m, &why), KMS_ELIMIT);
	off = (size_t)snprintf(buf, sizeof(buf), "INVITE sip:b SIP/2.0\r\nVia: ");
	memset(buf + off, 'v', UE_SIP_LINE_MAX);
	memcpy(buf + off + UE_SIP_LINE_MAX, "\r\n\r\n", 4);
	CU_ASSERT_EQUAL(ue_sip_parse(buf, off + UE_SIP_LINE_MAX + 4, &m, &why),
			KMS_ELIMIT);
	CU_ASSERT_EQUAL(ue_sip_parse(buf, UE_SIP_MAX + 1, &m, &why), KMS_ELIMIT);
}

static void test_given_sp_when_built_then_suite_read_back(void)
{
	mikey_sp_t sp;
	uint8_t v[UE_SRTP_SP_PARAMS];
	ue_srtp_suite_t s = UE_SRTP_AES128_SHA1_80;
	ue_srtp_sp_build(UE_SRTP_AES256_SHA1_80, 0, &sp, v);
	CU_ASSERT_EQUAL(ue_srtp_sp_suite(&sp, &s), KMS_EOK);
	CU_ASSERT_EQUAL(s, UE_SRTP_AES256_SHA1_80);
	CU_ASSERT_EQUAL(ue_srtp_key_len(s), 32);
	CU_ASSERT_STRING_EQUAL(ue_srtp_suite_name(s), "AES_256_CM_HMAC_SHA1_80");
	ue_srtp_sp_build(UE_SRTP_AES128_SHA1_80, 0, &sp, v);
	CU_ASSERT_EQUAL(ue_srtp_sp_suite(&sp, &s), KMS_EOK);
	CU_ASSERT_EQUAL(s, UE_SRTP_AES128_SHA1_80);
	/* Every parameter changed to another value is refused. */
	for (size_t i = 0; i < UE_SRTP_SP_PARAMS; i++) {
		ue_srtp_sp_build(UE_SRTP_AES128_SHA1_80, 0, &sp, v);
		v[i] ^= 0x40;
		CU_ASSERT_EQUAL(ue_srtp_sp_suite(&sp, &s), KMS_EPOLICY);
	}
	ue_srtp_sp_build(UE_SRTP_AES128_SHA1_80, 0, &sp, v);
	sp.params[3].type = 13; /* unknown type */
	CU_ASSERT_EQUAL(ue_srtp_sp_suite(&sp, &s), KMS_EPOLICY);
	ue_srtp_sp_build(UE_SRTP_AES128_SHA1_80, 0, &sp, v);
	sp.prot_type = 1;
	CU_ASSERT_EQUAL(ue_srtp_sp_suite(&sp, &s), KMS_EPOLICY);
	/* An empty SP takes the defaults: the 128-bit suite. */
	sp.prot_type = 0;
	sp.nparams = 0;
	CU_ASSERT_EQUAL(ue_srtp_sp_suite(&sp, &s), KMS_EOK);
	CU_ASSERT_EQUAL(s, UE_SRTP_AES128_SHA1_80);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(test_given_offer_when_built_then_parses_back),
		UNIT_TEST(test_given_session_level_keymgmt_and_lf_when_parsed_then_found),
		UNIT_TEST(test_given_malformed_sdp_when_parsed_then_refused),
		UNIT_TEST(test_given_oversized_sdp_when_parsed_then_limit),
		UNIT_TEST(test_given_keymgmt_line_when_built_then_rfc4567_form),
		UNIT_TEST(test_given_invite_when_parsed_then_fields_and_answer),
		UNIT_TEST(test_given_malformed_sip_when_parsed_then_refused),
		UNIT_TEST(test_given_oversized_sip_when_parsed_then_limit),
		UNIT_TEST(test_given_sp_when_built_then_suite_read_back),
		UNIT_END,
	};
	return unit_run("ue_call", tests);
}
