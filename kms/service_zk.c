/*
 * A resolve of a ticket issued by another KMS (RFC 6043 section 10,
 * TS 33.328 Zk, docs/federation.md): the UE is authenticated here already;
 * this KMS's rules are asked, then our own RESOLVE_INIT goes to the issuing
 * KMS over Zk, and its answer is wrapped for the UE under the UE's key.
 */
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/service_int.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "policy/rules.h"

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
	mikey_msg_t *m = &r->out;
	mikey_msg_init(m, MIKEY_DT_RESOLVE_INIT_PSK, csb, prf);
	mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(r->now, 0));
	mikey_msg_add_rand(m, MIKEY_RAND_R, r->hop_rand, sizeof(r->hop_rand));
	mikey_msg_add_id(m, MIKEY_ROLE_R, MIKEY_ID_NAI, r->matched.data, r->matched.len);
	mikey_msg_add_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, peer_id.data, peer_id.len);
	mikey_msg_add_ticket(m, &r->in.ticket, true);
	mikey_msg_add_id(m, MIKEY_ROLE_PSK, MIKEY_ID_BYTES, (const uint8_t *)cfg->kms_id,
			 strlen(cfg->kms_id));
	mikey_msg_add_v(m, r->auth_alg);
	if (ret == KMS_EOK) {
		ret = mikey_msg_build(m, r->hop_req, sizeof(r->hop_req), len);
	}
	if (ret == KMS_EOK) {
		ret = mikey_kdf_msg_key(&r->prf_cache, prf, peer->key, peer->key_len,
					MIKEY_DK_AUTH, csb, MIKEY_DIR_INIT, NULL, &rr,
					key, klen);
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

/* The issuing KMS's RESOLVE_RESP for our hop: its kind, CSB ID and V alg,
 * then its MAC with the per-peer key (over RESP || our hop INIT). */
static int hop_verify(req_t *r, const zk_peer_t *peer, size_t req_len, size_t len)
{
	uint32_t csb = r->in.hdr.csb_id;
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = mikey_v_key_len(r->auth_alg);
	mikey_bytes_t rr = { r->hop_rand, sizeof(r->hop_rand) };
	mikey_bytes_t init = { r->hop_req, req_len };
	int ret = mikey_msg_parse(r->hop_resp, len, &r->hop);
	if (ret == KMS_EOK &&
	    (r->hop.hdr.data_type != MIKEY_DT_RESOLVE_RESP || r->hop.hdr.csb_id != csb ||
	     mikey_msg_v(&r->hop) == NULL || mikey_msg_v(&r->hop)->alg != r->auth_alg)) {
		ret = KMS_EMALFORMED;
	}
	if (ret == KMS_EOK) {
		ret = mikey_kdf_msg_key(&r->prf_cache, r->in.hdr.prf, peer->key,
					peer->key_len, MIKEY_DK_AUTH, csb, MIKEY_DIR_RESP,
					NULL, &rr, key, klen);
	}
	if (ret == KMS_EOK) {
		ret = mikey_mac_verify(&r->hop, key, klen, &init, 1);
	}
	secmem_wipe(key, sizeof(key));
	return ret;
}

/* The verified answer's keys (KEMAC under the per-peer key), forked for the
 * identity we named, with its RANDRkms; a ticket without forking has
 * neither (then *randrkms is NULL). */
static int hop_keys(req_t *r, const zk_peer_t *peer, mikey_keys_t *keys,
		    const mikey_rand_t **randrkms)
{
	uint64_t t64 = 0;
	size_t plen = 0, n = 0;
	mikey_bytes_t rr = { r->hop_rand, sizeof(r->hop_rand) };
	int ret = mikey_profile_kemac_ts(&r->hop, &t64);
	r->plain_used = sizeof(r->scratch.plain);
	if (ret == KMS_EOK) {
		ret = mikey_kemac_open(
		    &r->prf_cache, r->in.hdr.prf, mikey_msg_kemac(&r->hop), peer->key,
		    peer->key_len, r->in.hdr.csb_id, MIKEY_DIR_RESP, NULL, &rr, t64,
		    r->scratch.plain, sizeof(r->scratch.plain), &plen, keys);
	}
	const mikey_id_t *idr = mikey_msg_idr(&r->hop, MIKEY_ROLE_R);
	*randrkms = mikey_msg_randr(&r->hop, MIKEY_RAND_KMS);
	bool forked = (r->in.ticket.policy.flags & MIKEY_TPF_I) != 0;
	if (ret == KMS_EOK && forked &&
	    (idr == NULL || *randrkms == NULL ||
	     identity_normalise(idr->id_type, idr->id.data, idr->id.len, r->idri,
				sizeof(r->idri), &n, NULL) != KMS_EOK ||
	     n != r->matched.len || memcmp(r->idri, r->matched.data, n) != 0)) {
		ret = KMS_EID;
	}
	if (ret == KMS_EOK && !forked) {
		*randrkms = NULL;
	}
	return ret;
}

/*
 * This KMS's own rules first: may the ticket's Initiator reach our user, as
 * the identity the ticket names?  (The issuing KMS then decides about its
 * ticket.)  Without an IDRi no rule can match and the default effect
 * decides.  Nothing goes out on a refusal.  Then the peer the ticket names.
 */
static int forward_peer(req_t *r, const zk_peer_t **peer)
{
	const kms_service_t *svc = r->svc;
	const mikey_tp_t *tp = &r->in.ticket.policy;
	if (svc_match_responder(r, tp, false) != KMS_EOK) {
		r->reason = NULL; /* the issuing KMS decides; ask for our UE's identity */
		r->matched = r->requester;
	}
	size_t idri_len = svc_ticket_idri(r, tp);
	policy_decision_t d;
	policy_decide(svc->policy, r->idri, idri_len, (const char *)r->matched.data,
		      r->matched.len, &d);
	if (d.effect != POLICY_ALLOW) {
		r->rule_id = d.matched ? d.rule_id : -1;
		return KMS_EPOLICY;
	}
	*peer = svc->peers != NULL && svc->zk != NULL
		    ? zk_peers_find_kms(svc->peers, tp->idrkms.id.data, tp->idrkms.id.len)
		    : NULL;
	if (*peer == NULL) {
		return KMS_EZK_UNKNOWN;
	}
	r->zk_to = (*peer)->kms_id;
	return KMS_EOK;
}

/* The outcome of the hop's call; a refusal of the issuing KMS keeps its
 * MIKEY error number. */
static int forward_outcome(req_t *r, const zk_peer_t *peer, int ret, long status,
			   const char *why, size_t resp_len)
{
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
	return KMS_EOK;
}

/* Post the hop: parked on the outbound thread when the front end can park
 * the request (KMS_EINPROGRESS), else here, holding this thread. */
static int forward_post(req_t *r, const zk_peer_t *peer, size_t req_len, size_t *resp_len)
{
	long status = 0;
	const char *why = NULL;
	if (r->wait != NULL) {
		int ret = svc_zk_park(r, peer, req_len);
		if (ret != KMS_ENOTSUP) {
			return ret;
		}
	}
	int ret =
	    zk_client_post_rid(r->svc->zk, peer, r->rid, r->hop_req, req_len, r->hop_resp,
			       sizeof(r->hop_resp), resp_len, &status, &why);
	return forward_outcome(r, peer, ret, status, why, *resp_len);
}

/* The hop posted in an earlier round, and what the issuing KMS answered,
 * in r as forward_post() leaves them. */
static int forward_resumed(req_t *r, const zk_peer_t *peer, size_t *req_len,
			   size_t *resp_len)
{
	svc_zk_answer_t a;
	int ret = svc_zk_answer(r, peer, &a);
	if (ret != KMS_EOK) {
		return ret;
	}
	*req_len = a.req_len;
	*resp_len = a.resp_len;
	return forward_outcome(r, peer, a.ret, a.status, a.why, a.resp_len);
}

int svc_forward(req_t *r, uint8_t *buf, size_t cap, size_t *len)
{
	const zk_peer_t *peer = NULL;
	uint8_t encr_alg;
	size_t req_len = 0, resp_len = 0;
	int ret = forward_peer(r, &peer);
	if (ret == KMS_EOK) {
		ret = svc_suite(r, r->in.ticket.policy.prf, &encr_alg);
	}
	if (ret == KMS_EOK && r->zkp != NULL) {
		ret = forward_resumed(r, peer, &req_len, &resp_len);
	} else if (ret == KMS_EOK) {
		ret = hop_request(r, peer, &req_len);
		if (ret == KMS_EOK) {
			ret = forward_post(r, peer, req_len, &resp_len);
		}
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	mikey_keys_t keys;
	const mikey_rand_t *rk = NULL;
	ret = hop_verify(r, peer, req_len, resp_len);
	if (ret == KMS_EOK) {
		ret = hop_keys(r, peer, &keys, &rk);
	}
	if (ret != KMS_EOK) {
		log_req_warning(r->rid, "Zk: the answer of %s does not verify: %s",
				peer->kms_id, kms_strerror(ret));
		return KMS_EZK_REFUSED;
	}
	return svc_resolve_resp(r, encr_alg, &keys, rk != NULL ? rk->rand.data : NULL,
				rk != NULL ? rk->rand.len : 0, buf, cap, len);
}
