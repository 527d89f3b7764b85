/*
 * Every choice that RFC 6043 / TS 33.328 leave open, one function each.
 * docs/mikey-profile.md lists them with the reasons.
 */
#ifndef KMS_MIKEY_PROFILE_H
#define KMS_MIKEY_PROFILE_H

#include "mikey/msg.h"

/*
 * The timestamp that feeds the AES-CM IV of a KEMAC: the T payload of the
 * message that carries the KEMAC (the KMS's fresh T in its responses).
 * KMS_EMALFORMED if the message has no T.
 */
int mikey_profile_kemac_ts(const mikey_msg_t *m, uint64_t *t64);

/*
 * The identity value appended to an initial message's MAC input for role
 * (MIKEY_ROLE_I, _R or _KMS): the ID Data of the IDR payload with that
 * role; when the message omits it, the configured value (e.g. the KMS's
 * own identity); when neither exists, KMS_EID (identities are required).
 */
int mikey_profile_mac_identity(const mikey_msg_t *m, uint8_t role,
			       const mikey_bytes_t *configured, mikey_bytes_t *out);

/*
 * The two identities appended to the MAC of an initial message, in order:
 * REQUEST_INIT (i, kms), RESOLVE_INIT (r, kms), TRANSFER_INIT (i, r).
 * kms_id is the configured KMS identity used when IDRkms is omitted.
 */
int mikey_profile_init_identities(const mikey_msg_t *m, const mikey_bytes_t *kms_id,
				  mikey_bytes_t out[2]);

#endif
