/*
 * Stateless tickets (Ticket Data of a TICKET payload), see docs/ticket-format.md.
 *
 * Three Ticket Types are served, all stateless: the MIKEY base ticket
 * (Type 1, RFC 6043 Appendix A), the 3GPP base ticket (Type 2: the same
 * format under its own ticket protection key, kms/ticket_base.h), and this
 * KMS's private type 0xF000 below.  kms_ticket_issue() and
 * kms_ticket_redeem() serve all three.
 *
 * Private type: Ticket Data = format (1) | key id (4) | nonce (12) | AES-256-GCM ciphertext |
 * tag (16); the associated data is the clear ticket policy (TICKET payload
 * header fields and TP Data, which includes IDRkms and the allowed
 * responders), so nothing in the policy can change without the tag failing.
 * The plaintext holds the validity window and the key chain (MPKi, MPKr,
 * TGKs) as MIKEY key data sub-payloads.
 */
#ifndef KMS_KMS_TICKET_H
#define KMS_KMS_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/keyring.h"
#include "mikey/msg.h"
#include "mikey/prf.h"
#include "mikey/ticket_base.h"

/* Ticket Type / Subtype / Version of this KMS's tickets (private range). */
#define KMS_TICKET_TYPE 0xF000u
#define KMS_TICKET_SUBTYPE 0x01u
#define KMS_TICKET_VERSION 0x01u
#define KMS_TICKET_FORMAT 0x01u

/* MIKEY base ticket (RFC 6043 Appendix A) and 3GPP base ticket (TS 33.328). */
#define KMS_TICKET_TYPE_BASE 0x0001u
#define KMS_TICKET_TYPE_3GPP 0x0002u
#define KMS_TICKET_BASE_SUBTYPE 0x01u
#define KMS_TICKET_BASE_VERSION 0x01u

#define KMS_TICKET_SPI_LEN MIKEY_TB_SPI_LEN /* bytes of every SPI generated */

typedef struct {
	int64_t not_before; /* Unix seconds */
	int64_t not_after;
	mikey_keys_t keys; /* points into the caller's plaintext buffer after open */
} kms_ticket_content_t;

/*
 * Scratch for one issue or redeem, owned by the caller, who wipes it
 * (secmem_wipe) when done with the keys that point into it (see
 * mikey/ticket_base.h; the private type uses key[0..2] and plain too).
 */
typedef mikey_tb_scratch_t kms_ticket_scratch_t;

/* True for the Ticket Types this KMS issues and redeems (1, 2, 0xF000). */
bool kms_ticket_type_served(uint16_t type);

/*
 * Issue the Ticket Data of policy->ticket_type for a granted policy
 * (Subtype and Version 1; policy->prf picks the suite: keys of 16 bytes
 * for PRF MIKEY-1, 32 for PRF-HMAC-SHA-256).  Generates the keys under the
 * keyring's active key; content->keys = MPKi, MPKr, TGK, each with a
 * 4-byte SPI (pointing into s), and content->not_before/not_after are the
 * values given.  Base tickets take their validity from the policy: its TRs
 * and TRe must be present and say not_before / not_after (KMS_EINVAL).
 * KMS_ETICKET for a type, subtype or version not served.  now is the
 * issue time (the base ticket's T).  Out-parameters are written on
 * success only.
 */
int kms_ticket_issue(const keyring_t *kr, const mikey_tp_t *policy, int64_t now,
		     int64_t not_before, int64_t not_after, kms_ticket_scratch_t *s,
		     kms_ticket_content_t *content, uint8_t *out, size_t cap, size_t *len,
		     uint32_t *key_id);

/*
 * Open the TICKET payload of a parsed message, of any served type (the
 * caller has checked IDRkms).  content->keys = MPKi, MPKr, then one or
 * more TGKs (pointing into s); not_before/not_after come from the sealed
 * content (private type) or the policy's TRs/TRe (base tickets).
 * KMS_ETICKET for a type, subtype or version not served, a bad layout or
 * a failed MAC or tag; KMS_EEXPIRED for an unknown or retired key.
 * *key_id is written as soon as it is known (for the audit log), even on
 * failure; content on success only.
 */
int kms_ticket_redeem(const keyring_t *kr, const mikey_msg_t *m, kms_ticket_scratch_t *s,
		      kms_ticket_content_t *content, uint32_t *key_id);

/*
 * The associated data of a ticket: the TICKET payload from its Ticket Type
 * field to the end of TP Data, exactly as on the wire.
 * kms_ticket_aad_build() encodes a granted policy into buf the way the
 * TICKET will carry it; kms_ticket_aad_msg() points into a parsed message.
 */
int kms_ticket_aad_build(const mikey_tp_t *policy, uint8_t *buf, size_t cap,
			 mikey_bytes_t *aad);
int kms_ticket_aad_msg(const mikey_msg_t *m, mikey_bytes_t *aad);

/* Seal content under the keyring's active key; writes Ticket Data into out. */
int kms_ticket_seal(const keyring_t *kr, const mikey_bytes_t *aad,
		    const kms_ticket_content_t *content, uint8_t *out, size_t cap,
		    size_t *len, uint32_t *key_id);

/*
 * Open Ticket Data.  plain (plain_cap bytes) receives the decrypted
 * content, to which content->keys point; the caller wipes plain.
 * KMS_ETICKET when the data is not ours or fails authentication,
 * KMS_EEXPIRED for an unknown or retired key.  *key_id is written as soon
 * as it is read (for the audit log), even on failure.
 */
int kms_ticket_open(const keyring_t *kr, const mikey_bytes_t *aad, const uint8_t *data,
		    size_t len, uint8_t *plain, size_t plain_cap,
		    kms_ticket_content_t *content, uint32_t *key_id);

/* Bytes of Ticket Data for a key chain of keys_len bytes. */
size_t kms_ticket_data_len(size_t keys_len);

#endif
