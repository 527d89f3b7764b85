/* kms-ue: check and open REQUEST_RESP / RESOLVE_RESP, report Error messages. */
#include "tools/ue_answer.h"

#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "tools/ue_common.h"
#include "tools/ue_ident.h"
#include "tools/ue_opts.h"

static int verify_and_open(const ue_answer_ctx_t *ctx, const mikey_msg_t *resp,
			   const uint8_t *key, size_t klen, uint8_t *plain,
			   size_t plain_cap, mikey_keys_t *keys, ue_keyset_t *set)
{
	const mikey_msg_t *init = ctx->init;
	uint8_t want = init->hdr.data_type == MIKEY_DT_REQUEST_INIT_PSK
			   ? MIKEY_DT_REQUEST_RESP
			   : MIKEY_DT_RESOLVE_RESP;
	if (resp->hdr.data_type != want) {
		fprintf(stderr, "%s: --resp: a %s, expected %s\n", ue_prog,
			mikey_dt_name(resp->hdr.data_type), mikey_dt_name(want));
		return KMS_EDT;
	}
	if (resp->hdr.csb_id != init->hdr.csb_id || resp->hdr.prf != init->hdr.prf) {
		fprintf(
		    stderr,
		    "%s: --resp: CSB ID %08x / PRF %u do not match our %s's %08x / %u\n",
		    ue_prog, resp->hdr.csb_id, (unsigned)resp->hdr.prf,
		    mikey_dt_name(init->hdr.data_type), init->hdr.csb_id,
		    (unsigned)init->hdr.prf);
		return KMS_EMALFORMED;
	}
	if (mikey_msg_v(resp)->alg != mikey_msg_v(init)->alg) {
		fprintf(stderr, "%s: --resp: V Auth alg differs from ours\n", ue_prog);
		return KMS_EHA;
	}
	/* The MAC first: nothing it covers is acted on before. */
	mikey_bytes_t whole = { init->buf, init->len };
	int rc = mikey_mac_verify(resp, key, klen, &whole, 1);
	if (rc != KMS_EOK) {
		ue_fail("--resp: V (wrong PSK, or the answer was altered)", rc);
		return rc;
	}
	const mikey_id_t *kms = mikey_msg_idr(resp, MIKEY_ROLE_KMS);
	if (kms != NULL && !ue_id_same_user(kms->id.data, kms->id.len, ctx->kms_id->data,
					    ctx->kms_id->len)) {
		fprintf(stderr, "%s: --resp: IDRkms is not the KMS we asked\n", ue_prog);
		return KMS_EID;
	}
	const mikey_rand_t *ri = mikey_msg_randr(init, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(init, MIKEY_RAND_R);
	uint64_t t64 = 0;
	size_t plain_len = 0;
	rc = mikey_profile_kemac_ts(resp, &t64);
	if (rc == KMS_EOK) {
		rc = mikey_kemac_open(NULL, init->hdr.prf, mikey_msg_kemac(resp),
				      ctx->psk, ctx->psk_len, init->hdr.csb_id,
				      MIKEY_DIR_RESP, ri != NULL ? &ri->rand : NULL,
				      rr != NULL ? &rr->rand : NULL, t64, plain,
				      plain_cap, &plain_len, keys);
	}
	if (rc != KMS_EOK) {
		ue_fail("--resp: KEMAC", rc);
		return rc;
	}
	/* The ticket: in a REQUEST_RESP, or the one the RESOLVE_INIT carried. */
	const mikey_ticket_t *t = resp->has_ticket ? &resp->ticket : &init->ticket;
	bool forking = (t->policy.flags & MIKEY_TPF_I) != 0;
	rc = ue_keys_expect(keys, ctx->key_len, forking, set);
	if (rc != KMS_EOK) {
		fprintf(stderr,
			"%s: --resp: KEMAC: expected MPKi, %sTGK of %zu bytes each "
			"with an SPI, got %zu keys\n",
			ue_prog, forking ? "MPKr, " : "[MPKr], ", ctx->key_len, keys->n);
	}
	return rc;
}

/*
 * Invalid ID is also what a KMS answers when our IDRkms is not its own
 * identity, the usual mistake with a KMS whose kms_id is not kms-ue's
 * default (e.g. Bob's KMS in a federation): say which KMS we named.
 */
static void kms_id_hint(const ue_answer_ctx_t *ctx, const mikey_msg_t *err)
{
	const mikey_id_t *kms = mikey_msg_idr(ctx->init, MIKEY_ROLE_KMS);
	if (kms == NULL) {
		return;
	}
	for (size_t i = 0; i < err->n; i++) {
		if (err->p[i].type == MIKEY_PT_ERR &&
		    err->p[i].u.err.errno_ == MIKEY_ERR_ID) {
			fprintf(stderr,
				"%s: hint: the request named the KMS '%.*s' (IDRkms, "
				"--kms-id, default " UE_KMS_ID_DEFAULT
				"): if that is not the kms.kms_id of the KMS it went to, "
				"give that with --kms-id\n",
				ue_prog, (int)kms->id.len, (const char *)kms->id.data);
			return;
		}
	}
}

/*
 * A MIKEY Error answering our INIT: its V, if any, may use the auth_key of
 * the message in error (D = 0x01, RFC 6043 5.4) or, from KMSs that MAC
 * errors like responses, the response direction (D = 0x02); both are
 * derived for the Error's own Auth alg.
 */
static void report_error(const ue_answer_ctx_t *ctx, const mikey_msg_t *err)
{
	const mikey_v_t *v = mikey_msg_v(err);
	uint8_t k[2][MIKEY_MAC_MAX];
	ue_err_key_t keys[2];
	size_t n = ue_error_keys(ctx->init, v, ctx->psk, ctx->psk_len, true, k, keys);
	if (v != NULL && n == 0) {
		fprintf(stderr, "%s: --resp: the Error's V Auth alg %u is unknown\n",
			ue_prog, (unsigned)v->alg);
	}
	ue_report_error_msg("the KMS", err, ctx->init, keys, n);
	secmem_wipe(k, sizeof(k));
	kms_id_hint(ctx, err);
}

int ue_answer_open(const ue_answer_ctx_t *ctx, const char *path, uint8_t *buf, size_t cap,
		   size_t *len, mikey_msg_t *resp, uint8_t *plain, size_t plain_cap,
		   mikey_keys_t *keys, ue_keyset_t *set)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = 0;
	const mikey_msg_t *init = ctx->init;
	int ret = ue_load_msg(path, buf, cap, len, resp);
	if (ret != UE_EXIT_OK) {
		return ret;
	}
	if (resp->hdr.data_type == MIKEY_DT_ERROR) {
		report_error(ctx, resp);
		return UE_EXIT_INVALID;
	}
	const mikey_rand_t *ri = mikey_msg_randr(init, MIKEY_RAND_I);
	const mikey_rand_t *rr = mikey_msg_randr(init, MIKEY_RAND_R);
	int rc = ue_auth_key(init->hdr.prf, ctx->psk, ctx->psk_len, init->hdr.csb_id,
			     MIKEY_DIR_RESP, ri != NULL ? &ri->rand : NULL,
			     rr != NULL ? &rr->rand : NULL, mikey_msg_v(init)->alg, key,
			     &klen);
	if (rc != KMS_EOK) {
		ue_fail("auth key", rc);
	} else {
		rc = verify_and_open(ctx, resp, key, klen, plain, plain_cap, keys, set);
	}
	secmem_wipe(key, sizeof(key));
	if (rc != KMS_EOK) {
		secmem_wipe(plain, plain_cap);
		return UE_EXIT_INVALID;
	}
	return UE_EXIT_OK;
}
