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
#include <stdint.h>

#define IDENTITY_MAX 256       /* bytes of a KMS user or group identity */
#define IDENTITY_DATA_MAX 1024 /* bytes of ID Data identity_normalise reads */

/* ID Types of an ID payload (RFC 6043 6.6); the content decides, not these. */
#define IDENTITY_ID_NAI 0
#define IDENTITY_ID_URI 1
#define IDENTITY_ID_BYTES 2

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

/*
 * The KMS user identity named by ID Data (IDRi, IDRr, a TP entry) of ID
 * Type id_type (0 NAI, 1 URI, 2 byte string; any other is refused).  The
 * content decides, whatever the ID Type:
 *  - "sip:"/"sips:" (any case, optionally in "<>"): identity_from_uri();
 *  - "tel:" or any other "scheme:" before an '@': refused, not a KMS
 *    user identity (TS 33.328 6.2.3.2);
 *  - else a bare NAI user@domain, as identity_from_uri() reads it.
 * A '*' anywhere is refused (a group identity), as are NUL bytes, empty
 * data, data over IDENTITY_DATA_MAX bytes and identities over
 * IDENTITY_MAX.  data is len bytes, not NUL-terminated.  KMS_EOK with out
 * NUL-terminated (and *out_len set when not NULL); else KMS_EID, out
 * untouched and, when why is not NULL, *why a static English reason.
 */
int identity_normalise(uint8_t id_type, const uint8_t *data, size_t len, char *out,
		       size_t cap, size_t *out_len, const char **why);

/*
 * identity_normalise for a user or group identity: a raw '*' is allowed in
 * the user and domain parts ("sip:*.dept@example.org" gives
 * "*.dept@example.org", "*@Example.ORG" gives "*@example.org"); an escaped
 * one ("%2A") is refused as ambiguous.  A result passes
 * identity_pattern_check().
 */
int identity_pattern_normalise(uint8_t id_type, const uint8_t *data, size_t len,
			       char *out, size_t cap, size_t *out_len, const char **why);

/*
 * The stored form of an operator's pattern s (a kmsctl argument, a stored
 * policy rule or Zk peer pattern; NUL-terminated): a "sip:"/"sips:" URI or
 * pattern (optionally in "<>") becomes its identity_pattern_normalise()
 * form ("sip:*@Example.org;user=phone" -> "*@example.org"); any other
 * "scheme:" (tel:, mailto:, ...) is refused; anything else is copied as
 * it is when identity_pattern_check() passes.  KMS_EOK with out
 * NUL-terminated, else KMS_EINVAL with *why (when not NULL) a static
 * reason.  Never decodes twice: its results are fixed points.
 */
int identity_pattern_canon(const char *s, char *out, size_t cap, const char **why);

/*
 * Is IDRkms ID Data data[0..len) the configured KMS identity kms_id?  True
 * for the exact bytes.  When kms_id has an '@', also when both normalise
 * (identity_normalise, any content form) to the same KMS user identity:
 * user part byte-exact, domain ASCII case-insensitive.  A kms_id without
 * '@' (a host name) matches that name ASCII case-insensitively, bare or
 * as the host of a sip:/sips: URI without a user part (optionally in
 * "<>", with a 1- to 5-digit port, params or headers).  False for a NULL
 * or empty argument.
 */
bool identity_kms_match(const char *kms_id, const uint8_t *data, size_t len);

#endif
