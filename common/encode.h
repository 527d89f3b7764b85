/*
 * Hex and base64 (RFC 4648, with padding) codecs for command-line tools,
 * SDP key-mgmt lines and B-TIDs, and a bounded string copy.  Decoders are strict: bad characters, bad
 * padding or a length over out_cap fail with KMS_EMALFORMED / KMS_ESPACE.
 */
#ifndef KMS_COMMON_ENCODE_H
#define KMS_COMMON_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of len bytes into out (2*len+1 bytes incl. NUL). */
int hex_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
/* Decode a hex string (either case, even length); *out_len on success. */
int hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
	       size_t *out_len);

size_t base64_encoded_len(size_t len); /* without the NUL */
int base64_encode(const uint8_t *in, size_t len, char *out, size_t out_cap);
int base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
		  size_t *out_len);

/*
 * dst (cap > 0 bytes) gets src, cut to cap - 1 bytes, always NUL-terminated;
 * returns the bytes copied.  snprintf(dst, cap, "%s", src) without the
 * formatting machinery, for the per-request paths.
 */
size_t str_copy(char *dst, size_t cap, const char *src);

/*
 * A decimal number in 0..UINT32_MAX, the whole of s: digits only (no sign,
 * space, base prefix or trailing text).  KMS_EOK with *out set, else
 * KMS_EINVAL and *out untouched.  For command-line arguments.
 */
int dec_parse_u32(const char *s, uint32_t *out);

#endif
