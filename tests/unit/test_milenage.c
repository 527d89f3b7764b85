/*
 * MILENAGE against TS 35.208 test set 1 and TS 35.207 test set 2 (values
 * from the spec digest 6.3, recomputed there independently), and the AKA
 * round trips: AUTN build and check, resynchronisation with AUTS.
 */
#include <string.h>

#include "common/errcode.h"
#include "gba/milenage.h"
#include "tests/unit/unit.h"

struct tset {
	const char *k, *rand, *sqn, *amf, *op, *opc;
	const char *f1, *f1s, *f2, *f3, *f4, *f5, *f5s;
};

static const struct tset set1 = {
	"465b5ce8b199b49faa5f0a2ee238a6bc",
	"23553cbe9637a89d218ae64dae47bf35",
	"ff9bb4d0b607",
	"b9b9",
	"cdc202d5123e20f62b6d676ac72cb318",
	"cd63cb71954a9f4e48a5994e37a02baf",
	"4a9ffac354dfafb3",
	"01cfaf9ec4e871e9",
	"a54211d5e3ba50bf",
	"b40ba9a3c58b2a05bbf0d987b21bf8cb",
	"f769bcd751044604127672711c6d3441",
	"aa689c648370",
	"451e8beca43b",
};

static const struct tset set2 = {
	"0396eb317b6d1c36f19c1c84cd6ffd16",
	"c00d603103dcee52c4478119494202e8",
	"fd8eef40df7d",
	"af17",
	"ff53bade17df5d4e793073ce9d7579fa",
	"53c15671c60a4b731c55b4a441c0bde2",
	"5df5b31807e258b0",
	"a8c016e51ef4a343",
	"d3a628ed988620f0",
	"58c433ff7a7082acd424220f2b67c556",
	"21a8c1f929702adb3e738488b9f5c5da",
	"c47783995f72",
	"30f1197061c1",
};

typedef struct {
	uint8_t k[16], rand[16], sqn[6], amf[2], op[16], opc[16];
} inputs_t;

static void load(const struct tset *t, inputs_t *in)
{
	unit_hex(t->k, in->k, 16);
	unit_hex(t->rand, in->rand, 16);
	unit_hex(t->sqn, in->sqn, 6);
	unit_hex(t->amf, in->amf, 2);
	unit_hex(t->op, in->op, 16);
	unit_hex(t->opc, in->opc, 16);
}

static int eq_hex(const uint8_t *got, const char *hex)
{
	uint8_t exp[16];
	size_t n = unit_hex(hex, exp, sizeof(exp));
	return memcmp(got, exp, n) == 0;
}

static void check_set(const struct tset *t)
{
	inputs_t in;
	uint8_t opc[16], mac_a[8], mac_s[8], res[8], ck[16], ik[16], ak[6], akstar[6];
	load(t, &in);
	CU_ASSERT_EQUAL(milenage_opc(in.k, in.op, opc), KMS_EOK);
	CU_ASSERT(eq_hex(opc, t->opc));
	CU_ASSERT_EQUAL(milenage_f1(in.k, opc, in.rand, in.sqn, in.amf, mac_a, mac_s),
			KMS_EOK);
	CU_ASSERT(eq_hex(mac_a, t->f1));
	CU_ASSERT(eq_hex(mac_s, t->f1s));
	CU_ASSERT_EQUAL(milenage_f2345(in.k, opc, in.rand, res, ck, ik, ak, akstar),
			KMS_EOK);
	CU_ASSERT(eq_hex(res, t->f2));
	CU_ASSERT(eq_hex(ck, t->f3));
	CU_ASSERT(eq_hex(ik, t->f4));
	CU_ASSERT(eq_hex(ak, t->f5));
	CU_ASSERT(eq_hex(akstar, t->f5s));
}

static void given_test_set_1_when_running_f1_to_f5star_then_known_answers(void)
{
	check_set(&set1);
}

static void given_test_set_2_when_running_f1_to_f5star_then_known_answers(void)
{
	check_set(&set2);
}

static void given_null_outputs_when_running_functions_then_others_still_filled(void)
{
	inputs_t in;
	uint8_t mac_s[8], ik[16];
	load(&set1, &in);
	CU_ASSERT_EQUAL(milenage_f1(in.k, in.opc, in.rand, in.sqn, in.amf, NULL, mac_s),
			KMS_EOK);
	CU_ASSERT(eq_hex(mac_s, set1.f1s));
	CU_ASSERT_EQUAL(milenage_f2345(in.k, in.opc, in.rand, NULL, NULL, ik, NULL, NULL),
			KMS_EOK);
	CU_ASSERT(eq_hex(ik, set1.f4));
	CU_ASSERT_EQUAL(milenage_f1(NULL, in.opc, in.rand, in.sqn, in.amf, NULL, mac_s),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(milenage_f2345(in.k, NULL, in.rand, NULL, NULL, ik, NULL, NULL),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(milenage_opc(in.k, NULL, in.opc), KMS_EINVAL);
}

static void given_network_autn_when_usim_checks_then_sqn_and_keys_recovered(void)
{
	inputs_t in;
	uint8_t autn[16], sqn[6], res[8], ck[16], ik[16];
	load(&set1, &in);
	CU_ASSERT_EQUAL(milenage_autn(in.k, in.opc, in.rand, in.sqn, in.amf, autn),
			KMS_EOK);
	/* AUTN = (SQN XOR AK) || AMF || MAC-A, by hand. */
	CU_ASSERT(eq_hex(autn, "55f328b43577b9b94a9ffac354dfafb3"));
	CU_ASSERT_EQUAL(
	    milenage_check_autn(in.k, in.opc, in.rand, autn, sqn, res, ck, ik), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(sqn, in.sqn, 6), 0);
	CU_ASSERT(eq_hex(res, set1.f2));
	CU_ASSERT(eq_hex(ck, set1.f3));
	CU_ASSERT(eq_hex(ik, set1.f4));
}

static void given_tampered_autn_when_usim_checks_then_emac_and_outputs_untouched(void)
{
	inputs_t in;
	uint8_t autn[16], bad[16], sqn[6], res[8];
	load(&set1, &in);
	CU_ASSERT_EQUAL(milenage_autn(in.k, in.opc, in.rand, in.sqn, in.amf, autn),
			KMS_EOK);
	/* Every bit of SQN^AK, AMF and MAC-A is covered by MAC-A. */
	for (size_t i = 0; i < 16; i++) {
		memcpy(bad, autn, 16);
		bad[i] ^= 0x40;
		memset(sqn, 0x5a, sizeof(sqn));
		memset(res, 0x5a, sizeof(res));
		CU_ASSERT_EQUAL(
		    milenage_check_autn(in.k, in.opc, in.rand, bad, sqn, res, NULL, NULL),
		    KMS_EMAC);
		CU_ASSERT_EQUAL(sqn[0] & sqn[5] & res[0] & res[7], 0x5a);
	}
	/* A different RAND (or key) does not verify either. */
	in.rand[0] ^= 1;
	CU_ASSERT_EQUAL(
	    milenage_check_autn(in.k, in.opc, in.rand, autn, sqn, NULL, NULL, NULL),
	    KMS_EMAC);
}

static void given_stale_sqn_when_usim_sends_auts_then_network_recovers_sqn_ms(void)
{
	inputs_t in;
	uint8_t auts[14], sqn_ms[6], got[6];
	load(&set2, &in);
	unit_hex("000000001234", sqn_ms, sizeof(sqn_ms));
	CU_ASSERT_EQUAL(milenage_auts(in.k, in.opc, in.rand, sqn_ms, auts), KMS_EOK);
	CU_ASSERT_EQUAL(milenage_resync(in.k, in.opc, in.rand, auts, got), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(got, sqn_ms, 6), 0);
	/* MAC-S is f1* over SQN_MS with AMF 0000, and the SQN is hidden by AK*. */
	uint8_t mac_s[8], akstar[6], zero_amf[2] = { 0, 0 };
	CU_ASSERT_EQUAL(milenage_f1(in.k, in.opc, in.rand, sqn_ms, zero_amf, NULL, mac_s),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(auts + 6, mac_s, 8), 0);
	CU_ASSERT_EQUAL(
	    milenage_f2345(in.k, in.opc, in.rand, NULL, NULL, NULL, NULL, akstar),
	    KMS_EOK);
	for (size_t i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(auts[i] ^ akstar[i], sqn_ms[i]);
	}
}

static void given_wrong_mac_s_when_network_resyncs_then_emac(void)
{
	inputs_t in;
	uint8_t auts[14], sqn_ms[6], got[6];
	load(&set1, &in);
	memcpy(sqn_ms, in.sqn, 6);
	CU_ASSERT_EQUAL(milenage_auts(in.k, in.opc, in.rand, sqn_ms, auts), KMS_EOK);
	for (size_t i = 0; i < 14; i++) {
		uint8_t bad[14];
		memcpy(bad, auts, 14);
		bad[i] ^= 0x01;
		memset(got, 0xa5, sizeof(got));
		CU_ASSERT_EQUAL(milenage_resync(in.k, in.opc, in.rand, bad, got),
				KMS_EMAC);
		CU_ASSERT_EQUAL(got[0] & got[5], 0xa5);
	}
	/* Another subscriber's key does not verify it. */
	in.k[15] ^= 0x80;
	CU_ASSERT_EQUAL(milenage_resync(in.k, in.opc, in.rand, auts, got), KMS_EMAC);
	CU_ASSERT_EQUAL(milenage_resync(in.k, in.opc, in.rand, NULL, got), KMS_EINVAL);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_test_set_1_when_running_f1_to_f5star_then_known_answers),
		UNIT_TEST(given_test_set_2_when_running_f1_to_f5star_then_known_answers),
		UNIT_TEST(
		    given_null_outputs_when_running_functions_then_others_still_filled),
		UNIT_TEST(
		    given_network_autn_when_usim_checks_then_sqn_and_keys_recovered),
		UNIT_TEST(
		    given_tampered_autn_when_usim_checks_then_emac_and_outputs_untouched),
		UNIT_TEST(
		    given_stale_sqn_when_usim_sends_auts_then_network_recovers_sqn_ms),
		UNIT_TEST(given_wrong_mac_s_when_network_resyncs_then_emac),
		UNIT_END,
	};
	return unit_run("milenage", tests);
}
