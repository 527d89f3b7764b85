/*
 * libFuzzer harness for the identity parsers (policy/identity.c): the ID
 * Data of IDRi/IDRr/IDRkms from the network, BSF IMPUs and operators'
 * patterns all go through them.
 *
 * Input: byte 0 picks the ID Type, the rest is the ID Data.  Checked:
 *  - identity_normalise: a result is NUL-terminated inside its buffer,
 *    has no '*', and its length is what was reported;
 *  - identity_pattern_normalise: a result passes identity_pattern_check;
 *  - identity_pattern_canon: a result is a fixed point (canon(canon(x)) ==
 *    canon(x)) and passes identity_pattern_check;
 *  - identity_kms_match and identity_match answer without crashing; a
 *    normalised identity that is a valid pattern matches itself, in at
 *    most 2 x (pattern + identity) byte comparisons.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "policy/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (IDENTITY_MAX + 1)

static void check_normalised(const char *out, size_t cap, size_t len)
{
	size_t n = strnlen(out, cap);
	if (n == cap || n != len || n == 0 || memchr(out, '*', n) != NULL) {
		abort();
	}
	size_t steps = 0;
	bool self = identity_match_ex(out, n, out, n, &steps);
	if (steps > 4 * n || (identity_pattern_check(out) == KMS_EOK && !self)) {
		abort(); /* linear, and a valid identity is its own pattern */
	}
}

static void check_canon(const char *in)
{
	char a[OUT_CAP], b[OUT_CAP];
	if (identity_pattern_canon(in, a, sizeof(a), NULL) != KMS_EOK) {
		return;
	}
	if (strnlen(a, sizeof(a)) == sizeof(a) || identity_pattern_check(a) != KMS_EOK) {
		abort();
	}
	if (identity_pattern_canon(a, b, sizeof(b), NULL) != KMS_EOK ||
	    strcmp(a, b) != 0) {
		abort(); /* never decodes twice */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > IDENTITY_DATA_MAX + 1) {
		return 0;
	}
	uint8_t type = data[0] & 3;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	char out[OUT_CAP];
	size_t len = 0;
	if (identity_normalise(type, d, n, out, sizeof(out), &len, NULL) == KMS_EOK) {
		check_normalised(out, sizeof(out), len);
		(void)identity_kms_match(out, d, n);
	}
	if (identity_pattern_normalise(type, d, n, out, sizeof(out), &len, NULL) ==
	    KMS_EOK) {
		if (strnlen(out, sizeof(out)) != len ||
		    identity_pattern_check(out) != KMS_EOK) {
			abort();
		}
	}
	/* The same bytes as an operator's text (NUL-terminated copy). */
	char *s = malloc(n + 1);
	if (s == NULL) {
		return 0;
	}
	memcpy(s, d, n);
	s[n] = '\0';
	check_canon(s);
	(void)identity_kms_match(s, d, n);
	(void)identity_match(s, strlen(s), "alice@example.org", 17);
	free(s);
	return 0;
}
