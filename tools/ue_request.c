/*
 * kms-ue request: REQUEST_INIT_PSK = HDR, T, RANDRi, IDRi, IDRkms, TP,
 * [IDRpsk], V (RFC 6043 4.2.1), MAC over REQUEST_INIT || IDi || IDkms with
 * the auth_key from the PSK (direction 0x01, RANDRi).  The message and
 * what the next step needs go to --out and --state.
 */
#include "tools/ue_request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/mac.h"
#include "mikey/profile.h"
#include "tools/ue_common.h"

/* The Ticket Type of this project's KMS (kms/ticket.h KMS_TICKET_*). */
#define TICKET_TYPE 0xF000u
#define TICKET_SUBTYPE 0x01u
#define TICKET_VERSION 0x01u
#define LIFETIME_MAX (10LL * 365 * 24 * 3600)

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kms-ue request (--psk HEX | --psk-file FILE | --gba FILE)\n"
	    "                      --id NAI --to NAI [--to NAI ...] --out FILE\n"
	    "                      --state FILE [--kms-id ID] [--psk-id ID] [--reuse]\n"
	    "                      [--lifetime SECONDS] [--suite 128|256]\n"
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
	    "  --id NAI           your identity (IDRi), e.g. alice@example.org\n"
	    "  --to NAI           a responder allowed to resolve the ticket (IDRr);\n"
	    "                     repeat for several; the first is the peer\n"
	    "  --kms-id ID        the KMS identity (IDRkms), default %s\n"
	    "  --psk-id ID        send IDRpsk (byte string) naming the PSK; by\n"
	    "                     default the KMS finds the PSK by --id\n"
	    "  --reuse            ask for a reusable ticket (flag J)\n"
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
	size_t nto;
	bool reuse;
	long long lifetime; /* 0: no TRe */
	int suite_bits;
	const char *out;
} args_t;

static int parse_args(int argc, char **argv, args_t *a)
{
	static const struct option opts[] = {
		{ "psk", required_argument, NULL, UE_OPT_PSK },
		{ "psk-file", required_argument, NULL, UE_OPT_PSK_FILE },
		{ "gba", required_argument, NULL, UE_OPT_GBA },
		{ "id", required_argument, NULL, UE_OPT_ID },
		{ "kms-id", required_argument, NULL, UE_OPT_KMS_ID },
		{ "psk-id", required_argument, NULL, UE_OPT_PSK_ID },
		{ "state", required_argument, NULL, UE_OPT_STATE },
		{ "to", required_argument, NULL, UE_OPT_TO },
		{ "reuse", no_argument, NULL, UE_OPT_REUSE },
		{ "lifetime", required_argument, NULL, UE_OPT_LIFETIME },
		{ "suite", required_argument, NULL, UE_OPT_SUITE },
		{ "out", required_argument, NULL, UE_OPT_OUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	a->suite_bits = 128;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ue_opts_take(&a->o, c, optarg)) {
			continue;
		}
		char *end = NULL;
		switch (c) {
		case UE_OPT_TO:
			if (a->nto == TO_MAX) {
				fprintf(stderr, "%s: at most %d --to\n", ue_prog, TO_MAX);
				return -1;
			}
			if (ue_check_id("--to", optarg) != 0) {
				return -1;
			}
			a->to[a->nto++] = optarg;
			break;
		case UE_OPT_REUSE:
			a->reuse = true;
			break;
		case UE_OPT_LIFETIME:
			errno = 0;
			a->lifetime = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    a->lifetime <= 0 || a->lifetime > LIFETIME_MAX) {
				fprintf(stderr, "%s: --lifetime: 1 to %lld seconds\n",
					ue_prog, LIFETIME_MAX);
				return -1;
			}
			break;
		case UE_OPT_SUITE:
			if (strcmp(optarg, "128") == 0 || strcmp(optarg, "256") == 0) {
				a->suite_bits = atoi(optarg);
				break;
			}
			fprintf(stderr, "%s: --suite: 128 or 256\n", ue_prog);
			return -1;
		case UE_OPT_OUT:
			a->out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || a->o.id == NULL || a->nto == 0 || a->out == NULL ||
	    a->o.state == NULL) {
		usage(stderr);
		return -1;
	}
	if (ue_check_id("--id", a->o.id) != 0 ||
	    ue_check_id("--kms-id", a->o.kms_id) != 0 ||
	    (a->o.psk_id != NULL && ue_check_id("--psk-id", a->o.psk_id) != 0)) {
		return -1;
	}
	return ue_opts_load_psk(&a->o) == 0 ? 0 : -1;
}

static mikey_id_t idr(uint8_t role, uint8_t type, const char *s)
{
	return (mikey_id_t){ role, type, { (const uint8_t *)s, strlen(s) } };
}

/* The requested Ticket Policy (RFC 6043 6.10). */
static void make_policy(const args_t *a, const ue_suite_t *su, mikey_ticket_t *t)
{
	mikey_tp_t *tp = &t->policy;
	memset(t, 0, sizeof(*t));
	tp->ticket_type = TICKET_TYPE;
	tp->subtype = TICKET_SUBTYPE;
	tp->version = TICKET_VERSION;
	tp->prf = su->prf;
	tp->flags = MIKEY_TPF_E | MIKEY_TPF_F | MIKEY_TPF_H | MIKEY_TPF_I;
	if (a->reuse) {
		tp->flags |= MIKEY_TPF_J;
	}
	tp->has_idrkms = true;
	tp->idrkms = idr(MIKEY_ROLE_KMS, MIKEY_ID_NAI, a->o.kms_id);
	tp->has_idri = true;
	tp->idri = idr(MIKEY_ROLE_I, MIKEY_ID_NAI, a->o.id);
	if (a->lifetime > 0) {
		tp->has_tre = true;
		tp->tre =
		    (mikey_ts_t){ MIKEY_TR_END, MIKEY_TS_NTP_UTC,
				  mikey_ntp_from_unix(ue_unix_now() + a->lifetime, 0) };
	}
	for (size_t i = 0; i < a->nto; i++) {
		tp->idrr[i] = idr(MIKEY_ROLE_R, MIKEY_ID_NAI, a->to[i]);
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
		rc = mikey_msg_add_id(m, MIKEY_ROLE_I, MIKEY_ID_NAI,
				      (const uint8_t *)a->o.id, strlen(a->o.id));
	}
	if (rc == KMS_EOK) {
		rc = mikey_msg_add_id(m, MIKEY_ROLE_KMS, MIKEY_ID_NAI,
				      (const uint8_t *)a->o.kms_id, strlen(a->o.kms_id));
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
		rc = mikey_profile_init_identities(m, NULL, ids);
	}
	mikey_bytes_t ri = { randri, su->rand_len };
	if (rc == KMS_EOK) {
		rc = ue_auth_key(su->prf, a->o.psk, a->o.psk_len, csb, MIKEY_DIR_INIT,
				 &ri, NULL, su->mac_alg, key, &klen);
	}
	if (rc == KMS_EOK) {
		rc = mikey_mac_sign(buf, *len, key, klen, ids, 2);
	}
cleanup:
	secmem_wipe(key, sizeof(key));
	free(m);
	free(tp);
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
	uint8_t prf = su.prf;
	rc = ue_state_set_str(st, "role", "initiator");
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "id", a.o.id);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "kms_id", a.o.kms_id);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set_str(st, "peer", a.to[0]);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "prf", &prf, 1);
	}
	if (rc == KMS_EOK) {
		rc = ue_state_set(st, "request_init", buf, len);
	}
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
