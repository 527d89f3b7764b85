#include "policy/rules.h"

#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"

typedef struct {
	uint64_t hash;
	uint32_t rule;
} dom_entry_t;

struct policy_set {
	policy_rule_t *rules;
	size_t n;
	policy_defaults_t def;
	dom_entry_t *dom; /* literal-domain rules sorted by (hash, rule) */
	size_t ndom;
	uint32_t *wild; /* rules whose initiator domain has a '*' (or is malformed) */
	size_t nwild;
};

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* The domain part (after the last '@') of s, or NULL. */
static const char *domain_of(const char *s, size_t len, size_t *dlen)
{
	for (size_t i = len; i > 0; i--) {
		if (s[i - 1] == '@') {
			*dlen = len - i;
			return s + i;
		}
	}
	return NULL;
}

static uint64_t domain_hash(const char *d, size_t len)
{
	uint64_t h = 14695981039346656037u;
	for (size_t i = 0; i < len; i++) {
		h ^= lower((unsigned char)d[i]);
		h *= 1099511628211u;
	}
	return h;
}

static bool domain_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen) {
		return false;
	}
	for (size_t i = 0; i < alen; i++) {
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) {
			return false;
		}
	}
	return true;
}

/*
 * A rule pattern in its stored form (identity_pattern_canon: a sip: URI
 * pattern becomes its NAI form).  One without (a tel: URI, malformed) is
 * kept and matched as it is, as before.
 */
static void canon_in_place(char p[IDENTITY_MAX + 1])
{
	char c[IDENTITY_MAX + 1];
	if (identity_pattern_canon(p, c, sizeof(c), NULL) == KMS_EOK) {
		memcpy(p, c, strlen(c) + 1);
	}
}

static int cmp_dom(const void *a, const void *b)
{
	const dom_entry_t *x = a, *y = b;
	if (x->hash != y->hash) {
		return x->hash < y->hash ? -1 : 1;
	}
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

int policy_set_new(const policy_rule_t *rules, size_t n, const policy_defaults_t *def,
		   policy_set_t **out)
{
	if (out == NULL || def == NULL || (n > 0 && rules == NULL) || n > UINT32_MAX) {
		return KMS_EINVAL;
	}
	policy_set_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return KMS_ENOMEM;
	}
	s->def = *def;
	s->n = n;
	if (n > 0) {
		s->rules = malloc(n * sizeof(*s->rules));
		s->dom = malloc(n * sizeof(*s->dom));
		s->wild = malloc(n * sizeof(*s->wild));
		if (s->rules == NULL || s->dom == NULL || s->wild == NULL) {
			policy_set_free(s);
			return KMS_ENOMEM;
		}
		memcpy(s->rules, rules, n * sizeof(*s->rules));
	}
	for (size_t i = 0; i < n; i++) {
		policy_rule_t *r = &s->rules[i];
		r->initiator[IDENTITY_MAX] = '\0';
		r->responder[IDENTITY_MAX] = '\0';
		canon_in_place(r->initiator);
		canon_in_place(r->responder);
		size_t dlen = 0;
		const char *d = domain_of(r->initiator, strlen(r->initiator), &dlen);
		if (d == NULL || memchr(d, '*', dlen) != NULL) {
			s->wild[s->nwild++] = (uint32_t)i;
		} else {
			s->dom[s->ndom++] =
			    (dom_entry_t){ domain_hash(d, dlen), (uint32_t)i };
		}
	}
	if (s->ndom > 1) {
		qsort(s->dom, s->ndom, sizeof(*s->dom), cmp_dom);
	}
	*out = s;
	return KMS_EOK;
}

void policy_set_free(policy_set_t *set)
{
	if (set == NULL) {
		return;
	}
	free(set->rules);
	free(set->dom);
	free(set->wild);
	free(set);
}

size_t policy_set_count(const policy_set_t *set)
{
	return set != NULL ? set->n : 0;
}

const policy_rule_t *policy_set_rule(const policy_set_t *set, size_t i)
{
	return set != NULL && i < set->n ? &set->rules[i] : NULL;
}

/* Does rule r beat the current best (NULL: none yet)? */
static bool better(const policy_rule_t *r, const policy_rule_t *best)
{
	if (best == NULL || r->priority != best->priority) {
		return best == NULL || r->priority > best->priority;
	}
	if (r->effect != best->effect) {
		return r->effect == POLICY_DENY;
	}
	return r->id < best->id;
}

static void consider(const policy_rule_t *r, const char *ini, size_t ilen,
		     const char *resp, size_t rlen, const policy_rule_t **best)
{
	if (!better(r, *best)) {
		return;
	}
	if (identity_match(r->initiator, strlen(r->initiator), ini, ilen) &&
	    identity_match(r->responder, strlen(r->responder), resp, rlen)) {
		*best = r;
	}
}

static void fill(const policy_set_t *set, const policy_rule_t *best,
		 policy_decision_t *out)
{
	memset(out, 0, sizeof(*out));
	if (best == NULL) {
		const policy_defaults_t *d = &set->def;
		out->rule_id = -1;
		out->effect = d->effect;
		out->max_validity = d->max_validity;
		out->reuse = d->reuse;
		out->group_ok = d->group_ok;
		out->init_keys = d->init_keys;
		out->initiator_tickets = d->initiator_tickets;
		out->responder_rand = d->responder_rand;
		out->responder_keys = d->responder_keys;
		return;
	}
	out->matched = true;
	out->rule_id = best->id;
	out->effect = best->effect;
	out->max_validity = best->max_validity;
	out->reuse = best->reuse;
	out->group_ok = best->group_ok;
	out->init_keys = best->init_keys;
	out->initiator_tickets = best->initiator_tickets;
	out->responder_rand = best->responder_rand;
	out->responder_keys = best->responder_keys;
}

void policy_decide(const policy_set_t *set, const char *initiator, size_t ilen,
		   const char *responder, size_t rlen, policy_decision_t *out)
{
	const policy_rule_t *best = NULL;
	if (set == NULL) {
		*out = (policy_decision_t){ .rule_id = -1,
					    .effect = POLICY_ALLOW,
					    .reuse = true,
					    .group_ok = true };
		return;
	}
	size_t dlen = 0;
	const char *d = domain_of(initiator, ilen, &dlen);
	if (d != NULL && set->ndom > 0) {
		uint64_t h = domain_hash(d, dlen);
		size_t lo = 0, hi = set->ndom;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (set->dom[mid].hash < h) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		for (size_t i = lo; i < set->ndom && set->dom[i].hash == h; i++) {
			const policy_rule_t *r = &set->rules[set->dom[i].rule];
			size_t rdl = 0;
			const char *rd =
			    domain_of(r->initiator, strlen(r->initiator), &rdl);
			if (domain_eq(rd, rdl, d, dlen)) {
				consider(r, initiator, ilen, responder, rlen, &best);
			}
		}
	}
	for (size_t i = 0; i < set->nwild; i++) {
		consider(&set->rules[set->wild[i]], initiator, ilen, responder, rlen,
			 &best);
	}
	fill(set, best, out);
}

bool policy_allows(const policy_decision_t *d, const char *responder, size_t rlen)
{
	if (d->effect != POLICY_ALLOW) {
		return false;
	}
	return d->group_ok || memchr(responder, '*', rlen) == NULL;
}

void policy_decide_linear(const policy_set_t *set, const char *initiator, size_t ilen,
			  const char *responder, size_t rlen, policy_decision_t *out)
{
	const policy_rule_t *best = NULL;
	for (size_t i = 0; i < set->n; i++) {
		consider(&set->rules[i], initiator, ilen, responder, rlen, &best);
	}
	fill(set, best, out);
}
