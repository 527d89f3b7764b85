/*
 * The HTTP listener skeleton of kmsd (Ua, Zk) and bsf-stubd (Ub/Zn, Zn over
 * TLS) on libmicrohttpd: what every listener of this tree does the same way,
 * so that the daemons keep only their routing, replies and audit.
 *
 *   - binds an IPv4 or IPv6 literal and a port (net_bind_addr);
 *   - runs MHD with an internal polling thread (or a pool of them) on epoll,
 *     with caps on connections (total and per address), connection memory
 *     (headers) and idle time, strict parsing, and its messages sent to the
 *     log (never to stderr, and rate limited);
 *   - keeps slow and idle clients from holding it (net/conntrack.h): a
 *     deadline for the whole request from its request line, an idle
 *     deadline that bytes do not reset, the connection idle for longest
 *     closed to make room when the table is full, and caps on connections
 *     still sending their request (total and per address); a reaper thread
 *     applies the deadlines every NET_REAP_MS;
 *   - TLS: reads the certificate, key and trust PEM files through
 *     common/secret_file.h (capped, buffers wiped); the certificate and
 *     key are served from a certificate callback (net/tls.h), so
 *     net_listener_tls_reload() replaces them without a restart and
 *     without dropping a connection; with a trust set MHD asks the client
 *     for a certificate, which the daemon's handler then checks;
 *   - counts requests in flight, so that net_listener_stop() can stop
 *     accepting, wait (bounded) for the requests in progress and only then
 *     stop MHD;
 *   - parks requests that wait for an outbound call (suspend/resume, see
 *     net_listener_park), and resumes any left before it stops;
 *   - small helpers every handler needs: the declared Content-Length, a
 *     capped request body, the words for how a request ended.
 *
 * A request is in flight from the call of the access callback that sets its
 * *con_cls until the completed callback is called for it; the daemon's
 * callbacks are called with the cls given to net_listener_start().
 * Depends on common/ and libmicrohttpd only.
 */
#ifndef KMS_NET_LISTENER_H
#define KMS_NET_LISTENER_H

#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/conntrack.h"
#include "net/frame.h"
#include "net/tls.h"
#include "net/wait.h"

/* "[<IPv6>]:65535" with room to spare. */
#define NET_ADDR_STR_MAX 64

/* Caps net_listener_start() takes (KMS_EINVAL past them). */
#define NET_MAX_CONNS 65536
#define NET_TIMEOUT_MAX 86400 /* s: conn_timeout, request_timeout */

/* How often the reaper closes what is past a deadline (ms, real time). */
#define NET_REAP_MS 250

typedef struct {
	const char *listen;	     /* an IPv4 or IPv6 literal */
	uint16_t port;		     /* 0: any free port (net_listener_port()) */
	unsigned threads;	     /* > 1: a pool of that many; else one thread */
	unsigned max_conns;	     /* connections at once */
	unsigned max_conns_per_ip;   /* 0: no limit */
	unsigned conn_timeout;	     /* s a connection may stay idle */
	unsigned request_timeout;    /* s from request line to whole request; 0: none */
	unsigned max_sending;	     /* connections sending a request; 0: no cap */
	unsigned max_sending_per_ip; /* the same from one address; 0: no cap */
	size_t conn_memory;	     /* bytes per connection (request line, headers) */
	/* TLS: all three NULL for plain HTTP; cert and key both or neither. */
	const char *tls_cert;	    /* PEM certificate (chain) */
	const char *tls_key;	    /* PEM private key */
	const char *tls_trust;	    /* PEM CAs: NULL, or ask for a client certificate */
	size_t tls_file_max;	    /* cap on each PEM file; 0: SECRET_FILE_MAX */
	unsigned tls_file_flags;    /* SECRET_FILE_* for reading the PEM files */
	const char *tls_priorities; /* GnuTLS priority string; NULL: MHD's */
	const char *tag;	    /* names the listener in logs ("Ua", "Zk") */
} net_listener_cfg_t;

/*
 * The daemon's MHD callbacks; connection may be NULL.  The socket context
 * connection gets is the daemon's own: read it back with
 * net_listener_conn_ctx() (MHD_CONNECTION_INFO_SOCKET_CONTEXT is the
 * listener's).  A request whose access handler never ran (closed during its
 * headers) still gets its completed call, with *con_cls NULL.
 */
typedef struct {
	MHD_AccessHandlerCallback request;
	MHD_RequestCompletedCallback completed;
	MHD_NotifyConnectionCallback connection;
} net_listener_cb_t;

typedef struct net_listener net_listener_t;

/*
 * listen:port as a socket address; *v6 tells which family.  KMS_ECONFIG
 * when listen is not an address literal (host names are not resolved).
 */
int net_bind_addr(const char *listen, uint16_t port, struct sockaddr_storage *ss,
		  bool *v6);

/*
 * Bind cfg->listen:port, read the TLS files if any and start serving with
 * the callbacks in cb (request and completed required), each called with
 * cls.  cfg's strings need not outlive the call.  Errors (logged, naming
 * the listener): KMS_EINVAL (bad arguments or address, max_conns 0 or over
 * NET_MAX_CONNS, a timeout over NET_TIMEOUT_MAX); a TLS file's
 * secret_file_read() error (KMS_ENOENT, KMS_EACCES, KMS_ELIMIT over the
 * cap, ...) or KMS_ECONFIG (an empty file, a key without a certificate,
 * a file that is not a certificate or key, a key that is not the
 * certificate's); KMS_EIO (MHD would not start: address in use, not
 * local, a bad trust file).
 */
int net_listener_start(const net_listener_cfg_t *cfg, const net_listener_cb_t *cb,
		       void *cls, net_listener_t **out);

/*
 * The connections MHD may hold for max_conns: max_conns and some room for
 * those closed but not yet gone (each needs a descriptor).
 */
unsigned net_listener_slots(unsigned max_conns);

/* The daemon's socket context of c (what its connection callback set);
 * NULL when it set none. */
void *net_listener_conn_ctx(struct MHD_Connection *c);

/* What the connection table holds and has closed (net/conntrack.h). */
void net_listener_stats(net_listener_t *l, net_conntrack_stats_t *out);

/* One pass of the reaper now, at kms_clock_now_ms() (tests on the fake
 * clock; the reaper thread runs it every NET_REAP_MS). */
void net_listener_reap(net_listener_t *l);

/*
 * Re-read the TLS certificate and key files (SIGHUP): connections accepted
 * from now on get the new ones; those open keep theirs.  KMS_EOK (also
 * without TLS); on error the current ones stay, the error names the file
 * and is counted (net_listener_tls_stats).
 */
int net_listener_tls_reload(net_listener_t *l);

/* The reload counters; false without TLS. */
bool net_listener_tls_stats(net_listener_t *l, net_tls_stats_t *out);

/* The port bound (the one picked when cfg->port was 0). */
uint16_t net_listener_port(const net_listener_t *l);

/* "127.0.0.1:8080" or "[::1]:8080", for logs. */
const char *net_listener_addr(const net_listener_t *l);

/* Requests in flight now. */
unsigned net_listener_inflight(const net_listener_t *l);

/* Stop accepting connections (idempotent); connections open stay served. */
void net_listener_quiesce(net_listener_t *l);

/*
 * Wait until no request is in flight, at most timeout_ms (on a condition
 * variable, woken by the last request to finish).  Returns the number
 * still in flight.
 */
unsigned net_listener_drain(net_listener_t *l, unsigned timeout_ms);

/*
 * Quiesce, drain up to timeout_ms (a warning names what is left), stop the
 * MHD threads, wipe the key and free l.  Requests still parked after the
 * drain are woken with KMS_ECANCELED (their registrars detached first) and
 * resumed, and get up to 2 s more to be answered: MHD never stops with a
 * suspended connection.  NULL is a no-op.
 */
void net_listener_stop(net_listener_t *l, unsigned timeout_ms);

/*
 * Park the request of c while it waits for an outbound call: w was armed
 * by the call's registrar (net/wait.h) when the handler got
 * KMS_EINPROGRESS.  Call from the access handler, then return what this
 * returns (MHD_YES).  The connection is suspended (MHD neither reads it
 * nor times it out) until w is woken; MHD then calls the access handler
 * again (upload size 0) and net_wait_take() gives the outcome.  If w was
 * woken before the park, the connection is resumed at once.
 */
enum MHD_Result net_listener_park(net_listener_t *l, struct MHD_Connection *c,
				  net_wait_t *w);

/* Requests parked now. */
unsigned net_listener_parked(net_listener_t *l);

/*
 * The request's Content-Length: KMS_EOK and *len; KMS_ENOENT when there is
 * none (chunked); KMS_EMALFORMED when it is not a decimal number of at most
 * NET_LENGTH_MAX (net_length_parse()).  *len is written only on success.
 */
int net_declared_length(struct MHD_Connection *c, uint64_t *len);

/* The headers or query arguments of a request as a net_kv_t list; the
 * pointers stay valid for the request.  Small lists live inside. */
#define NET_KV_INLINE 16
typedef struct {
	net_kv_t *kv;
	size_t n;
	net_kv_t inline_kv[NET_KV_INLINE];
} net_kv_list_t;

/* Collect the values of kind (MHD_HEADER_KIND, MHD_GET_ARGUMENT_KIND) in
 * the order received.  KMS_ENOMEM (l is empty then).  Bounded: MHD holds
 * only what fits in the connection memory. */
int net_kv_collect(struct MHD_Connection *c, enum MHD_ValueKind kind, net_kv_list_t *l);
void net_kv_list_free(net_kv_list_t *l);

/*
 * RFC 9112 section 6.3: the request's message framing is unambiguous.
 * KMS_EOK; else KMS_EHTTP_FRAME and *why (a constant, for the log) when
 * Content-Length appears more than once (equal values too: refused, not
 * merged) or together with Transfer-Encoding (net_framing_check_list()
 * on all the headers: MHD keeps them all but looks up the first only);
 * KMS_ENOMEM when they cannot be listed.  Call on the first call of the
 * access handler, before any body is read.
 */
int net_framing_check(struct MHD_Connection *c, const char **why);

/* A request body collected up to a cap, never beyond. */
typedef struct {
	uint8_t *buf;
	size_t len, cap;
} net_body_t;

/*
 * Get ready for the body of c, at most max bytes: the declared length when
 * there is one, else max.  KMS_EHTTP_FRAME (bad Content-Length),
 * KMS_EHTTP_SIZE (declared over max), KMS_ENOMEM; b is left empty then.
 */
int net_body_begin(net_body_t *b, struct MHD_Connection *c, size_t max);

/* Get ready for a body of at most cap bytes; KMS_ENOMEM (b empty then). */
int net_body_alloc(net_body_t *b, size_t cap);

/* Append n bytes; KMS_EHTTP_SIZE (nothing appended) past the cap. */
int net_body_append(net_body_t *b, const char *data, size_t n);

/* Release the buffer (not wiped: bodies are not secrets); b is empty. */
void net_body_free(net_body_t *b);

/* How a request ended, for its log line: "" when completed, else
 * " (timed out)", " (client closed)" or " (aborted)". */
const char *net_termination_str(enum MHD_RequestTerminationCode toe);

/* The MHD log callback (cls: the subject to log under, or NULL: "http"). */
void net_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
