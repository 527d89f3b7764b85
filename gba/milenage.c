/*
 * MILENAGE, written from the algorithm description of TS 35.206 section 4:
 *
 *   TEMP = E_K(RAND XOR OPc)
 *   IN1  = SQN || AMF || SQN || AMF
 *   OUT1 = E_K(TEMP XOR rot(IN1 XOR OPc, r1) XOR c1) XOR OPc
 *   OUTi = E_K(rot(TEMP XOR OPc, ri) XOR ci) XOR OPc        (i = 2..5)
 *
 * with r1..r5 = 64, 0, 32, 64, 96 bits, c1..c5 = 0, 1, 2, 4, 8 in the last
 * byte, and rot() a cyclic rotation towards the most significant bit.
 *   f1 = OUT1[0..63], f1* = OUT1[64..127], f2 = OUT2[64..127],
 *   f5 = OUT2[0..47], f3 = OUT3, f4 = OUT4, f5* = OUT5[0..47].
 */
#include "gba/milenage.h"

#include <stddef.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"

#define BLK 16

static void xor16(uint8_t *dst, const uint8_t *a, const uint8_t *b)
{
	for (size_t i = 0; i < BLK; i++) {
		dst[i] = a[i] ^ b[i];
	}
}

/* dst = in rotated left by r bytes (r a multiple of 8 bits, so whole bytes). */
static void rot16(uint8_t *dst, const uint8_t *in, size_t r)
{
	for (size_t i = 0; i < BLK; i++) {
		dst[i] = in[(i + r) % BLK];
	}
}

/* OUT1 for (SQN, AMF): MAC-A in bytes 0..7, MAC-S in bytes 8..15. */
static int out1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		const uint8_t sqn[MILENAGE_SQN_LEN], const uint8_t amf[MILENAGE_AMF_LEN],
		uint8_t out[BLK])
{
	uint8_t temp[BLK], in1[BLK], x[BLK];
	int ret = KMS_EINVAL;
	if (k == NULL || opc == NULL || rand == NULL || sqn == NULL || amf == NULL) {
		goto cleanup;
	}
	xor16(x, rand, opc);
	ret = crypto_aes_block(k, x, temp);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	memcpy(in1, sqn, MILENAGE_SQN_LEN);
	memcpy(in1 + 6, amf, MILENAGE_AMF_LEN);
	memcpy(in1 + 8, sqn, MILENAGE_SQN_LEN);
	memcpy(in1 + 14, amf, MILENAGE_AMF_LEN);
	xor16(in1, in1, opc);
	rot16(x, in1, 64 / 8); /* r1 = 64, c1 = 0 */
	xor16(x, x, temp);
	ret = crypto_aes_block(k, x, out);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	xor16(out, out, opc);
cleanup:
	secmem_wipe(temp, sizeof(temp));
	secmem_wipe(in1, sizeof(in1));
	secmem_wipe(x, sizeof(x));
	return ret;
}

/* OUT2..OUT5 into outs[0..3]. */
static int out2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		   uint8_t outs[4][BLK])
{
	static const size_t r[4] = { 0, 32 / 8, 64 / 8, 96 / 8 };
	static const uint8_t c[4] = { 1, 2, 4, 8 };
	uint8_t temp[BLK], x[BLK];
	int ret = KMS_EINVAL;
	if (k == NULL || opc == NULL || rand == NULL) {
		goto cleanup;
	}
	xor16(x, rand, opc);
	ret = crypto_aes_block(k, x, temp);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	xor16(temp, temp, opc); /* TEMP XOR OPc, rotated for each output */
	for (size_t i = 0; i < 4; i++) {
		rot16(x, temp, r[i]);
		x[BLK - 1] ^= c[i];
		ret = crypto_aes_block(k, x, outs[i]);
		if (ret != KMS_EOK) {
			goto cleanup;
		}
		xor16(outs[i], outs[i], opc);
	}
cleanup:
	secmem_wipe(temp, sizeof(temp));
	secmem_wipe(x, sizeof(x));
	return ret;
}

int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	uint8_t tmp[BLK];
	if (k == NULL || op == NULL || opc == NULL) {
		return KMS_EINVAL;
	}
	int ret = crypto_aes_block(k, op, tmp);
	if (ret == KMS_EOK) {
		xor16(opc, tmp, op);
	}
	secmem_wipe(tmp, sizeof(tmp));
	return ret;
}

int milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		const uint8_t sqn[MILENAGE_SQN_LEN], const uint8_t amf[MILENAGE_AMF_LEN],
		uint8_t mac_a[8], uint8_t mac_s[8])
{
	uint8_t o1[BLK];
	int ret = out1(k, opc, rand, sqn, amf, o1);
	if (ret == KMS_EOK) {
		if (mac_a != NULL) {
			memcpy(mac_a, o1, 8);
		}
		if (mac_s != NULL) {
			memcpy(mac_s, o1 + 8, 8);
		}
	}
	secmem_wipe(o1, sizeof(o1));
	return ret;
}

int milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		   uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
		   uint8_t akstar[6])
{
	uint8_t o[4][BLK];
	int ret = out2345(k, opc, rand, o);
	if (ret == KMS_EOK) {
		if (res != NULL) {
			memcpy(res, o[0] + 8, 8);
		}
		if (ak != NULL) {
			memcpy(ak, o[0], 6);
		}
		if (ck != NULL) {
			memcpy(ck, o[1], 16);
		}
		if (ik != NULL) {
			memcpy(ik, o[2], 16);
		}
		if (akstar != NULL) {
			memcpy(akstar, o[3], 6);
		}
	}
	secmem_wipe(o, sizeof(o));
	return ret;
}

int milenage_autn(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		  const uint8_t sqn[MILENAGE_SQN_LEN],
		  const uint8_t amf[MILENAGE_AMF_LEN], uint8_t autn[MILENAGE_AUTN_LEN])
{
	uint8_t mac_a[8], ak[6];
	if (autn == NULL) {
		return KMS_EINVAL;
	}
	int ret = milenage_f1(k, opc, rand, sqn, amf, mac_a, NULL);
	if (ret == KMS_EOK) {
		ret = milenage_f2345(k, opc, rand, NULL, NULL, NULL, ak, NULL);
	}
	if (ret == KMS_EOK) {
		for (size_t i = 0; i < MILENAGE_SQN_LEN; i++) {
			autn[i] = sqn[i] ^ ak[i];
		}
		memcpy(autn + 6, amf, MILENAGE_AMF_LEN);
		memcpy(autn + 8, mac_a, 8);
	}
	secmem_wipe(mac_a, sizeof(mac_a));
	secmem_wipe(ak, sizeof(ak));
	return ret;
}

int milenage_check_autn(const uint8_t k[16], const uint8_t opc[16],
			const uint8_t rand[16], const uint8_t autn[MILENAGE_AUTN_LEN],
			uint8_t sqn[MILENAGE_SQN_LEN], uint8_t res[8], uint8_t ck[16],
			uint8_t ik[16])
{
	uint8_t o[4][BLK], s[MILENAGE_SQN_LEN], xmac[8];
	int ret = KMS_EINVAL;
	if (autn == NULL) {
		goto cleanup;
	}
	ret = out2345(k, opc, rand, o);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	for (size_t i = 0; i < MILENAGE_SQN_LEN; i++) {
		s[i] = autn[i] ^ o[0][i]; /* SQN = (SQN XOR AK) XOR AK */
	}
	ret = milenage_f1(k, opc, rand, s, autn + 6, xmac, NULL);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	if (!secmem_eq(xmac, autn + 8, 8)) {
		ret = KMS_EMAC;
		goto cleanup;
	}
	if (sqn != NULL) {
		memcpy(sqn, s, MILENAGE_SQN_LEN);
	}
	if (res != NULL) {
		memcpy(res, o[0] + 8, 8);
	}
	if (ck != NULL) {
		memcpy(ck, o[1], 16);
	}
	if (ik != NULL) {
		memcpy(ik, o[2], 16);
	}
cleanup:
	secmem_wipe(o, sizeof(o));
	secmem_wipe(s, sizeof(s));
	secmem_wipe(xmac, sizeof(xmac));
	return ret;
}

/* TS 33.102 6.3.3: the AMF in f1* for AUTS is the dummy value 0x0000. */
static const uint8_t amf_resync[MILENAGE_AMF_LEN] = { 0x00, 0x00 };

int milenage_auts(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		  const uint8_t sqn_ms[MILENAGE_SQN_LEN], uint8_t auts[MILENAGE_AUTS_LEN])
{
	uint8_t mac_s[8], akstar[6];
	if (auts == NULL || sqn_ms == NULL) {
		return KMS_EINVAL;
	}
	int ret = milenage_f1(k, opc, rand, sqn_ms, amf_resync, NULL, mac_s);
	if (ret == KMS_EOK) {
		ret = milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, akstar);
	}
	if (ret == KMS_EOK) {
		for (size_t i = 0; i < MILENAGE_SQN_LEN; i++) {
			auts[i] = sqn_ms[i] ^ akstar[i];
		}
		memcpy(auts + MILENAGE_SQN_LEN, mac_s, 8);
	}
	secmem_wipe(mac_s, sizeof(mac_s));
	secmem_wipe(akstar, sizeof(akstar));
	return ret;
}

int milenage_resync(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
		    const uint8_t auts[MILENAGE_AUTS_LEN],
		    uint8_t sqn_ms[MILENAGE_SQN_LEN])
{
	uint8_t akstar[6], s[MILENAGE_SQN_LEN], xmac[8];
	int ret = KMS_EINVAL;
	if (auts == NULL || sqn_ms == NULL) {
		goto cleanup;
	}
	ret = milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, akstar);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	for (size_t i = 0; i < MILENAGE_SQN_LEN; i++) {
		s[i] = auts[i] ^ akstar[i];
	}
	ret = milenage_f1(k, opc, rand, s, amf_resync, NULL, xmac);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	if (!secmem_eq(xmac, auts + MILENAGE_SQN_LEN, 8)) {
		ret = KMS_EMAC;
		goto cleanup;
	}
	memcpy(sqn_ms, s, MILENAGE_SQN_LEN);
cleanup:
	secmem_wipe(akstar, sizeof(akstar));
	secmem_wipe(s, sizeof(s));
	secmem_wipe(xmac, sizeof(xmac));
	return ret;
}
