/*
 * The pooled HTTP client (libcurl) of the NAF's Zn client (kms/naf.c) and
 * the Zk client (zk/client.c).  Over common/ and libcurl only.
 *
 * A pool (net_pool_t) serves one target: a URL, request headers, timeouts
 * and TLS settings (CA file, client certificate and key, CONNECT_TO entry).
 * It holds at most cfg.max easy handles, each keeping its connection alive
 * between requests; idle ones wait on a stack.  net_pool_take() hands out
 * an idle handle or makes a new one; when all cfg.max are busy it waits up
 * to cfg.wait_ms for one to come back (a condition variable on
 * CLOCK_MONOTONIC), then either refuses (KMS_EAGAIN; counters.busy) or,
 * with cfg.temp_when_busy, makes a temporary handle closed after that one
 * request (counters.temp_handles).  net_pool_retarget() starts a new target
 * generation: idle handles of the old one are closed at once, busy ones
 * when they are given back.  The pool's lock is never held during network
 * I/O.
 *
 * net_post() sends one POST on a handle with the retry policy below; the
 * answer body goes into the caller's buffer, and an answer over its size
 * is an error (KMS_ELIMIT), never truncated.
 *
 * Retry policy (one for every caller): an attempt is retried, at most
 * cfg.retries times, when the request cannot have been served:
 *  - a connection-level failure: COULDNT_CONNECT, COULDNT_RESOLVE_HOST,
 *    SEND_ERROR, RECV_ERROR, GOT_NOTHING (a resolve that a Zk peer did see
 *    is refused there as a replay, never served twice; a Zn lookup is
 *    idempotent);
 *  - a timeout before any byte of the request went out (connect or TLS
 *    handshake); a later timeout is not retried: the peer may have
 *    processed the request, and a slow peer must not hold the caller for
 *    more than one timeout;
 *  - an answer 502, 503 or 504 (gateway or service temporarily
 *    unavailable).  Other statuses, 500 included, are answers: the peer
 *    handled the request and would most likely answer the same again.
 *    After the last attempt a 502/503/504 is returned as the answer.
 * TLS and certificate failures and an answer over the cap are not
 * retried.  Before retry n the caller sleeps kms_clock_sleep_ms(
 * cfg.backoff_ms x min(n, 4)), so tests run the backoff on the fake clock.
 *
 * net_breaker_t is an optional circuit breaker: after `failures`
 * consecutive failed calls it is open for open_ms (calls fail fast), then
 * one call is let through (half-open): its success closes it, its failure
 * opens it again.  It reads kms_clock_now_ms().
 *
 * Time: the backoff and the breaker read common/clock.h; the wait for a
 * free handle is a real condition-variable wait; the timeouts are
 * libcurl's.  Thread safe: any number of threads may take, post and give
 * at once.  No key material is logged: log lines carry the caller's
 * subject, statuses, times and libcurl's error text only.
 */
#ifndef KMS_NET_HTTP_CLIENT_H
#define KMS_NET_HTTP_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_BACKOFF_STEPS 4 /* the backoff grows up to this many x base */
#define NET_POOL_MAX 1024   /* cfg.max cap */
#define NET_RETRIES_MAX 10  /* cfg.retries cap */
#define NET_HEADERS_MAX 16  /* request headers of a pool */

/* curl_global_init() once per process (pthread_once), never undone.
 * KMS_EOK, or KMS_EINTERNAL when libcurl does not initialise.  The pool
 * and share constructors call it. */
int net_curl_init(void);

/* Counters, owned by the caller (they may outlive a pool: the NAF keeps
 * them across reloads); zeroed memory is a valid start.  net_post() counts
 * attempts, retries, connects and errors; net_pool_take() temp_handles
 * and busy. */
typedef struct {
	atomic_uint_fast64_t attempts;	   /* HTTP exchanges tried, retries included */
	atomic_uint_fast64_t retries;	   /* attempts after the first of a call */
	atomic_uint_fast64_t connects;	   /* new connections (CURLINFO_NUM_CONNECTS) */
	atomic_uint_fast64_t errors;	   /* attempts whose answer was not returned:
					    * failed, over the cap or retried */
	atomic_uint_fast64_t temp_handles; /* takes served by a temporary handle */
	atomic_uint_fast64_t busy;	   /* takes refused: every handle busy */
} net_counters_t;

/* A snapshot of net_counters_t. */
typedef struct {
	uint64_t attempts, retries, connects, errors, temp_handles, busy;
} net_stats_t;

void net_counters_get(const net_counters_t *c, net_stats_t *out);

/* --- share: TLS sessions and the DNS cache, for the handles of many pools */

typedef struct net_share net_share_t;

int net_share_new(net_share_t **out);
/* After every handle of every pool using it is gone.  NULL: no-op. */
void net_share_free(net_share_t *s);

/* --- pool ---------------------------------------------------------------- */

/* Where requests go; the strings are copied. */
typedef struct {
	const char *url;	/* with its query; http or https */
	const char *connect_to; /* a CURLOPT_CONNECT_TO entry, or NULL */
	/* TLS.  With ca_file: https only, TLS >= 1.2, the server's certificate
	 * must chain to ca_file (never the system store) and name the URL's
	 * host.  Without: libcurl's defaults for an https URL. */
	const char *ca_file;
	const char *cert_file; /* our client certificate (PEM), or NULL */
	const char *key_file;  /* its key (PEM); with cert_file only */
} net_target_t;

typedef struct {
	const char *label;	     /* log prefix, such as "Zn" (copied) */
	const char *const *headers;  /* NULL-terminated, copied; may be NULL */
	uint32_t timeout_ms;	     /* one attempt, connect to last byte; > 0 */
	uint32_t connect_timeout_ms; /* TCP + TLS; 0 or over: timeout_ms */
	unsigned max;		     /* pooled handles: 1..NET_POOL_MAX */
	uint32_t wait_ms;	     /* for a pooled handle when all are busy */
	bool temp_when_busy;	     /* then a temporary handle, else refuse */
	unsigned retries;	     /* extra attempts, 0..NET_RETRIES_MAX */
	uint32_t backoff_ms;	     /* before retry n: n (at most 4) x this */
	net_share_t *share;	     /* or NULL; must outlive the pool */
	net_counters_t *counters;    /* or NULL (the pool's own); outlives it */
} net_pool_cfg_t;

typedef struct net_pool net_pool_t;
typedef struct net_handle net_handle_t;

/* KMS_EINVAL for a value out of range or a missing URL. */
int net_pool_new(const net_pool_cfg_t *cfg, const net_target_t *t, net_pool_t **out);

/* Close every handle; every taken handle must have been given back.
 * NULL: no-op. */
void net_pool_free(net_pool_t *p);

/* A new target generation for t (t == NULL: the same target): idle
 * handles are closed now, busy ones when given back, so the next
 * requests connect afresh.  KMS_EOK, KMS_EINVAL or KMS_ENOMEM (then the
 * pool is unchanged). */
int net_pool_retarget(net_pool_t *p, const net_target_t *t);

/* A handle for one call (see above): KMS_EOK with *out; KMS_EAGAIN when
 * every handle stayed busy (and no temporary one is allowed); KMS_ENOMEM
 * or KMS_EINTERNAL when a handle cannot be set up. */
int net_pool_take(net_pool_t *p, net_handle_t **out);

/* Give h back (kept if it is pooled and of the current generation). */
void net_pool_give(net_pool_t *p, net_handle_t *h);

/* Pooled handles idle now and alive (idle or busy, any generation). */
void net_pool_count(net_pool_t *p, size_t *idle, size_t *alive);

/* One call: the request, its answer, and a reason on failure. */
typedef struct {
	const char *subj; /* log subject (a peer, a B-TID prefix: no secrets) */
	const void *body; /* POST body (not copied; kept until net_post returns) */
	size_t len;
	/* One more request header line ("X-Request-Id: r-..."), not copied
	 * (kept until the call is over); NULL: none. */
	const char *header;
	void *out; /* answer body buffer: cap bytes */
	size_t cap;
	/* Results. */
	long status;	 /* HTTP status of the answer */
	size_t out_len;	 /* answer body bytes in out */
	double ms;	 /* duration of the last attempt */
	bool new_conn;	 /* the last attempt opened a connection */
	const char *why; /* failure: a constant reason for the log */
} net_call_t;

/*
 * POST call->body on h with the retry policy.  KMS_EOK when an HTTP answer
 * arrived (any status: the caller decides what it means); KMS_ELIMIT when
 * the answer was over call->cap bytes; KMS_EUNAVAIL when no answer came
 * (refused, unresolved, timed out, TLS failed, connection lost) after
 * the retries; KMS_EINTERNAL when the request cannot be set up.  Logs each
 * failed or retried attempt (warning) under call->subj.
 */
int net_post(net_pool_t *p, net_handle_t *h, net_call_t *call);

/* --- one call driven step by step (net/outbound.c) ------------------------------
 * net_post() is net_attempt_arm(); per attempt n (0 first) net_attempt_start(),
 * curl_easy_perform() and net_attempt_end(); then net_attempt_disarm().  The
 * outbound thread runs the same steps with a curl multi handle instead of
 * curl_easy_perform() and a timer instead of the backoff sleep, so both
 * follow the one retry policy. */

/* An answer body being received, capped (on_body's target). */
typedef struct {
	uint8_t *buf;
	size_t cap, len;
	bool over;
} net_sink_t;

/* A handle now, never waiting: an idle or new pooled one; when all are
 * busy, KMS_EAGAIN without counting unless last, when it then behaves as
 * net_pool_take() after its wait (temporary handle, or busy counted). */
int net_pool_try_take(net_pool_t *p, bool last, net_handle_t **out);
uint32_t net_pool_wait_ms(const net_pool_t *p);
unsigned net_pool_retries(const net_pool_t *p);
/* The pause before retry n (>= 1). */
int64_t net_backoff_ms(const net_pool_t *p, unsigned n);
/* The handle's CURL easy handle. */
void *net_handle_curl(net_handle_t *h);

/* Set call's body and sink on h: KMS_EOK, KMS_EINVAL, KMS_EINTERNAL. */
int net_attempt_arm(net_handle_t *h, net_call_t *call, net_sink_t *sink);
/* Attempt n begins: counted, the sink emptied. */
void net_attempt_start(net_pool_t *p, net_sink_t *sink, unsigned n);
/* Attempt ended with libcurl's curl_rc: KMS_EOK (an answer), KMS_ELIMIT,
 * or KMS_EUNAVAIL; *again (in: retries are left) tells whether the
 * policy retries it.  Counts and logs as net_post(). */
int net_attempt_end(net_pool_t *p, net_handle_t *h, int curl_rc, net_call_t *call,
		    net_sink_t *sink, bool *again);
/* The call is over with ret: h forgets its pointers; call->out_len. */
void net_attempt_disarm(net_handle_t *h, net_call_t *call, const net_sink_t *sink,
			int ret);

/* A constant description of a libcurl result, for logs and reasons. */
const char *net_reason(int curl_code);

/* --- circuit breaker ----------------------------------------------------- */

typedef struct {
	pthread_mutex_t lock;
	char label[16];	    /* log prefix */
	uint32_t failures;  /* consecutive failures to open; 0 = never */
	uint32_t open_ms;   /* how long it stays open */
	uint32_t fails;	    /* consecutive failures now */
	int64_t open_until; /* kms_clock_now_ms(); 0 = closed */
	bool trial;	    /* the half-open trial call is in flight */
} net_breaker_t;

void net_breaker_init(net_breaker_t *b, const char *label, uint32_t failures,
		      uint32_t open_ms);
void net_breaker_destroy(net_breaker_t *b);

/* Before a call: KMS_EOK, the call may go (*trial: it is the half-open
 * trial); KMS_EUNAVAIL: open (or its trial is in flight), fail fast. */
int net_breaker_enter(net_breaker_t *b, bool *trial);

/* After a call that entered: outcome KMS_EUNAVAIL is a failure, KMS_EOK and
 * KMS_ELIMIT (the peer answered) a success, anything else neither.
 * Opening and closing are logged under subj. */
void net_breaker_leave(net_breaker_t *b, bool trial, int outcome, const char *subj);

/* Closed, no failures counted (a new target). */
void net_breaker_reset(net_breaker_t *b);

#endif
