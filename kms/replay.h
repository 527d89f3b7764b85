/*
 * Replay protection (RFC 3830 5.4, RFC 6043 12.4): a clock-skew window and a
 * bounded, sharded in-memory cache of authenticated messages.
 *
 * Memory bound: max_entries * sizeof(entry) plus the shard headers, fixed at
 * creation (replay_memory()).  Entries older than the skew window are
 * evicted (their slots reused); when the REPLAY_PROBE slots a message may
 * use in its shard are all live, it is refused with KMS_EUNAVAIL (fail
 * closed) rather than evicting live ones.  Slots are chosen with a keyed
 * hash (random key per process), so clients cannot aim at one shard.
 * After a restart, messages timestamped before start_time - skew are
 * refused.
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
#define REPLAY_PROBE 128      /* slots a message may use (searched at most) */

typedef struct replay replay_t;

replay_t *replay_new(size_t max_entries, uint32_t skew_s, int64_t start_time);
void replay_free(replay_t *r);

/* KMS_ETS when msg_time (Unix seconds) is outside [now - skew, now + skew]
 * or before start_time - skew.  Does not change state. */
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

#endif
