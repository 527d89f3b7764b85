#include "common/secmem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

void secmem_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0) {
#ifdef HAVE_EXPLICIT_BZERO
		/* The C library's vectorised memset behind a compiler barrier:
		 * several times faster than OPENSSL_cleanse's word loop for the
		 * hundred-odd wipes of a request. */
		explicit_bzero(p, len);
#else
		OPENSSL_cleanse(p, len);
#endif
	}
}

bool secmem_eq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void *secmem_alloc(size_t len)
{
	return calloc(1, len == 0 ? 1 : len);
}

void secmem_free(void *p, size_t len)
{
	if (p == NULL) {
		return;
	}
	secmem_wipe(p, len);
	free(p);
}

/* Tables that could not be mlock()ed (RLIMIT_MEMLOCK, no CAP_IPC_LOCK). */
static atomic_uint lock_failures;

static size_t page_round(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (len == 0) {
		len = 1;
	}
	if (len > SIZE_MAX - (page - 1)) {
		return 0;
	}
	return (len + page - 1) / page * page;
}

void *secmem_table_alloc(size_t len)
{
	size_t size = page_round(len);
	if (size == 0) {
		return NULL;
	}
	void *p =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		return NULL;
	}
	/* Anonymous pages arrive zeroed.  Best effort, both: a kernel without
	 * MADV_DONTDUMP still gets the process-wide RLIMIT_CORE 0 of kmsd, and
	 * mlock fails under a small RLIMIT_MEMLOCK, which is not an error. */
#ifdef MADV_DONTDUMP
	(void)madvise(p, size, MADV_DONTDUMP);
#endif
	if (mlock(p, size) != 0) {
		atomic_fetch_add(&lock_failures, 1);
	}
	return p;
}

void secmem_table_free(void *p, size_t len)
{
	if (p == NULL) {
		return;
	}
	size_t size = page_round(len);
	secmem_wipe(p, size);
	(void)munlock(p, size); /* harmless when the lock had failed */
	(void)munmap(p, size);
}

unsigned secmem_table_lock_failures(void)
{
	return atomic_load(&lock_failures);
}
