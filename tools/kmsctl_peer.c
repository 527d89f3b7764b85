/*
 * kmsctl peer add|list|remove: the Zk peers in kms.db (zk/peer.h).  The
 * per-peer key is never printed: add --generate OUT writes it to a new 0600
 * file, which the operator carries to the peer KMS (its peer add
 * --key-file).  kmsd picks changes up on SIGHUP.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "policy/identity.h"
#include "tools/kmsctl.h"
#include "zk/peer.h"

_Static_assert(ZK_KEK_LEN == KEYRING_KEK_LEN, "the peers use the store's KEK");

static void usage_peer(FILE *f)
{
	fprintf(f,
		"usage: kmsctl [-d STATE_DIR] peer add --kms-id ID --url URL --ca FILE\n"
		"                 --cert-name NAME --responders PATTERN\n"
		"                 (--key-file FILE | --generate OUT [--key-len N])\n"
		"       kmsctl [-d STATE_DIR] peer list [--json]\n"
		"       kmsctl [-d STATE_DIR] peer remove ID\n"
		"\n"
		"A peer is another KMS: ticket resolves for tickets it issued are\n"
		"forwarded to it over Zk (HTTPS, mutual TLS), and it may forward\n"
		"resolves for this KMS's tickets here.\n"
		"\n"
		"  -i, --kms-id ID       its identity in IDRkms (1 to %d bytes, no\n"
		"                        spaces or control characters)\n"
		"  -u, --url URL         its Zk base URL, https://HOST[:PORT]/path\n"
		"  -c, --ca FILE         the CA bundle (PEM) its certificates chain to\n"
		"  -n, --cert-name NAME  the DNS name in its certificates (server and\n"
		"                        client)\n"
		"  -r, --responders PATTERN\n"
		"                        the responder identities it may resolve for\n"
		"                        (a user or group identity, e.g.\n"
		"                        '*@other.example'; required: '*@*' must be\n"
		"                        given explicitly to trust it for any\n"
		"                        identity; a sip: URI is stored as its\n"
		"                        user@domain)\n"
		"  -f, --key-file FILE   read the per-peer key (16 or 32 bytes, hex)\n"
		"  -g, --generate OUT    generate a random key and write it, in hex, to\n"
		"                        the new file OUT (mode 0600; never printed):\n"
		"                        the peer is configured with it too\n"
		"  -l, --key-len N       16 or 32 (default), with --generate\n"
		"  -h, --help            this text\n"
		"\n"
		"list --json: one JSON array of {kms_id, url, ca_file, cert_name,\n"
		"responders, key_len, created} (never key bytes).\n"
		"A running kmsd picks changes up within policy.reload_interval.\n",
		ZK_KMS_ID_MAX);
}

typedef struct {
	const char *kms_id, *url, *ca, *cert_name, *responders, *key_file;
	const char *generate; /* the new key file */
	int key_len_set;
	size_t key_len;
	char stored[ZK_RESPONDERS_MAX + 1]; /* responders in its stored form */
} peer_args_t;

/* One option of peer add; EXIT_SUCCESS or KMSCTL_EXIT_USAGE (reported). */
static int take_opt(peer_args_t *a, int c, const char *arg)
{
	uint32_t v = 0;
	switch (c) {
	case 'i':
		a->kms_id = arg;
		return EXIT_SUCCESS;
	case 'u':
		a->url = arg;
		return EXIT_SUCCESS;
	case 'c':
		a->ca = arg;
		return EXIT_SUCCESS;
	case 'n':
		a->cert_name = arg;
		return EXIT_SUCCESS;
	case 'r':
		a->responders = arg;
		return EXIT_SUCCESS;
	case 'f':
		a->key_file = arg;
		return EXIT_SUCCESS;
	case 'g':
		a->generate = arg;
		return EXIT_SUCCESS;
	case 'l':
		if (kmsctl_parse_u32(arg, &v) != KMS_EOK || (v != 16 && v != 32)) {
			return kmsctl_usage_error("peer add: --key-len must be 16 or 32");
		}
		a->key_len = v;
		a->key_len_set = 1;
		return EXIT_SUCCESS;
	default:
		usage_peer(stderr);
		return KMSCTL_EXIT_USAGE;
	}
}

/* The values of --kms-id, --url and --cert-name. */
static int check_names(const peer_args_t *a)
{
	if (a->kms_id == NULL || a->url == NULL || a->ca == NULL ||
	    a->cert_name == NULL) {
		return kmsctl_usage_error(
		    "peer add: --kms-id, --url, --ca and --cert-name are "
		    "needed");
	}
	if (zk_peer_check_kms_id(a->kms_id) != KMS_EOK) {
		return kmsctl_usage_error(
		    "peer add: --kms-id must be 1 to %d bytes without "
		    "spaces or control characters",
		    ZK_KMS_ID_MAX);
	}
	if (zk_peer_check_url(a->url) != KMS_EOK) {
		return kmsctl_usage_error(
		    "peer add: --url must be https://HOST[:PORT]/path "
		    "(no user, query or fragment; at most %d bytes)",
		    ZK_URL_MAX);
	}
	if (zk_peer_check_cert_name(a->cert_name) != KMS_EOK) {
		return kmsctl_usage_error("peer add: --cert-name must be a DNS name");
	}
	return EXIT_SUCCESS;
}

/* --responders into its stored form, then the key options. */
static int check_rest(peer_args_t *a)
{
	if (a->responders == NULL) {
		/* No implicit '*@*': a peer would vouch for this KMS's own
		 * users too. */
		return kmsctl_usage_error(
		    "peer add: --responders PATTERN is needed: the responder "
		    "identities the peer may resolve for, e.g. --responders "
		    "'*@d2.example' (give '*@*' to trust it for any)");
	}
	const char *why = NULL;
	if (identity_pattern_canon(a->responders, a->stored, sizeof(a->stored), &why) !=
	    KMS_EOK) {
		return kmsctl_usage_error(
		    "peer add: --responders must be a user or group "
		    "identity (user@domain or a sip:/sips: URI, '*' for "
		    "one or more characters): '%s': %s",
		    a->responders, why != NULL ? why : "invalid");
	}
	a->responders = a->stored;
	if ((a->key_file != NULL) + (a->generate != NULL) != 1) {
		return kmsctl_usage_error(
		    "peer add: give exactly one of --key-file, --generate");
	}
	if (a->key_len_set && a->generate == NULL) {
		return kmsctl_usage_error("peer add: --key-len goes with --generate");
	}
	return EXIT_SUCCESS;
}

/* EXIT_SUCCESS, KMSCTL_EXIT_USAGE (reported), or -1 after --help. */
static int parse_add(int argc, char **argv, peer_args_t *a)
{
	static const struct option opts[] = {
		{ "kms-id", required_argument, NULL, 'i' },
		{ "url", required_argument, NULL, 'u' },
		{ "ca", required_argument, NULL, 'c' },
		{ "cert-name", required_argument, NULL, 'n' },
		{ "responders", required_argument, NULL, 'r' },
		{ "key-file", required_argument, NULL, 'f' },
		{ "generate", required_argument, NULL, 'g' },
		{ "key-len", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "i:u:c:n:r:f:g:l:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_peer(stdout);
			return -1;
		}
		int rc = take_opt(a, c, optarg);
		if (rc != EXIT_SUCCESS) {
			return rc;
		}
	}
	if (optind != argc) {
		return kmsctl_usage_error("peer add: unexpected argument '%s'",
					  argv[optind]);
	}
	int rc = check_names(a);
	return rc == EXIT_SUCCESS ? check_rest(a) : rc;
}

/* Copy a string known to fit (truncated, never overflowing, if not). */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Fill everything of pe but the key from a; EXIT_SUCCESS or reported. */
static int fill_peer(const peer_args_t *a, zk_peer_t *pe)
{
	char ca[PATH_MAX];
	if (realpath(a->ca, ca) == NULL) {
		return kmsctl_fail(-errno, "peer add: --ca %s", a->ca);
	}
	if (access(ca, R_OK) != 0) {
		return kmsctl_fail(-errno, "peer add: cannot read %s", ca);
	}
	if (zk_peer_check_ca_file(ca) != KMS_EOK) {
		return kmsctl_usage_error("peer add: the path of --ca is over %d bytes",
					  ZK_CA_FILE_MAX);
	}
	/* Lengths were checked: these copies fit. */
	copy_str(pe->kms_id, sizeof(pe->kms_id), a->kms_id);
	copy_str(pe->url, sizeof(pe->url), a->url);
	copy_str(pe->ca_file, sizeof(pe->ca_file), ca);
	copy_str(pe->cert_name, sizeof(pe->cert_name), a->cert_name);
	copy_str(pe->responders, sizeof(pe->responders), a->responders);
	return EXIT_SUCCESS;
}

static int peer_add(const kmsctl_paths_t *p, int argc, char **argv)
{
	peer_args_t a;
	memset(&a, 0, sizeof(a));
	a.key_len = 32;
	int rc = parse_add(argc, argv, &a);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc; /* -1: --help */
	}
	uint8_t kek[KEYRING_KEK_LEN];
	char hex[2 * ZK_KEY_MAX + 2]; /* the key in hex, then a newline */
	hex[0] = '\0';
	zk_peer_t *pe = secmem_alloc(sizeof(*pe));
	if (pe == NULL) {
		return kmsctl_fail(KMS_ENOMEM, "peer add");
	}
	rc = fill_peer(&a, pe);
	if (rc == EXIT_SUCCESS && a.key_file != NULL) {
		rc = kmsctl_key_file_read(a.key_file, pe->key, ZK_KEY_MAX, &pe->key_len);
	} else if (rc == EXIT_SUCCESS) {
		pe->key_len = a.key_len;
		int ret = crypto_random(pe->key, pe->key_len);
		if (ret == KMS_EOK) {
			ret = hex_encode(pe->key, pe->key_len, hex, sizeof(hex));
		}
		if (ret != KMS_EOK) {
			rc = kmsctl_fail(ret, "cannot generate a key");
		}
	}
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
			rc = kmsctl_fail(ret, "cannot create %s (peer '%s' not added)",
					 a.generate, pe->kms_id);
			goto cleanup;
		}
	}
	ret = zk_peer_add(p->db, kek, pe);
	if (ret != KMS_EOK && a.generate != NULL) {
		(void)unlink(a.generate); /* no key file for a peer that was not added */
	}
	if (ret == KMS_EEXIST) {
		rc = kmsctl_fail(
		    KMS_EOK,
		    "a peer with kms-id '%s' or cert-name '%s' exists (remove it "
		    "first)",
		    pe->kms_id, pe->cert_name);
	} else if (ret != KMS_EOK) {
		rc = kmsctl_fail(ret, "cannot add peer '%s'", pe->kms_id);
	} else if (a.generate != NULL) {
		printf("added peer %s (key in %s)\n", pe->kms_id, a.generate);
	} else {
		printf("added peer %s\n", pe->kms_id);
	}
cleanup:
	secmem_free(pe, sizeof(*pe));
	secmem_wipe(kek, sizeof(kek));
	secmem_wipe(hex, sizeof(hex));
	return rc;
}

static int print_peer(void *ctx, const zk_peer_info_t *pe)
{
	(void)ctx;
	char cr[32];
	kmsctl_format_time(pe->created, cr, sizeof(cr));
	printf("%-24s %-40s %-32s %-24s %-24s %-6zu %s\n", pe->kms_id, pe->url,
	       pe->ca_file, pe->cert_name, pe->responders, pe->key_len, cr);
	return KMS_EOK;
}

/* One peer appended to the JSON array ctx. */
static int json_peer(void *ctx, const zk_peer_info_t *pe)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "kms_id", pe->kms_id, "url",
		      pe->url, "ca_file", pe->ca_file, "cert_name", pe->cert_name,
		      "responders", pe->responders, "key_len", (json_int_t)pe->key_len,
		      "created", kmsctl_json_time(pe->created));
	return json_array_append_new(ctx, o) == 0 ? KMS_EOK : KMS_ENOMEM;
}

static int peer_list(const kmsctl_paths_t *p, bool json)
{
	if (json) {
		json_t *a = json_array();
		int ret = a != NULL ? zk_peer_list(p->db, json_peer, a) : KMS_ENOMEM;
		if (ret != KMS_EOK) {
			json_decref(a);
			return kmsctl_list_result(ret, p, "peers");
		}
		return kmsctl_json_print(a);
	}
	printf("%-24s %-40s %-32s %-24s %-24s %-6s %s\n", "KMS_ID", "URL", "CA_FILE",
	       "CERT_NAME", "RESPONDERS", "KEYLEN", "CREATED");
	return kmsctl_list_result(zk_peer_list(p->db, print_peer, NULL), p, "peers");
}

static int peer_remove(const kmsctl_paths_t *p, const char *kms_id)
{
	if (zk_peer_check_kms_id(kms_id) != KMS_EOK) {
		return kmsctl_usage_error("peer remove: '%s' is not a valid kms-id",
					  kms_id);
	}
	return kmsctl_remove_result(zk_peer_remove(p->db, kms_id), p, "peer", kms_id);
}

int kmsctl_peer_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	if (argc < 2) {
		usage_peer(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (kmsctl_is_help(sub) || (argc >= 3 && kmsctl_is_help(argv[2]))) {
		usage_peer(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(sub, "add") == 0) {
		return peer_add(p, argc - 1, argv + 1);
	}
	if (strcmp(sub, "list") == 0) {
		bool json = false;
		int rc = kmsctl_list_args(argc - 1, argv + 1, "peer list", &json);
		return rc != EXIT_SUCCESS ? rc : peer_list(p, json);
	}
	if (strcmp(sub, "remove") == 0 && argc == 3) {
		return peer_remove(p, argv[2]);
	}
	return kmsctl_usage_error("peer: expected 'add ...', 'list' or 'remove ID'");
}
