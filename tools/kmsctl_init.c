/*
 * kmsctl init [--demo]: create the state directory, the KEK, the store and
 * a first active master key, each only if absent.  With --demo, two PSK
 * users whose keys are written to STATE_DIR/demo-*.psk (never printed).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "kms/keyring.h"
#include "kms/psk_static.h"
#include "tools/kmsctl.h"

#define DEMO_KEY_LEN 16

static void usage_init(FILE *f)
{
	fprintf(f,
		"usage: kmsctl [-d STATE_DIR | -c KMSD_CONF] init [--demo]\n"
		"\n"
		"Create STATE_DIR (mode 0700), a random KEK file (0600), the store\n"
		"kms.db and a first active master key, each only if absent.\n"
		"\n"
		"  --demo      also add the PSK users alice@example.org and\n"
		"              bob@example.org with random 16-byte keys; each new key\n"
		"              is written to STATE_DIR/demo-NAME.psk (never printed)\n"
		"  -h, --help  this text\n");
}

/* The directory (0700; kmsctl_share makes it 0770 with kms.user). */
static int ensure_dir(const kmsctl_paths_t *p)
{
	const char *dir = p->dir;
	if (mkdir(dir, 0700) == 0) {
		printf("created %s\n", dir);
		return EXIT_SUCCESS;
	}
	if (errno != EEXIST) {
		return kmsctl_fail(-errno, "cannot create %s", dir);
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		return kmsctl_fail(KMS_EINVAL, "%s exists and is not a directory", dir);
	}
	mode_t open_to = p->shared ? S_IRWXO : S_IRWXG | S_IRWXO;
	if ((sb.st_mode & open_to) != 0) {
		fprintf(stderr, "%s: warning: %s is accessible by group or others\n",
			KMSCTL_PROG, dir);
	}
	return EXIT_SUCCESS;
}

static int add_demo(const kmsctl_paths_t *p, const uint8_t kek[KEYRING_KEK_LEN],
		    const char *psk_id, const char *file)
{
	uint8_t key[DEMO_KEY_LEN];
	char hex[2 * DEMO_KEY_LEN + 2];
	char path[KMSCTL_PATH_CAP];
	const char *ids[1] = { psk_id };
	int rc = EXIT_SUCCESS;
	int n = snprintf(path, sizeof(path), "%s/%s", p->dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		return kmsctl_fail(KMS_ERANGE, "%s/%s", p->dir, file);
	}
	int ret = crypto_random(key, sizeof(key));
	if (ret == KMS_EOK) {
		ret = hex_encode(key, sizeof(key), hex, sizeof(hex));
	}
	if (ret != KMS_EOK) {
		rc = kmsctl_fail(ret, "cannot generate a key");
		goto cleanup;
	}
	ret = psk_static_add(p->db, kek, psk_id, key, sizeof(key), ids, 1, 0);
	if (ret == KMS_EEXIST) {
		printf("demo PSK user %s exists; its key is not shown again (see %s)\n",
		       psk_id, path);
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		rc = kmsctl_fail(ret, "cannot add the demo PSK user %s", psk_id);
		goto cleanup;
	}
	strcat(hex, "\n");
	ret = secret_file_write(path, 0, hex, strlen(hex));
	if (ret != KMS_EOK) {
		(void)psk_static_remove(p->db, psk_id);
		rc = kmsctl_fail(ret, "cannot write %s (demo user %s not added)", path,
				 psk_id);
		goto cleanup;
	}
	/* The key stays in its 0600 file: the operator provisions the UE from it. */
	printf("demo PSK user %s added; its key is in %s\n", psk_id, path);
cleanup:
	secmem_wipe(key, sizeof(key));
	secmem_wipe(hex, sizeof(hex));
	return rc;
}

/* --demo into *demo; EXIT_SUCCESS, KMSCTL_EXIT_USAGE, or -1 after --help. */
static int parse_init(int argc, char **argv, int *demo)
{
	static const struct option opts[] = { { "demo", no_argument, NULL, 'D' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			*demo = 1;
			break;
		case 'h':
			usage_init(stdout);
			return -1;
		default:
			usage_init(stderr);
			return KMSCTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		return kmsctl_usage_error("init: unexpected argument '%s'", argv[optind]);
	}
	return EXIT_SUCCESS;
}

/* Report the active master key, or create the first one. */
static int setup_keyring(const kmsctl_paths_t *p, const uint8_t kek[KEYRING_KEK_LEN])
{
	keyring_t *kr = NULL;
	uint32_t id = 0;
	int ret = keyring_load(p->db, kek, &kr);
	if (ret == KMS_EOK) {
		const uint8_t *unused = NULL;
		keyring_active(kr, &id, &unused);
		printf("master key %" PRIu32 " is active\n", id);
	} else if (ret == KMS_ENOENT) {
		ret = keyring_rotate(p->db, kek, &id);
		if (ret == KMS_EOK) {
			printf("created master key %" PRIu32 "\n", id);
		}
	}
	keyring_free(kr);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot set up the keyring in %s", p->db_label);
	}
	return EXIT_SUCCESS;
}

int kmsctl_init_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	int demo = 0;
	int rc = parse_init(argc, argv, &demo);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc; /* -1: --help */
	}
	uint8_t kek[KEYRING_KEK_LEN];
	rc = ensure_dir(p);
	if (rc == EXIT_SUCCESS) {
		rc = kmsctl_load_kek(p, 1, kek);
	}
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	rc = setup_keyring(p, kek);
	if (rc == EXIT_SUCCESS && demo) {
		rc = add_demo(p, kek, "alice@example.org", "demo-alice.psk");
		if (rc == EXIT_SUCCESS) {
			rc = add_demo(p, kek, "bob@example.org", "demo-bob.psk");
		}
	}
	secmem_wipe(kek, sizeof(kek));
	if (rc == EXIT_SUCCESS) {
		printf("initialised %s\n", p->dir);
	}
	return rc;
}
