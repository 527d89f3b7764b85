/*
 * MIKEY PRF: checked against an independent oracle, OpenSSL's TLS1-PRF
 * KDF, which with a single digest computes P_hash(secret, seed) -- the
 * same P function (A_0 = seed, blocks HMAC(s, A_i || seed)).  A single
 * in-key chunk (<= 32 bytes) is then exactly P(inkey, label); longer
 * in-keys are the XOR of P over the 256-bit chunks.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "mikey/payload.h"
#include "mikey/prf.h"
#include "tests/unit/unit.h"

/* P_hash(key, label) truncated to out_len, by OpenSSL; 1 on success. */
static int oracle_p(uint8_t prf, const uint8_t *key, size_t key_len, const uint8_t *label,
		    size_t label_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	char *md = prf == MIKEY_PRF_MIKEY1 ? "SHA1" : "SHA256";
	OSSL_PARAM params[4] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, md, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)key,
						  key_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label,
						  label_len),
		OSSL_PARAM_construct_end(),
	};
	int ok = ctx != NULL && EVP_KDF_derive(ctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + 7 * i + (i >> 3));
	}
}

static const uint8_t prfs[2] = { MIKEY_PRF_MIKEY1, MIKEY_PRF_HMAC_SHA256 };

static void given_single_chunk_key_when_prf_then_equals_openssl_p_hash(void)
{
	static const size_t key_lens[] = { 1, 16, 20, 31, 32 };
	static const size_t label_lens[] = { 1, 10, 20, 32, 41, 77, 200 };
	uint8_t key[32], label[200], out[MIKEY_PRF_OUT_MAX], exp[MIKEY_PRF_OUT_MAX];
	size_t checked = 0, mismatched = 0;
	for (size_t p = 0; p < 2; p++) {
		for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
			for (size_t l = 0; l < sizeof(label_lens) / sizeof(label_lens[0]);
			     l++) {
				fill(key, key_lens[k], (uint8_t)(0x10 * k + 1));
				fill(label, label_lens[l], (uint8_t)(0x31 + l));
				/* One oracle run; shorter outputs are its prefixes. */
				CU_ASSERT_FATAL(oracle_p(prfs[p], key, key_lens[k], label,
							 label_lens[l], exp, 200));
				for (size_t n = 1; n <= 200; n++) {
					memset(out, 0xEE, sizeof(out));
					int r = mikey_prf(NULL, prfs[p], key, key_lens[k],
							  label, label_lens[l], out, n);
					CU_ASSERT_EQUAL(r, KMS_EOK);
					mismatched += memcmp(out, exp, n) != 0;
					/* Nothing past out_len is written. */
					mismatched += out[n] != 0xEE;
					checked++;
				}
			}
		}
	}
	CU_ASSERT_EQUAL(mismatched, 0);
	printf("\n  %zu PRF outputs match OpenSSL TLS1-PRF P_hash\n", checked);
}

static void given_full_output_and_long_label_when_prf_then_equals_oracle(void)
{
	uint8_t key[32], label[MIKEY_LABEL_MAX], out[MIKEY_PRF_OUT_MAX],
	    exp[MIKEY_PRF_OUT_MAX];
	fill(key, sizeof(key), 0x5A);
	fill(label, sizeof(label), 0x03);
	for (size_t p = 0; p < 2; p++) {
		/* Independent runs at each length, including the caps. */
		static const size_t outs[] = { 19, 20, 21, 31, 32, 33, 64, 255, 256 };
		for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
			CU_ASSERT_FATAL(oracle_p(prfs[p], key, 32, label, MIKEY_LABEL_MAX,
						 exp, outs[i]));
			CU_ASSERT_EQUAL(mikey_prf(NULL, prfs[p], key, 32, label,
						  MIKEY_LABEL_MAX, out, outs[i]),
					KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(out, exp, outs[i]), 0);
		}
	}
}

static void given_multi_chunk_key_when_prf_then_xor_of_chunk_outputs(void)
{
	static const size_t key_lens[] = { 33, 48, 63, 64, 65, 96, 100 };
	uint8_t key[100], label[14], out[100], exp[100], part[100];
	fill(label, sizeof(label), 0x77);
	for (size_t p = 0; p < 2; p++) {
		for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
			size_t klen = key_lens[k];
			fill(key, klen, (uint8_t)(0x21 + k));
			memset(exp, 0, sizeof(exp));
			for (size_t off = 0; off < klen; off += 32) {
				size_t clen = klen - off < 32 ? klen - off : 32;
				CU_ASSERT_FATAL(oracle_p(prfs[p], key + off, clen, label,
							 sizeof(label), part,
							 sizeof(part)));
				for (size_t i = 0; i < sizeof(exp); i++) {
					exp[i] ^= part[i];
				}
			}
			CU_ASSERT_EQUAL(mikey_prf(NULL, prfs[p], key, klen, label,
						  sizeof(label), out, sizeof(out)),
					KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
		}
	}
}

static void given_two_equal_chunks_when_prf_then_output_is_zero(void)
{
	/* P(k) XOR P(k) = 0: a sanity check of the chunk XOR on its own. */
	uint8_t key[64], out[40], zero[40] = { 0 };
	fill(key, 32, 0x42);
	memcpy(key + 32, key, 32);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_HMAC_SHA256, key, 64,
				  (const uint8_t *)"L", 1, out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, zero, sizeof(out)), 0);
}

static void given_same_inputs_when_prf_variants_differ_then_outputs_differ(void)
{
	uint8_t key[16], a[32], b[32];
	fill(key, sizeof(key), 9);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key, 16, key, 16, a, 32),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_HMAC_SHA256, key, 16, key, 16, b, 32),
			KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
}

static void given_empty_label_when_prf_then_blocks_are_hmac_chain(void)
{
	/* OpenSSL's TLS1-PRF refuses an empty seed, so build P by hand from
	 * the (KAT-tested) HMAC: A_1 = HMAC(k, ""), block_i = HMAC(k, A_i). */
	uint8_t key[20], out[50], exp[60], a[20];
	fill(key, sizeof(key), 1);
	crypto_iov_t none = { NULL, 0 };
	CU_ASSERT_EQUAL_FATAL(crypto_hmac(CRYPTO_MD_SHA1, key, 20, &none, 1, a), KMS_EOK);
	for (int i = 0; i < 3; i++) {
		crypto_iov_t ai = { a, 20 };
		CU_ASSERT_EQUAL(
		    crypto_hmac(CRYPTO_MD_SHA1, key, 20, &ai, 1, exp + 20 * i), KMS_EOK);
		CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, key, 20, &ai, 1, a), KMS_EOK);
	}
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key, 20, NULL, 0, out, 50),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 50), 0);
}

/*
 * Random in-keys of 1..300 bytes (up to 10 chunks, each chained through one
 * keyed HMAC), random labels and output lengths: the XOR of OpenSSL's
 * P_hash over the chunks.  A keyed HMAC object of the caller stays live
 * throughout, competing for the thread's HMAC context.
 */
static void given_random_inputs_when_prf_then_equals_oracle_chunk_xor(void)
{
	uint64_t x = 0x13198a2e03707344ULL;
	uint8_t key[300], label[200], out[MIKEY_PRF_OUT_MAX + 1], exp[MIKEY_PRF_OUT_MAX],
	    part[MIKEY_PRF_OUT_MAX], mac[2][CRYPTO_MD_MAX];
	const uint8_t pk[16] = { 0x0b };
	crypto_iov_t piov = { pk, sizeof(pk) };
	size_t mismatched = 0, failed = 0;
	mikey_prf_cache_t pc = { 0 };
	for (int i = 0; i < 400; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint8_t prf = prfs[i % 2];
		size_t klen = 1 + (size_t)(x % sizeof(key));
		size_t llen = 1 + (size_t)((x >> 16) % sizeof(label));
		size_t olen = 1 + (size_t)((x >> 32) % MIKEY_PRF_OUT_MAX);
		fill(key, klen, (uint8_t)(x >> 40));
		fill(label, llen, (uint8_t)(x >> 48));
		crypto_md_t kmd = i % 3 ? CRYPTO_MD_SHA256 : CRYPTO_MD_SHA1;
		crypto_hmac_key_t k = { 0 };
		failed += crypto_hmac_key_init(&k, kmd, pk, sizeof(pk)) != KMS_EOK;
		failed += crypto_hmac_keyed(&k, &piov, 1, mac[0]) != KMS_EOK;
		memset(exp, 0, sizeof(exp));
		for (size_t off = 0; off < klen; off += 32) {
			size_t clen = klen - off < 32 ? klen - off : 32;
			failed +=
			    !oracle_p(prf, key + off, clen, label, llen, part, olen);
			for (size_t b = 0; b < olen; b++) {
				exp[b] ^= part[b];
			}
		}
		memset(out, 0xEE, sizeof(out));
		mikey_prf_cache_t *c = i % 4 < 2 ? &pc : NULL; /* with and without */
		failed += mikey_prf(c, prf, key, klen, label, llen, out, olen) != KMS_EOK;
		mismatched += memcmp(out, exp, olen) != 0 || out[olen] != 0xEE;
		/* The caller's object is unaffected. */
		failed += crypto_hmac_keyed(&k, &piov, 1, mac[1]) != KMS_EOK;
		mismatched += memcmp(mac[0], mac[1], crypto_md_len(kmd)) != 0;
		crypto_hmac_key_wipe(&k);
	}
	mikey_prf_cache_wipe(&pc);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(mismatched, 0);
}

/*
 * The kept key: runs of calls on one in-key interleaved with in-keys that
 * differ in one bit, are a prefix of it, or are the same bytes under the
 * other PRF; every output must be the oracle's, whatever the cache kept.
 */
static void given_keys_that_nearly_repeat_when_prf_then_kept_key_never_misused(void)
{
	uint64_t x = 0x452821e638d01377ULL;
	uint8_t base[32], key[32], label[48], out[40], exp[40];
	size_t mismatched = 0, failed = 0, calls = 0;
	fill(base, sizeof(base), 0x5c);
	fill(label, sizeof(label), 0x21);
	mikey_prf_cache_t pc = { 0 };
	for (int i = 0; i < 3000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint8_t prf = prfs[(x >> 3) % 4 == 0]; /* mostly SHA-1, as kmsd */
		size_t klen = 32;
		memcpy(key, base, sizeof(key));
		switch ((x >> 8) % 4) {
		case 0: /* the same key again */
			break;
		case 1: /* one bit away */
			key[(x >> 16) % 32] ^= (uint8_t)(1u << ((x >> 24) % 8));
			break;
		case 2: /* a prefix of it */
			klen = 1 + (size_t)((x >> 16) % 31);
			break;
		default: /* a new base key from now on */
			fill(base, sizeof(base), (uint8_t)(x >> 32));
			memcpy(key, base, sizeof(key));
			break;
		}
		size_t llen = 1 + (size_t)((x >> 40) % sizeof(label));
		size_t olen = 1 + (size_t)((x >> 48) % sizeof(out));
		failed +=
		    mikey_prf(&pc, prf, key, klen, label, llen, out, olen) != KMS_EOK;
		failed += !oracle_p(prf, key, klen, label, llen, exp, olen);
		mismatched += memcmp(out, exp, olen) != 0;
		calls++;
		if ((x >> 56) % 16 == 0) {
			mikey_prf_cache_wipe(&pc); /* as kmsd does after each request */
		}
	}
	mikey_prf_cache_wipe(&pc);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(mismatched, 0);
	printf("\n  %zu PRF calls on near-repeating keys match the oracle\n", calls);
}

/* --- the caller's PRF cache --------------------------------------------------- */

static const uint8_t cache_label[] = "a label of the right sort";

/* P(key) through cache c (1 on success). */
static int prf_with(mikey_prf_cache_t *c, uint8_t prf, const uint8_t *key, size_t klen,
		    uint8_t out[48])
{
	return mikey_prf(c, prf, key, klen, cache_label, sizeof(cache_label) - 1, out,
			 48) == KMS_EOK;
}

/* Spoil the cache's HMAC state: an output made from it is then wrong, so a
 * wrong output shows that the cache was used (a hit), a right one that the
 * key was keyed afresh (a miss). */
static void cache_spoil(mikey_prf_cache_t *c)
{
	c->k.pad[0][0] ^= 1;
	c->k.pad[1][0] ^= 1;
}

static int all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		if (b[i] != 0) {
			return 0;
		}
	}
	return 1;
}

static void given_cache_when_same_key_again_then_hit_with_uncached_output(void)
{
	static const size_t klens[] = { 1, 16, 20, 32, 33, 64 };
	uint8_t key[64], plain[48], out[48];
	for (size_t p = 0; p < 2; p++) {
		for (size_t k = 0; k < sizeof(klens) / sizeof(klens[0]); k++) {
			mikey_prf_cache_t pc = { 0 };
			fill(key, klens[k], (uint8_t)(0x31 + k));
			CU_ASSERT_FATAL(prf_with(NULL, prfs[p], key, klens[k], plain));
			/* Given the key keyed once through the cache, */
			CU_ASSERT_FATAL(prf_with(&pc, prfs[p], key, klens[k], out));
			CU_ASSERT_EQUAL(memcmp(out, plain, 48), 0);
			CU_ASSERT(pc.k.keyed);
			/* when the same key comes again, the output is the same, */
			CU_ASSERT_FATAL(prf_with(&pc, prfs[p], key, klens[k], out));
			CU_ASSERT_EQUAL(memcmp(out, plain, 48), 0);
			/* and it came from the kept state (spoilt: wrong output),
			 * unless the key has two chunks: only the last chunk is
			 * kept, so every chunk is keyed afresh (right output). */
			cache_spoil(&pc);
			CU_ASSERT_FATAL(prf_with(&pc, prfs[p], key, klens[k], out));
			CU_ASSERT_EQUAL(memcmp(out, plain, 48) != 0,
					klens[k] <= MIKEY_PRF_CHUNK);
			mikey_prf_cache_wipe(&pc);
		}
	}
}

static void given_cached_key_when_other_key_of_same_length_then_miss(void)
{
	uint8_t a[32], b[32], plain[48], out[48];
	fill(a, sizeof(a), 0x77);
	for (size_t i = 0; i < sizeof(a); i++) {
		/* Given A cached (state spoilt), B differs from A in byte i only: */
		mikey_prf_cache_t pc = { 0 };
		memcpy(b, a, sizeof(b));
		b[i] ^= 0x80;
		CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_MIKEY1, a, 32, out));
		cache_spoil(&pc);
		/* B is keyed afresh: its output is the uncached one. */
		CU_ASSERT_FATAL(prf_with(NULL, MIKEY_PRF_MIKEY1, b, 32, plain));
		CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_MIKEY1, b, 32, out));
		CU_ASSERT_EQUAL(memcmp(out, plain, 48), 0);
		CU_ASSERT_EQUAL(memcmp(pc.s, b, 32), 0); /* B is kept now */
		mikey_prf_cache_wipe(&pc);
	}
	/* The same bytes under the other PRF, and a prefix of A, miss too. */
	mikey_prf_cache_t pc = { 0 };
	CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_MIKEY1, a, 32, out));
	cache_spoil(&pc);
	CU_ASSERT_FATAL(prf_with(NULL, MIKEY_PRF_HMAC_SHA256, a, 32, plain));
	CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_HMAC_SHA256, a, 32, out));
	CU_ASSERT_EQUAL(memcmp(out, plain, 48), 0);
	cache_spoil(&pc);
	CU_ASSERT_FATAL(prf_with(NULL, MIKEY_PRF_HMAC_SHA256, a, 31, plain));
	CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_HMAC_SHA256, a, 31, out));
	CU_ASSERT_EQUAL(memcmp(out, plain, 48), 0);
	mikey_prf_cache_wipe(&pc);
}

static void given_wiped_cache_when_prf_then_all_zero_and_key_keyed_again(void)
{
	uint8_t a[20], plain[48], out[48];
	mikey_prf_cache_t pc;
	memset(&pc, 0, sizeof(pc));
	fill(a, sizeof(a), 0x19);
	CU_ASSERT_FATAL(prf_with(NULL, MIKEY_PRF_MIKEY1, a, sizeof(a), plain));
	CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_MIKEY1, a, sizeof(a), out));
	CU_ASSERT_EQUAL(all_zero(&pc, sizeof(pc)), 0);
	cache_spoil(&pc);
	/* When wiped, nothing of the key is left in the object, */
	mikey_prf_cache_wipe(&pc);
	CU_ASSERT_EQUAL(all_zero(&pc, sizeof(pc)), 1);
	CU_ASSERT_EQUAL(pc.k.keyed, 0);
	/* and the same key is keyed again (the spoilt state is gone). */
	CU_ASSERT_FATAL(prf_with(&pc, MIKEY_PRF_MIKEY1, a, sizeof(a), out));
	CU_ASSERT_EQUAL(memcmp(out, plain, 48), 0);
	mikey_prf_cache_wipe(&pc);
	mikey_prf_cache_wipe(NULL); /* a no-op */
}

static void given_null_cache_when_prf_then_nothing_kept_and_oracle_output(void)
{
	uint8_t a[32], out[48], exp[48];
	fill(a, sizeof(a), 0x4d);
	for (size_t p = 0; p < 2; p++) {
		for (int i = 0; i < 3; i++) { /* each call keys afresh */
			CU_ASSERT_FATAL(prf_with(NULL, prfs[p], a, sizeof(a), out));
			CU_ASSERT_FATAL(oracle_p(prfs[p], a, sizeof(a), cache_label,
						 sizeof(cache_label) - 1, exp, 48));
			CU_ASSERT_EQUAL(memcmp(out, exp, 48), 0);
		}
	}
}

static void given_bad_arguments_when_prf_then_error_and_output_untouched(void)
{
	uint8_t key[16] = { 1 }, label[MIKEY_LABEL_MAX + 1] = { 2 };
	uint8_t out[MIKEY_PRF_OUT_MAX + 1], keep[sizeof(out)];
	memset(out, 0xCC, sizeof(out));
	memcpy(keep, out, sizeof(out));
	CU_ASSERT_EQUAL(mikey_prf(NULL, 2, key, 16, label, 4, out, 16), KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_prf(NULL, 0xFF, key, 16, label, 4, out, 16), KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key, 0, label, 4, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, NULL, 16, label, 4, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key, 16, NULL, 4, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key, 16, label, 4, out, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key, 16, label, 4, NULL, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_HMAC_SHA256, key, 16, label, 4, out,
				  MIKEY_PRF_OUT_MAX + 1),
			KMS_ERANGE);
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_HMAC_SHA256, key, 16, label,
				  MIKEY_LABEL_MAX + 1, out, 16),
			KMS_ERANGE);
	CU_ASSERT_EQUAL(memcmp(out, keep, sizeof(out)), 0);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_single_chunk_key_when_prf_then_equals_openssl_p_hash),
		UNIT_TEST(given_full_output_and_long_label_when_prf_then_equals_oracle),
		UNIT_TEST(given_multi_chunk_key_when_prf_then_xor_of_chunk_outputs),
		UNIT_TEST(given_two_equal_chunks_when_prf_then_output_is_zero),
		UNIT_TEST(given_same_inputs_when_prf_variants_differ_then_outputs_differ),
		UNIT_TEST(given_empty_label_when_prf_then_blocks_are_hmac_chain),
		UNIT_TEST(given_random_inputs_when_prf_then_equals_oracle_chunk_xor),
		UNIT_TEST(
		    given_keys_that_nearly_repeat_when_prf_then_kept_key_never_misused),
		UNIT_TEST(given_cache_when_same_key_again_then_hit_with_uncached_output),
		UNIT_TEST(given_cached_key_when_other_key_of_same_length_then_miss),
		UNIT_TEST(given_wiped_cache_when_prf_then_all_zero_and_key_keyed_again),
		UNIT_TEST(given_null_cache_when_prf_then_nothing_kept_and_oracle_output),
		UNIT_TEST(given_bad_arguments_when_prf_then_error_and_output_untouched),
		UNIT_END,
	};
	return unit_run("prf", tests);
}
