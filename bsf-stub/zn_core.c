/*
 * The Zn lookup, transport-neutral.  Ks_ext_NAF is derived per request
 * from the stored Ks and lives only in the result, which the fronts wipe.
 * The NAF check comes first, so a NAF that is not allowed learns nothing
 * about the B-TID.
 */
#include "bsf-stub/zn_core.h"

#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"

static const bsf_zn_code_t codes[] = {
	{ BSF_ZN_SUCCESS, false, 200, NULL },
	{ BSF_ZN_NOT_AUTHORIZED, true, 403, "NOT_AUTHORIZED" },
	{ BSF_ZN_BTID_INVALID, true, 404, "TRANSACTION_IDENTIFIER_INVALID" },
	{ BSF_ZN_IMPI_UNKNOWN, true, 404, "IMPI_UNKNOWN" },
	{ BSF_ZN_USER_UNKNOWN, true, 404, "USER_UNKNOWN" },
	{ BSF_ZN_TOO_BUSY, false, 503, "TOO_BUSY" },
	{ BSF_ZN_UNABLE_TO_COMPLY, false, 500, "UNABLE_TO_COMPLY" },
	/* A store failure: transient on both fronts. */
	{ BSF_ZN_UNAVAILABLE, false, 503, "UNAVAILABLE" },
};

const bsf_zn_code_t *bsf_zn_code(uint32_t code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (codes[i].code == code) {
			return &codes[i];
		}
	}
	return NULL;
}

bool bsf_zn_test_code_ok(uint32_t code)
{
	return code != BSF_ZN_SUCCESS && code != BSF_ZN_UNAVAILABLE &&
	       bsf_zn_code(code) != NULL;
}

void bsf_zn_result_clear(bsf_zn_result_t *r)
{
	if (r != NULL) {
		secmem_wipe(r, sizeof(*r));
	}
}

/* A B-TID: printable ASCII without spaces, with an inner '@'. */
int bsf_zn_btid_check(const char *s, size_t len)
{
	if (len == 0 || len > GBA_BTID_MAX) {
		return KMS_EMALFORMED;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			return KMS_EMALFORMED;
		}
	}
	const char *at = memchr(s, '@', len);
	return at != NULL && at != s && at != s + len - 1 ? KMS_EOK : KMS_EMALFORMED;
}

/* NAF_Id: FQDN (printable ASCII, no NUL) || 5-octet Ua security protocol id. */
int bsf_zn_naf_fqdn(const uint8_t *id, size_t len, char *fqdn)
{
	if (len <= GBA_UA_ID_LEN || len > GBA_NAF_ID_MAX) {
		return KMS_EMALFORMED;
	}
	size_t n = len - GBA_UA_ID_LEN;
	if (n > BSF_FQDN_MAX || memchr(id, '\0', n) != NULL ||
	    gba_string_check((const char *)id, n) != KMS_EOK) {
		return KMS_EMALFORMED;
	}
	memcpy(fqdn, id, n);
	fqdn[n] = '\0';
	return KMS_EOK;
}

static int add_impu(const char *impu, void *arg)
{
	bsf_zn_result_t *r = arg;
	size_t n = strlen(impu);
	/* The store caps both; a longer one would be a store bug: stop. */
	if (r->nimpus >= BSF_IMPUS_MAX || n > BSF_IMPU_MAX) {
		return KMS_ERANGE;
	}
	memcpy(r->impus[r->nimpus], impu, n + 1);
	r->nimpus++;
	return KMS_EOK;
}

/* The session s is valid for q: derive the key, read the group's IMPUs. */
static uint32_t success(bsf_store_t *st, const bsf_zn_query_t *q, const bsf_session_t *s,
			bsf_zn_result_t *r)
{
	/* GBA_ME subscribers only: ME-Key-Material is Ks_(ext)_NAF either way. */
	int ret = gba_ks_naf(s->ks, s->ks + 16, s->rand, s->impi, q->naf_id,
			     q->naf_id_len, false, r->ks_naf);
	if (ret == KMS_EOK) {
		ret = bsf_store_impus(st, s->impi, r->group, add_impu, r);
	}
	if (ret != KMS_EOK) {
		secmem_wipe(r->ks_naf, sizeof(r->ks_naf));
		r->nimpus = 0;
		return BSF_ZN_UNAVAILABLE;
	}
	memcpy(r->impi, s->impi, sizeof(r->impi));
	r->created = s->created;
	r->expires = s->expires;
	return BSF_ZN_SUCCESS;
}

/* The decision, without logging; r->reason says why on a refusal. */
static uint32_t decide(bsf_t *b, const bsf_zn_query_t *q, int64_t now, bsf_zn_result_t *r)
{
	bsf_session_t s;
	bsf_sub_t sub;
	uint32_t code;

	bsf_store_t *st = bsf_store(b);
	if (st == NULL) {
		r->reason = "store unavailable";
		return BSF_ZN_UNAVAILABLE;
	}
	int ret = bsf_store_naf_group(st, q->fqdn, r->group, sizeof(r->group));
	if (ret != KMS_EOK) {
		r->reason = ret == KMS_ENOENT ? "naf_not_allowed" : "store unavailable";
		return ret == KMS_ENOENT ? BSF_ZN_NOT_AUTHORIZED : BSF_ZN_UNAVAILABLE;
	}
	memset(&s, 0, sizeof(s));
	memset(&sub, 0, sizeof(sub));
	ret = bsf_store_session_get(st, q->btid, &s);
	if (ret == KMS_EOK && s.expires <= now) {
		r->reason = "expired";
		code = BSF_ZN_BTID_INVALID;
	} else if (ret == KMS_EOK) {
		/* The schema deletes a subscriber's sessions with it, so this is
		 * defence in depth (and the place 5401 would come from). */
		ret = bsf_store_sub_get(st, s.impi, &sub);
		if (ret == KMS_ENOENT) {
			r->reason = "impi_unknown";
			code = BSF_ZN_IMPI_UNKNOWN;
		} else if (ret != KMS_EOK) {
			r->reason = "store unavailable";
			code = BSF_ZN_UNAVAILABLE;
		} else {
			code = success(st, q, &s, r);
		}
	} else {
		r->reason = ret == KMS_ENOENT ? "unknown_btid" : "store unavailable";
		code = ret == KMS_ENOENT ? BSF_ZN_BTID_INVALID : BSF_ZN_UNAVAILABLE;
	}
	secmem_wipe(&s, sizeof(s));
	secmem_wipe(&sub, sizeof(sub));
	return code;
}

void bsf_zn_lookup(bsf_t *b, const char *rid, const bsf_zn_query_t *q, int64_t now,
		   bsf_zn_result_t *out)
{
	const char *via = q->origin != NULL ? " from Diameter peer " : "";
	const char *origin = q->origin != NULL ? q->origin : "";

	memset(out, 0, sizeof(*out));
	uint32_t hook = bsf_test_zn_result(b);
	if (hook != 0) {
		out->code = hook;
		out->reason = "test hook";
		log_req_notice(rid,
			       "Zn: NAF %s%s%s, B-TID %.8s...: %u (--test-zn-result)",
			       q->fqdn, via, origin, q->btid, hook);
		return;
	}
	out->code = decide(b, q, now, out);
	if (out->code == BSF_ZN_SUCCESS) {
		log_req_info(rid,
			     "Zn: NAF %s%s%s (group %s): key for %s, %zu IMPU(s), B-TID "
			     "%.8s...: 2001",
			     q->fqdn, via, origin, out->group, out->impi, out->nimpus,
			     q->btid);
	} else if (out->code == BSF_ZN_UNAVAILABLE) {
		log_req_error(rid, "Zn: NAF %s%s%s, B-TID %.8s...: %s", q->fqdn, via,
			      origin, q->btid, out->reason);
	} else {
		log_req_notice(rid, "Zn: NAF %s%s%s, B-TID %.8s...: %u (%s)", q->fqdn,
			       via, origin, q->btid, out->code, out->reason);
	}
}
