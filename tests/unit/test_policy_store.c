/* The policy rules store: add / list / load / remove, the change counter. */
#include <string.h>

#include "common/errcode.h"
#include "kms/keyring.h"
#include "kms/policy_store.h"
#include "kms/psk_static.h"
#include "sql/db.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];

static void setup(void)
{
	uint8_t kek[KEYRING_KEK_LEN] = { 1 };
	unit_tmpdir(dir);
	unit_store(db_path, sizeof(db_path), dir, "kms.db");
	/* kmsctl init creates the store with its first key. */
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
}

static policy_rule_t make(int prio, const char *from, const char *to, policy_effect_t e)
{
	policy_rule_t r;
	memset(&r, 0, sizeof(r));
	r.priority = prio;
	snprintf(r.initiator, sizeof(r.initiator), "%s", from);
	snprintf(r.responder, sizeof(r.responder), "%s", to);
	r.effect = e;
	return r;
}

typedef struct {
	policy_rule_t seen[8];
	size_t n;
} seen_t;

static int collect(void *ctx, const policy_rule_t *r)
{
	seen_t *s = ctx;
	if (s->n < 8) {
		s->seen[s->n] = *r;
	}
	s->n++;
	return KMS_EOK;
}

static void given_rules_added_when_listed_and_loaded_then_same_rules_in_order(void)
{
	setup();
	int64_t v0 = -1, v1 = -1, v2 = -1, id1 = 0, id2 = 0;
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v0), KMS_EOK);
	policy_rule_t a = make(1, "*@a.example", "*@b.example", POLICY_ALLOW);
	a.max_validity = 600;
	a.reuse = true;
	a.group_ok = true;
	a.init_keys = true;
	a.responder_keys = true;
	/* Quotes and SQL text are data: bound, never spliced. */
	policy_rule_t b = make(7, "x';DROP@a.example", "bob@b.example", POLICY_DENY);
	CU_ASSERT_EQUAL(policy_store_add(db_path, &a, &id1), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v1), KMS_EOK);
	CU_ASSERT_EQUAL(policy_store_add(db_path, &b, &id2), KMS_EOK);
	CU_ASSERT_EQUAL(v1, v0 + 1);
	CU_ASSERT_NOT_EQUAL(id1, id2);
	seen_t s = { 0 };
	CU_ASSERT_EQUAL(policy_store_list(db_path, collect, &s), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	/* Highest priority first. */
	CU_ASSERT_EQUAL(s.seen[0].id, id2);
	CU_ASSERT_STRING_EQUAL(s.seen[0].initiator, "x';DROP@a.example");
	CU_ASSERT_EQUAL(s.seen[0].effect, POLICY_DENY);
	CU_ASSERT_EQUAL(s.seen[1].id, id1);
	CU_ASSERT_EQUAL(s.seen[1].max_validity, 600);
	CU_ASSERT_TRUE(s.seen[1].reuse && s.seen[1].group_ok && s.seen[1].init_keys);
	/* The two Responder terms are stored apart from each other. */
	CU_ASSERT_FALSE(s.seen[1].responder_rand);
	CU_ASSERT_TRUE(s.seen[1].responder_keys);
	CU_ASSERT_FALSE(s.seen[0].responder_rand || s.seen[0].responder_keys);
	CU_ASSERT_EQUAL(s.seen[1].priority, 1);

	policy_defaults_t def = {
		POLICY_DENY, 0, false, false, false, false, false, false
	};
	policy_set_t *set = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_store_load(db_path, &def, &set), KMS_EOK);
	CU_ASSERT_EQUAL(policy_set_count(set), 2);
	policy_decision_t d;
	policy_decide(set, "alice@a.example", 15, "carol@b.example", 15, &d);
	CU_ASSERT_TRUE(d.matched);
	CU_ASSERT_EQUAL(d.rule_id, id1);
	CU_ASSERT_TRUE(d.init_keys);
	CU_ASSERT_FALSE(d.responder_rand);
	CU_ASSERT_TRUE(d.responder_keys);
	policy_decide(set, "alice@c.example", 15, "carol@b.example", 15, &d);
	CU_ASSERT_FALSE(d.matched);
	CU_ASSERT_EQUAL(d.effect, POLICY_DENY);
	policy_set_free(set);

	CU_ASSERT_EQUAL(policy_store_remove(db_path, id1), KMS_EOK);
	CU_ASSERT_EQUAL(policy_store_remove(db_path, id1), KMS_ENOENT);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v2), KMS_EOK);
	/* PostgreSQL's statement-level trigger also counts the DELETE that
	 * found nothing (a needless reload, never a missed one). */
	CU_ASSERT_EQUAL(v2, v1 + (unit_store_pg() ? 3 : 2));
	unit_rmdir(dir);
}

static void given_bad_rules_when_added_then_einval_and_nothing_stored(void)
{
	setup();
	static const char *const bad[] = {
		"", "a@", "@b", "ab", "a b@c", "a\tb@c", "noat"
	};
	int64_t id = 0, v0 = 0, v1 = 0;
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v0), KMS_EOK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		policy_rule_t r = make(0, bad[i], "bob@b.example", POLICY_ALLOW);
		CU_ASSERT_EQUAL(policy_store_add(db_path, &r, &id), KMS_EINVAL);
		r = make(0, "bob@b.example", bad[i], POLICY_ALLOW);
		CU_ASSERT_EQUAL(policy_store_add(db_path, &r, &id), KMS_EINVAL);
	}
	policy_rule_t r = make(POLICY_STORE_PRIORITY_MAX + 1, "a@b", "c@d", POLICY_ALLOW);
	CU_ASSERT_EQUAL(policy_store_add(db_path, &r, &id), KMS_EINVAL);
	r.priority = POLICY_STORE_PRIORITY_MIN - 1;
	CU_ASSERT_EQUAL(policy_store_add(db_path, &r, &id), KMS_EINVAL);
	r.priority = POLICY_STORE_PRIORITY_MIN;
	CU_ASSERT_EQUAL(policy_store_add(db_path, &r, &id), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v1), KMS_EOK);
	CU_ASSERT_EQUAL(v1, v0 + 1);
	unit_rmdir(dir);
}

/* Raw SQL on kms.db (for the Zk peers table, whose store is in libkmszk). */
static int raw_sql(const char *sql)
{
	sqldb_t *db = NULL;
	int ret = sqldb_open(db_path, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_exec(db, sql);
	}
	sqldb_close(db);
	return ret;
}

/*
 * kmsd reloads when kms_db_version() moves: every change of keys, PSK users,
 * rules or peers must move it, and reading must not.
 */
static void given_any_store_change_when_versioned_then_kms_db_version_moves(void)
{
	setup();
	uint8_t kek[KEYRING_KEK_LEN] = { 1 };
	uint8_t key[16] = { 2 };
	const char *ids[] = { "erin@example.org" };
	int64_t v[8];
	uint32_t id = 0;
	size_t n = 0;
	keyring_info_t keys[4];
	CU_ASSERT_EQUAL_FATAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	n++;
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT_EQUAL(v[n], v[n - 1]); /* reading changes nothing */
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "erin", key, sizeof(key), ids, 1, 0),
			KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	n++;
	CU_ASSERT_EQUAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	n++;
	CU_ASSERT_EQUAL(keyring_list(db_path, keys, 4, &(size_t){ 0 }), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_retire(db_path, keys[1].id), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	n++;
	CU_ASSERT_EQUAL(psk_static_remove(db_path, "erin"), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	n++;
	policy_rule_t r = make(1, "*@a.example", "*@b.example", POLICY_ALLOW);
	int64_t rid = 0;
	CU_ASSERT_EQUAL(policy_store_add(db_path, &r, &rid), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	n++;
	CU_ASSERT_EQUAL(
	    raw_sql(unit_store_pg()
			? "INSERT INTO zk_peers (kms_id, url, ca_file, "
			  "cert_name, wrapped, key_len, created) VALUES "
			  "('kms2', 'https://kms2.example:8443/zk', "
			  "'/etc/ca.pem', 'kms2.example', "
			  "decode(repeat('00', 24), 'hex'), 16, 0)"
			: "INSERT INTO zk_peers (kms_id, url, ca_file, "
			  "cert_name, wrapped, key_len, created) VALUES "
			  "('kms2', 'https://kms2.example:8443/zk', "
			  "'/etc/ca.pem', 'kms2.example', zeroblob(24), 16, 0)"),
	    KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	n++;
	CU_ASSERT_EQUAL(raw_sql("DELETE FROM zk_peers WHERE kms_id = 'kms2'"), KMS_EOK);
	CU_ASSERT_EQUAL(kms_db_version(db_path, &v[n]), KMS_EOK);
	CU_ASSERT(v[n] > v[n - 1]);
	CU_ASSERT_EQUAL(kms_db_version("/nonexistent/kms.db", &v[0]), KMS_ENOENT);
	unit_rmdir(dir);
}

static void given_no_store_when_used_then_enoent(void)
{
	char missing[UNIT_PATH_MAX];
	unit_tmpdir(dir);
	unit_path(missing, dir, "none.db");
	int64_t v = 0, id = 0;
	policy_rule_t r = make(0, "a@b", "c@d", POLICY_ALLOW);
	policy_defaults_t def = {
		POLICY_ALLOW, 0, true, true, false, false, false, false
	};
	policy_set_t *set = NULL;
	CU_ASSERT_EQUAL(kms_db_version(missing, &v), KMS_ENOENT);
	CU_ASSERT_EQUAL(policy_store_add(missing, &r, &id), KMS_ENOENT);
	CU_ASSERT_EQUAL(policy_store_load(missing, &def, &set), KMS_ENOENT);
	CU_ASSERT_PTR_NULL(set);
	unit_rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_rules_added_when_listed_and_loaded_then_same_rules_in_order),
		UNIT_TEST(given_bad_rules_when_added_then_einval_and_nothing_stored),
		UNIT_TEST(
		    given_any_store_change_when_versioned_then_kms_db_version_moves),
		UNIT_TEST(given_no_store_when_used_then_enoent),
		UNIT_END,
	};
	return unit_run("policy_store", tests);
}
