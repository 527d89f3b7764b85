/*
 * The Zn lookup of bsf-stubd, shared by its two fronts: JSON over HTTP
 * (bsf-stub/zn.c) and Diameter (bsf-stub/zn_dia.c).  Given a NAF and a
 * B-TID it decides, in this order: the NAF is allowed (else 5402), the
 * B-TID is known and not expired (else 5403), its IMPI still has a
 * subscriber (else 5401), then derives Ks_ext_NAF and collects the IMPUs
 * of the NAF's group.  The outcome is a TS 29.109 result code; each front
 * renders it (JSON status and "error", or Result-Code /
 * Experimental-Result).
 *
 * A test hook (bsf_config_t.test_zn_result, bsf-stubd --test-zn-result)
 * makes every lookup answer one error code instead.
 */
#ifndef KMS_BSF_STUB_ZN_CORE_H
#define KMS_BSF_STUB_ZN_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bsf-stub/bsf.h"
#include "bsf-stub/store.h"
#include "gba/kdf.h"

/* Outcomes: the Diameter codes of TS 29.109 / RFC 6733 (dia/zn.h has the
 * same values; this file does not need the dia/ module). */
#define BSF_ZN_SUCCESS 2001u
#define BSF_ZN_TOO_BUSY 3004u	      /* base Result-Code */
#define BSF_ZN_UNABLE_TO_COMPLY 5012u /* base Result-Code */
#define BSF_ZN_USER_UNKNOWN 5001u     /* Experimental-Result, TS 29.229 */
#define BSF_ZN_IMPI_UNKNOWN 5401u     /* Experimental-Result */
#define BSF_ZN_NOT_AUTHORIZED 5402u   /* Experimental-Result */
#define BSF_ZN_BTID_INVALID 5403u     /* TRANSACTION_IDENTIFIER_INVALID */
/* Not a protocol code: the store failed (JSON 503 "UNAVAILABLE", Diameter
 * 3004 DIAMETER_TOO_BUSY: transient, the NAF may ask again). */
#define BSF_ZN_UNAVAILABLE 1u

/* The NAF, the B-TID, as both fronts have them after parsing. */
typedef struct {
	const char *btid;      /* checked printable, with an inner '@' */
	const uint8_t *naf_id; /* FQDN || 5-octet Ua id */
	size_t naf_id_len;
	const char *fqdn;   /* NAF_Id without its Ua id, NUL-terminated */
	const char *origin; /* Diameter Origin-Host, for logs; NULL on JSON */
} bsf_zn_query_t;

/* What the lookup decided; the key fields only with BSF_ZN_SUCCESS.
 * Secret: wipe with bsf_zn_result_clear(). */
typedef struct {
	uint32_t code;	    /* one of BSF_ZN_* */
	const char *reason; /* "unknown_btid", "expired", ... or NULL (static) */
	char impi[GBA_IMPI_MAX + 1];
	uint8_t ks_naf[GBA_KEY_LEN]; /* Ks_ext_NAF */
	int64_t created;	     /* Unix s */
	int64_t expires;	     /* Unix s */
	char group[BSF_GROUP_MAX + 1];
	size_t nimpus;
	char impus[BSF_IMPUS_MAX][BSF_IMPU_MAX + 1];
} bsf_zn_result_t;

/* How a front renders a code. */
typedef struct {
	uint32_t code;
	bool experimental; /* Experimental-Result (vendor 10415), else Result-Code */
	unsigned http;	   /* JSON status */
	const char *error; /* JSON "error" */
} bsf_zn_code_t;

/* The rendering of code; NULL when code is not a BSF_ZN_* value. */
const bsf_zn_code_t *bsf_zn_code(uint32_t code);

/* True for the codes --test-zn-result accepts (5001, 5401, 5402, 5403,
 * 3004, 5012). */
bool bsf_zn_test_code_ok(uint32_t code);

/*
 * The lookup for q at time now (Unix s); rid names the request in logs.
 * *out is always filled (code and, on success, the data); logs one line
 * with the outcome, the NAF and a B-TID prefix, never a key.
 */
void bsf_zn_lookup(bsf_t *b, const char *rid, const bsf_zn_query_t *q, int64_t now,
		   bsf_zn_result_t *out);

/* KMS_EOK when s (len bytes) is a B-TID: 1..GBA_BTID_MAX printable ASCII
 * characters without spaces, with an '@' neither first nor last. */
int bsf_zn_btid_check(const char *s, size_t len);

/* The FQDN of NAF_Id = FQDN (1..255 printable octets) || 5-octet Ua id,
 * NUL-terminated into fqdn (BSF_FQDN_MAX + 1 bytes); KMS_EMALFORMED. */
int bsf_zn_naf_fqdn(const uint8_t *id, size_t len, char *fqdn);

/* Wipe *r (it holds Ks_ext_NAF). */
void bsf_zn_result_clear(bsf_zn_result_t *r);

#endif
