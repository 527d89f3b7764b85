/*
 * The MIKEY PRF (RFC 3830 4.1.2) and PRF-HMAC-SHA-256 (RFC 6043 6.1).
 *
 * P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label),
 * A_0 = label, A_i = HMAC(s, A_{i-1}).  The in-key is split into 256-bit
 * chunks (the last may be shorter); the outputs for each chunk are XORed.
 */
#ifndef KMS_MIKEY_PRF_H
#define KMS_MIKEY_PRF_H

#include <stddef.h>
#include <stdint.h>

#define MIKEY_PRF_OUT_MAX 256 /* bytes of output one call may ask for */
#define MIKEY_LABEL_MAX 1024

/*
 * prf is MIKEY_PRF_MIKEY1 or MIKEY_PRF_HMAC_SHA256 (else KMS_EPRF).
 * The calling thread keeps the HMAC key of the in-key's last 256-bit chunk
 * for the next call (several PRFs in a row on one key cost one keying);
 * mikey_prf_forget() wipes it, and a long-lived thread calls it when a
 * unit of work is done (kmsd: at the end of every request).
 */
int mikey_prf(uint8_t prf, const uint8_t *inkey, size_t inkey_len, const uint8_t *label,
	      size_t label_len, uint8_t *out, size_t out_len);

/* Wipe the calling thread's kept PRF key (a no-op when there is none). */
void mikey_prf_forget(void);

#endif
