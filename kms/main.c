/*
 * kmsd: the KMS daemon.  Start-up: config, log, crypto self-test, keys
 * (KEK, keyring, PSK users), audit log, replay cache, bind, serve.  Signals are
 * blocked in every thread and taken by sigwait() here: SIGHUP reloads
 * (transactionally), SIGTERM/SIGINT stop gracefully.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crypto_selftest.h"
#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "kms/audit.h"
#include "kms/config.h"
#include "kms/http.h"
#include "kms/keyring.h"
#include "kms/naf.h"
#include "kms/policy_store.h"
#include "kms/psk_static.h"
#include "kms/replay.h"
#include "kms/service.h"
#include "zk/client.h"
#include "zk/peer.h"

#define STOP_WAIT_MAX_MS 30000u

/* What a reload replaces as one unit. */
typedef struct {
	kms_config_t cfg;
	keyring_t *kr;
	kms_psk_source_t *psk;
	policy_set_t *policy;
	int64_t db_version; /* kms_db_version() before anything was read */
	zk_peers_t *peers;  /* NULL unless zk.enabled */
	kms_service_t svc;
} state_t;

static void usage(FILE *f)
{
	fprintf(f, "usage: kmsd [-c FILE] [-t] [-f] [-h]\n"
		   "  -c, --config FILE    configuration file (default: embedded "
		   "defaults)\n"
		   "  -t, --check-config   check the configuration, then exit 0 "
		   "(valid) or 1\n"
		   "  -f, --foreground     run in the foreground (the default)\n"
		   "  -h, --help           this text\n"
		   "Signals: HUP reloads the configuration, keyring, PSK users and\n"
		   "policy rules (and logs the NAF counters); a change of the policy\n"
		   "rules in the store is picked up alone (policy.reload_interval);\n"
		   "TERM and INT stop after the requests in progress.\n");
}

static int load_config(const char *path, kms_config_t *cfg, char *err, size_t len)
{
	if (path == NULL) {
		kms_config_defaults(cfg);
		return KMS_EOK;
	}
	return kms_config_load(path, cfg, err, len);
}

static void state_free(state_t *st)
{
	if (st == NULL) {
		return;
	}
	keyring_free(st->kr);
	policy_set_free(st->policy);
	zk_peers_free(st->peers);
	if (st->psk != NULL && st->psk->free != NULL) {
		st->psk->free(st->psk);
	}
	free(st);
}

/* The NAF counters, for the logs (nothing when there is no GBA source). */
static void log_naf_stats(const kms_psk_source_t *psk)
{
	naf_stats_t s;
	if (naf_stats(psk, &s) == KMS_EOK) {
		log_notice("naf: stats hits=%llu misses=%llu zn_requests=%llu "
			   "zn_errors=%llu zn_busy=%llu entries=%zu capacity=%zu",
			   (unsigned long long)s.hits, (unsigned long long)s.misses,
			   (unsigned long long)s.zn_requests,
			   (unsigned long long)s.zn_errors, (unsigned long long)s.zn_busy,
			   s.entries, s.capacity);
	}
}

/*
 * The PSK source kms.psk_source names: the static users, the NAF (GBA), or
 * both.  A NAF source keeps prev's cache when it can (reload).
 */
static int psk_open(const kms_config_t *cfg, const uint8_t *kek,
		    const kms_psk_source_t *prev, kms_psk_source_t **out)
{
	kms_psk_source_t *stat = NULL, *gba = NULL;
	bool want_static = strcmp(cfg->psk_source, "gba") != 0;
	bool want_gba = strcmp(cfg->psk_source, "static") != 0;
	int ret = KMS_EOK;
	if (want_static) {
		ret = psk_static_open(cfg->keys_db, kek, &stat);
		if (ret != KMS_EOK) {
			log_error("cannot load the PSK users from %s: %s", cfg->keys_db,
				  kms_strerror(ret));
			return ret;
		}
	}
	if (want_gba) {
		ret = naf_reopen(cfg, prev, &gba);
		if (ret != KMS_EOK) {
			if (stat != NULL) {
				stat->free(stat);
			}
			return ret;
		}
	}
	if (stat != NULL && gba != NULL) {
		return naf_both(stat, gba, out); /* frees both on failure */
	}
	*out = stat != NULL ? stat : gba;
	return KMS_EOK;
}

/* The policy rules of the store over the configured defaults. */
static int policy_open(const kms_config_t *cfg, state_t *st)
{
	policy_defaults_t def = {
		.effect =
		    strcmp(cfg->default_effect, "deny") == 0 ? POLICY_DENY : POLICY_ALLOW,
		.max_validity = 0,
		.reuse = cfg->allow_reuse,
		.group_ok = cfg->default_group_tickets,
		.init_keys = cfg->default_initiator_keys,
	};
	int ret = policy_store_load(cfg->keys_db, &def, &st->policy);
	if (ret != KMS_EOK) {
		log_error("cannot load the policy rules from %s: %s", cfg->keys_db,
			  kms_strerror(ret));
		return ret;
	}
	log_info("%zu policy rule(s) loaded (kms.db version %lld, default %s)",
		 policy_set_count(st->policy), (long long)st->db_version,
		 cfg->default_effect);
	return KMS_EOK;
}

/* Read the KEK, the keyring and the PSK users named by cfg; log why not. */
static int state_new(const kms_config_t *cfg, const kms_psk_source_t *prev, replay_t *rp,
		     audit_t *audit, zk_client_t *zk, state_t **out)
{
	uint8_t kek[KEYRING_KEK_LEN];
	state_t *st = calloc(1, sizeof(*st));
	int ret = KMS_ENOMEM;

	if (st == NULL) {
		log_error("out of memory");
		goto cleanup;
	}
	st->cfg = *cfg;
	ret = keyring_kek_load(cfg->kek_file, 0, kek);
	if (ret == KMS_ENOENT) {
		log_error("no KEK file %s: run kmsctl -d %s init", cfg->kek_file,
			  cfg->state_dir);
		goto cleanup;
	}
	if (ret == KMS_EACCES) {
		log_error("KEK file %s is accessible to group or others: chmod 600 it",
			  cfg->kek_file);
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		log_error("cannot read the KEK file %s: %s", cfg->kek_file,
			  kms_strerror(ret));
		goto cleanup;
	}
	/* Read first: a change made while the rest loads moves it again, and
	 * the next poll reloads. */
	ret = kms_db_version(cfg->keys_db, &st->db_version);
	if (ret != KMS_EOK) {
		log_error("cannot read %s: %s (run kmsctl -d %s init?)", cfg->keys_db,
			  kms_strerror(ret), cfg->state_dir);
		goto cleanup;
	}
	ret = keyring_load(cfg->keys_db, kek, &st->kr);
	if (ret == KMS_ENOENT) {
		log_error("no active master key in %s: run kmsctl -d %s init",
			  cfg->keys_db, cfg->state_dir);
		goto cleanup;
	}
	if (ret != KMS_EOK) {
		log_error("cannot load the keyring from %s: %s (wrong KEK?)",
			  cfg->keys_db, kms_strerror(ret));
		goto cleanup;
	}
	ret = psk_open(cfg, kek, prev, &st->psk);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = policy_open(cfg, st);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	if (cfg->zk_enabled) {
		ret = zk_peers_load(cfg->keys_db, kek, &st->peers);
		if (ret != KMS_EOK) {
			log_error("cannot load the Zk peers from %s: %s", cfg->keys_db,
				  kms_strerror(ret));
			goto cleanup;
		}
		log_info("%zu Zk peer(s) loaded", zk_peers_count(st->peers));
	}
	st->svc = (kms_service_t){ &st->cfg, st->kr,	 st->psk,   rp,
				   audit,    st->policy, st->peers, zk };
	const kms_psk_source_t *stat = naf_static_part(st->psk);
	if (stat != NULL) {
		log_info("keyring and %zu static PSK user(s) loaded from %s (PSK source "
			 "%s)",
			 psk_static_size(stat), cfg->keys_db, cfg->psk_source);
	} else {
		log_info("keyring loaded from %s (PSK source %s)", cfg->keys_db,
			 cfg->psk_source);
	}
	*out = st;
	st = NULL;
cleanup:
	secmem_wipe(kek, sizeof(kek));
	state_free(st);
	return ret;
}

static void apply_log(const kms_config_t *cfg)
{
	log_target_t t = strcmp(cfg->log_target, "syslog") == 0 ? LOG_TARGET_SYSLOG
								: LOG_TARGET_STDERR;
	log_open("kmsd", t);
	log_level_set(log_level_parse(cfg->log_level));
}

/*
 * SIGHUP (or a change in kms.db): build a whole new state; swap
 * it in only when all of it loaded.
 */
typedef struct {
	replay_t *rp;
	audit_t *audit;
	zk_client_t *zk;
	kms_http_t *ua, *zkl; /* zkl: the Zk listener, or NULL */
} shared_t;

static void reload(const char *path, const char *why, state_t **cur, const shared_t *sh)
{
	char err[512];
	kms_config_t cfg;
	state_t *st = NULL;
	const kms_config_t *old = &(*cur)->cfg;

	log_notice("%s: reloading%s%s", why, path != NULL ? " " : "",
		   path != NULL ? path : "");
	if (load_config(path, &cfg, err, sizeof(err)) != KMS_EOK) {
		log_error("reload failed, keeping the running state: %s", err);
		return;
	}
	char what[256];
	if (kms_http_needs_restart(sh->ua, &cfg, what, sizeof(what))) {
		log_warning("restart required to apply: %s", what);
	}
	if (cfg.replay_entries != old->replay_entries ||
	    cfg.clock_skew != old->clock_skew ||
	    strcmp(cfg.audit_db, old->audit_db) != 0 ||
	    cfg.audit_queue != old->audit_queue) {
		log_warning("restart required to apply: policy.replay_entries, "
			    "policy.clock_skew, kms.audit_db, policy.audit_queue; the "
			    "running values stay in force");
		/* The replay cache keeps its window; the service must agree. */
		cfg.clock_skew = old->clock_skew;
	}
	log_naf_stats((*cur)->psk);
	/* Without a restart the Zk client and listener keep their settings. */
	cfg.zk_enabled = old->zk_enabled;
	if (state_new(&cfg, (*cur)->psk, sh->rp, sh->audit, sh->zk, &st) != KMS_EOK) {
		log_error("reload failed, keeping the running state");
		return;
	}
	/* The swap waits for requests using the old state; then it is ours. */
	kms_http_swap(sh->ua, &st->svc);
	if (sh->zkl != NULL) {
		kms_http_swap(sh->zkl, &st->svc);
	}
	if (sh->zk != NULL) {
		zk_client_prune(sh->zk, st->peers);
	}
	state_free(*cur);
	*cur = st;
	apply_log(&st->cfg);
	log_notice("reload done (log level %s)", st->cfg.log_level);
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

static int serve(const char *path, const kms_config_t *cfg)
{
	sigset_t set;
	state_t *st = NULL;
	shared_t sh = { NULL, NULL, NULL, NULL, NULL };
	int ret = KMS_EOK;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Before any thread exists, so that they all inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = crypto_selftest();
	if (ret != KMS_EOK) {
		log_error("crypto self-test failed: refusing to start");
		goto cleanup;
	}
	if (cfg->zk_enabled) {
		ret = zk_open(cfg, &sh.zk);
		if (ret != KMS_EOK) {
			goto cleanup;
		}
	}
	ret = state_new(cfg, NULL, NULL, NULL, sh.zk, &st);
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	ret = audit_open(cfg->audit_db, cfg->audit_queue, &sh.audit);
	if (ret != KMS_EOK) {
		log_error("cannot open the audit log %s: %s", cfg->audit_db,
			  kms_strerror(ret));
		goto cleanup;
	}
	sh.rp = replay_new(cfg->replay_entries, cfg->clock_skew, kms_service_now());
	if (sh.rp == NULL) {
		log_error("cannot allocate the replay cache (%zu entries)",
			  cfg->replay_entries);
		ret = KMS_ENOMEM;
		goto cleanup;
	}
	st->svc.replay = sh.rp;
	st->svc.audit = sh.audit;
	log_notice("replay cache: %zu entries, %zu bytes", cfg->replay_entries,
		   replay_memory(sh.rp));
	ret = kms_http_start(cfg, &st->svc, &sh.ua);
	if (ret == KMS_EOK && cfg->zk_enabled) {
		ret = kms_http_start_zk(cfg, &st->svc, &sh.zkl);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	log_notice("kmsd ready (KMS %s)", cfg->kms_id);

	/* The last store version a reload was tried for: a failed reload is
	 * not retried until the store changes again (or SIGHUP). */
	int64_t seen = st->db_version;
	for (;;) {
		int sig = 0;
		if (st->cfg.reload_interval > 0) {
			struct timespec tmo = { (time_t)st->cfg.reload_interval, 0 };
			sig = sigtimedwait(&set, NULL, &tmo);
			if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
				int64_t v = 0;
				if (kms_db_version(st->cfg.keys_db, &v) == KMS_EOK &&
				    v != seen) {
					seen = v;
					reload(
					    path,
					    "kms.db changed (rules, keys, PSK users or "
					    "peers)",
					    &st, &sh);
				}
				continue;
			}
		} else if (sigwait(&set, &sig) != 0) {
			sig = -1;
		}
		if (sig < 0) {
			log_error("waiting for signals failed: stopping");
			break;
		}
		if (sig == SIGHUP) {
			log_zk_stats(sh.zk);
			reload(path, "SIGHUP", &st, &sh);
			seen = st->db_version;
			continue;
		}
		log_notice("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	}
	unsigned wait_ms = st->cfg.conn_timeout * 1000u;
	if (wait_ms > STOP_WAIT_MAX_MS) {
		wait_ms = STOP_WAIT_MAX_MS;
	}
	/* Zk first: a forwarded resolve may be waiting for a peer's answer. */
	kms_http_stop(sh.zkl, wait_ms);
	kms_http_stop(sh.ua, wait_ms);
	sh.zkl = NULL;
	sh.ua = NULL;
	log_naf_stats(st->psk);
	log_zk_stats(sh.zk);
cleanup:
	kms_http_stop(sh.zkl, 0);
	kms_http_stop(sh.ua, 0);
	if (sh.audit != NULL && audit_dropped(sh.audit) > 0) {
		log_warning("%llu audit record(s) dropped: queue full",
			    (unsigned long long)audit_dropped(sh.audit));
	}
	audit_close(sh.audit); /* flushes the queue */
	state_free(st);
	replay_free(sh.rp);
	zk_client_free(sh.zk);
	if (ret == KMS_EOK) {
		log_notice("kmsd stopped");
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	bool check = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:tfh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'f':
			break;
		case 'h':
			usage(stdout);
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

	kms_config_t cfg;
	char err[512];
	if (load_config(path, &cfg, err, sizeof(err)) != KMS_EOK) {
		fprintf(stderr, "kmsd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("kmsd: %s: configuration is valid\n",
		       path != NULL ? path : "(embedded defaults)");
		return 0;
	}
	apply_log(&cfg);
	int ret = serve(path, &cfg);
	log_close();
	return ret == KMS_EOK ? 0 : 1;
}
