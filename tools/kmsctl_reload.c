/*
 * kmsctl -c KMSD_CONF reload: SIGHUP to the kmsd that configuration runs,
 * found through its kms.pidfile.  The pid is checked to be a kmsd
 * (/proc/PID/comm) first: a stale file may name a pid reused by another
 * program, which must not get the signal.  kmsd logs what the reload did
 * ("reload done" or why it kept the running state); kmsctl only reports
 * that the signal went.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "kms/pidfile.h"
#include "tools/kmsctl.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: kmsctl -c KMSD_CONF reload\n"
		   "  send SIGHUP to the kmsd whose kms.pidfile KMSD_CONF names;\n"
		   "  kmsd logs the outcome of the reload\n");
}

int kmsctl_reload_run(const kmsctl_paths_t *p, int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (argc != 1) {
		return kmsctl_usage_error("reload takes no arguments");
	}
	if (!p->config) {
		return kmsctl_usage_error("reload needs -c KMSD_CONF (its kms.pidfile)");
	}
	if (p->pidfile[0] == '\0') {
		return kmsctl_fail(KMS_EOK, "reload: kms.pidfile is not set in the "
					    "configuration: no way to find kmsd");
	}
	pid_t pid = 0;
	int ret = pidfile_read(p->pidfile, &pid);
	if (ret == KMS_ENOENT) {
		return kmsctl_fail(KMS_EOK, "reload: no pid file %s: kmsd is not running",
				   p->pidfile);
	}
	if (ret != KMS_EOK) {
		return kmsctl_fail(ret, "reload: cannot read the pid file %s",
				   p->pidfile);
	}
	if (!pidfile_is_running(pid, "kmsd")) {
		return kmsctl_fail(KMS_EOK,
				   "reload: stale pid file %s: process %ld is not a "
				   "running kmsd",
				   p->pidfile, (long)pid);
	}
	if (kill(pid, SIGHUP) != 0) {
		return kmsctl_fail(-errno, "reload: cannot signal kmsd (pid %ld)",
				   (long)pid);
	}
	printf("sent SIGHUP to kmsd (pid %ld); its log says how the reload went\n",
	       (long)pid);
	return EXIT_SUCCESS;
}
