/*
 * Ticket policy rules: which initiator may ask for a ticket naming which
 * responder, and on what terms.  A rule pairs an initiator pattern with a
 * responder pattern (user or group identities, policy/identity.h); among
 * the rules that match, the highest priority wins and at equal priority
 * deny overrides allow (then the lowest id).  No match: the defaults.
 * A policy_set_t is an immutable snapshot, safe to share between threads.
 */
#ifndef KMS_POLICY_RULES_H
#define KMS_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/identity.h"

typedef enum {
	POLICY_ALLOW = 0,
	POLICY_DENY = 1,
} policy_effect_t;

typedef struct {
	int64_t id;
	int priority; /* higher first */
	char initiator[IDENTITY_MAX + 1];
	char responder[IDENTITY_MAX + 1];
	policy_effect_t effect;
	uint32_t max_validity;	/* seconds; 0 = the configured default */
	bool reuse;		/* may the ticket be reused (flag J) */
	bool group_ok;		/* may the ticket name a group responder */
	bool init_keys;		/* may the Initiator supply session keys (flag L) */
	bool initiator_tickets; /* may its own tickets (flag D = 0) be resolved */
	bool responder_rand;	/* may the Responder generate RANDRr (flag G) */
	bool responder_keys;	/* may the Responder supply session keys (flag M) */
} policy_rule_t;

/* What applies when no rule matches. */
typedef struct {
	policy_effect_t effect;
	uint32_t max_validity; /* 0 = the configured default */
	bool reuse;
	bool group_ok;
	bool init_keys;
	bool initiator_tickets;
	bool responder_rand;
	bool responder_keys;
} policy_defaults_t;

typedef struct {
	bool matched;	 /* false: the defaults applied */
	int64_t rule_id; /* the deciding rule when matched */
	policy_effect_t effect;
	uint32_t max_validity;
	bool reuse;
	bool group_ok;
	bool init_keys;
	bool initiator_tickets;
	bool responder_rand;
	bool responder_keys;
} policy_decision_t;

typedef struct policy_set policy_set_t;

/*
 * Build a snapshot of n rules (copied) over def.  KMS_EOK or
 * KMS_ENOMEM/EINVAL.  The copies' patterns are in their stored form
 * (identity_pattern_canon): "sip:*@Example.org" is used as
 * "*@example.org"; a pattern without one (a tel: URI, left in a store by
 * an older kmsctl) is kept and matched as it is, as before.
 */
int policy_set_new(const policy_rule_t *rules, size_t n, const policy_defaults_t *def,
		   policy_set_t **out);
void policy_set_free(policy_set_t *set);
size_t policy_set_count(const policy_set_t *set);
const policy_rule_t *policy_set_rule(const policy_set_t *set, size_t i);

/*
 * Decide for initiator (a user identity) asking for responder (a user or
 * group identity).  Looks only at the rules whose initiator pattern has the
 * initiator's literal domain and at those with a '*' in the domain.
 */
void policy_decide(const policy_set_t *set, const char *initiator, size_t ilen,
		   const char *responder, size_t rlen, policy_decision_t *out);

/*
 * Does decision d (for responder, rlen bytes) allow naming that responder
 * in a ticket?  Allow, and for a group responder (one with a '*') group
 * tickets allowed.
 */
bool policy_allows(const policy_decision_t *d, const char *responder, size_t rlen);

/* The same by a linear scan of every rule; the reference for tests. */
void policy_decide_linear(const policy_set_t *set, const char *initiator, size_t ilen,
			  const char *responder, size_t rlen, policy_decision_t *out);

#endif
