/*
 * Ticket protection keys of Initiators (kms/tpk.h).
 *
 * A key is stored as AES-256-KW(KEK, key) with the RFC 3394 IV set to the
 * first 8 bytes of SHA-256("kms tpk wrap" || id (4, big-endian) || owner):
 * a row whose id or owner is changed, or which is copied onto another,
 * does not unwrap.  The loaded table is sorted by id and searched with
 * bsearch; it never changes after tpk_load().
 */
#include "kms/tpk.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/psk_static.h"
#include "sql/db.h"
#include "sql/schema.h"

#define WRAP_LABEL "kms tpk wrap"
#define WRAPPED_LEN (MIKEY_TPK_LEN + CRYPTO_KW_IV)

typedef struct {
	uint32_t id;
	int retired;
	char owner[TPK_OWNER_MAX + 1];
	uint8_t key[MIKEY_TPK_LEN];
} entry_t;

struct tpk_set {
	size_t n, cap;
	entry_t *e; /* secmem table, wiped on free */
};

static int wrap_iv(uint32_t id, const char *owner, uint8_t iv[CRYPTO_KW_IV])
{
	uint8_t buf[4 + TPK_OWNER_MAX];
	size_t len = strlen(owner);
	if (len > TPK_OWNER_MAX) {
		return KMS_EINVAL;
	}
	buf[0] = (uint8_t)(id >> 24);
	buf[1] = (uint8_t)(id >> 16);
	buf[2] = (uint8_t)(id >> 8);
	buf[3] = (uint8_t)id;
	memcpy(buf + 4, owner, len);
	return crypto_aes_kw_iv(WRAP_LABEL, buf, 4 + len, iv);
}

/* --- the loaded set -------------------------------------------------------- */

tpk_set_t *tpk_set_new_empty(void)
{
	return calloc(1, sizeof(tpk_set_t));
}

void tpk_set_free(tpk_set_t *set)
{
	if (set == NULL) {
		return;
	}
	secmem_table_free(set->e, set->cap * sizeof(entry_t));
	free(set);
}

size_t tpk_set_count(const tpk_set_t *set)
{
	return set != NULL ? set->n : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const entry_t *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int tpk_find(const tpk_set_t *set, uint32_t id, uint8_t key[MIKEY_TPK_LEN],
	     const char **owner)
{
	if (set == NULL || set->n == 0) {
		return KMS_ENOENT;
	}
	entry_t k = { .id = id };
	const entry_t *e = bsearch(&k, set->e, set->n, sizeof(entry_t), cmp_entry);
	if (e == NULL) {
		return KMS_ENOENT;
	}
	if (e->retired) {
		return KMS_EEXPIRED;
	}
	memcpy(key, e->key, MIKEY_TPK_LEN);
	*owner = e->owner;
	return KMS_EOK;
}

/* One row (id, owner, state, wrapped) into e, the key unwrapped. */
static int load_row(sqldb_stmt_t *st, const uint8_t kek[TPK_KEK_LEN], entry_t *e)
{
	int64_t id = sqldb_column_int64(st, 0);
	const char *owner = sqldb_column_text(st, 1);
	size_t olen = (size_t)sqldb_column_bytes(st, 1);
	int64_t state = sqldb_column_int64(st, 2);
	const uint8_t *wrapped = sqldb_column_blob(st, 3);
	size_t wlen = (size_t)sqldb_column_bytes(st, 3);
	uint8_t iv[CRYPTO_KW_IV];
	if (id < 1 || id > UINT32_MAX || owner == NULL || olen == 0 ||
	    olen > TPK_OWNER_MAX || strlen(owner) != olen || (state != 0 && state != 1) ||
	    wrapped == NULL || wlen != WRAPPED_LEN) {
		log_error("tpk: a ticket_keys row is malformed");
		return KMS_EIO;
	}
	e->id = (uint32_t)id;
	e->retired = (int)state;
	memcpy(e->owner, owner, olen + 1);
	int ret = wrap_iv(e->id, e->owner, iv);
	if (ret == KMS_EOK) {
		ret = crypto_aes_kw_unwrap(kek, TPK_KEK_LEN, iv, wrapped, wlen, e->key);
	}
	if (ret != KMS_EOK) {
		log_error("tpk: key %u does not unwrap (wrong KEK or tampered row)",
			  e->id);
	}
	return ret;
}

static int load_rows(sqldb_t *db, const uint8_t kek[TPK_KEK_LEN], tpk_set_t *t)
{
	sqldb_stmt_t *st = NULL;
	int64_t count = 0;
	int ret = sqldb_query_int64(db, "SELECT count(*) FROM ticket_keys", &count);
	if (ret == KMS_EOK && (count < 0 || count > TPK_KEYS_MAX)) {
		ret = KMS_ELIMIT;
	}
	if (ret == KMS_EOK && count > 0) {
		t->e = secmem_table_alloc((size_t)count * sizeof(entry_t));
		ret = t->e != NULL ? KMS_EOK : KMS_ENOMEM;
		t->cap = t->e != NULL ? (size_t)count : 0;
	}
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db,
				    "SELECT id, owner, state, wrapped FROM ticket_keys "
				    "ORDER BY id LIMIT ?1",
				    &st);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_bind_int64(st, 1, count);
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && t->n < t->cap && (rc = sqldb_step(st)) == SQLDB_ROW) {
		ret = load_row(st, kek, &t->e[t->n]);
		t->n += ret == KMS_EOK;
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE && rc != SQLDB_ROW) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	return ret;
}

int tpk_load(const char *db_path, const uint8_t kek[TPK_KEK_LEN], tpk_set_t **out)
{
	if (db_path == NULL || kek == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	tpk_set_t *t = tpk_set_new_empty();
	if (t == NULL) {
		return KMS_ENOMEM;
	}
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_begin_read(db);
	}
	if (ret == KMS_EOK) {
		ret = load_rows(db, kek, t);
		sqldb_rollback(db);
	}
	sqldb_close(db);
	if (ret != KMS_EOK) {
		tpk_set_free(t);
		return ret;
	}
	if (t->n > 1) { /* t->e is NULL when the store has none */
		qsort(t->e, t->n, sizeof(entry_t), cmp_entry);
	}
	*out = t;
	return KMS_EOK;
}

/* --- store operations (kmsctl) --------------------------------------------- */

typedef struct {
	const uint8_t *kek;
	const char *owner;
	const uint8_t *key;
	uint32_t id; /* out */
} add_tx_t;

static int add_tx(sqldb_t *db, void *ctx)
{
	add_tx_t *a = ctx;
	uint8_t iv[CRYPTO_KW_IV], wrapped[WRAPPED_LEN];
	sqldb_stmt_t *st = NULL;
	int64_t count = 0, next = 0;
	int ret = sqldb_query_int64(db, "SELECT count(*) FROM ticket_keys", &count);
	if (ret == KMS_EOK) {
		ret = sqldb_query_int64(
		    db, "SELECT coalesce(max(id), 0) + 1 FROM ticket_keys", &next);
	}
	if (ret == KMS_EOK && (count >= TPK_KEYS_MAX || next > UINT32_MAX)) {
		ret = KMS_ELIMIT;
	}
	if (ret == KMS_EOK) {
		ret = wrap_iv((uint32_t)next, a->owner, iv);
	}
	if (ret == KMS_EOK) {
		ret = crypto_aes_kw_wrap(a->kek, TPK_KEK_LEN, iv, a->key, MIKEY_TPK_LEN,
					 wrapped);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db,
				    "INSERT INTO ticket_keys (id, owner, state, wrapped, "
				    "created) VALUES (?1, ?2, 0, ?3, ?4)",
				    &st);
	}
	if (ret == KMS_EOK) {
		sqldb_bind_int64(st, 1, next);
		sqldb_bind_text(st, 2, a->owner, -1);
		sqldb_bind_blob(st, 3, wrapped, (int)sizeof(wrapped));
		sqldb_bind_int64(st, 4, kms_clock_wall_s());
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	if (ret == KMS_EOK) {
		a->id = (uint32_t)next;
	}
	secmem_wipe(wrapped, sizeof(wrapped));
	return ret;
}

int tpk_add(const char *db_path, const uint8_t kek[TPK_KEK_LEN], const char *owner,
	    uint8_t key[MIKEY_TPK_LEN], uint32_t *id)
{
	uint8_t k[MIKEY_TPK_LEN];
	if (db_path == NULL || kek == NULL || key == NULL || id == NULL ||
	    psk_static_check_identity(owner) != KMS_EOK) {
		return KMS_EINVAL;
	}
	int ret = crypto_random(k, sizeof(k));
	add_tx_t a = { kek, owner, k, 0 };
	if (ret == KMS_EOK) {
		ret = schema_transact(db_path, SCHEMA_KMS, 1, add_tx, &a);
	}
	if (ret == KMS_EOK) {
		memcpy(key, k, sizeof(k));
		*id = a.id;
		log_notice("tpk: key %u added", a.id);
	}
	secmem_wipe(k, sizeof(k));
	return ret;
}

typedef struct {
	uint32_t id;
} retire_tx_t;

static int retire_tx(sqldb_t *db, void *ctx)
{
	const retire_tx_t *r = ctx;
	sqldb_stmt_t *st = NULL;
	int ret = sqldb_prepare(db,
				"UPDATE ticket_keys SET state = 1, retired = ?2 "
				"WHERE id = ?1 AND state = 0",
				&st);
	if (ret == KMS_EOK) {
		sqldb_bind_int64(st, 1, r->id);
		sqldb_bind_int64(st, 2, kms_clock_wall_s());
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	if (ret == KMS_EOK && sqldb_changes(db) == 0) {
		ret = KMS_ENOENT;
	}
	return ret;
}

int tpk_retire(const char *db_path, uint32_t id)
{
	retire_tx_t r = { id };
	if (db_path == NULL || id == 0) {
		return KMS_EINVAL;
	}
	return schema_transact(db_path, SCHEMA_KMS, 0, retire_tx, &r);
}

int tpk_delete(const char *db_path, uint32_t id)
{
	if (db_path == NULL || id == 0) {
		return KMS_EINVAL;
	}
	return schema_delete(db_path, SCHEMA_KMS, "DELETE FROM ticket_keys WHERE id = ?1",
			     NULL, (int64_t)id);
}

static int list_rows(sqldb_t *db, tpk_list_fn fn, void *ctx)
{
	sqldb_stmt_t *st = NULL;
	tpk_info_t info;
	int ret = sqldb_prepare(db,
				"SELECT id, owner, state, created, retired FROM "
				"ticket_keys ORDER BY id LIMIT ?1",
				&st);
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_bind_int(st, 1, TPK_KEYS_MAX);
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && (rc = sqldb_step(st)) == SQLDB_ROW) {
		const char *o = sqldb_column_text(st, 1);
		size_t l = (size_t)sqldb_column_bytes(st, 1);
		if (o == NULL || l > TPK_OWNER_MAX) {
			ret = KMS_EIO;
			break;
		}
		memset(&info, 0, sizeof(info));
		info.id = (uint32_t)sqldb_column_int64(st, 0);
		memcpy(info.owner, o, l);
		info.retired = sqldb_column_int64(st, 2) != 0;
		info.created = sqldb_column_int64(st, 3);
		info.retired_at = sqldb_column_int64(st, 4);
		ret = fn(ctx, &info);
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	return ret;
}

int tpk_list(const char *db_path, tpk_list_fn fn, void *ctx)
{
	sqldb_t *db = NULL;
	if (db_path == NULL || fn == NULL) {
		return KMS_EINVAL;
	}
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = list_rows(db, fn, ctx);
	}
	sqldb_close(db);
	return ret;
}
