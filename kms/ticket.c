#include "kms/ticket.h"

#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"
#include "kms/ticket_base.h"

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
	return mikey_tb_aad_build(policy, buf, cap, aad);
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

/* --- one API for the served types ------------------------------------------ */

bool kms_ticket_type_served(uint16_t type)
{
	return type == KMS_TICKET_TYPE || type == KMS_TICKET_TYPE_BASE ||
	       type == KMS_TICKET_TYPE_3GPP;
}

static bool is_base(uint16_t type)
{
	return type == KMS_TICKET_TYPE_BASE || type == KMS_TICKET_TYPE_3GPP;
}

/* Subtype and Version are 1 for every served type. */
static bool served(const mikey_tp_t *tp)
{
	return kms_ticket_type_served(tp->ticket_type) &&
	       tp->subtype == (is_base(tp->ticket_type) ? KMS_TICKET_BASE_SUBTYPE
							: KMS_TICKET_SUBTYPE) &&
	       tp->version == (is_base(tp->ticket_type) ? KMS_TICKET_BASE_VERSION
							: KMS_TICKET_VERSION);
}

/* A base ticket's validity is its policy's: TRs and TRe saying the window. */
static int base_window(const mikey_tp_t *tp, int64_t not_before, int64_t not_after)
{
	int64_t s = 0, e = 0;
	if (!tp->has_trs || !tp->has_tre || mikey_ts_to_unix(&tp->trs, &s) != KMS_EOK ||
	    mikey_ts_to_unix(&tp->tre, &e) != KMS_EOK || s != not_before ||
	    e != not_after) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

/* The private type's keys: MPKi, MPKr and a TGK, independent and random. */
static int private_keys(kms_ticket_scratch_t *s, size_t key_len, mikey_keys_t *keys)
{
	static const uint8_t types[3] = { MIKEY_KEY_MPK, MIKEY_KEY_MPK, MIKEY_KEY_TGK };
	for (size_t i = 0; i < 3; i++) {
		int ret = crypto_random(s->key[i], key_len);
		if (ret == KMS_EOK) {
			ret = crypto_random(s->spi[i], KMS_TICKET_SPI_LEN);
		}
		if (ret != KMS_EOK) {
			return ret;
		}
		keys->k[i] =
		    (mikey_keydata_t){ .type = types[i],
				       .kv = MIKEY_KV_SPI,
				       .key = { s->key[i], key_len },
				       .spi = { s->spi[i], KMS_TICKET_SPI_LEN } };
	}
	keys->n = 3;
	return KMS_EOK;
}

int kms_ticket_issue(const keyring_t *kr, const mikey_tp_t *policy, int64_t now,
		     int64_t not_before, int64_t not_after, kms_ticket_scratch_t *s,
		     kms_ticket_content_t *content, uint8_t *out, size_t cap, size_t *len,
		     uint32_t *key_id)
{
	uint8_t buf[MIKEY_TICKET_DATA_MAX];
	kms_ticket_suite_t su;
	kms_ticket_content_t tc = { not_before, not_after, { 0 } };
	mikey_bytes_t aad;
	bool base = is_base(policy->ticket_type);
	if (!served(policy)) {
		return KMS_ETICKET;
	}
	int ret = kms_ticket_suite(policy->prf, &su);
	if (ret == KMS_EOK && base) {
		ret = base_window(policy, not_before, not_after);
	}
	if (ret == KMS_EOK) {
		ret = kms_ticket_aad_build(policy, buf, sizeof(buf), &aad);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	if (base) {
		ret = kms_ticket_base_issue(kr, policy, &aad, now, s, &tc.keys, out, cap,
					    len, key_id);
	} else {
		ret = private_keys(s, su.key_len, &tc.keys);
		if (ret == KMS_EOK) {
			ret = kms_ticket_seal(kr, &aad, &tc, out, cap, len, key_id);
		}
	}
	if (ret == KMS_EOK) {
		*content = tc;
	}
	return ret;
}

/* The private type: sealed content, and our key layout inside it. */
static int private_redeem(const keyring_t *kr, const mikey_bytes_t *aad,
			  const mikey_bytes_t *data, kms_ticket_scratch_t *s,
			  kms_ticket_content_t *content, uint32_t *key_id)
{
	kms_ticket_content_t tc;
	int ret = kms_ticket_open(kr, aad, data->data, data->len, s->plain,
				  sizeof(s->plain), &tc, key_id);
	if (ret != KMS_EOK) {
		return ret;
	}
	const mikey_keys_t *k = &tc.keys;
	if (k->n < 3 || k->k[0].type != MIKEY_KEY_MPK || k->k[1].type != MIKEY_KEY_MPK) {
		secmem_wipe(s->plain, sizeof(s->plain));
		return KMS_ETICKET;
	}
	*content = tc;
	return KMS_EOK;
}

int kms_ticket_redeem(const keyring_t *kr, const mikey_msg_t *m, kms_ticket_scratch_t *s,
		      kms_ticket_content_t *content, uint32_t *key_id)
{
	mikey_bytes_t aad;
	if (!m->has_ticket || m->p[m->ticket_index].type != MIKEY_PT_TICKET) {
		return KMS_ETICKET;
	}
	const mikey_ticket_t *t = &m->ticket;
	if (!served(&t->policy)) {
		return KMS_ETICKET;
	}
	int ret = kms_ticket_aad_msg(m, &aad);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (is_base(t->policy.ticket_type)) {
		return kms_ticket_base_open(kr, &t->policy, &aad, &t->ticket_data, s,
					    content, key_id);
	}
	return private_redeem(kr, &aad, &t->ticket_data, s, content, key_id);
}
