/*
 * Zn (NAF -> BSF) of bsf-stubd: the JSON stand-in for the Diameter
 * Bootstrapping-Info-Request/Answer of TS 29.109 (docs/zn.md), without
 * HTTP.  The front end parses the body with bsf_zn_parse(), checks the TLS
 * peer against req.fqdn when Zn runs over TLS, then calls bsf_zn_handle().
 *
 * The decision is bsf_zn_lookup() (bsf-stub/zn_core.h), shared with the
 * Diameter front; this file renders its outcome:
 *
 *   200 BIA with ME-Key-Material = Ks_ext_NAF and the NAF group's USS
 *   400 {"error":"BAD_REQUEST","reason":...}             malformed
 *   other codes {"error": NAME, "result_code": CODE, "reason": ...}:
 *   403 NOT_AUTHORIZED 5402                  NAF not allowed (over TLS also
 *       a client certificate missing, bad, or for another name)
 *   404 TRANSACTION_IDENTIFIER_INVALID 5403  "unknown_btid" | "expired"
 *   404 IMPI_UNKNOWN 5401, 404 USER_UNKNOWN 5001, 503 TOO_BUSY 3004,
 *   500 UNABLE_TO_COMPLY 5012                (the last three: test hook only)
 *   503 {"error":"UNAVAILABLE","reason":...}  the store failed
 */
#ifndef KMS_BSF_STUB_ZN_H
#define KMS_BSF_STUB_ZN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bsf-stub/bsf.h"
#include "bsf-stub/zn_core.h"
#include "gba/kdf.h"

#define BSF_ZN_PATH "/zn"
/* The test hook at run time (only with --test-zn-result; bsf-stubd.8). */
#define BSF_TEST_ZN_RESULT_PATH "/test/zn-result"
#define BSF_ZN_BODY_MAX 4096
#define BSF_ZN_CT "application/json"

typedef struct {
	char btid[GBA_BTID_MAX + 1];
	uint8_t naf_id[GBA_NAF_ID_MAX];
	size_t naf_id_len;
	char fqdn[GBA_NAF_ID_MAX]; /* NAF_Id without its 5-octet Ua id */
	bool gba_u;		   /* gba_u_awareness (false when absent) */
} bsf_zn_req_t;

typedef struct {
	unsigned status;
	char *body; /* NUL-terminated JSON; free with bsf_zn_answer_free() */
	size_t body_len;
} bsf_zn_answer_t;

/*
 * Parse a request body.  KMS_EMALFORMED (why names the field, a constant
 * string) when it is not a JSON object with exactly the documented fields of
 * the documented types.
 */
int bsf_zn_parse(const uint8_t *body, size_t len, bsf_zn_req_t *out, const char **why);

/* The answer to a parsed request at time now (status and a JSON body). */
int bsf_zn_handle(bsf_t *b, const char *rid, const bsf_zn_req_t *req, int64_t now,
		  bsf_zn_answer_t *ans);

/* An error answer ({"error": error, ["result_code": rc,] "reason": reason});
 * result_code 0: none. */
int bsf_zn_error(unsigned status, const char *error, int result_code, const char *reason,
		 bsf_zn_answer_t *ans);

/* Wipe and free the body (it may carry key material); NULL body no-op. */
void bsf_zn_answer_free(bsf_zn_answer_t *ans);
/* The same for a body pointer alone (an MHD free callback). */
void bsf_zn_body_free(void *body);

#endif
