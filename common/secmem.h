/*
 * Secret hygiene: wiping and constant-time comparison.
 *
 * Rule: key bytes (PSK, MPK, TGK, TEK, salts, derived keys, decrypted
 * tickets) are wiped with secmem_wipe() on every exit path, compared only
 * with secmem_eq(), and never passed to a log or printf call.
 */
#ifndef KMS_COMMON_SECMEM_H
#define KMS_COMMON_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrite len bytes at p with zeros; never optimised away. NULL is a no-op. */
void secmem_wipe(void *p, size_t len);

/* Constant-time equality of two len-byte buffers (time depends on len only). */
bool secmem_eq(const void *a, const void *b, size_t len);

/* calloc()/free() pair for secrets: the free wipes len bytes first. */
void *secmem_alloc(size_t len);
void secmem_free(void *p, size_t len);

#endif
