/*
 * What the kmsctl command files (tools/kmsctl_*.c) share: the state paths,
 * error and usage reporting, argument and key parsing helpers
 * (tools/kmsctl_util.c), and the entry point of each command.
 */
#ifndef KMS_TOOLS_KMSCTL_H
#define KMS_TOOLS_KMSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "kms/keyring.h"

#define KMSCTL_PROG "kmsctl" /* prefix of every diagnostic */
#define KMSCTL_EXIT_FAIL 1
#define KMSCTL_EXIT_USAGE 2
#define KMSCTL_PATH_CAP 4096
#define KMSCTL_KEY_FILE_MAX 256 /* bytes read from a --key-file */

typedef struct {
	char dir[KMSCTL_PATH_CAP];
	char db[KMSCTL_PATH_CAP];
	char kek[KMSCTL_PATH_CAP];
	char audit[KMSCTL_PATH_CAP]; /* kmsd's audit log (kmsctl audit) */
	/* What messages call db and audit: their files, or the PostgreSQL
	 * store (db and audit are then locators holding kms.conninfo, which
	 * may hold a password and is never printed). */
	char db_label[KMSCTL_PATH_CAP];
	char audit_label[KMSCTL_PATH_CAP];
	bool shared; /* -c with kms.user: the stores are shared with gid */
	bool config; /* from -c: pidfile is kms.pidfile ("" when unset) */
	char pidfile[KMSCTL_PATH_CAP];
	uid_t uid; /* kms.user (with shared): the owner of audit.db */
	gid_t gid;
	/* -c: kmsd's metrics listener (metrics.listen, metrics.port; port 0:
	 * none, and always 0 with -d). */
	char metrics_listen[64];
	uint16_t metrics_port;
} kmsctl_paths_t;

/* dir, dir/kms.db, dir/kek and dir/audit.db into *p; KMS_EINVAL (empty) or KMS_ERANGE. */
int kmsctl_paths_make(const char *dir, kmsctl_paths_t *p);

/* -c FILE: kms.state_dir, kms.keys_db and kms.kek_file of kmsd's
 * configuration, and its kms.user / kms.group; EXIT_SUCCESS or
 * KMSCTL_EXIT_FAIL (reported). */
int kmsctl_paths_config(const char *conf, kmsctl_paths_t *p);

/*
 * With p->shared: the state directory 0770 and the KEK, kms.db and any
 * kms.db-wal / kms.db-shm 0640, all in group p->gid (the owner stays who
 * runs kmsctl), so that kmsd reads them after it switched to kms.user and
 * writes its own files next to them.  Never through a symbolic link.
 * EXIT_SUCCESS (also without p->shared) or KMSCTL_EXIT_FAIL (reported).
 */
int kmsctl_share(const kmsctl_paths_t *p);

/* "kmsctl: <message>[: <code's text>]" on stderr; returns KMSCTL_EXIT_FAIL.
 * KMS_ENOSPC: "kmsctl: disk full: <message>: nothing was changed (...)". */
__attribute__((format(printf, 2, 3))) int kmsctl_fail(int code, const char *fmt, ...);

/* "kmsctl: <message> (see kmsctl --help)" on stderr; returns
 * KMSCTL_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int kmsctl_usage_error(const char *fmt, ...);

/* The exit status of listing what in p->db: EXIT_SUCCESS, or the failure
 * reported (a missing store with the hint to run kmsctl init). */
int kmsctl_list_result(int ret, const kmsctl_paths_t *p, const char *what);

/* The exit status of removing kind id from p->db: "removed KIND ID" on
 * stdout, or the failure reported ("no KIND 'ID' in DB" when absent). */
int kmsctl_remove_result(int ret, const kmsctl_paths_t *p, const char *kind,
			 const char *id);

/* "--help" or "-h". */
bool kmsctl_is_help(const char *s);

/*
 * A list sub-command's operands after "list" (argv[0] is "list"): none, or
 * "--json" (*json true).  EXIT_SUCCESS, or KMSCTL_EXIT_USAGE (reported with
 * cmd, e.g. "key list").
 */
int kmsctl_list_args(int argc, char **argv, const char *cmd, bool *json);

/*
 * Print doc as one JSON document on stdout (indented, ASCII, a newline at
 * the end) and release it; doc NULL (a failed build) is reported as
 * KMS_ENOMEM.  EXIT_SUCCESS or KMSCTL_EXIT_FAIL.
 */
int kmsctl_json_print(json_t *doc);

/* t (Unix seconds) as a JSON integer, or JSON null for 0 ("never"). */
json_t *kmsctl_json_time(int64_t t);

/* Reset getopt for a sub-command's argv. */
void kmsctl_getopt_reset(void);

/* t as ISO 8601 UTC, or "-" for 0. */
void kmsctl_format_time(int64_t t, char *buf, size_t cap);

/* Decimal without sign; KMS_EINVAL otherwise (or out of range). */
int kmsctl_parse_u32(const char *s, uint32_t *out);
int kmsctl_parse_i64(const char *s, int64_t *out);

/*
 * A hex key of 16 or 32 bytes (surrounding whitespace ignored) into
 * key[0..cap); KMS_EINVAL otherwise, with key wiped.  *key_len only on
 * success.
 */
int kmsctl_key_decode(const char *text, size_t len, uint8_t *key, size_t cap,
		      size_t *key_len);

/* The same from a file of at most KMSCTL_KEY_FILE_MAX bytes; EXIT_SUCCESS
 * or KMSCTL_EXIT_FAIL (reported, never with key bytes). */
int kmsctl_key_file_read(const char *path, uint8_t *key, size_t cap, size_t *key_len);

/* Load the KEK and check it opens the store; EXIT_SUCCESS or
 * KMSCTL_EXIT_FAIL (reported). */
int kmsctl_load_kek(const kmsctl_paths_t *p, int create, uint8_t kek[KEYRING_KEK_LEN]);

/* The commands, each in its own file; argv[0] is the command's name. */
int kmsctl_init_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_key_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_psk_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_tpk_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_policy_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_peer_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_audit_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_reload_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_status_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_backup_run(const kmsctl_paths_t *p, int argc, char **argv);
int kmsctl_restore_run(const kmsctl_paths_t *p, int argc, char **argv);

#endif
