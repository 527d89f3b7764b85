/*
 * Replay protection (RFC 3830 5.4, RFC 6043 12.4): a clock-skew window and a
 * bounded, sharded in-memory cache of authenticated messages.
 *
 * Memory bound: max_entries * sizeof(entry) plus the shard headers, fixed at
 * creation (replay_memory()).  Entries older than the skew window are
 * evicted; when a shard is full of live entries, new messages are refused
 * with KMS_EUNAVAIL (fail closed) rather than evicting live ones.  After a
 * restart, messages timestamped before start_time - skew are refused.
 */
#ifndef KMS_KMS_REPLAY_H
#define KMS_KMS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define REPLAY_DIGEST_LEN 32

typedef struct replay replay_t;

replay_t *replay_new(size_t max_entries, uint32_t skew_s, int64_t start_time);
void replay_free(replay_t *r);

/* KMS_ETS when msg_time (Unix seconds) is outside [now - skew, now + skew]
 * or before start_time - skew.  Does not change state. */
int replay_check_time(const replay_t *r, int64_t msg_time, int64_t now);

/* Atomically: KMS_EREPLAY if digest was seen, else remember it (until
 * msg_time + skew) and return KMS_EOK.  Call only after authentication. */
int replay_check_and_add(replay_t *r, const uint8_t digest[REPLAY_DIGEST_LEN],
			 int64_t msg_time, int64_t now);

size_t replay_memory(const replay_t *r);
size_t replay_count(const replay_t *r);

#endif
