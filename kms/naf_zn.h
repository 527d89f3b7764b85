/*
 * Zn bodies (NAF <-> BSF) of this project: the JSON stand-in for the
 * Diameter Bootstrapping-Info-Request/Answer of TS 29.109 (field names after
 * its AVPs).  Pure functions, no I/O: kms/naf.c sends what they build and
 * hands them what it receives.
 *
 * Request:  {"transaction_identifier": B-TID, "naf_id": base64(NAF_Id),
 *            "gba_u_awareness": false}
 * 200:      {"transaction_identifier", "user_name": IMPI,
 *            "me_key_material": base64(Ks_(ext)_NAF), "key_expiry_time": unix s,
 *            "bootstrap_info_creation_time": unix s, "gba_type": "3G",
 *            "guss": {"uss": [{"naf_group": G, "impus": [URI, ...]}, ...]}}
 * 404:      {"error": "TRANSACTION_IDENTIFIER_INVALID", "result_code": 5403,
 *            "reason": ...} for a B-TID the BSF does not know (older BSFs:
 *            {"error": "USER_UNKNOWN", "result_code": 5401}); either is
 *            KMS_EBTID: the status decides, the body only feeds the log
 * 403:      {"error": "NOT_AUTHORIZED", "result_code": 5402}
 *
 * naf.zn = "diameter" carries the same exchange as a BIR/BIA (kms/naf_dia.h);
 * its answers end in the same naf_zn_answer_t, their IMPUs (GUSS uids)
 * through naf_zn_add_impu().
 */
#ifndef KMS_KMS_NAF_ZN_H
#define KMS_KMS_NAF_ZN_H

#include <stddef.h>
#include <stdint.h>

#include "kms/psk.h"

#define NAF_ZN_BODY_MAX 16384 /* bytes of a Zn answer we accept */
#define NAF_ZN_USS_MAX 16     /* USS entries in a GUSS */
#define NAF_ZN_IMPUS_MAX 32   /* IMPUs in one USS */
#define NAF_ZN_IMPU_MAX 512   /* bytes of one IMPU */
#define NAF_ZN_IMPI_MAX 255   /* bytes of the IMPI (user_name) */
#define NAF_ZN_BTID_MAX 320   /* bytes of a B-TID (gba/kdf.h GBA_BTID_MAX) */

/* A Zn answer (200) after every check. */
typedef struct {
	kms_psk_t psk; /* key = Ks_(ext)_NAF, expires = key_expiry_time, ids */
	char impi[NAF_ZN_IMPI_MAX + 1];
	int64_t created;      /* bootstrap_info_creation_time, 0 if absent */
	size_t impus_seen;    /* IMPUs in the GUSS */
	size_t impus_skipped; /* tel: or another scheme, a group, invalid,
			       * a duplicate or over the cap */
} naf_zn_answer_t;

/*
 * KMS_EOK when s (len bytes) can be a B-TID: 1..NAF_ZN_BTID_MAX printable
 * ASCII bytes without spaces, with an '@' that is neither first nor last.
 */
int naf_zn_btid_check(const uint8_t *s, size_t len);

/*
 * True when s looks like a B-TID a BSF made: base64(16-byte RAND) '@'
 * domain (TS 33.220).  kmsd's "both" PSK source sends only these to Zn.
 */
int naf_zn_btid_shaped(const uint8_t *s, size_t len);

/* The request body (NUL-terminated, malloc'd: free() it) for btid. */
int naf_zn_request(const char *btid, const uint8_t *naf_id, size_t naf_id_len,
		   char **out);

/*
 * Parse and check a 200 answer for btid at time now.  KMS_EOK with *out
 * filled (wipe out->psk after use); KMS_EBTID when the answer names
 * another B-TID or its key has expired (key_expiry_time <= now);
 * KMS_EMALFORMED when the body is not a valid answer (any field of the
 * wrong type, key material not base64 of 16 or 32 bytes, over a cap).
 * Identities: the KMS user identity (identity_normalise) of every sip: or
 * sips: IMPU and bare user@domain, duplicates dropped, at most
 * KMS_PSK_IDS_MAX; tel: and other schemes skipped (a debug line each).
 */
int naf_zn_parse(const char *body, size_t len, const char *btid, int64_t now,
		 naf_zn_answer_t *out);

/*
 * One IMPU (a NUL-terminated URI from the BSF) into a->psk.ids: its KMS
 * user identity (identity_normalise, the content decides).  tel: and
 * other schemes, group (wildcard) IMPUs and malformed ones are skipped
 * with a debug line, as are duplicates and those over KMS_PSK_IDS_MAX;
 * counted in impus_seen / impus_skipped.  KMS_EMALFORMED when empty or
 * over NAF_ZN_IMPU_MAX bytes.
 */
int naf_zn_add_impu(const char *uri, const char *subj, naf_zn_answer_t *a);

/*
 * The outcome of a non-200 answer: 404 (unknown or expired B-TID) and 400
 * (the BSF finds the request malformed: a B-TID it cannot use) ->
 * KMS_EBTID; 403 -> KMS_EPOLICY (this NAF may not serve the user); 5xx
 * and anything else -> KMS_EUNAVAIL.  The body only feeds reason (cap
 * bytes, for logs): its "reason" or "error" string when it is a JSON
 * object with one (printable ASCII, truncated), else "".
 */
int naf_zn_status(long status, const char *body, size_t len, char *reason, size_t cap);

#endif
