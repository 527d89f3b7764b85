/*
 * Bounds-checked wire cursors with a sticky error.
 *
 * Every byte that comes from the network is read through a wire_rd_t and
 * every byte we send is written through a wire_wr_t.  The first error
 * (KMS_EFEWDATA on reads, KMS_ESPACE on writes, KMS_EINVAL on misuse)
 * sticks: later calls do nothing, reads return 0 or NULL, and the caller
 * checks wire_*_error() once at the end of a parse or build step.
 * Integers are big-endian (network byte order).
 */
#ifndef KMS_COMMON_WIRE_H
#define KMS_COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	const uint8_t *base;
	size_t size;
	size_t pos;
	int error;
} wire_rd_t;

typedef struct {
	uint8_t *base;
	size_t size;
	size_t pos;
	int error;
} wire_wr_t;

/* --- read side ------------------------------------------------------- */

void wire_rd_init(wire_rd_t *c, const uint8_t *data, size_t len);
/* A sub-cursor over the next len bytes of c; c advances past them. */
wire_rd_t wire_rd_sub(wire_rd_t *c, size_t len);

uint8_t wire_rd_u8(wire_rd_t *c);
uint16_t wire_rd_u16(wire_rd_t *c);
uint32_t wire_rd_u32(wire_rd_t *c);
uint64_t wire_rd_u64(wire_rd_t *c);
/* Copy len bytes into dst (dst may be NULL only when len is 0). */
void wire_rd_bytes(wire_rd_t *c, uint8_t *dst, size_t len);
/* Point at the next len bytes without copying; NULL on error. */
const uint8_t *wire_rd_ptr(wire_rd_t *c, size_t len);
void wire_rd_skip(wire_rd_t *c, size_t len);
/* Peek at the next byte without consuming it (0 and error if none). */
uint8_t wire_rd_peek_u8(wire_rd_t *c);

/* Bytes left; 0 once an error is set. */
size_t wire_rd_available(const wire_rd_t *c);
size_t wire_rd_offset(const wire_rd_t *c);
int wire_rd_error(const wire_rd_t *c);
/* KMS_EMALFORMED when bytes remain (trailing data), else the sticky error. */
int wire_rd_finish(const wire_rd_t *c);

/* --- write side ------------------------------------------------------ */

void wire_wr_init(wire_wr_t *c, uint8_t *buf, size_t cap);

void wire_wr_u8(wire_wr_t *c, uint8_t v);
void wire_wr_u16(wire_wr_t *c, uint16_t v);
void wire_wr_u32(wire_wr_t *c, uint32_t v);
void wire_wr_u64(wire_wr_t *c, uint64_t v);
void wire_wr_bytes(wire_wr_t *c, const uint8_t *src, size_t len);
void wire_wr_zero(wire_wr_t *c, size_t len);
/* Reserve len bytes for the caller to fill; NULL on error. */
uint8_t *wire_wr_reserve(wire_wr_t *c, size_t len);
/* Overwrite a 16-bit value already written at off (length back-patching). */
void wire_wr_patch_u16(wire_wr_t *c, size_t off, uint16_t v);

size_t wire_wr_available(const wire_wr_t *c);
size_t wire_wr_offset(const wire_wr_t *c);
int wire_wr_error(const wire_wr_t *c);

#endif
