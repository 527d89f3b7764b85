/*
 * The HTTP listener skeleton on libmicrohttpd (see listener.h).
 *
 * Slow clients.  libmicrohttpd 0.9.75 has one timer per connection, the idle
 * timeout, and every byte received resets it: a client that sends a header
 * line every few seconds, or that opens connections and sends nothing,
 * holds a slot for as long as it likes, and a few thousand of them keep
 * every other client out.  So the listener keeps its own table of the
 * connections (net/conntrack.h) and closes what is late, from MHD's
 * callbacks and a reaper thread:
 *   - NOTIFY_CONNECTION STARTED adds the connection (IDLE) with its socket;
 *     CLOSED removes it.  MHD calls CLOSED before it closes the socket, and
 *     the table shuts sockets down only under its lock, so a descriptor
 *     reused by a later connection is never shut down;
 *   - the URI log callback (request line in) makes it SENDING, unless that
 *     is over the sending caps: then it is closed.  It returns NULL, so the
 *     daemon's access handler still sees *con_cls NULL on its first call;
 *   - the access handler call that ends the request (the first one when no
 *     body follows, else the first later one without upload data) makes it
 *     RECEIVED: exempt from the deadlines, also while MHD holds it
 *     suspended; the completed callback makes it IDLE again;
 *   - the accept policy callback closes the connection idle for longest
 *     when the table is full (refusing the new one only when none is idle);
 *     MHD's own limit is a little higher (net_listener_slots()) for the
 *     connections closed but not yet gone;
 *   - the reaper, every NET_REAP_MS on the clock of common/clock.h, shuts
 *     down (shutdown(2), both ways) what has been SENDING for longer than
 *     request_timeout or IDLE for longer than conn_timeout; MHD sees the end
 *     of the stream and closes the connection.  What it closed is logged as
 *     one summary line at most every 10 s, never a line per connection.
 * MHD's idle timeout stays set too: it bounds a client that reads its
 * answer slowly (RECEIVED), which is not timed out here.
 */
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

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secret_file.h"
#include "net/tls.h"
#include "net/wait.h"

#define TAG_MAX 16
#define OPTS_MAX 24
#define MHD_LOG_WINDOW_MS 10000	  /* MHD's own messages: at most ... */
#define MHD_LOG_LINES 20	  /* ... this many lines per window */
#define FORCED_DRAIN_MAX_MS 2000u /* for requests resumed at stop to be answered */

struct net_listener {
	struct MHD_Daemon *mhd;
	net_listener_cb_t cb;
	void *cls;
	atomic_uint inflight;
	atomic_bool draining; /* a drain may be waiting: signal at zero */
	atomic_bool quiesced;
	pthread_mutex_t mu; /* with idle: the drain's wait, the parked list;
			     * with reap: the reaper's */
	pthread_cond_t idle;
	pthread_cond_t reap;
	bool reap_stop; /* under mu */
	bool reaper_started;
	pthread_t reaper;
	net_conntrack_t *ct;
	net_wait_t *parked; /* suspended requests (net_listener_park) */
	unsigned nparked;
	uint16_t port;
	char tag[TAG_MAX];
	char addr[NET_ADDR_STR_MAX];
	net_tls_t *tls;	 /* the server certificate and key (reloadable) */
	char *pem_trust; /* kept while MHD runs */
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

/*
 * MHD logs some events once per connection ("Server reached connection
 * limit", "Application reported internal error" for a connection we
 * closed): under a flood of connections that would be a flood of lines.
 * At most MHD_LOG_LINES per MHD_LOG_WINDOW_MS (process-wide), then one line
 * with the number left out.  False: do not log this one.
 */
static bool mhd_log_allowed(unsigned *dropped)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static int64_t start;
	static unsigned lines, left_out;
	int64_t now = kms_clock_now_ms();
	pthread_mutex_lock(&mu);
	*dropped = 0;
	if (lines == 0 || now - start >= MHD_LOG_WINDOW_MS) {
		*dropped = left_out;
		start = now;
		lines = 0;
		left_out = 0;
	}
	bool ok = lines < MHD_LOG_LINES;
	if (ok) {
		lines++;
	} else {
		left_out++;
	}
	pthread_mutex_unlock(&mu);
	return ok;
}

void net_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const char *subject = cls != NULL ? (const char *)cls : "http";
	unsigned dropped = 0;
	bool ok = mhd_log_allowed(&dropped);
	if (dropped > 0) {
		log_msg(
		    LOG_WARNING, subject,
		    "%u more libmicrohttpd message(s) not logged (at most %u per %u s)",
		    dropped, MHD_LOG_LINES, MHD_LOG_WINDOW_MS / 1000);
	}
	if (!ok) {
		return;
	}
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
		line[--n] = '\0';
	}
	log_msg(LOG_WARNING, subject, "%s", line);
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

/* --- the connection table: MHD's callbacks (see the top of this file) ----------- */

static net_conn_t *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void *net_listener_conn_ctx(struct MHD_Connection *c)
{
	net_conn_t *e = conn_of(c);
	return e != NULL ? e->app : NULL;
}

/* Whether a body follows the headers (a bad length: MHD refuses it later). */
static bool body_expected(struct MHD_Connection *c)
{
	uint64_t n = 0;
	int ret = net_declared_length(c, &n);
	if (ret != KMS_ENOENT) {
		return ret != KMS_EOK || n > 0;
	}
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/*
 * An access handler call: the request is whole on the first call when no
 * body follows, else on the first later call without upload data (MHD's
 * last call).  False: we closed the connection, refuse the request (its
 * answer could not be sent; the work would be lost).
 */
static bool track_call(net_listener_t *l, struct MHD_Connection *c, size_t upload)
{
	net_conn_t *e = conn_of(c);
	if (e == NULL) {
		return true;
	}
	bool first = e->calls++ == 0;
	if (first && net_conntrack_doomed(l->ct, e)) {
		return false;
	}
	if (!e->in && upload == 0 && (!first || !body_expected(c))) {
		e->in = true;
		net_conntrack_request_received(l->ct, e);
	}
	return true;
}

/* The request line is in: the request is SENDING (or over a cap: closed).
 * NULL: the daemon's *con_cls starts NULL as without this callback. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	net_listener_t *l = cls;
	net_conn_t *e = conn_of(c);
	(void)uri;
	if (e != NULL) {
		e->calls = 0;
		e->in = false;
		(void)net_conntrack_request_begin(l->ct, e);
	}
	return NULL;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	net_listener_t *l = cls;
	(void)addr;
	(void)len;
	return net_conntrack_admit(l->ct) ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	net_listener_t *l = cls;
	if (!track_call(l, c, *upload_size)) {
		return MHD_NO;
	}
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
	net_conn_t *e = conn_of(c);
	if (e != NULL) {
		net_conntrack_request_done(l->ct, e);
		if (net_conntrack_timed_out(l->ct, e)) {
			/* MHD saw the stream end; the daemon should see why. */
			toe = MHD_REQUEST_TERMINATED_TIMEOUT_REACHED;
		}
	}
	l->cb.completed(l->cls, c, con_cls, toe);
	if (counted) {
		leave(l);
	}
}

/* MHD's socket context is our entry; the daemon's lives in it (e->app). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	net_listener_t *l = cls;
	net_conn_t *e = *socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (fd == NULL) {
			return;
		}
		e = net_conntrack_add(l->ct, fd->connect_fd,
				      ad != NULL ? ad->client_addr : NULL);
		*socket_ctx = e;
		if (e == NULL) { /* never: the table has MHD's limit of entries */
			(void)shutdown(fd->connect_fd, SHUT_RDWR);
			return;
		}
		/* Before the handshake: the set current now serves it. */
		e->tls = l->tls != NULL ? net_tls_acquire(l->tls) : NULL;
	}
	if (e == NULL) {
		return;
	}
	if (l->cb.connection != NULL) {
		l->cb.connection(l->cls, c, &e->app, code);
	}
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		net_tls_release(e->tls); /* its session is going: no more use */
		e->tls = NULL;
		net_conntrack_remove(l->ct, e); /* before MHD closes the socket */
		*socket_ctx = NULL;
	}
}

/*
 * GnuTLS asks for the server certificate in each handshake.  MHD makes the
 * connection the session's pointer; the credentials are those the
 * connection took when it started (on_connection), so a reload between
 * accept and handshake cannot free them under the handshake.
 */
static int on_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_len,
		   gnutls_pcert_st **pcert, unsigned int *pcert_len,
		   gnutls_privkey_t *key)
{
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_len;
	struct MHD_Connection *c = gnutls_session_get_ptr(session);
	net_conn_t *e = c != NULL ? conn_of(c) : NULL;
	if (e == NULL || e->tls == NULL) {
		return -1; /* the handshake fails; the connection is closed */
	}
	net_tls_creds_get(e->tls, pcert, pcert_len, key);
	return 0;
}

/* The reaper: the deadlines every NET_REAP_MS (a real wait, so that a stop
 * wakes it; the deadlines themselves are on the clock of common/clock.h). */
static void *reaper_main(void *arg)
{
	net_listener_t *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->reap_stop) {
		struct timespec at;
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += NET_REAP_MS * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&l->reap, &l->mu, &at);
		if (l->reap_stop) {
			break;
		}
		pthread_mutex_unlock(&l->mu);
		net_listener_reap(l);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void reaper_stop(net_listener_t *l)
{
	if (!l->reaper_started) {
		return;
	}
	pthread_mutex_lock(&l->mu);
	l->reap_stop = true;
	pthread_cond_broadcast(&l->reap);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->reaper, NULL);
	l->reaper_started = false;
}

void net_listener_reap(net_listener_t *l)
{
	net_conntrack_reap(l->ct, kms_clock_now_ms());
}

void net_listener_stats(net_listener_t *l, net_conntrack_stats_t *out)
{
	net_conntrack_stats(l->ct, out);
}

unsigned net_listener_slots(unsigned max_conns)
{
	unsigned room = max_conns / 8 > 16 ? max_conns / 8 : 16;
	return max_conns + room;
}

/* --- lifecycle ------------------------------------------------------------------ */

static void listener_free(net_listener_t *l)
{
	net_tls_free(l->tls); /* after MHD: no connection holds a set */
	secret_file_free(l->pem_trust, l->pem_max);
	net_conntrack_free(l->ct);
	pthread_cond_destroy(&l->reap);
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* The drain's and the reaper's condition variables, on the monotonic clock. */
static int sync_init(net_listener_t *l)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int e1 = pthread_cond_init(&l->idle, &ca);
	int e2 = pthread_cond_init(&l->reap, &ca);
	int e3 = pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_destroy(&ca);
	if (e1 == 0 && e2 == 0 && e3 == 0) {
		return KMS_EOK;
	}
	if (e1 == 0) {
		pthread_cond_destroy(&l->idle);
	}
	if (e2 == 0) {
		pthread_cond_destroy(&l->reap);
	}
	if (e3 == 0) {
		pthread_mutex_destroy(&l->mu);
	}
	return KMS_ENOMEM;
}

/* The connection table of cfg's caps and deadlines. */
static int conntrack_open(net_listener_t *l, const net_listener_cfg_t *cfg)
{
	const net_conntrack_cfg_t tc = {
		.max_conns = cfg->max_conns,
		.slots = net_listener_slots(cfg->max_conns),
		.idle_ms = cfg->conn_timeout * 1000u,
		.request_ms = cfg->request_timeout * 1000u,
		.max_sending = cfg->max_sending,
		.max_sending_per_ip = cfg->max_sending_per_ip,
		.tag = l->tag,
	};
	return net_conntrack_new(&tc, &l->ct);
}

static int listener_new(const net_listener_cfg_t *cfg, const net_listener_cb_t *cb,
			void *cls, net_listener_t **out)
{
	if (cfg->max_conns == 0 || cfg->max_conns > NET_MAX_CONNS ||
	    cfg->conn_timeout > NET_TIMEOUT_MAX ||
	    cfg->request_timeout > NET_TIMEOUT_MAX) {
		return KMS_EINVAL;
	}
	net_listener_t *l = calloc(1, sizeof(*l));
	if (l == NULL) {
		return KMS_ENOMEM;
	}
	if (sync_init(l) != KMS_EOK) {
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
	int ret = conntrack_open(l, cfg);
	if (ret != KMS_EOK) {
		listener_free(l);
		return ret;
	}
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
	const net_tls_cfg_t tc = {
		.cert = cfg->tls_cert,
		.key = cfg->tls_key,
		.file_max = l->pem_max,
		.flags = cfg->tls_file_flags,
		.tag = l->tag,
	};
	int ret = KMS_EOK;
	if (cfg->tls_trust != NULL) {
		ret =
		    read_pem(l, cfg, cfg->tls_trust, "trust (client CAs)", &l->pem_trust);
	}
	if (ret == KMS_EOK) {
		ret = net_tls_new(&tc, &l->tls); /* errors logged, naming the file */
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
	/* Room above max_conns for connections closed but not yet gone: the
	 * table (on_accept) keeps the live ones at max_conns. */
	opt(o, MHD_OPTION_CONNECTION_LIMIT, net_listener_slots(cfg->max_conns), NULL);
	opt(o, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip, NULL);
	opt(o, MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout, NULL);
	opt(o, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)cfg->conn_memory, NULL);
	opt(o, MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
	opt(o, MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, l);
	opt(o, MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, l);
	opt(o, MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, l);
	if (l->pem_trust != NULL) { /* MHD then asks for a client certificate */
		opt(o, MHD_OPTION_HTTPS_MEM_TRUST, 0, l->pem_trust);
	}
	if (l->tls != NULL && cfg->tls_priorities != NULL) {
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
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			 (v6 ? MHD_USE_IPv6 : 0) | (l->tls != NULL ? MHD_USE_TLS : 0);
	/* The certificate comes from on_cert(), never from MEM_CERT/KEY: MHD
	 * would load those into its credentials for good, and GnuTLS would not
	 * ask the callback. */
	if (l->tls != NULL) {
		l->mhd = MHD_start_daemon(
		    flags, cfg->port, on_accept, l, on_request, l, MHD_OPTION_ARRAY,
		    o.item, MHD_OPTION_HTTPS_CERT_CALLBACK, on_cert, MHD_OPTION_END);
	} else {
		l->mhd = MHD_start_daemon(flags, cfg->port, on_accept, l, on_request, l,
					  MHD_OPTION_ARRAY, o.item, MHD_OPTION_END);
	}
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
	if (pthread_create(&l->reaper, NULL, reaper_main, l) != 0) {
		log_msg(LOG_ERR, l->tag, "cannot start the reaper thread");
		MHD_stop_daemon(l->mhd);
		l->mhd = NULL;
		return KMS_ENOMEM;
	}
	l->reaper_started = true;
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
		log_msg(LOG_ERR, cfg->tag, "cannot set up the listener: %s%s",
			kms_strerror(ret),
			ret == KMS_EINVAL ? " (connection cap or timeout out of range)"
					  : "");
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

int net_listener_tls_reload(net_listener_t *l)
{
	return l->tls != NULL ? net_tls_reload(l->tls) : KMS_EOK;
}

bool net_listener_tls_stats(net_listener_t *l, net_tls_stats_t *out)
{
	if (l->tls == NULL) {
		return false;
	}
	net_tls_stats(l->tls, out);
	return true;
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

/* --- parked requests ---------------------------------------------------------------- */

/* Locked. */
static void unlist(net_listener_t *l, net_wait_t *w)
{
	if (!w->listed) {
		return;
	}
	if (w->pprev != NULL) {
		w->pprev->pnext = w->pnext;
	} else {
		l->parked = w->pnext;
	}
	if (w->pnext != NULL) {
		w->pnext->pprev = w->pprev;
	}
	w->pprev = w->pnext = NULL;
	w->listed = false;
	l->nparked--;
}

/* The wait was woken: off the list, and the connection goes on. */
static void resume_parked(net_wait_t *w, void *arg)
{
	net_listener_t *l = arg;
	pthread_mutex_lock(&l->mu);
	unlist(l, w);
	pthread_mutex_unlock(&l->mu);
	MHD_resume_connection(w->conn);
}

enum MHD_Result net_listener_park(net_listener_t *l, struct MHD_Connection *c,
				  net_wait_t *w)
{
	MHD_suspend_connection(c);
	w->conn = c;
	pthread_mutex_lock(&l->mu);
	w->pprev = NULL;
	w->pnext = l->parked;
	if (l->parked != NULL) {
		l->parked->pprev = w;
	}
	l->parked = w;
	w->listed = true;
	l->nparked++;
	pthread_mutex_unlock(&l->mu);
	if (!net_wait_park(w, resume_parked, l)) {
		resume_parked(w, l); /* the call ended first */
	}
	return MHD_YES;
}

unsigned net_listener_parked(net_listener_t *l)
{
	pthread_mutex_lock(&l->mu);
	unsigned n = l->nparked;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/*
 * Stopping with requests still parked: each gets KMS_ECANCELED without its
 * call (MHD must not stop with a suspended connection).  Under the lock, so
 * that a wait woken meanwhile stays listed (its waker blocks in
 * resume_parked()) until we are done with it.
 */
static unsigned resume_all(net_listener_t *l)
{
	unsigned n = 0;
	pthread_mutex_lock(&l->mu);
	net_wait_t *w = l->parked;
	while (w != NULL) {
		net_wait_t *next = w->pnext;
		int from = net_wait_force(w, KMS_ECANCELED);
		if (from == NET_WAIT_PARKED) {
			unlist(l, w);
			MHD_resume_connection(w->conn);
			n++;
		} else if (from == NET_WAIT_ARMED) {
			unlist(l, w); /* its park fails: the handler resumes it */
			n++;
		}
		w = next;
	}
	pthread_mutex_unlock(&l->mu);
	return n;
}

void net_listener_stop(net_listener_t *l, unsigned timeout_ms)
{
	if (l == NULL) {
		return;
	}
	net_listener_quiesce(l);
	unsigned left = net_listener_drain(l, timeout_ms);
	if (net_listener_parked(l) > 0) {
		unsigned forced = resume_all(l);
		log_msg(LOG_WARNING, l->tag,
			"stopping: %u request(s) waiting for an outbound call resumed "
			"(cancelled)",
			forced);
		left = net_listener_drain(l, timeout_ms < FORCED_DRAIN_MAX_MS
						 ? timeout_ms
						 : FORCED_DRAIN_MAX_MS);
	}
	if (left > 0) {
		log_msg(LOG_WARNING, l->tag,
			"stopping with %u request(s) still in progress", left);
	}
	reaper_stop(l);
	MHD_stop_daemon(l->mhd);
	net_conntrack_log_totals(l->ct);
	listener_free(l);
}
