/*
 * kmsctl tpk add|list|retire|delete: the ticket protection keys of
 * Initiators that build their own tickets (RFC 6043 mode 3, flag D = 0),
 * kms/tpk.h.  add writes the fresh key once, to a new 0600 file for the
 * Initiator (kms-ue create-ticket --tpk-file); it is never printed.
 *
 * Key file (text): "kms-tpk 1", then "id N", "owner IDENTITY", "key HEX".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "kms/keyring.h"
#include "kms/psk_static.h"
#include "kms/tpk.h"
#include "tools/kmsctl.h"

#define FILE_MAX (64 + TPK_OWNER_MAX + 2 * MIKEY_TPK_LEN)

static void usage_tpk(FILE *f)
{
	fprintf(f, "usage: kmsctl [-d STATE_DIR] tpk add IDENTITY --out FILE\n"
		   "       kmsctl [-d STATE_DIR] tpk list [--json]\n"
		   "       kmsctl [-d STATE_DIR] tpk retire ID\n"
		   "       kmsctl [-d STATE_DIR] tpk delete ID\n"
		   "\n"
		   "Ticket protection keys for an Initiator that builds its own\n"
		   "tickets (flag D = 0, kms-ue create-ticket).  add generates a\n"
		   "random 32-byte key for the KMS user identity IDENTITY (the only\n"
		   "Initiator its tickets may name) and writes it with its id to the\n"
		   "new file FILE (mode 0600; never printed).  retire refuses the\n"
		   "key's tickets from kmsd's next reload on (a leaked key); delete\n"
		   "forgets it.  kmsd resolves such tickets only where a policy rule\n"
		   "(--initiator-tickets) or policy.default_initiator_tickets allows.\n"
		   "\n"
		   "  -o, --out FILE  add: where the key goes (must not exist)\n"
		   "  -h, --help      this text\n");
}

static int write_key_file(const char *path, uint32_t id, const char *owner,
			  const uint8_t key[MIKEY_TPK_LEN])
{
	char buf[FILE_MAX], hex[2 * MIKEY_TPK_LEN + 1];
	int ret = hex_encode(key, MIKEY_TPK_LEN, hex, sizeof(hex));
	int n = ret == KMS_EOK
		    ? snprintf(buf, sizeof(buf), "kms-tpk 1\nid %u\nowner %s\nkey %s\n",
			       id, owner, hex)
		    : -1;
	if (ret == KMS_EOK && (n < 0 || (size_t)n >= sizeof(buf))) {
		ret = KMS_ESPACE;
	}
	if (ret == KMS_EOK) {
		ret = secret_file_write(path, SECRET_FILE_EXCL, buf, (size_t)n);
	}
	secmem_wipe(buf, sizeof(buf));
	secmem_wipe(hex, sizeof(hex));
	return ret;
}

static int tpk_add_cmd(const kmsctl_paths_t *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_tpk(stdout);
			return EXIT_SUCCESS;
		}
		if (c != 'o') {
			usage_tpk(stderr);
			return KMSCTL_EXIT_USAGE;
		}
		out = optarg;
	}
	if (optind + 1 != argc || out == NULL) {
		return kmsctl_usage_error("tpk add: expected IDENTITY and --out FILE");
	}
	const char *owner = argv[optind];
	if (psk_static_check_identity(owner) != KMS_EOK) {
		return kmsctl_usage_error("tpk add: '%s' is not a KMS user identity",
					  owner);
	}
	uint8_t kek[KEYRING_KEK_LEN], key[MIKEY_TPK_LEN];
	uint32_t id = 0;
	int rc = kmsctl_load_kek(p, 0, kek);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	int ret = tpk_add(p->db, kek, owner, key, &id);
	if (ret != KMS_EOK) {
		rc = kmsctl_fail(ret, "cannot add a ticket protection key for %s", owner);
	} else if ((ret = write_key_file(out, id, owner, key)) != KMS_EOK) {
		/* No file for the Initiator: the key must not stay usable. */
		(void)tpk_delete(p->db, id);
		rc = kmsctl_fail(ret, "cannot create %s (key not added)", out);
	} else {
		printf("added ticket protection key %u for %s; it is in %s\n", id, owner,
		       out);
	}
	secmem_wipe(key, sizeof(key));
	secmem_wipe(kek, sizeof(kek));
	return rc;
}

static int print_key(void *ctx, const tpk_info_t *k)
{
	json_t *a = ctx;
	char cr[32], rt[32];
	if (a != NULL) {
		json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:o}", "id",
				      (json_int_t)k->id, "owner", k->owner, "state",
				      k->retired ? "retired" : "active", "created",
				      kmsctl_json_time(k->created), "retired",
				      kmsctl_json_time(k->retired_at));
		return json_array_append_new(a, o) == 0 ? KMS_EOK : KMS_ENOMEM;
	}
	kmsctl_format_time(k->created, cr, sizeof(cr));
	kmsctl_format_time(k->retired_at, rt, sizeof(rt));
	printf("%-10u %-8s %-20s %-20s %s\n", k->id, k->retired ? "retired" : "active",
	       cr, rt, k->owner);
	return KMS_EOK;
}

static int tpk_list_cmd(const kmsctl_paths_t *p, bool json)
{
	if (json) {
		json_t *a = json_array();
		int ret = a != NULL ? tpk_list(p->db, print_key, a) : KMS_ENOMEM;
		if (ret != KMS_EOK) {
			json_decref(a);
			return kmsctl_list_result(ret, p, "ticket protection keys");
		}
		return kmsctl_json_print(a);
	}
	printf("%-10s %-8s %-20s %-20s %s\n", "ID", "STATE", "CREATED", "RETIRED",
	       "OWNER");
	return kmsctl_list_result(tpk_list(p->db, print_key, NULL), p,
				  "ticket protection keys");
}

int kmsctl_tpk_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	uint32_t id = 0;
	if (argc < 2) {
		usage_tpk(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (kmsctl_is_help(sub) || (argc >= 3 && kmsctl_is_help(argv[2]))) {
		usage_tpk(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "add") == 0) {
		return tpk_add_cmd(p, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0) {
		bool json = false;
		int rc = kmsctl_list_args(argc - 1, argv + 1, "tpk list", &json);
		return rc != EXIT_SUCCESS ? rc : tpk_list_cmd(p, json);
	}
	bool retire = strcmp(sub, "retire") == 0;
	if ((retire || strcmp(sub, "delete") == 0) && argc == 3) {
		if (kmsctl_parse_u32(argv[2], &id) != KMS_EOK || id == 0) {
			return kmsctl_usage_error("tpk %s: '%s' is not a key id", sub,
						  argv[2]);
		}
		if (!retire) {
			return kmsctl_remove_result(tpk_delete(p->db, id), p,
						    "ticket protection key", argv[2]);
		}
		int ret = tpk_retire(p->db, id);
		if (ret == KMS_ENOENT) {
			return kmsctl_fail(KMS_EOK, "no active ticket protection key %u",
					   id);
		}
		if (ret != KMS_EOK) {
			return kmsctl_fail(ret, "cannot retire ticket protection key %u",
					   id);
		}
		printf("retired ticket protection key %u\n", id);
		return EXIT_SUCCESS;
	}
	return kmsctl_usage_error("tpk: expected 'add IDENTITY --out FILE', 'list', "
				  "'retire ID' or 'delete ID'");
}
