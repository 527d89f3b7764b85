/*
 * kms-ue SRTP (see ue_srtp.h) over libsrtp2: one srtp_t per SSRC and
 * direction, so that the ROC of each is read back for the summary.
 */
#include "tools/ue_srtp.h"

#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"

#define SALT_LEN 14

struct ue_srtp {
	srtp_t s;
	uint32_t ssrc;
};

int ue_srtp_init(void)
{
	static bool done;
	if (!done && srtp_init() != srtp_err_status_ok) {
		return KMS_EINTERNAL;
	}
	done = true;
	return KMS_EOK;
}

int ue_srtp_new(ue_srtp_suite_t s, const uint8_t *key, const uint8_t *salt, uint32_t ssrc,
		ue_srtp_t **out)
{
	uint8_t master[32 + SALT_LEN];
	srtp_policy_t pol;
	size_t kl = ue_srtp_key_len(s);
	ue_srtp_t *c = calloc(1, sizeof(*c));
	int rc = KMS_ENOMEM;
	if (c == NULL) {
		goto cleanup;
	}
	memset(&pol, 0, sizeof(pol));
	if (s == UE_SRTP_AES256_SHA1_80) {
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	}
	memcpy(master, key, kl);
	memcpy(master + kl, salt, SALT_LEN);
	pol.ssrc.type = ssrc_specific;
	pol.ssrc.value = ssrc;
	pol.key = master;
	pol.window_size = 1024;
	rc = srtp_create(&c->s, &pol) == srtp_err_status_ok ? KMS_EOK : KMS_EINTERNAL;
	c->ssrc = ssrc;
cleanup:
	secmem_wipe(master, sizeof(master));
	if (rc != KMS_EOK) {
		free(c);
		return rc;
	}
	*out = c;
	return KMS_EOK;
}

void ue_srtp_free(ue_srtp_t *c)
{
	if (c == NULL) {
		return;
	}
	srtp_dealloc(c->s); /* libsrtp2 zeroises its key material */
	free(c);
}

int ue_srtp_protect(ue_srtp_t *c, uint8_t *pkt, size_t *len, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t e =
	    rtcp ? srtp_protect_rtcp(c->s, pkt, &n) : srtp_protect(c->s, pkt, &n);
	if (e != srtp_err_status_ok) {
		return KMS_EINTERNAL;
	}
	*len = (size_t)n;
	return KMS_EOK;
}

int ue_srtp_unprotect(ue_srtp_t *c, uint8_t *pkt, size_t *len, bool rtcp)
{
	int n = (int)*len;
	srtp_err_status_t e =
	    rtcp ? srtp_unprotect_rtcp(c->s, pkt, &n) : srtp_unprotect(c->s, pkt, &n);
	if (e == srtp_err_status_auth_fail) {
		return KMS_EAUTH;
	}
	if (e == srtp_err_status_replay_fail || e == srtp_err_status_replay_old) {
		return KMS_EREPLAY;
	}
	if (e != srtp_err_status_ok) {
		return KMS_EMALFORMED;
	}
	*len = (size_t)n;
	return KMS_EOK;
}

uint32_t ue_srtp_roc(const ue_srtp_t *c)
{
	uint32_t roc = 0;
	if (srtp_get_stream_roc(c->s, c->ssrc, &roc) != srtp_err_status_ok) {
		return 0;
	}
	return roc;
}
