/*
 * KMS user identities and group identities (TS 33.328 6.2.3.2).
 *
 * A KMS user identity is the NAI part (user@domain) of a public SIP URI.
 * A group identity is in the same form and contains '*', which stands for
 * one or more characters: "*.dept@company" matches "user1.dept@company";
 * "*@*" matches everyone.  Both strings split at their last '@'; a '*'
 * never spans that '@'.  The user part compares byte-exact, the domain
 * part ASCII case-insensitively (bytes >= 0x80 byte-exact).  See
 * docs/identities.md.
 */
#ifndef KMS_POLICY_IDENTITY_H
#define KMS_POLICY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#define IDENTITY_MAX 256

/*
 * True when id matches pattern (a user or group identity).  False when
 * either is empty, over IDENTITY_MAX, has no '@', or has an empty user or
 * domain part.  Time is linear in pattern_len + id_len for any pattern.
 */
bool identity_match(const char *pattern, size_t pattern_len, const char *id,
		    size_t id_len);

/*
 * identity_match, and when steps is not NULL *steps receives the number of
 * byte comparisons made (always <= 2 * (pattern_len + id_len)); for tests.
 */
bool identity_match_ex(const char *pattern, size_t pattern_len, const char *id,
		       size_t id_len, size_t *steps);

/*
 * A stored pattern (policy rules, a Zk peer's responders): KMS_EOK for
 * 3..IDENTITY_MAX bytes with a non-empty user and domain around the last
 * '@' and no spaces or control characters, else KMS_EINVAL.
 */
int identity_pattern_check(const char *s);

/* True when s contains a '*'. */
bool identity_is_group(const char *s, size_t len);

/*
 * The KMS user identity of a sip:/sips: URI (optionally in "<>") or of a
 * bare NAI: the user part percent-decoded once, the domain lower-cased
 * (ASCII only; UTF-8 kept as is), ";params", "?headers" and a ":port"
 * stripped.  KMS_EOK with out NUL-terminated and *out_len set; KMS_EID
 * for any other scheme (tel:, mailto:, http:, ...), an empty user or
 * domain, bad escapes or %00, controls, spaces, '*', invalid UTF-8, or a
 * result over IDENTITY_MAX or cap - 1 bytes.
 */
int identity_from_uri(const char *uri, size_t len, char *out, size_t cap,
		      size_t *out_len);

/*
 * identity_from_uri, and on failure when why is not NULL *why receives a
 * static English reason ("unsupported URI scheme (only sip: and sips:)").
 */
int identity_from_uri_ex(const char *uri, size_t len, char *out, size_t cap,
			 size_t *out_len, const char **why);

#endif
