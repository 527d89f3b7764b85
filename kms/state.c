/*
 * kmsd's running state: built at start-up and again, next to the running
 * one, on every reload (SIGHUP or a change in kms.db).
 */
#include "kms/state.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errcode.h"
#include "common/log.h"
#include "common/secmem.h"
#include "dia/peer.h"
#include "kms/naf.h"
#include "kms/policy_store.h"
#include "kms/psk_static.h"

/* The restart settings a reload names at most (the whole schema fits). */
#define RESTART_NAMES_MAX 64

int kms_state_load_config(const char *path, kms_config_t *cfg, char *err, size_t err_len)
{
	if (path == NULL) {
		kms_config_defaults(cfg);
		return KMS_EOK;
	}
	return kms_config_load(path, cfg, err, err_len);
}

void kms_state_free(kms_state_t *st)
{
	if (st == NULL) {
		return;
	}
	keyring_free(st->kr);
	policy_set_free(st->policy);
	zk_peers_free(st->peers);
	tpk_set_free(st->tpks);
	if (st->psk != NULL && st->psk->free != NULL) {
		st->psk->free(st->psk);
	}
	free(st);
}

void kms_state_log_naf_stats(const kms_state_t *st)
{
	naf_stats_t s;
	if (st == NULL || naf_stats(st->psk, &s) != KMS_EOK) {
		return;
	}
	char dia[48] = "";
	if (kms_config_zn_diameter(&st->cfg)) {
		snprintf(dia, sizeof(dia), " diameter_peers_open=%zu",
			 dia_peer_open_count());
	}
	log_notice("naf: stats hits=%llu misses=%llu zn_requests=%llu "
		   "zn_errors=%llu zn_busy=%llu zn_joined=%llu entries=%zu "
		   "capacity=%zu%s",
		   (unsigned long long)s.hits, (unsigned long long)s.misses,
		   (unsigned long long)s.zn_requests, (unsigned long long)s.zn_errors,
		   (unsigned long long)s.zn_busy, (unsigned long long)s.zn_joined,
		   s.entries, s.capacity, dia);
}

void kms_state_apply_log(const kms_config_t *cfg)
{
	log_target_t t = strcmp(cfg->log_target, "syslog") == 0 ? LOG_TARGET_SYSLOG
								: LOG_TARGET_STDERR;
	log_open("kmsd", t);
	log_level_set(log_level_parse(cfg->log_level));
	log_fmt_set(log_fmt_parse(cfg->log_format) == LOG_FMT_JSON ? LOG_FMT_JSON
								   : LOG_FMT_TEXT);
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
		ret = psk_static_open(cfg->keys_loc, kek, &stat);
		if (ret != KMS_EOK) {
			log_error("cannot load the PSK users from %s: %s",
				  kms_config_store_label(cfg, false), kms_strerror(ret));
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
static int policy_open(const kms_config_t *cfg, kms_state_t *st)
{
	policy_defaults_t def = {
		.effect =
		    strcmp(cfg->default_effect, "deny") == 0 ? POLICY_DENY : POLICY_ALLOW,
		.max_validity = 0,
		.reuse = cfg->allow_reuse,
		.group_ok = cfg->default_group_tickets,
		.init_keys = cfg->default_initiator_keys,
		.initiator_tickets = cfg->default_initiator_tickets,
	};
	int ret = policy_store_load(cfg->keys_loc, &def, &st->policy);
	if (ret != KMS_EOK) {
		log_error("cannot load the policy rules from %s: %s",
			  kms_config_store_label(cfg, false), kms_strerror(ret));
		return ret;
	}
	log_info("%zu policy rule(s) loaded (kms.db version %lld, default %s)",
		 policy_set_count(st->policy), (long long)st->db_version,
		 cfg->default_effect);
	return KMS_EOK;
}

/* The KEK of cfg->kek_file; log why not.  With kms.user set, the file may
 * be 0640 in the group kmsd runs as (kmsctl -c shares it so). */
static int kek_open(const kms_config_t *cfg, uint8_t kek[KEYRING_KEK_LEN])
{
	kms_config_runas_t ra = { false, 0, 0 };
	(void)kms_config_runas(cfg, &ra, NULL, 0); /* checked when loaded */
	int ret =
	    keyring_kek_load_group(cfg->kek_file, 0, ra.set ? ra.gid : (gid_t)-1, kek);
	if (ret == KMS_ENOENT) {
		log_error("no KEK file %s: run kmsctl -d %s init", cfg->kek_file,
			  cfg->state_dir);
	} else if (ret == KMS_EACCES) {
		log_error("KEK file %s is unreadable or accessible to others than "
			  "kmsd: chmod 600 it (640 in the group of kms.group)",
			  cfg->kek_file);
	} else if (ret != KMS_EOK) {
		log_error("cannot read the KEK file %s: %s", cfg->kek_file,
			  kms_strerror(ret));
	}
	return ret;
}

/* The keyring of cfg->keys_db, and its change counter read first: a change
 * made while the rest loads moves it again, and the next poll reloads. */
static int keyring_open(const kms_config_t *cfg, const uint8_t *kek, kms_state_t *st)
{
	int ret = kms_db_version(cfg->keys_loc, &st->db_version);
	if (ret != KMS_EOK) {
		log_error("cannot read %s: %s (run kmsctl -d %s init?)",
			  kms_config_store_label(cfg, false), kms_strerror(ret),
			  cfg->state_dir);
		return ret;
	}
	ret = keyring_load(cfg->keys_loc, kek, &st->kr);
	if (ret == KMS_ENOENT) {
		log_error("no active master key in %s: run kmsctl -d %s init",
			  kms_config_store_label(cfg, false), cfg->state_dir);
	} else if (ret != KMS_EOK) {
		log_error("cannot load the keyring from %s: %s (wrong KEK?)",
			  kms_config_store_label(cfg, false), kms_strerror(ret));
	}
	return ret;
}

/* The Initiators' ticket protection keys (flag D = 0 tickets). */
static int tpks_open(const kms_config_t *cfg, const uint8_t *kek, kms_state_t *st)
{
	int ret = tpk_load(cfg->keys_loc, kek, &st->tpks);
	if (ret != KMS_EOK) {
		log_error("cannot load the ticket protection keys from %s: %s",
			  kms_config_store_label(cfg, false), kms_strerror(ret));
		return ret;
	}
	log_info("%zu ticket protection key(s) of Initiators loaded",
		 tpk_set_count(st->tpks));
	return KMS_EOK;
}

static int peers_open(const kms_config_t *cfg, const uint8_t *kek, kms_state_t *st)
{
	if (!cfg->zk_enabled) {
		return KMS_EOK;
	}
	int ret = zk_peers_load(cfg->keys_loc, kek, &st->peers);
	if (ret != KMS_EOK) {
		log_error("cannot load the Zk peers from %s: %s",
			  kms_config_store_label(cfg, false), kms_strerror(ret));
		return ret;
	}
	log_info("%zu Zk peer(s) loaded", zk_peers_count(st->peers));
	return KMS_EOK;
}

int kms_state_new(const kms_config_t *cfg, const kms_psk_source_t *prev, replay_t *rp,
		  audit_t *audit, zk_client_t *zk, kms_state_t **out)
{
	uint8_t kek[KEYRING_KEK_LEN];
	kms_state_t *st = NULL;
	int ret = KMS_EINVAL;

	if (cfg == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		log_error("out of memory");
		ret = KMS_ENOMEM;
		goto cleanup;
	}
	st->cfg = *cfg;
	ret = kek_open(cfg, kek);
	if (ret == KMS_EOK) {
		ret = keyring_open(cfg, kek, st);
	}
	if (ret == KMS_EOK) {
		ret = psk_open(cfg, kek, prev, &st->psk);
	}
	if (ret == KMS_EOK) {
		ret = policy_open(cfg, st);
	}
	if (ret == KMS_EOK) {
		ret = peers_open(cfg, kek, st);
	}
	if (ret == KMS_EOK) {
		ret = tpks_open(cfg, kek, st);
	}
	if (ret != KMS_EOK) {
		goto cleanup;
	}
	/* The identity rate limits are shared too: the caller sets them. */
	st->svc = (kms_service_t){ .cfg = &st->cfg,
				   .keyring = st->kr,
				   .psk = st->psk,
				   .replay = rp,
				   .audit = audit,
				   .policy = st->policy,
				   .peers = st->peers,
				   .zk = zk,
				   .tpks = st->tpks };
	const kms_psk_source_t *stat = naf_static_part(st->psk);
	if (stat != NULL) {
		log_info("keyring and %zu static PSK user(s) loaded from %s (PSK source "
			 "%s)",
			 psk_static_size(stat), kms_config_store_label(cfg, false),
			 cfg->psk_source);
	} else {
		log_info("keyring loaded from %s (PSK source %s)",
			 kms_config_store_label(cfg, false), cfg->psk_source);
	}
	*out = st;
	st = NULL;
cleanup:
	secmem_wipe(kek, sizeof(kek));
	kms_state_free(st);
	return ret;
}

void kms_state_use_outbound(kms_state_t *st, net_outbound_t *ob)
{
	st->ob = ob;
	naf_use_outbound(st->psk, ob);
}

/* "a, b, c" into buf (cut short when it does not fit). */
static void join_names(const char **names, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w =
		    snprintf(buf + off, len - off, "%s%s", i > 0 ? ", " : "", names[i]);
		off += w > 0 ? (size_t)w : 0;
	}
}

int kms_state_reload(const kms_state_t *cur, const char *path, kms_state_t **out,
		     const char **restart, size_t max, size_t *n_restart)
{
	char err[512];
	kms_config_t cfg;
	kms_state_t *st = NULL;
	const char *names[RESTART_NAMES_MAX];

	if (cur == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	int ret = kms_state_load_config(path, &cfg, err, sizeof(err));
	if (ret == KMS_EOK) {
		/* The command line again: else -p would read as a change. */
		ret = kms_config_override(&cfg, &cur->ov, err, sizeof(err));
	}
	if (ret != KMS_EOK) {
		log_error("reload failed, keeping the running state: %s", err);
		return ret;
	}
	/* What needs a restart keeps its running value: the listeners, the
	 * replay cache (its window is the service's clock_skew), the audit log
	 * and the Zk client were built with it. */
	size_t n = kms_config_diff(&cur->cfg, &cfg, names, RESTART_NAMES_MAX, true);
	if (n > RESTART_NAMES_MAX) {
		n = RESTART_NAMES_MAX;
	}
	if (n > 0) {
		char what[1024];
		join_names(names, n, what, sizeof(what));
		log_warning("restart required to apply: %s; the running values stay in "
			    "force",
			    what);
	}
	kms_config_keep_restart(&cfg, &cur->cfg);
	kms_state_log_naf_stats(cur);
	ret = kms_state_new(&cfg, cur->psk, cur->svc.replay, cur->svc.audit, cur->svc.zk,
			    &st);
	if (ret != KMS_EOK) {
		log_error("reload failed, keeping the running state");
		return ret;
	}
	st->svc.id_rate = cur->svc.id_rate; /* shared, as the replay cache */
	st->svc.replay_shared = cur->svc.replay_shared;
	st->svc.once = cur->svc.once;
	st->ov = cur->ov;
	kms_state_use_outbound(st, cur->ob);
	for (size_t i = 0; restart != NULL && i < n && i < max; i++) {
		restart[i] = names[i];
	}
	if (n_restart != NULL) {
		*n_restart = n;
	}
	*out = st;
	return KMS_EOK;
}
