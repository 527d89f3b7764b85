/* kms-ue: identity arguments, their wire form, and the KMS user identity form. */
#include "tools/ue_ident.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tools/ue_common.h"

/* Length of a sip: / sips: scheme prefix (case-insensitive), else 0. */
static size_t sip_scheme_len(const uint8_t *d, size_t len)
{
	if (len >= 4 && strncasecmp((const char *)d, "sip:", 4) == 0) {
		return 4;
	}
	if (len >= 5 && strncasecmp((const char *)d, "sips:", 5) == 0) {
		return 5;
	}
	return 0;
}

/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
static bool has_scheme(const char *s)
{
	size_t i = 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
		return false;
	}
	for (i = 1; s[i] != '\0' && s[i] != ':'; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
		if (!ok) {
			return false;
		}
	}
	return s[i] == ':';
}

int ue_check_id(const char *what, const char *value)
{
	size_t len = value != NULL ? strlen(value) : 0;
	if (len == 0 || len > MIKEY_ID_MAX) {
		fprintf(stderr, "%s: %s: 1 to %d bytes\n", ue_prog, what, MIKEY_ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c <= 0x20 || c == 0x7f) {
			fprintf(stderr,
				"%s: %s: no spaces or control characters in an "
				"identity\n",
				ue_prog, what);
			return -1;
		}
	}
	if (sip_scheme_len((const uint8_t *)value, len) == len) {
		fprintf(stderr, "%s: %s: a SIP URI needs something after '%s'\n", ue_prog,
			what, value);
		return -1;
	}
	return 0;
}

uint8_t ue_id_type_of(const uint8_t *data, size_t len)
{
	return sip_scheme_len(data, len) > 0 ? MIKEY_ID_URI : MIKEY_ID_NAI;
}

int ue_id_wire(const char *what, const char *value, bool uri, ue_id_t *out)
{
	/* A name-addr <URI> stands for its URI (the addr-spec). */
	size_t vlen = strlen(value);
	if (vlen >= 2 && value[0] == '<' && value[vlen - 1] == '>') {
		value++;
		vlen -= 2;
	}
	const char *prefix = uri && !has_scheme(value) ? "sip:" : "";
	size_t plen = strlen(prefix);
	if (plen + vlen > MIKEY_ID_MAX) {
		fprintf(stderr, "%s: %s: over %d bytes as a URI\n", ue_prog, what,
			MIKEY_ID_MAX);
		return -1;
	}
	memcpy(out->data, prefix, plen);
	memcpy(out->data + plen, value, vlen);
	out->data[plen + vlen] = '\0';
	out->len = plen + vlen;
	if (vlen == 0 ||
	    sip_scheme_len((const uint8_t *)out->data, out->len) == out->len) {
		fprintf(stderr,
			"%s: %s: no identity (a SIP URI needs something after "
			"its scheme)\n",
			ue_prog, what);
		return -1;
	}
	out->type =
	    uri ? MIKEY_ID_URI : ue_id_type_of((const uint8_t *)out->data, out->len);
	return 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

size_t ue_id_user_form(const uint8_t *data, size_t len, char *out, size_t cap)
{
	const uint8_t *d = data;
	size_t n = len;
	if (n > 0 && d[0] == '<') {
		const uint8_t *gt = memchr(d, '>', n);
		n = gt != NULL ? (size_t)(gt - d) - 1 : n - 1;
		d++;
	}
	size_t skip = sip_scheme_len(d, n);
	d += skip;
	n -= skip;
	const uint8_t *at = memchr(d, '@', n);
	size_t host = at != NULL ? (size_t)(at - d) + 1 : 0;
	/* The host part ends at parameters, headers or a port (as the KMS reads
	 * it, docs/identities.md; escapes in the user part are not decoded here:
	 * a difference is only noted, never refused). */
	for (size_t i = host; i < n; i++) {
		if (d[i] == ';' || d[i] == '?' || (at != NULL && d[i] == ':')) {
			n = i;
			break;
		}
	}
	if (n == 0 || n >= cap) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = i >= host ? lower((char)d[i]) : (char)d[i];
	}
	out[n] = '\0';
	return n;
}

bool ue_id_same_user(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	char fa[MIKEY_ID_MAX + 1], fb[MIKEY_ID_MAX + 1];
	size_t la = ue_id_user_form(a, alen, fa, sizeof(fa));
	size_t lb = ue_id_user_form(b, blen, fb, sizeof(fb));
	return la > 0 && la == lb && memcmp(fa, fb, la) == 0;
}
