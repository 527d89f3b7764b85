/*
 * KEMAC encryption: AES-CM-128/256 (RFC 3830 4.2.3) and AES-KW-128
 * (RFC 3394 with the salt key as IV), plus the seal/open helpers that
 * derive the keys (RFC 6043 5.1.2) and build or parse the key chain.
 */
#include "mikey/kemac.h"

#include <stdbool.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"
#include "mikey/kdf.h"

/* KEMAC content we encrypt or decrypt: a message never holds more. */
#define KEMAC_DATA_MAX MIKEY_MSG_MAX
/* A built key chain: MIKEY_KEYS_MAX sub-payloads at their caps. */
#define KEMAC_PLAIN_MAX                                                                  \
	(MIKEY_KEYS_MAX * (4 + MIKEY_KEY_MAX + 2 + MIKEY_SALT_MAX + 1 + MIKEY_SPI_MAX +  \
			   2 + 2 * MIKEY_KV_MAX))
#define KW_BLOCK 8
#define KW_MIN 16 /* RFC 3394: at least two 64-bit blocks */
#define CM_SALT_LEN 14
#define ENCR_KEY_MAX 32

/* AES-KW input length: zero-padded to a multiple of 8, at least 16. */
static size_t kw_padded_len(size_t in_len)
{
	size_t n = (in_len + KW_BLOCK - 1) / KW_BLOCK * KW_BLOCK;
	return n < KW_MIN ? KW_MIN : n;
}

size_t mikey_kemac_encr_len(uint8_t encr_alg, size_t in_len)
{
	if (in_len > KEMAC_DATA_MAX) {
		return 0;
	}
	switch (encr_alg) {
	case MIKEY_ENCR_NULL:
	case MIKEY_ENCR_AES_CM_128:
	case MIKEY_ENCR_AES_CM_256:
		return in_len;
	case MIKEY_ENCR_AES_KW_128:
		return kw_padded_len(in_len) + KW_BLOCK;
	default:
		return 0;
	}
}

/* IV = (salt_key XOR (0x0000 || CSB ID || T)) || 0x0000 */
static void cm_iv(const uint8_t *salt_key, uint32_t csb_id, uint64_t t64,
		  uint8_t iv[CRYPTO_AES_BLOCK])
{
	wire_wr_t w;
	wire_wr_init(&w, iv, CRYPTO_AES_BLOCK);
	wire_wr_u16(&w, 0);
	wire_wr_u32(&w, csb_id);
	wire_wr_u64(&w, t64);
	wire_wr_u16(&w, 0); /* block counter */
	for (size_t i = 0; i < CM_SALT_LEN; i++) {
		iv[i] ^= salt_key[i];
	}
}

static bool alg_known(uint8_t encr_alg)
{
	return encr_alg == MIKEY_ENCR_NULL || mikey_encr_key_len(encr_alg) > 0;
}

/* Checks shared by encrypt and decrypt. */
static int args_check(uint8_t encr_alg, const uint8_t *encr_key, const uint8_t *salt_key,
		      const uint8_t *in, size_t in_len, const uint8_t *out,
		      const size_t *out_len)
{
	if (!alg_known(encr_alg)) {
		return KMS_EEA;
	}
	if ((in == NULL && in_len > 0) || out == NULL || out_len == NULL ||
	    (encr_alg != MIKEY_ENCR_NULL && (encr_key == NULL || salt_key == NULL))) {
		return KMS_EINVAL;
	}
	return in_len > KEMAC_DATA_MAX ? KMS_ERANGE : KMS_EOK;
}

int mikey_kemac_encrypt(uint8_t encr_alg, const uint8_t *encr_key,
			const uint8_t *salt_key, uint32_t csb_id, uint64_t t64,
			const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			size_t *out_len)
{
	uint8_t iv[CRYPTO_AES_BLOCK] = { 0 };
	uint8_t *padded = NULL;
	size_t padded_len = 0;
	size_t need = mikey_kemac_encr_len(encr_alg, in_len);
	int ret = args_check(encr_alg, encr_key, salt_key, in, in_len, out, out_len);

	if (ret != KMS_EOK) {
		goto cleanup;
	}
	if (need > out_cap) {
		ret = KMS_ESPACE;
		goto cleanup;
	}
	switch (encr_alg) {
	case MIKEY_ENCR_NULL:
		if (in_len > 0) {
			memmove(out, in, in_len);
		}
		break;
	case MIKEY_ENCR_AES_CM_128:
	case MIKEY_ENCR_AES_CM_256:
		cm_iv(salt_key, csb_id, t64, iv);
		ret = crypto_aes_cm(encr_key, mikey_encr_key_len(encr_alg), iv, in, out,
				    in_len);
		break;
	case MIKEY_ENCR_AES_KW_128:
		padded_len = kw_padded_len(in_len);
		padded = secmem_alloc(padded_len); /* zeroed: the padding */
		if (padded == NULL) {
			ret = KMS_ENOMEM;
			goto cleanup;
		}
		if (in_len > 0) {
			memcpy(padded, in, in_len);
		}
		ret = crypto_aes_kw_wrap(encr_key, mikey_encr_key_len(encr_alg), salt_key,
					 padded, padded_len, out);
		break;
	default:
		ret = KMS_EINTERNAL;
		break;
	}
	if (ret == KMS_EOK) {
		*out_len = need;
	}
cleanup:
	secmem_wipe(iv, sizeof(iv));
	secmem_free(padded, padded_len);
	return ret;
}

int mikey_kemac_decrypt(uint8_t encr_alg, const uint8_t *encr_key,
			const uint8_t *salt_key, uint32_t csb_id, uint64_t t64,
			const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			size_t *out_len)
{
	uint8_t iv[CRYPTO_AES_BLOCK] = { 0 };
	size_t n = in_len;
	int ret = args_check(encr_alg, encr_key, salt_key, in, in_len, out, out_len);

	if (ret != KMS_EOK) {
		goto cleanup;
	}
	if (encr_alg == MIKEY_ENCR_AES_KW_128) {
		/* Network input: the wrapped length must be a padded length + 8. */
		if (in_len % KW_BLOCK != 0 || in_len < KW_MIN + KW_BLOCK) {
			ret = KMS_EMALFORMED;
			goto cleanup;
		}
		n = in_len - KW_BLOCK;
	}
	if (n > out_cap) {
		ret = KMS_ESPACE;
		goto cleanup;
	}
	switch (encr_alg) {
	case MIKEY_ENCR_NULL:
		if (in_len > 0) {
			memmove(out, in, in_len);
		}
		break;
	case MIKEY_ENCR_AES_CM_128:
	case MIKEY_ENCR_AES_CM_256:
		cm_iv(salt_key, csb_id, t64, iv);
		ret = crypto_aes_cm(encr_key, mikey_encr_key_len(encr_alg), iv, in, out,
				    in_len);
		break;
	case MIKEY_ENCR_AES_KW_128:
		/* KMS_EAUTH on a bad check value; out is wiped then. */
		ret = crypto_aes_kw_unwrap(encr_key, mikey_encr_key_len(encr_alg),
					   salt_key, in, in_len, out);
		break;
	default:
		ret = KMS_EINTERNAL;
		break;
	}
	if (ret == KMS_EOK) {
		*out_len = n;
	}
cleanup:
	secmem_wipe(iv, sizeof(iv));
	return ret;
}

/* encr_key and salt_key for encr_alg from inkey (RFC 6043 5.1.2 label). */
static int derive_keys(mikey_prf_cache_t *pc, uint8_t prf, uint8_t encr_alg,
		       const uint8_t *inkey, size_t inkey_len, uint32_t csb_id,
		       uint8_t dir, const mikey_bytes_t *randri,
		       const mikey_bytes_t *randrr, uint8_t encr_key[ENCR_KEY_MAX],
		       uint8_t salt_key[CM_SALT_LEN])
{
	int ret =
	    mikey_kdf_msg_key(pc, prf, inkey, inkey_len, MIKEY_DK_ENCR, csb_id, dir,
			      randri, randrr, encr_key, mikey_encr_key_len(encr_alg));
	if (ret == KMS_EOK) {
		ret = mikey_kdf_msg_key(pc, prf, inkey, inkey_len, MIKEY_DK_SALT, csb_id,
					dir, randri, randrr, salt_key,
					mikey_salt_key_len(encr_alg));
	}
	return ret;
}

/*
 * Parse the decrypted chain.  After AES-KW it may be followed by up to 7
 * zero bytes of padding that mikey_keys_parse() would call trailing data.
 * The chain is self-delimiting (it ends at Next payload 0), so exactly one
 * prefix length parses with no bytes left over: try the full length, then
 * drop one trailing byte at a time, only while the dropped bytes are zero
 * and fewer than 8.  Any other bytes after the chain stay an error.
 */
static int keys_parse_padded(const uint8_t *p, size_t len, bool padded, mikey_keys_t *out)
{
	int first = mikey_keys_parse(p, len, out);
	if (first != KMS_EMALFORMED || !padded) {
		return first;
	}
	for (size_t pad = 1; pad < KW_BLOCK && pad < len && p[len - pad] == 0; pad++) {
		if (mikey_keys_parse(p, len - pad, out) == KMS_EOK) {
			return KMS_EOK;
		}
	}
	return first;
}

int mikey_kemac_seal(mikey_prf_cache_t *pc, uint8_t prf, uint8_t encr_alg,
		     const uint8_t *inkey, size_t inkey_len, uint32_t csb_id, uint8_t dir,
		     const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		     uint64_t t64, const mikey_keys_t *keys, uint8_t *out, size_t out_cap,
		     size_t *out_len)
{
	uint8_t encr_key[ENCR_KEY_MAX] = { 0 };
	uint8_t salt_key[CM_SALT_LEN] = { 0 };
	uint8_t plain[KEMAC_PLAIN_MAX]; /* written by mikey_keys_build() */
	size_t plain_len = 0;
	size_t wipe_len = 0; /* bytes of plain that may hold keys */
	size_t n = 0;
	int ret = KMS_EOK;

	/* Keys never travel in a NULL-encrypted KEMAC. */
	if (mikey_encr_key_len(encr_alg) == 0) {
		ret = KMS_EEA;
		goto cleanup;
	}
	if (keys == NULL || out == NULL || out_len == NULL) {
		ret = KMS_EINVAL;
		goto cleanup;
	}
	ret = mikey_keys_build(keys, plain, sizeof(plain), &plain_len);
	/* A failed build may have written anywhere in plain. */
	wipe_len = ret == KMS_EOK ? plain_len : sizeof(plain);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = derive_keys(pc, prf, encr_alg, inkey, inkey_len, csb_id, dir, randri,
			  randrr, encr_key, salt_key);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = mikey_kemac_encrypt(encr_alg, encr_key, salt_key, csb_id, t64, plain,
				  plain_len, out, out_cap, &n);
	if (ret == KMS_EOK) {
		*out_len = n;
	}
cleanup:
	secmem_wipe(encr_key, sizeof(encr_key));
	secmem_wipe(salt_key, sizeof(salt_key));
	secmem_wipe(plain, wipe_len);
	return ret;
}

/*
 * *plain_len gets every byte written to plain (the chain plus any AES-KW
 * zero padding), so that wiping plain[0..*plain_len) wipes it all.
 */
int mikey_kemac_open(mikey_prf_cache_t *pc, uint8_t prf, const mikey_kemac_t *kemac,
		     const uint8_t *inkey, size_t inkey_len, uint32_t csb_id, uint8_t dir,
		     const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		     uint64_t t64, uint8_t *plain, size_t plain_cap, size_t *plain_len,
		     mikey_keys_t *keys)
{
	uint8_t encr_key[ENCR_KEY_MAX] = { 0 };
	uint8_t salt_key[CM_SALT_LEN] = { 0 };
	mikey_keys_t parsed;
	size_t n = 0;
	int ret = KMS_EOK;

	if (kemac == NULL || plain == NULL || plain_len == NULL || keys == NULL) {
		ret = KMS_EINVAL;
		goto cleanup;
	}
	if (mikey_encr_key_len(kemac->encr_alg) == 0) {
		ret = KMS_EEA;
		goto cleanup;
	}
	ret = derive_keys(pc, prf, kemac->encr_alg, inkey, inkey_len, csb_id, dir, randri,
			  randrr, encr_key, salt_key);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = mikey_kemac_decrypt(kemac->encr_alg, encr_key, salt_key, csb_id, t64,
				  kemac->encr_data.data, kemac->encr_data.len, plain,
				  plain_cap, &n);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = keys_parse_padded(plain, n, kemac->encr_alg == MIKEY_ENCR_AES_KW_128,
				&parsed);
	if (ret != KMS_EOK) {
		secmem_wipe(plain, n);
		goto cleanup;
	}
	*plain_len = n;
	*keys = parsed;
cleanup:
	secmem_wipe(encr_key, sizeof(encr_key));
	secmem_wipe(salt_key, sizeof(salt_key));
	return ret;
}
