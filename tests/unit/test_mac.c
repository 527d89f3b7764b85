/*
 * V MAC coverage (RFC 6043 5.5) and the profile choices.  Expected MACs are
 * computed here from hand-picked byte ranges, independently of mac.c.
 */
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "mikey/mac.h"
#include "mikey/msg.h"
#include "mikey/profile.h"
#include "tests/unit/unit.h"

#define CSB 0x12345678u
#define T_NTP UINT64_C(0xe93c7f0080000000)

static const char id_i[] = "sip:alice@example.org";
static const char id_r[] = "sip:bob@example.org";
static const char id_kms[] = "kms@example.org";
static const char btid[] = "I1U8vpY3qJ0hiuZNrke/NQ==@bsf.example.org";
static const uint8_t randri[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				    0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };

static mikey_bytes_t str_bytes(const char *s)
{
	return (mikey_bytes_t){ (const uint8_t *)s, strlen(s) };
}

static void key_fill(uint8_t *key, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		key[i] = (uint8_t)(seed + i * 7);
	}
}

/* A ticket policy: KMS-generated, resolve mandatory, TRANSFER_RESP, H; IDRr bob. */
static void policy_fill(mikey_ticket_t *t, uint16_t flags)
{
	memset(t, 0, sizeof(*t));
	t->policy.ticket_type = 0xf000;
	t->policy.subtype = 1;
	t->policy.version = 1;
	t->policy.prf = MIKEY_PRF_MIKEY1;
	t->policy.flags = flags;
	t->policy.nidrr = 1;
	t->policy.idrr[0] = (mikey_id_t){ MIKEY_ROLE_R, MIKEY_ID_URI, str_bytes(id_r) };
}

/* REQUEST_INIT_PSK = HDR, T, RANDRi, IDRi, IDRkms, TP, IDRpsk, V (placeholder MAC). */
static size_t build_request(uint8_t *buf, size_t cap, uint8_t alg, bool with_kms)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *tp = malloc(sizeof(*tp));
	size_t len = 0;
	CU_ASSERT_FATAL(m != NULL && tp != NULL);
	policy_fill(tp, MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H);
	mikey_msg_init(m, MIKEY_DT_REQUEST_INIT_PSK, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_rand(m, MIKEY_RAND_I, randri, sizeof(randri)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_I, MIKEY_ID_URI,
					 (const uint8_t *)id_i, strlen(id_i)),
			KMS_EOK);
	if (with_kms) {
		CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
						 (const uint8_t *)id_kms, strlen(id_kms)),
				KMS_EOK);
	}
	CU_ASSERT_EQUAL(mikey_msg_add_ticket(m, tp, false), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_PSK, MIKEY_ID_NAI,
					 (const uint8_t *)btid, strlen(btid)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, alg), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, cap, &len), KMS_EOK);
	free(tp);
	free(m);
	return len;
}

/* Decode, then verify with the identities the profile picks (KMS id configured). */
static int decode_verify(const uint8_t *buf, size_t len, const uint8_t *key,
			 size_t key_len)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	mikey_bytes_t kms = str_bytes(id_kms), ids[2];
	int rc = mikey_msg_decode(buf, len, m);
	if (rc == KMS_EOK) {
		rc = mikey_profile_init_identities(m, &kms, ids);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_verify(m, key, key_len, ids, 2);
	}
	free(m);
	return rc;
}

static void given_auth_algs_when_key_len_then_20_32_or_0(void)
{
	CU_ASSERT_EQUAL(mikey_v_key_len(MIKEY_MAC_HMAC_SHA1_160), 20);
	CU_ASSERT_EQUAL(mikey_v_key_len(MIKEY_MAC_HMAC_SHA256_256), 32);
	CU_ASSERT_EQUAL(mikey_v_key_len(MIKEY_MAC_NULL), 0);
	CU_ASSERT_EQUAL(mikey_v_key_len(7), 0);
}

static void given_signed_request_when_verified_then_ok_and_mac_is_independent(void)
{
	uint8_t buf[1024], key[20], exp[20];
	key_fill(key, sizeof(key), 1);
	size_t len = build_request(buf, sizeof(buf), MIKEY_MAC_HMAC_SHA1_160, true);
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_kms) };
	CU_ASSERT_EQUAL(mikey_mac_sign(buf, len, key, sizeof(key), ids, 2), KMS_EOK);
	CU_ASSERT_EQUAL(decode_verify(buf, len, key, sizeof(key)), KMS_EOK);

	/* V is last: the MAC is the final 20 bytes, the Auth alg byte precedes it. */
	CU_ASSERT_EQUAL(buf[len - 21], MIKEY_MAC_HMAC_SHA1_160);
	uint8_t *cat = malloc(len + sizeof(id_i) + sizeof(id_kms));
	CU_ASSERT_FATAL(cat != NULL);
	size_t n = len - 20;
	memcpy(cat, buf, n);
	memcpy(cat + n, id_i, strlen(id_i));
	n += strlen(id_i);
	memcpy(cat + n, id_kms, strlen(id_kms));
	n += strlen(id_kms);
	crypto_iov_t iov = { cat, n };
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, key, sizeof(key), &iov, 1, exp),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(exp, buf + len - 20, 20), 0);
	free(cat);
}

static void given_signed_request_when_any_bit_flips_then_never_verifies(void)
{
	uint8_t buf[1024], copy[1024], key[20];
	key_fill(key, sizeof(key), 2);
	size_t len = build_request(buf, sizeof(buf), MIKEY_MAC_HMAC_SHA1_160, true);
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_kms) };
	CU_ASSERT_EQUAL_FATAL(mikey_mac_sign(buf, len, key, sizeof(key), ids, 2),
			      KMS_EOK);
	size_t accepted = 0, decoded = 0;
	for (size_t bit = 0; bit < len * 8; bit++) {
		memcpy(copy, buf, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		mikey_msg_t *m = malloc(sizeof(*m));
		CU_ASSERT_FATAL(m != NULL);
		if (mikey_msg_decode(copy, len, m) == KMS_EOK) {
			decoded++;
		}
		free(m);
		if (decode_verify(copy, len, key, sizeof(key)) == KMS_EOK) {
			accepted++;
		}
	}
	CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT(decoded > len); /* most flips decode: the MAC is what stops them */
}

static void given_signed_request_when_key_or_identity_wrong_then_emac(void)
{
	uint8_t buf[1024], key[32];
	key_fill(key, sizeof(key), 3);
	size_t len = build_request(buf, sizeof(buf), MIKEY_MAC_HMAC_SHA256_256, true);
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_kms) };
	CU_ASSERT_EQUAL_FATAL(mikey_mac_sign(buf, len, key, sizeof(key), ids, 2),
			      KMS_EOK);
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, sizeof(key), ids, 2), KMS_EOK);

	key[31] ^= 0x80;
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, sizeof(key), ids, 2), KMS_EMAC);
	key[31] ^= 0x80;

	mikey_bytes_t other[2] = { str_bytes(id_i), str_bytes("kms2@example.org") };
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, sizeof(key), other, 2), KMS_EMAC);
	mikey_bytes_t swapped[2] = { ids[1], ids[0] };
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, sizeof(key), swapped, 2), KMS_EMAC);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, sizeof(key), ids, 1), KMS_EMAC);
	/* The key length follows the algorithm. */
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, 20, ids, 2), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, NULL, 32, ids, 2), KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, sizeof(key), NULL, 2), KMS_EINVAL);
	free(m);
}

static void given_v_with_null_alg_when_verified_then_eha(void)
{
	uint8_t buf[1024], key[20];
	key_fill(key, sizeof(key), 8);
	size_t len = build_request(buf, sizeof(buf), MIKEY_MAC_HMAC_SHA1_160, true);
	mikey_bytes_t ids[4] = { str_bytes(id_i), str_bytes(id_kms), str_bytes(id_i),
				 str_bytes(id_kms) };
	mikey_bytes_t many[5] = { ids[0], ids[1], ids[2], ids[3], ids[0] };
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, 20, many, 5), KMS_EINVAL);
	mikey_bytes_t bad = { NULL, 3 };
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, 20, &bad, 1), KMS_EINVAL);
	/* Auth alg NULL: a V with no MAC bytes decodes but never verifies. */
	buf[len - 21] = MIKEY_MAC_NULL;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len - 20, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, 20, ids, 2), KMS_EHA);
	CU_ASSERT_EQUAL(mikey_mac_sign(buf, len - 20, key, 20, ids, 2), KMS_EHA);
	free(m);
}

static void given_message_without_v_when_mac_then_epayload(void)
{
	uint8_t buf[256], key[20] = { 0 }, mac[32];
	size_t len = 0;
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	mikey_msg_init(m, MIKEY_DT_ERROR, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_err(m, MIKEY_ERR_MAC), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, sizeof(buf), &len), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_sign(buf, len, key, 20, NULL, 0), KMS_EPAYLOAD);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_compute(m, key, 20, NULL, 0, mac), KMS_EPAYLOAD);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, key, 20, NULL, 0), KMS_EPAYLOAD);
	/* Not a message at all. */
	buf[0] = 2;
	CU_ASSERT_NOT_EQUAL(mikey_mac_sign(buf, len, key, 20, NULL, 0), KMS_EOK);
	free(m);
}

static void given_error_with_v_when_signed_then_covers_itself_only(void)
{
	uint8_t buf[256], key[20], exp[20];
	size_t len = 0;
	key_fill(key, sizeof(key), 4);
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	mikey_msg_init(m, MIKEY_DT_ERROR, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_err(m, MIKEY_ERR_TICKET), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA1_160), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, sizeof(buf), &len), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_sign(buf, len, key, sizeof(key), NULL, 0), KMS_EOK);
	crypto_iov_t iov = { buf, len - 20 };
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, key, sizeof(key), &iov, 1, exp),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(exp, buf + len - 20, 20), 0);
	free(m);
}

/*
 * sign_last (no decode) equals sign (decode) for built messages: a
 * REQUEST_INIT (identities appended) and an Error (nothing appended) under
 * both algorithms; TRANSFER_INIT, the other algorithm, bytes too short and
 * a wrong key length are refused with the bytes untouched.  (kmsd's
 * responses, signed this way, are verified by the UE side in test_service.)
 */
static size_t build_error(uint8_t *buf, size_t cap, uint8_t alg)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	size_t len = 0;
	CU_ASSERT_FATAL(m != NULL);
	mikey_msg_init(m, MIKEY_DT_ERROR, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_err(m, 7), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, alg), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, cap, &len), KMS_EOK);
	free(m);
	return len;
}

static void given_built_messages_when_sign_last_then_same_bytes_as_sign(void)
{
	static const uint8_t algs[] = { MIKEY_MAC_HMAC_SHA1_160,
					MIKEY_MAC_HMAC_SHA256_256 };
	uint8_t a[1024], b[1024], key[32];
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_kms) };
	size_t compared = 0;
	for (int kind = 0; kind < 2; kind++) {
		for (size_t g = 0; g < sizeof(algs); g++) {
			size_t klen = mikey_v_key_len(algs[g]);
			size_t nx = kind == 0 ? 2 : 0;
			key_fill(key, klen, (uint8_t)(kind * 4 + g));
			size_t len = kind == 0
					 ? build_request(a, sizeof(a), algs[g], true)
					 : build_error(a, sizeof(a), algs[g]);
			memcpy(b, a, len);
			CU_ASSERT_EQUAL(mikey_mac_sign(a, len, key, klen, ids, nx),
					KMS_EOK);
			CU_ASSERT_EQUAL(
			    mikey_mac_sign_last(b, len, algs[g], key, klen, ids, nx),
			    KMS_EOK);
			CU_ASSERT_EQUAL(memcmp(a, b, len), 0);
			compared++;
			/* The other algorithm does not describe these bytes. */
			uint8_t other = algs[1 - g];
			CU_ASSERT_EQUAL(mikey_mac_sign_last(b, len, other, key,
							    mikey_v_key_len(other), ids,
							    nx),
					KMS_EINVAL);
			CU_ASSERT_EQUAL(memcmp(a, b, len), 0);
		}
	}
	CU_ASSERT_EQUAL(compared, 4);
	/* A TRANSFER_INIT needs the decoding signer (its coverage has a hole). */
	size_t len = build_request(a, sizeof(a), MIKEY_MAC_HMAC_SHA1_160, true);
	a[1] = MIKEY_DT_TRANSFER_INIT;
	memcpy(b, a, len);
	CU_ASSERT_EQUAL(
	    mikey_mac_sign_last(a, len, MIKEY_MAC_HMAC_SHA1_160, key, 20, NULL, 0),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(memcmp(a, b, len), 0);
	a[1] = MIKEY_DT_REQUEST_INIT_PSK;
	CU_ASSERT_EQUAL(
	    mikey_mac_sign_last(a, 12, MIKEY_MAC_HMAC_SHA1_160, key, 20, NULL, 0),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_mac_sign_last(NULL, len, MIKEY_MAC_HMAC_SHA1_160, key, 20, NULL, 0),
	    KMS_EINVAL);
	CU_ASSERT_EQUAL(
	    mikey_mac_sign_last(a, len, MIKEY_MAC_HMAC_SHA1_160, key, 16, NULL, 0),
	    KMS_EINVAL);
}

/* REQUEST_RESP = HDR, T, IDRkms, TICKET, KEMAC, V over RESP || the whole INIT. */
static void given_response_when_signed_then_covers_full_init_with_its_mac(void)
{
	uint8_t req[1024], resp[1024], key[20], rkey[20], exp[20];
	uint8_t tdata[40], encr[30];
	key_fill(key, sizeof(key), 5);
	key_fill(rkey, sizeof(rkey), 6);
	memset(tdata, 0xab, sizeof(tdata));
	memset(encr, 0xcd, sizeof(encr));
	size_t req_len = build_request(req, sizeof(req), MIKEY_MAC_HMAC_SHA1_160, true);
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_kms) };
	CU_ASSERT_EQUAL_FATAL(mikey_mac_sign(req, req_len, key, 20, ids, 2), KMS_EOK);

	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *t = malloc(sizeof(*t));
	CU_ASSERT_FATAL(m != NULL && t != NULL);
	policy_fill(t, MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H);
	t->ticket_data = (mikey_bytes_t){ tdata, sizeof(tdata) };
	mikey_kemac_t k = {
		MIKEY_ENCR_AES_CM_128, { encr, sizeof(encr) }, MIKEY_MAC_NULL, { NULL, 0 }
	};
	mikey_msg_init(m, MIKEY_DT_REQUEST_RESP, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP + 1), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
					 (const uint8_t *)id_kms, strlen(id_kms)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_ticket(m, t, true), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_kemac(m, &k), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA1_160), KMS_EOK);
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, resp, sizeof(resp), &len), KMS_EOK);
	mikey_bytes_t init = { req, req_len };
	CU_ASSERT_EQUAL(mikey_mac_sign(resp, len, rkey, 20, &init, 1), KMS_EOK);

	crypto_iov_t iov[2] = { { resp, len - 20 }, { req, req_len } };
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA1, rkey, 20, iov, 2, exp), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(exp, resp + len - 20, 20), 0);

	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(resp, len, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_mac_verify(m, rkey, 20, &init, 1), KMS_EOK);
	/* The INIT's own MAC bytes are covered, as are its other bytes. */
	req[req_len - 1] ^= 1;
	CU_ASSERT_EQUAL(mikey_mac_verify(m, rkey, 20, &init, 1), KMS_EMAC);
	req[req_len - 1] ^= 1;
	req[0] ^= 1;
	CU_ASSERT_EQUAL(mikey_mac_verify(m, rkey, 20, &init, 1), KMS_EMAC);
	req[0] ^= 1;
	init.len--;
	CU_ASSERT_EQUAL(mikey_mac_verify(m, rkey, 20, &init, 1), KMS_EMAC);
	free(t);
	free(m);
}

/* TRANSFER_INIT with key forking: HDR(GENERIC-ID), T, RANDRi, IDRi, IDRr, TICKET, V. */
struct transfer {
	uint8_t buf[1024];
	size_t len;
	uint8_t init[128];
	size_t init_len;
	uint8_t key[32];
};

static void build_transfer(struct transfer *x)
{
	uint8_t vi_mac[32], tdata[24], ssrc[4] = { 0xde, 0xad, 0xbe, 0xef };
	size_t vr_off = 0;
	memset(vi_mac, 0x5a, sizeof(vi_mac));
	memset(tdata, 0x77, sizeof(tdata));
	key_fill(x->key, sizeof(x->key), 9);
	mikey_v_t vi = { MIKEY_MAC_HMAC_SHA256_256, { vi_mac, sizeof(vi_mac) } };
	mikey_v_t vr = { MIKEY_MAC_HMAC_SHA256_256, { NULL, 0 } };
	CU_ASSERT_EQUAL_FATAL(mikey_init_data_build(&vi, &vr, x->init, sizeof(x->init),
						    &x->init_len, &vr_off),
			      KMS_EOK);
	CU_ASSERT_EQUAL(mikey_init_data_mac(x->init, x->init_len, vr_off,
					    MIKEY_MAC_HMAC_SHA256_256, x->key, 32,
					    x->init + vr_off),
			KMS_EOK);

	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *t = malloc(sizeof(*t));
	CU_ASSERT_FATAL(m != NULL && t != NULL);
	policy_fill(t,
		    MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I);
	t->ticket_data = (mikey_bytes_t){ tdata, sizeof(tdata) };
	t->init_data = (mikey_bytes_t){ x->init, x->init_len };
	t->has_init = true;
	mikey_msg_init(m, MIKEY_DT_TRANSFER_INIT, CSB, MIKEY_PRF_HMAC_SHA256);
	m->hdr.map_type = MIKEY_MAP_GENERIC_ID;
	m->hdr.ncs = 1;
	m->hdr.map.generic[0] =
	    (mikey_generic_cs_t){ .cs_id = 1, .np = 1, .session_data = { ssrc, 4 } };
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_rand(m, MIKEY_RAND_I, randri, sizeof(randri)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_I, MIKEY_ID_URI,
					 (const uint8_t *)id_i, strlen(id_i)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_R, MIKEY_ID_URI,
					 (const uint8_t *)id_r, strlen(id_r)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_ticket(m, t, true), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA256_256), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, x->buf, sizeof(x->buf), &x->len),
			      KMS_EOK);
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_r) };
	CU_ASSERT_EQUAL_FATAL(mikey_mac_sign(x->buf, x->len, x->key, 32, ids, 2),
			      KMS_EOK);
	free(t);
	free(m);
}

static int transfer_verify(const uint8_t *buf, size_t len, const uint8_t *key)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	mikey_bytes_t ids[2] = { str_bytes(id_i), str_bytes(id_r) };
	int rc = mikey_msg_decode(buf, len, m);
	if (rc == KMS_EOK) {
		rc = mikey_mac_verify(m, key, 32, ids, 2);
	}
	free(m);
	return rc;
}

static void given_transfer_init_when_signed_then_initiator_data_is_excluded(void)
{
	struct transfer *x = malloc(sizeof(*x));
	CU_ASSERT_FATAL(x != NULL);
	build_transfer(x);
	CU_ASSERT_EQUAL(transfer_verify(x->buf, x->len, x->key), KMS_EOK);

	/* Layout from the end: ... | Init len (2) | Init Data | V: next, alg, MAC(32). */
	size_t v_off = x->len - 34;
	size_t ilen_off = v_off - x->init_len - 2;
	CU_ASSERT_EQUAL(memcmp(x->buf + ilen_off + 2, x->init, x->init_len), 0);
	CU_ASSERT_EQUAL((size_t)(x->buf[ilen_off] << 8 | x->buf[ilen_off + 1]),
			x->init_len);
	uint8_t exp[32];
	crypto_iov_t iov[4] = {
		{ x->buf, ilen_off },
		{ x->buf + v_off, 2 },
		{ (const uint8_t *)id_i, strlen(id_i) },
		{ (const uint8_t *)id_r, strlen(id_r) },
	};
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA256, x->key, 32, iov, 4, exp), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(exp, x->buf + x->len - 32, 32), 0);

	/* Changing the Initiator Data (both MACs in it) leaves the MAC valid. */
	for (size_t i = 3; i < x->init_len; i++) {
		if (i == 35 || i == 36) {
			continue; /* Vr's Next payload and Auth alg: structure, not data */
		}
		x->buf[ilen_off + 2 + i] ^= 0xff;
		CU_ASSERT_EQUAL(transfer_verify(x->buf, x->len, x->key), KMS_EOK);
		x->buf[ilen_off + 2 + i] ^= 0xff;
	}
	/* Any bit outside the excluded field: decode fails or the MAC does. */
	size_t accepted_outside = 0, rejected_inside = 0;
	for (size_t bit = 0; bit < x->len * 8; bit++) {
		size_t byte = bit / 8;
		bool inside = byte >= ilen_off && byte < ilen_off + 2 + x->init_len;
		x->buf[byte] ^= (uint8_t)(1u << (bit % 8));
		int rc = transfer_verify(x->buf, x->len, x->key);
		x->buf[byte] ^= (uint8_t)(1u << (bit % 8));
		if (!inside && rc == KMS_EOK) {
			accepted_outside++;
		}
		if (inside && rc == KMS_EMAC) {
			rejected_inside++; /* a decodable change there never breaks the MAC */
		}
	}
	CU_ASSERT_EQUAL(accepted_outside, 0);
	CU_ASSERT_EQUAL(rejected_inside, 0);
	free(x);
}

static void given_initiator_data_when_vr_mac_then_covers_up_to_auth_alg(void)
{
	struct transfer *x = malloc(sizeof(*x));
	CU_ASSERT_FATAL(x != NULL);
	build_transfer(x);
	/* First Payload (1) + Vi (2 + 32) + Vr next and alg (2) = 37. */
	uint8_t exp[32], mac[32];
	crypto_iov_t iov = { x->init, 37 };
	CU_ASSERT_EQUAL(crypto_hmac(CRYPTO_MD_SHA256, x->key, 32, &iov, 1, exp), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(exp, x->init + 37, 32), 0);
	CU_ASSERT_EQUAL(mikey_init_data_mac(x->init, x->init_len, 37, MIKEY_MAC_NULL,
					    x->key, 32, mac),
			KMS_EHA);
	CU_ASSERT_EQUAL(mikey_init_data_mac(x->init, x->init_len, 37, 9, x->key, 32, mac),
			KMS_EHA);
	CU_ASSERT_EQUAL(mikey_init_data_mac(x->init, x->init_len, 37,
					    MIKEY_MAC_HMAC_SHA256_256, x->key, 20, mac),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_init_data_mac(x->init, x->init_len, x->init_len - 31,
					    MIKEY_MAC_HMAC_SHA256_256, x->key, 32, mac),
			KMS_EINVAL);
	free(x);
}

/* --- profile ------------------------------------------------------------ */

static void given_messages_when_kemac_ts_then_own_t_as_64_bits(void)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	uint64_t t64 = 0;
	mikey_msg_init(m, MIKEY_DT_REQUEST_RESP, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_profile_kemac_ts(m, &t64), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_NTP), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_kemac_ts(m, &t64), KMS_EOK);
	CU_ASSERT_EQUAL(t64, T_NTP);
	mikey_msg_init(m, MIKEY_DT_REQUEST_RESP, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_COUNTER, 0x01020304), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_kemac_ts(m, &t64), KMS_EOK);
	CU_ASSERT_EQUAL(t64, UINT64_C(0x01020304));
	mikey_msg_init(m, MIKEY_DT_REQUEST_RESP, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC_32, 0xe93c7f00), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_kemac_ts(m, &t64), KMS_EOK);
	CU_ASSERT_EQUAL(t64, UINT64_C(0xe93c7f0000000000));
	CU_ASSERT_EQUAL(mikey_profile_kemac_ts(m, NULL), KMS_EINVAL);
	free(m);
}

static void given_omitted_identities_when_picked_then_configured_or_eid(void)
{
	uint8_t buf[1024];
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	mikey_bytes_t kms = str_bytes("kms.configured"), out[2], one;

	size_t len = build_request(buf, sizeof(buf), MIKEY_MAC_HMAC_SHA1_160, true);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EOK);
	CU_ASSERT(out[0].len == strlen(id_i) &&
		  memcmp(out[0].data, id_i, out[0].len) == 0);
	/* The message's IDRkms wins over the configured identity. */
	CU_ASSERT(out[1].len == strlen(id_kms) &&
		  memcmp(out[1].data, id_kms, out[1].len) == 0);

	len = build_request(buf, sizeof(buf), MIKEY_MAC_HMAC_SHA1_160, false);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, m), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EOK);
	CU_ASSERT(out[1].data == kms.data && out[1].len == kms.len);
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, NULL, out), KMS_EID);
	mikey_bytes_t empty = { NULL, 0 };
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &empty, out), KMS_EID);
	CU_ASSERT_EQUAL(mikey_profile_mac_identity(m, MIKEY_ROLE_R, &kms, &one), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_mac_identity(m, MIKEY_ROLE_PSK, &kms, &one),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(mikey_profile_mac_identity(m, MIKEY_ROLE_I, NULL, &one), KMS_EOK);
	CU_ASSERT(one.len == strlen(id_i));
	free(m);
}

static void given_data_types_when_init_identities_then_roles_per_table(void)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	mikey_bytes_t kms = str_bytes(id_kms), out[2];

	mikey_msg_init(m, MIKEY_DT_RESOLVE_INIT_PSK, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_I, MIKEY_ID_URI,
					 (const uint8_t *)id_i, strlen(id_i)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out),
			KMS_EID); /* no IDRr */
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_R, MIKEY_ID_URI,
					 (const uint8_t *)id_r, strlen(id_r)),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EOK);
	CU_ASSERT(out[0].len == strlen(id_r) &&
		  memcmp(out[0].data, id_r, out[0].len) == 0);
	CU_ASSERT(out[1].data == kms.data);

	m->hdr.data_type = MIKEY_DT_TRANSFER_INIT;
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EOK);
	CU_ASSERT(out[0].len == strlen(id_i) &&
		  memcmp(out[0].data, id_i, out[0].len) == 0);
	CU_ASSERT(out[1].len == strlen(id_r) &&
		  memcmp(out[1].data, id_r, out[1].len) == 0);

	m->hdr.data_type = MIKEY_DT_REQUEST_RESP;
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EDT);
	/* An IDR that is present but empty is refused, not appended as "". */
	mikey_msg_init(m, MIKEY_DT_REQUEST_INIT_PSK, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, MIKEY_ROLE_I, MIKEY_ID_URI, NULL, 0),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EID);
	m->hdr.data_type = MIKEY_DT_ERROR;
	CU_ASSERT_EQUAL(mikey_profile_init_identities(m, &kms, out), KMS_EDT);
	free(m);
}

static const unit_test_t tests[] = {
	UNIT_TEST(given_auth_algs_when_key_len_then_20_32_or_0),
	UNIT_TEST(given_signed_request_when_verified_then_ok_and_mac_is_independent),
	UNIT_TEST(given_signed_request_when_any_bit_flips_then_never_verifies),
	UNIT_TEST(given_signed_request_when_key_or_identity_wrong_then_emac),
	UNIT_TEST(given_v_with_null_alg_when_verified_then_eha),
	UNIT_TEST(given_message_without_v_when_mac_then_epayload),
	UNIT_TEST(given_error_with_v_when_signed_then_covers_itself_only),
	UNIT_TEST(given_response_when_signed_then_covers_full_init_with_its_mac),
	UNIT_TEST(given_transfer_init_when_signed_then_initiator_data_is_excluded),
	UNIT_TEST(given_initiator_data_when_vr_mac_then_covers_up_to_auth_alg),
	UNIT_TEST(given_built_messages_when_sign_last_then_same_bytes_as_sign),
	UNIT_TEST(given_messages_when_kemac_ts_then_own_t_as_64_bits),
	UNIT_TEST(given_omitted_identities_when_picked_then_configured_or_eid),
	UNIT_TEST(given_data_types_when_init_identities_then_roles_per_table),
	UNIT_END,
};

int main(void)
{
	return unit_run("mac", tests);
}
