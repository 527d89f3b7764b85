/*
 * kmsd's running state: what a reload replaces as one unit (the config
 * and everything loaded from kms.db: keyring, PSK source, policy rules, Zk
 * peers), and the service view of it that the listeners use.
 *
 * A reload is transactional: it builds a whole new state next to the
 * running one and hands it back only when all of it loaded; settings the
 * schema flags restart (kms/config.c) keep their running values and are
 * named in the log when the file changed them.
 */
#ifndef KMS_KMS_STATE_H
#define KMS_KMS_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "kms/audit.h"
#include "kms/config.h"
#include "kms/keyring.h"
#include "kms/psk.h"
#include "kms/replay.h"
#include "kms/service.h"
#include "kms/tpk.h"
#include "net/outbound.h"
#include "policy/rules.h"
#include "zk/client.h"
#include "zk/peer.h"

typedef struct {
	kms_config_t cfg;
	keyring_t *kr;
	kms_psk_source_t *psk;
	policy_set_t *policy;
	int64_t db_version;	  /* kms_db_version() before anything was read */
	zk_peers_t *peers;	  /* NULL unless zk.enabled */
	tpk_set_t *tpks;	  /* Initiators' ticket protection keys */
	net_outbound_t *ob;	  /* the outbound-call thread (shared), or NULL */
	kms_service_t svc;	  /* cfg, kr, psk, policy, peers, and the shared parts */
	kms_config_override_t ov; /* kmsd's command line, applied on reloads */
} kms_state_t;

/*
 * The config of path, or the embedded defaults when path is NULL; on error
 * KMS_ECONFIG with the reason (file:line) in err.
 */
int kms_state_load_config(const char *path, kms_config_t *cfg, char *err, size_t err_len);

/*
 * Read the KEK, the keyring, the PSK users (or NAF), the policy rules and,
 * with zk.enabled, the Zk peers named by cfg; log why not.  A NAF source
 * keeps prev's key cache when it can.  rp, audit and zk are shared by every
 * state (process-wide; any may be NULL) and go into the service as they are.
 */
int kms_state_new(const kms_config_t *cfg, const kms_psk_source_t *prev, replay_t *rp,
		  audit_t *audit, zk_client_t *zk, kms_state_t **out);

/* NULL is a no-op. */
void kms_state_free(kms_state_t *st);

/*
 * The outbound-call thread (shared by every state, like rp and audit;
 * kmsd makes it) for st's NAF: Ua requests then wait for Zn without
 * holding a thread (kms/naf.h naf_use_outbound).  A reload's state gets
 * cur's.
 */
void kms_state_use_outbound(kms_state_t *st, net_outbound_t *ob);

/*
 * Build the state a reload of path (NULL: the embedded defaults) puts in
 * service in place of cur, with cur's shared parts and cur->ov (the
 * command line) over the file.  Settings flagged
 * restart keep cur's values; the ones the file changed are logged ("restart
 * required to apply: NAMES") and, on success, their names go to restart (at
 * most max) and their count to *n_restart (restart and n_restart may be
 * NULL).  On any failure the reason is logged, *out is untouched and cur
 * stays as it is.  cur is not changed either way: the caller swaps.
 */
int kms_state_reload(const kms_state_t *cur, const char *path, kms_state_t **out,
		     const char **restart, size_t max, size_t *n_restart);

/* Log target and level of cfg. */
void kms_state_apply_log(const kms_config_t *cfg);

/* The NAF counters of st's PSK source, for the logs (nothing without GBA). */
void kms_state_log_naf_stats(const kms_state_t *st);

#endif
