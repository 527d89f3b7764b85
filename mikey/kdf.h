/*
 * Key derivations of RFC 6043 section 5.1 (and RFC 3711 for SRTP).
 *
 * Labels are built exactly as the RFC writes them; every RAND enters a
 * label as "length (1 byte) || value", and an absent RAND as a single 0x00.
 * Every derivation runs the PRF through the caller's cache pc (NULL: none;
 * mikey/prf.h says what it keeps and who wipes it).
 */
#ifndef KMS_MIKEY_KDF_H
#define KMS_MIKEY_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"
#include "mikey/prf.h"

/* Constants of RFC 3830 4.1.3/4.1.4 and RFC 6043 5.1. */
#define MIKEY_C_TEK 0x2AD01C64u
#define MIKEY_C_TGK_AUTH 0x1B5C7973u
#define MIKEY_C_TGK_ENCR 0x15798CEFu
#define MIKEY_C_TGK_SALT 0x39A2C14Bu
#define MIKEY_C_ENCR 0x150533E1u
#define MIKEY_C_AUTH 0x2D22AC75u
#define MIKEY_C_SALT 0x29B88916u
#define MIKEY_C_FORK_MPKR 0x2B288856u
#define MIKEY_C_FORK_TGK 0x1512B54Au
#define MIKEY_C_MPKI 0x220E99A2u /* RFC 6043 Appendix A */
#define MIKEY_C_MPKR 0x1F4D675Bu

/* Direction byte D of message-protection labels. */
enum mikey_dir {
	MIKEY_DIR_INIT = 0x01,
	MIKEY_DIR_RESP = 0x02,
};

/* Which key a derivation produces. */
typedef enum {
	MIKEY_DK_ENCR = 0,
	MIKEY_DK_AUTH = 1,
	MIKEY_DK_SALT = 2,
	MIKEY_DK_TEK = 3, /* from a TGK only */
} mikey_dk_t;

/* Forking targets (RFC 6043 5.1.1). */
typedef enum {
	MIKEY_FORK_MPKR = 0,
	MIKEY_FORK_TGK = 1,
} mikey_fork_t;

/* The two keys a MIKEY base ticket's MPK gives (RFC 6043 Appendix A). */
typedef enum {
	MIKEY_MPK_I = 0, /* MPKi: protects the Initiator's messages */
	MIKEY_MPK_R = 1, /* MPKr: protects the Responder's messages */
} mikey_mpk_t;

/* Key sizes in bytes for algorithms; 0 for unknown or NULL algorithms. */
size_t mikey_encr_key_len(uint8_t encr_alg); /* 16 or 32 */
size_t mikey_salt_key_len(uint8_t encr_alg); /* 14 for AES-CM, 8 for AES-KW */
size_t mikey_auth_key_len(uint8_t mac_alg);  /* 20 or 32 */

/*
 * Keys protecting Request, Resolve and Transfer messages (RFC 6043 5.1.2):
 * label = C || 0xFF || CSB ID || D || len(RANDRi) || RANDRi || len(RANDRr) || RANDRr.
 * randri / randrr may be NULL (or empty) for "not included".
 * which is ENCR, AUTH or SALT; out_len is the wanted key size.
 */
int mikey_kdf_msg_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *inkey,
		      size_t inkey_len, mikey_dk_t which, uint32_t csb_id, uint8_t dir,
		      const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		      uint8_t *out, size_t out_len);

/*
 * Keys derived from a TGK / TGK' / GTGK (RFC 6043 5.1.3):
 * label = C || CS ID || 0xFFFFFFFF || 0x03 || len(RANDRi) || [RANDRi] || len(RANDRr) || [RANDRr];
 * RANDRi is included iff H, RANDRr iff G (pass NULL for excluded); at least one.
 */
int mikey_kdf_tgk_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *tgk,
		      size_t tgk_len, mikey_dk_t which, uint8_t cs_id,
		      const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
		      uint8_t *out, size_t out_len);

/*
 * SRTP master key (key_len bytes, the TEK) and master salt (14 bytes) of a
 * crypto session from its TGK / TGK' / GTGK under the ticket's flags (RFC
 * 6043 5.1.3, 6.10): RANDRi enters the label iff H = 1, RANDRr iff G = 1.
 * KMS_ETPPAR when a RAND the flags call for is missing (NULL or empty) or
 * neither is called for; the outputs are written only on success.
 */
int mikey_kdf_srtp_master(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *tgk,
			  size_t tgk_len, uint8_t cs_id, uint16_t tp_flags,
			  const mikey_bytes_t *randri, const mikey_bytes_t *randrr,
			  uint8_t *key, size_t key_len, uint8_t salt[14]);

/*
 * Key forking (RFC 6043 5.1.1): out (inkey_len bytes) =
 * PRF(inkey, C || 0xFF || 0xFFFFFFFF || 0x00 || len16(ID Data) || ID Data || len8(RANDRkms) || RANDRkms).
 */
int mikey_kdf_fork(mikey_prf_cache_t *pc, uint8_t prf, mikey_fork_t what,
		   const uint8_t *inkey, size_t inkey_len, const mikey_bytes_t *id_data,
		   const mikey_bytes_t *randrkms, uint8_t *out);

/* Vr key for the Initiator Data (RFC 6043 6.10): auth_key from the unforked
 * MPKr with label 0x2D22AC75 || 0xFF || 0xFFFFFFFF || 0x04. */
int mikey_kdf_vr_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *mpkr,
		     size_t mpkr_len, uint8_t *out, size_t out_len);

/*
 * Keys protecting a MIKEY base ticket (RFC 6043 Appendix A), from its TPK:
 * label = C || 0xFF || 0xFFFFFFFF || 0x05 || len(RAND) || RAND, where RAND
 * is the ticket's RAND payload value (1..MIKEY_RAND_MAX bytes).
 * which is ENCR, AUTH or SALT; out_len is the wanted key size.
 */
int mikey_kdf_tpk_key(mikey_prf_cache_t *pc, uint8_t prf, const uint8_t *tpk,
		      size_t tpk_len, mikey_dk_t which, const mikey_bytes_t *rand,
		      uint8_t *out, size_t out_len);

/*
 * MPKi / MPKr from a MIKEY base ticket's MPK (RFC 6043 Appendix A): out
 * (mpk_len bytes) = PRF(MPK, C || 0xFF || 0xFFFFFFFF || 0x06 || len(RAND) || RAND).
 */
int mikey_kdf_mpk(mikey_prf_cache_t *pc, uint8_t prf, mikey_mpk_t which,
		  const uint8_t *mpk, size_t mpk_len, const mikey_bytes_t *rand,
		  uint8_t *out);

/*
 * SRTP key derivation (RFC 3711 4.3.1, AES-CM PRF, key_derivation_rate 0):
 * label 0x00 cipher key, 0x01 auth key, 0x02 salt (0x03-0x05 for SRTCP).
 * master_key is 16 or 32 bytes, master_salt 14 bytes.
 */
int mikey_srtp_kdf(const uint8_t *master_key, size_t key_len,
		   const uint8_t master_salt[14], uint8_t label, uint8_t *out,
		   size_t out_len);

#endif
