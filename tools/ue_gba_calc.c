/*
 * kms-ue milenage, ks-naf: compute MILENAGE outputs and the GBA NAF key.
 *
 *   kms-ue milenage --k HEX (--opc HEX | --op HEX) --rand HEX --sqn HEX --amf HEX
 *   kms-ue ks-naf --ck HEX --ik HEX --rand HEX --impi TEXT --naf-fqdn FQDN
 *                 [--ua-id HEX10] [--gba-u] [--bsf-domain DOMAIN]
 *
 * Test tools: both print key material, which is their purpose.  Exit
 * status: 0 success, 2 bad arguments.
 */
#include "tools/ue_gba_calc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "gba/kdf.h"
#include "gba/milenage.h"
#include "tools/ue_common.h"

static void usage_milenage(FILE *f)
{
	fprintf(f,
		"usage: kms-ue milenage --k HEX (--opc HEX | --op HEX) --rand HEX\n"
		"                       --sqn HEX --amf HEX\n"
		"\n"
		"Run MILENAGE (3GPP TS 35.206) f1, f1*, f2, f3, f4, f5, f5* and print\n"
		"one line of JSON with lower-case hex values:\n"
		"  {\"mac_a\", \"mac_s\", \"res\", \"ck\", \"ik\", \"ak\", \"ak_star\", "
		"\"autn\", \"opc\"}\n"
		"AUTN = (SQN XOR AK) || AMF || MAC-A.\n"
		"\n"
		"TEST TOOL: this prints the subscriber key's derived secrets (CK, IK,\n"
		"RES, OPc) by design.  Do not use it with real subscriber keys.\n"
		"\n"
		"  --k HEX     subscriber key K (16 bytes)\n"
		"  --opc HEX   OPc (16 bytes), or\n"
		"  --op HEX    OP (16 bytes), from which OPc is computed\n"
		"  --rand HEX  RAND (16 bytes)\n"
		"  --sqn HEX   SQN (6 bytes)\n"
		"  --amf HEX   AMF (2 bytes)\n"
		"  -h, --help  this text\n"
		"\n"
		"Exit: 0 success, 2 bad arguments.\n");
}

static void usage_ks_naf(FILE *f)
{
	fprintf(f,
		"usage: kms-ue ks-naf --ck HEX --ik HEX --rand HEX --impi TEXT\n"
		"                     --naf-fqdn FQDN [--ua-id HEX10] [--gba-u]\n"
		"                     [--bsf-domain DOMAIN]\n"
		"\n"
		"Print Ks_NAF = KDF(CK || IK, 0x01, \"gba-me\", RAND, IMPI, NAF_Id)\n"
		"(3GPP TS 33.220 B.3) as lower-case hex; with --gba-u, Ks_int_NAF\n"
		"(P0 \"gba-u\").  NAF_Id = FQDN || Ua security protocol id.  With\n"
		"--bsf-domain two more lines follow: the NAF_Id in hex and the B-TID\n"
		"base64(RAND)@DOMAIN.\n"
		"\n"
		"TEST TOOL: this prints a NAF key by design.\n"
		"\n"
		"  --ck HEX           CK (16 bytes)\n"
		"  --ik HEX           IK (16 bytes)\n"
		"  --rand HEX         RAND (16 bytes)\n"
		"  --impi TEXT        the IMPI (printable ASCII, 1 to %d bytes)\n"
		"  --naf-fqdn FQDN    the NAF's (KMS's) host name\n"
		"  --ua-id HEX10      Ua security protocol id, 5 bytes (default\n"
		"                     0100000006: IMS UE to KMS, TS 33.328)\n"
		"  --gba-u            derive Ks_int_NAF (GBA_U) instead of Ks_(ext)_NAF\n"
		"  --bsf-domain NAME  also print the NAF_Id and the B-TID\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit: 0 success, 2 bad arguments.\n",
		GBA_IMPI_MAX);
}

/* Decode an argument of exactly want bytes; 0, or -1 with a message. */
static int hex_exact(const char *what, const char *text, uint8_t *buf, size_t want)
{
	size_t n = 0;
	if (text == NULL) {
		fprintf(stderr, "%s: %s is required\n", ue_prog, what);
		return -1;
	}
	int rc = hex_decode(text, strlen(text), buf, want, &n);
	if (rc != KMS_EOK || n != want) {
		fprintf(stderr, "%s: %s: expected %zu bytes of hex\n", ue_prog, what,
			want);
		return -1;
	}
	return 0;
}

/* Print "name": "hex" for one JSON member; secrets wiped from the buffer. */
static void json_hex(const char *name, const uint8_t *v, size_t len, bool last)
{
	char hex[2 * 16 + 1];
	hex_encode(v, len, hex, sizeof(hex));
	printf("\"%s\": \"%s\"%s", name, hex, last ? "" : ", ");
	secmem_wipe(hex, sizeof(hex));
}

/* The inputs and outputs of kms-ue milenage, in one wiped object. */
typedef struct {
	uint8_t k[16], opc[16], op[16], rand[16], sqn[6], amf[2];
	uint8_t mac_a[8], mac_s[8], res[8], ck[16], ik[16], ak[6], akstar[6], autn[16];
} milenage_io_t;

/* OPc from OP when with_op, then f1..f5* and AUTN. */
static int milenage_run(milenage_io_t *io, bool with_op)
{
	int rc = with_op ? milenage_opc(io->k, io->op, io->opc) : KMS_EOK;
	if (rc == KMS_EOK) {
		rc = milenage_f1(io->k, io->opc, io->rand, io->sqn, io->amf, io->mac_a,
				 io->mac_s);
	}
	if (rc == KMS_EOK) {
		rc = milenage_f2345(io->k, io->opc, io->rand, io->res, io->ck, io->ik,
				    io->ak, io->akstar);
	}
	if (rc == KMS_EOK) {
		rc = milenage_autn(io->k, io->opc, io->rand, io->sqn, io->amf, io->autn);
	}
	return rc;
}

/* The outputs as one line of JSON (a test tool: keys by design). */
static void milenage_print(const milenage_io_t *io)
{
	printf("{");
	json_hex("mac_a", io->mac_a, sizeof(io->mac_a), false);
	json_hex("mac_s", io->mac_s, sizeof(io->mac_s), false);
	json_hex("res", io->res, sizeof(io->res), false);
	json_hex("ck", io->ck, sizeof(io->ck), false);
	json_hex("ik", io->ik, sizeof(io->ik), false);
	json_hex("ak", io->ak, sizeof(io->ak), false);
	json_hex("ak_star", io->akstar, sizeof(io->akstar), false);
	json_hex("autn", io->autn, sizeof(io->autn), false);
	json_hex("opc", io->opc, sizeof(io->opc), true);
	printf("}\n");
}

int ue_milenage_cmd(int argc, char **argv)
{
	const char *k_s = NULL, *opc_s = NULL, *op_s = NULL, *rand_s = NULL;
	const char *sqn_s = NULL, *amf_s = NULL;
	const ue_opt_t opts[] = {
		{ UE_STRING("k", 0, &k_s) },	 { UE_STRING("opc", 0, &opc_s) },
		{ UE_STRING("op", 0, &op_s) },	 { UE_STRING("rand", 0, &rand_s) },
		{ UE_STRING("sqn", 0, &sqn_s) }, { UE_STRING("amf", 0, &amf_s) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage_milenage, 0, 0 };
	int first = 0;
	int pa = ue_opts_parse(&spec, argc, argv, &first);
	if (pa != UE_OPTS_OK) {
		return pa == UE_OPTS_HELP ? UE_EXIT_OK : UE_EXIT_USAGE;
	}
	if ((opc_s == NULL) == (op_s == NULL)) {
		usage_milenage(stderr);
		return UE_EXIT_USAGE;
	}

	milenage_io_t *io = secmem_alloc(sizeof(*io));
	int ret = UE_EXIT_USAGE;
	if (io == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		return UE_EXIT_USAGE;
	}
	if (hex_exact("--k", k_s, io->k, sizeof(io->k)) != 0 ||
	    hex_exact("--rand", rand_s, io->rand, sizeof(io->rand)) != 0 ||
	    hex_exact("--sqn", sqn_s, io->sqn, sizeof(io->sqn)) != 0 ||
	    hex_exact("--amf", amf_s, io->amf, sizeof(io->amf)) != 0) {
		goto cleanup;
	}
	if (opc_s != NULL) {
		if (hex_exact("--opc", opc_s, io->opc, sizeof(io->opc)) != 0) {
			goto cleanup;
		}
	} else if (hex_exact("--op", op_s, io->op, sizeof(io->op)) != 0) {
		goto cleanup;
	}
	int rc = milenage_run(io, op_s != NULL);
	if (rc != KMS_EOK) {
		ue_fail("milenage", rc);
		goto cleanup;
	}
	milenage_print(io);
	ret = fflush(stdout) == 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
cleanup:
	secmem_free(io, sizeof(*io));
	return ret;
}

/* The arguments of kms-ue ks-naf. */
typedef struct {
	const char *ck, *ik, *rand, *impi, *fqdn, *ua, *bsf;
	bool gba_u;
} ks_naf_args_t;

/* Ks_NAF (and with --bsf-domain the NAF_Id and B-TID) on stdout. */
static int ks_naf_run(const ks_naf_args_t *in)
{
	uint8_t ck[16], ik[16], rand[GBA_RAND_LEN], ua[GBA_UA_ID_LEN];
	uint8_t naf_id[GBA_NAF_ID_MAX], ks_naf[GBA_KEY_LEN];
	char hex[2 * GBA_NAF_ID_MAX + 1], btid[GBA_BTID_MAX + 1];
	size_t naf_id_len = 0;
	int ret = UE_EXIT_USAGE;
	if (hex_exact("--ck", in->ck, ck, sizeof(ck)) != 0 ||
	    hex_exact("--ik", in->ik, ik, sizeof(ik)) != 0 ||
	    hex_exact("--rand", in->rand, rand, sizeof(rand)) != 0 ||
	    hex_exact("--ua-id", in->ua, ua, sizeof(ua)) != 0) {
		goto cleanup;
	}
	int rc = gba_naf_id(in->fqdn, ua, naf_id, sizeof(naf_id), &naf_id_len);
	if (rc != KMS_EOK) {
		ue_fail("--naf-fqdn", rc);
		goto cleanup;
	}
	rc = gba_ks_naf(ck, ik, rand, in->impi, naf_id, naf_id_len, in->gba_u, ks_naf);
	if (rc != KMS_EOK) {
		ue_fail("--impi", rc);
		goto cleanup;
	}
	if (in->bsf != NULL) {
		rc = gba_btid(rand, in->bsf, btid, sizeof(btid));
		if (rc != KMS_EOK) {
			ue_fail("--bsf-domain", rc);
			goto cleanup;
		}
	}
	hex_encode(ks_naf, sizeof(ks_naf), hex, sizeof(hex));
	printf("%s\n", hex);
	if (in->bsf != NULL) {
		hex_encode(naf_id, naf_id_len, hex, sizeof(hex));
		printf("%s\n%s\n", hex, btid);
	}
	ret = fflush(stdout) == 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
cleanup:
	secmem_wipe(ck, sizeof(ck));
	secmem_wipe(ik, sizeof(ik));
	secmem_wipe(ks_naf, sizeof(ks_naf));
	secmem_wipe(hex, sizeof(hex));
	return ret;
}

int ue_ks_naf_cmd(int argc, char **argv)
{
	ks_naf_args_t in = { .ua = "0100000006" };
	const ue_opt_t opts[] = {
		{ UE_STRING("ck", 0, &in.ck) },
		{ UE_STRING("ik", 0, &in.ik) },
		{ UE_STRING("rand", 0, &in.rand) },
		{ UE_STRING("impi", 0, &in.impi), .required = true },
		{ UE_STRING("naf-fqdn", 0, &in.fqdn), .required = true },
		{ UE_STRING("ua-id", 0, &in.ua) },
		{ UE_FLAG("gba-u", 0, &in.gba_u) },
		{ UE_STRING("bsf-domain", 0, &in.bsf) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage_ks_naf, 0, 0 };
	int first = 0;
	int pa = ue_opts_parse(&spec, argc, argv, &first);
	if (pa != UE_OPTS_OK) {
		return pa == UE_OPTS_HELP ? UE_EXIT_OK : UE_EXIT_USAGE;
	}

	return ks_naf_run(&in);
}
