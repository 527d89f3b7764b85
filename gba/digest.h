/*
 * HTTP Digest AKAv1-MD5 (RFC 3310) as used on Ub (TS 24.109): the password
 * is RES; nonce = base64(RAND || AUTN [|| server data]); a resync carries
 * auts = base64(AUTS).  Parsing of Authorization / WWW-Authenticate header
 * values is bounded and strict (quoted-string escapes, no duplicates).
 */
#ifndef KMS_GBA_DIGEST_H
#define KMS_GBA_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_FIELD_MAX 256
#define DIGEST_HEADER_MAX 2048

typedef struct {
	char username[DIGEST_FIELD_MAX]; /* IMPI */
	char realm[DIGEST_FIELD_MAX];
	char nonce[DIGEST_FIELD_MAX];
	char uri[DIGEST_FIELD_MAX];
	char qop[32]; /* "auth" or "auth-int" or "" */
	char nc[16];
	char cnonce[DIGEST_FIELD_MAX];
	char response[64]; /* 32 hex */
	char opaque[DIGEST_FIELD_MAX];
	char algorithm[32]; /* "AKAv1-MD5" */
	char auts[64];	    /* base64(AUTS) or "" */
} digest_params_t;

/* Parse the value of an Authorization / WWW-Authenticate header ("Digest k=v, ..."). */
int digest_parse(const char *header, size_t len, digest_params_t *out);

/*
 * response = MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2) in lower-case
 * hex (RFC 2617; without qop: MD5(HA1 ":" nonce ":" HA2)), HA1 =
 * MD5(username ":" realm ":" password), HA2 = MD5(method ":" uri) for
 * qop=auth or none, MD5(method ":" uri ":" MD5(body)) for auth-int.
 * AKAv1: password = RES as raw bytes (res_len 4..16).
 */
int digest_response(const digest_params_t *p, const char *method, const uint8_t *res,
		    size_t res_len, const uint8_t *body, size_t body_len, char out[33]);

/* nonce = base64(RAND || AUTN) and back (extra server data after AUTN ignored). */
int digest_nonce_make(const uint8_t rand[16], const uint8_t autn[16], char *out,
		      size_t cap);
int digest_nonce_split(const char *nonce, uint8_t rand[16], uint8_t autn[16]);

#endif
