/*
 * The registry and the scrape (kms/metrics.h).  The request counters are
 * one array per type indexed by a slot of the error code: 0..ERRNO_SLOTS-1
 * for KMS_EOK and the negative errno values, then one slot per domain code,
 * then one for a code the table does not know.  Slot names are made once
 * from the error table, so the request path only indexes.
 */
#include "kms/metrics.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "dia/peer.h"
#include "kms/keyring.h"
#include "kms/naf.h"

#define ERRNO_SLOTS 160 /* KMS_EOK and -1..-159 (errno values in use) */
#define DOMAIN_SLOTS (KMS_ELAST_ - KMS_EDOMAIN_BASE)
#define SLOT_UNKNOWN (ERRNO_SLOTS + DOMAIN_SLOTS)
#define SLOTS (SLOT_UNKNOWN + 1)
#define OUTCOME_MAX 32
#define STATUS_MIN 100
#define STATUS_MAX 599

static const char *const type_names[KMS_MT_TYPES_] = { "other", "ticketrequest",
						       "ticketresolve", "zk_resolve" };

struct kms_metrics {
	int64_t start_time;
	char outcome[SLOTS][OUTCOME_MAX]; /* "" for a code the table lacks */
	metric_counter_t requests[KMS_MT_TYPES_][SLOTS];
	metric_hist_t duration[KMS_MT_TYPES_];
	metric_counter_t http[STATUS_MAX - STATUS_MIN + 1];
	metric_counter_t rate_address, rate_identity;
	metric_counter_t reloads;
	_Atomic int64_t last_reload;
	atomic_bool last_reload_ok;
	metric_counter_t store_notifications;
	atomic_int store_listener; /* -1: no watch, 0 or 1: connected */
	pthread_mutex_t lock;	   /* src, and one scrape at a time */
	kms_metrics_src_t src;
};

static size_t slot_of(int code)
{
	if (code <= 0 && code > -ERRNO_SLOTS) {
		return (size_t)-code;
	}
	if (code >= KMS_EDOMAIN_BASE && code < KMS_ELAST_) {
		return ERRNO_SLOTS + (size_t)(code - KMS_EDOMAIN_BASE);
	}
	return SLOT_UNKNOWN;
}

/* "KMS_EREPLAY" -> "replay"; codes missing from the table get "". */
static void name_slot(char *out, int code)
{
	const char *n = kms_err_name(code);
	out[0] = '\0';
	if (strncmp(n, "KMS_E", 5) != 0 || strcmp(n, "KMS_EUNKNOWN") == 0) {
		return;
	}
	size_t i = 0;
	for (n += 5; *n != '\0' && i + 1 < OUTCOME_MAX; n++) {
		out[i++] = (char)tolower((unsigned char)*n);
	}
	out[i] = '\0';
}

int kms_metrics_new(int64_t start_time, kms_metrics_t **out)
{
	kms_metrics_t *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		return KMS_ENOMEM;
	}
	m->start_time = start_time;
	for (int c = 0; c > -ERRNO_SLOTS; c--) {
		name_slot(m->outcome[slot_of(c)], c);
	}
	for (int c = KMS_EDOMAIN_BASE; c < KMS_ELAST_; c++) {
		name_slot(m->outcome[slot_of(c)], c);
	}
	snprintf(m->outcome[0], OUTCOME_MAX, "ok");
	snprintf(m->outcome[SLOT_UNKNOWN], OUTCOME_MAX, "unknown");
	for (size_t t = 0; t < KMS_MT_TYPES_; t++) {
		metric_hist_init(&m->duration[t], metric_latency_bounds,
				 metric_latency_nbounds);
	}
	atomic_init(&m->last_reload, start_time);
	atomic_init(&m->last_reload_ok, true);
	atomic_init(&m->store_listener, -1);
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return KMS_EOK;
}

void kms_metrics_free(kms_metrics_t *m)
{
	if (m == NULL) {
		return;
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void kms_metrics_request(kms_metrics_t *m, kms_mtype_t type, int error,
			 unsigned http_status, uint64_t ns)
{
	if (m == NULL) {
		return;
	}
	size_t t = (size_t)type < KMS_MT_TYPES_ ? (size_t)type : KMS_MT_OTHER;
	size_t s = slot_of(error);
	if (m->outcome[s][0] == '\0') {
		s = SLOT_UNKNOWN;
	}
	metric_counter_add(&m->requests[t][s], 1);
	metric_hist_observe_ns(&m->duration[t], ns);
	if (http_status >= STATUS_MIN && http_status <= STATUS_MAX) {
		metric_counter_add(&m->http[http_status - STATUS_MIN], 1);
	}
	if (error == KMS_ERATE) {
		metric_counter_add(
		    t == KMS_MT_OTHER ? &m->rate_address : &m->rate_identity, 1);
	}
}

const char *kms_metrics_outcome(const kms_metrics_t *m, int code)
{
	size_t s = slot_of(code);
	return m->outcome[s][0] != '\0' ? m->outcome[s] : m->outcome[SLOT_UNKNOWN];
}

void kms_metrics_set_source(kms_metrics_t *m, const kms_metrics_src_t *src)
{
	pthread_mutex_lock(&m->lock);
	m->src = *src;
	pthread_mutex_unlock(&m->lock);
}

void kms_metrics_reload(kms_metrics_t *m, bool ok, int64_t when)
{
	metric_counter_add(&m->reloads, 1);
	atomic_store(&m->last_reload, when);
	atomic_store(&m->last_reload_ok, ok);
}

void kms_metrics_store_notified(kms_metrics_t *m, unsigned n)
{
	if (m != NULL) {
		metric_counter_add(&m->store_notifications, n);
	}
}

void kms_metrics_store_listener(kms_metrics_t *m, bool connected)
{
	if (m != NULL) {
		atomic_store(&m->store_listener, connected ? 1 : 0);
	}
}

/* --- the scrape ---------------------------------------------------------------- */

static void gauge(metric_text_t *t, const char *name, const char *help, double v)
{
	metric_text_family(t, name, "gauge", help);
	metric_text_double(t, name, NULL, 0, v);
}

static void counter(metric_text_t *t, const char *name, const char *help, uint64_t v)
{
	metric_text_family(t, name, "counter", help);
	metric_text_u64(t, name, NULL, 0, v);
}

static void render_process(kms_metrics_t *m, metric_text_t *t)
{
	const metric_label_t v = { "version", PACKAGE_VERSION };
	metric_text_family(t, "kms_build_info", "gauge",
			   "Always 1; the version of kmsd in a label.");
	metric_text_u64(t, "kms_build_info", &v, 1, 1);
	gauge(t, "kms_start_time_seconds", "Start time of kmsd, Unix seconds.",
	      (double)m->start_time);
	gauge(t, "kms_last_reload_timestamp_seconds",
	      "When the configuration and stores were last loaded (start or reload).",
	      (double)atomic_load(&m->last_reload));
	gauge(t, "kms_last_reload_success", "1 when the last reload succeeded.",
	      atomic_load(&m->last_reload_ok) ? 1 : 0);
	counter(t, "kms_reloads_total", "Reloads tried (SIGHUP or kms.db changed).",
		metric_counter_get(&m->reloads));
	int listener = atomic_load(&m->store_listener);
	if (listener >= 0) {
		counter(t, "kms_store_notifications_total",
			"Change notifications read from the PostgreSQL store.",
			metric_counter_get(&m->store_notifications));
		gauge(t, "kms_store_listener_connected",
		      "1 while the store watch listens for change notifications.",
		      listener);
	}
}

/* kms_requests_total: every (type, outcome) seen, and ok always. */
static void render_requests(kms_metrics_t *m, metric_text_t *t)
{
	metric_text_family(t, "kms_requests_total", "counter",
			   "Requests answered, by type and outcome (the error name).");
	for (size_t ty = 0; ty < KMS_MT_TYPES_; ty++) {
		for (size_t s = 0; s < SLOTS; s++) {
			uint64_t v = metric_counter_get(&m->requests[ty][s]);
			if (m->outcome[s][0] == '\0' || (v == 0 && s != 0)) {
				continue;
			}
			const metric_label_t l[] = { { "type", type_names[ty] },
						     { "outcome", m->outcome[s] } };
			metric_text_u64(t, "kms_requests_total", l, 2, v);
		}
	}
	metric_text_family(t, "kms_request_duration_seconds", "histogram",
			   "Time from the request line to the answer.");
	for (size_t ty = 0; ty < KMS_MT_TYPES_; ty++) {
		metric_hist_snap_t snap;
		metric_hist_snapshot(&m->duration[ty], &snap);
		const metric_label_t l = { "type", type_names[ty] };
		metric_text_hist(t, "kms_request_duration_seconds", &l, 1, &snap);
	}
	metric_text_family(t, "kms_http_responses_total", "counter",
			   "HTTP responses by status code (Ua and Zk).");
	for (unsigned c = STATUS_MIN; c <= STATUS_MAX; c++) {
		uint64_t v = metric_counter_get(&m->http[c - STATUS_MIN]);
		char code[8];
		if (v == 0 && c != 200) {
			continue;
		}
		snprintf(code, sizeof(code), "%u", c);
		const metric_label_t l = { "code", code };
		metric_text_u64(t, "kms_http_responses_total", &l, 1, v);
	}
	metric_text_family(t, "kms_ratelimit_refusals_total", "counter",
			   "Requests refused over a rate limit, by scope.");
	const metric_label_t a = { "scope", "address" }, i = { "scope", "identity" };
	metric_text_u64(t, "kms_ratelimit_refusals_total", &a, 1,
			metric_counter_get(&m->rate_address));
	metric_text_u64(t, "kms_ratelimit_refusals_total", &i, 1,
			metric_counter_get(&m->rate_identity));
	uint64_t replays = 0;
	for (size_t ty = 0; ty < KMS_MT_TYPES_; ty++) {
		replays += metric_counter_get(&m->requests[ty][slot_of(KMS_EREPLAY)]);
	}
	counter(t, "kms_replay_refusals_total", "Requests refused as replays.", replays);
}

/* replay.shared: only when it is on (the families say nothing otherwise). */
static void render_replay_shared(const kms_metrics_src_t *src, metric_text_t *t)
{
	if (src->replay_shared == NULL) {
		return;
	}
	replay_shared_stats_t s;
	replay_shared_stats(src->replay_shared, &s);
	counter(t, "kms_replay_shared_checks_total",
		"Messages checked in the shared replay store.", s.checks);
	counter(t, "kms_replay_shared_refusals_total",
		"Messages refused as replays by the shared replay store.", s.replays);
	metric_text_family(t, "kms_replay_shared_failures_total", "counter",
			   "Shared replay checks the store failed, by what was done.");
	const metric_label_t r = { "action", "refused" }, l = { "action", "local" };
	metric_text_u64(t, "kms_replay_shared_failures_total", &r, 1, s.refused);
	metric_text_u64(t, "kms_replay_shared_failures_total", &l, 1, s.served);
	gauge(t, "kms_replay_shared_up",
	      "1 when the last shared replay check reached the store.", s.up ? 1 : 0);
	counter(t, "kms_replay_shared_swept_total",
		"Expired rows this node deleted from the shared replay store.", s.swept);
}

static void render_replay_audit(const kms_metrics_src_t *src, metric_text_t *t)
{
	render_replay_shared(src, t);
	if (src->replay != NULL) {
		gauge(t, "kms_replay_cache_entries",
		      "Replay cache slots in use (live, or expired and not reused).",
		      (double)replay_count(src->replay));
		gauge(t, "kms_replay_cache_capacity", "Replay cache slots in all.",
		      (double)replay_capacity(src->replay));
	}
	if (src->audit == NULL) {
		return;
	}
	audit_stats_t s;
	char why[128];
	audit_stats(src->audit, &s);
	gauge(t, "kms_audit_queue_depth", "Audit records waiting for the writer.",
	      (double)audit_queued(src->audit));
	counter(t, "kms_audit_write_failures_total", "Audit write attempts that failed.",
		s.failures);
	counter(t, "kms_audit_dropped_total",
		"Audit records not queued because the queue was full.", s.dropped);
	gauge(t, "kms_audit_ready",
	      "1 when the audit log takes rows (0: requests are refused).",
	      audit_ready(src->audit, why, sizeof(why)) ? 1 : 0);
}

/* The NAF (Zn) part; kms_zn_breaker_open always (kmsctl status reads it). */
static void render_naf(const kms_metrics_src_t *src, metric_text_t *t)
{
	naf_stats_t s;
	bool naf = src->svc != NULL && src->svc->psk != NULL &&
		   naf_stats(src->svc->psk, &s) == KMS_EOK;
	gauge(t, "kms_zn_breaker_open",
	      "1 while the BSF is taken as down: its last Zn calls all failed.",
	      naf && s.zn_fail_run >= NAF_ZN_DOWN_RUN ? 1 : 0);
	if (!naf) {
		return;
	}
	counter(t, "kms_naf_cache_hits_total", "NAF key lookups answered by the cache.",
		s.hits);
	counter(t, "kms_naf_cache_misses_total", "NAF key lookups that needed the BSF.",
		s.misses);
	gauge(t, "kms_naf_cache_entries", "NAF keys (and refusals) cached now.",
	      (double)s.entries);
	metric_text_family(t, "kms_zn_request_duration_seconds", "histogram",
			   "Zn requests to the BSF, each attempt.");
	metric_text_hist(t, "kms_zn_request_duration_seconds", NULL, 0, &s.zn_duration);
	metric_text_family(t, "kms_zn_errors_total", "counter",
			   "Zn lookups without a key, by reason.");
	const metric_label_t u = { "reason", "unavailable" };
	const metric_label_t b = { "reason", "bad_answer" };
	const metric_label_t y = { "reason", "busy" };
	metric_text_u64(t, "kms_zn_errors_total", &u, 1, s.zn_unavailable);
	metric_text_u64(t, "kms_zn_errors_total", &b, 1, s.zn_bad_answers);
	metric_text_u64(t, "kms_zn_errors_total", &y, 1, s.zn_busy);
	if (src->svc->cfg != NULL && kms_config_zn_diameter(src->svc->cfg)) {
		gauge(t, "kms_zn_diameter_peers_open",
		      "Diameter peers open that advertised Zn (naf.zn = \"diameter\").",
		      (double)dia_peer_open_count());
	}
}

/* Per peer KMS the Zk client has called (bounded by the peer table). */
static void render_zk(const kms_metrics_src_t *src, metric_text_t *t)
{
	if (src->zk == NULL) {
		return;
	}
	zk_peer_stats_t *p = calloc(ZK_CLIENT_PEERS_MAX, sizeof(*p));
	if (p == NULL) {
		t->err = t->err != 0 ? t->err : KMS_ENOMEM;
		return;
	}
	size_t n = zk_client_peer_stats(src->zk, p, ZK_CLIENT_PEERS_MAX);
	zk_client_stats_t zs;
	zk_client_stats(src->zk, &zs);
	gauge(t, "kms_zk_forwards_pending",
	      "Resolves forwarded to a peer and parked until it answers.",
	      (double)zs.pending);
	counter(t, "kms_zk_forwards_refused_total",
		"Forwards refused: the bound on forwards under way was reached.",
		zs.pending_full);
	metric_text_family(t, "kms_zk_breaker_open", "gauge",
			   "1 while resolves forwarded to the peer fail fast.");
	for (size_t i = 0; i < n; i++) {
		const metric_label_t l = { "peer", p[i].kms_id };
		metric_text_u64(t, "kms_zk_breaker_open", &l, 1, p[i].breaker_open);
	}
	metric_text_family(t, "kms_zk_request_duration_seconds", "histogram",
			   "Resolves forwarded to the peer, each attempt.");
	for (size_t i = 0; i < n; i++) {
		const metric_label_t l = { "peer", p[i].kms_id };
		metric_text_hist(t, "kms_zk_request_duration_seconds", &l, 1,
				 &p[i].duration);
	}
	metric_text_family(t, "kms_zk_errors_total", "counter",
			   "Forwarded resolves that got no answer, by peer and reason.");
	for (size_t i = 0; i < n; i++) {
		const metric_label_t u[] = { { "peer", p[i].kms_id },
					     { "reason", "unavailable" } };
		const metric_label_t o[] = { { "peer", p[i].kms_id },
					     { "reason", "circuit_open" } };
		metric_text_u64(t, "kms_zk_errors_total", u, 2, p[i].unavailable);
		metric_text_u64(t, "kms_zk_errors_total", o, 2, p[i].fast_fails);
	}
	free(p);
}

/* Key ages as kms.db lists them (read per scrape, never per request). */
static void render_keyring(const kms_metrics_src_t *src, int64_t now, metric_text_t *t)
{
	keyring_info_t ki[KEYRING_MAX * 2];
	size_t n = 0, live = 0;
	if (src->svc == NULL || src->svc->cfg == NULL ||
	    keyring_list(src->svc->cfg->keys_loc, ki, KEYRING_MAX * 2, &n) != KMS_EOK) {
		return;
	}
	metric_text_family(t, "kms_keyring_key_age_seconds", "gauge",
			   "Age of each master key not retired (since its creation).");
	for (size_t i = 0; i < n; i++) {
		char id[16];
		if (ki[i].state == KEYRING_RETIRED) {
			continue;
		}
		snprintf(id, sizeof(id), "%u", ki[i].id);
		const metric_label_t l[] = { { "key_id", id },
					     { "state", ki[i].state == KEYRING_ACTIVE
							    ? "active"
							    : "resolve_only" } };
		metric_text_double(t, "kms_keyring_key_age_seconds", l, 2,
				   (double)(now - ki[i].created));
		live++;
	}
	gauge(t, "kms_keyring_keys", "Master keys not retired (active and resolve only).",
	      (double)live);
}

/* Connections of the Ua and Zk listeners (net/conntrack.h counters). */
static void render_conns(const kms_metrics_src_t *src, metric_text_t *t)
{
	kms_http_t *const hs[] = { src->ua, src->zkl };
	const char *const names[] = { "ua", "zk" };
	net_conntrack_stats_t s[2];
	for (size_t i = 0; i < 2; i++) {
		if (hs[i] != NULL) {
			kms_http_conn_stats(hs[i], &s[i]);
		}
	}
	metric_text_family(t, "kms_connections_open", "gauge",
			   "Connections open now, by listener.");
	for (size_t i = 0; i < 2; i++) {
		const metric_label_t l = { "listener", names[i] };
		if (hs[i] != NULL) {
			metric_text_u64(t, "kms_connections_open", &l, 1, s[i].conns);
		}
	}
	metric_text_family(t, "kms_connections_refused_total", "counter",
			   "Connections refused or closed by the caps, by listener and "
			   "reason.");
	for (size_t i = 0; i < 2; i++) {
		const metric_label_t f[] = { { "listener", names[i] },
					     { "reason", "full" } };
		const metric_label_t g[] = { { "listener", names[i] },
					     { "reason", "sending" } };
		if (hs[i] != NULL) {
			metric_text_u64(t, "kms_connections_refused_total", f, 2,
					s[i].refused_full);
			metric_text_u64(t, "kms_connections_refused_total", g, 2,
					s[i].refused_sending);
		}
	}
}

int kms_metrics_render(kms_metrics_t *m, int64_t now, metric_text_t *t)
{
	pthread_mutex_lock(&m->lock);
	render_process(m, t);
	render_requests(m, t);
	render_replay_audit(&m->src, t);
	render_naf(&m->src, t);
	render_zk(&m->src, t);
	render_keyring(&m->src, now, t);
	render_conns(&m->src, t);
	pthread_mutex_unlock(&m->lock);
	return t->err;
}
