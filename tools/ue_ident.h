/*
 * kms-ue identities: checking an identity argument, the form it is sent
 * in (ID Type NAI, or URI with --uri), and the KMS user identity form in
 * which identities from the KMS are compared with our own.
 */
#ifndef KMS_TOOLS_UE_IDENT_H
#define KMS_TOOLS_UE_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/payload.h"

/* An identity as it goes on the wire: ID Type and ID Data. */
typedef struct {
	uint8_t type; /* MIKEY_ID_NAI or MIKEY_ID_URI */
	size_t len;
	char data[MIKEY_ID_MAX + 1];
} ue_id_t;

/*
 * Check an identity argument: 1 to MIKEY_ID_MAX bytes of printable
 * non-space ASCII or UTF-8 (no control characters), and a "sip:" /
 * "sips:" URI must name something after its scheme.  NAIs, SIP URIs and
 * patterns such as sip:*.dept@example.org pass.  -1 with a message.
 */
int ue_check_id(const char *what, const char *value);

/*
 * The wire form of a checked identity.  A value in angle brackets
 * (<sip:bob@example.org>) stands for the URI inside them.  With uri: ID
 * Type URI, and "sip:" put in front of a value without a URI scheme.
 * Without uri: a value that is a sip: or sips: URI goes as ID Type URI,
 * anything else as NAI, unchanged.  -1 with a message when the result is
 * too long or a bare scheme.
 */
int ue_id_wire(const char *what, const char *value, bool uri, ue_id_t *out);

/* The ID Type of a value (as ue_id_wire chose it): URI when it has a
 * sip: or sips: scheme, else NAI. */
uint8_t ue_id_type_of(const uint8_t *data, size_t len);

/*
 * The KMS user identity form of an ID Data, for comparisons: surrounding
 * <> and a sip: / sips: scheme dropped, parameters (";...") and headers
 * ("?...") after the host cut off, the domain (after '@', or the whole
 * value without one) lower-cased.  Writes at most cap - 1 bytes and a NUL;
 * returns the length, or 0 when it does not fit or is empty.
 */
size_t ue_id_user_form(const uint8_t *data, size_t len, char *out, size_t cap);

/* True when a and b have the same non-empty KMS user identity form. */
bool ue_id_same_user(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
