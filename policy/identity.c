#include "policy/identity.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/errcode.h"

bool identity_is_group(const char *s, size_t len)
{
	return memchr(s, '*', len) != NULL;
}

/* Byte comparison with a step counter; fold: ASCII case-insensitive. */
typedef struct {
	bool fold;
	size_t steps;
} cmp_t;

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool eq(cmp_t *c, char a, char b)
{
	c->steps++;
	unsigned char x = (unsigned char)a, y = (unsigned char)b;
	return c->fold ? lower(x) == lower(y) : x == y;
}

/*
 * Leftmost start of w[0..m) in t[from..n) or SIZE_MAX (Knuth-Morris-Pratt,
 * 1 <= m <= IDENTITY_MAX).  At most 2m + 2(n - from) comparisons: each one
 * advances the text or the table index, or shrinks the matched prefix.
 */
static size_t find(cmp_t *c, const char *w, size_t m, const char *t, size_t from,
		   size_t n)
{
	size_t fail[IDENTITY_MAX];
	size_t k = 0;
	fail[0] = 0;
	for (size_t i = 1; i < m; i++) {
		for (;;) {
			if (eq(c, w[i], w[k])) {
				k++;
				break;
			}
			if (k == 0) {
				break;
			}
			k = fail[k - 1];
		}
		fail[i] = k;
	}
	k = 0;
	for (size_t j = from; j < n; j++) {
		for (;;) {
			if (eq(c, t[j], w[k])) {
				if (++k == m) {
					return j + 1 - m;
				}
				break;
			}
			if (k == 0) {
				break;
			}
			k = fail[k - 1];
		}
	}
	return SIZE_MAX;
}

static bool same(cmp_t *c, const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!eq(c, a[i], b[i])) {
			return false;
		}
	}
	return true;
}

/*
 * Does s[0..sl) match p[0..pl), where each '*' takes one or more bytes?
 * The pattern splits at '*' into literal segments: the first is a prefix,
 * the last a suffix, the middle ones are found leftmost in order, each
 * '*' reserving one byte first.  Leftmost is optimal: an earlier end
 * leaves every later choice open.  No backtracking, so linear.
 */
static bool glob(cmp_t *c, const char *p, size_t pl, const char *s, size_t sl)
{
	const char *star = memchr(p, '*', pl);
	if (star == NULL) {
		return pl == sl && same(c, p, s, sl);
	}
	size_t i = (size_t)(star - p);
	if (i > sl || !same(c, p, s, i)) {
		return false;
	}
	size_t pos = i; /* subject bytes used so far; p[i] is a '*' */
	while (i < pl) {
		i++;
		if (++pos > sl) {
			return false; /* the '*' has no byte left */
		}
		if (i == pl) {
			return true; /* a trailing '*' takes the rest */
		}
		if (p[i] == '*') {
			continue;
		}
		size_t e = i;
		while (e < pl && p[e] != '*') {
			e++;
		}
		size_t m = e - i;
		if (e == pl) {
			return sl - pos >= m && same(c, p + i, s + sl - m, m);
		}
		size_t at = find(c, p + i, m, s, pos, sl);
		if (at == SIZE_MAX) {
			return false;
		}
		pos = at + m;
		i = e;
	}
	return pos == sl;
}

/* The last '@' of s[0..n) when it splits s into two non-empty parts. */
static const char *split_at(const char *s, size_t n)
{
	for (size_t i = n; i > 0; i--) {
		if (s[i - 1] == '@') {
			return (i > 1 && i < n) ? s + i - 1 : NULL;
		}
	}
	return NULL;
}

bool identity_match_ex(const char *p, size_t pl, const char *s, size_t sl, size_t *steps)
{
	cmp_t c = { .fold = false, .steps = 0 };
	bool ok = false;
	if (pl > 0 && sl > 0 && pl <= IDENTITY_MAX && sl <= IDENTITY_MAX) {
		const char *pa = split_at(p, pl);
		const char *sa = split_at(s, sl);
		if (pa != NULL && sa != NULL) {
			size_t pu = (size_t)(pa - p), su = (size_t)(sa - s);
			ok = glob(&c, p, pu, s, su);
			c.fold = true;
			ok = ok && glob(&c, pa + 1, pl - pu - 1, sa + 1, sl - su - 1);
		}
	}
	if (steps != NULL) {
		*steps = c.steps;
	}
	return ok;
}

bool identity_match(const char *p, size_t pl, const char *s, size_t sl)
{
	return identity_match_ex(p, pl, s, sl, NULL);
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex(unsigned char c)
{
	if (is_digit(c)) {
		return c - '0';
	}
	c = lower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Does s[0..n) start with "scheme:" (RFC 3986 scheme syntax)? */
static bool has_scheme(const char *s, size_t n)
{
	if (n == 0 || !is_alpha((unsigned char)s[0])) {
		return false;
	}
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ':') {
			return true;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
			return false;
		}
	}
	return false;
}

/* Is s[0..n) well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF)? */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t more;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < more) {
			return false;
		}
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				return false;
			}
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
		i += more + 1;
	}
	return true;
}

/*
 * Percent-decode the user part u[0..n) once into out; a reason or NULL.
 * pattern: a raw '*' is a wildcard and kept; an escaped one is refused.
 */
static const char *user_decode(const char *u, size_t n, bool pattern, char *out,
			       size_t *len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];
		bool escaped = false;
		if (c == ':') {
			return "password in the user info";
		}
		if (c == '<' || c == '>' || c == '"' || c == '\\') {
			return "invalid character in the user part";
		}
		if (c == '%') {
			int hi = i + 2 < n ? hex((unsigned char)u[i + 1]) : -1;
			int lo = i + 2 < n ? hex((unsigned char)u[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				return "malformed percent escape in the user part";
			}
			c = (unsigned char)(hi * 16 + lo);
			if (c == 0) {
				return "%00 in the user part";
			}
			escaped = true;
			i += 2;
		}
		if (c <= ' ' || c == 0x7f) {
			return "control character or space in the user part";
		}
		if (c == '@') {
			return "'@' in the user part";
		}
		if (c == '*' && pattern && escaped) {
			return "%2A in a pattern (ambiguous: a '*' or a wildcard)";
		}
		if (c == '*' && !pattern) {
			return "'*' in the user part (a group, not a user identity)";
		}
		if (o == IDENTITY_MAX) {
			return "identity longer than 256 bytes";
		}
		out[o++] = (char)c;
	}
	*len = o;
	return NULL;
}

/*
 * The identity of uri into buf[IDENTITY_MAX + 1]; a reason or NULL.
 * pattern: '*' allowed in the user and domain parts (a group identity).
 */
static const char *derive(const char *uri, size_t len, bool pattern, char *buf,
			  size_t *out_len)
{
	const char *s = uri, *e = uri + len;
	if (len == 0) {
		return "empty URI";
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)uri[i];
		if (c <= ' ' || c == 0x7f) {
			return "control character, NUL or space in the URI";
		}
	}
	if (*s == '<') {
		if (len < 2 || e[-1] != '>') {
			return "unbalanced '<' and '>'";
		}
		s++;
		e--;
	}
	size_t n = (size_t)(e - s);
	if (n >= 4 && strncasecmp(s, "sip:", 4) == 0) {
		s += 4;
	} else if (n >= 5 && strncasecmp(s, "sips:", 5) == 0) {
		s += 5;
	} else if (has_scheme(s, n)) {
		return "unsupported URI scheme (only sip: and sips:)";
	}
	const char *at = memchr(s, '@', (size_t)(e - s));
	if (at == NULL) {
		return "no '@' (not user@domain)";
	}
	if (at == s) {
		return "empty user part";
	}
	size_t un = 0;
	const char *why = user_decode(s, (size_t)(at - s), pattern, buf, &un);
	if (why != NULL) {
		return why;
	}
	const char *h = at + 1, *he = h;
	if (h < e && *h == '[') {
		return "IPv6 reference not supported as a domain";
	}
	while (he < e && *he != ';' && *he != '?' && *he != ':') {
		he++;
	}
	if (he < e && *he == ':') { /* a port: 1 to 5 digits */
		const char *q = he + 1;
		while (q < e && is_digit((unsigned char)*q)) {
			q++;
		}
		if (q == he + 1 || q - he > 6 || (q < e && *q != ';' && *q != '?')) {
			return "malformed port";
		}
	}
	if (he == h) {
		return "empty domain";
	}
	if (un + 1 + (size_t)(he - h) > IDENTITY_MAX) {
		return "identity longer than 256 bytes";
	}
	buf[un] = '@';
	for (size_t i = 0; i < (size_t)(he - h); i++) {
		unsigned char c = (unsigned char)h[i];
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c < 0x80 &&
		    !(pattern && c == '*')) {
			return "invalid character in the domain";
		}
		buf[un + 1 + i] = (char)lower(c);
	}
	n = un + 1 + (size_t)(he - h);
	if (!utf8_ok((const unsigned char *)buf, n)) {
		return "invalid UTF-8";
	}
	buf[n] = '\0';
	*out_len = n;
	return NULL;
}

int identity_from_uri_ex(const char *uri, size_t len, char *out, size_t cap,
			 size_t *out_len, const char **why)
{
	char buf[IDENTITY_MAX + 1];
	size_t n = 0;
	const char *r = derive(uri, len, false, buf, &n);
	if (r == NULL && n >= cap) {
		r = "output buffer too small";
	}
	if (r != NULL) {
		if (why != NULL) {
			*why = r;
		}
		return KMS_EID;
	}
	memcpy(out, buf, n + 1);
	*out_len = n;
	return KMS_EOK;
}

int identity_from_uri(const char *uri, size_t len, char *out, size_t cap, size_t *out_len)
{
	return identity_from_uri_ex(uri, len, out, cap, out_len, NULL);
}

int identity_pattern_check(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > IDENTITY_MAX) {
		return KMS_EINVAL;
	}
	const char *at = strrchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0') {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f) {
			return KMS_EINVAL;
		}
	}
	return KMS_EOK;
}

/* Does s[0..n) start with prefix, ASCII case-insensitively? */
static bool starts_with(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	return n >= pl && strncasecmp(s, prefix, pl) == 0;
}

/*
 * Why ID Data s[0..len) of type id_type cannot be a KMS user (or with
 * pattern, group) identity before it is parsed, or NULL.
 */
static const char *precheck(uint8_t id_type, const char *s, size_t len, bool pattern)
{
	if (id_type > IDENTITY_ID_BYTES) {
		return "unknown ID Type (only 0 NAI, 1 URI and 2 byte string)";
	}
	if (len == 0) {
		return "empty identity";
	}
	if (len > IDENTITY_DATA_MAX) {
		return "identity data longer than 1024 bytes";
	}
	if (memchr(s, '\0', len) != NULL) {
		return "NUL byte in the identity";
	}
	const char *b = s;
	size_t n = len;
	if (*b == '<') {
		b++;
		n--;
	}
	if (starts_with(b, n, "sip:") || starts_with(b, n, "sips:")) {
		/* a SIP URI: derive() parses it */
	} else if (starts_with(b, n, "tel:")) {
		return "tel: URI is not a KMS user identity (TS 33.328 6.2.3.2)";
	} else if (has_scheme(b, n)) {
		return "URI scheme other than sip:/sips: is not a KMS user identity";
	}
	if (!pattern && memchr(s, '*', len) != NULL) {
		return "group identity where a user identity is required";
	}
	return NULL;
}

static int normalise(uint8_t id_type, const uint8_t *data, size_t len, bool pattern,
		     char *out, size_t cap, size_t *out_len, const char **why)
{
	char buf[IDENTITY_MAX + 1];
	size_t n = 0;
	const char *s = (const char *)data;
	const char *r = data == NULL ? "no identity" : precheck(id_type, s, len, pattern);
	if (r == NULL) {
		r = derive(s, len, pattern, buf, &n);
	}
	if (r == NULL && (out == NULL || n >= cap)) {
		r = "output buffer too small";
	}
	if (r != NULL) {
		if (why != NULL) {
			*why = r;
		}
		return KMS_EID;
	}
	memcpy(out, buf, n + 1);
	if (out_len != NULL) {
		*out_len = n;
	}
	return KMS_EOK;
}

int identity_normalise(uint8_t id_type, const uint8_t *data, size_t len, char *out,
		       size_t cap, size_t *out_len, const char **why)
{
	return normalise(id_type, data, len, false, out, cap, out_len, why);
}

int identity_pattern_normalise(uint8_t id_type, const uint8_t *data, size_t len,
			       char *out, size_t cap, size_t *out_len, const char **why)
{
	return normalise(id_type, data, len, true, out, cap, out_len, why);
}

/*
 * The host of a SIP URI without a user part ("sip:kms.example.org",
 * "<sips:KMS.example.org:5061;transport=tls>"): *h / *hl narrowed to it.
 * Anything else (no sip:/sips: scheme, a user part) is left as it is.
 */
static void uri_host(const uint8_t **h, size_t *hl)
{
	const char *s = (const char *)*h;
	size_t n = *hl, skip = 0;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (starts_with(s, n, "sip:")) {
		skip = 4;
	} else if (starts_with(s, n, "sips:")) {
		skip = 5;
	} else {
		return;
	}
	s += skip;
	n -= skip;
	size_t end = 0;
	while (end < n && s[end] != ';' && s[end] != '?' && s[end] != ':') {
		if (s[end] == '@') {
			return; /* a user part: not a host-only URI */
		}
		end++;
	}
	/* A port is 1 to 5 digits and ends the host part. */
	if (end < n && s[end] == ':') {
		size_t d = end + 1;
		while (d < n && is_digit((unsigned char)s[d])) {
			d++;
		}
		if (d == end + 1 || d - end - 1 > 5 ||
		    (d < n && s[d] != ';' && s[d] != '?')) {
			return;
		}
	}
	*h = (const uint8_t *)s;
	*hl = end;
}

bool identity_kms_match(const char *kms_id, const uint8_t *data, size_t len)
{
	if (kms_id == NULL || data == NULL || len == 0) {
		return false;
	}
	size_t kl = strnlen(kms_id, IDENTITY_DATA_MAX + 1);
	if (kl == len && memcmp(kms_id, data, len) == 0) {
		return true;
	}
	if (memchr(kms_id, '@', kl) == NULL) { /* a bare host name */
		const uint8_t *h = data;
		size_t hl = len;
		uri_host(&h, &hl);
		if (kl != hl) {
			return false;
		}
		for (size_t i = 0; i < hl; i++) {
			if (lower((unsigned char)kms_id[i]) != lower(h[i])) {
				return false;
			}
		}
		return true;
	}
	char a[IDENTITY_MAX + 1], b[IDENTITY_MAX + 1];
	size_t an = 0, bn = 0;
	if (identity_normalise(IDENTITY_ID_NAI, (const uint8_t *)kms_id, kl, a, sizeof(a),
			       &an, NULL) != KMS_EOK ||
	    identity_normalise(IDENTITY_ID_URI, data, len, b, sizeof(b), &bn, NULL) !=
		KMS_EOK) {
		return false;
	}
	/* Domains are lower-cased (ASCII): byte equality is the rule. */
	return an == bn && memcmp(a, b, an) == 0;
}

int identity_pattern_canon(const char *s, char *out, size_t cap, const char **why)
{
	char buf[IDENTITY_MAX + 1];
	const char *r = NULL;
	size_t n = s != NULL ? strnlen(s, IDENTITY_DATA_MAX + 1) : 0, bl = 0;
	size_t skip = n > 0 && s[0] == '<' ? 1 : 0;
	if (s == NULL) {
		r = "no pattern";
	} else if (!has_scheme(s + skip, n - skip)) {
		if (identity_pattern_check(s) != KMS_EOK) {
			r = "not user@domain (3 to 256 bytes, no spaces or controls)";
		} else {
			bl = n;
			memcpy(buf, s, n + 1);
		}
	} else if (identity_pattern_normalise(IDENTITY_ID_URI, (const uint8_t *)s, n, buf,
					      sizeof(buf), &bl, &r) == KMS_EOK &&
		   has_scheme(buf, bl)) { /* "a:b@x" would not read back */
		r = "':' in the user part of a pattern (reads as a URI scheme)";
	}
	if (r == NULL && bl >= cap) {
		r = "output buffer too small";
	}
	if (r != NULL) {
		if (why != NULL) {
			*why = r;
		}
		return KMS_EINVAL;
	}
	memcpy(out, buf, bl + 1);
	return KMS_EOK;
}
