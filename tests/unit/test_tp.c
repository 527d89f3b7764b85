/*
 * Ticket Policy rules: every flag dependency of RFC 6043 6.10 violated on
 * its own, normalise over all 4096 flag settings, the algorithm sets.
 */
#include <string.h>

#include "common/errcode.h"
#include "mikey/tp.h"
#include "tests/unit/unit.h"

#define D MIKEY_TPF_D
#define E MIKEY_TPF_E
#define F MIKEY_TPF_F
#define G MIKEY_TPF_G
#define H MIKEY_TPF_H
#define I MIKEY_TPF_I
#define J MIKEY_TPF_J
#define K MIKEY_TPF_K
#define L MIKEY_TPF_L
#define M MIKEY_TPF_M
#define N MIKEY_TPF_N
#define O MIKEY_TPF_O

/*
 * An independent restatement of the rules, one line each, to check the
 * exhaustive runs against (the code under test is not used here).
 */
static bool valid(unsigned f, bool tgk)
{
	bool d = f & D, e = f & E, ff = f & F, g = f & G, h = f & H, i = f & I;
	bool k = f & K, l = f & L, m = f & M;
	return (f & 0x000Fu) == 0 && (d || l) && (!g || ff) && (g || h) && (!i || e) &&
	       (!k || d) && (!m || ff) && (!(i && tgk) || ff);
}

static void given_each_dependency_violated_alone_when_checking_then_etppar(void)
{
	static const struct {
		const char *rule;
		unsigned bad, fixed;
		bool tgk;
	} cases[] = {
		{ "NOT D => L", G | F | H, G | F | H | L, false },
		{ "G => F", D | G | H, D | G | H | F, false },
		{ "NOT G => H", D | J, D | J | H, false },
		{ "NOT H => G", D | F | N, D | F | N | G, false },
		{ "I => E", D | H | I, D | H | I | E, false },
		{ "K => D", L | H | K, L | H | K | D, false },
		{ "M => F", D | H | M, D | H | M | F, false },
		{ "I with TGK => F", D | H | I | E, D | H | I | E | F, true },
		{ "reserved bits 0", D | H | 0x1u, D | H, false },
		{ "reserved bits 0", D | H | 0x8u, D | H, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int bad = mikey_tp_check_flags((uint16_t)cases[i].bad, cases[i].tgk);
		int ok = mikey_tp_check_flags((uint16_t)cases[i].fixed, cases[i].tgk);
		CU_ASSERT_EQUAL(bad, KMS_ETPPAR);
		CU_ASSERT_EQUAL(ok, KMS_EOK);
		if (bad != KMS_ETPPAR || ok != KMS_EOK) {
			printf("rule '%s' not enforced\n", cases[i].rule);
		}
	}
	/* The same flags are fine without a TGK. */
	CU_ASSERT_EQUAL(mikey_tp_check_flags(D | H | I | E, false), KMS_EOK);
}

static void given_all_4096_flag_sets_when_checking_then_matches_rules(void)
{
	size_t nvalid = 0;
	for (unsigned v = 0; v < 4096; v++) {
		uint16_t f = (uint16_t)(v << 4);
		for (int tgk = 0; tgk < 2; tgk++) {
			bool exp = valid(f, tgk);
			CU_ASSERT_EQUAL(mikey_tp_check_flags(f, tgk) == KMS_EOK, exp);
			nvalid += exp;
		}
	}
	CU_ASSERT(nvalid > 0 && nvalid < 8192);
}

static unsigned popcount(unsigned v)
{
	unsigned n = 0;
	for (; v != 0; v &= v - 1) {
		n++;
	}
	return n;
}

static void given_all_4096_requests_when_normalising_then_result_valid_and_minimal(void)
{
	static const struct {
		uint16_t on, off;
	} policies[] = {
		{ 0, 0 },
		{ I, 0 },
		{ 0, F },
		{ D, L },
		{ F | I, E },	      /* contradicts I => E: the rules win */
		{ 0, MIKEY_TPF_ALL }, /* everything off: the rules win */
		{ MIKEY_TPF_ALL, 0 },
		{ K, K }, /* K is never local policy */
	};
	size_t runs = 0, bad = 0;
	for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
		for (unsigned v = 0; v < 4096; v++) {
			uint16_t req = (uint16_t)(v << 4);
			for (int tgk = 0; tgk < 2; tgk++) {
				uint16_t on = policies[p].on, off = policies[p].off;
				uint16_t r = mikey_tp_normalise(req, tgk, on, off);
				runs++;
				/* Valid, and K exactly when something changed. */
				bool ok = mikey_tp_check_flags(r, tgk) == KMS_EOK &&
					  valid(r, tgk);
				bool changed = ((r ^ req) & ~K & 0xFFF0u) != 0;
				ok = ok && ((r & K) != 0) == changed;
				/* Reserved input bits make no difference. */
				ok = ok &&
				     mikey_tp_normalise(req | 0xFu, tgk, on, off) == r;
				if (on == 0 && off == 0) {
					/* A valid request (K aside) comes back as is. */
					if (valid(req & ~K, tgk)) {
						ok = ok && r == (req & ~K);
					}
					/*
					 * Never more changes than the cheapest
					 * fix-all: D, F, H, E on; M, I off.
					 */
					unsigned fix = (req & ~K) | D | F | H | E;
					fix &= ~(unsigned)(M | I);
					ok = ok &&
					     popcount((r ^ req) & ~K & 0xFFF0u) <=
						 popcount((fix ^ req) & ~K & 0xFFF0u);
				}
				/* Compatible local policy is honoured. */
				if (p == 1 || p == 2 || p == 3) {
					ok = ok && (r & on) == on && (r & off) == 0;
				}
				bad += !ok;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	printf("\n  %zu normalise runs, all valid\n", runs);
}

static void given_typical_requests_when_normalising_then_smallest_fix(void)
{
	/* Nothing requested: the KMS marks its change (K, hence D) and adds H. */
	CU_ASSERT_EQUAL(mikey_tp_normalise(0, false, 0, 0), D | H | K);
	/* G without F: adding F is one change; dropping G would need H too. */
	CU_ASSERT_EQUAL(mikey_tp_normalise(D | G, false, 0, 0), D | F | G | K);
	/* I without E (no TGK): add E rather than drop forking (a tie). */
	CU_ASSERT_EQUAL(mikey_tp_normalise(D | H | I, false, 0, 0), D | E | H | I | K);
	/* With a TGK, I needs E and F: dropping I is the smaller change. */
	CU_ASSERT_EQUAL(mikey_tp_normalise(D | H | I, true, 0, 0), D | H | K);
	/* ...unless local policy forces forking on. */
	CU_ASSERT_EQUAL(mikey_tp_normalise(D | H | I, true, I, 0), D | E | F | H | I | K);
	/* Valid requests are untouched, and a requested K is ignored. */
	CU_ASSERT_EQUAL(mikey_tp_normalise(L | H, false, 0, 0), L | H);
	CU_ASSERT_EQUAL(mikey_tp_normalise(L | H | K, false, 0, 0), L | H);
	CU_ASSERT_EQUAL(mikey_tp_normalise(D | E | F | G | H | I | J, true, 0, 0),
			D | E | F | G | H | I | J);
	/* Local policy off F: G, M and (with a TGK) I go too. */
	uint16_t r = mikey_tp_normalise(D | F | G | M | I | E, true, 0, F);
	CU_ASSERT_EQUAL(r & (F | G | M | I), 0);
	CU_ASSERT_EQUAL(r & (D | H | K), D | H | K);
	/* Local policy on J: granted, marked as changed. */
	CU_ASSERT_EQUAL(mikey_tp_normalise(D | H, false, J, 0), D | H | J | K);
}

static void given_algorithm_sets_when_checking_then_no_mixing(void)
{
	/* Pure sets. */
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_CM_128,
					MIKEY_MAC_HMAC_SHA1_160, 16),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_KW_128,
					MIKEY_MAC_HMAC_SHA1_160, 16),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_CM_256,
					MIKEY_MAC_HMAC_SHA256_256, 32),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_CM_256,
					MIKEY_MAC_HMAC_SHA256_256, 16),
			KMS_EOK);
	/* NULL is neutral. */
	CU_ASSERT_EQUAL(
	    mikey_alg_check(MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_NULL, MIKEY_MAC_NULL, 32),
	    KMS_EOK);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_NULL,
					MIKEY_MAC_HMAC_SHA1_160, 16),
			KMS_EOK);
	/* Mixing: the odd one out is named. */
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_CM_128,
					MIKEY_MAC_HMAC_SHA256_256, 16),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_KW_128,
					MIKEY_MAC_NULL, 16),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_HMAC_SHA256, MIKEY_ENCR_AES_CM_256,
					MIKEY_MAC_HMAC_SHA1_160, 32),
			KMS_EHA);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_CM_256,
					MIKEY_MAC_HMAC_SHA1_160, 16),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_CM_128,
					MIKEY_MAC_HMAC_SHA256_256, 16),
			KMS_EHA);
	/* Keys over 128 bits need the 256-bit set. */
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_AES_CM_128,
					MIKEY_MAC_HMAC_SHA1_160, 17),
			KMS_EPRF);
	CU_ASSERT_EQUAL(
	    mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_NULL, MIKEY_MAC_NULL, 32),
	    KMS_EPRF);
	/* Unknown values. */
	CU_ASSERT_EQUAL(mikey_alg_check(2, MIKEY_ENCR_NULL, MIKEY_MAC_NULL, 16),
			KMS_EPRF);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, 4, MIKEY_MAC_NULL, 16),
			KMS_EEA);
	CU_ASSERT_EQUAL(mikey_alg_check(MIKEY_PRF_MIKEY1, MIKEY_ENCR_NULL, 3, 16),
			KMS_EHA);
}

static void given_flags_when_formatting_then_letters_or_dots(void)
{
	char s[13];
	mikey_tp_flags_str(D | F | H | I | L, s);
	CU_ASSERT_STRING_EQUAL(s, "D.F.HI..L...");
	mikey_tp_flags_str(0, s);
	CU_ASSERT_STRING_EQUAL(s, "............");
	mikey_tp_flags_str(0xFFFF, s);
	CU_ASSERT_STRING_EQUAL(s, "DEFGHIJKLMNO");
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_each_dependency_violated_alone_when_checking_then_etppar),
		UNIT_TEST(given_all_4096_flag_sets_when_checking_then_matches_rules),
		UNIT_TEST(
		    given_all_4096_requests_when_normalising_then_result_valid_and_minimal),
		UNIT_TEST(given_typical_requests_when_normalising_then_smallest_fix),
		UNIT_TEST(given_algorithm_sets_when_checking_then_no_mixing),
		UNIT_TEST(given_flags_when_formatting_then_letters_or_dots),
		UNIT_END,
	};
	return unit_run("tp", tests);
}
