/*
 * Audit log: one row per Ua/Zk request outcome in SQLite (table audit),
 * written by a background thread in batches so a slow disk never stalls a
 * request.  Never holds key material.  The queue is bounded; when full,
 * records are counted as dropped (and the count is logged and reported).
 */
#ifndef KMS_KMS_AUDIT_H
#define KMS_KMS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_RID_MAX 32
#define AUDIT_ID_MAX 256

typedef struct {
	int64_t time_ms;	     /* Unix time in milliseconds */
	char rid[AUDIT_RID_MAX + 1]; /* request id */
	char requester[AUDIT_ID_MAX +
		       1];	/* identity claimed in the request ("" if none) */
	uint8_t msg_type;	/* MIKEY data type of the request (0 if unparsed) */
	int decision;		/* 1 granted, 0 refused */
	int error;		/* KMS_E* code (KMS_EOK when granted) */
	uint32_t ticket_key_id; /* keyring id sealing/opening the ticket, 0 if none */
	/* Why it was refused or narrowed: a string with static storage
	 * (never an identity or key material), or NULL. */
	const char *reason;
} audit_rec_t;

typedef struct audit audit_t;

/* Open (creating the table) and start the writer; queue_max records buffered. */
int audit_open(const char *db_path, size_t queue_max, audit_t **out);
/* Enqueue a copy of rec; never blocks on disk. NULL audit is a no-op. */
void audit_log(audit_t *a, const audit_rec_t *rec);
/* Records waiting in the queue (not yet taken by the writer). */
size_t audit_queued(audit_t *a);
/*
 * Wake the writer and return once it has looked at the queue and the
 * flush interval (kms_clock_now_ms(), common/clock.h) and written what was
 * due.  A test on the fake clock moves the clock, ticks, and knows whether
 * the interval has passed; kmsd never needs it (the writer looks by itself
 * at least every flush interval).  NULL is a no-op.
 */
void audit_tick(audit_t *a);
/* Records dropped because the queue was full. */
uint64_t audit_dropped(const audit_t *a);
/* Flush everything queued, stop the writer, close. NULL is a no-op. */
void audit_close(audit_t *a);

#endif
