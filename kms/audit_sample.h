/*
 * The sampled refusals of one interval (kms/audit.c): one row per (client
 * address, error code) pair, holding the first refusal (its time, request
 * id, requester, reason) and how many there were.  At most AUDIT_SAMPLE_MAX
 * pairs; further pairs are counted in one more row, client "*".  Memory is
 * fixed at creation.  Not thread safe: the audit lock guards it.
 */
#ifndef KMS_KMS_AUDIT_SAMPLE_H
#define KMS_KMS_AUDIT_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "kms/audit.h"

#define AUDIT_SAMPLE_ROWS (AUDIT_SAMPLE_MAX + 1)

typedef struct {
	audit_rec_t rec;
	uint64_t count;
} audit_sample_row_t;

typedef struct audit_samples audit_samples_t;

audit_samples_t *audit_samples_new(void);
/* NULL is a no-op. */
void audit_samples_free(audit_samples_t *s);
/* Count rec in its pair's row (a new row keeps rec as the sample). */
void audit_samples_add(audit_samples_t *s, const audit_rec_t *rec);
/* Rows held now. */
size_t audit_samples_rows(const audit_samples_t *s);
/* Move every row to out (room for AUDIT_SAMPLE_ROWS) and start empty;
 * returns how many. */
size_t audit_samples_take(audit_samples_t *s, audit_sample_row_t *out);

#endif
