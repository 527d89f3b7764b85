/*
 * The MIKEY base ticket format (RFC 6043 Appendix A), see
 * mikey/ticket_base.h.
 *
 * Build: fresh MPK, TGK, SPIs and RAND; encr_key, salt_key and auth_key
 * from the TPK and RAND (label 0x05); the KEMAC encrypted with CSB ID
 * 0xFFFFFFFF and the ticket's own T in the IV; V over the TICKET payload.
 * Open: strict layout, V, then the KEMAC, then MPKi / MPKr from the MPK
 * and RAND (label 0x06).
 */
#include "mikey/ticket_base.h"

#include <stdbool.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/wire.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"

#define KEY_ID_LEN 4	/* ID Data of IDRpsk: the TPK id */
#define SALT_LEN 14	/* AES-CM salt_key */
#define ENCR_KEY_MAX 32 /* AES-CM-256 */
#define AUTH_KEY_MAX 32 /* HMAC-SHA-256-256 */
/* The KEMAC content we write: MPK and one TGK, each with a 4-byte SPI. */
#define CHAIN_MAX (2 * (4 + MIKEY_KEY_MAX + 1 + MIKEY_TB_SPI_LEN))

/* Where the keys of one ticket live in mikey_tb_scratch_t.key. */
enum { SLOT_MPKI = 0, SLOT_MPKR = 1, SLOT_TGK = 2, SLOT_MPK = 3 };

int mikey_tb_suite(uint8_t prf, mikey_tb_suite_t *out)
{
	switch (prf) {
	case MIKEY_PRF_MIKEY1:
		*out = (mikey_tb_suite_t){ 16, MIKEY_ENCR_AES_CM_128,
					   MIKEY_MAC_HMAC_SHA1_160 };
		return KMS_EOK;
	case MIKEY_PRF_HMAC_SHA256:
		*out = (mikey_tb_suite_t){ 32, MIKEY_ENCR_AES_CM_256,
					   MIKEY_MAC_HMAC_SHA256_256 };
		return KMS_EOK;
	default:
		return KMS_EPRF;
	}
}

int mikey_tb_aad_build(const mikey_tp_t *policy, uint8_t *buf, size_t cap,
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

/* V's MAC: aad || Ticket Data length (2) || Ticket Data up to V's Auth alg. */
static int ticket_mac(const mikey_tb_suite_t *su, const uint8_t *auth_key,
		      const mikey_bytes_t *aad, const uint8_t *data, size_t len,
		      size_t covered, uint8_t *mac)
{
	uint8_t tdl[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	const crypto_iov_t iov[3] = {
		{ aad->data, aad->len },
		{ tdl, sizeof(tdl) },
		{ data, covered },
	};
	crypto_md_t md =
	    su->mac_alg == MIKEY_MAC_HMAC_SHA1_160 ? CRYPTO_MD_SHA1 : CRYPTO_MD_SHA256;
	if (len > MIKEY_TICKET_DATA_MAX || covered > len) {
		return KMS_EINTERNAL;
	}
	return crypto_hmac(md, auth_key, mikey_auth_key_len(su->mac_alg), iov, 3, mac);
}

/* encr_key and salt_key of the KEMAC, from the TPK and RAND (label 0x05). */
static int kemac_keys(mikey_prf_cache_t *pc, uint8_t prf, const mikey_tb_suite_t *su,
		      const uint8_t *tpk, const mikey_bytes_t *rand, uint8_t *encr,
		      uint8_t *salt)
{
	int ret = mikey_kdf_tpk_key(pc, prf, tpk, MIKEY_TPK_LEN, MIKEY_DK_ENCR, rand,
				    encr, mikey_encr_key_len(su->encr_alg));
	if (ret == KMS_EOK) {
		ret = mikey_kdf_tpk_key(pc, prf, tpk, MIKEY_TPK_LEN, MIKEY_DK_SALT, rand,
					salt, SALT_LEN);
	}
	return ret;
}

/* --- build ---------------------------------------------------------------- */

/* Fresh MPK and TGK with their SPIs into s, a fresh RAND into rand. */
static int fresh_keys(mikey_tb_scratch_t *s, size_t key_len,
		      uint8_t rand[MIKEY_TB_RAND_LEN])
{
	int ret = crypto_random(s->key[SLOT_MPK], key_len);
	if (ret == KMS_EOK) {
		ret = crypto_random(s->key[SLOT_TGK], key_len);
	}
	if (ret == KMS_EOK) {
		ret = crypto_random(s->spi[SLOT_MPK], MIKEY_TB_SPI_LEN);
	}
	if (ret == KMS_EOK) {
		ret = crypto_random(s->spi[SLOT_TGK], MIKEY_TB_SPI_LEN);
	}
	if (ret == KMS_EOK) {
		ret = crypto_random(rand, MIKEY_TB_RAND_LEN);
	}
	return ret;
}

static mikey_keydata_t keydata(uint8_t type, const uint8_t *key, size_t len,
			       const uint8_t *spi)
{
	return (mikey_keydata_t){ .type = type,
				  .kv = MIKEY_KV_SPI,
				  .key = { key, len },
				  .spi = { spi, MIKEY_TB_SPI_LEN } };
}

/*
 * THDR, T, RAND, KEMAC, IDRpsk, V (MAC bytes zero, at *mac_off).  The
 * THDR is the first thing in Ticket Data, so no Next payload field points
 * to it and it has no payload-type number on the wire; its Data is empty.
 */
static int data_build(const mikey_tb_suite_t *su, const mikey_ts_t *t,
		      const mikey_bytes_t *rand, const mikey_bytes_t *ct, uint32_t id,
		      uint8_t *out, size_t cap, size_t *len, size_t *mac_off)
{
	uint8_t idb[KEY_ID_LEN];
	wire_wr_t w;
	wire_wr_init(&w, idb, sizeof(idb));
	wire_wr_u32(&w, id);

	mikey_builder_t b;
	mikey_builder_init(&b, out, cap);
	wire_wr_u8(&b.w, MIKEY_PT_T); /* THDR: Next payload */
	wire_wr_u16(&b.w, 0);	      /* THDR Data length */
	mikey_ts_build(&b, t);
	mikey_rand_t r = { 0, *rand };
	mikey_rand_build(&b, &r);
	mikey_kemac_t k = { su->encr_alg, *ct, MIKEY_MAC_NULL, { NULL, 0 } };
	mikey_kemac_build(&b, &k);
	mikey_id_t psk = { MIKEY_ROLE_PSK, MIKEY_ID_BYTES, { idb, sizeof(idb) } };
	mikey_id_build(&b, &psk);
	mikey_v_t v = { su->mac_alg, { NULL, 0 } };
	size_t off = 0;
	mikey_v_build(&b, &v, &off);
	int ret = mikey_builder_error(&b);
	if (ret == KMS_EOK && mikey_builder_len(&b) > MIKEY_TICKET_DATA_MAX) {
		ret = KMS_ESPACE;
	}
	if (ret == KMS_EOK) {
		*len = mikey_builder_len(&b);
		*mac_off = off;
	}
	return ret;
}

/* KEMAC = E(encr_key, MPK || TGK) of s, IV from CSB ID 0xFFFFFFFF and T;
 * the clear chain in s->plain is wiped once encrypted. */
static int kemac_seal(uint8_t prf, const mikey_tb_suite_t *su, const uint8_t *tpk,
		      const mikey_bytes_t *rand, const mikey_ts_t *t,
		      mikey_tb_scratch_t *s, uint8_t ct[CHAIN_MAX], size_t *clen)
{
	uint8_t encr[ENCR_KEY_MAX], salt[SALT_LEN];
	size_t plen = 0;
	mikey_keys_t chain = { 2,
			       { keydata(MIKEY_KEY_MPK, s->key[SLOT_MPK], su->key_len,
					 s->spi[SLOT_MPK]),
				 keydata(MIKEY_KEY_TGK, s->key[SLOT_TGK], su->key_len,
					 s->spi[SLOT_TGK]) } };
	int ret = mikey_keys_build(&chain, s->plain, sizeof(s->plain), &plen);
	if (ret == KMS_EOK) {
		ret = kemac_keys(s->prf_cache, prf, su, tpk, rand, encr, salt);
	}
	if (ret == KMS_EOK) {
		ret = mikey_kemac_encrypt(su->encr_alg, encr, salt, MIKEY_TB_CSB_ID,
					  mikey_ts_to64(t), s->plain, plen, ct, CHAIN_MAX,
					  clen);
	}
	secmem_wipe(encr, sizeof(encr));
	secmem_wipe(salt, sizeof(salt));
	secmem_wipe(s->plain, plen);
	return ret;
}

/* V of the built Ticket Data out (tdl bytes, MAC at mac_off) under the
 * auth_key from the TPK and RAND. */
static int data_sign(mikey_prf_cache_t *pc, uint8_t prf, const mikey_tb_suite_t *su,
		     const uint8_t *tpk, const mikey_bytes_t *rand,
		     const mikey_bytes_t *aad, uint8_t *out, size_t tdl, size_t mac_off)
{
	uint8_t auth[AUTH_KEY_MAX], mac[MIKEY_MAC_MAX];
	int ret = mikey_kdf_tpk_key(pc, prf, tpk, MIKEY_TPK_LEN, MIKEY_DK_AUTH, rand,
				    auth, mikey_auth_key_len(su->mac_alg));
	if (ret == KMS_EOK) {
		ret = ticket_mac(su, auth, aad, out, tdl, mac_off, mac);
	}
	if (ret == KMS_EOK) {
		memcpy(out + mac_off, mac, (size_t)mikey_mac_len(su->mac_alg));
	}
	secmem_wipe(auth, sizeof(auth));
	return ret;
}

/* The Initiator's keys: MPKi and MPKr from the MPK (label 0x06) into s,
 * then keys = MPKi, MPKr (with the MPK's SPI) and the TGK. */
static int initiator_keys(uint8_t prf, const mikey_tb_suite_t *su,
			  const mikey_bytes_t *rand, mikey_tb_scratch_t *s,
			  mikey_keys_t *keys)
{
	int ret = mikey_kdf_mpk(s->prf_cache, prf, MIKEY_MPK_I, s->key[SLOT_MPK],
				su->key_len, rand, s->key[SLOT_MPKI]);
	if (ret == KMS_EOK) {
		ret = mikey_kdf_mpk(s->prf_cache, prf, MIKEY_MPK_R, s->key[SLOT_MPK],
				    su->key_len, rand, s->key[SLOT_MPKR]);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	keys->n = 3;
	keys->k[0] =
	    keydata(MIKEY_KEY_MPK, s->key[SLOT_MPKI], su->key_len, s->spi[SLOT_MPK]);
	keys->k[1] =
	    keydata(MIKEY_KEY_MPK, s->key[SLOT_MPKR], su->key_len, s->spi[SLOT_MPK]);
	keys->k[2] =
	    keydata(MIKEY_KEY_TGK, s->key[SLOT_TGK], su->key_len, s->spi[SLOT_TGK]);
	return KMS_EOK;
}

int mikey_tb_build(const uint8_t tpk[MIKEY_TPK_LEN], uint32_t tpk_id,
		   const mikey_tp_t *policy, const mikey_bytes_t *aad, int64_t now,
		   mikey_tb_scratch_t *s, mikey_keys_t *keys, uint8_t *out, size_t cap,
		   size_t *len)
{
	mikey_tb_suite_t su;
	uint8_t rand[MIKEY_TB_RAND_LEN], ct[CHAIN_MAX];
	size_t clen = 0, tdl = 0, mac_off = 0;
	const mikey_bytes_t rb = { rand, sizeof(rand) };
	const mikey_ts_t t = { 0, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(now, 0) };
	uint8_t prf = policy->prf;

	int ret = mikey_tb_suite(prf, &su);
	if (ret == KMS_EOK) {
		ret = fresh_keys(s, su.key_len, rand);
	}
	if (ret == KMS_EOK) {
		ret = kemac_seal(prf, &su, tpk, &rb, &t, s, ct, &clen);
	}
	if (ret == KMS_EOK) {
		mikey_bytes_t cb = { ct, clen };
		ret = data_build(&su, &t, &rb, &cb, tpk_id, out, cap, &tdl, &mac_off);
	}
	if (ret == KMS_EOK) {
		ret = data_sign(s->prf_cache, prf, &su, tpk, &rb, aad, out, tdl, mac_off);
	}
	if (ret == KMS_EOK) {
		ret = initiator_keys(prf, &su, &rb, s, keys);
	}
	if (ret == KMS_EOK) {
		*len = tdl;
	}
	secmem_wipe(rand, sizeof(rand));
	return ret;
}

/* --- open ----------------------------------------------------------------- */

/* The layout we write, with our values; KMS_ETICKET for anything else. */
static int data_parse(const mikey_bytes_t *data, const mikey_tb_suite_t *su,
		      mikey_tb_t *out)
{
	static const uint8_t order[] = { MIKEY_PT_T, MIKEY_PT_RAND, MIKEY_PT_KEMAC,
					 MIKEY_PT_IDR, MIKEY_PT_V };
	mikey_tb_t b;
	memset(&b, 0, sizeof(b));
	wire_rd_t c;
	wire_rd_init(&c, data->data, data->len);
	/* THDR: its Data is MAC-covered and otherwise ignored. */
	uint8_t next = wire_rd_u8(&c);
	uint16_t thl = wire_rd_u16(&c);
	if (wire_rd_error(&c) != KMS_EOK || thl > MIKEY_TB_THDR_MAX) {
		return KMS_ETICKET;
	}
	wire_rd_skip(&c, thl);
	int ret = wire_rd_error(&c);
	for (size_t i = 0; ret == KMS_EOK && i < sizeof(order); i++) {
		if (next != order[i]) {
			return KMS_ETICKET;
		}
		switch (next) {
		case MIKEY_PT_T:
			ret = mikey_ts_parse(&c, false, &next, &b.t);
			break;
		case MIKEY_PT_RAND:
			ret = mikey_rand_parse(&c, false, &next, &b.rand);
			break;
		case MIKEY_PT_KEMAC:
			ret = mikey_kemac_parse(&c, &next, &b.kemac);
			break;
		case MIKEY_PT_IDR:
			ret = mikey_id_parse(&c, true, &next, &b.psk);
			break;
		default: /* V, last */
			b.covered = wire_rd_offset(&c) + 2;
			ret = mikey_v_parse(&c, &next, &b.v);
			break;
		}
	}
	if (ret == KMS_EOK) {
		ret = next == MIKEY_PT_LAST ? wire_rd_finish(&c) : KMS_EPAYLOAD;
	}
	if (ret != KMS_EOK || b.t.ts_type != MIKEY_TS_NTP_UTC ||
	    b.rand.rand.len < MIKEY_TB_RAND_LEN || b.kemac.encr_alg != su->encr_alg ||
	    b.kemac.mac_alg != MIKEY_MAC_NULL || b.psk.role != MIKEY_ROLE_PSK ||
	    b.psk.id_type != MIKEY_ID_BYTES || b.psk.id.len != KEY_ID_LEN ||
	    b.v.alg != su->mac_alg) {
		return KMS_ETICKET;
	}
	wire_rd_t id;
	wire_rd_init(&id, b.psk.id.data, b.psk.id.len);
	b.tpk_id = wire_rd_u32(&id);
	*out = b;
	return KMS_EOK;
}

int mikey_tb_parse(const mikey_bytes_t *data, uint8_t prf, mikey_tb_t *out)
{
	mikey_tb_suite_t su;
	if (mikey_tb_suite(prf, &su) != KMS_EOK || data->len > MIKEY_TICKET_DATA_MAX) {
		return KMS_ETICKET;
	}
	return data_parse(data, &su, out);
}

/*
 * The decrypted KEMAC: exactly an MPK, then one or more TGKs, all of the
 * suite's length with 4-byte SPIs.  keys gets MPKi, MPKr (derived into s,
 * with the MPK's SPI), then the TGKs.
 */
static int keys_take(uint8_t prf, const mikey_tb_suite_t *su, const uint8_t *plain,
		     size_t plen, const mikey_bytes_t *rand, mikey_tb_scratch_t *s,
		     mikey_keys_t *keys)
{
	mikey_keys_t in;
	if (mikey_keys_parse(plain, plen, &in) != KMS_EOK || in.n < 2 ||
	    in.n > MIKEY_KEYS_MAX - 1) {
		return KMS_ETICKET;
	}
	for (size_t i = 0; i < in.n; i++) {
		const mikey_keydata_t *k = &in.k[i];
		if (k->type != (i == 0 ? MIKEY_KEY_MPK : MIKEY_KEY_TGK) ||
		    k->key.len != su->key_len || k->kv != MIKEY_KV_SPI ||
		    k->spi.len != MIKEY_TB_SPI_LEN) {
			return KMS_ETICKET;
		}
	}
	const mikey_keydata_t *mpk = &in.k[0];
	int ret = mikey_kdf_mpk(s->prf_cache, prf, MIKEY_MPK_I, mpk->key.data,
				su->key_len, rand, s->key[SLOT_MPKI]);
	if (ret == KMS_EOK) {
		ret = mikey_kdf_mpk(s->prf_cache, prf, MIKEY_MPK_R, mpk->key.data,
				    su->key_len, rand, s->key[SLOT_MPKR]);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	keys->n = in.n + 1;
	keys->k[0] =
	    keydata(MIKEY_KEY_MPK, s->key[SLOT_MPKI], su->key_len, mpk->spi.data);
	keys->k[1] =
	    keydata(MIKEY_KEY_MPK, s->key[SLOT_MPKR], su->key_len, mpk->spi.data);
	for (size_t i = 1; i < in.n; i++) {
		keys->k[i + 1] = in.k[i];
	}
	return KMS_EOK;
}

/* V (constant time) under the auth_key from the TPK and RAND. */
static int data_verify(mikey_prf_cache_t *pc, uint8_t prf, const mikey_tb_suite_t *su,
		       const uint8_t *tpk, const mikey_tb_t *b, const mikey_bytes_t *aad,
		       const mikey_bytes_t *data)
{
	uint8_t auth[AUTH_KEY_MAX], mac[MIKEY_MAC_MAX];
	int ret = mikey_kdf_tpk_key(pc, prf, tpk, MIKEY_TPK_LEN, MIKEY_DK_AUTH,
				    &b->rand.rand, auth, mikey_auth_key_len(su->mac_alg));
	if (ret == KMS_EOK) {
		ret = ticket_mac(su, auth, aad, data->data, data->len, b->covered, mac);
	}
	if (ret == KMS_EOK && !secmem_eq(mac, b->v.mac.data, b->v.mac.len)) {
		ret = KMS_ETICKET;
	}
	secmem_wipe(auth, sizeof(auth));
	return ret;
}

/* The KEMAC decrypted into s->plain (*plen bytes); a chain that does not
 * fit is KMS_ETICKET. */
static int kemac_open(uint8_t prf, const mikey_tb_suite_t *su, const uint8_t *tpk,
		      const mikey_tb_t *b, mikey_tb_scratch_t *s, size_t *plen)
{
	uint8_t encr[ENCR_KEY_MAX], salt[SALT_LEN];
	int ret = kemac_keys(s->prf_cache, prf, su, tpk, &b->rand.rand, encr, salt);
	if (ret == KMS_EOK) {
		ret = mikey_kemac_decrypt(su->encr_alg, encr, salt, MIKEY_TB_CSB_ID,
					  mikey_ts_to64(&b->t), b->kemac.encr_data.data,
					  b->kemac.encr_data.len, s->plain,
					  sizeof(s->plain), plen);
		if (ret == KMS_ESPACE || ret == KMS_ERANGE) {
			ret = KMS_ETICKET;
		}
	}
	secmem_wipe(encr, sizeof(encr));
	secmem_wipe(salt, sizeof(salt));
	return ret;
}

int mikey_tb_open(const uint8_t tpk[MIKEY_TPK_LEN], uint8_t prf, const mikey_bytes_t *aad,
		  const mikey_bytes_t *data, const mikey_tb_t *b, mikey_tb_scratch_t *s,
		  mikey_keys_t *keys)
{
	mikey_tb_suite_t su;
	mikey_keys_t k;
	size_t plen = 0;
	if (mikey_tb_suite(prf, &su) != KMS_EOK || data->len > MIKEY_TICKET_DATA_MAX) {
		return KMS_ETICKET;
	}
	/* V first: nothing covered is used, nothing is decrypted before it. */
	int ret = data_verify(s->prf_cache, prf, &su, tpk, b, aad, data);
	if (ret == KMS_EOK) {
		ret = kemac_open(prf, &su, tpk, b, s, &plen);
	}
	if (ret == KMS_EOK) {
		ret = keys_take(prf, &su, s->plain, plen, &b->rand.rand, s, &k);
	}
	if (ret == KMS_EOK) {
		*keys = k;
	} else {
		secmem_wipe(s->plain, plen);
		secmem_wipe(s->key[SLOT_MPKI], sizeof(s->key[SLOT_MPKI]));
		secmem_wipe(s->key[SLOT_MPKR], sizeof(s->key[SLOT_MPKR]));
	}
	return ret;
}
