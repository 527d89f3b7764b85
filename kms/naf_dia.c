/*
 * Zn over Diameter at the NAF: the meaning of a BIA (a pure function),
 * its counting and logging, and the blocking lookup over it.  kmsd's Ua
 * path parks its requests instead (kms/naf_async.c) and shares
 * naf_dia_send / naf_dia_outcome with this file.
 *
 * A BIR's answer arrives on a freeDiameter thread (dia/zn.h), possibly
 * after the blocking lookup stopped waiting (its bound is naf.timeout_ms
 * plus a margin, should the Diameter layer's own timer be late): the
 * rendezvous is therefore on the heap and reference counted, and the
 * callback holds a reference on the naf_t (a reload may free the state).
 */
#include "kms/naf_dia.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "gba/guss.h"
#include "kms/naf_int.h"

#define GBA_TYPE_3G 0
#define GBA_TYPE_2G 1

/* --- the meaning of a BIA (pure) ------------------------------------------------ */

/* What the result codes say; KMS_EOK only for a Result-Code 2001. */
static int dia_codes(const dia_zn_bia_t *bia)
{
	if ((bia->result_code == 0) == (bia->exp_result_code == 0)) {
		return KMS_EMALFORMED;
	}
	switch (bia->exp_result_code) {
	case 0:
		break;
	case DIA_EXP_IMPI_UNKNOWN:
	case DIA_EXP_TRANSACTION_IDENTIFIER_INVALID:
	case DIA_EXP_USER_UNKNOWN:
		return KMS_EBTID;
	case DIA_EXP_NOT_AUTHORIZED:
		return KMS_EPOLICY;
	default:
		return KMS_EUNAVAIL;
	}
	return bia->result_code == DIA_RC_SUCCESS ? KMS_EOK : KMS_EUNAVAIL;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
			return false;
		}
	}
	return true;
}

/* Why a success cannot be used, or NULL. */
static const char *dia_unusable(const dia_zn_bia_t *bia)
{
	size_t impi_len = strnlen(bia->impi, sizeof(bia->impi));
	if (bia->me_key_len == 0 && bia->uicc_key_len > 0) {
		return "a UICC key only (GBA_U, never asked for)";
	}
	if (bia->me_key_len != 16 && bia->me_key_len != 32) {
		return "ME-Key-Material absent or not 16 or 32 bytes";
	}
	if (impi_len == 0 || impi_len == sizeof(bia->impi) || !printable(bia->impi)) {
		return "User-Name absent or not printable";
	}
	if (bia->key_expiry <= 0) {
		return "Key-ExpiryTime absent";
	}
	if (bia->created >= 0 && bia->created > bia->key_expiry) {
		return "BootstrapInfoCreationTime after Key-ExpiryTime";
	}
	if (bia->gba_type < -1 || bia->gba_type > GBA_TYPE_2G) {
		return "unknown GBA-Type";
	}
	return NULL;
}

/* The fields of a usable success other than the GUSS into *a. */
static void dia_key(const dia_zn_bia_t *bia, naf_zn_answer_t *a)
{
	memcpy(a->psk.key, bia->me_key, bia->me_key_len);
	a->psk.key_len = bia->me_key_len;
	a->psk.expires = bia->key_expiry;
	snprintf(a->impi, sizeof(a->impi), "%s", bia->impi);
	a->created = bia->created >= 0 ? bia->created : 0;
}

/* Every uid of every USS, as the JSON answer's impus.  No GUSS (the BSF
 * sends none when the user has no identity in this NAF's group) is the
 * JSON answer's empty "uss": a key that names nobody, so every request
 * with it is refused by the identity checks, as over HTTP. */
static int dia_guss(const dia_zn_bia_t *bia, const char *subj, naf_zn_answer_t *a)
{
	if (bia->guss == NULL || bia->guss_len == 0) {
		return KMS_EOK;
	}
	gba_guss_t *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		return KMS_ENOMEM;
	}
	int ret = gba_guss_parse(bia->guss, bia->guss_len, g);
	if (ret != KMS_EOK && ret != KMS_ENOMEM) {
		ret = KMS_EMALFORMED;
	}
	for (size_t i = 0; ret == KMS_EOK && i < g->nuss; i++) {
		for (size_t k = 0; ret == KMS_EOK && k < g->uss[i].nuids; k++) {
			ret = naf_zn_add_impu(g->uss[i].uids[k], subj, a);
		}
	}
	gba_guss_clear(g);
	free(g);
	return ret;
}

int naf_dia_answer(const dia_zn_bia_t *bia, int64_t now, const char *subj,
		   naf_zn_answer_t *out, const char **why)
{
	const char *unusable = NULL;
	int ret = bia != NULL && out != NULL ? dia_codes(bia) : KMS_EINVAL;
	if (ret == KMS_EMALFORMED) {
		unusable = "neither or both of Result-Code and Experimental-Result";
	} else if (ret == KMS_EOK) {
		unusable = dia_unusable(bia);
		ret = unusable == NULL ? KMS_EOK : KMS_EMALFORMED;
	}
	naf_zn_answer_t *a = ret == KMS_EOK ? secmem_alloc(sizeof(*a)) : NULL;
	if (ret == KMS_EOK && a == NULL) {
		ret = KMS_ENOMEM;
	} else if (ret == KMS_EOK) {
		dia_key(bia, a);
		ret = dia_guss(bia, subj != NULL ? subj : "btid:?", a);
		unusable = ret == KMS_EMALFORMED ? "GBA-UserSecSettings unusable" : NULL;
	}
	/* Checked last: a well-formed answer this NAF will not use. */
	if (ret == KMS_EOK && bia->gba_type == GBA_TYPE_2G) {
		ret = KMS_EPOLICY;
	} else if (ret == KMS_EOK && bia->key_expiry <= now) {
		ret = KMS_EBTID;
	}
	if (ret == KMS_EOK) {
		memcpy(out, a, sizeof(*a));
	}
	secmem_free(a, sizeof(*a));
	if (why != NULL) {
		*why = unusable != NULL ? unusable : "";
	}
	return ret;
}

/* --- sending and counting ------------------------------------------------------- */

static _Atomic(naf_dia_sender_t) sender = NULL;

void naf_dia_sender_set(naf_dia_sender_t fn)
{
	atomic_store(&sender, fn);
}

int naf_dia_send(naf_t *n, const char *btid, const char *subj, dia_zn_done_cb cb,
		 void *arg)
{
	shared_t *sh = n->sh;
	naf_dia_sender_t fn = atomic_load(&sender);
	atomic_fetch_add(&sh->zn.attempts, 1);
	int ret = (fn != NULL ? fn : dia_zn_send_bir)(btid, sh->naf_id, sh->naf_id_len,
						      false, n->timeout_ms, cb, arg);
	if (ret != KMS_EOK) {
		atomic_fetch_add(&sh->zn.errors, 1);
		atomic_fetch_add(&sh->fail_run, 1);
		log_req_warning(subj, "Zn: cannot send the BIR: %s", kms_strerror(ret));
	}
	return ret;
}

/* The code of a BIA as logs show it: "Result-Code N" or "Experimental-Result N". */
static void code_text(const dia_zn_bia_t *bia, char *buf, size_t cap)
{
	if (bia->exp_result_code != 0) {
		snprintf(buf, cap, "Experimental-Result %u", bia->exp_result_code);
	} else {
		snprintf(buf, cap, "Result-Code %u", bia->result_code);
	}
}

/* One line for an answered BIR, at the level its outcome deserves. */
static void log_answer(const char *subj, double ms, const dia_zn_bia_t *bia, int ret,
		       const naf_zn_answer_t *ans, const char *why)
{
	char code[48];
	char host[LOG_ESCAPED_SIZE(64)]; /* the peer's bytes, escaped */
	code_text(bia, code, sizeof(code));
	log_escape(host, sizeof(host), bia->origin_host, strnlen(bia->origin_host, 64));
	if (ret == KMS_EOK) {
		log_req_info(subj,
			     "Zn: BIA from %s in %.1f ms: IMPI %s, %zu identities "
			     "(%zu IMPUs skipped), key valid %lld s",
			     host, ms, ans->impi, ans->psk.nids, ans->impus_skipped,
			     (long long)(ans->psk.expires - kms_clock_wall_s()));
	} else if (ret == KMS_EPOLICY && bia->gba_type == GBA_TYPE_2G) {
		log_req_notice(subj,
			       "Zn: BIA from %s in %.1f ms: 2G GBA (GBA-Type 1) refused: "
			       "this NAF takes 3G GBA keys only",
			       host, ms);
	} else if (ret == KMS_EMALFORMED) {
		log_req_error(subj,
			      "Zn: BIA from %s in %.1f ms (%s): unusable answer: %s",
			      host, ms, code, why);
	} else if (ret == KMS_EUNAVAIL) {
		log_req_warning(subj, "Zn: BIA from %s in %.1f ms: %s: unavailable", host,
				ms, code);
	} else {
		log_req_info(subj, "Zn: BIA from %s in %.1f ms: %s: %s", host, ms, code,
			     kms_strerror(ret));
	}
}

int naf_dia_outcome(shared_t *sh, const char *subj, int64_t t0_us, int ret,
		    const dia_zn_bia_t *bia, naf_zn_answer_t *ans)
{
	int64_t dt = kms_clock_now_us() - t0_us;
	double ms = dt > 0 ? (double)dt / 1000.0 : 0.0;
	metric_hist_observe_ns(&sh->zn_duration, dt > 0 ? (uint64_t)dt * 1000 : 0);
	if (ret == KMS_EOK && bia != NULL) {
		const char *why = "";
		ret = naf_dia_answer(bia, kms_clock_wall_s(), subj, ans, &why);
		log_answer(subj, ms, bia, ret, ans, why);
	} else if (ret == KMS_EMALFORMED) {
		log_req_error(subj, "Zn: malformed BIA in %.1f ms", ms);
	} else {
		log_req_warning(subj,
				"Zn: no BIA in %.1f ms (time-out, no peer, or the "
				"peer went away): %s",
				ms, kms_strerror(ret));
		ret = KMS_EUNAVAIL;
	}
	if (ret == KMS_EMALFORMED || ret == KMS_ENOMEM) {
		atomic_fetch_add(&sh->bad_answers, 1);
		ret = KMS_EUNAVAIL;
	} else if (ret == KMS_EUNAVAIL) {
		atomic_fetch_add(&sh->zn.errors, 1); /* no answer, or "cannot serve" */
	}
	if (ret == KMS_EUNAVAIL) {
		atomic_fetch_add(&sh->fail_run, 1);
	} else {
		atomic_store(&sh->fail_run, 0); /* the BSF answered */
	}
	return ret;
}

/* --- the blocking lookup --------------------------------------------------------- */

/* The rendezvous of one blocking lookup and its callback. */
typedef struct {
	atomic_uint refs; /* the waiter's and the callback's */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool done;
	int ret;
	naf_t *n; /* referenced by the callback */
	kms_psk_t psk;
	int64_t t0;
	uint8_t id[NAF_ZN_BTID_MAX];
	size_t len;
	char subj[SUBJECT_LEN];
} sync_t;

static void sync_put(sync_t *s)
{
	if (atomic_fetch_sub(&s->refs, 1) == 1) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		secmem_free(s, sizeof(*s)); /* wipes the key */
	}
}

static sync_t *sync_new(naf_t *n, const uint8_t *psk_id, size_t len, const char *subj)
{
	sync_t *s = secmem_alloc(sizeof(*s));
	pthread_condattr_t ca;
	if (s == NULL || pthread_condattr_init(&ca) != 0) {
		secmem_free(s, sizeof(*s));
		return NULL;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 2);
	s->n = n;
	memcpy(s->id, psk_id, len);
	s->len = len;
	snprintf(s->subj, sizeof(s->subj), "%s", subj);
	s->t0 = kms_clock_now_us();
	return s;
}

/* The answer (a freeDiameter thread): remember it, hand it over. */
static void sync_done(int ret, dia_zn_bia_t *bia, void *arg)
{
	sync_t *s = arg;
	naf_t *n = s->n;
	naf_zn_answer_t *ans = secmem_alloc(sizeof(*ans));
	ret = ans != NULL ? naf_dia_outcome(n->sh, s->subj, s->t0, ret, bia, ans)
			  : KMS_EUNAVAIL;
	naf_remember(n, s->id, s->len, s->subj, ret, ans);
	pthread_mutex_lock(&s->lock);
	s->ret = ret;
	if (ret == KMS_EOK) {
		memcpy(&s->psk, &ans->psk, sizeof(s->psk));
	}
	s->done = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	secmem_free(ans, sizeof(*ans));
	sync_put(s);
	naf_put(n);
}

/* Wait for s's callback until naf.timeout_ms + the margin; its outcome. */
static int sync_wait(sync_t *s, uint32_t timeout_ms, kms_psk_t *out)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	uint64_t ns = (uint64_t)end.tv_nsec +
		      ((uint64_t)timeout_ms + NAF_DIA_WAIT_MARGIN_MS) * 1000000u;
	end.tv_sec += (time_t)(ns / 1000000000u);
	end.tv_nsec = (long)(ns % 1000000000u);
	int err = 0;
	pthread_mutex_lock(&s->lock);
	while (!s->done && err != ETIMEDOUT) {
		err = pthread_cond_timedwait(&s->cond, &s->lock, &end);
	}
	bool done = s->done;
	int ret = done ? s->ret : KMS_EUNAVAIL;
	if (ret == KMS_EOK) {
		memcpy(out, &s->psk, sizeof(*out));
	}
	pthread_mutex_unlock(&s->lock);
	if (!done) {
		log_req_warning(s->subj, "Zn: no BIA callback within %u ms: unavailable",
				timeout_ms + NAF_DIA_WAIT_MARGIN_MS);
	}
	return ret;
}

int naf_dia_lookup(naf_t *n, const uint8_t *psk_id, size_t len, const char *btid,
		   const char *subj, kms_psk_t *out)
{
	sync_t *s = sync_new(n, psk_id, len, subj);
	if (s == NULL) {
		return KMS_EUNAVAIL;
	}
	atomic_fetch_add(&n->refs, 1); /* the callback's */
	if (naf_dia_send(n, btid, subj, sync_done, s) != KMS_EOK) {
		atomic_fetch_sub(&n->refs, 1); /* the caller holds another */
		sync_put(s);
		sync_put(s);
		return KMS_EUNAVAIL;
	}
	int ret = sync_wait(s, n->timeout_ms, out);
	sync_put(s);
	return ret;
}
