/*
 * libFuzzer harness for the HTTP Digest header parser (gba/digest.c).
 *
 * For every input: parse; when it parses, every field must be a
 * NUL-terminated printable ASCII string inside its buffer, and the
 * response and nonce helpers must accept or refuse it without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "gba/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *f, size_t cap)
{
	size_t n = strnlen(f, cap);
	if (n == cap) {
		abort(); /* not terminated */
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c != '\t' && (c < 0x20 || c > 0x7e)) {
			abort(); /* the parser lets no control or 8-bit byte through */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t res[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	digest_params_t p;
	if (digest_parse((const char *)data, size, &p) != KMS_EOK) {
		return 0;
	}
	if (size > DIGEST_HEADER_MAX) {
		abort();
	}
	check_field(p.username, sizeof(p.username));
	check_field(p.realm, sizeof(p.realm));
	check_field(p.nonce, sizeof(p.nonce));
	check_field(p.uri, sizeof(p.uri));
	check_field(p.qop, sizeof(p.qop));
	check_field(p.nc, sizeof(p.nc));
	check_field(p.cnonce, sizeof(p.cnonce));
	check_field(p.response, sizeof(p.response));
	check_field(p.opaque, sizeof(p.opaque));
	check_field(p.algorithm, sizeof(p.algorithm));
	check_field(p.auts, sizeof(p.auts));
	char out[33];
	if (digest_response(&p, "GET", res, sizeof(res), data, size, out) == KMS_EOK &&
	    strlen(out) != 32) {
		abort();
	}
	uint8_t rand[16], autn[16];
	(void)digest_nonce_split(p.nonce, rand, autn);
	return 0;
}
