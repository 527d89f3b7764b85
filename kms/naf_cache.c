/*
 * NAF key cache.  Each shard is a mutex, a fixed array of entries, a
 * chained hash index (bucket heads and chain links are entry numbers + 1,
 * 0 = none) and an LRU list through the same entries.  A shard fills its
 * array once; after that every insert reuses the least recently used
 * entry.  The shard and bucket come from a keyed hash (SHA-256 of a random
 * per-cache seed and the B-TID), so chosen B-TIDs cannot pile up in one
 * chain.
 */
#include "kms/naf_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/errcode.h"
#include "common/secmem.h"

#define SEED_LEN 16
#define SHARD_ALIGN 64

typedef struct {
	uint32_t hnext;	 /* next in the bucket chain */
	uint32_t prev;	 /* LRU: towards the most recent */
	uint32_t next;	 /* LRU: towards the least recent */
	uint32_t bucket; /* its bucket */
	char *strs;	 /* B-TID NUL IMPI NUL id NUL id NUL ... (heap) */
	size_t btid_len;
	size_t nids;
	int64_t until; /* positive: key expiry; negative: end of the refusal */
	int code;      /* KMS_EOK: positive; else the refusal */
	size_t key_len;
	uint8_t key[KMS_PSK_MAX];
} entry_t;

typedef struct {
	_Alignas(SHARD_ALIGN) pthread_mutex_t lock;
	entry_t *e;	  /* cap entries (secret memory) */
	uint32_t *bucket; /* nbuckets heads */
	size_t cap, used, nbuckets;
	uint32_t head, tail; /* LRU ends, entry numbers + 1 */
} shard_t;

struct naf_cache {
	shard_t *shards;
	size_t nshards; /* power of two */
	size_t per_shard;
	atomic_uint negative_ttl;
	uint8_t seed[SEED_LEN];
};

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n) {
		p *= 2;
	}
	return p;
}

naf_cache_t *naf_cache_new(size_t max_entries, uint32_t negative_ttl)
{
	if (max_entries < NAF_CACHE_MIN || max_entries > NAF_CACHE_MAX) {
		return NULL;
	}
	naf_cache_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return NULL;
	}
	c->nshards = NAF_CACHE_SHARDS;
	while (c->nshards > 1 && max_entries / c->nshards < NAF_CACHE_MIN / 2) {
		c->nshards /= 2;
	}
	c->per_shard = (max_entries + c->nshards - 1) / c->nshards;
	atomic_init(&c->negative_ttl, negative_ttl);
	c->shards = aligned_alloc(SHARD_ALIGN, c->nshards * sizeof(shard_t));
	if (c->shards == NULL || crypto_random(c->seed, sizeof(c->seed)) != KMS_EOK) {
		free(c->shards);
		free(c);
		return NULL;
	}
	memset(c->shards, 0, c->nshards * sizeof(shard_t));
	bool ok = true;
	for (size_t i = 0; i < c->nshards; i++) {
		shard_t *s = &c->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->cap = c->per_shard;
		s->nbuckets = pow2_at_least(s->cap);
		s->e = secmem_alloc(s->cap * sizeof(entry_t));
		s->bucket = calloc(s->nbuckets, sizeof(uint32_t));
		ok &= s->e != NULL && s->bucket != NULL;
	}
	if (!ok) {
		naf_cache_free(c);
		return NULL;
	}
	return c;
}

void naf_cache_free(naf_cache_t *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; i < c->nshards; i++) {
		shard_t *s = &c->shards[i];
		for (size_t k = 0; s->e != NULL && k < s->used; k++) {
			free(s->e[k].strs);
		}
		secmem_free(s->e, s->cap * sizeof(entry_t));
		free(s->bucket);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	secmem_wipe(c->seed, sizeof(c->seed));
	free(c);
}

static uint64_t hash_of(const naf_cache_t *c, const uint8_t *btid, size_t len)
{
	uint8_t d[CRYPTO_SHA256_LEN];
	crypto_iov_t iov[2] = { { c->seed, SEED_LEN }, { btid, len } };
	uint64_t h = 0;
	if (crypto_hash(CRYPTO_MD_SHA256, iov, 2, d) == KMS_EOK) {
		memcpy(&h, d, sizeof(h));
	}
	return h; /* on a (never expected) failure everything shares shard 0 */
}

static shard_t *shard_of(const naf_cache_t *c, uint64_t h, uint32_t *bucket)
{
	shard_t *s = &c->shards[h & (c->nshards - 1)];
	*bucket = (uint32_t)((h >> 16) & (s->nbuckets - 1));
	return s;
}

/* --- the LRU list ------------------------------------------------------------ */

static void lru_unlink(shard_t *s, uint32_t i)
{
	entry_t *e = &s->e[i - 1];
	if (e->prev != 0) {
		s->e[e->prev - 1].next = e->next;
	} else {
		s->head = e->next;
	}
	if (e->next != 0) {
		s->e[e->next - 1].prev = e->prev;
	} else {
		s->tail = e->prev;
	}
	e->prev = e->next = 0;
}

static void lru_push(shard_t *s, uint32_t i)
{
	entry_t *e = &s->e[i - 1];
	e->prev = 0;
	e->next = s->head;
	if (s->head != 0) {
		s->e[s->head - 1].prev = i;
	}
	s->head = i;
	if (s->tail == 0) {
		s->tail = i;
	}
}

/* --- the index --------------------------------------------------------------- */

static uint32_t find(const shard_t *s, uint32_t b, const uint8_t *btid, size_t len)
{
	for (uint32_t i = s->bucket[b]; i != 0; i = s->e[i - 1].hnext) {
		const entry_t *e = &s->e[i - 1];
		if (e->btid_len == len && memcmp(e->strs, btid, len) == 0) {
			return i;
		}
	}
	return 0;
}

static void index_remove(shard_t *s, uint32_t i)
{
	entry_t *e = &s->e[i - 1];
	uint32_t *p = &s->bucket[e->bucket];
	while (*p != 0 && *p != i) {
		p = &s->e[*p - 1].hnext;
	}
	if (*p == i) {
		*p = e->hnext;
	}
	e->hnext = 0;
}

static void entry_clear(entry_t *e)
{
	free(e->strs);
	secmem_wipe(e, sizeof(*e));
}

/* An entry for a new B-TID: a never-used one, else the least recent. */
static uint32_t take_slot(shard_t *s)
{
	if (s->used < s->cap) {
		return (uint32_t)++s->used;
	}
	uint32_t i = s->tail;
	lru_unlink(s, i);
	index_remove(s, i);
	entry_clear(&s->e[i - 1]);
	return i;
}

/* --- operations -------------------------------------------------------------- */

static void fill_out(const entry_t *e, kms_psk_t *out, char *impi, size_t impi_cap)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->key, e->key, e->key_len);
	out->key_len = e->key_len;
	out->expires = e->until;
	const char *p = e->strs + e->btid_len + 1;
	if (impi != NULL && impi_cap > 0) {
		snprintf(impi, impi_cap, "%s", p);
	}
	p += strlen(p) + 1;
	for (size_t k = 0; k < e->nids; k++) {
		size_t l = strlen(p);
		memcpy(out->ids[k], p, l + 1);
		p += l + 1;
	}
	out->nids = e->nids;
}

int naf_cache_get(naf_cache_t *c, const uint8_t *btid, size_t len, int64_t now,
		  kms_psk_t *out, char *impi, size_t impi_cap)
{
	if (c == NULL || btid == NULL || len == 0 || out == NULL) {
		return KMS_EINVAL;
	}
	uint32_t b = 0;
	shard_t *s = shard_of(c, hash_of(c, btid, len), &b);
	int ret = KMS_ENOENT;
	pthread_mutex_lock(&s->lock);
	uint32_t i = find(s, b, btid, len);
	if (i != 0) {
		entry_t *e = &s->e[i - 1];
		if (e->code == KMS_EOK && e->until <= now) {
			/* The bootstrapping session ended: forget the key now. */
			secmem_wipe(e->key, sizeof(e->key));
			e->key_len = 0;
			e->code = KMS_EBTID;
			e->until = now + (int64_t)atomic_load(&c->negative_ttl);
			ret = KMS_EBTID;
		} else if (e->until > now) {
			ret = e->code;
			if (ret == KMS_EOK) {
				fill_out(e, out, impi, impi_cap);
			}
		}
		lru_unlink(s, i);
		lru_push(s, i);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Store under the shard lock: strs (ownership passes), the rest copied. */
static int put(naf_cache_t *c, const uint8_t *btid, size_t len, char *strs, size_t nids,
	       int code, int64_t until, const uint8_t *key, size_t key_len)
{
	uint32_t b = 0;
	shard_t *s = shard_of(c, hash_of(c, btid, len), &b);
	pthread_mutex_lock(&s->lock);
	uint32_t i = find(s, b, btid, len);
	if (i != 0) {
		lru_unlink(s, i);
		index_remove(s, i);
		entry_clear(&s->e[i - 1]);
	} else {
		i = take_slot(s);
	}
	entry_t *e = &s->e[i - 1];
	e->strs = strs;
	e->btid_len = len;
	e->nids = nids;
	e->code = code;
	e->until = until;
	e->key_len = key_len;
	if (key_len > 0) {
		memcpy(e->key, key, key_len);
	}
	e->bucket = b;
	e->hnext = s->bucket[b];
	s->bucket[b] = i;
	lru_push(s, i);
	pthread_mutex_unlock(&s->lock);
	return KMS_EOK;
}

/* B-TID NUL IMPI NUL ids..., malloc'd. */
static char *pack(const uint8_t *btid, size_t len, const char *impi, const kms_psk_t *psk)
{
	size_t ilen = impi != NULL ? strlen(impi) : 0;
	size_t total = len + 1 + ilen + 1;
	size_t nids = psk != NULL ? psk->nids : 0;
	for (size_t k = 0; k < nids; k++) {
		total += strnlen(psk->ids[k], KMS_IDENTITY_MAX) + 1;
	}
	char *p = malloc(total), *w = p;
	if (p == NULL) {
		return NULL;
	}
	memcpy(w, btid, len);
	w[len] = '\0';
	w += len + 1;
	if (ilen > 0) {
		memcpy(w, impi, ilen);
	}
	w[ilen] = '\0';
	w += ilen + 1;
	for (size_t k = 0; k < nids; k++) {
		size_t l = strnlen(psk->ids[k], KMS_IDENTITY_MAX);
		memcpy(w, psk->ids[k], l);
		w[l] = '\0';
		w += l + 1;
	}
	return p;
}

int naf_cache_put(naf_cache_t *c, const uint8_t *btid, size_t len, const kms_psk_t *psk,
		  const char *impi)
{
	if (c == NULL || btid == NULL || len == 0 || memchr(btid, '\0', len) != NULL ||
	    psk == NULL || (psk->key_len != 16 && psk->key_len != 32) ||
	    psk->nids > KMS_PSK_IDS_MAX || psk->expires <= 0) {
		return KMS_EINVAL;
	}
	char *strs = pack(btid, len, impi, psk);
	if (strs == NULL) {
		return KMS_ENOMEM;
	}
	return put(c, btid, len, strs, psk->nids, KMS_EOK, psk->expires, psk->key,
		   psk->key_len);
}

int naf_cache_put_negative(naf_cache_t *c, const uint8_t *btid, size_t len, int code,
			   int64_t until)
{
	if (c == NULL || btid == NULL || len == 0 || memchr(btid, '\0', len) != NULL ||
	    code == KMS_EOK) {
		return KMS_EINVAL;
	}
	char *strs = pack(btid, len, NULL, NULL);
	if (strs == NULL) {
		return KMS_ENOMEM;
	}
	return put(c, btid, len, strs, 0, code, until, NULL, 0);
}

size_t naf_cache_size(naf_cache_t *c)
{
	size_t n = 0;
	for (size_t i = 0; c != NULL && i < c->nshards; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		n += c->shards[i].used;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	return n;
}

size_t naf_cache_capacity(const naf_cache_t *c)
{
	return c != NULL ? c->nshards * c->per_shard : 0;
}

void naf_cache_set_negative_ttl(naf_cache_t *c, uint32_t negative_ttl)
{
	if (c != NULL) {
		atomic_store(&c->negative_ttl, negative_ttl);
	}
}
