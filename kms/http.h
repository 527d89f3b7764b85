/*
 * The Ua front end (docs/http-binding.md) and the Zk listener: framing
 * checks and a body cap, then kms_service_handle() for each valid MIKEY
 * body.  Each runs on a net/listener.h skeleton (libmicrohttpd thread pool
 * with epoll, caps on connections, memory and time, TLS files, the bounded
 * drain on stop).
 *
 * The service is read under a read lock for the length of one request, so
 * kms_http_swap() (SIGHUP) returns only when no request still uses the old
 * service, which the caller may then free.
 */
#ifndef KMS_KMS_HTTP_H
#define KMS_KMS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "kms/config.h"
#include "net/conntrack.h"
#include "kms/service.h"
#include "net/tls.h"

typedef struct kms_http kms_http_t;

/*
 * Bind cfg->listen:port and start serving with svc (NULL: not ready, Ua
 * requests get 503).  The listener settings of cfg are copied and stay as
 * started (they are flagged restart in the config schema); svc must stay
 * valid until it is swapped out or kms_http_stop() returns.
 */
int kms_http_start(const kms_config_t *cfg, const kms_service_t *svc, kms_http_t **out);

/*
 * The Zk listener (docs/federation.md): HTTPS on cfg->zk_listen:zk_port
 * with cfg->zk_cert_file / zk_key_file, asking for client certificates that
 * chain to cfg->zk_ca_file; a request is served only when the client's
 * certificate names one of svc->peers, and only requesttype=ticketresolve
 * at cfg->zk_path.  Swap and stop as for Ua.
 */
int kms_http_start_zk(const kms_config_t *cfg, const kms_service_t *svc,
		      kms_http_t **out);

/* Count every request from now on in m (kms/metrics.h); NULL: stop. */
struct kms_metrics;
void kms_http_set_metrics(kms_http_t *h, struct kms_metrics *m);

/* The connection table's counters (for the metrics; takes its lock). */
void kms_http_conn_stats(kms_http_t *h, net_conntrack_stats_t *out);

/* Put svc in service; returns the previous one, no longer in use. */
const kms_service_t *kms_http_swap(kms_http_t *h, const kms_service_t *svc);

/*
 * Re-read the listener's TLS certificate and key files (SIGHUP; the names
 * stay as started): new connections get them, open ones keep theirs.
 * KMS_EOK also without TLS or with h NULL; on error the current ones stay
 * (logged, naming the file, and counted).
 */
int kms_http_tls_reload(kms_http_t *h);

/* The listener's certificate reload counters (generation, refused reloads,
 * sets in use; net/tls.h) for metrics; false without TLS or with h NULL. */
bool kms_http_tls_stats(kms_http_t *h, net_tls_stats_t *out);

/*
 * Stop accepting connections, wait up to timeout_ms for requests in
 * progress to be answered, then stop the threads and free h.  NULL is a
 * no-op.
 */
void kms_http_stop(kms_http_t *h, unsigned timeout_ms);

#endif
