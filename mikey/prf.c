/*
 * The MIKEY PRF (RFC 3830 4.1.2) and PRF-HMAC-SHA-256 (RFC 6043 6.1).
 *
 * Both run the TLS-style P function over 256-bit chunks of the in-key and
 * XOR the chunk outputs; they differ only in the HMAC (SHA-1, 160-bit
 * blocks, or SHA-256, 256-bit blocks).
 */
#include "mikey/prf.h"

#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/payload.h"

/* Cap on the in-key (32 chunks); real in-keys (PSK, MPK, TGK) are <= 64 bytes. */
#define PRF_INKEY_MAX 1024

void mikey_prf_cache_wipe(mikey_prf_cache_t *cache)
{
	if (cache != NULL) {
		crypto_hmac_key_wipe(&cache->k);
		secmem_wipe(cache->s, sizeof(cache->s));
		cache->s_len = 0;
	}
}

/*
 * The HMAC key for chunk s: the cache's when it holds s under md, else
 * keyed now into the cache (or, without one, into *own, which the caller
 * wipes).  NULL on failure.
 */
static crypto_hmac_key_t *chunk_key(mikey_prf_cache_t *cache, crypto_hmac_key_t *own,
				    crypto_md_t md, const uint8_t *s, size_t s_len,
				    int *ret)
{
	if (cache == NULL) {
		*ret = crypto_hmac_key_init(own, md, s, s_len);
		return *ret == KMS_EOK ? own : NULL;
	}
	if (cache->k.keyed && cache->k.md == md && cache->s_len == s_len &&
	    secmem_eq(cache->s, s, s_len)) {
		*ret = KMS_EOK;
		return &cache->k;
	}
	mikey_prf_cache_wipe(cache);
	*ret = crypto_hmac_key_init(&cache->k, md, s, s_len);
	if (*ret != KMS_EOK) {
		return NULL;
	}
	memcpy(cache->s, s, s_len);
	cache->s_len = s_len;
	return &cache->k;
}

/*
 * acc ^= first out_len bytes of P(s, label), where
 * P = HMAC(s, A_1 || label) || HMAC(s, A_2 || label) || ...,
 * A_0 = label, A_i = HMAC(s, A_{i-1}).  Every HMAC of the chain has the key
 * s: it is keyed once (or was, by a previous PRF through the same cache),
 * and each HMAC restarts from its pad states.
 */
static int p_hash_xor(mikey_prf_cache_t *cache, crypto_md_t md, const uint8_t *s,
		      size_t s_len, const uint8_t *label, size_t label_len, uint8_t *acc,
		      size_t out_len)
{
	crypto_hmac_key_t own; /* the key without a cache: keyed by chunk_key() */
	crypto_hmac_key_t *k;
	uint8_t a[CRYPTO_MD_MAX];
	uint8_t block[CRYPTO_MD_MAX];
	size_t md_len = crypto_md_len(md);
	size_t done = 0;
	int ret = KMS_EOK;

	k = chunk_key(cache, &own, md, s, s_len, &ret);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	/* A_1 = HMAC(s, A_0) = HMAC(s, label). */
	crypto_iov_t a0 = { label, label_len };
	ret = crypto_hmac_keyed(k, &a0, 1, a);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	while (done < out_len) {
		crypto_iov_t iov[2] = { { a, md_len }, { label, label_len } };
		ret = crypto_hmac_keyed(k, iov, 2, block);
		if (ret != KMS_EOK) {
			goto cleanup;
		}
		size_t n = out_len - done < md_len ? out_len - done : md_len;
		for (size_t i = 0; i < n; i++) {
			acc[done + i] ^= block[i];
		}
		done += n;
		if (done < out_len) {
			/* A_{i+1} = HMAC(s, A_i) */
			crypto_iov_t ai = { a, md_len };
			ret = crypto_hmac_keyed(k, &ai, 1, a);
			if (ret != KMS_EOK) {
				goto cleanup;
			}
		}
	}
cleanup:
	if (ret != KMS_EOK) {
		mikey_prf_cache_wipe(cache);
	}
	if (cache == NULL) {
		crypto_hmac_key_wipe(&own); /* init left it wipeable, even failing */
	}
	secmem_wipe(a, sizeof(a));
	secmem_wipe(block, sizeof(block));
	return ret;
}

int mikey_prf(mikey_prf_cache_t *cache, uint8_t prf, const uint8_t *inkey,
	      size_t inkey_len, const uint8_t *label, size_t label_len, uint8_t *out,
	      size_t out_len)
{
	uint8_t acc[MIKEY_PRF_OUT_MAX]; /* acc[0..out_len) once the sizes pass */
	size_t used = 0;
	crypto_md_t md = CRYPTO_MD_SHA1;
	int ret = KMS_EOK;

	if (prf == MIKEY_PRF_MIKEY1) {
		md = CRYPTO_MD_SHA1;
	} else if (prf == MIKEY_PRF_HMAC_SHA256) {
		md = CRYPTO_MD_SHA256;
	} else {
		ret = KMS_EPRF;
		goto cleanup;
	}
	if (inkey == NULL || inkey_len == 0 || out == NULL || out_len == 0 ||
	    (label == NULL && label_len > 0)) {
		ret = KMS_EINVAL;
		goto cleanup;
	}
	if (out_len > MIKEY_PRF_OUT_MAX || label_len > MIKEY_LABEL_MAX ||
	    inkey_len > PRF_INKEY_MAX) {
		ret = KMS_ERANGE;
		goto cleanup;
	}

	used = out_len;
	memset(acc, 0, used);
	for (size_t off = 0; off < inkey_len; off += MIKEY_PRF_CHUNK) {
		size_t s_len =
		    inkey_len - off < MIKEY_PRF_CHUNK ? inkey_len - off : MIKEY_PRF_CHUNK;
		ret = p_hash_xor(cache, md, inkey + off, s_len, label, label_len, acc,
				 out_len);
		if (ret != KMS_EOK) {
			goto cleanup;
		}
	}
	memcpy(out, acc, out_len);
cleanup:
	secmem_wipe(acc, used);
	return ret;
}
