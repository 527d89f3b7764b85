/*
 * Ub: challenges, answers, resynchronisation.  Secrets (K, OPc, XRES, CK,
 * IK, Ks) live in locals wiped at the one exit of each function; logs name
 * the request id, the IMPI and at most a B-TID prefix.
 */
#include "bsf-stub/ub.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "gba/digest.h"
#include "gba/kdf.h"
#include "gba/milenage.h"

#define CT_TEXT "text/plain; charset=utf-8"
#define ALGORITHM "AKAv1-MD5"
#define QOP "auth-int"

int bsf_iso8601(int64_t t, char *out, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (out == NULL || gmtime_r(&tt, &tm) == NULL) {
		return KMS_EINVAL;
	}
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return n > 0 ? KMS_EOK : KMS_ESPACE;
}

static int text(bsf_ub_answer_t *ans, unsigned status, const char *msg, int ret)
{
	ans->status = status;
	ans->content_type = CT_TEXT;
	int n = snprintf(ans->body, sizeof(ans->body), "%s\n", msg);
	ans->body_len = n > 0 && (size_t)n < sizeof(ans->body) ? (size_t)n : 0;
	return ret;
}

static void u48_put(uint64_t v, uint8_t out[MILENAGE_SQN_LEN])
{
	for (int i = MILENAGE_SQN_LEN - 1; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t u48_get(const uint8_t in[MILENAGE_SQN_LEN])
{
	uint64_t v = 0;
	for (size_t i = 0; i < MILENAGE_SQN_LEN; i++) {
		v = (v << 8) | in[i];
	}
	return v;
}

/* A new challenge for impi: SQN + 1 (persisted), RAND, AUTN, XRES, CK, IK. */
static int challenge(bsf_t *b, bsf_store_t *st, const char *rid, const char *impi,
		     int64_t now, bsf_ub_answer_t *ans)
{
	bsf_sub_t sub;
	bsf_chal_t c;
	uint8_t sqn[MILENAGE_SQN_LEN], autn[MILENAGE_AUTN_LEN], op[16];
	memset(&c, 0, sizeof(c));

	int ret = bsf_store_sqn_next(st, impi, &sub);
	if (ret == KMS_ENOENT) {
		text(ans, 403, "unknown IMPI", KMS_EID);
		ret = KMS_EID;
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		log_req_error(rid, "Ub %s: cannot step the SQN: %s", impi,
			      kms_strerror(ret));
		text(ans, ret == KMS_EUNAVAIL ? 503 : 500, "store unavailable", ret);
		goto cleanup;
	}
	u48_put(sub.sqn, sqn);
	ret = crypto_random(c.rand, sizeof(c.rand));
	if (ret == KMS_EOK) {
		ret = crypto_random(op, sizeof(op));
	}
	if (ret == KMS_EOK) {
		ret = hex_encode(op, sizeof(op), c.opaque, sizeof(c.opaque));
	}
	if (ret == KMS_EOK) {
		ret = milenage_autn(sub.k, sub.opc, c.rand, sqn, sub.amf, autn);
	}
	if (ret == KMS_EOK) {
		ret = milenage_f2345(sub.k, sub.opc, c.rand, c.xres, c.ck, c.ik, NULL,
				     NULL);
	}
	if (ret == KMS_EOK) {
		ret = digest_nonce_make(c.rand, autn, c.nonce, sizeof(c.nonce));
	}
	if (ret == KMS_EOK) {
		snprintf(c.impi, sizeof(c.impi), "%s", impi);
		c.expires = now + (int64_t)bsf_config(b)->challenge_ttl;
		ret = bsf_chal_put(bsf_challenges(b), &c, now);
	}
	if (ret != KMS_EOK) {
		log_req_error(rid, "Ub %s: cannot make a challenge: %s", impi,
			      kms_strerror(ret));
		text(ans, 500, "internal error", ret);
		goto cleanup;
	}
	snprintf(ans->www_authenticate, sizeof(ans->www_authenticate),
		 "Digest realm=\"%s\", nonce=\"%s\", algorithm=" ALGORITHM ", qop=\"" QOP
		 "\", opaque=\"%s\"",
		 bsf_realm(b), c.nonce, c.opaque);
	text(ans, 401, "authentication required", KMS_EAUTH);
	ret = KMS_EAUTH;
cleanup:
	secmem_wipe(&sub, sizeof(sub));
	secmem_wipe(&c, sizeof(c));
	secmem_wipe(sqn, sizeof(sqn));
	return ret;
}

/* AUTS with the nonce of chal: SQN := SQN_MS when MAC-S verifies. */
static int resync(bsf_store_t *st, const char *rid, const bsf_chal_t *chal,
		  const char *auts_b64)
{
	bsf_sub_t sub;
	uint8_t auts[MILENAGE_AUTS_LEN + 2], sqn_ms[MILENAGE_SQN_LEN];
	size_t n = 0;
	memset(&sub, 0, sizeof(sub));

	int ret = base64_decode(auts_b64, strlen(auts_b64), auts, sizeof(auts), &n);
	if (ret != KMS_EOK || n != MILENAGE_AUTS_LEN) {
		log_req_error(rid, "Ub %s: auts is not base64 of %d octets", chal->impi,
			      MILENAGE_AUTS_LEN);
		ret = KMS_EMALFORMED;
		goto cleanup;
	}
	ret = bsf_store_sub_get(st, chal->impi, &sub);
	if (ret == KMS_EOK) {
		ret = milenage_resync(sub.k, sub.opc, chal->rand, auts, sqn_ms);
	}
	if (ret == KMS_EMAC) {
		log_req_error(rid, "Ub %s: AUTS MAC-S does not verify: SQN unchanged",
			      chal->impi);
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		log_req_error(rid, "Ub %s: resynchronisation failed: %s", chal->impi,
			      kms_strerror(ret));
		goto cleanup;
	}
	/* TS 33.102 6.3.5: the network goes on from SQN_MS (next SQN_MS + 1). */
	ret = bsf_store_sqn_set(st, chal->impi, u48_get(sqn_ms));
	if (ret == KMS_EOK) {
		log_req_notice(rid, "Ub %s: SQN resynchronised from AUTS", chal->impi);
	}
cleanup:
	secmem_wipe(&sub, sizeof(sub));
	secmem_wipe(auts, sizeof(auts));
	return ret;
}

/* The answer to a challenge was right: B-TID, session, 200. */
static int bootstrap(bsf_t *b, bsf_store_t *st, const char *rid, const bsf_chal_t *chal,
		     int64_t now, bsf_ub_answer_t *ans)
{
	bsf_session_t s;
	char life[32];
	memset(&s, 0, sizeof(s));

	int ret =
	    gba_btid(chal->rand, bsf_config(b)->domain, ans->btid, sizeof(ans->btid));
	if (ret == KMS_EOK) {
		snprintf(s.impi, sizeof(s.impi), "%s", chal->impi);
		memcpy(s.rand, chal->rand, sizeof(s.rand));
		memcpy(s.ks, chal->ck, 16);
		memcpy(s.ks + 16, chal->ik, 16);
		s.created = now;
		s.expires = now + (int64_t)bsf_config(b)->lifetime;
		ret = bsf_store_session_put(st, ans->btid, &s, now - BSF_SESSION_KEEP);
	}
	if (ret == KMS_EOK) {
		ret = bsf_iso8601(s.expires, life, sizeof(life));
	}
	if (ret != KMS_EOK) {
		log_req_error(rid, "Ub %s: cannot store the bootstrapping session: %s",
			      chal->impi, kms_strerror(ret));
		ans->btid[0] = '\0';
		text(ans, ret == KMS_EUNAVAIL ? 503 : 500, "cannot store the session",
		     ret);
		goto cleanup;
	}
	int n = snprintf(ans->body, sizeof(ans->body),
			 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			 "<BootstrappingInfo xmlns=\"uri:3gpp-gba\">"
			 "<btid>%s</btid><lifetime>%s</lifetime></BootstrappingInfo>",
			 ans->btid, life);
	if (n < 0 || (size_t)n >= sizeof(ans->body)) {
		ret = text(ans, 500, "internal error", KMS_ESPACE);
		goto cleanup;
	}
	ans->body_len = (size_t)n;
	ans->status = 200;
	ans->content_type = BSF_UB_CT_XML;
	log_req_notice(rid, "Ub %s: bootstrapped, B-TID %.8s..., lifetime %u s", s.impi,
		       ans->btid, bsf_config(b)->lifetime);
cleanup:
	secmem_wipe(&s, sizeof(s));
	return ret;
}

/* Check an answer to chal; KMS_EOK when the digest response is right. */
static int verify(bsf_t *b, const char *rid, const bsf_chal_t *chal,
		  const digest_params_t *p, const char *method, const uint8_t *body,
		  size_t body_len)
{
	char want[33];
	const char *why = NULL;
	if (strcmp(p->realm, bsf_realm(b)) != 0) {
		why = "realm differs from the challenge's";
	} else if (strcasecmp(p->algorithm, ALGORITHM) != 0) {
		why = "algorithm is not " ALGORITHM;
	} else if (strcmp(p->qop, QOP) != 0) {
		why = "qop is not " QOP;
	} else if (strcmp(p->opaque, chal->opaque) != 0) {
		why = "opaque differs from the challenge's";
	} else if (p->uri[0] == '\0' || p->nc[0] == '\0' || p->cnonce[0] == '\0') {
		why = "uri, nc or cnonce missing";
	} else if (strlen(p->response) != 32) {
		why = "response is not 32 hex digits";
	}
	if (why != NULL) {
		log_req_error(rid, "Ub %s: refused: %s", chal->impi, why);
		return KMS_EAUTH;
	}
	int ret = digest_response(p, method, chal->xres, sizeof(chal->xres), body,
				  body_len, want);
	if (ret != KMS_EOK) {
		log_req_error(rid, "Ub %s: cannot compute the response: %s", chal->impi,
			      kms_strerror(ret));
		return KMS_EAUTH;
	}
	ret = secmem_eq(want, p->response, 32) ? KMS_EOK : KMS_EAUTH;
	secmem_wipe(want, sizeof(want));
	if (ret != KMS_EOK) {
		log_req_error(rid, "Ub %s: wrong digest response (RES)", chal->impi);
	}
	return ret;
}

int bsf_ub_handle(bsf_t *b, const char *rid, const char *method, const char *authz,
		  const uint8_t *body, size_t body_len, int64_t now, bsf_ub_answer_t *ans)
{
	digest_params_t p;
	bsf_chal_t chal;
	int ret;

	memset(ans, 0, sizeof(*ans));
	memset(&chal, 0, sizeof(chal));
	if (authz == NULL) {
		return text(
		    ans, 400,
		    "Authorization: Digest username=\"IMPI\" ... required (docs/ub.md)",
		    KMS_EMALFORMED);
	}
	size_t alen = strnlen(authz, DIGEST_HEADER_MAX + 1);
	if (alen > DIGEST_HEADER_MAX || digest_parse(authz, alen, &p) != KMS_EOK) {
		log_req_warning(rid, "Ub: unparsable Authorization header");
		return text(ans, 400, "malformed Authorization header", KMS_EMALFORMED);
	}
	size_t ulen = strlen(p.username);
	if (ulen == 0 || ulen > GBA_IMPI_MAX ||
	    gba_string_check(p.username, ulen) != KMS_EOK) {
		log_req_warning(rid,
				"Ub: username (IMPI) missing or not printable ASCII");
		return text(ans, 400, "username (IMPI) missing or invalid",
			    KMS_EMALFORMED);
	}
	bsf_store_t *st = bsf_store(b);
	if (st == NULL) {
		return text(ans, 503, "store unavailable", KMS_EUNAVAIL);
	}
	if (p.nonce[0] == '\0') {
		ret = challenge(b, st, rid, p.username, now, ans);
		if (ret == KMS_EID) {
			log_req_warning(rid, "Ub: unknown IMPI %s: 403", p.username);
		}
		goto cleanup;
	}
	if (bsf_chal_take(bsf_challenges(b), p.nonce, now, &chal) != KMS_EOK) {
		log_req_notice(rid,
			       "Ub %s: unknown, used or expired nonce: new challenge",
			       p.username);
		ret = challenge(b, st, rid, p.username, now, ans);
		goto cleanup;
	}
	if (strcmp(chal.impi, p.username) != 0) {
		log_req_error(rid, "Ub %s: answers a challenge made for another IMPI",
			      p.username);
		ret = challenge(b, st, rid, p.username, now, ans);
		goto cleanup;
	}
	if (p.auts[0] != '\0') {
		(void)resync(st, rid, &chal, p.auts);
		ret = challenge(b, st, rid, p.username, now, ans);
		goto cleanup;
	}
	if (verify(b, rid, &chal, &p, method, body, body_len) != KMS_EOK) {
		ret = challenge(b, st, rid, p.username, now, ans);
		goto cleanup;
	}
	ret = bootstrap(b, st, rid, &chal, now, ans);
cleanup:
	secmem_wipe(&chal, sizeof(chal));
	secmem_wipe(&p, sizeof(p));
	return ret;
}
