/*
 * Crypto known-answer tests (RFC 2202, RFC 4231, RFC 3711 B.2, FIPS-197
 * C.1, RFC 1321, RFC 3394, the GCM specification's test case 16).  Every daemon runs
 * crypto_selftest() at start-up and refuses to serve when it fails;
 * make check runs it too.
 */
#ifndef KMS_COMMON_CRYPTO_SELFTEST_H
#define KMS_COMMON_CRYPTO_SELFTEST_H

#include <stddef.h>

/* KMS_EOK when every KAT passes, KMS_ESELFTEST otherwise (logged). */
int crypto_selftest(void);

/*
 * Test interface: run KAT i alone, optionally flipping one bit of byte
 * flip_byte of the computed output before the comparison (flip_byte < 0:
 * no fault).  Used to show that each KAT checks its whole output.
 */
size_t crypto_selftest_count(void);
const char *crypto_selftest_name(size_t i);
size_t crypto_selftest_output_len(size_t i);
int crypto_selftest_run(size_t i, long flip_byte);

#endif
