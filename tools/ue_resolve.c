/*
 * kms-ue resolve (the Responder, RFC 6043 4.2.3): RESOLVE_INIT_PSK = HDR
 * (Empty map, #CS 0, new CSB ID), T, RANDRr, IDRr, [IDRkms], TICKET (as
 * received, with the Initiator Data), [IDRpsk], V; MAC over RESOLVE_INIT ||
 * IDr || IDkms with the auth_key from the PSK (direction 0x01, no RANDRi,
 * RANDRr).  A reusable ticket (J) whose keys the state already holds is not
 * resolved again (TS 33.328 6.2.3.7): "cached", exit 3.
 */
#include "tools/ue_resolve.h"

#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "mikey/tp.h"
#include "tools/ue_common.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kms-ue resolve (--psk HEX | --psk-file FILE | --gba FILE)\n"
	    "                      --id ID --in FILE --out FILE --state FILE\n"
	    "                      [--kms-id ID] [--psk-id ID] [--uri] [--3gpp]\n"
	    "                      [--no-kms-id [--mac-without-kms-id]]\n"
	    "\n"
	    "Take a TRANSFER_INIT received from an Initiator (--in) and build the\n"
	    "RESOLVE_INIT_PSK that asks the KMS for the keys in its ticket.  POST\n"
	    "the --out file to http://KMS/kms?requesttype=ticketresolve\n"
	    "(Content-Type: application/mikey) and feed the answer to\n"
	    "kms-ue transfer-resp.  The algorithms follow the ticket's PRF; tickets\n"
	    "with and without key forking (flag I) are handled.\n"
	    "\n"
	    "When the ticket is reusable (flag J) and --state already holds the\n"
	    "keys resolved for this very ticket, nothing is written to --out: the\n"
	    "new TRANSFER_INIT is kept in the state, \"cached\" is printed and the\n"
	    "exit status is 3; run kms-ue transfer-resp without --resp next.\n"
	    "Tickets that are not reusable are resolved every time.\n"
	    "\n"
	    "  --psk HEX        pre-shared key shared with the KMS (never printed)\n"
	    "  --psk-file FILE  the same, as hex text in FILE\n"
	    "  --gba FILE       GBA: PSK = Ks_NAF from kms-ue bootstrap, IDRpsk =\n"
	    "                   its B-TID (ID Type NAI)\n"
	    "  --id ID          your identity (IDRr), e.g. bob@example.org or\n"
	    "                   sip:bob@example.org\n"
	    "  --kms-id ID      the KMS identity (IDRkms), default %s\n"
	    "  --psk-id ID      send IDRpsk (byte string) naming the PSK\n"
	    "  --uri            send IDRr and IDRkms as ID Type URI, with sip: put in\n"
	    "                   front of a value without a scheme; without it,\n"
	    "                   sip:/sips: values go as URI and others as NAI\n"
	    "  --3gpp           the same as --uri here\n"
	    "  --no-kms-id      leave IDRkms out; the MAC still appends the --kms-id\n"
	    "                   value (RFC 6043 5.5)\n"
	    "  --mac-without-kms-id  with --no-kms-id: MAC over RESOLVE_INIT || IDr\n"
	    "                   only, a deviation some UEs make (testing only)\n"
	    "  --in FILE        the TRANSFER_INIT (binary, base64 or SDP form)\n"
	    "  --out FILE       where the binary RESOLVE_INIT_PSK goes\n"
	    "  --state FILE     the Responder's state file (mode 0600; holds secrets)\n"
	    "  -h, --help       this text\n"
	    "\n"
	    "Exit: 0 written, 1 the TRANSFER_INIT is unusable, 2 usage or file\n"
	    "error, 3 cached keys (no request needed).\n",
	    UE_KMS_ID_DEFAULT);
}

typedef struct {
	ue_opts_t o;
	const char *in;
	const char *out;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
	const ue_opt_t opts[] = {
		UE_OPTS_PSK_ROWS(&a->o),
		UE_OPTS_ID_ROWS(&a->o),
		{ UE_STRING("state", 0, &a->o.state), .required = true },
		{ UE_STRING("in", 0, &a->in), .required = true },
		{ UE_STRING("out", 0, &a->out), .required = true },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage, 0, 0 };
	int first = 0;
	int rc = ue_opts_parse(&spec, argc, argv, &first);
	if (rc != UE_OPTS_OK) {
		return rc;
	}
	if (ue_opts_ids(&a->o) != 0) {
		return -1;
	}
	return ue_opts_load_psk(&a->o) == 0 ? 0 : -1;
}

typedef struct {
	args_t a;
	ue_suite_t su;
	mikey_msg_t ti, m;
	uint8_t ti_buf[MIKEY_MSG_MAX];
	size_t ti_len;
	uint8_t out[MIKEY_MSG_MAX];
	uint8_t hash[32];
} run_t;

/* What the Responder checks before contacting the KMS (RFC 6043 5.2.3). */
static int check_transfer_init(run_t *r)
{
	const mikey_msg_t *ti = &r->ti;
	if (ti->hdr.data_type != MIKEY_DT_TRANSFER_INIT) {
		fprintf(stderr, "%s: --in: a %s, expected TRANSFER_INIT\n", ue_prog,
			mikey_dt_name(ti->hdr.data_type));
		return -1;
	}
	const mikey_tp_t *tp = &ti->ticket.policy;
	if (ue_suite_of_prf(tp->prf, &r->su) != KMS_EOK || tp->prf != ti->hdr.prf) {
		fprintf(stderr, "%s: --in: ticket PRF %u differs from the HDR's PRF %u\n",
			ue_prog, (unsigned)tp->prf, (unsigned)ti->hdr.prf);
		return -1;
	}
	if (mikey_tp_check_flags(tp->flags, true) != KMS_EOK) {
		char fl[13];
		mikey_tp_flags_str(tp->flags, fl);
		fprintf(stderr,
			"%s: --in: ticket flags %s break the RFC 6043 6.10 "
			"dependencies\n",
			ue_prog, fl);
		return -1;
	}
	if (ti->hdr.ncs != 1 || ti->hdr.map_type != MIKEY_MAP_GENERIC_ID) {
		fprintf(stderr, "%s: --in: expected one GENERIC-ID crypto session\n",
			ue_prog);
		return -1;
	}
	int64_t end = 0;
	if (tp->has_tre && mikey_ts_to_unix(&tp->tre, &end) == KMS_EOK &&
	    end < ue_unix_now()) {
		fprintf(stderr, "%s: --in: the ticket expired (TRe is in the past)\n",
			ue_prog);
		return -1;
	}
	/* The KMS writes responders as KMS user identities (alice@example.org
	 * for sip:alice@example.org): compare in that form. */
	bool listed = false;
	const ue_id_t *me = &r->a.o.idw;
	for (size_t i = 0; i < tp->nidrr; i++) {
		listed |= ue_id_same_user(tp->idrr[i].id.data, tp->idrr[i].id.len,
					  (const uint8_t *)me->data, me->len);
	}
	if (!listed) {
		fprintf(stderr,
			"%s: note: --id is not among the ticket's responders as such; "
			"the KMS decides (groups, wildcards, other identities)\n",
			ue_prog);
	}
	return 0;
}

/*
 * Reusable ticket already resolved into this state: keep the new
 * TRANSFER_INIT there and report the cache hit.  1 on a hit, 0 on a miss,
 * -1 on error (message printed).
 */
static int try_cache(run_t *r)
{
	ue_state_t *st = NULL;
	if ((r->ti.ticket.policy.flags & MIKEY_TPF_J) == 0) {
		return 0; /* TS 33.328 6.2.3.7: resolve non-reusable tickets every time */
	}
	size_t line = 0;
	int rc = ue_state_load(r->a.o.state, &st, &line);
	if (rc == KMS_ENOENT) {
		return 0;
	}
	if (rc != KMS_EOK) {
		/* Let the full message come from the common loader. */
		if (ue_state_open(r->a.o.state, NULL, &st) != UE_EXIT_OK) {
			return -1;
		}
		ue_state_free(st);
		return 0;
	}
	const mikey_bytes_t *h = ue_state_get(st, "ticket_hash");
	const mikey_bytes_t *c = ue_state_get(st, "cacheable");
	const mikey_bytes_t *id = ue_state_get(st, "id");
	const ue_id_t *me = &r->a.o.idw;
	/* The TGK the transfer-resp kept: forked (I = 1) or as issued. */
	const char *tgk =
	    (r->ti.ticket.policy.flags & MIKEY_TPF_I) != 0 ? "tgk_fork" : "tgk";
	int hit = ue_state_is(st, "role", "responder") && h != NULL && h->len == 32 &&
		  memcmp(h->data, r->hash, 32) == 0 && c != NULL && c->len == 1 &&
		  c->data[0] == 1 && ue_state_get(st, tgk) != NULL && id != NULL &&
		  id->len == me->len && memcmp(id->data, me->data, id->len) == 0;
	int ret = 0;
	if (hit) {
		ret = -1;
		rc = ue_state_set(st, "transfer_init", r->ti_buf, r->ti_len);
		if (rc != KMS_EOK) {
			ue_fail("state", rc);
		} else if (ue_state_write(st, r->a.o.state) == UE_EXIT_OK) {
			ret = 1;
		}
	}
	ue_state_free(st);
	return ret;
}

/* RESOLVE_INIT_PSK into r->out. */
static int build(run_t *r, size_t *len)
{
	uint8_t rnd[4 + MIKEY_RAND_MAX], key[MIKEY_MAC_MAX];
	size_t klen = 0;
	mikey_bytes_t ids[2];
	int nids = 0;
	mikey_msg_t *m = &r->m;
	const ue_id_t *id = &r->a.o.idw, *kms = &r->a.o.kmsw;
	const char *pskid = r->a.o.psk_id;
	int rc = crypto_random(rnd, sizeof(rnd));
	if (rc != KMS_EOK) {
		return rc;
	}
	uint32_t csb = (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 |
		       (uint32_t)rnd[2] << 8 | rnd[3];
	mikey_bytes_t randrr = { rnd + 4, r->su.rand_len };
	mikey_msg_init(m, MIKEY_DT_RESOLVE_INIT_PSK, csb, r->su.prf);
	rc = mikey_msg_add_ts(m, 0, MIKEY_TS_NTP_UTC, ue_ntp_now());
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_rand(m, MIKEY_RAND_R, randrr.data, randrr.len);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_R, id->type,
				      (const uint8_t *)id->data, id->len);
	}
	if (rc == KMS_EOK && !r->a.o.no_kms_id) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_KMS, kms->type,
				      (const uint8_t *)kms->data, kms->len);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_ticket(m, &r->ti.ticket, true);
	}
	if (rc == KMS_EOK && pskid != NULL) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_PSK, r->a.o.psk_id_type,
				      (const uint8_t *)pskid, strlen(pskid));
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_v(m, r->su.mac_alg);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_build(m, r->out, sizeof(r->out), len);
	}
	/* The ticket, Initiator Data included, goes to the KMS unchanged. */
	if (rc == KMS_EOK) {
		rc = ue_ticket_same(&r->ti, r->out, *len, true);
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_decode(r->out, *len, m);
	}
	/* The MAC input appends IDr || IDkms (RFC 6043 5.5). */
	if (rc == KMS_EOK) {
		nids = ue_opts_mac_ids(&r->a.o, m, ids);
		rc = nids < 0 ? nids : KMS_EOK;
	}
	if (rc == KMS_EOK) {
		rc =
		    ue_auth_key(r->su.prf, r->a.o.psk, r->a.o.psk_len, csb,
				MIKEY_DIR_INIT, NULL, &randrr, r->su.mac_alg, key, &klen);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_sign(r->out, *len, key, klen, ids, (size_t)nids);
	}
	secmem_wipe(key, sizeof(key));
	secmem_wipe(rnd, sizeof(rnd));
	return rc;
}

static int save(run_t *r, size_t len)
{
	ue_state_t *st = ue_state_new();
	uint8_t prf = r->su.prf;
	int rc = st != NULL ? KMS_EOK : KMS_ENOMEM;
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "role", "responder");
	}
	/* The identities as sent (the KMS identity as appended to the MAC). */
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "id", r->a.o.idw.data);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "id_type", &r->a.o.idw.type, 1);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "kms_id", r->a.o.kmsw.data);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "prf", &prf, 1);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "transfer_init", r->ti_buf, r->ti_len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "resolve_init", r->out, len);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "ticket_hash", r->hash, sizeof(r->hash));
	}
	int ret = UE_EXIT_USAGE;
	if (rc != KMS_EOK) {
		ue_fail("state", rc);
	} else if (ue_write_file(r->a.out, r->out, len) == 0) {
		ret = ue_state_write(st, r->a.o.state);
	}
	ue_state_free(st);
	return ret;
}

int ue_resolve_cmd(int argc, char **argv)
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
	ret = ue_load_msg(r->a.in, r->ti_buf, sizeof(r->ti_buf), &r->ti_len, &r->ti);
	if (ret != UE_EXIT_OK) {
		goto cleanup;
	}
	ret = UE_EXIT_INVALID;
	if (check_transfer_init(r) != 0) {
		goto cleanup;
	}
	ue_suite_fit_psk(&r->su, r->a.o.psk_len);
	int rc = ue_ticket_hash(&r->ti, r->hash);
	if (rc != KMS_EOK) {
		ue_fail("ticket hash", rc);
		goto cleanup;
	}
	int hit = try_cache(r);
	if (hit != 0) {
		if (hit > 0 && printf("cached\n") > 0 && fflush(stdout) == 0) {
			ret = UE_EXIT_CACHED;
		} else {
			ret = UE_EXIT_USAGE;
		}
		goto cleanup;
	}
	rc = build(r, &len);
	if (rc != KMS_EOK) {
		ue_fail("building RESOLVE_INIT_PSK", rc);
		goto cleanup;
	}
	ret = save(r, len);
cleanup:
	ue_opts_wipe(&r->a.o);
	secmem_wipe(r, sizeof(*r));
	free(r);
	return ret;
}
