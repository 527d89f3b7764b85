/*
 * HMAC (RFC 2104) with SHA-1 and SHA-256, on OpenSSL's digest block
 * functions directly.
 *
 * Why not EVP_MAC: the MIKEY PRF runs chains of HMACs over 20-60 byte
 * inputs (a resolve runs about twenty), where the EVP layer's dispatch,
 * parameter parsing and context duplication (an allocation per restart)
 * cost several times the two or three compressions each HMAC needs.  Here
 * the inner and outer pad states live in the caller's object, a restart is
 * a struct copy, and nothing is allocated or kept per thread: the key's
 * states are wiped by crypto_hmac_key_wipe() (one-shot HMACs wipe them
 * before returning).
 *
 * The SHA1_* and SHA256_* functions are deprecated in OpenSSL 3 (still
 * shipped, and the same assembly as the providers use); this file is the
 * only user.  They bypass the provider layer, so a FIPS-provider-only
 * deployment would have to bring back EVP here (docs/architecture.md).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "common/crypto.h"

#include <string.h>

#include <openssl/sha.h>

#include "common/errcode.h"
#include "common/secmem.h"

#define HMAC_BLOCK 64 /* SHA-1 and SHA-256 both */

typedef union {
	SHA_CTX sha1;
	SHA256_CTX sha256;
} md_state_t;

_Static_assert(sizeof(md_state_t) <= sizeof(((crypto_hmac_key_t *)0)->pad[0]),
	       "crypto_hmac_key_t too small for a digest state");
_Static_assert(SHA_CBLOCK == HMAC_BLOCK && SHA256_CBLOCK == HMAC_BLOCK,
	       "HMAC block size");

/* The low-level calls return 1 on success; any other value is a failure. */
static int md_init(crypto_md_t md, md_state_t *s)
{
	return md == CRYPTO_MD_SHA256 ? SHA256_Init(&s->sha256) : SHA1_Init(&s->sha1);
}

static int md_update(crypto_md_t md, md_state_t *s, const uint8_t *p, size_t n)
{
	return md == CRYPTO_MD_SHA256 ? SHA256_Update(&s->sha256, p, n)
				      : SHA1_Update(&s->sha1, p, n);
}

static int md_final(crypto_md_t md, md_state_t *s, uint8_t *out)
{
	return md == CRYPTO_MD_SHA256 ? SHA256_Final(out, &s->sha256)
				      : SHA1_Final(out, &s->sha1);
}

int crypto_hmac_key_init(crypto_hmac_key_t *k, crypto_md_t md, const uint8_t *key,
			 size_t key_len)
{
	if (k == NULL) {
		return KMS_EINVAL;
	}
	secmem_wipe(k, sizeof(*k)); /* empty until keyed: wipe is then a no-op */
	if ((md != CRYPTO_MD_SHA1 && md != CRYPTO_MD_SHA256) ||
	    (key == NULL && key_len > 0)) {
		return KMS_EINVAL;
	}
	uint8_t block[HMAC_BLOCK] = { 0 };
	md_state_t s;
	int ok = 1;
	/* K0: the key, or its digest when longer than a block, zero-padded. */
	if (key_len > HMAC_BLOCK) {
		ok = md_init(md, &s) == 1 && md_update(md, &s, key, key_len) == 1 &&
		     md_final(md, &s, block) == 1;
	} else if (key_len > 0) {
		memcpy(block, key, key_len);
	}
	for (size_t i = 0; i < HMAC_BLOCK; i++) {
		block[i] ^= 0x36;
	}
	ok = ok && md_init(md, &s) == 1 && md_update(md, &s, block, HMAC_BLOCK) == 1;
	memcpy(k->pad[0], &s, sizeof(s));
	for (size_t i = 0; i < HMAC_BLOCK; i++) {
		block[i] ^= 0x36 ^ 0x5c;
	}
	ok = ok && md_init(md, &s) == 1 && md_update(md, &s, block, HMAC_BLOCK) == 1;
	memcpy(k->pad[1], &s, sizeof(s));
	secmem_wipe(block, sizeof(block));
	secmem_wipe(&s, sizeof(s));
	if (!ok) {
		secmem_wipe(k, sizeof(*k));
		return KMS_ECRYPTO;
	}
	k->md = md;
	k->keyed = 1;
	return KMS_EOK;
}

/*
 * The short-message path.  Both halves of an HMAC start from a state that
 * has absorbed exactly one block (the padded key), so a message of
 * len <= SHORT_MAX bytes ends the hash within two more blocks whose
 * padding is fixed (FIPS 180-4 5.1.1: 0x80, zeros, the bit length of all
 * 64 + len bytes in the last 8 bytes).  Those blocks are built here and fed
 * to the block function: no copy into the context's buffer, no padding
 * pass, no cleanse of it (the caller wipes blk).  Outputs are compared with
 * OpenSSL's HMAC for every length 0..400 in the tests.
 */
#define SHORT_MAX (2 * HMAC_BLOCK - 9)

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* out = the digest of (one block already in s) || blk[0..len), len <= SHORT_MAX;
 * blk has room for two blocks and is padded in place. */
static void finish_short(crypto_md_t md, md_state_t *s, uint8_t *blk, size_t len,
			 uint8_t *out)
{
	size_t blocks = len + 9 <= HMAC_BLOCK ? 1 : 2;
	size_t end = blocks * HMAC_BLOCK;
	uint64_t bits = (uint64_t)(HMAC_BLOCK + len) * 8;
	blk[len] = 0x80;
	memset(blk + len + 1, 0, end - len - 1 - 8);
	be32(blk + end - 8, (uint32_t)(bits >> 32));
	be32(blk + end - 4, (uint32_t)bits);
	if (md == CRYPTO_MD_SHA256) {
		for (size_t b = 0; b < blocks; b++) {
			SHA256_Transform(&s->sha256, blk + b * HMAC_BLOCK);
		}
		for (size_t i = 0; i < 8; i++) {
			be32(out + 4 * i, s->sha256.h[i]);
		}
	} else {
		for (size_t b = 0; b < blocks; b++) {
			SHA1_Transform(&s->sha1, blk + b * HMAC_BLOCK);
		}
		be32(out, s->sha1.h0);
		be32(out + 4, s->sha1.h1);
		be32(out + 8, s->sha1.h2);
		be32(out + 12, s->sha1.h3);
		be32(out + 16, s->sha1.h4);
	}
}

int crypto_hmac_keyed(crypto_hmac_key_t *k, const crypto_iov_t *iov, size_t n,
		      uint8_t *out)
{
	if (k == NULL || out == NULL || (iov == NULL && n > 0)) {
		return KMS_EINVAL;
	}
	if (!k->keyed) {
		return KMS_ECRYPTO;
	}
	const crypto_md_t md = k->md;
	const size_t md_len = crypto_md_len(md);
	uint8_t inner[CRYPTO_MD_MAX];
	md_state_t s;
	int ok = 1;
	uint8_t blk[2 * HMAC_BLOCK];
	size_t len = 0;
	for (size_t j = 0; j < n && len <= SHORT_MAX; j++) {
		len += iov[j].len <= SHORT_MAX ? iov[j].len : SHORT_MAX + 1;
	}
	/* Inner: H((K0 ^ ipad) || message), from the kept ipad state. */
	memcpy(&s, k->pad[0], sizeof(s));
	if (len <= SHORT_MAX) {
		size_t at = 0;
		for (size_t j = 0; j < n; j++) {
			if (iov[j].len > 0) {
				memcpy(blk + at, iov[j].data, iov[j].len);
				at += iov[j].len;
			}
		}
		finish_short(md, &s, blk, len, inner);
	} else {
		for (size_t j = 0; ok && j < n; j++) {
			if (iov[j].len > 0) {
				ok = md_update(md, &s, iov[j].data, iov[j].len) == 1;
			}
		}
		ok = ok && md_final(md, &s, inner) == 1;
	}
	/* Outer: H((K0 ^ opad) || inner), one padded block. */
	memcpy(&s, k->pad[1], sizeof(s));
	memcpy(blk, inner, md_len);
	finish_short(md, &s, blk, md_len, out);
	secmem_wipe(blk, sizeof(blk));
	secmem_wipe(inner, sizeof(inner));
	secmem_wipe(&s, sizeof(s));
	if (!ok) {
		/* Never trusted again. */
		secmem_wipe(out, md_len);
		secmem_wipe(k, sizeof(*k));
		return KMS_ECRYPTO;
	}
	return KMS_EOK;
}

void crypto_hmac_key_wipe(crypto_hmac_key_t *k)
{
	if (k != NULL) {
		secmem_wipe(k, sizeof(*k));
	}
}

int crypto_hmac(crypto_md_t md, const uint8_t *key, size_t key_len,
		const crypto_iov_t *iov, size_t n, uint8_t *out)
{
	if ((md != CRYPTO_MD_SHA1 && md != CRYPTO_MD_SHA256) ||
	    (key == NULL && key_len > 0) || out == NULL || (iov == NULL && n > 0)) {
		return KMS_EINVAL;
	}
	crypto_hmac_key_t k;
	int ret = crypto_hmac_key_init(&k, md, key, key_len);
	if (ret == KMS_EOK) {
		ret = crypto_hmac_keyed(&k, iov, n, out);
	}
	crypto_hmac_key_wipe(&k);
	return ret;
}
