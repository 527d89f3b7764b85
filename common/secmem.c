#include "common/secmem.h"

#include <stdlib.h>
#include <string.h>

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
