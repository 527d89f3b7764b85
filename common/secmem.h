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

/* calloc()/free() pair for secrets: the free wipes len bytes first.
 * The fast path for short-lived buffers (per request: MIKEY KEMAC padding,
 * Zn answers, per-thread crypto state); a heap block shares pages with
 * other data, so it is neither MADV_DONTDUMP nor locked. */
void *secmem_alloc(size_t len);
void secmem_free(void *p, size_t len);

/*
 * Long-lived key tables (the master keyring, the static PSK table, the Zk
 * peer keys), made once at start or reload: one
 * anonymous mapping per table, len rounded up to whole pages, zeroed,
 * MADV_DONTDUMP (left out of core dumps) and mlock()ed (kept out of swap)
 * where RLIMIT_MEMLOCK allows.  A failed mlock is not an error: it is
 * counted, see secmem_table_lock_failures().  secmem_table_free wipes,
 * munlocks and unmaps; NULL is a no-op; len must be the allocated length.
 * An mmap per call is too slow for the per-request buffers above.  The
 * NAF key cache stays on the heap: sized by naf.cache_entries up to
 * gigabytes, locking it would pin all of it in RAM at start; with core
 * dumps off (kmsd's default) it cannot reach a core file either.
 */
void *secmem_table_alloc(size_t len);
void secmem_table_free(void *p, size_t len);

/* How many secmem_table_alloc() calls could not lock their pages. */
unsigned secmem_table_lock_failures(void);

#endif
