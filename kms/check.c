/*
 * kmsd -t: every file of the configuration opened, as kmsd would at
 * start-up, with the setting and its line in the message.
 */
#include "kms/check.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"

#define CHECK_PATH_MAX 4096

typedef enum {
	WANT_FILE = 0,	 /* a regular file kmsd reads */
	WANT_DIR = 1,	 /* a directory kmsd writes in */
	WANT_PARENT = 2, /* a file kmsd creates: its directory must exist */
} want_t;

/* NULL when path is what want asks for, else the reason. */
static const char *probe(const char *path, want_t want, char *why, size_t len)
{
	char dir[CHECK_PATH_MAX];
	struct stat sb;
	const char *parent = NULL;
	if (want == WANT_PARENT) {
		snprintf(dir, sizeof(dir), "%s", path);
		path = parent = dirname(dir);
		want = WANT_DIR;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | (want == WANT_DIR ? O_DIRECTORY : 0));
	if (fd < 0) {
		snprintf(why, len, "%s%s%s%s", parent != NULL ? "directory " : "",
			 parent != NULL ? parent : "", parent != NULL ? ": " : "",
			 strerror(errno));
		return why;
	}
	const char *bad = NULL;
	if (fstat(fd, &sb) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		bad = why;
	} else if (want == WANT_FILE && !S_ISREG(sb.st_mode)) {
		bad = "not a regular file";
	}
	close(fd);
	return bad;
}

/* "FILE:LINE: name: path: why" (or "FILE: ..." when no line). */
static int report(const char *conf_path, const char *name, const char *path,
		  const char *why, char *err, size_t err_len)
{
	char file[CHECK_PATH_MAX];
	unsigned line = kms_config_line(conf_path, name, file, sizeof(file));
	if (line == 0 && strncmp(name, "kms.", 4) == 0) {
		/* A path derived from state_dir: point at state_dir. */
		line = kms_config_line(conf_path, "kms.state_dir", file, sizeof(file));
	}
	if (line > 0) {
		snprintf(err, err_len, "%s:%u: %s: %s: %s", file, line, name, path, why);
	} else {
		snprintf(err, err_len, "%s: %s: %s: %s", file, name, path, why);
	}
	return KMS_ECONFIG;
}

int kms_check_files(const kms_config_t *cfg, const char *conf_path, char *err,
		    size_t err_len)
{
	const struct {
		const char *name;
		const char *path;
		want_t want;
		bool on;
	} items[] = {
		{ "kms.state_dir", cfg->state_dir, WANT_DIR, true },
		{ "kms.kek_file", cfg->kek_file, WANT_FILE, true },
		/* With kms.store = "postgresql" the files are not used (kmsd
		 * reaches the database at start-up and says so if it cannot). */
		{ "kms.keys_db", cfg->keys_db, WANT_FILE, !kms_config_uses_pg(cfg) },
		{ "kms.audit_db", cfg->audit_db, WANT_PARENT, !kms_config_uses_pg(cfg) },
		{ "kms.pidfile", cfg->pidfile, WANT_PARENT, cfg->pidfile[0] != '\0' },
		{ "ua.tls_cert", cfg->tls_cert, WANT_FILE, cfg->tls_cert[0] != '\0' },
		{ "ua.tls_key", cfg->tls_key, WANT_FILE, cfg->tls_key[0] != '\0' },
		{ "zk.cert_file", cfg->zk_cert_file, WANT_FILE, cfg->zk_enabled },
		{ "zk.key_file", cfg->zk_key_file, WANT_FILE, cfg->zk_enabled },
		{ "zk.ca_file", cfg->zk_ca_file, WANT_FILE, cfg->zk_enabled },
		/* Read by kmsd before it switches to kms.user. */
		{ "naf.diameter_conf", cfg->naf_diameter_conf, WANT_FILE,
		  kms_config_zn_diameter(cfg) },
	};
	char why[256];
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		if (!items[i].on) {
			continue;
		}
		const char *bad = probe(items[i].path, items[i].want, why, sizeof(why));
		if (bad != NULL) {
			return report(conf_path, items[i].name, items[i].path, bad, err,
				      err_len);
		}
	}
	return KMS_EOK;
}
