/* Secret memory: heap buffers, and key tables that are page-aligned, zeroed,
 * MADV_DONTDUMP and released with a wipe. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/secmem.h"
#include "tests/unit/unit.h"

/* The VmFlags line of the /proc/self/smaps mapping holding p; "" if none. */
static void vmflags_of(const void *p, char *out, size_t len)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/self/smaps", "r");
	if (f == NULL) {
		return;
	}
	char line[512];
	bool inside = false;
	uintptr_t a = (uintptr_t)p;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = a >= lo && a < hi;
		} else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, len, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static void given_heap_alloc_when_used_then_zeroed_and_freed(void)
{
	uint8_t *p = secmem_alloc(100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_TRUE(all_zero(p, 100));
	memset(p, 0xAB, 100);
	secmem_free(p, 100);
	secmem_free(NULL, 100); /* no-op */
}

static void given_table_when_allocated_then_page_aligned_zeroed_and_dontdump(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = page + 10; /* two pages */
	uint8_t *p = secmem_table_alloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL((uintptr_t)p % page, 0);
	CU_ASSERT_TRUE(all_zero(p, 2 * page)); /* the rounded-up tail too */
	memset(p, 0x5A, len);
	char flags[512];
	vmflags_of(p, flags, sizeof(flags));
	if (flags[0] == '\0') {
		printf("\n  no VmFlags in /proc/self/smaps: flag not checked ");
	} else {
		CU_ASSERT_PTR_NOT_NULL(strstr(flags, " dd"));
		vmflags_of(p + page, flags, sizeof(flags));
		CU_ASSERT_PTR_NOT_NULL(strstr(flags, " dd"));
	}
	secmem_table_free(p, len);
	/* Unmapped: no mapping holds p any more (or another one without dd
	 * took its place). */
	vmflags_of(p, flags, sizeof(flags));
	CU_ASSERT_TRUE(flags[0] == '\0' || strstr(flags, " dd") == NULL);
	secmem_table_free(NULL, len); /* no-op */
}

static void given_zero_length_when_table_allocated_then_one_usable_page(void)
{
	uint8_t *p = secmem_table_alloc(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[0] = 1;
	secmem_table_free(p, 0);
	CU_ASSERT_PTR_NULL(secmem_table_alloc(SIZE_MAX));
}

static void given_tables_when_allocated_then_lock_failures_never_exceed_calls(void)
{
	unsigned before = secmem_table_lock_failures();
	void *a = secmem_table_alloc(64);
	void *b = secmem_table_alloc(64);
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT_TRUE(secmem_table_lock_failures() - before <= 2);
	secmem_table_free(a, 64);
	secmem_table_free(b, 64);
}

int main(void)
{
	static const unit_test_t tests[] = {
		UNIT_TEST(given_heap_alloc_when_used_then_zeroed_and_freed),
		UNIT_TEST(
		    given_table_when_allocated_then_page_aligned_zeroed_and_dontdump),
		UNIT_TEST(given_zero_length_when_table_allocated_then_one_usable_page),
		UNIT_TEST(
		    given_tables_when_allocated_then_lock_failures_never_exceed_calls),
		UNIT_END,
	};
	return unit_run("secmem", tests);
}
