/*
 * Inside the payload codec (mikey/payload.c, RFC 3830 payloads, and
 * mikey/payload_ticket.c, RFC 6043 TP and TICKET; not for other modules):
 * the reader and builder steps both files share.
 */
#ifndef KMS_MIKEY_PAYLOAD_INT_H
#define KMS_MIKEY_PAYLOAD_INT_H

#include <stdint.h>

#include "common/errcode.h"
#include "common/wire.h"
#include "mikey/payload.h"

/* b->next_off when no payload is open: nothing to chain from. */
#define PAYLOAD_NO_NEXT SIZE_MAX

/* Read a length-prefixed byte string, capped; sets the cursor error on truncation. */
static inline mikey_bytes_t payload_rd_bytes(wire_rd_t *c, size_t len)
{
	mikey_bytes_t b = { wire_rd_ptr(c, len), len };
	if (b.data == NULL) {
		b.len = 0;
	}
	return b;
}

/* Make code the builder's error unless it already has one (sticky). */
static inline void payload_set_error(mikey_builder_t *b, int code)
{
	if (b->w.error == KMS_EOK) {
		b->w.error = code;
	}
}

/* Start a payload of type: chain it from the previous one and write its Next payload. */
static inline void payload_begin(mikey_builder_t *b, uint8_t type)
{
	if (b->w.error != KMS_EOK) {
		return;
	}
	if (b->next_off != PAYLOAD_NO_NEXT) {
		b->w.base[b->next_off] = type;
	}
	b->next_off = wire_wr_offset(&b->w);
	wire_wr_u8(&b->w, MIKEY_PT_LAST);
}

/* v with a 16-bit length before it (KMS_ERANGE when longer). */
static inline void payload_wr_bytes16(mikey_builder_t *b, const mikey_bytes_t *v)
{
	if (v->len > UINT16_MAX) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	wire_wr_u16(&b->w, (uint16_t)v->len);
	wire_wr_bytes(&b->w, v->data, v->len);
}

/* v with an 8-bit length before it (KMS_ERANGE when longer). */
static inline void payload_wr_bytes8(mikey_builder_t *b, const mikey_bytes_t *v)
{
	if (v->len > UINT8_MAX) {
		payload_set_error(b, KMS_ERANGE);
		return;
	}
	wire_wr_u8(&b->w, (uint8_t)v->len);
	wire_wr_bytes(&b->w, v->data, v->len);
}

#endif
