/*
 * kms-ue transfer-init (the Initiator, RFC 6043 4.2.1-4.2.2):
 *   1. REQUEST_RESP from the KMS: same CSB ID, V MAC over RESP || the full
 *      REQUEST_INIT (auth_key from the PSK, direction 0x02, RANDRi), then
 *      the KEMAC (encr/salt keys likewise; IV from the RESP's own T) gives
 *      MPKi, MPKr, TGK.  An Error message is reported and refused.
 *      Without key forking (I = 0) MPKr may be missing.
 *   2. TRANSFER_INIT = HDR (GENERIC-ID map, one SRTP crypto session), T,
 *      RANDRi, IDRi, IDRr (as kms-ue request sent them), TICKET (+
 *      Initiator Data with I = 1), V.  V: auth_key from MPKi over
 *      TRANSFER_INIT || IDi || IDr without the Initiator Data; Vi = that
 *      MAC, Vr keyed from MPKr (6.10).  The message is built with a zero
 *      placeholder Initiator Data of the final size, then V, Vi and Vr are
 *      written in place.
 * Without --resp, a reusable ticket (J) kept in the state is sent again
 * with a new CSB ID, T and RANDRi (6043 5.3); a ticket kms-ue
 * create-ticket built (ticket_by initiator) is sent the first time so.
 */
#include "tools/ue_transfer.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kdf.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "mikey/tp.h"
#include "tools/ue_answer.h"
#include "tools/ue_common.h"
#include "tools/ue_ident.h"
#include "tools/ue_srtp_sp.h"

#define SSRC_LEN 4
#define INIT_DATA_MAX 80 /* First Payload + two V payloads of up to 34 bytes */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kms-ue transfer-init (--psk HEX | --psk-file FILE | --gba FILE)\n"
		"                            --state FILE --resp FILE --out FILE\n"
		"       kms-ue transfer-init --state FILE --out FILE   (reuse, flag J)\n"
		"\n"
		"Check the KMS's REQUEST_RESP (--resp, the body returned for\n"
		"kms-ue request's message), take MPKi, MPKr and the TGK out of its\n"
		"KEMAC into the state file, and write the TRANSFER_INIT for the peer\n"
		"(the first --to of kms-ue request) to --out, with the identities in\n"
		"the form kms-ue request sent them (--uri).  Any Ticket Type is\n"
		"accepted and kept opaque; with key forking (flag I) the ticket gets\n"
		"the Initiator Data, without it none.  When --resp is a MIKEY Error\n"
		"message, its error number and name are printed with the status of\n"
		"its V (exit 1).\n"
		"Without --resp the reusable ticket in the state is sent again.\n"
		"\n"
		"  --psk HEX        the PSK used for the request (never printed)\n"
		"  --psk-file FILE  the same, as hex text in FILE\n"
		"  --gba FILE       the same from kms-ue bootstrap (Ks_NAF)\n"
		"  --state FILE     the Initiator's state from kms-ue request (updated)\n"
		"  --resp FILE      the KMS's answer (binary, base64 or SDP form)\n"
		"  --out FILE       where the binary TRANSFER_INIT goes\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit: 0 written, 1 the answer is an Error, malformed, does not verify\n"
		"or does not fit the request, 2 usage or file error.\n");
}

typedef struct {
	ue_opts_t o;
	const char *resp;
	const char *out;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		UE_OPTS_PSK_ROWS(&a->o),
		{ UE_STRING("state", 0, &a->o.state), .required = true },
		{ UE_STRING("resp", 0, &a->resp) },
		{ UE_STRING("out", 0, &a->out), .required = true },
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

/* Everything one run holds; on the heap, wiped at the end. */
typedef struct {
	args_t a;
	ue_state_t *st;
	ue_suite_t su;
	mikey_msg_t req, resp, ti;
	uint8_t resp_buf[MIKEY_MSG_MAX];
	uint8_t out[MIKEY_MSG_MAX];
	uint8_t plain[MIKEY_MSG_MAX];
	size_t plain_len;
	uint8_t placeholder[INIT_DATA_MAX]; /* zero Initiator Data */
} run_t;

/* What the KMS changed, as notes: K, the Ticket Type, the Initiator. */
static void note_policy(const run_t *r, const mikey_tp_t *tp)
{
	if ((tp->flags & MIKEY_TPF_K) != 0) {
		fprintf(stderr, "%s: note: the KMS changed the requested policy (K)\n",
			ue_prog);
	}
	const mikey_bytes_t *tt = ue_state_get(r->st, "ticket_type");
	if (tt != NULL && tt->len == 2 &&
	    (unsigned)(tt->data[0] << 8 | tt->data[1]) != tp->ticket_type) {
		fprintf(stderr,
			"%s: note: Ticket Type 0x%04x granted (asked for 0x%04x); "
			"kept opaque\n",
			ue_prog, (unsigned)tp->ticket_type,
			(unsigned)(tt->data[0] << 8 | tt->data[1]));
	}
	static const struct {
		uint16_t flag;
		const char *what;
	} asked[] = {
		{ MIKEY_TPF_I, "key forking (I = 0)" },
		{ MIKEY_TPF_G, "Responder RANDRr (G = 0)" },
		{ MIKEY_TPF_M, "Responder keys (M = 0)" },
	};
	for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
		if ((tp->flags & asked[i].flag) == 0 &&
		    (r->req.ticket.policy.flags & asked[i].flag) != 0) {
			fprintf(stderr, "%s: note: granted without %s\n", ue_prog,
				asked[i].what);
		}
	}
	const mikey_bytes_t *id = ue_state_get(r->st, "id");
	if (tp->has_idri && id != NULL &&
	    !ue_id_same_user(tp->idri.id.data, tp->idri.id.len, id->data, id->len)) {
		fprintf(stderr, "%s: note: the ticket names another Initiator (%.*s)\n",
			ue_prog, (int)tp->idri.id.len, (const char *)tp->idri.id.data);
	}
}

/* Step 1: the KMS's answer; keys and the ticket go into the state. */
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
	ue_answer_ctx_t ctx = { &r->req, r->a.o.psk, r->a.o.psk_len, kms_id,
				r->su.key_len };
	int ret = ue_answer_open(&ctx, r->a.resp, r->resp_buf, sizeof(r->resp_buf), &len,
				 &r->resp, r->plain, sizeof(r->plain), &keys, &set);
	if (ret != UE_EXIT_OK) {
		return ret;
	}
	ret = UE_EXIT_INVALID;
	const mikey_tp_t *tp = &r->resp.ticket.policy;
	/* Any consistent flags (RFC 6043 6.10): RANDRi and RANDRr feed the
	 * TGK derivation as H and G say; I, F, M may be on or off. */
	if (mikey_tp_check_flags(tp->flags, true) != KMS_EOK || tp->prf != r->su.prf) {
		char fl[13];
		mikey_tp_flags_str(tp->flags, fl);
		fprintf(stderr,
			"%s: granted policy %s (PRF %u) not supported: kms-ue needs "
			"consistent flags and the request's PRF\n",
			ue_prog, fl, (unsigned)tp->prf);
		goto cleanup;
	}
	note_policy(r, tp);
	int rc = ue_state_set(r->st, "mpki", set.mpki->key.data, set.mpki->key.len);
	if (rc == KMS_EOK && set.mpkr != NULL) {
		rc = ue_state_set(r->st, "mpkr", set.mpkr->key.data, set.mpkr->key.len);
	} else if (rc == KMS_EOK) {
		ue_state_del(r->st, "mpkr");
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, "tgk", set.tgk->key.data, set.tgk->key.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, "tgk_spi", set.tgk->spi.data, set.tgk->spi.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, "request_resp", r->resp_buf, len);
	}
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
		ret = UE_EXIT_USAGE;
		goto cleanup;
	}
	ret = UE_EXIT_OK;
cleanup:
	secmem_wipe(&keys, sizeof(keys));
	secmem_wipe(r->plain, sizeof(r->plain));
	return ret;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The ID Type kms-ue request recorded for an identity (NAI before). */
static uint8_t id_type(const run_t *r, const char *name, const mikey_bytes_t *id)
{
	const mikey_bytes_t *t = ue_state_get(r->st, name);
	if (t != NULL && t->len == 1) {
		return t->data[0];
	}
	return ue_id_type_of(id->data, id->len);
}

/* The message, with key forking a zero Initiator Data placeholder of the
 * final size. */
static int build_skeleton(run_t *r, const uint8_t *rnd, bool fork, size_t *len,
			  size_t *vr_off)
{
	mikey_msg_t *m = &r->ti;
	uint8_t alg = r->su.mac_alg;
	size_t ilen = 0;
	mikey_v_t v0 = { alg, { NULL, 0 } };
	int rc = KMS_EOK;
	if (fork) {
		rc = mikey_init_data_build(&v0, &v0, r->placeholder,
					   sizeof(r->placeholder), &ilen, vr_off);
	}
	if (rc != KMS_EOK) {
		return rc;
	}
	const mikey_bytes_t *id = ue_state_get(r->st, "id");
	const mikey_bytes_t *peer = ue_state_get(r->st, "peer");
	if (id == NULL || peer == NULL) {
		return KMS_ENOENT;
	}
	mikey_msg_init(m, MIKEY_DT_TRANSFER_INIT, be32(rnd), r->su.prf);
	/* V = 1 asks for TRANSFER_RESP, as flag F says (RFC 6043 4.2.2). */
	m->hdr.v = (r->resp.ticket.policy.flags & MIKEY_TPF_F) != 0;
	m->hdr.ncs = 1;
	m->hdr.map_type = MIKEY_MAP_GENERIC_ID;
	mikey_generic_cs_t *cs = &m->hdr.map.generic[0];
	cs->cs_id = UE_CS_ID;
	cs->prot_type = 0; /* SRTP */
	cs->np = 1;
	cs->policy_no[0] = 0;
	cs->session_data = (mikey_bytes_t){ rnd + 4, SSRC_LEN };
	rc = mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, ue_ntp_now());
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_rand(m, MIKEY_RAND_I, rnd + 4 + SSRC_LEN,
					r->su.rand_len);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_I, id_type(r, "id_type", id),
				      id->data, id->len);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_R, id_type(r, "peer_type", peer),
				      peer->data, peer->len);
	}
	/* kms-ue call: the SRTP policy of crypto session 1, when chosen. */
	const mikey_bytes_t *suite = ue_state_get(r->st, "srtp_suite");
	uint8_t spv[UE_SRTP_SP_PARAMS];
	mikey_payload_t sp = { .type = MIKEY_PT_SP };
	if (rc == KMS_EOK && suite != NULL) {
		ue_srtp_sp_build(suite->len == 1 && suite->data[0] == 1
				     ? UE_SRTP_AES256_SHA1_80
				     : UE_SRTP_AES128_SHA1_80,
				 0, &sp.u.sp, spv);
		rc = mikey_msg_add(m, &sp);
	}
	mikey_ticket_t t = r->resp.ticket;
	t.init_data =
	    (mikey_bytes_t){ r->placeholder, ilen }; /* ilen 0 without forking */
	t.has_init = fork;
	t.vi = v0;
	t.vr = v0;
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_ticket(m, &t, true);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_v(m, alg);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_build(m, r->out, sizeof(r->out), len);
	}
	/* The ticket must travel exactly as the KMS issued it. */
	if (rc == KMS_EOK) {
		rc = ue_ticket_same(&r->resp, r->out, *len, false);
	}
	return rc;
}

/* Vi = V and Vr keyed from the unforked MPKr, written in place (6.10). */
static int sign_init_data(run_t *r, const uint8_t *mac, size_t klen, size_t vr_off)
{
	uint8_t vrkey[MIKEY_MAC_MAX], vr[MIKEY_MAC_MAX];
	const mikey_bytes_t *mpkr = ue_state_get(r->st, "mpkr");
	const mikey_payload_t *tk = &r->ti.p[r->ti.ticket_index];
	size_t init_off = tk->off + r->ti.ticket.init_len_off + 2;
	size_t ilen = r->ti.ticket.init_data.len;
	if (mpkr == NULL) {
		return KMS_ENOENT;
	}
	/* Vi: First Payload, Next payload and Auth alg precede its MAC. */
	memcpy(r->out + init_off + 3, mac, klen);
	int rc = mikey_kdf_vr_key(NULL, r->resp.ticket.policy.prf, mpkr->data, mpkr->len,
				  vrkey, klen);
	if (rc == KMS_EOK) {
		rc = mikey_init_data_mac(r->out + init_off, ilen, vr_off, r->su.mac_alg,
					 vrkey, klen, vr);
	}
	if (rc == KMS_EOK) {
		memcpy(r->out + init_off + vr_off, vr, klen);
	}
	secmem_wipe(vrkey, sizeof(vrkey));
	secmem_wipe(vr, sizeof(vr));
	return rc;
}

/* Step 2: TRANSFER_INIT into r->out. */
static int build_transfer_init(run_t *r, size_t *len)
{
	uint8_t rnd[4 + SSRC_LEN + MIKEY_RAND_MAX];
	uint8_t key[MIKEY_MAC_MAX], mac[MIKEY_MAC_MAX];
	size_t klen = 0, vr_off = 0;
	mikey_bytes_t ids[2];
	bool fork = (r->resp.ticket.policy.flags & MIKEY_TPF_I) != 0;
	const mikey_bytes_t *mpki = ue_state_get(r->st, "mpki");
	int rc = mpki != NULL ? KMS_EOK : KMS_ENOENT;
	/* CSB ID, SSRC and RANDRi: fresh for every TRANSFER_INIT. */
	if (rc == KMS_EOK) {
		rc = crypto_random(rnd, sizeof(rnd));
	}
	if (rc == KMS_EOK) {
		rc = build_skeleton(r, rnd, fork, len, &vr_off);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_decode(r->out, *len, &r->ti);
	}
	if (rc == KMS_EOK) {
		rc = mikey_profile_init_identities(&r->ti, NULL, ids);
	}
	mikey_bytes_t randri = { rnd + 4 + SSRC_LEN, r->su.rand_len };
	if (rc == KMS_EOK) {
		rc =
		    ue_auth_key(r->su.prf, mpki->data, mpki->len, r->ti.hdr.csb_id,
				MIKEY_DIR_INIT, &randri, NULL, r->su.mac_alg, key, &klen);
	}
	/* V (the Initiator Data is outside its coverage, mikey/mac.h). */
	if (rc == KMS_EOK) {
		rc = mikey_mac_compute(&r->ti, key, klen, ids, 2, mac);
	}
	if (rc == KMS_EOK) {
		memcpy(r->out + mikey_msg_v_mac_off(&r->ti), mac, klen);
		if (fork) {
			rc = sign_init_data(r, mac, klen, vr_off);
		}
	}
	/* Self-check: what we send parses and verifies. */
	if (rc == KMS_EOK) {
		rc = mikey_msg_parse(r->out, *len, &r->ti);
	}
	if (rc == KMS_EOK) {
		rc = mikey_profile_init_identities(&r->ti, NULL, ids);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_verify(&r->ti, key, klen, ids, 2);
	}
	/* Vi is identical to the V payload (RFC 6043 6.10). */
	const mikey_v_t *v = mikey_msg_v(&r->ti);
	if (rc == KMS_EOK && fork &&
	    (r->ti.ticket.vi.alg != v->alg ||
	     !secmem_eq(r->ti.ticket.vi.mac.data, v->mac.data, klen))) {
		rc = KMS_EINTERNAL;
	}
	if (rc == KMS_EOK && !fork && r->ti.ticket.has_init) {
		rc = KMS_EINTERNAL;
	}
	secmem_wipe(key, sizeof(key));
	secmem_wipe(mac, sizeof(mac));
	secmem_wipe(rnd, sizeof(rnd));
	return rc;
}

int ue_transfer_init_cmd(int argc, char **argv)
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
	ret = ue_state_open(r->a.o.state, "initiator", &r->st);
	if (ret != UE_EXIT_OK) {
		goto cleanup;
	}
	ret = UE_EXIT_USAGE;
	const mikey_bytes_t *prf = ue_state_get(r->st, "prf");
	if (prf == NULL || prf->len != 1 || ue_suite_of_prf(prf->data[0], &r->su) != 0 ||
	    ue_state_msg(r->st, "request_init", &r->req) != KMS_EOK) {
		fprintf(stderr, "%s: --state: no usable request (run kms-ue request)\n",
			ue_prog);
		goto cleanup;
	}
	if (r->a.resp != NULL) {
		ret = take_response(r);
		if (ret != UE_EXIT_OK) {
			goto cleanup;
		}
	} else if (ue_state_msg(r->st, "request_resp", &r->resp) != KMS_EOK) {
		goto cleanup; /* no ticket yet: --resp is needed */
	} else if ((r->resp.ticket.policy.flags & MIKEY_TPF_J) == 0 &&
		   !(ue_state_is(r->st, "ticket_by", "initiator") &&
		     ue_state_get(r->st, "transfer_init") == NULL)) {
		fprintf(
		    stderr,
		    "%s: the ticket is not reusable (J = 0); run kms-ue request again\n",
		    ue_prog);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	int rc = build_transfer_init(r, &len);
	if (rc != KMS_EOK) {
		ue_fail("building TRANSFER_INIT", rc);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	/* A new Ticket Transfer: forget the forked keys of an earlier one. */
	ue_state_del(r->st, "mpkr_fork");
	ue_state_del(r->st, "tgk_fork");
	ue_state_del(r->st, "transfer_resp");
	rc = ue_state_set(r->st, "transfer_init", r->out, len);
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
		goto cleanup;
	}
	if (ue_write_file(r->a.out, r->out, len) != 0) {
		goto cleanup;
	}
	ret = ue_state_write(r->st, r->a.o.state);
cleanup:
	ue_opts_wipe(&r->a.o);
	ue_state_free(r->st);
	secmem_wipe(r, sizeof(*r));
	free(r);
	return ret;
}
