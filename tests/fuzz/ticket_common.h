/*
 * What the ticket fuzzer and its seed generator share: the fixed test
 * keyring, a message around one TICKET payload, and the re-sealing that
 * lets mutated tickets through the MAC or tag (see fuzz_ticket.c).
 */
#ifndef KMS_TESTS_FUZZ_TICKET_COMMON_H
#define KMS_TESTS_FUZZ_TICKET_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "kms/keyring.h"
#include "mikey/msg.h"

/* The fixed keyring: key 7 active, key 9 rotated (bytes in the .c). */
#define TF_KEY_ACTIVE 7u
#define TF_KEY_ROTATED 9u

/* The ticket protection key of an Initiator's tickets (flag D = 0) and
 * its id: fixed bytes (in the .c). */
#define TF_TPK_ID 5u
extern const uint8_t tf_tpk[32];

/* The keyring, made on the first call; aborts if it cannot be. */
const keyring_t *tf_keyring(void);

/* A message holding just the TICKET payload buf[0..len), as msg.c would
 * parse it; the payload must fill buf exactly.  KMS_EOK or the parse error. */
int tf_msg_from_payload(const uint8_t *buf, size_t len, mikey_msg_t *m);

/*
 * Seal m's Ticket Data in place (buf is m->buf, writable) as the issuing
 * KMS would, treating the secret parts as clear text: the private type's
 * GCM ciphertext and tag, a base ticket's KEMAC (AES-CM) and V.  Both
 * ciphers are XOR streams, so this is its own inverse on the secret parts:
 * applied to a valid ticket it gives the clear form.  Does nothing where
 * the layout or the key id does not allow it.
 */
void tf_reseal(uint8_t *buf, const mikey_msg_t *m);

#endif
