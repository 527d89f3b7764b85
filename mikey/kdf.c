/*
 * Key derivations of RFC 6043 5.1 and the SRTP KDF of RFC 3711 4.3.1.
 *
 * Every label is written through a wire_wr_t into a stack buffer, so its
 * layout reads exactly like the RFC text, and its size is checked once.
 */
#include "mikey/kdf.h"

#include <stdbool.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"
#include "mikey/prf.h"

/* Direction / purpose byte after the CSB ID field (RFC 6043 5.1). */
#define LABEL_FORK 0x00
#define LABEL_TGK 0x03
#define LABEL_VR 0x04
#define LABEL_TPK 0x05 /* base ticket keys from the TPK (Appendix A) */
#define LABEL_MPK 0x06 /* MPKi / MPKr from the base ticket's MPK */

#define CSB_ID_NONE 0xFFFFFFFFu /* "CSB ID" of TGK, forking and Vr labels */
#define SRTP_SALT_LEN 14
#define SRTP_LABEL_MAX 0x05 /* SRTCP salt */

size_t mikey_encr_key_len(uint8_t encr_alg)
{
	switch (encr_alg) {
	case MIKEY_ENCR_AES_CM_128:
	case MIKEY_ENCR_AES_KW_128:
		return 16;
	case MIKEY_ENCR_AES_CM_256:
		return 32;
	default:
		return 0;
	}
}

size_t mikey_salt_key_len(uint8_t encr_alg)
{
	switch (encr_alg) {
	case MIKEY_ENCR_AES_CM_128:
	case MIKEY_ENCR_AES_CM_256:
		return 14;
	case MIKEY_ENCR_AES_KW_128:
		return 8;
	default:
		return 0;
	}
}

size_t mikey_auth_key_len(uint8_t mac_alg)
{
	switch (mac_alg) {
	case MIKEY_MAC_HMAC_SHA1_160:
		return 20;
	case MIKEY_MAC_HMAC_SHA256_256:
		return 32;
	default:
		return 0;
	}
}

/* An optional RAND: NULL or empty means "not included". */
static int rand_check(const mikey_bytes_t *r)
{
	if (r == NULL) {
		return KMS_EOK;
	}
	if (r->data == NULL && r->len > 0) {
		return KMS_EINVAL;
	}
	return r->len > MIKEY_RAND_MAX ? KMS_ERANGE : KMS_EOK;
}

static size_t rand_len(const mikey_bytes_t *r)
{
	return r == NULL ? 0 : r->len;
}

/* "len (1 byte) || value", or a single 0x00 for an absent RAND. */
static void wr_rand(wire_wr_t *w, const mikey_bytes_t *r)
{
	size_t n = rand_len(r);
	wire_wr_u8(w, (uint8_t)n);
	if (n > 0) {
		wire_wr_bytes(w, r->data, n);
	}
}

/* PRF over the label built in w (checked for a sticky write error first). */
static int prf_label(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *inkey,
		     size_t inkey_len, const wire_wr_t *w, uint8_t *out, size_t out_len)
{
	int ret = wire_wr_error(w);
	if (ret != KMS_EOK) {
		return ret == KMS_ESPACE ? KMS_ERANGE : ret;
	}
	return mikey_prf(pc, prf, inkey, inkey_len, w->base, wire_wr_offset(w), out,
			 out_len);
}

/* The constant of an encryption, authentication or salt key (RFC 3830
 * 4.1.4), used for message keys and for keys from a TPK alike. */
static bool msg_key_constant(mikey_dk_t which, uint32_t *c)
{
	switch (which) {
	case MIKEY_DK_ENCR:
		*c = MIKEY_C_ENCR;
		return true;
	case MIKEY_DK_AUTH:
		*c = MIKEY_C_AUTH;
		return true;
	case MIKEY_DK_SALT:
		*c = MIKEY_C_SALT;
		return true;
	default:
		return false;
	}
}

int mikey_kdf_msg_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *inkey,
		      size_t inkey_len, mikey_dk_t which, uint32_t csb_id, uint8_t dir,
		      const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		      uint8_t *out, size_t out_len)
{
	uint32_t c;
	if (!msg_key_constant(which, &c)) {
		return KMS_EINVAL;
	}
	if (dir != MIKEY_DIR_INIT && dir != MIKEY_DIR_RESP) {
		return KMS_EINVAL;
	}
	int ret = rand_check(randri);
	if (ret == KMS_EOK) {
		ret = rand_check(randrr);
	}
	if (ret != KMS_EOK) {
		return ret;
	}

	/* C || 0xFF || CSB ID || D || len(RANDRi) || RANDRi || len(RANDRr) || RANDRr */
	uint8_t label[4 + 1 + 4 + 1 + 2 * (1 + MIKEY_RAND_MAX)];
	wire_wr_t w;
	wire_wr_init(&w, label, sizeof(label));
	wire_wr_u32(&w, c);
	wire_wr_u8(&w, 0xFF);
	wire_wr_u32(&w, csb_id);
	wire_wr_u8(&w, dir);
	wr_rand(&w, randri);
	wr_rand(&w, randrr);
	return prf_label(pc, prf, inkey, inkey_len, &w, out, out_len);
}

int mikey_kdf_tgk_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *tgk,
		      size_t tgk_len, mikey_dk_t which, uint8_t cs_id,
		      const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		      uint8_t *out, size_t out_len)
{
	uint32_t c;
	switch (which) {
	case MIKEY_DK_TEK:
		c = MIKEY_C_TEK;
		break;
	case MIKEY_DK_AUTH:
		c = MIKEY_C_TGK_AUTH;
		break;
	case MIKEY_DK_ENCR:
		c = MIKEY_C_TGK_ENCR;
		break;
	case MIKEY_DK_SALT:
		c = MIKEY_C_TGK_SALT;
		break;
	default:
		return KMS_EINVAL;
	}
	int ret = rand_check(randri);
	if (ret == KMS_EOK) {
		ret = rand_check(randrr);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	/* At least one of RANDRi (H) and RANDRr (G) feeds the label. */
	if (rand_len(randri) == 0 && rand_len(randrr) == 0) {
		return KMS_EINVAL;
	}

	/* C || CS ID || 0xFFFFFFFF || 0x03 || len(RANDRi) || [RANDRi] || len(RANDRr) || [RANDRr] */
	uint8_t label[4 + 1 + 4 + 1 + 2 * (1 + MIKEY_RAND_MAX)];
	wire_wr_t w;
	wire_wr_init(&w, label, sizeof(label));
	wire_wr_u32(&w, c);
	wire_wr_u8(&w, cs_id);
	wire_wr_u32(&w, CSB_ID_NONE);
	wire_wr_u8(&w, LABEL_TGK);
	wr_rand(&w, randri);
	wr_rand(&w, randrr);
	return prf_label(pc, prf, tgk, tgk_len, &w, out, out_len);
}

int mikey_kdf_srtp_master(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *tgk,
			  size_t tgk_len, uint8_t cs_id, uint16_t tp_flags,
			  const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
			  uint8_t *key, size_t key_len, uint8_t salt[14])
{
	bool h = (tp_flags & MIKEY_TPF_H) != 0, g = (tp_flags & MIKEY_TPF_G) != 0;
	if ((!h && !g) || (h && rand_len(randri) == 0) || (g && rand_len(randrr) == 0)) {
		return KMS_ETPPAR;
	}
	const mikey_bytes_t *ri = h ? randri : NULL, *rr = g ? randrr : NULL;
	uint8_t k[MIKEY_KEY_MAX], s[14];
	int ret = key_len <= sizeof(k) ? KMS_EOK : KMS_EINVAL;
	if (ret == KMS_EOK) {
		ret = mikey_kdf_tgk_key(pc, prf, tgk, tgk_len, MIKEY_DK_TEK, cs_id, ri,
					rr, k, key_len);
	}
	if (ret == KMS_EOK) {
		ret = mikey_kdf_tgk_key(pc, prf, tgk, tgk_len, MIKEY_DK_SALT, cs_id, ri,
					rr, s, sizeof(s));
	}
	if (ret == KMS_EOK) {
		memcpy(key, k, key_len);
		memcpy(salt, s, sizeof(s));
	}
	secmem_wipe(k, sizeof(k));
	secmem_wipe(s, sizeof(s));
	return ret;
}

int mikey_kdf_fork(mikey_prf_cache_t *pc, uint8_t prf, mikey_fork_t what,
		   const uint8_t *inkey, size_t inkey_len, const mikey_bytes_t *id_data,
		   const mikey_bytes_t *randrkms, uint8_t *out)
{
	uint32_t c;
	if (what == MIKEY_FORK_MPKR) {
		c = MIKEY_C_FORK_MPKR;
	} else if (what == MIKEY_FORK_TGK) {
		c = MIKEY_C_FORK_TGK;
	} else {
		return KMS_EINVAL;
	}
	if (id_data == NULL || (id_data->data == NULL && id_data->len > 0) ||
	    randrkms == NULL || randrkms->data == NULL || randrkms->len == 0) {
		return KMS_EINVAL;
	}
	if (id_data->len > MIKEY_ID_MAX || randrkms->len > MIKEY_RAND_MAX ||
	    inkey_len > MIKEY_KEY_MAX) {
		return KMS_ERANGE;
	}

	/* C || 0xFF || 0xFFFFFFFF || 0x00 || len16(ID Data) || ID Data || len8(RANDRkms) || RANDRkms */
	uint8_t label[4 + 1 + 4 + 1 + 2 + MIKEY_ID_MAX + 1 + MIKEY_RAND_MAX];
	wire_wr_t w;
	wire_wr_init(&w, label, sizeof(label));
	wire_wr_u32(&w, c);
	wire_wr_u8(&w, 0xFF);
	wire_wr_u32(&w, CSB_ID_NONE);
	wire_wr_u8(&w, LABEL_FORK);
	wire_wr_u16(&w, (uint16_t)id_data->len);
	if (id_data->len > 0) {
		wire_wr_bytes(&w, id_data->data, id_data->len);
	}
	wr_rand(&w, randrkms);
	/* outkey_len = inkey_len; mikey_prf() rejects an empty or NULL in-key. */
	return prf_label(pc, prf, inkey, inkey_len, &w, out, inkey_len);
}

int mikey_kdf_vr_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *mpkr,
		     size_t mpkr_len, uint8_t *out, size_t out_len)
{
	/* 0x2D22AC75 || 0xFF || 0xFFFFFFFF || 0x04 */
	uint8_t label[4 + 1 + 4 + 1];
	wire_wr_t w;
	wire_wr_init(&w, label, sizeof(label));
	wire_wr_u32(&w, MIKEY_C_AUTH);
	wire_wr_u8(&w, 0xFF);
	wire_wr_u32(&w, CSB_ID_NONE);
	wire_wr_u8(&w, LABEL_VR);
	return prf_label(pc, prf, mpkr, mpkr_len, &w, out, out_len);
}

/* PRF(inkey, C || 0xFF || 0xFFFFFFFF || purpose || len(RAND) || RAND): the
 * base ticket labels of RFC 6043 Appendix A; RAND is required. */
static int base_ticket_key(mikey_prf_cache_t *pc, uint8_t prf, uint32_t c,
			   uint8_t purpose, const uint8_t *inkey, size_t inkey_len,
			   const mikey_bytes_t *rand, uint8_t *out, size_t out_len)
{
	if (rand == NULL || rand->data == NULL || rand->len == 0) {
		return KMS_EINVAL;
	}
	if (rand->len > MIKEY_RAND_MAX) {
		return KMS_ERANGE;
	}
	uint8_t label[4 + 1 + 4 + 1 + 1 + MIKEY_RAND_MAX];
	wire_wr_t w;
	wire_wr_init(&w, label, sizeof(label));
	wire_wr_u32(&w, c);
	wire_wr_u8(&w, 0xFF);
	wire_wr_u32(&w, CSB_ID_NONE);
	wire_wr_u8(&w, purpose);
	wr_rand(&w, rand);
	return prf_label(pc, prf, inkey, inkey_len, &w, out, out_len);
}

int mikey_kdf_tpk_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *tpk,
		      size_t tpk_len, mikey_dk_t which, const mikey_bytes_t *rand,
		      uint8_t *out, size_t out_len)
{
	uint32_t c;
	if (!msg_key_constant(which, &c)) {
		return KMS_EINVAL;
	}
	/* C || 0xFF || 0xFFFFFFFF || 0x05 || len(RAND) || RAND */
	return base_ticket_key(pc, prf, c, LABEL_TPK, tpk, tpk_len, rand, out, out_len);
}

int mikey_kdf_mpk(mikey_prf_cache_t *pc, uint8_t prf, mikey_mpk_t which,
		  const uint8_t *mpk, size_t mpk_len, const mikey_bytes_t *rand,
		  uint8_t *out)
{
	uint32_t c;
	if (which == MIKEY_MPK_I) {
		c = MIKEY_C_MPKI;
	} else if (which == MIKEY_MPK_R) {
		c = MIKEY_C_MPKR;
	} else {
		return KMS_EINVAL;
	}
	if (mpk_len > MIKEY_KEY_MAX) {
		return KMS_ERANGE;
	}
	/* C || 0xFF || 0xFFFFFFFF || 0x06 || len(RAND) || RAND; outkey_len = inkey_len */
	return base_ticket_key(pc, prf, c, LABEL_MPK, mpk, mpk_len, rand, out, mpk_len);
}

int mikey_srtp_kdf(const uint8_t *master_key, size_t key_len,
		   const uint8_t master_salt[14], uint8_t label, uint8_t *out,
		   size_t out_len)
{
	uint8_t iv[CRYPTO_AES_BLOCK] = { 0 };
	uint8_t buf[MIKEY_PRF_OUT_MAX] = { 0 };
	int ret = KMS_EOK;

	if (master_key == NULL || master_salt == NULL || out == NULL || out_len == 0 ||
	    (key_len != 16 && key_len != 32) || label > SRTP_LABEL_MAX) {
		ret = KMS_EINVAL;
		goto cleanup;
	}
	if (out_len > sizeof(buf)) {
		ret = KMS_ERANGE;
		goto cleanup;
	}
	/*
	 * kdr 0: r = 0, key_id = label || 0^48 (56 bits); x = key_id XOR
	 * master_salt, aligned to the right of the 112-bit salt, so the label
	 * lands on salt byte 7.  IV = x || 0x0000.
	 */
	memcpy(iv, master_salt, SRTP_SALT_LEN);
	iv[SRTP_SALT_LEN - 7] ^= label;
	iv[14] = 0;
	iv[15] = 0;
	ret = crypto_aes_cm(master_key, key_len, iv, buf, buf, out_len);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	memcpy(out, buf, out_len);
cleanup:
	secmem_wipe(iv, sizeof(iv));
	secmem_wipe(buf, sizeof(buf));
	return ret;
}
