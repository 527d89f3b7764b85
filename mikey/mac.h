/*
 * V payload MAC with the exact coverage of RFC 6043 5.5 (Table 5.2).
 *
 * The MAC covers the message up to and including its V payload's Auth alg
 * byte, then the appended data:
 *   REQUEST_INIT   || Identity_i || Identity_kms
 *   RESOLVE_INIT   || Identity_r || Identity_kms
 *   TRANSFER_INIT  || Identity_i || Identity_r, without the TICKET's
 *                     Initiator Data length and Initiator Data
 *   *_RESP         || the complete INIT message (including its MAC)
 *   Error          (nothing appended)
 * "Identity" is the ID Data value only.  Which identity to append when a
 * message omits one is a profile choice (mikey/profile.h).
 */
#ifndef KMS_MIKEY_MAC_H
#define KMS_MIKEY_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/msg.h"

/* Auth key length for a V Auth alg (20 / 32); 0 if unknown or NULL. */
size_t mikey_v_key_len(uint8_t alg);

/*
 * Compute the MAC of decoded message m (its V payload's algorithm), with
 * extra[0..nextra) appended.  mac gets mikey_mac_len(alg) bytes.
 */
int mikey_mac_compute(const mikey_msg_t *m, const uint8_t *key, size_t key_len,
		      const mikey_bytes_t *extra, size_t nextra, uint8_t *mac);

/* KMS_EOK when m's V MAC verifies (constant-time compare), else KMS_EMAC. */
int mikey_mac_verify(const mikey_msg_t *m, const uint8_t *key, size_t key_len,
		     const mikey_bytes_t *extra, size_t nextra);

/*
 * Fill in the V MAC of an encoded message (built with a placeholder MAC):
 * decodes buf, computes the MAC as above and writes it in place.
 */
int mikey_mac_sign(uint8_t *buf, size_t len, const uint8_t *key, size_t key_len,
		   const mikey_bytes_t *extra, size_t nextra);

/*
 * mikey_mac_sign() for a message this program has just built with
 * mikey_msg_build(), without decoding it again: its last payload is V with
 * Auth alg alg, so the MAC covers every byte before the MAC field (plus
 * extra) and fills the last mikey_mac_len(alg) bytes.  A TRANSFER_INIT
 * (whose coverage has a hole), or bytes that do not end in a V payload of
 * that algorithm, get KMS_EINVAL and are not touched.
 */
int mikey_mac_sign_last(uint8_t *buf, size_t len, uint8_t alg, const uint8_t *key,
			size_t key_len, const mikey_bytes_t *extra, size_t nextra);

/*
 * The Vr MAC of Initiator Data (RFC 6043 6.10): covers the Initiator Data
 * from its First Payload byte up to and including Vr's Auth alg byte.
 */
int mikey_init_data_mac(const uint8_t *init_data, size_t len, size_t vr_mac_off,
			uint8_t alg, const uint8_t *key, size_t key_len, uint8_t *mac);

#endif
