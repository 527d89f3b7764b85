/* KMS user and group identities (TS 33.328 6.2.3.2). */
#include <string.h>

#include "common/errcode.h"
#include "policy/identity.h"
#include "tests/unit/unit.h"

static bool m(const char *p, const char *s)
{
	return identity_match(p, strlen(p), s, strlen(s));
}

static void given_plain_identities_when_matched_then_exact_only(void)
{
	CU_ASSERT_TRUE(m("alice@example.org", "alice@example.org"));
	CU_ASSERT_FALSE(m("alice@example.org", "alice@example.orgx"));
	CU_ASSERT_FALSE(m("alice@example.org", "alice@example.or"));
	CU_ASSERT_FALSE(m("Alice@example.org", "alice@example.org"));
	CU_ASSERT_FALSE(m("", ""));
}

static void given_group_identities_when_matched_then_star_is_one_or_more(void)
{
	CU_ASSERT_TRUE(m("*.department@company", "user1.department@company"));
	CU_ASSERT_TRUE(m("*.department@company", "a.b.department@company"));
	CU_ASSERT_FALSE(
	    m("*.department@company", ".department@company")); /* needs >= 1 */
	CU_ASSERT_FALSE(m("*.department@company", "user1.sales@company"));
	CU_ASSERT_TRUE(m("*@*", "a@b"));
	CU_ASSERT_FALSE(m("*@*", "@b"));
	CU_ASSERT_FALSE(m("*@*", "a@"));
	CU_ASSERT_FALSE(m("*@*", "ab"));
	CU_ASSERT_TRUE(m("a*c@x", "abbbc@x"));
	CU_ASSERT_FALSE(m("a*c@x", "ac@x"));
	CU_ASSERT_TRUE(m("*a*@x", "bab@x"));
	CU_ASSERT_TRUE(identity_is_group("*@x", 3));
	CU_ASSERT_FALSE(identity_is_group("a@x", 3));
}

static void given_pathological_pattern_when_matched_then_bounded(void)
{
	char p[257], s[257];
	memset(p, '*', 256);
	memset(s, 'a', 256);
	p[256] = s[256] = '\0';
	CU_ASSERT_TRUE(m(p, s));
	p[255] = 'b';
	CU_ASSERT_FALSE(m(p, s));
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[299] = '\0';
	CU_ASSERT_FALSE(m(big, big)); /* over IDENTITY_MAX */
}

static void given_sip_uris_when_converted_then_nai(void)
{
	char out[IDENTITY_MAX + 1];
	size_t n;
	const char *u = "<sip:alice@example.org;transport=tcp>";
	CU_ASSERT_EQUAL(identity_from_uri(u, strlen(u), out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "alice@example.org");
	u = "sips:bob@x.test?subject=hi";
	CU_ASSERT_EQUAL(identity_from_uri(u, strlen(u), out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out, "bob@x.test");
	u = "carol@y";
	CU_ASSERT_EQUAL(identity_from_uri(u, strlen(u), out, sizeof(out), &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(identity_from_uri("sip:nobody", 10, out, sizeof(out), &n),
			KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("sip:@x", 6, out, sizeof(out), &n), KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("sip:a@", 6, out, sizeof(out), &n), KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("a\0b@c", 5, out, sizeof(out), &n), KMS_EID);
	CU_ASSERT_EQUAL(identity_from_uri("alice@example.org", 17, out, 10, &n), KMS_EID);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_plain_identities_when_matched_then_exact_only),
		UNIT_TEST(given_group_identities_when_matched_then_star_is_one_or_more),
		UNIT_TEST(given_pathological_pattern_when_matched_then_bounded),
		UNIT_TEST(given_sip_uris_when_converted_then_nai),
		UNIT_END,
	};
	return unit_run("identity", tests);
}
