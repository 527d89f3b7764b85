/*
 * Audit log: the outcome of Ua/Zk requests in SQLite (table audit), written
 * by a background thread in batches.  Never holds key material.
 *
 * Two kinds of rows:
 *   - audit_log(): one row per authenticated outcome (granted, or refused
 *     after the requester's MAC verified);
 *   - audit_sample(): refusals of unauthenticated requests (bad framing,
 *     malformed messages, wrong MACs, replays, unknown keys) are counted per
 *     client address and error code and written as one row per pair and
 *     sampling interval (count = how many; rid, requester, reason of the
 *     first), so that a flood of garbage cannot fill the disk.  At most
 *     AUDIT_SAMPLE_MAX pairs per interval, plus one row (client "*") for the
 *     rest.
 *
 * When a row cannot be queued (queue full) or written (the last write
 * failed: disk full, I/O error, ...) the store is failing.  With refuse
 * (the default) audit_log() says so and the caller answers 503, the writer
 * keeps retrying the rows it holds and audit_ready() is false until a write
 * succeeds again; with serve the caller answers anyway and the failure is
 * only counted.  With durable, audit_log() returns only after the row is
 * committed (synchronous=FULL, group commit), or refuses (write failed,
 * durable_timeout_ms passed).  Each change of state is logged once.
 */
#ifndef KMS_KMS_AUDIT_H
#define KMS_KMS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_RID_MAX 32
#define AUDIT_ID_MAX 256
#define AUDIT_ADDR_MAX 47     /* an IPv6 address as text (INET6_ADDRSTRLEN - 1) */
#define AUDIT_RESP_MAX 255    /* the responders column, bytes */
#define AUDIT_PEER_MAX 255    /* a peer KMS's kms_id (ZK_KMS_ID_MAX) */
#define AUDIT_SAMPLE_MAX 1024 /* (client, error) pairs kept per interval */
#define AUDIT_QUEUE_MAX (1u << 24)

typedef struct {
	int64_t time_ms;	     /* Unix time in milliseconds */
	char rid[AUDIT_RID_MAX + 1]; /* request id */
	/* identity claimed in the request ("" if none) */
	char requester[AUDIT_ID_MAX + 1];
	char client[AUDIT_ADDR_MAX + 1]; /* client IP address ("" if unknown) */
	uint8_t msg_type;		 /* MIKEY data type (0 if unparsed) */
	/* its name (mikey_dt_name(), static storage), or NULL if unparsed */
	const char *msg_type_name;
	/* the ticket policy's IDRr list, comma-separated ("" if none) */
	char responders[AUDIT_RESP_MAX + 1];
	/* the peer KMS of a federated resolve ("" if none) */
	char peer_kms[AUDIT_PEER_MAX + 1];
	int decision;		/* 1 granted, 0 refused */
	int error;		/* KMS_E* code (KMS_EOK when granted) */
	uint32_t ticket_key_id; /* keyring id sealing/opening the ticket, 0 if none */
	/* Why it was refused or narrowed: a string with static storage
	 * (never an identity or key material), or NULL. */
	const char *reason;
} audit_rec_t;

typedef struct {
	size_t queue_max;	     /* records buffered, 1..AUDIT_QUEUE_MAX */
	bool refuse;		     /* on failure refuse (true) or serve */
	bool durable;		     /* audit_log() waits for the commit */
	uint32_t durable_timeout_ms; /* the longest such wait */
	uint64_t max_size;	     /* bytes of the store (max_page_count); 0 none */
	uint32_t sample_ms;	     /* the sampling interval of audit_sample() */
	const char *node;	     /* the node column of the rows (NULL: "") */
} audit_opts_t;

typedef struct {
	uint64_t written;  /* rows committed (a sampled row counts once) */
	uint64_t dropped;  /* records not queued: queue full */
	uint64_t refused;  /* requests the caller was told to refuse */
	uint64_t sampled;  /* refusals counted by audit_sample() */
	uint64_t failures; /* write attempts that failed */
	uint64_t lost;	   /* records given up at close (store still failing) */
	uint64_t late;	   /* rows committed after their waiter gave up */
} audit_stats_t;

typedef struct audit audit_t;

/* The defaults: queue 65536, refuse, not durable, 2000 ms, no size cap, 10 s. */
void audit_opts_default(audit_opts_t *o);

/* Open (creating or migrating the table) and start the writer. */
int audit_open(const char *db_path, const audit_opts_t *o, audit_t **out);

/*
 * Queue a copy of rec as its own row.  KMS_EOK: the caller answers as it
 * decided (durable: the row is committed).  KMS_EAUDIT (refuse only): the
 * row could not be queued or written; the caller answers 503 (the refusal
 * is counted in a sampled row instead).  Never blocks on disk unless
 * durable.  NULL audit: KMS_EOK.
 */
int audit_log(audit_t *a, const audit_rec_t *rec);

/* Count rec (an unauthenticated refusal) in the sampled row of its
 * (client, error) pair.  Never blocks, never fails.  NULL audit: no-op. */
void audit_sample(audit_t *a, const audit_rec_t *rec);

/* True when audit_log() would refuse right now (refuse mode, store failing
 * or queue full): a request can be refused before any work.  Lock-free. */
bool audit_refusing(const audit_t *a);

/* False (refuse mode only) while the store is failing or the queue is full;
 * the reason then goes to why (cap bytes).  NULL audit: true. */
bool audit_ready(audit_t *a, char *why, size_t cap);

/* Records waiting in the queue (not yet taken by the writer). */
size_t audit_queued(audit_t *a);

/*
 * Wake the writer and return once it has looked at the queue, the flush
 * interval, the retry time and the sampling interval (kms_clock_now_ms(),
 * common/clock.h) and written what was due.  A test on the fake clock moves
 * the clock, ticks, and knows what was due; kmsd never needs it.  NULL is a
 * no-op.
 */
void audit_tick(audit_t *a);

/* The counters so far. */
void audit_stats(audit_t *a, audit_stats_t *s);
/* Records dropped because the queue was full. */
uint64_t audit_dropped(const audit_t *a);

/* Change the size cap (bytes, 0 none); the writer applies it before its
 * next write.  Tests make the store full and free again with it. */
void audit_max_size_set(audit_t *a, uint64_t bytes);

/* Flush everything queued (one last attempt when failing), stop the
 * writer, close. NULL is a no-op. */
void audit_close(audit_t *a);

#endif
