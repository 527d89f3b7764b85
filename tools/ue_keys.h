/* kms-ue keys: the SRTP master key and salt of a finished exchange. */
#ifndef KMS_TOOLS_UE_KEYS_H
#define KMS_TOOLS_UE_KEYS_H

/* argv[0] is the command name; returns the exit status. */
int ue_keys_cmd(int argc, char **argv);

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"

/* The SRTP master key and salt of crypto session cs_id (wipe after use). */
typedef struct {
	uint8_t key[MIKEY_KEY_MAX];
	size_t key_len;
	uint8_t salt[14];
	uint8_t cs_id;
} ue_srtp_keys_t;

/*
 * kms-ue keys in-process (kms-ue call): the same checks on the --state
 * file (and the Initiator's TRANSFER_RESP file tr, may be NULL), the keys
 * into *out instead of stdout.  Returns an UE_EXIT_* status.
 */
int ue_keys_derive(const char *state, const char *tr, ue_srtp_keys_t *out);

#endif
