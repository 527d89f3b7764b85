/*
 * GBA key derivation (TS 33.220 Annex B): the generic KDF, NAF_Id, the NAF
 * key Ks_(ext)_NAF, and B-TID.  Pure functions over common/crypto.
 */
#ifndef KMS_GBA_KDF_H
#define KMS_GBA_KDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GBA_KEY_LEN 32 /* Ks, Ks_NAF */
#define GBA_RAND_LEN 16
#define GBA_UA_ID_LEN 5
#define GBA_NAF_ID_MAX 260 /* FQDN (255) + Ua security protocol id */
#define GBA_IMPI_MAX 255
#define GBA_BTID_MAX 320
#define GBA_KDF_PARAMS_MAX 8

/* Ua security protocol id of IMS UE <-> KMS (TS 33.220 Annex H). */
#define GBA_UA_ID_KMS                                                                    \
	{                                                                                \
		0x01, 0x00, 0x00, 0x00, 0x06                                             \
	}

typedef struct {
	const uint8_t *p;
	size_t len; /* <= 65535 */
} gba_param_t;

/*
 * KDF(key, S), S = FC || P0 || L0 || ... || Pn || Ln (Li 16-bit big-endian),
 * derived key = HMAC-SHA-256(key, S).  fc 0x00..0xFE.
 */
int gba_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const gba_param_t *params,
	    size_t n, uint8_t out[GBA_KEY_LEN]);

/*
 * Strings enter the KDF NFKC-normalised and UTF-8 encoded (B.2.1.2).  This
 * implementation has no Unicode tables: it accepts printable ASCII (for
 * which NFKC is the identity) and refuses anything else with KMS_EINVAL.
 */
int gba_string_check(const char *s, size_t len);

/* NAF_Id = FQDN || Ua security protocol id (5 octets). */
int gba_naf_id(const char *fqdn, const uint8_t ua_id[GBA_UA_ID_LEN], uint8_t *out,
	       size_t cap, size_t *len);

/*
 * Ks_NAF (or Ks_ext_NAF) = KDF(Ks = CK || IK, 0x01, "gba-me", RAND, IMPI,
 * NAF_Id); with gba_u true the P0 is "gba-u" (Ks_int_NAF).
 */
int gba_ks_naf(const uint8_t ck[16], const uint8_t ik[16],
	       const uint8_t rand[GBA_RAND_LEN], const char *impi, const uint8_t *naf_id,
	       size_t naf_id_len, bool gba_u, uint8_t out[GBA_KEY_LEN]);

/* B-TID = base64(RAND) "@" BSF server domain name (NUL-terminated). */
int gba_btid(const uint8_t rand[GBA_RAND_LEN], const char *bsf_domain, char *out,
	     size_t cap);

#endif
