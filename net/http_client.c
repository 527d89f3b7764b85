/*
 * The pooled HTTP client (see http_client.h for the behaviour).
 *
 * A pool keeps its target as copied strings with a generation number;
 * handles are made under the pool's lock (curl_easy_init and setopt do no
 * I/O), so a handle always matches the generation it records.  Each
 * handle owns its CONNECT_TO list (libcurl keeps the pointer), the pool
 * owns the header list its handles share.
 */
#include "net/http_client.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"

struct net_share {
	CURLSH *sh;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

struct net_handle {
	CURL *h;
	struct curl_slist *connect_to; /* must outlive h's use of it */
	struct curl_slist *headers;    /* the pool's list (lives as long as it) */
	struct curl_slist extra;       /* a call's own header line, then headers */
	uint64_t gen;
	bool pooled; /* counted in nhandles; else temporary */
};

/* The copied target. */
typedef struct {
	char *url, *connect_to, *ca_file, *cert_file, *key_file;
} target_t;

struct net_pool {
	net_pool_cfg_t cfg; /* label, headers and counters replaced below */
	char label[16];
	struct curl_slist *headers;
	net_counters_t own, *ctr;
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a handle came back or went away */
	target_t t;
	uint64_t gen;
	net_handle_t **idle; /* cfg.max slots */
	size_t nidle;
	size_t nhandles; /* pooled handles alive, idle or busy, any generation */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	/* Process-wide and never undone: handles may outlive a reload. */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int net_curl_init(void)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		log_error("net: libcurl does not initialise");
		return KMS_EINTERNAL;
	}
	return KMS_EOK;
}

void net_counters_get(const net_counters_t *c, net_stats_t *out)
{
	if (out == NULL) {
		return;
	}
	memset(out, 0, sizeof(*out));
	if (c == NULL) {
		return;
	}
	out->attempts = atomic_load(&c->attempts);
	out->retries = atomic_load(&c->retries);
	out->connects = atomic_load(&c->connects);
	out->errors = atomic_load(&c->errors);
	out->temp_handles = atomic_load(&c->temp_handles);
	out->busy = atomic_load(&c->busy);
}

/* --- share ---------------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
	(void)h;
	(void)access;
	net_share_t *s = ctx;
	unsigned i = (unsigned)data < CURL_LOCK_DATA_LAST ? (unsigned)data : 0;
	pthread_mutex_lock(&s->locks[i]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	(void)h;
	net_share_t *s = ctx;
	unsigned i = (unsigned)data < CURL_LOCK_DATA_LAST ? (unsigned)data : 0;
	pthread_mutex_unlock(&s->locks[i]);
}

int net_share_new(net_share_t **out)
{
	if (out == NULL) {
		return KMS_EINVAL;
	}
	int ret = net_curl_init();
	net_share_t *s = ret == KMS_EOK ? calloc(1, sizeof(*s)) : NULL;
	if (s == NULL) {
		return ret != KMS_EOK ? ret : KMS_ENOMEM;
	}
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++) {
		pthread_mutex_init(&s->locks[i], NULL);
	}
	s->sh = curl_share_init();
	bool ok = s->sh != NULL;
	ok = ok && curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock) == CURLSHE_OK;
	ok = ok &&
	     curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock) == CURLSHE_OK;
	ok = ok && curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s) == CURLSHE_OK;
	ok = ok && curl_share_setopt(s->sh, CURLSHOPT_SHARE,
				     CURL_LOCK_DATA_SSL_SESSION) == CURLSHE_OK;
	ok = ok &&
	     curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) == CURLSHE_OK;
	if (!ok) {
		net_share_free(s);
		return KMS_EINTERNAL;
	}
	*out = s;
	return KMS_EOK;
}

void net_share_free(net_share_t *s)
{
	if (s == NULL) {
		return;
	}
	if (s->sh != NULL) {
		curl_share_cleanup(s->sh);
	}
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++) {
		pthread_mutex_destroy(&s->locks[i]);
	}
	free(s);
}

/* --- targets --------------------------------------------------------------- */

static void target_clear(target_t *t)
{
	free(t->url);
	free(t->connect_to);
	free(t->ca_file);
	free(t->cert_file);
	free(t->key_file);
	memset(t, 0, sizeof(*t));
}

/* A copy of s (NULL stays NULL); false when out of memory. */
static bool dup_opt(const char *s, char **out)
{
	*out = s != NULL ? strdup(s) : NULL;
	return s == NULL || *out != NULL;
}

static int target_copy(const net_target_t *in, target_t *out)
{
	if (in == NULL || in->url == NULL || in->url[0] == '\0' ||
	    (in->key_file != NULL && in->cert_file == NULL)) {
		return KMS_EINVAL;
	}
	target_t t = { 0 };
	bool ok = dup_opt(in->url, &t.url);
	ok &= dup_opt(in->connect_to, &t.connect_to);
	ok &= dup_opt(in->ca_file, &t.ca_file);
	ok &= dup_opt(in->cert_file, &t.cert_file);
	ok &= dup_opt(in->key_file, &t.key_file);
	if (!ok) {
		target_clear(&t);
		return KMS_ENOMEM;
	}
	*out = t;
	return KMS_EOK;
}

/* --- handles ---------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	net_sink_t *s = ctx;
	size_t n = size * nmemb;
	if (s == NULL || n > s->cap - s->len) {
		if (s != NULL) {
			s->over = true;
		}
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return n;
}

static void handle_free(net_handle_t *hd)
{
	if (hd == NULL) {
		return;
	}
	curl_easy_cleanup(hd->h);
	curl_slist_free_all(hd->connect_to);
	free(hd);
}

/* TLS: with a CA file, that file only (no system store), and the name. */
static bool setup_tls(CURL *h, const target_t *t)
{
	bool ok = true;
	if (t->ca_file != NULL) {
#if LIBCURL_VERSION_NUM >= 0x075500
		ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
#else
		ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTPS) == CURLE_OK;
#endif
		ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION,
				       (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_CAPATH, NULL) == CURLE_OK;
	} else {
#if LIBCURL_VERSION_NUM >= 0x075500
		ok &=
		    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
		ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS,
				       CURLPROTO_HTTP | CURLPROTO_HTTPS) == CURLE_OK;
#endif
	}
	if (t->cert_file != NULL) {
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, t->cert_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, t->key_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
	}
	return ok;
}

static bool setup(const net_pool_t *p, net_handle_t *hd)
{
	const net_pool_cfg_t *cfg = &p->cfg;
	CURL *h = hd->h;
	bool ok = curl_easy_setopt(h, CURLOPT_URL, p->t.url) == CURLE_OK;
	if (hd->connect_to != NULL) {
		ok &= curl_easy_setopt(h, CURLOPT_CONNECT_TO, hd->connect_to) == CURLE_OK;
	}
	ok &= curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK; /* ignore *_proxy */
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)cfg->connect_timeout_ms) == CURLE_OK;
	if (cfg->share != NULL) {
		ok &= curl_easy_setopt(h, CURLOPT_SHARE, cfg->share->sh) == CURLE_OK;
	}
	ok &= curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &=
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, p->headers) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	return ok && setup_tls(h, &p->t);
}

/* A handle for the current target; locked (no I/O happens here). */
static int handle_new(const net_pool_t *p, bool pooled, net_handle_t **out)
{
	net_handle_t *hd = calloc(1, sizeof(*hd));
	if (hd == NULL) {
		return KMS_ENOMEM;
	}
	hd->gen = p->gen;
	hd->pooled = pooled;
	hd->headers = p->headers;
	hd->h = curl_easy_init();
	if (p->t.connect_to != NULL) {
		hd->connect_to = curl_slist_append(NULL, p->t.connect_to);
	}
	if (hd->h == NULL || (p->t.connect_to != NULL && hd->connect_to == NULL)) {
		handle_free(hd);
		return KMS_ENOMEM;
	}
	if (!setup(p, hd)) {
		handle_free(hd);
		return KMS_EINTERNAL;
	}
	*out = hd;
	return KMS_EOK;
}

/* --- pool -------------------------------------------------------------------- */

static int check_cfg(const net_pool_cfg_t *cfg)
{
	if (cfg == NULL || cfg->timeout_ms == 0 || cfg->timeout_ms > INT32_MAX ||
	    cfg->max == 0 || cfg->max > NET_POOL_MAX || cfg->retries > NET_RETRIES_MAX ||
	    cfg->wait_ms > 60000 || cfg->backoff_ms > 60000) {
		return KMS_EINVAL;
	}
	return KMS_EOK;
}

static int headers_new(const char *const *hdrs, struct curl_slist **out)
{
	struct curl_slist *list = NULL;
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++) {
		struct curl_slist *l =
		    i < NET_HEADERS_MAX ? curl_slist_append(list, hdrs[i]) : NULL;
		if (l == NULL) {
			curl_slist_free_all(list);
			return i < NET_HEADERS_MAX ? KMS_ENOMEM : KMS_EINVAL;
		}
		list = l;
	}
	*out = list;
	return KMS_EOK;
}

int net_pool_new(const net_pool_cfg_t *cfg, const net_target_t *t, net_pool_t **out)
{
	int ret = out != NULL ? check_cfg(cfg) : KMS_EINVAL;
	if (ret == KMS_EOK) {
		ret = net_curl_init();
	}
	net_pool_t *p = ret == KMS_EOK ? calloc(1, sizeof(*p)) : NULL;
	if (p == NULL) {
		return ret != KMS_EOK ? ret : KMS_ENOMEM;
	}
	p->cfg = *cfg;
	if (p->cfg.connect_timeout_ms == 0 ||
	    p->cfg.connect_timeout_ms > cfg->timeout_ms) {
		p->cfg.connect_timeout_ms = p->cfg.timeout_ms;
	}
	snprintf(p->label, sizeof(p->label), "%s",
		 cfg->label != NULL ? cfg->label : "HTTP");
	p->cfg.label = p->label;
	p->cfg.headers = NULL; /* the list below is used */
	p->ctr = cfg->counters != NULL ? cfg->counters : &p->own;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->freed, &ca);
	pthread_condattr_destroy(&ca);
	p->idle = calloc(cfg->max, sizeof(*p->idle));
	ret = p->idle != NULL ? headers_new(cfg->headers, &p->headers) : KMS_ENOMEM;
	if (ret == KMS_EOK) {
		ret = target_copy(t, &p->t);
	}
	if (ret != KMS_EOK) {
		net_pool_free(p);
		return ret;
	}
	*out = p;
	return KMS_EOK;
}

/* Close the idle handles; locked. */
static void close_idle(net_pool_t *p)
{
	for (size_t i = 0; i < p->nidle; i++) {
		handle_free(p->idle[i]);
	}
	p->nhandles -= p->nidle;
	p->nidle = 0;
}

void net_pool_free(net_pool_t *p)
{
	if (p == NULL) {
		return;
	}
	close_idle(p);
	free(p->idle);
	target_clear(&p->t);
	curl_slist_free_all(p->headers);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->freed);
	free(p);
}

int net_pool_retarget(net_pool_t *p, const net_target_t *t)
{
	if (p == NULL) {
		return KMS_EINVAL;
	}
	target_t nt = { 0 };
	int ret = t != NULL ? target_copy(t, &nt) : KMS_EOK;
	if (ret != KMS_EOK) {
		return ret;
	}
	pthread_mutex_lock(&p->lock);
	if (t != NULL) {
		target_t old = p->t;
		p->t = nt;
		nt = old;
	}
	p->gen++;
	close_idle(p);
	pthread_cond_broadcast(&p->freed); /* room for new handles */
	pthread_mutex_unlock(&p->lock);
	target_clear(&nt);
	return KMS_EOK;
}

static bool exhausted(const net_pool_t *p)
{
	return p->nidle == 0 && p->nhandles >= p->cfg.max;
}

/* Wait (locked) at most cfg.wait_ms for a handle to come back. */
static void wait_free(net_pool_t *p)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += p->cfg.wait_ms / 1000;
	until.tv_nsec += (long)(p->cfg.wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (exhausted(p) && pthread_cond_timedwait(&p->freed, &p->lock, &until) == 0) {
	}
}

/* A handle now, without waiting; locked.  KMS_EAGAIN when every one is
 * busy and !last (nothing counted: the caller tries again later). */
static int take_now(net_pool_t *p, bool last, net_handle_t **out)
{
	int ret = KMS_EOK;
	if (p->nidle > 0) {
		*out = p->idle[--p->nidle];
	} else if (p->nhandles < p->cfg.max) {
		ret = handle_new(p, true, out);
		p->nhandles += ret == KMS_EOK ? 1 : 0;
	} else if (!last) {
		ret = KMS_EAGAIN;
	} else if (p->cfg.temp_when_busy) {
		ret = handle_new(p, false, out);
		atomic_fetch_add(&p->ctr->temp_handles, ret == KMS_EOK ? 1 : 0);
	} else {
		atomic_fetch_add(&p->ctr->busy, 1);
		ret = KMS_EAGAIN;
	}
	return ret;
}

int net_pool_take(net_pool_t *p, net_handle_t **out)
{
	if (p == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	pthread_mutex_lock(&p->lock);
	if (exhausted(p) && p->cfg.wait_ms > 0) {
		wait_free(p);
	}
	int ret = take_now(p, true, out);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int net_pool_try_take(net_pool_t *p, bool last, net_handle_t **out)
{
	if (p == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	pthread_mutex_lock(&p->lock);
	int ret = take_now(p, last, out);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

uint32_t net_pool_wait_ms(const net_pool_t *p)
{
	return p->cfg.wait_ms;
}

void *net_handle_curl(net_handle_t *h)
{
	return h->h;
}

void net_pool_give(net_pool_t *p, net_handle_t *h)
{
	if (p == NULL || h == NULL) {
		return;
	}
	net_handle_t *drop = NULL;
	pthread_mutex_lock(&p->lock);
	if (!h->pooled) {
		drop = h;
	} else if (h->gen == p->gen && p->nidle < p->cfg.max) {
		p->idle[p->nidle++] = h;
		pthread_cond_broadcast(&p->freed);
	} else {
		p->nhandles--;
		pthread_cond_broadcast(&p->freed); /* room for a new handle */
		drop = h;
	}
	pthread_mutex_unlock(&p->lock);
	handle_free(drop);
}

void net_pool_count(net_pool_t *p, size_t *idle, size_t *alive)
{
	size_t i = 0, a = 0;
	if (p != NULL) {
		pthread_mutex_lock(&p->lock);
		i = p->nidle;
		a = p->nhandles;
		pthread_mutex_unlock(&p->lock);
	}
	if (idle != NULL) {
		*idle = i;
	}
	if (alive != NULL) {
		*alive = a;
	}
}

/* --- one call ------------------------------------------------------------------ */

const char *net_reason(int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		return "answered";
	case CURLE_COULDNT_RESOLVE_HOST:
		return "cannot resolve the peer's host";
	case CURLE_COULDNT_CONNECT:
		return "cannot connect to the peer";
	case CURLE_OPERATION_TIMEDOUT:
		return "timed out";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "peer certificate not trusted or not for its name";
	case CURLE_SSL_CACERT_BADFILE:
		return "peer CA file unusable";
	case CURLE_SSL_CERTPROBLEM:
		return "our client certificate or key unusable";
	case CURLE_SSL_CONNECT_ERROR:
		return "TLS handshake failed";
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return "connection lost";
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		return "answer too large";
	default:
		return "transfer failed";
	}
}

/*
 * The one retry rule for a failed transfer (see http_client.h).  On a
 * kept-alive connection the peer had closed, libcurl may have written the
 * request and then failed to reconnect: the attempt still failed at the
 * connection level.  A timeout counts only when no byte went out.
 */
static bool retryable(CURL *h, CURLcode rc)
{
	long sent = 0;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return true;
	case CURLE_OPERATION_TIMEDOUT:
		return curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK &&
		       sent == 0;
	default:
		return false;
	}
}

static bool status_retryable(long status)
{
	return status == 502 || status == 503 || status == 504;
}

int64_t net_backoff_ms(const net_pool_t *p, unsigned attempt)
{
	unsigned n = attempt < NET_BACKOFF_STEPS ? attempt : NET_BACKOFF_STEPS;
	return (int64_t)p->cfg.backoff_ms * n;
}

unsigned net_pool_retries(const net_pool_t *p)
{
	return p->cfg.retries;
}

void net_attempt_start(net_pool_t *p, net_sink_t *sink, unsigned n)
{
	sink->len = 0;
	sink->over = false;
	atomic_fetch_add(&p->ctr->attempts, 1);
	if (n > 0) {
		atomic_fetch_add(&p->ctr->retries, 1);
	}
}

int net_attempt_end(net_pool_t *p, net_handle_t *hd, int curl_rc, net_call_t *call,
		    net_sink_t *sink, bool *again)
{
	CURL *h = hd->h;
	CURLcode rc = (CURLcode)curl_rc;
	long conns = 0, code = 0;
	double secs = 0;
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
	atomic_fetch_add(&p->ctr->connects, conns > 0 ? (uint64_t)conns : 0);
	call->ms = secs * 1e3;
	call->new_conn = conns > 0;
	if (rc == CURLE_OK) {
		call->status = code;
		if (*again && status_retryable(code)) {
			atomic_fetch_add(&p->ctr->errors, 1);
			log_req_warning(call->subj,
					"%s: status %ld in %.1f ms (retrying)", p->label,
					code, call->ms);
			return KMS_EUNAVAIL;
		}
		*again = false;
		return KMS_EOK;
	}
	atomic_fetch_add(&p->ctr->errors, 1);
	if (sink->over || rc == CURLE_FILESIZE_EXCEEDED) {
		log_req_warning(call->subj, "%s: answer over %zu bytes", p->label,
				sink->cap);
		call->why = net_reason(CURLE_FILESIZE_EXCEEDED);
		*again = false;
		return KMS_ELIMIT;
	}
	call->why = net_reason(rc);
	*again = *again && retryable(h, rc);
	log_req_warning(call->subj, "%s: %s after %.1f ms (%s)%s", p->label, call->why,
			call->ms, curl_easy_strerror(rc), *again ? " (retrying)" : "");
	return KMS_EUNAVAIL;
}

int net_attempt_arm(net_handle_t *hd, net_call_t *call, net_sink_t *sink)
{
	if (hd == NULL || call == NULL || sink == NULL || call->body == NULL ||
	    (call->out == NULL && call->cap > 0)) {
		return KMS_EINVAL;
	}
	CURL *h = hd->h;
	*sink = (net_sink_t){ call->out, call->cap, 0, false };
	bool ok = curl_easy_setopt(h, CURLOPT_POSTFIELDS, call->body) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len) ==
	      CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->cap) ==
	      CURLE_OK;
	if (call->header != NULL) {
		/* Before the pool's lines, in the handle: no allocation per
		 * call, and it lives as long as the call's attempts. */
		hd->extra =
		    (struct curl_slist){ (char *)(uintptr_t)call->header, hd->headers };
		ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, &hd->extra) == CURLE_OK;
	}
	call->why = ok ? "no attempt" : "cannot set up the request";
	return ok ? KMS_EOK : KMS_EINTERNAL;
}

void net_attempt_disarm(net_handle_t *hd, net_call_t *call, const net_sink_t *sink,
			int ret)
{
	/* The handle keeps these pointers: drop them before the caller's go. */
	curl_easy_setopt(hd->h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(hd->h, CURLOPT_WRITEDATA, NULL);
	if (call->header != NULL) {
		curl_easy_setopt(hd->h, CURLOPT_HTTPHEADER, hd->headers);
	}
	if (ret == KMS_EOK) {
		call->out_len = sink->len;
		call->why = NULL;
	}
}

int net_post(net_pool_t *p, net_handle_t *hd, net_call_t *call)
{
	net_sink_t sink;
	if (p == NULL) {
		return KMS_EINVAL;
	}
	int ret = net_attempt_arm(hd, call, &sink);
	if (ret == KMS_EINVAL) {
		return ret;
	}
	bool again = ret == KMS_EOK;
	ret = again ? KMS_EUNAVAIL : KMS_EINTERNAL;
	for (unsigned n = 0; again; n++) {
		if (n > 0) {
			kms_clock_sleep_ms(net_backoff_ms(p, n));
		}
		again = n < p->cfg.retries;
		net_attempt_start(p, &sink, n);
		CURLcode rc = curl_easy_perform(hd->h);
		ret = net_attempt_end(p, hd, (int)rc, call, &sink, &again);
	}
	net_attempt_disarm(hd, call, &sink, ret);
	return ret;
}

/* --- circuit breaker -------------------------------------------------------------- */

void net_breaker_init(net_breaker_t *b, const char *label, uint32_t failures,
		      uint32_t open_ms)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	snprintf(b->label, sizeof(b->label), "%s", label != NULL ? label : "HTTP");
	b->failures = failures;
	b->open_ms = open_ms;
}

void net_breaker_destroy(net_breaker_t *b)
{
	if (b != NULL) {
		pthread_mutex_destroy(&b->lock);
	}
}

int net_breaker_enter(net_breaker_t *b, bool *trial)
{
	int ret = KMS_EOK;
	*trial = false;
	pthread_mutex_lock(&b->lock);
	if (b->open_until != 0) {
		if (kms_clock_now_ms() < b->open_until || b->trial) {
			ret = KMS_EUNAVAIL;
		} else {
			b->trial = true;
			*trial = true;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return ret;
}

void net_breaker_leave(net_breaker_t *b, bool trial, int outcome, const char *subj)
{
	pthread_mutex_lock(&b->lock);
	if (outcome == KMS_EUNAVAIL) {
		b->fails += b->fails < UINT32_MAX ? 1 : 0;
		if (b->failures > 0 && (trial || b->fails >= b->failures)) {
			if (b->open_until == 0 || trial) {
				log_req_warning(subj,
						"%s: circuit open for %lu ms after %lu "
						"failures",
						b->label, (unsigned long)b->open_ms,
						(unsigned long)b->fails);
			}
			b->open_until = kms_clock_now_ms() + b->open_ms;
		}
	} else if (outcome == KMS_EOK || outcome == KMS_ELIMIT) {
		if (b->open_until != 0) {
			log_req_notice(subj, "%s: circuit closed", b->label);
		}
		b->fails = 0;
		b->open_until = 0;
	}
	if (trial) {
		b->trial = false;
	}
	pthread_mutex_unlock(&b->lock);
}

void net_breaker_reset(net_breaker_t *b)
{
	pthread_mutex_lock(&b->lock);
	b->fails = 0;
	b->open_until = 0;
	pthread_mutex_unlock(&b->lock);
}
