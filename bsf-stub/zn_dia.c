/*
 * The Diameter front of Zn.  The handler runs on freeDiameter's threads;
 * each gets its own store connection from bsf_store().  Ks_ext_NAF goes
 * from the lookup's result into the BIA (which dia/ wipes after sending);
 * the result is wiped here.  Logs: request id = Session-Id, the NAF, its
 * Origin-Host, a B-TID prefix and the outcome (bsf_zn_lookup()).
 */
#include "bsf-stub/zn_dia.h"

#include <stdlib.h>
#include <string.h>

#include "bsf-stub/zn_core.h"
#include "common/clock.h"
#include "common/errcode.h"
#include "common/log.h"
#include "dia/peer.h"
#include "gba/guss.h"

#define DIA_RC_INVALID_AVP_VALUE 5004u
#define USS_ID "1"
#define USS_TYPE 1u /* the one USS type bsf-stubd gives its NAFs */

/*
 * The GUSS of a successful lookup: id = the IMPI, bsfInfo {GBA (GBA_ME: no
 * UICC key), lifeTime = the session's key lifetime in seconds} and one USS
 * {id "1", type 1, the NAF's group, every IMPU of that group (tel: too:
 * the NAF filters), no flags}.  A GUSS must hold a USS with uids, so a
 * subscriber without IMPU in the group gets no GBA-UserSecSettings AVP
 * (the JSON front's "uss": []).
 */
static int guss(const bsf_zn_result_t *r, dia_zn_bia_t *bia)
{
	if (r->nimpus == 0) {
		return KMS_EOK;
	}
	gba_guss_t *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		return KMS_ENOMEM;
	}
	gba_guss_clear(g); /* an empty GUSS to fill */
	memcpy(g->id, r->impi, strlen(r->impi) + 1);
	g->uicc_type = 0;
	g->lifetime = r->expires > r->created ? r->expires - r->created : 0;
	gba_uss_t *u = &g->uss[0];
	g->nuss = 1;
	memcpy(u->id, USS_ID, sizeof(USS_ID));
	u->type = USS_TYPE;
	memcpy(u->naf_group, r->group, strlen(r->group) + 1);
	/* Borrowed, not malloc'd: g is freed without gba_guss_clear(). */
	for (size_t i = 0; i < r->nimpus && i < GBA_GUSS_UIDS_MAX; i++) {
		u->uids[u->nuids++] = (char *)r->impus[i];
	}
	int ret = gba_guss_build(g, &bia->guss, &bia->guss_len);
	free(g);
	return ret;
}

/* bia for a successful lookup r. */
static int success(const bsf_zn_result_t *r, dia_zn_bia_t *bia)
{
	bia->result_code = DIA_RC_SUCCESS;
	memcpy(bia->impi, r->impi, sizeof(bia->impi));
	memcpy(bia->me_key, r->ks_naf, sizeof(r->ks_naf));
	bia->me_key_len = sizeof(r->ks_naf);
	bia->key_expiry = r->expires;
	bia->created = r->created;
	bia->gba_type = 0; /* 3G */
	return guss(r, bia);
}

/* The GUSS holds identities, never a key: at debug, tests read it here. */
static void guss_log(const char *rid, const dia_zn_bia_t *bia)
{
	if (bia->guss != NULL) {
		log_req_debug(rid, "Zn: GUSS %zu bytes: %s", bia->guss_len, bia->guss);
	}
}

/* The request's identity in logs: the Session-Id, else a placeholder. */
static const char *rid_of(const dia_zn_bir_t *bir)
{
	return bir->session_id[0] != '\0' ? bir->session_id : "zn-dia";
}

int bsf_zn_dia_answer(bsf_t *b, const dia_zn_bir_t *bir, int64_t now, dia_zn_bia_t *bia)
{
	char fqdn[BSF_FQDN_MAX + 1];
	const char *rid = rid_of(bir);
	const char *origin = bir->origin_host[0] != '\0' ? bir->origin_host : "?";

	size_t blen = strnlen(bir->btid, sizeof(bir->btid));
	if (bsf_zn_btid_check(bir->btid, blen) != KMS_EOK ||
	    bsf_zn_naf_fqdn(bir->naf_id, bir->naf_id_len, fqdn) != KMS_EOK) {
		log_req_warning(rid,
				"Zn: BIR from %s: B-TID or NAF-Id not well formed: 5004",
				origin);
		bia->result_code = DIA_RC_INVALID_AVP_VALUE;
		return KMS_EOK;
	}
	/* bsf-stubd's subscribers are GBA_ME: the answer is the same either way. */
	if (bir->gba_u) {
		log_req_info(rid, "Zn: NAF %s is GBA_U aware; the subscriber is GBA_ME",
			     fqdn);
	}
	bsf_zn_result_t *r = malloc(sizeof(*r)); /* 16 KiB: not a thread's stack */
	if (r == NULL) {
		return KMS_ENOMEM;
	}
	const bsf_zn_query_t q = { bir->btid, bir->naf_id, bir->naf_id_len, fqdn,
				   origin };
	bsf_zn_lookup(b, rid, &q, now, r);
	const bsf_zn_code_t *c = bsf_zn_code(r->code);
	int ret = KMS_EOK;
	if (r->code == BSF_ZN_SUCCESS) {
		ret = success(r, bia);
		guss_log(rid, bia);
		if (ret != KMS_EOK) {
			log_req_error(rid, "Zn: cannot build the BIA: %s",
				      kms_strerror(ret));
		}
	} else if (r->code == BSF_ZN_UNAVAILABLE) {
		bia->result_code = DIA_RC_TOO_BUSY; /* transient: ask again */
	} else if (c->experimental) {
		bia->exp_result_code = r->code;
	} else {
		bia->result_code = r->code;
	}
	bsf_zn_result_clear(r);
	free(r);
	return ret;
}

static int handler(const dia_zn_bir_t *bir, dia_zn_bia_t *bia, void *arg)
{
	return bsf_zn_dia_answer(arg, bir, kms_clock_wall_s(), bia);
}

int bsf_zn_dia_start(bsf_t *b, const char *conf)
{
	if (!dia_available()) {
		log_error("Zn over Diameter: this build has no freeDiameter");
		return KMS_ENOTSUP;
	}
	int ret = dia_peer_start(conf);
	if (ret != KMS_EOK) {
		log_error("Zn over Diameter: cannot start the peer from %s: %s", conf,
			  kms_strerror(ret));
		return ret;
	}
	ret = dia_zn_serve(handler, b);
	if (ret != KMS_EOK) {
		log_error("Zn over Diameter: cannot serve BIRs: %s", kms_strerror(ret));
		dia_peer_stop();
		return ret;
	}
	log_notice("Zn over Diameter: serving BIRs (configuration %s)", conf);
	return KMS_EOK;
}

void bsf_zn_dia_stop(void)
{
	if (dia_peer_running()) {
		dia_peer_stop();
		log_notice("Zn over Diameter: peer stopped");
	}
}
