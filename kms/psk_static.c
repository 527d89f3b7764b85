/*
 * Static PSK users.
 *
 * A key is stored as AES-256-KW(KEK, key) with the RFC 3394 IV set to the
 * first 8 bytes of SHA-256("kms psk wrap" || psk_id): the check value binds
 * the wrapped bytes to their psk_id, so a row copied onto another user does
 * not unwrap.  The loaded table is a sorted array (psk_id bytes, shorter
 * first on a common prefix) searched with bsearch; it never changes after
 * psk_static_open(), so lookups take no lock.  Its keys are wiped on free.
 */
#include "kms/psk_static.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "sql/db.h"
#include "sql/schema.h"

#define WRAP_LABEL "kms psk wrap"

typedef struct {
	char *strs;	 /* psk_id NUL identity NUL identity NUL ... */
	size_t id_len;	 /* bytes of psk_id */
	size_t nids;	 /* identities following psk_id in strs */
	int64_t expires; /* 0 = never */
	size_t key_len;	 /* 16 or 32 */
	uint8_t key[KMS_PSK_MAX];
} entry_t;

typedef struct {
	kms_psk_source_t base; /* first: the source pointer is the table */
	size_t n;	       /* loaded entries */
	size_t cap;	       /* allocated entries (all wiped on free) */
	entry_t *e;
} table_t;

/* --- validation ------------------------------------------------------------ */

static int has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			return 1;
		}
	}
	return 0;
}

int psk_static_check_id(const char *s)
{
	if (s == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(s, PSK_STATIC_ID_MAX + 1);
	if (len == 0 || len > PSK_STATIC_ID_MAX || has_control(s, len)) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

int psk_static_check_identity(const char *s)
{
	if (s == NULL) {
		return KMS_EINVAL;
	}
	size_t len = strnlen(s, KMS_IDENTITY_MAX + 1);
	if (len == 0 || len > KMS_IDENTITY_MAX || has_control(s, len) ||
	    strpbrk(s, " *") != NULL) {
		return KMS_EINVAL;
	}
	const char *at = strchr(s, '@');
	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

static int wrap_iv(const char *psk_id, size_t len, uint8_t iv[CRYPTO_KW_IV])
{
	return crypto_aes_kw_iv(WRAP_LABEL, (const uint8_t *)psk_id, len, iv);
}

/* --- the loaded table ------------------------------------------------------ */

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0) {
		return c;
	}
	return alen < blen ? -1 : alen > blen;
}

static int cmp_entry(const void *a, const void *b)
{
	const entry_t *x = a, *y = b;
	return cmp_bytes(x->strs, x->id_len, y->strs, y->id_len);
}

typedef struct {
	const char *id;
	size_t len;
} key_ref_t;

static int cmp_key(const void *k, const void *e)
{
	const key_ref_t *r = k;
	const entry_t *y = e;
	return cmp_bytes(r->id, r->len, y->strs, y->id_len);
}

static void table_free(table_t *t)
{
	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].strs);
	}
	secmem_table_free(t->e, t->cap * sizeof(entry_t));
	free(t);
}

static void source_free(kms_psk_source_t *src)
{
	table_free((table_t *)src);
}

static int source_lookup(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
			 kms_psk_t *out)
{
	const table_t *t = (const table_t *)src;
	if (t == NULL || psk_id == NULL || out == NULL || len == 0 ||
	    len > PSK_STATIC_ID_MAX) {
		return KMS_EAUTH;
	}
	key_ref_t k = { (const char *)psk_id, len };
	const entry_t *e = bsearch(&k, t->e, t->n, sizeof(entry_t), cmp_key);
	if (e == NULL) {
		return KMS_EAUTH;
	}
	if (e->expires != 0 && kms_clock_wall_s() >= e->expires) {
		return KMS_EAUTH;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->key, e->key, e->key_len);
	out->key_len = e->key_len;
	out->expires = e->expires;
	const char *p = e->strs + e->id_len + 1;
	for (size_t i = 0; i < e->nids; i++) {
		size_t l = strlen(p);
		memcpy(out->ids[i], p, l + 1);
		p += l + 1;
	}
	out->nids = e->nids;
	return KMS_EOK;
}

size_t psk_static_size(const kms_psk_source_t *src)
{
	return src != NULL ? ((const table_t *)src)->n : 0;
}

/* Append the identities of e's psk_id (statement prepared by the caller). */
static int load_ids(sqldb_stmt_t *ids, entry_t *e)
{
	size_t used = e->id_len + 1;
	int ret = KMS_EOK;
	int rc;
	sqldb_reset(ids);
	/* TRANSIENT: e->strs moves when it grows below. */
	sqldb_bind_text(ids, 1, e->strs, (int)e->id_len);
	while ((rc = sqldb_step(ids)) == SQLDB_ROW) {
		const char *s = (const char *)sqldb_column_text(ids, 0);
		size_t l = (size_t)sqldb_column_bytes(ids, 0);
		if (e->nids >= KMS_PSK_IDS_MAX) {
			ret = KMS_ELIMIT;
			break;
		}
		if (s == NULL || l == 0 || l > KMS_IDENTITY_MAX || strlen(s) != l) {
			ret = KMS_EIO;
			break;
		}
		char *p = realloc(e->strs, used + l + 1);
		if (p == NULL) {
			ret = KMS_ENOMEM;
			break;
		}
		e->strs = p;
		memcpy(p + used, s, l + 1);
		used += l + 1;
		e->nids++;
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	sqldb_reset(ids);
	if (ret != KMS_EOK) {
		log_error("psk: the identities of a user do not load: %s",
			  kms_strerror(ret));
	}
	return ret;
}

/* One psk_users row (psk_id, wrapped, key_len, expires) into e. */
static int load_user(sqldb_stmt_t *st, const uint8_t kek[PSK_STATIC_KEK_LEN], entry_t *e)
{
	const char *id = (const char *)sqldb_column_text(st, 0);
	size_t id_len = (size_t)sqldb_column_bytes(st, 0);
	const uint8_t *wrapped = sqldb_column_blob(st, 1);
	size_t wlen = (size_t)sqldb_column_bytes(st, 1);
	int64_t key_len = sqldb_column_int64(st, 2);
	if (id == NULL || id_len == 0 || id_len > PSK_STATIC_ID_MAX || wrapped == NULL ||
	    (key_len != 16 && key_len != 32) || wlen != (size_t)key_len + CRYPTO_KW_IV) {
		log_error("psk: a psk_users row is malformed");
		return KMS_EIO;
	}
	uint8_t iv[CRYPTO_KW_IV];
	int ret = wrap_iv(id, id_len, iv);
	if (ret == KMS_EOK) {
		ret = crypto_aes_kw_unwrap(kek, PSK_STATIC_KEK_LEN, iv, wrapped, wlen,
					   e->key);
	}
	if (ret != KMS_EOK) {
		log_error("psk: a key does not unwrap (wrong KEK or tampered row)");
		return ret;
	}
	e->key_len = (size_t)key_len;
	e->expires = sqldb_column_int64(st, 3);
	e->strs = malloc(id_len + 1);
	if (e->strs == NULL) {
		return KMS_ENOMEM;
	}
	memcpy(e->strs, id, id_len);
	e->strs[id_len] = '\0';
	e->id_len = id_len;
	return KMS_EOK;
}

/* The number of users in the store, within PSK_STATIC_USERS_MAX. */
static int count_users(sqldb_t *db, size_t *n)
{
	sqldb_stmt_t *st = NULL;
	int64_t count = 0;
	int ret = sqldb_prepare(db, "SELECT count(*) FROM psk_users", &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqldb_step(st);
	if (rc == SQLDB_ROW) {
		count = sqldb_column_int64(st, 0);
	} else {
		ret = rc == SQLDB_DONE ? KMS_EINTERNAL : sqldb_rc(rc);
	}
	sqldb_finalize(st);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (count < 0 || count > PSK_STATIC_USERS_MAX) {
		log_error("psk: %lld users in the store (max %d)", (long long)count,
			  PSK_STATIC_USERS_MAX);
		return KMS_ELIMIT;
	}
	*n = (size_t)count;
	return KMS_EOK;
}

/* Read up to t->cap users (by psk_id) with their identities into t. */
static int load_rows(sqldb_t *db, const uint8_t kek[PSK_STATIC_KEK_LEN], table_t *t)
{
	sqldb_stmt_t *users = NULL, *ids = NULL;
	size_t cap = t->cap;
	int ret = sqldb_prepare(db,
				"SELECT psk_id, wrapped, key_len, expires FROM psk_users "
				"ORDER BY psk_id LIMIT ?1",
				&users);
	if (ret == KMS_EOK) {
		ret =
		    sqldb_prepare(db,
				  "SELECT identity FROM psk_identities WHERE psk_id = ?1 "
				  "ORDER BY identity",
				  &ids);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	sqldb_bind_int64(users, 1, (int64_t)cap);
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && t->n < cap && (rc = sqldb_step(users)) == SQLDB_ROW) {
		entry_t *e = &t->e[t->n];
		ret = load_user(users, kek, e);
		if (ret == KMS_EOK) {
			t->n++; /* owned by the table from here on */
			ret = load_ids(ids, e);
		}
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE && rc != SQLDB_ROW) {
		ret = sqldb_rc(rc);
	}
cleanup:
	sqldb_finalize(users);
	sqldb_finalize(ids);
	return ret;
}

static int load_all(sqldb_t *db, const uint8_t kek[PSK_STATIC_KEK_LEN], table_t *t)
{
	size_t count = 0;
	int ret = count_users(db, &count);
	if (ret != KMS_EOK) {
		return ret;
	}
	t->e = secmem_table_alloc(count * sizeof(entry_t));
	if (t->e == NULL) {
		return KMS_ENOMEM;
	}
	t->cap = count;
	return load_rows(db, kek, t);
}

int psk_static_open(const char *db_path, const uint8_t kek[PSK_STATIC_KEK_LEN],
		    kms_psk_source_t **out)
{
	if (db_path == NULL || kek == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	table_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return KMS_ENOMEM;
	}
	t->base.lookup = source_lookup;
	t->base.free = source_free;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	/* One read transaction: both queries see the same snapshot. */
	if (ret == KMS_EOK) {
		ret = sqldb_begin_read(db);
	}
	if (ret == KMS_EOK) {
		ret = load_all(db, kek, t);
		sqldb_rollback(db);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	qsort(t->e, t->n, sizeof(entry_t), cmp_entry);
	log_info("psk: %zu static PSK users loaded", t->n);
	*out = &t->base;
	t = NULL;
cleanup:
	sqldb_close(db);
	table_free(t);
	return ret;
}

/* --- store operations (kmsctl) --------------------------------------------- */

static int check_add_args(const char *psk_id, const uint8_t *key, size_t key_len,
			  const char *const *ids, size_t nids, int64_t expires)
{
	if (psk_static_check_id(psk_id) != KMS_EOK || key == NULL ||
	    (key_len != 16 && key_len != 32) || ids == NULL || nids == 0 ||
	    nids > KMS_PSK_IDS_MAX || expires < 0) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < nids; i++) {
		if (psk_static_check_identity(ids[i]) != KMS_EOK) {
			return KMS_EINVAL;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(ids[i], ids[j]) == 0) {
				return KMS_EINVAL;
			}
		}
	}
	return KMS_EOK;
}

/* An existing user's key must unwrap under kek: never mix KEKs in a store. */
static int check_kek_locked(sqldb_t *db, const uint8_t kek[PSK_STATIC_KEK_LEN])
{
	sqldb_stmt_t *st = NULL;
	entry_t e;
	memset(&e, 0, sizeof(e));
	int ret = sqldb_prepare(db,
				"SELECT psk_id, wrapped, key_len, expires FROM psk_users "
				"LIMIT 1",
				&st);
	if (ret != KMS_EOK) {
		return ret;
	}
	int rc = sqldb_step(st);
	if (rc == SQLDB_ROW) {
		ret = load_user(st, kek, &e);
	} else if (rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
	sqldb_finalize(st);
	free(e.strs);
	secmem_wipe(&e, sizeof(e));
	return ret;
}

static int add_locked(sqldb_t *db, const uint8_t kek[PSK_STATIC_KEK_LEN],
		      const char *psk_id, const uint8_t *wrapped, size_t wlen,
		      size_t key_len, const char *const *ids, size_t nids,
		      int64_t expires)
{
	sqldb_stmt_t *st = NULL;
	int64_t count = 0;
	int ret = sqldb_query_int64(db, "SELECT count(*) FROM psk_users", &count);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (count >= PSK_STATIC_USERS_MAX) {
		return KMS_ELIMIT;
	}
	ret = check_kek_locked(db, kek);
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = sqldb_prepare(db,
			    "INSERT INTO psk_users (psk_id, wrapped, key_len, expires, "
			    "created) VALUES (?1, ?2, ?3, ?4, ?5)",
			    &st);
	if (ret != KMS_EOK) {
		return ret;
	}
	sqldb_bind_text(st, 1, psk_id, -1);
	sqldb_bind_blob(st, 2, wrapped, (int)wlen);
	sqldb_bind_int64(st, 3, (int64_t)key_len);
	sqldb_bind_int64(st, 4, expires);
	sqldb_bind_int64(st, 5, kms_clock_wall_s());
	ret = sqldb_step_done(st); /* KMS_EEXIST on a taken psk_id */
	sqldb_finalize(st);
	st = NULL;
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db,
				    "INSERT INTO psk_identities (psk_id, identity) "
				    "VALUES (?1, ?2)",
				    &st);
	}
	for (size_t i = 0; i < nids && ret == KMS_EOK; i++) {
		sqldb_reset(st);
		sqldb_bind_text(st, 1, psk_id, -1);
		sqldb_bind_text(st, 2, ids[i], -1);
		ret = sqldb_step_done(st);
	}
	sqldb_finalize(st);
	return ret;
}

typedef struct {
	const uint8_t *kek;
	const char *psk_id;
	const uint8_t *wrapped;
	size_t wlen, key_len;
	const char *const *ids;
	size_t nids;
	int64_t expires;
} add_tx_t;

static int add_tx(sqldb_t *db, void *ctx)
{
	const add_tx_t *t = ctx;
	return add_locked(db, t->kek, t->psk_id, t->wrapped, t->wlen, t->key_len, t->ids,
			  t->nids, t->expires);
}

int psk_static_add(const char *db_path, const uint8_t kek[PSK_STATIC_KEK_LEN],
		   const char *psk_id, const uint8_t *key, size_t key_len,
		   const char *const *ids, size_t nids, int64_t expires)
{
	if (db_path == NULL || kek == NULL ||
	    check_add_args(psk_id, key, key_len, ids, nids, expires) != KMS_EOK) {
		return KMS_EINVAL;
	}
	uint8_t wrapped[KMS_PSK_MAX + CRYPTO_KW_IV];
	uint8_t iv[CRYPTO_KW_IV];
	size_t wlen = key_len + CRYPTO_KW_IV;
	int ret = wrap_iv(psk_id, strlen(psk_id), iv);
	if (ret == KMS_EOK) {
		ret = crypto_aes_kw_wrap(kek, PSK_STATIC_KEK_LEN, iv, key, key_len,
					 wrapped);
	}
	if (ret == KMS_EOK) {
		add_tx_t t = { kek, psk_id, wrapped, wlen, key_len, ids, nids, expires };
		ret = schema_transact(db_path, SCHEMA_KMS, 1, add_tx, &t);
	}
	if (ret == KMS_EOK) {
		log_notice("psk: user added (%zu identities, %zu-byte key)", nids,
			   key_len);
	}
	secmem_wipe(wrapped, sizeof(wrapped));
	return ret;
}

int psk_static_remove(const char *db_path, const char *psk_id)
{
	if (db_path == NULL || psk_static_check_id(psk_id) != KMS_EOK) {
		return KMS_EINVAL;
	}
	return schema_delete(db_path, SCHEMA_KMS,
			     "DELETE FROM psk_users WHERE psk_id = ?1", psk_id, 0);
}

/* Fill info's identities from the prepared ids statement. */
static int list_ids(sqldb_stmt_t *ids, psk_static_info_t *info)
{
	sqldb_reset(ids);
	sqldb_bind_text(ids, 1, info->psk_id, -1);
	int rc;
	while ((rc = sqldb_step(ids)) == SQLDB_ROW && info->nids < KMS_PSK_IDS_MAX) {
		const unsigned char *s = (const unsigned char *)sqldb_column_text(ids, 0);
		size_t l = (size_t)sqldb_column_bytes(ids, 0);
		if (s == NULL || l > KMS_IDENTITY_MAX) {
			return KMS_EIO;
		}
		memcpy(info->ids[info->nids++], s, l + 1);
	}
	sqldb_reset(ids);
	return rc == SQLDB_DONE || rc == SQLDB_ROW ? KMS_EOK : sqldb_rc(rc);
}

int psk_static_list(const char *db_path, psk_static_list_fn fn, void *ctx)
{
	if (db_path == NULL || fn == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	sqldb_stmt_t *users = NULL, *ids = NULL;
	psk_static_info_t *info = calloc(1, sizeof(*info));
	if (info == NULL) {
		return KMS_ENOMEM;
	}
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(
		    db,
		    "SELECT psk_id, key_len, expires, created FROM psk_users "
		    "ORDER BY psk_id LIMIT ?1",
		    &users);
	}
	if (ret == KMS_EOK) {
		ret =
		    sqldb_prepare(db,
				  "SELECT identity FROM psk_identities WHERE psk_id = ?1 "
				  "ORDER BY identity",
				  &ids);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	sqldb_bind_int(users, 1, PSK_STATIC_USERS_MAX);
	int rc = SQLDB_DONE;
	while (ret == KMS_EOK && (rc = sqldb_step(users)) == SQLDB_ROW) {
		memset(info, 0, sizeof(*info));
		const unsigned char *id =
		    (const unsigned char *)sqldb_column_text(users, 0);
		size_t l = (size_t)sqldb_column_bytes(users, 0);
		if (id == NULL || l > PSK_STATIC_ID_MAX) {
			ret = KMS_EIO;
			break;
		}
		memcpy(info->psk_id, id, l + 1);
		info->key_len = (size_t)sqldb_column_int64(users, 1);
		info->expires = sqldb_column_int64(users, 2);
		info->created = sqldb_column_int64(users, 3);
		ret = list_ids(ids, info);
		if (ret == KMS_EOK) {
			ret = fn(ctx, info);
		}
	}
	if (ret == KMS_EOK && rc != SQLDB_DONE) {
		ret = sqldb_rc(rc);
	}
cleanup:
	sqldb_finalize(users);
	sqldb_finalize(ids);
	sqldb_close(db);
	free(info);
	return ret;
}
