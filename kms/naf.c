/*
 * The GBA PSK source: cache first, Zn on a miss.
 *
 * This file decides what a Zn exchange means; net/http_client.h carries
 * it.  Each source has a pool of libcurl handles (net_pool_t, one per Zn
 * request in flight, kept between requests so their connections stay
 * alive) towards naf.bsf_url.  The pool size is the limit on Zn requests
 * in flight: a miss that finds every handle busy waits at most 100 ms for
 * one (then re-checks the cache) and is otherwise answered KMS_EUNAVAIL.
 * This file holds the blocking lookup (kmsctl, tests; the thread waits up
 * to naf.timeout_ms, timeouts after the request went out not retried);
 * kmsd's Ua requests use kms/naf_async.c, which sends the same request on
 * the outbound-call thread and parks the request meanwhile, on the same
 * pool and so under the same bound.  Retries follow the one policy of net/http_client.h:
 * connection failures and 502/503/504 answers, naf.retries times after a
 * backoff of NAF_BACKOFF_MS x attempt.  Here: the request body, the
 * meaning of each answer (kms/naf_zn.h), the cache (kms/naf_cache.h), the
 * counters that survive a reload, and the "both" source.
 *
 * With naf.zn = "diameter" there is no pool: a miss sends a BIR on the
 * process's freeDiameter peer (kms/naf_dia.c; kmsd starts the peer) and
 * naf.bsf_url, naf.retries and naf.connect_timeout_ms are not used.
 *
 * Time: key expiry, the negative TTL and the backoff read common/clock.h
 * (Unix seconds for expiry, as the BSF's key_expiry_time is); the pool
 * wait is a condition-variable wait on the monotonic clock, and the Zn
 * timeouts are libcurl's.
 */
#include "kms/naf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "gba/kdf.h"
#include "kms/naf_cache.h"
#include "kms/naf_int.h"
#include "kms/naf_zn.h"
#include "net/http_client.h"

#define REASON_LEN 32
#define POOL_WAIT_MS 100 /* for a Zn handle before refusing (see above) */

typedef struct {
	kms_psk_source_t base;
	kms_psk_source_t *stat;
	kms_psk_source_t *gba;
} both_t;

/* --- shared part ---------------------------------------------------------------- */

static void shared_put(shared_t *sh)
{
	if (sh != NULL && atomic_fetch_sub(&sh->refs, 1) == 1) {
		naf_cache_free(sh->cache);
		pthread_mutex_destroy(&sh->lock);
		free(sh);
	}
}

static int shared_new(const kms_config_t *cfg, shared_t **out)
{
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	shared_t *sh = calloc(1, sizeof(*sh));
	if (sh == NULL) {
		return KMS_ENOMEM;
	}
	atomic_init(&sh->refs, 1);
	metric_hist_init(&sh->zn_duration, metric_latency_bounds, metric_latency_nbounds);
	pthread_mutex_init(&sh->lock, NULL);
	int ret = gba_naf_id(cfg->naf_fqdn, ua, sh->naf_id, sizeof(sh->naf_id),
			     &sh->naf_id_len);
	sh->cache_entries = cfg->naf_cache_entries;
	sh->cache = ret == KMS_EOK
			? naf_cache_new(cfg->naf_cache_entries, cfg->naf_negative_ttl)
			: NULL;
	if (sh->cache == NULL) {
		pthread_mutex_destroy(&sh->lock);
		free(sh);
		return ret != KMS_EOK ? KMS_ECONFIG : KMS_ENOMEM;
	}
	*out = sh;
	return KMS_EOK;
}

/* The shared part of old when it has the NAF_Id and cache size of cfg. */
static shared_t *shared_reuse(const kms_config_t *cfg, shared_t *old)
{
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	uint8_t id[GBA_NAF_ID_MAX];
	size_t id_len = 0;
	if (old == NULL || old->cache_entries != cfg->naf_cache_entries ||
	    gba_naf_id(cfg->naf_fqdn, ua, id, sizeof(id), &id_len) != KMS_EOK ||
	    id_len != old->naf_id_len || memcmp(id, old->naf_id, id_len) != 0) {
		return NULL;
	}
	atomic_fetch_add(&old->refs, 1);
	naf_cache_set_negative_ttl(old->cache, cfg->naf_negative_ttl);
	return old;
}

/* --- Zn -------------------------------------------------------------------------- */

void naf_subject_of(const char *btid, char *out, size_t cap)
{
	snprintf(out, cap, "btid:%.10s...", btid);
}

/* The outcome of a 200 answer. */
static int zn_ok(shared_t *sh, const net_call_t *call, const char *btid,
		 naf_zn_answer_t *ans)
{
	const char *subj = call->subj;
	int ret = naf_zn_parse(call->out, call->out_len, btid, kms_clock_wall_s(), ans);
	if (ret == KMS_EMALFORMED) {
		atomic_fetch_add(&sh->bad_answers, 1);
		log_req_error(subj, "Zn: malformed answer from the BSF");
		return KMS_EUNAVAIL;
	}
	if (ret == KMS_EOK) {
		log_req_info(subj,
			     "Zn: 200 in %.1f ms: IMPI %s, %zu identities "
			     "(%zu IMPUs skipped), key valid %lld s",
			     call->ms, ans->impi, ans->psk.nids, ans->impus_skipped,
			     (long long)(ans->psk.expires - kms_clock_wall_s()));
	} else {
		log_req_info(subj, "Zn: 200 in %.1f ms for an expired or other B-TID",
			     call->ms);
	}
	return ret;
}

/* The outcome of any other answer. */
static int zn_refused(shared_t *sh, const net_call_t *call)
{
	char reason[REASON_LEN];
	int ret =
	    naf_zn_status(call->status, call->out, call->out_len, reason, sizeof(reason));
	if (ret == KMS_EUNAVAIL) {
		atomic_fetch_add(&sh->bad_answers, 1);
		log_req_warning(call->subj, "Zn: status %ld in %.1f ms", call->status,
				call->ms);
	} else {
		log_req_info(call->subj, "Zn: %ld in %.1f ms (%s): %s", call->status,
			     call->ms, reason[0] != '\0' ? reason : "-",
			     kms_strerror(ret));
	}
	return ret;
}

int naf_zn_outcome(shared_t *sh, const net_call_t *call, int ret, const char *btid,
		   naf_zn_answer_t *ans)
{
	if (ret != KMS_EAGAIN && ret != KMS_ECANCELED) { /* it went out */
		metric_hist_observe_ns(&sh->zn_duration,
				       call->ms > 0 ? (uint64_t)(call->ms * 1e6) : 0);
	}
	if (ret == KMS_ELIMIT) {
		ret = KMS_EUNAVAIL; /* counted and logged as a Zn error */
	} else if (ret == KMS_EOK) {
		ret = call->status == 200 ? zn_ok(sh, call, btid, ans)
					  : zn_refused(sh, call);
	}
	if (ret == KMS_EUNAVAIL) {
		atomic_fetch_add(&sh->fail_run, 1);
	} else if (ret != KMS_EAGAIN && ret != KMS_ECANCELED) {
		atomic_store(&sh->fail_run, 0); /* the BSF answered */
	}
	return ret;
}

void naf_remember(naf_t *n, const uint8_t *psk_id, size_t len, const char *subj, int ret,
		  const naf_zn_answer_t *ans)
{
	shared_t *sh = n->sh;
	if (ret == KMS_EOK) {
		if (naf_cache_put(sh->cache, psk_id, len, &ans->psk, ans->impi) !=
		    KMS_EOK) {
			log_req_warning(subj, "Zn: answer not cached");
		}
	} else if (ret == KMS_EBTID || ret == KMS_EPOLICY) {
		naf_cache_put_negative(sh->cache, psk_id, len, ret,
				       kms_clock_wall_s() + (int64_t)n->negative_ttl);
	}
}

/* One Zn request with its retries.  KMS_EOK with *ans, or the refusal. */
static int zn_fetch(naf_t *n, net_handle_t *h, const char *btid, const char *subj,
		    char *body, naf_zn_answer_t *ans)
{
	shared_t *sh = n->sh;
	char *req = NULL;
	int ret = naf_zn_request(btid, sh->naf_id, sh->naf_id_len, &req);
	if (ret != KMS_EOK) {
		return ret;
	}
	net_call_t call = { .subj = subj,
			    .body = req,
			    .len = strlen(req),
			    .out = body,
			    .cap = NAF_ZN_BODY_MAX };
	ret = net_post(n->pool, h, &call);
	free(req);
	return naf_zn_outcome(sh, &call, ret, btid, ans);
}

/* Ask the BSF on h (given back here) and remember the outcome. */
static int zn_miss(naf_t *n, net_handle_t *h, const uint8_t *psk_id, size_t len,
		   const char *btid, const char *subj, kms_psk_t *out)
{
	char *body = secmem_alloc(NAF_ZN_BODY_MAX); /* holds the key, in base64 */
	naf_zn_answer_t *ans = secmem_alloc(sizeof(*ans));
	int ret = body != NULL && ans != NULL ? zn_fetch(n, h, btid, subj, body, ans)
					      : KMS_ENOMEM;
	net_pool_give(n->pool, h);
	naf_remember(n, psk_id, len, subj, ret, ans);
	if (ret == KMS_EOK) {
		memcpy(out, &ans->psk, sizeof(*out));
	}
	secmem_free(body, NAF_ZN_BODY_MAX); /* wiped */
	secmem_free(ans, sizeof(*ans));
	return ret;
}

int naf_lookup(kms_psk_source_t *src, const uint8_t *psk_id, size_t len, kms_psk_t *out)
{
	naf_t *n = (naf_t *)src;
	if (n == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	if (psk_id == NULL || naf_zn_btid_check(psk_id, len) != KMS_EOK) {
		return KMS_EBTID; /* cannot be a B-TID: nothing to ask the BSF */
	}
	shared_t *sh = n->sh;
	char btid[NAF_ZN_BTID_MAX + 1];
	char subj[SUBJECT_LEN];
	memcpy(btid, psk_id, len);
	btid[len] = '\0';
	int ret = naf_cache_get(sh->cache, psk_id, len, kms_clock_wall_s(), out, NULL, 0);
	if (ret != KMS_ENOENT) {
		atomic_fetch_add(&sh->hits, 1);
		return ret;
	}
	atomic_fetch_add(&sh->misses, 1);
	naf_subject_of(btid, subj, sizeof(subj));
	if (n->dia) {
		return naf_dia_lookup(n, psk_id, len, btid, subj, out);
	}
	net_handle_t *h = NULL;
	ret = net_pool_take(n->pool, &h);
	if (ret != KMS_EOK) {
		log_req_warning(subj, ret == KMS_EAGAIN
					  ? "Zn: every connection to the BSF is busy"
					  : "Zn: cannot set up a connection to the BSF");
		return KMS_EUNAVAIL;
	}
	/* Another thread may have fetched this B-TID while we waited. */
	ret = naf_cache_get(sh->cache, psk_id, len, kms_clock_wall_s(), out, NULL, 0);
	if (ret != KMS_ENOENT) {
		net_pool_give(n->pool, h);
		return ret;
	}
	return zn_miss(n, h, psk_id, len, btid, subj, out);
}

/* --- lifecycle ------------------------------------------------------------------ */

void naf_put(naf_t *n)
{
	if (n != NULL && atomic_fetch_sub(&n->refs, 1) == 1) {
		net_pool_free(n->pool);
		shared_put(n->sh);
		free(n);
	}
}

/* The state's reference; Zn calls still in flight keep theirs. */
static void naf_free(kms_psk_source_t *src)
{
	naf_put((naf_t *)src);
}

/* The Zn pool of cfg, counting into sh. */
static int pool_open(const kms_config_t *cfg, shared_t *sh, net_pool_t **out)
{
	static const char *const headers[] = { "Content-Type: application/json",
					       "Accept: application/json",
					       "Expect:", NULL };
	net_pool_cfg_t pc = {
		.label = "Zn",
		.headers = headers,
		.timeout_ms = cfg->naf_timeout_ms,
		.connect_timeout_ms = cfg->naf_connect_timeout_ms,
		.max = cfg->threads > 1 ? cfg->threads - 1 : 1,
		.wait_ms = POOL_WAIT_MS,
		.temp_when_busy = false,
		.retries = cfg->naf_retries,
		.backoff_ms = NAF_BACKOFF_MS,
		.counters = &sh->zn,
	};
	net_target_t t = { .url = cfg->naf_bsf_url };
	return net_pool_new(&pc, &t, out);
}

static void log_opened(const kms_config_t *cfg, const naf_t *n, bool kept)
{
	if (n->dia) {
		log_info("naf: Zn over Diameter (%s) as NAF %s, BIA timeout %u ms, "
			 "cache %zu entries%s",
			 cfg->naf_diameter_conf, cfg->naf_fqdn, cfg->naf_timeout_ms,
			 naf_cache_capacity(n->sh->cache), kept ? " (kept)" : "");
		return;
	}
	log_info("naf: Zn to %s as NAF %s, timeout %u ms (connect %u ms), %u retries, "
		 "%u Zn requests in flight at most, cache %zu entries%s",
		 cfg->naf_bsf_url, cfg->naf_fqdn, cfg->naf_timeout_ms,
		 cfg->naf_connect_timeout_ms, cfg->naf_retries,
		 cfg->threads > 1 ? cfg->threads - 1 : 1,
		 naf_cache_capacity(n->sh->cache), kept ? " (kept)" : "");
}

int naf_reopen(const kms_config_t *cfg, const kms_psk_source_t *prev,
	       kms_psk_source_t **out)
{
	if (cfg == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	naf_t *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return KMS_ENOMEM;
	}
	atomic_init(&n->refs, 1);
	n->base.lookup = naf_lookup;
	n->base.lookup_async = naf_lookup_async;
	n->base.free = naf_free;
	n->negative_ttl = cfg->naf_negative_ttl;
	n->dia = kms_config_zn_diameter(cfg);
	n->timeout_ms = cfg->naf_timeout_ms;
	const naf_t *old = naf_of(prev);
	n->sh = shared_reuse(cfg, old != NULL ? old->sh : NULL);
	int ret = n->sh != NULL ? KMS_EOK : shared_new(cfg, &n->sh);
	if (ret == KMS_EOK && !n->dia) {
		ret = pool_open(cfg, n->sh, &n->pool);
	}
	if (ret != KMS_EOK) {
		log_error("naf: cannot set up the GBA PSK source: %s", kms_strerror(ret));
		naf_free(&n->base);
		return ret;
	}
	log_opened(cfg, n, old != NULL && n->sh == old->sh);
	*out = &n->base;
	return KMS_EOK;
}

int naf_open(const kms_config_t *cfg, kms_psk_source_t **out)
{
	return naf_reopen(cfg, NULL, out);
}

/* --- "both" ----------------------------------------------------------------------- */

static int both_lookup(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
		       kms_psk_t *out)
{
	both_t *b = (both_t *)src;
	kms_psk_source_t *s =
	    psk_id != NULL && naf_zn_btid_shaped(psk_id, len) ? b->gba : b->stat;
	return s->lookup(s, psk_id, len, out);
}

static int both_lookup_async(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
			     kms_psk_t *out, net_wait_t *w)
{
	both_t *b = (both_t *)src;
	if (psk_id != NULL && naf_zn_btid_shaped(psk_id, len)) {
		return b->gba->lookup_async(b->gba, psk_id, len, out, w);
	}
	return b->stat->lookup(b->stat, psk_id, len, out);
}

static void both_free(kms_psk_source_t *src)
{
	both_t *b = (both_t *)src;
	if (b == NULL) {
		return;
	}
	if (b->stat != NULL) {
		b->stat->free(b->stat);
	}
	if (b->gba != NULL) {
		b->gba->free(b->gba);
	}
	free(b);
}

int naf_both(kms_psk_source_t *stat, kms_psk_source_t *gba, kms_psk_source_t **out)
{
	both_t *b = calloc(1, sizeof(*b));
	if (b == NULL || stat == NULL || gba == NULL || out == NULL) {
		if (stat != NULL) {
			stat->free(stat);
		}
		if (gba != NULL) {
			gba->free(gba);
		}
		free(b);
		return b == NULL ? KMS_ENOMEM : KMS_EINVAL;
	}
	b->base.lookup = both_lookup;
	b->base.lookup_async = both_lookup_async;
	b->base.free = both_free;
	b->stat = stat;
	b->gba = gba;
	*out = &b->base;
	return KMS_EOK;
}

/* --- inspection ------------------------------------------------------------------- */

naf_t *naf_of(const kms_psk_source_t *src)
{
	if (src == NULL) {
		return NULL;
	}
	if (src->lookup == naf_lookup) {
		return (naf_t *)(uintptr_t)src;
	}
	if (src->lookup == both_lookup) {
		return (naf_t *)((const both_t *)src)->gba;
	}
	return NULL;
}

const kms_psk_source_t *naf_static_part(const kms_psk_source_t *src)
{
	if (src == NULL || src->lookup == naf_lookup) {
		return NULL;
	}
	if (src->lookup == both_lookup) {
		return ((const both_t *)src)->stat;
	}
	return src;
}

int naf_stats(const kms_psk_source_t *src, naf_stats_t *out)
{
	const naf_t *n = naf_of(src);
	if (n == NULL || out == NULL) {
		return KMS_ENOENT;
	}
	shared_t *sh = n->sh;
	out->hits = atomic_load(&sh->hits);
	out->misses = atomic_load(&sh->misses);
	net_stats_t zn;
	net_counters_get(&sh->zn, &zn);
	out->zn_requests = zn.attempts;
	out->zn_errors = zn.errors + atomic_load(&sh->bad_answers);
	out->zn_unavailable = zn.errors;
	out->zn_bad_answers = atomic_load(&sh->bad_answers);
	metric_hist_snapshot(&sh->zn_duration, &out->zn_duration);
	out->zn_busy = zn.busy + atomic_load(&sh->pending_full);
	out->zn_joined = atomic_load(&sh->joined);
	out->zn_fail_run = atomic_load(&sh->fail_run);
	out->entries = naf_cache_size(sh->cache);
	out->capacity = naf_cache_capacity(sh->cache);
	return KMS_EOK;
}
