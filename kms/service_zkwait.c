/*
 * A resolve forwarded over Zk without holding a thread (docs/federation.md),
 * the design of the NAF's Zn lookups (kms/naf_async.c): the hop goes out on
 * the outbound-call thread (zk_client_post_async: the Zk client's pool,
 * retry policy, breaker, timeouts and metrics) and the request is parked.
 *
 * What the request needs to finish once the issuing KMS answered - our hop
 * as sent (its RANDRr: the answer's MAC and KEMAC keys derive from it), the
 * answer's bytes and status, the UE message's MAC - lives in a pend, kept
 * with the parked request (net_wait_hold) and shared with the call: one
 * reference each.  The call writes the answer into the pend, then wakes
 * the request with its outcome; the request runs again from the start
 * (the same body), and its forwarding step finds the pend (r->zkp) and
 * goes on from the answer instead of posting.  Its replay check and rate
 * charge were made in the round that forwarded it: the message's MAC,
 * kept in the pend, proves it is the same message.
 *
 * The listener stopping forces the wait (KMS_ECANCELED) after detaching it
 * from the pend (the cancel hook); the call, still under way, then ends
 * without touching the request, and the request answers 503.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/service_int.h"

struct svc_zk_pend {
	atomic_int refs;      /* the call's and the request's */
	pthread_mutex_t lock; /* waiter and the call's outcome */
	net_wait_t *waiter;   /* the request, until woken or detached */
	int ret;	      /* the call's outcome, status, answer and reason */
	long status;
	size_t resp_len;
	const char *why;
	bool taken; /* the request took its wake (result) */
	int result;
	char kms_id[ZK_KMS_ID_MAX + 1];
	uint8_t mac[MIKEY_MAC_MAX]; /* the UE message's V MAC */
	size_t mac_len;
	uint8_t hop_rand[HOP_RAND_LEN];
	size_t req_len;
	uint8_t hop_req[MIKEY_MSG_MAX];
	uint8_t resp[MIKEY_MSG_MAX];
	zk_async_t a;
};

static void pend_put(void *hold)
{
	svc_zk_pend_t *p = hold;
	if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1) {
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
}

/* The cancel hook (the listener stopping): the call forgets the request. */
static void pend_cancel(net_wait_t *w, void *arg)
{
	svc_zk_pend_t *p = arg;
	pthread_mutex_lock(&p->lock);
	if (p->waiter == w) {
		p->waiter = NULL;
	}
	pthread_mutex_unlock(&p->lock);
}

/* The call ended (outbound thread): the answer into the pend, then the
 * request woken with the outcome. */
static void pend_done(int ret, long status, size_t out_len, const char *why, void *arg)
{
	svc_zk_pend_t *p = arg;
	pthread_mutex_lock(&p->lock);
	p->ret = ret;
	p->status = status;
	p->resp_len = ret == KMS_EOK && out_len <= sizeof(p->resp) ? out_len : 0;
	p->why = why;
	net_wait_t *w = p->waiter;
	p->waiter = NULL;
	pthread_mutex_unlock(&p->lock);
	if (w != NULL) {
		net_wait_wake(w, ret);
	}
	pend_put(p);
}

static svc_zk_pend_t *pend_new(req_t *r, const zk_peer_t *peer, size_t req_len)
{
	const mikey_v_t *v = mikey_msg_v(&r->in);
	svc_zk_pend_t *p = malloc(sizeof(*p));
	if (p == NULL || v == NULL || v->mac.len > sizeof(p->mac) ||
	    req_len > sizeof(p->hop_req)) {
		free(p);
		return NULL;
	}
	memset(p, 0, offsetof(svc_zk_pend_t, hop_req)); /* the buffers: written first */
	atomic_init(&p->refs, 2);
	pthread_mutex_init(&p->lock, NULL);
	str_copy(p->kms_id, sizeof(p->kms_id), peer->kms_id);
	memcpy(p->mac, v->mac.data, v->mac.len);
	p->mac_len = v->mac.len;
	memcpy(p->hop_rand, r->hop_rand, sizeof(p->hop_rand));
	memcpy(p->hop_req, r->hop_req, req_len);
	p->req_len = req_len;
	return p;
}

/* Why the call could not start, as the blocking post would have put it. */
static int park_refused(req_t *r, const zk_peer_t *peer, int ret, const char *why)
{
	if (ret == KMS_EAGAIN) {
		log_req_warning(r->rid, "Zk: forwarding to %s refused: %s", peer->kms_id,
				why);
		return KMS_EUNAVAIL;
	}
	if (ret == KMS_EUNAVAIL) {
		log_req_warning(r->rid, "Zk: %s unreachable: %s", peer->kms_id, why);
		return KMS_EZK_DOWN;
	}
	log_req_warning(r->rid, "Zk: no usable answer from %s: %s", peer->kms_id,
			why != NULL ? why : kms_strerror(ret));
	return KMS_EZK_REFUSED;
}

int svc_zk_park(req_t *r, const zk_peer_t *peer, size_t req_len)
{
	net_wait_t *w = r->wait;
	if (w->hold != NULL) {
		log_req_error(r->rid, "Zk: the request holds a forward already");
		return KMS_EINTERNAL;
	}
	svc_zk_pend_t *p = pend_new(r, peer, req_len);
	if (p == NULL) {
		return KMS_ENOMEM;
	}
	const char *why = NULL;
	/* Locked until w is armed and listed: the call may end at once. */
	pthread_mutex_lock(&p->lock);
	int ret =
	    zk_client_post_async(r->svc->zk, peer, r->rid, p->hop_req, req_len, p->resp,
				 sizeof(p->resp), &p->a, pend_done, p, &why);
	if (ret != KMS_EOK) {
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ret == KMS_ENOTSUP ? ret : park_refused(r, peer, ret, why);
	}
	/* The NAF bounds its own waits (rounds): a forward is not one. */
	unsigned rounds = w->rounds;
	net_wait_arm(w, pend_cancel, p);
	w->rounds = rounds;
	p->waiter = w;
	net_wait_hold(w, p, pend_put);
	pthread_mutex_unlock(&p->lock);
	log_req_info(r->rid, "request parked: forwarded to %s over Zk", peer->kms_id);
	return KMS_EINPROGRESS;
}

void svc_zk_resume(req_t *r)
{
	net_wait_t *w = r->wait;
	if (w == NULL || w->hold == NULL || w->hold_free != pend_put) {
		return;
	}
	svc_zk_pend_t *p = w->hold;
	if (!p->taken) {
		/* The first round since the park: the wake was the forward's
		 * (a later one may be the NAF's: it takes that itself). */
		p->taken = true;
		if (!net_wait_take(w, &p->result)) {
			p->result = KMS_EINTERNAL; /* re-entered unwoken: never */
		}
	}
	r->zkp = p;
}

bool svc_zk_rerun(req_t *r, const mikey_v_t *v)
{
	svc_zk_pend_t *p = r->zkp;
	if (p == NULL) {
		return false;
	}
	if (v->mac.len == p->mac_len && secmem_eq(v->mac.data, p->mac, p->mac_len)) {
		return true;
	}
	r->zkp = NULL; /* another message: not the forward's */
	return false;
}

int svc_zk_answer(req_t *r, const zk_peer_t *peer, svc_zk_answer_t *out)
{
	svc_zk_pend_t *p = r->zkp;
	if (strcmp(p->kms_id, peer->kms_id) != 0) {
		/* A reload sent this issuer's tickets to another peer meanwhile. */
		log_req_warning(r->rid, "Zk: forwarded to %s, now %s: not used",
				p->kms_id, peer->kms_id);
		return KMS_EZK_REFUSED;
	}
	if (p->result == KMS_ECANCELED) {
		log_req_notice(r->rid, "Zk: forwarding to %s cancelled (stopping)",
			       p->kms_id);
		return KMS_EUNAVAIL;
	}
	pthread_mutex_lock(&p->lock); /* the call is over: for the reader's sake */
	*out = (svc_zk_answer_t){ p->result, p->status, p->why, p->req_len,
				  p->result == KMS_EOK ? p->resp_len : 0 };
	pthread_mutex_unlock(&p->lock);
	memcpy(r->hop_rand, p->hop_rand, sizeof(r->hop_rand));
	memcpy(r->hop_req, p->hop_req, p->req_len);
	memcpy(r->hop_resp, p->resp, out->resp_len);
	return KMS_EOK;
}
