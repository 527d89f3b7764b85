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

#include "common/crypto.h"

#define MIKEY_PRF_OUT_MAX 256 /* bytes of output one call may ask for */
#define MIKEY_LABEL_MAX 1024
#define MIKEY_PRF_CHUNK 32 /* in-key chunk: 256 bits for both PRFs */

/*
 * A PRF key cache: the last in-key chunk keyed through it and that chunk's
 * HMAC pad states.  Several PRFs in a row on one key (a KMS request runs
 * four on its PSK) then cost one keying, two of the four or so digest
 * compressions a PRF needs.  The chunk is compared in constant time.
 *
 * A plain object the caller owns and puts where it likes (mikey keeps no
 * state): zero-initialised it is empty; it belongs to one thread at a time;
 * it holds key material, so its owner ends every unit of work with
 * mikey_prf_cache_wipe() (kmsd: the per-thread request context, wiped at
 * the end of every request).  Every function taking a cache accepts NULL:
 * then nothing is kept between calls.  A failed PRF wipes the cache.
 */
typedef struct {
	crypto_hmac_key_t k; /* k.keyed: the entry is valid */
	uint8_t s[MIKEY_PRF_CHUNK];
	size_t s_len;
} mikey_prf_cache_t;

/* Zero the cache (empty again); NULL is a no-op. */
void mikey_prf_cache_wipe(mikey_prf_cache_t *cache);

/* prf is MIKEY_PRF_MIKEY1 or MIKEY_PRF_HMAC_SHA256 (else KMS_EPRF); cache
 * may be NULL. */
int mikey_prf(mikey_prf_cache_t *cache, uint8_t prf, const uint8_t *inkey,
	      size_t inkey_len, const uint8_t *label, size_t label_len, uint8_t *out,
	      size_t out_len);

#endif
