/*
 * The HTTP framing rules every listener of this tree applies, on plain
 * lists of name/value pairs instead of a libmicrohttpd connection, so that
 * they can be tested and fuzzed without a socket.  net/listener.h wraps
 * them for MHD.  Depends on common/ only.
 */
#ifndef KMS_NET_FRAME_H
#define KMS_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* The largest Content-Length net_length_parse() reads as a number. */
#define NET_LENGTH_MAX (1ULL << 62)

/*
 * One header or query argument as MHD keeps it: key NUL-terminated,
 * key_len its length; value NUL-terminated too (NULL for a query argument
 * without '='), value_len its decoded length, which exceeds strlen(value)
 * when the client sent a %00.
 */
typedef struct {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
} net_kv_t;

/* The first entry whose key equals key (ASCII case-insensitive, same
 * length), as MHD's lookup answers it; NULL if none. */
const net_kv_t *net_kv_find(const net_kv_t *kv, size_t n, const char *key);

/*
 * A Content-Length value: KMS_EOK and *len; KMS_EMALFORMED when it is not
 * a decimal number (no sign, no blank) of at most NET_LENGTH_MAX.  *len
 * is written only on success.
 */
int net_length_parse(const char *v, uint64_t *len);

/*
 * RFC 9112 section 6.3 on the request's headers: KMS_EOK; else
 * KMS_EHTTP_FRAME and *why (a constant, for the log) when Content-Length
 * appears more than once (equal values too: refused, not merged) or
 * together with Transfer-Encoding.
 */
int net_framing_check_list(const net_kv_t *headers, size_t n, const char **why);

#endif
