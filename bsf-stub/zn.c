/*
 * Zn answers.  Ks_ext_NAF is derived per request from the stored Ks; it
 * and its base64 form are wiped (jansson's allocations too: bsf_new() sets
 * a wiping allocator).  Logs carry the request id, the NAF and a B-TID
 * prefix, never a key.
 */
#include "bsf-stub/zn.h"

#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "gba/kdf.h"

void bsf_zn_body_free(void *body)
{
	if (body != NULL) {
		secmem_wipe(body, malloc_usable_size(body));
		free(body);
	}
}

void bsf_zn_answer_free(bsf_zn_answer_t *ans)
{
	if (ans == NULL) {
		return;
	}
	bsf_zn_body_free(ans->body);
	ans->body = NULL;
	ans->body_len = 0;
}

/* Serialise obj (consumed) as the answer body. */
static int answer(unsigned status, json_t *obj, bsf_zn_answer_t *ans)
{
	if (obj == NULL) {
		return KMS_ENOMEM;
	}
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL) {
		return KMS_ENOMEM;
	}
	ans->status = status;
	ans->body = s;
	ans->body_len = strlen(s);
	return KMS_EOK;
}

int bsf_zn_error(unsigned status, const char *error, int result_code, const char *reason,
		 bsf_zn_answer_t *ans)
{
	memset(ans, 0, sizeof(*ans));
	if (result_code != 0) {
		return answer(status,
			      json_pack("{s:s, s:i, s:s}", "error", error, "result_code",
					result_code, "reason", reason),
			      ans);
	}
	return answer(status, json_pack("{s:s, s:s}", "error", error, "reason", reason),
		      ans);
}

int bsf_zn_parse(const uint8_t *body, size_t len, bsf_zn_req_t *out, const char **why)
{
	bsf_zn_req_t req;
	json_error_t jerr;
	const char *w = NULL;
	memset(&req, 0, sizeof(req));

	if (body == NULL || len == 0 || len > BSF_ZN_BODY_MAX) {
		w = "body empty or over the cap";
		goto done;
	}
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		w = "not a JSON object";
		json_decref(root);
		goto done;
	}
	const char *key;
	json_t *v;
	bool have_btid = false, have_naf = false;
	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "transaction_identifier") == 0) {
			size_t n = json_string_length(v);
			if (!json_is_string(v) ||
			    bsf_zn_btid_check(json_string_value(v), n) != KMS_EOK) {
				w = "transaction_identifier is not a B-TID string";
				break;
			}
			memcpy(req.btid, json_string_value(v), n);
			req.btid[n] = '\0';
			have_btid = true;
		} else if (strcmp(key, "naf_id") == 0) {
			if (!json_is_string(v) ||
			    base64_decode(json_string_value(v), json_string_length(v),
					  req.naf_id, sizeof(req.naf_id),
					  &req.naf_id_len) != KMS_EOK ||
			    bsf_zn_naf_fqdn(req.naf_id, req.naf_id_len, req.fqdn) !=
				KMS_EOK) {
				w = "naf_id is not base64 of FQDN || 5-octet Ua id";
				break;
			}
			have_naf = true;
		} else if (strcmp(key, "gba_u_awareness") == 0) {
			if (!json_is_boolean(v)) {
				w = "gba_u_awareness is not a boolean";
				break;
			}
			req.gba_u = json_is_true(v);
		} else {
			w = "unknown field";
			break;
		}
	}
	json_decref(root);
	if (w == NULL && (!have_btid || !have_naf)) {
		w = "transaction_identifier and naf_id are required";
	}
done:
	if (w != NULL) {
		if (why != NULL) {
			*why = w;
		}
		return KMS_EMALFORMED;
	}
	*out = req;
	return KMS_EOK;
}

/* The USS of the NAF's group only (none when no IMPU is in it). */
static json_t *uss_json(const bsf_zn_result_t *r)
{
	json_t *uss = json_array();
	if (uss == NULL || r->nimpus == 0) {
		return uss;
	}
	json_t *impus = json_array();
	for (size_t i = 0; impus != NULL && i < r->nimpus; i++) {
		if (json_array_append_new(impus, json_string(r->impus[i])) != 0) {
			json_decref(impus);
			impus = NULL;
		}
	}
	if (impus == NULL ||
	    json_array_append_new(uss, json_pack("{s:s, s:o}", "naf_group", r->group,
						 "impus", impus)) != 0) {
		json_decref(uss);
		return NULL;
	}
	return uss;
}

/* The 200 answer for req from a successful lookup r. */
static int success(const bsf_zn_req_t *req, const bsf_zn_result_t *r,
		   bsf_zn_answer_t *ans)
{
	char b64[64];
	int ret = base64_encode(r->ks_naf, sizeof(r->ks_naf), b64, sizeof(b64));
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	json_t *uss = uss_json(r);
	if (uss == NULL) {
		ret = KMS_ENOMEM;
		goto cleanup;
	}
	json_t *obj = json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:s, s:{s:o}}", "transaction_identifier",
	    req->btid, "user_name", r->impi, "me_key_material", b64, "key_expiry_time",
	    (json_int_t)r->expires, "bootstrap_info_creation_time",
	    (json_int_t)r->created, "gba_type", "3G", "guss", "uss", uss);
	ret = answer(200, obj, ans);
cleanup:
	secmem_wipe(b64, sizeof(b64));
	return ret;
}

int bsf_zn_handle(bsf_t *b, const char *rid, const bsf_zn_req_t *req, int64_t now,
		  bsf_zn_answer_t *ans)
{
	bsf_zn_result_t *r = malloc(sizeof(*r)); /* 16 KiB of IMPUs: not the stack */
	const bsf_zn_query_t q = { req->btid, req->naf_id, req->naf_id_len, req->fqdn,
				   NULL };
	memset(ans, 0, sizeof(*ans));
	if (r == NULL) {
		return bsf_zn_error(503, "UNAVAILABLE", 0, "out of memory", ans);
	}
	bsf_zn_lookup(b, rid, &q, now, r);
	const bsf_zn_code_t *c = bsf_zn_code(r->code);
	int ret;
	if (r->code == BSF_ZN_SUCCESS) {
		ret = success(req, r, ans);
		if (ret != KMS_EOK) {
			log_req_error(rid, "Zn: cannot build the answer: %s",
				      kms_strerror(ret));
		}
	} else if (r->code == BSF_ZN_UNAVAILABLE) {
		ret = bsf_zn_error(c->http, c->error, 0, r->reason, ans);
	} else {
		ret = bsf_zn_error(c->http, c->error, (int)r->code,
				   r->reason != NULL ? r->reason : "", ans);
	}
	bsf_zn_result_clear(r);
	free(r);
	return ret;
}
