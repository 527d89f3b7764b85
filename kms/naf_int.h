/*
 * Inside the NAF (kms/naf.c: the source, the synchronous lookup, the
 * "both" source; kms/naf_async.c: the lookup that waits without holding a
 * thread).  Not for other modules.
 */
#ifndef KMS_KMS_NAF_INT_H
#define KMS_KMS_NAF_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metric.h"
#include "dia/zn.h"
#include "gba/kdf.h"
#include "kms/naf.h"
#include "kms/naf_cache.h"
#include "kms/naf_zn.h"
#include "net/http_client.h"
#include "net/outbound.h"
#include "net/wait.h"

#define SUBJECT_LEN 24	     /* "btid:" + a prefix of the B-TID */
#define NAF_PENDING_MAX 1024 /* B-TIDs being fetched asynchronously at once */
#define NAF_ROUNDS_MAX 2     /* times one request may wait for Zn */

typedef struct naf_pend naf_pend_t;

/* The cache and counters; shared by the sources of successive reloads. */
typedef struct {
	atomic_uint refs;
	naf_cache_t *cache;
	size_t cache_entries; /* as configured */
	uint8_t naf_id[GBA_NAF_ID_MAX];
	size_t naf_id_len;
	atomic_uint_fast64_t hits, misses;
	atomic_uint_fast64_t bad_answers; /* answers without a usable outcome */
	atomic_uint_fast64_t fail_run; /* Zn calls failed in a row (0 after any answer) */
	atomic_uint_fast64_t joined;   /* misses that joined a Zn call under way */
	atomic_uint_fast64_t pending_full; /* misses refused: NAF_PENDING_MAX */
	net_counters_t zn;		   /* requests, errors, busy refusals */
	metric_hist_t zn_duration;	   /* each Zn call that went out */
	pthread_mutex_t lock;		   /* pending, npending, waiter lists */
	naf_pend_t *pending;		   /* B-TIDs being fetched (async) */
	size_t npending;
} shared_t;

typedef struct {
	kms_psk_source_t base; /* first: the source pointer is the naf_t */
	atomic_uint refs;      /* the state's, and one per Zn call in flight */
	shared_t *sh;
	net_pool_t *pool;    /* HTTP Zn; NULL with naf.zn = "diameter" */
	bool dia;	     /* naf.zn = "diameter": BIR/BIA on the process's peer */
	uint32_t timeout_ms; /* naf.timeout_ms: the wait for a BIA */
	uint32_t negative_ttl;
	net_outbound_t *ob; /* NULL: lookup_async is the synchronous lookup */
} naf_t;

/* The naf_t of a NAF or "both" source, else NULL. */
naf_t *naf_of(const kms_psk_source_t *src);
void naf_put(naf_t *n);

void naf_subject_of(const char *btid, char *out, size_t cap);

/* What the end of a Zn call (ret as net_post() gives it) means: KMS_EOK
 * with *ans, KMS_EBTID, KMS_EPOLICY, or another failure (logged). */
int naf_zn_outcome(shared_t *sh, const net_call_t *call, int ret, const char *btid,
		   naf_zn_answer_t *ans);

/* Put the outcome ret (and *ans on KMS_EOK) in the cache or negative cache. */
void naf_remember(naf_t *n, const uint8_t *psk_id, size_t len, const char *subj, int ret,
		  const naf_zn_answer_t *ans);

/* --- naf.zn = "diameter" (kms/naf_dia.c) --- */

/* Send a BIR for btid (counted as a Zn request; a refusal as a Zn error,
 * logged).  KMS_EOK: cb will run, on a freeDiameter thread. */
int naf_dia_send(naf_t *n, const char *btid, const char *subj, dia_zn_done_cb cb,
		 void *arg);

/* What the end of a BIR sent at t0_us (kms_clock_now_us) means: ret and
 * bia as dia_zn_done_cb has them.  KMS_EOK with *ans, KMS_EBTID,
 * KMS_EPOLICY or KMS_EUNAVAIL; counted and logged as naf_zn_outcome. */
int naf_dia_outcome(shared_t *sh, const char *subj, int64_t t0_us, int ret,
		    const dia_zn_bia_t *bia, naf_zn_answer_t *ans);

/* The blocking lookup's miss over Diameter: send, wait for the answer
 * (bounded), remember it.  KMS_EOK with *out, or the refusal. */
int naf_dia_lookup(naf_t *n, const uint8_t *psk_id, size_t len, const char *btid,
		   const char *subj, kms_psk_t *out);

int naf_lookup(kms_psk_source_t *src, const uint8_t *psk_id, size_t len, kms_psk_t *out);
int naf_lookup_async(kms_psk_source_t *src, const uint8_t *psk_id, size_t len,
		     kms_psk_t *out, net_wait_t *w);

#endif
