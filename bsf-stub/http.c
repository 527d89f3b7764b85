/*
 * The HTTP front end of bsf-stubd.  Routes:
 *   GET  /healthz  200 "ok"
 *   GET  /ub       Ub (docs/ub.md)        plain listener only
 *   POST /zn       Zn (docs/zn.md)        plain (unless zn_tls_only) and TLS
 * Bodies are capped (Ub 1 KiB, Zn 4 KiB: 413) and never buffered beyond.
 * Each listener (plain, TLS) is a net/listener.h skeleton: bind, TLS files,
 * MHD options and caps, requests in flight and the bounded drain on stop.
 */
#include "bsf-stub/http.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bsf-stub/tls.h"
#include "bsf-stub/ub.h"
#include "bsf-stub/zn.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secret_file.h"
#include "net/listener.h"

#define CT_TEXT "text/plain; charset=utf-8"
#define RID_LEN 24
#define LOG_PATH_MAX 96
#define PEM_MAX 65536 /* each TLS file */
/* Zn over TLS: TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

typedef struct bsf_http bsf_http_t;

typedef struct {
	bsf_http_t *h;
	bool tls;
	net_listener_t *l;
} listener_t;

struct bsf_http {
	bsf_t *bsf;
	bsf_http_config_t cfg;
	listener_t plain, tls;
	atomic_uint_fast64_t next_id;
	char rid_prefix[8];
};

typedef enum { R_NONE = 0, R_UB, R_ZN } route_t;

typedef struct {
	char rid[RID_LEN];
	struct timespec start;
	char method[16];
	char path[LOG_PATH_MAX];
	unsigned status; /* 0 until a response is queued */
	size_t bytes;
	route_t route; /* a request whose body we collect */
	net_body_t body;
} req_t;

void bsf_http_config_defaults(bsf_http_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "%s", "127.0.0.1");
	cfg->port = 8081;
	cfg->threads = 4;
	cfg->max_conns = 1024;
	cfg->max_conns_per_ip = 256;
	cfg->conn_timeout = 10;
	cfg->conn_memory = 32768;
}

/* --- responses ------------------------------------------------------------- */

static enum MHD_Result queue(struct MHD_Connection *c, req_t *q, unsigned status,
			     struct MHD_Response *rsp, const char *ctype, size_t len,
			     const char *const *hdrs)
{
	if (rsp == NULL) {
		return MHD_NO;
	}
	enum MHD_Result ok = MHD_add_response_header(rsp, "Content-Type", ctype);
	if (ok == MHD_YES) {
		ok = MHD_add_response_header(rsp, "X-Request-Id", q->rid);
	}
	if (ok == MHD_YES) {
		ok = MHD_add_response_header(rsp, "Cache-Control", "no-store");
	}
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL && ok == MHD_YES; i += 2) {
		if (hdrs[i + 1] != NULL && hdrs[i + 1][0] != '\0') {
			ok = MHD_add_response_header(rsp, hdrs[i], hdrs[i + 1]);
		}
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

static enum MHD_Result reply_text(struct MHD_Connection *c, req_t *q, unsigned status,
				  const char *text, const char *allow)
{
	const char *hdrs[] = { "Allow", allow, NULL };
	struct MHD_Response *rsp = MHD_create_response_from_buffer(
	    strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	return queue(c, q, status, rsp, CT_TEXT, strlen(text),
		     allow != NULL ? hdrs : NULL);
}

/* A Zn answer: the body may carry key material, freed with a wipe. */
static enum MHD_Result reply_zn(struct MHD_Connection *c, req_t *q, bsf_zn_answer_t *ans)
{
	if (ans->body == NULL || ans->status == 0) {
		bsf_zn_answer_free(ans);
		return reply_text(c, q, 500, "internal error\n", NULL);
	}
	struct MHD_Response *rsp = MHD_create_response_from_buffer_with_free_callback(
	    ans->body_len, ans->body, bsf_zn_body_free);
	if (rsp == NULL) {
		bsf_zn_answer_free(ans);
		return MHD_NO;
	}
	size_t len = ans->body_len;
	ans->body = NULL; /* the response owns it now */
	return queue(c, q, ans->status, rsp, BSF_ZN_CT, len, NULL);
}

/* --- routing ---------------------------------------------------------------- */

static bool is_get(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	       strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static bool json_type(struct MHD_Connection *c)
{
	const char *v =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (v == NULL) {
		return false;
	}
	while (*v == ' ' || *v == '\t') {
		v++;
	}
	size_t n = strlen(BSF_ZN_CT);
	if (strncasecmp(v, BSF_ZN_CT, n) != 0) {
		return false;
	}
	v += n;
	return *v == '\0' || *v == ';' || *v == ' ' || *v == '\t';
}

/* Get ready to collect a body of at most max bytes. */
static enum MHD_Result collect(struct MHD_Connection *c, req_t *q, route_t r, size_t max)
{
	int ret = net_body_begin(&q->body, c, max);
	if (ret == KMS_EHTTP_FRAME) {
		return reply_text(c, q, 400, "bad Content-Length\n", NULL);
	}
	if (ret == KMS_EHTTP_SIZE) {
		return reply_text(c, q, 413, "body too large\n", NULL);
	}
	if (ret != KMS_EOK) {
		return reply_text(c, q, 503, "out of memory\n", NULL);
	}
	q->route = r;
	return MHD_YES;
}

/*
 * The test hook at run time: POST /test/zn-result?code=N sets the code
 * every Zn answer gets (0: off).  Served only on the plain port of a
 * daemon started with --test-zn-result, so a production start has no such
 * route.
 */
static enum MHD_Result test_zn_result(listener_t *l, struct MHD_Connection *c, req_t *q,
				      const char *method)
{
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		return reply_text(c, q, 405, "method not allowed: use POST\n", "POST");
	}
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
	uint32_t code = 0;
	if (v == NULL || dec_parse_u32(v, &code) != KMS_EOK ||
	    (code != 0 && !bsf_zn_test_code_ok(code))) {
		return reply_text(
		    c, q, 400, "code: 0, 5001, 5401, 5402, 5403, 3004 or 5012\n", NULL);
	}
	bsf_test_zn_result_set(l->h->bsf, code);
	log_req_notice(q->rid, "test hook: every Zn answer is now %u%s", code,
		       code == 0 ? " (off)" : "");
	return reply_text(c, q, 200, "ok\n", NULL);
}

static enum MHD_Result route(listener_t *l, struct MHD_Connection *c, req_t *q,
			     const char *url, const char *method)
{
	const char *why = NULL;
	if (net_framing_check(c, &why) != KMS_EOK) { /* RFC 9112 6.3 */
		log_req_notice(q->rid, "request refused: %s", why);
		return reply_text(c, q, 400, "ambiguous message framing\n", NULL);
	}
	if (strcmp(url, "/healthz") == 0) {
		if (!is_get(method)) {
			return reply_text(c, q, 405, "method not allowed\n", "GET, HEAD");
		}
		return reply_text(c, q, 200, "ok\n", NULL);
	}
	if (strcmp(url, BSF_TEST_ZN_RESULT_PATH) == 0 && !l->tls &&
	    bsf_config(l->h->bsf)->test_zn_result != 0) {
		return test_zn_result(l, c, q, method);
	}
	if (strcmp(url, BSF_UB_PATH) == 0 && !l->tls) {
		if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
			return reply_text(c, q, 405, "method not allowed: use GET\n",
					  "GET");
		}
		return collect(c, q, R_UB, BSF_UB_BODY_MAX);
	}
	if (strcmp(url, BSF_ZN_PATH) == 0) {
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
			return reply_text(c, q, 405, "method not allowed: use POST\n",
					  "POST");
		}
		if (!l->tls && l->h->cfg.zn_tls_only) {
			log_req_warning(q->rid, "Zn over plain HTTP refused (TLS only)");
			return reply_text(c, q, 403, "Zn is served over TLS only\n",
					  NULL);
		}
		if (!json_type(c)) {
			return reply_text(c, q, 415,
					  "content type must be " BSF_ZN_CT "\n", NULL);
		}
		return collect(c, q, R_ZN, BSF_ZN_BODY_MAX);
	}
	return reply_text(c, q, 404, "not found\n", NULL);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static enum MHD_Result serve_ub(listener_t *l, struct MHD_Connection *c, req_t *q)
{
	bsf_ub_answer_t ans;
	const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_AUTHORIZATION);
	bsf_ub_handle(l->h->bsf, q->rid, q->method, authz, q->body.buf, q->body.len,
		      now_s(), &ans);
	const char *hdrs[] = { "WWW-Authenticate",
			       ans.status == 401 ? ans.www_authenticate : NULL, NULL };
	size_t len = ans.body_len;
	struct MHD_Response *rsp =
	    MHD_create_response_from_buffer(len, ans.body, MHD_RESPMEM_MUST_COPY);
	return queue(c, q, ans.status, rsp, ans.content_type, len, hdrs);
}

static enum MHD_Result serve_zn(listener_t *l, struct MHD_Connection *c, req_t *q)
{
	bsf_zn_req_t req;
	bsf_zn_answer_t ans;
	const char *why = "";
	memset(&ans, 0, sizeof(ans));

	const union MHD_ConnectionInfo *ci =
	    l->tls ? MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION)
		   : NULL;
	void *session = ci != NULL ? ci->tls_session : NULL;
	/* Over TLS a client without a good certificate learns nothing, not even
	 * whether its body parses; the name is checked once the body is read. */
	if (l->tls && bsf_tls_peer_check(session, NULL, &why) != KMS_EOK) {
		log_req_warning(q->rid, "Zn over TLS: client refused: %s", why);
		bsf_zn_error(403, "NOT_AUTHORIZED", BSF_ZN_NOT_AUTHORIZED, why, &ans);
		return reply_zn(c, q, &ans);
	}
	if (bsf_zn_parse(q->body.buf, q->body.len, &req, &why) != KMS_EOK) {
		log_req_warning(q->rid, "Zn: malformed request: %s", why);
		bsf_zn_error(400, "BAD_REQUEST", 0, why, &ans);
		return reply_zn(c, q, &ans);
	}
	if (l->tls) {
		if (bsf_tls_peer_check(session, req.fqdn, &why) != KMS_EOK) {
			log_req_warning(q->rid, "Zn over TLS: NAF %s refused: %s",
					req.fqdn, why);
			bsf_zn_error(403, "NOT_AUTHORIZED", BSF_ZN_NOT_AUTHORIZED, why,
				     &ans);
			return reply_zn(c, q, &ans);
		}
	}
	bsf_zn_handle(l->h->bsf, q->rid, &req, now_s(), &ans);
	return reply_zn(c, q, &ans);
}

static void req_init(bsf_http_t *h, req_t *q, const char *url, const char *method)
{
	uint64_t id = atomic_fetch_add(&h->next_id, 1) + 1;
	snprintf(q->rid, sizeof(q->rid), "b-%s-%" PRIu64, h->rid_prefix, id);
	clock_gettime(CLOCK_MONOTONIC, &q->start);
	snprintf(q->method, sizeof(q->method), "%s", method);
	snprintf(q->path, sizeof(q->path), "%s", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	listener_t *l = cls;
	req_t *q = *con_cls;
	(void)version;

	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL) {
			return MHD_NO;
		}
		req_init(l->h, q, url, method);
		*con_cls = q; /* in flight from here (net/listener.h) */
		return route(l, c, q, url, method);
	}
	if (q->route == R_NONE || q->status != 0) {
		return *upload_size == 0 ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		if (net_body_append(&q->body, upload, *upload_size) != KMS_EOK) {
			q->route = R_NONE;
			if (reply_text(c, q, 413, "body too large\n", NULL) != MHD_YES) {
				q->status = 413;
				return MHD_NO; /* MHD cannot answer mid-body: close */
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	route_t r = q->route;
	q->route = R_NONE;
	return r == R_UB ? serve_ub(l, c, q) : serve_zn(l, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	listener_t *l = cls;
	req_t *q = *con_cls;
	(void)c;
	if (q == NULL) {
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - q->start.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - q->start.tv_nsec) / 1e6;
	log_req_info(q->rid, "%s %s%s %u %zu bytes %.1f ms%s", q->method,
		     l->tls ? "tls:" : "", q->path, q->status, q->bytes, ms,
		     net_termination_str(toe));
	net_body_free(&q->body);
	free(q);
	*con_cls = NULL;
	/* The key schedules of this request's MILENAGE and Zn keys (common/crypto.h). */
	crypto_thread_wipe();
}

/* --- lifecycle -------------------------------------------------------------- */

static void listener_cfg(const bsf_http_config_t *cfg, bool tls, net_listener_cfg_t *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->listen = cfg->listen;
	lc->port = tls ? cfg->zn_tls_port : cfg->port;
	lc->threads = cfg->threads;
	lc->max_conns = cfg->max_conns;
	lc->max_conns_per_ip = cfg->max_conns_per_ip;
	lc->conn_timeout = cfg->conn_timeout;
	lc->request_timeout = cfg->conn_timeout; /* a test stand-in: no sending caps */
	lc->conn_memory = cfg->conn_memory;
	lc->tag = tls ? "Zn TLS" : "http";
	if (tls) {
		/* NAF client certificates: asked for by MHD, checked per request
		 * (serve_zn()). */
		lc->tls_cert = cfg->tls_cert;
		lc->tls_key = cfg->tls_key;
		lc->tls_trust = cfg->tls_ca;
		lc->tls_file_max = PEM_MAX;
		lc->tls_file_flags = SECRET_FILE_NOFOLLOW;
		lc->tls_priorities = TLS_PRIORITIES;
	}
}

static int listener_start(bsf_http_t *h, listener_t *l)
{
	net_listener_cfg_t lc;
	const net_listener_cb_t cb = { on_request, on_completed, NULL };
	listener_cfg(&h->cfg, l->tls, &lc);
	return net_listener_start(&lc, &cb, l, &l->l);
}

int bsf_http_start(const bsf_http_config_t *cfg, bsf_t *b, bsf_http_t **out)
{
	uint8_t rnd[2];
	if (cfg == NULL || b == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	if (cfg->zn_tls_port != 0 &&
	    (cfg->tls_cert == NULL || cfg->tls_key == NULL || cfg->tls_ca == NULL)) {
		log_error("Zn TLS needs --tls-cert, --tls-key and --tls-ca");
		return KMS_ECONFIG;
	}
	if (crypto_random(rnd, sizeof(rnd)) != KMS_EOK) {
		return KMS_ECRYPTO;
	}
	bsf_http_t *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		return KMS_ENOMEM;
	}
	h->bsf = b;
	h->cfg = *cfg;
	h->plain = (listener_t){ h, false, NULL };
	h->tls = (listener_t){ h, true, NULL };
	snprintf(h->rid_prefix, sizeof(h->rid_prefix), "%02x%02x", rnd[0], rnd[1]);
	atomic_init(&h->next_id, 0);
	int ret = cfg->zn_tls_port != 0 ? listener_start(h, &h->tls) : KMS_EOK;
	if (ret == KMS_EOK) {
		ret = listener_start(h, &h->plain);
	}
	if (ret != KMS_EOK) {
		net_listener_stop(h->tls.l, 0);
		free(h);
		return ret;
	}
	log_notice("Ub (GET %s) and Zn (POST %s%s) on %s, %u threads", BSF_UB_PATH,
		   BSF_ZN_PATH, cfg->zn_tls_only ? ", refused: TLS only" : "",
		   net_listener_addr(h->plain.l), cfg->threads);
	if (h->tls.l != NULL) {
		log_notice("Zn over TLS (client certificates required) on %s",
			   net_listener_addr(h->tls.l));
	}
	*out = h;
	return KMS_EOK;
}

void bsf_http_stop(bsf_http_t *h, unsigned timeout_ms)
{
	if (h == NULL) {
		return;
	}
	/* Both stop accepting at once; then one wait of timeout_ms for both. */
	int64_t t0 = kms_clock_now_ms();
	net_listener_quiesce(h->plain.l);
	if (h->tls.l != NULL) {
		net_listener_quiesce(h->tls.l);
	}
	net_listener_stop(h->tls.l, timeout_ms);
	int64_t used = kms_clock_now_ms() - t0;
	net_listener_stop(h->plain.l,
			  used < (int64_t)timeout_ms ? timeout_ms - (unsigned)used : 0);
	free(h);
}
