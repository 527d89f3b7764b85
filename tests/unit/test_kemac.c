/*
 * KEMAC encryption: the AES-CM IV layout against the RFC 3711 B.2
 * keystream, AES-KW against RFC 3394 4.1, round trips, integrity
 * failures, and seal/open of a key chain (MPK + TGK with SPIs).
 */
#include <stdbool.h>
#include <string.h>

#include "common/errcode.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/payload.h"
#include "tests/unit/unit.h"

#define B2_KEY "2b7e151628aed2a6abf7158809cf4f3c"
#define B2_STREAM                                                                        \
	"e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab"               \
	"41e95b3bb0a2e8dd477901e4fca894c0"

static void given_b2_salt_and_zero_csb_t_when_aes_cm_then_rfc3711_keystream(void)
{
	/* salt F0..FD, CSB ID 0, T 0: IV = F0F1...FD0000, as in RFC 3711 B.2. */
	uint8_t key[16], salt[14], zero[48] = { 0 }, out[48], exp[48];
	size_t n = 0;
	unit_hex(B2_KEY, key, sizeof(key));
	unit_hex("f0f1f2f3f4f5f6f7f8f9fafbfcfd", salt, sizeof(salt));
	unit_hex(B2_STREAM, exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_128, key, salt, 0, 0, zero,
					    48, out, sizeof(out), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(n, 48);
	CU_ASSERT_EQUAL(memcmp(out, exp, 48), 0);
}

static void given_salt_offsetting_csb_and_t_when_aes_cm_then_same_keystream(void)
{
	/*
	 * salt = F0..FD XOR (0000 || 12345678 || 0102030405060708), so with
	 * CSB ID 0x12345678 and T 0x0102030405060708 the IV is again
	 * F0F1...FD0000: this pins the byte positions of CSB ID and T.
	 */
	uint8_t key[16], salt[14], zero[48] = { 0 }, out[48], exp[48], back[48];
	size_t n = 0;
	unit_hex(B2_KEY, key, sizeof(key));
	unit_hex("f0f1e0c7a28df7f5fbfdfffdfbf5", salt, sizeof(salt));
	unit_hex(B2_STREAM, exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_128, key, salt, 0x12345678,
					    0x0102030405060708ull, zero, 48, out,
					    sizeof(out), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 48), 0);
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_CM_128, key, salt, 0x12345678,
					    0x0102030405060708ull, out, 48, back,
					    sizeof(back), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(n, 48);
	CU_ASSERT_EQUAL(memcmp(back, zero, 48), 0);
}

static void given_different_csb_or_t_when_aes_cm_then_ciphertext_differs(void)
{
	uint8_t key[32] = { 1, 2, 3 }, salt[14] = { 4, 5, 6 }, in[40], a[40], b[40],
		c[40];
	size_t n;
	memset(in, 0x5a, sizeof(in));
	for (uint8_t alg = MIKEY_ENCR_AES_CM_128; alg <= MIKEY_ENCR_AES_CM_256;
	     alg += 2) {
		CU_ASSERT_EQUAL(
		    mikey_kemac_encrypt(alg, key, salt, 7, 1000, in, 40, a, 40, &n),
		    KMS_EOK);
		CU_ASSERT_EQUAL(
		    mikey_kemac_encrypt(alg, key, salt, 8, 1000, in, 40, b, 40, &n),
		    KMS_EOK);
		CU_ASSERT_EQUAL(
		    mikey_kemac_encrypt(alg, key, salt, 7, 1001, in, 40, c, 40, &n),
		    KMS_EOK);
		CU_ASSERT_NOT_EQUAL(memcmp(a, b, 40), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(a, c, 40), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(a, in, 40), 0);
	}
}

static void given_aes_cm_256_when_round_trip_then_plaintext_back_and_differs_from_128(
    void)
{
	uint8_t key[32], salt[14] = { 9 }, in[37], ct256[37], ct128[37], back[37];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(key); i++) {
		key[i] = (uint8_t)(0x80 + i);
	}
	memset(in, 0x33, sizeof(in));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_256, key, salt, 1, 2, in,
					    37, ct256, 37, &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(n, 37);
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_128, key, salt, 1, 2, in,
					    37, ct128, 37, &n),
			KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(ct256, ct128, 37), 0);
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_CM_256, key, salt, 1, 2, ct256,
					    37, back, 37, &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(back, in, 37), 0);
}

static void given_rfc3394_4_1_when_aes_kw_with_default_iv_as_salt_then_known_answer(void)
{
	/* The salt key is the RFC 3394 IV: with A6..A6 we get RFC 3394 4.1. */
	uint8_t kek[16], salt[8], in[16], exp[24], out[24], back[16];
	size_t n = 0;
	unit_hex("000102030405060708090a0b0c0d0e0f", kek, sizeof(kek));
	unit_hex("a6a6a6a6a6a6a6a6", salt, sizeof(salt));
	unit_hex("00112233445566778899aabbccddeeff", in, sizeof(in));
	unit_hex("1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5", exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 99, 99, in,
					    16, out, sizeof(out), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(n, 24);
	CU_ASSERT_EQUAL(memcmp(out, exp, 24), 0);
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, out,
					    24, back, sizeof(back), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(n, 16);
	CU_ASSERT_EQUAL(memcmp(back, in, 16), 0);
}

static void given_odd_lengths_when_aes_kw_then_zero_padded_round_trip(void)
{
	static const size_t lens[] = { 1, 5, 15, 16, 17, 20, 24, 50 };
	uint8_t kek[16] = { 7 }, salt[8] = { 8 }, in[50], out[72], back[64];
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], n = 0, m = 0;
		size_t padded = len < 16 ? 16 : (len + 7) / 8 * 8;
		memset(in, 0xA5, sizeof(in));
		CU_ASSERT_EQUAL(mikey_kemac_encr_len(MIKEY_ENCR_AES_KW_128, len),
				padded + 8);
		CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0,
						    0, in, len, out, sizeof(out), &n),
				KMS_EOK);
		CU_ASSERT_EQUAL(n, padded + 8);
		CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0,
						    0, out, n, back, sizeof(back), &m),
				KMS_EOK);
		CU_ASSERT_EQUAL(m, padded);
		CU_ASSERT_EQUAL(memcmp(back, in, len), 0);
		for (size_t j = len; j < padded; j++) {
			CU_ASSERT_EQUAL(back[j], 0);
		}
	}
}

static void given_wrong_key_salt_or_data_when_aes_kw_decrypt_then_eauth_and_wiped(void)
{
	uint8_t kek[16] = { 1 }, salt[8] = { 2 }, in[24], out[32], back[24];
	uint8_t zero[24] = { 0 };
	size_t n = 0;
	memset(in, 0x11, sizeof(in));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, in,
					    24, out, 32, &n),
			KMS_EOK);
	kek[0] ^= 1;
	memset(back, 0x77, sizeof(back));
	n = 12345;
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, out,
					    32, back, sizeof(back), &n),
			KMS_EAUTH);
	CU_ASSERT_EQUAL(n, 12345);
	CU_ASSERT_EQUAL(memcmp(back, zero, 24), 0);
	kek[0] ^= 1;
	salt[7] ^= 1;
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, out,
					    32, back, sizeof(back), &n),
			KMS_EAUTH);
	salt[7] ^= 1;
	out[31] ^= 0x80;
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, out,
					    32, back, sizeof(back), &n),
			KMS_EAUTH);
	/* Malformed wrapped lengths from the network. */
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, out,
					    30, back, sizeof(back), &n),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_AES_KW_128, kek, salt, 0, 0, out,
					    16, back, sizeof(back), &n),
			KMS_EMALFORMED);
}

static void given_null_and_bad_arguments_when_encrypting_then_copy_or_error(void)
{
	uint8_t key[16] = { 0 }, salt[14] = { 0 }, in[20], out[40];
	size_t n = 0;
	memset(in, 0x42, sizeof(in));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_NULL, NULL, NULL, 0, 0, in, 20,
					    out, sizeof(out), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(n, 20);
	CU_ASSERT_EQUAL(memcmp(out, in, 20), 0);
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(MIKEY_ENCR_NULL, NULL, NULL, 0, 0, in, 20,
					    out, sizeof(out), &n),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(4, key, salt, 0, 0, in, 20, out, 40, &n),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_kemac_decrypt(4, key, salt, 0, 0, in, 20, out, 40, &n),
			KMS_EEA);
	n = 777;
	memset(out, 0xCC, sizeof(out));
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_128, key, salt, 0, 0, in,
					    20, out, 19, &n),
			KMS_ESPACE);
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_KW_128, key, salt, 0, 0, in,
					    20, out, 31, &n),
			KMS_ESPACE);
	CU_ASSERT_EQUAL(n, 777);
	CU_ASSERT_EQUAL(out[0], 0xCC);
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_128, NULL, salt, 0, 0, in,
					    20, out, 40, &n),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_CM_128, key, salt, 0, 0, in,
					    MIKEY_MSG_MAX + 1, out, 40, &n),
			KMS_ERANGE);
	CU_ASSERT_EQUAL(mikey_kemac_encr_len(MIKEY_ENCR_AES_CM_128, 20), 20);
	CU_ASSERT_EQUAL(mikey_kemac_encr_len(MIKEY_ENCR_NULL, 20), 20);
	CU_ASSERT_EQUAL(mikey_kemac_encr_len(9, 20), 0);
}

/* --- seal / open ------------------------------------------------------------ */

static uint8_t mpk[32], tgk[32], psk[32];
static uint8_t spi_mpk[4] = { 0x00, 0x00, 0x00, 0x01 };
static uint8_t spi_tgk[4] = { 0xAB, 0xCD, 0xEF, 0x00 }; /* chain ends in 0x00 */
static uint8_t randri_b[16];
static const mikey_bytes_t randri = { randri_b, 16 };

static void make_chain(mikey_keys_t *k, size_t key_len)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < 32; i++) {
		mpk[i] = (uint8_t)(0x10 + i);
		tgk[i] = (uint8_t)(0x90 + i);
		psk[i] = (uint8_t)(0xE0 ^ i);
	}
	memset(randri_b, 0x5C, sizeof(randri_b));
	k->n = 2;
	k->k[0].type = MIKEY_KEY_MPK;
	k->k[0].kv = MIKEY_KV_SPI;
	k->k[0].key = (mikey_bytes_t){ mpk, key_len };
	k->k[0].spi = (mikey_bytes_t){ spi_mpk, sizeof(spi_mpk) };
	k->k[1].type = MIKEY_KEY_TGK;
	k->k[1].kv = MIKEY_KV_SPI;
	k->k[1].key = (mikey_bytes_t){ tgk, key_len };
	k->k[1].spi = (mikey_bytes_t){ spi_tgk, sizeof(spi_tgk) };
}

static void check_same_chain(const mikey_keys_t *a, const mikey_keys_t *b)
{
	CU_ASSERT_EQUAL_FATAL(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		CU_ASSERT_EQUAL(a->k[i].type, b->k[i].type);
		CU_ASSERT_EQUAL(a->k[i].kv, b->k[i].kv);
		CU_ASSERT_EQUAL_FATAL(a->k[i].key.len, b->k[i].key.len);
		CU_ASSERT_EQUAL(
		    memcmp(a->k[i].key.data, b->k[i].key.data, a->k[i].key.len), 0);
		CU_ASSERT_EQUAL_FATAL(a->k[i].spi.len, b->k[i].spi.len);
		CU_ASSERT_EQUAL(
		    memcmp(a->k[i].spi.data, b->k[i].spi.data, a->k[i].spi.len), 0);
	}
}

static bool contains(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(hay + i, needle, n) == 0) {
			return true;
		}
	}
	return false;
}

static void given_key_chain_when_seal_then_open_gives_same_keys(void)
{
	static const struct {
		uint8_t prf, alg;
		size_t key_len;
	} cases[] = {
		{ MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_CM_128, 16 },
		{ MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_KW_128,
		  16 }, /* 50 bytes + 6 padding */
		{ MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_CM_256, 32 },
		{ MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_KW_128,
		  20 }, /* 58 bytes + 6 padding */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mikey_keys_t keys, got;
		uint8_t ct[256], plain[256];
		size_t ct_len = 0, plain_len = 0;
		make_chain(&keys, cases[i].key_len);
		CU_ASSERT_EQUAL_FATAL(mikey_kemac_seal(NULL, cases[i].prf, cases[i].alg,
						       psk, 32, 0xCAFE0001,
						       MIKEY_DIR_RESP, &randri, NULL,
						       0x1122334455667788ull, &keys, ct,
						       sizeof(ct), &ct_len),
				      KMS_EOK);
		size_t chain_len = 2 * (4 + cases[i].key_len + 1 + 4);
		CU_ASSERT_EQUAL(ct_len, mikey_kemac_encr_len(cases[i].alg, chain_len));
		/* No key bytes in the clear. */
		CU_ASSERT_FALSE(contains(ct, ct_len, mpk, 16));
		CU_ASSERT_FALSE(contains(ct, ct_len, tgk, 16));

		mikey_kemac_t kemac = {
			cases[i].alg, { ct, ct_len }, MIKEY_MAC_NULL, { NULL, 0 }
		};
		CU_ASSERT_EQUAL_FATAL(
		    mikey_kemac_open(NULL, cases[i].prf, &kemac, psk, 32, 0xCAFE0001,
				     MIKEY_DIR_RESP, &randri, NULL, 0x1122334455667788ull,
				     plain, sizeof(plain), &plain_len, &got),
		    KMS_EOK);
		CU_ASSERT(plain_len >= chain_len);
		check_same_chain(&keys, &got);
		/* Parsed keys point into plain. */
		CU_ASSERT(got.k[0].key.data >= plain &&
			  got.k[0].key.data < plain + plain_len);
	}
}

static void given_chain_of_multiple_of_8_when_kw_seal_then_open_without_padding(void)
{
	mikey_keys_t keys, got;
	uint8_t ct[64], plain[64];
	size_t ct_len = 0, plain_len = 0;
	make_chain(&keys, 16);
	keys.n = 1;
	keys.k[0].spi.len = 3; /* 4 + 16 + 1 + 3 = 24 bytes */
	CU_ASSERT_EQUAL_FATAL(mikey_kemac_seal(NULL, MIKEY_PRF_MIKEY1,
					       MIKEY_ENCR_AES_KW_128, psk, 16, 5,
					       MIKEY_DIR_INIT, &randri, NULL, 0, &keys,
					       ct, sizeof(ct), &ct_len),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ct_len, 32);
	mikey_kemac_t kemac = { MIKEY_ENCR_AES_KW_128, { ct, ct_len }, 0, { NULL, 0 } };
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, psk, 16, 5,
					 MIKEY_DIR_INIT, &randri, NULL, 0, plain,
					 sizeof(plain), &plain_len, &got),
			KMS_EOK);
	CU_ASSERT_EQUAL(plain_len, 24);
	check_same_chain(&keys, &got);
}

static void given_wrong_inputs_when_open_then_fails_and_plain_wiped(void)
{
	mikey_keys_t keys, got;
	uint8_t ct[128], plain[128] = { 0 }, zero[128] = { 0 };
	size_t ct_len = 0, plain_len = 999;
	make_chain(&keys, 16);
	for (uint8_t alg = MIKEY_ENCR_AES_CM_128; alg <= MIKEY_ENCR_AES_KW_128; alg++) {
		CU_ASSERT_EQUAL_FATAL(mikey_kemac_seal(NULL, MIKEY_PRF_MIKEY1, alg, psk,
						       16, 1, MIKEY_DIR_RESP, &randri,
						       NULL, 42, &keys, ct, sizeof(ct),
						       &ct_len),
				      KMS_EOK);
		mikey_kemac_t kemac = { alg, { ct, ct_len }, 0, { NULL, 0 } };
		int expect_kw = alg == MIKEY_ENCR_AES_KW_128;
		/* Wrong PSK, wrong direction, wrong CSB ID: different keys. */
		int r[3];
		uint8_t bad_psk[16];
		memcpy(bad_psk, psk, 16);
		bad_psk[0] ^= 1;
		r[0] = mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, bad_psk, 16, 1,
					MIKEY_DIR_RESP, &randri, NULL, 42, plain,
					sizeof(plain), &plain_len, &got);
		CU_ASSERT_EQUAL(memcmp(plain, zero, ct_len), 0);
		r[1] = mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, psk, 16, 1,
					MIKEY_DIR_INIT, &randri, NULL, 42, plain,
					sizeof(plain), &plain_len, &got);
		CU_ASSERT_EQUAL(memcmp(plain, zero, ct_len), 0);
		r[2] = mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, psk, 16, 2,
					MIKEY_DIR_RESP, &randri, NULL, 42, plain,
					sizeof(plain), &plain_len, &got);
		CU_ASSERT_EQUAL(memcmp(plain, zero, ct_len), 0);
		for (int i = 0; i < 3; i++) {
			CU_ASSERT_NOT_EQUAL(r[i], KMS_EOK);
			if (expect_kw) {
				CU_ASSERT_EQUAL(r[i], KMS_EAUTH);
			}
		}
		CU_ASSERT_EQUAL(plain_len, 999);
	}
}

/* Encrypt raw bytes with the keys seal would use (for hand-made contents). */
static void kw_encrypt_raw(const uint8_t *in, size_t len, uint8_t *ct, size_t *ct_len)
{
	uint8_t ek[16], sk[8];
	CU_ASSERT_EQUAL_FATAL(mikey_kdf_msg_key(NULL, MIKEY_PRF_MIKEY1, psk, 16,
						MIKEY_DK_ENCR, 3, MIKEY_DIR_RESP, &randri,
						NULL, ek, 16),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_kdf_msg_key(NULL, MIKEY_PRF_MIKEY1, psk, 16,
						MIKEY_DK_SALT, 3, MIKEY_DIR_RESP, &randri,
						NULL, sk, 8),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_kemac_encrypt(MIKEY_ENCR_AES_KW_128, ek, sk, 3, 0, in,
						  len, ct, 128, ct_len),
			      KMS_EOK);
}

static void given_kw_chain_with_junk_or_long_padding_when_open_then_emalformed(void)
{
	mikey_keys_t keys, got;
	uint8_t chain[96], ct[128], plain[128];
	size_t chain_len = 0, ct_len = 0, plain_len = 0;
	make_chain(&keys, 16);
	CU_ASSERT_EQUAL_FATAL(mikey_keys_build(&keys, chain, sizeof(chain), &chain_len),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(chain_len, 50);
	mikey_kemac_t kemac = { MIKEY_ENCR_AES_KW_128, { ct, 0 }, 0, { NULL, 0 } };

	/* Sanity: the plain chain opens. */
	kw_encrypt_raw(chain, chain_len, ct, &ct_len);
	kemac.encr_data.len = ct_len;
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, psk, 16, 3,
					 MIKEY_DIR_RESP, &randri, NULL, 0, plain,
					 sizeof(plain), &plain_len, &got),
			KMS_EOK);

	/* A non-zero byte after the chain (then zero padding). */
	chain[50] = 0x01;
	kw_encrypt_raw(chain, 51, ct, &ct_len);
	kemac.encr_data.len = ct_len;
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, psk, 16, 3,
					 MIKEY_DIR_RESP, &randri, NULL, 0, plain,
					 sizeof(plain), &plain_len, &got),
			KMS_EMALFORMED);

	/* Eight or more zero bytes after the chain are not padding. */
	memset(chain + 50, 0, 8);
	kw_encrypt_raw(chain, 58, ct, &ct_len); /* 58 -> 64: 14 zero bytes */
	kemac.encr_data.len = ct_len;
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, &kemac, psk, 16, 3,
					 MIKEY_DIR_RESP, &randri, NULL, 0, plain,
					 sizeof(plain), &plain_len, &got),
			KMS_EMALFORMED);
}

static void given_null_encryption_or_bad_args_when_seal_open_then_error(void)
{
	mikey_keys_t keys, got;
	uint8_t ct[128], plain[16];
	size_t ct_len = 0, plain_len = 0;
	make_chain(&keys, 16);
	CU_ASSERT_EQUAL(mikey_kemac_seal(NULL, 0, MIKEY_ENCR_NULL, psk, 16, 1,
					 MIKEY_DIR_RESP, &randri, NULL, 0, &keys, ct,
					 sizeof(ct), &ct_len),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_kemac_seal(NULL, 0, 7, psk, 16, 1, MIKEY_DIR_RESP, &randri,
					 NULL, 0, &keys, ct, sizeof(ct), &ct_len),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_kemac_seal(NULL, 0, MIKEY_ENCR_AES_CM_128, psk, 16, 1,
					 MIKEY_DIR_RESP, &randri, NULL, 0, &keys, ct, 10,
					 &ct_len),
			KMS_ESPACE);
	CU_ASSERT_EQUAL(mikey_kemac_seal(NULL, 9, MIKEY_ENCR_AES_CM_128, psk, 16, 1,
					 MIKEY_DIR_RESP, &randri, NULL, 0, &keys, ct,
					 sizeof(ct), &ct_len),
			KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_kemac_seal(NULL, 0, MIKEY_ENCR_AES_CM_128, psk, 16, 1,
					 MIKEY_DIR_RESP, &randri, NULL, 0, &keys, ct,
					 sizeof(ct), &ct_len),
			KMS_EOK);
	mikey_kemac_t kemac = { MIKEY_ENCR_NULL, { ct, ct_len }, 0, { NULL, 0 } };
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, 0, &kemac, psk, 16, 1, MIKEY_DIR_RESP,
					 &randri, NULL, 0, plain, sizeof(plain),
					 &plain_len, &got),
			KMS_EEA);
	kemac.encr_alg = MIKEY_ENCR_AES_CM_128;
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, 0, &kemac, psk, 16, 1, MIKEY_DIR_RESP,
					 &randri, NULL, 0, plain, sizeof(plain),
					 &plain_len, &got),
			KMS_ESPACE);
	CU_ASSERT_EQUAL(mikey_kemac_open(NULL, 0, NULL, psk, 16, 1, MIKEY_DIR_RESP,
					 &randri, NULL, 0, plain, sizeof(plain),
					 &plain_len, &got),
			KMS_EINVAL);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_b2_salt_and_zero_csb_t_when_aes_cm_then_rfc3711_keystream),
		UNIT_TEST(
		    given_salt_offsetting_csb_and_t_when_aes_cm_then_same_keystream),
		UNIT_TEST(given_different_csb_or_t_when_aes_cm_then_ciphertext_differs),
		UNIT_TEST(
		    given_aes_cm_256_when_round_trip_then_plaintext_back_and_differs_from_128),
		UNIT_TEST(
		    given_rfc3394_4_1_when_aes_kw_with_default_iv_as_salt_then_known_answer),
		UNIT_TEST(given_odd_lengths_when_aes_kw_then_zero_padded_round_trip),
		UNIT_TEST(
		    given_wrong_key_salt_or_data_when_aes_kw_decrypt_then_eauth_and_wiped),
		UNIT_TEST(
		    given_null_and_bad_arguments_when_encrypting_then_copy_or_error),
		UNIT_TEST(given_key_chain_when_seal_then_open_gives_same_keys),
		UNIT_TEST(
		    given_chain_of_multiple_of_8_when_kw_seal_then_open_without_padding),
		UNIT_TEST(given_wrong_inputs_when_open_then_fails_and_plain_wiped),
		UNIT_TEST(
		    given_kw_chain_with_junk_or_long_padding_when_open_then_emalformed),
		UNIT_TEST(given_null_encryption_or_bad_args_when_seal_open_then_error),
		UNIT_END,
	};
	return unit_run("kemac", tests);
}
