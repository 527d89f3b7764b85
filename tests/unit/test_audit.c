/* Audit writer: every record lands, a full queue refuses instead of
 * blocking, the flush interval runs on the injectable clock
 * (common/clock.h), a store that cannot be written makes the log refuse
 * (and not ready) until it recovers by itself, unauthenticated refusals are
 * sampled, and a durable row is committed before audit_log() returns. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "kms/audit.h"
#include "sql/db.h"
#include "tests/unit/store.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];

static void setup(void)
{
	unit_tmpdir(dir);
	unit_store(db_path, sizeof(db_path), dir, "audit.db");
}

/* Open db_path with the defaults and a queue of q records. */
static int open_q(size_t q, audit_t **a)
{
	audit_opts_t o;
	audit_opts_default(&o);
	o.queue_max = q;
	return audit_open(db_path, &o, a);
}

static void make_rec(audit_rec_t *r, int i)
{
	memset(r, 0, sizeof(*r));
	r->time_ms = 1700000000000LL + i;
	snprintf(r->rid, sizeof(r->rid), "rid-%d", i);
	snprintf(r->requester, sizeof(r->requester), "user%d@example.org", i);
	r->msg_type = (uint8_t)(i % 2 ? 13 : 16);
	r->decision = i % 3 != 0;
	r->error = r->decision ? KMS_EOK : KMS_EPOLICY;
	r->ticket_key_id = r->decision ? 7 : 0;
	r->reason = i % 5 == 0 ? "responder dropped" : NULL;
}

static long long sql_count(const char *sql)
{
	sqldb_t *db = NULL;
	sqldb_stmt_t *st = NULL;
	long long v = -1;
	if (sqldb_open(db_path, 0, &db) == KMS_EOK &&
	    sqldb_prepare(db, sql, &st) == KMS_EOK && sqldb_step(st) == SQLDB_ROW) {
		v = sqldb_column_int64(st, 0);
	}
	sqldb_finalize(st);
	sqldb_close(db);
	return v;
}

#define FLUSH_MS 200 /* AUDIT_FLUSH_MS */

/* Wait (real time, bounded well under the SQLite busy timeout) until the
 * writer thread has taken every queued record: a hand-off between real
 * threads, so a condition, not a clock, ends it.  True once taken. */
static int wait_until_taken(audit_t *a)
{
	struct timespec ms1 = { 0, 1000000L };
	for (int i = 0; i < 3000 && audit_queued(a) > 0; i++) {
		nanosleep(&ms1, NULL);
	}
	return audit_queued(a) == 0;
}

static void given_10000_records_when_logged_then_close_leaves_10000_rows(void)
{
	setup();
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(65536, &a), KMS_EOK);
	audit_rec_t r;
	for (int i = 0; i < 10000; i++) {
		make_rec(&r, i);
		audit_log(a, &r);
	}
	CU_ASSERT_EQUAL(audit_dropped(a), 0);
	audit_close(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 10000);
	CU_ASSERT_EQUAL(
	    sql_count("SELECT count(*) FROM audit WHERE rid = 'rid-3' AND "
		      "requester = 'user3@example.org' AND error = 'KMS_EPOLICY' "
		      "AND decision = 0 AND msg_type = 13 AND ticket_key_id = 0 "
		      "AND time_ms = 1700000000003"),
	    1);
	CU_ASSERT_EQUAL(
	    sql_count("SELECT count(*) FROM audit WHERE error = 'KMS_EOK' AND "
		      "decision = 1 AND ticket_key_id = 7"),
	    6666);
	/* Every row holds its own record's values in the right columns (rows
	 * go 32 to an INSERT statement, the rest one by one). */
	CU_ASSERT_EQUAL(
	    sql_count(
		"SELECT count(*) FROM (SELECT *, time_ms - 1700000000000 AS i "
		"FROM audit) AS s WHERE rid = 'rid-' || i AND "
		"requester = 'user' || i || '@example.org' AND "
		"msg_type = CASE WHEN i % 2 = 1 THEN 13 ELSE 16 END AND "
		"decision = CASE WHEN i % 3 != 0 THEN 1 ELSE 0 END AND "
		"error = CASE WHEN i % 3 != 0 THEN 'KMS_EOK' ELSE 'KMS_EPOLICY' END "
		"AND ticket_key_id = CASE WHEN i % 3 != 0 THEN 7 ELSE 0 END "
		"AND reason = CASE WHEN i % 5 = 0 THEN 'responder dropped' ELSE '' END"),
	    10000);
	/* Queue order is kept. */
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit a JOIN audit b "
				  "ON b.id = a.id + 1 WHERE b.time_ms != a.time_ms + 1"),
			0);
	unit_rmdir(dir);
}

static void given_one_record_when_fake_interval_passes_then_flushed_not_before(void)
{
	setup();
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(1000, &a), KMS_EOK);
	audit_rec_t r;
	make_rec(&r, 1);
	audit_log(a, &r);
	/* The clock stands still: however often the writer looks, no flush. */
	for (int i = 0; i < 3; i++) {
		audit_tick(a);
	}
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 0);
	CU_ASSERT_EQUAL(audit_queued(a), 1);
	/* One millisecond short of the interval: still queued. */
	kms_clock_fake_advance(FLUSH_MS - 1);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 0);
	CU_ASSERT_EQUAL(audit_queued(a), 1);
	/* The interval has passed: written by the time the writer has looked. */
	kms_clock_fake_advance(1);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 1);
	CU_ASSERT_EQUAL(audit_queued(a), 0);
	/* The interval restarts at that flush: the next record waits a whole
	 * interval again. */
	make_rec(&r, 2);
	audit_log(a, &r);
	kms_clock_fake_advance(FLUSH_MS - 1);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 1);
	kms_clock_fake_advance(1);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 2);
	audit_close(a);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_full_batch_when_clock_stands_still_then_flushed_at_once(void)
{
	setup();
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(8, &a), KMS_EOK);
	audit_rec_t r;
	for (int i = 0; i < 7; i++) {
		make_rec(&r, i);
		audit_log(a, &r);
	}
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 0);
	make_rec(&r, 7);
	audit_log(a, &r); /* the queue's batch (8) is ready: no interval needed */
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 8);
	audit_close(a);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

/* Hold the audit table's write lock from another connection: a write
 * transaction in SQLite; in PostgreSQL, where writers of a table do not wait
 * for each other, a table lock that conflicts with INSERT. */
static int block_writers(sqldb_t *blocker)
{
	int ret = sqldb_begin(blocker);
	if (ret == KMS_EOK && sqldb_kind(blocker) == SQLDB_PG) {
		ret = sqldb_exec(blocker, "LOCK TABLE audit IN EXCLUSIVE MODE");
	}
	return ret;
}

static void given_writer_blocked_by_other_writer_when_queue_fills_then_drops(void)
{
	setup();
	/* On the fake clock (standing still) only a full queue (10) wakes the
	 * writer, so which records it takes is decided by the test alone. */
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(10, &a), KMS_EOK);
	/* A second connection holds the write lock. */
	sqldb_t *blocker = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &blocker), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(block_writers(blocker), KMS_EOK);
	audit_rec_t r;
	for (int i = 0; i < 10; i++) {
		make_rec(&r, i);
		audit_log(a, &r);
	}
	/* The writer takes those 10 and blocks on the lock. */
	CU_ASSERT_FATAL(wait_until_taken(a));
	int refused = 0;
	for (int i = 10; i < 100; i++) {
		make_rec(&r, i);
		refused += audit_log(a, &r) == KMS_EAUDIT; /* never blocks */
	}
	/* 10 in the blocked writer, 10 queued, the other 80 dropped: their
	 * requests are refused (503) and counted. */
	CU_ASSERT_EQUAL(audit_dropped(a), 80);
	CU_ASSERT_EQUAL(refused, 80);
	CU_ASSERT_EQUAL(audit_queued(a), 10);
	CU_ASSERT(audit_refusing(a));
	char why[200];
	CU_ASSERT_FALSE(audit_ready(a, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "queue full"));
	sqldb_rollback(blocker);
	sqldb_close(blocker);
	audit_close(a); /* returns: no deadlock */
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE count = 1"), 20);
	/* The first 20 in order, none of the dropped ones. */
	CU_ASSERT_EQUAL(sql_count("SELECT max(time_ms) - 1700000000000 FROM audit "
				  "WHERE count = 1"),
			19);
	/* The 80 refusals: one sampled row. */
	CU_ASSERT_EQUAL(sql_count("SELECT count FROM audit WHERE error = 'KMS_EAUDIT' "
				  "AND decision = 0 AND rid = 'rid-20'"),
			80);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_unterminated_strings_when_logged_then_stored_truncated(void)
{
	setup();
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(16, &a), KMS_EOK);
	audit_rec_t r;
	memset(&r, 'A', sizeof(r));
	r.error = KMS_EMAC;
	r.reason = NULL; /* a pointer to a static string, not a buffer */
	r.msg_type_name = NULL;
	audit_log(a, &r);
	audit_close(a);
	CU_ASSERT_EQUAL(sql_count("SELECT length(rid) FROM audit"), AUDIT_RID_MAX);
	CU_ASSERT_EQUAL(sql_count("SELECT length(requester) FROM audit"), AUDIT_ID_MAX);
	CU_ASSERT_EQUAL(sql_count("SELECT length(responders) FROM audit"),
			AUDIT_RESP_MAX);
	CU_ASSERT_EQUAL(sql_count("SELECT length(peer_kms) FROM audit"), AUDIT_PEER_MAX);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE error = 'KMS_EMAC'"),
			1);
	unit_rmdir(dir);
}

/* Schema version 4: names, responders, the peer KMS, and a readable time
 * computed from time_ms (milliseconds kept, UTC). */
static void given_named_record_when_logged_then_names_and_rfc3339_time(void)
{
	setup();
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(16, &a), KMS_EOK);
	audit_rec_t r;
	make_rec(&r, 7);
	r.time_ms = 1764700000123LL; /* 2025-12-02T18:26:40.123Z */
	r.msg_type_name = "RESOLVE_INIT_PSK";
	snprintf(r.responders, sizeof(r.responders), "bob@example.org,*.dept@x.org");
	snprintf(r.peer_kms, sizeof(r.peer_kms), "kms2.example.org");
	audit_log(a, &r);
	audit_close(a);
	/* SQLite's generated column; PostgreSQL has time_ms only. */
	if (!unit_store_pg()) {
		CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE time = "
					  "'2025-12-02T18:26:40.123Z'"),
				1);
	}
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE msg_type_name = "
				  "'RESOLVE_INIT_PSK' AND peer_kms = 'kms2.example.org' "
				  "AND responders = 'bob@example.org,*.dept@x.org'"),
			1);
	unit_rmdir(dir);
}

typedef struct {
	audit_t *a;
	int base;
} producer_t;

static void *produce(void *arg)
{
	producer_t *p = arg;
	audit_rec_t r;
	for (int i = 0; i < 2500; i++) {
		make_rec(&r, p->base + i);
		audit_log(p->a, &r);
	}
	return NULL;
}

static void given_four_threads_when_logging_then_every_record_lands(void)
{
	setup();
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(20000, &a), KMS_EOK);
	pthread_t th[4];
	producer_t p[4];
	for (int i = 0; i < 4; i++) {
		p[i].a = a;
		p[i].base = i * 2500;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
	}
	CU_ASSERT_EQUAL(audit_dropped(a), 0);
	audit_close(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(DISTINCT rid) FROM audit"), 10000);
	unit_rmdir(dir);
}

static void given_bad_arguments_when_open_then_einval_and_null_is_noop(void)
{
	setup();
	audit_t *a = NULL;
	audit_rec_t r;
	make_rec(&r, 0);
	CU_ASSERT_EQUAL(open_q(0, &a), KMS_EINVAL);
	CU_ASSERT_EQUAL(open_q((size_t)1 << 30, &a), KMS_EINVAL);
	audit_opts_t o;
	audit_opts_default(&o);
	CU_ASSERT_EQUAL(audit_open(NULL, &o, &a), KMS_EINVAL);
	CU_ASSERT_EQUAL(audit_open(db_path, NULL, &a), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_EQUAL(audit_log(NULL, &r), KMS_EOK);
	audit_sample(NULL, &r);
	CU_ASSERT(audit_ready(NULL, NULL, 0));
	CU_ASSERT_FALSE(audit_refusing(NULL));
	CU_ASSERT_EQUAL(audit_dropped(NULL), 0);
	CU_ASSERT_EQUAL(audit_queued(NULL), 0);
	audit_tick(NULL);
	audit_close(NULL);
	/* A store of another kind is refused. */
	char other[UNIT_PATH_MAX];
	unit_path(other, dir, "kms.db");
	sqldb_t *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(other, 1, &db), KMS_EOK);
	CU_ASSERT_EQUAL(
	    sqldb_exec(db, "CREATE TABLE schema_version (store TEXT PRIMARY KEY, "
			   "version INTEGER NOT NULL); INSERT INTO schema_version "
			   "VALUES ('kms', 1);"),
	    KMS_EOK);
	sqldb_close(db);
	CU_ASSERT_EQUAL(audit_open(other, &o, &a), KMS_ECONFIG);
	unit_rmdir(dir);
}

#define RETRY_MS 200	/* AUDIT_RETRY_MS */
#define SAMPLE_MS 10000 /* the default sampling interval */

/* A record whose row takes a few hundred bytes: 64 of them need pages. */
static void make_big(audit_rec_t *r, int i)
{
	make_rec(r, i);
	memset(r->requester, 'x', AUDIT_ID_MAX);
	r->requester[AUDIT_ID_MAX] = '\0';
	snprintf(r->client, sizeof(r->client), "192.0.2.%d", i % 200);
}

/* Fill the store: the writer's next write needs pages beyond the cap. */
static void log_big(audit_t *a, int from, int n, int want)
{
	audit_rec_t r;
	for (int i = from; i < from + n; i++) {
		make_big(&r, i);
		CU_ASSERT_EQUAL(audit_log(a, &r), want);
	}
}

static void given_store_full_when_batch_fails_then_refusing_until_it_recovers(void)
{
	UNIT_SQLITE_ONLY("audit.max_size (a page cap)");
	setup();
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	char why[200];
	audit_stats_t st;
	CU_ASSERT_EQUAL_FATAL(open_q(1000, &a), KMS_EOK);
	audit_max_size_set(a, 1); /* no page more than the store has now */
	log_big(a, 0, 64, KMS_EOK);
	CU_ASSERT(audit_ready(a, why, sizeof(why)));
	/* The flush fails: the store is full. */
	kms_clock_fake_advance(FLUSH_MS);
	audit_tick(a);
	CU_ASSERT_FALSE(audit_ready(a, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "full"));
	CU_ASSERT(audit_refusing(a));
	log_big(a, 64, 3, KMS_EAUDIT); /* refused: their answers will be 503 */
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 0);
	/* Retried after the interval, still full: nothing is dropped. */
	kms_clock_fake_advance(RETRY_MS);
	audit_tick(a);
	audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.failures, 2);
	CU_ASSERT_EQUAL(st.refused, 3);
	CU_ASSERT_EQUAL(st.dropped, 0);
	CU_ASSERT_FALSE(audit_ready(a, why, sizeof(why)));
	/* Room again: the held rows are written and the log takes more. */
	audit_max_size_set(a, 0);
	kms_clock_fake_advance(RETRY_MS);
	audit_tick(a);
	CU_ASSERT(audit_ready(a, why, sizeof(why)));
	CU_ASSERT_FALSE(audit_refusing(a));
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 64);
	log_big(a, 67, 1, KMS_EOK);
	audit_close(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE count = 1 AND "
				  "length(requester) = 256 AND client LIKE '192.0.2.%' "
				  "AND error != 'KMS_EAUDIT'"),
			65);
	/* The three refusals: counted by client, each with its first rid. */
	CU_ASSERT_EQUAL(sql_count("SELECT sum(count) FROM audit WHERE error = "
				  "'KMS_EAUDIT' AND decision = 0"),
			3);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE rid = 'rid-64' "
				  "AND client = '192.0.2.64' AND count = 1"),
			1);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_serve_mode_when_store_full_then_answers_and_keeps_rows(void)
{
	UNIT_SQLITE_ONLY("audit.max_size (a page cap)");
	setup();
	kms_clock_fake_start(5000000, 1700000000);
	audit_opts_t o;
	audit_opts_default(&o);
	o.refuse = false;
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(audit_open(db_path, &o, &a), KMS_EOK);
	audit_max_size_set(a, 1);
	log_big(a, 0, 64, KMS_EOK);
	kms_clock_fake_advance(FLUSH_MS);
	audit_tick(a);
	/* Failing, yet serving and ready. */
	CU_ASSERT(audit_ready(a, NULL, 0));
	CU_ASSERT_FALSE(audit_refusing(a));
	log_big(a, 64, 10, KMS_EOK);
	audit_stats_t st;
	audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.refused, 0);
	audit_max_size_set(a, 0);
	kms_clock_fake_advance(RETRY_MS);
	audit_tick(a);
	audit_close(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 74);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void sample_from(audit_t *a, int i, const char *client, int error)
{
	audit_rec_t r;
	make_rec(&r, i);
	r.decision = 0;
	r.error = error;
	snprintf(r.client, sizeof(r.client), "%s", client);
	audit_sample(a, &r);
}

static void given_1000_refusals_from_3_clients_when_interval_passes_then_3_rows(void)
{
	setup();
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(1000, &a), KMS_EOK);
	char client[AUDIT_ADDR_MAX + 1];
	for (int i = 0; i < 1000; i++) {
		snprintf(client, sizeof(client), "2001:db8::%d", i % 3);
		sample_from(a, i, client, KMS_EMAC);
	}
	/* Not before the sampling interval. */
	kms_clock_fake_advance(SAMPLE_MS - 1);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 0);
	kms_clock_fake_advance(1);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 3);
	CU_ASSERT_EQUAL(sql_count("SELECT sum(count) FROM audit"), 1000);
	CU_ASSERT_EQUAL(sql_count("SELECT count FROM audit WHERE client = '2001:db8::0' "
				  "AND rid = 'rid-0' AND error = 'KMS_EMAC'"),
			334);
	/* The next interval starts empty; another error is another row. */
	sample_from(a, 1000, "2001:db8::0", KMS_EMAC);
	sample_from(a, 1001, "2001:db8::0", KMS_EMALFORMED);
	kms_clock_fake_advance(SAMPLE_MS);
	audit_tick(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), 5);
	audit_close(a);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_more_clients_than_sampled_when_flushed_then_rest_in_one_row(void)
{
	setup();
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_q(1000, &a), KMS_EOK);
	char client[AUDIT_ADDR_MAX + 1];
	for (int i = 0; i < 3000; i++) {
		snprintf(client, sizeof(client), "10.%d.%d.1", i / 256, i % 256);
		sample_from(a, i, client, KMS_EFEWDATA);
	}
	audit_stats_t st;
	audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.sampled, 3000);
	audit_close(a);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), AUDIT_SAMPLE_MAX + 1);
	CU_ASSERT_EQUAL(sql_count("SELECT sum(count) FROM audit"), 3000);
	CU_ASSERT_EQUAL(sql_count("SELECT count FROM audit WHERE client = '*'"),
			3000 - AUDIT_SAMPLE_MAX);
	unit_rmdir(dir);
}

static int open_durable(uint32_t timeout_ms, audit_t **a)
{
	audit_opts_t o;
	audit_opts_default(&o);
	o.queue_max = 1000;
	o.durable = true;
	o.durable_timeout_ms = timeout_ms;
	return audit_open(db_path, &o, a);
}

static void given_durable_when_log_returns_then_row_is_committed(void)
{
	setup();
	/* The clock stands still: no flush interval ever passes. */
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_durable(60000, &a), KMS_EOK);
	audit_rec_t r;
	for (int i = 0; i < 5; i++) {
		make_rec(&r, i);
		CU_ASSERT_EQUAL(audit_log(a, &r), KMS_EOK);
		CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), i + 1);
	}
	audit_close(a);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_durable_when_store_full_then_refused_and_row_says_503(void)
{
	UNIT_SQLITE_ONLY("audit.max_size (a page cap)");
	setup();
	kms_clock_fake_start(5000000, 1700000000);
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_durable(60000, &a), KMS_EOK);
	audit_max_size_set(a, 1);
	audit_rec_t r;
	int ok = 0, i = 0, ret = KMS_EOK;
	for (; i < 500 && ret == KMS_EOK; i++) {
		make_big(&r, i);
		ret = audit_log(a, &r);
		ok += ret == KMS_EOK;
	}
	/* Every answered row is in the store; the refused one is not yet. */
	CU_ASSERT_EQUAL_FATAL(ret, KMS_EAUDIT);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit"), ok);
	CU_ASSERT(audit_refusing(a));
	audit_max_size_set(a, 0);
	kms_clock_fake_advance(RETRY_MS);
	audit_tick(a);
	CU_ASSERT_FALSE(audit_refusing(a));
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM audit WHERE rid = 'rid-%d' AND "
		 "error = 'KMS_EAUDIT' AND decision = 0 AND count = 1",
		 i - 1);
	CU_ASSERT_EQUAL(sql_count(sql), 1);
	CU_ASSERT_EQUAL(sql_count("SELECT count(*) FROM audit WHERE decision = 1"),
			sql_count("SELECT count(*) FROM audit WHERE error = 'KMS_EOK'"));
	audit_close(a);
	kms_clock_fake_stop();
	unit_rmdir(dir);
}

static void given_durable_when_commit_too_slow_then_503_and_row_says_so(void)
{
	setup();
	audit_t *a = NULL;
	CU_ASSERT_EQUAL_FATAL(open_durable(50, &a), KMS_EOK);
	/* Another connection holds the write lock: the commit cannot come. */
	sqldb_t *blocker = NULL;
	CU_ASSERT_EQUAL_FATAL(sqldb_open(db_path, 0, &blocker), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(block_writers(blocker), KMS_EOK);
	audit_rec_t r;
	make_rec(&r, 1);
	r.decision = 1;
	r.error = KMS_EOK;
	CU_ASSERT_EQUAL(audit_log(a, &r), KMS_EAUDIT);
	sqldb_rollback(blocker);
	sqldb_close(blocker);
	audit_close(a);
	/* The row tells what the client saw: no ticket.  In PostgreSQL the
	 * writer's INSERT, not its BEGIN, waits for the lock, after the row
	 * was formed: the row keeps the record as logged. */
	CU_ASSERT_EQUAL(
	    sql_count(unit_store_pg()
			  ? "SELECT count(*) FROM audit WHERE rid = 'rid-1'"
			  : "SELECT count(*) FROM audit WHERE rid = 'rid-1' AND "
			    "decision = 0 AND error = 'KMS_EAUDIT'"),
	    1);
	unit_rmdir(dir);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_10000_records_when_logged_then_close_leaves_10000_rows),
		UNIT_TEST(
		    given_one_record_when_fake_interval_passes_then_flushed_not_before),
		UNIT_TEST(given_full_batch_when_clock_stands_still_then_flushed_at_once),
		UNIT_TEST(
		    given_writer_blocked_by_other_writer_when_queue_fills_then_drops),
		UNIT_TEST(given_unterminated_strings_when_logged_then_stored_truncated),
		UNIT_TEST(given_named_record_when_logged_then_names_and_rfc3339_time),
		UNIT_TEST(given_four_threads_when_logging_then_every_record_lands),
		UNIT_TEST(given_bad_arguments_when_open_then_einval_and_null_is_noop),
		UNIT_TEST(
		    given_store_full_when_batch_fails_then_refusing_until_it_recovers),
		UNIT_TEST(given_serve_mode_when_store_full_then_answers_and_keeps_rows),
		UNIT_TEST(
		    given_1000_refusals_from_3_clients_when_interval_passes_then_3_rows),
		UNIT_TEST(
		    given_more_clients_than_sampled_when_flushed_then_rest_in_one_row),
		UNIT_TEST(given_durable_when_log_returns_then_row_is_committed),
		UNIT_TEST(given_durable_when_store_full_then_refused_and_row_says_503),
		UNIT_TEST(given_durable_when_commit_too_slow_then_503_and_row_says_so),
		UNIT_END,
	};
	return unit_run("audit", tests);
}
