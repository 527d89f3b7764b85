/*
 * Key derivations: RFC 3711 B.3 through the SRTP KDF, and every RFC 6043
 * 5.1 label written out by hand as hex from the RFC text (not built by the
 * code under test), then compared with mikey_prf(label).
 */
#include <string.h>

#include "common/errcode.h"
#include "mikey/kdf.h"
#include "mikey/prf.h"
#include "tests/unit/unit.h"

#define RANDRI_HEX "000102030405060708090a0b0c0d0e0f"
#define RANDRR_HEX "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3" /* 20 bytes */
#define RANDRKMS_HEX "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
#define RAND32_HEX                                                                       \
	"505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f" /* 32 bytes */
#define BOB_HEX "7369703a626f62406578616d706c652e636f6d" /* sip:bob@example.com */

static uint8_t randri_b[16], randrr_b[20], randrkms_b[16], bob_b[19], rand32_b[32];
static mikey_bytes_t randri = { randri_b, 16 }, randrr = { randrr_b, 20 },
		     randrkms = { randrkms_b, 16 }, bob = { bob_b, 19 },
		     rand32 = { rand32_b, 32 };

static void setup(void)
{
	unit_hex(RANDRI_HEX, randri_b, sizeof(randri_b));
	unit_hex(RANDRR_HEX, randrr_b, sizeof(randrr_b));
	unit_hex(RANDRKMS_HEX, randrkms_b, sizeof(randrkms_b));
	unit_hex(BOB_HEX, bob_b, sizeof(bob_b));
	unit_hex(RAND32_HEX, rand32_b, sizeof(rand32_b));
}

static const uint8_t prfs[2] = { MIKEY_PRF_MIKEY1, MIKEY_PRF_HMAC_SHA256 };
static const uint8_t key32[32] = { 0x4b, 0x45, 0x59, 1,	 2,  3,	 4,  5,	 6,  7,	 8,
				   9,	 10,   11,   12, 13, 14, 15, 16, 17, 18, 19,
				   20,	 21,   22,   23, 24, 25, 26, 27, 28, 29 };

/* PRF(prf, key, hex label) into exp. */
static void expect(uint8_t prf, const uint8_t *key, size_t key_len, const char *label_hex,
		   uint8_t *exp, size_t len)
{
	uint8_t label[MIKEY_LABEL_MAX];
	size_t n = unit_hex(label_hex, label, sizeof(label));
	CU_ASSERT_EQUAL_FATAL(mikey_prf(NULL, prf, key, key_len, label, n, exp, len),
			      KMS_EOK);
}

/* --- RFC 3711 4.3.1 ----------------------------------------------------- */

static void given_rfc3711_b3_when_srtp_kdf_then_cipher_key_salt_and_auth_key_match(void)
{
	uint8_t mk[16], ms[14], out[94], exp[94];
	unit_hex("e1f97a0d3e018be0d64fa32c06de4139", mk, sizeof(mk));
	unit_hex("0ec675ad498afeebb6960b3aabe6", ms, sizeof(ms));

	unit_hex("c61e7a93744f39ee10734afe3ff7a087", exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 0x00, out, 16), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 16), 0);

	unit_hex("30cbbc08863d8c85d49db34a9ae17ac6", exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 0x02, out, 14), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 14), 0);
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 0x02, out, 16), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 16), 0); /* the full first block */

	unit_hex("cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbce"
		 "e049646c43d9327ad175578ef72270986371c10c9a369ac2f94a8c5fbcdddc25"
		 "6d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2",
		 exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 0x01, out, 94), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 94), 0);
}

static void given_aes256_master_key_when_srtp_kdf_then_labels_give_distinct_keys(void)
{
	uint8_t mk[32], ms[14] = { 0 }, out[6][32];
	memcpy(mk, key32, 32);
	for (uint8_t l = 0; l <= 5; l++) {
		CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 32, ms, l, out[l], 32), KMS_EOK);
		for (uint8_t m = 0; m < l; m++) {
			CU_ASSERT_NOT_EQUAL(memcmp(out[l], out[m], 32), 0);
		}
	}
}

static void given_bad_arguments_when_srtp_kdf_then_einval_or_erange(void)
{
	uint8_t mk[32] = { 1 }, ms[14] = { 2 }, out[MIKEY_PRF_OUT_MAX + 1];
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 24, ms, 0, out, 16), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 6, out, 16), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 0, out, 0), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_srtp_kdf(NULL, 16, ms, 0, out, 16), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, NULL, 0, out, 16), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_srtp_kdf(mk, 16, ms, 0, out, sizeof(out)), KMS_ERANGE);
}

/* --- key lengths ----------------------------------------------------------- */

static void given_algorithms_when_asking_key_lengths_then_rfc_sizes(void)
{
	CU_ASSERT_EQUAL(mikey_encr_key_len(MIKEY_ENCR_AES_CM_128), 16);
	CU_ASSERT_EQUAL(mikey_encr_key_len(MIKEY_ENCR_AES_KW_128), 16);
	CU_ASSERT_EQUAL(mikey_encr_key_len(MIKEY_ENCR_AES_CM_256), 32);
	CU_ASSERT_EQUAL(mikey_encr_key_len(MIKEY_ENCR_NULL), 0);
	CU_ASSERT_EQUAL(mikey_encr_key_len(4), 0);
	CU_ASSERT_EQUAL(mikey_salt_key_len(MIKEY_ENCR_AES_CM_128), 14);
	CU_ASSERT_EQUAL(mikey_salt_key_len(MIKEY_ENCR_AES_CM_256), 14);
	CU_ASSERT_EQUAL(mikey_salt_key_len(MIKEY_ENCR_AES_KW_128), 8);
	CU_ASSERT_EQUAL(mikey_salt_key_len(MIKEY_ENCR_NULL), 0);
	CU_ASSERT_EQUAL(mikey_salt_key_len(9), 0);
	CU_ASSERT_EQUAL(mikey_auth_key_len(MIKEY_MAC_HMAC_SHA1_160), 20);
	CU_ASSERT_EQUAL(mikey_auth_key_len(MIKEY_MAC_HMAC_SHA256_256), 32);
	CU_ASSERT_EQUAL(mikey_auth_key_len(MIKEY_MAC_NULL), 0);
	CU_ASSERT_EQUAL(mikey_auth_key_len(3), 0);
}

/* --- RFC 6043 5.1.2: message protection keys ------------------------------ */

static void given_request_resp_when_msg_keys_then_label_is_c_ff_csb_02_randri_00(void)
{
	/* C || FF || CSB ID || 02 || 10 || RANDRi || 00 (no RANDRr) */
	static const struct {
		mikey_dk_t which;
		const char *label;
	} cases[] = {
		{ MIKEY_DK_ENCR, "150533e1"
				 "ff"
				 "11223344"
				 "02"
				 "10" RANDRI_HEX "00" },
		{ MIKEY_DK_AUTH, "2d22ac75"
				 "ff"
				 "11223344"
				 "02"
				 "10" RANDRI_HEX "00" },
		{ MIKEY_DK_SALT, "29b88916"
				 "ff"
				 "11223344"
				 "02"
				 "10" RANDRI_HEX "00" },
	};
	uint8_t out[40], exp[40];
	mikey_bytes_t empty = { NULL, 0 };
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < 3; i++) {
			expect(prfs[p], key32, 32, cases[i].label, exp, sizeof(exp));
			CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, prfs[p], key32, 32,
							  cases[i].which, 0x11223344,
							  MIKEY_DIR_RESP, &randri, NULL,
							  out, sizeof(out)),
					KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
			/* An empty RAND is the same as an absent one. */
			CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, prfs[p], key32, 32,
							  cases[i].which, 0x11223344,
							  MIKEY_DIR_RESP, &randri, &empty,
							  out, sizeof(out)),
					KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
		}
	}
}

static void given_resolve_init_when_auth_key_then_label_is_c_ff_csb_01_00_randrr(void)
{
	uint8_t out[20], exp[20];
	expect(MIKEY_PRF_MIKEY1, key32, 16,
	       "2d22ac75"
	       "ff"
	       "deadbeef"
	       "01"
	       "00"
	       "14" RANDRR_HEX,
	       exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, MIKEY_PRF_MIKEY1, key32, 16,
					  MIKEY_DK_AUTH, 0xDEADBEEF, MIKEY_DIR_INIT, NULL,
					  &randrr, out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
}

static void given_both_rands_when_msg_key_then_both_length_prefixed_in_order(void)
{
	uint8_t out[16], exp[16], other[16];
	expect(MIKEY_PRF_HMAC_SHA256, key32, 32,
	       "150533e1"
	       "ff"
	       "00000000"
	       "02"
	       "10" RANDRI_HEX "14" RANDRR_HEX,
	       exp, sizeof(exp));
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, MIKEY_PRF_HMAC_SHA256, key32, 32,
					  MIKEY_DK_ENCR, 0, MIKEY_DIR_RESP, &randri,
					  &randrr, out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
	/* Direction matters. */
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, MIKEY_PRF_HMAC_SHA256, key32, 32,
					  MIKEY_DK_ENCR, 0, MIKEY_DIR_INIT, &randri,
					  &randrr, other, sizeof(other)),
			KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(out, other, sizeof(out)), 0);
}

static void given_bad_arguments_when_msg_key_then_error(void)
{
	uint8_t out[16], big[MIKEY_RAND_MAX + 1] = { 0 };
	mikey_bytes_t too_long = { big, sizeof(big) }, dangling = { NULL, 4 };
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, 0, key32, 16, MIKEY_DK_TEK, 1,
					  MIKEY_DIR_INIT, &randri, NULL, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, 0, key32, 16, MIKEY_DK_AUTH, 1, 0x03,
					  &randri, NULL, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, 0, key32, 16, MIKEY_DK_AUTH, 1,
					  MIKEY_DIR_INIT, &too_long, NULL, out, 16),
			KMS_ERANGE);
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, 0, key32, 16, MIKEY_DK_AUTH, 1,
					  MIKEY_DIR_INIT, NULL, &dangling, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, 7, key32, 16, MIKEY_DK_AUTH, 1,
					  MIKEY_DIR_INIT, &randri, NULL, out, 16),
			KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, 0, key32, 0, MIKEY_DK_AUTH, 1,
					  MIKEY_DIR_INIT, &randri, NULL, out, 16),
			KMS_EINVAL);
}

/* --- RFC 6043 5.1.3: keys from a TGK ------------------------------------- */

static void given_tgk_when_deriving_then_label_is_c_csid_ffffffff_03_rands(void)
{
	static const struct {
		mikey_dk_t which;
		bool ri, rr;
		const char *label;
	} cases[] = {
		{ MIKEY_DK_TEK, true, true,
		  "2ad01c64"
		  "07"
		  "ffffffff"
		  "03"
		  "10" RANDRI_HEX "14" RANDRR_HEX },
		{ MIKEY_DK_AUTH, false, true,
		  "1b5c7973"
		  "07"
		  "ffffffff"
		  "03"
		  "00"
		  "14" RANDRR_HEX },
		{ MIKEY_DK_ENCR, true, false,
		  "15798cef"
		  "07"
		  "ffffffff"
		  "03"
		  "10" RANDRI_HEX "00" },
		{ MIKEY_DK_SALT, true, true,
		  "39a2c14b"
		  "07"
		  "ffffffff"
		  "03"
		  "10" RANDRI_HEX "14" RANDRR_HEX },
	};
	uint8_t out[30], exp[30];
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < 4; i++) {
			expect(prfs[p], key32, 32, cases[i].label, exp, sizeof(exp));
			CU_ASSERT_EQUAL(mikey_kdf_tgk_key(NULL, prfs[p], key32, 32,
							  cases[i].which, 7,
							  cases[i].ri ? &randri : NULL,
							  cases[i].rr ? &randrr : NULL,
							  out, sizeof(out)),
					KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
		}
	}
}

static void given_no_rand_when_tgk_key_then_einval(void)
{
	uint8_t out[16];
	mikey_bytes_t empty = { NULL, 0 };
	CU_ASSERT_EQUAL(
	    mikey_kdf_tgk_key(NULL, 0, key32, 16, MIKEY_DK_TEK, 1, NULL, NULL, out, 16),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_tgk_key(NULL, 0, key32, 16, MIKEY_DK_TEK, 1, &empty,
					  &empty, out, 16),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_tgk_key(NULL, 0, key32, 16, (mikey_dk_t)9, 1, &randri,
					  NULL, out, 16),
			KMS_EINVAL);
}

/* --- RFC 6043 5.1.1: forking ------------------------------------------------- */

/*
 * SRTP master key and salt under the ticket's H and G (RFC 6043 5.1.3).
 * The expected values come from this independent python3 reference (HMAC
 * P-function of RFC 3830 4.1.2, one 256-bit chunk), not from the code
 * under test:
 *   def prf(k, l, n, h):
 *       out, a = b"", l
 *       while len(out) < n:
 *           a = hmac.new(k, a, h).digest(); out += hmac.new(k, a + l, h).digest()
 *       return out[:n]
 *   lab = C || 01 || ffffffff || 03 || (len || RANDRi if H else 00)
 *                                   || (len || RANDRr if G else 00)
 * with key32[:16] (MIKEY-1, SHA-1) or key32 (PRF-HMAC-SHA-256), C =
 * 2AD01C64 (TEK) and 39A2C14B (salt), RANDRi/RANDRr as above.
 */
static const struct {
	uint8_t prf;
	uint16_t flags;
	const char *key, *salt;
} srtp_vectors[] = {
	{ MIKEY_PRF_MIKEY1, MIKEY_TPF_H, "01334a50fcd81b10a9316a182746edd4",
	  "336855f193bdfa36769ee947f114" },
	{ MIKEY_PRF_MIKEY1, MIKEY_TPF_G | MIKEY_TPF_H, "bdc36789bddba74f0aa96a4f89382dd5",
	  "ff1024e01adee234701765defcdd" },
	{ MIKEY_PRF_MIKEY1, MIKEY_TPF_G, "4039d9ad38b4efa766b60a2536402dc2",
	  "5e7b8ab44fac348cf9a9bd699f1e" },
	{ MIKEY_PRF_HMAC_SHA256, MIKEY_TPF_H,
	  "115e8253df84274d8a257c03420990af72d37784d2067f4a0932828c9e552074",
	  "8ae3379707a7f2225a7affc5f2e9" },
	{ MIKEY_PRF_HMAC_SHA256, MIKEY_TPF_G | MIKEY_TPF_H,
	  "f9f1886964ac8e598fea436248841811eac0b8dfa0cf7c2df66052a7f36c8922",
	  "5e925bf052860554202c767bddc0" },
	{ MIKEY_PRF_HMAC_SHA256, MIKEY_TPF_G,
	  "bd98c5b8983549d7c5fd5a6a26ea5b1c9f0efa7e9dfc439777ec8cd905d1246f",
	  "4f5d125a734a666743680613395e" },
};

static void given_h_and_g_flags_when_srtp_master_then_rands_follow_flags(void)
{
	for (size_t i = 0; i < sizeof(srtp_vectors) / sizeof(srtp_vectors[0]); i++) {
		uint8_t key[32], salt[14], ek[32], es[14];
		size_t kl = unit_hex(srtp_vectors[i].key, ek, sizeof(ek));
		unit_hex(srtp_vectors[i].salt, es, sizeof(es));
		/* Both RANDs are offered: the flags pick which enter the label. */
		CU_ASSERT_EQUAL(mikey_kdf_srtp_master(NULL, srtp_vectors[i].prf, key32,
						      kl, 1, srtp_vectors[i].flags,
						      &randri, &randrr, key, kl, salt),
				KMS_EOK);
		CU_ASSERT_EQUAL(memcmp(key, ek, kl), 0);
		CU_ASSERT_EQUAL(memcmp(salt, es, sizeof(es)), 0);
	}
}

static void given_missing_rand_when_srtp_master_then_etppar(void)
{
	uint8_t key[16], salt[14];
	memset(key, 0xaa, sizeof(key));
	/* G without RANDRr, H without RANDRi, neither flag. */
	CU_ASSERT_EQUAL(mikey_kdf_srtp_master(NULL, MIKEY_PRF_MIKEY1, key32, 16, 1,
					      MIKEY_TPF_G | MIKEY_TPF_H, &randri, NULL,
					      key, 16, salt),
			KMS_ETPPAR);
	CU_ASSERT_EQUAL(mikey_kdf_srtp_master(NULL, MIKEY_PRF_MIKEY1, key32, 16, 1,
					      MIKEY_TPF_H, NULL, &randrr, key, 16, salt),
			KMS_ETPPAR);
	CU_ASSERT_EQUAL(mikey_kdf_srtp_master(NULL, MIKEY_PRF_MIKEY1, key32, 16, 1, 0,
					      &randri, &randrr, key, 16, salt),
			KMS_ETPPAR);
	CU_ASSERT_EQUAL(key[0], 0xaa); /* untouched on failure */
}

static void given_mpkr_and_tgk_when_forking_then_label_has_16_bit_id_length(void)
{
	static const struct {
		mikey_fork_t what;
		const char *label;
	} cases[] = {
		{ MIKEY_FORK_MPKR, "2b288856"
				   "ff"
				   "ffffffff"
				   "00"
				   "0013" BOB_HEX "10" RANDRKMS_HEX },
		{ MIKEY_FORK_TGK, "1512b54a"
				  "ff"
				  "ffffffff"
				  "00"
				  "0013" BOB_HEX "10" RANDRKMS_HEX },
	};
	static const size_t key_lens[] = { 16, 20, 32, 48 };
	uint8_t out[64], exp[64];
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < 2; i++) {
			for (size_t k = 0; k < 4; k++) {
				size_t kl = key_lens[k];
				uint8_t key[48];
				memset(key, 0x3c, sizeof(key));
				memcpy(key, key32, 32);
				expect(prfs[p], key, kl, cases[i].label, exp, kl);
				memset(out, 0xEE, sizeof(out));
				CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, prfs[p],
							       cases[i].what, key, kl,
							       &bob, &randrkms, out),
						KMS_EOK);
				/* Exactly inkey_len bytes of output. */
				CU_ASSERT_EQUAL(memcmp(out, exp, kl), 0);
				CU_ASSERT_EQUAL(out[kl], 0xEE);
			}
		}
	}
}

static void given_id_over_255_bytes_when_forking_then_length_is_two_bytes(void)
{
	uint8_t id[300], label[4 + 1 + 4 + 1 + 2 + 300 + 1 + 16], out[16], exp[16];
	memset(id, 'a', sizeof(id));
	mikey_bytes_t idb = { id, sizeof(id) };
	size_t n = unit_hex("2b288856"
			    "ff"
			    "ffffffff"
			    "00"
			    "012c",
			    label, sizeof(label));
	memset(label + n, 'a', 300);
	n += 300;
	n += unit_hex("10" RANDRKMS_HEX, label + n, sizeof(label) - n);
	CU_ASSERT_EQUAL_FATAL(n, sizeof(label));
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key32, 16, label, n, exp, 16),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, MIKEY_PRF_MIKEY1, MIKEY_FORK_MPKR, key32, 16,
				       &idb, &randrkms, out),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, 16), 0);
}

static void given_different_id_or_randrkms_when_forking_then_outputs_differ(void)
{
	uint8_t a[32], b[32], c[32], d[32], alice_b[21], kms2_b[16];
	memcpy(alice_b, "sip:alice@example.com", 21);
	memcpy(kms2_b, randrkms_b, 16);
	kms2_b[15] ^= 1;
	mikey_bytes_t alice = { alice_b, 21 }, kms2 = { kms2_b, 16 };
	uint8_t p = MIKEY_PRF_HMAC_SHA256;
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, p, MIKEY_FORK_TGK, key32, 32, &bob, &randrkms, a),
	    KMS_EOK);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, p, MIKEY_FORK_TGK, key32, 32, &alice, &randrkms, b),
	    KMS_EOK);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, p, MIKEY_FORK_TGK, key32, 32, &bob, &kms2, c), KMS_EOK);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, p, MIKEY_FORK_MPKR, key32, 32, &bob, &randrkms, d),
	    KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, c, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, d, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, key32, 32), 0);
}

static void given_bad_arguments_when_forking_then_error(void)
{
	uint8_t out[MIKEY_KEY_MAX + 1], id[MIKEY_ID_MAX + 1] = { 0 };
	mikey_bytes_t long_id = { id, sizeof(id) }, no_rand = { NULL, 0 };
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, 0, (mikey_fork_t)2, key32, 16, &bob, &randrkms, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, 0, MIKEY_FORK_TGK, key32, 16, NULL, &randrkms, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, 0, MIKEY_FORK_TGK, key32, 16, &bob, NULL, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, 0, MIKEY_FORK_TGK, key32, 16, &bob, &no_rand, out),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, 0, MIKEY_FORK_TGK, key32, 16, &long_id, &randrkms, out),
	    KMS_ERANGE);
	CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, 0, MIKEY_FORK_TGK, key32, MIKEY_KEY_MAX + 1,
				       &bob, &randrkms, out),
			KMS_ERANGE);
	CU_ASSERT_EQUAL(
	    mikey_kdf_fork(NULL, 0, MIKEY_FORK_TGK, key32, 0, &bob, &randrkms, out),
	    KMS_EINVAL);
}

/* --- RFC 6043 6.10: Vr key ------------------------------------------------- */

static void given_mpkr_when_vr_key_then_label_is_2d22ac75_ff_ffffffff_04(void)
{
	uint8_t out[32], exp[32];
	for (size_t p = 0; p < 2; p++) {
		size_t len = p == 0 ? 20 : 32;
		expect(prfs[p], key32, 16,
		       "2d22ac75"
		       "ff"
		       "ffffffff"
		       "04",
		       exp, len);
		CU_ASSERT_EQUAL(mikey_kdf_vr_key(NULL, prfs[p], key32, 16, out, len),
				KMS_EOK);
		CU_ASSERT_EQUAL(memcmp(out, exp, len), 0);
	}
	CU_ASSERT_EQUAL(mikey_kdf_vr_key(NULL, 5, key32, 16, out, 20), KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_kdf_vr_key(NULL, 0, key32, 16, out, 0), KMS_EINVAL);
}

/* --- RFC 6043 Appendix A: MIKEY base ticket ------------------------------ */

static void given_tpk_when_base_ticket_keys_then_label_is_c_ff_ffffffff_05_rand(void)
{
	static const struct {
		mikey_dk_t which;
		const char *label;
	} cases[] = {
		{ MIKEY_DK_ENCR, "150533e1"
				 "ff"
				 "ffffffff"
				 "05"
				 "20" RAND32_HEX },
		{ MIKEY_DK_AUTH, "2d22ac75"
				 "ff"
				 "ffffffff"
				 "05"
				 "20" RAND32_HEX },
		{ MIKEY_DK_SALT, "29b88916"
				 "ff"
				 "ffffffff"
				 "05"
				 "20" RAND32_HEX },
	};
	uint8_t out[32], exp[32];
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < 3; i++) {
			expect(prfs[p], key32, 32, cases[i].label, exp, sizeof(exp));
			CU_ASSERT_EQUAL(mikey_kdf_tpk_key(NULL, prfs[p], key32, 32,
							  cases[i].which, &rand32, out,
							  sizeof(out)),
					KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
		}
	}
}

static void given_tpk_label_written_byte_by_byte_when_auth_key_then_same(void)
{
	/* 0x2D22AC75 || 0xFF || 0xFFFFFFFF || 0x05 || 0x10 || 16 bytes of RAND */
	static const uint8_t label[] = { 0x2d, 0x22, 0xac, 0x75, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0x05, 0x10, 0x00, 0x01, 0x02,
					 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
					 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	uint8_t out[20], exp[20];
	CU_ASSERT_EQUAL(mikey_prf(NULL, MIKEY_PRF_MIKEY1, key32, 32, label, sizeof(label),
				  exp, sizeof(exp)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_kdf_tpk_key(NULL, MIKEY_PRF_MIKEY1, key32, 32,
					  MIKEY_DK_AUTH, &randri, out, sizeof(out)),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, exp, sizeof(out)), 0);
}

static void given_mpk_when_mpki_mpkr_then_label_is_c_ff_ffffffff_06_rand(void)
{
	static const struct {
		mikey_mpk_t which;
		const char *label;
	} cases[] = {
		{ MIKEY_MPK_I, "220e99a2"
			       "ff"
			       "ffffffff"
			       "06"
			       "20" RAND32_HEX },
		{ MIKEY_MPK_R, "1f4d675b"
			       "ff"
			       "ffffffff"
			       "06"
			       "20" RAND32_HEX },
	};
	static const size_t key_lens[] = { 16, 32 };
	uint8_t out[MIKEY_KEY_MAX + 1], exp[32];
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < 2; i++) {
			for (size_t k = 0; k < 2; k++) {
				size_t kl = key_lens[k];
				expect(prfs[p], key32, kl, cases[i].label, exp, kl);
				memset(out, 0xEE, sizeof(out));
				CU_ASSERT_EQUAL(mikey_kdf_mpk(NULL, prfs[p],
							      cases[i].which, key32, kl,
							      &rand32, out),
						KMS_EOK);
				/* outkey_len = the MPK's length. */
				CU_ASSERT_EQUAL(memcmp(out, exp, kl), 0);
				CU_ASSERT_EQUAL(out[kl], 0xEE);
			}
		}
	}
	/* MPKi and MPKr differ, and differ from the MPK itself. */
	uint8_t i16[16], r16[16];
	CU_ASSERT_EQUAL(mikey_kdf_mpk(NULL, 0, MIKEY_MPK_I, key32, 16, &rand32, i16),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_kdf_mpk(NULL, 0, MIKEY_MPK_R, key32, 16, &rand32, r16),
			KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(i16, r16, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(i16, key32, 16), 0);
}

static void given_bad_arguments_when_base_ticket_keys_then_error(void)
{
	uint8_t out[MIKEY_KEY_MAX + 1], big[MIKEY_RAND_MAX + 1] = { 0 };
	mikey_bytes_t too_long = { big, sizeof(big) }, empty = { NULL, 0 },
		      dangling = { NULL, 4 };
	CU_ASSERT_EQUAL(
	    mikey_kdf_tpk_key(NULL, 0, key32, 32, MIKEY_DK_TEK, &rand32, out, 16),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_tpk_key(NULL, 0, key32, 32, MIKEY_DK_AUTH, NULL, out, 16),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_tpk_key(NULL, 0, key32, 32, MIKEY_DK_AUTH, &empty, out, 16),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_tpk_key(NULL, 0, key32, 32, MIKEY_DK_AUTH, &dangling, out, 16),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_tpk_key(NULL, 0, key32, 32, MIKEY_DK_AUTH, &too_long, out, 16),
	    KMS_ERANGE);
	CU_ASSERT_EQUAL(
	    mikey_kdf_tpk_key(NULL, 9, key32, 32, MIKEY_DK_AUTH, &rand32, out, 16),
	    KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_kdf_mpk(NULL, 0, (mikey_mpk_t)2, key32, 16, &rand32, out),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_mpk(NULL, 0, MIKEY_MPK_I, key32, 16, NULL, out),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_kdf_mpk(NULL, 0, MIKEY_MPK_I, key32, 0, &rand32, out),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_kdf_mpk(NULL, 0, MIKEY_MPK_I, key32, MIKEY_KEY_MAX + 1, &rand32, out),
	    KMS_ERANGE);
}

int main(void)
{
	setup();
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_rfc3711_b3_when_srtp_kdf_then_cipher_key_salt_and_auth_key_match),
		UNIT_TEST(
		    given_aes256_master_key_when_srtp_kdf_then_labels_give_distinct_keys),
		UNIT_TEST(given_bad_arguments_when_srtp_kdf_then_einval_or_erange),
		UNIT_TEST(given_algorithms_when_asking_key_lengths_then_rfc_sizes),
		UNIT_TEST(
		    given_request_resp_when_msg_keys_then_label_is_c_ff_csb_02_randri_00),
		UNIT_TEST(
		    given_resolve_init_when_auth_key_then_label_is_c_ff_csb_01_00_randrr),
		UNIT_TEST(
		    given_both_rands_when_msg_key_then_both_length_prefixed_in_order),
		UNIT_TEST(given_bad_arguments_when_msg_key_then_error),
		UNIT_TEST(given_tgk_when_deriving_then_label_is_c_csid_ffffffff_03_rands),
		UNIT_TEST(given_no_rand_when_tgk_key_then_einval),
		UNIT_TEST(given_h_and_g_flags_when_srtp_master_then_rands_follow_flags),
		UNIT_TEST(given_missing_rand_when_srtp_master_then_etppar),
		UNIT_TEST(
		    given_mpkr_and_tgk_when_forking_then_label_has_16_bit_id_length),
		UNIT_TEST(given_id_over_255_bytes_when_forking_then_length_is_two_bytes),
		UNIT_TEST(
		    given_different_id_or_randrkms_when_forking_then_outputs_differ),
		UNIT_TEST(given_bad_arguments_when_forking_then_error),
		UNIT_TEST(given_mpkr_when_vr_key_then_label_is_2d22ac75_ff_ffffffff_04),
		UNIT_TEST(
		    given_tpk_when_base_ticket_keys_then_label_is_c_ff_ffffffff_05_rand),
		UNIT_TEST(given_tpk_label_written_byte_by_byte_when_auth_key_then_same),
		UNIT_TEST(given_mpk_when_mpki_mpkr_then_label_is_c_ff_ffffffff_06_rand),
		UNIT_TEST(given_bad_arguments_when_base_ticket_keys_then_error),
		UNIT_END,
	};
	return unit_run("kdf", tests);
}
