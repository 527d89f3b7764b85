/* kms-ue call: SRTP suites and their SP payload (see ue_srtp_sp.h). */
#include "tools/ue_srtp_sp.h"

#include <limits.h>
#include <string.h>

#include "common/errcode.h"

#define SALT_LEN 14
#define MIKEY_PROT_SRTP 0

/* RFC 3830 6.10.1 SRTP policy parameter types. */
enum {
	SP_ENCR_ALG = 0,
	SP_ENCR_KEY_LEN = 1,
	SP_AUTH_ALG = 2,
	SP_AUTH_KEY_LEN = 3,
	SP_SALT_LEN = 4,
	SP_PRF = 5,
	SP_KDR = 6,
	SP_SRTP_ENCR = 7,
	SP_SRTCP_ENCR = 8,
	SP_FEC = 9,
	SP_SRTP_AUTH = 10,
	SP_TAG_LEN = 11,
	SP_PREFIX = 12,
};

const char *ue_srtp_suite_name(ue_srtp_suite_t s)
{
	return s == UE_SRTP_AES256_SHA1_80 ? "AES_256_CM_HMAC_SHA1_80"
					   : "AES_CM_128_HMAC_SHA1_80";
}

size_t ue_srtp_key_len(ue_srtp_suite_t s)
{
	return s == UE_SRTP_AES256_SHA1_80 ? 32 : 16;
}

void ue_srtp_sp_build(ue_srtp_suite_t s, uint8_t policy_no, mikey_sp_t *sp,
		      uint8_t values[UE_SRTP_SP_PARAMS])
{
	static const uint8_t types[UE_SRTP_SP_PARAMS] = {
		SP_ENCR_ALG, SP_ENCR_KEY_LEN, SP_AUTH_ALG,   SP_AUTH_KEY_LEN, SP_SALT_LEN,
		SP_PRF,	     SP_SRTP_ENCR,    SP_SRTCP_ENCR, SP_SRTP_AUTH,    SP_TAG_LEN,
	};
	const uint8_t v[UE_SRTP_SP_PARAMS] = {
		1, (uint8_t)ue_srtp_key_len(s), 1, 20, SALT_LEN, 0, 1, 1, 1, 10,
	};
	memset(sp, 0, sizeof(*sp));
	sp->policy_no = policy_no;
	sp->prot_type = MIKEY_PROT_SRTP;
	sp->nparams = UE_SRTP_SP_PARAMS;
	memcpy(values, v, sizeof(v));
	for (size_t i = 0; i < UE_SRTP_SP_PARAMS; i++) {
		sp->params[i].type = types[i];
		sp->params[i].value = (mikey_bytes_t){ values + i, 1 };
	}
}

/* The value each parameter must have when present (-1: any, checked
 * elsewhere); an absent one takes the RFC 3830 default, the same. */
static int required(uint8_t type)
{
	static const int req[] = {
		[SP_ENCR_ALG] = 1,	[SP_ENCR_KEY_LEN] = -1,	  [SP_AUTH_ALG] = 1,
		[SP_AUTH_KEY_LEN] = 20, [SP_SALT_LEN] = SALT_LEN, [SP_PRF] = 0,
		[SP_KDR] = 0,		[SP_SRTP_ENCR] = 1,	  [SP_SRTCP_ENCR] = 1,
		[SP_FEC] = 0,		[SP_SRTP_AUTH] = 1,	  [SP_TAG_LEN] = 10,
		[SP_PREFIX] = 0,
	};
	return type <= SP_PREFIX ? req[type] : INT_MIN;
}

int ue_srtp_sp_suite(const mikey_sp_t *sp, ue_srtp_suite_t *out)
{
	unsigned key_len = 16; /* RFC 3830 default for AES-CM */
	if (sp->prot_type != MIKEY_PROT_SRTP) {
		return KMS_EPOLICY;
	}
	for (size_t i = 0; i < sp->nparams; i++) {
		const mikey_sp_param_t *p = &sp->params[i];
		int want = required(p->type);
		if (want == INT_MIN || p->value.len == 0 || p->value.len > 4) {
			return KMS_EPOLICY;
		}
		unsigned v = 0;
		for (size_t k = 0; k < p->value.len; k++) {
			v = v << 8 | p->value.data[k];
		}
		if (p->type == SP_ENCR_KEY_LEN) {
			key_len = v;
		} else if ((unsigned)want != v) {
			return KMS_EPOLICY;
		}
	}
	if (key_len != 16 && key_len != 32) {
		return KMS_EPOLICY;
	}
	*out = key_len == 32 ? UE_SRTP_AES256_SHA1_80 : UE_SRTP_AES128_SHA1_80;
	return KMS_EOK;
}
