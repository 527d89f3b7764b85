/*
 * libFuzzer harness for the Zn answer reader (kms/naf_zn.c): the body a
 * BSF (or anyone who can answer on its address) sends to kmsd.
 *
 * For every input: naf_zn_parse for a fixed B-TID and time.  When it
 * accepts, the key is 16 or 32 bytes, at most KMS_PSK_IDS_MAX identities
 * came through, each NUL-terminated, non-empty and without '*', and the
 * IMPI is NUL-terminated; the key is wiped afterwards, as kmsd does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "kms/naf_zn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BTID "AAECAwQFBgcICQoLDA0ODw==@bsf.example.org"
#define NOW 1800000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > NAF_ZN_BODY_MAX) {
		return 0; /* kmsd never hands over more (the client's cap) */
	}
	naf_zn_answer_t a;
	memset(&a, 0, sizeof(a));
	if (naf_zn_parse((const char *)data, size, BTID, NOW, &a) != KMS_EOK) {
		return 0;
	}
	if ((a.psk.key_len != 16 && a.psk.key_len != 32) ||
	    a.psk.nids > KMS_PSK_IDS_MAX ||
	    strnlen(a.impi, sizeof(a.impi)) == sizeof(a.impi)) {
		abort();
	}
	for (size_t i = 0; i < a.psk.nids; i++) {
		size_t n = strnlen(a.psk.ids[i], sizeof(a.psk.ids[i]));
		if (n == 0 || n == sizeof(a.psk.ids[i]) || memchr(a.psk.ids[i], '*', n)) {
			abort();
		}
	}
	if (a.psk.expires != 0 && a.psk.expires <= NOW) {
		abort(); /* an expired key is refused */
	}
	kms_psk_wipe(&a.psk);
	return 0;
}
