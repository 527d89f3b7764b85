/*
 * The challenge table: a fixed array scanned linearly.  The cap is small
 * (a stub serves a handful of UEs), so a scan is cheaper than a hash.
 */
#include "bsf-stub/challenge.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/secmem.h"

typedef struct {
	bool used;
	uint64_t seq; /* insertion order, for eviction */
	bsf_chal_t c;
} slot_t;

struct bsf_chal_table {
	pthread_mutex_t lock;
	size_t cap;
	size_t count;
	uint64_t seq;
	slot_t *s;
};

bsf_chal_table_t *bsf_chal_new(size_t cap)
{
	if (cap == 0) {
		return NULL;
	}
	bsf_chal_table_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return NULL;
	}
	t->s = calloc(cap, sizeof(*t->s));
	if (t->s == NULL) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void bsf_chal_free(bsf_chal_table_t *t)
{
	if (t == NULL) {
		return;
	}
	secmem_wipe(t->s, t->cap * sizeof(*t->s));
	free(t->s);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void drop(bsf_chal_table_t *t, slot_t *s)
{
	secmem_wipe(s, sizeof(*s));
	t->count--;
}

/* A free slot: an unused one, else an expired one, else the oldest. */
static slot_t *free_slot(bsf_chal_table_t *t, int64_t now)
{
	slot_t *oldest = NULL;
	for (size_t i = 0; i < t->cap; i++) {
		slot_t *s = &t->s[i];
		if (!s->used) {
			return s;
		}
		if (s->c.expires <= now) {
			drop(t, s);
			return s;
		}
		if (oldest == NULL || s->seq < oldest->seq) {
			oldest = s;
		}
	}
	drop(t, oldest);
	return oldest;
}

static slot_t *find(bsf_chal_table_t *t, const char *nonce)
{
	for (size_t i = 0; i < t->cap; i++) {
		if (t->s[i].used && strcmp(t->s[i].c.nonce, nonce) == 0) {
			return &t->s[i];
		}
	}
	return NULL;
}

int bsf_chal_put(bsf_chal_table_t *t, const bsf_chal_t *c, int64_t now)
{
	if (t == NULL || c == NULL ||
	    strnlen(c->nonce, sizeof(c->nonce)) >= sizeof(c->nonce) ||
	    c->nonce[0] == '\0') {
		return KMS_EINVAL;
	}
	int ret = KMS_EOK;
	pthread_mutex_lock(&t->lock);
	if (find(t, c->nonce) != NULL) {
		ret = KMS_EEXIST;
	} else {
		slot_t *s = free_slot(t, now);
		s->used = true;
		s->seq = ++t->seq;
		s->c = *c;
		t->count++;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int bsf_chal_take(bsf_chal_table_t *t, const char *nonce, int64_t now, bsf_chal_t *out)
{
	if (t == NULL || nonce == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = KMS_ENOENT;
	pthread_mutex_lock(&t->lock);
	slot_t *s = find(t, nonce);
	if (s != NULL) {
		if (s->c.expires > now) {
			*out = s->c;
			ret = KMS_EOK;
		}
		drop(t, s);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

size_t bsf_chal_count(bsf_chal_table_t *t)
{
	pthread_mutex_lock(&t->lock);
	size_t n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
