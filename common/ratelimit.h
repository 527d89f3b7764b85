/*
 * Rate limits: a bounded table of token buckets keyed by byte strings (a
 * client address, an authenticated identity).
 *
 * Each key has a bucket of at most burst tokens that refills at rate tokens
 * per second; a request takes one token or is refused with the wait until
 * the next one (for an HTTP Retry-After).  A refused request takes nothing,
 * so a client that waits as told is served.
 *
 * Memory bound: entries * RATELIMIT_ENTRY_BYTES plus the shard headers,
 * fixed at creation (ratelimit_memory()).  A key is stored as a 64-bit
 * SipHash of it under a random per-table key, which also picks its shard
 * and home slot, so clients cannot aim at one shard or slot; two keys that
 * share a hash share a bucket (about entries / 2^64 per lookup, and not
 * something a client can choose).  A key may live in the RATELIMIT_PROBE
 * slots from its home slot.  A new key takes an unused slot there, else the
 * slot whose bucket has been full the longest: a full bucket is what a new
 * key starts with, so forgetting it changes nothing.  When every slot it may
 * use holds a bucket that is not full (clients active within burst / rate
 * seconds), the new key is refused (fail closed) with the wait until the
 * first of them is full again: evicting a drained bucket would hand its
 * client a fresh burst, which a flood of new keys could then do at will.
 * Such refusals are counted (ratelimit_stats()); size the table for about
 * twice the clients active within burst / rate seconds.
 *
 * Time is kms_clock_now_ms() (common/clock.h), so tests move it with the
 * fake clock.  Thread safe: one mutex per shard.
 */
#ifndef KMS_COMMON_RATELIMIT_H
#define KMS_COMMON_RATELIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define RATELIMIT_SHARDS 64	      /* at most; fewer when entries is small */
#define RATELIMIT_PROBE 16	      /* slots a key may use (searched at most) */
#define RATELIMIT_ENTRY_BYTES 24      /* hash, last update, tokens */
#define RATELIMIT_RATE_MAX 1000000u   /* tokens per second */
#define RATELIMIT_BURST_MAX 10000000u /* tokens */
#define RATELIMIT_ADDR_KEY_MAX 9      /* family byte + up to 8 address bytes */

typedef struct ratelimit ratelimit_t;

/*
 * A table of entries buckets (>= 1) of burst tokens (1..RATELIMIT_BURST_MAX)
 * refilled at rate tokens/s (1..RATELIMIT_RATE_MAX).  NULL on bad values or
 * without memory.
 */
ratelimit_t *ratelimit_new(size_t entries, uint32_t rate, uint32_t burst);

/* NULL is a no-op. */
void ratelimit_free(ratelimit_t *rl);

/*
 * Take one token from key's bucket (len bytes, any content).  KMS_EOK when
 * taken; KMS_ERATE when refused, with *retry_ms (may be NULL) the
 * milliseconds until a token is there (>= 1).  rl NULL: always KMS_EOK
 * (no limit).
 */
int ratelimit_charge(ratelimit_t *rl, const void *key, size_t len, int64_t *retry_ms);

/* A wait in milliseconds as Retry-After seconds: rounded up, at least 1. */
uint32_t ratelimit_retry_after_s(int64_t retry_ms);

/* Bytes held by rl; equals ratelimit_memory_for(entries) of its creation. */
size_t ratelimit_memory(const ratelimit_t *rl);
size_t ratelimit_memory_for(size_t entries);

typedef struct {
	size_t entries; /* capacity */
	size_t used;	/* slots holding a bucket (live or full) */
	uint64_t full;	/* new keys refused because their slots were all live */
} ratelimit_stats_t;

void ratelimit_stats(ratelimit_t *rl, ratelimit_stats_t *out);

/*
 * The rate-limit key of a client address: IPv4 as its 4 bytes; IPv6 by its
 * /64 (one subscriber's network: a host picks any address in it); an
 * IPv4-mapped IPv6 address as the IPv4 one.  Returns the key length, 0 for
 * another family.
 */
size_t ratelimit_addr_key(const struct sockaddr *sa, uint8_t out[RATELIMIT_ADDR_KEY_MAX]);

/*
 * A gate for log lines about refusals: at most one line per interval.  A
 * caller that may log gets true and the number of lines it stood for since
 * the last one (*skipped, those that got false).  Zero-initialised = open.
 */
typedef struct {
	atomic_int_fast64_t next_ms;
	atomic_uint_fast64_t skipped;
} ratelimit_gate_t;

bool ratelimit_gate_pass(ratelimit_gate_t *g, int64_t interval_ms, uint64_t *skipped);

#endif
