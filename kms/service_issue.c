/*
 * The Ticket Request (RFC 6043 5.2): the policy this KMS grants for the
 * requested one (docs/mikey-profile.md row 15) and the ticket that carries
 * it (kms/ticket.h).
 */
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "kms/service_int.h"
#include "mikey/tp.h"
#include "policy/rules.h"

/* What the rules allow for one requested responder (user or group). */
static bool responder_granted(req_t *r, const mikey_id_t *idrr, policy_decision_t *d)
{
	const char *resp = (const char *)idrr->id.data;
	size_t rlen = idrr->id.len;
	policy_decide(r->svc->policy, (const char *)r->requester.data, r->requester.len,
		      resp, rlen, d);
	if (r->svc->policy == NULL) {
		/* No rule set: the configured behaviour of earlier releases. */
		d->reuse = r->svc->cfg->allow_reuse;
		d->init_keys = false;
	}
	if (!policy_allows(d, resp, rlen)) {
		if (d->matched) {
			r->rule_id = d->rule_id;
		}
		return false;
	}
	return true;
}

/* Did a granted identity change form (type or bytes) from the requested one? */
static bool id_changed(const mikey_id_t *req, const char *norm, size_t len)
{
	return req->id_type != MIKEY_ID_NAI || req->id.len != len ||
	       memcmp(req->id.data, norm, len) != 0;
}

/*
 * The requested responders as KMS user or group identities (docs/
 * identities.md), kept where the rules allow them, under the tightest terms
 * of those kept.  A responder that does not normalise is dropped (the
 * reason logged and audited); none left: Invalid ID when none normalised,
 * else a policy refusal.
 */
static int grant_responders(req_t *r, mikey_tp_t *g, policy_decision_t *terms,
			    bool *changed)
{
	const mikey_tp_t *req = &r->in.ticket.policy;
	size_t invalid = 0;
	g->nidrr = 0;
	for (size_t i = 0; i < req->nidrr; i++) {
		const mikey_id_t *q = &req->idrr[i];
		char *norm = r->ids[g->nidrr];
		size_t n = 0;
		const char *why = NULL;
		if (identity_pattern_normalise(q->id_type, q->id.data, q->id.len, norm,
					       sizeof(r->ids[0]), &n, &why) != KMS_EOK) {
			log_req_notice(r->rid, "responder %zu of the TP dropped: %s",
				       i + 1, why);
			r->reason = why;
			invalid++;
			*changed = true;
			continue;
		}
		mikey_id_t id = { MIKEY_ROLE_R,
				  MIKEY_ID_NAI,
				  { (const uint8_t *)norm, n } };
		policy_decision_t d;
		if (!responder_granted(r, &id, &d)) {
			*changed = true;
			continue;
		}
		*changed |= id_changed(q, norm, n);
		g->idrr[g->nidrr++] = id;
		if (d.max_validity != 0 && d.max_validity < terms->max_validity) {
			terms->max_validity = d.max_validity;
		}
		terms->reuse = terms->reuse && d.reuse;
		terms->init_keys = terms->init_keys && d.init_keys;
		terms->responder_rand = terms->responder_rand && d.responder_rand;
		terms->responder_keys = terms->responder_keys && d.responder_keys;
	}
	if (g->nidrr == 0) {
		return invalid == req->nidrr && invalid > 0 ? KMS_EID : KMS_EPOLICY;
	}
	r->rule_id = -1;
	return KMS_EOK;
}

/* The ticket's type: the requested one when served, else the configured
 * default (docs/mikey-profile.md row 5); subtype and version 1. */
static void grant_type(req_t *r, mikey_tp_t *g, bool *changed)
{
	const mikey_tp_t *req = &r->in.ticket.policy;
	if (!kms_ticket_type_served(req->ticket_type)) {
		g->ticket_type = kms_config_ticket_type(r->svc->cfg);
		r->reason = "Ticket Type not served: the configured default is issued";
		*changed = true;
	}
	g->subtype = KMS_TICKET_SUBTYPE;
	g->version = KMS_TICKET_VERSION;
	*changed |= req->subtype != g->subtype || req->version != g->version;
}

/* Validity: from now (or the requested later start) to the capped end;
 * without TRe the default lifetime within the cap, which is no change. */
static int grant_validity(req_t *r, mikey_tp_t *g, uint32_t max_validity,
			  int64_t *not_before, int64_t *not_after, bool *changed)
{
	const kms_config_t *cfg = r->svc->cfg;
	const mikey_tp_t *req = &r->in.ticket.policy;
	uint32_t lifetime =
	    cfg->ticket_lifetime < max_validity ? cfg->ticket_lifetime : max_validity;
	int64_t start = r->now, end = r->now + lifetime;
	if (req->has_trs && mikey_ts_to_unix(&req->trs, &start) != KMS_EOK) {
		return KMS_ETPPAR;
	}
	if (start < r->now) {
		start = r->now;
		*changed = true;
	}
	if (req->has_tre && mikey_ts_to_unix(&req->tre, &end) != KMS_EOK) {
		return KMS_ETPPAR;
	}
	if (end > r->now + (int64_t)max_validity) {
		end = r->now + max_validity;
		*changed = true;
	}
	if (end <= start) {
		return KMS_ETPPAR;
	}
	g->has_trs = true;
	g->trs = (mikey_ts_t){ MIKEY_TR_START, MIKEY_TS_NTP_UTC,
			       mikey_ntp_from_unix(start, 0) };
	g->has_tre = true;
	g->tre =
	    (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(end, 0) };
	*not_before = start;
	*not_after = end;
	return KMS_EOK;
}

/* IDRkms is this KMS; IDRi the authenticated requester (as NAI).  Filling
 * in an identity the TP left out is no change; another form of it is. */
static int grant_identities(req_t *r, mikey_tp_t *g, bool *changed)
{
	const kms_config_t *cfg = r->svc->cfg;
	const mikey_tp_t *req = &r->in.ticket.policy;
	if (req->has_idrkms &&
	    !identity_kms_match(cfg->kms_id, req->idrkms.id.data, req->idrkms.id.len)) {
		r->reason = "the TP's IDRkms names another KMS";
		return KMS_EID;
	}
	size_t n = strlen(cfg->kms_id);
	*changed |= req->has_idrkms && id_changed(&req->idrkms, cfg->kms_id, n);
	g->has_idrkms = true;
	g->idrkms = (mikey_id_t){ MIKEY_ROLE_KMS,
				  MIKEY_ID_NAI,
				  { (const uint8_t *)cfg->kms_id, n } };
	if (req->has_idri) {
		size_t len = 0;
		if (identity_normalise(req->idri.id_type, req->idri.id.data,
				       req->idri.id.len, r->idri, sizeof(r->idri), &len,
				       NULL) != KMS_EOK ||
		    len != r->requester.len ||
		    memcmp(r->idri, r->requester.data, len) != 0) {
			r->reason = "the TP's IDRi is not the requester";
			return KMS_EPOLICY;
		}
		*changed |= id_changed(&req->idri, (const char *)r->requester.data,
				       r->requester.len);
	}
	g->has_idri = true;
	g->idri = (mikey_id_t){ MIKEY_ROLE_I, MIKEY_ID_NAI, r->requester };
	return KMS_EOK;
}

/*
 * Flags: KMS-generated, resolve mandatory, TRANSFER_RESP; forking always
 * (TS 33.328 6.2.3.6) or, with policy.forking = on_request, when asked or
 * for a group responder (RFC 6043 12.4); reuse (J), Initiator-supplied keys
 * (L), Responder-generated RANDRr (G) and Responder-supplied keys (M) only
 * when asked and where the rules allow.  RANDRi enters the TGK derivation
 * (H) unless G is granted and the request left H out (NOT H => G).  D is
 * ours to set (the KMS generates the ticket): not a change.
 */
static int grant_flags(req_t *r, mikey_tp_t *g, const policy_decision_t *terms,
		       bool changed)
{
	const mikey_tp_t *req = &r->in.ticket.policy;
	bool fork =
	    kms_config_forking_always(r->svc->cfg) || (req->flags & MIKEY_TPF_I) != 0;
	for (size_t i = 0; i < g->nidrr && !fork; i++) {
		fork = identity_is_group((const char *)g->idrr[i].id.data,
					 g->idrr[i].id.len);
	}
	uint16_t on = MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F;
	uint16_t off = 0;
	bool rand_r = terms->responder_rand && (req->flags & MIKEY_TPF_G) != 0;
	on |= rand_r ? 0 : MIKEY_TPF_H;
	off |= rand_r ? 0 : MIKEY_TPF_G;
	off |= terms->responder_keys ? 0 : MIKEY_TPF_M;
	on |= fork ? MIKEY_TPF_I : 0;
	off |= fork ? 0 : MIKEY_TPF_I;
	off |= terms->reuse ? 0 : MIKEY_TPF_J;
	off |= terms->init_keys ? 0 : MIKEY_TPF_L;
	g->flags = mikey_tp_normalise(req->flags | MIKEY_TPF_D, true, on, off);
	if (changed) {
		g->flags |= MIKEY_TPF_K;
	}
	return mikey_tp_check_flags(g->flags, true);
}

/*
 * The policy this KMS grants for a requested one (RFC 6043 5.2.2,
 * docs/mikey-profile.md row 15): identities as KMS user identities (ID Type
 * NAI), the responders the rules allow under the tightest terms, the type
 * served, the validity, the flags.  Any difference from the request sets K
 * (RFC 6043 6.10).  No rekeying interval; the KEMAC template never stays in
 * a granted policy, and this KMS always issues one TGK.
 */
static int grant(req_t *r, mikey_tp_t *g, int64_t *not_before, int64_t *not_after)
{
	const mikey_tp_t *req = &r->in.ticket.policy;
	bool changed = false;
	*g = *req;
	grant_type(r, g, &changed);
	policy_decision_t terms = { .max_validity = r->svc->cfg->max_ticket_lifetime,
				    .reuse = true,
				    .init_keys = true,
				    .responder_rand = true,
				    .responder_keys = true };
	int ret = grant_identities(r, g, &changed);
	if (ret == KMS_EOK) {
		ret = grant_responders(r, g, &terms, &changed);
	}
	if (ret == KMS_EOK) {
		ret = grant_validity(r, g, terms.max_validity, not_before, not_after,
				     &changed);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	changed |= req->has_trr;
	g->has_trr = false;
	changed |= req->has_kemac && !(req->kemac_keys.n == 1 &&
				       req->kemac_keys.k[0].type == MIKEY_KEY_TGK);
	g->has_kemac = false;
	return grant_flags(r, g, &terms, changed);
}

int svc_ticket_request(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	mikey_ticket_t t;
	kms_ticket_content_t content;
	uint8_t encr_alg;
	uint64_t t64;
	memset(&t, 0, sizeof(t));
	int ret = grant(r, &t.policy, &content.not_before, &content.not_after);
	if (ret == KMS_EOK) {
		ret = svc_suite(r, t.policy.prf, &encr_alg);
	}
	size_t tdl = 0;
	if (ret == KMS_EOK) {
		ret = kms_ticket_issue(r->svc->keyring, &t.policy, r->now,
				       content.not_before, content.not_after, &r->scratch,
				       &content, r->ticket_data, sizeof(r->ticket_data),
				       &tdl, &r->ticket_key_id);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	t.ticket_data = (mikey_bytes_t){ r->ticket_data, tdl };
	ret = svc_begin_response(r, MIKEY_DT_REQUEST_RESP, &t64);
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_ticket(&r->out, &t, true);
	}
	if (ret == KMS_EOK) {
		ret = svc_add_kemac(r, encr_alg, t64, &content.keys);
	}
	if (ret == KMS_EOK) {
		ret = svc_finish(r, buf, cap, len);
	}
	return ret;
}
