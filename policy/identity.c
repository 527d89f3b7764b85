#include "policy/identity.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/errcode.h"

bool identity_is_group(const char *s, size_t len)
{
	return memchr(s, '*', len) != NULL;
}

bool identity_match(const char *p, size_t pl, const char *s, size_t sl)
{
	if (pl == 0 || sl == 0 || pl > IDENTITY_MAX || sl > IDENTITY_MAX) {
		return false;
	}
	size_t i = 0, j = 0, mark = 0;
	size_t star = SIZE_MAX;
	while (j < sl) {
		if (i < pl && p[i] == '*') {
			/* A star takes at least one character; more on backtrack. */
			star = i++;
			mark = ++j;
		} else if (i < pl && p[i] == s[j]) {
			i++;
			j++;
		} else if (star != SIZE_MAX) {
			i = star + 1;
			j = ++mark;
		} else {
			return false;
		}
	}
	return i == pl;
}

int identity_from_uri(const char *uri, size_t len, char *out, size_t cap, size_t *out_len)
{
	const char *s = uri;
	const char *e = uri + len;
	if (s < e && *s == '<') {
		s++;
	}
	if ((size_t)(e - s) >= 4 && strncasecmp(s, "sip:", 4) == 0) {
		s += 4;
	} else if ((size_t)(e - s) >= 5 && strncasecmp(s, "sips:", 5) == 0) {
		s += 5;
	}
	const char *end = s;
	while (end < e && *end != ';' && *end != '?' && *end != '>') {
		end++;
	}
	size_t n = (size_t)(end - s);
	const char *at = memchr(s, '@', n);
	if (n == 0 || n > IDENTITY_MAX || n >= cap || at == NULL || at == s ||
	    at == end - 1 || memchr(s, '\0', n) != NULL) {
		return KMS_EID;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	*out_len = n;
	return KMS_EOK;
}
