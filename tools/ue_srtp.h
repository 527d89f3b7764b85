/*
 * kms-ue call: SRTP and SRTCP through libsrtp2 with keys from MIKEY, and
 * the SRTP policy (SP payload, RFC 3830 6.10.1) that names the suite.
 *
 * Two suites: AES_CM_128_HMAC_SHA1_80 (16-byte TEK, the 128-bit MIKEY
 * suite) and AES_256_CM_HMAC_SHA1_80 (RFC 6188, 32-byte TEK, the 256-bit
 * suite); both with a 14-byte master salt, HMAC-SHA-1 with a 20-byte key
 * and a 10-byte tag, SRTP and SRTCP encrypted and authenticated, the
 * AES-CM PRF and key derivation rate 0.  An SP that says anything else
 * is refused.
 */
#ifndef KMS_TOOLS_UE_SRTP_H
#define KMS_TOOLS_UE_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"
#include "tools/ue_srtp_sp.h"

#define UE_SRTP_TRAILER_MAX 144 /* SRTP_MAX_TRAILER_LEN and the SRTCP index */

typedef struct ue_srtp ue_srtp_t;

/* Once per process (srtp_init); KMS_EINTERNAL on failure. */
int ue_srtp_init(void);

/*
 * A context for one SSRC and direction: key (ue_srtp_key_len bytes) and
 * the 14-byte salt are copied into libsrtp2 and wiped here.
 */
int ue_srtp_new(ue_srtp_suite_t s, const uint8_t *key, const uint8_t *salt, uint32_t ssrc,
		ue_srtp_t **out);
void ue_srtp_free(ue_srtp_t *c); /* NULL is a no-op */

/* In place; pkt has room for *len + UE_SRTP_TRAILER_MAX bytes. */
int ue_srtp_protect(ue_srtp_t *c, uint8_t *pkt, size_t *len, bool rtcp);
/* KMS_EAUTH when authentication fails, KMS_EREPLAY on a replay. */
int ue_srtp_unprotect(ue_srtp_t *c, uint8_t *pkt, size_t *len, bool rtcp);
/* The rollover counter libsrtp2 holds for the context's SSRC. */
uint32_t ue_srtp_roc(const ue_srtp_t *c);

#endif
