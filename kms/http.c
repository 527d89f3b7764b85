/*
 * kmsd's Ua and Zk front ends (docs/http-binding.md, docs/federation.md):
 * routing, framing checks, replies and audit rows.  The listener itself
 * (bind, TLS files, MHD options and caps, requests in flight, the bounded
 * drain on stop) is net/listener.h.
 *
 * Every byte from the network is bounded before it reaches us: MHD caps
 * connections (total and per address), per-connection memory (headers) and
 * idle time; the listener the time a request may take to arrive and the
 * connections still sending one (net/conntrack.h); this file caps the body
 * at max_body (413 from the declared Content-Length, or as soon as more
 * arrives) and never buffers more.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "kms/http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "kms/audit.h"
#include "kms/http_frame.h"
#include "kms/metrics.h"
#include "mikey/payload.h"
#include "net/listener.h"
#include "zk/peer.h"
#include "zk/tls_peer.h"

#define CT_MIKEY KMS_HTTP_CT_MIKEY
#define CT_TEXT "text/plain; charset=utf-8"
#define RID_LEN 24
#define LOG_PATH_MAX 96
#define BOOTSTRAP_HDR_MAX 320	     /* 3GPP-bootstrapping realm="<naf.fqdn>" */
#define PEM_FILE_MAX SECRET_FILE_MAX /* a certificate, key or CA bundle file */
#define DETAIL_MAX 112		     /* X-KMS-Error: KMS_E<NAME> reason */

struct kms_http {
	net_listener_t *l;
	pthread_rwlock_t lock;		    /* read: one request; write: swap */
	_Atomic(const kms_service_t *) svc; /* NULL: not ready */
	uint64_t gen; /* bumped by every swap, under the write lock */
	atomic_uint_fast64_t next_id;
	char rid_prefix[8];
	kms_config_t cfg; /* listener settings as started */
	bool zk;	  /* the Zk listener (TLS, peers only, resolve only) */
	const char *name; /* "Ua" or "Zk", for logs */
	const char *path; /* the one request path */

	/* Per client address (ua/zk.rate_per_address); NULL: no limit. */
	ratelimit_t *rl;
	ratelimit_gate_t rl_log;	  /* its refusals: one log line a second */
	_Atomic(kms_metrics_t *) metrics; /* NULL: not counted */
};

typedef struct {
	char rid[RID_LEN];
	struct timespec start;
	char method[16];
	char path[LOG_PATH_MAX];
	unsigned status; /* 0 until a response is queued */
	size_t bytes;
	bool post; /* a Ua request whose body we collect */
	kms_reqtype_t type;
	bool typed; /* type is known (the request reached the body stage) */
	net_body_t body;
	int frame_err;		 /* KMS_EHTTP_* when the front end refused a Ua request */
	int outcome;		 /* KMS_EOK or the refusal, for the access line */
	char detail[DETAIL_MAX]; /* X-KMS-Error of a refusal, or "" */
	char peer[ZK_KMS_ID_MAX + 1];	 /* Zk: the client's peer KMS */
	char client[AUDIT_ADDR_MAX + 1]; /* the client's IP address, for audit */
	uint32_t retry_after;		 /* 429: the Retry-After seconds */
	net_wait_t wait;   /* a Ua request waiting for Zn or Zk (body complete) */
	bool parked;	   /* suspended now: the body is kept for the rerun */
	kms_mtype_t mtype; /* the metrics' type label */
	int error;	   /* the service's outcome, once served */
} req_t;

/* --- responses ------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, req_t *q, unsigned status,
			     const char *ctype, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mode, const char *allow,
			     const char *www_auth)
{
	struct MHD_Response *rsp = MHD_create_response_from_buffer(len, body, mode);
	if (rsp == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE) {
			free(body);
		}
		return MHD_NO;
	}
	enum MHD_Result ok = MHD_add_response_header(rsp, "Content-Type", ctype);
	if (ok == MHD_YES) {
		ok = MHD_add_response_header(rsp, "X-Request-Id", q->rid);
	}
	if (ok == MHD_YES) {
		ok = MHD_add_response_header(rsp, "Cache-Control", "no-store");
	}
	if (ok == MHD_YES && allow != NULL) {
		ok = MHD_add_response_header(rsp, "Allow", allow);
	}
	if (ok == MHD_YES && www_auth != NULL) {
		ok = MHD_add_response_header(rsp, "WWW-Authenticate", www_auth);
	}
	if (ok == MHD_YES && q->detail[0] != '\0' && status >= 400) {
		ok = MHD_add_response_header(rsp, "X-KMS-Error", q->detail);
	}
	char retry[16];
	if (ok == MHD_YES && q->retry_after != 0) {
		snprintf(retry, sizeof(retry), "%" PRIu32, q->retry_after);
		ok = MHD_add_response_header(rsp, "Retry-After", retry);
	}
	if (ok == MHD_YES) {
		ok = MHD_queue_response(c, status, rsp);
	}
	MHD_destroy_response(rsp);
	if (ok == MHD_YES) {
		q->status = status;
		q->bytes = len;
	}
	return ok;
}

/* A framing error or a health answer: a short constant text body. */
static enum MHD_Result reply_text(struct MHD_Connection *c, req_t *q, unsigned status,
				  const char *text, const char *allow)
{
	return reply(c, q, status, CT_TEXT, (void *)(uintptr_t)text, strlen(text),
		     MHD_RESPMEM_PERSISTENT, allow, NULL);
}

/*
 * Failures a client may be told about before its MAC verified: framing,
 * decoding, timestamps and our own state - nothing that depends on who
 * the requester is.
 */
static bool detail_before_auth(int code)
{
	switch (code) {
	case KMS_EFEWDATA:
	case KMS_EMALFORMED:
	case KMS_EPAYLOAD:
	case KMS_ELIMIT:
	case KMS_EVERSION:
	case KMS_EDT:
	case KMS_ENOTSUP:
	case KMS_EPRF:
	case KMS_EEA:
	case KMS_EHA:
	case KMS_ETS:
	case KMS_EHTTP_METHOD:
	case KMS_EHTTP_REQTYPE:
	case KMS_EHTTP_MEDIA:
	case KMS_EHTTP_SIZE:
	case KMS_EHTTP_FRAME:
	case KMS_EHTTP_TIMEOUT:
	case KMS_EZK_PEER:
	case KMS_EZK_REQTYPE:
	case KMS_ERATE:
	case KMS_EAUDIT:
	case KMS_EUNAVAIL:
	case KMS_ENOMEM:
	case KMS_EINTERNAL:
	case KMS_ECRYPTO:
		return true;
	default:
		return false;
	}
}

/*
 * X-KMS-Error (ua.error_detail) of a refusal: "KMS_E<NAME> reason".  Before
 * the MAC verified, anything else (unknown user or B-TID, wrong MAC, an
 * expired key, an identity the key does not cover) reads "KMS_EAUTH
 * authentication failure": no user enumeration (docs/http-binding.md).
 * reason is static text; it is still kept to printable ASCII.
 */
static void set_detail(const kms_http_t *h, req_t *q, int code, bool authenticated,
		       const char *reason)
{
	q->outcome = code;
	if (!h->cfg.error_detail || code == KMS_EOK) {
		return;
	}
	if (!authenticated && !detail_before_auth(code)) {
		code = KMS_EAUTH;
		reason = NULL;
	}
	snprintf(q->detail, sizeof(q->detail), "%s %s", kms_err_name(code),
		 reason != NULL ? reason : kms_strerror(code));
	for (char *p = q->detail; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
			*p = '?';
		}
	}
}

/* A refused Ua request: status from the error table, audited at completion. */
static enum MHD_Result refuse(const kms_http_t *h, struct MHD_Connection *c, req_t *q,
			      int code, const char *text, const char *allow)
{
	q->frame_err = code;
	set_detail(h, q, code, false, NULL);
	return reply_text(c, q, (unsigned)kms_err_http(code), text, allow);
}

/* --- routing ---------------------------------------------------------------- */

/*
 * The per-address rate limit (ua/zk.rate_per_address), charged before
 * anything of the request is read: 429 with Retry-After, audited as
 * KMS_ERATE; one log line a second at most (a flood would fill the log).
 */
static bool rate_refused(kms_http_t *h, struct MHD_Connection *c, req_t *q,
			 enum MHD_Result *ret)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	uint8_t key[RATELIMIT_ADDR_KEY_MAX];
	size_t n = h->rl != NULL ? ratelimit_addr_key(sa, key) : 0;
	int64_t wait_ms = 0;
	if (n == 0 || ratelimit_charge(h->rl, key, n, &wait_ms) == KMS_EOK) {
		return false;
	}
	q->retry_after = ratelimit_retry_after_s(wait_ms);
	uint64_t skipped = 0;
	if (ratelimit_gate_pass(&h->rl_log, 1000, &skipped)) {
		log_req_notice(q->rid,
			       "%s: request from %s refused: over the per-address rate "
			       "limit (%llu more refused since the last such line)",
			       h->name, q->client[0] != '\0' ? q->client : "?",
			       (unsigned long long)skipped);
	}
	*ret = refuse(h, c, q, KMS_ERATE, "too many requests\n", NULL);
	return true;
}

/* Ready: a service is loaded and its audit log takes rows (else why). */
static bool ready(kms_http_t *h, char *why, size_t cap)
{
	pthread_rwlock_rdlock(&h->lock);
	const kms_service_t *svc = atomic_load(&h->svc);
	bool ok = svc != NULL && svc->keyring != NULL && svc->psk != NULL;
	str_copy(why, cap, "no service loaded");
	if (ok) {
		ok = audit_ready(svc->audit, why, cap);
	}
	pthread_rwlock_unlock(&h->lock);
	return ok;
}

/* GET /readyz: 200 "ready", or 503 "not ready: <why>". */
static enum MHD_Result reply_ready(kms_http_t *h, struct MHD_Connection *c, req_t *q)
{
	char why[256], text[288];
	if (ready(h, why, sizeof(why))) {
		return reply_text(c, q, 200, "ready\n", NULL);
	}
	int n = snprintf(text, sizeof(text), "not ready: %s\n", why);
	size_t len = n > 0 && (size_t)n < sizeof(text) ? (size_t)n : strlen(text);
	return reply(c, q, 503, CT_TEXT, text, len, MHD_RESPMEM_MUST_COPY, NULL, NULL);
}

/* The client's IP address as text ("" when unknown), for the audit rows. */
static void client_addr(struct MHD_Connection *c, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
	const void *in = NULL;
	if (sa != NULL && sa->sa_family == AF_INET) {
		in = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		in = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	}
	if (in == NULL || inet_ntop(sa->sa_family, in, buf, (socklen_t)cap) == NULL) {
		buf[0] = '\0';
	}
}

static enum MHD_Result route_frame(kms_http_t *h, struct MHD_Connection *c, req_t *q,
				   const char *url, const char *method);

/*
 * What a Zk connection proved: the peer its client certificate names, for
 * that certificate (SHA-256 of its DER) in that swap generation (not by
 * the service's address: a later reload may reuse it).  The full check
 * (chain, names, the peer's CA bundle: ~0.8 ms) runs on the first request
 * of a connection and again only when the certificate changed or a reload
 * swapped the service (peers may have changed).
 */
typedef struct {
	uint64_t gen; /* kms_http_t.gen when proved; 0: nothing proved */
	uint8_t fp[32];
	char peer[ZK_KMS_ID_MAX + 1];
} zk_conn_t;

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)c;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*ctx = calloc(1, sizeof(zk_conn_t)); /* NULL: no cache, still safe */
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*ctx);
		*ctx = NULL;
	}
}

/* SHA-256 of the client's leaf certificate; false when there is none. */
static bool client_cert_fp(void *session, uint8_t fp[32])
{
	unsigned n = 0;
	const gnutls_datum_t *certs =
	    session != NULL ? gnutls_certificate_get_peers(session, &n) : NULL;
	if (certs == NULL || n == 0) {
		return false;
	}
	crypto_iov_t iov = { certs[0].data, certs[0].size };
	return crypto_hash(CRYPTO_MD_SHA256, &iov, 1, fp) == KMS_EOK;
}

/*
 * Zk: the client must be a peer KMS (its certificate chains to zk.ca_file
 * and names a configured peer) before anything else is looked at.
 */
static enum MHD_Result route_zk(kms_http_t *h, struct MHD_Connection *c, req_t *q,
				const char *url, const char *method)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	zk_conn_t *zc = net_listener_conn_ctx(c);
	void *session = ci != NULL ? ci->tls_session : NULL;
	const zk_peer_t *peer = NULL;
	const char *why = "no peers configured";
	uint8_t fp[32];
	bool have_fp = client_cert_fp(session, fp);
	int ret = KMS_EACCES;
	pthread_rwlock_rdlock(&h->lock);
	const kms_service_t *svc = atomic_load(&h->svc);
	if (zc != NULL && have_fp && zc->gen == h->gen && svc != NULL &&
	    secmem_eq(zc->fp, fp, sizeof(fp))) {
		ret = KMS_EOK; /* proved on this connection, same certificate */
		snprintf(q->peer, sizeof(q->peer), "%s", zc->peer);
	} else if (svc != NULL && svc->peers != NULL) {
		ret = zk_tls_peer(session, svc->peers, &peer, &why);
		if (ret == KMS_EOK) {
			snprintf(q->peer, sizeof(q->peer), "%s", peer->kms_id);
			if (zc != NULL && have_fp) {
				zc->gen = h->gen;
				memcpy(zc->fp, fp, sizeof(fp));
				snprintf(zc->peer, sizeof(zc->peer), "%s", peer->kms_id);
			}
		} else if (zc != NULL) {
			zc->gen = 0;
		}
	}
	pthread_rwlock_unlock(&h->lock);
	if (ret != KMS_EOK) {
		log_req_notice(q->rid, "Zk: client refused: %s", why);
		return refuse(h, c, q, KMS_EZK_PEER, "client certificate refused\n",
			      NULL);
	}
	return route_frame(h, c, q, url, method);
}

/* What kms_http_frame() refused, in the log (the audit row comes later). */
static void frame_note(kms_http_t *h, const req_t *q, const kms_frame_t *d)
{
	char shown[LOG_ESCAPED_SIZE(32)];
	if (d->note == KMS_FRAME_NOTE_FRAMING) {
		log_req_notice(q->rid, "%s: request refused: %s", h->name, d->why);
		return;
	}
	if (d->note == KMS_FRAME_NOTE_NONE) {
		return;
	}
	log_escape(shown, sizeof(shown), d->rt, d->rt_len < 32 ? d->rt_len : 32);
	if (d->note == KMS_FRAME_NOTE_RT_NUL) {
		log_req_notice(q->rid, "%s: requesttype '%s' refused: embedded NUL",
			       h->name, shown);
	} else {
		log_req_notice(q->rid,
			       "Zk: requesttype '%s' from %s refused: only "
			       "ticketresolve",
			       shown, q->peer);
	}
}

/* Framing, path, method, requesttype, type and length (kms/http_frame.h),
 * then the answer, or the body buffer. */
static enum MHD_Result route_frame(kms_http_t *h, struct MHD_Connection *c, req_t *q,
				   const char *url, const char *method)
{
	net_kv_list_t hd, args;
	kms_frame_t d;
	if (net_kv_collect(c, MHD_HEADER_KIND, &hd) != KMS_EOK) {
		return reply_text(c, q, 503, "out of memory\n", NULL);
	}
	if (net_kv_collect(c, MHD_GET_ARGUMENT_KIND, &args) != KMS_EOK) {
		net_kv_list_free(&hd);
		return reply_text(c, q, 503, "out of memory\n", NULL);
	}
	const kms_frame_cfg_t fc = { h->path, h->zk, h->cfg.max_body };
	const kms_frame_req_t r = { method, url, args.kv, args.n, hd.kv, hd.n };
	kms_http_frame(&fc, &r, &d);
	frame_note(h, q, &d); /* before the lists go: d.rt points into them */
	net_kv_list_free(&hd);
	net_kv_list_free(&args);
	switch (d.action) {
	case KMS_FRAME_READY:
		return reply_ready(h, c, q);
	case KMS_FRAME_BODY:
		if (net_body_alloc(&q->body, d.body_cap) != KMS_EOK) {
			return reply_text(c, q, 503, "out of memory\n", NULL);
		}
		q->type = d.type;
		q->typed = true;
		q->post = true;
		q->mtype = h->zk		      ? KMS_MT_ZK_RESOLVE
			   : d.type == KMS_REQ_TICKET ? KMS_MT_TICKET
						      : KMS_MT_RESOLVE;
		return MHD_YES;
	default:
		return d.error != 0 ? refuse(h, c, q, d.error, d.text, d.allow)
				    : reply_text(c, q, d.status, d.text, d.allow);
	}
}

/* First call for a request: answer at once, or get ready for its body. */
static enum MHD_Result route(kms_http_t *h, struct MHD_Connection *c, req_t *q,
			     const char *url, const char *method)
{
	enum MHD_Result fr;
	bool health = strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0;
	if ((h->zk || !health) && rate_refused(h, c, q, &fr)) {
		return fr;
	}
	return h->zk ? route_zk(h, c, q, url, method) : route_frame(h, c, q, url, method);
}

/* The whole body is in: hand it to the service. */
static enum MHD_Result serve(kms_http_t *h, struct MHD_Connection *c, req_t *q)
{
	/* Per thread; MHD copies the answer into the response (MUST_COPY). */
	static __thread uint8_t out[MIKEY_MSG_MAX];
	kms_answer_t ans = { 500, KMS_EINTERNAL, 0, 0, false, NULL };
	char www_auth[BOOTSTRAP_HDR_MAX];
	pthread_rwlock_rdlock(&h->lock);
	const kms_service_t *svc = atomic_load(&h->svc);
	const zk_peer_t *peer = NULL;
	if (svc != NULL && h->zk) {
		/* Looked up again: a reload may have removed the peer since. */
		peer = svc->peers != NULL
			   ? zk_peers_find_kms(svc->peers, (const uint8_t *)q->peer,
					       strlen(q->peer))
			   : NULL;
		if (peer != NULL) {
			kms_service_handle_zk(svc, peer, q->rid, q->client, q->body.buf,
					      q->body.len, out, MIKEY_MSG_MAX, &ans);
		}
	} else if (svc != NULL) {
		kms_service_handle_wait(svc, q->type, q->rid, q->client, q->body.buf,
					q->body.len, out, MIKEY_MSG_MAX, &ans, &q->wait);
		if (ans.error == KMS_EBTID) {
			/* TS 24.109: tell the UE to bootstrap again (new B-TID). */
			snprintf(www_auth, sizeof(www_auth),
				 "3GPP-bootstrapping realm=\"%s\"", svc->cfg->naf_fqdn);
		}
	}
	pthread_rwlock_unlock(&h->lock);
	q->retry_after = ans.retry_after; /* 429: KMS_ERATE */
	q->error = ans.error;
	if (svc == NULL) {
		return reply_text(c, q, 503, "not ready\n", NULL);
	}
	if (ans.error == KMS_EINPROGRESS) {
		/* The key needs Zn, or the resolve went to a peer KMS over Zk:
		 * park without a thread; served again once woken (no service
		 * state is held meanwhile: a reload may swap it; the peer's
		 * answer is in the wait's hold). */
		q->parked = true;
		return net_listener_park(h->l, c, &q->wait);
	}
	set_detail(h, q, ans.error, ans.authenticated, ans.reason);
	if (h->zk && peer == NULL) {
		log_req_notice(q->rid, "Zk: %s is no longer a peer", q->peer);
		return refuse(h, c, q, KMS_EZK_PEER, "client certificate refused\n",
			      NULL);
	}
	if (ans.len == 0 || ans.len > MIKEY_MSG_MAX) {
		log_req_warning(q->rid, "no MIKEY answer: %s", kms_err_name(ans.error));
		return reply_text(c, q, (unsigned)ans.http_status, "request failed\n",
				  NULL);
	}
	return reply(c, q, (unsigned)ans.http_status, CT_MIKEY, out, ans.len,
		     MHD_RESPMEM_MUST_COPY, NULL,
		     ans.error == KMS_EBTID ? www_auth : NULL);
}

static void req_init(kms_http_t *h, req_t *q, const char *url, const char *method)
{
	uint64_t id = atomic_fetch_add(&h->next_id, 1) + 1;
	/* "r-<prefix>-<id>", as snprintf would write it (this runs per request). */
	char digits[20];
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + id % 10);
		id /= 10;
	} while (id > 0 && nd < sizeof(digits));
	size_t n = str_copy(q->rid, sizeof(q->rid), "r-");
	n += str_copy(q->rid + n, sizeof(q->rid) - n, h->rid_prefix);
	n += str_copy(q->rid + n, sizeof(q->rid) - n, "-");
	while (nd > 0 && n + 1 < sizeof(q->rid)) {
		q->rid[n++] = digits[--nd];
	}
	q->rid[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &q->start);
	str_copy(q->method, sizeof(q->method), method);
	str_copy(q->path, sizeof(q->path), url);
}

/*
 * Zk: the forwarding KMS sends its request id (zk/client.h); adopted when
 * it is a short token of letters, digits and "-._:", so both KMSs log the
 * resolve under one id.  Anything else is not: ours stays, and the line
 * names both (the peer's escaped).
 */
static void adopt_rid(struct MHD_Connection *c, req_t *q)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, ZK_RID_HEADER);
	size_t n = v != NULL ? strnlen(v, ZK_RID_MAX + 1) : 0;
	bool ok = n > 0 && n <= ZK_RID_MAX && n < sizeof(q->rid);
	for (size_t i = 0; ok && i < n; i++) {
		char ch = v[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
		     ch == ':';
	}
	if (ok) {
		memcpy(q->rid, v, n);
		q->rid[n] = '\0';
	} else if (v != NULL) {
		char shown[LOG_ESCAPED_SIZE(32)];
		log_escape(shown, sizeof(shown), v, strnlen(v, 32));
		log_req_notice(q->rid,
			       "Zk: peer's request id '%s' not adopted (over %d "
			       "characters or not a token); this request is %s",
			       shown, ZK_RID_MAX, q->rid);
	}
}

/* A piece of the body; past the cap the request is refused (413). */
static enum MHD_Result take_upload(const kms_http_t *h, struct MHD_Connection *c,
				   req_t *q, const char *upload, size_t *upload_size)
{
	if (net_body_append(&q->body, upload, *upload_size) != KMS_EOK) {
		/* More than max_body (chunked) or than declared: stop here. */
		net_body_free(&q->body);
		q->post = false;
		if (refuse(h, c, q, KMS_EHTTP_SIZE, "body too large\n", NULL) !=
		    MHD_YES) {
			q->status = 413;
			return MHD_NO; /* MHD cannot answer mid-body: close */
		}
	}
	*upload_size = 0;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	kms_http_t *h = cls;
	req_t *q = *con_cls;
	(void)version;

	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL) {
			return MHD_NO;
		}
		req_init(h, q, url, method);
		client_addr(c, q->client, sizeof(q->client));
		if (h->zk) {
			adopt_rid(c, q);
		}
		*con_cls = q; /* in flight from here (net/listener.h) */
		return route(h, c, q, url, method);
	}
	if (!q->post || q->status != 0) {
		/* Answered already (or no body expected): refuse to read on. */
		return *upload_size == 0 ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		return take_upload(h, c, q, upload, upload_size);
	}
	q->parked = false; /* resumed, if it was */
	enum MHD_Result ret = serve(h, c, q);
	if (!q->parked) {
		net_body_free(&q->body);
		q->post = false;
		net_wait_release(&q->wait); /* a peer's answer, used */
	}
	return ret;
}

/* A framing refusal: counted in the sampled row of its client (kms/audit.h). */
static void audit_frame(kms_http_t *h, const req_t *q)
{
	audit_rec_t rec;
	struct timespec ts;
	memset(&rec, 0, sizeof(rec));
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	str_copy(rec.rid, sizeof(rec.rid), q->rid);
	str_copy(rec.client, sizeof(rec.client), q->client);
	rec.error = q->frame_err;
	pthread_rwlock_rdlock(&h->lock);
	const kms_service_t *svc = atomic_load(&h->svc);
	if (svc != NULL) {
		audit_sample(svc->audit, &rec);
	}
	pthread_rwlock_unlock(&h->lock);
}

/*
 * The request in the metrics: its outcome is the code that decided it (the
 * front end's refusal, else the service's), or one the status implies for
 * an answer neither gave a code (not ready, no such path, client gone).
 */
static void count(kms_http_t *h, const req_t *q, const struct timespec *now)
{
	kms_metrics_t *m = atomic_load_explicit(&h->metrics, memory_order_relaxed);
	if (m == NULL) {
		return;
	}
	int err = q->frame_err != 0 ? q->frame_err : q->error;
	if (err == KMS_EOK && (q->status == 0 || q->status >= 400)) {
		err = q->status == 404	 ? KMS_ENOENT
		      : q->status == 503 ? KMS_EUNAVAIL
		      : q->status >= 500 ? KMS_EINTERNAL
					 : KMS_EHTTP_FRAME;
	}
	int64_t ns = (int64_t)(now->tv_sec - q->start.tv_sec) * 1000000000 +
		     (now->tv_nsec - q->start.tv_nsec);
	kms_metrics_request(m, q->mtype, err, q->status, ns > 0 ? (uint64_t)ns : 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	kms_http_t *h = cls;
	req_t *q = *con_cls;
	(void)c;
	if (q == NULL) {
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - q->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - q->start.tv_nsec) / 1e6;
	const log_http_t line = {
		q->method,
		q->path,
		q->status,
		q->bytes,
		ms,
		q->client,
		q->typed ? (q->type == KMS_REQ_TICKET ? "ticketrequest" : "ticketresolve")
			 : NULL,
		q->status != 0 ? kms_err_name(q->outcome) : NULL,
		net_termination_str(toe),
	};
	log_http(LOG_INFO, q->rid, &line);
	/* A Ua request that never reached the service still gets its audit row. */
	if (q->post && q->status == 0) {
		q->frame_err = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED
				   ? KMS_EHTTP_TIMEOUT
				   : KMS_EHTTP_FRAME;
	}
	if (q->frame_err != 0) {
		audit_frame(h, q);
	}
	count(h, q, &now);
	net_wait_release(&q->wait);
	net_body_free(&q->body);
	free(q);
	*con_cls = NULL;
}

/* --- lifecycle -------------------------------------------------------------- */

/* The listener settings of Ua or Zk. */
static void listener_cfg(const kms_config_t *cfg, bool zk, net_listener_cfg_t *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->listen = zk ? cfg->zk_listen : cfg->listen;
	lc->port = zk ? cfg->zk_port : cfg->port;
	lc->threads = zk ? cfg->zk_threads : cfg->threads;
	lc->max_conns = zk ? cfg->zk_max_conns : cfg->max_conns;
	lc->max_conns_per_ip = zk ? 0u : cfg->max_conns_per_ip;
	lc->conn_timeout = cfg->conn_timeout;
	lc->request_timeout = zk ? cfg->zk_request_timeout : cfg->request_timeout;
	lc->max_sending = zk ? cfg->zk_max_sending : cfg->max_sending;
	lc->max_sending_per_ip =
	    zk ? cfg->zk_max_sending_per_ip : cfg->max_sending_per_ip;
	lc->conn_memory = cfg->conn_memory;
	lc->tag = zk ? "Zk" : "Ua";
	if (!zk && cfg->tls_cert[0] != '\0') {
		lc->tls_cert = cfg->tls_cert;
		lc->tls_key = cfg->tls_key;
		lc->tls_file_max = PEM_FILE_MAX;
	}
	if (zk) {
		/* With a trust set MHD requests a client certificate; the
		 * handler requires it (route_zk()). */
		lc->tls_cert = cfg->zk_cert_file;
		lc->tls_key = cfg->zk_key_file;
		lc->tls_trust = cfg->zk_ca_file;
		lc->tls_file_max = PEM_FILE_MAX;
	}
}

static void http_free(kms_http_t *h)
{
	ratelimit_free(h->rl);
	pthread_rwlock_destroy(&h->lock);
	free(h);
}

static int http_new(const kms_config_t *cfg, const kms_service_t *svc, bool zk,
		    kms_http_t **out)
{
	uint8_t rnd[2];
	if (crypto_random(rnd, sizeof(rnd)) != KMS_EOK) {
		return KMS_ECRYPTO;
	}
	kms_http_t *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return KMS_ENOMEM;
	}
	h->cfg = *cfg;
	h->zk = zk;
	h->name = zk ? "Zk" : "Ua";
	h->path = zk ? h->cfg.zk_path : h->cfg.base_path;
	uint32_t rate = zk ? cfg->zk_rate_per_address : cfg->rate_per_address;
	uint32_t burst = zk ? cfg->zk_burst_per_address : cfg->burst_per_address;
	h->rl = rate > 0 ? ratelimit_new(cfg->rate_table_entries, rate, burst) : NULL;
	if (rate > 0 && h->rl == NULL) {
		free(h);
		return KMS_ENOMEM;
	}
	snprintf(h->rid_prefix, sizeof(h->rid_prefix), "%s%02x%02x", zk ? "z" : "",
		 rnd[0], rnd[1]);
	atomic_init(&h->svc, svc);
	h->gen = 1;
	atomic_init(&h->next_id, 0);
	atomic_init(&h->metrics, NULL);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* A pending swap must not starve behind a stream of requests. */
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&h->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	*out = h;
	return KMS_EOK;
}

static int start(const kms_config_t *cfg, const kms_service_t *svc, bool zk,
		 kms_http_t **out)
{
	net_listener_cfg_t lc;
	kms_http_t *h = NULL;
	if (cfg == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = http_new(cfg, svc, zk, &h);
	if (ret != KMS_EOK) {
		return ret;
	}
	listener_cfg(&h->cfg, zk, &lc);
	const net_listener_cb_t cb = { on_request, on_completed,
				       zk ? on_connection : NULL };
	ret = net_listener_start(&lc, &cb, h, &h->l);
	if (ret != KMS_EOK) {
		http_free(h);
		return ret;
	}
	log_notice("%s listening on %s%s, %u threads, max body %zu bytes%s", h->name,
		   net_listener_addr(h->l), h->path, lc.threads, cfg->max_body,
		   zk ? ", TLS with client certificates"
		      : (lc.tls_cert != NULL ? ", TLS" : ""));
	*out = h;
	return KMS_EOK;
}

int kms_http_start(const kms_config_t *cfg, const kms_service_t *svc, kms_http_t **out)
{
	return start(cfg, svc, false, out);
}

int kms_http_start_zk(const kms_config_t *cfg, const kms_service_t *svc, kms_http_t **out)
{
	return start(cfg, svc, true, out);
}

void kms_http_conn_stats(kms_http_t *h, net_conntrack_stats_t *out)
{
	net_listener_stats(h->l, out);
}

void kms_http_set_metrics(kms_http_t *h, kms_metrics_t *m)
{
	atomic_store(&h->metrics, m);
}

const kms_service_t *kms_http_swap(kms_http_t *h, const kms_service_t *svc)
{
	pthread_rwlock_wrlock(&h->lock);
	const kms_service_t *old = atomic_exchange(&h->svc, svc);
	h->gen++; /* what Zk connections proved was against the old peers */
	pthread_rwlock_unlock(&h->lock);
	return old;
}

int kms_http_tls_reload(kms_http_t *h)
{
	return h != NULL ? net_listener_tls_reload(h->l) : KMS_EOK;
}

bool kms_http_tls_stats(kms_http_t *h, net_tls_stats_t *out)
{
	return h != NULL && net_listener_tls_stats(h->l, out);
}

void kms_http_stop(kms_http_t *h, unsigned timeout_ms)
{
	if (h == NULL) {
		return;
	}
	net_listener_stop(h->l, timeout_ms);
	http_free(h);
}
