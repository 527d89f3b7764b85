/*
 * Store locators for the store tests, so that one suite runs against both
 * backends.
 *
 * Without KMS_TEST_PG, unit_store() names a SQLite file in a scratch
 * directory.  With KMS_TEST_PG set to a libpq connection string in
 * keyword=value form ("host=127.0.0.1 port=5432 dbname=kms user=kms"), it
 * creates a new, empty schema in that database for every call and returns
 * "postgresql:<KMS_TEST_PG> options='-c search_path=<schema>'", so every
 * test starts from an empty store as it does with a new file.  The schemas
 * are dropped when the program exits (tests/system/store_pg.sh runs the
 * binaries on a throwaway cluster anyway).
 *
 * Tests that only make sense for SQLite (file modes, WAL, PRAGMAs, a file
 * holding another store) start with UNIT_SQLITE_ONLY(), which skips them on
 * PostgreSQL with a visible line on stdout.
 */
#ifndef KMS_TESTS_UNIT_STORE_H
#define KMS_TESTS_UNIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The environment variable that selects PostgreSQL. */
#define UNIT_STORE_ENV "KMS_TEST_PG"

/* The tests run against PostgreSQL (KMS_TEST_PG is set and not empty). */
bool unit_store_pg(void);

/* A fresh store locator into loc: dir/name (SQLite) or a new schema
 * (PostgreSQL).  Aborts when it cannot make one: the test cannot run. */
void unit_store(char *loc, size_t cap, const char *dir, const char *name);

/* The schema name of the last PostgreSQL store made ("" for SQLite), for
 * tests that look at the server's catalog. */
const char *unit_store_schema(void);

/* true (and a "SKIP" line naming test and why) when running on PostgreSQL. */
bool unit_store_skip(const char *test, const char *why);

#define UNIT_SQLITE_ONLY(why)                                                            \
	do {                                                                             \
		if (unit_store_skip(__func__, why)) {                                    \
			return;                                                          \
		}                                                                        \
	} while (0)

/* The mirror of UNIT_SQLITE_ONLY for the checks of the PostgreSQL backend. */
#define UNIT_PG_ONLY()                                                                   \
	do {                                                                             \
		if (!unit_store_pg()) {                                                  \
			printf("  SKIP %s: PostgreSQL only (set " UNIT_STORE_ENV ")\n",  \
			       __func__);                                                \
			return;                                                          \
		}                                                                        \
	} while (0)

#endif
