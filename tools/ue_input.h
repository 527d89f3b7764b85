/*
 * kms-ue input: read a MIKEY message from a file or stdin in any of the
 * forms a tester has at hand, and explain why a message does not decode.
 *
 * Accepted forms: the raw binary message; its base64 text (line breaks
 * allowed); an SDP attribute line "a=key-mgmt:mikey <base64>" (RFC 4567),
 * with or without the "a=key-mgmt:" prefix, surrounding whitespace or CRLF.
 */
#ifndef KMS_TOOLS_UE_INPUT_H
#define KMS_TOOLS_UE_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"

/* Bytes read at most, whatever the form. */
#define UE_INPUT_MAX (MIKEY_MSG_MAX * 2)

typedef enum {
	UE_FORM_BINARY = 0,
	UE_FORM_BASE64 = 1,
	UE_FORM_SDP = 2,
} ue_form_t;

const char *ue_form_name(ue_form_t form);

/*
 * Read all of path ("-" or NULL: stdin) into buf.  KMS_ELIMIT when the
 * input has more than cap bytes, KMS_EIO (errno kept) when it cannot be read.
 */
int ue_read_all(const char *path, uint8_t *buf, size_t cap, size_t *len);

/*
 * The MIKEY bytes in in[0..in_len): binary when the first byte is the
 * version 0x01 and the bytes decode as MIKEY, else text (SDP line or
 * base64).  A binary-looking input that is not valid text is returned as
 * binary, so that the decoder reports the precise fault.  KMS_EMALFORMED
 * (with why set) when the text is not base64 or names another protocol.
 */
int ue_input_to_mikey(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
		      size_t *out_len, ue_form_t *form, const char **why);

/*
 * ue_read_all() then ue_input_to_mikey(); on failure prints one line
 * "prog: ..." to stderr.  Returns KMS_EOK, KMS_EIO / KMS_ELIMIT (could not
 * read) or KMS_EMALFORMED (not a MIKEY message in any accepted form).
 */
int ue_input_load(const char *prog, const char *path, uint8_t *out, size_t out_cap,
		  size_t *out_len, ue_form_t *form);

/*
 * Describe where msg fails to decode: walks the payload chain with the
 * payload parsers and names the failing payload, its offset and the error,
 * e.g. "payload 3 (IDR) at offset 32: message truncated (KMS_EFEWDATA)".
 * rc is mikey_msg_decode()'s result, used when the walk finds no fault.
 */
void ue_diagnose(const uint8_t *msg, size_t len, int rc, char *buf, size_t cap);

#endif
