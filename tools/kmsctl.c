/*
 * kmsctl: the operator tool for the KMS stores.
 *
 *   kmsctl [-d STATE_DIR] init [--demo]
 *   kmsctl [-d STATE_DIR] key rotate|list|retire ID
 *   kmsctl [-d STATE_DIR] psk add|list|remove ...
 *   kmsctl [-d STATE_DIR] policy add|list|remove|test ... (kmsctl_policy.c)
 *   kmsctl [-d STATE_DIR] peer add|list|remove ... (kmsctl_peer.c)
 *
 * STATE_DIR (default ./var) holds kms.db and the KEK file "kek".  Exit
 * status: 0 success, 1 failure (the reason on stderr), 2 usage error.
 * Key bytes are printed only where an operator provisions a UE or a peer:
 * the demo keys of init --demo and the keys of psk add --generate and
 * peer add --generate, each once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "kms/keyring.h"
#include "kms/psk_static.h"
#include "tools/kmsctl.h"
#include "tools/kmsctl_peer.h"

#define LIST_KEYS_MAX 1024
#define KEY_FILE_MAX 256 /* bytes read from --key-file */
#define DEMO_KEY_LEN 16

static const char *prog = "kmsctl";

int fail(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (code != KMS_EOK) {
		fprintf(stderr, ": %s", kms_strerror(code));
	}
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int list_result(int ret, const paths_t *p, const char *what)
{
	if (ret == KMS_ENOENT) {
		return fail(ret, "no store at %s (run kmsctl init first)", p->db);
	}
	if (ret != KMS_EOK) {
		return fail(ret, "cannot list the %s in %s", what, p->db);
	}
	return EXIT_SUCCESS;
}

int remove_result(int ret, const paths_t *p, const char *kind, const char *id)
{
	if (ret == KMS_ENOENT) {
		return fail(KMS_EOK, "no %s '%s' in %s", kind, id, p->db);
	}
	if (ret != KMS_EOK) {
		return fail(ret, "cannot remove %s '%s'", kind, id);
	}
	printf("removed %s %s\n", kind, id);
	return EXIT_SUCCESS;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	return EXIT_USAGE;
}

/* --- usage texts ------------------------------------------------------------ */

static void usage_main(FILE *f)
{
	fprintf(f,
		"usage: kmsctl [-d STATE_DIR] COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"commands:\n"
		"  init                     create the state directory, KEK and store\n"
		"  key rotate|list|retire   manage the ticket master keys\n"
		"  psk add|list|remove      manage static PSK users\n"
		"  policy add|list|remove|test  manage the ticket policy rules\n"
		"  peer add|list|remove     manage the Zk peer KMSs\n"
		"\n"
		"  -d, --state-dir DIR  state directory (default ./var): kms.db, kek\n"
		"  -h, --help           this text\n"
		"\n"
		"kmsctl COMMAND --help shows the options of a command.\n"
		"Exit: 0 success, 1 failure, 2 usage error.\n");
}

static void usage_init(FILE *f)
{
	fprintf(f,
		"usage: kmsctl [-d STATE_DIR] init [--demo]\n"
		"\n"
		"Create STATE_DIR (mode 0700), a random KEK file (0600), the store\n"
		"kms.db and a first active master key, each only if absent.\n"
		"\n"
		"  --demo      also add the PSK users alice@example.org and\n"
		"              bob@example.org with random 16-byte keys; each new key\n"
		"              is printed once and written to STATE_DIR/demo-NAME.psk\n"
		"  -h, --help  this text\n");
}

static void usage_key(FILE *f)
{
	fprintf(f, "usage: kmsctl [-d STATE_DIR] key rotate\n"
		   "       kmsctl [-d STATE_DIR] key list\n"
		   "       kmsctl [-d STATE_DIR] key retire ID\n"
		   "\n"
		   "rotate  make a new random master key active; the previous one still\n"
		   "        opens tickets until retired (kmsd picks it up on SIGHUP)\n"
		   "list    id, state and times of every key (never key bytes)\n"
		   "retire  delete a rotated key for good (never the active one)\n");
}

static void usage_psk(FILE *f)
{
	fprintf(
	    f,
	    "usage: kmsctl [-d STATE_DIR] psk add PSK_ID --identity NAI [--identity "
	    "NAI]...\n"
	    "                 (--key HEX | --key-file FILE | --generate [--key-len N])\n"
	    "                 [--expires UNIX]\n"
	    "       kmsctl [-d STATE_DIR] psk list\n"
	    "       kmsctl [-d STATE_DIR] psk remove PSK_ID\n"
	    "\n"
	    "  -i, --identity NAI  a KMS user identity of the key owner (1 to %d)\n"
	    "  -k, --key HEX       the key, 16 or 32 bytes in hex (visible in ps and\n"
	    "                      shell history: prefer --key-file)\n"
	    "  -f, --key-file F    read the hex key from file F\n"
	    "  -g, --generate      generate a random key and print it once\n"
	    "  -l, --key-len N     16 (default) or 32, with --generate\n"
	    "  -e, --expires UNIX  expiry in Unix seconds (default 0: never)\n"
	    "  -h, --help          this text\n",
	    KMS_PSK_IDS_MAX);
}

/* --- helpers ---------------------------------------------------------------- */

static int make_paths(const char *dir, paths_t *p)
{
	if (dir[0] == '\0') {
		return KMS_EINVAL;
	}
	int a = snprintf(p->dir, sizeof(p->dir), "%s", dir);
	int b = snprintf(p->db, sizeof(p->db), "%s/kms.db", dir);
	int c = snprintf(p->kek, sizeof(p->kek), "%s/kek", dir);
	if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof(p->dir) ||
	    (size_t)b >= sizeof(p->db) || (size_t)c >= sizeof(p->kek)) {
		return KMS_ERANGE;
	}
	return KMS_EOK;
}

/* Reset getopt for a sub-command's argv (glibc: optind 0 re-initialises). */
void getopt_reset(void)
{
	optind = 0;
	opterr = 1;
}

void format_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, cap, "-");
	}
}

int parse_u32(const char *s, uint32_t *out)
{
	if (s == NULL || *s < '0' || *s > '9') {
		return KMS_EINVAL;
	}
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX) {
		return KMS_EINVAL;
	}
	*out = (uint32_t)v;
	return KMS_EOK;
}

int parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9') {
		return KMS_EINVAL;
	}
	errno = 0;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0) {
		return KMS_EINVAL;
	}
	*out = (int64_t)v;
	return KMS_EOK;
}

/* Load the KEK and check it against the store (if there is one yet). */
int load_kek(const paths_t *p, int create, uint8_t kek[KEYRING_KEK_LEN])
{
	int ret = keyring_kek_load(p->kek, create, kek);
	if (ret == KMS_ENOENT) {
		return fail(ret, "no KEK at %s (run kmsctl init first)", p->kek);
	}
	if (ret != KMS_EOK) {
		return fail(ret, "cannot load the KEK %s", p->kek);
	}
	keyring_t *kr = NULL;
	ret = keyring_load(p->db, kek, &kr);
	keyring_free(kr);
	if (ret == KMS_EAUTH) {
		secmem_wipe(kek, KEYRING_KEK_LEN);
		return fail(ret, "the KEK %s does not open the store %s", p->kek, p->db);
	}
	return EXIT_SUCCESS; /* KMS_ENOENT: no store or no key yet is fine */
}

/* --- init ------------------------------------------------------------------- */

static int ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0) {
		printf("created %s\n", dir);
		return EXIT_SUCCESS;
	}
	if (errno != EEXIST) {
		return fail(-errno, "cannot create %s", dir);
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		return fail(KMS_EINVAL, "%s exists and is not a directory", dir);
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		fprintf(stderr, "%s: warning: %s is accessible by group or others\n",
			prog, dir);
	}
	return EXIT_SUCCESS;
}

static int add_demo(const paths_t *p, const uint8_t kek[KEYRING_KEK_LEN],
		    const char *psk_id, const char *file)
{
	uint8_t key[DEMO_KEY_LEN];
	char hex[2 * DEMO_KEY_LEN + 2];
	char path[PATH_CAP];
	const char *ids[1] = { psk_id };
	int rc = EXIT_SUCCESS;
	int n = snprintf(path, sizeof(path), "%s/%s", p->dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		return fail(KMS_ERANGE, "%s/%s", p->dir, file);
	}
	int ret = crypto_random(key, sizeof(key));
	if (ret == KMS_EOK) {
		ret = hex_encode(key, sizeof(key), hex, sizeof(hex));
	}
	if (ret != KMS_EOK) {
		rc = fail(ret, "cannot generate a key");
		goto cleanup;
	}
	ret = psk_static_add(p->db, kek, psk_id, key, sizeof(key), ids, 1, 0);
	if (ret == KMS_EEXIST) {
		printf("demo PSK user %s exists; its key is not shown again (see %s)\n",
		       psk_id, path);
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		rc = fail(ret, "cannot add the demo PSK user %s", psk_id);
		goto cleanup;
	}
	strcat(hex, "\n");
	ret = secret_file_write(path, 0, hex, strlen(hex));
	if (ret != KMS_EOK) {
		(void)psk_static_remove(p->db, psk_id);
		rc = fail(ret, "cannot write %s (demo user %s not added)", path, psk_id);
		goto cleanup;
	}
	/* The one place a demo key is shown: the operator provisions the UE. */
	printf("psk %s %s", psk_id, hex);
cleanup:
	secmem_wipe(key, sizeof(key));
	secmem_wipe(hex, sizeof(hex));
	return rc;
}

static int cmd_init(const paths_t *p, int argc, char **argv)
{
	static const struct option opts[] = { { "demo", no_argument, NULL, 'D' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int demo = 0, c;
	getopt_reset();
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			demo = 1;
			break;
		case 'h':
			usage_init(stdout);
			return EXIT_SUCCESS;
		default:
			usage_init(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		return usage_error("init: unexpected argument '%s'", argv[optind]);
	}
	uint8_t kek[KEYRING_KEK_LEN];
	int rc = ensure_dir(p->dir);
	if (rc == EXIT_SUCCESS) {
		rc = load_kek(p, 1, kek);
	}
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	keyring_t *kr = NULL;
	int ret = keyring_load(p->db, kek, &kr);
	if (ret == KMS_EOK) {
		uint32_t id = 0;
		const uint8_t *unused = NULL;
		keyring_active(kr, &id, &unused);
		printf("master key %" PRIu32 " is active\n", id);
	} else if (ret == KMS_ENOENT) {
		uint32_t id = 0;
		ret = keyring_rotate(p->db, kek, &id);
		if (ret == KMS_EOK) {
			printf("created master key %" PRIu32 "\n", id);
		}
	}
	keyring_free(kr);
	if (ret != KMS_EOK) {
		rc = fail(ret, "cannot set up the keyring in %s", p->db);
	}
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

/* --- key -------------------------------------------------------------------- */

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

static int key_rotate(const paths_t *p)
{
	uint8_t kek[KEYRING_KEK_LEN];
	int rc = load_kek(p, 0, kek);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	uint32_t id = 0;
	int ret = keyring_rotate(p->db, kek, &id);
	secmem_wipe(kek, sizeof(kek));
	if (ret == KMS_ELIMIT) {
		return fail(ret, "%d keys in use; retire old keys first", KEYRING_MAX);
	}
	if (ret != KMS_EOK) {
		return fail(ret, "cannot rotate the master key in %s", p->db);
	}
	printf("master key %" PRIu32 " is active\n", id);
	return EXIT_SUCCESS;
}

static int key_list(const paths_t *p)
{
	keyring_info_t *info = calloc(LIST_KEYS_MAX, sizeof(*info));
	if (info == NULL) {
		return fail(KMS_ENOMEM, "key list");
	}
	size_t n = 0;
	int ret = keyring_list(p->db, info, LIST_KEYS_MAX, &n);
	if (ret != KMS_EOK) {
		free(info);
		return list_result(ret, p, "keys");
	}
	printf("%-10s %-8s %-20s %-20s %s\n", "ID", "STATE", "CREATED", "ROTATED",
	       "RETIRED");
	for (size_t i = 0; i < n; i++) {
		char cr[32], ro[32], re[32];
		format_time(info[i].created, cr, sizeof(cr));
		format_time(info[i].rotated, ro, sizeof(ro));
		format_time(info[i].retired, re, sizeof(re));
		printf("%-10" PRIu32 " %-8s %-20s %-20s %s\n", info[i].id,
		       state_name(info[i].state), cr, ro, re);
	}
	if (n == LIST_KEYS_MAX) {
		printf("(only the newest %d keys are shown)\n", LIST_KEYS_MAX);
	}
	free(info);
	return EXIT_SUCCESS;
}

static int key_retire(const paths_t *p, const char *arg)
{
	uint32_t id = 0;
	if (parse_u32(arg, &id) != KMS_EOK || id == 0) {
		return usage_error("key retire: '%s' is not a key id", arg);
	}
	int ret = keyring_retire(p->db, id);
	switch (ret) {
	case KMS_EOK:
		printf("master key %" PRIu32 " retired\n", id);
		return EXIT_SUCCESS;
	case KMS_EINVAL:
		return fail(KMS_EOK,
			    "master key %" PRIu32 " is the active key; rotate first", id);
	case KMS_ENOENT:
		return fail(KMS_EOK, "no master key %" PRIu32 " in %s", id, p->db);
	default:
		return fail(ret, "cannot retire master key %" PRIu32, id);
	}
}

static int cmd_key(const paths_t *p, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int c;
	getopt_reset();
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_key(stdout);
			return EXIT_SUCCESS;
		}
		usage_key(stderr);
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage_key(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[optind];
	int rest = argc - optind - 1;
	if (rest == 1 && strcmp(argv[optind + 1], "--help") == 0) {
		usage_key(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "rotate") == 0 && rest == 0) {
		return key_rotate(p);
	}
	if (strcmp(sub, "list") == 0 && rest == 0) {
		return key_list(p);
	}
	if (strcmp(sub, "retire") == 0 && rest == 1) {
		return key_retire(p, argv[optind + 1]);
	}
	return usage_error("key: expected 'rotate', 'list' or 'retire ID'");
}

/* --- psk -------------------------------------------------------------------- */

typedef struct {
	const char *ids[KMS_PSK_IDS_MAX];
	size_t nids;
	const char *key_hex;
	const char *key_file;
	int generate;
	size_t key_len;
	int64_t expires;
} psk_add_args_t;

static int parse_psk_add(int argc, char **argv, psk_add_args_t *a, const char **psk_id)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'i' },
		{ "key", required_argument, NULL, 'k' },
		{ "key-file", required_argument, NULL, 'f' },
		{ "generate", no_argument, NULL, 'g' },
		{ "key-len", required_argument, NULL, 'l' },
		{ "expires", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, key_len_set = 0;
	uint32_t v = 0;
	getopt_reset();
	while ((c = getopt_long(argc, argv, "i:k:f:gl:e:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (a->nids >= KMS_PSK_IDS_MAX) {
				return usage_error("psk add: at most %d identities",
						   KMS_PSK_IDS_MAX);
			}
			if (psk_static_check_identity(optarg) != KMS_EOK) {
				return usage_error(
				    "psk add: '%s' is not a KMS user identity "
				    "(user@domain, no spaces or '*')",
				    optarg);
			}
			a->ids[a->nids++] = optarg;
			break;
		case 'k':
			a->key_hex = optarg;
			break;
		case 'f':
			a->key_file = optarg;
			break;
		case 'g':
			a->generate = 1;
			break;
		case 'l':
			if (parse_u32(optarg, &v) != KMS_EOK || (v != 16 && v != 32)) {
				return usage_error("psk add: --key-len must be 16 or 32");
			}
			a->key_len = v;
			key_len_set = 1;
			break;
		case 'e':
			if (parse_i64(optarg, &a->expires) != KMS_EOK) {
				return usage_error(
				    "psk add: --expires needs Unix seconds");
			}
			break;
		case 'h':
			usage_psk(stdout);
			return -1;
		default:
			usage_psk(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		return usage_error("psk add: expected exactly one PSK_ID");
	}
	*psk_id = argv[optind];
	if (psk_static_check_id(*psk_id) != KMS_EOK) {
		return usage_error(
		    "psk add: PSK_ID must be 1 to %d bytes without control "
		    "characters",
		    PSK_STATIC_ID_MAX);
	}
	if (a->nids == 0) {
		return usage_error("psk add: at least one --identity is needed");
	}
	if ((a->key_hex != NULL) + (a->key_file != NULL) + a->generate != 1) {
		return usage_error("psk add: give exactly one of --key, --key-file, "
				   "--generate");
	}
	if (key_len_set && !a->generate) {
		return usage_error("psk add: --key-len goes with --generate");
	}
	return EXIT_SUCCESS;
}

/* Decode a hex key of 16 or 32 bytes (surrounding whitespace ignored). */
static int decode_key(const char *text, size_t len, uint8_t key[KMS_PSK_MAX],
		      size_t *key_len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
			   text[len - 1] == ' ' || text[len - 1] == '\t')) {
		len--;
	}
	size_t got = 0;
	if (hex_decode(text, len, key, KMS_PSK_MAX, &got) != KMS_EOK ||
	    (got != 16 && got != 32)) {
		secmem_wipe(key, KMS_PSK_MAX);
		return KMS_EINVAL;
	}
	*key_len = got;
	return KMS_EOK;
}

static int read_key_file(const char *path, uint8_t key[KMS_PSK_MAX], size_t *key_len)
{
	char buf[KEY_FILE_MAX + 1];
	size_t len = 0;
	int ret = KMS_EOK;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return fail(-errno, "cannot open %s", path);
	}
	len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		ret = KMS_EIO;
	}
	fclose(f);
	if (ret == KMS_EOK && len > KEY_FILE_MAX) {
		ret = KMS_ELIMIT;
	}
	if (ret == KMS_EOK) {
		ret = decode_key(buf, len, key, key_len);
	}
	secmem_wipe(buf, sizeof(buf));
	if (ret != KMS_EOK) {
		return fail(KMS_EOK, "%s does not hold a 16- or 32-byte hex key", path);
	}
	return EXIT_SUCCESS;
}

static int psk_add(const paths_t *p, int argc, char **argv)
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
	int ret = KMS_EOK;
	hex[0] = '\0';
	if (a.key_hex != NULL) {
		if (decode_key(a.key_hex, strlen(a.key_hex), key, &key_len) != KMS_EOK) {
			rc = usage_error("psk add: --key must be 16 or 32 bytes of hex");
		}
	} else if (a.key_file != NULL) {
		rc = read_key_file(a.key_file, key, &key_len);
	} else {
		key_len = a.key_len;
		ret = crypto_random(key, key_len);
		if (ret == KMS_EOK) {
			ret = hex_encode(key, key_len, hex, sizeof(hex));
		}
		if (ret != KMS_EOK) {
			rc = fail(ret, "cannot generate a key");
		}
	}
	if (rc == EXIT_SUCCESS) {
		rc = load_kek(p, 0, kek);
	}
	if (rc != EXIT_SUCCESS) {
		goto cleanup;
	}
	ret = psk_static_add(p->db, kek, psk_id, key, key_len, a.ids, a.nids, a.expires);
	if (ret == KMS_EEXIST) {
		rc = fail(KMS_EOK, "PSK user '%s' exists (remove it first)", psk_id);
	} else if (ret != KMS_EOK) {
		rc = fail(ret, "cannot add PSK user '%s'", psk_id);
	} else if (a.generate) {
		/* Shown once: the operator provisions the UE with it. */
		printf("psk %s %s\n", psk_id, hex);
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
	format_time(u->expires, ex, sizeof(ex));
	format_time(u->created, cr, sizeof(cr));
	printf("%-32s %-6zu %-20s %-20s ", u->psk_id, u->key_len, ex, cr);
	for (size_t i = 0; i < u->nids; i++) {
		printf("%s%s", i > 0 ? "," : "", u->ids[i]);
	}
	putchar('\n');
	return KMS_EOK;
}

static int psk_list(const paths_t *p)
{
	printf("%-32s %-6s %-20s %-20s %s\n", "PSK_ID", "KEYLEN", "EXPIRES", "CREATED",
	       "IDENTITIES");
	return list_result(psk_static_list(p->db, print_user, NULL), p, "PSK users");
}

static int psk_remove(const paths_t *p, const char *psk_id)
{
	if (psk_static_check_id(psk_id) != KMS_EOK) {
		return usage_error("psk remove: '%s' is not a valid PSK_ID", psk_id);
	}
	return remove_result(psk_static_remove(p->db, psk_id), p, "PSK user", psk_id);
}

static int cmd_psk(const paths_t *p, int argc, char **argv)
{
	if (argc < 2) {
		usage_psk(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage_psk(stdout);
		return EXIT_SUCCESS;
	}
	if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		usage_psk(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "add") == 0) {
		return psk_add(p, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0 && argc == 2) {
		return psk_list(p);
	}
	if (strcmp(sub, "remove") == 0 && argc == 3) {
		return psk_remove(p, argv[2]);
	}
	return usage_error("psk: expected 'add PSK_ID ...', 'list' or 'remove PSK_ID'");
}

/* --- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "state-dir", required_argument, NULL,
						'd' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *dir = "./var";
	int c;
	log_open(prog, LOG_TARGET_STDERR);
	log_level_set(LOG_WARNING);
	while ((c = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage_main(stdout);
			return EXIT_SUCCESS;
		default:
			usage_main(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	paths_t p;
	if (make_paths(dir, &p) != KMS_EOK) {
		return usage_error("-d: bad state directory");
	}
	if (crypto_init() != KMS_EOK) {
		return fail(KMS_ECRYPTO, "crypto initialisation");
	}
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	const char *cmd = sub_argv[0];
	int rc;
	if (strcmp(cmd, "init") == 0) {
		rc = cmd_init(&p, sub_argc, sub_argv);
	} else if (strcmp(cmd, "key") == 0) {
		rc = cmd_key(&p, sub_argc, sub_argv);
	} else if (strcmp(cmd, "psk") == 0) {
		rc = cmd_psk(&p, sub_argc, sub_argv);
	} else if (strcmp(cmd, "policy") == 0) {
		rc = cmd_policy(&p, sub_argc, sub_argv);
	} else if (strcmp(cmd, "peer") == 0) {
		rc = cmd_peer(&p, sub_argc, sub_argv);
	} else {
		rc = usage_error("unknown command '%s'", cmd);
	}
	if (fflush(stdout) != 0 && rc == EXIT_SUCCESS) {
		rc = fail(KMS_EIO, "writing the output");
	}
	log_close();
	return rc;
}
