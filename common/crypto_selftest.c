#include "common/crypto_selftest.h"

#include <stdint.h>
#include <string.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"

#define KAT_MAX 128

struct kat {
	const char *name;
	/* Computes the output into out; returns its length or a KMS_E* < 0. */
	int (*run)(const struct kat *k, uint8_t *out);
	const char *key;
	const char *iv;
	const char *aad;
	const char *in;
	const char *expect;
};

/* Decode a hex constant of the table; the table is ours, so failure is a bug. */
static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	if (s == NULL || hex_decode(s, strlen(s), out, KAT_MAX, &n) != KMS_EOK) {
		return 0;
	}
	return n;
}

static int run_hmac(const struct kat *k, uint8_t *out, crypto_md_t md)
{
	uint8_t key[KAT_MAX];
	uint8_t in[KAT_MAX];
	size_t kl = unhex(k->key, key);
	crypto_iov_t iov = { in, unhex(k->in, in) };
	int ret = crypto_hmac(md, key, kl, &iov, 1, out);
	return ret != KMS_EOK ? ret : (int)crypto_md_len(md);
}

static int run_hmac_sha1(const struct kat *k, uint8_t *out)
{
	return run_hmac(k, out, CRYPTO_MD_SHA1);
}

static int run_hmac_sha256(const struct kat *k, uint8_t *out)
{
	return run_hmac(k, out, CRYPTO_MD_SHA256);
}

static int run_aes_cm(const struct kat *k, uint8_t *out)
{
	uint8_t key[KAT_MAX];
	uint8_t iv[KAT_MAX];
	uint8_t in[KAT_MAX];
	size_t kl = unhex(k->key, key);
	unhex(k->iv, iv);
	size_t n = unhex(k->in, in);
	int ret = crypto_aes_cm(key, kl, iv, in, out, n);
	return ret != KMS_EOK ? ret : (int)n;
}

static int run_aes_block(const struct kat *k, uint8_t *out)
{
	uint8_t key[KAT_MAX];
	uint8_t in[KAT_MAX];
	if (unhex(k->key, key) != 16 || unhex(k->in, in) != CRYPTO_AES_BLOCK) {
		return KMS_EINTERNAL;
	}
	int ret = crypto_aes_block(key, in, out);
	return ret != KMS_EOK ? ret : CRYPTO_AES_BLOCK;
}

static int run_md5(const struct kat *k, uint8_t *out)
{
	uint8_t in[KAT_MAX];
	crypto_iov_t iov = { in, unhex(k->in, in) };
	int ret = crypto_hash(CRYPTO_MD_MD5, &iov, 1, out);
	return ret != KMS_EOK ? ret : CRYPTO_MD5_LEN;
}

static int run_kw_wrap(const struct kat *k, uint8_t *out)
{
	uint8_t key[KAT_MAX];
	uint8_t in[KAT_MAX];
	size_t kl = unhex(k->key, key);
	size_t n = unhex(k->in, in);
	int ret = crypto_aes_kw_wrap(key, kl, NULL, in, n, out);
	return ret != KMS_EOK ? ret : (int)(n + 8);
}

/* Unwrap the expected plaintext back; a one-bit change of the input must fail. */
static int run_kw_unwrap(const struct kat *k, uint8_t *out)
{
	uint8_t key[KAT_MAX];
	uint8_t in[KAT_MAX];
	uint8_t junk[KAT_MAX];
	size_t kl = unhex(k->key, key);
	size_t n = unhex(k->in, in);
	int ret = crypto_aes_kw_unwrap(key, kl, NULL, in, n, out);
	if (ret != KMS_EOK) {
		return ret;
	}
	in[n - 1] ^= 0x01;
	if (crypto_aes_kw_unwrap(key, kl, NULL, in, n, junk) != KMS_EAUTH) {
		return KMS_ESELFTEST;
	}
	return (int)(n - 8);
}

static int run_gcm_seal(const struct kat *k, uint8_t *out)
{
	uint8_t key[KAT_MAX];
	uint8_t iv[KAT_MAX];
	uint8_t aad[KAT_MAX];
	uint8_t in[KAT_MAX];
	unhex(k->key, key);
	unhex(k->iv, iv);
	size_t al = unhex(k->aad, aad);
	size_t n = unhex(k->in, in);
	int ret = crypto_gcm_seal(key, iv, aad, al, in, n, out, out + n);
	return ret != KMS_EOK ? ret : (int)(n + CRYPTO_GCM_TAG);
}

/* Open ciphertext||tag; a changed AAD byte must be refused. */
static int run_gcm_open(const struct kat *k, uint8_t *out)
{
	uint8_t key[KAT_MAX];
	uint8_t iv[KAT_MAX];
	uint8_t aad[KAT_MAX];
	uint8_t in[KAT_MAX];
	uint8_t junk[KAT_MAX];
	unhex(k->key, key);
	unhex(k->iv, iv);
	size_t al = unhex(k->aad, aad);
	size_t n = unhex(k->in, in) - CRYPTO_GCM_TAG;
	int ret = crypto_gcm_open(key, iv, aad, al, in, n, in + n, out);
	if (ret != KMS_EOK) {
		return ret;
	}
	aad[0] ^= 0x80;
	if (crypto_gcm_open(key, iv, aad, al, in, n, in + n, junk) != KMS_EAUTH) {
		return KMS_ESELFTEST;
	}
	return (int)n;
}

#define GCM16_KEY "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define GCM16_IV "cafebabefacedbaddecaf888"
#define GCM16_AAD "feedfacedeadbeeffeedfacedeadbeefabaddad2"
#define GCM16_PT                                                                         \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"               \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM16_CT                                                                         \
	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"               \
	"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"                       \
	"76fc6ece0f4e1768cddf8853bb2d551b"

static const struct kat kats[] = {
	{ "HMAC-SHA-1 RFC 2202 case 1", run_hmac_sha1,
	  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", NULL, NULL, "4869205468657265",
	  "b617318655057264e28bc0b6fb378c8ef146be00" },
	{ "HMAC-SHA-1 RFC 2202 case 2", run_hmac_sha1, "4a656665", NULL, NULL,
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
	{ "HMAC-SHA-256 RFC 4231 case 1", run_hmac_sha256,
	  "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", NULL, NULL, "4869205468657265",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "HMAC-SHA-256 RFC 4231 case 2", run_hmac_sha256, "4a656665", NULL, NULL,
	  "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "AES-CM-128 RFC 3711 B.2", run_aes_cm, "2b7e151628aed2a6abf7158809cf4f3c",
	  "f0f1f2f3f4f5f6f7f8f9fafbfcfd0000", NULL,
	  "000000000000000000000000000000000000000000000000"
	  "000000000000000000000000000000000000000000000000",
	  "e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab"
	  "41e95b3bb0a2e8dd477901e4fca894c0" },
	{ "AES-128 FIPS-197 C.1", run_aes_block, "000102030405060708090a0b0c0d0e0f", NULL,
	  NULL, "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a" },
	{ "MD5 RFC 1321 \"abc\"", run_md5, NULL, NULL, NULL, "616263",
	  "900150983cd24fb0d6963f7d28e17f72" },
	{ "AES-KW-128 wrap RFC 3394 4.1", run_kw_wrap, "000102030405060708090a0b0c0d0e0f",
	  NULL, NULL, "00112233445566778899aabbccddeeff",
	  "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5" },
	{ "AES-KW-128 unwrap RFC 3394 4.1", run_kw_unwrap,
	  "000102030405060708090a0b0c0d0e0f", NULL, NULL,
	  "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5",
	  "00112233445566778899aabbccddeeff" },
	{ "AES-KW-256 wrap RFC 3394 4.6", run_kw_wrap,
	  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", NULL, NULL,
	  "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
	  "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43b"
	  "fb988b9b7a02dd21" },
	{ "AES-256-GCM seal (GCM spec case 16)", run_gcm_seal, GCM16_KEY, GCM16_IV,
	  GCM16_AAD, GCM16_PT, GCM16_CT },
	{ "AES-256-GCM open (GCM spec case 16)", run_gcm_open, GCM16_KEY, GCM16_IV,
	  GCM16_AAD, GCM16_CT, GCM16_PT },
};

#define KAT_COUNT (sizeof(kats) / sizeof(kats[0]))

size_t crypto_selftest_count(void)
{
	return KAT_COUNT;
}

const char *crypto_selftest_name(size_t i)
{
	return i < KAT_COUNT ? kats[i].name : NULL;
}

size_t crypto_selftest_output_len(size_t i)
{
	return i < KAT_COUNT ? strlen(kats[i].expect) / 2 : 0;
}

int crypto_selftest_run(size_t i, long flip_byte)
{
	if (i >= KAT_COUNT) {
		return KMS_EINVAL;
	}
	uint8_t out[KAT_MAX];
	uint8_t expect[KAT_MAX];
	size_t elen = unhex(kats[i].expect, expect);
	int n = kats[i].run(&kats[i], out);
	int ret = KMS_ESELFTEST;
	if (n < 0 || (size_t)n != elen || elen == 0) {
		goto cleanup;
	}
	if (flip_byte >= 0 && (size_t)flip_byte < elen) {
		out[flip_byte] ^= 0x01;
	}
	if (secmem_eq(out, expect, elen)) {
		ret = KMS_EOK;
	}
cleanup:
	secmem_wipe(out, sizeof(out));
	return ret;
}

int crypto_selftest(void)
{
	int ret = crypto_init();
	if (ret != KMS_EOK) {
		log_error("crypto: cannot load algorithms from OpenSSL");
		return KMS_ESELFTEST;
	}
	for (size_t i = 0; i < KAT_COUNT; i++) {
		if (crypto_selftest_run(i, -1) != KMS_EOK) {
			log_error("crypto self-test failed: %s", kats[i].name);
			return KMS_ESELFTEST;
		}
	}
	log_debug("crypto self-test passed (%zu known-answer tests)", KAT_COUNT);
	return KMS_EOK;
}
