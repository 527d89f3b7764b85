/*
 * Ticket Policy rules (RFC 6043 6.10, 12.1): flag dependencies and the
 * 128/256-bit algorithm sets.
 */
#ifndef KMS_MIKEY_TP_H
#define KMS_MIKEY_TP_H

#include <stdbool.h>
#include <stdint.h>

#include "mikey/payload.h"

/*
 * KMS_EOK when flags satisfy every dependency: NOT D => L; G => F;
 * NOT G => H; NOT H => G; I => E; K => D; M => F; I with a TGK => F;
 * reserved bits are 0.  KMS_ETPPAR otherwise.
 */
int mikey_tp_check_flags(uint16_t flags, bool has_tgk);

/*
 * The smallest change of requested that satisfies the dependencies, with
 * the bits in force_on set and those in force_off cleared first (local
 * policy).  K is ignored on input and set on output when the result
 * differs from the request (K implies D, so a KMS-granted policy has D).
 */
uint16_t mikey_tp_normalise(uint16_t requested, bool has_tgk, uint16_t force_on,
			    uint16_t force_off);

/*
 * Algorithm set rule: the 256-bit algorithms (PRF-HMAC-SHA-256,
 * AES-CM-256, HMAC-SHA-256-256) are not mixed with the 128-bit ones, and
 * keys longer than 16 bytes need the 256-bit set.  encr_alg / mac_alg may
 * be NULL (0) where a message has none.  Returns KMS_EOK, KMS_EPRF,
 * KMS_EEA or KMS_EHA naming the offending algorithm.
 */
int mikey_alg_check(uint8_t prf, uint8_t encr_alg, uint8_t mac_alg, size_t max_key_len);

/* Human-readable flag string "D.F.HI..L..." (12 chars + NUL). */
void mikey_tp_flags_str(uint16_t flags, char out[13]);

#endif
