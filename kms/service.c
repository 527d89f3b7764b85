/*
 * Ticket Request and Ticket Resolve (RFC 6043 sections 4-5) as the KMS
 * answers them.  Order of checks for an initial message (RFC 3830 5.3):
 * parse, timestamp window, key lookup, MAC (constant time), identity
 * authorisation, replay cache (authenticated messages only), then policy and
 * the response.  Nothing is remembered for a message that fails a check.
 */
#include "kms/service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/ticket.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/msg.h"
#include "mikey/prf.h"
#include "mikey/profile.h"
#include "mikey/tp.h"
#include "policy/identity.h"
#include "zk/client.h"
#include "zk/peer.h"

#define RANDRKMS_LEN 32 /* >= the longest MPKr / TGK (RFC 6043 12.1) */
#define KEMAC_MAX 1024
#define HOP_RAND_LEN 32 /* RANDRr of a forwarded RESOLVE_INIT */

static int64_t clock_default(void)
{
	return (int64_t)time(NULL);
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

/*
 * Everything one request holds.  One per thread, reused: the fields before
 * `in` are reset per request; the message structs are reset by
 * decode/init; the buffers are written before they are read; secrets
 * (psk, keybuf, plain) are wiped at the end of every request.
 */
typedef struct {
	const kms_service_t *svc;
	const char *rid;
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
	size_t plain_used;     /* bytes of plain that may hold key material */
	const zk_peer_t *via;  /* the peer KMS a Zk request came from */
	const char *zk_to;     /* the peer KMS a resolve was forwarded to */
	int peer_errno;	       /* its MIKEY error number when it refused, or -1 */
	const char *reason;    /* why refused or narrowed (static text), or NULL */
	mikey_bytes_t matched; /* the requester's identity that matched the ticket */
	/* -- not reset -- */
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

static const char *type_name(kms_reqtype_t t)
{
	return t == KMS_REQ_TICKET ? "ticketrequest" : "ticketresolve";
}

/* --- authentication ------------------------------------------------------ */

static int auth_key(req_t *r, uint8_t dir, uint8_t *key, size_t key_len)
{
	bool request = r->type == KMS_REQ_TICKET;
	return mikey_kdf_msg_key(r->in.hdr.prf, r->psk.key, r->psk.key_len, MIKEY_DK_AUTH,
				 r->in.hdr.csb_id, dir, request ? &r->randri : NULL,
				 request ? NULL : &r->randrr, key, key_len);
}

/*
 * A request forwarded over Zk: the key is the per-peer key and the one
 * identity it is good for is the responder the peer vouches for (the peer
 * authenticated its UE), as its KMS user identity.  An IDRpsk, when present,
 * must name the peer.
 */
static int peer_psk(req_t *r, const mikey_id_t *pskid, size_t who_len)
{
	const zk_peer_t *p = r->via;
	size_t n = strlen(p->kms_id);
	if (pskid != NULL &&
	    (pskid->id.len != n || memcmp(pskid->id.data, p->kms_id, n) != 0)) {
		r->reason = "IDRpsk does not name the peer KMS";
		return KMS_EID;
	}
	if (p->key_len > sizeof(r->psk.key) || who_len > KMS_IDENTITY_MAX) {
		return KMS_EID;
	}
	/* Only for the identities this peer serves (kmsctl peer --responders). */
	if (!identity_match(p->responders, strlen(p->responders), r->who, who_len)) {
		log_req_notice(r->rid,
			       "Zk: peer %s may not vouch for '%s' (responders %s)",
			       p->kms_id, r->who, p->responders);
		r->reason = "the peer KMS may not vouch for this responder";
		return KMS_EPOLICY;
	}
	memset(&r->psk, 0, sizeof(r->psk));
	memcpy(r->psk.key, p->key, p->key_len);
	r->psk.key_len = p->key_len;
	memcpy(r->psk.ids[0], r->who, who_len);
	r->psk.nids = 1;
	return KMS_EOK;
}

/*
 * The V MAC over the message and the identities of RFC 6043 5.5 (IDRkms
 * absent: this KMS's identity, docs/mikey-profile.md row 2).  With
 * kms.accept_mac_without_kms_id a message without IDRkms may instead MAC
 * the identities present only (a documented deviation).
 */
static int verify_mac(req_t *r, const mikey_v_t *v, bool has_kms)
{
	const kms_config_t *cfg = r->svc->cfg;
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(v->alg);
	mikey_bytes_t ids[2];
	mikey_bytes_t kms_id = { (const uint8_t *)cfg->kms_id, strlen(cfg->kms_id) };
	int ret = auth_key(r, MIKEY_DIR_INIT, key, klen);
	if (ret == KMS_EOK) {
		ret = mikey_profile_init_identities(&r->in, &kms_id, ids);
	}
	if (ret == KMS_EOK) {
		ret = mikey_mac_verify(&r->in, key, klen, ids, 2);
	}
	if (ret == KMS_EMAC && !has_kms && cfg->accept_mac_without_kms_id) {
		ret = mikey_mac_verify(&r->in, key, klen, ids, 1);
		if (ret == KMS_EOK) {
			log_req_info(r->rid, "MAC without the KMS identity accepted "
					     "(kms.accept_mac_without_kms_id)");
		}
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

static int authenticate(req_t *r)
{
	const kms_service_t *svc = r->svc;
	uint8_t expected_dt = r->type == KMS_REQ_TICKET ? MIKEY_DT_REQUEST_INIT_PSK
							: MIKEY_DT_RESOLVE_INIT_PSK;
	uint8_t pk_dt = r->type == KMS_REQ_TICKET ? MIKEY_DT_REQUEST_INIT_PK
						  : MIKEY_DT_RESOLVE_INIT_PK;
	if (r->in.hdr.data_type == pk_dt) {
		return KMS_ENOTSUP;
	}
	if (r->in.hdr.data_type != expected_dt) {
		return KMS_EDT;
	}
	/* 1. Timestamp inside the skew window (and after restart - skew). */
	int64_t t = 0;
	const mikey_ts_t *ts = mikey_msg_ts(&r->in);
	int ret = mikey_ts_to_unix(ts, &t);
	if (ret == KMS_EOK) {
		ret = replay_check_time(svc->replay, t, r->now);
	}
	if (ret != KMS_EOK) {
		return KMS_ETS;
	}
	/* 2. Who asks (as a KMS user identity, docs/identities.md), with which key. */
	uint8_t role = r->type == KMS_REQ_TICKET ? MIKEY_ROLE_I : MIKEY_ROLE_R;
	const mikey_id_t *who = mikey_msg_idr(&r->in, role);
	if (who == NULL || who->id.len > KMS_IDENTITY_MAX) {
		r->reason = who == NULL ? "no IDRi/IDRr (this KMS requires it)"
					: "identity longer than 256 bytes";
		return KMS_EID;
	}
	r->requester = who->id; /* as sent, for the log, until it is known */
	const char *why = NULL;
	size_t who_len = 0;
	bool named = identity_normalise(who->id_type, who->id.data, who->id.len, r->who,
					sizeof(r->who), &who_len, &why) == KMS_EOK;
	const mikey_id_t *kms = mikey_msg_idr(&r->in, MIKEY_ROLE_KMS);
	if (kms != NULL &&
	    !identity_kms_match(svc->cfg->kms_id, kms->id.data, kms->id.len)) {
		r->reason = "IDRkms names another KMS";
		return KMS_EID;
	}
	const mikey_rand_t *ri = mikey_msg_randr(&r->in, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(&r->in, MIKEY_RAND_R);
	r->randri = ri != NULL ? ri->rand : (mikey_bytes_t){ NULL, 0 };
	r->randrr = rr != NULL ? rr->rand : (mikey_bytes_t){ NULL, 0 };
	const mikey_id_t *pskid = mikey_msg_idr(&r->in, MIKEY_ROLE_PSK);
	if (pskid != NULL && pskid->id_type != MIKEY_ID_NAI &&
	    pskid->id_type != MIKEY_ID_BYTES) {
		r->reason = "IDRpsk of ID Type URI";
		return KMS_EID; /* docs/mikey-profile.md row 4: NAI or byte string */
	}
	if (r->via != NULL) {
		ret = named ? peer_psk(r, pskid, who_len) : KMS_EID;
	} else {
		/* Without IDRpsk the requester's KMS user identity names the key
		 * (as sent when it has none: the lookup then fails). */
		mikey_bytes_t name = who->id;
		if (pskid != NULL) {
			name = pskid->id;
		} else if (named) {
			name = (mikey_bytes_t){ (const uint8_t *)r->who, who_len };
		}
		ret = svc->psk->lookup(svc->psk, name.data, name.len, &r->psk);
	}
	if (ret != KMS_EOK) {
		if (ret == KMS_EID && r->reason == NULL) {
			r->reason = why;
		}
		return ret;
	}
	r->have_psk = true;
	if (r->psk.expires != 0 && r->psk.expires <= r->now) {
		return KMS_EAUTH;
	}
	/* 3. The MAC, with the algorithm set that matches the PRF. */
	const mikey_v_t *v = mikey_msg_v(&r->in);
	r->auth_alg = v->alg;
	ret = mikey_alg_check(r->in.hdr.prf, 0, v->alg, 0); /* set rule: session keys */
	if (ret == KMS_EOK) {
		ret = verify_mac(r, v, kms != NULL);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	r->authenticated = true;
	/* 4. TS 33.328 6.2.3.5: the identity in the request is the key owner's. */
	if (!named) {
		r->reason = why;
		return KMS_EID;
	}
	r->requester = (mikey_bytes_t){ (const uint8_t *)r->who, who_len };
	if (!kms_psk_has_identity(&r->psk, r->requester.data, r->requester.len)) {
		r->reason = "the identity is not one of the key owner's";
		return KMS_EPOLICY;
	}
	/*
	 * 5. Replay: only authenticated messages enter the cache, named by
	 * their verified MAC (20 or 32 bytes, zero-padded): it covers every
	 * byte before it, so another message with the same name would be a MAC
	 * forgery or collision, and it costs no second pass over the message.
	 */
	uint8_t digest[REPLAY_DIGEST_LEN] = { 0 };
	memcpy(digest, v->mac.data,
	       v->mac.len < sizeof(digest) ? v->mac.len : sizeof(digest));
	return replay_check_and_add(svc->replay, digest, t, r->now);
}

/* --- response building --------------------------------------------------- */

static int suite(req_t *r, uint8_t prf, uint8_t *encr_alg)
{
	r->key_len = prf == MIKEY_PRF_HMAC_SHA256 ? 32 : 16;
	*encr_alg =
	    prf == MIKEY_PRF_HMAC_SHA256 ? MIKEY_ENCR_AES_CM_256 : MIKEY_ENCR_AES_CM_128;
	return mikey_alg_check(prf, *encr_alg, r->auth_alg, r->key_len);
}

/* Encode out, then MAC it over RESP || the complete INIT (RFC 6043 5.5). */
static int finish(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(r->auth_alg);
	int ret = mikey_msg_add_v(&r->out, r->auth_alg);
	if (ret == KMS_EOK) {
		ret = mikey_msg_build(&r->out, buf, cap, len);
	}
	if (ret == KMS_EOK) {
		ret = auth_key(r, MIKEY_DIR_RESP, key, klen);
	}
	mikey_bytes_t init = { r->in.buf, r->in.len };
	if (ret == KMS_EOK) {
		ret = mikey_mac_sign_last(buf, *len, r->auth_alg, key, klen, &init, 1);
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

static int begin_response(req_t *r, uint8_t dt, uint64_t *t64)
{
	*t64 = mikey_ntp_from_unix(r->now, 0);
	mikey_msg_init(&r->out, dt, r->in.hdr.csb_id, r->in.hdr.prf);
	int ret = mikey_msg_add_ts(&r->out, 0, MIKEY_TS_NTP_UTC, *t64);
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_id(&r->out, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
				       (const uint8_t *)r->svc->cfg->kms_id,
				       strlen(r->svc->cfg->kms_id));
	}
	return ret;
}

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

/*
 * The policy this KMS grants for a requested one (RFC 6043 5.2.2,
 * docs/mikey-profile.md row 15): identities as KMS user identities (ID Type
 * NAI), the responders the rules allow under the tightest terms, the type
 * served, the validity, the flags.  Any difference from the request sets K
 * (RFC 6043 6.10).
 */
static int grant(req_t *r, mikey_tp_t *g, int64_t *not_before, int64_t *not_after)
{
	const kms_config_t *cfg = r->svc->cfg;
	const mikey_tp_t *req = &r->in.ticket.policy;
	bool changed = false;
	*g = *req;
	grant_type(r, g, &changed);
	/* IDRkms is this KMS; IDRi the authenticated requester. */
	if (req->has_idrkms &&
	    !identity_kms_match(cfg->kms_id, req->idrkms.id.data, req->idrkms.id.len)) {
		r->reason = "the TP's IDRkms names another KMS";
		return KMS_EID;
	}
	size_t n = strlen(cfg->kms_id);
	/* Filling in an identity the TP left out is no change; another form is. */
	changed |= req->has_idrkms && id_changed(&req->idrkms, cfg->kms_id, n);
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
	}
	changed |=
	    req->has_idri &&
	    id_changed(&req->idri, (const char *)r->requester.data, r->requester.len);
	g->has_idri = true;
	g->idri = (mikey_id_t){ MIKEY_ROLE_I, MIKEY_ID_NAI, r->requester };
	policy_decision_t terms = { .max_validity = cfg->max_ticket_lifetime,
				    .reuse = true,
				    .init_keys = true };
	int ret = grant_responders(r, g, &terms, &changed);
	if (ret == KMS_EOK) {
		ret = grant_validity(r, g, terms.max_validity, not_before, not_after,
				     &changed);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	/* No rekeying interval; the KEMAC template never stays in a granted policy,
	 * and this KMS always issues one TGK. */
	changed |= req->has_trr;
	g->has_trr = false;
	if (req->has_kemac &&
	    !(req->kemac_keys.n == 1 && req->kemac_keys.k[0].type == MIKEY_KEY_TGK)) {
		changed = true;
	}
	g->has_kemac = false;
	/* Flags: KMS-generated, resolve mandatory, TRANSFER_RESP, RANDRi in the
	 * TGK derivation; forking always (TS 33.328 6.2.3.6) or, with
	 * policy.forking = on_request, when asked or for a group responder
	 * (RFC 6043 12.4); no Responder-supplied keys; reuse (J) and
	 * Initiator-supplied keys (L) only where the rules allow. */
	bool fork = kms_config_forking_always(cfg) || (req->flags & MIKEY_TPF_I) != 0;
	for (size_t i = 0; i < g->nidrr && !fork; i++) {
		fork = identity_is_group((const char *)g->idrr[i].id.data,
					 g->idrr[i].id.len);
	}
	uint16_t on = MIKEY_TPF_D | MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H;
	uint16_t off = MIKEY_TPF_M | MIKEY_TPF_G;
	if (fork) {
		on |= MIKEY_TPF_I;
	} else {
		off |= MIKEY_TPF_I;
	}
	if (!terms.reuse) {
		off |= MIKEY_TPF_J;
	}
	if (!terms.init_keys) {
		off |= MIKEY_TPF_L;
	}
	/* D is ours to set (the KMS generates the ticket): not a change. */
	g->flags = mikey_tp_normalise(req->flags | MIKEY_TPF_D, true, on, off);
	if (changed) {
		g->flags |= MIKEY_TPF_K;
	}
	return mikey_tp_check_flags(g->flags, true);
}

static int add_kemac(req_t *r, uint8_t encr_alg, uint64_t t64, const mikey_keys_t *keys)
{
	size_t len = 0;
	bool request = r->type == KMS_REQ_TICKET;
	int ret = mikey_kemac_seal(
	    r->in.hdr.prf, encr_alg, r->psk.key, r->psk.key_len, r->in.hdr.csb_id,
	    MIKEY_DIR_RESP, request ? &r->randri : NULL, request ? NULL : &r->randrr, t64,
	    keys, r->kemac, sizeof(r->kemac), &len);
	if (ret != KMS_EOK) {
		return ret;
	}
	mikey_kemac_t k = { encr_alg, { r->kemac, len }, MIKEY_MAC_NULL, { NULL, 0 } };
	return mikey_msg_add_kemac(&r->out, &k);
}

static int ticket_request(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	mikey_ticket_t t;
	kms_ticket_content_t content;
	uint8_t encr_alg;
	uint64_t t64;
	memset(&t, 0, sizeof(t));
	int ret = grant(r, &t.policy, &content.not_before, &content.not_after);
	if (ret == KMS_EOK) {
		ret = suite(r, t.policy.prf, &encr_alg);
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
	ret = begin_response(r, MIKEY_DT_REQUEST_RESP, &t64);
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_ticket(&r->out, &t, true);
	}
	if (ret == KMS_EOK) {
		ret = add_kemac(r, encr_alg, t64, &content.keys);
	}
	if (ret == KMS_EOK) {
		ret = finish(r, buf, cap, len);
	}
	return ret;
}

/*
 * Which of the requester's KMS user identities the ticket names (one of its
 * IDRr entries, a user or a group identity, TS 33.328 6.2.3.7): the
 * identity of the request first, then the key owner's others (a GBA user's
 * USS, TS 33.328 6.2.3.5).  With check_policy the rules must also still let
 * the ticket's Initiator reach it (rules change after tickets are issued).
 * r->matched gets the identity; KMS_EPOLICY when there is none.
 */
static int match_responder(req_t *r, const mikey_tp_t *tp, bool check_policy)
{
	size_t nid = 0, idri_len = 0;
	for (size_t i = 0; i < tp->nidrr; i++) {
		size_t n = 0;
		const mikey_id_t *q = &tp->idrr[i];
		if (identity_pattern_normalise(q->id_type, q->id.data, q->id.len,
					       r->ids[nid], sizeof(r->ids[0]), &n,
					       NULL) == KMS_EOK) {
			nid++;
		}
	}
	bool idri_ok =
	    tp->has_idri &&
	    identity_normalise(tp->idri.id_type, tp->idri.id.data, tp->idri.id.len,
			       r->idri, sizeof(r->idri), &idri_len, NULL) == KMS_EOK;
	if (check_policy && !idri_ok) {
		r->reason = "the ticket names no Initiator";
		return KMS_EPOLICY;
	}
	for (size_t k = 0; k <= r->psk.nids; k++) {
		const char *id = k == 0 ? r->who : r->psk.ids[k - 1];
		size_t len = k == 0 ? r->requester.len : strlen(id);
		if (k > 0 && len == r->requester.len && memcmp(id, r->who, len) == 0) {
			continue; /* tried first */
		}
		bool named = false;
		for (size_t i = 0; i < nid && !named; i++) {
			named = identity_match(r->ids[i], strlen(r->ids[i]), id, len);
		}
		if (!named) {
			continue;
		}
		if (check_policy) {
			policy_decision_t d;
			policy_decide(r->svc->policy, idri_ok ? r->idri : "", idri_len,
				      id, len, &d);
			if (d.effect != POLICY_ALLOW) {
				r->rule_id = d.matched ? d.rule_id : -1;
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
	int ret =
	    mikey_kdf_vr_key(t->policy.prf, mpkr->key.data, mpkr->key.len, key, klen);
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

/* --- forwarding over Zk (docs/federation.md) -------------------------------- */

/* Our own RESOLVE_INIT to the issuing KMS: the UE's ticket (Initiator Data
 * included) for the UE's KMS user identity the ticket names (r->matched),
 * MACed with the per-peer key. */
static int hop_request(req_t *r, const zk_peer_t *peer, size_t *len)
{
	const kms_config_t *cfg = r->svc->cfg;
	uint32_t csb = r->in.hdr.csb_id;
	uint8_t prf = r->in.hdr.prf;
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(r->auth_alg);
	mikey_bytes_t rr = { r->hop_rand, sizeof(r->hop_rand) };
	mikey_bytes_t peer_id = { (const uint8_t *)peer->kms_id, strlen(peer->kms_id) };
	mikey_bytes_t ids[2];
	int ret = crypto_random(r->hop_rand, sizeof(r->hop_rand));
	mikey_msg_init(&r->out, MIKEY_DT_RESOLVE_INIT_PSK, csb, prf);
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_ts(&r->out, 0, MIKEY_TS_NTP_UTC,
				       mikey_ntp_from_unix(r->now, 0));
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_rand(&r->out, MIKEY_RAND_R, r->hop_rand,
					 sizeof(r->hop_rand));
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_id(&r->out, MIKEY_ROLE_R, MIKEY_ID_NAI,
				       r->matched.data, r->matched.len);
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_id(&r->out, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
				       peer_id.data, peer_id.len);
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_ticket(&r->out, &r->in.ticket, true);
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_id(&r->out, MIKEY_ROLE_PSK, MIKEY_ID_BYTES,
				       (const uint8_t *)cfg->kms_id, strlen(cfg->kms_id));
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_v(&r->out, r->auth_alg);
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_build(&r->out, r->hop_req, sizeof(r->hop_req), len);
	}
	if (ret == KMS_EOK) {
		ret = mikey_kdf_msg_key(prf, peer->key, peer->key_len, MIKEY_DK_AUTH, csb,
					MIKEY_DIR_INIT, NULL, &rr, key, klen);
	}
	if (ret == KMS_EOK) {
		ret = mikey_msg_decode(r->hop_req, *len, &r->hop);
	}
	if (ret == KMS_EOK) {
		ret = mikey_profile_init_identities(&r->hop, &peer_id, ids);
	}
	if (ret == KMS_EOK) {
		ret =
		    mikey_mac_sign_last(r->hop_req, *len, r->auth_alg, key, klen, ids, 2);
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

/* The issuing KMS's RESOLVE_RESP: its MAC, then its KEMAC (per-peer key). */
static int hop_answer(req_t *r, const zk_peer_t *peer, size_t req_len, size_t len,
		      mikey_keys_t *keys, const mikey_rand_t **randrkms)
{
	uint32_t csb = r->in.hdr.csb_id;
	uint8_t prf = r->in.hdr.prf;
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(r->auth_alg), plen = 0;
	uint64_t t64 = 0;
	mikey_bytes_t rr = { r->hop_rand, sizeof(r->hop_rand) };
	mikey_bytes_t init = { r->hop_req, req_len };
	int ret = mikey_msg_parse(r->hop_resp, len, &r->hop);
	if (ret == KMS_EOK &&
	    (r->hop.hdr.data_type != MIKEY_DT_RESOLVE_RESP || r->hop.hdr.csb_id != csb ||
	     mikey_msg_v(&r->hop) == NULL || mikey_msg_v(&r->hop)->alg != r->auth_alg)) {
		ret = KMS_EMALFORMED;
	}
	if (ret == KMS_EOK) {
		ret = mikey_kdf_msg_key(prf, peer->key, peer->key_len, MIKEY_DK_AUTH, csb,
					MIKEY_DIR_RESP, NULL, &rr, key, klen);
	}
	if (ret == KMS_EOK) {
		ret = mikey_mac_verify(&r->hop, key, klen, &init, 1);
	}
	secmem_wipe(key, sizeof(key));
	if (ret == KMS_EOK) {
		ret = mikey_profile_kemac_ts(&r->hop, &t64);
	}
	r->plain_used = sizeof(r->scratch.plain);
	if (ret == KMS_EOK) {
		ret = mikey_kemac_open(prf, mikey_msg_kemac(&r->hop), peer->key,
				       peer->key_len, csb, MIKEY_DIR_RESP, NULL, &rr, t64,
				       r->scratch.plain, sizeof(r->scratch.plain), &plen,
				       keys);
	}
	/* The keys were forked for the identity we named (as a KMS user
	 * identity), with its RANDRkms; a ticket without forking has neither. */
	const mikey_id_t *idr = mikey_msg_idr(&r->hop, MIKEY_ROLE_R);
	*randrkms = mikey_msg_randr(&r->hop, MIKEY_RAND_KMS);
	bool forked = (r->in.ticket.policy.flags & MIKEY_TPF_I) != 0;
	size_t n = 0;
	if (ret == KMS_EOK && forked &&
	    (idr == NULL || *randrkms == NULL ||
	     identity_normalise(idr->id_type, idr->id.data, idr->id.len, r->idri,
				sizeof(r->idri), &n, NULL) != KMS_EOK ||
	     n != r->matched.len || memcmp(r->idri, r->matched.data, n) != 0)) {
		ret = KMS_EID;
	}
	return ret;
}

/*
 * A ticket issued by another KMS (RFC 6043 section 10, TS 33.328 Zk): the
 * UE is authenticated here already; ask the issuing KMS over Zk, then wrap
 * its answer for the UE under the UE's own key.
 */
static int forward(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	const kms_service_t *svc = r->svc;
	const mikey_tp_t *tp = &r->in.ticket.policy;
	const mikey_id_t *kms = &tp->idrkms;
	/*
	 * This KMS's own rules first: may the ticket's Initiator reach our user?
	 * (The issuing KMS then decides about its ticket.)  Without an IDRi no
	 * rule can match and the default effect decides.  Nothing goes out on a
	 * refusal.
	 */
	if (match_responder(r, tp, false) != KMS_EOK) {
		r->reason = NULL; /* the issuing KMS decides; ask for our UE's identity */
		r->matched = r->requester;
	}
	size_t idri_len = 0;
	bool idri_ok =
	    tp->has_idri &&
	    identity_normalise(tp->idri.id_type, tp->idri.id.data, tp->idri.id.len,
			       r->idri, sizeof(r->idri), &idri_len, NULL) == KMS_EOK;
	policy_decision_t d;
	policy_decide(svc->policy, idri_ok ? r->idri : "", idri_len,
		      (const char *)r->matched.data, r->matched.len, &d);
	if (d.effect != POLICY_ALLOW) {
		r->rule_id = d.matched ? d.rule_id : -1;
		return KMS_EPOLICY;
	}
	const zk_peer_t *peer =
	    svc->peers != NULL && svc->zk != NULL
		? zk_peers_find_kms(svc->peers, kms->id.data, kms->id.len)
		: NULL;
	if (peer == NULL) {
		return KMS_EZK_UNKNOWN;
	}
	r->zk_to = peer->kms_id;
	uint8_t encr_alg;
	size_t req_len = 0, resp_len = 0;
	long status = 0;
	const char *why = NULL;
	int ret = suite(r, r->in.ticket.policy.prf, &encr_alg);
	if (ret == KMS_EOK) {
		ret = hop_request(r, peer, &req_len);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = zk_client_post(svc->zk, peer, r->hop_req, req_len, r->hop_resp,
			     sizeof(r->hop_resp), &resp_len, &status, &why);
	if (ret == KMS_EUNAVAIL) {
		log_req_warning(r->rid, "Zk: %s unreachable: %s", peer->kms_id, why);
		return KMS_EZK_DOWN;
	}
	if (ret != KMS_EOK) {
		log_req_warning(r->rid, "Zk: no usable answer from %s: %s", peer->kms_id,
				why != NULL ? why : kms_strerror(ret));
		return KMS_EZK_REFUSED;
	}
	if (status != 200) {
		if (mikey_msg_parse(r->hop_resp, resp_len, &r->hop) == KMS_EOK &&
		    r->hop.hdr.data_type == MIKEY_DT_ERROR) {
			const mikey_payload_t *e =
			    mikey_msg_find(&r->hop, MIKEY_PT_ERR, 0);
			r->peer_errno = e != NULL ? e->u.err.errno_ : -1;
		}
		log_req_notice(r->rid,
			       "Zk: %s refused the resolve: HTTP %ld, MIKEY error %d",
			       peer->kms_id, status, r->peer_errno);
		return KMS_EZK_REFUSED;
	}
	mikey_keys_t keys;
	const mikey_rand_t *rk = NULL;
	ret = hop_answer(r, peer, req_len, resp_len, &keys, &rk);
	if (ret != KMS_EOK) {
		log_req_warning(r->rid, "Zk: the answer of %s does not verify: %s",
				peer->kms_id, kms_strerror(ret));
		return KMS_EZK_REFUSED;
	}
	uint64_t t64;
	ret = begin_response(r, MIKEY_DT_RESOLVE_RESP, &t64);
	if (ret == KMS_EOK) {
		ret = add_kemac(r, encr_alg, t64, &keys);
	}
	if (ret == KMS_EOK && rk != NULL) {
		ret = mikey_msg_add_id(&r->out, MIKEY_ROLE_R, MIKEY_ID_NAI,
				       r->matched.data, r->matched.len);
		if (ret == KMS_EOK) {
			ret = mikey_msg_add_rand(&r->out, MIKEY_RAND_KMS, rk->rand.data,
						 rk->rand.len);
		}
	}
	if (ret == KMS_EOK) {
		ret = finish(r, buf, cap, len);
	}
	return ret;
}

static int ticket_resolve(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	const mikey_ticket_t *t = &r->in.ticket;
	const mikey_tp_t *tp = &t->policy;
	kms_ticket_content_t content;
	uint8_t encr_alg;
	uint64_t t64;
	if (!tp->has_idrkms) {
		r->reason = "the ticket names no KMS";
		return KMS_ETICKET; /* this KMS always names itself in its tickets */
	}
	/* Tickets of other KMSs go to them over Zk, once. */
	if (!identity_kms_match(r->svc->cfg->kms_id, tp->idrkms.id.data,
				tp->idrkms.id.len)) {
		return r->via != NULL ? KMS_EZK_LOOP : forward(r, buf, cap, len);
	}
	/* The plaintext is never longer than the ticket data. */
	r->plain_used = t->ticket_data.len < sizeof(r->scratch.plain)
			    ? t->ticket_data.len
			    : sizeof(r->scratch.plain);
	int ret = kms_ticket_redeem(r->svc->keyring, &r->in, &r->scratch, &content,
				    &r->ticket_key_id);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (r->now < content.not_before - (int64_t)r->svc->cfg->clock_skew ||
	    r->now > content.not_after) {
		return KMS_EEXPIRED;
	}
	ret = match_responder(r, tp, true);
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = suite(r, tp->prf, &encr_alg);
	if (ret != KMS_EOK) {
		return ret;
	}
	/* Our own layout: MPKi, MPKr, then TGKs, all of the suite's length. */
	mikey_keys_t keys = content.keys;
	if (keys.n < 3 || keys.k[0].type != MIKEY_KEY_MPK ||
	    keys.k[1].type != MIKEY_KEY_MPK) {
		return KMS_ETICKET;
	}
	bool forking = (tp->flags & MIKEY_TPF_I) != 0;
	if (forking) {
		if (!t->has_init) {
			return KMS_EMALFORMED;
		}
		ret = check_vr(r, &keys.k[1]);
		if (ret != KMS_EOK) {
			return ret;
		}
		/* Fork MPKr and every TGK for this responder (RFC 6043 5.1.1). */
		ret = crypto_random(r->randrkms, sizeof(r->randrkms));
		for (size_t i = 1; ret == KMS_EOK && i < keys.n; i++) {
			mikey_keydata_t *k = &keys.k[i];
			if (k->type != MIKEY_KEY_MPK && k->type != MIKEY_KEY_TGK) {
				continue; /* TEKs and GTGKs are never forked */
			}
			if (k->key.len > MIKEY_KEY_MAX || i >= 3) {
				return KMS_ETICKET;
			}
			mikey_bytes_t rk = { r->randrkms, sizeof(r->randrkms) };
			ret = mikey_kdf_fork(
			    tp->prf,
			    k->type == MIKEY_KEY_MPK ? MIKEY_FORK_MPKR : MIKEY_FORK_TGK,
			    k->key.data, k->key.len, &r->matched, &rk, r->keybuf[i]);
			k->key.data = r->keybuf[i];
		}
		if (ret != KMS_EOK) {
			return ret;
		}
	}
	ret = begin_response(r, MIKEY_DT_RESOLVE_RESP, &t64);
	if (ret == KMS_EOK) {
		ret = add_kemac(r, encr_alg, t64, &keys);
	}
	/* The forking modifier: the identity that matched, as a KMS user
	 * identity (ID Type NAI); the Responder copies it into TRANSFER_RESP. */
	if (ret == KMS_EOK && forking) {
		ret = mikey_msg_add_id(&r->out, MIKEY_ROLE_R, MIKEY_ID_NAI,
				       r->matched.data, r->matched.len);
		if (ret == KMS_EOK) {
			ret = mikey_msg_add_rand(&r->out, MIKEY_RAND_KMS, r->randrkms,
						 sizeof(r->randrkms));
		}
	}
	if (ret == KMS_EOK) {
		ret = finish(r, buf, cap, len);
	}
	return ret;
}

/* --- errors -------------------------------------------------------------- */

/*
 * Error = HDR, T, ERR, [V] (RFC 6043 5.4): version, PRF func and CSB ID are
 * those of the message in error whenever its HDR could be read: its first 8
 * bytes arrived and say MIKEY version 1 (another version's HDR layout is
 * unknown), even when the data type, PRF or map are unsupported
 * (docs/mikey-profile.md row 11).  V only after
 * the requester authenticated (an unauthenticated error is a hint, and
 * MACing it would be a DoS lever), with the auth_key of the message in
 * error (direction 0x01, its RAND), over the Error message alone.
 */
static size_t error_message(req_t *r, int code, const uint8_t *in, size_t in_len,
			    uint8_t *buf, size_t cap)
{
	uint8_t version = MIKEY_VERSION, prf = MIKEY_PRF_MIKEY1;
	uint32_t csb_id = 0;
	size_t len = 0;
	if (mikey_hdr_peek(in, in_len, &version, &prf, &csb_id) != KMS_EOK ||
	    version != MIKEY_VERSION) {
		version = MIKEY_VERSION;
		prf = MIKEY_PRF_MIKEY1;
		csb_id = 0;
	}
	mikey_msg_init(&r->out, MIKEY_DT_ERROR, csb_id, prf);
	r->out.hdr.version = version;
	int ret = mikey_msg_add_ts(&r->out, 0, MIKEY_TS_NTP_UTC,
				   mikey_ntp_from_unix(r->now, 0));
	/* A refusal of the issuing KMS: its error number, relayed. */
	int err = code == KMS_EZK_REFUSED && r->peer_errno >= 0 ? r->peer_errno
								: kms_err_mikey(code);
	if (ret == KMS_EOK) {
		ret = mikey_msg_add_err(&r->out, (uint8_t)err);
	}
	if (ret != KMS_EOK) {
		return 0;
	}
	if (r->authenticated) {
		uint8_t key[MIKEY_MAC_MAX];
		size_t klen = mikey_v_key_len(r->auth_alg);
		ret = mikey_msg_add_v(&r->out, r->auth_alg);
		if (ret == KMS_EOK) {
			ret = mikey_msg_build(&r->out, buf, cap, &len);
		}
		if (ret == KMS_EOK) {
			ret = auth_key(r, MIKEY_DIR_INIT, key, klen);
		}
		if (ret == KMS_EOK) {
			ret = mikey_mac_sign_last(buf, len, r->auth_alg, key, klen, NULL,
						  0);
		}
		secmem_wipe(key, sizeof(key));
		return ret == KMS_EOK ? len : 0;
	}
	return mikey_msg_build(&r->out, buf, cap, &len) == KMS_EOK ? len : 0;
}

/* --- entry point --------------------------------------------------------- */

static void audit_and_log(req_t *r, int code)
{
	audit_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	str_copy(rec.rid, sizeof(rec.rid), r->rid != NULL ? r->rid : "-");
	size_t n = r->requester.len < AUDIT_ID_MAX ? r->requester.len : AUDIT_ID_MAX;
	if (n > 0) {
		memcpy(rec.requester, r->requester.data, n);
	}
	rec.msg_type = r->in.hdr.data_type;
	rec.decision = code == KMS_EOK;
	rec.error = code;
	rec.ticket_key_id = r->ticket_key_id;
	rec.reason = r->reason;
	audit_log(r->svc->audit, &rec);
	const char *why = r->reason != NULL ? r->reason : "";
	const char *sep = r->reason != NULL ? "; " : "";
	char zk[300] = "";
	if (r->via != NULL) {
		snprintf(zk, sizeof(zk), " (over Zk from %s)", r->via->kms_id);
	} else if (r->zk_to != NULL) {
		snprintf(zk, sizeof(zk), " (forwarded to %s)", r->zk_to);
	}
	if (code == KMS_EOK) {
		log_req_info(r->rid, "%s from '%s'%s granted (ticket key %u)%s%s",
			     type_name(r->type), rec.requester, zk, rec.ticket_key_id,
			     sep, why);
	} else {
		char rule[40] = "";
		if (r->rule_id >= 0) {
			snprintf(rule, sizeof(rule), " by policy rule %lld",
				 (long long)r->rule_id);
		}
		log_req_notice(r->rid, "%s from '%s'%s refused%s: %s (%s)%s%s",
			       type_name(r->type), rec.requester[0] ? rec.requester : "?",
			       zk, rule, kms_strerror(code), kms_err_name(code), sep,
			       why);
	}
}

static void handle(const kms_service_t *svc, const zk_peer_t *via, kms_reqtype_t type,
		   const char *rid, const uint8_t *in, size_t len, uint8_t *out,
		   size_t cap, kms_answer_t *ans)
{
	/* One request state per thread, reused: the head is reset, the message
	 * structs are reset by decode/init, and the secrets are wiped below. */
	static __thread req_t state;
	req_t *r = &state;
	memset(r, 0, offsetof(req_t, in));
	ans->len = 0;
	r->svc = svc;
	r->rid = rid;
	r->type = type;
	r->via = via;
	r->rule_id = -1;
	r->peer_errno = -1;
	r->now = kms_service_now();
	size_t out_len = 0;
	/* On failure the HDR is kept only if it parsed (for the Error message). */
	int ret = mikey_msg_parse(in, len, &r->in);
	if (ret == KMS_EOK) {
		ret = authenticate(r);
	}
	if (ret == KMS_EOK) {
		ret = type == KMS_REQ_TICKET ? ticket_request(r, out, cap, &out_len)
					     : ticket_resolve(r, out, cap, &out_len);
	}
	if (ret != KMS_EOK) {
		out_len = error_message(r, ret, in, len, out, cap);
	}
	audit_and_log(r, ret);
	ans->error = ret;
	ans->http_status = kms_err_http(ret);
	ans->len = out_len;
	if (r->have_psk) {
		kms_psk_wipe(&r->psk);
	}
	secmem_wipe(r->keybuf, sizeof(r->keybuf));
	secmem_wipe(&r->scratch, offsetof(kms_ticket_scratch_t, plain));
	secmem_wipe(r->scratch.plain, r->plain_used);
	mikey_prf_forget(); /* no key outlives its request */
}

void kms_service_handle(const kms_service_t *svc, kms_reqtype_t type, const char *rid,
			const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			kms_answer_t *ans)
{
	handle(svc, NULL, type, rid, in, len, out, cap, ans);
}

void kms_service_handle_zk(const kms_service_t *svc, const zk_peer_t *peer,
			   const char *rid, const uint8_t *in, size_t len, uint8_t *out,
			   size_t cap, kms_answer_t *ans)
{
	handle(svc, peer, KMS_REQ_RESOLVE, rid, in, len, out, cap, ans);
}
