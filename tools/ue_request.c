/*
 * kms-ue request: REQUEST_INIT_PSK = HDR, T, RANDRi, IDRi, [IDRkms], TP,
 * [IDRpsk], V (RFC 6043 4.2.1), MAC over REQUEST_INIT || IDi || IDkms with
 * the auth_key from the PSK (direction 0x01, RANDRi).  The message and
 * what the next step needs go to --out and --state.
 */
#include "tools/ue_request.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "tools/ue_common.h"

/* Ticket Types: the MIKEY base ticket, the 3GPP base ticket, and the
 * private type of this project's KMS (kms/ticket.h KMS_TICKET_*). */
#define TICKET_TYPE_MIKEY 1u
#define TICKET_TYPE_3GPP 2u
#define TICKET_TYPE_PRIVATE 0xF000u
#define TICKET_SUBTYPE 0x01u
#define TICKET_VERSION 0x01u
#define LIFETIME_MAX (10u * 365 * 24 * 3600) /* ten years */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kms-ue request (--psk HEX | --psk-file FILE | --gba FILE)\n"
	    "                      --id ID --to ID [--to ID ...] --out FILE\n"
	    "                      --state FILE [--kms-id ID] [--psk-id ID] [--reuse]\n"
	    "                      [--lifetime SECONDS] [--suite 128|256] [--uri]\n"
	    "                      [--ticket-type 1|2|private] [--3gpp] [--no-fork]\n"
	    "                      [--no-kms-id [--mac-without-kms-id]]\n"
	    "\n"
	    "Build a REQUEST_INIT_PSK asking the KMS for a ticket that lets the\n"
	    "--to users resolve it.  POST the --out file to\n"
	    "  http://KMS/kms?requesttype=ticketrequest\n"
	    "(Content-Type: application/mikey) and feed the answer to\n"
	    "kms-ue transfer-init.\n"
	    "\n"
	    "  --psk HEX          pre-shared key shared with the KMS (never printed)\n"
	    "  --psk-file FILE    the same, as hex text in FILE\n"
	    "  --gba FILE         GBA: PSK = Ks_NAF from kms-ue bootstrap, IDRpsk =\n"
	    "                     its B-TID (ID Type NAI)\n"
	    "  --id ID            your identity (IDRi), e.g. alice@example.org or\n"
	    "                     sip:alice@example.org\n"
	    "  --to ID            a responder allowed to resolve the ticket (IDRr),\n"
	    "                     e.g. bob@example.org or sip:*.dept@example.org;\n"
	    "                     repeat for several; the first is the peer\n"
	    "  --kms-id ID        the KMS identity (IDRkms), default %s\n"
	    "  --psk-id ID        send IDRpsk (byte string) naming the PSK; by\n"
	    "                     default the KMS finds the PSK by --id\n"
	    "  --uri              send every identity as ID Type URI, with sip: put\n"
	    "                     in front of a value without a scheme; without it,\n"
	    "                     sip:/sips: values go as URI and others as NAI\n"
	    "  --ticket-type T    ask for Ticket Type 1 (MIKEY base ticket), 2 (3GPP\n"
	    "                     base ticket) or private (0xF000, the default)\n"
	    "  --3gpp             --uri --ticket-type 2 (an explicit --ticket-type\n"
	    "                     wins)\n"
	    "  --no-fork          ask for a ticket without key forking (flag I clear;\n"
	    "                     the KMS may still grant forking)\n"
	    "  --no-kms-id        leave IDRkms out (message and ticket policy); the\n"
	    "                     MAC still appends the --kms-id value (RFC 6043 5.5)\n"
	    "  --mac-without-kms-id  with --no-kms-id: MAC over REQUEST_INIT || IDi\n"
	    "                     only, a deviation some UEs make (testing only)\n"
	    "  --reuse            ask for a reusable ticket (flag J)\n"
	    "  --responder-rand   ask that the Responder generate RANDRr (flag G); it\n"
	    "                     then enters the TRANSFER_RESP and SRTP key\n"
	    "                     derivations\n"
	    "  --no-randri        with --responder-rand: RANDRi left out of the SRTP\n"
	    "                     key derivation (flag H clear)\n"
	    "  --responder-keys   ask that the Responder may supply session keys\n"
	    "                     (flag M); the KMS grants each flag only where its\n"
	    "                     rules allow (else it clears it and sets K)\n"
	    "  --lifetime SECONDS ask for a ticket valid until now + SECONDS (TRe)\n"
	    "  --suite 128|256    128: MIKEY-1 PRF, AES-CM-128, HMAC-SHA-1-160, 16-byte\n"
	    "                     keys and RANDs (default); 256: PRF-HMAC-SHA-256,\n"
	    "                     AES-CM-256, HMAC-SHA-256-256, 32-byte keys and RANDs\n"
	    "  --out FILE         where the binary REQUEST_INIT_PSK goes\n"
	    "  --state FILE       state file to create (mode 0600; holds secrets)\n"
	    "  -h, --help         this text\n"
	    "\n"
	    "Exit: 0 written, 1 the message cannot be built, 2 usage or file error.\n",
	    UE_KMS_ID_DEFAULT);
}

#define TO_MAX MIKEY_IDRR_MAX

typedef struct {
	ue_opts_t o;
	const char *to[TO_MAX];
	ue_id_t tow[TO_MAX]; /* the --to values as sent */
	size_t nto;
	bool reuse;
	bool no_fork;
	bool resp_rand, no_randri, resp_keys;
	int ticket_type;   /* -1: not given */
	uint32_t lifetime; /* 0: no TRe */
	int suite_bits;
	const char *out;
} args_t;

static const char *const tt_words[] = { "1", "2", "private", NULL };
static const int tt_values[] = { TICKET_TYPE_MIKEY, TICKET_TYPE_3GPP,
				 TICKET_TYPE_PRIVATE };
static const char *const suite_words[] = { "128", "256", NULL };
static const int suite_values[] = { 128, 256 };

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		UE_OPTS_PSK_ROWS(&a->o),
		UE_OPTS_ID_ROWS(&a->o),
		{ UE_STRING("state", 0, &a->o.state), .required = true },
		{ UE_LIST("to", 0, a->to, &a->nto, TO_MAX), .required = true,
		  .check = ue_check_id },
		{ UE_FLAG("reuse", 0, &a->reuse) },
		{ UE_U32("lifetime", 0, &a->lifetime, 1, LIFETIME_MAX, "seconds") },
		{ UE_CHOICE("suite", 0, &a->suite_bits, suite_words, suite_values,
			    "128 or 256") },
		{ UE_STRING("out", 0, &a->out), .required = true },
		{ UE_CHOICE("ticket-type", 0, &a->ticket_type, tt_words, tt_values,
			    "1, 2 or private") },
		{ UE_FLAG("no-fork", 0, &a->no_fork) },
		{ UE_FLAG("responder-rand", 0, &a->resp_rand) },
		{ UE_FLAG("no-randri", 0, &a->no_randri) },
		{ UE_FLAG("responder-keys", 0, &a->resp_keys) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	a->suite_bits = 128;
	a->ticket_type = -1;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	if (ue_opts_ids(&a->o) != 0) {
		return -1;
	}
	if (a->no_randri && !a->resp_rand) {
		/* NOT H => G (RFC 6043 6.10): some RAND must feed the TEK. */
		fprintf(stderr, "%s: --no-randri needs --responder-rand\n", ue_prog);
		return -1;
	}
	for (size_t i = 0; i < a->nto; i++) {
		if (ue_id_wire("--to", a->to[i], a->o.uri, &a->tow[i]) != 0) {
			return -1;
		}
	}
	if (a->ticket_type < 0) {
		a->ticket_type = a->o.gpp ? TICKET_TYPE_3GPP : TICKET_TYPE_PRIVATE;
	}
	return ue_opts_load_psk(&a->o) == 0 ? 0 : -1;
}

static mikey_id_t idr(uint8_t role, const ue_id_t *id)
{
	return (mikey_id_t){ role, id->type, { (const uint8_t *)id->data, id->len } };
}

/* The requested Ticket Policy (RFC 6043 6.10). */
static void make_policy(const args_t *a, const ue_suite_t *su, mikey_ticket_t *t)
{
	mikey_tp_t *tp = &t->policy;
	memset(t, 0, sizeof(*t));
	tp->ticket_type = (uint16_t)a->ticket_type;
	tp->subtype = TICKET_SUBTYPE;
	tp->version = TICKET_VERSION;
	tp->prf = su->prf;
	tp->flags = MIKEY_TPF_E | MIKEY_TPF_F;
	tp->flags |= a->no_randri ? 0 : MIKEY_TPF_H;
	tp->flags |= a->resp_rand ? MIKEY_TPF_G : 0;
	tp->flags |= a->resp_keys ? MIKEY_TPF_M : 0;
	if (!a->no_fork) {
		tp->flags |= MIKEY_TPF_I;
	}
	if (a->reuse) {
		tp->flags |= MIKEY_TPF_J;
	}
	tp->has_idrkms = !a->o.no_kms_id;
	tp->idrkms = idr(MIKEY_ROLE_KMS, &a->o.kmsw);
	tp->has_idri = true;
	tp->idri = idr(MIKEY_ROLE_I, &a->o.idw);
	if (a->lifetime > 0) {
		tp->has_tre = true;
		tp->tre = (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC,
					mikey_ntp_from_unix(
					    ue_unix_now() + (int64_t)a->lifetime, 0) };
	}
	for (size_t i = 0; i < a->nto; i++) {
		tp->idrr[i] = idr(MIKEY_ROLE_R, &a->tow[i]);
	}
	tp->nidrr = a->nto;
}

/* Build and MAC the message into buf. */
static int build(const args_t *a, const ue_suite_t *su, uint32_t csb,
		 const uint8_t *randri, uint8_t *buf, size_t cap, size_t *len)
{
	mikey_msg_t *m = malloc(sizeof(*m));
	mikey_ticket_t *tp = malloc(sizeof(*tp));
	uint8_t key[MIKEY_MAC_MAX];
	size_t klen = 0;
	mikey_bytes_t ids[2];
	int nids = 0;
	int rc = KMS_ENOMEM;
	if (m == NULL || tp == NULL) {
		goto cleanup;
	}
	make_policy(a, su, tp);
	mikey_msg_init(m, MIKEY_DT_REQUEST_INIT_PSK, csb, su->prf);
	rc = mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, ue_ntp_now());
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_rand(m, MIKEY_RAND_I, randri, su->rand_len);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_I, a->o.idw.type,
				      (const uint8_t *)a->o.idw.data, a->o.idw.len);
	}
	if (rc == KMS_EOK && !a->o.no_kms_id) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_KMS, a->o.kmsw.type,
				      (const uint8_t *)a->o.kmsw.data, a->o.kmsw.len);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_ticket(m, tp, false);
	}
	if (rc == KMS_EOK && a->o.psk_id != NULL) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_PSK, a->o.psk_id_type,
				      (const uint8_t *)a->o.psk_id, strlen(a->o.psk_id));
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_v(m, su->mac_alg);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_build(m, buf, cap, len);
	}
	/* The MAC input appends IDi || IDkms (RFC 6043 5.5). */
	if (rc == KMS_EOK) {
		rc = mikey_msg_decode(buf, *len, m);
	}
	if (rc == KMS_EOK) {
		nids = ue_opts_mac_ids(&a->o, m, ids);
		rc = nids < 0 ? nids : KMS_EOK;
	}
	mikey_bytes_t ri = { randri, su->rand_len };
	if (rc == KMS_EOK) {
		rc = ue_auth_key(su->prf, a->o.psk, a->o.psk_len, csb, MIKEY_DIR_INIT,
				 &ri, NULL, su->mac_alg, key, &klen);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_sign(buf, *len, key, klen, ids, (size_t)nids);
	}
cleanup:
	secmem_wipe(key, sizeof(key));
	free(m);
	free(tp);
	return rc;
}

/* What transfer-init needs of the request, into the state. */
static int keep_state(const args_t *a, uint8_t prf, const uint8_t *buf, size_t len,
		      ue_state_t *st)
{
	int rc =
	    ue_state_keep_initiator(st, &a->o, &a->tow[0], (uint16_t)a->ticket_type, prf);
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "request_init", buf, len);
	}
	return rc;
}

int ue_request_cmd(int argc, char **argv)
{
	args_t a;
	ue_suite_t su;
	uint8_t randri[MIKEY_RAND_MAX], csbb[4];
	uint8_t *buf = malloc(MIKEY_MSG_MAX);
	ue_state_t *st = ue_state_new();
	size_t len = 0;
	int ret = UE_EXIT_USAGE;

	memset(&a, 0, sizeof(a));
	ue_opts_init(&a.o);
	if (buf == NULL || st == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		goto cleanup;
	}
	int pa = parse_args(argc, argv, &a);
	if (pa != 0) {
		ret = pa > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
		goto cleanup;
	}
	ue_suite_of_prf(a.suite_bits == 256 ? MIKEY_PRF_HMAC_SHA256 : MIKEY_PRF_MIKEY1,
			&su);
	ue_suite_fit_psk(&su, a.o.psk_len);
	int rc = crypto_random(csbb, sizeof(csbb));
	if (rc == KMS_EOK) {
		rc = crypto_random(randri, su.rand_len);
	}
	if (rc != KMS_EOK) {
		ue_fail("random", rc);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	uint32_t csb = (uint32_t)csbb[0] << 24 | (uint32_t)csbb[1] << 16 |
		       (uint32_t)csbb[2] << 8 | csbb[3];
	rc = build(&a, &su, csb, randri, buf, MIKEY_MSG_MAX, &len);
	if (rc != KMS_EOK) {
		ue_fail("building REQUEST_INIT_PSK", rc);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	rc = keep_state(&a, su.prf, buf, len, st);
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
		goto cleanup;
	}
	if (ue_write_file(a.out, buf, len) != 0) {
		goto cleanup;
	}
	ret = ue_state_write(st, a.o.state);
cleanup:
	ue_opts_wipe(&a.o);
	secmem_wipe(randri, sizeof(randri));
	free(buf);
	ue_state_free(st);
	return ret;
}
