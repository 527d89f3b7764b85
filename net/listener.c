/* The HTTP listener skeleton on libmicrohttpd (see listener.h). */
#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"
#include "common/secret_file.h"

#define TAG_MAX 16
#define OPTS_MAX 20

struct net_listener {
	struct MHD_Daemon *mhd;
	net_listener_cb_t cb;
	void *cls;
	atomic_uint inflight;
	atomic_bool draining; /* a drain may be waiting: signal at zero */
	atomic_bool quiesced;
	pthread_mutex_t mu; /* with idle: the drain's wait */
	pthread_cond_t idle;
	uint16_t port;
	char tag[TAG_MAX];
	char addr[NET_ADDR_STR_MAX];
	char *pem_cert, *pem_key, *pem_trust; /* kept while MHD runs */
	size_t pem_max;
};

/* --- helpers for handlers ---------------------------------------------------- */

int net_bind_addr(const char *listen, uint16_t port, struct sockaddr_storage *ss,
		  bool *v6)
{
	struct sockaddr_storage a;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
	memset(&a, 0, sizeof(a));
	if (listen == NULL || ss == NULL || v6 == NULL) {
		return KMS_EINVAL;
	}
	if (inet_pton(AF_INET, listen, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*v6 = false;
	} else if (inet_pton(AF_INET6, listen, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*v6 = true;
	} else {
		return KMS_ECONFIG;
	}
	*ss = a;
	return KMS_EOK;
}

int net_declared_length(struct MHD_Connection *c, uint64_t *len)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (v == NULL) {
		return KMS_ENOENT;
	}
	return net_length_parse(v, len);
}

typedef struct {
	net_kv_t *kv;
	size_t n, cap;
} kv_fill_t;

static enum MHD_Result kv_fill(void *cls, enum MHD_ValueKind kind, const char *key,
			       size_t key_len, const char *value, size_t value_len)
{
	kv_fill_t *f = cls;
	(void)kind;
	if (f->n >= f->cap) {
		return MHD_NO;
	}
	f->kv[f->n++] = (net_kv_t){ key, key_len, value, value_len };
	return MHD_YES;
}

int net_kv_collect(struct MHD_Connection *c, enum MHD_ValueKind kind, net_kv_list_t *l)
{
	int total = MHD_get_connection_values_n(c, kind, NULL, NULL);
	size_t n = total > 0 ? (size_t)total : 0;
	l->kv = l->inline_kv;
	l->n = 0;
	if (n > NET_KV_INLINE) {
		l->kv = calloc(n, sizeof(*l->kv));
		if (l->kv == NULL) {
			l->kv = l->inline_kv;
			return KMS_ENOMEM;
		}
	}
	kv_fill_t f = { l->kv, 0, n > NET_KV_INLINE ? n : NET_KV_INLINE };
	MHD_get_connection_values_n(c, kind, kv_fill, &f);
	l->n = f.n;
	return KMS_EOK;
}

void net_kv_list_free(net_kv_list_t *l)
{
	if (l->kv != l->inline_kv) {
		free(l->kv);
	}
	l->kv = l->inline_kv;
	l->n = 0;
}

int net_framing_check(struct MHD_Connection *c, const char **why)
{
	net_kv_list_t h;
	if (net_kv_collect(c, MHD_HEADER_KIND, &h) != KMS_EOK) {
		*why = "out of memory";
		return KMS_ENOMEM;
	}
	int ret = net_framing_check_list(h.kv, h.n, why);
	net_kv_list_free(&h);
	return ret;
}

int net_body_begin(net_body_t *b, struct MHD_Connection *c, size_t max)
{
	uint64_t n = 0;
	memset(b, 0, sizeof(*b));
	int ret = net_declared_length(c, &n);
	if (ret == KMS_EMALFORMED) {
		return KMS_EHTTP_FRAME;
	}
	if (ret == KMS_EOK && n > (uint64_t)max) {
		return KMS_EHTTP_SIZE;
	}
	return net_body_alloc(b, ret == KMS_EOK ? (size_t)n : max);
}

int net_body_alloc(net_body_t *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->buf = malloc(cap > 0 ? cap : 1);
	if (b->buf == NULL) {
		return KMS_ENOMEM;
	}
	b->cap = cap;
	return KMS_EOK;
}

int net_body_append(net_body_t *b, const char *data, size_t n)
{
	if (b->buf == NULL || n > b->cap - b->len) {
		return KMS_EHTTP_SIZE;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return KMS_EOK;
}

void net_body_free(net_body_t *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

const char *net_termination_str(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return " (timed out)";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return " (client closed)";
	default:
		return " (aborted)";
	}
}

void net_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
		line[--n] = '\0';
	}
	log_msg(LOG_WARNING, cls != NULL ? (const char *)cls : "http", "%s", line);
}

/* --- in-flight accounting: trampolines around the daemon's callbacks ---------- */

static void leave(net_listener_t *l)
{
	if (atomic_fetch_sub(&l->inflight, 1) == 1 && atomic_load(&l->draining)) {
		pthread_mutex_lock(&l->mu);
		pthread_cond_broadcast(&l->idle);
		pthread_mutex_unlock(&l->mu);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	net_listener_t *l = cls;
	bool fresh = *con_cls == NULL;
	if (fresh) {
		atomic_fetch_add(&l->inflight, 1); /* before: a drain must see it */
	}
	enum MHD_Result ret =
	    l->cb.request(l->cls, c, url, method, version, upload, upload_size, con_cls);
	if (fresh && *con_cls == NULL) {
		leave(l); /* the daemon took no state: no completion will follow */
	}
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	net_listener_t *l = cls;
	bool counted = *con_cls != NULL;
	l->cb.completed(l->cls, c, con_cls, toe);
	if (counted) {
		leave(l);
	}
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	net_listener_t *l = cls;
	l->cb.connection(l->cls, c, socket_ctx, code);
}

/* --- lifecycle ------------------------------------------------------------------ */

static void listener_free(net_listener_t *l)
{
	secret_file_free(l->pem_key, l->pem_max);
	secret_file_free(l->pem_cert, l->pem_max);
	secret_file_free(l->pem_trust, l->pem_max);
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

static int listener_new(const net_listener_cfg_t *cfg, const net_listener_cb_t *cb,
			void *cls, net_listener_t **out)
{
	net_listener_t *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		return KMS_ENOMEM;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int e = pthread_cond_init(&l->idle, &ca);
	pthread_condattr_destroy(&ca);
	if (e != 0 || pthread_mutex_init(&l->mu, NULL) != 0) {
		if (e == 0) {
			pthread_cond_destroy(&l->idle);
		}
		free(l);
		return KMS_ENOMEM;
	}
	l->cb = *cb;
	l->cls = cls;
	atomic_init(&l->inflight, 0);
	atomic_init(&l->draining, false);
	atomic_init(&l->quiesced, false);
	snprintf(l->tag, sizeof(l->tag), "%s", cfg->tag != NULL ? cfg->tag : "http");
	l->pem_max = cfg->tls_file_max != 0 ? cfg->tls_file_max : SECRET_FILE_MAX;
	*out = l;
	return KMS_EOK;
}

static int read_pem(net_listener_t *l, const net_listener_cfg_t *cfg, const char *path,
		    const char *what, char **out)
{
	size_t len = 0;
	int ret = secret_file_read(path, cfg->tls_file_flags, l->pem_max, out, &len);
	if (ret != KMS_EOK) {
		log_msg(LOG_ERR, l->tag, "cannot read the TLS %s %s: %s%s", what, path,
			kms_strerror(ret), ret == KMS_ELIMIT ? " (over the cap)" : "");
		return ret;
	}
	if (len == 0) {
		log_msg(LOG_ERR, l->tag, "the TLS %s %s is empty", what, path);
		secret_file_free(*out, l->pem_max);
		*out = NULL;
		return KMS_ECONFIG;
	}
	return KMS_EOK;
}

static int load_pems(net_listener_t *l, const net_listener_cfg_t *cfg)
{
	if (cfg->tls_cert == NULL || cfg->tls_key == NULL) {
		log_msg(LOG_ERR, l->tag, "TLS needs a certificate and a private key");
		return KMS_ECONFIG;
	}
	int ret = read_pem(l, cfg, cfg->tls_cert, "certificate", &l->pem_cert);
	if (ret == KMS_EOK) {
		ret = read_pem(l, cfg, cfg->tls_key, "private key", &l->pem_key);
	}
	if (ret == KMS_EOK && cfg->tls_trust != NULL) {
		ret =
		    read_pem(l, cfg, cfg->tls_trust, "trust (client CAs)", &l->pem_trust);
	}
	return ret;
}

typedef struct {
	struct MHD_OptionItem item[OPTS_MAX];
	size_t n;
} opts_t;

static void opt(opts_t *o, enum MHD_OPTION option, intptr_t value, void *ptr)
{
	if (o->n + 1 < OPTS_MAX) { /* the last one stays MHD_OPTION_END */
		o->item[o->n++] = (struct MHD_OptionItem){ option, value, ptr };
	}
}

/* MHD's options: the logger first, so that MHD never prints on its own. */
static void build_opts(net_listener_t *l, const net_listener_cfg_t *cfg,
		       const struct sockaddr_storage *ss, opts_t *o)
{
	memset(o, 0, sizeof(*o));
	opt(o, MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)net_mhd_log, l->tag);
	opt(o, MHD_OPTION_SOCK_ADDR, 0, (void *)(uintptr_t)ss);
	opt(o, MHD_OPTION_THREAD_POOL_SIZE, cfg->threads > 1 ? cfg->threads : 0, NULL);
	opt(o, MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns, NULL);
	opt(o, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip, NULL);
	opt(o, MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout, NULL);
	opt(o, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->conn_memory, NULL);
	opt(o, MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
	opt(o, MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, l);
	if (l->cb.connection != NULL) {
		opt(o, MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, l);
	}
	if (l->pem_key != NULL) {
		opt(o, MHD_OPTION_HTTPS_MEM_KEY, 0, l->pem_key);
		opt(o, MHD_OPTION_HTTPS_MEM_CERT, 0, l->pem_cert);
	}
	if (l->pem_trust != NULL) { /* MHD then asks for a client certificate */
		opt(o, MHD_OPTION_HTTPS_MEM_TRUST, 0, l->pem_trust);
	}
	if (l->pem_key != NULL && cfg->tls_priorities != NULL) {
		opt(o, MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)(uintptr_t)cfg->tls_priorities);
	}
}

/* MHD on the bound address; l->port and l->addr from what it bound. */
static int serve(net_listener_t *l, const net_listener_cfg_t *cfg,
		 const struct sockaddr_storage *ss, bool v6)
{
	opts_t o;
	build_opts(l, cfg, ss, &o);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) |
			 (l->pem_key != NULL ? MHD_USE_TLS : 0);
	l->mhd = MHD_start_daemon(flags, cfg->port, NULL, NULL, on_request, l,
				  MHD_OPTION_ARRAY, o.item, MHD_OPTION_END);
	if (l->mhd == NULL) {
		log_msg(LOG_ERR, l->tag,
			"cannot serve on %s port %u (address in use, not local, or bad "
			"TLS files?)",
			cfg->listen, (unsigned)cfg->port);
		return KMS_EIO;
	}
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_BIND_PORT);
	l->port = di != NULL && di->port != 0 ? di->port : cfg->port;
	snprintf(l->addr, sizeof(l->addr), "%s%s%s:%u", v6 ? "[" : "", cfg->listen,
		 v6 ? "]" : "", (unsigned)l->port);
	return KMS_EOK;
}

int net_listener_start(const net_listener_cfg_t *cfg, const net_listener_cb_t *cb,
		       void *cls, net_listener_t **out)
{
	struct sockaddr_storage ss;
	bool v6 = false;
	net_listener_t *l = NULL;
	if (cfg == NULL || cb == NULL || cb->request == NULL || cb->completed == NULL ||
	    out == NULL) {
		return KMS_EINVAL;
	}
	if (net_bind_addr(cfg->listen, cfg->port, &ss, &v6) != KMS_EOK) {
		log_msg(LOG_ERR, cfg->tag, "cannot listen on '%s': not an IP address",
			cfg->listen != NULL ? cfg->listen : "");
		return KMS_EINVAL;
	}
	int ret = listener_new(cfg, cb, cls, &l);
	if (ret != KMS_EOK) {
		return ret;
	}
	bool tls =
	    cfg->tls_cert != NULL || cfg->tls_key != NULL || cfg->tls_trust != NULL;
	if (tls) {
		ret = load_pems(l, cfg);
	}
	if (ret == KMS_EOK) {
		ret = serve(l, cfg, &ss, v6);
	}
	if (ret != KMS_EOK) {
		listener_free(l);
		return ret;
	}
	*out = l;
	return KMS_EOK;
}

uint16_t net_listener_port(const net_listener_t *l)
{
	return l->port;
}

const char *net_listener_addr(const net_listener_t *l)
{
	return l->addr;
}

unsigned net_listener_inflight(const net_listener_t *l)
{
	return atomic_load(&l->inflight);
}

void net_listener_quiesce(net_listener_t *l)
{
	if (atomic_exchange(&l->quiesced, true)) {
		return;
	}
	MHD_socket s = MHD_quiesce_daemon(l->mhd);
	if (s != MHD_INVALID_SOCKET) {
		close(s);
	}
}

unsigned net_listener_drain(net_listener_t *l, unsigned timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(timeout_ms / 1000);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* Set before reading the count: the last leave() then sees it and wakes
	 * us, or we see its decrement (both sequentially consistent). */
	atomic_store(&l->draining, true);
	pthread_mutex_lock(&l->mu);
	while (timeout_ms > 0 && atomic_load(&l->inflight) > 0) {
		if (pthread_cond_timedwait(&l->idle, &l->mu, &deadline) == ETIMEDOUT) {
			break;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return atomic_load(&l->inflight);
}

void net_listener_stop(net_listener_t *l, unsigned timeout_ms)
{
	if (l == NULL) {
		return;
	}
	net_listener_quiesce(l);
	unsigned left = net_listener_drain(l, timeout_ms);
	if (left > 0) {
		log_msg(LOG_WARNING, l->tag,
			"stopping with %u request(s) still in progress", left);
	}
	MHD_stop_daemon(l->mhd);
	listener_free(l);
}
