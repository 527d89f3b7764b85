/* Shared CUnit runner: one suite table per binary, a summary, exit status. */
#ifndef KMS_TESTS_UNIT_H
#define KMS_TESTS_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	const char *name;
	CU_TestFunc fn;
} unit_test_t;

#define UNIT_TEST(fn)                                                                    \
	{                                                                                \
#fn, fn                                                                  \
	}
#define UNIT_END                                                                         \
	{                                                                                \
		NULL, NULL                                                               \
	}

static inline int unit_run(const char *suite, const unit_test_t *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		return 99;
	}
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	if (s == NULL) {
		CU_cleanup_registry();
		return 99;
	}
	for (const unit_test_t *t = tests; t->name != NULL; t++) {
		if (CU_add_test(s, t->name, t->fn) == NULL) {
			CU_cleanup_registry();
			return 99;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	printf("\n%s: %u tests run, %s\n", suite, run, failed ? "FAILED" : "all passed");
	return failed || run == 0 ? 1 : 0;
}

/* Hex string to bytes for test vectors; aborts on a malformed constant. */
static inline size_t unit_hex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = 0;
	for (; hex[2 * n] != '\0' && hex[2 * n + 1] != '\0'; n++) {
		unsigned v;
		if (n >= cap || sscanf(hex + 2 * n, "%2x", &v) != 1) {
			abort();
		}
		out[n] = (unsigned char)v;
	}
	return n;
}

#endif
