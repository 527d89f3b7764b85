/* Crypto wrapper: known answers straight from the RFCs, error paths, self-test. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* The labelled IV of the stores: SHA-256(label || id)[0..8), values from
 * python3 hashlib (so stores written before stay readable). */
static void given_label_and_id_when_kw_iv_then_sha256_prefix(void)
{
	uint8_t iv[CRYPTO_KW_IV], exp[CRYPTO_KW_IV];
	unit_hex("406bd24b22f98bbf", exp, sizeof(exp));
	CU_ASSERT_EQUAL(crypto_aes_kw_iv("kms psk wrap",
					 (const uint8_t *)"alice@example.org", 17, iv),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(iv, exp, sizeof(iv)), 0);
	unit_hex("9d55ee290cbf979a", exp, sizeof(exp));
	CU_ASSERT_EQUAL(crypto_aes_kw_iv("kms zk peer wrap",
					 (const uint8_t *)"kms.d2.example", 14, iv),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(iv, exp, sizeof(iv)), 0);
	CU_ASSERT_EQUAL(crypto_aes_kw_iv(NULL, (const uint8_t *)"x", 1, iv), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_aes_kw_iv("l", NULL, 1, iv), KMS_EINVAL);
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

/*
 * Context reuse: several threads at once, each alternating keys, digests,
 * ciphers and lengths (partial CTR blocks), with failures in between; every
 * result is compared with a one-shot reference computed here on a fresh
 * OpenSSL context, so state leaking between calls or threads shows.
 * Threads only count; CUnit is not thread-safe, the main thread asserts.
 */
#define REUSE_THREADS 4
#define REUSE_ROUNDS 300
#define REUSE_DRAWS 200
#define REUSE_CHECKS 17 /* per round */

typedef struct {
	uint64_t seed;
	int checks;
	int failures;
	const char *first; /* first failing check */
	uint8_t draws[REUSE_DRAWS][16];
} reuse_job_t;

/* xorshift64: reproducible test data. */
static uint64_t xs_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void rand_fill(uint64_t *x, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)xs_next(x);
	}
}

static void check(reuse_job_t *j, int ok, const char *what)
{
	j->checks++;
	if (!ok && j->failures++ == 0) {
		j->first = what;
	}
}

/* Fresh-context reference for an unpadded cipher; 0 on an OpenSSL error. */
static int ref_cipher(const EVP_CIPHER *c, int enc, const uint8_t *key, const uint8_t *iv,
		      const uint8_t *in, int len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;
	int ok = ctx != NULL && EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL) &&
		 EVP_CIPHER_CTX_set_padding(ctx, 0) &&
		 EVP_CipherUpdate(ctx, out, &n1, in, len) &&
		 EVP_CipherFinal_ex(ctx, out + n1, &n2);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? n1 + n2 : -1;
}

static int ref_gcm_seal(const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
			int aad_len, const uint8_t *in, int len, uint8_t *out,
			uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	int ok = ctx != NULL &&
		 EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, iv, NULL) &&
		 (aad_len == 0 || EVP_EncryptUpdate(ctx, NULL, &n, aad, aad_len)) &&
		 (len == 0 || EVP_EncryptUpdate(ctx, out, &n, in, len)) &&
		 EVP_EncryptFinal_ex(ctx, out + len, &n) &&
		 EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/* One GCM case of a reuse round: out/tag/back are the caller's buffers. */
typedef struct {
	const uint8_t *key, *iv, *aad;
	size_t alen;
	const uint8_t *msg;
	size_t len;
	uint8_t *out, *tag, *back;
} gcm_case_t;

/* Seal with crypto_gcm_seal: the same bytes and tag as OpenSSL's one-shot. */
static bool gcm_seal_matches(const gcm_case_t *g)
{
	uint8_t exp[96], exp_tag[16];
	return crypto_gcm_seal(g->key, g->iv, g->aad, g->alen, g->msg, g->len, g->out,
			       g->tag) == KMS_EOK &&
	       ref_gcm_seal(g->key, g->iv, g->aad, (int)g->alen, g->msg, (int)g->len, exp,
			    exp_tag) &&
	       memcmp(g->out, exp, g->len) == 0 && memcmp(g->tag, exp_tag, 16) == 0;
}

/* The sealed bytes open back to the message under the case's key and IV. */
static bool gcm_opens(const gcm_case_t *g)
{
	return crypto_gcm_open(g->key, g->iv, g->aad, g->alen, g->out, g->len, g->tag,
			       g->back) == KMS_EOK &&
	       memcmp(g->back, g->msg, g->len) == 0;
}

static void reuse_round(reuse_job_t *j, int r)
{
	uint8_t key[2][32], other[32], iv[16], msg[80], aad[24];
	uint8_t got[96], exp[96], back[80], tag[16];
	rand_fill(&j->seed, &key[0][0], sizeof(key));
	rand_fill(&j->seed, other, sizeof(other));
	rand_fill(&j->seed, iv, sizeof(iv));
	rand_fill(&j->seed, msg, sizeof(msg));
	rand_fill(&j->seed, aad, sizeof(aad));
	size_t len = (size_t)(r * 7 + 1) % sizeof(msg); /* partial blocks, 0 too */
	size_t alen = (size_t)r % sizeof(aad);
	crypto_iov_t iov[2] = { { msg, len / 2 }, { msg + len / 2, len - len / 2 } };
	unsigned int hl = 0;

	/* HMAC: both digests, two keys, key lengths 1..32, interleaved, inside
	 * the life of a keyed object that MACs before and after them. */
	crypto_md_t kmd = r % 3 ? CRYPTO_MD_SHA1 : CRYPTO_MD_SHA256;
	size_t kkl = (size_t)r % 32 + 1;
	uint8_t kgot[2][32];
	crypto_hmac_key_t ko = { 0 };
	int kok = crypto_hmac_key_init(&ko, kmd, other, kkl) == KMS_EOK &&
		  crypto_hmac_keyed(&ko, iov, 2, kgot[0]) == KMS_EOK;
	for (int k = 0; k < 2; k++) {
		crypto_md_t md = (r + k) % 2 ? CRYPTO_MD_SHA256 : CRYPTO_MD_SHA1;
		size_t kl = (size_t)(r + k) % 32 + 1;
		check(j,
		      crypto_hmac(md, key[k], kl, iov, 2, got) == KMS_EOK &&
			  HMAC(md == CRYPTO_MD_SHA1 ? EVP_sha1() : EVP_sha256(), key[k],
			       (int)kl, msg, len, exp, &hl) != NULL &&
			  hl == crypto_md_len(md) && memcmp(got, exp, hl) == 0,
		      "hmac");
	}
	kok = kok && crypto_hmac_keyed(&ko, iov, 2, kgot[1]) == KMS_EOK;
	crypto_hmac_key_wipe(&ko);
	check(j,
	      kok &&
		  HMAC(kmd == CRYPTO_MD_SHA1 ? EVP_sha1() : EVP_sha256(), other, (int)kkl,
		       msg, len, exp, &hl) != NULL &&
		  memcmp(kgot[0], exp, hl) == 0 && memcmp(kgot[1], exp, hl) == 0,
	      "hmac keyed");

	/* AES-CM 128 and 256, then ECB, then CM again with the other key. */
	for (int k = 0; k < 2; k++) {
		size_t kl = (r + k) % 2 ? 32 : 16;
		const EVP_CIPHER *c = kl == 16 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
		check(j,
		      crypto_aes_cm(key[k], kl, iv, msg, got, len) == KMS_EOK &&
			  (len == 0 || ref_cipher(c, 1, key[k], iv, msg, (int)len, exp) ==
					   (int)len) &&
			  memcmp(got, exp, len) == 0,
		      "aes-cm");
		check(j,
		      crypto_aes_block(key[1 - k], msg, got) == KMS_EOK &&
			  ref_cipher(EVP_aes_128_ecb(), 1, key[1 - k], NULL, msg, 16,
				     exp) == 16 &&
			  memcmp(got, exp, 16) == 0,
		      "aes-block");
	}

	/* Key wrap, then a wrong-KEK unwrap (fails), then a good unwrap. */
	size_t wl = 16 + (size_t)(r % 3) * 8;
	check(j, crypto_aes_kw_wrap(key[0], 16, NULL, msg, wl, got) == KMS_EOK,
	      "kw wrap");
	check(j, crypto_aes_kw_unwrap(other, 16, NULL, got, wl + 8, back) == KMS_EAUTH,
	      "kw wrong kek");
	check(j,
	      crypto_aes_kw_unwrap(key[0], 16, NULL, got, wl + 8, back) == KMS_EOK &&
		  memcmp(back, msg, wl) == 0,
	      "kw unwrap");

	/* GCM: seal, open, open with the wrong key (fails), open again. */
	gcm_case_t g = { key[r % 2], iv, aad, alen, msg, len, got, tag, back };
	check(j, gcm_seal_matches(&g), "gcm seal");
	check(j, gcm_opens(&g), "gcm open");
	check(j, crypto_gcm_open(other, iv, aad, alen, got, len, tag, back) == KMS_EAUTH,
	      "gcm wrong key");
	check(j, gcm_opens(&g), "gcm open after failure");
	/* The same key again (the thread keeps its schedule), another IV. */
	uint8_t iv2[16], near[32];
	memcpy(iv2, iv, sizeof(iv2));
	iv2[0] ^= 0x80;
	g.iv = iv2;
	check(j, gcm_seal_matches(&g), "gcm seal, kept key");
	/* A key one bit away from the kept one is another key. */
	memcpy(near, key[r % 2], sizeof(near));
	near[(size_t)r % sizeof(near)] ^= 0x01;
	check(j, crypto_gcm_open(near, iv2, aad, alen, got, len, tag, back) == KMS_EAUTH,
	      "gcm near key");
	check(j, gcm_opens(&g), "gcm open, kept key");
}

static void *reuse_thread(void *arg)
{
	reuse_job_t *j = arg;
	for (int r = 0; r < REUSE_ROUNDS; r++) {
		reuse_round(j, r);
		if (r % 5 == 4) {
			crypto_thread_wipe(); /* as kmsd after a request */
		}
		if (r < REUSE_DRAWS) {
			check(j, crypto_random(j->draws[r], 16) == KMS_EOK, "random");
		}
	}
	return NULL;
}

static int cmp16(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void
given_threads_alternating_algorithms_when_reusing_contexts_then_match_reference(void)
{
	static reuse_job_t jobs[REUSE_THREADS];
	pthread_t th[REUSE_THREADS];
	for (int i = 0; i < REUSE_THREADS; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		CU_ASSERT_EQUAL_FATAL(
		    pthread_create(&th[i], NULL, reuse_thread, &jobs[i]), 0);
	}
	/* The main thread takes part too (its contexts outlive the test). */
	reuse_job_t *mine = secmem_alloc(sizeof(*mine));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mine);
	mine->seed = 42;
	reuse_thread(mine);
	static uint8_t all[(REUSE_THREADS + 1) * REUSE_DRAWS][16];
	memcpy(all[REUSE_THREADS * REUSE_DRAWS], mine->draws, sizeof(mine->draws));
	for (int i = 0; i < REUSE_THREADS; i++) {
		CU_ASSERT_EQUAL(pthread_join(th[i], NULL), 0);
		CU_ASSERT_EQUAL(jobs[i].checks,
				REUSE_ROUNDS * REUSE_CHECKS + REUSE_DRAWS);
		CU_ASSERT_EQUAL(jobs[i].failures, 0);
		if (jobs[i].failures != 0) {
			printf("thread %d: %d failures, first: %s\n", i, jobs[i].failures,
			       jobs[i].first);
		}
		memcpy(all[i * REUSE_DRAWS], jobs[i].draws, sizeof(jobs[i].draws));
	}
	CU_ASSERT_EQUAL(mine->failures, 0);
	if (mine->failures != 0) {
		printf("main: %d failures, first: %s\n", mine->failures, mine->first);
	}
	secmem_free(mine, sizeof(*mine));
	/* Random draws from buffered bytes: no 16-byte draw seen twice. */
	size_t n = sizeof(all) / sizeof(all[0]);
	qsort(all, n, 16, cmp16);
	size_t dup = 0;
	for (size_t i = 1; i < n; i++) {
		dup += memcmp(all[i - 1], all[i], 16) == 0;
	}
	CU_ASSERT_EQUAL(dup, 0);
}

/* msg[0..len) whole, or cut into 3 pieces at random points (some empty). */
static size_t xs_split(uint64_t *x, const uint8_t *msg, size_t len, crypto_iov_t *iov)
{
	if (xs_next(x) % 4 == 0) {
		iov[0] = (crypto_iov_t){ msg, len };
		return 1;
	}
	size_t a = (size_t)(xs_next(x) % (len + 1));
	size_t b = a + (size_t)(xs_next(x) % (len - a + 1));
	iov[0] = (crypto_iov_t){ msg, a };
	iov[1] = (crypto_iov_t){ msg + a, b - a };
	iov[2] = (crypto_iov_t){ msg + b, len - b };
	return 3;
}

/* OpenSSL's own one-shot HMAC over the concatenated pieces: the reference. */
static int ossl_hmac(crypto_md_t md, const uint8_t *key, size_t kl,
		     const crypto_iov_t *iov, size_t n, uint8_t *out)
{
	uint8_t all[1024];
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (len + iov[i].len > sizeof(all)) {
			return 0;
		}
		if (iov[i].len > 0) {
			memcpy(all + len, iov[i].data, iov[i].len);
		}
		len += iov[i].len;
	}
	unsigned int hl = 0;
	return HMAC(md == CRYPTO_MD_SHA1 ? EVP_sha1() : EVP_sha256(), key, (int)kl, all,
		    len, out, &hl) != NULL &&
	       hl == crypto_md_len(md);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++) {
		acc |= b[i];
	}
	return acc == 0;
}

/*
 * Keyed HMAC objects and crypto_hmac() against OpenSSL's HMAC(): every key
 * length 1..300 (and the empty key: below, at and above the 64-byte block)
 * with both digests; each object serves several random messages split in
 * up to three pieces, interleaved with a second live object (same or other
 * digest, other key) and with one-shot crypto_hmac() calls on other keys.
 */
static void given_random_keys_when_hmac_keyed_then_equals_crypto_hmac(void)
{
	uint64_t x = 0x243f6a8885a308d3ULL;
	uint8_t key1[300], key2[300], key3[300], msg[400];
	uint8_t got[CRYPTO_MD_MAX], exp[CRYPTO_MD_MAX];
	size_t checked = 0, mismatched = 0, failed = 0;
	for (size_t kl = 0; kl <= 300; kl++) {
		for (int d = 0; d < 2; d++) {
			crypto_md_t md1 = d ? CRYPTO_MD_SHA256 : CRYPTO_MD_SHA1;
			crypto_md_t md2 =
			    xs_next(&x) & 1 ? CRYPTO_MD_SHA256 : CRYPTO_MD_SHA1;
			size_t kl2 = 1 + (size_t)(xs_next(&x) % 300);
			size_t kl3 = 1 + (size_t)(xs_next(&x) % 300);
			rand_fill(&x, key1, kl);
			rand_fill(&x, key2, kl2);
			rand_fill(&x, key3, kl3);
			crypto_hmac_key_t k1 = { 0 }, k2 = { 0 };
			failed += crypto_hmac_key_init(&k1, md1, kl > 0 ? key1 : NULL,
						       kl) != KMS_EOK;
			failed += crypto_hmac_key_init(&k2, md2, key2, kl2) != KMS_EOK;
			size_t rounds = 1 + (size_t)(xs_next(&x) % 6);
			for (size_t r = 0; r < rounds; r++) {
				crypto_iov_t iov[3];
				size_t len = (size_t)(xs_next(&x) % (sizeof(msg) + 1));
				rand_fill(&x, msg, len);
				size_t n = xs_split(&x, msg, len, iov);
				/* Object 1, then the reference for it. */
				memset(got, 0xEE, sizeof(got));
				failed += crypto_hmac_keyed(&k1, iov, n, got) != KMS_EOK;
				failed += ossl_hmac(md1, key1, kl, iov, n, exp) != 1;
				mismatched += memcmp(got, exp, crypto_md_len(md1)) != 0;
				failed += crypto_hmac(md1, kl > 0 ? key1 : NULL, kl, iov,
						      n, got) != KMS_EOK;
				mismatched += memcmp(got, exp, crypto_md_len(md1)) != 0;
				/* Nothing written past the digest. */
				mismatched += crypto_md_len(md1) < sizeof(got) &&
					      got[crypto_md_len(md1)] != 0xEE;
				/* An unrelated one-shot HMAC, then object 2. */
				failed +=
				    crypto_hmac(md2, key3, kl3, iov, n, exp) != KMS_EOK;
				failed += crypto_hmac_keyed(&k2, iov, n, got) != KMS_EOK;
				failed += ossl_hmac(md2, key2, kl2, iov, n, exp) != 1;
				mismatched += memcmp(got, exp, crypto_md_len(md2)) != 0;
				checked += 2;
			}
			/* Wipe in either order; the object is left zeroed. */
			if (xs_next(&x) & 1) {
				crypto_hmac_key_wipe(&k1);
				crypto_hmac_key_wipe(&k2);
			} else {
				crypto_hmac_key_wipe(&k2);
				crypto_hmac_key_wipe(&k1);
			}
			mismatched +=
			    !all_zero(&k1, sizeof(k1)) || !all_zero(&k2, sizeof(k2));
		}
	}
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(mismatched, 0);
	printf("\n  %zu keyed HMACs match OpenSSL HMAC()\n", checked);
}

/* Known answers through the keyed path too, for the same object reused. */
static void given_rfc_vectors_when_hmac_keyed_reused_then_known_answers(void)
{
	uint8_t key[131], msg[50], out[32], exp1[20], exp6[32];
	memset(key, 0xaa, sizeof(key));
	memset(msg, 0xdd, sizeof(msg));
	unit_hex("125d7342b9ac11cd91a39af48aa17b4f63f175d3", exp1, sizeof(exp1));
	unit_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", exp6,
		 sizeof(exp6));
	const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
	crypto_iov_t iov1[2] = { { msg, 20 }, { msg + 20, 30 } };
	crypto_iov_t iov6 = { (const uint8_t *)m6, strlen(m6) };
	crypto_hmac_key_t k1 = { 0 }, k6 = { 0 };
	CU_ASSERT_EQUAL_FATAL(crypto_hmac_key_init(&k1, CRYPTO_MD_SHA1, key, 20),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(crypto_hmac_key_init(&k6, CRYPTO_MD_SHA256, key, 131),
			      KMS_EOK);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(crypto_hmac_keyed(&k1, iov1, 2, out), KMS_EOK);
		CU_ASSERT_EQUAL(memcmp(out, exp1, 20), 0);
		CU_ASSERT_EQUAL(crypto_hmac_keyed(&k6, &iov6, 1, out), KMS_EOK);
		CU_ASSERT_EQUAL(memcmp(out, exp6, 32), 0);
	}
	crypto_hmac_key_wipe(&k1);
	crypto_hmac_key_wipe(&k6);
}

static void given_bad_use_when_hmac_keyed_then_errors_and_wipe_is_safe(void)
{
	uint8_t key[20] = { 1 }, out[32];
	crypto_iov_t iov = { key, sizeof(key) };
	crypto_hmac_key_t k;
	memset(&k, 0x5A, sizeof(k)); /* init empties the object even on failure */
	CU_ASSERT_EQUAL(crypto_hmac_key_init(&k, CRYPTO_MD_MD5, key, 20), KMS_EINVAL);
	CU_ASSERT_EQUAL(k.keyed, 0);
	CU_ASSERT_EQUAL(crypto_hmac_key_init(&k, (crypto_md_t)7, key, 20), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_hmac_key_init(&k, CRYPTO_MD_SHA1, NULL, 3), KMS_EINVAL);
	CU_ASSERT_EQUAL(k.keyed, 0);
	CU_ASSERT_EQUAL(crypto_hmac_key_init(NULL, CRYPTO_MD_SHA1, key, 20), KMS_EINVAL);
	/* An empty object refuses to MAC; wiping it (twice) is harmless. */
	CU_ASSERT_EQUAL(crypto_hmac_keyed(&k, &iov, 1, out), KMS_ECRYPTO);
	crypto_hmac_key_wipe(&k);
	crypto_hmac_key_wipe(&k);
	crypto_hmac_key_wipe(NULL);
	crypto_hmac_key_t z = { 0 };
	crypto_hmac_key_wipe(&z);
	/* Argument errors leave a keyed object usable. */
	CU_ASSERT_EQUAL_FATAL(crypto_hmac_key_init(&k, CRYPTO_MD_SHA1, key, 20), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_hmac_keyed(&k, &iov, 1, NULL), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_hmac_keyed(&k, NULL, 1, out), KMS_EINVAL);
	CU_ASSERT_EQUAL(crypto_hmac_keyed(NULL, &iov, 1, out), KMS_EINVAL);
	uint8_t exp[20];
	CU_ASSERT_EQUAL(crypto_hmac_keyed(&k, &iov, 1, out), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, key, 20, &iov, 1, exp), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 20), 0);
	/* No message at all: HMAC of the empty string. */
	CU_ASSERT_EQUAL(crypto_hmac_keyed(&k, NULL, 0, out), KMS_EOK);
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, key, 20, NULL, 0, exp), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 20), 0);
	crypto_hmac_key_wipe(&k);
	CU_ASSERT(all_zero(&k, sizeof(k))); /* no pad state left behind */
	CU_ASSERT_EQUAL(crypto_hmac_keyed(&k, &iov, 1, out), KMS_ECRYPTO);
}

/* A forked child must not hand out the bytes its parent has buffered. */
static void given_buffered_random_when_forking_then_child_draws_differ(void)
{
	uint8_t a[16], parent[16], child[16] = { 0 };
	int fds[2];
	CU_ASSERT_EQUAL(crypto_random(a, sizeof(a)), KMS_EOK); /* fills the buffer */
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		uint8_t c[16];
		int ok = crypto_random(c, sizeof(c)) == KMS_EOK &&
			 write(fds[1], c, sizeof(c)) == (ssize_t)sizeof(c);
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	CU_ASSERT_EQUAL(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
	close(fds[0]);
	int status = 0;
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(crypto_random(parent, sizeof(parent)), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(parent, child, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, child, 16), 0);
	/* Large draws bypass the buffer. */
	uint8_t big[300] = { 0 }, zero[300] = { 0 };
	CU_ASSERT_EQUAL(crypto_random(big, sizeof(big)), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(big, zero, sizeof(big)), 0);
}

/* The end of a unit of work (kmsd: of a request) drops the thread's cipher
 * contexts and its kept GCM key; the next calls start afresh and agree. */
static void given_used_contexts_when_thread_wipe_then_none_held_and_calls_agree(void)
{
	uint8_t key[32] = { 0x2b }, iv[16] = { 0x0c }, msg[40] = { 0x55 };
	uint8_t ctr[2][40], blk[2][16], kw[2][48], gcm[2][40], tag[2][16], back[40];
	crypto_thread_wipe();
	CU_ASSERT_EQUAL(crypto_thread_contexts(), 0);
	for (int round = 0; round < 2; round++) {
		/* Given one call with each cipher (four contexts kept), */
		CU_ASSERT_EQUAL(crypto_aes_cm(key, 16, iv, msg, ctr[round], 40), KMS_EOK);
		CU_ASSERT_EQUAL(crypto_aes_block(key, msg, blk[round]), KMS_EOK);
		CU_ASSERT_EQUAL(crypto_aes_kw_wrap(key, 16, NULL, msg, 40, kw[round]),
				KMS_EOK);
		CU_ASSERT_EQUAL(
		    crypto_gcm_seal(key, iv, msg, 8, msg, 40, gcm[round], tag[round]),
		    KMS_EOK);
		CU_ASSERT_EQUAL(crypto_thread_contexts(), 4);
		/* when wiped, none is left, */
		crypto_thread_wipe();
		CU_ASSERT_EQUAL(crypto_thread_contexts(), 0);
		crypto_thread_wipe(); /* twice is harmless */
	}
	/* and the fresh contexts give the same bytes as the first ones. */
	CU_ASSERT_EQUAL(memcmp(ctr[0], ctr[1], sizeof(ctr[0])), 0);
	CU_ASSERT_EQUAL(memcmp(blk[0], blk[1], sizeof(blk[0])), 0);
	CU_ASSERT_EQUAL(memcmp(kw[0], kw[1], sizeof(kw[0])), 0);
	CU_ASSERT_EQUAL(memcmp(gcm[0], gcm[1], sizeof(gcm[0])), 0);
	CU_ASSERT_EQUAL(memcmp(tag[0], tag[1], sizeof(tag[0])), 0);
	/* The GCM key is no longer kept: an open under it keys afresh. */
	CU_ASSERT_EQUAL(crypto_gcm_open(key, iv, msg, 8, gcm[0], 40, tag[0], back),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(back, msg, sizeof(msg)), 0);
	uint8_t r[16];
	CU_ASSERT_EQUAL(crypto_random(r, sizeof(r)), KMS_EOK);
	crypto_thread_wipe();
}

/* A thread that never used crypto: the wipe and the count are no-ops. */
static void *fresh_thread_wipe(void *arg)
{
	crypto_thread_wipe();
	*(size_t *)arg = crypto_thread_contexts();
	return NULL;
}

static void given_fresh_thread_when_thread_wipe_then_nothing_held(void)
{
	pthread_t th;
	size_t n = 99;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, fresh_thread_wipe, &n), 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(n, 0);
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
		UNIT_TEST(given_label_and_id_when_kw_iv_then_sha256_prefix),
		UNIT_TEST(given_tampered_wrap_when_unwrapping_then_eauth_and_wiped),
		UNIT_TEST(
		    given_gcm_spec_case14_when_sealing_zero_block_then_known_answer),
		UNIT_TEST(given_tampered_gcm_when_opening_then_eauth_and_wiped),
		UNIT_TEST(given_rng_when_drawing_twice_then_outputs_differ),
		UNIT_TEST(
		    given_threads_alternating_algorithms_when_reusing_contexts_then_match_reference),
		UNIT_TEST(given_random_keys_when_hmac_keyed_then_equals_crypto_hmac),
		UNIT_TEST(given_rfc_vectors_when_hmac_keyed_reused_then_known_answers),
		UNIT_TEST(given_bad_use_when_hmac_keyed_then_errors_and_wipe_is_safe),
		UNIT_TEST(given_buffered_random_when_forking_then_child_draws_differ),
		UNIT_TEST(
		    given_used_contexts_when_thread_wipe_then_none_held_and_calls_agree),
		UNIT_TEST(given_fresh_thread_when_thread_wipe_then_nothing_held),
		UNIT_TEST(given_selftest_when_run_then_passes),
		UNIT_TEST(given_any_output_byte_flipped_when_selftest_then_fails),
		UNIT_TEST(given_secrets_when_comparing_and_wiping_then_correct),
		UNIT_END,
	};
	return unit_run("crypto", tests);
}
