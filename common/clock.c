/*
 * The clock (see clock.h).  The fake clock is three numbers: where each
 * reader started and how many milliseconds have passed since; all atomic,
 * so test threads and the code under test may read and move it at once.
 */
#include "common/clock.h"

#include <stdatomic.h>
#include <time.h>

static atomic_bool fake;
static atomic_int_fast64_t fake_mono0; /* kms_clock_now_ms() at the start */
static atomic_int_fast64_t fake_wall0; /* kms_clock_wall_s() at the start */
static atomic_int_fast64_t fake_spent; /* ms passed since the start */

int64_t kms_clock_now_ms(void)
{
	if (atomic_load(&fake)) {
		return (int64_t)(atomic_load(&fake_mono0) + atomic_load(&fake_spent));
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kms_clock_now_us(void)
{
	if (atomic_load(&fake)) {
		return kms_clock_now_ms() * 1000;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t kms_clock_wall_s(void)
{
	if (atomic_load(&fake)) {
		return (int64_t)(atomic_load(&fake_wall0) +
				 atomic_load(&fake_spent) / 1000);
	}
	return (int64_t)time(NULL);
}

void kms_clock_sleep_ms(int64_t ms)
{
	if (ms <= 0) {
		return;
	}
	if (atomic_load(&fake)) {
		atomic_fetch_add(&fake_spent, ms);
		return;
	}
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

void kms_clock_fake_start(int64_t mono_ms, int64_t wall_s)
{
	atomic_store(&fake_mono0, mono_ms);
	atomic_store(&fake_wall0, wall_s);
	atomic_store(&fake_spent, 0);
	atomic_store(&fake, true);
}

void kms_clock_fake_advance(int64_t ms)
{
	if (ms > 0 && atomic_load(&fake)) {
		atomic_fetch_add(&fake_spent, ms);
	}
}

void kms_clock_fake_stop(void)
{
	atomic_store(&fake, false);
}

bool kms_clock_is_fake(void)
{
	return atomic_load(&fake);
}
