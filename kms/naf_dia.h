/*
 * Zn over Diameter at the NAF (naf.zn = "diameter"): what a
 * Bootstrapping-Info-Answer (dia/zn.h) means for a B-TID, the sending of a
 * BIR for the NAF's lookups (kms/naf_async.c, kms/naf.c), and the
 * blocking lookup over it.  The answer ends in the same naf_zn_answer_t as
 * a JSON answer (kms/naf_zn.h), so the cache, the negative cache and the
 * counters do not know which transport filled them.
 *
 * The meaning of a BIA (naf_dia_answer):
 *   Experimental-Result 5401 IMPI_UNKNOWN, 5403 TRANSACTION_IDENTIFIER_INVALID,
 *     5001 USER_UNKNOWN (vendor 10415)          -> KMS_EBTID (bootstrap again)
 *   Experimental-Result 5402 NOT_AUTHORIZED     -> KMS_EPOLICY
 *   Result-Code 2001 with a usable key          -> KMS_EOK
 *     Key-ExpiryTime <= now                     -> KMS_EBTID
 *     GBA-Type 1 (2G GBA)                       -> KMS_EPOLICY (3G GBA only)
 *     no User-Name, no Key-ExpiryTime, no GUSS, a GUSS that does not parse,
 *     ME-Key-Material absent (only a UICC key: this NAF never asks for
 *     GBA_U) or not 16/32 bytes, created after expiry -> KMS_EMALFORMED
 *   any other Result-Code (3xxx, 4xxx, 5012 ...) or Experimental-Result
 *                                               -> KMS_EUNAVAIL
 *   neither or both codes                       -> KMS_EMALFORMED
 * The lookups turn KMS_EMALFORMED into KMS_EUNAVAIL (counted as a bad
 * answer), as for a JSON answer that does not parse.
 */
#ifndef KMS_KMS_NAF_DIA_H
#define KMS_KMS_NAF_DIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dia/zn.h"
#include "kms/naf_zn.h"

/*
 * The meaning of bia at Unix time now (see above); subj names the B-TID
 * in debug lines about skipped IMPUs.  *out is written on KMS_EOK only
 * (wipe out->psk after use); *why (when why is not NULL) says what makes
 * a KMS_EMALFORMED answer unusable, else "".  Pure but for those debug
 * lines.
 */
int naf_dia_answer(const dia_zn_bia_t *bia, int64_t now, const char *subj,
		   naf_zn_answer_t *out, const char **why);

/* The function that sends a BIR: dia_zn_send_bir, or a test's stand-in. */
typedef int (*naf_dia_sender_t)(const char *btid, const uint8_t *naf_id,
				size_t naf_id_len, bool gba_u, unsigned timeout_ms,
				dia_zn_done_cb cb, void *arg);

/* Tests: send through fn instead (NULL: dia_zn_send_bir again).  Set it
 * before any lookup, not while one runs. */
void naf_dia_sender_set(naf_dia_sender_t fn);

/* The blocking lookup waits for the callback this much longer than
 * naf.timeout_ms (dia/zn.h bounds the answer itself by naf.timeout_ms). */
#define NAF_DIA_WAIT_MARGIN_MS 1000u

#endif
