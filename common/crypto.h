/*
 * The only crypto in the tree: a thin wrapper over OpenSSL 3 (EVP, and
 * the digest block functions for HMAC: common/hmac.c).
 *
 * Functions return KMS_EOK or a KMS_E* code and write their output only on
 * success (on failure the output buffer is wiped).  Integrity failures
 * (GCM tag, AES-KW check value) return KMS_EAUTH.
 */
#ifndef KMS_COMMON_CRYPTO_H
#define KMS_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CRYPTO_MD_SHA1 = 0,
	CRYPTO_MD_SHA256 = 1,
	CRYPTO_MD_MD5 = 2, /* HTTP Digest (RFC 2617 / RFC 3310) only: crypto_hash */
} crypto_md_t;

#define CRYPTO_SHA1_LEN 20
#define CRYPTO_SHA256_LEN 32
#define CRYPTO_MD5_LEN 16
#define CRYPTO_MD_MAX 32
#define CRYPTO_AES_BLOCK 16
#define CRYPTO_GCM_KEY 32
#define CRYPTO_GCM_IV 12
#define CRYPTO_GCM_TAG 16
#define CRYPTO_KW_IV 8

/* One piece of a scattered input. */
typedef struct {
	const uint8_t *data;
	size_t len;
} crypto_iov_t;

/* Output size of md in bytes. */
size_t crypto_md_len(crypto_md_t md);

/*
 * Load the algorithms once; called implicitly, safe from many threads.
 */
int crypto_init(void);

/*
 * Per-thread state: who owns it, what it holds, when it is wiped.
 *
 * This module, not its callers, owns one small state per thread, made on
 * the thread's first call: one reusable OpenSSL cipher context per cipher
 * (AES-ECB, AES-CTR, AES-KW, AES-GCM), the key the GCM context is keyed
 * with, and a buffer of up to 2 KiB of DRBG output for small
 * crypto_random() draws.  It stays here because handing OpenSSL contexts
 * to every caller (MIKEY, GBA, tickets, the keyring, the tools) would
 * spread them over every layer, and because a context made per call costs
 * more than the crypto it does.
 *
 * Cipher contexts: between calls each keeps the key schedule of the last
 * key the thread used with that cipher (CTR also its last keystream
 * block), and the GCM key is kept to skip re-keying for the same key.
 * crypto_thread_wipe() frees the contexts (OpenSSL cleanses them) and
 * zeroes the GCM key; the next call makes a fresh context.  A thread that
 * runs units of work calls it at the end of each (kmsd: req_end(), with
 * the rest of the request's secrets; it costs a GCM key setup on the next
 * request, under a microsecond).  Without it the state lasts until the
 * thread's next call with that cipher, or its exit.  A failed call frees
 * its context at once.
 *
 * Random buffer: bytes are wiped as they are handed out, the rest is
 * dropped when 100 ms old, in a forked child and at thread exit.  It holds
 * no key of finished work, only bytes of the next draws, and the DRBG
 * state beside it in the same process gives away later draws for far
 * longer (until its reseed), so crypto_thread_wipe() leaves it: dropping
 * it per request would cost one DRBG call per request (measured 1 to 5 us,
 * about what the rest of a request's MIKEY work costs).
 *
 * Thread exit wipes and frees everything (a pthread key destructor).
 */
void crypto_thread_wipe(void);

/* How many cipher contexts the calling thread holds now (tests, checks). */
size_t crypto_thread_contexts(void);

/*
 * HMAC over the concatenation of iov[0..n); out gets crypto_md_len(md).
 * SHA-1 and SHA-256 only: CRYPTO_MD_MD5 is refused with KMS_EINVAL.
 */
int crypto_hmac(crypto_md_t md, const uint8_t *key, size_t key_len,
		const crypto_iov_t *iov, size_t n, uint8_t *out);

/*
 * One HMAC key for several messages in a row (the MIKEY PRF's P_hash chain):
 * the key's inner and outer pad states are computed once by
 * crypto_hmac_key_init() and kept in the object; each crypto_hmac_keyed()
 * restarts from them.  Outputs are exactly crypto_hmac()'s (common/hmac.c).
 *
 * The object holds key material: it belongs to one thread at a time, lives
 * where the caller puts it, and every path must end with
 * crypto_hmac_key_wipe(), which zeroes it.  init always leaves *k in a state
 * wipe accepts (empty on failure).  A failed crypto_hmac_keyed() drops the
 * key: later calls on the object return KMS_ECRYPTO.  Nothing is allocated.
 */
typedef struct {
	uint64_t pad[2][14]; /* inner, outer pad states (opaque, hmac.c) */
	crypto_md_t md;
	int keyed; /* 0: empty, wiped or failed */
} crypto_hmac_key_t;

/* SHA-1 and SHA-256 only (else KMS_EINVAL); the key may be empty. */
int crypto_hmac_key_init(crypto_hmac_key_t *k, crypto_md_t md, const uint8_t *key,
			 size_t key_len);

/* HMAC under k's key over the concatenation of iov[0..n); out gets
 * crypto_md_len(k->md) bytes, wiped on failure. */
int crypto_hmac_keyed(crypto_hmac_key_t *k, const crypto_iov_t *iov, size_t n,
		      uint8_t *out);

/* Ends the object's use; NULL is a no-op. */
void crypto_hmac_key_wipe(crypto_hmac_key_t *k);

/* Digest over the concatenation of iov[0..n). */
int crypto_hash(crypto_md_t md, const crypto_iov_t *iov, size_t n, uint8_t *out);

/* AES-128 encryption of one block (MILENAGE); in and out may be the same. */
int crypto_aes_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]);

/*
 * AES in counter mode (RFC 3711 AES-CM): out = in XOR AES-CTR(key, iv),
 * where iv is the full 128-bit initial counter block; key_len 16 or 32.
 * in and out may be the same buffer.
 */
int crypto_aes_cm(const uint8_t *key, size_t key_len, const uint8_t iv[16],
		  const uint8_t *in, uint8_t *out, size_t len);

/*
 * An AES-KW IV bound to what a wrapped key belongs to: the first 8 bytes of
 * SHA-256(label || id).  A wrapped key moved to another row (another id, or
 * another store's label) then no longer unwraps.
 */
int crypto_aes_kw_iv(const char *label, const uint8_t *id, size_t id_len,
		     uint8_t iv[CRYPTO_KW_IV]);

/*
 * RFC 3394 key wrap with a 64-bit IV (NULL: the default A6A6A6A6A6A6A6A6).
 * len is a multiple of 8 and at least 16; wrap writes len + 8 bytes,
 * unwrap writes len - 8 bytes and returns KMS_EAUTH on a bad check value.
 */
int crypto_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t iv[CRYPTO_KW_IV],
		       const uint8_t *in, size_t len, uint8_t *out);
int crypto_aes_kw_unwrap(const uint8_t *kek, size_t kek_len,
			 const uint8_t iv[CRYPTO_KW_IV], const uint8_t *in, size_t len,
			 uint8_t *out);

/* AES-256-GCM with a 96-bit IV and a 128-bit tag. */
int crypto_gcm_seal(const uint8_t key[CRYPTO_GCM_KEY], const uint8_t iv[CRYPTO_GCM_IV],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		    uint8_t *out, uint8_t tag[CRYPTO_GCM_TAG]);
int crypto_gcm_open(const uint8_t key[CRYPTO_GCM_KEY], const uint8_t iv[CRYPTO_GCM_IV],
		    const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		    const uint8_t tag[CRYPTO_GCM_TAG], uint8_t *out);

/*
 * CSPRNG bytes (OpenSSL's DRBG seeded from the OS).  Small draws come from
 * the thread's buffer of DRBG output (see crypto_thread_wipe()).
 */
int crypto_random(uint8_t *buf, size_t len);

#endif
