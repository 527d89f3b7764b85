/*
 * The shared replay check (kms/replay_shared.h) against a real PostgreSQL:
 * KMS_TEST_PG is a libpq connection string of a database the test may
 * write into (tests/system/kmsd_replay_shared.sh runs this binary on its
 * own cluster).  Without it only the checks that need no server run.
 * Every test uses random digests, so runs against one database do not
 * meet each other's rows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "kms/replay_shared.h"
#include "sql/db.h"
#include "tests/unit/unit.h"

static char loc[1024];

static void digest_new(uint8_t d[REPLAY_DIGEST_LEN])
{
	CU_ASSERT_FATAL(crypto_random(d, REPLAY_DIGEST_LEN) == KMS_EOK);
}

static replay_shared_t *open_node(unsigned conns, bool serve)
{
	replay_shared_opts_t o;
	replay_shared_opts_default(&o);
	o.locator = loc;
	o.conns = conns;
	o.serve_on_failure = serve;
	o.skew = 300;
	o.sweep_ms = 0; /* the tests sweep themselves */
	replay_shared_t *rs = NULL;
	CU_ASSERT_FATAL(replay_shared_open(&o, &rs) == KMS_EOK);
	return rs;
}

/* Run constant SQL on the test's own connection. */
static void exec_sql(const char *sql)
{
	sqldb_t *db = NULL;
	CU_ASSERT_FATAL(sqldb_open(loc, 0, &db) == KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_exec(db, sql), KMS_EOK);
	sqldb_close(db);
}

/* Rows holding digest d. */
static int64_t rows_of(const uint8_t *d)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	int64_t n = -1;
	CU_ASSERT_FATAL(sqldb_open(loc, 0, &db) == KMS_EOK);
	CU_ASSERT_FATAL(sqldb_prepare(db, "SELECT count(*) FROM replay WHERE digest = ?1",
				      &st) == KMS_EOK);
	CU_ASSERT_EQUAL(sqldb_bind_blob(st, 1, d, REPLAY_DIGEST_LEN), KMS_EOK);
	if (sqldb_step(st) == SQLDB_ROW) {
		n = sqldb_column_int64(st, 0);
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return n;
}

static void given_sqlite_locator_when_opened_then_refused(void)
{
	replay_shared_opts_t o;
	replay_shared_t *rs = NULL;
	replay_shared_opts_default(&o);
	o.locator = "/tmp/kms.db";
	CU_ASSERT_EQUAL(replay_shared_open(&o, &rs), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(rs);
	replay_shared_close(NULL);
}

static void given_two_nodes_when_one_accepts_then_both_refuse(void)
{
	replay_shared_t *a = open_node(2, false), *b = open_node(1, false);
	uint8_t d[REPLAY_DIGEST_LEN], e[REPLAY_DIGEST_LEN];
	digest_new(d);
	digest_new(e);
	CU_ASSERT_EQUAL(replay_shared_check(a, d, 2000000000), KMS_EOK);
	CU_ASSERT_EQUAL(replay_shared_check(b, d, 2000000000), KMS_EREPLAY);
	CU_ASSERT_EQUAL(replay_shared_check(a, d, 2000000000), KMS_EREPLAY);
	CU_ASSERT_EQUAL(replay_shared_check(b, e, 2000000000), KMS_EOK);
	CU_ASSERT_EQUAL(rows_of(d), 1);
	replay_shared_stats_t s;
	replay_shared_stats(b, &s);
	CU_ASSERT_EQUAL(s.checks, 2);
	CU_ASSERT_EQUAL(s.replays, 1);
	CU_ASSERT_EQUAL(s.refused + s.served, 0);
	CU_ASSERT(s.up);
	replay_shared_close(a);
	replay_shared_close(b);
}

typedef struct {
	replay_shared_t *rs;
	const uint8_t *d;
	int ret;
} racer_t;

static void *race(void *arg)
{
	racer_t *r = arg;
	r->ret = replay_shared_check(r->rs, r->d, 2000000000);
	return NULL;
}

/* Six threads on a pool of two connections, one message: one wins. */
static void given_threads_racing_one_message_when_checked_then_one_accepted(void)
{
	replay_shared_t *rs = open_node(2, false);
	uint8_t d[REPLAY_DIGEST_LEN];
	digest_new(d);
	racer_t r[6];
	pthread_t t[6];
	for (size_t i = 0; i < 6; i++) {
		r[i] = (racer_t){ rs, d, -1 };
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, race, &r[i]) == 0);
	}
	int ok = 0, replays = 0;
	for (size_t i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		ok += r[i].ret == KMS_EOK;
		replays += r[i].ret == KMS_EREPLAY;
	}
	CU_ASSERT_EQUAL(ok, 1);
	CU_ASSERT_EQUAL(replays, 5);
	replay_shared_close(rs);
}

/* Rows go one skew after they expire, in batches, and only those. */
static void given_expired_rows_when_swept_then_only_those_past_the_grace_go(void)
{
	replay_shared_t *rs = open_node(1, false);
	uint8_t old[REPLAY_DIGEST_LEN], grace[REPLAY_DIGEST_LEN], live[REPLAY_DIGEST_LEN];
	digest_new(old);
	digest_new(grace);
	digest_new(live);
	const int64_t now = 1000000; /* long before any real row's expiry */
	CU_ASSERT_EQUAL(replay_shared_check(rs, old, now - 301), KMS_EOK);
	CU_ASSERT_EQUAL(replay_shared_check(rs, grace, now - 300), KMS_EOK);
	CU_ASSERT_EQUAL(replay_shared_check(rs, live, now + 10), KMS_EOK);
	uint64_t n = 0;
	CU_ASSERT_EQUAL(replay_shared_sweep(rs, now, &n), KMS_EOK);
	CU_ASSERT(n >= 1);
	CU_ASSERT_EQUAL(rows_of(old), 0);
	CU_ASSERT_EQUAL(rows_of(grace), 1);
	CU_ASSERT_EQUAL(rows_of(live), 1);
	/* Once swept, the message is new to the store again (its timestamp
	 * keeps it out: this is why only expired rows go). */
	CU_ASSERT_EQUAL(replay_shared_check(rs, old, now - 301), KMS_EOK);
	CU_ASSERT_EQUAL(replay_shared_sweep(rs, now + 1000, &n), KMS_EOK);
	CU_ASSERT(n >= 3);
	CU_ASSERT_EQUAL(rows_of(live), 0);
	replay_shared_close(rs);
}

/* Inserts fail (a CHECK every row breaks) while broken() holds. */
static void break_store(bool on)
{
	exec_sql(on ? "ALTER TABLE replay ADD CONSTRAINT test_broken CHECK (expires < 0) "
		      "NOT VALID"
		    : "ALTER TABLE replay DROP CONSTRAINT test_broken");
}

static void outage(bool serve)
{
	kms_clock_fake_start(1000000, 1700000000);
	replay_shared_t *rs = open_node(1, serve);
	uint8_t d[REPLAY_DIGEST_LEN], e[REPLAY_DIGEST_LEN];
	digest_new(d);
	digest_new(e);
	int want = serve ? KMS_EOK : KMS_EUNAVAIL;
	break_store(true);
	CU_ASSERT_EQUAL(replay_shared_check(rs, d, 2000000000), want);
	replay_shared_stats_t s;
	replay_shared_stats(rs, &s);
	CU_ASSERT(!s.up);
	/* Back, but inside retry_ms checks still fail without asking. */
	break_store(false);
	kms_clock_fake_advance(REPLAY_SHARED_RETRY_MS - 1);
	CU_ASSERT_EQUAL(replay_shared_check(rs, d, 2000000000), want);
	CU_ASSERT_EQUAL(rows_of(d), 0);
	kms_clock_fake_advance(1);
	CU_ASSERT_EQUAL(replay_shared_check(rs, d, 2000000000), KMS_EOK);
	CU_ASSERT_EQUAL(replay_shared_check(rs, d, 2000000000), KMS_EREPLAY);
	CU_ASSERT_EQUAL(rows_of(d), 1);
	replay_shared_stats(rs, &s);
	CU_ASSERT(s.up);
	CU_ASSERT_EQUAL(s.checks, 4);
	CU_ASSERT_EQUAL(serve ? s.served : s.refused, 2);
	CU_ASSERT_EQUAL(serve ? s.refused : s.served, 0);
	replay_shared_close(rs);
	kms_clock_fake_stop();
}

static void given_store_failing_when_refuse_then_unavail_until_retry(void)
{
	outage(false);
}

static void given_store_failing_when_local_then_served_and_counted(void)
{
	outage(true);
}

/* The sweeping thread starts and stops at once (no wait for its period). */
static void given_sweeper_thread_when_closed_then_joins(void)
{
	replay_shared_opts_t o;
	replay_shared_opts_default(&o);
	o.locator = loc;
	o.sweep_ms = 600000;
	replay_shared_t *rs = NULL;
	CU_ASSERT_FATAL(replay_shared_open(&o, &rs) == KMS_EOK);
	replay_shared_close(rs);
}

int main(void)
{
	static const unit_test_t base[] = {
		UNIT_TEST(given_sqlite_locator_when_opened_then_refused),
		UNIT_END,
	};
	static const unit_test_t pg[] = {
		UNIT_TEST(given_sqlite_locator_when_opened_then_refused),
		UNIT_TEST(given_two_nodes_when_one_accepts_then_both_refuse),
		UNIT_TEST(
		    given_threads_racing_one_message_when_checked_then_one_accepted),
		UNIT_TEST(
		    given_expired_rows_when_swept_then_only_those_past_the_grace_go),
		UNIT_TEST(given_store_failing_when_refuse_then_unavail_until_retry),
		UNIT_TEST(given_store_failing_when_local_then_served_and_counted),
		UNIT_TEST(given_sweeper_thread_when_closed_then_joins),
		UNIT_END,
	};
	const char *ci = getenv("KMS_TEST_PG");
	if (ci == NULL || ci[0] == '\0') {
		printf("KMS_TEST_PG not set: the PostgreSQL tests are skipped\n");
		return unit_run("replay_shared", base);
	}
	snprintf(loc, sizeof(loc), "%s%s", SQLDB_PG_PREFIX, ci);
	return unit_run("replay_shared", pg);
}
