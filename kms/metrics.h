/*
 * kmsd's Prometheus metrics (docs/metrics.md): the registry the request
 * path counts into, and the scrape that writes it out with the gauges of
 * the running state.
 *
 * Per request the front end makes one call, kms_metrics_request(), once the
 * outcome and duration are known: a few relaxed atomic adds (common/
 * metric.h), no lock, no allocation.  The outcome label comes from the
 * error table (common/errcode.h: the code's name without "KMS_E", lower
 * case; "ok" for success), never from client bytes, so every label set is
 * bounded by the code.
 *
 * Everything that needs a lock or a look at a store (replay cache fill,
 * audit queue, NAF cache, Zk peers, keyring ages) is read at scrape time
 * from the sources kmsd hands over with kms_metrics_set_source(); a reload
 * hands over the new state before the old one is freed.
 */
#ifndef KMS_KMS_METRICS_H
#define KMS_KMS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/metric.h"
#include "kms/audit.h"
#include "kms/config.h"
#include "kms/http.h"
#include "kms/replay.h"
#include "kms/replay_shared.h"
#include "kms/service.h"
#include "zk/client.h"

/* The type label of kms_requests_total and kms_request_duration_seconds. */
typedef enum {
	KMS_MT_OTHER = 0,  /* health checks, refusals before the type is known */
	KMS_MT_TICKET,	   /* Ua requesttype=ticketrequest */
	KMS_MT_RESOLVE,	   /* Ua requesttype=ticketresolve */
	KMS_MT_ZK_RESOLVE, /* a resolve a peer forwarded over Zk */
	KMS_MT_TYPES_,
} kms_mtype_t;

typedef struct kms_metrics kms_metrics_t;

/* What a scrape reads besides the counters; any may be NULL. */
typedef struct {
	const kms_service_t *svc; /* cfg (keys_db), psk (NAF), keyring */
	audit_t *audit;
	replay_t *replay;
	zk_client_t *zk;
	kms_http_t *ua, *zkl;		/* the listeners (connections) */
	replay_shared_t *replay_shared; /* replay.shared, or NULL */
} kms_metrics_src_t;

/* A registry; start_time (Unix seconds) is kms_start_time_seconds. */
int kms_metrics_new(int64_t start_time, kms_metrics_t **out);
void kms_metrics_free(kms_metrics_t *m);

/*
 * One request done: type, its outcome (KMS_EOK or the refusal's code),
 * the HTTP status answered (0: none) and how long it took (ns).  Refusals
 * over a rate limit (KMS_ERATE) count as scope "address" when the type is
 * KMS_MT_OTHER (the front end refused before reading the request), else
 * "identity".  Lock free; m NULL is a no-op.
 */
void kms_metrics_request(kms_metrics_t *m, kms_mtype_t type, int error,
			 unsigned http_status, uint64_t ns);

/* The outcome label of code ("ok", "mac", "replay", ...); never NULL. */
const char *kms_metrics_outcome(const kms_metrics_t *m, int code);

/* The sources of the next scrapes (copied); returns once no scrape uses
 * the previous ones, which the caller may then free. */
void kms_metrics_set_source(kms_metrics_t *m, const kms_metrics_src_t *src);

/* A reload (or the start-up load) at when (Unix seconds) succeeded or not. */
void kms_metrics_reload(kms_metrics_t *m, bool ok, int64_t when);

/* The store watch (kms/store_watch.h): n notifications read, and whether
 * its connection listens.  The first call of the latter makes
 * kms_store_listener_connected appear (only a PostgreSQL store has a
 * watch).  Lock free; m NULL is a no-op. */
void kms_metrics_store_notified(kms_metrics_t *m, unsigned n);
void kms_metrics_store_listener(kms_metrics_t *m, bool connected);

/*
 * Write every metric in the text format 0.0.4 into t; now (Unix seconds)
 * is the reference for key ages.  KMS_EOK, or t's error.
 */
int kms_metrics_render(kms_metrics_t *m, int64_t now, metric_text_t *t);

/* --- the listener (GET /metrics) --------------------------------------------- */

typedef struct kms_metrics_http kms_metrics_http_t;

/*
 * Serve GET /metrics for m on cfg->metrics_listen:metrics_port (a small
 * pool of threads, its own caps: it shares nothing with Ua).  *out is NULL
 * (and KMS_EOK) when metrics_port is 0.
 */
int kms_metrics_http_start(const kms_config_t *cfg, kms_metrics_t *m,
			   kms_metrics_http_t **out);

/* The port bound (tests bind port 0 through the unit API). */
uint16_t kms_metrics_http_port(const kms_metrics_http_t *h);

/* NULL is a no-op. */
void kms_metrics_http_stop(kms_metrics_http_t *h);

#endif
