/*
 * The store watch (kms/store_watch.h) without a PostgreSQL server: the
 * reconnection backoff, what it refuses, its metrics, and a stop while it
 * keeps failing to connect.  Notifications themselves need a server:
 * tests/system/kmsd_notify_pg.sh.
 */
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errcode.h"
#include "kms/metrics.h"
#include "kms/store_watch.h"
#include "tests/unit/unit.h"

static atomic_int calls;

static void on_change(void *ctx, store_watch_event_t ev)
{
	(void)ctx;
	(void)ev;
	atomic_fetch_add(&calls, 1);
}

static void given_failures_when_backing_off_then_doubling_from_100_ms_to_5_s(void)
{
	const unsigned want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000 };
	unsigned ms = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ms = store_watch_backoff(ms);
		CU_ASSERT_EQUAL(ms, want[i]);
	}
	CU_ASSERT_EQUAL(store_watch_backoff(4999), 5000);
	CU_ASSERT_EQUAL(store_watch_backoff(1), 100);
}

static void given_sqlite_or_no_callback_when_started_then_einval(void)
{
	store_watch_t *w = NULL;
	store_watch_cfg_t c = { "/tmp/kms.db", "n1", on_change, NULL, NULL };
	CU_ASSERT_EQUAL(store_watch_start(&c, &w), KMS_EINVAL);
	c.locator = "postgresql:host=127.0.0.1";
	c.fn = NULL;
	CU_ASSERT_EQUAL(store_watch_start(&c, &w), KMS_EINVAL);
	CU_ASSERT_EQUAL(store_watch_start(NULL, &w), KMS_EINVAL);
	CU_ASSERT_PTR_NULL(w);
	store_watch_stop(NULL);
}

/* A port on 127.0.0.1 that refuses connections: bound, never listening. */
static int closed_port(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&a, &len) != 0) {
		return -1;
	}
	return ntohs(a.sin_port);
}

static const char *render(kms_metrics_t *m, metric_text_t *t)
{
	metric_text_init(t);
	CU_ASSERT_EQUAL(kms_metrics_render(m, 2000, t), KMS_EOK);
	return t->buf != NULL ? t->buf : "";
}

static void given_no_server_when_watching_then_not_connected_and_stops(void)
{
	kms_metrics_t *m = NULL;
	metric_text_t t;
	CU_ASSERT_EQUAL(kms_metrics_new(1000, &m), KMS_EOK);
	/* Without a watch (SQLite), neither metric is there. */
	CU_ASSERT_PTR_NULL(strstr(render(m, &t), "kms_store_listener_connected"));
	metric_text_free(&t);

	int fd = -1, port = closed_port(&fd);
	CU_ASSERT_FATAL(port > 0);
	char loc[128];
	snprintf(loc, sizeof(loc), "postgresql:host=127.0.0.1 port=%d dbname=kms", port);
	store_watch_cfg_t c = { loc, "n1", on_change, NULL, m };
	store_watch_t *w = NULL;
	atomic_store(&calls, 0);
	CU_ASSERT_EQUAL_FATAL(store_watch_start(&c, &w), KMS_EOK);
	const char *s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_store_listener_connected 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_store_notifications_total 0\n"));
	metric_text_free(&t);
	/* Stopped while it fails and backs off: the thread ends (a leak or a
	 * thread left behind shows under ASan), and nothing was called. */
	store_watch_stop(w);
	CU_ASSERT_EQUAL(atomic_load(&calls), 0);
	close(fd);
	kms_metrics_free(m);
}

static void given_watch_events_when_counted_then_rendered(void)
{
	kms_metrics_t *m = NULL;
	metric_text_t t;
	kms_metrics_new(1000, &m);
	kms_metrics_store_listener(m, true);
	kms_metrics_store_notified(m, 3);
	kms_metrics_store_notified(m, 1);
	const char *s = render(m, &t);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_store_listener_connected 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "kms_store_notifications_total 4\n"));
	metric_text_free(&t);
	kms_metrics_store_listener(m, false);
	CU_ASSERT_PTR_NOT_NULL(strstr(render(m, &t), "kms_store_listener_connected 0\n"));
	metric_text_free(&t);
	kms_metrics_store_notified(NULL, 1); /* no-ops */
	kms_metrics_store_listener(NULL, true);
	kms_metrics_free(m);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_failures_when_backing_off_then_doubling_from_100_ms_to_5_s),
		UNIT_TEST(given_sqlite_or_no_callback_when_started_then_einval),
		UNIT_TEST(given_no_server_when_watching_then_not_connected_and_stops),
		UNIT_TEST(given_watch_events_when_counted_then_rendered),
		UNIT_END,
	};
	return unit_run("store_watch", tests);
}
