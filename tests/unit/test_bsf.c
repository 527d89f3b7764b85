/* bsf-stubd without HTTP: the store, the challenge table, Ub and Zn logic. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bsf-stub/admin.h"
#include "bsf-stub/bsf.h"
#include "bsf-stub/challenge.h"
#include "bsf-stub/store.h"
#include "bsf-stub/ub.h"
#include "bsf-stub/zn.h"
#include "bsf-stub/zn_core.h"
#include "bsf-stub/zn_dia.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "gba/digest.h"
#include "gba/guss.h"
#include "gba/kdf.h"
#include "gba/milenage.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

#define IMPI "alice@ims.example.org"
#define K_HEX "465b5ce8b199b49faa5f0a2ee238a6bc"
#define OPC_HEX "cd63cb71954a9f4e48a5994e37a02baf"
#define NAF "kms.example.org"
#define T0 1700000000

static char dir[UNIT_PATH_MAX];
static char db_path[UNIT_PATH_MAX];
static uint8_t k[16], opc[16];
static const uint8_t amf[2] = { 0x80, 0x00 };

/* A fresh store with alice (two IMPUs in "kms", one in "other") and the NAF. */
static bsf_t *setup(unsigned lifetime)
{
	unit_tmpdir(dir);
	unit_path(db_path, dir, BSF_DB_NAME);
	unit_hex(K_HEX, k, sizeof(k));
	unit_hex(OPC_HEX, opc, sizeof(opc));
	FILE *null = fopen("/dev/null", "w");
	CU_ASSERT_EQUAL_FATAL(bsf_admin_init(dir, false, null, null), KMS_EOK);
	const char *impus[] = { "sip:alice@example.org", "tel:+15550001" };
	const char *other[] = { "sip:alice-other@example.org" };
	CU_ASSERT_EQUAL_FATAL(bsf_admin_add_subscriber(dir, IMPI, K_HEX, OPC_HEX, NULL,
						       impus, 2, "kms", null, null),
			      KMS_EOK);
	bsf_store_t *st = NULL;
	CU_ASSERT_EQUAL_FATAL(bsf_store_open(db_path, 0, &st), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_store_impu_add(st, IMPI, other[0], "other"), KMS_EOK);
	bsf_store_close(st);
	CU_ASSERT_EQUAL_FATAL(bsf_admin_add_naf(dir, NAF, "kms", null, null), KMS_EOK);
	fclose(null);
	bsf_config_t cfg;
	bsf_config_defaults(&cfg);
	snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", db_path);
	cfg.lifetime = lifetime;
	cfg.max_challenges = 4;
	bsf_t *b = NULL;
	CU_ASSERT_EQUAL_FATAL(bsf_new(&cfg, &b), KMS_EOK);
	return b;
}

static void teardown(bsf_t *b)
{
	bsf_free(b);
	unit_rmdir(dir);
}

/* --- store ------------------------------------------------------------------ */

static void given_new_store_when_subscriber_added_then_0600_and_sqn_steps_persist(void)
{
	bsf_t *b = setup(3600);
	struct stat sb;
	CU_ASSERT_EQUAL(stat(db_path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	bsf_store_t *st = bsf_store(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	bsf_sub_t sub;
	CU_ASSERT_EQUAL(bsf_store_sub_get(st, IMPI, &sub), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(sub.k, k, 16), 0);
	CU_ASSERT_EQUAL(memcmp(sub.opc, opc, 16), 0);
	CU_ASSERT_EQUAL(memcmp(sub.amf, amf, 2), 0);
	CU_ASSERT_EQUAL(sub.sqn, 0);
	CU_ASSERT_EQUAL(bsf_store_sqn_next(st, IMPI, &sub), KMS_EOK);
	CU_ASSERT_EQUAL(sub.sqn, 1);
	CU_ASSERT_EQUAL(bsf_store_sqn_next(st, IMPI, &sub), KMS_EOK);
	CU_ASSERT_EQUAL(sub.sqn, 2);
	CU_ASSERT_EQUAL(bsf_store_sqn_set(st, IMPI, BSF_SQN_MAX), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_store_sqn_next(st, IMPI, &sub), KMS_ERANGE);
	CU_ASSERT_EQUAL(bsf_store_sqn_set(st, IMPI, 7), KMS_EOK);
	/* Another connection sees what was stored. */
	bsf_store_t *st2 = NULL;
	CU_ASSERT_EQUAL_FATAL(bsf_store_open(db_path, 0, &st2), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_store_sub_get(st2, IMPI, &sub), KMS_EOK);
	CU_ASSERT_EQUAL(sub.sqn, 7);
	CU_ASSERT_EQUAL(bsf_store_sub_get(st2, "nobody@x", &sub), KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_store_sqn_next(st2, "nobody@x", &sub), KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_store_sqn_set(st2, "nobody@x", 1), KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_store_sub_add(st2, IMPI, k, opc, amf, 0), KMS_EEXIST);
	CU_ASSERT_EQUAL(bsf_store_impu_add(st2, "nobody@x", "sip:x@y", "kms"),
			KMS_ENOENT);
	bsf_store_close(st2);
	teardown(b);
}

static int collect(const char *impu, void *arg)
{
	char *buf = arg;
	strcat(buf, impu);
	strcat(buf, ";");
	return 0;
}

static void given_nafs_and_impus_when_looked_up_then_by_group(void)
{
	bsf_t *b = setup(3600);
	bsf_store_t *st = bsf_store(b);
	char g[BSF_GROUP_MAX + 1];
	CU_ASSERT_EQUAL(bsf_store_naf_group(st, NAF, g, sizeof(g)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(g, "kms");
	CU_ASSERT_EQUAL(bsf_store_naf_group(st, "evil.example.org", g, sizeof(g)),
			KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_store_naf_add(st, NAF, "other"), KMS_EOK); /* replaces */
	CU_ASSERT_EQUAL(bsf_store_naf_group(st, NAF, g, sizeof(g)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(g, "other");
	char buf[256] = "";
	CU_ASSERT_EQUAL(bsf_store_impus(st, IMPI, "kms", collect, buf), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(buf, "sip:alice@example.org;tel:+15550001;");
	buf[0] = '\0';
	CU_ASSERT_EQUAL(bsf_store_impus(st, IMPI, "other", collect, buf), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(buf, "sip:alice-other@example.org;");
	teardown(b);
}

static void given_sessions_when_put_then_get_and_old_ones_purged(void)
{
	bsf_t *b = setup(3600);
	bsf_store_t *st = bsf_store(b);
	bsf_session_t s, got;
	memset(&s, 0, sizeof(s));
	snprintf(s.impi, sizeof(s.impi), "%s", IMPI);
	memset(s.rand, 0x11, sizeof(s.rand));
	memset(s.ks, 0x22, sizeof(s.ks));
	s.created = 100;
	s.expires = 200;
	CU_ASSERT_EQUAL(bsf_store_session_put(st, "old@bsf", &s, 0), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_store_session_put(st, "old@bsf", &s, 0), KMS_EEXIST);
	CU_ASSERT_EQUAL(bsf_store_session_get(st, "old@bsf", &got), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(got.impi, IMPI);
	CU_ASSERT_EQUAL(memcmp(got.rand, s.rand, 16), 0);
	CU_ASSERT_EQUAL(memcmp(got.ks, s.ks, 32), 0);
	CU_ASSERT_EQUAL(got.created, 100);
	CU_ASSERT_EQUAL(got.expires, 200);
	s.expires = 1000;
	CU_ASSERT_EQUAL(bsf_store_session_put(st, "new@bsf", &s, 500), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_store_session_get(st, "old@bsf", &got), KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_store_session_get(st, "new@bsf", &got), KMS_EOK);
	snprintf(s.impi, sizeof(s.impi), "nobody@x"); /* foreign key */
	CU_ASSERT_NOT_EQUAL(bsf_store_session_put(st, "x@bsf", &s, 0), KMS_EOK);
	teardown(b);
}

/* --- challenge table --------------------------------------------------------- */

static void given_full_table_when_put_then_expired_then_oldest_evicted(void)
{
	bsf_chal_table_t *t = bsf_chal_new(2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	bsf_chal_t c, out;
	memset(&c, 0, sizeof(c));
	snprintf(c.nonce, sizeof(c.nonce), "n1");
	c.expires = 110;
	CU_ASSERT_EQUAL(bsf_chal_put(t, &c, 100), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_chal_put(t, &c, 100), KMS_EEXIST);
	snprintf(c.nonce, sizeof(c.nonce), "n2");
	c.expires = 200;
	CU_ASSERT_EQUAL(bsf_chal_put(t, &c, 100), KMS_EOK);
	/* Full: n1 has expired at 150 and goes first. */
	snprintf(c.nonce, sizeof(c.nonce), "n3");
	CU_ASSERT_EQUAL(bsf_chal_put(t, &c, 150), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_chal_count(t), 2);
	CU_ASSERT_EQUAL(bsf_chal_take(t, "n1", 150, &out), KMS_ENOENT);
	/* Full of live ones: the oldest (n2) goes. */
	snprintf(c.nonce, sizeof(c.nonce), "n4");
	CU_ASSERT_EQUAL(bsf_chal_put(t, &c, 150), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_chal_take(t, "n2", 150, &out), KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_chal_take(t, "n3", 150, &out), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(out.nonce, "n3");
	CU_ASSERT_EQUAL(bsf_chal_take(t, "n3", 150, &out), KMS_ENOENT); /* once */
	/* Expired at take time: gone, not returned. */
	CU_ASSERT_EQUAL(bsf_chal_take(t, "n4", 200, &out), KMS_ENOENT);
	CU_ASSERT_EQUAL(bsf_chal_count(t), 0);
	bsf_chal_free(t);
	bsf_chal_free(NULL);
}

/* --- Ub ------------------------------------------------------------------------ */

typedef struct {
	digest_params_t ch; /* the parsed challenge */
	uint8_t rand[16], autn[16];
} chal_view_t;

static void view(const bsf_ub_answer_t *a, chal_view_t *v)
{
	CU_ASSERT_EQUAL_FATAL(a->status, 401);
	CU_ASSERT_EQUAL_FATAL(
	    digest_parse(a->www_authenticate, strlen(a->www_authenticate), &v->ch),
	    KMS_EOK);
	CU_ASSERT_STRING_EQUAL(v->ch.realm, "3GPP-bootstrapping@bsf.example.org");
	CU_ASSERT_STRING_EQUAL(v->ch.algorithm, "AKAv1-MD5");
	CU_ASSERT_STRING_EQUAL(v->ch.qop, "auth-int");
	CU_ASSERT_EQUAL_FATAL(digest_nonce_split(v->ch.nonce, v->rand, v->autn), KMS_EOK);
}

/* The UE's Authorization for challenge v with password res. */
static void answer(const chal_view_t *v, const uint8_t *res, char *out, size_t cap)
{
	digest_params_t p = v->ch;
	snprintf(p.username, sizeof(p.username), "%s", IMPI);
	snprintf(p.uri, sizeof(p.uri), "/ub");
	snprintf(p.nc, sizeof(p.nc), "00000001");
	snprintf(p.cnonce, sizeof(p.cnonce), "0a4f113b");
	char resp[33];
	CU_ASSERT_EQUAL_FATAL(digest_response(&p, "GET", res, 8, NULL, 0, resp), KMS_EOK);
	snprintf(out, cap,
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"/ub\", "
		 "qop=auth-int, nc=00000001, cnonce=\"0a4f113b\", response=\"%s\", "
		 "opaque=\"%s\", algorithm=AKAv1-MD5",
		 IMPI, p.realm, p.nonce, resp, p.opaque);
}

static const char *first = "Digest username=\"" IMPI "\", realm=\"ims.example.org\", "
			   "nonce=\"\", uri=\"/ub\", response=\"\"";

static void given_right_res_when_answered_then_200_btid_and_session(void)
{
	bsf_t *b = setup(3600);
	bsf_ub_answer_t a;
	chal_view_t v;
	uint8_t sqn[6], res[8], ck[16], ik[16];
	char authz[1024];

	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", first, NULL, 0, T0, &a), KMS_EAUTH);
	view(&a, &v);
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v.rand, v.autn, sqn, res, ck, ik), KMS_EOK);
	CU_ASSERT_EQUAL(sqn[5], 1); /* the first SQN after 0 */
	answer(&v, res, authz, sizeof(authz));
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0 + 1, &a),
			KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(a.status, 200);
	CU_ASSERT_STRING_EQUAL(a.content_type, BSF_UB_CT_XML);
	char btid[GBA_BTID_MAX + 1], want[512];
	CU_ASSERT_EQUAL(gba_btid(v.rand, "bsf.example.org", btid, sizeof(btid)), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(a.btid, btid);
	snprintf(want, sizeof(want),
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?><BootstrappingInfo "
		 "xmlns=\"uri:3gpp-gba\"><btid>%s</btid><lifetime>2023-11-14T23:13:21Z"
		 "</lifetime></BootstrappingInfo>",
		 btid);
	CU_ASSERT_STRING_EQUAL(a.body, want);
	CU_ASSERT_EQUAL(a.body_len, strlen(want));
	bsf_session_t s;
	CU_ASSERT_EQUAL_FATAL(bsf_store_session_get(bsf_store(b), btid, &s), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(s.ks, ck, 16), 0);
	CU_ASSERT_EQUAL(memcmp(s.ks + 16, ik, 16), 0);
	CU_ASSERT_EQUAL(memcmp(s.rand, v.rand, 16), 0);
	CU_ASSERT_EQUAL(s.created, T0 + 1);
	CU_ASSERT_EQUAL(s.expires, T0 + 1 + 3600);
	/* The nonce was good once. */
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0 + 2, &a),
			KMS_EAUTH);
	CU_ASSERT_EQUAL(a.status, 401);
	teardown(b);
}

static void given_wrong_res_or_late_answer_when_answered_then_401_new_challenge(void)
{
	bsf_t *b = setup(3600);
	bsf_ub_answer_t a;
	chal_view_t v, v2;
	uint8_t res[8] = { 0 };
	char authz[1024];

	bsf_ub_handle(b, "t", "GET", first, NULL, 0, T0, &a);
	view(&a, &v);
	answer(&v, res, authz, sizeof(authz)); /* RES all zero: wrong */
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0, &a), KMS_EAUTH);
	view(&a, &v2);
	CU_ASSERT_STRING_NOT_EQUAL(v.ch.nonce, v2.ch.nonce);
	/* A right answer after the challenge TTL (120 s) is a new challenge. */
	uint8_t sqn[6], ck[16], ik[16];
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v2.rand, v2.autn, sqn, res, ck, ik), KMS_EOK);
	CU_ASSERT_EQUAL(sqn[5], 2);
	answer(&v2, res, authz, sizeof(authz));
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0 + 121, &a),
			KMS_EAUTH);
	CU_ASSERT_EQUAL(a.status, 401);
	/* A method other than the one hashed does not verify. */
	view(&a, &v);
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v.rand, v.autn, sqn, res, ck, ik), KMS_EOK);
	answer(&v, res, authz, sizeof(authz));
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "POST", authz, NULL, 0, T0 + 121, &a),
			KMS_EAUTH);
	teardown(b);
}

static void given_bad_requests_when_handled_then_400_or_403(void)
{
	bsf_t *b = setup(3600);
	bsf_ub_answer_t a;
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", NULL, NULL, 0, T0, &a),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(a.status, 400);
	CU_ASSERT_EQUAL(
	    bsf_ub_handle(b, "t", "GET", "Basic YWxpY2U6eA==", NULL, 0, T0, &a),
	    KMS_EMALFORMED);
	CU_ASSERT_EQUAL(a.status, 400);
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", "Digest realm=\"x\", nonce=\"\"",
				      NULL, 0, T0, &a),
			KMS_EMALFORMED);
	CU_ASSERT_EQUAL(a.status, 400);
	CU_ASSERT_EQUAL(
	    bsf_ub_handle(b, "t", "GET",
			  "Digest username=\"eve@ims.example.org\", nonce=\"\"", NULL, 0,
			  T0, &a),
	    KMS_EID);
	CU_ASSERT_EQUAL(a.status, 403);
	CU_ASSERT_STRING_EQUAL(a.www_authenticate, "");
	teardown(b);
}

/* The UE (USIM at sqn_ms) rejects AUTN as stale and sends AUTS. */
static void given_stale_sqn_when_auts_then_resync_and_next_challenge_succeeds(void)
{
	bsf_t *b = setup(3600);
	bsf_ub_answer_t a;
	chal_view_t v;
	uint8_t sqn[6], res[8], ck[16], ik[16], auts[14];
	const uint8_t sqn_ms[6] = { 0, 0, 0, 0, 0x01, 0x00 }; /* 256 */
	char authz[1024], b64[32];

	bsf_ub_handle(b, "t", "GET", first, NULL, 0, T0, &a);
	view(&a, &v);
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v.rand, v.autn, sqn, res, ck, ik), KMS_EOK);
	CU_ASSERT_EQUAL(sqn[5], 1); /* <= 256: stale for this USIM */
	/* A forged AUTS (MAC-S wrong): new challenge, SQN not moved. */
	CU_ASSERT_EQUAL_FATAL(milenage_auts(k, opc, v.rand, sqn_ms, auts), KMS_EOK);
	auts[13] ^= 1;
	CU_ASSERT_EQUAL(base64_encode(auts, sizeof(auts), b64, sizeof(b64)), KMS_EOK);
	snprintf(authz, sizeof(authz),
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"/ub\", "
		 "response=\"\", auts=\"%s\"",
		 IMPI, v.ch.realm, v.ch.nonce, b64);
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0, &a), KMS_EAUTH);
	view(&a, &v);
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v.rand, v.autn, sqn, res, ck, ik), KMS_EOK);
	CU_ASSERT_EQUAL(sqn[4], 0);
	CU_ASSERT_EQUAL(sqn[5], 2);
	/* The real AUTS: the network goes on from SQN_MS + 1. */
	CU_ASSERT_EQUAL_FATAL(milenage_auts(k, opc, v.rand, sqn_ms, auts), KMS_EOK);
	CU_ASSERT_EQUAL(base64_encode(auts, sizeof(auts), b64, sizeof(b64)), KMS_EOK);
	snprintf(authz, sizeof(authz),
		 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"/ub\", "
		 "response=\"\", auts=\"%s\"",
		 IMPI, v.ch.realm, v.ch.nonce, b64);
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0, &a), KMS_EAUTH);
	view(&a, &v);
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v.rand, v.autn, sqn, res, ck, ik), KMS_EOK);
	CU_ASSERT_EQUAL(sqn[4], 0x01);
	CU_ASSERT_EQUAL(sqn[5], 0x01); /* 257 */
	answer(&v, res, authz, sizeof(authz));
	CU_ASSERT_EQUAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, T0, &a), KMS_EOK);
	CU_ASSERT_EQUAL(a.status, 200);
	teardown(b);
}

/* --- Zn ------------------------------------------------------------------------ */

/* Bootstrap alice through Ub; btid gets the B-TID, ks the CK || IK, rand RAND. */
static void bootstrap(bsf_t *b, int64_t now, char *btid, uint8_t ks[32], uint8_t rand[16])
{
	bsf_ub_answer_t a;
	chal_view_t v;
	uint8_t sqn[6], res[8];
	char authz[1024];
	bsf_ub_handle(b, "t", "GET", first, NULL, 0, now, &a);
	view(&a, &v);
	CU_ASSERT_EQUAL_FATAL(
	    milenage_check_autn(k, opc, v.rand, v.autn, sqn, res, ks, ks + 16), KMS_EOK);
	answer(&v, res, authz, sizeof(authz));
	CU_ASSERT_EQUAL_FATAL(bsf_ub_handle(b, "t", "GET", authz, NULL, 0, now, &a),
			      KMS_EOK);
	snprintf(btid, GBA_BTID_MAX + 1, "%s", a.btid);
	memcpy(rand, v.rand, 16);
}

static void zn_body(const char *btid, const char *fqdn, char *out, size_t cap)
{
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	uint8_t id[GBA_NAF_ID_MAX];
	size_t n = 0;
	char b64[400];
	CU_ASSERT_EQUAL_FATAL(gba_naf_id(fqdn, ua, id, sizeof(id), &n), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(base64_encode(id, n, b64, sizeof(b64)), KMS_EOK);
	snprintf(out, cap,
		 "{\"transaction_identifier\":\"%s\",\"naf_id\":\"%s\","
		 "\"gba_u_awareness\":false}",
		 btid, b64);
}

static unsigned zn(bsf_t *b, const char *body, int64_t now, json_t **out)
{
	bsf_zn_req_t req;
	bsf_zn_answer_t ans;
	const char *why = NULL;
	CU_ASSERT_EQUAL_FATAL(
	    bsf_zn_parse((const uint8_t *)body, strlen(body), &req, &why), KMS_EOK);
	CU_ASSERT_EQUAL(bsf_zn_handle(b, "t", &req, now, &ans), KMS_EOK);
	*out = json_loadb(ans.body, ans.body_len, JSON_REJECT_DUPLICATES, NULL);
	CU_ASSERT_PTR_NOT_NULL(*out);
	unsigned status = ans.status;
	bsf_zn_answer_free(&ans);
	return status;
}

static void given_bootstrapped_btid_when_zn_then_ks_ext_naf_and_uss_of_group(void)
{
	bsf_t *b = setup(3600);
	char btid[GBA_BTID_MAX + 1], body[1024];
	uint8_t ks[32], rand[16], want[32], got[40];
	bootstrap(b, T0, btid, ks, rand);
	zn_body(btid, NAF, body, sizeof(body));
	json_t *j = NULL;
	CU_ASSERT_EQUAL_FATAL(zn(b, body, T0 + 10, &j), 200);
	const char *ukm = json_string_value(json_object_get(j, "me_key_material"));
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(base64_decode(ukm, strlen(ukm), got, sizeof(got), &n),
			      KMS_EOK);
	CU_ASSERT_EQUAL(n, 32);
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	uint8_t id[GBA_NAF_ID_MAX];
	size_t idn = 0;
	gba_naf_id(NAF, ua, id, sizeof(id), &idn);
	CU_ASSERT_EQUAL(gba_ks_naf(ks, ks + 16, rand, IMPI, id, idn, false, want),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "user_name")), IMPI);
	CU_ASSERT_STRING_EQUAL(
	    json_string_value(json_object_get(j, "transaction_identifier")), btid);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "gba_type")), "3G");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "key_expiry_time")),
			T0 + 3600);
	CU_ASSERT_EQUAL(
	    json_integer_value(json_object_get(j, "bootstrap_info_creation_time")), T0);
	json_t *uss = json_object_get(json_object_get(j, "guss"), "uss");
	CU_ASSERT_EQUAL_FATAL(json_array_size(uss), 1);
	json_t *u0 = json_array_get(uss, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(u0, "naf_group")),
			       "kms");
	json_t *impus = json_object_get(u0, "impus");
	CU_ASSERT_EQUAL_FATAL(json_array_size(impus), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(impus, 0)),
			       "sip:alice@example.org");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(impus, 1)),
			       "tel:+15550001");
	json_decref(j);
	teardown(b);
}

static void given_refusals_when_zn_then_403_5402_404_5403_unknown_and_expired(void)
{
	bsf_t *b = setup(60);
	char btid[GBA_BTID_MAX + 1], body[1024];
	uint8_t ks[32], rand[16];
	json_t *j = NULL;
	bootstrap(b, T0, btid, ks, rand);

	zn_body(btid, "evil.example.org", body, sizeof(body));
	CU_ASSERT_EQUAL(zn(b, body, T0, &j), 403);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
			       "NOT_AUTHORIZED");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result_code")), 5402);
	json_decref(j);

	zn_body("AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org", NAF, body, sizeof(body));
	CU_ASSERT_EQUAL(zn(b, body, T0, &j), 404);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
			       "TRANSACTION_IDENTIFIER_INVALID");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result_code")), 5403);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")),
			       "unknown_btid");
	json_decref(j);

	zn_body(btid, NAF, body, sizeof(body));
	CU_ASSERT_EQUAL(zn(b, body, T0 + 59, &j), 200);
	json_decref(j);
	CU_ASSERT_EQUAL(zn(b, body, T0 + 60, &j), 404);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
			       "TRANSACTION_IDENTIFIER_INVALID");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result_code")), 5403);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "reason")),
			       "expired");
	json_decref(j);
	teardown(b);
}

/* --- the Zn lookup shared by the JSON and Diameter fronts ---------------------------- */

static void naf_id_of(const char *fqdn, uint8_t *id, size_t *n)
{
	static const uint8_t ua[GBA_UA_ID_LEN] = GBA_UA_ID_KMS;
	CU_ASSERT_EQUAL_FATAL(gba_naf_id(fqdn, ua, id, GBA_NAF_ID_MAX, n), KMS_EOK);
}

/* Look btid up for the NAF fqdn at now into *r (heap: it is 16 KiB). */
static uint32_t lookup(bsf_t *b, const char *btid, const char *fqdn, int64_t now,
		       bsf_zn_result_t *r)
{
	uint8_t id[GBA_NAF_ID_MAX];
	size_t n = 0;
	naf_id_of(fqdn, id, &n);
	const bsf_zn_query_t q = { btid, id, n, fqdn, "naf.test" };
	bsf_zn_lookup(b, "t", &q, now, r);
	return r->code;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static void given_bootstrapped_btid_when_looked_up_then_key_group_and_impus(void)
{
	bsf_t *b = setup(3600);
	bsf_zn_result_t *r = calloc(1, sizeof(*r));
	char btid[GBA_BTID_MAX + 1];
	uint8_t ks[32], rand[16], want[32], id[GBA_NAF_ID_MAX];
	size_t n = 0;
	bootstrap(b, T0, btid, ks, rand);
	CU_ASSERT_EQUAL_FATAL(lookup(b, btid, NAF, T0 + 3599, r), BSF_ZN_SUCCESS);
	naf_id_of(NAF, id, &n);
	CU_ASSERT_EQUAL(gba_ks_naf(ks, ks + 16, rand, IMPI, id, n, false, want), KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(r->ks_naf, want, 32), 0);
	CU_ASSERT_STRING_EQUAL(r->impi, IMPI);
	CU_ASSERT_EQUAL(r->created, T0);
	CU_ASSERT_EQUAL(r->expires, T0 + 3600);
	CU_ASSERT_STRING_EQUAL(r->group, "kms");
	CU_ASSERT_EQUAL_FATAL(r->nimpus, 2);
	CU_ASSERT_STRING_EQUAL(r->impus[0], "sip:alice@example.org");
	CU_ASSERT_STRING_EQUAL(r->impus[1], "tel:+15550001");
	bsf_zn_result_clear(r);
	CU_ASSERT_TRUE(all_zero(r->ks_naf, sizeof(r->ks_naf)));
	free(r);
	teardown(b);
}

static void given_refusals_when_looked_up_then_5402_first_then_5403(void)
{
	bsf_t *b = setup(60);
	bsf_zn_result_t *r = calloc(1, sizeof(*r));
	char btid[GBA_BTID_MAX + 1];
	uint8_t ks[32], rand[16];
	bootstrap(b, T0, btid, ks, rand);
	/* Not allowed: 5402 whether or not the B-TID is known. */
	CU_ASSERT_EQUAL(lookup(b, btid, "evil.example.org", T0, r),
			BSF_ZN_NOT_AUTHORIZED);
	CU_ASSERT_TRUE(all_zero(r->ks_naf, sizeof(r->ks_naf)));
	CU_ASSERT_EQUAL(lookup(b, "x@bsf.example.org", "evil.example.org", T0, r),
			BSF_ZN_NOT_AUTHORIZED);
	CU_ASSERT_EQUAL(lookup(b, "x@bsf.example.org", NAF, T0, r), BSF_ZN_BTID_INVALID);
	CU_ASSERT_STRING_EQUAL(r->reason, "unknown_btid");
	/* The clock decides expiry: valid up to the second before expires. */
	CU_ASSERT_EQUAL(lookup(b, btid, NAF, T0 + 59, r), BSF_ZN_SUCCESS);
	CU_ASSERT_EQUAL(lookup(b, btid, NAF, T0 + 60, r), BSF_ZN_BTID_INVALID);
	CU_ASSERT_STRING_EQUAL(r->reason, "expired");
	CU_ASSERT_TRUE(all_zero(r->ks_naf, sizeof(r->ks_naf)));
	CU_ASSERT_EQUAL(r->nimpus, 0);
	free(r);
	teardown(b);
}

static void given_session_without_subscriber_when_looked_up_then_5401(void)
{
	bsf_t *b = setup(3600);
	bsf_zn_result_t *r = calloc(1, sizeof(*r));
	char btid[GBA_BTID_MAX + 1], body[1024];
	uint8_t ks[32], rand[16];
	json_t *j = NULL;
	bootstrap(b, T0, btid, ks, rand);
	/* The schema cascades a subscriber's deletion to its sessions; only a
	 * store edited without foreign keys holds this state. */
	sqlite3 *db = NULL;
	CU_ASSERT_EQUAL_FATAL(sqlite3_open(db_path, &db), SQLITE_OK);
	CU_ASSERT_EQUAL(sqlite3_exec(db,
				     "PRAGMA foreign_keys=OFF; DELETE FROM subscribers "
				     "WHERE impi = 'alice@ims.example.org';",
				     NULL, NULL, NULL),
			SQLITE_OK);
	sqlite3_close(db);
	CU_ASSERT_EQUAL(lookup(b, btid, NAF, T0, r), BSF_ZN_IMPI_UNKNOWN);
	CU_ASSERT_TRUE(all_zero(r->ks_naf, sizeof(r->ks_naf)));
	zn_body(btid, NAF, body, sizeof(body));
	CU_ASSERT_EQUAL(zn(b, body, T0, &j), 404);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
			       "IMPI_UNKNOWN");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result_code")), 5401);
	json_decref(j);
	free(r);
	teardown(b);
}

static void given_test_hook_when_looked_up_then_every_answer_that_code(void)
{
	static const struct {
		uint32_t code;
		unsigned status;
		const char *error;
		bool experimental;
	} want[] = {
		{ 5001, 404, "USER_UNKNOWN", true },
		{ 5401, 404, "IMPI_UNKNOWN", true },
		{ 5402, 403, "NOT_AUTHORIZED", true },
		{ 5403, 404, "TRANSACTION_IDENTIFIER_INVALID", true },
		{ 3004, 503, "TOO_BUSY", false },
		{ 5012, 500, "UNABLE_TO_COMPLY", false },
	};
	bsf_t *b = setup(3600);
	bsf_zn_result_t *r = calloc(1, sizeof(*r));
	char btid[GBA_BTID_MAX + 1], body[1024];
	uint8_t ks[32], rand[16];
	json_t *j = NULL;
	bootstrap(b, T0, btid, ks, rand);
	zn_body(btid, NAF, body, sizeof(body));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CU_ASSERT_TRUE(bsf_zn_test_code_ok(want[i].code));
		const bsf_zn_code_t *c = bsf_zn_code(want[i].code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_EQUAL(c->experimental, want[i].experimental);
		bsf_test_zn_result_set(b, want[i].code);
		CU_ASSERT_EQUAL(lookup(b, btid, NAF, T0, r), want[i].code);
		CU_ASSERT_TRUE(all_zero(r->ks_naf, sizeof(r->ks_naf)));
		CU_ASSERT_EQUAL(zn(b, body, T0, &j), want[i].status);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "error")),
				       want[i].error);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "result_code")),
				(json_int_t)want[i].code);
		json_decref(j);
	}
	CU_ASSERT_FALSE(bsf_zn_test_code_ok(2001));
	CU_ASSERT_FALSE(bsf_zn_test_code_ok(5400));
	CU_ASSERT_FALSE(bsf_zn_test_code_ok(0));
	bsf_test_zn_result_set(b, 0);
	CU_ASSERT_EQUAL(lookup(b, btid, NAF, T0, r), BSF_ZN_SUCCESS);
	bsf_zn_result_clear(r);
	free(r);
	teardown(b);
}

/* --- the Diameter front's handler (no peer: the BIA as dia/ would send it) ----------- */

static void bir_of(dia_zn_bir_t *bir, const char *btid, const char *fqdn)
{
	memset(bir, 0, sizeof(*bir));
	snprintf(bir->btid, sizeof(bir->btid), "%s", btid);
	naf_id_of(fqdn, bir->naf_id, &bir->naf_id_len);
	snprintf(bir->origin_host, sizeof(bir->origin_host), "naf.test");
	snprintf(bir->session_id, sizeof(bir->session_id), "naf.test;1;2");
}

static void given_bir_when_answered_then_bia_with_key_times_and_guss(void)
{
	bsf_t *b = setup(3600);
	bsf_zn_result_t *r = calloc(1, sizeof(*r));
	gba_guss_t *g = calloc(1, sizeof(*g));
	char btid[GBA_BTID_MAX + 1];
	uint8_t ks[32], rand[16];
	dia_zn_bir_t bir;
	dia_zn_bia_t bia;
	bootstrap(b, T0, btid, ks, rand);
	CU_ASSERT_EQUAL_FATAL(lookup(b, btid, NAF, T0 + 5, r), BSF_ZN_SUCCESS);
	bir_of(&bir, btid, NAF);
	dia_zn_bia_init(&bia);
	CU_ASSERT_EQUAL_FATAL(bsf_zn_dia_answer(b, &bir, T0 + 5, &bia), KMS_EOK);
	CU_ASSERT_EQUAL(bia.result_code, 2001);
	CU_ASSERT_EQUAL(bia.exp_result_code, 0);
	CU_ASSERT_STRING_EQUAL(bia.impi, IMPI);
	CU_ASSERT_EQUAL_FATAL(bia.me_key_len, 32);
	CU_ASSERT_EQUAL(memcmp(bia.me_key, r->ks_naf, 32), 0);
	CU_ASSERT_EQUAL(bia.uicc_key_len, 0);
	CU_ASSERT_EQUAL(bia.key_expiry, T0 + 3600);
	CU_ASSERT_EQUAL(bia.created, T0);
	CU_ASSERT_EQUAL(bia.gba_type, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bia.guss);
	CU_ASSERT_EQUAL_FATAL(gba_guss_parse(bia.guss, bia.guss_len, g), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(g->id, IMPI);
	CU_ASSERT_EQUAL(g->uicc_type, 0);
	CU_ASSERT_EQUAL(g->lifetime, 3600);
	CU_ASSERT_EQUAL_FATAL(g->nuss, 1);
	CU_ASSERT_STRING_EQUAL(g->uss[0].naf_group, "kms");
	CU_ASSERT_EQUAL(g->uss[0].type, 1);
	CU_ASSERT_EQUAL(g->uss[0].nflags, 0);
	CU_ASSERT_EQUAL_FATAL(g->uss[0].nuids, 2);
	CU_ASSERT_STRING_EQUAL(g->uss[0].uids[0], "sip:alice@example.org");
	CU_ASSERT_STRING_EQUAL(g->uss[0].uids[1], "tel:+15550001");
	gba_guss_clear(g);
	free(g);
	dia_zn_bia_clear(&bia);
	bsf_zn_result_clear(r);
	free(r);
	teardown(b);
}

/* The codes: Experimental-Result for 5001 and 54xx, Result-Code otherwise. */
static void given_refused_birs_when_answered_then_the_codes_of_ts_29_109(void)
{
	bsf_t *b = setup(60);
	char btid[GBA_BTID_MAX + 1];
	uint8_t ks[32], rand[16];
	dia_zn_bir_t bir;
	dia_zn_bia_t bia;
	bootstrap(b, T0, btid, ks, rand);
	static const struct {
		const char *btid, *fqdn;
		int64_t now;
		uint32_t hook, rc, exp;
	} cases[] = {
		{ NULL, "evil.example.org", T0, 0, 0, 5402 },
		{ "x@bsf.example.org", NAF, T0, 0, 0, 5403 },
		{ NULL, NAF, T0 + 60, 0, 0, 5403 },
		{ "no-at-sign", NAF, T0, 0, 5004, 0 },
		{ NULL, NAF, T0, 5001, 0, 5001 },
		{ NULL, NAF, T0, 5401, 0, 5401 },
		{ NULL, NAF, T0, 3004, 3004, 0 },
		{ NULL, NAF, T0, 5012, 5012, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bsf_test_zn_result_set(b, cases[i].hook);
		bir_of(&bir, cases[i].btid != NULL ? cases[i].btid : btid, cases[i].fqdn);
		dia_zn_bia_init(&bia);
		CU_ASSERT_EQUAL(bsf_zn_dia_answer(b, &bir, cases[i].now, &bia), KMS_EOK);
		CU_ASSERT_EQUAL(bia.result_code, cases[i].rc);
		CU_ASSERT_EQUAL(bia.exp_result_code, cases[i].exp);
		CU_ASSERT_EQUAL(bia.me_key_len, 0);
		CU_ASSERT_PTR_NULL(bia.guss);
		dia_zn_bia_clear(&bia);
	}
	teardown(b);
}

static void given_malformed_zn_bodies_when_parsed_then_refused(void)
{
	static const char *bad[] = {
		"",
		"[]",
		"{",
		"{\"transaction_identifier\":\"a@b\"}",
		"{\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\"}",
		"{\"transaction_identifier\":\"a@b\",\"transaction_identifier\":\"a@b\","
		"\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\"}",
		"{\"transaction_identifier\":5,\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY="
		"\"}",
		"{\"transaction_identifier\":\"nobody\","
		"\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\"}",
		"{\"transaction_identifier\":\"a b@c\","
		"\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\"}",
		"{\"transaction_identifier\":\"a@b\",\"naf_id\":\"!!!\"}",
		"{\"transaction_identifier\":\"a@b\",\"naf_id\":\"AQAAAAY=\"}",
		"{\"transaction_identifier\":\"a@b\","
		"\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\",\"gba_u_awareness\":0}",
		"{\"transaction_identifier\":\"a@b\","
		"\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\",\"extra\":1}",
		NULL,
	};
	bsf_zn_req_t req;
	const char *why = NULL;
	for (size_t i = 0; bad[i] != NULL; i++) {
		why = NULL;
		int ret =
		    bsf_zn_parse((const uint8_t *)bad[i], strlen(bad[i]), &req, &why);
		if (ret != KMS_EMALFORMED) {
			printf("\naccepted: %s\n", bad[i]);
		}
		CU_ASSERT_EQUAL(ret, KMS_EMALFORMED);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
	const char *good = "{\"naf_id\":\"a21zLmV4YW1wbGUub3JnAQAAAAY=\","
			   "\"transaction_identifier\":\"a@b\",\"gba_u_awareness\":true}";
	CU_ASSERT_EQUAL_FATAL(
	    bsf_zn_parse((const uint8_t *)good, strlen(good), &req, &why), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(req.fqdn, NAF);
	CU_ASSERT_STRING_EQUAL(req.btid, "a@b");
	CU_ASSERT_EQUAL(req.naf_id_len, strlen(NAF) + 5);
	CU_ASSERT_TRUE(req.gba_u);
}

static void given_demo_init_when_run_twice_then_usim_files_kept(void)
{
	char d[UNIT_PATH_MAX], p[UNIT_PATH_MAX], line[256];
	unit_tmpdir(d);
	FILE *null = fopen("/dev/null", "w");
	CU_ASSERT_EQUAL_FATAL(bsf_admin_init(d, true, null, null), KMS_EOK);
	unit_path(p, d, "demo-alice.usim");
	struct stat sb;
	CU_ASSERT_EQUAL_FATAL(stat(p, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	FILE *f = fopen(p, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_STRING_EQUAL(line, "impi=alice@ims.example.org\n");
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_EQUAL(strncmp(line, "k=", 2), 0);
	CU_ASSERT_EQUAL(strlen(line), 2 + 32 + 1);
	char first_k[64];
	snprintf(first_k, sizeof(first_k), "%s", line);
	fclose(f);
	CU_ASSERT_EQUAL(bsf_admin_init(d, true, null, null), KMS_EOK);
	f = fopen(p, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof(line), f));
	CU_ASSERT_STRING_EQUAL(line, first_k);
	fclose(f);
	CU_ASSERT_NOT_EQUAL(bsf_admin_add_subscriber(d, "x@y", "00", OPC_HEX, NULL, NULL,
						     0, "kms", null, null),
			    KMS_EOK);
	CU_ASSERT_NOT_EQUAL(bsf_admin_add_naf(d, "bad..name", "kms", null, null),
			    KMS_EOK);
	fclose(null);
	unit_rmdir(d);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_new_store_when_subscriber_added_then_0600_and_sqn_steps_persist),
		UNIT_TEST(given_nafs_and_impus_when_looked_up_then_by_group),
		UNIT_TEST(given_sessions_when_put_then_get_and_old_ones_purged),
		UNIT_TEST(given_full_table_when_put_then_expired_then_oldest_evicted),
		UNIT_TEST(given_right_res_when_answered_then_200_btid_and_session),
		UNIT_TEST(
		    given_wrong_res_or_late_answer_when_answered_then_401_new_challenge),
		UNIT_TEST(given_bad_requests_when_handled_then_400_or_403),
		UNIT_TEST(
		    given_stale_sqn_when_auts_then_resync_and_next_challenge_succeeds),
		UNIT_TEST(
		    given_bootstrapped_btid_when_zn_then_ks_ext_naf_and_uss_of_group),
		UNIT_TEST(
		    given_refusals_when_zn_then_403_5402_404_5403_unknown_and_expired),
		UNIT_TEST(
		    given_bootstrapped_btid_when_looked_up_then_key_group_and_impus),
		UNIT_TEST(given_refusals_when_looked_up_then_5402_first_then_5403),
		UNIT_TEST(given_session_without_subscriber_when_looked_up_then_5401),
		UNIT_TEST(given_test_hook_when_looked_up_then_every_answer_that_code),
		UNIT_TEST(given_bir_when_answered_then_bia_with_key_times_and_guss),
		UNIT_TEST(given_refused_birs_when_answered_then_the_codes_of_ts_29_109),
		UNIT_TEST(given_malformed_zn_bodies_when_parsed_then_refused),
		UNIT_TEST(given_demo_init_when_run_twice_then_usim_files_kept),
		UNIT_END,
	};
	return unit_run("bsf", tests);
}
