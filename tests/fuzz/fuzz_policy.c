/*
 * libFuzzer harness for policy rule matching (policy/rules.c): wildcard
 * group patterns against identities, both from the input, through the
 * rule set's domain index.  fuzz_identity covers the pattern parsers
 * (normalise, canon, check) and the matcher against one fixed identity;
 * this one fuzzes pattern and identity together and the index built over
 * them.
 *
 * Input, lines ending in '\n': the initiator, the responder, then up to
 * RULES_MAX rules "F initiator-pattern responder-pattern" (F: one byte,
 * bit 0 deny, bits 1-2 priority, bit 3 group tickets).  Checked:
 * policy_decide() (indexed) and policy_decide_linear() (every rule) give
 * the same decision; policy_allows() answers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "policy/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RULES_MAX 8
#define LINE_MAX_ (IDENTITY_MAX + 1)

static policy_rule_t rules[RULES_MAX];

/* The next line of [*p, end) into out (cut to cap - 1 bytes); false at the end. */
static bool line(const char **p, const char *end, char *out, size_t cap)
{
	if (*p >= end) {
		return false;
	}
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl != NULL ? nl : end) - *p);
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(out, *p, k);
	out[k] = '\0';
	*p += n + (nl != NULL);
	return true;
}

/* s cut to cap - 1 bytes. */
static void copy(char *out, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);
	memcpy(out, s, n);
	out[n] = '\0';
}

static size_t parse_rules(const char *p, const char *end)
{
	char l[2 * LINE_MAX_ + 2];
	size_t n = 0;
	while (n < RULES_MAX && line(&p, end, l, sizeof(l))) {
		char *sp = l[0] != '\0' ? strchr(l + 1, ' ') : NULL;
		if (sp == NULL) {
			continue;
		}
		*sp = '\0';
		policy_rule_t *r = &rules[n];
		memset(r, 0, sizeof(*r));
		unsigned f = (unsigned char)l[0];
		r->id = (int64_t)n + 1;
		r->effect = (f & 1) ? POLICY_DENY : POLICY_ALLOW;
		r->priority = (int)((f >> 1) & 3);
		r->group_ok = (f & 8) != 0;
		r->max_validity = f;
		copy(r->initiator, sizeof(r->initiator), l + 1);
		copy(r->responder, sizeof(r->responder), sp + 1);
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const policy_defaults_t def = {
		POLICY_ALLOW, 60, true, false, false, false
	};
	char ini[LINE_MAX_], rsp[LINE_MAX_];
	const char *p = (const char *)data, *end = p + size;
	if (size > 8192 || !line(&p, end, ini, sizeof(ini)) ||
	    !line(&p, end, rsp, sizeof(rsp))) {
		return 0;
	}
	size_t n = parse_rules(p, end);
	policy_set_t *set = NULL;
	if (policy_set_new(rules, n, &def, &set) != KMS_EOK) {
		return 0;
	}
	policy_decision_t a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	policy_decide(set, ini, strlen(ini), rsp, strlen(rsp), &a);
	policy_decide_linear(set, ini, strlen(ini), rsp, strlen(rsp), &b);
	if (a.matched != b.matched || a.effect != b.effect ||
	    (a.matched && a.rule_id != b.rule_id) || a.max_validity != b.max_validity ||
	    a.reuse != b.reuse || a.group_ok != b.group_ok ||
	    a.init_keys != b.init_keys) {
		abort(); /* the index must decide as the linear scan does */
	}
	(void)policy_allows(&a, rsp, strlen(rsp));
	policy_set_free(set);
	return 0;
}
