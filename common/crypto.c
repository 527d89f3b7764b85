#include "common/crypto.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "common/errcode.h"
#include "common/secmem.h"

/* Fetched once: explicit fetches avoid a provider lookup per call. */
static struct {
	EVP_MAC *hmac;
	EVP_MD *sha1;
	EVP_MD *sha256;
	EVP_MD *md5; /* HTTP Digest only */
	EVP_CIPHER *ecb128;
	EVP_CIPHER *ctr128;
	EVP_CIPHER *ctr256;
	EVP_CIPHER *wrap128;
	EVP_CIPHER *wrap256;
	EVP_CIPHER *gcm256;
	/* HMAC contexts with their digest set and no key: read-only templates
	 * that each call duplicates (saves the digest lookup by name). */
	EVP_MAC_CTX *hmac_tpl[2];
	int ok;
} algs;

static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_load(void)
{
	algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	algs.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	algs.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	algs.ecb128 = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	algs.ctr128 = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
	algs.ctr256 = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	algs.wrap128 = EVP_CIPHER_fetch(NULL, "AES-128-WRAP", NULL);
	algs.wrap256 = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	algs.gcm256 = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	static const char *const digests[2] = { "SHA1", "SHA256" };
	for (int i = 0; i < 2 && algs.hmac != NULL; i++) {
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
							 (char *)digests[i], 0),
			OSSL_PARAM_construct_end(),
		};
		algs.hmac_tpl[i] = EVP_MAC_CTX_new(algs.hmac);
		if (algs.hmac_tpl[i] != NULL &&
		    !EVP_MAC_CTX_set_params(algs.hmac_tpl[i], params)) {
			EVP_MAC_CTX_free(algs.hmac_tpl[i]);
			algs.hmac_tpl[i] = NULL;
		}
	}
	algs.ok = algs.hmac_tpl[0] && algs.hmac_tpl[1] && algs.hmac && algs.sha1 &&
		  algs.sha256 && algs.md5 && algs.ecb128 && algs.ctr128 && algs.ctr256 &&
		  algs.wrap128 && algs.wrap256 && algs.gcm256;
}

int crypto_init(void)
{
	pthread_once(&algs_once, algs_load);
	return algs.ok ? KMS_EOK : KMS_ECRYPTO;
}

size_t crypto_md_len(crypto_md_t md)
{
	switch (md) {
	case CRYPTO_MD_SHA256:
		return CRYPTO_SHA256_LEN;
	case CRYPTO_MD_MD5:
		return CRYPTO_MD5_LEN;
	case CRYPTO_MD_SHA1:
	default:
		return CRYPTO_SHA1_LEN;
	}
}

int crypto_hmac(crypto_md_t md, const uint8_t *key, size_t key_len,
		const crypto_iov_t *iov, size_t n, uint8_t *out)
{
	if ((md != CRYPTO_MD_SHA1 && md != CRYPTO_MD_SHA256) ||
	    (key == NULL && key_len > 0) || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = crypto_init();
	if (ret != KMS_EOK) {
		return ret;
	}
	static const uint8_t empty_key[1];
	/* The copy is freed (and cleansed by OpenSSL) before returning. */
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(algs.hmac_tpl[md == CRYPTO_MD_SHA256]);
	size_t out_len = 0;
	ret = KMS_ECRYPTO;
	if (ctx == NULL ||
	    !EVP_MAC_init(ctx, key_len > 0 ? key : empty_key, key_len, NULL)) {
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len > 0 && !EVP_MAC_update(ctx, iov[i].data, iov[i].len)) {
			goto cleanup;
		}
	}
	if (!EVP_MAC_final(ctx, out, &out_len, crypto_md_len(md)) ||
	    out_len != crypto_md_len(md)) {
		secmem_wipe(out, crypto_md_len(md));
		goto cleanup;
	}
	ret = KMS_EOK;
cleanup:
	EVP_MAC_CTX_free(ctx);
	return ret;
}

int crypto_hash(crypto_md_t md, const crypto_iov_t *iov, size_t n, uint8_t *out)
{
	if ((md != CRYPTO_MD_SHA1 && md != CRYPTO_MD_SHA256 && md != CRYPTO_MD_MD5) ||
	    out == NULL || (iov == NULL && n > 0)) {
		return KMS_EINVAL;
	}
	int ret = crypto_init();
	if (ret != KMS_EOK) {
		return ret;
	}
	const EVP_MD *alg = md == CRYPTO_MD_SHA256 ? algs.sha256
			    : md == CRYPTO_MD_MD5  ? algs.md5
						   : algs.sha1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int out_len = 0;
	ret = KMS_ECRYPTO;
	if (ctx == NULL || !EVP_DigestInit_ex2(ctx, alg, NULL)) {
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (iov[i].len > 0 && !EVP_DigestUpdate(ctx, iov[i].data, iov[i].len)) {
			goto cleanup;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, out, &out_len) || out_len != crypto_md_len(md)) {
		goto cleanup;
	}
	ret = KMS_EOK;
cleanup:
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* One-shot encrypt or decrypt with an unpadded cipher; out written on success. */
static int cipher_run(const EVP_CIPHER *c, int enc, const uint8_t *key, const uint8_t *iv,
		      const uint8_t *in, size_t len, uint8_t *out, size_t expect_len)
{
	if (len > INT32_MAX) {
		return KMS_ERANGE;
	}
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ret = KMS_ECRYPTO;
	int n1 = 0;
	int n2 = 0;
	if (ctx == NULL || !EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL)) {
		goto cleanup;
	}
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	if (!EVP_CipherUpdate(ctx, out, &n1, in, (int)len)) {
		ret = (c == algs.wrap128 || c == algs.wrap256) && !enc ? KMS_EAUTH
								       : KMS_ECRYPTO;
		goto cleanup;
	}
	if (!EVP_CipherFinal_ex(ctx, out + n1, &n2) ||
	    (size_t)n1 + (size_t)n2 != expect_len) {
		goto cleanup;
	}
	ret = KMS_EOK;
cleanup:
	if (ret != KMS_EOK && expect_len > 0) {
		secmem_wipe(out, expect_len);
	}
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int crypto_aes_cm(const uint8_t *key, size_t key_len, const uint8_t iv[16],
		  const uint8_t *in, uint8_t *out, size_t len)
{
	if (key == NULL || iv == NULL || (len > 0 && (in == NULL || out == NULL)) ||
	    (key_len != 16 && key_len != 32)) {
		return KMS_EINVAL;
	}
	int ret = crypto_init();
	if (ret != KMS_EOK) {
		return ret;
	}
	if (len == 0) {
		return KMS_EOK;
	}
	return cipher_run(key_len == 16 ? algs.ctr128 : algs.ctr256, 1, key, iv, in, len,
			  out, len);
}

int crypto_aes_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	if (key == NULL || in == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = crypto_init();
	if (ret != KMS_EOK) {
		return ret;
	}
	/* EVP allows in == out for ECB; on failure out is wiped. */
	return cipher_run(algs.ecb128, 1, key, NULL, in, CRYPTO_AES_BLOCK, out,
			  CRYPTO_AES_BLOCK);
}

static const uint8_t kw_default_iv[CRYPTO_KW_IV] = { 0xa6, 0xa6, 0xa6, 0xa6,
						     0xa6, 0xa6, 0xa6, 0xa6 };

static int kw_check(const uint8_t *kek, size_t kek_len, const uint8_t *in,
		    const uint8_t *out, size_t len, size_t min)
{
	if (kek == NULL || in == NULL || out == NULL ||
	    (kek_len != 16 && kek_len != 32) || len % 8 != 0 || len < min ||
	    len > 65536) {
		return KMS_EINVAL;
	}
	return crypto_init();
}

int crypto_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t iv[CRYPTO_KW_IV],
		       const uint8_t *in, size_t len, uint8_t *out)
{
	int ret = kw_check(kek, kek_len, in, out, len, 16);
	if (ret != KMS_EOK) {
		return ret;
	}
	return cipher_run(kek_len == 16 ? algs.wrap128 : algs.wrap256, 1, kek,
			  iv != NULL ? iv : kw_default_iv, in, len, out, len + 8);
}

int crypto_aes_kw_unwrap(const uint8_t *kek, size_t kek_len,
			 const uint8_t iv[CRYPTO_KW_IV], const uint8_t *in, size_t len,
			 uint8_t *out)
{
	int ret = kw_check(kek, kek_len, in, out, len, 24);
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = cipher_run(kek_len == 16 ? algs.wrap128 : algs.wrap256, 0, kek,
			 iv != NULL ? iv : kw_default_iv, in, len, out, len - 8);
	return ret == KMS_ECRYPTO ? KMS_EAUTH : ret;
}

static int gcm_run(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
		   size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
		   uint8_t *tag)
{
	if (key == NULL || iv == NULL || tag == NULL || (aad == NULL && aad_len > 0) ||
	    (len > 0 && (in == NULL || out == NULL)) || len > INT32_MAX ||
	    aad_len > INT32_MAX) {
		return KMS_EINVAL;
	}
	int ret = crypto_init();
	if (ret != KMS_EOK) {
		return ret;
	}
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	ret = KMS_ECRYPTO;
	if (ctx == NULL || !EVP_CipherInit_ex2(ctx, algs.gcm256, key, iv, enc, NULL)) {
		goto cleanup;
	}
	if (aad_len > 0 && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len)) {
		goto cleanup;
	}
	if (len > 0 && !EVP_CipherUpdate(ctx, out, &n, in, (int)len)) {
		goto cleanup;
	}
	if (enc) {
		if (!EVP_CipherFinal_ex(ctx, out + len, &n) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_GCM_TAG,
					 tag)) {
			goto cleanup;
		}
	} else {
		if (!EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CRYPTO_GCM_TAG,
					 (void *)tag)) {
			goto cleanup;
		}
		/* Final verifies the tag in constant time. */
		if (EVP_CipherFinal_ex(ctx, out + len, &n) <= 0) {
			ret = KMS_EAUTH;
			goto cleanup;
		}
	}
	ret = KMS_EOK;
cleanup:
	if (ret != KMS_EOK && len > 0) {
		secmem_wipe(out, len);
	}
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int crypto_gcm_seal(const uint8_t key[CRYPTO_GCM_KEY], const uint8_t iv[CRYPTO_GCM_IV],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		    uint8_t *out, uint8_t tag[CRYPTO_GCM_TAG])
{
	return gcm_run(1, key, iv, aad, aad_len, in, len, out, tag);
}

int crypto_gcm_open(const uint8_t key[CRYPTO_GCM_KEY], const uint8_t iv[CRYPTO_GCM_IV],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		    const uint8_t tag[CRYPTO_GCM_TAG], uint8_t *out)
{
	return gcm_run(0, key, iv, aad, aad_len, in, len, out, (uint8_t *)tag);
}

int crypto_random(uint8_t *buf, size_t len)
{
	if (buf == NULL && len > 0) {
		return KMS_EINVAL;
	}
	if (len > INT32_MAX) {
		return KMS_ERANGE;
	}
	if (len > 0 && RAND_bytes(buf, (int)len) != 1) {
		return KMS_ECRYPTO;
	}
	return KMS_EOK;
}
