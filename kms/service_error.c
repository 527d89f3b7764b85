/*
 * The end of a request that failed, and of every request: the MIKEY Error
 * message (RFC 6043 5.4, docs/mikey-profile.md row 11), the audit row and
 * the log line (never key material; the reason of a refusal).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "common/secmem.h"
#include "kms/service_int.h"
#include "mikey/kdf.h"
#include "mikey/mac.h"

/* Refusals over the per-identity rate limit come in floods: at most one log
 * line a second says so (each still has its audit row). */
static ratelimit_gate_t rate_log_gate;

/* Whether to log a refusal for code; false for a rate-limit refusal within
 * a second of the last one logged. */
static bool log_refusal(int code)
{
	uint64_t skipped = 0;
	if (code != KMS_ERATE) {
		return true;
	}
	if (!ratelimit_gate_pass(&rate_log_gate, 1000, &skipped)) {
		return false;
	}
	if (skipped > 0) {
		log_notice(
		    "%llu more refusal(s) over the per-identity rate limit were not "
		    "logged",
		    (unsigned long long)skipped);
	}
	return true;
}

static const char *type_name(kms_reqtype_t t)
{
	return t == KMS_REQ_TICKET ? "ticketrequest" : "ticketresolve";
}

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
size_t svc_error_message(req_t *r, int code, const uint8_t *in, size_t in_len,
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
			ret = svc_auth_key(r, MIKEY_DIR_INIT, key, klen);
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

/* An outcome has its own row when the requester proved its key (a replay
 * did not: anyone can send a captured message again); any other refusal
 * is counted in a sampled row, so that garbage cannot fill the disk. */
static bool own_row(const req_t *r, int code)
{
	return code == KMS_EOK ||
	       (r->authenticated && code != KMS_EREPLAY && code != KMS_EAUDIT);
}

/* The log line of the outcome (refused: the audit log refused its row). */
static void log_outcome(req_t *r, int code, int refused, const audit_rec_t *rec)
{
	const char *why = r->reason != NULL ? r->reason : "";
	const char *sep = r->reason != NULL ? "; " : "";
	char zk[300] = "";
	if (r->via != NULL) {
		snprintf(zk, sizeof(zk), " (over Zk from %s)", r->via->kms_id);
	} else if (r->zk_to != NULL) {
		snprintf(zk, sizeof(zk), " (forwarded to %s)", r->zk_to);
	}
	/* The requester as sent until it is known: escaped for the log. */
	size_t n = strnlen(rec->requester, AUDIT_ID_MAX);
	char who[LOG_ESCAPED_SIZE(AUDIT_ID_MAX)];
	log_escape(who, sizeof(who), rec->requester, n);
	if (refused != KMS_EOK) {
		/* Why is logged once per change of the audit log's state. */
		log_req_info(r->rid, "%s from '%s'%s answered 503: no audit row (%s)",
			     type_name(r->type), who[0] != '\0' ? who : "?", zk,
			     code == KMS_EOK ? "was granted" : kms_err_name(code));
	} else if (code == KMS_EOK && r->zk_to != NULL) {
		/* Forwarded: the issuing KMS opened the ticket (its key id is not
		 * ours to know); the peer and its answer are what happened. */
		log_req_info(r->rid,
			     "%s from '%s' forwarded to %s: granted by the peer%s%s",
			     type_name(r->type), who, r->zk_to, sep, why);
	} else if (code == KMS_EOK) {
		log_req_info(r->rid, "%s from '%s'%s granted (ticket key %u)%s%s",
			     type_name(r->type), who, zk, rec->ticket_key_id, sep, why);
	} else if (log_refusal(code)) {
		char rule[40] = "";
		if (r->rule_id >= 0) {
			snprintf(rule, sizeof(rule), " by policy rule %lld",
				 (long long)r->rule_id);
		}
		log_req_notice(r->rid, "%s from '%s'%s refused%s: %s (%s)%s%s",
			       type_name(r->type), who[0] != '\0' ? who : "?", zk, rule,
			       kms_strerror(code), kms_err_name(code), sep, why);
	}
}

/*
 * The ticket policy's responders as identities, comma-separated, at most
 * AUDIT_RESP_MAX bytes: cut at a whole identity, then ",...".  Only for an
 * authenticated message (garbage names nobody); "?" for an entry that is
 * no identity.
 */
static void audit_responders(const req_t *r, audit_rec_t *rec)
{
	const mikey_tp_t *tp = &r->in.ticket.policy;
	char id[IDENTITY_MAX + 1];
	size_t used = 0;
	if (!r->authenticated || !r->in.has_ticket) {
		return;
	}
	for (size_t i = 0; i < tp->nidrr && i < MIKEY_IDRR_MAX; i++) {
		const mikey_id_t *q = &tp->idrr[i];
		size_t n = 0;
		if (identity_pattern_normalise(q->id_type, q->id.data, q->id.len, id,
					       sizeof(id), &n, NULL) != KMS_EOK) {
			id[0] = '?';
			n = 1;
		}
		size_t sep = used > 0 ? 1 : 0;
		if (used + sep + n + 4 > AUDIT_RESP_MAX) {
			memcpy(rec->responders + used, used > 0 ? ",..." : "...", 4);
			used += used > 0 ? 4 : 3;
			break;
		}
		if (sep) {
			rec->responders[used++] = ',';
		}
		memcpy(rec->responders + used, id, n);
		used += n;
	}
	rec->responders[used] = '\0';
}

/* The names an operator reads: message type, responders, the peer KMS. */
static void audit_names(const req_t *r, audit_rec_t *rec)
{
	if (r->authenticated || rec->msg_type != 0) {
		rec->msg_type_name = mikey_dt_name(rec->msg_type);
	}
	audit_responders(r, rec);
	const char *peer = r->zk_to != NULL ? r->zk_to
			   : r->via != NULL ? r->via->kms_id
					    : "";
	str_copy(rec->peer_kms, sizeof(rec->peer_kms), peer);
}

int svc_audit_and_log(req_t *r, int code)
{
	audit_rec_t rec;
	memset(&rec, 0, sizeof(rec));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	str_copy(rec.rid, sizeof(rec.rid), r->rid != NULL ? r->rid : "-");
	str_copy(rec.client, sizeof(rec.client), r->client != NULL ? r->client : "");
	size_t n = r->requester.len < AUDIT_ID_MAX ? r->requester.len : AUDIT_ID_MAX;
	if (n > 0) {
		memcpy(rec.requester, r->requester.data, n);
	}
	rec.msg_type = r->in.hdr.data_type;
	rec.decision = code == KMS_EOK;
	rec.error = code;
	rec.ticket_key_id = r->ticket_key_id;
	rec.reason = r->reason;
	audit_names(r, &rec);
	int refused = KMS_EOK;
	if (own_row(r, code)) {
		refused = audit_log(r->svc->audit, &rec);
	} else {
		audit_sample(r->svc->audit, &rec);
	}
	log_outcome(r, code, refused, &rec);
	return refused;
}
