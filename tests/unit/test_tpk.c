/*
 * Ticket protection keys of Initiators (kms/tpk.h), on SQLite or, via
 * tests/system/store_pg.sh, PostgreSQL: add / load / find, retire, delete,
 * the KEK and row binding of the wrapped key, ids, list without key bytes.
 */
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/tpk.h"
#include "sql/db.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

#define ALICE "alice@example.org"
#define BOB "bob@example.org"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];
static uint8_t kek[TPK_KEK_LEN];

static void setup(void)
{
	unit_tmpdir(dir);
	unit_store(db_path, sizeof(db_path), dir, "kms.db");
	for (size_t i = 0; i < sizeof(kek); i++) {
		kek[i] = (uint8_t)(0x40 + i);
	}
}

static int sql_exec(const char *sql)
{
	sqldb_t *db = NULL;
	int ret = sqldb_open(db_path, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_exec(db, sql);
	}
	sqldb_close(db);
	return ret;
}

static void given_two_keys_when_loaded_then_each_found_with_its_owner(void)
{
	uint8_t ka[MIKEY_TPK_LEN], kb[MIKEY_TPK_LEN], k[MIKEY_TPK_LEN];
	uint32_t ia = 0, ib = 0;
	const char *owner = NULL;
	tpk_set_t *set = NULL;
	setup();
	CU_ASSERT_EQUAL_FATAL(tpk_add(db_path, kek, ALICE, ka, &ia), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(tpk_add(db_path, kek, BOB, kb, &ib), KMS_EOK);
	CU_ASSERT(ia != 0 && ib != 0 && ia != ib);
	CU_ASSERT(!secmem_eq(ka, kb, sizeof(ka)));
	CU_ASSERT_EQUAL_FATAL(tpk_load(db_path, kek, &set), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_set_count(set), 2);
	CU_ASSERT_EQUAL(tpk_find(set, ia, k, &owner), KMS_EOK);
	CU_ASSERT(secmem_eq(k, ka, sizeof(k)));
	CU_ASSERT_STRING_EQUAL(owner, ALICE);
	CU_ASSERT_EQUAL(tpk_find(set, ib, k, &owner), KMS_EOK);
	CU_ASSERT(secmem_eq(k, kb, sizeof(k)));
	CU_ASSERT_STRING_EQUAL(owner, BOB);
	CU_ASSERT_EQUAL(tpk_find(set, ib + 1, k, &owner), KMS_ENOENT);
	CU_ASSERT_EQUAL(tpk_find(NULL, ia, k, &owner), KMS_ENOENT);
	tpk_set_free(set);
	unit_rmdir(dir);
}

static void given_retired_key_when_found_then_eexpired_and_delete_forgets_it(void)
{
	uint8_t k[MIKEY_TPK_LEN];
	uint32_t id = 0;
	const char *owner = NULL;
	tpk_set_t *set = NULL;
	setup();
	CU_ASSERT_EQUAL_FATAL(tpk_add(db_path, kek, ALICE, k, &id), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_retire(db_path, id), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_retire(db_path, id), KMS_ENOENT); /* already retired */
	CU_ASSERT_EQUAL(tpk_retire(db_path, id + 1), KMS_ENOENT);
	CU_ASSERT_EQUAL_FATAL(tpk_load(db_path, kek, &set), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_find(set, id, k, &owner), KMS_EEXPIRED);
	tpk_set_free(set);
	CU_ASSERT_EQUAL(tpk_delete(db_path, id), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_delete(db_path, id), KMS_ENOENT);
	CU_ASSERT_EQUAL_FATAL(tpk_load(db_path, kek, &set), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_set_count(set), 0);
	CU_ASSERT_EQUAL(tpk_find(set, id, k, &owner), KMS_ENOENT);
	tpk_set_free(set);
	unit_rmdir(dir);
}

static void given_wrong_kek_or_moved_owner_when_loaded_then_refused(void)
{
	uint8_t k[MIKEY_TPK_LEN], other[TPK_KEK_LEN];
	uint32_t id = 0;
	tpk_set_t *set = NULL;
	setup();
	CU_ASSERT_EQUAL_FATAL(tpk_add(db_path, kek, ALICE, k, &id), KMS_EOK);
	memcpy(other, kek, sizeof(other));
	other[0] ^= 1;
	CU_ASSERT_NOT_EQUAL(tpk_load(db_path, other, &set), KMS_EOK);
	CU_ASSERT_PTR_NULL(set);
	/* The wrapped key is bound to its owner: a row moved to Bob fails. */
	CU_ASSERT_EQUAL_FATAL(
	    sql_exec("UPDATE ticket_keys SET owner = 'bob@example.org'"), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(tpk_load(db_path, kek, &set), KMS_EOK);
	CU_ASSERT_PTR_NULL(set);
	unit_rmdir(dir);
}

static void given_bad_owner_when_added_then_einval(void)
{
	uint8_t k[MIKEY_TPK_LEN];
	uint32_t id = 0;
	setup();
	CU_ASSERT_EQUAL(tpk_add(db_path, kek, "*@example.org", k, &id), KMS_EINVAL);
	CU_ASSERT_EQUAL(tpk_add(db_path, kek, "no-at-sign", k, &id), KMS_EINVAL);
	CU_ASSERT_EQUAL(tpk_add(db_path, kek, "", k, &id), KMS_EINVAL);
	CU_ASSERT_EQUAL(tpk_add(db_path, kek, NULL, k, &id), KMS_EINVAL);
	CU_ASSERT_EQUAL(id, 0);
	unit_rmdir(dir);
}

typedef struct {
	size_t n, retired;
	char owners[2][TPK_OWNER_MAX + 1];
} seen_t;

static int count(void *ctx, const tpk_info_t *info)
{
	seen_t *s = ctx;
	if (s->n < 2) {
		memcpy(s->owners[s->n], info->owner, sizeof(info->owner));
	}
	s->n++;
	s->retired += info->retired != 0;
	return KMS_EOK;
}

static void given_keys_when_listed_then_owners_and_states_in_id_order(void)
{
	uint8_t k[MIKEY_TPK_LEN];
	uint32_t ia = 0, ib = 0;
	seen_t s;
	memset(&s, 0, sizeof(s));
	setup();
	CU_ASSERT_EQUAL_FATAL(tpk_add(db_path, kek, ALICE, k, &ia), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(tpk_add(db_path, kek, BOB, k, &ib), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_retire(db_path, ia), KMS_EOK);
	CU_ASSERT_EQUAL(tpk_list(db_path, count, &s), KMS_EOK);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.retired, 1);
	CU_ASSERT_STRING_EQUAL(s.owners[0], ALICE);
	CU_ASSERT_STRING_EQUAL(s.owners[1], BOB);
	unit_rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_two_keys_when_loaded_then_each_found_with_its_owner),
		UNIT_TEST(
		    given_retired_key_when_found_then_eexpired_and_delete_forgets_it),
		UNIT_TEST(given_wrong_kek_or_moved_owner_when_loaded_then_refused),
		UNIT_TEST(given_bad_owner_when_added_then_einval),
		UNIT_TEST(given_keys_when_listed_then_owners_and_states_in_id_order),
		UNIT_END,
	};
	return unit_run("tpk", tests);
}
