/*
 * The connection table of an HTTP listener (net/listener.h): what each
 * connection is doing, so that slow and idle clients cannot hold the
 * listener.  libmicrohttpd 0.9.75 has only an idle timer, which every byte
 * a client sends resets: a client that sends one header line every few
 * seconds keeps its connection for ever.  This table keeps its own clock
 * per connection and closes what is over its deadline.
 *
 * A connection is in one state at a time:
 *   IDLE      no request in progress: since accept, or since its last
 *             request completed (a request line still arriving is here too:
 *             MHD reports nothing before the request line is complete);
 *   SENDING   its request line is in and the rest of the request (headers,
 *             body) is still arriving;
 *   RECEIVED  the whole request is in: the daemon is working on it, or the
 *             answer is being sent, or MHD holds it suspended;
 *   DOOMED    closed by us (shutdown(2)); MHD has not closed it yet.
 * Deadlines (net_conntrack_reap()): SENDING for longer than request_ms,
 * IDLE for longer than idle_ms: the socket is shut down and MHD, seeing
 * the end of the stream, closes the connection.  RECEIVED is never timed
 * out here (a slow answer or a suspended lookup is the daemon's business).
 *
 * Caps: at most max_conns live connections (not DOOMED): when a new one
 * comes, the one idle for longest is closed to make room, and only when
 * none is idle is the new one refused; at most max_sending connections
 * SENDING at once, and max_sending_per_ip from one address: a request line
 * that would go over either is refused by closing its connection.
 *
 * The socket is shut down under the table's lock, and MHD tells us a
 * connection closed (net_conntrack_remove()) before it closes its socket,
 * so a descriptor we shut down is never one reused by another connection.
 * Thread safe (one mutex); nothing here allocates after _new().
 */
#ifndef KMS_NET_CONNTRACK_H
#define KMS_NET_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum {
	NET_CONN_FREE = 0,
	NET_CONN_IDLE,
	NET_CONN_SENDING,
	NET_CONN_RECEIVED,
	NET_CONN_DOOMED,
} net_conn_state_t;

/*
 * One connection.  The table owns the links and state (under its lock);
 * app and calls belong to the listener and are touched only by the thread
 * that serves the connection.
 */
typedef struct net_conn {
	struct net_conn *prev, *next;	/* idle or sending list; free list */
	struct net_conn *hnext, *hprev; /* per-address chain while SENDING */
	int64_t since;			/* ms: when it entered its state */
	int fd;
	net_conn_state_t state;
	bool late; /* DOOMED for a deadline (not for room or a cap) */
	uint32_t hash;
	uint8_t addr[16]; /* IPv4 (mapped into IPv6) or IPv6 */
	void *app;	  /* the daemon's socket context */
	void *tls;	  /* the listener's: TLS credentials this one holds */
	unsigned calls;	  /* access handler calls of the current request */
	bool in;	  /* the table was told the request is in */
} net_conn_t;

typedef struct {
	unsigned max_conns;	     /* live connections (>= 1) */
	unsigned slots;		     /* entries (>= max_conns): MHD's own limit */
	unsigned idle_ms;	     /* 0: no idle deadline */
	unsigned request_ms;	     /* 0: no request deadline */
	unsigned max_sending;	     /* 0: no cap */
	unsigned max_sending_per_ip; /* 0: no cap */
	const char *tag;	     /* for the log ("Ua") */
} net_conntrack_cfg_t;

typedef struct {
	unsigned conns; /* live: idle + sending + received */
	unsigned idle, sending, received, doomed;
	/* Since the start: */
	uint64_t closed_request;  /* SENDING past request_ms */
	uint64_t closed_idle;	  /* IDLE past idle_ms */
	uint64_t evicted;	  /* IDLE, closed to make room for a new one */
	uint64_t refused_full;	  /* new connections refused: none idle */
	uint64_t refused_sending; /* request lines over max_sending(_per_ip) */
} net_conntrack_stats_t;

typedef struct net_conntrack net_conntrack_t;

/* KMS_EINVAL (max_conns 0, slots < max_conns), KMS_ENOMEM. */
int net_conntrack_new(const net_conntrack_cfg_t *cfg, net_conntrack_t **out);

/* NULL is a no-op.  Every connection must have been removed. */
void net_conntrack_free(net_conntrack_t *t);

/*
 * A connection is about to be accepted: true to take it (the connection
 * idle for longest may have been closed to make room), false to refuse it.
 */
bool net_conntrack_admit(net_conntrack_t *t);

/* It was accepted on fd: an entry, IDLE from now; NULL when no slot is
 * free (the connection then runs untracked). */
net_conn_t *net_conntrack_add(net_conntrack_t *t, int fd, const struct sockaddr *addr);

/* MHD is closing it (before it closes the socket); c is free again. */
void net_conntrack_remove(net_conntrack_t *t, net_conn_t *c);

/* Its request line is in: SENDING; false (and the connection closed) when
 * that is over a sending cap or the connection was closed already. */
bool net_conntrack_request_begin(net_conntrack_t *t, net_conn_t *c);

/* The whole request is in: RECEIVED (exempt from the deadlines). */
void net_conntrack_request_received(net_conntrack_t *t, net_conn_t *c);

/* The request completed: IDLE from now. */
void net_conntrack_request_done(net_conntrack_t *t, net_conn_t *c);

/* Whether we closed it (its requests are then refused). */
bool net_conntrack_doomed(net_conntrack_t *t, const net_conn_t *c);

/* Whether we closed it for a deadline (the request timed out). */
bool net_conntrack_timed_out(net_conntrack_t *t, const net_conn_t *c);

/*
 * Close what is over a deadline at now_ms (kms_clock_now_ms()), and log
 * what was closed since the last such line: one line, at most every
 * NET_CONNTRACK_LOG_MS (never one line per connection).
 */
void net_conntrack_reap(net_conntrack_t *t, int64_t now_ms);

#define NET_CONNTRACK_LOG_MS 10000

/* The same counters since the start, one line (nothing when all are 0). */
void net_conntrack_log_totals(net_conntrack_t *t);

void net_conntrack_stats(net_conntrack_t *t, net_conntrack_stats_t *out);

#endif
