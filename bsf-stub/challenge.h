/*
 * The Ub challenges in flight: a bounded table keyed by nonce.  Each entry
 * lives until it is taken (once: a nonce is good for one answer, right or
 * wrong) or until it expires.  When the table is full the expired entries
 * go first, then the oldest.  Entries hold XRES, CK and IK: wiped on take,
 * eviction and free.  Thread safe (one mutex).
 */
#ifndef KMS_BSF_STUB_CHALLENGE_H
#define KMS_BSF_STUB_CHALLENGE_H

#include <stddef.h>
#include <stdint.h>

#include "gba/digest.h"
#include "gba/kdf.h"

#define BSF_CHAL_NONCE_MAX 64  /* base64(RAND || AUTN) is 44 characters */
#define BSF_CHAL_OPAQUE_LEN 32 /* hex of 16 random bytes */

typedef struct {
	char nonce[BSF_CHAL_NONCE_MAX + 1];
	char opaque[BSF_CHAL_OPAQUE_LEN + 1];
	char impi[GBA_IMPI_MAX + 1];
	uint8_t rand[GBA_RAND_LEN];
	uint8_t xres[8];
	uint8_t ck[16];
	uint8_t ik[16];
	int64_t expires; /* unix s */
} bsf_chal_t;

typedef struct bsf_chal_table bsf_chal_table_t;

/* A table of at most cap entries (cap >= 1); NULL on failure. */
bsf_chal_table_t *bsf_chal_new(size_t cap);
/* Wipes every entry; NULL is a no-op. */
void bsf_chal_free(bsf_chal_table_t *t);

/* Add c (its nonce must be new: KMS_EEXIST otherwise). */
int bsf_chal_put(bsf_chal_table_t *t, const bsf_chal_t *c, int64_t now);
/*
 * Remove the entry of nonce and return it in *out (wipe it after use).
 * KMS_ENOENT when there is none or it expired before now.
 */
int bsf_chal_take(bsf_chal_table_t *t, const char *nonce, int64_t now, bsf_chal_t *out);
/* Entries currently held (expired ones included until evicted). */
size_t bsf_chal_count(bsf_chal_table_t *t);

#endif
