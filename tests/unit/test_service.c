/*
 * The KMS service end to end in process: a UE side written here with the
 * mikey library drives kms_service_handle() for Ticket Request and Ticket
 * Resolve, and checks keys, forking, and every refusal path.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"
#include "common/ratelimit.h"
#include "common/secmem.h"
#include "kms/keyring.h"
#include "kms/service.h"
#include "kms/ticket.h"
#include "kms/tpk.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/msg.h"
#include "mikey/profile.h"
#include "mikey/ticket_base.h"
#include "policy/rules.h"
#include "tests/unit/unit.h"

#define KMS_ID "kms.example.org"

/* --- fixture: a PSK table, a keyring in a temp dir, a settable clock ---- */

struct user {
	const char *psk_id;
	const char *ids[2];
	uint8_t key[16];
};
static struct user users[] = {
	{ "alice@example.org", { "alice@example.org", NULL }, { 0xa1 } },
	{ "bob@example.org", { "bob@example.org", NULL }, { 0xb0 } },
	{ "carol@example.org", { "carol@example.org", "c.dept@example.org" }, { 0xc0 } },
	{ "dave@example.org", { "dave@example.org", "d.dept@example.org" }, { 0xd0 } },
};

static int test_lookup(kms_psk_source_t *src, const uint8_t *id, size_t len,
		       kms_psk_t *out)
{
	(void)src;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (strlen(users[i].psk_id) == len &&
		    memcmp(users[i].psk_id, id, len) == 0) {
			memset(out, 0, sizeof(*out));
			memcpy(out->key, users[i].key, 16);
			out->key_len = 16;
			for (size_t k = 0; k < 2 && users[i].ids[k] != NULL; k++) {
				snprintf(out->ids[k], sizeof(out->ids[k]), "%s",
					 users[i].ids[k]);
				out->nids++;
			}
			return KMS_EOK;
		}
	}
	return KMS_EAUTH;
}

static kms_psk_source_t psk_src = { test_lookup, NULL, NULL };
static kms_config_t cfg;
static keyring_t *kr;
static replay_t *rp;
static kms_service_t svc;
static char dir[64], db[96];
static uint8_t kek[32];
static int64_t fake_now = 1795910400; /* 2026-11-29 */

static int64_t fake_clock(void)
{
	return fake_now;
}

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kms-test-svc-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return 1;
	}
	snprintf(db, sizeof(db), "%s/kms.db", dir);
	crypto_random(kek, sizeof(kek));
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		crypto_random(users[i].key + 1, 15);
	}
	if (keyring_rotate(db, kek, NULL) != KMS_EOK ||
	    keyring_load(db, kek, &kr) != KMS_EOK) {
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.kms_id, sizeof(cfg.kms_id), "%s", KMS_ID);
	cfg.clock_skew = 300;
	cfg.ticket_lifetime = 3600;
	cfg.max_ticket_lifetime = 86400;
	cfg.allow_reuse = true;
	snprintf(cfg.ticket_type, sizeof(cfg.ticket_type), "private");
	snprintf(cfg.forking, sizeof(cfg.forking), "always");
	rp = replay_new(1u << 16, cfg.clock_skew, fake_now - 3600);
	kms_service_clock_set(fake_clock);
	svc =
	    (kms_service_t){ .cfg = &cfg, .keyring = kr, .psk = &psk_src, .replay = rp };
	return rp == NULL;
}

static int suite_clean(void)
{
	keyring_free(kr);
	replay_free(rp);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}

/* --- the UE side ----------------------------------------------------------- */

typedef struct {
	const struct user *u;
	uint32_t csb;
	uint8_t rand[16];
	uint8_t msg[MIKEY_MSG_MAX];
	size_t len;
} ue_t;

/* The KMS a UE message is addressed to, and (for Zk) the peer it comes
 * from and the service that answers. */
static const char *ue_kms = KMS_ID;
static const zk_peer_t *zk_via;
static const kms_service_t *target = &svc;
static const char *ue_psk_id; /* IDRpsk of a RESOLVE_INIT, or none */

/* How the UE writes things (a standards-following UE written elsewhere):
 * its own identity (IDRi / IDRr) and that of the TP's responders with their
 * ID Type, the Ticket Type asked for, IDRkms left out, and a MAC over the
 * present identities only. */
static const char *ue_self; /* NULL: the user's first identity */
static uint8_t ue_id_type = MIKEY_ID_NAI;
static uint8_t req_to_type = MIKEY_ID_NAI;
static uint16_t req_type = KMS_TICKET_TYPE;
static bool ue_no_kms, ue_mac_no_kms;

static int ue_sign_init(ue_t *ue, const mikey_bytes_t *ri, const mikey_bytes_t *rr)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	uint8_t key[20];
	mikey_bytes_t ids[2], kms = { (const uint8_t *)ue_kms, strlen(ue_kms) };
	int ret = mikey_kdf_msg_key(NULL, MIKEY_PRF_MIKEY1, ue->u->key, 16, MIKEY_DK_AUTH,
				    ue->csb, MIKEY_DIR_INIT, ri, rr, key, 20);
	if (ret == KMS_EOK) {
		ret = mikey_msg_decode(ue->msg, ue->len, m);
	}
	if (ret == KMS_EOK) {
		ret = mikey_profile_init_identities(m, &kms, ids);
	}
	if (ret == KMS_EOK) {
		ret =
		    mikey_mac_sign(ue->msg, ue->len, key, 20, ids, ue_mac_no_kms ? 1 : 2);
	}
	free(m);
	return ret;
}

static int64_t req_tre; /* a requested end of validity; 0: none */
static void ue_defaults(void)
{
	ue_self = NULL;
	ue_id_type = req_to_type = MIKEY_ID_NAI;
	req_type = KMS_TICKET_TYPE;
	ue_no_kms = ue_mac_no_kms = false;
	ue_psk_id = NULL;
}

static const char *self(const ue_t *ue)
{
	return ue_self != NULL ? ue_self : ue->u->ids[0];
}

static int ue_request(ue_t *ue, const char *const *to, size_t nto, uint16_t flags)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t tp;
	memset(&tp, 0, sizeof(tp));
	tp.policy.ticket_type = req_type;
	tp.policy.subtype = 1;
	tp.policy.version = 1;
	tp.policy.flags = flags;
	tp.policy.nidrr = nto;
	if (req_tre != 0) {
		tp.policy.has_tre = true;
		tp.policy.tre = (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC,
					      mikey_ntp_from_unix(req_tre, 0) };
	}
	for (size_t i = 0; i < nto; i++) {
		tp.policy.idrr[i] =
		    (mikey_id_t){ MIKEY_ROLE_R,
				  req_to_type,
				  { (const uint8_t *)to[i], strlen(to[i]) } };
	}
	crypto_random((uint8_t *)&ue->csb, 4);
	crypto_random(ue->rand, 16);
	mikey_msg_init(m, MIKEY_DT_REQUEST_INIT_PSK, ue->csb, MIKEY_PRF_MIKEY1);
	mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(fake_now, 0));
	mikey_msg_add_rand(m, MIKEY_RAND_I, ue->rand, 16);
	mikey_msg_add_id(m, MIKEY_ROLE_I, ue_id_type, (const uint8_t *)self(ue),
			 strlen(self(ue)));
	if (!ue_no_kms) {
		mikey_msg_add_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)ue_kms,
				 strlen(ue_kms));
	}
	mikey_msg_add_ticket(m, &tp, false);
	if (ue_psk_id != NULL) {
		mikey_msg_add_id(m, MIKEY_ROLE_PSK, MIKEY_ID_BYTES,
				 (const uint8_t *)ue_psk_id, strlen(ue_psk_id));
	}
	mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA1_160);
	int ret = mikey_msg_build(m, ue->msg, sizeof(ue->msg), &ue->len);
	free(m);
	mikey_bytes_t ri = { ue->rand, 16 };
	return ret == KMS_EOK ? ue_sign_init(ue, &ri, NULL) : ret;
}

/* RESOLVE_INIT carrying ticket (a TICKET payload's bytes) with Initiator Data
 * whose Vr is keyed from mpkr. */
static int ue_resolve(ue_t *ue, const mikey_ticket_t *ticket, const uint8_t *mpkr)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t t = *ticket;
	uint8_t init[64], vi_mac[20], vr_key[20];
	size_t init_len = 0, vr_off = 0;
	memset(vi_mac, 0x5a, sizeof(vi_mac));
	mikey_v_t vi = { MIKEY_MAC_HMAC_SHA1_160, { vi_mac, 20 } };
	mikey_v_t vr = { MIKEY_MAC_HMAC_SHA1_160, { NULL, 0 } };
	int ret = mikey_init_data_build(&vi, &vr, init, sizeof(init), &init_len, &vr_off);
	if (ret == KMS_EOK) {
		ret = mikey_kdf_vr_key(NULL, MIKEY_PRF_MIKEY1, mpkr, 16, vr_key, 20);
	}
	if (ret == KMS_EOK) {
		ret = mikey_init_data_mac(init, init_len, vr_off, MIKEY_MAC_HMAC_SHA1_160,
					  vr_key, 20, init + vr_off);
	}
	bool forked = (t.policy.flags & MIKEY_TPF_I) != 0;
	t.init_data = (mikey_bytes_t){ init, forked ? init_len : 0 };
	t.has_init = forked;
	crypto_random((uint8_t *)&ue->csb, 4);
	crypto_random(ue->rand, 16);
	mikey_msg_init(m, MIKEY_DT_RESOLVE_INIT_PSK, ue->csb, MIKEY_PRF_MIKEY1);
	mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(fake_now, 0));
	mikey_msg_add_rand(m, MIKEY_RAND_R, ue->rand, 16);
	mikey_msg_add_id(m, MIKEY_ROLE_R, ue_id_type, (const uint8_t *)self(ue),
			 strlen(self(ue)));
	if (!ue_no_kms) {
		mikey_msg_add_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI, (const uint8_t *)ue_kms,
				 strlen(ue_kms));
	}
	mikey_msg_add_ticket(m, &t, true);
	if (ue_psk_id != NULL) {
		mikey_msg_add_id(m, MIKEY_ROLE_PSK, MIKEY_ID_BYTES,
				 (const uint8_t *)ue_psk_id, strlen(ue_psk_id));
	}
	mikey_msg_add_v(m, MIKEY_MAC_HMAC_SHA1_160);
	if (ret == KMS_EOK) {
		ret = mikey_msg_build(m, ue->msg, sizeof(ue->msg), &ue->len);
	}
	free(m);
	mikey_bytes_t rr = { ue->rand, 16 };
	return ret == KMS_EOK ? ue_sign_init(ue, NULL, &rr) : ret;
}

typedef struct {
	uint8_t buf[MIKEY_MSG_MAX];
	kms_answer_t ans;
	mikey_msg_t m;
	uint8_t plain[512];
	mikey_keys_t keys;
} resp_t;

/* Send ue's message; on 200 verify the response MAC and open its KEMAC. */
static int ue_exchange(ue_t *ue, kms_reqtype_t type, resp_t *r)
{
	if (zk_via != NULL) {
		kms_service_handle_zk(target, zk_via, "test", NULL, ue->msg, ue->len,
				      r->buf, sizeof(r->buf), &r->ans);
	} else {
		kms_service_handle(target, type, "test", NULL, ue->msg, ue->len, r->buf,
				   sizeof(r->buf), &r->ans);
	}
	if (r->ans.http_status != 200) {
		return r->ans.error;
	}
	int ret = mikey_msg_parse(r->buf, r->ans.len, &r->m);
	if (ret != KMS_EOK) {
		return ret;
	}
	bool req = type == KMS_REQ_TICKET;
	mikey_bytes_t rnd = { ue->rand, 16 }, init = { ue->msg, ue->len };
	uint8_t key[20];
	uint64_t t64 = 0;
	ret = mikey_kdf_msg_key(NULL, MIKEY_PRF_MIKEY1, ue->u->key, 16, MIKEY_DK_AUTH,
				ue->csb, MIKEY_DIR_RESP, req ? &rnd : NULL,
				req ? NULL : &rnd, key, 20);
	if (ret == KMS_EOK) {
		ret = mikey_mac_verify(&r->m, key, 20, &init, 1);
	}
	if (ret == KMS_EOK) {
		ret = mikey_profile_kemac_ts(&r->m, &t64);
	}
	size_t plen = 0;
	if (ret == KMS_EOK) {
		ret = mikey_kemac_open(NULL, MIKEY_PRF_MIKEY1, mikey_msg_kemac(&r->m),
				       ue->u->key, 16, ue->csb, MIKEY_DIR_RESP,
				       req ? &rnd : NULL, req ? NULL : &rnd, t64,
				       r->plain, sizeof(r->plain), &plen, &r->keys);
	}
	return ret;
}

static const char *const to_bob[] = { "bob@example.org" };
#define FLAGS_REQ (MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I)

static resp_t *issue(ue_t *alice, const char *const *to, size_t nto, uint16_t flags)
{
	resp_t *r = calloc(1, sizeof(*r));
	alice->u = &users[0];
	CU_ASSERT_EQUAL_FATAL(ue_request(alice, to, nto, flags), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_exchange(alice, KMS_REQ_TICKET, r), KMS_EOK);
	return r;
}

/* --- tests ------------------------------------------------------------------ */

static void given_request_and_resolve_when_served_then_responder_gets_forked_keys(void)
{
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	CU_ASSERT_EQUAL(rq->keys.n, 3);
	CU_ASSERT_EQUAL(rq->keys.k[0].type, MIKEY_KEY_MPK);
	CU_ASSERT_EQUAL(rq->keys.k[2].type, MIKEY_KEY_TGK);
	CU_ASSERT_EQUAL(rq->keys.k[2].spi.len, 4);
	const mikey_tp_t *g = &rq->m.ticket.policy;
	CU_ASSERT_TRUE(
	    (g->flags & (MIKEY_TPF_D | MIKEY_TPF_I | MIKEY_TPF_E | MIKEY_TPF_F)) ==
	    (MIKEY_TPF_D | MIKEY_TPF_I | MIKEY_TPF_E | MIKEY_TPF_F));
	CU_ASSERT_TRUE(g->has_idri && g->has_idrkms && g->has_tre);
	CU_ASSERT_FALSE(rq->m.ticket.has_init);

	resp_t *rs = calloc(1, sizeof(*rs));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_exchange(&bob, KMS_REQ_RESOLVE, rs), KMS_EOK);
	CU_ASSERT_EQUAL(rs->keys.n, 3);
	/* MPKi as issued; MPKr' and TGK' forked for bob with RANDRkms. */
	CU_ASSERT_EQUAL(memcmp(rs->keys.k[0].key.data, rq->keys.k[0].key.data, 16), 0);
	const mikey_id_t *idr = mikey_msg_idr(&rs->m, MIKEY_ROLE_R);
	const mikey_rand_t *rk = mikey_msg_randr(&rs->m, MIKEY_RAND_KMS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
	CU_ASSERT_EQUAL(idr->id.len, 15);
	uint8_t mpkr_f[16], tgk_f[16];
	CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, MIKEY_PRF_MIKEY1, MIKEY_FORK_MPKR,
				       rq->keys.k[1].key.data, 16, &idr->id, &rk->rand,
				       mpkr_f),
			KMS_EOK);
	CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, MIKEY_PRF_MIKEY1, MIKEY_FORK_TGK,
				       rq->keys.k[2].key.data, 16, &idr->id, &rk->rand,
				       tgk_f),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(rs->keys.k[1].key.data, mpkr_f, 16), 0);
	CU_ASSERT_EQUAL(memcmp(rs->keys.k[2].key.data, tgk_f, 16), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(rs->keys.k[2].key.data, rq->keys.k[2].key.data, 16),
			    0);
	CU_ASSERT_EQUAL(memcmp(rs->keys.k[2].spi.data, rq->keys.k[2].spi.data, 4), 0);
	free(rq);
	free(rs);
}

static void given_two_responders_when_resolving_then_each_gets_different_keys(void)
{
	static const char *const to[] = { "bob@example.org", "*.dept@example.org" };
	ue_t alice = { 0 }, bob = { .u = &users[1] }, carol = { .u = &users[2] };
	resp_t *rq = issue(&alice, to, 2, FLAGS_REQ);
	resp_t *rb = calloc(1, sizeof(*rb)), *rc = calloc(1, sizeof(*rc));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_exchange(&bob, KMS_REQ_RESOLVE, rb), KMS_EOK);
	/* Carol is allowed through the group identity of her second identity. */
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&carol, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_exchange(&carol, KMS_REQ_RESOLVE, rc), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(rb->keys.k[2].key.data, rc->keys.k[2].key.data, 16),
			    0);
	CU_ASSERT_NOT_EQUAL(memcmp(rb->keys.k[1].key.data, rc->keys.k[1].key.data, 16),
			    0);
	free(rq);
	free(rb);
	free(rc);
}

static void given_responder_not_named_when_resolving_then_policy_refusal(void)
{
	ue_t alice = { 0 }, carol = { .u = &users[2] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&carol, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&carol, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	/* Refused after authentication: a MACed Error message. */
	mikey_msg_t *e = malloc(sizeof(*e));
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(r->buf, r->ans.len, e), KMS_EOK);
	CU_ASSERT_EQUAL(e->hdr.data_type, MIKEY_DT_ERROR);
	CU_ASSERT_EQUAL(e->hdr.csb_id, carol.csb);
	CU_ASSERT_PTR_NOT_NULL(mikey_msg_v(e));
	CU_ASSERT_EQUAL(mikey_msg_find(e, MIKEY_PT_ERR, 0)->u.err.errno_, MIKEY_ERR_AUTH);
	free(e);
	free(rq);
	free(r);
}

/*
 * Every single-bit flip of the TICKET payload is sent to the KMS and refused:
 * re-signed by Bob where the flipped message still decodes, sent as it is
 * (under the MAC of the unflipped message) where it does not.
 */
static void given_any_ticket_bit_flipped_when_resolving_then_refused(void)
{
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	mikey_msg_t *m = malloc(sizeof(*m));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(bob.msg, bob.len, m), KMS_EOK);
	const mikey_payload_t *tk = &m->p[m->ticket_index];
	size_t start = tk->off, end = tk->off + tk->len, flips = (end - start) * 8;
	size_t answered = 0, refused = 0, accepted = 0, resigned = 0, server_errors = 0;
	uint8_t orig[MIKEY_MSG_MAX];
	memcpy(orig, bob.msg, bob.len);
	mikey_bytes_t rr = { bob.rand, 16 };
	for (size_t bit = start * 8; bit < end * 8; bit++) {
		memcpy(bob.msg, orig, bob.len);
		bob.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		resigned += ue_sign_init(&bob, NULL, &rr) == KMS_EOK;
		memset(&r->ans, 0, sizeof(r->ans));
		kms_service_handle(&svc, KMS_REQ_RESOLVE, "flip", NULL, bob.msg, bob.len,
				   r->buf, sizeof(r->buf), &r->ans);
		answered += r->ans.http_status != 0;
		refused += r->ans.http_status != 0 && r->ans.http_status != 200;
		accepted += r->ans.http_status == 200;
		server_errors += r->ans.http_status >= 500;
	}
	printf("\n  %zu ticket bit flips (%zu re-signed, %zu as they are): %zu answered, "
	       "%zu refused, %zu accepted\n",
	       flips, resigned, flips - resigned, answered, refused, accepted);
	CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT_EQUAL(answered, flips);
	CU_ASSERT_EQUAL(refused, flips);
	CU_ASSERT_EQUAL(server_errors, 0);
	/* Both paths ran: most flips still decode and are re-signed. */
	CU_ASSERT(resigned > 0 && resigned < flips);
	/* The unflipped message, re-signed, still resolves. */
	memcpy(bob.msg, orig, bob.len);
	CU_ASSERT_EQUAL(ue_sign_init(&bob, NULL, &rr), KMS_EOK);
	kms_service_handle(&svc, KMS_REQ_RESOLVE, "ok", NULL, bob.msg, bob.len, r->buf,
			   sizeof(r->buf), &r->ans);
	CU_ASSERT_EQUAL(r->ans.http_status, 200);
	free(m);
	free(rq);
	free(r);
}

/* Every single-bit flip of the V MAC of a REQUEST_INIT is refused with 401. */
static void given_any_mac_bit_flipped_when_requesting_then_401(void)
{
	ue_t alice = { .u = &users[0] };
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	for (size_t bit = (alice.len - 20) * 8; bit < alice.len * 8; bit++) {
		alice.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EMAC);
		CU_ASSERT_EQUAL(r->ans.http_status, 401);
		alice.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Unauthenticated refusal: an Error message without V. */
	mikey_msg_t *e = malloc(sizeof(*e));
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(r->buf, r->ans.len, e), KMS_EOK);
	CU_ASSERT_EQUAL(e->hdr.data_type, MIKEY_DT_ERROR);
	CU_ASSERT_PTR_NULL(mikey_msg_v(e));
	CU_ASSERT_EQUAL(mikey_msg_find(e, MIKEY_PT_ERR, 0)->u.err.errno_, MIKEY_ERR_MAC);
	free(e);
	free(r);
}

static void given_same_request_twice_when_served_then_replay_refused(void)
{
	ue_t alice = { .u = &users[0] };
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EREPLAY);
	CU_ASSERT_EQUAL(r->ans.http_status, 401);
	free(r);
}

/*
 * ua.rate_per_identity: only authenticated, fresh messages are charged.
 * Burst 2 at 1/s on the fake clock: ten forgeries in Alice's name and a
 * replay of her own message leave her two requests; the third is 429 with
 * Retry-After 1 and an Error message (12) with a V; Bob has his own budget;
 * a second later Alice has a token again.
 */
static void given_identity_limit_when_forged_replayed_or_over_then_only_fresh_charged(
    void)
{
	kms_clock_fake_start(1000000, fake_now);
	svc.id_rate = ratelimit_new(64, 1, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(svc.id_rate);
	ue_t alice = { .u = &users[0] };
	resp_t *r = calloc(1, sizeof(*r));
	for (int i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
		alice.msg[alice.len - 1] ^= 1;
		CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EMAC);
	}
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EREPLAY);
	CU_ASSERT_EQUAL(r->ans.retry_after, 0);
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_ERATE);
	CU_ASSERT_EQUAL(r->ans.http_status, 429);
	CU_ASSERT_EQUAL(r->ans.retry_after, 1);
	mikey_msg_t *e = malloc(sizeof(*e));
	CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(r->buf, r->ans.len, e), KMS_EOK);
	CU_ASSERT_EQUAL(e->hdr.data_type, MIKEY_DT_ERROR);
	CU_ASSERT_PTR_NOT_NULL(mikey_msg_v(e));
	CU_ASSERT_EQUAL(mikey_msg_find(e, MIKEY_PT_ERR, 0)->u.err.errno_,
			MIKEY_ERR_UNSPEC);
	free(e);
	ue_t bob = { .u = &users[1] };
	CU_ASSERT_EQUAL_FATAL(ue_request(&bob, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_TICKET, r), KMS_EOK);
	kms_clock_fake_advance(1000);
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	ratelimit_free(svc.id_rate);
	svc.id_rate = NULL;
	kms_clock_fake_stop();
	free(r);
}

static void given_wrong_or_unknown_psk_when_requesting_then_401(void)
{
	struct user mallory = users[0];
	mallory.key[5] ^= 1;
	ue_t ue = { .u = &mallory };
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_request(&ue, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&ue, KMS_REQ_TICKET, r), KMS_EMAC);
	struct user nobody = { "eve@example.org", { "eve@example.org", NULL }, { 1 } };
	ue.u = &nobody;
	CU_ASSERT_EQUAL_FATAL(ue_request(&ue, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&ue, KMS_REQ_TICKET, r), KMS_EAUTH);
	CU_ASSERT_EQUAL(r->ans.http_status, 401);
	free(r);
}

static void given_old_timestamp_when_requesting_then_invalid_ts(void)
{
	ue_t alice = { .u = &users[0] };
	resp_t *r = calloc(1, sizeof(*r));
	fake_now -= 1000;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	fake_now += 1000;
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_ETS);
	CU_ASSERT_EQUAL(r->ans.http_status, 400);
	free(r);
}

static void given_expired_ticket_when_resolving_then_403(void)
{
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	fake_now += 3600 + 1; /* default lifetime */
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EEXPIRED);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	fake_now -= 3600 + 1;
	free(rq);
	free(r);
}

/* resolve.once: a resolve refused by an earlier check (a wrong Vr) records
 * nothing; bob's second resolve of a J = 0 ticket is refused (403, MIKEY
 * error 14), carol (another member) still resolves once, J = 1 tickets are
 * not recorded, and without the record (NULL) a second resolve is served. */
static void given_resolve_once_when_j0_resolved_twice_then_second_reused(void)
{
	static const char *const to_both[] = { "bob@example.org", "carol@example.org" };
	char path[128];
	snprintf(path, sizeof(path), "%s/resolve_once.db", dir);
	resolve_once_opts_t o;
	resolve_once_opts_default(&o);
	o.locator = path;
	CU_ASSERT_FATAL(resolve_once_open(&o, &svc.once) == KMS_EOK);
	ue_t alice = { 0 }, bob = { .u = &users[1] }, carol = { .u = &users[2] };
	resp_t *rq = issue(&alice, to_both, 2, FLAGS_REQ);
	resp_t *rj = issue(&alice, to_both, 2, FLAGS_REQ | MIKEY_TPF_J);
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[0].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EMAC);
	for (int i = 0; i < 3; i++) {
		ue_t *who = i == 2 ? &carol : &bob;
		int want = i == 1 ? KMS_EREUSED : KMS_EOK;
		CU_ASSERT_EQUAL_FATAL(
		    ue_resolve(who, &rq->m.ticket, rq->keys.k[1].key.data), KMS_EOK);
		CU_ASSERT_EQUAL(ue_exchange(who, KMS_REQ_RESOLVE, r), want);
	}
	CU_ASSERT_EQUAL(r->ans.http_status, 200);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EREPLAY);
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EREUSED);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	CU_ASSERT_EQUAL(kms_err_mikey(r->ans.error), MIKEY_ERR_TICKET);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(
		    ue_resolve(&bob, &rj->m.ticket, rj->keys.k[1].key.data), KMS_EOK);
		CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EOK);
	}
	resolve_once_close(svc.once);
	svc.once = NULL;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EOK);
	free(rq);
	free(rj);
	free(r);
}

static void given_reuse_requested_when_allowed_or_not_then_j_follows_policy(void)
{
	ue_t alice = { 0 };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ | MIKEY_TPF_J);
	CU_ASSERT_TRUE(rq->m.ticket.policy.flags & MIKEY_TPF_J);
	free(rq);
	cfg.allow_reuse = false;
	rq = issue(&alice, to_bob, 1, FLAGS_REQ | MIKEY_TPF_J);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & MIKEY_TPF_J);
	CU_ASSERT_TRUE(rq->m.ticket.policy.flags & MIKEY_TPF_K); /* changed by the KMS */
	cfg.allow_reuse = true;
	free(rq);
	rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & MIKEY_TPF_J);
	free(rq);
}

static void given_rotated_then_retired_key_when_resolving_then_ok_then_refused(void)
{
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	uint32_t old_id = 0, new_id = 0;
	const uint8_t *k;
	CU_ASSERT_EQUAL(keyring_active(kr, &old_id, &k), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(keyring_rotate(db, kek, &new_id), KMS_EOK);
	keyring_t *next = NULL;
	CU_ASSERT_EQUAL_FATAL(keyring_load(db, kek, &next), KMS_EOK);
	keyring_free(kr);
	svc.keyring = next;
	kr = next;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(keyring_retire(db, old_id), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(keyring_load(db, kek, &next), KMS_EOK);
	keyring_free(kr);
	svc.keyring = next;
	kr = next;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EEXPIRED);
	free(rq);
	free(r);
}

static void given_garbage_or_wrong_type_when_served_then_error_message(void)
{
	resp_t *r = calloc(1, sizeof(*r));
	static const uint8_t junk[] = { 0x01, 0x0b, 0x05, 0x00, 0, 0, 0, 1, 0, 1, 0xff };
	kms_service_handle(&svc, KMS_REQ_TICKET, "junk", NULL, junk, sizeof(junk), r->buf,
			   sizeof(r->buf), &r->ans);
	CU_ASSERT_EQUAL(r->ans.http_status, 400);
	mikey_msg_t *e = malloc(sizeof(*e));
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(r->buf, r->ans.len, e), KMS_EOK);
	CU_ASSERT_EQUAL(e->hdr.csb_id, 1);
	/* A REQUEST_INIT sent as ticketresolve: invalid data type. */
	ue_t alice = { .u = &users[0] };
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_RESOLVE, r), KMS_EDT);
	kms_service_handle(&svc, KMS_REQ_TICKET, "empty", NULL, NULL, 0, r->buf,
			   sizeof(r->buf), &r->ans);
	CU_ASSERT_EQUAL(r->ans.http_status, 400);
	free(e);
	free(r);
}

/* --- policy rules (policy/rules.h) at request and resolve ------------------ */

static policy_set_t *policy_of(const policy_rule_t *rules, size_t n)
{
	static const policy_defaults_t def = { POLICY_ALLOW, 0,	    true,  true,
					       false,	     false, false, false };
	policy_set_t *set = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(rules, n, &def, &set), KMS_EOK);
	return set;
}

static policy_rule_t rule(int64_t id, int prio, const char *from, const char *to,
			  policy_effect_t eff)
{
	policy_rule_t r;
	memset(&r, 0, sizeof(r));
	r.id = id;
	r.priority = prio;
	snprintf(r.initiator, sizeof(r.initiator), "%s", from);
	snprintf(r.responder, sizeof(r.responder), "%s", to);
	r.effect = eff;
	return r;
}

static void given_deny_rule_when_requesting_or_resolving_then_policy_refusal(void)
{
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ); /* before the rule */
	resp_t *r = calloc(1, sizeof(*r));
	policy_rule_t rules[2] = {
		rule(1, 0, "*@example.org", "*@example.org", POLICY_ALLOW),
		rule(2, 0, "alice@example.org", "bob@example.org", POLICY_DENY),
	};
	policy_set_t *set = policy_of(rules, 2);
	svc.policy = set;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	/* The ticket issued before the rule no longer resolves either. */
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	/* Deny-overrides only at equal priority: a higher allow wins. */
	rules[0].priority = 1;
	policy_set_free(set);
	set = policy_of(rules, 2);
	svc.policy = set;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EOK);
	svc.policy = NULL;
	policy_set_free(set);
	free(rq);
	free(r);
}

static void given_rules_narrowing_when_requesting_then_k_and_tighter_terms(void)
{
	static const char *const to[] = { "bob@example.org", "*.dept@example.org",
					  "dave@example.org" };
	policy_rule_t rules[3] = {
		rule(1, 0, "alice@example.org", "*@example.org", POLICY_ALLOW),
		rule(2, 5, "alice@example.org", "*.dept@example.org", POLICY_DENY),
		rule(3, 5, "alice@example.org", "dave@example.org", POLICY_ALLOW),
	};
	rules[0].max_validity = 600;
	rules[0].reuse = true;
	rules[2].max_validity = 7200; /* longer than rule 1: the tighter applies */
	rules[2].reuse = false;
	policy_set_t *set = policy_of(rules, 3);
	svc.policy = set;
	ue_t alice = { 0 };
	req_tre = fake_now + 7200;
	resp_t *rq = issue(&alice, to, 3, FLAGS_REQ | MIKEY_TPF_J);
	req_tre = 0;
	const mikey_tp_t *g = &rq->m.ticket.policy;
	CU_ASSERT_EQUAL(g->nidrr, 2); /* the group was dropped */
	CU_ASSERT_EQUAL(g->idrr[0].id.len, strlen("bob@example.org"));
	CU_ASSERT_EQUAL(memcmp(g->idrr[1].id.data, "dave@example.org", 16), 0);
	CU_ASSERT_TRUE(g->flags & MIKEY_TPF_K);
	CU_ASSERT_FALSE(g->flags & MIKEY_TPF_J); /* rule 3 forbids reuse */
	int64_t end = 0;
	CU_ASSERT_EQUAL(mikey_ts_to_unix(&g->tre, &end), KMS_EOK);
	CU_ASSERT_EQUAL(end, fake_now + 600);
	/* Only what nobody forbids: bob alone gets reuse and 600 s. */
	free(rq);
	rq = issue(&alice, to_bob, 1, FLAGS_REQ | MIKEY_TPF_J);
	CU_ASSERT_TRUE(rq->m.ticket.policy.flags & MIKEY_TPF_J);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & MIKEY_TPF_K);
	/* Nothing left to grant: refused. */
	static const char *const to_group[] = { "*.dept@example.org" };
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_group, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EPOLICY);
	svc.policy = NULL;
	policy_set_free(set);
	free(rq);
	free(r);
}

static void given_group_ticket_when_members_resolve_then_own_keys_others_refused(void)
{
	static const char *const to_group[] = { "*.dept@example.org" };
	policy_rule_t rules[1] = {
		rule(1, 0, "*@example.org", "*@example.org", POLICY_ALLOW),
	};
	policy_set_t *set = policy_of(rules, 1);
	svc.policy = set;
	ue_t alice = { 0 }, bob = { .u = &users[1] }, carol = { .u = &users[2] },
	     dave = { .u = &users[3] };
	resp_t *r = calloc(1, sizeof(*r));
	/* Group tickets not allowed by the matching rule: refused. */
	alice.u = &users[0];
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_group, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EPOLICY);
	rules[0].group_ok = true;
	policy_set_free(set);
	set = policy_of(rules, 1);
	svc.policy = set;
	resp_t *rq = issue(&alice, to_group, 1, FLAGS_REQ);
	resp_t *rc = calloc(1, sizeof(*rc)), *rd = calloc(1, sizeof(*rd));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&carol, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&carol, KMS_REQ_RESOLVE, rc), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&dave, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&dave, KMS_REQ_RESOLVE, rd), KMS_EOK);
	CU_ASSERT_NOT_EQUAL(memcmp(rc->keys.k[2].key.data, rd->keys.k[2].key.data, 16),
			    0);
	CU_ASSERT_NOT_EQUAL(memcmp(rc->keys.k[1].key.data, rd->keys.k[1].key.data, 16),
			    0);
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	svc.policy = NULL;
	policy_set_free(set);
	free(rq);
	free(r);
	free(rc);
	free(rd);
}

/* The mirror case without rules: policy.default_group_tickets = false (the
 * default) refuses a '*@*' group ticket at request, and at resolve a group
 * ticket issued while the default allowed it; a user named as such still
 * resolves. */
static void given_no_rules_and_group_default_off_when_group_ticket_then_refused(void)
{
	static const char *const to_any[] = { "*@*" };
	static const char *const to_bob_any[] = { "bob@example.org", "*@*" };
	policy_defaults_t def = {
		POLICY_ALLOW, 0, true, true, false, false, false, false
	};
	policy_set_t *set = NULL;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(NULL, 0, &def, &set), KMS_EOK);
	svc.policy = set;
	ue_t alice = { .u = &users[0] }, bob = { .u = &users[1] },
	     carol = { .u = &users[2] };
	/* Issued while group tickets were allowed by default. */
	resp_t *rq = issue(&alice, to_bob_any, 2, FLAGS_REQ);
	policy_set_free(set);
	def.group_ok = false;
	CU_ASSERT_EQUAL_FATAL(policy_set_new(NULL, 0, &def, &set), KMS_EOK);
	svc.policy = set;
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_any, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&carol, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&carol, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EOK);
	svc.policy = NULL;
	policy_set_free(set);
	free(rq);
	free(r);
}

static void given_initiator_keys_requested_when_rule_allows_then_l_granted(void)
{
	ue_t alice = { 0 };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ | MIKEY_TPF_L);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & MIKEY_TPF_L); /* no rules: never */
	CU_ASSERT_TRUE(rq->m.ticket.policy.flags & MIKEY_TPF_K);
	free(rq);
	policy_rule_t rules[1] = {
		rule(1, 0, "alice@example.org", "bob@example.org", POLICY_ALLOW),
	};
	rules[0].init_keys = true;
	policy_set_t *set = policy_of(rules, 1);
	svc.policy = set;
	rq = issue(&alice, to_bob, 1, FLAGS_REQ | MIKEY_TPF_L);
	CU_ASSERT_TRUE(rq->m.ticket.policy.flags & MIKEY_TPF_L);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & MIKEY_TPF_K);
	svc.policy = NULL;
	policy_set_free(set);
	free(rq);
}

/* G and M: cleared with K without a rule; granted by one (H may then be
 * left out); a ticket with them no longer resolves once the rule goes. */
static void given_responder_flags_requested_when_rule_allows_then_granted_until_withdrawn(
    void)
{
	const uint16_t gm = MIKEY_TPF_G | MIKEY_TPF_M;
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, (FLAGS_REQ & ~MIKEY_TPF_H) | gm);
	uint16_t f = rq->m.ticket.policy.flags;
	CU_ASSERT_FALSE(f & gm); /* no rules: never */
	CU_ASSERT_TRUE((f & MIKEY_TPF_K) && (f & MIKEY_TPF_H));
	free(rq);
	policy_rule_t rules[1] = {
		rule(1, 0, "alice@example.org", "bob@example.org", POLICY_ALLOW),
	};
	rules[0].responder_rand = true;
	rules[0].responder_keys = true;
	policy_set_t *set = policy_of(rules, 1);
	svc.policy = set;
	rq = issue(&alice, to_bob, 1, (FLAGS_REQ & ~MIKEY_TPF_H) | gm);
	f = rq->m.ticket.policy.flags;
	CU_ASSERT_EQUAL(f & gm, gm);
	CU_ASSERT_FALSE(f & (MIKEY_TPF_K | MIKEY_TPF_H));
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EOK);
	/* The rule now allows G only: the ticket's M is refused. */
	policy_set_free(set);
	rules[0].responder_keys = false;
	set = policy_of(rules, 1);
	svc.policy = set;
	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	svc.policy = NULL;
	policy_set_free(set);
	free(rq);
	free(r);
}

/* --- tickets the Initiator built (flag D = 0) ------------------------------ */

static uint8_t it_data[MIKEY_TICKET_DATA_MAX], it_aad[MIKEY_MSG_MAX];
static mikey_tb_scratch_t it_s;

/* Alice's own ticket for Bob under tpk (id), IDRi idri, lifetime life,
 * flags beyond D = 0, E, F, H, I, L; MPKr into mpkr. */
static void initiator_ticket(mikey_ticket_t *t, const uint8_t *tpk, uint32_t id,
			     const char *idri, uint16_t extra, int64_t life,
			     uint8_t mpkr[16])
{
	mikey_tp_t *tp = &t->policy;
	mikey_keys_t keys;
	mikey_bytes_t aad;
	size_t len = 0;
	memset(t, 0, sizeof(*t));
	tp->ticket_type = KMS_TICKET_TYPE_BASE;
	tp->subtype = 1;
	tp->version = 1;
	tp->prf = MIKEY_PRF_MIKEY1;
	tp->flags = (uint16_t)(FLAGS_REQ | MIKEY_TPF_L | extra);
	tp->has_idrkms = true;
	tp->idrkms = (mikey_id_t){ MIKEY_ROLE_KMS,
				   MIKEY_ID_NAI,
				   { (const uint8_t *)KMS_ID, strlen(KMS_ID) } };
	tp->has_idri = true;
	tp->idri = (mikey_id_t){ MIKEY_ROLE_I,
				 MIKEY_ID_NAI,
				 { (const uint8_t *)idri, strlen(idri) } };
	tp->has_trs = tp->has_tre = true;
	tp->trs = (mikey_ts_t){ MIKEY_TR_START, MIKEY_TS_NTP_UTC,
				mikey_ntp_from_unix(fake_now, 0) };
	tp->tre = (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC,
				mikey_ntp_from_unix(fake_now + life, 0) };
	tp->nidrr = 1;
	tp->idrr[0] = (mikey_id_t){ MIKEY_ROLE_R,
				    MIKEY_ID_NAI,
				    { (const uint8_t *)to_bob[0], strlen(to_bob[0]) } };
	CU_ASSERT_EQUAL_FATAL(mikey_tb_aad_build(tp, it_aad, sizeof(it_aad), &aad),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(mikey_tb_build(tpk, id, tp, &aad, fake_now, &it_s, &keys,
					     it_data, sizeof(it_data), &len),
			      KMS_EOK);
	memcpy(mpkr, keys.k[1].key.data, 16);
	t->ticket_data = (mikey_bytes_t){ it_data, len };
}

/* Bob resolves t; the error (KMS_EOK on 200) and the HTTP status. */
static int initiator_resolve(const mikey_ticket_t *t, const uint8_t *mpkr, int *http)
{
	ue_t bob = { .u = &users[1] };
	resp_t *r = calloc(1, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, t, mpkr), KMS_EOK);
	int ret = ue_exchange(&bob, KMS_REQ_RESOLVE, r);
	*http = r->ans.http_status;
	free(r);
	return ret;
}

static void given_initiator_ticket_when_resolved_then_policy_owner_lifetime_flags_checked(
    void)
{
	uint8_t tpk[MIKEY_TPK_LEN], mpkr[16];
	uint32_t id = 0;
	int http = 0;
	tpk_set_t *tpks = NULL;
	mikey_ticket_t t;
	CU_ASSERT_EQUAL_FATAL(tpk_add(db, kek, "alice@example.org", tpk, &id), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(tpk_load(db, kek, &tpks), KMS_EOK);
	svc.tpks = tpks;
	/* No rules: initiator tickets are off. */
	initiator_ticket(&t, tpk, id, "alice@example.org", 0, 600, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EPOLICY);
	CU_ASSERT_EQUAL(http, 403);
	policy_rule_t rules[1] = {
		rule(1, 0, "alice@example.org", "bob@example.org", POLICY_ALLOW),
	};
	rules[0].initiator_tickets = true;
	policy_set_t *set = policy_of(rules, 1);
	svc.policy = set;
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EOK);
	CU_ASSERT_EQUAL(http, 200);
	/* Expired: past TRe. */
	fake_now += 600 + 1;
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EEXPIRED);
	fake_now -= 600 + 1;
	/* IDRi is not the key's owner. */
	initiator_ticket(&t, tpk, id, "carol@example.org", 0, 600, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EAUTH);
	/* Lifetime beyond cfg.max_ticket_lifetime. */
	initiator_ticket(&t, tpk, id, "alice@example.org", 0, 86400 + 1, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_ETPPAR);
	/* G and M only where the rule grants them, as for the KMS's tickets. */
	initiator_ticket(&t, tpk, id, "alice@example.org", MIKEY_TPF_G, 600, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EPOLICY);
	CU_ASSERT_EQUAL(http, 403);
	initiator_ticket(&t, tpk, id, "alice@example.org", MIKEY_TPF_M, 600, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EPOLICY);
	policy_set_free(set);
	rules[0].responder_rand = rules[0].responder_keys = true;
	set = policy_of(rules, 1);
	svc.policy = set;
	initiator_ticket(&t, tpk, id, "alice@example.org", MIKEY_TPF_G | MIKEY_TPF_M, 600,
			 mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_EOK);
	initiator_ticket(&t, tpk, id, "alice@example.org", MIKEY_TPF_K, 600, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_ETPPAR);
	/* Another key: V does not verify. */
	tpk[0] ^= 1;
	initiator_ticket(&t, tpk, id, "alice@example.org", 0, 600, mpkr);
	CU_ASSERT_EQUAL(initiator_resolve(&t, mpkr, &http), KMS_ETICKET);
	CU_ASSERT_EQUAL(http, 400);
	svc.policy = NULL;
	svc.tpks = NULL;
	policy_set_free(set);
	tpk_set_free(tpks);
	secmem_wipe(tpk, sizeof(tpk));
	secmem_wipe(&it_s, sizeof(it_s));
}

/* --- federation: the Zk side of a resolve (docs/federation.md) ------------- */

#define PEER_ID "kms.b.example.org"

static void given_foreign_ticket_and_no_peer_when_resolving_then_422(void)
{
	/* KMS B (same users, another identity, no peers) gets Bob's resolve of
	 * a ticket KMS A issued. */
	kms_config_t cfg_b = cfg;
	snprintf(cfg_b.kms_id, sizeof(cfg_b.kms_id), "%s", PEER_ID);
	kms_service_t svc_b = svc;
	svc_b.cfg = &cfg_b;
	ue_t alice = { 0 }, bob = { .u = &users[1] };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	ue_kms = PEER_ID;
	target = &svc_b;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EZK_UNKNOWN);
	CU_ASSERT_EQUAL(r->ans.http_status, 422);
	mikey_msg_t *e = malloc(sizeof(*e));
	CU_ASSERT_EQUAL_FATAL(mikey_msg_parse(r->buf, r->ans.len, e), KMS_EOK);
	CU_ASSERT_EQUAL(mikey_msg_find(e, MIKEY_PT_ERR, 0)->u.err.errno_, MIKEY_ERR_ID);
	CU_ASSERT_PTR_NOT_NULL(mikey_msg_v(e)); /* Bob authenticated: MACed */
	/* KMS B's own rules apply before anything is forwarded: a deny rule
	 * for Alice -> Bob there refuses with 403, naming the rule. */
	policy_rule_t deny =
	    rule(9, 0, "alice@example.org", "bob@example.org", POLICY_DENY);
	policy_set_t *set = policy_of(&deny, 1);
	svc_b.policy = set;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	/* A rule about someone else leaves the forwarding (here: no peer) alone. */
	policy_set_free(set);
	deny = rule(9, 0, "alice@example.org", "carol@example.org", POLICY_DENY);
	set = policy_of(&deny, 1);
	svc_b.policy = set;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&bob, KMS_REQ_RESOLVE, r), KMS_EZK_UNKNOWN);
	policy_set_free(set);
	ue_kms = KMS_ID;
	target = &svc;
	free(e);
	free(rq);
	free(r);
}

static void given_resolve_over_zk_when_peer_key_right_then_keys_forked_for_responder(void)
{
	/* The issuing KMS gets the hop RESOLVE_INIT of peer B for Bob, MACed
	 * with the per-peer key: its answer is under that key, for Bob. */
	zk_peer_t peer;
	memset(&peer, 0, sizeof(peer));
	snprintf(peer.kms_id, sizeof(peer.kms_id), "%s", PEER_ID);
	snprintf(peer.responders, sizeof(peer.responders), "*@example.org");
	peer.key_len = 16;
	crypto_random(peer.key, 16);
	struct user hop = { PEER_ID, { "bob@example.org", NULL }, { 0 } };
	memcpy(hop.key, peer.key, 16);
	ue_t alice = { 0 }, kms_b = { .u = &hop };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	zk_via = &peer;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EOK);
	const mikey_id_t *idr = mikey_msg_idr(&r->m, MIKEY_ROLE_R);
	const mikey_rand_t *rk = mikey_msg_randr(&r->m, MIKEY_RAND_KMS);
	CU_ASSERT_PTR_NOT_NULL_FATAL(idr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
	CU_ASSERT_EQUAL(idr->id.len, strlen("bob@example.org"));
	uint8_t tgk_f[16];
	CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, MIKEY_PRF_MIKEY1, MIKEY_FORK_TGK,
				       rq->keys.k[2].key.data, 16, &idr->id, &rk->rand,
				       tgk_f),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(r->keys.k[2].key.data, tgk_f, 16), 0);
	/* A peer vouching for someone the ticket does not name: refused. */
	struct user hop_carol = { PEER_ID, { "carol@example.org", NULL }, { 0 } };
	memcpy(hop_carol.key, peer.key, 16);
	kms_b.u = &hop_carol;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	/* A hop naming its sender in IDRpsk: that must be the TLS-proven peer. */
	kms_b.u = &hop;
	ue_psk_id = PEER_ID;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EOK);
	ue_psk_id = "kms.c.example.org";
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EID);
	ue_psk_id = NULL;
	/* Bob is named and allowed, but this peer may only vouch for its own
	 * responders (kmsctl peer add --responders): 403. */
	snprintf(peer.responders, sizeof(peer.responders), "*@other.example");
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EPOLICY);
	CU_ASSERT_EQUAL(r->ans.http_status, 403);
	snprintf(peer.responders, sizeof(peer.responders), "bob@example.org");
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EOK);
	/* The wrong per-peer key: 401. */
	hop.key[0] ^= 1;
	kms_b.u = &hop;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_b, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_b, KMS_REQ_RESOLVE, r), KMS_EMAC);
	CU_ASSERT_EQUAL(r->ans.http_status, 401);
	zk_via = NULL;
	free(rq);
	free(r);
}

static void given_foreign_ticket_over_zk_when_resolving_then_never_forwarded(void)
{
	/* A peer forwards a ticket this KMS did not issue: 421, no second hop. */
	kms_config_t cfg_b = cfg;
	snprintf(cfg_b.kms_id, sizeof(cfg_b.kms_id), "%s", PEER_ID);
	kms_service_t svc_b = svc;
	svc_b.cfg = &cfg_b;
	zk_peer_t peer;
	memset(&peer, 0, sizeof(peer));
	snprintf(peer.kms_id, sizeof(peer.kms_id), "kms.c.example.org");
	snprintf(peer.responders, sizeof(peer.responders), "*@*");
	peer.key_len = 16;
	crypto_random(peer.key, 16);
	struct user hop = { "kms.c.example.org", { "bob@example.org", NULL }, { 0 } };
	memcpy(hop.key, peer.key, 16);
	ue_t alice = { 0 }, kms_c = { .u = &hop };
	resp_t *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	resp_t *r = calloc(1, sizeof(*r));
	ue_kms = PEER_ID;
	target = &svc_b;
	zk_via = &peer;
	CU_ASSERT_EQUAL_FATAL(ue_resolve(&kms_c, &rq->m.ticket, rq->keys.k[1].key.data),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&kms_c, KMS_REQ_RESOLVE, r), KMS_EZK_LOOP);
	CU_ASSERT_EQUAL(r->ans.http_status, 421);
	/* A ticketrequest body over Zk: only RESOLVE_INIT is accepted. */
	alice.u = &hop;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_RESOLVE, r), KMS_EDT);
	zk_via = NULL;
	ue_kms = KMS_ID;
	target = &svc;
	free(rq);
	free(r);
}

/* --- standards-following UEs written elsewhere (docs/interop.md) ----------- */

static const mikey_id_t *resp_idr(const resp_t *r)
{
	return mikey_msg_idr(&r->m, MIKEY_ROLE_R);
}

static bool id_is(const mikey_id_t *id, uint8_t type, const char *s)
{
	return id != NULL && id->id_type == type && id->id.len == strlen(s) &&
	       memcmp(id->id.data, s, id->id.len) == 0;
}

/* Request from alice (as configured by the ue_* knobs) for to[], then bob
 * resolves it naming resolver (any form) with ID Type rtype; status of the
 * resolve, the RESOLVE_RESP in *rs (caller frees both). */
static long request_and_resolve(const char *const *to, size_t nto, uint16_t flags,
				const struct user *who, const char *resolver,
				uint8_t rtype, resp_t **rq_out, resp_t **rs_out)
{
	ue_t alice = { .u = &users[0] }, bob = { .u = who };
	resp_t *rq = calloc(1, sizeof(*rq)), *rs = calloc(1, sizeof(*rs));
	*rq_out = rq;
	*rs_out = rs;
	if (ue_request(&alice, to, nto, flags) != KMS_EOK ||
	    ue_exchange(&alice, KMS_REQ_TICKET, rq) != KMS_EOK) {
		return -rq->ans.http_status;
	}
	const char *saved = ue_self;
	uint8_t saved_type = ue_id_type;
	ue_self = resolver;
	ue_id_type = rtype;
	int ret = ue_resolve(&bob, &rq->m.ticket, rq->keys.k[1].key.data);
	ue_self = saved;
	ue_id_type = saved_type;
	if (ret == KMS_EOK) {
		ue_exchange(&bob, KMS_REQ_RESOLVE, rs);
	}
	return rs->ans.http_status;
}

static void given_sip_uri_identities_when_served_then_granted_and_resolved_as_nai(void)
{
	ue_defaults();
	static const char *const to[] = { "sip:bob@example.org;user=phone" };
	ue_self = "<sip:alice@Example.ORG:5060;transport=tcp>";
	ue_id_type = req_to_type = MIKEY_ID_URI;
	resp_t *rq, *rs;
	long st = request_and_resolve(to, 1, FLAGS_REQ, &users[1],
				      "sips:bob@EXAMPLE.org?subject=call", MIKEY_ID_URI,
				      &rq, &rs);
	CU_ASSERT_EQUAL(st, 200);
	const mikey_tp_t *g = &rq->m.ticket.policy;
	/* The granted policy speaks KMS user identities, ID Type NAI, with K. */
	CU_ASSERT_TRUE(id_is(&g->idri, MIKEY_ID_NAI, "alice@example.org"));
	CU_ASSERT_EQUAL(g->nidrr, 1);
	CU_ASSERT_TRUE(id_is(&g->idrr[0], MIKEY_ID_NAI, "bob@example.org"));
	CU_ASSERT_TRUE(id_is(&g->idrkms, MIKEY_ID_NAI, KMS_ID));
	CU_ASSERT_TRUE((g->flags & MIKEY_TPF_K) != 0);
	/* RESOLVE_RESP's IDRr: the identity that matched, as NAI; keys forked
	 * with exactly those bytes. */
	const mikey_id_t *idr = resp_idr(rs);
	CU_ASSERT_TRUE(id_is(idr, MIKEY_ID_NAI, "bob@example.org"));
	const mikey_rand_t *rk = mikey_msg_randr(&rs->m, MIKEY_RAND_KMS);
	uint8_t tgk_f[16];
	CU_ASSERT_PTR_NOT_NULL_FATAL(rk);
	mikey_bytes_t nai = { (const uint8_t *)"bob@example.org", 15 };
	CU_ASSERT_EQUAL(mikey_kdf_fork(NULL, MIKEY_PRF_MIKEY1, MIKEY_FORK_TGK,
				       rq->keys.k[2].key.data, 16, &nai, &rk->rand,
				       tgk_f),
			KMS_EOK);
	CU_ASSERT_EQUAL(memcmp(rs->keys.k[2].key.data, tgk_f, 16), 0);
	/* A plain NAI request stays unchanged (no K). */
	ue_defaults();
	free(rq);
	free(rs);
	st = request_and_resolve(to_bob, 1, FLAGS_REQ, &users[1], "bob@example.org",
				 MIKEY_ID_NAI, &rq, &rs);
	CU_ASSERT_EQUAL(st, 200);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & MIKEY_TPF_K);
	free(rq);
	free(rs);
}

/* Not one granted named responder is refused at resolve, whatever its form. */
static void given_each_responder_form_when_granted_then_responder_resolves(void)
{
	static const struct {
		uint8_t type;
		const char *to;
	} forms[] = {
		{ MIKEY_ID_NAI, "bob@example.org" },
		{ MIKEY_ID_URI, "bob@example.org" },
		{ MIKEY_ID_BYTES, "bob@example.org" },
		{ MIKEY_ID_NAI, "bob@EXAMPLE.ORG" },
		{ MIKEY_ID_URI, "sip:bob@example.org" },
		{ MIKEY_ID_NAI, "sip:bob@example.org" },
		{ MIKEY_ID_BYTES, "sips:bob@example.org" },
		{ MIKEY_ID_URI, "<sip:bob@example.org;transport=tcp>" },
		{ MIKEY_ID_URI, "SIP:bob@Example.org:5060" },
		{ MIKEY_ID_URI, "sip:b%6fb@example.org" },
		{ MIKEY_ID_URI, "sips:bob@example.org?subject=x&priority=urgent" },
		{ MIKEY_ID_NAI, "*@example.org" },
		{ MIKEY_ID_URI, "sip:*@example.org" },
		{ MIKEY_ID_URI, "sip:b*@Example.org" },
		{ MIKEY_ID_NAI, "*@*" },
	};
	static const struct {
		uint8_t type;
		const char *as;
	} resolvers[] = {
		{ MIKEY_ID_NAI, "bob@example.org" },
		{ MIKEY_ID_URI, "sip:bob@example.org" },
	};
	size_t tried = 0, refused = 0;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		for (size_t k = 0; k < 2; k++) {
			ue_defaults();
			req_to_type = forms[i].type;
			const char *to[] = { forms[i].to };
			resp_t *rq, *rs;
			long st = request_and_resolve(to, 1, FLAGS_REQ, &users[1],
						      resolvers[k].as, resolvers[k].type,
						      &rq, &rs);
			tried++;
			if (st != 200) {
				refused++;
				printf("\n  responder form '%s' (type %u) as '%s': %ld",
				       forms[i].to, forms[i].type, resolvers[k].as, st);
			}
			free(rq);
			free(rs);
		}
	}
	CU_ASSERT_EQUAL(tried, 2 * sizeof(forms) / sizeof(forms[0]));
	CU_ASSERT_EQUAL(refused, 0);
	ue_defaults();
}

/* A responder that is no KMS user identity is dropped (K) beside others and
 * refused alone (Invalid ID); the requester's own tel: identity likewise. */
static void given_tel_or_bad_responders_when_requesting_then_dropped_or_invalid_id(void)
{
	ue_defaults();
	ue_t alice = { .u = &users[0] };
	resp_t *r = calloc(1, sizeof(*r));
	static const char *const two[] = { "tel:+15551234", "bob@example.org" };
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, two, 2, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	CU_ASSERT_EQUAL(r->m.ticket.policy.nidrr, 1);
	CU_ASSERT_TRUE(
	    id_is(&r->m.ticket.policy.idrr[0], MIKEY_ID_NAI, "bob@example.org"));
	CU_ASSERT_TRUE((r->m.ticket.policy.flags & MIKEY_TPF_K) != 0);
	static const char *const bad[] = { "tel:+15551234", "mailto:bob@example.org",
					   "sip:bob@", "bob" };
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, bad, 4, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EID);
	CU_ASSERT_EQUAL(r->ans.http_status, 400);
	/* IDRi tel: (the key found by IDRpsk): Invalid ID, with a V. */
	ue_self = "tel:+15551234";
	ue_psk_id = "alice@example.org";
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EID);
	ue_defaults();
	free(r);
}

/* A user with two identities (a GBA USS) resolves a ticket naming either,
 * whichever identity the RESOLVE_INIT carries; IDRr is the one that matched. */
static void given_two_identities_when_ticket_names_either_then_resolved_for_that_one(void)
{
	static const struct {
		const char *to, *as, *want;
	} cases[] = {
		{ "c.dept@example.org", "carol@example.org", "c.dept@example.org" },
		{ "c.dept@example.org", "c.dept@example.org", "c.dept@example.org" },
		{ "carol@example.org", "c.dept@example.org", "carol@example.org" },
		{ "*.dept@example.org", "carol@example.org", "c.dept@example.org" },
		{ "carol@example.org", "carol@example.org", "carol@example.org" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ue_defaults();
		ue_psk_id = NULL;
		const char *to[] = { cases[i].to };
		resp_t *rq, *rs;
		/* The key is named by IDRpsk (the B-TID of a GBA user). */
		ue_t alice = { .u = &users[0] };
		rq = calloc(1, sizeof(*rq));
		rs = calloc(1, sizeof(*rs));
		CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to, 1, FLAGS_REQ), KMS_EOK);
		CU_ASSERT_EQUAL_FATAL(ue_exchange(&alice, KMS_REQ_TICKET, rq), KMS_EOK);
		ue_t carol = { .u = &users[2] };
		ue_self = cases[i].as;
		ue_psk_id = "carol@example.org";
		CU_ASSERT_EQUAL_FATAL(
		    ue_resolve(&carol, &rq->m.ticket, rq->keys.k[1].key.data), KMS_EOK);
		CU_ASSERT_EQUAL(ue_exchange(&carol, KMS_REQ_RESOLVE, rs), KMS_EOK);
		CU_ASSERT_TRUE(id_is(resp_idr(rs), MIKEY_ID_NAI, cases[i].want));
		free(rq);
		free(rs);
	}
	ue_defaults();
}

static void given_ticket_types_when_requested_then_issued_resolved_or_default(void)
{
	static const uint16_t types[] = { 1, 2, KMS_TICKET_TYPE, 77 };
	for (size_t i = 0; i < 4; i++) {
		ue_defaults();
		req_type = types[i];
		resp_t *rq, *rs;
		long st = request_and_resolve(to_bob, 1, FLAGS_REQ, &users[1],
					      "bob@example.org", MIKEY_ID_NAI, &rq, &rs);
		CU_ASSERT_EQUAL(st, 200);
		const mikey_tp_t *g = &rq->m.ticket.policy;
		uint16_t want = types[i] == 77 ? KMS_TICKET_TYPE : types[i];
		CU_ASSERT_EQUAL(g->ticket_type, want);
		CU_ASSERT_EQUAL(g->subtype, 1);
		CU_ASSERT_EQUAL(g->version, 1);
		CU_ASSERT_EQUAL(!!(g->flags & MIKEY_TPF_K), types[i] == 77);
		free(rq);
		free(rs);
	}
	/* The configured default applies to a type not served. */
	snprintf(cfg.ticket_type, sizeof(cfg.ticket_type), "2");
	req_type = 77;
	resp_t *rq, *rs;
	CU_ASSERT_EQUAL(request_and_resolve(to_bob, 1, FLAGS_REQ, &users[1],
					    "bob@example.org", MIKEY_ID_NAI, &rq, &rs),
			200);
	CU_ASSERT_EQUAL(rq->m.ticket.policy.ticket_type, 2);
	snprintf(cfg.ticket_type, sizeof(cfg.ticket_type), "private");
	free(rq);
	free(rs);
	ue_defaults();
}

/* IDRkms: left out (the MAC appends the KMS identity, RFC 6043 5.5), other
 * forms of it, another KMS; a MAC over the present identities only is
 * refused unless kms.accept_mac_without_kms_id. */
static void given_idrkms_left_out_or_other_forms_when_requesting_then_rfc_mac_input(void)
{
	ue_defaults();
	ue_t alice = { .u = &users[0] };
	resp_t *r = calloc(1, sizeof(*r));
	ue_no_kms = true;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	ue_mac_no_kms = true;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EMAC);
	cfg.accept_mac_without_kms_id = true;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	/* The setting never excuses a message that carries IDRkms. */
	ue_no_kms = false;
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EMAC);
	cfg.accept_mac_without_kms_id = false;
	ue_mac_no_kms = false;
	ue_kms = "KMS.Example.ORG"; /* a host-name identity: case-insensitive */
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EOK);
	ue_kms = "kms.other.example";
	CU_ASSERT_EQUAL_FATAL(ue_request(&alice, to_bob, 1, FLAGS_REQ), KMS_EOK);
	CU_ASSERT_EQUAL(ue_exchange(&alice, KMS_REQ_TICKET, r), KMS_EID);
	ue_kms = KMS_ID;
	ue_defaults();
	free(r);
}

static void given_forking_on_request_when_not_asked_then_unforked_unless_group(void)
{
	ue_defaults();
	uint16_t no_i = MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H;
	resp_t *rq, *rs;
	/* always (TS 33.328): forked anyway, K set. */
	CU_ASSERT_EQUAL(request_and_resolve(to_bob, 1, no_i, &users[1], "bob@example.org",
					    MIKEY_ID_NAI, &rq, &rs),
			200);
	CU_ASSERT_TRUE((rq->m.ticket.policy.flags & (MIKEY_TPF_I | MIKEY_TPF_K)) ==
		       (MIKEY_TPF_I | MIKEY_TPF_K));
	free(rq);
	free(rs);
	snprintf(cfg.forking, sizeof(cfg.forking), "on_request");
	CU_ASSERT_EQUAL(request_and_resolve(to_bob, 1, no_i, &users[1], "bob@example.org",
					    MIKEY_ID_NAI, &rq, &rs),
			200);
	CU_ASSERT_FALSE(rq->m.ticket.policy.flags & (MIKEY_TPF_I | MIKEY_TPF_K));
	/* Unforked: the Responder gets MPKr and TGK as issued, no modifier. */
	CU_ASSERT_PTR_NULL(resp_idr(rs));
	CU_ASSERT_PTR_NULL(mikey_msg_randr(&rs->m, MIKEY_RAND_KMS));
	CU_ASSERT_EQUAL(memcmp(rs->keys.k[2].key.data, rq->keys.k[2].key.data, 16), 0);
	free(rq);
	free(rs);
	/* Asked for, or a group responder: forked. */
	CU_ASSERT_EQUAL(request_and_resolve(to_bob, 1, FLAGS_REQ, &users[1],
					    "bob@example.org", MIKEY_ID_NAI, &rq, &rs),
			200);
	CU_ASSERT_TRUE((rq->m.ticket.policy.flags & MIKEY_TPF_I) != 0);
	free(rq);
	free(rs);
	static const char *const grp[] = { "*.dept@example.org" };
	CU_ASSERT_EQUAL(request_and_resolve(grp, 1, no_i, &users[2], "carol@example.org",
					    MIKEY_ID_NAI, &rq, &rs),
			200);
	CU_ASSERT_TRUE((rq->m.ticket.policy.flags & (MIKEY_TPF_I | MIKEY_TPF_K)) ==
		       (MIKEY_TPF_I | MIKEY_TPF_K));
	CU_ASSERT_TRUE(id_is(resp_idr(rs), MIKEY_ID_NAI, "c.dept@example.org"));
	snprintf(cfg.forking, sizeof(cfg.forking), "always");
	free(rq);
	free(rs);
	ue_defaults();
}

/*
 * Every Error kmsd produces has the HDR fields of the message in error
 * (RFC 6043 5.4), one case per MIKEY error number it uses (0-5, 7, 11, 12,
 * 14, 15; 6 is for DH, 8 for certificates, and an SP payload is refused as
 * misplaced, 12, before 9 or 10 could apply); those after
 * authentication carry a V under the auth_key of the message in error
 * (direction 0x01), those before carry none.
 */
typedef struct {
	const char *what;
	int want_errno;
	bool want_v;
} err_case_t;

static void check_error(const err_case_t *c, const ue_t *ue, bool request,
			const resp_t *r)
{
	uint8_t version = 0, prf = 0;
	uint32_t csb = 0;
	mikey_msg_t *e = malloc(sizeof(*e));
	CU_ASSERT_EQUAL_FATAL(mikey_hdr_peek(ue->msg, ue->len, &version, &prf, &csb),
			      KMS_EOK);
	/* An unsupported PRF is copied as it came: read the HDR fields as they
	 * are, then decode a copy with PRF 0 (the decoder refuses others). */
	uint8_t ev = 0, eprf = 0, ebuf[MIKEY_MSG_MAX];
	uint32_t ecsb = 0;
	CU_ASSERT_EQUAL_FATAL(mikey_hdr_peek(r->buf, r->ans.len, &ev, &eprf, &ecsb),
			      KMS_EOK);
	CU_ASSERT_EQUAL(ev, version);
	CU_ASSERT_EQUAL(eprf, prf);
	CU_ASSERT_EQUAL(ecsb, csb);
	memcpy(ebuf, r->buf, r->ans.len);
	if (prf > MIKEY_PRF_HMAC_SHA256) {
		ebuf[3] &= 0x80;
	}
	int ret = mikey_msg_decode(ebuf, r->ans.len, e);
	CU_ASSERT_EQUAL(ret, KMS_EOK);
	if (ret != KMS_EOK) {
		printf("\n  %s: no Error message", c->what);
		free(e);
		return;
	}
	CU_ASSERT_EQUAL(e->hdr.data_type, MIKEY_DT_ERROR);
	const mikey_payload_t *ep = mikey_msg_find(e, MIKEY_PT_ERR, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep);
	if (ep->u.err.errno_ != c->want_errno) {
		printf("\n  %s: MIKEY error %u, expected %d", c->what, ep->u.err.errno_,
		       c->want_errno);
	}
	CU_ASSERT_EQUAL(ep->u.err.errno_, c->want_errno);
	CU_ASSERT_EQUAL(mikey_msg_v(e) != NULL, c->want_v);
	if (c->want_v && mikey_msg_v(e) != NULL) {
		uint8_t key[20];
		mikey_bytes_t rnd = { ue->rand, 16 };
		CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, prf, ue->u->key, 16,
						  MIKEY_DK_AUTH, csb, MIKEY_DIR_INIT,
						  request ? &rnd : NULL,
						  request ? NULL : &rnd, key, 20),
				KMS_EOK);
		CU_ASSERT_EQUAL(mikey_mac_verify(e, key, 20, NULL, 0), KMS_EOK);
		/* ... and not under the response direction's key. */
		CU_ASSERT_EQUAL(mikey_kdf_msg_key(NULL, prf, ue->u->key, 16,
						  MIKEY_DK_AUTH, csb, MIKEY_DIR_RESP,
						  request ? &rnd : NULL,
						  request ? NULL : &rnd, key, 20),
				KMS_EOK);
		CU_ASSERT_EQUAL(mikey_mac_verify(e, key, 20, NULL, 0), KMS_EMAC);
	}
	free(e);
}

static void send_as(ue_t *ue, kms_reqtype_t type, resp_t *r)
{
	kms_service_handle(&svc, type, "err", NULL, ue->msg, ue->len, r->buf,
			   sizeof(r->buf), &r->ans);
}

/* Set the HDR's PRF field of ue's message (the MAC no longer matters). */
static void set_prf(ue_t *ue, uint8_t prf)
{
	ue->msg[3] = (uint8_t)((ue->msg[3] & 0x80) | prf);
}

static void given_each_mikey_error_when_answered_then_hdr_copied_and_v_keyed(void)
{
	ue_defaults();
	ue_t alice = { .u = &users[0] }, bob = { .u = &users[1] };
	resp_t *r = calloc(1, sizeof(*r)), *rq = issue(&alice, to_bob, 1, FLAGS_REQ);
	/* 0 Auth failure: an unknown PSK (before), a refusal by policy (after). */
	struct user nobody = { "eve@example.org", { "eve@example.org", NULL }, { 1 } };
	ue_t eve = { .u = &nobody };
	ue_request(&eve, to_bob, 1, FLAGS_REQ);
	send_as(&eve, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "unknown PSK", MIKEY_ERR_AUTH, false }, &eve, true, r);
	ue_t dave = { .u = &users[3] };
	ue_resolve(&dave, &rq->m.ticket, rq->keys.k[1].key.data);
	send_as(&dave, KMS_REQ_RESOLVE, r);
	check_error(&(err_case_t){ "not named", MIKEY_ERR_AUTH, true }, &dave, false, r);
	/* 1 Invalid TS: an old timestamp. */
	int64_t saved = fake_now;
	fake_now -= 3600;
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	fake_now = saved;
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "old T", MIKEY_ERR_TS, false }, &alice, true, r);
	/* 2 Invalid PRF: an unsupported PRF func, copied as it came. */
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	set_prf(&alice, 0x55);
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "PRF 0x55", MIKEY_ERR_PRF, false }, &alice, true, r);
	/* 3 Invalid MAC. */
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	alice.msg[alice.len - 1] ^= 1;
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "bad MAC", MIKEY_ERR_MAC, false }, &alice, true, r);
	/* 4 Invalid EA: a KEMAC with an unknown encryption algorithm. */
	static const uint8_t ea[] = { 0x01, 0x0b, 0x01, 0x00, 0xca, 0xfe, 0x00, 0x04,
				      0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00 };
	ue_t raw = { .u = &users[0] };
	memcpy(raw.msg, ea, sizeof(ea));
	raw.len = sizeof(ea);
	send_as(&raw, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "KEMAC EA 9", MIKEY_ERR_EA, false }, &raw, true, r);
	/* 5 Invalid HA: a V algorithm outside the PRF's set (HMAC-SHA-1 with
	 * PRF-HMAC-SHA-256). */
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	set_prf(&alice, MIKEY_PRF_HMAC_SHA256);
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "V SHA-1, PRF 1", MIKEY_ERR_HA, false }, &alice, true,
		    r);
	/* 11 Invalid DT: a REQUEST_INIT sent as a resolve. */
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	send_as(&alice, KMS_REQ_RESOLVE, r);
	check_error(&(err_case_t){ "wrong DT", MIKEY_ERR_DT, false }, &alice, true, r);
	/* 7 Invalid ID: a tel: requester whose key is named by IDRpsk (after). */
	ue_self = "tel:+15551234";
	ue_psk_id = "alice@example.org";
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "tel: IDRi", MIKEY_ERR_ID, true }, &alice, true, r);
	ue_defaults();
	/* 12 Unspecified: a message cut short (the HDR arrived). */
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	alice.len -= 7;
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "truncated", MIKEY_ERR_UNSPEC, false }, &alice, true,
		    r);
	/* 14 Invalid TICKET: a ticket that fails its tag (after). */
	mikey_ticket_t t = rq->m.ticket;
	uint8_t td[MIKEY_TICKET_DATA_MAX];
	memcpy(td, t.ticket_data.data, t.ticket_data.len);
	td[t.ticket_data.len - 1] ^= 1;
	t.ticket_data.data = td;
	ue_resolve(&bob, &t, rq->keys.k[1].key.data);
	send_as(&bob, KMS_REQ_RESOLVE, r);
	check_error(&(err_case_t){ "bad ticket", MIKEY_ERR_TICKET, true }, &bob, false,
		    r);
	/* 15 Invalid TPpar: a validity that ends before it starts (after). */
	req_tre = fake_now - 10;
	ue_request(&alice, to_bob, 1, FLAGS_REQ);
	req_tre = 0;
	send_as(&alice, KMS_REQ_TICKET, r);
	check_error(&(err_case_t){ "TRe < TRs", MIKEY_ERR_TPPAR, true }, &alice, true, r);
	/* A body shorter than an HDR, or of another version: 1, 0, 0. */
	static const uint8_t tiny[] = { 0x01, 0x0b, 0x05 };
	static const uint8_t v2[] = { 0x02, 0x0b, 0x05, 0x01, 0, 0, 0, 7, 0, 1 };
	mikey_msg_t *e = malloc(sizeof(*e));
	const uint8_t *odd[] = { tiny, v2 };
	size_t odd_len[] = { sizeof(tiny), sizeof(v2) };
	for (size_t i = 0; i < 2; i++) {
		kms_service_handle(&svc, KMS_REQ_TICKET, "odd", NULL, odd[i], odd_len[i],
				   r->buf, sizeof(r->buf), &r->ans);
		CU_ASSERT_EQUAL_FATAL(mikey_msg_decode(r->buf, r->ans.len, e), KMS_EOK);
		CU_ASSERT_TRUE(e->hdr.version == 1 && e->hdr.prf == 0 &&
			       e->hdr.csb_id == 0);
	}
	free(e);
	free(rq);
	free(r);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(
		    given_request_and_resolve_when_served_then_responder_gets_forked_keys),
		UNIT_TEST(
		    given_two_responders_when_resolving_then_each_gets_different_keys),
		UNIT_TEST(given_responder_not_named_when_resolving_then_policy_refusal),
		UNIT_TEST(given_any_ticket_bit_flipped_when_resolving_then_refused),
		UNIT_TEST(given_any_mac_bit_flipped_when_requesting_then_401),
		UNIT_TEST(given_same_request_twice_when_served_then_replay_refused),
		UNIT_TEST(
		    given_identity_limit_when_forged_replayed_or_over_then_only_fresh_charged),
		UNIT_TEST(given_wrong_or_unknown_psk_when_requesting_then_401),
		UNIT_TEST(given_old_timestamp_when_requesting_then_invalid_ts),
		UNIT_TEST(given_expired_ticket_when_resolving_then_403),
		UNIT_TEST(given_resolve_once_when_j0_resolved_twice_then_second_reused),
		UNIT_TEST(
		    given_reuse_requested_when_allowed_or_not_then_j_follows_policy),
		UNIT_TEST(
		    given_rotated_then_retired_key_when_resolving_then_ok_then_refused),
		UNIT_TEST(given_garbage_or_wrong_type_when_served_then_error_message),
		UNIT_TEST(
		    given_deny_rule_when_requesting_or_resolving_then_policy_refusal),
		UNIT_TEST(given_rules_narrowing_when_requesting_then_k_and_tighter_terms),
		UNIT_TEST(
		    given_group_ticket_when_members_resolve_then_own_keys_others_refused),
		UNIT_TEST(
		    given_no_rules_and_group_default_off_when_group_ticket_then_refused),
		UNIT_TEST(given_initiator_keys_requested_when_rule_allows_then_l_granted),
		UNIT_TEST(
		    given_responder_flags_requested_when_rule_allows_then_granted_until_withdrawn),
		UNIT_TEST(
		    given_initiator_ticket_when_resolved_then_policy_owner_lifetime_flags_checked),
		UNIT_TEST(given_foreign_ticket_and_no_peer_when_resolving_then_422),
		UNIT_TEST(
		    given_resolve_over_zk_when_peer_key_right_then_keys_forked_for_responder),
		UNIT_TEST(
		    given_foreign_ticket_over_zk_when_resolving_then_never_forwarded),
		UNIT_TEST(
		    given_sip_uri_identities_when_served_then_granted_and_resolved_as_nai),
		UNIT_TEST(given_each_responder_form_when_granted_then_responder_resolves),
		UNIT_TEST(
		    given_tel_or_bad_responders_when_requesting_then_dropped_or_invalid_id),
		UNIT_TEST(
		    given_two_identities_when_ticket_names_either_then_resolved_for_that_one),
		UNIT_TEST(
		    given_ticket_types_when_requested_then_issued_resolved_or_default),
		UNIT_TEST(
		    given_idrkms_left_out_or_other_forms_when_requesting_then_rfc_mac_input),
		UNIT_TEST(
		    given_forking_on_request_when_not_asked_then_unforked_unless_group),
		UNIT_TEST(
		    given_each_mikey_error_when_answered_then_hdr_copied_and_v_keyed),
		UNIT_END,
	};
	if (suite_init() != 0) {
		fprintf(stderr, "test_service: fixture set-up failed\n");
		return 99;
	}
	int ret = unit_run("service", tests);
	suite_clean();
	return ret;
}
