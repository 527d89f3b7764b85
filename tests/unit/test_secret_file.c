/* Secret files: capped reads, mode checks, 0600 writes, no symbolic links. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errcode.h"
#include "common/secret_file.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/unit.h"

static char dir[UNIT_PATH_MAX];

static mode_t mode_of(const char *path)
{
	struct stat sb;
	CU_ASSERT_EQUAL_FATAL(lstat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static void given_text_when_written_then_0600_and_read_back(void)
{
	char p[UNIT_PATH_MAX];
	unit_path(p, dir, "a");
	mode_t old = umask(0);
	CU_ASSERT_EQUAL(secret_file_write(p, 0, "secret\n", 7), KMS_EOK);
	umask(old);
	CU_ASSERT_EQUAL(mode_of(p), 0600);
	char *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(secret_file_read(p, SECRET_FILE_PRIVATE, 64, &buf, &len),
			      KMS_EOK);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_STRING_EQUAL(buf, "secret\n"); /* NUL-terminated */
	secret_file_free(buf, 64);
	/* Replacing an older, wider file makes it 0600 again. */
	CU_ASSERT_EQUAL(chmod(p, 0644), 0);
	CU_ASSERT_EQUAL(secret_file_write(p, 0, "x", 1), KMS_EOK);
	CU_ASSERT_EQUAL(mode_of(p), 0600);
	unlink(p);
}

static void given_existing_file_when_written_exclusively_then_eexist_and_kept(void)
{
	char p[UNIT_PATH_MAX];
	unit_path(p, dir, "b");
	CU_ASSERT_EQUAL(secret_file_write(p, SECRET_FILE_EXCL, "one", 3), KMS_EOK);
	CU_ASSERT_EQUAL(secret_file_write(p, SECRET_FILE_EXCL, "two", 3), KMS_EEXIST);
	char *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(secret_file_read(p, 0, 16, &buf, &len), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(buf, "one");
	secret_file_free(buf, 16);
	unlink(p);
}

static void given_file_over_cap_when_read_then_elimit(void)
{
	char p[UNIT_PATH_MAX];
	unit_path(p, dir, "c");
	CU_ASSERT_EQUAL(secret_file_write(p, 0, "0123456789", 10), KMS_EOK);
	char *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(secret_file_read(p, 0, 9, &buf, &len), KMS_ELIMIT);
	CU_ASSERT_PTR_NULL(buf);
	CU_ASSERT_EQUAL(secret_file_read(p, 0, 10, &buf, &len), KMS_EOK);
	CU_ASSERT_EQUAL(len, 10);
	secret_file_free(buf, 10);
	CU_ASSERT_EQUAL(secret_file_read(p, 0, 0, &buf, &len), KMS_EINVAL);
	CU_ASSERT_EQUAL(secret_file_read(p, 0, SECRET_FILE_MAX + 1, &buf, &len),
			KMS_EINVAL);
	unlink(p);
}

static void given_wide_mode_or_directory_when_read_private_then_eacces(void)
{
	char p[UNIT_PATH_MAX];
	unit_path(p, dir, "d");
	CU_ASSERT_EQUAL(secret_file_write(p, 0, "k", 1), KMS_EOK);
	CU_ASSERT_EQUAL(chmod(p, 0640), 0);
	char *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(secret_file_read(p, SECRET_FILE_PRIVATE, 8, &buf, &len),
			KMS_EACCES);
	CU_ASSERT_EQUAL(secret_file_read(p, 0, 8, &buf, &len), KMS_EOK); /* a cert */
	secret_file_free(buf, 8);
	buf = NULL;
	CU_ASSERT_EQUAL(secret_file_read(dir, 0, 8, &buf, &len), KMS_EACCES);
	unit_path(p, dir, "missing");
	CU_ASSERT_EQUAL(secret_file_read(p, 0, 8, &buf, &len), KMS_ENOENT);
	CU_ASSERT_PTR_NULL(buf);
	unit_path(p, dir, "d");
	unlink(p);
}

/* A file shared with kmsd's group: 0640 in that group only. */
static void given_group_read_file_when_read_for_its_group_then_only_that_group(void)
{
	char p[UNIT_PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	struct stat sb;
	unit_path(p, dir, "g");
	CU_ASSERT_EQUAL_FATAL(secret_file_write(p, 0, "k", 1), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(stat(p, &sb), 0);
	gid_t g = sb.st_gid;
	/* Positive control: 0600 reads for any group argument. */
	CU_ASSERT_EQUAL(
	    secret_file_read_group(p, SECRET_FILE_PRIVATE, g + 1, 16, &buf, &len),
	    KMS_EOK);
	secret_file_free(buf, 16);
	CU_ASSERT_EQUAL(chmod(p, 0640), 0);
	CU_ASSERT_EQUAL(secret_file_read_group(p, SECRET_FILE_PRIVATE, g, 16, &buf, &len),
			KMS_EOK);
	CU_ASSERT_STRING_EQUAL(buf, "k");
	secret_file_free(buf, 16);
	/* Another group, no group, or more than group read: refused. */
	CU_ASSERT_EQUAL(
	    secret_file_read_group(p, SECRET_FILE_PRIVATE, g + 1, 16, &buf, &len),
	    KMS_EACCES);
	CU_ASSERT_EQUAL(secret_file_read(p, SECRET_FILE_PRIVATE, 16, &buf, &len),
			KMS_EACCES);
	CU_ASSERT_EQUAL(
	    secret_file_read_group(p, SECRET_FILE_PRIVATE, (gid_t)-1, 16, &buf, &len),
	    KMS_EACCES);
	const mode_t wider[] = { 0660, 0650, 0644, 0641 };
	for (size_t i = 0; i < sizeof(wider) / sizeof(wider[0]); i++) {
		CU_ASSERT_EQUAL(chmod(p, wider[i]), 0);
		CU_ASSERT_EQUAL(
		    secret_file_read_group(p, SECRET_FILE_PRIVATE, g, 16, &buf, &len),
		    KMS_EACCES);
	}
	unlink(p);
}

static void given_symlink_when_written_or_read_nofollow_then_refused(void)
{
	char target[UNIT_PATH_MAX], link[UNIT_PATH_MAX];
	unit_path(target, dir, "target");
	unit_path(link, dir, "link");
	CU_ASSERT_EQUAL(secret_file_write(target, 0, "t", 1), KMS_EOK);
	CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
	CU_ASSERT_EQUAL(secret_file_write(link, 0, "evil", 4), KMS_EACCES);
	char *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(secret_file_read(link, SECRET_FILE_NOFOLLOW, 8, &buf, &len),
			KMS_EACCES);
	CU_ASSERT_EQUAL_FATAL(secret_file_read(link, 0, 8, &buf, &len), KMS_EOK);
	CU_ASSERT_STRING_EQUAL(buf, "t"); /* followed, and not overwritten */
	secret_file_free(buf, 8);
	unlink(link);
	unlink(target);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_text_when_written_then_0600_and_read_back),
		UNIT_TEST(
		    given_existing_file_when_written_exclusively_then_eexist_and_kept),
		UNIT_TEST(given_file_over_cap_when_read_then_elimit),
		UNIT_TEST(given_wide_mode_or_directory_when_read_private_then_eacces),
		UNIT_TEST(given_symlink_when_written_or_read_nofollow_then_refused),
		UNIT_TEST(
		    given_group_read_file_when_read_for_its_group_then_only_that_group),
		UNIT_END,
	};
	unit_tmpdir(dir);
	int rc = unit_run("secret_file", tests);
	unit_rmdir(dir);
	return rc;
}
