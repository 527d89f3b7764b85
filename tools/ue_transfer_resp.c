/*
 * kms-ue transfer-resp (the Responder, RFC 6043 4.2.2-4.2.3):
 *   1. RESOLVE_RESP: checked and opened like a REQUEST_RESP (ue_answer.h):
 *      MPKi, MPKr', TGK', and the forking modifier IDRr + RANDRkms; without
 *      key forking (I = 0) MPKi and the TGK, IDRr and RANDRkms only if the
 *      KMS sent them.
 *   2. The stored TRANSFER_INIT: its V verifies with MPKi (direction 0x01,
 *      its RANDRi) over TRANSFER_INIT || IDi || IDr, and equals Vi (I = 1).
 *   3. TRANSFER_RESP = HDR (the INIT's CSB ID and crypto session, the TGK's
 *      SPI filled in), T, [RANDRr], [IDRr], [RANDRkms], [KEMAC], V; a fresh
 *      RANDRr when G = 1; IDRr (ID Type and Data) and RANDRkms exactly as
 *      in the RESOLVE_RESP (RFC 6043 4.2.2.3: required with forking,
 *      copied whenever present); with M = 1 and --responder-keys a KEMAC
 *      with a fresh TGK of ours (its SPI in the HDR), which then replaces
 *      the ticket's TGK for the session.  Keys from MPKr' with forking, else
 *      MPKi (direction 0x02, the INIT's RANDRi, RANDRr when G = 1): encr
 *      and salt for the KEMAC, auth for V over TRANSFER_RESP ||
 *      TRANSFER_INIT.  F = 0: none is sent.
 * Without --resp the keys cached for a reusable ticket (kms-ue resolve
 * exit 3) answer the new TRANSFER_INIT.
 */
#include "tools/ue_transfer_resp.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "tools/ue_answer.h"
#include "tools/ue_common.h"
#include "tools/ue_ident.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kms-ue transfer-resp (--psk HEX | --psk-file FILE | --gba FILE)\n"
		"                            --state FILE --resp FILE --out FILE\n"
		"                            [--responder-keys]\n"
		"       kms-ue transfer-resp --state FILE --out FILE [--responder-keys]\n"
		"                            (cached keys)\n"
		"\n"
		"Check the KMS's RESOLVE_RESP (--resp, the body returned for kms-ue\n"
		"resolve's message) and take MPKi, MPKr', TGK' (with key forking) or\n"
		"MPKi, TGK (without) out of its KEMAC; check the TRANSFER_INIT kept by\n"
		"resolve with MPKi (its V, and that Vi in the ticket equals it); write\n"
		"the TRANSFER_RESP for the Initiator to --out, with the RESOLVE_RESP's\n"
		"IDRr and RANDRkms copied unchanged.  A ticket with F = 0 gets no\n"
		"TRANSFER_RESP (nothing is written to --out).  When --resp is a MIKEY\n"
		"Error message its error number and name are printed with the status\n"
		"of its V (exit 1).  Without --resp, the keys cached for a reusable\n"
		"ticket (after resolve exited 3) are used.  The keys stay cacheable\n"
		"only when the ticket is reusable (flag J).\n"
		"\n"
		"A ticket with G = 1 gets a fresh RANDRr in the TRANSFER_RESP, used\n"
		"in its keys and in the SRTP key derivation.  With --responder-keys\n"
		"(the ticket must have M = 1) a fresh TGK of ours goes to the\n"
		"Initiator in a KEMAC of the TRANSFER_RESP and keys the session.\n"
		"\n"
		"  --psk HEX        the PSK used for the resolve (never printed)\n"
		"  --psk-file FILE  the same, as hex text in FILE\n"
		"  --gba FILE       the same from kms-ue bootstrap (Ks_NAF)\n"
		"  --state FILE     the Responder's state from kms-ue resolve (updated)\n"
		"  --resp FILE      the KMS's answer (binary, base64 or SDP form)\n"
		"  --out FILE       where the binary TRANSFER_RESP goes\n"
		"  --responder-keys supply our own TGK (needs flag M)\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit: 0 written, 1 the answer or the TRANSFER_INIT does not verify or\n"
		"is an Error, or --responder-keys with a ticket with M = 0, 2 usage or\n"
		"file error.\n");
}

typedef struct {
	ue_opts_t o;
	const char *resp;
	const char *out;
	bool resp_keys;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		UE_OPTS_PSK_ROWS(&a->o),
		{ UE_STRING("state", 0, &a->o.state), .required = true },
		{ UE_STRING("resp", 0, &a->resp) },
		{ UE_STRING("out", 0, &a->out), .required = true },
		{ UE_FLAG("responder-keys", 0, &a->resp_keys) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	/* Without --resp (reuse, cached keys) no PSK is needed. */
	return a->resp == NULL || ue_opts_load_psk(&a->o) == 0 ? 0 : -1;
}

typedef struct {
	args_t a;
	ue_state_t *st;
	ue_suite_t su;
	mikey_msg_t ri, ti, rr, tr;
	uint8_t rr_buf[MIKEY_MSG_MAX];
	uint8_t plain[MIKEY_MSG_MAX];
	uint8_t out[MIKEY_MSG_MAX];
	uint8_t kemac[MIKEY_MSG_MAX];
} run_t;

static bool forking(const run_t *r)
{
	return (r->ti.ticket.policy.flags & MIKEY_TPF_I) != 0;
}

/* The RESOLVE_RESP's IDRr and RANDRkms, kept to be sent back unchanged. */
static int keep_modifier(run_t *r, const mikey_id_t *idrr, const mikey_rand_t *rk)
{
	int rc = KMS_EOK;
	ue_state_del(r->st, "idrr");
	ue_state_del(r->st, "idrr_type");
	ue_state_del(r->st, "randrkms");
	if (idrr != NULL) {
		rc = ue_state_set(r->st, "idrr", idrr->id.data, idrr->id.len);
		if (rc == KMS_EOK) {
			rc = ue_state_set(r->st, "idrr_type", &idrr->id_type, 1);
		}
		/* The KMS names the user identity it matched, maybe another one
		 * of ours (TS 33.328): worth a note, not a refusal. */
		const mikey_bytes_t *id = ue_state_get(r->st, "id");
		if (rc == KMS_EOK && id != NULL &&
		    !ue_id_same_user(idrr->id.data, idrr->id.len, id->data, id->len)) {
			fprintf(stderr,
				"%s: note: the KMS resolved the ticket for %.*s\n",
				ue_prog, (int)idrr->id.len, (const char *)idrr->id.data);
		}
	}
	if (rc == KMS_EOK && rk != NULL) {
		rc = ue_state_set(r->st, "randrkms", rk->rand.data, rk->rand.len);
	}
	return rc;
}

/* Step 1: keys and forking modifier from the RESOLVE_RESP into the state. */
static int take_response(run_t *r)
{
	mikey_keys_t keys;
	ue_keyset_t set;
	size_t len = 0;
	const mikey_bytes_t *kms_id = ue_state_get(r->st, "kms_id");
	if (kms_id == NULL) {
		fprintf(stderr, "%s: --state: no kms_id\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	ue_answer_ctx_t ctx = { &r->ri, r->a.o.psk, r->a.o.psk_len, kms_id,
				r->su.key_len };
	int ret = ue_answer_open(&ctx, r->a.resp, r->rr_buf, sizeof(r->rr_buf), &len,
				 &r->rr, r->plain, sizeof(r->plain), &keys, &set);
	if (ret != UE_EXIT_OK) {
		return ret;
	}
	/* Key forking (I = 1): the modifier travels in clear (RFC 6043 5.1.1). */
	const mikey_id_t *idrr = mikey_msg_idr(&r->rr, MIKEY_ROLE_R);
	const mikey_rand_t *rk = mikey_msg_randr(&r->rr, MIKEY_RAND_KMS);
	bool fork = forking(r);
	if (fork && (idrr == NULL || rk == NULL || idrr->id.len == 0)) {
		fprintf(stderr,
			"%s: --resp: RESOLVE_RESP lacks IDRr or RANDRkms, needed "
			"with key forking\n",
			ue_prog);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	uint8_t cacheable = (r->ti.ticket.policy.flags & MIKEY_TPF_J) != 0;
	/* MPKr' and TGK' with forking; the TGK as issued without. */
	ue_state_del(r->st, "mpkr_fork");
	ue_state_del(r->st, "tgk_fork");
	ue_state_del(r->st, "tgk");
	int rc = ue_state_set(r->st, "mpki", set.mpki->key.data, set.mpki->key.len);
	if (rc == KMS_EOK && fork) {
		rc = ue_state_set(r->st, "mpkr_fork", set.mpkr->key.data,
				  set.mpkr->key.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, fork ? "tgk_fork" : "tgk", set.tgk->key.data,
				  set.tgk->key.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, "tgk_spi", set.tgk->spi.data, set.tgk->spi.len);
	}
	if (rc == KMS_EOK) {
		rc = keep_modifier(r, idrr, rk);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, "cacheable", &cacheable, 1);
	}
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
		ret = UE_EXIT_USAGE;
	}
cleanup:
	secmem_wipe(&keys, sizeof(keys));
	secmem_wipe(r->plain, sizeof(r->plain));
	return ret;
}

/* Step 2: the TRANSFER_INIT verifies with MPKi, and Vi is its V. */
static int check_transfer_init(run_t *r)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = 0;
	mikey_bytes_t ids[2];
	const mikey_bytes_t *mpki = ue_state_get(r->st, "mpki");
	const mikey_rand_t *ri = mikey_msg_randr(&r->ti, MIKEY_RAND_I);
	const mikey_v_t *v = mikey_msg_v(&r->ti);
	int rc = mikey_profile_init_identities(&r->ti, NULL, ids);
	if (rc == KMS_EOK) {
		rc = ue_auth_key(r->ti.hdr.prf, mpki->data, mpki->len, r->ti.hdr.csb_id,
				 MIKEY_DIR_INIT, &ri->rand, NULL, v->alg, key, &klen);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_verify(&r->ti, key, klen, ids, 2);
	}
	secmem_wipe(key, sizeof(key));
	if (rc != KMS_EOK) {
		ue_fail("TRANSFER_INIT V with MPKi (not from the ticket's Initiator, or "
			"altered)",
			rc);
		return -1;
	}
	const mikey_ticket_t *t = &r->ti.ticket;
	if (!forking(r)) {
		return 0; /* no Initiator Data without key forking */
	}
	if (!t->has_init || t->vi.alg != v->alg || t->vi.mac.len != v->mac.len ||
	    !secmem_eq(t->vi.mac.data, v->mac.data, v->mac.len)) {
		fprintf(stderr,
			"%s: TRANSFER_INIT: Vi in the Initiator Data differs from its V "
			"(RFC 6043 5.2.3)\n",
			ue_prog);
		return -1;
	}
	return 0;
}

static uint16_t tp_flags(const run_t *r)
{
	return r->ti.ticket.policy.flags;
}

/* A fresh value of len bytes into the state as name. */
static int fresh(run_t *r, const char *name, size_t len)
{
	uint8_t v[MIKEY_KEY_MAX];
	int rc = len <= sizeof(v) ? crypto_random(v, len) : KMS_EINVAL;
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, name, v, len);
	}
	secmem_wipe(v, sizeof(v));
	return rc;
}

/* Step 3a: what we contribute to this transfer, each new every time: RANDRr
 * (G = 1) and our TGK with its SPI (--responder-keys, M = 1). */
static int responder_material(run_t *r)
{
	ue_state_del(r->st, "randrr_tr");
	ue_state_del(r->st, "tgk_resp");
	ue_state_del(r->st, "tgk_resp_spi");
	int rc = KMS_EOK;
	if ((tp_flags(r) & MIKEY_TPF_G) != 0) {
		rc = fresh(r, "randrr_tr", r->su.rand_len);
	}
	if (rc == KMS_EOK && r->a.resp_keys) {
		rc = fresh(r, "tgk_resp", r->su.key_len);
	}
	if (rc == KMS_EOK && r->a.resp_keys) {
		rc = fresh(r, "tgk_resp_spi", 4);
	}
	return rc;
}

/* Step 3b: the KEMAC with our TGK, under the same keys as V (direction
 * 0x02, RANDRi, [RANDRr]) and the TRANSFER_RESP's own T (mikey/profile.h). */
static int add_kemac(run_t *r, const mikey_bytes_t *mpk, const mikey_bytes_t *rr)
{
	mikey_msg_t *m = &r->tr;
	const mikey_bytes_t *tgk = ue_state_get(r->st, "tgk_resp");
	const mikey_bytes_t *spi = ue_state_get(r->st, "tgk_resp_spi");
	const mikey_rand_t *ri = mikey_msg_randr(&r->ti, MIKEY_RAND_I);
	mikey_keys_t keys = { 1, { { .type = MIKEY_KEY_TGK, .kv = MIKEY_KV_SPI } } };
	uint64_t t64 = 0;
	size_t len = 0;
	if (tgk == NULL || spi == NULL) {
		return KMS_ENOENT;
	}
	keys.k[0].key = *tgk;
	keys.k[0].spi = *spi;
	int rc = mikey_profile_kemac_ts(m, &t64);
	if (rc == KMS_EOK) {
		rc = mikey_kemac_seal(NULL, r->ti.hdr.prf, r->su.encr_alg, mpk->data,
				      mpk->len, r->ti.hdr.csb_id, MIKEY_DIR_RESP,
				      &ri->rand, rr, t64, &keys, r->kemac,
				      sizeof(r->kemac), &len);
	}
	if (rc == KMS_EOK) {
		mikey_kemac_t k = {
			r->su.encr_alg, { r->kemac, len }, MIKEY_MAC_NULL, { NULL, 0 }
		};
		rc = mikey_msg_add_kemac(m, &k);
	}
	secmem_wipe(&keys, sizeof(keys));
	return rc;
}

/* Step 3c: TRANSFER_RESP into r->out. */
static int build(run_t *r, size_t *len)
{
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = 0;
	mikey_msg_t *m = &r->tr;
	bool fork = forking(r);
	/* MPKr' with forking, MPKi without (RFC 6043 4.2.2.3). */
	const mikey_bytes_t *mpk = ue_state_get(r->st, fork ? "mpkr_fork" : "mpki");
	const mikey_bytes_t *rr = ue_state_get(r->st, "randrr_tr");
	const mikey_bytes_t *spi =
	    ue_state_get(r->st, r->a.resp_keys ? "tgk_resp_spi" : "tgk_spi");
	const mikey_bytes_t *idrr = ue_state_get(r->st, "idrr");
	const mikey_bytes_t *idt = ue_state_get(r->st, "idrr_type");
	const mikey_bytes_t *rk = ue_state_get(r->st, "randrkms");
	const mikey_v_t *v = mikey_msg_v(&r->ti);
	const mikey_rand_t *ri = mikey_msg_randr(&r->ti, MIKEY_RAND_I);
	if (mpk == NULL || spi == NULL ||
	    (idrr != NULL && (idt == NULL || idt->len != 1)) ||
	    (fork && (idrr == NULL || rk == NULL))) {
		return KMS_ENOENT;
	}
	mikey_msg_init(m, MIKEY_DT_TRANSFER_RESP, r->ti.hdr.csb_id, r->ti.hdr.prf);
	/* The INIT's crypto session; a response fills in the SPI (6043 6.1.1). */
	m->hdr.ncs = 1;
	m->hdr.map_type = MIKEY_MAP_GENERIC_ID;
	m->hdr.map.generic[0] = r->ti.hdr.map.generic[0];
	m->hdr.map.generic[0].spi = *spi;
	int rc = mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, ue_ntp_now());
	if (rc == KMS_EOK && rr != NULL) {
		rc = mikey_msg_add_rand(m, MIKEY_RAND_R, rr->data, rr->len);
	}
	if (rc == KMS_EOK && idrr != NULL) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_R, idt->data[0], idrr->data,
				      idrr->len);
	}
	if (rc == KMS_EOK && rk != NULL) {
		rc = mikey_msg_add_rand(m, MIKEY_RAND_KMS, rk->data, rk->len);
	}
	if (rc == KMS_EOK && r->a.resp_keys) {
		rc = add_kemac(r, mpk, rr);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_v(m, v->alg);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_build(m, r->out, sizeof(r->out), len);
	}
	if (rc == KMS_EOK) {
		rc = ue_auth_key(r->ti.hdr.prf, mpk->data, mpk->len, r->ti.hdr.csb_id,
				 MIKEY_DIR_RESP, &ri->rand, rr, v->alg, key, &klen);
	}
	mikey_bytes_t init = { r->ti.buf, r->ti.len };
	if (rc == KMS_EOK) {
		rc = mikey_mac_sign(r->out, *len, key, klen, &init, 1);
	}
	secmem_wipe(key, sizeof(key));
	return rc;
}

static int load(run_t *r)
{
	int ret = ue_state_open(r->a.o.state, "responder", &r->st);
	if (ret != UE_EXIT_OK) {
		return ret;
	}
	const mikey_bytes_t *prf = ue_state_get(r->st, "prf");
	if (prf == NULL || prf->len != 1 || ue_suite_of_prf(prf->data[0], &r->su) != 0 ||
	    ue_state_msg(r->st, "transfer_init", &r->ti) != KMS_EOK ||
	    r->ti.hdr.ncs != 1 || r->ti.hdr.map_type != MIKEY_MAP_GENERIC_ID) {
		fprintf(stderr,
			"%s: --state: no usable TRANSFER_INIT (run kms-ue resolve)\n",
			ue_prog);
		return UE_EXIT_USAGE;
	}
	if (r->a.resp != NULL) {
		if (ue_state_msg(r->st, "resolve_init", &r->ri) != KMS_EOK) {
			return UE_EXIT_USAGE;
		}
		return take_response(r);
	}
	const mikey_bytes_t *c = ue_state_get(r->st, "cacheable");
	if (c == NULL || c->len != 1 || c->data[0] != 1 ||
	    ue_state_get(r->st, "mpki") == NULL) {
		fprintf(stderr,
			"%s: no cached keys for a reusable ticket in the state: give "
			"--resp\n",
			ue_prog);
		return UE_EXIT_USAGE;
	}
	return UE_EXIT_OK;
}

int ue_transfer_resp_cmd(int argc, char **argv)
{
	run_t *r = calloc(1, sizeof(*r));
	int ret = UE_EXIT_USAGE;
	size_t len = 0;
	if (r == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	ue_opts_init(&r->a.o);
	int pa = parse_args(argc, argv, &r->a);
	if (pa != 0) {
		ret = pa > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
		goto cleanup;
	}
	ret = load(r);
	if (ret != UE_EXIT_OK) {
		goto cleanup;
	}
	ret = UE_EXIT_INVALID;
	if (check_transfer_init(r) != 0) {
		goto cleanup;
	}
	if ((r->ti.ticket.policy.flags & MIKEY_TPF_F) == 0) {
		/* RFC 6043 6.10: F = 0, a TRANSFER_RESP SHALL NOT be sent. */
		fprintf(stderr, "%s: note: the ticket has F = 0: no TRANSFER_RESP\n",
			ue_prog);
		ret = ue_state_write(r->st, r->a.o.state);
		goto cleanup;
	}
	if (r->a.resp_keys && (tp_flags(r) & MIKEY_TPF_M) == 0) {
		/* RFC 6043 6.10: M = 0, the Responder SHALL NOT supply keys. */
		fprintf(stderr,
			"%s: --responder-keys: the ticket has M = 0 (the KMS did not "
			"grant Responder-supplied keys)\n",
			ue_prog);
		goto cleanup;
	}
	int rc = responder_material(r);
	if (rc == KMS_EOK) {
		rc = build(r, &len);
	}
	if (rc != KMS_EOK) {
		ue_fail("building TRANSFER_RESP", rc);
		goto cleanup;
	}
	ret = UE_EXIT_USAGE;
	if (ue_write_file(r->a.out, r->out, len) == 0) {
		ret = ue_state_write(r->st, r->a.o.state);
	}
cleanup:
	ue_opts_wipe(&r->a.o);
	ue_state_free(r->st);
	secmem_wipe(r, sizeof(*r));
	free(r);
	return ret;
}
