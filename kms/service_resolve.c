/*
 * The Ticket Resolve of this KMS's own tickets (RFC 6043 5.3, TS 33.328
 * 6.2.3.5-6.2.3.7): open the ticket, find which of the requester's
 * identities it names, check the Initiator Data's Vr, fork MPKr and the
 * TGKs for that identity, answer.  Tickets of other KMSs go to
 * service_zk.c.
 *
 * Tickets an Initiator built itself (flag D = 0, RFC 6043 mode 3) open
 * under the ticket protection key their IDRpsk names (kms/tpk.h), then go
 * through the same checks, forking and answer as this KMS's own.
 */
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/service_int.h"
#include "kms/ticket_base.h"
#include "kms/tpk.h"
#include "mikey/kdf.h"
#include "mikey/mac.h"
#include "policy/rules.h"

size_t svc_ticket_idri(req_t *r, const mikey_tp_t *tp)
{
	size_t len = 0;
	if (!tp->has_idri ||
	    identity_normalise(tp->idri.id_type, tp->idri.id.data, tp->idri.id.len,
			       r->idri, sizeof(r->idri), &len, NULL) != KMS_EOK) {
		return 0;
	}
	return len;
}

/* The ticket's IDRr entries as KMS user or group identities in r->ids
 * (those that do not normalise name no one); how many. */
static size_t ticket_responders(req_t *r, const mikey_tp_t *tp)
{
	size_t nid = 0;
	for (size_t i = 0; i < tp->nidrr; i++) {
		size_t n = 0;
		const mikey_id_t *q = &tp->idrr[i];
		if (identity_pattern_normalise(q->id_type, q->id.data, q->id.len,
					       r->ids[nid], sizeof(r->ids[0]), &n,
					       NULL) == KMS_EOK) {
			nid++;
		}
	}
	return nid;
}

/*
 * A term granted at issue that decision d no longer allows, or NULL:
 * group tickets (named only through a group), Responder-generated RANDRr
 * (G) and Responder-supplied keys (M).
 */
static const char *terms_withdrawn(const mikey_tp_t *tp, const policy_decision_t *d,
				   bool as_user)
{
	if (!as_user && !d->group_ok) {
		return "group tickets are not allowed";
	}
	if ((tp->flags & MIKEY_TPF_G) != 0 && !d->responder_rand) {
		return "the rules no longer allow flag G (Responder RANDRr)";
	}
	if ((tp->flags & MIKEY_TPF_M) != 0 && !d->responder_keys) {
		return "the rules no longer allow flag M (Responder keys)";
	}
	return NULL;
}

/*
 * Which of the requester's KMS user identities the ticket names (one of its
 * IDRr entries, a user or a group identity, TS 33.328 6.2.3.7): the
 * identity of the request first, then the key owner's others (a GBA user's
 * USS, TS 33.328 6.2.3.5).  With check_policy the rules must also still let
 * the ticket's Initiator reach it (rules change after tickets are issued).
 * r->matched gets the identity; KMS_EPOLICY when there is none.
 */
int svc_match_responder(req_t *r, const mikey_tp_t *tp, bool check_policy)
{
	size_t nid = ticket_responders(r, tp);
	size_t idri_len = svc_ticket_idri(r, tp);
	if (check_policy && idri_len == 0) {
		r->reason = "the ticket names no Initiator";
		return KMS_EPOLICY;
	}
	for (size_t k = 0; k <= r->psk.nids; k++) {
		const char *id = k == 0 ? r->who : r->psk.ids[k - 1];
		size_t len = k == 0 ? r->requester.len : strlen(id);
		if (k > 0 && len == r->requester.len && memcmp(id, r->who, len) == 0) {
			continue; /* tried first */
		}
		bool named = false, as_user = false; /* as_user: not only a group */
		for (size_t i = 0; i < nid && !as_user; i++) {
			size_t n = strlen(r->ids[i]);
			if (identity_match(r->ids[i], n, id, len)) {
				named = true;
				as_user = memchr(r->ids[i], '*', n) == NULL;
			}
		}
		if (!named) {
			continue;
		}
		if (check_policy) {
			policy_decision_t d;
			policy_decide(r->svc->policy, r->idri, idri_len, id, len, &d);
			/* Named only through a group: the rules (or
			 * policy.default_group_tickets) must still allow group
			 * tickets, as at issue. */
			const char *why = terms_withdrawn(tp, &d, as_user);
			if (d.effect != POLICY_ALLOW || why != NULL) {
				r->rule_id = d.matched ? d.rule_id : -1;
				if (d.effect == POLICY_ALLOW && r->reason == NULL) {
					r->reason = why;
				}
				continue;
			}
		}
		r->matched = (mikey_bytes_t){ (const uint8_t *)id, len };
		return KMS_EOK;
	}
	if (r->reason == NULL) {
		r->reason = "the ticket does not name the requester";
	}
	return KMS_EPOLICY;
}

/* The Vr MAC of the Initiator Data, keyed from the unforked MPKr (6.10). */
static int check_vr(req_t *r, const mikey_keydata_t *mpkr)
{
	const mikey_ticket_t *t = &r->in.ticket;
	uint8_t key[MIKEY_MAC_MAX], mac[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(t->vr.alg);
	/* Vr's MAC bytes are the last ones of the Initiator Data. */
	size_t vr_mac_off = t->init_data.len - t->vr.mac.len;
	int ret = mikey_kdf_vr_key(&r->prf_cache, t->policy.prf, mpkr->key.data,
				   mpkr->key.len, key, klen);
	if (ret == KMS_EOK) {
		ret = mikey_init_data_mac(t->init_data.data, t->init_data.len, vr_mac_off,
					  t->vr.alg, key, klen, mac);
	}
	if (ret == KMS_EOK && !secmem_eq(mac, t->vr.mac.data, t->vr.mac.len)) {
		ret = KMS_EMAC;
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

/* Fork MPKr and every TGK for r->matched with a fresh RANDRkms (RFC 6043
 * 5.1.1), after the Vr check; the forked keys go to r->keybuf. */
static int fork_keys(req_t *r, mikey_keys_t *keys)
{
	const mikey_ticket_t *t = &r->in.ticket;
	if (!t->has_init) {
		return KMS_EMALFORMED;
	}
	int ret = check_vr(r, &keys->k[1]);
	if (ret == KMS_EOK) {
		ret = crypto_random(r->randrkms, sizeof(r->randrkms));
	}
	mikey_bytes_t rk = { r->randrkms, sizeof(r->randrkms) };
	for (size_t i = 1; ret == KMS_EOK && i < keys->n; i++) {
		mikey_keydata_t *k = &keys->k[i];
		if (k->type != MIKEY_KEY_MPK && k->type != MIKEY_KEY_TGK) {
			continue; /* TEKs and GTGKs are never forked */
		}
		if (k->key.len > MIKEY_KEY_MAX || i >= 3) {
			return KMS_ETICKET;
		}
		ret = mikey_kdf_fork(
		    &r->prf_cache, t->policy.prf,
		    k->type == MIKEY_KEY_MPK ? MIKEY_FORK_MPKR : MIKEY_FORK_TGK,
		    k->key.data, k->key.len, &r->matched, &rk, r->keybuf[i]);
		k->key.data = r->keybuf[i];
	}
	return ret;
}

/*
 * The clear policy of a D = 0 ticket: Type 1, and flags we can honour.  G and
 * M need the rule's responder terms, checked with the responder (as for the
 * KMS's own tickets, svc_match_responder()).
 */
static int initiator_ticket_policy(req_t *r, const mikey_tp_t *tp)
{
	if (tp->ticket_type != KMS_TICKET_TYPE_BASE ||
	    tp->subtype != KMS_TICKET_BASE_SUBTYPE ||
	    tp->version != KMS_TICKET_BASE_VERSION) {
		r->reason = "an Initiator's ticket must be a MIKEY base ticket (Type 1)";
		return KMS_ETICKET;
	}
	if ((tp->flags & MIKEY_TPF_L) == 0) {
		r->reason = "an Initiator's ticket must set L (NOT D => L)";
		return KMS_ETPPAR;
	}
	if ((tp->flags & MIKEY_TPF_K) != 0) {
		r->reason = "K in an Initiator's ticket (K => D)";
		return KMS_ETPPAR;
	}
	if ((tp->flags & MIKEY_TPF_I) != 0 && (tp->flags & MIKEY_TPF_E) == 0) {
		r->reason = "key forking without E (I => E)";
		return KMS_ETPPAR;
	}
	return KMS_EOK;
}

/* The TPK the ticket's IDRpsk names, owned by the ticket's Initiator. */
static int initiator_ticket_key(req_t *r, const mikey_tp_t *tp, const mikey_tb_t *b,
				uint8_t tpk[MIKEY_TPK_LEN])
{
	const char *owner = NULL;
	r->ticket_key_id = b->tpk_id;
	int ret = tpk_find(r->svc->tpks, b->tpk_id, tpk, &owner);
	if (ret == KMS_ENOENT) {
		r->reason = "unknown ticket protection key";
		return KMS_ETICKET;
	}
	if (ret != KMS_EOK) {
		r->reason = "retired ticket protection key";
		return KMS_EEXPIRED;
	}
	size_t idri_len = svc_ticket_idri(r, tp);
	if (idri_len == 0 || strlen(owner) != idri_len ||
	    memcmp(owner, r->idri, idri_len) != 0) {
		secmem_wipe(tpk, MIKEY_TPK_LEN);
		r->reason = "the ticket's Initiator does not own its protection key";
		return KMS_EAUTH;
	}
	return KMS_EOK;
}

/* Open a D = 0 ticket: its TPK, V (constant time) before the KEMAC. */
static int initiator_ticket_open(req_t *r, kms_ticket_content_t *content)
{
	const mikey_ticket_t *t = &r->in.ticket;
	const mikey_tp_t *tp = &t->policy;
	uint8_t tpk[MIKEY_TPK_LEN];
	mikey_bytes_t aad;
	mikey_tb_t b;
	kms_ticket_content_t tc;
	int ret = initiator_ticket_policy(r, tp);
	if (ret == KMS_EOK && (mikey_tb_parse(&t->ticket_data, tp->prf, &b) != KMS_EOK ||
			       kms_ticket_aad_msg(&r->in, &aad) != KMS_EOK)) {
		r->reason = "the Ticket Data is not a base ticket";
		ret = KMS_ETICKET;
	}
	if (ret == KMS_EOK) {
		ret = initiator_ticket_key(r, tp, &b, tpk);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	ret =
	    mikey_tb_open(tpk, tp->prf, &aad, &t->ticket_data, &b, &r->scratch, &tc.keys);
	secmem_wipe(tpk, sizeof(tpk));
	if (ret == KMS_EOK) {
		ret = kms_ticket_base_validity(tp, &tc.not_before, &tc.not_after);
	}
	if (ret != KMS_EOK) {
		r->reason = "the ticket does not verify under its protection key";
		return KMS_ETICKET;
	}
	*content = tc;
	return KMS_EOK;
}

/*
 * What the local policy says of a D = 0 ticket for the matched responder:
 * initiator tickets allowed (rule term or policy.default_initiator_tickets),
 * a lifetime within the rule's cap and kms.max_ticket_lifetime, J only
 * where reuse is allowed.
 */
static int initiator_ticket_terms(req_t *r, const mikey_tp_t *tp,
				  const kms_ticket_content_t *c)
{
	policy_decision_t d;
	size_t idri_len = svc_ticket_idri(r, tp);
	uint32_t cap = r->svc->cfg->max_ticket_lifetime;
	policy_decide(r->svc->policy, r->idri, idri_len, (const char *)r->matched.data,
		      r->matched.len, &d);
	if (!d.initiator_tickets) {
		r->rule_id = d.matched ? d.rule_id : -1;
		r->reason = "tickets built by the Initiator are not allowed";
		return KMS_EPOLICY;
	}
	if (d.max_validity != 0 && d.max_validity < cap) {
		cap = d.max_validity;
	}
	if (c->not_after < c->not_before || c->not_after - c->not_before > (int64_t)cap) {
		r->reason = "the ticket's lifetime exceeds the cap";
		return KMS_ETPPAR;
	}
	if ((tp->flags & MIKEY_TPF_J) != 0 && !d.reuse) {
		r->reason = "reuse (J) is not allowed";
		return KMS_ETPPAR;
	}
	return KMS_EOK;
}

int svc_ticket_resolve(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	const mikey_ticket_t *t = &r->in.ticket;
	const mikey_tp_t *tp = &t->policy;
	kms_ticket_content_t content;
	uint8_t encr_alg;
	if (!tp->has_idrkms) {
		r->reason = "the ticket names no KMS";
		return KMS_ETICKET; /* this KMS always names itself in its tickets */
	}
	/* Tickets of other KMSs go to them over Zk, once. */
	if (!identity_kms_match(r->svc->cfg->kms_id, tp->idrkms.id.data,
				tp->idrkms.id.len)) {
		return r->via != NULL ? KMS_EZK_LOOP : svc_forward(r, buf, cap, len);
	}
	/* The plaintext is never longer than the ticket data. */
	r->plain_used = t->ticket_data.len < sizeof(r->scratch.plain)
			    ? t->ticket_data.len
			    : sizeof(r->scratch.plain);
	bool by_initiator = (tp->flags & MIKEY_TPF_D) == 0;
	int ret = by_initiator ? initiator_ticket_open(r, &content)
			       : kms_ticket_redeem(r->svc->keyring, &r->in, &r->scratch,
						   &content, &r->ticket_key_id);
	if (ret == KMS_EOK &&
	    (r->now < content.not_before - (int64_t)r->svc->cfg->clock_skew ||
	     r->now > content.not_after)) {
		ret = KMS_EEXPIRED;
	}
	if (ret == KMS_EOK) {
		ret = svc_match_responder(r, tp, true);
	}
	if (ret == KMS_EOK && by_initiator) {
		ret = initiator_ticket_terms(r, tp, &content);
	}
	if (ret == KMS_EOK) {
		ret = svc_suite(r, tp->prf, &encr_alg);
	}
	/* Every served type: MPKi, MPKr, then TGKs, all of the suite's length. */
	mikey_keys_t keys = content.keys;
	if (ret == KMS_EOK && (keys.n < 3 || keys.k[0].type != MIKEY_KEY_MPK ||
			       keys.k[1].type != MIKEY_KEY_MPK)) {
		ret = KMS_ETICKET;
	}
	bool forking = (tp->flags & MIKEY_TPF_I) != 0;
	if (ret == KMS_EOK && forking) {
		ret = fork_keys(r, &keys);
	}
	if (ret == KMS_EOK) {
		ret = svc_resolve_once(r, content.not_after); /* last: J = 0 */
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	return svc_resolve_resp(r, encr_alg, &keys, forking ? r->randrkms : NULL,
				sizeof(r->randrkms), buf, cap, len);
}
