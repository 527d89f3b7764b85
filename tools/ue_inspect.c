/*
 * kms-ue decode, prf, verify: look at MIKEY messages and the PRF.
 *
 *   kms-ue decode [--show-keys] [--compact] [FILE|-]
 *   kms-ue prf --prf mikey1|sha256 --inkey HEX --label HEX --len N
 *   kms-ue verify --psk HEX [--kms-id TEXT] FILE
 *
 * Exit status: 0 success, 1 the input is not valid (malformed or invalid
 * message, MAC mismatch), 2 usage error, unreadable input, or (verify) a
 * message that cannot be checked.  Key material is never printed except
 * by decode --show-keys and the prf command, whose output is the point.
 */
#include "tools/ue_inspect.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "mikey/json.h"
#include "mikey/kdf.h"
#include "mikey/mac.h"
#include "mikey/msg.h"
#include "mikey/prf.h"
#include "mikey/profile.h"
#include "tools/ue_common.h"
#include "tools/ue_input.h"

#define EXIT_INVALID UE_EXIT_INVALID
#define EXIT_USAGE UE_EXIT_USAGE
#define PSK_MAX 128   /* bytes of --psk */
#define INKEY_MAX 256 /* bytes of prf --inkey */
#define KMS_ID_MAX MIKEY_ID_MAX

static void usage_decode(FILE *f)
{
	fprintf(f,
		"usage: kms-ue decode [--show-keys] [--compact] [FILE|-]\n"
		"\n"
		"Decode one MIKEY message and print it as JSON.  The input (FILE, or\n"
		"stdin when absent or -) is the binary message, its base64 text, or an\n"
		"SDP line a=key-mgmt:mikey <base64>.\n"
		"\n"
		"  -k, --show-keys  print key data bytes instead of {\"redacted\": N}\n"
		"  -c, --compact    one line of JSON instead of indented output\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit: 0 valid message, 1 malformed or invalid (JSON says why when the\n"
		"message decodes), 2 usage or read error.\n");
}

static void usage_prf(FILE *f)
{
	fprintf(f,
		"usage: kms-ue prf --prf mikey1|sha256 --inkey HEX --label HEX --len N\n"
		"\n"
		"Print N bytes of PRF(inkey, label) as lower-case hex.\n"
		"\n"
		"  -p, --prf NAME    mikey1 (HMAC-SHA-1, RFC 3830) or sha256\n"
		"                    (PRF-HMAC-SHA-256, RFC 6043)\n"
		"  -i, --inkey HEX   the in-key (1 to %d bytes)\n"
		"  -l, --label HEX   the label (0 to %d bytes)\n"
		"  -n, --len N       output bytes (1 to %d)\n"
		"  -h, --help        this text\n"
		"\n"
		"Exit: 0 success, 2 bad arguments.\n",
		INKEY_MAX, MIKEY_LABEL_MAX, MIKEY_PRF_OUT_MAX);
}

static void usage_verify(FILE *f)
{
	fprintf(f,
		"usage: kms-ue verify --psk HEX [--kms-id TEXT] FILE\n"
		"\n"
		"Check the V MAC of a REQUEST_INIT_PSK or RESOLVE_INIT_PSK (binary,\n"
		"base64 or SDP form) with the auth_key derived from the PSK\n"
		"(RFC 6043 5.1.2, 5.5).  Prints \"valid\" or \"invalid\".\n"
		"\n"
		"  -P, --psk HEX      the pre-shared key (1 to %d bytes); never printed\n"
		"  -K, --kms-id TEXT  KMS identity appended to the MAC input when the\n"
		"                     message has no IDRkms\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit: 0 valid, 1 MAC mismatch, 2 malformed or unsupported message,\n"
		"missing identity, or bad arguments.\n",
		PSK_MAX);
}

/* Decode hex argument text into buf; 0 on success (1..cap bytes unless allow_empty). */
static int hex_arg(const char *what, const char *text, uint8_t *buf, size_t cap,
		   bool allow_empty, size_t *len)
{
	size_t tl = strlen(text);
	int rc = hex_decode(text, tl, buf, cap, len);
	if (rc == KMS_ESPACE) {
		fprintf(stderr, "%s: %s: more than %zu bytes\n", ue_prog, what, cap);
		return -1;
	}
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: %s: not an even-length hex string\n", ue_prog, what);
		return -1;
	}
	if (*len == 0 && !allow_empty) {
		fprintf(stderr, "%s: %s: empty\n", ue_prog, what);
		return -1;
	}
	return 0;
}

/* --- decode ------------------------------------------------------------ */

/* m as JSON with its input form and validity; 0, EXIT_INVALID or
 * EXIT_USAGE (the output cannot be written). */
static int print_json(const mikey_msg_t *m, ue_form_t form, unsigned flags, size_t indent)
{
	int check = mikey_msg_check(m);
	json_t *j = mikey_msg_to_json(m, flags);
	int err = j == NULL;
	if (!err) {
		err |=
		    json_object_set_new(j, "input_form", json_string(ue_form_name(form)));
		err |= json_object_set_new(j, "valid", json_boolean(check == KMS_EOK));
		if (check != KMS_EOK) {
			err |= json_object_set_new(
			    j, "error",
			    json_pack("{s:s, s:s}", "code", kms_err_name(check),
				      "message", kms_strerror(check)));
		}
	}
	if (err || json_dumpf(j, stdout, indent | JSON_PRESERVE_ORDER) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, "%s: cannot write the JSON output\n", ue_prog);
		json_decref(j);
		return EXIT_USAGE;
	}
	json_decref(j);
	return check == KMS_EOK ? 0 : EXIT_INVALID;
}

int ue_decode_cmd(int argc, char **argv)
{
	bool show_keys = false, compact = false;
	const ue_opt_t opts[] = {
		{ UE_FLAG("show-keys", 'k', &show_keys) },
		{ UE_FLAG("compact", 'c', &compact) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage_decode, 0, 1 };
	int first = 0;
	int pa = ue_opts_parse(&spec, argc, argv, &first);
	if (pa != UE_OPTS_OK) {
		return pa == UE_OPTS_HELP ? 0 : EXIT_USAGE;
	}
	unsigned flags = show_keys ? MIKEY_JSON_SHOW_KEYS : 0;
	size_t indent = compact ? JSON_COMPACT : JSON_INDENT(2);
	const char *path = first < argc ? argv[first] : "-";

	int ret = EXIT_USAGE;
	uint8_t *msg = malloc(UE_INPUT_MAX);
	mikey_msg_t *m = malloc(sizeof(*m));
	size_t len = 0;
	ue_form_t form;
	if (msg == NULL || m == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		goto cleanup;
	}
	int rc = ue_input_load(ue_prog, path, msg, UE_INPUT_MAX, &len, &form);
	if (rc != KMS_EOK) {
		/* Unreadable: usage-level; oversized or not MIKEY: invalid input. */
		ret = rc == KMS_EIO || rc == KMS_ENOMEM ? EXIT_USAGE : EXIT_INVALID;
		goto cleanup;
	}
	rc = mikey_msg_decode(msg, len, m);
	if (rc != KMS_EOK) {
		char why[256];
		ue_diagnose(msg, len, rc, why, sizeof(why));
		fprintf(stderr, "%s: malformed MIKEY message (%s input, %zu bytes): %s\n",
			ue_prog, ue_form_name(form), len, why);
		ret = EXIT_INVALID;
		goto cleanup;
	}
	ret = print_json(m, form, flags, indent);
cleanup:
	if (msg != NULL) {
		/* --show-keys or not, a NULL-encrypted KEMAC may hold keys. */
		secmem_wipe(msg, UE_INPUT_MAX);
	}
	free(msg);
	free(m);
	return ret;
}

/* --- prf --------------------------------------------------------------- */

static const char *const prf_words[] = { "mikey1", "sha256", NULL };
static const int prf_values[] = { MIKEY_PRF_MIKEY1, MIKEY_PRF_HMAC_SHA256 };

int ue_prf_cmd(int argc, char **argv)
{
	const char *inkey_s = NULL, *label_s = NULL;
	int prf = 0;
	uint32_t n = 0;
	const ue_opt_t opts[] = {
		{ UE_CHOICE("prf", 'p', &prf, prf_words, prf_values,
			    "expected mikey1 or sha256"),
		  .required = true },
		{ UE_STRING("inkey", 'i', &inkey_s), .required = true },
		{ UE_STRING("label", 'l', &label_s), .required = true },
		{ UE_U32("len", 'n', &n, 1, MIKEY_PRF_OUT_MAX, "bytes"),
		  .required = true },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage_prf, 0, 0 };
	int first = 0;
	int pa = ue_opts_parse(&spec, argc, argv, &first);
	if (pa != UE_OPTS_OK) {
		return pa == UE_OPTS_HELP ? 0 : EXIT_USAGE;
	}

	uint8_t inkey[INKEY_MAX], out[MIKEY_PRF_OUT_MAX];
	char hex[2 * MIKEY_PRF_OUT_MAX + 1];
	uint8_t *label = malloc(MIKEY_LABEL_MAX);
	size_t inkey_len = 0, label_len = 0;
	int ret = EXIT_USAGE;

	if (label == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		goto cleanup;
	}
	if (hex_arg("--inkey", inkey_s, inkey, sizeof(inkey), false, &inkey_len) != 0 ||
	    hex_arg("--label", label_s, label, MIKEY_LABEL_MAX, true, &label_len) != 0) {
		goto cleanup;
	}
	int rc = mikey_prf(NULL, (uint8_t)prf, inkey, inkey_len, label, label_len, out,
			   (size_t)n);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: prf: %s\n", ue_prog, kms_strerror(rc));
		goto cleanup;
	}
	hex_encode(out, (size_t)n, hex, sizeof(hex));
	printf("%s\n", hex);
	ret = fflush(stdout) == 0 ? 0 : EXIT_USAGE;
cleanup:
	secmem_wipe(inkey, sizeof(inkey));
	secmem_wipe(out, sizeof(out));
	secmem_wipe(hex, sizeof(hex));
	free(label);
	return ret;
}

/* --- verify ------------------------------------------------------------ */

/* Read, decode and check the message of verify; 0, or -1 (reported). */
static int load_checked(const char *path, uint8_t *msg, mikey_msg_t *m)
{
	size_t len = 0;
	ue_form_t form;
	if (ue_input_load(ue_prog, path, msg, UE_INPUT_MAX, &len, &form) != KMS_EOK) {
		return -1;
	}
	int rc = mikey_msg_decode(msg, len, m);
	if (rc != KMS_EOK) {
		char why[256];
		ue_diagnose(msg, len, rc, why, sizeof(why));
		fprintf(stderr, "%s: malformed MIKEY message: %s\n", ue_prog, why);
		return -1;
	}
	rc = mikey_msg_check(m);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: invalid %s: %s (%s)\n", ue_prog,
			mikey_dt_name(m->hdr.data_type), kms_strerror(rc),
			kms_err_name(rc));
		return -1;
	}
	return 0;
}

/* The RANDR the auth_key of m takes (RANDRi or RANDRr); -1 (reported). */
static int init_rands(const mikey_msg_t *m, const mikey_bytes_t **randri,
		      const mikey_bytes_t **randrr)
{
	const mikey_rand_t *r;
	if (m->hdr.data_type == MIKEY_DT_REQUEST_INIT_PSK) {
		r = mikey_msg_randr(m, MIKEY_RAND_I);
		*randri = r != NULL ? &r->rand : NULL;
	} else if (m->hdr.data_type == MIKEY_DT_RESOLVE_INIT_PSK) {
		r = mikey_msg_randr(m, MIKEY_RAND_R);
		*randrr = r != NULL ? &r->rand : NULL;
	} else {
		fprintf(stderr,
			"%s: %s: verify handles REQUEST_INIT_PSK and RESOLVE_INIT_PSK\n",
			ue_prog, mikey_dt_name(m->hdr.data_type));
		return -1;
	}
	if (r == NULL) {
		fprintf(stderr, "%s: the message has no RANDR\n", ue_prog);
		return -1;
	}
	return 0;
}

/* Print "valid" or "invalid" for the V of m; the exit status. */
static int verify_mac(const mikey_msg_t *m, const uint8_t *psk, size_t psk_len,
		      const char *kms_s, uint8_t auth_key[MIKEY_KEY_MAX])
{
	const mikey_bytes_t *randri = NULL, *randrr = NULL;
	if (init_rands(m, &randri, &randrr) != 0) {
		return EXIT_USAGE;
	}
	const mikey_v_t *v = mikey_msg_v(m);
	size_t key_len = v != NULL ? mikey_v_key_len(v->alg) : 0;
	if (key_len == 0) {
		fprintf(stderr, "%s: unsupported V Auth alg\n", ue_prog);
		return EXIT_USAGE;
	}
	mikey_bytes_t kms_id = { (const uint8_t *)kms_s,
				 kms_s != NULL ? strlen(kms_s) : 0 };
	mikey_bytes_t ids[2];
	int rc = mikey_profile_init_identities(m, kms_s != NULL ? &kms_id : NULL, ids);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: %s (%s); an omitted IDRkms needs --kms-id\n",
			ue_prog, kms_strerror(rc), kms_err_name(rc));
		return EXIT_USAGE;
	}
	rc = mikey_kdf_msg_key(NULL, m->hdr.prf, psk, psk_len, MIKEY_DK_AUTH,
			       m->hdr.csb_id, MIKEY_DIR_INIT, randri, randrr, auth_key,
			       key_len);
	if (rc != KMS_EOK) {
		fprintf(stderr, "%s: key derivation: %s (%s)\n", ue_prog,
			kms_strerror(rc), kms_err_name(rc));
		return EXIT_USAGE;
	}
	rc = mikey_mac_verify(m, auth_key, key_len, ids, 2);
	if (rc == KMS_EOK) {
		printf("valid\n");
		return 0;
	}
	if (rc == KMS_EMAC) {
		printf("invalid\n");
	}
	fprintf(stderr, "%s: %s%s (%s)\n", ue_prog,
		rc == KMS_EMAC ? "" : "MAC: ", kms_strerror(rc), kms_err_name(rc));
	return rc == KMS_EMAC ? EXIT_INVALID : EXIT_USAGE;
}

int ue_verify_cmd(int argc, char **argv)
{
	const char *psk_s = NULL, *kms_s = NULL;
	const ue_opt_t opts[] = {
		{ UE_STRING("psk", 'P', &psk_s), .required = true },
		{ UE_STRING("kms-id", 'K', &kms_s) },
	};
	const ue_optspec_t spec = { opts, UE_OPTS_N(opts), usage_verify, 1, 1 };
	int first = 0;
	int pa = ue_opts_parse(&spec, argc, argv, &first);
	if (pa != UE_OPTS_OK) {
		return pa == UE_OPTS_HELP ? 0 : EXIT_USAGE;
	}
	if (kms_s != NULL && (kms_s[0] == '\0' || strlen(kms_s) > KMS_ID_MAX)) {
		fprintf(stderr, "%s: --kms-id: 1 to %d bytes\n", ue_prog, KMS_ID_MAX);
		return EXIT_USAGE;
	}
	uint8_t psk[PSK_MAX], auth_key[MIKEY_KEY_MAX];
	size_t psk_len = 0;
	int ret = EXIT_USAGE;
	uint8_t *msg = malloc(UE_INPUT_MAX);
	mikey_msg_t *m = malloc(sizeof(*m));
	if (msg == NULL || m == NULL) {
		fprintf(stderr, "%s: out of memory\n", ue_prog);
		goto cleanup;
	}
	if (hex_arg("--psk", psk_s, psk, sizeof(psk), false, &psk_len) != 0 ||
	    load_checked(argv[first], msg, m) != 0) {
		goto cleanup;
	}
	ret = verify_mac(m, psk, psk_len, kms_s, auth_key);
	if (fflush(stdout) != 0) {
		ret = EXIT_USAGE;
	}
cleanup:
	secmem_wipe(psk, sizeof(psk));
	secmem_wipe(auth_key, sizeof(auth_key));
	if (msg != NULL) {
		secmem_wipe(msg, UE_INPUT_MAX);
	}
	free(msg);
	free(m);
	return ret;
}
