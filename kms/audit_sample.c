/*
 * Sampled refusals: an open-addressing hash (twice as many slots as rows,
 * so probes stay short) from (client, error) to a row.
 */
#include "kms/audit_sample.h"

#include <stdlib.h>
#include <string.h>

#include "common/encode.h"

#define SLOTS (2 * AUDIT_SAMPLE_MAX) /* a power of two */
#define EMPTY 0xffffu

struct audit_samples {
	size_t n;	      /* rows used, the overflow row not counted */
	uint16_t slot[SLOTS]; /* row index, or EMPTY */
	audit_sample_row_t row[AUDIT_SAMPLE_ROWS]; /* [AUDIT_SAMPLE_MAX]: "*" */
	uint64_t overflow;			   /* count of the "*" row */
};

static uint32_t key_hash(const char *client, int error)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < AUDIT_ADDR_MAX && client[i] != '\0'; i++) {
		h = (h ^ (uint8_t)client[i]) * 16777619u;
	}
	for (int k = 0; k < 4; k++) {
		h = (h ^ (uint8_t)((unsigned)error >> (8 * k))) * 16777619u;
	}
	return h;
}

audit_samples_t *audit_samples_new(void)
{
	audit_samples_t *s = calloc(1, sizeof(*s));
	if (s != NULL) {
		memset(s->slot, 0xff, sizeof(s->slot));
	}
	return s;
}

void audit_samples_free(audit_samples_t *s)
{
	free(s);
}

static void count_overflow(audit_samples_t *s, const audit_rec_t *rec)
{
	if (s->overflow++ == 0) {
		audit_sample_row_t *o = &s->row[AUDIT_SAMPLE_MAX];
		o->rec = *rec;
		str_copy(o->rec.client, sizeof(o->rec.client), "*");
		o->rec.reason = "more client addresses than sampled per interval";
	}
}

void audit_samples_add(audit_samples_t *s, const audit_rec_t *rec)
{
	uint32_t i = key_hash(rec->client, rec->error) & (SLOTS - 1);
	for (size_t probes = 0; probes < SLOTS; probes++, i = (i + 1) & (SLOTS - 1)) {
		uint16_t r = s->slot[i];
		if (r == EMPTY) {
			if (s->n >= AUDIT_SAMPLE_MAX) {
				break;
			}
			s->slot[i] = (uint16_t)s->n;
			s->row[s->n].rec = *rec;
			s->row[s->n].rec.client[AUDIT_ADDR_MAX] = '\0';
			s->row[s->n].count = 1;
			s->n++;
			return;
		}
		audit_sample_row_t *row = &s->row[r];
		if (row->rec.error == rec->error &&
		    strncmp(row->rec.client, rec->client, AUDIT_ADDR_MAX) == 0) {
			row->count++;
			return;
		}
	}
	count_overflow(s, rec);
}

size_t audit_samples_rows(const audit_samples_t *s)
{
	return s->n + (s->overflow > 0 ? 1 : 0);
}

size_t audit_samples_take(audit_samples_t *s, audit_sample_row_t *out)
{
	size_t n = s->n;
	memcpy(out, s->row, n * sizeof(s->row[0]));
	if (s->overflow > 0) {
		out[n] = s->row[AUDIT_SAMPLE_MAX];
		out[n].count = s->overflow;
		n++;
	}
	s->n = 0;
	s->overflow = 0;
	memset(s->slot, 0xff, sizeof(s->slot));
	return n;
}
