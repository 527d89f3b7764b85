/*
 * Replay cache: up to REPLAY_SHARDS shards, each a mutex and a fixed
 * open-addressing table.  A message's home slot comes from a keyed mix of
 * its tag (the digest prefix kept in the entry); it may live in any of the REPLAY_PROBE slots from there
 * (wrapping), so a lookup scans at most that window (less: see
 * replay_check_and_add) and no entry ever moves.  Empty and expired slots
 * are both free.  All memory is allocated
 * in replay_new() and never grows.
 */
#include "kms/replay.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/crypto.h"
#include "common/errcode.h"

#define TAG_LEN REPLAY_TAG_LEN
#define SHARD_ALIGN 64
#define LIVE_SCAN_MAX 4096   /* slots replay_live() examines per lock */
#define HUGE_PAGE (2u << 20) /* x86-64 and arm64 transparent huge page size */

typedef struct {
	uint8_t tag[TAG_LEN]; /* digest prefix */
	int64_t expires;      /* Unix seconds; 0 = never used */
} entry_t;

_Static_assert(sizeof(entry_t) == REPLAY_ENTRY_BYTES, "entry size is part of the bound");
_Static_assert(sizeof(replay_rec_t) == sizeof(entry_t), "a record is an entry");

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
	size_t cap;	/* slots per shard */
	size_t max_entries;
	uint32_t skew;
	int64_t start_time;
	_Atomic int64_t guard; /* refuse messages stamped before; 0 none */
	uint64_t seed;
	replay_hook_t hook;
	void *hook_ctx;
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
	r->cap = cap;
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
	    msg_time < r->start_time - skew ||
	    msg_time < atomic_load_explicit(&r->guard, memory_order_relaxed)) {
		return KMS_ETS;
	}
	return KMS_EOK;
}

/* The splitmix64 finaliser. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* The shard and home slot of a tag: a mix of its two halves keyed by the
 * seed.  The tag alone decides, so a saved entry goes back anywhere. */
static shard_t *place(const replay_t *r, const uint8_t *tag, size_t *home)
{
	uint64_t a, b;
	memcpy(&a, tag, sizeof(a));
	memcpy(&b, tag + sizeof(a), sizeof(b));
	uint64_t h = mix(mix(a ^ r->seed) ^ b);
	shard_t *s = &r->shards[h & (r->nshards - 1)];
	*home = (size_t)((h >> 8) % s->cap);
	return s;
}

/*
 * Under s->lock: the live entry holding tag, or NULL; *free_slot gets the
 * first free slot of its window (NULL when all are live).
 *
 * Where the search may stop early.  A message goes into the first free
 * slot of its window, and a slot only ever holds its latest entry.  A
 * copy of this message that still matters is live (expires >= now), so it
 * was added at or after now - 2 * skew (a message is accepted at most skew
 * before its timestamp and lives skew after it; a restored entry is put
 * back later than it was first added, and never one that would live past
 * now + 2 * skew).  A slot that was free all that while - never used, or
 * expired before now - 2 * skew - was free when the copy was added, so the
 * copy sits before it.  With a table sized for the load, that is within a
 * slot or two rather than REPLAY_PROBE cache lines, also once every slot
 * has been used.  (A clock stepped back only makes "stale" rarer.)
 */
static entry_t *find(const replay_t *r, shard_t *s, size_t home, const uint8_t *tag,
		     int64_t now, entry_t **free_slot)
{
	size_t probe = s->cap < REPLAY_PROBE ? s->cap : REPLAY_PROBE;
	const int64_t stale = now - 2 * (int64_t)r->skew;
	*free_slot = NULL;
	for (size_t i = 0; i < probe; i++) {
		entry_t *e = &s->slots[(home + i) % s->cap];
		if (e->expires == 0 || e->expires < stale) {
			if (*free_slot == NULL) {
				*free_slot = e;
			}
			return NULL;
		}
		if (e->expires < now) {
			if (*free_slot == NULL) {
				*free_slot = e;
			}
			continue;
		}
		if (memcmp(e->tag, tag, TAG_LEN) == 0) {
			return e;
		}
	}
	return NULL;
}

/* Under s->lock: tag into free_slot (KMS_EUNAVAIL when there is none). */
static int put(shard_t *s, entry_t *free_slot, const uint8_t *tag, int64_t expires)
{
	if (free_slot == NULL) {
		return KMS_EUNAVAIL; /* every slot this message may use is live */
	}
	if (free_slot->expires == 0) {
		s->used++;
	}
	memcpy(free_slot->tag, tag, TAG_LEN);
	free_slot->expires = expires;
	return KMS_EOK;
}

int replay_check_and_add(replay_t *r, const uint8_t digest[REPLAY_DIGEST_LEN],
			 int64_t msg_time, int64_t now)
{
	size_t home;
	shard_t *s = place(r, digest, &home);
	replay_rec_t rec;
	entry_t *free_slot;
	int ret;

	memcpy(rec.tag, digest, TAG_LEN);
	rec.expires = msg_time + (int64_t)r->skew;
	if (rec.expires < 1) {
		rec.expires = 1; /* 0 marks an empty slot */
	}
	pthread_mutex_lock(&s->lock);
	if (find(r, s, home, rec.tag, now, &free_slot) != NULL) {
		ret = KMS_EREPLAY;
	} else {
		ret = put(s, free_slot, rec.tag, rec.expires);
	}
	pthread_mutex_unlock(&s->lock);
	if (ret == KMS_EOK && r->hook != NULL) {
		ret = r->hook(r->hook_ctx, &rec, now);
	}
	return ret;
}

int replay_restore(replay_t *r, const replay_rec_t *rec, int64_t now)
{
	if (rec->expires < now || rec->expires < 1 ||
	    rec->expires > now + 2 * (int64_t)r->skew) {
		return KMS_ETS;
	}
	size_t home;
	shard_t *s = place(r, rec->tag, &home);
	entry_t *free_slot;
	int ret = KMS_EREPLAY;

	pthread_mutex_lock(&s->lock);
	entry_t *e = find(r, s, home, rec->tag, now, &free_slot);
	if (e != NULL) {
		if (e->expires < rec->expires) {
			e->expires = rec->expires;
		}
	} else {
		ret = put(s, free_slot, rec->tag, rec->expires);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

size_t replay_live(replay_t *r, size_t *cursor, int64_t now, replay_rec_t *out,
		   size_t max)
{
	size_t n = 0;
	const size_t total = r->nshards * r->cap;
	while (n < max && *cursor < total) {
		shard_t *s = &r->shards[*cursor / r->cap];
		size_t i = *cursor % r->cap;
		size_t end = i + LIVE_SCAN_MAX < r->cap ? i + LIVE_SCAN_MAX : r->cap;
		pthread_mutex_lock(&s->lock);
		for (; i < end && n < max; i++) {
			const entry_t *e = &s->slots[i];
			if (e->expires != 0 && e->expires >= now) {
				memcpy(out[n].tag, e->tag, TAG_LEN);
				out[n].expires = e->expires;
				n++;
			}
		}
		pthread_mutex_unlock(&s->lock);
		*cursor = (size_t)(s - r->shards) * r->cap + i;
	}
	return n;
}

uint32_t replay_skew(const replay_t *r)
{
	return r->skew;
}

size_t replay_capacity(const replay_t *r)
{
	return r->max_entries;
}

void replay_set_guard(replay_t *r, int64_t t)
{
	int64_t cur = atomic_load(&r->guard);
	while (t > cur && !atomic_compare_exchange_weak(&r->guard, &cur, t)) {
	}
}

int64_t replay_guard(const replay_t *r)
{
	return atomic_load_explicit(&r->guard, memory_order_relaxed);
}

void replay_set_hook(replay_t *r, replay_hook_t hook, void *ctx)
{
	r->hook = hook;
	r->hook_ctx = ctx;
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
