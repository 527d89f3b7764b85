#include "common/metric.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"

const double metric_latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1,	 0.25,	0.5,	1,     2.5,  5 };
const size_t metric_latency_nbounds =
    sizeof(metric_latency_bounds) / sizeof(metric_latency_bounds[0]);

int metric_hist_init(metric_hist_t *h, const double *le_s, size_t n)
{
	if (h == NULL || le_s == NULL || n == 0 || n > METRIC_BUCKETS_MAX) {
		return KMS_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(le_s[i] > 0) || (i > 0 && !(le_s[i] > le_s[i - 1])) ||
		    le_s[i] > 1e9) {
			return KMS_EINVAL;
		}
	}
	memset(h, 0, sizeof(*h));
	h->n = n;
	for (size_t i = 0; i < n; i++) {
		h->le_ns[i] = (uint64_t)(le_s[i] * 1e9 + 0.5);
		atomic_init(&h->counts[i], 0);
	}
	atomic_init(&h->counts[n], 0);
	atomic_init(&h->sum_ns, 0);
	return KMS_EOK;
}

void metric_hist_observe_ns(metric_hist_t *h, uint64_t ns)
{
	/* At most 16 compares: cheaper than a branchy binary search here. */
	size_t i = 0;
	while (i < h->n && ns > h->le_ns[i]) {
		i++;
	}
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void metric_hist_snapshot(const metric_hist_t *h, metric_hist_snap_t *out)
{
	uint64_t run = 0;
	memset(out, 0, sizeof(*out));
	out->n = h->n;
	for (size_t i = 0; i <= h->n; i++) {
		run += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
		out->cum[i] = run;
		if (i < h->n) {
			out->le[i] = (double)h->le_ns[i] / 1e9;
		}
	}
	out->sum = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
}

/* --- exposition --------------------------------------------------------- */

void metric_text_init(metric_text_t *t)
{
	memset(t, 0, sizeof(*t));
}

void metric_text_free(metric_text_t *t)
{
	free(t->buf);
	metric_text_init(t);
}

/* Room for n more bytes and a NUL; sets the sticky error otherwise. */
static bool reserve(metric_text_t *t, size_t n)
{
	if (t->err != 0) {
		return false;
	}
	if (t->len + n + 1 <= t->cap) {
		return true;
	}
	if (t->len + n + 1 > METRIC_TEXT_MAX) {
		t->err = KMS_ELIMIT;
		return false;
	}
	size_t cap = t->cap > 0 ? t->cap : 4096;
	while (cap < t->len + n + 1) {
		cap *= 2;
	}
	cap = cap > METRIC_TEXT_MAX ? METRIC_TEXT_MAX : cap;
	char *b = realloc(t->buf, cap);
	if (b == NULL) {
		t->err = KMS_ENOMEM;
		return false;
	}
	t->buf = b;
	t->cap = cap;
	return true;
}

static void put(metric_text_t *t, const char *s, size_t n)
{
	if (reserve(t, n)) {
		memcpy(t->buf + t->len, s, n);
		t->len += n;
		t->buf[t->len] = '\0';
	}
}

static void puts_(metric_text_t *t, const char *s)
{
	put(t, s, strlen(s));
}

void metric_text_escape(metric_text_t *t, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\') {
			put(t, "\\\\", 2);
		} else if (*v == '"') {
			put(t, "\\\"", 2);
		} else if (*v == '\n') {
			put(t, "\\n", 2);
		} else {
			put(t, v, 1);
		}
	}
}

void metric_text_family(metric_text_t *t, const char *name, const char *type,
			const char *help)
{
	puts_(t, "# HELP ");
	puts_(t, name);
	put(t, " ", 1);
	puts_(t, help); /* constants of ours: no backslash or newline */
	puts_(t, "\n# TYPE ");
	puts_(t, name);
	put(t, " ", 1);
	puts_(t, type);
	put(t, "\n", 1);
}

static void labels(metric_text_t *t, const metric_label_t *l, size_t n)
{
	if (n == 0) {
		return;
	}
	put(t, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0) {
			put(t, ",", 1);
		}
		puts_(t, l[i].name);
		put(t, "=\"", 2);
		metric_text_escape(t, l[i].value);
		put(t, "\"", 1);
	}
	put(t, "}", 1);
}

void metric_text_u64(metric_text_t *t, const char *name, const metric_label_t *l,
		     size_t n, uint64_t v)
{
	char num[32];
	puts_(t, name);
	labels(t, l, n);
	int k = snprintf(num, sizeof(num), " %llu\n", (unsigned long long)v);
	put(t, num, (size_t)k);
}

/* Go's and Prometheus's spelling of the special values. */
static void fmt_double(char *num, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(num, cap, "NaN");
	} else if (isinf(v)) {
		snprintf(num, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	} else {
		snprintf(num, cap, "%.17g", v);
	}
}

void metric_text_double(metric_text_t *t, const char *name, const metric_label_t *l,
			size_t n, double v)
{
	char num[40];
	puts_(t, name);
	labels(t, l, n);
	fmt_double(num, sizeof(num), v);
	put(t, " ", 1);
	puts_(t, num);
	put(t, "\n", 1);
}

void metric_text_hist(metric_text_t *t, const char *name, const metric_label_t *l,
		      size_t n, const metric_hist_snap_t *s)
{
	char bucket[128], le[40];
	metric_label_t all[METRIC_LABELS_MAX + 1];
	if (n > METRIC_LABELS_MAX || strlen(name) + 8 > sizeof(bucket)) {
		t->err = t->err != 0 ? t->err : KMS_EINVAL;
		return;
	}
	if (n > 0) { /* l may be NULL without labels */
		memcpy(all, l, n * sizeof(*l));
	}
	all[n].name = "le";
	all[n].value = le;
	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (size_t i = 0; i <= s->n; i++) {
		if (i < s->n) {
			snprintf(le, sizeof(le), "%.6g", s->le[i]);
		} else {
			snprintf(le, sizeof(le), "+Inf");
		}
		metric_text_u64(t, bucket, all, n + 1, s->cum[i]);
	}
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	metric_text_double(t, bucket, l, n, s->sum);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	metric_text_u64(t, bucket, l, n, s->cum[s->n]);
}
