/*
 * The KMS as a GBA NAF (TS 33.220, TS 33.328 6.2.3): the GBA backend of the
 * pre-shared-key source.  The psk_id it is asked about is a B-TID (from
 * IDRpsk); the key is Ks_(ext)_NAF for NAF_Id = naf.fqdn || 01 00 00 00 06,
 * fetched from the BSF over Zn (kms/naf_zn.h JSON bodies over libcurl, or
 * with naf.zn = "diameter" a BIR/BIA on kmsd's Diameter peer,
 * kms/naf_dia.h) and kept in a bounded cache (kms/naf_cache.h) until the
 * key expires.
 *
 * Answers of lookup(): KMS_EOK; KMS_EBTID for a B-TID the BSF does not know
 * or whose bootstrapping expired (the UE must bootstrap again; remembered
 * for naf.negative_ttl seconds); KMS_EPOLICY when the BSF says this NAF may
 * not serve the user; KMS_EUNAVAIL when the BSF cannot be reached, times
 * out, answers 5xx or garbage, or every Zn connection is busy.
 */
#ifndef KMS_KMS_NAF_H
#define KMS_KMS_NAF_H

#include <stdint.h>

#include "common/metric.h"
#include "kms/config.h"
#include "kms/psk.h"
#include "net/outbound.h"

#define NAF_BACKOFF_MS 50u /* before a retry: attempt x this, at most 4x */

/* Counters of a NAF source (copied out; they survive a reload that keeps
 * the cache). */
typedef struct {
	uint64_t hits;	      /* lookups answered from the cache (either kind) */
	uint64_t misses;      /* lookups that needed the BSF */
	uint64_t zn_requests; /* Zn HTTP requests (retries included) or BIRs sent */
	uint64_t zn_errors;   /* Zn requests without a usable answer */
	uint64_t zn_busy;     /* misses refused because every Zn slot was busy */
	uint64_t zn_joined;   /* misses that shared a Zn call under way */
	uint64_t zn_fail_run; /* Zn calls failed in a row: no answer, or no usable one */
	size_t entries;	      /* in the cache now */
	size_t capacity;

	/* For the metrics: zn_errors split by reason, and Zn call durations. */
	uint64_t zn_unavailable; /* no answer: unreachable, 5xx, time-out (and
				  * a BIA whose code says the BSF cannot serve) */
	uint64_t zn_bad_answers; /* an answer without a usable outcome */
	metric_hist_snap_t zn_duration;
} naf_stats_t;

/*
 * A GBA PSK source from the naf.* settings of cfg.  Call from one thread
 * at a time (start-up, reload).  Zn requests in flight are limited to
 * ua.threads - 1 (at least 1): with the blocking lookup a slow BSF can
 * never hold every thread, and with lookup_async (kmsd, see
 * naf_use_outbound) the BSF never gets more at once.
 */
int naf_open(const kms_config_t *cfg, kms_psk_source_t **out);

/*
 * The same, but when prev (a source from naf_open/naf_reopen/naf_both,
 * or NULL) has a NAF part with the same NAF_Id and cache size, the new
 * source shares its cache and counters, so a reload keeps the keys.
 */
int naf_reopen(const kms_config_t *cfg, const kms_psk_source_t *prev,
	       kms_psk_source_t **out);

/*
 * "both": a psk_id shaped like a B-TID (naf_zn_btid_shaped) goes to gba,
 * anything else to stat.  Takes ownership of both (also on failure).
 */
int naf_both(kms_psk_source_t *stat, kms_psk_source_t *gba, kms_psk_source_t **out);

/*
 * Let src's NAF part (if any) fetch asynchronously on ob (lookup_async, for
 * kmsd's Ua requests); without it lookup_async is the blocking lookup.  ob
 * must outlive src and every Zn call it started (net_outbound_free()
 * cancels those).
 */
void naf_use_outbound(kms_psk_source_t *src, net_outbound_t *ob);

/* The counters of src's NAF part; KMS_ENOENT when it has none. */
int naf_stats(const kms_psk_source_t *src, naf_stats_t *out);

/* Zn calls failed in a row from which the BSF is reported down (the
 * kms_zn_breaker_open metric): there is no fail-fast on Zn, each miss
 * still tries, bounded by naf.timeout and the in-flight cap. */
#define NAF_ZN_DOWN_RUN 3

/* The static part of a "both" source, src itself when it is not a NAF or
 * composite source; NULL for a pure NAF source. */
const kms_psk_source_t *naf_static_part(const kms_psk_source_t *src);

#endif
