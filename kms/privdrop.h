/*
 * kmsd's identity: who may start it, and the switch to the unprivileged
 * account of kms.user / kms.group once the listeners are bound and the
 * keys loaded (as root it must have one, or be told --allow-root).
 *
 * The switch keeps exactly one group (no supplementary groups), sets the
 * real, effective and saved ids, checks that root cannot be taken back
 * (setuid(0) must fail) and makes the process not dumpable again (the
 * kernel resets that on setuid).  What kmsd writes while it runs and made
 * as root first (audit.db and its -wal/-shm) is handed to the account
 * before the switch.
 */
#ifndef KMS_KMS_PRIVDROP_H
#define KMS_KMS_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

#include "kms/config.h"

typedef struct {
	bool drop;	       /* switch to ra.uid / ra.gid after start-up */
	bool root;	       /* started as root (without drop: --allow-root) */
	kms_config_runas_t ra; /* kms.user and kms.group */
} privdrop_t;

/*
 * Decide from cfg and the identity kmsd started with.  Root without
 * kms.user is refused unless allow_root; a non-root process whose
 * kms.user / kms.group are not its own ids cannot switch and is refused.
 * KMS_EOK with *out set, or an error with the reason in err.
 */
int privdrop_prepare(const kms_config_t *cfg, bool allow_root, privdrop_t *out, char *err,
		     size_t err_len);

/*
 * kmsd -t: with kms.user set, check as that account (in a child process
 * that switches, when started as root) that it can read conf_path (may be
 * NULL), the KEK and kms.db, and write the state directory, the
 * directories of kms.db and audit.db and audit.db itself if present.
 * KMS_EACCES with the first failure in err.
 */
int privdrop_check_access(const privdrop_t *pd, const kms_config_t *cfg,
			  const char *conf_path, char *err, size_t err_len);

/*
 * After start-up: switch (when pd->drop) and log the identity kmsd runs
 * as.  Any failure is logged and returned: kmsd must not go on.
 */
int privdrop_apply(const privdrop_t *pd, const kms_config_t *cfg);

#endif
