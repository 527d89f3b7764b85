/*
 * HTTP Digest for Ub: a strict, bounded parser of the auth-param list of a
 * Digest challenge or credentials (RFC 7235 2.1 syntax), the RFC 2617
 * response with RFC 3310's AKAv1-MD5 password (RES as raw bytes), and the
 * AKA nonce.
 *
 * Grammar accepted (OWS = *(SP / HTAB)):
 *   OWS "Digest" 1*(SP / HTAB) param *(OWS "," OWS param) OWS
 *   param = token OWS "=" OWS (token / quoted-string)
 *   quoted-string = DQUOTE *(qdtext / "\" (HTAB / SP / VCHAR)) DQUOTE
 * qdtext excludes obs-text (bytes >= 0x80): every value is ASCII.  Empty
 * list elements, a trailing comma and a duplicated known field are errors;
 * unknown fields are checked for syntax and otherwise ignored.
 */
#include "gba/digest.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"

#define NONCE_RAW 32 /* RAND || AUTN */
#define METHOD_MAX 32
#define NC_LEN 8

/* The fields digest_parse fills, with their place in digest_params_t. */
static const struct field {
	const char *name;
	size_t off;
	size_t cap;
} fields[] = {
	{ "username", offsetof(digest_params_t, username), DIGEST_FIELD_MAX },
	{ "realm", offsetof(digest_params_t, realm), DIGEST_FIELD_MAX },
	{ "nonce", offsetof(digest_params_t, nonce), DIGEST_FIELD_MAX },
	{ "uri", offsetof(digest_params_t, uri), DIGEST_FIELD_MAX },
	{ "qop", offsetof(digest_params_t, qop), sizeof(((digest_params_t *)0)->qop) },
	{ "nc", offsetof(digest_params_t, nc), sizeof(((digest_params_t *)0)->nc) },
	{ "cnonce", offsetof(digest_params_t, cnonce), DIGEST_FIELD_MAX },
	{ "response", offsetof(digest_params_t, response),
	  sizeof(((digest_params_t *)0)->response) },
	{ "opaque", offsetof(digest_params_t, opaque), DIGEST_FIELD_MAX },
	{ "algorithm", offsetof(digest_params_t, algorithm),
	  sizeof(((digest_params_t *)0)->algorithm) },
	{ "auts", offsetof(digest_params_t, auts), sizeof(((digest_params_t *)0)->auts) },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

typedef struct {
	const char *s;
	size_t len;
	size_t pos;
} cursor_t;

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
		return true;
	}
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool at_end(const cursor_t *c)
{
	return c->pos >= c->len;
}

static unsigned char peek(const cursor_t *c)
{
	return at_end(c) ? 0 : (unsigned char)c->s[c->pos];
}

/* Skip OWS; returns how many bytes were skipped. */
static size_t skip_ows(cursor_t *c)
{
	size_t start = c->pos;
	while (!at_end(c) && (peek(c) == ' ' || peek(c) == '\t')) {
		c->pos++;
	}
	return c->pos - start;
}

/* A token at the cursor: *start and *n; KMS_EMALFORMED when empty. */
static int read_token(cursor_t *c, size_t *start, size_t *n)
{
	*start = c->pos;
	while (!at_end(c) && is_tchar(peek(c))) {
		c->pos++;
	}
	*n = c->pos - *start;
	return *n > 0 ? KMS_EOK : KMS_EMALFORMED;
}

/* A token or quoted-string value, unescaped into val (cap >= c->len + 1). */
static int read_value(cursor_t *c, char *val, size_t *n)
{
	size_t o = 0;
	if (peek(c) != '"') {
		size_t start = 0;
		int ret = read_token(c, &start, &o);
		if (ret != KMS_EOK) {
			return ret;
		}
		memcpy(val, c->s + start, o);
		val[o] = '\0';
		*n = o;
		return KMS_EOK;
	}
	c->pos++;
	for (;;) {
		if (at_end(c)) {
			return KMS_EMALFORMED; /* unterminated */
		}
		unsigned char ch = peek(c);
		c->pos++;
		if (ch == '"') {
			break;
		}
		if (ch == '\\') {
			if (at_end(c)) {
				return KMS_EMALFORMED;
			}
			ch = peek(c);
			c->pos++;
			if (ch != '\t' && (ch < 0x20 || ch > 0x7e)) {
				return KMS_EMALFORMED;
			}
		} else if (ch != '\t' && (ch < 0x20 || ch > 0x7e)) {
			return KMS_EMALFORMED; /* control or obs-text */
		}
		val[o++] = (char)ch;
	}
	val[o] = '\0';
	*n = o;
	return KMS_EOK;
}

/* Store one auth-param into p (known names only); seen marks the fields set. */
static int take_param(digest_params_t *p, unsigned *seen, const char *name, size_t nlen,
		      const char *val, size_t vlen)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		if (strlen(fields[i].name) != nlen ||
		    strncasecmp(fields[i].name, name, nlen) != 0) {
			continue;
		}
		if (*seen & (1u << i)) {
			return KMS_EMALFORMED; /* duplicate */
		}
		if (vlen >= fields[i].cap) {
			return KMS_ELIMIT;
		}
		*seen |= 1u << i;
		memcpy((char *)p + fields[i].off, val, vlen + 1);
		return KMS_EOK;
	}
	return KMS_EOK; /* unknown: ignored */
}

int digest_parse(const char *header, size_t len, digest_params_t *out)
{
	if (header == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	if (len > DIGEST_HEADER_MAX) {
		return KMS_ELIMIT;
	}
	digest_params_t p;
	char val[DIGEST_HEADER_MAX + 1];
	cursor_t c = { header, len, 0 };
	unsigned seen = 0;
	size_t start = 0, n = 0;
	memset(&p, 0, sizeof(p));

	skip_ows(&c);
	int ret = read_token(&c, &start, &n);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (n != 6 || strncasecmp(header + start, "Digest", 6) != 0) {
		return KMS_EMALFORMED;
	}
	if (skip_ows(&c) == 0) {
		return KMS_EMALFORMED;
	}
	for (;;) {
		size_t vlen = 0;
		ret = read_token(&c, &start, &n);
		if (ret != KMS_EOK) {
			return ret; /* no parameter, an empty element or a trailing comma */
		}
		skip_ows(&c);
		if (peek(&c) != '=') {
			return KMS_EMALFORMED;
		}
		c.pos++;
		skip_ows(&c);
		ret = read_value(&c, val, &vlen);
		if (ret != KMS_EOK) {
			return ret;
		}
		ret = take_param(&p, &seen, header + start, n, val, vlen);
		if (ret != KMS_EOK) {
			return ret;
		}
		skip_ows(&c);
		if (at_end(&c)) {
			break;
		}
		if (peek(&c) != ',') {
			return KMS_EMALFORMED;
		}
		c.pos++;
		skip_ows(&c);
	}
	*out = p;
	return KMS_EOK;
}

/* Length of a NUL-terminated field of a caller's struct; -1 if unterminated. */
static int field_len(const char *f, size_t cap, size_t *len)
{
	*len = strnlen(f, cap);
	return *len < cap ? 0 : -1;
}

static int md5_hex(const crypto_iov_t *iov, size_t n, char hex[33])
{
	uint8_t d[CRYPTO_MD5_LEN];
	int ret = crypto_hash(CRYPTO_MD_MD5, iov, n, d);
	if (ret == KMS_EOK) {
		ret = hex_encode(d, sizeof(d), hex, 33);
	}
	secmem_wipe(d, sizeof(d));
	return ret;
}

#define IOV_STR(s, n) ((crypto_iov_t){ (const uint8_t *)(s), (n) })

int digest_response(const digest_params_t *p, const char *method, const uint8_t *res,
		    size_t res_len, const uint8_t *body, size_t body_len, char out[33])
{
	static const char colon[] = ":";
	size_t ul, rl, nl, il, ql, ncl, cl, al, ml;
	char ha1[33], ha2[33], hbody[33], resp[33];
	int ret = KMS_EINVAL;

	if (p == NULL || method == NULL || res == NULL || out == NULL ||
	    (body == NULL && body_len > 0) || res_len < 4 || res_len > 16) {
		return KMS_EINVAL;
	}
	ml = strnlen(method, METHOD_MAX + 1);
	if (ml == 0 || ml > METHOD_MAX) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < ml; i++) {
		if (!is_tchar((unsigned char)method[i])) {
			return KMS_EINVAL;
		}
	}
	if (field_len(p->username, sizeof(p->username), &ul) != 0 ||
	    field_len(p->realm, sizeof(p->realm), &rl) != 0 ||
	    field_len(p->nonce, sizeof(p->nonce), &nl) != 0 ||
	    field_len(p->uri, sizeof(p->uri), &il) != 0 ||
	    field_len(p->qop, sizeof(p->qop), &ql) != 0 ||
	    field_len(p->nc, sizeof(p->nc), &ncl) != 0 ||
	    field_len(p->cnonce, sizeof(p->cnonce), &cl) != 0 ||
	    field_len(p->algorithm, sizeof(p->algorithm), &al) != 0) {
		return KMS_EINVAL;
	}
	if (ul == 0 || rl == 0 || nl == 0 || il == 0) {
		return KMS_EMALFORMED; /* a required field is missing */
	}
	if (al != 0 && strcasecmp(p->algorithm, "MD5") != 0 &&
	    strcasecmp(p->algorithm, "AKAv1-MD5") != 0) {
		return KMS_ENOTSUP; /* -sess variants, other AKA versions */
	}
	bool auth_int = strcmp(p->qop, "auth-int") == 0;
	if (ql != 0 && strcmp(p->qop, "auth") != 0 && !auth_int) {
		return KMS_EMALFORMED; /* a challenge's list, or an unknown qop */
	}
	if (ql != 0) {
		if (ncl != NC_LEN || cl == 0) {
			return KMS_EMALFORMED;
		}
		for (size_t i = 0; i < NC_LEN; i++) {
			if (strchr("0123456789abcdefABCDEF", p->nc[i]) == NULL) {
				return KMS_EMALFORMED;
			}
		}
	}

	/* HA1 = MD5(username ":" realm ":" password), password = RES. */
	const crypto_iov_t a1[5] = { IOV_STR(p->username, ul),
				     IOV_STR(colon, 1),
				     IOV_STR(p->realm, rl),
				     IOV_STR(colon, 1),
				     { res, res_len } };
	ret = md5_hex(a1, 5, ha1);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	/* HA2 = MD5(method ":" uri [":" MD5(body)]). */
	if (auth_int) {
		const crypto_iov_t b[1] = { { body, body_len } };
		ret = md5_hex(b, 1, hbody);
		if (ret != KMS_EOK) {
			goto cleanup;
		}
	}
	const crypto_iov_t a2[5] = { IOV_STR(method, ml), IOV_STR(colon, 1),
				     IOV_STR(p->uri, il), IOV_STR(colon, 1),
				     IOV_STR(hbody, 32) };
	ret = md5_hex(a2, auth_int ? 5 : 3, ha2);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	if (ql != 0) {
		const crypto_iov_t r[11] = {
			IOV_STR(ha1, 32),	IOV_STR(colon, 1),
			IOV_STR(p->nonce, nl),	IOV_STR(colon, 1),
			IOV_STR(p->nc, ncl),	IOV_STR(colon, 1),
			IOV_STR(p->cnonce, cl), IOV_STR(colon, 1),
			IOV_STR(p->qop, ql),	IOV_STR(colon, 1),
			IOV_STR(ha2, 32),
		};
		ret = md5_hex(r, 11, resp);
	} else {
		const crypto_iov_t r[5] = { IOV_STR(ha1, 32), IOV_STR(colon, 1),
					    IOV_STR(p->nonce, nl), IOV_STR(colon, 1),
					    IOV_STR(ha2, 32) };
		ret = md5_hex(r, 5, resp);
	}
	if (ret == KMS_EOK) {
		memcpy(out, resp, 33);
	}
cleanup:
	secmem_wipe(ha1, sizeof(ha1));
	secmem_wipe(ha2, sizeof(ha2));
	secmem_wipe(hbody, sizeof(hbody));
	secmem_wipe(resp, sizeof(resp));
	return ret;
}

int digest_nonce_make(const uint8_t rand[16], const uint8_t autn[16], char *out,
		      size_t cap)
{
	uint8_t raw[NONCE_RAW];
	if (rand == NULL || autn == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	memcpy(raw, rand, 16);
	memcpy(raw + 16, autn, 16);
	int ret = base64_encode(raw, sizeof(raw), out, cap);
	secmem_wipe(raw, sizeof(raw));
	return ret;
}

int digest_nonce_split(const char *nonce, uint8_t rand[16], uint8_t autn[16])
{
	uint8_t raw[DIGEST_FIELD_MAX];
	size_t n = 0;
	if (nonce == NULL || rand == NULL || autn == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(nonce, DIGEST_FIELD_MAX);
	if (len >= DIGEST_FIELD_MAX) {
		return KMS_ELIMIT;
	}
	int ret = base64_decode(nonce, len, raw, sizeof(raw), &n);
	if (ret == KMS_EOK && n < NONCE_RAW) {
		ret = KMS_EMALFORMED;
	}
	if (ret == KMS_EOK) {
		memcpy(rand, raw, 16);
		memcpy(autn, raw + 16, 16);
	} else if (ret == KMS_ESPACE) {
		ret = KMS_ELIMIT;
	}
	secmem_wipe(raw, sizeof(raw));
	return ret;
}
