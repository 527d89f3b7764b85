/*
 * kmsd -t: beyond the syntax and the ranges (kms/config.c), open every
 * file and directory the configuration names, so that a missing KEK or a
 * certificate in the wrong place is found before the service starts.
 */
#ifndef KMS_KMS_CHECK_H
#define KMS_KMS_CHECK_H

#include <stddef.h>

#include "kms/config.h"

/*
 * Check, as the calling process, the state directory, the KEK, kms.db,
 * the directories of audit.db and kms.pidfile, and with zk.enabled the Zk
 * certificate, key and CA bundle.  The first problem goes to err as
 * "FILE:LINE: SETTING: PATH: REASON" (FILE:LINE where conf_path sets it,
 * or sets kms.state_dir for a path derived from it; no line for a
 * default) and KMS_ECONFIG is returned.
 */
int kms_check_files(const kms_config_t *cfg, const char *conf_path, char *err,
		    size_t err_len);

#endif
