/*
 * kmsctl backup DIR / restore DIR [--force]: kms.db and audit.db copied
 * with SQLite's online backup API (kms/store_backup.h; a backup may run
 * while kmsd serves), the KEK (0600), and DIR/manifest.json: the time,
 * the schema versions, the key ids and states, and the SHA-256 of every
 * file, which restore checks before it changes anything.
 *
 * Stores in PostgreSQL are refused with a message naming pg_dump and
 * pg_restore, their tools.
 *
 * Restore refuses while a process (kmsd) has a store open, and when the
 * backup would bring back a master key retired since (its tickets would
 * open again) unless --force.  It replaces each store in one transaction
 * and the KEK by a rename, the KEK last.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"
#include "common/secmem.h"
#include "common/secret_file.h"
#include "kms/keyring.h"
#include "kms/store_backup.h"
#include "tools/kmsctl.h"

#define MANIFEST "manifest.json"
#define MANIFEST_MAX (1024 * 1024)
#define MANIFEST_FORMAT 1
#define BACKUP_KEYS_MAX 4096
#define KEK_FILE_MAX 256

typedef struct {
	char dir[KMSCTL_PATH_CAP];
	char db[KMSCTL_PATH_CAP];
	char audit[KMSCTL_PATH_CAP];
	char kek[KMSCTL_PATH_CAP];
	char manifest[KMSCTL_PATH_CAP];
} bdir_t;

static void usage_backup(FILE *f)
{
	fprintf(f, "usage: kmsctl [-d STATE_DIR | -c KMSD_CONF] backup DIR\n"
		   "       kmsctl [-d STATE_DIR | -c KMSD_CONF] restore DIR [--force]\n"
		   "\n"
		   "backup   copy kms.db and audit.db (consistent while kmsd runs) and\n"
		   "         the KEK into the new or empty directory DIR (0700, files\n"
		   "         0600), with DIR/manifest.json: time, schema versions, key\n"
		   "         ids and states, SHA-256 of each file (never key bytes)\n"
		   "restore  check DIR against its manifest, then replace the stores\n"
		   "         and the KEK of the state directory with it.  kmsd must be\n"
		   "         stopped (restore refuses while it has a store open).\n"
		   "         Stores in PostgreSQL (kms.store = \"postgresql\"): pg_dump\n"
		   "         and pg_restore instead (docs/operations.md).\n"
		   "\n"
		   "  -f, --force  restore even when a master key retired since the\n"
		   "               backup would become usable again\n"
		   "  -h, --help   this text\n");
}

static int bdir_make(const char *dir, bdir_t *b)
{
	const struct {
		char *dst;
		const char *name;
	} f[] = { { b->db, "kms.db" },
		  { b->audit, "audit.db" },
		  { b->kek, "kek" },
		  { b->manifest, MANIFEST } };
	if (snprintf(b->dir, sizeof(b->dir), "%s", dir) >= (int)sizeof(b->dir)) {
		return KMS_ERANGE;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int n = snprintf(f[i].dst, KMSCTL_PATH_CAP, "%s/%s", dir, f[i].name);
		if (n < 0 || n >= KMSCTL_PATH_CAP) {
			return KMS_ERANGE;
		}
	}
	return KMS_EOK;
}

/* DIR and its one operand; --force only for restore.  -1 after --help. */
static int parse_args(int argc, char **argv, bool restore, const char **dir, bool *force)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int c;
	kmsctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (c == 'h') {
			usage_backup(stdout);
			return -1;
		}
		if (c != 'f' || !restore) {
			usage_backup(stderr);
			return KMSCTL_EXIT_USAGE;
		}
		*force = true;
	}
	if (optind + 1 != argc) {
		return kmsctl_usage_error("%s: expected one directory", argv[0]);
	}
	*dir = argv[optind];
	return EXIT_SUCCESS;
}

/* SHA-256 of the file at path in hex (65 bytes with the NUL). */
static int sha256_file(const char *path, char hex[2 * 32 + 1])
{
	uint8_t buf[65536], md[32];
	unsigned mdlen = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? KMS_ENOENT : -errno;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
		      ? KMS_EOK
		      : KMS_ECRYPTO;
	ssize_t n;
	while (ret == KMS_EOK && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			ret = errno == EINTR ? KMS_EOK : -errno;
		} else if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			ret = KMS_ECRYPTO;
		}
	}
	if (ret == KMS_EOK && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		ret = KMS_ECRYPTO;
	}
	if (ret == KMS_EOK) {
		ret = hex_encode(md, sizeof(md), hex, 2 * 32 + 1);
	}
	EVP_MD_CTX_free(ctx);
	close(fd);
	secmem_wipe(buf, sizeof(buf)); /* the KEK file passes through it */
	return ret;
}

/* Copy the KEK file from to the new or replaced file to (0600). */
static int copy_kek(const char *from, gid_t group, const char *to, unsigned wflags)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = secret_file_read_group(from, SECRET_FILE_PRIVATE, group, KEK_FILE_MAX,
					 &buf, &len);
	if (ret == KMS_EOK) {
		ret = secret_file_write(to, wflags, buf, len);
		secret_file_free(buf, KEK_FILE_MAX);
	}
	return ret;
}

/* A new directory, or an existing empty one (nothing is overwritten). */
static int backup_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0) {
		return EXIT_SUCCESS;
	}
	if (errno != EEXIST) {
		return kmsctl_fail(-errno, "cannot create %s", dir);
	}
	DIR *d = opendir(dir);
	if (d == NULL) {
		return kmsctl_fail(-errno, "cannot open %s", dir);
	}
	struct dirent *e;
	int used = 0;
	while ((e = readdir(d)) != NULL) {
		used |= strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	}
	closedir(d);
	if (used) {
		return kmsctl_fail(KMS_EOK, "%s is not empty (give a new directory)",
				   dir);
	}
	return EXIT_SUCCESS;
}

static const char *state_name(keyring_state_t s)
{
	return s == KEYRING_ACTIVE    ? "active"
	       : s == KEYRING_ROTATED ? "rotated"
				      : "retired";
}

/* {"sha256": ..., "size": ...} of path into files[name]. */
static int add_file(json_t *files, const char *name, const char *path)
{
	char hex[2 * 32 + 1];
	struct stat sb;
	int ret = sha256_file(path, hex);
	if (ret == KMS_EOK && stat(path, &sb) != 0) {
		ret = -errno;
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	return json_object_set_new(files, name,
				   json_pack("{s:s, s:I}", "sha256", hex, "size",
					     (json_int_t)sb.st_size)) == 0
		   ? KMS_EOK
		   : KMS_ENOMEM;
}

static json_t *keys_json(const keyring_info_t *k, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_pack("{s:I, s:s}", "id",
						       (json_int_t)k[i].id, "state",
						       state_name(k[i].state))) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* The manifest of the copies in b (written last: it marks a whole backup). */
static int write_manifest(const bdir_t *b, int kv, int av, const keyring_info_t *k,
			  size_t nk)
{
	char now[32];
	int64_t t = (int64_t)time(NULL);
	kmsctl_format_time(t, now, sizeof(now));
	json_t *files = json_object();
	json_t *m = json_pack("{s:i, s:I, s:s, s:s, s:{s:i, s:o}, s:o, s:o}", "format",
			      MANIFEST_FORMAT, "time", (json_int_t)t, "time_utc", now,
			      "version", PACKAGE_VERSION, "schema", "kms", kv, "audit",
			      av > 0 ? json_integer(av) : json_null(), "keys",
			      keys_json(k, nk), "files", json_incref(files));
	int ret =
	    m != NULL && files != NULL ? add_file(files, "kms.db", b->db) : KMS_ENOMEM;
	if (ret == KMS_EOK && av > 0) {
		ret = add_file(files, "audit.db", b->audit);
	}
	if (ret == KMS_EOK) {
		ret = add_file(files, "kek", b->kek);
	}
	char *text =
	    ret == KMS_EOK ? json_dumps(m, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
	if (ret == KMS_EOK && text == NULL) {
		ret = KMS_ENOMEM;
	}
	size_t len = text != NULL ? strlen(text) : 0;
	char *line = ret == KMS_EOK ? malloc(len + 1) : NULL;
	if (ret == KMS_EOK && line == NULL) {
		ret = KMS_ENOMEM;
	}
	if (ret == KMS_EOK) { /* json_dumps ends without a newline */
		memcpy(line, text, len);
		line[len] = '\n';
		ret = secret_file_write(b->manifest, SECRET_FILE_EXCL, line, len + 1);
	}
	free(line);
	free(text);
	json_decref(files);
	json_decref(m);
	return ret;
}

/* The stores' copies and the KEK into b; *kv, *av the schema versions
 * (*av 0: kmsd never made an audit.db). */
static int copy_all(const kmsctl_paths_t *p, const bdir_t *b, int *kv, int *av)
{
	int ret = store_backup_copy(p->db, SCHEMA_KMS, b->db, kv);
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(ret, "no store at %s (run kmsctl init first)", p->db);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot copy %s to %s", p->db, b->db);
	}
	ret = store_backup_copy(p->audit, SCHEMA_AUDIT, b->audit, av);
	if (ret == KMS_ENOENT) {
		*av = 0;
	} else if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot copy %s to %s", p->audit, b->audit);
	}
	ret = copy_kek(p->kek, p->shared ? p->gid : (gid_t)-1, b->kek, SECRET_FILE_EXCL);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot copy the KEK %s to %s", p->kek, b->kek);
	}
	return EXIT_SUCCESS;
}

/* A PostgreSQL store has its own tools; say which before touching DIR. */
static int pg_refused(const kmsctl_paths_t *p, const char *cmd)
{
	if (store_backup_supported(p->db) && store_backup_supported(p->audit)) {
		return EXIT_SUCCESS;
	}
	if (strcmp(cmd, "backup") == 0) {
		return kmsctl_fail(
		    KMS_EOK,
		    "backup: the stores are in PostgreSQL (kms.store): back "
		    "them up with pg_dump, and copy the KEK file %s yourself "
		    "(see docs/operations.md)",
		    p->kek);
	}
	return kmsctl_fail(KMS_EOK,
			   "restore: the stores are in PostgreSQL (kms.store): restore "
			   "them with pg_restore, and put back the KEK file %s yourself "
			   "(see docs/operations.md)",
			   p->kek);
}

int kmsctl_backup_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	const char *dir = NULL;
	bool force = false;
	bdir_t b;
	int rc = parse_args(argc, argv, false, &dir, &force);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	if (bdir_make(dir, &b) != KMS_EOK) {
		return kmsctl_usage_error("backup: the directory name is too long");
	}
	if (pg_refused(p, "backup") != EXIT_SUCCESS) {
		return KMSCTL_EXIT_FAIL;
	}
	int kv = 0, av = 0;
	size_t nk = 0;
	keyring_info_t *k = calloc(BACKUP_KEYS_MAX, sizeof(*k));
	if (k == NULL) {
		return kmsctl_fail(KMS_ENOMEM, "backup");
	}
	rc = backup_dir(dir);
	if (rc == EXIT_SUCCESS) {
		rc = copy_all(p, &b, &kv, &av);
	}
	int ret = KMS_EOK;
	if (rc == EXIT_SUCCESS) {
		ret = store_backup_keys(b.db, k, BACKUP_KEYS_MAX, &nk);
		if (ret == KMS_EOK) {
			ret = write_manifest(&b, kv, av, k, nk);
		}
		if (ret != KMS_EOK) {
			rc = kmsctl_fail(ret, "cannot write %s", b.manifest);
		}
	}
	free(k);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	printf("backed up %s (schema %d, %zu master keys)%s and the KEK to %s\n", p->db,
	       kv, nk, av > 0 ? ", audit.db" : "", dir);
	return EXIT_SUCCESS;
}

/* --- restore ------------------------------------------------------------------ */

/* DIR/manifest.json, checked for its format. */
static int read_manifest(const bdir_t *b, json_t **out)
{
	char *buf = NULL;
	size_t len = 0;
	int ret = secret_file_read(b->manifest, 0, MANIFEST_MAX, &buf, &len);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot read %s", b->manifest);
	}
	json_error_t err;
	json_t *m = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	secret_file_free(buf, MANIFEST_MAX);
	json_t *fmt = json_object_get(m, "format");
	if (!json_is_integer(fmt) || json_integer_value(fmt) != MANIFEST_FORMAT ||
	    !json_is_object(json_object_get(m, "files"))) {
		json_decref(m);
		return kmsctl_fail(KMS_EOK, "%s is not a kmsctl backup manifest",
				   b->manifest);
	}
	*out = m;
	return EXIT_SUCCESS;
}

/* The file name of b against its hash in the manifest; *present false
 * when the manifest has none (optional files only). */
static int check_file(const json_t *files, const char *name, const char *path,
		      bool optional, bool *present)
{
	const char *want =
	    json_string_value(json_object_get(json_object_get(files, name), "sha256"));
	char hex[2 * 32 + 1];
	*present = want != NULL;
	if (want == NULL) {
		return optional ? EXIT_SUCCESS
				: kmsctl_fail(KMS_EOK, "the manifest lists no %s", name);
	}
	int ret = sha256_file(path, hex);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot read %s", path);
	}
	if (strcmp(hex, want) != 0) {
		return kmsctl_fail(KMS_EOK,
				   "%s does not match its manifest (SHA-256 differs): "
				   "nothing was restored",
				   path);
	}
	return EXIT_SUCCESS;
}

/* The copies' schemas: none newer than this kmsctl knows. */
static int check_schema(const char *path, schema_store_t store)
{
	int v = 0;
	int ret = store_backup_version(path, store, &v);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "%s is not a %s store", path, schema_name(store));
	}
	if (v > schema_latest(store)) {
		return kmsctl_fail(KMS_EOK,
				   "%s has schema %d, newer than this kmsctl knows (%d)",
				   path, v, schema_latest(store));
	}
	return EXIT_SUCCESS;
}

static const keyring_info_t *find_key(const keyring_info_t *k, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (k[i].id == id) {
			return &k[i];
		}
	}
	return NULL;
}

/*
 * The current keys against the backup's: a key retired now but usable in
 * the backup would open its tickets again (refused without force); one
 * usable now but absent from the backup loses its tickets (a warning).
 */
static int compare_keys(const keyring_info_t *cur, size_t ncur, const keyring_info_t *bak,
			size_t nbak, bool force)
{
	size_t back = 0;
	for (size_t i = 0; i < ncur; i++) {
		const keyring_info_t *o = find_key(bak, nbak, cur[i].id);
		if (cur[i].state == KEYRING_RETIRED && o != NULL &&
		    o->state != KEYRING_RETIRED) {
			fprintf(stderr,
				"%s: key %" PRIu32
				" is retired now but %s in the backup\n",
				KMSCTL_PROG, cur[i].id, state_name(o->state));
			back++;
		} else if (cur[i].state != KEYRING_RETIRED && o == NULL) {
			fprintf(stderr,
				"%s: warning: key %" PRIu32 " (%s) is not in the backup: "
				"tickets sealed with it will not resolve\n",
				KMSCTL_PROG, cur[i].id, state_name(cur[i].state));
		}
	}
	if (back > 0 && !force) {
		return kmsctl_fail(KMS_EOK,
				   "refusing to restore: %zu retired key(s) would open "
				   "their tickets again (--force restores anyway)",
				   back);
	}
	if (back > 0) {
		fprintf(stderr, "%s: warning: restoring anyway (--force)\n", KMSCTL_PROG);
	}
	return EXIT_SUCCESS;
}

/* The current keys (none without a store) against the backup's. */
static int check_keys(const kmsctl_paths_t *p, const bdir_t *b, bool force)
{
	keyring_info_t *cur = calloc(2 * BACKUP_KEYS_MAX, sizeof(*cur));
	if (cur == NULL) {
		return kmsctl_fail(KMS_ENOMEM, "restore");
	}
	keyring_info_t *bak = cur + BACKUP_KEYS_MAX;
	size_t ncur = 0, nbak = 0;
	int rc = EXIT_SUCCESS;
	int ret = store_backup_keys(b->db, bak, BACKUP_KEYS_MAX, &nbak);
	if (ret != KMS_EOK) {
		rc = kmsctl_fail(ret, "cannot read the keys of %s", b->db);
	} else if (access(p->db, F_OK) == 0) {
		ret = keyring_list(p->db, cur, BACKUP_KEYS_MAX, &ncur);
		if (ret != KMS_EOK) {
			rc = kmsctl_fail(ret, "cannot read the keys of %s", p->db);
		}
	}
	if (rc == EXIT_SUCCESS) {
		rc = compare_keys(cur, ncur, bak, nbak, force);
	}
	free(cur);
	return rc;
}

/* Refuse while a process (kmsd) has one of the stores open. */
static int check_unused(const kmsctl_paths_t *p)
{
	const char *paths[] = { p->db, p->audit };
	for (size_t i = 0; i < 2; i++) {
		long pid = 0;
		if (store_backup_in_use(paths[i], &pid)) {
			return kmsctl_fail(KMS_EOK,
					   "process %ld (kmsd?) has %s open: stop kmsd "
					   "before a restore",
					   pid, paths[i]);
		}
	}
	return EXIT_SUCCESS;
}

/* The state directory (0700; kmsctl_share makes it 0770 with kms.user). */
static int ensure_state_dir(const kmsctl_paths_t *p)
{
	if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
		return kmsctl_fail(-errno, "cannot create %s", p->dir);
	}
	return EXIT_SUCCESS;
}

/* audit.db is kmsd's own file (it writes it after the switch to kms.user). */
static int give_audit(const kmsctl_paths_t *p)
{
	char side[KMSCTL_PATH_CAP + 8];
	const char *suffix[] = { "", "-wal", "-shm" };
	if (!p->shared) {
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(side, sizeof(side), "%s%s", p->audit, suffix[i]);
		if (lchown(side, p->uid, p->gid) != 0 && errno != ENOENT) {
			return kmsctl_fail(-errno, "cannot give %s to kms.user", side);
		}
	}
	return EXIT_SUCCESS;
}

/* The stores, then the KEK (written beside it first, renamed last). */
static int restore_files(const kmsctl_paths_t *p, const bdir_t *b, bool audit)
{
	char tmp[KMSCTL_PATH_CAP + 16];
	int n = snprintf(tmp, sizeof(tmp), "%s.restore", p->kek);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		return kmsctl_fail(KMS_ERANGE, "%s", p->kek);
	}
	(void)unlink(tmp); /* a leftover of an interrupted restore */
	int ret = copy_kek(b->kek, (gid_t)-1, tmp, SECRET_FILE_EXCL);
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "cannot copy the KEK %s to %s", b->kek, tmp);
	}
	ret = store_backup_restore(b->db, p->db);
	if (ret != KMS_EOK) {
		(void)unlink(tmp);
		return kmsctl_fail(ret, "cannot restore %s: nothing was changed", p->db);
	}
	if (audit && (ret = store_backup_restore(b->audit, p->audit)) != KMS_EOK) {
		(void)unlink(tmp);
		return kmsctl_fail(ret,
				   "cannot restore %s (%s was restored, the KEK not)",
				   p->audit, p->db);
	}
	if (rename(tmp, p->kek) != 0) {
		ret = -errno;
		(void)unlink(tmp);
		return kmsctl_fail(
		    ret, "cannot replace the KEK %s (the stores were restored)", p->kek);
	}
	return audit ? give_audit(p) : EXIT_SUCCESS;
}

/* Everything restore checks before it changes a file; *audit: the backup
 * holds an audit.db. */
static int restore_checks(const kmsctl_paths_t *p, const bdir_t *b, bool force,
			  bool *audit)
{
	json_t *m = NULL;
	bool present = false;
	int rc = read_manifest(b, &m);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	const json_t *files = json_object_get(m, "files");
	rc = check_file(files, "kms.db", b->db, false, &present);
	if (rc == EXIT_SUCCESS) {
		rc = check_file(files, "kek", b->kek, false, &present);
	}
	if (rc == EXIT_SUCCESS) {
		rc = check_file(files, "audit.db", b->audit, true, audit);
	}
	json_decref(m);
	if (rc == EXIT_SUCCESS) {
		rc = check_schema(b->db, SCHEMA_KMS);
	}
	if (rc == EXIT_SUCCESS && *audit) {
		rc = check_schema(b->audit, SCHEMA_AUDIT);
	}
	if (rc == EXIT_SUCCESS) {
		rc = check_unused(p);
	}
	return rc == EXIT_SUCCESS ? check_keys(p, b, force) : rc;
}

int kmsctl_restore_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	const char *dir = NULL;
	bool force = false, audit = false;
	bdir_t b;
	int rc = parse_args(argc, argv, true, &dir, &force);
	if (rc != EXIT_SUCCESS) {
		return rc < 0 ? EXIT_SUCCESS : rc;
	}
	if (bdir_make(dir, &b) != KMS_EOK) {
		return kmsctl_usage_error("restore: the directory name is too long");
	}
	if (pg_refused(p, "restore") != EXIT_SUCCESS) {
		return KMSCTL_EXIT_FAIL;
	}
	rc = restore_checks(p, &b, force, &audit);
	if (rc == EXIT_SUCCESS) {
		rc = ensure_state_dir(p);
	}
	if (rc == EXIT_SUCCESS) {
		rc = restore_files(p, &b, audit);
	}
	if (rc == EXIT_SUCCESS) {
		printf("restored %s%s and the KEK %s from %s; start kmsd\n", p->db,
		       audit ? ", audit.db" : "", p->kek, dir);
	}
	return rc;
}
