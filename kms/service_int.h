/*
 * Inside the KMS service (kms/service.c and its steps; not for other
 * modules): the state of one request and the steps that share it.
 *
 *   service.c          entry point, the per-thread context, shared builders
 *   service_auth.c     parse checks, key lookup, MAC, identity (RFC 3830 5.3)
 *   service_issue.c    the granted policy and the ticket (RFC 6043 5.2)
 *   service_resolve.c  who the ticket names, Vr, forking (RFC 6043 5.3)
 *   service_zk.c       a peer's ticket resolved over Zk (docs/federation.md)
 *   service_zkwait.c   that forward parked on the outbound thread
 *   service_error.c    Error messages (RFC 6043 5.4), the audit row, the log
 */
#ifndef KMS_KMS_SERVICE_INT_H
#define KMS_KMS_SERVICE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kms/service.h"
#include "kms/ticket.h"
#include "mikey/msg.h"
#include "mikey/prf.h"
#include "policy/identity.h"

#define RANDRKMS_LEN 32 /* >= the longest MPKr / TGK (RFC 6043 12.1) */
#define KEMAC_MAX 1024
#define HOP_RAND_LEN 32 /* RANDRr of a forwarded RESOLVE_INIT */

/* A forward parked on the outbound thread, kept with the request
 * (service_zkwait.c). */
typedef struct svc_zk_pend svc_zk_pend_t;

/*
 * Everything one request holds: one per worker thread (service.c makes it
 * on the thread's first request and frees it at thread exit).  The fields
 * before `in` are reset per request; the message structs are reset by
 * decode/init; the buffers are written before they are read.  Every secret
 * (psk, keybuf, scratch, prf_cache) is wiped at the end of every request in
 * one place, req_end() in service.c.
 */
typedef struct {
	const kms_service_t *svc;
	const char *rid;
	const char *client; /* the client's IP address as text, or NULL */
	kms_reqtype_t type;
	int64_t now;
	bool have_psk;
	bool authenticated; /* the V MAC verified: Error messages get a MAC */
	uint8_t auth_alg;
	size_t key_len; /* session key length of the suite: 16 or 32 */
	mikey_bytes_t requester;
	mikey_bytes_t randri, randrr;
	uint32_t ticket_key_id;
	int64_t rule_id;       /* the policy rule that decided a refusal, or -1 */
	size_t plain_used;     /* bytes of scratch.plain that may hold keys */
	const zk_peer_t *via;  /* the peer KMS a Zk request came from */
	const char *zk_to;     /* the peer KMS a resolve was forwarded to */
	int peer_errno;	       /* its MIKEY error number when it refused, or -1 */
	const char *reason;    /* why refused or narrowed (static text), or NULL */
	mikey_bytes_t matched; /* the requester's identity that matched the ticket */
	uint32_t retry_after;  /* KMS_ERATE: seconds until the next token */
	net_wait_t *wait;      /* the front end can park the request, or NULL */
	svc_zk_pend_t *zkp;    /* the forward this request was parked for */
	/* -- not reset -- */
	/* Every PRF of the request runs through it: the PSK is keyed once for
	 * its four PRFs (mikey/prf.h). */
	mikey_prf_cache_t prf_cache;
	mikey_msg_t in;
	mikey_msg_t out;
	kms_psk_t psk;
	char who[IDENTITY_MAX + 1];		    /* requester's KMS user identity */
	char ids[MIKEY_IDRR_MAX][IDENTITY_MAX + 1]; /* normalised responders */
	char idri[IDENTITY_MAX + 1];		    /* normalised IDRi of a TP */
	uint8_t keybuf[3][MIKEY_KEY_MAX];
	uint8_t randrkms[RANDRKMS_LEN];
	uint8_t kemac[KEMAC_MAX];
	uint8_t ticket_data[MIKEY_TICKET_DATA_MAX];
	kms_ticket_scratch_t scratch; /* ticket keys and plaintext */
	/* Forwarding over Zk: our RESOLVE_INIT to the issuing KMS and its answer. */
	uint8_t hop_rand[HOP_RAND_LEN];
	uint8_t hop_req[MIKEY_MSG_MAX];
	uint8_t hop_resp[MIKEY_MSG_MAX];
	mikey_msg_t hop;
} req_t;

/* --- shared builders (service.c) --- */

/* The exchange's auth_key in direction dir (RFC 6043 5.1.2). */
int svc_auth_key(req_t *r, uint8_t dir, uint8_t *key, size_t key_len);
/* The algorithm set of a PRF (RFC 6043 12.1): r->key_len and *encr_alg. */
int svc_suite(req_t *r, uint8_t prf, uint8_t *encr_alg);
/* Start r->out as a response: HDR copied, fresh T (its value in *t64), IDRkms. */
int svc_begin_response(req_t *r, uint8_t dt, uint64_t *t64);
/* A KEMAC of keys under the requester's key, response direction. */
int svc_add_kemac(req_t *r, uint8_t encr_alg, uint64_t t64, const mikey_keys_t *keys);
/* Encode r->out into buf and MAC it over RESP || the complete INIT (5.5). */
int svc_finish(req_t *r, uint8_t *buf, size_t cap, size_t *len);
/* A RESOLVE_RESP with keys and, when randrkms is not NULL, the forking
 * modifier: IDRr = r->matched (ID Type NAI) and RANDRkms. */
int svc_resolve_resp(req_t *r, uint8_t encr_alg, const mikey_keys_t *keys,
		     const uint8_t *randrkms, size_t randrkms_len, uint8_t *buf,
		     size_t cap, size_t *len);

/* --- the steps --- */

int svc_authenticate(req_t *r);
int svc_ticket_request(req_t *r, uint8_t *buf, size_t cap, size_t *len);
int svc_ticket_resolve(req_t *r, uint8_t *buf, size_t cap, size_t *len);
/* Which of the requester's identities the ticket names (r->matched); with
 * check_policy the rules must still allow the Initiator to reach it. */
int svc_match_responder(req_t *r, const mikey_tp_t *tp, bool check_policy);
/* The ticket's IDRi as a KMS user identity in r->idri: its length, or 0. */
size_t svc_ticket_idri(req_t *r, const mikey_tp_t *tp);
int svc_forward(req_t *r, uint8_t *buf, size_t cap, size_t *len);
/* resolve.once (kms/resolve_once_svc.c): record a J = 0 ticket for
 * r->matched until not_after; KMS_EREUSED when it was resolved before. */
int svc_resolve_once(req_t *r, int64_t not_after);

/* --- forwarding without holding the thread (service_zkwait.c) --- */

/* What the issuing KMS answered a parked forward. */
typedef struct {
	int ret; /* as zk_client_post returns it */
	long status;
	const char *why;
	size_t req_len, resp_len;
} svc_zk_answer_t;

/* A request entering: the forward it was parked for (r->zkp), with the
 * outcome it was woken with. */
void svc_zk_resume(req_t *r);
/* The message is the one r->zkp forwarded: its replay check and rate
 * charge were made then.  false (and r->zkp dropped) for another. */
bool svc_zk_rerun(req_t *r, const mikey_v_t *v);
/* Post r->hop_req (req_len bytes) to peer on the outbound thread and park
 * the request: KMS_EINPROGRESS; KMS_ENOTSUP: post it on this thread; or
 * the refusal (KMS_EZK_DOWN, KMS_EUNAVAIL at the bound...). */
int svc_zk_park(req_t *r, const zk_peer_t *peer, size_t req_len);
/* r->zkp's hop and answer into r (hop_rand, hop_req, hop_resp): KMS_EOK
 * and *out, or the request's failure (cancelled, another peer now). */
int svc_zk_answer(req_t *r, const zk_peer_t *peer, svc_zk_answer_t *out);
size_t svc_error_message(req_t *r, int code, const uint8_t *in, size_t in_len,
			 uint8_t *buf, size_t cap);
/* The audit row (its own, or counted in a sampled row) and the log line;
 * KMS_EOK, or KMS_EAUDIT when the audit log refused the row and the
 * answer must be a 503 instead. */
int svc_audit_and_log(req_t *r, int code);

#endif
