/*
 * The ticket policy rules in kms.db (table policy_rules, sql/kms_002.sql):
 * kmsd loads them into an immutable policy_set_t at start and on SIGHUP;
 * kmsctl adds, lists and removes them.
 */
#ifndef KMS_KMS_POLICY_STORE_H
#define KMS_KMS_POLICY_STORE_H

#include <stdint.h>

#include "policy/rules.h"

#define POLICY_STORE_PRIORITY_MIN (-1000000)
#define POLICY_STORE_PRIORITY_MAX 1000000

/* Load every rule of db_path over def.  KMS_ENOENT when there is no store. */
int policy_store_load(const char *db_path, const policy_defaults_t *def,
		      policy_set_t **out);

/* Check a rule pattern: user@domain ('*' allowed, no spaces or controls) or
 * a sip:/sips: URI or pattern (stored as user@domain, identity_pattern_canon);
 * tel: and other schemes are refused. */
int policy_store_check_pattern(const char *s);

/* Add r (its id is ignored); *id receives the new rule's id. */
int policy_store_add(const char *db_path, const policy_rule_t *r, int64_t *id);

/* Remove rule id; KMS_ENOENT when there is none. */
int policy_store_remove(const char *db_path, int64_t id);

/* Call fn for each rule, by descending priority then id; stops on non-EOK. */
int policy_store_list(const char *db_path, int (*fn)(void *ctx, const policy_rule_t *r),
		      void *ctx);

/*
 * The generation of everything kmsd loads from kms.db - rules, master keys,
 * PSK users, Zk peers: the sum of the rules' counter (policy_version, +1 per
 * rule added, removed or updated) and store_version (sql/kms_004.sql), both
 * only ever incremented, so any change moves it.
 */
int kms_db_version(const char *db_path, int64_t *version);

#endif
