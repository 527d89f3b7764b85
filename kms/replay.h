/*
 * Replay protection (RFC 3830 5.4, RFC 6043 12.4): a clock-skew window and a
 * bounded, sharded in-memory cache of authenticated messages.
 *
 * Memory bound: max_entries * sizeof(entry) plus the shard headers, fixed at
 * creation (replay_memory()).  Entries older than the skew window are
 * evicted (their slots reused); when the REPLAY_PROBE slots a message may
 * use in its shard are all live, it is refused with KMS_EUNAVAIL (fail
 * closed) rather than evicting live ones.  Slots are chosen with a keyed
 * hash of the tag (random key per process), so clients cannot aim at one
 * shard, and an entry (tag, expiry) alone is enough to put it back after a
 * restart (kms/replay_store.h keeps the entries across restarts).
 *
 * Two time guards besides the window: messages stamped before start_time -
 * skew are refused (this only fires when the wall clock was stepped back
 * since the start), and replay_set_guard() refuses messages stamped before
 * a given time (set after a restart whose previous run's entries could not
 * all be recovered).
 *
 * The cache never reads a clock itself: start_time and every now are Unix
 * seconds from the caller, in kmsd kms_service_now(), which reads the
 * injectable clock (common/clock.h kms_clock_wall_s), so tests move the
 * window, expiry and start-time guard with the fake clock.
 */
#ifndef KMS_KMS_REPLAY_H
#define KMS_KMS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_DIGEST_LEN 32
#define REPLAY_SHARDS 64      /* at most; fewer when max_entries is small */
#define REPLAY_ENTRY_BYTES 24 /* 16-byte digest prefix + 8-byte expiry */
#define REPLAY_TAG_LEN 16     /* the digest prefix an entry keeps */
#define REPLAY_PROBE 128      /* slots a message may use (searched at most) */

typedef struct replay replay_t;

/* One entry as it is saved and restored (kms/replay_store.c). */
typedef struct {
	uint8_t tag[REPLAY_TAG_LEN]; /* the digest's first bytes */
	int64_t expires;	     /* Unix seconds; the entry is live until then */
} replay_rec_t;

/*
 * Called by replay_check_and_add() after it added a message (outside the
 * shard lock, before the caller answers): a non-zero return refuses the
 * message with that code (the entry stays).  The store journals here.
 */
typedef int (*replay_hook_t)(void *ctx, const replay_rec_t *rec, int64_t now);

replay_t *replay_new(size_t max_entries, uint32_t skew_s, int64_t start_time);
void replay_free(replay_t *r);

/* KMS_ETS when msg_time (Unix seconds) is outside [now - skew, now + skew],
 * before start_time - skew or before the guard.  Does not change state. */
int replay_check_time(const replay_t *r, int64_t msg_time, int64_t now);

/* Atomically: KMS_EREPLAY if digest was seen, else remember it (until
 * msg_time + skew) and return KMS_EOK.  Call only after authentication.
 * digest names the message: the service passes its verified MAC. */
int replay_check_and_add(replay_t *r, const uint8_t digest[REPLAY_DIGEST_LEN],
			 int64_t msg_time, int64_t now);

/* Bytes held by r; equals replay_memory_for(max_entries) for its creation. */
size_t replay_memory(const replay_t *r);
/* The bound: REPLAY_ENTRY_BYTES * entries + the fixed shard headers. */
size_t replay_memory_for(size_t max_entries);
/* Slots in use (live, or expired and not yet reused); <= max_entries. */
size_t replay_count(const replay_t *r);

/* The clock skew and the capacity r was made with. */
uint32_t replay_skew(const replay_t *r);
size_t replay_capacity(const replay_t *r);

/* Refuse (KMS_ETS) messages stamped before t; 0: no guard.  The guard
 * only ever rises (the later of t and the one set). */
void replay_set_guard(replay_t *r, int64_t t);
int64_t replay_guard(const replay_t *r);

/* Install the hook (NULL: none); before the cache is shared. */
void replay_set_hook(replay_t *r, replay_hook_t hook, void *ctx);

/*
 * Put a saved entry back.  KMS_EOK: added; KMS_EREPLAY: the tag was
 * there (the later expiry kept); KMS_ETS: expired (expires < now) or
 * implausible (after now + 2 * skew, the latest any entry can live: a
 * damaged file or a clock stepped back), not added; KMS_EUNAVAIL: every
 * slot it may use is live.  Does not call the hook.
 */
int replay_restore(replay_t *r, const replay_rec_t *rec, int64_t now);

/*
 * Copy live entries (expires >= now) into out (at most max), walking the
 * slots from *cursor (start at 0); *cursor moves past what was examined.
 * Returns how many were copied; 0 with *cursor at the end means done.  A
 * shard is locked for a bounded number of slots at a time.
 */
size_t replay_live(replay_t *r, size_t *cursor, int64_t now, replay_rec_t *out,
		   size_t max);

#endif
