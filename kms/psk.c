#include "kms/psk.h"

#include <string.h>

#include "common/secmem.h"

void kms_psk_wipe(kms_psk_t *psk)
{
	/* Only the key is secret; the identities are not worth the cycles. */
	if (psk != NULL) {
		secmem_wipe(psk->key, sizeof(psk->key));
		psk->key_len = 0;
	}
}

int kms_psk_has_identity(const kms_psk_t *psk, const uint8_t *id, size_t len)
{
	if (psk == NULL || id == NULL || len == 0 || len > KMS_IDENTITY_MAX) {
		return 0;
	}
	size_t n = psk->nids < KMS_PSK_IDS_MAX ? psk->nids : KMS_PSK_IDS_MAX;
	for (size_t i = 0; i < n; i++) {
		const char *s = psk->ids[i];
		/* Byte-exact: identities are not secrets, memcmp is fine. */
		if (strnlen(s, KMS_IDENTITY_MAX + 1) == len && memcmp(s, id, len) == 0) {
			return 1;
		}
	}
	return 0;
}
