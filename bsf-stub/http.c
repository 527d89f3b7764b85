/*
 * The HTTP front end of bsf-stubd.  Routes:
 *   GET  /healthz  200 "ok"
 *   GET  /ub       Ub (docs/ub.md)        plain listener only
 *   POST /zn       Zn (docs/zn.md)        plain (unless zn_tls_only) and TLS
 * Bodies are capped (Ub 1 KiB, Zn 4 KiB: 413) and never buffered beyond.
 */
#include "bsf-stub/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bsf-stub/tls.h"
#include "bsf-stub/ub.h"
#include "bsf-stub/zn.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"

#define CT_TEXT "text/plain; charset=utf-8"
#define RID_LEN 24
#define LOG_PATH_MAX 96
#define PEM_MAX 65536

typedef struct bsf_http bsf_http_t;

typedef struct {
	bsf_http_t *h;
	bool tls;
	struct MHD_Daemon *mhd;
} listener_t;

struct bsf_http {
	bsf_t *bsf;
	bsf_http_config_t cfg;
	listener_t plain, tls;
	char *pem_cert, *pem_key, *pem_ca; /* alive as long as the TLS daemon */
	size_t pem_key_len;
	atomic_uint inflight;
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
	uint8_t *body;
	size_t len, cap;
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

/* The declared body length: -1 when absent (chunked), -2 when unreadable. */
static long long declared_length(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL) {
		return -1;
	}
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (end == v || *end != '\0' || v[0] == '-' || errno != 0 || n > (1ULL << 40)) {
		return -2;
	}
	return (long long)n;
}

/* Get ready to collect a body of at most max bytes. */
static enum MHD_Result collect(struct MHD_Connection *c, req_t *q, route_t r, size_t max)
{
	long long n = declared_length(c);
	if (n == -2) {
		return reply_text(c, q, 400, "bad Content-Length\n", NULL);
	}
	if (n > (long long)max) {
		return reply_text(c, q, 413, "body too large\n", NULL);
	}
	q->cap = n >= 0 ? (size_t)n : max;
	q->body = malloc(q->cap > 0 ? q->cap : 1);
	if (q->body == NULL) {
		return reply_text(c, q, 503, "out of memory\n", NULL);
	}
	q->route = r;
	return MHD_YES;
}

static enum MHD_Result route(listener_t *l, struct MHD_Connection *c, req_t *q,
			     const char *url, const char *method)
{
	if (strcmp(url, "/healthz") == 0) {
		if (!is_get(method)) {
			return reply_text(c, q, 405, "method not allowed\n", "GET, HEAD");
		}
		return reply_text(c, q, 200, "ok\n", NULL);
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
	bsf_ub_handle(l->h->bsf, q->rid, q->method, authz, q->body, q->len, now_s(),
		      &ans);
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
		bsf_zn_error(403, "NOT_AUTHORIZED", BSF_ZN_RC_NOT_AUTHORIZED, why, &ans);
		return reply_zn(c, q, &ans);
	}
	if (bsf_zn_parse(q->body, q->len, &req, &why) != KMS_EOK) {
		log_req_warning(q->rid, "Zn: malformed request: %s", why);
		bsf_zn_error(400, "BAD_REQUEST", 0, why, &ans);
		return reply_zn(c, q, &ans);
	}
	if (l->tls) {
		if (bsf_tls_peer_check(session, req.fqdn, &why) != KMS_EOK) {
			log_req_warning(q->rid, "Zn over TLS: NAF %s refused: %s",
					req.fqdn, why);
			bsf_zn_error(403, "NOT_AUTHORIZED", BSF_ZN_RC_NOT_AUTHORIZED, why,
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
		atomic_fetch_add(&l->h->inflight, 1);
		*con_cls = q;
		return route(l, c, q, url, method);
	}
	if (q->route == R_NONE || q->status != 0) {
		return *upload_size == 0 ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		size_t n = *upload_size;
		if (n > q->cap - q->len) {
			q->route = R_NONE;
			if (reply_text(c, q, 413, "body too large\n", NULL) != MHD_YES) {
				q->status = 413;
				return MHD_NO; /* MHD cannot answer mid-body: close */
			}
			*upload_size = 0;
			return MHD_YES;
		}
		memcpy(q->body + q->len, upload, n);
		q->len += n;
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
	const char *how = "";
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		how = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)"
		      : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT  ? " (client closed)"
								    : " (aborted)";
	}
	log_req_info(q->rid, "%s %s%s %u %zu bytes %.1f ms%s", q->method,
		     l->tls ? "tls:" : "", q->path, q->status, q->bytes, ms, how);
	free(q->body);
	free(q);
	*con_cls = NULL;
	atomic_fetch_sub(&l->h->inflight, 1);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
							     va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
		line[--n] = '\0';
	}
	log_msg(LOG_WARNING, "http", "%s", line);
}

/* --- lifecycle -------------------------------------------------------------- */

static int bind_addr(const char *listen, uint16_t port, struct sockaddr_storage *ss,
		     bool *v6)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, listen, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*v6 = false;
		return KMS_EOK;
	}
	if (inet_pton(AF_INET6, listen, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*v6 = true;
		return KMS_EOK;
	}
	return KMS_ECONFIG;
}

/* A whole PEM file, NUL-terminated, at most PEM_MAX bytes. */
static int read_pem(const char *path, char **out, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		return -errno;
	}
	char *buf = malloc(PEM_MAX + 1);
	size_t len = 0;
	int ret = buf != NULL ? KMS_EOK : KMS_ENOMEM;
	while (ret == KMS_EOK) {
		ssize_t n = read(fd, buf + len, PEM_MAX + 1 - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			ret = -errno;
		} else if (n == 0) {
			break;
		} else if ((len += (size_t)n) > PEM_MAX) {
			ret = KMS_ELIMIT;
		}
	}
	close(fd);
	if (ret != KMS_EOK) {
		if (buf != NULL) {
			secmem_free(buf, PEM_MAX + 1);
		}
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	if (out_len != NULL) {
		*out_len = len;
	}
	return KMS_EOK;
}

static struct MHD_Daemon *start_plain(bsf_http_t *h, const struct sockaddr_storage *ss,
				      bool v6)
{
	const bsf_http_config_t *cfg = &h->cfg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	unsigned pool = cfg->threads > 1 ? cfg->threads : 0;
	return MHD_start_daemon(
	    flags, cfg->port, NULL, NULL, on_request, &h->plain,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
	    (const struct sockaddr *)ss, MHD_OPTION_THREAD_POOL_SIZE, pool,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->conn_memory,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    &h->plain, MHD_OPTION_END);
}

static struct MHD_Daemon *start_tls(bsf_http_t *h, const struct sockaddr_storage *ss,
				    bool v6)
{
	const bsf_http_config_t *cfg = &h->cfg;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | MHD_USE_TLS | (v6 ? MHD_USE_IPv6 : 0);
	unsigned pool = cfg->threads > 1 ? cfg->threads : 0;
	return MHD_start_daemon(
	    flags, cfg->zn_tls_port, NULL, NULL, on_request, &h->tls,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
	    (const struct sockaddr *)ss, MHD_OPTION_THREAD_POOL_SIZE, pool,
	    MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->conn_memory,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_HTTPS_MEM_CERT, h->pem_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, h->pem_key, MHD_OPTION_HTTPS_MEM_TRUST, h->pem_ca,
	    MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, &h->tls, MHD_OPTION_END);
}

static void free_pems(bsf_http_t *h)
{
	free(h->pem_cert);
	free(h->pem_ca);
	if (h->pem_key != NULL) {
		secmem_free(h->pem_key, PEM_MAX + 1);
	}
	h->pem_cert = h->pem_ca = h->pem_key = NULL;
}

static int load_pems(bsf_http_t *h)
{
	const bsf_http_config_t *cfg = &h->cfg;
	const struct {
		const char *path;
		char **out;
		const char *what;
	} f[] = {
		{ cfg->tls_cert, &h->pem_cert, "certificate" },
		{ cfg->tls_key, &h->pem_key, "private key" },
		{ cfg->tls_ca, &h->pem_ca, "CA (NAF client certificates)" },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].path == NULL) {
			log_error("Zn TLS needs --tls-cert, --tls-key and --tls-ca");
			return KMS_ECONFIG;
		}
		int ret = read_pem(f[i].path, f[i].out, NULL);
		if (ret != KMS_EOK) {
			log_error("cannot read the TLS %s %s: %s", f[i].what, f[i].path,
				  kms_strerror(ret));
			return ret;
		}
	}
	return KMS_EOK;
}

int bsf_http_start(const bsf_http_config_t *cfg, bsf_t *b, bsf_http_t **out)
{
	struct sockaddr_storage ss, ss_tls;
	bool v6 = false;
	uint8_t rnd[2];

	if (cfg == NULL || b == NULL || out == NULL ||
	    bind_addr(cfg->listen, cfg->port, &ss, &v6) != KMS_EOK ||
	    bind_addr(cfg->listen, cfg->zn_tls_port, &ss_tls, &v6) != KMS_EOK) {
		return KMS_EINVAL;
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
	atomic_init(&h->inflight, 0);
	atomic_init(&h->next_id, 0);

	int ret = KMS_EOK;
	if (cfg->zn_tls_port != 0) {
		ret = load_pems(h);
		if (ret == KMS_EOK) {
			h->tls.mhd = start_tls(h, &ss_tls, v6);
			if (h->tls.mhd == NULL) {
				log_error(
				    "cannot serve Zn over TLS on %s port %u (address "
				    "in use, or bad certificate/key?)",
				    cfg->listen, (unsigned)cfg->zn_tls_port);
				ret = KMS_EIO;
			}
		}
	}
	if (ret == KMS_EOK) {
		h->plain.mhd = start_plain(h, &ss, v6);
		if (h->plain.mhd == NULL) {
			log_error(
			    "cannot serve on %s port %u (address in use or not local?)",
			    cfg->listen, (unsigned)cfg->port);
			ret = KMS_EIO;
		}
	}
	if (ret != KMS_EOK) {
		if (h->tls.mhd != NULL) {
			MHD_stop_daemon(h->tls.mhd);
		}
		free_pems(h);
		free(h);
		return ret;
	}
	log_notice("Ub (GET %s) and Zn (POST %s%s) on %s%s%s:%u, %u threads", BSF_UB_PATH,
		   BSF_ZN_PATH, cfg->zn_tls_only ? ", refused: TLS only" : "",
		   v6 ? "[" : "", cfg->listen, v6 ? "]" : "", (unsigned)cfg->port,
		   cfg->threads);
	if (h->tls.mhd != NULL) {
		log_notice("Zn over TLS (client certificates required) on %s%s%s:%u",
			   v6 ? "[" : "", cfg->listen, v6 ? "]" : "",
			   (unsigned)cfg->zn_tls_port);
	}
	*out = h;
	return KMS_EOK;
}

void bsf_http_stop(bsf_http_t *h, unsigned timeout_ms)
{
	if (h == NULL) {
		return;
	}
	listener_t *ls[] = { &h->plain, &h->tls };
	for (size_t i = 0; i < 2; i++) {
		if (ls[i]->mhd != NULL) {
			MHD_socket s = MHD_quiesce_daemon(ls[i]->mhd);
			if (s != MHD_INVALID_SOCKET) {
				close(s);
			}
		}
	}
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (unsigned waited = 0; atomic_load(&h->inflight) > 0 && waited < timeout_ms;
	     waited += 10) {
		nanosleep(&tick, NULL);
	}
	unsigned left = atomic_load(&h->inflight);
	if (left > 0) {
		log_warning("stopping with %u request(s) still in progress", left);
	}
	for (size_t i = 0; i < 2; i++) {
		if (ls[i]->mhd != NULL) {
			MHD_stop_daemon(ls[i]->mhd);
		}
	}
	free_pems(h);
	free(h);
}
