/*
 * The NAF lookup that waits without holding a thread (kmsd's Ua path).
 *
 * A miss becomes a pending entry for its B-TID (shared_t.pending, at most
 * NAF_PENDING_MAX): one Zn call on the outbound thread (net/outbound.h,
 * on the source's pool: the same retry policy, timeouts and bound on
 * calls in flight as the blocking lookup), and the list of requests
 * waiting for it.  A later miss for the same B-TID joins the list.  When
 * the call ends, on the outbound thread, its outcome goes into the cache
 * or negative cache exactly as for the blocking lookup, the entry leaves
 * the table, and every waiter is woken with the outcome; their requests
 * run again and find the key in the cache, or get the outcome recorded in
 * their wait (unavailable, bootstrap again, not authorised).  A request
 * whose key was fetched but is gone from the cache again (evicted) waits
 * once more; after NAF_ROUNDS_MAX waits it is unavailable.
 *
 * With naf.zn = "diameter" the call is a BIR on the process's Diameter
 * peer instead (kms/naf_dia.c), and its end comes on a freeDiameter
 * thread; from there on both transports share zn_finish: the same table,
 * bound, coalescing, cache and counters.
 *
 * Each Zn call holds a reference on its naf_t (and so on the pool and the
 * shared cache): a reload may free the state whose source started it.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/naf_dia.h"
#include "kms/naf_int.h"

struct naf_pend {
	naf_pend_t *next;
	naf_t *n; /* referenced */
	net_wait_t *waiters;
	net_call_t call; /* HTTP only */
	char *req;	 /* the request body (HTTP) */
	char *body;	 /* the answer: secure memory (the key, in base64) */
	int64_t t0;	 /* kms_clock_now_us() when the BIR went (Diameter) */
	uint8_t id[NAF_ZN_BTID_MAX];
	size_t len;
	char btid[NAF_ZN_BTID_MAX + 1];
	char subj[SUBJECT_LEN];
};

static void pend_free(naf_pend_t *p)
{
	if (p == NULL) {
		return;
	}
	free(p->req);
	secmem_free(p->body, NAF_ZN_BODY_MAX); /* wiped */
	free(p);
}

static int pend_new(naf_t *n, const uint8_t *psk_id, size_t len, naf_pend_t **out)
{
	naf_pend_t *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return KMS_ENOMEM;
	}
	memcpy(p->id, psk_id, len);
	p->len = len;
	memcpy(p->btid, psk_id, len);
	p->btid[len] = '\0';
	naf_subject_of(p->btid, p->subj, sizeof(p->subj));
	p->n = n;
	if (n->dia) {
		*out = p; /* the BIR is built by dia/ */
		return KMS_EOK;
	}
	p->body = secmem_alloc(NAF_ZN_BODY_MAX);
	int ret = p->body != NULL
		      ? naf_zn_request(p->btid, n->sh->naf_id, n->sh->naf_id_len, &p->req)
		      : KMS_ENOMEM;
	if (ret != KMS_EOK) {
		pend_free(p);
		return ret;
	}
	p->call = (net_call_t){ .subj = p->subj,
				.body = p->req,
				.len = strlen(p->req),
				.out = p->body,
				.cap = NAF_ZN_BODY_MAX };
	*out = p;
	return KMS_EOK;
}

/* Locked. */
static naf_pend_t *pend_find(shared_t *sh, const uint8_t *id, size_t len)
{
	for (naf_pend_t *p = sh->pending; p != NULL; p = p->next) {
		if (p->len == len && memcmp(p->id, id, len) == 0) {
			return p;
		}
	}
	return NULL;
}

/* Locked: p leaves the table; its waiters are handed to the caller. */
static net_wait_t *pend_remove(shared_t *sh, naf_pend_t *p)
{
	for (naf_pend_t **pp = &sh->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			sh->npending--;
			break;
		}
	}
	net_wait_t *w = p->waiters;
	p->waiters = NULL;
	return w;
}

/* The cancel hook of a wait (the listener stopping): off its call's list. */
static void pend_cancel(net_wait_t *w, void *arg)
{
	shared_t *sh = arg;
	pthread_mutex_lock(&sh->lock);
	for (naf_pend_t *p = sh->pending; p != NULL; p = p->next) {
		for (net_wait_t **pw = &p->waiters; *pw != NULL; pw = &(*pw)->next) {
			if (*pw == w) {
				*pw = w->next;
				w->next = NULL;
				pthread_mutex_unlock(&sh->lock);
				return;
			}
		}
	}
	pthread_mutex_unlock(&sh->lock);
}

/* Locked: w waits for p. */
static void pend_join(shared_t *sh, naf_pend_t *p, net_wait_t *w)
{
	net_wait_arm(w, pend_cancel, sh);
	w->next = p->waiters;
	p->waiters = w;
}

/* What the requests are told: the outcome, or unavailable. */
static int for_waiters(int ret)
{
	return ret == KMS_EOK || ret == KMS_EBTID || ret == KMS_EPOLICY ? ret
									: KMS_EUNAVAIL;
}

/* The end of p's call, either transport: ret (with *ans on KMS_EOK) into
 * the cache, every waiter woken, p and its reference released. */
static void zn_finish(naf_pend_t *p, int ret, const naf_zn_answer_t *ans)
{
	naf_t *n = p->n;
	shared_t *sh = n->sh;
	naf_remember(n, p->id, p->len, p->subj, ret, ans);
	pthread_mutex_lock(&sh->lock);
	net_wait_t *w = pend_remove(sh, p);
	pthread_mutex_unlock(&sh->lock);
	while (w != NULL) {
		net_wait_t *next = w->next; /* w may be gone once woken */
		w->next = NULL;
		net_wait_wake(w, for_waiters(ret));
		w = next;
	}
	pend_free(p);
	naf_put(n);
}

/* The HTTP call ended (outbound thread). */
static void zn_done(net_call_t *call, int ret, void *arg)
{
	naf_pend_t *p = arg;
	naf_zn_answer_t *ans = secmem_alloc(sizeof(*ans));
	if (ret == KMS_EAGAIN) {
		log_req_warning(p->subj, "Zn: every connection to the BSF is busy");
	} else if (ret == KMS_ECANCELED) {
		log_req_notice(p->subj, "Zn: call cancelled (stopping)");
	}
	ret =
	    ans != NULL ? naf_zn_outcome(p->n->sh, call, ret, p->btid, ans) : KMS_ENOMEM;
	zn_finish(p, ret, ans);
	secmem_free(ans, sizeof(*ans));
}

/* The BIR ended (a freeDiameter thread). */
static void dia_done(int ret, dia_zn_bia_t *bia, void *arg)
{
	naf_pend_t *p = arg;
	naf_zn_answer_t *ans = secmem_alloc(sizeof(*ans));
	ret = ans != NULL ? naf_dia_outcome(p->n->sh, p->subj, p->t0, ret, bia, ans)
			  : KMS_ENOMEM;
	zn_finish(p, ret, ans);
	secmem_free(ans, sizeof(*ans));
}

/* Locked: KMS_EOK when another lookup may start (NAF_PENDING_MAX). */
static int pend_room(shared_t *sh, const naf_pend_t *p)
{
	if (sh->npending >= NAF_PENDING_MAX) {
		atomic_fetch_add(&sh->pending_full, 1);
		log_req_warning(p->subj, "Zn: %u lookups under way: refused",
				NAF_PENDING_MAX);
		return KMS_EUNAVAIL;
	}
	return KMS_EOK;
}

/* Locked: p into the table, w its first waiter. */
static int pend_list(shared_t *sh, naf_pend_t *p, net_wait_t *w)
{
	p->next = sh->pending;
	sh->pending = p;
	sh->npending++;
	pend_join(sh, p, w);
	log_req_info(p->subj, "request parked: Zn lookup started");
	return KMS_EINPROGRESS;
}

/* Locked: start a call for p (w its first waiter); KMS_EINPROGRESS, or a
 * failure with p not in the table (the caller frees it).  HTTP: the call
 * is posted under the lock (a callback that runs at once waits for it);
 * Diameter: p is listed here and its BIR sent by the caller, unlocked. */
static int zn_start(naf_t *n, naf_pend_t *p, net_wait_t *w)
{
	shared_t *sh = n->sh;
	if (pend_room(sh, p) != KMS_EOK) {
		return KMS_EUNAVAIL;
	}
	atomic_fetch_add(&n->refs, 1); /* the call's */
	if (!n->dia) {
		int ret = net_outbound_post(n->ob, n->pool, NULL, &p->call, zn_done, p);
		if (ret != KMS_EOK) {
			atomic_fetch_sub(&n->refs, 1); /* the state holds another */
			log_req_warning(p->subj, "Zn: cannot start the call: %s",
					kms_strerror(ret));
			return KMS_EUNAVAIL;
		}
	}
	return pend_list(sh, p, w);
}

/*
 * Not locked (Diameter): send the BIR of p, listed already.  freeDiameter's
 * queues block the sender when full, and their answers need the table
 * lock: sending under it could stall both for good.  A refused send ends
 * p at once: its waiters (the caller's among them) are woken unavailable.
 */
static void dia_start(naf_t *n, naf_pend_t *p)
{
	p->t0 = kms_clock_now_us();
	if (naf_dia_send(n, p->btid, p->subj, dia_done, p) != KMS_EOK) {
		zn_finish(p, KMS_EUNAVAIL, NULL); /* counted and logged */
	}
}

/* Join the call for psk_id, or start one.  A callback may run before
 * this returns: w is on the list before the table is unlocked. */
static int zn_wait(naf_t *n, const uint8_t *psk_id, size_t len, net_wait_t *w)
{
	shared_t *sh = n->sh;
	naf_pend_t *mine = NULL, *send = NULL;
	int ret = pend_new(n, psk_id, len, &mine);
	if (ret != KMS_EOK) {
		return KMS_EUNAVAIL;
	}
	pthread_mutex_lock(&sh->lock);
	naf_pend_t *p = pend_find(sh, psk_id, len);
	if (p != NULL) {
		atomic_fetch_add(&sh->joined, 1);
		pend_join(sh, p, w);
		log_req_info(p->subj, "request parked: joined the Zn lookup under way");
		ret = KMS_EINPROGRESS;
	} else {
		ret = zn_start(n, mine, w);
		send = ret == KMS_EINPROGRESS && n->dia ? mine : NULL;
		mine = ret == KMS_EINPROGRESS ? NULL : mine;
	}
	pthread_mutex_unlock(&sh->lock);
	pend_free(mine);
	if (send != NULL) {
		dia_start(n, send); /* send may be gone after this */
	}
	return ret;
}

int naf_lookup_async(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
		     kms_psk_t *out, net_wait_t *w)
{
	naf_t *n = (naf_t *)src;
	if (n == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	if ((n->ob == NULL && !n->dia) || w == NULL) {
		return naf_lookup(src, psk_id, len, out);
	}
	if (psk_id == NULL || naf_zn_btid_check(psk_id, len) != KMS_EOK) {
		return KMS_EBTID; /* cannot be a B-TID: nothing to ask the BSF */
	}
	shared_t *sh = n->sh;
	int waited = KMS_EOK;
	bool woken = net_wait_take(w, &waited);
	int ret = naf_cache_get(sh->cache, psk_id, len, kms_clock_wall_s(), out, NULL, 0);
	if (ret != KMS_ENOENT) {
		atomic_fetch_add(&sh->hits, woken ? 0 : 1);
		return ret;
	}
	if (woken && waited != KMS_EOK) {
		return for_waiters(waited); /* what the call ended with */
	}
	if (w->rounds >= NAF_ROUNDS_MAX) {
		char subj[SUBJECT_LEN], btid[NAF_ZN_BTID_MAX + 1];
		memcpy(btid, psk_id, len);
		btid[len] = '\0';
		naf_subject_of(btid, subj, sizeof(subj));
		log_req_warning(subj,
				"Zn: key fetched but no longer cached: unavailable");
		return KMS_EUNAVAIL;
	}
	atomic_fetch_add(&sh->misses, woken ? 0 : 1);
	return zn_wait(n, psk_id, len, w);
}

void naf_use_outbound(kms_psk_source_t *src, net_outbound_t *ob)
{
	naf_t *n = naf_of(src);
	if (n != NULL) {
		n->ob = ob;
	}
}
