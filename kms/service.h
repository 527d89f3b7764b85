/*
 * The KMS's protocol service: REQUEST_INIT_PSK -> REQUEST_RESP and
 * RESOLVE_INIT_PSK -> RESOLVE_RESP (RFC 6043 sections 4-5, TS 33.328 6.2.3).
 * No HTTP here: the front end hands over the body and gets back a body
 * (a response, or a MIKEY Error message) and the HTTP status for it.
 */
#ifndef KMS_KMS_SERVICE_H
#define KMS_KMS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ratelimit.h"
#include "kms/audit.h"
#include "kms/config.h"
#include "kms/keyring.h"
#include "kms/tpk.h"
#include "kms/psk.h"
#include "kms/replay.h"
#include "kms/replay_shared.h"
#include "kms/resolve_once.h"
#include "policy/rules.h"
#include "zk/client.h"
#include "zk/peer.h"

typedef enum {
	KMS_REQ_TICKET = 0,  /* requesttype=ticketrequest */
	KMS_REQ_RESOLVE = 1, /* requesttype=ticketresolve */
} kms_reqtype_t;

typedef struct {
	const kms_config_t *cfg; /* kms_id, clock_skew, lifetimes, allow_reuse */
	const keyring_t *keyring;
	kms_psk_source_t *psk;
	replay_t *replay;
	audit_t *audit;			/* may be NULL */
	const policy_set_t *policy;	/* NULL: allow all, reuse per cfg */
	const zk_peers_t *peers;	/* Zk peer KMSs; NULL: no federation */
	zk_client_t *zk;		/* forwards resolves to them; NULL: none */
	ratelimit_t *id_rate;		/* ua.rate_per_identity; NULL: no limit */
	replay_shared_t *replay_shared; /* replay.shared; NULL: node-local only */
	const tpk_set_t *tpks; /* Initiators' ticket protection keys; NULL: none */
	resolve_once_t *once;  /* resolve.once; NULL: off */
} kms_service_t;

typedef struct {
	int http_status;      /* 200 for a response, else from kms_err_http() */
	int error;	      /* KMS_EOK or the failure */
	size_t len;	      /* bytes written to out (response or Error message) */
	uint32_t retry_after; /* 429 (KMS_ERATE): seconds for Retry-After */
	bool authenticated;   /* the requester's MAC verified (error detail) */
	const char *reason;   /* why refused (static text), or NULL */
} kms_answer_t;

/*
 * Handle one request body.  Always fills *ans; out receives either the
 * MIKEY response or a MIKEY Error message (MACed when the auth key is
 * known), or nothing (len 0) when even that cannot be built.  rid names the
 * request in logs and audit; client is the client's IP address as text
 * (the audit row's client; NULL: unknown).  When the audit log refuses the
 * row (audit.on_failure = refuse) the answer is a 503 Error message
 * (KMS_EAUDIT) whatever was decided; with audit.durable the call returns
 * only once the row is committed.  Thread safe.
 */
void kms_service_handle(const kms_service_t *svc, kms_reqtype_t type, const char *rid,
			const char *client, const uint8_t *in, size_t len, uint8_t *out,
			size_t cap, kms_answer_t *ans);

/*
 * The same for a front end that can park the request (net/wait.h): when
 * the key needs a call to another server (a Zn miss), nothing is answered
 * or audited yet: ans->error is KMS_EINPROGRESS (len 0) and w is armed.
 * The caller parks the request (net_listener_park) and, once w is woken,
 * calls again with the same body and w: the request then runs from the
 * start and gets the key, or the call's failure.
 */
void kms_service_handle_wait(const kms_service_t *svc, kms_reqtype_t type,
			     const char *rid, const char *client, const uint8_t *in,
			     size_t len, uint8_t *out, size_t cap, kms_answer_t *ans,
			     net_wait_t *w);

/*
 * The same for a RESOLVE_INIT that peer (a KMS authenticated by its TLS
 * client certificate on Zk) forwarded: authenticated with the per-peer
 * key, for the responder identity the peer vouches for; never forwarded
 * again (docs/federation.md).
 */
void kms_service_handle_zk(const kms_service_t *svc, const zk_peer_t *peer,
			   const char *rid, const char *client, const uint8_t *in,
			   size_t len, uint8_t *out, size_t cap, kms_answer_t *ans);

/* Current time (Unix seconds); tests override it with kms_service_clock_set. */
int64_t kms_service_now(void);
void kms_service_clock_set(int64_t (*clock_fn)(void));

#endif
