/* Secret files (see secret_file.h). */
#include "common/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/secmem.h"

int secret_file_errno(int e)
{
	switch (e) {
	case ENOENT:
		return KMS_ENOENT;
	case EACCES:
	case EPERM:
		return KMS_EACCES;
	case ELOOP: /* O_NOFOLLOW met a symbolic link */
		return KMS_EACCES;
	default:
		return e > 0 ? -e : KMS_EIO;
	}
}

/* group: the one group that may read a private file, or (gid_t)-1. */
static int check_mode(int fd, unsigned flags, gid_t group)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		return secret_file_errno(errno);
	}
	if (!S_ISREG(sb.st_mode)) {
		return KMS_EACCES;
	}
	mode_t allowed = group != (gid_t)-1 && sb.st_gid == group ? S_IRGRP : 0;
	if ((flags & SECRET_FILE_PRIVATE) != 0 &&
	    (sb.st_mode & (S_IRWXG | S_IRWXO) & ~allowed) != 0) {
		return KMS_EACCES;
	}
	return KMS_EOK;
}

/* Read fd to its end into buf[0..max]; KMS_ELIMIT past max bytes. */
static int read_all(int fd, char *buf, size_t max, size_t *len)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return secret_file_errno(errno);
		}
		if (n == 0) {
			break;
		}
		got += (size_t)n;
		if (got > max) {
			return KMS_ELIMIT;
		}
	}
	*len = got;
	return KMS_EOK;
}

int secret_file_read(const char *path, unsigned flags, size_t max, char **out,
		     size_t *len)
{
	return secret_file_read_group(path, flags, (gid_t)-1, max, out, len);
}

int secret_file_read_group(const char *path, unsigned flags, gid_t group, size_t max,
			   char **out, size_t *len)
{
	if (path == NULL || out == NULL || len == NULL || max == 0 ||
	    max > SECRET_FILE_MAX) {
		return KMS_EINVAL;
	}
	int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
	if ((flags & SECRET_FILE_NOFOLLOW) != 0) {
		oflags |= O_NOFOLLOW;
	}
	int fd = open(path, oflags);
	if (fd < 0) {
		return secret_file_errno(errno);
	}
	char *buf = NULL;
	size_t got = 0;
	int ret = check_mode(fd, flags, group);
	if (ret == KMS_EOK) {
		buf = secmem_alloc(max + 1);
		ret = buf != NULL ? read_all(fd, buf, max, &got) : KMS_ENOMEM;
	}
	close(fd);
	if (ret != KMS_EOK) {
		secret_file_free(buf, max);
		return ret;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return KMS_EOK;
}

void secret_file_free(char *buf, size_t max)
{
	if (buf != NULL) {
		secmem_free(buf, max + 1);
	}
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) { /* 0 would loop for ever: a device that takes nothing */
			return n < 0 ? secret_file_errno(errno) : KMS_EIO;
		}
		off += (size_t)n;
	}
	return KMS_EOK;
}

int secret_file_write(const char *path, unsigned flags, const void *data, size_t len)
{
	if (path == NULL || (data == NULL && len > 0)) {
		return KMS_EINVAL;
	}
	int oflags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	oflags |= (flags & SECRET_FILE_EXCL) != 0 ? O_EXCL : O_TRUNC;
	int fd = open(path, oflags, 0600);
	if (fd < 0) {
		return errno == EEXIST ? KMS_EEXIST : secret_file_errno(errno);
	}
	int ret = fchmod(fd, 0600) == 0 ? KMS_EOK : secret_file_errno(errno);
	if (ret == KMS_EOK) {
		ret = write_all(fd, data, len);
	}
	if (ret == KMS_EOK && fsync(fd) != 0) {
		ret = secret_file_errno(errno);
	}
	if (close(fd) != 0 && ret == KMS_EOK) {
		ret = secret_file_errno(errno);
	}
	if (ret != KMS_EOK) {
		(void)unlink(path);
	}
	return ret;
}
