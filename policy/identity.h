/*
 * KMS user identities and group identities (TS 33.328 6.2.3.2).
 *
 * A KMS user identity is the NAI part (user@domain) of a public SIP URI.
 * A group identity contains '*', which stands for one or more characters:
 * "*.dept@company" matches "user1.dept@company"; "*@*" matches everyone.
 * Matching is byte-exact otherwise.
 */
#ifndef KMS_POLICY_IDENTITY_H
#define KMS_POLICY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define IDENTITY_MAX 256

/* True when id matches pattern (a user or group identity); both capped. */
bool identity_match(const char *pattern, size_t pattern_len, const char *id,
		    size_t id_len);

/* True when s contains a '*'. */
bool identity_is_group(const char *s, size_t len);

/*
 * The KMS user identity of a SIP/SIPS/tel URI or bare NAI: strips a
 * "sip:"/"sips:" scheme and any ";params" or "?headers" and "<>" brackets.
 * KMS_EID when the result is not user@domain (no '@', empty part, too long).
 */
int identity_from_uri(const char *uri, size_t len, char *out, size_t cap,
		      size_t *out_len);

#endif
