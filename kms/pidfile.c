/*
 * kmsd's pid file: the text is "PID\n"; the file is made next to its final
 * name and renamed, so a reader never sees half of it.
 */
#include "kms/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/errcode.h"

#define PIDFILE_TEXT_MAX 32 /* a pid and a newline, with room to spare */
#define COMM_MAX 64

int pidfile_read(const char *path, pid_t *pid)
{
	char buf[PIDFILE_TEXT_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		return -errno;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n < 0) {
		return -e;
	}
	buf[n] = '\0';
	if (n < 2 || buf[n - 1] != '\n') {
		return KMS_EMALFORMED;
	}
	buf[n - 1] = '\0';
	uint32_t v = 0;
	if (dec_parse_u32(buf, &v) != KMS_EOK || v < 2 || v > INT32_MAX) {
		return KMS_EMALFORMED;
	}
	*pid = (pid_t)v;
	return KMS_EOK;
}

bool pidfile_is_running(pid_t pid, const char *name)
{
	char path[64], comm[COMM_MAX];
	if (pid < 2 || (kill(pid, 0) != 0 && errno != EPERM)) {
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return false;
	}
	bool same = fgets(comm, sizeof(comm), f) != NULL;
	fclose(f);
	if (!same) {
		return false;
	}
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, name) == 0;
}

int pidfile_check(const char *path, const char *name)
{
	pid_t pid = 0;
	if (pidfile_read(path, &pid) != KMS_EOK) {
		return KMS_EOK; /* none, or not ours to trust: replaced */
	}
	return pid != getpid() && pidfile_is_running(pid, name) ? KMS_EEXIST : KMS_EOK;
}

int pidfile_write(const char *path)
{
	char tmp[4096 + 8], text[PIDFILE_TEXT_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		return KMS_ERANGE;
	}
	int len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	(void)unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		return -errno;
	}
	int ret = KMS_EOK;
	errno = 0;
	/* 0644 whatever the umask (kmsd's is 077): kmsctl reads it as anyone. */
	if (fchmod(fd, 0644) != 0 || write(fd, text, (size_t)len) != len) {
		ret = errno != 0 ? -errno : KMS_EIO;
	}
	if (close(fd) != 0 && ret == KMS_EOK) {
		ret = -errno;
	}
	if (ret == KMS_EOK && rename(tmp, path) != 0) {
		ret = -errno;
	}
	if (ret != KMS_EOK) {
		(void)unlink(tmp);
	}
	return ret;
}

void pidfile_remove(const char *path)
{
	pid_t pid = 0;
	if (pidfile_read(path, &pid) == KMS_EOK && pid == getpid()) {
		(void)unlink(path);
	}
}
