/*
 * The clock of everything that waits, retries, expires or breaks a circuit.
 *
 * kms_clock_now_ms() is monotonic (deadlines, circuit breakers, backoff);
 * kms_clock_wall_s() is Unix time in seconds (expiry times that come from
 * outside, such as a GBA key's key_expiry_time); kms_clock_sleep_ms()
 * waits.  In the product they read CLOCK_MONOTONIC, time() and nanosleep().
 *
 * Tests switch the whole process to a fake clock with kms_clock_fake_start():
 * both readers then stand still until kms_clock_fake_advance() or
 * kms_clock_sleep_ms() moves them (a "sleep" returns at once, having
 * advanced the fake clock by its length), so a test states exactly how
 * much time passes and never races the real one.  Waits that hand a real
 * thread to another real thread (a condition variable with a timeout, a
 * libcurl timeout) stay on the real clock.  Thread safe.
 */
#ifndef KMS_COMMON_CLOCK_H
#define KMS_COMMON_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Monotonic milliseconds (arbitrary origin). */
int64_t kms_clock_now_ms(void);

/* The same clock in microseconds, for durations that are often under a
 * millisecond (the fake clock: its milliseconds x 1000). */
int64_t kms_clock_now_us(void);

/* Unix time in seconds. */
int64_t kms_clock_wall_s(void);

/* Wait ms milliseconds (<= 0: return at once); on the fake clock, advance
 * it by ms and return at once. */
void kms_clock_sleep_ms(int64_t ms);

/*
 * Test hook: from now on both readers are fake, starting at mono_ms and
 * wall_s; the wall clock moves by whole seconds as the milliseconds add up.
 * Calling it again restarts the fake clock at the new values.
 */
void kms_clock_fake_start(int64_t mono_ms, int64_t wall_s);

/* Move the fake clock forward by ms (>= 0); no-op on the real clock. */
void kms_clock_fake_advance(int64_t ms);

/* Back to the real clock. */
void kms_clock_fake_stop(void);

/* Whether the fake clock is in use. */
bool kms_clock_is_fake(void);

#endif
