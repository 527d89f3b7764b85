/*
 * Replays a checked-in corpus through a libFuzzer harness without libFuzzer,
 * so that make check runs every fuzz input with any compiler.
 * Usage: replay [DIR|FILE]...  (default: $srcdir/tests/fuzz/corpus/<name>)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef REPLAY_CORPUS
#error "define REPLAY_CORPUS to the corpus folder name"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (1u << 20)

static int run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return 1;
	}
	static uint8_t buf[INPUT_MAX];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* Give the harness an exact-size heap copy so ASan sees overreads. */
	uint8_t *copy = malloc(n ? n : 1);
	if (copy == NULL) {
		return 1;
	}
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	(*count)++;
	return 0;
}

static int run_path(const char *path, size_t *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		return run_file(path, count);
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		perror(path);
		return 1;
	}
	int ret = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		ret |= run_path(p, count);
	}
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int ret = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			ret |= run_path(argv[i], &count);
		}
	} else {
		const char *srcdir = getenv("srcdir");
		char p[4096];
		snprintf(p, sizeof(p), "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".",
			 REPLAY_CORPUS);
		ret = run_path(p, &count);
	}
	printf("replay: %zu inputs from corpus '%s' ran without a crash\n", count,
	       REPLAY_CORPUS);
	return ret != 0 || count == 0;
}
