/* kmsd's identity and its switch to kms.user (see privdrop.h). */
#define _GNU_SOURCE /* setresuid, getresuid */
#include "kms/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/log.h"

#define GROUPS_MAX 64
#define PATH_LEN 512

__attribute__((format(printf, 3, 4))) static int refuse(char *err, size_t len,
							const char *fmt, ...)
{
	if (err != NULL && len > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return KMS_EACCES;
}

int privdrop_prepare(const kms_config_t *cfg, bool allow_root, privdrop_t *out, char *err,
		     size_t err_len)
{
	privdrop_t pd = { false, geteuid() == 0, { false, 0, 0 } };
	if (cfg == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = kms_config_runas(cfg, &pd.ra, err, err_len);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (pd.root && pd.ra.set) {
		pd.drop = true;
	} else if (pd.root && !allow_root) {
		return refuse(err, err_len,
			      "refusing to run as root: set kms.user (and kms.group) "
			      "to the account kmsd should switch to, or start it with "
			      "--allow-root to keep root");
	} else if (pd.ra.set && (pd.ra.uid != geteuid() || pd.ra.gid != getegid())) {
		return refuse(err, err_len,
			      "kms.user/kms.group are uid %u gid %u, but kmsd runs as "
			      "uid %u gid %u without root and cannot switch: start it "
			      "as root or as that account",
			      (unsigned)pd.ra.uid, (unsigned)pd.ra.gid,
			      (unsigned)geteuid(), (unsigned)getegid());
	}
	*out = pd;
	return KMS_EOK;
}

/* One group, then the group ids, then the user ids (the last step that
 * needs root).  glibc applies each to every thread of the process. */
static int switch_ids(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		return -errno;
	}
	return KMS_EOK;
}

/* Every id is the account's, no other group is left, and root cannot be
 * taken back (a saved id 0 would allow it). */
static int verify_ids(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[GROUPS_MAX];
	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0 || r != uid ||
	    e != uid || s != uid || rg != gid || eg != gid || sg != gid) {
		log_error("privileges: the ids did not all change");
		return KMS_EINTERNAL;
	}
	int n = getgroups(GROUPS_MAX, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != gid)) {
		log_error("privileges: supplementary groups left after the switch");
		return KMS_EINTERNAL;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0) {
		log_error("privileges: root could be regained after the switch");
		return KMS_EINTERNAL;
	}
	return KMS_EOK;
}

/* Hand path (if present) to uid:gid.  Not through a symbolic link and not
 * a file with other names: the directory may be writable by the account,
 * which must not get root to give it some other file. */
static int own_file(const char *path, uid_t uid, gid_t gid)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? KMS_EOK : -errno;
	}
	struct stat sb;
	int ret = KMS_EOK;
	if (fstat(fd, &sb) != 0) {
		ret = -errno;
	} else if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		ret = KMS_EACCES;
	} else if ((sb.st_uid != uid || sb.st_gid != gid) && fchown(fd, uid, gid) != 0) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

/* An SQLite file and the files SQLite keeps next to it. */
static int own_sqlite(const char *base, uid_t uid, gid_t gid)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[PATH_LEN];
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s%s", base, suffix[i]);
		int ret = n > 0 && (size_t)n < sizeof(path) ? own_file(path, uid, gid)
							    : KMS_ERANGE;
		if (ret != KMS_EOK) {
			log_error("privileges: cannot hand %s to uid %u: %s", path,
				  (unsigned)uid, kms_strerror(ret));
			return ret;
		}
	}
	return KMS_EOK;
}

/* audit.db, and the node-local resolve-once record (resolve.once). */
static int own_runtime_files(const kms_config_t *cfg, uid_t uid, gid_t gid)
{
	int ret = KMS_EOK;
	if (!kms_config_uses_pg(cfg)) {
		ret = own_sqlite(cfg->audit_db, uid, gid);
	}
	if (ret == KMS_EOK && cfg->resolve_once && !cfg->replay_shared) {
		char base[PATH_LEN];
		int n =
		    snprintf(base, sizeof(base), "%s/resolve_once.db", cfg->state_dir);
		ret = n > 0 && (size_t)n < sizeof(base) ? own_sqlite(base, uid, gid)
							: KMS_ERANGE;
	}
	return ret;
}

int privdrop_apply(const privdrop_t *pd, const kms_config_t *cfg)
{
	if (!pd->drop) {
		if (pd->root) {
			log_warning("running as root (--allow-root; no kms.user set)");
		} else {
			log_notice("running as uid %u gid %u", (unsigned)getuid(),
				   (unsigned)getgid());
		}
		return KMS_EOK;
	}
	int ret = own_runtime_files(cfg, pd->ra.uid, pd->ra.gid);
	if (ret != KMS_EOK) {
		return ret;
	}
	ret = switch_ids(pd->ra.uid, pd->ra.gid);
	if (ret != KMS_EOK) {
		log_error("privileges: cannot switch to uid %u gid %u: %s",
			  (unsigned)pd->ra.uid, (unsigned)pd->ra.gid, kms_strerror(ret));
		return ret;
	}
	ret = verify_ids(pd->ra.uid, pd->ra.gid);
	if (ret != KMS_EOK) {
		return ret;
	}
	/* setuid made the process dumpable per fs.suid_dumpable: decide again. */
	if (prctl(PR_SET_DUMPABLE, cfg->log_core_dumps ? 1 : 0, 0, 0, 0) != 0) {
		ret = -errno;
		log_error("privileges: cannot set dumpable: %s", kms_strerror(ret));
		return ret;
	}
	log_notice("running as user %s (uid %u), group %s (gid %u), no supplementary "
		   "groups; root cannot be regained",
		   cfg->user, (unsigned)pd->ra.uid,
		   cfg->group[0] != '\0' ? cfg->group : "of the user",
		   (unsigned)pd->ra.gid);
	return KMS_EOK;
}

/* --- kmsd -t ------------------------------------------------------------------ */

/* The directory of path ("." when it has none). */
static void parent_dir(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		snprintf(buf, len, ".");
	} else if (slash == path) {
		snprintf(buf, len, "/");
	} else {
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
	}
}

/* A file setting that may be empty (not used): NULL then. */
static const char *opt_path(const char *p)
{
	return p[0] != '\0' ? p : NULL;
}

/* What the account needs while kmsd runs, checked with access() as it;
 * the first failure goes to msg. */
static int check_paths(const kms_config_t *cfg, const char *conf, char *msg, size_t len)
{
	char db_dir[PATH_LEN], audit_dir[PATH_LEN];
	parent_dir(cfg->keys_db, db_dir, sizeof(db_dir));
	parent_dir(cfg->audit_db, audit_dir, sizeof(audit_dir));
	bool zk = cfg->zk_enabled;
	bool lite = !kms_config_uses_pg(cfg);
	const struct {
		const char *what, *path, *needs;
		int mode;
		bool optional; /* absent is fine: kmsd creates it */
	} c[] = {
		{ "the configuration file", conf, "read", R_OK, false },
		{ "kms.state_dir", cfg->state_dir, "read and write", R_OK | W_OK | X_OK,
		  false },
		{ "kms.kek_file", cfg->kek_file, "read", R_OK, false },
		{ "kms.keys_db", lite ? cfg->keys_db : NULL, "read", R_OK, false },
		{ "the directory of kms.keys_db (SQLite WAL index)", lite ? db_dir : NULL,
		  "write", W_OK | X_OK, false },
		{ "kms.audit_db", lite ? cfg->audit_db : NULL, "read and write",
		  R_OK | W_OK, true },
		{ "the directory of kms.audit_db", lite ? audit_dir : NULL, "write",
		  W_OK | X_OK, false },
		/* Re-read on SIGHUP (and by the Zk client for each new peer
		 * connection), after the switch. */
		{ "ua.tls_cert", opt_path(cfg->tls_cert), "read", R_OK, false },
		{ "ua.tls_key", opt_path(cfg->tls_key), "read", R_OK, false },
		{ "zk.cert_file", zk ? opt_path(cfg->zk_cert_file) : NULL, "read", R_OK,
		  false },
		{ "zk.key_file", zk ? opt_path(cfg->zk_key_file) : NULL, "read", R_OK,
		  false },
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (c[i].path == NULL || access(c[i].path, c[i].mode) == 0 ||
		    (c[i].optional && errno == ENOENT)) {
			continue;
		}
		snprintf(msg, len, "kms.user %s (uid %u gid %u) cannot %s %s %s: %s",
			 cfg->user, (unsigned)getuid(), (unsigned)getgid(), c[i].needs,
			 c[i].what, c[i].path, strerror(errno));
		return KMS_EACCES;
	}
	return KMS_EOK;
}

/* Run check_paths in a child that switched to the account. */
static int check_as(const privdrop_t *pd, const kms_config_t *cfg, const char *conf,
		    char *err, size_t err_len)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		return refuse(err, err_len, "cannot check access: %s", strerror(errno));
	}
	pid_t child = fork();
	if (child == 0) {
		char msg[1024] = "";
		close(fds[0]);
		int ret = switch_ids(pd->ra.uid, pd->ra.gid);
		if (ret != KMS_EOK) {
			snprintf(msg, sizeof(msg), "cannot switch to uid %u gid %u: %s",
				 (unsigned)pd->ra.uid, (unsigned)pd->ra.gid,
				 kms_strerror(ret));
		} else {
			ret = check_paths(cfg, conf, msg, sizeof(msg));
		}
		ssize_t w = write(fds[1], msg, strlen(msg));
		_exit(ret == KMS_EOK && w >= 0 ? 0 : 1);
	}
	close(fds[1]);
	ssize_t got = child > 0 ? read(fds[0], err, err_len - 1) : -1;
	close(fds[0]);
	int status = 0;
	if (child < 0 || waitpid(child, &status, 0) != child) {
		return refuse(err, err_len, "cannot check access: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		return KMS_EOK;
	}
	err[got > 0 ? got : 0] = '\0';
	return KMS_EACCES;
}

int privdrop_check_access(const privdrop_t *pd, const kms_config_t *cfg,
			  const char *conf_path, char *err, size_t err_len)
{
	if (pd == NULL || cfg == NULL || err == NULL || err_len == 0) {
		return KMS_EINVAL;
	}
	if (!pd->ra.set) {
		return KMS_EOK;
	}
	if (!pd->drop) { /* already that account */
		return check_paths(cfg, conf_path, err, err_len);
	}
	return check_as(pd, cfg, conf_path, err, err_len);
}
