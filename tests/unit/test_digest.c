/*
 * HTTP Digest (RFC 2617, RFC 3310 AKAv1-MD5): the RFC 2617 3.5 example,
 * AKA responses computed with python3, the strict header parser and the
 * AKA nonce.
 */
#include <string.h>

#include "common/errcode.h"
#include "gba/digest.h"
#include "tests/unit/unit.h"

#define RFC2617_AUTH                                                                     \
	"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "                     \
	"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "        \
	"qop=auth, nc=00000001, cnonce=\"0a4f113b\", "                                   \
	"response=\"6629fae49393a05397450978507c4ef1\", "                                \
	"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""

/* TS 35.208 test set 1: RES = f2, AUTN = (SQN ^ AK) || AMF || MAC-A. */
#define AKA_RES "a54211d5e3ba50bf"
#define AKA_RAND "23553cbe9637a89d218ae64dae47bf35"
#define AKA_AUTN "55f328b43577b9b94a9ffac354dfafb3"
#define AKA_NONCE "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M="
#define AKA_USER "001010123456789@ims.mnc001.mcc001.3gppnetwork.org"
#define AKA_REALM "bsf.mnc001.mcc001.pub.3gppnetwork.org"

static int parse(const char *h, digest_params_t *p)
{
	return digest_parse(h, strlen(h), p);
}

static void given_rfc2617_example_when_parsing_and_computing_then_6629fae4(void)
{
	digest_params_t p;
	char out[33];
	/* python3: h=lambda s: hashlib.md5(s.encode()).hexdigest(); ha1=h('Mufasa:
	 * testrealm@host.com:Circle Of Life'); ha2=h('GET:/dir/index.html');
	 * h(':'.join([ha1,'dcd98b...093','00000001','0a4f113b','auth',ha2])) */
	CU_ASSERT_EQUAL_FATAL(parse(RFC2617_AUTH, &p), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(p.username, "Mufasa");
	CU_ASSERT_STRING_EQUAL(p.realm, "testrealm@host.com");
	CU_ASSERT_STRING_EQUAL(p.qop, "auth");
	CU_ASSERT_STRING_EQUAL(p.nc, "00000001");
	CU_ASSERT_STRING_EQUAL(p.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
	CU_ASSERT_STRING_EQUAL(p.algorithm, "");
	CU_ASSERT_STRING_EQUAL(p.auts, "");
	const char *pw = "Circle Of Life";
	CU_ASSERT_EQUAL(
	    digest_response(&p, "GET", (const uint8_t *)pw, strlen(pw), NULL, 0, out),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "6629fae49393a05397450978507c4ef1");
	CU_ASSERT_STRING_EQUAL(out, p.response);
	/* Another method gives another answer. */
	CU_ASSERT_EQUAL(
	    digest_response(&p, "POST", (const uint8_t *)pw, strlen(pw), NULL, 0, out),
	    KMS_EOK);
	CU_ASSERT_STRING_NOT_EQUAL(out, "6629fae49393a05397450978507c4ef1");
}

/*
 * Expected values from python3 (RES is the raw 8-byte password):
 *   m=lambda b: hashlib.md5(b).hexdigest(); res=bytes.fromhex('a54211d5e3ba50bf')
 *   ha1=m(USER.encode()+b':'+REALM.encode()+b':'+res)
 *   auth:     m(':'.join([ha1,NONCE,'00000001','0a4f113b','auth',m(b'GET:/')]).encode())
 *   auth-int: m(':'.join([ha1,NONCE,'00000002','c0ffee','auth-int',
 *                         m(b'POST:/bsf:'+m(b'hello').encode())]).encode())
 *   no qop:   m(':'.join([ha1,NONCE,m(b'GET:/')]).encode())
 */
static void given_aka_res_when_computing_response_then_python_answers(void)
{
	digest_params_t p;
	uint8_t res[8];
	char out[33];
	unit_hex(AKA_RES, res, sizeof(res));
	CU_ASSERT_EQUAL_FATAL(
	    parse("Digest username=\"" AKA_USER "\",realm=\"" AKA_REALM "\","
		  "nonce=\"" AKA_NONCE "\",uri=\"/\",qop=auth,nc=00000001,"
		  "cnonce=\"0a4f113b\",algorithm=AKAv1-MD5,response=\"x\"",
		  &p),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(p.algorithm, "AKAv1-MD5");
	CU_ASSERT_EQUAL(digest_response(&p, "GET", res, 8, NULL, 0, out), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "9308616f2256be1c1493c9b59f63a2a3");

	strcpy(p.qop, "auth-int");
	strcpy(p.nc, "00000002");
	strcpy(p.cnonce, "c0ffee");
	strcpy(p.uri, "/bsf");
	CU_ASSERT_EQUAL(
	    digest_response(&p, "POST", res, 8, (const uint8_t *)"hello", 5, out),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "a9daf4b607d6f8e6fd40c6f141c7f250");

	strcpy(p.qop, "");
	strcpy(p.uri, "/");
	CU_ASSERT_EQUAL(digest_response(&p, "GET", res, 8, NULL, 0, out), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "46743c9678d6acf837e47193ae59258c");
}

static void given_bad_response_inputs_when_computing_then_refused(void)
{
	digest_params_t p;
	uint8_t res[17] = { 0 };
	char out[33] = "untouched";
	CU_ASSERT_EQUAL_FATAL(parse(RFC2617_AUTH, &p), KMS_EOK);
	CU_ASSERT_EQUAL(digest_response(&p, "GET", res, 3, NULL, 0, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(digest_response(&p, "GET", res, 17, NULL, 0, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(digest_response(&p, "G T", res, 8, NULL, 0, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(digest_response(&p, "", res, 8, NULL, 0, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(digest_response(&p, "GET", res, 8, NULL, 1, out), KMS_EINVAL);

	digest_params_t q = p;
	strcpy(q.algorithm, "AKAv1-MD5-sess");
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_ENOTSUP);
	q = p;
	strcpy(q.qop, "auth,auth-int"); /* a challenge's list, not an answer */
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_EMALFORMED);
	q = p;
	strcpy(q.nc, "0000001");
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_EMALFORMED);
	q = p;
	strcpy(q.nc, "0000000g");
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_EMALFORMED);
	q = p;
	q.cnonce[0] = '\0';
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_EMALFORMED);
	q = p;
	q.nonce[0] = '\0';
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_EMALFORMED);
	q = p;
	memset(q.username, 'u', sizeof(q.username)); /* no NUL */
	CU_ASSERT_EQUAL(digest_response(&q, "GET", res, 8, NULL, 0, out), KMS_EINVAL);
	CU_ASSERT_STRING_EQUAL(out, "untouched");
}

static void given_escapes_and_whitespace_when_parsing_then_unescaped(void)
{
	digest_params_t p;
	CU_ASSERT_EQUAL(parse("  digest\tUserName = \"a\\\"b\\\\c\\d\" ,\tREALM=r ,"
			      "nonce=\"\", qop=\"auth,auth-int\", x-unknown=\"\\\"\","
			      "other=tok  ",
			      &p),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(p.username, "a\"b\\cd");
	CU_ASSERT_STRING_EQUAL(p.realm, "r");
	CU_ASSERT_STRING_EQUAL(p.nonce, "");
	CU_ASSERT_STRING_EQUAL(p.qop, "auth,auth-int");
	CU_ASSERT_STRING_EQUAL(p.uri, "");
	/* auts of a resync, and only the given length of the buffer is read. */
	const char *h = "Digest auts=\"AAECAwQFBgcICQoLDA0=\", junk";
	CU_ASSERT_EQUAL(digest_parse(h, 34, &p), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(p.auts, "AAECAwQFBgcICQoLDA0=");
}

static void given_malformed_headers_when_parsing_then_refused_and_out_untouched(void)
{
	static const struct {
		const char *h;
		int want;
	} cases[] = {
		{ "", KMS_EMALFORMED },
		{ "Digest", KMS_EMALFORMED },
		{ "Digest ", KMS_EMALFORMED },
		{ "Basic realm=\"x\"", KMS_EMALFORMED },
		{ "Digestrealm=\"x\"", KMS_EMALFORMED },
		{ "Digest realm=\"x\",", KMS_EMALFORMED },
		{ "Digest realm=\"x\",,nonce=n", KMS_EMALFORMED },
		{ "Digest realm=\"x\" nonce=n", KMS_EMALFORMED },
		{ "Digest realm", KMS_EMALFORMED },
		{ "Digest realm=", KMS_EMALFORMED },
		{ "Digest =x", KMS_EMALFORMED },
		{ "Digest realm=\"unterminated", KMS_EMALFORMED },
		{ "Digest realm=\"esc at end\\", KMS_EMALFORMED },
		{ "Digest realm=\"ctl\x01\"", KMS_EMALFORMED },
		{ "Digest realm=\"\xc3\xa9\"", KMS_EMALFORMED },
		{ "Digest realm=\"a\\\x7f\"", KMS_EMALFORMED },
		{ "Digest realm=a/b", KMS_EMALFORMED },
		{ "Digest realm=\"a\", REALM=\"a\"", KMS_EMALFORMED },
		{ "Digest nonce=x, uri=\"/\", nonce=x", KMS_EMALFORMED },
		{ "Digest algorithm=\"0123456789012345678901234567890123\"", KMS_ELIMIT },
	};
	digest_params_t p;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&p, 0x41, sizeof(p));
		int r = parse(cases[i].h, &p);
		CU_ASSERT_EQUAL(r, cases[i].want);
		if (r != cases[i].want) {
			printf("case %zu: '%s' gave %d\n", i, cases[i].h, r);
		}
		CU_ASSERT_EQUAL(p.username[0], 0x41);
	}
	/* A NUL inside the given length is refused, not a terminator. */
	CU_ASSERT_EQUAL(digest_parse("Digest realm=\"a\0b\"", 18, &p), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(digest_parse(NULL, 0, &p), KMS_EINVAL);
	CU_ASSERT_EQUAL(digest_parse("Digest a=b", 10, NULL), KMS_EINVAL);
}

static void given_long_values_when_parsing_then_limits_hold(void)
{
	static char h[DIGEST_HEADER_MAX + 64];
	digest_params_t p;
	/* username of DIGEST_FIELD_MAX - 1 fits, DIGEST_FIELD_MAX does not. */
	strcpy(h, "Digest username=\"");
	size_t n = strlen(h);
	memset(h + n, 'u', DIGEST_FIELD_MAX - 1);
	strcpy(h + n + DIGEST_FIELD_MAX - 1, "\"");
	CU_ASSERT_EQUAL(parse(h, &p), KMS_EOK);
	CU_ASSERT_EQUAL(strlen(p.username), DIGEST_FIELD_MAX - 1);
	memset(h + n, 'u', DIGEST_FIELD_MAX);
	strcpy(h + n + DIGEST_FIELD_MAX, "\"");
	CU_ASSERT_EQUAL(parse(h, &p), KMS_ELIMIT);
	/* An unknown field may be long, but the whole header is capped. */
	strcpy(h, "Digest realm=r, x=\"");
	n = strlen(h);
	memset(h + n, 'x', DIGEST_HEADER_MAX - n - 1);
	strcpy(h + DIGEST_HEADER_MAX - 1, "\"");
	CU_ASSERT_EQUAL(strlen(h), DIGEST_HEADER_MAX);
	CU_ASSERT_EQUAL(parse(h, &p), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(p.realm, "r");
	memmove(h + n + 1, h + n, strlen(h + n) + 1);
	CU_ASSERT_EQUAL(parse(h, &p), KMS_ELIMIT);
}

static void given_rand_and_autn_when_making_nonce_then_split_round_trips(void)
{
	uint8_t rand[16], autn[16], r2[16], a2[16];
	char nonce[64];
	unit_hex(AKA_RAND, rand, 16);
	unit_hex(AKA_AUTN, autn, 16);
	CU_ASSERT_EQUAL(digest_nonce_make(rand, autn, nonce, sizeof(nonce)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(nonce, AKA_NONCE);
	CU_ASSERT_EQUAL(digest_nonce_split(nonce, r2, a2), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(r2, rand, 16), 0);
	CU_ASSERT_EQUAL(memcmp(a2, autn, 16), 0);
	/* 44 characters and the NUL: 45 fit, 44 do not. */
	CU_ASSERT_EQUAL(digest_nonce_make(rand, autn, nonce, 45), KMS_EOK);
	CU_ASSERT_EQUAL(digest_nonce_make(rand, autn, nonce, 44), KMS_ESPACE);
	/* Server data after AUTN is ignored (36 bytes here). */
	CU_ASSERT_EQUAL(digest_nonce_split(
			    "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7MAAQID", r2, a2),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(a2, autn, 16), 0);
}

static void given_bad_nonces_when_splitting_then_refused(void)
{
	uint8_t r[16], a[16];
	char longn[DIGEST_FIELD_MAX + 8];
	memset(r, 0x77, sizeof(r));
	/* 31 bytes: too short for RAND || AUTN. */
	CU_ASSERT_EQUAL(
	    digest_nonce_split("I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfrw==", r, a),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(digest_nonce_split("not base64!", r, a), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(digest_nonce_split("", r, a), KMS_EMALFORMED);
	memset(longn, 'A', sizeof(longn));
	longn[sizeof(longn) - 1] = '\0';
	CU_ASSERT_EQUAL(digest_nonce_split(longn, r, a), KMS_ELIMIT);
	CU_ASSERT_EQUAL(digest_nonce_split(NULL, r, a), KMS_EINVAL);
	CU_ASSERT_EQUAL(r[0] & r[15], 0x77);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_rfc2617_example_when_parsing_and_computing_then_6629fae4),
		UNIT_TEST(given_aka_res_when_computing_response_then_python_answers),
		UNIT_TEST(given_bad_response_inputs_when_computing_then_refused),
		UNIT_TEST(given_escapes_and_whitespace_when_parsing_then_unescaped),
		UNIT_TEST(
		    given_malformed_headers_when_parsing_then_refused_and_out_untouched),
		UNIT_TEST(given_long_values_when_parsing_then_limits_hold),
		UNIT_TEST(given_rand_and_autn_when_making_nonce_then_split_round_trips),
		UNIT_TEST(given_bad_nonces_when_splitting_then_refused),
		UNIT_END,
	};
	return unit_run("digest", tests);
}
