/* JSON view of decoded messages: fields, names, key redaction, allocation failure. */
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "mikey/json.h"
#include "mikey/msg.h"
#include "tests/unit/unit.h"

#define CSB 0x0a0b0c0du
#define T_2024 UINT64_C(0xe93c7f0080000000) /* 2024-01-01T00:00:00.5Z */

static const char id_i[] = "sip:alice@example.org";
static const char id_r[] = "sip:bob@example.org";
static const char id_kms[] = "kms@example.org";
static const uint8_t rnd[16] = { 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
				 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf };
static const uint8_t tgk[16] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
				 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11 };
static const uint8_t tek[16] = { 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
				 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31 };
static const uint8_t salt[14] = { 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
				  0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 };
static const uint8_t spi[4] = { 0xc0, 0xff, 0xee, 0x01 };

static mikey_bytes_t str_bytes(const char *s)
{
	return (mikey_bytes_t){ (const uint8_t *)s, strlen(s) };
}

static void add_str_id(mikey_msg_t *m, uint8_t role, uint8_t type, const char *s)
{
	CU_ASSERT_EQUAL(mikey_msg_add_id(m, role, type, (const uint8_t *)s, strlen(s)),
			KMS_EOK);
}

static void policy_fill(mikey_ticket_t *t, uint16_t flags)
{
	memset(t, 0, sizeof(*t));
	t->policy.ticket_type = 0xf000;
	t->policy.subtype = 1;
	t->policy.version = 1;
	t->policy.flags = flags;
	t->policy.nidrr = 1;
	t->policy.idrr[0] = (mikey_id_t){ MIKEY_ROLE_R, MIKEY_ID_URI, str_bytes(id_r) };
}

/* A TGK (SPI) and a TEK+SALT (SPI) key chain. */
static void keys_fill(mikey_keys_t *keys)
{
	memset(keys, 0, sizeof(*keys));
	keys->n = 2;
	keys->k[0] = (mikey_keydata_t){ .type = MIKEY_KEY_TGK,
					.kv = MIKEY_KV_SPI,
					.key = { tgk, sizeof(tgk) },
					.spi = { spi, sizeof(spi) } };
	keys->k[1] = (mikey_keydata_t){ .type = MIKEY_KEY_TEK_SALT,
					.kv = MIKEY_KV_SPI,
					.key = { tek, sizeof(tek) },
					.salt = { salt, sizeof(salt) },
					.spi = { spi, sizeof(spi) } };
}

/* Build m into buf, decode it into a fresh message and return its JSON. */
static json_t *json_of(const mikey_msg_t *m, uint8_t *buf, size_t cap, unsigned flags)
{
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, cap, &len), KMS_EOK);
	mikey_msg_t *d = malloc(sizeof(*d));
	CU_ASSERT_FATAL(d != NULL);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, d), KMS_EOK);
	json_t *j = mikey_msg_to_json(d, flags);
	free(d);
	CU_ASSERT_FATAL(j != NULL);
	return j;
}

static json_t *payload(json_t *j, size_t i)
{
	return json_array_get(json_object_get(j, "payloads"), i);
}

static const char *str_at(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t int_at(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static bool dump_contains(json_t *j, const char *needle)
{
	char *s = json_dumps(j, JSON_COMPACT);
	CU_ASSERT_FATAL(s != NULL);
	bool found = strstr(s, needle) != NULL;
	free(s);
	return found;
}

static void request_fill(mikey_msg_t *m, mikey_ticket_t *tp)
{
	policy_fill(tp, MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H);
	mikey_msg_init(m, MIKEY_DT_REQUEST_INIT_PSK, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_2024), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_rand(m, MIKEY_RAND_I, rnd, sizeof(rnd)), KMS_EOK);
	add_str_id(m, MIKEY_ROLE_I, MIKEY_ID_URI, id_i);
	add_str_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, id_kms);
	CU_ASSERT_EQUAL(mikey_msg_add_ticket(m, tp, false), KMS_EOK);
	add_str_id(m, MIKEY_ROLE_PSK, MIKEY_ID_NAI, "btid@bsf.example.org");
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA1_160), KMS_EOK);
}

static void given_request_when_json_then_header_and_every_payload_described(void)
{
	uint8_t buf[1024];
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *tp = malloc(sizeof(*tp));
	CU_ASSERT_FATAL(m != NULL && tp != NULL);
	request_fill(m, tp);
	json_t *j = json_of(m, buf, sizeof(buf), 0);

	CU_ASSERT_EQUAL(int_at(j, "data_type"), 11);
	CU_ASSERT_STRING_EQUAL(str_at(j, "data_type_name"), "REQUEST_INIT_PSK");
	json_t *hdr = json_object_get(j, "hdr");
	CU_ASSERT_STRING_EQUAL(str_at(hdr, "csb_id"), "0a0b0c0d");
	CU_ASSERT_EQUAL(int_at(hdr, "prf"), 0);
	CU_ASSERT_STRING_EQUAL(str_at(hdr, "prf_name"), "MIKEY-1");
	CU_ASSERT(json_is_false(json_object_get(hdr, "v")));
	CU_ASSERT_EQUAL(int_at(hdr, "ncs"), 0);
	CU_ASSERT_STRING_EQUAL(str_at(hdr, "map_type_name"), "EMPTY");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(hdr, "map")), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "payloads")), 7);

	json_t *t = payload(j, 0);
	CU_ASSERT_STRING_EQUAL(str_at(t, "name"), "T");
	CU_ASSERT_EQUAL(int_at(t, "offset"), 10);
	CU_ASSERT_EQUAL(int_at(t, "length"), 10);
	CU_ASSERT_STRING_EQUAL(str_at(t, "ts_type_name"), "NTP-UTC");
	CU_ASSERT_STRING_EQUAL(str_at(t, "value"), "e93c7f0080000000");
	CU_ASSERT_STRING_EQUAL(str_at(t, "time"), "2024-01-01T00:00:00.500Z");

	json_t *r = payload(j, 1);
	CU_ASSERT_STRING_EQUAL(str_at(r, "name"), "RANDR");
	CU_ASSERT_STRING_EQUAL(str_at(r, "role_name"), "RANDRi");
	CU_ASSERT_STRING_EQUAL(str_at(r, "rand"), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CU_ASSERT_EQUAL(int_at(r, "offset"), 20);

	json_t *idr = payload(j, 2);
	CU_ASSERT_STRING_EQUAL(str_at(idr, "name"), "IDR");
	CU_ASSERT_STRING_EQUAL(str_at(idr, "role_name"), "IDRi");
	CU_ASSERT_STRING_EQUAL(str_at(idr, "id_type_name"), "URI");
	CU_ASSERT_STRING_EQUAL(str_at(idr, "id_text"), id_i);
	CU_ASSERT_STRING_EQUAL(str_at(payload(j, 3), "role_name"), "IDRkms");

	json_t *p = payload(j, 4);
	CU_ASSERT_STRING_EQUAL(str_at(p, "name"), "TP");
	CU_ASSERT_EQUAL(int_at(p, "ticket_type"), 0xf000);
	CU_ASSERT_STRING_EQUAL(str_at(p, "ticket_type_name"), "private use");
	json_t *fl = json_object_get(p, "flags");
	CU_ASSERT(json_is_true(json_object_get(fl, "D")));
	CU_ASSERT(json_is_true(json_object_get(fl, "H")));
	CU_ASSERT(json_is_false(json_object_get(fl, "G")));
	CU_ASSERT(json_is_false(json_object_get(fl, "O")));
	CU_ASSERT_EQUAL(json_object_size(fl), 12);
	CU_ASSERT_EQUAL(strlen(str_at(p, "flags_str")), 12);
	CU_ASSERT_EQUAL(int_at(p, "flags_raw"),
			MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H);
	CU_ASSERT_PTR_NULL(json_object_get(p, "ticket_data")); /* TP, not TICKET */
	json_t *idrr = json_object_get(json_object_get(p, "tp_payloads"), "idrr");
	CU_ASSERT_EQUAL(json_array_size(idrr), 1);
	CU_ASSERT_STRING_EQUAL(str_at(json_array_get(idrr, 0), "id_text"), id_r);

	json_t *v = payload(j, 6);
	CU_ASSERT_STRING_EQUAL(str_at(v, "name"), "V");
	CU_ASSERT_STRING_EQUAL(str_at(v, "auth_alg_name"), "HMAC-SHA-1-160");
	CU_ASSERT_EQUAL(strlen(str_at(v, "mac")), 40);
	CU_ASSERT_EQUAL(int_at(v, "offset") + int_at(v, "length"), int_at(j, "length"));
	json_decref(j);
	free(tp);
	free(m);
}

static void resp_fill(mikey_msg_t *m, mikey_ticket_t *t, uint8_t *plain, size_t cap)
{
	mikey_keys_t keys;
	size_t plain_len = 0;
	keys_fill(&keys);
	CU_ASSERT_EQUAL_FATAL(mikey_keys_build(&keys, plain, cap, &plain_len), KMS_EOK);
	policy_fill(t,
		    MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_K);
	t->ticket_data = (mikey_bytes_t){ rnd, sizeof(rnd) };
	mikey_kemac_t k = {
		MIKEY_ENCR_NULL, { plain, plain_len }, MIKEY_MAC_NULL, { NULL, 0 }
	};
	mikey_msg_init(m, MIKEY_DT_REQUEST_RESP, CSB, MIKEY_PRF_MIKEY1);
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_COUNTER, 77), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_ticket(m, t, true), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_kemac(m, &k), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA256_256), KMS_EOK);
}

static void given_null_encrypted_kemac_when_json_then_keys_redacted_unless_asked(void)
{
	uint8_t buf[1024], plain[256];
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *t = malloc(sizeof(*t));
	CU_ASSERT_FATAL(m != NULL && t != NULL);
	resp_fill(m, t, plain, sizeof(plain));

	json_t *j = json_of(m, buf, sizeof(buf), 0);
	CU_ASSERT_EQUAL(int_at(payload(j, 0), "counter"), 77);
	CU_ASSERT_STRING_EQUAL(str_at(payload(j, 0), "value"), "0000004d");
	CU_ASSERT_PTR_NULL(json_object_get(payload(j, 0), "time"));
	json_t *tk = payload(j, 1);
	CU_ASSERT_STRING_EQUAL(str_at(tk, "name"), "TICKET");
	CU_ASSERT_STRING_EQUAL(str_at(tk, "ticket_data"),
			       "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	CU_ASSERT(json_is_null(json_object_get(tk, "initiator_data")));
	json_t *k = json_object_get(payload(j, 2), "kemac");
	CU_ASSERT_STRING_EQUAL(str_at(k, "encr_alg_name"), "NULL");
	CU_ASSERT(json_is_object(json_object_get(k, "encr_data")));
	json_t *keys = json_object_get(k, "keys");
	CU_ASSERT_EQUAL(json_array_size(keys), 2);
	json_t *k0 = json_array_get(keys, 0), *k1 = json_array_get(keys, 1);
	CU_ASSERT_STRING_EQUAL(str_at(k0, "type_name"), "TGK");
	CU_ASSERT_EQUAL(int_at(json_object_get(k0, "key"), "redacted"), 16);
	CU_ASSERT_STRING_EQUAL(str_at(k0, "spi"), "c0ffee01");
	CU_ASSERT_PTR_NULL(json_object_get(k0, "salt"));
	CU_ASSERT_STRING_EQUAL(str_at(k1, "type_name"), "TEK+SALT");
	CU_ASSERT_EQUAL(int_at(json_object_get(k1, "salt"), "redacted"), 14);
	CU_ASSERT(!dump_contains(j, "11111111111111111111111111111111"));
	CU_ASSERT(!dump_contains(j, "22232425262728292a2b2c2d2e2f3031"));
	CU_ASSERT(!dump_contains(j, "3a3b3c3d3e3f4041424344454647"));
	json_decref(j);

	j = json_of(m, buf, sizeof(buf), MIKEY_JSON_SHOW_KEYS);
	k = json_object_get(payload(j, 2), "kemac");
	k1 = json_array_get(json_object_get(k, "keys"), 1);
	CU_ASSERT_STRING_EQUAL(str_at(k1, "key"), "22232425262728292a2b2c2d2e2f3031");
	CU_ASSERT_STRING_EQUAL(str_at(k1, "salt"), "3a3b3c3d3e3f4041424344454647");
	CU_ASSERT(json_is_string(json_object_get(k, "encr_data")));
	json_decref(j);
	free(t);
	free(m);
}

static void given_tp_with_kemac_template_when_json_then_template_redacted(void)
{
	uint8_t buf[1024], plain[256];
	size_t plain_len = 0;
	mikey_keys_t keys;
	keys_fill(&keys);
	CU_ASSERT_EQUAL_FATAL(mikey_keys_build(&keys, plain, sizeof(plain), &plain_len),
			      KMS_EOK);
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *tp = malloc(sizeof(*tp));
	CU_ASSERT_FATAL(m != NULL && tp != NULL);
	request_fill(m, tp);
	m->ticket.policy.has_kemac = true;
	m->ticket.policy.kemac = (mikey_kemac_t){
		MIKEY_ENCR_NULL, { plain, plain_len }, MIKEY_MAC_NULL, { NULL, 0 }
	};
	m->ticket.policy.kemac_keys = keys;
	json_t *j = json_of(m, buf, sizeof(buf), 0);
	json_t *p = payload(j, 4);
	CU_ASSERT(
	    json_is_integer(json_object_get(json_object_get(p, "tp_data"), "redacted")));
	json_t *tpl = json_object_get(json_object_get(p, "tp_payloads"), "kemac");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(tpl, "keys")), 2);
	CU_ASSERT(!dump_contains(j, "11111111111111111111111111111111"));
	json_decref(j);
	j = json_of(m, buf, sizeof(buf), MIKEY_JSON_SHOW_KEYS);
	CU_ASSERT(dump_contains(j, "11111111111111111111111111111111"));
	json_decref(j);
	free(tp);
	free(m);
}

static void given_key_chain_when_keys_to_json_then_spi_shown_keys_redacted(void)
{
	mikey_keys_t keys;
	keys_fill(&keys);
	json_t *a = mikey_keys_to_json(&keys, 0);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(json_array_size(a), 2);
	CU_ASSERT_EQUAL(int_at(json_object_get(json_array_get(a, 0), "key"), "redacted"),
			16);
	CU_ASSERT_STRING_EQUAL(str_at(json_array_get(a, 0), "kv_name"), "SPI");
	json_decref(a);
	a = mikey_keys_to_json(&keys, MIKEY_JSON_SHOW_KEYS);
	CU_ASSERT_STRING_EQUAL(str_at(json_array_get(a, 0), "key"),
			       "11111111111111111111111111111111");
	json_decref(a);
	CU_ASSERT_PTR_NULL(mikey_keys_to_json(NULL, 0));
	CU_ASSERT_PTR_NULL(mikey_msg_to_json(NULL, 0));
}

static void given_transfer_init_when_json_then_generic_map_and_initiator_data(void)
{
	uint8_t buf[1024], init[128], vi_mac[20], ssrc[4] = { 1, 2, 3, 4 };
	size_t init_len = 0, vr_off = 0;
	memset(vi_mac, 0x5a, sizeof(vi_mac));
	mikey_v_t vi = { MIKEY_MAC_HMAC_SHA1_160, { vi_mac, sizeof(vi_mac) } };
	mikey_v_t vr = { MIKEY_MAC_HMAC_SHA1_160, { NULL, 0 } };
	CU_ASSERT_EQUAL_FATAL(
	    mikey_init_data_build(&vi, &vr, init, sizeof(init), &init_len, &vr_off),
	    KMS_EOK);
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *t = malloc(sizeof(*t));
	CU_ASSERT_FATAL(m != NULL && t != NULL);
	policy_fill(t,
		    MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I);
	t->ticket_data = (mikey_bytes_t){ rnd, 4 };
	t->init_data = (mikey_bytes_t){ init, init_len };
	t->has_init = true;
	mikey_msg_init(m, MIKEY_DT_TRANSFER_INIT, CSB, MIKEY_PRF_MIKEY1);
	m->hdr.map_type = MIKEY_MAP_GENERIC_ID;
	m->hdr.ncs = 1;
	m->hdr.map.generic[0] = (mikey_generic_cs_t){
		.cs_id = 1, .np = 1, .policy_no = { 0 }, .session_data = { ssrc, 4 }
	};
	CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_2024), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_rand(m, MIKEY_RAND_I, rnd, sizeof(rnd)), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_ticket(m, t, true), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA1_160), KMS_EOK);
	json_t *j = json_of(m, buf, sizeof(buf), 0);
	json_t *hdr = json_object_get(j, "hdr");
	CU_ASSERT_STRING_EQUAL(str_at(hdr, "map_type_name"), "GENERIC-ID");
	json_t *cs = json_array_get(json_object_get(hdr, "map"), 0);
	CU_ASSERT_EQUAL(int_at(cs, "cs_id"), 1);
	CU_ASSERT_STRING_EQUAL(str_at(cs, "session_data"), "01020304");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(cs, "policy_no")), 1);
	json_t *init_j = json_object_get(payload(j, 2), "initiator_data");
	CU_ASSERT_FATAL(json_is_object(init_j));
	CU_ASSERT_STRING_EQUAL(str_at(json_object_get(init_j, "vi"), "mac"),
			       "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
	CU_ASSERT_STRING_EQUAL(str_at(json_object_get(init_j, "vr"), "auth_alg_name"),
			       "HMAC-SHA-1-160");
	CU_ASSERT(
	    json_is_true(json_object_get(json_object_get(payload(j, 2), "flags"), "I")));
	json_decref(j);
	free(t);
	free(m);
}

static void given_identities_when_json_then_text_only_for_printable_utf8(void)
{
	static const char *const ok[] = { "sip:j\xc3\xb6rg@example.org",
					  "\xe2\x82\xac@x" };
	static const char *const bad[] = { "a\x01b",	   "\xc3\x28",	       "\xc0\xaf",
					   "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc2\x85",
					   "a\x7f" };
	uint8_t buf[512];
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_FATAL(m != NULL);
	for (size_t i = 0; i < 2 + 7; i++) {
		const char *s = i < 2 ? ok[i] : bad[i - 2];
		mikey_msg_init(m, MIKEY_DT_ERROR, CSB, MIKEY_PRF_MIKEY1);
		CU_ASSERT_EQUAL(mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, T_2024),
				KMS_EOK);
		CU_ASSERT_EQUAL(mikey_msg_add_err(m, MIKEY_ERR_MAC), KMS_EOK);
		size_t len = 0;
		CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, sizeof(buf), &len),
				      KMS_EOK);
		/* Decode-only view: append an ID payload by hand (Error allows none). */
		buf[len - 4] = MIKEY_PT_ID; /* ERR's Next payload */
		uint8_t *p = buf + len;
		size_t n = strlen(s);
		p[0] = MIKEY_PT_LAST;
		p[1] = MIKEY_ID_BYTES;
		p[2] = 0;
		p[3] = (uint8_t)n;
		memcpy(p + 4, s, n);
		CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len + 4 + n, m), KMS_EOK);
		json_t *j = mikey_msg_to_json(m, 0);
		CU_ASSERT_FATAL(j != NULL);
		CU_ASSERT_STRING_EQUAL(str_at(payload(j, 1), "error_name"),
				       "Invalid MAC");
		json_t *id = payload(j, 2);
		CU_ASSERT_STRING_EQUAL(str_at(id, "name"), "ID");
		CU_ASSERT_STRING_EQUAL(str_at(id, "id_type_name"), "BYTES");
		CU_ASSERT_EQUAL(strlen(str_at(id, "id")), 2 * n);
		if (i < 2) {
			CU_ASSERT_STRING_EQUAL(str_at(id, "id_text"), s);
		} else {
			CU_ASSERT_PTR_NULL(json_object_get(id, "id_text"));
		}
		json_decref(j);
	}
	free(m);
}

/* Allocator that fails after a budget of successful allocations. */
static long alloc_budget = -1;
static void *failing_malloc(size_t n)
{
	if (alloc_budget == 0) {
		return NULL;
	}
	if (alloc_budget > 0) {
		alloc_budget--;
	}
	return malloc(n);
}

static void given_failing_allocator_when_json_then_null_without_leak(void)
{
	uint8_t buf[1024], plain[256];
	size_t len = 0;
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *t = malloc(sizeof(*t));
	CU_ASSERT_FATAL(m != NULL && t != NULL);
	resp_fill(m, t, plain, sizeof(plain));
	CU_ASSERT_EQUAL_FATAL(mikey_msg_build(m, buf, sizeof(buf), &len), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(buf, len, m), KMS_EOK);
	json_set_alloc_funcs(failing_malloc, free);
	long fails = 0, budget;
	for (budget = 0; budget < 100000; budget++) {
		alloc_budget = budget;
		json_t *j = mikey_msg_to_json(m, 0);
		if (j != NULL) {
			json_decref(j);
			break;
		}
		fails++;
	}
	alloc_budget = -1;
	json_set_alloc_funcs(malloc, free);
	CU_ASSERT(fails > 20);	    /* every step up to the last one failed cleanly */
	CU_ASSERT(budget < 100000); /* and with enough memory it succeeds */
	free(t);
	free(m);
}

static const unit_test_t tests[] = {
	UNIT_TEST(given_request_when_json_then_header_and_every_payload_described),
	UNIT_TEST(given_null_encrypted_kemac_when_json_then_keys_redacted_unless_asked),
	UNIT_TEST(given_tp_with_kemac_template_when_json_then_template_redacted),
	UNIT_TEST(given_key_chain_when_keys_to_json_then_spi_shown_keys_redacted),
	UNIT_TEST(given_transfer_init_when_json_then_generic_map_and_initiator_data),
	UNIT_TEST(given_identities_when_json_then_text_only_for_printable_utf8),
	UNIT_TEST(given_failing_allocator_when_json_then_null_without_leak),
	UNIT_END,
};

int main(void)
{
	return unit_run("json", tests);
}
