/*
 * The Zk client (see client.h for the behaviour).
 *
 * One slot per peer kms_id holds the peer fields its handles were made
 * for, the target built from them (rewritten URL and CONNECT_TO entry), a
 * stack of idle handles and the circuit breaker.  Slots are never freed
 * while the client lives (at most ZK_CLIENT_PEERS_MAX of them), so a call
 * may keep a slot pointer without the lock.  A peer whose URL, CA file or
 * certificate name changed (a reload) gets a new target generation: idle
 * handles of the old one are closed at once, busy ones when they return.
 * c->lock guards every slot; it is never held during network I/O.
 *
 * Time: the breaker and the retry backoff read common/clock.h, so tests
 * drive them with a fake clock; the short wait for a pooled handle is a
 * condition-variable wait on the real monotonic clock, and the timeouts
 * are libcurl's.
 */
#include "zk/client.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"

#define POOL_WAIT_MS 10 /* for a pooled handle before a temporary one */
#define BACKOFF_MS 20	/* times the attempt number, at most 4 */
#define SUBJECT_LEN 48	/* "peer:" + a prefix of the kms_id */
#define TARGET_URL_MAX (ZK_URL_MAX + ZK_CERT_NAME_MAX + sizeof(ZK_REQUEST_QUERY) + 16)
#define CONNECT_TO_MAX (2 * ZK_URL_MAX + 16)

/* Where a peer's requests go. */
typedef struct {
	char url[TARGET_URL_MAX];	  /* peer URL, host = cert_name, + query */
	char connect_to[CONNECT_TO_MAX];  /* "cert_name:PORT:HOST:PORT" */
	char ca_file[ZK_CA_FILE_MAX + 1]; /* the only trust anchors */
	uint64_t gen;			  /* bumped when the peer's fields change */
} target_t;

typedef struct {
	CURL *h;
	struct curl_slist *connect_to; /* must outlive h's use of it */
	uint64_t gen;
	bool pooled; /* counted in its slot's nhandles; else temporary */
} handle_t;

typedef struct {
	char kms_id[ZK_KMS_ID_MAX + 1];
	char url[ZK_URL_MAX + 1]; /* the peer fields target was built from */
	char ca_file[ZK_CA_FILE_MAX + 1];
	char cert_name[ZK_CERT_NAME_MAX + 1];
	target_t target;
	handle_t **idle; /* max_handles slots */
	size_t nidle;
	size_t nhandles; /* pooled handles alive (idle or busy, any generation) */
	/* Circuit breaker. */
	uint32_t fails;	    /* consecutive KMS_EUNAVAIL outcomes */
	int64_t open_until; /* monotonic ms; 0 = closed */
	bool trial;	    /* the half-open trial call is in flight */
} slot_t;

struct zk_client {
	zk_client_cfg_t cfg;
	char *cert_file, *key_file;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	struct curl_slist *headers;
	pthread_mutex_t lock; /* the slots */
	pthread_cond_t freed; /* a pooled handle went back to a slot */
	slot_t **slots;
	size_t nslots;
	atomic_uint_fast64_t requests, attempts, retries, connects, failures, fast_fails,
	    temp_handles;
};

/* An answer body being received into the caller's buffer. */
typedef struct {
	uint8_t *buf;
	size_t cap, len;
	bool over;
} sink_t;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	/* Process-wide and never undone (kms/naf.c does the same). */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- the share ---------------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
	zk_client_t *c = ctx;
	unsigned i = (unsigned)data < CURL_LOCK_DATA_LAST ? (unsigned)data : 0;
	pthread_mutex_lock(&c->share_locks[i]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	zk_client_t *c = ctx;
	unsigned i = (unsigned)data < CURL_LOCK_DATA_LAST ? (unsigned)data : 0;
	pthread_mutex_unlock(&c->share_locks[i]);
}

static int share_new(zk_client_t *c)
{
	c->share = curl_share_init();
	if (c->share == NULL) {
		return KMS_ENOMEM;
	}
	bool ok =
	    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) == CURLSHE_OK;
	ok &=
	    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) == CURLSHE_OK;
	ok &= curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) == CURLSHE_OK;
	ok &= curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ==
	      CURLSHE_OK;
	ok &= curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ==
	      CURLSHE_OK;
	return ok ? KMS_EOK : KMS_EINTERNAL;
}

/* --- handles ------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	sink_t *s = ctx;
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

static void handle_free(handle_t *hd)
{
	if (hd == NULL) {
		return;
	}
	curl_easy_cleanup(hd->h);
	curl_slist_free_all(hd->connect_to);
	free(hd);
}

static bool handle_setup(const zk_client_t *c, const target_t *t, handle_t *hd)
{
	const zk_client_cfg_t *cfg = &c->cfg;
	CURL *h = hd->h;
	bool ok = curl_easy_setopt(h, CURLOPT_URL, t->url) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECT_TO, hd->connect_to) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
#else
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTPS) == CURLE_OK;
#endif
	ok &= curl_easy_setopt(h, CURLOPT_PROXY, "") == CURLE_OK; /* ignore *_proxy */
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)cfg->connect_timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_SHARE, c->share) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &=
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
	/* TLS: the peer's CA file only (no system store), and its name. */
	ok &= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ==
	      CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_CAPATH, NULL) == CURLE_OK;
	if (c->cert_file != NULL) {
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
	}
	return ok;
}

static int handle_new(const zk_client_t *c, const target_t *t, bool pooled,
		      handle_t **out)
{
	handle_t *hd = calloc(1, sizeof(*hd));
	if (hd == NULL) {
		return KMS_ENOMEM;
	}
	hd->gen = t->gen;
	hd->pooled = pooled;
	hd->connect_to = curl_slist_append(NULL, t->connect_to);
	hd->h = curl_easy_init();
	if (hd->connect_to == NULL || hd->h == NULL) {
		handle_free(hd);
		return KMS_ENOMEM;
	}
	if (!handle_setup(c, t, hd)) {
		handle_free(hd);
		return KMS_EINTERNAL;
	}
	*out = hd;
	return KMS_EOK;
}

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

static void slot_close_idle(slot_t *s)
{
	for (size_t i = 0; i < s->nidle; i++) {
		handle_free(s->idle[i]);
	}
	s->nhandles -= s->nidle;
	s->nidle = 0;
}

/* Point s at p's fields (new target generation); locked. */
static int slot_configure(slot_t *s, const zk_peer_t *p)
{
	target_t t;
	int ret = build_target(p, &t);
	if (ret != KMS_EOK) {
		return ret;
	}
	t.gen = s->target.gen + 1;
	s->target = t;
	memcpy(s->url, p->url, sizeof(s->url));
	memcpy(s->ca_file, p->ca_file, sizeof(s->ca_file));
	memcpy(s->cert_name, p->cert_name, sizeof(s->cert_name));
	slot_close_idle(s);
	s->fails = 0;
	s->open_until = 0;
	return KMS_EOK;
}

/* The slot of p->kms_id, created or reconfigured as needed; locked. */
static int slot_get(zk_client_t *c, const zk_peer_t *p, slot_t **out)
{
	size_t idlen = strnlen(p->kms_id, sizeof(p->kms_id));
	if (idlen == 0 || idlen > ZK_KMS_ID_MAX ||
	    strnlen(p->url, sizeof(p->url)) > ZK_URL_MAX ||
	    strnlen(p->ca_file, sizeof(p->ca_file)) > ZK_CA_FILE_MAX ||
	    strnlen(p->cert_name, sizeof(p->cert_name)) > ZK_CERT_NAME_MAX) {
		return KMS_EINVAL; /* unterminated or over-long fields */
	}
	for (size_t i = 0; i < c->nslots; i++) {
		slot_t *s = c->slots[i];
		if (strcmp(s->kms_id, p->kms_id) == 0) {
			int ret = same_fields(s, p) ? KMS_EOK : slot_configure(s, p);
			if (ret == KMS_EOK) {
				*out = s;
			}
			return ret;
		}
	}
	if (c->nslots >= ZK_CLIENT_PEERS_MAX) {
		return KMS_ELIMIT;
	}
	slot_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return KMS_ENOMEM;
	}
	s->idle = calloc(c->cfg.max_handles, sizeof(*s->idle));
	int ret = s->idle != NULL ? slot_configure(s, p) : KMS_ENOMEM;
	if (ret != KMS_EOK) {
		free(s->idle);
		free(s);
		return ret;
	}
	memcpy(s->kms_id, p->kms_id, idlen + 1);
	c->slots[c->nslots++] = s;
	*out = s;
	return KMS_EOK;
}

/* --- one call ----------------------------------------------------------------- */

typedef struct {
	slot_t *slot;
	handle_t *hd;
	bool trial; /* this call is the half-open trial */
} lease_t;

/* Wait (locked) at most POOL_WAIT_MS for an idle handle of s. */
static void wait_idle(zk_client_t *c, slot_t *s)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += POOL_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (s->nidle == 0 && s->nhandles >= c->cfg.max_handles &&
	       pthread_cond_timedwait(&c->freed, &c->lock, &until) == 0) {
	}
}

/* Pass the breaker and take a handle (pooled, new, or temporary). */
static int acquire(zk_client_t *c, const zk_peer_t *p, lease_t *l, const char **why)
{
	target_t t;
	bool create = false, pooled = false;
	pthread_mutex_lock(&c->lock);
	slot_t *s = NULL;
	int ret = slot_get(c, p, &s);
	if (ret != KMS_EOK) {
		pthread_mutex_unlock(&c->lock);
		*why = ret == KMS_EINVAL ? "invalid peer URL, CA file or certificate name"
					 : "no room for another peer";
		return ret;
	}
	if (s->open_until != 0) {
		if (kms_clock_now_ms() < s->open_until || s->trial) {
			pthread_mutex_unlock(&c->lock);
			atomic_fetch_add(&c->fast_fails, 1);
			*why = "circuit open";
			return KMS_EUNAVAIL;
		}
		s->trial = true;
		l->trial = true;
	}
	l->slot = s;
	if (s->nidle == 0 && s->nhandles >= c->cfg.max_handles) {
		wait_idle(c, s);
	}
	if (s->nidle > 0) {
		l->hd = s->idle[--s->nidle];
	} else {
		create = true;
		pooled = s->nhandles < c->cfg.max_handles;
		s->nhandles += pooled ? 1 : 0;
		t = s->target;
	}
	pthread_mutex_unlock(&c->lock);
	if (!create) {
		return KMS_EOK;
	}
	ret = handle_new(c, &t, pooled, &l->hd);
	if (ret != KMS_EOK) {
		pthread_mutex_lock(&c->lock);
		s->nhandles -= pooled ? 1 : 0;
		s->trial = l->trial ? false : s->trial;
		pthread_mutex_unlock(&c->lock);
		*why = "cannot set up a libcurl handle";
		return ret;
	}
	if (!pooled) {
		atomic_fetch_add(&c->temp_handles, 1);
	}
	return KMS_EOK;
}

/* Record the outcome in the breaker and give the handle back. */
static void release(zk_client_t *c, lease_t *l, int outcome, const char *subj)
{
	const zk_client_cfg_t *cfg = &c->cfg;
	handle_t *drop = NULL;
	slot_t *s = l->slot;
	pthread_mutex_lock(&c->lock);
	if (outcome == KMS_EUNAVAIL) {
		s->fails += s->fails < UINT32_MAX ? 1 : 0;
		if (cfg->breaker_failures > 0 &&
		    (l->trial || s->fails >= cfg->breaker_failures)) {
			if (s->open_until == 0 || l->trial) {
				log_req_warning(subj,
						"Zk: circuit open for %" PRIu32
						" ms after %" PRIu32 " failures",
						cfg->breaker_open_ms, s->fails);
			}
			s->open_until = kms_clock_now_ms() + cfg->breaker_open_ms;
		}
	} else if (outcome == KMS_EOK || outcome == KMS_ELIMIT) {
		if (s->open_until != 0) {
			log_req_notice(subj, "Zk: circuit closed");
		}
		s->fails = 0;
		s->open_until = 0;
	}
	if (l->trial) {
		s->trial = false;
	}
	handle_t *hd = l->hd;
	if (!hd->pooled) {
		drop = hd;
	} else if (hd->gen == s->target.gen && s->nidle < cfg->max_handles) {
		s->idle[s->nidle++] = hd;
		pthread_cond_broadcast(&c->freed); /* waiters of any slot: few */
	} else {
		pthread_cond_broadcast(&c->freed); /* room for a new handle */
		s->nhandles--;
		drop = hd;
	}
	pthread_mutex_unlock(&c->lock);
	handle_free(drop);
}

static const char *reason(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return "cannot resolve the peer's host";
	case CURLE_COULDNT_CONNECT:
		return "cannot connect to the peer";
	case CURLE_OPERATION_TIMEDOUT:
		return "timed out";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "peer certificate not trusted or not for its cert_name";
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
	default:
		return "transfer failed";
	}
}

/*
 * Connection errors: the last connection attempt failed, so the request was
 * not served on it.  (libcurl may first have written the request to a
 * kept-alive connection the peer had closed, then failed to reconnect:
 * REQUEST_SIZE is not 0 then, but nothing was answered; a resolve that the
 * peer did see is refused as a replay, never served twice.)  A timeout is
 * retried only when no byte of the request went out.
 */
static bool retryable(CURL *h, CURLcode rc)
{
	long sent = 0;
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
		return true;
	}
	if (rc != CURLE_OPERATION_TIMEDOUT) {
		return false;
	}
	return curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK &&
	       sent == 0;
}

static void backoff(unsigned attempt)
{
	kms_clock_sleep_ms((int64_t)BACKOFF_MS * (attempt < 4 ? attempt : 4));
}

/* The exchange with its retries. */
static int exchange(zk_client_t *c, CURL *h, const char *subj, const uint8_t *body,
		    size_t len, sink_t *sink, long *status, const char **why)
{
	const zk_client_cfg_t *cfg = &c->cfg;
	bool ok = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK;
	ok &=
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->cap) ==
	      CURLE_OK;
	int ret = KMS_EUNAVAIL;
	*why = "cannot set up the request";
	if (!ok) {
		ret = KMS_EINTERNAL;
	}
	for (unsigned attempt = 0; ok && attempt <= cfg->retries; attempt++) {
		if (attempt > 0) {
			atomic_fetch_add(&c->retries, 1);
			backoff(attempt);
		}
		sink->len = 0;
		sink->over = false;
		atomic_fetch_add(&c->attempts, 1);
		CURLcode rc = curl_easy_perform(h);
		long conns = 0, code = 0;
		double secs = 0;
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
		atomic_fetch_add(&c->connects, conns > 0 ? (uint64_t)conns : 0);
		bool again = attempt < cfg->retries;
		if (rc == CURLE_OK) {
			if ((code == 502 || code == 503 || code == 504) && again) {
				log_req_warning(subj,
						"Zk: status %ld in %.1f ms (retrying)",
						code, secs * 1e3);
				continue;
			}
			log_req_debug(subj, "Zk: status %ld in %.1f ms, %zu bytes%s",
				      code, secs * 1e3, sink->len,
				      conns > 0 ? ", new connection" : "");
			*status = code;
			ret = KMS_EOK;
			break;
		}
		if (sink->over || rc == CURLE_FILESIZE_EXCEEDED) {
			log_req_warning(subj, "Zk: answer over %zu bytes", sink->cap);
			*why = "answer too large";
			ret = KMS_ELIMIT;
			break;
		}
		*why = reason(rc);
		again &= retryable(h, rc);
		log_req_warning(subj, "Zk: %s after %.1f ms (%s)%s", *why, secs * 1e3,
				curl_easy_strerror(rc), again ? " (retrying)" : "");
		if (!again) {
			break;
		}
	}
	/* The handle keeps these pointers: drop them before the caller's go. */
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	return ret;
}

int zk_client_post(zk_client_t *c, const zk_peer_t *peer, const uint8_t *body, size_t len,
		   uint8_t *out, size_t cap, size_t *out_len, long *http_status,
		   const char **why)
{
	const char *w = "invalid arguments";
	int ret = KMS_EINVAL;
	char subj[SUBJECT_LEN];
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
	sink_t sink = { out, cap, 0, false };
	long status = 0;
	ret = exchange(c, l.hd->h, subj, body, len, &sink, &status, &w);
	release(c, &l, ret, subj);
	if (ret == KMS_EOK) {
		*out_len = sink.len;
		*http_status = status;
	} else if (ret == KMS_EUNAVAIL) {
		atomic_fetch_add(&c->failures, 1);
	}
done:
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
			slot_close_idle(s);
			s->target.gen++; /* busy handles close when they return */
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
	out->requests = atomic_load(&c->requests);
	out->attempts = atomic_load(&c->attempts);
	out->retries = atomic_load(&c->retries);
	out->connects = atomic_load(&c->connects);
	out->failures = atomic_load(&c->failures);
	out->fast_fails = atomic_load(&c->fast_fails);
	out->temp_handles = atomic_load(&c->temp_handles);
}

void zk_client_free(zk_client_t *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->nslots; i++) {
		slot_close_idle(c->slots[i]);
		free(c->slots[i]->idle);
		free(c->slots[i]);
	}
	free(c->slots);
	if (c->share != NULL) {
		curl_share_cleanup(c->share); /* after every handle is gone */
	}
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++) {
		pthread_mutex_destroy(&c->share_locks[i]);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->freed);
	curl_slist_free_all(c->headers);
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
	if (ret != KMS_EOK) {
		return ret;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		return KMS_EINTERNAL;
	}
	zk_client_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return KMS_ENOMEM;
	}
	c->cfg = *cfg;
	if (c->cfg.connect_timeout_ms == 0) {
		c->cfg.connect_timeout_ms = c->cfg.timeout_ms;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->freed, &ca);
	pthread_condattr_destroy(&ca);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++) {
		pthread_mutex_init(&c->share_locks[i], NULL);
	}
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
		ret = share_new(c);
	}
	const char *hdrs[] = { "Content-Type: " ZK_MEDIA_TYPE, "Accept: " ZK_MEDIA_TYPE,
			       "Expect:" };
	for (size_t i = 0; ret == KMS_EOK && i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		struct curl_slist *l = curl_slist_append(c->headers, hdrs[i]);
		if (l == NULL) {
			ret = KMS_ENOMEM;
		} else {
			c->headers = l;
		}
	}
	atomic_init(&c->requests, 0);
	atomic_init(&c->attempts, 0);
	atomic_init(&c->retries, 0);
	atomic_init(&c->connects, 0);
	atomic_init(&c->failures, 0);
	atomic_init(&c->fast_fails, 0);
	atomic_init(&c->temp_handles, 0);
	if (ret != KMS_EOK) {
		zk_client_free(c);
		return ret;
	}
	*out = c;
	return KMS_EOK;
}
