/*
 * The outbound-call thread: every HTTP call a daemon makes to another
 * server (the NAF's Zn lookups; Zk forwarding next) can run here, on one
 * thread driving a libcurl multi handle, so that the thread that needed
 * the answer is free meanwhile.  Over net/http_client.h: the calls use its
 * pools (handles, target, timeouts, TLS), its one retry policy and its
 * circuit breaker, step by step (net_attempt_*), with a timer for the
 * backoff instead of a sleep.
 *
 * net_outbound_post() queues a call on a pool.  The thread takes a handle
 * without waiting (net_pool_try_take); when every handle of the pool is
 * busy the call waits in the queue up to the pool's wait_ms, then either
 * gets a temporary handle (cfg.temp_when_busy) or ends with KMS_EAGAIN
 * (counted busy), as net_pool_take() would: the pool size stays the bound
 * on calls in flight towards one target.  A call's done callback runs
 * exactly once, on the outbound thread, with:
 *   KMS_EOK       an HTTP answer (call->status, call->out_len);
 *   KMS_ELIMIT    an answer over call->cap;
 *   KMS_EUNAVAIL  no answer after the retries (refused, timed out...);
 *   KMS_EAGAIN    every handle stayed busy for wait_ms;
 *   KMS_EINTERNAL the request could not be set up;
 *   KMS_ECANCELED the thread stopped first (net_outbound_free).
 * The callback must not block (it runs where every other call is driven):
 * record the outcome, wake the waiters, return.
 *
 * Time: the backoff and the handle wait read kms_clock_now_ms() (on the
 * fake clock the thread looks again every few ms, so a test's advance is
 * seen); the timeouts are libcurl's.  Thread safe: any thread may post.
 */
#ifndef KMS_NET_OUTBOUND_H
#define KMS_NET_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "net/http_client.h"

#define NET_OUTBOUND_MAX 65536 /* cap on calls accepted and not yet done */

typedef struct net_outbound net_outbound_t;

/* Called once per posted call, on the outbound thread. */
typedef void (*net_done_fn)(net_call_t *call, int ret, void *arg);

/*
 * Start the thread.  label names it in logs; max_calls (1..NET_OUTBOUND_MAX)
 * bounds the calls accepted and not yet done.  KMS_EINVAL, KMS_ENOMEM,
 * KMS_EINTERNAL (libcurl or the thread would not start).
 */
int net_outbound_new(const char *label, size_t max_calls, net_outbound_t **out);

/*
 * Stop the thread: every call not done yet is cancelled (its callback
 * runs once, with KMS_ECANCELED) before this returns.  NULL: no-op.
 */
void net_outbound_free(net_outbound_t *o);

/*
 * Queue call (POST call->body to p's target, answer into call->out) with
 * p's retry policy and, when b is not NULL, its circuit breaker.  call,
 * its buffers and p must stay valid until done has run.  KMS_EOK: done
 * will run exactly once.  Otherwise done never runs: KMS_EUNAVAIL (b is
 * open: fail fast), KMS_EAGAIN (max_calls reached), KMS_ECANCELED (the
 * thread is stopping), KMS_EINVAL, KMS_ENOMEM.
 */
int net_outbound_post(net_outbound_t *o, net_pool_t *p, net_breaker_t *b,
		      net_call_t *call, net_done_fn done, void *arg);

/* Calls accepted and not yet done. */
size_t net_outbound_pending(net_outbound_t *o);

#endif
