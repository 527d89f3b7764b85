/*
 * Ticket Types 1 and 2 as this KMS issues them: the format is
 * mikey/ticket_base.c's; here the TPK comes from the keyring (the active
 * key on issue, the key IDRpsk names on open).
 */
#include "kms/ticket_base.h"

#include <stdbool.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"

int kms_ticket_suite(uint8_t prf, kms_ticket_suite_t *out)
{
	return mikey_tb_suite(prf, out);
}

static bool base_type(uint16_t type)
{
	return type == KMS_TICKET_TYPE_BASE || type == KMS_TICKET_TYPE_3GPP;
}

int kms_ticket_base_tpk(const uint8_t master[KEYRING_KEY_LEN], uint16_t type,
			uint32_t key_id, uint8_t tpk[KMS_TPK_LEN])
{
	if (!base_type(type)) {
		return KMS_EINVAL;
	}
	/* "kmsd TPK v1" || Ticket Type (2) || key id (4) */
	uint8_t tail[2 + 4];
	wire_wr_t w;
	wire_wr_init(&w, tail, sizeof(tail));
	wire_wr_u16(&w, type);
	wire_wr_u32(&w, key_id);
	const crypto_iov_t iov[2] = {
		{ (const uint8_t *)KMS_TPK_LABEL, sizeof(KMS_TPK_LABEL) - 1 },
		{ tail, sizeof(tail) },
	};
	return crypto_hmac(CRYPTO_MD_SHA256, master, KEYRING_KEY_LEN, iov, 2, tpk);
}

int kms_ticket_base_issue(const keyring_t *kr, const mikey_tp_t *policy,
			  const mikey_bytes_t *aad, int64_t now, kms_ticket_scratch_t *s,
			  mikey_keys_t *keys, uint8_t *out, size_t cap, size_t *len,
			  uint32_t *key_id)
{
	uint8_t tpk[KMS_TPK_LEN];
	uint32_t id = 0;
	const uint8_t *master = NULL;
	if (!base_type(policy->ticket_type)) {
		return KMS_EINVAL;
	}
	int ret = keyring_active(kr, &id, &master);
	if (ret == KMS_EOK) {
		ret = kms_ticket_base_tpk(master, policy->ticket_type, id, tpk);
	}
	if (ret == KMS_EOK) {
		ret = mikey_tb_build(tpk, id, policy, aad, now, s, keys, out, cap, len);
	}
	if (ret == KMS_EOK && key_id != NULL) {
		*key_id = id;
	}
	secmem_wipe(tpk, sizeof(tpk));
	return ret;
}

int kms_ticket_base_validity(const mikey_tp_t *policy, int64_t *not_before,
			     int64_t *not_after)
{
	if (!policy->has_trs || !policy->has_tre ||
	    mikey_ts_to_unix(&policy->trs, not_before) != KMS_EOK ||
	    mikey_ts_to_unix(&policy->tre, not_after) != KMS_EOK) {
		return KMS_ETICKET;
	}
	return KMS_EOK;
}

int kms_ticket_base_open(const keyring_t *kr, const mikey_tp_t *policy,
			 const mikey_bytes_t *aad, const mikey_bytes_t *data,
			 kms_ticket_scratch_t *s, kms_ticket_content_t *content,
			 uint32_t *key_id)
{
	kms_ticket_content_t tc;
	mikey_tb_t b;
	uint8_t tpk[KMS_TPK_LEN];
	const uint8_t *master = NULL;

	if (!base_type(policy->ticket_type) ||
	    mikey_tb_parse(data, policy->prf, &b) != KMS_EOK) {
		return KMS_ETICKET;
	}
	if (key_id != NULL) {
		*key_id = b.tpk_id;
	}
	if (keyring_find(kr, b.tpk_id, &master) != KMS_EOK) {
		return KMS_EEXPIRED; /* unknown or retired key */
	}
	int ret = kms_ticket_base_tpk(master, policy->ticket_type, b.tpk_id, tpk);
	/* Validity is read from the policy only once V has verified it. */
	if (ret == KMS_EOK) {
		ret = mikey_tb_open(tpk, policy->prf, aad, data, &b, s, &tc.keys);
	}
	if (ret == KMS_EOK) {
		ret = kms_ticket_base_validity(policy, &tc.not_before, &tc.not_after);
	}
	if (ret == KMS_EOK) {
		*content = tc;
	}
	secmem_wipe(tpk, sizeof(tpk));
	return ret;
}
