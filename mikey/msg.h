/*
 * MIKEY messages: decode (structure), check (composition per RFC 6043 and
 * RFC 3830), and build.
 *
 * A decoded message keeps pointers into the caller's buffer.  Only the
 * pre-shared-key variants of MIKEY-TICKET and the Error message are served;
 * public-key variants decode but fail mikey_msg_check() with KMS_ENOTSUP,
 * and other MIKEY data types with KMS_EDT.
 */
#ifndef KMS_MIKEY_MSG_H
#define KMS_MIKEY_MSG_H

#include "mikey/payload.h"

typedef struct {
	const uint8_t *buf;
	size_t len;
	mikey_hdr_t hdr;
	size_t n; /* top-level payloads after HDR */
	mikey_payload_t p[MIKEY_PAYLOADS_MAX];
	bool has_ticket;       /* a TP or TICKET payload is present */
	size_t ticket_index;   /* its index in p[] */
	mikey_ticket_t ticket; /* TP (policy only) or TICKET */
	/* Where mikey_msg_decode() failed: the offset of the payload it was
	 * reading (0 for HDR) and that payload's type (MIKEY_PT_LAST for HDR or
	 * trailing bytes); for diagnostics only. */
	size_t err_off;
	uint8_t err_type;
	/* Building: the first error of the mikey_msg_add_* calls.  It sticks,
	 * as the wire cursor's does: later adds do nothing and return it, and
	 * mikey_msg_build() returns it, so a caller may check once. */
	int build_err;
} mikey_msg_t;

/* Structural decode of any MIKEY message: HDR, payload chain, caps, no
 * trailing bytes.  Returns KMS_EOK or the precise KMS_E* code. */
int mikey_msg_decode(const uint8_t *buf, size_t len, mikey_msg_t *out);

/* Composition check for the decoded message's data type: required and
 * optional payloads, their order, counts, HDR rules (#CS and map type). */
int mikey_msg_check(const mikey_msg_t *m);

/* mikey_msg_decode() then mikey_msg_check(). */
int mikey_msg_parse(const uint8_t *buf, size_t len, mikey_msg_t *out);

/*
 * The HDR fields an Error message copies (RFC 6043 5.4: version, PRF func
 * and CSB ID "SHALL be identical to" those of the message in error), read
 * from the first 8 bytes whatever they hold: an unknown version, data type,
 * PRF or map still gives its values.  KMS_EFEWDATA when len < 8.
 */
int mikey_hdr_peek(const uint8_t *buf, size_t len, uint8_t *version, uint8_t *prf,
		   uint32_t *csb_id);

/* The first payload of type (and role, for T/TR, ID/IDR, RAND/RANDR
 * types; pass 0 for plain T, ID, RAND); NULL if absent. */
const mikey_payload_t *mikey_msg_find(const mikey_msg_t *m, uint8_t type, uint8_t role);
const mikey_id_t *mikey_msg_idr(const mikey_msg_t *m, uint8_t role);
const mikey_rand_t *mikey_msg_randr(const mikey_msg_t *m, uint8_t role);
const mikey_ts_t *mikey_msg_ts(const mikey_msg_t *m); /* the T payload */
const mikey_kemac_t *mikey_msg_kemac(const mikey_msg_t *m);
const mikey_v_t *mikey_msg_v(const mikey_msg_t *m);
/* Offset of the V payload's MAC bytes in m->buf (0 if no V). */
size_t mikey_msg_v_mac_off(const mikey_msg_t *m);

/* --- building ---------------------------------------------------------- */

/* Start a message: HDR with version 1, V flag 0, #CS 0 and the Empty map. */
void mikey_msg_init(mikey_msg_t *m, uint8_t data_type, uint32_t csb_id, uint8_t prf);
/* Append a payload (copied; byte strings are referenced, not copied).
 * KMS_ELIMIT when the message is full.  The first error sticks (build_err):
 * later adds return it and mikey_msg_build() fails with it. */
int mikey_msg_add(mikey_msg_t *m, const mikey_payload_t *p);
int mikey_msg_add_ts(mikey_msg_t *m, uint8_t role, uint8_t ts_type, uint64_t value);
int mikey_msg_add_id(mikey_msg_t *m, uint8_t role, uint8_t id_type, const uint8_t *id,
		     size_t len);
int mikey_msg_add_rand(mikey_msg_t *m, uint8_t role, const uint8_t *rand, size_t len);
int mikey_msg_add_kemac(mikey_msg_t *m, const mikey_kemac_t *k);
int mikey_msg_add_err(mikey_msg_t *m, uint8_t errno_);
/* TP (is_ticket false) or TICKET; *t is copied into m->ticket. */
int mikey_msg_add_ticket(mikey_msg_t *m, const mikey_ticket_t *t, bool is_ticket);
/* V payload with a placeholder MAC of the algorithm's length. */
int mikey_msg_add_v(mikey_msg_t *m, uint8_t alg);

/*
 * Encode m into buf.  V MACs are written as zeros when m's V has no MAC
 * bytes; fill them with mikey_mac_sign() (mikey/mac.h).  The composition
 * is checked first, so every builder output is a valid message.
 */
int mikey_msg_build(const mikey_msg_t *m, uint8_t *buf, size_t cap, size_t *len);

/* Name of a data type ("REQUEST_INIT_PSK"), payload type ("IDR"), etc. */
const char *mikey_dt_name(uint8_t data_type);
const char *mikey_pt_name(uint8_t payload_type);

#endif
