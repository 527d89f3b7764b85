/*
 * The resolve-once record (kms/resolve_once.h): key separation, expiry
 * and sweeping on the caller's clock, the SQLite row bound, a reopen, a
 * race of threads on one key and the store failing.  Every test runs on a
 * fresh SQLite file; with KMS_TEST_PG (a libpq connection string, as
 * tests/system/kmsd_resolve_once.sh sets it) the same tests run again on
 * PostgreSQL, except the row bound (SQLite only).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "kms/resolve_once.h"
#include "sql/db.h"
#include "tests/unit/unit.h"

#define T0 1700000000

static char loc[1100];
static char dir[64];
static bool pg;
static unsigned seq;

/* A fresh store: a new SQLite file, or PostgreSQL emptied. */
static void fresh(void)
{
	if (pg) {
		sqldb_t *db = NULL;
		if (sqldb_open(loc, 0, &db) == KMS_EOK) {
			(void)sqldb_exec(db, "DELETE FROM resolve_once");
		}
		sqldb_close(db);
		return;
	}
	snprintf(loc, sizeof(loc), "%s/once-%u.db", dir, ++seq);
}

static resolve_once_t *open_max(size_t max, bool serve)
{
	resolve_once_opts_t o;
	resolve_once_opts_default(&o);
	o.locator = loc;
	o.conns = 4;
	o.max_entries = max;
	o.serve_on_failure = serve;
	o.grace = 60;
	resolve_once_t *ro = NULL;
	CU_ASSERT_FATAL(resolve_once_open(&o, &ro) == KMS_EOK);
	return ro;
}

static void key_of(const char *ticket, const char *id, uint8_t k[RESOLVE_ONCE_KEY_LEN])
{
	CU_ASSERT_FATAL(resolve_once_key((const uint8_t *)ticket, strlen(ticket), id,
					 strlen(id), k) == KMS_EOK);
}

static void given_ticket_and_identity_when_keyed_then_each_pair_apart(void)
{
	uint8_t a[32], b[32], c[32], d[32], e[32];
	key_of("ticket-1", "carol@example.org", a);
	key_of("ticket-1", "carol@example.org", b);
	key_of("ticket-1", "dave@example.org", c);
	key_of("ticket-2", "carol@example.org", d);
	CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, c, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, d, 32), 0);
	/* The lengths are hashed: no other cut of the same bytes collides. */
	key_of("ticket-1c", "arol@example.org", e);
	CU_ASSERT_NOT_EQUAL(memcmp(a, e, 32), 0);
	/* Domain-separated: not the bare SHA-256 of the ticket and identity. */
	uint8_t plain[32];
	crypto_iov_t iov[] = { { (const uint8_t *)"ticket-1", 8 },
			       { (const uint8_t *)"carol@example.org", 17 } };
	CU_ASSERT_FATAL(crypto_hash(CRYPTO_MD_SHA256, iov, 2, plain) == KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(a, plain, 32), 0);
	CU_ASSERT_EQUAL(resolve_once_key((const uint8_t *)"t", 1, "", 0, e), KMS_EINVAL);
	CU_ASSERT_EQUAL(resolve_once_key(NULL, 0, "x", 1, e), KMS_EINVAL);
}

static void given_recorded_when_same_identity_again_then_refused_others_pass(void)
{
	fresh();
	resolve_once_t *ro = open_max(1000, false);
	uint8_t carol[32], dave[32];
	key_of("group-ticket", "carol@example.org", carol);
	key_of("group-ticket", "dave@example.org", dave);
	CU_ASSERT_EQUAL(resolve_once_check(ro, carol, T0 + 3600, T0), KMS_EOK);
	CU_ASSERT_EQUAL(resolve_once_check(ro, dave, T0 + 3600, T0), KMS_EOK);
	CU_ASSERT_EQUAL(resolve_once_check(ro, carol, T0 + 3600, T0 + 1), KMS_EREPLAY);
	CU_ASSERT_EQUAL(resolve_once_check(ro, dave, T0 + 3600, T0 + 3600), KMS_EREPLAY);
	resolve_once_stats_t s;
	resolve_once_stats(ro, &s);
	CU_ASSERT_EQUAL(s.recorded, 2);
	CU_ASSERT_EQUAL(s.reused, 2);
	CU_ASSERT_EQUAL(s.rows, pg ? 0 : 2);
	CU_ASSERT(s.up);
	resolve_once_close(ro);
}

/* A row is live until expires; after it the key is new again (the ticket
 * itself is refused as expired by then), and the sweep deletes it only
 * once the grace has passed too. */
static void given_rows_when_time_passes_then_expired_and_swept_after_grace(void)
{
	fresh();
	resolve_once_t *ro = open_max(1000, false);
	uint8_t k[32], live[32];
	key_of("short", "carol@example.org", k);
	key_of("long", "carol@example.org", live);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 100, T0), KMS_EOK);
	CU_ASSERT_EQUAL(resolve_once_check(ro, live, T0 + 10000, T0), KMS_EOK);
	uint64_t n = 99;
	CU_ASSERT_EQUAL(resolve_once_sweep(ro, T0 + 100 + 60, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 0); /* inside the grace */
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 100, T0 + 100), KMS_EREPLAY);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 200, T0 + 101), KMS_EOK);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 200, T0 + 102), KMS_EREPLAY);
	CU_ASSERT_EQUAL(resolve_once_sweep(ro, T0 + 200 + 61, &n), KMS_EOK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(resolve_once_check(ro, live, T0 + 10000, T0 + 262), KMS_EREPLAY);
	resolve_once_stats_t s;
	resolve_once_stats(ro, &s);
	CU_ASSERT_EQUAL(s.swept, 1);
	CU_ASSERT_EQUAL(s.rows, pg ? 0 : 1);
	resolve_once_close(ro);
}

/* Full of live rows: refused (KMS_ENOSPC), nothing evicted; once rows
 * expire past the grace, the check that finds it full sweeps them. */
static void given_full_record_when_checked_then_refused_until_rows_expire(void)
{
	fresh();
	resolve_once_t *ro = open_max(4, false);
	uint8_t k[5][32];
	char id[32];
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "member%d@example.org", i);
		key_of("bounded", id, k[i]);
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(resolve_once_check(ro, k[i], T0 + 100 * (i + 1), T0),
				KMS_EOK);
	}
	CU_ASSERT_EQUAL(resolve_once_check(ro, k[4], T0 + 1000, T0 + 1), KMS_ENOSPC);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k[0], T0 + 100, T0 + 1), KMS_EREPLAY);
	resolve_once_stats_t s;
	resolve_once_stats(ro, &s);
	CU_ASSERT_EQUAL(s.full, 1);
	CU_ASSERT_EQUAL(s.rows, 4);
	/* Row 0 expired at T0 + 100; gone at T0 + 161 (grace 60). */
	CU_ASSERT_EQUAL(resolve_once_check(ro, k[4], T0 + 1000, T0 + 160), KMS_ENOSPC);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k[4], T0 + 1000, T0 + 161), KMS_EOK);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k[1], T0 + 200, T0 + 162), KMS_EREPLAY);
	resolve_once_stats(ro, &s);
	CU_ASSERT_EQUAL(s.rows, 4);
	resolve_once_close(ro);
}

/* A restart: the record and its row count come back from the store. */
static void given_recorded_when_reopened_then_still_refused(void)
{
	fresh();
	resolve_once_t *ro = open_max(1000, false);
	uint8_t k[32];
	key_of("kept", "carol@example.org", k);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 3600, T0), KMS_EOK);
	resolve_once_close(ro);
	ro = open_max(1000, false);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 3600, T0 + 5), KMS_EREPLAY);
	resolve_once_stats_t s;
	resolve_once_stats(ro, &s);
	CU_ASSERT_EQUAL(s.rows, pg ? 0 : 1);
	resolve_once_close(ro);
}

#define RACERS 8
typedef struct {
	resolve_once_t *ro;
	const uint8_t *key;
	int ret;
} racer_t;

static void *race(void *arg)
{
	racer_t *r = arg;
	r->ret = resolve_once_check(r->ro, r->key, T0 + 3600, T0);
	return NULL;
}

/* Two stores (as two nodes) and threads on one key: one wins. */
static void given_racing_checks_of_one_key_when_run_then_one_recorded(void)
{
	fresh();
	resolve_once_t *a = open_max(1000, false);
	resolve_once_t *b = open_max(1000, false);
	uint8_t k[32];
	key_of("raced", "carol@example.org", k);
	pthread_t t[RACERS];
	racer_t r[RACERS];
	for (int i = 0; i < RACERS; i++) {
		r[i] = (racer_t){ i % 2 ? a : b, k, -1 };
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, race, &r[i]) == 0);
	}
	int won = 0, lost = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		won += r[i].ret == KMS_EOK;
		lost += r[i].ret == KMS_EREPLAY;
	}
	CU_ASSERT_EQUAL(won, 1);
	CU_ASSERT_EQUAL(lost, RACERS - 1);
	resolve_once_close(a);
	resolve_once_close(b);
}

/* Inserts fail while on: a trigger (SQLite), a constraint (PostgreSQL). */
static void break_store(bool on)
{
	static const char *const lite[] = {
		"CREATE TRIGGER test_broken BEFORE INSERT ON resolve_once "
		"BEGIN SELECT RAISE(ABORT, 'broken by the test'); END",
		"DROP TRIGGER test_broken",
	};
	static const char *const pgsql[] = {
		"ALTER TABLE resolve_once ADD CONSTRAINT test_broken CHECK (expires < 0) "
		"NOT VALID",
		"ALTER TABLE resolve_once DROP CONSTRAINT test_broken",
	};
	sqldb_t *db = NULL;
	CU_ASSERT_FATAL(sqldb_open(loc, 0, &db) == KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(db, (pg ? pgsql : lite)[on ? 0 : 1]), KMS_EOK);
	sqldb_close(db);
}

static void outage(bool serve)
{
	fresh();
	kms_clock_fake_start(1000000, T0);
	resolve_once_t *ro = open_max(1000, serve);
	uint8_t k[32];
	key_of("outage", "carol@example.org", k);
	int want = serve ? KMS_EOK : KMS_EUNAVAIL;
	break_store(true);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 3600, T0), want);
	resolve_once_stats_t s;
	resolve_once_stats(ro, &s);
	CU_ASSERT(!s.up);
	/* Back, but inside retry_ms checks still fail without asking. */
	break_store(false);
	kms_clock_fake_advance(RESOLVE_ONCE_RETRY_MS - 1);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 3600, T0), want);
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 3600, T0), KMS_EOK);
	CU_ASSERT_EQUAL(resolve_once_check(ro, k, T0 + 3600, T0), KMS_EREPLAY);
	resolve_once_stats(ro, &s);
	CU_ASSERT(s.up);
	CU_ASSERT_EQUAL(s.failed, 2);
	CU_ASSERT_EQUAL(s.recorded, 1);
	resolve_once_close(ro);
	kms_clock_fake_stop();
}

static void given_store_failing_when_refuse_then_unavail_until_retry(void)
{
	outage(false);
}

static void given_store_failing_when_local_then_served_unrecorded(void)
{
	outage(true);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_ticket_and_identity_when_keyed_then_each_pair_apart),
		UNIT_TEST(
		    given_recorded_when_same_identity_again_then_refused_others_pass),
		UNIT_TEST(given_rows_when_time_passes_then_expired_and_swept_after_grace),
		UNIT_TEST(given_full_record_when_checked_then_refused_until_rows_expire),
		UNIT_TEST(given_recorded_when_reopened_then_still_refused),
		UNIT_TEST(given_racing_checks_of_one_key_when_run_then_one_recorded),
		UNIT_TEST(given_store_failing_when_refuse_then_unavail_until_retry),
		UNIT_TEST(given_store_failing_when_local_then_served_unrecorded),
		UNIT_END,
	};
	static const unit_test_t pg_tests[] = {
		UNIT_TEST(
		    given_recorded_when_same_identity_again_then_refused_others_pass),
		UNIT_TEST(given_rows_when_time_passes_then_expired_and_swept_after_grace),
		UNIT_TEST(given_recorded_when_reopened_then_still_refused),
		UNIT_TEST(given_racing_checks_of_one_key_when_run_then_one_recorded),
		UNIT_TEST(given_store_failing_when_refuse_then_unavail_until_retry),
		UNIT_TEST(given_store_failing_when_local_then_served_unrecorded),
		UNIT_END,
	};
	if (crypto_init() != KMS_EOK) {
		return 99;
	}
	const char *ci = getenv("KMS_TEST_PG");
	if (ci != NULL && ci[0] != '\0') {
		pg = true;
		snprintf(loc, sizeof(loc), "%s%s", SQLDB_PG_PREFIX, ci);
		/* The schema (replay store, version 2) before the first DELETE. */
		resolve_once_opts_t o;
		resolve_once_opts_default(&o);
		o.locator = loc;
		resolve_once_t *ro = NULL;
		if (resolve_once_open(&o, &ro) != KMS_EOK) {
			return 99;
		}
		resolve_once_close(ro);
		return unit_run("resolve_once_pg", pg_tests);
	}
	snprintf(dir, sizeof(dir), "%s", "/tmp/test_resolve_once.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 99;
	}
	int rc = unit_run("resolve_once", tests);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? rc : 99;
}
