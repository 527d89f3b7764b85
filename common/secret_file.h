/*
 * Secret files: the KEK, TLS private keys and certificates, generated PSKs.
 *
 * One reader and one writer, so every secret on disk is opened, capped,
 * checked and written the same way:
 *   - reads are capped (KMS_ELIMIT past max bytes), land in secure memory
 *     (secmem_alloc, NUL-terminated) and are released with secret_file_free,
 *     which wipes them;
 *   - SECRET_FILE_PRIVATE refuses a file that is not regular or that group
 *     or others may access (KMS_EACCES); a symbolic link is followed (secret
 *     mounts use them) unless SECRET_FILE_NOFOLLOW is given;
 *   - writes create the file 0600 (fchmod as well, against a umask or an
 *     older file), never through a symbolic link, fsync it, and remove it
 *     again on any failure; SECRET_FILE_EXCL refuses an existing file
 *     (KMS_EEXIST) instead of replacing it.
 * Errors are KMS_* codes: KMS_ENOENT, KMS_EACCES, or -errno.
 */
#ifndef KMS_COMMON_SECRET_FILE_H
#define KMS_COMMON_SECRET_FILE_H

#include <stddef.h>
#include <sys/types.h>

enum {
	SECRET_FILE_PRIVATE = 1u << 0,	/* read: mode must be 0600 or stricter */
	SECRET_FILE_NOFOLLOW = 1u << 1, /* read: refuse a symbolic link */
	SECRET_FILE_EXCL = 1u << 2,	/* write: the file must not exist */
};

/* The largest max secret_file_read accepts (a certificate chain fits). */
#define SECRET_FILE_MAX (1024u * 1024u)

/*
 * Read the whole file at path, at most max bytes (1..SECRET_FILE_MAX), into
 * a new secure buffer of max + 1 bytes, NUL-terminated after the content.
 * *out and *len are set only on success.
 */
int secret_file_read(const char *path, unsigned flags, size_t max, char **out,
		     size_t *len);

/*
 * The same, but SECRET_FILE_PRIVATE also lets the file's group read it
 * (0640: never group write or anything for others) when that group is
 * group: a file shared with a daemon that runs as that group.  group
 * (gid_t)-1 is secret_file_read.
 */
int secret_file_read_group(const char *path, unsigned flags, gid_t group, size_t max,
			   char **out, size_t *len);

/* Wipe and release a buffer from secret_file_read with the same max. */
void secret_file_free(char *buf, size_t max);

/* Write len bytes to path (see above for the mode and flags). */
int secret_file_write(const char *path, unsigned flags, const void *data, size_t len);

/* An errno value as a KMS_* code (ENOENT, EACCES/EPERM named; else -e). */
int secret_file_errno(int e);

#endif
