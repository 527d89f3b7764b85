/*
 * kmsd's pid file (kms.pidfile): written once the listeners are bound,
 * removed on a clean stop, read by kmsctl reload.  A pid file is only a
 * hint (the process may have died and its pid been reused), so every
 * reader checks that the pid is a running kmsd (/proc/PID/comm).
 */
#ifndef KMS_KMS_PIDFILE_H
#define KMS_KMS_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The pid in path into *pid.  KMS_ENOENT: no file; KMS_EMALFORMED: not
 * one decimal pid (> 1) and a newline; other errors as -errno.
 */
int pidfile_read(const char *path, pid_t *pid);

/* True when pid is a running process whose name (/proc/PID/comm) is name. */
bool pidfile_is_running(pid_t pid, const char *name);

/*
 * Before binding: KMS_EEXIST when path names a running process called
 * name (another kmsd on the same files); KMS_EOK when there is no file,
 * or a stale or unreadable one (it is replaced).
 */
int pidfile_check(const char *path, const char *name);

/* Write getpid() to path (0644, through a temporary file and rename). */
int pidfile_write(const char *path);

/* Remove path if it still holds getpid() (not a successor's file). */
void pidfile_remove(const char *path);

#endif
