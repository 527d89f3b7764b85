/*
 * kmsctl: the operator tool for the KMS stores.
 *
 *   kmsctl [-d STATE_DIR | -c KMSD_CONF] init [--demo]       (kmsctl_init.c)
 *   kmsctl [-d STATE_DIR] key rotate|list|retire ID          (kmsctl_key.c)
 *   kmsctl [-d STATE_DIR] psk add|list|remove ...            (kmsctl_psk.c)
 *   kmsctl [-d STATE_DIR] tpk add|list|retire|delete ...     (kmsctl_tpk.c)
 *   kmsctl [-d STATE_DIR] policy add|list|remove|test ...    (kmsctl_policy.c)
 *   kmsctl [-d STATE_DIR] peer add|list|remove ...           (kmsctl_peer.c)
 *   kmsctl [-d STATE_DIR] audit [filters] | --prune-before T (kmsctl_audit.c)
 *   kmsctl [-d STATE_DIR | -c KMSD_CONF] status [--json]     (kmsctl_status.c)
 *   kmsctl [-d STATE_DIR | -c KMSD_CONF] backup|restore DIR  (kmsctl_backup.c)
 *
 * This file only parses the global options and dispatches.  STATE_DIR
 * (default ./var) holds kms.db and the KEK file "kek"; -c takes the paths
 * from kmsd's configuration instead, and with its kms.user set, every
 * command leaves the stores shared with kmsd's group (kmsctl_share).  Exit
 * status: 0
 * success, 1 failure (the reason on stderr), 2 usage error.  Key bytes
 * are never printed: keys generated for a UE or a peer (init --demo, psk
 * add --generate, peer add --generate) go to new 0600 files named on the
 * command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/log.h"
#include "tools/kmsctl.h"

static const struct {
	const char *name;
	int (*run)(const kmsctl_paths_t *p, int argc, char **argv);
} commands[] = {
	{ "init", kmsctl_init_run },	 { "key", kmsctl_key_run },
	{ "psk", kmsctl_psk_run },	 { "policy", kmsctl_policy_run },
	{ "peer", kmsctl_peer_run },	 { "audit", kmsctl_audit_run },
	{ "reload", kmsctl_reload_run }, { "status", kmsctl_status_run },
	{ "backup", kmsctl_backup_run }, { "restore", kmsctl_restore_run },
	{ "tpk", kmsctl_tpk_run },
};

static void usage_main(FILE *f)
{
	fprintf(f,
		"usage: kmsctl [-d STATE_DIR | -c KMSD_CONF] COMMAND [OPTIONS] [ARGS]\n"
		"\n"
		"commands:\n"
		"  init                     create the state directory, KEK and store\n"
		"  key rotate|list|retire   manage the ticket master keys\n"
		"  psk add|list|remove      manage static PSK users\n"
		"  policy add|list|remove|test  manage the ticket policy rules\n"
		"  peer add|list|remove     manage the Zk peer KMSs\n"
		"  tpk add|list|retire|delete  Initiators' ticket protection keys\n"
		"  audit                    query or prune kmsd's audit log\n"
		"  reload                   SIGHUP to the kmsd of -c (kms.pidfile)\n"
		"  status [--json]          the stores, and kmsd's state (with -c)\n"
		"  backup DIR               copy the stores and the KEK to DIR\n"
		"  restore DIR [--force]    put a backup back (kmsd stopped)\n"
		"\n"
		"  -d, --state-dir DIR  state directory (default ./var): kms.db, kek\n"
		"  -c, --config FILE    kmsd's configuration: its kms.state_dir,\n"
		"                       kms.keys_db and kms.kek_file; with kms.user\n"
		"                       set, the state directory (0770), KEK and\n"
		"                       kms.db (0640) are left in kmsd's group\n"
		"  -h, --help           this text\n"
		"  -V, --version        the version\n"
		"\n"
		"key, psk, policy and peer list take --json (a JSON array).\n"
		"kmsctl COMMAND --help shows the options of a command.\n"
		"Exit: 0 success, 1 failure, 2 usage error.\n");
}

/* The global options; EXIT_SUCCESS, KMSCTL_EXIT_USAGE or -1 after --help. */
static int parse_main(int argc, char **argv, const char **dir, const char **conf)
{
	static const struct option opts[] = { { "state-dir", required_argument, NULL,
						'd' },
					      { "config", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "+d:c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			*dir = optarg;
			break;
		case 'c':
			*conf = optarg;
			break;
		case 'h':
			usage_main(stdout);
			return -1;
		case 'V':
			printf("kmsctl (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return -1;
		default:
			usage_main(stderr);
			return KMSCTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_main(stderr);
		return KMSCTL_EXIT_USAGE;
	}
	if (*dir != NULL && *conf != NULL) {
		return kmsctl_usage_error("-d and -c: give one of them");
	}
	return EXIT_SUCCESS;
}

static int dispatch(const kmsctl_paths_t *p, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			return commands[i].run(p, argc, argv);
		}
	}
	return kmsctl_usage_error("unknown command '%s'", argv[0]);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *conf = NULL;
	log_open(KMSCTL_PROG, LOG_TARGET_STDERR);
	log_level_set(LOG_WARNING);
	int rc = parse_main(argc, argv, &dir, &conf);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	kmsctl_paths_t p;
	if (conf != NULL) {
		rc = kmsctl_paths_config(conf, &p);
		if (rc != EXIT_SUCCESS) {
			return rc;
		}
	} else if (kmsctl_paths_make(dir != NULL ? dir : "./var", &p) != KMS_EOK) {
		return kmsctl_usage_error("-d: bad state directory");
	}
	if (crypto_init() != KMS_EOK) {
		return kmsctl_fail(KMS_ECRYPTO, "crypto initialisation");
	}
	rc = dispatch(&p, argc - optind, argv + optind);
	/* Also after a failure: a file may have been made before it. */
	int shared = kmsctl_share(&p);
	if (rc == EXIT_SUCCESS) {
		rc = shared;
	}
	if (fflush(stdout) != 0 && rc == EXIT_SUCCESS) {
		rc = kmsctl_fail(KMS_EIO, "writing the output");
	}
	log_close();
	return rc;
}
