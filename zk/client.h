/*
 * The Zk client: POSTs a ticket resolve to the peer KMS that issued the
 * ticket, over HTTPS with mutual TLS (libcurl with OpenSSL).
 *
 * Trust: the peer's server certificate must chain to peer->ca_file (and to
 * nothing else: the system CA store is never used) and name
 * peer->cert_name.  The client connects to the host and port of peer->url
 * but verifies against cert_name (the URL's host is rewritten to cert_name
 * and CURLOPT_CONNECT_TO points that name at the real host), so a peer
 * reached at 127.0.0.1 may present a certificate for kms1.test.
 *
 * Connections: each peer (keyed by kms_id) has a pool of at most
 * max_handles libcurl easy handles, each keeping its connection alive
 * between requests.  A request that finds every pooled handle busy waits
 * up to 10 ms for one to come back, then uses a temporary handle, closed
 * after that one request (stats.temp_handles): concurrency towards a peer
 * is bounded by the calling threads, never by the pool, and a burst costs
 * new connections rather than queueing.  All handles share TLS sessions
 * and the DNS cache (one CURLSH), so a new connection resumes a TLS
 * session when the peer allows it.
 *
 * Failures: net/http_client.h's one retry policy - connection failures
 * (refused, unresolved, a timeout before the request went out, a kept-alive
 * connection closed without an answer) and 502/503/504 answers are retried
 * at most cfg.retries times after a short backoff; nothing else is.  A
 * resolve that the peer had already served before its connection failed
 * is refused by it as a replay on the retry, never granted twice.  One attempt takes at most timeout_ms.  A circuit
 * breaker per peer: after breaker_failures consecutive KMS_EUNAVAIL
 * outcomes, calls fail fast for breaker_open_ms without connecting; then
 * one call is let through (half-open): its success closes the circuit, its
 * failure opens it again.  The breaker and the backoff read the clock of
 * common/clock.h.
 *
 * Without a thread waiting: zk_client_post_async() runs the same call
 * (pool, retry policy, breaker, timeouts, counters) on the outbound-call
 * thread (net/outbound.h, zk_client_use_outbound) and reports its end to
 * a callback; at most cfg.max_pending such calls are under way at once.
 *
 * Thread safe: any number of threads may call zk_client_post() at once.
 * No key material passes through this module.
 */
#ifndef KMS_ZK_CLIENT_H
#define KMS_ZK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metric.h"
#include "net/http_client.h"
#include "net/outbound.h"
#include "zk/peer.h"

#define ZK_CLIENT_HANDLES_MAX 256 /* max_handles cap */
#define ZK_CLIENT_RETRIES_MAX 10
#define ZK_CLIENT_PEERS_MAX ZK_PEERS_MAX /* distinct kms_ids served */
#define ZK_MEDIA_TYPE "application/mikey"
#define ZK_REQUEST_QUERY "requesttype=ticketresolve"
#define ZK_RID_HEADER "X-Request-Id"
#define ZK_RID_MAX 23 /* characters of a request id carried over Zk */
#define ZK_CLIENT_PENDING_MAX NET_OUTBOUND_MAX /* max_pending cap */
#define ZK_SUBJECT_LEN 48		       /* "peer:" + a prefix of the kms_id */

typedef struct {
	const char *cert_file;	     /* our client certificate (PEM chain) */
	const char *key_file;	     /* its private key (PEM); both NULL: none */
	uint32_t timeout_ms;	     /* one attempt, connect to last byte; > 0 */
	uint32_t connect_timeout_ms; /* TCP + TLS; 0 = timeout_ms */
	uint32_t retries;	     /* extra attempts, 0..ZK_CLIENT_RETRIES_MAX */
	uint32_t breaker_failures;   /* consecutive failures to open; 0 = never */
	uint32_t breaker_open_ms;    /* how long an open circuit fails fast */
	unsigned max_handles;	     /* pooled handles per peer, 1..HANDLES_MAX */
	unsigned max_pending;	     /* async calls under way; 0 = max_handles */
} zk_client_cfg_t;

typedef struct {
	uint64_t requests;     /* zk_client_post() calls */
	uint64_t attempts;     /* HTTP exchanges tried, retries included */
	uint64_t retries;      /* attempts after the first of a call */
	uint64_t connects;     /* new connections (sum of CURLINFO_NUM_CONNECTS) */
	uint64_t failures;     /* calls answered KMS_EUNAVAIL after trying */
	uint64_t fast_fails;   /* calls refused by an open circuit, no connection */
	uint64_t temp_handles; /* calls served by a temporary handle (pool busy) */
	uint64_t pending;      /* async calls under way now */
	uint64_t pending_full; /* async calls refused: max_pending under way */
} zk_client_stats_t;

typedef struct zk_client zk_client_t;

/*
 * A client for cfg (the file names are copied).  KMS_EINVAL for a value out
 * of range, KMS_ECONFIG when the certificate or key file cannot be read.
 */
int zk_client_new(const zk_client_cfg_t *cfg, zk_client_t **out);

/* Close every connection and free; no call may be in progress.  NULL no-op. */
void zk_client_free(zk_client_t *c);

/*
 * POST body (len bytes, Content-Type application/mikey) to
 * "<peer->url>?requesttype=ticketresolve".  KMS_EOK when an HTTP answer
 * arrived, whatever its status: *http_status, and its body in out
 * (*out_len bytes; out is scratch space during the call).  KMS_ELIMIT when
 * the answer is over cap bytes; KMS_EUNAVAIL when the peer cannot be
 * reached, times out, fails TLS (either side's certificate) or its circuit
 * is open; KMS_EINVAL for bad arguments.  On failure *why (if why is not
 * NULL) gets a constant reason for the log; the other outputs are
 * untouched.
 */
int zk_client_post(zk_client_t *c, const zk_peer_t *peer, const uint8_t *body, size_t len,
		   uint8_t *out, size_t cap, size_t *out_len, long *http_status,
		   const char **why);

/* The same, carrying rid (the forwarding request's id, when it is at most
 * ZK_RID_MAX printable characters; else not sent) as X-Request-Id, so the
 * issuing KMS logs the request under the same id. */
int zk_client_post_rid(zk_client_t *c, const zk_peer_t *peer, const char *rid,
		       const uint8_t *body, size_t len, uint8_t *out, size_t cap,
		       size_t *out_len, long *http_status, const char **why);

/*
 * The outbound-call thread the async calls run on (it must outlive every
 * call it runs: net_outbound_free() before zk_client_free()); NULL: none.
 */
void zk_client_use_outbound(zk_client_t *c, net_outbound_t *ob);

/* The end of an async call, on the outbound thread: ret as zk_client_post
 * would return it (KMS_EOK with status and out_len; KMS_ELIMIT;
 * KMS_EUNAVAIL with why), or KMS_ECANCELED when the thread stopped first.
 * It must not block. */
typedef void (*zk_done_fn)(int ret, long status, size_t out_len, const char *why,
			   void *arg);

/* One async call: the caller's memory, untouched by it, valid until done
 * has run. */
typedef struct {
	zk_client_t *c;
	void *slot;
	net_call_t call;
	zk_done_fn done;
	void *arg;
	char subj[ZK_SUBJECT_LEN];
	char hdr[sizeof(ZK_RID_HEADER) + ZK_RID_MAX + 4];
} zk_async_t;

/*
 * zk_client_post_rid() without waiting: body and out (cap bytes) must stay
 * valid until done(.., arg) has run.  KMS_EOK: done runs exactly once, on
 * the outbound thread, maybe before this returns.  Otherwise done never
 * runs: KMS_ENOTSUP (no outbound thread: post with zk_client_post_rid),
 * KMS_EAGAIN (max_pending calls under way, or the thread's own bound),
 * KMS_EUNAVAIL (the peer's circuit is open, or the thread is stopping;
 * *why), KMS_EINVAL.
 */
int zk_client_post_async(zk_client_t *c, const zk_peer_t *peer, const char *rid,
			 const uint8_t *body, size_t len, uint8_t *out, size_t cap,
			 zk_async_t *a, zk_done_fn done, void *arg, const char **why);

/* Close the idle connections to every kms_id that peers does not list
 * (after a reload); a NULL table closes them all. */
void zk_client_prune(zk_client_t *c, const zk_peers_t *peers);

/* A snapshot of the counters. */
void zk_client_stats(const zk_client_t *c, zk_client_stats_t *out);

/* What the metrics show per peer the client has called (kms/metrics.h). */
typedef struct {
	char kms_id[ZK_KMS_ID_MAX + 1];
	bool breaker_open;	     /* open (or half-open, trial pending) */
	metric_hist_snap_t duration; /* the last attempt of each call */
	uint64_t unavailable;	     /* calls answered KMS_EUNAVAIL after trying */
	uint64_t fast_fails;	     /* calls refused by the open circuit */
} zk_peer_stats_t;

/* Up to max peers' stats into out; returns how many. */
size_t zk_client_peer_stats(zk_client_t *c, zk_peer_stats_t *out, size_t max);

#endif
