/*
 * kms-ue create-ticket (RFC 6043 mode 3, flag D = 0): the Initiator builds
 * a MIKEY base ticket (Type 1, Appendix A) itself under a ticket
 * protection key (TPK) its KMS provisioned (kmsctl tpk add), instead of
 * asking the KMS for one.  The format is mikey/ticket_base.c's, shared
 * with the KMS.
 *
 * Policy: D = 0, L = 1 (NOT D => L), E, F, H, I (unless --no-fork), J with
 * --reuse; IDRkms the KMS that holds the TPK, IDRi the TPK's owner, TRs =
 * now, TRe = now + --lifetime, IDRr the --to identities.  The keys (MPKi,
 * MPKr, TGK) and the ticket go into the state file the way kms-ue request
 * and transfer-init leave them, so that transfer-init (without --resp),
 * keys and transfer-resp work unchanged: the ticket is kept in a
 * REQUEST_RESP-shaped entry (its KEMAC empty, its V zero; never sent).
 */
#include "tools/ue_create.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "mikey/ticket_base.h"
#include "tools/ue_common.h"

#define TPK_FILE_MAX 1024
#define LIFETIME_MAX (10u * 365 * 24 * 3600)
#define LIFETIME_DEFAULT 3600u
#define TO_MAX MIKEY_IDRR_MAX

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kms-ue create-ticket --tpk-file FILE --id ID --to ID [--to ID ...]\n"
	    "                            --state FILE [--kms-id ID] [--uri]\n"
	    "                            [--lifetime SECONDS] [--reuse] [--no-fork]\n"
	    "                            [--responder-rand] [--responder-keys]\n"
	    "                            [--suite 128|256]\n"
	    "\n"
	    "Build a ticket yourself (flag D = 0, a MIKEY base ticket) under the\n"
	    "ticket protection key of --tpk-file (from kmsctl tpk add; it names\n"
	    "its owner, who must be --id), with fresh session keys, into a new\n"
	    "state file.  Then run kms-ue transfer-init --state FILE --out FILE\n"
	    "(no --resp) for the TRANSFER_INIT.  The Responder's KMS resolves the\n"
	    "ticket only where its policy allows tickets built by Initiators.\n"
	    "\n"
	    "  --tpk-file FILE    the key file (mode 0600)\n"
	    "  --id ID            your identity (IDRi), the key's owner\n"
	    "  --to ID            a responder allowed to resolve the ticket (IDRr);\n"
	    "                     repeat for several; the first is the peer\n"
	    "  --kms-id ID        the KMS that holds the key (IDRkms), default %s\n"
	    "  --uri              identities as ID Type URI (see kms-ue request)\n"
	    "  --lifetime SECONDS validity from now (TRs..TRe), default %u\n"
	    "  --reuse            a reusable ticket (flag J)\n"
	    "  --no-fork          no key forking (flag I clear)\n"
	    "  --responder-rand   the Responder generates RANDRr (flag G)\n"
	    "  --responder-keys   the Responder may supply session keys (flag M)\n"
	    "  --suite 128|256    the algorithm set, as for kms-ue request\n"
	    "  --state FILE       state file to create (mode 0600; holds secrets)\n"
	    "  -h, --help         this text\n"
	    "\n"
	    "Exit: 0 written, 1 the ticket cannot be built, 2 usage or file error.\n",
	    UE_KMS_ID_DEFAULT, LIFETIME_DEFAULT);
}

typedef struct {
	ue_opts_t o;
	const char *tpk_file;
	const char *to[TO_MAX];
	ue_id_t tow[TO_MAX];
	size_t nto;
	bool reuse, no_fork, resp_rand, resp_keys;
	uint32_t lifetime;
	int suite_bits;
} args_t;

static const char *const suite_words[] = { "128", "256", NULL };
static const int suite_values[] = { 128, 256 };

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		{ UE_STRING("tpk-file", 0, &a->tpk_file), .required = true },
		{ UE_STRING("id", 0, &a->o.id), .required = true },
		{ UE_STRING("kms-id", 0, &a->o.kms_id) },
		{ UE_FLAG("uri", 0, &a->o.uri) },
		{ UE_STRING("state", 0, &a->o.state), .required = true },
		{ UE_LIST("to", 0, a->to, &a->nto, TO_MAX), .required = true,
		  .check = ue_check_id },
		{ UE_FLAG("reuse", 0, &a->reuse) },
		{ UE_FLAG("no-fork", 0, &a->no_fork) },
		{ UE_FLAG("responder-rand", 0, &a->resp_rand) },
		{ UE_FLAG("responder-keys", 0, &a->resp_keys) },
		{ UE_U32("lifetime", 0, &a->lifetime, 1, LIFETIME_MAX, "seconds") },
		{ UE_CHOICE("suite", 0, &a->suite_bits, suite_words, suite_values,
			    "128 or 256") },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	a->suite_bits = 128;
	a->lifetime = LIFETIME_DEFAULT;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	if (ue_opts_ids(&a->o) != 0) {
		return -1;
	}
	for (size_t i = 0; i < a->nto; i++) {
		if (ue_id_wire("--to", a->to[i], a->o.uri, &a->tow[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

/* The key file: "kms-tpk 1", "id N", "owner IDENTITY", "key HEX". */
typedef struct {
	uint32_t id;
	char owner[MIKEY_ID_MAX + 1];
	uint8_t key[MIKEY_TPK_LEN];
} tpk_t;

static int parse_tpk(char *text, tpk_t *k)
{
	char *save = NULL, hex[2 * MIKEY_TPK_LEN + 1];
	unsigned long id = 0;
	int seen = 0;
	size_t n = 0;
	char *line = strtok_r(text, "\n", &save);
	if (line == NULL || strcmp(line, "kms-tpk 1") != 0) {
		return KMS_EMALFORMED;
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (sscanf(line, "id %10lu", &id) == 1 && id > 0 && id <= UINT32_MAX) {
			k->id = (uint32_t)id;
			seen |= 1;
		} else if (strncmp(line, "owner ", 6) == 0 &&
			   strlen(line + 6) < sizeof(k->owner)) {
			strcpy(k->owner, line + 6);
			seen |= 2;
		} else if (strncmp(line, "key ", 4) == 0 &&
			   strlen(line + 4) == sizeof(hex) - 1 &&
			   hex_decode(line + 4, sizeof(hex) - 1, k->key, sizeof(k->key),
				      &n) == KMS_EOK &&
			   n == MIKEY_TPK_LEN) {
			seen |= 4;
		} else {
			return KMS_EMALFORMED;
		}
	}
	secmem_wipe(hex, sizeof(hex));
	return seen == 7 ? KMS_EOK : KMS_EMALFORMED;
}

static int load_tpk(const char *path, tpk_t *k)
{
	char *text = NULL;
	size_t len = 0;
	int ret = secret_file_read(path, SECRET_FILE_PRIVATE, TPK_FILE_MAX, &text, &len);
	if (ret == KMS_EOK) {
		ret = parse_tpk(text, k);
		secret_file_free(text, TPK_FILE_MAX);
	}
	if (ret != KMS_EOK) {
		fprintf(stderr, "%s: --tpk-file %s: %s\n", ue_prog, path,
			ret == KMS_EMALFORMED ? "not a kmsctl tpk key file"
					      : kms_strerror(ret));
	}
	return ret;
}

static mikey_id_t idr(uint8_t role, const ue_id_t *id)
{
	return (mikey_id_t){ role, id->type, { (const uint8_t *)id->data, id->len } };
}

/* The ticket's policy (RFC 6043 6.10) with D = 0. */
static void make_policy(const args_t *a, const ue_suite_t *su, int64_t now,
			mikey_tp_t *tp)
{
	memset(tp, 0, sizeof(*tp));
	tp->ticket_type = 1;
	tp->subtype = 1;
	tp->version = 1;
	tp->prf = su->prf;
	/* D = 0: built by the Initiator; NOT D => L; I => E. */
	tp->flags = MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_L;
	tp->flags |= a->no_fork ? 0 : MIKEY_TPF_I;
	tp->flags |= a->reuse ? MIKEY_TPF_J : 0;
	tp->flags |= a->resp_rand ? MIKEY_TPF_G : 0; /* G => F: F is set */
	tp->flags |= a->resp_keys ? MIKEY_TPF_M : 0; /* M => F */
	tp->has_idrkms = true;
	tp->idrkms = idr(MIKEY_ROLE_KMS, &a->o.kmsw);
	tp->has_idri = true;
	tp->idri = idr(MIKEY_ROLE_I, &a->o.idw);
	tp->has_trs = true;
	tp->trs =
	    (mikey_ts_t){ MIKEY_TR_START, MIKEY_TS_NTP_UTC, mikey_ntp_from_unix(now, 0) };
	tp->has_tre = true;
	tp->tre = (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC,
				mikey_ntp_from_unix(now + (int64_t)a->lifetime, 0) };
	for (size_t i = 0; i < a->nto; i++) {
		tp->idrr[i] = idr(MIKEY_ROLE_R, &a->tow[i]);
	}
	tp->nidrr = a->nto;
}

/* Everything one run holds; on the heap, wiped at the end. */
typedef struct {
	args_t a;
	tpk_t tpk;
	ue_suite_t su;
	mikey_ticket_t t;
	mikey_keys_t keys;
	mikey_tb_scratch_t s;
	mikey_msg_t m;
	uint8_t aadbuf[MIKEY_MSG_MAX];
	uint8_t data[MIKEY_TICKET_DATA_MAX];
	uint8_t req[MIKEY_MSG_MAX], resp[MIKEY_MSG_MAX];
	size_t req_len, resp_len;
} run_t;

/* The ticket: policy, then Ticket Data under the TPK. */
static int build_ticket(run_t *r, int64_t now)
{
	mikey_bytes_t aad;
	size_t len = 0;
	make_policy(&r->a, &r->su, now, &r->t.policy);
	int rc = mikey_tb_aad_build(&r->t.policy, r->aadbuf, sizeof(r->aadbuf), &aad);
	if (rc == KMS_EOK) {
		rc = mikey_tb_build(r->tpk.key, r->tpk.id, &r->t.policy, &aad, now, &r->s,
				    &r->keys, r->data, sizeof(r->data), &len);
	}
	if (rc == KMS_EOK) {
		r->t.ticket_data = (mikey_bytes_t){ r->data, len };
	}
	return rc;
}

/* request_init (the TP as asked) and request_resp (the TICKET) as kept by
 * kms-ue request / transfer-init; neither is ever sent. */
static int build_records(run_t *r)
{
	uint8_t rnd[MIKEY_RAND_MAX];
	mikey_kemac_t empty = {
		MIKEY_ENCR_NULL, { NULL, 0 }, MIKEY_MAC_NULL, { NULL, 0 }
	};
	int rc = crypto_random(rnd, r->su.rand_len);
	mikey_msg_init(&r->m, MIKEY_DT_REQUEST_INIT_PSK, 0, r->su.prf);
	(void)mikey_msg_add_ts(&r->m, 0, MIKEY_TS_NTP_UTC, ue_ntp_now());
	(void)mikey_msg_add_rand(&r->m, MIKEY_RAND_I, rnd, r->su.rand_len);
	(void)mikey_msg_add_id(&r->m, MIKEY_ROLE_I, r->a.o.idw.type,
			       (const uint8_t *)r->a.o.idw.data, r->a.o.idw.len);
	(void)mikey_msg_add_ticket(&r->m, &r->t, false);
	(void)mikey_msg_add_v(&r->m, r->su.mac_alg);
	if (rc == KMS_EOK) { /* the first error of the adds sticks */
		rc = mikey_msg_build(&r->m, r->req, sizeof(r->req), &r->req_len);
	}
	mikey_msg_init(&r->m, MIKEY_DT_REQUEST_RESP, 0, r->su.prf);
	(void)mikey_msg_add_ts(&r->m, 0, MIKEY_TS_NTP_UTC, ue_ntp_now());
	(void)mikey_msg_add_id(&r->m, MIKEY_ROLE_KMS, r->a.o.kmsw.type,
			       (const uint8_t *)r->a.o.kmsw.data, r->a.o.kmsw.len);
	(void)mikey_msg_add_ticket(&r->m, &r->t, true);
	(void)mikey_msg_add_kemac(&r->m, &empty);
	(void)mikey_msg_add_v(&r->m, r->su.mac_alg);
	if (rc == KMS_EOK) {
		rc = mikey_msg_build(&r->m, r->resp, sizeof(r->resp), &r->resp_len);
	}
	/* What transfer-init will read back must parse. */
	if (rc == KMS_EOK) {
		rc = mikey_msg_parse(r->req, r->req_len, &r->m);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_parse(r->resp, r->resp_len, &r->m);
	}
	return rc;
}

/* The state kms-ue request and transfer-init would have left. */
static int keep_state(run_t *r, ue_state_t *st)
{
	const args_t *a = &r->a;
	const mikey_keydata_t *k = r->keys.k;
	int rc = ue_state_keep_initiator(st, &a->o, &a->tow[0], 1, r->su.prf);
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "ticket_by", "initiator");
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "request_init", r->req, r->req_len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "request_resp", r->resp, r->resp_len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "mpki", k[0].key.data, k[0].key.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "mpkr", k[1].key.data, k[1].key.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "tgk", k[2].key.data, k[2].key.len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "tgk_spi", k[2].spi.data, k[2].spi.len);
	}
	return rc;
}

/* The identity the key file names must be --id (the KMS checks it too). */
static int check_owner(const run_t *r)
{
	const char *id = r->a.o.idw.data;
	size_t len = r->a.o.idw.len;
	if (!ue_id_same_user((const uint8_t *)id, len, (const uint8_t *)r->tpk.owner,
			     strlen(r->tpk.owner))) {
		fprintf(stderr, "%s: the key of --tpk-file belongs to %s, not %s\n",
			ue_prog, r->tpk.owner, id);
		return -1;
	}
	return 0;
}

int ue_create_ticket_cmd(int argc, char **argv)
{
	run_t *r = calloc(1, sizeof(*r));
	ue_state_t *st = ue_state_new();
	int ret = UE_EXIT_USAGE;
	if (r == NULL || st == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		goto cleanup;
	}
	ue_opts_init(&r->a.o);
	int pa = parse_args(argc, argv, &r->a);
	if (pa != 0) {
		ret = pa > 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
		goto cleanup;
	}
	if (load_tpk(r->a.tpk_file, &r->tpk) != KMS_EOK || check_owner(r) != 0) {
		goto cleanup;
	}
	ue_suite_of_prf(r->a.suite_bits == 256 ? MIKEY_PRF_HMAC_SHA256 : MIKEY_PRF_MIKEY1,
			&r->su);
	int rc = build_ticket(r, ue_unix_now());
	if (rc == KMS_EOK) {
		rc = build_records(r);
	}
	if (rc != KMS_EOK) {
		ue_fail("building the ticket", rc);
		ret = UE_EXIT_INVALID;
		goto cleanup;
	}
	rc = keep_state(r, st);
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
		goto cleanup;
	}
	ret = ue_state_write(st, r->a.o.state);
cleanup:
	if (r != NULL) {
		ue_opts_wipe(&r->a.o);
		secmem_wipe(r, sizeof(*r));
	}
	free(r);
	ue_state_free(st);
	return ret;
}
