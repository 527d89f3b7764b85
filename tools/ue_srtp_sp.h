/*
 * kms-ue call: the SRTP suites of a call and the SP payload (RFC 3830
 * 6.10.1, SRTP policy) that names them in a TRANSFER_INIT.  No libsrtp2
 * here, so that the MIKEY steps can build an SP without linking it.
 *
 * Two suites: AES_CM_128_HMAC_SHA1_80 (16-byte TEK, the 128-bit MIKEY
 * suite) and AES_256_CM_HMAC_SHA1_80 (RFC 6188, 32-byte TEK, the 256-bit
 * suite); both with a 14-byte master salt, HMAC-SHA-1 with a 20-byte key
 * and a 10-byte tag, SRTP and SRTCP encrypted and authenticated, the
 * AES-CM PRF, key derivation rate 0, no FEC, no prefix.  An SP saying
 * anything else (another parameter value, an unknown type, another
 * protocol) is refused.
 */
#ifndef KMS_TOOLS_UE_SRTP_SP_H
#define KMS_TOOLS_UE_SRTP_SP_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"

typedef enum {
	UE_SRTP_AES128_SHA1_80 = 0,
	UE_SRTP_AES256_SHA1_80 = 1,
} ue_srtp_suite_t;

#define UE_SRTP_SP_PARAMS 10

/* "AES_CM_128_HMAC_SHA1_80" or "AES_256_CM_HMAC_SHA1_80". */
const char *ue_srtp_suite_name(ue_srtp_suite_t s);
/* Master key bytes of the suite (16 or 32). */
size_t ue_srtp_key_len(ue_srtp_suite_t s);

/*
 * The SP payload of a suite (policy number policy_no, protocol SRTP);
 * values points to UE_SRTP_SP_PARAMS bytes the caller keeps alive.
 */
void ue_srtp_sp_build(ue_srtp_suite_t s, uint8_t policy_no, mikey_sp_t *sp,
		      uint8_t values[UE_SRTP_SP_PARAMS]);
/* The suite an SP describes; KMS_EPOLICY for anything else. */
int ue_srtp_sp_suite(const mikey_sp_t *sp, ue_srtp_suite_t *out);

#endif
