/*
 * What the kmsctl command files (tools/kmsctl*.c) share: the state paths,
 * error and usage reporting, and argument parsing helpers.
 */
#ifndef KMS_TOOLS_KMSCTL_H
#define KMS_TOOLS_KMSCTL_H

#include <stdint.h>
#include <stddef.h>

#include "kms/keyring.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PATH_CAP 4096

typedef struct {
	char dir[PATH_CAP];
	char db[PATH_CAP];
	char kek[PATH_CAP];
} paths_t;

/* "kmsctl: <message>[: <code's text>]" on stderr; returns EXIT_FAIL. */
__attribute__((format(printf, 2, 3))) int fail(int code, const char *fmt, ...);

/* "kmsctl: <message> (see kmsctl --help)" on stderr; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);

/* The exit status of listing what in p->db: EXIT_SUCCESS, or the failure
 * reported (a missing store with the hint to run kmsctl init). */
int list_result(int ret, const paths_t *p, const char *what);

/* The exit status of removing kind id from p->db: "removed KIND ID" on
 * stdout, or the failure reported ("no KIND 'ID' in DB" when absent). */
int remove_result(int ret, const paths_t *p, const char *kind, const char *id);

/* Reset getopt for a sub-command's argv. */
void getopt_reset(void);

/* t as ISO 8601 UTC, or "-" for 0. */
void format_time(int64_t t, char *buf, size_t cap);

/* Decimal without sign; KMS_EINVAL otherwise (or out of range). */
int parse_u32(const char *s, uint32_t *out);
int parse_i64(const char *s, int64_t *out);

/* Load the KEK and check it opens the store; EXIT_SUCCESS or EXIT_FAIL
 * (reported). */
int load_kek(const paths_t *p, int create, uint8_t kek[KEYRING_KEK_LEN]);

/* The sub-commands in their own files. */
int cmd_policy(const paths_t *p, int argc, char **argv);

#endif
