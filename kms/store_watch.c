/*
 * The store watch thread (kms/store_watch.h).  One loop: connect and
 * LISTEN, call back, wait for notifications until the connection is lost
 * or the wake pipe is written; after a loss, back off and connect again.
 * The thread is the only user of its connection.
 */
#define _GNU_SOURCE /* pipe2 */
#include "kms/store_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"
#include "sql/db.h"

/* application_name is cut by the server at 63 bytes. */
#define APP_NAME_MAX 64

struct store_watch {
	char *locator; /* may hold a password: wiped on free */
	size_t locator_len;
	char app_name[APP_NAME_MAX];
	store_watch_fn fn;
	void *ctx;
	kms_metrics_t *metrics;
	int wake[2]; /* store_watch_stop() writes wake[1]; nobody reads it */
	pthread_t thread;
};

unsigned store_watch_backoff(unsigned prev_ms)
{
	if (prev_ms < STORE_WATCH_BACKOFF_MIN_MS) {
		return STORE_WATCH_BACKOFF_MIN_MS;
	}
	if (prev_ms >= STORE_WATCH_BACKOFF_MAX_MS / 2) {
		return STORE_WATCH_BACKOFF_MAX_MS;
	}
	return prev_ms * 2;
}

/* Whether stop was asked, waiting at most ms (-1: for ever) for it. */
static bool stop_wait(const store_watch_t *w, int ms)
{
	struct pollfd p = { w->wake[0], POLLIN, 0 };
	int n;
	do {
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	return n != 0; /* readable, or poll failed: stop rather than spin */
}

/* The session's application_name, so that an operator (or a test) can
 * tell this connection from the node's others in pg_stat_activity. */
static int name_session(sqldb_t *db, const char *name)
{
	sqldb_stmt_t *st = NULL;
	int ret =
	    sqldb_prepare(db, "SELECT set_config('application_name', ?1, false)", &st);
	if (ret == KMS_EOK) {
		ret = sqldb_bind_text(st, 1, name, -1);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_rc(sqldb_step(st));
	}
	sqldb_finalize(st);
	return ret;
}

/* A connection that listens, in *out; its backend's pid in *backend.
 * Failures are the caller's to log (the reason in err). */
static int watch_connect(const store_watch_t *w, sqldb_t **out, int64_t *backend,
			 char *err, size_t err_len)
{
	sqldb_t *db = NULL;
	snprintf(err, err_len, "cannot connect");
	int ret = sqldb_open(w->locator, 0, &db);
	if (ret != KMS_EOK) {
		return ret; /* logged by sqldb_open */
	}
	sqldb_set_quiet(db, true); /* one line per loss, written by the caller */
	ret = name_session(db, w->app_name);
	if (ret == KMS_EOK) {
		ret = sqldb_listen(db, STORE_WATCH_CHANNEL);
	}
	if (ret == KMS_EOK) {
		ret = sqldb_query_int64(db, "SELECT pg_backend_pid()", backend);
	}
	unsigned drained = 0; /* arrived during LISTEN: the callback covers them */
	if (ret == KMS_EOK) {
		ret = sqldb_notified(db, &drained);
	}
	if (ret != KMS_EOK) {
		snprintf(err, err_len, "%s", sqldb_errmsg(db));
		sqldb_close(db);
		return ret;
	}
	*out = db;
	return KMS_EOK;
}

/* Until the connection is lost (its error) or stop is asked (KMS_EOK). */
static int watch_listen(const store_watch_t *w, sqldb_t *db)
{
	for (;;) {
		struct pollfd p[2] = { { w->wake[0], POLLIN, 0 },
				       { sqldb_socket(db), POLLIN, 0 } };
		if (p[1].fd < 0) {
			return KMS_EUNAVAIL;
		}
		int n = poll(p, 2, -1);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 || p[0].revents != 0) {
			return n < 0 ? -errno : KMS_EOK;
		}
		unsigned count = 0;
		int ret = sqldb_notified(db, &count);
		if (ret != KMS_EOK) {
			return ret;
		}
		if (count > 0) {
			kms_metrics_store_notified(w->metrics, count);
			w->fn(w->ctx, STORE_WATCH_CHANGED);
		}
	}
}

/* Connect, listen until the connection goes, again after a backoff; a
 * loss and the failed attempts after it are one warning. */
static void *watch_main(void *arg)
{
	store_watch_t *w = arg;
	bool first = true, down = false;
	unsigned backoff = 0;
	char err[256];

	while (!stop_wait(w, 0)) {
		sqldb_t *db = NULL;
		int64_t backend = 0;
		if (watch_connect(w, &db, &backend, err, sizeof(err)) != KMS_EOK) {
			if (!down) {
				log_warning("store watch: cannot listen on %s (%s): "
					    "retrying, polling meanwhile",
					    STORE_WATCH_CHANNEL, err);
				down = true;
			}
			backoff = store_watch_backoff(backoff);
			if (stop_wait(w, (int)backoff)) {
				break;
			}
			continue;
		}
		log_notice("store watch: listening on %s (backend pid %lld)%s",
			   STORE_WATCH_CHANNEL, (long long)backend,
			   first ? "" : ": reloading all, changes may have been missed");
		kms_metrics_store_listener(w->metrics, true);
		w->fn(w->ctx, first ? STORE_WATCH_CHANGED : STORE_WATCH_RESYNC);
		first = down = false;
		backoff = 0;
		int ret = watch_listen(w, db);
		if (ret != KMS_EOK) {
			log_warning("store watch: connection lost (%s): reconnecting, "
				    "polling meanwhile",
				    sqldb_errmsg(db)[0] != '\0' ? sqldb_errmsg(db)
								: kms_strerror(ret));
			down = true;
		}
		sqldb_close(db);
		kms_metrics_store_listener(w->metrics, false);
		/* Not at once: a server that is restarting refuses anyway. */
		backoff = STORE_WATCH_BACKOFF_MIN_MS;
		if (ret != KMS_EOK && stop_wait(w, (int)backoff)) {
			break;
		}
	}
	return NULL;
}

static void watch_free(store_watch_t *w)
{
	if (w->locator != NULL) {
		explicit_bzero(w->locator, w->locator_len);
		free(w->locator);
	}
	for (int i = 0; i < 2; i++) {
		if (w->wake[i] >= 0) {
			close(w->wake[i]);
		}
	}
	free(w);
}

int store_watch_start(const store_watch_cfg_t *cfg, store_watch_t **out)
{
	if (cfg == NULL || cfg->locator == NULL || cfg->fn == NULL || out == NULL ||
	    sqldb_locator_kind(cfg->locator) != SQLDB_PG) {
		return KMS_EINVAL;
	}
	store_watch_t *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return KMS_ENOMEM;
	}
	w->wake[0] = w->wake[1] = -1;
	w->locator_len = strlen(cfg->locator);
	w->locator = strdup(cfg->locator);
	snprintf(w->app_name, sizeof(w->app_name), "kmsd-watch %s",
		 cfg->node != NULL ? cfg->node : "");
	w->fn = cfg->fn;
	w->ctx = cfg->ctx;
	w->metrics = cfg->metrics;
	kms_metrics_store_listener(w->metrics, false); /* present from now on */
	int ret = KMS_EOK;
	if (w->locator == NULL) {
		ret = KMS_ENOMEM;
	} else if (pipe2(w->wake, O_CLOEXEC) != 0) {
		ret = -errno;
	} else if ((ret = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
		ret = -ret;
	}
	if (ret != KMS_EOK) {
		log_error("store watch: cannot start: %s", kms_strerror(ret));
		watch_free(w);
		return ret;
	}
	*out = w;
	return KMS_EOK;
}

void store_watch_stop(store_watch_t *w)
{
	if (w == NULL) {
		return;
	}
	const char b = 1;
	while (write(w->wake[1], &b, 1) < 0 && errno == EINTR) {
	}
	pthread_join(w->thread, NULL);
	watch_free(w);
}
