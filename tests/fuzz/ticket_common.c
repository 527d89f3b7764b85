/* Shared by fuzz_ticket.c and ticket_seeds.c (see ticket_common.h). */
#include "tests/fuzz/ticket_common.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"
#include "kms/ticket.h"
#include "kms/ticket_base.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"

#define PRIV_HEAD (1 + 4 + CRYPTO_GCM_IV)

const uint8_t tf_tpk[32] = { 0x54, 0x50, 0x4b, 0x20, 0x6f, 0x66, 0x20, 0x61,
			     0x6e, 0x20, 0x49, 0x6e, 0x69, 0x74, 0x69, 0x61,
			     0x74, 0x6f, 0x72, 0x20, 0x28, 0x66, 0x75, 0x7a,
			     0x7a, 0x20, 0x74, 0x65, 0x73, 0x74, 0x73, 0x29 };

const keyring_t *tf_keyring(void)
{
	static keyring_t *kr;
	static const uint32_t ids[2] = { TF_KEY_ACTIVE, TF_KEY_ROTATED };
	static uint8_t keys[2][KEYRING_KEY_LEN];
	if (kr == NULL) {
		for (size_t i = 0; i < KEYRING_KEY_LEN; i++) {
			keys[0][i] = (uint8_t)(0x40 + i);
			keys[1][i] = (uint8_t)(0x90 + i);
		}
		if (keyring_from_keys(ids, (const uint8_t(*)[KEYRING_KEY_LEN])keys, 2, 0,
				      &kr) != KMS_EOK) {
			abort();
		}
	}
	return kr;
}

int tf_msg_from_payload(const uint8_t *buf, size_t len, mikey_msg_t *m)
{
	wire_rd_t c;
	uint8_t next;
	memset(m, 0, sizeof(*m));
	wire_rd_init(&c, buf, len);
	int ret = mikey_ticket_parse(&c, true, &next, &m->ticket);
	if (ret == KMS_EOK) {
		ret = wire_rd_finish(&c);
	}
	m->buf = buf;
	m->len = len;
	m->n = 1;
	m->p[0].type = MIKEY_PT_TICKET;
	m->p[0].len = len;
	m->has_ticket = true;
	return ret;
}

/* The private type: GCM over format | key id | nonce | text | tag. */
static void reseal_private(uint8_t *d, size_t len, const mikey_bytes_t *aad)
{
	static uint8_t ct[MIKEY_TICKET_DATA_MAX];
	const uint8_t *key = NULL;
	if (len < PRIV_HEAD + CRYPTO_GCM_TAG || len > sizeof(ct) ||
	    d[0] != KMS_TICKET_FORMAT) {
		return;
	}
	uint32_t id =
	    (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 | d[4];
	if (keyring_find(tf_keyring(), id, &key) != KMS_EOK) {
		return;
	}
	size_t plen = len - PRIV_HEAD - CRYPTO_GCM_TAG;
	if (crypto_gcm_seal(key, d + 5, aad->data, aad->len, d + PRIV_HEAD, plen, ct,
			    d + PRIV_HEAD + plen) == KMS_EOK) {
		memcpy(d + PRIV_HEAD, ct, plen);
	}
}

/* A base ticket's Ticket Data, loosely: where the parts are. */
typedef struct {
	mikey_ts_t t;
	mikey_rand_t rand;
	mikey_kemac_t kemac;
	mikey_id_t psk;
	mikey_v_t v;
	size_t covered;
} base_parts_t;

static int base_parse(const uint8_t *d, size_t len, base_parts_t *b)
{
	wire_rd_t c;
	wire_rd_init(&c, d, len);
	uint8_t next = wire_rd_u8(&c);
	wire_rd_skip(&c, wire_rd_u16(&c));
	int ret = wire_rd_error(&c);
	if (ret == KMS_EOK && next == MIKEY_PT_T) {
		ret = mikey_ts_parse(&c, false, &next, &b->t);
	}
	if (ret == KMS_EOK && next == MIKEY_PT_RAND) {
		ret = mikey_rand_parse(&c, false, &next, &b->rand);
	}
	if (ret == KMS_EOK && next == MIKEY_PT_KEMAC) {
		ret = mikey_kemac_parse(&c, &next, &b->kemac);
	}
	if (ret == KMS_EOK && next == MIKEY_PT_IDR) {
		ret = mikey_id_parse(&c, true, &next, &b->psk);
	}
	if (ret == KMS_EOK && next == MIKEY_PT_V) {
		b->covered = wire_rd_offset(&c) + 2;
		ret = mikey_v_parse(&c, &next, &b->v);
	}
	return ret == KMS_EOK && b->v.mac.data != NULL ? KMS_EOK : KMS_ETICKET;
}

/* The KEMAC: AES-CM under the keys from the TPK and RAND (label 0x05). */
static void reseal_kemac(uint8_t *base, const base_parts_t *b, uint8_t prf,
			 const kms_ticket_suite_t *su, const uint8_t *tpk)
{
	static uint8_t out[MIKEY_TICKET_DATA_MAX];
	uint8_t encr[32], salt[14];
	size_t n = 0, len = b->kemac.encr_data.len;
	if (b->kemac.encr_alg != su->encr_alg || len > sizeof(out) ||
	    mikey_kdf_tpk_key(NULL, prf, tpk, KMS_TPK_LEN, MIKEY_DK_ENCR, &b->rand.rand,
			      encr, mikey_encr_key_len(su->encr_alg)) != KMS_EOK ||
	    mikey_kdf_tpk_key(NULL, prf, tpk, KMS_TPK_LEN, MIKEY_DK_SALT, &b->rand.rand,
			      salt, sizeof(salt)) != KMS_EOK) {
		return;
	}
	if (mikey_kemac_encrypt(su->encr_alg, encr, salt, KMS_TICKET_BASE_CSB_ID,
				mikey_ts_to64(&b->t), b->kemac.encr_data.data, len, out,
				sizeof(out), &n) == KMS_EOK &&
	    n == len) {
		memcpy(base + (b->kemac.encr_data.data - base), out, len);
	}
	secmem_wipe(encr, sizeof(encr));
}

/* V: HMAC over aad | Ticket Data length | Ticket Data up to V's Auth alg. */
static void reseal_v(uint8_t *base, const base_parts_t *b, uint8_t prf,
		     const kms_ticket_suite_t *su, const uint8_t *tpk,
		     const mikey_bytes_t *aad, const uint8_t *d, size_t len)
{
	uint8_t auth[32], mac[MIKEY_MAC_MAX];
	uint8_t tdl[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	size_t ml = (size_t)mikey_mac_len(su->mac_alg);
	const crypto_iov_t iov[3] = { { aad->data, aad->len },
				      { tdl, 2 },
				      { d, b->covered } };
	if (b->v.alg != su->mac_alg || b->v.mac.len != ml || b->covered > len ||
	    mikey_kdf_tpk_key(NULL, prf, tpk, KMS_TPK_LEN, MIKEY_DK_AUTH, &b->rand.rand,
			      auth, mikey_auth_key_len(su->mac_alg)) != KMS_EOK) {
		return;
	}
	if (crypto_hmac(su->mac_alg == MIKEY_MAC_HMAC_SHA1_160 ? CRYPTO_MD_SHA1
							       : CRYPTO_MD_SHA256,
			auth, mikey_auth_key_len(su->mac_alg), iov, 3, mac) == KMS_EOK) {
		memcpy(base + (b->v.mac.data - base), mac, ml);
	}
	secmem_wipe(auth, sizeof(auth));
}

static void reseal_base(uint8_t *base, const mikey_msg_t *m, const mikey_bytes_t *aad)
{
	const mikey_tp_t *tp = &m->ticket.policy;
	const mikey_bytes_t *td = &m->ticket.ticket_data;
	kms_ticket_suite_t su;
	base_parts_t b;
	uint8_t tpk[KMS_TPK_LEN];
	const uint8_t *master = NULL;
	memset(&b, 0, sizeof(b));
	if (kms_ticket_suite(tp->prf, &su) != KMS_EOK ||
	    base_parse(td->data, td->len, &b) != KMS_EOK || b.psk.id.len != 4) {
		return;
	}
	const uint8_t *p = b.psk.id.data;
	uint32_t id =
	    (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (keyring_find(tf_keyring(), id, &master) != KMS_EOK ||
	    kms_ticket_base_tpk(master, tp->ticket_type, id, tpk) != KMS_EOK) {
		return;
	}
	/* The KEMAC is covered by V: encrypt first, then MAC. */
	reseal_kemac(base, &b, tp->prf, &su, tpk);
	reseal_v(base, &b, tp->prf, &su, tpk, aad, td->data, td->len);
	secmem_wipe(tpk, sizeof(tpk));
}

void tf_reseal(uint8_t *buf, const mikey_msg_t *m)
{
	mikey_bytes_t aad;
	const mikey_tp_t *tp = &m->ticket.policy;
	if (kms_ticket_aad_msg(m, &aad) != KMS_EOK) {
		return;
	}
	if (tp->ticket_type == KMS_TICKET_TYPE) {
		uint8_t *d = buf + (m->ticket.ticket_data.data - m->buf);
		reseal_private(d, m->ticket.ticket_data.len, &aad);
	} else if (tp->ticket_type == KMS_TICKET_TYPE_BASE ||
		   tp->ticket_type == KMS_TICKET_TYPE_3GPP) {
		reseal_base(buf, m, &aad);
	}
}
