/*
 * Ub bootstrapping (TS 33.220 / TS 24.109) with HTTP Digest AKAv1-MD5
 * (RFC 3310), without HTTP: the front end hands over the method, the
 * Authorization header value and the body, and sends back what
 * bsf_ub_handle() answers.  The exchange is documented in docs/ub.md.
 *
 *   no nonce           -> 401, a new challenge (SQN + 1, persisted)
 *   nonce + response   -> 200 BootstrappingInfo (B-TID, lifetime), session
 *                         stored; a wrong response -> 401, a new challenge
 *   nonce + auts       -> MAC-S checked, SQN := SQN_MS, 401 new challenge
 *   unknown IMPI       -> 403; no or unparsable Authorization -> 400
 */
#ifndef KMS_BSF_STUB_UB_H
#define KMS_BSF_STUB_UB_H

#include <stddef.h>
#include <stdint.h>

#include "bsf-stub/bsf.h"

#define BSF_UB_PATH "/ub"
#define BSF_UB_BODY_MAX 1024
#define BSF_UB_CT_XML "application/vnd.3gpp.bsf+xml"

typedef struct {
	unsigned status;	    /* 200, 400, 401, 403, 500, 503 */
	const char *content_type;   /* of body */
	char www_authenticate[512]; /* 401: the challenge */
	char body[512];		    /* 200: XML; else a short text line */
	size_t body_len;
	char btid[GBA_BTID_MAX + 1]; /* 200: the new B-TID */
} bsf_ub_answer_t;

/*
 * Handle one Ub request.  authz: the Authorization header value (NULL if
 * absent); body: the request body (for qop auth-int).  *ans is always
 * filled; the return value is the outcome for logs (KMS_EOK on 200,
 * KMS_EAUTH on a challenge, KMS_EID unknown IMPI, ...).
 */
int bsf_ub_handle(bsf_t *b, const char *rid, const char *method, const char *authz,
		  const uint8_t *body, size_t body_len, int64_t now,
		  bsf_ub_answer_t *ans);

/* ISO 8601 UTC ("2024-05-01T12:00:00Z") of unix time t; cap >= 21. */
int bsf_iso8601(int64_t t, char *out, size_t cap);

#endif
