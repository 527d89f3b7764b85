/*
 * Stateless tickets (Ticket Data of a TICKET payload), see docs/ticket-format.md.
 *
 * Ticket Data = format (1) | key id (4) | nonce (12) | AES-256-GCM ciphertext |
 * tag (16); the associated data is the clear ticket policy (TICKET payload
 * header fields and TP Data, which includes IDRkms and the allowed
 * responders), so nothing in the policy can change without the tag failing.
 * The plaintext holds the validity window and the key chain (MPKi, MPKr,
 * TGKs) as MIKEY key data sub-payloads.
 */
#ifndef KMS_KMS_TICKET_H
#define KMS_KMS_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "kms/keyring.h"
#include "mikey/msg.h"

/* Ticket Type / Subtype / Version of this KMS's tickets (private range). */
#define KMS_TICKET_TYPE 0xF000u
#define KMS_TICKET_SUBTYPE 0x01u
#define KMS_TICKET_VERSION 0x01u
#define KMS_TICKET_FORMAT 0x01u

typedef struct {
	int64_t not_before; /* Unix seconds */
	int64_t not_after;
	mikey_keys_t keys; /* points into the caller's plaintext buffer after open */
} kms_ticket_content_t;

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
