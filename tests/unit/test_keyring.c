/* Keyring: KEK file rules, rotate / find / retire, wrong KEK, caps. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/keyring.h"
#include "sql/db.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];
static char kek_path[UNIT_PATH_MAX];
static uint8_t kek[KEYRING_KEK_LEN];

static void setup(void)
{
	unit_tmpdir(dir);
	unit_store(db_path, sizeof(db_path), dir, "kms.db");
	unit_path(kek_path, dir, "kek");
	for (size_t i = 0; i < sizeof(kek); i++) {
		kek[i] = (uint8_t)(0xa0 + i);
	}
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(write(fd, data, len), (ssize_t)len);
	CU_ASSERT_EQUAL(fchmod(fd, mode), 0);
	close(fd);
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

/* --- KEK file -------------------------------------------------------------- */

static void given_no_kek_file_when_load_with_create_then_0600_file_reloads_same(void)
{
	setup();
	uint8_t a[KEYRING_KEK_LEN], b[KEYRING_KEK_LEN];
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, a), KMS_ENOENT);
	CU_ASSERT_EQUAL_FATAL(keyring_kek_load(kek_path, 1, a), KMS_EOK);
	struct stat sb;
	CU_ASSERT_EQUAL(stat(kek_path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(sb.st_size, 65); /* 64 hex digits and a newline */
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 1, b), KMS_EOK);
	CU_ASSERT(secmem_eq(a, b, sizeof(a)));
	unit_rmdir(dir);
}

static void given_kek_mode_0644_when_load_then_eacces(void)
{
	setup();
	uint8_t out[KEYRING_KEK_LEN];
	write_file(kek_path, kek, sizeof(kek), 0644);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EACCES);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 1, out), KMS_EACCES);
	CU_ASSERT_EQUAL(chmod(kek_path, 0640), 0);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EACCES);
	CU_ASSERT_EQUAL(chmod(kek_path, 0602), 0);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EACCES);
	CU_ASSERT_EQUAL(chmod(kek_path, 0400), 0);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, kek, sizeof(kek)), 0);
	unit_rmdir(dir);
}

/* kmsd with kms.group: 0640 in that group (kmsctl -c shares it so). */
static void given_kek_0640_when_loaded_for_its_group_then_read_else_eacces(void)
{
	setup();
	uint8_t out[KEYRING_KEK_LEN];
	struct stat sb;
	write_file(kek_path, kek, sizeof(kek), 0640);
	CU_ASSERT_EQUAL_FATAL(stat(kek_path, &sb), 0);
	CU_ASSERT_EQUAL(keyring_kek_load_group(kek_path, 0, sb.st_gid, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, kek, sizeof(kek)), 0);
	CU_ASSERT_EQUAL(keyring_kek_load_group(kek_path, 0, sb.st_gid + 1, out),
			KMS_EACCES);
	CU_ASSERT_EQUAL(chmod(kek_path, 0660), 0);
	CU_ASSERT_EQUAL(keyring_kek_load_group(kek_path, 0, sb.st_gid, out), KMS_EACCES);
	unit_rmdir(dir);
}

static void given_raw_or_hex_kek_when_load_then_same_key_and_junk_refused(void)
{
	setup();
	uint8_t out[KEYRING_KEK_LEN];
	const char *hex =
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
	write_file(kek_path, hex, 64, 0600);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, kek, sizeof(kek)), 0);
	write_file(kek_path,
		   "A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF\r\n",
		   66, 0600);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, kek, sizeof(kek)), 0);
	write_file(kek_path, hex, 63, 0600); /* odd */
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_ECONFIG);
	write_file(kek_path, "zz", 2, 0600);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_ECONFIG);
	uint8_t big[200] = { 0 };
	write_file(kek_path, big, sizeof(big), 0600);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_ECONFIG);
	unit_rmdir(dir);
}

static void given_kek_symlink_when_load_then_target_mode_decides(void)
{
	setup();
	char real[UNIT_PATH_MAX];
	uint8_t out[KEYRING_KEK_LEN];
	unit_path(real, dir, "real-kek");
	write_file(real, kek, sizeof(kek), 0600);
	CU_ASSERT_EQUAL_FATAL(symlink(real, kek_path), 0);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(out, kek, sizeof(kek)), 0);
	CU_ASSERT_EQUAL(chmod(real, 0644), 0);
	CU_ASSERT_EQUAL(keyring_kek_load(kek_path, 0, out), KMS_EACCES);
	/* A directory is no KEK. */
	CU_ASSERT_EQUAL(keyring_kek_load(dir, 0, out), KMS_EACCES);
	unit_rmdir(dir);
}

/* --- rotate / find / retire ------------------------------------------------- */

static void given_fresh_store_when_rotate_then_key_1_active_and_found(void)
{
	setup();
	keyring_t *kr = NULL;
	CU_ASSERT_EQUAL(keyring_load(db_path, kek, &kr), KMS_ENOENT);
	CU_ASSERT_PTR_NULL(kr);
	uint32_t id = 0;
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	CU_ASSERT_EQUAL(id, 1);
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr), KMS_EOK);
	uint32_t aid = 0;
	const uint8_t *akey = NULL, *fkey = NULL;
	CU_ASSERT_EQUAL(keyring_active(kr, &aid, &akey), KMS_EOK);
	CU_ASSERT_EQUAL(aid, 1);
	CU_ASSERT_EQUAL(keyring_find(kr, 1, &fkey), KMS_EOK);
	CU_ASSERT_PTR_EQUAL(akey, fkey);
	CU_ASSERT_EQUAL(keyring_find(kr, 2, &fkey), KMS_ENOENT);
	CU_ASSERT_EQUAL(keyring_find(kr, 0, &fkey), KMS_ENOENT);
	/* A second load sees the same key bytes. */
	keyring_t *kr2 = NULL;
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr2), KMS_EOK);
	const uint8_t *k2 = NULL;
	CU_ASSERT_EQUAL(keyring_find(kr2, 1, &k2), KMS_EOK);
	CU_ASSERT(secmem_eq(akey, k2, KEYRING_KEY_LEN));
	keyring_free(kr2);
	keyring_free(kr);
	keyring_free(NULL);
	unit_rmdir(dir);
}

#define T0 1700000000 /* the fake clock's wall time at the start */

static void given_fake_clock_when_rotated_and_retired_then_times_are_the_clocks(void)
{
	setup();
	kms_clock_fake_start(0, T0);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	kms_clock_fake_advance(90 * 1000);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	kms_clock_fake_advance(3600 * 1000);
	CU_ASSERT_EQUAL_FATAL(keyring_retire(db_path, 1), KMS_EOK);
	kms_clock_fake_stop();
	keyring_info_t info[2];
	size_t n = 0;
	CU_ASSERT_EQUAL(keyring_list(db_path, info, 2, &n), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(info[0].id, 2);
	CU_ASSERT_EQUAL(info[0].created, T0 + 90);
	CU_ASSERT_EQUAL(info[0].rotated, 0);
	CU_ASSERT_EQUAL(info[0].retired, 0);
	CU_ASSERT_EQUAL(info[1].id, 1);
	CU_ASSERT_EQUAL(info[1].created, T0);
	CU_ASSERT_EQUAL(info[1].rotated, T0 + 90);
	CU_ASSERT_EQUAL(info[1].retired, T0 + 90 + 3600);
	unit_rmdir(dir);
}

static void given_rotated_key_when_loaded_then_found_until_retired(void)
{
	setup();
	uint32_t id = 0;
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	CU_ASSERT_EQUAL(id, 2);
	keyring_t *kr = NULL;
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr), KMS_EOK);
	uint32_t aid = 0;
	const uint8_t *k1 = NULL, *k2 = NULL;
	CU_ASSERT_EQUAL(keyring_active(kr, &aid, &k2), KMS_EOK);
	CU_ASSERT_EQUAL(aid, 2);
	CU_ASSERT_EQUAL(keyring_find(kr, 1, &k1), KMS_EOK);
	CU_ASSERT_FALSE(secmem_eq(k1, k2, KEYRING_KEY_LEN));
	keyring_free(kr);

	CU_ASSERT_EQUAL(keyring_retire(db_path, 1), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_retire(db_path, 1), KMS_EOK); /* idempotent */
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_find(kr, 1, &k1), KMS_ENOENT);
	CU_ASSERT_EQUAL(keyring_find(kr, 2, &k2), KMS_EOK);
	keyring_free(kr);
	/* The retired key's wrapped bytes are gone from the store. */
	CU_ASSERT_EQUAL(sql_int("SELECT wrapped IS NULL FROM master_keys WHERE id = 1"),
			1);
	CU_ASSERT_EQUAL(sql_int("SELECT state FROM master_keys WHERE id = 1"), 2);

	keyring_info_t info[4];
	size_t n = 0;
	CU_ASSERT_EQUAL(keyring_list(db_path, info, 4, &n), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(info[0].id, 2); /* newest first */
	CU_ASSERT_EQUAL(info[0].state, KEYRING_ACTIVE);
	CU_ASSERT_EQUAL(info[0].rotated, 0);
	CU_ASSERT_EQUAL(info[1].id, 1);
	CU_ASSERT_EQUAL(info[1].state, KEYRING_RETIRED);
	CU_ASSERT(info[1].created > 0 && info[1].rotated > 0 && info[1].retired > 0);
	CU_ASSERT_EQUAL(keyring_list(db_path, info, 1, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 1);
	unit_rmdir(dir);
}

static void given_active_key_when_retire_then_einval_and_unknown_enoent(void)
{
	setup();
	uint32_t id = 0;
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_retire(db_path, id), KMS_EINVAL);
	CU_ASSERT_EQUAL(keyring_retire(db_path, 77), KMS_ENOENT);
	CU_ASSERT_EQUAL(keyring_retire(db_path, 0), KMS_ENOENT);
	keyring_t *kr = NULL;
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr), KMS_EOK);
	const uint8_t *k = NULL;
	CU_ASSERT_EQUAL(keyring_find(kr, id, &k), KMS_EOK);
	keyring_free(kr);
	unit_rmdir(dir);
}

static void given_wrong_kek_when_load_or_rotate_then_eauth(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	uint8_t other[KEYRING_KEK_LEN];
	memcpy(other, kek, sizeof(other));
	other[31] ^= 1;
	keyring_t *kr = NULL;
	CU_ASSERT_EQUAL(keyring_load(db_path, other, &kr), KMS_EAUTH);
	CU_ASSERT_PTR_NULL(kr);
	/* A rotation under the wrong KEK would leave a store that no longer loads. */
	CU_ASSERT_EQUAL(keyring_rotate(db_path, other, NULL), KMS_EAUTH);
	CU_ASSERT_EQUAL(sql_int("SELECT count(*) FROM master_keys"), 1);
	unit_rmdir(dir);
}

static void given_wrapped_key_moved_to_other_id_when_load_then_eauth(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, NULL), KMS_EOK);
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &db), KMS_EOK);
	/* Give key 2 the wrapped bytes of key 1 (an attacker with store write access). */
	CU_ASSERT_EQUAL(sqldb_exec(db, "UPDATE master_keys SET wrapped = "
				       "(SELECT wrapped FROM master_keys WHERE id = 1) "
				       "WHERE id = 2"),
			KMS_EOK);
	sqldb_close(db);
	keyring_t *kr = NULL;
	CU_ASSERT_EQUAL(keyring_load(db_path, kek, &kr), KMS_EAUTH);
	unit_rmdir(dir);
}

static void given_keyring_max_usable_keys_when_rotating_again_then_elimit(void)
{
	setup();
	uint32_t id = 0;
	for (int i = 0; i < KEYRING_MAX; i++) {
		CU_ASSERT_EQUAL_FATAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	}
	CU_ASSERT_EQUAL(id, KEYRING_MAX);
	CU_ASSERT_EQUAL(keyring_rotate(db_path, kek, &id), KMS_ELIMIT);
	keyring_t *kr = NULL;
	CU_ASSERT_EQUAL_FATAL(keyring_load(db_path, kek, &kr), KMS_EOK);
	keyring_free(kr);
	CU_ASSERT_EQUAL(keyring_retire(db_path, 1), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_rotate(db_path, kek, &id), KMS_EOK);
	CU_ASSERT_EQUAL(id, KEYRING_MAX + 1); /* ids are never reused */
	unit_rmdir(dir);
}

static void given_raw_keys_when_from_keys_then_found_and_active_as_given(void)
{
	static const uint32_t ids[2] = { 7, 9 }, dup[2] = { 7, 7 }, zero[2] = { 0, 9 };
	uint8_t keys[2][KEYRING_KEY_LEN];
	memset(keys[0], 0x11, KEYRING_KEY_LEN);
	memset(keys[1], 0x22, KEYRING_KEY_LEN);
	const uint8_t(*k)[KEYRING_KEY_LEN] = (const uint8_t(*)[KEYRING_KEY_LEN])keys;
	keyring_t *kr = NULL;
	const uint8_t *key = NULL;
	uint32_t id = 0;
	CU_ASSERT_EQUAL_FATAL(keyring_from_keys(ids, k, 2, 1, &kr), KMS_EOK);
	CU_ASSERT_EQUAL(keyring_active(kr, &id, &key), KMS_EOK);
	CU_ASSERT_EQUAL(id, 9);
	CU_ASSERT_EQUAL(memcmp(key, keys[1], KEYRING_KEY_LEN), 0);
	CU_ASSERT_EQUAL(keyring_find(kr, 7, &key), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(key, keys[0], KEYRING_KEY_LEN), 0);
	CU_ASSERT_EQUAL(keyring_find(kr, 8, &key), KMS_ENOENT);
	keyring_free(kr);
	kr = NULL;
	CU_ASSERT_EQUAL(keyring_from_keys(dup, k, 2, 0, &kr), KMS_EINVAL);
	CU_ASSERT_EQUAL(keyring_from_keys(zero, k, 2, 0, &kr), KMS_EINVAL);
	CU_ASSERT_EQUAL(keyring_from_keys(ids, k, 2, 2, &kr), KMS_EINVAL);
	CU_ASSERT_EQUAL(keyring_from_keys(ids, k, 0, 0, &kr), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(kr);
}

static void given_bad_arguments_when_calling_then_errors_not_crashes(void)
{
	setup();
	keyring_t *kr = NULL;
	size_t n = 0;
	uint32_t id = 0;
	const uint8_t *k = NULL;
	CU_ASSERT_EQUAL(keyring_load(NULL, kek, &kr), KMS_EINVAL);
	CU_ASSERT_EQUAL(keyring_rotate(db_path, NULL, NULL), KMS_EINVAL);
	CU_ASSERT_EQUAL(keyring_list(db_path, NULL, 3, &n), KMS_EINVAL);
	/* No store file in SQLite; in PostgreSQL an empty store. */
	CU_ASSERT_EQUAL(keyring_list(db_path, NULL, 0, &n),
			unit_store_pg() ? KMS_EOK : KMS_ENOENT);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(keyring_active(NULL, &id, &k), KMS_ENOENT);
	CU_ASSERT_EQUAL(keyring_find(NULL, 1, &k), KMS_ENOENT);
	CU_ASSERT_EQUAL(keyring_retire(db_path, 1), KMS_ENOENT); /* no store, no key */
	unit_rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_no_kek_file_when_load_with_create_then_0600_file_reloads_same),
		UNIT_TEST(given_kek_mode_0644_when_load_then_eacces),
		UNIT_TEST(given_kek_0640_when_loaded_for_its_group_then_read_else_eacces),
		UNIT_TEST(given_raw_or_hex_kek_when_load_then_same_key_and_junk_refused),
		UNIT_TEST(given_kek_symlink_when_load_then_target_mode_decides),
		UNIT_TEST(given_fresh_store_when_rotate_then_key_1_active_and_found),
		UNIT_TEST(given_rotated_key_when_loaded_then_found_until_retired),
		UNIT_TEST(
		    given_fake_clock_when_rotated_and_retired_then_times_are_the_clocks),
		UNIT_TEST(given_active_key_when_retire_then_einval_and_unknown_enoent),
		UNIT_TEST(given_wrong_kek_when_load_or_rotate_then_eauth),
		UNIT_TEST(given_wrapped_key_moved_to_other_id_when_load_then_eauth),
		UNIT_TEST(given_keyring_max_usable_keys_when_rotating_again_then_elimit),
		UNIT_TEST(given_bad_arguments_when_calling_then_errors_not_crashes),
		UNIT_TEST(given_raw_keys_when_from_keys_then_found_and_active_as_given),
		UNIT_END,
	};
	return unit_run("keyring", tests);
}
