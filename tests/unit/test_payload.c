/* Payload codecs: round trip of every payload type, golden bytes, error paths. */
#include <string.h>

#include "common/errcode.h"
#include "mikey/payload.h"
#include "tests/unit/unit.h"

static uint8_t buf[4096];

/* Build one payload after a dummy chain start and return a cursor on it. */
#define BUILD(call)                                                                      \
	mikey_builder_t b;                                                               \
	mikey_builder_init(&b, buf, sizeof(buf));                                        \
	b.next_off = 0;                                                                  \
	wire_wr_u8(&b.w, 0xee); /* stands for the previous payload's Next field */       \
	call;                                                                            \
	CU_ASSERT_EQUAL_FATAL(mikey_builder_error(&b), KMS_EOK);                         \
	wire_rd_t c;                                                                     \
	wire_rd_init(&c, buf + 1, mikey_builder_len(&b) - 1);                            \
	uint8_t next = 0xaa

static void given_ts_and_tr_when_round_trip_then_equal(void)
{
	static const uint8_t types[] = { MIKEY_TS_NTP_UTC, MIKEY_TS_NTP, MIKEY_TS_COUNTER,
					 MIKEY_TS_NTP_UTC_32 };
	for (size_t i = 0; i < 4; i++) {
		for (uint8_t role = 0; role <= MIKEY_TR_REKEY; role++) {
			mikey_ts_t in = { role, types[i],
					  types[i] < 2 ? 0x0102030405060708ULL
						       : 0x0a0b0c0dULL };
			mikey_ts_t out;
			BUILD(mikey_ts_build(&b, &in));
			CU_ASSERT_EQUAL(buf[0], role ? MIKEY_PT_TR : MIKEY_PT_T);
			CU_ASSERT_EQUAL(mikey_ts_parse(&c, role != 0, &next, &out),
					KMS_EOK);
			CU_ASSERT_EQUAL(next, MIKEY_PT_LAST);
			CU_ASSERT_EQUAL(out.value, in.value);
			CU_ASSERT_EQUAL(out.ts_type, in.ts_type);
			CU_ASSERT_EQUAL(out.role, role);
			CU_ASSERT_EQUAL(wire_rd_finish(&c), KMS_EOK);
		}
	}
}

static void given_timestamps_when_widened_then_iv_forms(void)
{
	mikey_ts_t t = { 0, MIKEY_TS_NTP_UTC_32, 0x11223344 };
	CU_ASSERT_EQUAL(mikey_ts_to64(&t), 0x1122334400000000ULL);
	t.ts_type = MIKEY_TS_COUNTER;
	CU_ASSERT_EQUAL(mikey_ts_to64(&t), 0x11223344ULL);
	t.ts_type = MIKEY_TS_NTP_UTC;
	t.value = 0x0102030405060708ULL;
	CU_ASSERT_EQUAL(mikey_ts_to64(&t), 0x0102030405060708ULL);
}

/* IDR golden bytes from RFC 6043 6.6: Next | Role | Type | Length(16) | Data. */
static void given_idr_when_built_then_golden_bytes_and_round_trip(void)
{
	mikey_id_t in = { MIKEY_ROLE_R, MIKEY_ID_URI, { (const uint8_t *)"sip:b@x", 7 } };
	mikey_id_t out;
	BUILD(mikey_id_build(&b, &in));
	static const uint8_t golden[] = { 0x0e, 0x00, 0x02, 0x01, 0x00, 0x07, 's',
					  'i',	'p',  ':',  'b',  '@',	'x' };
	CU_ASSERT_EQUAL(mikey_builder_len(&b), sizeof(golden));
	CU_ASSERT_EQUAL(memcmp(buf, golden, sizeof(golden)), 0);
	CU_ASSERT_EQUAL(mikey_id_parse(&c, true, &next, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.role, MIKEY_ROLE_R);
	CU_ASSERT_EQUAL(out.id.len, 7);
	CU_ASSERT_EQUAL(memcmp(out.id.data, "sip:b@x", 7), 0);
	/* Plain ID (6) has no role byte. */
	mikey_id_t plain = { 0, MIKEY_ID_NAI, { (const uint8_t *)"a@b", 3 } };
	mikey_builder_init(&b, buf, sizeof(buf));
	mikey_id_build(&b, &plain);
	CU_ASSERT_EQUAL(mikey_builder_len(&b), 7);
	wire_rd_init(&c, buf, 7);
	CU_ASSERT_EQUAL(mikey_id_parse(&c, false, &next, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.role, 0);
}

static void given_bad_ids_when_parsed_then_precise_errors(void)
{
	wire_rd_t c;
	uint8_t next;
	mikey_id_t out = { 0 };
	static const uint8_t empty[] = { 0, 1, 0, 0, 0 };
	wire_rd_init(&c, empty, sizeof(empty));
	CU_ASSERT_EQUAL(mikey_id_parse(&c, true, &next, &out), KMS_EID);
	static const uint8_t bad_type[] = { 0, 1, 9, 0, 1, 'a' };
	wire_rd_init(&c, bad_type, sizeof(bad_type));
	CU_ASSERT_EQUAL(mikey_id_parse(&c, true, &next, &out), KMS_EID);
	static const uint8_t bad_role[] = { 0, 9, 0, 0, 1, 'a' };
	wire_rd_init(&c, bad_role, sizeof(bad_role));
	CU_ASSERT_EQUAL(mikey_id_parse(&c, true, &next, &out), KMS_EID);
	static const uint8_t too_long[] = { 0, 1, 0, 0x02, 0x01 }; /* 513 > cap */
	wire_rd_init(&c, too_long, sizeof(too_long));
	CU_ASSERT_EQUAL(mikey_id_parse(&c, true, &next, &out), KMS_ELIMIT);
	static const uint8_t over[] = {
		0, 1, 0, 0x00, 0x05, 'a', 'b'
	}; /* says 5, has 2 */
	wire_rd_init(&c, over, sizeof(over));
	CU_ASSERT_EQUAL(mikey_id_parse(&c, true, &next, &out), KMS_EFEWDATA);
	CU_ASSERT_PTR_NULL(out.id.data); /* out untouched */
}

static void given_rand_when_round_trip_then_equal_and_caps_hold(void)
{
	uint8_t r[MIKEY_RAND_MAX + 1];
	memset(r, 0x5c, sizeof(r));
	for (uint8_t role = 0; role <= MIKEY_RAND_KMS; role++) {
		mikey_rand_t in = { role, { r, 16 } }, out;
		BUILD(mikey_rand_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_rand_parse(&c, role != 0, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.role, role);
		CU_ASSERT_EQUAL(out.rand.len, 16);
	}
	mikey_rand_t out;
	wire_rd_t c;
	uint8_t next;
	uint8_t shortr[2 + 15] = { 0, 15 };
	wire_rd_init(&c, shortr, sizeof(shortr));
	CU_ASSERT_EQUAL(mikey_rand_parse(&c, false, &next, &out), KMS_EMALFORMED);
	uint8_t longr[2 + MIKEY_RAND_MAX + 1] = { 0, MIKEY_RAND_MAX + 1 };
	wire_rd_init(&c, longr, sizeof(longr));
	CU_ASSERT_EQUAL(mikey_rand_parse(&c, false, &next, &out), KMS_ELIMIT);
	uint8_t badrole[3 + 16] = { 0, 7, 16 };
	wire_rd_init(&c, badrole, sizeof(badrole));
	CU_ASSERT_EQUAL(mikey_rand_parse(&c, true, &next, &out), KMS_EMALFORMED);
}

static void given_kemac_when_round_trip_then_equal_and_bad_algs_refused(void)
{
	uint8_t data[40], mac[20];
	memset(data, 1, sizeof(data));
	memset(mac, 2, sizeof(mac));
	mikey_kemac_t in = { MIKEY_ENCR_AES_CM_128,
			     { data, 40 },
			     MIKEY_MAC_HMAC_SHA1_160,
			     { mac, 20 } },
		      out;
	BUILD(mikey_kemac_build(&b, &in));
	CU_ASSERT_EQUAL(mikey_kemac_parse(&c, &next, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.encr_data.len, 40);
	CU_ASSERT_EQUAL(out.mac.len, 20);
	static const uint8_t bad_ea[] = { 0, 9, 0, 0, 0 };
	wire_rd_init(&c, bad_ea, sizeof(bad_ea));
	CU_ASSERT_EQUAL(mikey_kemac_parse(&c, &next, &out), KMS_EEA);
	static const uint8_t bad_ha[] = { 0, 1, 0, 0, 7 };
	wire_rd_init(&c, bad_ha, sizeof(bad_ha));
	CU_ASSERT_EQUAL(mikey_kemac_parse(&c, &next, &out), KMS_EHA);
	/* A MAC of the wrong length for its algorithm is not built. */
	in.mac.len = 19;
	mikey_builder_init(&b, buf, sizeof(buf));
	mikey_kemac_build(&b, &in);
	CU_ASSERT_EQUAL(mikey_builder_error(&b), KMS_EHA);
}

static void given_key_chain_when_round_trip_then_every_kv_form_survives(void)
{
	uint8_t key[16], salt[14], spi[4] = { 1, 2, 3, 4 }, vf[6] = { 0 }, vt[6] = { 9 };
	memset(key, 0x42, sizeof(key));
	memset(salt, 0x24, sizeof(salt));
	mikey_keys_t in = { 0 }, out;
	in.n = 3;
	in.k[0] = (mikey_keydata_t){ .type = MIKEY_KEY_MPK,
				     .kv = MIKEY_KV_SPI,
				     .key = { key, 16 },
				     .spi = { spi, 4 } };
	in.k[1] = (mikey_keydata_t){ .type = MIKEY_KEY_TGK_SALT,
				     .kv = MIKEY_KV_INTERVAL,
				     .key = { key, 16 },
				     .salt = { salt, 14 },
				     .vf = { vf, 6 },
				     .vt = { vt, 6 } };
	in.k[2] = (mikey_keydata_t){ .type = MIKEY_KEY_TEK,
				     .kv = MIKEY_KV_NULL,
				     .key = { key, 16 } };
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(mikey_keys_build(&in, buf, sizeof(buf), &len), KMS_EOK);
	/* Golden head of the first sub-payload: Next=20, Type 6 | KV 1, len 16. */
	CU_ASSERT_EQUAL(buf[0], MIKEY_PT_KEYDATA);
	CU_ASSERT_EQUAL(buf[1], 0x61);
	CU_ASSERT_EQUAL(buf[2], 0x00);
	CU_ASSERT_EQUAL(buf[3], 0x10);
	CU_ASSERT_EQUAL(len,
			(4 + 16 + 1 + 4) + (4 + 16 + 2 + 14 + 1 + 6 + 1 + 6) + (4 + 16));
	CU_ASSERT_EQUAL_FATAL(mikey_keys_parse(buf, len, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.n, 3);
	CU_ASSERT_EQUAL(out.k[0].spi.len, 4);
	CU_ASSERT_EQUAL(out.k[1].salt.len, 14);
	CU_ASSERT_EQUAL(out.k[1].vt.data[0], 9);
	CU_ASSERT_EQUAL(out.k[2].type, MIKEY_KEY_TEK);
	/* Trailing byte, truncation, short key, bad type. */
	buf[len] = 0;
	CU_ASSERT_EQUAL(mikey_keys_parse(buf, len + 1, &out), KMS_EMALFORMED);
	CU_ASSERT_EQUAL(mikey_keys_parse(buf, len - 1, &out), KMS_EFEWDATA);
	in.n = 1;
	in.k[0].key.len = 15;
	CU_ASSERT_EQUAL(mikey_keys_build(&in, buf, sizeof(buf), &len), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_keys_parse(buf, len, &out), KMS_ELIMIT);
	buf[1] = 0x71; /* type 7 */
	CU_ASSERT_EQUAL(mikey_keys_parse(buf, len, &out), KMS_EMALFORMED);
}

static void given_too_many_keys_when_parsed_then_elimit(void)
{
	uint8_t key[16] = { 0 };
	mikey_keys_t in = { 0 }, out;
	in.n = MIKEY_KEYS_MAX;
	for (size_t i = 0; i < in.n; i++) {
		in.k[i] = (mikey_keydata_t){ .type = MIKEY_KEY_TGK, .key = { key, 16 } };
	}
	size_t len;
	CU_ASSERT_EQUAL_FATAL(mikey_keys_build(&in, buf, sizeof(buf), &len), KMS_EOK);
	/* Re-link the last one to one more copy of the first. */
	memcpy(buf + len, buf, 20);
	buf[len - 20] = MIKEY_PT_KEYDATA;
	buf[len] = MIKEY_PT_LAST;
	CU_ASSERT_EQUAL(mikey_keys_parse(buf, len + 20, &out), KMS_ELIMIT);
}

static void given_v_err_sp_ext_when_round_trip_then_equal(void)
{
	uint8_t mac[32];
	memset(mac, 7, sizeof(mac));
	{
		mikey_v_t in = { MIKEY_MAC_HMAC_SHA256_256, { mac, 32 } }, out;
		BUILD(mikey_v_build(&b, &in, NULL));
		CU_ASSERT_EQUAL(mikey_v_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.mac.len, 32);
	}
	{
		mikey_v_t in = { MIKEY_MAC_HMAC_SHA1_160, { NULL, 0 } }, out;
		size_t off = 0;
		BUILD(mikey_v_build(&b, &in, &off));
		CU_ASSERT_EQUAL(off, 3); /* after dummy, Next, Auth alg */
		CU_ASSERT_EQUAL(mikey_v_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.mac.data[0], 0);
	}
	{
		mikey_err_t in = { MIKEY_ERR_TICKET }, out;
		BUILD(mikey_err_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_builder_len(&b), 5);
		CU_ASSERT_EQUAL(mikey_err_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.errno_, 14);
	}
	{
		mikey_sp_t in = { 0 }, out;
		uint8_t one = 1, len16 = 16;
		in.policy_no = 3;
		in.nparams = 2;
		in.params[0] = (mikey_sp_param_t){ 0, { &one, 1 } };
		in.params[1] = (mikey_sp_param_t){ 1, { &len16, 1 } };
		BUILD(mikey_sp_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_sp_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.policy_no, 3);
		CU_ASSERT_EQUAL(out.nparams, 2);
		CU_ASSERT_EQUAL(out.params[1].value.data[0], 16);
	}
	{
		mikey_genext_t in = { MIKEY_GENEXT_KEY_ID, { mac, 5 } }, out;
		BUILD(mikey_genext_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_genext_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.type, 3);
		CU_ASSERT_EQUAL(out.data.len, 5);
	}
}

static void given_bad_sp_params_when_parsed_then_refused(void)
{
	wire_rd_t c;
	uint8_t next;
	mikey_sp_t out;
	/* Parameter length runs past the policy param length. */
	static const uint8_t bad[] = { 0, 1, 0, 0, 3, 0, 5, 1 };
	wire_rd_init(&c, bad, sizeof(bad));
	CU_ASSERT_EQUAL(mikey_sp_parse(&c, &next, &out), KMS_ESPPAR);
	/* More parameters than the cap. */
	uint8_t many[5 + 2 * (MIKEY_SP_PARAMS_MAX + 1)] = {
		0, 1, 0, 0, 2 * (MIKEY_SP_PARAMS_MAX + 1)
	};
	wire_rd_init(&c, many, sizeof(many));
	CU_ASSERT_EQUAL(mikey_sp_parse(&c, &next, &out), KMS_ELIMIT);
}

static void given_pk_payloads_when_round_trip_then_recognised(void)
{
	uint8_t d[32];
	memset(d, 3, sizeof(d));
	{
		mikey_pke_t in = { 1, { d, 10 } }, out;
		BUILD(mikey_pke_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_pke_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.c, 1);
		CU_ASSERT_EQUAL(out.data.len, 10);
	}
	{
		mikey_cert_t in = { 0, { d, 12 } }, out;
		BUILD(mikey_cert_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_cert_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.data.len, 12);
	}
	{
		mikey_chash_t in = { MIKEY_HASH_SHA256, { d, 32 } }, out;
		BUILD(mikey_chash_build(&b, &in));
		CU_ASSERT_EQUAL(mikey_chash_parse(&c, &next, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.hash.len, 32);
	}
	{
		mikey_sign_t in = { 1, { d, 20 } }, out;
		mikey_builder_t b;
		mikey_builder_init(&b, buf, sizeof(buf));
		mikey_sign_build(&b, &in);
		CU_ASSERT_EQUAL(mikey_builder_len(&b), 22);
		CU_ASSERT_EQUAL(buf[0], 0x10); /* S type 1, length 20 */
		CU_ASSERT_EQUAL(buf[1], 20);
		wire_rd_t c;
		wire_rd_init(&c, buf, 22);
		CU_ASSERT_EQUAL(mikey_sign_parse(&c, &out), KMS_EOK);
		CU_ASSERT_EQUAL(out.s_type, 1);
	}
}

static void given_hdr_maps_when_round_trip_then_equal(void)
{
	mikey_hdr_t in, out;
	memset(&in, 0, sizeof(in));
	in.version = 1;
	in.data_type = MIKEY_DT_TRANSFER_INIT;
	in.prf = MIKEY_PRF_HMAC_SHA256;
	in.v = true;
	in.csb_id = 0xdeadbeef;
	in.ncs = 2;
	in.map_type = MIKEY_MAP_SRTP_ID;
	in.map.srtp[1] = (mikey_srtp_cs_t){ 4, 0x11223344, 5 };
	mikey_builder_t b;
	wire_rd_t c;
	mikey_builder_init(&b, buf, sizeof(buf));
	mikey_hdr_build(&b, &in);
	CU_ASSERT_EQUAL(mikey_builder_len(&b), 10 + 2 * 9);
	CU_ASSERT_EQUAL(buf[3], 0x81); /* V | PRF 1 */
	wire_rd_init(&c, buf, mikey_builder_len(&b));
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.map.srtp[1].ssrc, 0x11223344);
	CU_ASSERT_TRUE(out.v);
	CU_ASSERT_EQUAL(out.csb_id, 0xdeadbeef);

	in.map_type = MIKEY_MAP_GENERIC_ID;
	in.ncs = 1;
	uint8_t sd[4] = { 0xca, 0xfe, 0xba, 0xbe }, spi[2] = { 1, 2 };
	in.map.generic[0] = (mikey_generic_cs_t){ .cs_id = 1,
						  .prot_type = 0,
						  .s = false,
						  .np = 2,
						  .policy_no = { 7, 8 },
						  .session_data = { sd, 4 },
						  .spi = { spi, 2 } };
	mikey_builder_init(&b, buf, sizeof(buf));
	mikey_hdr_build(&b, &in);
	CU_ASSERT_EQUAL(mikey_builder_len(&b), 10 + 3 + 2 + 2 + 4 + 1 + 2);
	wire_rd_init(&c, buf, mikey_builder_len(&b));
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_EOK);
	CU_ASSERT_EQUAL(out.map.generic[0].np, 2);
	CU_ASSERT_EQUAL(out.map.generic[0].policy_no[1], 8);
	CU_ASSERT_EQUAL(out.map.generic[0].spi.len, 2);
	CU_ASSERT_EQUAL(wire_rd_finish(&c), KMS_EOK);
}

static void given_bad_hdr_values_when_parsed_then_precise_errors(void)
{
	wire_rd_t c;
	mikey_hdr_t out;
	uint8_t h[10] = { 1, 11, 0, 0, 0, 0, 0, 0, 0, 1 };
	h[0] = 2;
	wire_rd_init(&c, h, 10);
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_EVERSION);
	h[0] = 1;
	h[3] = 0x05; /* PRF 5 */
	wire_rd_init(&c, h, 10);
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_EPRF);
	h[3] = 0;
	h[9] = 9; /* map type */
	wire_rd_init(&c, h, 10);
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_EMALFORMED);
	h[9] = 0;
	h[8] = MIKEY_CS_MAX + 1;
	wire_rd_init(&c, h, 10);
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_ELIMIT);
	h[8] = 1; /* one SRTP entry announced, none present */
	wire_rd_init(&c, h, 10);
	CU_ASSERT_EQUAL(mikey_hdr_parse(&c, &out), KMS_EFEWDATA);
}

static void given_unix_times_when_converted_to_ntp_then_both_eras_round_trip(void)
{
	/* 1970-01-01 is NTP second 2208988800 (0x83AA7E80). */
	CU_ASSERT_EQUAL(mikey_ntp_from_unix(0, 0), 0x83aa7e8000000000ULL);
	CU_ASSERT_EQUAL(mikey_ntp_to_unix(0x83aa7e8000000000ULL), 0);
	/* Half a second is fraction 0x80000000. */
	CU_ASSERT_EQUAL(mikey_ntp_from_unix(0, 500000000) & 0xffffffffu, 0x80000000u);
	/* 2026 and 2040 (era 1: the seconds field wraps, MSB clear). */
	int64_t t2026 = 1795910400, t2040 = 2217369600;
	CU_ASSERT_EQUAL(mikey_ntp_to_unix(mikey_ntp_from_unix(t2026, 0)), t2026);
	CU_ASSERT_EQUAL(mikey_ntp_from_unix(t2040, 0) >> 63, 0);
	CU_ASSERT_EQUAL(mikey_ntp_to_unix(mikey_ntp_from_unix(t2040, 0)), t2040);
	mikey_ts_t ts = { 0, MIKEY_TS_NTP_UTC_32, mikey_ntp_from_unix(t2026, 0) >> 32 };
	int64_t sec = 0;
	CU_ASSERT_EQUAL(mikey_ts_to_unix(&ts, &sec), KMS_EOK);
	CU_ASSERT_EQUAL(sec, t2026);
	ts.ts_type = MIKEY_TS_COUNTER;
	CU_ASSERT_EQUAL(mikey_ts_to_unix(&ts, &sec), KMS_ETS);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_ts_and_tr_when_round_trip_then_equal),
		UNIT_TEST(given_timestamps_when_widened_then_iv_forms),
		UNIT_TEST(given_idr_when_built_then_golden_bytes_and_round_trip),
		UNIT_TEST(given_bad_ids_when_parsed_then_precise_errors),
		UNIT_TEST(given_rand_when_round_trip_then_equal_and_caps_hold),
		UNIT_TEST(given_kemac_when_round_trip_then_equal_and_bad_algs_refused),
		UNIT_TEST(given_key_chain_when_round_trip_then_every_kv_form_survives),
		UNIT_TEST(given_too_many_keys_when_parsed_then_elimit),
		UNIT_TEST(given_v_err_sp_ext_when_round_trip_then_equal),
		UNIT_TEST(given_bad_sp_params_when_parsed_then_refused),
		UNIT_TEST(given_pk_payloads_when_round_trip_then_recognised),
		UNIT_TEST(given_hdr_maps_when_round_trip_then_equal),
		UNIT_TEST(given_bad_hdr_values_when_parsed_then_precise_errors),
		UNIT_TEST(
		    given_unix_times_when_converted_to_ntp_then_both_eras_round_trip),
		UNIT_END,
	};
	return unit_run("payload", tests);
}
