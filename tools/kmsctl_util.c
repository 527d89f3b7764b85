/*
 * kmsctl: the helpers its command files share (tools/kmsctl.h): paths,
 * diagnostics, number and key parsing, loading the KEK.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "kms/config.h"
#include "kms/keyring.h"
#include "tools/kmsctl.h"

int kmsctl_paths_make(const char *dir, kmsctl_paths_t *p)
{
	if (dir[0] == '\0') {
		return KMS_EINVAL;
	}
	memset(p, 0, sizeof(*p));
	p->shared = false;
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	p->config = false;
	p->pidfile[0] = '\0';
	int a = snprintf(p->dir, sizeof(p->dir), "%s", dir);
	int b = snprintf(p->db, sizeof(p->db), "%s/kms.db", dir);
	int c = snprintf(p->kek, sizeof(p->kek), "%s/kek", dir);
	int d = snprintf(p->audit, sizeof(p->audit), "%s/audit.db", dir);
	snprintf(p->db_label, sizeof(p->db_label), "%s", p->db);
	snprintf(p->audit_label, sizeof(p->audit_label), "%s", p->audit);
	if (a < 0 || b < 0 || c < 0 || d < 0 || (size_t)a >= sizeof(p->dir) ||
	    (size_t)b >= sizeof(p->db) || (size_t)c >= sizeof(p->kek) ||
	    (size_t)d >= sizeof(p->audit)) {
		return KMS_ERANGE;
	}
	return KMS_EOK;
}

int kmsctl_paths_config(const char *conf, kmsctl_paths_t *p)
{
	kms_config_t cfg;
	kms_config_runas_t ra;
	char err[512];
	if (kms_config_load(conf, &cfg, err, sizeof(err)) != KMS_EOK ||
	    kms_config_runas(&cfg, &ra, err, sizeof(err)) != KMS_EOK) {
		return kmsctl_fail(KMS_EOK, "%s", err);
	}
	memset(p, 0, sizeof(*p));
	int a = snprintf(p->dir, sizeof(p->dir), "%s", cfg.state_dir);
	int b = snprintf(p->db, sizeof(p->db), "%s", cfg.keys_loc);
	int c = snprintf(p->kek, sizeof(p->kek), "%s", cfg.kek_file);
	int d = snprintf(p->audit, sizeof(p->audit), "%s", cfg.audit_loc);
	if (a < 0 || b < 0 || c < 0 || d < 0 || (size_t)a >= sizeof(p->dir) ||
	    (size_t)b >= sizeof(p->db) || (size_t)c >= sizeof(p->kek) ||
	    (size_t)d >= sizeof(p->audit)) {
		return kmsctl_fail(KMS_ERANGE, "%s: paths", conf);
	}
	snprintf(p->db_label, sizeof(p->db_label), "%s",
		 kms_config_store_label(&cfg, false));
	snprintf(p->audit_label, sizeof(p->audit_label), "%s",
		 kms_config_store_label(&cfg, true));
	p->shared = ra.set;
	p->uid = ra.set ? ra.uid : (uid_t)-1;
	p->gid = ra.set ? ra.gid : (gid_t)-1;
	p->config = true;
	snprintf(p->pidfile, sizeof(p->pidfile), "%s", cfg.pidfile);
	snprintf(p->metrics_listen, sizeof(p->metrics_listen), "%s", cfg.metrics_listen);
	p->metrics_port = cfg.metrics_port;
	return EXIT_SUCCESS;
}

/* path (if present) into group gid with mode; a directory when dir. */
static int share_one(const char *path, gid_t gid, mode_t mode, bool dir)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				(dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		return errno == ENOENT ? KMS_EOK : -errno;
	}
	struct stat sb;
	int ret = KMS_EOK;
	if (fstat(fd, &sb) != 0) {
		ret = -errno;
	} else if (dir ? !S_ISDIR(sb.st_mode)
		       : !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		ret = KMS_EACCES;
	} else if (sb.st_gid != gid && fchown(fd, (uid_t)-1, gid) != 0) {
		ret = -errno;
	} else if ((sb.st_mode & 07777) != mode && fchmod(fd, mode) != 0) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

int kmsctl_share(const kmsctl_paths_t *p)
{
	char wal[KMSCTL_PATH_CAP + 4], shm[KMSCTL_PATH_CAP + 4];
	if (!p->shared) {
		return EXIT_SUCCESS;
	}
	snprintf(wal, sizeof(wal), "%s-wal", p->db);
	snprintf(shm, sizeof(shm), "%s-shm", p->db);
	const struct {
		const char *path;
		mode_t mode;
		bool dir;
	} f[] = {
		{ p->dir, 0770, true }, { p->kek, 0640, false }, { p->db, 0640, false },
		{ wal, 0640, false },	{ shm, 0640, false },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int ret = share_one(f[i].path, p->gid, f[i].mode, f[i].dir);
		if (ret != KMS_EOK) {
			return kmsctl_fail(
			    ret, "cannot share %s with group %u (mode %04o)", f[i].path,
			    (unsigned)p->gid, (unsigned)f[i].mode);
		}
	}
	return EXIT_SUCCESS;
}

int kmsctl_fail(int code, const char *fmt, ...)
{
	va_list ap;
	/* Every change of a store is one transaction: on a full disk it was
	 * rolled back, and the operator needs to know both. */
	fprintf(stderr, "%s: %s", KMSCTL_PROG, code == KMS_ENOSPC ? "disk full: " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (code == KMS_ENOSPC) {
		fputs(": nothing was changed (free space on the store's file system "
		      "and run the command again)\n",
		      stderr);
		return KMSCTL_EXIT_FAIL;
	}
	if (code != KMS_EOK) {
		fprintf(stderr, ": %s", kms_strerror(code));
	}
	fputc('\n', stderr);
	return KMSCTL_EXIT_FAIL;
}

int kmsctl_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", KMSCTL_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", KMSCTL_PROG);
	return KMSCTL_EXIT_USAGE;
}

int kmsctl_list_result(int ret, const kmsctl_paths_t *p, const char *what)
{
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(ret, "no store at %s (run kmsctl init first)",
				   p->db_label);
	}
	if (ret == KMS_ENOSPC) {
		return kmsctl_fail(KMS_EOK,
				   "disk full: cannot read the %s in %s (SQLite needs "
				   "room for its -shm file even to read): free space "
				   "and run the command again",
				   what, p->db_label);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot list the %s in %s", what, p->db_label);
	}
	return EXIT_SUCCESS;
}

int kmsctl_remove_result(int ret, const kmsctl_paths_t *p, const char *kind,
			 const char *id)
{
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(KMS_EOK, "no %s '%s' in %s", kind, id, p->db_label);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot remove %s '%s'", kind, id);
	}
	printf("removed %s %s\n", kind, id);
	return EXIT_SUCCESS;
}

bool kmsctl_is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

int kmsctl_list_args(int argc, char **argv, const char *cmd, bool *json)
{
	*json = false;
	if (argc == 2 && strcmp(argv[1], "--json") == 0) {
		*json = true;
	} else if (argc != 1) {
		return kmsctl_usage_error("%s: unexpected argument '%s'", cmd, argv[1]);
	}
	return EXIT_SUCCESS;
}

int kmsctl_json_print(json_t *doc)
{
	if (doc == NULL) {
		return kmsctl_fail(KMS_ENOMEM, "building the JSON output");
	}
	int ret = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (ret != 0 || putchar('\n') == EOF) {
		return kmsctl_fail(KMS_EIO, "writing the JSON output");
	}
	return EXIT_SUCCESS;
}

json_t *kmsctl_json_time(int64_t t)
{
	return t == 0 ? json_null() : json_integer((json_int_t)t);
}

/* glibc: optind 0 re-initialises getopt. */
void kmsctl_getopt_reset(void)
{
	optind = 0;
	opterr = 1;
}

void kmsctl_format_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(buf, cap, "-");
	}
}

int kmsctl_parse_u32(const char *s, uint32_t *out)
{
	return dec_parse_u32(s, out);
}

int kmsctl_parse_i64(const char *s, int64_t *out)
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

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int kmsctl_key_decode(const char *text, size_t len, uint8_t *key, size_t cap,
		      size_t *key_len)
{
	while (len > 0 && is_space(text[len - 1])) {
		len--;
	}
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	size_t got = 0;
	if (hex_decode(text, len, key, cap, &got) != KMS_EOK ||
	    (got != 16 && got != 32)) {
		secmem_wipe(key, cap);
		return KMS_EINVAL;
	}
	*key_len = got;
	return KMS_EOK;
}

int kmsctl_key_file_read(const char *path, uint8_t *key, size_t cap, size_t *key_len)
{
	char buf[KMSCTL_KEY_FILE_MAX + 1];
	int ret = KMS_EOK;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return kmsctl_fail(-errno, "cannot open %s", path);
	}
	size_t len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f)) {
		ret = KMS_EIO;
	}
	fclose(f);
	if (ret == KMS_EOK && len > KMSCTL_KEY_FILE_MAX) {
		ret = KMS_ELIMIT;
	}
	if (ret == KMS_EOK) {
		ret = kmsctl_key_decode(buf, len, key, cap, key_len);
	}
	secmem_wipe(buf, sizeof(buf));
	if (ret != KMS_EOK) {
		secmem_wipe(key, cap);
		return kmsctl_fail(KMS_EOK, "%s does not hold a 16- or 32-byte hex key",
				   path);
	}
	return EXIT_SUCCESS;
}

/* Load the KEK and check it against the store (if there is one yet). */
int kmsctl_load_kek(const kmsctl_paths_t *p, int create, uint8_t kek[KEYRING_KEK_LEN])
{
	int ret =
	    keyring_kek_load_group(p->kek, create, p->shared ? p->gid : (gid_t)-1, kek);
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(ret, "no KEK at %s (run kmsctl init first)", p->kek);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot load the KEK %s", p->kek);
	}
	keyring_t *kr = NULL;
	ret = keyring_load(p->db, kek, &kr);
	keyring_free(kr);
	if (ret == KMS_EAUTH) {
		secmem_wipe(kek, KEYRING_KEK_LEN);
		return kmsctl_fail(ret, "the KEK %s does not open the store %s", p->kek,
				   p->db);
	}
	return EXIT_SUCCESS; /* KMS_ENOENT: no store or no key yet is fine */
}
