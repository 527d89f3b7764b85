/*
 * libFuzzer harness for MIKEY message parsing.
 *
 * For every input: decode and check; when the message decodes, it must
 * build again, and parse -> build -> parse -> build must be a fixed point
 * (the second encoding equals the first).  Key data chains are parsed too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "mikey/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mikey_msg_t m1, m2;
static uint8_t b1[MIKEY_MSG_MAX], b2[MIKEY_MSG_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mikey_keys_t keys;
	(void)mikey_keys_parse(data, size, &keys);

	if (mikey_msg_decode(data, size, &m1) != KMS_EOK) {
		return 0;
	}
	if (mikey_msg_check(&m1) != KMS_EOK) {
		return 0;
	}
	size_t l1 = 0, l2 = 0;
	if (mikey_msg_build(&m1, b1, sizeof(b1), &l1) != KMS_EOK) {
		abort(); /* a valid message must re-encode */
	}
	if (l1 != size) {
		abort(); /* only reserved bits may differ, never lengths */
	}
	if (mikey_msg_parse(b1, l1, &m2) != KMS_EOK) {
		abort();
	}
	if (mikey_msg_build(&m2, b2, sizeof(b2), &l2) != KMS_EOK || l2 != l1 ||
	    memcmp(b1, b2, l1) != 0) {
		abort();
	}
	return 0;
}
