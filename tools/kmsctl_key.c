/*
 * kmsctl key rotate|list|retire: the ticket master keys in kms.db
 * (kms/keyring.h).  Never prints key bytes; a running kmsd picks changes
 * up within policy.reload_interval seconds (or at once on SIGHUP).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/keyring.h"
#include "tools/kmsctl.h"

#define LIST_KEYS_MAX 1024

static void usage_key(FILE *f)
{
	fprintf(f, "usage: kmsctl [-d STATE_DIR] key rotate\n"
		   "       kmsctl [-d STATE_DIR] key list [--json]\n"
		   "       kmsctl [-d STATE_DIR] key retire ID\n"
		   "\n"
		   "rotate  make a new random master key active; the previous one still\n"
		   "        opens tickets until retired\n"
		   "list    id, state and times of every key (never key bytes); --json:\n"
		   "        one JSON array of {id, state, created, rotated, retired}\n"
		   "        (Unix seconds, null for never)\n"
		   "retire  delete a rotated key for good (never the active one)\n"
		   "\n"
		   "A running kmsd picks changes up within policy.reload_interval\n"
		   "seconds (or at once on SIGHUP).\n");
}

static const char *state_name(keyring_state_t s)
{
	switch (s) {
	case KEYRING_ACTIVE:
		return "active";
	case KEYRING_ROTATED:
		return "rotated";
	case KEYRING_RETIRED:
		return "retired";
	}
	return "?";
}

static int key_rotate(const kmsctl_paths_t *p)
{
	uint8_t kek[KEYRING_KEK_LEN];
	int rc = kmsctl_load_kek(p, 0, kek);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	uint32_t id = 0;
	int ret = keyring_rotate(p->db, kek, &id);
	secmem_wipe(kek, sizeof(kek));
	if (ret == KMS_ELIMIT) {
		return kmsctl_fail(ret, "%d keys in use; retire old keys first",
				   KEYRING_MAX);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot rotate the master key in %s",
				   p->db_label);
	}
	printf("master key %" PRIu32 " is active\n", id);
	return EXIT_SUCCESS;
}

static void print_key(const keyring_info_t *k)
{
	char cr[32], ro[32], re[32];
	kmsctl_format_time(k->created, cr, sizeof(cr));
	kmsctl_format_time(k->rotated, ro, sizeof(ro));
	kmsctl_format_time(k->retired, re, sizeof(re));
	printf("%-10" PRIu32 " %-8s %-20s %-20s %s\n", k->id, state_name(k->state), cr,
	       ro, re);
}

static json_t *key_json(const keyring_info_t *k)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:o}", "id", (json_int_t)k->id, "state",
			 state_name(k->state), "created", kmsctl_json_time(k->created),
			 "rotated", kmsctl_json_time(k->rotated), "retired",
			 kmsctl_json_time(k->retired));
}

/* The keys as one JSON array; a key that does not convert fails it. */
static int print_keys_json(const keyring_info_t *info, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, key_json(&info[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return kmsctl_json_print(a);
}

static int key_list(const kmsctl_paths_t *p, bool json)
{
	keyring_info_t *info = calloc(LIST_KEYS_MAX, sizeof(*info));
	if (info == NULL) {
		return kmsctl_fail(KMS_ENOMEM, "key list");
	}
	size_t n = 0;
	int ret = keyring_list(p->db, info, LIST_KEYS_MAX, &n);
	if (ret != KMS_EOK) {
		free(info);
		return kmsctl_list_result(ret, p, "keys");
	}
	if (json) {
		int rc = print_keys_json(info, n);
		free(info);
		return rc;
	}
	printf("%-10s %-8s %-20s %-20s %s\n", "ID", "STATE", "CREATED", "ROTATED",
	       "RETIRED");
	for (size_t i = 0; i < n; i++) {
		print_key(&info[i]);
	}
	if (n == LIST_KEYS_MAX) {
		printf("(only the newest %d keys are shown)\n", LIST_KEYS_MAX);
	}
	free(info);
	return EXIT_SUCCESS;
}

static int key_retire(const kmsctl_paths_t *p, const char *arg)
{
	uint32_t id = 0;
	if (kmsctl_parse_u32(arg, &id) != KMS_EOK || id == 0) {
		return kmsctl_usage_error("key retire: '%s' is not a key id", arg);
	}
	int ret = keyring_retire(p->db, id);
	switch (ret) {
	case KMS_EOK:
		printf("master key %" PRIu32 " retired\n", id);
		return EXIT_SUCCESS;
	case KMS_EINVAL:
		return kmsctl_fail(
		    KMS_EOK, "master key %" PRIu32 " is the active key; rotate first",
		    id);
	case KMS_ENOENT:
		return kmsctl_fail(KMS_EOK, "no master key %" PRIu32 " in %s", id,
				   p->db_label);
	default:
		return kmsctl_fail(ret, "cannot retire master key %" PRIu32, id);
	}
}

int kmsctl_key_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_key(stdout);
			return EXIT_SUCCESS;
		}
		usage_key(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	if (optind >= argc) {
		usage_key(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	const char *sub = argv[optind];
	int rest = argc - optind - 1;
	if (rest >= 1 && kmsctl_is_help(argv[optind + 1])) {
		usage_key(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "rotate") == 0 && rest == 0) {
		return key_rotate(p);
	}
	if (strcmp(sub, "list") == 0) {
		bool json = false;
		int rc = kmsctl_list_args(rest + 1, argv + optind, "key list", &json);
		return rc != EXIT_SUCCESS ? rc : key_list(p, json);
	}
	if (strcmp(sub, "retire") == 0 && rest == 1) {
		return key_retire(p, argv[optind + 1]);
	}
	return kmsctl_usage_error("key: expected 'rotate', 'list' or 'retire ID'");
}
