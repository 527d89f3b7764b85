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

	uint8_t k[16], opc[16], op[16], rand[16], sqn[6], amf[2];
	uint8_t mac_a[8], mac_s[8], res[8], ck[16], ik[16], ak[6], akstar[6], autn[16];
	int ret = UE_EXIT_USAGE;
	if (hex_exact("--k", k_s, k, sizeof(k)) != 0 ||
	    hex_exact("--rand", rand_s, rand, sizeof(rand)) != 0 ||
	    hex_exact("--sqn", sqn_s, sqn, sizeof(sqn)) != 0 ||
	    hex_exact("--amf", amf_s, amf, sizeof(amf)) != 0) {
		goto cleanup;
	}
	if (opc_s != NULL) {
		if (hex_exact("--opc", opc_s, opc, sizeof(opc)) != 0) {
			goto cleanup;
		}
	} else if (hex_exact("--op", op_s, op, sizeof(op)) != 0) {
		goto cleanup;
	}
	int rc = op_s != NULL ? milenage_opc(k, op, opc) : KMS_EOK;
	if (rc == KMS_EOK) {
		rc = milenage_f1(k, opc, rand, sqn, amf, mac_a, mac_s);
	}
	if (rc == KMS_EOK) {
		rc = milenage_f2345(k, opc, rand, res, ck, ik, ak, akstar);
	}
	if (rc == KMS_EOK) {
		rc = milenage_autn(k, opc, rand, sqn, amf, autn);
	}
	if (rc != KMS_EOK) {
		ue_fail("milenage", rc);
		goto cleanup;
	}
	printf("{");
	json_hex("mac_a", mac_a, sizeof(mac_a), false);
	json_hex("mac_s", mac_s, sizeof(mac_s), false);
	json_hex("res", res, sizeof(res), false);
	json_hex("ck", ck, sizeof(ck), false);
	json_hex("ik", ik, sizeof(ik), false);
	json_hex("ak", ak, sizeof(ak), false);
	json_hex("ak_star", akstar, sizeof(akstar), false);
	json_hex("autn", autn, sizeof(autn), false);
	json_hex("opc", opc, sizeof(opc), true);
	printf("}\n");
	ret = fflush(stdout) == 0 ? UE_EXIT_OK : UE_EXIT_USAGE;
cleanup:
	secmem_wipe(k, sizeof(k));
	secmem_wipe(opc, sizeof(opc));
	secmem_wipe(op, sizeof(op));
	secmem_wipe(res, sizeof(res));
	secmem_wipe(ck, sizeof(ck));
	secmem_wipe(ik, sizeof(ik));
	secmem_wipe(ak, sizeof(ak));
	secmem_wipe(akstar, sizeof(akstar));
	secmem_wipe(mac_a, sizeof(mac_a));
	secmem_wipe(mac_s, sizeof(mac_s));
	return ret;
}

int ue_ks_naf_cmd(int argc, char **argv)
{
	const char *ck_s = NULL, *ik_s = NULL, *rand_s = NULL, *impi = NULL;
	const char *fqdn = NULL, *ua_s = "0100000006", *bsf = NULL;
	bool gba_u = false;
	const ue_opt_t opts[] = {
		{ UE_STRING("ck", 0, &ck_s) },
		{ UE_STRING("ik", 0, &ik_s) },
		{ UE_STRING("rand", 0, &rand_s) },
		{ UE_STRING("impi", 0, &impi), .required = true },
		{ UE_STRING("naf-fqdn", 0, &fqdn), .required = true },
		{ UE_STRING("ua-id", 0, &ua_s) },
		{ UE_FLAG("gba-u", 0, &gba_u) },
		{ UE_STRING("bsf-domain", 0, &bsf) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage_ks_naf, 0, 0 };
	int first = 0;
	int pa = ue_opts_parse(&spec, argc, argv, &first);
	if (pa != UE_OPTS_OK) {
		return pa == UE_OPTS_HELP ? UE_EXIT_OK : UE_EXIT_USAGE;
	}

	uint8_t ck[16], ik[16], rand[GBA_RAND_LEN], ua[GBA_UA_ID_LEN];
	uint8_t naf_id[GBA_NAF_ID_MAX], ks_naf[GBA_KEY_LEN];
	char hex[2 * GBA_NAF_ID_MAX + 1], btid[GBA_BTID_MAX + 1];
	size_t naf_id_len = 0;
	int ret = UE_EXIT_USAGE;
	if (hex_exact("--ck", ck_s, ck, sizeof(ck)) != 0 ||
	    hex_exact("--ik", ik_s, ik, sizeof(ik)) != 0 ||
	    hex_exact("--rand", rand_s, rand, sizeof(rand)) != 0 ||
	    hex_exact("--ua-id", ua_s, ua, sizeof(ua)) != 0) {
		goto cleanup;
	}
	int rc = gba_naf_id(fqdn, ua, naf_id, sizeof(naf_id), &naf_id_len);
	if (rc != KMS_EOK) {
		ue_fail("--naf-fqdn", rc);
		goto cleanup;
	}
	rc = gba_ks_naf(ck, ik, rand, impi, naf_id, naf_id_len, gba_u, ks_naf);
	if (rc != KMS_EOK) {
		ue_fail("--impi", rc);
		goto cleanup;
	}
	if (bsf != NULL) {
		rc = gba_btid(rand, bsf, btid, sizeof(btid));
		if (rc != KMS_EOK) {
			ue_fail("--bsf-domain", rc);
			goto cleanup;
		}
	}
	hex_encode(ks_naf, sizeof(ks_naf), hex, sizeof(hex));
	printf("%s\n", hex);
	if (bsf != NULL) {
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
