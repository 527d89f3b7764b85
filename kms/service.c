/*
 * Ticket Request and Ticket Resolve (RFC 6043 sections 4-5) as the KMS
 * answers them.  Order of checks for an initial message (RFC 3830 5.3):
 * parse, timestamp window, key lookup, MAC (constant time), identity
 * authorisation, replay cache (authenticated messages only), the requester's
 * rate limit, then policy and the response.  Nothing is remembered for a message that fails a check.
 * The steps live in service_*.c (see kms/service_int.h); this file is the
 * entry point, the per-thread request context and the shared builders.
 */
#include "kms/service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/service_int.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/prf.h"
#include "mikey/tp.h"

static int64_t clock_default(void)
{
	return kms_clock_wall_s();
}

static _Atomic(int64_t (*)(void)) clock_fn = clock_default;

int64_t kms_service_now(void)
{
	return atomic_load(&clock_fn)();
}

void kms_service_clock_set(int64_t (*fn)(void))
{
	atomic_store(&clock_fn, fn != NULL ? fn : clock_default);
}

/* --- the per-thread request context ---------------------------------------- */

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static int ctx_key_ret;

/* Thread exit: nothing of a request outlives it (each request wiped its
 * secrets already; the whole context goes once more). */
static void ctx_free(void *p)
{
	if (p != NULL) {
		secmem_wipe(p, sizeof(req_t));
		free(p);
	}
}

static void ctx_key_make(void)
{
	ctx_key_ret = pthread_key_create(&ctx_key, ctx_free);
}

/* This thread's context, made on its first request; NULL without memory. */
static req_t *ctx_get(void)
{
	if (pthread_once(&ctx_once, ctx_key_make) != 0 || ctx_key_ret != 0) {
		return NULL;
	}
	req_t *r = pthread_getspecific(ctx_key);
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r != NULL && pthread_setspecific(ctx_key, r) != 0) {
			free(r);
			r = NULL;
		}
	}
	return r;
}

static void req_begin(req_t *r, const kms_service_t *svc, const zk_peer_t *via,
		      kms_reqtype_t type, const char *rid, const char *client)
{
	memset(r, 0, offsetof(req_t, in));
	r->svc = svc;
	r->rid = rid;
	r->client = client;
	r->type = type;
	r->via = via;
	r->rule_id = -1;
	r->peer_errno = -1;
	r->now = kms_service_now();
	r->scratch.prf_cache = &r->prf_cache; /* wiped below, with the rest */
}

/* The one place where a request's secrets are wiped. */
static void req_end(req_t *r)
{
	if (r->have_psk) {
		kms_psk_wipe(&r->psk);
	}
	secmem_wipe(r->keybuf, sizeof(r->keybuf));
	secmem_wipe(r->randrkms, sizeof(r->randrkms));
	secmem_wipe(&r->scratch, offsetof(kms_ticket_scratch_t, plain));
	secmem_wipe(r->scratch.plain, r->plain_used);
	mikey_prf_cache_wipe(&r->prf_cache);
	crypto_thread_wipe(); /* the thread's cipher contexts (common/crypto.h) */
}

/* --- shared builders ---------------------------------------------------------- */

int svc_auth_key(req_t *r, uint8_t dir, uint8_t *key, size_t key_len)
{
	bool request = r->type == KMS_REQ_TICKET;
	return mikey_kdf_msg_key(&r->prf_cache, r->in.hdr.prf, r->psk.key, r->psk.key_len,
				 MIKEY_DK_AUTH, r->in.hdr.csb_id, dir,
				 request ? &r->randri : NULL, request ? NULL : &r->randrr,
				 key, key_len);
}

int svc_suite(req_t *r, uint8_t prf, uint8_t *encr_alg)
{
	r->key_len = prf == MIKEY_PRF_HMAC_SHA256 ? 32 : 16;
	*encr_alg =
	    prf == MIKEY_PRF_HMAC_SHA256 ? MIKEY_ENCR_AES_CM_256 : MIKEY_ENCR_AES_CM_128;
	return mikey_alg_check(prf, *encr_alg, r->auth_alg, r->key_len);
}

int svc_begin_response(req_t *r, uint8_t dt, uint64_t *t64)
{
	*t64 = mikey_ntp_from_unix(r->now, 0);
	mikey_msg_init(&r->out, dt, r->in.hdr.csb_id, r->in.hdr.prf);
	mikey_msg_add_ts(&r->out, 0, MIKEY_TS_NTP_UTC, *t64);
	return mikey_msg_add_id(&r->out, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
				(const uint8_t *)r->svc->cfg->kms_id,
				strlen(r->svc->cfg->kms_id));
}

int svc_add_kemac(req_t *r, uint8_t encr_alg, uint64_t t64, const mikey_keys_t *keys)
{
	size_t len = 0;
	bool request = r->type == KMS_REQ_TICKET;
	int ret = mikey_kemac_seal(
	    &r->prf_cache, r->in.hdr.prf, encr_alg, r->psk.key, r->psk.key_len,
	    r->in.hdr.csb_id, MIKEY_DIR_RESP, request ? &r->randri : NULL,
	    request ? NULL : &r->randrr, t64, keys, r->kemac, sizeof(r->kemac), &len);
	if (ret != KMS_EOK) {
		return ret;
	}
	mikey_kemac_t k = { encr_alg, { r->kemac, len }, MIKEY_MAC_NULL, { NULL, 0 } };
	return mikey_msg_add_kemac(&r->out, &k);
}

int svc_finish(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(r->auth_alg);
	mikey_msg_add_v(&r->out, r->auth_alg);
	int ret = mikey_msg_build(&r->out, buf, cap, len); /* the first add error */
	if (ret == KMS_EOK) {
		ret = svc_auth_key(r, MIKEY_DIR_RESP, key, klen);
	}
	mikey_bytes_t init = { r->in.buf, r->in.len };
	if (ret == KMS_EOK) {
		ret = mikey_mac_sign_last(buf, *len, r->auth_alg, key, klen, &init, 1);
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

int svc_resolve_resp(req_t *r, uint8_t encr_alg, const mikey_keys_t *keys,
		     const uint8_t *randrkms, size_t randrkms_len, uint8_t *buf,
		     size_t cap, size_t *len)
{
	uint64_t t64;
	int ret = svc_begin_response(r, MIKEY_DT_RESOLVE_RESP, &t64);
	if (ret == KMS_EOK) {
		ret = svc_add_kemac(r, encr_alg, t64, keys);
	}
	/* The forking modifier: the identity that matched, as a KMS user
	 * identity (ID Type NAI); the Responder copies it into TRANSFER_RESP. */
	if (ret == KMS_EOK && randrkms != NULL) {
		mikey_msg_add_id(&r->out, MIKEY_ROLE_R, MIKEY_ID_NAI, r->matched.data,
				 r->matched.len);
		mikey_msg_add_rand(&r->out, MIKEY_RAND_KMS, randrkms, randrkms_len);
	}
	return ret == KMS_EOK ? svc_finish(r, buf, cap, len) : ret;
}

/* --- entry point ------------------------------------------------------------ */

static void handle(const kms_service_t *svc, const zk_peer_t *via, kms_reqtype_t type,
		   const char *rid, const char *client, const uint8_t *in, size_t len,
		   uint8_t *out, size_t cap, kms_answer_t *ans, net_wait_t *wait)
{
	req_t *r = ctx_get();
	ans->len = 0;
	ans->retry_after = 0;
	ans->authenticated = false;
	ans->reason = NULL;
	if (r == NULL) {
		log_req_error(rid, "no memory for a request context");
		ans->error = KMS_ENOMEM;
		ans->http_status = kms_err_http(KMS_ENOMEM);
		return;
	}
	req_begin(r, svc, via, type, rid, client);
	r->wait = wait;
	svc_zk_resume(r); /* a forward it was parked for: its answer */
	size_t out_len = 0;
	/* The audit log refuses rows now: no work for an answer it would
	 * refuse anyway (and no replay-cache entry for a request the UE will
	 * have to send again). */
	int ret;
	if (audit_refusing(svc->audit)) {
		memset(&r->in.hdr, 0, sizeof(r->in.hdr)); /* unparsed: type 0 */
		ret = KMS_EAUDIT;
	} else {
		ret = mikey_msg_parse(in, len, &r->in);
		if (len == 0) {
			r->reason = "empty body";
		}
	}
	if (ret == KMS_EOK) {
		ret = svc_authenticate(r);
	}
	if (ret == KMS_EOK) {
		ret = type == KMS_REQ_TICKET ? svc_ticket_request(r, out, cap, &out_len)
					     : svc_ticket_resolve(r, out, cap, &out_len);
	}
	if (ret == KMS_EINPROGRESS) {
		/* Parked: no answer, no audit row yet; it runs again once woken. */
		ans->error = ret;
		ans->http_status = kms_err_http(ret);
		req_end(r);
		return;
	}
	if (ret != KMS_EOK) {
		out_len = svc_error_message(r, ret, in, len, out, cap);
	}
	int refused = svc_audit_and_log(r, ret);
	if (refused != KMS_EOK) {
		/* The decision stands in no row: the answer is a 503. */
		ret = refused;
		out_len = svc_error_message(r, ret, in, len, out, cap);
	}
	ans->error = ret;
	ans->http_status = kms_err_http(ret);
	ans->len = out_len;
	ans->retry_after = r->retry_after;
	ans->authenticated = r->authenticated;
	ans->reason = r->reason;
	req_end(r);
}

void kms_service_handle(const kms_service_t *svc, kms_reqtype_t type, const char *rid,
			const char *client, const uint8_t *in, size_t len, uint8_t *out,
			size_t cap, kms_answer_t *ans)
{
	handle(svc, NULL, type, rid, client, in, len, out, cap, ans, NULL);
}

void kms_service_handle_wait(const kms_service_t *svc, kms_reqtype_t type,
			     const char *rid, const char *client, const uint8_t *in,
			     size_t len, uint8_t *out, size_t cap, kms_answer_t *ans,
			     net_wait_t *w)
{
	handle(svc, NULL, type, rid, client, in, len, out, cap, ans, w);
}

void kms_service_handle_zk(const kms_service_t *svc, const zk_peer_t *peer,
			   const char *rid, const char *client, const uint8_t *in,
			   size_t len, uint8_t *out, size_t cap, kms_answer_t *ans)
{
	handle(svc, peer, KMS_REQ_RESOLVE, rid, client, in, len, out, cap, ans, NULL);
}
