/* Ticket policy rules: priority, deny-overrides, defaults, the index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "policy/rules.h"
#include "tests/unit/unit.h"

static const policy_defaults_t defaults_allow = { POLICY_ALLOW, 0,     true,
						  true,		false, false };

static policy_rule_t rule(int64_t id, int prio, const char *ini, const char *resp,
			  policy_effect_t eff)
{
	policy_rule_t r;
	memset(&r, 0, sizeof(r));
	r.id = id;
	r.priority = prio;
	snprintf(r.initiator, sizeof(r.initiator), "%s", ini);
	snprintf(r.responder, sizeof(r.responder), "%s", resp);
	r.effect = eff;
	return r;
}

static void decide(const policy_set_t *s, const char *i, const char *r,
		   policy_decision_t *d)
{
	policy_decide(s, i, strlen(i), r, strlen(r), d);
}

static void given_rules_when_priorities_differ_then_highest_wins(void)
{
	policy_rule_t rs[] = {
		rule(1, 10, "*@a.org", "*@*", POLICY_DENY),
		rule(2, 20, "alice@a.org", "bob@b.org", POLICY_ALLOW),
	};
	policy_set_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(rs, 2, &defaults_allow, &s), KMS_EOK);
	policy_decision_t d;
	decide(s, "alice@a.org", "bob@b.org", &d);
	CU_ASSERT_TRUE(d.matched);
	CU_ASSERT_EQUAL(d.rule_id, 2);
	CU_ASSERT_EQUAL(d.effect, POLICY_ALLOW);
	decide(s, "alice@A.ORG", "carol@b.org", &d);
	CU_ASSERT_EQUAL(d.rule_id, 1);
	CU_ASSERT_EQUAL(d.effect, POLICY_DENY);
	policy_set_free(s);
}

static void given_equal_priority_when_allow_and_deny_match_then_deny(void)
{
	policy_rule_t rs[] = {
		rule(1, 5, "alice@a.org", "*@b.org", POLICY_ALLOW),
		rule(2, 5, "*@*", "bob@b.org", POLICY_DENY),
		rule(3, 5, "alice@a.org", "bob@b.org", POLICY_ALLOW),
	};
	policy_set_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(rs, 3, &defaults_allow, &s), KMS_EOK);
	policy_decision_t d;
	decide(s, "alice@a.org", "bob@b.org", &d);
	CU_ASSERT_EQUAL(d.effect, POLICY_DENY);
	CU_ASSERT_EQUAL(d.rule_id, 2);
	decide(s, "alice@a.org", "carol@b.org", &d);
	CU_ASSERT_EQUAL(d.effect, POLICY_ALLOW);
	CU_ASSERT_EQUAL(d.rule_id, 1);
	policy_set_free(s);
}

static void given_no_match_when_decided_then_defaults(void)
{
	policy_rule_t rs[] = { rule(1, 1, "alice@a.org", "bob@b.org", POLICY_ALLOW) };
	policy_defaults_t def = { POLICY_DENY, 60, false, false, true, false };
	policy_set_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(rs, 1, &def, &s), KMS_EOK);
	policy_decision_t d;
	decide(s, "eve@a.org", "bob@b.org", &d);
	CU_ASSERT_FALSE(d.matched);
	CU_ASSERT_EQUAL(d.effect, POLICY_DENY);
	CU_ASSERT_EQUAL(d.max_validity, 60);
	CU_ASSERT_FALSE(d.reuse);
	CU_ASSERT_FALSE(d.group_ok);
	CU_ASSERT_TRUE(d.init_keys);
	/* policy_allows: deny never; a group responder only with group_ok. */
	CU_ASSERT_FALSE(policy_allows(&d, "bob@b.org", 9));
	d.effect = POLICY_ALLOW;
	CU_ASSERT_TRUE(policy_allows(&d, "bob@b.org", 9));
	CU_ASSERT_FALSE(policy_allows(&d, "*.x@b.org", 9));
	d.group_ok = true;
	CU_ASSERT_TRUE(policy_allows(&d, "*.x@b.org", 9));
	policy_set_free(s);
	/* An empty set and a NULL set. */
	CU_ASSERT_EQUAL_FATAL(policy_set_new(NULL, 0, &defaults_allow, &s), KMS_EOK);
	decide(s, "eve@a.org", "bob@b.org", &d);
	CU_ASSERT_EQUAL(d.effect, POLICY_ALLOW);
	policy_set_free(s);
	decide(NULL, "eve@a.org", "bob@b.org", &d);
	CU_ASSERT_EQUAL(d.effect, POLICY_ALLOW);
	CU_ASSERT_TRUE(d.reuse);
}

static void given_rule_terms_when_decided_then_validity_reuse_group(void)
{
	policy_rule_t rs[] = {
		rule(7, 1, "alice@a.org", "*.team@b.org", POLICY_ALLOW),
		rule(8, 1, "alice@a.org", "bob@b.org", POLICY_ALLOW),
	};
	rs[0].max_validity = 600;
	rs[0].reuse = true;
	rs[0].group_ok = true;
	rs[1].max_validity = 0;
	policy_set_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(rs, 2, &defaults_allow, &s), KMS_EOK);
	policy_decision_t d;
	decide(s, "alice@a.org", "*.team@b.org", &d); /* a group responder */
	CU_ASSERT_EQUAL(d.rule_id, 7);
	CU_ASSERT_EQUAL(d.max_validity, 600);
	CU_ASSERT_TRUE(d.reuse);
	CU_ASSERT_TRUE(d.group_ok);
	decide(s, "alice@a.org", "bob@b.org", &d);
	CU_ASSERT_EQUAL(d.rule_id, 8);
	CU_ASSERT_EQUAL(d.max_validity, 0);
	CU_ASSERT_FALSE(d.reuse);
	CU_ASSERT_FALSE(d.group_ok);
	policy_set_free(s);
}

static const char *const users[] = { "alice", "bob", "x.team", "y.team", "carol" };
static const char *const doms[] = { "a.org", "A.org", "b.org", "c.net", "team.b.org" };
static const char *const upats[] = { "alice", "bob", "*.team", "*", "carol", "x*" };
static const char *const dpats[] = { "a.org", "B.ORG", "c.net", "*", "*.org", "*b.org" };
#define PICK(a) a[(size_t)rand() % (sizeof(a) / sizeof(a[0]))]

static void given_sip_uri_patterns_when_set_built_then_used_as_nai(void)
{
	policy_rule_t rs[] = {
		rule(1, 10, "<sip:*.dept@Example.ORG;user=phone>", "sips:bob@b.org",
		     POLICY_DENY),
		rule(2, 5, "sip:*@*", "SIP:*@B.org:5060", POLICY_ALLOW),
		rule(3, 20, "tel:+15551234", "*@*", POLICY_DENY),
		rule(4, 20, "mailto:carol@c.org", "*@*", POLICY_DENY),
	};
	policy_set_t *s = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(rs, 4, &defaults_allow, &s), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(policy_set_rule(s, 0)->initiator, "*.dept@example.org");
	CU_ASSERT_STRING_EQUAL(policy_set_rule(s, 0)->responder, "bob@b.org");
	CU_ASSERT_STRING_EQUAL(policy_set_rule(s, 1)->initiator, "*@*");
	CU_ASSERT_STRING_EQUAL(policy_set_rule(s, 1)->responder, "*@b.org");
	CU_ASSERT_STRING_EQUAL(policy_set_rule(s, 2)->initiator, "tel:+15551234");
	CU_ASSERT_STRING_EQUAL(policy_set_rule(s, 3)->initiator, "mailto:carol@c.org");
	policy_decision_t d;
	decide(s, "a.dept@example.org", "bob@b.org", &d);
	CU_ASSERT_EQUAL(d.rule_id, 1);
	CU_ASSERT_EQUAL(d.effect, POLICY_DENY);
	decide(s, "a.sales@example.org", "bob@b.org", &d);
	CU_ASSERT_EQUAL(d.rule_id, 2);
	CU_ASSERT_EQUAL(d.effect, POLICY_ALLOW);
	decide(s, "carol@c.org", "bob@b.org", &d); /* rule 4 kept as stored */
	CU_ASSERT_EQUAL(d.rule_id, 2);
	decide(s, "a.sales@example.org", "bob@c.org", &d);
	CU_ASSERT_FALSE(d.matched);
	policy_set_free(s);
}

static void given_random_rules_when_decided_then_same_as_linear(void)
{
	srand(12345);
	for (int round = 0; round < 50; round++) {
		size_t n = (size_t)(rand() % 60);
		policy_rule_t rs[60];
		for (size_t i = 0; i < n; i++) {
			char ini[64], resp[64];
			snprintf(ini, sizeof(ini), "%s@%s", PICK(upats), PICK(dpats));
			snprintf(resp, sizeof(resp), "%s@%s", PICK(upats), PICK(dpats));
			rs[i] = rule((int64_t)i + 1, rand() % 4, ini, resp,
				     rand() % 2 ? POLICY_DENY : POLICY_ALLOW);
			rs[i].max_validity = (uint32_t)(rand() % 3) * 100;
			rs[i].reuse = rand() % 2;
			rs[i].group_ok = rand() % 2;
		}
		policy_set_t *s = NULL;
		CU_ASSERT_EQUAL_FATAL(policy_set_new(rs, n, &defaults_allow, &s),
				      KMS_EOK);
		for (int q = 0; q < 200; q++) {
			char i[64], r[64];
			snprintf(i, sizeof(i), "%s@%s", PICK(users), PICK(doms));
			snprintf(r, sizeof(r), "%s@%s", PICK(users), PICK(doms));
			policy_decision_t a, b;
			policy_decide(s, i, strlen(i), r, strlen(r), &a);
			policy_decide_linear(s, i, strlen(i), r, strlen(r), &b);
			CU_ASSERT_EQUAL(a.matched, b.matched);
			CU_ASSERT_EQUAL(a.rule_id, b.rule_id);
			CU_ASSERT_EQUAL(a.effect, b.effect);
			CU_ASSERT_EQUAL(a.max_validity, b.max_validity);
			CU_ASSERT_EQUAL(a.reuse, b.reuse);
			CU_ASSERT_EQUAL(a.group_ok, b.group_ok);
		}
		policy_set_free(s);
	}
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_rules_when_priorities_differ_then_highest_wins),
		UNIT_TEST(given_equal_priority_when_allow_and_deny_match_then_deny),
		UNIT_TEST(given_no_match_when_decided_then_defaults),
		UNIT_TEST(given_rule_terms_when_decided_then_validity_reuse_group),
		UNIT_TEST(given_sip_uri_patterns_when_set_built_then_used_as_nai),
		UNIT_TEST(given_random_rules_when_decided_then_same_as_linear),
		UNIT_END,
	};
	return unit_run("policy", tests);
}
