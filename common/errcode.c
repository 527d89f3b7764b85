#include "common/errcode.h"

#include <stddef.h>

struct err_row {
	int code;
	const char *name;
	const char *text;
	int mikey;
	int http;
};

/*
 * The one mapping table.  HTTP statuses follow the Ua binding in
 * docs/http-binding.md: malformed 400, authentication 401, policy 403,
 * upstream unavailable 503, our own failures 500; federation (Zk,
 * docs/federation.md): unknown issuing KMS 422, peer refusing 502, peer
 * unreachable 504, a forwarded ticket not ours 421; over a rate limit 429
 * (RFC 6585, answered with Retry-After).
 */
#define ROW(c, m, h, t)                                                                  \
	{                                                                                \
		c, #c, t, m, h                                                           \
	}
static const struct err_row err_table[] = {
	ROW(KMS_EOK, MIKEY_ERR_UNSPEC, 200, "success"),
	ROW(KMS_ENOMEM, MIKEY_ERR_UNSPEC, 500, "out of memory"),
	ROW(KMS_EINVAL, MIKEY_ERR_UNSPEC, 400, "invalid argument"),
	ROW(KMS_EIO, MIKEY_ERR_UNSPEC, 500, "input/output error"),
	ROW(KMS_ENOENT, MIKEY_ERR_UNSPEC, 404, "not found"),
	ROW(KMS_EEXIST, MIKEY_ERR_UNSPEC, 409, "already exists"),
	ROW(KMS_EACCES, MIKEY_ERR_UNSPEC, 403, "permission denied"),
	ROW(KMS_EAGAIN, MIKEY_ERR_UNSPEC, 503, "try again"),
	ROW(KMS_ERANGE, MIKEY_ERR_UNSPEC, 400, "value out of range"),
	ROW(KMS_ENOSPC, MIKEY_ERR_UNSPEC, 500, "disk full"),
	ROW(KMS_EINPROGRESS, MIKEY_ERR_UNSPEC, 500, "in progress"),
	ROW(KMS_ECANCELED, MIKEY_ERR_UNSPEC, 503, "cancelled"),
	ROW(KMS_EFEWDATA, MIKEY_ERR_UNSPEC, 400, "message truncated"),
	ROW(KMS_ESPACE, MIKEY_ERR_UNSPEC, 500, "output buffer too small"),
	ROW(KMS_EMALFORMED, MIKEY_ERR_UNSPEC, 400, "malformed message"),
	ROW(KMS_EPAYLOAD, MIKEY_ERR_UNSPEC, 400, "unknown or misplaced payload"),
	ROW(KMS_ELIMIT, MIKEY_ERR_UNSPEC, 400, "count or length over limit"),
	ROW(KMS_EVERSION, MIKEY_ERR_UNSPEC, 400, "unsupported MIKEY version"),
	ROW(KMS_EDT, MIKEY_ERR_DT, 400, "invalid data type"),
	ROW(KMS_ENOTSUP, MIKEY_ERR_DT, 501, "message variant not supported"),
	ROW(KMS_EPRF, MIKEY_ERR_PRF, 400, "invalid PRF"),
	ROW(KMS_EEA, MIKEY_ERR_EA, 400, "invalid encryption algorithm"),
	ROW(KMS_EHA, MIKEY_ERR_HA, 400, "invalid MAC algorithm"),
	ROW(KMS_ETS, MIKEY_ERR_TS, 400, "invalid timestamp"),
	ROW(KMS_EID, MIKEY_ERR_ID, 400, "invalid identity"),
	ROW(KMS_ESP, MIKEY_ERR_SP, 400, "invalid security policy"),
	ROW(KMS_ESPPAR, MIKEY_ERR_SPPAR, 400, "invalid security policy parameter"),
	ROW(KMS_ETICKET, MIKEY_ERR_TICKET, 400, "invalid ticket"),
	ROW(KMS_ETPPAR, MIKEY_ERR_TPPAR, 400, "ticket policy parameters not supported"),
	ROW(KMS_EEXPIRED, MIKEY_ERR_TICKET, 403, "ticket or key expired"),
	ROW(KMS_EAUTH, MIKEY_ERR_AUTH, 401, "authentication failure"),
	ROW(KMS_EMAC, MIKEY_ERR_MAC, 401, "invalid MAC"),
	ROW(KMS_EREPLAY, MIKEY_ERR_TS, 401, "replayed message"),
	ROW(KMS_EPOLICY, MIKEY_ERR_AUTH, 403, "not authorised by policy"),
	ROW(KMS_EBTID, MIKEY_ERR_AUTH, 401, "unknown or expired B-TID"),
	ROW(KMS_EHTTP_METHOD, MIKEY_ERR_UNSPEC, 405, "method not allowed"),
	ROW(KMS_EHTTP_REQTYPE, MIKEY_ERR_UNSPEC, 400, "missing or unknown requesttype"),
	ROW(KMS_EHTTP_MEDIA, MIKEY_ERR_UNSPEC, 415, "unsupported content type"),
	ROW(KMS_EHTTP_SIZE, MIKEY_ERR_UNSPEC, 413, "body too large"),
	ROW(KMS_EHTTP_FRAME, MIKEY_ERR_UNSPEC, 400, "malformed HTTP request"),
	ROW(KMS_EHTTP_TIMEOUT, MIKEY_ERR_UNSPEC, 408, "request timed out"),
	ROW(KMS_EZK_PEER, MIKEY_ERR_AUTH, 403, "Zk client is not an authenticated peer"),
	ROW(KMS_EZK_REQTYPE, MIKEY_ERR_UNSPEC, 403, "only ticketresolve is served on Zk"),
	ROW(KMS_EZK_UNKNOWN, MIKEY_ERR_ID, 422, "ticket issued by an unknown KMS"),
	ROW(KMS_EZK_DOWN, MIKEY_ERR_UNSPEC, 504, "issuing KMS unreachable"),
	ROW(KMS_EZK_REFUSED, MIKEY_ERR_UNSPEC, 502, "issuing KMS refused the resolve"),
	ROW(KMS_EZK_LOOP, MIKEY_ERR_TICKET, 421, "forwarded ticket not issued here"),
	ROW(KMS_EUNAVAIL, MIKEY_ERR_UNSPEC, 503, "service unavailable"),
	ROW(KMS_EAUDIT, MIKEY_ERR_UNSPEC, 503, "audit log unavailable"),
	ROW(KMS_ECRYPTO, MIKEY_ERR_UNSPEC, 500, "crypto failure"),
	ROW(KMS_ESELFTEST, MIKEY_ERR_UNSPEC, 500, "crypto self-test failed"),
	ROW(KMS_ECONFIG, MIKEY_ERR_UNSPEC, 500, "invalid configuration"),
	ROW(KMS_EINTERNAL, MIKEY_ERR_UNSPEC, 500, "internal error"),
	ROW(KMS_ERATE, MIKEY_ERR_UNSPEC, 429, "too many requests"),
	ROW(KMS_EREUSED, MIKEY_ERR_TICKET, 403,
	    "ticket not reusable and resolved before"),
};
#undef ROW

static const struct err_row unknown_row = { 0, "KMS_EUNKNOWN", "unknown error",
					    MIKEY_ERR_UNSPEC, 500 };

static const struct err_row *err_find(int code)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
		if (err_table[i].code == code) {
			return &err_table[i];
		}
	}
	return &unknown_row;
}

const char *kms_strerror(int code)
{
	return err_find(code)->text;
}

const char *kms_err_name(int code)
{
	return err_find(code)->name;
}

int kms_err_mikey(int code)
{
	return err_find(code)->mikey;
}

int kms_err_http(int code)
{
	return err_find(code)->http;
}
