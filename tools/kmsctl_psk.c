/*
 * kmsctl psk add|list|remove: the static PSK users in kms.db
 * (kms/psk_static.h).  A key is printed only by add --generate, once: the
 * operator provisions the UE with it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "kms/keyring.h"
#include "kms/psk_static.h"
#include "tools/kmsctl.h"

static void usage_psk(FILE *f)
{
	fprintf(
	    f,
	    "usage: kmsctl [-d STATE_DIR] psk add PSK_ID --identity NAI [--identity "
	    "NAI]...\n"
	    "                 (--key HEX | --key-file FILE | --generate OUT [--key-len "
	    "N])\n"
	    "                 [--expires UNIX]\n"
	    "       kmsctl [-d STATE_DIR] psk list [--json]\n"
	    "       kmsctl [-d STATE_DIR] psk remove PSK_ID\n"
	    "\n"
	    "  -i, --identity NAI  a KMS user identity of the key owner (1 to %d)\n"
	    "  -k, --key HEX       the key, 16 or 32 bytes in hex (visible in ps and\n"
	    "                      shell history: prefer --key-file)\n"
	    "  -f, --key-file F    read the hex key from file F\n"
	    "  -g, --generate OUT  generate a random key and write it, in hex, to the\n"
	    "                      new file OUT (mode 0600; never printed)\n"
	    "  -l, --key-len N     16 (default) or 32, with --generate\n"
	    "  -e, --expires UNIX  expiry in Unix seconds (default 0: never)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "list --json: one JSON array of {psk_id, key_len, expires, created,\n"
	    "identities} (Unix seconds, null for never; never key bytes).\n"
	    "A running kmsd picks changes up within policy.reload_interval.\n",
	    KMS_PSK_IDS_MAX);
}

typedef struct {
	const char *ids[KMS_PSK_IDS_MAX];
	size_t nids;
	const char *key_hex;
	const char *key_file;
	const char *generate; /* the new key file */
	int key_len_set;
	size_t key_len;
	int64_t expires;
} psk_add_args_t;

/* One option of psk add; EXIT_SUCCESS or KMSCTL_EXIT_USAGE (reported). */
static int take_opt(psk_add_args_t *a, int c, const char *arg)
{
	uint32_t v = 0;
	switch (c) {
	case 'i':
		if (a->nids >= KMS_PSK_IDS_MAX) {
			return kmsctl_usage_error("psk add: at most %d identities",
						  KMS_PSK_IDS_MAX);
		}
		if (psk_static_check_identity(arg) != KMS_EOK) {
			return kmsctl_usage_error(
			    "psk add: '%s' is not a KMS user identity "
			    "(user@domain, no spaces or '*')",
			    arg);
		}
		a->ids[a->nids++] = arg;
		return EXIT_SUCCESS;
	case 'k':
		a->key_hex = arg;
		return EXIT_SUCCESS;
	case 'f':
		a->key_file = arg;
		return EXIT_SUCCESS;
	case 'g':
		a->generate = arg;
		return EXIT_SUCCESS;
	case 'l':
		if (kmsctl_parse_u32(arg, &v) != KMS_EOK || (v != 16 && v != 32)) {
			return kmsctl_usage_error("psk add: --key-len must be 16 or 32");
		}
		a->key_len = v;
		a->key_len_set = 1;
		return EXIT_SUCCESS;
	case 'e':
		if (kmsctl_parse_i64(arg, &a->expires) != KMS_EOK) {
			return kmsctl_usage_error(
			    "psk add: --expires needs Unix seconds");
		}
		return EXIT_SUCCESS;
	default:
		usage_psk(stderr);
		return KMSCTL_EXIT_USAGE;
	}
}

/* The operand and the option combinations of psk add. */
static int check_psk_add(const psk_add_args_t *a, const char *psk_id)
{
	if (psk_static_check_id(psk_id) != KMS_EOK) {
		return kmsctl_usage_error("psk add: PSK_ID must be 1 to %d bytes without "
					  "control characters",
					  PSK_STATIC_ID_MAX);
	}
	if (a->nids == 0) {
		return kmsctl_usage_error("psk add: at least one --identity is needed");
	}
	if ((a->key_hex != NULL) + (a->key_file != NULL) + (a->generate != NULL) != 1) {
		return kmsctl_usage_error("psk add: give exactly one of --key, "
					  "--key-file, --generate");
	}
	if (a->key_len_set && a->generate == NULL) {
		return kmsctl_usage_error("psk add: --key-len goes with --generate");
	}
	return EXIT_SUCCESS;
}

/* Returns EXIT_SUCCESS, KMSCTL_EXIT_USAGE, or -1 after --help. */
static int parse_psk_add(int argc, char **argv, psk_add_args_t *a, const char **psk_id)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-file", required_argument, NULL, 'f' },
		{ "generate", required_argument, NULL, 'g' },
		{ "key-len", required_argument, NULL, 'l' },
		{ "expires", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "i:k:f:g:l:e:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_psk(stdout);
			return -1;
		}
		int rc = take_opt(a, c, optarg);
		if (rc != EXIT_SUCCESS) {
			return rc;
		}
	}
	if (optind + 1 != argc) {
		return kmsctl_usage_error("psk add: expected exactly one PSK_ID");
	}
	*psk_id = argv[optind];
	return check_psk_add(a, *psk_id);
}

/* The key of --key, --key-file or --generate (then also in hex). */
static int get_key(const psk_add_args_t *a, uint8_t key[KMS_PSK_MAX], size_t *key_len,
		   char *hex, size_t hex_cap)
{
	if (a->key_hex != NULL) {
		if (kmsctl_key_decode(a->key_hex, strlen(a->key_hex), key, KMS_PSK_MAX,
				      key_len) != KMS_EOK) {
			return kmsctl_usage_error(
			    "psk add: --key must be 16 or 32 bytes of hex");
		}
		return EXIT_SUCCESS;
	}
	if (a->key_file != NULL) {
		return kmsctl_key_file_read(a->key_file, key, KMS_PSK_MAX, key_len);
	}
	*key_len = a->key_len;
	int ret = crypto_random(key, *key_len);
	if (ret == KMS_EOK) {
		ret = hex_encode(key, *key_len, hex, hex_cap);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot generate a key");
	}
	return EXIT_SUCCESS;
}

static int psk_add(const kmsctl_paths_t *p, int argc, char **argv)
{
	psk_add_args_t a;
	memset(&a, 0, sizeof(a));
	a.key_len = 16;
	const char *psk_id = NULL;
	int rc = parse_psk_add(argc, argv, &a, &psk_id);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc; /* -1: --help */
	}
	uint8_t key[KMS_PSK_MAX];
	uint8_t kek[KEYRING_KEK_LEN];
	char hex[2 * KMS_PSK_MAX + 1];
	size_t key_len = 0;
	hex[0] = '\0';
	rc = get_key(&a, key, &key_len, hex, sizeof(hex));
	if (rc == EXIT_SUCCESS) {
		rc = kmsctl_load_kek(p, 0, kek);
	}
	if (rc != EXIT_SUCCESS) {
		goto cleanup;
	}
	int ret = KMS_EOK;
	if (a.generate != NULL) { /* the key goes to a new 0600 file, never to stdout */
		size_t hl = strlen(hex);
		hex[hl] = '\n';
		ret = secret_file_write(a.generate, SECRET_FILE_EXCL, hex, hl + 1);
		if (ret != KMS_EOK) {
			rc =
			    kmsctl_fail(ret, "cannot create %s (PSK user '%s' not added)",
					a.generate, psk_id);
			goto cleanup;
		}
	}
	ret = psk_static_add(p->db, kek, psk_id, key, key_len, a.ids, a.nids, a.expires);
	if (ret != KMS_EOK && a.generate != NULL) {
		(void)unlink(a.generate); /* no key file for a user that was not added */
	}
	if (ret == KMS_EEXIST) {
		rc = kmsctl_fail(KMS_EOK, "PSK user '%s' exists (remove it first)",
				 psk_id);
	} else if (ret != KMS_EOK) {
		rc = kmsctl_fail(ret, "cannot add PSK user '%s'", psk_id);
	} else if (a.generate != NULL) {
		printf("added PSK user %s; its key is in %s\n", psk_id, a.generate);
	} else {
		printf("added PSK user %s\n", psk_id);
	}
cleanup:
	secmem_wipe(key, sizeof(key));
	secmem_wipe(kek, sizeof(kek));
	secmem_wipe(hex, sizeof(hex));
	return rc;
}

static int print_user(void *ctx, const psk_static_info_t *u)
{
	(void)ctx;
	char ex[32], cr[32];
	kmsctl_format_time(u->expires, ex, sizeof(ex));
	kmsctl_format_time(u->created, cr, sizeof(cr));
	printf("%-32s %-6zu %-20s %-20s ", u->psk_id, u->key_len, ex, cr);
	for (size_t i = 0; i < u->nids; i++) {
		printf("%s%s", i > 0 ? "," : "", u->ids[i]);
	}
	putchar('\n');
	return KMS_EOK;
}

/* One user appended to the JSON array ctx; KMS_ENOMEM (or a psk_id that
 * is not UTF-8) stops the walk. */
static int json_user(void *ctx, const psk_static_info_t *u)
{
	json_t *ids = json_array();
	for (size_t i = 0; ids != NULL && i < u->nids; i++) {
		if (json_array_append_new(ids, json_string(u->ids[i])) != 0) {
			json_decref(ids);
			ids = NULL;
		}
	}
	json_t *o =
	    json_pack("{s:s, s:I, s:o, s:o, s:o}", "psk_id", u->psk_id, "key_len",
		      (json_int_t)u->key_len, "expires", kmsctl_json_time(u->expires),
		      "created", kmsctl_json_time(u->created), "identities", ids);
	return json_array_append_new(ctx, o) == 0 ? KMS_EOK : KMS_ENOMEM;
}

static int psk_list(const kmsctl_paths_t *p, bool json)
{
	if (json) {
		json_t *a = json_array();
		int ret = a != NULL ? psk_static_list(p->db, json_user, a) : KMS_ENOMEM;
		if (ret != KMS_EOK) {
			json_decref(a);
			return kmsctl_list_result(ret, p, "PSK users");
		}
		return kmsctl_json_print(a);
	}
	printf("%-32s %-6s %-20s %-20s %s\n", "PSK_ID", "KEYLEN", "EXPIRES", "CREATED",
	       "IDENTITIES");
	return kmsctl_list_result(psk_static_list(p->db, print_user, NULL), p,
				  "PSK users");
}

static int psk_remove(const kmsctl_paths_t *p, const char *psk_id)
{
	if (psk_static_check_id(psk_id) != KMS_EOK) {
		return kmsctl_usage_error("psk remove: '%s' is not a valid PSK_ID",
					  psk_id);
	}
	return kmsctl_remove_result(psk_static_remove(p->db, psk_id), p, "PSK user",
				    psk_id);
}

int kmsctl_psk_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	if (argc < 2) {
		usage_psk(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (kmsctl_is_help(sub) || (argc >= 3 && kmsctl_is_help(argv[2]))) {
		usage_psk(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "add") == 0) {
		return psk_add(p, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0) {
		bool json = false;
		int rc = kmsctl_list_args(argc - 1, argv + 1, "psk list", &json);
		return rc != EXIT_SUCCESS ? rc : psk_list(p, json);
	}
	if (strcmp(sub, "remove") == 0 && argc == 3) {
		return psk_remove(p, argv[2]);
	}
	return kmsctl_usage_error(
	    "psk: expected 'add PSK_ID ...', 'list' or 'remove PSK_ID'");
}
