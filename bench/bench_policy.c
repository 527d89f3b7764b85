/*
 * Microbenchmark: policy rule evaluation (policy/rules.h) with 10, 1,000
 * and 100,000 rules, indexed (policy_decide) next to a linear scan
 * (policy_decide_linear), one core.
 *
 * Rule set of N rules: N / 10 organisations org<k>.example, each with ten
 * rules (user -> user, user -> group, a deny, wildcard initiators inside
 * the domain), plus (from 100 rules on) ten rules whose initiator domain
 * is a wildcard ("*@*.partner0.example") that every lookup also checks.
 * Queries: random initiator and responder in random organisations.
 * Usage: bench_policy [queries]   (default 200000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errcode.h"
#include "policy/rules.h"

#define WILD_RULES 10

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_rule(policy_rule_t *r, int64_t id, const char *ini, const char *resp,
		      policy_effect_t eff, int prio)
{
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->priority = prio;
	snprintf(r->initiator, sizeof(r->initiator), "%s", ini);
	snprintf(r->responder, sizeof(r->responder), "%s", resp);
	r->effect = eff;
	r->group_ok = true;
}

static policy_rule_t *build(size_t n, size_t *count)
{
	size_t wild = n >= 10 * WILD_RULES ? WILD_RULES : 0;
	size_t orgs = (n - wild) / 10;
	policy_rule_t *v = calloc(orgs * 10 + wild, sizeof(*v));
	size_t k = 0;
	char a[128], b[128];
	if (v == NULL) {
		return NULL;
	}
	for (size_t o = 0; o < orgs; o++) {
		size_t peer = (o + 1) % orgs;
		for (int j = 0; j < 10; j++) {
			switch (j % 5) {
			case 0:
				snprintf(a, sizeof(a), "user%d@org%zu.example", j, o);
				snprintf(b, sizeof(b), "*@org%zu.example", o);
				break;
			case 1:
				snprintf(a, sizeof(a), "*.ops@org%zu.example", o);
				snprintf(b, sizeof(b), "*@org%zu.example", peer);
				break;
			case 2:
				snprintf(a, sizeof(a), "user%d@org%zu.example", j, o);
				snprintf(b, sizeof(b), "*.dept%d@org%zu.example", j,
					 peer);
				break;
			case 3:
				snprintf(a, sizeof(a), "*@org%zu.example", o);
				snprintf(b, sizeof(b), "ceo@org%zu.example", peer);
				break;
			default:
				snprintf(a, sizeof(a), "*@org%zu.example", o);
				snprintf(b, sizeof(b), "*@org%zu.example", o);
				break;
			}
			make_rule(&v[k], (int64_t)k + 1, a, b,
				  j == 3 ? POLICY_DENY : POLICY_ALLOW, j % 3);
			k++;
		}
	}
	for (size_t j = 0; j < wild; j++) {
		snprintf(a, sizeof(a), "*@*.partner%zu.example", j);
		make_rule(&v[k], (int64_t)k + 1, a, "*@*", POLICY_ALLOW, 0);
		k++;
	}
	*count = k;
	return v;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 10, 1000, 100000 };
	size_t queries = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	const policy_defaults_t def = { POLICY_DENY, 0,	    false, false,
					false,	     false, false, false };
	if (queries == 0 || queries > 100000000) {
		fprintf(stderr, "usage: bench_policy [queries (1..1e8)]\n");
		return 2;
	}
	printf("%8s %14s %14s %14s %10s\n", "rules", "indexed ns/op", "linear ns/op",
	       "ratio", "mismatch");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = 0;
		policy_rule_t *rules = build(sizes[s], &n);
		policy_set_t *set = NULL;
		if (rules == NULL || policy_set_new(rules, n, &def, &set) != KMS_EOK) {
			fprintf(stderr, "bench_policy: out of memory\n");
			return 1;
		}
		size_t orgs = n >= 10 * WILD_RULES ? (n - WILD_RULES) / 10 : n / 10;
		/* Fewer linear queries for big sets: the scan is the slow one. */
		size_t lq = queries / (n >= 100000 ? 100 : 1);
		char(*ini)[96] = malloc(queries * sizeof(*ini));
		char(*resp)[96] = malloc(queries * sizeof(*resp));
		if (ini == NULL || resp == NULL) {
			return 1;
		}
		for (size_t q = 0; q < queries; q++) {
			snprintf(ini[q], sizeof(ini[q]), "user%u@org%u.example", rnd(10),
				 rnd((uint32_t)orgs));
			snprintf(resp[q], sizeof(resp[q]), "%s@org%u.example",
				 rnd(2) ? "ceo" : "x.dept2", rnd((uint32_t)orgs));
		}
		policy_decision_t d, l;
		size_t mismatch = 0, allowed = 0;
		double t0 = now_s();
		for (size_t q = 0; q < queries; q++) {
			policy_decide(set, ini[q], strlen(ini[q]), resp[q],
				      strlen(resp[q]), &d);
			allowed += d.effect == POLICY_ALLOW;
		}
		double t1 = now_s();
		for (size_t q = 0; q < lq; q++) {
			policy_decide_linear(set, ini[q], strlen(ini[q]), resp[q],
					     strlen(resp[q]), &l);
			policy_decide(set, ini[q], strlen(ini[q]), resp[q],
				      strlen(resp[q]), &d);
			mismatch += d.rule_id != l.rule_id || d.effect != l.effect;
		}
		double t2 = now_s();
		double idx_ns = (t1 - t0) * 1e9 / (double)queries;
		/* The second loop also ran the indexed lookup once per query. */
		double lin_ns = (t2 - t1) * 1e9 / (double)lq - idx_ns;
		printf("%8zu %14.0f %14.0f %13.0fx %10zu   (%zu of %zu allowed)\n", n,
		       idx_ns, lin_ns, lin_ns / idx_ns, mismatch, allowed, queries);
		free(ini);
		free(resp);
		policy_set_free(set);
		free(rules);
	}
	return 0;
}
