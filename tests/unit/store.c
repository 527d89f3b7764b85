/* Store locators for the store tests: see tests/unit/store.h. */
#include "tests/unit/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errcode.h"
#include "sql/db.h"

/* The connection that creates and drops the schemas, opened on first use. */
static sqldb_t *admin;
static unsigned n_schemas;
static char last_schema[64];

bool unit_store_pg(void)
{
	const char *v = getenv(UNIT_STORE_ENV);
	return v != NULL && v[0] != '\0';
}

const char *unit_store_schema(void)
{
	return last_schema;
}

bool unit_store_skip(const char *test, const char *why)
{
	if (!unit_store_pg()) {
		return false;
	}
	printf("  SKIP %s on PostgreSQL: %s\n", test, why);
	return true;
}

static void schema_name(char *out, size_t cap, unsigned n)
{
	snprintf(out, cap, "t_%ld_%u", (long)getpid(), n);
}

/* Drop what this process created.  A connection a failed test leaked may
 * still hold a lock: wait a little, never forever (the throwaway cluster
 * of store_pg.sh goes anyway). */
static void drop_schemas(void)
{
	char sql[128], name[64];
	if (admin == NULL) {
		return;
	}
	(void)sqldb_exec(admin, "SET lock_timeout = '5s'");
	for (unsigned i = 1; i <= n_schemas; i++) {
		schema_name(name, sizeof(name), i);
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", name);
		(void)sqldb_exec(admin, sql);
	}
	sqldb_close(admin);
	admin = NULL;
}

static void die(const char *what)
{
	fprintf(stderr, "unit_store: %s\n", what);
	abort();
}

static void pg_store(char *loc, size_t cap)
{
	const char *conninfo = getenv(UNIT_STORE_ENV);
	char admin_loc[1024], sql[128];
	/* The schema goes in as one more keyword=value pair, which a
	 * postgresql:// URI cannot take. */
	if (strstr(conninfo, "://") != NULL || strstr(conninfo, "options") != NULL) {
		die(UNIT_STORE_ENV " must be keyword=value pairs without options");
	}
	if (admin == NULL) {
		int n = snprintf(admin_loc, sizeof(admin_loc), "%s%s", SQLDB_PG_PREFIX,
				 conninfo);
		if (n < 0 || (size_t)n >= sizeof(admin_loc) ||
		    sqldb_open(admin_loc, 0, &admin) != KMS_EOK) {
			die("cannot connect to " UNIT_STORE_ENV);
		}
		atexit(drop_schemas);
	}
	schema_name(last_schema, sizeof(last_schema), ++n_schemas);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", last_schema);
	if (sqldb_exec(admin, sql) != KMS_EOK) {
		die("CREATE SCHEMA failed");
	}
	int n = snprintf(loc, cap, "%s%s options='-c search_path=%s'", SQLDB_PG_PREFIX,
			 conninfo, last_schema);
	if (n < 0 || (size_t)n >= cap) {
		die("locator too long");
	}
}

void unit_store(char *loc, size_t cap, const char *dir, const char *name)
{
	if (unit_store_pg()) {
		pg_store(loc, cap);
		return;
	}
	last_schema[0] = '\0';
	int n = snprintf(loc, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap) {
		die("path too long");
	}
}
