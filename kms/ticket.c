#include "kms/ticket.h"

#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"

/* format (1) | key id (4) | nonce (12) | ciphertext | tag (16) */
#define HEAD_LEN (1 + 4 + CRYPTO_GCM_IV)
/* not_before (8) | not_after (8) | keys length (2) | key chain */
#define PLAIN_HEAD 18
#define KEYS_MAX 2048

size_t kms_ticket_data_len(size_t keys_len)
{
	return HEAD_LEN + PLAIN_HEAD + keys_len + CRYPTO_GCM_TAG;
}

int kms_ticket_aad_build(const mikey_tp_t *policy, uint8_t *buf, size_t cap,
			 mikey_bytes_t *aad)
{
	mikey_builder_t b;
	mikey_ticket_t t;
	memset(&t, 0, sizeof(t));
	t.policy = *policy;
	mikey_builder_init(&b, buf, cap);
	mikey_ticket_build(&b, &t, false); /* the TP form ends with TP Data */
	int ret = mikey_builder_error(&b);
	if (ret != KMS_EOK) {
		return ret;
	}
	/* Skip the Next payload byte: it depends on what follows the TICKET. */
	aad->data = buf + 1;
	aad->len = mikey_builder_len(&b) - 1;
	return KMS_EOK;
}

int kms_ticket_aad_msg(const mikey_msg_t *m, mikey_bytes_t *aad)
{
	if (!m->has_ticket || m->p[m->ticket_index].type != MIKEY_PT_TICKET) {
		return KMS_ETICKET;
	}
	const mikey_payload_t *p = &m->p[m->ticket_index];
	/* Ticket Type (2) .. TP Data length (2), then TP Data. */
	size_t len = 9 + m->ticket.policy.tp_data.len;
	if (p->len < 1 + len) {
		return KMS_EINTERNAL;
	}
	aad->data = m->buf + p->off + 1;
	aad->len = len;
	return KMS_EOK;
}

int kms_ticket_seal(const keyring_t *kr, const mikey_bytes_t *aad,
		    const kms_ticket_content_t *content, uint8_t *out, size_t cap,
		    size_t *len, uint32_t *key_id)
{
	uint8_t plain[PLAIN_HEAD + KEYS_MAX];
	size_t keys_len = 0;
	uint32_t id = 0;
	const uint8_t *key = NULL;
	int ret = keyring_active(kr, &id, &key);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = mikey_keys_build(&content->keys, plain + PLAIN_HEAD, KEYS_MAX, &keys_len);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	size_t total = kms_ticket_data_len(keys_len);
	if (total > cap || total > MIKEY_TICKET_DATA_MAX) {
		ret = KMS_ESPACE;
		goto cleanup;
	}
	wire_wr_t w;
	wire_wr_init(&w, plain, PLAIN_HEAD);
	wire_wr_u64(&w, (uint64_t)content->not_before);
	wire_wr_u64(&w, (uint64_t)content->not_after);
	wire_wr_u16(&w, (uint16_t)keys_len);
	wire_wr_init(&w, out, cap);
	wire_wr_u8(&w, KMS_TICKET_FORMAT);
	wire_wr_u32(&w, id);
	uint8_t *nonce = wire_wr_reserve(&w, CRYPTO_GCM_IV);
	ret = wire_wr_error(&w);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	/* A random 96-bit nonce per ticket: 2^32 tickets per key stay far
	 * below the collision bound; rotate keys well before that. */
	ret = crypto_random(nonce, CRYPTO_GCM_IV);
	if (ret == KMS_EOK) {
		size_t plen = PLAIN_HEAD + keys_len;
		ret = crypto_gcm_seal(key, nonce, aad->data, aad->len, plain, plen,
				      out + HEAD_LEN, out + HEAD_LEN + plen);
	}
	if (ret == KMS_EOK) {
		*len = total;
		if (key_id != NULL) {
			*key_id = id;
		}
	}
cleanup:
	secmem_wipe(plain, sizeof(plain));
	return ret;
}

int kms_ticket_open(const keyring_t *kr, const mikey_bytes_t *aad, const uint8_t *data,
		    size_t len, uint8_t *plain, size_t plain_cap,
		    kms_ticket_content_t *content, uint32_t *key_id)
{
	wire_rd_t c;
	wire_rd_init(&c, data, len);
	uint8_t format = wire_rd_u8(&c);
	uint32_t id = wire_rd_u32(&c);
	const uint8_t *nonce = wire_rd_ptr(&c, CRYPTO_GCM_IV);
	if (wire_rd_error(&c) != KMS_EOK || format != KMS_TICKET_FORMAT ||
	    len < HEAD_LEN + PLAIN_HEAD + CRYPTO_GCM_TAG) {
		return KMS_ETICKET;
	}
	if (key_id != NULL) {
		*key_id = id;
	}
	size_t plen = len - HEAD_LEN - CRYPTO_GCM_TAG;
	if (plen > plain_cap) {
		return KMS_ETICKET;
	}
	const uint8_t *key = NULL;
	if (keyring_find(kr, id, &key) != KMS_EOK) {
		return KMS_EEXPIRED; /* unknown or retired key */
	}
	/* The tag is checked before any plaintext is used. */
	int ret = crypto_gcm_open(key, nonce, aad->data, aad->len, data + HEAD_LEN, plen,
				  data + HEAD_LEN + plen, plain);
	if (ret != KMS_EOK) {
		return ret == KMS_EAUTH ? KMS_ETICKET : ret;
	}
	kms_ticket_content_t tc;
	wire_rd_init(&c, plain, plen);
	tc.not_before = (int64_t)wire_rd_u64(&c);
	tc.not_after = (int64_t)wire_rd_u64(&c);
	uint16_t keys_len = wire_rd_u16(&c);
	const uint8_t *keys = wire_rd_ptr(&c, keys_len);
	ret = wire_rd_finish(&c);
	if (ret == KMS_EOK) {
		ret = mikey_keys_parse(keys, keys_len, &tc.keys);
	}
	if (ret != KMS_EOK) {
		secmem_wipe(plain, plen);
		return KMS_ETICKET; /* authentic but not a layout we wrote */
	}
	*content = tc;
	return KMS_EOK;
}
