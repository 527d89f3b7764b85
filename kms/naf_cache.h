/*
 * The NAF key cache: what the BSF said about a B-TID, kept so that the
 * steady state needs no Zn request per ticket.  NAF_Id is fixed per kmsd,
 * so the B-TID alone is the key.
 *
 * Positive entries hold Ks_(ext)_NAF, its expiry (key_expiry_time), the
 * IMPI and the KMS user identities from the IMPUs; they are used only
 * before their expiry, and an expired one turns negative on the spot.
 * Negative entries remember a refusal (unknown or expired B-TID, NAF not
 * authorised) until a deadline.  Sharded (one mutex each), a fixed number
 * of entries allocated up front, least recently used evicted first; keys
 * live in wiped memory and are wiped on eviction and free.  Times are Unix
 * seconds given by the caller (the NAF reads kms_clock_wall_s()): the cache
 * itself never reads a clock.
 */
#ifndef KMS_KMS_NAF_CACHE_H
#define KMS_KMS_NAF_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kms/psk.h"

#define NAF_CACHE_SHARDS 16
#define NAF_CACHE_MIN 16
#define NAF_CACHE_MAX (16u * 1024 * 1024)

typedef struct naf_cache naf_cache_t;

/*
 * A cache of about max_entries (NAF_CACHE_MIN..NAF_CACHE_MAX) entries;
 * an expired positive entry becomes negative for negative_ttl seconds.
 * NULL when out of memory or out of range.
 */
naf_cache_t *naf_cache_new(size_t max_entries, uint32_t negative_ttl);
void naf_cache_free(naf_cache_t *c); /* wipes every key; NULL is a no-op */

/*
 * Look btid (len bytes) up at time now.  KMS_EOK and *out for a live
 * positive entry (impi, when not NULL, gets the IMPI, impi_cap bytes);
 * KMS_ENOENT when there is no usable entry; the stored code (KMS_EBTID,
 * KMS_EPOLICY) for a live negative entry; KMS_EBTID for a positive entry
 * past its expiry.
 */
int naf_cache_get(naf_cache_t *c, const uint8_t *btid, size_t len, int64_t now,
		  kms_psk_t *out, char *impi, size_t impi_cap);

/* Store (or replace) a positive entry: psk->expires must be set. */
int naf_cache_put(naf_cache_t *c, const uint8_t *btid, size_t len, const kms_psk_t *psk,
		  const char *impi);

/* Store (or replace) a negative entry answering code until the time until. */
int naf_cache_put_negative(naf_cache_t *c, const uint8_t *btid, size_t len, int code,
			   int64_t until);

/* The refusal time of expired positive entries from now on. */
void naf_cache_set_negative_ttl(naf_cache_t *c, uint32_t negative_ttl);

/* Entries in use, and the capacity (a bound on max_entries, rounded up). */
size_t naf_cache_size(naf_cache_t *c);
size_t naf_cache_capacity(const naf_cache_t *c);

#endif
