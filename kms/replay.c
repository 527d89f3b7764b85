/*
 * Replay cache: up to REPLAY_SHARDS shards, each a mutex and a fixed
 * open-addressing table.  A message's home slot comes from a keyed mix of
 * its digest; it may live in any of the REPLAY_PROBE slots from there
 * (wrapping), so a lookup scans at most that window (less: see
 * replay_check_and_add) and no entry ever moves.  Empty and expired slots
 * are both free.  All memory is allocated
 * in replay_new() and never grows.
 */
#include "kms/replay.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/crypto.h"
#include "common/errcode.h"

#define TAG_LEN 16
#define SHARD_ALIGN 64
#define HUGE_PAGE (2u << 20) /* x86-64 and arm64 transparent huge page size */

typedef struct {
	uint8_t tag[TAG_LEN]; /* digest prefix */
	int64_t expires;      /* Unix seconds; 0 = never used */
} entry_t;

_Static_assert(sizeof(entry_t) == REPLAY_ENTRY_BYTES, "entry size is part of the bound");

typedef struct {
	_Alignas(SHARD_ALIGN) pthread_mutex_t lock;
	entry_t *slots;
	size_t cap;
	size_t used;
} shard_t;

struct replay {
	shard_t *shards;
	size_t nshards; /* power of two */
	entry_t *slots; /* nshards * cap, one allocation */
	size_t max_entries;
	uint32_t skew;
	int64_t start_time;
	uint64_t seed;
};

static size_t shards_for(size_t max_entries)
{
	size_t n = 1;
	while (n * 2 <= REPLAY_SHARDS && n * 2 <= max_entries) {
		n *= 2;
	}
	return n;
}

size_t replay_memory_for(size_t max_entries)
{
	if (max_entries == 0) {
		return 0;
	}
	size_t n = shards_for(max_entries);
	return sizeof(struct replay) + n * sizeof(shard_t) +
	       n * (max_entries / n) * sizeof(entry_t);
}

replay_t *replay_new(size_t max_entries, uint32_t skew_s, int64_t start_time)
{
	if (max_entries == 0 || max_entries > SIZE_MAX / 2 / sizeof(entry_t)) {
		return NULL;
	}
	replay_t *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return NULL;
	}
	r->nshards = shards_for(max_entries);
	size_t cap = max_entries / r->nshards;
	r->max_entries = max_entries;
	r->skew = skew_s;
	r->start_time = start_time;
	r->shards = aligned_alloc(SHARD_ALIGN, r->nshards * sizeof(shard_t));
	/*
	 * Every check lands on a random slot: with 4 KiB pages a table of
	 * 100 MB adds a page walk to the cache miss.  Aligned to 2 MiB and
	 * advised, the kernel can back it with huge pages (where transparent
	 * huge pages are enabled, "always" or "madvise").
	 */
	size_t bytes = r->nshards * cap * sizeof(entry_t);
	void *slots = NULL;
	if (posix_memalign(&slots, bytes >= HUGE_PAGE ? HUGE_PAGE : SHARD_ALIGN, bytes) !=
	    0) {
		slots = NULL;
	}
	r->slots = slots;
	if (r->shards == NULL || r->slots == NULL ||
	    crypto_random((uint8_t *)&r->seed, sizeof(r->seed)) != KMS_EOK) {
		free(r->shards);
		free(r->slots);
		free(r);
		return NULL;
	}
	memset(r->shards, 0, r->nshards * sizeof(shard_t));
#ifdef MADV_HUGEPAGE
	if (bytes >= HUGE_PAGE) {
		(void)madvise(r->slots, bytes, MADV_HUGEPAGE); /* advice only */
	}
#endif
	/* Zero (touch) every page now: the bound is paid at start-up, not as
	 * page faults on the request path (and RSS shows the whole bound). */
	memset(r->slots, 0, bytes);
	for (size_t i = 0; i < r->nshards; i++) {
		shard_t *s = &r->shards[i];
		pthread_mutex_init(&s->lock, NULL);
		s->slots = r->slots + i * cap;
		s->cap = cap;
	}
	return r;
}

void replay_free(replay_t *r)
{
	if (r == NULL) {
		return;
	}
	for (size_t i = 0; i < r->nshards; i++) {
		pthread_mutex_destroy(&r->shards[i].lock);
	}
	free(r->shards);
	free(r->slots);
	free(r);
}

int replay_check_time(const replay_t *r, int64_t msg_time, int64_t now)
{
	int64_t skew = r->skew;
	if (msg_time < now - skew || msg_time > now + skew ||
	    msg_time < r->start_time - skew) {
		return KMS_ETS;
	}
	return KMS_EOK;
}

/* A 64-bit mix (the splitmix64 finaliser) of the digest keyed by the seed. */
static uint64_t slot_hash(const replay_t *r, const uint8_t *digest)
{
	uint64_t x;
	memcpy(&x, digest + TAG_LEN, sizeof(x)); /* bytes not stored in the tag */
	x ^= r->seed;
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

int replay_check_and_add(replay_t *r, const uint8_t digest[REPLAY_DIGEST_LEN],
			 int64_t msg_time, int64_t now)
{
	uint64_t h = slot_hash(r, digest);
	shard_t *s = &r->shards[h & (r->nshards - 1)];
	size_t home = (size_t)((h >> 8) % s->cap);
	size_t probe = s->cap < REPLAY_PROBE ? s->cap : REPLAY_PROBE;
	int64_t expires = msg_time + (int64_t)r->skew;
	entry_t *free_slot = NULL;
	int ret = KMS_EOK;

	if (expires < 1) {
		expires = 1; /* 0 marks an empty slot */
	}
	pthread_mutex_lock(&s->lock);
	/*
	 * Where the search may stop early.  A message goes into the first free
	 * slot of its window, and a slot only ever holds its latest entry.  A
	 * copy of this message that still matters is live (expires >= now),
	 * so it was added at or after now - 2 * skew (a message is accepted at
	 * most skew before its timestamp and lives skew after it).  A slot
	 * that was free all that while - never used, or expired before
	 * now - 2 * skew - was free when the copy was added, so the copy sits
	 * before it.  With a table sized for the load, that is within a slot
	 * or two rather than REPLAY_PROBE cache lines, also once every slot
	 * has been used.  (A clock stepped back only makes "stale" rarer.)
	 */
	const int64_t stale = now - 2 * (int64_t)r->skew;
	for (size_t i = 0; i < probe; i++) {
		entry_t *e = &s->slots[(home + i) % s->cap];
		if (e->expires == 0 || e->expires < stale) {
			if (free_slot == NULL) {
				free_slot = e;
			}
			break;
		}
		if (e->expires < now) {
			if (free_slot == NULL) {
				free_slot = e;
			}
			continue;
		}
		if (memcmp(e->tag, digest, TAG_LEN) == 0) {
			ret = KMS_EREPLAY;
			goto out;
		}
	}
	if (free_slot == NULL) {
		ret = KMS_EUNAVAIL; /* every slot this message may use is live */
		goto out;
	}
	if (free_slot->expires == 0) {
		s->used++;
	}
	memcpy(free_slot->tag, digest, TAG_LEN);
	free_slot->expires = expires;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

size_t replay_memory(const replay_t *r)
{
	return r != NULL ? replay_memory_for(r->max_entries) : 0;
}

size_t replay_count(const replay_t *r)
{
	size_t n = 0;
	if (r == NULL) {
		return 0;
	}
	for (size_t i = 0; i < r->nshards; i++) {
		shard_t *s = &r->shards[i];
		pthread_mutex_lock(&s->lock);
		n += s->used;
		pthread_mutex_unlock(&s->lock);
	}
	return n;
}
