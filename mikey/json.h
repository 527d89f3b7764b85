/*
 * JSON view of a decoded MIKEY message (jansson).  Key bytes (key data
 * sub-payloads of a NULL-encrypted KEMAC or a TP template, decrypted key
 * chains) are redacted as {"redacted": N} unless MIKEY_JSON_SHOW_KEYS.
 */
#ifndef KMS_MIKEY_JSON_H
#define KMS_MIKEY_JSON_H

#include <jansson.h>

#include "mikey/msg.h"

#define MIKEY_JSON_SHOW_KEYS 0x1u

/* New reference, or NULL on allocation failure. */
json_t *mikey_msg_to_json(const mikey_msg_t *m, unsigned flags);
/* A decrypted key chain (e.g. from mikey_kemac_open()). */
json_t *mikey_keys_to_json(const mikey_keys_t *keys, unsigned flags);

#endif
