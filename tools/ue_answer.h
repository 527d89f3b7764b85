/*
 * kms-ue: accept the KMS's answer to a REQUEST_INIT or RESOLVE_INIT —
 * REQUEST_RESP / RESOLVE_RESP checked and opened, or a MIKEY Error
 * message reported.
 */
#ifndef KMS_TOOLS_UE_ANSWER_H
#define KMS_TOOLS_UE_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/msg.h"
#include "tools/ue_common.h"

typedef struct {
	const mikey_msg_t *init; /* the INIT we sent (complete, with its MAC) */
	const uint8_t *psk;	 /* the PSK it was sent with */
	size_t psk_len;
	const mikey_bytes_t *kms_id; /* the KMS it was sent to (or assumed) */
	size_t key_len;		     /* the suite's key length */
} ue_answer_ctx_t;

/*
 * Load path into buf / *resp and check it (RFC 6043 5.2.1, 5.2.3): the
 * data type answering init, the same CSB ID, PRF and V Auth alg, the V MAC
 * over RESP || init (auth_key from the PSK, direction 0x02, the INIT's
 * RANDRi or RANDRr), IDRkms if present (the same KMS user identity as
 * kms_id), then the KEMAC (IV from the answer's own T) into plain / *keys
 * and *set: MPKi, MPKr (or MPKr'), TGK (or TGK'), MPKr optional when the
 * ticket (the REQUEST_RESP's, or the RESOLVE_INIT's) has no key forking.
 * A MIKEY Error message is reported with the status of its V, tried with
 * the auth_key of the INIT (D = 0x01, RFC 6043 5.4) and of the response
 * direction (D = 0x02).  Returns an UE_EXIT_* status, having printed why;
 * on failure plain is wiped.
 */
int ue_answer_open(const ue_answer_ctx_t *ctx, const char *path, uint8_t *buf, size_t cap,
		   size_t *len, mikey_msg_t *resp, uint8_t *plain, size_t plain_cap,
		   mikey_keys_t *keys, ue_keyset_t *set);

#endif
