/* Scratch directories for store tests: mkdtemp under /tmp, removed after. */
#ifndef KMS_TESTS_TMPDIR_H
#define KMS_TESTS_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNIT_PATH_MAX 512

/* Create a fresh directory; aborts on failure (the test cannot run). */
static inline void unit_tmpdir(char dir[UNIT_PATH_MAX])
{
	snprintf(dir, UNIT_PATH_MAX, "/tmp/kms-unit.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

/* dir/name into out. */
static inline void unit_path(char out[UNIT_PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, UNIT_PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= UNIT_PATH_MAX) {
		abort();
	}
}

/* Remove the files of a flat directory, then the directory. */
static inline void unit_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	char p[UNIT_PATH_MAX];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			unit_path(p, dir, e->d_name);
			unlink(p);
		}
	}
	closedir(d);
	rmdir(dir);
}

#endif
