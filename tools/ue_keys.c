/*
 * kms-ue keys: the end of a Ticket Transfer.
 *   Initiator: with key forking (I = 1) the TRANSFER_RESP (--tr) gives the
 *   forking modifier (IDRr ID Data exactly as received, RANDRkms); MPKr ->
 *   MPKr' and TGK -> TGK' (RFC 6043 5.1.1); its V verifies with MPKr'
 *   (direction 0x02, the INIT's RANDRi) over TRANSFER_RESP ||
 *   TRANSFER_INIT.  Without forking its V verifies with MPKi and the TGK
 *   stays as issued; with F = 0 there is no TRANSFER_RESP to wait for.
 *   With G = 1 the TRANSFER_RESP must carry RANDRr (and may not without),
 *   which then enters its keys; a KEMAC is refused unless M = 1, and then
 *   its TGK (the Responder's) keys the session.
 *   Both: SRTP master key = TEK from the Responder's TGK, TGK' or the TGK
 *   and master salt (5.1.3, CS ID of the crypto session, RANDRi iff H,
 *   RANDRr iff G), printed as JSON.  This is the one command that prints
 *   key material, for testing.
 */
#include "tools/ue_keys.h"

#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/kdf.h"
#include "mikey/kemac.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "tools/ue_common.h"
#include "tools/ue_input.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kms-ue keys --state FILE [--tr FILE]\n"
		"\n"
		"Print the SRTP master key and master salt of the crypto session as\n"
		"JSON: {\"srtp_master_key\": HEX, \"srtp_master_salt\": HEX,\n"
		"\"cs_id\": N, \"spi\": HEX}.  THIS PRINTS SECRET KEY MATERIAL; it\n"
		"exists so that tests can compare both ends.\n"
		"\n"
		"The Initiator gives the peer's TRANSFER_RESP with --tr once: it is\n"
		"verified with the forked MPKr' and the forked TGK' is kept in the\n"
		"state (key forking), or verified with MPKi (no key forking; a ticket\n"
		"with F = 0 has no TRANSFER_RESP and needs no --tr).  The Responder\n"
		"needs only its state after transfer-resp.\n"
		"\n"
		"  --state FILE  the state of either side (the Initiator's is updated)\n"
		"  --tr FILE     Initiator: the TRANSFER_RESP (binary, base64 or SDP)\n"
		"  -h, --help    this text\n"
		"\n"
		"A ticket with G = 1 needs RANDRr in the TRANSFER_RESP (and one with\n"
		"G = 0 must not have it); a KEMAC in it (the Responder's own TGK,\n"
		"which then keys the session) is accepted only with M = 1.\n"
		"\n"
		"Exit: 0 printed, 1 the TRANSFER_RESP does not verify, is an Error,\n"
		"lacks RANDRr with G = 1, has RANDRr with G = 0 or under 16 bytes, or\n"
		"has a KEMAC with M = 0, 2 usage or file error, or a state without\n"
		"the keys yet.\n");
}

typedef struct {
	const char *state;
	const char *tr;
	bool fork; /* the ticket's flag I */
	ue_state_t *st;
	ue_suite_t su;
	mikey_msg_t ti, tr_msg;
	uint8_t tr_buf[MIKEY_MSG_MAX];
	uint8_t plain[MIKEY_MSG_MAX]; /* the KEMAC's key chain, wiped after use */
} run_t;

static int parse_args(int argc, char **argv, run_t *r)
{
	const ue_opt_t opts[] = {
		{ UE_STRING("state", 0, &r->state), .required = true },
		{ UE_STRING("tr", 0, &r->tr) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	return ue_opts_parse(&spec, argc, argv, &first);
}

/* An Error from the Responder: its V may use the TRANSFER_INIT's auth_key
 * (D = 0x01, RFC 6043 5.4) or, without forking, MPKi's response key. */
static void report_error(const run_t *r, const mikey_msg_t *m, const mikey_bytes_t *mpki)
{
	uint8_t k[2][MIKEY_MAC_MAX];
	ue_err_key_t keys[2];
	size_t n = ue_error_keys(&r->ti, mikey_msg_v(m), mpki->data, mpki->len, !r->fork,
				 k, keys);
	ue_report_error_msg("the Responder", m, &r->ti, keys, n);
	secmem_wipe(k, sizeof(k));
}

/* The forking modifier of the TRANSFER_RESP; MPKr' and TGK' from it. */
static int fork_keys(run_t *r, uint8_t *mpkr_f, uint8_t *tgk_f)
{
	const mikey_msg_t *m = &r->tr_msg;
	const mikey_bytes_t *mpkr = ue_state_get(r->st, "mpkr");
	const mikey_bytes_t *tgk = ue_state_get(r->st, "tgk");
	const mikey_id_t *idrr = mikey_msg_idr(m, MIKEY_ROLE_R);
	const mikey_rand_t *rk = mikey_msg_randr(m, MIKEY_RAND_KMS);
	if (mpkr == NULL) {
		fprintf(stderr, "%s: --state: no MPKr (run kms-ue transfer-init)\n",
			ue_prog);
		return KMS_ENOENT;
	}
	if (idrr == NULL || rk == NULL) {
		fprintf(stderr,
			"%s: --tr: no IDRr or RANDRkms, needed with key forking\n",
			ue_prog);
		return KMS_EPAYLOAD;
	}
	/* The ticket's PRF drives forking (= the HDR's; checked by
	 * transfer-init), over the IDRr's ID Data exactly as received. */
	int rc = mikey_kdf_fork(NULL, r->su.prf, MIKEY_FORK_MPKR, mpkr->data, mpkr->len,
				&idrr->id, &rk->rand, mpkr_f);
	if (rc == KMS_EOK) {
		rc = mikey_kdf_fork(NULL, r->su.prf, MIKEY_FORK_TGK, tgk->data, tgk->len,
				    &idrr->id, &rk->rand, tgk_f);
	}
	return rc;
}

#define UE_RANDRR_MIN 16

/* RANDRr and KEMAC as the ticket's G and M allow (RFC 6043 6.10). */
static int check_gm(const run_t *r)
{
	uint16_t f = r->ti.ticket.policy.flags;
	const mikey_rand_t *rp = mikey_msg_randr(&r->tr_msg, MIKEY_RAND_R);
	bool rr = rp != NULL;
	const char *why = NULL;
	if ((f & MIKEY_TPF_G) != 0 && !rr) {
		why = "no RANDRr, which the ticket's G = 1 requires";
	} else if (rr && rp->rand.len < UE_RANDRR_MIN) {
		/* RFC 3830 6.11: a RAND SHOULD be at least 16 bytes. */
		why = "a RANDRr shorter than 16 bytes";
	} else if ((f & MIKEY_TPF_G) == 0 && rr) {
		why = "a RANDRr, which the ticket's G = 0 forbids";
	} else if ((f & MIKEY_TPF_M) == 0 && mikey_msg_kemac(&r->tr_msg) != NULL) {
		why = "a KEMAC (Responder-supplied keys), which the ticket's M = 0 "
		      "forbids";
	}
	if (why != NULL) {
		fprintf(stderr, "%s: --tr: TRANSFER_RESP with %s (RFC 6043 6.10)\n",
			ue_prog, why);
		return KMS_EPAYLOAD;
	}
	return KMS_EOK;
}

/* The Responder's TGK from the KEMAC of the verified TRANSFER_RESP (keys
 * as for its V), kept with its SPI; the HDR must name that SPI. */
static int take_resp_keys(run_t *r, const uint8_t *mpk, size_t mpk_len,
			  const mikey_bytes_t *rr)
{
	const mikey_msg_t *m = &r->tr_msg;
	const mikey_rand_t *ri = mikey_msg_randr(&r->ti, MIKEY_RAND_I);
	const mikey_bytes_t *hspi = &m->hdr.map.generic[0].spi;
	mikey_keys_t keys;
	uint64_t t64 = 0;
	size_t plen = 0;
	int rc = mikey_profile_kemac_ts(m, &t64);
	if (rc == KMS_EOK) {
		rc = mikey_kemac_open(NULL, m->hdr.prf, mikey_msg_kemac(m), mpk, mpk_len,
				      m->hdr.csb_id, MIKEY_DIR_RESP, &ri->rand, rr, t64,
				      r->plain, sizeof(r->plain), &plen, &keys);
	}
	const mikey_keydata_t *k = &keys.k[0];
	if (rc == KMS_EOK &&
	    (keys.n != 1 || k->type != MIKEY_KEY_TGK || k->key.len != r->su.key_len ||
	     k->kv != MIKEY_KV_SPI || k->spi.len == 0 || k->spi.len != hspi->len ||
	     memcmp(k->spi.data, hspi->data, hspi->len) != 0)) {
		fprintf(stderr,
			"%s: --tr: the KEMAC must hold one TGK of %zu bytes whose SPI "
			"the HDR names\n",
			ue_prog, r->su.key_len);
		rc = KMS_EPAYLOAD;
	} else if (rc == KMS_EOK) {
		rc = ue_state_set(r->st, "tgk_resp", k->key.data, k->key.len);
		if (rc == KMS_EOK) {
			rc = ue_state_set(r->st, "tgk_resp_spi", k->spi.data, k->spi.len);
		}
	} else {
		ue_fail("--tr: KEMAC", rc);
	}
	secmem_wipe(&keys, sizeof(keys));
	secmem_wipe(r->plain, sizeof(r->plain));
	return rc;
}

/* Check the TRANSFER_RESP and keep MPKr', TGK' (Initiator). */
static int take_transfer_resp(run_t *r)
{
	uint8_t mpkr_f[MIKEY_KEY_MAX], tgk_f[MIKEY_KEY_MAX], key[MIKEY_MAC_MAX];
	size_t len = 0, klen = 0;
	int ret = ue_load_msg(r->tr, r->tr_buf, sizeof(r->tr_buf), &len, &r->tr_msg);
	if (ret != UE_EXIT_OK) {
		return ret;
	}
	ret = UE_EXIT_INVALID;
	const mikey_msg_t *m = &r->tr_msg;
	const mikey_bytes_t *mpki = ue_state_get(r->st, "mpki");
	const mikey_bytes_t *mpkr = ue_state_get(r->st, "mpkr");
	const mikey_bytes_t *tgk = ue_state_get(r->st, "tgk");
	const mikey_bytes_t *spi = ue_state_get(r->st, "tgk_spi");
	const mikey_rand_t *ri = mikey_msg_randr(&r->ti, MIKEY_RAND_I);
	const mikey_v_t *v = mikey_msg_v(&r->ti);
	if (mpki == NULL || tgk == NULL || spi == NULL) {
		fprintf(stderr, "%s: --state: no keys (run kms-ue transfer-init)\n",
			ue_prog);
		return UE_EXIT_USAGE;
	}
	if (m->hdr.data_type == MIKEY_DT_ERROR) {
		report_error(r, m, mpki);
		return ret;
	}
	if (m->hdr.data_type != MIKEY_DT_TRANSFER_RESP ||
	    m->hdr.csb_id != r->ti.hdr.csb_id || m->hdr.prf != r->ti.hdr.prf ||
	    mikey_msg_v(m)->alg != v->alg) {
		fprintf(stderr,
			"%s: --tr: a %s with CSB ID %08x, expected the TRANSFER_RESP to "
			"our TRANSFER_INIT (CSB ID %08x, same PRF and Auth alg)\n",
			ue_prog, mikey_dt_name(m->hdr.data_type), m->hdr.csb_id,
			r->ti.hdr.csb_id);
		return ret;
	}
	int rc = check_gm(r);
	if (rc != KMS_EOK) {
		goto cleanup;
	}
	const mikey_rand_t *rrp = mikey_msg_randr(m, MIKEY_RAND_R);
	const mikey_bytes_t *rr = rrp != NULL ? &rrp->rand : NULL;
	if (r->fork) {
		rc = fork_keys(r, mpkr_f, tgk_f);
		if (rc == KMS_ENOENT) {
			ret = UE_EXIT_USAGE;
			goto cleanup;
		}
		if (rc == KMS_EPAYLOAD) {
			goto cleanup;
		}
	}
	/* V: MPKr' with forking, MPKi without (RFC 6043 4.2.2.3). */
	const uint8_t *mk = r->fork ? mpkr_f : mpki->data;
	size_t mkl = r->fork ? mpkr->len : mpki->len;
	if (rc == KMS_EOK) {
		rc = ue_auth_key(r->ti.hdr.prf, mk, mkl, r->ti.hdr.csb_id, MIKEY_DIR_RESP,
				 &ri->rand, rr, v->alg, key, &klen);
	}
	mikey_bytes_t init = { r->ti.buf, r->ti.len };
	if (rc == KMS_EOK) {
		rc = mikey_mac_verify(m, key, klen, &init, 1);
	}
	if (rc != KMS_EOK) {
		ue_fail(r->fork ? "--tr: V with MPKr' (not from a responder the KMS "
				  "resolved for, or altered)"
				: "--tr: V with MPKi (not from a responder the KMS "
				  "resolved for, or altered)",
			rc);
		goto cleanup;
	}
	/* The crypto session answered is ours, with our TGK's SPI if filled in
	 * (or the Responder's TGK's, checked with its KEMAC). */
	const mikey_generic_cs_t *a = &m->hdr.map.generic[0],
				 *b = &r->ti.hdr.map.generic[0];
	bool resp_keys = mikey_msg_kemac(m) != NULL;
	if (m->hdr.ncs != 1 || m->hdr.map_type != MIKEY_MAP_GENERIC_ID ||
	    a->cs_id != b->cs_id ||
	    (!resp_keys && a->spi.len != 0 &&
	     (a->spi.len != spi->len || memcmp(a->spi.data, spi->data, spi->len) != 0))) {
		fprintf(stderr, "%s: --tr: crypto session or SPI differ from ours\n",
			ue_prog);
		goto cleanup;
	}
	ue_state_del(r->st, "randrr_tr");
	ue_state_del(r->st, "tgk_resp");
	ue_state_del(r->st, "tgk_resp_spi");
	if (resp_keys && take_resp_keys(r, mk, mkl, rr) != KMS_EOK) {
		goto cleanup;
	}
	rc = ue_state_set(r->st, "transfer_resp", r->tr_buf, len);
	if (rc == KMS_EOK && rr != NULL) {
		rc = ue_state_set(r->st, "randrr_tr", rr->data, rr->len);
	}
	if (rc == KMS_EOK && r->fork) {
		rc = ue_state_set(r->st, "mpkr_fork", mpkr_f, mpkr->len);
	}
	if (rc == KMS_EOK && r->fork) {
		rc = ue_state_set(r->st, "tgk_fork", tgk_f, tgk->len);
	}
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
		ret = UE_EXIT_USAGE;
		goto cleanup;
	}
	ret = ue_state_write(r->st, r->state);
cleanup:
	secmem_wipe(mpkr_f, sizeof(mpkr_f));
	secmem_wipe(tgk_f, sizeof(tgk_f));
	secmem_wipe(key, sizeof(key));
	return ret;
}

/*
 * TEK and salt from the session's TGK: the Responder's (M = 1, when it sent
 * one), else TGK' (forking) or the ticket's TGK.  RANDRi enters the label iff
 * H, RANDRr iff G (RFC 6043 5.1.3).
 */
static int derive(run_t *r, ue_srtp_keys_t *k)
{
	bool resp = ue_state_get(r->st, "tgk_resp") != NULL;
	const mikey_bytes_t *tgk = ue_state_get(r->st, resp	 ? "tgk_resp"
						       : r->fork ? "tgk_fork"
								 : "tgk");
	const mikey_bytes_t *rr = ue_state_get(r->st, "randrr_tr");
	const mikey_rand_t *ri = mikey_msg_randr(&r->ti, MIKEY_RAND_I);
	uint16_t flags = r->ti.ticket.policy.flags;
	if ((flags & MIKEY_TPF_G) != 0 && rr == NULL) {
		fprintf(stderr, "%s: --state: no RANDRr yet (G = 1: %s)\n", ue_prog,
			ue_state_is(r->st, "role", "initiator")
			    ? "give the TRANSFER_RESP with --tr"
			    : "run kms-ue transfer-resp");
		return UE_EXIT_USAGE;
	}
	k->cs_id = r->ti.hdr.map.generic[0].cs_id;
	k->key_len = r->su.key_len;
	int rc = mikey_kdf_srtp_master(NULL, r->su.prf, tgk->data, tgk->len, k->cs_id,
				       flags, &ri->rand, rr, k->key, k->key_len, k->salt);
	if (rc != KMS_EOK) {
		ue_fail("TEK derivation", rc);
		secmem_wipe(k, sizeof(*k));
		return UE_EXIT_INVALID;
	}
	return UE_EXIT_OK;
}

/* The keys as JSON on stdout. */
static int print_keys(run_t *r)
{
	ue_srtp_keys_t k;
	char tek_hex[2 * MIKEY_KEY_MAX + 1], salt_hex[2 * UE_SRTP_SALT_LEN + 1];
	char spi_hex[2 * MIKEY_SPI_MAX + 1];
	bool resp = ue_state_get(r->st, "tgk_resp") != NULL;
	const mikey_bytes_t *spi = ue_state_get(r->st, resp ? "tgk_resp_spi" : "tgk_spi");
	if (spi == NULL || spi->len > MIKEY_SPI_MAX) {
		fprintf(stderr, "%s: --state: no TGK SPI\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	int ret = derive(r, &k);
	if (ret != UE_EXIT_OK) {
		return ret;
	}
	hex_encode(k.key, k.key_len, tek_hex, sizeof(tek_hex));
	hex_encode(k.salt, sizeof(k.salt), salt_hex, sizeof(salt_hex));
	hex_encode(spi->data, spi->len, spi_hex, sizeof(spi_hex));
	ret = UE_EXIT_USAGE;
	if (printf("{\"srtp_master_key\": \"%s\", \"srtp_master_salt\": \"%s\", "
		   "\"cs_id\": %u, \"spi\": \"%s\"}\n",
		   tek_hex, salt_hex, (unsigned)k.cs_id, spi_hex) > 0 &&
	    fflush(stdout) == 0) {
		ret = UE_EXIT_OK;
	}
	secmem_wipe(&k, sizeof(k));
	secmem_wipe(tek_hex, sizeof(tek_hex));
	secmem_wipe(salt_hex, sizeof(salt_hex));
	return ret;
}

/* Everything but the output: the TRANSFER_RESP taken, the keys ready. */
static int keys_ready(run_t *r)
{
	int ret = ue_state_open(r->state, NULL, &r->st);
	if (ret != UE_EXIT_OK) {
		goto cleanup;
	}
	ret = UE_EXIT_USAGE;
	bool initiator = ue_state_is(r->st, "role", "initiator");
	const mikey_bytes_t *prf = ue_state_get(r->st, "prf");
	if (prf == NULL || prf->len != 1 || ue_suite_of_prf(prf->data[0], &r->su) != 0 ||
	    ue_state_msg(r->st, "transfer_init", &r->ti) != KMS_EOK ||
	    r->ti.hdr.ncs != 1 || r->ti.hdr.map_type != MIKEY_MAP_GENERIC_ID) {
		fprintf(stderr, "%s: --state: no usable TRANSFER_INIT yet\n", ue_prog);
		goto cleanup;
	}
	if (r->tr != NULL && !initiator) {
		fprintf(stderr, "%s: --tr is for the Initiator's state\n", ue_prog);
		goto cleanup;
	}
	r->fork = (r->ti.ticket.policy.flags & MIKEY_TPF_I) != 0;
	bool with_tr = (r->ti.ticket.policy.flags & MIKEY_TPF_F) != 0;
	if (r->tr != NULL) {
		ret = take_transfer_resp(r);
		if (ret != UE_EXIT_OK) {
			goto cleanup;
		}
		ret = UE_EXIT_USAGE;
	}
	/* Keys only after the peer proved itself: TGK' with forking; without
	 * it the Initiator waits for a TRANSFER_RESP unless F = 0. */
	bool ready = r->fork ? ue_state_get(r->st, "tgk_fork") != NULL
		     : initiator
			 ? !with_tr || ue_state_get(r->st, "transfer_resp") != NULL
			 : ue_state_get(r->st, "tgk") != NULL;
	if (!ready || ue_state_get(r->st, r->fork ? "tgk_fork" : "tgk") == NULL) {
		fprintf(stderr, "%s: --state: no %s yet (%s)\n", ue_prog,
			r->fork ? "TGK'" : "TGK",
			initiator ? "give the TRANSFER_RESP with --tr"
				  : "run kms-ue transfer-resp");
		goto cleanup;
	}
	ret = UE_EXIT_OK;
cleanup:
	return ret;
}

int ue_keys_cmd(int argc, char **argv)
{
	run_t *r = calloc(1, sizeof(*r));
	int ret = UE_EXIT_USAGE;
	if (r == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	int pa = parse_args(argc, argv, r);
	if (pa != 0) {
		ret = pa > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
	} else {
		ret = keys_ready(r);
	}
	if (pa == 0 && ret == UE_EXIT_OK) {
		ret = print_keys(r);
	}
	ue_state_free(r->st);
	secmem_wipe(r, sizeof(*r));
	free(r);
	return ret;
}

int ue_keys_derive(const char *state, const char *tr, ue_srtp_keys_t *out)
{
	run_t *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	r->state = state;
	r->tr = tr;
	int ret = keys_ready(r);
	if (ret == UE_EXIT_OK) {
		ret = derive(r, out);
	}
	ue_state_free(r->st);
	secmem_wipe(r, sizeof(*r));
	free(r);
	return ret;
}
