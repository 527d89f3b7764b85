/*
 * Ticket Types 1 and 2 as this KMS issues them: the MIKEY base ticket
 * (RFC 6043 Appendix A, format in mikey/ticket_base.h) under a TPK derived
 * from a keyring master key, see docs/ticket-format.md.
 *
 * The TPK comes from a keyring master key, the Ticket Type and the key id,
 * which IDRpsk names.  Type 2 (3GPP base ticket) is the same format under
 * a TPK of its own.  Tickets an Initiator built itself (flag D = 0) use a
 * provisioned TPK instead (kms/tpk.h).  These functions do the keys;
 * kms/ticket.h checks the policy around them and is what callers use.
 */
#ifndef KMS_KMS_TICKET_BASE_H
#define KMS_KMS_TICKET_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "kms/keyring.h"
#include "kms/ticket.h"
#include "mikey/payload.h"
#include "mikey/ticket_base.h"

#define KMS_TPK_LEN MIKEY_TPK_LEN   /* bytes of a ticket protection key */
#define KMS_TPK_LABEL "kmsd TPK v1" /* ASCII prefix of the TPK label */
#define KMS_TICKET_BASE_RAND_LEN MIKEY_TB_RAND_LEN
#define KMS_TICKET_THDR_MAX MIKEY_TB_THDR_MAX
#define KMS_TICKET_BASE_CSB_ID MIKEY_TB_CSB_ID

typedef mikey_tb_suite_t kms_ticket_suite_t;

/* The suite of PRF MIKEY-1 (0) or PRF-HMAC-SHA-256 (1); KMS_EPRF otherwise. */
int kms_ticket_suite(uint8_t prf, kms_ticket_suite_t *out);

/*
 * TPK = HMAC-SHA-256(master key, "kmsd TPK v1" || Ticket Type (2) ||
 * key id (4)), both integers big-endian.  type is 1 or 2 (else KMS_EINVAL).
 */
int kms_ticket_base_tpk(const uint8_t master[KEYRING_KEY_LEN], uint16_t type,
			uint32_t key_id, uint8_t tpk[KMS_TPK_LEN]);

/*
 * Issue the Ticket Data of a base ticket of policy->ticket_type (1 or 2)
 * and policy->prf under the keyring's active key: fresh MPK, TGK, SPIs and
 * RAND, T = now.  aad is the TICKET payload from Ticket Type to the end of
 * TP Data (kms_ticket_aad_build()).  keys gets MPKi, MPKr (with the MPK's
 * SPI) and the TGK, pointing into s (key[0..3] = MPKi, MPKr, TGK, MPK).
 * Validity (TRs/TRe) is not looked at here.  Out-parameters on success only.
 */
int kms_ticket_base_issue(const keyring_t *kr, const mikey_tp_t *policy,
			  const mikey_bytes_t *aad, int64_t now, kms_ticket_scratch_t *s,
			  mikey_keys_t *keys, uint8_t *out, size_t cap, size_t *len,
			  uint32_t *key_id);

/*
 * Verify and open a base ticket's Ticket Data under policy (parsed from
 * the same TICKET payload) and aad (its bytes from Ticket Type to the end
 * of TP Data).  Strict layout; V verifies (constant time) before anything
 * is decrypted; the policy must carry TRs and TRe.  content->keys = MPKi,
 * MPKr, TGK..., pointing into s.  KMS_ETICKET for anything not as issued,
 * KMS_EEXPIRED for an unknown or retired key.  *key_id is written once
 * IDRpsk is read, even on failure; content on success only.
 */
int kms_ticket_base_open(const keyring_t *kr, const mikey_tp_t *policy,
			 const mikey_bytes_t *aad, const mikey_bytes_t *data,
			 kms_ticket_scratch_t *s, kms_ticket_content_t *content,
			 uint32_t *key_id);

/* Validity of a base ticket from its policy's TRs and TRe (both needed);
 * KMS_ETICKET otherwise. */
int kms_ticket_base_validity(const mikey_tp_t *policy, int64_t *not_before,
			     int64_t *not_after);

#endif
