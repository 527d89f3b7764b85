/*
 * kmsd: the KMS daemon.  Start-up: config, log, crypto self-test, keys
 * (KEK, keyring, PSK users), audit log, replay cache, bind, switch to
 * kms.user (kms/privdrop.c; root without it needs --allow-root), serve.
 * Before any key is read: umask 077 and, unless log.core_dumps, no core
 * dumps.  Signals are blocked in every thread and taken by sigwait() here:
 * SIGHUP reloads (transactionally), SIGTERM/SIGINT stop gracefully, SIGUSR1
 * checks the store for a change (the store watch sends it on a NOTIFY).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "common/crypto_selftest.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "common/secmem.h"
#include "dia/peer.h"
#include "kms/audit.h"
#include "kms/config.h"
#include "kms/check.h"
#include "kms/http.h"
#include "kms/metrics.h"
#include "kms/pidfile.h"
#include "kms/policy_store.h"
#include "kms/privdrop.h"
#include "kms/replay.h"
#include "kms/replay_shared.h"
#include "kms/replay_store.h"
#include "kms/resolve_once.h"
#include "kms/service.h"
#include "kms/state.h"
#include "kms/store_watch.h"
#include "net/listener.h"
#include "net/notify.h"
#include "net/outbound.h"
#include "zk/client.h"

#define STOP_WAIT_MAX_MS 30000u
#define FD_RESERVE 256u		 /* stores, audit, log, Zn/Zk client pools, stdio */
#define OUTBOUND_CALLS_MAX 4096u /* outbound calls queued or in flight */
/* Resolves forwarded over Zk and parked at once (each holds ~33 KB: the
 * hop and the answer); over it a forward is refused (503). */
#define ZK_PENDING_MAX 1024u

static void usage(FILE *f)
{
	fprintf(f, "usage: kmsd [-c FILE] [-t] [-f] [-u USER] [-l ADDR] [-p PORT]\n"
		   "            [--allow-root] [-h] [-V]\n"
		   "  -c, --config FILE    configuration file (default: embedded "
		   "defaults)\n"
		   "  -t, --check-config   check the configuration (and what "
		   "kms.user can\n"
		   "                       read and write), then exit 0 (valid) "
		   "or 1\n"
		   "  -f, --foreground     run in the foreground (the default)\n"
		   "  -u, --user USER      switch to USER after start-up (over "
		   "kms.user)\n"
		   "  -l, --listen ADDR    Ua address (over ua.listen)\n"
		   "  -p, --port PORT      Ua port (over ua.port)\n"
		   "      --allow-root     started as root without kms.user: keep "
		   "root\n"
		   "                       (otherwise kmsd refuses to start)\n"
		   "  -h, --help           this text\n"
		   "  -V, --version        the version\n"
		   "Signals: HUP reloads the configuration, keyring, PSK users,\n"
		   "policy rules and the TLS certificates and keys of Ua and Zk\n"
		   "(and logs the NAF counters); a change of the policy\n"
		   "rules in the store is picked up alone (policy.reload_interval;\n"
		   "with PostgreSQL at once, on a notification); USR1 checks now;\n"
		   "TERM and INT stop after the requests in progress.\n");
}

/*
 * What the store watch's thread hands to the main loop: SIGUSR1 to the
 * main thread, where it waits blocked (pending signals of one kind
 * coalesce, so a burst of notifications is one wake-up, hence one reload),
 * and whether to reload everything (changes may have been missed).
 */
typedef struct {
	pthread_t main;
	atomic_bool resync;
} watch_wake_t;

/*
 * SIGHUP (or a change in kms.db): build a whole new state; swap
 * it in only when all of it loaded.
 */
typedef struct {
	replay_t *rp;
	replay_store_t *rs;   /* rp across restarts (state_dir/replay.*) */
	replay_shared_t *rps; /* replay.shared: the check across nodes, or NULL */
	resolve_once_t *once; /* resolve.once: the record of J = 0 resolves, or NULL */
	audit_t *audit;
	zk_client_t *zk;
	net_outbound_t *ob;   /* the outbound-call thread (Zn lookups, Zk forwards) */
	kms_http_t *ua, *zkl; /* zkl: the Zk listener, or NULL */
	ratelimit_t *id_rate; /* ua.rate_per_identity, or NULL */
	kms_metrics_t *metrics;
	kms_metrics_http_t *mh; /* GET /metrics, or NULL (metrics.port 0) */
	store_watch_t *watch;	/* PostgreSQL store: LISTEN kms_change, or NULL */
	watch_wake_t *wake;	/* the watch's way into the main loop */
} shared_t;

/* What a scrape reads of st and the shared parts. */
static void metrics_source(const shared_t *sh, const kms_state_t *st)
{
	const kms_metrics_src_t src = { st != NULL ? &st->svc : NULL,
					sh->audit,
					sh->rp,
					sh->zk,
					sh->ua,
					sh->zkl,
					sh->rps };
	kms_metrics_set_source(sh->metrics, &src);
}

static void reload(const char *path, const char *why, kms_state_t **cur,
		   const shared_t *sh)
{
	kms_state_t *st = NULL;

	log_notice("%s: reloading%s%s", why, path != NULL ? " " : "",
		   path != NULL ? path : "");
	net_notify_reloading();
	if (kms_state_reload(*cur, path, &st, NULL, 0, NULL) != KMS_EOK) {
		kms_metrics_reload(sh->metrics, false, kms_service_now());
		net_notify_ready("reload failed: running with the previous "
				 "configuration");
		return; /* logged */
	}
	kms_metrics_reload(sh->metrics, true, kms_service_now());
	metrics_source(sh, st); /* before the old state goes */
	/* The swap waits for requests using the old state; then it is ours. */
	kms_http_swap(sh->ua, &st->svc);
	if (sh->zkl != NULL) {
		kms_http_swap(sh->zkl, &st->svc);
	}
	if (sh->zk != NULL) {
		zk_client_prune(sh->zk, st->peers);
	}
	if (st->cfg.audit_max_size != (*cur)->cfg.audit_max_size) {
		audit_max_size_set(sh->audit, st->cfg.audit_max_size);
		log_notice("audit: size cap now %llu bytes (0: none)",
			   (unsigned long long)st->cfg.audit_max_size);
	}
	kms_state_free(*cur);
	*cur = st;
	kms_state_apply_log(&st->cfg);
	log_notice("reload done (log level %s)", st->cfg.log_level);
	net_notify_ready("serving (reloaded)");
}

/* The Zk client of zk.* (only with zk.enabled). */
static int zk_open(const kms_config_t *cfg, zk_client_t **out)
{
	zk_client_cfg_t zc = {
		.cert_file = cfg->zk_cert_file,
		.key_file = cfg->zk_key_file,
		.timeout_ms = cfg->zk_timeout_ms,
		.connect_timeout_ms = cfg->zk_connect_timeout_ms,
		.retries = cfg->zk_retries,
		.breaker_failures = cfg->zk_breaker_failures,
		.breaker_open_ms = cfg->zk_breaker_open_ms,
		.max_handles = cfg->zk_threads + cfg->threads,
		.max_pending = ZK_PENDING_MAX,
	};
	if (zc.max_handles > ZK_CLIENT_HANDLES_MAX) {
		zc.max_handles = ZK_CLIENT_HANDLES_MAX;
	}
	int ret = zk_client_new(&zc, out);
	if (ret != KMS_EOK) {
		log_error("cannot set up the Zk client (%s, %s): %s", cfg->zk_cert_file,
			  cfg->zk_key_file, kms_strerror(ret));
	}
	return ret;
}

static void log_zk_stats(const zk_client_t *zk)
{
	zk_client_stats_t s;
	if (zk == NULL) {
		return;
	}
	zk_client_stats(zk, &s);
	log_notice("zk: stats requests=%llu attempts=%llu connects=%llu failures=%llu "
		   "fast_fails=%llu",
		   (unsigned long long)s.requests, (unsigned long long)s.attempts,
		   (unsigned long long)s.connects, (unsigned long long)s.failures,
		   (unsigned long long)s.fast_fails);
}

/* SIGHUP, SIGTERM, SIGINT and SIGUSR1 into *set, blocked; before any
 * thread exists, so that they all inherit the mask.  SIGPIPE is ignored. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Core dumps off unless log.core_dumps: a core file of kmsd would hold the
 * KEK, the master keys and the PSKs.  Not dumpable also keeps processes of
 * the same user from ptrace and /proc/PID/mem.  Runs before any key is read. */
static int core_dumps_set(const kms_config_t *cfg)
{
	if (cfg->log_core_dumps) {
		log_notice("core dumps allowed by log.core_dumps");
		return KMS_EOK;
	}
	const struct rlimit none = { 0, 0 };
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    setrlimit(RLIMIT_CORE, &none) != 0) {
		int e = errno;
		log_error("cannot turn core dumps off: %s", strerror(e));
		return -e;
	}
	log_notice("core dumps off (not dumpable, RLIMIT_CORE 0)");
	return KMS_EOK;
}

/* Each connection the listeners may hold is a descriptor: raise the soft
 * RLIMIT_NOFILE toward the hard one when max_conns needs more. */
static void nofile_raise(const kms_config_t *cfg)
{
	rlim_t need = (rlim_t)net_listener_slots(cfg->max_conns) + FD_RESERVE;
	need += cfg->zk_enabled ? (rlim_t)net_listener_slots(cfg->zk_max_conns) : 0;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
		return;
	}
	unsigned long long was = (unsigned long long)rl.rlim_cur;
	rl.rlim_cur =
	    rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
	if (rl.rlim_cur > (rlim_t)was && setrlimit(RLIMIT_NOFILE, &rl) == 0) {
		log_notice("open file limit raised from %llu to %llu for ua.max_conns %u",
			   was, (unsigned long long)rl.rlim_cur, cfg->max_conns);
	} else {
		rl.rlim_cur = (rlim_t)was;
	}
	if (rl.rlim_cur < need) {
		log_warning("open file limit %llu (hard %llu) is below the %llu that "
			    "the connection caps need: connections past it are refused",
			    (unsigned long long)rl.rlim_cur,
			    (unsigned long long)rl.rlim_max, (unsigned long long)need);
	}
}

/* The audit writer and the replay cache, shared by every state. */
static int open_audit_and_replay(const kms_config_t *cfg, shared_t *sh)
{
	audit_opts_t ao;
	audit_opts_default(&ao);
	ao.queue_max = cfg->audit_queue;
	ao.refuse = strcmp(cfg->audit_on_failure, "serve") != 0;
	ao.durable = cfg->audit_durable;
	ao.durable_timeout_ms = cfg->audit_durable_timeout_ms;
	ao.max_size = cfg->audit_max_size;
	ao.sample_ms = cfg->audit_sample_interval * 1000u;
	ao.node = cfg->node_name;
	int ret = audit_open(cfg->audit_loc, &ao, &sh->audit);
	if (ret != KMS_EOK) {
		log_error("cannot open the audit log %s: %s",
			  kms_config_store_label(cfg, true), kms_strerror(ret));
		return ret;
	}
	log_notice("audit log %s: on failure %s, %s", kms_config_store_label(cfg, true),
		   cfg->audit_on_failure,
		   ao.durable ? "durable (answers after the commit)"
			      : "batched (answers before the commit)");
	sh->rp = replay_new(cfg->replay_entries, cfg->clock_skew, kms_service_now());
	if (sh->rp == NULL) {
		log_error("cannot allocate the replay cache (%zu entries)",
			  cfg->replay_entries);
		return KMS_ENOMEM;
	}
	log_notice("replay cache: %zu entries, %zu bytes", cfg->replay_entries,
		   replay_memory(sh->rp));
	return replay_store_start(sh->rp, cfg->state_dir, cfg->replay_journal,
				  kms_service_now(), &sh->rs);
}

/* replay.shared: one connection per thread that runs checks (the Ua and
 * Zk workers). */
static int open_replay_shared(const kms_config_t *cfg, shared_t *sh)
{
	if (!cfg->replay_shared) {
		return KMS_EOK;
	}
	replay_shared_opts_t o;
	replay_shared_opts_default(&o);
	o.locator = cfg->keys_loc;
	o.conns = cfg->threads + (cfg->zk_enabled ? cfg->zk_threads : 0);
	o.serve_on_failure = strcmp(cfg->replay_on_store_failure, "local") == 0;
	o.skew = cfg->clock_skew;
	int ret = replay_shared_open(&o, &sh->rps);
	if (ret != KMS_EOK) {
		log_error("cannot open the shared replay store in %s: %s",
			  kms_config_store_label(cfg, false), kms_strerror(ret));
		return ret;
	}
	log_notice("shared replay check: %u connections, on store failure %s", o.conns,
		   cfg->replay_on_store_failure);
	return KMS_EOK;
}

/* resolve.once: in the replay store shared by the nodes (replay.shared),
 * else in this node's state_dir/resolve_once.db. */
static int open_resolve_once(const kms_config_t *cfg, shared_t *sh)
{
	if (!cfg->resolve_once) {
		return KMS_EOK;
	}
	char path[sizeof(cfg->state_dir) + sizeof(RESOLVE_ONCE_FILE) + 1];
	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, RESOLVE_ONCE_FILE);
	resolve_once_opts_t o;
	resolve_once_opts_default(&o);
	o.locator = cfg->replay_shared ? cfg->keys_loc : path;
	o.conns = cfg->threads + (cfg->zk_enabled ? cfg->zk_threads : 0);
	o.max_entries = cfg->resolve_once_max_entries;
	o.serve_on_failure = strcmp(cfg->replay_on_store_failure, "local") == 0;
	o.grace = cfg->clock_skew;
	const char *where = cfg->replay_shared ? "the shared replay store" : path;
	int ret = resolve_once_open(&o, &sh->once);
	if (ret != KMS_EOK) {
		log_error("cannot open the resolve-once record in %s: %s", where,
			  kms_strerror(ret));
		return ret;
	}
	resolve_once_stats_t s;
	resolve_once_stats(sh->once, &s);
	if (cfg->replay_shared) {
		log_notice("resolve-once record: %s, on store failure %s", where,
			   cfg->replay_on_store_failure);
	} else {
		log_notice(
		    "resolve-once record: %s, %zu of %zu rows, on store failure %s",
		    where, s.rows, o.max_entries, cfg->replay_on_store_failure);
	}
	return KMS_EOK;
}

/* The identity rate limits, shared by every state (none when off). */
static int open_id_rate(const kms_config_t *cfg, shared_t *sh)
{
	if (cfg->rate_per_identity == 0) {
		return KMS_EOK;
	}
	sh->id_rate = ratelimit_new(cfg->rate_table_entries, cfg->rate_per_identity,
				    cfg->burst_per_identity);
	if (sh->id_rate == NULL) {
		log_error("cannot allocate the identity rate-limit table");
		return KMS_ENOMEM;
	}
	log_notice("rate limit per identity: %u/s, burst %u, %zu entries, %zu bytes",
		   cfg->rate_per_identity, cfg->burst_per_identity,
		   cfg->rate_table_entries, ratelimit_memory(sh->id_rate));
	return KMS_EOK;
}

/* naf.zn = "diameter": the process's one freeDiameter peer, started once
 * (libfdcore cannot start again: its settings need a restart).  Here,
 * before the privilege switch (its TLS key may be readable by root only)
 * and with the signals blocked, so that its threads inherit the mask. */
static int dia_start(const kms_config_t *cfg)
{
	if (!kms_config_zn_diameter(cfg)) {
		return KMS_EOK;
	}
	if (!dia_available()) {
		log_error("naf.zn = \"diameter\": this kmsd was built without "
			  "freeDiameter");
		return KMS_ENOTSUP;
	}
	int ret = dia_peer_start(cfg->naf_diameter_conf);
	if (ret != KMS_EOK) {
		log_error("cannot start the Diameter peer from %s: %s",
			  cfg->naf_diameter_conf, kms_strerror(ret));
		return ret;
	}
	log_notice("Diameter peer started from %s (Zn to the BSF)",
		   cfg->naf_diameter_conf);
	return KMS_EOK;
}

/* Start-up after the config: self-test, Diameter peer, Zk client, state,
 * audit, replay cache, listeners.  What was made is in *st and *sh, also on failure. */
static int start(const kms_config_t *cfg, kms_state_t **st, shared_t *sh)
{
	int ret = crypto_selftest();
	if (ret != KMS_EOK) {
		log_error("crypto self-test failed: refusing to start");
		return ret;
	}
	ret = dia_start(cfg);
	if (ret != KMS_EOK) {
		return ret;
	}
	if (cfg->zk_enabled) {
		ret = zk_open(cfg, &sh->zk);
		if (ret != KMS_EOK) {
			return ret;
		}
	}
	ret = net_outbound_new("outbound", OUTBOUND_CALLS_MAX, &sh->ob);
	if (ret != KMS_EOK) {
		log_error("cannot start the outbound-call thread: %s", kms_strerror(ret));
		return ret;
	}
	/* Forwarded resolves wait for the peer there too (zk/client.h). */
	zk_client_use_outbound(sh->zk, sh->ob);
	ret = kms_state_new(cfg, NULL, NULL, NULL, sh->zk, st);
	if (ret == KMS_EOK) {
		kms_state_use_outbound(*st, sh->ob);
		ret = open_audit_and_replay(cfg, sh);
	}
	if (ret == KMS_EOK) {
		ret = open_id_rate(cfg, sh);
	}
	if (ret == KMS_EOK) {
		ret = open_replay_shared(cfg, sh);
	}
	if (ret == KMS_EOK) {
		ret = open_resolve_once(cfg, sh);
	}
	if (ret != KMS_EOK) {
		return ret;
	}
	(*st)->svc.replay = sh->rp;
	(*st)->svc.replay_shared = sh->rps;
	(*st)->svc.once = sh->once;
	(*st)->svc.audit = sh->audit;
	(*st)->svc.id_rate = sh->id_rate;
	ret = kms_metrics_new(kms_service_now(), &sh->metrics);
	if (ret != KMS_EOK) {
		return ret;
	}
	metrics_source(sh, *st);
	ret = kms_http_start(cfg, &(*st)->svc, &sh->ua);
	if (ret == KMS_EOK) {
		kms_http_set_metrics(sh->ua, sh->metrics);
	}
	if (ret == KMS_EOK && cfg->zk_enabled) {
		ret = kms_http_start_zk(cfg, &(*st)->svc, &sh->zkl);
	}
	if (ret == KMS_EOK && sh->zkl != NULL) {
		kms_http_set_metrics(sh->zkl, sh->metrics);
	}
	if (ret == KMS_EOK) {
		metrics_source(sh, *st); /* with the listeners */
		ret = kms_metrics_http_start(cfg, sh->metrics, &sh->mh);
	}
	return ret;
}

/* A signal of set, 0 when interval seconds (0: no bound) passed first, or
 * -1 when waiting failed. */
static int wait_signal(const sigset_t *set, uint32_t interval)
{
	int sig = 0;
	if (interval == 0) {
		return sigwait(set, &sig) == 0 ? sig : -1;
	}
	struct timespec tmo = { (time_t)interval, 0 };
	sig = sigtimedwait(set, NULL, &tmo);
	if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
		return 0;
	}
	return sig;
}

/* Reload when the store's version is not *seen, or in any case with all.
 * *seen is the last version a reload was tried for: a failed reload is
 * not retried until the store changes again (or SIGHUP). */
static void store_check(const char *path, const char *why, bool all, int64_t *seen,
			kms_state_t **st, const shared_t *sh)
{
	int64_t v = 0;
	bool known = kms_db_version((*st)->cfg.keys_loc, &v) == KMS_EOK;
	if (!all && (!known || v == *seen)) {
		return;
	}
	if (known) {
		*seen = v;
	}
	reload(path, why, st, sh);
}

/* A signal from set, or 0 when reload_interval passed first or the store
 * watch woke us (then a changed store has been reloaded); -1 when waiting
 * failed.  policy.reload_interval 0 turns both off (SIGHUP only). */
static int next_signal(const char *path, const sigset_t *set, int64_t *seen,
		       kms_state_t **st, const shared_t *sh)
{
	uint32_t interval = (*st)->cfg.reload_interval;
	int sig = wait_signal(set, interval);
	if (sig == 0) {
		store_check(path, "kms.db changed (rules, keys, PSK users or peers)",
			    false, seen, st, sh);
	} else if (sig == SIGUSR1) {
		bool all = atomic_exchange(&sh->wake->resync, false);
		if (interval > 0) {
			store_check(path,
				    all ? "store watch reconnected (changes may "
					  "have been missed)"
					: "kms.db changed (notified)",
				    all, seen, st, sh);
		}
		sig = 0;
	}
	return sig;
}

/* Serve until SIGTERM or SIGINT (or a failed wait); SIGHUP reloads. */
static void run(const char *path, const sigset_t *set, kms_state_t **st,
		const shared_t *sh)
{
	int64_t seen = (*st)->db_version;
	for (;;) {
		int sig = next_signal(path, set, &seen, st, sh);
		if (sig == 0) {
			continue;
		}
		if (sig < 0) {
			log_error("waiting for signals failed: stopping");
			return;
		}
		if (sig == SIGHUP) {
			log_zk_stats(sh->zk);
			/* Certificates first, whatever the config reload does:
			 * each keeps its current one on failure. */
			(void)kms_http_tls_reload(sh->ua);
			(void)kms_http_tls_reload(sh->zkl);
			reload(path, "SIGHUP", st, sh);
			seen = (*st)->db_version;
			continue;
		}
		log_notice("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		return;
	}
}

/* Stop the listeners after the requests in progress (bounded), then log
 * the NAF and Zk counters. */
static void drain(const kms_state_t *st, shared_t *sh)
{
	unsigned wait_ms = st->cfg.conn_timeout * 1000u;
	if (wait_ms > STOP_WAIT_MAX_MS) {
		wait_ms = STOP_WAIT_MAX_MS;
	}
	kms_http_t *zkl = sh->zkl, *ua = sh->ua;
	sh->zkl = NULL;
	sh->ua = NULL;
	metrics_source(sh, st); /* scrapes no longer look at the listeners */
	/* Zk first: a forwarded resolve may be waiting for a peer's answer. */
	kms_http_stop(zkl, wait_ms);
	kms_http_stop(ua, wait_ms);
	kms_state_log_naf_stats(st);
	log_zk_stats(sh->zk);
}

/* The store watch's callback, on its thread: never blocks. */
static void watch_changed(void *ctx, store_watch_event_t ev)
{
	watch_wake_t *wake = ctx;
	if (ev == STORE_WATCH_RESYNC) {
		atomic_store(&wake->resync, true);
	}
	pthread_kill(wake->main, SIGUSR1);
}

/* With the PostgreSQL store: the store watch, after the switch to
 * kms.user (its reconnections run as that user).  Without it kmsd still
 * polls, so a failure here is a warning. */
static void watch_start(const kms_config_t *cfg, shared_t *sh)
{
	if (!kms_config_uses_pg(cfg)) {
		return;
	}
	sh->wake->main = pthread_self();
	const store_watch_cfg_t wc = { cfg->keys_loc, cfg->node_name, watch_changed,
				       sh->wake, sh->metrics };
	if (store_watch_start(&wc, &sh->watch) != KMS_EOK) {
		log_warning("store watch: not running: changes are seen every "
			    "policy.reload_interval (%u s)",
			    cfg->reload_interval);
	}
}

/* Free whatever start() made (any of it may be NULL). */
static void release(kms_state_t *st, shared_t *sh)
{
	store_watch_stop(sh->watch); /* its callback reaches the main thread */
	sh->watch = NULL;
	kms_metrics_http_stop(sh->mh); /* first: a scrape reads the rest */
	kms_http_stop(sh->zkl, 0);
	kms_http_stop(sh->ua, 0);
	audit_close(sh->audit); /* flushes the queue, logs what was lost */
	kms_state_free(st);
	/* After the listeners: no request waits any more.  Calls still under
	 * way are cancelled; they held what they use (kms/naf_async.c). */
	net_outbound_free(sh->ob);
	/* After the listeners: no request waits for a BIA any more; answers
	 * still under way hold what they use, as the calls above. */
	dia_peer_stop();
	replay_store_close(sh->rs, kms_service_now()); /* after the last request */
	replay_free(sh->rp);
	replay_shared_close(sh->rps);
	resolve_once_close(sh->once);
	ratelimit_free(sh->id_rate);
	zk_client_free(sh->zk);
	kms_metrics_free(sh->metrics);
}

/* kms.pidfile: refuse to start next to a running kmsd (KMS_EEXIST). */
static int pidfile_claim(const kms_config_t *cfg)
{
	if (cfg->pidfile[0] == '\0') {
		return KMS_EOK;
	}
	if (pidfile_check(cfg->pidfile, "kmsd") != KMS_EOK) {
		log_error("%s names a running kmsd: refusing to start a second one",
			  cfg->pidfile);
		return KMS_EEXIST;
	}
	return KMS_EOK;
}

/* Once bound: the pid file, as the identity kmsd started with (it may
 * live where kms.user cannot write, such as /run). */
static int pidfile_publish(const kms_config_t *cfg)
{
	if (cfg->pidfile[0] == '\0') {
		return KMS_EOK;
	}
	int ret = pidfile_write(cfg->pidfile);
	if (ret != KMS_EOK) {
		log_error("cannot write the pid file %s: %s", cfg->pidfile,
			  kms_strerror(ret));
	}
	return ret;
}

static void log_unlocked_tables(void)
{
	unsigned unlocked = secmem_table_lock_failures();
	if (unlocked > 0) {
		log_warning("%u key table(s) not locked in memory "
			    "(RLIMIT_MEMLOCK): they may be swapped",
			    unlocked);
	}
}

static int serve(const char *path, const kms_config_t *cfg,
		 const kms_config_override_t *ov, const privdrop_t *pd)
{
	sigset_t set;
	kms_state_t *st = NULL;
	watch_wake_t wake = { .main = pthread_self() };
	shared_t sh = { .wake = &wake };
	bool published = false;

	atomic_init(&wake.resync, false);

	block_signals(&set);
	nofile_raise(cfg);
	int ret = pidfile_claim(cfg);
	if (ret == KMS_EOK) {
		ret = start(cfg, &st, &sh);
	}
	if (ret == KMS_EOK) {
		st->ov = *ov; /* reloads put the command line over the file */
		ret = pidfile_publish(cfg);
		published = ret == KMS_EOK;
	}
	if (ret == KMS_EOK) {
		ret = privdrop_apply(pd, cfg); /* bound and loaded: root no more */
	}
	if (ret == KMS_EOK) {
		log_unlocked_tables();
		watch_start(cfg, &sh);
		log_notice("kmsd ready (KMS %s)", cfg->kms_id);
		net_notify_ready("serving");
		run(path, &set, &st, &sh);
		net_notify_stopping();
		store_watch_stop(sh.watch); /* ends before anything it uses */
		sh.watch = NULL;
		drain(st, &sh);
	}
	release(st, &sh);
	if (published) {
		pidfile_remove(cfg->pidfile);
	}
	if (ret == KMS_EOK) {
		log_notice("kmsd stopped");
	}
	return ret;
}

typedef struct {
	const char *path;
	bool check, allow_root;
	kms_config_override_t ov;
} args_t;

/* -p PORT: 1..65535. */
static int parse_port(const char *v, uint16_t *port)
{
	char *end = NULL;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 1 || n > 65535 || v[0] == '-' ||
	    v[0] == '+') {
		return KMS_EINVAL;
	}
	*port = (uint16_t)n;
	return KMS_EOK;
}

/* -u USER, -l ADDR, -p PORT into ov (checked further by
 * kms_config_override); a usage error is reported here. */
static int parse_override(int c, const char *v, kms_config_override_t *ov)
{
	if (c == 'p') {
		if (parse_port(v, &ov->port) != KMS_EOK) {
			fprintf(stderr, "kmsd: -p %s: not a port (1..65535)\n", v);
			return KMS_EINVAL;
		}
		return KMS_EOK;
	}
	char *dst = c == 'u' ? ov->user : ov->listen;
	size_t cap = c == 'u' ? sizeof(ov->user) : sizeof(ov->listen);
	if (v[0] == '\0' || strlen(v) >= cap) {
		fprintf(stderr, "kmsd: -%c: empty or too long\n", c);
		return KMS_EINVAL;
	}
	snprintf(dst, cap, "%s", v);
	return KMS_EOK;
}

/* -1 to go on; otherwise the exit status (after --help, --version or a
 * usage error). */
static int parse_args(int argc, char **argv, args_t *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "allow-root", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "c:tfu:l:p:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->path = optarg;
			break;
		case 't':
			a->check = true;
			break;
		case 'f':
			break;
		case 'u':
		case 'l':
		case 'p':
			if (parse_override(c, optarg, &a->ov) != KMS_EOK) {
				return 2;
			}
			break;
		case 'R':
			a->allow_root = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kmsd (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kmsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The configuration with the command line over it, and the identity
 * checks; with -t also every file it names.  The reason in err. */
static int configure(const args_t *a, kms_config_t *cfg, privdrop_t *pd, char *err,
		     size_t err_len)
{
	if (kms_state_load_config(a->path, cfg, err, err_len) != KMS_EOK ||
	    kms_config_override(cfg, &a->ov, err, err_len) != KMS_EOK ||
	    privdrop_prepare(cfg, a->allow_root, pd, err, err_len) != KMS_EOK) {
		return KMS_ECONFIG;
	}
	if (a->check &&
	    (kms_check_files(cfg, a->path, err, err_len) != KMS_EOK ||
	     privdrop_check_access(pd, cfg, a->path, err, err_len) != KMS_EOK)) {
		return KMS_ECONFIG;
	}
	return KMS_EOK;
}

int main(int argc, char **argv)
{
	args_t a = { 0 };

	umask(077); /* the KEK file, the stores and the audit log: owner only */

	int rc = parse_args(argc, argv, &a);
	if (rc >= 0) {
		return rc;
	}
	kms_config_t cfg;
	char err[1024];
	privdrop_t pd;
	if (configure(&a, &cfg, &pd, err, sizeof(err)) != KMS_EOK) {
		fprintf(stderr, "kmsd: %s\n", err);
		return 1;
	}
	if (a.check) {
		printf("kmsd: %s: configuration is valid\n",
		       a.path != NULL ? a.path : "(embedded defaults)");
		return 0;
	}
	kms_state_apply_log(&cfg);
	if (core_dumps_set(&cfg) != KMS_EOK) {
		log_close();
		return 1;
	}
	int ret = serve(a.path, &cfg, &a.ov, &pd);
	log_close();
	return ret == KMS_EOK ? 0 : 1;
}
