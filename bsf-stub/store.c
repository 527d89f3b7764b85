/*
 * The bsf-stubd subscriber store over sql/db.h.  Every statement is
 * constant text prepared once per connection; values are bound.
 */
#include "bsf-stub/store.h"

#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "sql/db.h"
#include "sql/schema.h"

enum {
	Q_SUB_ADD,
	Q_IMPU_ADD,
	Q_NAF_ADD,
	Q_SUB_GET,
	Q_SQN_SET,
	Q_NAF_GROUP,
	Q_SESSION_PUT,
	Q_SESSION_PURGE,
	Q_SESSION_GET,
	Q_IMPUS,
	Q_COUNT_,
};

static const char *const queries[Q_COUNT_] = {
	[Q_SUB_ADD] = "INSERT INTO subscribers (impi, k, opc, amf, sqn) "
		      "VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_IMPU_ADD] = "INSERT OR IGNORE INTO impus (impi, impu, naf_group) "
		       "VALUES (?1, ?2, ?3)",
	[Q_NAF_ADD] = "INSERT INTO nafs (fqdn, naf_group) VALUES (?1, ?2) "
		      "ON CONFLICT (fqdn) DO UPDATE SET naf_group = excluded.naf_group",
	[Q_SUB_GET] = "SELECT k, opc, amf, sqn FROM subscribers WHERE impi = ?1",
	[Q_SQN_SET] = "UPDATE subscribers SET sqn = ?2 WHERE impi = ?1",
	[Q_NAF_GROUP] = "SELECT naf_group FROM nafs WHERE fqdn = ?1",
	[Q_SESSION_PUT] = "INSERT INTO sessions (btid, impi, rand, ks, created, expires) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_SESSION_PURGE] = "DELETE FROM sessions WHERE expires < ?1",
	[Q_SESSION_GET] = "SELECT impi, rand, ks, created, expires FROM sessions "
			  "WHERE btid = ?1",
	[Q_IMPUS] = "SELECT impu FROM impus WHERE impi = ?1 AND naf_group = ?2 "
		    "ORDER BY rowid LIMIT ?3",
};

struct bsf_store {
	sqldb_t *db;
	sqldb_stmt_t *q[Q_COUNT_];
};

void bsf_store_close(bsf_store_t *st)
{
	if (st == NULL) {
		return;
	}
	for (size_t i = 0; i < Q_COUNT_; i++) {
		sqldb_finalize(st->q[i]);
	}
	sqldb_close(st->db);
	free(st);
}

int bsf_store_open(const char *path, int create, bsf_store_t **out)
{
	if (path == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	bsf_store_t *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		return KMS_ENOMEM;
	}
	int ret = schema_open(path, SCHEMA_BSF, create, &st->db);
	for (size_t i = 0; ret == KMS_EOK && i < Q_COUNT_; i++) {
		ret = sqldb_prepare(st->db, queries[i], &st->q[i]);
	}
	if (ret != KMS_EOK) {
		bsf_store_close(st);
		return ret;
	}
	*out = st;
	return KMS_EOK;
}

/* Take statement i, reset and unbound. */
static sqldb_stmt_t *stmt(bsf_store_t *st, int i)
{
	sqldb_reset(st->q[i]);
	sqldb_clear_bindings(st->q[i]);
	return st->q[i];
}

/* Reset after use: a reset statement holds no read transaction. */
static void done(sqldb_stmt_t *s)
{
	sqldb_reset(s);
	sqldb_clear_bindings(s);
}

static int bind_text(sqldb_stmt_t *s, int i, const char *v)
{
	return sqldb_bind_text(s, i, v, -1) == KMS_EOK ? KMS_EOK : KMS_EINTERNAL;
}

static int bind_blob(sqldb_stmt_t *s, int i, const uint8_t *v, size_t len)
{
	return sqldb_bind_blob(s, i, v, (int)len) == KMS_EOK ? KMS_EOK : KMS_EINTERNAL;
}

static int bind_int(sqldb_stmt_t *s, int i, int64_t v)
{
	return sqldb_bind_int64(s, i, v) == KMS_EOK ? KMS_EOK : KMS_EINTERNAL;
}

/* Copy a BLOB column of exactly len bytes. */
static int column_blob(sqldb_stmt_t *s, int i, uint8_t *out, size_t len)
{
	const void *p = sqldb_column_blob(s, i);
	if (p == NULL || (size_t)sqldb_column_bytes(s, i) != len) {
		return KMS_EIO;
	}
	memcpy(out, p, len);
	return KMS_EOK;
}

int bsf_store_sub_add(bsf_store_t *st, const char *impi, const uint8_t k[16],
		      const uint8_t opc[16], const uint8_t amf[2], uint64_t sqn)
{
	if (st == NULL || impi == NULL || sqn > BSF_SQN_MAX) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_SUB_ADD);
	int ret = bind_text(s, 1, impi);
	if (ret == KMS_EOK) {
		ret = bind_blob(s, 2, k, 16);
	}
	if (ret == KMS_EOK) {
		ret = bind_blob(s, 3, opc, 16);
	}
	if (ret == KMS_EOK) {
		ret = bind_blob(s, 4, amf, 2);
	}
	if (ret == KMS_EOK) {
		ret = bind_int(s, 5, (int64_t)sqn);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(s);
	}
	done(s);
	return ret;
}

int bsf_store_impu_add(bsf_store_t *st, const char *impi, const char *impu,
		       const char *group)
{
	if (st == NULL || impi == NULL || impu == NULL || group == NULL) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_IMPU_ADD);
	int ret = bind_text(s, 1, impi);
	if (ret == KMS_EOK) {
		ret = bind_text(s, 2, impu);
	}
	if (ret == KMS_EOK) {
		ret = bind_text(s, 3, group);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(s);
		/* The only constraint left after OR IGNORE: no such subscriber. */
		if (ret == KMS_EEXIST) {
			ret = KMS_ENOENT;
		}
	}
	done(s);
	return ret;
}

int bsf_store_naf_add(bsf_store_t *st, const char *fqdn, const char *group)
{
	if (st == NULL || fqdn == NULL || group == NULL) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_NAF_ADD);
	int ret = bind_text(s, 1, fqdn);
	if (ret == KMS_EOK) {
		ret = bind_text(s, 2, group);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(s);
	}
	done(s);
	return ret;
}

int bsf_store_sub_get(bsf_store_t *st, const char *impi, bsf_sub_t *out)
{
	bsf_sub_t sub;
	if (st == NULL || impi == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_SUB_GET);
	int ret = bind_text(s, 1, impi);
	if (ret == KMS_EOK) {
		int rc = sqldb_step(s);
		if (rc == SQLDB_DONE) {
			ret = KMS_ENOENT;
		} else if (rc != SQLDB_ROW) {
			ret = sqldb_rc(rc);
		}
	}
	if (ret == KMS_EOK) {
		ret = column_blob(s, 0, sub.k, sizeof(sub.k));
	}
	if (ret == KMS_EOK) {
		ret = column_blob(s, 1, sub.opc, sizeof(sub.opc));
	}
	if (ret == KMS_EOK) {
		ret = column_blob(s, 2, sub.amf, sizeof(sub.amf));
	}
	if (ret == KMS_EOK) {
		int64_t v = sqldb_column_int64(s, 3);
		ret = v >= 0 && (uint64_t)v <= BSF_SQN_MAX ? KMS_EOK : KMS_EIO;
		sub.sqn = (uint64_t)v;
	}
	done(s);
	if (ret == KMS_EOK) {
		*out = sub;
	}
	secmem_wipe(&sub, sizeof(sub));
	return ret;
}

int bsf_store_sqn_set(bsf_store_t *st, const char *impi, uint64_t sqn)
{
	if (st == NULL || impi == NULL || sqn > BSF_SQN_MAX) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_SQN_SET);
	int ret = bind_text(s, 1, impi);
	if (ret == KMS_EOK) {
		ret = bind_int(s, 2, (int64_t)sqn);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(s);
	}
	if (ret == KMS_EOK && sqldb_changes(st->db) != 1) {
		ret = KMS_ENOENT;
	}
	done(s);
	return ret;
}

int bsf_store_sqn_next(bsf_store_t *st, const char *impi, bsf_sub_t *out)
{
	bsf_sub_t sub;
	if (st == NULL || impi == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = sqldb_begin(st->db);
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = bsf_store_sub_get(st, impi, &sub);
	if (ret == KMS_EOK && sub.sqn >= BSF_SQN_MAX) {
		ret = KMS_ERANGE;
	}
	if (ret == KMS_EOK) {
		sub.sqn++;
		ret = bsf_store_sqn_set(st, impi, sub.sqn);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_commit(st->db);
	}
	if (ret == KMS_EOK) {
		*out = sub;
	} else {
		sqldb_rollback(st->db);
	}
	secmem_wipe(&sub, sizeof(sub));
	return ret;
}

int bsf_store_naf_group(bsf_store_t *st, const char *fqdn, char *group, size_t cap)
{
	if (st == NULL || fqdn == NULL || group == NULL || cap == 0) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_NAF_GROUP);
	int ret = bind_text(s, 1, fqdn);
	if (ret == KMS_EOK) {
		int rc = sqldb_step(s);
		if (rc == SQLDB_DONE) {
			ret = KMS_ENOENT;
		} else if (rc != SQLDB_ROW) {
			ret = sqldb_rc(rc);
		}
	}
	if (ret == KMS_EOK) {
		const unsigned char *g = (const unsigned char *)sqldb_column_text(s, 0);
		size_t n = (size_t)sqldb_column_bytes(s, 0);
		if (g == NULL || n >= cap) {
			ret = KMS_EIO;
		} else {
			memcpy(group, g, n);
			group[n] = '\0';
		}
	}
	done(s);
	return ret;
}

int bsf_store_session_put(bsf_store_t *st, const char *btid, const bsf_session_t *sess,
			  int64_t purge_before)
{
	if (st == NULL || btid == NULL || sess == NULL) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_SESSION_PURGE);
	int ret = bind_int(s, 1, purge_before);
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(s);
	}
	done(s);
	if (ret != KMS_EOK) {
		return ret;
	}
	s = stmt(st, Q_SESSION_PUT);
	ret = bind_text(s, 1, btid);
	if (ret == KMS_EOK) {
		ret = bind_text(s, 2, sess->impi);
	}
	if (ret == KMS_EOK) {
		ret = bind_blob(s, 3, sess->rand, sizeof(sess->rand));
	}
	if (ret == KMS_EOK) {
		ret = bind_blob(s, 4, sess->ks, sizeof(sess->ks));
	}
	if (ret == KMS_EOK) {
		ret = bind_int(s, 5, sess->created);
	}
	if (ret == KMS_EOK) {
		ret = bind_int(s, 6, sess->expires);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_step_done(s);
	}
	done(s);
	return ret;
}

int bsf_store_session_get(bsf_store_t *st, const char *btid, bsf_session_t *out)
{
	bsf_session_t sess;
	if (st == NULL || btid == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	memset(&sess, 0, sizeof(sess));
	sqldb_stmt_t *s = stmt(st, Q_SESSION_GET);
	int ret = bind_text(s, 1, btid);
	if (ret == KMS_EOK) {
		int rc = sqldb_step(s);
		if (rc == SQLDB_DONE) {
			ret = KMS_ENOENT;
		} else if (rc != SQLDB_ROW) {
			ret = sqldb_rc(rc);
		}
	}
	if (ret == KMS_EOK) {
		const unsigned char *impi =
		    (const unsigned char *)sqldb_column_text(s, 0);
		size_t n = (size_t)sqldb_column_bytes(s, 0);
		if (impi == NULL || n >= sizeof(sess.impi)) {
			ret = KMS_EIO;
		} else {
			memcpy(sess.impi, impi, n);
		}
	}
	if (ret == KMS_EOK) {
		ret = column_blob(s, 1, sess.rand, sizeof(sess.rand));
	}
	if (ret == KMS_EOK) {
		ret = column_blob(s, 2, sess.ks, sizeof(sess.ks));
	}
	if (ret == KMS_EOK) {
		sess.created = sqldb_column_int64(s, 3);
		sess.expires = sqldb_column_int64(s, 4);
	}
	done(s);
	if (ret == KMS_EOK) {
		*out = sess;
	}
	secmem_wipe(&sess, sizeof(sess));
	return ret;
}

int bsf_store_impus(bsf_store_t *st, const char *impi, const char *group, bsf_impu_cb cb,
		    void *arg)
{
	if (st == NULL || impi == NULL || group == NULL || cb == NULL) {
		return KMS_EINVAL;
	}
	sqldb_stmt_t *s = stmt(st, Q_IMPUS);
	int ret = bind_text(s, 1, impi);
	if (ret == KMS_EOK) {
		ret = bind_text(s, 2, group);
	}
	if (ret == KMS_EOK) {
		ret = bind_int(s, 3, BSF_IMPUS_MAX);
	}
	while (ret == KMS_EOK) {
		int rc = sqldb_step(s);
		if (rc == SQLDB_DONE) {
			break;
		}
		if (rc != SQLDB_ROW) {
			ret = sqldb_rc(rc);
			break;
		}
		const unsigned char *u = (const unsigned char *)sqldb_column_text(s, 0);
		if (u == NULL) {
			ret = KMS_EIO;
			break;
		}
		ret = cb((const char *)u, arg);
	}
	done(s);
	return ret;
}
