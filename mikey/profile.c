/*
 * The open choices of RFC 6043 / TS 33.328, one function each; the reasons
 * are in docs/mikey-profile.md.
 */
#include "mikey/profile.h"

#include "common/errcode.h"

int mikey_profile_kemac_ts(const mikey_msg_t *m, uint64_t *t64)
{
	if (m == NULL || t64 == NULL) {
		return KMS_EINVAL;
	}
	/* The T of the message that carries the KEMAC, never the peer's. */
	const mikey_ts_t *ts = mikey_msg_ts(m);
	if (ts == NULL) {
		return KMS_EMALFORMED;
	}
	*t64 = mikey_ts_to64(ts);
	return KMS_EOK;
}

int mikey_profile_mac_identity(const mikey_msg_t *m, uint8_t role,
			       const mikey_bytes_t *configured, mikey_bytes_t *out)
{
	if (m == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	if (role != MIKEY_ROLE_I && role != MIKEY_ROLE_R && role != MIKEY_ROLE_KMS) {
		return KMS_EINVAL;
	}
	const mikey_id_t *idr = mikey_msg_idr(m, role);
	if (idr != NULL) {
		/* Present but empty binds nothing: refuse rather than append "". */
		if (idr->id.data == NULL || idr->id.len == 0) {
			return KMS_EID;
		}
		*out = idr->id;
		return KMS_EOK;
	}
	if (configured != NULL && configured->data != NULL && configured->len > 0) {
		*out = *configured;
		return KMS_EOK;
	}
	return KMS_EID;
}

int mikey_profile_init_identities(const mikey_msg_t *m, const mikey_bytes_t *kms_id,
				  mikey_bytes_t out[2])
{
	uint8_t first, second;
	mikey_bytes_t ids[2];

	if (m == NULL || out == NULL) {
		return KMS_EINVAL;
	}
	switch (m->hdr.data_type) {
	case MIKEY_DT_REQUEST_INIT_PSK:
	case MIKEY_DT_REQUEST_INIT_PK:
		first = MIKEY_ROLE_I;
		second = MIKEY_ROLE_KMS;
		break;
	case MIKEY_DT_RESOLVE_INIT_PSK:
	case MIKEY_DT_RESOLVE_INIT_PK:
		first = MIKEY_ROLE_R;
		second = MIKEY_ROLE_KMS;
		break;
	case MIKEY_DT_TRANSFER_INIT:
		first = MIKEY_ROLE_I;
		second = MIKEY_ROLE_R;
		break;
	default:
		return KMS_EDT;
	}
	int rc = mikey_profile_mac_identity(m, first, NULL, &ids[0]);
	if (rc != KMS_EOK) {
		return rc;
	}
	rc = mikey_profile_mac_identity(
	    m, second, second == MIKEY_ROLE_KMS ? kms_id : NULL, &ids[1]);
	if (rc != KMS_EOK) {
		return rc;
	}
	out[0] = ids[0];
	out[1] = ids[1];
	return KMS_EOK;
}
