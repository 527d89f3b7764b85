/*
 * The GBA PSK source: cache first, Zn on a miss.
 *
 * Zn goes through a small pool of libcurl easy handles (one per request in
 * flight, kept between requests so their connections stay alive).  The
 * pool size is the limit on Zn requests in flight: a miss that finds every
 * handle busy waits at most 100 ms for one (then re-checks the cache) and is
 * otherwise answered KMS_EUNAVAIL, so a slow BSF ties up at most that many
 * Ua threads for naf.timeout_ms (timeouts are not retried) and the others
 * for 100 ms.  Connection errors and 5xx
 * answers are retried naf.retries times after a short backoff.
 *
 * Time: key expiry, the negative TTL and the backoff read common/clock.h
 * (Unix seconds for expiry, as the BSF's key_expiry_time is); the pool
 * wait is a condition-variable wait on the real clock, and the Zn
 * timeouts are libcurl's.
 */
#include "kms/naf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "gba/kdf.h"
#include "kms/naf_cache.h"
#include "kms/naf_zn.h"

#define SUBJECT_LEN 24 /* "btid:" + a prefix of the B-TID */
#define REASON_LEN 32

/* The cache and counters; shared by the sources of successive reloads. */
typedef struct {
	atomic_uint refs;
	naf_cache_t *cache;
	size_t cache_entries; /* as configured */
	uint8_t naf_id[GBA_NAF_ID_MAX];
	size_t naf_id_len;
	atomic_uint_fast64_t hits, misses, zn_requests, zn_errors, zn_busy;
} shared_t;

typedef struct {
	kms_psk_source_t base; /* first: the source pointer is the naf_t */
	shared_t *sh;
	char url[256];
	long timeout_ms, connect_timeout_ms;
	unsigned retries;
	uint32_t negative_ttl;
	struct curl_slist *headers; /* shared by the handles */
	pthread_mutex_t lock;	    /* the pool */
	pthread_cond_t freed;	    /* a handle went back to the pool */
	CURL **idle;		    /* stack of idle handles */
	size_t nidle;
	size_t created; /* handles that exist (idle or in use) */
	size_t max;	/* pool size = Zn requests in flight */
} naf_t;

typedef struct {
	kms_psk_source_t base;
	kms_psk_source_t *stat;
	kms_psk_source_t *gba;
} both_t;

/* The body of one Zn answer, capped. */
typedef struct {
	char buf[NAF_ZN_BODY_MAX];
	size_t len;
	bool over;
} body_t;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	/* Process-wide and never undone: handles may outlive a reload. */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- shared part ---------------------------------------------------------------- */

static void shared_put(shared_t *sh)
{
	if (sh != NULL && atomic_fetch_sub(&sh->refs, 1) == 1) {
		naf_cache_free(sh->cache);
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
	int ret = gba_naf_id(cfg->naf_fqdn, ua, sh->naf_id, sizeof(sh->naf_id),
			     &sh->naf_id_len);
	if (ret != KMS_EOK) {
		free(sh);
		return KMS_ECONFIG;
	}
	sh->cache_entries = cfg->naf_cache_entries;
	sh->cache = naf_cache_new(cfg->naf_cache_entries, cfg->naf_negative_ttl);
	if (sh->cache == NULL) {
		free(sh);
		return KMS_ENOMEM;
	}
	*out = sh;
	return KMS_EOK;
}

/* --- the handle pool ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	body_t *b = ctx;
	size_t n = size * nmemb;
	if (n > sizeof(b->buf) - b->len) {
		b->over = true;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return n;
}

static CURL *handle_new(const naf_t *n)
{
	CURL *h = curl_easy_init();
	if (h == NULL) {
		return NULL;
	}
	bool ok = curl_easy_setopt(h, CURLOPT_URL, n->url) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, n->timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, n->connect_timeout_ms) ==
	      CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, n->headers) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	ok &=
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS) ==
	      CURLE_OK;
#endif
	if (!ok) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

/* An idle handle, a new one, or NULL when the pool is exhausted. */
static CURL *pool_take(naf_t *n)
{
	CURL *h = NULL;
	bool create = false;
	pthread_mutex_lock(&n->lock);
	if (n->nidle > 0) {
		h = n->idle[--n->nidle];
	} else if (n->created < n->max) {
		n->created++;
		create = true;
	}
	pthread_mutex_unlock(&n->lock);
	if (create) {
		h = handle_new(n);
		if (h == NULL) {
			pthread_mutex_lock(&n->lock);
			n->created--;
			pthread_mutex_unlock(&n->lock);
		}
	}
	return h;
}

static void pool_give(naf_t *n, CURL *h)
{
	pthread_mutex_lock(&n->lock);
	n->idle[n->nidle++] = h; /* nidle < created <= max: always fits */
	pthread_cond_signal(&n->freed);
	pthread_mutex_unlock(&n->lock);
}

/*
 * pool_take(), waiting at most POOL_WAIT_MS for a handle to come back: a
 * burst of first requests for one B-TID then finds the key in the cache
 * instead of being refused, while a slow BSF still holds a Ua thread for
 * at most that long beyond the Zn requests in flight.
 */
#define POOL_WAIT_MS 100
static CURL *pool_take_wait(naf_t *n)
{
	CURL *h = pool_take(n);
	if (h != NULL) {
		return h;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += POOL_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->lock);
	while (n->nidle == 0 && n->created >= n->max &&
	       pthread_cond_timedwait(&n->freed, &n->lock, &until) == 0) {
	}
	pthread_mutex_unlock(&n->lock);
	return pool_take(n);
}

/* --- Zn -------------------------------------------------------------------------- */

static void subject_of(const char *btid, char *out, size_t cap)
{
	snprintf(out, cap, "btid:%.10s...", btid);
}

static bool retryable(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_COULDNT_RESOLVE_HOST;
}

static void backoff(unsigned attempt)
{
	kms_clock_sleep_ms((int64_t)NAF_BACKOFF_MS * (attempt < 4 ? attempt : 4));
}

/* One Zn request with its retries.  KMS_EOK with *ans, or the refusal. */
static int zn_fetch(naf_t *n, CURL *h, const char *btid, const char *subj, body_t *body,
		    naf_zn_answer_t *ans)
{
	shared_t *sh = n->sh;
	char *req = NULL;
	char reason[REASON_LEN];
	int ret = naf_zn_request(btid, sh->naf_id, sh->naf_id_len, &req);
	if (ret != KMS_EOK) {
		return ret;
	}
	bool ok = curl_easy_setopt(h, CURLOPT_POSTFIELDS, req) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(req)) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, body) == CURLE_OK;
	ret = ok ? KMS_EUNAVAIL : KMS_EINTERNAL;
	for (unsigned attempt = 0; ok && attempt <= n->retries; attempt++) {
		if (attempt > 0) {
			backoff(attempt);
		}
		body->len = 0;
		body->over = false;
		atomic_fetch_add(&sh->zn_requests, 1);
		CURLcode rc = curl_easy_perform(h);
		long status = 0;
		double secs = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
		if (rc != CURLE_OK) {
			atomic_fetch_add(&sh->zn_errors, 1);
			log_req_warning(
			    subj, "Zn request failed after %.1f ms: %s%s", secs * 1e3,
			    body->over ? "answer too large" : curl_easy_strerror(rc),
			    retryable(rc) && attempt < n->retries ? " (retrying)" : "");
			if (retryable(rc)) {
				continue;
			}
			break;
		}
		if (status == 200) {
			ret = naf_zn_parse(body->buf, body->len, btid, kms_clock_wall_s(),
					   ans);
			if (ret == KMS_EMALFORMED) {
				atomic_fetch_add(&sh->zn_errors, 1);
				log_req_error(subj, "Zn: malformed answer from the BSF");
				ret = KMS_EUNAVAIL;
			} else if (ret == KMS_EOK) {
				log_req_info(
				    subj,
				    "Zn: 200 in %.1f ms: IMPI %s, %zu identities "
				    "(%zu IMPUs skipped), key valid %lld s",
				    secs * 1e3, ans->impi, ans->psk.nids,
				    ans->impus_skipped,
				    (long long)(ans->psk.expires - kms_clock_wall_s()));
			} else {
				log_req_info(subj,
					     "Zn: 200 in %.1f ms for an expired or "
					     "other B-TID",
					     secs * 1e3);
			}
			break;
		}
		ret = naf_zn_status(status, body->buf, body->len, reason, sizeof(reason));
		if (ret == KMS_EUNAVAIL) {
			atomic_fetch_add(&sh->zn_errors, 1);
			log_req_warning(
			    subj, "Zn: status %ld in %.1f ms%s", status, secs * 1e3,
			    status >= 500 && attempt < n->retries ? " (retrying)" : "");
			if (status >= 500) {
				continue;
			}
			break;
		}
		log_req_info(subj, "Zn: %ld in %.1f ms (%s): %s", status, secs * 1e3,
			     reason[0] != '\0' ? reason : "-", kms_strerror(ret));
		break;
	}
	/* The handle keeps a pointer to req: drop it before freeing. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	free(req);
	return ret;
}

static int naf_lookup(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
		      kms_psk_t *out)
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
	subject_of(btid, subj, sizeof(subj));
	CURL *h = pool_take_wait(n);
	if (h == NULL) {
		atomic_fetch_add(&sh->zn_busy, 1);
		log_req_warning(subj, "Zn: every connection to the BSF is busy");
		return KMS_EUNAVAIL;
	}
	/* Another thread may have fetched this B-TID while we waited. */
	ret = naf_cache_get(sh->cache, psk_id, len, kms_clock_wall_s(), out, NULL, 0);
	if (ret != KMS_ENOENT) {
		pool_give(n, h);
		return ret;
	}
	body_t *body = malloc(sizeof(*body));
	naf_zn_answer_t *ans = secmem_alloc(sizeof(*ans));
	ret = body != NULL && ans != NULL ? zn_fetch(n, h, btid, subj, body, ans)
					  : KMS_ENOMEM;
	pool_give(n, h);
	if (ret == KMS_EOK) {
		if (naf_cache_put(sh->cache, psk_id, len, &ans->psk, ans->impi) !=
		    KMS_EOK) {
			log_req_warning(subj, "Zn: answer not cached");
		}
		memcpy(out, &ans->psk, sizeof(*out));
	} else if (ret == KMS_EBTID || ret == KMS_EPOLICY) {
		naf_cache_put_negative(sh->cache, psk_id, len, ret,
				       kms_clock_wall_s() + (int64_t)n->negative_ttl);
	}
	free(body);
	secmem_free(ans, sizeof(*ans));
	return ret;
}

/* --- lifecycle ------------------------------------------------------------------ */

static void naf_free(kms_psk_source_t *src)
{
	naf_t *n = (naf_t *)src;
	if (n == NULL) {
		return;
	}
	for (size_t i = 0; i < n->nidle; i++) {
		curl_easy_cleanup(n->idle[i]);
	}
	free(n->idle);
	curl_slist_free_all(n->headers);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->freed);
	shared_put(n->sh);
	free(n);
}

static naf_t *as_naf(const kms_psk_source_t *src);

int naf_reopen(const kms_config_t *cfg, const kms_psk_source_t *prev,
	       kms_psk_source_t **out)
{
	if (cfg == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		log_error("naf: libcurl does not initialise");
		return KMS_EINTERNAL;
	}
	naf_t *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return KMS_ENOMEM;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->freed, NULL);
	n->base.lookup = naf_lookup;
	n->base.free = naf_free;
	snprintf(n->url, sizeof(n->url), "%s", cfg->naf_bsf_url);
	n->timeout_ms = (long)cfg->naf_timeout_ms;
	n->connect_timeout_ms = (long)cfg->naf_connect_timeout_ms;
	n->retries = cfg->naf_retries;
	n->negative_ttl = cfg->naf_negative_ttl;
	n->max = cfg->threads > 1 ? cfg->threads - 1 : 1;
	n->idle = calloc(n->max, sizeof(CURL *));
	n->headers = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *more =
	    n->headers != NULL ? curl_slist_append(n->headers, "Accept: application/json")
			       : NULL;
	more = more != NULL ? curl_slist_append(more, "Expect:") : NULL;
	if (n->idle == NULL || more == NULL) {
		naf_free(&n->base);
		return KMS_ENOMEM;
	}
	const naf_t *old = as_naf(prev);
	int ret = KMS_EOK;
	if (old != NULL && old->sh->cache_entries == cfg->naf_cache_entries) {
		static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
		uint8_t id[GBA_NAF_ID_MAX];
		size_t id_len = 0;
		ret = gba_naf_id(cfg->naf_fqdn, ua, id, sizeof(id), &id_len);
		if (ret == KMS_EOK && id_len == old->sh->naf_id_len &&
		    memcmp(id, old->sh->naf_id, id_len) == 0) {
			n->sh = old->sh;
			atomic_fetch_add(&n->sh->refs, 1);
			naf_cache_set_negative_ttl(n->sh->cache, cfg->naf_negative_ttl);
		}
	}
	if (n->sh == NULL) {
		ret = shared_new(cfg, &n->sh);
	}
	if (ret != KMS_EOK) {
		log_error("naf: cannot set up the GBA PSK source: %s", kms_strerror(ret));
		naf_free(&n->base);
		return ret;
	}
	log_info("naf: Zn to %s as NAF %s, timeout %u ms (connect %u ms), %u retries, "
		 "%zu Zn requests in flight at most, cache %zu entries%s",
		 n->url, cfg->naf_fqdn, cfg->naf_timeout_ms, cfg->naf_connect_timeout_ms,
		 n->retries, n->max, naf_cache_capacity(n->sh->cache),
		 n->sh == (old != NULL ? old->sh : NULL) ? " (kept)" : "");
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
	b->base.free = both_free;
	b->stat = stat;
	b->gba = gba;
	*out = &b->base;
	return KMS_EOK;
}

/* --- inspection ------------------------------------------------------------------- */

static naf_t *as_naf(const kms_psk_source_t *src)
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
	const naf_t *n = as_naf(src);
	if (n == NULL || out == NULL) {
		return KMS_ENOENT;
	}
	shared_t *sh = n->sh;
	out->hits = atomic_load(&sh->hits);
	out->misses = atomic_load(&sh->misses);
	out->zn_requests = atomic_load(&sh->zn_requests);
	out->zn_errors = atomic_load(&sh->zn_errors);
	out->zn_busy = atomic_load(&sh->zn_busy);
	out->entries = naf_cache_size(sh->cache);
	out->capacity = naf_cache_capacity(sh->cache);
	return KMS_EOK;
}
