/*
 * Authentication of a REQUEST_INIT_PSK / RESOLVE_INIT_PSK (RFC 3830 5.3,
 * RFC 6043 5.5): data type, timestamp window, who asks (as a KMS user
 * identity, docs/identities.md) and with which key, the V MAC in constant
 * time, the identity against the key owner's, the replay cache, then the
 * requester's rate limit.
 */
#include <string.h>

#include "common/errcode.h"
#include "common/ratelimit.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/service_int.h"
#include "mikey/kdf.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "mikey/tp.h"

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
		char who[LOG_ESCAPED_SIZE(KMS_IDENTITY_MAX)];
		log_req_notice(r->rid,
			       "Zk: peer %s may not vouch for '%s' (responders %s)",
			       p->kms_id, log_escape(who, sizeof(who), r->who, who_len),
			       p->responders);
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
	int ret = svc_auth_key(r, MIKEY_DIR_INIT, key, klen);
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

/* The data type this request type serves, and the timestamp window (also
 * after a restart - skew); *t gets the message's time. */
static int check_type_and_time(req_t *r, int64_t *t)
{
	bool request = r->type == KMS_REQ_TICKET;
	uint8_t expected =
	    request ? MIKEY_DT_REQUEST_INIT_PSK : MIKEY_DT_RESOLVE_INIT_PSK;
	uint8_t pk = request ? MIKEY_DT_REQUEST_INIT_PK : MIKEY_DT_RESOLVE_INIT_PK;
	if (r->in.hdr.data_type == pk) {
		return KMS_ENOTSUP;
	}
	if (r->in.hdr.data_type != expected) {
		return KMS_EDT;
	}
	int ret = mikey_ts_to_unix(mikey_msg_ts(&r->in), t);
	if (ret == KMS_EOK) {
		ret = replay_check_time(r->svc->replay, *t, r->now);
	}
	return ret == KMS_EOK ? KMS_EOK : KMS_ETS;
}

/*
 * The requester's key: the per-peer key over Zk, else the PSK named by
 * IDRpsk (docs/mikey-profile.md row 4), else by the requester's KMS user
 * identity (or its ID Data as sent when it has none: the lookup then fails).
 */
static int find_key(req_t *r, const mikey_id_t *who, bool named, size_t who_len,
		    const char *why)
{
	const mikey_id_t *pskid = mikey_msg_idr(&r->in, MIKEY_ROLE_PSK);
	if (pskid != NULL && pskid->id_type != MIKEY_ID_NAI &&
	    pskid->id_type != MIKEY_ID_BYTES) {
		r->reason = "IDRpsk of ID Type URI";
		return KMS_EID;
	}
	int ret;
	if (r->via != NULL) {
		ret = named ? peer_psk(r, pskid, who_len) : KMS_EID;
	} else {
		mikey_bytes_t name = who->id;
		if (pskid != NULL) {
			name = pskid->id;
		} else if (named) {
			name = (mikey_bytes_t){ (const uint8_t *)r->who, who_len };
		}
		kms_psk_source_t *src = r->svc->psk;
		ret = r->wait != NULL && src->lookup_async != NULL
			  ? src->lookup_async(src, name.data, name.len, &r->psk, r->wait)
			  : src->lookup(src, name.data, name.len, &r->psk);
	}
	if (ret == KMS_EID && r->reason == NULL) {
		r->reason = why;
	}
	if (ret == KMS_EOK) {
		r->have_psk = true;
		if (r->psk.expires != 0 && r->psk.expires <= r->now) {
			ret = KMS_EAUTH;
		}
	}
	return ret;
}

/*
 * Replay: only authenticated messages enter the cache, named by their
 * verified MAC (20 or 32 bytes, zero-padded): it covers every byte before
 * it, so another message with the same name would be a MAC forgery or
 * collision, and it costs no second pass over the message.
 */
static int check_replay(req_t *r, const mikey_v_t *v, int64_t t)
{
	uint8_t digest[REPLAY_DIGEST_LEN] = { 0 };
	memcpy(digest, v->mac.data,
	       v->mac.len < sizeof(digest) ? v->mac.len : sizeof(digest));
	int ret = replay_check_and_add(r->svc->replay, digest, t, r->now);
	/* With several nodes (replay.shared), a message new to this node's
	 * cache may still be one another node accepted; one this node knows
	 * was refused above without asking the database. */
	if (ret == KMS_EOK && r->svc->replay_shared != NULL) {
		int64_t expires = t + (int64_t)replay_skew(r->svc->replay);
		ret = replay_shared_check(r->svc->replay_shared, digest, expires);
		if (ret == KMS_EUNAVAIL) {
			r->reason = "the shared replay store cannot be reached "
				    "(replay.on_store_failure = refuse)";
		}
	}
	return ret;
}

/*
 * The requester's rate limit (ua.rate_per_identity), charged only now that
 * its identity is proved: a message with a wrong MAC charges nobody (no one
 * drains Alice's bucket by sending in her name), and neither does a replayed
 * copy of one of her messages (whoever saw it on the wire could send it
 * again and again).  A refused message is in the replay cache already: a
 * client retries with a new one, as it would anyway.  Resolves a peer KMS
 * forwarded over Zk are limited per peer address instead (kms/http.c).
 */
static int charge_identity(req_t *r)
{
	int64_t wait_ms = 0;
	if (r->via != NULL || ratelimit_charge(r->svc->id_rate, r->requester.data,
					       r->requester.len, &wait_ms) == KMS_EOK) {
		return KMS_EOK;
	}
	r->retry_after = ratelimit_retry_after_s(wait_ms);
	r->reason = "over the per-identity rate limit (ua.rate_per_identity)";
	return KMS_ERATE;
}

int svc_authenticate(req_t *r)
{
	int64_t t = 0;
	int ret = check_type_and_time(r, &t);
	if (ret != KMS_EOK) {
		return ret;
	}
	uint8_t role = r->type == KMS_REQ_TICKET ? MIKEY_ROLE_I : MIKEY_ROLE_R;
	const mikey_id_t *who = mikey_msg_idr(&r->in, role);
	if (who == NULL || who->id.len > KMS_IDENTITY_MAX) {
		r->reason = who == NULL ? "no IDRi/IDRr (this KMS requires it)"
					: "identity longer than 256 bytes";
		return KMS_EID; /* docs/mikey-profile.md row 14 */
	}
	r->requester = who->id; /* as sent, for the log, until it is known */
	const char *why = NULL;
	size_t who_len = 0;
	bool named = identity_normalise(who->id_type, who->id.data, who->id.len, r->who,
					sizeof(r->who), &who_len, &why) == KMS_EOK;
	const mikey_id_t *kms = mikey_msg_idr(&r->in, MIKEY_ROLE_KMS);
	if (kms != NULL &&
	    !identity_kms_match(r->svc->cfg->kms_id, kms->id.data, kms->id.len)) {
		r->reason = "IDRkms is not this KMS (kms.kms_id)";
		return KMS_EID;
	}
	const mikey_rand_t *ri = mikey_msg_randr(&r->in, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(&r->in, MIKEY_RAND_R);
	r->randri = ri != NULL ? ri->rand : (mikey_bytes_t){ NULL, 0 };
	r->randrr = rr != NULL ? rr->rand : (mikey_bytes_t){ NULL, 0 };
	ret = find_key(r, who, named, who_len, why);
	/* The MAC, with the algorithm set that matches the PRF. */
	const mikey_v_t *v = mikey_msg_v(&r->in);
	r->auth_alg = v->alg;
	if (ret == KMS_EOK) {
		ret = mikey_alg_check(r->in.hdr.prf, 0, v->alg, 0);
	}
	if (ret == KMS_EOK) {
		ret = verify_mac(r, v, kms != NULL);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	r->authenticated = true;
	/* TS 33.328 6.2.3.5: the identity in the request is the key owner's. */
	if (!named) {
		r->reason = why;
		return KMS_EID;
	}
	r->requester = (mikey_bytes_t){ (const uint8_t *)r->who, who_len };
	if (!kms_psk_has_identity(&r->psk, r->requester.data, r->requester.len)) {
		r->reason = "the identity is not one of the key owner's";
		return KMS_EPOLICY;
	}
	if (svc_zk_rerun(r, v)) {
		return KMS_EOK; /* checked and charged in the round that forwarded it */
	}
	ret = check_replay(r, v, t);
	return ret == KMS_EOK ? charge_identity(r) : ret;
}
