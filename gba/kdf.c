/*
 * GBA key derivation, written from TS 33.220 Annex B.2/B.3 and Annex H as
 * summarised in the spec digest (section 5).
 */
#include "gba/kdf.h"

#include <string.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"

#define GBA_FC_NAF 0x01
#define GBA_PARAM_MAX 65535
#define GBA_FQDN_MAX 255

static const uint8_t label_gba_me[] = { 'g', 'b', 'a', '-', 'm', 'e' };
static const uint8_t label_gba_u[] = { 'g', 'b', 'a', '-', 'u' };

int gba_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const gba_param_t *params,
	    size_t n, uint8_t out[GBA_KEY_LEN])
{
	if (key == NULL || key_len == 0 || out == NULL || fc == 0xff ||
	    n > GBA_KDF_PARAMS_MAX || (params == NULL && n > 0)) {
		return KMS_EINVAL;
	}
	/* S = FC || P0 || L0 || ... || Pn || Ln, fed to HMAC piece by piece. */
	uint8_t lens[GBA_KDF_PARAMS_MAX][2];
	crypto_iov_t iov[1 + 2 * GBA_KDF_PARAMS_MAX];
	size_t k = 0;
	iov[k++] = (crypto_iov_t){ &fc, 1 };
	for (size_t i = 0; i < n; i++) {
		if (params[i].len > GBA_PARAM_MAX ||
		    (params[i].p == NULL && params[i].len > 0)) {
			return KMS_EINVAL;
		}
		lens[i][0] = (uint8_t)(params[i].len >> 8);
		lens[i][1] = (uint8_t)(params[i].len & 0xff);
		iov[k++] = (crypto_iov_t){ params[i].p, params[i].len };
		iov[k++] = (crypto_iov_t){ lens[i], 2 };
	}
	uint8_t tmp[GBA_KEY_LEN];
	int ret = crypto_hmac(CRYPTO_MD_SHA256, key, key_len, iov, k, tmp);
	if (ret == KMS_EOK) {
		memcpy(out, tmp, GBA_KEY_LEN);
	}
	secmem_wipe(tmp, sizeof(tmp));
	return ret;
}

int gba_string_check(const char *s, size_t len)
{
	if (s == NULL && len > 0) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

/* A host name: 1..255 bytes of letters, digits, '-', '_' and '.'. */
static int fqdn_check(const char *fqdn, size_t *len)
{
	if (fqdn == NULL) {
		return KMS_EINVAL;
	}
	size_t n = strnlen(fqdn, GBA_FQDN_MAX + 1);
	if (n == 0) {
		return KMS_EINVAL;
	}
	if (n > GBA_FQDN_MAX) {
		return KMS_ELIMIT;
	}
	for (size_t i = 0; i < n; i++) {
		char c = fqdn[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
			return KMS_EINVAL;
		}
	}
	*len = n;
	return KMS_EOK;
}

int gba_naf_id(const char *fqdn, const uint8_t ua_id[GBA_UA_ID_LEN], uint8_t *out,
	       size_t cap, size_t *len)
{
	size_t n = 0;
	if (ua_id == NULL || out == NULL || len == NULL) {
		return KMS_EINVAL;
	}
	int ret = fqdn_check(fqdn, &n);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (cap < n + GBA_UA_ID_LEN) {
		return KMS_ESPACE;
	}
	memcpy(out, fqdn, n);
	memcpy(out + n, ua_id, GBA_UA_ID_LEN);
	*len = n + GBA_UA_ID_LEN;
	return KMS_EOK;
}

int gba_ks_naf(const uint8_t ck[16], const uint8_t ik[16],
	       const uint8_t rand[GBA_RAND_LEN], const char *impi, const uint8_t *naf_id,
	       size_t naf_id_len, bool gba_u, uint8_t out[GBA_KEY_LEN])
{
	if (ck == NULL || ik == NULL || rand == NULL || impi == NULL || naf_id == NULL ||
	    out == NULL || naf_id_len <= GBA_UA_ID_LEN) {
		return KMS_EINVAL;
	}
	if (naf_id_len > GBA_NAF_ID_MAX) {
		return KMS_ELIMIT;
	}
	size_t impi_len = strnlen(impi, GBA_IMPI_MAX + 1);
	if (impi_len == 0) {
		return KMS_EINVAL;
	}
	if (impi_len > GBA_IMPI_MAX) {
		return KMS_ELIMIT;
	}
	int ret = gba_string_check(impi, impi_len);
	if (ret != KMS_EOK) {
		return ret;
	}
	/* The FQDN part of NAF_Id is a string too (B.2.1.2). */
	ret = gba_string_check((const char *)naf_id, naf_id_len - GBA_UA_ID_LEN);
	if (ret != KMS_EOK) {
		return ret;
	}
	uint8_t ks[GBA_KEY_LEN];
	memcpy(ks, ck, 16);
	memcpy(ks + 16, ik, 16);
	const gba_param_t params[4] = {
		{ gba_u ? label_gba_u : label_gba_me,
		  gba_u ? sizeof(label_gba_u) : sizeof(label_gba_me) },
		{ rand, GBA_RAND_LEN },
		{ (const uint8_t *)impi, impi_len },
		{ naf_id, naf_id_len },
	};
	ret = gba_kdf(ks, sizeof(ks), GBA_FC_NAF, params, 4, out);
	secmem_wipe(ks, sizeof(ks));
	return ret;
}

int gba_btid(const uint8_t rand[GBA_RAND_LEN], const char *bsf_domain, char *out,
	     size_t cap)
{
	size_t dlen = 0;
	if (rand == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = fqdn_check(bsf_domain, &dlen);
	if (ret != KMS_EOK) {
		return ret;
	}
	char buf[GBA_BTID_MAX + 1];
	size_t blen = base64_encoded_len(GBA_RAND_LEN);
	if (blen + 1 + dlen > GBA_BTID_MAX) {
		return KMS_ELIMIT;
	}
	if (cap < blen + 1 + dlen + 1) {
		return KMS_ESPACE;
	}
	ret = base64_encode(rand, GBA_RAND_LEN, buf, sizeof(buf));
	if (ret != KMS_EOK) {
		return ret;
	}
	buf[blen] = '@';
	memcpy(buf + blen + 1, bsf_domain, dlen);
	buf[blen + 1 + dlen] = '\0';
	memcpy(out, buf, blen + dlen + 2);
	return KMS_EOK;
}
