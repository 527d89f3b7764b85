/* Static PSK users: add / lookup / remove / expiry, identities, SQL text. */
#include <pthread.h>
#include <string.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/psk.h"
#include "kms/psk_static.h"
#include "sql/db.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];
static uint8_t kek[PSK_STATIC_KEK_LEN];
static uint8_t key16[16], key32[32];

static void setup(void)
{
	unit_tmpdir(dir);
	unit_store(db_path, sizeof(db_path), dir, "kms.db");
	for (size_t i = 0; i < sizeof(kek); i++) {
		kek[i] = (uint8_t)(0x40 + i);
		key32[i] = (uint8_t)(0x80 + i);
	}
	for (size_t i = 0; i < sizeof(key16); i++) {
		key16[i] = (uint8_t)(0x10 + i);
	}
}

static int add1(const char *psk_id, const char *id, const uint8_t *key, size_t len,
		int64_t expires)
{
	const char *ids[1] = { id };
	return psk_static_add(db_path, kek, psk_id, key, len, ids, 1, expires);
}

static int lookup(kms_psk_source_t *src, const char *psk_id, kms_psk_t *out)
{
	return src->lookup(src, (const uint8_t *)psk_id, strlen(psk_id), out);
}

static int sql_int(const char *sql)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int v = -1;
	if (sqldb_open(db_path, 0, &db) == KMS_EOK &&
	    sqldb_prepare(db, sql, &st) == KMS_EOK && sqldb_step(st) == SQLDB_ROW) {
		v = sqldb_column_int(st, 0);
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return v;
}

static void given_added_user_when_lookup_then_key_and_identities(void)
{
	setup();
	const char *ids[2] = { "alice@example.org", "alice.work@example.org" };
	CU_ASSERT_EQUAL_FATAL(
	    psk_static_add(db_path, kek, "alice@example.org", key16, 16, ids, 2, 0),
	    KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(add1("bob", "bob@example.org", key32, 32, 0), KMS_EOK);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	CU_ASSERT_EQUAL(psk_static_size(src), 2);
	kms_psk_t psk;
	CU_ASSERT_EQUAL_FATAL(lookup(src, "alice@example.org", &psk), KMS_EOK);
	CU_ASSERT_EQUAL(psk.key_len, 16);
	CU_ASSERT(secmem_eq(psk.key, key16, 16));
	CU_ASSERT_EQUAL(psk.nids, 2);
	CU_ASSERT_EQUAL(psk.expires, 0);
	CU_ASSERT(kms_psk_has_identity(&psk, (const uint8_t *)"alice@example.org", 17));
	CU_ASSERT(
	    kms_psk_has_identity(&psk, (const uint8_t *)"alice.work@example.org", 22));
	kms_psk_wipe(&psk);
	CU_ASSERT_EQUAL(psk.key_len, 0);
	CU_ASSERT_EQUAL(psk.key[0], 0);
	CU_ASSERT_EQUAL_FATAL(lookup(src, "bob", &psk), KMS_EOK);
	CU_ASSERT_EQUAL(psk.key_len, 32);
	CU_ASSERT(secmem_eq(psk.key, key32, 32));
	CU_ASSERT_EQUAL(psk.nids, 1);
	CU_ASSERT_STRING_EQUAL(psk.ids[0], "bob@example.org");
	kms_psk_wipe(&psk);
	src->free(src);
	unit_rmdir(dir);
}

static void given_psk_when_has_identity_then_exact_bytes_only(void)
{
	kms_psk_t psk;
	memset(&psk, 0, sizeof(psk));
	psk.nids = 1;
	strcpy(psk.ids[0], "carol@example.org");
	CU_ASSERT(kms_psk_has_identity(&psk, (const uint8_t *)"carol@example.org", 17));
	CU_ASSERT_FALSE(
	    kms_psk_has_identity(&psk, (const uint8_t *)"carol@example.org", 16));
	CU_ASSERT_FALSE(
	    kms_psk_has_identity(&psk, (const uint8_t *)"carol@example.orgX", 18));
	CU_ASSERT_FALSE(
	    kms_psk_has_identity(&psk, (const uint8_t *)"CAROL@example.org", 17));
	CU_ASSERT_FALSE(
	    kms_psk_has_identity(&psk, (const uint8_t *)"carol@example.org\0", 18));
	CU_ASSERT_FALSE(kms_psk_has_identity(&psk, (const uint8_t *)"", 0));
	CU_ASSERT_FALSE(kms_psk_has_identity(NULL, (const uint8_t *)"x", 1));
	CU_ASSERT_FALSE(kms_psk_has_identity(&psk, NULL, 3));
	psk.nids = 0;
	CU_ASSERT_FALSE(
	    kms_psk_has_identity(&psk, (const uint8_t *)"carol@example.org", 17));
	kms_psk_wipe(NULL);
}

static void given_unknown_or_partial_psk_id_when_lookup_then_eauth(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(
	    add1("alice@example.org", "alice@example.org", key16, 16, 0), KMS_EOK);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	memset(&psk, 0x5a, sizeof(psk));
	CU_ASSERT_EQUAL(lookup(src, "mallory@example.org", &psk), KMS_EAUTH);
	CU_ASSERT_EQUAL(lookup(src, "alice@example.or", &psk), KMS_EAUTH);
	CU_ASSERT_EQUAL(lookup(src, "alice@example.org ", &psk), KMS_EAUTH);
	CU_ASSERT_EQUAL(
	    src->lookup(src, (const uint8_t *)"alice@example.org\0", 18, &psk),
	    KMS_EAUTH);
	CU_ASSERT_EQUAL(src->lookup(src, (const uint8_t *)"a", 0, &psk), KMS_EAUTH);
	uint8_t big[PSK_STATIC_ID_MAX + 1];
	memset(big, 'a', sizeof(big));
	CU_ASSERT_EQUAL(src->lookup(src, big, sizeof(big), &psk), KMS_EAUTH);
	CU_ASSERT_EQUAL(psk.key[0], 0x5a); /* untouched on failure */
	src->free(src);
	unit_rmdir(dir);
}

#define T0 1700000000 /* the fake clock's wall time at the start */

static void given_expired_user_when_lookup_then_eauth_and_future_expiry_ok(void)
{
	setup();
	kms_clock_fake_start(0, T0);
	CU_ASSERT_EQUAL_FATAL(add1("old", "old@example.org", key16, 16, T0 - 10),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(add1("new", "new@example.org", key16, 16, T0 + 3600),
			      KMS_EOK);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	CU_ASSERT_EQUAL(lookup(src, "old", &psk), KMS_EAUTH);
	CU_ASSERT_EQUAL(lookup(src, "new", &psk), KMS_EOK);
	CU_ASSERT_EQUAL(psk.expires, T0 + 3600);
	kms_psk_wipe(&psk);
	src->free(src);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_fake_clock_when_expiry_reached_then_refused_from_that_second(void)
{
	setup();
	kms_clock_fake_start(0, T0);
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, T0 + 60),
			      KMS_EOK);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	/* Usable until the last second before its expiry (a real clock, years
	 * past T0, would refuse it at once)... */
	kms_clock_fake_advance(59 * 1000 + 999);
	CU_ASSERT_EQUAL(lookup(src, "alice", &psk), KMS_EOK);
	kms_psk_wipe(&psk);
	/* ...and refused from the expiry second on, by the same loaded table. */
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(lookup(src, "alice", &psk), KMS_EAUTH);
	src->free(src);
	/* Its creation time is the clock's at the add. */
	CU_ASSERT_EQUAL(sql_int("SELECT created - 1700000000 FROM psk_users "
				"WHERE psk_id = 'alice'"),
			0);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_removed_user_when_reloaded_then_gone_with_identities(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(add1("bob", "bob@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL(psk_static_remove(db_path, "alice"), KMS_EOK);
	CU_ASSERT_EQUAL(psk_static_remove(db_path, "alice"), KMS_ENOENT);
	CU_ASSERT_EQUAL(
	    sql_int("SELECT count(*) FROM psk_identities WHERE psk_id = 'alice'"), 0);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	CU_ASSERT_EQUAL(lookup(src, "alice", &psk), KMS_EAUTH);
	CU_ASSERT_EQUAL(lookup(src, "bob", &psk), KMS_EOK);
	kms_psk_wipe(&psk);
	src->free(src);
	/* The old table keeps working until freed: it is a snapshot. */
	unit_rmdir(dir);
}

static void given_taken_psk_id_when_add_then_eexist_and_store_unchanged(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL(add1("alice", "other@example.org", key32, 32, 0), KMS_EEXIST);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM psk_identities"), 1);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	CU_ASSERT_EQUAL(lookup(src, "alice", &psk), KMS_EOK);
	CU_ASSERT_EQUAL(psk.key_len, 16);
	kms_psk_wipe(&psk);
	src->free(src);
	unit_rmdir(dir);
}

static void given_bad_arguments_when_add_then_einval(void)
{
	setup();
	const char *ok[1] = { "a@b" };
	const char *dup[2] = { "a@b", "a@b" };
	const char *nine[9] = { "1@x", "2@x", "3@x", "4@x", "5@x",
				"6@x", "7@x", "8@x", "9@x" };
	const char *bad_ids[] = { "",	   "noat",     "@x",	"x@",
				  "a b@x", "*.dept@x", "a@b@c", "a\n@x" };
	char long_id[PSK_STATIC_ID_MAX + 2];
	memset(long_id, 'p', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", key16, 24, ok, 1, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", key16, 0, ok, 1, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", NULL, 16, ok, 1, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", key16, 16, ok, 0, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", key16, 16, dup, 2, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", key16, 16, nine, 9, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "p", key16, 16, nine, 8, 0),
			KMS_EOK);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "q", key16, 16, ok, 1, -1),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "", key16, 16, ok, 1, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, "a\tb", key16, 16, ok, 1, 0),
			KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, long_id, key16, 16, ok, 1, 0),
			KMS_EINVAL);
	long_id[PSK_STATIC_ID_MAX] = '\0'; /* exactly the cap */
	CU_ASSERT_EQUAL(psk_static_add(db_path, kek, long_id, key16, 16, ok, 1, 0),
			KMS_EOK);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		CU_ASSERT_EQUAL(
		    psk_static_add(db_path, kek, "r", key16, 16, &bad_ids[i], 1, 0),
		    KMS_EINVAL);
	}
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM psk_users"), 2);
	CU_ASSERT_EQUAL(psk_static_remove(db_path, ""), KMS_EINVAL);
	unit_rmdir(dir);
}

static void given_wrong_kek_when_open_or_add_then_eauth(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, 0), KMS_EOK);
	uint8_t other[PSK_STATIC_KEK_LEN];
	memcpy(other, kek, sizeof(other));
	other[0] ^= 0x80;
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL(psk_static_open(db_path, other, &src), KMS_EAUTH);
	CU_ASSERT_PTR_NULL(src);
	/* Adding under another KEK would leave a store that no longer loads. */
	const char *ids[1] = { "bob@example.org" };
	CU_ASSERT_EQUAL(psk_static_add(db_path, other, "bob", key16, 16, ids, 1, 0),
			KMS_EAUTH);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM psk_users"), 1);
	unit_rmdir(dir);
}

static void given_wrapped_key_copied_to_other_user_when_open_then_eauth(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(add1("bob", "bob@example.org", key32, 16, 0), KMS_EOK);
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &db), KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(db, "UPDATE psk_users SET wrapped = (SELECT wrapped "
				       "FROM psk_users WHERE psk_id = 'alice') "
				       "WHERE psk_id = 'bob'"),
			KMS_EOK);
	sqldb_close(db);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL(psk_static_open(db_path, kek, &src), KMS_EAUTH);
	unit_rmdir(dir);
}

static void given_no_store_when_open_then_enoent(void)
{
	UNIT_SQLITE_ONLY("a missing store file");
	setup();
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL(psk_static_open(db_path, kek, &src), KMS_ENOENT);
	CU_ASSERT_EQUAL(psk_static_open(NULL, kek, &src), KMS_EINVAL);
	CU_ASSERT_EQUAL(psk_static_size(NULL), 0);
	unit_rmdir(dir);
}

typedef struct {
	size_t n;
	char first[PSK_STATIC_ID_MAX + 1];
	int found_injection;
	size_t stop_after;
} list_ctx_t;

static int collect(void *ctx, const psk_static_info_t *u)
{
	list_ctx_t *c = ctx;
	if (c->n == 0) {
		strcpy(c->first, u->psk_id);
	}
	if (strcmp(u->psk_id, "x'); DROP TABLE psk_users;--") == 0 && u->nids == 1 &&
	    strcmp(u->ids[0], "x@example.org") == 0 && u->key_len == 16) {
		c->found_injection = 1;
	}
	c->n++;
	return c->stop_after != 0 && c->n >= c->stop_after ? KMS_ELIMIT : KMS_EOK;
}

static void given_sql_injection_psk_id_when_added_then_stored_literally(void)
{
	setup();
	const char *evil = "x'); DROP TABLE psk_users;--";
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(add1(evil, "x@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM psk_users"), 2);
	list_ctx_t c;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(psk_static_list(db_path, collect, &c), KMS_EOK);
	CU_ASSERT_EQUAL(c.n, 2);
	CU_ASSERT(c.found_injection);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	CU_ASSERT_EQUAL(lookup(src, evil, &psk), KMS_EOK);
	CU_ASSERT_EQUAL(lookup(src, "x", &psk), KMS_EAUTH);
	kms_psk_wipe(&psk);
	src->free(src);
	CU_ASSERT_EQUAL(psk_static_remove(db_path, evil), KMS_EOK);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM psk_users"), 1);
	unit_rmdir(dir);
}

static void given_many_users_when_listed_and_looked_up_then_sorted_and_all_found(void)
{
	setup();
	char id[64], nai[64];
	const int n = 60;
	for (int i = 0; i < n; i++) {
		/* Inserted out of order, with common prefixes of different lengths. */
		int k = (i * 37) % n;
		snprintf(id, sizeof(id), "u%d", k);
		snprintf(nai, sizeof(nai), "u%d@example.org", k);
		CU_ASSERT_EQUAL_FATAL(add1(id, nai, key16, 16, 0), KMS_EOK);
	}
	list_ctx_t c;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(psk_static_list(db_path, collect, &c), KMS_EOK);
	CU_ASSERT_EQUAL(c.n, (size_t)n);
	CU_ASSERT_STRING_EQUAL(c.first, "u0");
	memset(&c, 0, sizeof(c));
	c.stop_after = 3;
	CU_ASSERT_EQUAL(psk_static_list(db_path, collect, &c), KMS_ELIMIT);
	CU_ASSERT_EQUAL(c.n, 3);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	kms_psk_t psk;
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		snprintf(nai, sizeof(nai), "u%d@example.org", i);
		CU_ASSERT_EQUAL(lookup(src, id, &psk), KMS_EOK);
		CU_ASSERT_STRING_EQUAL(psk.ids[0], nai);
	}
	CU_ASSERT_EQUAL(lookup(src, "u60", &psk), KMS_EAUTH);
	kms_psk_wipe(&psk);
	src->free(src);
	unit_rmdir(dir);
}

typedef struct {
	kms_psk_source_t *src;
	int errors;
} thread_ctx_t;

static void *lookup_loop(void *arg)
{
	thread_ctx_t *t = arg;
	kms_psk_t psk;
	for (int i = 0; i < 20000; i++) {
		const char *id = (i & 1) ? "alice" : "bob";
		if (lookup(t->src, id, &psk) != KMS_EOK || psk.nids != 1 ||
		    psk.ids[0][0] != id[0]) {
			t->errors++;
		}
		if (lookup(t->src, "nobody", &psk) != KMS_EAUTH) {
			t->errors++;
		}
	}
	kms_psk_wipe(&psk);
	return NULL;
}

static void given_loaded_table_when_many_threads_look_up_then_consistent(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(add1("alice", "alice@example.org", key16, 16, 0), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(add1("bob", "bob@example.org", key32, 32, 0), KMS_EOK);
	kms_psk_source_t *src = NULL;
	CU_ASSERT_EQUAL_FATAL(psk_static_open(db_path, kek, &src), KMS_EOK);
	pthread_t th[4];
	thread_ctx_t ctx[4];
	for (int i = 0; i < 4; i++) {
		ctx[i].src = src;
		ctx[i].errors = 0;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, lookup_loop, &ctx[i]),
				      0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(ctx[i].errors, 0);
	}
	src->free(src);
	unit_rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_added_user_when_lookup_then_key_and_identities),
		UNIT_TEST(given_psk_when_has_identity_then_exact_bytes_only),
		UNIT_TEST(given_unknown_or_partial_psk_id_when_lookup_then_eauth),
		UNIT_TEST(given_expired_user_when_lookup_then_eauth_and_future_expiry_ok),
		UNIT_TEST(
		    given_fake_clock_when_expiry_reached_then_refused_from_that_second),
		UNIT_TEST(given_removed_user_when_reloaded_then_gone_with_identities),
		UNIT_TEST(given_taken_psk_id_when_add_then_eexist_and_store_unchanged),
		UNIT_TEST(given_bad_arguments_when_add_then_einval),
		UNIT_TEST(given_wrong_kek_when_open_or_add_then_eauth),
		UNIT_TEST(given_wrapped_key_copied_to_other_user_when_open_then_eauth),
		UNIT_TEST(given_no_store_when_open_then_enoent),
		UNIT_TEST(given_sql_injection_psk_id_when_added_then_stored_literally),
		UNIT_TEST(
		    given_many_users_when_listed_and_looked_up_then_sorted_and_all_found),
		UNIT_TEST(given_loaded_table_when_many_threads_look_up_then_consistent),
		UNIT_END,
	};
	return unit_run("psk_static", tests);
}
