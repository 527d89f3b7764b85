/*
 * Metrics primitives: counters and fixed-bucket histograms that the request
 * path updates with relaxed atomics (no lock, no allocation), and the
 * Prometheus text exposition (format 0.0.4) that a scrape writes them in.
 *
 * Relaxed ordering is enough: each value is a sum that only ever grows, and
 * a scrape needs no ordering between them.  A histogram keeps one count per
 * bucket (not cumulative) and its _count is the sum of those read at the
 * scrape, so _count always equals the +Inf bucket even while requests
 * update it.
 *
 * The exposition writes into a growable buffer whose first error sticks (as
 * the wire cursor does): the caller checks it once at the end.  Label values
 * are escaped (backslash, double quote, newline); names are the caller's
 * constants.  No dependency beyond libc.
 */
#ifndef KMS_COMMON_METRIC_H
#define KMS_COMMON_METRIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- counters ----------------------------------------------------------- */

typedef struct {
	atomic_uint_fast64_t v;
} metric_counter_t;

static inline void metric_counter_add(metric_counter_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

static inline uint64_t metric_counter_get(const metric_counter_t *c)
{
	return atomic_load_explicit(&c->v, memory_order_relaxed);
}

/* --- histograms --------------------------------------------------------- */

#define METRIC_BUCKETS_MAX 16 /* finite upper bounds; +Inf comes on top */

typedef struct {
	size_t n;			    /* finite bounds */
	uint64_t le_ns[METRIC_BUCKETS_MAX]; /* upper bounds, ascending, ns */
	atomic_uint_fast64_t counts[METRIC_BUCKETS_MAX + 1]; /* [n]: over the last */
	atomic_uint_fast64_t sum_ns;
} metric_hist_t;

/* A snapshot for the exposition: cumulative bucket counts. */
typedef struct {
	size_t n;
	double le[METRIC_BUCKETS_MAX];	      /* seconds */
	uint64_t cum[METRIC_BUCKETS_MAX + 1]; /* [n] = count (+Inf) */
	double sum;			      /* seconds */
} metric_hist_snap_t;

/* The request-duration bounds of kmsd, in seconds: 0.5 ms .. 5 s. */
extern const double metric_latency_bounds[];
extern const size_t metric_latency_nbounds;

/*
 * Set up h (zeroed) with n bounds in seconds, ascending and positive.
 * KMS_EINVAL when n is 0 or over METRIC_BUCKETS_MAX or the bounds are not
 * strictly ascending.
 */
int metric_hist_init(metric_hist_t *h, const double *le_s, size_t n);

/* Count one observation of ns nanoseconds (a value equal to a bound goes
 * into that bound's bucket: le is "less or equal"). */
void metric_hist_observe_ns(metric_hist_t *h, uint64_t ns);

void metric_hist_snapshot(const metric_hist_t *h, metric_hist_snap_t *out);

/* --- exposition --------------------------------------------------------- */

#define METRIC_TEXT_MAX (4u << 20) /* a scrape never grows past this */

typedef struct {
	char *buf;
	size_t len, cap;
	int err; /* first error: KMS_ENOMEM, KMS_ELIMIT */
} metric_text_t;

typedef struct {
	const char *name;
	const char *value; /* escaped on output */
} metric_label_t;

void metric_text_init(metric_text_t *t);
void metric_text_free(metric_text_t *t);

/* "# HELP name help\n# TYPE name type\n" (type: counter, gauge, histogram). */
void metric_text_family(metric_text_t *t, const char *name, const char *type,
			const char *help);

/* "name{l1="v1",...} value\n"; n may be 0 (no braces). */
void metric_text_u64(metric_text_t *t, const char *name, const metric_label_t *l,
		     size_t n, uint64_t v);
void metric_text_double(metric_text_t *t, const char *name, const metric_label_t *l,
			size_t n, double v);

/* name_bucket{...,le="..."} for every bound and +Inf, name_sum, name_count;
 * at most METRIC_LABELS_MAX labels besides le. */
#define METRIC_LABELS_MAX 4
void metric_text_hist(metric_text_t *t, const char *name, const metric_label_t *l,
		      size_t n, const metric_hist_snap_t *s);

/* Append a label value escaped as the format requires. */
void metric_text_escape(metric_text_t *t, const char *v);

#endif
