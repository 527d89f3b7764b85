/*
 * GBA KDF (TS 33.220 B.2/B.3): Ks_NAF against values computed outside this
 * tree with python3, S rebuilt by hand and fed to crypto_hmac, NAF_Id,
 * B-TID, and the input checks.
 */
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "gba/kdf.h"
#include "tests/unit/unit.h"

/* TS 35.208 test set 1: CK, IK, RAND. */
#define CK "b40ba9a3c58b2a05bbf0d987b21bf8cb"
#define IK "f769bcd751044604127672711c6d3441"
#define RAND "23553cbe9637a89d218ae64dae47bf35"
#define IMPI "001010123456789@ims.mnc001.mcc001.3gppnetwork.org"
#define NAF_FQDN "kms.example.org"

/*
 * Expected values from:
 * python3 -c "import hmac,hashlib; L=lambda p: p+len(p).to_bytes(2,'big'); \
 *   ks=bytes.fromhex('b40ba9a3c58b2a05bbf0d987b21bf8cb' \
 *   'f769bcd751044604127672711c6d3441'); \
 *   print(hmac.new(ks, b'\x01'+L(b'gba-me') \
 *   +L(bytes.fromhex('23553cbe9637a89d218ae64dae47bf35')) \
 *   +L(b'001010123456789@ims.mnc001.mcc001.3gppnetwork.org') \
 *   +L(b'kms.example.org'+bytes.fromhex('0100000006')), \
 *   hashlib.sha256).hexdigest())"
 * and the same with b'gba-u' for Ks_int_NAF.
 */
#define KS_NAF_ME "39a5731a2779c2893246c757f0cac97c4209b54010d8009dbddae5dc047eaa36"
#define KS_NAF_U "62a55f282bfbd3e3b73e63c58e5694e0485796017b316e3116d2799fb3cd9f43"

typedef struct {
	uint8_t ck[16], ik[16], rand[16];
	uint8_t naf_id[GBA_NAF_ID_MAX];
	size_t naf_id_len;
} fixture_t;

static void setup(fixture_t *f)
{
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	unit_hex(CK, f->ck, 16);
	unit_hex(IK, f->ik, 16);
	unit_hex(RAND, f->rand, 16);
	f->naf_id_len = 0;
	CU_ASSERT_EQUAL_FATAL(
	    gba_naf_id(NAF_FQDN, ua, f->naf_id, sizeof(f->naf_id), &f->naf_id_len),
	    KMS_EOK);
}

static void given_test_set_1_keys_when_deriving_ks_naf_then_python_answer(void)
{
	fixture_t f;
	uint8_t out[32], exp[32];
	setup(&f);
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, IMPI, f.naf_id, f.naf_id_len, false, out),
	    KMS_EOK);
	unit_hex(KS_NAF_ME, exp, sizeof(exp));
	CU_ASSERT_EQUAL(memcmp(out, exp, 32), 0);
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, IMPI, f.naf_id, f.naf_id_len, true, out),
	    KMS_EOK);
	unit_hex(KS_NAF_U, exp, sizeof(exp));
	CU_ASSERT_EQUAL(memcmp(out, exp, 32), 0);
}

/* Second path: S = FC || P0 || L0 || ... written out byte by byte. */
static void given_s_built_by_hand_when_hmac_then_equals_ks_naf(void)
{
	fixture_t f;
	uint8_t s[256], ks[32], want[32], got[32];
	size_t n = 0;
	setup(&f);
	s[n++] = 0x01; /* FC */
	memcpy(s + n, "gba-me", 6);
	n += 6;
	s[n++] = 0x00;
	s[n++] = 0x06;
	memcpy(s + n, f.rand, 16);
	n += 16;
	s[n++] = 0x00;
	s[n++] = 0x10;
	memcpy(s + n, IMPI, strlen(IMPI));
	n += strlen(IMPI);
	s[n++] = 0x00;
	s[n++] = (uint8_t)strlen(IMPI); /* 49 */
	memcpy(s + n, NAF_FQDN, 15);
	n += 15;
	s[n++] = 0x01; /* Ua security protocol id 01 00 00 00 06 */
	s[n++] = 0x00;
	s[n++] = 0x00;
	s[n++] = 0x00;
	s[n++] = 0x06;
	s[n++] = 0x00;
	s[n++] = 15 + 5; /* L3 counts the FQDN and the Ua id */
	memcpy(ks, f.ck, 16);
	memcpy(ks + 16, f.ik, 16);
	crypto_iov_t iov = { s, n };
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA256, ks, 32, &iov, 1, want), KMS_EOK);
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, IMPI, f.naf_id, f.naf_id_len, false, got),
	    KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
}

static void given_generic_kdf_when_no_params_or_bad_fc_then_defined_behaviour(void)
{
	uint8_t key[32] = { 0 }, out[32], want[32];
	uint8_t fc = 0x02;
	crypto_iov_t iov = { &fc, 1 };
	/* S = FC alone. */
	CU_ASSERT_EQUAL(gba_kdf(key, 32, 0x02, NULL, 0, out), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA256, key, 32, &iov, 1, want), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
	/* An empty parameter still contributes its 00 00 length. */
	gba_param_t empty = { NULL, 0 };
	uint8_t s[3] = { 0x02, 0x00, 0x00 };
	crypto_iov_t iov3 = { s, 3 };
	CU_ASSERT_EQUAL(gba_kdf(key, 32, 0x02, &empty, 1, out), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA256, key, 32, &iov3, 1, want), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, want, 32), 0);
	/* 0xFF is the extended FC escape: refused here. */
	CU_ASSERT_EQUAL(gba_kdf(key, 32, 0xff, NULL, 0, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_kdf(NULL, 32, 0x01, NULL, 0, out), KMS_EINVAL);
	gba_param_t many[GBA_KDF_PARAMS_MAX + 1];
	memset(many, 0, sizeof(many));
	CU_ASSERT_EQUAL(gba_kdf(key, 32, 0x01, many, GBA_KDF_PARAMS_MAX, out), KMS_EOK);
	CU_ASSERT_EQUAL(gba_kdf(key, 32, 0x01, many, GBA_KDF_PARAMS_MAX + 1, out),
			KMS_EINVAL);
	gba_param_t big = { key, 65536 };
	CU_ASSERT_EQUAL(gba_kdf(key, 32, 0x01, &big, 1, out), KMS_EINVAL);
}

static void given_kms_fqdn_when_building_naf_id_then_fqdn_and_ua_id(void)
{
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	uint8_t out[GBA_NAF_ID_MAX];
	size_t len = 0;
	CU_ASSERT_EQUAL(gba_naf_id("kms.example.org", ua, out, sizeof(out), &len),
			KMS_EOK);
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_EQUAL(memcmp(out, "kms.example.org\x01\x00\x00\x00\x06", 20), 0);
	/* Too small an output, an empty or non-host name: refused, len untouched. */
	len = 99;
	CU_ASSERT_EQUAL(gba_naf_id("kms.example.org", ua, out, 19, &len), KMS_ESPACE);
	CU_ASSERT_EQUAL(gba_naf_id("", ua, out, sizeof(out), &len), KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_naf_id("kms example", ua, out, sizeof(out), &len),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_naf_id("k\xc3\xa9.example", ua, out, sizeof(out), &len),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_naf_id(NULL, ua, out, sizeof(out), &len), KMS_EINVAL);
	CU_ASSERT_EQUAL(len, 99);
	/* 255 bytes is the longest FQDN; 256 is over the limit. */
	char name[300];
	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	CU_ASSERT_EQUAL(gba_naf_id(name, ua, out, sizeof(out), &len), KMS_EOK);
	CU_ASSERT_EQUAL(len, 260);
	name[255] = 'a';
	name[256] = '\0';
	CU_ASSERT_EQUAL(gba_naf_id(name, ua, out, sizeof(out), &len), KMS_ELIMIT);
}

static void given_digest_rand_when_building_btid_then_digest_example(void)
{
	uint8_t rand[16];
	char out[GBA_BTID_MAX + 1];
	unit_hex(RAND, rand, 16);
	CU_ASSERT_EQUAL(
	    gba_btid(rand, "bsf.mnc001.mcc001.pub.3gppnetwork.org", out, sizeof(out)),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(
	    out, "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org");
	/* Exactly fits (with the NUL), one byte less does not; bad domains refused. */
	char small[64];
	memset(small, 'x', sizeof(small));
	CU_ASSERT_EQUAL(gba_btid(rand, "bsf.example", small, 24 + 1 + 11 + 1), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(small, "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example");
	memset(small, 'x', sizeof(small));
	CU_ASSERT_EQUAL(gba_btid(rand, "bsf.example", small, 24 + 1 + 11), KMS_ESPACE);
	CU_ASSERT_EQUAL(small[0], 'x');
	CU_ASSERT_EQUAL(gba_btid(rand, "", out, sizeof(out)), KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_btid(rand, "bsf@x", out, sizeof(out)), KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_btid(NULL, "bsf.example", out, sizeof(out)), KMS_EINVAL);
}

static void given_non_ascii_impi_when_deriving_then_einval(void)
{
	fixture_t f;
	uint8_t out[32];
	setup(&f);
	memset(out, 0x33, sizeof(out));
	/* U+00E9 in UTF-8: NFKC would need tables this tree does not carry. */
	CU_ASSERT_EQUAL(gba_ks_naf(f.ck, f.ik, f.rand, "jos\xc3\xa9@ims.example.org",
				   f.naf_id, f.naf_id_len, false, out),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_ks_naf(f.ck, f.ik, f.rand, "tab\there", f.naf_id,
				   f.naf_id_len, false, out),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, "", f.naf_id, f.naf_id_len, false, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(out[0] & out[31], 0x33);
	CU_ASSERT_EQUAL(gba_string_check("user@example.org ~", 18), KMS_EOK);
	CU_ASSERT_EQUAL(gba_string_check("a\x7f", 2), KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_string_check("a\0b", 3), KMS_EINVAL);
	CU_ASSERT_EQUAL(gba_string_check(NULL, 0), KMS_EOK);
	CU_ASSERT_EQUAL(gba_string_check(NULL, 1), KMS_EINVAL);
}

static void given_over_long_inputs_when_deriving_then_elimit(void)
{
	fixture_t f;
	uint8_t out[32], naf[GBA_NAF_ID_MAX + 1];
	char impi[GBA_IMPI_MAX + 2];
	setup(&f);
	memset(impi, 'u', sizeof(impi));
	impi[GBA_IMPI_MAX] = '\0';
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, impi, f.naf_id, f.naf_id_len, false, out),
	    KMS_EOK);
	impi[GBA_IMPI_MAX] = 'u';
	impi[GBA_IMPI_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, impi, f.naf_id, f.naf_id_len, false, out),
	    KMS_ELIMIT);
	memset(naf, 'n', sizeof(naf));
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, IMPI, naf, sizeof(naf), false, out),
	    KMS_ELIMIT);
	/* A NAF_Id must have an FQDN before its 5-octet Ua id. */
	CU_ASSERT_EQUAL(
	    gba_ks_naf(f.ck, f.ik, f.rand, IMPI, naf, GBA_UA_ID_LEN, false, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    gba_ks_naf(NULL, f.ik, f.rand, IMPI, f.naf_id, f.naf_id_len, false, out),
	    KMS_EINVAL);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_test_set_1_keys_when_deriving_ks_naf_then_python_answer),
		UNIT_TEST(given_s_built_by_hand_when_hmac_then_equals_ks_naf),
		UNIT_TEST(
		    given_generic_kdf_when_no_params_or_bad_fc_then_defined_behaviour),
		UNIT_TEST(given_kms_fqdn_when_building_naf_id_then_fqdn_and_ua_id),
		UNIT_TEST(given_digest_rand_when_building_btid_then_digest_example),
		UNIT_TEST(given_non_ascii_impi_when_deriving_then_einval),
		UNIT_TEST(given_over_long_inputs_when_deriving_then_elimit),
		UNIT_END,
	};
	return unit_run("gba_kdf", tests);
}
