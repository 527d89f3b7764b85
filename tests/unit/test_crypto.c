/* Crypto wrapper: known answers straight from the RFCs, error paths, self-test. */
#include <string.h>

#include "common/crypto.h"
#include "common/crypto_selftest.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "tests/unit/unit.h"

static void given_rfc2202_case3_when_hmac_sha1_then_known_answer(void)
{
	/* RFC 2202 test case 3: key 0xaa x20, data 0xdd x50. */
	uint8_t key[20], msg[50], out[20], exp[20];
	memset(key, 0xaa, sizeof(key));
	memset(msg, 0xdd, sizeof(msg));
	unit_hex("125d7342b9ac11cd91a39af48aa17b4f63f175d3", exp, sizeof(exp));
	crypto_iov_t iov[2] = { { msg, 20 }, { msg + 20, 30 } }; /* scattered */
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, key, 20, iov, 2, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 20), 0);
}

static void given_rfc4231_case6_when_hmac_sha256_long_key_then_known_answer(void)
{
	/* RFC 4231 test case 6: 131-byte key, hashed first. */
	uint8_t key[131], out[32], exp[32];
	memset(key, 0xaa, sizeof(key));
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	unit_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", exp,
		 sizeof(exp));
	crypto_iov_t iov = { (const uint8_t *)m, strlen(m) };
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA256, key, sizeof(key), &iov, 1, out),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 32), 0);
}

static void given_bad_md_when_hmac_then_einval(void)
{
	uint8_t out[32];
	CU_ASSERT_EQUAL(
	    crypto_hmac((crypto_md_t)7, (const uint8_t *)"k", 1, NULL, 0, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, NULL, 3, NULL, 0, out), KMS_EINVAL);
}

static void given_sha256_when_hashing_abc_then_fips_answer(void)
{
	uint8_t out[32], exp[32];
	unit_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", exp,
		 sizeof(exp));
	crypto_iov_t iov = { (const uint8_t *)"abc", 3 };
	CU_ASSERT_EQUAL(crypto_hash(CRYPTO_MD_SHA256, &iov, 1, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 32), 0);
}

/* MD5 exists for HTTP Digest only: hashing works, HMAC-MD5 is refused. */
static void given_md5_when_hashing_and_hmac_then_digest_only(void)
{
	uint8_t out[32], exp[16];
	/* RFC 1321 A.5: MD5("message digest"), in two pieces. */
	unit_hex("f96b697d7cb7938d525a2f31aaf161d0", exp, sizeof(exp));
	crypto_iov_t iov[2] = { { (const uint8_t *)"message ", 8 },
				{ (const uint8_t *)"digest", 6 } };
	CU_ASSERT_EQUAL(crypto_md_len(CRYPTO_MD_MD5), 16);
	CU_ASSERT_EQUAL(crypto_hash(CRYPTO_MD_MD5, iov, 2, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 16), 0);
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_MD5, (const uint8_t *)"k", 1, iov, 2, out),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_hash((crypto_md_t)7, iov, 2, out), KMS_EINVAL);
}

/* FIPS-197 C.1, in place; AES-128 only. */
static void given_fips197_c1_when_aes_block_in_place_then_known_answer(void)
{
	uint8_t key[16], buf[16], exp[16];
	unit_hex("000102030405060708090a0b0c0d0e0f", key, sizeof(key));
	unit_hex("00112233445566778899aabbccddeeff", buf, sizeof(buf));
	unit_hex("69c4e0d86a7b0430d8cdb78070b4c55a", exp, sizeof(exp));
	CU_ASSERT_EQUAL(crypto_aes_block(key, buf, buf), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(buf, exp, 16), 0);
	CU_ASSERT_EQUAL(crypto_aes_block(NULL, buf, buf), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_aes_block(key, NULL, buf), KMS_EINVAL);
}

/* RFC 3711 B.2: the counter wraps through the low 16 bits (FEFF -> FF00). */
static void given_rfc3711_b2_when_counter_crosses_byte_then_keystream_matches(void)
{
	uint8_t key[16], iv[16], zero[48] = { 0 }, out[48], exp[48];
	unit_hex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
	unit_hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, sizeof(iv));
	unit_hex("ec8cdf7398607cb0f2d21675ea9ea1e4362b7c3c6773516318a077d7fc5073ae"
		 "6a2cc3787889374fbeb4c81b17ba6c44",
		 exp, sizeof(exp));
	CU_ASSERT_EQUAL(crypto_aes_cm(key, 16, iv, zero, out, 48), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 48), 0);
	/* In place, and decrypting is the same operation. */
	CU_ASSERT_EQUAL(crypto_aes_cm(key, 16, iv, out, out, 48), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, zero, 48), 0);
}

static void given_bad_key_length_when_aes_cm_then_einval(void)
{
	uint8_t key[24] = { 0 }, iv[16] = { 0 }, b[4] = { 0 };
	CU_ASSERT_EQUAL(crypto_aes_cm(key, 24, iv, b, b, 4), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_aes_cm(key, 16, iv, b, b, 0), KMS_EOK);
}

static void given_rfc3394_4_5_when_wrapping_192_bit_data_then_known_answer(void)
{
	/* RFC 3394 4.5: 256-bit KEK, 192-bit key data. */
	uint8_t kek[32], in[24], out[32], exp[32], back[24];
	unit_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", kek,
		 sizeof(kek));
	unit_hex("00112233445566778899aabbccddeeff0001020304050607", in, sizeof(in));
	unit_hex("a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1", exp,
		 sizeof(exp));
	CU_ASSERT_EQUAL(crypto_aes_kw_wrap(kek, 32, NULL, in, 24, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 32), 0);
	CU_ASSERT_EQUAL(crypto_aes_kw_unwrap(kek, 32, NULL, out, 32, back), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(back, in, 24), 0);
}

static void given_tampered_wrap_when_unwrapping_then_eauth_and_wiped(void)
{
	uint8_t kek[16] = { 1 }, in[16] = { 2 }, iv[8] = { 3 }, out[24], back[16];
	CU_ASSERT_EQUAL(crypto_aes_kw_wrap(kek, 16, iv, in, 16, out), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_aes_kw_unwrap(kek, 16, iv, out, 24, back), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(back, in, 16), 0);
	uint8_t other_iv[8] = { 4 };
	memset(back, 0x77, sizeof(back));
	CU_ASSERT_EQUAL(crypto_aes_kw_unwrap(kek, 16, other_iv, out, 24, back),
			KMS_EAUTH);
	uint8_t zero[16] = { 0 };
	CU_ASSERT_EQUAL(memcmp(back, zero, 16), 0);
	out[5] ^= 0x40;
	CU_ASSERT_EQUAL(crypto_aes_kw_unwrap(kek, 16, iv, out, 24, back), KMS_EAUTH);
	/* Lengths: not a multiple of 8, too short. */
	CU_ASSERT_EQUAL(crypto_aes_kw_wrap(kek, 16, iv, in, 12, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_aes_kw_wrap(kek, 16, iv, in, 8, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_aes_kw_unwrap(kek, 16, iv, out, 16, back), KMS_EINVAL);
}

static void given_gcm_spec_case14_when_sealing_zero_block_then_known_answer(void)
{
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, pt[16] = { 0 }, ct[16], tag[16];
	uint8_t exp_ct[16], exp_tag[16];
	unit_hex("cea7403d4d606b6e074ec5d3baf39d18", exp_ct, 16);
	unit_hex("d0d1c8a799996bf0265b98b5d48ab919", exp_tag, 16);
	CU_ASSERT_EQUAL(crypto_gcm_seal(key, iv, NULL, 0, pt, 16, ct, tag), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(ct, exp_ct, 16), 0);
	CU_ASSERT_EQUAL(memcmp(tag, exp_tag, 16), 0);
}

static void given_tampered_gcm_when_opening_then_eauth_and_wiped(void)
{
	uint8_t key[32] = { 9 }, iv[12] = { 8 }, aad[5] = "hello",
		pt[20] = "twenty bytes of text";
	uint8_t ct[20], tag[16], back[20], zero[20] = { 0 };
	CU_ASSERT_EQUAL(crypto_gcm_seal(key, iv, aad, 5, pt, 20, ct, tag), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_gcm_open(key, iv, aad, 5, ct, 20, tag, back), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(back, pt, 20), 0);
	for (int which = 0; which < 3; which++) {
		uint8_t *p = which == 0 ? ct : which == 1 ? tag : aad;
		p[0] ^= 1;
		memset(back, 0x55, sizeof(back));
		CU_ASSERT_EQUAL(crypto_gcm_open(key, iv, aad, 5, ct, 20, tag, back),
				KMS_EAUTH);
		CU_ASSERT_EQUAL(memcmp(back, zero, 20), 0);
		p[0] ^= 1;
	}
	/* Empty plaintext still authenticates the AAD. */
	CU_ASSERT_EQUAL(crypto_gcm_seal(key, iv, aad, 5, NULL, 0, NULL, tag), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_gcm_open(key, iv, aad, 5, NULL, 0, tag, NULL), KMS_EOK);
	aad[4] ^= 1;
	CU_ASSERT_EQUAL(crypto_gcm_open(key, iv, aad, 5, NULL, 0, tag, NULL), KMS_EAUTH);
}

static void given_rng_when_drawing_twice_then_outputs_differ(void)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };
	CU_ASSERT_EQUAL(crypto_random(a, sizeof(a)), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_random(b, sizeof(b)), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
	CU_ASSERT_EQUAL(crypto_random(NULL, 1), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_random(NULL, 0), KMS_EOK);
}

static void given_selftest_when_run_then_passes(void)
{
	CU_ASSERT_EQUAL(crypto_selftest(), KMS_EOK);
	CU_ASSERT(crypto_selftest_count() >= 10);
}

/* Every byte of every KAT output is checked: flipping any one bit fails. */
static void given_any_output_byte_flipped_when_selftest_then_fails(void)
{
	size_t checked = 0;
	for (size_t i = 0; i < crypto_selftest_count(); i++) {
		size_t len = crypto_selftest_output_len(i);
		CU_ASSERT(len > 0);
		CU_ASSERT_EQUAL(crypto_selftest_run(i, -1), KMS_EOK);
		for (size_t b = 0; b < len; b++) {
			int r = crypto_selftest_run(i, (long)b);
			CU_ASSERT_EQUAL(r, KMS_ESELFTEST);
			if (r != KMS_ESELFTEST) {
				printf("KAT '%s' byte %zu not checked\n",
				       crypto_selftest_name(i), b);
			}
			checked++;
		}
	}
	printf("\n  fault injection: %zu output bytes over %zu KATs, all detected\n",
	       checked, crypto_selftest_count());
	CU_ASSERT_EQUAL(crypto_selftest_run(crypto_selftest_count(), -1), KMS_EINVAL);
}

static void given_secrets_when_comparing_and_wiping_then_correct(void)
{
	uint8_t a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 3, 5 };
	CU_ASSERT_TRUE(secmem_eq(a, a, 4));
	CU_ASSERT_FALSE(secmem_eq(a, b, 4));
	CU_ASSERT_TRUE(secmem_eq(a, b, 3));
	secmem_wipe(a, 4);
	CU_ASSERT_EQUAL(a[0] | a[1] | a[2] | a[3], 0);
	secmem_wipe(NULL, 4);
	uint8_t *p = secmem_alloc(16);
	CU_ASSERT_PTR_NOT_NULL(p);
	secmem_free(p, 16);
	secmem_free(NULL, 16);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_rfc2202_case3_when_hmac_sha1_then_known_answer),
		UNIT_TEST(
		    given_rfc4231_case6_when_hmac_sha256_long_key_then_known_answer),
		UNIT_TEST(given_bad_md_when_hmac_then_einval),
		UNIT_TEST(given_sha256_when_hashing_abc_then_fips_answer),
		UNIT_TEST(given_md5_when_hashing_and_hmac_then_digest_only),
		UNIT_TEST(given_fips197_c1_when_aes_block_in_place_then_known_answer),
		UNIT_TEST(
		    given_rfc3711_b2_when_counter_crosses_byte_then_keystream_matches),
		UNIT_TEST(given_bad_key_length_when_aes_cm_then_einval),
		UNIT_TEST(given_rfc3394_4_5_when_wrapping_192_bit_data_then_known_answer),
		UNIT_TEST(given_tampered_wrap_when_unwrapping_then_eauth_and_wiped),
		UNIT_TEST(
		    given_gcm_spec_case14_when_sealing_zero_block_then_known_answer),
		UNIT_TEST(given_tampered_gcm_when_opening_then_eauth_and_wiped),
		UNIT_TEST(given_rng_when_drawing_twice_then_outputs_differ),
		UNIT_TEST(given_selftest_when_run_then_passes),
		UNIT_TEST(given_any_output_byte_flipped_when_selftest_then_fails),
		UNIT_TEST(given_secrets_when_comparing_and_wiping_then_correct),
		UNIT_END,
	};
	return unit_run("crypto", tests);
}
