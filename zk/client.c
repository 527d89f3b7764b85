/*
 * The Zk client (see client.h for the behaviour).
 *
 * The plumbing is net/http_client.h: each peer's handle pool (idle stack,
 * target generations, the short wait on the monotonic clock, temporary
 * handles), the one retry policy with its backoff, the capped answer sink
 * and the circuit breaker.  This file keeps what is Zk's own: the slot of
 * each peer kms_id (the peer fields its target was built from, its pool
 * and breaker), the target itself (URL host rewritten to cert_name, the
 * CONNECT_TO entry, the peer's CA file, our client certificate), the
 * media type, and the counters of client.h.
 *
 * Slots are never freed while the client lives (at most
 * ZK_CLIENT_PEERS_MAX of them), so a call may keep a slot pointer without
 * the lock.  A peer whose URL, CA file or certificate name changed (a
 * reload) gets a new target generation: idle handles of the old one are
 * closed at once, busy ones when they return.  c->lock guards the slot
 * table; it is never held during network I/O.
 *
 * An async call (zk_client_post_async) finds its slot here and hands the
 * slot's pool and breaker to the outbound-call thread (net/outbound.h),
 * which takes the handle, retries and leaves the breaker as net_post()
 * would; its end is counted here (call_ended) as a blocking call's is.
 * c->pending bounds those calls (cfg.max_pending).
 *
 * Time: the breaker and the retry backoff read common/clock.h, so tests
 * drive them with a fake clock; the short wait for a pooled handle is a
 * condition-variable wait on the real monotonic clock, and the timeouts
 * are libcurl's.
 */
#include "zk/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"
#include "common/metric.h"
#include "net/http_client.h"

#define POOL_WAIT_MS 10 /* for a pooled handle before a temporary one */
#define BACKOFF_MS 20	/* times the attempt number, at most 4 */
#define SUBJECT_LEN ZK_SUBJECT_LEN
#define TARGET_URL_MAX (ZK_URL_MAX + ZK_CERT_NAME_MAX + sizeof(ZK_REQUEST_QUERY) + 16)
#define CONNECT_TO_MAX (2 * ZK_URL_MAX + 16)

/* Where a peer's requests go. */
typedef struct {
	char url[TARGET_URL_MAX];	  /* peer URL, host = cert_name, + query */
	char connect_to[CONNECT_TO_MAX];  /* "cert_name:PORT:HOST:PORT" */
	char ca_file[ZK_CA_FILE_MAX + 1]; /* the only trust anchors */
} target_t;

typedef struct {
	char kms_id[ZK_KMS_ID_MAX + 1];
	char url[ZK_URL_MAX + 1]; /* the peer fields the pool's target is from */
	char ca_file[ZK_CA_FILE_MAX + 1];
	char cert_name[ZK_CERT_NAME_MAX + 1];
	net_pool_t *pool;
	net_breaker_t breaker;
	/* For the metrics (zk_client_peer_stats): lock free, per call. */
	metric_hist_t duration;
	metric_counter_t unavailable, fast_fails;
} slot_t;

struct zk_client {
	zk_client_cfg_t cfg;
	char *cert_file, *key_file;
	net_share_t *share;   /* TLS sessions and DNS cache of every pool */
	pthread_mutex_t lock; /* the slot table */
	slot_t **slots;
	size_t nslots;
	net_counters_t net; /* attempts, retries, connects, temp_handles */
	atomic_uint_fast64_t requests, failures, fast_fails;
	net_outbound_t *_Atomic ob; /* the async calls' thread, or NULL */
	atomic_uint_fast64_t pending, pending_full;
};

/* A call's slot, handle, and whether it is the breaker's half-open trial. */
typedef struct {
	slot_t *slot;
	net_handle_t *hd;
	bool trial;
} lease_t;

/* --- slots -------------------------------------------------------------------- */

/* The URL with its host replaced by cert_name, and the CONNECT_TO entry. */
static int build_target(const zk_peer_t *p, target_t *t)
{
	if (zk_peer_check_url(p->url) != KMS_EOK ||
	    zk_peer_check_cert_name(p->cert_name) != KMS_EOK ||
	    zk_peer_check_ca_file(p->ca_file) != KMS_EOK) {
		return KMS_EINVAL;
	}
	CURLU *u = curl_url();
	if (u == NULL) {
		return KMS_ENOMEM;
	}
	char *host = NULL, *port = NULL, *url = NULL;
	int ret = KMS_EINVAL;
	if (curl_url_set(u, CURLUPART_URL, p->url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, p->cert_name, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_QUERY, ZK_REQUEST_QUERY, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
		int a = snprintf(t->url, sizeof(t->url), "%s", url);
		int b = snprintf(t->connect_to, sizeof(t->connect_to), "%s:%s:%s:%s",
				 p->cert_name, port, host, port);
		int d = snprintf(t->ca_file, sizeof(t->ca_file), "%s", p->ca_file);
		if (a > 0 && (size_t)a < sizeof(t->url) && b > 0 &&
		    (size_t)b < sizeof(t->connect_to) && d > 0 &&
		    (size_t)d < sizeof(t->ca_file)) {
			ret = KMS_EOK;
		}
	}
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return ret;
}

static bool same_fields(const slot_t *s, const zk_peer_t *p)
{
	return strcmp(s->url, p->url) == 0 && strcmp(s->ca_file, p->ca_file) == 0 &&
	       strcmp(s->cert_name, p->cert_name) == 0;
}

static net_pool_cfg_t pool_cfg(zk_client_t *c)
{
	static const char *const headers[] = { "Content-Type: " ZK_MEDIA_TYPE,
					       "Accept: " ZK_MEDIA_TYPE,
					       "Expect:", NULL };
	const zk_client_cfg_t *cfg = &c->cfg;
	return (net_pool_cfg_t){
		.label = "Zk",
		.headers = headers,
		.timeout_ms = cfg->timeout_ms,
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.max = cfg->max_handles,
		.wait_ms = POOL_WAIT_MS,
		.temp_when_busy = true,
		.retries = cfg->retries,
		.backoff_ms = BACKOFF_MS,
		.share = c->share,
		.counters = &c->net,
	};
}

/* Point s at p's fields: a new pool, or a new target generation of its
 * pool, and a closed breaker; locked. */
static int slot_configure(zk_client_t *c, slot_t *s, const zk_peer_t *p)
{
	target_t t;
	int ret = build_target(p, &t);
	if (ret != KMS_EOK) {
		return ret;
	}
	net_target_t nt = { t.url, t.connect_to, t.ca_file, c->cert_file, c->key_file };
	if (s->pool == NULL) {
		net_pool_cfg_t pc = pool_cfg(c);
		ret = net_pool_new(&pc, &nt, &s->pool);
	} else {
		ret = net_pool_retarget(s->pool, &nt);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	memcpy(s->url, p->url, sizeof(s->url));
	memcpy(s->ca_file, p->ca_file, sizeof(s->ca_file));
	memcpy(s->cert_name, p->cert_name, sizeof(s->cert_name));
	net_breaker_reset(&s->breaker);
	return KMS_EOK;
}

static bool fields_fit(const zk_peer_t *p)
{
	size_t idlen = strnlen(p->kms_id, sizeof(p->kms_id));
	return idlen > 0 && idlen <= ZK_KMS_ID_MAX &&
	       strnlen(p->url, sizeof(p->url)) <= ZK_URL_MAX &&
	       strnlen(p->ca_file, sizeof(p->ca_file)) <= ZK_CA_FILE_MAX &&
	       strnlen(p->cert_name, sizeof(p->cert_name)) <= ZK_CERT_NAME_MAX;
}

/* A new slot for p; locked. */
static int slot_add(zk_client_t *c, const zk_peer_t *p, slot_t **out)
{
	if (c->nslots >= ZK_CLIENT_PEERS_MAX) {
		return KMS_ELIMIT;
	}
	slot_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return KMS_ENOMEM;
	}
	const zk_client_cfg_t *cfg = &c->cfg;
	net_breaker_init(&s->breaker, "Zk", cfg->breaker_failures, cfg->breaker_open_ms);
	metric_hist_init(&s->duration, metric_latency_bounds, metric_latency_nbounds);
	int ret = slot_configure(c, s, p);
	if (ret != KMS_EOK) {
		net_pool_free(s->pool);
		net_breaker_destroy(&s->breaker);
		free(s);
		return ret;
	}
	memcpy(s->kms_id, p->kms_id, strlen(p->kms_id) + 1);
	c->slots[c->nslots++] = s;
	*out = s;
	return KMS_EOK;
}

/* The slot of p->kms_id, created or reconfigured as needed; locked. */
static int slot_get(zk_client_t *c, const zk_peer_t *p, slot_t **out)
{
	if (!fields_fit(p)) {
		return KMS_EINVAL; /* unterminated or over-long fields */
	}
	for (size_t i = 0; i < c->nslots; i++) {
		slot_t *s = c->slots[i];
		if (strcmp(s->kms_id, p->kms_id) == 0) {
			int ret = same_fields(s, p) ? KMS_EOK : slot_configure(c, s, p);
			if (ret == KMS_EOK) {
				*out = s;
			}
			return ret;
		}
	}
	return slot_add(c, p, out);
}

/* --- one call ----------------------------------------------------------------- */

/* Find the slot, pass its breaker and take a handle (pooled, new, or
 * temporary). */
static int acquire(zk_client_t *c, const zk_peer_t *p, lease_t *l, const char **why)
{
	slot_t *s = NULL;
	pthread_mutex_lock(&c->lock);
	int ret = slot_get(c, p, &s);
	pthread_mutex_unlock(&c->lock);
	if (ret != KMS_EOK) {
		*why = ret == KMS_EINVAL ? "invalid peer URL, CA file or certificate name"
					 : "no room for another peer";
		return ret;
	}
	if (net_breaker_enter(&s->breaker, &l->trial) != KMS_EOK) {
		atomic_fetch_add(&c->fast_fails, 1);
		metric_counter_add(&s->fast_fails, 1);
		*why = "circuit open";
		return KMS_EUNAVAIL;
	}
	l->slot = s;
	ret = net_pool_take(s->pool, &l->hd);
	if (ret != KMS_EOK) {
		net_breaker_leave(&s->breaker, l->trial, KMS_EINTERNAL,
				  NULL); /* neither */
		*why = "cannot set up a libcurl handle";
	}
	return ret;
}

/* A call is over (either way of posting): the metrics and counters. */
static void call_ended(zk_client_t *c, slot_t *s, const net_call_t *call, int ret)
{
	metric_hist_observe_ns(&s->duration,
			       call->ms > 0 ? (uint64_t)(call->ms * 1e6) : 0);
	metric_counter_add(&s->unavailable, ret == KMS_EUNAVAIL ? 1 : 0);
	atomic_fetch_add(&c->failures, ret == KMS_EUNAVAIL ? 1 : 0);
	if (ret == KMS_EOK) {
		log_req_debug(call->subj, "Zk: status %ld in %.1f ms, %zu bytes%s",
			      call->status, call->ms, call->out_len,
			      call->new_conn ? ", new connection" : "");
	}
}

int zk_client_post(zk_client_t *c, const zk_peer_t *peer, const uint8_t *body, size_t len,
		   uint8_t *out, size_t cap, size_t *out_len, long *http_status,
		   const char **why)
{
	return zk_client_post_rid(c, peer, NULL, body, len, out, cap, out_len,
				  http_status, why);
}

/* "X-Request-Id: <rid>" into buf, or NULL when rid is absent or not a
 * short printable token (it goes into a header line). */
static const char *rid_header(const char *rid, char *buf, size_t cap)
{
	size_t n = rid != NULL ? strnlen(rid, ZK_RID_MAX + 1) : 0;
	if (n == 0 || n > ZK_RID_MAX) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (rid[i] <= 0x20 || rid[i] >= 0x7f) {
			return NULL;
		}
	}
	int m = snprintf(buf, cap, ZK_RID_HEADER ": %s", rid);
	return m > 0 && (size_t)m < cap ? buf : NULL;
}

int zk_client_post_rid(zk_client_t *c, const zk_peer_t *peer, const char *rid,
		       const uint8_t *body, size_t len, uint8_t *out, size_t cap,
		       size_t *out_len, long *http_status, const char **why)
{
	const char *w = "invalid arguments";
	int ret = KMS_EINVAL;
	char subj[SUBJECT_LEN];
	char hdr[sizeof(ZK_RID_HEADER) + ZK_RID_MAX + 4];
	lease_t l = { NULL, NULL, false };
	if (c == NULL || peer == NULL || body == NULL || len == 0 || out == NULL ||
	    out_len == NULL || http_status == NULL) {
		goto done;
	}
	atomic_fetch_add(&c->requests, 1);
	snprintf(subj, sizeof(subj), "peer:%.40s", peer->kms_id);
	ret = acquire(c, peer, &l, &w);
	if (ret != KMS_EOK) {
		goto done;
	}
	net_call_t call = { .subj = subj,
			    .body = body,
			    .len = len,
			    .header = rid_header(rid, hdr, sizeof(hdr)),
			    .out = out,
			    .cap = cap };
	ret = net_post(l.slot->pool, l.hd, &call);
	net_breaker_leave(&l.slot->breaker, l.trial, ret, subj);
	net_pool_give(l.slot->pool, l.hd);
	call_ended(c, l.slot, &call, ret);
	if (ret == KMS_EOK) {
		*out_len = call.out_len;
		*http_status = call.status;
	} else {
		w = call.why;
	}
done:
	if (ret != KMS_EOK && why != NULL) {
		*why = w;
	}
	return ret;
}

/* --- one call on the outbound thread --------------------------------------------- */

void zk_client_use_outbound(zk_client_t *c, net_outbound_t *ob)
{
	if (c != NULL) {
		atomic_store(&c->ob, ob);
	}
}

/* The outbound thread ended the call: count it, then tell the caller. */
static void async_done(net_call_t *call, int ret, void *arg)
{
	zk_async_t *a = arg;
	zk_client_t *c = a->c;
	if (ret == KMS_EAGAIN) {
		ret = KMS_EUNAVAIL; /* no handle at all: cannot happen (temporary) */
		call->why = "no connection to the peer could be set up";
	}
	if (ret != KMS_ECANCELED) {
		call_ended(c, a->slot, call, ret);
	}
	atomic_fetch_sub(&c->pending, 1); /* before done: it may post again */
	a->done(ret, call->status, call->out_len, ret != KMS_EOK ? call->why : NULL,
		a->arg);
}

/* A place among the max_pending calls; false when none is left. */
static bool pending_enter(zk_client_t *c)
{
	uint_fast64_t n = atomic_load(&c->pending);
	do {
		if (n >= c->cfg.max_pending) {
			atomic_fetch_add(&c->pending_full, 1);
			return false;
		}
	} while (!atomic_compare_exchange_weak(&c->pending, &n, n + 1));
	return true;
}

/* The slot of peer and the call's fields in a. */
static int async_prepare(zk_client_t *c, const zk_peer_t *peer, const char *rid,
			 const uint8_t *body, size_t len, uint8_t *out, size_t cap,
			 zk_async_t *a, const char **why)
{
	slot_t *s = NULL;
	pthread_mutex_lock(&c->lock);
	int ret = slot_get(c, peer, &s);
	pthread_mutex_unlock(&c->lock);
	if (ret != KMS_EOK) {
		*why = ret == KMS_EINVAL ? "invalid peer URL, CA file or certificate name"
					 : "no room for another peer";
		return ret;
	}
	a->c = c;
	a->slot = s;
	snprintf(a->subj, sizeof(a->subj), "peer:%.40s", peer->kms_id);
	a->call = (net_call_t){ .subj = a->subj,
				.body = body,
				.len = len,
				.header = rid_header(rid, a->hdr, sizeof(a->hdr)),
				.out = out,
				.cap = cap };
	return KMS_EOK;
}

int zk_client_post_async(zk_client_t *c, const zk_peer_t *peer, const char *rid,
			 const uint8_t *body, size_t len, uint8_t *out, size_t cap,
			 zk_async_t *a, zk_done_fn done, void *arg, const char **why)
{
	const char *w = "invalid arguments";
	net_outbound_t *ob = c != NULL ? atomic_load(&c->ob) : NULL;
	int ret = KMS_EINVAL;
	if (c == NULL || peer == NULL || body == NULL || len == 0 || out == NULL ||
	    a == NULL || done == NULL) {
		goto out;
	}
	ret = KMS_ENOTSUP;
	w = "no outbound-call thread";
	if (ob == NULL) {
		goto out;
	}
	ret = async_prepare(c, peer, rid, body, len, out, cap, a, &w);
	if (ret != KMS_EOK) {
		goto out;
	}
	ret = KMS_EAGAIN;
	w = "too many forwarded resolves under way";
	if (!pending_enter(c)) {
		goto out;
	}
	a->done = done;
	a->arg = arg;
	atomic_fetch_add(&c->requests, 1);
	slot_t *s = a->slot;
	ret = net_outbound_post(ob, s->pool, &s->breaker, &a->call, async_done, a);
	if (ret != KMS_EOK) {
		atomic_fetch_sub(&c->pending, 1);
		bool open = ret == KMS_EUNAVAIL; /* the breaker refused it */
		atomic_fetch_add(&c->fast_fails, open ? 1 : 0);
		metric_counter_add(&s->fast_fails, open ? 1 : 0);
		w = open ? "circuit open" : "the outbound-call thread refused the call";
		ret = ret == KMS_ECANCELED ? KMS_EUNAVAIL : ret;
	}
out:
	if (ret != KMS_EOK && why != NULL) {
		*why = w;
	}
	return ret;
}

/* --- lifecycle ---------------------------------------------------------------- */

void zk_client_prune(zk_client_t *c, const zk_peers_t *peers)
{
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nslots; i++) {
		slot_t *s = c->slots[i];
		const zk_peer_t *p = zk_peers_find_kms(peers, (const uint8_t *)s->kms_id,
						       strlen(s->kms_id));
		if (p == NULL || !same_fields(s, p)) {
			/* Idle handles close now, busy ones when they return. */
			net_pool_retarget(s->pool, NULL);
		}
	}
	pthread_mutex_unlock(&c->lock);
}

void zk_client_stats(const zk_client_t *c, zk_client_stats_t *out)
{
	if (out == NULL) {
		return;
	}
	memset(out, 0, sizeof(*out));
	if (c == NULL) {
		return;
	}
	net_stats_t n;
	net_counters_get(&c->net, &n);
	out->requests = atomic_load(&c->requests);
	out->attempts = n.attempts;
	out->retries = n.retries;
	out->connects = n.connects;
	out->failures = atomic_load(&c->failures);
	out->fast_fails = atomic_load(&c->fast_fails);
	out->temp_handles = n.temp_handles;
	out->pending = atomic_load(&c->pending);
	out->pending_full = atomic_load(&c->pending_full);
}

size_t zk_client_peer_stats(zk_client_t *c, zk_peer_stats_t *out, size_t max)
{
	size_t n = 0;
	if (c == NULL || out == NULL) {
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nslots && n < max; i++, n++) {
		slot_t *s = c->slots[i];
		zk_peer_stats_t *o = &out[n];
		snprintf(o->kms_id, sizeof(o->kms_id), "%s", s->kms_id);
		pthread_mutex_lock(&s->breaker.lock);
		o->breaker_open = s->breaker.open_until != 0;
		pthread_mutex_unlock(&s->breaker.lock);
		metric_hist_snapshot(&s->duration, &o->duration);
		o->unavailable = metric_counter_get(&s->unavailable);
		o->fast_fails = metric_counter_get(&s->fast_fails);
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

void zk_client_free(zk_client_t *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->nslots; i++) {
		net_pool_free(c->slots[i]->pool);
		net_breaker_destroy(&c->slots[i]->breaker);
		free(c->slots[i]);
	}
	free(c->slots);
	net_share_free(c->share); /* after every handle is gone */
	pthread_mutex_destroy(&c->lock);
	free(c->cert_file);
	free(c->key_file);
	free(c);
}

static int check_cfg(const zk_client_cfg_t *cfg)
{
	if (cfg == NULL || cfg->timeout_ms == 0 || cfg->timeout_ms > INT32_MAX ||
	    cfg->connect_timeout_ms > cfg->timeout_ms ||
	    cfg->retries > ZK_CLIENT_RETRIES_MAX || cfg->max_handles == 0 ||
	    cfg->max_handles > ZK_CLIENT_HANDLES_MAX ||
	    cfg->max_pending > ZK_CLIENT_PENDING_MAX ||
	    cfg->breaker_open_ms > INT32_MAX ||
	    (cfg->breaker_failures > 0 && cfg->breaker_open_ms == 0) ||
	    (cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
		return KMS_EINVAL;
	}
	if (cfg->cert_file != NULL &&
	    (access(cfg->cert_file, R_OK) != 0 || access(cfg->key_file, R_OK) != 0)) {
		log_error("zk: cannot read the client certificate %s or its key %s",
			  cfg->cert_file, cfg->key_file);
		return KMS_ECONFIG;
	}
	return KMS_EOK;
}

int zk_client_new(const zk_client_cfg_t *cfg, zk_client_t **out)
{
	if (out == NULL) {
		return KMS_EINVAL;
	}
	int ret = check_cfg(cfg);
	zk_client_t *c = ret == KMS_EOK ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		return ret != KMS_EOK ? ret : KMS_ENOMEM;
	}
	c->cfg = *cfg;
	if (c->cfg.connect_timeout_ms == 0) {
		c->cfg.connect_timeout_ms = c->cfg.timeout_ms;
	}
	if (c->cfg.max_pending == 0) {
		c->cfg.max_pending = c->cfg.max_handles;
	}
	atomic_init(&c->ob, NULL);
	pthread_mutex_init(&c->lock, NULL);
	c->cfg.cert_file = c->cfg.key_file = NULL; /* the copies below are used */
	if (cfg->cert_file != NULL) {
		c->cert_file = strdup(cfg->cert_file);
		c->key_file = strdup(cfg->key_file);
		ret = c->cert_file != NULL && c->key_file != NULL ? KMS_EOK : KMS_ENOMEM;
	}
	c->slots = calloc(ZK_CLIENT_PEERS_MAX, sizeof(*c->slots));
	if (ret == KMS_EOK && c->slots == NULL) {
		ret = KMS_ENOMEM;
	}
	if (ret == KMS_EOK) {
		ret = net_share_new(&c->share);
	}
	if (ret != KMS_EOK) {
		zk_client_free(c);
		return ret;
	}
	*out = c;
	return KMS_EOK;
}
