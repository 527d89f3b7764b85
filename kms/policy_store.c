#include "kms/policy_store.h"

#include <inttypes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "sql/db.h"
#include "sql/schema.h"

static const char sql_select[] =
    "SELECT id, priority, initiator, responder, effect, max_validity, reuse, "
    "group_ok, init_keys, initiator_tickets, responder_rand, responder_keys "
    "FROM policy_rules ORDER BY priority DESC, id";

/* A rule pattern is valid when it has a stored form (identity_pattern_canon). */
int policy_store_check_pattern(const char *s)
{
	char c[IDENTITY_MAX + 1];
	return identity_pattern_canon(s, c, sizeof(c), NULL) == KMS_EOK ? KMS_EOK
									: KMS_EINVAL;
}

static int row_to_rule(sqldb_stmt_t *st, policy_rule_t *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqldb_column_int64(st, 0);
	int64_t prio = sqldb_column_int64(st, 1);
	const char *ini = (const char *)sqldb_column_text(st, 2);
	const char *resp = (const char *)sqldb_column_text(st, 3);
	int64_t eff = sqldb_column_int64(st, 4);
	int64_t mv = sqldb_column_int64(st, 5);
	if (ini == NULL || resp == NULL || strlen(ini) > IDENTITY_MAX ||
	    strlen(resp) > IDENTITY_MAX || prio < -2147483647 || prio > 2147483647 ||
	    mv < 0 || mv > UINT32_MAX) {
		return KMS_EIO;
	}
	r->priority = (int)prio;
	snprintf(r->initiator, sizeof(r->initiator), "%s", ini);
	snprintf(r->responder, sizeof(r->responder), "%s", resp);
	r->effect = eff == 1 ? POLICY_DENY : POLICY_ALLOW;
	r->max_validity = (uint32_t)mv;
	r->reuse = sqldb_column_int64(st, 6) != 0;
	r->group_ok = sqldb_column_int64(st, 7) != 0;
	r->init_keys = sqldb_column_int64(st, 8) != 0;
	r->initiator_tickets = sqldb_column_int64(st, 9) != 0;
	r->responder_rand = sqldb_column_int64(st, 10) != 0;
	r->responder_keys = sqldb_column_int64(st, 11) != 0;
	return KMS_EOK;
}

int policy_store_list(const char *db_path, int (*fn)(void *ctx, const policy_rule_t *r),
		      void *ctx)
{
	if (db_path == NULL || fn == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(db, sql_select, &st);
	}
	int rc;
	while (ret == KMS_EOK && (rc = sqldb_step(st)) != SQLDB_DONE) {
		policy_rule_t r;
		if (rc != SQLDB_ROW) {
			ret = sqldb_rc(rc);
			break;
		}
		ret = row_to_rule(st, &r);
		if (ret == KMS_EOK) {
			ret = fn(ctx, &r);
		}
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}

typedef struct {
	policy_rule_t *v;
	size_t n, cap;
} rule_vec_t;

/* A stored pattern policy_set_new() will have to use as it is: say so. */
static void warn_pattern(const policy_rule_t *r, const char *pattern)
{
	char c[IDENTITY_MAX + 1];
	const char *why = NULL;
	if (identity_pattern_canon(pattern, c, sizeof(c), &why) != KMS_EOK) {
		log_warning("policy: rule %" PRId64
			    ": pattern '%s' is used as stored: %s",
			    r->id, pattern, why);
	}
}

static int collect(void *ctx, const policy_rule_t *r)
{
	rule_vec_t *vec = ctx;
	warn_pattern(r, r->initiator);
	warn_pattern(r, r->responder);
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 16;
		policy_rule_t *nv = realloc(vec->v, cap * sizeof(*nv));
		if (nv == NULL) {
			return KMS_ENOMEM;
		}
		vec->v = nv;
		vec->cap = cap;
	}
	vec->v[vec->n++] = *r;
	return KMS_EOK;
}

int policy_store_load(const char *db_path, const policy_defaults_t *def,
		      policy_set_t **out)
{
	if (def == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	rule_vec_t vec = { NULL, 0, 0 };
	int ret = policy_store_list(db_path, collect, &vec);
	if (ret == KMS_EOK) {
		ret = policy_set_new(vec.v, vec.n, def, out);
	}
	free(vec.v);
	return ret;
}

int policy_store_add(const char *db_path, const policy_rule_t *r, int64_t *id)
{
	char ini[IDENTITY_MAX + 1], resp[IDENTITY_MAX + 1];
	if (db_path == NULL || r == NULL || id == NULL ||
	    r->priority < POLICY_STORE_PRIORITY_MIN ||
	    r->priority > POLICY_STORE_PRIORITY_MAX ||
	    memchr(r->initiator, '\0', sizeof(r->initiator)) == NULL ||
	    memchr(r->responder, '\0', sizeof(r->responder)) == NULL ||
	    identity_pattern_canon(r->initiator, ini, sizeof(ini), NULL) != KMS_EOK ||
	    identity_pattern_canon(r->responder, resp, sizeof(resp), NULL) != KMS_EOK) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_prepare(
		    db,
		    "INSERT INTO policy_rules (priority, initiator, "
		    "responder, effect, max_validity, reuse, group_ok, "
		    "init_keys, initiator_tickets, responder_rand, responder_keys) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
		    &st);
	}
	if (ret == KMS_EOK) {
		sqldb_bind_int64(st, 1, r->priority);
		sqldb_bind_text(st, 2, ini, -1);
		sqldb_bind_text(st, 3, resp, -1);
		sqldb_bind_int64(st, 4, r->effect == POLICY_DENY ? 1 : 0);
		sqldb_bind_int64(st, 5, (int64_t)r->max_validity);
		sqldb_bind_int64(st, 6, r->reuse ? 1 : 0);
		sqldb_bind_int64(st, 7, r->group_ok ? 1 : 0);
		sqldb_bind_int64(st, 8, r->init_keys ? 1 : 0);
		sqldb_bind_int64(st, 9, r->initiator_tickets ? 1 : 0);
		sqldb_bind_int64(st, 10, r->responder_rand ? 1 : 0);
		sqldb_bind_int64(st, 11, r->responder_keys ? 1 : 0);
		int rc = sqldb_step(st);
		if (rc == SQLDB_ROW) {
			*id = sqldb_column_int64(st, 0);
		}
		ret = rc == SQLDB_ROW ? KMS_EOK : rc == SQLDB_DONE ? KMS_EIO : rc;
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return ret;
}

int policy_store_remove(const char *db_path, int64_t id)
{
	if (db_path == NULL) {
		return KMS_EINVAL;
	}
	return schema_delete(db_path, SCHEMA_KMS,
			     "DELETE FROM policy_rules WHERE id = ?1", NULL, id);
}

int kms_db_version(const char *db_path, int64_t *version)
{
	if (db_path == NULL || version == NULL) {
		return KMS_EINVAL;
	}
	sqldb_t *db = NULL;
	int ret = schema_open(db_path, SCHEMA_KMS, 0, &db);
	if (ret == KMS_EOK) {
		ret = sqldb_query_int64(
		    db,
		    "SELECT (SELECT version FROM policy_version WHERE one = 1)"
		    " + (SELECT version FROM store_version WHERE one = 1)",
		    version);
	}
	sqldb_close(db);
	return ret;
}
