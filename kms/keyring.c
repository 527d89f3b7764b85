/*
 * Keyring store and snapshot.
 *
 * Each master key is stored as AES-256-KW(KEK, key) with the RFC 3394 IV
 * set to "KMK1" || id (big-endian 32 bits): the check value binds the
 * wrapped bytes to their row, so a store writer cannot move a key to
 * another id without the unwrap failing.  A retired key's wrapped bytes are
 * deleted (NULL); secure_delete zeroes the freed page.
 */
#include "kms/keyring.h"

#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "sql/db.h"
#include "sql/schema.h"

#define WRAPPED_LEN (KEYRING_KEY_LEN + CRYPTO_KW_IV)
#define KEK_FILE_MAX (2 * KEYRING_KEK_LEN + 2) /* hex + CRLF */
#define LIST_MAX 100000

typedef struct {
	uint32_t id;
	uint8_t key[KEYRING_KEY_LEN];
} kr_key_t;

struct keyring {
	size_t n;
	size_t active; /* index into keys */
	kr_key_t keys[KEYRING_MAX];
};

static void wrap_iv(uint32_t id, uint8_t iv[CRYPTO_KW_IV])
{
	iv[0] = 'K';
	iv[1] = 'M';
	iv[2] = 'K';
	iv[3] = '1';
	iv[4] = (uint8_t)(id >> 24);
	iv[5] = (uint8_t)(id >> 16);
	iv[6] = (uint8_t)(id >> 8);
	iv[7] = (uint8_t)id;
}

/* --- KEK file ------------------------------------------------------------ */

/* Parse the file contents: 32 raw bytes, or 64 hex digits and a newline. */
static int kek_parse(const uint8_t *buf, size_t len, uint8_t kek[KEYRING_KEK_LEN])
{
	if (len == KEYRING_KEK_LEN) {
		memcpy(kek, buf, KEYRING_KEK_LEN);
		return KMS_EOK;
	}
	size_t hl = len;
	if (hl > 0 && buf[hl - 1] == '\n') {
		hl--;
	}
	if (hl > 0 && buf[hl - 1] == '\r') {
		hl--;
	}
	size_t got = 0;
	if (hl != 2 * KEYRING_KEK_LEN ||
	    hex_decode((const char *)buf, hl, kek, KEYRING_KEK_LEN, &got) != KMS_EOK ||
	    got != KEYRING_KEK_LEN) {
		secmem_wipe(kek, KEYRING_KEK_LEN);
		return KMS_ECONFIG;
	}
	return KMS_EOK;
}

/* Read and parse the KEK file; a symbolic link is followed (secret mounts
 * use them), and the mode check applies to the file it names. */
static int kek_read(const char *path, gid_t group, uint8_t kek[KEYRING_KEK_LEN])
{
	char *buf = NULL;
	size_t len = 0;
	int ret = secret_file_read_group(path, SECRET_FILE_PRIVATE, group, KEK_FILE_MAX,
					 &buf, &len);
	if (ret == KMS_EACCES) {
		log_error("keyring: KEK %s is unreadable, not a regular file, or open to "
			  "group or others (chmod 600 it; 640 only with the group of "
			  "kms.group)",
			  path);
		return ret;
	}
	if (ret == KMS_ELIMIT) {
		ret = KMS_ECONFIG;
	} else if (ret == KMS_EOK) {
		ret = kek_parse((const uint8_t *)buf, len, kek);
		secret_file_free(buf, KEK_FILE_MAX);
	}
	if (ret == KMS_ECONFIG) {
		log_error("keyring: KEK %s is not 32 raw bytes or 64 hex digits", path);
	} else if (ret != KMS_EOK && ret != KMS_ENOENT) {
		log_error("keyring: cannot read KEK %s: %s", path, kms_strerror(ret));
	}
	return ret;
}

/* Write a fresh random KEK as hex; KMS_EEXIST if the file appeared. */
static int kek_create(const char *path, uint8_t kek[KEYRING_KEK_LEN])
{
	uint8_t key[KEYRING_KEK_LEN];
	char hex[2 * KEYRING_KEK_LEN + 2];
	int ret = crypto_random(key, sizeof(key));
	if (ret == KMS_EOK) {
		ret = hex_encode(key, sizeof(key), hex, sizeof(hex));
	}
	if (ret == KMS_EOK) {
		hex[2 * KEYRING_KEK_LEN] = '\n';
		ret = secret_file_write(path, SECRET_FILE_EXCL, hex,
					2 * KEYRING_KEK_LEN + 1);
	}
	if (ret == KMS_EOK) {
		memcpy(kek, key, KEYRING_KEK_LEN);
		log_notice("keyring: created a new KEK in %s", path);
	}
	secmem_wipe(key, sizeof(key));
	secmem_wipe(hex, sizeof(hex));
	return ret;
}

int keyring_kek_load(const char *path, int create, uint8_t kek[KEYRING_KEK_LEN])
{
	return keyring_kek_load_group(path, create, (gid_t)-1, kek);
}

int keyring_kek_load_group(const char *path, int create, gid_t group,
			   uint8_t kek[KEYRING_KEK_LEN])
{
	if (path == NULL || kek == NULL) {
		return KMS_EINVAL;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		int ret = kek_read(path, group, kek);
		if (ret != KMS_ENOENT || !create) {
			if (ret == KMS_ENOENT) {
				log_error("keyring: cannot open KEK %s: %s", path,
					  kms_strerror(ret));
			}
			return ret;
		}
		ret = kek_create(path, kek);
		if (ret != KMS_EEXIST) {
			return ret;
		}
		/* Created concurrently by someone else: read theirs. */
	}
	return KMS_EIO;
}

/* --- snapshot ------------------------------------------------------------ */

void keyring_free(keyring_t *kr)
{
	secmem_table_free(kr, sizeof(*kr));
}

/* Add one row (id, state, wrapped) of the SELECT to kr. */
static int load_row(keyring_t *kr, sqldb_stmt_t *st, const uint8_t kek[KEYRING_KEK_LEN])
{
	int64_t id = sqldb_column_int64(st, 0);
	int state = sqldb_column_int(st, 1);
	const void *wrapped = sqldb_column_blob(st, 2);
	int wlen = sqldb_column_bytes(st, 2);
	if (id < 1 || id > UINT32_MAX || wrapped == NULL || wlen != WRAPPED_LEN) {
		log_error("keyring: master key row %lld is malformed", (long long)id);
		return KMS_EIO;
	}
	if (kr->n >= KEYRING_MAX) {
		log_error("keyring: more than %d usable keys; retire old ones",
			  KEYRING_MAX);
		return KMS_ELIMIT;
	}
	kr_key_t *k = &kr->keys[kr->n];
	uint8_t iv[CRYPTO_KW_IV];
	k->id = (uint32_t)id;
	wrap_iv(k->id, iv);
	int ret =
	    crypto_aes_kw_unwrap(kek, KEYRING_KEK_LEN, iv, wrapped, WRAPPED_LEN, k->key);
	if (ret != KMS_EOK) {
		log_error("keyring: master key %u does not unwrap (wrong KEK?)", k->id);
		return ret;
	}
	if (state == KEYRING_ACTIVE) {
		kr->active = kr->n;
	}
	kr->n++;
	return KMS_EOK;
}

int keyring_load(const char *db_path, const uint8_t kek[KEYRING_KEK_LEN], keyring_t **out)
{
	if (db_path == NULL || kek == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	keyring_t *kr = secmem_table_alloc(sizeof(*kr));
	if (kr == NULL) {
		return KMS_ENOMEM;
	}
	kr->active = SIZE_MAX;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db,
				    "SELECT id, state, wrapped FROM master_keys "
				    "WHERE state IN (0, 1) ORDER BY id DESC LIMIT ?1",
				    &st);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	sqldb_bind_int(st, 1, KEYRING_MAX + 1);
	int rc = SQLDB_DONE;
	int actives = 0; /* the store's unique index allows one */
	while (ret == KMS_EOK && (rc = sqldb_step(st)) == SQLDB_ROW) {
		actives += sqldb_column_int(st, 1) == KEYRING_ACTIVE;
		ret = actives > 1 ? KMS_EINTERNAL : load_row(kr, st, kek);
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	if (ret == KMS_EOK && actives != 1) {
		ret = KMS_ENOENT;
	}
	if (ret == KMS_EOK) {
		log_info("keyring: %zu master keys loaded, active key %u", kr->n,
			 kr->keys[kr->active].id);
		*out = kr;
		kr = NULL;
	}
cleanup:
	sqldb_finalize(st);
	sqldb_close(db);
	keyring_free(kr);
	return ret;
}

int keyring_active(const keyring_t *kr, uint32_t *id, const uint8_t **key)
{
	if (kr == NULL || kr->active >= kr->n || id == NULL || key == NULL) {
		return KMS_ENOENT;
	}
	*id = kr->keys[kr->active].id;
	*key = kr->keys[kr->active].key;
	return KMS_EOK;
}

int keyring_find(const keyring_t *kr, uint32_t id, const uint8_t **key)
{
	if (kr == NULL || key == NULL || id == 0) {
		return KMS_ENOENT;
	}
	for (size_t i = 0; i < kr->n; i++) {
		if (kr->keys[i].id == id) {
			*key = kr->keys[i].key;
			return KMS_EOK;
		}
	}
	return KMS_ENOENT;
}

int keyring_from_keys(const uint32_t *ids, const uint8_t (*keys)[KEYRING_KEY_LEN],
		      size_t n, size_t active, keyring_t **out)
{
	if (ids == NULL || keys == NULL || out == NULL || n == 0 || n > KEYRING_MAX ||
	    active >= n) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i && ids[i] != 0; j++) {
			if (ids[j] == ids[i]) {
				return KMS_EINVAL;
			}
		}
		if (ids[i] == 0) {
			return KMS_EINVAL;
		}
	}
	keyring_t *kr = secmem_table_alloc(sizeof(*kr));
	if (kr == NULL) {
		return KMS_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		kr->keys[i].id = ids[i];
		memcpy(kr->keys[i].key, keys[i], KEYRING_KEY_LEN);
	}
	kr->n = n;
	kr->active = active;
	*out = kr;
	return KMS_EOK;
}

/* --- store operations ---------------------------------------------------- */

/* One integer from a constant query without parameters. */
/* The active key (if any) must unwrap under kek: a rotation with the wrong
 * KEK would leave a store that no longer loads. */
static int check_kek_locked(sqldb_t *db, const uint8_t kek[KEYRING_KEK_LEN])
{
	uint8_t key[KEYRING_KEY_LEN];
	uint8_t iv[CRYPTO_KW_IV];
	sqldb_stmt_t *st = NULL;
	int ret =
	    sqldb_prepare(db, "SELECT id, wrapped FROM master_keys WHERE state = 0", &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqldb_step(st);
	if (rc == SQLDB_ROW) {
		int64_t id = sqldb_column_int64(st, 0);
		const void *wrapped = sqldb_column_blob(st, 1);
		if (id < 1 || id > UINT32_MAX || wrapped == NULL ||
		    sqldb_column_bytes(st, 1) != WRAPPED_LEN) {
			ret = KMS_EIO;
		} else {
			wrap_iv((uint32_t)id, iv);
			ret = crypto_aes_kw_unwrap(kek, KEYRING_KEK_LEN, iv, wrapped,
						   WRAPPED_LEN, key);
		}
		if (ret != KMS_EOK) {
			log_error("keyring: the active key does not unwrap (wrong KEK?)");
		}
	} else if (rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	secmem_wipe(key, sizeof(key));
	return ret;
}

/* Inside the write transaction: the KEK opens the active key and there is
 * room for one more usable key; *id is the id the new key gets. */
static int next_key_id(sqldb_t *db, const uint8_t kek[KEYRING_KEK_LEN], uint32_t *id)
{
	int64_t usable = 0, max_id = 0;
	int ret = check_kek_locked(db, kek);
	if (ret == KMS_EOK) {
		ret = sqldb_query_int64(
		    db, "SELECT count(*) FROM master_keys WHERE state IN (0, 1)",
		    &usable);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_query_int64(
		    db, "SELECT coalesce(max(id), 0) FROM master_keys", &max_id);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	if (usable >= KEYRING_MAX || max_id < 0 || max_id >= UINT32_MAX) {
		log_error("keyring: %lld usable keys (max %d); retire old keys first",
			  (long long)usable, KEYRING_MAX);
		return KMS_ELIMIT;
	}
	*id = (uint32_t)max_id + 1;
	return KMS_EOK;
}

/* The active key becomes rotated at time now. */
static int demote_active(sqldb_t *db, int64_t now)
{
	sqldb_stmt_t *st = NULL;
	int ret = sqldb_prepare(db,
				"UPDATE master_keys SET state = 1, rotated = ?1 "
				"WHERE state = 0",
				&st);
	if (ret == KMS_EOK) {
		sqldb_bind_int64(st, 1, now);
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	return ret;
}

/* Insert key id (wrapped) as the active key, created at time now. */
static int insert_active(sqldb_t *db, uint32_t id, const uint8_t wrapped[WRAPPED_LEN],
			 int64_t now)
{
	sqldb_stmt_t *st = NULL;
	int ret = sqldb_prepare(db,
				"INSERT INTO master_keys "
				"(id, state, wrapped, created, rotated, retired) "
				"VALUES (?1, 0, ?2, ?3, 0, 0)",
				&st);
	if (ret == KMS_EOK) {
		sqldb_bind_int64(st, 1, id);
		sqldb_bind_blob(st, 2, wrapped, WRAPPED_LEN);
		sqldb_bind_int64(st, 3, now);
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	return ret;
}

/* Inside the write transaction: demote the active key, insert the new one. */
static int rotate_locked(sqldb_t *db, const uint8_t kek[KEYRING_KEK_LEN], uint32_t *id)
{
	uint8_t key[KEYRING_KEY_LEN];
	uint8_t wrapped[WRAPPED_LEN];
	uint8_t iv[CRYPTO_KW_IV];
	uint32_t new_id = 0;
	int64_t now = kms_clock_wall_s();
	int ret = next_key_id(db, kek, &new_id);
	if (ret != KMS_EOK) {
		return ret;
	}
	wrap_iv(new_id, iv);
	ret = crypto_random(key, sizeof(key));
	if (ret == KMS_EOK) {
		ret = crypto_aes_kw_wrap(kek, KEYRING_KEK_LEN, iv, key, sizeof(key),
					 wrapped);
	}
	if (ret == KMS_EOK) {
		ret = demote_active(db, now);
	}
	if (ret == KMS_EOK) {
		ret = insert_active(db, new_id, wrapped, now);
	}
	if (ret == KMS_EOK) {
		*id = new_id;
	}
	secmem_wipe(key, sizeof(key));
	secmem_wipe(wrapped, sizeof(wrapped));
	return ret;
}

typedef struct {
	const uint8_t *kek;
	uint32_t id;
} key_tx_t;

static int rotate_tx(sqldb_t *db, void *ctx)
{
	key_tx_t *t = ctx;
	return rotate_locked(db, t->kek, &t->id);
}

int keyring_rotate(const char *db_path, const uint8_t kek[KEYRING_KEK_LEN],
		   uint32_t *new_id)
{
	if (db_path == NULL || kek == NULL) {
		return KMS_EINVAL;
	}
	key_tx_t t = { kek, 0 };
	int ret = schema_transact(db_path, SCHEMA_KMS, 1, rotate_tx, &t);
	if (ret == KMS_EOK) {
		log_notice("keyring: master key %u is now active", t.id);
		if (new_id != NULL) {
			*new_id = t.id;
		}
	}
	return ret;
}

static int retire_locked(sqldb_t *db, uint32_t id)
{
	sqldb_stmt_t *st = NULL;
	int ret = sqldb_prepare(db, "SELECT state FROM master_keys WHERE id = ?1", &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_bind_int64(st, 1, id);
	int rc = sqldb_step(st);
	int state = rc == SQLDB_ROW ? sqldb_column_int(st, 0) : -1;
	sqldb_finalize(st);
	st = NULL;
	if (rc != SQLDB_ROW) {
		return rc == SQLDB_DONE ? KMS_ENOENT : sqldb_rc(rc);
	}
	if (state == KEYRING_ACTIVE) {
		return KMS_EINVAL;
	}
	if (state == KEYRING_RETIRED) {
		return KMS_EOK; /* already done */
	}
	ret = sqldb_prepare(
	    db,
	    "UPDATE master_keys SET state = 2, wrapped = NULL, retired = ?2 "
	    "WHERE id = ?1 AND state = 1",
	    &st);
	if (ret == KMS_EOK) {
		sqldb_bind_int64(st, 1, id);
		sqldb_bind_int64(st, 2, kms_clock_wall_s());
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	return ret;
}

static int retire_tx(sqldb_t *db, void *ctx)
{
	return retire_locked(db, ((key_tx_t *)ctx)->id);
}

int keyring_retire(const char *db_path, uint32_t id)
{
	if (db_path == NULL) {
		return KMS_EINVAL;
	}
	if (id == 0) {
		return KMS_ENOENT;
	}
	key_tx_t t = { NULL, id };
	int ret = schema_transact(db_path, SCHEMA_KMS, 0, retire_tx, &t);
	if (ret == KMS_EOK) {
		log_notice("keyring: master key %u retired", id);
	}
	return ret;
}

int keyring_list(const char *db_path, keyring_info_t *out, size_t max, size_t *n)
{
	if (db_path == NULL || n == NULL || (out == NULL && max > 0)) {
		return KMS_EINVAL;
	}
	if (max > LIST_MAX) {
		max = LIST_MAX;
	}
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	size_t count = 0;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db,
				    "SELECT id, state, created, rotated, retired "
				    "FROM master_keys ORDER BY id DESC LIMIT ?1",
				    &st);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	sqldb_bind_int64(st, 1, (int64_t)max);
	int rc = SQLDB_DONE;
	while ((rc = sqldb_step(st)) == SQLDB_ROW && count < max) {
		keyring_info_t *i = &out[count++];
		i->id = (uint32_t)sqldb_column_int64(st, 0);
		i->state = (keyring_state_t)sqldb_column_int(st, 1);
		i->created = sqldb_column_int64(st, 2);
		i->rotated = sqldb_column_int64(st, 3);
		i->retired = sqldb_column_int64(st, 4);
	}
	if (rc != SQLDB_DONE && rc != SQLDB_ROW) {
		ret = sqldb_rc(rc);
	}
	if (ret == KMS_EOK) {
		*n = count;
	}
cleanup:
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}
