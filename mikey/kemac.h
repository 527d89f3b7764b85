/*
 * KEMAC encryption (RFC 3830 4.2.3 and 6.2, RFC 6043): AES-CM-128,
 * AES-CM-256 and AES-KW-128 over a chain of key data sub-payloads.
 *
 * AES-CM IV = (salt_key XOR (0x0000 || CSB ID || T)) || 0x0000, where T is
 * the 64-bit timestamp (see mikey_ts_to64()); which message's T feeds the
 * IV is a profile choice (mikey/profile.h).  AES-KW uses the 64-bit salt
 * key as the RFC 3394 IV.
 */
#ifndef KMS_MIKEY_KEMAC_H
#define KMS_MIKEY_KEMAC_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"
#include "mikey/prf.h"

/* Output length for in_len bytes of plaintext (AES-KW pads to 8 and adds 8). */
size_t mikey_kemac_encr_len(uint8_t encr_alg, size_t in_len);

/*
 * Encrypt / decrypt KEMAC content.  encr_key and salt_key have the lengths
 * of mikey_encr_key_len() / mikey_salt_key_len() for encr_alg.  NULL
 * encryption copies.  Decrypting AES-KW data whose check fails gives
 * KMS_EAUTH.  *out_len is written on success only.  AES-KW input is
 * zero-padded to a multiple of 8 (at least 16) before wrapping.
 */
int mikey_kemac_encrypt(uint8_t encr_alg, const uint8_t *encr_key,
			const uint8_t *salt_key, uint32_t csb_id, uint64_t t64,
			const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			size_t *out_len);
int mikey_kemac_decrypt(uint8_t encr_alg, const uint8_t *encr_key,
			const uint8_t *salt_key, uint32_t csb_id, uint64_t t64,
			const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
			size_t *out_len);

/*
 * Whole-KEMAC helpers for MIKEY-TICKET: derive encr_key and salt_key from
 * inkey with the message-protection label (mikey_kdf_msg_key(), given dir,
 * csb_id and the RANDs, through the PRF cache pc, which may be NULL),
 * then encrypt the key chain (build) or decrypt and parse it (open).  For
 * open, keys point into plain, which the caller wipes when done.
 */
int mikey_kemac_seal(mikey_prf_cache_t *pc, uint8_t prf, uint8_t encr_alg,
		     const uint8_t *inkey, size_t inkey_len, uint32_t csb_id, uint8_t dir,
		     const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		     uint64_t t64, const mikey_keys_t *keys, uint8_t *out, size_t out_cap,
		     size_t *out_len);
int mikey_kemac_open(mikey_prf_cache_t *pc, uint8_t prf, const mikey_kemac_t *kemac,
		     const uint8_t *inkey, size_t inkey_len, uint32_t csb_id, uint8_t dir,
		     const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		     uint64_t t64, uint8_t *plain, size_t plain_cap, size_t *plain_len,
		     mikey_keys_t *keys);

#endif
