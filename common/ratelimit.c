/*
 * Token buckets (see ratelimit.h): up to RATELIMIT_SHARDS shards, each a
 * mutex and a fixed open-addressing table.  Slots go from unused to used
 * and never back, so a lookup stops at the first unused slot.  Tokens are
 * counted in thousandths: a bucket refills rate thousandths per
 * millisecond, exactly, with integers only.  All memory is allocated in
 * ratelimit_new() and never grows.
 */
#include "common/ratelimit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/errcode.h"

#define MILLI 1000 /* thousandths of a token per token */
#define SHARD_ALIGN 64

typedef struct {
	uint64_t tag;	 /* the key's hash, never 0; 0 = unused */
	int64_t last_ms; /* when tokens was right */
	int64_t tokens;	 /* thousandths of a token */
} entry_t;

_Static_assert(sizeof(entry_t) == RATELIMIT_ENTRY_BYTES,
	       "entry size is part of the bound");

typedef struct {
	_Alignas(SHARD_ALIGN) pthread_mutex_t lock;
	entry_t *slots;
	size_t cap;
	size_t used;
	uint64_t full;
} shard_t;

struct ratelimit {
	shard_t *shards;
	size_t nshards; /* power of two */
	entry_t *slots; /* nshards * cap, one allocation */
	size_t entries;
	int64_t rate;	 /* tokens per second = thousandths per ms */
	int64_t burst;	 /* thousandths */
	uint64_t k0, k1; /* SipHash key */
};

/* --- SipHash-2-4 (Aumasson and Bernstein), 64-bit output ------------------ */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                         \
	do {                                                                             \
		v0 += v1;                                                                \
		v1 = ROTL(v1, 13);                                                       \
		v1 ^= v0;                                                                \
		v0 = ROTL(v0, 32);                                                       \
		v2 += v3;                                                                \
		v3 = ROTL(v3, 16);                                                       \
		v3 ^= v2;                                                                \
		v0 += v3;                                                                \
		v3 = ROTL(v3, 21);                                                       \
		v3 ^= v0;                                                                \
		v2 += v1;                                                                \
		v1 = ROTL(v1, 17);                                                       \
		v1 ^= v2;                                                                \
		v2 = ROTL(v2, 32);                                                       \
	} while (0)

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--) {
		x = (x << 8) | p[i];
	}
	return x;
}

static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	size_t end = len - len % 8;
	for (size_t i = 0; i < end; i += 8) {
		uint64_t m = load_le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < len % 8; i++) {
		b |= (uint64_t)in[end + i] << (8 * i);
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- the table ---------------------------------------------------------------- */

static size_t shards_for(size_t entries)
{
	size_t n = 1;
	/* Each shard keeps at least a probe window of slots. */
	while (n * 2 <= RATELIMIT_SHARDS && n * 2 * RATELIMIT_PROBE <= entries) {
		n *= 2;
	}
	return n;
}

size_t ratelimit_memory_for(size_t entries)
{
	if (entries == 0) {
		return 0;
	}
	size_t n = shards_for(entries);
	return sizeof(struct ratelimit) + n * sizeof(shard_t) +
	       n * (entries / n) * sizeof(entry_t);
}

ratelimit_t *ratelimit_new(size_t entries, uint32_t rate, uint32_t burst)
{
	if (entries == 0 || entries > SIZE_MAX / 2 / sizeof(entry_t) || rate == 0 ||
	    rate > RATELIMIT_RATE_MAX || burst == 0 || burst > RATELIMIT_BURST_MAX) {
		return NULL;
	}
	ratelimit_t *rl = calloc(1, sizeof(*rl));
	if (rl == NULL) {
		return NULL;
	}
	rl->nshards = shards_for(entries);
	size_t cap = entries / rl->nshards;
	rl->entries = entries;
	rl->rate = rate;
	rl->burst = (int64_t)burst * MILLI;
	rl->shards = aligned_alloc(SHARD_ALIGN, rl->nshards * sizeof(shard_t));
	rl->slots = calloc(rl->nshards * cap, sizeof(entry_t)); /* touched now */
	uint8_t key[16];
	if (rl->shards == NULL || rl->slots == NULL ||
	    crypto_random(key, sizeof(key)) != KMS_EOK) {
		free(rl->shards);
		free(rl->slots);
		free(rl);
		return NULL;
	}
	rl->k0 = load_le64(key);
	rl->k1 = load_le64(key + 8);
	memset(rl->shards, 0, rl->nshards * sizeof(shard_t));
	for (size_t i = 0; i < rl->nshards; i++) {
		shard_t *s = &rl->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->slots = rl->slots + i * cap;
		s->cap = cap;
	}
	return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
	if (rl == NULL) {
		return;
	}
	for (size_t i = 0; i < rl->nshards; i++) {
		pthread_mutex_destroy(&rl->shards[i].lock);
	}
	free(rl->shards);
	free(rl->slots);
	free(rl);
}

/* When e's bucket is (or was) full: last_ms plus the refill of its deficit. */
static int64_t full_at(const ratelimit_t *rl, const entry_t *e)
{
	int64_t deficit = rl->burst - e->tokens;
	return deficit <= 0 ? e->last_ms
			    : e->last_ms + (deficit + rl->rate - 1) / rl->rate;
}

/* Bring e's tokens up to now (a clock that went back adds nothing). */
static void refill(const ratelimit_t *rl, entry_t *e, int64_t now)
{
	int64_t elapsed = now - e->last_ms;
	if (elapsed > 0) {
		int64_t to_full = (rl->burst - e->tokens + rl->rate - 1) / rl->rate;
		e->tokens =
		    elapsed >= to_full ? rl->burst : e->tokens + elapsed * rl->rate;
	}
	e->last_ms = now;
}

/*
 * key's slot in s: its own, else a new one (unused, or the one full the
 * longest), or NULL when every slot of its window holds a live bucket;
 * then *soonest is when the first of those will be full.
 */
static entry_t *slot_find(const ratelimit_t *rl, shard_t *s, uint64_t tag, size_t home,
			  int64_t now, int64_t *soonest)
{
	size_t probe = s->cap < RATELIMIT_PROBE ? s->cap : RATELIMIT_PROBE;
	entry_t *victim = NULL;
	int64_t victim_full = 0;
	*soonest = INT64_MAX;
	for (size_t i = 0; i < probe; i++) {
		entry_t *e = &s->slots[(home + i) % s->cap];
		if (e->tag == tag) {
			return e;
		}
		if (e->tag == 0) {
			victim = e; /* the key is not further on: never inserted there */
			s->used++;
			break;
		}
		int64_t f = full_at(rl, e);
		if (f <= now && (victim == NULL || f < victim_full)) {
			victim = e;
			victim_full = f;
		}
		if (f < *soonest) {
			*soonest = f;
		}
	}
	if (victim != NULL) {
		victim->tag = tag;
		victim->last_ms = now;
		victim->tokens = rl->burst;
	}
	return victim;
}

int ratelimit_charge(ratelimit_t *rl, const void *key, size_t len, int64_t *retry_ms)
{
	if (rl == NULL) {
		return KMS_EOK;
	}
	uint64_t h = siphash(rl->k0, rl->k1, key, len);
	shard_t *s = &rl->shards[h & (rl->nshards - 1)];
	size_t home = (size_t)((h >> 8) % s->cap);
	uint64_t tag = h != 0 ? h : 1;
	int64_t now = kms_clock_now_ms();
	int64_t wait = 0;
	int64_t soonest;

	pthread_mutex_lock(&s->lock);
	entry_t *e = slot_find(rl, s, tag, home, now, &soonest);
	if (e == NULL) {
		s->full++;
		wait = soonest - now;
	} else {
		refill(rl, e, now);
		if (e->tokens >= MILLI) {
			e->tokens -= MILLI;
		} else {
			wait = (MILLI - e->tokens + rl->rate - 1) / rl->rate;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (e != NULL && wait == 0) {
		return KMS_EOK;
	}
	if (retry_ms != NULL) {
		*retry_ms = wait >= 1 ? wait : 1;
	}
	return KMS_ERATE;
}

uint32_t ratelimit_retry_after_s(int64_t retry_ms)
{
	if (retry_ms <= 1000) {
		return 1;
	}
	int64_t s = (retry_ms + 999) / 1000;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

size_t ratelimit_memory(const ratelimit_t *rl)
{
	return rl != NULL ? ratelimit_memory_for(rl->entries) : 0;
}

void ratelimit_stats(ratelimit_t *rl, ratelimit_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	if (rl == NULL) {
		return;
	}
	out->entries = rl->entries;
	for (size_t i = 0; i < rl->nshards; i++) {
		shard_t *s = &rl->shards[i];
		pthread_mutex_lock(&s->lock);
		out->used += s->used;
		out->full += s->full;
		pthread_mutex_unlock(&s->lock);
	}
}

size_t ratelimit_addr_key(const struct sockaddr *sa, uint8_t out[RATELIMIT_ADDR_KEY_MAX])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (sa == NULL) {
		return 0;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a =
		    (const struct sockaddr_in *)(const void *)sa;
		out[0] = 4;
		memcpy(out + 1, &a->sin_addr, 4);
		return 5;
	}
	if (sa->sa_family != AF_INET6) {
		return 0;
	}
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
	const uint8_t *b = a->sin6_addr.s6_addr;
	if (memcmp(b, mapped, sizeof(mapped)) == 0) {
		out[0] = 4; /* the same client as over IPv4 */
		memcpy(out + 1, b + 12, 4);
		return 5;
	}
	out[0] = 6;
	memcpy(out + 1, b, 8); /* the /64 */
	return 9;
}

bool ratelimit_gate_pass(ratelimit_gate_t *g, int64_t interval_ms, uint64_t *skipped)
{
	int64_t now = kms_clock_now_ms();
	int_fast64_t next = atomic_load(&g->next_ms);
	if (now < next ||
	    !atomic_compare_exchange_strong(&g->next_ms, &next, now + interval_ms)) {
		atomic_fetch_add(&g->skipped, 1);
		return false;
	}
	*skipped = atomic_exchange(&g->skipped, 0);
	return true;
}
