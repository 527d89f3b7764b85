/*
 * Zn over Diameter in bsf-stubd (TS 29.109 BIR/BIA): the embedded
 * freeDiameter peer (dia/peer.h) answers every Bootstrapping-Info-Request
 * with the same lookup as the JSON front (bsf-stub/zn_core.h).
 *
 * The NAF is the FQDN inside NAF-Id, as on JSON; the peer's Origin-Host
 * is only logged beside it: the stub does not bind Origin-Host to the
 * NAF's FQDN (a real BSF relies on the Diameter peer's TLS identity).
 */
#ifndef KMS_BSF_STUB_ZN_DIA_H
#define KMS_BSF_STUB_ZN_DIA_H

#include <stdint.h>

#include "bsf-stub/bsf.h"
#include "dia/zn.h"

/* Start the peer from the freeDiameter configuration file conf and answer
 * BIRs from b (which must outlive bsf_zn_dia_stop()).  KMS_EOK,
 * KMS_ENOTSUP (no Diameter in this build), KMS_ECONFIG, ... */
int bsf_zn_dia_start(bsf_t *b, const char *conf);

/* Stop the peer (no-op when not started). */
void bsf_zn_dia_stop(void);

/*
 * The BIA for bir at now (Unix s): the handler, exposed for unit tests.
 * Success: Result-Code 2001, User-Name, ME-Key-Material (Ks_ext_NAF),
 * Key-ExpiryTime, BootstrapInfoCreationTime, GBA-Type 0 and the GUSS;
 * otherwise the lookup's code as Experimental-Result (5001, 54xx) or
 * Result-Code (3004, 5012), and 5004 DIAMETER_INVALID_AVP_VALUE for a
 * B-TID or NAF-Id that is not well formed.  KMS_EOK or KMS_ENOMEM.
 */
int bsf_zn_dia_answer(bsf_t *b, const dia_zn_bir_t *bir, int64_t now, dia_zn_bia_t *bia);

#endif
